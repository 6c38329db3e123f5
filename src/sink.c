/*
 * sink.c - opens the configured sinks, fans each report out to them and
 * folds their verdicts into one.  Only required sinks decide the answer;
 * the others are fed the same record and their failures are only logged.
 * What a sink does with a job is its own business (sink_file.c, ...).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sink.h"

struct delivery {
	atomic_uint		 refs;		/* jobs + the dispatcher */
	atomic_uint		 pending;	/* required jobs + dispatcher */
	atomic_int		 worst;
	const char *_Atomic	 failed;
	struct report		*report;
	struct buf		*line;
	sink_done_fn		*done;
	void			*arg;
	size_t			 njobs;
	struct sink_job		 jobs[];
};

static const struct sink_ops *const sink_kinds[] = {
	[SINK_KIND_FILE] = &sink_file_ops,
	[SINK_KIND_STDOUT] = &sink_stdout_ops,
};

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
		if (sk->ops->open(sk, err, errlen) == -1) {
			sinks_free(s);
			return NULL;
		}
		s->n++;
		log_debug("sink: %s (%s%s) open", sk->cfg->name, sk->ops->kind,
		    sk->cfg->required ? ", required" : "");
	}
	return s;
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
	    atomic_load(&d->failed));
}

int
sinks_deliver(struct sinks *s, struct report *report, struct buf *line,
    sink_done_fn *done, void *arg)
{
	struct delivery	*d;
	size_t		 i, nrequired = 0;

	d = malloc(sizeof(*d) + s->n * sizeof(d->jobs[0]));
	if (d == NULL) {
		report_free(report);
		buf_free(line);
		return -1;
	}
	d->report = report;
	d->line = line;
	d->done = done;
	d->arg = arg;
	d->njobs = s->n;
	atomic_init(&d->worst, SINK_OK);
	atomic_init(&d->failed, NULL);
	for (i = 0; i < s->n; i++) {
		d->jobs[i].delivery = d;
		d->jobs[i].sink = &s->v[i];
		d->jobs[i].next = NULL;
		d->jobs[i].verdict = SINK_OK;
		if (s->v[i].cfg->required)
			nrequired++;
	}
	/* The dispatcher holds one of each so done cannot run mid-loop. */
	atomic_init(&d->refs, (unsigned)s->n + 1);
	atomic_init(&d->pending, (unsigned)nrequired + 1);
	for (i = 0; i < s->n; i++)
		s->v[i].ops->submit(&s->v[i], &d->jobs[i]);
	delivery_settle(d);
	delivery_unref(d);
	return 0;
}

void
sink_job_done(struct sink_job *job, enum sink_verdict v)
{
	struct delivery		*d = job->delivery;
	const struct sink	*sk = job->sink;
	int			 worst;

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

void
sinks_reopen(struct sinks *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		if (s->v[i].ops->reopen != NULL)
			s->v[i].ops->reopen(&s->v[i]);
}

void
sinks_drain(struct sinks *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		s->v[i].ops->drain(&s->v[i]);
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
