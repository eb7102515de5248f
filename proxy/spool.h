/* spool: the durable journal of dashboard POSTs not yet accepted
 * (SPOOL_DIR). One file per request, written atomically (tmp file, fsync,
 * rename, fsync of the directory), so a crash or SIGKILL at any point
 * leaves either the whole entry or nothing. Names sort in creation order.
 *
 * These functions block on the disk: voiceproxy calls spool_put and
 * spool_dead_letter from the libuv thread pool, never on the loop thread.
 * They are thread-safe (a spool only holds its immutable directory path).
 *
 * Entry file (JSON): {"v":1,"kind":"order","path":"/api/orders",
 *   "key":"CA…:call_…","callSid":"CA…","created":1763769541123,"body":{…}} */
#ifndef VX_SPOOL_H
#define VX_SPOOL_H
#include <stddef.h>

typedef struct spool spool;

#define SPOOL_NAME_SIZE 64
#define SPOOL_MAX_ENTRY (4 * 1024 * 1024) /* bigger files are corrupt */
#define SPOOL_DEAD_LETTER "dead-letter.jsonl"

typedef struct spool_entry {
	char *kind;     /* "order", "reservation", "message", "call", … */
	char *path;     /* dashboard path, e.g. "/api/orders" (never a full URL) */
	char *key;      /* Idempotency-Key */
	char *call_sid; /* for log lines; may be "" */
	char *body;     /* compact JSON object text */
	long long created_ms;
} spool_entry;

int spool_new(spool **out, const char *dir); /* creates dir (0700) if missing */
void spool_destroy(spool *s);
const char *spool_dir(const spool *s);

/* Pure: entry text <-> struct. parse: 0, or -EBADMSG with e zeroed. */
int spool_entry_parse(const char *buf, size_t len, spool_entry *e);
int spool_entry_encode(const spool_entry *e, char **out); /* malloc'd text */
void spool_entry_clear(spool_entry *e);
/* Validation shared with dash: a dashboard path we may POST to. */
int spool_path_ok(const char *path);

/* Atomically writes e; name receives the file name (not the full path). */
int spool_put(spool *s, const spool_entry *e, char name[SPOOL_NAME_SIZE]);
int spool_read(spool *s, const char *name, spool_entry *e); /* -EBADMSG corrupt */
int spool_remove(spool *s, const char *name);
/* Moves a corrupt entry aside as NAME.corrupt (kept for inspection). */
int spool_quarantine(spool *s, const char *name);
/* Sorted entry names (oldest first); free with spool_list_free. Also removes
 * temp files left by a crash mid-write. */
int spool_list(spool *s, char ***names, size_t *n);
void spool_list_free(char **names, size_t n);
/* Appends one JSON line to SPOOL_DIR/dead-letter.jsonl (fsync):
 * {"at":"…Z","status":422,"reason":"…","entry":{…},"response":"…"} */
int spool_dead_letter(spool *s, const spool_entry *e, long status, const char *reason,
		      const char *response);
/* "2026-11-21T23:59:01.123Z" for a time in ms since the epoch (UTC). */
void spool_iso8601(long long ms, char out[32]);
long long spool_now_ms(void); /* wall clock, ms since the epoch */
#endif
