/* relay: the Realtime API side of a call (session set-up, audio both ways,
 * barge-in, tools, transcripts); see vcall.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "jsonw.h"
#include "log.h"
#include "rt.h"
#include "vcall_int.h"

static void oa_open(ws_conn *conn, void *arg);
static void oa_text(ws_conn *conn, const char *data, size_t len, void *arg);
static void oa_close(ws_conn *conn, int code, const char *reason, void *arg);
static const ws_handlers oa_h = { .open_h = oa_open, .text_h = oa_text, .close_h = oa_close };
static void send_dtmf(vcall *c, char digit);

int relay_connect(vcall *c)
{
	const char *hdrs[2] = { NULL, NULL };
	int r;

	if (c->v->auth_header[0])
		hdrs[0] = c->v->auth_header;
	r = ws_connect(c->v->ws_cli, c->v->conf.openai_url, hdrs, &oa_h, c, &c->oa);
	if (r < 0) {
		c->oa = NULL;
		log_err(c->id, "realtime: cannot connect: %s", strerror(-r));
	}
	return r;
}

/* Send session.update once the connection and the agent set-up are both
 * there, then the greeting and any caller audio that arrived meanwhile. */
static void try_session(vcall *c)
{
	const vp_conf *cf = &c->v->conf;
	rt_session s = { 0 };
	const char *greeting;
	char *su, *instr = NULL, *ctx = NULL;
	int n;

	if (!c->oa_open || !c->ai_ready || c->session_sent || c->ended)
		return;
	s.instructions = c->ai ? c->ai->instructions : cf->default_instructions;
	/* the dashboard's context (restaurant facts) and the caller's number
	 * are given to the model with its instructions */
	if (c->ai && c->ai->context)
		ctx = json_dumps(c->ai->context, JSON_COMPACT);
	if (ctx && strlen(ctx) > 32768) {
		free(ctx);
		ctx = NULL;
	}
	if ((ctx || c->from[0]) &&
	    asprintf(&instr, "%s%s%s%s%s", s.instructions, ctx ? "\n\nRestaurant context (JSON): " : "",
		     ctx ? ctx : "", c->from[0] ? "\n\nThe caller's phone number: " : "", c->from) >= 0)
		s.instructions = instr;
	free(ctx);
	s.voice = c->ai && c->ai->voice && *c->ai->voice ? c->ai->voice : cf->voice;
	s.transcription_model = cf->transcription_model;
	s.tools = c->ai ? c->ai->tools : NULL;
	su = rt_session_update(&s);
	if (!su || vc_send_oa(c, su, strlen(su)) < 0) {
		free(su);
		free(instr);
		relay_failed(c, "openai_error", "cannot send session.update");
		return;
	}
	free(su);
	c->session_sent = true;
	greeting = c->ai && c->ai->greeting && *c->ai->greeting ? c->ai->greeting : cf->greeting;
	if (greeting && *greeting) {
		char say[2048];
		snprintf(say, sizeof(say), "Greet the caller by saying exactly: %s", greeting);
		if (vc_obuf(c, strlen(say) * 6 + 128) == 0 &&
		    (n = rt_fmt_response_create(c->obuf, c->obuf_cap, say)) > 0)
			vc_send_oa(c, c->obuf, (size_t)n);
	}
	/* caller audio that arrived before the session was ready */
	for (size_t off = 0; off < c->pre_len; off += 3200) {
		size_t k = c->pre_len - off < 3200 ? c->pre_len - off : 3200;
		char b64[B64_ENC_LEN(3200) + 1];
		size_t bl = b64_encode(b64, c->pre + off, k);
		if (vc_obuf(c, bl + 128) == 0 && (n = rt_fmt_append(c->obuf, c->obuf_cap, b64, bl)) > 0)
			vc_send_oa(c, c->obuf, (size_t)n);
	}
	free(c->pre);
	c->pre = NULL;
	c->pre_len = 0;
	for (size_t i = 0; i < c->dtmf_pre_n; i++)
		send_dtmf(c, c->dtmf_pre[i]);
	c->dtmf_pre_n = 0;
	log_info(c->id, "session.update sent (voice %s, %zu tools%s)", s.voice,
		 s.tools ? json_array_size(s.tools) : 0, greeting && *greeting ? ", greeting" : "");
	free(instr);
}

