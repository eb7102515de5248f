/* sauth: who may open /media-stream (issue 8), decided by the acceptor from
 * the upgrade request's head before any OpenAI connection is opened:
 *  - TWILIO_AUTH_TOKEN set: a valid X-Twilio-Signature over
 *    wss://HOST/media-stream?query (HOST = PUBLIC_HOST or Host);
 *  - STREAM_TOKEN set: "Authorization: Bearer STREAM_TOKEN" (sipbridge);
 *  - both set: either is accepted; neither set: open (local development).
 * Pure function. */
#ifndef VX_SAUTH_H
#define VX_SAUTH_H
#include <stddef.h>

#include "reqhead.h"

typedef struct sauth_cfg {
	const char *twilio_token; /* NULL/"" = not required */
	const char *stream_token; /* NULL/"" = not required */
	const char *public_host;  /* NULL/"" = use the Host header */
} sauth_cfg;

/* 0 allowed, 401 no credentials, 403 wrong credentials; why gets a short
 * reason for the log (never a secret). */
int sauth_stream(const sauth_cfg *c, const rh_head *h, char *why, size_t whylen);
#endif
