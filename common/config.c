/* config: settings table, typed validation at set time, getters, dump.
 *
 * Usage notes:
 *  - Every value is validated when it is set (file, environment, CLI), so
 *    a bad value is reported with its variable name by the source that
 *    brought it; cfg_check only looks for required values.
 *  - An empty value ("PUBLIC_HOST=" in .env, or an empty environment
 *    variable) means "unset": the setting falls back to its default and a
 *    CFG_REQUIRED setting counts as missing.
 *  - CFG_PORT accepts 1-65535 narrowed by the table's [min, max] (max 0
 *    means 65535), and also 0 when min is 0 (port 0 = "let the kernel
 *    choose", handy in tests); messages show the range without the 0.
 *  - CFG_INT with min == max == 0 is unbounded.
 *  - Values of CFG_SECRET settings never appear in messages or cfg_dump.
 */
#include "config_int.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "log.h"

void cfg_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || !errlen)
		return;
	n = snprintf(err, errlen, "config: ");
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	/* one line, whatever the value contained */
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
}

long cfg_index(const cfg *c, const char *name)
{
	if (!name)
		return -1;
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->vars[i].name, name))
			return (long)i;
	for (size_t i = 0; i < c->n; i++)
		if (c->vars[i].alias && !strcmp(c->vars[i].alias, name))
			return (long)i;
	return -1;
}

static int cfg_parse_long(const char *s, long *out)
{
	char *end;

	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || s[0] == ' ' || s[0] == '\t')
		return -EINVAL;
	*out = v;
	return 0;
}

