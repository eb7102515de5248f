/* floor: the loopback TCP floor under the proxy benchmark, measured on this
 * machine. A null relay (one epoll thread: read once per readable event,
 * write the bytes to the paired socket, nothing parsed) carries N streams
 * between a generator's "callers" and its echoing "model", with the same
 * message count as `run.sh --mode proxy` (a message each way on both legs
 * every 20 ms per stream, 20 send slots of 1 ms), fixed-size messages of
 * about a Twilio media event's size. No relay can do the same traffic
 * with less than this relay's CPU and latency: it is the kernel's part of
 * voiceproxy's cost (docs/performance.md, "The loopback floor").
 *
 *   floor --calls N --seconds S [--size BYTES]      (exit 1: messages lost)
 *
 * The relay is a child process (its own CPU, as voiceproxy has); latency
 * is taken like loadgen's: send time in the message, the kernel's receive
 * stamp (SO_TIMESTAMPNS) at the other end. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lg.h"

#define FL_SLOTS 20
#define FL_MAXEV 1024 /* as libuv's epoll_wait */
#define FL_MAGIC 0x666c6f6fu

typedef struct fl_msg {
	uint32_t magic, stream, seq, pad;
	int64_t t_caller; /* caller's send time */
	int64_t t_model;  /* model's echo time, 0 on the way in */
} fl_msg;

typedef struct fl_conn {
	int fd;
	int peer;   /* relay: the paired socket */
	bool model; /* generator: the model side */
	uint32_t stream, seq;
	size_t have;
	uint8_t *in;
	struct fl_conn *next_in_slot;
} fl_conn;

static size_t msg_size = 320;
/* writes that found a full socket buffer: [0] generator, [1] relay
 * (shared with the child); the floor holds where this stays 0 */
static long *stalled;
static int role; /* 0 generator, 1 relay */

static void die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void tune(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		die("fcntl");
}

/* The whole buffer; a full socket buffer is waited out (counted): the
 * floor is measured where nothing queues, as in the proxy runs. */
static void write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EAGAIN) {
			stalled[role]++;
			continue;
		}
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static int listen_any(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4096) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0)
		die("listen");
	*port = ntohs(a.sin_port);
	return fd;
}

static int dial(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	return fd;
}

/* ---- the null relay (child) ---------------------------------------------- */

static void relay_run(int lfd, int model_port)
{
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL }, evs[FL_MAXEV];
	static uint8_t buf[65536];

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		die("epoll");
	for (;;) {
		int n = epoll_wait(ep, evs, FL_MAXEV, -1);
		for (int i = 0; i < n; i++) {
			fl_conn *c = evs[i].data.ptr;
			if (!c) {
				int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), mfd;
				fl_conn *a, *b;
				if (cfd < 0)
					continue;
				mfd = dial(model_port);
				tune(cfd);
				tune(mfd);
				a = calloc(1, sizeof(*a));
				b = calloc(1, sizeof(*b));
				if (!a || !b)
					die("calloc");
				a->fd = b->peer = cfd;
				b->fd = a->peer = mfd;
				ev.data.ptr = a;
				epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
				ev.data.ptr = b;
				epoll_ctl(ep, EPOLL_CTL_ADD, mfd, &ev);
				continue;
			}
			ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
			if (r > 0)
				write_all(c->peer, buf, (size_t)r);
			else if (r == 0 || errno != EAGAIN)
				_exit(0); /* the generator hung up: the run is over */
		}
	}
}

/* ---- the generator (parent) ---------------------------------------------- */

static struct {
	fl_conn *callers;
	fl_conn *slot[FL_SLOTS];
	int64_t slot_due[FL_SLOTS];
	int64_t t_start, t_stop; /* measured window */
	lg_hist in, out;
	uint64_t sent_in, got_in, sent_out, got_out;
	uint8_t *tx;
} G;

static ssize_t read_stamped(int fd, uint8_t *buf, size_t room, int64_t *rx)
{
	char cbuf[CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov = { buf, room };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	ssize_t r = recvmsg(fd, &mh, 0);

	*rx = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); r > 0 && cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
			*rx = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		}
	if (r > 0 && !*rx)
		*rx = lg_now_ns();
	return r;
}

