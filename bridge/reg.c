/* reg: trunk registration with digest auth (see reg.h). */
#include "sip_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/url.h>

#include "log.h"
#include "reg.h"

struct reg {
	sipua *ua;
	nua_handle_t *nh;
	su_timer_t *timer;    /* retry, or the unregister bound at shutdown */
	char aor[320], registrar[300], expires[16];
	int backoff;          /* next retry delay, seconds */
	int auth_tries;       /* challenges answered since the last success */
	unsigned failures;
	bool registered, stopping, stopped;
};

static void reg_send(reg *r);

static void reg_timer_clear(reg *r)
{
	if (r->timer) {
		su_timer_destroy(r->timer);
		r->timer = NULL;
	}
}

static void reg_retry_cb(void *magic, su_timer_t *t, void *arg)
{
	reg *r = arg;
	(void)magic;
	(void)t;
	reg_timer_clear(r);
	if (!r->stopping)
		reg_send(r);
}

static void reg_schedule_retry(reg *r, int status, const char *phrase, const char *why)
{
	int delay = r->backoff ? r->backoff : REG_BACKOFF_MIN;

	r->registered = false;
	r->failures++;
	log_err("-", "register: %s at %s: %d %s%s; retry in %d s (failure %u)", r->aor, r->registrar, status,
		phrase ? phrase : "", why, delay, r->failures);
	r->backoff = delay * 2 > REG_BACKOFF_MAX ? REG_BACKOFF_MAX : delay * 2;
	reg_timer_clear(r);
	r->timer = su_timer_create(su_root_task(r->ua->root), (su_duration_t)delay * 1000);
	if (r->timer)
		su_timer_set(r->timer, reg_retry_cb, r);
}

/* A fresh handle per attempt: no stale auth or usage state carries over. */
static void reg_send(reg *r)
{
	const sb_config *conf = r->ua->cfg;

	if (r->nh) {
		nua_handle_bind(r->nh, NULL);
		nua_handle_destroy(r->nh);
	}
	r->auth_tries = 0;
	r->nh = nua_handle(r->ua->nua, r, SIPTAG_TO_STR(r->aor), SIPTAG_FROM_STR(r->aor), TAG_END());
	if (!r->nh) {
		reg_schedule_retry(r, 500, "no memory", "");
		return;
	}
	log_info("-", "register: sending REGISTER for %s to %s", r->aor, r->registrar);
	nua_register(r->nh, NUTAG_REGISTRAR(URL_STRING_MAKE(r->registrar)),
		     NUTAG_M_USERNAME(conf->sip_username),
		     NUTAG_OUTBOUND("no-validate no-options-keepalive"),
		     SIPTAG_EXPIRES_STR(r->expires), TAG_END());
}

/* "Digest:\"realm\":user:pass" for nua_authenticate from the challenge. */
static int reg_auth(reg *r, const sip_t *sip)
{
	const msg_auth_t *au = sip ? (sip->sip_www_authenticate ? sip->sip_www_authenticate
								 : sip->sip_proxy_authenticate)
				   : NULL;
	const char *realm;
	char *cred;
	size_t len;

	if (!au || !au->au_scheme)
		return -EPROTO;
	realm = msg_params_find(au->au_params, "realm=");
	if (!realm)
		return -EPROTO;
	len = strlen(au->au_scheme) + strlen(realm) + strlen(r->ua->cfg->sip_username) +
	      strlen(r->ua->cfg->sip_password) + 8;
	cred = malloc(len);
	if (!cred)
		return -ENOMEM;
	snprintf(cred, len, "%s:%s%s%s:%s:%s", au->au_scheme, realm[0] == '"' ? "" : "\"", realm,
		 realm[0] == '"' ? "" : "\"", r->ua->cfg->sip_username, r->ua->cfg->sip_password);
	nua_authenticate(r->nh, NUTAG_AUTH(cred), TAG_END());
	memset(cred, 0, len); /* the password does not linger in the heap */
	free(cred);
	return 0;
}

