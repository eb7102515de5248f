/* test_sip_acl: ALLOWED_SOURCES parsing and matching (bridge/sb_acl.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "sb_acl.h"

static bool match(const sb_acl *a, const char *ip)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	}
	return sb_acl_match(a, (struct sockaddr *)&ss);
}

static void test_match(void **state)
{
	(void)state;
	sb_acl *a = NULL;
	char err[128];
	assert_int_equal(sb_acl_parse(&a, " 192.0.2.0/24, 198.51.100.7 ,2001:db8::/32,10.0.0.0/9", err, sizeof(err)), 0);
	assert_int_equal(sb_acl_count(a), 4);
	assert_true(match(a, "192.0.2.1"));
	assert_true(match(a, "192.0.2.255"));
	assert_false(match(a, "192.0.3.1"));
	assert_true(match(a, "198.51.100.7"));
	assert_false(match(a, "198.51.100.8"));
	assert_true(match(a, "10.127.255.255"));
	assert_false(match(a, "10.128.0.0"));
	assert_true(match(a, "2001:db8:1::5"));
	assert_false(match(a, "2001:db9::1"));
	assert_true(match(a, "::ffff:192.0.2.9")); /* v4-mapped on a dual-stack socket */
	assert_false(match(a, "::ffff:192.0.3.9"));
	assert_false(sb_acl_match(a, NULL));
	sb_acl_destroy(a);

	assert_int_equal(sb_acl_parse(&a, "0.0.0.0/0", err, sizeof(err)), 0);
	assert_true(match(a, "203.0.113.1"));
	assert_false(match(a, "2001:db8::1"));
	sb_acl_destroy(a);
	assert_int_equal(sb_acl_parse(&a, "", err, sizeof(err)), 0); /* empty list: nobody */
	assert_false(match(a, "127.0.0.1"));
	sb_acl_destroy(a);
}

static void test_bad(void **state)
{
	(void)state;
	static const char *bad[] = {
		"10.0.0.0/33", "2001:db8::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x", "host.example",
		"1.2.3", "1.2.3.4,,nope", "256.1.1.1", "1.2.3.4/8/8",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sb_acl *a = (sb_acl *)1;
		char err[160] = "";
		assert_int_equal(sb_acl_parse(&a, bad[i], err, sizeof(err)), -EINVAL);
		assert_null(a);
		assert_non_null(strstr(err, "ALLOWED_SOURCES"));
	}
	/* More entries than the table holds. */
	char many[4096] = "";
	for (int i = 0; i < SB_ACL_MAX + 1; i++)
		strcat(many, "127.0.0.1,");
	sb_acl *a = NULL;
	char err[160];
	assert_int_equal(sb_acl_parse(&a, many, err, sizeof(err)), -EINVAL);
	assert_null(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
