/* test_ws_client: our ws:// client (ws_craw.c: lws raw role, our own
 * handshake ws_hs.c and frame parser ws_rxp.c) against scripted raw
 * servers written here: the exact upgrade request, refusals and broken
 * answers, frames split every way, pings, protocol errors, closes from
 * either side, keepalive and floods. Each raw server is a plain socket
 * pumped from the test's loop (harness: tests/lib/wst.c). Loopback only. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "b64.h"
#include "err.h"
#include "log.h"
#include "ws.h"
#include "wst.h"

#define RECMAX 64

/* What our client's handlers saw, in order. */
typedef struct rec {
	ws_conn *c;
	int opened, closed, code, ntext, bad_order;
	char reason[128];
	char log[1024];
	char *msg[RECMAX];
	size_t len[RECMAX];
	int close_in_text; /* ws_close(c, this, "enough") from text_h */
} rec;

static void rec_log(rec *r, const char *fmt, const char *s)
{
	size_t l = strlen(r->log);

	snprintf(r->log + l, sizeof(r->log) - l, fmt, s);
}

static void rec_open(ws_conn *c, void *arg)
{
	rec *r = arg;

	assert_ptr_equal(c, r->c);
	if (r->opened || r->closed)
		r->bad_order++;
	r->opened++;
	rec_log(r, "open;%s", "");
}

static void rec_text(ws_conn *c, const char *d, size_t n, void *arg)
{
	rec *r = arg;

	assert_ptr_equal(c, r->c);
	assert_int_equal(d[n], '\0');
	if (!r->opened || r->closed)
		r->bad_order++;
	if (r->ntext < RECMAX) {
		r->msg[r->ntext] = malloc(n + 1);
		memcpy(r->msg[r->ntext], d, n + 1);
		r->len[r->ntext] = n;
	}
	r->ntext++;
	if (n <= 32)
		rec_log(r, "text:%s;", d);
	else
		rec_log(r, "text:%s;", "(long)");
	if (r->close_in_text) {
		ws_close(c, r->close_in_text, "enough");
		assert_int_equal(ws_send_text(c, "x", 1), -ENOTCONN);
	}
}

static void rec_close(ws_conn *c, int code, const char *reason, void *arg)
{
	rec *r = arg;

	assert_ptr_equal(c, r->c);
	r->closed++;
	r->code = code;
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
	rec_log(r, "close;%s", "");
}

/* no binary_h: binary messages are refused with 1003 */
static const ws_handlers rec_h = { .open_h = rec_open, .text_h = rec_text,
				   .close_h = rec_close };

/* One test: the loop and context, a raw listening server, our client. */
typedef struct cx {
	wst *t;
	int lfd, port;
	wst_peer p;
	rec r;
} cx;

static void cx_start(cx *s, const ws_opts *o, const char *pathq, const char *const *hdrs)
{
	char url[128];

	memset(s, 0, sizeof(*s));
	s->t = wst_new(o);
	s->lfd = wst_listen_plain(&s->port);
	snprintf(url, sizeof(url), "ws://127.0.0.1:%d%s", s->port, pathq);
	assert_int_equal(ws_connect(s->t->ctx, url, hdrs, &rec_h, &s->r, &s->r.c), 0);
	assert_int_equal(wst_peer_accept(s->t, s->lfd, &s->p, 3000), 0);
}

/* Reads the upgrade request and takes it from the buffer. */
static void cx_request(cx *s)
{
	size_t n = wst_peer_request(s->t, &s->p, 3000);

	assert_true(n > 0);
	assert_int_equal(strlen(s->p.key), 24);
	wst_peer_consume(&s->p, n);
}

/* Answers the upgrade; waits for open_h. */
static void cx_open(cx *s)
{
	char a[256];

	cx_request(s);
	assert_int_equal(wst_peer_send(s->t, &s->p, a, wst_101(a, sizeof(a), s->p.key)), 0);
	assert_true(RUN_UNTIL(s->t, s->r.opened == 1, 3000));
}

static void cx_end(cx *s)
{
	wst_free(s->t); /* close_h here if still open */
	assert_int_equal(s->r.closed, 1);
	assert_int_equal(s->r.bad_order, 0);
	wst_peer_close(&s->p);
	close(s->lfd);
	for (int i = 0; i < RECMAX; i++)
		free(s->r.msg[i]);
}

