/* rtp_peer: the caller's side of RTP for sipbridge tests and the benchmark.
 * Sends RTP (a raw µ-law/A-law file, a tone, silence, or the RTP packets of
 * a pcap) every ptime ms on absolute deadlines, with optional quirks, and
 * records every RTP packet it receives with its arrival time.
 *
 * Usage: rtp_peer [options]
 *   --bind ADDR          local address (default 127.0.0.1)
 *   --port N             local port (default 0 = ephemeral)
 *   --port-file F        write the local port to F once bound
 *   --to HOST:PORT       where to send (omit to only receive)
 *   --to-file F          read PORT or HOST:PORT from F (waits up to 10 s for it)
 *   --pt N               audio payload type: 0 PCMU (default) or 8 PCMA
 *   --file F             raw payload bytes (already µ-law or A-law), 160 per packet
 *   --tone HZ            a sine tone encoded for --pt (default when sending: silence)
 *   --pcap F             replay the RTP packets of a pcap (Ethernet/IPv4/UDP) at
 *                        their captured pace, headers as captured (sip-tester pcaps)
 *   --count N            packets to send (default: the file's length, else until --duration)
 *   --ptime MS           packet interval and size (default 20 = 160 bytes)
 *   --ssrc X             (default random)    --seq N  first sequence (e.g. 65530 to wrap)
 *   --ts N               first timestamp (default random)
 *   --reorder N          swap packets N and N+1 (repeatable: every --reorder-every K)
 *   --reorder-every K    swap each packet k*K with the next
 *   --dup-every K        send every K-th packet twice
 *   --ssrc-change-at N   from packet N on: a new SSRC, sequence and timestamp
 *   --dtmf DIGITS        RFC 4733 events after the audio (or from --dtmf-at MS): each
 *                        digit 100 ms (5 progress packets) + 3 end packets, 100 ms apart
 *   --dtmf-pt N          telephone-event payload type (default 101)
 *   --dtmf-at MS         start the digits MS ms after the first packet (audio continues
 *                        around them, with the same SSRC and sequence space)
 *   --record F           one line per received packet:
 *                          t_ns seq ts pt marker len ssrc src_ip:port
 *                        t_ns: the kernel's receive time (SO_TIMESTAMPNS, CLOCK_REALTIME ns)
 *   --record-payload F   received payloads concatenated (raw)
 *   --duration S         stop after S seconds (float). Default: when sending is done + 1 s
 *   --quiet
 * Summary on stdout at exit, one line:
 *   rx=N sent=N mean_ms=X p50_dev_ms=X p99_dev_ms=X max_dev_ms=X gaps_60ms=N
 *   seq_jumps=N ts_jumps=N ssrc_changes=N markers=N streams=N
 * Each SSRC is tracked on its own (one peer can receive many calls):
 * dev = |inter-arrival - ptime| between consecutive packets of one SSRC,
 * mean_ms the mean of those intervals, seq_jumps counts sequence steps
 * other than +1, ts_jumps timestamp steps other than +samples of the
 * previous payload, gaps_60ms intervals over 60 ms, streams the distinct
 * SSRCs (ssrc_changes = streams - 1).
 * Exit code: 0, or 2 on usage/setup errors. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "g711.h"
#include "rtp.h"

#define MAX_RX (1u << 20)

typedef struct txpkt {
	uint64_t at_ns;   /* relative send time */
	rtp_hdr h;
	uint8_t pl[512];
} txpkt;

static struct {
	const char *bind, *port_file, *to, *to_file, *file, *pcap, *record, *record_payload, *dtmf;
	int port, pt, dtmf_pt, ptime, tone;
	long count, reorder, reorder_every, dup_every, ssrc_change_at, dtmf_at;
	uint32_t ssrc, ts;
	int seq;
	bool have_ssrc, have_ts, quiet;
	double duration;
} opt = { .bind = "127.0.0.1", .dtmf_pt = 101, .ptime = 20, .count = -1, .reorder = -1,
	  .ssrc_change_at = -1, .dtmf_at = -1, .seq = -1 };

static txpkt *tx;
static size_t ntx, captx;

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static txpkt *tx_add(void)
{
	if (ntx == captx) {
		captx = captx ? captx * 2 : 1024;
		tx = realloc(tx, captx * sizeof(*tx));
		if (!tx) {
			perror("realloc");
			exit(2);
		}
	}
	memset(&tx[ntx], 0, sizeof(tx[0]));
	return &tx[ntx++];
}

