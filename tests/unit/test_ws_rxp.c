/* ws_rxp (frames a server sends to our clients) and ws_hs (the client's
 * opening handshake): RFC 6455 shapes, every split of the input, every
 * error with its close code, buffer reuse, RFC 6455 1.3's accept value. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "log.h"
#include "ws_int.h"
#include "ws_rxp.h"

/* ---- frames and a recording handler --------------------------------------- */

#define FIN 0x80

/* One frame from a server (unmasked) into out: lform 0 = shortest length
 * encoding, 16 or 64 = that one. Returns its size. */
static size_t frame_lf(uint8_t *out, uint8_t b0, const void *pl, size_t n, int lform)
{
	size_t h = 0;

	out[h++] = b0;
	if (lform == 0 && n < 126) {
		out[h++] = (uint8_t)n;
	} else if (lform == 16 || (lform == 0 && n <= 0xffff)) {
		out[h++] = 126;
		out[h++] = (uint8_t)(n >> 8);
		out[h++] = (uint8_t)n;
	} else {
		out[h++] = 127;
		for (int i = 7; i >= 0; i--)
			out[h++] = (uint8_t)((uint64_t)n >> (8 * i));
	}
	if (n)
		memcpy(out + h, pl, n);
	return h + n;
}

static size_t frame(uint8_t *out, uint8_t b0, const void *pl, size_t n)
{
	return frame_lf(out, b0, pl, n, 0);
}

typedef struct {
	int kind;
	size_t len;
	size_t off; /* into rec.data */
} ev;

typedef struct {
	ev ev[64];
	int n;
	unsigned char *data;
	size_t dlen, dcap;
	int cancel_at; /* return -1 for the event with this index (-1: never) */
	const ws_rxp *p;
} rec;

static void rec_init(rec *r)
{
	memset(r, 0, sizeof(*r));
	r->cancel_at = -1;
}

static void rec_free(rec *r)
{
	free(r->data);
	r->data = NULL;
}

static int rec_h(void *arg, enum ws_rxp_kind kind, unsigned char *data, size_t len)
{
	rec *r = arg;

	assert_true(r->n < (int)VX_ARRAY_LEN(r->ev));
	if (kind == WS_RXP_TEXT || kind == WS_RXP_BINARY) {
		assert_non_null(data);
		assert_int_equal(data[len], 0); /* NUL-terminated */
		if (r->p)
			assert_true(len <= r->p->max_message);
	} else {
		assert_true(len <= 125);
	}
	if (r->dlen + len > r->dcap) {
		r->dcap = (r->dlen + len) * 2 + 64;
		r->data = realloc(r->data, r->dcap);
		assert_non_null(r->data);
	}
	if (len)
		memcpy(r->data + r->dlen, data, len);
	r->ev[r->n] = (ev){.kind = (int)kind, .len = len, .off = r->dlen};
	r->dlen += len;
	return r->n++ == r->cancel_at ? -1 : 0;
}

static void ev_is(const rec *r, int i, int kind, const void *data, size_t len)
{
	assert_true(i < r->n);
	assert_int_equal(r->ev[i].kind, kind);
	assert_int_equal(r->ev[i].len, len);
	if (len)
		assert_memory_equal(r->data + r->ev[i].off, data, len);
}

static void rec_same(const rec *a, const rec *b)
{
	assert_int_equal(a->n, b->n);
	for (int i = 0; i < a->n; i++)
		ev_is(b, i, a->ev[i].kind, a->data + a->ev[i].off, a->ev[i].len);
}

/* Feeds in to a fresh parser in pieces cut at cuts[0..ncut) (increasing),
 * each piece in its own exact-size heap block (ASan sees over-reads). The
 * return of the last feed that was not 0, or 0. */
static int feed_cuts(rec *r, ws_rxp *p, const uint8_t *in, size_t len, const size_t *cuts,
		     int ncut)
{
	size_t at = 0;
	int rc = 0;

	for (int i = 0; i <= ncut; i++) {
		size_t to = i < ncut ? cuts[i] : len, n = to - at;
		unsigned char *piece = malloc(n ? n : 1);
		int x;

		assert_non_null(piece);
		if (n)
			memcpy(piece, in + at, n);
		x = ws_rxp_feed(p, piece, n);
		free(piece);
		if (x) {
			assert_int_equal(rc, 0); /* one non-zero return, then only 0 */
			rc = x;
		}
		at = to;
	}
	(void)r;
	return rc;
}

typedef struct {
	int rc, code;
} outcome;

/* One parse of in with these settings, cut as given. */
static outcome parse(rec *r, const uint8_t *in, size_t len, size_t max, bool binary_ok,
		     const size_t *cuts, int ncut)
{
	ws_rxp p;
	outcome o;

	rec_init(r);
	ws_rxp_init(&p, max, 4096, rec_h, r);
	p.binary_ok = binary_ok;
	r->p = &p;
	o.rc = feed_cuts(r, &p, in, len, cuts, ncut);
	o.code = p.code;
	r->p = NULL;
	ws_rxp_free(&p);
	return o;
}

/* Whole, byte by byte, and every 2-way split give the same events and end. */
static void check_splits(const uint8_t *in, size_t len, size_t max, bool binary_ok,
			 const rec *want, outcome wo)
{
	rec r;
	outcome o;
	size_t *cuts = malloc((len + 1) * sizeof(*cuts));

	assert_non_null(cuts);
	for (size_t i = 0; i < len; i++)
		cuts[i] = i + 1;
	o = parse(&r, in, len, max, binary_ok, cuts, len ? (int)len - 1 : 0);
	assert_int_equal(o.rc, wo.rc);
	assert_int_equal(o.code, wo.code);
	rec_same(want, &r);
	rec_free(&r);
	for (size_t c = 0; c <= len; c++) {
		o = parse(&r, in, len, max, binary_ok, &c, 1);
		assert_int_equal(o.rc, wo.rc);
		assert_int_equal(o.code, wo.code);
		rec_same(want, &r);
		rec_free(&r);
	}
	free(cuts);
}

