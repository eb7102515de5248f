/* config_args: environment, command line, --help, and the cfg_load sequence.
 *
 * Usage notes:
 *  - CLI forms: --opt value, --opt=value; a CFG_BOOL option alone (--opt)
 *    means true, and takes the next argument only if it is a boolean word;
 *    a CFG_KV option is repeatable (--param k=v --param=k2=v2).
 *  - Process-specific options: names in extra_opts (with or without the
 *    leading "--") take a value; the extra handler gets the name WITHOUT
 *    dashes. Any other unknown option is offered to the handler with
 *    val NULL (a flag); -ENOENT from it means "unknown option".
 *  - Environment: NAME beats its alias when both are set. CFG_KV settings
 *    come from the CLI only.
 *  - cfg_load: file (ENV_FILE, else ./.env) < environment < CLI, then
 *    cfg_check; errors are printed as one line on stderr.
 */
#include "config_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"

int cfg_load_env(cfg *c, char *err, size_t errlen)
{
	int r;

	for (size_t i = 0; i < c->n; i++) {
		const cfg_var *v = &c->vars[i];
		const char *s;
		if (v->type == CFG_KV)
			continue;
		/* alias first so the canonical name wins */
		if (v->alias && (s = getenv(v->alias)) && (r = cfg_set(c, v->name, s, err, errlen)) < 0)
			return r;
		if ((s = getenv(v->name)) && (r = cfg_set(c, v->name, s, err, errlen)) < 0)
			return r;
	}
	return 0;
}

static const char *cfg_metavar(cfg_type t)
{
	switch (t) {
	case CFG_INT: return "N";
	case CFG_PORT: return "PORT";
	case CFG_BOOL: return "[BOOL]";
	case CFG_LEVEL: return "LEVEL";
	case CFG_URL: return "URL";
	case CFG_KV: return "KEY=VALUE";
	default: return "VALUE";
	}
}

static void cfg_usage_line(const cfg_var *v, FILE *f)
{
	char lhs[96];

	if (v->opt)
		snprintf(lhs, sizeof(lhs), "--%s %s", v->opt, cfg_metavar(v->type));
	else
		snprintf(lhs, sizeof(lhs), "%s", v->name);
	fprintf(f, "  %-28s ", lhs);
	if (v->opt)
		fprintf(f, "%s", v->name);
	if (v->alias)
		fprintf(f, "%s(alias %s)", v->opt ? " " : "", v->alias);
	if (v->type == CFG_KV)
		fprintf(f, "%srepeatable", v->opt || v->alias ? ", " : "");
	else if (v->def)
		fprintf(f, "%sdefault %s", v->opt || v->alias ? ", " : "", (v->flags & CFG_SECRET) ? "***" : v->def);
	else if (v->flags & CFG_REQUIRED)
		fprintf(f, "%srequired", v->opt || v->alias ? ", " : "");
	else
		fprintf(f, "%sno default", v->opt || v->alias ? ", " : "");
	if (v->type == CFG_INT && (v->min || v->max))
		fprintf(f, " (%ld-%ld)", v->min, v->max);
	if (v->type == CFG_URL && v->schemes)
		fprintf(f, " (%s)", v->schemes);
	if (v->help)
		fprintf(f, ". %s", v->help);
	fputc('\n', f);
}

static void cfg_usage(const cfg *c, const char *head, FILE *f)
{
	bool env_only = false;

	if (head)
		fprintf(f, "%s%s", head, head[0] && head[strlen(head) - 1] != '\n' ? "\n" : "");
	fprintf(f, "\nOptions (settings are read from .env < environment < options; "
		   "ENV_FILE names the .env file):\n");
	for (size_t i = 0; i < c->n; i++)
		if (c->vars[i].opt)
			cfg_usage_line(&c->vars[i], f);
	fprintf(f, "  %-28s %s\n", "--help", "print this help and exit");
	fprintf(f, "  %-28s %s\n", "--version", "print the version and exit");
	for (size_t i = 0; i < c->n; i++) {
		if (c->vars[i].opt)
			continue;
		if (!env_only)
			fprintf(f, "\nEnvironment / .env only:\n");
		env_only = true;
		cfg_usage_line(&c->vars[i], f);
	}
}

