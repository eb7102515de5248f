/* base64: RFC 4648 vectors and strict rejection. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "b64.h"

static const char *const rfc[][2] = {
	{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
	{"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

static void rfc4648_vectors(void **state)
{
	(void)state;
	char enc[64];
	uint8_t dec[64];
	for (size_t i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++) {
		size_t n = strlen(rfc[i][0]);
		assert_int_equal(b64_encode(enc, (const uint8_t *)rfc[i][0], n), strlen(rfc[i][1]));
		assert_string_equal(enc, rfc[i][1]);
		assert_int_equal(B64_ENC_LEN(n), strlen(rfc[i][1]));
		int r = b64_decode(dec, sizeof(dec), rfc[i][1], strlen(rfc[i][1]));
		assert_int_equal(r, (int)n);
		assert_memory_equal(dec, rfc[i][0], n);
	}
}

static void all_bytes_roundtrip(void **state)
{
	(void)state;
	uint8_t src[256], dec[256];
	char enc[B64_ENC_LEN(256) + 1];
	for (int i = 0; i < 256; i++)
		src[i] = (uint8_t)(255 - i);
	for (size_t n = 0; n <= 256; n++) {
		size_t e = b64_encode(enc, src, n);
		assert_int_equal(e, B64_ENC_LEN(n));
		assert_int_equal(enc[e], '\0');
		assert_true(B64_DEC_MAX(e) >= n);
		assert_int_equal(b64_decode(dec, n, enc, e), (int)n); /* exact cap */
		assert_memory_equal(dec, src, n);
	}
}

static void rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"Zm9v\n", "Zm9 v", " Zm9v", "Zm9v\r\n", /* whitespace */
		"Zm9*", "Zm-v", "Zm_v", "Zm9\x80", /* outside alphabet (url-safe too) */
		"Zg=", "Zg", "Zm9vY", "Z", /* length */
		"Z===", "====", "=Zm9", "Zm=v", "Zg==Zm9v", "Zm9v=", "Zg=a", /* padding */
		"Zh==", "Zm9=", "Zm+=", /* non-zero trailing bits */
	};
	uint8_t dec[64];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = b64_decode(dec, sizeof(dec), bad[i], strlen(bad[i]));
		if (r != -EINVAL)
			fail_msg("\"%s\" gave %d, want -EINVAL", bad[i], r);
	}
	/* embedded NUL is just another bad byte */
	assert_int_equal(b64_decode(dec, sizeof(dec), "Zm\0v", 4), -EINVAL);
	/* b64_check: the same verdict without writing */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (b64_check(bad[i], strlen(bad[i])) != -EINVAL)
			fail_msg("b64_check(\"%s\") accepted it", bad[i]);
	assert_int_equal(b64_check("Zm\0v", 4), -EINVAL);
	assert_int_equal(b64_check("", 0), 0);
	assert_int_equal(b64_check("Zg==", 4), 1);
	assert_int_equal(b64_check("Zm8=", 4), 2);
	assert_int_equal(b64_check("Zm9vYmFy", 8), 6);
}

static void nospace(void **state)
{
	(void)state;
	uint8_t dec[8];
	memset(dec, 0xAB, sizeof(dec));
	assert_int_equal(b64_decode(dec, 5, "Zm9vYmFy", 8), -ENOSPC);
	assert_int_equal(b64_decode(dec, 2, "Zm9v", 4), -ENOSPC);
	assert_int_equal(b64_decode(dec, 2, "Zm8=", 4), 2);
	assert_int_equal(b64_decode(dec, 0, "Zg==", 4), -ENOSPC);
	assert_int_equal(b64_decode(NULL, 0, "", 0), 0);
	assert_int_equal(dec[2], 0xAB); /* nothing written past cap */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc4648_vectors),
		cmocka_unit_test(all_bytes_roundtrip),
		cmocka_unit_test(rejects),
		cmocka_unit_test(nospace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
