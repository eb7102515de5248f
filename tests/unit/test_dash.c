/* test_dash: the dashboard client against the real fake_dashboard process
 * (tests/fakes/fake_dashboard.c): per-call set-up, tool calls, the journal
 * (down, refused, restart, replay, dead letter, corrupt entry), a slow
 * dashboard that must not stall the loop, the call log and messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dash.h"
#include "dash_int.h"
#include "log.h"
#include "spool.h"

#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static char fake_bin[PATH_MAX];

/* ---- the fake dashboard process ----------------------------------------- */

typedef struct fake {
	pid_t pid;
	int port;
	char dir[64];      /* mktemp dir: log + spool */
	char log[PATH_MAX];
	char spool[PATH_MAX];
} fake;

static int fake_spawn(fake *f, int port, const char *const *extra)
{
	int p[2];
	char portarg[16];
	const char *argv[32] = { fake_bin, "--log", f->log, "--port", portarg };
	size_t n = 5;
	snprintf(portarg, sizeof(portarg), "%d", port);
	for (; extra && *extra && n < 30; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execv(fake_bin, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	char buf[32] = "";
	size_t got = 0;
	struct pollfd pf = { .fd = p[0], .events = POLLIN };
	while (got < sizeof(buf) - 1 && !strchr(buf, '\n') && poll(&pf, 1, 5000) > 0) {
		ssize_t r = read(p[0], buf + got, sizeof(buf) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		buf[got] = '\0';
	}
	close(p[0]);
	f->pid = pid;
	f->port = atoi(buf);
	return f->port > 0 ? 0 : -1;
}

static void fake_start(fake *f, const char *const *extra)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_dash.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->log, sizeof(f->log), "%s/requests.jsonl", f->dir);
	snprintf(f->spool, sizeof(f->spool), "%s/spool", f->dir);
	assert_int_equal(fake_spawn(f, 0, extra), 0);
}

static void fake_kill(fake *f)
{
	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		waitpid(f->pid, NULL, 0);
		f->pid = 0;
	}
}

static void fake_restart(fake *f)
{
	/* Same port: the port may linger briefly, retry a few times. */
	for (int i = 0; i < 50; i++) {
		if (fake_spawn(f, f->port, NULL) == 0)
			return;
		waitpid(f->pid, NULL, 0);
		usleep(100000);
	}
	fail_msg("fake_dashboard did not restart on port %d", f->port);
}

static void fake_cleanup(fake *f)
{
	char cmd[PATH_MAX + 16];
	fake_kill(f);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", f->dir);
}

/* Blocking on purpose: only called while the loop is idle. */
static void fake_control(fake *f, const char *json)
{
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/__control", f->port);
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	FILE *null = fopen("/dev/null", "w");
	curl_easy_setopt(c, CURLOPT_WRITEDATA, null);
	CURLcode rc = curl_easy_perform(c);
	long st = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	curl_easy_cleanup(c);
	fclose(null);
	assert_int_equal(rc, CURLE_OK);
	assert_int_equal(st, 200);
}

/* Every logged request as a JSON array. */
static json_t *fake_requests(fake *f)
{
	json_t *all = json_array();
	FILE *fp = fopen(f->log, "r");
	char *line = NULL;
	size_t cap = 0;
	while (fp && getline(&line, &cap, fp) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		if (j)
			json_array_append_new(all, j);
	}
	free(line);
	if (fp)
		fclose(fp);
	return all;
}

/* Requests on path (and key when not NULL); mode ACCEPTED: answered 2xx and
 * not duplicates; DUPS: de-duplicated repeats only. */
enum { ALL = 0, ACCEPTED = 1, DUPS = 2 };
static int fake_count(fake *f, const char *path, const char *key, int mode)
{
	json_t *all = fake_requests(f), *r;
	size_t i;
	int n = 0;
	json_array_foreach(all, i, r) {
		const char *p = json_string_value(json_object_get(r, "path"));
		const char *k = json_string_value(json_object_get(r, "idempotencyKey"));
		json_int_t st = json_integer_value(json_object_get(r, "status"));
		if (strcmp(p, path) != 0 || (key && (!k || strcmp(k, key) != 0)))
			continue;
		bool dup = json_is_true(json_object_get(r, "duplicate"));
		if (mode == ACCEPTED && (st < 200 || st > 299 || dup))
			continue;
		if (mode == DUPS && !dup)
			continue;
		n++;
	}
	json_decref(all);
	return n;
}

static json_t *fake_last(fake *f, const char *path)
{
	json_t *all = fake_requests(f), *r, *last = NULL;
	size_t i;
	json_array_foreach(all, i, r)
		if (strcmp(json_string_value(json_object_get(r, "path")), path) == 0)
			last = r;
	json_incref(last);
	json_decref(all);
	return last;
}