static int load(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *d;
	long n;
	if (!f)
		return -errno;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	d = malloc(n > 0 ? (size_t)n : 1);
	if (!d || (n > 0 && fread(d, 1, (size_t)n, f) != (size_t)n)) {
		fclose(f);
		free(d);
		return -EIO;
	}
	fclose(f);
	*out = d;
	*len = (size_t)n;
	return 0;
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32le(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* Classic pcap, Ethernet, IPv4, UDP: every UDP payload that parses as RTP. */
static int load_pcap(const char *path)
{
	uint8_t *d;
	size_t len, off = 24;
	uint64_t t0 = 0;
	int rc = load(path, &d, &len);
	if (rc < 0)
		return rc;
	if (len < 24 || rd32le(d) != 0xa1b2c3d4 || rd32le(d + 20) != 1) {
		fprintf(stderr, "rtp_peer: %s: only little-endian classic pcap with Ethernet framing\n", path);
		free(d);
		return -EINVAL;
	}
	while (off + 16 <= len) {
		uint64_t t = (uint64_t)rd32le(d + off) * 1000000000u + (uint64_t)rd32le(d + off + 4) * 1000u;
		size_t il = rd32le(d + off + 8);
		const uint8_t *p = d + off + 16;
		off += 16 + il;
		if (off > len || il < 14 + 20 + 8 || rd16(p + 12) != 0x0800)
			continue;
		size_t ihl = (size_t)(p[14] & 0x0f) * 4;
		if (p[14 + 9] != 17 || 14 + ihl + 8 > il)
			continue;
		const uint8_t *udp = p + 14 + ihl;
		size_t ulen = rd16(udp + 4);
		if (ulen < 8 || 14 + ihl + ulen > il)
			continue;
		rtp_hdr h;
		if (rtp_parse(&h, udp + 8, ulen - 8) < 0 || h.len > sizeof(tx[0].pl))
			continue;
		if (!ntx)
			t0 = t;
		txpkt *x = tx_add();
		x->at_ns = t - t0;
		x->h = h;
		memcpy(x->pl, h.payload, h.len);
	}
	free(d);
	return ntx ? 0 : -ENOENT;
}

static uint8_t encode(int16_t s)
{
	return opt.pt == 8 ? g711_alaw_encode(s) : g711_ulaw_encode(s);
}

static void build_audio(void)
{
	size_t per = (size_t)opt.ptime * 8, flen = 0;
	uint8_t *fd = NULL;
	long n = opt.count;
	uint16_t seq;
	uint32_t ts, ssrc;

	if (opt.file && load(opt.file, &fd, &flen) < 0) {
		fprintf(stderr, "rtp_peer: cannot read %s\n", opt.file);
		exit(2);
	}
	if (n < 0)
		n = opt.file ? (long)((flen + per - 1) / per) : opt.duration > 0 ? (long)(opt.duration * 1000 / opt.ptime) : 50;
	if (getrandom(&ssrc, sizeof(ssrc), 0) < 0 || getrandom(&ts, sizeof(ts), 0) < 0)
		ssrc = ts = 1;
	if (getrandom(&seq, sizeof(seq), 0) < 0)
		seq = 1;
	if (opt.have_ssrc)
		ssrc = opt.ssrc;
	if (opt.have_ts)
		ts = opt.ts;
	if (opt.seq >= 0)
		seq = (uint16_t)opt.seq;
	for (long i = 0; i < n; i++) {
		txpkt *x = tx_add();
		if (i == opt.ssrc_change_at) {
			ssrc = ssrc * 2654435761u + 1;
			seq = (uint16_t)(seq + 20000);
			ts += 123456;
		}
		x->at_ns = (uint64_t)i * (uint64_t)opt.ptime * 1000000u;
		x->h.pt = (uint8_t)opt.pt;
		x->h.marker = i == 0 || i == opt.ssrc_change_at;
		x->h.seq = seq++;
		x->h.ts = ts;
		x->h.ssrc = ssrc;
		x->h.len = per;
		for (size_t k = 0; k < per; k++) {
			size_t pos = (size_t)i * per + k;
			if (opt.file)
				x->pl[k] = pos < flen ? fd[pos] : (opt.pt == 8 ? G711_ALAW_SILENCE : G711_ULAW_SILENCE);
			else if (opt.tone)
				x->pl[k] = encode((int16_t)(8000 * sin(2 * M_PI * opt.tone * (double)pos / 8000)));
			else
				x->pl[k] = opt.pt == 8 ? G711_ALAW_SILENCE : G711_ULAW_SILENCE;
		}
		ts += (uint32_t)per;
	}
	free(fd);
}

/* RFC 4733: per digit 5 progress packets (20 ms apart) then 3 end packets
 * (5 ms apart), one RTP timestamp per event, in a 200 ms slot. */
static void add_digits(uint64_t at, uint16_t *seq, uint32_t *ts, uint32_t ssrc)
{
	static const char map[] = "0123456789*#ABCD";
	for (size_t d = 0; opt.dtmf[d]; d++) {
		const char *pc = strchr(map, opt.dtmf[d]);
		uint8_t ev = pc ? (uint8_t)(pc - map) : 0;
		for (int k = 0; k < 8; k++) {
			txpkt *x = tx_add();
			uint16_t dur = (uint16_t)(160 * (k < 5 ? k + 1 : 6));
			x->at_ns = at + (uint64_t)d * 200000000u + (uint64_t)(k < 5 ? k : 5) * 20000000u +
				   (k >= 5 ? (uint64_t)(k - 5) * 5000000u : 0);
			x->h = (rtp_hdr){ .pt = (uint8_t)opt.dtmf_pt, .marker = k == 0, .seq = (*seq)++,
					  .ts = *ts, .ssrc = ssrc, .len = 4 };
			x->pl[0] = ev;
			x->pl[1] = (uint8_t)((k >= 5 ? 0x80 : 0) | 10);
			x->pl[2] = (uint8_t)(dur >> 8);
			x->pl[3] = (uint8_t)dur;
		}
		*ts += 1600;
	}
}

/* Digits after the audio, or at --dtmf-at with the audio after them moved
 * later and renumbered so the sequence space stays one. */
static void build_dtmf(void)
{
	txpkt *old = tx;
	size_t oldn = ntx, keep = ntx;
	uint64_t at;
	uint16_t seq = 1000;
	uint32_t ts = 0, ssrc = opt.have_ssrc ? opt.ssrc : 0x4242;

	if (opt.dtmf_at >= 0) {
		keep = 0;
		while (keep < oldn && old[keep].at_ns < (uint64_t)opt.dtmf_at * 1000000u)
			keep++;
	}
	if (oldn) {
		ssrc = keep ? old[keep - 1].h.ssrc : old[0].h.ssrc;
		seq = keep ? (uint16_t)(old[keep - 1].h.seq + 1) : old[0].h.seq;
		ts = keep ? old[keep - 1].h.ts + (uint32_t)old[keep - 1].h.len : old[0].h.ts;
	}
	at = opt.dtmf_at >= 0 ? (uint64_t)opt.dtmf_at * 1000000u
			      : oldn ? old[oldn - 1].at_ns + (uint64_t)opt.ptime * 1000000u : 0;
	tx = NULL;
	ntx = captx = 0;
	for (size_t k = 0; k < keep; k++)
		*tx_add() = old[k];
	add_digits(at, &seq, &ts, ssrc);
	uint64_t shift = (uint64_t)strlen(opt.dtmf) * 200000000u;
	for (size_t k = keep; k < oldn; k++) {
		txpkt *x = tx_add();
		*x = old[k];
		x->at_ns += shift;
		x->h.seq = seq++;
		x->h.ts = ts;
		ts += (uint32_t)x->h.len;
	}
	free(old);
}

static void apply_quirks(void)
{
	for (size_t i = 0; i + 1 < ntx; i++) {
		bool swap = (long)i == opt.reorder ||
			    (opt.reorder_every > 0 && i > 0 && i % (size_t)opt.reorder_every == 0);
		if (swap) { /* swap contents, keep the send times */
			rtp_hdr h = tx[i].h;
			uint8_t pl[sizeof(tx[0].pl)];
			memcpy(pl, tx[i].pl, sizeof(pl));
			tx[i].h = tx[i + 1].h;
			memcpy(tx[i].pl, tx[i + 1].pl, sizeof(pl));
			tx[i + 1].h = h;
			memcpy(tx[i + 1].pl, pl, sizeof(pl));
			i++;
		}
	}
}

static int parse_hostport(const char *s, struct sockaddr_storage *ss, socklen_t *sl)
{
	char host[256] = "127.0.0.1", port[16];
	const char *colon = strrchr(s, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV }, *ai;
	if (colon) {
		size_t hl = (size_t)(colon - s);
		if (hl >= sizeof(host))
			return -EINVAL;
		if (hl) {
			memcpy(host, s, hl);
			host[hl] = 0;
		}
		snprintf(port, sizeof(port), "%s", colon + 1);
	} else {
		snprintf(port, sizeof(port), "%s", s);
	}
	if (host[0] == '[') { /* [v6]:port */
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = 0;
	}
	if (getaddrinfo(host, port, &hints, &ai))
		return -EINVAL;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sl = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* Per-SSRC receive state: one peer can receive many calls (benchmark). */
#define NSTREAMS 16384
typedef struct sstate {
	bool used;
	uint32_t ssrc;
	uint16_t seq;
	uint32_t ts;
	size_t len;
	uint64_t t;
} sstate;
static sstate *streams;
static size_t nstreams;

static sstate *stream_for(uint32_t ssrc, bool *isnew)
{
	size_t i = (ssrc * 2654435761u) % NSTREAMS;
	for (size_t k = 0; k < NSTREAMS; k++, i = (i + 1) % NSTREAMS) {
		if (streams[i].used && streams[i].ssrc == ssrc) {
			*isnew = false;
			return &streams[i];
		}
		if (!streams[i].used) {
			if (nstreams >= NSTREAMS / 2)
				return NULL;
			streams[i].used = true;
			streams[i].ssrc = ssrc;
			nstreams++;
			*isnew = true;
			return &streams[i];
		}
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void usage(void)
{
	fprintf(stderr, "usage: rtp_peer [--bind A] [--port N] [--port-file F] [--to H:P | --to-file F]\n"
		"  [--pt 0|8] [--file F | --tone HZ | --pcap F] [--count N] [--ptime MS] [--ssrc X] [--seq N] [--ts N]\n"
		"  [--reorder N] [--reorder-every K] [--dup-every K] [--ssrc-change-at N] [--dtmf DIGITS]\n"
		"  [--dtmf-pt N] [--dtmf-at MS] [--record F] [--record-payload F] [--duration S] [--quiet]\n"
		"(see the comment at the top of tests/fakes/rtp_peer.c)\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "bind", 1, 0, 'b' }, { "port", 1, 0, 'p' }, { "port-file", 1, 0, 'P' }, { "to", 1, 0, 't' },
		{ "to-file", 1, 0, 'T' }, { "pt", 1, 0, 'y' }, { "file", 1, 0, 'f' }, { "tone", 1, 0, 'o' },
		{ "pcap", 1, 0, 'c' }, { "count", 1, 0, 'n' }, { "ptime", 1, 0, 'm' }, { "ssrc", 1, 0, 's' },
		{ "seq", 1, 0, 'q' }, { "ts", 1, 0, 'S' }, { "reorder", 1, 0, 'r' }, { "reorder-every", 1, 0, 'R' },
		{ "dup-every", 1, 0, 'd' }, { "ssrc-change-at", 1, 0, 'C' }, { "dtmf", 1, 0, 'D' },
		{ "dtmf-pt", 1, 0, 'E' }, { "dtmf-at", 1, 0, 'A' }, { "record", 1, 0, 'w' },
		{ "record-payload", 1, 0, 'W' }, { "duration", 1, 0, 'u' }, { "quiet", 0, 0, 'Q' },
		{ "help", 0, 0, 'h' }, { 0 },
	};
	struct sockaddr_storage self, dst, from;
	socklen_t sl = sizeof(self), dl = 0;
	FILE *rec = NULL, *recp = NULL;
	uint64_t *devs = NULL, span_ns = 0, nspans = 0;
	size_t nrx = 0, nd = 0;
	int ch, fd;
	bool sending;
	long sent = 0, seq_jumps = 0, ts_jumps = 0, ssrc_changes = 0, markers = 0, gaps = 0;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'b': opt.bind = optarg; break;
		case 'p': opt.port = atoi(optarg); break;
		case 'P': opt.port_file = optarg; break;
		case 't': opt.to = optarg; break;
		case 'T': opt.to_file = optarg; break;
		case 'y': opt.pt = atoi(optarg); break;
		case 'f': opt.file = optarg; break;
		case 'o': opt.tone = atoi(optarg); break;
		case 'c': opt.pcap = optarg; break;
		case 'n': opt.count = atol(optarg); break;
		case 'm': opt.ptime = atoi(optarg); break;
		case 's': opt.ssrc = (uint32_t)strtoul(optarg, NULL, 0); opt.have_ssrc = true; break;
		case 'q': opt.seq = atoi(optarg) & 0xffff; break;
		case 'S': opt.ts = (uint32_t)strtoul(optarg, NULL, 0); opt.have_ts = true; break;
		case 'r': opt.reorder = atol(optarg); break;
		case 'R': opt.reorder_every = atol(optarg); break;
		case 'd': opt.dup_every = atol(optarg); break;
		case 'C': opt.ssrc_change_at = atol(optarg); break;
		case 'D': opt.dtmf = optarg; break;
		case 'E': opt.dtmf_pt = atoi(optarg); break;
		case 'A': opt.dtmf_at = atol(optarg); break;
		case 'w': opt.record = optarg; break;
		case 'W': opt.record_payload = optarg; break;
		case 'u': opt.duration = atof(optarg); break;
		case 'Q': opt.quiet = true; break;
		default: usage(); return 2;
		}
	}
	if (optind != argc || opt.ptime <= 0 || opt.ptime > 60 || (opt.pt != 0 && opt.pt != 8)) {
		usage();
		return 2;
	}
	if (opt.pcap) {
		if (load_pcap(opt.pcap) < 0) {
			fprintf(stderr, "rtp_peer: no RTP in %s\n", opt.pcap);
			return 2;
		}
	} else if (opt.to || opt.to_file) {
		if (opt.count != 0)
			build_audio();
		if (opt.dtmf)
			build_dtmf();
		apply_quirks();
	}

	/* socket */
	struct sockaddr_storage bs;
	socklen_t bl;
	char pbuf[16];
	snprintf(pbuf, sizeof(pbuf), "%d", opt.port);
	char hp[300];
	snprintf(hp, sizeof(hp), "%s:%s", opt.bind, pbuf);
	if (parse_hostport(hp, &bs, &bl) < 0) {
		fprintf(stderr, "rtp_peer: bad --bind\n");
		return 2;
	}
	fd = socket(bs.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&bs, bl) < 0 ||
	    getsockname(fd, (struct sockaddr *)&self, &sl) < 0) {
		perror("rtp_peer: bind");
		return 2;
	}
	int rcvbuf = 4 << 20, one = 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	int lport = ntohs(self.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&self)->sin6_port
						     : ((struct sockaddr_in *)&self)->sin_port);
	if (opt.port_file) {
		char tmp[1024];
		snprintf(tmp, sizeof(tmp), "%s.tmp", opt.port_file);
		FILE *f = fopen(tmp, "w");
		if (!f || fprintf(f, "%d\n", lport) < 0 || fclose(f) || rename(tmp, opt.port_file)) {
			perror(opt.port_file);
			return 2;
		}
	}
	if (!opt.quiet)
		fprintf(stderr, "rtp_peer: bound port %d, %zu packets to send\n", lport, ntx);
	if (opt.to_file) {
		char line[300] = "";
		for (int i = 0; i < 1000; i++) {
			FILE *f = fopen(opt.to_file, "r");
			if (f) {
				bool ok = fgets(line, sizeof(line), f) != NULL;
				fclose(f);
				if (ok && line[0] && line[0] != '\n')
					break;
			}
			line[0] = 0;
			usleep(10000);
		}
		line[strcspn(line, "\r\n ")] = 0;
		if (!line[0] || parse_hostport(line, &dst, &dl) < 0) {
			fprintf(stderr, "rtp_peer: no destination in %s\n", opt.to_file);
			return 2;
		}
	} else if (opt.to && parse_hostport(opt.to, &dst, &dl) < 0) {
		fprintf(stderr, "rtp_peer: bad --to %s\n", opt.to);
		return 2;
	}
	if (opt.record && !(rec = fopen(opt.record, "w"))) {
		perror(opt.record);
		return 2;
	}
	if (opt.record_payload && !(recp = fopen(opt.record_payload, "wb"))) {
		perror(opt.record_payload);
		return 2;
	}
	devs = malloc(MAX_RX * sizeof(*devs));
	streams = calloc(NSTREAMS, sizeof(*streams));
	if (!devs || !streams)
		return 2;

	sending = dl && ntx;
	uint64_t t0 = now_ns(), end = opt.duration > 0 ? t0 + (uint64_t)(opt.duration * 1e9) : 0;
	size_t next = 0;
	for (;;) {
		uint64_t now = now_ns();
		while (sending && next < ntx && t0 + tx[next].at_ns <= now) {
			uint8_t b[RTP_MAX_PKT];
			int len = rtp_build(b, sizeof(b), &tx[next].h, tx[next].pl, tx[next].h.len);
			int copies = opt.dup_every > 0 && next > 0 && next % (size_t)opt.dup_every == 0 ? 2 : 1;
			for (int k = 0; k < copies; k++)
				if (sendto(fd, b, (size_t)len, 0, (struct sockaddr *)&dst, dl) == len)
					sent++;
			next++;
		}
		if (sending && next == ntx) {
			sending = false;
			if (!end)
				end = now + 1000000000u;
		}
		if (!sending && !end && !dl)
			end = t0 + 10000000000u; /* receive-only without --duration: 10 s */
		if (!sending && !end)
			end = now + 1000000000u;
		if (end && now >= end)
			break;
		uint64_t wake = end ? end : now + 100000000u;
		if (sending && t0 + tx[next].at_ns < wake)
			wake = t0 + tx[next].at_ns;
		int to_ms = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		/* sub-ms precision for sending: poll with a shorter timeout near the deadline */
		if (to_ms > 1 && sending)
			to_ms--;
		if (poll(&pfd, 1, to_ms) <= 0)
			continue;
		for (;;) {
			uint8_t b[RTP_MAX_PKT];
			/* The kernel's receive time: a busy host delaying this process
			 * must not show up as jitter of the sender. */
			char cbuf[CMSG_SPACE(sizeof(struct timespec))];
			struct iovec iov = { .iov_base = b, .iov_len = sizeof(b) };
			struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
					     .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
			ssize_t n = recvmsg(fd, &mh, 0);
			uint64_t t = 0;
			rtp_hdr h;
			if (n < 0)
				break;
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
					struct timespec ts;
					memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
					t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
				}
			if (!t) {
				struct timespec ts;
				clock_gettime(CLOCK_REALTIME, &ts);
				t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
			}
			if (rtp_parse(&h, b, (size_t)n) < 0)
				continue;
			bool isnew;
			sstate *st = stream_for(h.ssrc, &isnew);
			if (!st)
				continue;
			if (!isnew) {
				if ((uint16_t)(h.seq - st->seq) != 1)
					seq_jumps++;
				if (h.ts - st->ts != (uint32_t)st->len)
					ts_jumps++;
				if (t - st->t > 60000000u)
					gaps++;
				uint64_t d = t - st->t, p = (uint64_t)opt.ptime * 1000000u;
				if (nd < MAX_RX)
					devs[nd++] = d > p ? d - p : p - d;
				span_ns += t - st->t;
				nspans++;
			}
			markers += h.marker;
			if (rec) {
				char ip[INET6_ADDRSTRLEN] = "?";
				int fp = 0;
				if (from.ss_family == AF_INET) {
					inet_ntop(AF_INET, &((struct sockaddr_in *)&from)->sin_addr, ip, sizeof(ip));
					fp = ntohs(((struct sockaddr_in *)&from)->sin_port);
				} else if (from.ss_family == AF_INET6) {
					inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&from)->sin6_addr, ip, sizeof(ip));
					fp = ntohs(((struct sockaddr_in6 *)&from)->sin6_port);
				}
				fprintf(rec, "%llu %u %u %u %d %zu %u %s:%d\n", (unsigned long long)t, h.seq, h.ts,
					h.pt, h.marker, h.len, h.ssrc, ip, fp);
			}
			if (recp && h.len)
				fwrite(h.payload, 1, h.len, recp);
			st->seq = h.seq;
			st->ts = h.ts;
			st->len = h.len;
			st->t = t;
			nrx++;
		}
	}
	/* summary */
	double mean = nspans ? (double)span_ns / (double)nspans / 1e6 : 0;
	double p50 = 0, p99 = 0, mx = 0;
	if (nd) {
		qsort(devs, nd, sizeof(*devs), cmp_u64);
		p50 = (double)devs[nd / 2] / 1e6;
		p99 = (double)devs[(size_t)((double)(nd - 1) * 0.99)] / 1e6;
		mx = (double)devs[nd - 1] / 1e6;
	}
	ssrc_changes = nstreams ? (long)nstreams - 1 : 0;
	printf("rx=%zu sent=%ld mean_ms=%.3f p50_dev_ms=%.3f p99_dev_ms=%.3f max_dev_ms=%.3f gaps_60ms=%ld "
	       "seq_jumps=%ld ts_jumps=%ld ssrc_changes=%ld markers=%ld streams=%zu\n",
	       nrx, sent, mean, p50, p99, mx, gaps, seq_jumps, ts_jumps, ssrc_changes, markers, nstreams);
	if (rec)
		fclose(rec);
	if (recp)
		fclose(recp);
	free(devs);
	free(streams);
	free(tx);
	close(fd);
	return 0;
}
