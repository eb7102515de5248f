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
#include <netinet/tcp.h>
#include <openssl/sha.h>
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
	/* proxy mode: a ws_conn (--lws) or an rconn (raw, default) */
	void *ws;
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
	bool lws;
	int lfd;
	uv_poll_t lpoll;
	struct rconn *rlist;
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


/* ---- raw WebSocket (RFC 6455) on plain sockets ----------------------------
 * The generator's own connections (2 x N in proxy mode) cost it as much CPU
 * as voiceproxy spends when they go through common/ws (libwebsockets: a
 * WRITEABLE round trip and two epoll_ctl per message). Here a message is one
 * write(2) when the socket takes it; only a partial write arms POLLOUT. */

typedef struct rconn {
	int fd;
	uv_poll_t poll;
	bool server, open, close_sent, dead, polling_out;
	int events;
	char *in, *out, *msg;
	size_t inlen, incap, outlen, outcap, msglen, msgcap;
	void (*open_h)(struct rconn *c, void *arg);
	void (*text_h)(struct rconn *c, const char *d, size_t len, void *arg);
	void (*close_h)(struct rconn *c, void *arg);
	void *arg;
	char hs[768]; /* client: the upgrade request to send */
	struct rconn *next, *prev;
} rconn;

static void rc_io(uv_poll_t *h, int status, int events);

static int grow(char **b, size_t *cap, size_t need)
{
	size_t nc = *cap ? *cap : 4096;
	char *p;

	if (need <= *cap)
		return 0;
	while (nc < need)
		nc *= 2;
	if (!(p = realloc(*b, nc)))
		return -1;
	*b = p;
	*cap = nc;
	return 0;
}

static void rc_set_events(rconn *c, int ev)
{
	if (c->dead || ev == c->events)
		return;
	c->events = ev;
	uv_poll_start(&c->poll, ev, rc_io);
}

static void rc_closed(uv_handle_t *h)
{
	rconn *c = h->data;
	free(c->in);
	free(c->out);
	free(c->msg);
	free(c);
}

static void rc_kill(rconn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	uv_poll_stop(&c->poll);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		G.rlist = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->close_h)
		c->close_h(c, c->arg);
	uv_close((uv_handle_t *)&c->poll, rc_closed);
}

static int rc_write(rconn *c, const void *p, size_t n)
{
	ssize_t w = 0;

	if (c->dead)
		return -ENOTCONN;
	if (!c->outlen) {
		w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		if (w < 0)
			w = 0;
	}
	if ((size_t)w < n) {
		if (c->outlen + n - (size_t)w > (64u << 20) || grow(&c->out, &c->outcap, c->outlen + n - (size_t)w))
			return -ENOBUFS;
		memcpy(c->out + c->outlen, (const char *)p + w, n - (size_t)w);
		c->outlen += n - (size_t)w;
		rc_set_events(c, UV_READABLE | UV_WRITABLE);
	}
	return 0;
}

