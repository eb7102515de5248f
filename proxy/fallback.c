/* fallback: Realtime API failure handling; see fallback.h. */
#include "fallback.h"

#include "log.h"

void fb_openai_failed(vp *v, vcall *c, const char *reason)
{
	log_warn(vcall_id(c), "realtime: %s; ending the call in %d ms", reason,
		 v->conf.openai_fail_grace_ms);
	vcall_end_after(c, (unsigned)v->conf.openai_fail_grace_ms, "openai_error");
}
