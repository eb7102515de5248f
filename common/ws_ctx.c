/* ws_ctx: one lws_context per ws_ctx on the caller's (foreign) libuv loop,
 * and the single lws protocol callback that routes lws events to ws_conn. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include "err.h"
#include "log.h"
#include "ws_int.h"

#define CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

/* lws logs go to our log: its errors as warnings, the rest at debug. */
static void ws_lws_log(int level, const char *line)
{
	int n = (int)strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		log_warn("-", "lws: %.*s", n, line);
	else
		log_debug("-", "lws: %.*s", n, line);
}

static pthread_once_t ws_log_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t ws_ssl_mu = PTHREAD_MUTEX_INITIALIZER;
static bool ws_ssl_inited; /* under ws_ssl_mu */

static void ws_log_setup(void)
{
	int lv = LLL_ERR | LLL_WARN | LLL_NOTICE;

	if (getenv("WS_LWS_DEBUG")) /* lws internals, for debugging only */
		lv |= LLL_INFO | LLL_DEBUG | LLL_CLIENT | LLL_HEADER;
	lws_set_log_level(lv, ws_lws_log);
}

static int ws_http_refuse(struct lws *wsi)
{
	/* Plain HTTP on a WS-only port: 404 and done. */
	if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL))
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int ws_dispatch(ws_lwsmem *m, struct lws *wsi, enum lws_callback_reasons reason,
		       void *user, void *in, size_t len)
{
	ws_conn *c = lws_get_opaque_user_data(wsi);

	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		if (!m->ctx || !in || strcasecmp((const char *)in, "websocket"))
			return -1;
		return ws_server_confirm_upgrade(m->ctx, wsi);

	case LWS_CALLBACK_HTTP:
		return ws_http_refuse(wsi);

	case LWS_CALLBACK_ESTABLISHED:
		if (!c)
			return -1;
		c->state = WS_ST_OPEN;
		ws_conn_fill_peer(c, wsi);
		if (!ws_txq_empty(&c->tx) || c->closing)
			lws_callback_on_writable(wsi);
		return 0;

	/* Every client (ws:// and wss://): lws's raw role, TLS by ws_tls.c,
	 * WebSocket by ws_craw.c */
	case LWS_CALLBACK_RAW_CONNECTED:
	case LWS_CALLBACK_RAW_RX:
	case LWS_CALLBACK_RAW_WRITEABLE:
		if (!c || !c->raw)
			return -1;
		return ws_craw_callback(c, wsi, reason, in, len);

	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: /* TCP connect failed */
		if (c)
			ws_client_failed(c, wsi, in, len);
		return 0;

	case LWS_CALLBACK_RECEIVE: /* servers: lws parses */
		if (!c)
			return -1;
		return ws_conn_rx(c, wsi, in, len);

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!c)
			return 0;
		return ws_conn_writeable(c, wsi);

	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		/* 0: lws echoes the close; 1: just close (it was our echo) */
		return c ? ws_conn_peer_close(c, in, len) : 0;

	case LWS_CALLBACK_CLOSED:
	case LWS_CALLBACK_RAW_CLOSE:
	case LWS_CALLBACK_CLIENT_CLOSED:
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_WSI_DESTROY:
		if (c) {
			/* Inside lws_client_connect_via_info (e.g. socket() failed
			 * with EMFILE) lws reports synchronously: ws_conn_finish
			 * only detaches then, and ws_connect reports the error. */
			if (c->notify || c->in_connect)
				ws_conn_finish(c, 1006, "connection lost");
			else
				ws_conn_free(c);
		}
		return 0;

	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

int ws_ctx_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		    void *in, size_t len)
{
	ws_lwsmem *m;
	int r;

	if (!wsi)
		return 0;
	m = lws_context_user(lws_get_context(wsi));
	/* The frame records "lws is inside a callback for wsi": ws_send_text
	 * then leaves writing to WRITEABLE (no re-entrant lws_write on it). */
	ws_cbframe f = { .up = m->frames, .wsi = wsi };

	m->frames = &f;
	WS_ENTER(m);
	r = ws_dispatch(m, wsi, reason, user, in, len);
	WS_LEAVE(m);
	m->frames = f.up;
	return r;
}


/* lws 4.1 on a foreign libuv loop tears down in two calls: the first
 * lws_context_destroy() closes every wsi and uv handle; once the loop has
 * run their close callbacks, another call frees the context (see lws
 * issues #1969, #2595). Our own idle handle repeats the call while no
 * handle on the loop is still closing, until lws reports the context freed
 * through info.pcontext; then it frees what lws pointed to and closes
 * itself, so the caller only has to keep running the loop. */
static void ws_lwsmem_walk(uv_handle_t *h, void *arg)
{
	ws_lwsmem *m = arg;

	if (h != (uv_handle_t *)&m->idle && uv_is_closing(h))
		m->busy = true;
}

