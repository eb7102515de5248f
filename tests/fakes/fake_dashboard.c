/* fake_dashboard: a restaurant dashboard (DESIGN.md "Dashboard API
 * contract") for tests. Records every request as one JSON line, answers
 * like a real dashboard would, de-duplicates POSTs by Idempotency-Key and
 * can be told to fail or be slow, per path, from the CLI or at run time.
 *
 * usage: fake_dashboard --log FILE [--port N] [--bind ADDR] [--ai FILE]
 *                       [--fail PATH=STATUS]... [--delay PATH=MS]...
 *                       [--port-file FILE]
 *   Prints the port (one line) on stdout once listening. PATH "*" = every
 *   path. SIGTERM/SIGINT stop it. "Dashboard down" = kill it; restart it
 *   with --port on the same port.
 *
 * Control at run time: POST /__control with a JSON object:
 *   {"mode":"down","status":503,"path":"/api/orders"}  fail that path (default 503, all paths)
 *   {"mode":"ok","path":"/api/orders","delayMs":5000}  healthy, optionally slow
 *   {"mode":"ok","path":"/api/ai","body":"not json"}   answer this body instead
 *   {"mode":"reset"}                                    forget every rule
 *   GET /__stats -> {"requests":N,"keys":N}
 *
 * Log line: {"seq":1,"at":"…","method":"POST","path":"/api/orders",
 *   "query":{…},"headers":{lower-case names},"idempotencyKey":"…"|null,
 *   "body":<JSON or raw text>,"status":200,"duplicate":false,"response":<JSON>}
 * A POST whose Idempotency-Key was already answered 2xx gets the same
 * answer and is logged with "duplicate":true. POSTs must carry an
 * Idempotency-Key and a JSON object body with restaurantId and callSid
 * (else 400/422), so tests catch a client breaking the contract. */
#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_BODY (4 * 1024 * 1024)
#define MAX_RULES 64

typedef struct rule {
	char path[128];
	int fail;      /* HTTP status to answer, 0 = healthy */
	long delay_ms;
	char *body;    /* answer body override */
} rule;

typedef struct idem {
	char *key;
	int status;
	char *resp;
	bool done;     /* false while the first request is being handled */
	struct idem *next;
} idem;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static rule rules[MAX_RULES];
static size_t nrules;
static idem *keys;
static unsigned long seq, nkeys;
static FILE *reqlog;
static char *ai_body;

static const char default_ai[] =
	"{\"instructions\":\"Tu es l'assistant vocal de la Pizzeria Napoli. Prends les commandes "
	"et les reservations, reponds aux questions.\","
	"\"voice\":\"coral\",\"greeting\":\"Bonjour, Pizzeria Napoli, que puis-je pour vous ?\","
	"\"context\":{\"restaurantName\":\"Pizzeria Napoli\",\"openingHours\":\"11:30-14:30, 18:30-22:30\"},"
	"\"tools\":["
	"{\"type\":\"function\",\"name\":\"check_availability\",\"description\":\"Check a table is free\","
	"\"parameters\":{\"type\":\"object\",\"properties\":{\"date\":{\"type\":\"string\"},\"time\":{\"type\":\"string\"},"
	"\"partySize\":{\"type\":\"integer\"}},\"required\":[\"date\",\"time\",\"partySize\"]}},"
	"{\"type\":\"function\",\"name\":\"create_order\",\"description\":\"Place a take-away order\","
	"\"parameters\":{\"type\":\"object\",\"properties\":{\"customerName\":{\"type\":\"string\"},"
	"\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
	"\"quantity\":{\"type\":\"integer\"}}}},\"pickupTime\":{\"type\":\"string\"}},\"required\":[\"items\"]}},"
	"{\"type\":\"function\",\"name\":\"create_reservation\",\"description\":\"Book a table\","
	"\"parameters\":{\"type\":\"object\",\"properties\":{\"customerName\":{\"type\":\"string\"},"
	"\"date\":{\"type\":\"string\"},\"time\":{\"type\":\"string\"},\"partySize\":{\"type\":\"integer\"}}}},"
	"{\"type\":\"function\",\"name\":\"leave_message\",\"description\":\"Leave a message for the staff\","
	"\"parameters\":{\"type\":\"object\",\"properties\":{\"message\":{\"type\":\"string\"}}}},"
	"{\"type\":\"function\",\"name\":\"ask_question\",\"description\":\"Answer a question from the FAQ\","
	"\"parameters\":{\"type\":\"object\",\"properties\":{\"question\":{\"type\":\"string\"}}}},"
	"{\"type\":\"function\",\"name\":\"lookup_customer\",\"description\":\"Find the caller\","
	"\"parameters\":{\"type\":\"object\",\"properties\":{}}},"
	"{\"type\":\"function\",\"name\":\"get_menu\",\"description\":\"Today's menu\",\"endpoint\":\"/api/faq\","
	"\"parameters\":{\"type\":\"object\",\"properties\":{}}}"
	"]}";