static int spool_files(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		size_t l = strlen(de->d_name), s = strlen(suffix);
		if (de->d_name[0] != '.' && l > s && strcmp(de->d_name + l - s, suffix) == 0)
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

/* ---- loop helpers --------------------------------------------------------- */

typedef struct res {
	int ncb;
	char *out;
	dash_ai *ai;
} res;

static void on_tool(const char *out, void *arg)
{
	res *r = arg;
	r->ncb++;
	free(r->out);
	r->out = strdup(out);
}

static void on_ai(dash_ai *ai, void *arg)
{
	res *r = arg;
	r->ncb++;
	dash_ai_free(r->ai);
	r->ai = ai;
}

static void tick(uv_timer_t *t) { (void)t; }

typedef bool (pred_fn)(void *arg);

static bool run_until(uv_loop_t *loop, pred_fn *pred, void *arg, int timeout_ms)
{
	uv_timer_t t;
	uv_timer_init(loop, &t);
	uv_timer_start(&t, tick, 10, 10);
	uv_update_time(loop);
	uint64_t end = uv_now(loop) + (uint64_t)timeout_ms;
	bool ok;
	while (!(ok = pred(arg)) && uv_now(loop) < end)
		uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	return ok;
}

static bool got_cb(void *arg) { return ((res *)arg)->ncb > 0; }
static bool spool_empty(void *arg) { return dash_spooled(arg) == 0; }

typedef struct cnt {
	fake *f;
	const char *path, *key;
	int want;
} cnt;
static bool count_reached(void *arg)
{
	cnt *c = arg;
	return fake_count(c->f, c->path, c->key, ACCEPTED) >= c->want;
}

static void settle(uv_loop_t *loop, int ms)
{
	res dummy = { 0 };
	run_until(loop, got_cb, &dummy, ms);
}

static dash *mk_dash(uv_loop_t *loop, fake *f, int port)
{
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port ? port : f->port);
	dash_opts o = { .base_url = url, .spool_dir = f->spool, .default_instructions = "DEFAULT",
			.default_voice = "alloy", .ai_timeout_ms = 1000, .tool_timeout_ms = 8000,
			.retry_min_ms = 100, .retry_max_ms = 400, .retry_timeout_ms = 2000 };
	dash *d = NULL;
	assert_int_equal(dash_new(&d, loop, &o), 0);
	return d;
}

static void free_dash(uv_loop_t *loop, dash *d)
{
	dash_destroy(d);
	uv_run(loop, UV_RUN_DEFAULT); /* close callbacks, thread-pool work */
}

static const dash_callinfo ci = { .restaurant_id = "pizza-napoli",
				  .call_sid = "CA00000000000000000000000000000001",
				  .from = "+33 6 12&34=56" };

/* ---- tests ---------------------------------------------------------------- */

static void t_ai_ok(void **st)
{
	(void)st;
	fake f;
	fake_start(&f, NULL);
	uv_loop_t loop;
	uv_loop_init(&loop);
	dash *d = mk_dash(&loop, &f, 0);
	res r = { 0 };
	assert_int_equal(dash_fetch_ai(d, &ci, on_ai, &r, NULL), 0);
	assert_true(run_until(&loop, got_cb, &r, 5000));
	assert_string_equal(r.ai->source, "dashboard");
	assert_string_equal(r.ai->voice, "coral");
	assert_non_null(strstr(r.ai->instructions, "Pizzeria Napoli"));
	assert_non_null(r.ai->greeting);
	assert_true(json_is_object(r.ai->context));
	assert_int_equal(json_array_size(r.ai->tools), 7);
	json_t *t;
	size_t i;
	json_array_foreach(r.ai->tools, i, t) {
		/* only what the Realtime API accepts */
		const char *k;
		json_t *v;
		json_object_foreach(t, k, v)
			assert_true(strcmp(k, "type") == 0 || strcmp(k, "name") == 0 ||
				    strcmp(k, "description") == 0 || strcmp(k, "parameters") == 0);
	}
	assert_string_equal(json_string_value(json_object_get(r.ai->endpoints, "get_menu")), "/api/faq");
	json_t *req = fake_last(&f, "/api/ai");
	assert_non_null(req);
	json_t *q = json_object_get(req, "query");
	assert_string_equal(json_string_value(json_object_get(q, "restaurantId")), "pizza-napoli");
	assert_string_equal(json_string_value(json_object_get(q, "callSid")), ci.call_sid);
	assert_string_equal(json_string_value(json_object_get(q, "from")), ci.from);
	json_decref(req);
	dash_ai_free(r.ai);
	free_dash(&loop, d);
	assert_int_equal(uv_loop_close(&loop), 0);
	fake_cleanup(&f);
}

