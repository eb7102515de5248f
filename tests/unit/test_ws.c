/* test_ws: ws client and server against each other on one libuv loop:
 * connecting (headers, DNS, IPv6, adoption, refusals, timeouts; TLS is
 * test_ws_tls),
 * accepting, closing from anywhere, and destroying contexts. Sending is in
 * test_ws_send, hostile peers and limits in test_ws_hostile; the shared
 * harness is tests/lib/wst.c. Loopback, ephemeral ports only. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <libwebsockets.h>
#include "err.h"
#include "log.h"
#include "ws.h"
#include "wst.h"

static void test_echo_headers_close(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	const char *hdrs[] = { "Authorization: Bearer sk-test", "X-Twilio-Signature: c2ln+/=", NULL };

	assert_int_equal(wst_connect(t, 0, "/media-stream?a=1&b=two", hdrs), 0);
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
		assert_int_equal(wst_connect(t, 1, "/", NULL), 0);
		assert_true(RUN_UNTIL(t, x->cli[1].opened == 1, 3000));
		ws_close(t->cli[1].c, 1000, lr);
		assert_true(RUN_UNTIL(t, x->srv[1].closed == 1, 3000));
		assert_int_equal(strlen(t->srv[1].reason), 122);
		assert_memory_equal(t->srv[1].reason, lr, 122);
	}
	wst_free(t);
}

static void test_refusal_status(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	wst_rawbuf r;

	t->accept_status = 403;
	assert_int_equal(wst_connect(t, 0, "/media-stream", NULL), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].closed == 1, 3000));
	assert_int_equal(t->cli[0].opened, 0);
	assert_int_equal(t->cli[0].code, 1006);
	assert_non_null(strstr(t->cli[0].reason, "403"));

	t->accept_status = 503;
	r = (wst_rawbuf){ .fd = wst_raw_connect(t->port) };
	wst_raw_send(r.fd, wst_raw_upgrade, strlen(wst_raw_upgrade));
	assert_true(RUN_UNTIL(t, (wst_raw_pump(&r), strstr(r.b, "\r\n") != NULL), 3000));
	/* lws answers refusals as HTTP/1.0 */
	assert_memory_equal(r.b, "HTTP/1.", 7);
	assert_memory_equal(r.b + 8, " 503", 4);
	close(r.fd);
	assert_int_equal(t->accepts, 2);
	wst_free(t);
}

static void test_connect_refused(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	int port, fd = wst_listen_plain(&port);
	char url[64];
	uint64_t t0 = uv_hrtime();
	int rc;

	close(fd); /* nothing listens there now */
	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/x", port);
	rc = ws_connect(t->ctx, url, NULL, &wst_cli_h, &t->cli[0], &t->cli[0].c);
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
	assert_int_equal(ws_connect(t->ctx, "http://x/", NULL, &wst_cli_h, NULL, NULL), -EINVAL);
	assert_int_equal(ws_connect(t->ctx, "ws://:80/", NULL, &wst_cli_h, NULL, NULL), -EINVAL);
	assert_int_equal(ws_connect(t->ctx, "ws://h:99999/", NULL, &wst_cli_h, NULL, NULL), -EINVAL);
	wst_free(t);
}

static void test_connect_timeout(void **state)
{
	(void)state;
	ws_opts o = { .connect_timeout_ms = 300 };
	wst *t = wst_new(&o);
	int port, fd = wst_listen_plain(&port); /* accepts TCP (backlog), never answers */
	char url[64];
	uint64_t t0 = uv_hrtime();

	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/x", port);
	assert_int_equal(ws_connect(t->ctx, url, NULL, &wst_cli_h, &t->cli[0], &t->cli[0].c), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].closed == 1, 3000));
	assert_int_equal(t->cli[0].code, 1006);
	assert_non_null(strstr(t->cli[0].reason, "timeout"));
	assert_true(uv_hrtime() - t0 < 1500000000ull);
	close(fd);
	wst_free(t);
}

