/* fallback: what a call does when the Realtime API fails (unreachable at
 * connect, the upgrade refused with 401/403/429, a fatal error event, or a
 * close mid-call). The caller hears the FALLBACK_AUDIO prompt (µ-law 8 kHz,
 * loaded once at start), the call ends once it has played (mark echo), and
 * the restaurant gets a durable "missed call, please call back" message
 * (POST /api/messages) with the caller's number; the call log follows at the
 * end with endReason naming the failure. */
#ifndef VX_FALLBACK_H
#define VX_FALLBACK_H
#include <stddef.h>
#include <stdint.h>

#include "vcall.h"

#define FB_DEFAULT_AUDIO "proxy/audio/fallback-fr.ulaw"
#define FB_MAX_BYTES (8000 * 30) /* 30 s of µ-law: a prompt, not a recording */

/* Resolves and reads FALLBACK_AUDIO. A relative path is tried against the
 * working directory, then against each ancestor of the executable's
 * directory (build/voiceproxy, build/asan/voiceproxy -> the repo). "none"
 * disables the prompt (*out NULL, 0: the call ends after OPENAI_FAIL_GRACE_MS). 0, or -errno with one line in
 * err naming FALLBACK_AUDIO (missing, empty, over FB_MAX_BYTES). */
int fb_load(const char *setting, uint8_t **out, size_t *len, char *err, size_t errlen);

/* Called once per call, on the loop thread, when the call has started (the
 * caller's number is known). end_reason: the endReason; why: for humans. */
void fb_openai_failed(vp *v, vcall *c, const char *end_reason, const char *why);
#endif
