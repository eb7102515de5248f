/* ws_conn: one WebSocket connection: outbound FIFO, inbound reassembly,
 * deferred close and the exactly-once close_h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "err.h"
#include "log.h"
#include "ws_int.h"

ws_conn *ws_conn_new(ws_ctx *ctx, bool is_client)
{
	ws_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->ctx = ctx;
	c->is_client = is_client;
	snprintf(c->peer, sizeof(c->peer), "-");
	snprintf(c->log_id, sizeof(c->log_id), "-");
	c->next = ctx->conns;
	if (ctx->conns)
		ctx->conns->prev = c;
	ctx->conns = c;
	ctx->nconns++;
	return c;
}

void ws_conn_free(ws_conn *c)
{
	ws_ctx *ctx;

	if (!c)
		return;
	ctx = c->ctx;
	lws_sul_cancel(&c->sul_connect);
	ws_client_release(c);
	if (c->wsi)
		lws_set_opaque_user_data(c->wsi, NULL);
	if (c->prev)
		c->prev->next = c->next;
	else
		ctx->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ctx->nconns--;
	ws_txq_free(&c->tx);
	if (c->headers) {
		for (char **h = c->headers; *h; h++)
			free(*h);
		free(c->headers);
	}
	free(c->rx);
	free(c->hs);
	ws_tls_free(c);
	ws_rxp_free(&c->rxp);
	free(c);
}

/* close_h once, then free: the last thing that happens to a ws_conn. */
void ws_conn_finish(ws_conn *c, int code, const char *reason)
{
	if (c->close_code) { /* a known code beats the generic one */
		code = c->close_code;
		reason = c->close_reason;
	}
	if (c->in_connect) { /* ws_connect reports the error itself */
		c->failed_sync = true;
		ws_conn_set_reason(c, code, reason);
		if (c->wsi)
			lws_set_opaque_user_data(c->wsi, NULL);
		c->wsi = NULL;
		return;
	}
	log_debug(c->log_id, "ws %s: closed %d %s", c->peer, code, reason ? reason : "");
	if (c->notify && c->h.close_h) {
		c->notify = false;
		c->finishing = true;
		c->h.close_h(c, code, reason ? reason : "", c->arg);
	}
	ws_conn_free(c);
}

void ws_conn_set_reason(ws_conn *c, int code, const char *reason)
{
	int n;

	if (c->close_code)
		return; /* first cause wins */
	c->close_code = code;
	n = snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason ? reason : "");
	if (n >= (int)sizeof(c->close_reason)) {
		/* Truncated: do not end inside a UTF-8 sequence (peers may
		 * reject the frame with 1007). */
		size_t l = sizeof(c->close_reason) - 1;

		while (l && ((unsigned char)c->close_reason[l - 1] & 0xc0) == 0x80)
			l--;
		if (l && ((unsigned char)c->close_reason[l - 1] & 0x80))
			l--; /* the lead byte of the cut sequence */
		c->close_reason[l] = '\0';
	}
}

/* We end the connection with a close frame: set the reason, caller returns -1. */
static int ws_conn_fail(ws_conn *c, struct lws *wsi, int code, const char *reason)
{
	ws_conn_set_reason(c, code, reason);
	c->closing = true;
	c->close_sent = true;
	lws_close_reason(wsi, (enum lws_close_status)c->close_code,
			 (unsigned char *)c->close_reason, strlen(c->close_reason));
	return -1;
}

void ws_conn_fill_peer(ws_conn *c, struct lws *wsi)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char ip[INET6_ADDRSTRLEN];
	int fd = lws_get_socket_fd(wsi);
	int port;

	/* zeroed: clang's analyzer cannot see getpeername fill it through
	 * glibc's transparent union (llvm-project#60482) */
	memset(&ss, 0, sizeof(ss));
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl))
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sa = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof(ip));
		port = ntohs(sa->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&ss;

		if (IN6_IS_ADDR_V4MAPPED(&sa->sin6_addr)) /* dual-stack socket */
			inet_ntop(AF_INET, &sa->sin6_addr.s6_addr[12], ip, sizeof(ip));
		else
			inet_ntop(AF_INET6, &sa->sin6_addr, ip, sizeof(ip));
		port = ntohs(sa->sin6_port);
	} else {
		return;
	}
	snprintf(c->peer, sizeof(c->peer), "%s:%d", ip, port);
}

