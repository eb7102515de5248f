/* test_media: the real media thread on loopback, without SIP: an RTP socket
 * from rtp_sock_alloc, a UDP peer played by the test, and an in-test
 * Twilio-side WS server (common/ws.h) on the test's own loop.
 * Covers: start fields and token; RTP in (PCMA converted, reorder, dup,
 * garbage, foreign source) -> media events; outbound media of odd sizes ->
 * 160-byte packets at 20 ms with continuous seq/ts and a talkspurt marker;
 * mark and clear; DTMF; WS unreachable -> FAILED; WS closed by the server
 * -> HANGUP; media_call_end -> stop, then ENDED. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "b64.h"
#include "g711.h"
#include "ids.h"
#include "log.h"
#include "media.h"
#include "rtp.h"
#include "twilio.h"
#include "ws.h"

#define MAX_EV 4096
#define MAX_PKT 4096

/* ---- media events (reported on the media thread) ------------------------------- */

static pthread_mutex_t ev_mu = PTHREAD_MUTEX_INITIALIZER;
#define MAX_MEV 16384
static struct { uint64_t key; media_event ev; } mev[MAX_MEV];
static int nmev;

static void on_media_event(uint64_t key, media_event ev, const char *reason, void *arg)
{
	(void)reason;
	(void)arg;
	pthread_mutex_lock(&ev_mu);
	if (nmev < MAX_MEV) {
		mev[nmev].key = key;
		mev[nmev].ev = ev;
		nmev++;
	}
	pthread_mutex_unlock(&ev_mu);
}

static int count_mev(uint64_t key, media_event ev)
{
	int n = 0;
	pthread_mutex_lock(&ev_mu);
	for (int i = 0; i < nmev; i++)
		n += mev[i].key == key && mev[i].ev == ev;
	pthread_mutex_unlock(&ev_mu);
	return n;
}

/* Calls 1..n that reported ev. */
static int failed_or_ready(int n, media_event ev)
{
	int k = 0;
	pthread_mutex_lock(&ev_mu);
	for (int i = 0; i < nmev; i++)
		k += mev[i].ev == ev && mev[i].key >= 1 && mev[i].key <= (uint64_t)n;
	pthread_mutex_unlock(&ev_mu);
	return k;
}

/* ---- the test's Twilio-side server and RTP peer ------------------------------------- */

typedef struct pkt {
	uint64_t t_ns;
	rtp_hdr h;
	uint8_t pl[RTP_MAX_PKT];
} pkt;

/* The Twilio-side server runs on its own thread ("child") with its own
 * loop and ws context, next to the media thread's (two live ws contexts in
 * one process are fine since ws_ctx_new inits OpenSSL once). It shares no
 * state with the test thread: child -> parent messages on a SOCK_SEQPACKET
 * pair: type byte + arrival time (ns, CLOCK_MONOTONIC) + payload:
 * 'P' port, 'A' upgrade accepted (Authorization header), 'E' text frame,
 * 'X' connection closed. Parent -> child: 'T' text to send, 'C' close,
 * 'B' a junk text frame of N bytes, 'Q' quit. */
typedef struct msg_hdr {
	char type;
	uint64_t t_ns;
} msg_hdr;

static struct {
	pthread_t child;
	int sock;
	int port;
	bool connected, closed;
	char auth[256];
	char *ev[MAX_EV];
	uint64_t ev_ns[MAX_EV];
	int nev;
	int peer_fd;            /* the caller's RTP socket */
	struct sockaddr_in peer;
	pkt *pk;                /* RTP received by the peer */
	int npk;
} S;

static media *M;
static uint8_t audio[TW_MEDIA_MAX];

/* ---- child side ---- */
static struct { int sock; ws_conn *cur; ws_ctx *ws; uv_poll_t poll; bool quit; } C;

static void child_send(char type, const void *data, size_t len)
{
	static char buf[1 << 20];
	msg_hdr h = { .type = type, .t_ns = uv_hrtime() };
	if (len > sizeof(buf) - sizeof(h))
		len = sizeof(buf) - sizeof(h);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), data, len);
	if (send(C.sock, buf, sizeof(h) + len, 0) < 0)
		_exit(3);
}

static void child_text(ws_conn *c, const char *data, size_t len, void *arg)
{
	(void)c;
	(void)arg;
	child_send('E', data, len);
}

static void child_close(ws_conn *c, int code, const char *reason, void *arg)
{
	(void)code;
	(void)reason;
	(void)arg;
	if (c == C.cur) {
		C.cur = NULL;
		child_send('X', "", 0);
	}
}

static const ws_handlers child_h = { .text_h = child_text, .close_h = child_close };

static int child_accept(ws_conn *c, const ws_request *rq, void *arg)
{
	const char *a = ws_request_header(rq, "Authorization");
	(void)arg;
	C.cur = c;
	ws_set_handlers(c, &child_h, NULL);
	child_send('A', a ? a : "", a ? strlen(a) : 0);
	return 0;
}

