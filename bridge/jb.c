/* jb: the inbound reorder window (see jb.h). */
#include "jb.h"

#include <string.h>

void jb_init(jb *j, jb_out_h *out_h, void *arg)
{
	memset(j, 0, sizeof(*j));
	j->out_h = out_h;
	j->arg = arg;
}

static void emit(jb *j, const rtp_hdr *h)
{
	j->st.out++;
	j->next = (uint16_t)(h->seq + 1);
	j->out_h(h, j->arg);
}

static jb_slot *find(jb *j, uint16_t seq)
{
	for (int i = 0; i < JB_DEPTH; i++)
		if (j->slot[i].used && j->slot[i].h.seq == seq)
			return &j->slot[i];
	return NULL;
}

/* Releases held packets that are now in order. */
static void drain(jb *j)
{
	jb_slot *s;
	while ((s = find(j, j->next))) {
		s->used = false;
		emit(j, &s->h);
	}
}

/* Releases the oldest held packet, skipping (losing) the gap before it. */
static bool release_oldest(jb *j)
{
	jb_slot *best = NULL;
	for (int i = 0; i < JB_DEPTH; i++) {
		jb_slot *s = &j->slot[i];
		if (s->used && (!best || rtp_seq_diff(s->h.seq, best->h.seq) < 0))
			best = s;
	}
	if (!best)
		return false;
	j->st.lost += (uint64_t)rtp_seq_diff(best->h.seq, j->next);
	j->next = best->h.seq;
	drain(j);
	return true;
}

void jb_flush(jb *j)
{
	while (release_oldest(j))
		;
}

unsigned jb_held(const jb *j)
{
	unsigned n = 0;
	for (int i = 0; i < JB_DEPTH; i++)
		n += j->slot[i].used;
	return n;
}

const jb_stats *jb_get_stats(const jb *j)
{
	return &j->st;
}

static void hold(jb *j, const rtp_hdr *h)
{
	jb_slot *s = NULL;
	while (jb_held(j) == JB_DEPTH) {
		/* The window is full: the gap before the oldest packet we have
		 * (this one included) is lost. */
		bool older = true;
		for (int i = 0; i < JB_DEPTH; i++)
			if (rtp_seq_diff(h->seq, j->slot[i].h.seq) > 0)
				older = false;
		if (older) {
			j->st.lost += (uint64_t)rtp_seq_diff(h->seq, j->next);
			emit(j, h);
			drain(j);
			return;
		}
		release_oldest(j);
		/* Releasing may have made this packet next, or even late. */
		int d = rtp_seq_diff(h->seq, j->next);
		if (d == 0) {
			emit(j, h);
			drain(j);
			return;
		}
		if (d < 0) {
			j->st.late++;
			return;
		}
	}
	for (int i = 0; i < JB_DEPTH && !s; i++)
		if (!j->slot[i].used)
			s = &j->slot[i];
	s->used = true;
	s->h = *h;
	memcpy(s->data, h->payload, h->len);
	s->h.payload = s->data;
}

void jb_push(jb *j, const rtp_hdr *h)
{
	int d;

	j->st.in++;
	if (h->len > JB_MAX_PAYLOAD) {
		j->st.oversize++;
		return;
	}
	if (j->init && h->ssrc != j->ssrc) {
		jb_flush(j);
		j->init = false;
	}
	if (!j->init) {
		if (j->st.out)
			j->st.resets++;
		j->init = true;
		j->ssrc = h->ssrc;
		j->next = h->seq;
	}
	d = rtp_seq_diff(h->seq, j->next);
	if (d > JB_JUMP || d < -JB_JUMP) {
		/* The sender restarted its sequence without a new SSRC. */
		jb_flush(j);
		j->st.resets++;
		j->next = h->seq;
		d = 0;
	}
	if (d == 0) {
		emit(j, h);
		drain(j);
	} else if (d < 0) {
		j->st.late++; /* duplicate of a released packet, or too late */
	} else if (find(j, h->seq)) {
		j->st.dup++;
	} else {
		j->st.reordered++;
		hold(j, h);
	}
}
