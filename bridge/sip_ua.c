/* sip_ua: su_root + nua lifecycle, event dispatch and the shutdown drain
 * (see sip_ua.h). Per-call logic lives in sip_call.c / sip_reinvite.c,
 * registration in reg.c. */
#include "sip_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define SHUTDOWN_NUA_TIMEOUT_MS 8000 /* nua_shutdown may wait for BYE answers */

static void ua_check_drain(sipua *ua);

static void ua_callback(nua_event_t event, int status, char const *phrase, nua_t *nua, void *magic,
			nua_handle_t *nh, void *hmagic, sip_t const *sip, tagi_t tags[])
{
	sipua *ua = magic;
	sipcall *c = NULL;

	(void)nua;
	if (ua->reg && nh && reg_owns(ua->reg, nh)) {
		if (event == nua_r_register || event == nua_r_unregister)
			reg_on_response(ua->reg, event, status, phrase, nh, sip);
		ua_check_drain(ua);
		return;
	}
	if (nh && hmagic)
		c = hmagic;
	switch (event) {
	case nua_i_invite:
		if (c)
			sipcall_on_reinvite(c, sip);
		else
			sipcall_on_invite(ua, nh, sip);
		break;
	case nua_i_state:
		if (c)
			sipcall_on_state(ua, c, nh, status, tags);
		break;
	case nua_i_ack:
		if (c)
			sipcall_on_ack(c, sip);
		break;
	case nua_i_bye:
		if (c)
			log_info(c->cid, "sip: BYE from the caller");
		break;
	case nua_i_cancel:
		if (c)
			log_info(c->cid, "sip: CANCEL from the caller");
		break;
	case nua_r_bye:
		if (c)
			log_debug(c->cid, "sip: BYE answered %d %s", status, phrase ? phrase : "");
		break;
	case nua_r_shutdown:
		log_debug("-", "sip: shutdown %d %s", status, phrase ? phrase : "");
		if (status >= 200) {
			ua->shutdown_done = true;
			su_root_break(ua->root);
		}
		break;
	case nua_i_error:
		log_warn(c ? c->cid : "-", "sip: stack error %d %s", status, phrase ? phrase : "");
		break;
	case nua_i_options:
		log_debug("-", "sip: OPTIONS answered %d", status);
		/* handles of out-of-dialog requests are not kept */
		__attribute__((fallthrough));
	case nua_i_message:
	case nua_i_info:
	case nua_i_refer:
	case nua_i_subscribe:
	case nua_i_notify:
	case nua_i_publish:
	case nua_i_update:
	case nua_i_register:
		if (nh && !c)
			nua_handle_destroy(nh);
		break;
	default:
		if (status >= 300 && event >= nua_r_set_params)
			log_debug(c ? c->cid : "-", "sip: %s: %d %s", nua_event_name(event), status,
				  phrase ? phrase : "");
		break;
	}
}

static void ua_grace_expired(void *magic, su_timer_t *t, void *arg)
{
	sipua *ua = arg;
	(void)magic;
	(void)t;
	if (ua->ncalls)
		log_warn("-", "sip: shutdown grace over with %u call(s) not fully ended", ua->ncalls);
	ua->grace_over = true; /* stop waiting; leftovers are freed in sipua_destroy */
	ua_check_drain(ua);
}

static void ua_nua_timeout(void *magic, su_timer_t *t, void *arg)
{
	sipua *ua = arg;
	(void)magic;
	(void)t;
	log_warn("-", "sip: stack shutdown did not complete in %d ms", SHUTDOWN_NUA_TIMEOUT_MS);
	su_root_break(ua->root);
}

static void ua_check_drain(sipua *ua)
{
	if (!ua->stopping || ua->shutdown_sent)
		return;
	if (!ua->grace_over && (ua->ncalls > 0 || (ua->reg && !reg_stopped(ua->reg))))
		return;
	ua->shutdown_sent = true;
	log_info("-", "sip: calls ended; stopping the SIP stack");
	if (ua->grace_timer)
		su_timer_destroy(ua->grace_timer);
	ua->grace_timer = su_timer_create(su_root_task(ua->root), SHUTDOWN_NUA_TIMEOUT_MS);
	if (ua->grace_timer)
		su_timer_set(ua->grace_timer, ua_nua_timeout, ua);
	nua_shutdown(ua->nua);
}

static void ua_begin_stop(sipua *ua)
{
	ua->stopping = true;
	log_info("-", "sip: stopping: new calls get 503, ending %u live call(s) (grace %d ms)", ua->ncalls,
		 ua->cfg->shutdown_grace_ms);
	for (sipcall *c = ua->calls; c; c = c->next)
		sipcall_end(c, "bridge shutting down");
	if (ua->reg)
		reg_stop(ua->reg);
	ua->grace_timer = su_timer_create(su_root_task(ua->root), (su_duration_t)ua->cfg->shutdown_grace_ms);
	if (ua->grace_timer)
		su_timer_set(ua->grace_timer, ua_grace_expired, ua);
	ua_check_drain(ua);
}

void sipua_call_gone(sipua *ua)
{
	ua_check_drain(ua);
}