static void ws_lwsmem_free(ws_lwsmem *m)
{
	ws_listener *l;

	while ((l = m->listeners)) {
		m->listeners = l->next;
		free(l);
	}
	free(m);
}

static void ws_lwsmem_closed(uv_handle_t *h)
{
	ws_lwsmem_free(h->data);
}

static void ws_ctx_teardown(ws_ctx *ctx);

/* ws_ctx_destroy was called from inside a callback: do it now, outside. */
static void ws_ctx_deferred(uv_idle_t *h)
{
	ws_lwsmem *m = h->data;

	if (m->ctx)
		ws_ctx_teardown(m->ctx);
}

static void ws_lwsmem_reap(uv_idle_t *h)
{
	ws_lwsmem *m = h->data;

	if (m->lws) {
		m->busy = false;
		uv_walk(h->loop, ws_lwsmem_walk, m);
		if (m->busy)
			return;
		if (++m->ticks < 1000) {
			lws_context_destroy(m->lws);
			if (m->lws)
				return;
		} else {
			/* keep m: lws may still point into it */
			log_err("-", "ws: lws context not freed, giving up (leak)");
			uv_idle_stop(&m->idle);
			uv_close((uv_handle_t *)&m->idle, NULL);
			return;
		}
	}
	uv_idle_stop(&m->idle);
	uv_close((uv_handle_t *)&m->idle, ws_lwsmem_closed);
}

int ws_ctx_mask(ws_ctx *ctx, uint8_t mask[4])
{
	if (ctx->mask_pos + 4 > WS_MASK_POOL) {
		size_t got = 0;

		/* the kernel CSPRNG, fetched in bulk: one syscall per 64 masks */
		while (got < WS_MASK_POOL) {
			ssize_t n = getrandom(ctx->mask_pool + got, WS_MASK_POOL - got, 0);

			if (n < 0 && errno != EINTR)
				return -errno;
			if (n > 0)
				got += (size_t)n;
		}
		ctx->mask_pos = 0;
	}
	memcpy(mask, ctx->mask_pool + ctx->mask_pos, 4);
	ctx->mask_pos += 4;
	return 0;
}

