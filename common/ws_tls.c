/* ws_tls: TLS for our wss:// clients, done with OpenSSL over two memory
 * BIOs between lws's raw socket role and ws_craw. Why not lws's TLS:
 * lws 4.1.6 starts TLS on a raw-role client before its socket exists
 * (core-net/connect.c, "RAW" branch), so wss:// could only use lws's ws
 * role and its per-byte client parser. Here lws moves ciphertext only;
 * ws_craw sees plaintext (handshake, ws_rxp frames) as on ws://.
 *
 * Ownership: one client SSL_CTX per ws_ctx (ctx->tls_ctx), made at the
 * first wss:// connect, freed by ws_ctx_teardown; one ws_tls per wss://
 * conn (c->tls), freed by ws_conn_free with the conn's other buffers.
 * Writes: a memory BIO never blocks, so SSL_write always takes the whole
 * batch and the ciphertext leaves in one lws_write (lws buffers what the
 * socket does not take, as for ws://). */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "err.h"
#include "log.h"
#include "ws_int.h"

#define WS_TLS_RD 16384 /* plaintext per SSL_read: one TLS record */

struct ws_tls {
	SSL *ssl;           /* owns rb and wb */
	BIO *rb;            /* ciphertext from the socket */
	BIO *wb;            /* ciphertext for the socket */
	unsigned char *out; /* LWS_PRE + ciphertext for one lws_write */
	size_t out_cap;
	bool up;            /* the first handshake is done (later ones: none) */
};

/* "http/1.1" as ALPN wire format: the frames are ours, no h2 */
static const unsigned char ws_tls_alpn[] = "\x08http/1.1";

/* Errors other code on this thread left queued (libcurl's OpenSSL, the
 * HMAC of tsig...) would make SSL_get_error report a failure: drop them
 * before an SSL call. ERR_peek_error is cheap; ERR_clear_error costs
 * ~800 instructions in OpenSSL 3, too much per message. */
static void ws_tls_err_reset(void)
{
	if (ERR_peek_error())
		ERR_clear_error();
}

/* The latest queued OpenSSL error as text (the queue is then cleared). */
static const char *ws_tls_err(char *buf, size_t cap)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	if (r)
		snprintf(buf, cap, "%s", r);
	else if (e)
		snprintf(buf, cap, "error 0x%lx", e);
	else
		snprintf(buf, cap, "unknown error");
	ERR_clear_error();
	return buf;
}

/* The client SSL_CTX, kept in ctx once its CA store loaded. One made
 * with an unreadable store (*owned set) serves this connection only, so
 * a store fixed later is picked up at the next connect. */
static SSL_CTX *ws_tls_ctx(ws_ctx *ctx, bool *owned)
{
	SSL_CTX *sc;

	*owned = false;
	if (ctx->tls_ctx)
		return ctx->tls_ctx;
	sc = SSL_CTX_new(TLS_client_method());
	if (!sc)
		return NULL;
	if (!SSL_CTX_set_min_proto_version(sc, TLS1_2_VERSION) ||
	    SSL_CTX_set_alpn_protos(sc, ws_tls_alpn, sizeof(ws_tls_alpn) - 1)) {
		SSL_CTX_free(sc);
		return NULL;
	}
	SSL_CTX_set_verify(sc, SSL_VERIFY_PEER, NULL);
	/* a TLS 1.2 server's HelloRequest is refused (a no_renegotiation
	 * warning): a second handshake mid-stream has no use here */
	SSL_CTX_set_options(sc, SSL_OP_NO_RENEGOTIATION);
	/* all ciphertext is already in memory: let the record layer take
	 * what the read BIO holds in one go instead of header then body */
	SSL_CTX_set_read_ahead(sc, 1);
	/* An unreadable store leaves the CTX trusting nothing: this
	 * wss:// then fails verification, with this line saying why. */
	if (access(ctx->ca_file, R_OK) != 0 ||
	    SSL_CTX_load_verify_locations(sc, ctx->ca_file, NULL) != 1) {
		ERR_clear_error();
		log_warn("-", "ws: CA file %s unreadable: wss:// will fail", ctx->ca_file);
		*owned = true;
		return sc;
	}
	ctx->tls_ctx = sc;
	return sc;
}

void ws_tls_ctx_free(ws_ctx *ctx)
{
	SSL_CTX_free(ctx->tls_ctx);
	ctx->tls_ctx = NULL;
}

void ws_tls_free(ws_conn *c)
{
	if (!c->tls)
		return;
	SSL_free(c->tls->ssl);
	free(c->tls->out);
	free(c->tls);
	c->tls = NULL;
}

