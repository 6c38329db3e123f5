/*
 * sink.c - opens the configured sinks, fans each report out to those
 * whose filters match and that have not already taken the same bytes,
 * and folds their verdicts into one.  Only required sinks decide the
 * answer; the others are fed the same record and their failures are only
 * logged.  What a sink does with a job is its own business (sink_file.c,
 * sink_exec.c, ...); which bytes it took is remembered in dedup.c.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "sink.h"

struct delivery {
	atomic_uint		 refs;		/* jobs + the dispatcher */
	atomic_uint		 pending;	/* required jobs + dispatcher */
	atomic_int		 worst;
	const char *_Atomic	 failed;
	atomic_int		 retry_after_s;	/* the longest asked for */
	struct sinks		*sinks;
	struct report		*report;
	struct buf		*line;
	sink_done_fn		*done;
	void			*arg;
	bool			 has_digest;	/* digest holds the body's */
	uint8_t			 digest[DEDUP_DIGEST_LEN];
	char			 id[48];
	struct timespec		 start;		/* CLOCK_MONOTONIC */
	size_t			 njobs;
	struct sink_job		 jobs[];
};

static const struct sink_ops *const sink_kinds[] = {
	[SINK_KIND_FILE] = &sink_file_ops,
	[SINK_KIND_STDOUT] = &sink_stdout_ops,
	[SINK_KIND_EXEC] = &sink_exec_ops,
	[SINK_KIND_POSTGRES] = &sink_postgres_ops,
};

static const char **
sink_names(const struct sinks *s)
{
	const char	**names;
	size_t		  i;

	if ((names = calloc(s->n + 1, sizeof(*names))) == NULL)
		return NULL;
	for (i = 0; i < s->n; i++)
		names[i] = s->v[i].cfg->name;
	return names;
}

static int
sinks_open_dedup(struct sinks *s, const struct config *cfg, char *err,
    size_t errlen)
{
	const char	**names;
	int		  ret;

	if (cfg->dedup_entries == 0)
		return 0;
	if ((s->dedup = dedup_new(cfg->dedup_entries, cfg->dedup_ttl_s)) ==
	    NULL) {
		snprintf(err, errlen, "dedup: out of memory");
		return -1;
	}
	if ((s->state_file = cfg->dedup_state_file) == NULL)
		return 0;
	if ((names = sink_names(s)) == NULL) {
		snprintf(err, errlen, "dedup: out of memory");
		return -1;
	}
	ret = dedup_load(s->dedup, s->state_file, names, s->n, err, errlen);
	free(names);
	if (ret == 0)
		log_info("dedup: %zu entries loaded from %s",
		    dedup_count(s->dedup), s->state_file);
	return ret;
}

struct sinks *
sinks_open(const struct config *cfg, char *err, size_t errlen)
{
	struct sinks	*s;
	size_t		 i;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->v = calloc(cfg->nsinks, sizeof(*s->v))) == NULL) {
		snprintf(err, errlen, "sink: out of memory");
		free(s);
		return NULL;
	}
	for (i = 0; i < cfg->nsinks; i++) {
		struct sink	*sk = &s->v[i];

		sk->cfg = &cfg->sinks[i];
		sk->ops = sink_kinds[sk->cfg->kind];
		sk->index = i;
		if (sk->ops->open(sk, err, errlen) == -1) {
			sinks_free(s);
			return NULL;
		}
		s->n++;
		if (sk->cfg->kind == SINK_KIND_POSTGRES)
			s->want_digest = true;
		log_debug("sink: %s (%s%s) open", sk->cfg->name, sk->ops->kind,
		    sk->cfg->required ? ", required" : "");
	}
	if (sinks_open_dedup(s, cfg, err, errlen) == -1) {
		sinks_free(s);
		return NULL;
	}
	return s;
}

/* Whether the len bytes at s are one of list's names, NULs and all. */
static bool
in_list(const char *s, size_t len, char *const *list)
{
	if (s == NULL)
		return false;
	for (; *list != NULL; list++)
		if (report_string_is(s, len, *list))
			return true;
	return false;
}

/*
 * A batch report matches a status filter when any of its buckets does;
 * inbound messages and unknown types have no status and are never final.
 */
