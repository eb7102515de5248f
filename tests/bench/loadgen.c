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
 * the kernel's SO_TIMESTAMPNS stamps packets with). The generator's own
 * delay is left out: an arrival is the kernel's receive time, for RTP
 * packets and for WebSocket messages alike (SO_TIMESTAMPNS on the TCP
 * sockets: the time the last segment of the read was queued, so the earlier
 * messages of one read are stamped a little late, i.e. their latency is
 * overestimated, never under). Kept alongside for comparison, the older
 * figure: the time the loop woke up for the message (first callback after
 * poll), which still holds the generator's own lateness in getting back to
 * poll when it is busy ("as seen by the generator's loop"). With --lws
 * there are no kernel stamps: both figures are the loop's.
 * Twilio marks from voiceproxy are echoed at the stream's next 20 ms send
 * slot, in the same write as its media (lg_tw.c).
 * Prints one JSON object with the counters and histograms' percentiles. */
#include <getopt.h>
#include <sched.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "b64.h"
#include "lg.h"
#include "log.h"
#include "twilio.h"
#include "ws.h"

#define RING 1024
#define SLOTS 20
#define WARM_FRAMES 50

typedef enum { ST_IDLE, ST_CONNECTING, ST_SENDING, ST_DRAIN, ST_CLOSED } st_state;

typedef struct strm {
	int idx;
	st_state state;
	/* proxy mode: a ws_conn (--lws) or an lg_ws (raw, default) */
	void *ws;
	lg_tw tw;
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
	bool lws, marks_now;
	lg_ws_ctx *raw; /* the raw WebSockets (not --lws): fake server and clients */
	strm *s;
	strm *slot[SLOTS];
	int64_t slot_due[SLOTS];
	uv_timer_t wheel, ramp, deadline_t;
	uv_prepare_t prep;
	uv_signal_t sigint, sigterm;
	int started, opened, closed, failed, latched, finished;
	int64_t t0, t_all_open, t_last_latch, wake;
	bool wake_valid, stopping, chain;
	int64_t deadline_ms;
	/* counters */
	uint64_t in_sent, in_rx, in_dup, out_tx, out_rx, out_dup, out_misaligned;
	uint64_t skipped, prebuf, marks_rx, marks_echoed, fake_conns, rtp_rx, rtp_silence, ws_errors;
	uint64_t early_in, early_out; /* kernel stamps earlier than the send: impossible */
	lg_ws_stats wsst;             /* the raw WebSockets' reads and stamps */
	uint64_t tick_between[4];
	int max_concurrent, cur_concurrent;
	lg_hist hop_in, hop_out, hop_out_net, rtt, gen_lag, pace;
	lg_hist hop_in_loop, hop_out_loop; /* the same, stamped at the loop's wake-up */
	/* --watch-pid: where the scheduler puts the product process against
	 * this one (docs/performance.md: sharing a vCPU or not decides the
	 * cost of every loopback message) */
	int watch_pid;
	uv_timer_t watch_t;
	uint64_t place_n, place_same;
	lg_echo echo; /* the fake Realtime */
	lg_tw_io twio; /* the Twilio streams' */
	char buf[B64_ENC_LEN(TW_MEDIA_MAX) + 4096];
	uint8_t audio[TW_MEDIA_MAX];
} G;

/* Every 10 ms of the measured window: on our vCPU or the other one? */
static void on_watch(uv_timer_t *tm)
{
	int other, mine;

	(void)tm;
	if (!G.t_all_open || G.stopping)
		return;
	other = lg_last_cpu(G.watch_pid);
	mine = sched_getcpu();
	if (other < 0 || mine < 0)
		return;
	G.place_n++;
	G.place_same += other == mine;
}

/* The time the loop woke up for the I/O being handled. */
static int64_t rx_now(void)
{
	if (!G.wake_valid) {
		G.wake = lg_now_ns();
		G.wake_valid = true;
	}
	return G.wake;
}

static void on_prepare(uv_prepare_t *p)
{
	(void)p;
	G.wake_valid = false;
}

static bool in_window(const strm *s, uint32_t seq, int64_t t_send)
{
	return seq >= WARM_FRAMES && G.t_all_open && t_send >= G.t_all_open + 1000000000LL && s;
}

static int read_marker(const uint8_t *f, uint32_t *idx, uint32_t *seq, int64_t *t)
{
	return lg_mark_read(f, (uint32_t)G.n, G.max_frames, idx, seq, t);
}

