/* sb_rate: per-source token buckets against INVITE floods (issue 8).
 * A fixed table of slots indexed by a hash of the source address: no
 * allocation per packet, bounded memory whatever the number of sources (a
 * new source colliding with another takes its slot over with a full bucket).
 * Pure logic: the caller passes the current time. */
#ifndef VX_SB_RATE_H
#define VX_SB_RATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct sb_rate sb_rate;

/* per_sec tokens per second, burst bucket size, slots table size (>0). */
int sb_rate_new(sb_rate **out, double per_sec, double burst, size_t slots);
void sb_rate_destroy(sb_rate *r);
/* Takes one token for this source at now_ms; false when its bucket is empty. */
bool sb_rate_allow(sb_rate *r, const struct sockaddr *sa, uint64_t now_ms);
#endif
