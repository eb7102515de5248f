/* twc: one Twilio-side Media Stream; see twc.h. */
#include "twc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "tsig.h"
#include "twilio.h"

#define TWC_FRAME 160 /* 20 ms of µ-law */
#define TWC_MARKS 4096

struct twc {
	twc_opts o;
	int idx;
	uv_loop_t *loop;
	ws_conn *ws;
	uv_timer_t timer;
	uint64_t t0, frames_done;
	char stream_sid[ID_SIZE], call_sid[ID_SIZE], account_sid[ID_SIZE];
	uint64_t seq, chunk;
	uint64_t rx_total, played, dropped;
	size_t mhead, mn;
	struct { char name[TW_NAME_MAX]; uint64_t pos; } *marks;
	twc_result r;
	bool stop_sent, finished, timer_closed, closed;
	size_t dtmf_sent;
	twc_done_h *done;
	void *arg;
	char hdr_auth[512], hdr_sig[128];
	char buf[TW_MEDIA_FMT_CAP(TWC_FRAME) + 512];
};

static void ev_log(twc *t, const char *fmt, const char *a, long long n)
{
	if (!t->o.events)
		return;
	fprintf(t->o.events, "{\"stream\":%d,\"t\":%llu,", t->idx,
		(unsigned long long)(uv_now(t->loop) - t->t0));
	fprintf(t->o.events, fmt, a, n);
	fputs("}\n", t->o.events);
}

static void send_txt(twc *t, const char *s, int n)
{
	if (n > 0 && t->ws && !t->closed)
		ws_send_text(t->ws, s, (size_t)n);
}

static void echo_due(twc *t)
{
	while (t->mn) {
		size_t i = t->mhead;
		int n;
		if (t->marks[i].pos > t->played + t->dropped)
			break;
		n = tw_fmt_mark(t->buf, sizeof(t->buf), ++t->seq, t->stream_sid, t->marks[i].name);
		send_txt(t, t->buf, n);
		t->r.marks_echoed++;
		ev_log(t, "\"dir\":\"tx\",\"event\":\"mark\",\"name\":\"%s\",\"played\":%lld",
		       t->marks[i].name, (long long)t->played);
		t->mhead = (t->mhead + 1) % TWC_MARKS;
		t->mn--;
	}
}

static void timer_closed(uv_handle_t *h)
{
	twc *t = h->data;
	t->timer_closed = true;
	if (t->done)
		t->done(t, &t->r, t->arg);
}

static void finish(twc *t)
{
	if (t->finished)
		return;
	t->finished = true;
	t->r.ms = uv_now(t->loop) - t->t0;
	t->r.played_bytes = t->played;
	uv_timer_stop(&t->timer);
	uv_close((uv_handle_t *)&t->timer, timer_closed);
}

static void send_hostile(twc *t)
{
	static const char bad_json[] = "{\"event\":\"media\",\"streamSid\":";
	char *big;
	int n;

	switch (t->o.mode) {
	case TWC_BAD_JSON:
		send_txt(t, bad_json, (int)strlen(bad_json));
		break;
	case TWC_OVERSIZE:
		big = malloc(256 * 1024 + 64);
		if (!big)
			return;
		n = snprintf(big, 64, "{\"event\":\"media\",\"x\":\"");
		memset(big + n, 'A', 256 * 1024);
		n += 256 * 1024;
		memcpy(big + n, "\"}", 3);
		send_txt(t, big, n + 2);
		free(big);
		break;
	case TWC_BAD_B64:
		n = snprintf(t->buf, sizeof(t->buf),
			     "{\"event\":\"media\",\"sequenceNumber\":\"%llu\",\"streamSid\":\"%s\",\"media\":"
			     "{\"track\":\"inbound\",\"chunk\":\"1\",\"timestamp\":\"0\",\"payload\":\"!!not*base64\"}}",
			     (unsigned long long)++t->seq, t->stream_sid);
		send_txt(t, t->buf, n);
		break;
	default:
		break;
	}
}

