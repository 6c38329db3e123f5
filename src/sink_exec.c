/*
 * sink_exec.c - runs an operator's program for each report.
 *
 * The program is started from its argument list, never through a shell,
 * in a process group of its own, with a minimal environment (PATH, the
 * sink's env table, the report's main fields as SINCH_* variables) and
 * the record on stdin.  Each of max_concurrent slots is a thread that
 * runs one hook at a time; a report that finds every slot busy is
 * answered SINK_BUSY at once rather than queued.  The slot thread feeds
 * stdin, copies stdout and stderr to the log (capped), and kills the
 * whole process group at the timeout or once the hook has exited, so
 * nothing it started lingers.  Exit 0 is SINK_OK, 65 SINK_REJECT, and
 * anything else SINK_RETRY.
 */
#include <sys/pidfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "report.h"
#include "sink.h"

#define EXEC_OUTPUT_CAP		4096	/* bytes logged per stream per run */
#define EXEC_LINE_MAX		1024
#define EXEC_DRAIN_MS		200	/* for output after the hook is gone */
#define EXEC_EXIT_POLL_MS	10	/* without a pidfd */
#define EXEC_DEFAULT_PATH	"/usr/local/bin:/usr/bin:/bin"
#define EXEC_ENV_MAX		16	/* SINCH_* variables */
#define EXEC_EX_DATAERR		65
#define EXEC_EX_TEMPFAIL	75

extern char	**environ;

struct sink_exec;

struct exec_slot {
	struct sink_exec	*exec;
	pthread_t		 thread;
	pthread_cond_t		 wake;
	struct sink_job		*job;		/* under exec->lock */
	bool			 started;
};

struct sink_exec {
	const struct sink_config *cfg;
	size_t			 index;		/* of the sink, for metrics */
	char			*path_env;	/* "PATH=..." */
	pthread_mutex_t		 lock;
	struct exec_slot	*slots;
	size_t			 nslots;
	size_t			*idle;		/* stack of free slot numbers */
	size_t			 nidle;
	bool			 stopping;
};

/* One of the hook's output pipes, cut into log lines. */
struct exec_stream {
	int		 fd;
	const char	*name;		/* "stdout", "stderr" */
	bool		 is_error;
	const char	*sink;
	const char	*id;
	char		 line[EXEC_LINE_MAX];
	size_t		 len;
	size_t		 logged;
	bool		 truncated;
};

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
stream_emit(struct exec_stream *st)
{
	if (st->len == 0)
		return;
	if (st->logged + st->len <= EXEC_OUTPUT_CAP) {
		if (st->is_error)
			log_warnx("sink_exec: %s: id=%s: %s: %.*s", st->sink,
			    st->id, st->name, (int)st->len, st->line);
		else
			log_info("sink_exec: %s: id=%s: %s: %.*s", st->sink,
			    st->id, st->name, (int)st->len, st->line);
		st->logged += st->len;
	} else if (!st->truncated) {
		log_warnx("sink_exec: %s: id=%s: %s: more than %d bytes "
		    "(truncated)", st->sink, st->id, st->name,
		    EXEC_OUTPUT_CAP);
		st->truncated = true;
	}
	st->len = 0;
}

/* Reads what is there; closes the stream at EOF or on error. */
static void
stream_read(struct exec_stream *st)
{
	char	chunk[4096];
	ssize_t	n, i;

	for (;;) {
		n = read(st->fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (chunk[i] == '\n' || st->len == sizeof(st->line))
				stream_emit(st);
			if (chunk[i] != '\n')
				st->line[st->len++] = chunk[i];
		}
	}
	stream_emit(st);
	close(st->fd);
	st->fd = -1;
}

/*
 * Adds name=value, value being len bytes, unless value is NULL.  An
 * environment string ends at its first NUL, so each NUL in value is
 * written as the six characters \u0000, as in the record; the record on
 * stdin has the exact value.
 */
