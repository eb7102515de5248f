/* b64: standard base64 (RFC 4648, '+/', '=' padding). Decoding is strict:
 * any character outside the alphabet (including whitespace), bad padding,
 * a length not a multiple of 4, or non-zero trailing bits is rejected. */
#ifndef VX_B64_H
#define VX_B64_H
#include <stddef.h>
#include <stdint.h>

#define B64_ENC_LEN(n) ((((n) + 2) / 3) * 4) /* without the NUL */
#define B64_DEC_MAX(n) (((n) / 4) * 3)

/* Writes B64_ENC_LEN(n) chars plus a NUL; returns the length (no NUL). */
size_t b64_encode(char *dst, const uint8_t *src, size_t n);
/* Returns decoded length >= 0, -EINVAL on bad input, -ENOSPC if cap is short. */
int b64_decode(uint8_t *dst, size_t cap, const char *src, size_t n);
/* What b64_decode would return with room enough, writing nothing: for
 * text forwarded as is (µ-law passthrough of Realtime deltas). */
int b64_check(const char *src, size_t n);
#endif