static void on_tick(uv_timer_t *tm)
{
	twc *t = tm->data;
	uint64_t now = uv_now(t->loop) - t->t0, due = now / 20;
	uint64_t total = t->o.duration_ms ? t->o.duration_ms / 20 : (t->o.audio_len + TWC_FRAME - 1) / TWC_FRAME;
	uint8_t frame[TWC_FRAME];

	if (t->closed)
		return;
	while (t->frames_done < due) {
		uint64_t queued = t->rx_total - t->dropped - t->played;
		size_t off = (size_t)(t->frames_done * TWC_FRAME), k = 0;
		int n;

		/* playout: 20 ms of what the server sent */
		t->played += queued < TWC_FRAME ? queued : TWC_FRAME;
		echo_due(t);
		t->frames_done++;
		if (t->frames_done > total) {
			if (!t->o.wait_close) {
				if (!t->stop_sent) {
					n = tw_fmt_stop(t->buf, sizeof(t->buf), ++t->seq, t->stream_sid,
							t->account_sid, t->call_sid);
					send_txt(t, t->buf, n);
					t->stop_sent = true;
					ev_log(t, "\"dir\":\"tx\",\"event\":\"%s\",\"n\":%lld", "stop", 0);
					ws_close(t->ws, 1000, "stop");
				}
				return;
			}
			if (now > (t->o.max_ms ? t->o.max_ms : 60000)) {
				ev_log(t, "\"event\":\"%s\",\"n\":%lld", "timeout", 0);
				ws_close(t->ws, 1000, "timeout");
				t->closed = true;
				return;
			}
		}
		memset(frame, 0xff, sizeof(frame)); /* µ-law silence */
		if (t->o.audio && off < t->o.audio_len) {
			k = t->o.audio_len - off < TWC_FRAME ? t->o.audio_len - off : TWC_FRAME;
			memcpy(frame, t->o.audio + off, k);
		}
		/* the last partial frame carries only the file's bytes */
		n = tw_fmt_media(t->buf, sizeof(t->buf), ++t->seq, t->stream_sid, 1, ++t->chunk,
				 t->frames_done * 20 - 20, frame,
				 (k && k < TWC_FRAME) ? k : TWC_FRAME);
		send_txt(t, t->buf, n);
		t->r.media_sent++;
		if (t->o.dtmf && t->o.dtmf[t->dtmf_sent] && now >= t->o.dtmf_at_ms + 200 * t->dtmf_sent) {
			char d = t->o.dtmf[t->dtmf_sent++];
			n = tw_fmt_dtmf(t->buf, sizeof(t->buf), ++t->seq, t->stream_sid, d);
			send_txt(t, t->buf, n);
			ev_log(t, "\"dir\":\"tx\",\"event\":\"dtmf\",\"digit\":\"%s\",\"n\":%lld", (char[2]){ d, 0 }, 0);
		}
	}
}

static void on_open(ws_conn *c, void *arg)
{
	twc *t = arg;
	tw_start st;
	int n;

	(void)c;
	t->r.opened = true;
	t->t0 = uv_now(t->loop);
	memset(&st, 0, sizeof(st));
	snprintf(st.account_sid, sizeof(st.account_sid), "%s", t->account_sid);
	snprintf(st.call_sid, sizeof(st.call_sid), "%s", t->call_sid);
	snprintf(st.stream_sid, sizeof(st.stream_sid), "%s", t->stream_sid);
	st.tracks = TW_TRACK_INBOUND;
	snprintf(st.encoding, sizeof(st.encoding), "audio/x-mulaw");
	st.sample_rate = 8000;
	st.channels = 1;
	if (t->o.restaurant_id) {
		snprintf(st.params[st.nparams].key, TW_KEY_MAX, "restaurantId");
		snprintf(st.params[st.nparams++].val, TW_VAL_MAX, "%s", t->o.restaurant_id);
	}
	snprintf(st.params[st.nparams].key, TW_KEY_MAX, "from");
	snprintf(st.params[st.nparams++].val, TW_VAL_MAX, "%s", t->o.from ? t->o.from : "+33100000000");
	n = tw_fmt_connected(t->buf, sizeof(t->buf));
	send_txt(t, t->buf, n);
	if (t->o.mode == TWC_MEDIA_BEFORE_START) {
		uint8_t frame[TWC_FRAME];
		memset(frame, 0xff, sizeof(frame));
		n = tw_fmt_media(t->buf, sizeof(t->buf), ++t->seq, t->stream_sid, 1, 1, 0, frame, sizeof(frame));
		send_txt(t, t->buf, n);
	}
	n = tw_fmt_start(t->buf, sizeof(t->buf), ++t->seq, &st);
	send_txt(t, t->buf, n);
	send_hostile(t);
	uv_timer_start(&t->timer, on_tick, 20, 20);
}

