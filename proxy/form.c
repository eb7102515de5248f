/* form: x-www-form-urlencoded decoding; see form.h. */
#include "form.h"

#include <errno.h>
#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int form_unescape(char *dst, size_t cap, const char *s, size_t len, int plus_space)
{
	size_t o = 0;

	if (!cap)
		return -ENOSPC;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= len)
				return -EINVAL;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		if (c == '\0') /* a NUL would silently cut the value: refuse */
			return -EINVAL;
		if (o + 1 >= cap)
			return -ENOSPC;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return (int)o;
}

int form_parse(form *f, const char *s, size_t len)
{
	size_t used = 0, i = 0;

	f->n = 0;
	f->buf[0] = '\0';
	while (i < len) {
		size_t end = i, eq;
		int r;
		while (end < len && s[end] != '&')
			end++;
		if (end == i) { /* empty segment ("a=1&&b=2") */
			i = end + 1;
			continue;
		}
		if (f->n >= FORM_MAX_PAIRS)
			return -E2BIG;
		eq = i;
		while (eq < end && s[eq] != '=')
			eq++;
		r = form_unescape(f->buf + used, FORM_BUF - used, s + i, eq - i, 1);
		if (r < 0)
			return r;
		f->kv[f->n].name = f->buf + used;
		used += (size_t)r + 1;
		if (used >= FORM_BUF)
			return -ENOSPC;
		r = eq < end ? form_unescape(f->buf + used, FORM_BUF - used, s + eq + 1, end - eq - 1, 1)
			     : form_unescape(f->buf + used, FORM_BUF - used, "", 0, 1);
		if (r < 0)
			return r;
		f->kv[f->n].value = f->buf + used;
		used += (size_t)r + 1;
		f->n++;
		i = end + 1;
	}
	return 0;
}

const char *form_get(const form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->kv[i].name, name))
			return f->kv[i].value;
	return NULL;
}
