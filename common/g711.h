/* g711: ITU-T G.711 µ-law and A-law, table driven (tables built once at load).
 * Vectors (µ-law): 0->0xFF, -1->0x7F, 1000->0xCE, -1000->0x4E, 8000->0xA0,
 * 32767->0x80, -32768->0x00. */
#ifndef VX_G711_H
#define VX_G711_H
#include <stddef.h>
#include <stdint.h>

#define G711_ULAW_SILENCE 0xFF
#define G711_ALAW_SILENCE 0xD5

uint8_t g711_ulaw_encode(int16_t pcm);
int16_t g711_ulaw_decode(uint8_t u);
uint8_t g711_alaw_encode(int16_t pcm);
int16_t g711_alaw_decode(uint8_t a);
uint8_t g711_alaw_to_ulaw(uint8_t a);
uint8_t g711_ulaw_to_alaw(uint8_t u);
/* Buffer forms; dst and src may be the same buffer. */
void g711_alaw_to_ulaw_buf(uint8_t *dst, const uint8_t *src, size_t n);
void g711_ulaw_to_alaw_buf(uint8_t *dst, const uint8_t *src, size_t n);
void g711_ulaw_decode_buf(int16_t *dst, const uint8_t *src, size_t n);
void g711_ulaw_encode_buf(uint8_t *dst, const int16_t *src, size_t n);
#endif
