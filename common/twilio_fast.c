/* twilio_fast: an allocation-free parser for well-formed media and mark
 * frames.
 *
 * Why it exists: media events arrive 50 times per second per call in each
 * direction, and the jansson path (twilio_parse.c) builds and frees a tree
 * for every one of them (~20-40 malloc calls per frame). Issue 7: no
 * per-frame heap allocation on the hot path. This scanner reads the fixed
 * layout of those frames straight from the text instead.
 *
 * Usage notes:
 *  - It only ever says "yes, and here is exactly what tw_parse_tree would
 *    have produced" or "declined". It declines on anything unusual: escapes
 *    or non-ASCII bytes in strings, a key that is not part of the event's
 *    schema for that direction (so also unknown extras, which the tree path
 *    ignores), a missing or duplicate key, a non-string value, nesting
 *    other than the one media/mark object, and any value the tree path
 *    would reject. Errors and messages therefore always come from the tree
 *    path, unchanged.
 *  - Accepted: JSON whitespace (space, tab, CR, LF) between tokens, keys in
 *    any order, string values made of bytes 0x20-0x7f except '"' and '\'.
 *    Within that language jansson's string value is the raw text, so the
 *    same checks on the same bytes give the same result.
 *  - Order of work: scan and validate everything first, touching neither
 *    ev nor audio; then fill ev and decode the payload last. So a decline
 *    leaves audio untouched, except when base64 decoding itself fails, in
 *    which case the tree path decodes the same text with the same cap into
 *    the same buffer (identical bytes).
 *  - One addition over the tree path: media's b64/b64_len, the payload's
 *    text in json (jansson cannot say where a value was). A scanned string
 *    holds no escapes, so that text is exactly what was decoded.
 *  - Proved equal to the tree path by tests/unit/test_twilio.c (examples,
 *    rejection cases, ~100k mutated frames) and tests/fuzz/fuzz_tw_diff.c
 *    (everything but the b64 span, which they check against payload).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "b64.h"
#include "err.h"
#include "twilio.h"
#include "twilio_int.h"

/* Every key the scanner knows. TK_MEDIA/TK_MARK are the nested objects. */
enum tf_key {
	TK_EVENT, TK_SEQ, TK_SID, TK_MEDIA, TK_MARK,
	TK_TRACK, TK_CHUNK, TK_TS, TK_PAYLOAD, TK_NAME, TK__N
};
#define TB(k) (1u << (k))

typedef struct tf_keydef {
	const char *name;
	size_t len;
	int parent; /* -1 top level, else the enclosing object's key */
} tf_keydef;

#define K(s, p) {s, sizeof(s) - 1, p}
static const tf_keydef tf_keys[TK__N] = {
	[TK_EVENT] = K("event", -1), [TK_SEQ] = K("sequenceNumber", -1),
	[TK_SID] = K("streamSid", -1), [TK_MEDIA] = K("media", -1), [TK_MARK] = K("mark", -1),
	[TK_TRACK] = K("track", TK_MEDIA), [TK_CHUNK] = K("chunk", TK_MEDIA),
	[TK_TS] = K("timestamp", TK_MEDIA), [TK_PAYLOAD] = K("payload", TK_MEDIA),
	[TK_NAME] = K("name", TK_MARK),
};

/* The exact key set of each event the scanner takes (= the tree path's
 * field tables in twilio_parse.c, f_media / f_app_media / f_mark /
 * f_app_mark, plus "event"). */
typedef struct tf_form {
	const char *event;
	size_t elen;
	tw_type type;
	tw_dir dir;
	unsigned keys;
} tf_form;