bool
sink_matches(const struct sink_config *c, const struct report *r)
{
	size_t	i;

	if (c->ntypes == 0 && c->nstatuses == 0 && !c->final_only)
		return true;
	if (r == NULL)
		return false;
	if (c->ntypes > 0 && !in_list(r->type, r->type_len, c->types))
		return false;
	if (c->final_only && !(r->is_final && (r->kind == REPORT_RECIPIENT ||
	    r->kind == REPORT_DELIVERY)))
		return false;
	if (c->nstatuses == 0)
		return true;
	if (r->kind == REPORT_RECIPIENT)
		return in_list(r->status, r->status_len, c->statuses);
	if (r->kind == REPORT_DELIVERY)
		for (i = 0; i < r->nstatuses; i++)
			if (in_list(r->statuses[i].status,
			    r->statuses[i].status_len, c->statuses))
				return true;
	return false;
}

static void
delivery_unref(struct delivery *d)
{
	if (atomic_fetch_sub(&d->refs, 1) != 1)
		return;
	report_free(d->report);
	buf_free(d->line);
	free(d);
}

/* One required answer (or the dispatcher's own) is in. */
static void
delivery_settle(struct delivery *d)
{
	if (atomic_fetch_sub(&d->pending, 1) != 1)
		return;
	d->done(d->arg, (enum sink_verdict)atomic_load(&d->worst),
	    atomic_load(&d->failed), atomic_load(&d->retry_after_s));
}

int
sinks_deliver(struct sinks *s, struct report *report, struct buf *line,
    const uint8_t *digest, const char *id, sink_done_fn *done, void *arg)
{
	struct delivery	*d;
	uint64_t	 taken = 0, bit;
	size_t		 i, njobs = 0, nrequired = 0;
	bool		 required_matched = false;

	d = malloc(sizeof(*d) + s->n * sizeof(d->jobs[0]));
	if (d == NULL) {
		report_free(report);
		buf_free(line);
		return -1;
	}
	d->sinks = s;
	d->report = report;
	d->line = line;
	d->done = done;
	d->arg = arg;
	d->has_digest = digest != NULL;
	if (d->has_digest)
		memcpy(d->digest, digest, DEDUP_DIGEST_LEN);
	if (d->has_digest && s->dedup != NULL)
		taken = dedup_taken(s->dedup, digest);
	snprintf(d->id, sizeof(d->id), "%s", id != NULL ? id : "-");
	clock_gettime(CLOCK_MONOTONIC, &d->start);
	atomic_init(&d->worst, SINK_OK);
	atomic_init(&d->failed, NULL);
	atomic_init(&d->retry_after_s, 0);
	for (i = 0; i < s->n; i++) {
		if (!sink_matches(s->v[i].cfg, report))
			continue;
		bit = UINT64_C(1) << i;
		if (s->v[i].cfg->required)
			required_matched = true;
		if (taken & bit) {
			metrics_dedup_skip(i);
			continue;
		}
		d->jobs[njobs].delivery = d;
		d->jobs[njobs].sink = &s->v[i];
		d->jobs[njobs].next = NULL;
		d->jobs[njobs].verdict = SINK_OK;
		d->jobs[njobs].stamp = 0;
		d->jobs[njobs].retry_after_s = 0;
		njobs++;
		if (s->v[i].cfg->required)
			nrequired++;
	}
	/* A retry that every required sink already took goes nowhere. */
	if (required_matched && nrequired == 0) {
		log_debug("sink: %s: already taken, not delivered again",
		    d->id);
		metrics_dedup_hit();
		njobs = 0;
	}
	d->njobs = njobs;
	/* The dispatcher holds one of each so done cannot run mid-loop. */
	atomic_init(&d->refs, (unsigned)njobs + 1);
	atomic_init(&d->pending, (unsigned)nrequired + 1);
	for (i = 0; i < njobs; i++)
		d->jobs[i].sink->ops->submit(d->jobs[i].sink, &d->jobs[i]);
	delivery_settle(d);
	delivery_unref(d);
	return 0;
}

