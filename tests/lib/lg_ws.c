/* lg_ws: the load generator's raw WebSocket (RFC 6455) client and server on
 * plain sockets (lg.h). The generator's own connections (2 x N in proxy
 * mode) cost it as much CPU as voiceproxy spends when they go through
 * common/ws (libwebsockets: a WRITEABLE round trip and two epoll_ctl per
 * message). Here a message is one write(2) when the socket takes it; only a
 * partial write arms POLLOUT.
 * Reads: one recvmsg(2) per readable event unless it filled the buffer
 * (the poll is level-triggered: what is left makes the socket readable
 * again), and each read carries the kernel's receive time (SO_TIMESTAMPNS)
 * so latencies do not include the generator's own delay in getting to it.
 * Server TLS (lg_ws_tls): OpenSSL over memory BIOs, the socket I/O stays
 * ours, so reads keep their kernel stamps (OpenSSL's socket BIO uses
 * read(2), which gives none) and writes keep the one-send/queue rule. */
#include "lg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "b64.h"

struct lg_ws {
	lg_ws_ctx *x;
	int fd;
	uv_poll_t poll;
	bool server, open, close_sent, dead;
	int events;
	char *in, *out, *msg;
	size_t inlen, incap, outlen, outcap, msglen, msgcap;
	int64_t rx_ns; /* kernel receive time of the read being parsed, 0 = none */
	SSL *ssl;      /* server TLS: NULL = plain; c->out then holds ciphertext */
	lg_ws_open_h open_h;
	lg_ws_text_h text_h;
	lg_ws_close_h close_h;
	void *arg;
	char hs[768]; /* client: the upgrade request to send */
	struct lg_ws *next, *prev;
};

struct lg_ws_ctx {
	uv_loop_t *loop;
	lg_ws *list;
	int lfd;
	bool listening;
	uv_poll_t lpoll;
	lg_ws_open_h accept_h; /* the server's */
	lg_ws_text_h text_h;
	void *arg;
	lg_ws_stats st;
	SSL_CTX *tls; /* lg_ws_tls: accepted connections speak TLS */
	int64_t clock_hi; /* the latest lg_now_ns() taken after a read */
};

static void lg_ws_io(uv_poll_t *h, int status, int events);
static int lg_ws_tls_flush(lg_ws *c);

static int lg_ws_grow(char **b, size_t *cap, size_t need)
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

static void lg_ws_events(lg_ws *c, int ev)
{
	if (c->dead || ev == c->events)
		return;
	c->events = ev;
	uv_poll_start(&c->poll, ev, lg_ws_io);
}

static void lg_ws_freed(uv_handle_t *h)
{
	lg_ws *c = h->data;
	SSL_free(c->ssl);
	free(c->in);
	free(c->out);
	free(c->msg);
	free(c);
}

static void lg_ws_kill(lg_ws *c)
{
	if (c->dead)
		return;
	/* close_notify, best effort: a peer reading EOF without it sees an error */
	if (c->ssl && SSL_is_init_finished(c->ssl) && SSL_shutdown(c->ssl) >= 0)
		lg_ws_tls_flush(c);
	ERR_clear_error();
	c->dead = true;
	uv_poll_stop(&c->poll);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		c->x->list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->close_h)
		c->close_h(c, c->arg);
	uv_close((uv_handle_t *)&c->poll, lg_ws_freed);
}

/* Bytes to the socket: one send, what it does not take is queued (POLLOUT). */
static int lg_ws_send_raw(lg_ws *c, const void *p, size_t n)
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
		if (c->outlen + n - (size_t)w > (64u << 20) || lg_ws_grow(&c->out, &c->outcap, c->outlen + n - (size_t)w))
			return -ENOBUFS;
		memcpy(c->out + c->outlen, (const char *)p + w, n - (size_t)w);
		c->outlen += n - (size_t)w;
		lg_ws_events(c, UV_READABLE | UV_WRITABLE);
	}
	return 0;
}

/* TLS: the ciphertext OpenSSL left in the write BIO, to the socket. */
static int lg_ws_tls_flush(lg_ws *c)
{
	static char buf[32768]; /* one loop, no threads */
	BIO *w = SSL_get_wbio(c->ssl);
	int n, r = 0;

	while (r == 0 && (n = BIO_read(w, buf, sizeof(buf))) > 0)
		r = lg_ws_send_raw(c, buf, (size_t)n);
	return r;
}

static int lg_ws_write(lg_ws *c, const void *p, size_t n)
{
	if (!c->ssl)
		return lg_ws_send_raw(c, p, n);
	if (c->dead)
		return -ENOTCONN;
	/* a memory BIO takes everything: SSL_write is whole or fails (it
	 * is only called once the handshake is done: after the request) */
	if (n && SSL_write(c->ssl, p, (int)n) <= 0) {
		ERR_clear_error();
		return -EPROTO;
	}
	return lg_ws_tls_flush(c);
}