int ws_ctx_new(ws_ctx **out, uv_loop_t *loop, const ws_opts *opts)
{
	struct lws_context_creation_info info;
	struct lws_vhost *vh;
	void *loops[1] = { loop };
	const char *ca;
	ws_lwsmem *m;
	ws_ctx *ctx;

	int ret = 0;

	if (!out || !loop)
		return -EINVAL;
	*out = NULL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->mem = m = calloc(1, sizeof(*m));
	if (!m) {
		free(ctx);
		return -ENOMEM;
	}
	ctx->loop = loop;
	ctx->mask_pos = WS_MASK_POOL; /* empty: the first mask fills it */
	m->ctx = ctx;
	m->loop = loop;
	m->idle.data = m;
	snprintf(m->proto_alias, sizeof(m->proto_alias), "%s-alias", WS_PROTO_NAME);
	for (int i = 0; i < 2; i++) {
		m->protos[i].name = i ? m->proto_alias : WS_PROTO_NAME;
		m->protos[i].callback = ws_ctx_callback;
		m->protos[i].rx_buffer_size = WS_RX_BUFFER;
		/* else lws caps each send(2) at rx_buffer_size: a WS_TX_CHUNK
		 * write would leave the TCP socket 4 KiB at a time */
		m->protos[i].tx_packet_size = WS_TX_CHUNK;
	}
	if (opts)
		ctx->opts = *opts;
	if (ctx->opts.ping_interval_s > 0) {
		/* lws pings a peer silent for this long, drops it after twice */
		int s = ctx->opts.ping_interval_s > 30000 ? 30000 : ctx->opts.ping_interval_s;

		m->idle_policy.secs_since_valid_ping = (uint16_t)s;
		m->idle_policy.secs_since_valid_hangup = (uint16_t)(2 * s);
		ctx->idle_policy = &m->idle_policy;
	}
	if (!ctx->opts.max_message)
		ctx->opts.max_message = 1024 * 1024;
	if (!ctx->opts.max_queue)
		ctx->opts.max_queue = 4 * 1024 * 1024;
	if (ctx->opts.connect_timeout_ms <= 0)
		ctx->opts.connect_timeout_ms = 5000;

	pthread_once(&ws_log_once, ws_log_setup);

	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
		       LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN;
	info.foreign_loops = loops;
	info.user = m;
	info.pcontext = &m->lws;
	info.max_http_header_data = 4096;
	/* Clients and servers on one context share the header-table pool; each
	 * handshake in flight holds one, so cap it well above a burst. */
	info.max_http_header_pool = 1024;
	/* Stage timeouts of lws (connect, handshake) also bound our clients. */
	info.timeout_secs = (ctx->opts.connect_timeout_ms + 999) / 1000;
	/* OpenSSL init (DO_SSL_GLOBAL_INIT on the context) once per process.
	 * lws 4.1's lws_context_init_ssl_library() re-acquires the global
	 * openssl_SSL_CTX_private_data_index on every such init, and
	 * lws_ssl_destroy_client_ctx() finds a vhost's client SSL_CTX refcount
	 * (tcr) through that index: the client SSL_CTX (~720 KB: the CA store)
	 * of every context alive at a later init is never freed. (Upstream
	 * later guarded it with openssl_ex_indexes_acquired.) The mutex makes
	 * a context created on another thread wait until the first init is
	 * done, so its vhost stores its tcr under the final index. Our own
	 * clients no longer use lws's TLS (ws_tls.c), but lws TLS vhosts in
	 * the same process (the tests' TLS servers) still count on this. */
	pthread_mutex_lock(&ws_ssl_mu);
	if (!ws_ssl_inited)
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	ctx->lws = lws_create_context(&info);
	if (ctx->lws)
		ws_ssl_inited = true;
	pthread_mutex_unlock(&ws_ssl_mu);
	m->lws = ctx->lws;
	if (!ctx->lws) {
		log_err("-", "ws: lws_create_context failed");
		ret = -ENOMEM;
		goto out;
	}

	/* One vhost without a listen socket for clients (ws:// and wss://:
	 * lws never does their TLS) and adopted sockets. wss:// clients share
	 * an SSL_CTX made at the first one (ws_tls.c): it holds the whole CA
	 * store (~720 KB, ~0.1 s to load), which ws:// only users (sipbridge)
	 * never need. */
	memset(&info, 0, sizeof(info));
	info.vhost_name = "ws-local";
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.protocols = m->protos;
	info.retry_and_idle_policy = ctx->idle_policy;
	/* System CA store; SSL_CERT_FILE (OpenSSL's usual variable) overrides,
	 * read now as ws.h promises. */
	ca = getenv("SSL_CERT_FILE");
	ctx->ca_file = strdup(ca && *ca ? ca : CA_BUNDLE);
	if (!ctx->ca_file) {
		ret = -ENOMEM;
		goto out;
	}
	vh = lws_create_vhost(ctx->lws, &info);
	if (!vh) {
		log_err("-", "ws: cannot create client vhost");
		ret = -ENOMEM;
		goto out;
	}
	ctx->vh_local = vh;
	*out = ctx;
out:
	if (ret) {
		if (ctx->lws) {
			ws_ctx_destroy(ctx); /* the idle handle finishes lws */
		} else {
			ws_lwsmem_free(m);
			free(ctx->ca_file);
			free(ctx);
		}
	}
	return ret;
}

/* The synchronous part: every close_h runs here, then ctx is freed; lws
 * finishes on the loop (ws_lwsmem_reap). */
static void ws_ctx_teardown(ws_ctx *ctx)
{
	ws_lwsmem *m = ctx->mem;

	WS_ENTER(m); /* a close_h calling ws_ctx_destroy again is a no-op */
	for (ws_conn *c = ctx->conns; c; c = c->next)
		ws_conn_goodbye(c);
	/* lws closes every wsi: CLOSED callbacks run close_h. */
	lws_context_destroy(ctx->lws);
	/* Whatever lws did not report (e.g. never-established) ends here. */
	while (ctx->conns) {
		ws_conn *c = ctx->conns;

		if (c->notify)
			ws_conn_finish(c, 1001, "shutting down");
		else
			ws_conn_free(c);
	}
	WS_LEAVE(m);
	m->ctx = NULL;
	ws_tls_ctx_free(ctx); /* after the conns: each SSL held a reference */
	free(ctx->ca_file);
	free(ctx);
	if (!m->idle_on) {
		uv_idle_init(m->loop, &m->idle);
		m->idle_on = true;
	}
	uv_idle_stop(&m->idle); /* (re)start with the reaper callback */
	uv_idle_start(&m->idle, ws_lwsmem_reap);
}

void ws_ctx_destroy(ws_ctx *ctx)
{
	ws_lwsmem *m;

	if (!ctx || ctx->destroying)
		return;
	ctx->destroying = true;
	m = ctx->mem;
	if (m->depth > 0) {
		/* Called from a ws callback: lws and our own frames below still
		 * use this context; finish from the loop's next iteration. */
		log_debug("-", "ws: context destroy deferred (inside a callback)");
		uv_idle_init(m->loop, &m->idle);
		m->idle_on = true;
		uv_idle_start(&m->idle, ws_ctx_deferred);
		return;
	}
	ws_ctx_teardown(ctx);
}
