/* vcall: call lifecycle and the /media-stream (Twilio) side; see vcall.h.
 * The Realtime side is relay.c. */
#include "vcall_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fallback.h"
#include "log.h"

static void stream_text(ws_conn *conn, const char *data, size_t len, void *arg);
static void stream_close(ws_conn *conn, int code, const char *reason, void *arg);
static const ws_handlers stream_h = { .text_h = stream_text, .close_h = stream_close };

const char *vcall_id(const vcall *c)
{
	return c ? c->id : "-";
}

const dash_callinfo *vcall_info(const vcall *c)
{
	return &c->ci;
}

int vc_obuf(vcall *c, size_t need)
{
	char *n;

	if (need <= c->obuf_cap)
		return 0;
	need = need < 16384 ? 16384 : need + need / 2; /* grow rarely, never per frame */
	n = realloc(c->obuf, need);
	if (!n)
		return -ENOMEM;
	c->obuf = n;
	c->obuf_cap = need;
	return 0;
}

static int send_on(vcall *c, ws_conn *w, const char *side, const char *txt, size_t len)
{
	int r;

	if (!w)
		return -ENOTCONN;
	r = ws_send_text(w, txt, len);
	if (r == -ENOBUFS) {
		unsigned long n = atomic_fetch_add(&c->v->st.audio_dropped, 1);
		if (n % 100 == 0)
			log_warn(c->id, "%s: send queue full, message dropped (%lu so far)", side, n + 1);
	}
	return r;
}

int vc_send_stream(vcall *c, const char *txt, size_t len)
{
	return send_on(c, c->stream, "stream", txt, len);
}

int vc_send_oa(vcall *c, const char *txt, size_t len)
{
	return send_on(c, c->oa_open ? c->oa : NULL, "realtime", txt, len);
}

void vc_maybe_free(vcall *c)
{
	vp *v = c->v;

	if (!c->ended || c->stream || c->oa || !c->timer_closed)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		v->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	dash_ai_free(c->ai);
	free(c->pre);
	free(c->obuf);
	free(c);
}

static void timer_closed(uv_handle_t *h)
{
	vcall *c = h->data;
	c->timer_closed = true;
	vc_maybe_free(c);
}

void vcall_end(vcall *c, const char *reason)
{
	vp *v = c->v;
	double secs;

	if (c->ended)
		return;
	c->ended = true;
	if (c->fail_reason[0]) /* the call log says which failure, however it ended */
		reason = c->fail_reason;
	atomic_fetch_sub(&v->live, 1);
	uv_timer_stop(&c->timer);
	relay_cancel(c);
	secs = (double)(uv_now(v->loop) - c->t_accept) / 1000.0;
	log_info(c->id, "call ended: %s after %.1f s (caller frames %lu, agent audio %lu bytes)", reason,
		 secs, (unsigned long)c->frames_in, (unsigned long)c->bytes_out);
	if (c->log) {
		calllog_finish(c->log, v->dash, reason);
		c->log = NULL;
	}
	if (c->stream)
		ws_close(c->stream, c->close_code ? c->close_code : 1000, reason);
	if (c->oa)
		ws_close(c->oa, 1000, "call ended");
	uv_close((uv_handle_t *)&c->timer, timer_closed);
}

static void on_timer(uv_timer_t *t)
{
	vcall *c = t->data;
	vcall_end(c, c->pending_reason[0] ? c->pending_reason : "timeout");
}

void vcall_end_after(vcall *c, unsigned ms, const char *reason)
{
	if (c->ended)
		return;
	if (uv_is_active((uv_handle_t *)&c->timer) && uv_timer_get_due_in(&c->timer) <= ms)
		return; /* an earlier end is already planned */
	snprintf(c->pending_reason, sizeof(c->pending_reason), "%s", reason);
	uv_timer_start(&c->timer, on_timer, ms, 0);
}

int vcall_end_after_playout(vcall *c, const char *reason)
{
	char buf[256];
	int n;

	if (c->ended)
		return -ENOTCONN;
	snprintf(c->pending_reason, sizeof(c->pending_reason), "%s", reason);
	n = tw_fmt_app_mark(buf, sizeof(buf), c->stream_sid, VC_END_MARK);
	if (n < 0 || vc_send_stream(c, buf, (size_t)n) < 0) {
		vcall_end(c, reason);
		return 0;
	}
	c->end_mark_sent = true;
	/* never wait forever for an echo */
	if (!uv_is_active((uv_handle_t *)&c->timer) || uv_timer_get_due_in(&c->timer) > VC_END_CALL_MAX_MS)
		uv_timer_start(&c->timer, on_timer, VC_END_CALL_MAX_MS, 0);
	return 0;
}

