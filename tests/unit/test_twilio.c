/* twilio codec: DESIGN.md examples byte-exact, round trips both directions,
 * real Twilio frames accepted, every rejection case. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "b64.h"
#include "twilio.h"
#include "twev_cmp.h"
#include "twilio_int.h"

#define AC "AC0123456789abcdef0123456789abcdef"
#define MZ "MZ0123456789abcdef0123456789abcdef"
#define CA "CA0123456789abcdef0123456789abcdef"
/* 8 bytes of µ-law: ff ff 7f 7f ce 4e a0 80 */
#define PAYLOAD "//9/f85OoIA="

/* The DESIGN.md contract lines with concrete ids. */
static const char *const ex_connected = "{\"event\":\"connected\",\"protocol\":\"Call\",\"version\":\"1.0.0\"}";
static const char *const ex_start =
	"{\"event\":\"start\",\"sequenceNumber\":\"1\",\"streamSid\":\"" MZ "\",\"start\":{\"accountSid\":\"" AC
	"\",\"streamSid\":\"" MZ "\",\"callSid\":\"" CA "\",\"tracks\":[\"inbound\"],\"customParameters\":"
	"{\"restaurantId\":\"pizza-napoli\",\"from\":\"+33612345678\"},\"mediaFormat\":{\"encoding\":"
	"\"audio/x-mulaw\",\"sampleRate\":8000,\"channels\":1}}}";
static const char *const ex_media =
	"{\"event\":\"media\",\"sequenceNumber\":\"2\",\"streamSid\":\"" MZ "\",\"media\":{\"track\":\"inbound\","
	"\"chunk\":\"1\",\"timestamp\":\"20\",\"payload\":\"" PAYLOAD "\"}}";
static const char *const ex_dtmf =
	"{\"event\":\"dtmf\",\"sequenceNumber\":\"9\",\"streamSid\":\"" MZ "\",\"dtmf\":{\"track\":\"inbound_track\",\"digit\":\"5\"}}";
static const char *const ex_mark =
	"{\"event\":\"mark\",\"sequenceNumber\":\"10\",\"streamSid\":\"" MZ "\",\"mark\":{\"name\":\"greeting-1\"}}";
static const char *const ex_stop =
	"{\"event\":\"stop\",\"sequenceNumber\":\"11\",\"streamSid\":\"" MZ "\",\"stop\":{\"accountSid\":\"" AC "\",\"callSid\":\"" CA "\"}}";
static const char *const ex_app_media = "{\"event\":\"media\",\"streamSid\":\"" MZ "\",\"media\":{\"payload\":\"" PAYLOAD "\"}}";
static const char *const ex_app_mark = "{\"event\":\"mark\",\"streamSid\":\"" MZ "\",\"mark\":{\"name\":\"greeting-1\"}}";
static const char *const ex_clear = "{\"event\":\"clear\",\"streamSid\":\"" MZ "\"}";

static const uint8_t audio8[8] = {0xff, 0xff, 0x7f, 0x7f, 0xce, 0x4e, 0xa0, 0x80};

static int parse(tw_event *ev, const char *s, tw_dir dir, uint8_t *audio, size_t cap, char *err)
{
	return tw_parse(ev, s, strlen(s), dir, audio, cap, err, 256);
}

static void ok(tw_event *ev, const char *s, tw_dir dir, uint8_t *audio, size_t cap)
{
	char err[256];
	int r = parse(ev, s, dir, audio, cap, err);
	if (r != 0)
		fail_msg("parse failed (%d): %s\n  input: %s", r, err, s);
}

/* Re-format a parsed event into its original bytes. */
static int refmt(char *buf, size_t cap, const tw_event *ev, tw_dir dir)
{
	if (dir == TW_FROM_APP) {
		switch (ev->type) {
		case TW_MEDIA: return tw_fmt_app_media(buf, cap, ev->stream_sid, ev->u.media.payload, ev->u.media.len);
		case TW_MARK: return tw_fmt_app_mark(buf, cap, ev->stream_sid, ev->u.mark.name);
		case TW_CLEAR: return tw_fmt_clear(buf, cap, ev->stream_sid);
		default: return -1;
		}
	}
	switch (ev->type) {
	case TW_CONNECTED: return tw_fmt_connected(buf, cap);
	case TW_START: return tw_fmt_start(buf, cap, ev->seq, &ev->u.start);
	case TW_MEDIA:
		return tw_fmt_media(buf, cap, ev->seq, ev->stream_sid, ev->u.media.track, ev->u.media.chunk,
				    ev->u.media.timestamp, ev->u.media.payload, ev->u.media.len);
	case TW_DTMF: return tw_fmt_dtmf(buf, cap, ev->seq, ev->stream_sid, ev->u.dtmf.digit);
	case TW_MARK: return tw_fmt_mark(buf, cap, ev->seq, ev->stream_sid, ev->u.mark.name);
	case TW_STOP:
		return tw_fmt_stop(buf, cap, ev->seq, ev->stream_sid, ev->u.stop.account_sid, ev->u.stop.call_sid);
	default: return -1;
	}
}

static void design_examples_roundtrip(void **state)
{
	(void)state;
	static const struct { const char *const *s; tw_dir dir; tw_type t; } ex[] = {
		{&ex_connected, TW_FROM_STREAM, TW_CONNECTED}, {&ex_start, TW_FROM_STREAM, TW_START},
		{&ex_media, TW_FROM_STREAM, TW_MEDIA}, {&ex_dtmf, TW_FROM_STREAM, TW_DTMF},
		{&ex_mark, TW_FROM_STREAM, TW_MARK}, {&ex_stop, TW_FROM_STREAM, TW_STOP},
		{&ex_app_media, TW_FROM_APP, TW_MEDIA}, {&ex_app_mark, TW_FROM_APP, TW_MARK},
		{&ex_clear, TW_FROM_APP, TW_CLEAR},
	};
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		tw_event ev;
		uint8_t audio[64];
		char buf[2048];
		ok(&ev, *ex[i].s, ex[i].dir, audio, sizeof(audio));
		assert_int_equal(ev.type, ex[i].t);
		int n = refmt(buf, sizeof(buf), &ev, ex[i].dir);
		assert_int_equal(n, (int)strlen(*ex[i].s));
		assert_string_equal(buf, *ex[i].s);
		/* one byte short -> -ENOSPC, never a partial frame */
		assert_int_equal(refmt(buf, (size_t)n, &ev, ex[i].dir), -ENOSPC);
	}
}

static void parsed_values(void **state)
{
	(void)state;
	tw_event ev;
	uint8_t audio[64];

	ok(&ev, ex_connected, TW_FROM_STREAM, NULL, 0);
	assert_string_equal(ev.u.connected.protocol, "Call");
	assert_string_equal(ev.u.connected.version, "1.0.0");
	assert_string_equal(ev.stream_sid, "");

	ok(&ev, ex_start, TW_FROM_STREAM, NULL, 0);
	assert_int_equal(ev.seq, 1);
	assert_string_equal(ev.stream_sid, MZ);
	assert_string_equal(ev.u.start.account_sid, AC);
	assert_string_equal(ev.u.start.call_sid, CA);
	assert_int_equal(ev.u.start.tracks, TW_TRACK_INBOUND);
	assert_int_equal(ev.u.start.nparams, 2);
	assert_string_equal(ev.u.start.params[0].key, "restaurantId");
	assert_string_equal(ev.u.start.params[0].val, "pizza-napoli");
	assert_string_equal(ev.u.start.params[1].key, "from");
	assert_string_equal(ev.u.start.params[1].val, "+33612345678");
	assert_string_equal(ev.u.start.encoding, "audio/x-mulaw");
	assert_int_equal(ev.u.start.sample_rate, 8000);
	assert_int_equal(ev.u.start.channels, 1);

	ok(&ev, ex_media, TW_FROM_STREAM, audio, sizeof(audio));
	assert_int_equal(ev.seq, 2);
	assert_int_equal(ev.u.media.track, TW_TRACK_INBOUND);
	assert_int_equal(ev.u.media.chunk, 1);
	assert_int_equal(ev.u.media.timestamp, 20);
	assert_ptr_equal(ev.u.media.payload, audio);
	assert_int_equal(ev.u.media.len, 8);
	assert_memory_equal(audio, audio8, 8);

	ok(&ev, ex_dtmf, TW_FROM_STREAM, NULL, 0);
	assert_int_equal(ev.seq, 9);
	assert_int_equal(ev.u.dtmf.digit, '5');
	ok(&ev, ex_mark, TW_FROM_STREAM, NULL, 0);
	assert_string_equal(ev.u.mark.name, "greeting-1");
	ok(&ev, ex_stop, TW_FROM_STREAM, NULL, 0);
	assert_int_equal(ev.seq, 11);
	assert_string_equal(ev.u.stop.call_sid, CA);
	assert_string_equal(ev.u.stop.account_sid, AC);

	ok(&ev, ex_app_media, TW_FROM_APP, audio, sizeof(audio));
	assert_int_equal(ev.seq, 0);
	assert_int_equal(ev.u.media.track, 0);
	assert_int_equal(ev.u.media.len, 8);
	ok(&ev, ex_clear, TW_FROM_APP, NULL, 0);
	assert_int_equal(ev.type, TW_CLEAR);
	assert_string_equal(ev.stream_sid, MZ);
}

