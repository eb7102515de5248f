/* reqhead + sauth: the acceptor's request-head parser and its /media-stream
 * authentication decision; vp_cfg's OPENAI_API_KEY rule. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reqhead.h"
#include "sauth.h"
#include "tsig.h"
#include "vp_cfg.h"

static void test_parse(void **st)
{
	rh_head *h = malloc(sizeof(*h));
	static const char req[] = "GET /media-stream?a=1 HTTP/1.1\r\nHost: x.example\r\nUpgrade: WebSocket\r\n"
				  "Connection: keep-alive, Upgrade\r\nX-Empty:\r\n\r\nBODY";
	(void)st;
	assert_int_equal(rh_parse(h, req, sizeof(req) - 1), 0);
	assert_string_equal(h->method, "GET");
	assert_string_equal(h->target, "/media-stream?a=1");
	assert_string_equal(h->path, "/media-stream");
	assert_string_equal(h->query, "a=1");
	assert_string_equal(rh_header(h, "host"), "x.example");
	assert_string_equal(rh_header(h, "X-Empty"), "");
	assert_null(rh_header(h, "Nope"));
	assert_true(rh_header_has(h, "Upgrade", "websocket"));
	assert_true(rh_header_has(h, "Connection", "upgrade"));
	assert_false(rh_header_has(h, "Connection", "close"));
	assert_int_equal(h->head_len, sizeof(req) - 1 - 4);
	free(h);
}

static void test_hostile(void **st)
{
	rh_head *h = malloc(sizeof(*h));
	char *big = malloc(RH_MAX + 100);
	(void)st;
	assert_int_equal(rh_parse(h, "GET / HTTP/1.1\r\nHost: x\r\n", 25), -EAGAIN);
	assert_int_equal(rh_parse(h, "\x16\x03\x01\r\n\r\n", 7), -EBADMSG);
	assert_int_equal(rh_parse(h, "GET  HTTP/1.1\r\n\r\n", 17), -EBADMSG);
	assert_int_equal(rh_parse(h, "GET x HTTP/1.1\r\n\r\n", 18), -EBADMSG);
	assert_int_equal(rh_parse(h, "GET / FTP/1.1\r\n\r\n", 17), -EBADMSG);
	assert_int_equal(rh_parse(h, "GET / HTTP/1.1\r\nNoColon\r\n\r\n", 27), -EBADMSG);
	assert_int_equal(rh_parse(h, "GET / HTTP/1.1\r\nBad Name: v\r\n\r\n", 31), -EBADMSG);
	assert_int_equal(rh_parse(h, "GET / HTTP/1.1\r\nA: \0b\r\n\r\n", 25), -EBADMSG);
	memset(big, 'a', RH_MAX + 100);
	assert_int_equal(rh_parse(h, big, RH_MAX + 100), -E2BIG);
	{
		size_t n = 0;
		n += (size_t)sprintf(big, "GET / HTTP/1.1\r\n");
		for (int i = 0; i < RH_MAX_HEADERS + 1; i++)
			n += (size_t)sprintf(big + n, "H%d: v\r\n", i);
		n += (size_t)sprintf(big + n, "\r\n");
		assert_int_equal(rh_parse(h, big, n), -E2BIG);
	}
	free(big);
	free(h);
}

static void head(rh_head *h, const char *extra)
{
	char req[2048];
	int n = snprintf(req, sizeof(req), "GET /media-stream HTTP/1.1\r\nHost: vp.example\r\nUpgrade: websocket\r\n%s\r\n",
			 extra);
	assert_int_equal(rh_parse(h, req, (size_t)n), 0);
}

static void test_sauth(void **st)
{
	rh_head *h = malloc(sizeof(*h));
	sauth_cfg open = { NULL, NULL, NULL }, tok = { NULL, "s3cret", NULL }, tw = { "twtok", NULL, NULL },
		  both = { "twtok", "s3cret", NULL }, pub = { "twtok", NULL, "public.example" };
	char why[128], sig[TSIG_LEN + 1], hdr[128];
	(void)st;
	head(h, "");
	assert_int_equal(sauth_stream(&open, h, why, sizeof(why)), 0);
	assert_int_equal(sauth_stream(&tok, h, why, sizeof(why)), 401);
	assert_int_equal(sauth_stream(&tw, h, why, sizeof(why)), 401);
	head(h, "Authorization: Bearer s3cret\r\n");
	assert_int_equal(sauth_stream(&tok, h, why, sizeof(why)), 0);
	assert_int_equal(sauth_stream(&both, h, why, sizeof(why)), 0);
	assert_int_equal(sauth_stream(&tw, h, why, sizeof(why)), 403); /* bearer not accepted here */
	head(h, "Authorization: Bearer s3cret2\r\n");
	assert_int_equal(sauth_stream(&tok, h, why, sizeof(why)), 403);
	head(h, "Authorization: Basic s3cret\r\n");
	assert_int_equal(sauth_stream(&tok, h, why, sizeof(why)), 403);
	assert_int_equal(tsig_compute("twtok", "wss://vp.example/media-stream", NULL, sig), 0);
	snprintf(hdr, sizeof(hdr), "X-Twilio-Signature: %s\r\n", sig);
	head(h, hdr);
	assert_int_equal(sauth_stream(&tw, h, why, sizeof(why)), 0);
	assert_int_equal(sauth_stream(&both, h, why, sizeof(why)), 0);
	assert_int_equal(sauth_stream(&tok, h, why, sizeof(why)), 403);
	assert_int_equal(sauth_stream(&pub, h, why, sizeof(why)), 403); /* signed for another host */
	assert_int_equal(tsig_compute("twtok", "wss://public.example/media-stream", NULL, sig), 0);
	snprintf(hdr, sizeof(hdr), "X-Twilio-Signature: %s\r\n", sig);
	head(h, hdr);
	assert_int_equal(sauth_stream(&pub, h, why, sizeof(why)), 0);
	free(h);
}

static void test_cfg_rule(void **st)
{
	(void)st;
	assert_true(vp_cfg_url_is_loopback_ws("ws://127.0.0.1:9000/v1/realtime"));
	assert_true(vp_cfg_url_is_loopback_ws("ws://localhost:9000/x"));
	assert_true(vp_cfg_url_is_loopback_ws("ws://[::1]:9/x"));
	assert_false(vp_cfg_url_is_loopback_ws("ws://localhost.evil.com/x"));
	assert_false(vp_cfg_url_is_loopback_ws("ws://10.0.0.1/x"));
	assert_false(vp_cfg_url_is_loopback_ws("wss://127.0.0.1/x"));
	assert_false(vp_cfg_url_is_loopback_ws(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_parse), cmocka_unit_test(test_hostile),
					    cmocka_unit_test(test_sauth), cmocka_unit_test(test_cfg_rule) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
