/* spool: one file per undelivered dashboard POST (see spool.h). */
#include "spool.h"
#include "err.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct spool {
	char *dir;
};

static atomic_uint spool_seq;

long long spool_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void spool_iso8601(long long ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	char sec[24];
	if (ms < 0 || strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm) != 19)
		snprintf(sec, sizeof(sec), "1970-01-01T00:00:00");
	snprintf(out, 32, "%.19s.%03uZ", sec, (unsigned)(ms % 1000) % 1000u);
}

/* mkdir -p: SPOOL_DIR may be e.g. /var/lib/voixia/spool on a fresh host. */
static int mkdirs(const char *dir)
{
	char p[PATH_MAX];
	if (snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p))
		return -ENAMETOOLONG;
	for (char *c = p + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -errno;
		*c = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int spool_new(spool **out, const char *dir)
{
	if (!dir || !*dir)
		return -EINVAL;
	int rc = mkdirs(dir);
	if (rc < 0)
		return rc;
	if (access(dir, W_OK | X_OK) < 0)
		return -errno;
	spool *s = calloc(1, sizeof(*s));
	if (!s || !(s->dir = strdup(dir))) {
		free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

void spool_destroy(spool *s)
{
	if (!s)
		return;
	free(s->dir);
	free(s);
}

const char *spool_dir(const spool *s) { return s->dir; }

void spool_entry_clear(spool_entry *e)
{
	free(e->kind);
	free(e->path);
	free(e->key);
	free(e->call_sid);
	free(e->body);
	memset(e, 0, sizeof(*e));
}

int spool_path_ok(const char *p)
{
	if (!p || p[0] != '/' || strlen(p) > 200 || strstr(p, "..") || strstr(p, "//"))
		return 0;
	for (const char *c = p; *c; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr("/_-.~", *c)))
			return 0;
	}
	return 1;
}

static int key_ok(const char *k)
{
	size_t n = strlen(k);
	if (n == 0 || n > 200)
		return 0;
	for (; *k; k++)
		if (*k < 0x21 || *k > 0x7e) /* a header value: visible ASCII only */
			return 0;
	return 1;
}

/* Declarative shape of an entry file. */
static const struct {
	const char *name;
	json_type type;
	int required;
} entry_fields[] = {
	{ "v", JSON_INTEGER, 1 },      { "kind", JSON_STRING, 1 },
	{ "path", JSON_STRING, 1 },    { "key", JSON_STRING, 1 },
	{ "callSid", JSON_STRING, 0 }, { "created", JSON_INTEGER, 0 },
	{ "body", JSON_OBJECT, 1 },
};

int spool_entry_parse(const char *buf, size_t len, spool_entry *e)
{
	int rc = -EBADMSG;
	memset(e, 0, sizeof(*e));
	if (!buf || len == 0 || len > SPOOL_MAX_ENTRY)
		return -EBADMSG;
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(j))
		goto out;
	for (size_t i = 0; i < VX_ARRAY_LEN(entry_fields); i++) {
		json_t *v = json_object_get(j, entry_fields[i].name);
		if (!v ? entry_fields[i].required : json_typeof(v) != entry_fields[i].type)
			goto out;
	}
	if (json_integer_value(json_object_get(j, "v")) != 1)
		goto out;
	const char *path = json_string_value(json_object_get(j, "path"));
	const char *key = json_string_value(json_object_get(j, "key"));
	const char *kind = json_string_value(json_object_get(j, "kind"));
	const char *sid = json_string_value(json_object_get(j, "callSid"));
	if (!spool_path_ok(path) || !key_ok(key) || !*kind || strlen(kind) > 32)
		goto out;
	e->kind = strdup(kind);
	e->path = strdup(path);
	e->key = strdup(key);
	e->call_sid = strdup(sid && strlen(sid) <= 64 ? sid : "");
	e->body = json_dumps(json_object_get(j, "body"), JSON_COMPACT);
	e->created_ms = json_integer_value(json_object_get(j, "created"));
	if (!e->kind || !e->path || !e->key || !e->call_sid || !e->body) {
		rc = -ENOMEM;
		goto out;
	}
	rc = 0;
out:
	json_decref(j);
	if (rc < 0)
		spool_entry_clear(e);
	return rc;
}