static void now_iso(char out[32])
{
	struct timespec ts;
	struct tm tm;
	char s[24];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%.19s.%03uZ", s, (unsigned)(ts.tv_nsec / 1000000) % 1000u);
}

/* Caller holds mu. Exact path first, then "*". */
static rule *rule_find(const char *path, bool create)
{
	for (size_t i = 0; i < nrules; i++)
		if (strcmp(rules[i].path, path) == 0)
			return &rules[i];
	if (!create || nrules == MAX_RULES)
		return NULL;
	rule *r = &rules[nrules++];
	memset(r, 0, sizeof(*r));
	snprintf(r->path, sizeof(r->path), "%s", path);
	return r;
}

static void rule_effective(const char *path, int *fail, long *delay, char **body)
{
	pthread_mutex_lock(&mu);
	rule *r = rule_find(path, false), *all = rule_find("*", false);
	rule *eff = r ? r : all; /* a rule for this path overrides "*" */
	*fail = eff ? eff->fail : 0;
	*delay = eff ? eff->delay_ms : 0;
	*body = r && r->body ? strdup(r->body) : NULL;
	pthread_mutex_unlock(&mu);
}

static int parse_assign(const char *arg, char *path, size_t cap, long *val)
{
	const char *eq = strrchr(arg, '=');
	if (!eq || eq == arg || (size_t)(eq - arg) >= cap)
		return -1;
	memcpy(path, arg, (size_t)(eq - arg));
	path[eq - arg] = '\0';
	char *end;
	*val = strtol(eq + 1, &end, 10);
	return *end || *val < 0 ? -1 : 0;
}

typedef struct reqctx {
	char *body;
	size_t len;
	bool too_big;
} reqctx;

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
	json_t *o = cls;
	char low[128];
	size_t i;
	for (i = 0; i < sizeof(low) - 1 && k[i]; i++) /* header names: lower case */
		low[i] = (char)((kind == MHD_HEADER_KIND && k[i] >= 'A' && k[i] <= 'Z') ? k[i] + 32 : k[i]);
	low[i] = '\0';
	json_t *s = json_string(v ? v : "");
	json_object_set_new(o, low, s ? s : json_string("(not utf-8)"));
	return MHD_YES;
}

