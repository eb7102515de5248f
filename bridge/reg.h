/* reg: trunk registration (REGISTER with digest auth) on the SIP thread.
 * Started by sip_ua when SIP_USERNAME/SIP_PASSWORD/SIP_DOMAIN are set.
 * nua refreshes a successful registration before it expires; every failure
 * (401/403 after our credentials, 408/503 timeouts, anything else) gets one
 * clear log line and a fresh attempt after an exponential backoff
 * (REG_BACKOFF_MIN doubling up to REG_BACKOFF_MAX seconds). The password
 * never reaches a log line. The API is declared in sip_int.h (it takes
 * sofia-sip types); this header holds the tunables. */
#ifndef VX_REG_H
#define VX_REG_H
#define REG_BACKOFF_MIN 2
#define REG_BACKOFF_MAX 300
#define REG_UNREGISTER_WAIT_MS 3000
#endif
