/* playq: outbound playout queue with marks and clear (see playq.h). */
#include "playq.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twilio.h"

#define PLAY_INIT_CAP 8192

typedef struct playq_markq {
	uint64_t pos;               /* fires when `out` reaches it */
	char name[TW_NAME_MAX];
} playq_markq;

struct playq {
	uint8_t *buf;
	size_t cap, max, head, len; /* ring: data at head..head+len (mod cap) */
	uint64_t in, out;           /* bytes ever written / read */
	playq_markq *marks;          /* FIFO ring of pending marks */
	size_t mcap, mhead, mlen;
	playq_mark_h *mh;
	void *arg;
};

int playq_new(playq **out, size_t max_bytes, playq_mark_h *mh, void *arg)
{
	playq *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->max = max_bytes ? max_bytes : 4u << 20;
	p->mh = mh;
	p->arg = arg;
	*out = p;
	return 0;
}

void playq_destroy(playq *p)
{
	if (!p)
		return;
	free(p->buf);
	free(p->marks);
	free(p);
}

size_t playq_queued(const playq *p)
{
	return p->len;
}

size_t playq_marks_pending(const playq *p)
{
	return p->mlen;
}

static int grow(playq *p, size_t need)
{
	size_t ncap = p->cap ? p->cap : PLAY_INIT_CAP;
	uint8_t *nb;
	while (ncap < need)
		ncap *= 2;
	if (ncap > p->max)
		ncap = p->max;
	if (ncap < need)
		return -ENOBUFS;
	nb = malloc(ncap);
	if (!nb)
		return -ENOMEM;
	/* Unwrap the ring into the new buffer. */
	size_t first = p->len < p->cap - p->head ? p->len : p->cap - p->head;
	if (p->len) {
		memcpy(nb, p->buf + p->head, first);
		memcpy(nb + first, p->buf, p->len - first);
	}
	free(p->buf);
	p->buf = nb;
	p->cap = ncap;
	p->head = 0;
	return 0;
}

int playq_write(playq *p, const uint8_t *a, size_t n)
{
	int rc;
	if (!n)
		return 0;
	if (p->len + n > p->cap && (rc = grow(p, p->len + n)) < 0)
		return rc;
	size_t tail = (p->head + p->len) % p->cap;
	size_t first = n < p->cap - tail ? n : p->cap - tail;
	memcpy(p->buf + tail, a, first);
	memcpy(p->buf, a + first, n - first);
	p->len += n;
	p->in += n;
	return 0;
}

static void fire_due(playq *p, bool all)
{
	while (p->mlen) {
		playq_markq *m = &p->marks[p->mhead];
		if (!all && m->pos > p->out)
			return;
		p->mhead = (p->mhead + 1) % p->mcap;
		p->mlen--;
		/* The slot may be reused by a mark queued from the callback: copy. */
		char name[TW_NAME_MAX];
		memcpy(name, m->name, sizeof(name));
		if (p->mh)
			p->mh(name, p->arg);
	}
}

int playq_mark(playq *p, const char *name)
{
	if (!p->len && !p->mlen) {
		if (p->mh)
			p->mh(name, p->arg);
		return 0;
	}
	if (p->mlen == p->mcap) {
		size_t ncap = p->mcap ? p->mcap * 2 : 4;
		playq_markq *nm = malloc(ncap * sizeof(*nm));
		if (!nm)
			return -ENOMEM;
		for (size_t i = 0; i < p->mlen; i++)
			nm[i] = p->marks[(p->mhead + i) % p->mcap];
		free(p->marks);
		p->marks = nm;
		p->mcap = ncap;
		p->mhead = 0;
	}
	playq_markq *m = &p->marks[(p->mhead + p->mlen) % p->mcap];
	m->pos = p->in;
	snprintf(m->name, sizeof(m->name), "%s", name);
	p->mlen++;
	return 0;
}

size_t playq_read(playq *p, uint8_t *dst, size_t n)
{
	if (n > p->len)
		n = p->len;
	if (n) {
		size_t first = n < p->cap - p->head ? n : p->cap - p->head;
		memcpy(dst, p->buf + p->head, first);
		memcpy(dst + first, p->buf, n - first);
		p->head = (p->head + n) % p->cap;
		p->len -= n;
		p->out += n;
	}
	fire_due(p, false);
	return n;
}

void playq_clear(playq *p)
{
	p->out += p->len;
	p->head = 0;
	p->len = 0;
	fire_due(p, true);
}
