/* sb_dns: host name resolution for the source policy (see sb_dns.h). */
#include "sb_dns.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define DNS_LIST_MAX 1024

static int append(char *out, size_t cap, size_t *len, const char *item)
{
	size_t n = strlen(item);

	if (*len + n + 2 > cap)
		return -ENOSPC;
	if (*len)
		out[(*len)++] = ',';
	memcpy(out + *len, item, n + 1);
	*len += n;
	return 0;
}

static bool listed(const char *list, const char *item)
{
	size_t n = strlen(item);
	for (const char *p = list; (p = strstr(p, item)); p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

int sb_dns_resolve(const char *host, char *out, size_t cap)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM }, *res = NULL, *ai;
	char ip[INET6_ADDRSTRLEN];
	size_t len = 0;
	int rc;

	if (!cap)
		return -ENOSPC;
	out[0] = '\0';
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0) {
		snprintf(out, cap, "%s", rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -ENOENT;
	}
	rc = 0;
	for (ai = res; ai && rc == 0; ai = ai->ai_next) {
		const void *a;
		if (ai->ai_family == AF_INET)
			a = &((struct sockaddr_in *)ai->ai_addr)->sin_addr;
		else if (ai->ai_family == AF_INET6)
			a = &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		else
			continue;
		if (!inet_ntop(ai->ai_family, a, ip, sizeof(ip)) || listed(out, ip))
			continue;
		rc = append(out, cap, &len, ip);
	}
	freeaddrinfo(res);
	if (rc == 0 && !len) {
		snprintf(out, cap, "no address");
		rc = -ENOENT;
	}
	return rc;
}

static bool is_hostname(const char *s)
{
	if (!*s || strlen(s) > 253)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.')
			return false;
	return true;
}

static bool is_literal(const char *s)
{
	unsigned char buf[16];
	return strchr(s, '/') || inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int sb_dns_expand(const char *list, const char *what, char *out, size_t cap, char *err, size_t errlen)
{
	const char *p = list ? list : "";
	size_t len = 0;

	if (!cap)
		return -ENOSPC;
	out[0] = '\0';
	while (*p) {
		char item[256], addrs[DNS_LIST_MAX];
		const char *add;
		size_t n = strcspn(p, ",");
		const char *s = p, *e = p + n;

		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		p += n + (p[n] == ',');
		if (s == e)
			continue;
		if ((size_t)(e - s) >= sizeof(item)) {
			snprintf(err, errlen, "config: %s: over-long entry", what);
			return -EINVAL;
		}
		memcpy(item, s, (size_t)(e - s));
		item[e - s] = '\0';
		add = item; /* a literal is validated by sb_acl_parse later */
		if (is_literal(item)) {
		} else if (!is_hostname(item)) {
			snprintf(err, errlen, "config: %s: \"%s\" is not an address, CIDR prefix or host name", what,
				 item);
			return -EINVAL;
		} else if (sb_dns_resolve(item, addrs, sizeof(addrs)) < 0) {
			snprintf(err, errlen, "config: %s: cannot resolve \"%s\" (%s)", what, item, addrs);
			return -EINVAL;
		} else {
			add = addrs;
		}
		if (append(out, cap, &len, add) < 0) {
			snprintf(err, errlen, "config: %s: too many addresses", what);
			return -EINVAL;
		}
	}
	return 0;
}

int sb_dns_host_of(const char *domain, char *host, size_t cap)
{
	const char *s = domain, *e;

	if (!s || !cap)
		return -EINVAL;
	if (strncasecmp(s, "sips:", 5) == 0)
		s += 5;
	else if (strncasecmp(s, "sip:", 4) == 0)
		s += 4;
	if (strchr(s, '@'))
		s = strchr(s, '@') + 1;
	if (*s == '[') {
		s++;
		e = strchr(s, ']');
		if (!e)
			return -EINVAL;
	} else {
		e = s + strcspn(s, ";?>");
		const char *colon = memchr(s, ':', (size_t)(e - s));
		/* one colon is a port; more is a bare IPv6 address */
		if (colon && !memchr(colon + 1, ':', (size_t)(e - colon - 1)))
			e = colon;
	}
	if (e == s || (size_t)(e - s) >= cap)
		return -EINVAL;
	memcpy(host, s, (size_t)(e - s));
	host[e - s] = '\0';
	return 0;
}

/* ---- one lookup at a time on a detached thread ---- */

struct sb_dns {
	pthread_mutex_t mu;
	int refs;           /* the owner + a running lookup */
	bool busy, ready, abandoned;
	int rc;
	char host[256];
	char result[DNS_LIST_MAX];
	sb_dns_kick_h *kick;
	void *arg;
};

static void unref_locked(sb_dns *d)
{
	bool last = --d->refs == 0;
	pthread_mutex_unlock(&d->mu);
	if (last) {
		pthread_mutex_destroy(&d->mu);
		free(d);
	}
}

static void *lookup_main(void *arg)
{
	sb_dns *d = arg;
	char host[256], result[DNS_LIST_MAX];
	int rc;

	pthread_mutex_lock(&d->mu);
	memcpy(host, d->host, sizeof(host));
	pthread_mutex_unlock(&d->mu);
	rc = sb_dns_resolve(host, result, sizeof(result));
	pthread_mutex_lock(&d->mu);
	d->busy = false;
	if (!d->abandoned) {
		d->rc = rc;
		memcpy(d->result, result, sizeof(result));
		d->ready = true;
		if (d->kick)
			d->kick(d->arg);
	}
	unref_locked(d);
	return NULL;
}

int sb_dns_new(sb_dns **out, sb_dns_kick_h *kick, void *arg)
{
	sb_dns *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (!d)
		return -ENOMEM;
	pthread_mutex_init(&d->mu, NULL);
	d->refs = 1;
	d->kick = kick;
	d->arg = arg;
	*out = d;
	return 0;
}

int sb_dns_start(sb_dns *d, const char *host)
{
	pthread_attr_t at;
	pthread_t th;
	int rc;

	if (!d || !host || strlen(host) >= sizeof(d->host))
		return -EINVAL;
	pthread_mutex_lock(&d->mu);
	if (d->busy) {
		pthread_mutex_unlock(&d->mu);
		return -EBUSY;
	}
	snprintf(d->host, sizeof(d->host), "%s", host);
	d->busy = true;
	d->refs++;
	pthread_mutex_unlock(&d->mu);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&th, &at, lookup_main, d);
	pthread_attr_destroy(&at);
	if (rc != 0) {
		pthread_mutex_lock(&d->mu);
		d->busy = false;
		d->refs--; /* the owner still holds one: never the last */
		pthread_mutex_unlock(&d->mu);
		return -rc;
	}
	return 0;
}

int sb_dns_take(sb_dns *d, char *out, size_t cap)
{
	int rc = 0;

	if (!d)
		return 0;
	pthread_mutex_lock(&d->mu);
	if (d->ready) {
		d->ready = false;
		snprintf(out, cap, "%s", d->result);
		rc = d->rc < 0 ? d->rc : 1;
	}
	pthread_mutex_unlock(&d->mu);
	return rc;
}

void sb_dns_destroy(sb_dns *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	d->abandoned = true;
	unref_locked(d);
}
