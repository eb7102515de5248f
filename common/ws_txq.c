/* ws_txq: a connection's outbound FIFO of whole, ready-to-send WebSocket
 * frames in one reused byte buffer.
 *
 * Frames are built here (RFC 6455 5.2: FIN + text opcode, 7/16/64-bit
 * length, client frames masked) rather than by lws_write, so that every
 * message queued since the last write goes out in ONE write (lws_write
 * LWS_WRITE_RAW, which lws passes to its partial-write buffering as is):
 * issue 7 measured one send(2) per message as the main cost of a relayed
 * call, and a media event is usually followed by its mark at once.
 * Sending allocates nothing in the steady state.
 *
 * Layout: buf[0, LWS_PRE) is never used (lws documents LWS_PRE writable
 * bytes before any buffer given to lws_write), frames live in
 * buf[head, tail). When the queue drains, head and tail go back to
 * LWS_PRE and the buffer is reused. When the tail reaches the end, the
 * live frames move to the front if that frees at least as much as it
 * moves (amortised O(1) per byte), else the buffer doubles. An empty
 * buffer larger than WS_TX_KEEP is freed: a burst must not pin memory on
 * an idle call. */
#include <stdlib.h>
#include <string.h>
#include "err.h"
#include "ws_int.h"

#define WS_TXQ_MIN 1024

size_t ws_txq_frame_len(size_t len, bool masked)
{
	size_t h = len < 126 ? 2 : len < 65536 ? 4 : 10;

	return h + (masked ? 4 : 0) + len;
}

static int ws_txq_room(ws_txq *q, size_t fs)
{
	size_t live = q->tail - q->head, cap;
	unsigned char *nb;

	if (q->buf && q->tail + fs <= q->cap)
		return 0;
	if (q->buf && LWS_PRE + live + fs <= q->cap && q->head - LWS_PRE >= live) {
		memmove(q->buf + LWS_PRE, q->buf + q->head, live);
		q->head = LWS_PRE;
		q->tail = LWS_PRE + live;
		return 0;
	}
	cap = q->cap ? 2 * q->cap : WS_TXQ_MIN;
	while (cap < LWS_PRE + live + fs)
		cap *= 2;
	/* A fresh buffer: copying only the live frames beats realloc's copy
	 * of the whole old buffer. */
	nb = malloc(cap);
	if (!nb)
		return -ENOMEM;
	if (live && q->buf) /* live frames imply a buffer */
		memcpy(nb + LWS_PRE, q->buf + q->head, live);
	free(q->buf);
	q->buf = nb;
	q->cap = cap;
	q->head = LWS_PRE;
	q->tail = LWS_PRE + live;
	return 0;
}

int ws_txq_push_op(ws_txq *q, uint8_t op, const void *data, size_t len, const uint8_t *mask,
		   size_t limit)
{
	size_t fs;
	unsigned char *p;
	const unsigned char *s = data;
	int rc;

	if (len > limit)
		return -ENOBUFS;
	fs = ws_txq_frame_len(len, mask != NULL);
	/* header bytes count too: many empty messages must not grow the
	 * buffer without bound */
	if (q->tail - q->head + fs > limit)
		return -ENOBUFS;
	rc = ws_txq_room(q, fs);
	if (rc)
		return rc;
	p = q->buf + q->tail;
	*p++ = (unsigned char)(0x80 | op); /* FIN: never fragmented */
	if (len < 126) {
		*p++ = (unsigned char)len;
	} else if (len < 65536) {
		*p++ = 126;
		*p++ = (unsigned char)(len >> 8);
		*p++ = (unsigned char)len;
	} else {
		*p++ = 127;
		for (int i = 7; i >= 0; i--)
			*p++ = (unsigned char)((uint64_t)len >> (8 * i));
	}
	if (mask) {
		q->buf[q->tail + 1] |= 0x80;
		memcpy(p, mask, 4);
		p += 4;
		unsigned char m8b[8];
		uint64_t m8, w;
		size_t i = 0;

		/* 8 bytes at a time: every frame to voiceproxy from sipbridge
		 * and every append to OpenAI is masked */
		for (int k = 0; k < 8; k++)
			m8b[k] = mask[k & 3];
		memcpy(&m8, m8b, 8);
		for (; i + 8 <= len; i += 8) {
			memcpy(&w, s + i, 8);
			w ^= m8;
			memcpy(p + i, &w, 8);
		}
		for (; i < len; i++)
			p[i] = s[i] ^ mask[i & 3];
	} else if (len) {
		memcpy(p, s, len);
	}
	q->tail += fs;
	return 0;
}

/* Header of the frame at p (built by ws_txq_push): total and payload bytes. */
static size_t ws_txq_frame_at(const unsigned char *p, size_t *payload)
{
	size_t l = p[1] & 0x7f, h = 2;

	if (l == 126) {
		l = ((size_t)p[2] << 8) | p[3];
		h = 4;
	} else if (l == 127) {
		l = 0;
		for (int i = 2; i < 10; i++)
			l = (l << 8) | p[i];
		h = 10;
	}
	if (p[1] & 0x80)
		h += 4;
	*payload = l;
	return h + l;
}

unsigned char *ws_txq_peek(const ws_txq *q, size_t max, size_t *bytes, size_t *payload)
{
	size_t off = q->head, pl;

	*bytes = *payload = 0;
	if (q->head == q->tail)
		return NULL;
	/* whole frames only: lws may put its own frames (pong, close) between
	 * two writes, never inside one */
	for (;;) {
		size_t fl = ws_txq_frame_at(q->buf + off, &pl);

		if (off > q->head && off - q->head + fl > max)
			break;
		off += fl;
		*payload += pl;
		if (off >= q->tail)
			break;
	}
	*bytes = off - q->head;
	return q->buf + q->head;
}

void ws_txq_consume(ws_txq *q, size_t bytes)
{
	q->head += bytes;
	if (q->head < q->tail)
		return;
	q->head = q->tail = LWS_PRE;
	if (q->cap > WS_TX_KEEP)
		ws_txq_free(q);
}

void ws_txq_free(ws_txq *q)
{
	free(q->buf);
	q->buf = NULL;
	q->cap = 0;
	q->head = q->tail = LWS_PRE;
}
