/* test_ws: ws client and server against each other on one libuv loop, plus
 * raw-socket peers for what our own client cannot produce (binary frames,
 * reading the refusal status line). Loopback, ephemeral ports only. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <libwebsockets.h>
#include "err.h"
#include "log.h"
#include "ws.h"
#include "ws_int.h" /* test_txq: the send queue on its own */

#define MAXC 256

typedef struct side {
	ws_conn *c;
	int opened, closed, code, ntext;
	char reason[128];
	char *last;
	size_t last_len;
} side;

typedef struct T {
	uv_loop_t loop;
	uv_timer_t tick;
	ws_ctx *ctx;
	int port;
	int accept_status, accepts;
	char path[256], query[256], auth[256], custom[256], absent[8], host[64];
	bool srv_echo, srv_close_in_text, cli_close_in_text;
	bool greet_in_accept, close_in_accept, close_in_open;
	ws_ctx *destroy_in_close, *destroy_in_text; /* ws_ctx_destroy from callbacks */
	int srv_close_code;
	bool (*srv_check)(int i, const char *d, size_t n); /* i-th message ok? */
	int srv_bad;
	side srv[MAXC], cli[MAXC];
	int nsrv;
} T;

static T *g; /* the running test, for handlers without an arg */

static void tick_cb(uv_timer_t *t) { (void)t; }

/* Runs the loop until expr (which may use x, the test) holds or ms pass. */
#define RUN_UNTIL(t, expr, ms) ({ \
	T *x = (t); \
	uint64_t end_ = uv_hrtime() + (uint64_t)(ms) * 1000000; \
	bool ok_ = true; \
	while (!(expr)) { \
		if (uv_hrtime() > end_) { ok_ = false; break; } \
		uv_run(&x->loop, UV_RUN_ONCE); \
	} \
	ok_; })

static void side_text(side *s, const char *d, size_t n)
{
	assert_int_equal(d[n], '\0');
	free(s->last);
	s->last = malloc(n + 1);
	memcpy(s->last, d, n + 1);
	s->last_len = n;
	s->ntext++;
}

static void side_close(side *s, int code, const char *reason)
{
	s->closed++;
	s->code = code;
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
}

/* ---- server handlers (arg = side*) ---- */
static void srv_text(ws_conn *c, const char *d, size_t n, void *arg)
{
	side *s = arg;

	side_text(s, d, n);
	if (g->srv_check && !g->srv_check(s->ntext - 1, d, n))
		g->srv_bad++;
	if (g->srv_close_in_text) {
		ws_close(c, g->srv_close_code, "server says bye");
		assert_int_equal(ws_send_text(c, "x", 1), -ENOTCONN);
		return;
	}
	if (g->srv_echo)
		assert_int_equal(ws_send_text(c, d, n), 0);
}
static void srv_close(ws_conn *c, int code, const char *reason, void *arg)
{
	side *s = arg;

	assert_ptr_equal(c, s->c);
	side_close(s, code, reason);
}
static const ws_handlers srv_h = { .text_h = srv_text, .close_h = srv_close };

static int accept_cb(ws_conn *c, const ws_request *rq, void *arg)
{
	T *t = arg;
	const char *v;
	side *s;

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
	assert_true(t->nsrv < MAXC);
	s = &t->srv[t->nsrv++];
	s->c = c;
	ws_set_handlers(c, &srv_h, s);
	/* sending and closing are allowed before the handshake completes */
	if (t->greet_in_accept)
		assert_int_equal(ws_send_text(c, "welcome", 7), 0);
	if (t->close_in_accept)
		ws_close(c, 4010, "accepted then closed");
	return 0;
}

/* ---- client handlers (arg = side*) ---- */
static void cli_open(ws_conn *c, void *arg)
{
	side *s = arg;

	assert_ptr_equal(c, s->c);
	s->opened++;
	if (g->close_in_open)
		ws_close(c, 4011, "opened then closed");
}
static void cli_text(ws_conn *c, const char *d, size_t n, void *arg)
{
	side_text(arg, d, n);
	if (g->destroy_in_text) {
		ws_ctx *x = g->destroy_in_text;

		g->destroy_in_text = NULL;
		ws_ctx_destroy(x);
		/* deferred: this conn is still usable until we return */
		assert_int_equal(ws_send_text(c, "x", 1), -ENOTCONN);
		return;
	}
	if (g->cli_close_in_text)
		ws_close(c, 4002, "client in text_h");
}
static void cli_close(ws_conn *c, int code, const char *reason, void *arg)
{
	side *s = arg;

	assert_ptr_equal(c, s->c);
	side_close(s, code, reason);
	if (g->destroy_in_close) {
		ws_ctx *x = g->destroy_in_close;

		g->destroy_in_close = NULL;
		ws_ctx_destroy(x);
		ws_ctx_destroy(x); /* a second call is harmless until it is freed */
	}
}
static const ws_handlers cli_h = { .open_h = cli_open, .text_h = cli_text, .close_h = cli_close };

/* ---- fixture ---- */
static T *t_new(const ws_opts *o)
{
	T *t = calloc(1, sizeof(*t));

	assert_int_equal(uv_loop_init(&t->loop), 0);
	uv_timer_init(&t->loop, &t->tick);
	uv_timer_start(&t->tick, tick_cb, 10, 10);
	assert_int_equal(ws_ctx_new(&t->ctx, &t->loop, o), 0);
	assert_int_equal(ws_listen(t->ctx, "127.0.0.1", 0, accept_cb, t, &t->port), 0);
	assert_true(t->port > 0);
	t->srv_echo = true;
	g = t;
	return t;
}

static void t_free(T *t)
{
	ws_ctx_destroy(t->ctx);
	uv_close((uv_handle_t *)&t->tick, NULL);
	for (int i = 0; i < 2000 && uv_loop_alive(&t->loop); i++)
		uv_run(&t->loop, UV_RUN_NOWAIT);
	/* Every handle lws put on our loop is gone: the loop closes. */
	assert_int_equal(uv_loop_close(&t->loop), 0);
	for (int i = 0; i < MAXC; i++) {
		free(t->srv[i].last);
		free(t->cli[i].last);
	}
	free(t);
	g = NULL;
}

static int t_connect(T *t, int i, const char *pathq, const char *const *hdrs)
{
	char url[256];

	snprintf(url, sizeof(url), "ws://127.0.0.1:%d%s", t->port, pathq);
	return ws_connect(t->ctx, url, hdrs, &cli_h, &t->cli[i], &t->cli[i].c);
}

/* ---- raw socket helpers ---- */
static int raw_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void raw_send(int fd, const void *b, size_t n)
{
	assert_int_equal(send(fd, b, n, MSG_NOSIGNAL), (ssize_t)n);
}

static const char *raw_upgrade =
	"GET /raw HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
	"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	"Sec-WebSocket-Version: 13\r\n\r\n";

typedef struct rawbuf {
	int fd;
	char b[8192];
	size_t n;
	bool eof;
} rawbuf;

static bool raw_pump(rawbuf *r)
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

static int listen_plain(int *port)
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

