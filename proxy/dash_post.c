/* dash_post: durable POSTs (orders, reservations, messages, call logs).
 *
 * Each request is first written to the journal (thread pool: fsync never
 * runs on the loop), then sent; 2xx deletes the entry; refused, timeout,
 * 5xx, 408 and 429 keep it and retry with exponential backoff; any other
 * answer moves it to the dead-letter file. A waiting tool call gets the
 * dashboard's answer, or a "noted" answer once the entry is on disk. */
#include "dash_int.h"
#include "err.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

enum { OP_PUT, OP_DEAD };

struct dpost {
	dash *d;               /* NULL once orphaned by dash_destroy */
	dash_spool_ref *sref;  /* held while thread-pool work runs */
	spool_entry e;
	char name[SPOOL_NAME_SIZE]; /* journal file, "" when not on disk */
	char wname[SPOOL_NAME_SIZE]; /* written by the worker thread only */
	unsigned attempts;
	bool last_net_err;
	bool unjournaled;      /* the journal write failed: memory only */
	uv_timer_t timer;
	hc_req *http;
	uv_work_t work;
	int work_op, work_rc;
	bool working;
	dash_req *waiter;
	long dl_status;
	char dl_reason[128];
	char *dl_resp;
	dpost *prev, *next;
};

static const char noted_json[] =
	"{\"status\":\"noted\",\"delivered\":false,\"message\":\"The restaurant system is "
	"temporarily unreachable. The request is saved and will be delivered automatically; "
	"tell the caller it has been noted.\"}";

/* Neither accepted nor on disk: the model must not promise anything. */
static const char unconfirmed_json[] =
	"{\"status\":\"not_confirmed\",\"delivered\":false,\"message\":\"The restaurant system "
	"could not confirm this request. Do not tell the caller it is noted: tell them the "
	"restaurant will call them back to confirm.\"}";

static void attempt(dpost *dp);

/* A journal write failed, or there is no journal: keep trying from memory,
 * but say so (log with the call id, /health counter). */
static void journal_failed(dpost *dp, const char *why)
{
	dp->d->journal_failures++;
	dp->unjournaled = true;
	log_err(dp->e.call_sid, "dash: %s %s NOT journaled (%s): retried from memory only, lost if "
		"voiceproxy stops%s", dp->e.kind, dp->e.key, why,
		dp->waiter ? "; the model is told it is not confirmed" : "");
}

/* What a waiting tool call hears when the dashboard did not accept yet. */
static const char *pending_answer(const dpost *dp)
{
	return dp->unjournaled ? unconfirmed_json : noted_json;
}

static void dp_link(dash *d, dpost *dp)
{
	dp->next = d->posts;
	if (d->posts)
		d->posts->prev = dp;
	d->posts = dp;
}

static void dp_unlink(dpost *dp)
{
	dash *d = dp->d;
	if (dp->prev)
		dp->prev->next = dp->next;
	else if (d && d->posts == dp)
		d->posts = dp->next;
	if (dp->next)
		dp->next->prev = dp->prev;
	dp->prev = dp->next = NULL;
}

static void dp_freed(uv_handle_t *h)
{
	dpost *dp = h->data;
	spool_entry_clear(&dp->e);
	free(dp->dl_resp);
	free(dp);
}

static void dp_close(dpost *dp)
{
	if (dp->d)
		dp_unlink(dp);
	if (dp->waiter)
		dp->waiter->dp = NULL;
	if (dp->http)
		hc_cancel(dp->http);
	dp->http = NULL;
	uv_timer_stop(&dp->timer);
	uv_close((uv_handle_t *)&dp->timer, dp_freed);
}

static void sref_put(dash_spool_ref *s)
{
	if (s && --s->refs == 0) {
		spool_destroy(s->sp);
		free(s);
	}
}

static unsigned rnd(unsigned n)
{
	unsigned v = 0;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (unsigned)uv_hrtime();
	return n ? v % n : 0;
}

/* ---- thread pool: journal writes ---------------------------------------- */

