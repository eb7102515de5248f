/* twilio_parse: validate one Twilio Media Streams frame into a tw_event.
 *
 * Usage notes:
 *  - Declarative: tw_schemas lists, per (event, direction), every field we
 *    read with its JSON path, kind and destination in tw_event. Adding a
 *    field is one table row; no json_object_get chains.
 *  - Lenient where Twilio is (unknown extra fields are ignored; "connected"
 *    has no streamSid), strict where it matters: duplicate keys, numbers
 *    that Twilio sends as strings must be strings of digits, strings must
 *    fit the struct, base64 must be canonical, DTMF digit in 0-9*#A-D.
 *  - Errors: -EBADMSG not JSON; -EPROTO contract broken; -EINVAL bad
 *    base64; -ENOSPC payload larger than cap (or than TW_MEDIA_MAX on the
 *    stream side). err names the field: `twilio: media.chunk: ...`.
 *  - The payload is decoded straight into the caller's audio buffer;
 *    ev->u.media.payload points there. u.media.b64 stays NULL here: a
 *    jansson value has no position in the input (twilio_fast.c sets it).
 *    jansson builds a small tree per frame (its allocations are freed
 *    before returning), except for the well-formed media/mark frames
 *    twilio_fast.c takes without a tree.
 *  - Pure function (no I/O), suitable for a libFuzzer target.
 */
#include "twilio.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "b64.h"
#include "err.h"
#include "twilio_int.h"

typedef enum {
	TWF_OBJ,    /* JSON object (a parent of later rows) */
	TWF_STR,    /* string copied into char[size] */
	TWF_DIGITS, /* string of decimal digits -> uint64_t */
	TWF_UINT,   /* JSON integer in [0, size] -> unsigned */
	TWF_TRACK,  /* "inbound"/"outbound" (or *_track) -> unsigned */
	TWF_TRACKS, /* array of track names -> bit set */
	TWF_DIGIT,  /* one DTMF character -> char */
	TWF_PARAMS, /* object of string values -> tw_start.params */
	TWF_B64,    /* base64 payload -> caller audio buffer */
} twf_kind;

typedef struct tw_field {
	const char *path; /* dotted path from the top object */
	twf_kind kind;
	bool required;
	size_t off;  /* offset in tw_event */
	size_t size; /* TWF_STR: buffer size; TWF_UINT: max value */
} tw_field;

typedef struct tw_schema {
	const char *event;
	tw_type type;
	tw_dir dir;
	const tw_field *fields;
	size_t nfields;
} tw_schema;

#define EV(m) offsetof(tw_event, m), sizeof(((tw_event *)0)->m)
#define EVO(m) offsetof(tw_event, m), 0
#define REQ true
#define OPT false

static const tw_field f_connected[] = {
	{"protocol", TWF_STR, REQ, EV(u.connected.protocol)},
	{"version", TWF_STR, REQ, EV(u.connected.version)},
	{"sequenceNumber", TWF_DIGITS, OPT, EVO(seq)},
};

static const tw_field f_start[] = {
	{"sequenceNumber", TWF_DIGITS, REQ, EVO(seq)},
	{"streamSid", TWF_STR, REQ, EV(stream_sid)},
	{"start", TWF_OBJ, REQ, 0, 0},
	{"start.accountSid", TWF_STR, REQ, EV(u.start.account_sid)},
	{"start.streamSid", TWF_STR, REQ, EV(u.start.stream_sid)},
	{"start.callSid", TWF_STR, REQ, EV(u.start.call_sid)},
	{"start.tracks", TWF_TRACKS, REQ, EVO(u.start.tracks)},
	{"start.customParameters", TWF_PARAMS, OPT, EVO(u.start)},
	{"start.mediaFormat", TWF_OBJ, REQ, 0, 0},
	{"start.mediaFormat.encoding", TWF_STR, REQ, EV(u.start.encoding)},
	{"start.mediaFormat.sampleRate", TWF_UINT, REQ, offsetof(tw_event, u.start.sample_rate), 192000},
	{"start.mediaFormat.channels", TWF_UINT, REQ, offsetof(tw_event, u.start.channels), 8},
};

