/* test_ws_hostile: ws against peers our own client would never be: raw
 * frames (binary, fragmented, pings, bad frames), non-HTTP and oversized
 * requests, subprotocol offers, silent peers, messages over the limit, no
 * file descriptors left, and many connections at once (harness: tests/lib/wst.c). Loopback only. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <sys/resource.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "err.h"
#include "log.h"
#include "ws.h"
#include "wst.h"

static void test_too_big_1009(void **state)
{
	(void)state;
	ws_opts o = { .max_message = 64 * 1024 };
	wst *t = wst_new(&o);
	size_t n = 100 * 1024;
	char *m = calloc(1, n);

	memset(m, 'z', n);
	assert_int_equal(wst_connect(t, 0, "/", NULL), 0);
	assert_int_equal(ws_send_text(t->cli[0].c, m, n), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].closed && x->nsrv && x->srv[0].closed, 5000));
	assert_int_equal(t->srv[0].ntext, 0);
	assert_int_equal(t->srv[0].code, 1009);
	assert_int_equal(t->cli[0].code, 1009);
	free(m);
	wst_free(t);
}

/* A message is queued for the peer (the echo, written from inside the rx
 * callback), then the next frame is over the limit: the 1009 close frame
 * goes out and the queued message must not follow it (RFC 6455 5.5.1). */
static void test_no_data_after_close(void **state)
{
	(void)state;
	ws_opts o = { .max_message = 1024 };
	wst *t = wst_new(&o);
	wst_rawbuf r = { .fd = wst_raw_connect(t->port) };
	unsigned char in[8 + 4 + 2000 + 16];
	size_t k = 0;
	char *p;

	/* "hello", then a 2000-byte frame, in one write (masked, key 0) */
	memcpy(in, "\x81\x85\0\0\0\0hello", 11);
	k = 11;
	in[k++] = 0x81;
	in[k++] = 0x80 | 126;
	in[k++] = 2000 >> 8;
	in[k++] = 2000 & 0xff;
	memset(in + k, 0, 4);
	k += 4;
	memset(in + k, 'y', 2000);
	k += 2000;
	wst_raw_send(r.fd, wst_raw_upgrade, strlen(wst_raw_upgrade));
	assert_true(RUN_UNTIL(t, (wst_raw_pump(&r), strstr(r.b, "\r\n\r\n") != NULL), 3000));
	wst_raw_send(r.fd, in, k);
	p = strstr(r.b, "\r\n\r\n") + 4;
	assert_true(RUN_UNTIL(t, (wst_raw_pump(&r), memchr(p, 0x88, (size_t)(r.b + r.n - p)) != NULL), 3000));
	/* anything that would follow the close has time to arrive */
	assert_false(RUN_UNTIL(t, (wst_raw_pump(&r), r.eof), 300));
	/* frames after the handshake: optionally the echo, then the close,
	 * and nothing after the close */
	{
		const unsigned char *f = (const unsigned char *)p, *e = (const unsigned char *)r.b + r.n;
		bool closed = false;

		while (f + 2 <= e) {
			size_t l = f[1] & 0x7f;

			assert_false(closed); /* a frame after the close frame */
			if ((f[0] & 0x0f) == 0x8) {
				closed = true;
				assert_int_equal((f[2] << 8) | f[3], 1009);
			}
			f += 2 + l;
		}
		assert_true(closed);
	}
	close(r.fd); /* no close echo from us: the server gives up on the ack */
	assert_true(RUN_UNTIL(t, x->srv[0].closed, 3000));
	assert_int_equal(t->srv[0].code, 1009);
	wst_free(t);
}

static void test_binary_refused_1003(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	wst_rawbuf r = { .fd = wst_raw_connect(t->port) };
	/* masked binary frame, 3 bytes payload, mask 0 */
	const unsigned char frame[] = { 0x82, 0x83, 0, 0, 0, 0, 1, 2, 3 };
	char *p;

	wst_raw_send(r.fd, wst_raw_upgrade, strlen(wst_raw_upgrade));
	assert_true(RUN_UNTIL(t, (wst_raw_pump(&r), strstr(r.b, "\r\n\r\n") != NULL), 3000));
	assert_non_null(strstr(r.b, " 101 "));
	assert_string_equal(t->path, "/raw");
	ws_set_log_id(t->srv[0].c, "CAtest1003"); /* the 1003 warning names the call */
	wst_raw_send(r.fd, frame, sizeof(frame));
	p = strstr(r.b, "\r\n\r\n") + 4;
	assert_true(RUN_UNTIL(t, (wst_raw_pump(&r), r.b + r.n >= p + 4), 3000));
	/* a close frame carrying 1003 */
	assert_int_equal((unsigned char)p[0], 0x88);
	assert_int_equal(((unsigned char)p[2] << 8) | (unsigned char)p[3], 1003);
	close(r.fd); /* no echo from us: the server gives up on the ack */
	assert_true(RUN_UNTIL(t, x->srv[0].closed, 3000));
	assert_int_equal(t->srv[0].code, 1003);
	wst_free(t);
}

