/* tsig: Twilio's published signature vector, tampering, URL port variants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "form.h"
#include "tsig.h"

static const char *VEC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2";
static const char *VEC_BODY =
	"CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212";
static const char *VEC_SIG = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";

static void test_vector(void **st)
{
	form f;
	char sig[TSIG_LEN + 1];
	(void)st;
	assert_int_equal(form_parse(&f, VEC_BODY, strlen(VEC_BODY)), 0);
	assert_int_equal(f.n, 5);
	assert_int_equal(tsig_compute("12345", VEC_URL, &f, sig), 0);
	assert_string_equal(sig, VEC_SIG);
	assert_true(tsig_check("12345", VEC_URL, &f, VEC_SIG));
}

static void test_order_independent(void **st)
{
	static const char *shuffled =
		"To=%2B18005551212&Digits=1234&From=%2B14158675309&CallSid=CA1234567890ABCDE&Caller=%2B14158675309";
	form f;
	(void)st;
	assert_int_equal(form_parse(&f, shuffled, strlen(shuffled)), 0);
	assert_true(tsig_check("12345", VEC_URL, &f, VEC_SIG));
}

static void test_tampered(void **st)
{
	form f;
	static const char *body2 =
		"CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1235&From=%2B14158675309&To=%2B18005551212";
	(void)st;
	assert_int_equal(form_parse(&f, body2, strlen(body2)), 0);
	assert_false(tsig_check("12345", VEC_URL, &f, VEC_SIG)); /* body changed */
	assert_int_equal(form_parse(&f, VEC_BODY, strlen(VEC_BODY)), 0);
	assert_false(tsig_check("12346", VEC_URL, &f, VEC_SIG)); /* other token */
	assert_false(tsig_check("12345", "https://mycompany.com/myapp.php?foo=1&bar=3", &f, VEC_SIG));
	assert_false(tsig_check("12345", VEC_URL, &f, "RSOYDt4T1cUTdK1PDd93/VVr8B8"));  /* truncated */
	assert_false(tsig_check("12345", VEC_URL, &f, "RSOYDt4T1cUTdK1PDd93/VVr8B9="));
	assert_false(tsig_check("12345", VEC_URL, &f, ""));
	assert_false(tsig_check("12345", VEC_URL, &f, NULL));
	assert_false(tsig_check("", VEC_URL, &f, VEC_SIG));
	assert_false(tsig_check("12345", VEC_URL, NULL, VEC_SIG)); /* params dropped */
}

static void test_default_port(void **st)
{
	form f;
	char sig[TSIG_LEN + 1], alt[256];
	(void)st;
	assert_int_equal(form_parse(&f, VEC_BODY, strlen(VEC_BODY)), 0);
	/* Twilio signed with :443, the proxy passed the URL without it, and back */
	assert_int_equal(tsig_compute("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", &f, sig), 0);
	assert_true(tsig_check("12345", VEC_URL, &f, sig));
	assert_true(tsig_check("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", &f, VEC_SIG));
	assert_int_equal(tsig_url_alt(alt, sizeof(alt), "wss://h.example/media-stream"), 32);
	assert_string_equal(alt, "wss://h.example:443/media-stream");
	assert_true(tsig_url_alt(alt, sizeof(alt), "ws://h:80/x?y=1") > 0);
	assert_string_equal(alt, "ws://h/x?y=1");
	assert_true(tsig_url_alt(alt, sizeof(alt), "https://h:8443/x") < 0); /* not the default port */
	assert_true(tsig_url_alt(alt, sizeof(alt), "ftp://h/x") < 0);
	assert_true(tsig_url_alt(alt, sizeof(alt), "https://[::1]/x") > 0);
	assert_string_equal(alt, "https://[::1]:443/x");
	assert_true(tsig_url_alt(alt, 8, "https://h/x") < 0);
	assert_true(tsig_url_alt(alt, sizeof(alt), "https://[::1]:443/x") > 0);
	assert_string_equal(alt, "https://[::1]/x");
	/* two ports is no authority (found by fuzz_tsig): refuse, don't guess */
	assert_true(tsig_url_alt(alt, sizeof(alt), "https://h:443:443/x") < 0);
}

static void test_ws_upgrade(void **st)
{
	char sig[TSIG_LEN + 1];
	(void)st;
	/* a stream upgrade is signed over the wss:// URL alone */
	assert_int_equal(tsig_compute("tok", "wss://a.example/media-stream", NULL, sig), 0);
	assert_int_equal(strlen(sig), TSIG_LEN);
	assert_true(tsig_check("tok", "wss://a.example/media-stream", NULL, sig));
	assert_false(tsig_check("tok", "wss://b.example/media-stream", NULL, sig));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector),       cmocka_unit_test(test_order_independent),
		cmocka_unit_test(test_tampered),     cmocka_unit_test(test_default_port),
		cmocka_unit_test(test_ws_upgrade),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
