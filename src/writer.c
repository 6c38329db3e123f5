/*
 * writer.c - appends record lines to a file or stream from one thread.
 *
 * Requests queue their jobs and go on serving others; the thread takes
 * the whole queue at once, writes each line with one write(2), then makes
 * the batch durable with a single fdatasync before answering any job in
 * it (group commit).  A line that cannot be written whole is cut off
 * again, so the file never holds half a record.  Reopening for logrotate
 * happens on the thread between two batches, so no line is split or lost.
 *
 * A regular file without sync needs no thread: the page cache takes a
 * line in a few microseconds, so the request's own thread writes it under
 * the lock and answers at once (direct mode), sparing a hand-off and a
 * parked connection per report.  Streams keep the thread, since a full
 * pipe would otherwise stall the listener.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdutil.h"
#include "log.h"
#include "writer.h"

struct writer {
	char		*name;		/* "sink_file: log", for log lines */
	char		*path;		/* NULL: a stream we do not own */
	int		 fd;
	bool		 sync;		/* fdatasync each batch */
	bool		 direct;	/* written by the submitter, no thread */
	atomic_bool	 failing;	/* last write failed: log recovery */

	pthread_mutex_t	 lock;
	pthread_cond_t	 wake;
	struct sink_job	*head;		/* queue, under lock */
	struct sink_job	*tail;
	size_t		 queued;
	bool		 reopen;
	bool		 stopping;
	bool		 stopped;	/* thread gone: answer at once */
	bool		 started;
	pthread_t	 thread;
};

static int
open_append(const char *path, bool sync)
{
	int	fd;

	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY);
	if (fd == -1 && errno == ENOENT) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
		    O_NOCTTY, 0640);
		if (fd != -1 && sync)
			fdutil_sync_dir(path);
	}
	return fd;
}

static void
writer_do_reopen(struct writer *w)
{
	int	fd;

	if ((fd = open_append(w->path, w->sync)) == -1) {
		log_warn("%s: unable to reopen %s, keeping the old "
		    "file", w->name, w->path);
		return;
	}
	close(w->fd);
	w->fd = fd;
	log_info("%s: reopened %s", w->name, w->path);
}

