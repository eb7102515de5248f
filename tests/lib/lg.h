/* lg: building blocks of the benchmark's load generator (tests/bench/loadgen.c,
 * which holds the run itself: streams, calls, the send wheel, the report).
 *   lg_stats.c  clock, latency histograms, the frame marker, a JSON scan
 *   lg_ws.c     raw RFC 6455 WebSocket client and server on plain sockets
 *   lg_rtp.c    RTP peer sockets (loopback, kernel receive timestamps)
 *   lg_echo.c   the model side: an echo fake of the OpenAI Realtime API
 *   lg_tw.c     the caller side of a Twilio Media Stream
 * One libuv loop, no threads. Errors: negative errno or NULL. */
#ifndef VX_LG_H
#define VX_LG_H
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <uv.h>

#define LG_FRAME 160 /* 20 ms of 8 kHz µ-law */
#define LG_MARK_MAGIC "VXB1"

/* ---- lg_stats.c ------------------------------------------------------------ */

/* CLOCK_REALTIME in ns: what the kernel's SO_TIMESTAMPNS stamps UDP with. */
int64_t lg_now_ns(void);
/* Field n (1-based, as proc(5) numbers them) of /proc/PID/stat, or -1. */
long long lg_proc_stat(int pid, int n);
/* The vCPU process pid last ran on (field 39 of /proc/PID/stat), or -1:
 * with sched_getcpu(), where the scheduler puts a peer against us. */
int lg_last_cpu(int pid);
struct msghdr;
/* The kernel's receive time (SCM_TIMESTAMPNS, from SO_TIMESTAMPNS) in a
 * recvmsg's control data, or 0 when there is none. */
int64_t lg_cmsg_rx_ns(struct msghdr *mh);

/* "key":"value" in d -> value and its length (no unescaping: the values
 * looked up have none); NULL when absent. */
const char *lg_json_str(const char *d, size_t len, const char *key, size_t *vl);

/* Latency histogram: buckets of 10 µs from 0 to 10 s (the last one holds
 * everything above), plus the count and the exact maximum. */
typedef struct lg_hist {
	uint32_t *b;
	uint64_t n;
	int64_t max_ns;
} lg_hist;

int lg_hist_init(lg_hist *h); /* 0 or -ENOMEM; lg_hist_free releases */
void lg_hist_free(lg_hist *h);
void lg_hist_add(lg_hist *h, int64_t ns); /* negative counts as 0 */
/* Percentile p (0..1) in ms (bucket middle); -1 when empty. */
double lg_hist_pct(const lg_hist *h, double p);
/* Prints "NAME":{"n":..,"p50":..,"p99":..,"max":..}, to stdout (ms). */
void lg_hist_json(const char *name, const lg_hist *h);

/* The 24-byte marker at the start of every LG_FRAME-byte frame: magic,
 * stream index, sequence, send time (ns). It survives µ-law passthrough. */
void lg_mark_fill(uint8_t *f, uint32_t idx, uint32_t seq, int64_t t_send);
/* 0, or -1 when f holds no marker or idx >= n_idx or seq >= n_seq. */
int lg_mark_read(const uint8_t *f, uint32_t n_idx, uint32_t n_seq, uint32_t *idx, uint32_t *seq,
		 int64_t *t_send);

/* ---- lg_ws.c --------------------------------------------------------------- *
 * common/ws (libwebsockets) costs the generator as much CPU as voiceproxy
 * spends: a WRITEABLE round trip and two epoll_ctl per message. Here a
 * message is one write(2) when the socket takes it; only a partial write
 * arms POLLOUT. Text messages only; clients mask with a zero key. */

typedef struct lg_ws lg_ws;         /* one connection */
typedef struct lg_ws_ctx lg_ws_ctx; /* a loop's connections and listener */
typedef void (*lg_ws_open_h)(lg_ws *c, void *arg);
typedef void (*lg_ws_text_h)(lg_ws *c, const char *d, size_t len, void *arg);
typedef void (*lg_ws_close_h)(lg_ws *c, void *arg);