/* fmt -> parse for every event, both directions, with awkward values. */
static void fmt_parse_roundtrip(void **state)
{
	(void)state;
	char buf[TW_MEDIA_FMT_CAP(TW_MEDIA_MAX)];
	uint8_t audio[TW_MEDIA_MAX], back[TW_MEDIA_MAX];
	tw_event ev;
	int n;

	for (size_t i = 0; i < sizeof(audio); i++)
		audio[i] = (uint8_t)(i * 7 + 3);

	tw_start st = {.account_sid = AC, .call_sid = CA, .stream_sid = MZ,
		       .tracks = TW_TRACK_INBOUND | TW_TRACK_OUTBOUND, .encoding = "audio/x-mulaw",
		       .sample_rate = 8000, .channels = 1};
	for (size_t i = 0; i < TW_MAX_PARAMS; i++) {
		snprintf(st.params[i].key, TW_KEY_MAX, "k%zu \"q\"", i);
		snprintf(st.params[i].val, TW_VAL_MAX, "v\\%zu\n\tcafé", i);
	}
	st.nparams = TW_MAX_PARAMS;
	n = tw_fmt_start(buf, sizeof(buf), 18446744073709551615ULL, &st);
	assert_true(n > 0);
	ok(&ev, buf, TW_FROM_STREAM, NULL, 0);
	assert_int_equal(ev.type, TW_START);
	assert_true(ev.seq == 18446744073709551615ULL);
	assert_int_equal(ev.u.start.tracks, TW_TRACK_INBOUND | TW_TRACK_OUTBOUND);
	assert_int_equal(ev.u.start.nparams, TW_MAX_PARAMS);
	for (size_t i = 0; i < TW_MAX_PARAMS; i++) {
		assert_string_equal(ev.u.start.params[i].key, st.params[i].key);
		assert_string_equal(ev.u.start.params[i].val, st.params[i].val);
	}

	n = tw_fmt_media(buf, sizeof(buf), 77, MZ, TW_TRACK_OUTBOUND, 5, 100, audio, TW_MEDIA_MAX);
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	assert_int_equal(tw_parse(&ev, buf, (size_t)n, TW_FROM_STREAM, back, sizeof(back), NULL, 0), 0);
	assert_int_equal(ev.u.media.track, TW_TRACK_OUTBOUND);
	assert_int_equal(ev.u.media.chunk, 5);
	assert_int_equal(ev.u.media.timestamp, 100);
	assert_int_equal(ev.u.media.len, TW_MEDIA_MAX);
	assert_memory_equal(back, audio, TW_MEDIA_MAX);

	for (const char *d = "0123456789*#ABCD"; *d; d++) {
		assert_true(tw_fmt_dtmf(buf, sizeof(buf), 3, MZ, *d) > 0);
		ok(&ev, buf, TW_FROM_STREAM, NULL, 0);
		assert_int_equal(ev.u.dtmf.digit, *d);
	}
	assert_int_equal(tw_fmt_dtmf(buf, sizeof(buf), 3, MZ, 'x'), -EINVAL);
	assert_int_equal(tw_fmt_dtmf(buf, sizeof(buf), 3, MZ, '\0'), -EINVAL);

	assert_true(tw_fmt_mark(buf, sizeof(buf), 4, MZ, "a \"mark\"\\\x01") > 0);
	ok(&ev, buf, TW_FROM_STREAM, NULL, 0);
	assert_string_equal(ev.u.mark.name, "a \"mark\"\\\x01");
	assert_true(tw_fmt_stop(buf, sizeof(buf), 5, MZ, AC, CA) > 0);
	ok(&ev, buf, TW_FROM_STREAM, NULL, 0);
	assert_int_equal(ev.type, TW_STOP);
	assert_true(tw_fmt_connected(buf, sizeof(buf)) > 0);
	ok(&ev, buf, TW_FROM_STREAM, NULL, 0);
	assert_int_equal(ev.type, TW_CONNECTED);

	/* application side: payload of any length (bigger than TW_MEDIA_MAX) */
	static uint8_t big[3 * TW_MEDIA_MAX], bigback[3 * TW_MEDIA_MAX];
	static char bigbuf[TW_MEDIA_FMT_CAP(3 * TW_MEDIA_MAX)];
	memset(big, 0x55, sizeof(big));
	n = tw_fmt_app_media(bigbuf, sizeof(bigbuf), MZ, big, sizeof(big));
	assert_true(n > 0);
	assert_int_equal(tw_parse(&ev, bigbuf, (size_t)n, TW_FROM_APP, bigback, sizeof(bigback), NULL, 0), 0);
	assert_int_equal(ev.u.media.len, sizeof(big));
	assert_memory_equal(bigback, big, sizeof(big));
	/* ... but the stream side caps at TW_MEDIA_MAX */
	n = tw_fmt_media(bigbuf, sizeof(bigbuf), 1, MZ, TW_TRACK_INBOUND, 1, 0, big, TW_MEDIA_MAX + 1);
	assert_int_equal(tw_parse(&ev, bigbuf, (size_t)n, TW_FROM_STREAM, bigback, sizeof(bigback), NULL, 0), -ENOSPC);

	assert_true(tw_fmt_app_mark(buf, sizeof(buf), MZ, "m1") > 0);
	ok(&ev, buf, TW_FROM_APP, NULL, 0);
	assert_int_equal(ev.type, TW_MARK);
	assert_string_equal(ev.u.mark.name, "m1");
	assert_true(tw_fmt_clear(buf, sizeof(buf), MZ) > 0);
	ok(&ev, buf, TW_FROM_APP, NULL, 0);
	assert_int_equal(ev.type, TW_CLEAR);
	/* empty media is legal */
	assert_true(tw_fmt_app_media(buf, sizeof(buf), MZ, NULL, 0) > 0);
	ok(&ev, buf, TW_FROM_APP, NULL, 0);
	assert_int_equal(ev.u.media.len, 0);
}

