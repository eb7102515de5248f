/* ws_client: outgoing ws:// and wss:// connections: URL parsing, custom
 * handshake headers, name lookup, connect+handshake timeout, failure
 * reporting. Both then run in ws_craw.c (lws's raw role, our own
 * handshake and frame parser), wss:// with our TLS below (ws_tls.c). */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "err.h"
#include "log.h"
#include "ws_int.h"

static int ws_url_parse(const char *url, ws_url *u)
{
	const char *p, *hs, *he, *ps;
	size_t hl;

	memset(u, 0, sizeof(*u));
	for (const char *q = url; *q; q++) /* no spaces or controls: they would */
		if ((unsigned char)*q <= 0x20 || *q == 0x7f) /* end up in the request line */
			return -EINVAL;
	if (!strncasecmp(url, "ws://", 5)) {
		p = url + 5;
		u->port = 80;
	} else if (!strncasecmp(url, "wss://", 6)) {
		p = url + 6;
		u->tls = true;
		u->port = 443;
	} else {
		return -EINVAL;
	}
	ps = p + strcspn(p, "/?");
	hs = p;
	if (*hs == '[') { /* [v6]:port */
		he = memchr(hs, ']', (size_t)(ps - hs));
		if (!he)
			return -EINVAL;
		hs++;
		p = he + 1;
	} else {
		he = memchr(hs, ':', (size_t)(ps - hs));
		if (!he)
			he = ps;
		p = he;
	}
	hl = (size_t)(he - hs);
	if (!hl || hl >= sizeof(u->host))
		return -EINVAL;
	memcpy(u->host, hs, hl);
	if (p < ps && *p == ':') {
		char *end;
		long port = strtol(p + 1, &end, 10);

		if (end != ps || port <= 0 || port > 65535)
			return -EINVAL;
		u->port = (int)port;
	} else if (p != ps) {
		return -EINVAL;
	}
	if (*ps == '/')
		snprintf(u->path, sizeof(u->path), "%s", ps);
	else
		snprintf(u->path, sizeof(u->path), "/%s", ps); /* "?q" -> "/?q" */
	if (strlen(ps) + 1 >= sizeof(u->path))
		return -EINVAL;
	/* Host header: IPv6 literals keep their brackets, default ports go. */
	if ((u->tls && u->port == 443) || (!u->tls && u->port == 80))
		snprintf(u->hostport, sizeof(u->hostport), strchr(u->host, ':') ? "[%s]" : "%s",
			 u->host);
	else
		snprintf(u->hostport, sizeof(u->hostport), strchr(u->host, ':') ? "[%s]:%d" : "%s:%d",
			 u->host, u->port);
	return 0;
}

static int ws_copy_headers(ws_conn *c, const char *const *headers)
{
	size_t n = 0;

	if (!headers)
		return 0;
	while (headers[n])
		n++;
	c->headers = calloc(n + 1, sizeof(char *));
	if (!c->headers)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		/* Refuse CR/LF: a header must not smuggle another one. */
		if (strpbrk(headers[i], "\r\n") || !strchr(headers[i], ':'))
			return -EINVAL;
		c->headers[i] = strdup(headers[i]);
		if (!c->headers[i])
			return -ENOMEM;
	}
	return 0;
}

struct ws_dns {
	uv_getaddrinfo_t req;
	ws_conn *c; /* NULL once the conn is gone: the callback just frees */
};

/* Detach a pending name lookup from its conn (called when c is freed). */
void ws_client_release(ws_conn *c)
{
	if (c->dns) {
		c->dns->c = NULL;
		uv_cancel((uv_req_t *)&c->dns->req);
		c->dns = NULL;
	}
	free(c->url);
	c->url = NULL;
}

/* The connect timer, also used (at 0 delay) to end a client closed by
 * ws_close() while connecting: close_h always comes from the loop.
 * The wsi is killed synchronously here (a sul callback services no wsi):
 * a KILL_ASYNC timeout would be overwritten by lws's own stage timeouts
 * as the TCP connect completes, delaying the end to connect_timeout_ms. */