/* The frame header for n payload bytes into hdr (14 bytes): its length. */
static size_t lg_ws_hdr_fill(const lg_ws *c, unsigned char *hdr, int opcode, size_t n)
{
	size_t h = 2;

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
	return h;
}

/* n frames of one opcode, one write. */
static int lg_ws_framev(lg_ws *c, int opcode, const struct iovec *m, int n)
{
	/* one loop, no threads, no callback in between: a static scratch */
	static char scratch[16384];
	char *buf = scratch;
	size_t need = 0, pos = 0;
	int r;

	for (int i = 0; i < n; i++)
		need += 14 + m[i].iov_len;
	if (need > sizeof(scratch) && !(buf = malloc(need)))
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		pos += lg_ws_hdr_fill(c, (unsigned char *)buf + pos, opcode, m[i].iov_len);
		memcpy(buf + pos, m[i].iov_base, m[i].iov_len);
		pos += m[i].iov_len;
	}
	r = lg_ws_write(c, buf, pos);
	if (buf != scratch)
		free(buf);
	return r;
}

static int lg_ws_frame(lg_ws *c, int opcode, const char *d, size_t n)
{
	struct iovec m = { (void *)d, n };
	return lg_ws_framev(c, opcode, &m, 1);
}

int lg_ws_send(lg_ws *c, const char *d, size_t n)
{
	if (!c->open || c->close_sent)
		return -ENOTCONN;
	return lg_ws_frame(c, 1, d, n);
}

int lg_ws_sendv(lg_ws *c, const struct iovec *m, int n)
{
	if (!c->open || c->close_sent)
		return -ENOTCONN;
	return lg_ws_framev(c, 1, m, n);
}

int64_t lg_ws_rx_ns(const lg_ws *c)
{
	return c->rx_ns;
}

void lg_ws_get_stats(const lg_ws_ctx *x, lg_ws_stats *st)
{
	*st = x->st;
}

