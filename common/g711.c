/* g711: ITU-T G.711 µ-law and A-law, table driven.
 *
 * Usage notes:
 *  - All tables (encode for every int16 value, decode, and the two
 *    cross-law maps) are built once by a constructor before main() from the
 *    reference formulas below (µ-law: bias 0x84, clip 32635, the classic
 *    16-bit encoder; A-law: Sun's 13-bit reference), so the hot path is one
 *    array lookup per sample and never branches on the input.
 *  - alaw->ulaw is ulaw_encode(alaw_decode(a)) and vice versa: exactly
 *    consistent with the per-sample functions (tests check all 256 values).
 *  - 128 KiB of encode tables: cheap next to a call's buffers.
 */
#include "g711.h"

#define G711_ULAW_BIAS 0x84
#define G711_ULAW_CLIP 32635

static uint8_t g711_ulaw_enc_tab[65536]; /* index: (uint16_t)pcm */
static uint8_t g711_alaw_enc_tab[65536];
static int16_t g711_ulaw_dec_tab[256];
static int16_t g711_alaw_dec_tab[256];
static uint8_t g711_a2u_tab[256];
static uint8_t g711_u2a_tab[256];

static uint8_t g711_ulaw_enc_ref(int pcm)
{
	int sign = 0, exp = 7;

	if (pcm < 0) {
		sign = 0x80;
		pcm = -pcm; /* int: -(-32768) is fine */
	}
	if (pcm > G711_ULAW_CLIP)
		pcm = G711_ULAW_CLIP;
	pcm += G711_ULAW_BIAS;
	/* exponent = position of the highest set bit above bit 7 */
	for (int mask = 0x4000; exp > 0 && !(pcm & mask); mask >>= 1)
		exp--;
	int mant = (pcm >> (exp + 3)) & 0x0f;
	return (uint8_t)~(sign | exp << 4 | mant);
}

static int16_t g711_ulaw_dec_ref(uint8_t u)
{
	u = (uint8_t)~u;
	int t = (((u & 0x0f) << 3) + G711_ULAW_BIAS) << ((u & 0x70) >> 4);
	return (int16_t)((u & 0x80) ? G711_ULAW_BIAS - t : t - G711_ULAW_BIAS);
}

static uint8_t g711_alaw_enc_ref(int pcm)
{
	static const int seg_end[8] = {0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff};
	int mask, seg;

	/* 13-bit, flooring like an arithmetic shift without shifting a negative value */
	pcm = pcm < 0 ? ~(~pcm >> 3) : pcm >> 3;
	if (pcm >= 0) {
		mask = 0xd5;
	} else {
		mask = 0x55;
		pcm = -pcm - 1;
	}
	for (seg = 0; seg < 8 && pcm > seg_end[seg]; seg++)
		;
	if (seg >= 8)
		return (uint8_t)(0x7f ^ mask);
	int aval = seg << 4;
	aval |= seg < 2 ? (pcm >> 1) & 0x0f : (pcm >> seg) & 0x0f;
	return (uint8_t)(aval ^ mask);
}

static int16_t g711_alaw_dec_ref(uint8_t a)
{
	a ^= 0x55;
	int t = (a & 0x0f) << 4;
	int seg = (a & 0x70) >> 4;
	if (seg == 0)
		t += 8;
	else if (seg == 1)
		t += 0x108;
	else
		t = (t + 0x108) << (seg - 1);
	return (int16_t)((a & 0x80) ? t : -t);
}

__attribute__((constructor)) static void g711_build(void)
{
	for (int pcm = -32768; pcm <= 32767; pcm++) {
		g711_ulaw_enc_tab[(uint16_t)pcm] = g711_ulaw_enc_ref(pcm);
		g711_alaw_enc_tab[(uint16_t)pcm] = g711_alaw_enc_ref(pcm);
	}
	for (int i = 0; i < 256; i++) {
		g711_ulaw_dec_tab[i] = g711_ulaw_dec_ref((uint8_t)i);
		g711_alaw_dec_tab[i] = g711_alaw_dec_ref((uint8_t)i);
	}
	for (int i = 0; i < 256; i++) {
		g711_a2u_tab[i] = g711_ulaw_enc_tab[(uint16_t)g711_alaw_dec_tab[i]];
		g711_u2a_tab[i] = g711_alaw_enc_tab[(uint16_t)g711_ulaw_dec_tab[i]];
	}
}

uint8_t g711_ulaw_encode(int16_t pcm) { return g711_ulaw_enc_tab[(uint16_t)pcm]; }
int16_t g711_ulaw_decode(uint8_t u) { return g711_ulaw_dec_tab[u]; }
uint8_t g711_alaw_encode(int16_t pcm) { return g711_alaw_enc_tab[(uint16_t)pcm]; }
int16_t g711_alaw_decode(uint8_t a) { return g711_alaw_dec_tab[a]; }
uint8_t g711_alaw_to_ulaw(uint8_t a) { return g711_a2u_tab[a]; }
uint8_t g711_ulaw_to_alaw(uint8_t u) { return g711_u2a_tab[u]; }

void g711_alaw_to_ulaw_buf(uint8_t *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = g711_a2u_tab[src[i]];
}

void g711_ulaw_to_alaw_buf(uint8_t *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = g711_u2a_tab[src[i]];
}

void g711_ulaw_decode_buf(int16_t *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = g711_ulaw_dec_tab[src[i]];
}

void g711_ulaw_encode_buf(uint8_t *dst, const int16_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = g711_ulaw_enc_tab[(uint16_t)src[i]];
}