/* ---- tests ---- */
static void test_echo_headers_close(void **state)
{
	(void)state;
	T *t = t_new(NULL);
	const char *hdrs[] = { "Authorization: Bearer sk-test", "X-Twilio-Signature: c2ln+/=", NULL };

	assert_int_equal(t_connect(t, 0, "/media-stream?a=1&b=two", hdrs), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].opened == 1, 3000));
	assert_string_equal(t->path, "/media-stream");
	assert_string_equal(t->query, "a=1&b=two");
	assert_string_equal(t->auth, "Bearer sk-test");
	assert_string_equal(t->custom, "c2ln+/=");
	assert_string_equal(t->absent, "null");
	assert_string_not_equal(ws_peer(t->cli[0].c), "-");

	assert_int_equal(ws_send_text(t->cli[0].c, "hello", 5), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].ntext == 1, 3000));
	assert_string_equal(t->srv[0].last, "hello");
	assert_string_equal(t->cli[0].last, "hello");
	/* server -> client without a prompt */
	assert_int_equal(ws_send_text(t->srv[0].c, "{\"event\":\"mark\"}", 16), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].ntext == 2, 3000));
	assert_string_equal(t->cli[0].last, "{\"event\":\"mark\"}");

	/* an empty message is a message */
	assert_int_equal(ws_send_text(t->cli[0].c, "", 0), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].ntext == 3, 3000));
	assert_int_equal(t->cli[0].last_len, 0);
	assert_string_equal(t->srv[0].last, "");

	/* client-initiated close: both sides see the code and reason */
	ws_close(t->cli[0].c, 1000, "bye");
	assert_true(RUN_UNTIL(t, x->cli[0].closed && x->srv[0].closed, 3000));
	assert_int_equal(t->srv[0].code, 1000);
	assert_string_equal(t->srv[0].reason, "bye");
	assert_int_equal(t->cli[0].code, 1000);
	assert_string_equal(t->cli[0].reason, "bye");
	/* exactly once */
	assert_true(!RUN_UNTIL(t, x->cli[0].closed > 1 || x->srv[0].closed > 1, 100));

	/* an over-long reason is cut to 123 bytes on a UTF-8 boundary */
	{
		char lr[301] = "";

		for (int i = 0; i < 100; i++)
			strcat(lr, "\xc3\xa9"); /* é */
		assert_int_equal(t_connect(t, 1, "/", NULL), 0);
		assert_true(RUN_UNTIL(t, x->cli[1].opened == 1, 3000));
		ws_close(t->cli[1].c, 1000, lr);
		assert_true(RUN_UNTIL(t, x->srv[1].closed == 1, 3000));
		assert_int_equal(strlen(t->srv[1].reason), 122);
		assert_memory_equal(t->srv[1].reason, lr, 122);
	}
	t_free(t);
}

static void test_big_message(void **state)
{
	(void)state;
	T *t = t_new(NULL);
	size_t n = 300 * 1024;
	char *m = malloc(n);

	for (size_t i = 0; i < n; i++)
		m[i] = (char)('a' + (i * 7 + i / 1000) % 26);
	assert_int_equal(t_connect(t, 0, "/", NULL), 0);
	assert_int_equal(ws_send_text(t->cli[0].c, m, n), 0); /* queued before open */
	assert_int_equal(ws_queued(t->cli[0].c), n);
	assert_true(RUN_UNTIL(t, x->cli[0].ntext == 1, 5000));
	assert_int_equal(t->srv[0].last_len, n);
	assert_memory_equal(t->srv[0].last, m, n);
	assert_int_equal(t->cli[0].last_len, n);
	assert_memory_equal(t->cli[0].last, m, n);
	assert_int_equal(ws_queued(t->cli[0].c), 0);
	free(m);
	t_free(t);
}

/* The send queue's one buffer: FIFO order across compaction and growth,
 * bounded by its limit even for empty messages, freed when a burst
 * drained, reused (no new buffer) in the steady state. */
static void test_txq(void **state)
{
	(void)state;
	ws_txq q = { 0 };
	char m[3000];
	size_t len, pushed = 0, popped = 0;
	unsigned char *p, *buf;

	for (size_t i = 0; i < sizeof(m); i++)
		m[i] = (char)('a' + i % 26);
	/* steady state: push one, pop one, the buffer stays the same */
	assert_int_equal(ws_txq_push(&q, m, 330, 1 << 20), 0);
	buf = q.buf;
	for (int i = 0; i < 1000; i++) {
		p = ws_txq_peek(&q, &len);
		assert_int_equal(len, 330);
		assert_memory_equal(p, m, 330);
		ws_txq_pop(&q);
		assert_int_equal(ws_txq_push(&q, m, 330, 1 << 20), 0);
		assert_ptr_equal(q.buf, buf);
	}
	ws_txq_pop(&q);
	assert_true(ws_txq_empty(&q));
	assert_null(ws_txq_peek(&q, &len));
	/* a queue that never drains: sizes 0..2999, pop 2 of every 3 */
	for (int r = 0; r < 3000; r++) {
		size_t n = (size_t)(r * 7919) % sizeof(m);

		assert_int_equal(ws_txq_push(&q, m + (sizeof(m) - n), n, 1 << 22), 0);
		pushed++;
		if (r % 3) {
			size_t want = (popped * 7919) % sizeof(m);

			p = ws_txq_peek(&q, &len);
			assert_int_equal(len, want);
			assert_memory_equal(p, m + (sizeof(m) - want), want);
			ws_txq_pop(&q);
			popped++;
		}
	}
	while (popped < pushed) {
		size_t want = (popped * 7919) % sizeof(m);

		p = ws_txq_peek(&q, &len);
		assert_int_equal(len, want);
		assert_memory_equal(p, m + (sizeof(m) - want), want);
		ws_txq_pop(&q);
		popped++;
	}
	/* drained after a burst: the big buffer is gone */
	assert_true(ws_txq_empty(&q));
	assert_null(q.buf);
	/* the limit counts records: empty messages cannot grow it forever */
	for (int i = 0; i < 100000 && ws_txq_push(&q, "", 0, 4096) == 0; i++)
		pushed++;
	assert_int_equal(ws_txq_push(&q, "", 0, 4096), -ENOBUFS);
	assert_true(q.cap <= 4096);
	assert_int_equal(ws_txq_push(&q, m, 5000, 4096), -ENOBUFS);
	ws_txq_free(&q);
	assert_null(q.buf);
}

/* Many messages of mixed sizes queued before the handshake (the queue
 * grows and compacts) arrive complete and in order. */
static char qo_m[5000];

static size_t qo_len(int i)
{
	return (size_t)(i * 613) % sizeof(qo_m);
}

static bool qo_check(int i, const char *d, size_t n)
{
	return n == qo_len(i) && !memcmp(d, qo_m, n);
}

static void test_queue_order(void **state)
{
	(void)state;
	T *t = t_new(NULL);
	int n = 400;

	for (size_t i = 0; i < sizeof(qo_m); i++)
		qo_m[i] = (char)('A' + i % 23);
	t->srv_echo = false;
	t->srv_check = qo_check;
	assert_int_equal(t_connect(t, 0, "/q", NULL), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(ws_send_text(t->cli[0].c, qo_m, qo_len(i)), 0);
	assert_true(RUN_UNTIL(t, x->srv[0].ntext == n, 5000));
	assert_int_equal(t->srv_bad, 0);
	assert_int_equal(ws_queued(t->cli[0].c), 0);
	/* and again once open, from the server side too (other masking) */
	t->srv_check = NULL;
	for (int i = 0; i < n; i++)
		assert_int_equal(ws_send_text(t->srv[0].c, qo_m, qo_len(i)), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].ntext == n, 5000));
	assert_int_equal(t->cli[0].last_len, qo_len(n - 1));
	t_free(t);
}

static void test_too_big_1009(void **state)
{
	(void)state;
	ws_opts o = { .max_message = 64 * 1024 };
	T *t = t_new(&o);
	size_t n = 100 * 1024;
	char *m = calloc(1, n);

	memset(m, 'z', n);
	assert_int_equal(t_connect(t, 0, "/", NULL), 0);
	assert_int_equal(ws_send_text(t->cli[0].c, m, n), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].closed && x->nsrv && x->srv[0].closed, 5000));
	assert_int_equal(t->srv[0].ntext, 0);
	assert_int_equal(t->srv[0].code, 1009);
	assert_int_equal(t->cli[0].code, 1009);
	free(m);
	t_free(t);
}

static void test_binary_refused_1003(void **state)
{
	(void)state;
	T *t = t_new(NULL);
	rawbuf r = { .fd = raw_connect(t->port) };
	/* masked binary frame, 3 bytes payload, mask 0 */
	const unsigned char frame[] = { 0x82, 0x83, 0, 0, 0, 0, 1, 2, 3 };
	char *p;

	raw_send(r.fd, raw_upgrade, strlen(raw_upgrade));
	assert_true(RUN_UNTIL(t, (raw_pump(&r), strstr(r.b, "\r\n\r\n") != NULL), 3000));
	assert_non_null(strstr(r.b, " 101 "));
	assert_string_equal(t->path, "/raw");
	ws_set_log_id(t->srv[0].c, "CAtest1003"); /* the 1003 warning names the call */
	raw_send(r.fd, frame, sizeof(frame));
	p = strstr(r.b, "\r\n\r\n") + 4;
	assert_true(RUN_UNTIL(t, (raw_pump(&r), r.b + r.n >= p + 4), 3000));
	/* a close frame carrying 1003 */
	assert_int_equal((unsigned char)p[0], 0x88);
	assert_int_equal(((unsigned char)p[2] << 8) | (unsigned char)p[3], 1003);
	close(r.fd); /* no echo from us: the server gives up on the ack */
	assert_true(RUN_UNTIL(t, x->srv[0].closed, 3000));
	assert_int_equal(t->srv[0].code, 1003);
	t_free(t);
}

