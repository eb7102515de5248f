/* tsig: Twilio request signatures (X-Twilio-Signature).
 * signature = base64(HMAC-SHA1(auth token, URL + each POST parameter's name
 * and value, sorted by name (then value), concatenated)).
 * The WebSocket upgrade of a Media Stream is signed over its wss:// URL with
 * no parameters. Pure functions (OpenSSL libcrypto for HMAC), no I/O. */
#ifndef VX_TSIG_H
#define VX_TSIG_H
#include <stdbool.h>
#include <stddef.h>

#include "form.h"

#define TSIG_LEN 28 /* base64 of a 20-byte SHA-1 MAC */

/* out gets TSIG_LEN chars + NUL. params may be NULL (no body). 0 or -errno. */
int tsig_compute(const char *token, const char *url, const form *params, char out[TSIG_LEN + 1]);
/* Constant-time check of sig against url as given, and the same url with the
 * scheme's default port added or removed (proxies differ on what they pass
 * on). False for an empty token, signature or url. */
bool tsig_check(const char *token, const char *url, const form *params, const char *sig);
/* The url with its default port toggled (":443" for https/wss, ":80" for
 * http/ws): added when absent, removed when present. -EINVAL when the url has
 * no scheme or another port, -ENOSPC when cap is short. */
int tsig_url_alt(char *dst, size_t cap, const char *url);
#endif
