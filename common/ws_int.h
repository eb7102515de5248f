/* ws internals shared by ws_ctx.c, ws_conn.c, ws_server.c, ws_client.c.
 * Not for users of ws.h.
 *
 * Ownership: a ws_conn is allocated by ws_connect (client) or when a server
 * upgrade request arrives (listen) / ws_adopt is called, is linked into its
 * ws_ctx's list, and is freed by ws_conn_finish() right after close_h.
 * lws's wsi points to it through lws opaque user data (never user_space,
 * which lws reallocates on HTTP->WS upgrade); finishing clears that pointer
 * so later lws callbacks for the wsi see NULL and are ignored. */
#ifndef VX_WS_INT_H
#define VX_WS_INT_H
#include <stdbool.h>
#include <libwebsockets.h>
#include "ws.h"
#include "ws_rxp.h"

#define WS_RX_BUFFER 4096          /* lws per-connection rx chunk size */
#define WS_RX_KEEP (16 * 1024)     /* reassembly buffer kept across messages */
#define WS_TX_KEEP (16 * 1024)     /* send buffer kept while the queue is empty */
#define WS_TXQ_SLACK 4096          /* send buffer beyond 2 x max_queue (headroom) */
#define WS_TX_CHUNK (64 * 1024)    /* bytes of whole frames given to one lws_write */
#define WS_TLS_CHUNK (WS_TX_CHUNK - 1024) /* wss://: room for the TLS records' headers
					    * and tags, so one chunk's ciphertext stays
					    * within lws's WS_TX_CHUNK send cap */
#define WS_MASK_POOL 256           /* random bytes fetched at once for client masks */
#define WS_CLOSE_REASON_MAX 123    /* RFC 6455: 125 bytes minus the code */
#define WS_PROTO_NAME "voixia-ws"
#define WS_PROTO_ALIAS_MAX 64
#define WS_HS_KEY_LEN 24           /* base64 of the 16-byte nonce */
#define WS_HS_MAX 8192             /* our upgrade request; the server's answer */

/* Outbound FIFO of whole, ready-to-send frames in one reused buffer
 * (ws_txq.c). All zero is a valid empty queue. */
typedef struct ws_txq {
	unsigned char *buf;
	size_t cap, head, tail; /* frames live in buf[head, tail) */
} ws_txq;

typedef struct ws_listener {
	struct ws_listener *next;
	struct lws_vhost *vh;
	ws_accept_h *ah;
	void *arg;
	/* lws keeps these pointers (not copies) for the vhost's lifetime */
	char name[32];
	char iface[64];
} ws_listener;

typedef struct ws_url {
	bool tls;
	int port;
	char host[256];
	char hostport[264];
	char path[2048];
} ws_url;

typedef struct ws_dns ws_dns; /* pending uv_getaddrinfo, ws_client.c */
typedef struct ws_tls ws_tls; /* a wss:// client's TLS state, ws_tls.c */

typedef enum {
	WS_ST_PENDING = 0, /* server: before accept_h; client: connecting */
	WS_ST_OPEN,        /* handshake done */
} ws_state;

struct ws_conn {
	ws_conn *prev, *next; /* ctx->conns */
	ws_ctx *ctx;
	struct lws *wsi;
	ws_handlers h;
	void *arg;
	ws_state state;
	bool is_client;
	bool raw;          /* client on lws's raw role: ws_craw.c (every client) */
	bool notify;       /* close_h is owed (accepted / client started) */
	bool closing;      /* ws_close called or we decided to close */
	bool close_sent;   /* close frame queued to lws */
	bool in_connect;   /* inside lws_client_connect_via_info */
	bool failed_sync;  /* connect failed before lws returned */
	bool finishing;    /* inside close_h: no more sends/closes */
	bool peer_closed;  /* peer's close frame seen: no more data frames */
	int close_code;    /* 0 until known */
	char close_reason[WS_CLOSE_REASON_MAX + 1];
	/* server adopt: accept handler for this socket */
	ws_accept_h *ah;
	void *ah_arg;
	/* client */
	ws_url *url;
	ws_dns *dns;
	ws_tls *tls;       /* wss:// only: our TLS under ws_craw (owned) */
	char **headers;
	lws_sorted_usec_list_t sul_connect; /* connect timeout, then keepalive */
	char *hs;          /* the server's handshake answer so far (WS_HS_MAX) */
	size_t hs_len;
	bool hs_sent;      /* our upgrade request is written */
	char hs_key[WS_HS_KEY_LEN + 1];
	uint64_t last_rx_ms; /* uv_now at the last bytes in (client keepalive) */
	ws_rxp rxp;        /* client: frames from the server */
	/* inbound reassembly (server: lws parses the frames) */
	unsigned char *rx;
	size_t rx_len, rx_cap;
	bool rx_binary;
	/* outbound FIFO */
	ws_txq tx;
	size_t queued; /* payload bytes in tx */
	unsigned corked; /* ws_cork depth: > 0 holds writes back */
	char peer[64];
	char log_id[48]; /* call id on our log lines, "-" until set */
};

