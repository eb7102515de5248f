/* fallback: FALLBACK_AUDIO loading (fb_load): the shipped prompt, "none",
 * and the one-line refusals (missing, empty, oversized, a directory); and
 * the endReason given to each Realtime failure (relay_fail_kind). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fallback.h"
#include "vcall_int.h"

static char dir[] = "/tmp/vx-test-fb.XXXXXX";

static void write_file(const char *path, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		fputc((int)(i & 0xff), f);
	fclose(f);
}

static void refused(const char *setting, int want_rc, const char *want_msg)
{
	uint8_t *a = (uint8_t *)1;
	size_t n = 1;
	char err[512] = "";

	assert_int_equal(fb_load(setting, &a, &n, err, sizeof(err)), want_rc);
	assert_null(a);
	assert_int_equal(n, 0);
	assert_true(!strncmp(err, "config: FALLBACK_AUDIO: ", 24));
	assert_non_null(strstr(err, want_msg));
	assert_null(strchr(err, '\n'));
}

static void test_refusals(void **st)
{
	char p[256];

	(void)st;
	snprintf(p, sizeof(p), "%s/missing.ulaw", dir);
	refused(p, -ENOENT, "No such file");
	snprintf(p, sizeof(p), "%s/empty.ulaw", dir);
	write_file(p, 0);
	refused(p, -EINVAL, "non-empty");
	snprintf(p, sizeof(p), "%s/big.ulaw", dir);
	write_file(p, FB_MAX_BYTES + 1);
	refused(p, -EFBIG, "at most");
	refused(dir, -EINVAL, "non-empty"); /* a directory */
}

static void test_ok(void **st)
{
	uint8_t *a = NULL;
	size_t n = 0;
	char p[256], err[512] = "";

	(void)st;
	snprintf(p, sizeof(p), "%s/ok.ulaw", dir);
	write_file(p, FB_MAX_BYTES);
	assert_int_equal(fb_load(p, &a, &n, err, sizeof(err)), 0);
	assert_int_equal(n, FB_MAX_BYTES);
	assert_int_equal(a[257], 1);
	free(a);
	/* "none": no prompt */
	a = (uint8_t *)1;
	assert_int_equal(fb_load("none", &a, &n, err, sizeof(err)), 0);
	assert_null(a);
	assert_int_equal(n, 0);
	/* the shipped default, relative to the repo (tests run from there) */
	assert_int_equal(fb_load(FB_DEFAULT_AUDIO, &a, &n, err, sizeof(err)), 0);
	assert_true(n > 8000 && n <= FB_MAX_BYTES); /* a few seconds */
	free(a);
}

/* endReason of a closed Realtime connection (ws.h: "HTTP <status>: …") */
static void test_kind(void **st)
{
	(void)st;
	assert_string_equal(relay_fail_kind(true, "HTTP 429: x"), "openai_dropped");
	assert_string_equal(relay_fail_kind(false, "HTTP 401: Unauthorized"), "openai_auth");
	assert_string_equal(relay_fail_kind(false, "HTTP 403: "), "openai_auth");
	assert_string_equal(relay_fail_kind(false, "HTTP 429: Too Many Requests"), "openai_rate_limited");
	assert_string_equal(relay_fail_kind(false, "HTTP 500: oops"), "openai_unreachable");
	assert_string_equal(relay_fail_kind(false, "connect failed"), "openai_unreachable");
	assert_string_equal(relay_fail_kind(false, NULL), "openai_unreachable");
}

static int setup(void **st)
{
	(void)st;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st)
{
	char cmd[300];

	(void)st;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_refusals), cmocka_unit_test(test_ok),
					    cmocka_unit_test(test_kind) };
	return cmocka_run_group_tests(tests, setup, teardown);
}
