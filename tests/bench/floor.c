/* floor: the loopback TCP floor under the proxy benchmark, measured on this
 * machine. A null relay (one epoll thread: read once per readable event,
 * write the bytes to the paired socket, nothing parsed) carries N streams
 * between a generator's "callers" and its echoing "model", with the same
 * message count as `run.sh --mode proxy` (a message each way on both legs
 * every 20 ms per stream, 20 send slots of 1 ms), fixed-size messages of
 * about a Twilio media event's size. It measures the kernel's part of
 * any relay's cost for this traffic on this machine; what a real relay
 * does per message comes on top (docs/performance.md, "The loopback
 * floor").
 *
 *   floor --calls N --seconds S [--size BYTES] [--uring]
 *
 * Exit 1: messages lost; 2: set-up failure. --uring: the relay batches its
 * system calls through io_uring (one submission per pass over the
 * completions) instead of a recv and a send per message.
 *
 * The relay is a child process (its own CPU, as voiceproxy has); latency
 * is taken like loadgen's: send time in the message, the kernel's receive
 * stamp (SO_TIMESTAMPNS) at the other end. */
#include <errno.h>
#include <sched.h>
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

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
static int ready_fd = -1; /* relay: written once it can take connections */

static void relay_ready(void)
{
	char c = 1;
	if (write(ready_fd, &c, 1) != 1)
		_exit(2);
	close(ready_fd);
}

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
	relay_ready();
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

/* ---- the null relay on io_uring (--uring) --------------------------------- *
 * The same relay with its system calls batched: every socket has a receive
 * armed; a completed receive becomes a send to the paired socket and the
 * receive is armed again; all of one pass's sends and receives go to the
 * kernel in one io_uring_submit_and_wait. What is left is the TCP work. */

#define FL_UBUFS 8    /* sends in flight per direction */
#define FL_UBUF 4096

typedef struct fl_ubuf {
	struct fl_uconn *owner;
	int busy;
	uint8_t d[FL_UBUF];
} fl_ubuf;

typedef struct fl_uconn {
	int fd;
	struct fl_uconn *peer;
	fl_ubuf *rx; /* the buffer the armed receive fills */
	fl_ubuf buf[FL_UBUFS];
} fl_uconn;

enum { FL_U_RECV, FL_U_SEND, FL_U_ACCEPT };

static struct io_uring_sqe *u_sqe(struct io_uring *r)
{
	struct io_uring_sqe *q = io_uring_get_sqe(r);

	if (!q) { /* the queue is full: hand it to the kernel now */
		io_uring_submit(r);
		q = io_uring_get_sqe(r);
	}
	if (!q) {
		fprintf(stderr, "floor: io_uring queue full\n");
		_exit(2);
	}
	return q;
}

static void u_recv(struct io_uring *r, fl_uconn *c)
{
	struct io_uring_sqe *q;

	c->rx = NULL;
	for (int i = 0; i < FL_UBUFS; i++)
		if (!c->buf[i].busy) {
			c->rx = &c->buf[i];
			break;
		}
	if (!c->rx) { /* every buffer still being sent: the floor is broken */
		fprintf(stderr, "floor: io_uring relay: %d sends in flight on one socket\n", FL_UBUFS);
		_exit(3);
	}
	c->rx->busy = 1;
	q = u_sqe(r);
	io_uring_prep_recv(q, c->fd, c->rx->d, FL_UBUF, 0);
	io_uring_sqe_set_data64(q, (uint64_t)(uintptr_t)c->rx | FL_U_RECV);
}

