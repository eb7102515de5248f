/* vcall internals shared by vcall.c (stream side, lifecycle) and relay.c
 * (Realtime side). Not for other modules. */
#ifndef VX_VCALL_INT_H
#define VX_VCALL_INT_H
#include <stdbool.h>
#include <stdint.h>

#include "dash.h"
#include "play.h"
#include "twilio.h"
#include "vcall.h"

#define VC_PRE_MAX (8000 * 5)  /* caller audio kept until the session is set up (5 s) */
#define VC_END_MARK "vx-end"
#define VC_END_CALL_MAX_MS 30000 /* goodbye never holds a call longer */
#define VC_START_MS 10000       /* a stream must send `start` within this */
#define VC_DTMF_PRE 32           /* keypresses kept until the session is set up */
#define VC_IDLE_MS 30000        /* a started stream silent this long is dead (Twilio sends media continuously) */

typedef struct vc_tool {
	struct vc_tool *next;
	vcall *c;
	dash_req *req;
	bool done;
	bool in_call;               /* inside dash_tool_call (callback may run there) */
	char call_id[128];
	char name[128];
	char *args;
} vc_tool;

struct vcall {
	vp *v;
	vcall *prev, *next;
	char id[TW_SID_MAX];        /* log id: CallSid once known */
	ws_conn *stream;            /* NULL once closed */
	ws_conn *oa;                /* NULL once closed */
	bool started, ended;
	bool oa_open, oa_failed, ai_ready, session_sent;
	bool end_call_pending, end_mark_sent;
	bool timer_closed;
	uint64_t t_accept;          /* uv_now at accept */
	uint64_t t_last_rx;         /* uv_now of the stream's last message */
	char stream_sid[TW_SID_MAX], call_sid[TW_SID_MAX], account_sid[TW_SID_MAX];
	char restaurant_id[TW_VAL_MAX], from[TW_VAL_MAX], to[TW_VAL_MAX];
	dash_callinfo ci;
	dash_ai *ai;
	dash_req *ai_req;
	bool ai_cb_done;
	vc_tool *tools;
	calllog *log;
	play play;
	uint8_t *pre;               /* VC_PRE_MAX bytes, freed at session set-up */
	size_t pre_len;
	char dtmf_pre[VC_DTMF_PRE + 1]; /* keypresses before the session was set up */
	size_t dtmf_pre_n;
	uv_timer_t timer;
	char pending_reason[64];
	char fail_reason[32];       /* endReason once the Realtime API failed (sticky) */
	char fail_why[200];         /* what failed, for the log and the message */
	int close_code;             /* for the stream side, 0 = 1000 */
	uint64_t frames_in, frames_out, bytes_in, bytes_out;
	uint8_t audio[TW_MEDIA_MAX]; /* decoded caller audio (scratch) */
	char *obuf;                 /* outgoing event scratch, grown rarely */
	size_t obuf_cap;
};

/* relay.c */
int relay_connect(vcall *c);
void relay_start(vcall *c);     /* stream started: fetch the agent set-up */
void relay_caller_audio(vcall *c, const char *b64, size_t b64len, const uint8_t *audio, size_t n);
void relay_cancel(vcall *c);    /* cancel dashboard requests (call ending) */
void relay_dtmf(vcall *c, char digit); /* a keypress -> "[DTMF d]" user message */
/* The Realtime side failed: end_reason is the call log's endReason
 * (openai_unreachable, openai_auth, openai_rate_limited, openai_error,
 * openai_dropped). Once per call; runs the fallback when started. */
void relay_failed(vcall *c, const char *end_reason, const char *why);
/* endReason of a Realtime connection that closed: openai_dropped once open,
 * else from the refused upgrade's "HTTP <status>: …" reason (ws.h). */
const char *relay_fail_kind(bool was_open, const char *reason);

/* vcall.c */
int vc_obuf(vcall *c, size_t need); /* make c->obuf hold need bytes */
int vc_send_stream(vcall *c, const char *txt, size_t len);
int vc_send_oa(vcall *c, const char *txt, size_t len);
void vc_maybe_free(vcall *c);
#endif