static void srv_frame(cx *s, uint8_t b0, const void *d, size_t n)
{
	unsigned char *b = malloc(n + 14);

	assert_int_equal(wst_peer_send(s->t, &s->p, b, wst_frame_build(b, b0, d, n, NULL)), 0);
	free(b);
}

/* Reads the client's next frame: a masked close with code and reason
 * (reason NULL: any). */
static void expect_close(cx *s, int code, const char *reason)
{
	wst_frame f;

	assert_true(wst_peer_frame(s->t, &s->p, &f, 3000));
	assert_int_equal(f.op, 0x8);
	assert_true(f.fin);
	assert_true(f.masked);
	assert_int_equal(f.rsv, 0);
	assert_true(f.len >= 2);
	assert_int_equal((f.data[0] << 8) | f.data[1], code);
	if (reason) {
		assert_int_equal(f.len, 2 + strlen(reason));
		assert_memory_equal(f.data + 2, reason, strlen(reason));
	}
	free(f.data);
}

/* The server ends TCP; close_h must follow. */
static void srv_hangup(cx *s)
{
	close(s->p.fd);
	s->p.fd = -1;
	assert_true(RUN_UNTIL(s->t, s->r.closed == 1, 3000));
}

static bool peer_eof(cx *s, int ms)
{
	return RUN_UNTIL(s->t, wst_peer_pump(&s->p), ms);
}

/* 1. The upgrade request, byte for byte where it is fixed. */
static void test_request(void **state)
{
	(void)state;
	const char *hdrs[] = { "Authorization: Bearer sk-1", "X-Custom: a b  c;d=e", NULL };
	char host[64], key1[64];
	uint8_t nonce[32];
	const char *rq;
	size_t n;
	cx s;

	cx_start(&s, NULL, "/path?q", hdrs);
	n = wst_peer_request(s.t, &s.p, 3000);
	assert_true(n > 0);
	rq = (const char *)s.p.b;
	assert_memory_equal(rq, "GET /path?q HTTP/1.1\r\n", 22);
	snprintf(host, sizeof(host), "\r\nHost: 127.0.0.1:%d\r\n", s.port);
	assert_non_null(strstr(rq, host));
	assert_non_null(strstr(rq, "\r\nUpgrade: websocket\r\n"));
	assert_non_null(strstr(rq, "\r\nConnection: Upgrade\r\n"));
	assert_non_null(strstr(rq, "\r\nSec-WebSocket-Version: 13\r\n"));
	assert_non_null(strstr(rq, "\r\nAuthorization: Bearer sk-1\r\n"));
	assert_non_null(strstr(rq, "\r\nX-Custom: a b  c;d=e\r\n"));
	assert_null(strstr(rq, "Sec-WebSocket-Protocol"));
	assert_null(strstr(rq, "Sec-WebSocket-Extensions"));
	assert_int_equal(strlen(s.p.key), 24);
	assert_int_equal(b64_decode(nonce, sizeof(nonce), s.p.key, 24), 16);
	/* nothing follows the request before our answer */
	assert_false(RUN_UNTIL(s.t, (wst_peer_pump(&s.p), s.p.n != n), 100));
	assert_int_equal(s.r.opened, 0);
	snprintf(key1, sizeof(key1), "%s", s.p.key);
	cx_end(&s);
	/* destroyed while connecting: no close frame could go out */
	assert_int_equal(s.r.code, 1006);

	/* a second connection: a fresh key, and "?q" alone becomes "/?q" */
	cx_start(&s, NULL, "?only=1", NULL);
	n = wst_peer_request(s.t, &s.p, 3000);
	assert_true(n > 0);
	assert_memory_equal(s.p.b, "GET /?only=1 HTTP/1.1\r\n", 23);
	assert_string_not_equal(s.p.key, key1);
	wst_peer_consume(&s.p, n);
	{
		char a[256];

		assert_int_equal(wst_peer_send(s.t, &s.p, a, wst_101(a, sizeof(a), s.p.key)), 0);
	}
	assert_true(RUN_UNTIL(s.t, s.r.opened == 1, 3000));
	assert_int_equal(s.r.closed, 0);
	cx_end(&s);
}

