/*
 * sink_exec.c - hands each report to an operator's program.
 *
 * With protocol "exec" (the default) each report starts the program from
 * its argument list, never through a shell, in a process group of its
 * own, with a minimal environment (PATH, the sink's env table, the
 * report's main fields as SINCH_* variables) and the record on stdin; its
 * exit status is the verdict.  The whole group is killed at the timeout
 * or once the program has exited, so nothing it started lingers.
 *
 * With protocol "lines" each slot keeps one helper running, started with
 * the daemon: it reads a record per line on stdin and answers each with
 * one line on stdout, the status a hook would exit with and an optional
 * reason.  While every slot is busy a helper may be sent a few records
 * ahead (EXEC_PIPELINE), which it answers in order.  A helper that
 * overruns timeout_ms, exits, closes a pipe or writes what is not an
 * answer is killed, group and all, and started again after a backoff;
 * the record it was on is SINK_RETRY, and those sent behind it wait
 * again in the queue, so nothing is lost.
 *
 * Either way 0 is SINK_OK, 65 SINK_REJECT and anything else SINK_RETRY,
 * and stderr (stdout too, for "exec") goes to the log, capped per report.
 *
 * Each of max_concurrent slots is a thread that serves its reports.
 * Reports wait for a slot first come, first served, up to queue_wait_ms;
 * a timer thread answers one that waited that long SINK_BUSY, with a
 * Retry-After taken from the sink's recent run times.
 */
#include <sys/eventfd.h>
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
#define EXEC_BACKOFF_MIN_MS	100	/* before a helper is started again */
#define EXEC_BACKOFF_MAX_MS	10000
#define EXEC_HEALTHY_MS		60000	/* up this long: backoff starts over */
#define EXEC_STOP_MS		5000	/* for a helper to exit at EOF */
#define EXEC_RETRY_AFTER_MAX_S	3600
/*
 * Records a helper may have been sent and not yet answered.  Beyond one
 * only while no slot is free: a helper reads the next record while the
 * daemon reads its answer, and one wake-up serves several.
 */
#define EXEC_PIPELINE		8
/* Weight of the latest run in the average behind Retry-After. */
#define EXEC_RUN_WEIGHT		0.2

extern char	**environ;

struct sink_exec;

/* One of the program's output pipes, cut into log lines. */
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

/* A slot's helper (protocol "lines"); the slot thread's own. */
struct exec_helper {
	pid_t			 pid;		/* -1: none */
	int			 pidfd;		/* -1: none, or no pidfd */
	int			 in;		/* its stdin */
	int			 out;		/* its stdout: the answers */
	struct exec_stream	 err;		/* its stderr: the log */
	/* Records sent, oldest first, each answered in turn. */
	struct sink_job		*sent;
	struct sink_job		*sent_tail;
	size_t			 nsent;
	struct sink_job		*wjob;		/* first not wholly written */
	size_t			 woff;		/* of its line written */
	int64_t			 head_since;	/* ms: sent is at its turn */
	char			 rbuf[4 * EXEC_LINE_MAX];	/* answers */
	size_t			 rlen;
	int64_t			 started_ms;
	unsigned int		 gen;		/* exec->gen when started */
	size_t			 answered;	/* records, in this life */
};

/*
 * Whether a slot can take reports (protocol "lines"): its helper runs,
 * or is down and will be started again.  FAILING is down after a helper
 * that answered nothing (or could not start): while every slot is so,
 * reports are answered SINK_RETRY at once rather than queued.
 */
enum slot_state {
	SLOT_UP,
	SLOT_DOWN,
	SLOT_FAILING
};

struct exec_slot {
	struct sink_exec	*exec;
	pthread_t		 thread;
	bool			 started;
	int			 wake;		/* eventfd: work, or stop */
	bool			 is_idle;	/* on exec->idle: under lock */
	enum slot_state		 state;		/* under lock */
	int64_t			 restart_at;	/* ms, when down: under lock */
	int			 backoff_ms;	/* the next restart's delay */
	struct exec_helper	 h;
};

struct sink_exec {
	const struct sink_config *cfg;
	size_t			 index;		/* of the sink, for metrics */
	bool			 lines;		/* protocol "lines" */
	char			*path_env;	/* "PATH=..." */
	char			**helper_env;	/* PATH and the env table */
	pthread_mutex_t		 lock;
	struct exec_slot	*slots;
	size_t			 nslots;
	size_t			*idle;		/* stack of free slot numbers */
	size_t			 nidle;
	/* Reports waiting for a slot, oldest first; stamp is when, in us. */
	struct sink_job		*head;
	struct sink_job		*tail;
	size_t			 queued;
	/* Answers what waited queue_wait_ms; armed: it waits for head. */
	pthread_cond_t		 timer_cond;
	pthread_t		 timer;
	bool			 timer_started;
	bool			 timer_armed;
	bool			 quiesced;	/* nothing is queued any more */
	bool			 stopping;
	unsigned int		 gen;		/* SIGHUP: helpers restart */
	size_t			 nfailing;	/* slots SLOT_FAILING */
	double			 run_ms;	/* recent run time, averaged */
};

static uint64_t
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

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

