/* ws_rxp: WebSocket frames from a server, parsed a read at a time (see
 * ws_rxp.h for why this is not lws's parser). */
#include <stdlib.h>
#include <string.h>
#include "err.h"
#include "ws_rxp.h"


void ws_rxp_init(ws_rxp *p, size_t max_message, size_t keep, ws_rxp_h *h, void *arg)
{
	memset(p, 0, sizeof(*p));
	p->max_message = max_message;
	p->keep = keep;
	p->binary_ok = true;
	p->h = h;
	p->arg = arg;
}

void ws_rxp_free(ws_rxp *p)
{
	free(p->msg);
	p->msg = NULL;
	p->msg_cap = p->msg_len = 0;
}

int ws_rxbuf_reserve(unsigned char **buf, size_t *cap, size_t need, size_t limit)
{
	size_t nc;
	unsigned char *nb;

	if (need <= *cap)
		return 0;
	nc = *cap ? 2 * *cap : 1024;
	if (nc < need)
		nc = need;
	if (nc > limit)
		nc = limit;
	if (nc < need)
		return -ENOMEM; /* the caller checked need against its limit */
	nb = realloc(*buf, nc);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	*cap = nc;
	return 0;
}

static int ws_rxp_fail(ws_rxp *p, int code, const char *why, int err)
{
	p->done = true;
	p->code = code;
	p->why = why;
	return err;
}

/* First header byte: FIN, reserved bits, opcode, fragmentation order. */
static int ws_rxp_byte0(ws_rxp *p)
{
	uint8_t b = p->hdr[0], op = b & 0x0f;

	if (b & 0x70) /* no extension was negotiated */
		return ws_rxp_fail(p, 1002, "reserved bits set", -EPROTO);
	if (op != WS_OP_CONT && op != WS_OP_TEXT && op != WS_OP_BINARY && op != WS_OP_CLOSE &&
	    op != WS_OP_PING && op != WS_OP_PONG)
		return ws_rxp_fail(p, 1002, "reserved opcode", -EPROTO);
	p->fin = b & 0x80;
	p->opcode = op;
	if ((op & 0x8) && !p->fin)
		return ws_rxp_fail(p, 1002, "fragmented control frame", -EPROTO);
	if (op == WS_OP_CONT && !p->in_msg)
		return ws_rxp_fail(p, 1002, "continuation without a message", -EPROTO);
	if ((op == WS_OP_TEXT || op == WS_OP_BINARY) && p->in_msg)
		return ws_rxp_fail(p, 1002, "new message inside a fragmented one", -EPROTO);
	return 0;
}

/* Second byte: mask bit and the 7-bit length tell the header's size. */
static int ws_rxp_byte1(ws_rxp *p)
{
	uint8_t b = p->hdr[1], l7 = b & 0x7f;

	if (b & 0x80) /* RFC 6455 5.1: a client closes on a masked frame */
		return ws_rxp_fail(p, 1002, "masked frame from a server", -EPROTO);
	if ((p->opcode & 0x8) && l7 > 125)
		return ws_rxp_fail(p, 1002, "control frame over 125 bytes", -EPROTO);
	p->hneed = l7 == 126 ? 4 : l7 == 127 ? 10 : 2;
	return 0;
}

