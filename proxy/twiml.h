/* twiml: the TwiML answer to /incoming-call (DESIGN.md):
 *   <?xml …?><Response><Connect><Stream url="wss://HOST/media-stream">
 *   <Parameter name="From" value="…"/>…</Stream></Connect></Response>
 * Every attribute is XML-escaped. Pure, no I/O. */
#ifndef VX_TWIML_H
#define VX_TWIML_H
#include <stddef.h>

typedef struct twiml_param {
	const char *name;
	const char *value; /* NULL or "" params are left out */
} twiml_param;

/* Escape for an XML attribute (& < > " '; control characters other than
 * tab/newline are dropped). Returns the length or -ENOSPC. */
int twiml_escape(char *dst, size_t cap, const char *s);
/* Returns the length written (NUL-terminated) or -ENOSPC / -EINVAL. */
int twiml_stream(char *buf, size_t cap, const char *host, const twiml_param *params, size_t n);
#endif
