/* config: precedence (.env < environment < CLI), every error message,
 * redaction, aliases, key=value lists, the .env syntax, --help/--version. */
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

#include "config.h"
#include "log.h"

static const cfg_var vars[] = {
	{"SIP_PORT", NULL, "sip-port", CFG_PORT, "5060", 1, 65535, 0, NULL, "local SIP port"},
	{"SIP_DOMAIN", "SIP_SERVER", "sip-domain", CFG_STR, NULL, 0, 0, 0, NULL, "registrar host[:port]"},
	{"SIP_PASSWORD", NULL, "sip-password", CFG_STR, NULL, 0, 0, CFG_SECRET, NULL, "trunk password"},
	{"OPENAI_API_KEY", NULL, NULL, CFG_STR, NULL, 0, 0, CFG_REQUIRED | CFG_SECRET, NULL, "Realtime API key"},
	{"SECRET_NUM", NULL, "secret-num", CFG_INT, "7", 1, 100, CFG_SECRET, NULL, "a secret number"},
	{"RTP_PORT_MIN", NULL, NULL, CFG_PORT, "10000", 1, 65535, 0, NULL, "RTP range start"},
	{"RTP_PORT_MAX", NULL, NULL, CFG_PORT, "20000", 1, 65535, 0, NULL, "RTP range end"},
	{"TEST_PORT0", NULL, "test-port0", CFG_PORT, "0", 0, 65535, 0, NULL, "0 = any"},
	{"HIGH_PORT", NULL, NULL, CFG_PORT, "10000", 1024, 0, 0, NULL, "unprivileged"},
	{"MAX_CALLS", NULL, "max-calls", CFG_INT, "500", 1, 100000, 0, NULL, "admission limit"},
	{"LOG_LEVEL", NULL, "log-level", CFG_LEVEL, "info", 0, 0, 0, NULL, "error, warn, info, debug"},
	{"DEBUG_X", NULL, "debug-x", CFG_BOOL, "false", 0, 0, 0, NULL, "a flag"},
	{"WS_URL", NULL, "ws-url", CFG_URL, "ws://127.0.0.1:5050/media-stream", 0, 0, 0, "ws,wss", "stream target"},
	{"PARAM", NULL, "param", CFG_KV, NULL, 0, 0, 0, NULL, "customParameters"},
};
#define NV (sizeof(vars) / sizeof(vars[0]))

static const char *const envnames[] = {
	"SIP_PORT", "SIP_DOMAIN", "SIP_SERVER", "SIP_PASSWORD", "OPENAI_API_KEY", "SECRET_NUM",
	"RTP_PORT_MIN", "RTP_PORT_MAX", "TEST_PORT0", "HIGH_PORT", "MAX_CALLS", "LOG_LEVEL", "DEBUG_X", "WS_URL",
	"PARAM", "ENV_FILE",
};

static char tmpdir[] = "/tmp/test_config_XXXXXX";
static char envpath[256];

static int setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(envnames) / sizeof(envnames[0]); i++)
		unsetenv(envnames[i]);
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(envpath, sizeof(envpath), "%s/.env", tmpdir);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	unlink(envpath);
	rmdir(tmpdir);
	return 0;
}

