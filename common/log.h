/* log: leveled, timestamped, one line per event on stderr, thread-safe.
 * Every line carries a call id ("-" when none) so one call can be grepped:
 *   2026-11-21T23:59:01.123Z INFO  voiceproxy [CA0123…] stream started
 * Never pass secrets to these functions (config redacts them for you). */
#ifndef VX_LOG_H
#define VX_LOG_H
#include <stdbool.h>

typedef enum { LOGL_ERROR = 0, LOGL_WARN, LOGL_INFO, LOGL_DEBUG } log_level;

void log_init(const char *progname);      /* process name shown on each line */
void log_set_level(log_level lvl);
log_level log_get_level(void);
int log_level_parse(const char *s, log_level *out); /* "error|warn|info|debug" -> 0 / -EINVAL */
bool log_enabled(log_level lvl);
void log_write(log_level lvl, const char *callid, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(cid, ...) log_write(LOGL_ERROR, (cid), __VA_ARGS__)
#define log_warn(cid, ...) log_write(LOGL_WARN, (cid), __VA_ARGS__)
#define log_info(cid, ...) \
	do { if (log_enabled(LOGL_INFO)) log_write(LOGL_INFO, (cid), __VA_ARGS__); } while (0)
#define log_debug(cid, ...) \
	do { if (log_enabled(LOGL_DEBUG)) log_write(LOGL_DEBUG, (cid), __VA_ARGS__); } while (0)
#endif
