/* config: one name per setting everywhere; `.env` file < environment < CLI.
 *
 * Each process declares a table of cfg_var (name, type, default, flags, long
 * option) and gets typed getters. Every CLI long option is derived from the
 * table (`opt`), so the names stay in one place. Errors are one line naming
 * the variable, e.g.
 *   config: SIP_PORT: "abc" is not a port (1-65535)
 *   config: RTP_PORT_MIN/RTP_PORT_MAX: empty range 20000-10000
 *   config: OPENAI_API_KEY is required
 * and the process exits with code 2 (cfg_load does not exit; main does).
 * Secrets (CFG_SECRET) print as "***" in cfg_dump and never reach logs. */
#ifndef VX_CONFIG_H
#define VX_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum {
	CFG_STR,   /* any string */
	CFG_INT,   /* integer within [min, max] */
	CFG_PORT,  /* integer 1..65535 (0 allowed when min == 0) */
	CFG_BOOL,  /* 1/0, true/false, yes/no, on/off */
	CFG_LEVEL, /* error|warn|info|debug */
	CFG_URL,   /* must start with one of the schemes in `schemes` ("http,https" ...) */
	CFG_KV,    /* repeatable "key=value" (CLI only, e.g. --param restaurantId=x) */
} cfg_type;

enum {
	CFG_REQUIRED = 1 << 0, /* missing -> "config: NAME is required" */
	CFG_SECRET = 1 << 1,   /* redacted in cfg_dump; never logged */
};

typedef struct cfg_var {
	const char *name;    /* "SIP_PORT" */
	const char *alias;   /* other accepted name ("SIP_SERVER"), or NULL */
	const char *opt;     /* CLI long option without dashes ("sip-port"), or NULL */
	cfg_type type;
	const char *def;     /* default as text, or NULL for none */
	long min, max;       /* CFG_INT bounds */
	unsigned flags;
	const char *schemes; /* CFG_URL: comma-separated allowed schemes */
	const char *help;    /* one line for --help and .env.example */
} cfg_var;

typedef struct cfg cfg;

/* Extra CLI options a process handles itself (e.g. --rtp-ports MIN-MAX).
 * Return 0 if consumed, -ENOENT if not ours, other negative on bad value
 * (after writing one line to err). */
typedef int (cfg_extra_h)(cfg *c, const char *opt, const char *val, char *err, size_t errlen, void *arg);

int cfg_new(cfg **out, const cfg_var *vars, size_t nvars);
void cfg_destroy(cfg *c);

/* Set from a source; validates the value; later sources override earlier. */
int cfg_set(cfg *c, const char *name, const char *value, char *err, size_t errlen);
/* Parse a .env file (KEY=VALUE, `export ` prefix, # comments, single or
 * double quotes, blank lines). Missing file is not an error (returns 0).
 * Only names in the table are taken; unknown names are ignored. */
int cfg_load_file(cfg *c, const char *path, char *err, size_t errlen);
int cfg_load_env(cfg *c, char *err, size_t errlen);
/* CLI: --opt value / --opt=value for each table entry with `opt`, plus
 * --help (returns 1 after printing usage to stdout), --version (returns 1
 * after printing `version`). `extra`/`extra_opts` declare process-specific
 * options (NULL-terminated list of names that take a value). */
int cfg_parse_args(cfg *c, int argc, char **argv, const char *const *extra_opts,
		   cfg_extra_h *extra, void *arg, const char *usage_head,
		   const char *version, char *err, size_t errlen);
/* Required values present, CFG_INT ranges ok. */
int cfg_check(const cfg *c, char *err, size_t errlen);
/* Whole sequence: file (ENV_FILE or ./.env) < env < args, then check.
 * Returns 0 ok, 1 when --help/--version was handled (exit 0), or negative
 * with the one-line message already printed to stderr (exit 2). */
int cfg_load(cfg *c, int argc, char **argv, const char *const *extra_opts,
	     cfg_extra_h *extra, void *arg, const char *usage_head, const char *version);

const char *cfg_str(const cfg *c, const char *name);   /* NULL when unset */
long cfg_int(const cfg *c, const char *name);          /* 0 when unset */
bool cfg_bool(const cfg *c, const char *name);
bool cfg_isset(const cfg *c, const char *name);        /* set by a source, not default */
size_t cfg_kv_count(const cfg *c, const char *name);
int cfg_kv_get(const cfg *c, const char *name, size_t i, const char **key, const char **val);
/* For cross-field checks: "config: A/B: empty range 20000-10000" style. */
int cfg_check_range(const cfg *c, const char *lo, const char *hi, char *err, size_t errlen);
/* Print every setting, secrets as "***", one per line. */
void cfg_dump(const cfg *c, FILE *f);
#endif