/* One lws callback in progress (on the C stack of ws_ctx_callback): lets
 * ws_send_text tell whether lws is inside a callback for a given wsi. */
typedef struct ws_cbframe {
	struct ws_cbframe *up;
	struct lws *wsi;
} ws_cbframe;

/* Everything lws keeps pointers to (protocol table, vhost names, idle
 * policy, listener records), plus the idle handle that finishes the lws
 * teardown. It outlives its ws_ctx until lws has freed its context. */
typedef struct ws_lwsmem {
	uv_idle_t idle;          /* deferred destroy, then teardown reaper */
	bool idle_on;
	uv_loop_t *loop;
	struct lws_context *lws; /* lws NULLs it (info.pcontext) once freed */
	ws_ctx *ctx;             /* NULL once the ws_ctx is freed */
	int depth;               /* > 0: inside a ws callback (user code may run) */
	ws_cbframe *frames;      /* lws callbacks in progress, innermost first */
	int ticks;
	bool busy;
	/* [0] our protocol; [1] an alias whose name is set to the subprotocol
	 * a client offers, so lws accepts it (it refuses unknown names);
	 * [2] the terminator. Per context: contexts may live on other threads. */
	struct lws_protocols protos[3];
	char proto_alias[WS_PROTO_ALIAS_MAX];
	lws_retry_bo_t idle_policy;
	ws_listener *listeners;
} ws_lwsmem;

struct ws_ctx {
	uv_loop_t *loop;
	ws_lwsmem *mem;
	struct lws_context *lws;
	struct lws_vhost *vh_local; /* no listen socket: clients + adopt */
	struct ssl_ctx_st *tls_ctx; /* wss:// clients' SSL_CTX, made at first use */
	char *ca_file;              /* CA store for tls_ctx */
	const lws_retry_bo_t *idle_policy; /* NULL: no keepalive pings */
	ws_opts opts;
	ws_conn *conns;
	unsigned nconns;
	unsigned nvhosts;
	bool destroying;
	/* client frame masks (RFC 6455 10.3: unpredictable) from getrandom,
	 * WS_MASK_POOL bytes at a time: lws reads /dev/urandom per frame */
	uint8_t mask_pool[WS_MASK_POOL];
	size_t mask_pos; /* next unused byte; WS_MASK_POOL = empty */
};

/* ws_conn.c */
ws_conn *ws_conn_new(ws_ctx *ctx, bool is_client);
void ws_conn_finish(ws_conn *c, int code, const char *reason);
void ws_conn_free(ws_conn *c); /* no close_h: for never-accepted conns */
void ws_conn_set_reason(ws_conn *c, int code, const char *reason);
int ws_conn_rx(ws_conn *c, struct lws *wsi, const void *in, size_t len);
int ws_conn_writeable(ws_conn *c, struct lws *wsi);
int ws_conn_peer_close(ws_conn *c, const unsigned char *in, size_t len);
void ws_conn_fill_peer(ws_conn *c, struct lws *wsi);
void ws_conn_goodbye(ws_conn *c);
void ws_conn_kick(ws_conn *c);
/* Every byte a raw write sends (frames, close, our upgrade request) goes
 * through here: lws_write(LWS_WRITE_RAW), or SSL_write and the ciphertext
 * when c->tls. p has LWS_PRE bytes before it. 0 or -1. */
int ws_conn_write(ws_conn *c, struct lws *wsi, unsigned char *p, size_t len);

/* ws_ctx.c: bracket every entry from lws/libuv that can reach user code,
 * so ws_ctx_destroy called from a user callback is deferred to the loop. */
