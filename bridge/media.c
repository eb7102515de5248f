/* media: the sipbridge media thread (see media.h): one libuv loop, the
 * command queue from the SIP thread, the shared 20 ms clock and shutdown.
 * Per-call work lives in media_call.c.
 *
 * The clock is a timerfd armed with absolute CLOCK_MONOTONIC deadlines and
 * a 20 ms interval (the kernel keeps the period: no drift, ns resolution,
 * unlike uv_timer's ms granularity); it is polled by the loop. One tick
 * serves every call; missed ticks are caught up (bounded). */
#include "media_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "ids.h"
#include "log.h"

void media_report(media *m, uint64_t key, media_event ev, const char *reason)
{
	if (ev == MEDIA_EV_ENDED)
		atomic_fetch_sub(&m->admitted, 1);
	if (m->eh)
		m->eh(key, ev, reason, m->arg);
}

/* Runs the ticks whose deadline has passed (deadline k is tick_t0 + k*20 ms).
 * Called from the timerfd and, cheaply, from busy callbacks (a burst of
 * stream messages can keep one loop iteration longer than 20 ms; pacing
 * must not wait for it to end). */
static void run_due(media *m, uint64_t now)
{
	uint64_t due, exp, late;

	if (now < m->tick_t0 || m->in_tick)
		return;
	due = (now - m->tick_t0) / MEDIA_PTIME_NS + 1;
	if (due <= m->ticks)
		return;
	exp = due - m->ticks;
	late = (now - m->tick_t0) % MEDIA_PTIME_NS;
	m->ticks = due;
	m->ticks_late2 += late > 2000000u;
	if (late > m->tick_late_max)
		m->tick_late_max = late;
	unsigned frames = exp > MEDIA_CATCHUP_MAX ? MEDIA_CATCHUP_MAX : (unsigned)exp;
	m->in_tick = true;
	for (mcall *c = m->calls, *nx; c; c = nx) {
		nx = c->next;
		if (exp > 1)
			c->stats.ticks_late += exp - 1;
		mcall_tick(c, frames, now);
	}
	m->in_tick = false;
}

void media_tick_poll(media *m)
{
	run_due(m, uv_hrtime());
}

