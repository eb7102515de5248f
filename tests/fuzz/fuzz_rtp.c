/* fuzz_rtp: rtp_parse (every datagram reaching an RTP port) and, on its
 * payload, dtmf_parse. Contract checked: the payload lies inside the
 * datagram, the header fields are in range, and a parsed header rebuilt
 * with rtp_build parses back to the same fields and payload. */
#include "fuzz.h"

#include <errno.h>

#include "dtmf.h"
#include "rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pkt[65536 + RTP_HDR_LEN]; /* any libFuzzer input fits */
	rtp_hdr h, h2;
	dtmf_ev ev;
	int r, n;

	memset(&h, 0xa5, sizeof(h)); /* no reliance on a zeroed struct */
	r = rtp_parse(&h, data, size);
	FZ_CHECK(r == 0 || r == -EBADMSG || r == -EPROTO);
	if (r)
		return 0;
	FZ_CHECK(size >= RTP_HDR_LEN);
	FZ_CHECK(h.pt <= 127);
	FZ_CHECK(h.len <= size - RTP_HDR_LEN);
	FZ_CHECK(h.len == 0 || (h.payload >= data + RTP_HDR_LEN && h.payload + h.len <= data + size));
	FZ_CHECK(h.seq == (uint16_t)(data[2] << 8 | data[3]));
	FZ_CHECK(h.ssrc == ((uint32_t)data[8] << 24 | (uint32_t)data[9] << 16 |
			    (uint32_t)data[10] << 8 | data[11]));

	n = rtp_build(pkt, sizeof(pkt), &h, h.payload, h.len);
	FZ_CHECK(n == (int)(RTP_HDR_LEN + h.len));
	r = rtp_parse(&h2, pkt, (size_t)n);
	/* A rebuilt RTCP-looking header (marker + PT 72..76) is refused alike. */
	FZ_CHECK(r == 0);
	FZ_CHECK(h2.pt == h.pt && h2.marker == h.marker && h2.seq == h.seq && h2.ts == h.ts &&
		 h2.ssrc == h.ssrc && h2.len == h.len);
	FZ_CHECK(h.len == 0 || memcmp(h2.payload, h.payload, h.len) == 0);
	/* Too small a buffer: refused, not overflowed. */
	FZ_CHECK(rtp_build(pkt, (size_t)n - 1, &h, h.payload, h.len) == -ENOSPC);

	r = dtmf_parse(&ev, h.payload, h.len);
	FZ_CHECK(r == 0 || r == -EBADMSG);
	if (r == 0) {
		FZ_CHECK(h.len >= 4);
		FZ_CHECK(ev.volume <= 63);
		char d = dtmf_digit(ev.event);
		FZ_CHECK(d == 0 || strchr("0123456789*#ABCD", d));
		FZ_CHECK((d != 0) == (ev.event <= 15));
	} else {
		FZ_CHECK(h.len < 4);
	}
	return 0;
}