static void child_cmd(uv_poll_t *p, int status, int events)
{
	static char buf[1 << 20];
	ssize_t n;
	(void)p;
	(void)events;
	if (status < 0)
		return;
	while ((n = recv(C.sock, buf, sizeof(buf) - 1, MSG_DONTWAIT)) >= 0) {
		if (n == 0 || buf[0] == 'Q') {
			C.quit = true;
			uv_poll_stop(&C.poll);
			uv_close((uv_handle_t *)&C.poll, NULL);
			ws_ctx_destroy(C.ws);
			return;
		}
		buf[n] = 0;
		if (buf[0] == 'T' && C.cur)
			ws_send_text(C.cur, buf + 1, (size_t)n - 1);
		else if (buf[0] == 'C' && C.cur)
			ws_close(C.cur, 1000, "bye");
		else if (buf[0] == 'B' && C.cur) {
			size_t len = (size_t)atol(buf + 1);
			char *big = malloc(len);
			if (!big)
				_exit(3);
			memset(big, 'A', len);
			memcpy(big, "{\"x\":\"", 6);
			big[len - 2] = '"';
			big[len - 1] = '}';
			ws_send_text(C.cur, big, len);
			free(big);
		}
	}
}

static void *child_main(void *sockp)
{
	int sock = (int)(intptr_t)sockp;
	uv_loop_t loop;
	int port = 0;
	C.sock = sock;
	uv_loop_init(&loop);
	if (ws_ctx_new(&C.ws, &loop, NULL) < 0 || ws_listen(C.ws, "127.0.0.1", 0, child_accept, NULL, &port) < 0)
		_exit(2);
	child_send('P', &port, sizeof(port));
	uv_poll_init(&loop, &C.poll, sock);
	uv_poll_start(&C.poll, UV_READABLE, child_cmd);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop)) /* a handle left open: fail the whole test */
		_exit(4);
	return NULL;
}

/* ---- parent side ---- */
static void to_child(char type, const void *data, size_t len)
{
	char *buf = malloc(len + 1);
	assert_non_null(buf);
	buf[0] = type;
	memcpy(buf + 1, data, len);
	assert_int_equal(send(S.sock, buf, len + 1, 0), (ssize_t)len + 1);
	free(buf);
}

static void drain_child(void)
{
	static char buf[1 << 20];
	ssize_t n;
	msg_hdr h;
	while ((n = recv(S.sock, buf, sizeof(buf) - 1, MSG_DONTWAIT)) >= (ssize_t)sizeof(h)) {
		memcpy(&h, buf, sizeof(h));
		char *d = buf + sizeof(h);
		size_t len = (size_t)n - sizeof(h);
		d[len] = 0;
		switch (h.type) {
		case 'P': memcpy(&S.port, d, sizeof(S.port)); break;
		case 'A':
			snprintf(S.auth, sizeof(S.auth), "%.200s", d);
			S.connected = true;
			S.closed = false;
			break;
		case 'E':
			if (S.nev < MAX_EV) {
				S.ev[S.nev] = strndup(d, len);
				S.ev_ns[S.nev++] = h.t_ns;
			}
			break;
		case 'X':
			S.connected = false;
			S.closed = true;
			break;
		}
	}
}

static void drain_udp(void)
{
	uint8_t buf[RTP_MAX_PKT];
	ssize_t n;
	while (S.peer_fd >= 0 && (n = recv(S.peer_fd, buf, sizeof(buf), 0)) > 0) {
		rtp_hdr h;
		if (S.npk >= MAX_PKT || rtp_parse(&h, buf, (size_t)n) < 0)
			continue;
		pkt *p = &S.pk[S.npk++];
		p->t_ns = uv_hrtime();
		p->h = h;
		memcpy(p->pl, h.payload, h.len);
		p->h.payload = p->pl;
	}
}

static void pump(int ms)
{
	uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000u;
	do {
		drain_child();
		drain_udp();
		usleep(300);
	} while (uv_hrtime() < end);
}

/* Pumps until cond() holds or ms elapse; returns cond(). */
#define WAIT_FOR(cond, ms) ({ \
	uint64_t _end = uv_hrtime() + (uint64_t)(ms) * 1000000u; \
	while (!(cond) && uv_hrtime() < _end) pump(1); \
	(cond); })

static void reset_server(void)
{
	for (int i = 0; i < S.nev; i++)
		free(S.ev[i]);
	S.nev = 0;
	S.npk = 0;
	S.auth[0] = 0;
	drain_udp();
	S.npk = 0;
}

static int parse_ev(int i, tw_event *ev)
{
	char err[128];
	return tw_parse(ev, S.ev[i], strlen(S.ev[i]), TW_FROM_STREAM, audio, sizeof(audio), err, sizeof(err));
}