/* The answer of a healthy dashboard. Returns the status; *out malloc'd. */
static int answer_for(const char *method, const char *path, json_t *body, const char *from,
		      unsigned long n, char **out)
{
	char buf[512];
	bool post = strcmp(method, "POST") == 0;
	if (strcmp(path, "/api/ai") == 0 && !post) {
		*out = strdup(ai_body ? ai_body : default_ai);
		return 200;
	}
	if (strcmp(path, "/") == 0 || strcmp(path, "/health") == 0) {
		*out = strdup("{\"ok\":true}");
		return 200;
	}
	static const struct {
		const char *path, *fmt;
	} table[] = {
		{ "/api/orders", "{\"orderId\":\"ord_%lu\",\"status\":\"confirmed\",\"estimatedMinutes\":25}" },
		{ "/api/reservations", "{\"reservationId\":\"res_%lu\",\"status\":\"confirmed\"}" },
		{ "/api/messages", "{\"messageId\":\"msg_%lu\",\"status\":\"received\"}" },
		{ "/api/calls", "{\"callLogId\":\"log_%lu\",\"status\":\"stored\"}" },
		{ "/api/availability/check", "{\"available\":true,\"slots\":[\"19:00\",\"19:30\",\"20:30\"],\"n\":%lu}" },
		{ "/api/faq", "{\"answer\":\"Nous sommes ouverts tous les jours de 11h30 a 14h30 et de 18h30 a 22h30.\",\"n\":%lu}" },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcmp(path, table[i].path) != 0)
			continue;
		if (!post) {
			*out = strdup("{\"error\":\"method not allowed\"}");
			return 405;
		}
		snprintf(buf, sizeof(buf), table[i].fmt, n);
		*out = strdup(buf);
		return 200;
	}
	if (strcmp(path, "/api/customers") == 0 && post) {
		json_t *j = json_pack("{s:b,s:{s:s,s:s}}", "found", 1, "customer", "name", "Marie Dupont",
				      "phone", from ? from : "");
		*out = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		return 200;
	}
	(void)body;
	*out = strdup("{\"error\":\"not found\"}");
	return 404;
}

static int control(json_t *j, char **out)
{
	const char *mode = json_string_value(json_object_get(j, "mode"));
	const char *path = json_string_value(json_object_get(j, "path"));
	json_t *st = json_object_get(j, "status"), *dl = json_object_get(j, "delayMs");
	const char *body = json_string_value(json_object_get(j, "body"));
	if (!mode) {
		*out = strdup("{\"error\":\"mode required\"}");
		return 400;
	}
	pthread_mutex_lock(&mu);
	int rc = 200;
	if (strcmp(mode, "reset") == 0) {
		for (size_t i = 0; i < nrules; i++)
			free(rules[i].body);
		nrules = 0;
	} else if (strcmp(mode, "down") == 0 || strcmp(mode, "ok") == 0) {
		rule *r = rule_find(path ? path : "*", true);
		if (!r) {
			rc = 507;
		} else if (mode[0] == 'd') {
			r->fail = json_is_integer(st) ? (int)json_integer_value(st) : 503;
		} else {
			r->fail = 0;
			r->delay_ms = json_is_integer(dl) ? (long)json_integer_value(dl) : 0;
			free(r->body);
			r->body = body ? strdup(body) : NULL;
		}
	} else {
		rc = 400;
	}
	pthread_mutex_unlock(&mu);
	*out = strdup(rc == 200 ? "{\"ok\":true}" : "{\"error\":\"bad control\"}");
	fprintf(stderr, "fake_dashboard: control %s %s -> %d\n", mode, path ? path : "*", rc);
	return rc;
}

static void record(const char *method, const char *path, json_t *query, json_t *headers,
		   const char *key, const reqctx *c, json_t *body, int status, bool dup,
		   const char *resp)
{
	char at[32];
	now_iso(at);
	json_t *rj = json_loads(resp, 0, NULL);
	json_t *bj = body ? json_incref(body)
			  : c->len ? json_stringn(c->body, c->len) : json_null();
	pthread_mutex_lock(&mu);
	unsigned long n = ++seq;
	json_t *line = json_pack("{s:I,s:s,s:s,s:s,s:O,s:O,s:o,s:o,s:i,s:b,s:o}", "seq", (json_int_t)n, "at", at,
				 "method", method, "path", path, "query", query, "headers", headers,
				 "idempotencyKey", key ? json_string(key) : json_null(), "body",
				 bj ? bj : json_string("(not utf-8)"), "status", status, "duplicate",
				 dup, "response", rj ? rj : json_string(resp ? resp : ""));
	char *s = line ? json_dumps(line, JSON_COMPACT) : NULL;
	if (s && reqlog) {
		fprintf(reqlog, "%s\n", s);
		fflush(reqlog);
	}
	pthread_mutex_unlock(&mu);
	fprintf(stderr, "fake_dashboard: %s %s key=%s -> %d%s\n", method, path, key ? key : "-", status,
		dup ? " (duplicate)" : "");
	free(s);
	json_decref(line);
}

