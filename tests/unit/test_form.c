/* form: x-www-form-urlencoded decoding of hostile input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "form.h"

static void test_basic(void **st)
{
	form f;
	static const char *s = "From=%2B33+6%2012&To=&CallSid=CA1&flag&a=1=2&&x=%e2%82%ac";
	(void)st;
	assert_int_equal(form_parse(&f, s, strlen(s)), 0);
	assert_int_equal(f.n, 6);
	assert_string_equal(form_get(&f, "From"), "+33 6 12");
	assert_string_equal(form_get(&f, "To"), "");
	assert_string_equal(form_get(&f, "flag"), "");
	assert_string_equal(form_get(&f, "a"), "1=2");
	assert_string_equal(form_get(&f, "x"), "\xe2\x82\xac");
	assert_null(form_get(&f, "missing"));
	assert_int_equal(form_parse(&f, "", 0), 0);
	assert_int_equal(f.n, 0);
}

static void test_hostile(void **st)
{
	form *f = malloc(sizeof(*f));
	char *big;
	(void)st;
	assert_int_equal(form_parse(f, "a=%", 3), -EINVAL);
	assert_int_equal(form_parse(f, "a=%4", 4), -EINVAL);
	assert_int_equal(form_parse(f, "a=%zz", 5), -EINVAL);
	assert_int_equal(form_parse(f, "a=%00b", 6), -EINVAL); /* embedded NUL */
	assert_int_equal(form_parse(f, "a=\0b", 4), -EINVAL);
	big = malloc(70000);
	memset(big, 'a', 70000);
	assert_int_equal(form_parse(f, big, 70000), -ENOSPC);
	for (int i = 0; i < 70000; i += 2) {
		big[i] = 'k';
		big[i + 1] = '&';
	}
	assert_int_equal(form_parse(f, big, 70000), -E2BIG);
	/* length given, not NUL-terminated: bytes after len are not read */
	memcpy(big, "a=1&b=2", 7);
	assert_int_equal(form_parse(f, big, 3), 0);
	assert_int_equal(f->n, 1);
	assert_string_equal(form_get(f, "a"), "1");
	free(big);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_basic), cmocka_unit_test(test_hostile) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
