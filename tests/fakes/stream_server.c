/* stream_server: a Twilio Media Streams test server (the application side of
 * a stream, what voiceproxy is in production). It records what the emulator
 * (sipbridge) sends, checks the protocol, and can send audio, marks and clear.
 * Used by sipbridge tests, the demo and the benchmark.
 *
 * Usage: stream_server [options]
 *   --bind ADDR          listen address (default 127.0.0.1)
 *   --port N             listen port (default 0 = ephemeral)
 *   --port-file F        write the bound port to F once listening (the port is
 *                        also printed on stdout as "port N")
 *   --events F           every received event as one JSON line: the event
 *                        object plus "_conn" (stream number, from 1) and
 *                        "_t" (ms since the server started, float)
 *   --sent F             every event sent, same format (media: payload length
 *                        "_len" instead of the payload)
 *   --inbound F          decoded inbound µ-law bytes; "%d" in F = stream
 *                        number (one file per stream), else all appended
 *   --play F             after start, send µ-law file F as media events
 *   --tone HZ:MS         after start, send a µ-law sine tone
 *   --chunks N[,N...]    media event sizes in bytes, cycled (default 160)
 *   --pace MS            ms between media events (default 0 = all at once, a
 *                        model-like burst; --pace 20 with 160-byte chunks = real time)
 *   --mark NAME          send mark NAME after the --play/--tone audio (repeatable)
 *   --at MS:ACTION       action MS ms after start (repeatable). ACTION is
 *                          mark=NAME  queue a mark behind the audio sent so far
 *                          clear      send clear now (pending unsent audio dropped)
 *                          close      close the WS now (code 1000)
 *                          play=FILE  queue more µ-law audio
 *                          tone=HZ:MS queue a tone
 *                          raw=TEXT   send TEXT as one text frame (hostile input tests)
 *   --echo               send every inbound media payload straight back
 *   --close-after S      close the WS S seconds (float) after start
 *   --expect-chunk N     inbound media payloads must be N bytes (default 160, 0 = any)
 *   --token TOK          require "Authorization: Bearer TOK" on the upgrade (else 401)
 *   --reject CODE        refuse every upgrade with HTTP CODE (e.g. 503)
 *   --exit-after N       exit once N streams have closed (default 0 = never)
 *   --timeout S          exit after S seconds (float) in any case (default: never)
 *   --quiet              no per-violation lines (the count is still reported)
 * SIGINT/SIGTERM: close every stream, print the summary, exit.
 *
 * Protocol checks (each failure is a violation, one line on stderr):
 *   first message is connected (protocol "Call", version "1.0.0"); then start
 *   with sequenceNumber 1, AC/CA/MZ ids, tracks [inbound], audio/x-mulaw 8000 1;
 *   sequenceNumber +1 on every later message; the same streamSid everywhere;
 *   media: chunk +1 from 1, track inbound, timestamp (ms) never going back nor
 *   overlapping the previous payload and not ahead of the wall clock; dtmf
 *   digit in [0-9*#A-D]; marks echoed once each, in the order sent; stop
 *   last with the start's accountSid/callSid; nothing after stop; a stream
 *   closed by the emulator must have sent stop; no binary frame; every frame
 *   parses (common/twilio.h).
 * Summary on stdout at exit, one line per stream:
 *   stream N: events=E media=M bytes=B dtmf="D" marks=K stop=yes|no violations=V
 * followed by "total: streams=S violations=V".
 * Exit code: 0 no violation, 1 violations, 2 usage or setup error. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "b64.h"
#include "err.h"
#include "g711.h"
#include "ids.h"
#include "log.h"
#include "twilio.h"
#include "ws.h"

#define MAX_ACTIONS 64
#define MAX_CHUNKS 32
#define TICK_MS 2

typedef enum { ACT_MARK, ACT_CLEAR, ACT_CLOSE, ACT_PLAY, ACT_TONE, ACT_RAW } act_kind;

typedef struct action {
	double at_ms;
	act_kind kind;
	char *arg;
} action;

/* Outbound item queued for one stream: audio, or a mark sent in order. */
typedef struct item {
	struct item *next;
	bool is_mark;
	char *name;
	uint8_t *data;
	size_t len, off;
} item;

