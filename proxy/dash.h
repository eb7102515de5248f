/* dash: voiceproxy's client of the restaurant dashboard API (DESIGN.md
 * "Dashboard API contract"). Everything runs on the proxy's libuv loop
 * (libcurl multi, socket API) and never blocks it: a slow or dead dashboard
 * never stalls audio. POSTs that create something (order, reservation,
 * message, call log) are journaled in SPOOL_DIR (fsync, in the thread pool)
 * before they are sent, and retried with backoff until accepted, across
 * restarts (docs/dashboard-api.md).
 * Every POST carries an Idempotency-Key (callSid + call_id; callSid for the
 * call log). */
#ifndef VX_DASH_H
#define VX_DASH_H
#include <jansson.h>
#include <uv.h>

typedef struct dash dash;
typedef struct dash_req dash_req;

typedef struct dash_opts {
	const char *base_url;             /* DASHBOARD_URL */
	const char *spool_dir;            /* SPOOL_DIR */
	const char *default_instructions; /* DEFAULT_INSTRUCTIONS */
	const char *default_voice;        /* VOICE */
	long ai_timeout_ms;               /* GET /api/ai, default 3000 */
	long tool_timeout_ms;             /* one tool POST, default 8000 */
	/* Added after the first version (all optional, 0/NULL = default): */
	const char *api_token;            /* DASHBOARD_TOKEN: "Authorization: Bearer …" when set */
	long retry_min_ms;                /* first journal retry delay, default 1000 */
	long retry_max_ms;                /* backoff cap, default 60000 */
	long retry_timeout_ms;            /* one retry attempt, default 15000 */
} dash_opts;

/* Per-call agent set-up from GET /api/ai (or the defaults). */
typedef struct dash_ai {
	char *instructions;  /* never NULL */
	json_t *tools;       /* array of function tools as the model must see them
	                        (type, name, description, parameters only) */
	json_t *endpoints;   /* object: tool name -> endpoint path overrides */
	char *voice;         /* never NULL */
	char *greeting;      /* NULL when none */
	json_t *context;     /* object, or NULL */
	char *source;        /* "dashboard", or why the defaults were used */
} dash_ai;

typedef struct dash_callinfo {
	const char *restaurant_id;
	const char *call_sid;
	const char *from;
} dash_callinfo;

/* ai belongs to the receiver: free it with dash_ai_free. */
typedef void (dash_ai_h)(dash_ai *ai, void *arg);
/* output: a JSON object as text for function_call_output; {"error": …} when
 * the tool failed or is unknown, a "noted" answer when the POST was
 * journaled for later delivery. Borrowed for the call. */
typedef void (dash_tool_h)(const char *output_json, void *arg);

int dash_new(dash **out, uv_loop_t *loop, const dash_opts *o);
/* Replays the journal (call at start-up, after dash_new). */
int dash_replay(dash *d);
/* Cancels in-flight requests (their callbacks do not run); journaled POSTs
 * stay on disk for the next start. Never call it from a dash callback; run
 * the loop afterwards (handle closes, journal writes still in progress). */
void dash_destroy(dash *d);

int dash_fetch_ai(dash *d, const dash_callinfo *ci, dash_ai_h *h, void *arg, dash_req **req);
void dash_ai_free(dash_ai *ai);
int dash_tool_call(dash *d, const dash_ai *ai, const dash_callinfo *ci, const char *name,
		   const char *call_id, const char *args_json, dash_tool_h *h, void *arg,
		   dash_req **req);
/* Durable POST /api/messages (e.g. the missed-call message). */
int dash_post_message(dash *d, const dash_callinfo *ci, const char *text);
/* The callback of r will not run; a journaled POST still gets delivered.
 * A dash_req is valid from the call that returned it until its callback
 * starts (callbacks always run later on the loop, never inside the call
 * that started the request): forget the pointer in the callback. */
void dash_cancel(dash_req *r);
/* Requests waiting in the journal (for /health and tests). */
unsigned dash_spooled(const dash *d);
/* Added: durable POSTs not finished yet (being journaled, on the wire or
 * waiting for a retry), and a way to retry all of them now: a graceful
 * shutdown calls dash_flush once, then waits (bounded) for
 * dash_pending() == 0 before dash_destroy. What is left stays journaled. */
unsigned dash_pending(const dash *d);
void dash_flush(dash *d);
/* Durable POSTs whose journal write failed (disk full, SPOOL_DIR unusable)
 * since start: they are retried from memory only, and a waiting tool call
 * is told the request could not be confirmed (never "noted"). */
unsigned dash_journal_failures(const dash *d);

/* calllog: the record of one call, POSTed to /api/calls at its end. */
typedef struct calllog calllog;
int calllog_new(calllog **out, const dash_callinfo *ci, const char *stream_sid, const char *to);
void calllog_turn(calllog *cl, const char *role /* "caller" | "agent" */, const char *text);
void calllog_tool(calllog *cl, const char *name, const char *call_id, const char *args_json,
		  const char *result_json);
void calllog_usage(calllog *cl, const json_t *usage); /* from response.done, summed */
/* Stamps the end (reason such as "caller_hangup", "agent_end_call",
 * "openai_error"), hands the log to dash for a durable POST, frees cl. */
int calllog_finish(calllog *cl, dash *d, const char *end_reason);
void calllog_destroy(calllog *cl); /* without posting (tests) */
#endif
