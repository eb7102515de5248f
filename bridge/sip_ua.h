/* sip_ua: the sipbridge SIP thread: one su_root and one nua for the whole
 * process (all calls, the trunk registration), driven from the thread that
 * calls sipua_run. Calls are state machines (sip_call.c); media is asked
 * for through media.h and answers through sipua_media_event.
 *
 * Lifecycle (main):
 *   sipua_new(&ua, cfg)            binds the SIP port (fails: exit 1)
 *   media_new(&m, &opts, sipua_media_event, ua); sipua_set_media(ua, m);
 *   media_start(m); sipua_run(ua)  returns after SIGINT/SIGTERM drain
 *   media_destroy(m); sipua_destroy(ua);
 * sipua_stop may be called from a signal handler. */
#ifndef VX_SIP_UA_H
#define VX_SIP_UA_H
#include <stdint.h>

#include "media.h"
#include "sb_config.h"

typedef struct sipua sipua;

int sipua_new(sipua **out, const sb_config *cfg);
void sipua_set_media(sipua *ua, media *m);
/* Runs the SIP loop until a stop request has drained every call. 0 ok. */
int sipua_run(sipua *ua);
/* Async-signal-safe: stop taking calls, end live ones, then leave sipua_run. */
void sipua_stop(sipua *ua);
void sipua_destroy(sipua *ua);
/* media_event_h for media_new: runs on the media thread, only enqueues. */
void sipua_media_event(uint64_t key, media_event ev, const char *reason, void *arg);
#endif
