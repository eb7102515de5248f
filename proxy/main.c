/* voiceproxy: Twilio webhook + /media-stream server relaying calls to the
 * OpenAI Realtime API, one libuv loop thread (DESIGN.md). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "acc.h"
#include "config.h"
#include "fallback.h"
#include "log.h"
#include "vcall.h"
#include "vhttp.h"
#include "vp.h"
#include "vp_cfg.h"

static vp V;
static uv_signal_t sig_int, sig_term;
static uv_timer_t t_stats, t_drain;
static uint64_t t_stop;

static const char *str_or_null(const cfg *c, const char *name)
{
	const char *s = cfg_str(c, name);
	return s && *s ? s : NULL;
}

/* Each stream holds two descriptors (its socket, its OpenAI socket) and
 * briefly a third (dashboard); say so when the limit cannot carry MAX_CALLS.
 * Beyond it new streams get 503 (acc.c), live ones are unaffected. */
static void check_fd_limit(unsigned max_calls)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)max_calls * 2 + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warn("-", "file descriptor limit %llu is below the ~%llu MAX_CALLS=%u needs: streams beyond it "
			 "get 503 (raise ulimit -n / LimitNOFILE=)",
			 (unsigned long long)rl.rlim_cur, (unsigned long long)need, max_calls);
}

static void conf_from(vp_conf *o, const cfg *c)
{
	o->bind_addr = cfg_str(c, "BIND_ADDR");
	o->port = (int)cfg_int(c, "PORT");
	o->public_host = str_or_null(c, "PUBLIC_HOST");
	o->openai_key = str_or_null(c, "OPENAI_API_KEY");
	o->openai_url = cfg_str(c, "OPENAI_REALTIME_URL");
	o->openai_connect_timeout_ms = (int)cfg_int(c, "OPENAI_CONNECT_TIMEOUT_MS");
	o->openai_fail_grace_ms = (int)cfg_int(c, "OPENAI_FAIL_GRACE_MS");
	o->transcription_model = str_or_null(c, "TRANSCRIPTION_MODEL");
	o->voice = cfg_str(c, "VOICE");
	o->greeting = str_or_null(c, "GREETING");
	o->default_instructions = cfg_str(c, "DEFAULT_INSTRUCTIONS");
	o->restaurant_id = str_or_null(c, "RESTAURANT_ID");
	o->twilio_token = str_or_null(c, "TWILIO_AUTH_TOKEN");
	o->stream_token = str_or_null(c, "STREAM_TOKEN");
	o->max_calls = (unsigned)cfg_int(c, "MAX_CALLS");
	o->stream_max_message = (size_t)cfg_int(c, "STREAM_MAX_MESSAGE");
	o->shutdown_grace_ms = (int)cfg_int(c, "SHUTDOWN_GRACE_MS");
}

static void on_stats(uv_timer_t *t)
{
	(void)t;
	if (V.dash) {
		atomic_store(&V.spooled, dash_spooled(V.dash));
		atomic_store(&V.journal_failures, dash_journal_failures(V.dash));
	}
	vcall_sweep(&V);
}

static void close_cb(uv_handle_t *h)
{
	(void)h;
}

static void finish(void)
{
	acc_stop(V.acc);
	uv_close((uv_handle_t *)&sig_int, close_cb);
	uv_close((uv_handle_t *)&sig_term, close_cb);
	uv_close((uv_handle_t *)&t_stats, close_cb);
	uv_close((uv_handle_t *)&t_drain, close_cb);
	ws_ctx_destroy(V.ws_srv);
	V.ws_srv = V.ws_cli = NULL;
	/* what is still pending stays in SPOOL_DIR for the next start; journal
	 * writes in the thread pool finish while the loop runs on */
	dash_destroy(V.dash);
	V.dash = NULL;
}

/* Graceful shutdown, every 20 ms: live calls may finish on their own until
 * the grace period minus a reserve kept for the journal; then the rest are
 * ended ("shutdown"), the journal is flushed once (retries now), and we
 * wait for the dashboard to accept what is pending, until the grace ends. */
static void on_drain(uv_timer_t *t)
{
	static bool cut, flushed;
	uint64_t waited = uv_now(V.loop) - t_stop, grace = (uint64_t)V.conf.shutdown_grace_ms;
	uint64_t reserve = grace / 4 < 1000 ? grace / 4 : 1000;
	unsigned live = atomic_load(&V.live), pending;

	(void)t;
	if (!cut) {
		if (live && waited + reserve < grace)
			return;
		if (live)
			log_warn("-", "shutdown: grace period over: ending %u live call(s)", live);
		vcall_end_all(&V, "shutdown");
		cut = true;
	}
	if (V.calls && waited < grace)
		return; /* both sides of the last calls are closing */
	if (!flushed) {
		flushed = true;
		dash_flush(V.dash);
	}
	pending = dash_pending(V.dash);
	if (pending && waited < grace)
		return;
	if (V.calls)
		log_warn("-", "shutdown: grace period over with calls still closing");
	if (pending)
		log_warn("-", "shutdown: %u dashboard request(s) not accepted yet: they stay journaled "
			      "for the next start", pending);
	if (pending && dash_journal_failures(V.dash))
		log_err("-", "shutdown: %u request(s) could not be journaled since start (see the "
			     "NOT journaled lines): those still pending are lost", dash_journal_failures(V.dash));
	else
		log_info("-", "shutdown: journal flushed, nothing left to deliver");
	uv_timer_stop(&t_drain);
	finish();
}