static int count_type(tw_type t)
{
	tw_event ev;
	int n = 0;
	for (int i = 0; i < S.nev; i++)
		n += parse_ev(i, &ev) == 0 && ev.type == t;
	return n;
}

static void srv_send(const char *json)
{
	assert_true(S.connected);
	to_child('T', json, strlen(json));
}

static void srv_send_media(const char *sid, const uint8_t *a, size_t n)
{
	static char buf[TW_MEDIA_FMT_CAP(TW_MEDIA_MAX)];
	int len = tw_fmt_app_media(buf, sizeof(buf), sid, a, n);
	assert_true(len > 0);
	srv_send(buf);
}

static void srv_send_mark(const char *sid, const char *name)
{
	char buf[512];
	int len = tw_fmt_app_mark(buf, sizeof(buf), sid, name);
	assert_true(len > 0);
	srv_send(buf);
}

static void send_rtp_from(int fd, int pt, uint16_t seq, uint32_t ts, uint32_t ssrc, bool marker,
			  const uint8_t *pl, size_t n, int port)
{
	uint8_t b[RTP_MAX_PKT];
	rtp_hdr h = { .pt = (uint8_t)pt, .marker = marker, .seq = seq, .ts = ts, .ssrc = ssrc };
	int len = rtp_build(b, sizeof(b), &h, pl, n);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(len > 0);
	assert_int_equal(sendto(fd, b, (size_t)len, 0, (struct sockaddr *)&to, sizeof(to)), len);
}

static int udp_socket(struct sockaddr_in *self)
{
	socklen_t sl = sizeof(*self);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	memset(self, 0, sizeof(*self));
	self->sin_family = AF_INET;
	self->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)self, sizeof(*self)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)self, &sl), 0);
	return fd;
}

/* ---- call helpers ------------------------------------------------------------------------ */

typedef struct call {
	uint64_t key;
	int port;
	char sid[TW_SID_MAX];
} call;

static uint64_t next_key = 100;

static void start_call(call *c, int pt, bool with_remote)
{
	media_params p;
	int fd;
	memset(&p, 0, sizeof(p));
	reset_server();
	assert_int_equal(rtp_sock_alloc(&fd, &c->port), 0);
	c->key = next_key++;
	snprintf(p.sip_call_id, sizeof(p.sip_call_id), "abc123@10.0.0.1");
	snprintf(p.from, sizeof(p.from), "+33612345678");
	snprintf(p.to, sizeof(p.to), "+33491234567");
	p.rtp_fd = fd;
	p.rtp_port = c->port;
	if (with_remote)
		memcpy(&p.remote, &S.peer, sizeof(S.peer));
	p.pt = pt;
	p.dtmf_pt = 101;
	snprintf(p.params[0][0], 256, "restaurantId");
	snprintf(p.params[0][1], 256, "pizza-napoli");
	p.nparams = 1;
	assert_int_equal(media_call_start(M, c->key, &p), 0);
	assert_true(WAIT_FOR(count_mev(c->key, MEDIA_EV_READY) == 1 && S.nev >= 2, 3000));
	tw_event ev;
	assert_int_equal(parse_ev(1, &ev), 0);
	assert_int_equal(ev.type, TW_START);
	snprintf(c->sid, sizeof(c->sid), "%s", ev.stream_sid);
}

static void end_call(call *c)
{
	assert_int_equal(media_call_end(M, c->key, "test"), 0);
	assert_true(WAIT_FOR(count_mev(c->key, MEDIA_EV_ENDED) == 1, 3000));
	/* the server has seen everything (stop, then the close) before the next test */
	assert_true(WAIT_FOR(S.closed, 3000));
}

