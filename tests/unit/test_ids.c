/* ids: format, randomness, validation of hostile strings. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ids.h"

static void new_ids(void **state)
{
	(void)state;
	char a[ID_SIZE], b[ID_SIZE];
	assert_int_equal(id_new(a, "CA"), 0);
	assert_int_equal(id_new(b, "CA"), 0);
	assert_int_equal(strlen(a), ID_LEN);
	assert_memory_equal(a, "CA", 2);
	for (int i = 2; i < ID_LEN; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	assert_string_not_equal(a, b);
	assert_true(id_valid(a, "CA"));
	assert_true(id_valid(a, NULL));
	assert_false(id_valid(a, "MZ"));
	assert_int_equal(id_new(a, "MZ"), 0);
	assert_true(id_valid(a, "MZ"));
	assert_int_equal(id_new(a, "AC"), 0);
	assert_true(id_valid(a, "AC"));
}

static void bad_prefix(void **state)
{
	(void)state;
	char a[ID_SIZE];
	assert_int_equal(id_new(a, NULL), -EINVAL);
	assert_int_equal(id_new(a, "C"), -EINVAL);
	assert_int_equal(id_new(a, "CAX"), -EINVAL);
	assert_int_equal(id_new(a, "C1"), -EINVAL);
}

static void validation(void **state)
{
	(void)state;
	assert_true(id_valid("CA0123456789abcdef0123456789ABCDEF", "CA"));
	assert_false(id_valid("CA0123456789abcdef0123456789abcde", "CA"));    /* 33 */
	assert_false(id_valid("CA0123456789abcdef0123456789abcdef0", "CA"));  /* 35 */
	assert_false(id_valid("CA0123456789abcdef0123456789abcdeg", "CA"));   /* non-hex */
	assert_false(id_valid("120123456789abcdef0123456789abcdef", NULL));
	assert_false(id_valid("", NULL));
	assert_false(id_valid(NULL, NULL));
	assert_false(id_valid("CA", "CA"));
	assert_false(id_valid("CA0123456789abcdef 123456789abcdef", "CA"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(new_ids),
		cmocka_unit_test(bad_prefix),
		cmocka_unit_test(validation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
