/* fdroom: the descriptor probe both processes use to refuse a call cleanly
 * when ulimit -n is nearly reached. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fdroom.h"

/* The highest open descriptor + 1. */
static int fd_top(void)
{
	int top = 0;

	for (int fd = 0; fd < 4096; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			top = fd + 1;
	return top;
}

static void headroom(void **state)
{
	(void)state;
	struct rlimit old, lim;
	static int held[4096];
	int base = open("/dev/null", O_RDONLY | O_CLOEXEC), top = fd_top(), n = 0, d;

	/* fill the free descriptors below top (a test runner may leave holes
	 * a new descriptor would take): then the room is exactly the limit's */
	assert_true(base >= 0);
	while ((d = dup(base)) >= 0 && d < top)
		held[n++] = d;
	if (d >= 0)
		close(d);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)top + 5; /* room for exactly 5 more */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	assert_int_equal(fdroom_check(base, 5), 0);
	assert_int_equal(fdroom_check(base, 6), -EMFILE);
	assert_int_equal(fdroom_check(base, 5), 0); /* the probes were closed */
	held[n++] = dup(base);
	held[n++] = dup(base);
	assert_int_equal(fdroom_check(base, 3), 0);
	assert_int_equal(fdroom_check(base, 4), -EMFILE);
	assert_int_equal(fdroom_check(-1, 1), -EBADF);
	assert_int_equal(fdroom_check(base, 0), 0);
	while (n > 0)
		close(held[--n]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	/* asks above FDROOM_MAX are capped, not refused */
	assert_int_equal(fdroom_check(base, 100000), 0);
	close(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(headroom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