static void work_run(uv_work_t *w)
{
	dpost *dp = w->data;
	spool *sp = dp->sref->sp;
	if (dp->work_op == OP_PUT) {
		dp->work_rc = spool_put(sp, &dp->e, dp->wname);
	} else {
		dp->work_rc = spool_dead_letter(sp, &dp->e, dp->dl_status, dp->dl_reason, dp->dl_resp);
		if (dp->name[0])
			spool_remove(sp, dp->name);
	}
}

static void work_done(uv_work_t *w, int status)
{
	dpost *dp = w->data;
	dash *d = dp->d;
	dp->working = false;
	sref_put(dp->sref);
	dp->sref = NULL;
	if (!d) { /* dash_destroy ran meanwhile: the entry stays on disk */
		uv_close((uv_handle_t *)&dp->timer, dp_freed);
		return;
	}
	if (status < 0 && dp->work_rc == 0)
		dp->work_rc = status;
	const char *sid = dp->e.call_sid;
	if (dp->work_op == OP_PUT) {
		memcpy(dp->name, dp->wname, sizeof(dp->name));
		if (dp->work_rc < 0) {
			dp->name[0] = '\0';
			journal_failed(dp, strerror(-dp->work_rc));
		} else {
			d->spooled++;
			log_debug(sid, "dash: %s %s journaled as %s", dp->e.kind, dp->e.key, dp->name);
		}
		attempt(dp);
		return;
	}
	if (dp->work_rc < 0)
		log_err(sid, "dash: dead-letter write for %s %s failed (%s)", dp->e.kind, dp->e.key,
			strerror(-dp->work_rc));
	if (dp->name[0])
		d->spooled--;
	dp_close(dp);
}

static int queue_work(dpost *dp, int op)
{
	dp->work_op = op;
	dp->work.data = dp;
	dp->sref = dp->d->sref;
	dp->sref->refs++;
	dp->working = true;
	int rc = uv_queue_work(dp->d->loop, &dp->work, work_run, work_done);
	if (rc < 0) {
		dp->working = false;
		sref_put(dp->sref);
		dp->sref = NULL;
	}
	return rc;
}

/* ---- delivery ------------------------------------------------------------ */

static void unlink_done(uv_fs_t *req)
{
	uv_fs_req_cleanup(req);
	free(req);
}

static void remove_entry(dpost *dp)
{
	dash *d = dp->d;
	if (!dp->name[0] || !d->sref)
		return;
	char *path = NULL;
	uv_fs_t *req = malloc(sizeof(*req));
	if (req && asprintf(&path, "%s/%s", spool_dir(d->sref->sp), dp->name) >= 0 &&
	    uv_fs_unlink(d->loop, req, path, unlink_done) == 0)
		req = NULL;
	free(req);
	free(path);
	d->spooled--;
	dp->name[0] = '\0';
}

static void on_retry_timer(uv_timer_t *t) { attempt(t->data); }

static void schedule_retry(dpost *dp)
{
	dash *d = dp->d;
	unsigned shift = dp->attempts > 1 ? dp->attempts - 1 : 0;
	long delay = d->retry_min_ms;
	while (shift-- && delay < d->retry_max_ms)
		delay *= 2;
	if (delay > d->retry_max_ms)
		delay = d->retry_max_ms;
	delay = delay * 8 / 10 + rnd((unsigned)(delay * 4 / 10 + 1)); /* +-20%: no herd */
	uv_timer_start(&dp->timer, on_retry_timer, (uint64_t)delay, 0);
}

/* The dashboard answers again: retry what was waiting on a dead connection. */
static void kick_waiting(dash *d)
{
	for (dpost *o = d->posts; o; o = o->next)
		if (o->last_net_err && !o->http && !o->working && uv_is_active((uv_handle_t *)&o->timer)) {
			o->last_net_err = false;
			uv_timer_start(&o->timer, on_retry_timer, rnd(200), 0);
		}
}

static void answer_waiter(dpost *dp, const char *out)
{
	dash_req *w = dp->waiter;
	if (!w)
		return;
	dp->waiter = NULL;
	w->dp = NULL;
	dash_req_tool_done(w, out);
}

