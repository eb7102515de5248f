/* rh: request head parsing; see reqhead.h. */
#include "reqhead.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static int tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int rh_parse(rh_head *h, const char *data, size_t len)
{
	const char *end = NULL;
	char *p, *line, *sp, *q;
	size_t hl;

	for (size_t i = 0; i + 3 < len && i < RH_MAX; i++)
		if (data[i] == '\r' && data[i + 1] == '\n' && data[i + 2] == '\r' && data[i + 3] == '\n') {
			end = data + i + 4;
			break;
		}
	if (!end)
		return len >= RH_MAX ? -E2BIG : -EAGAIN;
	hl = (size_t)(end - data);
	if (hl > RH_MAX)
		return -E2BIG;
	memcpy(h->buf, data, hl);
	h->buf[hl] = '\0';
	h->head_len = hl;
	h->nh = 0;
	if (memchr(h->buf, '\0', hl))
		return -EBADMSG;

	/* request line: METHOD SP target SP HTTP/1.x */
	line = h->buf;
	p = strstr(line, "\r\n");
	*p = '\0';
	sp = strchr(line, ' ');
	if (!sp || sp == line)
		return -EBADMSG;
	*sp = '\0';
	for (q = line; *q; q++)
		if (!tchar(*q))
			return -EBADMSG;
	h->method = line;
	h->target = sp + 1;
	sp = strchr(h->target, ' ');
	if (!sp || strncmp(sp + 1, "HTTP/1.", 7) || h->target[0] != '/')
		return -EBADMSG;
	*sp = '\0';
	for (q = (char *)h->target; *q; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7f)
			return -EBADMSG;
	/* path and query share the target's bytes: copy the path after the head */
	q = strchr(h->target, '?');
	h->query = q ? q + 1 : "";
	{
		size_t pl = q ? (size_t)(q - h->target) : strlen(h->target);
		if (hl + 1 + pl + 1 > sizeof(h->buf))
			return -E2BIG;
		memcpy(h->buf + hl + 1, h->target, pl);
		h->buf[hl + 1 + pl] = '\0';
		h->path = h->buf + hl + 1;
	}

	line = p + 2;
	while (*line && !(line[0] == '\r' && line[1] == '\n')) {
		char *colon, *v, *e;
		p = strstr(line, "\r\n");
		if (!p)
			return -EBADMSG;
		*p = '\0';
		colon = strchr(line, ':');
		if (!colon || colon == line)
			return -EBADMSG;
		*colon = '\0';
		for (q = line; *q; q++)
			if (!tchar(*q))
				return -EBADMSG;
		if (h->nh >= RH_MAX_HEADERS)
			return -E2BIG;
		v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		e = v + strlen(v);
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		h->h[h->nh].name = line;
		h->h[h->nh].value = v;
		h->nh++;
		line = p + 2;
	}
	return 0;
}

const char *rh_header(const rh_head *h, const char *name)
{
	for (size_t i = 0; i < h->nh; i++)
		if (!strcasecmp(h->h[i].name, name))
			return h->h[i].value;
	return NULL;
}

int rh_header_has(const rh_head *h, const char *name, const char *token)
{
	const char *v = rh_header(h, name);
	size_t tl = strlen(token);

	while (v && *v) {
		size_t l;
		while (*v == ' ' || *v == ',' || *v == '\t')
			v++;
		l = strcspn(v, ", \t");
		if (l == tl && !strncasecmp(v, token, tl))
			return 1;
		v += l;
	}
	return 0;
}