static void expect_default_ai(fake *f, int port, const char *why)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	dash *d = mk_dash(&loop, f, port);
	res r = { 0 };
	assert_int_equal(dash_fetch_ai(d, &ci, on_ai, &r, NULL), 0);
	assert_true(run_until(&loop, got_cb, &r, 5000));
	assert_string_equal(r.ai->instructions, "DEFAULT");
	assert_string_equal(r.ai->voice, "alloy");
	assert_int_equal(json_array_size(r.ai->tools), 0);
	if (!strstr(r.ai->source, why))
		fail_msg("source \"%s\" lacks \"%s\"", r.ai->source, why);
	dash_ai_free(r.ai);
	free_dash(&loop, d);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void t_ai_failures(void **st)
{
	(void)st;
	fake f;
	fake_start(&f, NULL);
	fake_control(&f, "{\"mode\":\"ok\",\"path\":\"/api/ai\",\"body\":\"<html>oops\"}");
	expect_default_ai(&f, 0, "not JSON");
	fake_control(&f, "{\"mode\":\"ok\",\"path\":\"/api/ai\",\"body\":\"[1,2]\"}");
	expect_default_ai(&f, 0, "not a JSON object");
	fake_control(&f, "{\"mode\":\"down\",\"path\":\"/api/ai\",\"status\":500}");
	expect_default_ai(&f, 0, "HTTP 500");
	fake_control(&f, "{\"mode\":\"ok\",\"path\":\"/api/ai\",\"delayMs\":3000}");
	expect_default_ai(&f, 0, "timeout");
	int port = f.port;
	fake_kill(&f);
	expect_default_ai(&f, port, "connection refused");
	fake_cleanup(&f);
}

static void t_tool_order(void **st)
{
	(void)st;
	fake f;
	fake_start(&f, NULL);
	uv_loop_t loop;
	uv_loop_init(&loop);
	dash *d = mk_dash(&loop, &f, 0);
	res r = { 0 };
	/* the model tries to post for another restaurant: ours wins */
	const char *args = "{\"items\":[{\"name\":\"Margherita\",\"quantity\":2}],"
			   "\"customerName\":\"Marie\",\"restaurantId\":\"evil\"}";
	assert_int_equal(dash_tool_call(d, NULL, &ci, "create_order", "call_1", args, on_tool, &r, NULL), 0);
	assert_true(run_until(&loop, got_cb, &r, 5000));
	json_t *out = json_loads(r.out, 0, NULL);
	assert_non_null(out);
	assert_string_equal(json_string_value(json_object_get(out, "status")), "confirmed");
	assert_non_null(json_string_value(json_object_get(out, "orderId")));
	json_decref(out);
	json_t *req = fake_last(&f, "/api/orders");
	assert_non_null(req);
	char key[128];
	snprintf(key, sizeof(key), "%s:call_1", ci.call_sid);
	assert_string_equal(json_string_value(json_object_get(req, "idempotencyKey")), key);
	json_t *h = json_object_get(req, "headers");
	assert_string_equal(json_string_value(json_object_get(h, "content-type")), "application/json");
	json_t *b = json_object_get(req, "body");
	assert_string_equal(json_string_value(json_object_get(b, "restaurantId")), "pizza-napoli");
	assert_string_equal(json_string_value(json_object_get(b, "callSid")), ci.call_sid);
	assert_string_equal(json_string_value(json_object_get(b, "from")), ci.from);
	assert_string_equal(json_string_value(json_object_get(b, "customerName")), "Marie");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(b, "items"), 0),
							 "quantity")), 2);
	json_decref(req);
	settle(&loop, 100); /* the journal entry is removed asynchronously */
	assert_int_equal(dash_spooled(d), 0);
	assert_int_equal(spool_files(f.spool, ".json"), 0);
	free(r.out);
	free_dash(&loop, d);
	assert_int_equal(uv_loop_close(&loop), 0);
	fake_cleanup(&f);
}