int lg_ws_ctx_new(lg_ws_ctx **out, uv_loop_t *loop);
/* Drops every connection (their close_h run) and the listener; frees x. */
void lg_ws_ctx_destroy(lg_ws_ctx *x);
/* Server on 127.0.0.1:port (0 = any; *bound = the port). accept_h runs for
 * each accepted connection (before its upgrade), text_h for its messages. */
int lg_ws_listen(lg_ws_ctx *x, int port, int *bound, lg_ws_open_h accept_h, lg_ws_text_h text_h,
		 void *arg);
/* Accepted connections speak TLS 1.2+ (server side only; clients stay
 * plain) with this PEM certificate (chain) and key; call before listening.
 * 0 or -EINVAL (printed: OpenSSL's errors) / -ENOMEM. */
int lg_ws_tls(lg_ws_ctx *x, const char *cert, const char *key);
/* Client to ws://IP:PORT/path (Authorization: Bearer when bearer is set).
 * open_h after the upgrade; close_h once, whenever the connection ends. */
lg_ws *lg_ws_connect(lg_ws_ctx *x, const char *url, const char *bearer, lg_ws_open_h open_h,
		     lg_ws_text_h text_h, lg_ws_close_h close_h, void *arg);
int lg_ws_send(lg_ws *c, const char *d, size_t n); /* 0 or -ENOTCONN/-ENOBUFS/... */
/* n text messages as n frames in one write(2); same returns as lg_ws_send. */
int lg_ws_sendv(lg_ws *c, const struct iovec *m, int n);
void lg_ws_close(lg_ws *c); /* sends a close frame (1000) */
/* Inside text_h: the kernel's receive time (SO_TIMESTAMPNS, CLOCK_REALTIME)
 * of the last segment consumed by the read the message was parsed from; 0
 * when the kernel gave none. Never earlier than the message's arrival. */
int64_t lg_ws_rx_ns(const lg_ws *c);
/* Reads done, reads without a kernel stamp, stamps later than the clock
 * right after the read (impossible: counted to prove it does not happen). */
typedef struct lg_ws_stats {
	uint64_t reads, unstamped, late;
} lg_ws_stats;
void lg_ws_get_stats(const lg_ws_ctx *x, lg_ws_stats *st);

/* ---- lg_rtp.c -------------------------------------------------------------- */

/* Non-blocking UDP socket bound to 127.0.0.1:port, receive timestamps on:
 * the fd or -errno. */
int lg_rtp_open(int port);
/* Next packet: its length (header of *hl bytes, version 2 checked), 0 for
 * a datagram that is not RTP, -1 when none is left. *t_rx = the kernel's
 * receive time (lg_now_ns() when the kernel gave none). */
int lg_rtp_recv(int fd, uint8_t *pkt, size_t cap, struct sockaddr_in *from, int64_t *t_rx, size_t *hl);
/* One PCMU packet (payload type 0) of n <= LG_FRAME bytes: 0 or -errno. */
int lg_rtp_send(int fd, const struct sockaddr_in *to, uint16_t seq, uint32_t ts, uint32_t ssrc,
		const uint8_t *payload, size_t n);

/* ---- lg_echo.c ------------------------------------------------------------- *
 * Echo fake of the OpenAI Realtime API (GA), one message at a time:
 * session.update -> session.updated; an input_audio_buffer.append of one
 * frame comes back at once (same base64) as response.output_audio.delta. A
 * bigger append (audio held during session set-up, flushed at once) is not
 * echoed: it would leave a standing queue at the caller's playout. */

typedef enum {
	LG_ECHO_HELD,   /* in a bigger append: not echoed */
	LG_ECHO_SENT,   /* echoed (send returned 0) at t_tx */
	LG_ECHO_UNSENT, /* the echo could not be sent */
} lg_echo_fate;

