/* dash_ai: GET /api/ai -> the per-call agent set-up, or the defaults with
 * the reason. dash_ai_parse is pure (fuzzable): the answer is hostile. */
#include "dash_int.h"
#include "err.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AI_MAX_INSTR (256 * 1024)

void dash_ai_free(dash_ai *ai)
{
	if (!ai)
		return;
	free(ai->instructions);
	json_decref(ai->tools);
	json_decref(ai->endpoints);
	free(ai->voice);
	free(ai->greeting);
	json_decref(ai->context);
	free(ai->source);
	free(ai);
}

dash_ai *dash_ai_defaults(const char *instr, const char *voice, const char *why)
{
	dash_ai *ai = calloc(1, sizeof(*ai));
	if (!ai)
		return NULL;
	ai->instructions = strdup(instr);
	ai->voice = strdup(voice);
	ai->tools = json_array();
	ai->endpoints = json_object();
	ai->source = strdup(why);
	if (!ai->instructions || !ai->voice || !ai->tools || !ai->endpoints || !ai->source) {
		dash_ai_free(ai);
		return NULL;
	}
	return ai;
}

static bool name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return true;
}

static const char *str_field(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s && *s ? s : NULL;
}

/* One tool as the model must see it: type, name, description, parameters.
 * Accepts the Chat Completions shape {"type":"function","function":{…}} too.
 * Returns NULL (skipped) when unusable; *endpoint gets a valid override. */
static json_t *tool_clean(json_t *t, const char **endpoint)
{
	*endpoint = NULL;
	if (!json_is_object(t))
		return NULL;
	json_t *fn = json_object_get(t, "function");
	json_t *src = json_is_object(fn) ? fn : t;
	const char *type = str_field(t, "type");
	if (type && strcmp(type, "function") != 0)
		return NULL;
	const char *name = str_field(src, "name");
	if (!name || !name_ok(name, 64))
		return NULL;
	const char *ep = str_field(t, "endpoint");
	if (!ep)
		ep = str_field(src, "endpoint");
	if (ep && spool_path_ok(ep))
		*endpoint = ep;
	json_t *params = json_object_get(src, "parameters");
	json_t *out = json_pack("{s:s,s:s}", "type", "function", "name", name);
	if (!out)
		return NULL;
	const char *desc = str_field(src, "description");
	if (desc)
		json_object_set_new(out, "description", json_string(desc));
	if (json_is_object(params))
		json_object_set(out, "parameters", params);
	else
		json_object_set_new(out, "parameters",
				    json_pack("{s:s,s:{}}", "type", "object", "properties"));
	return out;
}

int dash_ai_parse(const char *buf, size_t len, const char *def_instr, const char *def_voice,
		  dash_ai **out)
{
	char why[160];
	dash_ai *ai = NULL;
	json_t *j = buf && len ? json_loadb(buf, len, 0, NULL) : NULL;
	if (!json_is_object(j)) {
		snprintf(why, sizeof(why), "defaults: dashboard answer is %s",
			 j ? "not a JSON object" : "not JSON");
		goto invalid;
	}
	const char *instr = str_field(j, "instructions");
	if (!instr)
		instr = str_field(j, "systemPrompt");
	if (instr && strlen(instr) > AI_MAX_INSTR)
		instr = NULL;
	const char *voice = str_field(j, "voice");
	if (voice && !name_ok(voice, 32))
		voice = NULL;
	ai = dash_ai_defaults(instr ? instr : def_instr, voice ? voice : def_voice,
			      instr ? "dashboard" : "dashboard (no instructions: defaults used)");
	if (!ai)
		goto nomem;
	json_t *tools = json_object_get(j, "tools"), *t;
	size_t i;
	json_array_foreach(tools, i, t) {
		const char *ep;
		if (json_array_size(ai->tools) >= DASH_MAX_TOOLS)
			break;
		json_t *c = tool_clean(t, &ep);
		if (!c)
			continue;
		const char *nm = json_string_value(json_object_get(c, "name"));
		bool dup = false;
		json_t *o;
		size_t k;
		json_array_foreach(ai->tools, k, o)
			dup = dup || strcmp(json_string_value(json_object_get(o, "name")), nm) == 0;
		if (!dup) {
			if (ep)
				json_object_set_new(ai->endpoints, nm, json_string(ep));
			json_array_append(ai->tools, c);
		}
		json_decref(c);
	}
	const char *greet = str_field(j, "greeting");
	if (greet && strlen(greet) <= 4096 && !(ai->greeting = strdup(greet)))
		goto nomem;
	json_t *ctx = json_object_get(j, "context");
	if (json_is_object(ctx))
		ai->context = json_incref(ctx);
	json_decref(j);
	*out = ai;
	return 0;
nomem:
	snprintf(why, sizeof(why), "defaults: out of memory");
	dash_ai_free(ai);
invalid:
	json_decref(j);
	*out = dash_ai_defaults(def_instr, def_voice, why);
	return -EBADMSG;
}

