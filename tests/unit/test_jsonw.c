/* jsonw: escaping, UTF-8, all-or-nothing appends; output checked with jansson. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "jsonw.h"

static void escaping(void **state)
{
	(void)state;
	char buf[256];
	size_t pos = 0;
	assert_int_equal(jw_str(buf, sizeof(buf), &pos, "a\"b\\c\n\t\x01\x1f/"), 0);
	assert_string_equal(buf, "\"a\\\"b\\\\c\\u000a\\u0009\\u0001\\u001f/\"");
	assert_int_equal(pos, strlen(buf));

	/* parses back to the same string */
	json_error_t je;
	json_t *j = json_loads(buf, JSON_DECODE_ANY, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(j), "a\"b\\c\n\t\x01\x1f/");
	json_decref(j);
}

static void utf8(void **state)
{
	(void)state;
	char buf[256];
	size_t pos = 0;
	assert_int_equal(jw_str(buf, sizeof(buf), &pos, "café €😀"), 0);
	assert_string_equal(buf, "\"café €😀\"");
	/* invalid sequences become U+FFFD: lone continuation, truncated, overlong, surrogate */
	pos = 0;
	assert_int_equal(jw_str(buf, sizeof(buf), &pos, "a\x80" "b\xc3" "c\xc0\xaf" "d\xed\xa0\x80"), 0);
	assert_string_equal(buf, "\"a\\ufffdb\\ufffdc\\ufffd\\ufffdd\\ufffd\\ufffd\\ufffd\"");
	json_error_t je;
	json_t *j = json_loads(buf, JSON_DECODE_ANY, &je);
	assert_non_null(j);
	json_decref(j);
	pos = 0;
	assert_int_equal(jw_str(buf, sizeof(buf), &pos, NULL), 0);
	assert_string_equal(buf, "\"\"");
}

static void appends_and_nospc(void **state)
{
	(void)state;
	char buf[16];
	size_t pos = 0;
	assert_int_equal(jw_raw(buf, sizeof(buf), &pos, "{\"k\":%d,", 42), 0);
	assert_string_equal(buf, "{\"k\":42,");
	assert_int_equal(jw_str(buf, sizeof(buf), &pos, "0123456"), -ENOSPC);
	assert_int_equal(pos, 8);
	assert_string_equal(buf, "{\"k\":42,"); /* cut back */
	assert_int_equal(jw_str(buf, sizeof(buf), &pos, "01234"), 0); /* exactly fits + NUL */
	assert_int_equal(pos, 16 - 1);
	assert_int_equal(jw_raw(buf, sizeof(buf), &pos, "}"), -ENOSPC);
	assert_int_equal(pos, 15);
	assert_int_equal(strlen(buf), 15);
	/* an escape that does not fit entirely is not half written */
	pos = 0;
	assert_int_equal(jw_str(buf, 8, &pos, "ab\n"), -ENOSPC);
	assert_string_equal(buf, "");
	assert_int_equal(jw_str(buf, 0, &pos, "x"), -ENOSPC);
}

/* jw_lit / jw_u64: printf-free appends with jw_raw's contract. */
static void lit_and_u64(void **state)
{
	(void)state;
	char buf[32];
	size_t pos = 0;

	assert_int_equal(jw_lit(buf, sizeof(buf), &pos, "{\"n\":"), 0);
	assert_int_equal(jw_u64(buf, sizeof(buf), &pos, 0), 0);
	assert_int_equal(jw_lit(buf, sizeof(buf), &pos, ","), 0);
	assert_int_equal(jw_u64(buf, sizeof(buf), &pos, UINT64_MAX), 0);
	assert_string_equal(buf, "{\"n\":0,18446744073709551615");
	assert_int_equal(pos, strlen(buf));
	assert_int_equal(pos, 27);
	/* 27 used of 32: 4 more bytes fit with the NUL, 5 do not */
	assert_int_equal(jw_u64(buf, sizeof(buf), &pos, 12345), -ENOSPC);
	assert_int_equal(pos, 27);
	assert_int_equal(buf[27], '\0');
	assert_int_equal(jw_lit(buf, sizeof(buf), &pos, "abcde"), -ENOSPC);
	assert_int_equal(jw_u64(buf, sizeof(buf), &pos, 1234), 0);
	assert_int_equal(pos, 31);
	assert_string_equal(buf + 27, "1234");
	assert_int_equal(jw_lit(buf, sizeof(buf), &pos, ""), 0); /* only the NUL: fits */
	assert_int_equal(jw_lit(buf, sizeof(buf), &pos, "x"), -ENOSPC);
	pos = sizeof(buf);
	assert_int_equal(jw_u64(buf, sizeof(buf), &pos, 1), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(escaping),
		cmocka_unit_test(utf8),
		cmocka_unit_test(appends_and_nospc),
		cmocka_unit_test(lit_and_u64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
