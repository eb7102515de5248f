/* form: application/x-www-form-urlencoded decoding (Twilio webhook bodies and
 * query strings). Pure: bytes in, struct out, no I/O; every input is hostile.
 * Names and values are percent-decoded ('+' is a space) into the struct's own
 * buffer. A bad %-escape, an embedded NUL, too many pairs or too many bytes
 * give a negative errno, never a crash. */
#ifndef VX_FORM_H
#define VX_FORM_H
#include <stddef.h>

#define FORM_MAX_PAIRS 64
#define FORM_BUF 16384 /* decoded names + values, NUL-terminated */

typedef struct form_kv {
	const char *name;  /* into form.buf */
	const char *value; /* into form.buf */
} form_kv;

typedef struct form {
	size_t n;
	form_kv kv[FORM_MAX_PAIRS];
	char buf[FORM_BUF];
} form;

/* 0, -EINVAL (bad escape or NUL), -E2BIG (too many pairs), -ENOSPC (too long). */
int form_parse(form *f, const char *s, size_t len);
/* First value for name, or NULL. */
const char *form_get(const form *f, const char *name);
/* Percent-decode one component into dst (cap incl. NUL); plus_space turns '+'
 * into ' '. Returns the length or -EINVAL / -ENOSPC. */
int form_unescape(char *dst, size_t cap, const char *s, size_t len, int plus_space);
#endif