typedef int (*lg_echo_send_f)(void *conn, const char *d, size_t n);
/* Each LG_FRAME bytes of an append (marker or not); t_rx = message arrival
 * (kernel stamp), t_loop = when the generator's loop woke up for it. */
typedef void (*lg_echo_frame_h)(const uint8_t *f, lg_echo_fate fate, int64_t t_rx, int64_t t_loop,
				int64_t t_tx, void *arg);

typedef struct lg_echo {
	lg_echo_send_f send;
	lg_echo_frame_h frame_h;
	void *arg;
	uint64_t appends, bad; /* appends seen / with undecodable audio */
	uint8_t *audio;
	char *buf;
	size_t audiocap, bufcap;
} lg_echo;

/* Appends of up to max_audio bytes of audio; 0 or -ENOMEM. */
int lg_echo_init(lg_echo *e, size_t max_audio, lg_echo_send_f send, lg_echo_frame_h frame_h, void *arg);
void lg_echo_free(lg_echo *e);
/* One text message received on the fake's connection conn at t_rx (loop
 * wake-up t_loop). */
void lg_echo_text(lg_echo *e, void *conn, const char *d, size_t len, int64_t t_rx, int64_t t_loop);

/* ---- lg_tw.c --------------------------------------------------------------- *
 * The caller side of one Twilio Media Stream (stream idx: sids MZ/CA + idx+1,
 * customParameters restaurantId=bench, from=+3310000NNNN). Marks from
 * voiceproxy are held and echoed at the stream's next 20 ms send slot, in
 * the same write as that slot's media (see lg_tw.c). */

#define LG_TW_HELD 8     /* marks held per stream (more: echoed at once) */
#define LG_TW_NAME 48    /* longest mark name held (longer: echoed at once) */

typedef struct lg_tw {
	int idx;
	char sid[40], call_sid[40];
	uint64_t seq, chunk;
	uint64_t marks_rx, marks_echoed;
	int nheld;
	char held[LG_TW_HELD][LG_TW_NAME];
} lg_tw;

/* n messages on one connection, in order, in one write when it can. */
typedef int (*lg_tw_sendv_f)(void *conn, const struct iovec *m, int n);

/* Shared by every stream: how to send on a connection, scratch buffers. */
typedef struct lg_tw_io {
	lg_tw_sendv_f sendv;
	char *buf; /* formatting: >= LG_TW_HELD * 400 + TW_MEDIA_FMT_CAP(LG_FRAME) */
	size_t cap;
	uint8_t *audio; /* decoding */
	size_t audiocap;
	bool marks_now; /* echo marks at once (the generator's old way), not held */
} lg_tw_io;

/* One LG_FRAME of media received from voiceproxy at t_rx (kernel stamp;
 * t_loop: when the loop woke up for it). */
typedef void (*lg_tw_frame_h)(const uint8_t *f, int64_t t_rx, int64_t t_loop, void *arg);

void lg_tw_init(lg_tw *t, int idx);
void lg_tw_begin(lg_tw *t, const lg_tw_io *io, void *conn); /* connected + start */
/* The held marks, then one media event with audio f (n bytes) at ts_ms,
 * in one write: 0 or -1. */
int lg_tw_media(lg_tw *t, const lg_tw_io *io, void *conn, const uint8_t *f, size_t n, uint64_t ts_ms);
/* The held marks alone (a slot with no media due): 0 or -1. */
int lg_tw_flush(lg_tw *t, const lg_tw_io *io, void *conn);
void lg_tw_stop(lg_tw *t, const lg_tw_io *io, void *conn); /* held marks, stop */
/* A message from voiceproxy: media -> frame_h for each LG_FRAME of it; a
 * mark is held for the next slot. 1 = a mark, 0, -1 = not understood. */
int lg_tw_text(lg_tw *t, const lg_tw_io *io, void *conn, const char *d, size_t len, int64_t t_rx,
	       int64_t t_loop, lg_tw_frame_h frame_h, void *arg);
/* 0 when the media and mark templates give what twilio_fmt gives, else -1. */
int lg_tw_selftest(void);
#endif
