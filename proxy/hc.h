/* hc: asynchronous HTTP client on a libuv loop (libcurl multi, socket API:
 * one uv_poll per socket, one uv_timer). Nothing here blocks the loop.
 *
 * Ownership: hc_new/hc_destroy. A request lives from hc_request until its
 * callback returns or hc_cancel; the callback does not run after hc_cancel
 * or hc_destroy. Callbacks may start new requests and cancel others, but
 * must not call hc_destroy. hc_destroy closes uv handles: run the loop
 * afterwards so their close callbacks free the memory. */
#ifndef VX_HC_H
#define VX_HC_H
#include <stddef.h>
#include <uv.h>

typedef struct hc hc;
typedef struct hc_req hc_req;

#define HC_MAX_BODY (1024 * 1024) /* answers larger than this fail (-EMSGSIZE) */

typedef struct hc_opts {
	const char *method;           /* "GET" (default) or "POST" */
	const char *url;              /* http:// or https:// only */
	const char *const *headers;   /* NULL-terminated "Name: value" lines, or NULL */
	const char *body;             /* POST body (copied), or NULL */
	size_t body_len;
	long timeout_ms;              /* whole request; 0 = 10000 */
	long connect_timeout_ms;      /* 0 = min(timeout, 3000) */
} hc_opts;

typedef struct hc_resp {
	int err;           /* 0 when an HTTP answer arrived, else -ECONNREFUSED,
	                      -ETIMEDOUT, -EHOSTUNREACH, -EMSGSIZE, -EIO ... */
	long status;       /* HTTP status (0 when err) */
	const char *body;  /* NUL-terminated answer body (borrowed), "" when none */
	size_t body_len;
	const char *errmsg;/* curl's reason when err, else "" */
	long elapsed_ms;
} hc_resp;

typedef void (hc_done_h)(const hc_resp *r, void *arg);

int hc_new(hc **out, uv_loop_t *loop);
void hc_destroy(hc *h);
/* req (optional) receives a handle for hc_cancel, valid until the callback. */
int hc_request(hc *h, const hc_opts *o, hc_done_h *cb, void *arg, hc_req **req);
void hc_cancel(hc_req *r);
unsigned hc_active(const hc *h);
#endif
