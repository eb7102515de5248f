/* fallback: Realtime API failure handling; see fallback.h. */
#include "fallback.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* path relative to an ancestor of the executable's directory, or -ENOENT */
static int from_exe(const char *rel, char *out, size_t cap)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return -ENOENT;
	exe[n] = '\0';
	/* build/asan/voiceproxy: try build/asan, build, the repo, its parent */
	for (int up = 0; up < 4 && (slash = strrchr(exe, '/')); up++) {
		*slash = '\0';
		if ((size_t)snprintf(out, cap, "%s/%s", *exe ? exe : "", rel) < cap && access(out, R_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

int fb_load(const char *setting, uint8_t **out, size_t *len, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct stat st;
	uint8_t *buf = NULL;
	int fd = -1, rc;

	*out = NULL;
	*len = 0;
	if (!setting || !*setting || !strcmp(setting, "none"))
		return 0; /* disabled: the call just ends after OPENAI_FAIL_GRACE_MS */
	snprintf(path, sizeof(path), "%s", setting);
	if (setting[0] != '/' && access(path, R_OK) != 0 && from_exe(setting, path, sizeof(path)) < 0)
		snprintf(path, sizeof(path), "%s", setting);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "config: FALLBACK_AUDIO: cannot read %s: %s", setting, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > FB_MAX_BYTES) {
		rc = S_ISREG(st.st_mode) && st.st_size > 0 ? -EFBIG : -EINVAL;
		snprintf(err, errlen,
			 "config: FALLBACK_AUDIO: %s must be a non-empty raw µ-law 8 kHz file of at most %d bytes (%d s)",
			 path, FB_MAX_BYTES, FB_MAX_BYTES / 8000);
		goto out;
	}
	buf = malloc((size_t)st.st_size);
	if (!buf) {
		rc = -ENOMEM;
		snprintf(err, errlen, "config: FALLBACK_AUDIO: out of memory");
		goto out;
	}
	if (read(fd, buf, (size_t)st.st_size) != st.st_size) {
		rc = -EIO;
		snprintf(err, errlen, "config: FALLBACK_AUDIO: short read on %s", path);
		goto out;
	}
	log_info("-", "fallback prompt: %s (%.1f s)", path, (double)st.st_size / 8000.0);
	*out = buf;
	*len = (size_t)st.st_size;
	buf = NULL;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

void fb_openai_failed(vp *v, vcall *c, const char *end_reason, const char *why)
{
	const dash_callinfo *ci = vcall_info(c);
	char text[256];
	int r;

	atomic_fetch_add(&v->st.fallbacks, 1);
	/* the restaurant calls back: durable, journaled before it is sent */
	snprintf(text, sizeof(text), "missed call, please call back (the voice assistant was unavailable: %s)",
		 end_reason);
	if (!v->dash)
		r = -ENOTSUP;
	else
		r = dash_post_message(v->dash, ci, text);
	if (r < 0)
		log_err(vcall_id(c), "fallback: missed-call message NOT sent (%s)", strerror(-r));
	else
		log_info(vcall_id(c), "fallback: missed-call message for the restaurant queued (%s)", end_reason);
	if (v->conf.fb_audio && vcall_play(c, v->conf.fb_audio, v->conf.fb_audio_len) == 0 &&
	    vcall_end_after_playout(c, end_reason) == 0) {
		log_info(vcall_id(c), "fallback: playing the fallback prompt (%s), then ending the call", why);
		return;
	}
	log_warn(vcall_id(c), "fallback: no prompt played (%s); ending the call in %d ms", why,
		 v->conf.openai_fail_grace_ms);
	vcall_end_after(c, (unsigned)v->conf.openai_fail_grace_ms, end_reason);
}
