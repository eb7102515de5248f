/* acc: one-port acceptor and router; see acc.h. */
#include "acc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdroom.h"
#include "log.h"
#include "reqhead.h"
#include "sauth.h"
#include "vcall.h"
#include "vhttp.h"

typedef struct pend {
	struct pend *prev, *next;
	acc *a;
	int fd;
	enum { P_PEEK, P_WS, P_HTTP, P_DROP } route;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	uv_poll_t poll;
	uv_timer_t timer;
	uint64_t t0;
	int closing; /* handles left to close */
	char peer[64];
} pend;

struct acc {
	vp *v;
	int lfd;
	int reserve_fd; /* spare descriptor: lets us refuse cleanly at EMFILE */
	uv_poll_t lpoll;
	uv_timer_t pause; /* accepting paused after an EMFILE without the spare */
	bool listening;
	uint64_t nofd_log_ms; /* last "out of file descriptors" line */
	unsigned long nofd;   /* connections refused for want of descriptors */
	pend *pending;
	unsigned npending;
	rh_head head;       /* scratch, loop thread only */
	char peek[RH_MAX];  /* scratch */
};

static void pend_handle_closed(uv_handle_t *h)
{
	pend *p = h->data;
	acc *a = p->a;
	int fd = p->fd;

	if (--p->closing)
		return;
	/* both handles are gone: the fd may now be handed over */
	if (p->route == P_WS) {
		int r = ws_adopt(a->v->ws_srv, fd, vcall_accept, a->v);
		if (r < 0)
			log_warn("-", "acceptor: ws_adopt failed for %s: %s", p->peer, strerror(-r));
	} else if (p->route == P_HTTP) {
		if (vhttp_add_connection(a->v->http, fd, (struct sockaddr *)&p->addr, p->addrlen) < 0)
			log_warn("-", "acceptor: HTTP server refused %s", p->peer);
	} else {
		close(fd);
	}
	free(p);
}

static void pend_finish(pend *p, int route)
{
	acc *a = p->a;

	p->route = route;
	if (p->prev)
		p->prev->next = p->next;
	else
		a->pending = p->next;
	if (p->next)
		p->next->prev = p->prev;
	a->npending--;
	uv_poll_stop(&p->poll);
	uv_timer_stop(&p->timer);
	p->closing = 2;
	uv_close((uv_handle_t *)&p->poll, pend_handle_closed);
	uv_close((uv_handle_t *)&p->timer, pend_handle_closed);
}

static void drop(pend *p, const char *why)
{
	/* read what was peeked so close() sends FIN, not RST */
	if (recv(p->fd, p->a->peek, sizeof(p->a->peek), MSG_DONTWAIT) < 0)
		(void)0;
	atomic_fetch_add(&p->a->v->st.acc_dropped, 1);
	log_info("-", "acceptor: %s: %s; closed", p->peer, why);
	pend_finish(p, P_DROP);
}