static void on_text(ws_conn *c, const char *data, size_t len, void *arg)
{
	twc *t = arg;
	static uint8_t audio[1 << 20]; /* loop thread only */
	tw_event ev;
	char err[160];

	(void)c;
	if (tw_parse(&ev, data, len, TW_FROM_APP, audio, sizeof(audio), err, sizeof(err)) < 0) {
		t->r.errors++;
		ev_log(t, "\"event\":\"bad\",\"why\":\"%s\",\"n\":%lld", "server sent a bad event", 0);
		fprintf(stderr, "twc %d: bad event from server: %s\n", t->idx, err);
		return;
	}
	if (ev.type != TW_CONNECTED && strcmp(ev.stream_sid, t->stream_sid)) {
		t->r.errors++;
		fprintf(stderr, "twc %d: event for streamSid %s\n", t->idx, ev.stream_sid);
	}
	switch (ev.type) {
	case TW_MEDIA:
		t->rx_total += ev.u.media.len;
		t->r.rx_bytes += ev.u.media.len;
		if (t->o.rx_audio)
			fwrite(ev.u.media.payload, 1, ev.u.media.len, t->o.rx_audio);
		break;
	case TW_MARK:
		t->r.marks_rx++;
		if (t->mn == TWC_MARKS) {
			t->r.errors++;
			break;
		}
		{
			size_t i = (t->mhead + t->mn) % TWC_MARKS;
			snprintf(t->marks[i].name, TW_NAME_MAX, "%s", ev.u.mark.name);
			t->marks[i].pos = t->rx_total;
			t->mn++;
		}
		ev_log(t, "\"dir\":\"rx\",\"event\":\"mark\",\"name\":\"%s\",\"rx\":%lld", ev.u.mark.name,
		       (long long)t->rx_total);
		echo_due(t);
		break;
	case TW_CLEAR:
		t->r.clears++;
		if (t->r.played_at_clear < 0) {
			t->r.played_at_clear = (int64_t)t->played;
			t->r.rx_at_clear = t->rx_total;
		}
		ev_log(t, "\"dir\":\"rx\",\"event\":\"clear\",\"%s\":%lld", "played", (long long)t->played);
		t->dropped = t->rx_total - t->played;
		echo_due(t);
		break;
	default:
		t->r.errors++;
	}
}

static void on_close(ws_conn *c, int code, const char *reason, void *arg)
{
	twc *t = arg;

	(void)c;
	t->ws = NULL;
	t->closed = true;
	t->r.close_code = code;
	snprintf(t->r.close_reason, sizeof(t->r.close_reason), "%s", reason ? reason : "");
	t->r.server_closed = !t->stop_sent;
	ev_log(t, "\"event\":\"close\",\"reason\":\"%s\",\"code\":%lld", "", code);
	if (!t->t0)
		t->t0 = uv_now(t->loop);
	finish(t);
}

static const ws_handlers twc_h = { .open_h = on_open, .text_h = on_text, .close_h = on_close };

int twc_start(twc **out, ws_ctx *ctx, uv_loop_t *loop, const twc_opts *o, int idx,
	      twc_done_h *done, void *arg)
{
	const char *hdrs[3] = { NULL, NULL, NULL };
	size_t nh = 0;
	twc *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -ENOMEM;
	t->marks = calloc(TWC_MARKS, sizeof(*t->marks));
	if (!t->marks) {
		free(t);
		return -ENOMEM;
	}
	t->o = *o;
	t->idx = idx;
	t->loop = loop;
	t->done = done;
	t->arg = arg;
	t->r.played_at_clear = -1;
	id_new(t->stream_sid, "MZ");
	id_new(t->call_sid, "CA");
	id_new(t->account_sid, "AC");
	if (o->bearer) {
		snprintf(t->hdr_auth, sizeof(t->hdr_auth), "Authorization: Bearer %s", o->bearer);
		hdrs[nh++] = t->hdr_auth;
	}
	if (o->twilio_token) {
		char url[1024], sig[TSIG_LEN + 1];
		const char *p = strstr(o->url, "://");
		const char *path = p ? strchr(p + 3, '/') : NULL;
		if (o->sig_host)
			snprintf(url, sizeof(url), "wss://%s%s", o->sig_host, path ? path : "/");
		else
			snprintf(url, sizeof(url), "wss://%s", p ? p + 3 : o->url);
		if (tsig_compute(o->twilio_token, url, NULL, sig) == 0) {
			snprintf(t->hdr_sig, sizeof(t->hdr_sig), "X-Twilio-Signature: %s", sig);
			hdrs[nh++] = t->hdr_sig;
		}
	}
	uv_timer_init(loop, &t->timer); /* before connect: close_h may need it */
	t->timer.data = t;
	r = ws_connect(ctx, o->url, hdrs, &twc_h, t, &t->ws);
	if (r < 0) {
		/* the timer handle must close before t is freed: hand it to done */
		t->r.close_code = 1006;
		snprintf(t->r.close_reason, sizeof(t->r.close_reason), "connect: %s", strerror(-r));
		t->ws = NULL;
		t->closed = true;
		finish(t);
		*out = t;
		return 0;
		free(t);
	}
	t->t0 = uv_now(loop);
	*out = t;
	return 0;
}

void twc_free(twc *t)
{
	if (!t)
		return;
	free(t->marks);
	free(t);
}
