/* dtmf: RFC 4733 parse and one-digit-per-event detection (see dtmf.h). */
#include "dtmf.h"

#include <errno.h>
#include <string.h>

int dtmf_parse(dtmf_ev *ev, const uint8_t *buf, size_t len)
{
	if (!ev || !buf || len < 4)
		return -EBADMSG;
	ev->event = buf[0];
	ev->end = buf[1] & 0x80;
	ev->volume = buf[1] & 0x3f;
	ev->duration = (uint16_t)(buf[2] << 8 | buf[3]);
	return 0;
}

char dtmf_digit(uint8_t event)
{
	static const char map[] = "0123456789*#ABCD";
	if (event >= 16)
		return 0;
	return map[event];
}

void dtmf_det_init(dtmf_det *d)
{
	memset(d, 0, sizeof(*d));
}

int dtmf_det_flush(dtmf_det *d, char *out)
{
	int n = 0;
	if (d->active && !d->reported) {
		char c = dtmf_digit(d->event);
		d->reported = true;
		if (c)
			out[n++] = c;
	}
	return n;
}

int dtmf_det_push(dtmf_det *d, uint32_t rtp_ts, const dtmf_ev *ev, char out[2])
{
	int n = 0;

	if (!d->active || rtp_ts != d->ts) {
		/* A new event: the previous one is over even if its end was lost. */
		n = dtmf_det_flush(d, out);
		d->active = true;
		d->reported = false;
		d->ts = rtp_ts;
		d->event = ev->event;
	}
	if (ev->end && !d->reported) {
		char c = dtmf_digit(d->event);
		d->reported = true;
		if (c)
			out[n++] = c;
	}
	return n;
}
