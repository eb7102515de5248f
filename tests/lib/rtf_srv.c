/* rtf_srv: the fake Realtime server; see rtf.h. */
#include "rtf.h"
#include "tfile.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "b64.h"
#include "jsonw.h"
#include "rtf_int.h"

void rtf_conn_send(conn *c, const char *s, size_t n)
{
	if (c->ws && !c->ws_gone)
		ws_send_text(c->ws, s, n);
}

void rtf_sendf(conn *c, const char *fmt, ...)
{
	char tmp[4096];
	va_list ap;
	int n, m;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp) || tmp[0] != '{')
		return;
	m = snprintf(c->buf, c->bufcap, "{\"event_id\":\"evt_%llu\",%s", (unsigned long long)++c->srv->evid,
		     tmp + 1);
	if (m > 0 && (size_t)m < c->bufcap)
		rtf_conn_send(c, c->buf, (size_t)m);
}

void rtf_esc(char *dst, size_t cap, const char *s)
{
	size_t pos = 0;
	if (jw_str(dst, cap, &pos, s ? s : "") < 0)
		snprintf(dst, cap, "\"\"");
}

void rtf_queue(conn *c, uint8_t *audio, size_t len, const char *transcript, const char *fn,
		  const char *args)
{
	resp *r = calloc(1, sizeof(*r)), **pp;

	if (!r) {
		free(audio);
		return;
	}
	r->audio = audio;
	r->len = audio ? len : 0;
	snprintf(r->transcript, sizeof(r->transcript), "%s", transcript ? transcript : "");
	if (fn) {
		snprintf(r->fn, sizeof(r->fn), "%s", fn);
		r->fn_args = strdup(args ? args : "{}");
	}
	for (pp = &c->q; *pp; pp = &(*pp)->next)
		;
	*pp = r;
}

void rtf_resp_free(resp *r)
{
	if (!r)
		return;
	free(r->audio);
	free(r->fn_args);
	free(r);
}

void rtf_response_done(conn *c, const char *status, const char *reason)
{
	char details[128] = "";
	if (reason)
		snprintf(details, sizeof(details), ",\"status_details\":{\"type\":\"%s\",\"reason\":\"%s\"}",
			 status, reason);
	rtf_sendf(c,
	      "{\"type\":\"response.done\",\"response\":{\"object\":\"realtime.response\",\"id\":\"%s\","
	      "\"status\":\"%s\"%s,\"output\":[],\"usage\":{\"total_tokens\":150,\"input_tokens\":100,"
	      "\"output_tokens\":50,\"input_token_details\":{\"audio_tokens\":80,\"text_tokens\":20},"
	      "\"output_token_details\":{\"audio_tokens\":40,\"text_tokens\":10}}}}",
	      c->resp_id, status, details);
	c->srv->responses++;
}


/* Advance the current response: created, audio deltas at the pace, then
 * the audio/transcript/function-call tail and response.done. */
