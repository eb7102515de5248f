/* sdp: offer/answer negotiation and text building (pure; see sdp.h). */
#include "sdp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DTMF_PT_OFFER 101

static int fail(char *err, size_t errlen, int rc, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
	return rc;
}

/* Static PT 0/8 match without an rtpmap, or with one naming the same codec. */
static bool fmt_is(const sdp_fmt *f, int pt, const char *name)
{
	if (f->pt != pt)
		return false;
	if (!f->enc[0])
		return true;
	return strcasecmp(f->enc, name) == 0 && f->rate == 8000 && f->channels == 1;
}

static bool fmtp_events_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || *s == '-' || *s == ','))
			return false;
	return true;
}

static bool proto_ok(const char *proto)
{
	/* No SRTP here: RTP/SAVP and UDP/TLS/RTP/SAVPF cannot be answered. */
	return strcasecmp(proto, "RTP/AVP") == 0 || strcasecmp(proto, "RTP/AVPF") == 0;
}

static bool addr_is_null(const char *a)
{
	return !a[0] || strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0;
}

int sdp_negotiate(const sdp_session *offer, sdp_choice *out, char *err, size_t errlen)
{
	const sdp_media *m;
	bool pcmu = false, pcma = false;

	memset(out, 0, sizeof(*out));
	out->pt = -1;
	out->dtmf_pt = -1;
	if (!offer || offer->audio < 0 || offer->audio >= offer->nmedia)
		return fail(err, errlen, -EPROTO, "sdp: no audio stream offered");
	m = &offer->media[offer->audio];
	out->audio_index = offer->audio;
	if (!proto_ok(m->proto))
		return fail(err, errlen, -ENOENT, "sdp: audio transport is not RTP/AVP (SRTP is not supported)");
	if (m->port == 0)
		return fail(err, errlen, -ENOENT, "sdp: audio stream disabled (port 0)");
	for (int i = 0; i < m->nfmts; i++) {
		const sdp_fmt *f = &m->fmts[i];
		if (fmt_is(f, 0, "PCMU"))
			pcmu = true;
		else if (fmt_is(f, 8, "PCMA"))
			pcma = true;
		else if (out->dtmf_pt < 0 && f->pt >= 96 && strcasecmp(f->enc, "telephone-event") == 0 &&
			 f->rate == 8000) {
			out->dtmf_pt = f->pt;
			snprintf(out->dtmf_fmtp, sizeof(out->dtmf_fmtp), "%s",
				 fmtp_events_ok(f->fmtp) && strlen(f->fmtp) < sizeof(out->dtmf_fmtp)
					 ? f->fmtp : "0-15");
		}
	}
	if (!pcmu && !pcma)
		return fail(err, errlen, -ENOENT, "sdp: neither PCMU nor PCMA offered");
	/* µ-law is what the stream carries: no transcoding when offered. */
	out->pt = pcmu ? 0 : 8;
	switch (m->dir) {
	case SDP_SENDONLY: out->dir = SDP_RECVONLY; break;
	case SDP_RECVONLY: out->dir = SDP_SENDONLY; break;
	case SDP_INACTIVE: out->dir = SDP_INACTIVE; break;
	default: out->dir = SDP_SENDRECV; break;
	}
	out->hold = m->dir == SDP_SENDONLY || m->dir == SDP_INACTIVE || addr_is_null(m->addr);
	if (!addr_is_null(m->addr)) {
		snprintf(out->raddr, sizeof(out->raddr), "%s", m->addr);
		out->rport = m->port;
	}
	return 0;
}

/* Append to buf at *len; -ENOSPC when full (buf stays NUL-terminated). */
static int put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= cap)
		return -ENOSPC;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *len)
		return -ENOSPC;
	*len += (size_t)n;
	return 0;
}

static int put_head(char *buf, size_t cap, size_t *len, const sdp_local *l)
{
	const char *ip = strchr(l->addr, ':') ? "IP6" : "IP4";
	return put(buf, cap, len,
		   "v=0\r\no=voixia %" PRIu64 " %" PRIu64 " IN %s %s\r\ns=VoixIA\r\n"
		   "c=IN %s %s\r\nt=0 0\r\n",
		   l->sess_id, l->sess_ver, ip, l->addr, ip, l->addr);
}

static bool local_ok(const sdp_local *l)
{
	return l && l->addr && l->addr[0] && strlen(l->addr) < SDP_ADDR_MAX &&
	       !strpbrk(l->addr, " \r\n") && l->port > 0 && l->port < 65536;
}

int sdp_build_answer(char *buf, size_t cap, const sdp_session *offer,
		     const sdp_choice *c, const sdp_local *l)
{
	size_t len = 0;
	int rc;

	if (!buf || !cap || !offer || !c || !local_ok(l) || (c->pt != 0 && c->pt != 8))
		return -EINVAL;
	buf[0] = '\0';
	if ((rc = put_head(buf, cap, &len, l)) < 0)
		return rc;
	for (int i = 0; i < offer->nmedia; i++) {
		const sdp_media *m = &offer->media[i];
		if (i != c->audio_index) {
			/* Refuse every other stream, echoing its type and first format. */
			rc = put(buf, cap, &len, "m=%s 0 %s %s\r\n", m->type, m->proto, m->first_fmt);
			if (rc < 0)
				return rc;
			continue;
		}
		rc = put(buf, cap, &len, "m=audio %d %s %d", l->port, m->proto, c->pt);
		if (rc == 0 && c->dtmf_pt >= 0)
			rc = put(buf, cap, &len, " %d", c->dtmf_pt);
		if (rc == 0)
			rc = put(buf, cap, &len, "\r\na=rtpmap:%d %s/8000\r\n", c->pt, c->pt ? "PCMA" : "PCMU");
		if (rc == 0 && c->dtmf_pt >= 0)
			rc = put(buf, cap, &len, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d %s\r\n",
				 c->dtmf_pt, c->dtmf_pt, c->dtmf_fmtp[0] ? c->dtmf_fmtp : "0-15");
		if (rc == 0)
			rc = put(buf, cap, &len, "a=ptime:20\r\na=%s\r\n", sdp_dir_name(c->dir));
		if (rc < 0)
			return rc;
	}
	return (int)len;
}

int sdp_build_offer(char *buf, size_t cap, const sdp_local *l)
{
	size_t len = 0;
	int rc;

	if (!buf || !cap || !local_ok(l))
		return -EINVAL;
	buf[0] = '\0';
	rc = put_head(buf, cap, &len, l);
	if (rc == 0)
		rc = put(buf, cap, &len,
			 "m=audio %d RTP/AVP 0 8 %d\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
			 "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\na=ptime:20\r\na=sendrecv\r\n",
			 l->port, DTMF_PT_OFFER, DTMF_PT_OFFER, DTMF_PT_OFFER);
	return rc < 0 ? rc : (int)len;
}
