/* sauth: /media-stream authentication decision; see sauth.h. */
#include "sauth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "tsig.h"

static int set(const char *s)
{
	return s && *s;
}

static int bearer_ok(const char *tok, const char *hdr)
{
	size_t tl = strlen(tok), hl;

	if (strncasecmp(hdr, "Bearer ", 7))
		return 0;
	hdr += 7;
	while (*hdr == ' ')
		hdr++;
	hl = strlen(hdr);
	return hl == tl && CRYPTO_memcmp(hdr, tok, tl) == 0;
}

int sauth_stream(const sauth_cfg *c, const rh_head *h, char *why, size_t whylen)
{
	const char *authz = rh_header(h, "Authorization");
	const char *sig = rh_header(h, "X-Twilio-Signature");
	const char *host = set(c->public_host) ? c->public_host : rh_header(h, "Host");
	int tried = 0;

	if (!set(c->twilio_token) && !set(c->stream_token)) {
		snprintf(why, whylen, "open (no TWILIO_AUTH_TOKEN or STREAM_TOKEN)");
		return 0;
	}
	if (set(c->stream_token) && authz) {
		tried = 1;
		if (bearer_ok(c->stream_token, authz)) {
			snprintf(why, whylen, "stream token");
			return 0;
		}
	}
	if (set(c->twilio_token) && sig) {
		char url[RH_MAX + 512];
		tried = 1;
		if (host && *host &&
		    snprintf(url, sizeof(url), "wss://%s%s", host, h->target) < (int)sizeof(url) &&
		    tsig_check(c->twilio_token, url, NULL, sig)) {
			snprintf(why, whylen, "twilio signature");
			return 0;
		}
	}
	if (tried || authz || sig) {
		snprintf(why, whylen, "%s", sig ? "bad X-Twilio-Signature" : "bad credentials");
		return 403;
	}
	snprintf(why, whylen, "no credentials");
	return 401;
}