static void on_signal(uv_signal_t *s, int signum)
{
	(void)s;
	if (V.stopping) {
		log_warn("-", "second signal: exiting now");
		uv_timer_stop(&t_drain);
		uv_stop(V.loop);
		return;
	}
	log_info("-", "%s: stop accepting, %u live call(s) may finish within %d ms", strsignal(signum),
		 atomic_load(&V.live), V.conf.shutdown_grace_ms);
	V.stopping = true; /* new streams get 503 (acc.c, vcall.c) */
	t_stop = uv_now(V.loop);
	uv_timer_start(&t_drain, on_drain, 0, 20);
}

int main(int argc, char **argv)
{
	cfg *c = NULL;
	char err[512];
	int rc = 2, r, bound = 0;
	ws_opts wo = { 0 };
	dash_opts dopts = { 0 };

	signal(SIGPIPE, SIG_IGN);
	log_init("voiceproxy");
	if (cfg_new(&c, vp_cfg_vars, vp_cfg_nvars) < 0) {
		fprintf(stderr, "voiceproxy: out of memory\n");
		return 2;
	}
	r = cfg_load(c, argc, argv, vp_cfg_extra_opts, vp_cfg_extra, NULL,
		     "Usage: voiceproxy [--option value]...\n"
		     "Twilio webhook + media-stream server relaying calls to the OpenAI Realtime API.\n",
		     "voiceproxy " VP_VERSION);
	if (r == 1) {
		rc = 0;
		goto out;
	}
	if (r < 0)
		goto out;
	if (vp_cfg_check(c, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	{
		log_level lvl;
		if (log_level_parse(cfg_str(c, "LOG_LEVEL"), &lvl) == 0)
			log_set_level(lvl);
	}
	V.loop = uv_default_loop();
	conf_from(&V.conf, c);
	{
		uint8_t *fa = NULL;
		size_t fl = 0;
		if (fb_load(cfg_str(c, "FALLBACK_AUDIO"), &fa, &fl, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			goto out;
		}
		V.conf.fb_audio = fa;
		V.conf.fb_audio_len = fl;
	}
	if (V.conf.openai_key)
		snprintf(V.auth_header, sizeof(V.auth_header), "Authorization: Bearer %s", V.conf.openai_key);
	if (!V.conf.twilio_token && !V.conf.stream_token)
		log_warn("-", "neither TWILIO_AUTH_TOKEN nor STREAM_TOKEN is set: /media-stream and "
			      "/incoming-call accept anyone (local development only)");

	/* One lws context serves /media-stream and the Realtime clients (two
	 * contexts leak OpenSSL state in lws 4.1). Realtime events may be large;
	 * stream frames are held to STREAM_MAX_MESSAGE by vcall. */
	wo.max_message = 1u << 20;
	wo.max_queue = 4u << 20;
	wo.connect_timeout_ms = V.conf.openai_connect_timeout_ms;
	if ((r = ws_ctx_new(&V.ws_srv, V.loop, &wo)) < 0) {
		log_err("-", "websocket context: %s", strerror(-r));
		rc = 1;
		goto out;
	}
	V.ws_cli = V.ws_srv;
	dopts.base_url = cfg_str(c, "DASHBOARD_URL");
	dopts.spool_dir = cfg_str(c, "SPOOL_DIR");
	dopts.default_instructions = V.conf.default_instructions;
	dopts.default_voice = V.conf.voice;
	dopts.ai_timeout_ms = cfg_int(c, "DASHBOARD_AI_TIMEOUT_MS");
	dopts.tool_timeout_ms = cfg_int(c, "DASHBOARD_TOOL_TIMEOUT_MS");
	dopts.api_token = str_or_null(c, "DASHBOARD_TOKEN");
	dopts.retry_min_ms = cfg_int(c, "DASHBOARD_RETRY_MIN_MS");
	dopts.retry_max_ms = cfg_int(c, "DASHBOARD_RETRY_MAX_MS");
	if ((r = dash_new(&V.dash, V.loop, &dopts)) < 0) {
		log_err("-", "dashboard client: %s", strerror(-r));
		rc = 1;
		goto out;
	}
	dash_replay(V.dash);
	if (vhttp_start(&V.http, &V) < 0) {
		log_err("-", "HTTP server (libmicrohttpd) did not start");
		rc = 1;
		goto out;
	}
	if (acc_start(&V.acc, &V, V.conf.bind_addr, V.conf.port, &bound) < 0) {
		rc = 1;
		goto out;
	}
	log_info("-", "voiceproxy %s listening on %s:%d (realtime %s, max %u calls)", VP_VERSION,
		 V.conf.bind_addr, bound, V.conf.openai_url, V.conf.max_calls);
	check_fd_limit(V.conf.max_calls);

	uv_signal_init(V.loop, &sig_int);
	uv_signal_init(V.loop, &sig_term);
	uv_signal_start(&sig_int, on_signal, SIGINT);
	uv_signal_start(&sig_term, on_signal, SIGTERM);
	uv_timer_init(V.loop, &t_stats);
	uv_timer_init(V.loop, &t_drain);
	uv_timer_start(&t_stats, on_stats, 1000, 1000);
	uv_run(V.loop, UV_RUN_DEFAULT);
	if (V.ws_srv || V.dash) /* stopped by a second signal */
		finish();
	uv_run(V.loop, UV_RUN_DEFAULT);
	rc = 0;
	log_info("-", "voiceproxy stopped");
out:
	vhttp_stop(V.http);
	acc_destroy(V.acc);
	if (V.ws_srv) {
		ws_ctx_destroy(V.ws_srv);
		uv_run(V.loop, UV_RUN_DEFAULT);
	}
	if (V.dash)
		dash_destroy(V.dash);
	if (V.loop)
		uv_loop_close(V.loop);
	free((void *)V.conf.fb_audio);
	cfg_destroy(c);
	return rc;
}