typedef struct sent_mark {
	struct sent_mark *next;
	char name[TW_NAME_MAX];
} sent_mark;

typedef struct conn {
	struct conn *next, *prev;
	ws_conn *ws;
	int n;
	bool started, stopped, closing, closed_by_us;
	uint64_t nmsg, expect_seq, nmedia, bytes, chunk;
	uint64_t last_ts, last_len;
	double start_ms;
	bool act_fired[MAX_ACTIONS];
	char stream_sid[TW_SID_MAX], account_sid[TW_SID_MAX], call_sid[TW_SID_MAX];
	char digits[256];
	unsigned marks_rx, violations;
	item *q_head, *q_tail;
	double next_send_ms;
	unsigned chunk_idx;
	sent_mark *sm_head, *sm_tail;
	FILE *inbound;
} conn;

static struct {
	const char *bind, *port_file, *events_path, *sent_path, *inbound_path;
	const char *play, *token;
	int port, reject, exit_after, expect_chunk;
	double pace, close_after, timeout;
	int tone_hz, tone_ms;
	size_t chunks[MAX_CHUNKS];
	int nchunks;
	const char *marks[MAX_ACTIONS];
	int nmarks;
	action acts[MAX_ACTIONS];
	int nacts;
	bool echo, quiet;
} opt = { .bind = "127.0.0.1", .expect_chunk = 160, .chunks = { 160 }, .nchunks = 1 };

static uv_loop_t *loop;
static ws_ctx *wsc;
static uv_timer_t tick, deadline;
static uv_signal_t sigint, sigterm;
static FILE *events_f, *sent_f;
static conn *conns;
static int nstreams, nclosed;
static unsigned total_violations, pre_violations;
static uint64_t t0_ns;
static bool shutting_down;
static uint8_t audio_buf[TW_MEDIA_MAX];

static double now_ms(void)
{
	return (double)(uv_hrtime() - t0_ns) / 1e6;
}

__attribute__((format(printf, 2, 3)))
static void violation(conn *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c)
		c->violations++;
	else
		pre_violations++;
	total_violations++;
	if (!opt.quiet)
		fprintf(stderr, "stream_server: VIOLATION stream %d: %s\n", c ? c->n : 0, msg);
}

static void record(FILE *f, conn *c, const char *json, size_t len, long payload_len)
{
	json_error_t jerr;
	json_t *root;
	char *s;

	if (!f)
		return;
	root = json_loadb(json, len, 0, &jerr);
	if (!root || !json_is_object(root)) {
		json_decref(root);
		root = json_object();
		json_object_set_new(root, "_unparsable", json_stringn(json, len > 200 ? 200 : len));
	}
	if (payload_len >= 0) {
		json_t *m = json_object_get(root, "media");
		if (json_is_object(m))
			json_object_del(m, "payload");
		json_object_set_new(root, "_len", json_integer(payload_len));
	}
	json_object_set_new(root, "_conn", json_integer(c->n));
	json_object_set_new(root, "_t", json_real(now_ms()));
	s = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(12));
	if (s) {
		fputs(s, f);
		fputc('\n', f);
		free(s);
	}
	json_decref(root);
}

/* ---- sending ---------------------------------------------------------------- */

static int send_text(conn *c, const char *buf, size_t len, long payload_len)
{
	int rc = ws_send_text(c->ws, buf, len);
	if (rc < 0)
		fprintf(stderr, "stream_server: stream %d: send failed: %s\n", c->n, strerror(-rc));
	else
		record(sent_f, c, buf, len, payload_len);
	return rc;
}

static void send_media(conn *c, const uint8_t *a, size_t n)
{
	static char buf[TW_MEDIA_FMT_CAP(TW_MEDIA_MAX) + 64];
	int len = tw_fmt_app_media(buf, sizeof(buf), c->stream_sid, a, n);
	if (len > 0)
		send_text(c, buf, (size_t)len, (long)n);
}