static int
env_add(char **env, size_t *n, const char *name, const char *value,
    size_t len)
{
	static const char	 nul[] = "\\u0000";
	const char		*p, *end;
	char			*s, *o;
	size_t			 nlen, nnul = 0;

	if (value == NULL)
		return 0;
	end = value + len;
	for (p = value; (p = memchr(p, '\0', (size_t)(end - p))) != NULL;
	    p++)
		nnul++;
	nlen = strlen(name);
	if ((s = malloc(nlen + 1 + len + nnul * (sizeof(nul) - 2) + 1)) ==
	    NULL)
		return -1;
	memcpy(s, name, nlen);
	o = s + nlen;
	*o++ = '=';
	for (p = value; p < end; p++)
		if (*p == '\0') {
			memcpy(o, nul, sizeof(nul) - 1);
			o += sizeof(nul) - 1;
		} else
			*o++ = *p;
	*o = '\0';
	env[(*n)++] = s;
	return 0;
}

/* The same for a C string of our own. */
static int
env_add_str(char **env, size_t *n, const char *name, const char *value)
{
	return env_add(env, n, name, value, value != NULL ? strlen(value) : 0);
}

/* The hook's environment: PATH, the env table, then SINCH_*. */
static char **
exec_env(const struct sink_exec *e, const struct sink_job *job, size_t *nown)
{
	const struct report	*r = sink_job_report(job);
	char			**env, code[16];
	size_t			  i, n = 0, fixed;
	int			  bad = 0;

	fixed = 1 + e->cfg->nenv;
	if ((env = calloc(fixed + EXEC_ENV_MAX + 1, sizeof(*env))) == NULL)
		return NULL;
	env[n++] = e->path_env;
	for (i = 0; i < e->cfg->nenv; i++)
		env[n++] = e->cfg->env[i];
	/* Strings past fixed are ours to free. */
	bad |= env_add_str(env, &n, "SINCH_ID", sink_job_id(job));
	if (r != NULL) {
		bad |= env_add_str(env, &n, "SINCH_KIND",
		    report_kind_name(r->kind));
		bad |= env_add(env, &n, "SINCH_TYPE", r->type, r->type_len);
		if (r->channel != REPORT_CHANNEL_NONE)
			bad |= env_add_str(env, &n, "SINCH_CHANNEL",
			    report_channel_name(r->channel));
		bad |= env_add(env, &n, "SINCH_BATCH_ID", r->batch_id,
		    r->batch_id_len);
		bad |= env_add(env, &n, "SINCH_CLIENT_REFERENCE",
		    r->client_reference, r->client_reference_len);
		if (r->kind == REPORT_RECIPIENT) {
			snprintf(code, sizeof(code), "%d", (int)r->code);
			bad |= env_add(env, &n, "SINCH_RECIPIENT",
			    r->recipient, r->recipient_len);
			bad |= env_add(env, &n, "SINCH_STATUS", r->status,
			    r->status_len);
			bad |= env_add_str(env, &n, "SINCH_CODE", code);
			bad |= env_add(env, &n, "SINCH_AT", r->at, r->at_len);
		}
		if (r->kind == REPORT_RECIPIENT || r->kind == REPORT_DELIVERY)
			bad |= env_add_str(env, &n, "SINCH_FINAL",
			    r->is_final ? "true" : "false");
		if (r->kind == REPORT_INBOUND) {
			bad |= env_add(env, &n, "SINCH_MESSAGE_ID",
			    r->message_id, r->message_id_len);
			bad |= env_add(env, &n, "SINCH_FROM", r->from,
			    r->from_len);
			bad |= env_add(env, &n, "SINCH_TO", r->to, r->to_len);
			bad |= env_add(env, &n, "SINCH_AT", r->received_at,
			    r->received_at_len);
		}
		if (r->sns_message_id != NULL) {
			bad |= env_add_str(env, &n, "SINCH_SNS_MESSAGE_ID",
			    r->sns_message_id);
			bad |= env_add_str(env, &n, "SINCH_SNS_TOPIC_ARN",
			    r->sns_topic_arn);
		}
	}
	*nown = fixed;
	if (bad) {
		for (i = fixed; i < n; i++)
			free(env[i]);
		free(env);
		return NULL;
	}
	return env;
}