static int cfg_parse_bool(const char *s, long *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};

	for (size_t i = 0; i < VX_ARRAY_LEN(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -EINVAL;
}

static bool cfg_url_ok(const char *s, const char *schemes)
{
	const char *p = schemes ? schemes : "";

	while (*p) {
		size_t n = strcspn(p, ",");
		if (n && !strncasecmp(s, p, n) && !strncmp(s + n, "://", 3) && s[n + 3] &&
		    !strchr(" \t", s[n + 3]))
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

/* Validate `s` for setting v; on success *num gets its numeric value. */
static int cfg_validate(const cfg_var *v, const char *s, long *num, char *err, size_t errlen)
{
	const char *shown = (v->flags & CFG_SECRET) ? "***" : s;
	long x = 0;

	switch (v->type) {
	case CFG_STR:
	case CFG_KV:
		break;
	case CFG_INT: {
		long lo = v->min, hi = v->max;
		if (lo == 0 && hi == 0)
			lo = LONG_MIN, hi = LONG_MAX;
		if (cfg_parse_long(s, &x) < 0 || x < lo || x > hi) {
			if (lo == LONG_MIN)
				cfg_errf(err, errlen, "%s: \"%.64s\" is not an integer", v->name, shown);
			else
				cfg_errf(err, errlen, "%s: \"%.64s\" is not an integer in %ld-%ld", v->name, shown, lo, hi);
			return -EINVAL;
		}
		break;
	}
	case CFG_PORT: {
		/* [min, max] narrows 1-65535 (max 0 = 65535); min 0 also admits 0 */
		long lo = v->min > 1 ? v->min : 1, hi = v->max > 0 && v->max < 65535 ? v->max : 65535;
		if (cfg_parse_long(s, &x) < 0 || ((x < lo || x > hi) && !(x == 0 && v->min == 0))) {
			cfg_errf(err, errlen, "%s: \"%.64s\" is not a port (%ld-%ld)", v->name, shown, lo, hi);
			return -EINVAL;
		}
		break;
	}
	case CFG_BOOL:
		if (cfg_parse_bool(s, &x) < 0) {
			cfg_errf(err, errlen, "%s: \"%.64s\" is not a boolean (true/false, yes/no, on/off, 1/0)",
				 v->name, shown);
			return -EINVAL;
		}
		break;
	case CFG_LEVEL: {
		log_level l;
		if (log_level_parse(s, &l) < 0) {
			cfg_errf(err, errlen, "%s: \"%.64s\" is not a level (error, warn, info, debug)", v->name, shown);
			return -EINVAL;
		}
		x = (long)l;
		break;
	}
	case CFG_URL:
		if (!cfg_url_ok(s, v->schemes)) {
			cfg_errf(err, errlen, "%s: \"%.64s\" is not a URL (scheme: %s)", v->name, shown,
				 v->schemes ? v->schemes : "none allowed");
			return -EINVAL;
		}
		break;
	}
	*num = x;
	return 0;
}

static int cfg_kv_add(cfg_val *cv, const cfg_var *v, const char *s, char *err, size_t errlen)
{
	const char *eq = strchr(s, '=');
	char *k = NULL, *val = NULL, **nk, **nv;

	if (!eq || eq == s) {
		cfg_errf(err, errlen, "%s: \"%.64s\" is not key=value", v->name,
			 (v->flags & CFG_SECRET) ? "***" : s);
		return -EINVAL;
	}
	k = strndup(s, (size_t)(eq - s));
	val = strdup(eq + 1);
	nk = realloc(cv->keys, (cv->nkv + 1) * sizeof(*nk));
	if (nk)
		cv->keys = nk;
	nv = realloc(cv->vals, (cv->nkv + 1) * sizeof(*nv));
	if (nv)
		cv->vals = nv;
	if (!k || !val || !nk || !nv) {
		free(k);
		free(val);
		cfg_errf(err, errlen, "%s: out of memory", v->name);
		return -ENOMEM;
	}
	cv->keys[cv->nkv] = k;
	cv->vals[cv->nkv] = val;
	cv->nkv++;
	cv->set = true;
	return 0;
}

/* Store s (or the default when s is NULL/empty) into slot i. */
static int cfg_store(cfg *c, size_t i, const char *s, bool from_source, char *err, size_t errlen)
{
	const cfg_var *v = &c->vars[i];
	cfg_val *cv = &c->v[i];
	char *dup = NULL;
	long num = 0;
	int r;

	if (v->type == CFG_KV) {
		if (!s || !*s)
			return 0;
		return cfg_kv_add(cv, v, s, err, errlen);
	}
	if (!s || !*s) { /* empty = unset: back to the default */
		s = v->def;
		from_source = false;
	}
	if (s) {
		if ((r = cfg_validate(v, s, &num, err, errlen)) < 0)
			return r;
		if (!(dup = strdup(s))) {
			cfg_errf(err, errlen, "%s: out of memory", v->name);
			return -ENOMEM;
		}
	}
	free(cv->str);
	cv->str = dup;
	cv->num = num;
	cv->set = from_source;
	return 0;
}

int cfg_new(cfg **out, const cfg_var *vars, size_t nvars)
{
	cfg *c = calloc(1, sizeof(*c));
	int r = -ENOMEM;

	*out = NULL;
	if (!c)
		goto fail;
	c->vars = vars;
	c->n = nvars;
	if (nvars && !(c->v = calloc(nvars, sizeof(*c->v))))
		goto fail;
	for (size_t i = 0; i < nvars; i++) {
		char err[256];
		if ((r = cfg_store(c, i, NULL, false, err, sizeof(err))) < 0) {
			log_err(NULL, "%s (bad default in the settings table)", err);
			goto fail;
		}
	}
	*out = c;
	return 0;
fail:
	cfg_destroy(c);
	return r;
}

void cfg_destroy(cfg *c)
{
	if (!c)
		return;
	for (size_t i = 0; c->v && i < c->n; i++) {
		cfg_val *cv = &c->v[i];
		free(cv->str);
		for (size_t k = 0; k < cv->nkv; k++) {
			free(cv->keys[k]);
			free(cv->vals[k]);
		}
		free(cv->keys);
		free(cv->vals);
	}
	free(c->v);
	free(c);
}

int cfg_set(cfg *c, const char *name, const char *value, char *err, size_t errlen)
{
	long i = cfg_index(c, name);

	if (i < 0) {
		cfg_errf(err, errlen, "unknown setting %.64s", name ? name : "(null)");
		return -ENOENT;
	}
	return cfg_store(c, (size_t)i, value, true, err, errlen);
}

int cfg_check(const cfg *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->n; i++) {
		const cfg_var *v = &c->vars[i];
		const cfg_val *cv = &c->v[i];
		bool have = v->type == CFG_KV ? cv->nkv > 0 : cv->str && *cv->str;
		if ((v->flags & CFG_REQUIRED) && !have) {
			cfg_errf(err, errlen, "%s is required", v->name);
			return -EINVAL;
		}
	}
	return 0;
}

int cfg_check_range(const cfg *c, const char *lo, const char *hi, char *err, size_t errlen)
{
	long a = cfg_int(c, lo), b = cfg_int(c, hi);

	if (a > b) {
		cfg_errf(err, errlen, "%s/%s: empty range %ld-%ld", lo, hi, a, b);
		return -EINVAL;
	}
	return 0;
}

static const cfg_val *cfg_get(const cfg *c, const char *name)
{
	long i = c ? cfg_index(c, name) : -1;
	return i < 0 ? NULL : &c->v[i];
}

const char *cfg_str(const cfg *c, const char *name)
{
	const cfg_val *cv = cfg_get(c, name);
	return cv ? cv->str : NULL;
}

long cfg_int(const cfg *c, const char *name)
{
	const cfg_val *cv = cfg_get(c, name);
	return cv && cv->str ? cv->num : 0;
}

bool cfg_bool(const cfg *c, const char *name)
{
	long i = c ? cfg_index(c, name) : -1;
	return i >= 0 && c->vars[i].type == CFG_BOOL && c->v[i].str && c->v[i].num != 0;
}

bool cfg_isset(const cfg *c, const char *name)
{
	const cfg_val *cv = cfg_get(c, name);
	return cv && cv->set;
}

size_t cfg_kv_count(const cfg *c, const char *name)
{
	const cfg_val *cv = cfg_get(c, name);
	return cv ? cv->nkv : 0;
}

int cfg_kv_get(const cfg *c, const char *name, size_t i, const char **key, const char **val)
{
	const cfg_val *cv = cfg_get(c, name);

	if (!cv || i >= cv->nkv)
		return -ENOENT;
	if (key)
		*key = cv->keys[i];
	if (val)
		*val = cv->vals[i];
	return 0;
}

void cfg_dump(const cfg *c, FILE *f)
{
	for (size_t i = 0; i < c->n; i++) {
		const cfg_var *v = &c->vars[i];
		const cfg_val *cv = &c->v[i];
		bool secret = v->flags & CFG_SECRET;
		if (v->type == CFG_KV) {
			if (!cv->nkv)
				fprintf(f, "%s=\n", v->name);
			for (size_t k = 0; k < cv->nkv; k++)
				fprintf(f, "%s=%s=%s\n", v->name, cv->keys[k], secret ? "***" : cv->vals[k]);
			continue;
		}
		fprintf(f, "%s=%s\n", v->name, !cv->str ? "" : secret ? "***" : cv->str);
	}
}
