/* fake_realtime: a scriptable fake of the OpenAI Realtime API (GA) for
 * tests, the demo and the benchmark (tests/lib/rtf_srv.c does the work).
 * Prints "PORT <n>" once listening. Runs until SIGTERM/SIGINT, then prints
 * a JSON summary (stderr, or --summary FILE) and exits 1 when any client
 * event broke the contract, else 0. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rtf.h"

static rtf *S;
static uv_signal_t sig_int, sig_term;

static void usage(int rc)
{
	fprintf(stderr,
		"usage: fake_realtime [--addr 127.0.0.1] [--port N] [--port-file F] [--record F.jsonl]\n"
		"  [--audio-out PREFIX] [--summary F] [--key API_KEY] [--slow-start MS]\n"
		"  [--greet F.ulaw | --greet-tone HZ:MS] [--chunk BYTES] [--pace-ms MS] [--echo] [--restaurant]\n"
		"  [--refuse STATUS]   answer every upgrade with this HTTP status (401, 429…)\n"
		"  [--at MS:ACTION[:ARG]]...   ACTION: say:F.ulaw tone:HZ:MS speech_started speech_stopped\n"
		"        transcript:TEXT call:NAME:ARGS_JSON error:TYPE:MESSAGE close[:CODE]\n");
	exit(rc);
}

static int parse_action(rtf_action *a, char *spec)
{
	static const struct { const char *name; rtf_kind k; } tab[] = {
		{ "say", RTF_SAY }, { "tone", RTF_TONE }, { "speech_started", RTF_SPEECH_STARTED },
		{ "speech_stopped", RTF_SPEECH_STOPPED }, { "transcript", RTF_TRANSCRIPT },
		{ "call", RTF_CALL }, { "error", RTF_ERROR }, { "close", RTF_CLOSE },
	};
	char *colon = strchr(spec, ':'), *kind, *arg;

	if (!colon)
		return -1;
	*colon = '\0';
	a->at_ms = (unsigned)atoi(spec);
	kind = colon + 1;
	arg = strchr(kind, ':');
	if (arg)
		*arg++ = '\0';
	a->arg = arg ? arg : "";
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (!strcmp(tab[i].name, kind)) {
			a->kind = tab[i].k;
			return 0;
		}
	return -1;
}

static void on_signal(uv_signal_t *s, int signum)
{
	(void)s;
	(void)signum;
	uv_signal_stop(&sig_int);
	uv_signal_stop(&sig_term);
	uv_close((uv_handle_t *)&sig_int, NULL);
	uv_close((uv_handle_t *)&sig_term, NULL);
	uv_stop(uv_default_loop());
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "addr", 1, 0, 'A' }, { "port", 1, 0, 'p' }, { "port-file", 1, 0, 'P' },
		{ "record", 1, 0, 'r' }, { "audio-out", 1, 0, 'o' }, { "summary", 1, 0, 's' },
		{ "key", 1, 0, 'k' }, { "slow-start", 1, 0, 'w' }, { "greet", 1, 0, 'g' },
		{ "greet-tone", 1, 0, 'G' }, { "chunk", 1, 0, 'c' }, { "pace-ms", 1, 0, 'm' },
		{ "echo", 0, 0, 'e' }, { "restaurant", 0, 0, 'R' }, { "refuse", 1, 0, 'x' }, { "at", 1, 0, 'a' }, { "help", 0, 0, 'h' }, { 0, 0, 0, 0 },
	};
	rtf_opts o = { 0 };
	rtf_action acts[64];
	const char *addr = "127.0.0.1", *port_file = NULL, *summary = NULL;
	int port = 0, bound = 0, c, rc;
	uv_loop_t *loop = uv_default_loop();

	log_init("fake_realtime");
	signal(SIGPIPE, SIG_IGN);
	o.actions = acts;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'A': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'P': port_file = optarg; break;
		case 'r': o.record = fopen(optarg, "w"); break;
		case 'o': o.audio_out = optarg; break;
		case 's': summary = optarg; break;
		case 'k': o.key = optarg; break;
		case 'w': o.slow_start_ms = (unsigned)atoi(optarg); break;
		case 'g': o.greet = optarg; break;
		case 'G': o.greet_tone = optarg; break;
		case 'c': o.chunk = (unsigned)atoi(optarg); break;
		case 'm': o.pace_ms = (unsigned)atoi(optarg); break;
		case 'e': o.echo = true; break;
		case 'R': o.restaurant = true; break;
		case 'x': o.refuse = atoi(optarg); break;
		case 'a':
			if (o.nactions == 64 || parse_action(&acts[o.nactions], optarg) < 0)
				usage(2);
			o.nactions++;
			break;
		case 'h': usage(0); break;
		default: usage(2);
		}
	}
	/* actions run in time order */
	for (size_t i = 1; i < o.nactions; i++)
		for (size_t j = i; j > 0 && acts[j].at_ms < acts[j - 1].at_ms; j--) {
			rtf_action t = acts[j];
			acts[j] = acts[j - 1];
			acts[j - 1] = t;
		}
	if (rtf_new(&S, loop, &o, addr, port, &bound) < 0) {
		fprintf(stderr, "fake_realtime: cannot listen on %s:%d\n", addr, port);
		return 2;
	}
	printf("PORT %d\n", bound);
	fflush(stdout);
	if (port_file) {
		FILE *f = fopen(port_file, "w");
		if (f) {
			fprintf(f, "%d\n", bound);
			fclose(f);
		}
	}
	uv_signal_init(loop, &sig_int);
	uv_signal_init(loop, &sig_term);
	uv_signal_start(&sig_int, on_signal, SIGINT);
	uv_signal_start(&sig_term, on_signal, SIGTERM);
	uv_run(loop, UV_RUN_DEFAULT);
	{
		FILE *f = summary ? fopen(summary, "w") : NULL;
		rtf_summary(S, f ? f : stderr);
		if (f)
			fclose(f);
	}
	rc = rtf_violations(S) ? 1 : 0;
	rtf_destroy(S);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	if (o.record)
		fclose(o.record);
	return rc;
}
