/* log: one line per event on fd 2.
 *
 * Usage notes:
 *  - Each line is formatted into a stack buffer (LOG_LINE_MAX bytes, which
 *    is <= PIPE_BUF) and emitted with a single write(2), so lines from
 *    different threads never interleave and no lock is needed.
 *  - Messages often carry network data (SIP headers, JSON fields): every
 *    control byte (< 0x20 or 0x7f) in the message and the call id is
 *    escaped as \xNN, so a peer cannot forge log lines.
 *  - Over-long lines are cut and end with LOG_TRUNC_MARK.
 *  - The level is a relaxed atomic: log_set_level may be called any time.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

#define LOG_LINE_MAX 4096
#define LOG_CALLID_MAX 64
#define LOG_TRUNC_MARK " [truncated]"

static char log_prog[32] = "voixia";
static int log_level_cur = LOGL_INFO;

static const char *const log_names[] = {
	[LOGL_ERROR] = "ERROR", [LOGL_WARN] = "WARN", [LOGL_INFO] = "INFO", [LOGL_DEBUG] = "DEBUG",
};

void log_init(const char *progname)
{
	if (!progname || !*progname)
		return;
	const char *slash = strrchr(progname, '/');
	if (slash && slash[1])
		progname = slash + 1;
	snprintf(log_prog, sizeof(log_prog), "%s", progname);
}

void log_set_level(log_level lvl)
{
	if (lvl < LOGL_ERROR || lvl > LOGL_DEBUG)
		return;
	__atomic_store_n(&log_level_cur, (int)lvl, __ATOMIC_RELAXED);
}

log_level log_get_level(void)
{
	return (log_level)__atomic_load_n(&log_level_cur, __ATOMIC_RELAXED);
}

int log_level_parse(const char *s, log_level *out)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < VX_ARRAY_LEN(log_names); i++) {
		if (strcasecmp(s, log_names[i]) == 0) {
			*out = (log_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = LOGL_WARN;
		return 0;
	}
	return -EINVAL;
}

bool log_enabled(log_level lvl)
{
	return (int)lvl <= __atomic_load_n(&log_level_cur, __ATOMIC_RELAXED);
}

/* Copy src into dst[pos..lim) escaping control bytes; stops at the first
 * byte that does not fit. Returns the new position; *cut set if src did
 * not fit entirely. */
static size_t log_copy_clean(char *dst, size_t pos, size_t lim, const char *src, size_t max_in, bool *cut)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < max_in && src[i]; i++) {
		unsigned char ch = (unsigned char)src[i];
		if (ch < 0x20 || ch == 0x7f) {
			if (pos + 4 > lim)
				break;
			dst[pos++] = '\\';
			dst[pos++] = 'x';
			dst[pos++] = hex[ch >> 4];
			dst[pos++] = hex[ch & 15];
		} else {
			if (pos + 1 > lim)
				break;
			dst[pos++] = (char)ch;
		}
	}
	if (src[i] && cut)
		*cut = true;
	return pos;
}

void log_write(log_level lvl, const char *callid, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX];
	char line[LOG_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	size_t pos, lim;
	bool cut = false;
	int n;
	va_list ap;

	if (!log_enabled(lvl))
		return;
	if (lvl < LOGL_ERROR || lvl > LOGL_DEBUG)
		lvl = LOGL_ERROR;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		snprintf(msg, sizeof(msg), "(log format error)");
	else if ((size_t)n >= sizeof(msg))
		cut = true;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s [",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, ts.tv_nsec / 1000000L, log_names[lvl], log_prog);
	pos = (size_t)n; /* < 100 bytes: progname is capped */
	pos = log_copy_clean(line, pos, pos + LOG_CALLID_MAX, callid ? callid : "-", LOG_CALLID_MAX, NULL);
	line[pos++] = ']';
	line[pos++] = ' ';

	/* leave room for the marker and the newline */
	lim = sizeof(line) - (sizeof(LOG_TRUNC_MARK) - 1) - 1;
	pos = log_copy_clean(line, pos, lim, msg, sizeof(msg), &cut);
	if (cut) {
		memcpy(line + pos, LOG_TRUNC_MARK, sizeof(LOG_TRUNC_MARK) - 1);
		pos += sizeof(LOG_TRUNC_MARK) - 1;
	}
	line[pos++] = '\n';

	/* one write: atomic for pipes up to PIPE_BUF; retry only on EINTR */
	ssize_t w;
	do {
		w = write(2, line, pos);
	} while (w < 0 && errno == EINTR);
}
