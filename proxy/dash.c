/* dash: lifetime of the dashboard client and the request bookkeeping shared
 * by the AI fetch, tool calls and durable POSTs (see dash.h). */
#include "dash_int.h"
#include "err.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *xstrdup(const char *s) { return s ? strdup(s) : NULL; }

int dash_new(dash **out, uv_loop_t *loop, const dash_opts *o)
{
	if (!out || !loop || !o)
		return -EINVAL;
	dash *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	int rc = -ENOMEM;
	d->loop = loop;
	d->ai_timeout_ms = o->ai_timeout_ms > 0 ? o->ai_timeout_ms : 3000;
	d->tool_timeout_ms = o->tool_timeout_ms > 0 ? o->tool_timeout_ms : 8000;
	d->retry_timeout_ms = o->retry_timeout_ms > 0 ? o->retry_timeout_ms : 15000;
	d->retry_min_ms = o->retry_min_ms > 0 ? o->retry_min_ms : 1000;
	d->retry_max_ms = o->retry_max_ms > 0 ? o->retry_max_ms : 60000;
	if (d->retry_max_ms < d->retry_min_ms)
		d->retry_max_ms = d->retry_min_ms;
	const char *base = o->base_url && *o->base_url ? o->base_url : "http://localhost:3000";
	if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0) {
		log_err(NULL, "dash: DASHBOARD_URL must start with http:// or https://");
		rc = -EINVAL;
		goto fail;
	}
	if (!(d->base = strdup(base)))
		goto fail;
	size_t bl = strlen(d->base);
	while (bl > 0 && d->base[bl - 1] == '/')
		d->base[--bl] = '\0';
	d->token = o->api_token && *o->api_token ? strdup(o->api_token) : NULL;
	d->def_instr = xstrdup(o->default_instructions && *o->default_instructions
				       ? o->default_instructions
				       : "You are the friendly phone assistant of a restaurant. "
					 "Help callers with orders, reservations and questions.");
	d->def_voice = xstrdup(o->default_voice && *o->default_voice ? o->default_voice : "alloy");
	if (!d->def_instr || !d->def_voice)
		goto fail;
	if ((rc = hc_new(&d->http, loop)) < 0)
		goto fail;
	spool *sp = NULL;
	const char *dir = o->spool_dir && *o->spool_dir ? o->spool_dir : "./spool";
	int src = spool_new(&sp, dir);
	if (src < 0) {
		/* Still serve calls; deliveries then only live in memory. */
		log_err(NULL, "dash: SPOOL_DIR %s unusable (%s): undelivered orders will NOT survive a restart",
			dir, strerror(-src));
	} else {
		d->sref = calloc(1, sizeof(*d->sref));
		if (!d->sref) {
			spool_destroy(sp);
			goto fail;
		}
		d->sref->sp = sp;
		d->sref->refs = 1;
	}
	uv_timer_init(loop, &d->imm);
	d->imm.data = d;
	log_info(NULL, "dash: dashboard %s, journal %s", d->base, d->sref ? dir : "(none)");
	*out = d;
	return 0;
fail:
	if (d->http)
		hc_destroy(d->http);
	free(d->base);
	free(d->token);
	free(d->def_instr);
	free(d->def_voice);
	free(d);
	return rc;
}

static void dash_freed(uv_handle_t *h) { free(h->data); }

void dash_destroy(dash *d)
{
	if (!d)
		return;
	while (d->reqs) {
		dash_req *r = d->reqs;
		/* r is the head and r->d == d, so unlinking advances d->reqs: the
		 * analyzer assumes r->d != d and reports a use after free. */
		dash_req_unlink(r); /* NOLINT(clang-analyzer-unix.Malloc) */
		dash_req_free(r);
	}
	dash_posts_destroy(d); /* journaled entries stay on disk */
	hc_destroy(d->http);
	if (d->sref && --d->sref->refs == 0) {
		spool_destroy(d->sref->sp);
		free(d->sref);
	}
	free(d->base);
	free(d->token);
	free(d->def_instr);
	free(d->def_voice);
	uv_timer_stop(&d->imm);
	uv_close((uv_handle_t *)&d->imm, dash_freed);
}

unsigned dash_spooled(const dash *d) { return d ? d->spooled : 0; }

