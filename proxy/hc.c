/* hc: libcurl multi driven by libuv (see hc.h). Pattern of curl's
 * multi-uv.c example: curl tells us which sockets to watch (socket
 * callback) and when to wake it (timer callback); we feed readiness back
 * with curl_multi_socket_action and collect finished transfers. */
#include "hc.h"
#include "err.h"
#include "log.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct hc {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	hc_req *reqs;      /* doubly linked list of live requests */
	unsigned active;
	bool closing;
};

struct hc_req {
	hc *h;
	CURL *easy;
	struct curl_slist *hdrs;
	char *body;        /* request body copy */
	char *resp;        /* answer body */
	size_t resp_len, resp_cap;
	bool too_big;
	hc_done_h *cb;
	void *arg;
	uint64_t t0;
	char errbuf[CURL_ERROR_SIZE];
	hc_req *prev, *next;
};

/* One per socket curl asks us to watch; freed in its close callback. */
typedef struct hc_sock {
	uv_poll_t poll;
	hc *h;
	curl_socket_t fd;
} hc_sock;

static pthread_once_t hc_once = PTHREAD_ONCE_INIT;
static void hc_global_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static void req_unlink(hc_req *r)
{
	hc *h = r->h;
	if (r->prev)
		r->prev->next = r->next;
	else
		h->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	h->active--;
}