int ws_conn_peer_close(ws_conn *c, const unsigned char *in, size_t len)
{
	char reason[WS_CLOSE_REASON_MAX + 1];
	size_t rl;

	c->peer_closed = true; /* lws echoes/ends: ws_send_text must not write */
	if (c->close_sent)
		return 1; /* the echo of our close: done, no echo back */
	if (c->close_code)
		return 0; /* we were about to close: keep our own code */
	if (!in || len < 2) {
		ws_conn_set_reason(c, 1005, "no status");
		return 0;
	}
	rl = len - 2 > WS_CLOSE_REASON_MAX ? WS_CLOSE_REASON_MAX : len - 2;
	memcpy(reason, in + 2, rl);
	reason[rl] = '\0';
	ws_conn_set_reason(c, (in[0] << 8) | in[1], reason);
	return 0;
}

static int ws_conn_deliver(ws_conn *c)
{
	if (c->rx_binary) {
		if (c->h.binary_h)
			c->h.binary_h(c, c->rx, c->rx_len, c->arg);
	} else {
		c->rx[c->rx_len] = '\0';
		if (c->h.text_h)
			c->h.text_h(c, (const char *)c->rx, c->rx_len, c->arg);
	}
	c->rx_len = 0;
	if (c->rx_cap > WS_RX_KEEP) { /* one big message must not pin memory */
		free(c->rx);
		c->rx = NULL;
		c->rx_cap = 0;
	}
	return 0;
}

int ws_conn_rx(ws_conn *c, struct lws *wsi, const void *in, size_t len)
{
	size_t max = c->ctx->opts.max_message, need, rem;

	if (lws_is_first_fragment(wsi)) {
		c->rx_len = 0;
		c->rx_binary = lws_frame_is_binary(wsi);
	}
	if (c->closing || c->ctx->destroying)
		return 0; /* draining towards our close: drop input */
	if (c->rx_binary && !c->h.binary_h) {
		log_warn(c->log_id, "ws %s: binary message refused, closing 1003", c->peer);
		return ws_conn_fail(c, wsi, 1003, "binary messages not accepted");
	}
	/* What this frame still announces counts too: an oversized frame is
	 * refused at its first chunk, and a known size is allocated once. */
	need = c->rx_len + len;
	rem = lws_remaining_packet_payload(wsi);
	if (need < len || need > max || rem > max - need) {
		log_warn(c->log_id, "ws %s: message over %zu bytes, closing 1009", c->peer, max);
		return ws_conn_fail(c, wsi, 1009, "message too big");
	}
	/* exact for a frame's announced size, geometric for fragments */
	if (ws_rxbuf_reserve(&c->rx, &c->rx_cap, need + rem + 1, max + 1))
		return ws_conn_fail(c, wsi, 1011, "out of memory");
	if (len)
		memcpy(c->rx + c->rx_len, in, len);
	c->rx_len = need;
	if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi))
		ws_conn_deliver(c);
	if (c->closing && !c->close_sent)
		lws_callback_on_writable(wsi); /* ws_close from text_h */
	return 0;
}

int ws_conn_write(ws_conn *c, struct lws *wsi, unsigned char *p, size_t len)
{
	if (c->tls)
		return ws_tls_write(c, wsi, p, len);
	return lws_write(wsi, p, len, LWS_WRITE_RAW) < 0 ? -1 : 0;
}

/* Our close frame, written by us: in lws 4.1 returning -1 from WRITEABLE
 * (or a timeout kill) drops the socket without one. The peer's echo then
 * arrives as WS_PEER_INITIATED_CLOSE and ends the connection; if it never
 * comes, the timeout kills the socket. */
/* lws's private LWS_WRITE_CLOSE: value 4 is reserved for it in the public
 * enum lws_write_protocol (ABI-stable), only the name is not exported. */
#define WS_LWS_WRITE_CLOSE ((enum lws_write_protocol)4)

static int ws_conn_send_close(ws_conn *c, struct lws *wsi)
{
	unsigned char buf[LWS_PRE + 6 + 2 + WS_CLOSE_REASON_MAX], *p = buf + LWS_PRE + 6;
	size_t rl = strlen(c->close_reason), pl = 2 + rl;
	uint8_t mask[4];

	c->close_sent = true;
	p[0] = (unsigned char)(c->close_code >> 8);
	p[1] = (unsigned char)c->close_code;
	memcpy(p + 2, c->close_reason, rl);
	if (c->close_code == 1005) /* the peer's frame had no code: echo none */
		pl = 0;
	if (!c->raw) {
		if (lws_write(wsi, p, pl, WS_LWS_WRITE_CLOSE) < 0)
			return -1;
	} else {
		/* our raw-role client frames its close itself, masked */
		if (ws_ctx_mask(c->ctx, mask) < 0)
			return -1;
		for (size_t i = 0; i < pl; i++)
			p[i] ^= mask[i & 3];
		p -= 6;
		p[0] = 0x80 | WS_OP_CLOSE;
		p[1] = (unsigned char)(0x80 | pl);
		memcpy(p + 2, mask, 4);
		if (ws_conn_write(c, wsi, p, 6 + pl) < 0)
			return -1;
	}
	lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_ACK, 3);
	return 0;
}

