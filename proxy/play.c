/* play: heard-audio bookkeeping for barge-in; see play.h. */
#include "play.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void play_init(play *p)
{
	memset(p, 0, sizeof(*p));
	p->next_seq = 1;
}

uint32_t play_sent(play *p, const char *item_id, size_t n)
{
	size_t slot;

	if (!item_id)
		item_id = "";
	if (strncmp(p->item, item_id, sizeof(p->item) - 1) || !p->item_no) {
		snprintf(p->item, sizeof(p->item), "%s", item_id);
		p->gen = 0;
		p->heard = 0;
		p->item_no++;
	}
	p->gen += n;
	if (p->n == PLAY_MAX_MARKS)
		return 0;
	slot = (p->head + p->n) % PLAY_MAX_MARKS;
	p->ring[slot].seq = p->next_seq++;
	if (!p->next_seq)
		p->next_seq = 1;
	p->ring[slot].item_no = p->item_no;
	p->ring[slot].pos = p->gen;
	p->n++;
	return p->ring[slot].seq;
}

int play_mark(play *p, const char *name)
{
	size_t pl = strlen(PLAY_MARK_PREFIX), k;
	unsigned long seq;
	char *end;

	if (strncmp(name, PLAY_MARK_PREFIX, pl) || name[pl] < '0' || name[pl] > '9')
		return -ENOENT;
	seq = strtoul(name + pl, &end, 10);
	if (*end || seq == 0 || seq > UINT32_MAX)
		return -ENOENT;
	for (k = 0; k < p->n; k++)
		if (p->ring[(p->head + k) % PLAY_MAX_MARKS].seq == seq)
			break;
	if (k == p->n)
		return -ENOENT;
	/* marks come back in order: everything up to this one has played */
	for (size_t i = 0; i <= k; i++) {
		size_t s = (p->head + i) % PLAY_MAX_MARKS;
		if (p->ring[s].item_no == p->item_no && p->ring[s].pos > p->heard)
			p->heard = p->ring[s].pos;
	}
	p->head = (p->head + k + 1) % PLAY_MAX_MARKS;
	p->n -= k + 1;
	return 0;
}

bool play_playing(const play *p)
{
	return p->n > 0;
}

long play_pending_ms(const play *p)
{
	return p->n ? (long)((p->gen - p->heard) / 8) : 0;
}

bool play_barge(play *p, const char **item_id, long *audio_end_ms)
{
	uint64_t h;

	if (!p->n)
		return false;
	h = p->heard < p->gen ? p->heard : p->gen;
	*item_id = p->item;
	*audio_end_ms = (long)(h / 8);
	p->n = 0; /* their echoes (after clear) are not audio heard */
	p->gen = h;
	return true;
}
