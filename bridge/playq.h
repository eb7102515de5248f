/* playq: the outbound playout queue of one call. µ-law bytes from the stream
 * (media events of any size) go in; the 20 ms clock takes fixed frames out.
 * Marks are queued at the byte position where they were received and fire
 * (mark_h) once every byte queued before them has been taken out, at once
 * when the queue is empty; clear drops all audio and fires every pending
 * mark, in order. The byte ring grows by doubling up to max_bytes (only on
 * growth, never per frame) and stays allocated for the call's life. */
#ifndef VX_PLAYQ_H
#define VX_PLAYQ_H
#include <stddef.h>
#include <stdint.h>

typedef struct playq playq;
typedef void (playq_mark_h)(const char *name, void *arg);

int playq_new(playq **out, size_t max_bytes, playq_mark_h *mh, void *arg);
void playq_destroy(playq *p);
/* Appends audio. -ENOBUFS (nothing queued) beyond max_bytes. */
int playq_write(playq *p, const uint8_t *a, size_t n);
/* Queues a mark (fires at once when no audio is queued). -ENOMEM. */
int playq_mark(playq *p, const char *name);
/* Takes up to n bytes into dst; fires the marks this reaches. Returns the
 * number of audio bytes copied (the caller pads with silence). */
size_t playq_read(playq *p, uint8_t *dst, size_t n);
/* Drops every queued byte and fires every pending mark, in order. */
void playq_clear(playq *p);
size_t playq_queued(const playq *p);
size_t playq_marks_pending(const playq *p);
#endif