/* The whole header is in: payload size, limits, buffer. */
static int ws_rxp_begin(ws_rxp *p)
{
	uint64_t l = p->hdr[1] & 0x7f;
	size_t base;

	if (l == 126) {
		l = ((uint64_t)p->hdr[2] << 8) | p->hdr[3];
	} else if (l == 127) {
		if (p->hdr[2] & 0x80)
			return ws_rxp_fail(p, 1002, "64-bit length with the top bit set", -EPROTO);
		l = 0;
		for (int i = 2; i < 10; i++)
			l = (l << 8) | p->hdr[i];
	}
	p->left = l;
	p->hlen = 0;
	p->in_payload = true;
	if (p->opcode & 0x8) {
		p->ctl_len = 0;
		return 0;
	}
	if (p->opcode != WS_OP_CONT) {
		p->in_msg = true;
		p->binary = p->opcode == WS_OP_BINARY;
		p->msg_len = 0;
		if (p->binary && !p->binary_ok)
			return ws_rxp_fail(p, 1003, "binary messages not accepted", -ENOTSUP);
	}
	base = p->msg_len;
	/* What the frame announces counts at once: an oversized message is
	 * refused before its payload arrives, a known size is allocated once. */
	if (l > p->max_message - base)
		return ws_rxp_fail(p, 1009, "message too big", -EMSGSIZE);
	if (ws_rxbuf_reserve(&p->msg, &p->msg_cap, base + (size_t)l + 1, p->max_message + 1))
		return ws_rxp_fail(p, 1011, "out of memory", -ENOMEM);
	return 0;
}

/* RFC 6455 5.5.1 and 7.4: an empty close body, or a status code a peer
 * may send (1000-1003, 1007-1014, 3000-4999) and then a reason. */
static bool ws_rxp_close_ok(const uint8_t *d, size_t len)
{
	unsigned code;

	if (len == 0)
		return true;
	if (len == 1)
		return false;
	code = (unsigned)d[0] << 8 | d[1];
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	       (code >= 3000 && code <= 4999);
}

/* A frame's payload is complete. */
static int ws_rxp_end(ws_rxp *p)
{
	enum ws_rxp_kind kind;
	int rc;

	p->in_payload = false;
	if (p->opcode & 0x8) {
		kind = p->opcode == WS_OP_PING ? WS_RXP_PING :
		       p->opcode == WS_OP_PONG ? WS_RXP_PONG : WS_RXP_CLOSE;
		if (kind == WS_RXP_CLOSE) {
			p->done = true; /* nothing may follow a close frame */
			if (!ws_rxp_close_ok(p->ctl, p->ctl_len))
				return ws_rxp_fail(p, 1002, "invalid close frame", -EPROTO);
		}
		rc = p->h(p->arg, kind, p->ctl, p->ctl_len);
		if (rc < 0)
			p->done = true;
		return rc < 0 ? -ECANCELED : 0;
	}
	if (!p->fin)
		return 0;
	p->in_msg = false;
	p->msg[p->msg_len] = '\0'; /* begin reserved the byte */
	rc = p->h(p->arg, p->binary ? WS_RXP_BINARY : WS_RXP_TEXT, p->msg, p->msg_len);
	p->msg_len = 0;
	if (p->msg_cap > p->keep)
		ws_rxp_free(p);
	if (rc < 0)
		p->done = true;
	return rc < 0 ? -ECANCELED : 0;
}

int ws_rxp_feed(ws_rxp *p, const unsigned char *in, size_t len)
{
	int rc;

	while (!p->done) {
		if (!p->in_payload) {
			if (!len)
				return 0;
			/* header bytes one by one: at most 10 per frame */
			p->hdr[p->hlen++] = *in++;
			len--;
			if (p->hlen == 1) {
				p->hneed = 2;
				rc = ws_rxp_byte0(p);
			} else if (p->hlen == 2) {
				rc = ws_rxp_byte1(p);
			} else {
				rc = 0;
			}
			if (rc)
				return rc;
			if (p->hlen < p->hneed)
				continue;
			rc = ws_rxp_begin(p);
			if (rc)
				return rc;
		}
		if (p->left) {
			size_t n = p->left < len ? (size_t)p->left : len;

			if (!n)
				return 0;
			if (p->opcode & 0x8)
				memcpy(p->ctl + p->ctl_len, in, n); /* left <= 125 */
			else
				memcpy(p->msg + p->msg_len, in, n);
			if (p->opcode & 0x8)
				p->ctl_len = (uint8_t)(p->ctl_len + n);
			else
				p->msg_len += n;
			p->left -= n;
			in += n;
			len -= n;
			if (p->left)
				return 0;
		}
		rc = ws_rxp_end(p);
		if (rc)
			return rc;
	}
	return 0;
}