static void t_tool_misc(void **st)
{
	(void)st;
	fake f;
	fake_start(&f, NULL);
	uv_loop_t loop;
	uv_loop_init(&loop);
	dash *d = mk_dash(&loop, &f, 0);
	res r = { 0 };
	/* unknown tool, answered on the loop, never inside the call */
	assert_int_equal(dash_tool_call(d, NULL, &ci, "launch_rocket", "c1", "{}", on_tool, &r, NULL), 0);
	assert_int_equal(r.ncb, 0);
	assert_true(run_until(&loop, got_cb, &r, 2000));
	assert_non_null(strstr(r.out, "\"error\""));
	assert_non_null(strstr(r.out, "unknown tool"));
	/* arguments that are not an object */
	r.ncb = 0;
	assert_int_equal(dash_tool_call(d, NULL, &ci, "create_order", "c2", "[1]", on_tool, &r, NULL), 0);
	assert_true(run_until(&loop, got_cb, &r, 2000));
	assert_non_null(strstr(r.out, "\"error\""));
	assert_int_equal(fake_count(&f, "/api/orders", NULL, ALL), 0);
	/* endpoint override from /api/ai: get_menu -> /api/faq */
	res ra = { 0 };
	dash_fetch_ai(d, &ci, on_ai, &ra, NULL);
	assert_true(run_until(&loop, got_cb, &ra, 5000));
	r.ncb = 0;
	assert_int_equal(dash_tool_call(d, ra.ai, &ci, "get_menu", "c3", "", on_tool, &r, NULL), 0);
	assert_true(run_until(&loop, got_cb, &r, 5000));
	assert_non_null(strstr(r.out, "answer"));
	assert_int_equal(fake_count(&f, "/api/faq", NULL, ACCEPTED), 1);
	/* a non-durable tool with the dashboard down: an error, no journal */
	fake_control(&f, "{\"mode\":\"down\",\"path\":\"/api/availability/check\",\"status\":503}");
	r.ncb = 0;
	dash_tool_call(d, ra.ai, &ci, "check_availability", "c4", "{\"partySize\":2}", on_tool, &r, NULL);
	assert_true(run_until(&loop, got_cb, &r, 5000));
	assert_non_null(strstr(r.out, "\"error\""));
	assert_int_equal(dash_spooled(d), 0);
	/* cancel: the callback never runs */
	r.ncb = 0;
	dash_req *q = NULL;
	dash_tool_call(d, ra.ai, &ci, "ask_question", "c5", "{}", on_tool, &r, &q);
	dash_cancel(q);
	settle(&loop, 300);
	assert_int_equal(r.ncb, 0);
	/* a hostile call_id cannot inject a header */
	dash_tool_call(d, ra.ai, &ci, "lookup_customer", "c6\r\nX-Evil: 1", "{}", on_tool, &r, NULL);
	assert_true(run_until(&loop, got_cb, &r, 5000));
	assert_non_null(strstr(r.out, "Marie Dupont"));
	json_t *lc = fake_last(&f, "/api/customers");
	assert_null(json_object_get(json_object_get(lc, "headers"), "x-evil"));
	char k6[128];
	snprintf(k6, sizeof(k6), "%s:c6__X-Evil:_1", ci.call_sid);
	assert_string_equal(json_string_value(json_object_get(lc, "idempotencyKey")), k6);
	json_decref(lc);
	dash_ai_free(ra.ai);
	free(r.out);
	free_dash(&loop, d);
	assert_int_equal(uv_loop_close(&loop), 0);
	fake_cleanup(&f);
}

/* 503 then healthy: "noted", journaled, delivered exactly once. */
static void t_down_then_up(void **st)
{
	(void)st;
	fake f;
	fake_start(&f, NULL);
	fake_control(&f, "{\"mode\":\"down\",\"path\":\"/api/orders\",\"status\":503}");
	uv_loop_t loop;
	uv_loop_init(&loop);
	dash *d = mk_dash(&loop, &f, 0);
	res r = { 0 };
	dash_tool_call(d, NULL, &ci, "create_order", "call_9", "{\"items\":[]}", on_tool, &r, NULL);
	assert_true(run_until(&loop, got_cb, &r, 5000));
	assert_non_null(strstr(r.out, "noted"));
	assert_int_equal(dash_spooled(d), 1);
	assert_int_equal(spool_files(f.spool, ".json"), 1); /* on disk before "noted" */
	settle(&loop, 600); /* several retries fail */
	assert_true(fake_count(&f, "/api/orders", NULL, ALL) >= 2);
	fake_control(&f, "{\"mode\":\"ok\",\"path\":\"/api/orders\"}");
	assert_true(run_until(&loop, spool_empty, d, 5000));
	settle(&loop, 600);
	char key[128];
	snprintf(key, sizeof(key), "%s:call_9", ci.call_sid);
	assert_int_equal(fake_count(&f, "/api/orders", key, ACCEPTED), 1);
	assert_int_equal(spool_files(f.spool, ".json"), 0);
	free(r.out);
	free_dash(&loop, d);
	assert_int_equal(uv_loop_close(&loop), 0);
	fake_cleanup(&f);
}