static enum MHD_Result reply(struct MHD_Connection *conn, int status, char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text,
								 MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	(void)cls;
	(void)version;
	reqctx *c = *con_cls;
	if (!c) {
		c = calloc(1, sizeof(*c));
		*con_cls = c;
		return c ? MHD_YES : MHD_NO;
	}
	if (*upload_size) {
		if (c->len + *upload_size > MAX_BODY) {
			c->too_big = true;
		} else {
			char *nb = realloc(c->body, c->len + *upload_size + 1);
			if (!nb)
				return MHD_NO;
			memcpy(nb + c->len, upload, *upload_size);
			c->body = nb;
			c->len += *upload_size;
			c->body[c->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	json_t *query = json_object(), *headers = json_object();
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect, query);
	MHD_get_connection_values(conn, MHD_HEADER_KIND, collect, headers);
	const char *key = json_string_value(json_object_get(headers, "idempotency-key"));
	json_t *body = c->len ? json_loadb(c->body, c->len, 0, NULL) : NULL;
	char *resp = NULL;
	int status = 500;
	bool dup = false, post = strcmp(method, "POST") == 0;
	idem *slot = NULL;

	if (strcmp(url, "/__control") == 0 && post) {
		status = json_is_object(body) ? control(body, &resp) : 400;
		if (!resp)
			resp = strdup("{\"error\":\"JSON object expected\"}");
		goto out;
	}
	if (strcmp(url, "/__stats") == 0) {
		char b[128];
		pthread_mutex_lock(&mu);
		snprintf(b, sizeof(b), "{\"requests\":%lu,\"keys\":%lu}", seq, nkeys);
		pthread_mutex_unlock(&mu);
		resp = strdup(b);
		status = 200;
		goto out;
	}
	int fail;
	long delay;
	char *override;
	rule_effective(url, &fail, &delay, &override);
	if (delay > 0)
		usleep((useconds_t)delay * 1000);
	if (fail) {
		free(override);
		resp = strdup("{\"error\":\"dashboard unavailable (test)\"}");
		status = fail;
		goto out;
	}
	if (c->too_big) {
		free(override);
		resp = strdup("{\"error\":\"body too large\"}");
		status = 413;
		goto out;
	}
	if (post) {
		const char *rid = json_string_value(json_object_get(body, "restaurantId"));
		const char *sid = json_string_value(json_object_get(body, "callSid"));
		if (!key || !*key) {
			resp = strdup("{\"error\":\"Idempotency-Key header required\"}");
			status = 400;
		} else if (!json_is_object(body)) {
			resp = strdup("{\"error\":\"a JSON object body is required\"}");
			status = 400;
		} else if (!rid || !*rid || !sid || !*sid) {
			resp = strdup("{\"error\":\"restaurantId and callSid are required\"}");
			status = 422;
		}
		if (resp) {
			free(override);
			goto out;
		}
		pthread_mutex_lock(&mu);
		for (idem *i = keys; i; i = i->next)
			if (strcmp(i->key, key) == 0)
				slot = i;
		if (slot) {
			dup = true;
			status = slot->done ? slot->status : 409;
			resp = strdup(slot->done ? slot->resp
					       : "{\"error\":\"request with this Idempotency-Key in progress\"}");
			slot = NULL;
		} else if ((slot = calloc(1, sizeof(*slot)))) {
			slot->key = strdup(key);
			slot->next = keys;
			keys = slot;
			nkeys++;
		}
		pthread_mutex_unlock(&mu);
		if (dup) {
			free(override);
			goto out;
		}
	}
	pthread_mutex_lock(&mu);
	unsigned long n = seq + 1;
	pthread_mutex_unlock(&mu);
	status = answer_for(method, url, body, json_string_value(json_object_get(body, "from")), n, &resp);
	if (override) {
		free(resp);
		resp = override;
	}
	if (slot) {
		pthread_mutex_lock(&mu);
		if (status >= 200 && status <= 299) {
			slot->done = true;
			slot->status = status;
			slot->resp = strdup(resp);
		} else { /* not processed: the key may be used again */
			for (idem **pp = &keys; *pp; pp = &(*pp)->next)
				if (*pp == slot) {
					*pp = slot->next;
					break;
				}
			free(slot->key);
			free(slot);
			nkeys--;
		}
		pthread_mutex_unlock(&mu);
	}
out:
	if (strncmp(url, "/__", 3) != 0)
		record(method, url, query, headers, key, c, body, status, dup, resp);
	json_decref(body);
	json_decref(query);
	json_decref(headers);
	return reply(conn, status, resp);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	reqctx *c = *con_cls;
	if (c) {
		free(c->body);
		free(c);
	}
	*con_cls = NULL;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	char tmp[4096];
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			char *nb = realloc(buf, cap);
			if (!nb)
				break;
			buf = nb;
		}
		memcpy(buf + len, tmp, n);
		len += n;
		buf[len] = '\0';
	}
	fclose(f);
	return buf ? buf : strdup("");
}

