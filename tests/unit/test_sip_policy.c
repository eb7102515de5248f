/* test_sip_policy: the INVITE source policy (bridge/sb_policy.c) and the
 * host helpers behind it (bridge/sb_dns.c): defaults in gateway and
 * registered mode, ALLOWED_SOURCES replacing them, "any". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "sb_dns.h"
#include "sb_policy.h"

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

static sb_acl *build(const sb_policy_in *in, bool *open, bool *warn, char *desc, size_t dcap)
{
	sb_acl *a = NULL;
	char err[200] = "";
	assert_int_equal(sb_policy_build(&a, open, warn, in, desc, dcap, err, sizeof(err)), 0);
	return a;
}

static void test_gateway_mode(void **state)
{
	(void)state;
	char desc[512];
	bool open, warn;
	sb_policy_in in = { 0 };
	sb_acl *a = build(&in, &open, &warn, desc, sizeof(desc));
	assert_false(open);
	assert_false(warn);
	assert_true(match(a, "127.0.0.1"));
	assert_true(match(a, "::1"));
	assert_true(match(a, "::ffff:127.0.0.1"));
	assert_false(match(a, "127.0.0.2")); /* the rest of 127/8 is "another host" */
	assert_false(match(a, "192.168.1.50"));
	assert_non_null(strstr(desc, "loopback"));
	sb_acl_destroy(a);

	in.gateway = "192.168.1.50,10.1.0.0/16";
	a = build(&in, &open, &warn, desc, sizeof(desc));
	assert_true(match(a, "192.168.1.50"));
	assert_true(match(a, "10.1.2.3"));
	assert_true(match(a, "127.0.0.1"));
	assert_false(match(a, "192.168.1.51"));
	assert_non_null(strstr(desc, "SIP_GATEWAY 192.168.1.50"));
	sb_acl_destroy(a);
}

static void test_registered_mode(void **state)
{
	(void)state;
	char desc[512];
	bool open, warn;
	sb_policy_in in = { .registered = true, .registrar_host = "sip3.ovh.fr" };
	sb_acl *a = build(&in, &open, &warn, desc, sizeof(desc));
	/* not resolved yet: loopback only */
	assert_true(match(a, "127.0.0.1"));
	assert_false(match(a, "91.121.129.20"));
	assert_non_null(strstr(desc, "not resolved yet"));
	sb_acl_destroy(a);

	in.registrar_addrs = "91.121.129.20,91.121.129.21,2001:41d0::5";
	a = build(&in, &open, &warn, desc, sizeof(desc));
	assert_true(match(a, "91.121.129.20"));
	assert_true(match(a, "91.121.129.21"));
	assert_true(match(a, "2001:41d0::5"));
	assert_true(match(a, "::1"));
	assert_false(match(a, "91.121.129.22"));
	assert_false(match(a, "127.0.0.4"));
	assert_non_null(strstr(desc, "registrar sip3.ovh.fr (91.121.129.20"));
	sb_acl_destroy(a);

	/* A malformed lookup result is refused, not half-applied. */
	in.registrar_addrs = "91.121.129.20,bogus";
	char err[200] = "";
	a = (sb_acl *)1;
	assert_int_equal(sb_policy_build(&a, &open, &warn, &in, desc, sizeof(desc), err, sizeof(err)), -EINVAL);
	assert_null(a);
}

