/* fuzz_twiml: the TwiML answer to /incoming-call, built from the request's
 * Host header and the webhook's form values (all attacker-controlled when
 * TWILIO_AUTH_TOKEN is unset). Input: host \0 name \0 value \0 name ...
 * Contract checked: escaping leaves no markup character in an attribute
 * (exactly the structural '<' '>' and '"' of the template remain), every
 * '&' starts one of the entities we emit, no control character survives
 * but tab/newline/CR as character references, one <Parameter> per
 * non-empty value, and a short buffer gives -ENOSPC, never an overflow. */
#include "fuzz.h"

#include <errno.h>

#include "twiml.h"

#define MAXP 16

static size_t count(const char *s, char c)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == c;
	return n;
}

static void check_entities(const char *s)
{
	static const char *const ents[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#9;", "&#10;", "&#13;" };
	for (const char *p = strchr(s, '&'); p; p = strchr(p + 1, '&')) {
		int ok = 0;
		for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
			ok |= !strncmp(p, ents[i], strlen(ents[i]));
		FZ_CHECK(ok);
	}
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		FZ_CHECK(*p >= 0x20 && *p != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[1 << 20];
	char *in = fz_dup(data, size), *end = in + size, *p = in;
	const char *host = p;
	twiml_param prm[MAXP];
	size_t n = 0, emitted = 0;
	int r;

	p += strlen(p) + 1;
	while (p < end && n < MAXP) {
		prm[n].name = p;
		p += strlen(p) + 1;
		prm[n].value = p < end ? p : "";
		if (p < end)
			p += strlen(p) + 1;
		emitted += prm[n].value[0] != '\0';
		n++;
	}

	r = twiml_escape(out, sizeof(out), host);
	FZ_CHECK(r >= 0 && (size_t)r == strlen(out));
	FZ_CHECK(!strpbrk(out, "<>\"'"));
	check_entities(out);
	if (r > 0) { /* exact-size heap block one byte short */
		char *small = malloc((size_t)r);
		if (!small)
			abort();
		FZ_CHECK(twiml_escape(small, (size_t)r, host) == -ENOSPC);
		free(small);
	}

	r = twiml_stream(out, sizeof(out), host, prm, n);
	if (!*host) {
		FZ_CHECK(r == -EINVAL);
	} else {
		FZ_CHECK(r > 0 && (size_t)r == strlen(out));
		/* Template: <?xml ...?> <Response> <Connect> <Stream> + one <Parameter/>
		 * each, and the closing tags: nothing else may open or quote. */
		FZ_CHECK(count(out, '<') == 7 + emitted && count(out, '>') == 7 + emitted);
		FZ_CHECK(count(out, '"') == 6 + 4 * emitted);
		check_entities(out);
		char *small = malloc((size_t)r);
		if (!small)
			abort();
		FZ_CHECK(twiml_stream(small, (size_t)r, host, prm, n) == -ENOSPC);
		free(small);
	}
	free(in);
	return 0;
}