#define WS_ENTER(m) ((m)->depth++)
#define WS_LEAVE(m) ((m)->depth--)
int ws_ctx_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		    void *in, size_t len);
/* 4 fresh random bytes for a client frame's mask: 0 or -errno. */
int ws_ctx_mask(ws_ctx *ctx, uint8_t mask[4]);

/* ws_txq.c: push_op frames len bytes as one frame of opcode op (text, or
 * a ping/pong our client answers), masked with mask
 * when not NULL (client), limit = max bytes the queue may hold, headers
 * included -> 0, -ENOBUFS, -ENOMEM. peek: the oldest whole frames, at
 * most max bytes of them unless the first alone is bigger (LWS_PRE
 * writable bytes before the pointer), their size in *bytes and payload
 * bytes in *payload; NULL when empty. consume drops bytes from the front
 * (whole frames, as peek gave them). frame_len: bytes a frame of len
 * payload bytes takes. */
int ws_txq_push_op(ws_txq *q, uint8_t op, const void *data, size_t len, const uint8_t *mask,
		   size_t limit);
#define ws_txq_push(q, d, l, m, lim) ws_txq_push_op(q, WS_OP_TEXT, d, l, m, lim)
unsigned char *ws_txq_peek(const ws_txq *q, size_t max, size_t *bytes, size_t *payload);
void ws_txq_consume(ws_txq *q, size_t bytes);
void ws_txq_free(ws_txq *q);
size_t ws_txq_frame_len(size_t len, bool masked);
#define ws_txq_empty(q) ((q)->head == (q)->tail)

/* ws_server.c */
int ws_server_confirm_upgrade(ws_ctx *ctx, struct lws *wsi);

/* ws_client.c */
void ws_client_release(ws_conn *c);
void ws_client_close_pending(ws_conn *c);
void ws_client_failed(ws_conn *c, struct lws *wsi, const char *in, size_t len);
void ws_client_established(ws_conn *c, struct lws *wsi);

/* ws_hs.c: key from a 16-byte nonce; our upgrade request into buf (its
 * length, or -ENOSPC); the server's answer: its length once complete and
 * valid, 0 while incomplete, else -ECONNREFUSED (a status other than 101:
 * why is "HTTP <status>: <reason>") or -EPROTO, *status 0 when no status
 * line was read. */
int ws_hs_key(char key[WS_HS_KEY_LEN + 1], const uint8_t nonce[16]);
int ws_hs_request(char *buf, size_t cap, const ws_url *u, char *const *headers, const char *key);
int ws_hs_response(const char *buf, size_t len, const char *key, unsigned *status, char *why,
		   size_t wl);

/* ws_craw.c: our clients on lws's raw role (handshake and frames ours).
 * rx takes plaintext (from lws on ws://, from ws_tls_rx on wss://). */
int ws_craw_callback(ws_conn *c, struct lws *wsi, enum lws_callback_reasons reason,
		     void *in, size_t len);
int ws_craw_rx(ws_conn *c, struct lws *wsi, const unsigned char *in, size_t len);

/* ws_tls.c: TLS for wss:// clients over memory BIOs (OpenSSL), between
 * lws's raw socket and ws_craw. new: c->tls for host (SNI and name check,
 * or the address check for an IP literal), the ctx's SSL_CTX made at the
 * first call -> 0, -ENOMEM, -EINVAL. start: first flight, from
 * RAW_CONNECTED. rx: ciphertext in -> 0, or -1 to drop (reason set).
 * write: encrypts len bytes and flushes, in one lws_write -> 0 / -1.
 * flush: writes what the SSL produced (handshake, alerts) -> 0 / -1.
 * ready: TLS handshake done. */
int ws_tls_new(ws_conn *c, const char *host);
void ws_tls_free(ws_conn *c);
void ws_tls_ctx_free(ws_ctx *ctx);
int ws_tls_start(ws_conn *c, struct lws *wsi);
int ws_tls_rx(ws_conn *c, struct lws *wsi, const void *in, size_t len);
int ws_tls_write(ws_conn *c, struct lws *wsi, const unsigned char *p, size_t len);
int ws_tls_flush(ws_conn *c, struct lws *wsi);
bool ws_tls_ready(const ws_conn *c);
#endif
