/* vhttp: /, /health and the /incoming-call webhook on libmicrohttpd; see vhttp.h. */
#include "vhttp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <microhttpd.h>

#include "form.h"
#include "log.h"
#include "tsig.h"
#include "twiml.h"

#define BODY_MAX 16384

struct vhttp {
	vp *v;
	struct MHD_Daemon *d;
};

typedef struct req {
	char *uri;  /* raw request target with its query, as sent */
	char body[BODY_MAX + 1];
	size_t len;
	bool too_big;
	bool seen; /* the first call carries only the headers */
} req;

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
	req *r = calloc(1, sizeof(*r));

	(void)cls;
	(void)con;
	if (r)
		r->uri = strdup(uri ? uri : "/");
	return r;
}

static void on_done(void *cls, struct MHD_Connection *con, void **con_cls,
		    enum MHD_RequestTerminationCode tc)
{
	req *r = *con_cls;

	(void)cls;
	(void)con;
	(void)tc;
	if (r) {
		free(r->uri);
		free(r);
	}
	*con_cls = NULL;
}

static enum MHD_Result reply(struct MHD_Connection *con, unsigned status, const char *ctype,
			     const char *body)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(con, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result health(vhttp *h, struct MHD_Connection *con)
{
	vp *v = h->v;
	char buf[1536];

	snprintf(buf, sizeof(buf),
		 "{\"status\":\"%s\",\"service\":\"voiceproxy\",\"version\":\"%s\",\"live_calls\":%u,"
		 "\"max_calls\":%u,\"calls_total\":%lu,\"refused_auth\":%lu,\"refused_full\":%lu,"
		 "\"bad_streams\":%lu,\"openai_failures\":%lu,\"bad_openai_events\":%lu,"
		 "\"audio_dropped\":%lu,\"webhook_refused\":%lu,\"dropped_connections\":%lu,"
		 "\"spooled\":%u,\"journal_failures\":%u,\"fallbacks\":%lu}\n",
		 v->stopping ? "stopping" : "ok", VP_VERSION, atomic_load(&v->live), v->conf.max_calls,
		 atomic_load(&v->st.calls_total), atomic_load(&v->st.refused_auth),
		 atomic_load(&v->st.refused_full), atomic_load(&v->st.bad_stream),
		 atomic_load(&v->st.openai_failures), atomic_load(&v->st.bad_openai),
		 atomic_load(&v->st.audio_dropped), atomic_load(&v->st.webhook_refused),
		 atomic_load(&v->st.acc_dropped),
		 atomic_load(&v->spooled), atomic_load(&v->journal_failures),
		 atomic_load(&v->st.fallbacks));
	return reply(con, MHD_HTTP_OK, "application/json", buf);
}

static const char *hdr(struct MHD_Connection *con, const char *name)
{
	return MHD_lookup_connection_value(con, MHD_HEADER_KIND, name);
}

/* The URL Twilio requested, as far as a reverse proxy lets us know it. */
static void public_url(vhttp *h, struct MHD_Connection *con, const char *uri, char *out, size_t cap)
{
	const char *proto = hdr(con, "X-Forwarded-Proto");
	const char *host = h->v->conf.public_host;
	size_t pl;

	if (!host || !*host)
		host = hdr(con, "X-Forwarded-Host");
	if (!host || !*host)
		host = hdr(con, "Host");
	if (!host)
		host = "";
	if (!proto || !*proto)
		proto = "https";
	pl = strcspn(proto, ", ");
	snprintf(out, cap, "%.*s://%s%s", (int)pl, proto, host, uri);
}

static enum MHD_Result webhook(vhttp *h, struct MHD_Connection *con, const char *method, req *r)
{
	vp *v = h->v;
	const char *q = strchr(r->uri, '?');
	form *body = NULL, *query = NULL;
	const char *host, *rid, *ctype;
	char url[4096], *xml = NULL;
	enum MHD_Result ret;
	int n;

	body = calloc(1, sizeof(*body));
	query = calloc(1, sizeof(*query));
	xml = malloc(8192);
	if (!body || !query || !xml) {
		ret = reply(con, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "out of memory\n");
		goto out;
	}
	if (q && form_parse(query, q + 1, strlen(q + 1)) < 0) {
		ret = reply(con, MHD_HTTP_BAD_REQUEST, "text/plain", "bad query string\n");
		goto out;
	}
	ctype = hdr(con, "Content-Type");
	if (!strcmp(method, "POST") && ctype &&
	    !strncasecmp(ctype, "application/x-www-form-urlencoded", 33) &&
	    form_parse(body, r->body, r->len) < 0) {
		ret = reply(con, MHD_HTTP_BAD_REQUEST, "text/plain", "bad form body\n");
		goto out;
	}
	if (v->conf.twilio_token && *v->conf.twilio_token) {
		const char *sig = hdr(con, "X-Twilio-Signature");
		public_url(h, con, r->uri, url, sizeof(url));
		if (!tsig_check(v->conf.twilio_token, url, strcmp(method, "POST") ? NULL : body, sig)) {
			atomic_fetch_add(&v->st.webhook_refused, 1);
			log_warn("-", "webhook refused (403): %s X-Twilio-Signature for %s",
				 sig ? "invalid" : "no", url);
			ret = reply(con, MHD_HTTP_FORBIDDEN, "text/plain", "invalid Twilio signature\n");
			goto out;
		}
	}
	host = v->conf.public_host && *v->conf.public_host ? v->conf.public_host : hdr(con, "X-Forwarded-Host");
	if (!host || !*host)
		host = hdr(con, "Host");
	if (!host || !*host) {
		ret = reply(con, MHD_HTTP_BAD_REQUEST, "text/plain", "no Host and no PUBLIC_HOST\n");
		goto out;
	}
	rid = form_get(query, "restaurantId");
	if (!rid || !*rid)
		rid = v->conf.restaurant_id;
	{
		const form *src = !strcmp(method, "POST") ? body : query;
		twiml_param p[] = {
			{ "From", form_get(src, "From") },
			{ "To", form_get(src, "To") },
			{ "CallSid", form_get(src, "CallSid") },
			{ "restaurantId", rid },
		};
		n = twiml_stream(xml, 8192, host, p, sizeof(p) / sizeof(p[0]));
		log_info(form_get(src, "CallSid") ? form_get(src, "CallSid") : "-",
			 "incoming call webhook (%s): streaming to wss://%s/media-stream", method, host);
	}
	if (n < 0)
		ret = reply(con, MHD_HTTP_BAD_REQUEST, "text/plain", "parameters too long\n");
	else
		ret = reply(con, MHD_HTTP_OK, "text/xml", xml);
out:
	free(body);
	free(query);
	free(xml);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *con, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_data_size, void **con_cls)
{
	vhttp *h = cls;
	req *r = *con_cls;

	(void)version;
	if (!r)
		return MHD_NO;
	if (!r->seen) {
		r->seen = true;
		return MHD_YES;
	}
	if (*upload_data_size) { /* accumulate the body, bounded */
		if (r->len + *upload_data_size > BODY_MAX)
			r->too_big = true;
		else
			memcpy(r->body + r->len, upload_data, *upload_data_size);
		if (!r->too_big)
			r->len += *upload_data_size;
		*upload_data_size = 0;
		return MHD_YES;
	}
	r->body[r->len] = '\0';
	if (r->too_big)
		return reply(con, MHD_HTTP_CONTENT_TOO_LARGE, "text/plain", "body too large\n");
	if (!strcmp(url, "/incoming-call")) {
		if (strcmp(method, "GET") && strcmp(method, "POST"))
			return reply(con, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "GET or POST\n");
		return webhook(h, con, method, r);
	}
	if (!strcmp(url, "/") || !strcmp(url, "/health")) {
		if (strcmp(method, "GET") && strcmp(method, "HEAD"))
			return reply(con, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "GET\n");
		return health(h, con);
	}
	return reply(con, MHD_HTTP_NOT_FOUND, "application/json", "{\"error\":\"not found\"}\n");
}

int vhttp_start(vhttp **out, vp *v)
{
	vhttp *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->v = v;
	h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC |
					MHD_USE_POLL,
				0, NULL, NULL, handler, h, MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
				MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned int)15, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)512,
				MHD_OPTION_END);
	if (!h->d) {
		free(h);
		return -EIO;
	}
	*out = h;
	return 0;
}

void vhttp_stop(vhttp *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}

int vhttp_add_connection(vhttp *h, int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	if (!h) {
		close(fd);
		return -ENOTCONN;
	}
	return MHD_add_connection(h->d, fd, addr, addrlen) == MHD_YES ? 0 : -EIO;
}
