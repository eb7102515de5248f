/* media_rx: caller -> stream for one call: the RTP socket's receive path
 * (validation, symmetric RTP latch, reorder window), PCMA -> µ-law, stream
 * timestamps, re-chunking into 20 ms media events, RFC 4733 digits. Also
 * the address helpers shared with media_call.c. Hostile packets are dropped
 * and counted, never trusted. */
#include "media_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "g711.h"
#include "log.h"

#define SILENCE_ULAW G711_ULAW_SILENCE
#define PT_CN 13 /* comfort noise: accepted, not streamed */

static uint64_t stream_ms(const mcall *c, uint64_t now_ns)
{
	return now_ns > c->start_ns ? (now_ns - c->start_ns) / 1000000u : 0;
}

bool media_same_addr(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (b->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
	}
	return false;
}

void media_addr_str(const struct sockaddr_storage *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (a->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr, ip, sizeof(ip));
		port = ntohs(((const struct sockaddr_in *)a)->sin_port);
	} else if (a->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)a)->sin6_addr, ip, sizeof(ip));
		port = ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
	}
	snprintf(buf, len, "%s:%d", ip, port);
}

/* An IPv4 destination on an IPv6 socket is sent as v4-mapped. */
struct sockaddr_storage media_dest_for(const mcall *c, const struct sockaddr_storage *a)
{
	struct sockaddr_storage d = *a;
	if (c->sock_family == AF_INET6 && a->ss_family == AF_INET) {
		const struct sockaddr_in *v4 = (const void *)a;
		struct sockaddr_in6 *v6 = (void *)&d;
		memset(&d, 0, sizeof(d));
		v6->sin6_family = AF_INET6;
		v6->sin6_port = v4->sin_port;
		v6->sin6_addr.s6_addr[10] = 0xff;
		v6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&v6->sin6_addr.s6_addr[12], &v4->sin_addr, 4);
	}
	return d;
}

/* ---- caller -> stream ------------------------------------------------------- */

static void send_chunk(mcall *c)
{
	if (c->ws_open && c->st)
		strm_media(c->st, c->acc, MEDIA_FRAME, c->acc_ms);
	c->acc_ms += MEDIA_FRAME / 8;
	c->acc_len = 0;
}

/* Maps the RTP timestamp to stream ms (sync on the first packet of a source
 * or after a jump) and re-chunks the audio into 20 ms media events. */
static void audio_in(mcall *c, const rtp_hdr *h, const uint8_t *ulaw, size_t n)
{
	uint64_t now_ms = stream_ms(c, uv_hrtime()), ms;
	int64_t off = 0;

	if (c->in_sync && h->ssrc == c->sync_ssrc) {
		off = (int32_t)(h->ts - c->rtp_base) / 8;
		ms = (uint64_t)((int64_t)c->ms_base + off);
		if (off < 0 || ms + 20 < c->next_ms || ms > now_ms + 1000)
			c->in_sync = false;
	}
	if (!c->in_sync || h->ssrc != c->sync_ssrc) {
		c->in_sync = true;
		c->sync_ssrc = h->ssrc;
		c->rtp_base = h->ts;
		c->ms_base = now_ms > c->next_ms ? now_ms : c->next_ms;
		off = 0;
	}
	ms = c->ms_base + (uint64_t)off;
	if (ms < c->next_ms)
		ms = c->next_ms;
	/* A gap (loss, silence suppression) ends the partial chunk: pad it. */
	if (c->acc_len && ms > c->acc_ms + c->acc_len / 8 + 20) {
		memset(c->acc + c->acc_len, SILENCE_ULAW, MEDIA_FRAME - c->acc_len);
		send_chunk(c);
	}
	if (!c->acc_len)
		c->acc_ms = ms;
	while (n) {
		size_t k = MEDIA_FRAME - c->acc_len;
		if (k > n)
			k = n;
		memcpy(c->acc + c->acc_len, ulaw, k);
		c->acc_len += k;
		ulaw += k;
		n -= k;
		if (c->acc_len == MEDIA_FRAME)
			send_chunk(c);
	}
	c->next_ms = ms + (h->len + 7) / 8;
}

static void dtmf_in(mcall *c, const rtp_hdr *h)
{
	dtmf_ev ev;
	char digits[2];
	int n;
	if (dtmf_parse(&ev, h->payload, h->len) < 0) {
		c->stats.rx_dtmf_bad++;
		return;
	}
	n = dtmf_det_push(&c->dtmf, h->ts, &ev, digits);
	for (int i = 0; i < n; i++)
		if (c->ws_open && c->st)
			strm_dtmf(c->st, digits[i]);
}

/* Packets in sequence order, from the reorder window. */
void mcall_on_ordered(const rtp_hdr *h, void *arg)
{
	mcall *c = arg;
	static _Thread_local uint8_t ulaw[JB_MAX_PAYLOAD];

	/* Before the stream is open there is no stream time to stamp audio with. */
	if (!c->ws_open)
		return;
	if (c->dtmf_pt >= 0 && h->pt == c->dtmf_pt) {
		dtmf_in(c, h);
	} else if (h->pt == MEDIA_PT_PCMA) {
		g711_alaw_to_ulaw_buf(ulaw, h->payload, h->len);
		audio_in(c, h, ulaw, h->len);
	} else if (h->pt == MEDIA_PT_PCMU) {
		audio_in(c, h, h->payload, h->len);
	} /* comfort noise: nothing to stream */
}

void mcall_on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	mcall *c = h->data;
	(void)hint;
	/* One receive buffer for the whole thread: each datagram is handled
	 * synchronously in on_recv (no per-packet allocation). */
	buf->base = (char *)c->m->rxbuf;
	buf->len = sizeof(c->m->rxbuf);
}

void mcall_on_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from, unsigned flags)
{
	mcall *c = u->data;
	rtp_hdr h;
	char a[80];

	if (nread <= 0 || !from || c->ended)
		return;
	c->stats.rx_pkts++;
	if ((flags & UV_UDP_PARTIAL) || rtp_parse(&h, (const uint8_t *)buf->base, (size_t)nread) < 0) {
		if (++c->stats.rx_bad <= 5)
			log_warn(c->log_id, "dropped a malformed RTP packet (%zd bytes)", nread);
		return;
	}
	if (c->is_latched && !media_same_addr(&c->latched, from)) {
		if (++c->stats.rx_foreign == 1) {
			struct sockaddr_storage f;
			memcpy(&f, from, from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
			media_addr_str(&f, a, sizeof(a));
			log_warn(c->log_id, "ignoring RTP from %s (not the latched source)", a);
		}
		return;
	}
	if (h.pt != MEDIA_PT_PCMU && h.pt != MEDIA_PT_PCMA && h.pt != PT_CN &&
	    (c->dtmf_pt < 0 || h.pt != c->dtmf_pt)) {
		if (++c->stats.rx_unknown_pt <= 5)
			log_warn(c->log_id, "dropped RTP with unexpected payload type %u", h.pt);
		return;
	}
	if (!c->is_latched) {
		memset(&c->latched, 0, sizeof(c->latched));
		memcpy(&c->latched, from, from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
		c->is_latched = true;
		media_addr_str(&c->latched, a, sizeof(a));
		log_info(c->log_id, "RTP latched on %s", a);
	}
	c->last_rx_ns = uv_hrtime();
	jb_push(&c->jb, &h);
	/* a loop turn with hundreds of calls' packets can outlast a tick */
	media_tick_poll(c->m);
}
