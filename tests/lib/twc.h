/* twc: one Twilio-side Media Stream (what Twilio or sipbridge does), for the
 * twilio_client test peer and the benchmark's load generator.
 * It connects to /media-stream (optionally with STREAM_TOKEN or a Twilio
 * signature), sends connected + start, then caller audio as media events at
 * a 20 ms pace (absolute schedule, no drift), plays the audio it receives at
 * 8000 bytes/s (simulated clock), echoes marks once the audio queued before
 * them has played (at once when nothing is queued), and obeys clear (drop
 * the queue, echo pending marks in order). Everything runs on the loop. */
#ifndef VX_TWC_H
#define VX_TWC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "ws.h"

typedef enum {
	TWC_NORMAL = 0,
	TWC_BAD_JSON,          /* a malformed JSON frame after start */
	TWC_OVERSIZE,          /* a 256 KiB text frame after start */
	TWC_MEDIA_BEFORE_START,
	TWC_BAD_B64,           /* media whose payload is not base64 */
} twc_mode;

typedef struct twc_opts {
	const char *url;          /* ws://127.0.0.1:PORT/media-stream */
	const char *bearer;       /* STREAM_TOKEN, or NULL */
	const char *twilio_token; /* sign the upgrade (URL with wss://), or NULL */
	const char *sig_host;     /* host in the signed URL (default: the URL's) */
	const uint8_t *audio;     /* caller audio (µ-law), may be NULL */
	size_t audio_len;
	unsigned duration_ms;     /* stream length; 0 = audio length */
	bool wait_close;          /* after the audio: keep going until the server closes */
	unsigned max_ms;          /* hard limit for wait_close (default 60000) */
	const char *restaurant_id;
	const char *from;
	FILE *rx_audio;           /* receives every agent payload byte, or NULL */
	FILE *events;             /* JSONL of events received/sent, or NULL */
	twc_mode mode;
	const char *dtmf;         /* digits sent as dtmf events, one per 200 ms, or NULL */
	unsigned dtmf_at_ms;      /* from the stream's start */
} twc_opts;

typedef struct twc_result {
	bool opened;
	int close_code;           /* from close_h */
	char close_reason[128];
	uint64_t media_sent;      /* caller frames */
	uint64_t rx_bytes;        /* agent audio bytes received */
	uint64_t played_bytes;    /* agent audio bytes "played" */
	uint64_t marks_rx, marks_echoed, clears;
	int64_t played_at_clear;  /* agent bytes played when the first clear came, -1 none */
	uint64_t rx_at_clear;     /* agent bytes received by then */
	uint64_t ms;              /* stream duration */
	bool server_closed;       /* the server ended the stream */
	int errors;               /* malformed messages from the server */
} twc_result;

typedef struct twc twc;
typedef void (twc_done_h)(twc *t, const twc_result *r, void *arg);

/* idx makes the stream's ids unique. done runs once, at the end. */
int twc_start(twc **out, ws_ctx *ctx, uv_loop_t *loop, const twc_opts *o, int idx,
	      twc_done_h *done, void *arg);
/* Frees a finished stream (after done ran). */
void twc_free(twc *t);

/* Raw one-shot client for frames the ws module never sends: connects,
 * upgrades, sends `connected` + a frame with the given opcode (2 = binary),
 * then reads until the server closes. Returns the close code the server
 * sent (>= 1000), 0 when the TCP connection just closed, or -errno
 * (-ETIMEDOUT after timeout_ms). Blocking; for tests only. */
int twc_raw_frame(const char *host, int port, const char *path, const char *bearer, int opcode,
		  const uint8_t *payload, size_t len, int timeout_ms);
#endif
