/* fuzz_jb: the inbound reorder window fed random datagrams. Input: records
 * [u16 big-endian length][datagram]; length 0xFFFF means jb_flush. Each
 * datagram goes through rtp_parse like on the socket, then jb_push.
 * Contract checked: within one SSRC (and no restart), released sequence
 * numbers strictly increase (no duplicate, no going back); at most JB_DEPTH
 * packets held; never more out than in; released payloads are readable and
 * are the bytes that were pushed for that sequence number. */
#include "fuzz.h"

#include <errno.h>

#include "jb.h"

#define VX_LEN(a) (sizeof(a) / sizeof((a)[0]))

typedef struct seen {
	bool any;
	uint32_t ssrc;
	uint16_t seq;
	uint64_t resets;
	const jb *j;
	/* Payload checksum pushed last for each (ssrc, seq): open addressing,
	 * far larger than the packets one input can hold. */
	struct { bool used; uint32_t ssrc; uint16_t seq; uint32_t sum; } tab[1 << 15];
} seen;

static uint32_t *slot_sum(seen *s, uint32_t ssrc, uint16_t seq, bool create)
{
	size_t mask = VX_LEN(s->tab) - 1, i = ((ssrc * 2654435761u) ^ seq) & mask;

	for (; s->tab[i].used; i = (i + 1) & mask)
		if (s->tab[i].ssrc == ssrc && s->tab[i].seq == seq)
			return &s->tab[i].sum;
	if (!create)
		return NULL;
	s->tab[i].used = true;
	s->tab[i].ssrc = ssrc;
	s->tab[i].seq = seq;
	return &s->tab[i].sum;
}

static uint32_t sum(const uint8_t *p, size_t n)
{
	uint32_t s = 2166136261u; /* FNV-1a: reads every byte (ASan checks them) */
	for (size_t i = 0; i < n; i++)
		s = (s ^ p[i]) * 16777619u;
	return s ^ (uint32_t)n;
}

static void out_h(const rtp_hdr *h, void *arg)
{
	seen *s = arg;
	const jb_stats *st = jb_get_stats(s->j);

	FZ_CHECK(h->len <= JB_MAX_PAYLOAD);
	{
		uint32_t *want = slot_sum(s, h->ssrc, h->seq, false);
		FZ_CHECK(want && sum(h->payload, h->len) == *want);
	}
	if (s->any && h->ssrc == s->ssrc && st->resets == s->resets) {
		int d = rtp_seq_diff(h->seq, s->seq);
		if (d <= 0) {
			fprintf(stderr, "jb released seq %u after %u (ssrc %08x)\n", h->seq, s->seq, h->ssrc);
			abort();
		}
	}
	s->any = true;
	s->ssrc = h->ssrc;
	s->seq = h->seq;
	s->resets = st->resets;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static seen s;
	jb j;
	size_t off = 0;

	memset(&s, 0, sizeof(s));
	s.j = &j;
	jb_init(&j, out_h, &s);
	while (off + 2 <= size) {
		size_t n = (size_t)data[off] << 8 | data[off + 1];
		rtp_hdr h;
		off += 2;
		if (n == 0xFFFF) {
			jb_flush(&j);
			FZ_CHECK(jb_held(&j) == 0);
			continue;
		}
		if (n > size - off)
			n = size - off;
		if (rtp_parse(&h, data + off, n) == 0) {
			/* A new packet with a held sequence number is a duplicate: the
			 * held copy wins, so remember the first one still held. */
			bool held = false;
			for (int i = 0; i < JB_DEPTH; i++)
				held |= j.slot[i].used && j.slot[i].h.seq == h.seq &&
					j.slot[i].h.ssrc == h.ssrc;
			if (!held && h.len <= JB_MAX_PAYLOAD)
				*slot_sum(&s, h.ssrc, h.seq, true) = sum(h.payload, h.len);
			jb_push(&j, &h);
		}
		off += n;
		FZ_CHECK(jb_held(&j) <= JB_DEPTH);
		FZ_CHECK(jb_get_stats(&j)->out <= jb_get_stats(&j)->in);
	}
	jb_flush(&j);
	FZ_CHECK(jb_held(&j) == 0);
	return 0;
}
