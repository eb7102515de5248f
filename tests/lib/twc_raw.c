/* twc_raw: a blocking, minimal WebSocket client that sends frames the ws
 * module never sends (binary); see twc.h. Tests only. */
#include "twc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

static int send_frame(int fd, int opcode, const uint8_t *p, size_t n)
{
	uint8_t hdr[14], mask[4] = { 0x12, 0x34, 0x56, 0x78 };
	size_t hl = 0;
	uint8_t *m = malloc(n ? n : 1);
	int r;

	if (!m)
		return -ENOMEM;
	hdr[hl++] = (uint8_t)(0x80 | opcode);
	if (n < 126) {
		hdr[hl++] = (uint8_t)(0x80 | n);
	} else if (n < 65536) {
		hdr[hl++] = 0x80 | 126;
		hdr[hl++] = (uint8_t)(n >> 8);
		hdr[hl++] = (uint8_t)n;
	} else {
		hdr[hl++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			hdr[hl++] = (uint8_t)((uint64_t)n >> (8 * i));
	}
	memcpy(hdr + hl, mask, 4);
	hl += 4;
	for (size_t i = 0; i < n; i++)
		m[i] = p[i] ^ mask[i % 4];
	r = send_all(fd, hdr, hl);
	if (!r)
		r = send_all(fd, m, n);
	free(m);
	return r;
}

int twc_raw_frame(const char *host, int port, const char *path, const char *bearer, int opcode,
		  const uint8_t *payload, size_t len, int timeout_ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char req[1024], buf[8192];
	size_t have = 0;
	long deadline = now_ms() + timeout_ms;
	int fd, r = -ETIMEDOUT, n;
	static const char connected[] = "{\"event\":\"connected\",\"protocol\":\"Call\",\"version\":\"1.0.0\"}";

	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		goto out;
	}
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s%s%s\r\n",
		     path, host, port, bearer ? "Authorization: Bearer " : "", bearer ? bearer : "",
		     bearer ? "\r\n" : "");
	if ((r = send_all(fd, req, (size_t)n)) < 0)
		goto out;
	r = -ETIMEDOUT;
	/* read the 101 head, then frames until a close frame or EOF */
	for (bool upgraded = false;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		long left = deadline - now_ms();
		ssize_t k;
		if (left <= 0 || poll(&pf, 1, (int)left) <= 0) {
			r = -ETIMEDOUT;
			goto out;
		}
		k = recv(fd, buf + have, sizeof(buf) - have, 0);
		if (k <= 0) {
			r = upgraded ? 0 : -ECONNRESET;
			goto out;
		}
		have += (size_t)k;
		if (!upgraded) {
			char *e = memmem(buf, have, "\r\n\r\n", 4);
			if (!e)
				continue;
			if (strncmp(buf, "HTTP/1.1 101", 12)) {
				r = -EACCES;
				goto out;
			}
			upgraded = true;
			have -= (size_t)(e + 4 - buf);
			memmove(buf, e + 4, have);
			if ((r = send_frame(fd, 1, (const uint8_t *)connected, sizeof(connected) - 1)) < 0 ||
			    (r = send_frame(fd, opcode, payload, len)) < 0)
				goto out;
			r = -ETIMEDOUT;
		}
		/* scan server frames (unmasked) for a close */
		while (have >= 2) {
			size_t pl = buf[1] & 0x7f, hl = 2;
			int op = buf[0] & 0x0f;
			if (pl == 126) {
				if (have < 4)
					break;
				pl = (size_t)((uint8_t)buf[2] << 8 | (uint8_t)buf[3]);
				hl = 4;
			} else if (pl == 127) {
				r = -EPROTO;
				goto out;
			}
			if (have < hl + pl)
				break;
			if (op == 8) {
				r = pl >= 2 ? ((uint8_t)buf[hl] << 8 | (uint8_t)buf[hl + 1]) : 1005;
				goto out;
			}
			have -= hl + pl;
			memmove(buf, buf + hl + pl, have);
		}
		if (have == sizeof(buf))
			have = 0;
	}
out:
	close(fd);
	return r;
}
