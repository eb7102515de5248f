/* sb_config: sipbridge's settings (DESIGN.md "Configuration"): the cfg_var
 * table, the CLI (every variable's flag plus --rtp-ports MIN-MAX and the
 * repeatable --param k=v), and the typed view the rest of the bridge uses.
 * Loading order: .env (ENV_FILE or ./.env) < environment < flags. */
#ifndef VX_SB_CONFIG_H
#define VX_SB_CONFIG_H
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "media.h"

#define SB_VERSION "sipbridge 0.1.0"
/* User-Agent on the wire (requests and answers): no version, so that svmap
 * and other scanners cannot match it against known flaws (docs/security.md).
 * --version and the start-up log line still say which build runs. */
#define SB_USER_AGENT "VoixIA"
/* customParameters hold TW_MAX_PARAMS pairs; media adds from, to, sipCallId. */
#define SB_MAX_PARAMS 21

typedef struct sb_config {
	const char *sip_username;   /* NULL = gateway mode (no REGISTER) */
	const char *sip_password;   /* secret: never logged */
	const char *sip_domain;     /* registrar host[:port] */
	int sip_port;
	const char *bind_addr;
	const char *public_ip;      /* NULL = auto */
	int rtp_min, rtp_max;
	const char *ws_url;
	const char *stream_token;   /* secret */
	const char *allowed_sources; /* CIDR list or "any", NULL = default policy (sb_policy.h) */
	const char *sip_gateway;    /* SIP_GATEWAY as given (hosts, addresses, CIDRs) */
	char gateway_addrs[1024];   /* SIP_GATEWAY resolved at load: addresses and CIDRs */
	int max_calls;
	int invite_rate;            /* per source and second, 0 = unlimited */
	int reg_expires;            /* seconds asked in REGISTER */
	int answer_timeout;         /* seconds to wait for the stream before 503 */
	int shutdown_grace_ms;      /* ms live calls get at SIGTERM */
	int log_level;              /* log_level */
	size_t nparams;
	char params[MEDIA_KV_MAX][2][256]; /* --param k=v, in order */
} sb_config;

/* Parse env/.env/argv into *out. Returns 0 ok, 1 when --help/--version was
 * printed (exit 0), negative after printing one line to stderr (exit 2).
 * *store keeps the strings alive: destroy it with sb_config_free. */
int sb_config_load(sb_config *out, cfg **store, int argc, char **argv);
void sb_config_free(cfg *store);
/* The cfg_var table (for .env.example generation and tests). */
const cfg_var *sb_config_table(size_t *n);
#endif
