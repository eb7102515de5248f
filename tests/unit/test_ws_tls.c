/* test_ws_tls: our wss:// client (ws_tls.c: OpenSSL over memory BIOs
 * under lws's raw role) against real TLS servers: an lws TLS WebSocket
 * echo server (TLS 1.3, and TLS 1.2 only) for data and closes both ways,
 * and a TLS peer driven here with OpenSSL for what lws would not do
 * (close_notify mid-session, garbage, a wrong or untrusted certificate).
 * Certificates are made with the openssl command (skipped without it).
 * Loopback, ephemeral ports only. */
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
#include <libwebsockets.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include "log.h"
#include "ws.h"
#include "wst.h"

static char dir[] = "/tmp/test_ws_tls_XXXXXX";
static char cert_good[96], key_good[96], cert_wrong[96], key_wrong[96];

/* ---- what our client saw ---- */
typedef struct cli {
	ws_conn *c;
	int opened, closed, code, nmsg;
	char reason[128];
	size_t bytes;
	bool order_bad;   /* a small message out of order */
	const unsigned char *big; /* expected big message */
	size_t big_len;
	int big_ok, big_bad;
	char last[64];
	bool poison; /* leave an OpenSSL error queued after each message, as
		      * other code on the loop's thread (libcurl...) may */
} cli;

static void cli_open(ws_conn *c, void *arg)
{
	(void)c;
	((cli *)arg)->opened++;
}

static void cli_text(ws_conn *c, const char *d, size_t n, void *arg)
{
	cli *k = arg;

	(void)c;
	k->bytes += n;
	if (k->big && n == k->big_len) {
		if (memcmp(d, k->big, n) == 0)
			k->big_ok++;
		else
			k->big_bad++;
	} else if (n > 6 && d[0] == 'm') { /* "m%05d" + padding */
		if (atoi(d + 1) != k->nmsg)
			k->order_bad = true;
		k->nmsg++;
	}
	snprintf(k->last, sizeof(k->last), "%.*s", (int)(n < 63 ? n : 63), d);
	if (k->poison)
		ERR_raise(ERR_LIB_SSL, SSL_R_SHUTDOWN_WHILE_IN_INIT);
}

static void cli_close(ws_conn *c, int code, const char *reason, void *arg)
{
	cli *k = arg;

	(void)c;
	k->closed++;
	k->code = code;
	snprintf(k->reason, sizeof(k->reason), "%s", reason);
	k->c = NULL;
}

static const ws_handlers cli_h = { cli_open, cli_text, NULL, cli_close };

/* ---- an lws TLS echo server (its own context on the test's loop) ---- */
typedef struct emsg {
	struct emsg *next;
	size_t len;
	unsigned char b[]; /* LWS_PRE + len */
} emsg;

static struct {
	unsigned char *rx;
	size_t rx_len;
	emsg *q, **qt;
	bool close_req;   /* "close" received: close 4001 once echoes are out */
	int msgs, peer_code, closed;
	size_t bytes;
} es;

static void es_reset(void)
{
	while (es.q) {
		emsg *m = es.q;

		es.q = m->next;
		free(m);
	}
	free(es.rx);
	memset(&es, 0, sizeof(es));
	es.qt = &es.q;
}