static void on_answer(const hc_resp *r, void *arg)
{
	dpost *dp = arg;
	dash *d = dp->d;
	const char *sid = dp->e.call_sid;
	dp->http = NULL;
	d->inflight--;
	dp->attempts++;
	if (!r->err && r->status >= 200 && r->status <= 299) {
		log_info(sid, "dash: %s delivered (POST %s, key %s, HTTP %ld, attempt %u)", dp->e.kind,
			 dp->e.path, dp->e.key, r->status, dp->attempts);
		if (dp->waiter) {
			char *out = dash_tool_output(r);
			answer_waiter(dp, out);
			free(out);
		}
		remove_entry(dp);
		dp_close(dp);
		kick_waiting(d);
		return;
	}
	char why[96];
	if (r->err)
		snprintf(why, sizeof(why), "%s", dash_err_str(r->err));
	else
		snprintf(why, sizeof(why), "HTTP %ld", r->status);
	if (dash_status_retryable(r)) {
		dp->last_net_err = r->err != 0;
		schedule_retry(dp);
		log_warn(sid, "dash: %s POST %s failed (%s, attempt %u): %s, retrying in %.1f s",
			 dp->e.kind, dp->e.path, why, dp->attempts,
			 dp->name[0] ? "journaled" : "NOT journaled (memory only)",
			 (double)uv_timer_get_due_in(&dp->timer) / 1000.0);
		answer_waiter(dp, pending_answer(dp));
		return;
	}
	/* Refused for good: retrying cannot help; keep it for a human. */
	log_err(sid, "dash: %s POST %s rejected (%s): moved to %s/%s, not retried", dp->e.kind,
		dp->e.path, why, d->sref ? spool_dir(d->sref->sp) : "(no journal)", SPOOL_DEAD_LETTER);
	if (dp->waiter) {
		char *out = dash_tool_output(r);
		answer_waiter(dp, out);
		free(out);
	}
	if (d->sref) {
		dp->dl_status = r->err ? 0 : r->status;
		snprintf(dp->dl_reason, sizeof(dp->dl_reason), "%s", why);
		dp->dl_resp = strndup(r->body, 2000);
		if (queue_work(dp, OP_DEAD) == 0)
			return;
	}
	if (dp->name[0])
		d->spooled--;
	dp_close(dp);
}

static void attempt(dpost *dp)
{
	dash *d = dp->d;
	if (!dp->waiter && d->inflight >= DASH_RETRY_INFLIGHT) {
		uv_timer_start(&dp->timer, on_retry_timer, 200 + rnd(200), 0);
		return;
	}
	char *url = dash_url(d, dp->e.path, NULL);
	dash_hdrs hb;
	dash_hdrs_make(d, dp->e.key, &hb);
	hc_opts o = { .method = "POST", .url = url, .headers = hb.v, .body = dp->e.body,
		      .body_len = strlen(dp->e.body),
		      .timeout_ms = dp->waiter ? d->tool_timeout_ms : d->retry_timeout_ms };
	int rc = url ? hc_request(d->http, &o, on_answer, dp, &dp->http) : -ENOMEM;
	free(url);
	if (rc < 0) {
		log_err(dp->e.call_sid, "dash: cannot start POST %s (%s)", dp->e.path, strerror(-rc));
		dp->attempts++;
		schedule_retry(dp);
		answer_waiter(dp, pending_answer(dp));
		return;
	}
	d->inflight++;
}

static dpost *dp_new(dash *d, spool_entry *e)
{
	dpost *dp = calloc(1, sizeof(*dp));
	if (!dp)
		return NULL;
	dp->d = d;
	dp->e = *e;
	memset(e, 0, sizeof(*e));
	uv_timer_init(d->loop, &dp->timer);
	dp->timer.data = dp;
	dp_link(d, dp);
	return dp;
}

int dash_post_durable(dash *d, spool_entry *e, dash_req *waiter)
{
	if (!e->kind || !e->path || !e->key || !e->call_sid || !e->body) {
		spool_entry_clear(e);
		return -ENOMEM;
	}
	dpost *dp = dp_new(d, e);
	if (!dp) {
		spool_entry_clear(e);
		return -ENOMEM;
	}
	dp->waiter = waiter;
	if (waiter)
		waiter->dp = dp;
	/* Journal first: once the model hears "noted", the entry is on disk. */
	if (!d->sref || queue_work(dp, OP_PUT) < 0) {
		journal_failed(dp, d->sref ? "thread pool unavailable" : "no usable SPOOL_DIR");
		attempt(dp);
	}
	return 0;
}