/* Checks sequenceNumber +1 on every message and chunk +1 on every media. */
static void check_counters(void)
{
	tw_event ev;
	uint64_t seq = 0, chunk = 0, last_ts = 0;
	for (int i = 0; i < S.nev; i++) {
		assert_int_equal(parse_ev(i, &ev), 0);
		if (i == 0) {
			assert_int_equal(ev.type, TW_CONNECTED);
			continue;
		}
		assert_int_equal(ev.seq, ++seq);
		if (ev.type == TW_MEDIA) {
			assert_int_equal(ev.u.media.chunk, ++chunk);
			assert_true(ev.u.media.timestamp >= last_ts);
			last_ts = ev.u.media.timestamp;
		}
	}
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void start_fields_and_stop(void **state)
{
	call c;
	tw_event ev;
	(void)state;
	start_call(&c, MEDIA_PT_PCMU, true);
	assert_string_equal(S.auth, "Bearer s3cret-token");
	assert_int_equal(parse_ev(0, &ev), 0);
	assert_string_equal(ev.u.connected.protocol, "Call");
	assert_int_equal(parse_ev(1, &ev), 0);
	assert_int_equal(ev.seq, 1);
	assert_true(id_valid(ev.u.start.account_sid, "AC"));
	assert_true(id_valid(ev.u.start.call_sid, "CA"));
	assert_true(id_valid(ev.u.start.stream_sid, "MZ"));
	assert_int_equal(ev.u.start.tracks, TW_TRACK_INBOUND);
	assert_string_equal(ev.u.start.encoding, "audio/x-mulaw");
	assert_int_equal(ev.u.start.nparams, 4);
	assert_string_equal(ev.u.start.params[0].key, "restaurantId");
	assert_string_equal(ev.u.start.params[0].val, "pizza-napoli");
	assert_string_equal(ev.u.start.params[1].key, "from");
	assert_string_equal(ev.u.start.params[1].val, "+33612345678");
	assert_string_equal(ev.u.start.params[2].key, "to");
	assert_string_equal(ev.u.start.params[3].key, "sipCallId");
	assert_string_equal(ev.u.start.params[3].val, "abc123@10.0.0.1");
	char call_sid[TW_SID_MAX];
	snprintf(call_sid, sizeof(call_sid), "%s", ev.u.start.call_sid);
	/* silence flows to the SDP address right away */
	assert_true(WAIT_FOR(S.npk >= 3, 1000));
	assert_int_equal(S.pk[0].h.len, 160);
	assert_int_equal(S.pk[0].pl[0], 0xFF);
	end_call(&c);
	assert_true(WAIT_FOR(S.closed, 2000));
	assert_int_equal(parse_ev(S.nev - 1, &ev), 0);
	assert_int_equal(ev.type, TW_STOP);
	assert_string_equal(ev.u.stop.call_sid, call_sid);
	check_counters();
	assert_int_equal(count_mev(c.key, MEDIA_EV_HANGUP), 0);
}

static void inbound_pcma(void **state)
{
	call c;
	uint8_t pl[10][160], garbage[200];
	tw_event ev;
	struct sockaddr_in other;
	int ofd = udp_socket(&other);
	(void)state;
	start_call(&c, MEDIA_PT_PCMA, true);
	for (int i = 0; i < 10; i++)
		for (int k = 0; k < 160; k++)
			pl[i][k] = (uint8_t)(i * 16 + k);
	/* order on the wire: 0 1 3 2 4 4(dup) 5 .. 9, garbage in between */
	int order[] = { 0, 1, 3, 2, 4, 4, 5, 6, 7, 8, 9 };
	for (size_t j = 0; j < sizeof(order) / sizeof(order[0]); j++) {
		int i = order[j];
		send_rtp_from(S.peer_fd, MEDIA_PT_PCMA, (uint16_t)(65530 + i), 1000u + 160u * (unsigned)i,
			      0x1234, i == 0, pl[i], 160, c.port);
		if (j == 2) {
			memset(garbage, 0xAB, sizeof(garbage));
			struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)c.port) };
			to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			sendto(S.peer_fd, garbage, 5, 0, (struct sockaddr *)&to, sizeof(to));    /* short */
			sendto(S.peer_fd, garbage, 200, 0, (struct sockaddr *)&to, sizeof(to));  /* version 2? no: 0xAB */
			send_rtp_from(S.peer_fd, 18, 7, 7, 0x1234, false, pl[0], 20, c.port);    /* unknown PT */
			send_rtp_from(ofd, MEDIA_PT_PCMA, 65532, 1000 + 320, 0x9999, false, pl[9], 160, c.port); /* foreign */
		}
		pump(20);
	}
	assert_true(WAIT_FOR(count_type(TW_MEDIA) >= 10, 2000));
	pump(100);
	assert_int_equal(count_type(TW_MEDIA), 10);
	int m = 0;
	for (int i = 0; i < S.nev; i++) {
		if (parse_ev(i, &ev) || ev.type != TW_MEDIA)
			continue;
		uint8_t want[160];
		g711_alaw_to_ulaw_buf(want, pl[m], 160);
		assert_int_equal(ev.u.media.len, 160);
		assert_memory_equal(ev.u.media.payload, want, 160);
		assert_int_equal(ev.u.media.track, TW_TRACK_INBOUND);
		m++;
	}
	check_counters();
	/* outbound goes to the latched source, in A-law */
	S.npk = 0;
	assert_true(WAIT_FOR(S.npk >= 2, 1000));
	assert_int_equal(S.pk[0].h.pt, MEDIA_PT_PCMA);
	assert_int_equal(S.pk[0].pl[0], 0xD5);
	end_call(&c);
	close(ofd);
}

