/* play: what the caller has actually heard of the agent's audio, for
 * barge-in. Every agent audio chunk sent to the stream is followed by a mark
 * ("vx-<n>"); Twilio (or sipbridge) echoes a mark once the audio queued
 * before it has played, so the last echoed mark of the current item tells
 * how many bytes of that item were heard (µ-law 8 kHz: 8 bytes per ms).
 * Pure bookkeeping, no I/O, no allocation. */
#ifndef VX_PLAY_H
#define VX_PLAY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLAY_MAX_MARKS 1024
#define PLAY_ITEM_MAX 128
#define PLAY_MARK_PREFIX "vx-"

typedef struct play {
	char item[PLAY_ITEM_MAX]; /* current assistant item id */
	uint64_t gen;             /* bytes of the current item sent */
	uint64_t heard;           /* bytes of the current item played (echoed) */
	uint32_t item_no;         /* increments when the item changes */
	uint32_t next_seq;
	size_t head, n;           /* ring of marks not yet echoed */
	struct { uint32_t seq, item_no; uint64_t pos; } ring[PLAY_MAX_MARKS];
} play;

void play_init(play *p);
/* n bytes of item_id were sent. Returns the mark number to send after them
 * (name PLAY_MARK_PREFIX + number), or 0 when no mark should be sent (ring
 * full: a later mark covers these bytes). */
uint32_t play_sent(play *p, const char *item_id, size_t n);
/* A mark came back. 0 when it was one of ours still pending, else -ENOENT. */
int play_mark(play *p, const char *name);
/* Agent audio is queued at the caller and not yet confirmed played. */
bool play_playing(const play *p);
/* The caller started talking. When agent audio was playing: returns true,
 * *item_id and *audio_end_ms tell what to truncate (heard, never more than
 * sent), and pending marks are forgotten (their echoes after a clear are
 * not "heard"). */
bool play_barge(play *p, const char **item_id, long *audio_end_ms);
/* Milliseconds of agent audio sent but not yet confirmed played. */
long play_pending_ms(const play *p);
#endif