/* ---- ws_rxp: messages ------------------------------------------------------ */

static void single_frames(void **state)
{
	(void)state;
	size_t sizes[] = {0, 1, 5, 125, 126, 300, 0xffff, 0x10000, 70000};
	size_t cap = 70000 + 14;
	uint8_t *buf = malloc(cap), *pl = malloc(70000);
	rec r;

	assert_non_null(buf);
	assert_non_null(pl);
	for (size_t i = 0; i < 70000; i++)
		pl[i] = (uint8_t)('a' + i % 26);
	for (size_t s = 0; s < VX_ARRAY_LEN(sizes); s++) {
		static const int forms[] = {0, 16, 64};

		for (size_t f = 0; f < VX_ARRAY_LEN(forms); f++) {
			int lf = forms[f];
			size_t n = sizes[s], fl;
			outcome o;

			if (lf == 16 && n > 0xffff)
				continue;
			fl = frame_lf(buf, FIN | WS_OP_TEXT, pl, n, lf);
			assert_int_equal(fl, n + (lf == 64 ? 10 : lf == 16 ? 4 : n < 126 ? 2 : n <= 0xffff ? 4 : 10));
			o = parse(&r, buf, fl, 100000, true, NULL, 0);
			assert_int_equal(o.rc, 0);
			assert_int_equal(o.code, 0);
			assert_int_equal(r.n, 1);
			ev_is(&r, 0, WS_RXP_TEXT, pl, n);
			rec_free(&r);
		}
	}
	/* binary, NULs and high bytes inside */
	{
		static const uint8_t bin[] = {0, 1, 0xff, 0, 0x80, 0x81, '\n', 0};
		size_t fl = frame(buf, FIN | WS_OP_BINARY, bin, sizeof(bin));
		outcome o = parse(&r, buf, fl, 100, true, NULL, 0);

		assert_int_equal(o.rc, 0);
		assert_int_equal(r.n, 1);
		ev_is(&r, 0, WS_RXP_BINARY, bin, sizeof(bin));
		rec_free(&r);
	}
	/* exactly max_message is fine (one frame) */
	{
		size_t fl = frame(buf, FIN | WS_OP_TEXT, pl, 300);
		outcome o = parse(&r, buf, fl, 300, true, NULL, 0);

		assert_int_equal(o.rc, 0);
		ev_is(&r, 0, WS_RXP_TEXT, pl, 300);
		rec_free(&r);
	}
	/* messages back to back in one read */
	{
		size_t fl = frame(buf, FIN | WS_OP_TEXT, "one", 3);
		outcome o;

		fl += frame(buf + fl, FIN | WS_OP_BINARY, "two", 3);
		fl += frame(buf + fl, FIN | WS_OP_TEXT, "", 0);
		fl += frame(buf + fl, FIN | WS_OP_TEXT, pl, 200);
		o = parse(&r, buf, fl, 1000, true, NULL, 0);
		assert_int_equal(o.rc, 0);
		assert_int_equal(r.n, 4);
		ev_is(&r, 0, WS_RXP_TEXT, "one", 3);
		ev_is(&r, 1, WS_RXP_BINARY, "two", 3);
		ev_is(&r, 2, WS_RXP_TEXT, "", 0);
		ev_is(&r, 3, WS_RXP_TEXT, pl, 200);
		rec_free(&r);
	}
	free(buf);
	free(pl);
}

/* text in three fragments with a ping and a pong between them, a binary
 * message in two, then a close: the stream every split test uses */
static size_t mixed_stream(uint8_t *b, const uint8_t *big, size_t bign)
{
	size_t n = 0;

	n += frame(b + n, WS_OP_TEXT, "Hello", 5);
	n += frame(b + n, FIN | WS_OP_PING, "p1", 2);
	n += frame(b + n, WS_OP_CONT, ", ", 2);
	n += frame(b + n, FIN | WS_OP_PONG, "", 0);
	n += frame(b + n, WS_OP_CONT, "", 0); /* empty fragment */
	n += frame(b + n, FIN | WS_OP_CONT, "world", 5);
	n += frame(b + n, WS_OP_BINARY, big, bign);
	n += frame(b + n, FIN | WS_OP_PING, "", 0);
	n += frame(b + n, FIN | WS_OP_CONT, "\0z", 2);
	n += frame(b + n, FIN | WS_OP_TEXT, "x", 1);
	n += frame(b + n, FIN | WS_OP_CLOSE, "\x03\xe8" "bye", 5);
	return n;
}

static void fragments_and_control(void **state)
{
	(void)state;
	uint8_t b[1024], big[130], binmsg[132];
	size_t n;
	rec r;
	outcome o;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	memcpy(binmsg, big, sizeof(big));
	memcpy(binmsg + sizeof(big), "\0z", 2);
	n = mixed_stream(b, big, sizeof(big));
	o = parse(&r, b, n, 1000, true, NULL, 0);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.code, 0);
	assert_int_equal(r.n, 7);
	ev_is(&r, 0, WS_RXP_PING, "p1", 2); /* before the message completes */
	ev_is(&r, 1, WS_RXP_PONG, "", 0);
	ev_is(&r, 2, WS_RXP_TEXT, "Hello, world", 12);
	ev_is(&r, 3, WS_RXP_PING, "", 0);
	ev_is(&r, 4, WS_RXP_BINARY, binmsg, sizeof(binmsg));
	ev_is(&r, 5, WS_RXP_TEXT, "x", 1);
	ev_is(&r, 6, WS_RXP_CLOSE, "\x03\xe8" "bye", 5);
	rec_free(&r);
}

