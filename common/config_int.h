/* config internals shared by config*.c (not a public API). */
#ifndef VX_CONFIG_INT_H
#define VX_CONFIG_INT_H
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

typedef struct cfg_val {
	char *str;   /* effective text (set value or default), NULL when none */
	long num;    /* parsed number / bool / level for typed settings */
	bool set;    /* set by a source (not the default) */
	char **keys; /* CFG_KV pairs */
	char **vals;
	size_t nkv;
} cfg_val;

struct cfg {
	const cfg_var *vars;
	size_t n;
	cfg_val *v;
};

/* Index of the setting called `name` (or whose alias is `name`), or -1. */
long cfg_index(const cfg *c, const char *name);
/* One "config: ..." line into err (no newline). */
void cfg_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* .env parser: pure (bytes in, callback per KEY/VALUE out), so it can be
 * fuzzed. `fname` is only used in error messages ("config: F:LINE: ...").
 * The callback's return value, if negative, stops parsing and is returned. */
typedef int (cfg_env_h)(const char *key, const char *val, unsigned line, void *arg);
int cfg_env_parse(const char *buf, size_t len, const char *fname, cfg_env_h *cb, void *arg,
		  char *err, size_t errlen);
#endif
