/* fuzz_rt: rt_parse (every frame the OpenAI Realtime server, or anyone
 * answering at OPENAI_REALTIME_URL, sends to voiceproxy), rt_b64_len, and
 * the client-event builders fed the strings the server chose.
 * Contract checked: documented errors only; the fields each event type
 * requires are set; rt_b64_len agrees with the strict b64_decode; what we
 * send back (truncate, function_call_output, response.create,
 * session.update) is valid JSON carrying exactly the server's strings, and
 * session.update tools carry only type/name/description/parameters, with
 * exactly one end_call tool. */
#include "fuzz.h"

#include <errno.h>

#include "b64.h"
#include "rt.h"

static char buf[1 << 20];

static json_t *load(const char *s, int n)
{
	json_error_t je;
	json_t *j;

	FZ_CHECK(n > 0 && (size_t)n < sizeof(buf) && strlen(s) == (size_t)n);
	j = json_loads(s, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		fprintf(stderr, "builder wrote invalid JSON (%s): %.300s\n", je.text, s);
		abort();
	}
	return j;
}

static const char *str_at(json_t *o, const char *k1, const char *k2)
{
	json_t *v = json_object_get(o, k1);
	if (k2)
		v = json_object_get(v, k2);
	FZ_CHECK(json_is_string(v));
	return json_string_value(v);
}

static void check_builders(const rt_event *ev)
{
	json_t *j;
	int n;

	if (ev->item_id) {
		n = rt_fmt_truncate(buf, sizeof(buf), ev->item_id, ev->audio_start_ms);
		j = load(buf, n);
		FZ_CHECK(!strcmp(str_at(j, "type", NULL), "conversation.item.truncate"));
		FZ_CHECK(!strcmp(str_at(j, "item_id", NULL), ev->item_id));
		FZ_CHECK(json_integer_value(json_object_get(j, "audio_end_ms")) >= 0);
		json_decref(j);
	}
	if (ev->call_id && ev->arguments) {
		n = rt_fmt_fc_output(buf, sizeof(buf), ev->call_id, ev->arguments);
		j = load(buf, n);
		FZ_CHECK(!strcmp(str_at(j, "item", "call_id"), ev->call_id));
		FZ_CHECK(!strcmp(str_at(j, "item", "output"), ev->arguments));
		json_decref(j);
	}
	if (ev->transcript) {
		n = rt_fmt_response_create(buf, sizeof(buf), ev->transcript);
		j = load(buf, n);
		FZ_CHECK(!strcmp(str_at(j, "response", "instructions"), ev->transcript));
		json_decref(j);
	}
	if (ev->type == RT_AUDIO_DELTA) {
		n = rt_fmt_append(buf, sizeof(buf), ev->delta, ev->delta_len);
		j = load(buf, n);
		FZ_CHECK(!strcmp(str_at(j, "audio", NULL), ev->delta));
		json_decref(j);
	}
}

/* A hostile "tools" array (as the dashboard could send) through session.update. */
static void check_session(const rt_event *ev)
{
	json_t *tools = json_object_get(ev->root, "tools"), *j, *t;
	rt_session s = { .instructions = ev->transcript, .voice = ev->fn_name,
			 .transcription_model = ev->item_id, .tools = tools };
	size_t i, endcalls = 0;
	char *out;

	if (!tools)
		return;
	out = rt_session_update(&s);
	FZ_CHECK(out);
	j = load(out, (int)strlen(out));
	FZ_CHECK(!strcmp(str_at(j, "type", NULL), "session.update"));
	FZ_CHECK(!strcmp(str_at(json_object_get(j, "session"), "type", NULL), "realtime"));
	json_array_foreach(json_object_get(json_object_get(j, "session"), "tools"), i, t) {
		const char *k;
		json_t *v;
		json_object_foreach(t, k, v)
			FZ_CHECK(!strcmp(k, "type") || !strcmp(k, "name") || !strcmp(k, "description") ||
				 !strcmp(k, "parameters"));
		FZ_CHECK(!strcmp(str_at(t, "type", NULL), "function"));
		FZ_CHECK(*str_at(t, "name", NULL));
		endcalls += !strcmp(str_at(t, "name", NULL), RT_END_CALL_TOOL);
	}
	FZ_CHECK(endcalls == 1);
	json_decref(j);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rt_event ev;
	char err[256];
	int r, n, m;

	/* rt_b64_len is the strict decoder's twin: same verdict, same length. */
	{
		uint8_t *tmp = malloc(size + 1);
		if (!tmp)
			abort();
		n = rt_b64_len((const char *)data, size);
		m = b64_decode(tmp, size, (const char *)data, size);
		FZ_CHECK((n >= 0) == (m >= 0));
		FZ_CHECK(n < 0 || n == m);
		free(tmp);
	}

	err[0] = '\0';
	r = rt_parse(&ev, (const char *)data, size, err, sizeof(err));
	FZ_CSTR(err);
	FZ_CHECK(r == 0 || r == -EBADMSG || r == -EPROTO || r == -EINVAL);
	if (r == 0) {
		FZ_CHECK(ev.root && ev.type_name && ev.event_id);
		switch (ev.type) {
		case RT_AUDIO_DELTA:
			FZ_CHECK(ev.item_id && ev.delta && strlen(ev.delta) == ev.delta_len);
			FZ_CHECK(rt_b64_len(ev.delta, ev.delta_len) == (int)ev.audio_len);
			break;
		case RT_OUT_TRANSCRIPT_DONE:
		case RT_IN_TRANSCRIPT_DONE:
			FZ_CHECK(ev.transcript);
			break;
		case RT_FUNC_ARGS_DONE:
			FZ_CHECK(ev.call_id && ev.fn_name && ev.arguments);
			break;
		case RT_RESPONSE_DONE:
		case RT_RESPONSE_CREATED:
		case RT_SESSION_CREATED:
		case RT_SESSION_UPDATED:
			FZ_CHECK(json_is_object(ev.response));
			FZ_CHECK(!ev.usage || json_is_object(ev.usage));
			break;
		case RT_ERROR:
			FZ_CHECK(ev.err_message);
			break;
		default:
			break;
		}
		check_builders(&ev);
		check_session(&ev);
	} else {
		FZ_CHECK(r == -EBADMSG ? !ev.root : 1);
	}
	rt_event_clear(&ev);
	return 0;
}