/* 2. The 101 and two frames in one send: both, in order, after open_h. */
static void test_101_with_frames(void **state)
{
	(void)state;
	unsigned char b[512];
	size_t n;
	cx s;

	cx_start(&s, NULL, "/", NULL);
	cx_request(&s);
	n = wst_101((char *)b, sizeof(b), s.p.key);
	n += wst_frame_build(b + n, 0x81, "first", 5, NULL);
	n += wst_frame_build(b + n, 0x81, "second", 6, NULL);
	wst_raw_send(s.p.fd, b, n);
	assert_true(RUN_UNTIL(s.t, s.r.ntext == 2, 3000));
	assert_string_equal(s.r.log, "open;text:first;text:second;");
	assert_int_equal(s.r.len[0], 5);
	assert_int_equal(s.r.len[1], 6);
	assert_int_equal(s.r.closed, 0);
	cx_end(&s);
}

/* 3. Refused or broken answers: close_h 1006 with a reason, never open_h,
 * and the client drops the socket. */
static void test_refusals(void **state)
{
	(void)state;
	static const struct {
		const char *answer; /* "%s": the right accept key */
		const char *reason; /* expected start of the reason */
	} cases[] = {
		{ "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", "HTTP 403: Forbidden" },
		{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		  "Connection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
		  "bad Sec-WebSocket-Accept" },
		{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		  "Connection: Upgrade\r\n\r\n", "bad Sec-WebSocket-Accept" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "HTTP 200: OK" },
		{ "SSH-2.0-OpenSSH_9.2\r\n\r\n", "not an HTTP response" },
		{ "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Accept: %s\r\n\r\n", "101 without an upgrade" },
		{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
		  "server chose an extension" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char a[512], acc[32];
		cx s;

		cx_start(&s, NULL, "/x", NULL);
		cx_request(&s);
		wst_ws_accept(s.p.key, acc);
		snprintf(a, sizeof(a), cases[i].answer, acc);
		wst_raw_send(s.p.fd, a, strlen(a));
		assert_true(RUN_UNTIL(s.t, s.r.closed == 1, 3000));
		assert_int_equal(s.r.code, 1006);
		if (strncmp(s.r.reason, cases[i].reason, strlen(cases[i].reason)))
			fail_msg("case %zu: reason \"%s\", want \"%s…\"", i, s.r.reason,
				 cases[i].reason);
		assert_int_equal(s.r.opened, 0);
		assert_int_equal(s.r.ntext, 0);
		assert_true(peer_eof(&s, 2000));
		assert_int_equal(s.p.n, 0); /* no frame sent after a failed handshake */
		cx_end(&s);
	}
}

/* 3. An answer header block over 8 KiB that never ends. */
static void test_headers_too_long(void **state)
{
	(void)state;
	size_t n = 9000;
	char *a = malloc(n);
	int h = snprintf(a, n, "HTTP/1.1 101 Switching Protocols\r\nX-Pad: ");
	cx s;

	memset(a + h, 'a', n - (size_t)h); /* to the end: no empty line */
	cx_start(&s, NULL, "/", NULL);
	cx_request(&s);
	assert_int_equal(wst_peer_send(s.t, &s.p, a, n), 0);
	assert_true(RUN_UNTIL(s.t, s.r.closed == 1, 3000));
	assert_int_equal(s.r.code, 1006);
	assert_string_equal(s.r.reason, "response headers too long");
	assert_int_equal(s.r.opened, 0);
	assert_true(peer_eof(&s, 2000));
	free(a);
	cx_end(&s);
}

/* 3. The server closes TCP in the middle of its answer. */
static void test_eof_mid_handshake(void **state)
{
	(void)state;
	const char *a = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n";
	cx s;

	cx_start(&s, NULL, "/", NULL);
	cx_request(&s);
	wst_raw_send(s.p.fd, a, strlen(a));
	assert_false(RUN_UNTIL(s.t, s.r.closed, 100));
	srv_hangup(&s);
	assert_int_equal(s.r.code, 1006);
	assert_true(s.r.reason[0] != '\0');
	assert_int_equal(s.r.opened, 0);
	cx_end(&s);
}

/* 3. The server reads the request and never answers: connect_timeout_ms. */
static void test_connect_timeout(void **state)
{
	(void)state;
	ws_opts o = { .connect_timeout_ms = 500 };
	uint64_t t0 = uv_hrtime(), dt;
	cx s;

	cx_start(&s, &o, "/", NULL);
	cx_request(&s);
	assert_true(RUN_UNTIL(s.t, s.r.closed == 1, 3000));
	dt = (uv_hrtime() - t0) / 1000000;
	assert_int_equal(s.r.code, 1006);
	assert_string_equal(s.r.reason, "connect timeout");
	assert_int_equal(s.r.opened, 0);
	assert_true(dt >= 450 && dt < 1500);
	assert_true(peer_eof(&s, 2000));
	cx_end(&s);
}

/* Sends one byte at a time, giving the client a chance to read each. */
static void drip(cx *s, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		wst_raw_send(s->p.fd, b + i, 1);
		usleep(200);
		uv_run(&s->t->loop, UV_RUN_NOWAIT);
	}
}

