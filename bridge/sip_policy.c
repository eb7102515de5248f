/* sip_policy: the INVITE source policy on the SIP thread. The list itself
 * is built by sb_policy (pure); this file feeds it the registrar's
 * addresses (looked up off-thread by sb_dns at start and at every
 * successful registration or refresh), logs the effective policy once at
 * start and again only when it changes, and refuses the others with 403,
 * counted, with at most one log line per second per source and
 * SIP_DENY_LOG_MAX per second overall (a scan must not flood the log). */
#include "sip_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "sb_policy.h"

#define SIP_DENY_LOG_MAX 10

static bool is_literal(const char *host)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static void kick(void *arg)
{
	evq_kick(arg);
}

/* Rebuild the allow-list from the configuration and ua->reg_addrs. */
static int rebuild(sipua *ua, bool at_start)
{
	const sb_config *conf = ua->cfg;
	sb_policy_in in = {
		.allowed = conf->allowed_sources,
		.gateway = conf->gateway_addrs[0] ? conf->gateway_addrs : NULL,
		.registered = conf->sip_username != NULL,
		.registrar_host = ua->reg_host,
		.registrar_addrs = ua->reg_addrs,
	};
	char desc[1536], err[256];
	sb_acl *acl = NULL;
	bool open, warn;
	int rc;

	rc = sb_policy_build(&acl, &open, &warn, &in, desc, sizeof(desc), err, sizeof(err));
	if (rc < 0) {
		log_err("-", "sip: source policy: %s", err);
		return rc;
	}
	sb_acl_destroy(ua->acl);
	ua->acl = acl;
	ua->acl_open = open;
	if (warn)
		log_warn("-", "sip: INVITEs accepted from %s: open to the internet, use only behind a firewall", desc);
	else
		log_info("-", "sip: INVITEs %saccepted from %s; others get 403", at_start ? "" : "now ", desc);
	return 0;
}

int sip_policy_init(sipua *ua)
{
	const sb_config *conf = ua->cfg;
	int rc;

	if ((rc = sb_rate_new(&ua->deny_log, 1.0, 1.0, 1024)) < 0)
		return rc;
	if (conf->sip_username && !conf->allowed_sources) {
		if (sb_dns_host_of(conf->sip_domain, ua->reg_host, sizeof(ua->reg_host)) < 0) {
			log_err("-", "sip: SIP_DOMAIN \"%s\" has no usable host part", conf->sip_domain);
			return -EINVAL;
		}
		/* A literal needs no DNS: in force before the first INVITE. Names
		 * are looked up off-thread (the SIP loop never waits on DNS). */
		if (!is_literal(ua->reg_host) || sb_dns_resolve(ua->reg_host, ua->reg_addrs, sizeof(ua->reg_addrs)) < 0)
			ua->reg_addrs[0] = '\0';
		if ((rc = sb_dns_new(&ua->dns, kick, ua->q)) < 0)
			return rc;
		if (!ua->reg_addrs[0])
			sip_policy_refresh(ua);
	}
	return rebuild(ua, true);
}

void sip_policy_destroy(sipua *ua)
{
	sb_dns_destroy(ua->dns);
	ua->dns = NULL;
	sb_rate_destroy(ua->deny_log);
	ua->deny_log = NULL;
	sb_acl_destroy(ua->acl);
	ua->acl = NULL;
}

void sip_policy_refresh(sipua *ua)
{
	int rc;

	if (!ua->dns)
		return;
	rc = sb_dns_start(ua->dns, ua->reg_host);
	if (rc < 0 && rc != -EBUSY)
		log_warn("-", "sip: cannot look up registrar %s (%d); keeping its known addresses", ua->reg_host, rc);
}

void sip_policy_poll(sipua *ua)
{
	char addrs[sizeof(ua->reg_addrs)], old[sizeof(ua->reg_addrs)];
	int rc = sb_dns_take(ua->dns, addrs, sizeof(addrs));

	if (rc == 0)
		return;
	if (rc < 0) {
		log_warn("-", "sip: registrar %s not resolved (%s); INVITEs still accepted from %s", ua->reg_host,
			 addrs, ua->reg_addrs[0] ? ua->reg_addrs : "loopback only");
		return;
	}
	if (strcmp(addrs, ua->reg_addrs) == 0) {
		log_debug("-", "sip: registrar %s still at %s", ua->reg_host, addrs);
		return;
	}
	memcpy(old, ua->reg_addrs, sizeof(old));
	memcpy(ua->reg_addrs, addrs, sizeof(ua->reg_addrs));
	if (rebuild(ua, false) < 0)
		memcpy(ua->reg_addrs, old, sizeof(ua->reg_addrs)); /* the previous list stays in force */
}

bool sip_policy_allows(sipua *ua, const su_addrinfo_t *ai, const char *cid, const char *src)
{
	uint64_t now;

	if (ua->acl_open || (ai && ai->ai_addr && sb_acl_match(ua->acl, ai->ai_addr)))
		return true;
	ua->n_forbidden++;
	now = sip_now_ms();
	if (now - ua->deny_win_ms >= 1000) {
		ua->deny_win_ms = now;
		ua->deny_win_n = 0;
	}
	if (ua->deny_win_n < SIP_DENY_LOG_MAX && (!ai || !ai->ai_addr || sb_rate_allow(ua->deny_log, ai->ai_addr, now))) {
		ua->deny_win_n++;
		log_warn(cid, "sip: INVITE from %s not in ALLOWED_SOURCES -> 403 (%lu refused so far)", src,
			 ua->n_forbidden);
	}
	return false;
}