/* Dashboard process dead (connection refused), then back on its port. */
static void t_refused_then_back(void **st)
{
	(void)st;
	fake f;
	fake_start(&f, NULL);
	fake_kill(&f);
	uv_loop_t loop;
	uv_loop_init(&loop);
	dash *d = mk_dash(&loop, &f, 0);
	res r = { 0 };
	dash_tool_call(d, NULL, &ci, "create_reservation", "call_r", "{\"partySize\":4}", on_tool, &r, NULL);
	assert_true(run_until(&loop, got_cb, &r, 5000));
	assert_non_null(strstr(r.out, "noted"));
	settle(&loop, 300);
	fake_restart(&f);
	assert_true(run_until(&loop, spool_empty, d, 5000));
	settle(&loop, 500);
	char key[128];
	snprintf(key, sizeof(key), "%s:call_r", ci.call_sid);
	assert_int_equal(fake_count(&f, "/api/reservations", key, ACCEPTED), 1);
	free(r.out);
	free_dash(&loop, d);
	assert_int_equal(uv_loop_close(&loop), 0);
	fake_cleanup(&f);
}

/* The journal survives the process: a new dash instance replays it. Also an
 * entry that was delivered but not yet deleted (crash in between) is sent
 * again and de-duplicated by its key, and a corrupt entry is moved aside. */
static void t_restart_replay(void **st)
{
	(void)st;
	fake f;
	fake_start(&f, NULL);
	fake_control(&f, "{\"mode\":\"down\",\"status\":503}");
	uv_loop_t loop;
	uv_loop_init(&loop);
	dash *d = mk_dash(&loop, &f, 0);
	res r = { 0 };
	dash_tool_call(d, NULL, &ci, "create_order", "call_a", "{\"items\":[\"a\"]}", on_tool, &r, NULL);
	assert_true(run_until(&loop, got_cb, &r, 5000));
	assert_non_null(strstr(r.out, "noted"));
	dash_post_message(d, &ci, "missed call, please call back");
	settle(&loop, 300);
	assert_int_equal(dash_spooled(d), 2);
	free_dash(&loop, d); /* "process exit" */
	assert_int_equal(spool_files(f.spool, ".json"), 2);

	/* a corrupt entry and an already-delivered one */
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/0000000000001-00000-deadbeef.json", f.spool);
	FILE *fp = fopen(p, "w");
	fputs("{\"v\":1,\"kind\":\"order\",\"path\":\"/api/orders\"", fp); /* truncated */
	fclose(fp);
	fake_control(&f, "{\"mode\":\"reset\"}");

	d = mk_dash(&loop, &f, 0);
	assert_int_equal(dash_replay(d), 0);
	assert_int_equal(dash_spooled(d), 2);
	assert_true(run_until(&loop, spool_empty, d, 5000));
	settle(&loop, 300);
	char key[128];
	snprintf(key, sizeof(key), "%s:call_a", ci.call_sid);
	assert_int_equal(fake_count(&f, "/api/orders", key, ACCEPTED), 1);
	snprintf(key, sizeof(key), "%s:message", ci.call_sid);
	assert_int_equal(fake_count(&f, "/api/messages", key, ACCEPTED), 1);
	json_t *m = fake_last(&f, "/api/messages");
	assert_string_equal(json_string_value(json_object_get(json_object_get(m, "body"), "message")),
			    "missed call, please call back");
	json_decref(m);
	assert_int_equal(spool_files(f.spool, ".json"), 0);
	assert_int_equal(spool_files(f.spool, ".corrupt"), 1);
	free_dash(&loop, d);

	/* delivered-but-not-deleted: the dashboard sees a duplicate, answers the same */
	spool *sp;
	assert_int_equal(spool_new(&sp, f.spool), 0);
	char name[SPOOL_NAME_SIZE];
	snprintf(key, sizeof(key), "%s:call_a", ci.call_sid);
	spool_entry e = { .kind = "order", .path = "/api/orders", .key = key, .call_sid = "CA",
			  .body = "{\"restaurantId\":\"pizza-napoli\",\"callSid\":\"CA1\"}" };
	assert_int_equal(spool_put(sp, &e, name), 0);
	spool_destroy(sp);
	d = mk_dash(&loop, &f, 0);
	dash_replay(d);
	assert_true(run_until(&loop, spool_empty, d, 5000));
	settle(&loop, 100);
	assert_int_equal(fake_count(&f, "/api/orders", key, ACCEPTED), 1); /* still once */
	assert_int_equal(fake_count(&f, "/api/orders", key, DUPS), 1);
	free(r.out);
	free_dash(&loop, d);
	assert_int_equal(uv_loop_close(&loop), 0);
	fake_cleanup(&f);
}