/* 4. The answer and a message (16-bit length, three fragments with a ping
 * between them) one byte per send: whole, once, only at the last byte. */
static void test_byte_by_byte(void **state)
{
	(void)state;
	unsigned char b[1024];
	char m[301];
	size_t n, k;
	wst_frame f;
	cx s;

	for (int i = 0; i < 300; i++)
		m[i] = (char)('a' + i % 26);
	m[300] = '\0';
	cx_start(&s, NULL, "/", NULL);
	cx_request(&s);
	n = wst_101((char *)b, sizeof(b), s.p.key);
	drip(&s, b, n - 1);
	assert_false(RUN_UNTIL(s.t, s.r.opened, 50));
	drip(&s, b + n - 1, 1);
	assert_true(RUN_UNTIL(s.t, s.r.opened == 1, 2000));

	n = wst_frame_build(b, 0x81, m, 300, NULL);
	assert_int_equal(b[1], 126);
	drip(&s, b, n - 1);
	assert_false(RUN_UNTIL(s.t, s.r.ntext, 50));
	drip(&s, b + n - 1, 1);
	assert_true(RUN_UNTIL(s.t, s.r.ntext == 1, 2000));
	assert_int_equal(s.r.len[0], 300);
	assert_memory_equal(s.r.msg[0], m, 301);

	k = wst_frame_build(b, 0x01, "ab", 2, NULL);
	k += wst_frame_build(b + k, 0x89, "p!", 2, NULL);
	k += wst_frame_build(b + k, 0x00, "cd", 2, NULL);
	k += wst_frame_build(b + k, 0x80, "ef", 2, NULL);
	drip(&s, b, k - 1);
	assert_false(RUN_UNTIL(s.t, s.r.ntext > 1, 50));
	drip(&s, b + k - 1, 1);
	assert_true(RUN_UNTIL(s.t, s.r.ntext == 2, 2000));
	assert_string_equal(s.r.msg[1], "abcdef");
	assert_true(wst_peer_frame(s.t, &s.p, &f, 2000));
	assert_int_equal(f.op, 0xa);
	assert_true(f.masked && f.fin);
	assert_string_equal((char *)f.data, "p!");
	free(f.data);
	assert_int_equal(s.r.closed, 0);
	cx_end(&s);
}

/* 4. Big messages: 16-bit and 64-bit lengths, in one frame and in
 * fragments, reassembled byte-exact. */
static void test_big_messages(void **state)
{
	(void)state;
	size_t big = 200 * 1024, sizes[] = { 126, 65535, 65536, 70000 };
	char *m = malloc(big + 1);
	unsigned char *b = malloc(big + 64);
	size_t n;
	cx s;

	for (size_t i = 0; i < big; i++)
		m[i] = (char)('A' + (i * 7) % 53 % 26);
	m[big] = '\0';
	cx_start(&s, NULL, "/", NULL);
	cx_open(&s);
	for (size_t i = 0; i < 4; i++) {
		n = wst_frame_build(b, 0x81, m, sizes[i], NULL);
		assert_int_equal(b[1], sizes[i] < 65536 ? 126 : 127);
		assert_int_equal(wst_peer_send(s.t, &s.p, b, n), 0);
	}
	/* 200 KiB in three fragments of 64-bit, 16-bit and 7-bit lengths */
	n = wst_frame_build(b, 0x01, m, big - 1000, NULL);
	n += wst_frame_build(b + n, 0x00, m + big - 1000, 990, NULL);
	n += wst_frame_build(b + n, 0x80, m + big - 10, 10, NULL);
	assert_int_equal(wst_peer_send(s.t, &s.p, b, n), 0);
	assert_true(RUN_UNTIL(s.t, s.r.ntext == 5, 5000));
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(s.r.len[i], sizes[i]);
		assert_memory_equal(s.r.msg[i], m, sizes[i]);
	}
	assert_int_equal(s.r.len[4], big);
	assert_memory_equal(s.r.msg[4], m, big);
	assert_int_equal(s.r.closed, 0);
	free(m);
	free(b);
	cx_end(&s);
}

