/* fuzz_ws_rxp: ws_rxp_feed, the frames a server sends to our WebSocket
 * clients (common/ws_rxp.c).
 * Input: 4 control bytes then the byte stream from the server. Bytes 0-1:
 * max_message (1..4096); byte 2: bit 0 binary_ok, bits 1-2 keep (64, 256,
 * 1024, 4096), bits 3-7 the event whose handler call returns -1 (31:
 * never); byte 3: seed of the chunk sizes.
 * Contract checked: TEXT/BINARY data NUL-terminated and at most
 * max_message bytes, BINARY only when binary_ok, control payloads at most
 * 125 bytes, nothing after a close; only the documented returns, each with
 * its close code (1002 -EPROTO, 1003 -ENOTSUP, 1009 -EMSGSIZE, 1011
 * -ENOMEM); after an error or a close, feeds return 0 and call nothing;
 * no buffer above keep kept between messages. Differential: one feed,
 * byte-by-byte feeds and random chunks give the same events (kind, length,
 * hash of the data) and the same end. */
#include "fuzz.h"

#include <errno.h>
#include <stdbool.h>

#include "ws_rxp.h"

typedef struct {
	int kind;
	size_t len;
	uint64_t hash;
} fz_ev;

typedef struct {
	const ws_rxp *p;
	fz_ev *ev;
	size_t n, cap;
	size_t cancel_at;
	bool closed;
} fz_run;

static uint64_t fnv(const unsigned char *d, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ d[i]) * 1099511628211ull;
	return h;
}

static int fz_h(void *arg, enum ws_rxp_kind kind, unsigned char *data, size_t len)
{
	fz_run *r = arg;

	FZ_CHECK(!r->closed); /* nothing after a close frame */
	switch (kind) {
	case WS_RXP_BINARY:
		FZ_CHECK(r->p->binary_ok);
		/* fall through */
	case WS_RXP_TEXT:
		FZ_CHECK(data != NULL && data[len] == '\0');
		FZ_CHECK(len <= r->p->max_message);
		break;
	case WS_RXP_CLOSE:
		r->closed = true;
		/* fall through */
	case WS_RXP_PING:
	case WS_RXP_PONG:
		FZ_CHECK(len <= 125);
		FZ_CHECK(len == 0 || data != NULL);
		break;
	default:
		FZ_CHECK(!"unknown kind");
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->ev = realloc(r->ev, r->cap * sizeof(*r->ev));
		if (!r->ev)
			abort();
	}
	r->ev[r->n] = (fz_ev){(int)kind, len, len ? fnv(data, len) : 0};
	return r->n++ == r->cancel_at ? -1 : 0;
}

typedef struct {
	int rc, code;
	bool done;
} fz_end;

static void check_state(const ws_rxp *p)
{
	FZ_CHECK(p->msg_len <= p->max_message);
	FZ_CHECK(p->msg_cap <= p->max_message + 1);
	FZ_CHECK(p->msg_cap == 0 || p->msg != NULL);
	if (!p->in_msg)
		FZ_CHECK(p->msg_cap <= p->keep); /* released after a big message */
}

/* mode 0: one feed; 1: byte by byte; 2: chunks from the seed. Each chunk
 * is an exact-size heap block (ASan sees reads past it). */
static fz_end run(fz_run *r, const uint8_t *in, size_t len, size_t max, size_t keep, bool bin,
		  int mode, unsigned seed)
{
	ws_rxp p;
	fz_end e = {0, 0, false};
	size_t at = 0;

	ws_rxp_init(&p, max, keep, fz_h, r);
	p.binary_ok = bin;
	/* cppcheck-suppress autoVariables ; cleared before returning */
	r->p = &p;
	while (at < len) {
		size_t n = len - at;
		unsigned char *chunk;
		int rc;

		if (mode == 1) {
			n = 1;
		} else if (mode == 2) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % ((seed & 0x100) ? 3 : 200);
			if (n > len - at)
				n = len - at;
		}
		chunk = malloc(n);
		if (!chunk)
			abort();
		memcpy(chunk, in + at, n);
		rc = ws_rxp_feed(&p, chunk, n);
		free(chunk);
		at += n;
		check_state(&p);
		if (rc) {
			size_t before = r->n;

			FZ_CHECK(rc == -ECANCELED || rc == -EPROTO || rc == -EMSGSIZE ||
				 rc == -ENOTSUP || rc == -ENOMEM);
			e.rc = rc;
			if (rc != -ECANCELED) {
				FZ_CHECK(p.done && p.why != NULL);
				FZ_CHECK((rc == -EPROTO && p.code == 1002) ||
					 (rc == -ENOTSUP && p.code == 1003) ||
					 (rc == -EMSGSIZE && p.code == 1009) ||
					 (rc == -ENOMEM && p.code == 1011));
				/* after an error: nothing read, nothing called */
				FZ_CHECK(ws_rxp_feed(&p, in + at, len - at) == 0);
				FZ_CHECK(ws_rxp_feed(&p, in, len) == 0);
				FZ_CHECK(r->n == before);
			}
			break; /* the caller stops reading */
		}
	}
	if (!e.rc)
		FZ_CHECK(p.code == 0);
	if (p.done && !p.code) { /* a close frame or a stop: later input is ignored */
		size_t before = r->n;

		FZ_CHECK(r->closed || e.rc == -ECANCELED);
		FZ_CHECK(ws_rxp_feed(&p, in, len) == 0 && r->n == before);
	}
	e.code = p.code;
	e.done = p.done;
	r->p = NULL;
	ws_rxp_free(&p);
	FZ_CHECK(p.msg == NULL && p.msg_cap == 0);
	return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t keeps[] = {64, 256, 1024, 4096};
	fz_run r[3];
	fz_end e[3];
	size_t max, keep;
	bool bin;
	size_t cancel_at;

	if (size < 4)
		return 0;
	max = 1 + ((size_t)data[0] | (size_t)data[1] << 8) % 4096;
	bin = data[2] & 1;
	keep = keeps[(data[2] >> 1) & 3];
	cancel_at = (data[2] >> 3) == 31 ? (size_t)-1 : (size_t)(data[2] >> 3);
	for (int m = 0; m < 3; m++) {
		memset(&r[m], 0, sizeof(r[m]));
		r[m].cancel_at = cancel_at;
		e[m] = run(&r[m], data + 4, size - 4, max, keep, bin, m, data[3]);
	}
	for (int m = 1; m < 3; m++) {
		FZ_CHECK(e[m].rc == e[0].rc && e[m].code == e[0].code && e[m].done == e[0].done);
		FZ_CHECK(r[m].n == r[0].n);
		for (size_t i = 0; i < r[0].n; i++)
			FZ_CHECK(r[m].ev[i].kind == r[0].ev[i].kind && r[m].ev[i].len == r[0].ev[i].len &&
				 r[m].ev[i].hash == r[0].ev[i].hash);
	}
	if (e[0].rc == -ECANCELED)
		FZ_CHECK(r[0].n == cancel_at + 1);
	for (int m = 0; m < 3; m++)
		free(r[m].ev);
	return 0;
}
