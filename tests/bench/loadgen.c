/* loadgen: the benchmark's load generator (tests/bench/run.sh drives it).
 * One libuv loop, no thread per stream. It is at the same time:
 *  - the caller side: N Twilio Media Streams against voiceproxy (--mode
 *    proxy), or N RTP peers, one UDP socket per call, for calls SIPp sets up
 *    into sipbridge (--mode chain; SDP ports = --rtp-base + i);
 *  - the model side: an echo fake of the OpenAI Realtime API (GA) on
 *    --rt-port: session.update -> session.updated, every
 *    input_audio_buffer.append comes straight back (same base64) as a
 *    response.output_audio.delta.
 * Every 20 ms frame (160 µ-law bytes) starts with a 24-byte marker (magic,
 * stream, sequence, send time) that survives the µ-law passthrough, so each
 * frame is followed hop by hop:
 *   caller -> model : marker seen at the fake   (t_fake_rx - t_send)
 *   model -> caller : echo seen back at caller   (t_caller_rx - t_fake_tx)
 * Both ends live in this process on one clock (CLOCK_REALTIME, which is what
 * the kernel's SO_TIMESTAMPNS stamps UDP packets with). The generator's own
 * loop is subtracted: RTP arrival is the kernel's receive time; a WS message
 * is stamped with the time the loop woke up for it (first callback after
 * poll), not the time our callback got to it behind other messages.
 * Prints one JSON object with the counters and histograms' percentiles. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <uv.h>

#include "b64.h"
#include "log.h"
#include "twilio.h"
#include "ws.h"

#define FRAME 160
#define MARK_LEN 24
#define MAGIC 0x31425856u /* "VXB1" */
#define RING 1024
#define SLOTS 20
#define HB 1000000 /* histogram buckets of 10 µs: 0 .. 10 s */
#define WARM_FRAMES 50

typedef struct hist {
	uint32_t *b;
	uint64_t n;
	int64_t max_ns;
} hist;

typedef enum { ST_IDLE, ST_CONNECTING, ST_SENDING, ST_DRAIN, ST_CLOSED } st_state;

typedef struct strm {
	int idx;
	st_state state;
	/* proxy mode */
	ws_conn *ws;
	char sid[40], call_sid[40];
	uint64_t tw_seq, chunk;
	/* chain mode */
	int fd;
	uv_poll_t poll;
	struct sockaddr_in remote;
	bool latched;
	uint16_t rtp_seq;
	uint32_t rtp_ts, ssrc;
	int64_t last_rx_ns;
	uint64_t rx_pkts, rtp_rx_marker;
	/* both */
	uint32_t sent;
	int64_t t_last_send;
	uint8_t *seen_fake, *seen_cli, *noecho;
	uint64_t echo_tx, echo_rx;
	uint32_t ahead[RING];
	int64_t fake_tx[RING];
	uint64_t fake_pk[RING];
	struct strm *next_in_slot;
} strm;

static struct {
	const char *mode, *url, *bearer;
	int n, seconds, rate, rt_port, rtp_base, rt_bound;
	unsigned max_frames;
	uv_loop_t *loop;
	ws_ctx *srv, *cli;
	strm *s;
	strm *slot[SLOTS];
	int64_t slot_due[SLOTS];
	uv_timer_t wheel, ramp, deadline_t;
	uv_prepare_t prep;
	uv_signal_t sigint, sigterm;
	int started, opened, closed, failed, latched, finished;
	int64_t t0, t_all_open, wake;
	bool wake_valid, stopping, chain;
	int64_t deadline_ms;
	/* counters */
	uint64_t in_sent, in_rx, in_dup, in_bad, out_tx, out_rx, out_dup, out_misaligned;
	uint64_t skipped, prebuf, marks_echoed, fake_conns, appends, rtp_rx, rtp_silence, ws_errors;
	uint64_t tick_between[4];
	int max_concurrent, cur_concurrent;
	hist hop_in, hop_out, hop_out_net, rtt, gen_lag, pace;
	char buf[B64_ENC_LEN(TW_MEDIA_MAX) + 4096];
	uint8_t audio[TW_MEDIA_MAX];
} G;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The time the loop woke up for the I/O being handled. */
static int64_t rx_now(void)
{
	if (!G.wake_valid) {
		G.wake = now_ns();
		G.wake_valid = true;
	}
	return G.wake;
}