static void outbound_odd_sizes(void **state)
{
	call c;
	uint8_t a[1000];
	size_t sizes[] = { 1, 7, 333, 500, 159 }, off = 0;
	(void)state;
	start_call(&c, MEDIA_PT_PCMU, true);
	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = (uint8_t)(i % 200); /* never 0xFF: audio is told apart from silence */
	pump(60);
	int first = S.npk;
	uint64_t t_send = uv_hrtime();
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		srv_send_media(c.sid, a + off, sizes[i]);
		off += sizes[i];
	}
	srv_send_mark(c.sid, "after-1000");
	assert_true(WAIT_FOR(count_type(TW_MARK) == 1, 2000));
	uint64_t t_mark = S.ev_ns[S.nev - 1];
	pump(120);
	/* 1000 bytes = 6.25 frames: the mark comes back after the 7th frame */
	assert_true(t_mark - t_send >= 110 * 1000000ull);
	uint8_t got[2000];
	size_t ngot = 0;
	int audio_pkts = 0, markers = 0, start = -1;
	for (int i = first; i < S.npk; i++) {
		pkt *p = &S.pk[i];
		assert_int_equal(p->h.len, 160);
		if (i > first) {
			assert_int_equal((uint16_t)(p->h.seq - S.pk[i - 1].h.seq), 1);
			assert_int_equal(p->h.ts - S.pk[i - 1].h.ts, 160);
			assert_int_equal(p->h.ssrc, S.pk[i - 1].h.ssrc);
		}
		markers += p->h.marker;
		bool has_audio = p->pl[0] != 0xFF;
		if (has_audio) {
			if (start < 0) {
				start = i;
				assert_true(p->h.marker);
			}
			audio_pkts++;
			memcpy(got + ngot, p->pl, 160);
			ngot += 160;
		}
	}
	assert_int_equal(markers, 1);
	assert_int_equal(audio_pkts, 7);
	assert_memory_equal(got, a, 1000);
	for (size_t i = 1000; i < 1120; i++)
		assert_int_equal(got[i], 0xFF); /* padded with silence */
	/* paced at 20 ms */
	uint64_t span = S.pk[S.npk - 1].t_ns - S.pk[first].t_ns;
	double mean = (double)span / (S.npk - 1 - first) / 1e6;
	assert_true(mean > 18.5 && mean < 21.5);
	end_call(&c);
	check_counters();
}

static void marks_and_clear(void **state)
{
	call c;
	static uint8_t a[16000];
	tw_event ev;
	(void)state;
	start_call(&c, MEDIA_PT_PCMU, true);
	memset(a, 0x55, sizeof(a));
	uint64_t t0 = uv_hrtime();
	srv_send_mark(c.sid, "idle");                 /* nothing queued: at once */
	assert_true(WAIT_FOR(count_type(TW_MARK) == 1, 1000));
	assert_true(S.ev_ns[S.nev - 1] - t0 < 100 * 1000000ull);
	srv_send_media(c.sid, a, sizeof(a));          /* 2 s */
	srv_send_mark(c.sid, "a");
	srv_send_media(c.sid, a, 800);
	srv_send_mark(c.sid, "b");
	pump(200);
	assert_int_equal(count_type(TW_MARK), 1);     /* still playing */
	int before = S.npk;
	t0 = uv_hrtime();
	srv_send("{\"event\":\"clear\",\"streamSid\":\"x\"}"); /* foreign sid: ignored */
	pump(100);
	assert_int_equal(count_type(TW_MARK), 1);
	char clr[256];
	tw_fmt_clear(clr, sizeof(clr), c.sid);
	srv_send(clr);
	assert_true(WAIT_FOR(count_type(TW_MARK) == 3, 1000));
	assert_true(S.ev_ns[S.nev - 1] - t0 < 400 * 1000000ull);
	const char *want[] = { "idle", "a", "b" };
	int k = 0;
	for (int i = 0; i < S.nev; i++)
		if (parse_ev(i, &ev) == 0 && ev.type == TW_MARK)
			assert_string_equal(ev.u.mark.name, want[k++]);
	/* audio stops soon after the clear */
	pump(100);
	int last_audio = -1;
	for (int i = before; i < S.npk; i++)
		if (S.pk[i].pl[0] != 0xFF)
			last_audio = i;
	pump(100);
	for (int i = last_audio + 1; i < S.npk; i++)
		assert_int_equal(S.pk[i].pl[0], 0xFF);
	end_call(&c);
	check_counters();
}

static void dtmf_digits(void **state)
{
	call c;
	tw_event ev;
	uint8_t silence[160];
	(void)state;
	start_call(&c, MEDIA_PT_PCMU, true);
	memset(silence, 0xFF, sizeof(silence));
	uint16_t seq = 1;
	uint32_t ts = 0;
	const uint8_t events[] = { 1, 11, 1 };
	for (size_t e = 0; e < sizeof(events); e++) {
		send_rtp_from(S.peer_fd, 0, seq++, ts, 42, false, silence, 160, c.port);
		ts += 160;
		for (int i = 0; i < 7; i++) {   /* 4 progress packets, 3 end packets */
			uint8_t p[4] = { events[e], (uint8_t)((i >= 4 ? 0x80 : 0) | 10), 0, (uint8_t)(160 * (i + 1) >> 8) };
			send_rtp_from(S.peer_fd, 101, seq++, ts, 42, i == 0, p, 4, c.port);
			pump(5);
		}
		ts += 160 * 7;
	}
	assert_true(WAIT_FOR(count_type(TW_DTMF) >= 3, 1000));
	pump(100);
	assert_int_equal(count_type(TW_DTMF), 3);
	char digits[8] = "";
	for (int i = 0; i < S.nev; i++)
		if (parse_ev(i, &ev) == 0 && ev.type == TW_DTMF)
			strncat(digits, &ev.u.dtmf.digit, 1);
	assert_string_equal(digits, "1#1");
	end_call(&c);
	check_counters();
}