/* Writes the oldest queued frames, up to WS_TX_CHUNK bytes of whole
 * frames, in one lws_write (on wss://, after one SSL_write of them all).
 * LWS_WRITE_RAW hands the bytes to lws's partial-write buffering
 * untouched (the frames are already built): lws keeps whatever the socket
 * did not take, sends it first on POLLOUT and holds WRITEABLE back until
 * it is flushed, so the frames are done (and their queue memory reusable)
 * once lws_write returns. */
static int ws_conn_flush(ws_conn *c, struct lws *wsi)
{
	size_t bytes, payload;
	unsigned char *p = ws_txq_peek(&c->tx, c->tls ? WS_TLS_CHUNK : WS_TX_CHUNK, &bytes, &payload);
	int n = ws_conn_write(c, wsi, p, bytes);

	ws_txq_consume(&c->tx, bytes);
	/* lws may still hold part of these bytes (its partial-write buffer):
	 * they no longer count in ws_queued, so a connection can hold up to
	 * max_queue here plus one chunk (or one big frame) in lws. */
	c->queued -= payload;
	return n < 0 ? -1 : 0;
}

/* A close frame went out (ours, or lws's echo of the peer's): data frames
 * may not follow it (RFC 6455 5.5.1), so what is still queued is dropped,
 * as it would be on a dead socket. */
static bool ws_conn_drop_after_close(ws_conn *c)
{
	if (!c->close_sent && !c->peer_closed)
		return false;
	ws_txq_consume(&c->tx, c->tx.tail - c->tx.head);
	c->queued = 0;
	return true;
}

int ws_conn_writeable(ws_conn *c, struct lws *wsi)
{
	if (ws_conn_drop_after_close(c)) {
		/* the peer closed: lws echoes on its ws role, ws_craw here */
		if (c->raw && c->peer_closed && !c->close_sent)
			return ws_conn_send_close(c, wsi);
		return 0;
	}
	if (!ws_txq_empty(&c->tx)) {
		if (ws_conn_flush(c, wsi)) {
			ws_conn_set_reason(c, 1006, "write failed");
			return -1;
		}
		if (!ws_txq_empty(&c->tx) || c->closing)
			lws_callback_on_writable(wsi);
		return 0;
	}
	if (c->closing && !c->close_sent)
		return ws_conn_send_close(c, wsi);
	return 0;
}

/* ws_ctx_destroy: lws will drop every socket without a close frame, so
 * write what we can right now: queued messages while the socket takes
 * them, then our close frame (1001 unless ws_close chose a code). */
void ws_conn_goodbye(ws_conn *c)
{
	struct lws *wsi = c->wsi;

	if (!wsi || c->state != WS_ST_OPEN || ws_conn_drop_after_close(c))
		return;
	ws_conn_set_reason(c, 1001, "going away");
	c->closing = true;
	if (c->tls && !ws_tls_ready(c))
		return; /* TLS busy (ws_tls_ready): no frame can be written now */
	while (!ws_txq_empty(&c->tx) && !lws_partial_buffered(wsi))
		if (ws_conn_flush(c, wsi))
			return;
	if (ws_txq_empty(&c->tx) && !lws_send_pipe_choked(wsi))
		ws_conn_send_close(c, wsi);
}

void ws_set_handlers(ws_conn *c, const ws_handlers *h, void *arg)
{
	if (!c)
		return;
	if (h)
		c->h = *h;
	else
		memset(&c->h, 0, sizeof(c->h));
	c->arg = arg;
}

/* Is lws inside a callback for this wsi (our caller may be user code run
 * from it)? Then lws_write is left to WRITEABLE: no re-entrant write. */
static bool ws_conn_in_callback(const ws_conn *c)
{
	for (const ws_cbframe *f = c->ctx->mem->frames; f; f = f->up)
		if (f->wsi == c->wsi)
			return true;
	return false;
}