static void ws_client_sul_cb(lws_sorted_usec_list_t *sul)
{
	ws_conn *c = lws_container_of(sul, ws_conn, sul_connect);
	ws_lwsmem *m = c->ctx->mem;

	if (c->state == WS_ST_OPEN)
		return;
	WS_ENTER(m);
	if (!c->closing)
		log_warn(c->log_id, "ws %s: connect timeout after %d ms", c->peer,
			 c->ctx->opts.connect_timeout_ms);
	ws_conn_set_reason(c, 1006, "connect timeout");
	c->closing = true;
	if (c->wsi) /* lws reports CLIENT_CONNECTION_ERROR: close_h */
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_SYNC);
	else /* still resolving */
		ws_conn_finish(c, 1006, "connect timeout");
	WS_LEAVE(m);
}

void ws_client_close_pending(ws_conn *c)
{
	lws_sul_schedule(c->ctx->lws, 0, &c->sul_connect, ws_client_sul_cb, 1);
}

/* Hand the connection to lws; address is numeric. On failure before lws
 * returned, the reason is in c->close_reason. */
static int ws_client_start(ws_conn *c, const char *address)
{
	struct lws_client_connect_info ci;
	ws_url *u = c->url;
	struct lws *wsi;
	int rc;

	/* wss://: our TLS (SNI, certificate and name checks for the URL's
	 * host), not lws's: lws 4.1.6 starts TLS on a raw-role client before
	 * its socket exists (core-net/connect.c), which fails. */
	if (u->tls && !c->tls && (rc = ws_tls_new(c, u->host))) {
		ws_conn_set_reason(c, 1006, rc == -ENOMEM ? "no TLS client context"
							  : "bad TLS host name");
		return rc;
	}
	memset(&ci, 0, sizeof(ci));
	ci.context = c->ctx->lws;
	ci.vhost = c->ctx->vh_local;
	ci.address = address;
	ci.port = u->port;
	ci.path = u->path;
	ci.host = u->hostport;
	ci.ssl_connection = 0; /* TLS, if any, is ws_tls.c's */
	/* the raw role: the upgrade and the frames are ours (ws_craw.c) */
	c->raw = true;
	ci.method = "RAW";
	ci.local_protocol_name = WS_PROTO_NAME;
	ci.opaque_user_data = c;
	ci.pwsi = &c->wsi;
	ci.retry_and_idle_policy = c->ctx->idle_policy;

	c->in_connect = true;
	wsi = lws_client_connect_via_info(&ci);
	c->in_connect = false;
	if (!wsi || c->failed_sync) {
		ws_conn_set_reason(c, 1006, "connect failed");
		if (c->wsi)
			lws_set_opaque_user_data(c->wsi, NULL);
		c->wsi = NULL;
		return -ECONNREFUSED;
	}
	c->wsi = wsi;
	return 0;
}

static void ws_client_dns_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	ws_dns *d = lws_container_of(req, ws_dns, req);
	ws_conn *c = d->c;
	const struct addrinfo *ai, *pick = NULL;
	ws_lwsmem *m;
	char ip[INET6_ADDRSTRLEN] = "";
	char reason[WS_CLOSE_REASON_MAX + 1];

	free(d);
	if (!c) {
		uv_freeaddrinfo(res);
		return;
	}
	c->dns = NULL;
	m = c->ctx->mem;
	WS_ENTER(m);
	/* Prefer IPv4: containers and hosts often lack an IPv6 route. */
	for (ai = status ? NULL : res; ai; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			pick = ai;
			break;
		}
		if (!pick && ai->ai_family == AF_INET6)
			pick = ai;
	}
	if (pick && pick->ai_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)pick->ai_addr)->sin_addr, ip, sizeof(ip));
	else if (pick)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)pick->ai_addr)->sin6_addr, ip, sizeof(ip));
	uv_freeaddrinfo(res);
	if (!ip[0]) {
		snprintf(reason, sizeof(reason), "cannot resolve %.60s: %s", c->url->host,
			 status ? uv_strerror(status) : "no address");
		log_warn(c->log_id, "ws %s: %s", c->peer, reason);
		ws_conn_finish(c, 1006, reason);
	} else if (ws_client_start(c, ip)) {
		log_warn(c->log_id, "ws %s: connect failed: %s", c->peer, c->close_reason);
		ws_conn_finish(c, 1006, "connect failed");
	}
	WS_LEAVE(m);
}

