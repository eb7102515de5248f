/* sb_acl: ALLOWED_SOURCES, a comma-separated list of IPv4/IPv6 addresses or
 * CIDR prefixes ("192.0.2.0/24, 2001:db8::/32, 127.0.0.1"). Parsing is a
 * pure function (string in -> list out); matching takes a sockaddr. */
#ifndef VX_SB_ACL_H
#define VX_SB_ACL_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define SB_ACL_MAX 64

typedef struct sb_acl sb_acl;

/* 0 ok; -EINVAL with a one-line reason naming the bad entry. */
int sb_acl_parse(sb_acl **out, const char *list, char *err, size_t errlen);
void sb_acl_destroy(sb_acl *a);
/* Add one entry (same syntax as a list item). */
int sb_acl_add(sb_acl *a, const char *entry, char *err, size_t errlen);
bool sb_acl_match(const sb_acl *a, const struct sockaddr *sa);
size_t sb_acl_count(const sb_acl *a);
/* True when an entry of this family (AF_INET/AF_INET6) is a /0 prefix. */
bool sb_acl_has_default(const sb_acl *a, int family);
#endif
