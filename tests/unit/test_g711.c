/* G.711 vectors from issue 2, A-law round trips, cross-law consistency. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "g711.h"

static const struct { int16_t pcm; uint8_t u; int16_t dec; } ulaw_vec[] = {
	{0, 0xFF, 0}, {-1, 0x7F, 0}, {1000, 0xCE, 988}, {-1000, 0x4E, -988},
	{8000, 0xA0, 7932}, {32767, 0x80, 32124}, {-32768, 0x00, -32124},
};

static void ulaw_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ulaw_vec) / sizeof(ulaw_vec[0]); i++) {
		assert_int_equal(g711_ulaw_encode(ulaw_vec[i].pcm), ulaw_vec[i].u);
		assert_int_equal(g711_ulaw_decode(ulaw_vec[i].u), ulaw_vec[i].dec);
	}
	assert_int_equal(g711_ulaw_encode(0), G711_ULAW_SILENCE);
}

static void ulaw_roundtrip_and_monotonic(void **state)
{
	(void)state;
	/* every code decodes to a value that encodes back to itself, except
	 * the negative zero 0x7F which decodes to 0 (-> 0xFF) */
	for (int u = 0; u < 256; u++) {
		if (u == 0x7F)
			continue;
		assert_int_equal(g711_ulaw_encode(g711_ulaw_decode((uint8_t)u)), u);
	}
	/* quantisation error stays within the segment step */
	for (int pcm = -32768; pcm <= 32767; pcm += 7) {
		int d = g711_ulaw_decode(g711_ulaw_encode((int16_t)pcm));
		int err = d > pcm ? d - pcm : pcm - d;
		int mag = pcm < 0 ? -pcm : pcm;
		assert_true(err <= (mag > 32124 ? mag - 32124 + 1 : mag / 16 + 9));
	}
}

static void alaw_roundtrip(void **state)
{
	(void)state;
	for (int a = 0; a < 256; a++)
		assert_int_equal(g711_alaw_encode(g711_alaw_decode((uint8_t)a)), a);
	assert_int_equal(g711_alaw_encode(0), G711_ALAW_SILENCE);
	assert_int_equal(g711_alaw_decode(0xD5), 8);
	assert_int_equal(g711_alaw_decode(0x55), -8);
	assert_int_equal(g711_alaw_decode(0xAA), 32256);
	assert_int_equal(g711_alaw_decode(0x2A), -32256);
	assert_int_equal(g711_alaw_encode(32767), 0xAA);
	assert_int_equal(g711_alaw_encode(-32768), 0x2A);
}

static void cross_law_consistent(void **state)
{
	(void)state;
	for (int i = 0; i < 256; i++) {
		assert_int_equal(g711_alaw_to_ulaw((uint8_t)i),
				 g711_ulaw_encode(g711_alaw_decode((uint8_t)i)));
		assert_int_equal(g711_ulaw_to_alaw((uint8_t)i),
				 g711_alaw_encode(g711_ulaw_decode((uint8_t)i)));
	}
	/* A-law has no zero: its silence (+8) maps to the µ-law code nearest 8 */
	assert_int_equal(g711_alaw_to_ulaw(G711_ALAW_SILENCE), 0xFE);
	assert_int_equal(g711_ulaw_decode(0xFE), 8);
	assert_int_equal(g711_ulaw_to_alaw(G711_ULAW_SILENCE), G711_ALAW_SILENCE);
}

static void buffer_forms(void **state)
{
	(void)state;
	uint8_t a[256], u[256], b[256];
	int16_t pcm[256];
	for (int i = 0; i < 256; i++)
		a[i] = (uint8_t)i;
	g711_alaw_to_ulaw_buf(u, a, 256);
	for (int i = 0; i < 256; i++)
		assert_int_equal(u[i], g711_alaw_to_ulaw((uint8_t)i));
	g711_ulaw_to_alaw_buf(b, u, 256);
	for (int i = 0; i < 256; i++)
		assert_int_equal(b[i], g711_ulaw_to_alaw(u[i]));
	/* in place */
	g711_alaw_to_ulaw_buf(a, a, 256);
	assert_memory_equal(a, u, 256);
	g711_ulaw_decode_buf(pcm, u, 256);
	for (int i = 0; i < 256; i++)
		assert_int_equal(pcm[i], g711_ulaw_decode(u[i]));
	g711_ulaw_encode_buf(b, pcm, 256);
	for (int i = 0; i < 256; i++)
		assert_int_equal(b[i], g711_ulaw_encode(pcm[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ulaw_vectors),
		cmocka_unit_test(ulaw_roundtrip_and_monotonic),
		cmocka_unit_test(alaw_roundtrip),
		cmocka_unit_test(cross_law_consistent),
		cmocka_unit_test(buffer_forms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