/* Generic send on a stream's or the fake's connection. */
static int x_send(void *conn, const char *d, size_t n)
{
	return G.lws ? ws_send_text(conn, d, n) : lg_ws_send(conn, d, n);
}

/* Several messages: one write with the raw WebSockets. */
static int x_sendv(void *conn, const struct iovec *m, int n)
{
	int r = 0;

	if (!G.lws)
		return lg_ws_sendv(conn, m, n);
	for (int i = 0; i < n && r == 0; i++)
		r = ws_send_text(conn, m[i].iov_base, m[i].iov_len);
	return r;
}

/* A raw connection's message: the kernel's receive time, or the loop's. */
static int64_t rx_kernel(const lg_ws *c)
{
	int64_t t = lg_ws_rx_ns(c);
	return t ? t : rx_now();
}

/* ---- the fake Realtime server (echo) ------------------------------------ */

/* What became of each frame the fake received (lg_echo). */
static void fake_frame(const uint8_t *f, lg_echo_fate fate, int64_t t_rx, int64_t t_loop, int64_t t_tx,
		       void *arg)
{
	uint32_t idx, seq;
	int64_t ts;
	strm *s;

	(void)arg;
	if (read_marker(f, &idx, &seq, &ts) < 0)
		return;
	s = &G.s[idx];
	if (s->seen_fake[seq]++) {
		G.in_dup++;
		return;
	}
	G.in_rx++;
	if (fate == LG_ECHO_HELD) {
		s->noecho[seq] = 1;
		G.prebuf++;
		return;
	}
	if (t_rx < ts)
		G.early_in++;
	if (in_window(s, seq, ts)) {
		lg_hist_add(&G.hop_in, t_rx - ts);
		lg_hist_add(&G.hop_in_loop, t_loop - ts);
	}
	if (fate == LG_ECHO_SENT) {
		G.out_tx++;
		s->fake_tx[seq % RING] = t_tx;
		s->fake_pk[seq % RING] = s->rx_pkts;
		s->ahead[seq % RING] = (uint32_t)(s->echo_tx - s->echo_rx);
		s->echo_tx++;
	} else {
		s->noecho[seq] = 1;
	}
}

static void rt_text(ws_conn *c, const char *d, size_t len, void *arg)
{
	(void)arg;
	lg_echo_text(&G.echo, c, d, len, rx_now(), rx_now());
}

static void rt_text_raw(lg_ws *c, const char *d, size_t len, void *arg)
{
	(void)arg;
	lg_echo_text(&G.echo, c, d, len, rx_kernel(c), rx_now());
}