/* Frames as real Twilio sends them: other field order, extra fields. */
static void real_twilio_frames(void **state)
{
	(void)state;
	tw_event ev;
	uint8_t audio[64];
	ok(&ev, "{\"event\": \"connected\", \"protocol\": \"Call\", \"version\": \"1.0.0\"}", TW_FROM_STREAM, NULL, 0);
	ok(&ev, "{\"event\":\"start\",\"sequenceNumber\":\"1\",\"start\":{\"accountSid\":\"" AC "\",\"streamSid\":\"" MZ
		"\",\"callSid\":\"" CA "\",\"tracks\":[\"inbound\",\"outbound\"],\"mediaFormat\":{\"encoding\":\"audio/x-mulaw\","
		"\"sampleRate\":8000,\"channels\":1},\"customParameters\":{\"FirstName\":\"Jane\"}},\"streamSid\":\"" MZ "\"}",
	   TW_FROM_STREAM, NULL, 0);
	assert_int_equal(ev.u.start.nparams, 1);
	assert_int_equal(ev.u.start.tracks, 3);
	ok(&ev, "{\"event\":\"media\",\"sequenceNumber\":\"3\",\"media\":{\"track\":\"outbound\",\"chunk\":\"1\","
		"\"timestamp\":\"5\",\"payload\":\"" PAYLOAD "\"},\"streamSid\":\"" MZ "\",\"extra\":[1,{}]}",
	   TW_FROM_STREAM, audio, sizeof(audio));
	assert_int_equal(ev.u.media.track, TW_TRACK_OUTBOUND);
	ok(&ev, "{\"event\":\"stop\",\"sequenceNumber\":\"5\",\"stop\":{\"accountSid\":\"" AC "\",\"callSid\":\"" CA
		"\"},\"streamSid\":\"" MZ "\"}", TW_FROM_STREAM, NULL, 0);
	ok(&ev, "{\"event\":\"dtmf\",\"streamSid\":\"" MZ "\",\"sequenceNumber\":\"5\",\"dtmf\":{\"track\":\"inbound_track\",\"digit\":\"#\"}}",
	   TW_FROM_STREAM, NULL, 0);
	assert_int_equal(ev.u.dtmf.digit, '#');
	/* start without customParameters */
	ok(&ev, "{\"event\":\"start\",\"sequenceNumber\":\"1\",\"streamSid\":\"" MZ "\",\"start\":{\"accountSid\":\"" AC
		"\",\"streamSid\":\"" MZ "\",\"callSid\":\"" CA "\",\"tracks\":[\"inbound\"],\"mediaFormat\":{\"encoding\":"
		"\"audio/x-mulaw\",\"sampleRate\":8000,\"channels\":1}}}", TW_FROM_STREAM, NULL, 0);
	assert_int_equal(ev.u.start.nparams, 0);
}

struct bad { const char *json; tw_dir dir; int code; const char *errpart; };

#define S TW_FROM_STREAM
#define A TW_FROM_APP
#define HDR(ev) "{\"event\":\"" ev "\",\"sequenceNumber\":\"4\",\"streamSid\":\"" MZ "\","
#define START_WITH(x) HDR("start") "\"start\":{\"accountSid\":\"" AC "\",\"streamSid\":\"" MZ "\",\"callSid\":\"" CA \
	"\",\"tracks\":[\"inbound\"]," x "}}"
#define MF "\"mediaFormat\":{\"encoding\":\"audio/x-mulaw\",\"sampleRate\":8000,\"channels\":1}"
#define MEDIA_WITH(track, chunk, ts, payload) HDR("media") "\"media\":{\"track\":" track ",\"chunk\":" chunk \
	",\"timestamp\":" ts ",\"payload\":" payload "}}"
#define X64 "0123456789012345678901234567890123456789012345678901234567890123"

static const struct bad bads[] = {
	/* not JSON / not an object */
	{"", S, -EBADMSG, "not JSON"},
	{"{\"event\":\"clear\"", A, -EBADMSG, "not JSON"},
	{"{\"event\":\"clear\",\"streamSid\":\"" MZ "\"} trailing", A, -EBADMSG, "not JSON"},
	{"[1,2]", S, -EPROTO, "not a JSON object"},
	{"\"media\"", S, -EBADMSG, "not JSON"}, /* scalars are not frames */
	{"{\"event\":\"clear\",\"event\":\"clear\",\"streamSid\":\"x\"}", A, -EBADMSG, "duplicate"},
	{"{\"event\":\"clear\",\"streamSid\":\"a\\u0000b\"}", A, -EBADMSG, "not JSON"},
	/* event */
	{"{\"streamSid\":\"" MZ "\"}", A, -EPROTO, "event: missing"},
	{"{\"event\":7}", S, -EPROTO, "event: not a string"},
	{"{\"event\":\"hello\"}", S, -EPROTO, "unknown \"hello\""},
	{"{\"event\":\"clear\",\"streamSid\":\"" MZ "\"}", S, -EPROTO, "unknown \"clear\""}, /* wrong direction */
	{"{\"event\":\"start\"}", A, -EPROTO, "unknown \"start\""},
	/* missing / wrong-typed fields */
	{"{\"event\":\"connected\",\"protocol\":\"Call\"}", S, -EPROTO, "version: missing"},
	{"{\"event\":\"clear\"}", A, -EPROTO, "streamSid: missing"},
	{"{\"event\":\"clear\",\"streamSid\":5}", A, -EPROTO, "streamSid: not a string"},
	{"{\"event\":\"mark\",\"streamSid\":\"" MZ "\"}", A, -EPROTO, "mark: missing"},
	{"{\"event\":\"mark\",\"streamSid\":\"" MZ "\",\"mark\":[]}", A, -EPROTO, "mark: not an object"},
	{"{\"event\":\"mark\",\"streamSid\":\"" MZ "\",\"mark\":{}}", A, -EPROTO, "mark.name: missing"},
	{"{\"event\":\"mark\",\"streamSid\":\"" MZ "\",\"mark\":{\"name\":null}}", A, -EPROTO, "mark.name: not a string"},
	{"{\"event\":\"media\",\"streamSid\":\"" MZ "\",\"media\":{}}", A, -EPROTO, "media.payload: missing"},
	{"{\"event\":\"media\",\"streamSid\":\"" MZ "\",\"media\":{\"payload\":12}}", A, -EPROTO, "media.payload: not a string"},
	{"{\"event\":\"mark\",\"streamSid\":\"" MZ "\",\"mark\":{\"name\":\"x\"}}", S, -EPROTO, "sequenceNumber: missing"},
	{"{\"event\":\"stop\",\"sequenceNumber\":\"1\",\"streamSid\":\"" MZ "\",\"stop\":{\"accountSid\":\"" AC "\"}}", S, -EPROTO, "stop.callSid: missing"},
	{START_WITH(MF ",\"customParameters\":[]"), S, -EPROTO, "start.customParameters: not an object"},
	{START_WITH(MF ",\"customParameters\":{\"a\":1}"), S, -EPROTO, "start.customParameters.a: not a string"},
	{START_WITH("\"x\":1"), S, -EPROTO, "start.mediaFormat: missing"},
	{START_WITH("\"mediaFormat\":{\"encoding\":\"audio/x-mulaw\",\"sampleRate\":\"8000\",\"channels\":1}"), S, -EPROTO, "start.mediaFormat.sampleRate: not an integer"},
	{START_WITH("\"mediaFormat\":{\"encoding\":\"audio/x-mulaw\",\"sampleRate\":-8000,\"channels\":1}"), S, -EPROTO, "start.mediaFormat.sampleRate: out of range"},
	{START_WITH("\"mediaFormat\":{\"encoding\":\"audio/x-mulaw\",\"sampleRate\":8000,\"channels\":1.0}"), S, -EPROTO, "start.mediaFormat.channels: not an integer"},
	{HDR("start") "\"start\":{\"accountSid\":\"" AC "\",\"streamSid\":\"" MZ "\",\"callSid\":\"" CA "\",\"tracks\":[]," MF "}}", S, -EPROTO, "start.tracks: not a non-empty array"},
	{HDR("start") "\"start\":{\"accountSid\":\"" AC "\",\"streamSid\":\"" MZ "\",\"callSid\":\"" CA "\",\"tracks\":[\"both\"]," MF "}}", S, -EPROTO, "start.tracks[0]: not a track name"},
	{HDR("start") "\"start\":{\"accountSid\":\"" AC "\",\"streamSid\":\"MZother\",\"callSid\":\"" CA "\",\"tracks\":[\"inbound\"]," MF "}}", S, -EPROTO, "start.streamSid: differs"},
	/* digits as strings */
	{MEDIA_WITH("\"inbound\"", "1", "\"20\"", "\"" PAYLOAD "\""), S, -EPROTO, "media.chunk: not a string"},
	{MEDIA_WITH("\"inbound\"", "\"-1\"", "\"20\"", "\"" PAYLOAD "\""), S, -EPROTO, "media.chunk: not a string of digits"},
	{MEDIA_WITH("\"inbound\"", "\"\"", "\"20\"", "\"" PAYLOAD "\""), S, -EPROTO, "media.chunk: not a string of digits"},
	{MEDIA_WITH("\"inbound\"", "\"1\"", "\"2 0\"", "\"" PAYLOAD "\""), S, -EPROTO, "media.timestamp: not a string of digits"},
	{MEDIA_WITH("\"inbound\"", "\"1\"", "\"18446744073709551616\"", "\"" PAYLOAD "\""), S, -EPROTO, "media.timestamp: not a string of digits"},
	{MEDIA_WITH("\"inbound\"", "\"1\"", "\"0x14\"", "\"" PAYLOAD "\""), S, -EPROTO, "media.timestamp: not a string of digits"},
	{"{\"event\":\"mark\",\"sequenceNumber\":\"1e3\",\"streamSid\":\"" MZ "\",\"mark\":{\"name\":\"x\"}}", S, -EPROTO, "sequenceNumber: not a string of digits"},
	{"{\"event\":\"mark\",\"sequenceNumber\":10,\"streamSid\":\"" MZ "\",\"mark\":{\"name\":\"x\"}}", S, -EPROTO, "sequenceNumber: not a string"},
	{MEDIA_WITH("\"sideways\"", "\"1\"", "\"20\"", "\"" PAYLOAD "\""), S, -EPROTO, "media.track: not a track name"},
	/* base64 */
	{MEDIA_WITH("\"inbound\"", "\"1\"", "\"20\"", "\"//9/f85OoIA\""), S, -EINVAL, "media.payload: bad base64"},
	{MEDIA_WITH("\"inbound\"", "\"1\"", "\"20\"", "\"//9/f85O\\noIA=\""), S, -EINVAL, "media.payload: bad base64"},
	{MEDIA_WITH("\"inbound\"", "\"1\"", "\"20\"", "\"!!!!\""), S, -EINVAL, "media.payload: bad base64"},
	{"{\"event\":\"media\",\"streamSid\":\"" MZ "\",\"media\":{\"payload\":\"Zh==\"}}", A, -EINVAL, "media.payload: bad base64"},
	/* dtmf */
	{HDR("dtmf") "\"dtmf\":{\"track\":\"inbound_track\",\"digit\":\"E\"}}", S, -EPROTO, "dtmf.digit: not a DTMF digit"},
	{HDR("dtmf") "\"dtmf\":{\"track\":\"inbound_track\",\"digit\":\"12\"}}", S, -EPROTO, "dtmf.digit: not a DTMF digit"},
	{HDR("dtmf") "\"dtmf\":{\"track\":\"inbound_track\",\"digit\":\"\"}}", S, -EPROTO, "dtmf.digit: not a DTMF digit"},
	{HDR("dtmf") "\"dtmf\":{\"track\":\"inbound_track\",\"digit\":5}}", S, -EPROTO, "dtmf.digit: not a DTMF digit"},
	{HDR("dtmf") "\"dtmf\":{\"track\":\"inbound_track\",\"digit\":\"a\"}}", S, -EPROTO, "dtmf.digit: not a DTMF digit"},
	/* strings too long for the struct */
	{"{\"event\":\"clear\",\"streamSid\":\"" X64 "\"}", A, -EPROTO, "streamSid: longer than 63"},
	{START_WITH(MF ",\"customParameters\":{\"" X64 "\":\"v\"}"), S, -EPROTO, "start.customParameters: key longer than 63"},
	{"{\"event\":\"connected\",\"protocol\":\"" X64 "\",\"version\":\"1\"}", S, -EPROTO, "protocol: longer than 31"},
};