static void every_split(void **state)
{
	(void)state;
	uint8_t b[1024], big[130];
	size_t n;
	rec want;
	outcome wo;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	n = mixed_stream(b, big, sizeof(big));
	wo = parse(&want, b, n, 1000, true, NULL, 0);
	assert_int_equal(want.n, 7);
	check_splits(b, n, 1000, true, &want, wo);
	rec_free(&want);

	/* 16- and 64-bit lengths split inside the extended length */
	{
		uint8_t pl[300];

		memset(pl, 'q', sizeof(pl));
		n = frame_lf(b, FIN | WS_OP_TEXT, pl, 300, 16);
		n += frame_lf(b + n, FIN | WS_OP_TEXT, pl, 200, 64);
		n += frame_lf(b + n, FIN | WS_OP_PING, pl, 125, 0);
		wo = parse(&want, b, n, 1000, true, NULL, 0);
		assert_int_equal(want.n, 3);
		ev_is(&want, 0, WS_RXP_TEXT, pl, 300);
		ev_is(&want, 1, WS_RXP_TEXT, pl, 200);
		ev_is(&want, 2, WS_RXP_PING, pl, 125);
		check_splits(b, n, 1000, true, &want, wo);
		rec_free(&want);
	}
}

static void close_frames(void **state)
{
	(void)state;
	uint8_t b[512], reason[125];
	size_t n;
	rec r;
	outcome o;
	ws_rxp p;

	/* code + reason, then a text frame in the same read: not parsed */
	n = frame(b, FIN | WS_OP_CLOSE, "\x0f\xa0going away", 12);
	n += frame(b + n, FIN | WS_OP_TEXT, "after", 5);
	o = parse(&r, b, n, 100, true, NULL, 0);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.code, 0);
	assert_int_equal(r.n, 1);
	ev_is(&r, 0, WS_RXP_CLOSE, "\x0f\xa0going away", 12);
	rec_free(&r);
	{
		rec want;
		outcome wo = parse(&want, b, n, 100, true, NULL, 0);

		check_splits(b, n, 100, true, &want, wo);
		rec_free(&want);
	}

	/* empty close; later feeds read nothing and return 0 */
	rec_init(&r);
	ws_rxp_init(&p, 100, 4096, rec_h, &r);
	n = frame(b, FIN | WS_OP_CLOSE, "", 0);
	assert_int_equal(ws_rxp_feed(&p, b, n), 0);
	assert_int_equal(r.n, 1);
	ev_is(&r, 0, WS_RXP_CLOSE, "", 0);
	assert_true(p.done);
	assert_int_equal(p.code, 0);
	n = frame(b, FIN | WS_OP_TEXT, "x", 1);
	assert_int_equal(ws_rxp_feed(&p, b, n), 0);
	assert_int_equal(ws_rxp_feed(&p, (const uint8_t *)"\xff\xff", 2), 0); /* even garbage */
	assert_int_equal(r.n, 1);
	assert_int_equal(p.code, 0);
	ws_rxp_free(&p);
	rec_free(&r);

	/* the edges of the codes a peer may send are delivered */
	{
		static const uint16_t ok[] = { 1000, 1003, 1007, 1014, 3000, 4999 };

		for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
			uint8_t body[2] = { (uint8_t)(ok[i] >> 8), (uint8_t)ok[i] };

			n = frame(b, FIN | WS_OP_CLOSE, body, 2);
			o = parse(&r, b, n, 100, true, NULL, 0);
			assert_int_equal(o.rc, 0);
			assert_int_equal(o.code, 0);
			assert_int_equal(r.n, 1);
			ev_is(&r, 0, WS_RXP_CLOSE, body, 2);
			rec_free(&r);
		}
	}

	/* the longest close frame, inside a fragmented message */
	memset(reason, 'r', sizeof(reason));
	reason[0] = 0x03;
	reason[1] = 0xe9;
	n = frame(b, WS_OP_TEXT, "part", 4);
	n += frame(b + n, FIN | WS_OP_CLOSE, reason, sizeof(reason));
	n += frame(b + n, FIN | WS_OP_CONT, "rest", 4);
	o = parse(&r, b, n, 100, true, NULL, 0);
	assert_int_equal(o.rc, 0);
	assert_int_equal(r.n, 1);
	ev_is(&r, 0, WS_RXP_CLOSE, reason, sizeof(reason));
	rec_free(&r);
}

/* ---- ws_rxp: errors ---------------------------------------------------------- */

typedef struct {
	const char *name;
	uint8_t in[32];
	size_t len;
	size_t max;
	bool binary_ok;
	int rc, code;
	int events; /* delivered before the error */
} bad;