static void test_adopt(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	int port, lfd = wst_listen_plain(&port), fd = -1;
	char url[64], peek[16];

	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/media-stream?via=adopt", port);
	assert_int_equal(ws_connect(t->ctx, url, NULL, &wst_cli_h, &t->cli[0], &t->cli[0].c), 0);
	assert_true(RUN_UNTIL(t, (fd = accept(lfd, NULL, NULL)) >= 0, 3000));
	/* like voiceproxy's acceptor: look at the request line, leave it unread */
	assert_true(RUN_UNTIL(t, recv(fd, peek, 4, MSG_PEEK | MSG_DONTWAIT) == 4, 3000));
	assert_memory_equal(peek, "GET ", 4);
	assert_int_equal(ws_adopt(t->ctx, fd, wst_accept, t), 0);
	{ /* Nagle off: small media events must not wait for an ACK */
		int v = 0;
		socklen_t vl = sizeof(v);

		assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &vl), 0);
		assert_int_equal(v, 1);
	}
	assert_true(RUN_UNTIL(t, x->cli[0].opened == 1, 3000));
	assert_string_equal(t->path, "/media-stream");
	assert_string_equal(t->query, "via=adopt");
	assert_int_equal(ws_send_text(t->cli[0].c, "adopted", 7), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].ntext == 1, 3000));
	assert_string_equal(t->cli[0].last, "adopted");
	close(lfd);
	wst_free(t);
	assert_int_equal(ws_adopt(NULL, 0, wst_accept, NULL), -EINVAL);
}

static void test_close_from_text_h(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);

	/* server closes from inside its text_h: server-initiated close */
	t->srv_close_in_text = true;
	t->srv_close_code = 4001;
	assert_int_equal(wst_connect(t, 0, "/", NULL), 0);
	assert_int_equal(ws_send_text(t->cli[0].c, "please close", 12), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].closed && x->srv[0].closed, 3000));
	assert_int_equal(t->cli[0].code, 4001);
	assert_string_equal(t->cli[0].reason, "server says bye");
	assert_int_equal(t->srv[0].code, 4001);

	/* client closes from inside its text_h */
	t->srv_close_in_text = false;
	t->cli_close_in_text = true;
	assert_int_equal(wst_connect(t, 1, "/", NULL), 0);
	assert_int_equal(ws_send_text(t->cli[1].c, "echo me", 7), 0);
	assert_true(RUN_UNTIL(t, x->cli[1].closed && x->srv[1].closed, 3000));
	assert_int_equal(t->srv[1].code, 4002);
	assert_string_equal(t->srv[1].reason, "client in text_h");
	assert_int_equal(t->cli[1].code, 4002);
	wst_free(t);
}

static void test_close_while_connecting(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);

	assert_int_equal(wst_connect(t, 0, "/", NULL), 0);
	ws_close(t->cli[0].c, 1000, "changed my mind");
	assert_true(RUN_UNTIL(t, x->cli[0].closed == 1, 3000));
	assert_int_equal(t->cli[0].opened, 0);
	assert_true(!RUN_UNTIL(t, x->cli[0].closed > 1 || x->cli[0].opened, 200));
	wst_free(t);
}

/* ws_close on a client still in its handshake (the server accepted TCP
 * but never answers the upgrade) ends at once, not at the connect
 * timeout: sipbridge closes such streams on SIP CANCEL and at shutdown. */
static void test_close_while_handshaking(void **state)
{
	(void)state;
	ws_opts o = { .connect_timeout_ms = 5000 };
	wst *t = wst_new(&o);
	int port, fd = wst_listen_plain(&port); /* accepts TCP (backlog), never answers */
	char url[64];
	uint64_t t0;

	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/stall", port);
	/* [0]: closed once the request is sent; [1]: closed right away */
	assert_int_equal(ws_connect(t->ctx, url, NULL, &wst_cli_h, &t->cli[0], &t->cli[0].c), 0);
	assert_true(!RUN_UNTIL(t, x->cli[0].closed, 100));
	assert_int_equal(ws_connect(t->ctx, url, NULL, &wst_cli_h, &t->cli[1], &t->cli[1].c), 0);
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
	wst_free(t);
}

static void test_destroy_live(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	int port, lfd = wst_listen_plain(&port);
	char url[64];

	for (int i = 0; i < 3; i++)
		assert_int_equal(wst_connect(t, i, "/", NULL), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].opened && x->cli[1].opened && x->cli[2].opened &&
				 x->nsrv == 3, 3000));
	/* plus one client still connecting (never answered) */
	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/x", port);
	assert_int_equal(ws_connect(t->ctx, url, NULL, &wst_cli_h, &t->cli[3], &t->cli[3].c), 0);
	ws_ctx_destroy(t->ctx);
	t->ctx = NULL;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(t->cli[i].closed, 1);
		assert_int_equal(t->srv[i].closed, 1);
	}
	assert_int_equal(t->cli[3].closed, 1);
	assert_int_equal(t->cli[0].code, 1001);
	close(lfd);
	wst_free(t);
}

