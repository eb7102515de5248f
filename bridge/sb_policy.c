/* sb_policy: the effective INVITE source policy (see sb_policy.h). */
#include "sb_policy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool is_any(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n == 3 && strncasecmp(s, "any", 3) == 0;
}

static int add_list(sb_acl *a, const char *list, char *err, size_t errlen)
{
	sb_acl *tmp = NULL;
	char buf[2048];
	int rc;

	/* sb_acl_parse validates the whole list; entries are then copied in. */
	if ((rc = sb_acl_parse(&tmp, list, err, errlen)) < 0)
		return rc;
	sb_acl_destroy(tmp);
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (tok[strspn(tok, " \t")] && (rc = sb_acl_add(a, tok, err, errlen)) < 0)
			return rc;
	return 0;
}

int sb_policy_build(sb_acl **acl, bool *open, bool *warn, const sb_policy_in *in, char *desc, size_t dcap,
		    char *err, size_t errlen)
{
	sb_acl *a = NULL;
	bool have_reg = in->registrar_addrs && *in->registrar_addrs;
	bool have_gw = in->gateway && *in->gateway;
	int rc;

	*acl = NULL;
	*open = *warn = false;
	if (in->allowed && is_any(in->allowed)) {
		*open = *warn = true;
		snprintf(desc, dcap, "anyone (ALLOWED_SOURCES=any)");
		return 0;
	}
	if ((rc = sb_acl_parse(&a, in->allowed ? in->allowed : "", err, errlen)) < 0)
		return rc;
	if (in->allowed) {
		bool v4 = sb_acl_has_default(a, AF_INET), v6 = sb_acl_has_default(a, AF_INET6);
		*warn = v4 || v6;
		if (v4 && v6) {
			sb_acl_destroy(a);
			*open = true;
			snprintf(desc, dcap, "anyone (ALLOWED_SOURCES=%s)", in->allowed);
			return 0;
		}
		snprintf(desc, dcap, "ALLOWED_SOURCES=%s", in->allowed);
		*acl = a;
		return 0;
	}
	if ((rc = add_list(a, SB_POLICY_LOOPBACK, err, errlen)) < 0)
		goto out;
	if (have_gw && (rc = add_list(a, in->gateway, err, errlen)) < 0)
		goto out;
	if (in->registered) {
		if (have_reg && (rc = add_list(a, in->registrar_addrs, err, errlen)) < 0)
			goto out;
		snprintf(desc, dcap, "registrar %s (%s) + loopback%s%s (default for a registered trunk)",
			 in->registrar_host ? in->registrar_host : "?", have_reg ? in->registrar_addrs : "not resolved yet",
			 have_gw ? " + SIP_GATEWAY " : "", have_gw ? in->gateway : "");
	} else {
		snprintf(desc, dcap, "loopback%s%s (gateway mode default%s)", have_gw ? " + SIP_GATEWAY " : "",
			 have_gw ? in->gateway : "", have_gw ? "" : "; set SIP_GATEWAY to the gateway's address");
	}
	*acl = a;
	a = NULL;
out:
	sb_acl_destroy(a);
	return rc;
}
