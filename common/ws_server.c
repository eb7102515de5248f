/* ws_server: listening vhosts, adopted sockets and the accept decision on
 * an upgrade request (ws_request accessors). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include "err.h"
#include "log.h"
#include "ws_int.h"

#define WS_HDR_MAX 2048

typedef struct ws_hval {
	struct ws_hval *next;
	char v[];
} ws_hval;

struct ws_request {
	struct lws *wsi;
	char path[1024];
	char query[1024];
	ws_hval *vals; /* header values handed out, freed after accept_h */
};

const char *ws_request_path(const ws_request *rq)
{
	return rq ? rq->path : "";
}

const char *ws_request_query(const ws_request *rq)
{
	return rq ? rq->query : "";
}

static const char *ws_request_keep(const ws_request *rq, const char *v, size_t n)
{
	ws_request *w = (ws_request *)rq; /* the cache is not observable state */
	ws_hval *hv = malloc(sizeof(*hv) + n + 1);

	if (!hv)
		return NULL;
	memcpy(hv->v, v, n);
	hv->v[n] = '\0';
	hv->next = w->vals;
	w->vals = hv;
	return hv->v;
}

const char *ws_request_header(const ws_request *rq, const char *name)
{
	char key[128], buf[WS_HDR_MAX];
	size_t kl;
	int n;

	if (!rq || !name || !*name)
		return NULL;
	kl = strlen(name);
	if (kl + 2 > sizeof(key))
		return NULL;
	for (size_t i = 0; i < kl; i++)
		key[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
	key[kl++] = ':';
	key[kl] = '\0';

	/* Headers lws knows are parsed into tokens named "name:". */
	for (int t = 0; t < WSI_TOKEN_COUNT; t++) {
		const char *tn = (const char *)lws_token_to_string((enum lws_token_indexes)t);

		if (!tn || strcmp(tn, key))
			continue;
		if (lws_hdr_total_length(rq->wsi, (enum lws_token_indexes)t) <= 0)
			return NULL;
		n = lws_hdr_copy(rq->wsi, buf, sizeof(buf), (enum lws_token_indexes)t);
		return n < 0 ? NULL : ws_request_keep(rq, buf, (size_t)n);
	}
	/* Others (X-Twilio-Signature, ...) are kept as custom headers. */
	n = lws_hdr_custom_copy(rq->wsi, buf, sizeof(buf), key, (int)kl);
	if (n < 0)
		return NULL;
	return ws_request_keep(rq, buf, (size_t)n);
}

static void ws_request_fill(ws_request *rq, struct lws *wsi)
{
	int n;

	rq->wsi = wsi;
	if (lws_hdr_copy(wsi, rq->path, sizeof(rq->path), WSI_TOKEN_GET_URI) < 0)
		rq->path[0] = '\0';
	/* lws splits (and url-decodes) the query into '&'-separated fragments. */
	rq->query[0] = '\0';
	for (int i = 0, off = 0; off < (int)sizeof(rq->query) - 1; i++) {
		n = lws_hdr_copy_fragment(wsi, rq->query + off + (i ? 1 : 0),
					  (int)sizeof(rq->query) - off - (i ? 1 : 0),
					  WSI_TOKEN_HTTP_URI_ARGS, i);
		if (n <= 0) {
			rq->query[off] = '\0';
			break;
		}
		if (i)
			rq->query[off] = '&';
		off += n + (i ? 1 : 0);
	}
}

/* lws refuses an upgrade offering only subprotocols it has no handler
 * named for. We serve any: the alias handler takes the name of the first
 * one offered (lws matches and echoes it during this same upgrade). */
static void ws_server_alias_protocol(ws_ctx *ctx, struct lws *wsi)
{
	char buf[256], *tok, *save = NULL;

	if (lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL) <= 0 ||
	    lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_PROTOCOL) <= 0)
		return;
	for (tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		if (!strcmp(tok, WS_PROTO_NAME))
			return;
		if (strlen(tok) < sizeof(ctx->mem->proto_alias)) {
			memcpy(ctx->mem->proto_alias, tok, strlen(tok) + 1);
			return;
		}
	}
}

/* HTTP_CONFIRM_UPGRADE: ask accept_h; refuse with an HTTP status (>0 return
 * tells lws we answered), accept by binding a ws_conn to the wsi. */