/* Destroying the client's context: the server, elsewhere, sees a clean
 * close (queued messages first, then 1001), not a dropped TCP connection. */
static void test_destroy_says_goodbye(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	ws_ctx *cctx;
	char url[64];

	assert_int_equal(ws_ctx_new(&cctx, &t->loop, NULL), 0);
	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/bye", t->port);
	assert_int_equal(ws_connect(cctx, url, NULL, &wst_cli_h, &t->cli[0], &t->cli[0].c), 0);
	assert_int_equal(ws_connect(cctx, url, NULL, &wst_cli_h, &t->cli[1], &t->cli[1].c), 0);
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
	wst_free(t);
}

static void test_dns_localhost(void **state)
{
	(void)state;
	ws_opts o = { .connect_timeout_ms = 2000 };
	wst *t = wst_new(&o);
	char url[128];

	/* a name goes through uv_getaddrinfo (IPv4 preferred) */
	snprintf(url, sizeof(url), "ws://localhost:%d/dns?x=y", t->port);
	assert_int_equal(ws_connect(t->ctx, url, NULL, &wst_cli_h, &t->cli[0], &t->cli[0].c), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].opened == 1, 3000));
	assert_string_equal(t->path, "/dns");
	assert_int_equal(ws_send_text(t->cli[0].c, "via dns", 7), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].ntext == 1, 3000));
	assert_string_equal(t->cli[0].last, "via dns");

	/* closed while resolving: one close_h, later, never open */
	snprintf(url, sizeof(url), "ws://localhost:%d/", t->port);
	assert_int_equal(ws_connect(t->ctx, url, NULL, &wst_cli_h, &t->cli[1], &t->cli[1].c), 0);
	ws_close(t->cli[1].c, 1000, "not now");
	assert_int_equal(t->cli[1].closed, 0); /* async */
	assert_true(RUN_UNTIL(t, x->cli[1].closed == 1, 3000));
	assert_int_equal(t->cli[1].opened, 0);
	assert_int_equal(t->cli[1].code, 1000);

	/* a name that cannot resolve */
	assert_int_equal(ws_connect(t->ctx, "ws://no-such-host.invalid/", NULL, &wst_cli_h, &t->cli[2],
				    &t->cli[2].c), 0);
	assert_true(RUN_UNTIL(t, x->cli[2].closed == 1, 4000));
	assert_int_equal(t->cli[2].code, 1006);
	assert_int_equal(t->cli[2].opened, 0);

	/* destroyed while resolving: close_h from ws_ctx_destroy */
	assert_int_equal(ws_connect(t->ctx, url, NULL, &wst_cli_h, &t->cli[3], &t->cli[3].c), 0);
	ws_ctx_destroy(t->ctx);
	t->ctx = NULL;
	assert_int_equal(t->cli[3].closed, 1);
	assert_true(!RUN_UNTIL(t, x->cli[1].closed > 1 || x->cli[3].closed > 1, 100));
	wst_free(t);
}

static void test_listen_in_use(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	int b = 0;

	int port, fd = wst_listen_plain(&port);

	assert_int_equal(ws_listen(t->ctx, "127.0.0.1", t->port, wst_accept, t, &b), -EADDRINUSE);
	assert_int_equal(ws_listen(t->ctx, "127.0.0.1", port, wst_accept, t, &b), -EADDRINUSE);
	close(fd);
	assert_int_equal(ws_listen(t->ctx, "127.0.0.1", 0, NULL, t, &b), -EINVAL);
	wst_free(t);
}

static void test_calls_from_callbacks(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);

	/* a message queued in accept_h is the first thing the client gets */
	t->greet_in_accept = true;
	assert_int_equal(wst_connect(t, 0, "/", NULL), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].ntext == 1, 3000));
	assert_string_equal(t->cli[0].last, "welcome");

	/* greeting then ws_close in accept_h: message, then the close code */
	t->close_in_accept = true;
	assert_int_equal(wst_connect(t, 1, "/", NULL), 0);
	assert_true(RUN_UNTIL(t, x->cli[1].closed && x->srv[1].closed, 3000));
	assert_int_equal(t->cli[1].ntext, 1);
	assert_int_equal(t->cli[1].code, 4010);
	assert_string_equal(t->cli[1].reason, "accepted then closed");
	assert_int_equal(t->srv[1].code, 4010);

	/* ws_close from the client's open_h */
	t->greet_in_accept = t->close_in_accept = false;
	t->close_in_open = true;
	assert_int_equal(wst_connect(t, 2, "/", NULL), 0);
	assert_true(RUN_UNTIL(t, x->cli[2].closed && x->srv[2].closed, 3000));
	assert_int_equal(t->cli[2].opened, 1);
	assert_int_equal(t->srv[2].code, 4011);
	assert_int_equal(t->cli[2].code, 4011);
	wst_free(t);
}

