/* rt: Realtime server-event parsing (table-driven) and client builders. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "rt.h"

static int parse(rt_event *ev, const char *s)
{
	char err[256];
	return rt_parse(ev, s, strlen(s), err, sizeof(err));
}

static void test_delta(void **st)
{
	rt_event ev;
	(void)st;
	assert_int_equal(parse(&ev, "{\"type\":\"response.output_audio.delta\",\"event_id\":\"e1\",\"response_id\":\"r\","
				    "\"item_id\":\"it\",\"output_index\":0,\"content_index\":0,\"delta\":\"AAECAw==\"}"), 0);
	assert_int_equal(ev.type, RT_AUDIO_DELTA);
	assert_string_equal(ev.item_id, "it");
	assert_int_equal(ev.delta_len, 8);
	assert_int_equal(ev.audio_len, 4);
	rt_event_clear(&ev);
	/* beta name */
	assert_int_equal(parse(&ev, "{\"type\":\"response.audio.delta\",\"item_id\":\"i\",\"delta\":\"/w==\"}"), 0);
	assert_int_equal(ev.type, RT_AUDIO_DELTA);
	assert_int_equal(ev.audio_len, 1);
	rt_event_clear(&ev);
	/* invalid base64: rejected */
	assert_int_equal(parse(&ev, "{\"type\":\"response.output_audio.delta\",\"item_id\":\"i\",\"delta\":\"AA\\\"=\"}"), -EINVAL);
	rt_event_clear(&ev);
	assert_int_equal(parse(&ev, "{\"type\":\"response.output_audio.delta\",\"item_id\":\"i\",\"delta\":\"/x==\"}"), -EINVAL);
	rt_event_clear(&ev);
	/* missing and mistyped fields */
	assert_int_equal(parse(&ev, "{\"type\":\"response.output_audio.delta\",\"delta\":\"AAAA\"}"), -EPROTO);
	rt_event_clear(&ev);
	assert_int_equal(parse(&ev, "{\"type\":\"response.output_audio.delta\",\"item_id\":3,\"delta\":\"AAAA\"}"), -EPROTO);
	rt_event_clear(&ev);
}

static void test_others(void **st)
{
	rt_event ev;
	(void)st;
	assert_int_equal(parse(&ev, "{\"type\":\"response.function_call_arguments.done\",\"event_id\":\"e\","
				    "\"response_id\":\"r\",\"item_id\":\"i\",\"output_index\":0,\"call_id\":\"c1\","
				    "\"name\":\"create_order\",\"arguments\":\"{\\\"a\\\":1}\"}"), 0);
	assert_int_equal(ev.type, RT_FUNC_ARGS_DONE);
	assert_string_equal(ev.fn_name, "create_order");
	assert_string_equal(ev.call_id, "c1");
	assert_string_equal(ev.arguments, "{\"a\":1}");
	rt_event_clear(&ev);
	assert_int_equal(parse(&ev, "{\"type\":\"response.done\",\"event_id\":\"e\",\"response\":{\"id\":\"r1\","
				    "\"usage\":{\"total_tokens\":5}}}"), 0);
	assert_int_equal(ev.type, RT_RESPONSE_DONE);
	assert_non_null(ev.usage);
	assert_int_equal(json_integer_value(json_object_get(ev.usage, "total_tokens")), 5);
	rt_event_clear(&ev);
	assert_int_equal(parse(&ev, "{\"type\":\"error\",\"event_id\":\"e\",\"error\":{\"type\":\"server_error\","
				    "\"code\":null,\"message\":\"boom\"}}"), 0);
	assert_int_equal(ev.type, RT_ERROR);
	assert_string_equal(ev.err_message, "boom");
	assert_null(ev.err_code);
	rt_event_clear(&ev);
	assert_int_equal(parse(&ev, "{\"type\":\"input_audio_buffer.speech_started\",\"event_id\":\"e\","
				    "\"audio_start_ms\":1200,\"item_id\":\"in1\"}"), 0);
	assert_int_equal(ev.type, RT_SPEECH_STARTED);
	assert_int_equal(ev.audio_start_ms, 1200);
	rt_event_clear(&ev);
	assert_int_equal(parse(&ev, "{\"type\":\"conversation.item.input_audio_transcription.completed\","
				    "\"item_id\":\"x\",\"content_index\":0,\"transcript\":\"une pizza\"}"), 0);
	assert_int_equal(ev.type, RT_IN_TRANSCRIPT_DONE);
	assert_string_equal(ev.transcript, "une pizza");
	rt_event_clear(&ev);
	/* unknown types are fine, garbage is not */
	assert_int_equal(parse(&ev, "{\"type\":\"rate_limits.updated\",\"rate_limits\":[]}"), 0);
	assert_int_equal(ev.type, RT_OTHER);
	rt_event_clear(&ev);
	assert_int_equal(parse(&ev, "{\"type\":"), -EBADMSG);
	rt_event_clear(&ev);
	assert_int_equal(parse(&ev, "[1,2]"), -EPROTO);
	rt_event_clear(&ev);
	assert_int_equal(parse(&ev, "{\"type\":\"error\",\"error\":\"x\"}"), -EPROTO);
	rt_event_clear(&ev);
	assert_int_equal(parse(&ev, "{\"type\":\"a\",\"type\":\"b\"}"), -EBADMSG);
	rt_event_clear(&ev);
}

