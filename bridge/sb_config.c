/* sb_config: sipbridge's variable table and CLI (see sb_config.h). */
#include "sb_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "sb_acl.h"
#include "sb_dns.h"
#include "sb_policy.h"

#define PARAMS "PARAMS"

static const cfg_var sb_vars[] = {
	{ "SIP_USERNAME", NULL, "sip-username", CFG_STR, NULL, 0, 0, 0, NULL,
	  "trunk account user; with SIP_PASSWORD and SIP_DOMAIN the bridge REGISTERs (none = gateway mode)" },
	{ "SIP_PASSWORD", NULL, "sip-password", CFG_STR, NULL, 0, 0, CFG_SECRET, NULL,
	  "trunk account password (digest auth; never logged)" },
	{ "SIP_DOMAIN", "SIP_SERVER", "sip-domain", CFG_STR, NULL, 0, 0, 0, NULL,
	  "registrar host[:port]" },
	{ "SIP_PORT", NULL, "sip-port", CFG_PORT, "5060", 1, 65535, 0, NULL,
	  "local SIP port (UDP and TCP)" },
	{ "BIND_ADDR", NULL, "bind", CFG_STR, "0.0.0.0", 0, 0, 0, NULL,
	  "local address for SIP and RTP" },
	{ "PUBLIC_IP", NULL, "public-ip", CFG_STR, NULL, 0, 0, 0, NULL,
	  "address written in Contact/Via and SDP behind NAT (default: the local address)" },
	{ "RTP_PORT_MIN", NULL, NULL, CFG_PORT, "10000", 1024, 65535, 0, NULL,
	  "lowest RTP port (--rtp-ports MIN-MAX sets both)" },
	{ "RTP_PORT_MAX", NULL, NULL, CFG_PORT, "20000", 1024, 65535, 0, NULL,
	  "highest RTP port" },
	{ "WS_URL", NULL, "ws-url", CFG_URL, "ws://127.0.0.1:5050/media-stream", 0, 0, 0, "ws,wss",
	  "Twilio Media Streams endpoint each call is streamed to" },
	{ "STREAM_TOKEN", NULL, "stream-token", CFG_STR, NULL, 0, 0, CFG_SECRET, NULL,
	  "shared secret sent to voiceproxy as Authorization: Bearer (never logged)" },
	{ "ALLOWED_SOURCES", NULL, "allowed-sources", CFG_STR, NULL, 0, 0, 0, NULL,
	  "comma-separated addresses/CIDRs allowed to send INVITEs, others get 403; \"any\" allows everyone "
	  "(default: the registrar's addresses + loopback when registered, else loopback + SIP_GATEWAY)" },
	{ "SIP_GATEWAY", NULL, "sip-gateway", CFG_STR, NULL, 0, 0, 0, NULL,
	  "gateway(s) allowed to send INVITEs by default, e.g. the HT841's address (hosts, addresses or CIDRs, "
	  "comma-separated)" },
	{ "MAX_CALLS", NULL, "max-calls", CFG_INT, "500", 1, 100000, 0, NULL,
	  "simultaneous calls; beyond it INVITEs get 486" },
	{ "MAX_INVITE_RATE", NULL, "max-invite-rate", CFG_INT, "30", 0, 100000, 0, NULL,
	  "INVITEs per second accepted from one source address, burst twice that; more get 503 "
	  "(0 = no limit, e.g. for load tests from one host)" },
	{ "SIP_REGISTER_EXPIRES", NULL, "register-expires", CFG_INT, "600", 60, 86400, 0, NULL,
	  "REGISTER expiry asked of the registrar (seconds; refreshed before it)" },
	{ "ANSWER_TIMEOUT", NULL, "answer-timeout", CFG_INT, "10", 1, 120, 0, NULL,
	  "seconds to wait for the stream to open before answering 503" },
	{ "SHUTDOWN_GRACE_MS", NULL, "shutdown-grace-ms", CFG_INT, "5000", 0, 3600000, 0, NULL,
	  "milliseconds live calls get to end (BYE, stop) at SIGINT/SIGTERM (same name as voiceproxy's)" },
	{ "LOG_LEVEL", NULL, "log-level", CFG_LEVEL, "info", 0, 0, 0, NULL,
	  "error, warn, info or debug" },
	{ PARAMS, NULL, "param", CFG_KV, NULL, 0, 0, 0, NULL,
	  "k=v added to start.customParameters (repeatable, e.g. --param restaurantId=pizza-napoli)" },
};