static void test_refusal_status(void **state)
{
	(void)state;
	T *t = t_new(NULL);
	rawbuf r;

	t->accept_status = 403;
	assert_int_equal(t_connect(t, 0, "/media-stream", NULL), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].closed == 1, 3000));
	assert_int_equal(t->cli[0].opened, 0);
	assert_int_equal(t->cli[0].code, 1006);
	assert_non_null(strstr(t->cli[0].reason, "403"));

	t->accept_status = 503;
	r = (rawbuf){ .fd = raw_connect(t->port) };
	raw_send(r.fd, raw_upgrade, strlen(raw_upgrade));
	assert_true(RUN_UNTIL(t, (raw_pump(&r), strstr(r.b, "\r\n") != NULL), 3000));
	/* lws answers refusals as HTTP/1.0 */
	assert_memory_equal(r.b, "HTTP/1.", 7);
	assert_memory_equal(r.b + 8, " 503", 4);
	close(r.fd);
	assert_int_equal(t->accepts, 2);
	t_free(t);
}

static void test_plain_http_404(void **state)
{
	(void)state;
	T *t = t_new(NULL);
	rawbuf r = { .fd = raw_connect(t->port) };
	const char *rq = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

	raw_send(r.fd, rq, strlen(rq));
	assert_true(RUN_UNTIL(t, (raw_pump(&r), strstr(r.b, "\r\n") != NULL), 3000));
	assert_memory_equal(r.b, "HTTP/1.1 404", 12);
	assert_int_equal(t->accepts, 0);
	close(r.fd);
	t_free(t);
}

static void test_connect_refused(void **state)
{
	(void)state;
	T *t = t_new(NULL);
	int port, fd = listen_plain(&port);
	char url[64];
	uint64_t t0 = uv_hrtime();
	int rc;

	close(fd); /* nothing listens there now */
	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/x", port);
	rc = ws_connect(t->ctx, url, NULL, &cli_h, &t->cli[0], &t->cli[0].c);
	if (rc == 0) {
		assert_true(RUN_UNTIL(t, x->cli[0].closed == 1, 2000));
		assert_int_equal(t->cli[0].code, 1006);
		assert_true(t->cli[0].reason[0] != '\0');
	} else {
		assert_int_equal(rc, -ECONNREFUSED);
	}
	assert_true(uv_hrtime() - t0 < 1000000000ull);
	assert_int_equal(t->cli[0].opened, 0);
	/* bad URLs are refused synchronously */
	assert_int_equal(ws_connect(t->ctx, "http://x/", NULL, &cli_h, NULL, NULL), -EINVAL);
	assert_int_equal(ws_connect(t->ctx, "ws://:80/", NULL, &cli_h, NULL, NULL), -EINVAL);
	assert_int_equal(ws_connect(t->ctx, "ws://h:99999/", NULL, &cli_h, NULL, NULL), -EINVAL);
	t_free(t);
}

/* socket() failing inside lws_client_connect_via_info (EMFILE) makes lws
 * call back synchronously: the conn must survive until ws_connect returns,
 * then exactly one outcome (an error return, or one close_h). */
static void test_connect_emfile(void **state)
{
	(void)state;
	T *t = t_new(NULL);
	int port, lfd = listen_plain(&port);
	int fds[4096], n = 0, rc;
	char url[64];

	struct rlimit old, low;

	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/x", port);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 512; /* so that dup() below reaches EMFILE */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (n < (int)VX_ARRAY_LEN(fds) && (fds[n] = dup(lfd)) >= 0) /* use up every fd */
		n++;
	assert_int_equal(errno, EMFILE);
	rc = ws_connect(t->ctx, url, NULL, &cli_h, &t->cli[0], &t->cli[0].c);
	while (n > 0)
		close(fds[--n]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	if (rc == 0) {
		assert_true(RUN_UNTIL(t, x->cli[0].closed == 1, 3000));
		assert_int_equal(t->cli[0].code, 1006);
	} else {
		assert_true(rc < 0);
		assert_int_equal(t->cli[0].closed, 0);
	}
	assert_int_equal(t->cli[0].opened, 0);
	close(lfd);
	t_free(t);
}

static void test_connect_timeout(void **state)
{
	(void)state;
	ws_opts o = { .connect_timeout_ms = 300 };
	T *t = t_new(&o);
	int port, fd = listen_plain(&port); /* accepts TCP (backlog), never answers */
	char url[64];
	uint64_t t0 = uv_hrtime();

	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/x", port);
	assert_int_equal(ws_connect(t->ctx, url, NULL, &cli_h, &t->cli[0], &t->cli[0].c), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].closed == 1, 3000));
	assert_int_equal(t->cli[0].code, 1006);
	assert_non_null(strstr(t->cli[0].reason, "timeout"));
	assert_true(uv_hrtime() - t0 < 1500000000ull);
	close(fd);
	t_free(t);
}

static void test_adopt(void **state)
{
	(void)state;
	T *t = t_new(NULL);
	int port, lfd = listen_plain(&port), fd = -1;
	char url[64], peek[16];

	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/media-stream?via=adopt", port);
	assert_int_equal(ws_connect(t->ctx, url, NULL, &cli_h, &t->cli[0], &t->cli[0].c), 0);
	assert_true(RUN_UNTIL(t, (fd = accept(lfd, NULL, NULL)) >= 0, 3000));
	/* like voiceproxy's acceptor: look at the request line, leave it unread */
	assert_true(RUN_UNTIL(t, recv(fd, peek, 4, MSG_PEEK | MSG_DONTWAIT) == 4, 3000));
	assert_memory_equal(peek, "GET ", 4);
	assert_int_equal(ws_adopt(t->ctx, fd, accept_cb, t), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].opened == 1, 3000));
	assert_string_equal(t->path, "/media-stream");
	assert_string_equal(t->query, "via=adopt");
	assert_int_equal(ws_send_text(t->cli[0].c, "adopted", 7), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].ntext == 1, 3000));
	assert_string_equal(t->cli[0].last, "adopted");
	close(lfd);
	t_free(t);
	assert_int_equal(ws_adopt(NULL, 0, accept_cb, NULL), -EINVAL);
}

static void test_enobufs(void **state)
{
	(void)state;
	ws_opts o = { .max_queue = 1000 };
	T *t = t_new(&o);
	char m[600];

	memset(m, 'q', sizeof(m));
	assert_int_equal(t_connect(t, 0, "/", NULL), 0);
	assert_int_equal(ws_send_text(t->cli[0].c, m, sizeof(m)), 0);
	assert_int_equal(ws_send_text(t->cli[0].c, m, sizeof(m)), -ENOBUFS);
	assert_int_equal(ws_queued(t->cli[0].c), sizeof(m));
	assert_int_equal(ws_send_text(t->cli[0].c, m, 400), 0);
	assert_int_equal(ws_queued(t->cli[0].c), 1000);
	assert_true(RUN_UNTIL(t, x->cli[0].ntext == 2, 3000));
	assert_int_equal(ws_queued(t->cli[0].c), 0);
	assert_int_equal(t->cli[0].last_len, 400);
	t_free(t);
}

static void test_close_from_text_h(void **state)
{
	(void)state;
	T *t = t_new(NULL);

	/* server closes from inside its text_h: server-initiated close */
	t->srv_close_in_text = true;
	t->srv_close_code = 4001;
	assert_int_equal(t_connect(t, 0, "/", NULL), 0);
	assert_int_equal(ws_send_text(t->cli[0].c, "please close", 12), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].closed && x->srv[0].closed, 3000));
	assert_int_equal(t->cli[0].code, 4001);
	assert_string_equal(t->cli[0].reason, "server says bye");
	assert_int_equal(t->srv[0].code, 4001);

	/* client closes from inside its text_h */
	t->srv_close_in_text = false;
	t->cli_close_in_text = true;
	assert_int_equal(t_connect(t, 1, "/", NULL), 0);
	assert_int_equal(ws_send_text(t->cli[1].c, "echo me", 7), 0);
	assert_true(RUN_UNTIL(t, x->cli[1].closed && x->srv[1].closed, 3000));
	assert_int_equal(t->srv[1].code, 4002);
	assert_string_equal(t->srv[1].reason, "client in text_h");
	assert_int_equal(t->cli[1].code, 4002);
	t_free(t);
}

