/* fuzz_acl: ALLOWED_SOURCES / SIP_GATEWAY lists (sb_acl_parse) and source
 * matching (sb_acl_match), the check every INVITE passes first. Input: 64
 * bytes of probe addresses (4 IPv4, 3 IPv6), then the list text.
 * Contract checked: at most SB_ACL_MAX entries; a list matches an address
 * exactly when one of its entries, parsed alone, matches it (no entry can
 * widen or narrow another); an IPv4 address written alone matches itself
 * and its IPv4-mapped IPv6 form (dual-stack sockets) and nothing else of
 * its /32; an IPv4 entry never matches a native IPv6 source. */
#include "fuzz.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>

#include "sb_acl.h"

#define NPROBE 10

static void mk4(struct sockaddr_storage *ss, const uint8_t a[4])
{
	struct sockaddr_in *s = (struct sockaddr_in *)ss;
	memset(ss, 0, sizeof(*ss));
	s->sin_family = AF_INET;
	memcpy(&s->sin_addr, a, 4);
}

static void mk6(struct sockaddr_storage *ss, const uint8_t a[16])
{
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
	memset(ss, 0, sizeof(*ss));
	s->sin6_family = AF_INET6;
	memcpy(s->sin6_addr.s6_addr, a, 16);
}

static void mk_mapped(struct sockaddr_storage *ss, const uint8_t a[4])
{
	uint8_t m[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	memcpy(m + 12, a, 4);
	mk6(ss, m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage probe[NPROBE];
	char *list, *tok, *save = NULL, *copy;
	sb_acl *acl = NULL;
	bool any[NPROBE] = { false };
	char err[256];
	int r;

	if (size < 64)
		return 0;
	for (int i = 0; i < 4; i++) {
		mk4(&probe[i], data + 4 * i);
		if (i < 3)
			mk_mapped(&probe[4 + i], data + 4 * i);
	}
	for (int i = 0; i < 3; i++)
		mk6(&probe[7 + i], data + 16 + 16 * i);
	list = fz_dup(data + 64, size - 64);

	err[0] = '\0';
	r = sb_acl_parse(&acl, list, err, sizeof(err));
	FZ_CSTR(err);
	FZ_CHECK(r == 0 || r == -EINVAL);
	if (r) {
		FZ_CHECK(!acl && err[0]);
		if (!strchr(list, '\n'))
			FZ_CHECK(!strchr(err, '\n')); /* one line (the list is quoted) */
		free(list);
		return 0;
	}
	FZ_CHECK(acl && sb_acl_count(acl) <= SB_ACL_MAX);

	copy = strdup(list);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		sb_acl *one = NULL;
		uint8_t a4[4];
		if (sb_acl_parse(&one, tok, err, sizeof(err)) != 0 || !sb_acl_count(one)) {
			sb_acl_destroy(one);
			continue;
		}
		FZ_CHECK(sb_acl_count(one) == 1);
		for (int i = 0; i < NPROBE; i++)
			any[i] |= sb_acl_match(one, (struct sockaddr *)&probe[i]);
		/* A plain IPv4 address (surrounding blanks allowed). */
		const char *t = tok + strspn(tok, " \t");
		size_t tl = strcspn(t, " \t");
		char buf[64];
		if (tl && tl < sizeof(buf) && !t[tl + strspn(t + tl, " \t")]) {
			memcpy(buf, t, tl);
			buf[tl] = '\0';
		} else {
			buf[0] = '\0';
		}
		if (buf[0] && inet_pton(AF_INET, buf, a4) == 1) {
			struct sockaddr_storage ss;
			uint8_t other[4];
			mk4(&ss, a4);
			FZ_CHECK(sb_acl_match(one, (struct sockaddr *)&ss));
			mk_mapped(&ss, a4);
			FZ_CHECK(sb_acl_match(one, (struct sockaddr *)&ss));
			memcpy(other, a4, 4);
			other[3] ^= 1;
			mk4(&ss, other);
			FZ_CHECK(!sb_acl_match(one, (struct sockaddr *)&ss));
			for (int i = 7; i < NPROBE; i++) /* native IPv6 sources */
				if (memcmp(((struct sockaddr_in6 *)&probe[i])->sin6_addr.s6_addr,
					   "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12))
					FZ_CHECK(!sb_acl_match(one, (struct sockaddr *)&probe[i]));
		}
		sb_acl_destroy(one);
	}
	for (int i = 0; i < NPROBE; i++)
		FZ_CHECK(sb_acl_match(acl, (struct sockaddr *)&probe[i]) == any[i]);
	free(copy);
	sb_acl_destroy(acl);
	free(list);
	return 0;
}