static const char *const sb_extra[] = { "rtp-ports", NULL };

/* --rtp-ports MIN-MAX sets both table entries (each validated by cfg_set). */
static int sb_extra_opt(cfg *c, const char *opt, const char *val, char *err, size_t errlen, void *arg)
{
	char lo[16], hi[16];
	const char *dash;
	int rc;

	(void)arg;
	if (strcmp(opt, "rtp-ports") != 0)
		return -ENOENT;
	dash = val ? strchr(val, '-') : NULL;
	if (!dash || dash == val || (size_t)(dash - val) >= sizeof(lo) || strlen(dash + 1) >= sizeof(hi) ||
	    !dash[1]) {
		snprintf(err, errlen, "config: --rtp-ports: \"%s\" is not MIN-MAX", val ? val : "");
		return -EINVAL;
	}
	memcpy(lo, val, (size_t)(dash - val));
	lo[dash - val] = '\0';
	memcpy(hi, dash + 1, strlen(dash + 1) + 1); /* fits: checked above */
	if ((rc = cfg_set(c, "RTP_PORT_MIN", lo, err, errlen)) < 0)
		return rc;
	return cfg_set(c, "RTP_PORT_MAX", hi, err, errlen);
}

static const char usage_head[] =
	"Usage: sipbridge [options]   (also main-sipbridge)\n"
	"Answers SIP calls (trunk registration or gateway) and streams each one\n"
	"to WS_URL as a Twilio Media Stream. Every option has an environment /\n"
	".env variable of the same meaning; flags win.\n"
	"  --rtp-ports MIN-MAX   RTP port range (RTP_PORT_MIN/RTP_PORT_MAX)\n"
	"Example: main-sipbridge --sip-username 33491234567 --sip-password s3cr3t \\\n"
	"           --sip-domain sip.trunk.com --param restaurantId=pizza-napoli\n";

static const char *nonempty(const cfg *c, const char *name)
{
	const char *s = cfg_str(c, name);
	return s && *s ? s : NULL;
}

/* A resolved address list must parse; the error names the variable. */
static int check_list(const char *list, const char *what, char *err, size_t errlen)
{
	sb_acl *acl = NULL;
	char e[200];
	int rc = sb_acl_parse(&acl, list, e, sizeof(e));

	sb_acl_destroy(acl);
	if (rc < 0) {
		const char *why = strstr(e, ": \"");
		snprintf(err, errlen, "config: %s%s", what, why ? why : ": invalid entry");
	}
	return rc;
}

