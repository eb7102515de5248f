/* lg_rtp: the load generator's RTP peer sockets (lg.h): one UDP socket per
 * call on loopback, received packets stamped by the kernel. */
#include "lg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int lg_rtp_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int on = 1, fd;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

int lg_rtp_recv(int fd, uint8_t *pkt, size_t cap, struct sockaddr_in *from, int64_t *t_rx, size_t *hl)
{
	char cbuf[256];
	struct iovec iov = { pkt, cap };
	struct msghdr mh = { .msg_name = from, .msg_namelen = sizeof(*from), .msg_iov = &iov,
			     .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t r = recvmsg(fd, &mh, MSG_DONTWAIT);
	int64_t t = 0;

	if (r < 0)
		return -1;
	t = lg_cmsg_rx_ns(&mh);
	*t_rx = t ? t : lg_now_ns();
	if (r < 12 || (pkt[0] >> 6) != 2)
		return 0;
	*hl = 12 + 4u * (pkt[0] & 0x0f);
	if ((size_t)r < *hl)
		return 0;
	return (int)r;
}

int lg_rtp_send(int fd, const struct sockaddr_in *to, uint16_t seq, uint32_t ts, uint32_t ssrc,
		const uint8_t *payload, size_t n)
{
	uint8_t pkt[12 + LG_FRAME];
	uint16_t sq = htons(seq);
	uint32_t t = htonl(ts), ss = htonl(ssrc);

	if (n > LG_FRAME)
		return -EMSGSIZE;
	pkt[0] = 0x80;
	pkt[1] = 0; /* PCMU */
	memcpy(pkt + 2, &sq, 2);
	memcpy(pkt + 4, &t, 4);
	memcpy(pkt + 8, &ss, 4);
	memcpy(pkt + 12, payload, n);
	if (sendto(fd, pkt, 12 + n, 0, (const struct sockaddr *)to, sizeof(*to)) < 0)
		return -errno;
	return 0;
}