static void on_msg(fl_conn *c, uint8_t *m, int64_t rx)
{
	fl_msg h;

	memcpy(&h, m, sizeof(h));
	if (h.magic != FL_MAGIC)
		return;
	if (c->model) { /* caller -> model: echo it */
		G.got_in++;
		if (h.t_caller >= G.t_start && h.t_caller < G.t_stop)
			lg_hist_add(&G.in, rx - h.t_caller);
		h.t_model = lg_now_ns();
		memcpy(m, &h, sizeof(h));
		write_all(c->fd, m, msg_size);
		G.sent_out++;
	} else {
		G.got_out++;
		if (h.t_caller >= G.t_start && h.t_caller < G.t_stop)
			lg_hist_add(&G.out, rx - h.t_model);
	}
}

static int on_readable(fl_conn *c)
{
	int64_t rx;
	ssize_t r = read_stamped(c->fd, c->in + c->have, 8 * msg_size - c->have, &rx);
	size_t off = 0;

	if (r <= 0)
		return r == 0 || errno != EAGAIN ? -1 : 0;
	c->have += (size_t)r;
	while (c->have - off >= msg_size) {
		on_msg(c, c->in + off, rx);
		off += msg_size;
	}
	memmove(c->in, c->in + off, c->have - off);
	c->have -= off;
	return 0;
}

static void send_slot(int k, int64_t now, bool sending)
{
	for (fl_conn *c = G.slot[k]; c; c = c->next_in_slot) {
		fl_msg h = { FL_MAGIC, c->stream, c->seq++, 0, 0, 0 };
		if (!sending)
			continue;
		/* the send time, as loadgen stamps it; the window is the slot's */
		h.t_caller = now < G.t_start ? 0 : lg_now_ns();
		memcpy(G.tx, &h, sizeof(h));
		write_all(c->fd, G.tx, msg_size);
		G.sent_in++;
	}
}

