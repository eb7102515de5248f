/* fuzz_form: form_parse / form_unescape (Twilio webhook bodies, query
 * strings). Contract checked: pair count bounded, every name/value points
 * into f->buf and ends there, the first name is found by form_get, and
 * form_unescape never writes past cap nor reports a length that does not
 * match the string it wrote. */
#include "fuzz.h"

#include <errno.h>

#include "form.h"

static int in_buf(const form *f, const char *p)
{
	return p >= f->buf && p < f->buf + FORM_BUF &&
	       memchr(p, '\0', (size_t)(f->buf + FORM_BUF - p)) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	form *f = malloc(sizeof(*f));
	const char *s = (const char *)data;
	int r;

	if (!f)
		abort();
	r = form_parse(f, s, size);
	FZ_CHECK(r == 0 || r == -EINVAL || r == -E2BIG || r == -ENOSPC);
	if (r == 0) {
		FZ_CHECK(f->n <= FORM_MAX_PAIRS);
		for (size_t i = 0; i < f->n; i++) {
			FZ_CHECK(in_buf(f, f->kv[i].name));
			FZ_CHECK(in_buf(f, f->kv[i].value));
		}
		if (f->n)
			FZ_CHECK(form_get(f, f->kv[0].name) == f->kv[0].value);
		/* Decoded text is never longer than its encoding. */
		for (size_t i = 0; i < f->n; i++)
			FZ_CHECK(strlen(f->kv[i].name) + strlen(f->kv[i].value) <= size);
	}
	free(f);

	/* One component with small, exact-size destination buffers. */
	for (size_t cap = 0; cap <= 8 && cap <= size + 1; cap += 4) {
		char *dst = malloc(cap ? cap : 1);
		if (!dst)
			abort();
		r = form_unescape(dst, cap, s, size, (int)(size & 1));
		FZ_CHECK(r == -EINVAL || r == -ENOSPC || (r >= 0 && (size_t)r < cap));
		if (r >= 0)
			FZ_CHECK(strlen(dst) == (size_t)r);
		free(dst);
	}
	{
		char *dst = malloc(size + 1);
		if (!dst)
			abort();
		r = form_unescape(dst, size + 1, s, size, 1);
		FZ_CHECK(r == -EINVAL || (r >= 0 && (size_t)r <= size && strlen(dst) == (size_t)r));
		free(dst);
	}
	return 0;
}
