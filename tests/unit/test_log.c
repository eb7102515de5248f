/* log: line format, levels, control-char escaping, truncation, one write per line. */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

static int saved_fd = -1;
static char cap_path[] = "/tmp/test_log_XXXXXX";
static int cap_fd = -1;

/* Point fd 2 at a temp file; return what was written since. */
static void capture_start(void)
{
	cap_fd = mkstemp(cap_path);
	assert_true(cap_fd >= 0);
	unlink(cap_path);
	strcpy(cap_path, "/tmp/test_log_XXXXXX");
	saved_fd = dup(2);
	dup2(cap_fd, 2);
}

static char *capture_end(void)
{
	static char out[65536];
	dup2(saved_fd, 2);
	close(saved_fd);
	off_t n = lseek(cap_fd, 0, SEEK_END);
	assert_true(n >= 0 && (size_t)n < sizeof(out));
	assert_int_equal(pread(cap_fd, out, (size_t)n, 0), n);
	out[n] = '\0';
	close(cap_fd);
	return out;
}

static void format(void **state)
{
	(void)state;
	log_init("/usr/bin/voiceproxy");
	log_set_level(LOGL_INFO);
	capture_start();
	log_info("CA0123", "stream %s started", "MZ1");
	log_warn(NULL, "no call");
	log_debug("CA0123", "hidden at info");
	char *out = capture_end();

	regex_t re;
	assert_int_equal(regcomp(&re,
		"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z INFO  voiceproxy \\[CA0123\\] stream MZ1 started\n"
		"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z WARN  voiceproxy \\[-\\] no call\n$",
		REG_EXTENDED), 0);
	if (regexec(&re, out, 0, NULL, 0) != 0)
		fail_msg("unexpected log output:\n%s", out);
	regfree(&re);
}

static void levels(void **state)
{
	(void)state;
	log_level l;
	assert_int_equal(log_get_level(), LOGL_INFO); /* default (set again in format, same value) */
	assert_int_equal(log_level_parse("debug", &l), 0);
	assert_int_equal(l, LOGL_DEBUG);
	assert_int_equal(log_level_parse("ERROR", &l), 0);
	assert_int_equal(l, LOGL_ERROR);
	assert_int_equal(log_level_parse("warn", &l), 0);
	assert_int_equal(l, LOGL_WARN);
	assert_int_equal(log_level_parse("info", &l), 0);
	assert_int_equal(l, LOGL_INFO);
	assert_int_equal(log_level_parse("verbose", &l), -EINVAL);
	assert_int_equal(log_level_parse("", &l), -EINVAL);
	assert_int_equal(log_level_parse(NULL, &l), -EINVAL);

	log_set_level(LOGL_ERROR);
	assert_false(log_enabled(LOGL_WARN));
	capture_start();
	log_warn("x", "dropped");
	log_err("x", "kept");
	log_set_level(LOGL_DEBUG);
	log_debug("x", "debug kept");
	char *out = capture_end();
	assert_null(strstr(out, "dropped"));
	assert_non_null(strstr(out, "ERROR voiceproxy [x] kept\n"));
	assert_non_null(strstr(out, "DEBUG voiceproxy [x] debug kept\n"));
	log_set_level(LOGL_INFO);
}

static void injection_escaped(void **state)
{
	(void)state;
	capture_start();
	log_info("CA\n1", "from=%s", "evil\r\n2026-01-01T00:00:00.000Z ERROR fake\x1b[31m");
	char *out = capture_end();
	/* exactly one line */
	assert_int_equal(strchr(out, '\n') - out, (long)strlen(out) - 1);
	assert_non_null(strstr(out, "[CA\\x0a1] from=evil\\x0d\\x0a2026-01-01T00:00:00.000Z ERROR fake\\x1b[31m\n"));
}

static void truncation(void **state)
{
	(void)state;
	static char big[20000];
	memset(big, 'x', sizeof(big) - 1);
	capture_start();
	log_info(NULL, "%s", big);
	big[100] = '\n';
	log_info(NULL, "%s", big); /* escapes expand but still one bounded line */
	char *out = capture_end();
	char *nl = strchr(out, '\n');
	assert_non_null(nl);
	assert_true(nl - out < 4096);
	assert_memory_equal(nl - 12, " [truncated]", 12);
	char *nl2 = strchr(nl + 1, '\n');
	assert_non_null(nl2);
	assert_true(nl2 - nl - 1 < 4096);
	assert_memory_equal(nl2 - 12, " [truncated]", 12);
	assert_int_equal(nl2[1], '\0');
	/* short lines carry no marker */
	capture_start();
	log_info(NULL, "short");
	out = capture_end();
	assert_null(strstr(out, "truncated"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(format),
		cmocka_unit_test(levels),
		cmocka_unit_test(injection_escaped),
		cmocka_unit_test(truncation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