static bool cfg_in_list(const char *const *list, const char *name)
{
	for (; list && *list; list++) {
		const char *e = *list;
		if (!strncmp(e, "--", 2))
			e += 2;
		if (!strcmp(e, name))
			return true;
	}
	return false;
}

static bool cfg_is_bool_word(const char *s)
{
	static const char *const w[] = {"1", "0", "true", "false", "yes", "no", "on", "off"};
	for (size_t i = 0; s && i < VX_ARRAY_LEN(w); i++)
		if (!strcasecmp(s, w[i]))
			return true;
	return false;
}

int cfg_parse_args(cfg *c, int argc, char **argv, const char *const *extra_opts,
		   cfg_extra_h *extra, void *arg, const char *usage_head,
		   const char *version, char *err, size_t errlen)
{
	char name[128];
	int r;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL, *eq;
		const cfg_var *v = NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			cfg_usage(c, usage_head, stdout);
			fflush(stdout);
			return 1;
		}
		if (!strcmp(a, "--version") || !strcmp(a, "-V")) {
			printf("%s\n", version ? version : "unknown");
			fflush(stdout);
			return 1;
		}
		if (strncmp(a, "--", 2) != 0 || !a[2]) {
			cfg_errf(err, errlen, "unexpected argument \"%.64s\" (see --help)", a);
			return -EINVAL;
		}
		a += 2;
		eq = strchr(a, '=');
		if ((size_t)(eq ? eq - a : (long)strlen(a)) >= sizeof(name)) {
			cfg_errf(err, errlen, "unknown option --%.64s (see --help)", a);
			return -EINVAL;
		}
		snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
		if (eq)
			val = eq + 1;
		for (size_t k = 0; k < c->n; k++)
			if (c->vars[k].opt && !strcmp(c->vars[k].opt, name))
				v = &c->vars[k];

		if (v) {
			if (!val && v->type == CFG_BOOL) {
				val = "true";
				if (i + 1 < argc && cfg_is_bool_word(argv[i + 1]))
					val = argv[++i];
			} else if (!val) {
				if (i + 1 >= argc) {
					cfg_errf(err, errlen, "--%s needs a value (%s)", name, v->name);
					return -EINVAL;
				}
				val = argv[++i];
			}
			if (v->type == CFG_KV && !*val) {
				cfg_errf(err, errlen, "%s: \"\" is not key=value", v->name);
				return -EINVAL;
			}
			if ((r = cfg_set(c, v->name, val, err, errlen)) < 0)
				return r;
			continue;
		}
		if (extra && cfg_in_list(extra_opts, name) && !val) {
			if (i + 1 >= argc) {
				cfg_errf(err, errlen, "--%s needs a value", name);
				return -EINVAL;
			}
			val = argv[++i];
		}
		r = extra ? extra(c, name, val, err, errlen, arg) : -ENOENT;
		if (r == -ENOENT) {
			cfg_errf(err, errlen, "unknown option --%s (see --help)", name);
			return -EINVAL;
		}
		if (r < 0) {
			if (err && errlen && !err[0])
				cfg_errf(err, errlen, "--%s: bad value", name);
			return r;
		}
	}
	return 0;
}

int cfg_load(cfg *c, int argc, char **argv, const char *const *extra_opts,
	     cfg_extra_h *extra, void *arg, const char *usage_head, const char *version)
{
	const char *path = getenv("ENV_FILE");
	char err[512] = "";
	int r;

	if (!path || !*path)
		path = ".env";
	if ((r = cfg_load_file(c, path, err, sizeof(err))) < 0)
		goto fail;
	if ((r = cfg_load_env(c, err, sizeof(err))) < 0)
		goto fail;
	err[0] = '\0';
	r = cfg_parse_args(c, argc, argv, extra_opts, extra, arg, usage_head, version, err, sizeof(err));
	if (r != 0)
		goto fail;
	if ((r = cfg_check(c, err, sizeof(err))) < 0)
		goto fail;
	return 0;
fail:
	if (r < 0)
		fprintf(stderr, "%s\n", err[0] ? err : "config: invalid configuration");
	return r;
}