/* Takes back the first done bytes of a line that could not be finished. */
static void
writer_undo(struct writer *w, size_t done)
{
	struct stat	st;

	if (done == 0 || w->path == NULL)
		return;
	if (fstat(w->fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size < done ||
	    ftruncate(w->fd, st.st_size - (off_t)done) == -1)
		log_warn("%s: unable to remove a partial line from "
		    "%s", w->name, w->path);
}

static enum sink_verdict
writer_write(struct writer *w, const char *p, size_t len)
{
	size_t	done = 0;
	ssize_t	n;

	while (done < len) {
		n = write(w->fd, p + done, len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			if (!w->failing)
				log_warn("%s: unable to write %s",
				    w->name, w->path ? w->path : "stream");
			w->failing = true;
			writer_undo(w, done);
			return SINK_RETRY;
		}
		done += (size_t)n;
	}
	return SINK_OK;
}

/* A line went through: a sink that was failing says it works again. */
static void
writer_recovered(struct writer *w)
{
	if (w->failing) {
		w->failing = false;
		log_info("%s: writing again", w->name);
	}
}

static void
writer_batch(struct writer *w, struct sink_job *batch)
{
	struct sink_job	*job, *next;
	const char	*line;
	size_t		 len, written = 0;

	for (job = batch; job != NULL; job = job->next) {
		line = sink_job_line(job, &len);
		job->verdict = writer_write(w, line, len);
		if (job->verdict == SINK_OK)
			written++;
	}
	if (w->sync && written > 0 && fdatasync(w->fd) == -1) {
		if (!w->failing)
			log_warn("%s: unable to sync %s", w->name,
			    w->path);
		w->failing = true;
		for (job = batch; job != NULL; job = job->next)
			job->verdict = SINK_RETRY;
		written = 0;
	}
	if (written > 0)
		writer_recovered(w);
	for (job = batch; job != NULL; job = next) {
		next = job->next;
		sink_job_done(job, job->verdict);
	}
}

static void *
writer_main(void *arg)
{
	struct writer	*w = arg;
	struct sink_job	*batch;
	bool		 reopen;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->head == NULL && !w->reopen && !w->stopping)
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->head == NULL && !w->reopen && w->stopping)
			break;
		batch = w->head;
		w->head = w->tail = NULL;
		w->queued = 0;
		reopen = w->reopen;
		w->reopen = false;
		pthread_mutex_unlock(&w->lock);

		if (reopen && w->path != NULL)
			writer_do_reopen(w);
		if (batch != NULL)
			writer_batch(w, batch);

		pthread_mutex_lock(&w->lock);
	}
	w->stopped = true;
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct writer *
writer_open(const char *module, const char *name, const char *path, int fd,
    bool sync, char *err, size_t errlen)
{
	struct writer	*w;
	struct stat	 st;
	bool		 is_file;
	int		 r;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		goto nomem;
	w->fd = -1;
	if (asprintf(&w->name, "%s: %s", module, name) == -1) {
		w->name = NULL;		/* asprintf leaves it undefined */
		goto nomem;
	}
	if (path != NULL && (w->path = strdup(path)) == NULL)
		goto nomem;
	if (path != NULL) {
		if ((w->fd = open_append(path, sync)) == -1) {
			snprintf(err, errlen, "%s: unable to open %s: %s",
			    w->name, path, strerror(errno));
			goto fail;
		}
	} else
		w->fd = fd;
	/*
	 * fdatasync means nothing on a pipe or a device such as /dev/full,
	 * and only a file we opened is written by the submitter.
	 */
	is_file = fstat(w->fd, &st) == 0 && S_ISREG(st.st_mode);
	w->sync = sync && is_file;
	w->direct = !sync && path != NULL && is_file;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	if (w->direct) {
		w->started = true;
		return w;
	}
	if ((r = pthread_create(&w->thread, NULL, writer_main, w)) != 0) {
		snprintf(err, errlen, "%s: unable to start a thread: %s",
		    w->name, strerror(r));
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
		goto fail;
	}
	w->started = true;
	return w;
nomem:
	snprintf(err, errlen, "%s: %s: out of memory", module, name);
fail:
	if (w != NULL) {
		if (w->path != NULL && w->fd != -1)
			close(w->fd);
		free(w->path);
		free(w->name);
		free(w);
	}
	return NULL;
}

void
writer_submit(struct writer *w, struct sink_job *job)
{
	enum sink_verdict	 v;
	const char		*line;
	size_t			 len;

	job->next = NULL;
	pthread_mutex_lock(&w->lock);
	if (w->stopping || w->stopped)
		v = SINK_RETRY;
	else if (w->direct) {
		line = sink_job_line(job, &len);
		if ((v = writer_write(w, line, len)) == SINK_OK)
			writer_recovered(w);
	} else if (w->queued >= WRITER_MAX_QUEUE)
		v = SINK_BUSY;
	else {
		if (w->tail != NULL)
			w->tail->next = job;
		else
			w->head = job;
		w->tail = job;
		w->queued++;
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->lock);
		return;
	}
	pthread_mutex_unlock(&w->lock);
	sink_job_done(job, v);
}

void
writer_reopen(struct writer *w)
{
	pthread_mutex_lock(&w->lock);
	if (w->direct) {
		/* Between two lines, as the thread would. */
		if (!w->stopping)
			writer_do_reopen(w);
	} else {
		w->reopen = true;
		pthread_cond_signal(&w->wake);
	}
	pthread_mutex_unlock(&w->lock);
}

bool
writer_healthy(struct writer *w)
{
	return !atomic_load(&w->failing);
}

void
writer_drain(struct writer *w)
{
	if (w == NULL || !w->started)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	if (!w->direct)
		pthread_join(w->thread, NULL);
	w->started = false;
}

void
writer_close(struct writer *w)
{
	if (w == NULL)
		return;
	writer_drain(w);
	if (w->path != NULL && w->fd != -1)
		close(w->fd);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w->path);
	free(w->name);
	free(w);
}