static void test_ipv6_and_bad_urls(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	int port6 = 0;
	char url[96];

	/* URLs that would corrupt the request line are refused */
	assert_int_equal(ws_connect(t->ctx, "ws://127.0.0.1:1/a b", NULL, &wst_cli_h, NULL, NULL),
			 -EINVAL);
	assert_int_equal(ws_connect(t->ctx, "ws://127.0.0.1:1/a\r\nX: y", NULL, &wst_cli_h, NULL, NULL),
			 -EINVAL);
	{
		const char *bad[] = { "X-Bad: a\r\nX-Injected: b", NULL };

		assert_int_equal(ws_connect(t->ctx, "ws://127.0.0.1:1/", bad, &wst_cli_h, NULL, NULL),
				 -EINVAL);
	}
	/* Host header of our own client: host:port */
	assert_int_equal(wst_connect(t, 0, "/h", NULL), 0);
	assert_true(RUN_UNTIL(t, x->cli[0].opened == 1, 3000));
	snprintf(url, sizeof(url), "127.0.0.1:%d", t->port);
	assert_string_equal(t->host, url);

	if (ws_listen(t->ctx, "::1", 0, wst_accept, t, &port6) != 0) {
		wst_free(t);
		skip(); /* no IPv6 loopback here */
	}
	snprintf(url, sizeof(url), "ws://[::1]:%d/v6", port6);
	assert_int_equal(ws_connect(t->ctx, url, NULL, &wst_cli_h, &t->cli[1], &t->cli[1].c), 0);
	assert_true(RUN_UNTIL(t, x->cli[1].opened == 1, 3000));
	assert_string_equal(t->path, "/v6");
	snprintf(url, sizeof(url), "[::1]:%d", port6);
	assert_string_equal(t->host, url);
	assert_non_null(strstr(ws_peer(t->srv[1].c), "::1"));
	wst_free(t);
}

/* ws_ctx_destroy from inside a close_h or text_h (e.g. "last call ended,
 * shut down"): deferred to the loop, every close_h still runs once. */
static void test_destroy_from_callbacks(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	ws_ctx *c1, *c2;
	char url[64];

	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/d", t->port);
	assert_int_equal(ws_ctx_new(&c1, &t->loop, NULL), 0);
	assert_int_equal(ws_ctx_new(&c2, &t->loop, NULL), 0);
	/* c1's clients are accepted first: srv[0..1] are theirs */
	for (int i = 0; i < 2; i++)
		assert_int_equal(ws_connect(c1, url, NULL, &wst_cli_h, &t->cli[i], &t->cli[i].c), 0);
	assert_true(RUN_UNTIL(t, x->nsrv == 2 && x->cli[0].opened && x->cli[1].opened, 3000));
	for (int i = 2; i < 4; i++)
		assert_int_equal(ws_connect(c2, url, NULL, &wst_cli_h, &t->cli[i], &t->cli[i].c), 0);
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
	wst_free(t);
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
		ws_send_text(c, "pong", 4); /* server wst_side */
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
	wst *t = wst_new(NULL); /* a third context, alive throughout */
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
		assert_int_equal(x[i].closed, 2); /* client and server wst_side */
	}
	wst_free(t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_headers_close),
		cmocka_unit_test(test_refusal_status),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_connect_timeout),
		cmocka_unit_test(test_adopt),
		cmocka_unit_test(test_close_from_text_h),
		cmocka_unit_test(test_close_while_connecting),
		cmocka_unit_test(test_close_while_handshaking),
		cmocka_unit_test(test_destroy_live),
		cmocka_unit_test(test_destroy_says_goodbye),
		cmocka_unit_test(test_dns_localhost),
		cmocka_unit_test(test_listen_in_use),
		cmocka_unit_test(test_calls_from_callbacks),
		cmocka_unit_test(test_ipv6_and_bad_urls),
		cmocka_unit_test(test_destroy_from_callbacks),
		cmocka_unit_test(test_contexts_on_threads),
	};

	log_init("test_ws");
	if (argc > 1) /* run one test by name pattern */
		cmocka_set_test_filter(argv[1]);
	if (getenv("WS_DEBUG"))
		log_set_level(LOGL_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
