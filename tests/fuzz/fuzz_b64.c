/* fuzz_b64: b64_decode (Twilio media payloads, Realtime audio deltas).
 * Contract checked: strict decoding means any accepted input is the
 * canonical encoding of its output (decode then encode gives the input
 * back); a short buffer gives -ENOSPC and never an overflow; encode then
 * decode of arbitrary bytes is the identity; b64_check agrees with
 * b64_decode on every input. */
#include "fuzz.h"

#include <errno.h>

#include "b64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cap = B64_DEC_MAX(size);
	uint8_t *out = malloc(cap + 1);
	char *enc = malloc(B64_ENC_LEN(size) + 1);
	int n;

	if (!out || !enc)
		abort();
	/* data is an exact-size heap block: reads past size are caught. */
	n = b64_decode(out, cap, (const char *)data, size);
	FZ_CHECK(n == -EINVAL || n >= 0);
	FZ_CHECK(b64_check((const char *)data, size) == n); /* same verdict, no output */
	if (n >= 0) {
		FZ_CHECK((size_t)n <= cap);
		FZ_CHECK(b64_encode(enc, out, (size_t)n) == size);
		FZ_CHECK(memcmp(enc, data, size) == 0);
		if (n > 0) { /* one byte short: refused, not truncated */
			uint8_t *small = malloc((size_t)n - 1 + 1);
			if (!small)
				abort();
			FZ_CHECK(b64_decode(small, (size_t)n - 1, (const char *)data, size) == -ENOSPC);
			free(small);
		}
	}

	/* The other direction: the input as raw audio. */
	{
		size_t el = b64_encode(enc, data, size);
		FZ_CHECK(el == B64_ENC_LEN(size) && enc[el] == '\0');
		uint8_t *raw = malloc(size + 1);
		if (!raw)
			abort();
		n = b64_decode(raw, size, enc, el); /* exactly enough room */
		FZ_CHECK(n >= 0 && (size_t)n == size && memcmp(raw, data, size) == 0);
		free(raw);
	}
	free(out);
	free(enc);
	return 0;
}