static void relay_run_uring(int lfd, int model_port)
{
	struct io_uring r;
	struct io_uring_sqe *q;
	int e = io_uring_queue_init(8192, &r, 0);

	if (e < 0) {
		fprintf(stderr, "floor: io_uring: %s\n", strerror(-e));
		_exit(4);
	}
	relay_ready();
	q = u_sqe(&r);
	io_uring_prep_accept(q, lfd, NULL, NULL, 0);
	io_uring_sqe_set_data64(q, FL_U_ACCEPT);
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		int sr = io_uring_submit_and_wait(&r, 1);

		if (sr < 0 && sr != -EINTR) {
			errno = -sr;
			die("io_uring_submit_and_wait");
		}
		io_uring_for_each_cqe(&r, head, cqe) {
			uint64_t ud = io_uring_cqe_get_data64(cqe);
			fl_ubuf *b = (fl_ubuf *)(uintptr_t)(ud & ~(uint64_t)3);
			int res = cqe->res;

			n++;
			if ((ud & 3) == FL_U_ACCEPT) {
				fl_uconn *a, *m;
				int one = 1, mfd;
				if (res < 0)
					die("accept");
				mfd = dial(model_port);
				a = calloc(1, sizeof(*a));
				m = calloc(1, sizeof(*m));
				if (!a || !m)
					die("calloc");
				a->fd = res;
				m->fd = mfd;
				a->peer = m;
				m->peer = a;
				for (int i = 0; i < FL_UBUFS; i++)
					a->buf[i].owner = a, m->buf[i].owner = m;
				setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				setsockopt(mfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				u_recv(&r, a);
				u_recv(&r, m);
				q = u_sqe(&r);
				io_uring_prep_accept(q, lfd, NULL, NULL, 0);
				io_uring_sqe_set_data64(q, FL_U_ACCEPT);
			} else if ((ud & 3) == FL_U_RECV) {
				fl_uconn *c = b->owner;
				if (res <= 0)
					_exit(0); /* the generator hung up: the run is over */
				q = u_sqe(&r);
				io_uring_prep_send(q, c->peer->fd, b->d, (size_t)res, MSG_NOSIGNAL);
				b->busy = res; /* in flight, and the length to check */
				io_uring_sqe_set_data64(q, (uint64_t)(uintptr_t)b | FL_U_SEND);
				u_recv(&r, c);
			} else { /* a send completed: short or failed is a broken floor */
				if (res != b->busy) {
					fprintf(stderr, "floor: io_uring send %d of %d bytes\n", res, b->busy);
					_exit(5);
				}
				b->busy = 0;
			}
		}
		io_uring_cq_advance(&r, n);
	}
}

/* ---- the generator (parent) ---------------------------------------------- */

static struct {
	fl_conn **all; /* every connection, freed at the end */
	int n_all;
	fl_conn *slot[FL_SLOTS];
	int64_t slot_due[FL_SLOTS];
	int64_t t_start, t_stop; /* measured window */
	lg_hist in, out;
	uint64_t sent_in, got_in, sent_out, got_out;
	uint64_t place_n, place_same; /* relay on our vCPU, every 10 ms */
	uint8_t *tx;
} G;

