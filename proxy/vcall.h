/* vcall: one /media-stream call and its Realtime session (the relay).
 * State machine on the loop thread, no thread per call:
 *   accepted -> (connected) -> start -> live -> ending -> freed
 * The OpenAI connection is opened at accept time to cut the time to the
 * first word; session.update goes out once both the connection and the
 * dashboard set-up (dash_fetch_ai) are there. Either side ending ends the
 * other; the call object is freed once both WebSockets and its timer have
 * closed. */
#ifndef VX_VCALL_H
#define VX_VCALL_H
#include <stddef.h>
#include <stdint.h>

#include "vp.h"

/* The ws accept callback for /media-stream (after the acceptor's checks):
 * 0 accepted, or an HTTP status (503). arg is the vp. */
int vcall_accept(ws_conn *c, const ws_request *rq, void *arg);
/* End now (idempotent): final call log with reason, both sides closed. */
void vcall_end(vcall *c, const char *reason);
/* End after ms unless something ended it first. */
void vcall_end_after(vcall *c, unsigned ms, const char *reason);
/* Play µ-law audio to the caller (any length; e.g. a fallback prompt). */
int vcall_play(vcall *c, const uint8_t *ulaw, size_t n);
/* After the audio queued so far has played, end the call with reason. */
int vcall_end_after_playout(vcall *c, const char *reason);
const dash_callinfo *vcall_info(const vcall *c); /* NULL fields until start */
const char *vcall_id(const vcall *c);             /* for log lines */
/* Once a second: end streams that stopped sending (half-open TCP). */
void vcall_sweep(vp *v);
/* Shutdown: end every live call. */
void vcall_end_all(vp *v, const char *reason);
#endif