static int ws_client_resolve(ws_conn *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC };
	char port[8];
	ws_dns *d = calloc(1, sizeof(*d));
	int rc;

	if (!d)
		return -ENOMEM;
	snprintf(port, sizeof(port), "%d", c->url->port);
	d->c = c;
	rc = uv_getaddrinfo(c->ctx->loop, &d->req, ws_client_dns_cb, c->url->host, port, &hints);
	if (rc) {
		free(d);
		log_err("-", "ws: uv_getaddrinfo: %s", uv_strerror(rc));
		return -EAGAIN;
	}
	c->dns = d;
	return 0;
}

static bool ws_is_numeric(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

void ws_client_failed(ws_conn *c, struct lws *wsi, const char *in, size_t len)
{
	char reason[WS_CLOSE_REASON_MAX + 1];
	unsigned int st = lws_http_client_http_response(wsi);
	int n = in ? (int)len : 0;

	if (n > 80)
		n = 80;
	/* When the server answered with a status, put it first: "HTTP 403 …" */
	if (st && st != 101)
		snprintf(reason, sizeof(reason), "HTTP %u: %.*s", st, n, in ? in : "");
	else
		snprintf(reason, sizeof(reason), "%.*s", n, in ? in : "connect failed");
	if (!c->in_connect && !c->closing) /* not when we dropped it ourselves */
		log_warn(c->log_id, "ws %s: connection failed: %s", c->peer, reason);
	ws_conn_finish(c, 1006, reason);
}

void ws_client_established(ws_conn *c, struct lws *wsi)
{
	lws_sul_cancel(&c->sul_connect);
	/* URL and handshake headers are done with: keep calls small */
	free(c->url);
	c->url = NULL;
	if (c->headers) {
		for (char **h = c->headers; *h; h++)
			free(*h);
		free(c->headers);
		c->headers = NULL;
	}
	c->state = WS_ST_OPEN;
	ws_conn_fill_peer(c, wsi);
	log_debug(c->log_id, "ws %s: connected", c->peer);
	if (!ws_txq_empty(&c->tx) || c->closing)
		lws_callback_on_writable(wsi);
	if (!c->closing && !c->ctx->destroying && c->h.open_h)
		c->h.open_h(c, c->arg);
}

/* Names are resolved with uv_getaddrinfo (libuv's thread pool): lws 4.1
 * (built without async DNS) would block the whole loop in getaddrinfo. */
int ws_connect(ws_ctx *ctx, const char *url, const char *const *headers,
	       const ws_handlers *h, void *arg, ws_conn **out)
{
	ws_conn *c = NULL;
	int ret = 0;

	if (out)
		*out = NULL;
	if (!ctx || !url)
		return -EINVAL;
	if (ctx->destroying)
		return -ESHUTDOWN;
	c = ws_conn_new(ctx, true);
	if (!c)
		return -ENOMEM;
	c->url = malloc(sizeof(*c->url));
	if (!c->url) {
		ret = -ENOMEM;
		goto out;
	}
	ret = ws_url_parse(url, c->url);
	if (ret) {
		log_err("-", "ws: bad url %.*s", (int)strcspn(url, "?"), url);
		goto out;
	}
	ret = ws_copy_headers(c, headers);
	if (ret)
		goto out;
	ws_set_handlers(c, h, arg);
	snprintf(c->peer, sizeof(c->peer), "%.50s:%d", c->url->host, c->url->port);

	if (ws_is_numeric(c->url->host))
		ret = ws_client_start(c, c->url->host);
	else
		ret = ws_client_resolve(c);
	if (ret) {
		/* never the query: it may carry a token */
		log_warn("-", "ws: connect to %.*s failed: %s", (int)strcspn(url, "?"), url,
			 c->close_code ? c->close_reason : "out of resources");
		goto out;
	}
	c->notify = true;
	lws_sul_schedule(ctx->lws, 0, &c->sul_connect, ws_client_sul_cb,
			 (lws_usec_t)ctx->opts.connect_timeout_ms * LWS_US_PER_MS);
	if (out)
		*out = c;
	c = NULL;
out:
	if (c)
		ws_conn_free(c);
	return ret;
}
