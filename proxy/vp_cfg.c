/* vp_cfg: voiceproxy configuration table; see vp_cfg.h. */
#include "vp_cfg.h"

#include "fallback.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DEF_INSTR                                                                                  \
	"You are the friendly phone assistant of a restaurant. Answer briefly, in the caller's "   \
	"language. You can take orders, reservations and messages. When the caller is done, say "  \
	"goodbye and call the end_call tool."

const cfg_var vp_cfg_vars[] = {
	{ "PORT", NULL, "port", CFG_PORT, "5050", 0, 0, 0, NULL, "the one HTTP+WS port (0 = ephemeral, printed at start)" },
	{ "BIND_ADDR", NULL, "bind", CFG_STR, "0.0.0.0", 0, 0, 0, NULL, "listen address (--bind-addr is accepted too)" },
	{ "PUBLIC_HOST", NULL, "public-host", CFG_STR, NULL, 0, 0, 0, NULL, "host[:port] put in the TwiML wss:// URL and used for signatures (default: the request's Host)" },
	{ "OPENAI_API_KEY", NULL, "openai-api-key", CFG_STR, NULL, 0, 0, CFG_SECRET, NULL, "Realtime API key (may be empty only with a ws:// loopback OPENAI_REALTIME_URL)" },
	{ "OPENAI_REALTIME_URL", NULL, "openai-realtime-url", CFG_URL, "wss://api.openai.com/v1/realtime?model=gpt-realtime", 0, 0, 0, "wss,ws", "Realtime endpoint (ws:// allowed for local fakes)" },
	{ "OPENAI_CONNECT_TIMEOUT_MS", NULL, "openai-connect-timeout-ms", CFG_INT, "5000", 500, 60000, 0, NULL, "connect + handshake timeout to the Realtime API" },
	{ "OPENAI_FAIL_GRACE_MS", NULL, "openai-fail-grace-ms", CFG_INT, "1500", 0, 30000, 0, NULL, "how long a call stays up after the Realtime API failed, before it is ended" },
	{ "TRANSCRIPTION_MODEL", NULL, "transcription-model", CFG_STR, "gpt-4o-mini-transcribe", 0, 0, 0, NULL, "caller transcription model (empty = none)" },
	{ "VOICE", NULL, "voice", CFG_STR, "alloy", 0, 0, 0, NULL, "default voice (the dashboard may override)" },
	{ "GREETING", NULL, "greeting", CFG_STR, NULL, 0, 0, 0, NULL, "default first sentence of the agent when the dashboard gives none (empty = the caller speaks first)" },
	{ "DEFAULT_INSTRUCTIONS", NULL, "default-instructions", CFG_STR, DEF_INSTR, 0, 0, 0, NULL, "instructions used when the dashboard cannot answer /api/ai" },
	{ "RESTAURANT_ID", NULL, "restaurant-id", CFG_STR, NULL, 0, 0, 0, NULL, "default tenant when the stream names none" },
	{ "DASHBOARD_URL", NULL, "dashboard-url", CFG_URL, "http://localhost:3000", 0, 0, 0, "http,https", "restaurant dashboard API base" },
	{ "DASHBOARD_TOKEN", NULL, "dashboard-token", CFG_STR, NULL, 0, 0, CFG_SECRET, NULL, "bearer token voiceproxy presents to the dashboard API (empty = none)" },
	{ "DASHBOARD_AI_TIMEOUT_MS", NULL, "dashboard-ai-timeout-ms", CFG_INT, "3000", 100, 60000, 0, NULL, "timeout of GET /api/ai" },
	{ "DASHBOARD_TOOL_TIMEOUT_MS", NULL, "dashboard-tool-timeout-ms", CFG_INT, "8000", 100, 120000, 0, NULL, "timeout of one tool POST" },
	{ "DASHBOARD_RETRY_MIN_MS", NULL, "dashboard-retry-min-ms", CFG_INT, "1000", 10, 3600000, 0, NULL, "first retry delay of a journaled dashboard POST" },
	{ "DASHBOARD_RETRY_MAX_MS", NULL, "dashboard-retry-max-ms", CFG_INT, "60000", 10, 86400000, 0, NULL, "cap of the exponential retry backoff" },
	{ "FALLBACK_AUDIO", NULL, "fallback-audio", CFG_STR, FB_DEFAULT_AUDIO, 0, 0, 0, NULL, "µ-law 8 kHz prompt played when the Realtime API fails (relative: cwd, then the executable's repo; none = no prompt)" },
	{ "SPOOL_DIR", NULL, "spool-dir", CFG_STR, "./spool", 0, 0, 0, NULL, "durable journal of undelivered dashboard POSTs" },
	{ "TWILIO_AUTH_TOKEN", NULL, "twilio-auth-token", CFG_STR, NULL, 0, 0, CFG_SECRET, NULL, "when set, Twilio signatures are required (webhook and stream)" },
	{ "STREAM_TOKEN", NULL, "stream-token", CFG_STR, NULL, 0, 0, CFG_SECRET, NULL, "shared secret sipbridge presents as Authorization: Bearer" },
	{ "MAX_CALLS", NULL, "max-calls", CFG_INT, "500", 1, 100000, 0, NULL, "admission limit (more streams get 503)" },
	{ "STREAM_MAX_MESSAGE", NULL, "stream-max-message", CFG_INT, "65536", 1024, 16777216, 0, NULL, "largest /media-stream frame accepted (bigger ends that stream)" },
	{ "SHUTDOWN_GRACE_MS", NULL, "shutdown-grace-ms", CFG_INT, "3000", 0, 600000, 0, NULL, "on SIGTERM, how long to wait for calls and call logs to close" },
	{ "LOG_LEVEL", NULL, "log-level", CFG_LEVEL, "info", 0, 0, 0, NULL, "error, warn, info, debug" },
};
const size_t vp_cfg_nvars = sizeof(vp_cfg_vars) / sizeof(vp_cfg_vars[0]);

