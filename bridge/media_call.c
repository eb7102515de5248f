/* media_call: one call on the media thread: set-up and tear-down, the
 * Twilio stream (strm), and stream -> caller: the outbound playout queue
 * (playq) drained by the shared 20 ms clock into RTP packets with
 * continuous sequence/timestamp and the talkspurt marker. The receive path
 * is media_rx.c. */
#include "media_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "g711.h"
#include "ids.h"
#include "log.h"

#define SILENCE_ULAW G711_ULAW_SILENCE

mcall *mcall_find(media *m, uint64_t key)
{
	for (mcall *c = m->calls; c; c = c->next)
		if (c->key == key)
			return c;
	return NULL;
}

/* ---- stream -> caller ----------------------------------------------------------- */

static void send_frame(mcall *c, uint8_t *frame, bool marker)
{
	uint8_t pkt[RTP_HDR_LEN + MEDIA_FRAME];
	rtp_hdr h = { .pt = (uint8_t)c->pt, .marker = marker, .seq = c->seq, .ts = c->ts, .ssrc = c->ssrc };
	const struct sockaddr_storage *to = c->is_latched ? &c->latched : &c->sdp_remote;
	int len;

	c->seq++;
	c->ts += MEDIA_FRAME;
	if (c->hold || !to->ss_family)
		return;
	if (c->pt == MEDIA_PT_PCMA)
		g711_ulaw_to_alaw_buf(frame, frame, MEDIA_FRAME);
	len = rtp_build(pkt, sizeof(pkt), &h, frame, MEDIA_FRAME);
	struct sockaddr_storage d = media_dest_for(c, to);
	uv_buf_t b = uv_buf_init((char *)pkt, (unsigned)len);
	if (uv_udp_try_send(&c->udp, &b, 1, (const struct sockaddr *)&d) < 0)
		c->stats.tx_fail++;
	else
		c->stats.tx_pkts++;
}

void mcall_tick(mcall *c, unsigned frames, uint64_t now_ns)
{
	uint8_t frame[MEDIA_FRAME];

	if (c->ended || !c->udp_ready)
		return;
	/* A held packet must not wait forever when the far end goes quiet. */
	if (jb_held(&c->jb) && now_ns - c->last_rx_ns > MEDIA_JB_STALL_NS)
		jb_flush(&c->jb);
	if (!c->ws_open)
		return;
	while (frames--) {
		size_t got = 0, q = playq_queued(c->pq);
		/* Less than a frame while the application is still writing (a burst
		 * being received): play silence and keep it whole for the next
		 * tick rather than splitting the audio with padding. Padded only
		 * once the writes have stopped (end of an utterance). */
		if (q >= MEDIA_FRAME || (q && now_ns - c->last_write_ns >= MEDIA_PTIME_NS))
			got = playq_read(c->pq, frame, MEDIA_FRAME);
		bool marker = got && !c->talking;
		c->talking = got > 0;
		if (got < MEDIA_FRAME)
			memset(frame + got, SILENCE_ULAW, MEDIA_FRAME - got);
		send_frame(c, frame, marker);
	}
}

static void on_mark_due(const char *name, void *arg)
{
	mcall *c = arg;
	if (c->st)
		strm_mark(c->st, name);
}

static void on_app_media(const uint8_t *ulaw, size_t n, void *arg)
{
	mcall *c = arg;
	int rc = playq_write(c->pq, ulaw, n);
	c->last_write_ns = uv_hrtime();
	media_tick_poll(c->m);
	if (rc < 0)
		log_warn(c->log_id, "outbound queue full (%zu bytes queued): %zu bytes dropped",
			 playq_queued(c->pq), n);
}

static void on_app_mark(const char *name, void *arg)
{
	mcall *c = arg;
	if (playq_mark(c->pq, name) < 0)
		log_warn(c->log_id, "mark dropped: out of memory");
}

static void on_app_clear(void *arg)
{
	mcall *c = arg;
	log_debug(c->log_id, "clear: %zu bytes dropped", playq_queued(c->pq));
	playq_clear(c->pq);
}

static void on_strm_open(void *arg)
{
	mcall *c = arg;
	c->ws_open = true;
	c->start_ns = uv_hrtime();
	c->reported_ready = true;
	media_report(c->m, c->key, MEDIA_EV_READY, NULL);
}

static void finish(mcall *c);