static void test_close_while_connecting(void **state)
{
	(void)state;
	T *t = t_new(NULL);

	assert_int_equal(t_connect(t, 0, "/", NULL), 0);
	ws_close(t->cli[0].c, 1000, "changed my mind");
	assert_true(RUN_UNTIL(t, x->cli[0].closed == 1, 3000));
	assert_int_equal(t->cli[0].opened, 0);
	assert_true(!RUN_UNTIL(t, x->cli[0].closed > 1 || x->cli[0].opened, 200));
	t_free(t);
}

/* ws_close on a client still in its handshake (the server accepted TCP
 * but never answers the upgrade) ends at once, not at the connect
 * timeout: sipbridge closes such streams on SIP CANCEL and at shutdown. */
static void test_close_while_handshaking(void **state)
{
	(void)state;
	ws_opts o = { .connect_timeout_ms = 5000 };
	T *t = t_new(&o);
	int port, fd = listen_plain(&port); /* accepts TCP (backlog), never answers */
	char url[64];
	uint64_t t0;

	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/stall", port);
	/* [0]: closed once the request is sent; [1]: closed right away */
	assert_int_equal(ws_connect(t->ctx, url, NULL, &cli_h, &t->cli[0], &t->cli[0].c), 0);
	assert_true(!RUN_UNTIL(t, x->cli[0].closed, 100));
	assert_int_equal(ws_connect(t->ctx, url, NULL, &cli_h, &t->cli[1], &t->cli[1].c), 0);
	t0 = uv_hrtime();
	ws_close(t->cli[0].c, 1000, "cancelled");
	ws_close(t->cli[1].c, 1000, "cancelled");
	assert_int_equal(t->cli[0].closed + t->cli[1].closed, 0); /* async */
	assert_true(RUN_UNTIL(t, x->cli[0].closed && x->cli[1].closed, 3000));
	assert_true(uv_hrtime() - t0 < 200000000ull);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(t->cli[i].opened, 0);
		assert_int_equal(t->cli[i].code, 1000);
		assert_string_equal(t->cli[i].reason, "closed while connecting");
	}
	assert_true(!RUN_UNTIL(t, x->cli[0].closed > 1 || x->cli[1].closed > 1, 200));
	close(fd);
	t_free(t);
}

static void test_destroy_live(void **state)
{
	(void)state;
	T *t = t_new(NULL);
	int port, lfd = listen_plain(&port);
	char url[64];

	for (int i = 0; i < 3; i++)
		assert_int_equal(t_connect(t, i, "/", NULL), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].opened && x->cli[1].opened && x->cli[2].opened &&
				 x->nsrv == 3, 3000));
	/* plus one client still connecting (never answered) */
	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/x", port);
	assert_int_equal(ws_connect(t->ctx, url, NULL, &cli_h, &t->cli[3], &t->cli[3].c), 0);
	ws_ctx_destroy(t->ctx);
	t->ctx = NULL;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(t->cli[i].closed, 1);
		assert_int_equal(t->srv[i].closed, 1);
	}
	assert_int_equal(t->cli[3].closed, 1);
	assert_int_equal(t->cli[0].code, 1001);
	close(lfd);
	t_free(t);
}

/* Destroying the client's context: the server, elsewhere, sees a clean
 * close (queued messages first, then 1001), not a dropped TCP connection. */
static void test_destroy_says_goodbye(void **state)
{
	(void)state;
	T *t = t_new(NULL);
	ws_ctx *cctx;
	char url[64];

	assert_int_equal(ws_ctx_new(&cctx, &t->loop, NULL), 0);
	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/bye", t->port);
	assert_int_equal(ws_connect(cctx, url, NULL, &cli_h, &t->cli[0], &t->cli[0].c), 0);
	assert_int_equal(ws_connect(cctx, url, NULL, &cli_h, &t->cli[1], &t->cli[1].c), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].opened && x->cli[1].opened && x->nsrv == 2, 3000));
	t->srv_echo = false;
	assert_int_equal(ws_send_text(t->cli[0].c, "last words", 10), 0);
	ws_close(t->cli[1].c, 4005, "mine");
	ws_ctx_destroy(cctx);
	assert_int_equal(t->cli[0].closed, 1);
	assert_int_equal(t->cli[0].code, 1001);
	assert_int_equal(t->cli[1].code, 4005);
	assert_true(RUN_UNTIL(t, x->srv[0].closed && x->srv[1].closed, 3000));
	assert_string_equal(t->srv[0].last, "last words");
	assert_int_equal(t->srv[0].code, 1001);
	assert_string_equal(t->srv[0].reason, "going away");
	assert_int_equal(t->srv[1].code, 4005);
	t_free(t);
}

static void test_many(void **state)
{
	(void)state;
	T *t = t_new(NULL);
	const int n = 200;
	char m[32];

	for (int i = 0; i < n; i++)
		assert_int_equal(t_connect(t, i, "/many", NULL), 0);
	for (int i = 0; i < n; i++) {
		snprintf(m, sizeof(m), "msg-%d", i);
		assert_int_equal(ws_send_text(t->cli[i].c, m, strlen(m)), 0);
	}
	assert_true(RUN_UNTIL(t, ({ bool all = true;
		for (int i = 0; i < n; i++) all = all && x->cli[i].ntext == 1; all; }), 10000));
	for (int i = 0; i < n; i++) {
		snprintf(m, sizeof(m), "msg-%d", i);
		assert_string_equal(t->cli[i].last, m);
	}
	assert_int_equal(t->nsrv, n);
	t_free(t);
	/* t_free destroyed the context with 400 live connections */
}

static void test_dns_localhost(void **state)
{
	(void)state;
	ws_opts o = { .connect_timeout_ms = 2000 };
	T *t = t_new(&o);
	char url[128];

	/* a name goes through uv_getaddrinfo (IPv4 preferred) */
	snprintf(url, sizeof(url), "ws://localhost:%d/dns?x=y", t->port);
	assert_int_equal(ws_connect(t->ctx, url, NULL, &cli_h, &t->cli[0], &t->cli[0].c), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].opened == 1, 3000));
	assert_string_equal(t->path, "/dns");
	assert_int_equal(ws_send_text(t->cli[0].c, "via dns", 7), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].ntext == 1, 3000));
	assert_string_equal(t->cli[0].last, "via dns");

	/* closed while resolving: one close_h, later, never open */
	snprintf(url, sizeof(url), "ws://localhost:%d/", t->port);
	assert_int_equal(ws_connect(t->ctx, url, NULL, &cli_h, &t->cli[1], &t->cli[1].c), 0);
	ws_close(t->cli[1].c, 1000, "not now");
	assert_int_equal(t->cli[1].closed, 0); /* async */
	assert_true(RUN_UNTIL(t, x->cli[1].closed == 1, 3000));
	assert_int_equal(t->cli[1].opened, 0);
	assert_int_equal(t->cli[1].code, 1000);

	/* a name that cannot resolve */
	assert_int_equal(ws_connect(t->ctx, "ws://no-such-host.invalid/", NULL, &cli_h, &t->cli[2],
				    &t->cli[2].c), 0);
	assert_true(RUN_UNTIL(t, x->cli[2].closed == 1, 4000));
	assert_int_equal(t->cli[2].code, 1006);
	assert_int_equal(t->cli[2].opened, 0);

	/* destroyed while resolving: close_h from ws_ctx_destroy */
	assert_int_equal(ws_connect(t->ctx, url, NULL, &cli_h, &t->cli[3], &t->cli[3].c), 0);
	ws_ctx_destroy(t->ctx);
	t->ctx = NULL;
	assert_int_equal(t->cli[3].closed, 1);
	assert_true(!RUN_UNTIL(t, x->cli[1].closed > 1 || x->cli[3].closed > 1, 100));
	t_free(t);
}