int vcall_play(vcall *c, const uint8_t *ulaw, size_t n)
{
	const size_t chunk = 1600; /* 200 ms per media event */

	if (c->ended || !c->stream || !c->started)
		return -ENOTCONN;
	for (size_t off = 0; off < n; off += chunk) {
		size_t k = n - off < chunk ? n - off : chunk;
		int r;
		if (vc_obuf(c, TW_MEDIA_FMT_CAP(k)) < 0)
			return -ENOMEM;
		r = tw_fmt_app_media(c->obuf, c->obuf_cap, c->stream_sid, ulaw + off, k);
		if (r < 0)
			return r;
		r = vc_send_stream(c, c->obuf, (size_t)r);
		if (r < 0)
			return r;
	}
	return 0;
}

void vcall_sweep(vp *v)
{
	uint64_t now = uv_now(v->loop);

	for (vcall *c = v->calls; c; c = c->next)
		if (!c->ended && c->started && now - c->t_last_rx > VC_IDLE_MS) {
			log_warn(c->id, "stream silent for %llu ms; ending the call",
				 (unsigned long long)(now - c->t_last_rx));
			vcall_end(c, "stream_timeout");
		}
}

void vcall_end_all(vp *v, const char *reason)
{
	for (vcall *c = v->calls; c; c = c->next)
		vcall_end(c, reason);
}

