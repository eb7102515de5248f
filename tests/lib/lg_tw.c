/* lg_tw: the caller side of one Twilio Media Stream for the load generator
 * (lg.h): connected + start, media frames, stop; media from voiceproxy
 * handed over frame by frame, marks echoed at once. */
#include "lg.h"

#include <stdio.h>
#include <string.h>

#include "b64.h"
#include "twilio.h"

#define LG_TW_ACCOUNT "AC00000000000000000000000000000000"

void lg_tw_init(lg_tw *t, int idx)
{
	memset(t, 0, sizeof(*t));
	t->idx = idx;
	snprintf(t->sid, sizeof(t->sid), "MZ%032x", (unsigned)idx + 1);
	snprintf(t->call_sid, sizeof(t->call_sid), "CA%032x", (unsigned)idx + 1);
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
	io->send(conn, io->buf, (size_t)n);
	n = tw_fmt_start(io->buf, io->cap, ++t->seq, &st);
	io->send(conn, io->buf, (size_t)n);
}

int lg_tw_media(lg_tw *t, const lg_tw_io *io, void *conn, const uint8_t *f, size_t n, uint64_t ts_ms)
{
	int len = tw_fmt_media(io->buf, io->cap, ++t->seq, t->sid, TW_TRACK_INBOUND, ++t->chunk, ts_ms, f, n);

	if (len <= 0)
		return -1;
	return io->send(conn, io->buf, (size_t)len) < 0 ? -1 : 0;
}

void lg_tw_stop(lg_tw *t, const lg_tw_io *io, void *conn)
{
	int n = tw_fmt_stop(io->buf, io->cap, ++t->seq, t->sid, LG_TW_ACCOUNT, t->call_sid);

	if (n > 0)
		io->send(conn, io->buf, (size_t)n);
}

int lg_tw_text(lg_tw *t, const lg_tw_io *io, void *conn, const char *d, size_t len, int64_t t_rx,
	       lg_tw_frame_h frame_h, void *arg)
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
			frame_h(io->audio + off, t_rx, arg);
	} else if (el == 4 && !memcmp(ev, "mark", 4)) {
		/* nothing is buffered here beyond the echo itself: echo at once */
		char name[TW_NAME_MAX];
		if (!(p = lg_json_str(d, len, "name", &pl)) || pl >= sizeof(name))
			return 0;
		memcpy(name, p, pl);
		name[pl] = '\0';
		n = tw_fmt_mark(io->buf, io->cap, ++t->seq, t->sid, name);
		if (n > 0 && io->send(conn, io->buf, (size_t)n) == 0)
			return 1;
	}
	return 0;
}