static void rejections(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		tw_event ev;
		uint8_t audio[64];
		char err[256] = "";
		int r = parse(&ev, bads[i].json, bads[i].dir, audio, sizeof(audio), err);
		if (r != bads[i].code || !strstr(err, bads[i].errpart) || strncmp(err, "twilio: ", 8) != 0 ||
		    strchr(err, '\n'))
			fail_msg("case %zu: got %d \"%s\", want %d \"%s\"\n  input: %s", i, r, err, bads[i].code,
				 bads[i].errpart, bads[i].json);
	}
}

static void limits(void **state)
{
	(void)state;
	tw_event ev;
	char err[256];
	static char buf[65536];
	size_t pos;

	/* too many customParameters */
	pos = (size_t)snprintf(buf, sizeof(buf), "%s", HDR("start") "\"start\":{\"accountSid\":\"" AC "\",\"streamSid\":\"" MZ
			       "\",\"callSid\":\"" CA "\",\"tracks\":[\"inbound\"]," MF ",\"customParameters\":{");
	for (int i = 0; i <= TW_MAX_PARAMS; i++)
		pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "%s\"k%d\":\"v\"", i ? "," : "", i);
	snprintf(buf + pos, sizeof(buf) - pos, "}}}");
	assert_int_equal(parse(&ev, buf, S, NULL, 0, err), -EPROTO);
	assert_non_null(strstr(err, "start.customParameters: more than 24"));

	/* value too long */
	char val[TW_VAL_MAX + 1];
	memset(val, 'v', TW_VAL_MAX);
	val[TW_VAL_MAX] = '\0';
	snprintf(buf, sizeof(buf), START_WITH(MF ",\"customParameters\":{\"from\":\"%s\"}"), val);
	assert_int_equal(parse(&ev, buf, S, NULL, 0, err), -EPROTO);
	assert_non_null(strstr(err, "start.customParameters.from: longer than 255"));
	/* mark name exactly at the limit is fine, one more is not */
	char name[TW_NAME_MAX + 1];
	memset(name, 'n', TW_NAME_MAX);
	name[TW_NAME_MAX - 1] = '\0';
	snprintf(buf, sizeof(buf), "{\"event\":\"mark\",\"streamSid\":\"x\",\"mark\":{\"name\":\"%s\"}}", name);
	assert_int_equal(parse(&ev, buf, A, NULL, 0, err), 0);
	name[TW_NAME_MAX - 1] = 'n';
	name[TW_NAME_MAX] = '\0';
	snprintf(buf, sizeof(buf), "{\"event\":\"mark\",\"streamSid\":\"x\",\"mark\":{\"name\":\"%s\"}}", name);
	assert_int_equal(parse(&ev, buf, A, NULL, 0, err), -EPROTO);

	/* payload over the caller's cap, or media with no buffer */
	uint8_t small[4];
	assert_int_equal(parse(&ev, ex_media, S, small, sizeof(small), err), -ENOSPC);
	assert_non_null(strstr(err, "media.payload: more than 4 bytes"));
	assert_int_equal(parse(&ev, ex_app_media, A, NULL, 0, err), -ENOSPC);
	/* a tiny err buffer is truncated, not overflowed; NULL err is fine */
	char tiny[6];
	assert_int_equal(tw_parse(&ev, "x", 1, S, NULL, 0, tiny, sizeof(tiny)), -EBADMSG);
	assert_string_equal(tiny, "twili");
	assert_int_equal(tw_parse(&ev, "x", 1, S, NULL, 0, NULL, 0), -EBADMSG);
	/* input is length-delimited, not NUL-terminated */
	assert_int_equal(tw_parse(&ev, ex_clear, strlen(ex_clear) - 1, A, NULL, 0, err, sizeof(err)), -EBADMSG);
	assert_string_equal(tw_type_name(TW_CLEAR), "clear");
	assert_string_equal(tw_type_name((tw_type)99), "unknown");
}

static void fmt_nospc(void **state)
{
	(void)state;
	char buf[512];
	uint8_t audio[160];
	memset(audio, 0xff, sizeof(audio));
	int full = tw_fmt_media(buf, sizeof(buf), 2, MZ, TW_TRACK_INBOUND, 1, 20, audio, sizeof(audio));
	assert_true(full > 0);
	assert_true((size_t)full <= TW_MEDIA_FMT_CAP(sizeof(audio)));
	for (size_t cap = 1; cap <= (size_t)full; cap++) {
		memset(buf, 'Z', sizeof(buf));
		assert_int_equal(tw_fmt_media(buf, cap, 2, MZ, TW_TRACK_INBOUND, 1, 20, audio, sizeof(audio)), -ENOSPC);
		assert_int_equal(buf[cap], 'Z'); /* never wrote past cap */
		assert_int_equal(tw_fmt_app_media(buf, cap, MZ, audio, sizeof(audio)) == -ENOSPC ||
				 cap > 64, 1);
	}
	assert_int_equal(tw_fmt_media(buf, (size_t)full + 1, 2, MZ, TW_TRACK_INBOUND, 1, 20, audio, sizeof(audio)), full);
}