static json_t *load(const char *s, int n)
{
	json_t *j;
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(s));
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	return j;
}

static void test_builders(void **st)
{
	char buf[1024];
	json_t *j;
	(void)st;
	j = load(buf, rt_fmt_append(buf, sizeof(buf), "AAECAw==", 8));
	assert_string_equal(json_string_value(json_object_get(j, "type")), "input_audio_buffer.append");
	assert_string_equal(json_string_value(json_object_get(j, "audio")), "AAECAw==");
	json_decref(j);
	j = load(buf, rt_fmt_truncate(buf, sizeof(buf), "it\"em", 1234));
	assert_string_equal(json_string_value(json_object_get(j, "item_id")), "it\"em");
	assert_int_equal(json_integer_value(json_object_get(j, "audio_end_ms")), 1234);
	assert_int_equal(json_integer_value(json_object_get(j, "content_index")), 0);
	json_decref(j);
	j = load(buf, rt_fmt_response_create(buf, sizeof(buf), NULL));
	assert_string_equal(json_string_value(json_object_get(j, "type")), "response.create");
	json_decref(j);
	j = load(buf, rt_fmt_response_create(buf, sizeof(buf), "Say \"hi\""));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "response"), "instructions")),
			    "Say \"hi\"");
	json_decref(j);
	j = load(buf, rt_fmt_fc_output(buf, sizeof(buf), "c1", "{\"ok\":true}"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "item"), "output")), "{\"ok\":true}");
	json_decref(j);
	assert_int_equal(rt_fmt_truncate(buf, 20, "item", 1), -ENOSPC);
	j = load(buf, rt_fmt_user_text(buf, sizeof(buf), "[DTMF \"5\"]"));
	assert_string_equal(json_string_value(json_object_get(j, "type")), "conversation.item.create");
	{
		json_t *it = json_object_get(j, "item"), *part = json_array_get(json_object_get(it, "content"), 0);
		assert_string_equal(json_string_value(json_object_get(it, "type")), "message");
		assert_string_equal(json_string_value(json_object_get(it, "role")), "user");
		assert_string_equal(json_string_value(json_object_get(part, "type")), "input_text");
		assert_string_equal(json_string_value(json_object_get(part, "text")), "[DTMF \"5\"]");
	}
	json_decref(j);
	assert_int_equal(rt_fmt_user_text(buf, 40, "[DTMF 5]"), -ENOSPC);
}

static void test_session(void **st)
{
	json_t *tools = json_loads("[{\"type\":\"function\",\"name\":\"create_order\",\"description\":\"d\","
				   "\"parameters\":{\"type\":\"object\"},\"endpoint\":\"/api/x\",\"strict\":true},"
				   "{\"name\":\"end_call\"},{\"description\":\"no name\"}]", 0, NULL);
	rt_session s = { "be nice", "verse", "gpt-4o-mini-transcribe", tools };
	char *txt = rt_session_update(&s);
	json_t *j, *ses, *t;
	(void)st;
	assert_non_null(txt);
	j = json_loads(txt, 0, NULL);
	ses = json_object_get(j, "session");
	assert_string_equal(json_string_value(json_object_get(j, "type")), "session.update");
	assert_string_equal(json_string_value(json_object_get(ses, "type")), "realtime");
	assert_string_equal(json_string_value(json_object_get(ses, "instructions")), "be nice");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(json_object_get(
				    ses, "audio"), "input"), "format"), "type")), "audio/pcmu");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(ses, "audio"),
				    "output"), "voice")), "verse");
	t = json_object_get(ses, "tools");
	assert_int_equal(json_array_size(t), 2); /* create_order + the one end_call */
	assert_null(json_object_get(json_array_get(t, 0), "endpoint"));
	assert_null(json_object_get(json_array_get(t, 0), "strict"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(t, 1), "name")), "end_call");
	assert_null(json_object_get(ses, "modalities"));
	json_decref(j);
	free(txt);
	json_decref(tools);
}