static int rc_frame(rconn *c, int opcode, const char *d, size_t n)
{
	unsigned char hdr[14];
	size_t h = 2;
	char stackbuf[8192], *buf = stackbuf;
	int r;

	hdr[0] = (unsigned char)(0x80 | opcode);
	if (n < 126) {
		hdr[1] = (unsigned char)n;
	} else if (n < 65536) {
		hdr[1] = 126;
		hdr[2] = (unsigned char)(n >> 8);
		hdr[3] = (unsigned char)n;
		h = 4;
	} else {
		hdr[1] = 127;
		for (int i = 0; i < 8; i++)
			hdr[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
		h = 10;
	}
	if (!c->server) { /* clients mask; a zero key leaves the payload as is */
		hdr[1] |= 0x80;
		memset(hdr + h, 0, 4);
		h += 4;
	}
	if (h + n > sizeof(stackbuf) && !(buf = malloc(h + n)))
		return -ENOMEM;
	memcpy(buf, hdr, h);
	memcpy(buf + h, d, n);
	r = rc_write(c, buf, h + n);
	if (buf != stackbuf)
		free(buf);
	return r;
}

static int rc_send(rconn *c, const char *d, size_t n)
{
	if (!c->open || c->close_sent)
		return -ENOTCONN;
	return rc_frame(c, 1, d, n);
}

static void rc_close(rconn *c)
{
	unsigned char code[2] = { 0x03, 0xe8 }; /* 1000 */
	if (c->dead || c->close_sent)
		return;
	rc_frame(c, 8, (const char *)code, 2);
	c->close_sent = true;
}

static const char *find_hdr(const char *h, const char *name, size_t *vl)
{
	const char *p = strcasestr(h, name), *e;
	if (!p)
		return NULL;
	p += strlen(name);
	while (*p == ' ')
		p++;
	e = strstr(p, "\r\n");
	if (!e)
		return NULL;
	*vl = (size_t)(e - p);
	return p;
}

/* The HTTP part: returns bytes consumed, 0 = need more, -1 = refused. */
static int rc_handshake(rconn *c)
{
	char *end;
	size_t hl;

	if (grow(&c->in, &c->incap, c->inlen + 1))
		return -1;
	c->in[c->inlen] = '\0';
	end = strstr(c->in, "\r\n\r\n");
	if (!end)
		return c->inlen > 16384 ? -1 : 0;
	hl = (size_t)(end - c->in) + 4;
	end[2] = '\0';
	if (c->server) {
		size_t kl = 0;
		const char *k = find_hdr(c->in, "\nSec-WebSocket-Key:", &kl);
		unsigned char sha[SHA_DIGEST_LENGTH];
		char cat[128], acc[64], resp[256];
		int n;
		if (!k || kl > 60)
			return -1;
		n = snprintf(cat, sizeof(cat), "%.*s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", (int)kl, k);
		SHA1((const unsigned char *)cat, (size_t)n, sha);
		b64_encode(acc, sha, sizeof(sha));
		n = snprintf(resp, sizeof(resp),
			     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			     "Sec-WebSocket-Accept: %s\r\n\r\n", acc);
		c->open = true;
		if (rc_write(c, resp, (size_t)n) < 0)
			return -1;
	} else {
		if (strncmp(c->in, "HTTP/1.1 101", 12)) {
			fprintf(stderr, "loadgen: upgrade refused: %.60s\n", c->in);
			return -1;
		}
		c->open = true;
		if (c->open_h)
			c->open_h(c, c->arg);
	}
	return (int)hl;
}

/* Frames: returns bytes consumed, -1 to drop the connection. */
static long rc_frames(rconn *c, size_t off)
{
	size_t p = off;

	while (!c->dead && c->inlen - p >= 2) {
		unsigned char *b = (unsigned char *)c->in + p;
		int op = b[0] & 0x0f;
		bool fin = b[0] & 0x80, masked = b[1] & 0x80;
		uint64_t len = b[1] & 0x7f;
		size_t h = 2, avail = c->inlen - p;
		if (len == 126) {
			if (avail < 4)
				break;
			len = (uint64_t)b[2] << 8 | b[3];
			h = 4;
		} else if (len == 127) {
			if (avail < 10)
				break;
			len = 0;
			for (int i = 0; i < 8; i++)
				len = len << 8 | b[2 + i];
			h = 10;
		}
		if (len > (16u << 20))
			return -1;
		if (masked)
			h += 4;
		if (avail < h + len)
			break;
		if (masked) {
			unsigned char *k = b + h - 4, *d = b + h;
			for (uint64_t i = 0; i < len; i++)
				d[i] ^= k[i & 3];
		}
		switch (op) {
		case 0: case 1:
			if (op == 1 && fin && !c->msglen) {
				if (c->text_h)
					c->text_h(c, (const char *)b + h, (size_t)len, c->arg);
			} else {
				if (grow(&c->msg, &c->msgcap, c->msglen + len))
					return -1;
				memcpy(c->msg + c->msglen, b + h, len);
				c->msglen += len;
				if (fin) {
					if (c->text_h)
						c->text_h(c, c->msg, c->msglen, c->arg);
					c->msglen = 0;
				}
			}
			break;
		case 8:
			if (!c->close_sent)
				rc_close(c);
			return -1;
		case 9:
			rc_frame(c, 10, (const char *)b + h, (size_t)len);
			break;
		default:
			break;
		}
		p += h + len;
	}
	return (long)(p - off);
}

static void rc_io(uv_poll_t *h, int status, int events)
{
	rconn *c = h->data;

	if (status < 0) {
		rc_kill(c);
		return;
	}
	if (events & UV_WRITABLE) {
		if (!c->open && !c->server && c->hs[0]) { /* connected */
			int err = 0;
			socklen_t el = sizeof(err);
			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
			if (err) {
				fprintf(stderr, "loadgen: connect: %s\n", strerror(err));
				rc_kill(c);
				return;
			}
			rc_set_events(c, UV_READABLE);
			if (rc_write(c, c->hs, strlen(c->hs)) < 0) {
				rc_kill(c);
				return;
			}
			c->hs[0] = '\0';
		} else if (c->outlen) {
			ssize_t w = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w < 0 && errno != EAGAIN) {
				rc_kill(c);
				return;
			}
			if (w > 0) {
				memmove(c->out, c->out + w, c->outlen - (size_t)w);
				c->outlen -= (size_t)w;
			}
			if (!c->outlen)
				rc_set_events(c, UV_READABLE);
		} else {
			rc_set_events(c, UV_READABLE);
		}
	}
	if (events & UV_READABLE) {
		for (;;) {
			ssize_t r;
			long used;
			size_t off = 0;
			if (grow(&c->in, &c->incap, c->inlen + 65536)) {
				rc_kill(c);
				return;
			}
			r = recv(c->fd, c->in + c->inlen, c->incap - c->inlen - 1, MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
				rc_kill(c);
				return;
			}
			if (r < 0)
				break;
			c->inlen += (size_t)r;
			if (!c->open) {
				int n = rc_handshake(c);
				if (n < 0) {
					rc_kill(c);
					return;
				}
				off = (size_t)n;
				if (!n)
					continue;
			}
			used = rc_frames(c, off);
			if (used < 0 || c->dead) {
				rc_kill(c);
				return;
			}
			off += (size_t)used;
			memmove(c->in, c->in + off, c->inlen - off);
			c->inlen -= off;
		}
	}
}

