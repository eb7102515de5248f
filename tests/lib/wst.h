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

#endif