static void on_prepare(uv_prepare_t *p)
{
	(void)p;
	G.wake_valid = false;
}

static void hist_add(hist *h, int64_t ns)
{
	int64_t b;

	if (ns < 0)
		ns = 0;
	b = ns / 10000;
	if (b >= HB)
		b = HB - 1;
	h->b[b]++;
	h->n++;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

static double hist_pct(const hist *h, double p)
{
	uint64_t want, acc = 0;

	if (!h->n)
		return -1;
	want = (uint64_t)(p * (double)h->n);
	if (want >= h->n)
		want = h->n - 1;
	for (int i = 0; i < HB; i++) {
		acc += h->b[i];
		if (acc > want)
			return (i + 0.5) * 0.01; /* ms, bucket middle */
	}
	return h->max_ns / 1e6;
}

static void hist_json(const char *name, const hist *h)
{
	printf("\"%s\":{\"n\":%" PRIu64 ",\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f},", name, h->n,
	       hist_pct(h, 0.50), hist_pct(h, 0.99), h->n ? h->max_ns / 1e6 : -1.0);
}

static bool in_window(const strm *s, uint32_t seq, int64_t t_send)
{
	return seq >= WARM_FRAMES && G.t_all_open && t_send >= G.t_all_open + 1000000000LL && s;
}

static void fill_frame(uint8_t *f, strm *s, uint32_t seq, int64_t t)
{
	uint32_t w[2] = { MAGIC, (uint32_t)s->idx };
	memset(f, 0xff, FRAME);
	memcpy(f, w, 8);
	memcpy(f + 8, &seq, 4);
	memset(f + 12, 0, 4);
	memcpy(f + 16, &t, 8);
}

static int read_marker(const uint8_t *f, uint32_t *idx, uint32_t *seq, int64_t *t)
{
	uint32_t m;
	memcpy(&m, f, 4);
	if (m != MAGIC)
		return -1;
	memcpy(idx, f + 4, 4);
	memcpy(seq, f + 8, 4);
	memcpy(t, f + 16, 8);
	if (*idx >= (uint32_t)G.n || *seq >= G.max_frames)
		return -1;
	return 0;
}

/* "key":"value" -> value, its length (no unescaping: our values have none). */
static const char *json_str(const char *d, size_t len, const char *key, size_t *vl)
{
	char pat[64];
	int pl = snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	const char *p = memmem(d, len, pat, (size_t)pl), *e;

	if (!p)
		return NULL;
	p += pl;
	e = memchr(p, '"', len - (size_t)(p - d));
	if (!e)
		return NULL;
	*vl = (size_t)(e - p);
	return p;
}

/* ---- the fake Realtime server (echo) ------------------------------------ */

static void rt_text(ws_conn *c, const char *d, size_t len, void *arg)
{
	size_t tl = 0, al = 0, pos;
	const char *type = json_str(d, len, "type", &tl), *a;
	int64_t t = rx_now();
	int n;

	(void)arg;
	if (!type)
		return;
	if (tl == 14 && !memcmp(type, "session.update", 14)) {
		static const char upd[] =
			"{\"type\":\"session.updated\",\"event_id\":\"evt_1\",\"session\":{\"type\":\"realtime\","
			"\"object\":\"realtime.session\",\"id\":\"sess_bench\",\"model\":\"gpt-realtime\",\"audio\":"
			"{\"input\":{\"format\":{\"type\":\"audio/pcmu\"}},\"output\":{\"format\":{\"type\":\"audio/pcmu\"},"
			"\"voice\":\"alloy\"}}}}";
		ws_send_text(c, upd, sizeof(upd) - 1);
		return;
	}
	if (tl != 25 || memcmp(type, "input_audio_buffer.append", 25) || !(a = json_str(d, len, "audio", &al)))
		return;
	G.appends++;
	n = b64_decode(G.audio, sizeof(G.audio), a, al);
	if (n < 0) {
		G.in_bad++;
		return;
	}
	/* Only live 20 ms frames are echoed. A bigger append is audio voiceproxy
	 * held while the session was being set up, flushed at once: echoing it
	 * would leave a standing queue of that many frames in the playout at the
	 * caller for the rest of the call, measuring the backlog rather than the
	 * relay. */
	if (n > FRAME) {
		for (int off = 0; off + FRAME <= n; off += FRAME) {
			uint32_t idx, seq;
			int64_t ts;
			if (read_marker(G.audio + off, &idx, &seq, &ts) < 0)
				continue;
			if (G.s[idx].seen_fake[seq]++) {
				G.in_dup++;
				continue;
			}
			G.in_rx++;
			G.s[idx].noecho[seq] = 1;
			G.prebuf++;
		}
		return;
	}
	pos = (size_t)snprintf(G.buf, sizeof(G.buf),
			       "{\"type\":\"response.output_audio.delta\",\"event_id\":\"evt_b\",\"response_id\":"
			       "\"resp_b\",\"item_id\":\"item_b\",\"output_index\":0,\"content_index\":0,\"delta\":\"");
	memcpy(G.buf + pos, a, al);
	pos += al;
	memcpy(G.buf + pos, "\"}", 2);
	pos += 2;
	{
		int64_t tx = now_ns();
		int r = ws_send_text(c, G.buf, pos);
		for (int off = 0; off + FRAME <= n; off += FRAME) {
			uint32_t idx, seq;
			int64_t ts;
			strm *s;
			if (read_marker(G.audio + off, &idx, &seq, &ts) < 0)
				continue;
			s = &G.s[idx];
			if (s->seen_fake[seq]++) {
				G.in_dup++;
				continue;
			}
			G.in_rx++;
			if (in_window(s, seq, ts))
				hist_add(&G.hop_in, t - ts);
			if (r == 0) {
				G.out_tx++;
				s->fake_tx[seq % RING] = tx;
				s->fake_pk[seq % RING] = s->rx_pkts;
				s->ahead[seq % RING] = (uint32_t)(s->echo_tx - s->echo_rx);
				s->echo_tx++;
			} else {
				s->noecho[seq] = 1;
			}
		}
	}
}

static void rt_close(ws_conn *c, int code, const char *reason, void *arg)
{
	(void)c;
	(void)code;
	(void)reason;
	(void)arg;
}

static const ws_handlers rt_h = { .text_h = rt_text, .close_h = rt_close };

static int rt_accept(ws_conn *c, const ws_request *rq, void *arg)
{
	(void)rq;
	(void)arg;
	G.fake_conns++;
	ws_set_handlers(c, &rt_h, NULL);
	return 0;
}

/* ---- received echoes (both modes) ---------------------------------------- */

static void caller_frame(strm *s, const uint8_t *f, int64_t t)
{
	uint32_t idx, seq;
	int64_t ts, tx;

	if (read_marker(f, &idx, &seq, &ts) < 0 || idx != (uint32_t)s->idx) {
		if (G.chain && memmem(f, FRAME, "VXB1", 4))
			G.out_misaligned++;
		return;
	}
	if (s->seen_cli[seq]++) {
		G.out_dup++;
		return;
	}
	G.out_rx++;
	s->echo_rx++;
	if (!in_window(s, seq, ts))
		return;
	tx = s->fake_tx[seq % RING];
	if (tx) {
		hist_add(&G.hop_out, t - tx);
		/* minus the echo audio already queued ahead of this frame at the
		 * caller side's playout (20 ms each): what the relay added */
		hist_add(&G.hop_out_net, t - tx - (int64_t)s->ahead[seq % RING] * 20000000);
	}
	hist_add(&G.rtt, t - ts);
	if (G.chain) {
		/* RTP packets that reached us between the fake's send and this one,
		 * beyond the echoes already queued ahead of it: 0 = played at the
		 * first 20 ms tick after it was sent */
		int64_t between = (int64_t)(s->rx_pkts - s->fake_pk[seq % RING]) - 1 - s->ahead[seq % RING];
		if (between < 0)
			between = 0;
		G.tick_between[between < 3 ? between : 3]++;
	}
}

/* ---- proxy mode: Twilio streams ------------------------------------------ */

static void tw_text(ws_conn *c, const char *d, size_t len, void *arg)
{
	strm *s = arg;
	size_t el = 0, pl = 0;
	const char *ev = json_str(d, len, "event", &el), *p;
	int64_t t = rx_now();
	int n;

	(void)c;
	if (!ev) {
		G.ws_errors++;
		return;
	}
	if (el == 5 && !memcmp(ev, "media", 5)) {
		if (!(p = json_str(d, len, "payload", &pl)) || (n = b64_decode(G.audio, sizeof(G.audio), p, pl)) < 0) {
			G.ws_errors++;
			return;
		}
		for (int off = 0; off + FRAME <= n; off += FRAME)
			caller_frame(s, G.audio + off, t);
	} else if (el == 4 && !memcmp(ev, "mark", 4)) {
		/* nothing is buffered here beyond the echo itself: echo at once */
		char name[TW_NAME_MAX];
		if (!(p = json_str(d, len, "name", &pl)) || pl >= sizeof(name))
			return;
		memcpy(name, p, pl);
		name[pl] = '\0';
		n = tw_fmt_mark(G.buf, sizeof(G.buf), ++s->tw_seq, s->sid, name);
		if (n > 0 && ws_send_text(s->ws, G.buf, (size_t)n) == 0)
			G.marks_echoed++;
	}
}

static void tw_open(ws_conn *c, void *arg)
{
	strm *s = arg;
	tw_start st;
	int n;

	memset(&st, 0, sizeof(st));
	snprintf(st.account_sid, sizeof(st.account_sid), "AC00000000000000000000000000000000");
	snprintf(st.call_sid, sizeof(st.call_sid), "%s", s->call_sid);
	snprintf(st.stream_sid, sizeof(st.stream_sid), "%s", s->sid);
	st.tracks = TW_TRACK_INBOUND;
	snprintf(st.encoding, sizeof(st.encoding), "audio/x-mulaw");
	st.sample_rate = 8000;
	st.channels = 1;
	snprintf(st.params[0].key, TW_KEY_MAX, "restaurantId");
	snprintf(st.params[0].val, TW_VAL_MAX, "bench");
	snprintf(st.params[1].key, TW_KEY_MAX, "from");
	snprintf(st.params[1].val, TW_VAL_MAX, "+3310000%04d", s->idx % 10000);
	st.nparams = 2;
	n = tw_fmt_connected(G.buf, sizeof(G.buf));
	ws_send_text(c, G.buf, (size_t)n);
	n = tw_fmt_start(G.buf, sizeof(G.buf), ++s->tw_seq, &st);
	ws_send_text(c, G.buf, (size_t)n);
	s->state = ST_SENDING;
	if (++G.opened == G.n)
		G.t_all_open = now_ns();
	if (++G.cur_concurrent > G.max_concurrent)
		G.max_concurrent = G.cur_concurrent;
}

static void maybe_finish(void);

static void tw_close(ws_conn *c, int code, const char *reason, void *arg)
{
	strm *s = arg;

	(void)c;
	if (s->state != ST_DRAIN && s->state != ST_CLOSED) {
		G.failed++;
		fprintf(stderr, "loadgen: stream %d closed early: %d %s\n", s->idx, code, reason ? reason : "");
	}
	if (s->state == ST_SENDING || s->state == ST_DRAIN)
		G.cur_concurrent--;
	s->state = ST_CLOSED;
	s->ws = NULL;
	G.closed++;
	maybe_finish();
}

static const ws_handlers tw_h = { .open_h = tw_open, .text_h = tw_text, .close_h = tw_close };

static void start_stream(strm *s)
{
	const char *hdrs[2] = { NULL, NULL };
	char auth[300];

	snprintf(s->sid, sizeof(s->sid), "MZ%032x", (unsigned)s->idx + 1);
	snprintf(s->call_sid, sizeof(s->call_sid), "CA%032x", (unsigned)s->idx + 1);
	if (G.bearer) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", G.bearer);
		hdrs[0] = auth;
	}
	s->state = ST_CONNECTING;
	if (ws_connect(G.cli, G.url, hdrs, &tw_h, s, &s->ws) < 0) {
		fprintf(stderr, "loadgen: stream %d: cannot connect\n", s->idx);
		s->state = ST_CLOSED;
		G.failed++;
		G.closed++;
	}
}

