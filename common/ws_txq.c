/* ws_txq: a connection's outbound message FIFO in one reused byte buffer,
 * so sending allocates nothing in the steady state (issue 7: 1000 calls x
 * 50 messages/s). Each record is LWS_PRE bytes of headroom (lws_write puts
 * the frame header there; the payload length is kept in its first bytes,
 * which a 64 KiB+ frame's header overwrites: the writer restores it before
 * ws_txq_pop), the payload, and padding to keep records aligned.
 * The queue usually drains on every writeable callback: then head and
 * tail go back to 0 and the buffer is reused as is. When the tail reaches
 * the end, the live records are moved to the front if that frees at least
 * as much as it moves (amortised O(1) per byte), else the buffer doubles.
 * An empty buffer larger than WS_TX_KEEP is freed: a burst must not pin
 * memory on an idle call. */
#include <stdlib.h>
#include <string.h>
#include "err.h"
#include "ws_int.h"

_Static_assert(LWS_PRE >= sizeof(size_t), "LWS_PRE holds the record length");

#define WS_TXQ_ALIGN sizeof(size_t)
#define WS_TXQ_MIN 1024

static size_t ws_txq_rec(size_t len)
{
	return LWS_PRE + ((len + WS_TXQ_ALIGN - 1) & ~(WS_TXQ_ALIGN - 1));
}

static int ws_txq_room(ws_txq *q, size_t rs)
{
	size_t live = q->tail - q->head, cap;
	unsigned char *nb;

	if (q->tail + rs <= q->cap)
		return 0;
	if (live + rs <= q->cap && q->head >= live) {
		memmove(q->buf, q->buf + q->head, live);
		q->head = 0;
		q->tail = live;
		return 0;
	}
	cap = q->cap ? 2 * q->cap : WS_TXQ_MIN;
	while (cap < live + rs)
		cap *= 2;
	/* A fresh buffer: copying only the live records beats realloc's
	 * copy of the whole old buffer. */
	nb = malloc(cap);
	if (!nb)
		return -ENOMEM;
	if (live)
		memcpy(nb, q->buf + q->head, live);
	free(q->buf);
	q->buf = nb;
	q->cap = cap;
	q->head = 0;
	q->tail = live;
	return 0;
}

int ws_txq_push(ws_txq *q, const void *data, size_t len, size_t limit)
{
	size_t rs;
	int rc;

	if (len > limit)
		return -ENOBUFS;
	rs = ws_txq_rec(len);
	/* record overhead counts too: many empty messages must not grow
	 * the buffer without bound */
	if (q->tail - q->head + rs > limit)
		return -ENOBUFS;
	rc = ws_txq_room(q, rs);
	if (rc)
		return rc;
	memcpy(q->buf + q->tail, &len, sizeof(len));
	if (len)
		memcpy(q->buf + q->tail + LWS_PRE, data, len);
	q->tail += rs;
	return 0;
}

unsigned char *ws_txq_peek(const ws_txq *q, size_t *len)
{
	if (q->head == q->tail)
		return NULL;
	memcpy(len, q->buf + q->head, sizeof(*len));
	return q->buf + q->head + LWS_PRE;
}

void ws_txq_pop(ws_txq *q)
{
	size_t len;

	if (q->head == q->tail)
		return;
	memcpy(&len, q->buf + q->head, sizeof(len));
	q->head += ws_txq_rec(len);
	if (q->head < q->tail)
		return;
	q->head = q->tail = 0;
	if (q->cap > WS_TX_KEEP)
		ws_txq_free(q);
}

void ws_txq_free(ws_txq *q)
{
	free(q->buf);
	q->buf = NULL;
	q->cap = q->head = q->tail = 0;
}