void reg_on_response(reg *r, nua_event_t ev, int status, const char *phrase, nua_handle_t *nh, const sip_t *sip)
{
	if (nh != r->nh || status < 200)
		return;
	if (ev == nua_r_unregister) {
		log_info("-", "register: unregistered %s (%d %s)", r->aor, status, phrase ? phrase : "");
		r->registered = false;
		r->stopped = true;
		reg_timer_clear(r);
		return;
	}
	if (r->stopping)
		return;
	if (status < 300) {
		unsigned exp = sip && sip->sip_contact && sip->sip_contact->m_expires
				       ? (unsigned)strtoul(sip->sip_contact->m_expires, NULL, 10)
				       : sip && sip->sip_expires ? (unsigned)sip->sip_expires->ex_delta : 0;
		if (!r->registered)
			log_info("-", "register: registered %s at %s (expires %u s)", r->aor, r->registrar, exp);
		else
			log_debug("-", "register: refreshed %s (expires %u s)", r->aor, exp);
		r->registered = true;
		sip_policy_refresh(r->ua); /* the registrar's addresses may have moved */
		r->auth_tries = 0;
		r->backoff = 0;
		r->failures = 0;
		return;
	}
	if ((status == 401 || status == 407) && r->auth_tries == 0) {
		r->auth_tries++;
		if (reg_auth(r, sip) == 0)
			return;
		reg_schedule_retry(r, status, phrase, " (challenge without a usable realm)");
		return;
	}
	if (status == 401 || status == 407)
		reg_schedule_retry(r, status, phrase, " - credentials rejected, check SIP_USERNAME/SIP_PASSWORD");
	else if (status == 403)
		reg_schedule_retry(r, status, phrase, " - account refused, check SIP_USERNAME/SIP_DOMAIN");
	else if (status == 408 || status == 503)
		reg_schedule_retry(r, status, phrase, " - registrar unreachable or not answering (SIP_DOMAIN?)");
	else
		reg_schedule_retry(r, status, phrase, "");
}

int reg_new(reg **out, sipua *ua)
{
	const sb_config *conf = ua->cfg;
	reg *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->ua = ua;
	snprintf(r->aor, sizeof(r->aor), "sip:%s@%s", conf->sip_username, conf->sip_domain);
	snprintf(r->registrar, sizeof(r->registrar), "sip:%s", conf->sip_domain);
	snprintf(r->expires, sizeof(r->expires), "%d", conf->reg_expires);
	*out = r;
	reg_send(r);
	return 0;
}

static void reg_stop_timeout(void *magic, su_timer_t *t, void *arg)
{
	reg *r = arg;
	(void)magic;
	(void)t;
	log_warn("-", "register: no answer to the unregistration in %d ms", REG_UNREGISTER_WAIT_MS);
	r->stopped = true;
	reg_timer_clear(r);
	sipua_call_gone(r->ua);
}

void reg_stop(reg *r)
{
	if (!r || r->stopping)
		return;
	r->stopping = true;
	reg_timer_clear(r);
	if (!r->registered || !r->nh) {
		r->stopped = true;
		return;
	}
	nua_unregister(r->nh, TAG_END());
	r->timer = su_timer_create(su_root_task(r->ua->root), REG_UNREGISTER_WAIT_MS);
	if (r->timer)
		su_timer_set(r->timer, reg_stop_timeout, r);
	else
		r->stopped = true;
}

bool reg_stopped(const reg *r)
{
	return !r || r->stopped;
}

bool reg_owns(const reg *r, nua_handle_t *nh)
{
	return r && nh && r->nh == nh;
}

void reg_destroy(reg *r)
{
	if (!r)
		return;
	reg_timer_clear(r);
	if (r->nh)
		nua_handle_bind(r->nh, NULL);
	free(r);
}
