/* dash_int: internals shared by dash.c, dash_ai.c, dash_tool.c,
 * dash_post.c and calllog.c, plus the pure parsers/builders (no I/O) that
 * unit tests and fuzz targets call directly. */
#ifndef VX_DASH_INT_H
#define VX_DASH_INT_H
#include "dash.h"
#include "hc.h"
#include "spool.h"

#include <stdbool.h>

#define DASH_MAX_OUTPUT (64 * 1024) /* function_call_output we pass to the model */
#define DASH_MAX_TOOLS 64
#define DASH_RETRY_INFLIGHT 8       /* journal retries in flight at once */

typedef struct dpost dpost;

/* The spool outlives dash_destroy while thread-pool writes finish. */
typedef struct dash_spool_ref {
	spool *sp;
	unsigned refs;
} dash_spool_ref;

struct dash {
	uv_loop_t *loop;
	hc *http;
	dash_spool_ref *sref;       /* NULL when SPOOL_DIR is unusable */
	char *base;                 /* DASHBOARD_URL without trailing '/' */
	char *token;
	char *def_instr, *def_voice;
	long ai_timeout_ms, tool_timeout_ms, retry_timeout_ms, retry_min_ms, retry_max_ms;
	dash_req *reqs;             /* requests whose callback is still due */
	dpost *posts;               /* durable deliveries not yet finished */
	unsigned spooled;           /* of those, the ones on disk */
	unsigned inflight;          /* retry attempts on the wire */
	unsigned journal_failures;  /* durable POSTs that could not be journaled */
	bool replayed;
	uv_timer_t imm;             /* runs answers known at once, off the caller's stack */
	bool imm_armed;
};

enum { DREQ_AI, DREQ_TOOL };

struct dash_req {
	dash *d;
	int type;
	hc_req *http;        /* plain request in flight */
	dpost *dp;           /* durable delivery whose first answer we await */
	dash_ai_h *ai_cb;
	dash_tool_h *tool_cb;
	void *arg;
	char *call_sid;      /* for log lines */
	char *what;          /* tool name or "ai" */
	char *imm_output;    /* tool output to deliver from the imm timer */
	dash_ai *imm_ai;     /* ai to deliver from the imm timer */
	dash_req *prev, *next;
};

/* dash.c */
dash_req *dash_req_new(dash *d, int type, const char *call_sid, const char *what);
void dash_req_unlink(dash_req *r);
void dash_req_free(dash_req *r);
void dash_req_tool_done(dash_req *r, const char *output); /* unlinks, calls, frees */
void dash_req_defer(dash_req *r);                         /* run via d->imm */
char *dash_url(const dash *d, const char *path, const char *query);
/* Header lines for a POST (NULL-terminated; storage inside hb). */
typedef struct dash_hdrs {
	char key[256], auth[512];
	const char *v[6];
} dash_hdrs;
void dash_hdrs_make(const dash *d, const char *idem_key, dash_hdrs *hb);
const char *dash_err_str(int err);
void dash_key_clean(char *key); /* visible ASCII only: no header injection */ /* "connection refused", "timeout", … */
bool dash_status_retryable(const hc_resp *r);

/* dash_ai.c (pure parts) */
dash_ai *dash_ai_defaults(const char *instr, const char *voice, const char *why);
/* Parses a GET /api/ai answer. On a malformed answer returns -EBADMSG and
 * *why says what was wrong; *out is always set (defaults when invalid). */
int dash_ai_parse(const char *buf, size_t len, const char *def_instr, const char *def_voice,
		  dash_ai **out);
int dash_urlencode(const char *s, char *out, size_t cap); /* RFC 3986 unreserved kept */

/* dash_tool.c (pure parts) */
const char *dash_tool_default_endpoint(const char *name); /* NULL: unknown */
/* NULL when not durable, else the journal kind ("order", …). */
const char *dash_durable_kind(const char *name, const char *path);
/* Arguments (must be a JSON object) + restaurantId, callSid, from. */
int dash_tool_body(const char *args_json, const dash_callinfo *ci, char **out);
/* Normalizes a dashboard answer into a function_call_output object text. */
char *dash_tool_output(const hc_resp *r);
char *dash_error_json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* calllog.c (pure): the POST /api/calls body. */
char *calllog_body(const calllog *cl, long long ended_ms, const char *end_reason);

/* dash_post.c */
/* Takes ownership of e's strings (e is cleared). waiter may be NULL. */
int dash_post_durable(dash *d, spool_entry *e, dash_req *waiter);
void dash_posts_destroy(dash *d);
void dash_post_detach(dpost *dp, dash_req *waiter); /* the waiter goes away */
#endif