static void send_mark(conn *c, const char *name)
{
	char buf[TW_NAME_MAX + 256];
	sent_mark *sm;
	int len = tw_fmt_app_mark(buf, sizeof(buf), c->stream_sid, name);
	if (len <= 0 || send_text(c, buf, (size_t)len, -1) < 0)
		return;
	sm = calloc(1, sizeof(*sm));
	if (!sm)
		return;
	snprintf(sm->name, sizeof(sm->name), "%s", name);
	if (c->sm_tail)
		c->sm_tail->next = sm;
	else
		c->sm_head = sm;
	c->sm_tail = sm;
}

static void free_item(item *it)
{
	free(it->name);
	free(it->data);
	free(it);
}

static void enqueue(conn *c, item *it)
{
	if (c->q_tail)
		c->q_tail->next = it;
	else
		c->q_head = it;
	c->q_tail = it;
}

static void enqueue_audio(conn *c, uint8_t *data, size_t len)
{
	item *it = calloc(1, sizeof(*it));
	if (!it) {
		free(data);
		return;
	}
	it->data = data;
	it->len = len;
	enqueue(c, it);
}

static void enqueue_mark(conn *c, const char *name)
{
	item *it = calloc(1, sizeof(*it));
	if (!it)
		return;
	it->is_mark = true;
	it->name = strdup(name);
	enqueue(c, it);
}

static int load_file(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *d = NULL;
	long n;
	int rc = -errno;

	if (!f)
		return rc;
	rc = -EIO;
	if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0)
		goto out;
	d = malloc(n ? (size_t)n : 1);
	rc = -ENOMEM;
	if (!d)
		goto out;
	rc = -EIO;
	if (n && fread(d, 1, (size_t)n, f) != (size_t)n)
		goto out;
	*out = d;
	*len = (size_t)n;
	d = NULL;
	rc = 0;
out:
	free(d);
	fclose(f);
	return rc;
}

static int make_tone(int hz, int ms, uint8_t **out, size_t *len)
{
	size_t n = (size_t)ms * 8;
	uint8_t *d = malloc(n ? n : 1);
	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		d[i] = g711_ulaw_encode((int16_t)(8000.0 * sin(2 * M_PI * hz * (double)i / 8000.0)));
	*out = d;
	*len = n;
	return 0;
}

static int parse_tone(const char *s, int *hz, int *ms)
{
	return sscanf(s, "%d:%d", hz, ms) == 2 && *hz > 0 && *hz < 4000 && *ms >= 0 ? 0 : -EINVAL;
}

static void queue_play(conn *c, const char *path)
{
	uint8_t *d = NULL;
	size_t n = 0;
	if (load_file(path, &d, &n) < 0) {
		fprintf(stderr, "stream_server: cannot read %s\n", path);
		return;
	}
	enqueue_audio(c, d, n);
}

static void queue_tone(conn *c, const char *spec)
{
	int hz, ms;
	uint8_t *d = NULL;
	size_t n = 0;
	if (parse_tone(spec, &hz, &ms) == 0 && make_tone(hz, ms, &d, &n) == 0)
		enqueue_audio(c, d, n);
}

static void conn_close(conn *c, int code, const char *why)
{
	if (c->closing)
		return;
	c->closing = true;
	c->closed_by_us = true;
	ws_close(c->ws, code, why);
}

static void drop_queue(conn *c)
{
	while (c->q_head) {
		item *it = c->q_head;
		c->q_head = it->next;
		free_item(it);
	}
	c->q_tail = NULL;
}

static void do_clear(conn *c)
{
	char buf[256];
	int len = tw_fmt_clear(buf, sizeof(buf), c->stream_sid);
	/* Unsent audio would be dropped by a real application too; queued marks
	 * are sent anyway so the test can see them come back. */
	for (item *it = c->q_head; it; it = it->next)
		if (!it->is_mark)
			it->off = it->len;
	if (len > 0)
		send_text(c, buf, (size_t)len, -1);
}