static int fill(sb_config *o, const cfg *c)
{
	char err[256];
	int rc;

	memset(o, 0, sizeof(*o));
	o->sip_username = nonempty(c, "SIP_USERNAME");
	o->sip_password = nonempty(c, "SIP_PASSWORD");
	o->sip_domain = nonempty(c, "SIP_DOMAIN");
	o->sip_port = (int)cfg_int(c, "SIP_PORT");
	o->bind_addr = nonempty(c, "BIND_ADDR");
	o->public_ip = nonempty(c, "PUBLIC_IP");
	o->rtp_min = (int)cfg_int(c, "RTP_PORT_MIN");
	o->rtp_max = (int)cfg_int(c, "RTP_PORT_MAX");
	o->ws_url = nonempty(c, "WS_URL");
	o->stream_token = nonempty(c, "STREAM_TOKEN");
	o->allowed_sources = nonempty(c, "ALLOWED_SOURCES");
	o->max_calls = (int)cfg_int(c, "MAX_CALLS");
	o->reg_expires = (int)cfg_int(c, "SIP_REGISTER_EXPIRES");
	o->invite_rate = (int)cfg_int(c, "MAX_INVITE_RATE");
	o->answer_timeout = (int)cfg_int(c, "ANSWER_TIMEOUT");
	o->shutdown_grace_ms = (int)cfg_int(c, "SHUTDOWN_GRACE_MS");
	o->log_level = LOGL_INFO;
	if (nonempty(c, "LOG_LEVEL")) {
		log_level l;
		if (log_level_parse(cfg_str(c, "LOG_LEVEL"), &l) == 0)
			o->log_level = (int)l;
	}
	if (!o->bind_addr)
		o->bind_addr = "0.0.0.0";
	if ((rc = cfg_check_range(c, "RTP_PORT_MIN", "RTP_PORT_MAX", err, sizeof(err))) < 0) {
		fprintf(stderr, "%s\n", err);
		return rc;
	}
	/* Credentials come as a set: half of them is a mistake, not gateway mode. */
	if ((o->sip_username || o->sip_password) && !(o->sip_username && o->sip_password && o->sip_domain)) {
		fprintf(stderr, "config: SIP_USERNAME, SIP_PASSWORD and SIP_DOMAIN must be set together (missing %s)\n",
			!o->sip_username ? "SIP_USERNAME" : !o->sip_password ? "SIP_PASSWORD" : "SIP_DOMAIN");
		return -EINVAL;
	}
	o->sip_gateway = nonempty(c, "SIP_GATEWAY");
	if (o->sip_gateway &&
	    ((rc = sb_dns_expand(o->sip_gateway, "SIP_GATEWAY", o->gateway_addrs, sizeof(o->gateway_addrs), err,
				 sizeof(err))) < 0 ||
	     (rc = check_list(o->gateway_addrs, "SIP_GATEWAY", err, sizeof(err))) < 0)) {
		fprintf(stderr, "%s\n", err);
		return rc;
	}
	if (o->allowed_sources) {
		sb_policy_in in = { .allowed = o->allowed_sources };
		sb_acl *acl = NULL;
		bool open, warn;
		char desc[64];
		rc = sb_policy_build(&acl, &open, &warn, &in, desc, sizeof(desc), err, sizeof(err));
		sb_acl_destroy(acl);
		if (rc < 0) {
			fprintf(stderr, "%s\n", err);
			return rc;
		}
	}
	o->nparams = cfg_kv_count(c, PARAMS);
	if (o->nparams > SB_MAX_PARAMS) {
		fprintf(stderr, "config: PARAMS: at most %d --param pairs (got %zu)\n", SB_MAX_PARAMS, o->nparams);
		return -EINVAL;
	}
	for (size_t i = 0; i < o->nparams; i++) {
		const char *k, *v;
		size_t kl, vl;
		if (cfg_kv_get(c, PARAMS, i, &k, &v) < 0 || !k || !*k)
			return -EINVAL;
		if (!v)
			v = "";
		kl = strlen(k);
		vl = strlen(v);
		if (kl >= sizeof(o->params[i][0]) || vl >= sizeof(o->params[i][1])) {
			fprintf(stderr, "config: --param %s: key or value too long (max 255)\n", k);
			return -EINVAL;
		}
		memcpy(o->params[i][0], k, kl + 1);
		memcpy(o->params[i][1], v, vl + 1);
	}
	return 0;
}

int sb_config_load(sb_config *out, cfg **store, int argc, char **argv)
{
	cfg *c = NULL;
	int rc;

	*store = NULL;
	rc = cfg_new(&c, sb_vars, VX_ARRAY_LEN(sb_vars));
	if (rc < 0) {
		fprintf(stderr, "config: out of memory\n");
		return rc;
	}
	rc = cfg_load(c, argc, argv, sb_extra, sb_extra_opt, NULL, usage_head, SB_VERSION);
	if (rc != 0)
		goto out;
	rc = fill(out, c);
out:
	if (rc != 0) {
		cfg_destroy(c);
		return rc;
	}
	*store = c;
	return 0;
}

void sb_config_free(cfg *store)
{
	cfg_destroy(store);
}

const cfg_var *sb_config_table(size_t *n)
{
	*n = VX_ARRAY_LEN(sb_vars);
	return sb_vars;
}
