/* twilio_fmt: serialize Twilio Media Streams events (both directions).
 *
 * Usage notes:
 *  - Output is byte-exact with DESIGN.md: the same field order, no spaces,
 *    sequenceNumber/chunk/timestamp as JSON strings, sampleRate/channels as
 *    numbers. Tests compare against the DESIGN.md lines.
 *  - No JSON tree and no allocation: snprintf + jw_*; the media payload is
 *    base64-encoded straight into the caller's buffer (size it with
 *    TW_MEDIA_FMT_CAP(n)).
 *  - Every function returns the length written (NUL not counted) or
 *    -ENOSPC; -EINVAL for a DTMF digit outside 0-9*#A-D.
 *  - Strings (sids, mark names, custom parameters) are JSON-escaped, so
 *    values taken from SIP headers cannot break the frame.
 */
#include "twilio.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "b64.h"
#include "err.h"
#include "jsonw.h"

/* Shorthands: every step may fail with -ENOSPC; bail out on the first. */
#define TW_RAW(...) do { if ((r = jw_raw(buf, cap, &pos, __VA_ARGS__)) < 0) goto out; } while (0)
#define TW_STR(s) do { if ((r = jw_str(buf, cap, &pos, (s))) < 0) goto out; } while (0)
/* printf-free pieces for the per-frame events (media, mark) */
#define TW_LIT(s) do { if ((r = jw_lit(buf, cap, &pos, (s))) < 0) goto out; } while (0)
#define TW_U64(v) do { if ((r = jw_u64(buf, cap, &pos, (v))) < 0) goto out; } while (0)

static const char *tw_track_str(unsigned track)
{
	return track == TW_TRACK_OUTBOUND ? "outbound" : "inbound";
}

/* {"event":"NAME","sequenceNumber":"SEQ","streamSid":SID */
static int tw_head(char *buf, size_t cap, size_t *ppos, const char *event, uint64_t seq,
		   const char *sid)
{
	size_t pos = *ppos;
	int r;

	TW_LIT("{\"event\":\"");
	TW_LIT(event);
	TW_LIT("\",\"sequenceNumber\":\"");
	TW_U64(seq);
	TW_LIT("\",\"streamSid\":");
	TW_STR(sid);
	*ppos = pos;
out:
	return r;
}

/* BASE64"}} : the media payload, encoded in place, closing the event */
static int tw_payload_tail(char *buf, size_t cap, size_t *ppos, const uint8_t *audio, size_t n)
{
	size_t pos = *ppos;
	int r;

	/* payload + "}} + NUL */
	if (cap - pos < B64_ENC_LEN(n) + 4 || B64_ENC_LEN(n) > (size_t)0x7fff0000) {
		buf[pos] = '\0';
		return -ENOSPC;
	}
	pos += b64_encode(buf + pos, audio, n);
	TW_LIT("\"}}");
	*ppos = pos;
out:
	return r;
}

/* ,"mark":{"name":NAME}} */
static int tw_mark_tail(char *buf, size_t cap, size_t *ppos, const char *name)
{
	size_t pos = *ppos;
	int r;

	TW_LIT(",\"mark\":{\"name\":");
	TW_STR(name);
	TW_LIT("}}");
	*ppos = pos;
out:
	return r;
}

int tw_fmt_connected(char *buf, size_t cap)
{
	size_t pos = 0;
	int r;

	TW_RAW("{\"event\":\"connected\",\"protocol\":\"Call\",\"version\":\"1.0.0\"}");
	r = (int)pos;
out:
	return r;
}

int tw_fmt_start(char *buf, size_t cap, uint64_t seq, const tw_start *st)
{
	size_t pos = 0;
	int r;

	if ((r = tw_head(buf, cap, &pos, "start", seq, st->stream_sid)) < 0)
		goto out;
	TW_RAW(",\"start\":{\"accountSid\":");
	TW_STR(st->account_sid);
	TW_RAW(",\"streamSid\":");
	TW_STR(st->stream_sid);
	TW_RAW(",\"callSid\":");
	TW_STR(st->call_sid);
	TW_RAW(",\"tracks\":[");
	if (st->tracks & TW_TRACK_INBOUND)
		TW_RAW("\"inbound\"");
	if (st->tracks & TW_TRACK_OUTBOUND)
		TW_RAW("%s\"outbound\"", (st->tracks & TW_TRACK_INBOUND) ? "," : "");
	TW_RAW("],\"customParameters\":{");
	for (size_t i = 0; i < st->nparams && i < TW_MAX_PARAMS; i++) {
		if (i)
			TW_RAW(",");
		TW_STR(st->params[i].key);
		TW_RAW(":");
		TW_STR(st->params[i].val);
	}
	TW_RAW("},\"mediaFormat\":{\"encoding\":");
	TW_STR(st->encoding[0] ? st->encoding : "audio/x-mulaw");
	TW_RAW(",\"sampleRate\":%u,\"channels\":%u}}}",
	       st->sample_rate ? st->sample_rate : 8000, st->channels ? st->channels : 1);
	r = (int)pos;
out:
	return r;
}

