/* fallback: what a call does when the Realtime API fails (unreachable at
 * connect, an error event, or a close mid-call). One hook, called once per
 * call on the loop thread; issue 8 replaces its body with a fallback prompt
 * and a missed-call message to the dashboard. Today: the call ends after
 * OPENAI_FAIL_GRACE_MS so the caller is not left in silence. */
#ifndef VX_FALLBACK_H
#define VX_FALLBACK_H
#include "vcall.h"

void fb_openai_failed(vp *v, vcall *c, const char *reason);
#endif