static int es_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		 size_t len)
{
	switch (reason) {
	case LWS_CALLBACK_RECEIVE:
		es.rx = realloc(es.rx, es.rx_len + len + 1);
		memcpy(es.rx + es.rx_len, in, len);
		es.rx_len += len;
		if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
			return 0;
		es.msgs++;
		es.bytes += es.rx_len;
		if (es.rx_len == 5 && !memcmp(es.rx, "close", 5)) {
			es.close_req = true;
		} else {
			emsg *m = malloc(sizeof(*m) + LWS_PRE + es.rx_len);

			m->next = NULL;
			m->len = es.rx_len;
			memcpy(m->b + LWS_PRE, es.rx, es.rx_len);
			*es.qt = m;
			es.qt = &m->next;
		}
		es.rx_len = 0;
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (es.q) {
			emsg *m = es.q;

			es.q = m->next;
			if (!es.q)
				es.qt = &es.q;
			lws_write(wsi, m->b + LWS_PRE, m->len, LWS_WRITE_TEXT);
			free(m);
			if (es.q || es.close_req)
				lws_callback_on_writable(wsi);
			return 0;
		}
		if (es.close_req) { /* lws's close frame (LWS_WRITE_CLOSE, 4): lws
				     * 4.1 sends none when WRITEABLE returns -1 */
			unsigned char b[LWS_PRE + 9];

			memcpy(b + LWS_PRE, "\x0f\xa1srv bye", 9);
			es.close_req = false;
			lws_write(wsi, b + LWS_PRE, 9, (enum lws_write_protocol)4);
		}
		return 0;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (len >= 2)
			es.peer_code = ((const unsigned char *)in)[0] << 8 |
				       ((const unsigned char *)in)[1];
		return 0;
	case LWS_CALLBACK_CLOSED:
		es.closed++;
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols es_protos[] = {
	{ .name = "tls-echo", .callback = es_cb, .rx_buffer_size = 4096 },
	{ 0 }
};

/* An lws context with one TLS vhost on 127.0.0.1; its port in *port. */
static struct lws_context *es_start(wst *t, const char *cert, const char *key, bool tls12,
				    int *port)
{
	struct lws_context_creation_info info;
	void *loops[1] = { &t->loop };
	struct lws_context *srv;
	struct lws_vhost *vh;

	es_reset();
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.foreign_loops = loops;
	srv = lws_create_context(&info);
	assert_non_null(srv);
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_DISABLE_IPV6;
	info.port = 0;
	info.iface = "127.0.0.1";
	info.protocols = es_protos;
	info.ssl_cert_filepath = cert;
	info.ssl_private_key_filepath = key;
	if (tls12)
		info.ssl_options_set = SSL_OP_NO_TLSv1_3;
	vh = lws_create_vhost(srv, &info);
	assert_non_null(vh);
	*port = lws_get_vhost_listen_port(vh);
	return srv;
}

static void es_stop(wst *t, struct lws_context *srv)
{
	lws_context_destroy(srv); /* foreign loop: two calls around a loop run */
	for (int i = 0; i < 50; i++)
		uv_run(&t->loop, UV_RUN_NOWAIT);
	lws_context_destroy(srv);
	es_reset();
}

/* A ws_ctx trusting ca (NULL: the system store). */
static ws_ctx *ctx_trusting(wst *t, const char *ca)
{
	ws_ctx *ctx;

	if (ca)
		setenv("SSL_CERT_FILE", ca, 1);
	assert_int_equal(ws_ctx_new(&ctx, &t->loop, NULL), 0);
	unsetenv("SSL_CERT_FILE");
	return ctx;
}

static void connect_to(ws_ctx *ctx, const char *host, int port, cli *k)
{
	char url[128];

	snprintf(url, sizeof(url), "wss://%s:%d/echo?token=x", host, port);
	assert_int_equal(ws_connect(ctx, url, NULL, &cli_h, k, &k->c), 0);
}

/* ---- tests ---- */

/* Data both ways over TLS 1.3 and TLS 1.2: a message sent before the
 * handshakes are done, one of 200 KB (many TLS records each way, a
 * partial write on our side), 300 small ones in order; then our close. */
static void echo_over(bool tls12)
{
	wst *t = wst_new(NULL);
	int port;
	struct lws_context *srv = es_start(t, cert_good, key_good, tls12, &port);
	ws_ctx *ctx = ctx_trusting(t, cert_good);
	cli k = { 0 };
	size_t big_len = 200 * 1024;
	unsigned char *big = malloc(big_len);
	char small[80];

	for (size_t i = 0; i < big_len; i++)
		big[i] = (unsigned char)('a' + (i * 7 + i / 251) % 26);
	k.big = big;
	k.big_len = big_len;
	connect_to(ctx, "localhost", port, &k);
	/* queued while TCP, TLS and the upgrade are under way */
	assert_int_equal(ws_send_text(k.c, "early", 5), 0);
	assert_true(RUN_UNTIL(t, k.opened == 1 && !strcmp(k.last, "early"), 5000));
	assert_memory_equal(ws_peer(k.c), "127.0.0.1:", 10);

	assert_int_equal(ws_send_text(k.c, (const char *)big, big_len), 0);
	assert_true(RUN_UNTIL(t, k.big_ok + k.big_bad == 1, 10000));
	assert_int_equal(k.big_ok, 1);
	assert_int_equal(es.bytes, 5 + big_len);

	ws_cork(k.c);
	for (int i = 0; i < 300; i++) {
		int n = snprintf(small, sizeof(small), "m%05d-%.*s", i, i % 60,
				 "0123456789012345678901234567890123456789012345678901234567890");

		assert_int_equal(ws_send_text(k.c, small, (size_t)n), 0);
		if (i == 149) { /* half of them in one corked batch */
			ws_uncork(k.c);
			assert_true(RUN_UNTIL(t, k.nmsg == 150, 5000));
		}
	}
	assert_true(RUN_UNTIL(t, k.nmsg == 300, 5000));
	assert_false(k.order_bad);
	assert_int_equal(es.msgs, 302);

	ws_close(k.c, 1000, "bye");
	assert_true(RUN_UNTIL(t, k.closed == 1 && es.closed == 1, 5000));
	assert_int_equal(k.code, 1000);
	assert_string_equal(k.reason, "bye");
	assert_int_equal(es.peer_code, 1000);
	assert_int_equal(k.opened, 1);

	ws_ctx_destroy(ctx);
	es_stop(t, srv);
	free(big);
	wst_free(t);
}

static void test_echo_tls13(void **state)
{
	(void)state;
	echo_over(false);
}

static void test_echo_tls12(void **state)
{
	(void)state;
	echo_over(true);
}

/* The lws TLS echo server (TLS 1.3), a ws_ctx trusting it, and our
 * client connected to it and open. */
static struct lws_context *open_over_tls(wst *t, ws_ctx **ctx, cli *k)
{
	int port;
	struct lws_context *srv = es_start(t, cert_good, key_good, false, &port);

	*ctx = ctx_trusting(t, cert_good);
	connect_to(*ctx, "localhost", port, k);
	assert_true(RUN_UNTIL(t, k->opened == 1, 5000));
	return srv;
}

/* The server closes (4001 "srv bye"): we see its code, it sees our echo. */
static void test_server_close(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	ws_ctx *ctx;
	cli k = { 0 };
	struct lws_context *srv = open_over_tls(t, &ctx, &k);

	assert_int_equal(ws_send_text(k.c, "one", 3), 0);
	assert_int_equal(ws_send_text(k.c, "close", 5), 0);
	assert_true(RUN_UNTIL(t, k.closed == 1 && es.closed == 1, 5000));
	assert_string_equal(k.last, "one");
	assert_int_equal(k.code, 4001);
	assert_string_equal(k.reason, "srv bye");

	ws_ctx_destroy(ctx);
	es_stop(t, srv);
	wst_free(t);
}

/* A CA file unreadable at the first wss:// connect (that one fails) and
 * put in place afterwards: the next connect on the same ws_ctx loads it
 * and succeeds, no restart needed. */
static void test_ca_file_appears(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	int port;
	struct lws_context *srv = es_start(t, cert_good, key_good, false, &port);
	char ca[128], cmd[320];
	ws_ctx *ctx;
	cli k1 = { 0 }, k2 = { 0 };

	snprintf(ca, sizeof(ca), "%s.later", cert_good);
	unlink(ca);
	ctx = ctx_trusting(t, ca);
	connect_to(ctx, "localhost", port, &k1);
	assert_true(RUN_UNTIL(t, k1.closed == 1, 5000));
	assert_int_equal(k1.opened, 0);
	if (!strstr(k1.reason, "certificate verify failed"))
		fail_msg("reason \"%s\"", k1.reason);
	snprintf(cmd, sizeof(cmd), "cp %s %s", cert_good, ca);
	assert_int_equal(system(cmd), 0);
	connect_to(ctx, "localhost", port, &k2);
	assert_true(RUN_UNTIL(t, k2.opened == 1, 5000));
	ws_ctx_destroy(ctx);
	assert_int_equal(k2.closed, 1);
	unlink(ca);
	es_stop(t, srv);
	wst_free(t);
}

/* ws_ctx_destroy with a live wss:// connection: our 1001 close frame goes
 * out through TLS before the socket is dropped; nothing leaks. */
static void test_destroy_live(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	ws_ctx *ctx;
	cli k = { 0 };
	struct lws_context *srv = open_over_tls(t, &ctx, &k);

	ws_ctx_destroy(ctx);
	assert_int_equal(k.closed, 1);
	assert_int_equal(k.code, 1001);
	assert_true(RUN_UNTIL(t, es.closed == 1, 5000));
	assert_int_equal(es.peer_code, 1001);
	es_stop(t, srv);
	wst_free(t);
}

/* ---- a TLS peer driven here: OpenSSL on an accepted socket ---- */
typedef struct tpeer {
	wst_peer p;
	SSL_CTX *sc;
	SSL *ssl;
	bool up, failed;
	char err[160]; /* OpenSSL's reason when the handshake failed */
	char in[8192];
	size_t n;
} tpeer;

static void tp_accept(wst *t, int lfd, tpeer *tp, const char *cert, const char *key)
{
	memset(tp, 0, sizeof(*tp));
	assert_int_equal(wst_peer_accept(t, lfd, &tp->p, 5000), 0);
	if (!cert)
		return; /* plain TCP */
	tp->sc = SSL_CTX_new(TLS_server_method());
	assert_non_null(tp->sc);
	assert_int_equal(SSL_CTX_use_certificate_chain_file(tp->sc, cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(tp->sc, key, SSL_FILETYPE_PEM), 1);
	tp->ssl = SSL_new(tp->sc);
	SSL_set_fd(tp->ssl, tp->p.fd);
	SSL_set_accept_state(tp->ssl);
}

/* Drives the server side of the handshake: true once it is done or failed. */
static bool tp_handshake(tpeer *tp)
{
	int r;

	if (tp->up || tp->failed)
		return true;
	ERR_clear_error();
	r = SSL_do_handshake(tp->ssl);
	if (r == 1)
		tp->up = true;
	else if (SSL_get_error(tp->ssl, r) != SSL_ERROR_WANT_READ &&
		 SSL_get_error(tp->ssl, r) != SSL_ERROR_WANT_WRITE) {
		tp->failed = true;
		ERR_error_string_n(ERR_peek_error(), tp->err, sizeof(tp->err));
	}
	ERR_clear_error();
	return tp->up || tp->failed;
}

/* Plaintext from the client: true once the upgrade request is complete. */
static bool tp_request(tpeer *tp)
{
	int r;

	if (!tp_handshake(tp) || tp->failed)
		return tp->failed;
	r = SSL_read(tp->ssl, tp->in + tp->n, (int)(sizeof(tp->in) - 1 - tp->n));
	if (r > 0)
		tp->n += (size_t)r;
	ERR_clear_error();
	tp->in[tp->n] = '\0';
	return strstr(tp->in, "\r\n\r\n") != NULL;
}

static void tp_send(tpeer *tp, const void *b, size_t n)
{
	assert_int_equal(SSL_write(tp->ssl, b, (int)n), (int)n);
}

static void tp_free(tpeer *tp)
{
	SSL_free(tp->ssl);
	SSL_CTX_free(tp->sc);
	wst_peer_close(&tp->p);
	free(tp->p.b);
}

/* Handshake + upgrade with the peer, answered 101 (key from the request). */
static void tp_upgrade(wst *t, tpeer *tp, cli *k)
{
	char ans[256], key[64] = "";
	const char *h;

	assert_true(RUN_UNTIL(t, tp_request(tp), 5000));
	assert_false(tp->failed);
	assert_memory_equal(tp->in, "GET /echo?token=x HTTP/1.1\r\n", 28);
	h = strstr(tp->in, "Sec-WebSocket-Key: ");
	assert_non_null(h);
	sscanf(h + 19, "%63[^\r]", key);
	tp_send(tp, ans, wst_101(ans, sizeof(ans), key));
	assert_true(RUN_UNTIL(t, k->opened == 1, 5000));
}

/* Plaintext from the client until at least want bytes are in tp->in. */
static bool tp_read(tpeer *tp, size_t want)
{
	int r = SSL_read(tp->ssl, tp->in + tp->n, (int)(sizeof(tp->in) - 1 - tp->n));

	if (r > 0)
		tp->n += (size_t)r;
	ERR_clear_error();
	return tp->n >= want;
}

/* Mid-session TLS 1.3 traffic the connection must ride through:
 * - a KeyUpdate from the server asking for ours: the message after it
 *   arrives, and our next message reaches the server under our new keys;
 * - an OpenSSL error that other code on the thread left queued from a
 *   callback (cli_text here) while a 40 KB message arrives in partial
 *   records: SSL_get_error must not read it as this connection's. */
static void test_keyupdate_stale_errors(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	int port, lfd = wst_listen_plain(&port);
	ws_ctx *ctx = ctx_trusting(t, cert_good);
	cli k = { 0 };
	tpeer tp;
	unsigned char fr[64], *big, *bigfr;
	size_t big_len = 40 * 1024, n;

	connect_to(ctx, "localhost", port, &k);
	tp_accept(t, lfd, &tp, cert_good, key_good);
	tp_upgrade(t, &tp, &k);

	assert_int_equal(SSL_key_update(tp.ssl, SSL_KEY_UPDATE_REQUESTED), 1);
	tp_send(&tp, fr, wst_frame_build(fr, 0x81, "k1", 2, NULL));
	assert_true(RUN_UNTIL(t, !strcmp(k.last, "k1"), 5000));
	assert_int_equal(ws_send_text(k.c, "ack", 3), 0);
	tp.n = 0;
	assert_true(RUN_UNTIL(t, tp_read(&tp, 2 + 4 + 3), 5000));
	assert_int_equal((unsigned char)tp.in[0], 0x81);
	assert_int_equal((unsigned char)tp.in[1], 0x80 | 3);
	for (int i = 0; i < 3; i++)
		tp.in[6 + i] = (char)(tp.in[6 + i] ^ tp.in[2 + i % 4]);
	assert_memory_equal(tp.in + 6, "ack", 3);

	big = malloc(big_len);
	bigfr = malloc(big_len + 16);
	assert_non_null(big);
	assert_non_null(bigfr);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (unsigned char)('a' + i % 26);
	k.big = big;
	k.big_len = big_len;
	k.poison = true;
	tp_send(&tp, fr, wst_frame_build(fr, 0x81, "p1", 2, NULL));
	assert_true(RUN_UNTIL(t, !strcmp(k.last, "p1"), 5000));
	n = wst_frame_build(bigfr, 0x81, big, big_len, NULL);
	tp_send(&tp, bigfr, n);
	assert_true(RUN_UNTIL(t, k.big_ok + k.big_bad + k.closed > 0, 5000));
	assert_int_equal(k.closed, 0);
	assert_int_equal(k.big_ok, 1);
	k.poison = false;
	ERR_clear_error();
	assert_int_equal(ws_send_text(k.c, "still", 5), 0);
	tp.n = 0;
	assert_true(RUN_UNTIL(t, tp_read(&tp, 2 + 4 + 5), 5000));

	free(big);
	free(bigfr);
	ws_ctx_destroy(ctx);
	tp_free(&tp);
	close(lfd);
	wst_free(t);
}

/* Certificates refused: another name, an IP the cert does not name, a
 * self-signed cert the store does not hold, an unreadable CA file. The
 * reason says why; the connection never opens. */
static void test_refused(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	struct {
		const char *ca, *cert, *key, *host, *why;
	} cases[] = {
		{ "/nonexistent/ca.pem", cert_good, key_good, "localhost",
		  "self-signed certificate" },
		{ cert_wrong, cert_wrong, key_wrong, "localhost", "hostname mismatch" },
		{ cert_good, cert_good, key_good, "127.0.0.1", "IP address mismatch" },
		{ NULL, cert_good, key_good, "localhost", "self-signed certificate" },
	};

	ws_ctx *ctx[4];

	/* all made before any is destroyed: lws 4.1 on a foreign loop closes
	 * a destroyed context's event fd a second time when it finishes, so a
	 * context made meanwhile could lose the fd that number now names */
	for (size_t i = 0; i < 4; i++)
		ctx[i] = ctx_trusting(t, cases[i].ca);
	for (size_t i = 0; i < 4; i++) {
		int port, lfd = wst_listen_plain(&port);
		cli k = { 0 };
		tpeer tp;
		char want[96];

		connect_to(ctx[i], cases[i].host, port, &k);
		tp_accept(t, lfd, &tp, cases[i].cert, cases[i].key);
		assert_true(RUN_UNTIL(t, (tp_handshake(&tp), k.closed == 1), 5000));
		assert_int_equal(k.opened, 0);
		assert_int_equal(k.code, 1006);
		snprintf(want, sizeof(want), "certificate verify failed: %s", cases[i].why);
		if (!strstr(k.reason, want))
			fail_msg("case %zu: reason \"%s\", want \"%s\"", i, k.reason, want);
		/* the peer got our alert (not just EOF), never a finished handshake */
		assert_true(RUN_UNTIL(t, tp_handshake(&tp), 2000));
		assert_false(tp.up);
		if (!strstr(tp.err, "alert"))
			fail_msg("case %zu: the server saw \"%s\", not our alert", i, tp.err);
		tp_free(&tp);
		close(lfd);
	}
	for (size_t i = 0; i < 4; i++)
		ws_ctx_destroy(ctx[i]);
	wst_free(t);
}

/* Our client connecting to a plain listener, once its ClientHello (the
 * first bytes of a TLS handshake record) has arrived there. */
typedef struct hello {
	wst *t;
	int port, lfd;
	ws_ctx *ctx;
	cli k;
	tpeer tp;
} hello;

static void hello_start(hello *h)
{
	memset(h, 0, sizeof(*h));
	h->t = wst_new(NULL);
	h->lfd = wst_listen_plain(&h->port);
	h->ctx = ctx_trusting(h->t, cert_good);
	connect_to(h->ctx, "localhost", h->port, &h->k);
	tp_accept(h->t, h->lfd, &h->tp, NULL, NULL);
	assert_true(RUN_UNTIL(h->t, (wst_peer_pump(&h->tp.p), h->tp.p.n >= 5), 5000));
	assert_int_equal(h->tp.p.b[0], 0x16); /* a TLS handshake record */
}

static void hello_end(hello *h)
{
	tp_free(&h->tp);
	close(h->lfd);
	ws_ctx_destroy(h->ctx);
	wst_free(h->t);
}

/* A server that drops the TCP connection once our ClientHello is in. */
static void test_close_mid_handshake(void **state)
{
	(void)state;
	hello h;

	hello_start(&h);
	wst_peer_close(&h.tp.p);
	assert_true(RUN_UNTIL(h.t, h.k.closed == 1, 5000));
	assert_int_equal(h.k.opened, 0);
	assert_int_equal(h.k.code, 1006);
	hello_end(&h);
}

/* A server speaking plain HTTP instead of TLS: a clear reason, no crash. */
static void test_garbage_not_tls(void **state)
{
	(void)state;
	hello h;
	const char *junk = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";

	hello_start(&h);
	assert_int_equal(wst_peer_send(h.t, &h.tp.p, junk, strlen(junk)), 0);
	assert_true(RUN_UNTIL(h.t, h.k.closed == 1, 5000));
	assert_int_equal(h.k.opened, 0);
	assert_int_equal(h.k.code, 1006);
	if (!strstr(h.k.reason, "TLS handshake failed: "))
		fail_msg("reason \"%s\"", h.k.reason);
	hello_end(&h);
}

/* Mid-session: the peer's close_notify ends the connection like a TCP
 * close (1006) after the data before it; a corrupt record likewise, with
 * "TLS error" as the reason. */
static void test_close_notify_and_bad_record(void **state)
{
	(void)state;
	wst *t = wst_new(NULL);
	unsigned char fr[64];
	ws_ctx *ctx = ctx_trusting(t, cert_good);

	for (int round = 0; round < 2; round++) {
		int port, lfd = wst_listen_plain(&port);
		cli k = { 0 };
		tpeer tp;

		connect_to(ctx, "localhost", port, &k);
		tp_accept(t, lfd, &tp, cert_good, key_good);
		tp_upgrade(t, &tp, &k);
		tp_send(&tp, fr, wst_frame_build(fr, 0x81, "hi", 2, NULL));
		assert_true(RUN_UNTIL(t, !strcmp(k.last, "hi"), 5000));
		if (round == 0) {
			assert_int_equal(SSL_shutdown(tp.ssl), 0); /* close_notify sent */
		} else {
			/* an application-data record with a bad MAC */
			static const unsigned char bad[] = { 0x17, 0x03, 0x03, 0x00, 0x20,
				1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

			assert_int_equal(wst_peer_send(t, &tp.p, bad, sizeof(bad)), 0);
		}
		assert_true(RUN_UNTIL(t, k.closed == 1, 5000));
		assert_int_equal(k.opened, 1);
		assert_int_equal(k.code, 1006);
		if (round == 1 && !strstr(k.reason, "TLS error"))
			fail_msg("reason \"%s\"", k.reason);
		tp_free(&tp);
		close(lfd);
	}
	ws_ctx_destroy(ctx);
	wst_free(t);
}

/* ws_close while the TLS handshake is under way: dropped at once. */
static void test_close_while_tls_handshake(void **state)
{
	(void)state;
	hello h;

	hello_start(&h);
	ws_close(h.k.c, 1000, "never mind");
	assert_true(RUN_UNTIL(h.t, h.k.closed == 1, 2000));
	assert_int_equal(h.k.opened, 0);
	assert_int_equal(h.k.code, 1000);
	assert_string_equal(h.k.reason, "closed while connecting");
	assert_true(RUN_UNTIL(h.t, wst_peer_pump(&h.tp.p), 2000)); /* socket dropped */
	hello_end(&h);
}

static int make_cert(const char *cn, const char *cert, const char *key)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 1 "
		 "-subj /CN=%s -addext subjectAltName=DNS:%s 2>/dev/null",
		 key, cert, cn, cn);
	return system(cmd) == 0 ? 0 : -1;
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(cert_good, sizeof(cert_good), "%s/good.pem", dir);
	snprintf(key_good, sizeof(key_good), "%s/good.key", dir);
	snprintf(cert_wrong, sizeof(cert_wrong), "%s/wrong.pem", dir);
	snprintf(key_wrong, sizeof(key_wrong), "%s/wrong.key", dir);
	if (make_cert("localhost", cert_good, key_good) ||
	    make_cert("wrong.example", cert_wrong, key_wrong))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(cert_good);
	unlink(key_good);
	unlink(cert_wrong);
	unlink(key_wrong);
	rmdir(dir);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_tls13),
		cmocka_unit_test(test_echo_tls12),
		cmocka_unit_test(test_server_close),
		cmocka_unit_test(test_destroy_live),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_close_mid_handshake),
		cmocka_unit_test(test_garbage_not_tls),
		cmocka_unit_test(test_close_notify_and_bad_record),
		cmocka_unit_test(test_close_while_tls_handshake),
		cmocka_unit_test(test_keyupdate_stale_errors),
		cmocka_unit_test(test_ca_file_appears),
	};

	log_init("test_ws_tls");
	if (system("openssl version >/dev/null 2>&1") != 0) {
		fprintf(stderr, "openssl command not found\n");
		return 77;
	}
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	if (getenv("WS_DEBUG"))
		log_set_level(LOGL_DEBUG);
	return cmocka_run_group_tests(tests, setup, teardown);
}
