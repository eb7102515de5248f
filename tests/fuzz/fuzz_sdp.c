/* fuzz_sdp: sdp_parse -> sdp_negotiate -> sdp_build_answer (the body of every
 * INVITE and re-INVITE reaching sipbridge). Contract checked: bounded
 * counts and NUL-terminated fields; a negotiated choice is PCMU or PCMA
 * with a sane port; our own answer parses again, keeps one m= line per
 * offered m= line (RFC 3264) and, negotiated again, selects the same codec. */
#include "fuzz.h"

#include <errno.h>

#include "sdp.h"

static void check_session(const sdp_session *s)
{
	FZ_CHECK(s->nmedia >= 0 && s->nmedia <= SDP_MAX_MEDIA);
	FZ_CHECK(s->audio >= -1 && s->audio < s->nmedia);
	for (int i = 0; i < s->nmedia; i++) {
		const sdp_media *m = &s->media[i];
		FZ_CSTR(m->type);
		FZ_CSTR(m->proto);
		FZ_CSTR(m->addr);
		FZ_CSTR(m->first_fmt);
		FZ_CHECK(m->port >= 0 && m->port <= 65535);
		FZ_CHECK(m->family == 0 || m->family == 4 || m->family == 6);
		FZ_CHECK(m->nfmts >= 0 && m->nfmts <= SDP_MAX_FMT);
		for (int k = 0; k < m->nfmts; k++) {
			FZ_CHECK(m->fmts[k].pt >= 0 && m->fmts[k].pt <= 127);
			FZ_CSTR(m->fmts[k].enc);
			FZ_CSTR(m->fmts[k].fmtp);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sdp_session offer, again; /* large: keep them off the stack */
	static char answer[8192];
	char err[256];
	sdp_choice c, c2;
	sdp_local l = { .addr = "192.0.2.10", .port = 40000, .sess_id = 42, .sess_ver = 1 };
	int r, n;

	err[0] = '\0';
	r = sdp_parse(&offer, (const char *)data, size, err, sizeof(err));
	FZ_CSTR(err);
	FZ_CHECK(r == 0 || r == -EBADMSG || r == -E2BIG);
	if (size > SDP_MAX_LEN)
		FZ_CHECK(r == -E2BIG);
	if (r)
		return 0;
	check_session(&offer);

	r = sdp_negotiate(&offer, &c, err, sizeof(err));
	FZ_CHECK(r == 0 || r == -ENOENT || r == -EPROTO);
	if (r)
		return 0;
	FZ_CHECK(c.pt == 0 || c.pt == 8);
	FZ_CHECK(c.dtmf_pt == -1 || (c.dtmf_pt >= 96 && c.dtmf_pt <= 127));
	FZ_CSTR(c.dtmf_fmtp);
	FZ_CSTR(c.raddr);
	FZ_CHECK(c.rport >= 0 && c.rport <= 65535);
	FZ_CHECK(c.audio_index == offer.audio);

	n = sdp_build_answer(answer, sizeof(answer), &offer, &c, &l);
	FZ_CHECK(n == -ENOSPC || (n > 0 && (size_t)n < sizeof(answer) && strlen(answer) == (size_t)n));
	if (n < 0)
		return 0;
	r = sdp_parse(&again, answer, (size_t)n, err, sizeof(err));
	if (r) {
		fprintf(stderr, "our answer does not parse (%s):\n%s\n", err, answer);
		abort();
	}
	check_session(&again);
	FZ_CHECK(again.nmedia == offer.nmedia);
	r = sdp_negotiate(&again, &c2, err, sizeof(err));
	/* On hold we answer recvonly/inactive, still with our codec. */
	if (r) {
		fprintf(stderr, "our answer does not negotiate (%s):\n%s\n", err, answer);
		abort();
	}
	FZ_CHECK(c2.pt == c.pt);
	FZ_CHECK((c2.dtmf_pt >= 0) == (c.dtmf_pt >= 0));
	return 0;
}
