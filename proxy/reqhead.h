/* rh: HTTP/1.1 request head parser for the one-port acceptor, which peeks at
 * a request to route it (WS upgrade vs plain HTTP) and to authenticate
 * /media-stream before any OpenAI connection is opened. Pure: bytes in,
 * struct out; the struct holds its own copy of the head. */
#ifndef VX_REQHEAD_H
#define VX_REQHEAD_H
#include <stddef.h>

#define RH_MAX 8192 /* whole head, request line to the blank line */
#define RH_MAX_HEADERS 64

typedef struct rh_head {
	const char *method; /* "GET" */
	const char *target; /* "/media-stream?x=1" as sent */
	const char *path;   /* "/media-stream" */
	const char *query;  /* "x=1" or "" */
	size_t nh;
	struct { const char *name, *value; } h[RH_MAX_HEADERS];
	size_t head_len; /* bytes up to and including the blank line */
	char buf[2 * RH_MAX + 4]; /* the head, then a copy of the path */
} rh_head;

/* 0 complete; -EAGAIN need more bytes; -EBADMSG malformed; -E2BIG head
 * larger than RH_MAX or too many headers. */
int rh_parse(rh_head *h, const char *data, size_t len);
/* Case-insensitive lookup; value trimmed; NULL when absent. */
const char *rh_header(const rh_head *h, const char *name);
/* True when a comma-separated header (Connection, Upgrade) holds token. */
int rh_header_has(const rh_head *h, const char *name, const char *token);
#endif