static void
env_free(char **env, size_t fixed)
{
	size_t	i;

	if (env == NULL)
		return;
	for (i = fixed; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

static enum sink_verdict
exec_verdict(const struct sink_exec *e, const char *id, int status,
    bool timed_out, int64_t ms)
{
	const char	*name = e->cfg->name;

	if (timed_out) {
		log_warnx("sink_exec: %s: id=%s: timed out after %d ms, killed",
		    name, id, e->cfg->timeout_ms);
		return SINK_RETRY;
	}
	if (WIFSIGNALED(status)) {
		log_warnx("sink_exec: %s: id=%s: killed by signal %d", name,
		    id, WTERMSIG(status));
		return SINK_RETRY;
	}
	switch (WEXITSTATUS(status)) {
	case 0:
		log_debug("sink_exec: %s: id=%s: exited 0 in %lld ms", name,
		    id, (long long)ms);
		return SINK_OK;
	case EXEC_EX_DATAERR:
		log_warnx("sink_exec: %s: id=%s: exited %d, report rejected",
		    name, id, EXEC_EX_DATAERR);
		return SINK_REJECT;
	default:
		log_warnx("sink_exec: %s: id=%s: exited %d", name, id,
		    WEXITSTATUS(status));
		return SINK_RETRY;
	}
}

/* The hook has exited; it stays a zombie so its group cannot vanish. */
static bool
child_exited(pid_t pid)
{
	siginfo_t	si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) ==
	    0 && si.si_pid == pid;
}

static pid_t
exec_spawn(const struct sink_exec *e, char **env, int in, int out, int err)
{
	posix_spawn_file_actions_t	fa;
	posix_spawnattr_t		attr;
	sigset_t			none, dfl;
	pid_t				pid = -1;
	int				r;

	sigemptyset(&none);
	sigemptyset(&dfl);
	/* Blocked or ignored here (sigwait, SIGPIPE): not in the hook. */
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGQUIT);
	sigaddset(&dfl, SIGCHLD);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_adddup2(&fa, in, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, err, STDERR_FILENO);
	/* The hook sees stdin, stdout and stderr, nothing of ours. */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	r = posix_spawn(&pid, e->cfg->command[0], &fa, &attr,
	    e->cfg->command, env);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		errno = r;
		return -1;
	}
	return pid;
}

static void
close_fd(int *fd)
{
	if (*fd != -1)
		close(*fd);
	*fd = -1;
}

