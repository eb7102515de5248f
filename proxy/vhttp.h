/* vhttp: voiceproxy's plain HTTP endpoints on libmicrohttpd (own polling
 * thread, no listen socket: the acceptor hands connections over):
 *   GET /, GET /health      JSON status: version, live calls, counters
 *   GET|POST /incoming-call TwiML <Connect><Stream> (Twilio webhook);
 *                           403 without a valid X-Twilio-Signature when
 *                           TWILIO_AUTH_TOKEN is set.
 * Handlers only read vp's immutable settings and atomic counters. */
#ifndef VX_VHTTP_H
#define VX_VHTTP_H
#include <sys/socket.h>

#include "vp.h"

int vhttp_start(vhttp **out, vp *v);
void vhttp_stop(vhttp *h);
/* Takes ownership of fd in every case (closed on failure). */
int vhttp_add_connection(vhttp *h, int fd, const struct sockaddr *addr, socklen_t addrlen);
#endif
