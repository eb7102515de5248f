/* config_file: the .env parser and cfg_load_file.
 *
 * Usage notes:
 *  - Accepted syntax, one setting per line (LF or CRLF):
 *      KEY=value            # unquoted; a " #" starts a comment; trimmed
 *      export KEY=value     # shell-compatible prefix
 *      KEY = value          # spaces around '=' allowed
 *      KEY="a \"b\"\n"      # double quotes: \" \\ \n \t \r escapes
 *      KEY='raw $x \n'      # single quotes: literal
 *      # comment, blank lines
 *  - Anything else (no '=', bad key, unterminated quote, text after a
 *    closing quote, NUL byte) is an error naming file:line.
 *  - Unknown keys are ignored: one .env is shared by both processes.
 *  - A value that fails validation is reported as the setting's own
 *    message with " (FILE:LINE)" appended.
 *  - cfg_env_parse is pure (no I/O) for fuzzing; values are handed to the
 *    callback in a scratch copy that lives for the call only.
 */
#include "config_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFG_FILE_MAX (1 << 20)

static bool cfg_key_char(char ch, bool first)
{
	return ch == '_' || isalpha((unsigned char)ch) || (!first && isdigit((unsigned char)ch));
}

/* Parse one line [p, end) into key/value written to scratch `out`.
 * Returns 1 with key and val set, 0 for a blank/comment line, -1 with a
 * reason on error. */
static int cfg_env_line(const char *p, const char *end, char *out, char **key, char **val,
			const char **why)
{
	char *o = out;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p == '#')
		return 0;
	if (end - p > 7 && !strncmp(p, "export", 6) && (p[6] == ' ' || p[6] == '\t')) {
		p += 7;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
	}
	*key = o;
	if (p == end || !cfg_key_char(*p, true)) {
		*why = "expected KEY=VALUE";
		return -1;
	}
	while (p < end && cfg_key_char(*p, false))
		*o++ = *p++;
	*o++ = '\0';
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p != '=') {
		*why = "expected KEY=VALUE";
		return -1;
	}
	p++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	*val = o;
	if (p < end && (*p == '"' || *p == '\'')) {
		char q = *p++;
		bool closed = false;
		while (p < end) {
			if (*p == q) {
				closed = true;
				p++;
				break;
			}
			if (q == '"' && *p == '\\' && p + 1 < end) {
				switch (p[1]) {
				case 'n': *o++ = '\n'; break;
				case 't': *o++ = '\t'; break;
				case 'r': *o++ = '\r'; break;
				case '"': *o++ = '"'; break;
				case '\\': *o++ = '\\'; break;
				default: *o++ = '\\'; *o++ = p[1]; break;
				}
				p += 2;
				continue;
			}
			*o++ = *p++;
		}
		*o = '\0';
		if (!closed) {
			*why = "unterminated quote";
			return -1;
		}
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p < end && *p != '#') {
			*why = "unexpected text after the closing quote";
			return -1;
		}
		return 1;
	}
	/* unquoted: up to a comment that follows whitespace, trimmed */
	const char *vs = p;
	while (p < end && !(*p == '#' && p > vs && (p[-1] == ' ' || p[-1] == '\t')))
		p++;
	while (p > vs && (p[-1] == ' ' || p[-1] == '\t'))
		p--;
	memcpy(o, vs, (size_t)(p - vs));
	o[p - vs] = '\0';
	return 1;
}

int cfg_env_parse(const char *buf, size_t len, const char *fname, cfg_env_h *cb, void *arg,
		  char *err, size_t errlen)
{
	const char *p = buf, *end = buf + len;
	unsigned line = 0;
	char *scratch = NULL;
	int r = 0;

	if (len && memchr(buf, 0, len)) {
		cfg_errf(err, errlen, "%s: contains a NUL byte", fname);
		return -EINVAL;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *why = NULL;
		char *key = NULL, *val = NULL;

		line++;
		if (le > p && le[-1] == '\r')
			le--;
		/* key + NUL + value + NUL never exceeds line length + 2 */
		free(scratch);
		if (!(scratch = malloc((size_t)(le - p) + 2))) {
			r = -ENOMEM;
			cfg_errf(err, errlen, "%s:%u: out of memory", fname, line);
			goto out;
		}
		int k = cfg_env_line(p, le, scratch, &key, &val, &why);
		if (k < 0) {
			cfg_errf(err, errlen, "%s:%u: %s", fname, line, why);
			r = -EINVAL;
			goto out;
		}
		if (k > 0 && (r = cb(key, val, line, arg)) < 0)
			goto out;
		p = nl ? nl + 1 : end;
	}
out:
	free(scratch);
	return r;
}

typedef struct cfg_file_ctx {
	cfg *c;
	const char *path;
	char *err;
	size_t errlen;
} cfg_file_ctx;

static int cfg_file_kv(const char *key, const char *val, unsigned line, void *arg)
{
	cfg_file_ctx *fc = arg;
	long i = cfg_index(fc->c, key);
	int r;

	if (i < 0 || fc->c->vars[i].type == CFG_KV)
		return 0; /* another process's setting, or CLI-only */
	r = cfg_set(fc->c, key, val, fc->err, fc->errlen);
	if (r < 0 && fc->err) {
		size_t n = strlen(fc->err);
		snprintf(fc->err + n, fc->errlen - n, " (%s:%u)", fc->path, line);
	}
	return r;
}

int cfg_load_file(cfg *c, const char *path, char *err, size_t errlen)
{
	cfg_file_ctx fc = {c, path, err, errlen};
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		r = -errno;
		cfg_errf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CFG_FILE_MAX) {
		r = -EINVAL;
		cfg_errf(err, errlen, "%s: not a regular file under %d bytes", path, CFG_FILE_MAX);
		goto out;
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		r = -ENOMEM;
		cfg_errf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			cfg_errf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	r = cfg_env_parse(buf, got, path, cfg_file_kv, &fc, err, errlen);
out:
	free(buf);
	close(fd);
	return r;
}