static ssize_t read_stamped(int fd, uint8_t *buf, size_t room, int64_t *rx)
{
	char cbuf[CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov = { buf, room };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	ssize_t r = recvmsg(fd, &mh, 0);

	*rx = r > 0 ? lg_cmsg_rx_ns(&mh) : 0;
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

/* utime + stime (fields 14 and 15 of /proc/PID/stat), in seconds */
static double cpu_s(pid_t pid)
{
	long long ut = lg_proc_stat((int)pid, 14), st = lg_proc_stat((int)pid, 15);

	return ut < 0 || st < 0 ? 0 : (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* /proc/stat's steal ticks, all vCPUs: time the hypervisor ran something
 * else on them */
static unsigned long long steal_ticks(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &v[6], &v[7]) != 8)
		v[7] = 0;
	fclose(f);
	return v[7];
}

static fl_conn *conn_new(int fd, bool model)
{
	fl_conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (!c || !(c->in = malloc(8 * msg_size)))
		die("calloc");
	c->fd = fd;
	c->model = model;
	G.all[G.n_all++] = c;
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
	unsigned long long steal0 = 0, steal1 = 0;
	int64_t t_end;
	int models = 0, pp[2];
	unsigned ticks = 0;
	bool uring = false;

	for (int i = 1; i < argc; i += 2) {
		if (!strcmp(argv[i], "--uring")) {
			uring = true;
			i--;
		} else if (i + 1 >= argc) {
			fprintf(stderr, "floor: %s needs a value\n", argv[i]);
			return 2;
		} else if (!strcmp(argv[i], "--calls"))
			calls = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--size"))
			msg_size = (size_t)atoi(argv[i + 1]);
		else {
			fprintf(stderr, "usage: floor --calls N --seconds S [--size BYTES] [--uring]\n");
			return 2;
		}
	}
	/* --calls: the relay dials the model side while the generator is still
	 * dialling callers, so both listen backlogs (4096) bound it */
	if (calls < 1 || calls > 4000 || seconds < 2 || msg_size < sizeof(fl_msg) || msg_size > 4096) {
		fprintf(stderr, "floor: --calls 1..4000, --seconds >= 2, --size %zu..4096\n", sizeof(fl_msg));
		return 2;
	}
	{ /* two sockets per stream in each process */
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	signal(SIGPIPE, SIG_IGN);
	stalled = mmap(NULL, 2 * sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (stalled == MAP_FAILED)
		die("mmap");
	mlfd = listen_any(&mport);
	rlfd = listen_any(&rport);
	if (pipe2(pp, O_CLOEXEC) < 0)
		die("pipe");
	relay = fork();
	if (relay < 0)
		die("fork");
	if (relay == 0) {
		role = 1;
		close(pp[0]);
		ready_fd = pp[1];
		close(mlfd);
		if (uring)
			relay_run_uring(rlfd, mport);
		relay_run(rlfd, mport);
	}
	close(rlfd);
	close(pp[1]);
	{ /* a relay that could not start (io_uring refused) says so and exits */
		char c;
		int st;
		if (read(pp[0], &c, 1) != 1) {
			waitpid(relay, &st, 0);
			fprintf(stderr, "floor: the relay exited (status %d) before it was ready\n",
				WIFEXITED(st) ? WEXITSTATUS(st) : -1);
			return 2;
		}
		close(pp[0]);
	}
	if (lg_hist_init(&G.in) < 0 || lg_hist_init(&G.out) < 0 || !(G.tx = calloc(1, msg_size)) ||
	    !(G.all = calloc((size_t)calls * 2, sizeof(fl_conn *))))
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
		int fd;
		fl_conn *c;
		fd = accept4(mlfd, NULL, NULL, SOCK_CLOEXEC);
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
			steal0 = steal_ticks();
		}
		if (cpu_r0 >= 0 && !cpu_r1 && now >= G.t_stop) {
			cpu_r1 = cpu_s(relay);
			cpu_g1 = cpu_s(getpid());
			steal1 = steal_ticks();
		}
		if (now >= t_end)
			break;
		for (int i = 0; i < n; i++) {
			fl_conn *c = evs[i].data.ptr;
			if (!c) {
				uint64_t x;
				if (read(tfd, &x, sizeof(x)) < 0 && errno != EAGAIN)
					die("timerfd");
				if (now >= G.t_start && now < G.t_stop && ++ticks % 10 == 0) {
					int other = lg_last_cpu(relay), mine = sched_getcpu();
					if (other >= 0 && mine >= 0) {
						G.place_n++;
						G.place_same += other == mine;
					}
				}
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
		printf("floor: null relay%s, %d streams, %zu-byte messages, %d s measured\n",
		       uring ? " (io_uring)" : "", calls, msg_size, seconds);
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
		printf("  time the hypervisor took from our vCPUs (steal, all vCPUs): %.0f ms per s\n",
		       (double)(steal1 - steal0) * 1000.0 / (double)sysconf(_SC_CLK_TCK) / w);
		printf("  relay last ran on the generator's vCPU (sampled every 10 ms): %.0f %% of %llu samples\n",
		       G.place_n ? 100.0 * (double)G.place_same / (double)G.place_n : 0.0,
		       (unsigned long long)G.place_n);
	}
	for (int i = 0; i < G.n_all; i++) {
		close(G.all[i]->fd);
		free(G.all[i]->in);
		free(G.all[i]);
	}
	free(G.all);
	free(G.tx);
	lg_hist_free(&G.in);
	lg_hist_free(&G.out);
	close(ep);
	close(tfd);
	close(mlfd);
	if (G.got_in != G.sent_in || G.got_out != G.sent_out) {
		fprintf(stderr, "floor: messages lost\n");
		return 1;
	}
	return 0;
}
