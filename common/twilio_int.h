/* twilio_int: internals shared by twilio_parse.c and twilio_fast.c, and
 * exposed to the codec's own tests (test_twilio, fuzz_tw_diff) so they can
 * run both parse paths on the same frame and compare. Not a public API. */
#ifndef VX_TWILIO_INT_H
#define VX_TWILIO_INT_H
#include <stddef.h>
#include <stdint.h>

#include "twilio.h"

/* tw_parse_fast's "not mine": the caller must use tw_parse_tree. */
#define TW_FAST_DECLINED 1

/* The jansson path: handles every event and produces every error message.
 * Same contract as tw_parse. */
int tw_parse_tree(tw_event *ev, const char *json, size_t len, tw_dir dir,
		  uint8_t *audio, size_t cap, char *err, size_t errlen);

/* The allocation-free path for well-formed media and mark events.
 * Returns 0 with ev, audio and err exactly as tw_parse_tree would leave
 * them, except that media's b64/b64_len are set (the tree leaves them
 * NULL/0), or TW_FAST_DECLINED for anything else (then ev and audio may have
 * been written; tw_parse_tree overwrites ev and, for audio, writes the same
 * bytes again since the payload is decoded last with the same arguments). */
int tw_parse_fast(tw_event *ev, const char *json, size_t len, tw_dir dir,
		  uint8_t *audio, size_t cap, char *err, size_t errlen);

/* "digits" -> value: 1-20 decimal digits without overflow; 0 or -1.
 * Shared so both paths accept exactly the same numbers. */
int tw_digits(const char *s, size_t n, uint64_t *out);
#endif