static void on_ramp(uv_timer_t *t)
{
	/* --rate streams per second, in 10 ms batches */
	static uint64_t t_first;
	int due;

	(void)t;
	if (!t_first)
		t_first = uv_now(G.loop);
	due = (int)((uv_now(G.loop) - t_first) * (uint64_t)G.rate / 1000) + 1;
	while (G.started < G.n && G.started < due)
		start_stream(&G.s[G.started++]);
	if (G.started == G.n)
		uv_timer_stop(&G.ramp);
}

/* ---- chain mode: RTP peers ------------------------------------------------ */

static void rtp_readable(uv_poll_t *h, int status, int events)
{
	strm *s = h->data;
	uint8_t pkt[2048];
	char cbuf[256];

	(void)events;
	if (status < 0)
		return;
	for (;;) {
		struct sockaddr_in from;
		struct iovec iov = { pkt, sizeof(pkt) };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
				     .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		ssize_t r = recvmsg(s->fd, &mh, MSG_DONTWAIT);
		int64_t t = 0;
		size_t hl;

		if (r < 0)
			break;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec ts;
				memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
				t = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
			}
		if (!t)
			t = now_ns();
		if (r < 12 || (pkt[0] >> 6) != 2)
			continue;
		hl = 12 + 4u * (pkt[0] & 0x0f);
		if ((size_t)r < hl)
			continue;
		G.rtp_rx++;
		if (!s->latched) {
			s->latched = true;
			s->remote = from;
			s->state = ST_SENDING;
			G.latched++;
			if (++G.cur_concurrent > G.max_concurrent)
				G.max_concurrent = G.cur_concurrent;
			if (G.latched == G.n)
				G.t_all_open = now_ns();
		} else if (s->last_rx_ns && (s->sent > WARM_FRAMES || s->state == ST_DRAIN)) {
			int64_t d = t - s->last_rx_ns - 20000000;
			hist_add(&G.pace, d < 0 ? -d : d);
		}
		s->last_rx_ns = t;
		s->rx_pkts++;
		if ((size_t)r - hl >= FRAME)
			caller_frame(s, pkt + hl, t);
		else
			G.rtp_silence++;
	}
}