int vcall_accept(ws_conn *conn, const ws_request *rq, void *arg)
{
	vp *v = arg;
	vcall *c;
	unsigned long n;

	(void)rq;
	if (v->stopping || atomic_load(&v->live) >= v->conf.max_calls) {
		atomic_fetch_add(&v->st.refused_full, 1);
		log_warn("-", "stream from %s refused: %s", ws_peer(conn),
			 v->stopping ? "shutting down" : "MAX_CALLS reached");
		return 503;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return 503;
	c->v = v;
	c->stream = conn;
	c->t_accept = uv_now(v->loop);
	n = atomic_fetch_add(&v->st.calls_total, 1) + 1;
	snprintf(c->id, sizeof(c->id), "stream-%lu", n);
	play_init(&c->play);
	uv_timer_init(v->loop, &c->timer);
	c->timer.data = c;
	c->next = v->calls;
	if (v->calls)
		v->calls->prev = c;
	v->calls = c;
	atomic_fetch_add(&v->live, 1);
	ws_set_handlers(conn, &stream_h, c);
	log_info(c->id, "stream accepted from %s", ws_peer(conn));
	/* an idle stream must not hold a slot and a Realtime session */
	vcall_end_after(c, VC_START_MS, "no_start");
	if (relay_connect(c) < 0)
		relay_failed(c, "openai_unreachable", "cannot start a connection to OPENAI_REALTIME_URL");
	return 0;
}

/* A protocol violation ends this stream only. */
static void violation(vcall *c, int code, const char *fmt, const char *detail)
{
	char why[256];

	snprintf(why, sizeof(why), fmt, detail);
	atomic_fetch_add(&c->v->st.bad_stream, 1);
	log_warn(c->id, "stream from %s: %s; ending this stream", c->stream ? ws_peer(c->stream) : "?", why);
	c->close_code = code;
	vcall_end(c, "stream_protocol_error");
}

static const char *param(const tw_start *st, const char *a, const char *b)
{
	for (size_t i = 0; i < st->nparams; i++)
		if (!strcmp(st->params[i].key, a) || (b && !strcmp(st->params[i].key, b)))
			return st->params[i].val;
	return NULL;
}

static void on_start(vcall *c, const tw_event *ev)
{
	const tw_start *st = &ev->u.start;
	const char *s;

	if (strcmp(st->encoding, "audio/x-mulaw") || st->sample_rate != 8000 || st->channels != 1) {
		violation(c, 1003, "unsupported media format %s", st->encoding);
		return;
	}
	c->started = true;
	if (!strcmp(c->pending_reason, "no_start")) {
		uv_timer_stop(&c->timer);
		c->pending_reason[0] = '\0';
	}
	snprintf(c->stream_sid, sizeof(c->stream_sid), "%s", st->stream_sid);
	snprintf(c->call_sid, sizeof(c->call_sid), "%s", st->call_sid);
	snprintf(c->account_sid, sizeof(c->account_sid), "%s", st->account_sid);
	s = param(st, "restaurantId", "restaurant_id");
	snprintf(c->restaurant_id, sizeof(c->restaurant_id), "%s",
		 s && *s ? s : (c->v->conf.restaurant_id ? c->v->conf.restaurant_id : ""));
	s = param(st, "From", "from");
	snprintf(c->from, sizeof(c->from), "%s", s ? s : "");
	s = param(st, "To", "to");
	snprintf(c->to, sizeof(c->to), "%s", s ? s : "");
	if (c->call_sid[0])
		snprintf(c->id, sizeof(c->id), "%s", c->call_sid);
	c->ci.restaurant_id = c->restaurant_id;
	c->ci.call_sid = c->call_sid;
	c->ci.from = c->from;
	log_info(c->id, "stream %s started (restaurant %s)", c->stream_sid,
		 c->restaurant_id[0] ? c->restaurant_id : "-");
	relay_start(c);
	if (c->oa_failed) /* failed before start: now the caller can be told */
		fb_openai_failed(c->v, c, c->fail_reason, c->fail_why);
}

static void stream_text(ws_conn *conn, const char *data, size_t len, void *arg)
{
	vcall *c = arg;
	tw_event ev;
	char err[200];
	int r;

	(void)conn;
	if (c->ended)
		return;
	c->t_last_rx = uv_now(c->v->loop);
	if (len > c->v->conf.stream_max_message) {
		char sz[32];
		snprintf(sz, sizeof(sz), "%zu", len);
		violation(c, 1009, "frame of %s bytes is over STREAM_MAX_MESSAGE", sz);
		return;
	}
	r = tw_parse(&ev, data, len, TW_FROM_STREAM, c->audio, sizeof(c->audio), err, sizeof(err));
	if (r < 0) {
		violation(c, r == -EBADMSG ? 1007 : 1008, "bad event: %s", err);
		return;
	}
	if (ev.type != TW_CONNECTED && ev.type != TW_START && c->started &&
	    strcmp(ev.stream_sid, c->stream_sid)) {
		violation(c, 1008, "event for another streamSid %s", ev.stream_sid);
		return;
	}
	switch (ev.type) {
	case TW_CONNECTED:
		if (c->started)
			violation(c, 1008, "%s after start", "connected");
		break;
	case TW_START:
		if (c->started)
			violation(c, 1008, "%s", "second start");
		else
			on_start(c, &ev);
		break;
	case TW_MEDIA:
		if (!c->started) {
			violation(c, 1008, "%s", "media before start");
			break;
		}
		if (ev.u.media.track && ev.u.media.track != TW_TRACK_INBOUND)
			break; /* only the caller's audio goes to the model */
		/* tw_parse gives the payload's validated text in data (µ-law
		 * passthrough, no re-encoding); when it cannot (a frame with
		 * escapes or extra keys: rare), b64 is NULL and the relay
		 * encodes the decoded audio, which gives the same text. */
		relay_caller_audio(c, ev.u.media.b64, ev.u.media.b64_len, ev.u.media.payload, ev.u.media.len);
		break;
	case TW_MARK:
		if (!c->started) {
			violation(c, 1008, "%s", "mark before start");
			break;
		}
		if (!strcmp(ev.u.mark.name, VC_END_MARK) && c->end_mark_sent)
			vcall_end(c, c->pending_reason[0] ? c->pending_reason : "agent_end_call");
		else if (play_mark(&c->play, ev.u.mark.name) < 0)
			log_debug(c->id, "mark %s: not pending (ignored)", ev.u.mark.name);
		break;
	case TW_DTMF:
		log_debug(c->id, "dtmf %c", ev.u.dtmf.digit);
		if (c->started) /* harmless before start: ignored */
			relay_dtmf(c, ev.u.dtmf.digit);
		break;
	case TW_STOP:
		vcall_end(c, "caller_hangup");
		break;
	default:
		violation(c, 1008, "unexpected event %s", tw_type_name(ev.type));
	}
}

static void stream_close(ws_conn *conn, int code, const char *reason, void *arg)
{
	vcall *c = arg;
	const char *why = "caller_hangup";

	(void)conn;
	c->stream = NULL;
	if (!c->ended) {
		if (code == 1009 || code == 1003 || code == 1002 || code == 1007) {
			atomic_fetch_add(&c->v->st.bad_stream, 1);
			why = "stream_protocol_error";
			log_warn(c->id, "stream closed: %d %s (bad frame from the peer); ending this call", code,
				 reason ? reason : "");
		} else {
			log_info(c->id, "stream closed by the peer: %d %s", code, reason ? reason : "");
		}
		vcall_end(c, why);
	}
	vc_maybe_free(c);
}