/* ---- fast path (twilio_fast.c) against the jansson path -----------------
 * tw_parse takes media/mark frames through an allocation-free scanner and
 * everything else through jansson (tw_parse_tree). Both must give the same
 * return code, the same tw_event bytes, the same err text and the same
 * audio buffer bytes, for every input. */

#define DIFF_AUDIO (TW_MEDIA_MAX + 256)

typedef struct diff_stats {
	unsigned long n, fast, ok, ebadmsg, eproto, einval, enospc;
} diff_stats;

static uint8_t diff_audio[DIFF_AUDIO], diff_audio_ref[DIFF_AUDIO];

static void diff_fail(const char *what, const char *s, size_t len, tw_dir dir, size_t cap, int r1,
		      int r2, const char *e1, const char *e2)
{
	fail_msg("%s differs (dir %d, cap %zu): tree %d \"%s\", other %d \"%s\"\n  input (%zu bytes): %.*s", what,
		 (int)dir, cap, r1, e1, r2, e2, len, (int)(len > 600 ? 600 : len), s);
}

/* twev_cmp.h: every byte but the media base64 span */
static int ev_differ(const tw_event *a, const tw_event *b)
{
	return !twev_same_but_span(a, b);
}

static int span_set(const tw_event *e)
{
	return e->type == TW_MEDIA && e->u.media.b64;
}

static int span_same(const tw_event *a, const tw_event *b)
{
	return a->u.media.b64 == b->u.media.b64 && a->u.media.b64_len == b->u.media.b64_len;
}

/* NULL when e (a successful parse of s/len) has no span or a good one:
 * inside s, and its strict decoding is exactly payload/len. */
static const char *span_bad(const tw_event *e, const char *s, size_t len)
{
	static uint8_t dec[TW_MEDIA_MAX + 256];
	uintptr_t b = (uintptr_t)e->u.media.b64, lo = (uintptr_t)s;
	size_t n = e->u.media.b64_len;
	int r;

	if (!span_set(e))
		return NULL;
	if (b < lo || n > len || b - lo > len - n)
		return "b64 span outside the frame";
	if (n != B64_ENC_LEN(e->u.media.len))
		return "b64 span length";
	r = b64_decode(dec, sizeof(dec), e->u.media.b64, n);
	if (r != (int)e->u.media.len || (r > 0 && memcmp(dec, e->u.media.payload, (size_t)r)))
		return "b64 span does not decode to payload";
	return NULL;
}

/* Runs the tree path, the fast path alone and tw_parse on the same frame
 * from the same starting state and compares everything. audio_cap: the
 * cap passed (the buffer is NULL when 0). Returns 1 when the fast path
 * took the frame. */
static int both(const char *s, size_t len, tw_dir dir, size_t cap, diff_stats *st)
{
	static tw_event ev1, ev2, evf;
	char e1[256], e2[256];
	uint8_t *audio = cap ? diff_audio : NULL;
	int r1, r2, fast;

	assert_true(cap <= DIFF_AUDIO);
	memset(&ev1, 0xa5, sizeof(ev1));
	memset(e1, 'Z', sizeof(e1));
	memset(diff_audio, 0x5a, sizeof(diff_audio));
	r1 = tw_parse_tree(&ev1, s, len, dir, audio, cap, e1, sizeof(e1));
	memcpy(diff_audio_ref, diff_audio, sizeof(diff_audio));

	/* the fast path alone: when it takes a frame, it is the tree's result */
	memset(&ev2, 0x3c, sizeof(ev2));
	memset(e2, 'Z', sizeof(e2));
	memset(diff_audio, 0x5a, sizeof(diff_audio));
	r2 = tw_parse_fast(&ev2, s, len, dir, audio, cap, e2, sizeof(e2));
	assert_true(r2 == 0 || r2 == TW_FAST_DECLINED);
	fast = r2 == 0;
	if (r1 == 0 && span_bad(&ev1, s, len))
		diff_fail(span_bad(&ev1, s, len), s, len, dir, cap, r1, r2, e1, e2);
	if (fast) {
		if (r1 != 0)
			diff_fail("fast path accepted, return code", s, len, dir, cap, r1, r2, e1, e2);
		if (ev_differ(&ev1, &ev2))
			diff_fail("fast path tw_event", s, len, dir, cap, r1, r2, e1, e2);
		if (ev2.type == TW_MEDIA && !ev2.u.media.b64)
			diff_fail("fast path media without b64 span", s, len, dir, cap, r1, r2, e1, e2);
		if (span_bad(&ev2, s, len))
			diff_fail(span_bad(&ev2, s, len), s, len, dir, cap, r1, r2, e1, e2);
		if (span_set(&ev1) && !span_same(&ev1, &ev2))
			diff_fail("b64 span (both set)", s, len, dir, cap, r1, r2, e1, e2);
		memcpy(&evf, &ev2, sizeof(evf));
		if (memcmp(e1, e2, sizeof(e1)))
			diff_fail("fast path err buffer", s, len, dir, cap, r1, r2, e1, e2);
		if (memcmp(diff_audio, diff_audio_ref, sizeof(diff_audio)))
			diff_fail("fast path audio buffer", s, len, dir, cap, r1, r2, e1, e2);
	}

	/* the public entry point, whichever path it takes */
	memset(&ev2, 0xc3, sizeof(ev2));
	memset(e2, 'Z', sizeof(e2));
	memset(diff_audio, 0x5a, sizeof(diff_audio));
	r2 = tw_parse(&ev2, s, len, dir, audio, cap, e2, sizeof(e2));
	if (r1 != r2)
		diff_fail("tw_parse return code", s, len, dir, cap, r1, r2, e1, e2);
	if (ev_differ(&ev1, &ev2))
		diff_fail("tw_parse tw_event", s, len, dir, cap, r1, r2, e1, e2);
	/* and the span of whichever path tw_parse took */
	if (r2 == 0 && ev2.type == TW_MEDIA && !span_same(fast ? &evf : &ev1, &ev2))
		diff_fail("tw_parse b64 span", s, len, dir, cap, r1, r2, e1, e2);
	if (memcmp(e1, e2, sizeof(e1)))
		diff_fail("tw_parse err buffer", s, len, dir, cap, r1, r2, e1, e2);
	if (memcmp(diff_audio, diff_audio_ref, sizeof(diff_audio)))
		diff_fail("tw_parse audio buffer", s, len, dir, cap, r1, r2, e1, e2);

	if (st) {
		st->n++;
		st->fast += (unsigned long)fast;
		st->ok += r1 == 0;
		st->ebadmsg += r1 == -EBADMSG;
		st->eproto += r1 == -EPROTO;
		st->einval += r1 == -EINVAL;
		st->enospc += r1 == -ENOSPC;
	}
	return fast;
}

static int both_s(const char *s, tw_dir dir, size_t cap)
{
	return both(s, strlen(s), dir, cap, NULL);
}

/* (a) Every DESIGN.md example, every real-Twilio frame and every rejection
 * case above: same result on both paths; the media/mark examples (and
 * spacing/order variants) take the fast path. */
