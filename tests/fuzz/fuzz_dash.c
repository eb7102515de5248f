/* fuzz_dash: what the restaurant dashboard answers, and what the model asks
 * it: dash_ai_parse (GET /api/ai answer), dash_tool_body (the model's tool
 * arguments turned into a POST body), dash_tool_output (a tool answer turned
 * into function_call_output), dash_urlencode (query values).
 * Contract checked: dash_ai_parse always yields a usable set-up (defaults
 * when invalid); tools reach the model with only type/name/description/
 * parameters, at most DASH_MAX_TOOLS, unique names; an endpoint override is
 * a dashboard path (never a URL: no request to another host); a tool body
 * always carries OUR restaurantId/callSid/from, whatever the model wrote;
 * a tool output is one JSON object within DASH_MAX_OUTPUT; urlencode output
 * is unreserved-or-%XX and decodes back to the input. */
#include "fuzz.h"

#include <errno.h>

#include "dash_int.h"
#include "form.h"

static json_t *load(const char *s)
{
	json_error_t je;
	json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		fprintf(stderr, "invalid JSON produced (%s): %.300s\n", je.text, s);
		abort();
	}
	return j;
}

static void check_ai(const char *s, size_t n)
{
	dash_ai *ai = NULL;
	json_t *t, *ep;
	size_t i;
	const char *k;
	int r = dash_ai_parse(s, n, "default instructions", "alloy", &ai);

	FZ_CHECK(r == 0 || r == -EBADMSG);
	FZ_CHECK(ai && ai->instructions && ai->voice && ai->source);
	FZ_CHECK(json_is_array(ai->tools) && json_array_size(ai->tools) <= DASH_MAX_TOOLS);
	FZ_CHECK(json_is_object(ai->endpoints));
	FZ_CHECK(!ai->context || json_is_object(ai->context));
	json_array_foreach(ai->tools, i, t) {
		json_t *v, *o;
		size_t m;
		const char *name = json_string_value(json_object_get(t, "name"));
		FZ_CHECK(name && *name);
		FZ_CHECK(!strcmp(json_string_value(json_object_get(t, "type")), "function"));
		json_object_foreach(t, k, v)
			FZ_CHECK(!strcmp(k, "type") || !strcmp(k, "name") || !strcmp(k, "description") ||
				 !strcmp(k, "parameters"));
		json_array_foreach(ai->tools, m, o)
			FZ_CHECK(m == i || strcmp(json_string_value(json_object_get(o, "name")), name));
	}
	json_object_foreach(ai->endpoints, k, ep) {
		FZ_CHECK(json_is_string(ep) && spool_path_ok(json_string_value(ep)));
		FZ_CHECK(json_string_value(ep)[0] == '/' && !strstr(json_string_value(ep), "//"));
	}
	dash_ai_free(ai);
}

static void check_body(const char *args)
{
	static const dash_callinfo ci = { "pizza-napoli", "CA00000000000000000000000000000000", "+33612345678" };
	char *out = NULL;
	int r = dash_tool_body(args, &ci, &out);
	json_t *j;

	FZ_CHECK(r == 0 || r == -EINVAL);
	if (r)
		return;
	j = load(out);
	FZ_CHECK(json_is_object(j));
	FZ_CHECK(!strcmp(json_string_value(json_object_get(j, "restaurantId")), ci.restaurant_id));
	FZ_CHECK(!strcmp(json_string_value(json_object_get(j, "callSid")), ci.call_sid));
	FZ_CHECK(!strcmp(json_string_value(json_object_get(j, "from")), ci.from));
	json_decref(j);
	free(out);
}

static void check_output(const char *body, size_t n)
{
	static const long statuses[] = { 200, 201, 204, 400, 404, 409, 422, 500, 503 };
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		hc_resp r = { .err = 0, .status = statuses[i], .body = body, .body_len = n, .errmsg = "" };
		char *s = dash_tool_output(&r);
		json_t *j;
		FZ_CHECK(s && strlen(s) <= DASH_MAX_OUTPUT);
		j = load(s);
		FZ_CHECK(json_is_object(j));
		if (statuses[i] >= 400)
			FZ_CHECK(json_is_string(json_object_get(j, "error")));
		json_decref(j);
		free(s);
	}
}

static void check_urlencode(const char *s)
{
	size_t n = strlen(s), cap = 3 * n + 1;
	char *out = malloc(cap), *back = malloc(n + 1);
	int r;

	FZ_CHECK(out && back);
	r = dash_urlencode(s, out, cap);
	FZ_CHECK(r >= 0 && (size_t)r == strlen(out));
	for (const char *p = out; *p; p++)
		FZ_CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%", *p));
	FZ_CHECK(form_unescape(back, n + 1, out, (size_t)r, 0) == (int)n && !strcmp(back, s));
	if (r > 0) /* one byte short: refused within the exact-size block */
		FZ_CHECK(dash_urlencode(s, out, (size_t)r) == -ENOSPC);
	free(out);
	free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fz_dup(data, size);

	check_ai(s, size);
	check_body(s);
	check_output(s, size);
	check_urlencode(s);
	free(s);
	return 0;
}