static void t_dead_letter(void **st)
{
	(void)st;
	fake f;
	fake_start(&f, NULL);
	fake_control(&f, "{\"mode\":\"down\",\"path\":\"/api/orders\",\"status\":422}");
	uv_loop_t loop;
	uv_loop_init(&loop);
	dash *d = mk_dash(&loop, &f, 0);
	res r = { 0 };
	dash_tool_call(d, NULL, &ci, "create_order", "call_x", "{\"items\":[]}", on_tool, &r, NULL);
	assert_true(run_until(&loop, got_cb, &r, 5000));
	json_t *out = json_loads(r.out, 0, NULL);
	assert_non_null(json_object_get(out, "error"));
	assert_int_equal(json_integer_value(json_object_get(out, "status")), 422);
	json_decref(out);
	settle(&loop, 600);
	assert_int_equal(fake_count(&f, "/api/orders", NULL, ALL), 1); /* never retried */
	assert_int_equal(dash_spooled(d), 0);
	assert_int_equal(spool_files(f.spool, ".json"), 0);
	char p[PATH_MAX + 32];
	snprintf(p, sizeof(p), "%s/%s", f.spool, SPOOL_DEAD_LETTER);
	json_error_t je;
	json_t *dl = json_load_file(p, JSON_DISABLE_EOF_CHECK, &je);
	assert_non_null(dl);
	assert_int_equal(json_integer_value(json_object_get(dl, "status")), 422);
	char key[128];
	snprintf(key, sizeof(key), "%s:call_x", ci.call_sid);
	assert_string_equal(json_string_value(json_object_get(json_object_get(dl, "entry"), "key")), key);
	json_decref(dl);
	free(r.out);
	free_dash(&loop, d);
	assert_int_equal(uv_loop_close(&loop), 0);
	fake_cleanup(&f);
}

/* A 5 s dashboard: the loop keeps ticking every 20 ms, another call's
 * /api/ai is answered meanwhile, and the order still gets its real answer. */
typedef struct gap {
	uint64_t last, max;
	unsigned ticks, late; /* late: ticks more than 50 ms after the previous */
} gap;
static void on_gap(uv_timer_t *t)
{
	gap *g = t->data;
	uint64_t now = uv_hrtime() / 1000000;
	if (g->last && now - g->last > g->max)
		g->max = now - g->last;
	if (g->last && now - g->last > 50)
		g->late++;
	g->last = now;
	g->ticks++;
}

static void t_slow_never_blocks(void **st)
{
	(void)st;
	fake f;
	fake_start(&f, NULL);
	fake_control(&f, "{\"mode\":\"ok\",\"path\":\"/api/orders\",\"delayMs\":5000}");
	uv_loop_t loop;
	uv_loop_init(&loop);
	dash *d = mk_dash(&loop, &f, 0);
	gap g = { 0 };
	uv_timer_t t;
	uv_timer_init(&loop, &t);
	t.data = &g;
	uv_timer_start(&t, on_gap, 20, 20);
	res r = { 0 }, ra = { 0 };
	uint64_t t0 = uv_hrtime();
	dash_tool_call(d, NULL, &ci, "create_order", "call_s", "{\"items\":[]}", on_tool, &r, NULL);
	dash_callinfo other = { .restaurant_id = "pizza-napoli", .call_sid = "CA2", .from = "+1" };
	dash_fetch_ai(d, &other, on_ai, &ra, NULL);
	assert_true(run_until(&loop, got_cb, &ra, 3000));
	assert_true(r.ncb == 0); /* the other call was served while the order waits */
	assert_true(run_until(&loop, got_cb, &r, 9000));
	uint64_t took = (uv_hrtime() - t0) / 1000000;
	uv_timer_stop(&t);
	uv_close((uv_handle_t *)&t, NULL);
	assert_true(took >= 4900);
	assert_non_null(strstr(r.out, "orderId"));
	fprintf(stderr, "slow dashboard: answer after %llu ms, %u ticks, %u over 50 ms, max gap %llu ms\n",
		(unsigned long long)took, g.ticks, g.late, (unsigned long long)g.max);
	/* A blocked loop shows one ~5000 ms gap; a loaded test machine (ASan,
	 * parallel tests) only some scheduling jitter. */
	if (g.max > 250 || g.late > g.ticks / 20 || g.ticks < 150)
		fail_msg("the loop stalled: max gap %llu ms, %u/%u ticks late",
			 (unsigned long long)g.max, g.late, g.ticks);
	dash_ai_free(ra.ai);
	free(r.out);
	free_dash(&loop, d);
	assert_int_equal(uv_loop_close(&loop), 0);
	fake_cleanup(&f);
}