static void test_fragmented_and_ping(void **state)
{
	(void)state;
	T *t = t_new(NULL);
	rawbuf r = { .fd = raw_connect(t->port) };
	/* "hel" (text, no FIN), ping "p", "lo" (continuation, FIN); mask 0 */
	const unsigned char frames[] = { 0x01, 0x83, 0, 0, 0, 0, 'h', 'e', 'l',
					 0x89, 0x81, 0, 0, 0, 0, 'p',
					 0x80, 0x82, 0, 0, 0, 0, 'l', 'o' };
	char *p;

	raw_send(r.fd, raw_upgrade, strlen(raw_upgrade));
	assert_true(RUN_UNTIL(t, (raw_pump(&r), strstr(r.b, "\r\n\r\n") != NULL), 3000));
	p = strstr(r.b, "\r\n\r\n") + 4;
	raw_send(r.fd, frames, sizeof(frames));
	assert_true(RUN_UNTIL(t, x->srv[0].ntext == 1, 3000));
	assert_string_equal(t->srv[0].last, "hello");
	/* pong "p" then the echo "hello", unmasked from the server */
	assert_true(RUN_UNTIL(t, (raw_pump(&r), r.b + r.n >= p + 3 + 7), 3000));
	assert_memory_equal(p, "\x8a\x01p", 3);
	assert_memory_equal(p + 3, "\x81\x05hello", 7);
	close(r.fd);
	assert_true(RUN_UNTIL(t, x->srv[0].closed == 1, 3000));
	assert_int_equal(t->srv[0].code, 1006); /* TCP dropped without a close frame */
	t_free(t);
}

static void test_listen_in_use(void **state)
{
	(void)state;
	T *t = t_new(NULL);
	int b = 0;

	int port, fd = listen_plain(&port);

	assert_int_equal(ws_listen(t->ctx, "127.0.0.1", t->port, accept_cb, t, &b), -EADDRINUSE);
	assert_int_equal(ws_listen(t->ctx, "127.0.0.1", port, accept_cb, t, &b), -EADDRINUSE);
	close(fd);
	assert_int_equal(ws_listen(t->ctx, "127.0.0.1", 0, NULL, t, &b), -EINVAL);
	t_free(t);
}

/* ---- TLS: an lws TLS echo server (second lws context, same loop) ---- */
static unsigned char tls_msg[LWS_PRE + 256];
static size_t tls_len;

static int tls_srv_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		      size_t len)
{
	if (reason == LWS_CALLBACK_RECEIVE && len < 256) {
		memcpy(tls_msg + LWS_PRE, in, len);
		tls_len = len;
		lws_callback_on_writable(wsi);
	} else if (reason == LWS_CALLBACK_SERVER_WRITEABLE && tls_len) {
		lws_write(wsi, tls_msg + LWS_PRE, tls_len, LWS_WRITE_TEXT);
		tls_len = 0;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols tls_protos[] = {
	{ .name = "tls-echo", .callback = tls_srv_cb, .rx_buffer_size = 1024 },
	{ 0 }
};

static void test_wss(void **state)
{
	(void)state;
	T *t = t_new(NULL);
	char dir[] = "/tmp/test_ws_tlsXXXXXX", cmd[512], cert[64], key[64], url[128];
	struct lws_context_creation_info info;
	void *loops[1] = { &t->loop };
	struct lws_context *srv;
	ws_ctx *good, *bad_name, *untrusted;

	assert_non_null(mkdtemp(dir));
	snprintf(cert, sizeof(cert), "%s/c.pem", dir);
	snprintf(key, sizeof(key), "%s/k.pem", dir);
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s "
		 "-days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null",
		 key, cert);
	if (system(cmd) != 0) {
		t_free(t);
		skip();
	}
	/* No DO_SSL_GLOBAL_INIT on this context: ws did the one OpenSSL init
	 * (a second one would make lws lose track of ws's client SSL_CTX). */
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.foreign_loops = loops;
	srv = lws_create_context(&info);
	assert_non_null(srv);
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_DISABLE_IPV6;
	info.port = 0;
	info.iface = "127.0.0.1";
	info.protocols = tls_protos;
	info.ssl_cert_filepath = cert;
	info.ssl_private_key_filepath = key;
	{
		struct lws_vhost *vh = lws_create_vhost(srv, &info);

		assert_non_null(vh);
		t->port = lws_get_vhost_listen_port(vh);
	}

	/* trusted CA, name matches: works through DNS + SNI + verification */
	setenv("SSL_CERT_FILE", cert, 1);
	assert_int_equal(ws_ctx_new(&good, &t->loop, NULL), 0);
	/* numeric host: the certificate does not name 127.0.0.1 -> refused */
	assert_int_equal(ws_ctx_new(&bad_name, &t->loop, NULL), 0);
	unsetenv("SSL_CERT_FILE");
	/* system CA store does not trust our self-signed cert -> refused */
	assert_int_equal(ws_ctx_new(&untrusted, &t->loop, NULL), 0);

	snprintf(url, sizeof(url), "wss://localhost:%d/tls", t->port);
	assert_int_equal(ws_connect(good, url, NULL, &cli_h, &t->cli[0], &t->cli[0].c), 0);
	assert_int_equal(ws_connect(untrusted, url, NULL, &cli_h, &t->cli[1], &t->cli[1].c), 0);
	snprintf(url, sizeof(url), "wss://127.0.0.1:%d/tls", t->port);
	assert_int_equal(ws_connect(bad_name, url, NULL, &cli_h, &t->cli[2], &t->cli[2].c), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].opened && x->cli[1].closed && x->cli[2].closed, 5000));
	assert_int_equal(ws_send_text(t->cli[0].c, "secret", 6), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].ntext == 1, 3000));
	assert_string_equal(t->cli[0].last, "secret");
	assert_int_equal(t->cli[1].opened, 0);
	assert_int_equal(t->cli[1].code, 1006);
	assert_int_equal(t->cli[2].opened, 0);
	assert_int_equal(t->cli[2].code, 1006);

	ws_ctx_destroy(good);
	ws_ctx_destroy(bad_name);
	ws_ctx_destroy(untrusted);
	assert_int_equal(t->cli[0].closed, 1);
	lws_context_destroy(srv); /* foreign loop: two calls around a loop run */
	for (int i = 0; i < 50; i++)
		uv_run(&t->loop, UV_RUN_NOWAIT);
	lws_context_destroy(srv);
	unlink(cert);
	unlink(key);
	rmdir(dir);
	t_free(t);
}

/* Clients offering a subprotocol (browsers, some Twilio-like tools) and
 * odd request details must still be served. */
static void test_subprotocol_offered(void **state)
{
	(void)state;
	T *t = t_new(NULL);
	rawbuf r = { .fd = raw_connect(t->port) };
	const char *rq = "GET /sp?q=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
			 "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			 "Sec-WebSocket-Protocol: audio.twilio.com, other\r\nSec-WebSocket-Version: 13\r\n\r\n";

	raw_send(r.fd, rq, strlen(rq));
	assert_true(RUN_UNTIL(t, (raw_pump(&r), strstr(r.b, "\r\n\r\n") != NULL || r.eof), 3000));
	assert_non_null(strstr(r.b, " 101 "));
	/* we echo the first subprotocol offered, as RFC 6455 clients expect */
	assert_non_null(strstr(r.b, "Sec-WebSocket-Protocol: audio.twilio.com\r\n"));
	assert_string_equal(t->path, "/sp");
	{
		const unsigned char f[] = { 0x81, 0x82, 0, 0, 0, 0, 'h', 'i' };
		char *p = strstr(r.b, "\r\n\r\n") + 4;

		raw_send(r.fd, f, sizeof(f));
		assert_true(RUN_UNTIL(t, (raw_pump(&r), r.b + r.n >= p + 4), 3000));
		assert_memory_equal(p, "\x81\x02hi", 4);
	}
	/* our own client (no subprotocol) still binds after the alias changed */
	assert_int_equal(t_connect(t, 0, "/", NULL), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].opened == 1, 3000));
	close(r.fd);
	t_free(t);
}

