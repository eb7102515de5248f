/* fdroom: is there room for more file descriptors? Both processes refuse
 * a new call cleanly (503) instead of failing half-way through it when the
 * descriptors it needs are not free (ulimit -n). */
#ifndef VX_FDROOM_H
#define VX_FDROOM_H

#define FDROOM_MAX 64 /* largest `need` probed; bigger asks are capped */

/* 0 when `need` more descriptors can be opened now, else -EMFILE or
 * -ENFILE. Probes by duplicating fd and closing the copies at once. */
int fdroom_check(int fd, unsigned need);
#endif
