/* fuzz_reqhead: rh_parse (the first bytes any TCP client sends to the one
 * public port) and sauth_stream (who may open /media-stream).
 * Contract checked: a parse is complete only at the first CRLFCRLF within
 * RH_MAX; it does not depend on bytes after the head; one byte less is
 * -EAGAIN; every pointer stays inside the struct; the path is the target
 * up to '?'. sauth_stream answers 0/401/403 only, never puts a secret in
 * its reason, and never admits a request that does not carry the secret
 * (stream token) or a signature (Twilio). */
#include "fuzz.h"

#include <errno.h>

#include "reqhead.h"
#include "sauth.h"

#define STREAM_SECRET "fz-stream-5ecret-9f3a"
#define TWILIO_SECRET "fz-twilio-5ecret-c41d"

static int inside(const rh_head *h, const char *p)
{
	return p >= h->buf && p < h->buf + sizeof(h->buf) &&
	       memchr(p, '\0', (size_t)(h->buf + sizeof(h->buf) - p));
}

static void check_auth(const rh_head *h)
{
	static const sauth_cfg cfgs[] = {
		{ NULL, NULL, NULL },
		{ NULL, STREAM_SECRET, NULL },
		{ TWILIO_SECRET, NULL, NULL },
		{ TWILIO_SECRET, STREAM_SECRET, "voice.example.com" },
	};
	for (size_t i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++) {
		char why[128];
		const char *authz = rh_header(h, "Authorization");
		int r;

		why[0] = '\0';
		r = sauth_stream(&cfgs[i], h, why, sizeof(why));
		FZ_CSTR(why);
		FZ_CHECK(r == 0 || r == 401 || r == 403);
		FZ_CHECK(!strstr(why, STREAM_SECRET) && !strstr(why, TWILIO_SECRET));
		if (i == 0)
			FZ_CHECK(r == 0);
		if (i == 1 && r == 0)
			FZ_CHECK(authz && strstr(authz, STREAM_SECRET));
		if (i == 2 && r == 0)
			FZ_CHECK(rh_header(h, "X-Twilio-Signature") != NULL);
		if (r == 401)
			FZ_CHECK(!authz && !rh_header(h, "X-Twilio-Signature"));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static rh_head h, h2;
	const char *s = (const char *)data;
	const char *end = NULL;
	int r;

	for (size_t i = 0; i + 3 < size && i < RH_MAX; i++)
		if (!memcmp(s + i, "\r\n\r\n", 4)) {
			end = s + i + 4;
			break;
		}
	r = rh_parse(&h, s, size);
	FZ_CHECK(r == 0 || r == -EAGAIN || r == -EBADMSG || r == -E2BIG);
	if (r == -EAGAIN)
		FZ_CHECK(!end && size < RH_MAX);
	if (r != 0)
		return 0;
	FZ_CHECK(end && h.head_len == (size_t)(end - s) && h.head_len <= RH_MAX);
	FZ_CHECK(inside(&h, h.method) && inside(&h, h.target) && inside(&h, h.path));
	FZ_CHECK(h.query[0] == '\0' || inside(&h, h.query));
	FZ_CHECK(h.target[0] == '/' && h.path[0] == '/');
	FZ_CHECK(!strncmp(h.target, h.path, strlen(h.path)));
	FZ_CHECK(h.target[strlen(h.path)] == '\0' || h.target[strlen(h.path)] == '?');
	FZ_CHECK(!strchr(h.path, '?'));
	FZ_CHECK(h.nh <= RH_MAX_HEADERS);
	for (size_t i = 0; i < h.nh; i++) {
		FZ_CHECK(inside(&h, h.h[i].name) && inside(&h, h.h[i].value) && h.h[i].name[0]);
		FZ_CHECK(rh_header(&h, h.h[i].name) != NULL);
		(void)rh_header_has(&h, h.h[i].name, "upgrade");
	}
	(void)rh_header_has(&h, "Connection", "Upgrade");

	/* The head alone parses the same; one byte less needs more. */
	FZ_CHECK(rh_parse(&h2, s, h.head_len) == 0 && h2.nh == h.nh && !strcmp(h2.target, h.target));
	FZ_CHECK(rh_parse(&h2, s, h.head_len - 1) == -EAGAIN);

	check_auth(&h);
	return 0;
}