/* 4. A fragmented message with pings between fragments: masked pongs with
 * the same payloads, the message whole; then an empty message. */
static void test_fragments_ping_empty(void **state)
{
	(void)state;
	unsigned char b[512];
	size_t n;
	wst_frame f;
	cx s;

	cx_start(&s, NULL, "/", NULL);
	cx_open(&s);
	n = wst_frame_build(b, 0x01, "Hel", 3, NULL);
	n += wst_frame_build(b + n, 0x89, "ping-1", 6, NULL);
	n += wst_frame_build(b + n, 0x00, "lo ", 3, NULL);
	n += wst_frame_build(b + n, 0x89, NULL, 0, NULL);
	n += wst_frame_build(b + n, 0x8a, "unasked", 7, NULL); /* a pong: ignored */
	n += wst_frame_build(b + n, 0x80, "world", 5, NULL);
	n += wst_frame_build(b + n, 0x81, NULL, 0, NULL);      /* empty message */
	wst_raw_send(s.p.fd, b, n);
	assert_true(RUN_UNTIL(s.t, s.r.ntext == 2, 3000));
	assert_string_equal(s.r.log, "open;text:Hello world;text:;");
	assert_int_equal(s.r.len[1], 0);
	assert_true(wst_peer_frame(s.t, &s.p, &f, 2000));
	assert_int_equal(f.op, 0xa);
	assert_true(f.masked && f.fin);
	assert_int_equal(f.len, 6);
	assert_memory_equal(f.data, "ping-1", 6);
	free(f.data);
	assert_true(wst_peer_frame(s.t, &s.p, &f, 2000));
	assert_int_equal(f.op, 0xa);
	assert_true(f.masked && f.fin);
	assert_int_equal(f.len, 0);
	free(f.data);
	/* nothing else (no pong for a pong) */
	assert_false(RUN_UNTIL(s.t, (wst_peer_pump(&s.p), s.p.n > 0), 100));
	assert_int_equal(s.r.closed, 0);
	cx_end(&s);
}

/* 5. Protocol errors: the client sends a masked close with the code, and
 * close_h gets it, whether the server echoes the close or just hangs up. */
static void test_protocol_errors(void **state)
{
	(void)state;
	static const uint8_t mask[4] = { 1, 2, 3, 4 };
	static const struct {
		size_t len;
		int code;
		uint8_t b0;
		bool masked;
	} cases[] = {
		{ 2, 1002, 0x81, true },     /* masked frame from a server */
		{ 2, 1002, 0x83, false },    /* reserved data opcode */
		{ 2, 1002, 0x8b, false },    /* reserved control opcode */
		{ 2, 1002, 0xc1, false },    /* RSV1 without an extension */
		{ 2, 1002, 0x80, false },    /* continuation without a start */
		{ 2, 1002, 0x09, false },    /* fragmented ping */
		{ 3, 1003, 0x82, false },    /* binary, no binary_h */
		{ 2000, 1009, 0x81, false }, /* over max_message */
	};
	ws_opts o = { .max_message = 1024 };
	char *d = malloc(2000);

	memset(d, 'q', 2000);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char *b = malloc(2000 + 14);
		size_t n;
		cx s;

		cx_start(&s, &o, "/", NULL);
		cx_open(&s);
		n = wst_frame_build(b, cases[i].b0, d, cases[i].len, cases[i].masked ? mask : NULL);
		wst_raw_send(s.p.fd, b, n);
		expect_close(&s, cases[i].code, NULL);
		if (i % 2) { /* the server echoes first */
			n = wst_frame_build(b, 0x88, "\x03\xe8", 2, NULL);
			wst_raw_send(s.p.fd, b, n);
		}
		srv_hangup(&s);
		if (s.r.code != cases[i].code)
			fail_msg("case %zu: close_h %d \"%s\", want %d", i, s.r.code, s.r.reason,
				 cases[i].code);
		assert_int_equal(s.r.ntext, 0);
		free(b);
		cx_end(&s);
	}
	free(d);
}

/* 5. After a protocol error the client has failed the connection (RFC
 * 6455 7.1.7): once its close frame is out it must not wait for the
 * server. A server that echoes the close (and waits for the client to
 * end TCP, as a client-side close would have it) sees TCP end at once,
 * like after ws_close's echo, not at the 3 s close-ack timeout. */
