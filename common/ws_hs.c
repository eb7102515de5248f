/* ws_hs: the client side of the WebSocket opening handshake (RFC 6455
 * 4.1): the upgrade request we send and the check of the server's answer.
 * Our clients run on lws's raw role (ws_craw.c) so that frames are read
 * by ws_rxp; the handshake is therefore ours too. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "b64.h"
#include "err.h"
#include "ws_int.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

int ws_hs_key(char key[WS_HS_KEY_LEN + 1], const uint8_t nonce[16])
{
	return b64_encode(key, nonce, 16) == WS_HS_KEY_LEN ? 0 : -EINVAL;
}

int ws_hs_request(char *buf, size_t cap, const ws_url *u, char *const *headers, const char *key)
{
	size_t off;
	int n;

	n = snprintf(buf, cap,
		     "GET %s HTTP/1.1\r\n"
		     "Host: %s\r\n"
		     "Upgrade: websocket\r\n"
		     "Connection: Upgrade\r\n"
		     "Sec-WebSocket-Key: %s\r\n"
		     "Sec-WebSocket-Version: 13\r\n",
		     u->path, u->hostport, key);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	off = (size_t)n;
	for (char *const *h = headers; h && *h; h++) {
		size_t l = strlen(*h);

		if (off + l + 2 >= cap)
			return -ENOSPC;
		memcpy(buf + off, *h, l); /* CR/LF refused by ws_connect */
		buf[off + l] = '\r';
		buf[off + l + 1] = '\n';
		off += l + 2;
	}
	if (off + 2 >= cap)
		return -ENOSPC;
	memcpy(buf + off, "\r\n", 3);
	return (int)(off + 2);
}

/* Does the comma-separated value v (n bytes) hold token tok? */
static bool ws_hs_has_token(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok);

	while (n) {
		size_t e = 0, s = 0, l;

		while (e < n && v[e] != ',')
			e++;
		while (s < e && (v[s] == ' ' || v[s] == '\t'))
			s++;
		l = e;
		while (l > s && (v[l - 1] == ' ' || v[l - 1] == '\t'))
			l--;
		if (l - s == tl && !strncasecmp(v + s, tok, tl))
			return true;
		v += e < n ? e + 1 : e;
		n -= e < n ? e + 1 : e;
	}
	return false;
}

static int ws_hs_refuse(char *why, size_t wl, const char *msg)
{
	snprintf(why, wl, "%s", msg);
	return -EPROTO;
}

int ws_hs_response(const char *buf, size_t len, const char *key, unsigned *status, char *why,
		   size_t wl)
{
	const char *end = NULL, *p, *eol;
	unsigned char md[20];
	char want[32], src[WS_HS_KEY_LEN + sizeof(WS_GUID)];
	bool up = false, conn = false, acc = false;
	unsigned st;

	*status = 0;
	for (size_t i = 0; i + 3 < len; i++)
		if (buf[i] == '\r' && !memcmp(buf + i, "\r\n\r\n", 4)) {
			end = buf + i + 2; /* the last header line's CRLF */
			break;
		}
	if (!end) {
		if (len >= WS_HS_MAX)
			return ws_hs_refuse(why, wl, "response headers too long");
		return 0;
	}
	eol = memchr(buf, '\r', (size_t)(end - buf));
	if (eol < buf + 12 || strncmp(buf, "HTTP/1.", 7) || buf[8] != ' ' ||
	    (buf[12] != ' ' && buf[12] != '\r') || buf[9] < '1' || buf[9] > '5' ||
	    buf[10] < '0' || buf[10] > '9' || buf[11] < '0' || buf[11] > '9')
		return ws_hs_refuse(why, wl, "not an HTTP response");
	/* three digits, read by hand: sscanf's %u would skip whitespace (past
	 * the head, past len) and take a sign */
	st = (unsigned)(buf[9] - '0') * 100 + (unsigned)(buf[10] - '0') * 10 + (unsigned)(buf[11] - '0');
	*status = st;
	if (st != 101) {
		/* the reason phrase, as the server gave it (printable only) */
		const char *r = buf + 12 + (buf[12] == ' ');
		int rl = (int)(eol - r);

		if (rl < 0)
			rl = 0;
		if (rl > 80)
			rl = 80;
		for (int i = 0; i < rl; i++)
			if ((unsigned char)r[i] < 0x20 || (unsigned char)r[i] > 0x7e)
				rl = i;
		snprintf(why, wl, "HTTP %u: %.*s", st, rl, r);
		return -ECONNREFUSED;
	}
	snprintf(src, sizeof(src), "%s%s", key, WS_GUID);
	lws_SHA1((const unsigned char *)src, strlen(src), md);
	b64_encode(want, md, sizeof(md));
	for (p = eol + 2; p < end; p = eol + 2) {
		const char *colon, *v, *ve;

		eol = memchr(p, '\r', (size_t)(end - p));
		if (!eol || eol[1] != '\n')
			return ws_hs_refuse(why, wl, "bad header line");
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon)
			return ws_hs_refuse(why, wl, "bad header line");
		v = colon + 1;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		ve = eol;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
#define WS_HS_IS(name) ((size_t)(colon - p) == sizeof(name) - 1 && \
			!strncasecmp(p, name, sizeof(name) - 1))
		if (WS_HS_IS("upgrade"))
			up = ws_hs_has_token(v, (size_t)(ve - v), "websocket");
		else if (WS_HS_IS("connection"))
			conn = ws_hs_has_token(v, (size_t)(ve - v), "upgrade");
		else if (WS_HS_IS("sec-websocket-accept"))
			acc = (size_t)(ve - v) == strlen(want) && !memcmp(v, want, strlen(want));
		else if (WS_HS_IS("sec-websocket-extensions") || WS_HS_IS("sec-websocket-protocol"))
			/* we offered none (RFC 6455 4.1: fail the connection) */
			return ws_hs_refuse(why, wl, "server chose an extension or subprotocol");
#undef WS_HS_IS
	}
	if (!up || !conn)
		return ws_hs_refuse(why, wl, "101 without an upgrade to websocket");
	if (!acc)
		return ws_hs_refuse(why, wl, "bad Sec-WebSocket-Accept");
	return (int)(end + 2 - buf);
}
