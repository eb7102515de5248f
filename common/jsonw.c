/* jsonw: append JSON text to fixed buffers without a tree.
 *
 * Usage notes:
 *  - Appends are all-or-nothing: on -ENOSPC *pos is unchanged and the
 *    buffer is cut back to its previous NUL, so a caller can bail out with
 *    `goto out` without leaving half an escape behind.
 *  - jw_str escapes '"', '\\' and every control byte (< 0x20) as \u00XX,
 *    passes valid UTF-8 through, and replaces each byte of an invalid UTF-8
 *    sequence with \ufffd, so the output is always valid JSON even when the
 *    input came from the network (SIP headers, caller names).
 *  - jw_raw is vsnprintf: the caller owns the JSON validity of the text.
 */
#include "jsonw.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t jw_utf8_len(const uint8_t *s)
{
	uint8_t c = s[0];
	uint32_t cp;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0; /* overlong, out of range, or surrogate */
	return n;
}

/* Bytes jw_str copies as they are: printable ASCII but '"' and '\\'. */
static const uint8_t JW_PLAIN[256] = {
	[0x20 ... 0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7e] = 1, /* not 0x22 '"', 0x5c '\\' */
};

int jw_str(char *buf, size_t cap, size_t *pos, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = (const uint8_t *)(s ? s : "");
	size_t o = *pos;

	if (o >= cap)
		return -ENOSPC;
	/* reserve 1 byte for the NUL throughout */
#define JW_NEED(k) do { if (o + (k) >= cap) goto nospc; } while (0)
	JW_NEED(1);
	buf[o++] = '"';
	while (*p) {
		uint8_t c = *p;
		if (JW_PLAIN[c]) { /* the common case: ids, names */
			JW_NEED(1);
			buf[o++] = (char)c;
			p++;
		} else if (c == '"' || c == '\\') {
			JW_NEED(2);
			buf[o++] = '\\';
			buf[o++] = (char)c;
			p++;
		} else if (c < 0x20) {
			JW_NEED(6);
			buf[o++] = '\\';
			buf[o++] = 'u';
			buf[o++] = '0';
			buf[o++] = '0';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
			p++;
		} else {
			size_t n = jw_utf8_len(p);
			if (n == 0) {
				JW_NEED(6);
				for (const char *r = "\\ufffd"; *r; r++)
					buf[o++] = *r;
				p++;
				continue;
			}
			JW_NEED(n);
			for (size_t i = 0; i < n; i++)
				buf[o++] = (char)p[i];
			p += n;
		}
	}
	JW_NEED(1);
	buf[o++] = '"';
#undef JW_NEED
	buf[o] = '\0';
	*pos = o;
	return 0;
nospc:
	buf[*pos] = '\0';
	return -ENOSPC;
}

int jw_raw(char *buf, size_t cap, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*pos >= cap)
		return -ENOSPC;
	va_start(ap, fmt);
	n = vsnprintf(buf + *pos, cap - *pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *pos) {
		buf[*pos] = '\0';
		return n < 0 ? -EINVAL : -ENOSPC;
	}
	*pos += (size_t)n;
	return 0;
}

int jw_mem(char *buf, size_t cap, size_t *pos, const void *p, size_t n)
{
	if (*pos >= cap)
		return -ENOSPC;
	if (n >= cap - *pos) {
		buf[*pos] = '\0';
		return -ENOSPC;
	}
	if (n)
		memcpy(buf + *pos, p, n);
	*pos += n;
	buf[*pos] = '\0';
	return 0;
}

int jw_lit(char *buf, size_t cap, size_t *pos, const char *s)
{
	return jw_mem(buf, cap, pos, s, strlen(s));
}

int jw_u64(char *buf, size_t cap, size_t *pos, uint64_t v)
{
	char d[20];
	size_t n = 0;

	if (*pos >= cap)
		return -ENOSPC;
	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (n >= cap - *pos) {
		buf[*pos] = '\0';
		return -ENOSPC;
	}
	for (size_t i = 0; i < n; i++)
		buf[*pos + i] = d[n - 1 - i];
	*pos += n;
	buf[*pos] = '\0';
	return 0;
}
