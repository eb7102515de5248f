/* sdp: parser (pure; see sdp.h). Building and negotiation: sdp_build.c. */
#include "sdp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* A bounded view of one token or line: never NUL-terminated in place. */
typedef struct span {
	const char *p;
	size_t n;
} span;

static bool span_eq(span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n == n && memcmp(s.p, lit, n) == 0;
}

static bool span_ieq(span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n == n && strncasecmp(s.p, lit, n) == 0;
}

/* Next space-separated token of *s (advances *s). Empty span at the end. */
static span next_tok(span *s)
{
	while (s->n && *s->p == ' ') {
		s->p++;
		s->n--;
	}
	span t = { s->p, 0 };
	while (s->n && *s->p != ' ') {
		s->p++;
		s->n--;
		t.n++;
	}
	return t;
}

/* Copy a span into a bounded C string; -ENOSPC when it does not fit. */
static int span_copy(char *dst, size_t cap, span s)
{
	if (s.n >= cap)
		return -ENOSPC;
	memcpy(dst, s.p, s.n);
	dst[s.n] = '\0';
	return 0;
}

/* Decimal in [0, max], digits only, at most 9 of them. */
static int span_uint(span s, long max, long *out)
{
	long v = 0;
	if (s.n == 0 || s.n > 9)
		return -EINVAL;
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -EINVAL;
		v = v * 10 + (s.p[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Printable ASCII except the characters we never want to echo. */
static bool span_printable(span s)
{
	for (size_t i = 0; i < s.n; i++)
		if ((unsigned char)s.p[i] < 0x20 || (unsigned char)s.p[i] > 0x7e)
			return false;
	return true;
}

/* c=IN IP4 addr[/ttl[/n]] | IN IP6 addr */
static int parse_conn(span v, char *addr, size_t cap, int *family)
{
	span net = next_tok(&v), at = next_tok(&v), a = next_tok(&v);
	char tmp[SDP_ADDR_MAX];
	unsigned char bin[16];
	size_t n;

	if (!span_eq(net, "IN") || next_tok(&v).n)
		return -EINVAL;
	for (size_t i = 0; i < a.n; i++)
		if (a.p[i] == '/') { /* multicast TTL suffix: keep the address */
			a.n = i;
			break;
		}
	if (span_copy(tmp, sizeof(tmp), a) < 0)
		return -EINVAL;
	if (span_eq(at, "IP4")) {
		if (inet_pton(AF_INET, tmp, bin) != 1)
			return -EINVAL;
		*family = 4;
	} else if (span_eq(at, "IP6")) {
		if (inet_pton(AF_INET6, tmp, bin) != 1)
			return -EINVAL;
		*family = 6;
	} else {
		return -EINVAL;
	}
	n = strlen(tmp);
	if (n >= cap)
		return -EINVAL;
	memcpy(addr, tmp, n + 1);
	return 0;
}

/* m=<type> <port>[/<n>] <proto> <fmt> ... */
static int parse_m(span v, sdp_media *m)
{
	span type = next_tok(&v), port = next_tok(&v), proto = next_tok(&v);
	long n;

	if (!span_printable(type) || !span_printable(proto) ||
	    span_copy(m->type, sizeof(m->type), type) < 0 || !type.n)
		return -EINVAL;
	for (size_t i = 0; i < port.n; i++)
		if (port.p[i] == '/') {
			port.n = i;
			break;
		}
	if (span_uint(port, 65535, &n) < 0)
		return -EINVAL;
	m->port = (int)n;
	if (span_copy(m->proto, sizeof(m->proto), proto) < 0 || !proto.n)
		return -EINVAL;
	for (;;) {
		span f = next_tok(&v);
		if (!f.n)
			break;
		if (!span_printable(f))
			return -EINVAL;
		if (!m->first_fmt[0]) {
			span t = f;
			if (t.n >= sizeof(m->first_fmt))
				t.n = sizeof(m->first_fmt) - 1;
			span_copy(m->first_fmt, sizeof(m->first_fmt), t);
		}
		/* RTP formats are payload types; others (e.g. "webrtc-datachannel") are kept only as first_fmt. */
		if (span_uint(f, 127, &n) < 0)
			continue;
		if (m->nfmts >= SDP_MAX_FMT)
			continue; /* long codec lists: the first ones are what we want */
		m->fmts[m->nfmts].pt = (int)n;
		m->fmts[m->nfmts].channels = 1;
		m->nfmts++;
	}
	if (!m->first_fmt[0])
		return -EINVAL; /* RFC 4566: at least one format */
	return 0;
}

static sdp_fmt *find_fmt(sdp_media *m, int pt)
{
	for (int i = 0; i < m->nfmts; i++)
		if (m->fmts[i].pt == pt)
			return &m->fmts[i];
	return NULL;
}

/* a=rtpmap:<pt> <enc>/<rate>[/<ch>] */
static int parse_rtpmap(span v, sdp_media *m)
{
	span pts = next_tok(&v), map = next_tok(&v);
	long pt, n;
	span enc = map, rate = { NULL, 0 }, ch = { NULL, 0 };
	sdp_fmt *f;

	if (span_uint(pts, 127, &pt) < 0 || !map.n || next_tok(&v).n)
		return -EINVAL;
	for (size_t i = 0; i < map.n; i++)
		if (map.p[i] == '/') {
			enc.n = i;
			rate.p = map.p + i + 1;
			rate.n = map.n - i - 1;
			break;
		}
	for (size_t i = 0; rate.p && i < rate.n; i++)
		if (rate.p[i] == '/') {
			ch.p = rate.p + i + 1;
			ch.n = rate.n - i - 1;
			rate.n = i;
			break;
		}
	if (!rate.p || span_uint(rate, 1000000, &n) < 0 || !enc.n || !span_printable(enc))
		return -EINVAL;
	f = find_fmt(m, (int)pt);
	if (!f)
		return 0; /* rtpmap for a format not listed (or dropped): ignore */
	if (span_copy(f->enc, sizeof(f->enc), enc) < 0)
		return -EINVAL;
	f->rate = (int)n;
	if (ch.p) {
		if (span_uint(ch, 255, &n) < 0)
			return -EINVAL;
		f->channels = (int)n;
	}
	return 0;
}

/* a=fmtp:<pt> <params...> */
static int parse_fmtp(span v, sdp_media *m)
{
	span pts = next_tok(&v);
	long pt;
	sdp_fmt *f;

	if (span_uint(pts, 127, &pt) < 0)
		return -EINVAL;
	while (v.n && *v.p == ' ') {
		v.p++;
		v.n--;
	}
	f = find_fmt(m, (int)pt);
	if (!f)
		return 0;
	if (!span_printable(v))
		return -EINVAL;
	if (v.n >= sizeof(f->fmtp))
		v.n = sizeof(f->fmtp) - 1; /* long fmtp (e.g. opus): truncated, unused */
	return span_copy(f->fmtp, sizeof(f->fmtp), v);
}

static int parse_dir(span a, sdp_dir *d)
{
	if (span_eq(a, "sendrecv"))
		*d = SDP_SENDRECV;
	else if (span_eq(a, "sendonly"))
		*d = SDP_SENDONLY;
	else if (span_eq(a, "recvonly"))
		*d = SDP_RECVONLY;
	else if (span_eq(a, "inactive"))
		*d = SDP_INACTIVE;
	else
		return -ENOENT;
	return 0;
}

typedef struct pstate {
	sdp_session *s;
	sdp_media *m;          /* current m= section, NULL at session level */
	char saddr[SDP_ADDR_MAX];
	int sfamily;
	sdp_dir sdir;
	bool sdir_set;
	bool mdir_set[SDP_MAX_MEDIA];
	bool maddr_set[SDP_MAX_MEDIA];
} pstate;
_Static_assert(sizeof(((pstate *)0)->saddr) == sizeof(((sdp_media *)0)->addr), "saddr copies to addr");

static int parse_attr(pstate *ps, span v)
{
	span name = v, val = { NULL, 0 };
	sdp_dir d;
	long n;

	for (size_t i = 0; i < v.n; i++)
		if (v.p[i] == ':') {
			name.n = i;
			val.p = v.p + i + 1;
			val.n = v.n - i - 1;
			break;
		}
	if (parse_dir(name, &d) == 0) {
		if (ps->m) {
			ps->m->dir = d;
			ps->mdir_set[ps->s->nmedia - 1] = true;
		} else {
			ps->sdir = d;
			ps->sdir_set = true;
		}
		return 0;
	}
	if (!ps->m)
		return 0; /* other session attributes do not matter to us */
	if (span_eq(name, "rtpmap") && val.p)
		return parse_rtpmap(val, ps->m);
	if (span_eq(name, "fmtp") && val.p)
		return parse_fmtp(val, ps->m);
	if (span_eq(name, "ptime") && val.p) {
		if (span_uint(val, 1000, &n) < 0)
			return -EINVAL;
		ps->m->ptime = (int)n;
	}
	return 0;
}

static int parse_line(pstate *ps, char type, span v, char *err, size_t errlen)
{
	sdp_session *s = ps->s;
	int rc;

	switch (type) {
	case 'c':
		if (ps->m) {
			rc = parse_conn(v, ps->m->addr, sizeof(ps->m->addr), &ps->m->family);
			ps->maddr_set[s->nmedia - 1] = true;
		} else {
			rc = parse_conn(v, ps->saddr, sizeof(ps->saddr), &ps->sfamily);
		}
		if (rc < 0)
			return fail(err, errlen, -EBADMSG, "sdp: bad c= line");
		return 0;
	case 'm':
		if (s->nmedia >= SDP_MAX_MEDIA)
			return fail(err, errlen, -EBADMSG, "sdp: more than %d m= lines", SDP_MAX_MEDIA);
		ps->m = &s->media[s->nmedia++];
		if (parse_m(v, ps->m) < 0)
			return fail(err, errlen, -EBADMSG, "sdp: bad m= line");
		return 0;
	case 'a':
		if (parse_attr(ps, v) < 0)
			return fail(err, errlen, -EBADMSG, "sdp: bad a= line");
		return 0;
	default:
		/* o= s= t= b= i= u= e= p= z= k= r=: syntax checked, content unused */
		return 0;
	}
}

int sdp_parse(sdp_session *out, const char *buf, size_t len, char *err, size_t errlen)
{
	pstate ps;
	size_t pos = 0;
	int lineno = 0, rc;

	if (!out || (!buf && len))
		return fail(err, errlen, -EINVAL, "sdp: no input");
	memset(out, 0, sizeof(*out));
	memset(&ps, 0, sizeof(ps));
	ps.s = out;
	out->audio = -1;
	if (len > SDP_MAX_LEN)
		return fail(err, errlen, -E2BIG, "sdp: body of %zu bytes is too long", len);
	while (pos < len) {
		size_t start = pos, end;
		while (pos < len && buf[pos] != '\n')
			pos++;
		end = pos;
		if (pos < len)
			pos++; /* skip \n */
		if (end > start && buf[end - 1] == '\r')
			end--;
		lineno++;
		if (end == start)
			continue; /* blank lines (a trailing CRLF CRLF) are tolerated */
		if (end - start > SDP_MAX_LINE)
			return fail(err, errlen, -EBADMSG, "sdp: line %d too long", lineno);
		if (end - start < 2 || buf[start] < 'a' || buf[start] > 'z' || buf[start + 1] != '=')
			return fail(err, errlen, -EBADMSG, "sdp: line %d is not <letter>=<value>", lineno);
		span v = { buf + start + 2, end - start - 2 };
		if (memchr(v.p, '\0', v.n) || memchr(v.p, '\r', v.n))
			return fail(err, errlen, -EBADMSG, "sdp: line %d has control bytes", lineno);
		if (lineno == 1 && !(buf[start] == 'v' && span_eq(v, "0")))
			return fail(err, errlen, -EBADMSG, "sdp: does not start with v=0");
		rc = parse_line(&ps, buf[start], v, err, errlen);
		if (rc < 0)
			return rc;
	}
	if (lineno == 0)
		return fail(err, errlen, -EBADMSG, "sdp: empty body");
	/* Session-level c= and direction apply where a media section has none. */
	for (int i = 0; i < out->nmedia; i++) {
		sdp_media *m = &out->media[i];
		if (!ps.maddr_set[i] && ps.sfamily) {
			memcpy(m->addr, ps.saddr, sizeof(m->addr)); /* both char[SDP_ADDR_MAX] */
			m->family = ps.sfamily;
		}
		if (!ps.mdir_set[i])
			m->dir = ps.sdir_set ? ps.sdir : SDP_SENDRECV;
		if (out->audio < 0 && span_ieq((span){ m->type, strlen(m->type) }, "audio") &&
		    m->port > 0 && m->family)
			out->audio = i;
	}
	if (out->audio < 0) /* hold by port 0 / no c=: still the first audio line */
		for (int i = 0; i < out->nmedia; i++)
			if (strcasecmp(out->media[i].type, "audio") == 0) {
				out->audio = i;
				break;
			}
	return 0;
}

const char *sdp_dir_name(sdp_dir d)
{
	switch (d) {
	case SDP_SENDONLY: return "sendonly";
	case SDP_RECVONLY: return "recvonly";
	case SDP_INACTIVE: return "inactive";
	default: return "sendrecv";
	}
}