static void hostile_ws_input(void **state)
{
	call c;
	uint8_t a[320];
	(void)state;
	start_call(&c, MEDIA_PT_PCMU, true);
	srv_send("not json");
	srv_send("{\"event\":\"media\"}");
	srv_send("{\"event\":\"bogus\",\"streamSid\":\"MZ\"}");
	char bad64[256];
	snprintf(bad64, sizeof(bad64), "{\"event\":\"media\",\"streamSid\":\"%s\",\"media\":{\"payload\":\"@@@=\"}}", c.sid);
	srv_send(bad64);
	to_child('B', "300000", 6);
	pump(100);
	/* the call carries on */
	memset(a, 0x33, sizeof(a));
	srv_send_media(c.sid, a, sizeof(a));
	srv_send_mark(c.sid, "still-alive");
	assert_true(WAIT_FOR(count_type(TW_MARK) == 1, 1000));
	assert_int_equal(count_mev(c.key, MEDIA_EV_HANGUP), 0);
	end_call(&c);
}

/* re-INVITE: a new remote address, hold, then a codec change. */
static void update_remote_hold_codec(void **state)
{
	call c;
	media_params p;
	struct sockaddr_in other;
	int ofd = udp_socket(&other), n;
	uint8_t buf[RTP_MAX_PKT];
	rtp_hdr h;
	(void)state;
	start_call(&c, MEDIA_PT_PCMU, true);
	assert_true(WAIT_FOR(S.npk >= 2, 1000));
	memset(&p, 0, sizeof(p));
	p.rtp_fd = -1;
	p.pt = MEDIA_PT_PCMU;
	p.dtmf_pt = 101;
	memcpy(&p.remote, &other, sizeof(other));
	assert_int_equal(media_call_update(M, c.key, &p), 0);
	pump(100);
	/* the new address gets the packets, the old one no more */
	int before = S.npk;
	pump(200);
	assert_true(S.npk - before <= 1);
	n = 0;
	while (recv(ofd, buf, sizeof(buf), 0) > 0)
		n++;
	assert_true(n >= 5);
	/* hold: nothing is sent */
	p.hold = true;
	assert_int_equal(media_call_update(M, c.key, &p), 0);
	pump(60);
	while (recv(ofd, buf, sizeof(buf), 0) > 0)
		;
	pump(200);
	assert_int_equal(recv(ofd, buf, sizeof(buf), 0), -1);
	/* unhold with PCMA: A-law silence with PT 8 */
	p.hold = false;
	p.pt = MEDIA_PT_PCMA;
	assert_int_equal(media_call_update(M, c.key, &p), 0);
	pump(100);
	ssize_t len = -1;
	for (int i = 0; i < 20 && (len = recv(ofd, buf, sizeof(buf), 0)) < 0; i++)
		pump(10);
	assert_true(len > 0);
	assert_int_equal(rtp_parse(&h, buf, (size_t)len), 0);
	assert_int_equal(h.pt, MEDIA_PT_PCMA);
	assert_int_equal(h.len, 160);
	assert_int_equal(h.payload[0], 0xD5);
	end_call(&c);
	close(ofd);
}

static void ws_closed_by_server(void **state)
{
	call c;
	(void)state;
	start_call(&c, MEDIA_PT_PCMU, true);
	to_child('C', "", 0);
	assert_true(WAIT_FOR(count_mev(c.key, MEDIA_EV_HANGUP) == 1, 2000));
	end_call(&c);
	assert_int_equal(count_type(TW_STOP), 0);
}