/* One read into buf: bytes read, 0 at EOF, -errno. Sets c->rx_ns. */
static ssize_t lg_ws_read(lg_ws *c, char *buf, size_t room)
{
	char cbuf[CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov = { buf, room };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	ssize_t r = recvmsg(c->fd, &mh, MSG_DONTWAIT);

	if (r < 0)
		return -errno;
	c->x->st.reads++;
	/* tcp_recvmsg: the receive time of the last segment this read took */
	c->rx_ns = lg_cmsg_rx_ns(&mh);
	/* a stamp later than the clock now would be a bug; the clock is only
	 * read when the stamp is past the last reading (not once per read) */
	if (!c->rx_ns) {
		c->x->st.unstamped++;
	} else if (c->rx_ns > c->x->clock_hi) {
		c->x->clock_hi = lg_now_ns();
		if (c->rx_ns > c->x->clock_hi)
			c->x->st.late++;
	}
	return r;
}

/* TLS: n bytes of ciphertext in, all the plaintext OpenSSL can make of them
 * appended to c->in (none left inside it: SSL_read until WANT_READ), the
 * handshake's answers sent: plaintext bytes or -errno. */
static ssize_t lg_ws_tls_in(lg_ws *c, const char *d, size_t n)
{
	size_t got = 0;
	int r, err;

	if (BIO_write(SSL_get_rbio(c->ssl), d, (int)n) != (int)n)
		return -ENOMEM;
	for (;;) {
		if (lg_ws_grow(&c->in, &c->incap, c->inlen + got + 16384 + 1))
			return -ENOMEM;
		r = SSL_read(c->ssl, c->in + c->inlen + got, (int)(c->incap - c->inlen - got - 1));
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	err = SSL_get_error(c->ssl, r);
	ERR_clear_error();
	if (err != SSL_ERROR_WANT_READ) /* close_notify (ZERO_RETURN) or a failure */
		return -ECONNRESET;
	if (lg_ws_tls_flush(c) < 0)
		return -EPIPE;
	return (ssize_t)got;
}

void lg_ws_close(lg_ws *c)
{
	unsigned char code[2] = { 0x03, 0xe8 }; /* 1000 */
	if (c->dead || c->close_sent)
		return;
	lg_ws_frame(c, 8, (const char *)code, 2);
	c->close_sent = true;
}

static const char *lg_ws_hdr(const char *h, const char *name, size_t *vl)
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
static int lg_ws_handshake(lg_ws *c)
{
	char *end;
	size_t hl;

	if (lg_ws_grow(&c->in, &c->incap, c->inlen + 1))
		return -1;
	c->in[c->inlen] = '\0';
	end = strstr(c->in, "\r\n\r\n");
	if (!end)
		return c->inlen > 16384 ? -1 : 0;
	hl = (size_t)(end - c->in) + 4;
	end[2] = '\0';
	if (c->server) {
		size_t kl = 0;
		const char *k = lg_ws_hdr(c->in, "\nSec-WebSocket-Key:", &kl);
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
		if (lg_ws_write(c, resp, (size_t)n) < 0)
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

/* 8 bytes at a time: every message voiceproxy sends the fake is masked. */
static void lg_ws_unmask(unsigned char *d, const unsigned char *k, uint64_t len)
{
	unsigned char k8[8];
	uint64_t m, w, i = 0;

	for (int j = 0; j < 8; j++)
		k8[j] = k[j & 3];
	memcpy(&m, k8, 8);
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, d + i, 8);
		w ^= m;
		memcpy(d + i, &w, 8);
	}
	for (; i < len; i++)
		d[i] ^= k[i & 3];
}

/* Frames: returns bytes consumed, -1 to drop the connection. */
static long lg_ws_frames(lg_ws *c, size_t off)
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
		if (masked)
			lg_ws_unmask(b + h, b + h - 4, len);
		switch (op) {
		case 0: case 1:
			if (op == 1 && fin && !c->msglen) {
				if (c->text_h)
					c->text_h(c, (const char *)b + h, (size_t)len, c->arg);
			} else {
				if (lg_ws_grow(&c->msg, &c->msgcap, c->msglen + len))
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
				lg_ws_close(c);
			return -1;
		case 9:
			lg_ws_frame(c, 10, (const char *)b + h, (size_t)len);
			break;
		default:
			break;
		}
		p += h + len;
	}
	return (long)(p - off);
}

static void lg_ws_io(uv_poll_t *h, int status, int events)
{
	lg_ws *c = h->data;

	if (status < 0) {
		lg_ws_kill(c);
		return;
	}
	if (events & UV_WRITABLE) {
		if (!c->open && !c->server && c->hs[0]) { /* connected */
			int err = 0;
			socklen_t el = sizeof(err);
			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
			if (err) {
				fprintf(stderr, "loadgen: connect: %s\n", strerror(err));
				lg_ws_kill(c);
				return;
			}
			lg_ws_events(c, UV_READABLE);
			if (lg_ws_write(c, c->hs, strlen(c->hs)) < 0) {
				lg_ws_kill(c);
				return;
			}
			c->hs[0] = '\0';
		} else if (c->outlen) {
			ssize_t w = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w < 0 && errno != EAGAIN) {
				lg_ws_kill(c);
				return;
			}
			if (w > 0) {
				memmove(c->out, c->out + w, c->outlen - (size_t)w);
				c->outlen -= (size_t)w;
			}
			if (!c->outlen)
				lg_ws_events(c, UV_READABLE);
		} else {
			lg_ws_events(c, UV_READABLE);
		}
	}
	if (events & UV_READABLE) {
		for (;;) {
			static char tls_in[65536]; /* ciphertext: one loop, no threads */
			ssize_t r, got;
			long used;
			size_t off = 0, room;
			if (lg_ws_grow(&c->in, &c->incap, c->inlen + 65536)) {
				lg_ws_kill(c);
				return;
			}
			if (c->ssl) {
				room = sizeof(tls_in);
				r = lg_ws_read(c, tls_in, room);
				got = r > 0 ? lg_ws_tls_in(c, tls_in, (size_t)r) : r;
			} else {
				room = c->incap - c->inlen - 1;
				r = got = lg_ws_read(c, c->in + c->inlen, room);
			}
			if (r == 0 || (r < 0 && r != -EAGAIN && r != -EWOULDBLOCK) || (r > 0 && got < 0)) {
				lg_ws_kill(c);
				return;
			}
			if (r < 0)
				break;
			c->inlen += (size_t)got;
			if (!c->open) {
				int n = lg_ws_handshake(c);
				if (n < 0) {
					lg_ws_kill(c);
					return;
				}
				off = (size_t)n;
			}
			if (c->open) {
				used = lg_ws_frames(c, off);
				if (used < 0 || c->dead) {
					lg_ws_kill(c);
					return;
				}
				off += (size_t)used;
			}
			memmove(c->in, c->in + off, c->inlen - off);
			c->inlen -= off;
			/* a short read emptied the socket: reading again would
			 * only fail with EAGAIN (half of all reads did) */
			if ((size_t)r < room)
				break;
		}
	}
}