static void test_protocol_error_echoed(void **state)
{
	(void)state;
	uint64_t t0, dt;
	cx s;

	cx_start(&s, NULL, "/", NULL);
	cx_open(&s);
	srv_frame(&s, 0x83, "xx", 2); /* reserved opcode */
	expect_close(&s, 1002, NULL);
	t0 = uv_hrtime();
	srv_frame(&s, 0x88, "\x03\xea", 2); /* the echo: 1002 */
	assert_true(RUN_UNTIL(s.t, s.r.closed == 1, 5000));
	dt = (uv_hrtime() - t0) / 1000000;
	assert_int_equal(s.r.code, 1002);
	assert_true(peer_eof(&s, 1000));
	cx_end(&s); /* first: a failure below leaks nothing */
	if (dt > 1000)
		fail_msg("TCP ended %llu ms after the echo of our 1002 close", (unsigned long long)dt);
}

/* 6. The server closes with 4001 "bye": echoed (masked, same code and
 * reason), the client waits for the server to end TCP, close_h once. */
static void test_server_close(void **state)
{
	(void)state;
	cx s;

	cx_start(&s, NULL, "/", NULL);
	cx_open(&s);
	srv_frame(&s, 0x88, "\x0f\xa1" "bye", 5);
	expect_close(&s, 4001, "bye");
	/* RFC 6455 7.1.1: the server ends TCP first */
	assert_false(peer_eof(&s, 200));
	assert_int_equal(s.r.closed, 0);
	/* nothing after the close, not even for a ping */
	srv_frame(&s, 0x89, "late", 4);
	srv_frame(&s, 0x81, "late", 4);
	assert_false(RUN_UNTIL(s.t, (wst_peer_pump(&s.p), s.p.n > 0), 100));
	srv_hangup(&s);
	assert_int_equal(s.r.code, 4001);
	assert_string_equal(s.r.reason, "bye");
	assert_int_equal(s.r.ntext, 0);
	assert_false(RUN_UNTIL(s.t, s.r.closed > 1, 200));
	cx_end(&s);
}

/* 6. A close frame without a code: echoed empty, close_h 1005. */
static void test_server_close_empty(void **state)
{
	(void)state;
	wst_frame f;
	cx s;

	cx_start(&s, NULL, "/", NULL);
	cx_open(&s);
	srv_frame(&s, 0x88, NULL, 0);
	assert_true(wst_peer_frame(s.t, &s.p, &f, 3000));
	assert_int_equal(f.op, 0x8);
	assert_true(f.masked && f.fin);
	assert_int_equal(f.len, 0);
	free(f.data);
	srv_hangup(&s);
	assert_int_equal(s.r.code, 1005);
	cx_end(&s);
}

/* 6. Close frames a server may not send (a 1-byte body, code 1005):
 * answered with our 1002 close, not echoed; close_h 1002. */
static void test_server_close_invalid(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		size_t len;
	} bad[] = { { "\x03", 1 }, { "\x03\xed", 2 } };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cx s;

		cx_start(&s, NULL, "/", NULL);
		cx_open(&s);
		srv_frame(&s, 0x88, bad[i].body, bad[i].len);
		expect_close(&s, 1002, NULL);
		srv_hangup(&s);
		assert_int_equal(s.r.code, 1002);
		cx_end(&s);
	}
}

/* 7. ws_close(1000, "done"): a masked close frame; the server's echo ends
 * it: close_h 1000 "done" once, and the client closes TCP. */
static void test_client_close_echoed(void **state)
{
	(void)state;
	cx s;

	cx_start(&s, NULL, "/", NULL);
	cx_open(&s);
	ws_close(s.r.c, 1000, "done");
	expect_close(&s, 1000, "done");
	assert_int_equal(s.r.closed, 0);
	srv_frame(&s, 0x88, "\x03\xe8" "done", 6);
	assert_true(RUN_UNTIL(s.t, s.r.closed == 1, 2000));
	assert_int_equal(s.r.code, 1000);
	assert_string_equal(s.r.reason, "done");
	assert_true(peer_eof(&s, 2000));
	assert_int_equal(s.p.n, 0);
	assert_false(RUN_UNTIL(s.t, s.r.closed > 1, 100));
	cx_end(&s);
}

/* 7. ws_close and a server that never echoes: the close-ack timeout ends
 * it with our code. */
