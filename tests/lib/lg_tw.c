/* lg_tw: the caller side of one Twilio Media Stream for the load generator
 * (lg.h): connected + start, media frames, stop; media from voiceproxy
 * handed over frame by frame, marks held and echoed at the next send slot.
 * Media and marks (50 a second each per stream) are written from fixed
 * templates with memcpy, byte for byte what twilio_fmt writes (checked by
 * lg_tw_selftest): vfprintf was the generator's top user-space cost. */
#include "lg.h"

#include <stdio.h>
#include <string.h>

#include "b64.h"
#include "twilio.h"

#define LG_TW_ACCOUNT "AC00000000000000000000000000000000"

#define LG_TW_CAT(b, pos, lit) do { memcpy((b) + (pos), lit, sizeof(lit) - 1); (pos) += sizeof(lit) - 1; } while (0)

void lg_tw_init(lg_tw *t, int idx)
{
	memset(t, 0, sizeof(*t));
	t->idx = idx;
	snprintf(t->sid, sizeof(t->sid), "MZ%032x", (unsigned)idx + 1);
	snprintf(t->call_sid, sizeof(t->call_sid), "CA%032x", (unsigned)idx + 1);
}

static int lg_tw_send1(const lg_tw_io *io, void *conn, const char *d, size_t n)
{
	struct iovec m = { (void *)d, n };
	return io->sendv(conn, &m, 1);
}

void lg_tw_begin(lg_tw *t, const lg_tw_io *io, void *conn)
{
	tw_start st;
	int n;

	memset(&st, 0, sizeof(st));
	snprintf(st.account_sid, sizeof(st.account_sid), LG_TW_ACCOUNT);
	snprintf(st.call_sid, sizeof(st.call_sid), "%s", t->call_sid);
	snprintf(st.stream_sid, sizeof(st.stream_sid), "%s", t->sid);
	st.tracks = TW_TRACK_INBOUND;
	snprintf(st.encoding, sizeof(st.encoding), "audio/x-mulaw");
	st.sample_rate = 8000;
	st.channels = 1;
	snprintf(st.params[0].key, TW_KEY_MAX, "restaurantId");
	snprintf(st.params[0].val, TW_VAL_MAX, "bench");
	snprintf(st.params[1].key, TW_KEY_MAX, "from");
	snprintf(st.params[1].val, TW_VAL_MAX, "+3310000%04d", t->idx % 10000);
	st.nparams = 2;
	n = tw_fmt_connected(io->buf, io->cap);
	lg_tw_send1(io, conn, io->buf, (size_t)n);
	n = tw_fmt_start(io->buf, io->cap, ++t->seq, &st);
	lg_tw_send1(io, conn, io->buf, (size_t)n);
}

