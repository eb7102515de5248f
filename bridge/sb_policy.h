/* sb_policy: who may send INVITEs (issue 8), as a pure function of the
 * configuration and of the registrar's current addresses:
 *   ALLOWED_SOURCES set   -> exactly that list ("any", or both 0.0.0.0/0
 *                            and ::/0, opens it to everyone: *open is set)
 *   registered (trunk)    -> the registrar's addresses + loopback
 *                            (+ SIP_GATEWAY when also set)
 *   gateway mode          -> loopback + SIP_GATEWAY
 * Loopback is 127.0.0.1 and ::1 only: the rest of 127/8 counts as another
 * host (tests use 127.0.0.2 as one). */
#ifndef VX_SB_POLICY_H
#define VX_SB_POLICY_H
#include <stdbool.h>
#include <stddef.h>

#include "sb_acl.h"

#define SB_POLICY_LOOPBACK "127.0.0.1,::1"

typedef struct sb_policy_in {
	const char *allowed;         /* ALLOWED_SOURCES, NULL = the default */
	const char *gateway;         /* SIP_GATEWAY as addresses/CIDRs (sb_dns_expand), or NULL */
	bool registered;             /* SIP_USERNAME set: trunk mode */
	const char *registrar_host;  /* SIP_DOMAIN's host, for the description */
	const char *registrar_addrs; /* its resolved addresses, NULL/"" = not known yet */
} sb_policy_in;

/* 0: *acl is the allow-list (NULL with *open when anyone may call), desc a
 * one-line summary for the log, *warn set when the policy is wide open (or
 * opens one address family to all). -EINVAL with the reason in err. */
int sb_policy_build(sb_acl **acl, bool *open, bool *warn, const sb_policy_in *in, char *desc, size_t dcap,
		    char *err, size_t errlen);
#endif