int tw_fmt_media(char *buf, size_t cap, uint64_t seq, const char *stream_sid,
		 unsigned track, uint64_t chunk, uint64_t timestamp_ms,
		 const uint8_t *audio, size_t n)
{
	size_t pos = 0;
	int r;

	if ((r = tw_head(buf, cap, &pos, "media", seq, stream_sid)) < 0)
		goto out;
	TW_LIT(",\"media\":{\"track\":\"");
	TW_LIT(tw_track_str(track));
	TW_LIT("\",\"chunk\":\"");
	TW_U64(chunk);
	TW_LIT("\",\"timestamp\":\"");
	TW_U64(timestamp_ms);
	TW_LIT("\",\"payload\":\"");
	if ((r = tw_payload_tail(buf, cap, &pos, audio, n)) < 0)
		goto out;
	r = (int)pos;
out:
	return r;
}

int tw_fmt_dtmf(char *buf, size_t cap, uint64_t seq, const char *stream_sid, char digit)
{
	size_t pos = 0;
	int r;

	if (!digit || !strchr("0123456789*#ABCD", digit))
		return -EINVAL;
	if ((r = tw_head(buf, cap, &pos, "dtmf", seq, stream_sid)) < 0)
		goto out;
	TW_RAW(",\"dtmf\":{\"track\":\"inbound_track\",\"digit\":\"%c\"}}", digit);
	r = (int)pos;
out:
	return r;
}

int tw_fmt_mark(char *buf, size_t cap, uint64_t seq, const char *stream_sid, const char *name)
{
	size_t pos = 0;
	int r;

	if ((r = tw_head(buf, cap, &pos, "mark", seq, stream_sid)) < 0 ||
	    (r = tw_mark_tail(buf, cap, &pos, name)) < 0)
		goto out;
	r = (int)pos;
out:
	return r;
}

int tw_fmt_stop(char *buf, size_t cap, uint64_t seq, const char *stream_sid,
		const char *account_sid, const char *call_sid)
{
	size_t pos = 0;
	int r;

	if ((r = tw_head(buf, cap, &pos, "stop", seq, stream_sid)) < 0)
		goto out;
	TW_RAW(",\"stop\":{\"accountSid\":");
	TW_STR(account_sid);
	TW_RAW(",\"callSid\":");
	TW_STR(call_sid);
	TW_RAW("}}");
	r = (int)pos;
out:
	return r;
}

int tw_fmt_app_media(char *buf, size_t cap, const char *stream_sid, const uint8_t *audio, size_t n)
{
	size_t pos = 0;
	int r;

	TW_RAW("{\"event\":\"media\",\"streamSid\":");
	TW_STR(stream_sid);
	TW_RAW(",\"media\":{\"payload\":\"");
	if ((r = tw_payload_tail(buf, cap, &pos, audio, n)) < 0)
		goto out;
	r = (int)pos;
out:
	return r;
}

int tw_fmt_app_mark(char *buf, size_t cap, const char *stream_sid, const char *name)
{
	size_t pos = 0;
	int r;

	TW_RAW("{\"event\":\"mark\",\"streamSid\":");
	TW_STR(stream_sid);
	if ((r = tw_mark_tail(buf, cap, &pos, name)) < 0)
		goto out;
	r = (int)pos;
out:
	return r;
}

int tw_fmt_clear(char *buf, size_t cap, const char *stream_sid)
{
	size_t pos = 0;
	int r;

	TW_RAW("{\"event\":\"clear\",\"streamSid\":");
	TW_STR(stream_sid);
	TW_RAW("}");
	r = (int)pos;
out:
	return r;
}
