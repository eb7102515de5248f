/* sip_util: small helpers of the SIP thread: log-safe ids, peer
 * descriptions, and the local address written in our SDP. */
#include "sip_int.h"

#include <sofia-sip/msg_header.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t sip_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Call-ID as a log id: printable, no spaces, bounded. */
void sip_sanitize(char *dst, size_t cap, const char *src)
{
	size_t i = 0;
	for (; src && *src && i + 1 < cap; src++)
		dst[i++] = (char)((*src > 0x20 && *src < 0x7f) ? *src : '_');
	dst[i] = '\0';
	if (!i)
		snprintf(dst, cap, "-");
}

void sip_url_who(char *dst, size_t cap, const sip_addr_t *a)
{
	const char *w = NULL;
	if (a)
		w = a->a_url->url_user ? a->a_url->url_user : a->a_url->url_host;
	sip_sanitize(dst, cap, w ? w : "");
}

/* The local address a peer at `remote` reaches us on (no packet is sent). */
static int local_addr_for(const char *remote, char *out, size_t cap)
{
	struct sockaddr_storage ss = { 0 }, me;
	socklen_t len = sizeof(me);
	int fd, fam = strchr(remote, ':') ? AF_INET6 : AF_INET, rc = -EINVAL;

	if (fam == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(9);
		if (inet_pton(AF_INET, remote, &s4->sin_addr) != 1)
			return -EINVAL;
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(9);
		if (inet_pton(AF_INET6, remote, &s6->sin6_addr) != 1)
			return -EINVAL;
	}
	fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, fam == AF_INET ? sizeof(struct sockaddr_in)
							       : sizeof(struct sockaddr_in6)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&me, &len) == 0) {
		const void *a = fam == AF_INET ? (const void *)&((struct sockaddr_in *)&me)->sin_addr
					       : (const void *)&((struct sockaddr_in6 *)&me)->sin6_addr;
		rc = inet_ntop(fam, a, out, (socklen_t)cap) ? 0 : -EINVAL;
	}
	close(fd);
	return rc;
}

static bool addr_unspecified(const char *a)
{
	return !a || !*a || strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0;
}

/* PUBLIC_IP, else BIND_ADDR when specific, else the route towards the peer. */
void sip_pick_local_addr(sipua *ua, sipcall *c, const char *peer)
{
	const sb_config *conf = ua->cfg;
	if (conf->public_ip)
		snprintf(c->local_addr, sizeof(c->local_addr), "%s", conf->public_ip);
	else if (!addr_unspecified(conf->bind_addr))
		snprintf(c->local_addr, sizeof(c->local_addr), "%s", conf->bind_addr);
	else if (!peer || local_addr_for(peer, c->local_addr, sizeof(c->local_addr)) < 0)
		snprintf(c->local_addr, sizeof(c->local_addr), "127.0.0.1");
}

void sip_describe_src(char *buf, size_t cap, const su_addrinfo_t *ai, const char **ip_out, char *ip, size_t ipcap)
{
	*ip_out = NULL;
	snprintf(buf, cap, "?");
	if (!ai || !ai->ai_addr)
		return;
	if (ai->ai_addr->sa_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ai->ai_addr;
		if (inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)ipcap))
			snprintf(buf, cap, "%s:%u", ip, ntohs(s4->sin_port));
		*ip_out = ip;
	} else if (ai->ai_addr->sa_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ai->ai_addr;
		if (inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)ipcap))
			snprintf(buf, cap, "[%s]:%u", ip, ntohs(s6->sin6_port));
		*ip_out = ip;
	}
}


int sip_body_sdp(const sip_t *sip, const char **sdp, size_t *len)
{
	const sip_content_type_t *ct = sip->sip_content_type;
	const char *boundary = ct ? msg_params_find(ct->c_params, "boundary=") : NULL;

	if (!sip->sip_payload)
		return -ENOENT;
	return sdp_body_find(ct ? ct->c_type : NULL, boundary, sip->sip_payload->pl_data, sip->sip_payload->pl_len,
			     sdp, len);
}
