/* fuzz_tsig: the Twilio signature check (X-Twilio-Signature on the webhook
 * and on the /media-stream upgrade). Input: token \0 url \0 form body \0
 * claimed signature (missing parts are empty).
 * Contract checked: the signature is 28 base64 chars; our own signature
 * verifies and does not depend on the order of the POST parameters; a
 * claimed signature is accepted only when it equals the one computed over
 * the URL or its default-port twin; an empty token, URL or signature is
 * refused; tsig_url_alt is its own inverse and never overflows dst. */
#include "fuzz.h"

#include <errno.h>

#include "form.h"
#include "tsig.h"

static const char *part(const char **p, const char *end)
{
	const char *s = *p;
	if (s >= end)
		return "";
	*p = s + strlen(s) + 1;
	return s;
}

static int plain_authority(const char *url)
{
	const char *a = strstr(url, "://"), *end, *br, *p;
	int colons = 0;

	if (!a)
		return 0;
	a += 3;
	end = a + strcspn(a, "/?#");
	br = NULL;
	for (p = a; p < end; p++)
		if (*p == ']')
			br = p;
	for (p = br ? br : a; p < end; p++) {
		colons += *p == ':';
		if (*p == '@' || *p == '[')
			return 0;
	}
	return colons <= 1 && end > a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static form f, rev;
	char *in = fz_dup(data, size), *end = in + size + 1;
	const char *p = in, *token, *url, *body, *sig;
	char calc[TSIG_LEN + 1], calc2[TSIG_LEN + 1], alt[8192], alt2[8192];
	int n;

	token = part(&p, end);
	url = part(&p, end);
	body = part(&p, end);
	sig = part(&p, end);

	if (form_parse(&f, body, strlen(body)) != 0)
		f.n = 0;
	if (tsig_compute(token, url, &f, calc) == 0) {
		FZ_CHECK(strlen(calc) == TSIG_LEN && calc[TSIG_LEN - 1] == '=');
		FZ_CHECK(tsig_check(token, url, &f, calc) == (*token && *url));
		/* Same pairs, reversed: same signature (Twilio sorts them). */
		rev = f;
		for (size_t i = 0; i < f.n; i++) {
			rev.kv[i].name = f.kv[f.n - 1 - i].name;
			rev.kv[i].value = f.kv[f.n - 1 - i].value;
		}
		FZ_CHECK(tsig_compute(token, url, &rev, calc2) == 0 && !strcmp(calc, calc2));
		if (tsig_check(token, url, &f, sig)) {
			int ok = !strcmp(sig, calc);
			if (!ok && tsig_url_alt(alt, sizeof(alt), url) > 0 &&
			    tsig_compute(token, alt, &f, calc2) == 0)
				ok = !strcmp(sig, calc2);
			FZ_CHECK(ok && *token && *url && *sig);
		}
	}
	FZ_CHECK(!tsig_check("", url, &f, sig) && !tsig_check(token, "", &f, sig) &&
		 !tsig_check(token, url, &f, ""));

	n = tsig_url_alt(alt, sizeof(alt), url);
	FZ_CHECK(n == -EINVAL || n == -ENOSPC || (n > 0 && (size_t)n == strlen(alt)));
	/* Toggling twice gives the URL back when its authority is well formed
	 * (host[:port] or [v6][:port]); "h:443:443" has no single reading. */
	if (n > 0 && plain_authority(url) && tsig_url_alt(alt2, sizeof(alt2), alt) > 0)
		FZ_CHECK(!strcmp(alt2, url));
	if (n > 0) { /* one byte short of room: refused, exact-size heap block */
		char *small = malloc((size_t)n);
		if (!small)
			abort();
		FZ_CHECK(tsig_url_alt(small, (size_t)n, url) == -ENOSPC);
		free(small);
	}
	free(in);
	return 0;
}
