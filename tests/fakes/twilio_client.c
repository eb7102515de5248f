/* twilio_client: the Twilio side of Media Streams, as a test peer.
 * Streams caller audio (a µ-law file or a tone) to /media-stream at a 20 ms
 * pace, plays and records what comes back, echoes marks the Twilio way,
 * obeys clear; N concurrent streams on one loop (tests/lib/twc.c). Hostile
 * modes send one bad frame and expect the server to end that stream.
 * Prints one JSON summary line per stream on stdout; exit 0 when every
 * stream behaved as expected, 1 otherwise, 2 on bad usage. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "g711.h"
#include "log.h"
#include "tfile.h"
#include "twc.h"

static struct {
	int streams, running, failed, stagger_ms;
	twc_opts o;
	const char *rx_path, *mode;
	FILE *summary;
	uv_loop_t *loop;
	ws_ctx *ctx;
	uv_timer_t stagger;
	int started;
	twc **t;
	FILE **rx;
} G;

static void usage(int rc)
{
	fprintf(stderr,
		"usage: twilio_client --url ws://127.0.0.1:PORT/media-stream [--streams N] [--stagger-ms N]\n"
		"  [--audio FILE.ulaw | --tone HZ:MS] [--duration-ms N] [--wait-close] [--max-ms N]\n"
		"  [--bearer STREAM_TOKEN] [--twilio-token TOKEN [--sig-host HOST]]\n"
		"  [--restaurant-id ID] [--from NUMBER] [--rx-audio FILE] [--events FILE.jsonl]\n"
		"  [--summary FILE] [--mode normal|badjson|oversize|binary|media-before-start|badb64]\n"
		"  [--dtmf MS:DIGITS]   send DIGITS as dtmf events from MS on, one per 200 ms\n");
	exit(rc);
}

static bool hostile(void)
{
	return G.o.mode != TWC_NORMAL;
}

static void on_done(twc *t, const twc_result *r, void *arg)
{
	int idx = (int)(intptr_t)arg;
	bool ok = hostile() ? (r->opened && r->server_closed) : (r->opened && !r->errors);
	char line[1024];

	snprintf(line, sizeof(line),
		 "{\"stream\":%d,\"ok\":%s,\"opened\":%s,\"close_code\":%d,\"close_reason\":\"%s\","
		 "\"server_closed\":%s,\"media_sent\":%llu,\"rx_bytes\":%llu,\"played_bytes\":%llu,"
		 "\"marks_rx\":%llu,\"marks_echoed\":%llu,\"clears\":%llu,\"played_at_clear\":%lld,"
		 "\"rx_at_clear\":%llu,\"ms\":%llu,\"errors\":%d}",
		 idx, ok ? "true" : "false", r->opened ? "true" : "false", r->close_code, r->close_reason,
		 r->server_closed ? "true" : "false", (unsigned long long)r->media_sent,
		 (unsigned long long)r->rx_bytes, (unsigned long long)r->played_bytes,
		 (unsigned long long)r->marks_rx, (unsigned long long)r->marks_echoed,
		 (unsigned long long)r->clears, (long long)r->played_at_clear,
		 (unsigned long long)r->rx_at_clear, (unsigned long long)r->ms, r->errors);
	puts(line);
	fflush(stdout);
	if (G.summary) {
		fprintf(G.summary, "%s\n", line);
		fflush(G.summary);
	}
	if (!ok)
		G.failed++;
	G.t[idx] = t;
	if (--G.running == 0) {
		uv_timer_stop(&G.stagger);
		uv_close((uv_handle_t *)&G.stagger, NULL);
		ws_ctx_destroy(G.ctx);
		G.ctx = NULL;
	}
}

static void start_one(int i)
{
	twc_opts o = G.o;
	char path[1024];
	twc *t = NULL;

	if (G.rx_path) {
		if (G.streams == 1)
			snprintf(path, sizeof(path), "%s", G.rx_path);
		else
			snprintf(path, sizeof(path), "%s.%d", G.rx_path, i);
		o.rx_audio = G.rx[i] = fopen(path, "wb");
	}
	if (twc_start(&t, G.ctx, G.loop, &o, i, on_done, (void *)(intptr_t)i) < 0) {
		fprintf(stderr, "twilio_client: stream %d: cannot start\n", i);
		G.failed++;
		if (--G.running == 0) {
			uv_close((uv_handle_t *)&G.stagger, NULL);
			ws_ctx_destroy(G.ctx);
			G.ctx = NULL;
		}
	}
}

static void on_stagger(uv_timer_t *tm)
{
	(void)tm;
	if (G.started < G.streams)
		start_one(G.started++);
	if (G.started == G.streams)
		uv_timer_stop(&G.stagger);
}

static int run_binary(void)
{
	char host[64] = "127.0.0.1", path[512] = "/media-stream";
	int port = 0, code;
	const char *p = strstr(G.o.url, "://");
	static const uint8_t junk[] = { 0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3 };

	if (!p || sscanf(p + 3, "%63[^:]:%d%511s", host, &port, path) < 2)
		usage(2);
	code = twc_raw_frame(host, port, path, G.o.bearer, 2, junk, sizeof(junk), 5000);
	printf("{\"stream\":0,\"ok\":%s,\"server_closed\":%s,\"close_code\":%d}\n",
	       code >= 0 ? "true" : "false", code >= 0 ? "true" : "false", code);
	return code >= 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", 1, 0, 'u' }, { "streams", 1, 0, 'n' }, { "audio", 1, 0, 'a' },
		{ "tone", 1, 0, 't' }, { "duration-ms", 1, 0, 'd' }, { "wait-close", 0, 0, 'w' },
		{ "max-ms", 1, 0, 'M' }, { "bearer", 1, 0, 'b' }, { "twilio-token", 1, 0, 'T' },
		{ "sig-host", 1, 0, 'H' }, { "restaurant-id", 1, 0, 'r' }, { "from", 1, 0, 'f' },
		{ "rx-audio", 1, 0, 'R' }, { "events", 1, 0, 'e' }, { "summary", 1, 0, 's' },
		{ "mode", 1, 0, 'm' }, { "stagger-ms", 1, 0, 'S' }, { "dtmf", 1, 0, 'D' }, { "help", 0, 0, 'h' }, { 0, 0, 0, 0 },
	};
	uint8_t *audio = NULL;
	int c, rc;

	log_init("twilio_client");
	G.streams = 1;
	G.stagger_ms = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u': G.o.url = optarg; break;
		case 'n': G.streams = atoi(optarg); break;
		case 'a':
			audio = tfile_load(optarg, &G.o.audio_len);
			if (!audio) {
				fprintf(stderr, "twilio_client: cannot read %s\n", optarg);
				return 2;
			}
			G.o.audio = audio;
			break;
		case 't': {
			double hz = 0;
			unsigned ms = 0;
			if (sscanf(optarg, "%lf:%u", &hz, &ms) != 2)
				usage(2);
			G.o.audio_len = ms * 8;
			audio = malloc(G.o.audio_len + 1);
			for (size_t i = 0; i < G.o.audio_len; i++)
				audio[i] = g711_ulaw_encode((int16_t)(8000 * sin(2 * M_PI * hz * (double)i / 8000.0)));
			G.o.audio = audio;
			break;
		}
		case 'd': G.o.duration_ms = (unsigned)atoi(optarg); break;
		case 'w': G.o.wait_close = true; break;
		case 'M': G.o.max_ms = (unsigned)atoi(optarg); break;
		case 'b': G.o.bearer = optarg; break;
		case 'T': G.o.twilio_token = optarg; break;
		case 'H': G.o.sig_host = optarg; break;
		case 'r': G.o.restaurant_id = optarg; break;
		case 'f': G.o.from = optarg; break;
		case 'R': G.rx_path = optarg; break;
		case 'e': G.o.events = fopen(optarg, "w"); break;
		case 's': G.summary = fopen(optarg, "w"); break;
		case 'm': G.mode = optarg; break;
		case 'D': {
			char *colon = strchr(optarg, ':');
			if (!colon || !colon[1])
				usage(2);
			G.o.dtmf_at_ms = (unsigned)atoi(optarg);
			G.o.dtmf = colon + 1;
			break;
		}
		case 'S': G.stagger_ms = atoi(optarg); break;
		case 'h': usage(0); break;
		default: usage(2);
		}
	}
	if (!G.o.url || G.streams < 1 || G.streams > 100000)
		usage(2);
	if (G.mode && strcmp(G.mode, "normal")) {
		if (!strcmp(G.mode, "binary"))
			return run_binary();
		else if (!strcmp(G.mode, "badjson"))
			G.o.mode = TWC_BAD_JSON;
		else if (!strcmp(G.mode, "oversize"))
			G.o.mode = TWC_OVERSIZE;
		else if (!strcmp(G.mode, "media-before-start"))
			G.o.mode = TWC_MEDIA_BEFORE_START;
		else if (!strcmp(G.mode, "badb64"))
			G.o.mode = TWC_BAD_B64;
		else
			usage(2);
		G.o.wait_close = true;
		if (!G.o.max_ms)
			G.o.max_ms = 5000;
	}
	G.loop = uv_default_loop();
	{
		ws_opts wo = { .max_message = 4u << 20, .max_queue = 8u << 20, .connect_timeout_ms = 5000 };
		if (ws_ctx_new(&G.ctx, G.loop, &wo) < 0) {
			fprintf(stderr, "twilio_client: ws context failed\n");
			return 1;
		}
	}
	G.t = calloc((size_t)G.streams, sizeof(*G.t));
	G.rx = calloc((size_t)G.streams, sizeof(*G.rx));
	G.running = G.streams;
	uv_timer_init(G.loop, &G.stagger);
	uv_timer_start(&G.stagger, on_stagger, 0, G.stagger_ms > 0 ? (uint64_t)G.stagger_ms : 1);
	if (G.stagger_ms <= 0)
		while (G.started < G.streams)
			start_one(G.started++);
	uv_run(G.loop, UV_RUN_DEFAULT);
	for (int i = 0; i < G.streams; i++) {
		twc_free(G.t[i]);
		if (G.rx[i])
			fclose(G.rx[i]);
	}
	free(G.t);
	free(G.rx);
	free(audio);
	uv_loop_close(G.loop);
	if (G.o.events)
		fclose(G.o.events);
	if (G.summary)
		fclose(G.summary);
	rc = G.failed ? 1 : 0;
	return rc;
}
