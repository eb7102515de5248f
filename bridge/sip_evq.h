/* sip_evq: the one way into the SIP thread from other threads.
 * Media events (media_event_h runs on the media thread) and signals are
 * queued under a mutex and announced by one byte on a socketpair that the
 * SIP thread's su_root watches; the SIP thread then drains the queue and
 * calls the handler for each item, in order. Nothing else crosses threads. */
#ifndef VX_SIP_EVQ_H
#define VX_SIP_EVQ_H
#include <stdint.h>

typedef struct evq evq;
typedef struct su_root_s su_root_t;

/* Runs on the SIP thread: key/ev/reason as pushed; ev 0 = woken without
 * an item (evq_kick, e.g. a signal arrived). */
typedef void (evq_h)(uint64_t key, int ev, const char *reason, void *arg);

int evq_new(evq **out, su_root_t *root, evq_h *h, void *arg);
void evq_destroy(evq *q);
/* Any thread. reason is copied (truncated to 127 bytes). 0 / -ENOMEM. */
int evq_push(evq *q, uint64_t key, int ev, const char *reason);
/* Async-signal-safe wakeup: the handler is called with ev 0. */
void evq_kick(evq *q);
#endif
