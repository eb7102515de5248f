/* tsig: Twilio signature computation and check; see tsig.h. */
#include "tsig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "b64.h"

static int kv_cmp(const void *a, const void *b)
{
	const form_kv *x = *(const form_kv *const *)a, *y = *(const form_kv *const *)b;
	int r = strcmp(x->name, y->name);
	return r ? r : strcmp(x->value, y->value);
}

int tsig_compute(const char *token, const char *url, const form *params, char out[TSIG_LEN + 1])
{
	const form_kv *sorted[FORM_MAX_PAIRS];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t n = params ? params->n : 0, len, pos;
	char *data = NULL;
	int rc = -EINVAL;

	if (!token || !url)
		return -EINVAL;
	len = strlen(url);
	for (size_t i = 0; i < n; i++) {
		sorted[i] = &params->kv[i];
		len += strlen(sorted[i]->name) + strlen(sorted[i]->value);
	}
	/* sorting pointers: the element size is a pointer's (not the struct's) */
	qsort(sorted, n, sizeof(sorted[0]), kv_cmp); /* NOLINT(bugprone-sizeof-expression) */
	data = malloc(len + 1); /* one-shot HMAC(): the streaming API is deprecated in 3.0 */
	if (!data)
		return -ENOMEM;
	pos = strlen(url);
	memcpy(data, url, pos);
	for (size_t i = 0; i < n; i++) {
		size_t a = strlen(sorted[i]->name), b = strlen(sorted[i]->value);
		memcpy(data + pos, sorted[i]->name, a);
		memcpy(data + pos + a, sorted[i]->value, b);
		pos += a + b;
	}
	if (!HMAC(EVP_sha1(), token, (int)strlen(token), (const unsigned char *)data, pos, mac, &maclen) ||
	    maclen != 20)
		goto out;
	b64_encode(out, mac, maclen);
	rc = 0;
out:
	free(data);
	return rc;
}

static int default_port(const char *url, size_t *schemelen)
{
	static const struct { const char *s; int port; } tab[] = {
		{ "https://", 443 }, { "wss://", 443 }, { "http://", 80 }, { "ws://", 80 },
	};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		size_t l = strlen(tab[i].s);
		if (!strncasecmp(url, tab[i].s, l)) {
			*schemelen = l;
			return tab[i].port;
		}
	}
	return -EINVAL;
}

int tsig_url_alt(char *dst, size_t cap, const char *url)
{
	size_t sl, hostend, colon = 0;
	int port = default_port(url, &sl), n;
	char portstr[16];

	if (port < 0)
		return -EINVAL;
	unsigned ncolon = 0;
	bool in_br = false;

	hostend = sl + strcspn(url + sl, "/?#");
	for (size_t i = sl; i < hostend; i++) {
		if (url[i] == '[' || url[i] == ']')
			in_br = url[i] == '[';
		else if (url[i] == ':' && !in_br)
			colon = i, ncolon++; /* a colon outside an IPv6 literal: the port */
	}
	if (ncolon > 1)
		return -EINVAL; /* "h:443:443" is no authority: don't guess */
	if (colon) {
		/* has a port: remove it when it is the default one */
		snprintf(portstr, sizeof(portstr), "%d", port);
		if (hostend - colon - 1 != strlen(portstr) || strncmp(url + colon + 1, portstr, strlen(portstr)))
			return -EINVAL;
		n = snprintf(dst, cap, "%.*s%s", (int)colon, url, url + hostend);
	} else {
		n = snprintf(dst, cap, "%.*s:%d%s", (int)hostend, url, port, url + hostend);
	}
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

static bool sig_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la != lb)
		return false;
	return CRYPTO_memcmp(a, b, la) == 0;
}

bool tsig_check(const char *token, const char *url, const form *params, const char *sig)
{
	char calc[TSIG_LEN + 1], alt[4096];

	if (!token || !*token || !url || !*url || !sig || !*sig)
		return false;
	if (tsig_compute(token, url, params, calc) == 0 && sig_eq(calc, sig))
		return true;
	if (tsig_url_alt(alt, sizeof(alt), url) > 0 && tsig_compute(token, alt, params, calc) == 0 &&
	    sig_eq(calc, sig))
		return true;
	return false;
}
