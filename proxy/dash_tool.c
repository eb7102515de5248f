/* dash_tool: a model function call -> one dashboard POST -> the
 * function_call_output text. Durable kinds go through dash_post.c. */
#include "dash_int.h"
#include "err.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name, *path;
} tool_table[] = {
	{ "check_availability", "/api/availability/check" },
	{ "lookup_customer", "/api/customers" },
	{ "save_customer", "/api/customers" },
	{ "create_order", "/api/orders" },
	{ "create_reservation", "/api/reservations" },
	{ "leave_message", "/api/messages" },
	{ "ask_question", "/api/faq" },
};

/* What must never be lost, by tool name or by endpoint. */
static const struct {
	const char *name, *path, *kind;
} durable_table[] = {
	{ "create_order", "/api/orders", "order" },
	{ "create_reservation", "/api/reservations", "reservation" },
	{ "leave_message", "/api/messages", "message" },
	{ NULL, "/api/calls", "call" },
};

const char *dash_tool_default_endpoint(const char *name)
{
	for (size_t i = 0; name && i < VX_ARRAY_LEN(tool_table); i++)
		if (strcmp(tool_table[i].name, name) == 0)
			return tool_table[i].path;
	return NULL;
}

const char *dash_durable_kind(const char *name, const char *path)
{
	for (size_t i = 0; i < VX_ARRAY_LEN(durable_table); i++) {
		if (name && durable_table[i].name && strcmp(durable_table[i].name, name) == 0)
			return durable_table[i].kind;
		if (path && strcmp(durable_table[i].path, path) == 0)
			return durable_table[i].kind;
	}
	return NULL;
}

int dash_tool_body(const char *args_json, const dash_callinfo *ci, char **out)
{
	int rc = -EINVAL;
	json_t *j = NULL;
	if (!args_json || !*args_json)
		j = json_object(); /* a tool without parameters */
	else
		j = json_loads(args_json, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(j))
		goto out;
	/* Ours, not the model's: it must not post for another restaurant. */
	json_object_set_new(j, "restaurantId", json_string(ci->restaurant_id ? ci->restaurant_id : ""));
	json_object_set_new(j, "callSid", json_string(ci->call_sid ? ci->call_sid : ""));
	json_object_set_new(j, "from", json_string(ci->from ? ci->from : ""));
	rc = (*out = json_dumps(j, JSON_COMPACT)) ? 0 : -ENOMEM;
out:
	json_decref(j);
	return rc;
}

char *dash_tool_output(const hc_resp *r)
{
	if (r->err)
		return dash_error_json("the restaurant system is unreachable (%s)", dash_err_str(r->err));
	json_t *j = r->body_len ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
	char *s = NULL;
	if (r->status < 200 || r->status > 299) {
		const char *e = json_string_value(json_object_get(j, "error"));
		if (!e)
			e = json_string_value(json_object_get(j, "message"));
		json_t *o = json_pack("{s:s,s:I}", "error",
				      e && strlen(e) < 1000 ? e : "the restaurant system refused the request",
				      "status", (json_int_t)r->status);
		s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
	} else if (!r->body_len) {
		s = strdup("{\"ok\":true}");
	} else if (!j) {
		s = dash_error_json("the restaurant system answered with invalid JSON");
	} else if (json_is_object(j)) {
		s = json_dumps(j, JSON_COMPACT);
	} else {
		json_t *o = json_pack("{s:O}", "result", j);
		s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
	}
	json_decref(j);
	if (s && strlen(s) > DASH_MAX_OUTPUT) {
		free(s);
		s = dash_error_json("the restaurant system answer is too large");
	}
	return s ? s : dash_error_json("out of memory");
}

static void tool_answered(const hc_resp *resp, void *arg)
{
	dash_req *r = arg;
	r->http = NULL;
	char *out = dash_tool_output(resp);
	if (resp->err)
		log_warn(r->call_sid, "dash: tool %s: %s after %ld ms", r->what,
			 dash_err_str(resp->err), resp->elapsed_ms);
	else
		log_info(r->call_sid, "dash: tool %s: HTTP %ld in %ld ms", r->what, resp->status,
			 resp->elapsed_ms);
	dash_req_tool_done(r, out);
	free(out);
}

int dash_tool_call(dash *d, const dash_ai *ai, const dash_callinfo *ci, const char *name,
		   const char *call_id, const char *args_json, dash_tool_h *h, void *arg,
		   dash_req **req)
{
	char *body = NULL, *url = NULL, key[256];
	int rc;
	if (!d || !ci || !name || !h)
		return -EINVAL;
	dash_req *r = dash_req_new(d, DREQ_TOOL, ci->call_sid, name);
	if (!r)
		return -ENOMEM;
	r->tool_cb = h;
	r->arg = arg;
	const char *path = ai ? json_string_value(json_object_get(ai->endpoints, name)) : NULL;
	if (!path || !spool_path_ok(path))
		path = dash_tool_default_endpoint(name);
	if (!path) {
		log_warn(r->call_sid, "dash: unknown tool \"%.64s\"", name);
		r->imm_output = dash_error_json("unknown tool: %.64s", name);
		goto deferred;
	}
	if (dash_tool_body(args_json, ci, &body) < 0) {
		log_warn(r->call_sid, "dash: tool %s: arguments are not a JSON object", name);
		r->imm_output = dash_error_json("invalid arguments: a JSON object is expected");
		goto deferred;
	}
	snprintf(key, sizeof(key), "%.100s:%.100s", ci->call_sid ? ci->call_sid : "",
		 call_id ? call_id : "");
	dash_key_clean(key);
	const char *kind = dash_durable_kind(name, path);
	if (kind) {
		spool_entry e = { .kind = strdup(kind), .path = strdup(path), .key = strdup(key),
				  .call_sid = strdup(ci->call_sid ? ci->call_sid : ""), .body = body,
				  .created_ms = spool_now_ms() };
		body = NULL;
		rc = dash_post_durable(d, &e, r);
		if (rc < 0) {
			r->imm_output = dash_error_json("internal error (%s)", strerror(-rc));
			goto deferred;
		}
		goto started;
	}
	url = dash_url(d, path, NULL);
	dash_hdrs hb;
	dash_hdrs_make(d, key, &hb);
	hc_opts o = { .method = "POST", .url = url, .headers = hb.v, .body = body,
		      .body_len = strlen(body), .timeout_ms = d->tool_timeout_ms };
	rc = url ? hc_request(d->http, &o, tool_answered, r, &r->http) : -ENOMEM;
	if (rc < 0) {
		r->imm_output = dash_error_json("internal error (%s)", strerror(-rc));
		goto deferred;
	}
	log_debug(r->call_sid, "dash: tool %s -> POST %s", name, path);
started:
	free(body);
	free(url);
	if (req)
		*req = r;
	return 0;
deferred:
	free(body);
	free(url);
	if (!r->imm_output) {
		dash_req_unlink(r);
		dash_req_free(r);
		return -ENOMEM;
	}
	dash_req_defer(r);
	if (req)
		*req = r;
	return 0;
}
