/* rtp: RTP (RFC 3550) fixed header parse and build, as pure functions (bytes
 * in -> struct out, no I/O, no allocation) so a libFuzzer target can call
 * rtp_parse directly. Input is hostile: short packets, wrong version, CSRC
 * counts, header extensions or padding running past the end are rejected.
 * Also the sequence arithmetic used by the reorder window. */
#ifndef VX_RTP_H
#define VX_RTP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTP_HDR_LEN 12
#define RTP_MAX_PKT 1500 /* largest datagram we read or build */

typedef struct rtp_hdr {
	uint8_t pt;             /* 0..127 */
	bool marker;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	const uint8_t *payload; /* points into the parsed buffer (parse only) */
	size_t len;             /* payload bytes, padding and extension removed */
} rtp_hdr;

/* 0, or -EBADMSG (too short, version not 2, CSRC/extension/padding running
 * past the end, padding count 0) or -EPROTO (RTCP packet types 72..76 with
 * the marker, i.e. PT 200..204, muxed on the RTP port). */
int rtp_parse(rtp_hdr *h, const uint8_t *buf, size_t len);

/* Writes a 12-byte header (no CSRC, extension or padding) followed by n
 * payload bytes. Returns the packet length or -ENOSPC. */
int rtp_build(uint8_t *buf, size_t cap, const rtp_hdr *h, const uint8_t *payload, size_t n);

/* Signed distance from b to a in sequence space (handles the 16-bit wrap). */
static inline int rtp_seq_diff(uint16_t a, uint16_t b)
{
	return (int16_t)(uint16_t)(a - b);
}
#endif
