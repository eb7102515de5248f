/* sip_reinvite: offers after the call is up: re-INVITE (hold with
 * sendonly/inactive/0.0.0.0, unhold, codec or address change) and the SDP
 * answer carried by the ACK when we made the offer (delayed offer). Media
 * hears of each change through media_call_update. */
#include "sip_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static void push_update(sipcall *c, const char *what)
{
	media_params *p = malloc(sizeof(*p));
	if (!p)
		return;
	sipcall_media_params(c, p);
	if (c->media_on && media_call_update(c->ua->m, c->key, p) < 0)
		log_warn(c->cid, "sip: media_call_update failed");
	log_info(c->cid, "sip: %s: %s%s, %s, remote %s:%d", what, c->choice.pt ? "PCMA" : "PCMU",
		 c->choice.dtmf_pt >= 0 ? "+telephone-event" : "", c->choice.hold ? "on hold" : "active",
		 c->choice.raddr[0] ? c->choice.raddr : "-", c->choice.rport);
	free(p);
}

/* Parse and negotiate a body; 0 ok with *out filled, else negative. */
static int negotiate_body(sipcall *c, const sip_t *sip, sdp_session *s, sdp_choice *out)
{
	char err[160] = "no SDP in the body";
	const char *body;
	size_t blen;
	int rc = sip_body_sdp(sip, &body, &blen);
	if (rc == 0)
		rc = sdp_parse(s, body, blen, err, sizeof(err));
	if (rc == 0)
		rc = sdp_negotiate(s, out, err, sizeof(err));
	if (rc < 0) {
		if (rc == -ENOENT || rc == -EPROTO)
			c->ua->n_no_codec++;
		else
			c->ua->n_bad_sdp++;
		log_warn(c->cid, "sip: unusable SDP (%s)", err);
	}
	return rc;
}

void sipcall_on_reinvite(sipcall *c, const sip_t *sip)
{
	sdp_local l = { .addr = c->local_addr, .port = c->rtp_port, .sess_id = c->sess_id };
	sdp_session *s = NULL;
	sdp_choice ch;
	int n;

	if (!c->nh || !sip)
		return;
	if (c->state != SC_ANSWERED) {
		nua_respond(c->nh, 491, "Request Pending", TAG_END());
		return;
	}
	l.sess_ver = ++c->sess_ver;
	if (!sip->sip_payload || !sip->sip_payload->pl_len) {
		/* re-INVITE without SDP: we offer again, the answer comes in the ACK. */
		n = sdp_build_offer(c->answer, sizeof(c->answer), &l);
		if (n < 0) {
			nua_respond(c->nh, 500, "Server Internal Error", TAG_END());
			return;
		}
		c->await_ack_answer = true;
		nua_respond(c->nh, 200, "OK", SIPTAG_CONTENT_TYPE_STR("application/sdp"),
			    SIPTAG_PAYLOAD_STR(c->answer), TAG_END());
		log_info(c->cid, "sip: re-INVITE without SDP: offered again");
		return;
	}
	s = malloc(sizeof(*s));
	if (!s || negotiate_body(c, sip, s, &ch) < 0) {
		/* The call goes on with what it had (RFC 3261 14.2). */
		nua_respond(c->nh, 488, "Not Acceptable Here", TAG_END());
		c->sess_ver--;
		free(s);
		return;
	}
	n = sdp_build_answer(c->answer, sizeof(c->answer), s, &ch, &l);
	free(s);
	if (n < 0) {
		nua_respond(c->nh, 500, "Server Internal Error", TAG_END());
		return;
	}
	c->choice = ch;
	nua_respond(c->nh, 200, "OK", SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(c->answer),
		    TAG_END());
	push_update(c, "re-INVITE");
}

void sipcall_on_ack(sipcall *c, const sip_t *sip)
{
	sdp_session *s;
	sdp_choice ch;

	if (!c->await_ack_answer)
		return;
	c->await_ack_answer = false;
	if (!sip || !sip->sip_payload || !sip->sip_payload->pl_len) {
		log_warn(c->cid, "sip: ACK carries no SDP answer to our offer -> BYE");
		sipcall_end(c, "no SDP answer");
		return;
	}
	s = malloc(sizeof(*s));
	if (!s || negotiate_body(c, sip, s, &ch) < 0) {
		free(s);
		sipcall_end(c, "bad SDP answer");
		return;
	}
	free(s);
	c->choice = ch;
	push_update(c, "SDP answer in ACK");
}
