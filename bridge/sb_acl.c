/* sb_acl: source address allow-list (see sb_acl.h). */
#include "sb_acl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct acl_ent {
	int family;           /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	int bits;
} acl_ent;

struct sb_acl {
	acl_ent e[SB_ACL_MAX];
	size_t n;
};

int sb_acl_add(sb_acl *a, const char *entry, char *err, size_t errlen)
{
	char buf[64];
	char *slash;
	acl_ent *e;
	long bits = -1;
	size_t len = strlen(entry);

	while (len && (*entry == ' ' || *entry == '\t')) {
		entry++;
		len--;
	}
	while (len && (entry[len - 1] == ' ' || entry[len - 1] == '\t'))
		len--;
	if (!len || len >= sizeof(buf)) {
		snprintf(err, errlen, "config: ALLOWED_SOURCES: empty or over-long entry");
		return -EINVAL;
	}
	if (a->n >= SB_ACL_MAX) {
		snprintf(err, errlen, "config: ALLOWED_SOURCES: more than %d entries", SB_ACL_MAX);
		return -EINVAL;
	}
	memcpy(buf, entry, len);
	buf[len] = '\0';
	e = &a->e[a->n];
	memset(e, 0, sizeof(*e));
	slash = strchr(buf, '/');
	if (slash) {
		char *end;
		*slash = '\0';
		bits = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || bits < 0)
			goto bad;
	}
	if (inet_pton(AF_INET, buf, e->addr) == 1) {
		e->family = AF_INET;
		if (bits > 32)
			goto bad;
		e->bits = bits < 0 ? 32 : (int)bits;
	} else if (inet_pton(AF_INET6, buf, e->addr) == 1) {
		e->family = AF_INET6;
		if (bits > 128)
			goto bad;
		e->bits = bits < 0 ? 128 : (int)bits;
	} else {
		goto bad;
	}
	a->n++;
	return 0;
bad:
	snprintf(err, errlen, "config: ALLOWED_SOURCES: \"%.*s\" is not an address or CIDR prefix",
		 (int)len, entry);
	return -EINVAL;
}

int sb_acl_parse(sb_acl **out, const char *list, char *err, size_t errlen)
{
	sb_acl *a = calloc(1, sizeof(*a));
	const char *p = list ? list : "";
	int rc = 0;

	*out = NULL;
	if (!a)
		return -ENOMEM;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char item[128];
		if (n >= sizeof(item)) {
			snprintf(err, errlen, "config: ALLOWED_SOURCES: over-long entry");
			rc = -EINVAL;
			goto out;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		if (item[strspn(item, " \t")] && (rc = sb_acl_add(a, item, err, errlen)) < 0)
			goto out;
		p += n;
		if (*p == ',')
			p++;
	}
out:
	if (rc < 0) {
		free(a);
		return rc;
	}
	*out = a;
	return 0;
}

void sb_acl_destroy(sb_acl *a)
{
	free(a);
}

size_t sb_acl_count(const sb_acl *a)
{
	return a ? a->n : 0;
}

bool sb_acl_has_default(const sb_acl *a, int family)
{
	for (size_t i = 0; a && i < a->n; i++)
		if (a->e[i].family == family && a->e[i].bits == 0)
			return true;
	return false;
}

static bool prefix_eq(const uint8_t *x, const uint8_t *y, int bits)
{
	int full = bits / 8, rest = bits % 8;
	if (memcmp(x, y, (size_t)full) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (x[full] & mask) == (y[full] & mask);
}

bool sb_acl_match(const sb_acl *a, const struct sockaddr *sa)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *v4 = NULL, *v6 = NULL;

	if (!a || !sa)
		return false;
	if (sa->sa_family == AF_INET) {
		v4 = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		v6 = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		/* IPv4-mapped IPv6 (dual-stack sockets) matches IPv4 entries. */
		if (memcmp(v6, mapped, sizeof(mapped)) == 0)
			v4 = v6 + 12;
	} else {
		return false;
	}
	for (size_t i = 0; i < a->n; i++) {
		const acl_ent *e = &a->e[i];
		if (e->family == AF_INET && v4 && prefix_eq(v4, e->addr, e->bits))
			return true;
		if (e->family == AF_INET6 && v6 && prefix_eq(v6, e->addr, e->bits))
			return true;
	}
	return false;
}
