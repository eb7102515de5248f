/* ws: WebSocket connections (server and client) on a libuv loop, built on
 * libwebsockets 4.1 with a foreign uv loop. Used by voiceproxy (the
 * /media-stream server and its OpenAI clients), sipbridge (one client per
 * call) and the test peers. Every function must be called on the loop's
 * thread; every callback runs there. Clients (ws:// and wss://) run on
 * lws's raw role with our own handshake and frame parser (ws_craw.c: lws
 * 4.1's client parser costs a step per payload byte), wss:// with our own
 * TLS (ws_tls.c, OpenSSL); servers on lws's WebSocket role. The behaviour
 * below is the same for all.
 *
 * Messages are delivered whole (fragments reassembled up to max_message;
 * bigger -> close 1009). Binary messages go to binary_h, or close the
 * connection with 1003 when binary_h is NULL. Outbound messages are framed
 * into a per-connection queue and written at once when nothing is pending
 * (else from lws's WRITEABLE callback, every queued message in one write);
 * beyond max_queue bytes ws_send_text returns -ENOBUFS (a slow peer never
 * makes us buffer without limit). Queue and reassembly each reuse one buffer per
 * connection: no allocation per message in the steady state; a buffer over
 * 16 KiB is released once its burst or big message is done.
 * Lifetime: a ws_conn is owned by the ws module. close_h is the last
 * callback for a connection (also when a client never connected: code 1006
 * and a reason); the ws_conn is freed right after it returns.
 *
 * close_h codes: the peer's close code and reason when it sent a close
 * frame (1005 if that frame had no code); our own code when we closed
 * (ws_close, 1003 binary refused, 1009 too big, 1001 "going away" from
 * ws_ctx_destroy); 1006 when the TCP connection dropped, a connect or
 * handshake failed or timed out. A client refused by the server's HTTP
 * status gets 1006 with a reason starting "HTTP <status>:".
 * ws_close on a client still connecting (DNS, TCP, TLS or upgrade
 * pending) drops it at once: close_h comes from the next loop iteration
 * with that code and the reason "closed while connecting".
 * Inside close_h the conn is finishing: ws_send_text returns -ENOTCONN
 * and ws_close does nothing.
 *
 * Details users rely on:
 * - ws_connect returning < 0 means no callback will ever come; 0 means
 *   exactly one close_h will. Host names are resolved off-loop
 *   (uv_getaddrinfo, IPv4 preferred); connect_timeout_ms covers DNS,
 *   TCP, TLS and the HTTP upgrade.
 * - wss:// (TLS 1.2 or later, ALPN http/1.1) verifies the server against
 *   the system CA store (/etc/ssl/certs/ca-certificates.crt), or the file
 *   named by SSL_CERT_FILE when set at ws_ctx_new time, and the URL's
 *   host: its name (also sent as SNI) or, for an IP literal, its address.
 *   The store is loaded at the context's first wss:// connect (ws:// only
 *   contexts never pay its ~720 KB). A TLS or certificate failure gives
 *   close_h 1006 with the reason, e.g. "TLS: certificate verify failed:
 *   hostname mismatch"; the upgrade request is never sent then.
 * - Servers accept a client's subprotocol offer by echoing its first one.
 * - ws_ctx_destroy sends queued messages and a 1001 close frame where the
 *   socket allows, then drops the sockets, calling every close_h before it
 *   returns. Called from inside a ws callback it is deferred to the next
 *   loop iteration (close_h calls come then; input is no longer delivered
 *   meanwhile). For a fully graceful end, ws_close each connection and run
 *   the loop until their close_h ran. */
#ifndef VX_WS_H
#define VX_WS_H
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct ws_ctx ws_ctx;
typedef struct ws_conn ws_conn;

typedef struct ws_handlers {
	void (*open_h)(ws_conn *c, void *arg);  /* client: handshake done */
	void (*text_h)(ws_conn *c, const char *data, size_t len, void *arg); /* data NUL-terminated */
	void (*binary_h)(ws_conn *c, const uint8_t *data, size_t len, void *arg);
	void (*close_h)(ws_conn *c, int code, const char *reason, void *arg);
} ws_handlers;

typedef struct ws_opts {
	size_t max_message;     /* default 1 MiB */
	size_t max_queue;       /* default 4 MiB */
	int connect_timeout_ms; /* client connect + handshake, default 5000 */
	int ping_interval_s;    /* 0 = off (default); else ping a peer silent this
				 * long, drop it (close_h 1006) after twice this */
} ws_opts;

/* An upgrade request as seen by a server's accept callback. */
typedef struct ws_request ws_request;
const char *ws_request_path(const ws_request *rq);   /* "/media-stream" */
const char *ws_request_query(const ws_request *rq);  /* "a=b&c=d" or "" (each arg url-decoded) */
const char *ws_request_header(const ws_request *rq, const char *name); /* NULL if absent */

/* Decide on an incoming upgrade: call ws_set_handlers() and return 0 to
 * accept, or return an HTTP status (401, 403, 404, 503) to refuse. */
typedef int (ws_accept_h)(ws_conn *c, const ws_request *rq, void *arg);

int ws_ctx_new(ws_ctx **out, uv_loop_t *loop, const ws_opts *opts); /* opts may be NULL */
/* Closes every connection (close_h runs), then frees the context. The loop
 * must be run afterwards for libuv handles to finish closing. */
void ws_ctx_destroy(ws_ctx *ctx);

/* Client: url "ws://host:port/path?q" or "wss://…"; headers NULL-terminated
 * "Name: value" strings (e.g. "Authorization: Bearer …"). */
int ws_connect(ws_ctx *ctx, const char *url, const char *const *headers,
	       const ws_handlers *h, void *arg, ws_conn **out);
/* Server: listen on addr:port (port 0 = ephemeral; *bound gets the port). */
int ws_listen(ws_ctx *ctx, const char *addr, int port, ws_accept_h *ah, void *arg, int *bound);
/* Server: adopt an accepted TCP socket whose upgrade request is still unread
 * (voiceproxy's one-port acceptor peeks, then hands the socket over).
 * The fd belongs to ws from this call on, also when it fails. Plain HTTP
 * requests on ws sockets get 404. */
int ws_adopt(ws_ctx *ctx, int fd, ws_accept_h *ah, void *arg);

void ws_set_handlers(ws_conn *c, const ws_handlers *h, void *arg);
/* 0, -ENOBUFS (queue full), -ENOTCONN (closing), -ENOMEM, or a getrandom
 * error (client masks) */
int ws_send_text(ws_conn *c, const char *data, size_t len);
/* Messages sent between ws_cork and the matching ws_uncork leave together,
 * in one write where the socket takes them (a media event and its mark):
 * one send(2) instead of one per message, and no latency added since
 * ws_uncork follows in the same turn. Nests. No ws call but ws_ctx_destroy
 * ends or frees a connection synchronously, so a corked conn is still valid
 * at ws_uncork; do not destroy the context in between. */
void ws_cork(ws_conn *c);
void ws_uncork(ws_conn *c);
void ws_close(ws_conn *c, int code, const char *reason);    /* async; close_h follows */
size_t ws_queued(const ws_conn *c);
const char *ws_peer(const ws_conn *c);                       /* "ip:port" */
/* Call id shown on the ws layer's own log lines for this connection
 * (copied, up to 47 chars; NULL or "" resets to "-"). */
void ws_set_log_id(ws_conn *c, const char *id);
#endif