static int rtp_open(strm *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)(G.rtp_base + s->idx)) };
	int on = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	setsockopt(s->fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
	if (bind(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = -errno;
		close(s->fd);
		s->fd = -1;
		return e;
	}
	s->ssrc = 0x10000000u + (uint32_t)s->idx;
	s->rtp_seq = (uint16_t)(s->idx * 7);
	s->poll.data = s;
	uv_poll_init(G.loop, &s->poll, s->fd);
	uv_poll_start(&s->poll, UV_READABLE, rtp_readable);
	return 0;
}

/* ---- the 20 ms send wheel ------------------------------------------------- */

static void send_frame(strm *s)
{
	uint8_t f[FRAME];
	int64_t t = now_ns();
	uint32_t seq = s->sent;

	fill_frame(f, s, seq, t);
	if (G.chain) {
		uint8_t pkt[12 + FRAME];
		uint16_t sq = htons(s->rtp_seq++);
		uint32_t ts = htonl(s->rtp_ts), ss = htonl(s->ssrc);
		pkt[0] = 0x80;
		pkt[1] = 0; /* PCMU */
		memcpy(pkt + 2, &sq, 2);
		memcpy(pkt + 4, &ts, 4);
		memcpy(pkt + 8, &ss, 4);
		memcpy(pkt + 12, f, FRAME);
		s->rtp_ts += FRAME;
		if (sendto(s->fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&s->remote, sizeof(s->remote)) < 0)
			return;
	} else {
		int n = tw_fmt_media(G.buf, sizeof(G.buf), ++s->tw_seq, s->sid, TW_TRACK_INBOUND, ++s->chunk,
				     (uint64_t)seq * 20, f, FRAME);
		if (n <= 0 || ws_send_text(s->ws, G.buf, (size_t)n) < 0)
			return;
	}
	s->sent++;
	s->t_last_send = t;
	G.in_sent++;
}

static void end_stream(strm *s)
{
	if (G.chain) {
		s->state = ST_CLOSED;
		G.cur_concurrent--;
		G.finished++;
		return;
	}
	if (s->ws) {
		int n = tw_fmt_stop(G.buf, sizeof(G.buf), ++s->tw_seq, s->sid, "AC00000000000000000000000000000000",
				    s->call_sid);
		if (n > 0)
			ws_send_text(s->ws, G.buf, (size_t)n);
		ws_close(s->ws, 1000, "stop");
	}
	s->state = ST_DRAIN;
}

static void on_wheel(uv_timer_t *tm)
{
	int64_t now = now_ns();
	static bool first = true;

	(void)tm;
	if (first) { /* the schedule starts when the loop runs */
		first = false;
		for (int k = 0; k < SLOTS; k++)
			G.slot_due[k] = now + (int64_t)k * 1000000;
	}
	if (now - G.slot_due[0] > 50000000LL)
		fprintf(stderr, "loadgen: loop stalled %.1f ms at t=%.3f s\n", (now - G.slot_due[0]) / 1e6,
			(now - G.t0) / 1e9);
	for (int k = 0; k < SLOTS; k++) {
		/* The generator itself was not scheduled for a while: a phone
		 * would not burst the frames it could not send, so skip them
		 * (a gap in the caller's audio; RTP time still advances). */
		if (now - G.slot_due[k] > 60000000LL) {
			int64_t skip = (now - G.slot_due[k]) / 20000000;
			hist_add(&G.gen_lag, now - G.slot_due[k]);
			for (strm *s = G.slot[k]; s; s = s->next_in_slot)
				if (s->state == ST_SENDING && s->sent < (uint32_t)G.seconds * 50u) {
					s->rtp_ts += (uint32_t)(skip * FRAME);
					G.skipped += (uint64_t)skip;
				}
			G.slot_due[k] += skip * 20000000;
		}
		while (now >= G.slot_due[k]) {
			hist_add(&G.gen_lag, now - G.slot_due[k]);
			for (strm *s = G.slot[k]; s; s = s->next_in_slot) {
				if (s->state != ST_SENDING)
					continue;
				if (s->sent < (uint32_t)G.seconds * 50u) {
					send_frame(s);
				} else if (now - s->t_last_send > 1500000000LL) {
					/* echoes drained: end the stream (proxy); chain: the
					 * call ends when SIPp sends BYE and RTP stops */
					if (!G.chain || now - s->last_rx_ns > 1000000000LL)
						end_stream(s);
				}
			}
			G.slot_due[k] += 20000000;
		}
	}
	if (G.chain)
		maybe_finish();
}

/* ---- end ------------------------------------------------------------------ */

static void stop_all(void)
{
	if (G.stopping)
		return;
	G.stopping = true;
	uv_timer_stop(&G.wheel);
	uv_timer_stop(&G.ramp);
	uv_timer_stop(&G.deadline_t);
	uv_prepare_stop(&G.prep);
	uv_close((uv_handle_t *)&G.wheel, NULL);
	uv_close((uv_handle_t *)&G.ramp, NULL);
	uv_close((uv_handle_t *)&G.deadline_t, NULL);
	uv_close((uv_handle_t *)&G.prep, NULL);
	uv_close((uv_handle_t *)&G.sigint, NULL);
	uv_close((uv_handle_t *)&G.sigterm, NULL);
	if (G.chain)
		for (int i = 0; i < G.n; i++)
			if (G.s[i].fd >= 0) {
				uv_poll_stop(&G.s[i].poll);
				uv_close((uv_handle_t *)&G.s[i].poll, NULL);
			}
	if (G.cli)
		ws_ctx_destroy(G.cli);
	ws_ctx_destroy(G.srv);
	G.cli = G.srv = NULL;
}

static void maybe_finish(void)
{
	if (G.chain) {
		/* every call answered and finished (or some never came and the
		 * rest finished after the answer window) */
		if (G.finished == G.n ||
		    (G.finished && G.finished == G.latched && uv_now(G.loop) > (uint64_t)G.deadline_ms / 2))
			stop_all();
		return;
	}
	if (G.closed == G.n)
		stop_all();
}

static void on_deadline(uv_timer_t *t)
{
	(void)t;
	fprintf(stderr, "loadgen: deadline reached, stopping\n");
	stop_all();
}

static void on_sig(uv_signal_t *h, int signum)
{
	(void)h;
	(void)signum;
	stop_all();
}

static void report(void)
{
	uint64_t lost_in = 0, lost_out = 0, tail_in = 0, tail_out = 0;
	int never = 0;

	for (int i = 0; i < G.n; i++) {
		strm *s = &G.s[i];
		for (uint32_t q = 0; q < s->sent; q++) {
			/* the last 5 s: still in flight when the call ended */
			bool tail = q + 250 >= s->sent;
			if (!s->seen_fake[q]) {
				lost_in++;
				tail_in += tail;
			} else if (!s->seen_cli[q] && !s->noecho[q]) {
				lost_out++;
				tail_out += tail;
			}
		}
		if (G.chain && !s->latched)
			never++;
	}
	printf("{\"mode\":\"%s\",\"calls\":%d,\"seconds\":%d,\"max_concurrent\":%d,\"failed\":%d,"
	       "\"never_answered\":%d,",
	       G.mode, G.n, G.seconds, G.max_concurrent, G.failed, never);
	printf("\"in_sent\":%" PRIu64 ",\"in_rx\":%" PRIu64 ",\"in_lost\":%" PRIu64 ",\"in_dup\":%" PRIu64
	       ",\"in_bad\":%" PRIu64 ",",
	       G.in_sent, G.in_rx, lost_in, G.in_dup, G.in_bad);
	printf("\"out_sent\":%" PRIu64 ",\"out_rx\":%" PRIu64 ",\"out_lost\":%" PRIu64 ",\"out_dup\":%" PRIu64
	       ",\"out_misaligned\":%" PRIu64 ",",
	       G.out_tx, G.out_rx, lost_out, G.out_dup, G.out_misaligned);
	printf("\"in_lost_last5s\":%" PRIu64 ",\"out_lost_last5s\":%" PRIu64 ",", tail_in, tail_out);
	printf("\"prebuf_not_echoed\":%" PRIu64 ",\"gen_skipped\":%" PRIu64 ",", G.prebuf, G.skipped);
	printf("\"fake_conns\":%" PRIu64 ",\"appends\":%" PRIu64 ",\"marks_echoed\":%" PRIu64
	       ",\"rtp_rx\":%" PRIu64 ",\"rtp_silence\":%" PRIu64 ",\"ws_errors\":%" PRIu64 ",",
	       G.fake_conns, G.appends, G.marks_echoed, G.rtp_rx, G.rtp_silence, G.ws_errors);
	printf("\"ticks_between\":[%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "],", G.tick_between[0],
	       G.tick_between[1], G.tick_between[2], G.tick_between[3]);
	hist_json("hop_in_ms", &G.hop_in);
	hist_json("hop_out_ms", &G.hop_out);
	hist_json("hop_out_net_ms", &G.hop_out_net);
	hist_json("rtt_ms", &G.rtt);
	hist_json("pace_jitter_ms", &G.pace);
	hist_json("gen_lag_ms", &G.gen_lag);
	printf("\"ok\":%s}\n", (G.failed || never || lost_in || lost_out) ? "false" : "true");
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: loadgen --mode proxy|chain --calls N --seconds S --rt-port P\n"
		"  proxy: --url ws://127.0.0.1:PORT/media-stream [--bearer TOKEN] [--rate STREAMS_PER_S]\n"
		"  chain: --rtp-base PORT (call i uses PORT+i) [--max-seconds T]\n"
		"  The fake Realtime (echo) listens on 127.0.0.1:--rt-port (0 = any; printed as RTPORT n).\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", 1, 0, 'm' }, { "calls", 1, 0, 'n' }, { "seconds", 1, 0, 's' },
		{ "url", 1, 0, 'u' }, { "bearer", 1, 0, 'b' }, { "rate", 1, 0, 'r' },
		{ "rt-port", 1, 0, 'p' }, { "rtp-base", 1, 0, 'B' }, { "max-seconds", 1, 0, 'M' },
		{ 0, 0, 0, 0 },
	};
	ws_opts wo = { .max_message = 1u << 20, .max_queue = 4u << 20, .connect_timeout_ms = 20000 };
	int c, max_s = 0;

	log_init("loadgen");
	log_set_level(getenv("LOADGEN_DEBUG") ? LOGL_DEBUG : LOGL_WARN);
	signal(SIGPIPE, SIG_IGN);
	G.mode = "proxy";
	G.n = 10;
	G.seconds = 10;
	G.rate = 200;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': G.mode = optarg; break;
		case 'n': G.n = atoi(optarg); break;
		case 's': G.seconds = atoi(optarg); break;
		case 'u': G.url = optarg; break;
		case 'b': G.bearer = optarg; break;
		case 'r': G.rate = atoi(optarg); break;
		case 'p': G.rt_port = atoi(optarg); break;
		case 'B': G.rtp_base = atoi(optarg); break;
		case 'M': max_s = atoi(optarg); break;
		default: usage();
		}
	}
	G.chain = !strcmp(G.mode, "chain");
	if (G.n < 1 || G.n > 20000 || G.seconds < 1 || G.rate < 1 || (!G.chain && strcmp(G.mode, "proxy")) ||
	    (!G.chain && !G.url) || (G.chain && G.rtp_base < 1024))
		usage();
	G.max_frames = (unsigned)G.seconds * 50u + 100u;
	G.loop = uv_default_loop();
	G.s = calloc((size_t)G.n, sizeof(*G.s));
	hist *hs[] = { &G.hop_in, &G.hop_out, &G.hop_out_net, &G.rtt, &G.gen_lag, &G.pace };
	for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++)
		hs[i]->b = calloc(HB, sizeof(uint32_t));
	if (ws_ctx_new(&G.srv, G.loop, &wo) < 0 || ws_listen(G.srv, "127.0.0.1", G.rt_port, rt_accept, NULL,
							      &G.rt_bound) < 0) {
		fprintf(stderr, "loadgen: cannot listen for the fake Realtime server\n");
		return 2;
	}
	printf("RTPORT %d\n", G.rt_bound);
	fflush(stdout);
	if (!G.chain && ws_ctx_new(&G.cli, G.loop, &wo) < 0)
		return 2;
	G.t0 = now_ns();
	for (int i = 0; i < G.n; i++) {
		strm *s = &G.s[i];
		s->idx = i;
		s->fd = -1;
		s->seen_fake = calloc(G.max_frames, 1);
		s->seen_cli = calloc(G.max_frames, 1);
		s->noecho = calloc(G.max_frames, 1);
		if (!s->seen_fake || !s->seen_cli || !s->noecho)
			return 2;
		s->next_in_slot = G.slot[i % SLOTS];
		G.slot[i % SLOTS] = s;
		if (G.chain && rtp_open(s) < 0) {
			fprintf(stderr, "loadgen: cannot bind RTP port %d\n", G.rtp_base + i);
			return 2;
		}
	}
	for (int k = 0; k < SLOTS; k++)
		G.slot_due[k] = G.t0 + (int64_t)k * 1000000;
	uv_prepare_init(G.loop, &G.prep);
	uv_prepare_start(&G.prep, on_prepare);
	uv_timer_init(G.loop, &G.wheel);
	uv_timer_start(&G.wheel, on_wheel, 1, 1);
	uv_timer_init(G.loop, &G.ramp);
	if (!G.chain)
		uv_timer_start(&G.ramp, on_ramp, 0, 10);
	G.deadline_ms = max_s > 0 ? max_s * 1000 : (G.n / G.rate + G.seconds + 30) * 1000;
	uv_timer_init(G.loop, &G.deadline_t);
	uv_timer_start(&G.deadline_t, on_deadline, (uint64_t)G.deadline_ms, 0);
	uv_signal_init(G.loop, &G.sigint);
	uv_signal_init(G.loop, &G.sigterm);
	uv_signal_start(&G.sigint, on_sig, SIGINT);
	uv_signal_start(&G.sigterm, on_sig, SIGTERM);
	uv_run(G.loop, UV_RUN_DEFAULT);
	report();
	for (int i = 0; i < G.n; i++) {
		if (G.s[i].fd >= 0)
			close(G.s[i].fd);
		free(G.s[i].seen_fake);
		free(G.s[i].seen_cli);
		free(G.s[i].noecho);
	}
	for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++)
		free(hs[i]->b);
	free(G.s);
	uv_loop_close(G.loop);
	return 0;
}