void rtf_pump(conn *c, uint64_t now)
{
	rtf *s = c->srv;
	unsigned chunk = s->o.chunk ? s->o.chunk : 1600, pace = s->o.pace_ms ? s->o.pace_ms : 100;

	if (!c->cur && c->q) {
		c->cur = c->q;
		c->q = c->q->next;
		c->off = 0;
		c->cur_started = false;
	}
	if (!c->cur)
		return;
	if (!c->cur_started) {
		c->cur_started = true;
		snprintf(c->resp_id, sizeof(c->resp_id), "resp_%d_%u", c->no, ++c->nresp);
		snprintf(c->item_id, sizeof(c->item_id), "item_%d_%u", c->no, ++c->nitem);
		rtf_sendf(c, "{\"type\":\"response.created\",\"response\":{\"object\":\"realtime.response\","
			 "\"id\":\"%s\",\"status\":\"in_progress\",\"output\":[]}}", c->resp_id);
		c->last_delta = 0;
	}
	if (c->off < c->cur->len) {
		size_t k, pos = 0;
		if (c->last_delta && now - c->last_delta < pace)
			return;
		k = c->cur->len - c->off < chunk ? c->cur->len - c->off : chunk;
		jw_raw(c->buf, c->bufcap, &pos,
		       "{\"type\":\"response.output_audio.delta\",\"event_id\":\"evt_%llu\",\"response_id\":\"%s\","
		       "\"item_id\":\"%s\",\"output_index\":0,\"content_index\":0,\"delta\":\"",
		       (unsigned long long)++s->evid, c->resp_id, c->item_id);
		if (pos + B64_ENC_LEN(k) + 4 > c->bufcap)
			return;
		pos += b64_encode(c->buf + pos, c->cur->audio + c->off, k);
		jw_raw(c->buf, c->bufcap, &pos, "\"}");
		rtf_conn_send(c, c->buf, pos);
		rtfc_audio_sent(&c->chk, c->item_id, k);
		c->off += k;
		c->last_delta = now ? now : 1;
		return;
	}
	if (c->cur->len) {
		char tr[400];
		rtf_esc(tr, sizeof(tr), c->cur->transcript[0] ? c->cur->transcript : "(agent audio)");
		rtf_sendf(c, "{\"type\":\"response.output_audio.done\",\"response_id\":\"%s\",\"item_id\":\"%s\","
			 "\"output_index\":0,\"content_index\":0}", c->resp_id, c->item_id);
		rtf_sendf(c, "{\"type\":\"response.output_audio_transcript.done\",\"response_id\":\"%s\","
			 "\"item_id\":\"%s\",\"output_index\":0,\"content_index\":0,\"transcript\":%s}",
		      c->resp_id, c->item_id, tr);
	}
	if (c->cur->fn[0]) {
		char call_id[32], args[2048], name[160];
		snprintf(call_id, sizeof(call_id), "call_%d_%u", c->no, ++c->ncall);
		rtf_esc(args, sizeof(args), c->cur->fn_args);
		rtf_esc(name, sizeof(name), c->cur->fn);
		rtfc_call_issued(&c->chk, call_id);
		rtf_sendf(c, "{\"type\":\"response.function_call_arguments.done\",\"response_id\":\"%s\","
			 "\"item_id\":\"fc_%s\",\"output_index\":1,\"call_id\":\"%s\",\"name\":%s,\"arguments\":%s}",
		      c->resp_id, call_id, call_id, name, args);
	}
	rtf_response_done(c, "completed", NULL);
	rtf_resp_free(c->cur);
	c->cur = NULL;
}

static void on_tick(uv_timer_t *t)
{
	conn *c = t->data;
	rtf *s = c->srv;
	uint64_t now = uv_now(s->loop);

	if (c->ws_gone)
		return;
	if (!c->created_sent && now - c->t_accept >= s->o.slow_start_ms) {
		c->created_sent = true;
		rtf_sendf(c, "{\"type\":\"session.created\",\"session\":{\"type\":\"realtime\",\"object\":\"realtime.session\","
			 "\"id\":\"sess_%d\",\"model\":\"gpt-realtime\",\"output_modalities\":[\"audio\"],"
			 "\"instructions\":\"\",\"tools\":[],\"audio\":{\"input\":{\"format\":{\"type\":\"audio/pcm\",\"rate\":24000},"
			 "\"turn_detection\":{\"type\":\"server_vad\"}},\"output\":{\"format\":{\"type\":\"audio/pcm\",\"rate\":24000},"
			 "\"voice\":\"alloy\"}}}}", c->no);
	}
	if (!c->updated || !c->created_sent)
		return; /* a slow start holds the script too */
	while (c->next_action < s->o.nactions && s->o.actions[c->next_action].at_ms <= now - c->t_update)
		rtf_run_action(c, &s->o.actions[c->next_action++], now);
	rtf_pump(c, now);
}