static double cpu_s(pid_t pid)
{
	char p[64], b[1024];
	unsigned long ut = 0, st = 0;
	FILE *f;
	const char *q;

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(p, "r")))
		return 0;
	if (!fgets(b, sizeof(b), f))
		b[0] = 0;
	fclose(f);
	q = strrchr(b, ')');
	if (!q || sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static fl_conn *conn_new(int fd, bool model)
{
	fl_conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (!c || !(c->in = malloc(8 * msg_size)))
		die("calloc");
	c->fd = fd;
	c->model = model;
	tune(fd);
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	return c;
}

int main(int argc, char **argv)
{
	int calls = 1000, seconds = 20, mport, rport, mlfd, rlfd, ep, tfd;
	pid_t relay;
	struct epoll_event ev = { .events = EPOLLIN }, evs[FL_MAXEV];
	double cpu_r0, cpu_g0, cpu_r1, cpu_g1;
	int64_t t_end;
	int models = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--calls"))
			calls = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--size"))
			msg_size = (size_t)atoi(argv[i + 1]);
		else {
			fprintf(stderr, "usage: floor --calls N --seconds S [--size BYTES]\n");
			return 2;
		}
	}
	if (calls < 1 || seconds < 2 || msg_size < sizeof(fl_msg) || msg_size > 4096) {
		fprintf(stderr, "floor: --calls >= 1, --seconds >= 2, --size %zu..4096\n", sizeof(fl_msg));
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	stalled = mmap(NULL, 2 * sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (stalled == MAP_FAILED)
		die("mmap");
	mlfd = listen_any(&mport);
	rlfd = listen_any(&rport);
	relay = fork();
	if (relay < 0)
		die("fork");
	if (relay == 0) {
		role = 1;
		close(mlfd);
		relay_run(rlfd, mport);
	}
	close(rlfd);
	if (lg_hist_init(&G.in) < 0 || lg_hist_init(&G.out) < 0 || !(G.tx = calloc(1, msg_size)) ||
	    !(G.callers = calloc((size_t)calls, sizeof(fl_conn))))
		die("calloc");
	ep = epoll_create1(0);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	if (ep < 0 || tfd < 0)
		die("epoll/timerfd");
	/* connect every caller, then take the relay's model connections */
	for (int i = 0; i < calls; i++) {
		fl_conn *c = conn_new(dial(rport), false);
		c->stream = (uint32_t)i;
		c->next_in_slot = G.slot[i % FL_SLOTS];
		G.slot[i % FL_SLOTS] = c;
		ev.data.ptr = c;
		epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	}
	while (models < calls) {
		int fd = accept4(mlfd, NULL, NULL, SOCK_CLOEXEC);
		fl_conn *c;
		if (fd < 0)
			die("accept");
		c = conn_new(fd, true);
		ev.data.ptr = c;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		models++;
	}
	{
		struct itimerspec its = { { 0, 1000000 }, { 0, 1000000 } };
		timerfd_settime(tfd, 0, &its, NULL);
		ev.data.ptr = NULL;
		epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	}
	/* 1 s of warm-up, S s measured, 1 s to drain */
	G.t_start = lg_now_ns() + 1000000000LL;
	G.t_stop = G.t_start + (int64_t)seconds * 1000000000LL;
	t_end = G.t_stop + 1000000000LL;
	for (int k = 0; k < FL_SLOTS; k++)
		G.slot_due[k] = G.t_start - 1000000000LL + (int64_t)k * 1000000;
	cpu_r0 = cpu_g0 = -1;
	cpu_r1 = cpu_g1 = 0;
	for (;;) {
		int n = epoll_wait(ep, evs, FL_MAXEV, -1);
		int64_t now = lg_now_ns();
		if (cpu_r0 < 0 && now >= G.t_start) {
			cpu_r0 = cpu_s(relay);
			cpu_g0 = cpu_s(getpid());
		}
		if (cpu_r0 >= 0 && !cpu_r1 && now >= G.t_stop) {
			cpu_r1 = cpu_s(relay);
			cpu_g1 = cpu_s(getpid());
		}
		if (now >= t_end)
			break;
		for (int i = 0; i < n; i++) {
			fl_conn *c = evs[i].data.ptr;
			if (!c) {
				uint64_t x;
				if (read(tfd, &x, sizeof(x)) < 0 && errno != EAGAIN)
					die("timerfd");
				for (int k = 0; k < FL_SLOTS; k++)
					while (now >= G.slot_due[k]) {
						send_slot(k, G.slot_due[k], G.slot_due[k] < G.t_stop);
						G.slot_due[k] += 20000000;
					}
				continue;
			}
			if (on_readable(c) < 0)
				die("a connection closed");
		}
	}
	kill(relay, SIGTERM);
	waitpid(relay, NULL, 0);
	{
		double w = (double)seconds, mins = w / 60.0 * calls;
		printf("floor: null relay, %d streams, %zu-byte messages, %d s measured\n", calls, msg_size, seconds);
		printf("  caller->model sent / received: %llu / %llu; model->caller: %llu / %llu\n",
		       (unsigned long long)G.sent_in, (unsigned long long)G.got_in,
		       (unsigned long long)G.sent_out, (unsigned long long)G.got_out);
		printf("  relay latency caller->model p50/p99/max: %.2f / %.2f / %.2f ms\n", lg_hist_pct(&G.in, 0.5),
		       lg_hist_pct(&G.in, 0.99), (double)G.in.max_ns / 1e6);
		printf("  relay latency model->caller p50/p99/max: %.2f / %.2f / %.2f ms\n", lg_hist_pct(&G.out, 0.5),
		       lg_hist_pct(&G.out, 0.99), (double)G.out.max_ns / 1e6);
		printf("  relay CPU s per call-minute: %.4f (%.2f cores); generator %.2f cores\n",
		       (cpu_r1 - cpu_r0) / mins, (cpu_r1 - cpu_r0) / w, (cpu_g1 - cpu_g0) / w);
		printf("  writes that found a full socket buffer: generator %ld, relay %ld\n", stalled[0], stalled[1]);
	}
	if (G.got_in != G.sent_in || G.got_out != G.sent_out) {
		fprintf(stderr, "floor: messages lost\n");
		return 1;
	}
	return 0;
}
