/* vp: the voiceproxy process context shared by its modules (acceptor, HTTP
 * handlers, calls). Everything here is owned and touched by the loop thread,
 * except the atomic counters, which libmicrohttpd's thread reads for
 * /health. Settings are copied out of the config table once at start so the
 * per-call paths never look them up by name. */
#ifndef VX_VP_H
#define VX_VP_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "dash.h"
#include "ws.h"

#define VP_VERSION "0.1.0"

typedef struct vcall vcall;
typedef struct acc acc;
typedef struct vhttp vhttp;

typedef struct vp_conf {
	const char *bind_addr;
	int port;
	const char *public_host;
	const char *openai_key;     /* secret: only in the Authorization header */
	const char *openai_url;
	int openai_connect_timeout_ms;
	int openai_fail_grace_ms;
	const char *transcription_model;
	const char *voice;
	const char *greeting;
	const char *default_instructions;
	const char *restaurant_id;
	const char *twilio_token;   /* secret */
	const char *stream_token;   /* secret */
	unsigned max_calls;
	size_t stream_max_message;
	int shutdown_grace_ms;
	const uint8_t *fb_audio;    /* FALLBACK_AUDIO, loaded once at start (NULL = none) */
	size_t fb_audio_len;
} vp_conf;

typedef struct vp_stats {
	atomic_ulong calls_total;      /* streams accepted */
	atomic_ulong refused_auth;     /* 401/403 on /media-stream */
	atomic_ulong refused_full;     /* 503: MAX_CALLS or shutting down */
	atomic_ulong acc_dropped;      /* garbage, oversized or slow request heads */
	atomic_ulong bad_stream;       /* streams ended for a protocol violation */
	atomic_ulong bad_openai;       /* malformed events from the Realtime API */
	atomic_ulong openai_failures;  /* unreachable, error, closed mid-call */
	atomic_ulong audio_dropped;    /* frames not sent (queue full, no session) */
	atomic_ulong webhook_refused;  /* 403 on /incoming-call */
	atomic_ulong fallbacks;        /* calls that got the fallback prompt + missed-call message */
} vp_stats;

typedef struct vp {
	uv_loop_t *loop;
	vp_conf conf;
	ws_ctx *ws_srv; /* /media-stream connections */
	ws_ctx *ws_cli; /* connections to the Realtime API */
	dash *dash;     /* may be NULL in unit tests */
	acc *acc;
	vhttp *http;
	vcall *calls;   /* every call object still allocated */
	atomic_uint live; /* calls not yet ended (admission, /health) */
	atomic_uint spooled; /* copy of dash_spooled() for the HTTP thread */
	atomic_uint journal_failures; /* copy of dash_journal_failures() */
	atomic_bool stopping; /* read by the HTTP thread too */
	vp_stats st;
	char auth_header[1024]; /* "Authorization: Bearer …" (never logged) */
} vp;
#endif