/* Runs on the SIP thread for every queued item (and once per wakeup with ev 0). */
static void ua_on_queue(uint64_t key, int ev, const char *reason, void *arg)
{
	sipua *ua = arg;

	if (ev)
		sipcall_on_media(ua, key, (media_event)ev, reason);
	else
		sip_policy_poll(ua);
	if (ua->stop_req && !ua->stopping)
		ua_begin_stop(ua);
}

void sipua_media_event(uint64_t key, media_event ev, const char *reason, void *arg)
{
	sipua *ua = arg;
	evq_push(ua->q, key, (int)ev, reason);
}

void sipua_stop(sipua *ua)
{
	ua->stop_req = 1;
	evq_kick(ua->q);
}

void sipua_set_media(sipua *ua, media *m)
{
	ua->m = m;
}

/* "sip:HOST:PORT" for the transport; with PUBLIC_IP, maddr= is where we
 * bind and the host part is what Contact and Via advertise. */
static void ua_url(const sb_config *conf, char *buf, size_t cap)
{
	const char *bind = conf->bind_addr;
	bool v6b = strchr(bind, ':') != NULL;

	if (conf->public_ip) {
		bool v6p = strchr(conf->public_ip, ':') != NULL;
		snprintf(buf, cap, "sip:%s%s%s:%d;maddr=%s", v6p ? "[" : "", conf->public_ip, v6p ? "]" : "",
			 conf->sip_port, bind);
	} else {
		snprintf(buf, cap, "sip:%s%s%s:%d", v6b ? "[" : "", bind, v6b ? "]" : "", conf->sip_port);
	}
}

int sipua_new(sipua **out, const sb_config *conf)
{
	sipua *ua;
	char url[256];
	int rc = -ENOMEM;

	*out = NULL;
	if (su_init() != 0)
		return -EIO;
	ua = calloc(1, sizeof(*ua));
	if (!ua) {
		su_deinit();
		return -ENOMEM;
	}
	ua->cfg = conf;
	ua->next_key = 1;
	if (conf->invite_rate > 0 &&
	    (rc = sb_rate_new(&ua->rate, conf->invite_rate, 2.0 * conf->invite_rate, 4096)) < 0)
		goto out;
	ua->root = su_root_create(ua);
	if (!ua->root) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = evq_new(&ua->q, ua->root, ua_on_queue, ua)) < 0)
		goto out;
	if ((rc = sip_policy_init(ua)) < 0)
		goto out;
	ua_url(conf, url, sizeof(url));
	ua->nua = nua_create(ua->root, ua_callback, ua,
			     NUTAG_URL(url),
			     NUTAG_MEDIA_ENABLE(0),
			     NUTAG_AUTOALERT(0),
			     NUTAG_AUTOANSWER(0),
			     /* SIPTAG_ALLOW_STR replaces nua's default Allow set (NUTAG_ALLOW
			      * only adds to it): REFER/SUBSCRIBE/NOTIFY/MESSAGE/PUBLISH get 405
			      * before any handle exists. An accepted out-of-dialog REFER made
			      * nua start an implicit subscription whose failed NOTIFY freed
			      * the handle twice (sec_garbage.sh reproduces it). */
			     SIPTAG_ALLOW_STR("INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE"),
			     NUTAG_ENABLEMESSAGE(0),
			     NUTAG_ENABLEINVITE(1),
			     SIPTAG_USER_AGENT_STR(SB_USER_AGENT),
			     TAG_END());
	if (!ua->nua) {
		log_err("-", "sip: cannot listen on %s (port %d in use or address not local?)", url, conf->sip_port);
		rc = -EADDRINUSE;
		goto out;
	}
	log_info("-", "sip: listening on %s (udp, tcp)", url);
	if (conf->sip_username && (rc = reg_new(&ua->reg, ua)) < 0)
		goto out;
	*out = ua;
	return 0;
out:
	sipua_destroy(ua);
	return rc;
}

int sipua_run(sipua *ua)
{
	su_root_run(ua->root);
	log_info("-", "sip: stopped (invites=%lu busy=%lu no_codec=%lu bad_sdp=%lu forbidden=%lu rate_limited=%lu media_fail=%lu no_fd=%lu refused_stopping=%lu)",
		 ua->n_invites, ua->n_busy, ua->n_no_codec, ua->n_bad_sdp, ua->n_forbidden, ua->n_rate_limited,
		 ua->n_media_fail, ua->n_no_fd, ua->n_refused_stopping);
	return 0;
}

void sipua_destroy(sipua *ua)
{
	if (!ua)
		return;
	sipcall_free_all(ua);
	reg_destroy(ua->reg);
	ua->reg = NULL;
	if (ua->grace_timer)
		su_timer_destroy(ua->grace_timer);
	if (ua->nua) {
		if (ua->shutdown_done)
			nua_destroy(ua->nua);
		else
			log_warn("-", "sip: stack not shut down cleanly; leaving it to process exit");
	}
	evq_destroy(ua->q);
	if (ua->root)
		su_root_destroy(ua->root);
	sip_policy_destroy(ua);
	sb_rate_destroy(ua->rate);
	free(ua);
	su_deinit();
}