/* The stream now speaks for id: its cap on logged bytes starts over. */
static void
stream_restart(struct exec_stream *st, const char *id)
{
	st->id = id;
	st->logged = 0;
	st->truncated = false;
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

/* A hook's exit status, or a helper's answer, as a verdict. */
static enum sink_verdict
verdict_of_status(int code)
{
	switch (code) {
	case 0:
		return SINK_OK;
	case EXEC_EX_DATAERR:
		return SINK_REJECT;
	default:
		return SINK_RETRY;
	}
}

static enum sink_verdict
exec_verdict(const struct sink_exec *e, const char *id, int status,
    bool timed_out, int64_t ms)
{
	const char		*name = e->cfg->name;
	enum sink_verdict	 v;

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
	v = verdict_of_status(WEXITSTATUS(status));
	if (v == SINK_OK)
		log_debug("sink_exec: %s: id=%s: exited 0 in %lld ms", name,
		    id, (long long)ms);
	else if (v == SINK_REJECT)
		log_warnx("sink_exec: %s: id=%s: exited %d, report rejected",
		    name, id, EXEC_EX_DATAERR);
	else
		log_warnx("sink_exec: %s: id=%s: exited %d", name, id,
		    WEXITSTATUS(status));
	return v;
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

/*
 * Starts the program with env and three new pipes, and gives back our
 * ends, non-blocking: fds[0] to its stdin, fds[1] from its stdout and
 * fds[2] from its stderr.  id names the report in the log, or is NULL
 * for a helper.  Returns the pid, or -1, logged, with nothing left open.
 */
static pid_t
exec_start(const struct sink_exec *e, char **env, const char *id,
    int fds[3])
{
	int	in[2] = { -1, -1 }, o[2] = { -1, -1 }, x[2] = { -1, -1 };
	char	at[64] = "";
	pid_t	pid = -1;

	if (id != NULL)
		snprintf(at, sizeof(at), " id=%s:", id);
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(o, O_CLOEXEC) == -1 ||
	    pipe2(x, O_CLOEXEC) == -1)
		log_warn("sink_exec: %s:%s unable to make pipes", e->cfg->name,
		    at);
	else if ((pid = exec_spawn(e, env, in[0], o[1], x[1])) == -1)
		log_warn("sink_exec: %s:%s unable to run %s", e->cfg->name, at,
		    e->cfg->command[0]);
	close_fd(&in[0]);
	close_fd(&o[1]);
	close_fd(&x[1]);
	if (pid == -1) {
		close_fd(&in[1]);
		close_fd(&o[0]);
		close_fd(&x[0]);
		return -1;
	}
	fds[0] = in[1];
	fds[1] = o[0];
	fds[2] = x[0];
	for (int i = 0; i < 3; i++)
		fcntl(fds[i], F_SETFL, O_NONBLOCK);
	return pid;
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
	int			 fds[3], in = -1, pidfd = -1, status = 0;
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
	pid = exec_start(e, env, id, fds);
	env_free(env, fixed);
	if (pid == -1)
		return SINK_RETRY;
	in = fds[0];
	out.fd = fds[1];
	err.fd = fds[2];
	/* Without pidfd (old kernels, valgrind) poll for the exit instead. */
	pidfd = pidfd_open(pid, 0);

	deadline = start + e->cfg->timeout_ms;
	while (!exited) {
		n = 0;
		if (in != -1)
			pfd[n++] = (struct pollfd){ in, POLLOUT, 0 };
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
			else if (pfd[i].fd == in) {
				ssize_t w = write(in, line + sent,
				    len - sent);

				if (w > 0)
					sent += (size_t)w;
				/* EPIPE: the hook does not read stdin. */
				if ((w == -1 && errno != EAGAIN &&
				    errno != EINTR) || sent == len)
					close_fd(&in);
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
	close_fd(&in);
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
}

/* ------------------------------------------------------------------ */
/* The queue, the idle slots and the timer; all under exec->lock. */

/* Appends job to the list from *head to *tail. */
static void
jobs_append(struct sink_job **head, struct sink_job **tail,
    struct sink_job *job)
{
	job->next = NULL;
	if (*tail != NULL)
		(*tail)->next = job;
	else
		*head = job;
	*tail = job;
}

static void
queue_push(struct sink_exec *e, struct sink_job *job)
{
	job->stamp = now_us();
	jobs_append(&e->head, &e->tail, job);
	e->queued++;
	metrics_sink_queued(e->index, 1);
}

/* Takes the oldest report, or NULL. */
static struct sink_job *
queue_pop(struct sink_exec *e)
{
	struct sink_job	*job = e->head;

	if (job == NULL)
		return NULL;
	if ((e->head = job->next) == NULL)
		e->tail = NULL;
	job->next = NULL;
	e->queued--;
	metrics_sink_queued(e->index, -1);
	metrics_sink_queue_wait(e->index, (double)(now_us() - job->stamp) /
	    1e6);
	return job;
}

/* Takes the reports that waited since before `before` (all: UINT64_MAX). */
static struct sink_job *
queue_take(struct sink_exec *e, uint64_t before)
{
	struct sink_job	*list = NULL, **end = &list, *job;

	while (e->head != NULL && e->head->stamp < before) {
		job = queue_pop(e);
		*end = job;
		end = &job->next;
	}
	return list;
}

/* Answers each job of a list taken from the queue; not under lock. */
static void
answer_all(struct sink_job *list, enum sink_verdict v, int retry_after_s)
{
	struct sink_job	*job;

	while ((job = list) != NULL) {
		list = job->next;
		job->retry_after_s = retry_after_s;
		sink_job_done(job, v);
	}
}

/* A record took ms of a slot: the average behind Retry-After. */
static void
exec_ran(struct sink_exec *e, double ms)
{
	e->run_ms = e->run_ms <= 0 ? ms : e->run_ms + EXEC_RUN_WEIGHT *
	    (ms - e->run_ms);
}

/*
 * When a slot is likely to be free for a report sent again now: the
 * reports waiting shared among the slots, each taking the recent run
 * time.  0 before any run finished.
 */
static int
retry_after_locked(const struct sink_exec *e)
{
	double	 ms;
	long	 s;

	if (e->run_ms <= 0)
		return 0;
	ms = e->run_ms * ((double)e->queued / (double)e->nslots + 1);
	s = ms >= EXEC_RETRY_AFTER_MAX_S * 1000.0 ? EXEC_RETRY_AFTER_MAX_S :
	    ((long)ms + 999) / 1000;
	return s < 1 ? 1 : (int)s;
}

static void
slot_wake(struct exec_slot *slot)
{
	uint64_t	one = 1;

	/* Only fails when the counter is full: it is awake anyway. */
	(void)!write(slot->wake, &one, sizeof(one));
}

static void
idle_push(struct sink_exec *e, struct exec_slot *slot)
{
	e->idle[e->nidle++] = (size_t)(slot - e->slots);
	slot->is_idle = true;
}

static struct exec_slot *
idle_pop(struct sink_exec *e)
{
	struct exec_slot	*slot = &e->slots[e->idle[--e->nidle]];

	slot->is_idle = false;
	return slot;
}

static void
idle_remove(struct sink_exec *e, struct exec_slot *slot)
{
	size_t	i, n = (size_t)(slot - e->slots);

	if (!slot->is_idle)
		return;
	for (i = 0; i < e->nidle; i++)
		if (e->idle[i] == n) {
			e->idle[i] = e->idle[--e->nidle];
			break;
		}
	slot->is_idle = false;
}

static void
slot_set_state(struct exec_slot *slot, enum slot_state st)
{
	struct sink_exec	*e = slot->exec;

	if (slot->state == SLOT_FAILING)
		e->nfailing--;
	if (st == SLOT_FAILING)
		e->nfailing++;
	slot->state = st;
}

/*
 * Puts a list taken from the queue back at its head, in order, with the
 * times they first came; a free slot is woken for them.
 */
static void
queue_requeue(struct sink_exec *e, struct sink_job *list)
{
	struct sink_job	*last;
	size_t		 n = 1;

	for (last = list; last->next != NULL; last = last->next)
		n++;
	if ((last->next = e->head) == NULL)
		e->tail = last;
	e->head = list;
	e->queued += n;
	metrics_sink_queued(e->index, (int)n);
	pthread_cond_signal(&e->timer_cond);
	if (e->nidle > 0)
		slot_wake(idle_pop(e));
}

/* Answers what waited queue_wait_ms: SINK_BUSY, with a Retry-After. */
static void *
exec_timer_main(void *arg)
{
	struct sink_exec	*e = arg;
	struct sink_job		*stale;
	struct timespec		 ts;
	uint64_t		 wait_us, at;
	int			 ra;

	wait_us = (uint64_t)e->cfg->queue_wait_ms * 1000;
	pthread_mutex_lock(&e->lock);
	while (!e->stopping) {
		if ((stale = queue_take(e, now_us() - wait_us + 1)) != NULL) {
			ra = retry_after_locked(e);
			pthread_mutex_unlock(&e->lock);
			log_debug("sink_exec: %s: id=%s: no slot free within "
			    "%d ms", e->cfg->name, sink_job_id(stale),
			    e->cfg->queue_wait_ms);
			answer_all(stale, SINK_BUSY, ra);
			pthread_mutex_lock(&e->lock);
			continue;
		}
		if (e->head == NULL) {
			e->timer_armed = false;
			pthread_cond_wait(&e->timer_cond, &e->lock);
			continue;
		}
		e->timer_armed = true;
		at = e->head->stamp + wait_us;
		ts.tv_sec = (time_t)(at / 1000000);
		ts.tv_nsec = (long)(at % 1000000) * 1000;
		pthread_cond_timedwait(&e->timer_cond, &e->lock, &ts);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Helpers (protocol "lines"). */

/*
 * The answer "0", "65 reason", "75 reason" or any status up to 255 with
 * an optional reason, in the len bytes at line, a final CR allowed.
 * Returns the status, or -1.
 */
static int
answer_parse(const char *line, size_t len, const char **reason, int *rlen)
{
	size_t	i;
	int	code = 0;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (i = 0; i < len && i < 4 && line[i] >= '0' && line[i] <= '9'; i++)
		code = code * 10 + (line[i] - '0');
	if (i == 0 || i > 3 || code > 255 || (i < len && line[i] != ' '))
		return -1;
	if (i < len)
		i++;
	*reason = line + i;
	*rlen = (int)(len - i);
	return code;
}

/*
 * Whether the helper, whose stdout just closed, is exiting: it is given
 * EXEC_EXIT_POLL_MS, so that the log says "exited" when it did.
 */
static bool
helper_exiting(const struct exec_helper *h)
{
	struct pollfd	pfd = { h->pidfd, POLLIN, 0 };

	if (h->pidfd != -1)
		return poll(&pfd, 1, EXEC_EXIT_POLL_MS) > 0;
	usleep(EXEC_EXIT_POLL_MS * 1000);
	return child_exited(h->pid);
}

static void
helper_close_fds(struct exec_helper *h)
{
	close_fd(&h->pidfd);
	close_fd(&h->in);
	close_fd(&h->out);
	close_fd(&h->err.fd);
}

/* Logs what is left on the helper's stderr, for EXEC_DRAIN_MS at most. */
static void
helper_drain(struct exec_helper *h)
{
	struct pollfd	pfd;
	int64_t		deadline = now_ms() + EXEC_DRAIN_MS, left;

	while (h->err.fd != -1 && (left = deadline - now_ms()) > 0) {
		pfd = (struct pollfd){ h->err.fd, POLLIN, 0 };
		if (poll(&pfd, 1, (int)left) > 0)
			stream_read(&h->err);
	}
	stream_emit(&h->err);
}

/*
 * Marks the slot down until its next start, after a backoff that doubles
 * up to EXEC_BACKOFF_MAX_MS and starts over after a helper that ran for
 * EXEC_HEALTHY_MS.  failing: the helper answered nothing.  Once every
 * slot is failing, what waits is answered SINK_RETRY.  Returns the delay.
 */
static int
slot_down(struct exec_slot *slot, bool failing, int64_t up_ms)
{
	struct sink_exec	*e = slot->exec;
	struct sink_job		*list = NULL;
	int			 delay;

	if (up_ms >= EXEC_HEALTHY_MS)
		slot->backoff_ms = EXEC_BACKOFF_MIN_MS;
	delay = slot->backoff_ms;
	slot->backoff_ms = delay * 2 < EXEC_BACKOFF_MAX_MS ? delay * 2 :
	    EXEC_BACKOFF_MAX_MS;
	pthread_mutex_lock(&e->lock);
	/* It may have gone on the idle stack with its last answer. */
	idle_remove(e, slot);
	slot->restart_at = now_ms() + delay;
	slot_set_state(slot, failing ? SLOT_FAILING : SLOT_DOWN);
	if (e->nfailing == e->nslots)
		list = queue_take(e, UINT64_MAX);
	pthread_mutex_unlock(&e->lock);
	if (list != NULL)
		log_warnx("sink_exec: %s: no helper is running, answering "
		    "503", e->cfg->name);
	answer_all(list, SINK_RETRY, 0);
	return delay;
}

/* Starts the slot's helper.  Returns 0, or -1 with the slot down. */
static int
helper_start(struct exec_slot *slot)
{
	struct sink_exec	*e = slot->exec;
	struct exec_helper	*h = &slot->h;
	int			 fds[3], delay;

	pthread_mutex_lock(&e->lock);
	h->gen = e->gen;
	pthread_mutex_unlock(&e->lock);
	if ((h->pid = exec_start(e, e->helper_env, NULL, fds)) == -1) {
		metrics_exec_helper_end(e->index, METRICS_HELPER_SPAWN);
		delay = slot_down(slot, true, 0);
		log_warnx("sink_exec: %s: starting a helper again in %d ms",
		    e->cfg->name, delay);
		return -1;
	}
	h->in = fds[0];
	h->out = fds[1];
	h->err.fd = fds[2];
	h->pidfd = pidfd_open(h->pid, 0);
	h->started_ms = now_ms();
	h->answered = 0;
	h->rlen = 0;
	h->err.len = 0;
	stream_restart(&h->err, "-");
	metrics_exec_helpers(e->index, 1);
	pthread_mutex_lock(&e->lock);
	slot_set_state(slot, SLOT_UP);
	pthread_mutex_unlock(&e->lock);
	log_debug("sink_exec: %s: helper %d started", e->cfg->name,
	    (int)h->pid);
	return 0;
}

/* Kills the helper's group, reaps it and logs the rest of its stderr. */
static int
helper_reap(struct exec_helper *h)
{
	int	status = 0;

	kill(-h->pid, SIGKILL);
	while (waitpid(h->pid, &status, 0) == -1 && errno == EINTR)
		;
	helper_drain(h);
	helper_close_fds(h);
	h->pid = -1;
	return status;
}

/*
 * The helper failed (why, what): it is killed and the slot is down until
 * the backoff passes.  id names the record it was on, or is "-".
 */
static void
helper_end(struct exec_slot *slot, enum metrics_helper_end why,
    const char *what, const char *id)
{
	struct sink_exec	*e = slot->exec;
	struct exec_helper	*h = &slot->h;
	pid_t			 pid = h->pid;
	int			 status, delay;
	char			 how[48];

	status = helper_reap(h);
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "killed by signal %d",
		    WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "exit status %d",
		    WEXITSTATUS(status));
	metrics_exec_helpers(e->index, -1);
	metrics_exec_helper_end(e->index, why);
	delay = slot_down(slot, h->answered == 0, now_ms() - h->started_ms);
	if (why == METRICS_HELPER_TIMEOUT)
		log_warnx("sink_exec: %s: id=%s: helper %d did not answer "
		    "within %d ms (%s); starting another in %d ms",
		    e->cfg->name, id, (int)pid, e->cfg->timeout_ms, how,
		    delay);
	else
		log_warnx("sink_exec: %s: id=%s: helper %d %s (%s); "
		    "starting another in %d ms", e->cfg->name, id, (int)pid,
		    what, how, delay);
}

/*
 * Stops the helper gently: EOF on its stdin, then EXEC_STOP_MS to exit
 * before its group is killed.
 */
static void
helper_stop(struct exec_slot *slot)
{
	struct exec_helper	*h = &slot->h;
	struct pollfd		 pfd[3];
	char			 junk[512];
	int64_t			 deadline = now_ms() + EXEC_STOP_MS, left;
	nfds_t			 n;
	bool			 exited = false;

	close_fd(&h->in);
	while (!exited && (left = deadline - now_ms()) > 0) {
		n = 0;
		if (h->pidfd != -1)
			pfd[n++] = (struct pollfd){ h->pidfd, POLLIN, 0 };
		if (h->out != -1)
			pfd[n++] = (struct pollfd){ h->out, POLLIN, 0 };
		if (h->err.fd != -1)
			pfd[n++] = (struct pollfd){ h->err.fd, POLLIN, 0 };
		if (h->pidfd == -1 && left > EXEC_EXIT_POLL_MS)
			left = EXEC_EXIT_POLL_MS;
		if (poll(pfd, n, (int)left) == -1 && errno != EINTR)
			break;
		for (nfds_t i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == h->pidfd)
				exited = true;
			else if (pfd[i].fd == h->err.fd)
				stream_read(&h->err);
			else if (read(h->out, junk, sizeof(junk)) <= 0 &&
			    errno != EAGAIN)
				close_fd(&h->out);
		}
		if (h->pidfd == -1 && child_exited(h->pid))
			exited = true;
	}
	if (exited)
		log_debug("sink_exec: %s: helper %d stopped",
		    slot->exec->cfg->name, (int)h->pid);
	else
		log_warnx("sink_exec: %s: helper %d did not exit within %d ms "
		    "of EOF on its stdin, killed", slot->exec->cfg->name,
		    (int)h->pid, EXEC_STOP_MS);
	(void)helper_reap(h);
	metrics_exec_helpers(slot->exec->index, -1);
}

static enum sink_verdict
lines_verdict(const struct sink_exec *e, const char *id, int code,
    const char *reason, int rlen)
{
	enum sink_verdict	v = verdict_of_status(code);

	if (v == SINK_OK)
		log_debug("sink_exec: %s: id=%s: answered 0", e->cfg->name, id);
	else
		log_warnx("sink_exec: %s: id=%s: answered %d%s%s%.*s",
		    e->cfg->name, id, code, v == SINK_REJECT ?
		    ", report rejected" : "", rlen > 0 ? ": " : "", rlen,
		    reason);
	return v;
}

/*
 * The helper has a new record to answer; under lock.  Its line is
 * written by helper_write().
 */
static void
helper_send(struct exec_slot *slot, struct sink_job *job)
{
	struct exec_helper	*h = &slot->h;

	jobs_append(&h->sent, &h->sent_tail, job);
	if (h->wjob == NULL) {
		h->wjob = job;
		h->woff = 0;
	}
	if (h->nsent++ == 0) {
		h->head_since = now_ms();
		stream_restart(&h->err, sink_job_id(job));
		metrics_exec_slots(slot->exec->index, 1);
	}
}

/* Takes the records sent and not answered. */
static struct sink_job *
helper_take_sent(struct exec_slot *slot)
{
	struct exec_helper	*h = &slot->h;
	struct sink_job		*list = h->sent;

	if (h->nsent > 0)
		metrics_exec_slots(slot->exec->index, -1);
	h->sent = h->sent_tail = h->wjob = NULL;
	h->nsent = h->woff = h->rlen = 0;
	stream_restart(&h->err, "-");
	return list;
}

/*
 * Writes what it can of the records not yet written.  Returns 0, or -1
 * when the helper closed its stdin.
 */
static int
helper_write(struct exec_helper *h)
{
	const char	*line;
	size_t		 len;
	ssize_t		 w;

	while (h->wjob != NULL) {
		line = sink_job_line(h->wjob, &len);
		if ((w = write(h->in, line + h->woff, len - h->woff)) == -1) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -1;
		}
		if ((h->woff += (size_t)w) == len) {
			h->wjob = h->wjob->next;
			h->woff = 0;
		}
	}
	return 0;
}

/*
 * The oldest record sent is answered with the len bytes at line.
 * Returns false, with what, when that is no answer to it.
 */
static bool
helper_answer(struct exec_slot *slot, const char *line, size_t len,
    const char **what)
{
	struct sink_exec	*e = slot->exec;
	struct exec_helper	*h = &slot->h;
	struct sink_job		*job = h->sent;
	enum sink_verdict	 v;
	const char		*reason;
	int64_t			 now = now_ms();
	int			 code, rlen;

	if (job == NULL) {
		*what = "wrote with no record to answer";
		return false;
	}
	if (job == h->wjob) {
		*what = "answered a record before reading it";
		return false;
	}
	if ((code = answer_parse(line, len, &reason, &rlen)) == -1) {
		log_warnx("sink_exec: %s: id=%s: answer not understood: %.*s",
		    e->cfg->name, sink_job_id(job), (int)(len > 80 ? 80 : len),
		    line);
		*what = "answered what is not a status";
		return false;
	}
	v = lines_verdict(e, sink_job_id(job), code, reason, rlen);
	h->answered++;
	if ((h->sent = job->next) == NULL)
		h->sent_tail = NULL;
	stream_restart(&h->err, h->sent != NULL ? sink_job_id(h->sent) : "-");
	pthread_mutex_lock(&e->lock);
	exec_ran(e, (double)(now - h->head_since));
	h->head_since = now;
	if (--h->nsent == 0) {
		metrics_exec_slots(e->index, -1);
		/* Free before the answer is out, for a report sent again. */
		if (e->head == NULL && !slot->is_idle && !e->stopping &&
		    h->gen == e->gen)
			idle_push(e, slot);
	}
	pthread_mutex_unlock(&e->lock);
	sink_job_done(job, v);
	return true;
}

/*
 * Reads the helper's answers and answers their records.  Returns 0, or
 * -1 with why and what when the helper must go.
 */
static int
helper_read(struct exec_slot *slot, enum metrics_helper_end *why,
    const char **what)
{
	struct exec_helper	*h = &slot->h;
	char			*p, *end, *nl;
	ssize_t			 n;

	for (;;) {
		n = read(h->out, h->rbuf + h->rlen, sizeof(h->rbuf) - h->rlen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			*why = METRICS_HELPER_EXITED;
			*what = helper_exiting(h) ? "exited" : "closed its stdout";
			return -1;
		}
		h->rlen += (size_t)n;
		end = h->rbuf + h->rlen;
		for (p = h->rbuf; (nl = memchr(p, '\n', (size_t)(end - p))) !=
		    NULL; p = nl + 1)
			if (!helper_answer(slot, p, (size_t)(nl - p), what)) {
				*why = METRICS_HELPER_PROTOCOL;
				return -1;
			}
		if ((size_t)(end - p) >= EXEC_LINE_MAX) {
			*why = METRICS_HELPER_PROTOCOL;
			*what = "answered a line too long";
			return -1;
		}
		if (end > p && h->nsent == 0) {
			*why = METRICS_HELPER_PROTOCOL;
			*what = "wrote with no record to answer";
			return -1;
		}
		memmove(h->rbuf, p, (size_t)(end - p));
		h->rlen = (size_t)(end - p);
	}
}

/*
 * One round with a helper that has records to answer: writes what it
 * can, waits for it until the oldest record's timeout_ms, reads what it
 * answered.  Returns 0, or -1 with why and what when the helper must go.
 */
static int
helper_pump(struct exec_slot *slot, enum metrics_helper_end *why,
    const char **what)
{
	struct exec_helper	*h = &slot->h;
	struct pollfd		 pfd[4];
	int64_t			 left;
	nfds_t			 n = 0, i;
	bool			 exited = false;

	*why = METRICS_HELPER_EXITED;
	if (helper_write(h) == -1)
		goto closed;
	if (h->wjob != NULL)
		pfd[n++] = (struct pollfd){ h->in, POLLOUT, 0 };
	pfd[n++] = (struct pollfd){ h->out, POLLIN, 0 };
	if (h->err.fd != -1)
		pfd[n++] = (struct pollfd){ h->err.fd, POLLIN, 0 };
	if (h->pidfd != -1)
		pfd[n++] = (struct pollfd){ h->pidfd, POLLIN, 0 };
	if ((left = h->head_since + slot->exec->cfg->timeout_ms - now_ms()) <=
	    0) {
		*why = METRICS_HELPER_TIMEOUT;
		*what = "timed out";
		return -1;
	}
	if (h->pidfd == -1 && left > EXEC_EXIT_POLL_MS)
		left = EXEC_EXIT_POLL_MS;
	if (poll(pfd, n, (int)left) == -1 && errno != EINTR) {
		*what = "could not be polled";
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (pfd[i].fd == h->in) {
			if (helper_write(h) == -1)
				goto closed;
		} else if (pfd[i].fd == h->out) {
			if (helper_read(slot, why, what) == -1)
				return -1;
		} else if (pfd[i].fd == h->err.fd)
			stream_read(&h->err);
		else
			exited = true;
	}
	if (h->pidfd == -1 && child_exited(h->pid))
		exited = true;
	if (!exited)
		return 0;
	/* What it answered before it went still counts. */
	if (helper_read(slot, why, what) == -1 &&
	    *why == METRICS_HELPER_PROTOCOL)
		return -1;
	*why = METRICS_HELPER_EXITED;
	*what = "exited";
	return -1;
closed:
	*what = helper_exiting(h) ? "exited" : "closed its stdin";
	return -1;
}

/*
 * The helper must go (why, what): the oldest record it was sent is
 * answered SINK_RETRY, and the others, which it had not come to, wait
 * again at the head of the queue for the next free slot (SINK_RETRY too
 * once the daemon is stopping).
 */
static void
helper_fail(struct exec_slot *slot, enum metrics_helper_end why,
    const char *what)
{
	struct sink_exec	*e = slot->exec;
	struct exec_helper	*h = &slot->h;
	struct sink_job		*head, *rest;
	char			 id[64];

	snprintf(id, sizeof(id), "%s", h->sent != NULL ?
	    sink_job_id(h->sent) : "-");
	pthread_mutex_lock(&e->lock);
	if (h->sent != NULL)
		exec_ran(e, (double)(now_ms() - h->head_since));
	head = helper_take_sent(slot);
	/* Once the daemon is stopping, nothing waits any more. */
	if (head != NULL && (rest = head->next) != NULL && !e->quiesced) {
		head->next = NULL;
		queue_requeue(e, rest);
	}
	pthread_mutex_unlock(&e->lock);
	helper_end(slot, why, what, id);
	answer_all(head, SINK_RETRY, 0);
}

/*
 * Waits, with the lock not held, for work (the eventfd) or for
 * timeout_ms (-1: none), while watching an idle helper: its stderr goes
 * to the log, and one that exits or writes unasked must go.  Returns
 * false with why and what when it must.
 */
static bool
slot_wait(struct exec_slot *slot, int timeout_ms,
    enum metrics_helper_end *why, const char **what)
{
	struct exec_helper	*h = &slot->h;
	struct pollfd		 pfd[4];
	uint64_t		 count;
	char			 c;
	nfds_t			 n = 0, i;
	ssize_t			 r;
	bool			 ok = true;

	pfd[n++] = (struct pollfd){ slot->wake, POLLIN, 0 };
	if (h->pid != -1) {
		pfd[n++] = (struct pollfd){ h->out, POLLIN, 0 };
		if (h->err.fd != -1)
			pfd[n++] = (struct pollfd){ h->err.fd, POLLIN, 0 };
		if (h->pidfd != -1)
			pfd[n++] = (struct pollfd){ h->pidfd, POLLIN, 0 };
	}
	if (poll(pfd, n, timeout_ms) <= 0)
		return true;
	for (i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (pfd[i].fd == slot->wake)
			(void)!read(slot->wake, &count, sizeof(count));
		else if (pfd[i].fd == h->err.fd)
			stream_read(&h->err);
		else if (pfd[i].fd == h->out) {
			while ((r = read(h->out, &c, 1)) == -1 &&
			    errno == EINTR)
				;
			if (r == -1 && errno == EAGAIN)
				continue;
			*why = r > 0 ? METRICS_HELPER_PROTOCOL :
			    METRICS_HELPER_EXITED;
			*what = r > 0 ? "wrote with no record to answer" :
			    helper_exiting(h) ? "exited" : "closed its stdout";
			ok = false;
		} else if (ok) {
			*why = METRICS_HELPER_EXITED;
			*what = "exited";
			ok = false;
		}
	}
	return ok;
}

/* ------------------------------------------------------------------ */
/* The slots. */

/*
 * Runs job in slot, without the lock, and answers it.  Returns with the
 * slot already back on the idle stack when nothing waits, so that a
 * report sent again on this answer finds it free.
 */
static void
slot_serve(struct exec_slot *slot, struct sink_job *job)
{
	struct sink_exec	*e = slot->exec;
	enum sink_verdict	 v;
	uint64_t		 start = now_us();

	metrics_exec_slots(e->index, 1);
	v = exec_run(e, job);
	metrics_exec_slots(e->index, -1);
	pthread_mutex_lock(&e->lock);
	exec_ran(e, (double)(now_us() - start) / 1000);
	if (e->head == NULL && !slot->is_idle && !e->stopping)
		idle_push(e, slot);
	pthread_mutex_unlock(&e->lock);
	sink_job_done(job, v);
}

/* A slot of protocol "exec": a process per report. */
static void *
exec_slot_main(void *arg)
{
	struct exec_slot	*slot = arg;
	struct sink_exec	*e = slot->exec;
	struct sink_job		*job;
	enum metrics_helper_end	 why;
	const char		*what;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		if ((job = queue_pop(e)) != NULL) {
			idle_remove(e, slot);
			pthread_mutex_unlock(&e->lock);
			slot_serve(slot, job);
			pthread_mutex_lock(&e->lock);
			continue;
		}
		if (e->stopping)
			break;
		if (!slot->is_idle)
			idle_push(e, slot);
		pthread_mutex_unlock(&e->lock);
		(void)slot_wait(slot, -1, &why, &what);
		pthread_mutex_lock(&e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

/* A slot of protocol "lines": its helper, started again when it fails. */
static void *
lines_slot_main(void *arg)
{
	struct exec_slot	*slot = arg;
	struct sink_exec	*e = slot->exec;
	struct exec_helper	*h = &slot->h;
	struct sink_job		*job;
	enum metrics_helper_end	 why;
	const char		*what;
	int64_t			 wait;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		if (slot->state != SLOT_UP) {
			/* A helper to start again, after its backoff. */
			if (e->stopping)
				break;
			wait = slot->restart_at - now_ms();
			pthread_mutex_unlock(&e->lock);
			if (wait > 0)
				(void)slot_wait(slot, (int)wait, &why, &what);
			else
				(void)helper_start(slot);
			pthread_mutex_lock(&e->lock);
			continue;
		}
		if (h->nsent == 0 && h->gen != e->gen && !e->stopping) {
			/* SIGHUP: a new helper, once this one is idle. */
			idle_remove(e, slot);
			pthread_mutex_unlock(&e->lock);
			log_info("sink_exec: %s: restarting helper %d",
			    e->cfg->name, (int)h->pid);
			helper_stop(slot);
			metrics_exec_helper_end(e->index,
			    METRICS_HELPER_RELOAD);
			(void)helper_start(slot);
			pthread_mutex_lock(&e->lock);
			continue;
		}
		while (h->gen == e->gen && h->nsent < EXEC_PIPELINE &&
		    (h->nsent == 0 || e->nidle == 0) &&
		    (job = queue_pop(e)) != NULL)
			helper_send(slot, job);
		if (h->nsent == 0) {
			if (e->stopping)
				break;
			if (!slot->is_idle)
				idle_push(e, slot);
			pthread_mutex_unlock(&e->lock);
			if (!slot_wait(slot, -1, &why, &what)) {
				pthread_mutex_lock(&e->lock);
				idle_remove(e, slot);
				pthread_mutex_unlock(&e->lock);
				helper_end(slot, why, what, "-");
			}
			pthread_mutex_lock(&e->lock);
			continue;
		}
		idle_remove(e, slot);
		pthread_mutex_unlock(&e->lock);
		if (helper_pump(slot, &why, &what) == -1)
			helper_fail(slot, why, what);
		pthread_mutex_lock(&e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	if (h->pid != -1)
		helper_stop(slot);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The sink. */

static void
sink_exec_quiesce(struct sink *sk)
{
	struct sink_exec	*e = sk->impl;
	struct sink_job		*list;

	pthread_mutex_lock(&e->lock);
	e->quiesced = true;
	list = queue_take(e, UINT64_MAX);
	pthread_mutex_unlock(&e->lock);
	answer_all(list, SINK_RETRY, 0);
}

static void
sink_exec_drain(struct sink *sk)
{
	struct sink_exec	*e = sk->impl;
	struct sink_job		*list;
	size_t			 i;

	if (e == NULL)
		return;
	pthread_mutex_lock(&e->lock);
	e->stopping = e->quiesced = true;
	list = queue_take(e, UINT64_MAX);
	pthread_cond_signal(&e->timer_cond);
	for (i = 0; i < e->nslots; i++)
		slot_wake(&e->slots[i]);
	pthread_mutex_unlock(&e->lock);
	answer_all(list, SINK_RETRY, 0);
	if (e->timer_started) {
		pthread_join(e->timer, NULL);
		e->timer_started = false;
	}
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
	for (i = 0; e->slots != NULL && i < e->nslots; i++) {
		/* Helpers whose thread never started. */
		if (e->slots[i].h.pid != -1)
			helper_stop(&e->slots[i]);
		close_fd(&e->slots[i].wake);
	}
	pthread_cond_destroy(&e->timer_cond);
	pthread_mutex_destroy(&e->lock);
	free(e->slots);
	free(e->idle);
	free(e->helper_env);
	free(e->path_env);
	free(e);
	sk->impl = NULL;
}

static int
sink_exec_threads(struct sink *sk, char *err, size_t errlen)
{
	struct sink_exec	*e = sk->impl;
	pthread_attr_t		 attr;
	size_t			 i;
	int			 r = 0;

	/* A slot thread needs little: a poll loop and a log line. */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	if (e->cfg->queue_wait_ms > 0) {
		if ((r = pthread_create(&e->timer, &attr, exec_timer_main,
		    e)) != 0)
			goto fail;
		e->timer_started = true;
	}
	for (i = 0; i < e->nslots; i++) {
		if ((r = pthread_create(&e->slots[i].thread, &attr,
		    e->lines ? lines_slot_main : exec_slot_main,
		    &e->slots[i])) != 0)
			goto fail;
		e->slots[i].started = true;
	}
	pthread_attr_destroy(&attr);
	return 0;
fail:
	pthread_attr_destroy(&attr);
	snprintf(err, errlen, "sink_exec: %s: unable to start a thread: %s",
	    sk->cfg->name, strerror(r));
	return -1;
}

static int
sink_exec_open(struct sink *sk, char *err, size_t errlen)
{
	struct sink_exec	*e;
	struct exec_slot	*slot;
	const char		*path = getenv("PATH");
	pthread_condattr_t	 ca;
	size_t			 i, up = 0;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		goto nomem;
	sk->impl = e;
	e->cfg = sk->cfg;
	e->index = sk->index;
	e->lines = sk->cfg->protocol == EXEC_PROTOCOL_LINES;
	e->nslots = (size_t)sk->cfg->max_concurrent;
	pthread_mutex_init(&e->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->timer_cond, &ca);
	pthread_condattr_destroy(&ca);
	if ((e->slots = calloc(e->nslots, sizeof(*e->slots))) == NULL ||
	    (e->idle = calloc(e->nslots, sizeof(*e->idle))) == NULL ||
	    (e->helper_env = calloc(e->cfg->nenv + 2,
	    sizeof(*e->helper_env))) == NULL ||
	    asprintf(&e->path_env, "PATH=%s", path != NULL && *path != '\0' ?
	    path : EXEC_DEFAULT_PATH) == -1) {
		e->path_env = NULL;
		goto nomem;
	}
	e->helper_env[0] = e->path_env;
	for (i = 0; i < e->cfg->nenv; i++)
		e->helper_env[i + 1] = e->cfg->env[i];
	for (i = 0; i < e->nslots; i++) {
		slot = &e->slots[i];
		slot->exec = e;
		slot->state = SLOT_UP;
		slot->backoff_ms = EXEC_BACKOFF_MIN_MS;
		slot->h = (struct exec_helper){ .pid = -1, .pidfd = -1,
		    .in = -1, .out = -1, .err = { .fd = -1, .name = "stderr",
		    .is_error = true, .sink = e->cfg->name, .id = "-" } };
		if ((slot->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) ==
		    -1) {
			snprintf(err, errlen, "sink_exec: %s: unable to make "
			    "an eventfd: %s", sk->cfg->name, strerror(errno));
			sink_exec_close(sk);
			return -1;
		}
	}
	/* The helpers start with the daemon; one that cannot is retried. */
	for (i = 0; e->lines && i < e->nslots; i++)
		if (helper_start(&e->slots[i]) == 0)
			up++;
	if (e->lines)
		log_info("sink_exec: %s: %zu of %zu helpers started",
		    sk->cfg->name, up, e->nslots);
	/* Free from the start, before their threads run. */
	for (i = 0; i < e->nslots; i++)
		if (e->slots[i].state == SLOT_UP)
			idle_push(e, &e->slots[i]);
	if (sink_exec_threads(sk, err, errlen) == -1) {
		sink_exec_close(sk);
		return -1;
	}
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
	enum sink_verdict	 v;

	pthread_mutex_lock(&e->lock);
	if (e->stopping)
		v = SINK_RETRY;
	else if (e->lines && e->nfailing == e->nslots) {
		log_debug("sink_exec: %s: id=%s: no helper is running",
		    sk->cfg->name, sink_job_id(job));
		v = SINK_RETRY;
	} else if (e->nidle == 0 && e->quiesced)
		v = SINK_RETRY;
	else if (e->nidle == 0 && e->cfg->queue_wait_ms == 0) {
		log_debug("sink_exec: %s: id=%s: every slot busy",
		    sk->cfg->name, sink_job_id(job));
		job->retry_after_s = retry_after_locked(e);
		v = SINK_BUSY;
	} else {
		queue_push(e, job);
		if (e->nidle > 0)
			slot_wake(idle_pop(e));
		else if (!e->timer_armed)
			pthread_cond_signal(&e->timer_cond);
		pthread_mutex_unlock(&e->lock);
		return;
	}
	pthread_mutex_unlock(&e->lock);
	sink_job_done(job, v);
}

static void
sink_exec_reopen(struct sink *sk)
{
	struct sink_exec	*e = sk->impl;
	int64_t			 now = now_ms();
	size_t			 i;

	if (!e->lines)
		return;
	pthread_mutex_lock(&e->lock);
	e->gen++;
	for (i = 0; i < e->nslots; i++) {
		/* One that is down starts at once, its backoff forgotten. */
		if (e->slots[i].state != SLOT_UP) {
			e->slots[i].restart_at = now;
			e->slots[i].backoff_ms = EXEC_BACKOFF_MIN_MS;
		}
		slot_wake(&e->slots[i]);
	}
	pthread_mutex_unlock(&e->lock);
}

static bool
sink_exec_healthy(struct sink *sk)
{
	struct sink_exec	*e = sk->impl;
	bool			 ok;

	pthread_mutex_lock(&e->lock);
	ok = !e->lines || e->nfailing < e->nslots;
	pthread_mutex_unlock(&e->lock);
	return ok;
}

static int
sink_exec_retry_after_s(struct sink *sk)
{
	struct sink_exec	*e = sk->impl;
	int			 s;

	pthread_mutex_lock(&e->lock);
	s = retry_after_locked(e);
	pthread_mutex_unlock(&e->lock);
	return s;
}

const struct sink_ops sink_exec_ops = {
	.kind = "exec",
	.open = sink_exec_open,
	.submit = sink_exec_submit,
	.reopen = sink_exec_reopen,
	.drain = sink_exec_drain,
	.close = sink_exec_close,
	.healthy = sink_exec_healthy,
	.quiesce = sink_exec_quiesce,
	.retry_after_s = sink_exec_retry_after_s,
};