int spool_entry_encode(const spool_entry *e, char **out)
{
	int rc = -EINVAL;
	json_t *body = NULL, *j = NULL;
	if (!e->kind || !spool_path_ok(e->path) || !e->key || !key_ok(e->key) || !e->body)
		return -EINVAL;
	body = json_loads(e->body, 0, NULL);
	if (!json_is_object(body))
		goto out;
	j = json_pack("{s:i,s:s,s:s,s:s,s:s,s:I,s:O}", "v", 1, "kind", e->kind, "path", e->path,
		      "key", e->key, "callSid", e->call_sid ? e->call_sid : "", "created",
		      (json_int_t)e->created_ms, "body", body);
	if (!j || !(*out = json_dumps(j, JSON_COMPACT))) {
		rc = -ENOMEM;
		goto out;
	}
	rc = 0;
out:
	json_decref(body);
	json_decref(j);
	return rc;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int spool_put(spool *s, const spool_entry *e, char name[SPOOL_NAME_SIZE])
{
	char *text = NULL, tmp[PATH_MAX], fin[PATH_MAX];
	int fd = -1, rc = spool_entry_encode(e, &text);
	if (rc < 0)
		return rc;
	uint32_t rnd = 0;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)getpid();
	snprintf(name, SPOOL_NAME_SIZE, "%013lld-%05u-%08x.json", spool_now_ms(),
		 atomic_fetch_add(&spool_seq, 1) % 100000, rnd);
	snprintf(tmp, sizeof(tmp), "%s/.tmp-%s", s->dir, name);
	snprintf(fin, sizeof(fin), "%s/%s", s->dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if ((rc = write_all(fd, text, strlen(text))) < 0 || (rc = write_all(fd, "\n", 1)) < 0)
		goto out;
	if (fsync(fd) < 0) {
		rc = -errno;
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, fin) < 0) {
		rc = -errno;
		goto out;
	}
	rc = fsync_dir(s->dir); /* the rename itself must survive a crash */
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		unlink(tmp);
		name[0] = '\0';
	}
	free(text);
	return rc;
}

static int name_ok(const char *name)
{
	return name && *name && !strchr(name, '/') && name[0] != '.';
}

int spool_read(spool *s, const char *name, spool_entry *e)
{
	char path[PATH_MAX];
	int rc;
	memset(e, 0, sizeof(*e));
	if (!name_ok(name))
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	struct stat st;
	char *buf = NULL;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > SPOOL_MAX_ENTRY) {
		rc = -EBADMSG;
		goto out;
	}
	buf = malloc((size_t)st.st_size);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	ssize_t n = read(fd, buf, (size_t)st.st_size);
	if (n != st.st_size) {
		rc = n < 0 ? -errno : -EBADMSG;
		goto out;
	}
	rc = spool_entry_parse(buf, (size_t)n, e);
out:
	free(buf);
	close(fd);
	return rc;
}

int spool_remove(spool *s, const char *name)
{
	char path[PATH_MAX];
	if (!name_ok(name))
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	return unlink(path) < 0 ? -errno : 0;
}

int spool_quarantine(spool *s, const char *name)
{
	char a[PATH_MAX], b[PATH_MAX];
	if (!name_ok(name))
		return -EINVAL;
	snprintf(a, sizeof(a), "%s/%s", s->dir, name);
	snprintf(b, sizeof(b), "%s/%s.corrupt", s->dir, name);
	if (rename(a, b) < 0)
		return -errno;
	return fsync_dir(s->dir);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void spool_list_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int spool_list(spool *s, char ***names, size_t *n)
{
	int rc = 0;
	char **v = NULL;
	size_t cnt = 0, cap = 0;
	DIR *dp = opendir(s->dir);
	if (!dp)
		return -errno;
	struct dirent *de;
	while ((de = readdir(dp))) {
		const char *nm = de->d_name;
		size_t len = strlen(nm);
		if (strncmp(nm, ".tmp-", 5) == 0) { /* crash mid-write: never acknowledged */
			unlinkat(dirfd(dp), nm, 0);
			continue;
		}
		if (nm[0] == '.' || len < 6 || strcmp(nm + len - 5, ".json") != 0)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			char **nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				rc = -ENOMEM;
				goto out;
			}
			v = nv;
		}
		if (!(v[cnt] = strdup(nm))) {
			rc = -ENOMEM;
			goto out;
		}
		cnt++;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_names);
out:
	closedir(dp);
	if (rc < 0) {
		spool_list_free(v, cnt);
		return rc;
	}
	*names = v;
	*n = cnt;
	return 0;
}

int spool_dead_letter(spool *s, const spool_entry *e, long status, const char *reason,
		      const char *response)
{
	char path[PATH_MAX], at[32], *line = NULL, *entry_text = NULL;
	json_t *entry = NULL, *j = NULL;
	int fd = -1, rc = spool_entry_encode(e, &entry_text);
	if (rc < 0)
		return rc;
	entry = json_loads(entry_text, 0, NULL);
	spool_iso8601(spool_now_ms(), at);
	/* the answer is kept short: it is for a human reading the file */
	char resp[2048];
	snprintf(resp, sizeof(resp), "%s", response ? response : "");
	j = json_pack("{s:s,s:I,s:s,s:O,s:s}", "at", at, "status", (json_int_t)status, "reason",
		      reason ? reason : "", "entry", entry, "response", resp);
	if (!j) { /* e.g. the answer was not UTF-8 */
		j = json_pack("{s:s,s:I,s:s,s:O}", "at", at, "status", (json_int_t)status,
			      "reason", reason ? reason : "", "entry", entry);
	}
	if (!j || !(line = json_dumps(j, JSON_COMPACT))) {
		rc = -ENOMEM;
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s", s->dir, SPOOL_DEAD_LETTER);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	size_t len = strlen(line);
	line[len] = '\n'; /* one write: appends from several threads stay whole lines */
	rc = write_all(fd, line, len + 1);
	line[len] = '\0';
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
out:
	if (fd >= 0)
		close(fd);
	free(line);
	free(entry_text);
	json_decref(entry);
	json_decref(j);
	return rc;
}