static void test_many(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	const int n = 200;
	char m[32];

	for (int i = 0; i < n; i++)
		assert_int_equal(wst_connect(t, i, "/many", NULL), 0);
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
	wst_free(t);
	/* wst_free destroyed the context with 400 live connections */
}

static void test_fragmented_and_ping(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	wst_rawbuf r = { .fd = wst_raw_connect(t->port) };
	/* "hel" (text, no FIN), ping "p", "lo" (continuation, FIN); mask 0 */
	const unsigned char frames[] = { 0x01, 0x83, 0, 0, 0, 0, 'h', 'e', 'l',
					 0x89, 0x81, 0, 0, 0, 0, 'p',
					 0x80, 0x82, 0, 0, 0, 0, 'l', 'o' };
	char *p;

	wst_raw_send(r.fd, wst_raw_upgrade, strlen(wst_raw_upgrade));
	assert_true(RUN_UNTIL(t, (wst_raw_pump(&r), strstr(r.b, "\r\n\r\n") != NULL), 3000));
	p = strstr(r.b, "\r\n\r\n") + 4;
	wst_raw_send(r.fd, frames, sizeof(frames));
	assert_true(RUN_UNTIL(t, x->srv[0].ntext == 1, 3000));
	assert_string_equal(t->srv[0].last, "hello");
	/* pong "p" then the echo "hello", unmasked from the server */
	assert_true(RUN_UNTIL(t, (wst_raw_pump(&r), r.b + r.n >= p + 3 + 7), 3000));
	assert_memory_equal(p, "\x8a\x01p", 3);
	assert_memory_equal(p + 3, "\x81\x05hello", 7);
	close(r.fd);
	assert_true(RUN_UNTIL(t, x->srv[0].closed == 1, 3000));
	assert_int_equal(t->srv[0].code, 1006); /* TCP dropped without a close frame */
	wst_free(t);
}

/* Clients offering a subprotocol (browsers, some Twilio-like tools) and
 * odd request details must still be served. */
static void test_subprotocol_offered(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	wst_rawbuf r = { .fd = wst_raw_connect(t->port) };
	const char *rq = "GET /sp?q=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
			 "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			 "Sec-WebSocket-Protocol: audio.twilio.com, other\r\nSec-WebSocket-Version: 13\r\n\r\n";

	wst_raw_send(r.fd, rq, strlen(rq));
	assert_true(RUN_UNTIL(t, (wst_raw_pump(&r), strstr(r.b, "\r\n\r\n") != NULL || r.eof), 3000));
	assert_non_null(strstr(r.b, " 101 "));
	/* we echo the first subprotocol offered, as RFC 6455 clients expect */
	assert_non_null(strstr(r.b, "Sec-WebSocket-Protocol: audio.twilio.com\r\n"));
	assert_string_equal(t->path, "/sp");
	{
		const unsigned char f[] = { 0x81, 0x82, 0, 0, 0, 0, 'h', 'i' };
		char *p = strstr(r.b, "\r\n\r\n") + 4;

		wst_raw_send(r.fd, f, sizeof(f));
		assert_true(RUN_UNTIL(t, (wst_raw_pump(&r), r.b + r.n >= p + 4), 3000));
		assert_memory_equal(p, "\x81\x02hi", 4);
	}
	/* our own client (no subprotocol) still binds after the alias changed */
	assert_int_equal(wst_connect(t, 0, "/", NULL), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].opened == 1, 3000));
	close(r.fd);
	wst_free(t);
}

/* ping_interval_s: an idle peer is pinged; one that never answers is
 * dropped after twice the interval, one that answers (lws does) stays. */
static void test_keepalive_ping(void **state)
{
	(void)state;
	ws_opts o = { .ping_interval_s = 1 };
	wst *t = wst_new(&o);
	wst_rawbuf r = { .fd = wst_raw_connect(t->port) };
	uint64_t t0;
	char *p;

	assert_int_equal(wst_connect(t, 0, "/pong", NULL), 0); /* answers pings */
	wst_raw_send(r.fd, wst_raw_upgrade, strlen(wst_raw_upgrade));
	assert_true(RUN_UNTIL(t, (wst_raw_pump(&r), strstr(r.b, "\r\n\r\n") != NULL), 3000));
	assert_true(RUN_UNTIL(t, x->cli[0].opened == 1 && x->nsrv == 2, 3000));
	p = strstr(r.b, "\r\n\r\n") + 4;
	t0 = uv_hrtime();
	assert_true(RUN_UNTIL(t, (wst_raw_pump(&r), r.b + r.n >= p + 2), 3000));
	assert_int_equal((unsigned char)p[0], 0x89); /* a ping */
	/* the silent raw peer is dropped, the answering client stays */
	assert_true(RUN_UNTIL(t, ({ bool dead = false;
		for (int i = 0; i < x->nsrv; i++) dead = dead || x->srv[i].closed; dead; }), 5000));
	assert_true(uv_hrtime() - t0 < 4000000000ull);
	assert_int_equal(t->cli[0].closed, 0);
	assert_true(!RUN_UNTIL(t, x->cli[0].closed, 1500));
	close(r.fd);
	wst_free(t);
}