/* May the queued frames be written right now instead of arming POLLOUT
 * for a WRITEABLE callback? Each condition is a reason lws only
 * documents writes from WRITEABLE:
 * - not on lws's TLS (OpenSSL write retries; such connections, test
 *   servers only, are written from WRITEABLE, still all queued frames at
 *   once); our clients' own TLS (ws_tls.c) writes to a memory BIO, which
 *   never asks for a retry, so wss:// clients write directly too;
 * - handshake done, no close under way either side (a data frame after a
 *   close frame is a protocol error);
 * - not inside an lws callback for this wsi (lws may be mid-rx on it);
 * - nothing lws still holds from a partial write (order).
 * No poll(2) for POLLOUT first: a socket that takes nothing just leaves
 * the bytes in lws's buffer (above), and later messages wait in ours. */
static bool ws_conn_direct_ok(const ws_conn *c)
{
	struct lws *wsi = c->wsi;

	return c->state == WS_ST_OPEN && wsi && !c->closing && !c->close_sent &&
	       !c->peer_closed && !c->finishing && !c->ctx->destroying &&
	       !lws_is_ssl(wsi) && (!c->tls || ws_tls_ready(c)) && !ws_conn_in_callback(c) &&
	       !lws_partial_buffered(wsi);
}

/* Queued frames should go out: now when that is safe, else from WRITEABLE. */
void ws_conn_kick(ws_conn *c)
{
	if (c->corked || c->state != WS_ST_OPEN || !c->wsi)
		return; /* ws_uncork / ESTABLISHED request the write */
	if (ws_conn_direct_ok(c)) {
		/* saves the POLLOUT arm/disarm (two epoll_ctl) and a loop turn */
		if (ws_conn_flush(c, c->wsi) == 0) {
			if (!ws_txq_empty(&c->tx)) /* more than one chunk */
				lws_callback_on_writable(c->wsi);
			return;
		}
		/* The socket is dead (lws marked it unusable) and the frames are
		 * lost, as they would be from WRITEABLE. We cannot return -1 to
		 * lws here: end it from the next loop turn; close_h gets 1006. */
		ws_conn_set_reason(c, 1006, "write failed");
		c->closing = true;
		c->close_sent = true; /* no close frame can go out */
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
		return;
	}
	lws_callback_on_writable(c->wsi);
}

int ws_send_text(ws_conn *c, const char *data, size_t len)
{
	size_t max = c ? c->ctx->opts.max_queue : 0;
	uint8_t mask[4];
	int rc;

	if (!c || (!data && len))
		return -EINVAL;
	if (c->closing || c->finishing || c->ctx->destroying)
		return -ENOTCONN;
	if (len > max - c->queued)
		return -ENOBUFS;
	if (c->is_client && (rc = ws_ctx_mask(c->ctx, mask)) < 0)
		return rc;
	/* Payload bytes are limited by max_queue; the buffer (frames with
	 * their headers) by twice that, so tiny messages stay bounded too. */
	rc = ws_txq_push(&c->tx, data, len, c->is_client ? mask : NULL,
			 max > SIZE_MAX / 4 ? SIZE_MAX / 2 : 2 * max + WS_TXQ_SLACK);
	if (rc)
		return rc;
	c->queued += len;
	ws_conn_kick(c);
	return 0;
}

void ws_cork(ws_conn *c)
{
	if (c)
		c->corked++;
}

void ws_uncork(ws_conn *c)
{
	if (!c || !c->corked)
		return;
	if (--c->corked == 0 && !ws_txq_empty(&c->tx) && !c->closing && !c->finishing &&
	    !c->ctx->destroying)
		ws_conn_kick(c);
}

void ws_close(ws_conn *c, int code, const char *reason)
{
	if (!c || c->closing || c->finishing || c->ctx->destroying)
		return;
	if (code < 1000 || code > 4999 || code == 1005 || code == 1006 || code == 1015)
		code = 1000; /* not sendable in a close frame */
	c->closing = true;
	if (c->is_client && c->state != WS_ST_OPEN) {
		/* Still connecting (DNS, TCP, TLS or upgrade): no frame to send;
		 * drop it from the loop's next turn, close_h then. */
		ws_conn_set_reason(c, code, "closed while connecting");
		if (c->notify)
			ws_client_close_pending(c);
		return;
	}
	ws_conn_set_reason(c, code, reason);
	if (c->wsi && c->state == WS_ST_OPEN) {
		/* Queued messages go first, then the close frame. */
		lws_callback_on_writable(c->wsi);
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
	}
	/* server between accept_h and ESTABLISHED: ESTABLISHED requests the write */
}

void ws_set_log_id(ws_conn *c, const char *id)
{
	if (c)
		snprintf(c->log_id, sizeof(c->log_id), "%s", id && *id ? id : "-");
}

size_t ws_queued(const ws_conn *c)
{
	return c ? c->queued : 0;
}

const char *ws_peer(const ws_conn *c)
{
	return c ? c->peer : "-";
}
