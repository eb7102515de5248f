/* rt_scan: allocation-free reading of audio delta events; see rt.h.
 * Only the simple, common shape is accepted (a flat object whose strings
 * have no escapes where we need them); anything else returns -ENOENT and
 * goes through the table-driven rt_parse. */
#include <errno.h>
#include <string.h>

#include "rt.h"

typedef struct span {
	const char *p;
	size_t n;
	int esc; /* contains a backslash */
} span;

static const char *ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* Bytes a plain string may not hold here: the quote ends it; escapes (and
 * their validity) and UTF-8 are rt_parse's job; control bytes are invalid.
 * A table: a delta's base64 is the longest string of every event. */
static const unsigned char STOP[256] = {
	[0x00 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x80 ... 0xff] = 1,
};

/* p at the opening quote; returns past the closing quote, or NULL */
static const char *str(const char *p, const char *e, span *s)
{
	s->p = ++p;
	s->esc = 0;
	while (p < e && !STOP[(unsigned char)*p])
		p++;
	if (p >= e || *p != '"')
		return NULL;
	s->n = (size_t)(p - s->p);
	return p + 1;
}

static int digit(const char *p, const char *e)
{
	return p < e && *p >= '0' && *p <= '9';
}

/* A JSON number (RFC 8259 grammar); returns past it, or NULL. */
static const char *num(const char *p, const char *e)
{
	if (p < e && *p == '-')
		p++;
	if (!digit(p, e))
		return NULL;
	if (*p == '0')
		p++;
	else
		while (digit(p, e))
			p++;
	if (p < e && *p == '.') {
		if (!digit(++p, e))
			return NULL;
		while (digit(p, e))
			p++;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		if (!digit(p, e))
			return NULL;
		while (digit(p, e))
			p++;
	}
	return p;
}

static int is(const span *s, const char *lit)
{
	size_t l = strlen(lit);
	return !s->esc && s->n == l && !memcmp(s->p, lit, l);
}

int rt_scan_delta(rt_event *ev, const char *json, size_t len)
{
	const char *p = json, *e = json + len;
	span type = { 0 }, item = { 0 }, delta = { 0 }, resp = { 0 }, evid = { 0 };
	int have_type = 0, have_item = 0, have_delta = 0, n;

	memset(ev, 0, sizeof(*ev));
	p = ws(p, e);
	if (p >= e || *p != '{')
		return -ENOENT;
	p = ws(p + 1, e);
	while (p < e && *p != '}') {
		span k, v;
		if (*p != '"' || !(p = str(p, e, &k)) || k.esc)
			return -ENOENT;
		p = ws(p, e);
		if (p >= e || *p != ':')
			return -ENOENT;
		p = ws(p + 1, e);
		if (p >= e)
			return -ENOENT;
		if (*p == '"') {
			if (!(p = str(p, e, &v)))
				return -ENOENT;
			if (is(&k, "type"))
				type = v, have_type++;
			else if (is(&k, "item_id"))
				item = v, have_item++;
			else if (is(&k, "delta"))
				delta = v, have_delta++;
			else if (is(&k, "response_id"))
				resp = v;
			else if (is(&k, "event_id"))
				evid = v;
		} else if ((*p >= '0' && *p <= '9') || *p == '-') {
			if (!(p = num(p, e)))
				return -ENOENT;
		} else {
			return -ENOENT; /* nested values, literals: not our simple shape */
		}
		p = ws(p, e);
		if (p < e && *p == ',')
			p = ws(p + 1, e);
		else if (p >= e || *p != '}')
			return -ENOENT;
	}
	if (p >= e || *p != '}' || ws(p + 1, e) != e)
		return -ENOENT;
	if (have_type != 1 || (!is(&type, "response.output_audio.delta") && !is(&type, "response.audio.delta")))
		return -ENOENT;
	if (have_item != 1 || have_delta != 1 || item.esc || delta.esc || item.n >= sizeof(ev->item_buf) ||
	    memchr(item.p, '\0', item.n))
		return -ENOENT;
	n = rt_b64_len(delta.p, delta.n);
	if (n < 0)
		return -EINVAL;
	memcpy(ev->item_buf, item.p, item.n);
	ev->item_buf[item.n] = '\0';
	ev->type = RT_AUDIO_DELTA;
	ev->type_name = type.n == strlen("response.audio.delta") ? "response.audio.delta"
							      : "response.output_audio.delta";
	ev->item_id = ev->item_buf;
	ev->delta = delta.p;
	ev->delta_len = delta.n;
	ev->audio_len = (size_t)n;
	ev->event_id = "";
	(void)resp;
	(void)evid;
	return 0;
}
