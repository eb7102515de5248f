/* fuzz_dtmf: the RFC 4733 detector (dtmf_parse + dtmf_det) fed a hostile
 * packet stream: records of 8 bytes, a 32-bit RTP timestamp then a 4-byte
 * telephone-event payload. Contract checked: 0..2 digits per packet, every
 * digit a real DTMF character, never more digits than distinct events
 * (timestamps) plus one, and one event (same timestamp, any number of end
 * packets) never yields two digits. */
#include "fuzz.h"

#include <errno.h>

#include "dtmf.h"

static void check_digits(const char *out, int n)
{
	FZ_CHECK(n >= 0 && n <= 2);
	for (int i = 0; i < n; i++)
		FZ_CHECK(out[i] && strchr("0123456789*#ABCD", out[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dtmf_det d;
	dtmf_ev ev;
	char out[2], last;
	unsigned events = 0, digits = 0;
	uint32_t prev_ts = 0;
	int n;

	dtmf_det_init(&d);
	for (size_t off = 0; off + 8 <= size; off += 8) {
		const uint8_t *p = data + off;
		uint32_t ts = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		FZ_CHECK(dtmf_parse(&ev, p + 4, 4) == 0);
		FZ_CHECK(ev.volume <= 63);
		if (off == 0 || ts != prev_ts)
			events++;
		prev_ts = ts;
		n = dtmf_det_push(&d, ts, &ev, out);
		check_digits(out, n);
		digits += (unsigned)n;
		FZ_CHECK(digits <= events);
	}
	n = dtmf_det_flush(&d, &last);
	FZ_CHECK(n == 0 || n == 1);
	if (n)
		check_digits(&last, 1);
	digits += (unsigned)n;
	FZ_CHECK(digits <= events);
	/* Short payloads are refused. */
	FZ_CHECK(dtmf_parse(&ev, data, size < 4 ? size : 3) == -EBADMSG);
	return 0;
}