int ws_tls_new(ws_conn *c, const char *host)
{
	unsigned char ip[sizeof(struct in6_addr)];
	bool literal = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
	bool owned;
	SSL_CTX *sc = ws_tls_ctx(c->ctx, &owned);
	ws_tls *t;
	int ret = -ENOMEM;

	if (!sc)
		return -ENOMEM;
	t = calloc(1, sizeof(*t));
	if (t) {
		c->tls = t;
		t->ssl = SSL_new(sc); /* holds its own reference to sc */
	}
	if (owned)
		SSL_CTX_free(sc);
	if (!t)
		return -ENOMEM;
	t->rb = BIO_new(BIO_s_mem());
	t->wb = BIO_new(BIO_s_mem());
	if (!t->ssl || !t->rb || !t->wb) {
		BIO_free(t->rb);
		BIO_free(t->wb);
		goto out;
	}
	/* an empty read BIO means "wait for more", not EOF */
	BIO_set_mem_eof_return(t->rb, -1);
	SSL_set_bio(t->ssl, t->rb, t->wb); /* the SSL owns both from here */
	SSL_set_connect_state(t->ssl);
	ret = -EINVAL;
	if (literal) { /* no SNI for addresses (RFC 6066 3); the cert names the IP */
		if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host))
			goto out;
	} else {
		SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (!SSL_set_tlsext_host_name(t->ssl, host) || !SSL_set1_host(t->ssl, host))
			goto out;
	}
	return 0;
out:
	ERR_clear_error();
	ws_tls_free(c);
	return ret;
}

/* Ciphertext waiting for the socket? */
static size_t ws_tls_pending(const ws_tls *t)
{
	return BIO_ctrl_pending(t->wb);
}

/* Everything the SSL produced, in one lws_write. */
int ws_tls_flush(ws_conn *c, struct lws *wsi)
{
	ws_tls *t = c->tls;
	size_t n = ws_tls_pending(t);
	int rd, w;

	if (!n)
		return 0;
	if (n > INT_MAX - LWS_PRE)
		return -1;
	if (t->out_cap < LWS_PRE + n) {
		unsigned char *b = realloc(t->out, LWS_PRE + n);

		if (!b)
			return -1;
		t->out = b;
		t->out_cap = LWS_PRE + n;
	}
	rd = BIO_read(t->wb, t->out + LWS_PRE, (int)n);
	if (rd <= 0)
		return -1;
	if ((size_t)rd > WS_TX_KEEP && !ws_tls_pending(t)) {
		/* a memory BIO keeps the largest buffer it ever held: after a
		 * burst, start the next writes on a fresh one */
		BIO *nb = BIO_new(BIO_s_mem());

		if (nb) {
			SSL_set0_wbio(t->ssl, nb); /* frees the old one */
			t->wb = nb;
		}
	}
	w = lws_write(wsi, t->out + LWS_PRE, (size_t)rd, LWS_WRITE_RAW);
	if (t->out_cap > LWS_PRE + WS_TX_KEEP) { /* a burst must not pin memory */
		free(t->out);
		t->out = NULL;
		t->out_cap = 0;
	}
	return w < 0 ? -1 : 0;
}

int ws_tls_write(ws_conn *c, struct lws *wsi, const unsigned char *p, size_t len)
{
	char e[96];

	if (!len)
		return 0;
	if (len > INT_MAX)
		return -1;
	ws_tls_err_reset(); /* the failure's reason must be this write's */
	if (SSL_write(c->tls->ssl, p, (int)len) != (int)len) {
		log_warn(c->log_id, "ws %s: TLS write failed: %s", c->peer, ws_tls_err(e, sizeof(e)));
		return -1;
	}
	return ws_tls_flush(c, wsi);
}

/* May SSL_write run now? Not before the handshake, nor while a TLS 1.3
 * post-handshake message (NewSessionTicket, KeyUpdate) is half read: it
 * would fail with WANT_READ. */
bool ws_tls_ready(const ws_conn *c)
{
	return SSL_is_init_finished(c->tls->ssl);
}

static int ws_tls_failed(ws_conn *c, struct lws *wsi, int ret);

/* The handshake's first flight (ClientHello), from RAW_CONNECTED. A
 * local failure (no usable version or cipher under the system's policy)
 * ends it now, with its reason, rather than at the connect timeout. */
int ws_tls_start(ws_conn *c, struct lws *wsi)
{
	int n;

	ws_tls_err_reset();
	n = SSL_do_handshake(c->tls->ssl); /* WANT_READ: the ClientHello is in wb */
	if (n != 1 && SSL_get_error(c->tls->ssl, n) != SSL_ERROR_WANT_READ)
		return ws_tls_failed(c, wsi, n);
	lws_callback_on_writable(wsi);
	return 0;
}

