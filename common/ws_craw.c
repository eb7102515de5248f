/* ws_craw: our WebSocket clients (ws:// and wss://) on lws's raw socket
 * role. lws still does the TCP connect, partial writes and the loop; TLS
 * is ws_tls.c's (memory BIOs between lws and this file), the opening
 * handshake (ws_hs.c), the frames in (ws_rxp.c) and out (ws_txq.c), pong,
 * close and keepalive pings are ours. Why: lws 4.1's client parser takes
 * a state-machine step per payload byte, the largest cost in issue 7's
 * profile of both processes (every call has one or two clients). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "err.h"
#include "log.h"
#include "ws_int.h"

/* A pong or ping (masked, as every client frame), after what is queued. */
static void ws_craw_queue_ctl(ws_conn *c, uint8_t op, const void *data, size_t len)
{
	uint8_t mask[4];

	if (c->closing || c->peer_closed || ws_ctx_mask(c->ctx, mask) < 0)
		return;
	/* control frames are tiny (<= 125 bytes): past max_queue's payload
	 * budget, the buffer's own bound still holds */
	size_t max = c->ctx->opts.max_queue;

	if (ws_txq_push_op(&c->tx, op, data, len, mask,
			   max > SIZE_MAX / 4 ? SIZE_MAX / 2 : 2 * max + WS_TXQ_SLACK))
		return;
	c->queued += len;
	ws_conn_kick(c);
}

static int ws_craw_frame(void *arg, enum ws_rxp_kind kind, unsigned char *data, size_t len)
{
	ws_conn *c = arg;
	bool live = !c->closing && !c->ctx->destroying;

	switch (kind) {
	case WS_RXP_TEXT:
		if (live && c->h.text_h)
			c->h.text_h(c, (const char *)data, len, c->arg);
		return 0;
	case WS_RXP_BINARY: /* ws_rxp refuses them when binary_h is NULL */
		if (live && c->h.binary_h)
			c->h.binary_h(c, data, len, c->arg);
		return 0;
	case WS_RXP_PING:
		ws_craw_queue_ctl(c, WS_OP_PONG, data, len);
		return 0;
	case WS_RXP_PONG: /* any input counts as life (last_rx_ms) */
		return 0;
	case WS_RXP_CLOSE:
		if (ws_conn_peer_close(c, data, len))
			return -1; /* the answer to our close frame: drop the socket */
		/* echo it from WRITEABLE (ws_conn_writeable), then the server
		 * closes TCP first (RFC 6455 7.1.1) or the timeout does */
		c->closing = true;
		lws_callback_on_writable(c->wsi);
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
		return 0;
	}
	return 0;
}

/* Ping a server silent for ping_interval_s, drop it after twice that. */
static void ws_craw_keepalive(lws_sorted_usec_list_t *sul)
{
	ws_conn *c = lws_container_of(sul, ws_conn, sul_connect);
	uint64_t s = (uint64_t)c->ctx->opts.ping_interval_s * 1000;
	uint64_t silent = uv_now(c->ctx->loop) - c->last_rx_ms;
	ws_lwsmem *m = c->ctx->mem;

	if (!c->wsi || c->closing)
		return;
	if (silent >= 2 * s) {
		WS_ENTER(m);
		log_warn(c->log_id, "ws %s: no answer to pings for %llu ms, dropping", c->peer,
			 (unsigned long long)silent);
		ws_conn_set_reason(c, 1006, "ping timeout");
		c->closing = true;
		c->close_sent = true;
		/* RAW_CLOSE follows at once: close_h, c freed */
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_SYNC);
		WS_LEAVE(m);
		return;
	}
	if (silent >= s)
		ws_craw_queue_ctl(c, WS_OP_PING, NULL, 0);
	lws_sul_schedule(c->ctx->lws, 0, &c->sul_connect, ws_craw_keepalive,
			 (lws_usec_t)(silent >= s ? s : s - silent) * LWS_US_PER_MS);
}

static int ws_craw_send_request(ws_conn *c, struct lws *wsi)
{
	unsigned char buf[LWS_PRE + WS_HS_MAX];
	uint8_t nonce[16];
	int n;

	/* the key is a fresh random nonce (RFC 6455 4.1), from the mask pool */
	for (int i = 0; i < 16; i += 4)
		if (ws_ctx_mask(c->ctx, nonce + i) < 0) {
			ws_conn_set_reason(c, 1006, "no random bytes");
			return -1;
		}
	ws_hs_key(c->hs_key, nonce);
	n = ws_hs_request((char *)buf + LWS_PRE, WS_HS_MAX, c->url, c->headers, c->hs_key);
	if (n < 0) {
		log_err(c->log_id, "ws %s: handshake request over %d bytes", c->peer, WS_HS_MAX);
		ws_conn_set_reason(c, 1006, "handshake headers too long");
		return -1;
	}
	c->hs_sent = true;
	/* never logged: it carries the Authorization header */
	if (ws_conn_write(c, wsi, buf + LWS_PRE, (size_t)n) < 0) {
		ws_conn_set_reason(c, 1006, "write failed");
		return -1;
	}
	return 0;
}