static void on_strm_close(int code, const char *reason, bool was_open, void *arg)
{
	mcall *c = arg;
	char why[160];
	c->st = NULL;
	c->ws_open = false;
	snprintf(why, sizeof(why), "stream closed (%d %s)", code, reason ? reason : "");
	if (c->ended) {
		finish(c);
	} else if (!was_open) {
		media_report(c->m, c->key, MEDIA_EV_FAILED, why);
	} else {
		media_report(c->m, c->key, MEDIA_EV_HANGUP, why);
	}
}

static const strm_handlers call_strm = {
	.open_h = on_strm_open, .media_h = on_app_media, .mark_h = on_app_mark,
	.clear_h = on_app_clear, .close_h = on_strm_close,
};

/* ---- lifetime ---------------------------------------------------------------------- */

static void apply_params(mcall *c, const media_params *p)
{
	c->pt = p->pt == MEDIA_PT_PCMA ? MEDIA_PT_PCMA : MEDIA_PT_PCMU;
	c->dtmf_pt = p->dtmf_pt >= 96 && p->dtmf_pt <= 127 ? p->dtmf_pt : -1;
	c->hold = p->hold;
	if (p->remote.ss_family == AF_INET || p->remote.ss_family == AF_INET6) {
		if (c->sdp_remote.ss_family && !media_same_addr(&c->sdp_remote, (const struct sockaddr *)&p->remote))
			c->is_latched = false; /* moved (re-INVITE): latch again */
		c->sdp_remote = p->remote;
	}
}

static void build_start(mcall *c, const media_params *p, tw_start *st)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->account_sid, sizeof(st->account_sid), "%s", c->m->account_sid);
	snprintf(st->call_sid, sizeof(st->call_sid), "%s", c->log_id);
	id_new(st->stream_sid, "MZ");
	st->tracks = TW_TRACK_INBOUND;
	snprintf(st->encoding, sizeof(st->encoding), "audio/x-mulaw");
	st->sample_rate = 8000;
	st->channels = 1;
	/* --param pairs first, then from, to and sipCallId (unless a --param
	 * already uses that name). */
	const char *own[3][2] = { { "from", p->from }, { "to", p->to }, { "sipCallId", p->sip_call_id } };
	int nparams = p->nparams < 0 ? 0 : p->nparams > MEDIA_KV_MAX ? MEDIA_KV_MAX : p->nparams;
	for (int i = 0; i < nparams && st->nparams < TW_MAX_PARAMS - 3; i++) {
		if (!p->params[i][0][0])
			continue;
		snprintf(st->params[st->nparams].key, TW_KEY_MAX, "%s", p->params[i][0]);
		snprintf(st->params[st->nparams].val, TW_VAL_MAX, "%s", p->params[i][1]);
		st->nparams++;
	}
	if (nparams > TW_MAX_PARAMS - 3)
		log_warn(c->log_id, "only %d --param pairs fit in customParameters", TW_MAX_PARAMS - 3);
	for (int k = 0; k < 3; k++) {
		bool dup = false;
		for (size_t i = 0; i < st->nparams; i++)
			dup |= !strcmp(st->params[i].key, own[k][0]);
		if (dup)
			continue;
		snprintf(st->params[st->nparams].key, TW_KEY_MAX, "%s", own[k][0]);
		snprintf(st->params[st->nparams].val, TW_VAL_MAX, "%s", own[k][1]);
		st->nparams++;
	}
}