static void fast_examples(void **state)
{
	(void)state;
	static const char *const *const all[] = {&ex_connected, &ex_start, &ex_media, &ex_dtmf, &ex_mark,
						  &ex_stop, &ex_app_media, &ex_app_mark, &ex_clear};
	static const size_t caps[] = {0, 4, 8, 64, DIFF_AUDIO};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++)
			for (int d = 0; d < 2; d++)
				both_s(*all[i], d ? TW_FROM_APP : TW_FROM_STREAM, caps[c]);
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++)
		assert_int_equal(both_s(bads[i].json, bads[i].dir, 64), 0);

	/* hot frames: the fast path takes them */
	assert_int_equal(both_s(ex_media, S, 64), 1);
	assert_int_equal(both_s(ex_mark, S, 0), 1);
	assert_int_equal(both_s(ex_app_media, A, 64), 1);
	assert_int_equal(both_s(ex_app_mark, A, 0), 1);
	/* Twilio's own order, Python json.dumps spacing, CRLF/tabs */
	assert_int_equal(both_s("{\"event\":\"media\",\"sequenceNumber\":\"3\",\"media\":{\"track\":\"outbound\",\"chunk\":\"1\","
				"\"timestamp\":\"5\",\"payload\":\"" PAYLOAD "\"},\"streamSid\":\"" MZ "\"}", S, 64), 1);
	assert_int_equal(both_s("{\"event\": \"media\", \"streamSid\": \"" MZ "\", \"media\": {\"payload\": \"" PAYLOAD "\"}}",
				A, 64), 1);
	assert_int_equal(both_s(" \r\n{ \"media\" :\t{ \"payload\"\n:\"\" } ,\"streamSid\":\"\",\"event\":\"media\"}\n ", A, 0), 1);
	assert_int_equal(both_s("{\"mark\":{\"name\":\"\"},\"streamSid\":\"x\",\"sequenceNumber\":\"0\",\"event\":\"mark\"}", S, 0), 1);
	assert_int_equal(both_s("{\"event\":\"media\",\"streamSid\":\"" MZ "\",\"media\":{\"payload\":\"\"}}", A, 0), 1);
	assert_int_equal(both_s("{\"event\":\"mark\",\"streamSid\":\"~\x7f !#\",\"mark\":{\"name\":\"a'b/c\"}}", A, 0), 1);

	/* unusual frames: declined, and the tree path answers (same result) */
	static const struct { const char *s; tw_dir dir; } declined[] = {
		{"{\"event\":\"media\",\"streamSid\":\"M\\u005a\",\"media\":{\"payload\":\"\"}}", A}, /* escape */
		{"{\"event\":\"media\",\"streamSid\":\"M\xc3\xa9\",\"media\":{\"payload\":\"\"}}", A}, /* UTF-8 */
		{"{\"event\":\"media\",\"streamSid\":\"M\xff\",\"media\":{\"payload\":\"\"}}", A},    /* bad UTF-8 */
		{"{\"event\":\"media\",\"streamSid\":\"M\x01\",\"media\":{\"payload\":\"\"}}", A},    /* control */
		{"{\"event\":\"media\",\"streamSid\":\"M\",\"media\":{\"payload\":\"\"},\"x\":\"y\"}", A}, /* unknown */
		{"{\"event\":\"media\",\"streamSid\":\"M\",\"media\":{\"payload\":\"\",\"track\":\"inbound\"}}", A},
		{"{\"event\":\"media\",\"sequenceNumber\":\"1\",\"streamSid\":\"M\",\"media\":{\"payload\":\"\"}}", A},
		{"{\"event\":\"media\",\"streamSid\":\"M\",\"streamSid\":\"M\",\"media\":{\"payload\":\"\"}}", A}, /* dup */
		{"{\"event\":\"media\",\"streamSid\":\"M\",\"media\":{\"payload\":\"\",\"payload\":\"\"}}", A},
		{"{\"event\":\"media\",\"streamSid\":\"M\",\"media\":{\"payload\":\"\"},\"media\":{\"payload\":\"\"}}", A},
		{"{\"event\":\"media\",\"streamSid\":\"M\",\"media\":{\"payload\":\"\"}}\x0b", A}, /* not JSON space */
		{"{\"event\":\"media\",\"streamSid\":\"M\",\"media\":{\"payload\":\"\"}}{}", A},
		{"{\"event\":\"media\",\"streamSid\":\"M\",\"media\":{\"payload\":\"\"},}", A},
		{"{\"event\":\"media\",\"streamSid\":\"M\",\"media\":{\"payload\":\"//9/f85OoIA\"}}", A}, /* b64 */
		{"{\"event\":\"media\",\"streamSid\":\"M\",\"media\":{\"payload\":\"Zh==\"}}", A},
		{"{\"event\":\"media\",\"streamSid\":\"M\",\"media\":{\"payload\":null}}", A},
		{"{\"event\":\"media\",\"streamSid\":\"M\",\"media\":{\"payload\":\"\",\"x\":{}}}", A},
		{"{\"event\":\"mark\",\"streamSid\":\"M\",\"mark\":{\"name\":\"\"},\"media\":{\"payload\":\"\"}}", A},
		{"{\"event\":\"mark\",\"streamSid\":\"M\",\"mark\":{\"name\":\"a\\\"b\"}}", A},
		{"{\"event\":\"clear\",\"streamSid\":\"M\"}", A},
		{"{\"event\":\"Media\",\"streamSid\":\"M\",\"media\":{\"payload\":\"\"}}", A},
		{"{\"event\":\"media\",\"streamSid\":\"" X64 "\",\"media\":{\"payload\":\"\"}}", A}, /* too long */
		{"{\"event\":\"media\",\"streamSid\":\"M\",\"media\":{\"payload\":\"" PAYLOAD "\"}}", S},
		{MEDIA_WITH("\"inbound\"", "\"01\"", "\"20\"", "\"" PAYLOAD "\"") "x", S},
		{MEDIA_WITH("\"inbound \"", "\"1\"", "\"20\"", "\"" PAYLOAD "\""), S},
		{MEDIA_WITH("\"inbound\"", "\"1\"", "\"99999999999999999999\"", "\"" PAYLOAD "\""), S},
		{MEDIA_WITH("\"inbound\"", "\"1\"", "\"\"", "\"" PAYLOAD "\""), S},
		{"{\"event\":\"media\",\"sequenceNumber\":\"18446744073709551616\",\"streamSid\":\"M\",\"media\":"
		 "{\"track\":\"inbound\",\"chunk\":\"1\",\"timestamp\":\"1\",\"payload\":\"\"}}", S},
	};
	for (size_t i = 0; i < sizeof(declined) / sizeof(declined[0]); i++)
		if (both_s(declined[i].s, declined[i].dir, 64))
			fail_msg("case %zu: the fast path took %s", i, declined[i].s);
	/* string limits at the boundary: 63/255 fit, 64/256 do not */
	static char lim[1024];
	snprintf(lim, sizeof(lim), "{\"event\":\"media\",\"streamSid\":\"%.63s\",\"media\":{\"payload\":\"\"}}", X64);
	assert_int_equal(both_s(lim, A, 0), 1);
	snprintf(lim, sizeof(lim), "{\"event\":\"mark\",\"streamSid\":\"m\",\"mark\":{\"name\":\"%s%s%s%.63s\"}}", X64, X64,
		 X64, X64);
	assert_int_equal(both_s(lim, A, 0), 1);
	snprintf(lim, sizeof(lim), "{\"event\":\"mark\",\"streamSid\":\"m\",\"mark\":{\"name\":\"%s%s%s%s\"}}", X64, X64,
		 X64, X64);
	assert_int_equal(both_s(lim, A, 0), 0);
	/* a payload over the cap: declined, -ENOSPC and its message from the tree */
	assert_int_equal(both_s(ex_media, S, 4), 0);
	assert_int_equal(both_s(ex_app_media, A, 0), 0);
	/* length-delimited: a frame cut short is declined, not over-read */
	both(ex_media, strlen(ex_media) - 1, S, 64, NULL);
	both(ex_media, 0, S, 64, NULL);
}

/* u.media.b64: the payload's own text in the frame when the scanner took
 * it, NULL when jansson did; bad base64 is still rejected either way. */
static void span_is(const tw_event *ev, const char *frame, const char *text)
{
	const char *at = strstr(frame, "\"payload\"");

	assert_non_null(at);
	at = strstr(at, text); /* the payload's value, not an earlier copy */
	assert_non_null(at);
	assert_ptr_equal(ev->u.media.b64, at);
	assert_int_equal(ev->u.media.b64_len, strlen(text));
	assert_int_equal(ev->u.media.b64_len, B64_ENC_LEN(ev->u.media.len));
}