const char *const vp_cfg_extra_opts[] = { "bind-addr", NULL };

int vp_cfg_extra(cfg *c, const char *opt, const char *val, char *err, size_t errlen, void *arg)
{
	(void)arg;
	/* --bind-addr: the first name of --bind, kept for existing scripts */
	if (!strcmp(opt, "bind-addr") && val)
		return cfg_set(c, "BIND_ADDR", val, err, errlen);
	return -ENOENT;
}

bool vp_cfg_url_is_loopback_ws(const char *url)
{
	static const char *const hosts[] = { "127.", "localhost:", "localhost/", "[::1]" };

	if (!url || strncasecmp(url, "ws://", 5))
		return false;
	url += 5;
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		if (!strncasecmp(url, hosts[i], strlen(hosts[i])))
			return true;
	return !strcasecmp(url, "localhost");
}

int vp_cfg_check(const cfg *c, char *err, size_t errlen)
{
	const char *key = cfg_str(c, "OPENAI_API_KEY");
	const char *url = cfg_str(c, "OPENAI_REALTIME_URL");

	if ((!key || !*key) && !vp_cfg_url_is_loopback_ws(url)) {
		snprintf(err, errlen, "config: OPENAI_API_KEY is required");
		return -EINVAL;
	}
	if (cfg_check_range(c, "DASHBOARD_RETRY_MIN_MS", "DASHBOARD_RETRY_MAX_MS", err, errlen) < 0)
		return -EINVAL;
	if (url && !strncasecmp(url, "ws://", 5) && !vp_cfg_url_is_loopback_ws(url)) {
		snprintf(err, errlen,
			 "config: OPENAI_REALTIME_URL: ws:// (no TLS) is only allowed to a loopback host");
		return -EINVAL;
	}
	return 0;
}
