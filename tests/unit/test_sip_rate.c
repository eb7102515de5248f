/* test_sip_rate: per-source INVITE token buckets (bridge/sb_rate.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "sb_rate.h"

static struct sockaddr_in v4(const char *ip, int port)
{
	struct sockaddr_in s;
	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &s.sin_addr);
	return s;
}

static void test_bucket(void **state)
{
	(void)state;
	sb_rate *r = NULL;
	assert_int_equal(sb_rate_new(&r, 5, 10, 64), 0);
	struct sockaddr_in a = v4("192.0.2.1", 5060), a2 = v4("192.0.2.1", 5070), b = v4("192.0.2.2", 5060);
	int ok = 0;
	for (int i = 0; i < 40; i++) /* same source, any port: one bucket */
		ok += sb_rate_allow(r, (struct sockaddr *)(i % 2 ? &a : &a2), 1000);
	assert_int_equal(ok, 10);
	assert_true(sb_rate_allow(r, (struct sockaddr *)&b, 1000)); /* others unaffected */
	assert_false(sb_rate_allow(r, (struct sockaddr *)&a, 1100)); /* 0.5 token */
	assert_true(sb_rate_allow(r, (struct sockaddr *)&a, 1200));  /* 1 token after 200 ms */
	assert_false(sb_rate_allow(r, (struct sockaddr *)&a, 1200));
	ok = 0;
	for (int i = 0; i < 40; i++) /* a long pause refills to the burst, not beyond */
		ok += sb_rate_allow(r, (struct sockaddr *)&a, 100000);
	assert_int_equal(ok, 10);
	assert_false(sb_rate_allow(r, (struct sockaddr *)&a, 50)); /* time going back: no refill */

	struct sockaddr_in6 s6;
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr);
	ok = 0;
	for (int i = 0; i < 20; i++)
		ok += sb_rate_allow(r, (struct sockaddr *)&s6, 1000);
	assert_int_equal(ok, 10);
	struct sockaddr un = { .sa_family = AF_UNIX };
	assert_true(sb_rate_allow(r, &un, 0));
	assert_true(sb_rate_allow(NULL, (struct sockaddr *)&a, 0));
	sb_rate_destroy(r);
}

static void test_many_sources(void **state)
{
	(void)state;
	/* More sources than slots: memory stays bounded, nothing crashes, and a
	 * source that keeps its slot is still limited. */
	sb_rate *r = NULL;
	assert_int_equal(sb_rate_new(&r, 1, 2, 16), 0);
	char ip[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
		struct sockaddr_in s = v4(ip, 1);
		sb_rate_allow(r, (struct sockaddr *)&s, (uint64_t)i);
	}
	sb_rate_destroy(r);
	assert_int_equal(sb_rate_new(&r, 0, 2, 16), -EINVAL);
	assert_int_equal(sb_rate_new(&r, 1, 0, 16), -EINVAL);
	assert_int_equal(sb_rate_new(&r, 1, 2, 0), -EINVAL);
	assert_null(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_many_sources),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