void dash_post_detach(dpost *dp, dash_req *waiter)
{
	if (dp && dp->waiter == waiter)
		dp->waiter = NULL;
}

void dash_posts_destroy(dash *d)
{
	while (d->posts) {
		dpost *dp = d->posts;
		dp_unlink(dp);
		if (dp->waiter)
			dp->waiter->dp = NULL;
		dp->waiter = NULL;
		if (dp->http)
			hc_cancel(dp->http);
		dp->http = NULL;
		uv_timer_stop(&dp->timer);
		if (dp->working) {
			dp->d = NULL; /* work_done frees it */
			continue;
		}
		dp->d = NULL;
		uv_close((uv_handle_t *)&dp->timer, dp_freed);
	}
	d->inflight = 0;
}

int dash_replay(dash *d)
{
	char **names = NULL;
	size_t n = 0, queued = 0, bad = 0;
	if (!d)
		return -EINVAL;
	if (!d->sref || d->replayed)
		return 0;
	d->replayed = true;
	int rc = spool_list(d->sref->sp, &names, &n);
	if (rc < 0) {
		log_err(NULL, "dash: cannot read the journal %s (%s)", spool_dir(d->sref->sp),
			strerror(-rc));
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		bool known = false;
		for (dpost *o = d->posts; o && !known; o = o->next)
			known = strcmp(o->name, names[i]) == 0;
		if (known)
			continue;
		spool_entry e;
		rc = spool_read(d->sref->sp, names[i], &e);
		if (rc == -EBADMSG) {
			bad++;
			int qr = spool_quarantine(d->sref->sp, names[i]);
			log_err(NULL, "dash: journal entry %s is corrupt: %s", names[i],
				qr == 0 ? "moved aside as .corrupt" : strerror(-qr));
			continue;
		}
		if (rc < 0) {
			log_err(NULL, "dash: journal entry %s unreadable (%s)", names[i], strerror(-rc));
			continue;
		}
		dpost *dp = dp_new(d, &e);
		if (!dp) {
			spool_entry_clear(&e);
			rc = -ENOMEM;
			break;
		}
		snprintf(dp->name, sizeof(dp->name), "%s", names[i]);
		d->spooled++;
		queued++;
		uv_timer_start(&dp->timer, on_retry_timer, (uint64_t)(queued * 10), 0);
	}
	spool_list_free(names, n);
	log_info(NULL, "dash: journal replay: %zu entries to deliver, %zu corrupt", queued, bad);
	return rc == -ENOMEM ? rc : 0;
}

int dash_post_message(dash *d, const dash_callinfo *ci, const char *text)
{
	if (!d || !ci || !text)
		return -EINVAL;
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s}", "restaurantId",
			      ci->restaurant_id ? ci->restaurant_id : "", "callSid",
			      ci->call_sid ? ci->call_sid : "", "from", ci->from ? ci->from : "",
			      "message", text, "source", "voiceproxy");
	char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!body)
		return -ENOMEM;
	char key[160];
	snprintf(key, sizeof(key), "%.100s:message", ci->call_sid ? ci->call_sid : "");
	dash_key_clean(key);
	spool_entry e = { .kind = strdup("message"), .path = strdup("/api/messages"),
			  .key = strdup(key), .call_sid = strdup(ci->call_sid ? ci->call_sid : ""),
			  .body = body, .created_ms = spool_now_ms() };
	return dash_post_durable(d, &e, NULL);
}

unsigned dash_pending(const dash *d)
{
	unsigned n = 0;
	for (const dpost *dp = d ? d->posts : NULL; dp; dp = dp->next)
		n++;
	return n;
}

unsigned dash_journal_failures(const dash *d) { return d ? d->journal_failures : 0; }

void dash_flush(dash *d)
{
	for (dpost *dp = d ? d->posts : NULL; dp; dp = dp->next)
		if (!dp->http && !dp->working && uv_is_active((uv_handle_t *)&dp->timer))
			uv_timer_start(&dp->timer, on_retry_timer, 0, 0);
}
