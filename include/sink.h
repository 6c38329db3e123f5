/*
 * sink.h - the sink interface, fan-out and worst verdict.
 *
 * A report with its record line becomes a delivery: one job for each
 * sink.  Sinks finish jobs asynchronously, from their own threads, and say
 * how with a verdict.  The delivery's callback runs exactly once, when
 * every required sink has answered, with the worst of their verdicts.
 */
#ifndef SINK_H
#define SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "dedup.h"
#include "report.h"

/* Ordered by severity: the worst verdict is the largest. */
enum sink_verdict {
	SINK_OK,		/* taken */
	SINK_REJECT,		/* can never be taken: 422 */
	SINK_BUSY,		/* saturated, try later: 429 */
	SINK_RETRY		/* failed for now: 503 */
};

struct sink;
struct sink_job;

/* What each sink kind implements (sink_file.c, sink_stdout.c, ...). */
struct sink_ops {
	const char	*kind;
	/* Sets sink->impl.  Returns 0, or -1 with a reason in err. */
	int		(*open)(struct sink *, char *err, size_t errlen);
	/* Queues the job; sink_job_done() follows, from any thread. */
	void		(*submit)(struct sink *, struct sink_job *);
	/* Reopens files (SIGHUP); must not block the caller for long. */
	void		(*reopen)(struct sink *);
	/*
	 * Finishes every queued job and stops; jobs submitted later are
	 * answered SINK_RETRY at once.
	 */
	void		(*drain)(struct sink *);
	void		(*close)(struct sink *);
	/* False while the sink cannot take reports (NULL: always true). */
	bool		(*healthy)(struct sink *);
	/*
	 * The daemon is stopping: jobs still waiting for their turn are
	 * answered SINK_RETRY now, and later ones are not queued (NULL:
	 * nothing waits).  Jobs already running go on.
	 */
	void		(*quiesce)(struct sink *);
	/*
	 * Seconds until the sink is likely to take work again, from what
	 * it has seen lately, or 0 when it cannot tell (NULL: never can).
	 */
	int		(*retry_after_s)(struct sink *);
};

struct sink {
	const struct sink_config	*cfg;	/* not owned */
	const struct sink_ops		*ops;
	void				*impl;
	size_t				 index;	/* in the configuration */
};

/* One report on its way through one sink. */
struct sink_job {
	struct delivery		*delivery;
	struct sink		*sink;
	struct sink_job		*next;		/* free for the sink's queue */
	enum sink_verdict	 verdict;	/* free for the sink's use */
	uint64_t		 stamp;		/* free for the sink's use */
	/*
	 * Set by the sink before it answers SINK_BUSY or SINK_RETRY: when
	 * to try again, in seconds, or 0 for the default.
	 */
	int			 retry_after_s;
};

struct sinks {
	struct sink	*v;
	size_t		 n;
	struct dedup	*dedup;		/* NULL: off */
	bool		 want_digest;	/* a sink keys on it: always hash */
	const char	*state_file;	/* where dedup is kept, or NULL */
};

/*
 * Called once per delivery, from the thread that finished the last
 * required job (possibly the caller of sinks_deliver).  failed names the
 * sink that gave the worst verdict, or is NULL when it is SINK_OK.
 * retry_after_s is the longest wait a failed required sink asked for, or
 * 0 when none did.
 */
typedef void	sink_done_fn(void *arg, enum sink_verdict worst,
		    const char *failed, int retry_after_s);

/* Opens every sink, and the dedup cache with its saved state. */
struct sinks	*sinks_open(const struct config *, char *err, size_t errlen);
/*
 * Hands report and its record line to every sink whose filters match it
 * and that has not already taken the same body (digest; NULL skips the
 * check).  id names the request in logs and hooks.  Takes ownership of
 * report and line.  done runs exactly once, possibly before this returns.
 * Returns 0, or -1 when memory ran out (done does not run; report and line
 * are freed).
 */
int		 sinks_deliver(struct sinks *, struct report *, struct buf *,
		    const uint8_t *digest, const char *id, sink_done_fn *done,
		    void *arg);
bool		 sink_matches(const struct sink_config *,
		    const struct report *);
void		 sinks_reopen(struct sinks *);
/* Every required sink can take reports now (for /readyz). */
bool		 sinks_ready(struct sinks *, const char **failing);
/* The daemon is stopping: what waits for a turn is answered now. */
void		 sinks_quiesce(struct sinks *);
/* The longest retry_after_s of the required sinks, or 0 if none can tell. */
int		 sinks_retry_after_s(struct sinks *);
void		 sinks_drain(struct sinks *);
/* Saves the dedup state file, if one is configured.  Returns 0 or -1. */
int		 sinks_save(struct sinks *, char *err, size_t errlen);
void		 sinks_free(struct sinks *);

const struct report	*sink_job_report(const struct sink_job *);
const char		*sink_job_line(const struct sink_job *, size_t *len);
const char		*sink_job_id(const struct sink_job *);
/* The body's SHA-256 (DEDUP_DIGEST_LEN bytes), or NULL if none was given. */
const uint8_t		*sink_job_digest(const struct sink_job *);
/* The job is finished; it must not be touched after this. */
void			 sink_job_done(struct sink_job *, enum sink_verdict);
const char		*sink_verdict_name(enum sink_verdict);

/* Sink kinds. */
extern const struct sink_ops	sink_file_ops;
extern const struct sink_ops	sink_stdout_ops;
extern const struct sink_ops	sink_exec_ops;
extern const struct sink_ops	sink_postgres_ops;

#endif
