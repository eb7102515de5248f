/* sdp: the subset of SDP (RFC 4566 / RFC 3264 offer-answer) sipbridge needs,
 * as pure functions: bytes in -> struct out, struct in -> text out, no I/O,
 * no allocation (so a libFuzzer target can call them directly).
 *
 * Input is hostile: bounded total length (SDP_MAX_LEN), bounded line and
 * token lengths, NUL bytes, unknown line types, bad numbers or addresses
 * give a negative errno and a one-line reason in err; nothing crashes.
 *
 * Only the first m=audio line is negotiated; every other m= line is kept
 * just enough to be refused (port 0) in the answer, as RFC 3264 requires
 * the answer to carry as many m= lines as the offer. */
#ifndef VX_SDP_H
#define VX_SDP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SDP_MAX_LEN 16384  /* larger bodies are refused */
#define SDP_MAX_LINE 1024  /* one line, without CRLF */
#define SDP_MAX_FMT 32     /* formats kept per m= line (extra ones ignored) */
#define SDP_MAX_MEDIA 8    /* m= lines accepted */
#define SDP_ADDR_MAX 64    /* textual IPv4/IPv6 address incl. NUL */

typedef enum { SDP_SENDRECV = 0, SDP_SENDONLY, SDP_RECVONLY, SDP_INACTIVE } sdp_dir;

typedef struct sdp_fmt {
	int pt;            /* 0..127 */
	char enc[32];      /* rtpmap encoding name, "" when no rtpmap */
	int rate;          /* rtpmap clock rate, 0 when no rtpmap */
	int channels;      /* 1 unless given */
	char fmtp[128];    /* a=fmtp parameters, "" when none */
} sdp_fmt;

typedef struct sdp_media {
	char type[16];              /* "audio", "video", ... */
	char proto[32];             /* "RTP/AVP", ... */
	int port;                   /* 0 = refused/disabled stream */
	char addr[SDP_ADDR_MAX];    /* effective c= (media level, else session level) */
	int family;                 /* 4 or 6, 0 when no c= at all */
	sdp_fmt fmts[SDP_MAX_FMT];
	int nfmts;
	char first_fmt[16];         /* first format token as written (for refusals) */
	sdp_dir dir;                /* effective direction (media level, else session) */
	int ptime;                  /* 0 when absent */
} sdp_media;

typedef struct sdp_session {
	sdp_media media[SDP_MAX_MEDIA];
	int nmedia;
	int audio;                  /* index of the first usable m=audio, -1 when none */
} sdp_session;

/* Parse an SDP body of len bytes (need not be NUL-terminated).
 * 0 ok; -EBADMSG malformed; -E2BIG too long. */
int sdp_parse(sdp_session *out, const char *buf, size_t len, char *err, size_t errlen);

/* The SDP inside a SIP body: the whole body for application/sdp (or no
 * Content-Type), the application/sdp part of a multipart body (boundary =
 * the Content-Type's boundary parameter, quoted or not). *sdp points into
 * body. 0 found; -ENOENT no SDP part; -EBADMSG broken multipart. */
int sdp_body_find(const char *ctype, const char *boundary, const char *body, size_t len,
		  const char **sdp, size_t *sdplen);

/* Result of negotiating an offer. */
typedef struct sdp_choice {
	int pt;                      /* 0 (PCMU) or 8 (PCMA) */
	int dtmf_pt;                 /* telephone-event PT as offered, -1 when none */
	char dtmf_fmtp[64];          /* events to answer ("0-16") */
	sdp_dir dir;                 /* OUR direction in the answer (offer mirrored) */
	bool hold;                   /* remote put us on hold (sendonly/inactive/0.0.0.0/port 0) */
	char raddr[SDP_ADDR_MAX];    /* remote RTP address, "" when unknown / on hold */
	int rport;                   /* remote RTP port, 0 when unknown */
	int audio_index;             /* which m= line was used */
} sdp_choice;

/* Pick PCMU (preferred) or PCMA plus telephone-event/8000 from an offer.
 * 0 ok; -ENOENT no usable audio codec (answer 488); -EPROTO no audio
 * stream at all (also 488). */
int sdp_negotiate(const sdp_session *offer, sdp_choice *out, char *err, size_t errlen);

/* Our side of the description. */
typedef struct sdp_local {
	const char *addr;      /* address written in o= and c= (PUBLIC_IP or local) */
	int port;              /* our RTP port */
	uint64_t sess_id;      /* o= session id (constant for the call) */
	uint64_t sess_ver;     /* o= version (bump on each new description) */
} sdp_local;

/* Answer to `offer` with the negotiated choice. Returns the length written
 * (NUL-terminated) or -ENOSPC / -EINVAL. */
int sdp_build_answer(char *buf, size_t cap, const sdp_session *offer,
		     const sdp_choice *c, const sdp_local *l);
/* Our offer for a delayed-offer INVITE (no SDP in it): PCMU, PCMA and
 * telephone-event/8000 as PT 101, sendrecv. */
int sdp_build_offer(char *buf, size_t cap, const sdp_local *l);

const char *sdp_dir_name(sdp_dir d);
#endif
