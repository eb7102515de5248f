/* acc: the one-port acceptor. Listens on BIND_ADDR:PORT, peeks at each new
 * connection's request head (MSG_PEEK, at most RH_MAX bytes, ACC_HEAD_MS to
 * arrive; garbage, oversize or timeout -> closed and counted), then routes:
 *   GET /media-stream + Upgrade: websocket -> auth (sauth), admission
 *       (MAX_CALLS, free descriptors) -> ws_adopt() on the stream server; refusals (401, 403,
 *       503) are answered here, before any OpenAI connection exists;
 *   anything else -> libmicrohttpd (vhttp_add_connection).
 * Runs on the loop thread. */
#ifndef VX_ACC_H
#define VX_ACC_H
#include "vp.h"

#define ACC_HEAD_MS 5000
#define ACC_MAX_PENDING 256
/* Descriptors a new stream must find free beyond its own socket (its OpenAI
 * socket, the dashboard's, the journal file, a margin): fewer -> 503. */
#define ACC_FD_NEED 8
/* accept() failing with EMFILE and no spare descriptor: pause this long */
#define ACC_PAUSE_MS 100

/* *bound gets the port actually bound (PORT=0 picks one). */
int acc_start(acc **out, vp *v, const char *addr, int port, int *bound);
/* Stop listening and drop connections still being peeked at. */
void acc_stop(acc *a);
/* Frees a stopped acceptor after the loop has run its close callbacks. */
void acc_destroy(acc *a);
#endif
