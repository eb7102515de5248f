/* wst: the shared harness of the ws unit tests (test_ws, test_ws_send,
 * test_ws_hostile): one libuv loop running a ws server (wst.ctx, listening
 * on wst.port) and our own clients against it, recording what each side
 * saw, plus raw-socket helpers for what our own client cannot produce.
 * The helpers use cmocka asserts: only cmocka programs link this. */
#ifndef VX_WST_H
#define VX_WST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include "ws.h"

#define WST_MAXC 256

/* One end of a connection: what its handlers saw. */
typedef struct wst_side {
	ws_conn *c;
	int opened, closed, code, ntext;
	char reason[128];
	char *last; /* the last message, NUL-terminated, malloc'd */
	size_t last_len;
} wst_side;

typedef struct wst {
	uv_loop_t loop;
	uv_timer_t tick;
	ws_ctx *ctx;
	int port;
	int accept_status, accepts;
	char path[256], query[256], auth[256], custom[256], absent[8], host[64];
	bool srv_echo, srv_close_in_text, cli_close_in_text;
	bool greet_in_accept, close_in_accept, close_in_open;
	ws_ctx *destroy_in_close, *destroy_in_text; /* ws_ctx_destroy from callbacks */
	int srv_close_code;
	bool (*srv_check)(int i, const char *d, size_t n); /* i-th message ok? */
	int srv_bad;
	wst_side srv[WST_MAXC], cli[WST_MAXC];
	int nsrv;
} wst;

/* Runs the loop until expr (which may use x, the test) holds or ms pass. */
#define RUN_UNTIL(t, expr, ms) ({ \
	wst *x = (t); \
	uint64_t end_ = uv_hrtime() + (uint64_t)(ms) * 1000000; \
	bool ok_ = true; \
	while (!(expr)) { \
		if (uv_hrtime() > end_) { ok_ = false; break; } \
		uv_run(&x->loop, UV_RUN_ONCE); \
	} \
	ok_; })

/* Server handlers (arg = wst_side *) and client handlers (arg = wst_side *). */
extern const ws_handlers wst_srv_h, wst_cli_h;
/* The server's accept_h (arg = wst *): records the request in the test,
 * refuses with accept_status if set, else takes the next srv[] side. */
int wst_accept(ws_conn *c, const ws_request *rq, void *arg);

/* A test with its loop and a listening context (o may be NULL); the
 * running one, for handlers without an arg, until wst_free. */
wst *wst_new(const ws_opts *o);
void wst_free(wst *t);
/* Connects cli[i] to our server at pathq ("/path?query"). */
int wst_connect(wst *t, int i, const char *pathq, const char *const *hdrs);

/* ---- raw sockets ---- */
int wst_raw_connect(int port);
void wst_raw_send(int fd, const void *b, size_t n);
extern const char *wst_raw_upgrade; /* a valid upgrade request for /raw */

typedef struct wst_rawbuf {
	int fd;
	char b[8192];
	size_t n;
	bool eof;
} wst_rawbuf;

/* Reads what is there (non-blocking), NUL-terminates; true at EOF. */
bool wst_raw_pump(wst_rawbuf *r);
/* A plain TCP listener on an ephemeral loopback port (never accepts). */
int wst_listen_plain(int *port);


/* ---- raw servers for our client (test_ws_client) ---- */
/* One accepted connection from our client: what it sent, not yet taken. */
typedef struct wst_peer {
	int fd;           /* non-blocking, TCP_NODELAY; -1 once closed */
	unsigned char *b; /* received bytes not yet consumed, NUL after them */
	size_t n, cap;
	bool eof;
	char key[64];     /* the client's Sec-WebSocket-Key */
} wst_peer;

/* One frame from our client, payload unmasked (malloc'd, NUL after it). */
typedef struct wst_frame {
	bool fin, masked;
	int rsv, op;
	uint8_t mask[4]; /* zero when not masked */
	size_t len;
	unsigned char *data;
} wst_frame;

/* Runs the loop until lfd (wst_listen_plain) accepts, at most ms: 0 / -1. */
int wst_peer_accept(wst *t, int lfd, wst_peer *p, int ms);
/* Reads what is there; true at EOF. */
bool wst_peer_pump(wst_peer *p);
void wst_peer_consume(wst_peer *p, size_t n);
/* Runs the loop until the upgrade request is in (at most ms): its length
 * (headers and the empty line; left in p->b) and p->key set, or 0. */
size_t wst_peer_request(wst *t, wst_peer *p, int ms);
/* Sec-WebSocket-Accept for a key (RFC 6455 4.2.2). */
void wst_ws_accept(const char *key, char out[32]);
/* A valid 101 answer for key into out: its length. */
size_t wst_101(char *out, size_t cap, const char *key);
/* A server frame: b0 (FIN|RSV|opcode), payload, optional mask: bytes written
 * (out needs len + 14). */
size_t wst_frame_build(unsigned char *out, uint8_t b0, const void *data, size_t len,
		       const uint8_t *mask);
/* Runs the loop until a whole frame is in (at most ms), takes it: true. */
bool wst_peer_frame(wst *t, wst_peer *p, wst_frame *f, int ms);
/* Sends everything, running the loop while the socket is full: 0, or
 * -errno when the socket failed (the client dropped it). */
int wst_peer_send(wst *t, wst_peer *p, const void *b, size_t n);
void wst_peer_close(wst_peer *p);
#endif