static void t_calllog(void **st)
{
	(void)st;
	fake f;
	fake_start(&f, NULL);
	uv_loop_t loop;
	uv_loop_init(&loop);
	dash *d = mk_dash(&loop, &f, 0);
	calllog *cl;
	assert_int_equal(calllog_new(&cl, &ci, "MZ0001", "+33100000000"), 0);
	calllog_turn(cl, "agent", "Bonjour, Pizzeria Napoli !");
	calllog_turn(cl, "caller", "Deux margheritas s'il vous plaît.");
	calllog_tool(cl, "create_order", "call_1", "{\"items\":[1]}", "{\"orderId\":\"ord_1\"}");
	json_t *u1 = json_loads("{\"total_tokens\":10,\"input_tokens\":7,\"output_tokens\":3,"
				"\"input_token_details\":{\"audio_tokens\":5,\"text_tokens\":2}}", 0, NULL);
	json_t *u2 = json_loads("{\"usage\":{\"total_tokens\":5,\"input_tokens\":4,\"output_tokens\":1,"
				"\"input_token_details\":{\"audio_tokens\":4}}}", 0, NULL);
	calllog_usage(cl, u1);
	calllog_usage(cl, u2);
	json_decref(u1);
	json_decref(u2);
	assert_int_equal(calllog_finish(cl, d, "caller_hangup"), 0);
	cnt c = { &f, "/api/calls", ci.call_sid, 1 };
	assert_true(run_until(&loop, count_reached, &c, 5000));
	json_t *req = fake_last(&f, "/api/calls");
	json_t *b = json_object_get(req, "body");
	assert_string_equal(json_string_value(json_object_get(req, "idempotencyKey")), ci.call_sid);
	assert_string_equal(json_string_value(json_object_get(b, "callSid")), ci.call_sid);
	assert_string_equal(json_string_value(json_object_get(b, "streamSid")), "MZ0001");
	assert_string_equal(json_string_value(json_object_get(b, "to")), "+33100000000");
	assert_string_equal(json_string_value(json_object_get(b, "from")), ci.from);
	assert_string_equal(json_string_value(json_object_get(b, "endReason")), "caller_hangup");
	assert_int_equal(strlen(json_string_value(json_object_get(b, "startedAt"))), 24);
	assert_true(json_is_integer(json_object_get(b, "durationSeconds")));
	json_t *tr = json_object_get(b, "transcript");
	assert_int_equal(json_array_size(tr), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(tr, 0), "role")), "agent");
	assert_string_equal(json_string_value(json_object_get(json_array_get(tr, 1), "text")),
			    "Deux margheritas s'il vous plaît.");
	json_t *tc = json_array_get(json_object_get(b, "toolCalls"), 0);
	assert_string_equal(json_string_value(json_object_get(tc, "callId")), "call_1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(tc, "result"), "orderId")), "ord_1");
	json_t *us = json_object_get(b, "usage");
	assert_int_equal(json_integer_value(json_object_get(us, "total_tokens")), 15);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(us, "input_token_details"),
							    "audio_tokens")), 9);
	json_decref(req);
	assert_true(run_until(&loop, spool_empty, d, 3000));
	free_dash(&loop, d);
	assert_int_equal(uv_loop_close(&loop), 0);
	fake_cleanup(&f);
}

/* dash_ai_parse is pure and fed by the network: hostile shapes. */
static void t_ai_parse_hostile(void **st)
{
	(void)st;
	dash_ai *ai = NULL;
	const char *j =
		"{\"systemPrompt\":\"SP\",\"voice\":\"../../etc\",\"greeting\":7,\"context\":[1],"
		"\"tools\":[1,\"x\",{},{\"name\":\"bad name\"},{\"type\":\"code_interpreter\",\"name\":\"ci\"},"
		"{\"name\":\"a\",\"endpoint\":\"http://evil.example/steal\",\"extra\":1},"
		"{\"name\":\"a\",\"endpoint\":\"/api/orders\"},"
		"{\"type\":\"function\",\"function\":{\"name\":\"b\",\"parameters\":{\"type\":\"object\"}},"
		"\"endpoint\":\"/api/../admin\"},"
		"{\"name\":\"c\",\"endpoint\":\"/api/custom-orders\",\"parameters\":\"nope\"}]}";
	assert_int_equal(dash_ai_parse(j, strlen(j), "D", "alloy", &ai), 0);
	assert_string_equal(ai->instructions, "SP");
	assert_string_equal(ai->voice, "alloy");
	assert_null(ai->greeting);
	assert_null(ai->context);
	assert_int_equal(json_array_size(ai->tools), 3); /* a, b, c */
	assert_null(json_object_get(ai->endpoints, "a")); /* full URL refused; dup ignored */
	assert_null(json_object_get(ai->endpoints, "b"));
	assert_string_equal(json_string_value(json_object_get(ai->endpoints, "c")), "/api/custom-orders");
	json_t *c = json_array_get(ai->tools, 2);
	assert_true(json_is_object(json_object_get(c, "parameters")));
	assert_null(json_object_get(json_array_get(ai->tools, 0), "extra"));
	dash_ai_free(ai);
	/* many tools: capped */
	json_t *big = json_pack("{s:[]}", "tools");
	for (int i = 0; i < 200; i++) {
		char n[16];
		snprintf(n, sizeof(n), "t%d", i);
		json_array_append_new(json_object_get(big, "tools"), json_pack("{s:s}", "name", n));
	}
	char *txt = json_dumps(big, 0);
	assert_int_equal(dash_ai_parse(txt, strlen(txt), "D", "alloy", &ai), 0);
	assert_int_equal(json_array_size(ai->tools), DASH_MAX_TOOLS);
	assert_string_equal(ai->source, "dashboard (no instructions: defaults used)");
	dash_ai_free(ai);
	free(txt);
	json_decref(big);
	for (const char *const *b = (const char *const[]){ "", "null", "{", "\"x\"", "{\"tools\":{}}", NULL }; *b; b++) {
		dash_ai_parse(*b, strlen(*b), "D", "alloy", &ai);
		assert_non_null(ai);
		assert_string_equal(ai->instructions, "D");
		dash_ai_free(ai);
	}
	/* tool outputs from hostile answers */
	hc_resp r = { .status = 200, .body = "[1,2]", .body_len = 5 };
	char *o = dash_tool_output(&r);
	assert_string_equal(o, "{\"result\":[1,2]}");
	free(o);
	r = (hc_resp){ .status = 500, .body = "{\"error\":\"db down\"}", .body_len = 19 };
	o = dash_tool_output(&r);
	assert_string_equal(o, "{\"error\":\"db down\",\"status\":500}");
	free(o);
	r = (hc_resp){ .status = 200, .body = "\xff\xfe", .body_len = 2 };
	o = dash_tool_output(&r);
	assert_non_null(strstr(o, "invalid JSON"));
	free(o);
	char *body = NULL;
	assert_int_equal(dash_tool_body("{\"a\":1,\"a\":2}", &ci, &body), -EINVAL);
	assert_int_equal(dash_tool_body("42", &ci, &body), -EINVAL);
	assert_int_equal(dash_tool_body(NULL, &ci, &body), 0);
	assert_non_null(strstr(body, "\"restaurantId\":\"pizza-napoli\""));
	free(body);
	char enc[64];
	assert_int_equal(dash_urlencode("+33 6&x=é", enc, sizeof(enc)), 22);
	assert_string_equal(enc, "%2B33%206%26x%3D%C3%A9");
	assert_int_equal(dash_urlencode("abcdef", enc, 4), -ENOSPC);
}