static void test_scan(void **st)
{
	rt_event ev;
	static const char *ok = " {\"type\":\"response.output_audio.delta\",\"event_id\":\"e1\",\"response_id\":\"r\","
				"\"item_id\":\"item_9\",\"output_index\":0,\"content_index\":-1e0,\"delta\":\"AAECAw==\"}\n";
	const char *s;
	(void)st;
	assert_int_equal(rt_scan_delta(&ev, ok, strlen(ok)), 0);
	assert_int_equal(ev.type, RT_AUDIO_DELTA);
	assert_null(ev.root);
	assert_string_equal(ev.item_id, "item_9");
	assert_int_equal(ev.delta_len, 8);
	assert_memory_equal(ev.delta, "AAECAw==", 8);
	assert_int_equal(ev.audio_len, 4);
	rt_event_clear(&ev);
	s = "{\"type\":\"response.audio.delta\",\"item_id\":\"i\",\"delta\":\"/w==\"}";
	assert_int_equal(rt_scan_delta(&ev, s, strlen(s)), 0);
	assert_int_equal(ev.audio_len, 1);
	/* not the simple shape, or not a delta: the table parser's job */
	s = "{\"type\":\"response.done\",\"response\":{}}";
	assert_int_equal(rt_scan_delta(&ev, s, strlen(s)), -ENOENT);
	s = "{\"type\":\"response.output_audio.delta\",\"item_id\":\"i\",\"x\":{\"a\":1},\"delta\":\"AAAA\"}";
	assert_int_equal(rt_scan_delta(&ev, s, strlen(s)), -ENOENT);
	s = "{\"type\":\"response.output_audio.delta\",\"item_id\":\"i\\\"x\",\"delta\":\"AAAA\"}";
	assert_int_equal(rt_scan_delta(&ev, s, strlen(s)), -ENOENT); /* escaped item id */
	s = "{\"type\":\"response.output_audio.delta\",\"item_id\":\"i\",\"item_id\":\"j\",\"delta\":\"AAAA\"}";
	assert_int_equal(rt_scan_delta(&ev, s, strlen(s)), -ENOENT); /* duplicate key */
	s = "{\"type\":\"response.output_audio.delta\",\"item_id\":\"i\",\"delta\":\"AAAA\"";
	assert_int_equal(rt_scan_delta(&ev, s, strlen(s)), -ENOENT); /* truncated */
	s = "{\"type\":\"response.output_audio.delta\",\"item_id\":\"i\",\"delta\":\"AAAA\"} x";
	assert_int_equal(rt_scan_delta(&ev, s, strlen(s)), -ENOENT); /* trailing garbage */
	s = "{\"type\":\"response.output_audio.delta\",\"item_id\":\"i\",\"delta\":\"AA!A\"}";
	assert_int_equal(rt_scan_delta(&ev, s, strlen(s)), -EINVAL);
	assert_int_equal(rt_scan_delta(&ev, "", 0), -ENOENT);
	assert_int_equal(rt_scan_delta(&ev, "{\"a", 3), -ENOENT);
}

/* Differential check: whenever the fast path accepts a (mutated) frame,
 * the table parser must read the same event from it. */
static void test_scan_vs_parse(void **st)
{
	static const char base[] = "{\"type\":\"response.output_audio.delta\",\"event_id\":\"e1\",\"response_id\":\"r\","
				   "\"item_id\":\"item_9\",\"output_index\":0,\"content_index\":0,\"delta\":\"AAECAwQF\"}";
	char buf[sizeof(base)], err[256];
	unsigned seed = 12345, agree = 0;
	(void)st;
	for (int i = 0; i < 200000; i++) {
		rt_event a, b;
		int ra, rb, k = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 3;
		memcpy(buf, base, sizeof(base));
		while (k--) {
			seed = seed * 1103515245u + 12345u;
			size_t pos = (seed >> 8) % (sizeof(base) - 1);
			seed = seed * 1103515245u + 12345u;
			buf[pos] = (char)(" \"{}:,\\AZaz09+/=.-e\x01\x80"[(seed >> 16) % 21]);
		}
		ra = rt_scan_delta(&a, buf, strlen(buf));
		if (ra != 0) {
			rt_event_clear(&a);
			continue;
		}
		rb = rt_parse(&b, buf, strlen(buf), err, sizeof(err));
		if (rb)
			print_message("differs: %s (%s)\n", buf, err);
		assert_int_equal(rb, 0);
		assert_int_equal(b.type, RT_AUDIO_DELTA);
		assert_string_equal(a.item_id, b.item_id);
		assert_int_equal(a.delta_len, b.delta_len);
		assert_memory_equal(a.delta, b.delta, a.delta_len);
		assert_int_equal(a.audio_len, b.audio_len);
		agree++;
		rt_event_clear(&a);
		rt_event_clear(&b);
	}
	assert_true(agree > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_delta), cmocka_unit_test(test_others),
					    cmocka_unit_test(test_builders), cmocka_unit_test(test_session),
					    cmocka_unit_test(test_scan), cmocka_unit_test(test_scan_vs_parse) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
