/* strm: one call's Twilio Media Stream, client side: sipbridge plays Twilio
 * towards WS_URL. It owns the WS connection (common/ws.h), the counters
 * Twilio keeps (sequenceNumber counts every message sent, from 1 on start;
 * chunk counts media messages, from 1) and the parsing of what the
 * application sends back (media, mark, clear; common/twilio.h).
 *
 * Hostile input from the application (malformed JSON, unknown events, bad
 * base64, a foreign streamSid, binary frames) is logged with the call id,
 * dropped and counted; the stream carries on.
 *
 * Lifetime: strm_open allocates; the strm frees itself right after its
 * close_h returns (close_h is always the last callback, also when the WS
 * never opened). Call everything on the loop thread of the ws_ctx. */
#ifndef VX_STRM_H
#define VX_STRM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "twilio.h"
#include "ws.h"

typedef struct strm strm;

typedef struct strm_handlers {
	void (*open_h)(void *arg);                                   /* connected + start sent */
	void (*media_h)(const uint8_t *ulaw, size_t n, void *arg);   /* application audio */
	void (*mark_h)(const char *name, void *arg);
	void (*clear_h)(void *arg);
	void (*close_h)(int code, const char *reason, bool was_open, void *arg); /* last */
} strm_handlers;

typedef struct strm_cfg {
	const char *url;
	const char *token;        /* "Authorization: Bearer <token>" when set; never logged */
	const char *log_id;       /* call id for log lines */
	const tw_start *start;    /* sids, tracks, customParameters, mediaFormat */
} strm_cfg;

typedef struct strm_stats {
	uint64_t tx_msgs, tx_media, tx_fail;      /* sent / failed sends (slow peer) */
	uint64_t rx_media, rx_bytes, rx_marks, rx_clears;
	uint64_t rx_bad;                          /* dropped: malformed or invalid */
} strm_stats;

int strm_open(strm **out, ws_ctx *ctx, const strm_cfg *cfg, const strm_handlers *h, void *arg);
/* Inbound caller audio (µ-law), stamped with its stream time in ms. */
int strm_media(strm *s, const uint8_t *ulaw, size_t n, uint64_t ts_ms);
int strm_dtmf(strm *s, char digit);
int strm_mark(strm *s, const char *name);   /* echo of an application mark */
/* Sends stop when open, then closes the WS; close_h follows. Idempotent. */
void strm_stop(strm *s);
/* Like strm_stop, but no callback runs any more (not even close_h): the
 * owner may go away now; the strm frees itself once the WS is closed. */
void strm_abandon(strm *s);
bool strm_is_open(const strm *s);
const strm_stats *strm_get_stats(const strm *s);
#endif
