/* fuzz_tw_diff: differential check of tw_parse's two paths. The
 * allocation-free scanner for media/mark frames (twilio_fast.c) must give
 * exactly what the jansson path (tw_parse_tree) gives: same return code,
 * same tw_event bytes, same err text, same audio buffer bytes. Any
 * difference aborts (a finding, like a crash). The exception is media's
 * b64/b64_len, which only the scanner sets (jansson has no positions):
 * left out of the byte comparison and checked on its own (inside the
 * frame, strictly decodes to payload/len, equal when both paths set it,
 * always set by the scanner).
 * Input: one control byte then the frame. Control bit 0: direction (0
 * stream side, 1 application side); bits 1-3: the audio cap (NULL, 4, 16,
 * 160, 161, TW_MEDIA_MAX, TW_MEDIA_MAX + 1024); bit 4: err buffer of 16
 * bytes instead of 256 (truncated messages must match too).
 * Seeds: tests/fuzz/corpus/twilio and tests/fuzz/twilio.dict fit this
 * input format. */
#include "fuzz.h"

#include <errno.h>

#include "b64.h"
#include "twilio.h"
#include "twev_cmp.h"
#include "twilio_int.h"

#define BIG (TW_MEDIA_MAX + 1024)

typedef int (*parse_fn)(tw_event *ev, const char *json, size_t len, tw_dir dir, uint8_t *audio,
			size_t cap, char *err, size_t errlen);

typedef struct result {
	int r;
	tw_event ev;
	char err[256];
} result;

/* Same starting state for every run: ev, err and audio pre-filled. */
static void run(parse_fn fn, result *res, const char *s, size_t len, tw_dir dir, uint8_t *audio,
		size_t cap, size_t errlen)
{
	memset(&res->ev, 0xa5, sizeof(res->ev));
	memset(res->err, 'Z', sizeof(res->err));
	if (audio)
		memset(audio, 0x5a, cap);
	res->r = fn(&res->ev, s, len, dir, audio, cap, res->err, errlen);
}

/* twev_cmp.h: every byte but the media base64 span */
static int ev_same(const tw_event *a, const tw_event *b)
{
	return twev_same_but_span(a, b);
}

/* A set span lies in the frame and decodes strictly to payload/len. */
static void span_ok(const result *res, const char *s, size_t len)
{
	static uint8_t dec[BIG];
	const tw_event *e = &res->ev;
	uintptr_t b = (uintptr_t)e->u.media.b64, lo = (uintptr_t)s;
	size_t n = e->u.media.b64_len;
	int r;

	if (res->r != 0 || e->type != TW_MEDIA || !e->u.media.b64)
		return;
	FZ_CHECK(b >= lo && n <= len && b - lo <= len - n);
	FZ_CHECK(n == B64_ENC_LEN(e->u.media.len));
	r = b64_decode(dec, sizeof(dec), e->u.media.b64, n);
	FZ_CHECK(r == (int)e->u.media.len);
	FZ_CHECK(r == 0 || !memcmp(dec, e->u.media.payload, (size_t)r));
}

static int span_eq(const tw_event *a, const tw_event *b)
{
	return a->u.media.b64 == b->u.media.b64 && a->u.media.b64_len == b->u.media.b64_len;
}

static void same(const result *a, const result *b, const uint8_t *audio_a, const uint8_t *audio_b,
		 size_t cap)
{
	FZ_CHECK(a->r == b->r);
	FZ_CHECK(ev_same(&a->ev, &b->ev));
	FZ_CHECK(!memcmp(a->err, b->err, sizeof(a->err)));
	FZ_CHECK(!cap || !memcmp(audio_a, audio_b, cap));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[8] = {0, 4, 16, 160, 161, TW_MEDIA_MAX, BIG, BIG};
	static result tree, fast, pub;
	static uint8_t *ref;
	uint8_t *audio = NULL;
	char *s;
	tw_dir dir;
	size_t cap, errlen;

	if (size < 1)
		return 0;
	if (!ref && !(ref = malloc(BIG)))
		abort();
	dir = (data[0] & 1) ? TW_FROM_APP : TW_FROM_STREAM;
	cap = caps[(data[0] >> 1) & 7];
	errlen = (data[0] & 16) ? 16 : sizeof(tree.err);
	s = fz_dup(data + 1, size - 1); /* exact-size block: ASan flags over-reads */
	size--;
	if (cap && !(audio = malloc(cap))) /* exact size: ASan flags overruns */
		abort();

	run(tw_parse_tree, &tree, s, size, dir, audio, cap, errlen);
	if (cap)
		memcpy(ref, audio, cap);
	FZ_CHECK(tree.r == 0 || tree.r == -EBADMSG || tree.r == -EPROTO || tree.r == -EINVAL ||
		 tree.r == -ENOSPC);

	/* the scanner alone: declines, or says exactly what the tree says */
	run(tw_parse_fast, &fast, s, size, dir, audio, cap, errlen);
	FZ_CHECK(fast.r == 0 || fast.r == TW_FAST_DECLINED);
	span_ok(&tree, s, size);
	if (fast.r == 0) {
		FZ_CHECK(fast.ev.type == TW_MEDIA || fast.ev.type == TW_MARK);
		same(&tree, &fast, ref, audio, cap);
		span_ok(&fast, s, size);
		if (fast.ev.type == TW_MEDIA) {
			FZ_CHECK(fast.ev.u.media.b64 != NULL);
			FZ_CHECK(!tree.ev.u.media.b64 || span_eq(&tree.ev, &fast.ev));
		}
	}

	/* the public entry point, whichever path it took */
	run(tw_parse, &pub, s, size, dir, audio, cap, errlen);
	same(&tree, &pub, ref, audio, cap);
	if (pub.r == 0 && pub.ev.type == TW_MEDIA)
		FZ_CHECK(span_eq(fast.r == 0 ? &fast.ev : &tree.ev, &pub.ev));

	free(audio);
	free(s);
	return 0;
}