static void on_client_event(conn *c, const char *data, size_t len)
{
	rtf *s = c->srv;
	rtfc_info info;
	char why[300];
	uint64_t now = uv_now(s->loop);
	json_t *j;

	s->events++;
	if (s->o.record) {
		j = json_loadb(data, len, 0, NULL);
		char *compact = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		if (compact)
			fprintf(s->o.record, "{\"conn\":%d,\"t\":%llu,\"event\":%s}\n", c->no,
				(unsigned long long)(now - c->t_accept), compact);
		else
			fprintf(s->o.record, "{\"conn\":%d,\"invalid\":true}\n", c->no);
		fflush(s->o.record);
		free(compact);
		json_decref(j);
	}
	if (rtfc_check(&c->chk, data, len, &info, why, sizeof(why)) < 0) {
		s->violations++;
		fprintf(stderr, "fake_realtime: VIOLATION conn %d: %s\n", c->no, why);
		if (!strcmp(info.type, "conversation.item.truncate"))
			goto truncate;
		return;
	}
	if (!strcmp(info.type, "session.update")) {
		s->session_updates++;
		if (!c->updated) {
			c->updated = true;
			c->t_update = now;
		}
		rtf_sendf(c, "{\"type\":\"session.updated\",\"session\":{\"type\":\"realtime\",\"object\":\"realtime.session\","
			 "\"id\":\"sess_%d\",\"model\":\"gpt-realtime\",\"audio\":{\"input\":{\"format\":{\"type\":\"audio/pcmu\"},"
			 "\"turn_detection\":{\"type\":\"server_vad\"}},\"output\":{\"format\":{\"type\":\"audio/pcmu\"},"
			 "\"voice\":\"alloy\"}}}}", c->no);
	} else if (!strcmp(info.type, "input_audio_buffer.append")) {
		uint8_t audio[65536];
		int n = b64_decode(audio, sizeof(audio), info.audio, info.audio_len);
		s->appends++;
		if (n > 0) {
			s->audio_bytes += (uint64_t)n;
			if (c->audio_out)
				fwrite(audio, 1, (size_t)n, c->audio_out);
			if (s->o.echo) {
				size_t pos = 0;
				char item[32];
				snprintf(item, sizeof(item), "item_echo_%d", c->no);
				jw_raw(c->buf, c->bufcap, &pos,
				       "{\"type\":\"response.output_audio.delta\",\"event_id\":\"evt_%llu\","
				       "\"response_id\":\"resp_echo_%d\",\"item_id\":\"%s\",\"output_index\":0,"
				       "\"content_index\":0,\"delta\":\"%.*s\"}",
				       (unsigned long long)++s->evid, c->no, item, (int)info.audio_len, info.audio);
				rtf_conn_send(c, c->buf, pos);
				rtfc_audio_sent(&c->chk, item, (uint64_t)n);
			}
			if (s->o.restaurant)
				rtf_vad(c, audio, (size_t)n, now);
		}
	} else if (!strcmp(info.type, "response.create")) {
		size_t l = 0;
		if (!c->greeted && (s->o.greet || s->o.greet_tone || s->o.restaurant)) {
			uint8_t *g = s->o.greet ? tfile_load(s->o.greet, &l) : rtf_tone(s->o.greet_tone ? s->o.greet_tone : "440:1500", &l);
			c->greeted = true;
			rtf_queue(c, g, l, "Hello, Pizzeria Napoli, how can I help you?", NULL, NULL);
		} else if (c->awaiting_tool) {
			uint8_t *au = rtf_tone("600:800", &l);
			c->awaiting_tool = false;
			rtf_queue(c, au, l, "Your order is confirmed.", NULL, NULL);
		} else {
			rtf_queue(c, NULL, 0, NULL, NULL, NULL);
		}
	} else if (!strcmp(info.type, "conversation.item.create") && info.call_id[0]) {
		s->fc_outputs++;
	} else if (!strcmp(info.type, "conversation.item.truncate")) {
truncate:
		json_array_append_new(s->truncates, json_pack("{s:i, s:s, s:I, s:I}", "conn", c->no, "item_id",
							      info.item_id, "audio_end_ms",
							      (json_int_t)info.audio_end_ms, "sent_ms",
							      (json_int_t)info.sent_ms));
	}
}