static void test_allowed_replaces(void **state)
{
	(void)state;
	char desc[512];
	bool open, warn;
	sb_policy_in in = { .allowed = "192.0.2.0/24", .gateway = "198.51.100.1", .registered = true,
			    .registrar_addrs = "203.0.113.5" };
	sb_acl *a = build(&in, &open, &warn, desc, sizeof(desc));
	assert_false(open);
	assert_false(warn);
	assert_true(match(a, "192.0.2.77"));
	assert_false(match(a, "127.0.0.1")); /* no implicit loopback once the list is given */
	assert_false(match(a, "198.51.100.1"));
	assert_false(match(a, "203.0.113.5"));
	sb_acl_destroy(a);

	static const char *opens[] = { "any", " ANY ", "0.0.0.0/0,::/0", "::/0, 0.0.0.0/0" };
	for (size_t i = 0; i < sizeof(opens) / sizeof(opens[0]); i++) {
		in.allowed = opens[i];
		a = build(&in, &open, &warn, desc, sizeof(desc));
		assert_null(a);
		assert_true(open);
		assert_true(warn);
		assert_non_null(strstr(desc, "anyone"));
	}
	in.allowed = "0.0.0.0/0"; /* IPv4 wide open: allowed, but warned about */
	a = build(&in, &open, &warn, desc, sizeof(desc));
	assert_false(open);
	assert_true(warn);
	assert_true(match(a, "203.0.113.9"));
	assert_false(match(a, "2001:db8::1"));
	sb_acl_destroy(a);

	char err[200] = "";
	in.allowed = "anyone";
	assert_int_equal(sb_policy_build(&a, &open, &warn, &in, desc, sizeof(desc), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ALLOWED_SOURCES"));
}

static void test_host_of(void **state)
{
	(void)state;
	static const char *cases[][2] = {
		{ "sip3.ovh.fr", "sip3.ovh.fr" },       { "sip3.ovh.fr:5060", "sip3.ovh.fr" },
		{ "127.0.0.4:5999", "127.0.0.4" },      { "[2001:db8::1]:5060", "2001:db8::1" },
		{ "2001:db8::1", "2001:db8::1" },       { "sip:trunk.example;transport=tcp", "trunk.example" },
		{ "sip:user@host.example:5070", "host.example" },
	};
	char h[256];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(sb_dns_host_of(cases[i][0], h, sizeof(h)), 0);
		assert_string_equal(h, cases[i][1]);
	}
	assert_int_equal(sb_dns_host_of("[::1", h, sizeof(h)), -EINVAL);
	assert_int_equal(sb_dns_host_of(":5060", h, sizeof(h)), -EINVAL);
	assert_int_equal(sb_dns_host_of("", h, sizeof(h)), -EINVAL);
}

static void test_resolve_expand(void **state)
{
	(void)state;
	char out[512], err[200];
	assert_int_equal(sb_dns_resolve("192.0.2.7", out, sizeof(out)), 0);
	assert_string_equal(out, "192.0.2.7");
	assert_int_equal(sb_dns_resolve("::1", out, sizeof(out)), 0);
	assert_string_equal(out, "::1");
	assert_int_equal(sb_dns_resolve("no-such-host.invalid", out, sizeof(out)), -ENOENT);

	assert_int_equal(sb_dns_expand(" 192.0.2.7 ,10.0.0.0/8,, 2001:db8::/32", "SIP_GATEWAY", out, sizeof(out), err,
				       sizeof(err)), 0);
	assert_string_equal(out, "192.0.2.7,10.0.0.0/8,2001:db8::/32");
	assert_int_equal(sb_dns_expand("localhost", "SIP_GATEWAY", out, sizeof(out), err, sizeof(err)), 0);
	assert_non_null(strstr(out, "127.0.0.1"));
	assert_int_equal(sb_dns_expand("gw.invalid", "SIP_GATEWAY", out, sizeof(out), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "SIP_GATEWAY: cannot resolve \"gw.invalid\""));
	assert_int_equal(sb_dns_expand("a b", "SIP_GATEWAY", out, sizeof(out), err, sizeof(err)), -EINVAL);
	assert_int_equal(sb_dns_expand("1.2.3.4,5.6.7.8", "X", out, 10, err, sizeof(err)), -EINVAL);
}

static int kicks;
static void on_kick(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&kicks, 1, __ATOMIC_SEQ_CST);
}

static void test_async(void **state)
{
	(void)state;
	sb_dns *d = NULL;
	char out[256];
	assert_int_equal(sb_dns_new(&d, on_kick, NULL), 0);
	assert_int_equal(sb_dns_take(d, out, sizeof(out)), 0);
	assert_int_equal(sb_dns_start(d, "192.0.2.9"), 0);
	for (int i = 0; i < 500 && !__atomic_load_n(&kicks, __ATOMIC_SEQ_CST); i++)
		usleep(10000);
	assert_int_equal(kicks, 1);
	assert_int_equal(sb_dns_take(d, out, sizeof(out)), 1);
	assert_string_equal(out, "192.0.2.9");
	assert_int_equal(sb_dns_take(d, out, sizeof(out)), 0);
	/* Destroyed while a lookup runs: no kick afterwards, no leak. */
	assert_int_equal(sb_dns_start(d, "localhost"), 0);
	sb_dns_destroy(d);
	usleep(200000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gateway_mode),   cmocka_unit_test(test_registered_mode),
		cmocka_unit_test(test_allowed_replaces), cmocka_unit_test(test_host_of),
		cmocka_unit_test(test_resolve_expand), cmocka_unit_test(test_async),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