static void run_action(conn *c, const action *a)
{
	switch (a->kind) {
	case ACT_MARK: enqueue_mark(c, a->arg); break;
	case ACT_CLEAR: do_clear(c); break;
	case ACT_CLOSE: conn_close(c, 1000, "test close"); break;
	case ACT_PLAY: queue_play(c, a->arg); break;
	case ACT_TONE: queue_tone(c, a->arg); break;
	case ACT_RAW: send_text(c, a->arg, strlen(a->arg), -1); break;
	}
}

/* Sends what is due: marks at once, audio one chunk per pace interval (or
 * everything when pace is 0). Deadlines are absolute so pacing never drifts. */
static void pump(conn *c, double now)
{
	while (c->q_head && !c->closing) {
		item *it = c->q_head;
		if (it->is_mark) {
			send_mark(c, it->name);
		} else if (it->off < it->len) {
			if (opt.pace > 0 && now < c->next_send_ms)
				return;
			size_t n = opt.chunks[c->chunk_idx++ % (unsigned)opt.nchunks];
			if (n > it->len - it->off)
				n = it->len - it->off;
			send_media(c, it->data + it->off, n);
			it->off += n;
			if (opt.pace > 0) {
				c->next_send_ms = (c->next_send_ms < now - 100 ? now : c->next_send_ms) + opt.pace;
				if (it->off < it->len)
					return;
			}
			if (it->off < it->len)
				continue;
		}
		c->q_head = it->next;
		if (!c->q_head)
			c->q_tail = NULL;
		free_item(it);
	}
}

static void on_tick(uv_timer_t *t)
{
	double now = now_ms();
	(void)t;
	for (conn *c = conns, *nx; c; c = nx) {
		nx = c->next;
		if (!c->started || c->closing)
			continue;
		double rel = now - c->start_ms;
		for (int i = 0; i < opt.nacts && !c->closing; i++)
			if (!c->act_fired[i] && rel >= opt.acts[i].at_ms) {
				c->act_fired[i] = true;
				run_action(c, &opt.acts[i]);
			}
		if (opt.close_after > 0 && rel >= opt.close_after * 1000)
			conn_close(c, 1000, "close-after");
		if (!c->closing)
			pump(c, now);
	}
}

/* ---- receiving and checks ------------------------------------------------------ */

static void on_start(conn *c, const tw_event *ev)
{
	const tw_start *st = &ev->u.start;
	if (ev->seq != 1)
		violation(c, "start sequenceNumber %llu, want 1", (unsigned long long)ev->seq);
	if (!id_valid(st->account_sid, "AC"))
		violation(c, "start accountSid \"%s\" is not AC+32 hex", st->account_sid);
	if (!id_valid(st->call_sid, "CA"))
		violation(c, "start callSid \"%s\" is not CA+32 hex", st->call_sid);
	if (!id_valid(st->stream_sid, "MZ"))
		violation(c, "start streamSid \"%s\" is not MZ+32 hex", st->stream_sid);
	if (strcmp(st->stream_sid, ev->stream_sid))
		violation(c, "start.streamSid differs from the top-level streamSid");
	if (st->tracks != TW_TRACK_INBOUND)
		violation(c, "start tracks 0x%x, want [\"inbound\"]", st->tracks);
	if (strcmp(st->encoding, "audio/x-mulaw") || st->sample_rate != 8000 || st->channels != 1)
		violation(c, "start mediaFormat %s/%u/%u, want audio/x-mulaw/8000/1",
			  st->encoding, st->sample_rate, st->channels);
	snprintf(c->stream_sid, sizeof(c->stream_sid), "%s", ev->stream_sid);
	snprintf(c->account_sid, sizeof(c->account_sid), "%s", st->account_sid);
	snprintf(c->call_sid, sizeof(c->call_sid), "%s", st->call_sid);
	c->started = true;
	c->start_ms = now_ms();
	c->next_send_ms = c->start_ms;
	if (opt.play)
		queue_play(c, opt.play);
	if (opt.tone_hz) {
		char spec[32];
		snprintf(spec, sizeof(spec), "%d:%d", opt.tone_hz, opt.tone_ms);
		queue_tone(c, spec);
	}
	for (int i = 0; i < opt.nmarks; i++)
		enqueue_mark(c, opt.marks[i]);
	pump(c, now_ms());
}

