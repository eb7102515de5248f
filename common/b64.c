/* b64: RFC 4648 base64, strict decoder.
 *
 * Usage notes:
 *  - b64_decode checks the length (multiple of 4) and the padding first,
 *    then -ENOSPC if the decoded size exceeds cap, then decodes in one pass
 *    rejecting any byte outside the alphabet (-EINVAL). On error dst may
 *    hold partial output; never more than cap bytes are written.
 *  - '=' is only allowed as the last one or two characters, and the bits
 *    it pads must be zero (canonical encoding only).
 *  - Pure functions, no allocation: safe on the media hot path and for fuzzing.
 */
#include "b64.h"

#include <errno.h>

static const char b64_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* value + 1 for alphabet bytes, 0 otherwise (so the zero fill means invalid) */
static const uint8_t b64_rev1[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7,
	['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14,
	['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21,
	['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28,
	['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35,
	['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49,
	['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
	['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63,
	['/'] = 64,
};

size_t b64_encode(char *dst, const uint8_t *src, size_t n)
{
	size_t i = 0, o = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
		dst[o++] = b64_alpha[v >> 18];
		dst[o++] = b64_alpha[(v >> 12) & 63];
		dst[o++] = b64_alpha[(v >> 6) & 63];
		dst[o++] = b64_alpha[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)src[i] << 16;
		dst[o++] = b64_alpha[v >> 18];
		dst[o++] = b64_alpha[(v >> 12) & 63];
		dst[o++] = '=';
		dst[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8;
		dst[o++] = b64_alpha[v >> 18];
		dst[o++] = b64_alpha[(v >> 12) & 63];
		dst[o++] = b64_alpha[(v >> 6) & 63];
		dst[o++] = '=';
	}
	dst[o] = '\0';
	return o;
}

int b64_decode(uint8_t *dst, size_t cap, const char *src, size_t n)
{
	const uint8_t *s = (const uint8_t *)src;
	size_t pad = 0, out, full, i, o = 0;

	if (n % 4)
		return -EINVAL;
	if (n == 0)
		return 0;
	if (n / 4 * 3 > (size_t)0x7fffffff) /* result must fit the int return */
		return -EINVAL;
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	out = n / 4 * 3 - pad;
	if (out > cap)
		return -ENOSPC;

	full = pad ? n - 4 : n; /* quads without padding */
	for (i = 0; i < full; i += 4) {
		uint8_t a = b64_rev1[s[i]], b = b64_rev1[s[i + 1]], c = b64_rev1[s[i + 2]], d = b64_rev1[s[i + 3]];
		if (!a || !b || !c || !d)
			return -EINVAL;
		a--, b--, c--, d--;
		uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | d;
		dst[o++] = (uint8_t)(v >> 16);
		dst[o++] = (uint8_t)(v >> 8);
		dst[o++] = (uint8_t)v;
	}
	if (pad) {
		uint8_t a = b64_rev1[s[i]], b = b64_rev1[s[i + 1]];
		uint8_t c = pad == 1 ? b64_rev1[s[i + 2]] : 1;
		if (!a || !b || !c)
			return -EINVAL;
		a--, b--, c--;
		if (pad == 2 && (b & 0x0f)) /* non-canonical trailing bits */
			return -EINVAL;
		if (pad == 1 && (c & 0x03))
			return -EINVAL;
		uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
		dst[o++] = (uint8_t)(v >> 16);
		if (pad == 1)
			dst[o++] = (uint8_t)(v >> 8);
	}
	return (int)o;
}

int b64_check(const char *src, size_t n)
{
	const uint8_t *s = (const uint8_t *)src;
	size_t pad = 0, full, i;

	if (n % 4)
		return -EINVAL;
	if (n == 0)
		return 0;
	if (n / 4 * 3 > (size_t)0x7fffffff)
		return -EINVAL;
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	full = pad ? n - 4 : n;
	for (i = 0; i < full; i++)
		if (!b64_rev1[s[i]])
			return -EINVAL;
	if (pad) { /* same rules as b64_decode's last quad */
		uint8_t a = b64_rev1[s[i]], b = b64_rev1[s[i + 1]];
		uint8_t c = pad == 1 ? b64_rev1[s[i + 2]] : 1;

		if (!a || !b || !c)
			return -EINVAL;
		if (pad == 2 && ((b - 1) & 0x0f))
			return -EINVAL;
		if (pad == 1 && ((c - 1) & 0x03))
			return -EINVAL;
	}
	return (int)(n / 4 * 3 - pad);
}