/* Hostile peers: garbage instead of HTTP, oversized headers, protocol
 * violations after the upgrade. Nothing crashes; every accepted
 * connection gets exactly one close_h; the loop still closes clean. */
static void test_hostile_input(void **state)
{
	(void)state;
	ws_opts o = { .max_message = 64 * 1024 };
	wst *t = wst_new(&o);
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
		wst_rawbuf r = { .fd = wst_raw_connect(t->port) };

		wst_raw_send(r.fd, "\x16\x03\x01\x02\x00\x01\x00\xff garbage\r\n\r\n", 20);
		assert_true(RUN_UNTIL(t, wst_raw_pump(&r), 3000));
		close(r.fd);
	}
	{
		wst_rawbuf r = { .fd = wst_raw_connect(t->port) };
		int n = snprintf(big, 20000, "GET /x HTTP/1.1\r\nHost: a\r\nX-Big: ");

		memset(big + n, 'a', 19000 - n);
		memcpy(big + 19000, "\r\n\r\n", 4);
		send(r.fd, big, 19004, MSG_NOSIGNAL); /* may fail midway: the server hung up */
		assert_true(RUN_UNTIL(t, wst_raw_pump(&r), 3000));
		close(r.fd);
	}
	assert_int_equal(t->accepts, 0);

	/* protocol violations after a good upgrade */
	for (int i = 0; i < nbad; i++) {
		wst_rawbuf r = { .fd = wst_raw_connect(t->port) };

		wst_raw_send(r.fd, wst_raw_upgrade, strlen(wst_raw_upgrade));
		assert_true(RUN_UNTIL(t, (wst_raw_pump(&r), strstr(r.b, "\r\n\r\n") != NULL), 3000));
		wst_raw_send(r.fd, bad_frames[i], bad_len[i]);
		if (i == 1) /* a huge length alone just waits: the payload trips 1009 */
			send(r.fd, big, 20000, MSG_NOSIGNAL), send(r.fd, big, 20000, MSG_NOSIGNAL),
			send(r.fd, big, 20000, MSG_NOSIGNAL), send(r.fd, big, 20000, MSG_NOSIGNAL);
		{
			size_t hl = (size_t)(strstr(r.b, "\r\n\r\n") + 4 - r.b);

			/* the server answers with a close frame or hangs up */
			assert_true(RUN_UNTIL(t, wst_raw_pump(&r) || r.n > hl, 3000));
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
	wst_free(t);
}

/* socket() failing inside lws_client_connect_via_info (EMFILE) makes lws
 * call back synchronously: the conn must survive until ws_connect returns,
 * then exactly one outcome (an error return, or one close_h). */
static void test_connect_emfile(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	int port, lfd = wst_listen_plain(&port);
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
	rc = ws_connect(t->ctx, url, NULL, &wst_cli_h, &t->cli[0], &t->cli[0].c);
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
	wst_free(t);
}

static void test_plain_http_404(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	wst_rawbuf r = { .fd = wst_raw_connect(t->port) };
	const char *rq = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

	wst_raw_send(r.fd, rq, strlen(rq));
	assert_true(RUN_UNTIL(t, (wst_raw_pump(&r), strstr(r.b, "\r\n") != NULL), 3000));
	assert_memory_equal(r.b, "HTTP/1.1 404", 12);
	assert_int_equal(t->accepts, 0);
	close(r.fd);
	wst_free(t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_emfile),
		cmocka_unit_test(test_too_big_1009),
		cmocka_unit_test(test_no_data_after_close),
		cmocka_unit_test(test_binary_refused_1003),
		cmocka_unit_test(test_plain_http_404),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_fragmented_and_ping),
		cmocka_unit_test(test_subprotocol_offered),
		cmocka_unit_test(test_keepalive_ping),
		cmocka_unit_test(test_hostile_input),
	};

	log_init("test_ws_hostile");
	if (argc > 1) /* run one test by name pattern */
		cmocka_set_test_filter(argv[1]);
	if (getenv("WS_DEBUG"))
		log_set_level(LOGL_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