static void on_media(conn *c, const tw_event *ev)
{
	double wall = now_ms() - c->start_ms;
	uint64_t ts = ev->u.media.timestamp;
	size_t n = ev->u.media.len;

	if (ev->u.media.chunk != c->chunk + 1)
		violation(c, "media chunk %llu, want %llu", (unsigned long long)ev->u.media.chunk,
			  (unsigned long long)c->chunk + 1);
	c->chunk = ev->u.media.chunk;
	if (ev->u.media.track != TW_TRACK_INBOUND)
		violation(c, "media track is not inbound");
	if (c->nmedia && ts < c->last_ts + c->last_len / 8)
		violation(c, "media timestamp %llu goes back (previous %llu + %llu ms)",
			  (unsigned long long)ts, (unsigned long long)c->last_ts,
			  (unsigned long long)(c->last_len / 8));
	if ((double)ts > wall + 1000)
		violation(c, "media timestamp %llu ms is ahead of the wall clock (%.0f ms)",
			  (unsigned long long)ts, wall);
	if (opt.expect_chunk && n != (size_t)opt.expect_chunk)
		violation(c, "media payload %zu bytes, want %d", n, opt.expect_chunk);
	if (n == 0)
		violation(c, "empty media payload");
	c->last_ts = ts;
	c->last_len = n;
	c->nmedia++;
	c->bytes += n;
	if (c->inbound && n && fwrite(ev->u.media.payload, 1, n, c->inbound) != n)
		fprintf(stderr, "stream_server: write inbound failed\n");
	if (opt.echo && !c->closing)
		send_media(c, ev->u.media.payload, n);
}

static void on_mark(conn *c, const tw_event *ev)
{
	sent_mark *sm = c->sm_head;
	c->marks_rx++;
	if (!sm) {
		violation(c, "mark \"%s\" echoed but none pending", ev->u.mark.name);
		return;
	}
	if (strcmp(sm->name, ev->u.mark.name))
		violation(c, "mark \"%s\" echoed, want \"%s\" (order)", ev->u.mark.name, sm->name);
	c->sm_head = sm->next;
	if (!c->sm_head)
		c->sm_tail = NULL;
	free(sm);
}