static void test_calls_from_callbacks(void **state)
{
	(void)state;
	T *t = t_new(NULL);

	/* a message queued in accept_h is the first thing the client gets */
	t->greet_in_accept = true;
	assert_int_equal(t_connect(t, 0, "/", NULL), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].ntext == 1, 3000));
	assert_string_equal(t->cli[0].last, "welcome");

	/* greeting then ws_close in accept_h: message, then the close code */
	t->close_in_accept = true;
	assert_int_equal(t_connect(t, 1, "/", NULL), 0);
	assert_true(RUN_UNTIL(t, x->cli[1].closed && x->srv[1].closed, 3000));
	assert_int_equal(t->cli[1].ntext, 1);
	assert_int_equal(t->cli[1].code, 4010);
	assert_string_equal(t->cli[1].reason, "accepted then closed");
	assert_int_equal(t->srv[1].code, 4010);

	/* ws_close from the client's open_h */
	t->greet_in_accept = t->close_in_accept = false;
	t->close_in_open = true;
	assert_int_equal(t_connect(t, 2, "/", NULL), 0);
	assert_true(RUN_UNTIL(t, x->cli[2].closed && x->srv[2].closed, 3000));
	assert_int_equal(t->cli[2].opened, 1);
	assert_int_equal(t->srv[2].code, 4011);
	assert_int_equal(t->cli[2].code, 4011);
	t_free(t);
}

static void test_ipv6_and_bad_urls(void **state)
{
	(void)state;
	T *t = t_new(NULL);
	int port6 = 0;
	char url[96];

	/* URLs that would corrupt the request line are refused */
	assert_int_equal(ws_connect(t->ctx, "ws://127.0.0.1:1/a b", NULL, &cli_h, NULL, NULL), -EINVAL);
	assert_int_equal(ws_connect(t->ctx, "ws://127.0.0.1:1/a\r\nX: y", NULL, &cli_h, NULL, NULL),
			 -EINVAL);
	{
		const char *bad[] = { "X-Bad: a\r\nX-Injected: b", NULL };

		assert_int_equal(ws_connect(t->ctx, "ws://127.0.0.1:1/", bad, &cli_h, NULL, NULL),
				 -EINVAL);
	}
	/* Host header of our own client: host:port */
	assert_int_equal(t_connect(t, 0, "/h", NULL), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].opened == 1, 3000));
	snprintf(url, sizeof(url), "127.0.0.1:%d", t->port);
	assert_string_equal(t->host, url);

	if (ws_listen(t->ctx, "::1", 0, accept_cb, t, &port6) != 0) {
		t_free(t);
		skip(); /* no IPv6 loopback here */
	}
	snprintf(url, sizeof(url), "ws://[::1]:%d/v6", port6);
	assert_int_equal(ws_connect(t->ctx, url, NULL, &cli_h, &t->cli[1], &t->cli[1].c), 0);
	assert_true(RUN_UNTIL(t, x->cli[1].opened == 1, 3000));
	assert_string_equal(t->path, "/v6");
	snprintf(url, sizeof(url), "[::1]:%d", port6);
	assert_string_equal(t->host, url);
	assert_non_null(strstr(ws_peer(t->srv[1].c), "::1"));
	t_free(t);
}

/* ping_interval_s: an idle peer is pinged; one that never answers is
 * dropped after twice the interval, one that answers (lws does) stays. */
static void test_keepalive_ping(void **state)
{
	(void)state;
	ws_opts o = { .ping_interval_s = 1 };
	T *t = t_new(&o);
	rawbuf r = { .fd = raw_connect(t->port) };
	uint64_t t0;
	char *p;

	assert_int_equal(t_connect(t, 0, "/pong", NULL), 0); /* answers pings */
	raw_send(r.fd, raw_upgrade, strlen(raw_upgrade));
	assert_true(RUN_UNTIL(t, (raw_pump(&r), strstr(r.b, "\r\n\r\n") != NULL), 3000));
	assert_true(RUN_UNTIL(t, x->cli[0].opened == 1 && x->nsrv == 2, 3000));
	p = strstr(r.b, "\r\n\r\n") + 4;
	t0 = uv_hrtime();
	assert_true(RUN_UNTIL(t, (raw_pump(&r), r.b + r.n >= p + 2), 3000));
	assert_int_equal((unsigned char)p[0], 0x89); /* a ping */
	/* the silent raw peer is dropped, the answering client stays */
	assert_true(RUN_UNTIL(t, ({ bool dead = false;
		for (int i = 0; i < x->nsrv; i++) dead = dead || x->srv[i].closed; dead; }), 5000));
	assert_true(uv_hrtime() - t0 < 4000000000ull);
	assert_int_equal(t->cli[0].closed, 0);
	assert_true(!RUN_UNTIL(t, x->cli[0].closed, 1500));
	close(r.fd);
	t_free(t);
}

/* ws_ctx_destroy from inside a close_h or text_h (e.g. "last call ended,
 * shut down"): deferred to the loop, every close_h still runs once. */
static void test_destroy_from_callbacks(void **state)
{
	(void)state;
	T *t = t_new(NULL);
	ws_ctx *c1, *c2;
	char url[64];

	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/d", t->port);
	assert_int_equal(ws_ctx_new(&c1, &t->loop, NULL), 0);
	assert_int_equal(ws_ctx_new(&c2, &t->loop, NULL), 0);
	/* c1's clients are accepted first: srv[0..1] are theirs */
	for (int i = 0; i < 2; i++)
		assert_int_equal(ws_connect(c1, url, NULL, &cli_h, &t->cli[i], &t->cli[i].c), 0);
	assert_true(RUN_UNTIL(t, x->nsrv == 2 && x->cli[0].opened && x->cli[1].opened, 3000));
	for (int i = 2; i < 4; i++)
		assert_int_equal(ws_connect(c2, url, NULL, &cli_h, &t->cli[i], &t->cli[i].c), 0);
	assert_true(RUN_UNTIL(t, x->nsrv == 4 && x->cli[2].opened && x->cli[3].opened, 3000));

	/* the server closes one of c1's clients; its close_h destroys c1 */
	t->destroy_in_close = c1;
	ws_close(t->srv[0].c, 4020, "server closes first");
	assert_true(RUN_UNTIL(t, x->cli[0].closed + x->cli[1].closed == 2, 3000));
	assert_int_equal(t->cli[0].closed, 1);
	assert_int_equal(t->cli[1].closed, 1);

	/* client 2 gets a message; its text_h destroys c2 */
	t->destroy_in_text = c2;
	t->srv_echo = true;
	assert_int_equal(ws_send_text(t->cli[2].c, "ping me", 7), 0);
	assert_true(RUN_UNTIL(t, x->cli[2].closed && x->cli[3].closed, 3000));
	assert_int_equal(t->cli[2].code, 1001);
	assert_int_equal(t->cli[3].code, 1001);
	/* the servers see every client go */
	assert_true(RUN_UNTIL(t, x->srv[0].closed && x->srv[1].closed && x->srv[2].closed &&
				 x->srv[3].closed, 3000));
	assert_true(!RUN_UNTIL(t, x->cli[0].closed > 1 || x->cli[1].closed > 1 ||
				  x->cli[2].closed > 1 || x->cli[3].closed > 1, 200));
	t_free(t);
}

/* Hostile peers: garbage instead of HTTP, oversized headers, protocol
 * violations after the upgrade. Nothing crashes; every accepted
 * connection gets exactly one close_h; the loop still closes clean. */