static size_t lg_tw_u64(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	for (size_t i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/* Printable ASCII but '"' and '\': what jw_str copies unchanged. */
static bool lg_tw_plain(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return false;
	return true;
}

/* {"event":"EV","sequenceNumber":"SEQ","streamSid":"SID" (plain sid) */
static size_t lg_tw_head(char *b, const char *ev, size_t evl, uint64_t seq, const char *sid, size_t sidl)
{
	size_t pos = 0;

	LG_TW_CAT(b, pos, "{\"event\":\"");
	memcpy(b + pos, ev, evl);
	pos += evl;
	LG_TW_CAT(b, pos, "\",\"sequenceNumber\":\"");
	pos += lg_tw_u64(b + pos, seq);
	LG_TW_CAT(b, pos, "\",\"streamSid\":\"");
	memcpy(b + pos, sid, sidl);
	pos += sidl;
	b[pos++] = '"';
	return pos;
}

/* A stream-side mark event into b (cap bytes): its length, or -1. */
static int lg_tw_fmt_mark(lg_tw *t, char *b, size_t cap, const char *name)
{
	size_t sl = strlen(t->sid), nl = strlen(name), pos;

	if (!lg_tw_plain(name, nl) || !lg_tw_plain(t->sid, sl) || cap < sl + nl + 128) {
		int n = tw_fmt_mark(b, cap, ++t->seq, t->sid, name);
		return n > 0 ? n : -1;
	}
	pos = lg_tw_head(b, "mark", 4, ++t->seq, t->sid, sl);
	LG_TW_CAT(b, pos, ",\"mark\":{\"name\":\"");
	memcpy(b + pos, name, nl);
	pos += nl;
	LG_TW_CAT(b, pos, "\"}}");
	b[pos] = '\0';
	return (int)pos;
}

/* A stream-side inbound media event into b (cap bytes): its length, or -1. */
static int lg_tw_fmt_media(lg_tw *t, char *b, size_t cap, const uint8_t *f, size_t n, uint64_t ts_ms)
{
	size_t sl = strlen(t->sid), pos;

	if (!lg_tw_plain(t->sid, sl) || cap < sl + B64_ENC_LEN(n) + 160) {
		int r = tw_fmt_media(b, cap, ++t->seq, t->sid, TW_TRACK_INBOUND, ++t->chunk, ts_ms, f, n);
		return r > 0 ? r : -1;
	}
	pos = lg_tw_head(b, "media", 5, ++t->seq, t->sid, sl);
	LG_TW_CAT(b, pos, ",\"media\":{\"track\":\"inbound\",\"chunk\":\"");
	pos += lg_tw_u64(b + pos, ++t->chunk);
	LG_TW_CAT(b, pos, "\",\"timestamp\":\"");
	pos += lg_tw_u64(b + pos, ts_ms);
	LG_TW_CAT(b, pos, "\",\"payload\":\"");
	pos += b64_encode(b + pos, f, n);
	LG_TW_CAT(b, pos, "\"}}");
	b[pos] = '\0';
	return (int)pos;
}

/* Formats the held marks into io->buf, one iovec each: how many, or -1. */
static int lg_tw_held(lg_tw *t, const lg_tw_io *io, struct iovec *m, size_t *used)
{
	int k = 0;

	for (; k < t->nheld; k++) {
		int n = lg_tw_fmt_mark(t, io->buf + *used, io->cap - *used, t->held[k]);
		if (n < 0)
			return -1;
		m[k].iov_base = io->buf + *used;
		m[k].iov_len = (size_t)n;
		*used += (size_t)n + 1;
	}
	return k;
}

int lg_tw_media(lg_tw *t, const lg_tw_io *io, void *conn, const uint8_t *f, size_t n, uint64_t ts_ms)
{
	struct iovec m[LG_TW_HELD + 1];
	size_t used = 0;
	int marks = t->nheld, k = lg_tw_held(t, io, m, &used), len;

	t->nheld = 0;
	if (k < 0 || (len = lg_tw_fmt_media(t, io->buf + used, io->cap - used, f, n, ts_ms)) < 0)
		return -1;
	m[k].iov_base = io->buf + used;
	m[k++].iov_len = (size_t)len;
	if (io->sendv(conn, m, k) < 0)
		return -1;
	t->marks_echoed += (uint64_t)marks;
	return 0;
}

int lg_tw_flush(lg_tw *t, const lg_tw_io *io, void *conn)
{
	struct iovec m[LG_TW_HELD];
	size_t used = 0;
	int k, marks = t->nheld;

	if (!marks)
		return 0;
	k = lg_tw_held(t, io, m, &used);
	t->nheld = 0;
	if (k < 0 || io->sendv(conn, m, k) < 0)
		return -1;
	t->marks_echoed += (uint64_t)marks;
	return 0;
}

void lg_tw_stop(lg_tw *t, const lg_tw_io *io, void *conn)
{
	int n;

	/* the marks first: everything sent before the stop has "played" */
	lg_tw_flush(t, io, conn);
	n = tw_fmt_stop(io->buf, io->cap, ++t->seq, t->sid, LG_TW_ACCOUNT, t->call_sid);
	if (n > 0)
		lg_tw_send1(io, conn, io->buf, (size_t)n);
}

int lg_tw_text(lg_tw *t, const lg_tw_io *io, void *conn, const char *d, size_t len, int64_t t_rx,
	       int64_t t_loop, lg_tw_frame_h frame_h, void *arg)
{
	size_t el = 0, pl = 0;
	const char *ev = lg_json_str(d, len, "event", &el), *p;
	int n;

	if (!ev)
		return -1;
	if (el == 5 && !memcmp(ev, "media", 5)) {
		if (!(p = lg_json_str(d, len, "payload", &pl)) || (n = b64_decode(io->audio, io->audiocap, p, pl)) < 0)
			return -1;
		for (int off = 0; off + LG_FRAME <= n; off += LG_FRAME)
			frame_h(io->audio + off, t_rx, t_loop, arg);
	} else if (el == 4 && !memcmp(ev, "mark", 4)) {
		/* Twilio sends a mark back once the audio queued before it has
		 * played, not at once. The caller plays out every 20 ms, so the
		 * mark goes back at this stream's next send slot, in the same
		 * write(2) as that slot's media: one syscall a slot, not two. */
		char name[TW_NAME_MAX];
		if (!(p = lg_json_str(d, len, "name", &pl)) || pl >= sizeof(name))
			return 0;
		t->marks_rx++;
		if (!io->marks_now && pl < LG_TW_NAME && t->nheld < LG_TW_HELD) {
			memcpy(t->held[t->nheld], p, pl);
			t->held[t->nheld++][pl] = '\0';
			return 1;
		}
		/* cannot be held: the held ones and this one now, in order */
		memcpy(name, p, pl);
		name[pl] = '\0';
		if (lg_tw_flush(t, io, conn) == 0 && (n = lg_tw_fmt_mark(t, io->buf, io->cap, name)) > 0 &&
		    lg_tw_send1(io, conn, io->buf, (size_t)n) == 0)
			t->marks_echoed++;
		return 1;
	}
	return 0;
}

int lg_tw_selftest(void)
{
	static const char *names[] = { "vx-p1", "vx-end", "a\"b", "" };
	char a[2048], b[2048];
	uint8_t f[LG_FRAME];
	lg_tw t;
	int na, nb;

	for (int i = 0; i < LG_FRAME; i++)
		f[i] = (uint8_t)(i * 7);
	lg_tw_init(&t, 41);
	t.seq = 9999;
	t.chunk = 99;
	na = lg_tw_fmt_media(&t, a, sizeof(a), f, sizeof(f), 1234560);
	nb = tw_fmt_media(b, sizeof(b), 10000, t.sid, TW_TRACK_INBOUND, 100, 1234560, f, sizeof(f));
	if (na != nb || na < 0 || memcmp(a, b, (size_t)na))
		return -1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		na = lg_tw_fmt_mark(&t, a, sizeof(a), names[i]);
		nb = tw_fmt_mark(b, sizeof(b), t.seq, t.sid, names[i]);
		if (na != nb || na < 0 || memcmp(a, b, (size_t)na))
			return -1;
	}
	return 0;
}