static void on_text(ws_conn *w, const char *data, size_t len, void *arg)
{
	conn *c = arg;
	tw_event ev;
	char err[256] = "";
	int rc;

	(void)w;
	record(events_f, c, data, len, -1);
	c->nmsg++;
	rc = tw_parse(&ev, data, len, TW_FROM_STREAM, audio_buf, sizeof(audio_buf), err, sizeof(err));
	if (rc < 0) {
		violation(c, "unparsable message #%llu (%s): %s", (unsigned long long)c->nmsg,
			  strerror(-rc), err);
		return;
	}
	if (c->stopped)
		violation(c, "%s after stop", tw_type_name(ev.type));
	if (c->nmsg == 1) {
		if (ev.type != TW_CONNECTED)
			violation(c, "first message is %s, want connected", tw_type_name(ev.type));
		else if (strcmp(ev.u.connected.protocol, "Call") || strcmp(ev.u.connected.version, "1.0.0"))
			violation(c, "connected protocol/version %s/%s, want Call/1.0.0",
				  ev.u.connected.protocol, ev.u.connected.version);
		return;
	}
	if (ev.type == TW_CONNECTED) {
		violation(c, "connected again (message #%llu)", (unsigned long long)c->nmsg);
		return;
	}
	if (c->nmsg == 2 && ev.type != TW_START)
		violation(c, "second message is %s, want start", tw_type_name(ev.type));
	if (ev.type == TW_START) {
		if (c->started)
			violation(c, "start again");
		else
			on_start(c, &ev);
		c->expect_seq = 2;
		return;
	}
	if (!c->started)
		return;
	if (ev.seq != c->expect_seq)
		violation(c, "%s sequenceNumber %llu, want %llu", tw_type_name(ev.type),
			  (unsigned long long)ev.seq, (unsigned long long)c->expect_seq);
	c->expect_seq = ev.seq + 1;
	if (strcmp(ev.stream_sid, c->stream_sid))
		violation(c, "%s streamSid differs from start's", tw_type_name(ev.type));
	switch (ev.type) {
	case TW_MEDIA: on_media(c, &ev); break;
	case TW_DTMF: {
		size_t l = strlen(c->digits);
		if (!strchr("0123456789*#ABCD", ev.u.dtmf.digit) || !ev.u.dtmf.digit)
			violation(c, "dtmf digit 0x%02x", (unsigned char)ev.u.dtmf.digit);
		if (l + 1 < sizeof(c->digits))
			c->digits[l] = ev.u.dtmf.digit;
		break;
	}
	case TW_MARK: on_mark(c, &ev); break;
	case TW_STOP:
		c->stopped = true;
		if (strcmp(ev.u.stop.account_sid, c->account_sid) || strcmp(ev.u.stop.call_sid, c->call_sid))
			violation(c, "stop accountSid/callSid differ from start's");
		break;
	default:
		violation(c, "unexpected %s from the stream side", tw_type_name(ev.type));
	}
}

static void on_binary(ws_conn *w, const uint8_t *data, size_t len, void *arg)
{
	(void)w;
	(void)data;
	violation(arg, "binary frame of %zu bytes", len);
}

static void on_deadline(uv_timer_t *t);

static void on_close(ws_conn *w, int code, const char *reason, void *arg)
{
	conn *c = arg;
	(void)w;
	if (!c->closed_by_us && !c->stopped && c->nmsg > 0)
		violation(c, "WS closed by the emulator (%d %s) without stop", code, reason ? reason : "");
	printf("stream %d: events=%llu media=%llu bytes=%llu dtmf=\"%s\" marks=%u stop=%s violations=%u\n",
	       c->n, (unsigned long long)c->nmsg, (unsigned long long)c->nmedia,
	       (unsigned long long)c->bytes, c->digits, c->marks_rx, c->stopped ? "yes" : "no",
	       c->violations);
	fflush(stdout);
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	drop_queue(c);
	while (c->sm_head) {
		sent_mark *sm = c->sm_head;
		c->sm_head = sm->next;
		free(sm);
	}
	if (c->inbound)
		fclose(c->inbound);
	free(c);
	nclosed++;
	/* Deferred: never destroy the ws context from inside its own callback. */
	if (opt.exit_after && nclosed >= opt.exit_after && !shutting_down)
		uv_timer_start(&deadline, on_deadline, 0, 0);
}

static const ws_handlers conn_handlers = {
	.text_h = on_text, .binary_h = on_binary, .close_h = on_close,
};

static int on_accept(ws_conn *w, const ws_request *rq, void *arg)
{
	conn *c;
	(void)arg;
	if (shutting_down)
		return 503;
	if (opt.reject)
		return opt.reject;
	if (opt.token) {
		const char *h = ws_request_header(rq, "Authorization");
		if (!h || strncmp(h, "Bearer ", 7) || strcmp(h + 7, opt.token)) {
			fprintf(stderr, "stream_server: upgrade refused: bad or missing bearer token\n");
			return 401;
		}
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return 503;
	c->ws = w;
	c->n = ++nstreams;
	if (opt.inbound_path) {
		char path[1024];
		if (strstr(opt.inbound_path, "%d"))
			snprintf(path, sizeof(path), opt.inbound_path, c->n);
		else
			snprintf(path, sizeof(path), "%s", opt.inbound_path);
		c->inbound = fopen(path, "ab");
		if (!c->inbound)
			fprintf(stderr, "stream_server: cannot open %s\n", path);
	}
	c->next = conns;
	if (conns)
		conns->prev = c;
	conns = c;
	ws_set_handlers(w, &conn_handlers, c);
	return 0;
}

/* ---- process ---------------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h)
{
	(void)h;
}

static void shutdown_all(void)
{
	if (shutting_down)
		return;
	shutting_down = true;
	uv_timer_stop(&tick);
	uv_timer_stop(&deadline);
	uv_signal_stop(&sigint);
	uv_signal_stop(&sigterm);
	for (conn *c = conns; c; c = c->next)
		conn_close(c, 1001, "server exit");
	/* The ws context closes remaining connections (close_h runs) and its handles. */
	ws_ctx_destroy(wsc);
	wsc = NULL;
	uv_close((uv_handle_t *)&tick, on_handle_closed);
	uv_close((uv_handle_t *)&deadline, on_handle_closed);
	uv_close((uv_handle_t *)&sigint, on_handle_closed);
	uv_close((uv_handle_t *)&sigterm, on_handle_closed);
}

