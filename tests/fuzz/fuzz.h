/* fuzz.h: helpers shared by the libFuzzer targets (tests/fuzz/fuzz_*.c).
 *
 * A target does more than "does not crash": it asserts the parser's
 * documented contract (bounded counts, NUL-terminated fields, round trips),
 * so a silently wrong parse is a finding too. FZ_CHECK aborts, which
 * libFuzzer records as a crash with the input saved as an artifact. */
#ifndef VX_FUZZ_H
#define VX_FUZZ_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(cond)                                                            \
	do {                                                                      \
		if (!(cond)) {                                                    \
			fprintf(stderr, "%s:%d: contract violated: %s\n", __FILE__, \
				__LINE__, #cond);                                 \
			abort();                                                  \
		}                                                                 \
	} while (0)

/* A fixed-size char field holds a NUL within its size. */
#define FZ_CSTR(field) FZ_CHECK(memchr((field), '\0', sizeof(field)) != NULL)

/* Copy of the input in its own exact-size heap block (so ASan flags any
 * read past len) and NUL-terminated one byte later for APIs that need it. */
static inline char *fz_dup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}
#endif
