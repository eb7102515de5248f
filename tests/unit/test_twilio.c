/* twilio codec: DESIGN.md examples byte-exact, round trips both directions,
 * real Twilio frames accepted, every rejection case. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "b64.h"
#include "twilio.h"

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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