static const tw_field f_media[] = {
	{"sequenceNumber", TWF_DIGITS, REQ, EVO(seq)},
	{"streamSid", TWF_STR, REQ, EV(stream_sid)},
	{"media", TWF_OBJ, REQ, 0, 0},
	{"media.track", TWF_TRACK, REQ, EVO(u.media.track)},
	{"media.chunk", TWF_DIGITS, REQ, EVO(u.media.chunk)},
	{"media.timestamp", TWF_DIGITS, REQ, EVO(u.media.timestamp)},
	{"media.payload", TWF_B64, REQ, 0, 0},
};

static const tw_field f_dtmf[] = {
	{"sequenceNumber", TWF_DIGITS, REQ, EVO(seq)},
	{"streamSid", TWF_STR, REQ, EV(stream_sid)},
	{"dtmf", TWF_OBJ, REQ, 0, 0},
	{"dtmf.track", TWF_TRACK, OPT, 0, 0 /* validated, not stored (always inbound) */},
	{"dtmf.digit", TWF_DIGIT, REQ, EVO(u.dtmf.digit)},
};

static const tw_field f_mark[] = {
	{"sequenceNumber", TWF_DIGITS, REQ, EVO(seq)},
	{"streamSid", TWF_STR, REQ, EV(stream_sid)},
	{"mark", TWF_OBJ, REQ, 0, 0},
	{"mark.name", TWF_STR, REQ, EV(u.mark.name)},
};

static const tw_field f_stop[] = {
	{"sequenceNumber", TWF_DIGITS, REQ, EVO(seq)},
	{"streamSid", TWF_STR, REQ, EV(stream_sid)},
	{"stop", TWF_OBJ, REQ, 0, 0},
	{"stop.accountSid", TWF_STR, REQ, EV(u.stop.account_sid)},
	{"stop.callSid", TWF_STR, REQ, EV(u.stop.call_sid)},
};

static const tw_field f_app_media[] = {
	{"streamSid", TWF_STR, REQ, EV(stream_sid)},
	{"media", TWF_OBJ, REQ, 0, 0},
	{"media.payload", TWF_B64, REQ, 0, 0},
};

static const tw_field f_app_mark[] = {
	{"streamSid", TWF_STR, REQ, EV(stream_sid)},
	{"mark", TWF_OBJ, REQ, 0, 0},
	{"mark.name", TWF_STR, REQ, EV(u.mark.name)},
};

static const tw_field f_app_clear[] = {
	{"streamSid", TWF_STR, REQ, EV(stream_sid)},
};

#define SCHEMA(ev, t, d, f) {ev, t, d, f, VX_ARRAY_LEN(f)}
static const tw_schema tw_schemas[] = {
	SCHEMA("connected", TW_CONNECTED, TW_FROM_STREAM, f_connected),
	SCHEMA("start", TW_START, TW_FROM_STREAM, f_start),
	SCHEMA("media", TW_MEDIA, TW_FROM_STREAM, f_media),
	SCHEMA("dtmf", TW_DTMF, TW_FROM_STREAM, f_dtmf),
	SCHEMA("mark", TW_MARK, TW_FROM_STREAM, f_mark),
	SCHEMA("stop", TW_STOP, TW_FROM_STREAM, f_stop),
	SCHEMA("media", TW_MEDIA, TW_FROM_APP, f_app_media),
	SCHEMA("mark", TW_MARK, TW_FROM_APP, f_app_mark),
	SCHEMA("clear", TW_CLEAR, TW_FROM_APP, f_app_clear),
};

const char *tw_type_name(tw_type t)
{
	static const char *const names[] = {
		[TW_CONNECTED] = "connected", [TW_START] = "start", [TW_MEDIA] = "media",
		[TW_DTMF] = "dtmf", [TW_MARK] = "mark", [TW_STOP] = "stop", [TW_CLEAR] = "clear",
	};
	if ((unsigned)t < VX_ARRAY_LEN(names) && names[t])
		return names[t];
	return "unknown";
}

/* Parse state shared by the field handlers. */
typedef struct tw_ctx {
	tw_event *ev;
	tw_dir dir;
	uint8_t *audio;
	size_t cap;
	char *err;
	size_t errlen;
} tw_ctx;

