/* lg_stats: the load generator's clock, latency histograms, frame markers,
 * JSON scan, kernel receive stamps and /proc/PID/stat fields (lg.h). */
#include "lg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define LG_HB 1000000 /* histogram buckets of 10 µs: 0 .. 10 s */

int64_t lg_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

const char *lg_json_str(const char *d, size_t len, const char *key, size_t *vl)
{
	char pat[64];
	size_t kl = strlen(key), pl = kl + 4;
	const char *p, *e;

	if (pl >= sizeof(pat))
		return NULL;
	/* "key":" without snprintf: several lookups per message */
	pat[0] = '"';
	memcpy(pat + 1, key, kl); /* NOLINT(bugprone-not-null-terminated-result): the next memcpy ends it */
	memcpy(pat + 1 + kl, "\":\"", 4); /* with the NUL */
	if (!(p = memmem(d, len, pat, pl)))
		return NULL;
	p += pl;
	e = memchr(p, '"', len - (size_t)(p - d));
	if (!e)
		return NULL;
	*vl = (size_t)(e - p);
	return p;
}

int lg_hist_init(lg_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->b = calloc(LG_HB, sizeof(uint32_t));
	return h->b ? 0 : -ENOMEM;
}

void lg_hist_free(lg_hist *h)
{
	free(h->b);
	h->b = NULL;
}

void lg_hist_add(lg_hist *h, int64_t ns)
{
	int64_t b;

	if (ns < 0)
		ns = 0;
	b = ns / 10000;
	if (b >= LG_HB)
		b = LG_HB - 1;
	h->b[b]++;
	h->n++;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

double lg_hist_pct(const lg_hist *h, double p)
{
	uint64_t want, acc = 0;

	if (!h->n)
		return -1;
	want = (uint64_t)(p * (double)h->n);
	if (want >= h->n)
		want = h->n - 1;
	for (int i = 0; i < LG_HB; i++) {
		acc += h->b[i];
		if (acc > want)
			return (i + 0.5) * 0.01; /* ms, bucket middle */
	}
	return h->max_ns / 1e6;
}

void lg_hist_json(const char *name, const lg_hist *h)
{
	printf("\"%s\":{\"n\":%" PRIu64 ",\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f},", name, h->n,
	       lg_hist_pct(h, 0.50), lg_hist_pct(h, 0.99), h->n ? h->max_ns / 1e6 : -1.0);
}

void lg_mark_fill(uint8_t *f, uint32_t idx, uint32_t seq, int64_t t_send)
{
	memset(f, 0xff, LG_FRAME);
	memcpy(f, LG_MARK_MAGIC, 4);
	memcpy(f + 4, &idx, 4);
	memcpy(f + 8, &seq, 4);
	memset(f + 12, 0, 4);
	memcpy(f + 16, &t_send, 8);
}

int lg_mark_read(const uint8_t *f, uint32_t n_idx, uint32_t n_seq, uint32_t *idx, uint32_t *seq,
		 int64_t *t_send)
{
	if (memcmp(f, LG_MARK_MAGIC, 4))
		return -1;
	memcpy(idx, f + 4, 4);
	memcpy(seq, f + 8, 4);
	memcpy(t_send, f + 16, 8);
	if (*idx >= n_idx || *seq >= n_seq)
		return -1;
	return 0;
}

long long lg_proc_stat(int pid, int n)
{
	char path[64], buf[1024], *p, *save = NULL;
	FILE *f;
	size_t len;
	int i = 3;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (n < 3 || !(f = fopen(path, "r")))
		return -1;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	if (!(p = strrchr(buf, ')'))) /* comm may hold spaces and parentheses */
		return -1;
	for (char *tok = strtok_r(p + 1, " ", &save); tok; tok = strtok_r(NULL, " ", &save), i++)
		if (i == n)
			return strtoll(tok, NULL, 10);
	return -1;
}

int lg_last_cpu(int pid)
{
	return (int)lg_proc_stat(pid, 39);
}

int64_t lg_cmsg_rx_ns(struct msghdr *mh)
{
	int64_t t = 0;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
			t = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		}
	return t;
}