static rconn *rc_new(int fd, bool server)
{
	rconn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = fd;
	c->server = server;
	c->poll.data = c;
	uv_poll_init(G.loop, &c->poll, fd);
	c->next = G.rlist;
	if (G.rlist)
		G.rlist->prev = c;
	G.rlist = c;
	return c;
}

/* url: ws://127.0.0.1:PORT/path */
static rconn *rc_connect(const char *url, const char *bearer, void (*open_h)(rconn *, void *),
			 void (*text_h)(rconn *, const char *, size_t, void *), void (*close_h)(rconn *, void *),
			 void *arg)
{
	char host[64], path[256] = "/";
	int port = 0, fd;
	struct sockaddr_in a = { .sin_family = AF_INET };
	rconn *c;

	if (sscanf(url, "ws://%63[^:]:%d%255s", host, &port, path) < 2 || inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return NULL;
	a.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	{
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return NULL;
	}
	if (!(c = rc_new(fd, false))) {
		close(fd);
		return NULL;
	}
	c->open_h = open_h;
	c->text_h = text_h;
	c->close_h = close_h;
	c->arg = arg;
	snprintf(c->hs, sizeof(c->hs),
		 "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s%s%s\r\n",
		 path, host, port, bearer ? "Authorization: Bearer " : "", bearer ? bearer : "", bearer ? "\r\n" : "");
	rc_set_events(c, UV_WRITABLE);
	return c;
}

static void rt_text_raw(rconn *c, const char *d, size_t len, void *arg);

static void rc_accept(uv_poll_t *h, int status, int events)
{
	(void)h;
	(void)events;
	if (status < 0)
		return;
	for (;;) {
		int fd = accept4(G.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		rconn *c;
		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (!(c = rc_new(fd, true))) {
			close(fd);
			continue;
		}
		G.fake_conns++;
		c->text_h = rt_text_raw;
		rc_set_events(c, UV_READABLE);
	}
}

static int rc_listen(int port, int *bound)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	socklen_t al = sizeof(a);
	int one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	G.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (G.lfd < 0)
		return -1;
	setsockopt(G.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(G.lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(G.lfd, 4096) < 0)
		return -1;
	getsockname(G.lfd, (struct sockaddr *)&a, &al);
	*bound = ntohs(a.sin_port);
	uv_poll_init(G.loop, &G.lpoll, G.lfd);
	uv_poll_start(&G.lpoll, UV_READABLE, rc_accept);
	return 0;
}

/* Generic send on a stream's or the fake's connection. */
static int x_send(void *conn, const char *d, size_t n)
{
	return G.lws ? ws_send_text(conn, d, n) : rc_send(conn, d, n);
}

/* ---- the fake Realtime server (echo) ------------------------------------ */

static void fake_text(void *c, const char *d, size_t len)
{
	size_t tl = 0, al = 0, pos;
	const char *type = json_str(d, len, "type", &tl), *a;
	int64_t t = rx_now();
	int n;

	if (!type)
		return;
	if (tl == 14 && !memcmp(type, "session.update", 14)) {
		static const char upd[] =
			"{\"type\":\"session.updated\",\"event_id\":\"evt_1\",\"session\":{\"type\":\"realtime\","
			"\"object\":\"realtime.session\",\"id\":\"sess_bench\",\"model\":\"gpt-realtime\",\"audio\":"
			"{\"input\":{\"format\":{\"type\":\"audio/pcmu\"}},\"output\":{\"format\":{\"type\":\"audio/pcmu\"},"
			"\"voice\":\"alloy\"}}}}";
		x_send(c, upd, sizeof(upd) - 1);
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
		int r = x_send(c, G.buf, pos);
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

static void rt_text(ws_conn *c, const char *d, size_t len, void *arg)
{
	(void)arg;
	fake_text(c, d, len);
}

static void rt_text_raw(rconn *c, const char *d, size_t len, void *arg)
{
	(void)arg;
	fake_text(c, d, len);
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

static void tw_text_core(strm *s, const char *d, size_t len)
{
	size_t el = 0, pl = 0;
	const char *ev = json_str(d, len, "event", &el), *p;
	int64_t t = rx_now();
	int n;

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
		if (n > 0 && x_send(s->ws, G.buf, (size_t)n) == 0)
			G.marks_echoed++;
	}
}

static void tw_open_core(strm *s)
{
	void *c = s->ws;
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
	x_send(c, G.buf, (size_t)n);
	n = tw_fmt_start(G.buf, sizeof(G.buf), ++s->tw_seq, &st);
	x_send(c, G.buf, (size_t)n);
	s->state = ST_SENDING;
	if (++G.opened == G.n)
		G.t_all_open = now_ns();
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
	tw_text_core(arg, d, len);
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
static void tw_text_raw(rconn *c, const char *d, size_t len, void *arg)
{
	(void)c;
	tw_text_core(arg, d, len);
}
static void tw_open_raw(rconn *c, void *arg)
{
	(void)c;
	tw_open_core(arg);
}
static void tw_close_raw(rconn *c, void *arg)
{
	(void)c;
	tw_close_core(arg, 1006, "closed");
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
	if (!G.lws) {
		s->ws = rc_connect(G.url, G.bearer, tw_open_raw, tw_text_raw, tw_close_raw, s);
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
			G.t_last_latch = now_ns();
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
		if (n <= 0 || x_send(s->ws, G.buf, (size_t)n) < 0)
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
			x_send(s->ws, G.buf, (size_t)n);
		if (G.lws)
			ws_close(s->ws, 1000, "stop");
		else
			rc_close(s->ws);
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
	while (G.rlist)
		rc_kill(G.rlist);
	if (!G.lws) {
		uv_poll_stop(&G.lpoll);
		uv_close((uv_handle_t *)&G.lpoll, NULL);
		close(G.lfd);
	}
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
		"  --lws: WebSockets through common/ws (libwebsockets) instead of the built-in raw ones\n"
		"  The fake Realtime (echo) listens on 127.0.0.1:--rt-port (0 = any; printed as RTPORT n).\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", 1, 0, 'm' }, { "calls", 1, 0, 'n' }, { "seconds", 1, 0, 's' },
		{ "url", 1, 0, 'u' }, { "bearer", 1, 0, 'b' }, { "rate", 1, 0, 'r' },
		{ "rt-port", 1, 0, 'p' }, { "rtp-base", 1, 0, 'B' }, { "max-seconds", 1, 0, 'M' }, { "lws", 0, 0, 'L' },
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
		case 'L': G.lws = true; break;
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
	if (G.lws ? (ws_ctx_new(&G.srv, G.loop, &wo) < 0 ||
		     ws_listen(G.srv, "127.0.0.1", G.rt_port, rt_accept, NULL, &G.rt_bound) < 0)
		  : rc_listen(G.rt_port, &G.rt_bound) < 0) {
		fprintf(stderr, "loadgen: cannot listen for the fake Realtime server\n");
		return 2;
	}
	printf("RTPORT %d\n", G.rt_bound);
	fflush(stdout);
	if (G.lws && !G.chain && ws_ctx_new(&G.cli, G.loop, &wo) < 0)
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
