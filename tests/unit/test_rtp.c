/* test_rtp: RTP header parse/build, including hostile packets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "rtp.h"

static void roundtrip(void **state)
{
	uint8_t pkt[RTP_MAX_PKT], pl[160];
	rtp_hdr h = { .pt = 8, .marker = true, .seq = 65535, .ts = 0xdeadbeef, .ssrc = 0x01020304 }, o;
	(void)state;
	for (size_t i = 0; i < sizeof(pl); i++)
		pl[i] = (uint8_t)i;
	int n = rtp_build(pkt, sizeof(pkt), &h, pl, sizeof(pl));
	assert_int_equal(n, 172);
	assert_int_equal(pkt[0], 0x80);
	assert_int_equal(pkt[1], 0x88);
	assert_int_equal(rtp_parse(&o, pkt, (size_t)n), 0);
	assert_int_equal(o.pt, 8);
	assert_true(o.marker);
	assert_int_equal(o.seq, 65535);
	assert_int_equal(o.ts, 0xdeadbeef);
	assert_int_equal(o.ssrc, 0x01020304);
	assert_int_equal(o.len, 160);
	assert_memory_equal(o.payload, pl, 160);
	assert_ptr_equal(o.payload, pkt + 12);
	assert_int_equal(rtp_build(pkt, 100, &h, pl, sizeof(pl)), -ENOSPC);
}

static void csrc_ext_padding(void **state)
{
	uint8_t pkt[64] = { 0 };
	rtp_hdr o;
	(void)state;
	/* 2 CSRCs + extension of 1 word + 4 payload bytes + 3 padding bytes */
	pkt[0] = 0x80 | 0x20 | 0x10 | 2;
	pkt[1] = 0;
	size_t off = 12 + 8;
	pkt[off + 2] = 0;
	pkt[off + 3] = 1;
	off += 8;
	memcpy(pkt + off, "abcd", 4);
	off += 4;
	pkt[off + 2] = 3;
	off += 3;
	assert_int_equal(rtp_parse(&o, pkt, off), 0);
	assert_int_equal(o.len, 4);
	assert_memory_equal(o.payload, "abcd", 4);
}

static void garbage(void **state)
{
	uint8_t pkt[64] = { 0x80, 0 };
	rtp_hdr o;
	(void)state;
	assert_int_equal(rtp_parse(&o, pkt, 11), -EBADMSG);  /* short */
	assert_int_equal(rtp_parse(&o, pkt, 12), 0);         /* empty payload is valid */
	assert_int_equal(o.len, 0);
	pkt[0] = 0x40;                                          /* version 1 */
	assert_int_equal(rtp_parse(&o, pkt, 20), -EBADMSG);
	pkt[0] = 0x8f;                                          /* 15 CSRCs in 20 bytes */
	assert_int_equal(rtp_parse(&o, pkt, 20), -EBADMSG);
	pkt[0] = 0x90;                                          /* extension header cut */
	assert_int_equal(rtp_parse(&o, pkt, 14), -EBADMSG);
	pkt[14] = 0xff; pkt[15] = 0xff;                         /* extension length past end */
	assert_int_equal(rtp_parse(&o, pkt, 20), -EBADMSG);
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0xa0;                                          /* padding count 0 */
	assert_int_equal(rtp_parse(&o, pkt, 20), -EBADMSG);
	pkt[19] = 9;                                            /* padding longer than payload */
	assert_int_equal(rtp_parse(&o, pkt, 20), -EBADMSG);
	pkt[19] = 8;                                            /* exactly the payload */
	assert_int_equal(rtp_parse(&o, pkt, 20), 0);
	assert_int_equal(o.len, 0);
	pkt[0] = 0x80; pkt[1] = 200;                            /* RTCP SR muxed */
	assert_int_equal(rtp_parse(&o, pkt, 28), -EPROTO);
	assert_int_equal(rtp_parse(&o, NULL, 28), -EBADMSG);
}

/* Every length and first byte: never crash, payload always inside the buffer. */
static void exhaustive_small(void **state)
{
	uint8_t pkt[40];
	rtp_hdr o;
	(void)state;
	for (int b0 = 0; b0 < 256; b0++)
		for (size_t len = 0; len <= sizeof(pkt); len++) {
			memset(pkt, 0xff, sizeof(pkt));
			pkt[0] = (uint8_t)b0;
			pkt[1] = 0;
			if (rtp_parse(&o, pkt, len) == 0) {
				assert_true(o.payload >= pkt);
				assert_true(o.payload + o.len <= pkt + len);
			}
		}
}

static void seq_diff(void **state)
{
	(void)state;
	assert_int_equal(rtp_seq_diff(0, 65535), 1);
	assert_int_equal(rtp_seq_diff(65535, 0), -1);
	assert_int_equal(rtp_seq_diff(10, 5), 5);
	assert_int_equal(rtp_seq_diff(5, 10), -5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip), cmocka_unit_test(csrc_ext_padding),
		cmocka_unit_test(garbage), cmocka_unit_test(exhaustive_small),
		cmocka_unit_test(seq_diff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
