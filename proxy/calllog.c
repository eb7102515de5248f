/* calllog: accumulates one call's record and hands it to dash as a durable
 * POST /api/calls (Idempotency-Key: the callSid) when the call ends. */
#include "dash_int.h"
#include "err.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

#define CL_MAX_TURNS 2000
#define CL_MAX_TEXT 8000
#define CL_MAX_TOOLS 500

struct calllog {
	char *call_sid, *stream_sid, *restaurant_id, *from, *to;
	long long started_ms;
	json_t *transcript, *tools, *usage;
	unsigned dropped; /* entries over the caps */
};

static char *dupe(const char *s) { return strdup(s ? s : ""); }

int calllog_new(calllog **out, const dash_callinfo *ci, const char *stream_sid, const char *to)
{
	if (!out || !ci)
		return -EINVAL;
	calllog *cl = calloc(1, sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	cl->call_sid = dupe(ci->call_sid);
	cl->stream_sid = dupe(stream_sid);
	cl->restaurant_id = dupe(ci->restaurant_id);
	cl->from = dupe(ci->from);
	cl->to = dupe(to);
	cl->started_ms = spool_now_ms();
	cl->transcript = json_array();
	cl->tools = json_array();
	cl->usage = json_object();
	if (!cl->call_sid || !cl->stream_sid || !cl->restaurant_id || !cl->from || !cl->to ||
	    !cl->transcript || !cl->tools || !cl->usage) {
		calllog_destroy(cl);
		return -ENOMEM;
	}
	*out = cl;
	return 0;
}

void calllog_destroy(calllog *cl)
{
	if (!cl)
		return;
	free(cl->call_sid);
	free(cl->stream_sid);
	free(cl->restaurant_id);
	free(cl->from);
	free(cl->to);
	json_decref(cl->transcript);
	json_decref(cl->tools);
	json_decref(cl->usage);
	free(cl);
}

/* Text from the model or the transcriber, possibly not valid UTF-8 after a
 * truncation: json_stringn_nocheck would produce invalid JSON, so check. */
static json_t *text_json(const char *text)
{
	size_t n = text ? strnlen(text, CL_MAX_TEXT + 1) : 0;
	if (n > CL_MAX_TEXT) {
		n = CL_MAX_TEXT;
		while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
			n--; /* do not cut a UTF-8 sequence */
	}
	json_t *s = json_stringn(text ? text : "", n);
	if (s)
		return s;
	/* invalid UTF-8: keep the ASCII, replace the rest with '?' */
	char *c = strndup(text, n);
	for (size_t i = 0; c && i < n; i++)
		if ((unsigned char)c[i] >= 0x80)
			c[i] = '?';
	s = json_string(c ? c : "");
	free(c);
	return s ? s : json_string("");
}

void calllog_turn(calllog *cl, const char *role, const char *text)
{
	if (!cl || !role)
		return;
	if (json_array_size(cl->transcript) >= CL_MAX_TURNS) {
		cl->dropped++;
		return;
	}
	char at[32];
	spool_iso8601(spool_now_ms(), at);
	json_array_append_new(cl->transcript,
			      json_pack("{s:s,s:o,s:s}", "role",
					strcmp(role, "agent") == 0 ? "agent" : "caller", "text",
					text_json(text), "at", at));
}

/* Arguments and results are JSON text; keep them as JSON when they parse. */
static json_t *json_or_text(const char *s)
{
	if (!s)
		return json_null();
	json_t *j = json_loads(s, 0, NULL);
	return j ? j : text_json(s);
}

void calllog_tool(calllog *cl, const char *name, const char *call_id, const char *args_json,
		  const char *result_json)
{
	if (!cl || !name)
		return;
	if (json_array_size(cl->tools) >= CL_MAX_TOOLS) {
		cl->dropped++;
		return;
	}
	char at[32];
	spool_iso8601(spool_now_ms(), at);
	json_array_append_new(cl->tools,
			      json_pack("{s:o,s:o,s:o,s:o,s:s}", "name", text_json(name), "callId",
					text_json(call_id ? call_id : ""), "arguments",
					json_or_text(args_json), "result", json_or_text(result_json),
					"at", at));
}

/* Sums every integer field, recursing into objects (input_token_details…). */
static void usage_add(json_t *acc, const json_t *u, int depth)
{
	const char *k;
	json_t *v;
	if (depth > 4)
		return;
	json_object_foreach((json_t *)u, k, v) {
		json_t *cur = json_object_get(acc, k);
		if (json_is_integer(v)) {
			json_int_t add = json_integer_value(v);
			if (add < 0)
				continue;
			if (json_is_integer(cur))
				json_integer_set(cur, json_integer_value(cur) + add);
			else if (!cur)
				json_object_set_new(acc, k, json_integer(add));
		} else if (json_is_object(v)) {
			if (!cur) {
				json_object_set_new(acc, k, json_object());
				cur = json_object_get(acc, k);
			}
			if (json_is_object(cur))
				usage_add(cur, v, depth + 1);
		}
	}
}

void calllog_usage(calllog *cl, const json_t *usage)
{
	if (!cl || !json_is_object(usage))
		return;
	/* Accept the response object of response.done as well as its usage. */
	const json_t *u = json_object_get(usage, "usage");
	usage_add(cl->usage, json_is_object(u) ? u : usage, 0);
}

/* Pure: the /api/calls body (exposed for tests through dash_int.h). */
char *calllog_body(const calllog *cl, long long ended_ms, const char *end_reason)
{
	char s[32], e[32];
	spool_iso8601(cl->started_ms, s);
	spool_iso8601(ended_ms, e);
	long long dur = ended_ms > cl->started_ms ? (ended_ms - cl->started_ms + 500) / 1000 : 0;
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:O,s:O,s:O,s:s}", "callSid",
			      cl->call_sid, "streamSid", cl->stream_sid, "restaurantId",
			      cl->restaurant_id, "from", cl->from, "to", cl->to, "startedAt", s,
			      "endedAt", e, "durationSeconds", (json_int_t)dur, "transcript",
			      cl->transcript, "toolCalls", cl->tools, "usage", cl->usage, "endReason",
			      end_reason && *end_reason ? end_reason : "unknown");
	if (j && cl->dropped)
		json_object_set_new(j, "truncated", json_integer(cl->dropped));
	char *out = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return out;
}

int calllog_finish(calllog *cl, dash *d, const char *end_reason)
{
	int rc = -EINVAL;
	if (!cl)
		return -EINVAL;
	if (!d)
		goto out;
	char *body = calllog_body(cl, spool_now_ms(), end_reason);
	if (!body) {
		rc = -ENOMEM;
		log_err(cl->call_sid, "dash: call log could not be built (invalid text?)");
		goto out;
	}
	log_info(cl->call_sid, "dash: call log (%s, %zu turns, %zu tool calls)",
		 end_reason ? end_reason : "unknown", json_array_size(cl->transcript),
		 json_array_size(cl->tools));
	spool_entry e = { .kind = strdup("call"), .path = strdup("/api/calls"),
			  .key = strdup(cl->call_sid), .call_sid = strdup(cl->call_sid),
			  .body = body, .created_ms = spool_now_ms() };
	dash_key_clean(e.key);
	rc = dash_post_durable(d, &e, NULL);
out:
	calllog_destroy(cl);
	return rc;
}