static lg_ws *lg_ws_new(lg_ws_ctx *x, int fd, bool server)
{
	lg_ws *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->x = x;
	c->fd = fd;
	c->server = server;
	c->poll.data = c;
	uv_poll_init(x->loop, &c->poll, fd);
	c->next = x->list;
	if (x->list)
		x->list->prev = c;
	x->list = c;
	return c;
}

/* url: ws://127.0.0.1:PORT/path */
lg_ws *lg_ws_connect(lg_ws_ctx *x, const char *url, const char *bearer, lg_ws_open_h open_h,
		     lg_ws_text_h text_h, lg_ws_close_h close_h, void *arg)
{
	char host[64], path[256] = "/";
	int port = 0, fd;
	struct sockaddr_in a = { .sin_family = AF_INET };
	lg_ws *c;

	if (sscanf(url, "ws://%63[^:]:%d%255s", host, &port, path) < 2 || inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return NULL;
	a.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	{
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return NULL;
	}
	if (!(c = lg_ws_new(x, fd, false))) {
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
	lg_ws_events(c, UV_WRITABLE);
	return c;
}

/* An accepted connection's TLS: memory BIOs (see the top of the file). */
static int lg_ws_tls_new(lg_ws *c)
{
	BIO *r = BIO_new(BIO_s_mem()), *w = BIO_new(BIO_s_mem());

	if (!r || !w || !(c->ssl = SSL_new(c->x->tls))) {
		BIO_free(r);
		BIO_free(w);
		return -ENOMEM;
	}
	SSL_set_bio(c->ssl, r, w); /* c->ssl owns them */
	SSL_set_accept_state(c->ssl);
	return 0;
}

int lg_ws_tls(lg_ws_ctx *x, const char *cert, const char *key)
{
	SSL_CTX *t = SSL_CTX_new(TLS_server_method());

	if (!t)
		return -ENOMEM;
	if (!SSL_CTX_set_min_proto_version(t, TLS1_2_VERSION) ||
	    SSL_CTX_use_certificate_chain_file(t, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(t, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(t) != 1) {
		ERR_print_errors_fp(stderr);
		SSL_CTX_free(t);
		return -EINVAL;
	}
	SSL_CTX_free(x->tls);
	x->tls = t;
	return 0;
}

static void lg_ws_accept(uv_poll_t *h, int status, int events)
{
	lg_ws_ctx *x = h->data;

	(void)events;
	if (status < 0)
		return;
	for (;;) {
		int fd = accept4(x->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		lg_ws *c;
		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
		if (!(c = lg_ws_new(x, fd, true))) {
			close(fd);
			continue;
		}
		c->text_h = x->text_h;
		c->arg = x->arg;
		if (x->tls && lg_ws_tls_new(c) < 0) {
			lg_ws_kill(c);
			continue;
		}
		if (x->accept_h)
			x->accept_h(c, x->arg);
		lg_ws_events(c, UV_READABLE);
	}
}

int lg_ws_listen(lg_ws_ctx *x, int port, int *bound, lg_ws_open_h accept_h, lg_ws_text_h text_h,
		 void *arg)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	socklen_t al = sizeof(a);
	int one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	x->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (x->lfd < 0)
		return -errno;
	setsockopt(x->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(x->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(x->lfd, 4096) < 0)
		return -errno;
	getsockname(x->lfd, (struct sockaddr *)&a, &al);
	*bound = ntohs(a.sin_port);
	x->accept_h = accept_h;
	x->text_h = text_h;
	x->arg = arg;
	uv_poll_init(x->loop, &x->lpoll, x->lfd);
	x->lpoll.data = x;
	x->listening = true;
	uv_poll_start(&x->lpoll, UV_READABLE, lg_ws_accept);
	return 0;
}

int lg_ws_ctx_new(lg_ws_ctx **out, uv_loop_t *loop)
{
	lg_ws_ctx *x = calloc(1, sizeof(*x));

	if (!x)
		return -ENOMEM;
	x->loop = loop;
	x->lfd = -1;
	*out = x;
	return 0;
}

static void lg_ws_ctx_freed(uv_handle_t *h)
{
	free(h->data);
}

void lg_ws_ctx_destroy(lg_ws_ctx *x)
{
	while (x->list)
		lg_ws_kill(x->list);
	/* the connections' SSL objects hold references: freed last by them */
	SSL_CTX_free(x->tls);
	x->tls = NULL;
	if (!x->listening) {
		if (x->lfd >= 0)
			close(x->lfd);
		free(x);
		return;
	}
	uv_poll_stop(&x->lpoll);
	uv_close((uv_handle_t *)&x->lpoll, lg_ws_ctx_freed);
	close(x->lfd);
}