/* Consume the (already peeked) head, answer, close. */
static void refuse(pend *p, size_t headlen, int status, const char *why)
{
	static const char *const text[] = { [0] = "Bad Request", [1] = "Unauthorized", [3] = "Forbidden" };
	const char *st = status == 503 ? "Service Unavailable" : status == 404 ? "Not Found"
			 : (status >= 400 && status <= 403) ? text[status - 400] : "Error";
	char buf[512], sink[RH_MAX];
	int n;

	if (headlen && recv(p->fd, sink, headlen < sizeof(sink) ? headlen : sizeof(sink), 0) < 0)
		(void)0;
	n = snprintf(buf, sizeof(buf),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s"
		     "Connection: close\r\n\r\n%s\n",
		     status, st, strlen(why) + 1, status == 503 ? "Retry-After: 5\r\n" : "", why);
	if (send(p->fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		(void)0;
	shutdown(p->fd, SHUT_WR);
	pend_finish(p, P_DROP);
}

/* Out of descriptors: one log line per second at most; `what` happened
 * to the connection from `peer`. */
static void nofd_log(acc *a, const char *peer, int err, const char *what)
{
	uint64_t now = uv_now(a->v->loop);

	if (a->nofd_log_ms && now - a->nofd_log_ms < 1000)
		return;
	a->nofd_log_ms = now;
	log_err("-", "acceptor: out of file descriptors (%s, %u live calls; raise ulimit -n): %s %s "
		"(%lu refused so far)", err == ENFILE ? "ENFILE" : "EMFILE", atomic_load(&a->v->live),
		peer, what, a->nofd);
}

static void route(pend *p)
{
	acc *a = p->a;
	vp *v = a->v;
	rh_head *h = &a->head;
	char why[128];
	int st;

	if (strcmp(h->path, "/media-stream")) {
		pend_finish(p, P_HTTP);
		return;
	}
	if (strcmp(h->method, "GET") || !rh_header_has(h, "Upgrade", "websocket")) {
		refuse(p, h->head_len, 400, "/media-stream is a WebSocket endpoint");
		return;
	}
	{
		sauth_cfg sc = { v->conf.twilio_token, v->conf.stream_token, v->conf.public_host };
		st = sauth_stream(&sc, h, why, sizeof(why));
	}
	if (st) {
		atomic_fetch_add(&v->st.refused_auth, 1);
		log_warn("-", "stream from %s refused (%d): %s", p->peer, st, why);
		refuse(p, h->head_len, st, st == 401 ? "authentication required" : "forbidden");
		return;
	}
	if (v->stopping || atomic_load(&v->live) >= v->conf.max_calls) {
		atomic_fetch_add(&v->st.refused_full, 1);
		log_warn("-", "stream from %s refused (503): %s", p->peer,
			 v->stopping ? "shutting down" : "MAX_CALLS reached");
		refuse(p, h->head_len, 503, "busy");
		return;
	}
	/* a stream needs its OpenAI socket, the dashboard's and the journal's:
	 * refused here rather than failing half-way (live calls keep theirs) */
	if ((st = fdroom_check(p->fd, ACC_FD_NEED)) < 0) {
		atomic_fetch_add(&v->st.refused_full, 1);
		a->nofd++;
		nofd_log(a, p->peer, -st, "-> 503");
		refuse(p, h->head_len, 503, "busy");
		return;
	}
	pend_finish(p, P_WS);
}

static void on_readable(uv_poll_t *w, int status, int events);

static void on_timer(uv_timer_t *t)
{
	pend *p = t->data;

	if (uv_now(p->a->v->loop) - p->t0 >= ACC_HEAD_MS) {
		drop(p, "request head too slow");
		return;
	}
	/* re-arm the (level-triggered) poll only now: no busy loop on a
	 * partial head */
	uv_poll_start(&p->poll, UV_READABLE, on_readable);
	uv_timer_start(&p->timer, on_timer, ACC_HEAD_MS - (uv_now(p->a->v->loop) - p->t0), 0);
}

static void on_readable(uv_poll_t *w, int status, int events)
{
	pend *p = w->data;
	acc *a = p->a;
	ssize_t n;
	int r;

	(void)events;
	if (status < 0) {
		drop(p, uv_strerror(status));
		return;
	}
	n = recv(p->fd, a->peek, sizeof(a->peek), MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		drop(p, n == 0 ? "closed before a request" : strerror(errno));
		return;
	}
	r = rh_parse(&a->head, a->peek, (size_t)n);
	if (r == -EAGAIN) {
		uv_poll_stop(&p->poll);
		uv_timer_start(&p->timer, on_timer, 10, 0);
		return;
	}
	if (r < 0) {
		drop(p, r == -E2BIG ? "request head too large" : "not an HTTP request");
		return;
	}
	route(p);
}

static void on_accept(uv_poll_t *w, int status, int events);

static void on_pause_end(uv_timer_t *t)
{
	acc *a = t->data;

	if (a->reserve_fd < 0)
		a->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (a->listening)
		uv_poll_start(&a->lpoll, UV_READABLE, on_accept);
}

static void on_accept(uv_poll_t *w, int status, int events)
{
	acc *a = w->data;

	(void)events;
	if (status < 0)
		return;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(a->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		pend *p;
		char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";

		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			int err = errno;
			/* Linux reports EMFILE before looking at the backlog: with
			 * the spare descriptor, take the waiting connection (if any)
			 * and close it at once, or the level-triggered poll would
			 * spin on it */
			if (a->reserve_fd >= 0) {
				close(a->reserve_fd);
				fd = accept4(a->lfd, NULL, NULL, SOCK_CLOEXEC);
				if (fd >= 0)
					close(fd);
				a->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
				if (fd >= 0) {
					atomic_fetch_add(&a->v->st.acc_dropped, 1);
					a->nofd++;
					nofd_log(a, "a connection", err, "closed at accept");
					continue;
				}
				if (a->reserve_fd >= 0)
					return; /* nothing was waiting */
			}
			/* no spare: stop accepting for a while */
			nofd_log(a, "the listener", err, "paused for 100 ms");
			uv_poll_stop(&a->lpoll);
			uv_timer_start(&a->pause, on_pause_end, ACC_PAUSE_MS, 0);
			return;
		}
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
				log_warn("-", "acceptor: accept: %s", strerror(errno));
			return;
		}
		getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port, sizeof(port),
			    NI_NUMERICHOST | NI_NUMERICSERV);
		if (a->npending >= ACC_MAX_PENDING || !(p = calloc(1, sizeof(*p)))) {
			atomic_fetch_add(&a->v->st.acc_dropped, 1);
			log_warn("-", "acceptor: %s:%s dropped: too many connections waiting", host, port);
			close(fd);
			continue;
		}
		p->a = a;
		p->fd = fd;
		p->addr = ss;
		p->addrlen = sl;
		p->t0 = uv_now(a->v->loop);
		snprintf(p->peer, sizeof(p->peer), "%s:%s", host, port);
		uv_poll_init(a->v->loop, &p->poll, fd);
		uv_timer_init(a->v->loop, &p->timer);
		p->poll.data = p->timer.data = p;
		p->next = a->pending;
		if (a->pending)
			a->pending->prev = p;
		a->pending = p;
		a->npending++;
		uv_poll_start(&p->poll, UV_READABLE, on_readable);
		uv_timer_start(&p->timer, on_timer, ACC_HEAD_MS, 0);
	}
}

