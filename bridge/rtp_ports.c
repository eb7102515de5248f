/* rtp_ports: the RTP port range allocator declared in media.h.
 * Thread-safe (the SIP thread allocates, the media thread frees). Ports are
 * handed out round-robin from a cursor so a just-freed port is not reused at
 * once (late packets of the previous call would land in the next one). Ports
 * held by other processes are skipped (bind fails with EADDRINUSE). */
#include "media.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int pmin = 10000, pmax = 20000, cursor;
static struct sockaddr_storage bind_ss = { .ss_family = AF_INET };
static uint8_t *used; /* one byte per even port of the range */
static size_t nslots;

static int slots_for(int min, int max)
{
	return (max - min) / 2 + 1;
}

int rtp_ports_init(int min, int max, const char *bind_addr)
{
	struct sockaddr_storage ss;
	uint8_t *u;
	int rc = 0;

	if (min < 1 || max > 65535 || min > max)
		return -EINVAL;
	if (min & 1)
		min++;
	if (min > max)
		return -EINVAL;
	memset(&ss, 0, sizeof(ss));
	if (!bind_addr || !*bind_addr) { /* NOLINT(bugprone-branch-clone): no address: IPv4 any */
		ss.ss_family = AF_INET;
	} else if (inet_pton(AF_INET, bind_addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
	} else if (inet_pton(AF_INET6, bind_addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
	} else {
		return -EINVAL;
	}
	u = calloc((size_t)slots_for(min, max), 1);
	if (!u)
		return -ENOMEM;
	pthread_mutex_lock(&lock);
	free(used);
	used = u;
	nslots = (size_t)slots_for(min, max);
	pmin = min;
	pmax = max;
	cursor = 0;
	bind_ss = ss;
	pthread_mutex_unlock(&lock);
	return rc;
}

static int try_bind(int port, int *fdp)
{
	struct sockaddr_storage ss = bind_ss;
	socklen_t sl;
	int fd, e;

	if (ss.ss_family == AF_INET6) {
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in);
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		e = -errno;
		close(fd);
		return e;
	}
	*fdp = fd;
	return 0;
}

int rtp_sock_alloc(int *fd, int *port)
{
	int rc = -EADDRINUSE;

	if (!fd || !port)
		return -EINVAL;
	pthread_mutex_lock(&lock);
	if (!used) {
		nslots = (size_t)slots_for(pmin, pmax);
		used = calloc(nslots, 1);
		if (!used) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < nslots; i++) {
		size_t slot = ((size_t)cursor + i) % nslots;
		int p = pmin + 2 * (int)slot, e;
		if (used[slot])
			continue;
		e = try_bind(p, fd);
		if (e == -EADDRINUSE || e == -EACCES)
			continue;
		if (e < 0) {
			rc = e;
			goto out;
		}
		used[slot] = 1;
		cursor = (int)((slot + 1) % nslots);
		*port = p;
		rc = 0;
		goto out;
	}
out:
	pthread_mutex_unlock(&lock);
	return rc;
}

/* fd < 0: the socket was already closed (uv_close on a uv_udp_t owns it). */
void rtp_sock_free(int fd, int port)
{
	if (fd >= 0)
		close(fd);
	pthread_mutex_lock(&lock);
	if (used && port >= pmin && port <= pmax && !((port - pmin) & 1))
		used[(port - pmin) / 2] = 0;
	pthread_mutex_unlock(&lock);
}
