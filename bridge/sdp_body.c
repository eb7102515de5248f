/* sdp_body: finds the SDP inside a SIP message body (pure; see sdp.h).
 * Some trunks (SIP-I/SIP-T) send multipart/mixed bodies: SDP plus ISUP. */
#include "sdp.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* memmem bounded to [p, end) */
static const char *find(const char *p, const char *end, const char *needle, size_t nlen)
{
	if (p >= end || (size_t)(end - p) < nlen)
		return NULL;
	return memmem(p, (size_t)(end - p), needle, nlen);
}

static bool part_is_sdp(const char *h, const char *hend)
{
	/* Header lines of the part: look for Content-Type: application/sdp. */
	while (h < hend) {
		const char *eol = find(h, hend, "\r\n", 2);
		size_t n = eol ? (size_t)(eol - h) : (size_t)(hend - h);
		static const char ct[] = "content-type:";
		if (n > sizeof(ct) - 1 && strncasecmp(h, ct, sizeof(ct) - 1) == 0) {
			const char *v = h + sizeof(ct) - 1;
			size_t vn = n - (sizeof(ct) - 1);
			while (vn && (*v == ' ' || *v == '\t')) {
				v++;
				vn--;
			}
			return vn >= 15 && strncasecmp(v, "application/sdp", 15) == 0 &&
			       (vn == 15 || v[15] == ';' || v[15] == ' ');
		}
		h += n + 2;
	}
	return false;
}

int sdp_body_find(const char *ctype, const char *boundary, const char *body, size_t len,
		  const char **sdp, size_t *sdplen)
{
	char delim[96];
	size_t dlen;
	const char *end = body + len, *p;

	*sdp = NULL;
	*sdplen = 0;
	if (!body || !len)
		return -ENOENT;
	if (!ctype || strcasecmp(ctype, "application/sdp") == 0) {
		*sdp = body;
		*sdplen = len;
		return 0;
	}
	if (strncasecmp(ctype, "multipart/", 10) != 0 || !boundary)
		return -ENOENT;
	if (*boundary == '"') { /* boundary="..." */
		boundary++;
		dlen = strcspn(boundary, "\"");
	} else {
		dlen = strlen(boundary);
	}
	if (!dlen || dlen > 70) /* RFC 2046: 1 to 70 characters */
		return -EBADMSG;
	delim[0] = '-';
	delim[1] = '-';
	memcpy(delim + 2, boundary, dlen);
	dlen += 2;
	p = find(body, end, delim, dlen);
	while (p) {
		const char *hdr = p + dlen, *hend, *next;
		if (hdr + 2 > end || (hdr[0] == '-' && hdr[1] == '-'))
			break; /* closing delimiter */
		if (hdr[0] != '\r' || hdr[1] != '\n')
			return -EBADMSG;
		hdr += 2;
		hend = find(hdr, end, "\r\n\r\n", 4);
		if (!hend)
			return -EBADMSG;
		next = find(hend + 4, end, delim, dlen);
		if (!next)
			return -EBADMSG;
		if (part_is_sdp(hdr, hend + 2)) {
			const char *b = hend + 4, *e = next;
			if (e - b >= 2 && e[-2] == '\r' && e[-1] == '\n')
				e -= 2; /* the CRLF before a delimiter belongs to it */
			*sdp = b;
			*sdplen = (size_t)(e - b);
			return 0;
		}
		p = next;
	}
	return -ENOENT;
}