static void conn_maybe_free(conn *c)
{
	if (!c->ws_gone || !c->timer_closed)
		return;
	rtf_resp_free(c->cur);
	while (c->q) {
		resp *r = c->q;
		c->q = r->next;
		rtf_resp_free(r);
	}
	if (c->audio_out)
		fclose(c->audio_out);
	free(c->buf);
	free(c);
}

static void timer_closed(uv_handle_t *h)
{
	conn *c = h->data;
	c->timer_closed = true;
	conn_maybe_free(c);
}

static void on_text(ws_conn *w, const char *data, size_t len, void *arg)
{
	(void)w;
	on_client_event(arg, data, len);
}

static void on_close(ws_conn *w, int code, const char *reason, void *arg)
{
	conn *c = arg;
	rtf *s = c->srv;

	(void)w;
	(void)reason;
	if (code == 1000)
		s->closes_by_client++;
	c->ws_gone = true;
	c->ws = NULL;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, timer_closed);
}

static const ws_handlers conn_h = { .text_h = on_text, .close_h = on_close };

static int on_accept(ws_conn *w, const ws_request *rq, void *arg)
{
	rtf *s = arg;
	conn *c;
	char path[PATH_MAX];

	if (s->o.refuse) {
		s->nrefused++;
		fprintf(stderr, "fake_realtime: refused a connection with HTTP %d (--refuse)\n", s->o.refuse);
		return s->o.refuse;
	}
	if (s->o.key) {
		const char *a = ws_request_header(rq, "Authorization");
		char want[512];
		snprintf(want, sizeof(want), "Bearer %s", s->o.key);
		if (!a || strcmp(a, want)) {
			fprintf(stderr, "fake_realtime: refused a connection without the right bearer key\n");
			return 401;
		}
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return 503;
	c->bufcap = B64_ENC_LEN(65536) + 4096;
	c->buf = malloc(c->bufcap);
	if (!c->buf) {
		free(c);
		return 503;
	}
	c->srv = s;
	c->ws = w;
	c->no = ++s->nconn;
	c->t_accept = uv_now(s->loop);
	rtfc_init(&c->chk);
	if (s->o.audio_out) {
		snprintf(path, sizeof(path), "%s.%d", s->o.audio_out, c->no);
		c->audio_out = fopen(path, "wb");
	}
	uv_timer_init(s->loop, &c->timer);
	c->timer.data = c;
	uv_timer_start(&c->timer, on_tick, 5, 10);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	ws_set_handlers(w, &conn_h, c);
	return 0;
}

int rtf_new(rtf **out, uv_loop_t *loop, const rtf_opts *o, const char *addr, int port, int *bound)
{
	ws_opts wo = { .max_message = 16u << 20, .max_queue = 16u << 20 };
	rtf *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->o = *o;
	s->truncates = json_array();
	if ((r = ws_ctx_new(&s->ctx, loop, &wo)) < 0 ||
	    (r = ws_listen(s->ctx, addr, port, on_accept, s, bound)) < 0) {
		if (s->ctx)
			ws_ctx_destroy(s->ctx);
		json_decref(s->truncates);
		free(s);
		return r;
	}
	*out = s;
	return 0;
}

void rtf_destroy(rtf *s)
{
	if (!s)
		return;
	ws_ctx_destroy(s->ctx);
	json_decref(s->truncates);
	free(s);
}

unsigned rtf_violations(const rtf *s)
{
	return s->violations;
}

void rtf_summary(const rtf *s, FILE *f)
{
	char *tr = json_dumps(s->truncates, JSON_COMPACT);
	fprintf(f,
		"{\"connections\":%d,\"events\":%u,\"session_updates\":%u,\"appends\":%u,\"audio_bytes\":%llu,"
		"\"responses\":%u,\"fc_outputs\":%u,\"violations\":%u,\"client_closes\":%u,\"refused\":%u,\"truncates\":%s}\n",
		s->nconn, s->events, s->session_updates, s->appends, (unsigned long long)s->audio_bytes,
		s->responses, s->fc_outputs, s->violations, s->closes_by_client, s->nrefused, tr ? tr : "[]");
	free(tr);
	fflush(f);
}