static void rt_accept_raw(lg_ws *c, void *arg)
{
	(void)c;
	(void)arg;
	G.fake_conns++;
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

static void caller_frame(strm *s, const uint8_t *f, int64_t t, int64_t t_loop)
{
	uint32_t idx, seq;
	int64_t ts, tx;

	if (read_marker(f, &idx, &seq, &ts) < 0 || idx != (uint32_t)s->idx) {
		if (G.chain && memmem(f, LG_FRAME, LG_MARK_MAGIC, 4))
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
	if (tx && t < tx)
		G.early_out++;
	if (tx) {
		lg_hist_add(&G.hop_out, t - tx);
		lg_hist_add(&G.hop_out_loop, t_loop - tx);
		/* minus the echo audio already queued ahead of this frame at the
		 * caller side's playout (20 ms each): what the relay added */
		lg_hist_add(&G.hop_out_net, t - tx - (int64_t)s->ahead[seq % RING] * 20000000);
	}
	lg_hist_add(&G.rtt, t - ts);
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

static void tw_frame(const uint8_t *f, int64_t t_rx, int64_t t_loop, void *arg)
{
	caller_frame(arg, f, t_rx, t_loop);
}

static void tw_text_core(strm *s, const char *d, size_t len, int64_t t_rx)
{
	if (lg_tw_text(&s->tw, &G.twio, s->ws, d, len, t_rx, rx_now(), tw_frame, s) < 0)
		G.ws_errors++;
}

static void tw_open_core(strm *s)
{
	lg_tw_begin(&s->tw, &G.twio, s->ws);
	s->state = ST_SENDING;
	if (++G.opened == G.n)
		G.t_all_open = lg_now_ns();
	if (++G.cur_concurrent > G.max_concurrent)
		G.max_concurrent = G.cur_concurrent;
}

static void maybe_finish(void);

static void tw_close_core(strm *s, int code, const char *reason)
{
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

static void tw_text(ws_conn *c, const char *d, size_t len, void *arg)
{
	(void)c;
	tw_text_core(arg, d, len, rx_now());
}
static void tw_open(ws_conn *c, void *arg)
{
	(void)c;
	tw_open_core(arg);
}
static void tw_close(ws_conn *c, int code, const char *reason, void *arg)
{
	(void)c;
	tw_close_core(arg, code, reason);
}
static void tw_text_raw(lg_ws *c, const char *d, size_t len, void *arg)
{
	tw_text_core(arg, d, len, rx_kernel(c));
}
static void tw_open_raw(lg_ws *c, void *arg)
{
	(void)c;
	tw_open_core(arg);
}
static void tw_close_raw(lg_ws *c, void *arg)
{
	(void)c;
	tw_close_core(arg, 1006, "closed");
}

static const ws_handlers tw_h = { .open_h = tw_open, .text_h = tw_text, .close_h = tw_close };

static void start_stream(strm *s)
{
	const char *hdrs[2] = { NULL, NULL };
	char auth[300];

	lg_tw_init(&s->tw, s->idx);
	if (G.bearer) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", G.bearer);
		hdrs[0] = auth;
	}
	s->state = ST_CONNECTING;
	if (!G.lws) {
		s->ws = lg_ws_connect(G.raw, G.url, G.bearer, tw_open_raw, tw_text_raw, tw_close_raw, s);
		if (!s->ws) {
			fprintf(stderr, "loadgen: stream %d: cannot connect\n", s->idx);
			s->state = ST_CLOSED;
			G.failed++;
			G.closed++;
		}
		return;
	}
	if (ws_connect(G.cli, G.url, hdrs, &tw_h, s, (ws_conn **)&s->ws) < 0) {
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

	(void)events;
	if (status < 0)
		return;
	/* One datagram per readable event: reading on until EAGAIN costs a
	 * failed recvmsg per packet (50 a second per call); the poll is
	 * level-triggered, so a second queued packet makes the fd ready again. */
	{
		struct sockaddr_in from;
		int64_t t;
		size_t hl = 0;
		int r = lg_rtp_recv(s->fd, pkt, sizeof(pkt), &from, &t, &hl);

		if (r <= 0)
			return;
		G.rtp_rx++;
		if (!s->latched) {
			s->latched = true;
			s->remote = from;
			s->state = ST_SENDING;
			G.latched++;
			G.t_last_latch = lg_now_ns();
			if (++G.cur_concurrent > G.max_concurrent)
				G.max_concurrent = G.cur_concurrent;
			if (G.latched == G.n)
				G.t_all_open = lg_now_ns();
		} else if (s->last_rx_ns && (s->sent > WARM_FRAMES || s->state == ST_DRAIN)) {
			int64_t d = t - s->last_rx_ns - 20000000;
			lg_hist_add(&G.pace, d < 0 ? -d : d);
		}
		s->last_rx_ns = t;
		s->rx_pkts++;
		if ((size_t)r - hl >= LG_FRAME)
			caller_frame(s, pkt + hl, t, rx_now());
		else
			G.rtp_silence++;
	}
}

static int rtp_open(strm *s)
{
	int fd = lg_rtp_open(G.rtp_base + s->idx);

	if (fd < 0)
		return fd;
	s->fd = fd;
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
	uint8_t f[LG_FRAME];
	int64_t t = lg_now_ns();
	uint32_t seq = s->sent;

	lg_mark_fill(f, (uint32_t)s->idx, seq, t);
	if (G.chain) {
		int r = lg_rtp_send(s->fd, &s->remote, s->rtp_seq++, s->rtp_ts, s->ssrc, f, LG_FRAME);
		s->rtp_ts += LG_FRAME;
		if (r < 0)
			return;
	} else {
		if (lg_tw_media(&s->tw, &G.twio, s->ws, f, LG_FRAME, (uint64_t)seq * 20) < 0)
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
		lg_tw_stop(&s->tw, &G.twio, s->ws);
		if (G.lws)
			ws_close(s->ws, 1000, "stop");
		else
			lg_ws_close(s->ws);
	}
	s->state = ST_DRAIN;
}

static void on_wheel(uv_timer_t *tm)
{
	int64_t now = lg_now_ns();
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
			lg_hist_add(&G.gen_lag, now - G.slot_due[k]);
			for (strm *s = G.slot[k]; s; s = s->next_in_slot)
				if (s->state == ST_SENDING && s->sent < (uint32_t)G.seconds * 50u) {
					s->rtp_ts += (uint32_t)(skip * LG_FRAME);
					G.skipped += (uint64_t)skip;
				}
			G.slot_due[k] += skip * 20000000;
		}
		while (now >= G.slot_due[k]) {
			lg_hist_add(&G.gen_lag, now - G.slot_due[k]);
			for (strm *s = G.slot[k]; s; s = s->next_in_slot) {
				if (s->state != ST_SENDING)
					continue;
				if (s->sent < (uint32_t)G.seconds * 50u) {
					send_frame(s); /* with the marks held since the last slot */
				} else if (!G.chain && lg_tw_flush(&s->tw, &G.twio, s->ws) < 0) {
					G.ws_errors++; /* no media due: the marks alone */
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
	if (G.chain) {
		/* some calls never came: the window opens 3 s after the last one */
		if (!G.t_all_open && G.latched && now - G.t_last_latch > 3000000000LL)
			G.t_all_open = now;
		maybe_finish();
	}
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
	if (G.watch_pid > 0)
		uv_close((uv_handle_t *)&G.watch_t, NULL);
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
	if (G.srv)
		ws_ctx_destroy(G.srv);
	if (G.raw) {
		lg_ws_get_stats(G.raw, &G.wsst);
		lg_ws_ctx_destroy(G.raw);
	}
	G.cli = G.srv = NULL;
	G.raw = NULL;
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
		G.marks_rx += s->tw.marks_rx;
		G.marks_echoed += s->tw.marks_echoed;
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
	       G.in_sent, G.in_rx, lost_in, G.in_dup, G.echo.bad);
	printf("\"out_sent\":%" PRIu64 ",\"out_rx\":%" PRIu64 ",\"out_lost\":%" PRIu64 ",\"out_dup\":%" PRIu64
	       ",\"out_misaligned\":%" PRIu64 ",",
	       G.out_tx, G.out_rx, lost_out, G.out_dup, G.out_misaligned);
	printf("\"in_lost_last5s\":%" PRIu64 ",\"out_lost_last5s\":%" PRIu64 ",", tail_in, tail_out);
	printf("\"prebuf_not_echoed\":%" PRIu64 ",\"gen_skipped\":%" PRIu64 ",", G.prebuf, G.skipped);
	printf("\"place_samples\":%" PRIu64 ",\"place_same\":%" PRIu64 ",", G.place_n, G.place_same);
	printf("\"ws_reads\":%" PRIu64 ",\"ws_unstamped\":%" PRIu64 ",\"stamp_late\":%" PRIu64
	       ",\"stamp_before_send_in\":%" PRIu64 ",\"stamp_before_send_out\":%" PRIu64 ",\"marks_rx\":%" PRIu64 ",",
	       G.wsst.reads, G.wsst.unstamped, G.wsst.late, G.early_in, G.early_out, G.marks_rx);
	printf("\"fake_conns\":%" PRIu64 ",\"appends\":%" PRIu64 ",\"marks_echoed\":%" PRIu64
	       ",\"rtp_rx\":%" PRIu64 ",\"rtp_silence\":%" PRIu64 ",\"ws_errors\":%" PRIu64 ",",
	       G.fake_conns, G.echo.appends, G.marks_echoed, G.rtp_rx, G.rtp_silence, G.ws_errors);
	printf("\"ticks_between\":[%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "],", G.tick_between[0],
	       G.tick_between[1], G.tick_between[2], G.tick_between[3]);
	lg_hist_json("hop_in_ms", &G.hop_in);
	lg_hist_json("hop_out_ms", &G.hop_out);
	lg_hist_json("hop_out_net_ms", &G.hop_out_net);
	lg_hist_json("hop_in_loop_ms", &G.hop_in_loop);
	lg_hist_json("hop_out_loop_ms", &G.hop_out_loop);
	lg_hist_json("rtt_ms", &G.rtt);
	lg_hist_json("pace_jitter_ms", &G.pace);
	lg_hist_json("gen_lag_ms", &G.gen_lag);
	printf("\"ok\":%s}\n", (G.failed || never || lost_in || lost_out) ? "false" : "true");
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: loadgen --mode proxy|chain --calls N --seconds S --rt-port P\n"
		"  proxy: --url ws://127.0.0.1:PORT/media-stream [--bearer TOKEN] [--rate STREAMS_PER_S]\n"
		"  chain: --rtp-base PORT (call i uses PORT+i) [--max-seconds T]\n"
		"  --lws: WebSockets through common/ws (libwebsockets) instead of the built-in raw ones\n"
		"  --marks-now: echo Twilio marks at once instead of at the stream's next 20 ms slot\n"
		"  --watch-pid PID: every 10 ms of the measured window, is PID on this process's vCPU?\n"
		"  --rt-tls-cert FILE --rt-tls-key FILE: the fake Realtime speaks TLS (PEM; not with --lws)\n"
		"  The fake Realtime (echo) listens on 127.0.0.1:--rt-port (0 = any; printed as RTPORT n).\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", 1, 0, 'm' }, { "calls", 1, 0, 'n' }, { "seconds", 1, 0, 's' },
		{ "url", 1, 0, 'u' }, { "bearer", 1, 0, 'b' }, { "rate", 1, 0, 'r' },
		{ "rt-port", 1, 0, 'p' }, { "rtp-base", 1, 0, 'B' }, { "max-seconds", 1, 0, 'M' }, { "lws", 0, 0, 'L' },
		{ "marks-now", 0, 0, 'K' }, { "rt-tls-cert", 1, 0, 'C' }, { "rt-tls-key", 1, 0, 'k' },
		{ "watch-pid", 1, 0, 'W' },
		{ 0, 0, 0, 0 },
	};
	ws_opts wo = { .max_message = 1u << 20, .max_queue = 4u << 20, .connect_timeout_ms = 20000 };
	int c, max_s = 0;
	const char *tls_cert = NULL, *tls_key = NULL;

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
		case 'W': G.watch_pid = atoi(optarg); break;
		case 'L': G.lws = true; break;
		case 'K': G.marks_now = true; break;
		case 'C': tls_cert = optarg; break;
		case 'k': tls_key = optarg; break;
		default: usage();
		}
	}
	G.chain = !strcmp(G.mode, "chain");
	if (G.n < 1 || G.n > 20000 || G.seconds < 1 || G.rate < 1 || (!G.chain && strcmp(G.mode, "proxy")) ||
	    (!G.chain && !G.url) || (G.chain && G.rtp_base < 1024) || !tls_cert != !tls_key || (tls_cert && G.lws))
		usage();
	G.max_frames = (unsigned)G.seconds * 50u + 100u;
	G.loop = uv_default_loop();
	G.s = calloc((size_t)G.n, sizeof(*G.s));
	lg_hist *hs[] = { &G.hop_in, &G.hop_out, &G.hop_out_net, &G.rtt, &G.gen_lag, &G.pace,
			  &G.hop_in_loop, &G.hop_out_loop };
	for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++)
		if (lg_hist_init(hs[i]) < 0)
			return 2;
	if (lg_echo_init(&G.echo, TW_MEDIA_MAX, x_send, fake_frame, NULL) < 0)
		return 2;
	if (lg_tw_selftest() < 0) {
		fprintf(stderr, "loadgen: lg_tw's templates differ from twilio_fmt\n");
		return 2;
	}
	G.twio = (lg_tw_io){ .sendv = x_sendv, .buf = G.buf, .cap = sizeof(G.buf), .audio = G.audio,
			     .audiocap = sizeof(G.audio), .marks_now = G.marks_now };
	if (G.lws ? (ws_ctx_new(&G.srv, G.loop, &wo) < 0 ||
		     ws_listen(G.srv, "127.0.0.1", G.rt_port, rt_accept, NULL, &G.rt_bound) < 0)
		  : (lg_ws_ctx_new(&G.raw, G.loop) < 0 || (tls_cert && lg_ws_tls(G.raw, tls_cert, tls_key) < 0) ||
		     lg_ws_listen(G.raw, G.rt_port, &G.rt_bound, rt_accept_raw, rt_text_raw, NULL) < 0)) {
		fprintf(stderr, "loadgen: cannot listen for the fake Realtime server\n");
		return 2;
	}
	printf("RTPORT %d\n", G.rt_bound);
	fflush(stdout);
	if (G.lws && !G.chain && ws_ctx_new(&G.cli, G.loop, &wo) < 0)
		return 2;
	G.t0 = lg_now_ns();
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
	if (G.watch_pid > 0) {
		uv_timer_init(G.loop, &G.watch_t);
		uv_timer_start(&G.watch_t, on_watch, 10, 10);
	}
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
		lg_hist_free(hs[i]);
	lg_echo_free(&G.echo);
	free(G.s);
	uv_loop_close(G.loop);
	return 0;
}