int ws_server_confirm_upgrade(ws_ctx *ctx, struct lws *wsi)
{
	ws_conn *c = lws_get_opaque_user_data(wsi);
	ws_accept_h *ah;
	ws_request rq;
	void *arg;
	int st;

	if (ctx->destroying)
		return -1;
	if (!c) {
		ws_listener *l = lws_vhost_user(lws_get_vhost(wsi));

		if (!l || !l->ah)
			return -1;
		c = ws_conn_new(ctx, false);
		if (!c)
			return -1;
		c->wsi = wsi;
		c->ah = l->ah;
		c->ah_arg = l->arg;
		lws_set_opaque_user_data(wsi, c);
	}
	ah = c->ah;
	arg = c->ah_arg;
	ws_conn_fill_peer(c, wsi);
	memset(&rq, 0, sizeof(rq));
	ws_request_fill(&rq, wsi);
	st = ah ? ah(c, &rq, arg) : 404;
	while (rq.vals) {
		ws_hval *hv = rq.vals;

		rq.vals = hv->next;
		free(hv);
	}
	if (st == 0) {
		log_debug(c->log_id, "ws %s: accepted upgrade %s", c->peer, rq.path);
		c->notify = true; /* from here on close_h is owed */
		ws_server_alias_protocol(ctx, wsi);
		return 0;
	}
	if (st < 400 || st > 599)
		st = 403;
	log_info(c->log_id, "ws %s: upgrade %s refused with %d", c->peer, rq.path, st);
	ws_conn_free(c); /* clears the wsi's pointer */
	if (lws_return_http_status(wsi, (unsigned int)st, NULL))
		return -1;
	return 1;
}

static bool ws_is_ipv4(const char *addr)
{
	struct in_addr a;

	return addr && inet_pton(AF_INET, addr, &a) == 1;
}

int ws_listen(ws_ctx *ctx, const char *addr, int port, ws_accept_h *ah, void *arg, int *bound)
{
	struct lws_context_creation_info info;
	ws_listener *l;

	if (!ctx || !ah || port < 0 || port > 65535 || ctx->destroying)
		return -EINVAL;
	if (addr && strlen(addr) >= sizeof(l->iface))
		return -EINVAL;
	/* lws would silently share one listen socket between vhosts of a
	 * context on the same port (name-based virtual hosting): refuse. */
	for (l = ctx->mem->listeners; l && port; l = l->next)
		if (lws_get_vhost_listen_port(l->vh) == port)
			return -EADDRINUSE;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->ah = ah;
	l->arg = arg;
	snprintf(l->name, sizeof(l->name), "ws-listen-%u", ++ctx->nvhosts);

	memset(&info, 0, sizeof(info));
	info.vhost_name = l->name;
	info.port = port;
	info.protocols = ctx->mem->protos;
	info.retry_and_idle_policy = ctx->idle_policy;
	info.user = l;
	if (addr && *addr && strcmp(addr, "0.0.0.0") && strcmp(addr, "::")) {
		snprintf(l->iface, sizeof(l->iface), "%s", addr);
		info.iface = l->iface;
	}
	if (ws_is_ipv4(addr))
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	l->vh = lws_create_vhost(ctx->lws, &info);
	if (!l->vh) {
		log_err("-", "ws: cannot listen on %s:%d", addr ? addr : "*", port);
		free(l);
		return -EADDRINUSE;
	}
	l->next = ctx->mem->listeners;
	ctx->mem->listeners = l;
	if (bound)
		*bound = lws_get_vhost_listen_port(l->vh);
	log_info("-", "ws: listening on %s:%d", addr ? addr : "*",
		 lws_get_vhost_listen_port(l->vh));
	return 0;
}

int ws_adopt(ws_ctx *ctx, int fd, ws_accept_h *ah, void *arg)
{
	struct lws *wsi;
	ws_conn *c;

	if (!ctx || fd < 0 || !ah)
		return -EINVAL;
	if (ctx->destroying) {
		close(fd);
		return -ESHUTDOWN;
	}
	/* lws sets no socket options on adopted sockets: without TCP_NODELAY
	 * a media event waits (Nagle) for the ACK of the one before, which
	 * the caller delays until its next 20 ms frame. Not fatal: a unix
	 * socket or a test pipe has no Nagle to turn off. */
	{
		int one = 1;

		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	wsi = lws_adopt_socket_vhost(ctx->vh_local, fd);
	if (!wsi) /* lws closed the fd */
		return -ENOMEM;
	c = ws_conn_new(ctx, false);
	if (!c) {
		lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
		return -ENOMEM;
	}
	c->wsi = wsi;
	c->ah = ah;
	c->ah_arg = arg;
	lws_set_opaque_user_data(wsi, c);
	return 0;
}
