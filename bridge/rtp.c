/* rtp: pure RTP header parse/build (see rtp.h). */
#include "rtp.h"

#include <errno.h>
#include <string.h>

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int rtp_parse(rtp_hdr *h, const uint8_t *buf, size_t len)
{
	size_t off, end = len;
	unsigned cc;

	if (!h || !buf || len < RTP_HDR_LEN)
		return -EBADMSG;
	if ((buf[0] >> 6) != 2)
		return -EBADMSG;
	/* RTCP muxed on the RTP port (RFC 5761): second byte 200..204. */
	if (buf[1] >= 200 && buf[1] <= 204)
		return -EPROTO;
	cc = buf[0] & 0x0f;
	off = RTP_HDR_LEN + 4u * cc;
	if (off > len)
		return -EBADMSG;
	if (buf[0] & 0x10) { /* header extension: 16-bit profile, 16-bit length in words */
		if (off + 4 > len)
			return -EBADMSG;
		size_t xlen = 4u * rd16(buf + off + 2);
		if (off + 4 + xlen > len)
			return -EBADMSG;
		off += 4 + xlen;
	}
	if (buf[0] & 0x20) { /* padding: last byte counts itself, never 0 */
		uint8_t pad = buf[len - 1];
		if (pad == 0 || pad > len - off)
			return -EBADMSG;
		end = len - pad;
	}
	h->marker = buf[1] & 0x80;
	h->pt = buf[1] & 0x7f;
	h->seq = rd16(buf + 2);
	h->ts = rd32(buf + 4);
	h->ssrc = rd32(buf + 8);
	h->payload = buf + off;
	h->len = end - off;
	return 0;
}

int rtp_build(uint8_t *buf, size_t cap, const rtp_hdr *h, const uint8_t *payload, size_t n)
{
	if (!buf || !h || n > RTP_MAX_PKT || cap < RTP_HDR_LEN + n || (n && !payload))
		return -ENOSPC;
	buf[0] = 0x80;
	buf[1] = (uint8_t)((h->marker ? 0x80 : 0) | (h->pt & 0x7f));
	buf[2] = (uint8_t)(h->seq >> 8);
	buf[3] = (uint8_t)h->seq;
	buf[4] = (uint8_t)(h->ts >> 24);
	buf[5] = (uint8_t)(h->ts >> 16);
	buf[6] = (uint8_t)(h->ts >> 8);
	buf[7] = (uint8_t)h->ts;
	buf[8] = (uint8_t)(h->ssrc >> 24);
	buf[9] = (uint8_t)(h->ssrc >> 16);
	buf[10] = (uint8_t)(h->ssrc >> 8);
	buf[11] = (uint8_t)h->ssrc;
	if (n)
		memcpy(buf + RTP_HDR_LEN, payload, n);
	return (int)(RTP_HDR_LEN + n);
}