static void write_env(const char *text)
{
	FILE *f = fopen(envpath, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Run fn with fd `fd` redirected to a temp file; return what it wrote. */
static char *capture_fd(int fd, int (*fn)(void *), void *arg, int *ret)
{
	static char out[16384];
	char path[] = "/tmp/test_config_out_XXXXXX";
	int tfd = mkstemp(path), saved;
	assert_true(tfd >= 0);
	unlink(path);
	fflush(stdout);
	fflush(stderr);
	saved = dup(fd);
	dup2(tfd, fd);
	*ret = fn(arg);
	fflush(stdout);
	fflush(stderr);
	dup2(saved, fd);
	close(saved);
	ssize_t n = pread(tfd, out, sizeof(out) - 1, 0);
	assert_true(n >= 0);
	out[n] = '\0';
	close(tfd);
	return out;
}

static cfg *mk(void)
{
	cfg *c;
	assert_int_equal(cfg_new(&c, vars, NV), 0);
	return c;
}

#define ARGV(...) ((char *[]){"prog", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"prog", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(c, err, ...) cfg_parse_args((c), ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), NULL, NULL, NULL, "usage", "v1", (err), sizeof(err))

static int bad_new(void *p)
{
	static const cfg_var badtab[] = {{"P", NULL, NULL, CFG_PORT, "x", 1, 65535}};
	return cfg_new(p, badtab, 1);
}

static void defaults_and_getters(void **state)
{
	(void)state;
	cfg *c = mk();
	assert_int_equal(cfg_int(c, "SIP_PORT"), 5060);
	assert_string_equal(cfg_str(c, "SIP_PORT"), "5060");
	assert_false(cfg_isset(c, "SIP_PORT"));
	assert_null(cfg_str(c, "SIP_DOMAIN"));
	assert_int_equal(cfg_int(c, "MAX_CALLS"), 500);
	assert_int_equal(cfg_int(c, "LOG_LEVEL"), LOGL_INFO);
	assert_false(cfg_bool(c, "DEBUG_X"));
	assert_string_equal(cfg_str(c, "WS_URL"), "ws://127.0.0.1:5050/media-stream");
	assert_int_equal(cfg_kv_count(c, "PARAM"), 0);
	assert_null(cfg_str(c, "NOPE"));
	assert_int_equal(cfg_int(c, "NOPE"), 0);
	assert_false(cfg_isset(c, "NOPE"));

	char err[256];
	assert_int_equal(cfg_set(c, "LOG_LEVEL", "DEBUG", err, sizeof(err)), 0);
	assert_int_equal(cfg_int(c, "LOG_LEVEL"), LOGL_DEBUG);
	assert_int_equal(cfg_set(c, "DEBUG_X", "On", err, sizeof(err)), 0);
	assert_true(cfg_bool(c, "DEBUG_X"));
	assert_true(cfg_isset(c, "DEBUG_X"));
	assert_int_equal(cfg_set(c, "TEST_PORT0", "0", err, sizeof(err)), 0); /* min 0: port 0 allowed */
	assert_int_equal(cfg_set(c, "HIGH_PORT", "1024", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(c, "HIGH_PORT", "65535", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(c, "SIP_PORT", "65535", err, sizeof(err)), 0);
	assert_int_equal(cfg_int(c, "SIP_PORT"), 65535);
	/* empty = unset: back to the default */
	assert_int_equal(cfg_set(c, "SIP_PORT", "", err, sizeof(err)), 0);
	assert_int_equal(cfg_int(c, "SIP_PORT"), 5060);
	assert_false(cfg_isset(c, "SIP_PORT"));
	assert_int_equal(cfg_set(c, "NOPE", "1", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "config: unknown setting NOPE");
	cfg_destroy(c);
	cfg_destroy(NULL);

	/* a bad default in the table is refused */
	int r = -1;
	char *out = capture_fd(2, bad_new, &c, &r);
	assert_int_equal(r, -EINVAL);
	assert_null(c);
	assert_non_null(strstr(out, "config: P: \"x\" is not a port (1-65535)"));
}

static void error_messages(void **state)
{
	(void)state;
	static const struct { const char *name, *val, *msg; } cases[] = {
		{"SIP_PORT", "abc", "config: SIP_PORT: \"abc\" is not a port (1-65535)"},
		{"SIP_PORT", "0", "config: SIP_PORT: \"0\" is not a port (1-65535)"},
		{"SIP_PORT", "65536", "config: SIP_PORT: \"65536\" is not a port (1-65535)"},
		{"SIP_PORT", "50 60", "config: SIP_PORT: \"50 60\" is not a port (1-65535)"},
		{"SIP_PORT", "-1", "config: SIP_PORT: \"-1\" is not a port (1-65535)"},
		{"SIP_PORT", "5060x", "config: SIP_PORT: \"5060x\" is not a port (1-65535)"},
		{"HIGH_PORT", "80", "config: HIGH_PORT: \"80\" is not a port (1024-65535)"},
		{"HIGH_PORT", "0", "config: HIGH_PORT: \"0\" is not a port (1024-65535)"},
		{"MAX_CALLS", "0", "config: MAX_CALLS: \"0\" is not an integer in 1-100000"},
		{"MAX_CALLS", "99999999999999999999", "config: MAX_CALLS: \"99999999999999999999\" is not an integer in 1-100000"},
		{"LOG_LEVEL", "loud", "config: LOG_LEVEL: \"loud\" is not a level (error, warn, info, debug)"},
		{"DEBUG_X", "maybe", "config: DEBUG_X: \"maybe\" is not a boolean (true/false, yes/no, on/off, 1/0)"},
		{"WS_URL", "http://x/", "config: WS_URL: \"http://x/\" is not a URL (scheme: ws,wss)"},
		{"WS_URL", "ws://", "config: WS_URL: \"ws://\" is not a URL (scheme: ws,wss)"},
		{"WS_URL", "wsx://h", "config: WS_URL: \"wsx://h\" is not a URL (scheme: ws,wss)"},
		{"PARAM", "novalue", "config: PARAM: \"novalue\" is not key=value"},
		{"PARAM", "=v", "config: PARAM: \"=v\" is not key=value"},
		/* secrets never echo their value */
		{"SECRET_NUM", "hunter2", "config: SECRET_NUM: \"***\" is not an integer in 1-100"},
		/* control characters cannot split the line */
		{"SIP_PORT", "1\n2", "config: SIP_PORT: \"1 2\" is not a port (1-65535)"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cfg *c = mk();
		char err[256] = "";
		assert_int_equal(cfg_set(c, cases[i].name, cases[i].val, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, cases[i].msg);
		cfg_destroy(c);
	}
	cfg *c = mk();
	char err[256];
	assert_int_equal(cfg_set(c, "WS_URL", "WSS://h.example/x", err, sizeof(err)), 0);
	assert_int_equal(cfg_check(c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "config: OPENAI_API_KEY is required");
	assert_int_equal(cfg_set(c, "OPENAI_API_KEY", "sk-1", err, sizeof(err)), 0);
	assert_int_equal(cfg_check(c, err, sizeof(err)), 0);
	assert_int_equal(cfg_set(c, "OPENAI_API_KEY", "", err, sizeof(err)), 0); /* empty = missing */
	assert_int_equal(cfg_check(c, err, sizeof(err)), -EINVAL);

	assert_int_equal(cfg_check_range(c, "RTP_PORT_MIN", "RTP_PORT_MAX", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(c, "RTP_PORT_MIN", "20000", err, sizeof(err)), 0);
	assert_int_equal(cfg_check_range(c, "RTP_PORT_MIN", "RTP_PORT_MAX", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(c, "RTP_PORT_MIN", "20000", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(c, "RTP_PORT_MAX", "10000", err, sizeof(err)), 0);
	assert_int_equal(cfg_check_range(c, "RTP_PORT_MIN", "RTP_PORT_MAX", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "config: RTP_PORT_MIN/RTP_PORT_MAX: empty range 20000-10000");
	/* small err buffers are cut, never overflowed */
	char tiny[10];
	assert_int_equal(cfg_set(c, "SIP_PORT", "abc", tiny, sizeof(tiny)), -EINVAL);
	assert_string_equal(tiny, "config: S");
	assert_int_equal(cfg_set(c, "SIP_PORT", "abc", NULL, 0), -EINVAL);
	cfg_destroy(c);
}

static void cli(void **state)
{
	(void)state;
	cfg *c = mk();
	char err[256] = "";
	assert_int_equal(PARSE(c, err, "--sip-port", "5070", "--sip-domain=sip.example.com", "--param",
			       "restaurantId=pizza", "--param=from=+33 1=2", "--debug-x", "--log-level=warn"), 0);
	assert_int_equal(cfg_int(c, "SIP_PORT"), 5070);
	assert_true(cfg_isset(c, "SIP_PORT"));
	assert_string_equal(cfg_str(c, "SIP_DOMAIN"), "sip.example.com");
	assert_true(cfg_bool(c, "DEBUG_X"));
	assert_int_equal(cfg_int(c, "LOG_LEVEL"), LOGL_WARN);
	assert_int_equal(cfg_kv_count(c, "PARAM"), 2);
	const char *k, *v;
	assert_int_equal(cfg_kv_get(c, "PARAM", 0, &k, &v), 0);
	assert_string_equal(k, "restaurantId");
	assert_string_equal(v, "pizza");
	assert_int_equal(cfg_kv_get(c, "PARAM", 1, &k, &v), 0);
	assert_string_equal(k, "from");
	assert_string_equal(v, "+33 1=2");
	assert_int_equal(cfg_kv_get(c, "PARAM", 2, &k, &v), -ENOENT);
	assert_int_equal(cfg_kv_get(c, "NOPE", 0, &k, &v), -ENOENT);
	/* boolean forms */
	assert_int_equal(PARSE(c, err, "--debug-x", "off"), 0);
	assert_false(cfg_bool(c, "DEBUG_X"));
	assert_int_equal(PARSE(c, err, "--debug-x", "--sip-port", "1"), 0);
	assert_true(cfg_bool(c, "DEBUG_X"));
	assert_int_equal(cfg_int(c, "SIP_PORT"), 1);
	assert_int_equal(PARSE(c, err, "--debug-x=no"), 0);
	assert_false(cfg_bool(c, "DEBUG_X"));
	/* a value may start with dashes */
	assert_int_equal(PARSE(c, err, "--sip-password", "--weird--"), 0);
	assert_string_equal(cfg_str(c, "SIP_PASSWORD"), "--weird--");

	const struct { int argc; char **argv; const char *msg; } bad[] = {
		{ARGC("--nope"), ARGV("--nope"), "config: unknown option --nope (see --help)"},
		{ARGC("--nope=1"), ARGV("--nope=1"), "config: unknown option --nope (see --help)"},
		{ARGC("--sip-port"), ARGV("--sip-port"), "config: --sip-port needs a value (SIP_PORT)"},
		{ARGC("--sip-port", "abc"), ARGV("--sip-port", "abc"), "config: SIP_PORT: \"abc\" is not a port (1-65535)"},
		{ARGC("--sip-port=abc"), ARGV("--sip-port=abc"), "config: SIP_PORT: \"abc\" is not a port (1-65535)"},
		{ARGC("stray"), ARGV("stray"), "config: unexpected argument \"stray\" (see --help)"},
		{ARGC("-x"), ARGV("-x"), "config: unexpected argument \"-x\" (see --help)"},
		{ARGC("--param", "novalue"), ARGV("--param", "novalue"), "config: PARAM: \"novalue\" is not key=value"},
		{ARGC("--param="), ARGV("--param="), "config: PARAM: \"\" is not key=value"},
		{ARGC("--max-calls=0"), ARGV("--max-calls=0"), "config: MAX_CALLS: \"0\" is not an integer in 1-100000"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(cfg_parse_args(c, bad[i].argc, bad[i].argv, NULL, NULL, NULL, "u", "v", err, sizeof(err)), -EINVAL);
		assert_string_equal(err, bad[i].msg);
	}
	cfg_destroy(c);
}

static int extra_h(cfg *c, const char *opt, const char *val, char *err, size_t errlen, void *arg)
{
	int *calls = arg;
	unsigned lo, hi;
	char a[16], b[16];
	(*calls)++;
	if (!strcmp(opt, "verbose") && !val)
		return cfg_set(c, "LOG_LEVEL", "debug", err, errlen);
	if (strcmp(opt, "rtp-ports") != 0)
		return -ENOENT;
	if (sscanf(val, "%u-%u", &lo, &hi) != 2) {
		snprintf(err, errlen, "config: --rtp-ports: \"%s\" is not MIN-MAX", val);
		return -EINVAL;
	}
	snprintf(a, sizeof(a), "%u", lo);
	snprintf(b, sizeof(b), "%u", hi);
	int r = cfg_set(c, "RTP_PORT_MIN", a, err, errlen);
	return r < 0 ? r : cfg_set(c, "RTP_PORT_MAX", b, err, errlen);
}

static void extra_options(void **state)
{
	(void)state;
	static const char *const extra[] = {"rtp-ports", NULL};
	cfg *c = mk();
	char err[256] = "";
	int calls = 0;
	char **argv = ARGV("--rtp-ports", "12000-12100", "--verbose");
	assert_int_equal(cfg_parse_args(c, 4, argv, extra, extra_h, &calls, "u", "v", err, sizeof(err)), 0);
	assert_int_equal(calls, 2);
	assert_int_equal(cfg_int(c, "RTP_PORT_MIN"), 12000);
	assert_int_equal(cfg_int(c, "RTP_PORT_MAX"), 12100);
	assert_int_equal(cfg_int(c, "LOG_LEVEL"), LOGL_DEBUG);
	argv = ARGV("--rtp-ports=1-x");
	assert_int_equal(cfg_parse_args(c, 2, argv, extra, extra_h, &calls, "u", "v", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "config: --rtp-ports: \"1-x\" is not MIN-MAX");
	argv = ARGV("--rtp-ports");
	assert_int_equal(cfg_parse_args(c, 2, argv, extra, extra_h, &calls, "u", "v", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "config: --rtp-ports needs a value");
	argv = ARGV("--other");
	assert_int_equal(cfg_parse_args(c, 2, argv, extra, extra_h, &calls, "u", "v", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "config: unknown option --other (see --help)");
	cfg_destroy(c);
}

static cfg *hc;
static int do_help(void *p)
{
	char err[256];
	char **argv = p;
	return cfg_parse_args(hc, 2, argv, NULL, NULL, NULL, "Usage: sipbridge [options]", "sipbridge 1.2.3", err, sizeof(err));
}

static void help_and_version(void **state)
{
	(void)state;
	int r;
	hc = mk();
	char *out = capture_fd(1, do_help, ARGV("--help"), &r);
	assert_int_equal(r, 1);
	assert_true(strncmp(out, "Usage: sipbridge [options]\n", 27) == 0);
	/* every option with its variable name and default; env-only ones too */
	for (size_t i = 0; i < NV; i++) {
		char want[128];
		assert_non_null(strstr(out, vars[i].name));
		if (vars[i].opt) {
			snprintf(want, sizeof(want), "--%s ", vars[i].opt);
			assert_non_null(strstr(out, want));
		}
		if (vars[i].def && !(vars[i].flags & CFG_SECRET)) {
			snprintf(want, sizeof(want), "default %s", vars[i].def);
			assert_non_null(strstr(out, want));
		}
	}
	assert_non_null(strstr(out, "--sip-port PORT"));
	assert_non_null(strstr(out, "SIP_PORT, default 5060. local SIP port"));
	assert_non_null(strstr(out, "SIP_DOMAIN (alias SIP_SERVER)"));
	assert_non_null(strstr(out, "--param KEY=VALUE"));
	assert_non_null(strstr(out, "repeatable"));
	assert_non_null(strstr(out, "OPENAI_API_KEY"));
	assert_non_null(strstr(out, "required"));
	assert_non_null(strstr(out, "--help"));
	assert_non_null(strstr(out, "--version"));
	assert_null(strstr(out, "default 7")); /* secret default redacted */

	out = capture_fd(1, do_help, ARGV("--version"), &r);
	assert_int_equal(r, 1);
	assert_string_equal(out, "sipbridge 1.2.3\n");
	cfg_destroy(hc);
}

static void env_file_syntax(void **state)
{
	(void)state;
	cfg *c = mk();
	char err[256] = "";
	write_env("# comment\r\n"
		  "\n"
		  "   \t\n"
		  "export SIP_PORT=5070\r\n"
		  "SIP_DOMAIN = sip.example.com   # trailing comment\n"
		  "SIP_PASSWORD=\"p#ss \\\"w\\\\rd\\n\"  # quoted\n"
		  "OPENAI_API_KEY='sk-$literal\\n'\n"
		  "UNKNOWN_FOR_OTHER_PROCESS=whatever\n"
		  "PARAM=a=b\n"
		  "WS_URL=wss://h/x#frag\n"
		  "MAX_CALLS=12");
	assert_int_equal(cfg_load_file(c, envpath, err, sizeof(err)), 0);
	assert_int_equal(cfg_int(c, "SIP_PORT"), 5070);
	assert_string_equal(cfg_str(c, "SIP_DOMAIN"), "sip.example.com");
	assert_string_equal(cfg_str(c, "SIP_PASSWORD"), "p#ss \"w\\rd\n");
	assert_string_equal(cfg_str(c, "OPENAI_API_KEY"), "sk-$literal\\n");
	assert_string_equal(cfg_str(c, "WS_URL"), "wss://h/x#frag");
	assert_int_equal(cfg_int(c, "MAX_CALLS"), 12);
	assert_int_equal(cfg_kv_count(c, "PARAM"), 0); /* CLI only */
	/* missing file is not an error */
	assert_int_equal(cfg_load_file(c, "/nonexistent/.env", err, sizeof(err)), 0);
	cfg_destroy(c);

	static const struct { const char *text, *msg; } bad[] = {
		{"SIP_PORT=5060\nnot a setting\n", "config: %s:2: expected KEY=VALUE"},
		{"=5060\n", "config: %s:1: expected KEY=VALUE"},
		{"1SIP=5060\n", "config: %s:1: expected KEY=VALUE"},
		{"SIP_PORT\n", "config: %s:1: expected KEY=VALUE"},
		{"export\n", "config: %s:1: expected KEY=VALUE"},
		{"# ok\nSIP_DOMAIN=\"abc\n", "config: %s:2: unterminated quote"},
		{"SIP_DOMAIN='abc\n", "config: %s:1: unterminated quote"},
		{"SIP_DOMAIN=\"abc\" def\n", "config: %s:1: unexpected text after the closing quote"},
		{"\n\nSIP_PORT=abc\r\n", "config: SIP_PORT: \"abc\" is not a port (1-65535) (%s:3)"},
		{"X=1\nA\0=2\n", "config: %s: contains a NUL byte"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[512];
		FILE *f = fopen(envpath, "w");
		assert_non_null(f);
		fwrite(bad[i].text, 1, i == 9 ? 10 : strlen(bad[i].text), f);
		fclose(f);
		c = mk();
		err[0] = '\0';
		assert_true(cfg_load_file(c, envpath, err, sizeof(err)) < 0);
		snprintf(want, sizeof(want), bad[i].msg, envpath);
		assert_string_equal(err, want);
		cfg_destroy(c);
	}
}

static void aliases(void **state)
{
	(void)state;
	cfg *c = mk();
	char err[256] = "";
	setenv("SIP_SERVER", "alias.example.com", 1);
	assert_int_equal(cfg_load_env(c, err, sizeof(err)), 0);
	assert_string_equal(cfg_str(c, "SIP_DOMAIN"), "alias.example.com");
	assert_string_equal(cfg_str(c, "SIP_SERVER"), "alias.example.com"); /* getter by alias */
	setenv("SIP_DOMAIN", "name.example.com", 1); /* canonical name wins */
	assert_int_equal(cfg_load_env(c, err, sizeof(err)), 0);
	assert_string_equal(cfg_str(c, "SIP_DOMAIN"), "name.example.com");
	assert_int_equal(cfg_set(c, "SIP_SERVER", "set.example.com", err, sizeof(err)), 0);
	assert_string_equal(cfg_str(c, "SIP_DOMAIN"), "set.example.com");
	unsetenv("SIP_DOMAIN");
	unsetenv("SIP_SERVER");
	write_env("SIP_SERVER=file.example.com\n");
	assert_int_equal(cfg_load_file(c, envpath, err, sizeof(err)), 0);
	assert_string_equal(cfg_str(c, "SIP_DOMAIN"), "file.example.com");
	/* PARAM from the environment is ignored (CLI only) */
	setenv("PARAM", "a=b", 1);
	assert_int_equal(cfg_load_env(c, err, sizeof(err)), 0);
	assert_int_equal(cfg_kv_count(c, "PARAM"), 0);
	unsetenv("PARAM");
	/* an invalid environment value names the variable */
	setenv("MAX_CALLS", "lots", 1);
	assert_int_equal(cfg_load_env(c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "config: MAX_CALLS: \"lots\" is not an integer in 1-100000");
	unsetenv("MAX_CALLS");
	cfg_destroy(c);
}

struct load_args { cfg *c; int argc; char **argv; };
static int do_load(void *p)
{
	struct load_args *a = p;
	return cfg_load(a->c, a->argc, a->argv, NULL, NULL, NULL, "usage", "v1");
}

static void precedence(void **state)
{
	(void)state;
	struct load_args a;
	int r;
	char *out;

	write_env("SIP_PORT=5070\nSIP_DOMAIN=file\nMAX_CALLS=10\nOPENAI_API_KEY=sk-file\n");
	setenv("ENV_FILE", envpath, 1);

	/* file only */
	a = (struct load_args){mk(), 1, ARGV(NULL)};
	out = capture_fd(2, do_load, &a, &r);
	assert_int_equal(r, 0);
	assert_string_equal(out, "");
	assert_int_equal(cfg_int(a.c, "SIP_PORT"), 5070);
	assert_string_equal(cfg_str(a.c, "SIP_DOMAIN"), "file");
	cfg_destroy(a.c);

	/* environment beats file */
	setenv("SIP_PORT", "5080", 1);
	setenv("SIP_DOMAIN", "env", 1);
	a = (struct load_args){mk(), 1, ARGV(NULL)};
	out = capture_fd(2, do_load, &a, &r);
	assert_int_equal(r, 0);
	assert_int_equal(cfg_int(a.c, "SIP_PORT"), 5080);
	assert_string_equal(cfg_str(a.c, "SIP_DOMAIN"), "env");
	assert_int_equal(cfg_int(a.c, "MAX_CALLS"), 10);
	cfg_destroy(a.c);

	/* CLI beats environment */
	a = (struct load_args){mk(), ARGC("--sip-port", "5090"), ARGV("--sip-port", "5090")};
	out = capture_fd(2, do_load, &a, &r);
	assert_int_equal(r, 0);
	assert_int_equal(cfg_int(a.c, "SIP_PORT"), 5090);
	assert_string_equal(cfg_str(a.c, "SIP_DOMAIN"), "env");
	assert_int_equal(cfg_int(a.c, "MAX_CALLS"), 10);
	cfg_destroy(a.c);

	/* errors: exactly one line on stderr, negative return */
	setenv("SIP_PORT", "abc", 1);
	a = (struct load_args){mk(), 1, ARGV(NULL)};
	out = capture_fd(2, do_load, &a, &r);
	assert_true(r < 0);
	assert_string_equal(out, "config: SIP_PORT: \"abc\" is not a port (1-65535)\n");
	cfg_destroy(a.c);
	unsetenv("SIP_PORT");

	write_env("SIP_PORT=5070\n");
	a = (struct load_args){mk(), 1, ARGV(NULL)};
	out = capture_fd(2, do_load, &a, &r);
	assert_true(r < 0);
	assert_string_equal(out, "config: OPENAI_API_KEY is required\n");
	cfg_destroy(a.c);

	setenv("OPENAI_API_KEY", "sk-env", 1);
	a = (struct load_args){mk(), ARGC("--bogus"), ARGV("--bogus")};
	out = capture_fd(2, do_load, &a, &r);
	assert_true(r < 0);
	assert_string_equal(out, "config: unknown option --bogus (see --help)\n");
	cfg_destroy(a.c);

	/* --help: 1, nothing on stderr, no required-value error */
	unsetenv("OPENAI_API_KEY");
	a = (struct load_args){mk(), ARGC("--help"), ARGV("--help")};
	out = capture_fd(2, do_load, &a, &r);
	assert_int_equal(r, 1);
	assert_string_equal(out, "");
	cfg_destroy(a.c);

	/* a malformed .env line names file:line */
	write_env("SIP_PORT=5070\nbroken line\n");
	a = (struct load_args){mk(), 1, ARGV(NULL)};
	out = capture_fd(2, do_load, &a, &r);
	assert_true(r < 0);
	char want[512];
	snprintf(want, sizeof(want), "config: %s:2: expected KEY=VALUE\n", envpath);
	assert_string_equal(out, want);
	cfg_destroy(a.c);
	unsetenv("ENV_FILE");
}

static void redaction(void **state)
{
	(void)state;
	cfg *c = mk();
	char err[256], *buf = NULL;
	size_t len = 0;
	assert_int_equal(cfg_set(c, "SIP_PASSWORD", "hunter2", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(c, "OPENAI_API_KEY", "sk-verysecret", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(c, "SECRET_NUM", "42", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(c, "PARAM", "restaurantId=x", err, sizeof(err)), 0);
	FILE *f = open_memstream(&buf, &len);
	cfg_dump(c, f);
	fclose(f);
	assert_null(strstr(buf, "hunter2"));
	assert_null(strstr(buf, "sk-verysecret"));
	assert_null(strstr(buf, "42"));
	assert_non_null(strstr(buf, "SIP_PASSWORD=***\n"));
	assert_non_null(strstr(buf, "OPENAI_API_KEY=***\n"));
	assert_non_null(strstr(buf, "SECRET_NUM=***\n"));
	assert_non_null(strstr(buf, "SIP_PORT=5060\n"));
	assert_non_null(strstr(buf, "SIP_DOMAIN=\n"));
	assert_non_null(strstr(buf, "PARAM=restaurantId=x\n"));
	assert_non_null(strstr(buf, "WS_URL=ws://127.0.0.1:5050/media-stream\n"));
	/* one line per setting */
	size_t lines = 0;
	for (char *p = buf; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, NV);
	free(buf);
	cfg_destroy(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(defaults_and_getters, setup),
		cmocka_unit_test_setup(error_messages, setup),
		cmocka_unit_test_setup(cli, setup),
		cmocka_unit_test_setup(extra_options, setup),
		cmocka_unit_test_setup(help_and_version, setup),
		cmocka_unit_test_setup(env_file_syntax, setup),
		cmocka_unit_test_setup(aliases, setup),
		cmocka_unit_test_setup(precedence, setup),
		cmocka_unit_test_setup(redaction, setup),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
