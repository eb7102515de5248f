/* test_hc: the libcurl-on-libuv HTTP client against an in-test
 * libmicrohttpd server: GET/POST round trips with headers, status codes,
 * timeout, refused connection, oversized answers, cancel, destroy with
 * requests in flight, and many concurrent requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hc.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct MHD_Daemon *srv;
static int port;

typedef struct body {
	char *p;
	size_t n;
} body;

/* /echo: answers "<method> <Idempotency-Key> <body>"; /status/N; /sleep/MS;
 * /big: 2 MiB. */
static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *ver, const char *up, size_t *upn,
			       void **cc)
{
	(void)cls;
	(void)ver;
	body *b = *cc;
	if (!b) {
		*cc = calloc(1, sizeof(body));
		return MHD_YES;
	}
	if (*upn) {
		b->p = realloc(b->p, b->n + *upn + 1);
		memcpy(b->p + b->n, up, *upn);
		b->n += *upn;
		b->p[b->n] = '\0';
		*upn = 0;
		return MHD_YES;
	}
	unsigned status = 200;
	char *text = NULL;
	size_t len;
	if (strcmp(url, "/echo") == 0) {
		const char *k = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
		len = (size_t)asprintf(&text, "%s %s %s", method, k ? k : "-", b->p ? b->p : "");
	} else if (strncmp(url, "/status/", 8) == 0) {
		status = (unsigned)atoi(url + 8);
		text = strdup("{}");
		len = 2;
	} else if (strncmp(url, "/sleep/", 7) == 0) {
		usleep((useconds_t)atoi(url + 7) * 1000);
		text = strdup("late");
		len = 4;
	} else if (strcmp(url, "/big") == 0) {
		len = 2u << 20;
		text = malloc(len);
		memset(text, 'x', len);
	} else {
		status = 404;
		text = strdup("");
		len = 0;
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void done_cb(void *cls, struct MHD_Connection *c, void **cc, enum MHD_RequestTerminationCode t)
{
	(void)cls;
	(void)c;
	(void)t;
	body *b = *cc;
	if (b) {
		free(b->p);
		free(b);
	}
}

static int setup(void **st)
{
	(void)st;
	srv = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
			       NULL, handler, NULL, MHD_OPTION_NOTIFY_COMPLETED, done_cb, NULL,
			       MHD_OPTION_END);
	if (!srv)
		return -1;
	port = MHD_get_daemon_info(srv, MHD_DAEMON_INFO_BIND_PORT)->port;
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	MHD_stop_daemon(srv);
	return 0;
}

typedef struct res {
	int n;
	int err;
	long status;
	char body[256];
	size_t len;
} res;

static void on_done(const hc_resp *r, void *arg)
{
	res *x = arg;
	x->n++;
	x->err = r->err;
	x->status = r->status;
	x->len = r->body_len;
	snprintf(x->body, sizeof(x->body), "%s", r->body);
}

static void run(uv_loop_t *l, res *x, int want)
{
	for (int i = 0; i < 2000 && x->n < want; i++)
		uv_run(l, UV_RUN_ONCE);
}

static char *url(const char *path)
{
	static char u[8][128]; /* several live at once in one test */
	static unsigned i;
	char *p = u[i++ % 8];
	snprintf(p, 128, "http://127.0.0.1:%d%s", port, path);
	return p;
}

static void finish(uv_loop_t *l, hc *h)
{
	hc_destroy(h);
	uv_run(l, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(l), 0);
}

static void t_roundtrip(void **st)
{
	(void)st;
	uv_loop_t l;
	uv_loop_init(&l);
	hc *h;
	assert_int_equal(hc_new(&h, &l), 0);
	res x = { 0 };
	const char *hdrs[] = { "Idempotency-Key: CA1:call_1", "Content-Type: application/json", NULL };
	hc_opts o = { .method = "POST", .url = url("/echo"), .headers = hdrs, .body = "{\"a\":1}",
		      .body_len = 7, .timeout_ms = 5000 };
	assert_int_equal(hc_request(h, &o, on_done, &x, NULL), 0);
	assert_int_equal(hc_active(h), 1);
	run(&l, &x, 1);
	assert_int_equal(x.n, 1);
	assert_int_equal(x.err, 0);
	assert_int_equal(x.status, 200);
	assert_string_equal(x.body, "POST CA1:call_1 {\"a\":1}");
	assert_int_equal(hc_active(h), 0);
	hc_opts g = { .url = url("/status/503") };
	x.n = 0;
	hc_request(h, &g, on_done, &x, NULL);
	run(&l, &x, 1);
	assert_int_equal(x.status, 503);
	assert_int_equal(x.err, 0);
	hc_opts bad = { .method = "DELETE", .url = url("/echo") };
	assert_int_equal(hc_request(h, &bad, on_done, &x, NULL), -EINVAL);
	hc_opts ftp = { .url = "ftp://127.0.0.1/x" };
	x.n = 0;
	if (hc_request(h, &ftp, on_done, &x, NULL) == 0) {
		run(&l, &x, 1);
		assert_int_equal(x.err, -EINVAL);
	}
	finish(&l, h);
}

static void t_failures(void **st)
{
	(void)st;
	uv_loop_t l;
	uv_loop_init(&l);
	hc *h;
	assert_int_equal(hc_new(&h, &l), 0);
	res a = { 0 }, b = { 0 }, c = { 0 };
	hc_opts slow = { .url = url("/sleep/2000"), .timeout_ms = 300 };
	hc_opts big = { .url = url("/big") };
	hc_opts refused = { .url = "http://127.0.0.1:1/x" };
	hc_request(h, &slow, on_done, &a, NULL);
	hc_request(h, &big, on_done, &b, NULL);
	hc_request(h, &refused, on_done, &c, NULL);
	uint64_t t0 = uv_now(&l);
	for (int i = 0; i < 2000 && (a.n + b.n + c.n) < 3; i++)
		uv_run(&l, UV_RUN_ONCE);
	assert_int_equal(a.err, -ETIMEDOUT);
	assert_true(uv_now(&l) - t0 < 1500);
	assert_int_equal(b.err, -EMSGSIZE);
	assert_int_equal(c.err, -ECONNREFUSED);
	finish(&l, h);
}

static void t_cancel_and_destroy(void **st)
{
	(void)st;
	uv_loop_t l;
	uv_loop_init(&l);
	hc *h;
	assert_int_equal(hc_new(&h, &l), 0);
	res a = { 0 }, b = { 0 }, c = { 0 };
	hc_req *ra = NULL;
	hc_opts slow = { .url = url("/sleep/300") };
	hc_opts fast = { .url = url("/echo") };
	hc_request(h, &slow, on_done, &a, &ra);
	hc_request(h, &fast, on_done, &b, NULL);
	hc_cancel(ra);
	run(&l, &b, 1);
	assert_int_equal(b.n, 1);
	for (int i = 0; i < 50; i++)
		uv_run(&l, UV_RUN_NOWAIT);
	assert_int_equal(a.n, 0);
	/* destroy with a request in flight: its callback never runs, no leak */
	hc_request(h, &slow, on_done, &c, NULL);
	uv_run(&l, UV_RUN_NOWAIT);
	finish(&l, h);
	assert_int_equal(c.n, 0);
}

static void t_many(void **st)
{
	(void)st;
	uv_loop_t l;
	uv_loop_init(&l);
	hc *h;
	assert_int_equal(hc_new(&h, &l), 0);
	res x[64];
	memset(x, 0, sizeof(x));
	res total = { 0 };
	for (int i = 0; i < 64; i++) {
		hc_opts o = { .method = "POST", .url = url("/echo"), .body = "x", .body_len = 1 };
		assert_int_equal(hc_request(h, &o, on_done, &x[i], NULL), 0);
	}
	for (int k = 0; k < 5000 && total.n < 64; k++) {
		uv_run(&l, UV_RUN_ONCE);
		total.n = 0;
		for (int i = 0; i < 64; i++)
			total.n += x[i].n;
	}
	for (int i = 0; i < 64; i++) {
		assert_int_equal(x[i].n, 1);
		assert_int_equal(x[i].status, 200);
	}
	finish(&l, h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_roundtrip),
		cmocka_unit_test(t_failures),
		cmocka_unit_test(t_cancel_and_destroy),
		cmocka_unit_test(t_many),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