static void test_client_close_no_echo(void **state)
{
	(void)state;
	uint64_t t0, dt;
	cx s;

	cx_start(&s, NULL, "/", NULL);
	cx_open(&s);
	t0 = uv_hrtime();
	ws_close(s.r.c, 1000, "done");
	expect_close(&s, 1000, "done");
	assert_true(RUN_UNTIL(s.t, s.r.closed == 1, 5500));
	dt = (uv_hrtime() - t0) / 1000000;
	assert_int_equal(s.r.code, 1000);
	assert_string_equal(s.r.reason, "done");
	assert_true(dt >= 1500 && dt < 5500);
	assert_true(peer_eof(&s, 1000));
	cx_end(&s);
}

/* 8. Keepalive against a silent server: a masked ping after ~1 s, close_h
 * 1006 "ping timeout" after ~2 s. */
static void test_keepalive_silent(void **state)
{
	(void)state;
	ws_opts o = { .ping_interval_s = 1 };
	uint64_t t0, dt;
	wst_frame f;
	cx s;

	cx_start(&s, &o, "/", NULL);
	cx_open(&s);
	t0 = uv_hrtime();
	assert_true(wst_peer_frame(s.t, &s.p, &f, 2500));
	dt = (uv_hrtime() - t0) / 1000000;
	assert_int_equal(f.op, 0x9);
	assert_true(f.masked && f.fin);
	free(f.data);
	assert_true(dt >= 800 && dt < 1800);
	assert_true(RUN_UNTIL(s.t, s.r.closed == 1, 3000));
	dt = (uv_hrtime() - t0) / 1000000;
	assert_int_equal(s.r.code, 1006);
	assert_string_equal(s.r.reason, "ping timeout");
	assert_true(dt >= 1800 && dt < 3500);
	cx_end(&s);
}

/* 8. A server answering pings with pongs, or talking, stays connected. */
static void test_keepalive_alive(void **state)
{
	(void)state;
	ws_opts o = { .ping_interval_s = 1 };
	uint64_t end;
	int pings = 0;
	cx s;

	/* pongs */
	cx_start(&s, &o, "/", NULL);
	cx_open(&s);
	end = uv_hrtime() + 2600000000ull;
	while (uv_hrtime() < end) {
		wst_frame f;

		if (!wst_peer_frame(s.t, &s.p, &f, 50))
			continue;
		assert_int_equal(f.op, 0x9);
		free(f.data);
		pings++;
		srv_frame(&s, 0x8a, NULL, 0);
	}
	assert_int_equal(s.r.closed, 0);
	assert_true(pings >= 2);
	cx_end(&s);

	/* any data: no ping needed at all */
	cx_start(&s, &o, "/", NULL);
	cx_open(&s);
	end = uv_hrtime() + 2200000000ull;
	while (uv_hrtime() < end) {
		srv_frame(&s, 0x81, "tick", 4);
		assert_false(RUN_UNTIL(s.t, (wst_peer_pump(&s.p), s.p.n > 0), 300));
	}
	assert_int_equal(s.r.closed, 0);
	assert_true(s.r.ntext >= 6);
	cx_end(&s);
}

/* 9. ws_send_text: queued before open (right after ws_connect) and after,
 * all masked, in order, byte-exact; masks differ between frames. */
