/*
 * metrics.h - counters and histograms, and their Prometheus text.
 *
 * Every function may be called from any thread at any rate: counting is
 * lock-free on the hot paths.  Label sets that come from the network
 * (report types and statuses, which are open sets) are capped so a
 * stranger cannot grow memory without bound.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "sink.h"

/* Once, before any other call; sink names come from cfg. */
int	metrics_init(const struct config *, char *err, size_t errlen);
void	metrics_fini(void);

/* One answer given, by HTTP status code. */
void	metrics_request(int status);
/*
 * One report decoded: its type, and its status for a recipient delivery
 * report (NULL otherwise).
 */
void	metrics_report(const char *type, const char *status);
/* Sink number sink finished a job with v after seconds. */
void	metrics_sink(size_t sink, enum sink_verdict v, double seconds);
/* Exec slots of sink number sink in use: +1 when taken, -1 when freed. */
void	metrics_exec_slots(size_t sink, int delta);
/*
 * Reports waiting for a turn at sink number sink: +1 when one is queued,
 * -1 when it leaves the queue; and how long one waited when it left.
 */
void	metrics_sink_queued(size_t sink, int delta);
void	metrics_sink_queue_wait(size_t sink, double seconds);

/* Why an exec sink's helper (protocol "lines") was restarted. */
enum metrics_helper_end {
	METRICS_HELPER_EXITED,		/* it exited or closed a pipe */
	METRICS_HELPER_TIMEOUT,		/* a record overran timeout_ms */
	METRICS_HELPER_PROTOCOL,	/* it wrote what is not an answer */
	METRICS_HELPER_SPAWN,		/* it could not be started */
	METRICS_HELPER_RELOAD,		/* SIGHUP */
	METRICS_HELPER_ENDS
};

/* Helpers of sink number sink running: +1 when started, -1 when gone. */
void	metrics_exec_helpers(size_t sink, int delta);
void	metrics_exec_helper_end(size_t sink, enum metrics_helper_end why);
/*
 * The postgres sink number sink: connections up and busy (+1/-1); a
 * batch of rows committed, inserted of them new, after seconds; a failed
 * attempt to connect.
 */
void	metrics_pg_connections(size_t sink, int up, int busy);
void	metrics_pg_batch(size_t sink, size_t rows, size_t inserted,
	    double seconds);
void	metrics_pg_connect_failure(size_t sink);
/* Sink number sink was not called: it already took these bytes. */
void	metrics_dedup_skip(size_t sink);
/* A request answered without any delivery: all required sinks had it. */
void	metrics_dedup_hit(void);
/* An authentication check failed; reason is auth.c's static text. */
void	metrics_auth_failure(const char *reason, bool in_grace);
/* Connections open: +1 when one opens, -1 when it closes. */
void	metrics_connections(int delta);
/* A new connection was refused: the table was full, or its address's share. */
void	metrics_connection_refused(bool table_full);

/*
 * The SNS route: one answer, by message type (enum sns_type) and status;
 * a signing certificate fetched or read; a subscription confirmed.
 */
void	metrics_sns_message(int type, int status);
void	metrics_sns_fetch(bool ok);
void	metrics_sns_confirm(bool ok);

/* Appends the Prometheus text exposition (format 0.0.4) to out. */
int	metrics_render(struct buf *out);

#endif