static void media_b64_span(void **state)
{
	(void)state;
	tw_event ev, ev2;
	uint8_t audio[64];
	char err[256];
	/* the payload's text also sits in streamSid, before it: must not be taken */
	static const char dup_text[] = "{\"event\":\"media\",\"streamSid\":\"" PAYLOAD "\",\"media\":{\"payload\":\""
				       PAYLOAD "\"}}";
	static const char spaced[] = "{ \"event\" : \"media\" , \"streamSid\" : \"" MZ "\" , \"media\" : "
				     "{ \"payload\" : \"" PAYLOAD "\" } }";
	static const char empty[] = "{\"event\":\"media\",\"streamSid\":\"" MZ "\",\"media\":{\"payload\":\"\"}}";
	static const char esc_payload[] = "{\"event\":\"media\",\"streamSid\":\"" MZ "\",\"media\":{\"payload\":"
					  "\"\\/\\/9\\/f85OoIA=\"}}";
	static const char esc_sid[] = "{\"event\":\"media\",\"streamSid\":\"M\\u005a\",\"media\":{\"payload\":\""
				      PAYLOAD "\"}}";
	static const char extra[] = "{\"event\":\"media\",\"sequenceNumber\":\"3\",\"media\":{\"track\":\"inbound\","
				    "\"chunk\":\"1\",\"timestamp\":\"5\",\"payload\":\"" PAYLOAD "\"},\"streamSid\":\""
				    MZ "\",\"extra\":[1,{}]}";

	/* scanner frames, both directions: the span is the payload's text */
	ok(&ev, ex_media, S, audio, sizeof(audio));
	span_is(&ev, ex_media, PAYLOAD);
	ok(&ev, ex_app_media, A, audio, sizeof(audio));
	span_is(&ev, ex_app_media, PAYLOAD);
	ok(&ev, dup_text, A, audio, sizeof(audio));
	span_is(&ev, dup_text, PAYLOAD);
	assert_true(ev.u.media.b64 > dup_text + 40);
	ok(&ev, spaced, A, audio, sizeof(audio));
	span_is(&ev, spaced, PAYLOAD);
	ok(&ev, empty, A, NULL, 0);
	assert_int_equal(ev.u.media.len, 0);
	assert_ptr_equal(ev.u.media.b64, strstr(empty, "\"\"}") + 1);
	assert_int_equal(ev.u.media.b64_len, 0);

	/* fast path against tree path on the same frame: only the span differs */
	memset(&ev, 0, sizeof(ev));
	memset(&ev2, 0, sizeof(ev2));
	assert_int_equal(tw_parse_fast(&ev, ex_media, strlen(ex_media), S, audio, sizeof(audio), err, sizeof(err)), 0);
	span_is(&ev, ex_media, PAYLOAD);
	assert_int_equal(tw_parse_tree(&ev2, ex_media, strlen(ex_media), S, audio, sizeof(audio), err, sizeof(err)), 0);
	assert_null(ev2.u.media.b64);
	assert_int_equal(ev2.u.media.b64_len, 0);
	assert_false(ev_differ(&ev, &ev2));
	assert_memory_equal(audio, audio8, 8);

	/* jansson frames: same audio, no span (the caller encodes payload) */
	static const struct { const char *s; tw_dir dir; } tree[] = {{esc_payload, A}, {esc_sid, A}, {extra, S}};
	for (size_t i = 0; i < sizeof(tree) / sizeof(tree[0]); i++) {
		memset(audio, 0, sizeof(audio));
		ok(&ev, tree[i].s, tree[i].dir, audio, sizeof(audio));
		assert_int_equal(ev.type, TW_MEDIA);
		assert_int_equal(ev.u.media.len, 8);
		assert_memory_equal(audio, audio8, 8);
		assert_null(ev.u.media.b64);
		assert_int_equal(ev.u.media.b64_len, 0);
		assert_int_equal(tw_parse_fast(&ev2, tree[i].s, strlen(tree[i].s), tree[i].dir, audio, sizeof(audio), err,
					       sizeof(err)), TW_FAST_DECLINED);
	}

	/* bad base64 is still -EINVAL, and never gets past the scanner */
	static const char *const bad64[] = {"//9/f85OoIA", "Zh==", "//9/f85OoI@=", "//9/ f85OoIA=", "//9/f85OoIA=====",
					    "=//9/f85OoI", "//9/f8=OoIA="};
	for (size_t i = 0; i < sizeof(bad64) / sizeof(bad64[0]); i++) {
		char f[256];
		snprintf(f, sizeof(f), "{\"event\":\"media\",\"streamSid\":\"" MZ "\",\"media\":{\"payload\":\"%s\"}}",
			 bad64[i]);
		assert_int_equal(tw_parse_fast(&ev, f, strlen(f), A, audio, sizeof(audio), err, sizeof(err)),
				 TW_FAST_DECLINED);
		assert_int_equal(parse(&ev, f, A, audio, sizeof(audio), err), -EINVAL);
		assert_non_null(strstr(err, "bad base64"));
	}
}

/* (b) Differential test over generated frames: valid media/mark frames in
 * every key order and spacing, with awkward values, unknown or duplicate
 * keys and wrong types, then byte-level mutations. */
typedef struct rng { uint64_t s; } rng;

static uint32_t rnd(rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return (uint32_t)(r->s >> 11);
}

static size_t rndn(rng *r, size_t n)
{
	return n ? rnd(r) % n : 0;
}

typedef struct sbuf { char *p; size_t n, cap; } sbuf;

__attribute__((format(printf, 2, 3)))
static void sb_add(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->n = b->n + (size_t)n < b->cap ? b->n + (size_t)n : b->cap - 1;
}

static const char *rnd_ws(rng *r)
{
	static const char *const ws[] = {"", "", "", "", " ", "  ", "\n", "\t", "\r\n", " \n\t"};
	return ws[rndn(r, sizeof(ws) / sizeof(ws[0]))];
}

/* A string value as JSON text (with its quotes). */
static void rnd_str(rng *r, sbuf *b, size_t maxlen)
{
	static const char alpha[] = "MZabcdef0123456789 -_./:+=~";
	size_t n = rndn(r, 8) ? rndn(r, maxlen + 1) : rndn(r, maxlen + 8);
	unsigned odd = rndn(r, 4) ? 0 : 100; /* a quarter with escapes or UTF-8 */
	sb_add(b, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned k = odd ? (unsigned)rndn(r, odd) : 4;
		if (k == 0)
			sb_add(b, "\\\"");
		else if (k == 1)
			sb_add(b, "\\u00e9");
		else if (k == 2)
			sb_add(b, "\xc3\xa9");
		else if (k == 3)
			sb_add(b, "\\\\");
		else
			sb_add(b, "%c", alpha[rndn(r, sizeof(alpha) - 1)]);
	}
	sb_add(b, "\"");
}

static void rnd_digits(rng *r, sbuf *b)
{
	static const char *const odd[] = {"\"\"", "\"0\"", "\"007\"", "\"18446744073709551615\"",
					  "\"18446744073709551616\"", "\"99999999999999999999\"",
					  "\"000000000000000000001\"", "\"-1\"", "\"1e3\"", "\" 1\"", "1", "null"};
	if (rndn(r, 10))
		sb_add(b, "\"%u\"", (unsigned)rndn(r, rndn(r, 2) ? 100000 : 10));
	else
		sb_add(b, "%s", odd[rndn(r, sizeof(odd) / sizeof(odd[0]))]);
}

static void rnd_payload(rng *r, sbuf *b)
{
	static uint8_t pcm[TW_MEDIA_MAX + 4];
	static char enc[B64_ENC_LEN(TW_MEDIA_MAX + 4) + 1];
	size_t n = 160;
	unsigned k = (unsigned)rndn(r, 100);

	if (k < 30)
		n = rndn(r, 400);
	else if (k == 30)
		n = TW_MEDIA_MAX - 2 + rndn(r, 5);
	for (size_t i = 0; i < n; i++)
		pcm[i] = (uint8_t)rnd(r);
	size_t e = b64_encode(enc, pcm, n);
	if (e && rndn(r, 10) == 0) { /* corrupt: bad char, lost char, non-canonical tail */
		static const char bad[] = "=*-_ \n.A";
		enc[rndn(r, e)] = bad[rndn(r, sizeof(bad) - 1)];
		if (rndn(r, 2))
			enc[--e] = '\0';
	}
	sb_add(b, "\"%s\"", enc);
}