static void req_free(hc_req *r)
{
	if (!r)
		return;
	if (r->easy) {
		curl_multi_remove_handle(r->h->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->hdrs);
	free(r->body);
	free(r->resp);
	free(r);
}

static int map_curl_err(CURLcode c, bool too_big)
{
	if (too_big)
		return -EMSGSIZE;
	switch (c) {
	case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY: return -EHOSTUNREACH;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR: return -ECONNRESET;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT: return -EINVAL;
	default: return -EIO;
	}
}

/* Completed transfers: unlink, report, free. The callback may add or
 * cancel other requests, so the list is re-read from curl each time. */
static void check_done(hc *h)
{
	CURLMsg *m;
	int left;
	while (!h->closing && (m = curl_multi_info_read(h->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		hc_req *r = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (!r)
			continue;
		CURLcode res = m->data.result;
		hc_resp out = { .body = "", .errmsg = "" };
		if (res == CURLE_OK) {
			curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &out.status);
		} else {
			out.err = map_curl_err(res, r->too_big);
			out.errmsg = r->errbuf[0] ? r->errbuf : curl_easy_strerror(res);
		}
		if (r->resp) {
			out.body = r->resp;
			out.body_len = r->resp_len;
		}
		out.elapsed_ms = (long)(uv_now(h->loop) - r->t0);
		req_unlink(r);
		if (r->cb)
			r->cb(&out, r->arg);
		req_free(r);
	}
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	hc_sock *s = p->data;
	hc *h = s->h;
	int flags = 0, running;
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(h->multi, s->fd, flags, &running);
	check_done(h);
}

static void on_timer(uv_timer_t *t)
{
	hc *h = t->data;
	int running;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
}

static void sock_closed(uv_handle_t *hd) { free(hd->data); }

static int sock_cb(CURL *e, curl_socket_t fd, int what, void *uarg, void *sockp)
{
	(void)e;
	hc *h = uarg;
	hc_sock *s = sockp;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			uv_poll_stop(&s->poll);
			uv_close((uv_handle_t *)&s->poll, sock_closed);
			curl_multi_assign(h->multi, fd, NULL);
		}
		return 0;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -1;
		s->h = h;
		s->fd = fd;
		if (uv_poll_init_socket(h->loop, &s->poll, fd) < 0) {
			free(s);
			return -1;
		}
		s->poll.data = s;
		curl_multi_assign(h->multi, fd, s);
	}
	int ev = 0;
	if (what & CURL_POLL_IN)
		ev |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		ev |= UV_WRITABLE;
	uv_poll_start(&s->poll, ev, on_poll);
	return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *uarg)
{
	(void)m;
	hc *h = uarg;
	if (timeout_ms < 0)
		uv_timer_stop(&h->timer);
	else /* 0 means "as soon as possible": never call curl from here */
		uv_timer_start(&h->timer, on_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

int hc_new(hc **out, uv_loop_t *loop)
{
	pthread_once(&hc_once, hc_global_init);
	hc *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->loop = loop;
	h->multi = curl_multi_init();
	if (!h->multi) {
		free(h);
		return -ENOMEM;
	}
	uv_timer_init(loop, &h->timer);
	h->timer.data = h;
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	*out = h;
	return 0;
}

static void hc_freed(uv_handle_t *hd) { free(hd->data); }

void hc_destroy(hc *h)
{
	if (!h)
		return;
	while (h->reqs) {
		hc_req *r = h->reqs;
		/* r is the head and r->h == h, so unlinking advances h->reqs: the
		 * analyzer assumes r->h != h and reports a use after free. */
		req_unlink(r); /* NOLINT(clang-analyzer-unix.Malloc) */
		req_free(r);
	}
	h->closing = true;
	curl_multi_cleanup(h->multi); /* may still report CURL_POLL_REMOVE */
	uv_timer_stop(&h->timer);
	uv_close((uv_handle_t *)&h->timer, hc_freed);
}

static size_t on_write(char *ptr, size_t sz, size_t n, void *arg)
{
	hc_req *r = arg;
	size_t len = sz * n;
	if (r->resp_len + len > HC_MAX_BODY) {
		r->too_big = true;
		return 0; /* aborts the transfer */
	}
	if (r->resp_len + len + 1 > r->resp_cap) {
		size_t cap = r->resp_cap ? r->resp_cap : 1024;
		while (cap < r->resp_len + len + 1)
			cap *= 2;
		char *nb = realloc(r->resp, cap);
		if (!nb)
			return 0;
		r->resp = nb;
		r->resp_cap = cap;
	}
	memcpy(r->resp + r->resp_len, ptr, len);
	r->resp_len += len;
	r->resp[r->resp_len] = '\0';
	return len;
}

int hc_request(hc *h, const hc_opts *o, hc_done_h *cb, void *arg, hc_req **req)
{
	int rc = -ENOMEM;
	if (!h || !o || !o->url || h->closing)
		return -EINVAL;
	hc_req *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->h = h;
	r->cb = cb;
	r->arg = arg;
	r->easy = curl_easy_init();
	if (!r->easy)
		goto fail;
	long to = o->timeout_ms > 0 ? o->timeout_ms : 10000;
	long cto = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : (to < 3000 ? to : 3000);
	CURL *e = r->easy;
	curl_easy_setopt(e, CURLOPT_URL, o->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, to);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, cto);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "voixia-voiceproxy");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	for (const char *const *hd = o->headers; hd && *hd; hd++) {
		struct curl_slist *n = curl_slist_append(r->hdrs, *hd);
		if (!n)
			goto fail;
		r->hdrs = n;
	}
	if (o->method && strcmp(o->method, "POST") == 0) {
		/* "Expect: 100-continue" would add a round trip to every POST */
		struct curl_slist *n = curl_slist_append(r->hdrs, "Expect:");
		if (!n)
			goto fail;
		r->hdrs = n;
		r->body = malloc(o->body_len + 1);
		if (!r->body)
			goto fail;
		if (o->body_len)
			memcpy(r->body, o->body, o->body_len);
		r->body[o->body_len] = '\0';
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
	} else if (o->method && strcmp(o->method, "GET") != 0) {
		rc = -EINVAL;
		goto fail;
	}
	if (r->hdrs)
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
	r->t0 = uv_now(h->loop);
	if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
		rc = -EIO;
		goto fail;
	}
	r->next = h->reqs;
	if (h->reqs)
		h->reqs->prev = r;
	h->reqs = r;
	h->active++;
	if (req)
		*req = r;
	return 0;
fail:
	if (r->easy) {
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	req_free(r);
	return rc;
}

void hc_cancel(hc_req *r)
{
	if (!r)
		return;
	req_unlink(r);
	req_free(r);
}

unsigned hc_active(const hc *h) { return h ? h->active : 0; }