static void on_tick(uv_poll_t *h, int status, int events)
{
	media *m = h->data;
	uint64_t exp;
	(void)events;
	if (status < 0)
		return;
	/* Drain the expiration count; the clock says which ticks are due. */
	if (read(m->tfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
		return;
	run_due(m, uv_hrtime());
}

static void on_closed(uv_handle_t *h)
{
	(void)h;
}

/* Called when the last call is gone during shutdown: close our handles so
 * uv_run returns. */
void media_maybe_finish_shutdown(media *m)
{
	if (!m->shutting || m->calls || m->closed)
		return;
	m->closed = true;
	log_info(NULL, "media: %llu ticks, %llu woke over 2 ms late, worst %.3f ms",
		 (unsigned long long)m->ticks, (unsigned long long)m->ticks_late2, (double)m->tick_late_max / 1e6);
	uv_timer_stop(&m->shut_timer);
	uv_close((uv_handle_t *)&m->shut_timer, on_closed);
	uv_poll_stop(&m->tick);
	uv_close((uv_handle_t *)&m->tick, on_closed);
	uv_poll_stop(&m->wake);
	uv_close((uv_handle_t *)&m->wake, on_closed);
	ws_ctx_destroy(m->ws);
	m->ws = NULL;
}

static void on_shut_timeout(uv_timer_t *t)
{
	media *m = t->data;
	/* Some WS peers did not finish closing: destroying the context fires
	 * every remaining close_h, which frees the calls. */
	log_warn(NULL, "media: %s calls still closing at shutdown, forcing", m->calls ? "some" : "no");
	if (m->ws) {
		ws_ctx *ws = m->ws;
		m->ws = NULL;
		ws_ctx_destroy(ws);
	}
}

static void do_shutdown(media *m)
{
	if (m->shutting)
		return;
	m->shutting = true;
	for (mcall *c = m->calls, *nx; c; c = nx) {
		nx = c->next;
		if (!c->ended)
			mcall_end(c, "shutdown");
	}
	uv_timer_start(&m->shut_timer, on_shut_timeout, 3000, 0);
	media_maybe_finish_shutdown(m);
}

static void free_cmd(cmd *c)
{
	free(c->p);
	free(c);
}

static void on_wake(uv_poll_t *h, int status, int events)
{
	media *m = h->data;
	uint64_t n;
	cmd *q;

	(void)events;
	if (status < 0)
		return;
	/* drain the counter first: a command queued after this read wakes
	 * us again, one queued before it is in the list we take below */
	if (read(m->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn(NULL, "media: wake-up read failed: %s", strerror(errno));
	pthread_mutex_lock(&m->mu);
	q = m->q_head;
	m->q_head = m->q_tail = NULL;
	pthread_mutex_unlock(&m->mu);
	while (q) {
		cmd *c = q;
		mcall *mc;
		q = q->next;
		switch (c->type) {
		case CMD_START:
			if (m->shutting || mcall_find(m, c->key)) {
				media_report(m, c->key, MEDIA_EV_FAILED, m->shutting ? "shutting down" : "duplicate key");
				rtp_sock_free(c->p->rtp_fd, c->p->rtp_port);
				/* no call object: ENDED right away keeps the SIP side simple */
				media_report(m, c->key, MEDIA_EV_ENDED, "not started");
			} else {
				mcall_start(m, c->key, c->p);
			}
			break;
		case CMD_UPDATE:
			if ((mc = mcall_find(m, c->key)))
				mcall_update(mc, c->p);
			break;
		case CMD_END:
			mc = mcall_find(m, c->key);
			if (mc && !mc->ended)
				mcall_end(mc, c->reason);
			break;
		case CMD_SHUTDOWN:
			do_shutdown(m);
			break;
		}
		free_cmd(c);
	}
}

static int tick_init(media *m)
{
	struct itimerspec its = { .it_interval = { 0, (long)MEDIA_PTIME_NS } };
	struct timespec now;

	m->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (m->tfd < 0)
		return -errno;
	clock_gettime(CLOCK_MONOTONIC, &now);
	its.it_value = now;
	its.it_value.tv_nsec += (long)MEDIA_PTIME_NS;
	if (its.it_value.tv_nsec >= 1000000000L) {
		its.it_value.tv_sec++;
		its.it_value.tv_nsec -= 1000000000L;
	}
	m->tick_t0 = (uint64_t)its.it_value.tv_sec * 1000000000u + (uint64_t)its.it_value.tv_nsec;
	if (timerfd_settime(m->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	uv_poll_init(&m->loop, &m->tick, m->tfd);
	m->tick.data = m;
	return uv_poll_start(&m->tick, UV_READABLE, on_tick);
}

int media_new(media **out, const media_opts *opts, media_event_h *eh, void *arg)
{
	ws_opts wo = { .max_message = 512 * 1024, .max_queue = 4u << 20,
		       .connect_timeout_ms = MEDIA_WS_CONNECT_MS };
	media *m;
	int rc = -ENOMEM;

	if (!opts || !opts->ws_url)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->tfd = -1;
	m->efd = -1;
	m->eh = eh;
	m->arg = arg;
	m->max_calls = opts->max_calls > 0 ? opts->max_calls : 500;
	m->ws_url = strdup(opts->ws_url);
	m->token = opts->stream_token && *opts->stream_token ? strdup(opts->stream_token) : NULL;
	if (!m->ws_url || (opts->stream_token && *opts->stream_token && !m->token))
		goto fail;
	if (opts->account_sid && id_valid(opts->account_sid, "AC"))
		snprintf(m->account_sid, sizeof(m->account_sid), "%s", opts->account_sid);
	else if ((rc = id_new(m->account_sid, "AC")) < 0)
		goto fail;
	pthread_mutex_init(&m->mu, NULL);
	if ((rc = uv_loop_init(&m->loop)) < 0)
		goto fail_mu;
	m->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (m->efd < 0) {
		rc = -errno;
		goto fail_loop;
	}
	if ((rc = uv_poll_init(&m->loop, &m->wake, m->efd)) < 0)
		goto fail_loop;
	m->wake.data = m;
	if ((rc = uv_poll_start(&m->wake, UV_READABLE, on_wake)) < 0) {
		uv_close((uv_handle_t *)&m->wake, on_closed);
		uv_run(&m->loop, UV_RUN_DEFAULT);
		goto fail_loop;
	}
	uv_timer_init(&m->loop, &m->shut_timer);
	m->shut_timer.data = m;
	if ((rc = tick_init(m)) < 0 || (rc = ws_ctx_new(&m->ws, &m->loop, &wo)) < 0) {
		log_err(NULL, "media: init failed: %s", strerror(-rc));
		/* close what exists and let the loop finish them */
		uv_close((uv_handle_t *)&m->wake, on_closed);
		uv_close((uv_handle_t *)&m->shut_timer, on_closed);
		if (uv_is_active((uv_handle_t *)&m->tick) || m->tick.data)
			uv_close((uv_handle_t *)&m->tick, on_closed);
		uv_run(&m->loop, UV_RUN_DEFAULT);
		goto fail_loop;
	}
	*out = m;
	return 0;
fail_loop:
	uv_loop_close(&m->loop);
fail_mu:
	pthread_mutex_destroy(&m->mu);
fail:
	if (m->tfd >= 0)
		close(m->tfd);
	if (m->efd >= 0)
		close(m->efd);
	free(m->ws_url);
	free(m->token);
	free(m);
	return rc < 0 ? rc : -ENOMEM;
}

/* The pacing clock should not queue behind other work on a busy host: ask
 * for a modest real-time priority (SCHED_RR; the kernel's RT throttling
 * still bounds it), else a better nice value; neither is required. */
static void raise_priority(void)
{
	struct sched_param sp = { .sched_priority = 10 };
	if (getenv("VX_MEDIA_NO_RT"))
		return;
	if (pthread_setschedparam(pthread_self(), SCHED_RR, &sp) == 0) {
		log_debug(NULL, "media: thread runs SCHED_RR %d", sp.sched_priority);
		return;
	}
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), -10) == 0)
		log_debug(NULL, "media: thread runs at nice -10");
}

static void thread_main(void *arg)
{
	media *m = arg;
	raise_priority();
	uv_run(&m->loop, UV_RUN_DEFAULT);
}

int media_start(media *m)
{
	int rc = uv_thread_create(&m->thr, thread_main, m);
	if (rc == 0)
		m->thr_started = true;
	return rc;
}

static int enqueue(media *m, cmd *c)
{
	pthread_mutex_lock(&m->mu);
	if (m->q_tail)
		m->q_tail->next = c;
	else
		m->q_head = c;
	m->q_tail = c;
	pthread_mutex_unlock(&m->mu);
	{
		uint64_t one = 1;

		/* EAGAIN only if the counter is near 2^64: it is already readable.
		 * The command is queued either way (the next wake-up takes it). */
		if (write(m->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_warn(NULL, "media: wake-up write failed: %s", strerror(errno));
	}
	return 0;
}

static cmd *new_cmd(cmd_type t, uint64_t key, const media_params *p, const char *reason)
{
	cmd *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->type = t;
	c->key = key;
	if (p) {
		c->p = malloc(sizeof(*c->p));
		if (!c->p) {
			free(c);
			return NULL;
		}
		*c->p = *p;
	}
	if (reason)
		snprintf(c->reason, sizeof(c->reason), "%s", reason);
	return c;
}

void media_destroy(media *m)
{
	cmd *c;
	if (!m)
		return;
	c = new_cmd(CMD_SHUTDOWN, 0, NULL, NULL);
	if (m->thr_started) {
		if (c)
			enqueue(m, c);
		uv_thread_join(&m->thr);
	} else {
		/* Never started: run the shutdown on the caller's thread. */
		free(c);
		do_shutdown(m);
		uv_run(&m->loop, UV_RUN_DEFAULT);
	}
	if (!m->closed) { /* the loop exited abnormally: do not leak handles */
		do_shutdown(m);
		uv_run(&m->loop, UV_RUN_DEFAULT);
	}
	uv_loop_close(&m->loop);
	while ((c = m->q_head)) {
		m->q_head = c->next;
		if (c->type == CMD_START)
			rtp_sock_free(c->p->rtp_fd, c->p->rtp_port);
		free_cmd(c);
	}
	if (m->tfd >= 0)
		close(m->tfd);
	if (m->efd >= 0)
		close(m->efd);
	pthread_mutex_destroy(&m->mu);
	if (m->token)
		explicit_bzero(m->token, strlen(m->token));
	free(m->token);
	free(m->ws_url);
	free(m);
}

int media_call_start(media *m, uint64_t key, const media_params *p)
{
	cmd *c;
	if (!m || !p || p->rtp_fd < 0 || (p->pt != MEDIA_PT_PCMU && p->pt != MEDIA_PT_PCMA))
		return -EINVAL;
	if (atomic_fetch_add(&m->admitted, 1) >= (unsigned)m->max_calls) {
		atomic_fetch_sub(&m->admitted, 1);
		return -EBUSY;
	}
	if (!(c = new_cmd(CMD_START, key, p, NULL))) {
		atomic_fetch_sub(&m->admitted, 1);
		return -ENOMEM;
	}
	return enqueue(m, c);
}

int media_call_update(media *m, uint64_t key, const media_params *p)
{
	cmd *c;
	if (!m || !p)
		return -EINVAL;
	if (!(c = new_cmd(CMD_UPDATE, key, p, NULL)))
		return -ENOMEM;
	return enqueue(m, c);
}

int media_call_end(media *m, uint64_t key, const char *reason)
{
	cmd *c;
	if (!m)
		return -EINVAL;
	if (!(c = new_cmd(CMD_END, key, NULL, reason)))
		return -ENOMEM;
	return enqueue(m, c);
}

unsigned media_live_calls(const media *m)
{
	return atomic_load(&((media *)m)->admitted);
}