static void rnd_value_wrong(rng *r, sbuf *b)
{
	static const char *const v[] = {"1", "null", "true", "[]", "{}", "[\"a\"]", "{\"a\":\"b\"}", "1.5", "\"\""};
	sb_add(b, "%s", v[rndn(r, sizeof(v) / sizeof(v[0]))]);
}

typedef void (*kv_fn)(rng *r, sbuf *b);

static void v_track(rng *r, sbuf *b)
{
	static const char *const t[] = {"inbound", "outbound", "inbound_track", "outbound_track", "both",
					"Inbound", "", "inbound_trac", "outbound_trac", "inbound_tracky", "inboundX", "outbound_trackk"};
	sb_add(b, "\"%s\"", t[rndn(r, 5) ? rndn(r, 4) : rndn(r, sizeof(t) / sizeof(t[0]))]);
}
static void v_sid(rng *r, sbuf *b) { rnd_str(r, b, 63); }
static void v_name(rng *r, sbuf *b) { rnd_str(r, b, rndn(r, 20) ? 20 : 255); }

/* Writes an object of the given keys in random order, sometimes with an
 * extra, a duplicate, a missing key or a wrong-typed value. */
static void rnd_obj(rng *r, sbuf *b, const char *const *keys, const kv_fn *fns, size_t n)
{
	size_t order[8];
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j = rndn(r, i), t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
	size_t skip = rndn(r, 40) == 0 ? rndn(r, n) : n, dup = rndn(r, 40) == 0 ? rndn(r, n) : n;
	size_t wrong = rndn(r, 40) == 0 ? rndn(r, n) : n;
	int first = 1;
	sb_add(b, "{%s", rnd_ws(r));
	for (size_t i = 0; i < n; i++) {
		size_t k = order[i];
		for (int rep = 0; rep < (k == dup ? 2 : 1); rep++) {
			if (k == skip)
				continue;
			sb_add(b, "%s\"%s\"%s:%s", first ? "" : ",", keys[k], rnd_ws(r), rnd_ws(r));
			if (k == wrong)
				rnd_value_wrong(r, b);
			else
				fns[k](r, b);
			sb_add(b, "%s", rnd_ws(r));
			first = 0;
		}
		if (rndn(r, 60) == 0) {
			sb_add(b, "%s\"%s\":", first ? "" : ",", rndn(r, 2) ? "extra" : keys[rndn(r, n)]);
			rnd_value_wrong(r, b);
			first = 0;
		}
	}
	sb_add(b, "}");
}

static int g_dir_app;
static const char *g_event;

static void v_event(rng *r, sbuf *b)
{
	static const char *const other[] = {"mark", "media", "clear", "stop", "Media", "", "start"};
	sb_add(b, "\"%s\"", rndn(r, 30) ? g_event : other[rndn(r, sizeof(other) / sizeof(other[0]))]);
}
static void v_media(rng *r, sbuf *b)
{
	static const char *const sk[] = {"track", "chunk", "timestamp", "payload"};
	static const kv_fn sf[] = {v_track, rnd_digits, rnd_digits, rnd_payload};
	if (g_dir_app && rndn(r, 20))
		rnd_obj(r, b, sk + 3, sf + 3, 1);
	else
		rnd_obj(r, b, sk, sf, 4);
}
static void v_mark(rng *r, sbuf *b)
{
	static const char *const mk[] = {"name"};
	static const kv_fn mf[] = {v_name};
	rnd_obj(r, b, mk, mf, 1);
}

static size_t rnd_frame(rng *r, char *buf, size_t cap, tw_dir dir)
{
	sbuf b = {buf, 0, cap};
	const char *keys[4] = {"event", "streamSid", NULL, "sequenceNumber"};
	kv_fn fns[4] = {v_event, v_sid, NULL, rnd_digits};
	int mark = rndn(r, 5) == 0;

	g_dir_app = dir == TW_FROM_APP;
	g_event = mark ? "mark" : "media";
	keys[2] = rndn(r, 50) ? g_event : (mark ? "media" : "mark");
	fns[2] = !strcmp(keys[2], "mark") ? v_mark : v_media;
	sb_add(&b, "%s", rnd_ws(r));
	/* app side frames carry no sequenceNumber (mostly) */
	rnd_obj(r, &b, keys, fns, g_dir_app && rndn(r, 20) ? 3 : 4);
	sb_add(&b, "%s", rnd_ws(r));
	return b.n;
}

/* Byte-level mutations: flip, insert, delete, truncate, splice. */
static size_t mutate(rng *r, char *buf, size_t n, size_t cap)
{
	static const char interesting[] = "\"\\{}[],: \n\t0919aAZz=+/-.\x7f\x80\xc3\xff";
	unsigned ops = 1 + (unsigned)rndn(r, 3);

	for (unsigned o = 0; o < ops && n; o++) {
		size_t at = rndn(r, n);
		char c = rndn(r, 4) ? interesting[rndn(r, sizeof(interesting) - 1)] : (char)rnd(r);
		switch (rndn(r, 5)) {
		case 0: buf[at] = c; break;
		case 1:
			if (n + 1 < cap) {
				memmove(buf + at + 1, buf + at, n - at);
				buf[at] = c;
				n++;
			}
			break;
		case 2:
			memmove(buf + at, buf + at + 1, n - at - 1);
			n--;
			break;
		case 3: n = at; break;
		default: { /* copy a random slice over another place */
			size_t from = rndn(r, n), len = rndn(r, n - from + 1);
			if (at + len <= n)
				memmove(buf + at, buf + from, len);
		}
		}
	}
	return n;
}

static void fast_differential(void **state)
{
	(void)state;
	static char frame[64 * 1024];
	static const size_t caps[] = {0, 4, 16, 160, 161, 4096, TW_MEDIA_MAX, DIFF_AUDIO};
	diff_stats st = {0};
	rng r = {0x9e3779b97f4a7c15ULL};
	unsigned long n = 100000;
	const char *env = getenv("TW_DIFF_N"); /* longer runs by hand */

	if (env && *env)
		n = strtoul(env, NULL, 10);
	for (unsigned long i = 0; i < n; i++) {
		tw_dir dir = rndn(&r, 2) ? TW_FROM_APP : TW_FROM_STREAM;
		size_t len = rnd_frame(&r, frame, sizeof(frame), dir);
		if (rndn(&r, 4) == 0)
			len = mutate(&r, frame, len, sizeof(frame));
		size_t cap = rndn(&r, 4) ? (rndn(&r, 2) ? 160 : DIFF_AUDIO) : caps[rndn(&r, sizeof(caps) / sizeof(caps[0]))];
		both(frame, len, dir, cap, &st);
	}
	print_message("differential: %lu frames, fast path took %lu; tree: %lu ok, %lu EBADMSG, %lu EPROTO, "
		      "%lu EINVAL, %lu ENOSPC\n", st.n, st.fast, st.ok, st.ebadmsg, st.eproto, st.einval, st.enospc);
	/* the generator must exercise both paths and every outcome */
	assert_true(st.fast > st.n / 4);
	assert_true(st.ok > st.fast);
	assert_true(st.ebadmsg > st.n / 50 && st.eproto > st.n / 50 && st.einval > st.n / 200 &&
		    st.enospc > st.n / 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(design_examples_roundtrip),
		cmocka_unit_test(parsed_values),
		cmocka_unit_test(fmt_parse_roundtrip),
		cmocka_unit_test(real_twilio_frames),
		cmocka_unit_test(rejections),
		cmocka_unit_test(limits),
		cmocka_unit_test(fmt_nospc),
		cmocka_unit_test(fast_examples),
		cmocka_unit_test(media_b64_span),
		cmocka_unit_test(fast_differential),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
