/* sb_rate: per-source token buckets (see sb_rate.h). */
#include "sb_rate.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
	uint8_t addr[16];   /* IPv4 in the first 4 bytes; port ignored */
	int family;         /* 0 = free */
	double tokens;
	uint64_t last_ms;
} slot;

struct sb_rate {
	double per_sec, burst;
	size_t n;
	slot s[];
};

int sb_rate_new(sb_rate **out, double per_sec, double burst, size_t slots)
{
	sb_rate *r;

	*out = NULL;
	if (per_sec <= 0 || burst < 1 || !slots || slots > (1u << 20))
		return -EINVAL;
	r = calloc(1, sizeof(*r) + slots * sizeof(slot));
	if (!r)
		return -ENOMEM;
	r->per_sec = per_sec;
	r->burst = burst;
	r->n = slots;
	*out = r;
	return 0;
}

void sb_rate_destroy(sb_rate *r)
{
	free(r);
}

/* FNV-1a over the address bytes. */
static size_t hash(const uint8_t *b, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

bool sb_rate_allow(sb_rate *r, const struct sockaddr *sa, uint64_t now_ms)
{
	uint8_t key[16] = { 0 };
	size_t klen;
	slot *s;

	if (!r || !sa)
		return true;
	if (sa->sa_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		klen = 4;
	} else if (sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		klen = 16;
	} else {
		return true;
	}
	s = &r->s[hash(key, klen) % r->n];
	if (s->family != sa->sa_family || memcmp(s->addr, key, sizeof(key)) != 0) {
		memcpy(s->addr, key, sizeof(key));
		s->family = sa->sa_family;
		s->tokens = r->burst;
		s->last_ms = now_ms;
	}
	if (now_ms > s->last_ms) {
		s->tokens += (double)(now_ms - s->last_ms) * r->per_sec / 1000.0;
		if (s->tokens > r->burst)
			s->tokens = r->burst;
		s->last_ms = now_ms;
	}
	if (s->tokens < 1.0)
		return false;
	s->tokens -= 1.0;
	return true;
}