static void ws_unreachable(void **state)
{
	media *m2;
	media_params p;
	int fd, port, lfd;
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t sl = sizeof(a);
	char url[128];
	(void)state;
	/* Last test: M goes first (lws 4.1 wants one context at a time). */
	media_destroy(M);
	M = NULL;
	/* a port nobody listens on: bind then close */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(lfd, (struct sockaddr *)&a, &sl);
	close(lfd);
	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/media-stream", ntohs(a.sin_port));
	media_opts o = { .ws_url = url, .max_calls = 2 };
	assert_int_equal(media_new(&m2, &o, on_media_event, NULL), 0);
	assert_int_equal(media_start(m2), 0);
	memset(&p, 0, sizeof(p));
	assert_int_equal(rtp_sock_alloc(&fd, &port), 0);
	p.rtp_fd = fd;
	p.rtp_port = port;
	p.pt = MEDIA_PT_PCMU;
	p.dtmf_pt = -1;
	uint64_t t0 = uv_hrtime();
	assert_int_equal(media_call_start(m2, 7777, &p), 0);
	assert_true(WAIT_FOR(count_mev(7777, MEDIA_EV_FAILED) == 1, 5000));
	assert_true(uv_hrtime() - t0 < 4000 * 1000000ull);
	assert_int_equal(count_mev(7777, MEDIA_EV_READY), 0);
	assert_int_equal(media_call_end(m2, 7777, "503"), 0);
	assert_true(WAIT_FOR(count_mev(7777, MEDIA_EV_ENDED) == 1, 2000));
	assert_int_equal(media_live_calls(m2), 0);
	media_destroy(m2);

	/* A server that accepts TCP but never answers the upgrade: FAILED after
	 * the ~3 s connect timeout. */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_port = 0;
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	sl = sizeof(a);
	getsockname(lfd, (struct sockaddr *)&a, &sl);
	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/media-stream", ntohs(a.sin_port));
	assert_int_equal(media_new(&m2, &o, on_media_event, NULL), 0);
	assert_int_equal(media_start(m2), 0);
	assert_int_equal(rtp_sock_alloc(&fd, &port), 0);
	p.rtp_fd = fd;
	p.rtp_port = port;
	t0 = uv_hrtime();
	assert_int_equal(media_call_start(m2, 8888, &p), 0);
	assert_true(WAIT_FOR(count_mev(8888, MEDIA_EV_FAILED) == 1, 8000));
	uint64_t took = (uv_hrtime() - t0) / 1000000u;
	assert_true(took >= 2000 && took < 5000);
	assert_int_equal(media_call_end(m2, 8888, "503"), 0);
	assert_true(WAIT_FOR(count_mev(8888, MEDIA_EV_ENDED) == 1, 2000));
	/* Ended (CANCEL) while the stream is still connecting: ENDED, promptly. */
	assert_int_equal(rtp_sock_alloc(&fd, &port), 0);
	p.rtp_fd = fd;
	p.rtp_port = port;
	assert_int_equal(media_call_start(m2, 9999, &p), 0);
	pump(200);
	t0 = uv_hrtime();
	assert_int_equal(media_call_end(m2, 9999, "cancel"), 0);
	assert_true(WAIT_FOR(count_mev(9999, MEDIA_EV_ENDED) == 1, 5000));
	assert_true(uv_hrtime() - t0 < 1000 * 1000000ull);
	assert_int_equal(count_mev(9999, MEDIA_EV_READY), 0);
	close(lfd);

	/* admission limit */
	int fds[3], ports[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(rtp_sock_alloc(&fds[i], &ports[i]), 0);
	p.rtp_fd = fds[0]; p.rtp_port = ports[0];
	assert_int_equal(media_call_start(m2, 1, &p), 0);
	p.rtp_fd = fds[1]; p.rtp_port = ports[1];
	assert_int_equal(media_call_start(m2, 2, &p), 0);
	p.rtp_fd = fds[2]; p.rtp_port = ports[2];
	assert_int_equal(media_call_start(m2, 3, &p), -EBUSY);
	rtp_sock_free(fds[2], ports[2]);
	media_destroy(m2); /* ends both calls: ENDED reported */
	assert_int_equal(count_mev(1, MEDIA_EV_ENDED) + count_mev(2, MEDIA_EV_ENDED), 2);
}

static void port_allocator(void **state)
{
	int fd[4], port[4];
	(void)state;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(rtp_sock_alloc(&fd[i], &port[i]), 0);
		assert_int_equal(port[i] & 1, 0);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(port[i], port[j]);
	}
	for (int i = 0; i < 4; i++)
		rtp_sock_free(fd[i], port[i]);
}

