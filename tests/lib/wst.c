/* wst: the ws unit tests' shared harness (see wst.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "err.h"
#include "ws.h"
#include "wst.h"

static wst *cur; /* the running test, for handlers without an arg */

static void tick_cb(uv_timer_t *t) { (void)t; }

static void side_text(wst_side *s, const char *d, size_t n)
{
	assert_int_equal(d[n], '\0');
	free(s->last);
	s->last = malloc(n + 1);
	memcpy(s->last, d, n + 1);
	s->last_len = n;
	s->ntext++;
}

static void side_close(wst_side *s, int code, const char *reason)
{
	s->closed++;
	s->code = code;
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
}

/* ---- server handlers (arg = wst_side *) ---- */
static void srv_text(ws_conn *c, const char *d, size_t n, void *arg)
{
	wst_side *s = arg;

	side_text(s, d, n);
	if (cur->srv_check && !cur->srv_check(s->ntext - 1, d, n))
		cur->srv_bad++;
	if (cur->srv_close_in_text) {
		ws_close(c, cur->srv_close_code, "server says bye");
		assert_int_equal(ws_send_text(c, "x", 1), -ENOTCONN);
		return;
	}
	if (cur->srv_echo)
		assert_int_equal(ws_send_text(c, d, n), 0);
}
static void srv_close(ws_conn *c, int code, const char *reason, void *arg)
{
	wst_side *s = arg;

	assert_ptr_equal(c, s->c);
	side_close(s, code, reason);
}
const ws_handlers wst_srv_h = { .text_h = srv_text, .close_h = srv_close };

int wst_accept(ws_conn *c, const ws_request *rq, void *arg)
{
	wst *t = arg;
	const char *v;
	wst_side *s;

	t->accepts++;
	snprintf(t->path, sizeof(t->path), "%s", ws_request_path(rq));
	snprintf(t->query, sizeof(t->query), "%s", ws_request_query(rq));
	v = ws_request_header(rq, "Authorization");
	snprintf(t->auth, sizeof(t->auth), "%s", v ? v : "(null)");
	v = ws_request_header(rq, "host");
	snprintf(t->host, sizeof(t->host), "%s", v ? v : "(null)");
	v = ws_request_header(rq, "X-Twilio-Signature");
	snprintf(t->custom, sizeof(t->custom), "%s", v ? v : "(null)");
	snprintf(t->absent, sizeof(t->absent), "%s", ws_request_header(rq, "X-Nope") ? "set" : "null");
	assert_string_not_equal(ws_peer(c), "-");
	if (t->accept_status)
		return t->accept_status;
	assert_true(t->nsrv < WST_MAXC);
	s = &t->srv[t->nsrv++];
	s->c = c;
	ws_set_handlers(c, &wst_srv_h, s);
	/* sending and closing are allowed before the handshake completes */
	if (t->greet_in_accept)
		assert_int_equal(ws_send_text(c, "welcome", 7), 0);
	if (t->close_in_accept)
		ws_close(c, 4010, "accepted then closed");
	return 0;
}

/* ---- client handlers (arg = wst_side *) ---- */
static void cli_open(ws_conn *c, void *arg)
{
	wst_side *s = arg;

	assert_ptr_equal(c, s->c);
	s->opened++;
	if (cur->close_in_open)
		ws_close(c, 4011, "opened then closed");
}
static void cli_text(ws_conn *c, const char *d, size_t n, void *arg)
{
	side_text(arg, d, n);
	if (cur->destroy_in_text) {
		ws_ctx *x = cur->destroy_in_text;

		cur->destroy_in_text = NULL;
		ws_ctx_destroy(x);
		/* deferred: this conn is still usable until we return */
		assert_int_equal(ws_send_text(c, "x", 1), -ENOTCONN);
		return;
	}
	if (cur->cli_close_in_text)
		ws_close(c, 4002, "client in text_h");
}
static void cli_close(ws_conn *c, int code, const char *reason, void *arg)
{
	wst_side *s = arg;

	assert_ptr_equal(c, s->c);
	side_close(s, code, reason);
	if (cur->destroy_in_close) {
		ws_ctx *x = cur->destroy_in_close;

		cur->destroy_in_close = NULL;
		ws_ctx_destroy(x);
		ws_ctx_destroy(x); /* a second call is harmless until it is freed */
	}
}
const ws_handlers wst_cli_h = { .open_h = cli_open, .text_h = cli_text,
				 .close_h = cli_close };

/* ---- fixture ---- */
wst *wst_new(const ws_opts *o)
{
	wst *t = calloc(1, sizeof(*t));

	assert_int_equal(uv_loop_init(&t->loop), 0);
	uv_timer_init(&t->loop, &t->tick);
	uv_timer_start(&t->tick, tick_cb, 10, 10);
	assert_int_equal(ws_ctx_new(&t->ctx, &t->loop, o), 0);
	assert_int_equal(ws_listen(t->ctx, "127.0.0.1", 0, wst_accept, t, &t->port), 0);
	assert_true(t->port > 0);
	t->srv_echo = true;
	cur = t;
	return t;
}

void wst_free(wst *t)
{
	ws_ctx_destroy(t->ctx);
	uv_close((uv_handle_t *)&t->tick, NULL);
	for (int i = 0; i < 2000 && uv_loop_alive(&t->loop); i++)
		uv_run(&t->loop, UV_RUN_NOWAIT);
	/* Every handle lws put on our loop is gone: the loop closes. */
	assert_int_equal(uv_loop_close(&t->loop), 0);
	for (int i = 0; i < WST_MAXC; i++) {
		free(t->srv[i].last);
		free(t->cli[i].last);
	}
	free(t);
	cur = NULL;
}

int wst_connect(wst *t, int i, const char *pathq, const char *const *hdrs)
{
	char url[256];

	snprintf(url, sizeof(url), "ws://127.0.0.1:%d%s", t->port, pathq);
	return ws_connect(t->ctx, url, hdrs, &wst_cli_h, &t->cli[i], &t->cli[i].c);
}

/* ---- raw socket helpers ---- */
int wst_raw_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

void wst_raw_send(int fd, const void *b, size_t n)
{
	assert_int_equal(send(fd, b, n, MSG_NOSIGNAL), (ssize_t)n);
}

const char *wst_raw_upgrade =
	"GET /raw HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
	"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	"Sec-WebSocket-Version: 13\r\n\r\n";

bool wst_raw_pump(wst_rawbuf *r)
{
	ssize_t k = -1;

	while (r->n < sizeof(r->b) - 1 &&
	       (k = recv(r->fd, r->b + r->n, sizeof(r->b) - 1 - r->n, MSG_DONTWAIT)) > 0)
		r->n += (size_t)k;
	if (k == 0)
		r->eof = true;
	r->b[r->n] = '\0';
	return r->eof;
}

int wst_listen_plain(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 16), 0);
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	*port = ntohs(sa.sin_port);
	return fd;
}