/* Runs the hook for one job and says how it went. */
static enum sink_verdict
exec_run(struct sink_exec *e, struct sink_job *job)
{
	const char		*id = sink_job_id(job), *line;
	struct exec_stream	 out = { .name = "stdout" };
	struct exec_stream	 err = { .name = "stderr", .is_error = true };
	struct exec_stream	*streams[2] = { &out, &err };
	struct pollfd		 pfd[4];
	char			**env;
	size_t			 fixed, len, sent = 0, i, n;
	int			 in[2] = { -1, -1 }, o[2] = { -1, -1 };
	int			 x[2] = { -1, -1 }, pidfd = -1, status = 0;
	int64_t			 start = now_ms(), deadline, left;
	bool			 exited = false, timed_out = false;
	pid_t			 pid;

	out.sink = err.sink = e->cfg->name;
	out.id = err.id = id;
	out.fd = err.fd = -1;
	line = sink_job_line(job, &len);
	if ((env = exec_env(e, job, &fixed)) == NULL) {
		log_warnx("sink_exec: %s: id=%s: out of memory", e->cfg->name,
		    id);
		return SINK_RETRY;
	}
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(o, O_CLOEXEC) == -1 ||
	    pipe2(x, O_CLOEXEC) == -1) {
		log_warn("sink_exec: %s: id=%s: unable to make pipes",
		    e->cfg->name, id);
		goto fail;
	}
	if ((pid = exec_spawn(e, env, in[0], o[1], x[1])) == -1) {
		log_warn("sink_exec: %s: id=%s: unable to run %s",
		    e->cfg->name, id, e->cfg->command[0]);
		goto fail;
	}
	env_free(env, fixed);
	env = NULL;
	close_fd(&in[0]);
	close_fd(&o[1]);
	close_fd(&x[1]);
	out.fd = o[0];
	err.fd = x[0];
	o[0] = x[0] = -1;
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	fcntl(out.fd, F_SETFL, O_NONBLOCK);
	fcntl(err.fd, F_SETFL, O_NONBLOCK);
	/* Without pidfd (old kernels, valgrind) poll for the exit instead. */
	pidfd = pidfd_open(pid, 0);

	deadline = start + e->cfg->timeout_ms;
	while (!exited) {
		n = 0;
		if (in[1] != -1)
			pfd[n++] = (struct pollfd){ in[1], POLLOUT, 0 };
		for (i = 0; i < 2; i++)
			if (streams[i]->fd != -1)
				pfd[n++] = (struct pollfd){ streams[i]->fd,
				    POLLIN, 0 };
		if (pidfd != -1)
			pfd[n++] = (struct pollfd){ pidfd, POLLIN, 0 };
		if ((left = deadline - now_ms()) <= 0) {
			timed_out = true;
			break;
		}
		if (pidfd == -1 && left > EXEC_EXIT_POLL_MS)
			left = EXEC_EXIT_POLL_MS;
		if (poll(pfd, n, (int)left) == -1 && errno != EINTR) {
			log_warn("sink_exec: %s: id=%s: poll", e->cfg->name,
			    id);
			timed_out = true;
			break;
		}
		for (i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == pidfd)
				exited = true;
			else if (pfd[i].fd == in[1]) {
				ssize_t w = write(in[1], line + sent,
				    len - sent);

				if (w > 0)
					sent += (size_t)w;
				/* EPIPE: the hook does not read stdin. */
				if ((w == -1 && errno != EAGAIN &&
				    errno != EINTR) || sent == len)
					close_fd(&in[1]);
			} else
				stream_read(pfd[i].fd == out.fd ? &out : &err);
		}
		if (pidfd == -1 && child_exited(pid))
			exited = true;
	}
	/* The group outlives its leader only as long as we let it. */
	kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (pidfd != -1)
		close(pidfd);
	close_fd(&in[1]);
	/* Whatever the hook wrote before it went. */
	deadline = now_ms() + EXEC_DRAIN_MS;
	while ((out.fd != -1 || err.fd != -1) &&
	    (left = deadline - now_ms()) > 0) {
		n = 0;
		for (i = 0; i < 2; i++)
			if (streams[i]->fd != -1)
				pfd[n++] = (struct pollfd){ streams[i]->fd,
				    POLLIN, 0 };
		if (poll(pfd, n, (int)left) <= 0)
			continue;
		for (i = 0; i < n; i++)
			if (pfd[i].revents != 0)
				stream_read(pfd[i].fd == out.fd ? &out : &err);
	}
	for (i = 0; i < 2; i++) {
		stream_emit(streams[i]);
		close_fd(&streams[i]->fd);
	}
	return exec_verdict(e, id, status, timed_out, now_ms() - start);
fail:
	env_free(env, fixed);
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&o[0]);
	close_fd(&o[1]);
	close_fd(&x[0]);
	close_fd(&x[1]);
	return SINK_RETRY;
}

