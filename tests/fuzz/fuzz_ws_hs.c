/* fuzz_ws_hs: ws_hs_response, the server's answer to our clients' upgrade
 * request, and ws_hs_request (common/ws_hs.c).
 * Input: the bytes the server sends (head, maybe frames after it). For
 * ws_hs_request the same bytes are cut at NULs into path, host:port and
 * header lines.
 * Contract checked: the verdict depends on the head only (the bytes up to
 * the first blank line): every prefix shorter than the head is 0 (or
 * -EPROTO once WS_HS_MAX bytes came without it), every longer one gives
 * the head's verdict, status and why; a success is the head's length with
 * status 101; -ECONNREFUSED has a status 100..599 other than 101 and a
 * printable why "HTTP <status>: ..."; -EPROTO without a head only at
 * WS_HS_MAX bytes. ws_hs_request writes exactly the request it documents,
 * and -ENOSPC (never an overflow: exact-size buffers) one byte short. */
#include "fuzz.h"

#include <errno.h>
#include <stdbool.h>

#include "ws_int.h"

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="

typedef struct {
	int rc;
	unsigned st;
	char why[WS_CLOSE_REASON_MAX + 1];
} verdict;

/* ws_hs_response on an exact-size copy of the first n bytes */
static verdict answer(const uint8_t *data, size_t n)
{
	char *c = malloc(n ? n : 1);
	verdict v;

	if (!c)
		abort();
	memcpy(c, data, n);
	memset(v.why, 0x55, sizeof(v.why));
	v.st = 777;
	v.rc = ws_hs_response(c, n, KEY, &v.st, v.why, sizeof(v.why));
	free(c);
	FZ_CHECK(v.st != 777);
	if (v.rc >= 0) {
		FZ_CHECK(v.rc == 0 ? v.st == 0 : v.st == 101);
		v.why[0] = '\0'; /* only set on failure */
	} else {
		FZ_CSTR(v.why);
	}
	return v;
}

static bool same(const verdict *a, const verdict *b)
{
	return a->rc == b->rc && a->st == b->st && !strcmp(a->why, b->why);
}

static void check_request(const uint8_t *data, size_t size)
{
	ws_url *u = calloc(1, sizeof(*u));
	char *hdrs[4] = {NULL, NULL, NULL, NULL};
	char *s = fz_dup(data, size), *f[5] = {s, NULL, NULL, NULL, NULL};
	char *want, *b;
	size_t nf = 1, wl;
	int n;

	if (!u)
		abort();
	for (char *p = s; nf < 5 && (p = memchr(p, '\0', size - (size_t)(p - s))) != NULL &&
			  p < s + size;
	     p++)
		f[nf++] = p + 1;
	snprintf(u->path, sizeof(u->path), "%s", f[0]);
	snprintf(u->hostport, sizeof(u->hostport), "%s", f[1] ? f[1] : "h");
	for (size_t i = 2; i < nf; i++)
		hdrs[i - 2] = f[i];
	wl = (size_t)snprintf(NULL, 0,
			      "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
			      "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
			      "Sec-WebSocket-Version: 13\r\n",
			      u->path, u->hostport, KEY);
	for (size_t i = 0; hdrs[i]; i++)
		wl += strlen(hdrs[i]) + 2;
	wl += 2;
	want = malloc(wl + 1);
	if (!want)
		abort();
	n = snprintf(want, wl + 1,
		     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
		     "Sec-WebSocket-Version: 13\r\n",
		     u->path, u->hostport, KEY);
	for (size_t i = 0; hdrs[i]; i++)
		n += snprintf(want + n, wl + 1 - (size_t)n, "%s\r\n", hdrs[i]);
	snprintf(want + n, wl + 1 - (size_t)n, "\r\n");
	/* exact room, one byte short, and a few shorter */
	for (size_t cap = wl + 1, k = 0; k < 4; k++, cap = cap > 7 ? cap / 2 : 0) {
		b = malloc(cap ? cap : 1);
		if (!b)
			abort();
		n = ws_hs_request(b, cap, u, hdrs, KEY);
		if (k == 0) {
			FZ_CHECK(n >= 0 && (size_t)n == wl && !memcmp(b, want, wl + 1));
		} else {
			FZ_CHECK(n == -ENOSPC);
		}
		free(b);
		if (k == 0) { /* one short */
			b = malloc(wl);
			if (!b)
				abort();
			FZ_CHECK(ws_hs_request(b, wl, u, hdrs, KEY) == -ENOSPC);
			free(b);
		}
		if (!cap)
			break;
	}
	free(want);
	free(s);
	free(u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	verdict full, at, v;
	size_t head = 0; /* bytes up to and including the first blank line */

	for (size_t i = 0; i + 3 < size; i++)
		if (!memcmp(data + i, "\r\n\r\n", 4)) {
			head = i + 4;
			break;
		}
	full = answer(data, size);
	FZ_CHECK(full.rc >= 0 || full.rc == -EPROTO || full.rc == -ECONNREFUSED);
	if (full.rc > 0) {
		FZ_CHECK(head && (size_t)full.rc == head && full.st == 101);
	} else if (full.rc == 0) {
		FZ_CHECK(!head && size < WS_HS_MAX);
	} else if (full.rc == -ECONNREFUSED) {
		char pre[16];
		int pl = snprintf(pre, sizeof(pre), "HTTP %u: ", full.st);

		FZ_CHECK(head && full.st >= 100 && full.st <= 599 && full.st != 101);
		FZ_CHECK(!strncmp(full.why, pre, (size_t)pl));
		for (const char *c = full.why; *c; c++)
			FZ_CHECK(*c >= 0x20 && *c <= 0x7e);
	} else if (!head) {
		FZ_CHECK(size >= WS_HS_MAX && full.st == 0);
	}

	/* the verdict depends on the head only */
	if (head) {
		at = answer(data, head);
		FZ_CHECK(same(&at, &full));
	}
	/* shorter prefixes: all of them for small inputs, else a sample */
	for (size_t n = 0; n < (head ? head : size); n++) {
		if (size > 512 && n > 64 && n + 64 < (head ? head : size) && n % 61)
			continue;
		v = answer(data, n);
		if (n < WS_HS_MAX)
			FZ_CHECK(v.rc == 0);
		else
			FZ_CHECK(v.rc == -EPROTO && v.st == 0);
	}
	if (size <= 4096)
		check_request(data, size);
	return 0;
}
