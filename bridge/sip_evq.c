/* sip_evq: cross-thread queue into the SIP thread (see sip_evq.h). */
#define SU_ROOT_MAGIC_T void
#define SU_WAKEUP_ARG_T void
#include "sip_evq.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sofia-sip/su_wait.h>

#include "log.h"

typedef struct evq_item {
	struct evq_item *next;
	uint64_t key;
	int ev;
	char reason[128];
} evq_item;

struct evq {
	su_root_t *root;
	int fds[2];          /* [0] watched by su_root, [1] written by pushers */
	int reg;             /* su_root_register index, 0 when not registered */
	su_wait_t wait;
	pthread_mutex_t mu;
	evq_item *head, *tail;
	evq_h *h;
	void *arg;
};

static int evq_on_readable(void *magic, su_wait_t *w, void *arg)
{
	evq *q = arg;
	char buf[256];
	evq_item *it;

	(void)magic;
	(void)w;
	while (read(q->fds[0], buf, sizeof(buf)) > 0)
		; /* drain: one wakeup per batch is enough */
	pthread_mutex_lock(&q->mu);
	it = q->head;
	q->head = q->tail = NULL;
	pthread_mutex_unlock(&q->mu);
	while (it) {
		evq_item *next = it->next;
		q->h(it->key, it->ev, it->reason, q->arg);
		free(it);
		it = next;
	}
	q->h(0, 0, "", q->arg);
	return 0;
}

int evq_new(evq **out, su_root_t *root, evq_h *h, void *arg)
{
	evq *q = calloc(1, sizeof(*q));
	int rc = -ENOMEM;

	*out = NULL;
	if (!q)
		return -ENOMEM;
	q->fds[0] = q->fds[1] = -1;
	q->root = root;
	q->h = h;
	q->arg = arg;
	pthread_mutex_init(&q->mu, NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, q->fds) < 0) {
		rc = -errno;
		goto out;
	}
	if (su_wait_create(&q->wait, q->fds[0], SU_WAIT_IN) < 0) {
		rc = -EIO;
		goto out;
	}
	q->reg = su_root_register(root, &q->wait, evq_on_readable, q, 0);
	if (q->reg <= 0) {
		su_wait_destroy(&q->wait);
		q->reg = 0;
		rc = -EIO;
		goto out;
	}
	*out = q;
	return 0;
out:
	evq_destroy(q);
	return rc;
}

void evq_destroy(evq *q)
{
	evq_item *it;

	if (!q)
		return;
	if (q->reg > 0)
		su_root_deregister(q->root, q->reg); /* also destroys the wait object */
	for (it = q->head; it;) {
		evq_item *next = it->next;
		free(it);
		it = next;
	}
	if (q->fds[0] >= 0)
		close(q->fds[0]);
	if (q->fds[1] >= 0)
		close(q->fds[1]);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

void evq_kick(evq *q)
{
	char c = 1;
	/* A full socket already means a wakeup is pending: EAGAIN is fine. */
	ssize_t n = write(q->fds[1], &c, 1);
	(void)n;
}

int evq_push(evq *q, uint64_t key, int ev, const char *reason)
{
	evq_item *it = calloc(1, sizeof(*it));

	if (!it) {
		log_err("-", "sip: out of memory queueing media event %d for call %llu", ev,
			(unsigned long long)key);
		return -ENOMEM;
	}
	it->key = key;
	it->ev = ev;
	if (reason)
		snprintf(it->reason, sizeof(it->reason), "%s", reason);
	pthread_mutex_lock(&q->mu);
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	pthread_mutex_unlock(&q->mu);
	evq_kick(q);
	return 0;
}