static void *
exec_slot_main(void *arg)
{
	struct exec_slot	*slot = arg;
	struct sink_exec	*e = slot->exec;
	struct sink_job		*job;
	enum sink_verdict	 v;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		while (slot->job == NULL && !e->stopping)
			pthread_cond_wait(&slot->wake, &e->lock);
		if ((job = slot->job) == NULL)
			break;
		pthread_mutex_unlock(&e->lock);

		metrics_exec_slots(e->index, 1);
		v = exec_run(e, job);
		metrics_exec_slots(e->index, -1);

		/* Free the slot first: whoever hears the answer may retry. */
		pthread_mutex_lock(&e->lock);
		slot->job = NULL;
		e->idle[e->nidle++] = (size_t)(slot - e->slots);
		pthread_mutex_unlock(&e->lock);
		sink_job_done(job, v);
		pthread_mutex_lock(&e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

static void
sink_exec_drain(struct sink *sk)
{
	struct sink_exec	*e = sk->impl;
	size_t			 i;

	if (e == NULL)
		return;
	pthread_mutex_lock(&e->lock);
	e->stopping = true;
	for (i = 0; i < e->nslots; i++)
		pthread_cond_signal(&e->slots[i].wake);
	pthread_mutex_unlock(&e->lock);
	for (i = 0; i < e->nslots; i++)
		if (e->slots[i].started) {
			pthread_join(e->slots[i].thread, NULL);
			e->slots[i].started = false;
		}
}

static void
sink_exec_close(struct sink *sk)
{
	struct sink_exec	*e = sk->impl;
	size_t			 i;

	if (e == NULL)
		return;
	sink_exec_drain(sk);
	for (i = 0; i < e->nslots; i++)
		pthread_cond_destroy(&e->slots[i].wake);
	pthread_mutex_destroy(&e->lock);
	free(e->slots);
	free(e->idle);
	free(e->path_env);
	free(e);
	sk->impl = NULL;
}

static int
sink_exec_open(struct sink *sk, char *err, size_t errlen)
{
	struct sink_exec	*e;
	const char		*path = getenv("PATH");
	pthread_attr_t		 attr;
	size_t			 i;
	int			 r;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		goto nomem;
	sk->impl = e;
	e->cfg = sk->cfg;
	e->index = sk->index;
	e->nslots = (size_t)sk->cfg->max_concurrent;
	pthread_mutex_init(&e->lock, NULL);
	if ((e->slots = calloc(e->nslots, sizeof(*e->slots))) == NULL ||
	    (e->idle = calloc(e->nslots, sizeof(*e->idle))) == NULL ||
	    asprintf(&e->path_env, "PATH=%s", path != NULL && *path != '\0' ?
	    path : EXEC_DEFAULT_PATH) == -1) {
		e->path_env = NULL;
		goto nomem;
	}
	for (i = 0; i < e->nslots; i++)
		pthread_cond_init(&e->slots[i].wake, NULL);
	/* A slot thread needs little: a poll loop and a log line. */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (i = 0; i < e->nslots; i++) {
		e->slots[i].exec = e;
		if ((r = pthread_create(&e->slots[i].thread, &attr,
		    exec_slot_main, &e->slots[i])) != 0) {
			pthread_attr_destroy(&attr);
			snprintf(err, errlen, "sink_exec: %s: unable to start "
			    "a thread: %s", sk->cfg->name, strerror(r));
			sink_exec_close(sk);
			return -1;
		}
		e->slots[i].started = true;
		e->idle[e->nidle++] = i;
	}
	pthread_attr_destroy(&attr);
	return 0;
nomem:
	snprintf(err, errlen, "sink_exec: %s: out of memory", sk->cfg->name);
	if (e != NULL)
		sink_exec_close(sk);
	return -1;
}

static void
sink_exec_submit(struct sink *sk, struct sink_job *job)
{
	struct sink_exec	*e = sk->impl;
	struct exec_slot	*slot;
	enum sink_verdict	 v;

	pthread_mutex_lock(&e->lock);
	if (e->stopping)
		v = SINK_RETRY;
	else if (e->nidle == 0)
		v = SINK_BUSY;
	else {
		slot = &e->slots[e->idle[--e->nidle]];
		slot->job = job;
		pthread_cond_signal(&slot->wake);
		pthread_mutex_unlock(&e->lock);
		return;
	}
	pthread_mutex_unlock(&e->lock);
	if (v == SINK_BUSY)
		log_debug("sink_exec: %s: id=%s: every slot busy",
		    sk->cfg->name, sink_job_id(job));
	sink_job_done(job, v);
}

const struct sink_ops sink_exec_ops = {
	.kind = "exec",
	.open = sink_exec_open,
	.submit = sink_exec_submit,
	.reopen = NULL,
	.drain = sink_exec_drain,
	.close = sink_exec_close,
};
