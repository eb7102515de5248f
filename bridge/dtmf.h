/* dtmf: RFC 4733 telephone-event payloads. dtmf_parse is pure (bytes in ->
 * struct out, for libFuzzer); dtmf_det turns the packet stream into exactly
 * one digit per event: all packets of one event share the RTP timestamp,
 * the end bit is usually sent three times, and an event whose end packets
 * were all lost is still reported once the next event (new timestamp)
 * begins or on dtmf_det_flush. */
#ifndef VX_DTMF_H
#define VX_DTMF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dtmf_ev {
	uint8_t event;     /* 0-9, 10 '*', 11 '#', 12-15 'A'-'D', others not digits */
	bool end;
	uint8_t volume;    /* 0..63, -dBm0 */
	uint16_t duration; /* timestamp units */
} dtmf_ev;

/* 0, or -EBADMSG when shorter than 4 bytes. Trailing bytes (redundant
 * events, RFC 4733 2.5) are ignored. */
int dtmf_parse(dtmf_ev *ev, const uint8_t *buf, size_t len);
/* '0'..'9', '*', '#', 'A'..'D', or 0 when the event is no DTMF digit. */
char dtmf_digit(uint8_t event);

typedef struct dtmf_det {
	bool active;     /* an event is in progress (or just ended) */
	bool reported;
	uint32_t ts;     /* RTP timestamp of that event */
	uint8_t event;
} dtmf_det;

void dtmf_det_init(dtmf_det *d);
/* Feeds one packet; writes 0..2 digits into out (a previous event that never
 * ended, then this one when it ends). Returns the count. */
int dtmf_det_push(dtmf_det *d, uint32_t rtp_ts, const dtmf_ev *ev, char out[2]);
/* Reports an event still in progress (end lost, call ending): 0 or 1 digit. */
int dtmf_det_flush(dtmf_det *d, char *out);
#endif
