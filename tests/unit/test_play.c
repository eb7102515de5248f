/* play: heard-audio bookkeeping behind barge-in truncation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "play.h"

static void mark(play *p, uint32_t seq, int want)
{
	char name[32];
	snprintf(name, sizeof(name), PLAY_MARK_PREFIX "%u", seq);
	assert_int_equal(play_mark(p, name), want);
}

static void test_heard(void **st)
{
	play *p = malloc(sizeof(*p));
	const char *item;
	long ms;
	uint32_t a, b, c;
	(void)st;
	play_init(p);
	assert_false(play_playing(p));
	assert_false(play_barge(p, &item, &ms)); /* nothing playing: no truncate */
	a = play_sent(p, "item_1", 1600);
	b = play_sent(p, "item_1", 1600);
	c = play_sent(p, "item_1", 800);
	assert_true(a && b > a && c > b);
	assert_true(play_playing(p));
	assert_int_equal(play_pending_ms(p), 500);
	mark(p, a, 0);
	assert_int_equal(play_pending_ms(p), 300);
	assert_true(play_barge(p, &item, &ms));
	assert_string_equal(item, "item_1");
	assert_int_equal(ms, 200); /* only the first 1600 bytes were heard */
	assert_false(play_playing(p));
	/* echoes of cleared marks are not "heard" */
	mark(p, b, -ENOENT);
	mark(p, c, -ENOENT);
	free(p);
}

static void test_in_order_and_items(void **st)
{
	play *p = malloc(sizeof(*p));
	const char *item;
	long ms;
	uint32_t a, b, c;
	(void)st;
	play_init(p);
	a = play_sent(p, "item_1", 800);
	b = play_sent(p, "item_2", 400);
	c = play_sent(p, "item_2", 400);
	mark(p, b, 0); /* b echoed: a played before it */
	mark(p, a, -ENOENT);
	assert_true(play_playing(p));
	assert_true(play_barge(p, &item, &ms));
	assert_string_equal(item, "item_2");
	assert_int_equal(ms, 50);
	(void)c;
	/* all echoed: nothing playing, no barge */
	a = play_sent(p, "item_3", 8000);
	mark(p, a, 0);
	assert_false(play_playing(p));
	assert_false(play_barge(p, &item, &ms));
	/* hostile names */
	assert_int_equal(play_mark(p, "vx-"), -ENOENT);
	assert_int_equal(play_mark(p, "vx-12x"), -ENOENT);
	assert_int_equal(play_mark(p, "vx-99999999999999999999"), -ENOENT);
	assert_int_equal(play_mark(p, "other"), -ENOENT);
	free(p);
}

static void test_ring_full(void **st)
{
	play *p = malloc(sizeof(*p));
	const char *item;
	long ms;
	uint32_t last = 0;
	(void)st;
	play_init(p);
	for (int i = 0; i < PLAY_MAX_MARKS; i++)
		last = play_sent(p, "it", 8);
	assert_true(last > 0);
	assert_int_equal(play_sent(p, "it", 8), 0); /* full: no mark, bytes still counted */
	mark(p, last, 0);
	assert_true(play_barge(p, &item, &ms) == false); /* all marks echoed */
	free(p);
	(void)ms;
	(void)item;
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_heard),
					    cmocka_unit_test(test_in_order_and_items),
					    cmocka_unit_test(test_ring_full) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
