/* fuzz_twilio: tw_parse, both directions (voiceproxy parses what Twilio or
 * sipbridge sends; sipbridge parses what the application sends back).
 * Input: one control byte then the JSON frame. Control bit 0: direction
 * (0 stream side, 1 application side); bits 1-2: the audio buffer (NULL,
 * 16 bytes, or larger than TW_MEDIA_MAX).
 * Contract checked: only documented errors; NUL-terminated strings; media
 * payload inside the caller buffer and within its cap; its base64 span,
 * when set, inside the frame and as long as payload encodes to; a round trip:
 * an accepted event formatted again with tw_fmt_* parses back to the same
 * event (what sipbridge emits, voiceproxy must read identically), with
 * the same base64 text (strict decoding accepts canonical text only). */
#include "fuzz.h"

#include <errno.h>

#include "twilio.h"

#define BIG (TW_MEDIA_MAX + 1024)

static void check_strings(const tw_event *e)
{
	FZ_CSTR(e->stream_sid);
	switch (e->type) {
	case TW_CONNECTED:
		FZ_CSTR(e->u.connected.protocol);
		FZ_CSTR(e->u.connected.version);
		break;
	case TW_START:
		FZ_CSTR(e->u.start.account_sid);
		FZ_CSTR(e->u.start.call_sid);
		FZ_CSTR(e->u.start.stream_sid);
		FZ_CSTR(e->u.start.encoding);
		FZ_CHECK(e->u.start.nparams <= TW_MAX_PARAMS);
		for (size_t i = 0; i < e->u.start.nparams; i++) {
			FZ_CSTR(e->u.start.params[i].key);
			FZ_CSTR(e->u.start.params[i].val);
		}
		FZ_CHECK(e->u.start.tracks && !(e->u.start.tracks & ~3u));
		break;
	case TW_MARK:
		FZ_CSTR(e->u.mark.name);
		break;
	case TW_STOP:
		FZ_CSTR(e->u.stop.account_sid);
		FZ_CSTR(e->u.stop.call_sid);
		break;
	case TW_DTMF:
		FZ_CHECK(e->u.dtmf.digit && strchr("0123456789*#ABCD", e->u.dtmf.digit));
		break;
	default:
		break;
	}
}

/* Formats e as its sender would; returns the length. */
static int reformat(char *buf, size_t cap, const tw_event *e, tw_dir dir)
{
	if (dir == TW_FROM_APP) {
		switch (e->type) {
		case TW_MEDIA:
			return tw_fmt_app_media(buf, cap, e->stream_sid, e->u.media.payload, e->u.media.len);
		case TW_MARK:
			return tw_fmt_app_mark(buf, cap, e->stream_sid, e->u.mark.name);
		case TW_CLEAR:
			return tw_fmt_clear(buf, cap, e->stream_sid);
		default:
			FZ_CHECK(!"unexpected event type from the application");
		}
	}
	switch (e->type) {
	case TW_CONNECTED:
		return tw_fmt_connected(buf, cap);
	case TW_START:
		return tw_fmt_start(buf, cap, e->seq, &e->u.start);
	case TW_MEDIA:
		return tw_fmt_media(buf, cap, e->seq, e->stream_sid, e->u.media.track, e->u.media.chunk,
				    e->u.media.timestamp, e->u.media.payload, e->u.media.len);
	case TW_DTMF:
		return tw_fmt_dtmf(buf, cap, e->seq, e->stream_sid, e->u.dtmf.digit);
	case TW_MARK:
		return tw_fmt_mark(buf, cap, e->seq, e->stream_sid, e->u.mark.name);
	case TW_STOP:
		return tw_fmt_stop(buf, cap, e->seq, e->stream_sid, e->u.stop.account_sid,
				   e->u.stop.call_sid);
	default:
		FZ_CHECK(!"unexpected event type from the stream");
	}
	return -1;
}

