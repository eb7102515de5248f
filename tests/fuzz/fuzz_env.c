/* fuzz_env: the .env parser (cfg_env_parse, the pure core of cfg_load_file)
 * with each KEY=VALUE applied to both processes' real setting tables the
 * way cfg_load_file does. A .env is operator-written, but it is also the
 * file a hostile deploy template or a copy-paste can corrupt.
 * Contract checked: keys are shell identifiers, values NUL-terminated,
 * line numbers increase; errors are one NUL-terminated line; a secret
 * (CFG_SECRET) that was set prints as *** in cfg_dump and appears in no
 * error message. */
#include "fuzz.h"

#include <ctype.h>
#include <errno.h>

#include "config_int.h"
#include "sb_config.h"
#include "vp_cfg.h"

typedef struct fz_env {
	cfg *c[2];
	unsigned last_line;
} fz_env;

static int kv(const char *key, const char *val, unsigned line, void *arg)
{
	fz_env *e = arg;
	char err[512];

	FZ_CHECK(key[0] && (isalpha((unsigned char)key[0]) || key[0] == '_'));
	for (const char *k = key; *k; k++)
		FZ_CHECK(isalnum((unsigned char)*k) || *k == '_');
	FZ_CHECK(line > e->last_line);
	e->last_line = line;
	(void)strlen(val);
	for (int i = 0; i < 2; i++) {
		long ix = cfg_index(e->c[i], key);
		if (ix < 0 || e->c[i]->vars[ix].type == CFG_KV)
			continue;
		err[0] = '\0';
		if (cfg_set(e->c[i], key, val, err, sizeof(err)) < 0) {
			FZ_CSTR(err);
			FZ_CHECK(err[0]);
			if (!strchr(val, '\n'))
				FZ_CHECK(!strchr(err, '\n')); /* one line */
			if ((e->c[i]->vars[ix].flags & CFG_SECRET) && strlen(val) >= 8 &&
			    !strstr("config: ", val) && !strstr(key, val))
				FZ_CHECK(!strstr(err, val));
		}
	}
	return 0;
}

/* Every set secret shows as NAME=*** in the dump. */
static void check_dump(const cfg *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	FZ_CHECK(f);
	fputc('\n', f); /* so every line starts after a newline */
	cfg_dump(c, f);
	fclose(f);
	for (size_t i = 0; i < c->n; i++) {
		const cfg_var *v = &c->vars[i];
		const char *val = c->v[i].str;
		char want[128];
		if (!(v->flags & CFG_SECRET) || !val || !*val || v->type == CFG_KV)
			continue;
		snprintf(want, sizeof(want), "\n%s=***\n", v->name);
		FZ_CHECK(strstr(text, want));
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t nsb;
	const cfg_var *sbv = sb_config_table(&nsb);
	fz_env e = { { NULL, NULL }, 0 };
	char err[512];
	int r;

	FZ_CHECK(cfg_new(&e.c[0], vp_cfg_vars, vp_cfg_nvars) == 0);
	FZ_CHECK(cfg_new(&e.c[1], sbv, nsb) == 0);
	err[0] = '\0';
	r = cfg_env_parse((const char *)data, size, "fz.env", kv, &e, err, sizeof(err));
	FZ_CSTR(err);
	FZ_CHECK(r <= 0);
	if (r < 0)
		FZ_CHECK(err[0] != '\0');
	check_dump(e.c[0]);
	check_dump(e.c[1]);
	cfg_destroy(e.c[0]);
	cfg_destroy(e.c[1]);
	return 0;
}
