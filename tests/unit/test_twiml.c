/* twiml: TwiML content and XML escaping. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "twiml.h"

static void test_stream(void **st)
{
	char buf[2048];
	twiml_param p[] = { { "From", "+33612345678" }, { "To", "" }, { "CallSid", NULL },
			    { "restaurantId", "pizza-napoli" } };
	int n;
	(void)st;
	n = twiml_stream(buf, sizeof(buf), "voice.example.com", p, 4);
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(buf));
	assert_string_equal(buf, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Connect>"
				 "<Stream url=\"wss://voice.example.com/media-stream\">"
				 "<Parameter name=\"From\" value=\"+33612345678\"/>"
				 "<Parameter name=\"restaurantId\" value=\"pizza-napoli\"/>"
				 "</Stream></Connect></Response>");
}

static void test_escape(void **st)
{
	char buf[2048];
	twiml_param p[] = { { "From", "\"><Hangup/><x a='&" } };
	(void)st;
	assert_true(twiml_stream(buf, sizeof(buf), "h\"ost", p, 1) > 0);
	assert_non_null(strstr(buf, "url=\"wss://h&quot;ost/media-stream\""));
	assert_non_null(strstr(buf, "value=\"&quot;&gt;&lt;Hangup/&gt;&lt;x a=&apos;&amp;\""));
	assert_null(strstr(buf, "<Hangup"));
	assert_int_equal(twiml_escape(buf, sizeof(buf), "a\x01" "b\tc\n"), 12);
	assert_string_equal(buf, "ab&#9;c&#10;");
}

static void test_limits(void **st)
{
	char buf[64];
	twiml_param p[] = { { "From", "+33612345678" } };
	(void)st;
	assert_int_equal(twiml_stream(buf, sizeof(buf), "voice.example.com", p, 1), -ENOSPC);
	assert_int_equal(twiml_stream(buf, sizeof(buf), "", p, 1), -EINVAL);
	assert_int_equal(twiml_escape(buf, 3, "&"), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_stream), cmocka_unit_test(test_escape),
					    cmocka_unit_test(test_limits) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