static void usage(void)
{
	fprintf(stderr, "usage: fake_dashboard --log FILE [--port N] [--bind ADDR] [--ai FILE]\n"
			"       [--fail PATH=STATUS]... [--delay PATH=MS]... [--port-file FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *logpath = NULL, *bind = "127.0.0.1", *portfile = NULL;
	long port = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char path[128];
		long val;
		if (!v)
			usage();
		i++;
		if (strcmp(a, "--log") == 0) {
			logpath = v;
		} else if (strcmp(a, "--port") == 0) {
			port = strtol(v, NULL, 10);
		} else if (strcmp(a, "--bind") == 0) {
			bind = v;
		} else if (strcmp(a, "--port-file") == 0) {
			portfile = v;
		} else if (strcmp(a, "--ai") == 0) {
			if (!(ai_body = read_file(v))) {
				fprintf(stderr, "fake_dashboard: cannot read %s\n", v);
				return 2;
			}
		} else if ((strcmp(a, "--fail") == 0 || strcmp(a, "--delay") == 0) &&
			   parse_assign(v, path, sizeof(path), &val) == 0) {
			rule *r = rule_find(path, true);
			if (!r)
				usage();
			if (a[2] == 'f')
				r->fail = (int)val;
			else
				r->delay_ms = val;
		} else {
			usage();
		}
	}
	if (!logpath || port < 0 || port > 65535)
		usage();
	reqlog = fopen(logpath, "a");
	if (!reqlog) {
		perror(logpath);
		return 2;
	}
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, bind, &sa.sin_addr) != 1) {
		fprintf(stderr, "fake_dashboard: bad --bind %s\n", bind);
		return 2;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* MHD threads inherit the mask */
	signal(SIGPIPE, SIG_IGN);
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
		(uint16_t)port, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sa,
		MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)60, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "fake_dashboard: cannot listen on %s:%ld\n", bind, port);
		return 1;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	unsigned p = info ? info->port : (unsigned)port;
	printf("%u\n", p);
	fflush(stdout);
	if (portfile) {
		char tmp[512];
		snprintf(tmp, sizeof(tmp), "%s.tmp", portfile);
		FILE *f = fopen(tmp, "w");
		if (f) {
			fprintf(f, "%u\n", p);
			fclose(f);
			rename(tmp, portfile);
		}
	}
	fprintf(stderr, "fake_dashboard: listening on %s:%u, log %s\n", bind, p, logpath);
	int sig;
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	fclose(reqlog);
	while (keys) {
		idem *k = keys;
		keys = k->next;
		free(k->key);
		free(k->resp);
		free(k);
	}
	for (size_t i = 0; i < nrules; i++)
		free(rules[i].body);
	free(ai_body);
	return 0;
}
