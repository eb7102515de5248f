/* ids: Twilio-style identifiers: two-letter prefix + 32 lowercase hex = 34
 * chars (CA… call, MZ… stream, AC… account). Random from getrandom(). */
#ifndef VX_IDS_H
#define VX_IDS_H
#include <stdbool.h>

#define ID_LEN 34
#define ID_SIZE (ID_LEN + 1)

int id_new(char out[ID_SIZE], const char *prefix); /* prefix: 2 letters */
/* True when s is a prefix + 32 hex id (either case); prefix NULL = any 2 letters. */
bool id_valid(const char *s, const char *prefix);
#endif