static void test_client_send(void **state)
{
	(void)state;
	size_t big = 70000;
	char *m = malloc(big);
	bool masks_differ = false;
	uint8_t mask0[4];
	char a[256], want[32];
	wst_frame f;
	size_t n;
	cx s;

	for (size_t i = 0; i < big; i++)
		m[i] = (char)('0' + i % 10);
	cx_start(&s, NULL, "/", NULL);
	for (int i = 0; i < 100; i++) {
		snprintf(want, sizeof(want), "msg %d", i);
		assert_int_equal(ws_send_text(s.r.c, want, strlen(want)), 0);
	}
	assert_int_equal(ws_send_text(s.r.c, m, big), 0);
	assert_int_equal(ws_send_text(s.r.c, "", 0), 0);
	n = wst_peer_request(s.t, &s.p, 3000);
	assert_true(n > 0);
	/* nothing but the request before our answer */
	assert_int_equal(s.p.n, n);
	wst_peer_consume(&s.p, n);
	assert_int_equal(wst_peer_send(s.t, &s.p, a, wst_101(a, sizeof(a), s.p.key)), 0);
	for (int i = 0; i < 100; i++) {
		assert_true(wst_peer_frame(s.t, &s.p, &f, 3000));
		snprintf(want, sizeof(want), "msg %d", i);
		assert_int_equal(f.op, 0x1);
		assert_true(f.masked && f.fin);
		assert_int_equal(f.rsv, 0);
		assert_string_equal((char *)f.data, want);
		if (i == 0)
			memcpy(mask0, f.mask, 4);
		else if (memcmp(mask0, f.mask, 4))
			masks_differ = true;
		free(f.data);
	}
	assert_true(masks_differ);
	assert_true(wst_peer_frame(s.t, &s.p, &f, 3000));
	assert_int_equal(f.op, 0x1);
	assert_true(f.masked && f.fin);
	assert_int_equal(f.len, big);
	assert_memory_equal(f.data, m, big);
	free(f.data);
	assert_true(wst_peer_frame(s.t, &s.p, &f, 3000));
	assert_int_equal(f.op, 0x1);
	assert_true(f.masked);
	assert_int_equal(f.len, 0);
	free(f.data);
	assert_int_equal(s.r.opened, 1);
	/* after open */
	assert_int_equal(ws_send_text(s.r.c, "later", 5), 0);
	assert_true(wst_peer_frame(s.t, &s.p, &f, 3000));
	assert_true(f.masked);
	assert_string_equal((char *)f.data, "later");
	free(f.data);
	assert_int_equal(ws_queued(s.r.c), 0);
	free(m);
	cx_end(&s);
}

/* 10. A flood from the server while text_h calls ws_close: one message
 * delivered, our close frame goes out, close_h once with our code. */
static void test_flood_close_in_text(void **state)
{
	(void)state;
	size_t fl = 16 * 1024, nf = 256, n = 0;
	unsigned char *b = malloc(nf * (fl + 14));
	char *m = malloc(fl);
	bool got_close = false;
	cx s;

	memset(m, 'f', fl);
	for (size_t i = 0; i < nf; i++)
		n += wst_frame_build(b + n, 0x81, m, fl, NULL);
	cx_start(&s, NULL, "/", NULL);
	s.r.close_in_text = 4002;
	cx_open(&s);
	assert_int_equal(wst_peer_send(s.t, &s.p, b, n), 0); /* 4 MiB */
	/* the client's frames: its close (anything else would be a bug) */
	while (!got_close) {
		wst_frame f;

		assert_true(wst_peer_frame(s.t, &s.p, &f, 3000));
		assert_int_equal(f.op, 0x8);
		assert_true(f.masked);
		assert_int_equal((f.data[0] << 8) | f.data[1], 4002);
		assert_string_equal((char *)f.data + 2, "enough");
		got_close = true;
		free(f.data);
	}
	assert_int_equal(s.r.closed, 0);
	srv_frame(&s, 0x88, "\x0f\xa2" "enough", 8);
	assert_true(RUN_UNTIL(s.t, s.r.closed == 1, 3000));
	assert_int_equal(s.r.code, 4002);
	assert_string_equal(s.r.reason, "enough");
	assert_int_equal(s.r.ntext, 1);
	assert_true(peer_eof(&s, 2000));
	assert_false(RUN_UNTIL(s.t, s.r.closed > 1, 100));
	free(b);
	free(m);
	cx_end(&s);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_101_with_frames),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_headers_too_long),
		cmocka_unit_test(test_eof_mid_handshake),
		cmocka_unit_test(test_connect_timeout),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_big_messages),
		cmocka_unit_test(test_fragments_ping_empty),
		cmocka_unit_test(test_protocol_errors),
		cmocka_unit_test(test_protocol_error_echoed),
		cmocka_unit_test(test_server_close),
		cmocka_unit_test(test_server_close_empty),
		cmocka_unit_test(test_server_close_invalid),
		cmocka_unit_test(test_client_close_echoed),
		cmocka_unit_test(test_client_close_no_echo),
		cmocka_unit_test(test_keepalive_silent),
		cmocka_unit_test(test_keepalive_alive),
		cmocka_unit_test(test_client_send),
		cmocka_unit_test(test_flood_close_in_text),
	};

	log_init("test_ws_client");
	if (argc > 1) /* run one test by name pattern */
		cmocka_set_test_filter(argv[1]);
	if (getenv("WS_DEBUG"))
		log_set_level(LOGL_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