static void on_ai(dash_ai *ai, void *arg)
{
	vcall *c = arg;

	c->ai_req = NULL;
	c->ai_cb_done = true;
	if (c->ended) {
		dash_ai_free(ai);
		return;
	}
	c->ai = ai;
	c->ai_ready = true;
	log_info(c->id, "agent set-up: %s", ai && ai->source ? ai->source : "?");
	try_session(c);
}

void relay_start(vcall *c)
{
	vp *v = c->v;
	dash_req *req = NULL;
	int r = -ENOTSUP;

	if (v->dash && calllog_new(&c->log, &c->ci, c->stream_sid, c->to) < 0) {
		c->log = NULL;
		log_warn(c->id, "no call log for this call (out of memory)");
	}
	if (c->oa_failed)
		return; /* the fallback runs instead (vcall's on_start) */
	if (v->dash)
		r = dash_fetch_ai(v->dash, &c->ci, on_ai, c, &req);
	if (r < 0) {
		log_warn(c->id, "dashboard set-up unavailable (%s): default instructions", strerror(-r));
		c->ai_ready = true;
		try_session(c);
	} else if (!c->ai_cb_done) {
		c->ai_req = req;
	}
}

void relay_caller_audio(vcall *c, const char *b64, size_t b64len, const uint8_t *audio, size_t n)
{
	int r;

	c->frames_in++;
	c->bytes_in += n;
	if (!c->session_sent) {
		if (c->oa_failed)
			return;
		if (!c->pre && !(c->pre = malloc(VC_PRE_MAX)))
			return;
		if (c->pre_len + n > VC_PRE_MAX) {
			atomic_fetch_add(&c->v->st.audio_dropped, 1);
			return;
		}
		memcpy(c->pre + c->pre_len, audio, n);
		c->pre_len += n;
		return;
	}
	if (vc_obuf(c, B64_ENC_LEN(n) + 128) < 0)
		return;
	if (b64) {
		r = rt_fmt_append(c->obuf, c->obuf_cap, b64, b64len);
	} else { /* payload not found verbatim: encode (rare) */
		char tmp[B64_ENC_LEN(TW_MEDIA_MAX) + 1];
		size_t bl = b64_encode(tmp, audio, n);
		r = rt_fmt_append(c->obuf, c->obuf_cap, tmp, bl);
	}
	if (r > 0)
		vc_send_oa(c, c->obuf, (size_t)r);
}

static void send_dtmf(vcall *c, char digit)
{
	char text[16], buf[256];
	int n;

	snprintf(text, sizeof(text), "[DTMF %c]", digit);
	n = rt_fmt_user_text(buf, sizeof(buf), text);
	if (n > 0)
		vc_send_oa(c, buf, (size_t)n);
}

/* Keypresses reach the model as text it reads at its next turn (e.g. a
 * menu choice or a number typed on the keypad); no response.create per
 * digit, so the agent is not interrupted by each press. */
void relay_dtmf(vcall *c, char digit)
{
	if (c->oa_failed)
		return;
	if (!c->session_sent) {
		if (c->dtmf_pre_n < VC_DTMF_PRE)
			c->dtmf_pre[c->dtmf_pre_n++] = digit;
		return;
	}
	send_dtmf(c, digit);
}

