/* sb_dns: host names to address lists for the source policy (sb_policy.h).
 * sb_dns_resolve and sb_dns_expand block (start-up only); the sb_dns object
 * runs one lookup at a time on its own detached thread so the SIP thread
 * never waits on DNS when the registrar's addresses are refreshed. The
 * result is announced through a kick callback (evq_kick) and collected on
 * the owner's thread with sb_dns_take. Address lists are comma-separated
 * ("192.0.2.1,2001:db8::1"), the syntax sb_acl_parse reads. */
#ifndef VX_SB_DNS_H
#define VX_SB_DNS_H
#include <stddef.h>

/* Every A/AAAA address of host (an address literal gives itself), in the
 * resolver's order, duplicates dropped. 0 / -ENOENT (no address; reason in
 * out) / -ENOSPC. */
int sb_dns_resolve(const char *host, char *out, size_t cap);
/* A list of addresses, CIDRs or host names -> addresses and CIDRs only.
 * 0 / -EINVAL with a one-line reason in err naming `what` and the entry. */
int sb_dns_expand(const char *list, const char *what, char *out, size_t cap, char *err, size_t errlen);
/* The host part of "host", "host:port", "[v6]:port", "sip:host;params". */
int sb_dns_host_of(const char *domain, char *host, size_t cap);

typedef struct sb_dns sb_dns;
typedef void (sb_dns_kick_h)(void *arg);

int sb_dns_new(sb_dns **out, sb_dns_kick_h *kick, void *arg);
/* 0 started, -EBUSY while the previous lookup runs, -errno otherwise. */
int sb_dns_start(sb_dns *d, const char *host);
/* 1: a lookup succeeded, its list in out; 0: nothing new; <0: it failed
 * (reason in out). */
int sb_dns_take(sb_dns *d, char *out, size_t cap);
/* Does not wait: a lookup still running frees the state when it returns
 * and no longer calls kick. */
void sb_dns_destroy(sb_dns *d);
#endif