__attribute__((format(printf, 3, 4)))
static int tw_fail(tw_ctx *c, int code, const char *fmt, ...)
{
	va_list ap;

	if (c->err && c->errlen) {
		int n = snprintf(c->err, c->errlen, "twilio: ");
		if (n >= 0 && (size_t)n < c->errlen) {
			va_start(ap, fmt);
			vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return code;
}

/* Walk a dotted path. Returns the value, or NULL when a component is
 * missing; *bad is set when a parent exists but is not an object. */
static json_t *tw_lookup(json_t *root, const char *path, bool *bad)
{
	json_t *cur = root;
	const char *p = path;

	*bad = false;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (!json_is_object(cur)) {
			*bad = true;
			return NULL;
		}
		cur = json_object_getn(cur, p, n);
		if (!cur || !dot)
			return cur;
		p = dot + 1;
	}
}

static unsigned tw_track_parse(const char *s)
{
	if (!strcmp(s, "inbound") || !strcmp(s, "inbound_track"))
		return TW_TRACK_INBOUND;
	if (!strcmp(s, "outbound") || !strcmp(s, "outbound_track"))
		return TW_TRACK_OUTBOUND;
	return 0;
}

int tw_digits(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int tw_params(tw_ctx *c, const tw_field *f, json_t *obj)
{
	tw_start *st = &c->ev->u.start;
	const char *key;
	json_t *val;

	if (!json_is_object(obj))
		return tw_fail(c, -EPROTO, "%s: not an object", f->path);
	if (json_object_size(obj) > TW_MAX_PARAMS)
		return tw_fail(c, -EPROTO, "%s: more than %d parameters", f->path, TW_MAX_PARAMS);
	/* jansson keeps insertion order, so params stay in received order */
	json_object_foreach(obj, key, val) {
		tw_kv *kv = &st->params[st->nparams];
		if (!json_is_string(val))
			return tw_fail(c, -EPROTO, "%s.%.64s: not a string", f->path, key);
		if (strlen(key) >= sizeof(kv->key))
			return tw_fail(c, -EPROTO, "%s: key longer than %d", f->path, TW_KEY_MAX - 1);
		if (json_string_length(val) >= sizeof(kv->val))
			return tw_fail(c, -EPROTO, "%s.%s: longer than %d", f->path, key, TW_VAL_MAX - 1);
		memcpy(kv->key, key, strlen(key) + 1);
		memcpy(kv->val, json_string_value(val), json_string_length(val) + 1);
		st->nparams++;
	}
	return 0;
}

static int tw_payload(tw_ctx *c, const tw_field *f, json_t *v)
{
	size_t cap = c->cap;
	int n;

	if (!json_is_string(v))
		return tw_fail(c, -EPROTO, "%s: not a string", f->path);
	if (c->dir == TW_FROM_STREAM && cap > TW_MEDIA_MAX)
		cap = TW_MEDIA_MAX;
	if (!c->audio)
		cap = 0;
	n = b64_decode(c->audio, cap, json_string_value(v), json_string_length(v));
	if (n == -ENOSPC)
		return tw_fail(c, -ENOSPC, "%s: more than %zu bytes", f->path, cap);
	if (n < 0)
		return tw_fail(c, -EINVAL, "%s: bad base64", f->path);
	c->ev->u.media.payload = c->audio;
	c->ev->u.media.len = (size_t)n;
	return 0;
}

static int tw_field_parse(tw_ctx *c, const tw_field *f, json_t *root)
{
	char *dst = (char *)c->ev + f->off;
	bool bad;
	json_t *v = tw_lookup(root, f->path, &bad);

	if (!v) {
		if (bad)
			return tw_fail(c, -EPROTO, "%s: parent is not an object", f->path);
		return f->required ? tw_fail(c, -EPROTO, "%s: missing", f->path) : 0;
	}
	switch (f->kind) {
	case TWF_OBJ:
		if (!json_is_object(v))
			return tw_fail(c, -EPROTO, "%s: not an object", f->path);
		return 0;
	case TWF_STR:
		if (!json_is_string(v))
			return tw_fail(c, -EPROTO, "%s: not a string", f->path);
		if (json_string_length(v) >= f->size)
			return tw_fail(c, -EPROTO, "%s: longer than %zu", f->path, f->size - 1);
		memcpy(dst, json_string_value(v), json_string_length(v) + 1);
		return 0;
	case TWF_DIGITS: {
		uint64_t u;
		if (!json_is_string(v))
			return tw_fail(c, -EPROTO, "%s: not a string", f->path);
		if (tw_digits(json_string_value(v), json_string_length(v), &u) < 0)
			return tw_fail(c, -EPROTO, "%s: not a string of digits", f->path);
		memcpy(dst, &u, sizeof(u));
		return 0;
	}
	case TWF_UINT: {
		json_int_t i;
		unsigned u;
		if (!json_is_integer(v))
			return tw_fail(c, -EPROTO, "%s: not an integer", f->path);
		i = json_integer_value(v);
		if (i <= 0 || (size_t)i > f->size)
			return tw_fail(c, -EPROTO, "%s: out of range 1-%zu", f->path, f->size);
		u = (unsigned)i;
		memcpy(dst, &u, sizeof(u));
		return 0;
	}
	case TWF_TRACK: {
		unsigned t;
		if (!json_is_string(v) || !(t = tw_track_parse(json_string_value(v))))
			return tw_fail(c, -EPROTO, "%s: not a track name", f->path);
		if (c->ev->type == TW_MEDIA)
			memcpy(dst, &t, sizeof(t));
		return 0;
	}
	case TWF_TRACKS: {
		unsigned bits = 0, t;
		size_t i;
		json_t *e;
		if (!json_is_array(v) || json_array_size(v) == 0)
			return tw_fail(c, -EPROTO, "%s: not a non-empty array", f->path);
		json_array_foreach(v, i, e) {
			if (!json_is_string(e) || !(t = tw_track_parse(json_string_value(e))))
				return tw_fail(c, -EPROTO, "%s[%zu]: not a track name", f->path, i);
			bits |= t;
		}
		memcpy(dst, &bits, sizeof(bits));
		return 0;
	}
	case TWF_DIGIT:
		if (!json_is_string(v) || json_string_length(v) != 1 ||
		    !strchr("0123456789*#ABCD", json_string_value(v)[0]))
			return tw_fail(c, -EPROTO, "%s: not a DTMF digit (0-9*#A-D)", f->path);
		*dst = json_string_value(v)[0];
		return 0;
	case TWF_PARAMS:
		return tw_params(c, f, v);
	case TWF_B64:
		return tw_payload(c, f, v);
	}
	return tw_fail(c, -EPROTO, "%s: internal: unknown field kind", f->path);
}

/* Media (and mark) frames, 50 per second per call and direction, take the
 * allocation-free scanner (twilio_fast.c); it declines anything unusual,
 * which then gets the jansson path below with its exact errors. */
int tw_parse(tw_event *ev, const char *json, size_t len, tw_dir dir,
	     uint8_t *audio, size_t cap, char *err, size_t errlen)
{
	int r = tw_parse_fast(ev, json, len, dir, audio, cap, err, errlen);

	if (r != TW_FAST_DECLINED)
		return r;
	return tw_parse_tree(ev, json, len, dir, audio, cap, err, errlen);
}

int tw_parse_tree(tw_event *ev, const char *json, size_t len, tw_dir dir,
		  uint8_t *audio, size_t cap, char *err, size_t errlen)
{
	tw_ctx c = {ev, dir, audio, cap, err, errlen};
	const tw_schema *sc = NULL;
	json_error_t jerr;
	json_t *root = NULL, *jev;
	int r = 0;

	memset(ev, 0, sizeof(*ev));
	if (err && errlen)
		err[0] = '\0';
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		r = tw_fail(&c, -EBADMSG, "not JSON (line %d column %d: %.80s)", jerr.line, jerr.column, jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		r = tw_fail(&c, -EPROTO, "not a JSON object");
		goto out;
	}
	jev = json_object_get(root, "event");
	if (!json_is_string(jev)) {
		r = tw_fail(&c, -EPROTO, "event: %s", jev ? "not a string" : "missing");
		goto out;
	}
	for (size_t i = 0; i < VX_ARRAY_LEN(tw_schemas); i++) {
		if (tw_schemas[i].dir == dir && !strcmp(tw_schemas[i].event, json_string_value(jev))) {
			sc = &tw_schemas[i];
			break;
		}
	}
	if (!sc) {
		r = tw_fail(&c, -EPROTO, "event: unknown \"%.32s\" from the %s", json_string_value(jev),
			    dir == TW_FROM_STREAM ? "stream" : "application");
		goto out;
	}
	ev->type = sc->type;
	for (size_t i = 0; i < sc->nfields; i++)
		if ((r = tw_field_parse(&c, &sc->fields[i], root)) < 0)
			goto out;
	if (sc->type == TW_START && strcmp(ev->stream_sid, ev->u.start.stream_sid) != 0) {
		r = tw_fail(&c, -EPROTO, "start.streamSid: differs from streamSid");
		goto out;
	}
out:
	json_decref(root);
	return r;
}