#define MEDIA_KEYS (TB(TK_EVENT) | TB(TK_SID) | TB(TK_MEDIA) | TB(TK_PAYLOAD))
#define MARK_KEYS (TB(TK_EVENT) | TB(TK_SID) | TB(TK_MARK) | TB(TK_NAME))
#define STREAM_MEDIA_KEYS (MEDIA_KEYS | TB(TK_SEQ) | TB(TK_TRACK) | TB(TK_CHUNK) | TB(TK_TS))
static const tf_form tf_forms[] = {
	{"media", 5, TW_MEDIA, TW_FROM_STREAM, STREAM_MEDIA_KEYS},
	{"media", 5, TW_MEDIA, TW_FROM_APP, MEDIA_KEYS},
	{"mark", 4, TW_MARK, TW_FROM_STREAM, MARK_KEYS | TB(TK_SEQ)},
	{"mark", 4, TW_MARK, TW_FROM_APP, MARK_KEYS},
};

typedef struct tf_span {
	const char *p;
	size_t n;
} tf_span;

typedef struct tf_scan {
	const char *p, *end;
	unsigned seen;      /* TB() of every key met, at any level */
	tf_span v[TK__N];   /* raw text of each string value */
} tf_scan;

static void tf_ws(tf_scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static bool tf_at(tf_scan *s, char c)
{
	return s->p < s->end && *s->p == c;
}

/* 1 for the bytes a string may hold here: 0x20-0x7f except '"' and '\'.
 * Anything else is for the tree path (escapes need decoding, non-ASCII
 * needs UTF-8 validation, control bytes are invalid JSON). */
static const uint8_t tf_plain[256] = {
	[0x20 ... 0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7f] = 1,
};

/* A string of tf_plain bytes; s->p at the opening quote. Unrolled by four:
 * the base64 payload is most of a media frame. */
static int tf_str(tf_scan *s, tf_span *out)
{
	const uint8_t *q = (const uint8_t *)s->p + 1, *end = (const uint8_t *)s->end;

	while (end - q >= 4 && (tf_plain[q[0]] & tf_plain[q[1]] & tf_plain[q[2]] & tf_plain[q[3]]))
		q += 4;
	while (q < end && tf_plain[*q])
		q++;
	if (q == end || *q != '"')
		return -1;
	out->p = s->p + 1;
	out->n = (size_t)((const char *)q - out->p);
	s->p = (const char *)q + 1;
	return 0;
}

static int tf_key_id(int parent, const tf_span *k)
{
	for (int i = 0; i < TK__N; i++)
		if (tf_keys[i].parent == parent && tf_keys[i].len == k->n &&
		    !memcmp(tf_keys[i].name, k->p, k->n))
			return i;
	return -1;
}

/* One object whose values are strings, or (top level only) the media or
 * mark object; s->p at '{'. Depth is at most 2 by construction: only
 * TK_MEDIA and TK_MARK may hold an object, and only at the top. */
static int tf_obj(tf_scan *s, int parent)
{
	s->p++;
	tf_ws(s);
	if (tf_at(s, '}')) {
		s->p++;
		return 0; /* {} is fine here; the key-set check catches it */
	}
	for (;;) {
		tf_span k;
		int id;

		if (!tf_at(s, '"') || tf_str(s, &k) < 0)
			return -1;
		id = tf_key_id(parent, &k);
		if (id < 0 || (s->seen & TB(id)))
			return -1; /* unknown or duplicate key */
		s->seen |= TB(id);
		tf_ws(s);
		if (!tf_at(s, ':'))
			return -1;
		s->p++;
		tf_ws(s);
		if (id == TK_MEDIA || id == TK_MARK) {
			if (!tf_at(s, '{') || tf_obj(s, id) < 0)
				return -1;
		} else if (!tf_at(s, '"') || tf_str(s, &s->v[id]) < 0) {
			return -1;
		}
		tf_ws(s);
		if (tf_at(s, '}')) {
			s->p++;
			return 0;
		}
		if (!tf_at(s, ','))
			return -1;
		s->p++;
		tf_ws(s);
	}
}

/* The tree path's TWF_TRACK for a media event: the four names it knows. */
static unsigned tf_track(const tf_span *t)
{
	if ((t->n == 7 || t->n == 13) && !memcmp(t->p, "inbound_track", t->n))
		return TW_TRACK_INBOUND;
	if ((t->n == 8 || t->n == 14) && !memcmp(t->p, "outbound_track", t->n))
		return TW_TRACK_OUTBOUND;
	return 0;
}

/* TWF_STR into char[size]: copies with the NUL, as memcpy(len + 1) does. */
static void tf_copy(char *dst, const tf_span *v)
{
	if (v->n) /* an unseen key is {NULL, 0}: no memcpy from NULL */
		memcpy(dst, v->p, v->n);
	dst[v->n] = '\0';
}

int tw_parse_fast(tw_event *ev, const char *json, size_t len, tw_dir dir,
		  uint8_t *audio, size_t cap, char *err, size_t errlen)
{
	tf_scan s = {0};
	const tf_form *f = NULL;
	uint64_t seq = 0, chunk = 0, ts = 0;
	unsigned track = 0;
	int n;

	if (!json)
		return TW_FAST_DECLINED;
	s.p = json;
	s.end = json + len;
	tf_ws(&s);
	if (!tf_at(&s, '{') || tf_obj(&s, -1) < 0)
		return TW_FAST_DECLINED;
	tf_ws(&s);
	if (s.p != s.end)
		return TW_FAST_DECLINED; /* trailing bytes: not one JSON value */
	for (size_t i = 0; i < VX_ARRAY_LEN(tf_forms); i++) {
		const tf_form *t = &tf_forms[i];
		if (t->dir == dir && t->keys == s.seen && t->elen == s.v[TK_EVENT].n &&
		    s.v[TK_EVENT].p && !memcmp(t->event, s.v[TK_EVENT].p, t->elen)) {
			f = t;
			break;
		}
	}
	if (!f)
		return TW_FAST_DECLINED;

	/* Every check of the tree path's field table, before writing anything. */
	if ((s.seen & TB(TK_SEQ)) && tw_digits(s.v[TK_SEQ].p, s.v[TK_SEQ].n, &seq) < 0)
		return TW_FAST_DECLINED;
	if (s.v[TK_SID].n >= sizeof(ev->stream_sid))
		return TW_FAST_DECLINED;
	if (s.seen & TB(TK_TRACK)) {
		if (!(track = tf_track(&s.v[TK_TRACK])) ||
		    tw_digits(s.v[TK_CHUNK].p, s.v[TK_CHUNK].n, &chunk) < 0 ||
		    tw_digits(s.v[TK_TS].p, s.v[TK_TS].n, &ts) < 0)
			return TW_FAST_DECLINED;
	}
	if (f->type == TW_MARK && s.v[TK_NAME].n >= sizeof(ev->u.mark.name))
		return TW_FAST_DECLINED;

	memset(ev, 0, sizeof(*ev));
	ev->type = f->type;
	ev->seq = seq;
	tf_copy(ev->stream_sid, &s.v[TK_SID]);
	if (f->type == TW_MARK) {
		tf_copy(ev->u.mark.name, &s.v[TK_NAME]);
	} else {
		/* the tree path's tw_payload, same cap rules */
		if (dir == TW_FROM_STREAM && cap > TW_MEDIA_MAX)
			cap = TW_MEDIA_MAX;
		if (!audio)
			cap = 0;
		n = b64_decode(audio, cap, s.v[TK_PAYLOAD].p, s.v[TK_PAYLOAD].n);
		if (n < 0)
			return TW_FAST_DECLINED; /* the tree path words the error */
		ev->u.media.track = track;
		ev->u.media.chunk = chunk;
		ev->u.media.timestamp = ts;
		ev->u.media.payload = audio;
		ev->u.media.len = (size_t)n;
		/* the span just decoded, so voiceproxy need not find it again */
		ev->u.media.b64 = s.v[TK_PAYLOAD].p;
		ev->u.media.b64_len = s.v[TK_PAYLOAD].n;
	}
	if (err && errlen)
		err[0] = '\0';
	return 0;
}