/* Something to write now: TLS output (e.g. the answer to a KeyUpdate),
 * or frames held back while a post-handshake message was half read. */
static void ws_tls_want_write(ws_conn *c, struct lws *wsi)
{
	if (ws_tls_pending(c->tls) || (!ws_txq_empty(&c->tx) && ws_tls_ready(c)))
		lws_callback_on_writable(wsi);
}

/* Why the handshake failed, into the close reason and one log line; the
 * alert OpenSSL made of it (unknown CA, bad certificate...) goes to the
 * server first, best effort, so its logs say why we left. */
static int ws_tls_failed(ws_conn *c, struct lws *wsi, int ret)
{
	char why[WS_CLOSE_REASON_MAX + 1], e[96];
	SSL *ssl = c->tls->ssl;
	long vr = SSL_get_verify_result(ssl);
	int err = SSL_get_error(ssl, ret);

	if (vr != X509_V_OK)
		snprintf(why, sizeof(why), "TLS: certificate verify failed: %s",
			 X509_verify_cert_error_string(vr));
	else if (err == SSL_ERROR_SSL)
		snprintf(why, sizeof(why), "TLS handshake failed: %s", ws_tls_err(e, sizeof(e)));
	else if (err == SSL_ERROR_ZERO_RETURN)
		snprintf(why, sizeof(why), "TLS handshake failed: peer closed");
	else
		snprintf(why, sizeof(why), "TLS handshake failed: error %d", err);
	ERR_clear_error();
	if (err != SSL_ERROR_SYSCALL && err != SSL_ERROR_ZERO_RETURN)
		(void)ws_tls_flush(c, wsi);
	if (!c->closing) /* not when we dropped it ourselves */
		log_warn(c->log_id, "ws %s: %s", c->peer, why);
	ws_conn_set_reason(c, 1006, why);
	c->closing = true;
	return -1;
}

/* Ciphertext in: finish the handshake, then every plaintext byte to
 * ws_craw (ws_rxp bounds what it keeps). -1 drops the socket. */
int ws_tls_rx(ws_conn *c, struct lws *wsi, const void *in, size_t len)
{
	unsigned char buf[WS_TLS_RD];
	SSL *ssl = c->tls->ssl;
	char e[96];
	int n;

	if (len > INT_MAX || BIO_write(c->tls->rb, in, (int)len) != (int)len) {
		ws_conn_set_reason(c, 1006, "out of memory");
		return -1;
	}
	if (!c->tls->up) { /* the one handshake; SSL_read drives later messages */
		ws_tls_err_reset();
		n = SSL_do_handshake(ssl);
		if (n != 1) {
			if (SSL_get_error(ssl, n) != SSL_ERROR_WANT_READ)
				return ws_tls_failed(c, wsi, n);
			if (ws_tls_pending(c->tls))
				lws_callback_on_writable(wsi);
			return 0;
		}
		c->tls->up = true;
		log_debug(c->log_id, "ws %s: %s up, %s", c->peer, SSL_get_version(ssl),
			  SSL_get_cipher_name(ssl));
		/* our Finished (if any) leaves with the upgrade request */
		lws_callback_on_writable(wsi);
	}
	for (;;) {
		ws_tls_err_reset(); /* ws_craw_rx ran callbacks since the last call */
		n = SSL_read(ssl, buf, sizeof(buf));
		if (n > 0) {
			if (ws_craw_rx(c, wsi, buf, (size_t)n) < 0)
				return -1;
			/* nothing left to decrypt: skip the SSL_read that would
			 * only say WANT_READ (it costs a pass through the record
			 * layer and the error queue, per message) */
			if (SSL_has_pending(ssl) || BIO_ctrl_pending(c->tls->rb))
				continue;
			ws_tls_want_write(c, wsi);
			return 0;
		}
		switch (SSL_get_error(ssl, n)) {
		case SSL_ERROR_WANT_READ:
			ws_tls_want_write(c, wsi);
			return 0;
		case SSL_ERROR_ZERO_RETURN: /* close_notify: as a TCP close */
			log_debug(c->log_id, "ws %s: TLS close_notify", c->peer);
			return -1;
		default: { /* a bad record, an alert: the stream is unusable */
			char why[WS_CLOSE_REASON_MAX + 1];

			snprintf(why, sizeof(why), "TLS error: %s", ws_tls_err(e, sizeof(e)));
			if (!c->closing)
				log_warn(c->log_id, "ws %s: %s", c->peer, why);
			ws_conn_set_reason(c, 1006, why);
			return -1;
		}
		}
	}
}
