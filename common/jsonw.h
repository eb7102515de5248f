/* jsonw: tiny helpers to write JSON text into fixed buffers without building
 * a tree (the hot paths: Twilio and Realtime audio events). */
#ifndef VX_JSONW_H
#define VX_JSONW_H
#include <stddef.h>
#include <stdint.h>

/* Append `s` as a quoted, escaped JSON string at buf+*pos (cap total).
 * Returns 0 or -ENOSPC (buffer left NUL-terminated either way). */
int jw_str(char *buf, size_t cap, size_t *pos, const char *s);
/* Append raw text (printf-style). 0 or -ENOSPC. */
int jw_raw(char *buf, size_t cap, size_t *pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Append raw text as is / a decimal number, without printf (per-frame
 * events). Same contract: 0 or -ENOSPC, buffer left NUL-terminated. */
int jw_lit(char *buf, size_t cap, size_t *pos, const char *s);
int jw_mem(char *buf, size_t cap, size_t *pos, const void *p, size_t n); /* n raw bytes */
int jw_u64(char *buf, size_t cap, size_t *pos, uint64_t v);
#endif