void
sink_job_done(struct sink_job *job, enum sink_verdict v)
{
	struct delivery		*d = job->delivery;
	const struct sink	*sk = job->sink;
	struct timespec		 now;
	int			 worst, ra;

	clock_gettime(CLOCK_MONOTONIC, &now);
	metrics_sink(sk->index, v, (double)(now.tv_sec - d->start.tv_sec) +
	    (double)(now.tv_nsec - d->start.tv_nsec) / 1e9);
	if (v == SINK_OK && d->has_digest && d->sinks->dedup != NULL)
		dedup_mark(d->sinks->dedup, d->digest,
		    (unsigned)(sk - d->sinks->v));
	if (!sk->cfg->required) {
		if (v != SINK_OK)
			log_debug("sink: %s (not required) -> %s",
			    sk->cfg->name, sink_verdict_name(v));
		delivery_unref(d);
		return;
	}
	worst = atomic_load(&d->worst);
	while ((int)v > worst &&
	    !atomic_compare_exchange_weak(&d->worst, &worst, (int)v))
		;
	if (v != SINK_OK && (int)v >= worst)
		atomic_store(&d->failed, sk->cfg->name);
	ra = atomic_load(&d->retry_after_s);
	while (v != SINK_OK && job->retry_after_s > ra &&
	    !atomic_compare_exchange_weak(&d->retry_after_s, &ra,
	    job->retry_after_s))
		;
	delivery_settle(d);
	delivery_unref(d);
}

const struct report *
sink_job_report(const struct sink_job *job)
{
	return job->delivery->report;
}

const char *
sink_job_line(const struct sink_job *job, size_t *len)
{
	*len = job->delivery->line->len;
	return job->delivery->line->data;
}

const char *
sink_job_id(const struct sink_job *job)
{
	return job->delivery->id;
}

const uint8_t *
sink_job_digest(const struct sink_job *job)
{
	return job->delivery->has_digest ? job->delivery->digest : NULL;
}

void
sinks_reopen(struct sinks *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		if (s->v[i].ops->reopen != NULL)
			s->v[i].ops->reopen(&s->v[i]);
}

bool
sinks_ready(struct sinks *s, const char **failing)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		if (s->v[i].cfg->required && s->v[i].ops->healthy != NULL &&
		    !s->v[i].ops->healthy(&s->v[i])) {
			*failing = s->v[i].cfg->name;
			return false;
		}
	return true;
}

void
sinks_quiesce(struct sinks *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		if (s->v[i].ops->quiesce != NULL)
			s->v[i].ops->quiesce(&s->v[i]);
}

int
sinks_retry_after_s(struct sinks *s)
{
	size_t	i;
	int	best = 0, r;

	for (i = 0; i < s->n; i++)
		if (s->v[i].cfg->required &&
		    s->v[i].ops->retry_after_s != NULL &&
		    (r = s->v[i].ops->retry_after_s(&s->v[i])) > best)
			best = r;
	return best;
}

void
sinks_drain(struct sinks *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		s->v[i].ops->drain(&s->v[i]);
}

int
sinks_save(struct sinks *s, char *err, size_t errlen)
{
	const char	**names;
	int		  ret;

	if (s->dedup == NULL || s->state_file == NULL)
		return 0;
	if ((names = sink_names(s)) == NULL) {
		snprintf(err, errlen, "dedup: out of memory");
		return -1;
	}
	ret = dedup_save(s->dedup, s->state_file, names, s->n, err, errlen);
	free(names);
	if (ret == 0)
		log_info("dedup: %zu entries saved to %s",
		    dedup_count(s->dedup), s->state_file);
	return ret;
}

void
sinks_free(struct sinks *s)
{
	size_t	i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		s->v[i].ops->drain(&s->v[i]);
		s->v[i].ops->close(&s->v[i]);
	}
	dedup_free(s->dedup);
	free(s->v);
	free(s);
}

const char *
sink_verdict_name(enum sink_verdict v)
{
	switch (v) {
	case SINK_OK:
		return "ok";
	case SINK_REJECT:
		return "reject";
	case SINK_BUSY:
		return "busy";
	case SINK_RETRY:
		return "retry";
	}
	return "?";
}
