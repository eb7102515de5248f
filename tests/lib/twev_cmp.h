/* twev_cmp: compare two tw_event structs byte for byte, except the media
 * payload's base64 span (u.media.b64/b64_len), which only the fast path
 * fills in: a jansson value has no position in the input. Shared by the
 * differential unit test (test_twilio) and the fuzz target (fuzz_tw_diff). */
#ifndef VX_TWEV_CMP_H
#define VX_TWEV_CMP_H
#include <string.h>
#include "twilio.h"

static inline int twev_same_but_span(const tw_event *a, const tw_event *b)
{
	static tw_event x, y;

	memcpy(&x, a, sizeof(x)); /* memcpy, not =, keeps the padding bytes */
	memcpy(&y, b, sizeof(y));
	if (x.type == TW_MEDIA) {
		x.u.media.b64 = NULL;
		x.u.media.b64_len = 0;
	}
	if (y.type == TW_MEDIA) {
		y.u.media.b64 = NULL;
		y.u.media.b64_len = 0;
	}
	return !memcmp(&x, &y, sizeof(x));
}
#endif
