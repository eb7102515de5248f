/* test_calllog: the /api/calls body built from a call's events (pure: no
 * network; delivery is covered by test_dash). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dash_int.h"

#include <stdlib.h>
#include <string.h>

static const dash_callinfo ci = { .restaurant_id = "pizza", .call_sid = "CA42", .from = "+331" };

static json_t *body_of(calllog *cl, long long end_ms, const char *reason)
{
	char *s = calllog_body(cl, end_ms, reason);
	assert_non_null(s);
	json_t *j = json_loads(s, 0, NULL);
	assert_non_null(j);
	free(s);
	return j;
}

static void t_fields(void **st)
{
	(void)st;
	calllog *cl;
	assert_int_equal(calllog_new(&cl, &ci, "MZ1", NULL), 0);
	long long t0 = spool_now_ms();
	json_t *b = body_of(cl, t0 + 61400, NULL);
	assert_string_equal(json_string_value(json_object_get(b, "callSid")), "CA42");
	assert_string_equal(json_string_value(json_object_get(b, "streamSid")), "MZ1");
	assert_string_equal(json_string_value(json_object_get(b, "restaurantId")), "pizza");
	assert_string_equal(json_string_value(json_object_get(b, "to")), "");
	assert_string_equal(json_string_value(json_object_get(b, "endReason")), "unknown");
	json_int_t dur = json_integer_value(json_object_get(b, "durationSeconds"));
	assert_true(dur == 61 || dur == 62);
	const char *s = json_string_value(json_object_get(b, "startedAt"));
	assert_int_equal(strlen(s), 24);
	assert_int_equal(s[23], 'Z');
	assert_int_equal(json_array_size(json_object_get(b, "transcript")), 0);
	assert_int_equal(json_object_size(json_object_get(b, "usage")), 0);
	json_decref(b);
	calllog_destroy(cl);
}

static void t_hostile_text(void **st)
{
	(void)st;
	calllog *cl;
	assert_int_equal(calllog_new(&cl, &ci, "MZ1", "+332"), 0);
	calllog_turn(cl, "weird-role", "hello");           /* unknown role -> caller */
	calllog_turn(cl, "agent", "caf\xc3\xa9 \xff broken"); /* invalid UTF-8 */
	calllog_turn(cl, "agent", NULL);
	char *big = malloc(20000);
	memset(big, 'a', 19999);
	big[19999] = '\0';
	big[7999] = '\xc3'; /* a 2-byte sequence cut at the limit */
	big[8000] = '\xa9';
	calllog_turn(cl, "caller", big);
	free(big);
	calllog_tool(cl, "create_order", "call_1", "not json", "{\"orderId\":\"o1\"}");
	calllog_tool(cl, "x", NULL, NULL, NULL);
	json_t *u = json_loads("{\"total_tokens\":5,\"bad\":\"x\",\"neg\":-3,\"d\":{\"a\":1}}", 0, NULL);
	calllog_usage(cl, u);
	calllog_usage(cl, u);
	calllog_usage(cl, NULL);
	json_decref(u);
	json_t *b = body_of(cl, spool_now_ms(), "openai_error");
	json_t *tr = json_object_get(b, "transcript");
	assert_int_equal(json_array_size(tr), 4);
	assert_string_equal(json_string_value(json_object_get(json_array_get(tr, 0), "role")), "caller");
	assert_string_equal(json_string_value(json_object_get(json_array_get(tr, 1), "text")), "caf?? ? broken");
	assert_true(strlen(json_string_value(json_object_get(json_array_get(tr, 3), "text"))) <= 8000);
	json_t *tc = json_object_get(b, "toolCalls");
	assert_string_equal(json_string_value(json_object_get(json_array_get(tc, 0), "arguments")), "not json");
	assert_true(json_is_null(json_object_get(json_array_get(tc, 1), "result")));
	json_t *us = json_object_get(b, "usage");
	assert_int_equal(json_integer_value(json_object_get(us, "total_tokens")), 10);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(us, "d"), "a")), 2);
	assert_null(json_object_get(us, "bad"));
	assert_null(json_object_get(us, "neg"));
	json_decref(b);
	calllog_destroy(cl);
}

static void t_caps(void **st)
{
	(void)st;
	calllog *cl;
	assert_int_equal(calllog_new(&cl, &ci, "MZ1", "+332"), 0);
	for (int i = 0; i < 2100; i++)
		calllog_turn(cl, "caller", "uh");
	json_t *b = body_of(cl, spool_now_ms(), "caller_hangup");
	assert_int_equal(json_array_size(json_object_get(b, "transcript")), 2000);
	assert_int_equal(json_integer_value(json_object_get(b, "truncated")), 100);
	json_decref(b);
	/* finishing without a dash frees it (no leak under LSan) */
	assert_int_equal(calllog_finish(cl, NULL, "x"), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_fields),
		cmocka_unit_test(t_hostile_text),
		cmocka_unit_test(t_caps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