dash_req *dash_req_new(dash *d, int type, const char *call_sid, const char *what)
{
	dash_req *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->d = d;
	r->type = type;
	r->call_sid = strdup(call_sid && *call_sid ? call_sid : "-");
	r->what = strdup(what ? what : "");
	if (!r->call_sid || !r->what) {
		free(r->call_sid);
		free(r->what);
		free(r);
		return NULL;
	}
	r->next = d->reqs;
	if (d->reqs)
		d->reqs->prev = r;
	d->reqs = r;
	return r;
}

void dash_req_unlink(dash_req *r)
{
	dash *d = r->d;
	if (r->prev)
		r->prev->next = r->next;
	else if (d->reqs == r)
		d->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

void dash_req_free(dash_req *r)
{
	if (!r)
		return;
	if (r->http)
		hc_cancel(r->http);
	if (r->dp)
		dash_post_detach(r->dp, r);
	free(r->call_sid);
	free(r->what);
	free(r->imm_output);
	dash_ai_free(r->imm_ai);
	free(r);
}

void dash_req_tool_done(dash_req *r, const char *output)
{
	dash_req_unlink(r);
	r->http = NULL;
	if (r->dp)
		dash_post_detach(r->dp, r);
	r->dp = NULL;
	if (r->tool_cb)
		r->tool_cb(output, r->arg);
	dash_req_free(r);
}

void dash_cancel(dash_req *r)
{
	if (!r)
		return;
	dash_req_unlink(r);
	dash_req_free(r);
}

static void on_imm(uv_timer_t *t)
{
	dash *d = t->data;
	d->imm_armed = false;
	/* A callback may add new deferred requests: restart the scan each time. */
	for (;;) {
		dash_req *r;
		/* Each pass unlinks (r->d == d) and frees the r it found: the analyzer
		 * assumes r->d != d and reports a use after free. */
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
		for (r = d->reqs; r && !r->imm_output && !r->imm_ai; r = r->next)
			;
		if (!r)
			break;
		dash_req_unlink(r);
		if (r->imm_ai) {
			dash_ai *ai = r->imm_ai;
			r->imm_ai = NULL;
			if (r->ai_cb)
				r->ai_cb(ai, r->arg);
			else
				dash_ai_free(ai);
		} else if (r->tool_cb) {
			r->tool_cb(r->imm_output, r->arg);
		}
		dash_req_free(r);
	}
}

void dash_req_defer(dash_req *r)
{
	dash *d = r->d;
	if (!d->imm_armed) {
		d->imm_armed = true;
		uv_timer_start(&d->imm, on_imm, 0, 0);
	}
}

char *dash_url(const dash *d, const char *path, const char *query)
{
	char *u = NULL;
	if (asprintf(&u, "%s%s%s%s", d->base, path, query ? "?" : "", query ? query : "") < 0)
		return NULL;
	return u;
}

void dash_hdrs_make(const dash *d, const char *idem_key, dash_hdrs *hb)
{
	size_t i = 0;
	hb->v[i++] = "Content-Type: application/json";
	hb->v[i++] = "Accept: application/json";
	if (idem_key) {
		snprintf(hb->key, sizeof(hb->key), "Idempotency-Key: %s", idem_key);
		hb->v[i++] = hb->key;
	}
	if (d->token) {
		snprintf(hb->auth, sizeof(hb->auth), "Authorization: Bearer %s", d->token);
		hb->v[i++] = hb->auth;
	}
	hb->v[i] = NULL;
}

void dash_key_clean(char *k)
{
	for (; k && *k; k++)
		if (*k < 0x21 || *k > 0x7e)
			*k = '_';
}

const char *dash_err_str(int err)
{
	switch (err) {
	case -ECONNREFUSED: return "connection refused";
	case -ETIMEDOUT: return "timeout";
	case -EHOSTUNREACH: return "host not found";
	case -ECONNRESET: return "connection closed without an answer";
	case -EMSGSIZE: return "answer too large";
	case -EINVAL: return "bad URL";
	default: return "network error";
	}
}

bool dash_status_retryable(const hc_resp *r)
{
	if (r->err)
		return r->err != -EMSGSIZE && r->err != -EINVAL;
	/* 409: "same Idempotency-Key still in progress" (docs/dashboard-api.md) */
	return r->status >= 500 || r->status == 408 || r->status == 409 || r->status == 429;
}

char *dash_error_json(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *j = json_pack("{s:s}", "error", msg);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return s ? s : strdup("{\"error\":\"internal error\"}");
}
