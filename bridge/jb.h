/* jb: the inbound reorder window (not a jitter buffer: no playout delay).
 * Packets of one SSRC go out in sequence order. A packet arriving early
 * (a gap before it) is held; at most JB_DEPTH packets (40 ms at 20 ms ptime)
 * are held: when one more would be needed, the missing packets are declared
 * lost and the held ones released. Duplicates and late packets are dropped.
 * An SSRC change or a sequence jump beyond JB_JUMP restarts the window
 * (held packets are released first). The 16-bit sequence wrap is handled.
 * Pure: no I/O, no allocation after jb_init (payloads are copied into fixed
 * slots). Output goes through a callback, synchronously. */
#ifndef VX_JB_H
#define VX_JB_H
#include <stdbool.h>
#include <stdint.h>

#include "rtp.h"

#define JB_DEPTH 2
#define JB_JUMP 100
#define JB_MAX_PAYLOAD 1024 /* larger payloads are dropped (counted as oversize) */

typedef void (jb_out_h)(const rtp_hdr *h, void *arg);

typedef struct jb_stats {
	uint64_t in, out, dup, late, lost, reordered, resets, oversize;
} jb_stats;

typedef struct jb_slot {
	bool used;
	rtp_hdr h;
	uint8_t data[JB_MAX_PAYLOAD];
} jb_slot;

/* Plain struct (embedded in the call, no allocation); fields are private. */
typedef struct jb {
	bool init;
	uint32_t ssrc;
	uint16_t next;   /* next sequence number to release */
	jb_slot slot[JB_DEPTH];
	jb_out_h *out_h;
	void *arg;
	jb_stats st;
} jb;

void jb_init(jb *j, jb_out_h *out_h, void *arg);
/* Feeds one parsed packet; may release 0..JB_DEPTH+1 packets. */
void jb_push(jb *j, const rtp_hdr *h);
/* Releases every held packet in order (end of a talkspurt, call end). */
void jb_flush(jb *j);
unsigned jb_held(const jb *j);
const jb_stats *jb_get_stats(const jb *j);
#endif