/* Shutdown paths: destroy while the journal write is in the thread pool
 * (the entry still lands on disk, no leak), and flush + pending. */
static void t_destroy_and_flush(void **st)
{
	(void)st;
	fake f;
	fake_start(&f, NULL);
	fake_control(&f, "{\"mode\":\"down\",\"status\":503}");
	uv_loop_t loop;
	uv_loop_init(&loop);
	dash *d = mk_dash(&loop, &f, 0);
	res r = { 0 };
	dash_tool_call(d, NULL, &ci, "create_order", "call_d", "{}", on_tool, &r, NULL);
	assert_int_equal(dash_pending(d), 1);
	free_dash(&loop, d); /* at once: the write is still queued or running */
	assert_int_equal(r.ncb, 0);
	assert_int_equal(spool_files(f.spool, ".json"), 1);

	/* long backoff; flush retries now */
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f.port);
	dash_opts o = { .base_url = url, .spool_dir = f.spool, .retry_min_ms = 30000,
			.retry_max_ms = 60000 };
	assert_int_equal(dash_new(&d, &loop, &o), 0);
	dash_replay(d);
	settle(&loop, 300); /* first replay attempt fails: next one in ~30 s */
	assert_int_equal(dash_pending(d), 1);
	fake_control(&f, "{\"mode\":\"reset\"}");
	dash_flush(d);
	assert_true(run_until(&loop, spool_empty, d, 3000));
	settle(&loop, 100);
	assert_int_equal(dash_pending(d), 0);
	free_dash(&loop, d);
	assert_int_equal(uv_loop_close(&loop), 0);
	fake_cleanup(&f);
}

int main(int argc, char **argv)
{
	(void)argc;
	char self[PATH_MAX];
	snprintf(self, sizeof(self), "%s", argv[0]);
	snprintf(fake_bin, sizeof(fake_bin), "%s/../fakes/fake_dashboard", dirname(self));
	if (access(fake_bin, X_OK) != 0) {
		fprintf(stderr, "skip: %s not built\n", fake_bin);
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	log_init("test_dash");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_ai_ok),
		cmocka_unit_test(t_ai_failures),
		cmocka_unit_test(t_tool_order),
		cmocka_unit_test(t_tool_misc),
		cmocka_unit_test(t_down_then_up),
		cmocka_unit_test(t_refused_then_back),
		cmocka_unit_test(t_restart_replay),
		cmocka_unit_test(t_dead_letter),
		cmocka_unit_test(t_slow_never_blocks),
		cmocka_unit_test(t_calllog),
		cmocka_unit_test(t_destroy_and_flush),
		cmocka_unit_test(t_ai_parse_hostile),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
