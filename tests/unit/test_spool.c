/* test_spool: the on-disk journal: atomic put/read/remove, sorted listing,
 * leftovers of a crash, hostile entry files, quarantine, dead letter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "spool.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static int setup(void **st)
{
	(void)st;
	snprintf(dir, sizeof(dir), "/tmp/test_spool.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st)
{
	(void)st;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const spool_entry sample = { .kind = "order", .path = "/api/orders", .key = "CA1:call_1",
				    .call_sid = "CA1", .body = "{\"items\":[1],\"from\":\"+33\"}",
				    .created_ms = 1763769541123LL };

static void write_file(const char *name, const char *text)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void t_roundtrip(void **st)
{
	(void)st;
	spool *s;
	char sub[128], n1[SPOOL_NAME_SIZE], n2[SPOOL_NAME_SIZE];
	snprintf(sub, sizeof(sub), "%s/a/b/j", dir); /* created on demand (mkdir -p) */
	assert_int_equal(spool_new(&s, sub), 0);
	assert_int_equal(spool_put(s, &sample, n1), 0);
	assert_int_equal(spool_put(s, &sample, n2), 0);
	assert_true(strcmp(n1, n2) < 0); /* creation order */
	char **names;
	size_t n;
	assert_int_equal(spool_list(s, &names, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], n1);
	spool_list_free(names, n);
	spool_entry e;
	assert_int_equal(spool_read(s, n1, &e), 0);
	assert_string_equal(e.kind, "order");
	assert_string_equal(e.path, "/api/orders");
	assert_string_equal(e.key, "CA1:call_1");
	assert_string_equal(e.call_sid, "CA1");
	assert_int_equal(e.created_ms, 1763769541123LL);
	json_t *b = json_loads(e.body, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(b, "from")), "+33");
	json_decref(b);
	spool_entry_clear(&e);
	assert_int_equal(spool_remove(s, n1), 0);
	assert_int_equal(spool_read(s, n1, &e), -ENOENT);
	assert_int_equal(spool_remove(s, "../etc/passwd"), -EINVAL);
	spool_destroy(s);
}

static void t_crash_leftovers(void **st)
{
	(void)st;
	spool *s;
	assert_int_equal(spool_new(&s, dir), 0);
	write_file(".tmp-0000000000005-00000-00000000.json", "{\"v\":1"); /* crash mid-write */
	write_file("notes.txt", "not ours");
	write_file(SPOOL_DEAD_LETTER, "{}\n");
	char **names;
	size_t n;
	assert_int_equal(spool_list(s, &names, &n), 0);
	assert_int_equal(n, 0);
	spool_list_free(names, n);
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/.tmp-0000000000005-00000-00000000.json", dir);
	assert_int_equal(access(p, F_OK), -1); /* removed */
	spool_destroy(s);
}

static void t_hostile_entries(void **st)
{
	(void)st;
	static const char *bad[] = {
		"",
		"garbage",
		"[]",
		"{\"v\":1,\"kind\":\"order\",\"path\":\"/api/orders\",\"key\":\"k\"}", /* no body */
		"{\"v\":2,\"kind\":\"order\",\"path\":\"/api/orders\",\"key\":\"k\",\"body\":{}}",
		"{\"v\":1,\"kind\":\"order\",\"path\":\"http://evil/x\",\"key\":\"k\",\"body\":{}}",
		"{\"v\":1,\"kind\":\"order\",\"path\":\"/api/../admin\",\"key\":\"k\",\"body\":{}}",
		"{\"v\":1,\"kind\":\"order\",\"path\":\"/api/orders\",\"key\":\"k\\r\\nX-Evil: 1\",\"body\":{}}",
		"{\"v\":1,\"kind\":\"order\",\"path\":\"/api/orders\",\"key\":\"\",\"body\":{}}",
		"{\"v\":1,\"kind\":\"order\",\"path\":\"/api/orders\",\"key\":\"k\",\"body\":\"text\"}",
		"{\"v\":1,\"kind\":7,\"path\":\"/api/orders\",\"key\":\"k\",\"body\":{}}",
		"{\"v\":1,\"kind\":\"order\",\"path\":\"/api/orders\",\"key\":\"k\",\"body\":{},\"v\":1}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		spool_entry e;
		int rc = spool_entry_parse(bad[i], strlen(bad[i]), &e);
		if (rc != -EBADMSG)
			fail_msg("entry %zu accepted: %s", i, bad[i]);
		assert_null(e.key);
	}
	spool_entry e;
	const char *ok = "{\"v\":1,\"kind\":\"call\",\"path\":\"/api/calls\",\"key\":\"CA9\",\"body\":{}}";
	assert_int_equal(spool_entry_parse(ok, strlen(ok), &e), 0);
	assert_string_equal(e.call_sid, "");
	spool_entry_clear(&e);
	/* encode refuses what parse would refuse */
	spool_entry ev = sample;
	char *txt = NULL;
	ev.key = "a\nb";
	assert_int_equal(spool_entry_encode(&ev, &txt), -EINVAL);
	ev = sample;
	ev.body = "[1]";
	assert_int_equal(spool_entry_encode(&ev, &txt), -EINVAL);
	assert_null(txt);
}

static void t_quarantine_and_dead_letter(void **st)
{
	(void)st;
	spool *s;
	assert_int_equal(spool_new(&s, dir), 0);
	write_file("0000000000001-00000-00000000.json", "{\"v\":1,\"ki");
	spool_entry e;
	assert_int_equal(spool_read(s, "0000000000001-00000-00000000.json", &e), -EBADMSG);
	assert_int_equal(spool_quarantine(s, "0000000000001-00000-00000000.json"), 0);
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/0000000000001-00000-00000000.json.corrupt", dir);
	assert_int_equal(access(p, F_OK), 0);
	assert_int_equal(spool_dead_letter(s, &sample, 422, "HTTP 422", "{\"error\":\"bad item\"}"), 0);
	assert_int_equal(spool_dead_letter(s, &sample, 400, "HTTP 400", "\xff\xfe not utf-8"), 0);
	snprintf(p, sizeof(p), "%s/%s", dir, SPOOL_DEAD_LETTER);
	FILE *f = fopen(p, "r");
	char line[4096];
	int n = 0;
	while (fgets(line, sizeof(line), f)) {
		json_t *j = json_loads(line, 0, NULL);
		assert_non_null(j);
		assert_string_equal(json_string_value(json_object_get(json_object_get(j, "entry"), "key")),
				    "CA1:call_1");
		assert_true(json_integer_value(json_object_get(j, "status")) >= 400);
		json_decref(j);
		n++;
	}
	fclose(f);
	assert_int_equal(n, 2);
	spool_destroy(s);
}

static void t_iso(void **st)
{
	(void)st;
	char b[32];
	spool_iso8601(1763769541123LL, b);
	assert_string_equal(b, "2025-11-21T23:59:01.123Z");
	spool_iso8601(0, b);
	assert_string_equal(b, "1970-01-01T00:00:00.000Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(t_crash_leftovers, setup, teardown),
		cmocka_unit_test(t_hostile_entries),
		cmocka_unit_test_setup_teardown(t_quarantine_and_dead_letter, setup, teardown),
		cmocka_unit_test(t_iso),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