static void test_hostile_input(void **state)
{
	(void)state;
	ws_opts o = { .max_message = 64 * 1024 };
	T *t = t_new(&o);
	static const unsigned char bad_frames[][14] = {
		{ 0x83, 0x80, 0, 0, 0, 0 },                       /* reserved opcode 3 */
		{ 0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0 }, /* 2^63 */
		{ 0xf1, 0x80, 0, 0, 0, 0 },                       /* RSV bits set */
		{ 0x89, 0xfe, 0x01, 0x00, 0, 0, 0, 0 },           /* 256-byte ping (max 125) */
	};
	/* (lws 4.1 tolerates unmasked client frames: not tested as fatal) */
	static const size_t bad_len[] = { 6, 14, 6, 8 };
	int nbad = (int)VX_ARRAY_LEN(bad_len);
	char *big = malloc(20000);

	/* not HTTP at all, and a header block far over the limit */
	{
		rawbuf r = { .fd = raw_connect(t->port) };

		raw_send(r.fd, "\x16\x03\x01\x02\x00\x01\x00\xff garbage\r\n\r\n", 20);
		assert_true(RUN_UNTIL(t, raw_pump(&r), 3000));
		close(r.fd);
	}
	{
		rawbuf r = { .fd = raw_connect(t->port) };
		int n = snprintf(big, 20000, "GET /x HTTP/1.1\r\nHost: a\r\nX-Big: ");

		memset(big + n, 'a', 19000 - n);
		memcpy(big + 19000, "\r\n\r\n", 4);
		send(r.fd, big, 19004, MSG_NOSIGNAL); /* may fail midway: the server hung up */
		assert_true(RUN_UNTIL(t, raw_pump(&r), 3000));
		close(r.fd);
	}
	assert_int_equal(t->accepts, 0);

	/* protocol violations after a good upgrade */
	for (int i = 0; i < nbad; i++) {
		rawbuf r = { .fd = raw_connect(t->port) };

		raw_send(r.fd, raw_upgrade, strlen(raw_upgrade));
		assert_true(RUN_UNTIL(t, (raw_pump(&r), strstr(r.b, "\r\n\r\n") != NULL), 3000));
		raw_send(r.fd, bad_frames[i], bad_len[i]);
		if (i == 1) /* a huge length alone just waits: the payload trips 1009 */
			send(r.fd, big, 20000, MSG_NOSIGNAL), send(r.fd, big, 20000, MSG_NOSIGNAL),
			send(r.fd, big, 20000, MSG_NOSIGNAL), send(r.fd, big, 20000, MSG_NOSIGNAL);
		{
			size_t hl = (size_t)(strstr(r.b, "\r\n\r\n") + 4 - r.b);

			/* the server answers with a close frame or hangs up */
			assert_true(RUN_UNTIL(t, raw_pump(&r) || r.n > hl, 3000));
		}
		close(r.fd); /* no close echo from us: spare the server's wait */
		assert_true(RUN_UNTIL(t, x->srv[i].closed == 1, 3000));
		if (i == 1)
			assert_int_equal(t->srv[i].code, 1009);
		assert_int_equal(t->srv[i].ntext, 0);
	}
	assert_int_equal(t->nsrv, nbad);
	assert_true(!RUN_UNTIL(t, ({ bool twice = false;
		for (int i = 0; i < x->nsrv; i++) twice = twice || x->srv[i].closed > 1; twice; }), 200));
	free(big);
	t_free(t);
}

/* ---- direct writes (ws_send_text writing at once when nothing is queued) ---- */
#define DW_BIG (160 * 1024)
static char dw_fill[DW_BIG + 64];

/* Message i: "%06d:" then filler; every 97th is big enough to choke the
 * socket (lws sends ~4 KiB per write and buffers the rest itself). */
static size_t dw_len(int i)
{
	return i % 97 == 13 ? DW_BIG - (size_t)i : 8 + (size_t)(i * 613) % 3000;
}

static size_t dw_make(int i, char *out)
{
	size_t n = dw_len(i);
	char hdr[8];

	snprintf(hdr, sizeof(hdr), "%06d:", i);
	memcpy(out, hdr, 7);
	memcpy(out + 7, dw_fill + i % 31, n - 7);
	return n;
}

static bool dw_check(int i, const char *d, size_t n)
{
	char hdr[8];

	snprintf(hdr, sizeof(hdr), "%06d:", i);
	return n == dw_len(i) && !memcmp(d, hdr, 7) && !memcmp(d + 7, dw_fill + i % 31, n - 7);
}

static void dw_init(void)
{
	for (size_t i = 0; i < sizeof(dw_fill); i++)
		dw_fill[i] = (char)('a' + (i * 5 + i / 251) % 26);
}

/* 2000 mixed-size messages from outside callbacks, the loop run now and
 * then: direct writes, partial writes lws buffers, and queued writes
 * (while choked) interleave; the receiver checks every one in order. */
static void test_direct_write_order(void **state)
{
	(void)state;
	ws_opts o = { .max_queue = 64u << 20, .max_message = 1u << 20 };
	T *t = t_new(&o);
	const int n = 2000;
	char *m = malloc(DW_BIG + 64);
	size_t maxq = 0;
	int direct = 0;

	dw_init();
	t->srv_echo = false;
	assert_int_equal(t_connect(t, 0, "/dw", NULL), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].opened && x->nsrv == 1, 3000));
	/* idle, open, plain: the message leaves at once, nothing stays queued */
	assert_int_equal(ws_send_text(t->cli[0].c, "000000:x", 8), 0);
	assert_int_equal(ws_queued(t->cli[0].c), 0);
	assert_true(RUN_UNTIL(t, x->srv[0].ntext == 1, 3000));
	t->srv[0].ntext = 0;
	t->srv_check = dw_check;
	for (int i = 0; i < n; i++) {
		size_t l = dw_make(i, m), before = ws_queued(t->cli[0].c);

		assert_int_equal(ws_send_text(t->cli[0].c, m, l), 0);
		if (ws_queued(t->cli[0].c) == before)
			direct++;
		if (ws_queued(t->cli[0].c) > maxq)
			maxq = ws_queued(t->cli[0].c);
		if (i % 7 == 6) /* let it drain now and then: direct again */
			uv_run(&t->loop, UV_RUN_NOWAIT);
	}
	assert_true(RUN_UNTIL(t, x->srv[0].ntext == n, 20000));
	assert_int_equal(t->srv_bad, 0);
	assert_int_equal(ws_queued(t->cli[0].c), 0);
	assert_true(direct > 0); /* some went out directly */
	assert_true(maxq > 0);   /* and some had to wait (choked or behind others) */
	/* the server side (unmasked frames) too */
	t->srv_check = NULL;
	for (int i = 0; i < n; i++) {
		size_t l = dw_make(i, m);

		assert_int_equal(ws_send_text(t->srv[0].c, m, l), 0);
		if (i % 50 == 49)
			uv_run(&t->loop, UV_RUN_NOWAIT);
	}
	assert_true(RUN_UNTIL(t, x->cli[0].ntext == n, 20000));
	assert_true(dw_check(n - 1, t->cli[0].last, t->cli[0].last_len));
	free(m);
	t_free(t);
}

/* A reader that does not read: the socket fills (a small receive buffer),
 * ws_send_text queues, and everything drains in order once it reads. */
static void test_direct_write_slow_reader(void **state)
{
	(void)state;
	ws_opts o = { .max_queue = 64u << 20 };
	T *t = t_new(&o);
	const int n = 600;
	int rcv = 4096, fd;
	char *m = malloc(DW_BIG + 64), *in;
	size_t cap = 64u << 20, got = 0, off, hl;
	int seen = 0;

	dw_init();
	in = malloc(cap);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	{
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)t->port) };

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	raw_send(fd, raw_upgrade, strlen(raw_upgrade));
	assert_true(RUN_UNTIL(t, x->nsrv == 1, 3000));
	/* read the 101 response only */
	while (!(got >= 4 && memmem(in, got, "\r\n\r\n", 4))) {
		ssize_t k = recv(fd, in + got, 1, MSG_DONTWAIT);

		if (k > 0)
			got += (size_t)k;
		else
			uv_run(&t->loop, UV_RUN_NOWAIT);
	}
	hl = got;
	assert_true(RUN_UNTIL(t, true, 20));
	/* the reader sleeps: sending goes on until the socket is choked */
	for (int i = 0; i < n; i++) {
		size_t l = dw_make(i, m);

		assert_int_equal(ws_send_text(t->srv[0].c, m, l), 0);
		uv_run(&t->loop, UV_RUN_NOWAIT);
	}
	assert_true(ws_queued(t->srv[0].c) > 0); /* choked: the queue holds the rest */
	/* now read, parsing unmasked server frames, checking each in order */
	off = hl;
	for (uint64_t end = uv_hrtime() + 20000000000ull; seen < n && uv_hrtime() < end;) {
		ssize_t k = recv(fd, in + got, cap - got, MSG_DONTWAIT);

		if (k > 0)
			got += (size_t)k;
		else
			uv_run(&t->loop, UV_RUN_NOWAIT);
		for (;;) {
			const unsigned char *p = (const unsigned char *)in + off;
			size_t avail = got - off, h = 2, pl;

			if (avail < 2)
				break;
			assert_int_equal(p[0], 0x81); /* FIN + text, never fragmented */
			pl = p[1] & 0x7f;
			if (pl == 126) {
				if (avail < 4)
					break;
				pl = (size_t)p[2] << 8 | p[3];
				h = 4;
			} else if (pl == 127) {
				if (avail < 10)
					break;
				pl = 0;
				for (int b = 0; b < 8; b++)
					pl = pl << 8 | p[2 + b];
				h = 10;
			}
			if (avail < h + pl)
				break;
			assert_true(dw_check(seen, (const char *)p + h, pl));
			seen++;
			off += h + pl;
		}
	}
	assert_int_equal(seen, n);
	assert_int_equal(ws_queued(t->srv[0].c), 0);
	/* and once drained, sending is direct again */
	assert_int_equal(ws_send_text(t->srv[0].c, "000000:x", 8), 0);
	assert_int_equal(ws_queued(t->srv[0].c), 0);
	close(fd);
	assert_true(RUN_UNTIL(t, x->srv[0].closed, 3000));
	free(in);
	free(m);
	t_free(t);
}