static void on_deadline(uv_timer_t *t)
{
	(void)t;
	shutdown_all();
}

static void on_signal(uv_signal_t *s, int sig)
{
	(void)s;
	(void)sig;
	shutdown_all();
}

static int parse_action(char *s)
{
	action *a;
	char *colon = strchr(s, ':');
	if (!colon || opt.nacts >= MAX_ACTIONS)
		return -EINVAL;
	*colon = 0;
	a = &opt.acts[opt.nacts];
	a->at_ms = atof(s);
	s = colon + 1;
	if (!strncmp(s, "mark=", 5)) { a->kind = ACT_MARK; a->arg = s + 5; }
	else if (!strcmp(s, "clear")) a->kind = ACT_CLEAR;
	else if (!strcmp(s, "close")) a->kind = ACT_CLOSE;
	else if (!strncmp(s, "play=", 5)) { a->kind = ACT_PLAY; a->arg = s + 5; }
	else if (!strncmp(s, "tone=", 5)) {
		int hz, ms;
		a->kind = ACT_TONE;
		a->arg = s + 5;
		if (parse_tone(a->arg, &hz, &ms) < 0)
			return -EINVAL;
	} else if (!strncmp(s, "raw=", 4)) { a->kind = ACT_RAW; a->arg = s + 4; }
	else return -EINVAL;
	opt.nacts++;
	return 0;
}

static int parse_chunks(char *s)
{
	opt.nchunks = 0;
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		long v = atol(tok);
		if (v <= 0 || v > TW_MEDIA_MAX || opt.nchunks >= MAX_CHUNKS)
			return -EINVAL;
		opt.chunks[opt.nchunks++] = (size_t)v;
	}
	return opt.nchunks ? 0 : -EINVAL;
}

static void usage(void)
{
	fprintf(stderr, "usage: stream_server [--bind A] [--port N] [--port-file F] [--events F] [--sent F]\n"
		"  [--inbound F] [--play F] [--tone HZ:MS] [--chunks N,..] [--pace MS] [--mark NAME]\n"
		"  [--at MS:mark=N|clear|close|play=F|tone=HZ:MS|raw=TEXT] [--echo] [--close-after S]\n"
		"  [--expect-chunk N] [--token T] [--reject CODE] [--exit-after N] [--timeout S] [--quiet]\n"
		"(see the comment at the top of tests/fakes/stream_server.c)\n");
}

