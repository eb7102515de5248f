/* ids: Twilio-style ids "CA" + 32 lowercase hex (34 chars).
 *
 * Usage notes:
 *  - id_new draws 16 bytes from getrandom() (blocks only before the kernel
 *    pool is initialised at boot); it never falls back to a weak PRNG.
 *  - id_valid is for hostile input: it checks length, prefix letters and
 *    hex digits (either case, Twilio itself emits lowercase).
 */
#include "ids.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

static bool id_prefix_ok(const char *p)
{
	return p && isalpha((unsigned char)p[0]) && isalpha((unsigned char)p[1]) && p[2] == '\0';
}

int id_new(char out[ID_SIZE], const char *prefix)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t rnd[16];
	size_t got = 0;

	if (!id_prefix_ok(prefix))
		return -EINVAL;
	while (got < sizeof(rnd)) {
		ssize_t r = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)r;
	}
	out[0] = prefix[0];
	out[1] = prefix[1];
	for (size_t i = 0; i < sizeof(rnd); i++) {
		out[2 + 2 * i] = hex[rnd[i] >> 4];
		out[3 + 2 * i] = hex[rnd[i] & 15];
	}
	out[ID_LEN] = '\0';
	return 0;
}

bool id_valid(const char *s, const char *prefix)
{
	if (!s)
		return false;
	if (prefix) {
		if (strncmp(s, prefix, 2) != 0 || strlen(prefix) != 2)
			return false;
	} else if (!isalpha((unsigned char)s[0]) || !isalpha((unsigned char)s[1])) {
		return false;
	}
	for (size_t i = 2; i < ID_LEN; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return s[ID_LEN] == '\0';
}