/* ws_close right after a direct write (small, and big enough that lws
 * still holds most of it): the peer gets the data, then the close. */
static void test_direct_write_then_close(void **state)
{
	(void)state;
	T *t = t_new(NULL);
	size_t big = 300 * 1024;
	char *m = malloc(big);

	for (size_t i = 0; i < big; i++)
		m[i] = (char)('a' + (i * 3 + i / 777) % 26);
	t->srv_echo = false;
	assert_int_equal(t_connect(t, 0, "/", NULL), 0);
	assert_int_equal(t_connect(t, 1, "/", NULL), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].opened && x->cli[1].opened && x->nsrv == 2, 3000));
	assert_int_equal(ws_send_text(t->cli[0].c, "final words", 11), 0);
	assert_int_equal(ws_queued(t->cli[0].c), 0); /* written directly */
	ws_close(t->cli[0].c, 4020, "done");
	assert_int_equal(ws_send_text(t->cli[1].c, m, big), 0);
	assert_int_equal(ws_queued(t->cli[1].c), 0); /* lws holds the rest */
	ws_close(t->cli[1].c, 4021, "done big");
	assert_true(RUN_UNTIL(t, x->srv[0].closed && x->srv[1].closed &&
				 x->cli[0].closed && x->cli[1].closed, 5000));
	/* servers were accepted in connect order or not: match by close code */
	for (int i = 0; i < 2; i++) {
		side *s = &t->srv[i];

		assert_int_equal(s->ntext, 1);
		if (s->code == 4020) {
			assert_string_equal(s->last, "final words");
		} else {
			assert_int_equal(s->code, 4021);
			assert_int_equal(s->last_len, big);
			assert_memory_equal(s->last, m, big);
		}
	}
	assert_int_equal(t->cli[0].code, 4020);
	assert_int_equal(t->cli[1].code, 4021);
	free(m);
	t_free(t);
}

/* A direct write on a socket the peer reset fails inside ws_send_text:
 * the connection still ends through close_h (1006), from the loop. */
static void test_direct_write_fails(void **state)
{
	(void)state;
	T *t = t_new(NULL);
	rawbuf r = { .fd = raw_connect(t->port) };
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	t->srv_echo = false;
	raw_send(r.fd, raw_upgrade, strlen(raw_upgrade));
	assert_true(RUN_UNTIL(t, (raw_pump(&r), strstr(r.b, "\r\n\r\n") != NULL), 3000));
	assert_int_equal(t->nsrv, 1);
	setsockopt(r.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(r.fd); /* RST */
	usleep(20000);
	/* no loop turn yet: lws has not seen the reset */
	assert_int_equal(ws_send_text(t->srv[0].c, "into the void", 13), 0);
	assert_int_equal(t->srv[0].closed, 0); /* never synchronously */
	assert_true(RUN_UNTIL(t, x->srv[0].closed == 1, 3000));
	assert_int_equal(t->srv[0].code, 1006);
	assert_string_equal(t->srv[0].reason, "write failed");
	assert_true(!RUN_UNTIL(t, x->srv[0].closed > 1, 100));
	t_free(t);
}

/* ---- several contexts alive at once, on several threads ---- */
typedef struct thr_ctx {
	pthread_barrier_t *bar;
	int got, closed;
	bool ok;
} thr_ctx;

static int thr_accept(ws_conn *c, const ws_request *rq, void *arg);
static void thr_text(ws_conn *c, const char *d, size_t n, void *arg)
{
	thr_ctx *x = arg;

	if (n == 4 && !memcmp(d, "ping", 4))
		ws_send_text(c, "pong", 4); /* server side */
	else if (n == 4 && !memcmp(d, "pong", 4))
		x->got++;
}
static void thr_close(ws_conn *c, int code, const char *reason, void *arg)
{
	thr_ctx *x = arg;

	(void)c, (void)code, (void)reason;
	x->closed++;
}
static const ws_handlers thr_h = { .text_h = thr_text, .close_h = thr_close };
static int thr_accept(ws_conn *c, const ws_request *rq, void *arg)
{
	(void)rq;
	ws_set_handlers(c, &thr_h, arg);
	return 0;
}

static void *thr_main(void *arg)
{
	thr_ctx *x = arg;
	uv_loop_t loop;
	ws_ctx *ctx = NULL;
	ws_conn *c = NULL;
	char url[64];
	int port = 0;
	uint64_t end;

	uv_loop_init(&loop);
	pthread_barrier_wait(x->bar); /* create the contexts at the same time */
	if (ws_ctx_new(&ctx, &loop, NULL) || ws_listen(ctx, "127.0.0.1", 0, thr_accept, x, &port))
		goto out;
	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/t", port);
	if (ws_connect(ctx, url, NULL, &thr_h, x, &c) || ws_send_text(c, "ping", 4))
		goto out;
	end = uv_hrtime() + 3000000000ull;
	while (!x->got && uv_hrtime() < end)
		uv_run(&loop, UV_RUN_NOWAIT), usleep(1000);
	x->ok = x->got == 1;
out:
	pthread_barrier_wait(x->bar); /* both contexts alive here */
	ws_ctx_destroy(ctx);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop))
		x->ok = false;
	return NULL;
}

/* Two contexts created concurrently and alive together (e.g. a test
 * server next to sipbridge's media thread): each works, and nothing lws
 * or OpenSSL allocated for them leaks (LSan checks at exit; lws 4.1 lost
 * one client SSL_CTX per extra OpenSSL init, see ws_ctx_new). */
static void test_contexts_on_threads(void **state)
{
	(void)state;
	T *t = t_new(NULL); /* a third context, alive throughout */
	pthread_barrier_t bar;
	thr_ctx x[2] = { { .bar = &bar }, { .bar = &bar } };
	pthread_t th[2];

	pthread_barrier_init(&bar, NULL, 2);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, thr_main, &x[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&bar);
	for (int i = 0; i < 2; i++) {
		assert_true(x[i].ok);
		assert_int_equal(x[i].closed, 2); /* client and server side */
	}
	t_free(t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_headers_close),
		cmocka_unit_test(test_big_message),
		cmocka_unit_test(test_connect_emfile),
		cmocka_unit_test(test_txq),
		cmocka_unit_test(test_queue_order),
		cmocka_unit_test(test_too_big_1009),
		cmocka_unit_test(test_binary_refused_1003),
		cmocka_unit_test(test_refusal_status),
		cmocka_unit_test(test_plain_http_404),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_connect_timeout),
		cmocka_unit_test(test_adopt),
		cmocka_unit_test(test_enobufs),
		cmocka_unit_test(test_close_from_text_h),
		cmocka_unit_test(test_close_while_connecting),
		cmocka_unit_test(test_close_while_handshaking),
		cmocka_unit_test(test_destroy_live),
		cmocka_unit_test(test_destroy_says_goodbye),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_dns_localhost),
		cmocka_unit_test(test_fragmented_and_ping),
		cmocka_unit_test(test_listen_in_use),
		cmocka_unit_test(test_wss),
		cmocka_unit_test(test_subprotocol_offered),
		cmocka_unit_test(test_calls_from_callbacks),
		cmocka_unit_test(test_ipv6_and_bad_urls),
		cmocka_unit_test(test_keepalive_ping),
		cmocka_unit_test(test_destroy_from_callbacks),
		cmocka_unit_test(test_hostile_input),
		cmocka_unit_test(test_contexts_on_threads),
		cmocka_unit_test(test_direct_write_order),
		cmocka_unit_test(test_direct_write_slow_reader),
		cmocka_unit_test(test_direct_write_then_close),
		cmocka_unit_test(test_direct_write_fails),
	};

	log_init("test_ws");
	if (argc > 1) /* run one test by name pattern */
		cmocka_set_test_filter(argv[1]);
	if (getenv("WS_DEBUG"))
		log_set_level(LOGL_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