int dash_urlencode(const char *s, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		bool keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || strchr("-._~", *p);
		if (o + (keep ? 1 : 3) + 1 > cap)
			return -ENOSPC;
		if (keep) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (cap == 0)
		return -ENOSPC;
	out[o] = '\0';
	return (int)o;
}

static void ai_answered(const hc_resp *resp, void *arg)
{
	dash_req *r = arg;
	dash *d = r->d;
	dash_ai *ai = NULL;
	char why[160];
	r->http = NULL;
	dash_req_unlink(r);
	if (resp->err) {
		snprintf(why, sizeof(why), "defaults: dashboard unreachable (%s)", dash_err_str(resp->err));
		ai = dash_ai_defaults(d->def_instr, d->def_voice, why);
	} else if (resp->status != 200) {
		snprintf(why, sizeof(why), "defaults: dashboard answered HTTP %ld", resp->status);
		ai = dash_ai_defaults(d->def_instr, d->def_voice, why);
	} else {
		dash_ai_parse(resp->body, resp->body_len, d->def_instr, d->def_voice, &ai);
	}
	if (ai && strcmp(ai->source, "dashboard") == 0)
		log_info(r->call_sid, "dash: agent set-up from the dashboard (%zu tools, voice %s, %ld ms)",
			 json_array_size(ai->tools), ai->voice, resp->elapsed_ms);
	else
		log_warn(r->call_sid, "dash: GET /api/ai: %s", ai ? ai->source : "out of memory");
	if (r->ai_cb && ai)
		r->ai_cb(ai, r->arg);
	else
		dash_ai_free(ai);
	dash_req_free(r);
}

int dash_fetch_ai(dash *d, const dash_callinfo *ci, dash_ai_h *h, void *arg, dash_req **req)
{
	char rid[256], sid[256], from[256], q[800];
	int rc;
	if (!d || !ci || !h)
		return -EINVAL;
	dash_req *r = dash_req_new(d, DREQ_AI, ci->call_sid, "ai");
	if (!r)
		return -ENOMEM;
	r->ai_cb = h;
	r->arg = arg;
	if (dash_urlencode(ci->restaurant_id ? ci->restaurant_id : "", rid, sizeof(rid)) < 0 ||
	    dash_urlencode(ci->call_sid ? ci->call_sid : "", sid, sizeof(sid)) < 0 ||
	    dash_urlencode(ci->from ? ci->from : "", from, sizeof(from)) < 0) {
		r->imm_ai = dash_ai_defaults(d->def_instr, d->def_voice,
					     "defaults: call identifiers too long");
		goto deferred;
	}
	snprintf(q, sizeof(q), "restaurantId=%s&callSid=%s&from=%s", rid, sid, from);
	char *url = dash_url(d, "/api/ai", q);
	dash_hdrs hb;
	dash_hdrs_make(d, NULL, &hb);
	hc_opts o = { .method = "GET", .url = url, .headers = hb.v + 1 /* no Content-Type */,
		      .timeout_ms = d->ai_timeout_ms };
	rc = url ? hc_request(d->http, &o, ai_answered, r, &r->http) : -ENOMEM;
	free(url);
	if (rc < 0) {
		char why[160];
		snprintf(why, sizeof(why), "defaults: request failed (%s)", strerror(-rc));
		r->imm_ai = dash_ai_defaults(d->def_instr, d->def_voice, why);
		goto deferred;
	}
	if (req)
		*req = r;
	return 0;
deferred:
	if (!r->imm_ai) {
		dash_req_unlink(r);
		dash_req_free(r);
		return -ENOMEM;
	}
	log_warn(r->call_sid, "dash: GET /api/ai: %s", r->imm_ai->source);
	dash_req_defer(r);
	if (req)
		*req = r;
	return 0;
}