static int parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "bind", 1, 0, 'b' }, { "port", 1, 0, 'p' }, { "port-file", 1, 0, 'P' },
		{ "events", 1, 0, 'e' }, { "sent", 1, 0, 'S' }, { "inbound", 1, 0, 'i' },
		{ "play", 1, 0, 'f' }, { "tone", 1, 0, 'T' }, { "chunks", 1, 0, 'c' },
		{ "pace", 1, 0, 'g' }, { "mark", 1, 0, 'm' }, { "at", 1, 0, 'a' },
		{ "echo", 0, 0, 'E' }, { "close-after", 1, 0, 'C' }, { "expect-chunk", 1, 0, 'x' },
		{ "token", 1, 0, 'k' }, { "reject", 1, 0, 'r' }, { "exit-after", 1, 0, 'n' },
		{ "timeout", 1, 0, 't' }, { "quiet", 0, 0, 'q' }, { "help", 0, 0, 'h' }, { 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'b': opt.bind = optarg; break;
		case 'p': opt.port = atoi(optarg); break;
		case 'P': opt.port_file = optarg; break;
		case 'e': opt.events_path = optarg; break;
		case 'S': opt.sent_path = optarg; break;
		case 'i': opt.inbound_path = optarg; break;
		case 'f': opt.play = optarg; break;
		case 'T':
			if (parse_tone(optarg, &opt.tone_hz, &opt.tone_ms) < 0)
				return -EINVAL;
			break;
		case 'c':
			if (parse_chunks(optarg) < 0)
				return -EINVAL;
			break;
		case 'g': opt.pace = atof(optarg); break;
		case 'm':
			if (opt.nmarks >= MAX_ACTIONS)
				return -EINVAL;
			opt.marks[opt.nmarks++] = optarg;
			break;
		case 'a':
			if (parse_action(optarg) < 0)
				return -EINVAL;
			break;
		case 'E': opt.echo = true; break;
		case 'C': opt.close_after = atof(optarg); break;
		case 'x': opt.expect_chunk = atoi(optarg); break;
		case 'k': opt.token = optarg; break;
		case 'r': opt.reject = atoi(optarg); break;
		case 'n': opt.exit_after = atoi(optarg); break;
		case 't': opt.timeout = atof(optarg); break;
		case 'q': opt.quiet = true; break;
		default: return -EINVAL;
		}
	}
	return optind == argc ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	int bound = 0, rc;

	log_init("stream_server");
	if (parse_args(argc, argv) < 0) {
		usage();
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	t0_ns = uv_hrtime();
	loop = uv_default_loop();
	if (opt.events_path && !(events_f = fopen(opt.events_path, "a"))) {
		perror(opt.events_path);
		return 2;
	}
	if (opt.sent_path && !(sent_f = fopen(opt.sent_path, "a"))) {
		perror(opt.sent_path);
		return 2;
	}
	if (events_f)
		setvbuf(events_f, NULL, _IOLBF, 0);
	if (sent_f)
		setvbuf(sent_f, NULL, _IOLBF, 0);
	if ((rc = ws_ctx_new(&wsc, loop, NULL)) < 0 ||
	    (rc = ws_listen(wsc, opt.bind, opt.port, on_accept, NULL, &bound)) < 0) {
		fprintf(stderr, "stream_server: cannot listen on %s:%d: %s\n", opt.bind, opt.port, strerror(-rc));
		return 2;
	}
	if (opt.port_file) {
		/* Written then renamed, so a reader never sees a partial number. */
		char tmp[1024];
		FILE *f;
		snprintf(tmp, sizeof(tmp), "%s.tmp", opt.port_file);
		if (!(f = fopen(tmp, "w")) || fprintf(f, "%d\n", bound) < 0 || fclose(f) ||
		    rename(tmp, opt.port_file)) {
			perror(opt.port_file);
			return 2;
		}
	}
	printf("port %d\n", bound);
	fflush(stdout);
	uv_timer_init(loop, &tick);
	uv_timer_start(&tick, on_tick, TICK_MS, TICK_MS);
	uv_timer_init(loop, &deadline);
	if (opt.timeout > 0)
		uv_timer_start(&deadline, on_deadline, (uint64_t)(opt.timeout * 1000), 0);
	uv_signal_init(loop, &sigint);
	uv_signal_start(&sigint, on_signal, SIGINT);
	uv_signal_init(loop, &sigterm);
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	if (events_f)
		fclose(events_f);
	if (sent_f)
		fclose(sent_f);
	printf("total: streams=%d violations=%u\n", nstreams, total_violations);
	(void)pre_violations;
	return total_violations ? 1 : 0;
}
