/* sip_call: one incoming call as a state machine on the SIP thread:
 * admission (stopping / source policy / MAX_INVITE_RATE / MAX_CALLS), the SDP offer, the
 * RTP port, the media start, 180 then 200 once the stream is up (or 503),
 * and teardown from either side. A call is freed once both the dialog
 * (nua handle) and the media side (MEDIA_EV_ENDED) are gone. */
#include "sip_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <sofia-sip/msg_addr.h>

#include "fdroom.h"
#include "log.h"

void sipcall_media_params(const sipcall *c, media_params *p)
{
	const sb_config *conf = c->ua->cfg;

	memset(p, 0, sizeof(*p));
	snprintf(p->sip_call_id, sizeof(p->sip_call_id), "%s", c->call_id);
	snprintf(p->from, sizeof(p->from), "%s", c->from);
	snprintf(p->to, sizeof(p->to), "%s", c->to);
	p->rtp_fd = -1;
	p->rtp_port = c->rtp_port;
	p->pt = c->choice.pt;
	p->dtmf_pt = c->choice.dtmf_pt;
	p->hold = c->choice.hold;
	if (c->choice.raddr[0] && c->choice.rport > 0) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&p->remote;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&p->remote;
		if (inet_pton(AF_INET, c->choice.raddr, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)c->choice.rport);
		} else if (inet_pton(AF_INET6, c->choice.raddr, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)c->choice.rport);
		}
	}
	for (size_t i = 0; i < conf->nparams && i < MEDIA_KV_MAX; i++) {
		memcpy(p->params[i], conf->params[i], sizeof(p->params[i]));
		p->nparams++;
	}
}

sipcall *sipcall_find_nh(sipua *ua, nua_handle_t *nh)
{
	for (sipcall *c = ua->calls; c; c = c->next)
		if (c->nh == nh)
			return c;
	return NULL;
}

static sipcall *find_key(sipua *ua, uint64_t key)
{
	for (sipcall *c = ua->calls; c; c = c->next)
		if (c->key == key)
			return c;
	return NULL;
}

static void stop_answer_timer(sipcall *c)
{
	if (c->answer_timer) {
		su_timer_destroy(c->answer_timer);
		c->answer_timer = NULL;
	}
}

static void call_free(sipcall *c)
{
	stop_answer_timer(c);
	free(c);
}

