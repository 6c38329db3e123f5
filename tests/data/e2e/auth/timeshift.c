/*
 * timeshift.c - an LD_PRELOAD shim for tests/e2e (t_auth_oauth2.sh): the
 * wall clock of the process runs E2E_TIME_SHIFT seconds ahead (or behind,
 * when negative).  time(), gettimeofday() and clock_gettime() with a
 * CLOCK_REALTIME clock are shifted; the monotonic clocks are not.
 *
 * Built by the test at run time:
 *   cc -shared -fPIC -o timeshift.so timeshift.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static long
shift(void)
{
	const char	*s = getenv("E2E_TIME_SHIFT");

	return s != NULL ? strtol(s, NULL, 10) : 0;
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	static clock_gettime_fn	 real;
	int			 ret;

	if (real == NULL)
		real = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
	if (real == NULL)
		return -1;
	ret = real(id, ts);
	if (ret == 0 &&
	    (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		ts->tv_sec += shift();
	return ret;
}

time_t
time(time_t *t)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return (time_t)-1;
	if (t != NULL)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

int
gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec	ts;

	(void)tz;
	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return -1;
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}