static int setup(void **state)
{
	char url[128];
	int base;
	(void)state;
	log_init("test_media");
	log_set_level(getenv("TEST_DEBUG") ? LOGL_DEBUG : LOGL_WARN);
	S.pk = calloc(MAX_PKT, sizeof(pkt));
	S.peer_fd = -1;
	/* a random high range: tests run in parallel with others */
	srand((unsigned)(uv_hrtime() ^ (uint64_t)getpid()));
	base = 40000 + (rand() % 10000) * 2;
	assert_int_equal(rtp_ports_init(base, base + 200, "127.0.0.1"), 0);
	int sv[2], big = 4 << 20;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	for (int i = 0; i < 2; i++) {
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	}
	assert_int_equal(pthread_create(&S.child, NULL, child_main, (void *)(intptr_t)sv[1]), 0);
	S.sock = sv[0];
	assert_true(WAIT_FOR(S.port > 0, 5000));
	S.peer_fd = udp_socket(&S.peer);
	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/media-stream", S.port);
	media_opts o = { .ws_url = url, .stream_token = "s3cret-token", .max_calls = 10 };
	assert_int_equal(media_new(&M, &o, on_media_event, NULL), 0);
	assert_int_equal(media_start(M), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	media_destroy(M);
	reset_server();
	to_child('Q', "", 0);
	assert_int_equal(pthread_join(S.child, NULL), 0);
	close(C.sock);
	close(S.sock);
	close(S.peer_fd);
	free(S.pk);
	return 0;
}

/* Driver mode for tests/integration/media_*.sh and quick load checks: calls
 * through the real media thread, no SIP.
 *   test_media --drive WS_URL REMOTE_HOST:PORT SECONDS [PT [PORT_FILE [NCALLS]]]
 * Every call sends RTP to REMOTE; PORT_FILE gets the first call's local RTP
 * port once all calls are READY; the calls end after SECONDS. Exit 0 when
 * every call was READY then ENDED, 1 otherwise, 2 on setup errors. */
static int drive(int argc, char **argv)
{
	static media_params p;
	media *m;
	const char *url = argv[2], *remote = argv[3];
	double secs = atof(argv[4]);
	int ncalls = argc > 7 ? atoi(argv[7]) : 1, first_port = 0, ready = 0, ended = 0;
	char host[64] = "127.0.0.1";
	const char *colon = strrchr(remote, ':');
	struct sockaddr_in *sin = (struct sockaddr_in *)&p.remote;

	log_init("media-drive");
	if (getenv("LOG_LEVEL")) {
		log_level l;
		if (log_level_parse(getenv("LOG_LEVEL"), &l) == 0)
			log_set_level(l);
	}
	memset(&p, 0, sizeof(p));
	p.pt = argc > 5 ? atoi(argv[5]) : 0;
	p.dtmf_pt = 101;
	if (!colon || (size_t)(colon - remote) >= sizeof(host) || ncalls < 1 || ncalls > 2000)
		return 2;
	memcpy(host, remote, (size_t)(colon - remote));
	host[colon - remote] = 0;
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return 2;
	snprintf(p.sip_call_id, sizeof(p.sip_call_id), "drive@127.0.0.1");
	snprintf(p.from, sizeof(p.from), "+33600000000");
	snprintf(p.to, sizeof(p.to), "+33400000000");
	media_opts o = { .ws_url = url, .stream_token = getenv("STREAM_TOKEN"), .max_calls = ncalls };
	if (rtp_ports_init(30000, 39998, "127.0.0.1") < 0 || media_new(&m, &o, on_media_event, NULL) < 0 ||
	    media_start(m) < 0)
		return 2;
	for (int i = 0; i < ncalls; i++) {
		if (rtp_sock_alloc(&p.rtp_fd, &p.rtp_port) < 0 || media_call_start(m, (uint64_t)i + 1, &p) < 0)
			return 2;
		if (!i)
			first_port = p.rtp_port;
	}
	for (int i = 0; i < 1000; i++) {
		ready = failed_or_ready(ncalls, MEDIA_EV_READY);
		if (ready + failed_or_ready(ncalls, MEDIA_EV_FAILED) >= ncalls)
			break;
		usleep(10000);
	}
	if (ready < ncalls)
		fprintf(stderr, "media-drive: %d of %d streams READY\n", ready, ncalls);
	if (argc > 6) {
		FILE *f = fopen(argv[6], "w");
		if (f) {
			fprintf(f, "%d\n", first_port);
			fclose(f);
		}
	}
	for (uint64_t end = uv_hrtime() + (uint64_t)(secs * 1e9);
	     uv_hrtime() < end && !failed_or_ready(ncalls, MEDIA_EV_HANGUP);)
		usleep(20000);
	for (int i = 0; i < ncalls; i++)
		media_call_end(m, (uint64_t)i + 1, "drive done");
	for (int i = 0; i < 1000 && (ended = failed_or_ready(ncalls, MEDIA_EV_ENDED)) < ncalls; i++)
		usleep(10000);
	media_destroy(m);
	return ready == ncalls && ended == ncalls ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "--drive"))
		return drive(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(port_allocator),
		cmocka_unit_test(start_fields_and_stop),
		cmocka_unit_test(inbound_pcma),
		cmocka_unit_test(outbound_odd_sizes),
		cmocka_unit_test(marks_and_clear),
		cmocka_unit_test(dtmf_digits),
		cmocka_unit_test(hostile_ws_input),
		cmocka_unit_test(update_remote_hold_codec),
		cmocka_unit_test(ws_closed_by_server),
		cmocka_unit_test(ws_unreachable),
	};
	if (getenv("TEST_FILTER")) /* e.g. TEST_FILTER=dtmf* */
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
