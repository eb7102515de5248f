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
#include <errno.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <libwebsockets.h>
#include "b64.h"

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

/* ---- raw servers for our client (test_ws_client) ---- */

int wst_peer_accept(wst *t, int lfd, wst_peer *p, int ms)
{
	int one = 1;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	if (!RUN_UNTIL(t, (p->fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0, ms))
		return -1;
	setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	p->cap = 4096;
	p->b = malloc(p->cap + 1);
	assert_non_null(p->b);
	p->b[0] = '\0';
	return 0;
}

bool wst_peer_pump(wst_peer *p)
{
	ssize_t k;

	if (p->fd < 0)
		return true;
	for (;;) {
		if (p->n == p->cap) {
			p->cap *= 2;
			p->b = realloc(p->b, p->cap + 1);
			assert_non_null(p->b);
		}
		k = recv(p->fd, p->b + p->n, p->cap - p->n, MSG_DONTWAIT);
		if (k <= 0)
			break;
		p->n += (size_t)k;
	}
	if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
		p->eof = true;
	p->b[p->n] = '\0';
	return p->eof;
}

void wst_peer_consume(wst_peer *p, size_t n)
{
	assert_true(n <= p->n);
	memmove(p->b, p->b + n, p->n - n);
	p->n -= n;
	p->b[p->n] = '\0';
}

size_t wst_peer_request(wst *t, wst_peer *p, int ms)
{
	const char *e, *k;

	if (!RUN_UNTIL(t, (wst_peer_pump(p), strstr((char *)p->b, "\r\n\r\n") != NULL), ms))
		return 0;
	e = strstr((char *)p->b, "\r\n\r\n");
	k = strcasestr((char *)p->b, "\r\nSec-WebSocket-Key:");
	p->key[0] = '\0';
	if (k && k < e) {
		k += strlen("\r\nSec-WebSocket-Key:");
		while (*k == ' ')
			k++;
		snprintf(p->key, sizeof(p->key), "%.*s", (int)strcspn(k, "\r"), k);
	}
	return (size_t)(e + 4 - (char *)p->b);
}

void wst_ws_accept(const char *key, char out[32])
{
	char src[128];
	unsigned char md[20];

	snprintf(src, sizeof(src), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
	lws_SHA1((const unsigned char *)src, strlen(src), md);
	b64_encode(out, md, sizeof(md));
}

size_t wst_101(char *out, size_t cap, const char *key)
{
	char acc[32];
	int n;

	wst_ws_accept(key, acc);
	n = snprintf(out, cap,
		     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", acc);
	assert_true(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

size_t wst_frame_build(unsigned char *out, uint8_t b0, const void *data, size_t len,
		       const uint8_t *mask)
{
	size_t k = 0;

	out[k++] = b0;
	if (len < 126) {
		out[k++] = (uint8_t)len;
	} else if (len < 65536) {
		out[k++] = 126;
		out[k++] = (uint8_t)(len >> 8);
		out[k++] = (uint8_t)len;
	} else {
		out[k++] = 127;
		for (int i = 7; i >= 0; i--)
			out[k++] = (uint8_t)((uint64_t)len >> (8 * i));
	}
	if (mask) {
		out[1] |= 0x80;
		memcpy(out + k, mask, 4);
		k += 4;
	}
	if (len)
		memcpy(out + k, data, len);
	for (size_t i = 0; mask && i < len; i++)
		out[k + i] ^= mask[i & 3];
	return k + len;
}

/* A whole frame at the front of p->b: its total size, else 0. */
static size_t wst_peer_frame_size(const wst_peer *p)
{
	const unsigned char *b = p->b;
	size_t h = 2, len;

	if (p->n < 2)
		return 0;
	len = b[1] & 0x7f;
	if (len == 126)
		h += 2;
	else if (len == 127)
		h += 8;
	if (b[1] & 0x80)
		h += 4;
	if (p->n < h)
		return 0;
	if (len == 126)
		len = (size_t)b[2] << 8 | b[3];
	else if (len == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | b[2 + i];
	}
	return p->n - h >= len ? h + len : 0;
}

bool wst_peer_frame(wst *t, wst_peer *p, wst_frame *f, int ms)
{
	const unsigned char *b;
	size_t sz, h = 2;

	memset(f, 0, sizeof(*f));
	if (!RUN_UNTIL(t, (wst_peer_pump(p), (sz = wst_peer_frame_size(p)) > 0), ms))
		return false;
	b = p->b;
	f->fin = b[0] & 0x80;
	f->rsv = (b[0] >> 4) & 7;
	f->op = b[0] & 0x0f;
	f->masked = b[1] & 0x80;
	h += (b[1] & 0x7f) == 126 ? 2 : (b[1] & 0x7f) == 127 ? 8 : 0;
	f->len = sz - h - (f->masked ? 4 : 0);
	if (f->masked)
		memcpy(f->mask, b + h, 4);
	f->data = malloc(f->len + 1);
	assert_non_null(f->data);
	for (size_t i = 0; i < f->len; i++)
		f->data[i] = b[h + (f->masked ? 4 : 0) + i] ^ (f->masked ? b[h + (i & 3)] : 0);
	f->data[f->len] = '\0';
	wst_peer_consume(p, sz);
	return true;
}

int wst_peer_send(wst *t, wst_peer *p, const void *b, size_t n)
{
	const unsigned char *c = b;

	while (n) {
		ssize_t k = send(p->fd, c, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			uv_run(&t->loop, UV_RUN_NOWAIT);
			continue;
		}
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

void wst_peer_close(wst_peer *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	free(p->b);
	p->b = NULL;
	p->n = p->cap = 0;
}