int acc_start(acc **out, vp *v, const char *addr, int port, int *bound)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char ps[8];
	acc *a;
	int one = 1, r, e;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->v = v;
	a->lfd = -1;
	a->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	snprintf(ps, sizeof(ps), "%d", port);
	e = getaddrinfo(addr, ps, &hints, &ai);
	if (e) {
		log_err("-", "BIND_ADDR %s: %s", addr, gai_strerror(e));
		r = -EINVAL;
		goto fail;
	}
	a->lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->lfd < 0) {
		r = -errno;
		goto fail;
	}
	setsockopt(a->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(a->lfd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(a->lfd, 1024) < 0) {
		r = -errno;
		log_err("-", "cannot listen on %s:%d: %s", addr, port, strerror(errno));
		goto fail;
	}
	/* Zeroed for clang's analyzer: glibc passes the address as a transparent
	 * union it cannot see getsockname() fill (llvm-project#60482). */
	memset(&ss, 0, sizeof(ss));
	if (getsockname(a->lfd, (struct sockaddr *)&ss, &sl) < 0) {
		r = -errno;
		log_err("-", "getsockname on %s:%d: %s", addr, port, strerror(errno));
		goto fail;
	}
	*bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						: ((struct sockaddr_in *)&ss)->sin_port);
	freeaddrinfo(ai);
	uv_poll_init(v->loop, &a->lpoll, a->lfd);
	a->lpoll.data = a;
	uv_timer_init(v->loop, &a->pause);
	a->pause.data = a;
	uv_poll_start(&a->lpoll, UV_READABLE, on_accept);
	a->listening = true;
	*out = a;
	return 0;
fail:
	if (ai)
		freeaddrinfo(ai);
	if (a->lfd >= 0)
		close(a->lfd);
	if (a->reserve_fd >= 0)
		close(a->reserve_fd);
	free(a);
	return r;
}

static void lpoll_closed(uv_handle_t *h)
{
	acc *a = h->data;
	close(a->lfd);
	a->lfd = -1;
}

void acc_stop(acc *a)
{
	if (!a)
		return;
	if (a->listening) {
		a->listening = false;
		uv_poll_stop(&a->lpoll);
		uv_close((uv_handle_t *)&a->lpoll, lpoll_closed);
		uv_close((uv_handle_t *)&a->pause, NULL);
	}
	while (a->pending)
		pend_finish(a->pending, P_DROP);
}

void acc_destroy(acc *a)
{
	if (a && a->reserve_fd >= 0)
		close(a->reserve_fd);
	free(a);
}
