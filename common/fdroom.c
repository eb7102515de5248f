/* fdroom: descriptor headroom probe; see fdroom.h. */
#include "fdroom.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int fdroom_check(int fd, unsigned need)
{
	int probes[FDROOM_MAX], n = 0, rc = 0;

	if (need > FDROOM_MAX)
		need = FDROOM_MAX;
	while ((unsigned)n < need) {
		int p = fcntl(fd, F_DUPFD_CLOEXEC, 0);

		if (p < 0) {
			rc = -errno;
			break;
		}
		probes[n++] = p;
	}
	while (n > 0)
		close(probes[--n]);
	return rc;
}
