/* test_jb: reorder window: order, duplicates, loss, 16-bit wrap, SSRC change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "jb.h"

typedef struct out {
	uint16_t seq[256];
	uint32_t ssrc[256];
	uint8_t first[256];
	int n;
} out;

static void on_out(const rtp_hdr *h, void *arg)
{
	out *o = arg;
	assert_true(o->n < 256);
	o->seq[o->n] = h->seq;
	o->ssrc[o->n] = h->ssrc;
	o->first[o->n] = h->len ? h->payload[0] : 0;
	o->n++;
}

static void push(jb *j, uint32_t ssrc, uint16_t seq)
{
	uint8_t pl[160];
	memset(pl, (uint8_t)seq, sizeof(pl));
	rtp_hdr h = { .pt = 0, .seq = seq, .ts = seq * 160u, .ssrc = ssrc, .payload = pl, .len = sizeof(pl) };
	jb_push(j, &h);
	memset(pl, 0xee, sizeof(pl)); /* the window must have copied what it holds */
}

static void in_order(void **state)
{
	jb j;
	out o = { 0 };
	(void)state;
	jb_init(&j, on_out, &o);
	for (uint16_t s = 100; s < 110; s++)
		push(&j, 1, s);
	assert_int_equal(o.n, 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(o.seq[i], 100 + i);
	assert_int_equal(jb_held(&j), 0);
}

static void reorder_and_dup(void **state)
{
	jb j;
	out o = { 0 };
	(void)state;
	jb_init(&j, on_out, &o);
	push(&j, 1, 1);
	push(&j, 1, 3);        /* held */
	push(&j, 1, 3);        /* duplicate of a held packet */
	assert_int_equal(o.n, 1);
	push(&j, 1, 2);        /* releases 2 and 3 */
	push(&j, 1, 2);        /* late duplicate */
	push(&j, 1, 4);
	assert_int_equal(o.n, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(o.seq[i], 1 + i);
		assert_int_equal(o.first[i], 1 + i); /* payload copied, not aliased */
	}
	assert_int_equal(jb_get_stats(&j)->dup, 1);
	assert_int_equal(jb_get_stats(&j)->late, 1);
}

static void loss_bounded_window(void **state)
{
	jb j;
	out o = { 0 };
	(void)state;
	jb_init(&j, on_out, &o);
	push(&j, 1, 10);
	push(&j, 1, 12);  /* 11 missing: held */
	push(&j, 1, 13);  /* held (window full: 40 ms) */
	assert_int_equal(o.n, 1);
	push(&j, 1, 14);  /* a third would exceed the window: 11 declared lost */
	assert_int_equal(o.n, 4);
	assert_int_equal(o.seq[1], 12);
	assert_int_equal(o.seq[2], 13);
	assert_int_equal(o.seq[3], 14);
	assert_int_equal(jb_get_stats(&j)->lost, 1);
	push(&j, 1, 11);  /* too late now */
	assert_int_equal(o.n, 4);
	/* flush releases what is held at the end of a talkspurt */
	push(&j, 1, 16);
	assert_int_equal(o.n, 4);
	jb_flush(&j);
	assert_int_equal(o.n, 5);
	assert_int_equal(o.seq[4], 16);
}

static void full_window_keeps_older_arrival(void **state)
{
	jb j;
	out o = { 0 };
	(void)state;
	jb_init(&j, on_out, &o);
	push(&j, 1, 9);
	push(&j, 1, 12);  /* 10, 11 missing: held */
	push(&j, 1, 13);  /* held: window full */
	push(&j, 1, 11);  /* older than everything held: only 10 is lost */
	assert_int_equal(o.n, 4);
	assert_int_equal(o.seq[1], 11);
	assert_int_equal(o.seq[2], 12);
	assert_int_equal(o.seq[3], 13);
	assert_int_equal(jb_get_stats(&j)->lost, 1);
	assert_int_equal(jb_held(&j), 0);
}

static void wrap(void **state)
{
	jb j;
	out o = { 0 };
	(void)state;
	jb_init(&j, on_out, &o);
	push(&j, 7, 65534);
	push(&j, 7, 0);      /* early across the wrap */
	push(&j, 7, 65535);
	push(&j, 7, 1);
	assert_int_equal(o.n, 4);
	assert_int_equal(o.seq[0], 65534);
	assert_int_equal(o.seq[1], 65535);
	assert_int_equal(o.seq[2], 0);
	assert_int_equal(o.seq[3], 1);
	assert_int_equal(jb_get_stats(&j)->lost, 0);
}

static void ssrc_change_and_jump(void **state)
{
	jb j;
	out o = { 0 };
	(void)state;
	jb_init(&j, on_out, &o);
	push(&j, 1, 500);
	push(&j, 1, 502);       /* held */
	push(&j, 2, 9000);      /* new source: held packet released first */
	push(&j, 2, 9001);
	assert_int_equal(o.n, 4);
	assert_int_equal(o.seq[1], 502);
	assert_int_equal(o.ssrc[1], 1);
	assert_int_equal(o.seq[2], 9000);
	assert_int_equal(o.ssrc[2], 2);
	push(&j, 2, 30000);     /* sequence restart without SSRC change */
	push(&j, 2, 30001);
	assert_int_equal(o.n, 6);
	assert_int_equal(o.seq[5], 30001);
	assert_int_equal(jb_get_stats(&j)->resets, 2);
}

static void oversize(void **state)
{
	jb j;
	out o = { 0 };
	static uint8_t big[JB_MAX_PAYLOAD + 1];
	(void)state;
	jb_init(&j, on_out, &o);
	rtp_hdr h = { .seq = 1, .ssrc = 1, .payload = big, .len = sizeof(big) };
	jb_push(&j, &h);
	assert_int_equal(o.n, 0);
	assert_int_equal(jb_get_stats(&j)->oversize, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(in_order), cmocka_unit_test(reorder_and_dup),
		cmocka_unit_test(loss_bounded_window), cmocka_unit_test(full_window_keeps_older_arrival),
		cmocka_unit_test(wrap),
		cmocka_unit_test(ssrc_change_and_jump), cmocka_unit_test(oversize),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
