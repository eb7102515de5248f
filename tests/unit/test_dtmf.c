/* test_dtmf: RFC 4733 parse and exactly one digit per event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dtmf.h"
#include "err.h"

static void parse(void **state)
{
	const uint8_t p[] = { 11, 0x80 | 10, 0x03, 0x20 };
	dtmf_ev ev;
	(void)state;
	assert_int_equal(dtmf_parse(&ev, p, sizeof(p)), 0);
	assert_int_equal(ev.event, 11);
	assert_true(ev.end);
	assert_int_equal(ev.volume, 10);
	assert_int_equal(ev.duration, 800);
	assert_int_equal(dtmf_parse(&ev, p, 3), -EBADMSG);
	assert_int_equal(dtmf_parse(&ev, NULL, 4), -EBADMSG);
	assert_int_equal(dtmf_digit(0), '0');
	assert_int_equal(dtmf_digit(9), '9');
	assert_int_equal(dtmf_digit(10), '*');
	assert_int_equal(dtmf_digit(11), '#');
	assert_int_equal(dtmf_digit(15), 'D');
	assert_int_equal(dtmf_digit(16), 0);
}

/* Feeds one event the way phones send it: several progress packets, then
 * the end packet three times, all with the same RTP timestamp. */
static int feed_event(dtmf_det *d, uint32_t ts, uint8_t event, int progress, int ends, char *digits)
{
	int n = 0;
	char out[2];
	for (int i = 0; i < progress + ends; i++) {
		dtmf_ev ev = { .event = event, .end = i >= progress, .duration = (uint16_t)(160 * (i + 1)) };
		int k = dtmf_det_push(d, ts, &ev, out);
		for (int j = 0; j < k; j++)
			digits[n++] = out[j];
	}
	return n;
}

static void one_digit_per_event(void **state)
{
	dtmf_det d;
	char digits[16] = { 0 };
	int n = 0;
	(void)state;
	dtmf_det_init(&d);
	n += feed_event(&d, 1000, 1, 5, 3, digits + n);
	n += feed_event(&d, 5000, 2, 5, 3, digits + n);
	n += feed_event(&d, 9000, 2, 1, 3, digits + n);  /* the same key again: a new event */
	n += feed_event(&d, 13000, 11, 0, 1, digits + n); /* only one end packet */
	assert_int_equal(n, 4);
	assert_string_equal(digits, "122#");
	char out[2];
	assert_int_equal(dtmf_det_flush(&d, out), 0);
}

static void lost_end(void **state)
{
	dtmf_det d;
	char digits[16] = { 0 };
	char out[2];
	int n = 0;
	(void)state;
	dtmf_det_init(&d);
	n += feed_event(&d, 1000, 7, 4, 0, digits + n);   /* no end packet at all */
	assert_int_equal(n, 0);
	n += feed_event(&d, 3000, 8, 2, 3, digits + n);   /* the next event reveals it */
	assert_int_equal(n, 2);
	assert_string_equal(digits, "78");
	n += feed_event(&d, 7000, 9, 3, 0, digits + n);
	assert_int_equal(dtmf_det_flush(&d, out), 1);
	assert_int_equal(out[0], '9');
	assert_int_equal(dtmf_det_flush(&d, out), 0);
	/* A late retransmit of an already reported end changes nothing. */
	dtmf_ev ev = { .event = 9, .end = true };
	assert_int_equal(dtmf_det_push(&d, 7000, &ev, out), 0);
}

static void non_digit_events(void **state)
{
	dtmf_det d;
	char digits[16] = { 0 };
	(void)state;
	dtmf_det_init(&d);
	assert_int_equal(feed_event(&d, 100, 16, 2, 3, digits), 0); /* flash: no digit */
	assert_int_equal(feed_event(&d, 900, 255, 0, 3, digits), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse), cmocka_unit_test(one_digit_per_event),
		cmocka_unit_test(lost_end), cmocka_unit_test(non_digit_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