static void free_tool(vcall *c, vc_tool *t)
{
	for (vc_tool **pp = &c->tools; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	free(t->args);
	free(t);
}

void relay_cancel(vcall *c)
{
	if (c->ai_req) {
		dash_cancel(c->ai_req);
		c->ai_req = NULL;
	}
	while (c->tools) {
		if (c->tools->req && !c->tools->done)
			dash_cancel(c->tools->req);
		free_tool(c, c->tools);
	}
}

static void send_tool_output(vcall *c, const char *call_id, const char *output)
{
	int n;

	if (vc_obuf(c, strlen(output) * 6 + strlen(call_id) * 6 + 256) < 0)
		return;
	n = rt_fmt_fc_output(c->obuf, c->obuf_cap, call_id, output);
	if (n > 0)
		vc_send_oa(c, c->obuf, (size_t)n);
	n = rt_fmt_response_create(c->obuf, c->obuf_cap, NULL);
	if (n > 0)
		vc_send_oa(c, c->obuf, (size_t)n);
}

static void on_tool(const char *output, void *arg)
{
	vc_tool *t = arg;
	vcall *c = t->c;

	t->done = true;
	t->req = NULL;
	if (c->ended)
		return;
	log_info(c->id, "tool %s (%s) answered", t->name, t->call_id);
	if (c->log)
		calllog_tool(c->log, t->name, t->call_id, t->args, output);
	send_tool_output(c, t->call_id, output);
	if (!t->in_call)
		free_tool(c, t);
}

static void on_function(vcall *c, const rt_event *ev)
{
	vc_tool *t;
	dash_req *req = NULL;
	int r = -ENOTSUP;

	log_info(c->id, "tool call %s (%s)", ev->fn_name, ev->call_id);
	if (!strcmp(ev->fn_name, RT_END_CALL_TOOL)) {
		if (c->log)
			calllog_tool(c->log, ev->fn_name, ev->call_id, ev->arguments, "{\"ok\":true}");
		c->end_call_pending = true;
		snprintf(c->pending_reason, sizeof(c->pending_reason), "agent_end_call");
		vcall_end_after(c, VC_END_CALL_MAX_MS, "agent_end_call");
		return;
	}
	t = calloc(1, sizeof(*t));
	if (!t || !(t->args = strdup(ev->arguments))) {
		free(t);
		send_tool_output(c, ev->call_id, "{\"error\":\"out of memory\"}");
		return;
	}
	t->c = c;
	snprintf(t->call_id, sizeof(t->call_id), "%s", ev->call_id);
	snprintf(t->name, sizeof(t->name), "%s", ev->fn_name);
	t->next = c->tools;
	c->tools = t;
	t->in_call = true;
	if (c->v->dash && c->ai)
		r = dash_tool_call(c->v->dash, c->ai, &c->ci, t->name, t->call_id, t->args, on_tool, t, &req);
	t->in_call = false;
	if (r < 0) {
		char out[256];
		snprintf(out, sizeof(out), "{\"error\":\"the restaurant system is unavailable (%s)\"}",
			 strerror(-r));
		if (c->log)
			calllog_tool(c->log, t->name, t->call_id, t->args, out);
		send_tool_output(c, t->call_id, out);
		free_tool(c, t);
	} else if (t->done) {
		free_tool(c, t);
	} else {
		t->req = req;
	}
}

static void on_delta(vcall *c, const rt_event *ev)
{
	char mark[96], name[32];
	size_t pos = 0;
	uint32_t seq;
	int n;

	if (!c->stream || !c->started)
		return;
	if (vc_obuf(c, ev->delta_len + 2 * TW_SID_MAX + 128) < 0)
		return;
	/* 50 per second per call: no printf (stream_sid is our validated id) */
	if (jw_lit(c->obuf, c->obuf_cap, &pos, "{\"event\":\"media\",\"streamSid\":\"") < 0 ||
	    jw_lit(c->obuf, c->obuf_cap, &pos, c->stream_sid) < 0 ||
	    jw_lit(c->obuf, c->obuf_cap, &pos, "\",\"media\":{\"payload\":\"") < 0 ||
	    jw_mem(c->obuf, c->obuf_cap, &pos, ev->delta, ev->delta_len) < 0 ||
	    jw_lit(c->obuf, c->obuf_cap, &pos, "\"}}") < 0)
		return;
	/* media and its mark leave in one write */
	ws_cork(c->stream);
	if (vc_send_stream(c, c->obuf, pos) == 0) {
		c->frames_out++;
		c->bytes_out += ev->audio_len;
		seq = play_sent(&c->play, ev->item_id, ev->audio_len);
		if (seq) {
			snprintf(name, sizeof(name), PLAY_MARK_PREFIX "%u", seq);
			n = tw_fmt_app_mark(mark, sizeof(mark), c->stream_sid, name);
			if (n > 0)
				vc_send_stream(c, mark, (size_t)n);
		}
	}
	ws_uncork(c->stream);
}

static void on_speech_started(vcall *c)
{
	const char *item;
	long ms;
	char buf[512];
	int n;

	if (!c->stream || !play_barge(&c->play, &item, &ms))
		return;
	n = tw_fmt_clear(buf, sizeof(buf), c->stream_sid);
	if (n > 0)
		vc_send_stream(c, buf, (size_t)n);
	n = rt_fmt_truncate(buf, sizeof(buf), item, ms);
	if (n > 0)
		vc_send_oa(c, buf, (size_t)n);
	log_info(c->id, "barge-in: caller audio cleared, item %s truncated at %ld ms", item, ms);
}

static void on_error(vcall *c, const rt_event *ev)
{
	char why[512];

	log_warn(c->id, "realtime error event: type=%s code=%s: %s", ev->err_type ? ev->err_type : "-",
		 ev->err_code ? ev->err_code : "-", ev->err_message);
	/* a rejected client event leaves the session usable; anything else
	 * (server error, auth, quota, rate limit, expiry) does not */
	if (ev->err_type && !strcmp(ev->err_type, "invalid_request_error") &&
	    !(ev->err_code && (strstr(ev->err_code, "api_key") || strstr(ev->err_code, "expired"))))
		return;
	snprintf(why, sizeof(why), "error event (%s)", ev->err_code ? ev->err_code : ev->err_type ? ev->err_type : "?");
	relay_failed(c, "openai_error", why);
}

static void oa_open(ws_conn *conn, void *arg)
{
	vcall *c = arg;

	(void)conn;
	c->oa_open = true;
	log_info(c->id, "realtime connected in %lu ms",
		 (unsigned long)(uv_now(c->v->loop) - c->t_accept));
	try_session(c);
}

static void oa_text(ws_conn *conn, const char *data, size_t len, void *arg)
{
	vcall *c = arg;
	rt_event ev;
	char err[256];
	int r;

	(void)conn;
	if (c->ended || c->oa_failed)
		return;
	r = rt_scan_delta(&ev, data, len); /* the hot event, without a JSON tree */
	if (r == 0) {
		on_delta(c, &ev);
		return;
	}
	if (r == -ENOENT)
		r = rt_parse(&ev, data, len, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "audio delta with invalid base64");
	if (r < 0) {
		unsigned long k = atomic_fetch_add(&c->v->st.bad_openai, 1);
		if (k % 100 == 0)
			log_warn(c->id, "realtime: ignored a malformed event: %s", err);
		rt_event_clear(&ev);
		return;
	}
	switch (ev.type) {
	case RT_SESSION_CREATED:
		log_debug(c->id, "realtime session created");
		break;
	case RT_SESSION_UPDATED:
		log_debug(c->id, "realtime session updated");
		break;
	case RT_AUDIO_DELTA:
		on_delta(c, &ev);
		break;
	case RT_SPEECH_STARTED:
		on_speech_started(c);
		break;
	case RT_IN_TRANSCRIPT_DONE:
		if (c->log)
			calllog_turn(c->log, "caller", ev.transcript);
		log_debug(c->id, "caller said: %s", ev.transcript);
		break;
	case RT_OUT_TRANSCRIPT_DONE:
		if (c->log)
			calllog_turn(c->log, "agent", ev.transcript);
		log_debug(c->id, "agent said: %s", ev.transcript);
		break;
	case RT_FUNC_ARGS_DONE:
		on_function(c, &ev);
		break;
	case RT_RESPONSE_DONE:
		if (ev.usage && c->log)
			calllog_usage(c->log, ev.usage);
		if (c->end_call_pending && !c->end_mark_sent)
			vcall_end_after_playout(c, "agent_end_call");
		break;
	case RT_ERROR:
		on_error(c, &ev);
		break;
	default:
		break;
	}
	rt_event_clear(&ev);
}

static void oa_close(ws_conn *conn, int code, const char *reason, void *arg)
{
	vcall *c = arg;
	char why[300];

	(void)conn;
	c->oa = NULL;
	if (!c->ended) {
		snprintf(why, sizeof(why), "%s (%d %s)",
			 c->oa_open ? "connection closed mid-call" : "unreachable", code, reason ? reason : "");
		relay_failed(c, relay_fail_kind(c->oa_open, reason), why);
	}
	c->oa_open = false;
	vc_maybe_free(c);
}
