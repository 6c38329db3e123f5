/*
 * lingering.c - drains and closes sockets whose answer went out before the
 * client finished sending (see lingering.h).  One thread waits in epoll on
 * every lingering socket, reads whatever arrives into a scratch buffer
 * and closes a socket at end of file, on an error or at its limits.
 * Nothing read here is looked at.
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lingering.h"
#include "log.h"

#define LINGERING_TICK_MS	250

struct lingering_sock {
	int		fd;		/* -1: free */
	time_t		start;		/* CLOCK_MONOTONIC seconds */
	time_t		last;		/* when a byte last came */
	size_t		bytes;
};

struct lingering {
	pthread_t		 thread;
	pthread_mutex_t		 lock;		/* socks[].fd and nsocks */
	int			 epfd;
	int			 stopfd;	/* eventfd: stop the thread */
	size_t			 max_bytes;
	size_t			 nsocks;
	struct lingering_sock	 socks[LINGERING_MAX];
	char			 scratch[64 << 10];	/* the thread's */
};

static time_t
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Under the lock. */
static void
sock_close(struct lingering *lg, struct lingering_sock *s)
{
	epoll_ctl(lg->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
	lg->nsocks--;
}

/* Reads what s has; closes it at end of file, on error or past a limit. */
static void
sock_drain(struct lingering *lg, struct lingering_sock *s, char *scratch,
    size_t len)
{
	ssize_t	n;

	for (;;) {
		n = recv(s->fd, scratch, len, MSG_DONTWAIT);
		if (n > 0) {
			s->bytes += (size_t)n;
			s->last = now_s();
			if (s->bytes > lg->max_bytes)
				break;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		break;			/* 0: the client is done; or an error */
	}
	sock_close(lg, s);
}

static void *
lingering_main(void *arg)
{
	struct lingering		*lg = arg;
	struct epoll_event	 ev[32];
	struct lingering_sock	*s;
	time_t			 now;
	int			 n;

	for (;;) {
		n = epoll_wait(lg->epfd, ev, 32, LINGERING_TICK_MS);
		pthread_mutex_lock(&lg->lock);
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u32 == UINT32_MAX) {
				pthread_mutex_unlock(&lg->lock);
				return NULL;
			}
			s = &lg->socks[ev[i].data.u32];
			if (s->fd != -1)
				sock_drain(lg, s, lg->scratch,
				    sizeof(lg->scratch));
		}
		now = now_s();
		for (size_t i = 0; i < LINGERING_MAX && lg->nsocks > 0; i++) {
			s = &lg->socks[i];
			if (s->fd != -1 && (now - s->last >= LINGERING_IDLE_S ||
			    now - s->start >= LINGERING_TIME_S))
				sock_close(lg, s);
		}
		pthread_mutex_unlock(&lg->lock);
	}
}

struct lingering *
lingering_new(size_t max_bytes, char *err, size_t errlen)
{
	struct lingering		*lg;
	struct epoll_event	 ev = { .events = EPOLLIN };
	int			 rc;

	if ((lg = calloc(1, sizeof(*lg))) == NULL) {
		snprintf(err, errlen, "http: out of memory");
		return NULL;
	}
	pthread_mutex_init(&lg->lock, NULL);
	lg->max_bytes = max_bytes;
	for (size_t i = 0; i < LINGERING_MAX; i++)
		lg->socks[i].fd = -1;
	lg->stopfd = -1;
	ev.data.u32 = UINT32_MAX;
	if ((lg->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (lg->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1 ||
	    epoll_ctl(lg->epfd, EPOLL_CTL_ADD, lg->stopfd, &ev) == -1) {
		snprintf(err, errlen, "http: unable to set up lingering "
		    "close: %s", strerror(errno));
		goto fail;
	}
	if ((rc = pthread_create(&lg->thread, NULL, lingering_main, lg)) != 0) {
		snprintf(err, errlen, "http: unable to start the lingering "
		    "close thread: %s", strerror(rc));
		goto fail;
	}
	return lg;
fail:
	if (lg->stopfd != -1)
		close(lg->stopfd);
	if (lg->epfd != -1)
		close(lg->epfd);
	pthread_mutex_destroy(&lg->lock);
	free(lg);
	return NULL;
}

void
lingering_free(struct lingering *lg)
{
	uint64_t	one = 1;

	if (lg == NULL)
		return;
	if (write(lg->stopfd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		log_warn("http: unable to stop the lingering close thread");
	pthread_join(lg->thread, NULL);
	for (size_t i = 0; i < LINGERING_MAX; i++)
		if (lg->socks[i].fd != -1)
			sock_close(lg, &lg->socks[i]);
	close(lg->stopfd);
	close(lg->epfd);
	pthread_mutex_destroy(&lg->lock);
	free(lg);
}

void
lingering_add(struct lingering *lg, int fd)
{
	struct epoll_event	 ev = { .events = EPOLLIN };
	struct lingering_sock	*s = NULL;

	pthread_mutex_lock(&lg->lock);
	for (size_t i = 0; i < LINGERING_MAX; i++)
		if (lg->socks[i].fd == -1) {
			s = &lg->socks[i];
			ev.data.u32 = (uint32_t)i;
			break;
		}
	if (s != NULL && epoll_ctl(lg->epfd, EPOLL_CTL_ADD, fd, &ev) == 0) {
		s->fd = fd;
		s->start = s->last = now_s();
		s->bytes = 0;
		lg->nsocks++;
		fd = -1;
	}
	pthread_mutex_unlock(&lg->lock);
	/* No room: close it now, as if there were no lingering. */
	if (fd != -1) {
		log_debug("http: no room to linger, closing at once");
		close(fd);
	}
}