/* The server's answer: bytes of in it used (the rest are frames), or -1
 * (reason set) to drop the connection. */
static int ws_craw_handshake(ws_conn *c, struct lws *wsi, const unsigned char *in, size_t len)
{
	char why[WS_CLOSE_REASON_MAX + 1];
	size_t old = c->hs_len, take;
	unsigned st;
	int n;

	if (!c->hs && !(c->hs = malloc(WS_HS_MAX))) {
		ws_conn_set_reason(c, 1006, "out of memory");
		return -1;
	}
	take = len < WS_HS_MAX - old ? len : WS_HS_MAX - old;
	memcpy(c->hs + old, in, take);
	c->hs_len += take;
	n = ws_hs_response(c->hs, c->hs_len, c->hs_key, &st, why, sizeof(why));
	if (n == 0)
		return (int)take;
	if (n < 0 || !c->hs_sent) {
		if (n > 0)
			snprintf(why, sizeof(why), "server answered before our request");
		if (!c->closing) /* not when we dropped it ourselves */
			log_warn(c->log_id, "ws %s: connection failed: %s", c->peer, why);
		ws_conn_set_reason(c, 1006, why);
		c->closing = true;
		return -1;
	}
	free(c->hs);
	c->hs = NULL;
	c->hs_len = 0;
	ws_rxp_init(&c->rxp, c->ctx->opts.max_message, WS_RX_KEEP, ws_craw_frame, c);
	ws_client_established(c, wsi); /* ends the connect timer; open_h */
	if (c->ctx->opts.ping_interval_s > 0 && c->state == WS_ST_OPEN)
		lws_sul_schedule(c->ctx->lws, 0, &c->sul_connect, ws_craw_keepalive,
				 (lws_usec_t)c->ctx->opts.ping_interval_s * LWS_US_PER_SEC);
	return (int)((size_t)n - old); /* the answer ended in this read */
}

int ws_craw_rx(ws_conn *c, struct lws *wsi, const unsigned char *in, size_t len)
{
	int rc;

	c->last_rx_ms = uv_now(c->ctx->loop);
	if (c->rxp.code && c->close_sent)
		return -1; /* we failed the connection (RFC 6455 7.1.7): whatever
			    * comes now, the echo included, ends it */
	if (c->state != WS_ST_OPEN) {
		rc = ws_craw_handshake(c, wsi, in, len);
		if (rc < 0)
			return -1;
		if (c->state != WS_ST_OPEN)
			return 0;
		in += rc;
		len -= (size_t)rc;
	}
	if (!len)
		return 0;
	c->rxp.binary_ok = c->h.binary_h != NULL;
	rc = ws_rxp_feed(&c->rxp, in, len);
	if (rc == -ECANCELED)
		return -1;
	if (rc < 0) {
		log_warn(c->log_id, "ws %s: %s, closing %d", c->peer, c->rxp.why, c->rxp.code);
		ws_conn_set_reason(c, c->rxp.code, c->rxp.why);
		c->closing = true;
		lws_callback_on_writable(wsi);
		lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
	}
	return 0;
}

int ws_craw_callback(ws_conn *c, struct lws *wsi, enum lws_callback_reasons reason, void *in,
		     size_t len)
{
	int rc;

	switch (reason) {
	case LWS_CALLBACK_RAW_CONNECTED: /* TCP up */
		if (c->tls)
			return ws_tls_start(c, wsi);
		if (c->state != WS_ST_OPEN && !c->hs_sent)
			lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_RAW_WRITEABLE:
		if (c->tls && !ws_tls_ready(c)) /* TLS handshake flights */
			return ws_tls_flush(c, wsi);
		if (c->state == WS_ST_OPEN)
			rc = ws_conn_writeable(c, wsi);
		else
			rc = c->hs_sent ? 0 : ws_craw_send_request(c, wsi);
		/* TLS output nothing above carried (a KeyUpdate answer) */
		if (!rc && c->tls && ws_tls_flush(c, wsi))
			rc = -1;
		return rc;
	case LWS_CALLBACK_RAW_RX:
		if (c->tls)
			return ws_tls_rx(c, wsi, in, len);
		return ws_craw_rx(c, wsi, in, len);
	default:
		return 0;
	}
}