static void maybe_free(sipcall *c)
{
	sipua *ua = c->ua;
	if (c->nh || c->media_on)
		return;
	for (sipcall **pp = &ua->calls; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	ua->ncalls--;
	log_debug(c->cid, "sip: call freed (%u live)", ua->ncalls);
	call_free(c);
	sipua_call_gone(ua);
}

/* Refuse an INVITE we keep no state for. */
static void reject(nua_handle_t *nh, int code, const char *phrase, const char *warning)
{
	nua_respond(nh, code, phrase, TAG_IF(warning, SIPTAG_WARNING_STR(warning)), TAG_END());
	nua_handle_destroy(nh);
}

/* Media always answers media_call_end with ENDED; if it ever does not, the
 * call would hold its MAX_CALLS slot forever: forget it after a bound. */
#define MEDIA_END_WAIT_MS 10000

static void media_end_overdue(void *magic, su_timer_t *t, void *arg)
{
	sipcall *c = arg;
	(void)magic;
	(void)t;
	log_err(c->cid, "sip: media did not report the end of the call in %d ms; forgetting it",
		MEDIA_END_WAIT_MS);
	c->media_on = false;
	maybe_free(c);
}

static void end_media(sipcall *c, const char *why)
{
	if (c->media_on && !c->media_end_sent) {
		c->media_end_sent = true;
		if (media_call_end(c->ua->m, c->key, why) < 0) {
			log_err(c->cid, "sip: media_call_end failed; dropping the media side");
			c->media_on = false;
			return;
		}
		stop_answer_timer(c);
		c->answer_timer = su_timer_create(su_root_task(c->ua->root), MEDIA_END_WAIT_MS);
		if (c->answer_timer)
			su_timer_set(c->answer_timer, media_end_overdue, c);
	}
}

void sipcall_end(sipcall *c, const char *why)
{
	if (!c->media_end_sent)
		stop_answer_timer(c); /* else it is the ENDED bound: keep it */
	end_media(c, why);
	if (!c->nh)
		return;
	if (c->state == SC_WAIT_MEDIA) {
		nua_respond(c->nh, 503, "Service Unavailable", SIPTAG_RETRY_AFTER_STR("30"), TAG_END());
		c->state = SC_ENDING;
	} else if (c->state == SC_ANSWERED && !c->bye_sent) {
		c->bye_sent = true;
		c->state = SC_ENDING;
		nua_bye(c->nh, TAG_END());
		log_info(c->cid, "sip: BYE sent (%s)", why);
	}
}

static void answer_timeout(void *magic, su_timer_t *t, void *arg)
{
	sipcall *c = arg;
	(void)magic;
	(void)t;
	c->ua->n_media_fail++;
	log_warn(c->cid, "sip: stream not ready after %d s -> 503", c->ua->cfg->answer_timeout);
	sipcall_end(c, "stream not ready in time");
}

/* Offer from the INVITE body: 0 usable, or the response code to refuse with. */
static int take_offer(sipua *ua, const sip_t *sip, sdp_choice *ch, bool *delayed, const char *cid)
{
	sdp_session *s;
	const char *body;
	size_t blen;
	char err[160];
	int rc;

	*delayed = !sip->sip_payload || !sip->sip_payload->pl_len;
	if (*delayed) {
		/* Delayed offer: we offer in the 200; media starts as PCMU, remote unknown. */
		memset(ch, 0, sizeof(*ch));
		ch->pt = 0;
		ch->dtmf_pt = 101;
		ch->dir = SDP_SENDRECV;
		return 0;
	}
	if (sip_body_sdp(sip, &body, &blen) < 0) {
		ua->n_bad_sdp++;
		log_warn(cid, "sip: INVITE body (%s) holds no SDP -> 415",
			 sip->sip_content_type && sip->sip_content_type->c_type ? sip->sip_content_type->c_type : "?");
		return 415;
	}
	s = malloc(sizeof(*s));
	if (!s)
		return 500;
	rc = sdp_parse(s, body, blen, err, sizeof(err));
	if (rc < 0) {
		ua->n_bad_sdp++;
		log_warn(cid, "sip: malformed SDP offer (%s) -> 488", err);
		free(s);
		return 488;
	}
	rc = sdp_negotiate(s, ch, err, sizeof(err));
	free(s);
	if (rc < 0) {
		ua->n_no_codec++;
		log_warn(cid, "sip: no common codec (%s) -> 488", err);
		return 488;
	}
	return 0;
}

/* Our SDP for the 200: an answer to the INVITE's offer, or our own offer. */
static int build_sdp(sipcall *c, const sip_t *sip, bool delayed)
{
	sdp_local l = { .addr = c->local_addr, .port = c->rtp_port, .sess_id = c->sess_id, .sess_ver = c->sess_ver };
	sdp_session *s;
	const char *body;
	size_t blen;
	int rc;

	if (delayed)
		return sdp_build_offer(c->answer, sizeof(c->answer), &l);
	if (sip_body_sdp(sip, &body, &blen) < 0)
		return -EBADMSG;
	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	rc = sdp_parse(s, body, blen, NULL, 0);
	if (rc == 0)
		rc = sdp_build_answer(c->answer, sizeof(c->answer), s, &c->choice, &l);
	free(s);
	return rc;
}

/* Descriptors a new call must find free beyond its RTP socket: its WS
 * socket, one per call still opening its stream (their WS sockets may not
 * exist yet), and a margin for the stack (TCP peers, DNS). Refusing here
 * keeps EMFILE away from the stream opening and from live calls. */
#define SIP_FD_MARGIN 8

static unsigned fd_need(const sipua *ua)
{
	unsigned n = 1 + SIP_FD_MARGIN;
	for (const sipcall *c = ua->calls; c; c = c->next)
		if (c->state == SC_WAIT_MEDIA)
			n++;
	return n;
}

static void refuse_no_fd(sipua *ua, nua_handle_t *nh, const char *cid, int rc)
{
	ua->n_no_fd++;
	if (sip_now_ms() - ua->nofd_log_ms >= 1000) { /* one line per second at most */
		ua->nofd_log_ms = sip_now_ms();
		log_err(cid, "sip: out of file descriptors (%s, %u live calls; raise ulimit -n) -> 503 (%lu refused so far)",
			rc == -ENFILE ? "ENFILE" : "EMFILE", ua->ncalls, ua->n_no_fd);
	}
	reject(nh, 503, "Service Unavailable", NULL);
}

void sipcall_on_invite(sipua *ua, nua_handle_t *nh, const sip_t *sip)
{
	char cid[64], src[80], ipbuf[64];
	const char *src_ip = NULL;
	msg_t *msg = nua_current_request(ua->nua);
	su_addrinfo_t *ai = msg ? msg_addrinfo(msg) : NULL;
	sdp_choice ch;
	sipcall *c = NULL;
	media_params *mp = NULL;
	bool delayed, listed = false;
	int fd = -1, port = 0, code, rc;

	ua->n_invites++;
	sip_sanitize(cid, sizeof(cid), sip && sip->sip_call_id ? sip->sip_call_id->i_id : NULL);
	sip_describe_src(src, sizeof(src), ai, &src_ip, ipbuf, sizeof(ipbuf));
	if (!sip) {
		reject(nh, 400, "Bad Request", NULL);
		return;
	}
	if (ua->stopping) {
		ua->n_refused_stopping++;
		log_info(cid, "sip: INVITE from %s refused: shutting down -> 503", src);
		reject(nh, 503, "Service Unavailable", NULL);
		return;
	}
	if (!sip_policy_allows(ua, ai, cid, src)) {
		reject(nh, 403, "Forbidden", NULL);
		return;
	}
	if (ua->rate && ai && !sb_rate_allow(ua->rate, ai->ai_addr, sip_now_ms())) {
		ua->n_rate_limited++;
		if (sip_now_ms() - ua->rate_log_ms >= 1000) { /* a flood must not flood the log too */
			ua->rate_log_ms = sip_now_ms();
			log_warn(cid, "sip: INVITE flood from %s: over MAX_INVITE_RATE=%d/s -> 503 (%lu refused so far)",
				 src, ua->cfg->invite_rate, ua->n_rate_limited);
		}
		reject(nh, 503, "Service Unavailable", NULL);
		return;
	}
	if (ua->ncalls >= (unsigned)ua->cfg->max_calls) {
		ua->n_busy++;
		log_warn(cid, "sip: INVITE from %s refused: MAX_CALLS=%d reached -> 486", src, ua->cfg->max_calls);
		reject(nh, 486, "Busy Here", NULL);
		return;
	}
	code = take_offer(ua, sip, &ch, &delayed, cid);
	if (code) {
		reject(nh, code, code == 488 ? "Not Acceptable Here" : code == 415 ? "Unsupported Media Type"
										  : "Server Internal Error",
		       code == 488 ? "399 voixia \"PCMU or PCMA over RTP/AVP required\"" : NULL);
		return;
	}
	rc = rtp_sock_alloc(&fd, &port);
	if (rc == 0 && (rc = fdroom_check(fd, fd_need(ua))) < 0)
		rtp_sock_free(fd, port);
	if (rc == -EMFILE || rc == -ENFILE) {
		refuse_no_fd(ua, nh, cid, rc);
		return;
	}
	if (rc < 0) {
		ua->n_media_fail++;
		log_err(cid, "sip: no RTP port free (%d) -> 503", rc);
		reject(nh, 503, "Service Unavailable", NULL);
		return;
	}
	c = calloc(1, sizeof(*c));
	mp = malloc(sizeof(*mp));
	if (!c || !mp) {
		rtp_sock_free(fd, port);
		reject(nh, 500, "Server Internal Error", NULL);
		goto out;
	}
	c->ua = ua;
	c->key = ua->next_key++;
	c->nh = nh;
	c->state = SC_WAIT_MEDIA;
	c->rtp_port = port;
	c->choice = ch;
	c->await_ack_answer = delayed;
	snprintf(c->cid, sizeof(c->cid), "%s", cid);
	snprintf(c->call_id, sizeof(c->call_id), "%s", sip->sip_call_id ? sip->sip_call_id->i_id : "");
	sip_url_who(c->from, sizeof(c->from), sip->sip_from);
	sip_url_who(c->to, sizeof(c->to), sip->sip_to);
	if (getrandom(&c->sess_id, sizeof(c->sess_id), 0) != sizeof(c->sess_id))
		c->sess_id = c->key;
	c->sess_id &= 0x7fffffffffffffffULL; /* o= wants a number many parsers read as signed */
	c->sess_ver = 1;
	sip_pick_local_addr(ua, c, ch.raddr[0] ? ch.raddr : src_ip);
	if (build_sdp(c, sip, delayed) < 0) {
		rtp_sock_free(fd, port);
		log_err(cid, "sip: cannot build our SDP -> 500");
		reject(nh, 500, "Server Internal Error", NULL);
		goto out;
	}
	nua_handle_bind(nh, c);
	c->next = ua->calls;
	ua->calls = c;
	ua->ncalls++;
	listed = true;
	log_info(cid, "sip: INVITE from %s (%s -> %s): %s%s, rtp %s:%d -> %s:%d%s", src, c->from, c->to,
		 ch.pt ? "PCMA" : "PCMU", ch.dtmf_pt >= 0 ? "+telephone-event" : "", c->local_addr, port,
		 ch.raddr[0] ? ch.raddr : "?", ch.rport, delayed ? " (delayed offer)" : "");
	nua_respond(nh, 180, "Ringing", TAG_END());
	sipcall_media_params(c, mp);
	mp->rtp_fd = fd;
	rc = media_call_start(ua->m, c->key, mp);
	if (rc < 0) {
		ua->n_media_fail++;
		rtp_sock_free(fd, port);
		log_err(cid, "sip: media_call_start failed (%d) -> 503", rc);
		sipcall_end(c, "media start failed");
		c = NULL; /* freed when the dialog terminates */
		goto out;
	}
	c->media_on = true;
	c->answer_timer = su_timer_create(su_root_task(ua->root), (su_duration_t)ua->cfg->answer_timeout * 1000);
	if (c->answer_timer)
		su_timer_set(c->answer_timer, answer_timeout, c);
	c = NULL; /* owned by the list now */
out:
	if (c && !listed)
		call_free(c); /* refused before it was bound and listed */
	free(mp);
}

void sipcall_on_media(sipua *ua, uint64_t key, media_event ev, const char *reason)
{
	sipcall *c = find_key(ua, key);

	if (!c) {
		log_debug("-", "sip: media event %d for unknown call %llu", ev, (unsigned long long)key);
		return;
	}
	switch (ev) {
	case MEDIA_EV_READY:
		if (c->state != SC_WAIT_MEDIA || !c->nh)
			break;
		stop_answer_timer(c);
		c->state = SC_ANSWERED;
		nua_respond(c->nh, 200, "OK", SIPTAG_CONTENT_TYPE_STR("application/sdp"),
			    SIPTAG_PAYLOAD_STR(c->answer), TAG_END());
		log_info(c->cid, "sip: stream open -> 200 OK");
		break;
	case MEDIA_EV_FAILED:
		ua->n_media_fail++;
		log_warn(c->cid, "sip: stream to %s unavailable (%s) -> 503", ua->cfg->ws_url,
			 reason && *reason ? reason : "no reason");
		sipcall_end(c, "stream unavailable");
		break;
	case MEDIA_EV_HANGUP:
		log_info(c->cid, "sip: stream closed by the application (%s)", reason && *reason ? reason : "-");
		sipcall_end(c, "stream closed");
		break;
	case MEDIA_EV_ENDED:
		c->media_on = false;
		maybe_free(c);
		break;
	default:
		log_warn(c->cid, "sip: unknown media event %d", ev);
	}
}

void sipcall_on_state(sipua *ua, sipcall *c, nua_handle_t *nh, int status, tagi_t tags[])
{
	int cs = nua_callstate_init;

	(void)ua;
	tl_gets(tags, NUTAG_CALLSTATE_REF(cs), TAG_END());
	log_debug(c->cid, "sip: state %s (%d)", nua_callstate_name((enum nua_callstate)cs), status);
	if (cs != nua_callstate_terminated)
		return;
	log_info(c->cid, "sip: call ended (%d)", status);
	if (!c->media_end_sent)
		stop_answer_timer(c);
	end_media(c, "call ended");
	nua_handle_bind(nh, NULL);
	nua_handle_destroy(nh);
	c->nh = NULL;
	c->state = SC_ENDING;
	maybe_free(c);
}

void sipcall_free_all(sipua *ua)
{
	while (ua->calls) {
		sipcall *c = ua->calls;
		ua->calls = c->next;
		if (c->nh)
			nua_handle_bind(c->nh, NULL);
		call_free(c);
	}
	ua->ncalls = 0;
}
