/* relay_fail: the Realtime side of a call failed: classify it (endReason),
 * stop the session, clear the agent's unfinished audio, and hand the call
 * to the fallback (fallback.c) once the caller is known. */
#include <stdio.h>

#include "fallback.h"
#include "log.h"
#include "vcall_int.h"

/* Which failure, for the call log's endReason: a refused upgrade reads
 * "HTTP <status>: …" (ws.h). */
const char *relay_fail_kind(bool was_open, const char *reason)
{
	unsigned st = 0;

	if (was_open)
		return "openai_dropped";
	if (reason && sscanf(reason, "HTTP %u", &st) == 1) {
		if (st == 401 || st == 403)
			return "openai_auth";
		if (st == 429)
			return "openai_rate_limited";
	}
	return "openai_unreachable";
}

void relay_failed(vcall *c, const char *end_reason, const char *why)
{
	char buf[256];
	int n;

	if (c->oa_failed || c->ended)
		return;
	c->oa_failed = true;
	snprintf(c->fail_reason, sizeof(c->fail_reason), "%s", end_reason);
	snprintf(c->fail_why, sizeof(c->fail_why), "%s", why);
	atomic_fetch_add(&c->v->st.openai_failures, 1);
	log_warn(c->id, "realtime: %s (%s)", why, end_reason);
	/* this session is over: no more model audio or API cost */
	if (c->oa)
		ws_close(c->oa, 1000, "session failed");
	/* the agent's unfinished sentence must not run into the prompt */
	if (c->stream && c->started && play_playing(&c->play) &&
	    (n = tw_fmt_clear(buf, sizeof(buf), c->stream_sid)) > 0) {
		vc_send_stream(c, buf, (size_t)n);
		play_init(&c->play);
	}
	if (c->started) /* else on_start runs it: the caller's number is needed */
		fb_openai_failed(c->v, c, c->fail_reason, c->fail_why);
}
