/* ws_rxp: reads the WebSocket frames a server sends to our clients
 * (RFC 6455 5.2), a whole read at a time.
 *
 * Why not lws: lws 4.1's client parser runs a state machine per payload
 * byte; issue 7's profile put it at 38 % of voiceproxy's and 44 % of
 * sipbridge's instructions. Here only the 2..14 header bytes go one at a
 * time: payload is copied with memcpy straight into the message buffer.
 *
 * Data messages (text, binary, fragmented or not) are reassembled up to
 * max_message bytes and handed over whole, NUL-terminated; control frames
 * (ping, pong, close) are handed over as they come, between fragments.
 * Protocol errors end the parse with the close code to send: 1002 (masked
 * frame, reserved bits or opcode, bad fragmentation, control frame too
 * long or fragmented, 64-bit length with the top bit set), 1009 (message
 * over max_message), 1003 (binary while binary_ok is false), 1011 (out
 * of memory). After a close frame nothing more is read.
 * Memory: one reassembly buffer, reused; released after a message that
 * made it grow past keep bytes (one big message must not pin memory). */
#ifndef VX_WS_RXP_H
#define VX_WS_RXP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 6455 5.2 opcodes */
enum { WS_OP_CONT = 0x0, WS_OP_TEXT = 0x1, WS_OP_BINARY = 0x2, WS_OP_CLOSE = 0x8,
       WS_OP_PING = 0x9, WS_OP_PONG = 0xa };

enum ws_rxp_kind {
	WS_RXP_TEXT,
	WS_RXP_BINARY,
	WS_RXP_PING,
	WS_RXP_PONG,
	WS_RXP_CLOSE,
};

/* data is valid during the call only; for TEXT and BINARY data[len] is a
 * NUL. Return 0 to go on, < 0 to stop reading (ws_rxp_feed returns
 * -ECANCELED; the rest of the input is not parsed). */
typedef int (ws_rxp_h)(void *arg, enum ws_rxp_kind kind, unsigned char *data, size_t len);

typedef struct ws_rxp {
	/* settings (binary_ok may change between feeds) */
	size_t max_message;
	size_t keep;
	bool binary_ok;
	ws_rxp_h *h;
	void *arg;
	/* the frame being read */
	uint8_t hdr[14];
	uint8_t hlen;     /* header bytes read so far; 0 in payload */
	uint8_t hneed;    /* header size, once hdr[1] is known */
	uint8_t opcode;
	bool fin;
	bool in_payload;
	uint64_t left;    /* payload bytes of this frame still to come */
	/* the data message being reassembled */
	bool in_msg;
	bool binary;
	unsigned char *msg;
	size_t msg_len, msg_cap;
	/* a control frame's payload (at most 125 bytes) */
	uint8_t ctl[125];
	uint8_t ctl_len;
	bool done;        /* close frame seen, or error: input is ignored */
	/* the error that ended the parse */
	int code;
	const char *why;
} ws_rxp;

void ws_rxp_init(ws_rxp *p, size_t max_message, size_t keep, ws_rxp_h *h, void *arg);
/* 0 when every byte was read; -ECANCELED when the handler stopped;
 * -EPROTO, -EMSGSIZE, -ENOTSUP or -ENOMEM on an error, with p->code and
 * p->why (static text) set. After an error, a stop or a close frame,
 * later feeds return 0 and read nothing. A close frame is handed over
 * when its body is empty or starts with a status code a peer may send
 * (RFC 6455 7.4: 1000-1003, 1007-1014, 3000-4999); any other (a 1-byte
 * body, 1005, 1006, 1015, 2000...) is a 1002 error. Text is not checked
 * for UTF-8 (as lws does not). */
int ws_rxp_feed(ws_rxp *p, const unsigned char *in, size_t len);
void ws_rxp_free(ws_rxp *p);

/* Grows *buf (capacity *cap) to hold need bytes: doubling, at least need,
 * never beyond limit (need <= limit). 0 or -ENOMEM. Shared with the
 * server side's reassembly (ws_conn.c). */
int ws_rxbuf_reserve(unsigned char **buf, size_t *cap, size_t need, size_t limit);
#endif
