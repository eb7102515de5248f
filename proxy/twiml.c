/* twiml: TwiML <Connect><Stream> answer; see twiml.h. */
#include "twiml.h"

#include <errno.h>
#include <string.h>

int twiml_escape(char *dst, size_t cap, const char *s)
{
	size_t o = 0;

	for (; *s; s++) {
		const char *rep = NULL;
		char one[2] = { *s, 0 };
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&apos;"; break;
		case '\t': rep = "&#9;"; break;
		case '\n': rep = "&#10;"; break;
		case '\r': rep = "&#13;"; break;
		default:
			if (c < 0x20 || c == 0x7f)
				continue; /* not allowed in XML 1.0 */
			rep = one;
		}
		size_t l = strlen(rep);
		if (o + l + 1 > cap)
			return -ENOSPC;
		memcpy(dst + o, rep, l);
		o += l;
	}
	if (o + 1 > cap)
		return -ENOSPC;
	dst[o] = '\0';
	return (int)o;
}

static int put(char *buf, size_t cap, size_t *pos, const char *s)
{
	size_t l = strlen(s);
	if (*pos + l + 1 > cap)
		return -ENOSPC;
	memcpy(buf + *pos, s, l + 1);
	*pos += l;
	return 0;
}

static int put_esc(char *buf, size_t cap, size_t *pos, const char *s)
{
	int r = twiml_escape(buf + *pos, cap - *pos, s);
	if (r < 0)
		return r;
	*pos += (size_t)r;
	return 0;
}

int twiml_stream(char *buf, size_t cap, const char *host, const twiml_param *params, size_t n)
{
	size_t pos = 0;
	int r;

	if (!host || !*host || !cap)
		return -EINVAL;
	if ((r = put(buf, cap, &pos, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
				     "<Response><Connect><Stream url=\"wss://")) ||
	    (r = put_esc(buf, cap, &pos, host)) || (r = put(buf, cap, &pos, "/media-stream\">")))
		return r;
	for (size_t i = 0; i < n; i++) {
		if (!params[i].name || !params[i].value || !*params[i].value)
			continue;
		if ((r = put(buf, cap, &pos, "<Parameter name=\"")) ||
		    (r = put_esc(buf, cap, &pos, params[i].name)) ||
		    (r = put(buf, cap, &pos, "\" value=\"")) ||
		    (r = put_esc(buf, cap, &pos, params[i].value)) || (r = put(buf, cap, &pos, "\"/>")))
			return r;
	}
	if ((r = put(buf, cap, &pos, "</Stream></Connect></Response>")))
		return r;
	return (int)pos;
}