static void same(const tw_event *a, const tw_event *b)
{
	FZ_CHECK(a->type == b->type);
	if (a->type == TW_CONNECTED)
		return; /* the formatter writes the one protocol/version we speak */
	FZ_CHECK(a->seq == b->seq);
	FZ_CHECK(!strcmp(a->stream_sid, b->stream_sid));
	switch (a->type) {
	case TW_START: {
		const tw_start *x = &a->u.start, *y = &b->u.start;
		FZ_CHECK(!strcmp(x->account_sid, y->account_sid) && !strcmp(x->call_sid, y->call_sid) &&
			 !strcmp(x->stream_sid, y->stream_sid) && x->tracks == y->tracks);
		FZ_CHECK(!strcmp(x->encoding[0] ? x->encoding : "audio/x-mulaw", y->encoding));
		FZ_CHECK(x->sample_rate == y->sample_rate && x->channels == y->channels);
		FZ_CHECK(x->nparams == y->nparams);
		for (size_t i = 0; i < x->nparams; i++)
			FZ_CHECK(!strcmp(x->params[i].key, y->params[i].key) &&
				 !strcmp(x->params[i].val, y->params[i].val));
		break;
	}
	case TW_MEDIA:
		FZ_CHECK(a->u.media.track == b->u.media.track && a->u.media.chunk == b->u.media.chunk &&
			 a->u.media.timestamp == b->u.media.timestamp && a->u.media.len == b->u.media.len);
		FZ_CHECK(!a->u.media.len || !memcmp(a->u.media.payload, b->u.media.payload, a->u.media.len));
		break;
	case TW_DTMF:
		FZ_CHECK(a->u.dtmf.digit == b->u.dtmf.digit);
		break;
	case TW_MARK:
		FZ_CHECK(!strcmp(a->u.mark.name, b->u.mark.name));
		break;
	case TW_STOP:
		FZ_CHECK(!strcmp(a->u.stop.account_sid, b->u.stop.account_sid) &&
			 !strcmp(a->u.stop.call_sid, b->u.stop.call_sid));
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static tw_event ev, ev2;
	static uint8_t audio2[BIG];
	static char out[TW_MEDIA_FMT_CAP(BIG) + 65536];
	tw_dir dir;
	size_t cap;
	uint8_t *audio;
	char err[256];
	int r, n;

	if (size < 1)
		return 0;
	dir = (data[0] & 1) ? TW_FROM_APP : TW_FROM_STREAM;
	switch ((data[0] >> 1) & 3) {
	case 0: cap = 0; break;
	case 1: cap = 16; break;
	default: cap = BIG; break;
	}
	audio = cap ? malloc(cap) : NULL; /* exact size: ASan catches overruns */
	data++, size--;

	r = tw_parse(&ev, (const char *)data, size, dir, audio, cap, err, sizeof(err));
	FZ_CSTR(err);
	FZ_CHECK(r == 0 || r == -EBADMSG || r == -EPROTO || r == -EINVAL || r == -ENOSPC);
	if (r == 0) {
		FZ_CHECK(ev.type >= TW_CONNECTED && ev.type <= TW_CLEAR);
		FZ_CHECK(tw_type_name(ev.type) != NULL);
		check_strings(&ev);
		if (ev.type == TW_MEDIA) {
			FZ_CHECK(ev.u.media.len <= cap);
			if (dir == TW_FROM_STREAM)
				FZ_CHECK(ev.u.media.len <= TW_MEDIA_MAX);
			FZ_CHECK(!ev.u.media.len || ev.u.media.payload == audio);
			/* the base64 span, when given: the payload's text in the frame */
			if (ev.u.media.b64) {
				uintptr_t b = (uintptr_t)ev.u.media.b64, lo = (uintptr_t)data;
				FZ_CHECK(b >= lo && ev.u.media.b64_len <= size && b - lo <= size - ev.u.media.b64_len);
				FZ_CHECK(ev.u.media.b64_len == B64_ENC_LEN(ev.u.media.len));
			} else {
				FZ_CHECK(ev.u.media.b64_len == 0);
			}
		}
		n = reformat(out, sizeof(out), &ev, dir);
		FZ_CHECK(n > 0 && (size_t)n < sizeof(out) && strlen(out) == (size_t)n);
		r = tw_parse(&ev2, out, (size_t)n, dir, audio2, sizeof(audio2), err, sizeof(err));
		if (r) {
			fprintf(stderr, "formatted event does not parse back (%s): %s\n", err, out);
			abort();
		}
		same(&ev, &ev2);
		/* canonical base64 both ways: the text received is the text we write */
		if (ev.type == TW_MEDIA && ev.u.media.b64 && ev2.u.media.b64)
			FZ_CHECK(ev.u.media.b64_len == ev2.u.media.b64_len &&
				 !memcmp(ev.u.media.b64, ev2.u.media.b64, ev.u.media.b64_len));
	}
	free(audio);
	return 0;
}