void mcall_start(media *m, uint64_t key, const media_params *p)
{
	mcall *c = calloc(1, sizeof(*c));
	tw_start *st = NULL;
	/* Zeroed for clang's analyzer: glibc passes the address as a transparent
	 * union it cannot see getsockname() fill (llvm-project#60482). */
	struct sockaddr_storage ss = {0};
	socklen_t len = sizeof(ss);
	int rc;
	const char *why = "out of memory";

	if (!c) {
		rtp_sock_free(p->rtp_fd, p->rtp_port);
		media_report(m, key, MEDIA_EV_FAILED, why);
		media_report(m, key, MEDIA_EV_ENDED, why);
		return;
	}
	c->m = m;
	c->key = key;
	c->rtp_fd = p->rtp_fd;
	c->rtp_port = p->rtp_port;
	id_new(c->log_id, "CA");
	jb_init(&c->jb, mcall_on_ordered, c);
	dtmf_det_init(&c->dtmf);
	apply_params(c, p);
	if (getrandom(&c->ssrc, sizeof(c->ssrc), 0) != sizeof(c->ssrc) ||
	    getrandom(&c->seq, sizeof(c->seq), 0) != sizeof(c->seq) ||
	    getrandom(&c->ts, sizeof(c->ts), 0) != sizeof(c->ts))
		c->ssrc = (uint32_t)uv_hrtime();
	c->next = m->calls;
	if (m->calls)
		m->calls->prev = c;
	m->calls = c;
	log_info(c->log_id, "media for SIP call %s: RTP port %d, %s, dtmf pt %d", p->sip_call_id,
		 p->rtp_port, c->pt == MEDIA_PT_PCMA ? "PCMA" : "PCMU", c->dtmf_pt);

	c->sock_family = getsockname(p->rtp_fd, (struct sockaddr *)&ss, &len) == 0 ? ss.ss_family : AF_INET;
	if (uv_udp_init(&m->loop, &c->udp) < 0)
		goto fail;
	c->udp.data = c;
	c->udp_ready = true;
	if (uv_udp_open(&c->udp, p->rtp_fd) < 0) {
		why = "RTP socket unusable";
		goto fail;
	}
	c->rtp_fd = -1; /* the uv handle owns the fd from here (closed by uv_close) */
	if (uv_udp_recv_start(&c->udp, mcall_on_alloc, mcall_on_recv) < 0) {
		why = "RTP socket unusable";
		goto fail;
	}
	if (playq_new(&c->pq, MEDIA_PLAY_MAX, on_mark_due, c) < 0)
		goto fail;
	st = malloc(sizeof(*st));
	if (!st)
		goto fail;
	build_start(c, p, st);
	strm_cfg cfg = { .url = m->ws_url, .token = m->token, .log_id = c->log_id, .start = st };
	if ((rc = strm_open(&c->st, m->ws, &cfg, &call_strm, c)) < 0) {
		why = "stream connect failed";
		log_err(c->log_id, "cannot connect the stream to %s: %s", m->ws_url, strerror(-rc));
		goto fail;
	}
	free(st);
	return;
fail:
	free(st);
	/* The call object stays until media_call_end, like any failed call. */
	media_report(m, key, MEDIA_EV_FAILED, why);
}

void mcall_update(mcall *c, const media_params *p)
{
	apply_params(c, p);
	log_info(c->log_id, "media updated: %s%s", c->pt == MEDIA_PT_PCMA ? "PCMA" : "PCMU",
		 c->hold ? ", on hold" : "");
}

static void on_udp_closed(uv_handle_t *h)
{
	mcall *c = h->data;
	media *m = c->m;
	rtp_sock_free(c->rtp_fd, c->rtp_port); /* fd is -1 once uv owned it */
	if (c->prev)
		c->prev->next = c->next;
	else
		m->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	media_report(m, c->key, MEDIA_EV_ENDED, NULL);
	playq_destroy(c->pq);
	free(c);
	media_maybe_finish_shutdown(m);
}

static void finish(mcall *c)
{
	const jb_stats *js = jb_get_stats(&c->jb);
	if (c->finishing)
		return;
	c->finishing = true;
	log_info(c->log_id, "media ended: rtp in %llu (bad %llu, foreign %llu, unknown pt %llu, "
		 "dup %llu, late %llu, lost %llu), rtp out %llu (failed %llu, late ticks %llu)",
		 (unsigned long long)c->stats.rx_pkts, (unsigned long long)c->stats.rx_bad,
		 (unsigned long long)c->stats.rx_foreign, (unsigned long long)c->stats.rx_unknown_pt,
		 (unsigned long long)js->dup, (unsigned long long)js->late,
		 (unsigned long long)js->lost, (unsigned long long)c->stats.tx_pkts,
		 (unsigned long long)c->stats.tx_fail, (unsigned long long)c->stats.ticks_late);
	if (c->udp_ready) {
		uv_udp_recv_stop(&c->udp);
		uv_close((uv_handle_t *)&c->udp, on_udp_closed);
	} else {
		c->udp.data = c;
		/* Same path as a closed handle, without one. */
		on_udp_closed((uv_handle_t *)&c->udp);
	}
}

void mcall_end(mcall *c, const char *reason)
{
	char d[2];
	log_info(c->log_id, "ending media (%s)", reason && *reason ? reason : "call ended");
	/* Deliver what the caller said last before stop. */
	jb_flush(&c->jb);
	if (dtmf_det_flush(&c->dtmf, d) == 1 && c->ws_open && c->st)
		strm_dtmf(c->st, d[0]);
	c->ended = true;
	if (c->st && c->ws_open) {
		strm_stop(c->st); /* stop, then finish() from its close_h */
	} else {
		/* Still connecting (e.g. CANCEL): lws only gives up at the connect
		 * timeout; do not make the SIP side wait for it. */
		strm_abandon(c->st);
		c->st = NULL;
		finish(c);
	}
}
