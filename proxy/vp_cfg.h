/* vp_cfg: voiceproxy's configuration table (DESIGN.md "Configuration") and
 * its cross-field rule: OPENAI_API_KEY may be empty only when
 * OPENAI_REALTIME_URL is ws:// to a loopback host (a local fake). */
#ifndef VX_VP_CFG_H
#define VX_VP_CFG_H
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

extern const cfg_var vp_cfg_vars[];
extern const size_t vp_cfg_nvars;

/* CLI options outside the table (cfg_load's extra hook): --bind-addr,
 * the older name of --bind. */
extern const char *const vp_cfg_extra_opts[];
int vp_cfg_extra(cfg *c, const char *opt, const char *val, char *err, size_t errlen, void *arg);
/* 0, or -EINVAL with one line in err naming the variable. */
int vp_cfg_check(const cfg *c, char *err, size_t errlen);
/* True for ws://127.x, ws://localhost, ws://[::1] URLs. */
bool vp_cfg_url_is_loopback_ws(const char *url);
#endif