static void errors(void **state)
{
	(void)state;
	static const bad t[] = {
		{"rsv1", {0xc1, 0x01, 'x'}, 3, 100, true, -EPROTO, 1002, 0},
		{"rsv2", {0xa1, 0x01, 'x'}, 3, 100, true, -EPROTO, 1002, 0},
		{"rsv3", {0x91, 0x01, 'x'}, 3, 100, true, -EPROTO, 1002, 0},
		{"opcode 3", {0x83, 0x00}, 2, 100, true, -EPROTO, 1002, 0},
		{"opcode 7", {0x87, 0x00}, 2, 100, true, -EPROTO, 1002, 0},
		{"opcode 0xb", {0x8b, 0x00}, 2, 100, true, -EPROTO, 1002, 0},
		{"opcode 0xf", {0x8f, 0x00}, 2, 100, true, -EPROTO, 1002, 0},
		{"masked", {0x81, 0x81, 1, 2, 3, 4, 'x'}, 7, 100, true, -EPROTO, 1002, 0},
		{"masked empty", {0x81, 0x80, 1, 2, 3, 4}, 6, 100, true, -EPROTO, 1002, 0},
		{"ping len 126", {0x89, 126, 0, 126}, 4, 1000, true, -EPROTO, 1002, 0},
		{"close len 127", {0x88, 127, 0, 0, 0, 0, 0, 0, 0, 1}, 10, 1000, true, -EPROTO, 1002, 0},
		{"ping FIN=0", {0x09, 0x00}, 2, 100, true, -EPROTO, 1002, 0},
		{"close FIN=0", {0x08, 0x00}, 2, 100, true, -EPROTO, 1002, 0},
		/* RFC 6455 5.5.1, 7.4: close bodies a peer may not send */
		{"close 1-byte body", {0x88, 0x01, 0x03}, 3, 100, true, -EPROTO, 1002, 0},
		{"close 999", {0x88, 0x02, 0x03, 0xe7}, 4, 100, true, -EPROTO, 1002, 0},
		{"close 1004", {0x88, 0x02, 0x03, 0xec}, 4, 100, true, -EPROTO, 1002, 0},
		{"close 1005", {0x88, 0x02, 0x03, 0xed}, 4, 100, true, -EPROTO, 1002, 0},
		{"close 1006 + reason", {0x88, 0x03, 0x03, 0xee, 'x'}, 5, 100, true, -EPROTO, 1002, 0},
		{"close 1015", {0x88, 0x02, 0x03, 0xf7}, 4, 100, true, -EPROTO, 1002, 0},
		{"close 2999", {0x88, 0x02, 0x0b, 0xb7}, 4, 100, true, -EPROTO, 1002, 0},
		{"close 5000", {0x88, 0x02, 0x13, 0x88}, 4, 100, true, -EPROTO, 1002, 0},
		{"cont alone", {0x80, 0x01, 'x'}, 3, 100, true, -EPROTO, 1002, 0},
		{"cont after message", {0x81, 0x01, 'a', 0x80, 0x01, 'x'}, 6, 100, true, -EPROTO, 1002, 1},
		{"text in text", {0x01, 0x01, 'a', 0x81, 0x01, 'b'}, 6, 100, true, -EPROTO, 1002, 0},
		{"binary in text", {0x01, 0x01, 'a', 0x82, 0x01, 'b'}, 6, 100, true, -EPROTO, 1002, 0},
		{"text in text after ping", {0x01, 0x01, 'a', 0x89, 0x00, 0x01, 0x00}, 7, 100, true, -EPROTO, 1002, 1},
		{"64-bit top bit", {0x81, 127, 0x80, 0, 0, 0, 0, 0, 0, 1}, 10, 100, true, -EPROTO, 1002, 0},
		{"64-bit all ones", {0x82, 127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 10, 100, true, -EPROTO, 1002, 0},
		{"too big 7-bit", {0x81, 101}, 2, 100, true, -EMSGSIZE, 1009, 0},
		{"too big 16-bit", {0x81, 126, 0xff, 0xff}, 4, 1000, true, -EMSGSIZE, 1009, 0},
		{"too big 64-bit", {0x81, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 10, 1000, true, -EMSGSIZE, 1009, 0},
		{"too big fragments", {0x01, 3, 'a', 'b', 'c', 0x80, 2}, 7, 4, true, -EMSGSIZE, 1009, 0},
		{"too big cont 64-bit", {0x01, 0, 0x80, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 12, 4, true, -EMSGSIZE, 1009, 0},
		{"binary refused", {0x82, 0x01, 'b'}, 3, 100, false, -ENOTSUP, 1003, 0},
		{"binary frag refused", {0x02, 0x00}, 2, 100, false, -ENOTSUP, 1003, 0},
		{"binary after text", {0x81, 0x01, 'a', 0x82, 0x00}, 5, 100, false, -ENOTSUP, 1003, 1},
	};

	for (size_t i = 0; i < VX_ARRAY_LEN(t); i++) {
		uint8_t after[8];
		size_t an = frame(after, FIN | WS_OP_TEXT, "ok", 2);
		rec r;
		ws_rxp p;
		int rc;

		print_message("  %s\n", t[i].name);
		rec_init(&r);
		ws_rxp_init(&p, t[i].max, 4096, rec_h, &r);
		p.binary_ok = t[i].binary_ok;
		r.p = &p;
		/* refused at the header: no payload is needed for the verdict */
		rc = ws_rxp_feed(&p, t[i].in, t[i].len);
		assert_int_equal(rc, t[i].rc);
		assert_int_equal(p.code, t[i].code);
		assert_non_null(p.why);
		assert_true(p.done);
		assert_int_equal(r.n, t[i].events);
		/* afterwards: nothing read, nothing called */
		assert_int_equal(ws_rxp_feed(&p, after, an), 0);
		assert_int_equal(ws_rxp_feed(&p, t[i].in, t[i].len), 0);
		assert_int_equal(r.n, t[i].events);
		assert_int_equal(p.code, t[i].code);
		ws_rxp_free(&p);
		/* the same verdict however the input is cut */
		check_splits(t[i].in, t[i].len, t[i].max, t[i].binary_ok, &r,
			     (outcome){t[i].rc, t[i].code});
		rec_free(&r);
	}
}

static void too_big_across_fragments(void **state)
{
	(void)state;
	uint8_t b[256], pl[100];
	size_t n;
	rec r;
	outcome o;

	memset(pl, 'm', sizeof(pl));
	/* 60 + 40 = max: fine; 60 + 41: refused at the second header */
	n = frame(b, WS_OP_TEXT, pl, 60);
	n += frame(b + n, FIN | WS_OP_CONT, pl, 40);
	o = parse(&r, b, n, 100, true, NULL, 0);
	assert_int_equal(o.rc, 0);
	ev_is(&r, 0, WS_RXP_TEXT, pl, 100);
	rec_free(&r);

	n = frame(b, WS_OP_TEXT, pl, 60);
	n += frame(b + n, FIN | WS_OP_PING, "", 0);
	n += frame(b + n, WS_OP_CONT, pl, 41); /* header + payload, but refused */
	o = parse(&r, b, n - 41, 100, true, NULL, 0); /* header only */
	assert_int_equal(o.rc, -EMSGSIZE);
	assert_int_equal(o.code, 1009);
	assert_int_equal(r.n, 1);
	ev_is(&r, 0, WS_RXP_PING, "", 0);
	rec_free(&r);

	/* many empty-ish fragments add up */
	n = 0;
	for (int i = 0; i < 11; i++)
		n += frame(b + n, i ? WS_OP_CONT : WS_OP_TEXT, pl, 10);
	o = parse(&r, b, n, 100, true, NULL, 0);
	assert_int_equal(o.rc, -EMSGSIZE);
	assert_int_equal(o.code, 1009);
	assert_int_equal(r.n, 0);
	rec_free(&r);
}

static void handler_cancels(void **state)
{
	(void)state;
	uint8_t b[128];
	size_t n;
	rec r;
	ws_rxp p;

	n = frame(b, FIN | WS_OP_TEXT, "first", 5);
	n += frame(b + n, FIN | WS_OP_TEXT, "second", 6);
	rec_init(&r);
	r.cancel_at = 0;
	ws_rxp_init(&p, 100, 4096, rec_h, &r);
	assert_int_equal(ws_rxp_feed(&p, b, n), -ECANCELED);
	assert_int_equal(r.n, 1);
	ev_is(&r, 0, WS_RXP_TEXT, "first", 5);
	assert_int_equal(p.code, 0);
	ws_rxp_free(&p);
	rec_free(&r);

	/* from a ping between fragments */
	n = frame(b, WS_OP_TEXT, "a", 1);
	n += frame(b + n, FIN | WS_OP_PING, "pp", 2);
	n += frame(b + n, FIN | WS_OP_CONT, "b", 1);
	rec_init(&r);
	r.cancel_at = 0;
	ws_rxp_init(&p, 100, 4096, rec_h, &r);
	assert_int_equal(ws_rxp_feed(&p, b, n), -ECANCELED);
	assert_int_equal(r.n, 1);
	ev_is(&r, 0, WS_RXP_PING, "pp", 2);
	ws_rxp_free(&p);
	rec_free(&r);

	/* from a close */
	n = frame(b, FIN | WS_OP_CLOSE, "\x03\xe8", 2);
	rec_init(&r);
	r.cancel_at = 0;
	ws_rxp_init(&p, 100, 4096, rec_h, &r);
	assert_int_equal(ws_rxp_feed(&p, b, n), -ECANCELED);
	assert_int_equal(ws_rxp_feed(&p, b, n), 0); /* after a close: nothing */
	assert_int_equal(r.n, 1);
	ws_rxp_free(&p);
	rec_free(&r);
}

static void memory_reuse(void **state)
{
	(void)state;
	size_t big = 10000;
	uint8_t *b = malloc(big + 64), *pl = malloc(big);
	unsigned char *kept;
	size_t n, cap;
	rec r;
	ws_rxp p;

	assert_non_null(b);
	assert_non_null(pl);
	memset(pl, 'k', big);
	rec_init(&r);
	ws_rxp_init(&p, 100000, 4096, rec_h, &r);
	assert_null(p.msg);
	assert_int_equal(p.msg_cap, 0);

	/* small messages: one buffer, kept and reused */
	n = frame(b, FIN | WS_OP_TEXT, pl, 100);
	assert_int_equal(ws_rxp_feed(&p, b, n), 0);
	assert_non_null(p.msg);
	kept = p.msg;
	cap = p.msg_cap;
	assert_true(cap >= 101 && cap <= 4096);
	n = frame(b, WS_OP_TEXT, pl, 50);
	n += frame(b + n, FIN | WS_OP_CONT, pl, 60);
	assert_int_equal(ws_rxp_feed(&p, b, n), 0);
	assert_ptr_equal(p.msg, kept);
	assert_int_equal(p.msg_cap, cap);
	assert_int_equal(r.n, 2);

	/* a big one: released after delivery */
	n = frame(b, FIN | WS_OP_TEXT, pl, big);
	assert_int_equal(ws_rxp_feed(&p, b, n), 0);
	assert_int_equal(r.n, 3);
	ev_is(&r, 2, WS_RXP_TEXT, pl, big);
	assert_null(p.msg);
	assert_int_equal(p.msg_cap, 0);
	assert_int_equal(p.msg_len, 0);

	/* and a big fragmented one, with the buffer released mid-way never */
	n = frame(b, WS_OP_TEXT, pl, 3000);
	n += frame(b + n, FIN | WS_OP_CONT, pl, 3000);
	assert_int_equal(ws_rxp_feed(&p, b, n), 0);
	ev_is(&r, 3, WS_RXP_TEXT, pl, 6000);
	assert_null(p.msg);
	assert_int_equal(p.msg_cap, 0);

	/* small again: a buffer again, which then stays */
	n = frame(b, FIN | WS_OP_TEXT, "s", 1);
	assert_int_equal(ws_rxp_feed(&p, b, n), 0);
	assert_non_null(p.msg);
	kept = p.msg;
	assert_int_equal(ws_rxp_feed(&p, b, n), 0);
	assert_ptr_equal(p.msg, kept);
	ev_is(&r, 5, WS_RXP_TEXT, "s", 1);

	/* control frames never touch the message buffer */
	n = frame(b, FIN | WS_OP_PING, pl, 125);
	assert_int_equal(ws_rxp_feed(&p, b, n), 0);
	assert_ptr_equal(p.msg, kept);
	ws_rxp_free(&p);
	assert_null(p.msg);
	ws_rxp_free(&p); /* twice is fine */
	rec_free(&r);
	free(b);
	free(pl);
}

static void rxbuf_reserve(void **state)
{
	(void)state;
	unsigned char *buf = NULL, *before;
	size_t cap = 0;

	assert_int_equal(ws_rxbuf_reserve(&buf, &cap, 0, 100), 0); /* need <= cap */
	assert_null(buf);
	assert_int_equal(ws_rxbuf_reserve(&buf, &cap, 10, 100000), 0);
	assert_non_null(buf);
	assert_int_equal(cap, 1024); /* a first size, at least need */
	before = buf;
	assert_int_equal(ws_rxbuf_reserve(&buf, &cap, 1024, 100000), 0);
	assert_ptr_equal(buf, before);
	assert_int_equal(cap, 1024);
	assert_int_equal(ws_rxbuf_reserve(&buf, &cap, 1025, 100000), 0);
	assert_int_equal(cap, 2048); /* doubling */
	assert_int_equal(ws_rxbuf_reserve(&buf, &cap, 9000, 100000), 0);
	assert_int_equal(cap, 9000); /* at least need */
	memset(buf, 'z', cap);       /* ASan: really that big */
	assert_int_equal(ws_rxbuf_reserve(&buf, &cap, 9001, 12000), 0);
	assert_int_equal(cap, 12000); /* doubling capped at limit */
	assert_int_equal(ws_rxbuf_reserve(&buf, &cap, 12000, 12000), 0);
	assert_int_equal(cap, 12000);
	assert_int_equal(ws_rxbuf_reserve(&buf, &cap, 12001, 12000), -ENOMEM); /* need > limit */
	assert_int_equal(cap, 12000);
	assert_int_equal(buf[0], 'z'); /* contents kept */
	assert_int_equal(buf[8999], 'z');
	free(buf);

	buf = NULL;
	cap = 0;
	assert_int_equal(ws_rxbuf_reserve(&buf, &cap, 5, 100), 0);
	assert_int_equal(cap, 100); /* first size capped at limit */
	free(buf);
	buf = NULL;
	cap = 0;
	assert_int_equal(ws_rxbuf_reserve(&buf, &cap, 5000, 100000), 0);
	assert_int_equal(cap, 5000); /* first size: need when bigger */
	free(buf);
}

/* ---- ws_hs --------------------------------------------------------------------- */

#define RFC_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define OK_HEAD                                                                            \
	"HTTP/1.1 101 Switching Protocols\r\n"                                             \
	"Upgrade: websocket\r\n"                                                           \
	"Connection: Upgrade\r\n"                                                          \
	"Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n"

/* ws_hs_response on an exact-size copy of s (no NUL after it). */
static int hs_resp(const char *s, size_t len, unsigned *st, char *why, size_t wl)
{
	char *c = malloc(len ? len : 1);
	int rc;

	assert_non_null(c);
	memcpy(c, s, len);
	*st = 12345;
	rc = ws_hs_response(c, len, RFC_KEY, st, why, wl);
	free(c);
	return rc;
}

static void hs_key(void **state)
{
	(void)state;
	char key[WS_HS_KEY_LEN + 1];

	assert_int_equal(ws_hs_key(key, (const uint8_t *)"the sample nonce"), 0);
	assert_string_equal(key, RFC_KEY);
	assert_int_equal(strlen(key), WS_HS_KEY_LEN);
}

static void hs_response_ok(void **state)
{
	(void)state;
	static const char *const good[] = {
		OK_HEAD,
		/* names in any case, token lists, spaces and tabs around values */
		"HTTP/1.1 101 Switching Protocols\r\n"
		"upgrade: WebSocket\r\n"
		"CONNECTION: keep-alive, Upgrade\r\n"
		"Server: x\r\n"
		"sec-websocket-accept:\t " RFC_ACCEPT " \t\r\n\r\n",
		"HTTP/1.1 101\r\n"
		"Connection:upgrade , close\r\n"
		"Upgrade:  h2c,websocket \r\n"
		"SEC-WEBSOCKET-ACCEPT: " RFC_ACCEPT "\r\n"
		"Date: Mon, 1 Jan 2024 00:00:00 GMT\r\n\r\n",
		"HTTP/1.0 101 OK\r\nSec-WebSocket-Accept: " RFC_ACCEPT "\r\nConnection: Upgrade\r\n"
		"Upgrade: websocket\r\n\r\n",
	};
	char why[128], *buf;
	unsigned st;

	for (size_t g = 0; g < VX_ARRAY_LEN(good); g++) {
		size_t hl = strlen(good[g]);

		print_message("  good[%zu]\n", g);
		why[0] = '\0';
		assert_int_equal(hs_resp(good[g], hl, &st, why, sizeof(why)), (int)hl);
		assert_int_equal(st, 101);
		/* followed by frames (even a "\r\n\r\n" in them): the head's length */
		buf = malloc(hl + 16);
		assert_non_null(buf);
		memcpy(buf, good[g], hl);
		memcpy(buf + hl, "\x81\x04\r\n\r\n\x89\x00", 8);
		assert_int_equal(hs_resp(buf, hl + 8, &st, why, sizeof(why)), (int)hl);
		assert_int_equal(st, 101);
		/* every prefix: incomplete */
		for (size_t n = 0; n < hl; n++) {
			assert_int_equal(hs_resp(buf, n, &st, why, sizeof(why)), 0);
			assert_int_equal(st, 0);
		}
		free(buf);
	}
}

static void hs_response_bad(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int rc;
		unsigned st;
		const char *why; /* NULL: not checked */
	} t[] = {
		{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOp=\r\n\r\n", -EPROTO, 101, NULL},
		{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Accept: " RFC_ACCEPT "x\r\n\r\n", -EPROTO, 101, NULL},
		{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
		 -EPROTO, 101, NULL},
		{"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n", -EPROTO, 101, NULL},
		{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		 "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n", -EPROTO, 101, NULL},
		{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websockets\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n", -EPROTO, 101, NULL},
		{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgraded\r\n"
		 "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n", -EPROTO, 101, NULL},
		{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n",
		 -EPROTO, 101, NULL},
		{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\nsec-websocket-extensions: permessage-deflate\r\n\r\n",
		 -EPROTO, 101, NULL},
		{"HTTP/1.1 101 Switching Protocols\r\nUpgrade websocket\r\n\r\n", -EPROTO, 101, NULL},
		{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\rX\r\n\r\n", -EPROTO, 101, NULL},
		{"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", -ECONNREFUSED, 403,
		 "HTTP 403: Forbidden"},
		{"HTTP/1.1 401 Unauthorized\r\n\r\n", -ECONNREFUSED, 401, "HTTP 401: Unauthorized"},
		{"HTTP/1.1 200\r\n\r\n", -ECONNREFUSED, 200, "HTTP 200: "},
		{"HTTP/1.1 500 Bad\x01 stuff\r\n\r\n", -ECONNREFUSED, 500, "HTTP 500: Bad"},
		{"HTTP/1.1 502 Bad\x1b[31mred\r\n\r\n", -ECONNREFUSED, 502, "HTTP 502: Bad"},
		{"HTTP/1.1 503 Ca\xc3\xa9\r\n\r\n", -ECONNREFUSED, 503, "HTTP 503: Ca"},
		{"HTTP/1.1 404 Not\nFound\r\n\r\n", -ECONNREFUSED, 404, "HTTP 404: Not"},
		{"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\r\n", -EPROTO, 0, NULL},
		{"HTTP/1.1 99 Low\r\n\r\n", -EPROTO, 0, NULL},
		{"HTTP/1.1 600 High\r\n\r\n", -EPROTO, 0, NULL},
		{"HTTP/1.1 1010 x\r\n\r\n", -EPROTO, 0, NULL},
		{"HTTP/1.1 abc x\r\n\r\n", -EPROTO, 0, NULL},
		{"HTTP/1.1 101\r\r\n\r\n", -EPROTO, 101, NULL},
		{"HTTP/2 101 x\r\n\r\n", -EPROTO, 0, NULL},
		{"\r\n\r\n", -EPROTO, 0, NULL},
		{"HTTP/1.1\r\n\r\n", -EPROTO, 0, NULL},
		/* the status is three digits right after "HTTP/1.x ": no signs,
		 * no whitespace (sscanf's %u would skip it, past the head too) */
		{"HTTP/1.1 +99 x\r\n\r\n", -EPROTO, 0, NULL},
		{"HTTP/1.1 \t404 x\r\n\r\n", -EPROTO, 0, NULL},
		{"HTTP/1.1 1 1 x\r\n\r\n", -EPROTO, 0, NULL},
	};
	char why[128];
	unsigned st;

	for (size_t i = 0; i < VX_ARRAY_LEN(t); i++) {
		print_message("  bad[%zu]\n", i);
		why[0] = '\0';
		assert_int_equal(hs_resp(t[i].in, strlen(t[i].in), &st, why, sizeof(why)), t[i].rc);
		assert_int_equal(st, t[i].st);
		assert_true(why[0] != '\0');
		if (t[i].why)
			assert_string_equal(why, t[i].why);
	}
	/* a long reason phrase is cut, a small why buffer truncated */
	{
		char in[256];

		snprintf(in, sizeof(in), "HTTP/1.1 429 %0200d\r\n\r\n", 0);
		assert_int_equal(hs_resp(in, strlen(in), &st, why, sizeof(why)), -ECONNREFUSED);
		assert_int_equal(strlen(why), strlen("HTTP 429: ") + 80);
		assert_int_equal(hs_resp(in, strlen(in), &st, why, 8), -ECONNREFUSED);
		assert_string_equal(why, "HTTP 42");
	}
}

/* "HTTP/1.1" + four spaces: sscanf("%3u") skips whitespace past the status
 * line and the head's end, reading bytes that are not the status (past len
 * when nothing follows: ASan, the buffer is exact-size). */
static void hs_status_overread(void **state)
{
	(void)state;
	static const char *const t[] = {
		"HTTP/1.1    \r\n\r\n",
		"HTTP/1.1    \r\n\r\n101 ",
		"HTTP/1.1 \t\t\t 404 Not Found\r\n\r\n",
		"HTTP/1.1    101\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n",
	};
	char why[128];
	unsigned st;

	for (size_t i = 0; i < VX_ARRAY_LEN(t); i++) {
		print_message("  overread[%zu]\n", i);
		assert_int_equal(hs_resp(t[i], strlen(t[i]), &st, why, sizeof(why)), -EPROTO);
		assert_int_equal(st, 0);
	}
	/* the head ends at len; what lies after it in memory is not ours */
	{
		static const char in[] = "HTTP/1.1    \r\n\r\n101 ";
		size_t hl = strlen("HTTP/1.1    \r\n\r\n");

		assert_int_equal(ws_hs_response(in, hl, RFC_KEY, &st, why, sizeof(why)), -EPROTO);
		assert_int_equal(st, 0);
	}
}

static void hs_too_long(void **state)
{
	(void)state;
	char *buf = malloc(WS_HS_MAX + 8);
	char why[128];
	unsigned st;
	size_t n;

	assert_non_null(buf);
	n = (size_t)snprintf(buf, WS_HS_MAX, "HTTP/1.1 101 Switching Protocols\r\n");
	for (; n < WS_HS_MAX + 8; n++)
		buf[n] = n % 64 == 62 ? '\r' : n % 64 == 63 ? '\n' : n % 64 < 3 ? 'X' : 'a';
	/* a colon-less header line every 64 bytes, never the blank line */
	assert_int_equal(hs_resp(buf, WS_HS_MAX - 1, &st, why, sizeof(why)), 0);
	assert_int_equal(hs_resp(buf, WS_HS_MAX, &st, why, sizeof(why)), -EPROTO);
	assert_int_equal(st, 0);
	assert_true(why[0] != '\0');
	assert_int_equal(hs_resp(buf, WS_HS_MAX + 8, &st, why, sizeof(why)), -EPROTO);
	free(buf);
}

static void hs_request(void **state)
{
	(void)state;
	static const char want[] =
		"GET /v1/realtime?model=x HTTP/1.1\r\n"
		"Host: h:8080\r\n"
		"Upgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: " RFC_KEY "\r\n"
		"Sec-WebSocket-Version: 13\r\n"
		"Authorization: Bearer k\r\n"
		"\r\n";
	static const char want0[] =
		"GET / HTTP/1.1\r\n"
		"Host: a\r\n"
		"Upgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: " RFC_KEY "\r\n"
		"Sec-WebSocket-Version: 13\r\n"
		"\r\n";
	char *hdrs[] = {"Authorization: Bearer k", NULL};
	char *two[] = {"A: 1", "B: 2", NULL};
	ws_url *u = calloc(1, sizeof(*u));
	char buf[1024];
	size_t wl = strlen(want);

	assert_non_null(u);
	snprintf(u->host, sizeof(u->host), "h");
	snprintf(u->hostport, sizeof(u->hostport), "h:8080");
	snprintf(u->path, sizeof(u->path), "/v1/realtime?model=x");
	u->port = 8080;
	assert_int_equal(ws_hs_request(buf, sizeof(buf), u, hdrs, RFC_KEY), (int)wl);
	assert_string_equal(buf, want);
	/* exact room (text + NUL), then every smaller capacity: -ENOSPC */
	for (size_t cap = 0; cap <= wl + 1; cap++) {
		char *b = malloc(cap ? cap : 1);

		assert_non_null(b);
		if (cap == wl + 1) {
			assert_int_equal(ws_hs_request(b, cap, u, hdrs, RFC_KEY), (int)wl);
			assert_memory_equal(b, want, wl + 1);
		} else {
			assert_int_equal(ws_hs_request(b, cap, u, hdrs, RFC_KEY), -ENOSPC);
		}
		free(b);
	}
	/* no headers (NULL or empty list) */
	snprintf(u->hostport, sizeof(u->hostport), "a");
	snprintf(u->path, sizeof(u->path), "/");
	assert_int_equal(ws_hs_request(buf, sizeof(buf), u, NULL, RFC_KEY), (int)strlen(want0));
	assert_string_equal(buf, want0);
	assert_int_equal(ws_hs_request(buf, sizeof(buf), u, &hdrs[1], RFC_KEY), (int)strlen(want0));
	assert_string_equal(buf, want0);
	/* two headers, every capacity */
	{
		int full = ws_hs_request(buf, sizeof(buf), u, two, RFC_KEY);

		assert_int_equal(full, (int)strlen(want0) + 12);
		assert_non_null(strstr(buf, "Version: 13\r\nA: 1\r\nB: 2\r\n\r\n"));
		for (size_t cap = 0; cap <= (size_t)full + 1; cap++) {
			char *b = malloc(cap ? cap : 1);

			assert_non_null(b);
			assert_int_equal(ws_hs_request(b, cap, u, two, RFC_KEY),
					 cap == (size_t)full + 1 ? full : -ENOSPC);
			free(b);
		}
	}
	free(u);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(single_frames),
		cmocka_unit_test(fragments_and_control),
		cmocka_unit_test(every_split),
		cmocka_unit_test(close_frames),
		cmocka_unit_test(errors),
		cmocka_unit_test(too_big_across_fragments),
		cmocka_unit_test(handler_cancels),
		cmocka_unit_test(memory_reuse),
		cmocka_unit_test(rxbuf_reserve),
		cmocka_unit_test(hs_key),
		cmocka_unit_test(hs_response_ok),
		cmocka_unit_test(hs_response_bad),
		cmocka_unit_test(hs_status_overread),
		cmocka_unit_test(hs_too_long),
		cmocka_unit_test(hs_request),
	};

	log_init("test_ws_rxp");
	if (argc > 1) /* run one test by name pattern */
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
