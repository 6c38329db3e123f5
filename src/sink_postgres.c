/*
 * sink_postgres.c - stores each report as one row of a PostgreSQL table,
 * through a pool of connections, with group commit.
 *
 * Requests queue their jobs and go on serving others.  Each connection
 * has a thread that takes what is queued (up to PG_MAX_BATCH reports) and
 * stores it with one INSERT, which commits on its own (autocommit), so a
 * job is answered SINK_OK only once the statement holding it returned.
 * While one connection waits for its commit the next takes the reports
 * that arrived meanwhile, so batches grow with the load.
 *
 * The row's typed columns are taken by the server from the record itself,
 * so they cannot disagree with it; only "at" is checked here first, since
 * a malformed time would fail the whole statement.  dedup_key is the
 * body's SHA-256, the same on every replica, and ON CONFLICT DO NOTHING
 * makes a retry that reaches any of them a no-op answered SINK_OK.
 *
 * Failures are told apart by SQLSTATE: a lost connection, a failover, a
 * timeout or a full disk is SINK_RETRY and, when the connection cannot be
 * trusted, a reconnect with backoff; a report the server refuses for its
 * content (class 22) is found by storing the batch's reports one by one,
 * and only that one is SINK_REJECT.  A report that waited queue_wait_ms
 * with every connection busy is SINK_BUSY; with no connection up at all,
 * SINK_RETRY at once.
 *
 * The table is created when missing and checked when present, by each
 * connection when it connects, so one dropped while running comes back.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "auth.h"
#include "buf.h"
#include "dedup.h"
#include "jscan.h"
#include "log.h"
#include "metrics.h"
#include "sink.h"
#include "sink_postgres.h"
#include "utc.h"

#define PG_MAX_BATCH		1024	/* reports in one INSERT */
#define PG_MAX_QUEUE		65536	/* beyond: SINK_BUSY at once */
#define PG_BACKOFF_MIN_MS	100
#define PG_BACKOFF_MAX_MS	5000
#define PG_GRACE_MS		1000	/* past statement_timeout: gone */
#define PG_SLICE_MS		50	/* checks for stale jobs meanwhile */
#define PG_STATEMENT		"sinch_webhookd_insert"
#define PG_AT_MAX		40	/* bytes of an "at" passed on */

/* What one statement came to. */
enum pg_outcome {
	PG_DONE,		/* committed */
	PG_CONTENT,		/* refused for a report's content */
	PG_FAILED,		/* failed; the connection is still good */
	PG_LOST			/* failed; the connection was dropped */
};

struct pg_pool;

/* A report of the batch being written, and its key. */
struct pg_row {
	struct sink_job	*job;
	uint8_t		 key[DEDUP_DIGEST_LEN];
};

struct pg_conn {
	struct pg_pool	*pool;
	size_t		 index;
	PGconn		*conn;		/* NULL: down; the thread's own */
	pthread_t	 thread;
	bool		 started;
	struct buf	*keys;		/* the three parameters */
	struct buf	*ats;
	struct buf	*records;
	struct pg_row	*rows;		/* PG_MAX_BATCH, sorted by key */
};

struct pg_pool {
	char			*name;	/* "sink_postgres: db" */
	const struct sink_config *cfg;
	size_t			 index;	/* in the configuration */
	char			*table;	/* quoted, "schema"."name" */
	char			*insert_sql;

	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;	/* jobs queued, or stopping */
	pthread_cond_t		 retry;	/* stopping, or SIGHUP */
	pthread_cond_t		 settled; /* a first attempt finished */
	struct sink_job		*head;	/* queue, under lock */
	struct sink_job		*tail;
	size_t			 queued;
	size_t			 attempted; /* first attempts finished */
	unsigned		 hup;	/* SIGHUP count: backoff restarts */
	bool			 stopping;
	bool			 down_logged; /* this outage was logged */
	char			 fatal[512]; /* table refused at start */
	atomic_uint		 nup;	/* connections up */

	size_t			 nconns;
	struct pg_conn		 conns[];
};

/* The columns, as format_type() names their types, in INSERT order. */
static const struct pg_column {
	const char	*name;
	const char	*type;
	const char	*decl;
} pg_columns[] = {
	{ "dedup_key",	"bytea",		"bytea NOT NULL UNIQUE" },
	{ "received_at", "timestamp with time zone", "timestamptz NOT NULL" },
	{ "request_id",	"text",			"text NOT NULL" },
	{ "kind",	"text",			"text NOT NULL" },
	{ "channel",	"text",			"text" },
	{ "type",	"text",			"text NOT NULL" },
	{ "batch_id",	"text",			"text" },
	{ "recipient",	"text",			"text" },
	{ "status",	"text",			"text" },
	{ "code",	"integer",		"integer" },
	{ "final",	"boolean",		"boolean" },
	{ "at",		"timestamp with time zone", "timestamptz" },
	{ "message_id",	"text",			"text" },
	{ "client_reference", "text",		"text" },
	{ "sns_message_id", "text",		"text" },
	{ "record",	"jsonb",		"jsonb NOT NULL" },
};

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* What the server computes from each record, in pg_columns[] order. */
static const char pg_select[] =
	"decode(k, 'hex'), (r->>'received_at')::timestamptz, r->>'id', "
	"r->>'kind', r->>'channel', r->>'type', r->>'batch_id', "
	"r->>'recipient', r->>'status', (r->>'code')::integer, "
	"(r->>'final')::boolean, NULLIF(a, '')::timestamptz, "
	"r->>'message_id', r->>'client_reference', r->>'sns_message_id', r";

static uint64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
deadline_in(struct timespec *ts, uint64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* libpq's message, its first line, for a log line. */
static const char *
pg_message(const char *msg, char *out, size_t len)
{
	size_t	n;

	if (msg == NULL || msg[0] == '\0')
		msg = "unknown error";
	n = strcspn(msg, "\n");
	snprintf(out, len, "%.*s", (int)n, msg);
	return out;
}

/*
 * Answers, outside the lock, the jobs of list with v.  Used for the
 * stale, for those queued when the last connection went, and on exit.
 */
static void
pg_answer_all(struct sink_job *list, enum sink_verdict v)
{
	struct sink_job	*next;

	for (; list != NULL; list = next) {
		next = list->next;
		sink_job_done(list, v);
	}
}

/* Takes the whole queue; under lock. */
static struct sink_job *
pg_take_all(struct pg_pool *p)
{
	struct sink_job	*list = p->head;

	p->head = p->tail = NULL;
	p->queued = 0;
	return list;
}

/*
 * Takes, under lock, the jobs at the head of the queue that waited
 * queue_wait_ms for a connection: they are answered SINK_BUSY.
 */
static struct sink_job *
pg_take_stale(struct pg_pool *p, uint64_t now)
{
	struct sink_job	*list = NULL, **end = &list, *job;
	uint64_t	 wait = (uint64_t)p->cfg->queue_wait_ms;

	while ((job = p->head) != NULL && now - job->stamp >= wait) {
		p->head = job->next;
		p->queued--;
		job->next = NULL;
		*end = job;
		end = &job->next;
	}
	if (p->head == NULL)
		p->tail = NULL;
	return list;
}

static void
pg_expire(struct pg_pool *p)
{
	struct sink_job	*stale;

	pthread_mutex_lock(&p->lock);
	stale = pg_take_stale(p, now_ms());
	pthread_mutex_unlock(&p->lock);
	pg_answer_all(stale, SINK_BUSY);
}

/*
 * Waits until the connection's socket is ready for events or the
 * deadline passes, checking for stale jobs every PG_SLICE_MS.  Returns 1
 * when ready, 0 at the deadline, -1 on error.
 */
static int
pg_wait(struct pg_conn *c, short events, uint64_t deadline)
{
	struct pollfd	pfd;
	uint64_t	now;
	int		n, ms;

	pfd.fd = PQsocket(c->conn);
	pfd.events = events;
	if (pfd.fd < 0)
		return -1;
	for (;;) {
		pg_expire(c->pool);
		if ((now = now_ms()) >= deadline)
			return 0;
		ms = deadline - now < PG_SLICE_MS ? (int)(deadline - now) :
		    PG_SLICE_MS;
		n = poll(&pfd, 1, ms);
		if (n > 0)
			return 1;
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

/*
 * Whether the SQLSTATE says this connection should not be used again: a
 * connection exception (08), the server shutting down or refusing
 * (57P01-57P03), a standby after a failover (25006), or the table or the
 * prepared statement gone (42P01, 42703, 26000), which a new connection
 * sets up again.
 */
static bool
pg_state_resets(const char *state)
{
	static const char *const resets[] = {
		"57P01", "57P02", "57P03", "25006", "42P01", "42703",
		"26000", NULL
	};
	const char *const	*r;

	if (state == NULL)
		return true;
	if (strncmp(state, "08", 2) == 0)
		return true;
	for (r = resets; *r != NULL; r++)
		if (strcmp(state, *r) == 0)
			return true;
	return false;
}

static void
pg_drop(struct pg_conn *c, const char *why)
{
	struct pg_pool	*p = c->pool;
	char		 msg[256];

	log_warnx("%s: connection %zu lost: %s", p->name, c->index,
	    pg_message(why, msg, sizeof(msg)));
	PQfinish(c->conn);
	c->conn = NULL;
	atomic_fetch_sub(&p->nup, 1);
	metrics_pg_connections(p->index, -1, 0);
}

/*
 * Sends the prepared INSERT with the three parameters and reads its
 * result.  *inserted is the number of rows it stored.
 */
static enum pg_outcome
pg_exec(struct pg_conn *c, size_t n, long *inserted)
{
	struct pg_pool	*p = c->pool;
	const char	*values[3];
	PGresult	*res;
	enum pg_outcome	 ret = PG_DONE;
	const char	*state;
	char		 msg[256];
	uint64_t	 deadline;
	int		 r;

	values[0] = c->keys->data;
	values[1] = c->ats->data;
	values[2] = c->records->data;
	deadline = now_ms() + (uint64_t)p->cfg->statement_timeout_ms +
	    PG_GRACE_MS;
	if (PQsendQueryPrepared(c->conn, PG_STATEMENT, 3, values, NULL, NULL,
	    0) == 0) {
		pg_drop(c, PQerrorMessage(c->conn));
		return PG_LOST;
	}
	while ((r = PQflush(c->conn)) == 1) {
		if (pg_wait(c, POLLOUT | POLLIN, deadline) != 1 ||
		    PQconsumeInput(c->conn) == 0) {
			pg_drop(c, "no answer within statement_timeout_ms");
			return PG_LOST;
		}
	}
	if (r == -1) {
		pg_drop(c, PQerrorMessage(c->conn));
		return PG_LOST;
	}
	*inserted = 0;
	for (;;) {
		while (PQisBusy(c->conn)) {
			r = pg_wait(c, POLLIN, deadline);
			if (r != 1) {
				pg_drop(c, r == 0 ? "no answer within "
				    "statement_timeout_ms" : strerror(errno));
				return PG_LOST;
			}
			if (PQconsumeInput(c->conn) == 0) {
				pg_drop(c, PQerrorMessage(c->conn));
				return PG_LOST;
			}
		}
		if ((res = PQgetResult(c->conn)) == NULL)
			break;
		switch (PQresultStatus(res)) {
		case PGRES_COMMAND_OK:
			*inserted = strtol(PQcmdTuples(res), NULL, 10);
			break;
		default:
			state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			if (PQstatus(c->conn) == CONNECTION_BAD ||
			    pg_state_resets(state))
				ret = PG_LOST;
			else if (strncmp(state, "22", 2) == 0)
				ret = PG_CONTENT;
			else
				ret = PG_FAILED;
			/*
			 * A batch refused for content is tried again, and
			 * a lost connection says so when it is dropped.
			 */
			if (ret == PG_FAILED || (ret == PG_CONTENT && n == 1))
				log_error("%s: %zu report%s not stored "
				    "(SQLSTATE %s): %s", p->name, n,
				    n == 1 ? "" : "s",
				    state != NULL ? state : "none",
				    pg_message(PQresultErrorMessage(res),
				    msg, sizeof(msg)));
			break;
		}
		PQclear(res);
	}
	if (ret == PG_LOST && c->conn != NULL)
		pg_drop(c, PQerrorMessage(c->conn));
	return ret;
}

size_t
pg_jsonb_text(struct buf *out, const char *line, size_t len)
{
	size_t		 start, i, fixed = 0;
	char		*s;
	uint32_t	 u, v;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	start = out->len;
	if (buf_append(out, line, len) == -1)
		return (size_t)-1;
	s = out->data + start;
	for (i = 0; i + 1 < len; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] != 'u' || i + 6 > len ||
		    jscan_hex4(s + i + 2, &u) == -1) {
			i++;		/* \" \\ \n ...: one character */
			continue;
		}
		if (u >= 0xd800 && u <= 0xdbff && i + 12 <= len &&
		    s[i + 6] == '\\' && s[i + 7] == 'u' &&
		    jscan_hex4(s + i + 8, &v) == 0 &&
		    v >= 0xdc00 && v <= 0xdfff) {
			i += 11;	/* a pair */
			continue;
		}
		if (u == 0 || (u >= 0xd800 && u <= 0xdfff)) {
			memcpy(s + i + 2, "fffd", 4);
			fixed++;
		}
		i += 5;
	}
	return fixed;
}

/*
 * The report's time ("at": a recipient report's, an inbound message's
 * received_at) when it is a UTC time PostgreSQL reads the same way, else
 * "": a malformed one must not fail the statement; the record keeps it.
 */
int
pg_at(struct buf *out, const struct report *r)
{
	const char	*at = NULL;
	size_t		 len = 0;
	char		 tmp[PG_AT_MAX + 1];
	long long	 secs;

	if (r != NULL && r->kind == REPORT_RECIPIENT) {
		at = r->at;
		len = r->at_len;
	} else if (r != NULL && r->kind == REPORT_INBOUND) {
		at = r->received_at;
		len = r->received_at_len;
	}
	if (at == NULL || len > PG_AT_MAX || memchr(at, '\0', len) != NULL)
		return 0;
	memcpy(tmp, at, len);
	tmp[len] = '\0';
	/* Years 1 to 9999, which PostgreSQL reads alike. */
	if (utc_timestamp(tmp, &secs) == -1 || secs < -62135596800LL ||
	    secs > 253402300800LL)
		return 0;
	return buf_append(out, tmp, len);
}

static int
pg_row_cmp(const void *a, const void *b)
{
	return memcmp(((const struct pg_row *)a)->key,
	    ((const struct pg_row *)b)->key, DEDUP_DIGEST_LEN);
}

/*
 * Fills the three parameters from the n jobs of batch, in key order: two
 * statements holding some of the same reports (a retry landing on two
 * replicas) then wait for each other in the same order and never
 * deadlock.  Sorted here rather than by the server, which has less time
 * to spare.
 */
static int
pg_params(struct pg_conn *c, struct sink_job *batch, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	struct sink_job		*job;
	const uint8_t		*digest;
	const char		*line;
	char			 key[DEDUP_DIGEST_LEN * 2];
	size_t			 len, i, j, fixed;

	for (job = batch, i = 0; i < n; job = job->next, i++) {
		c->rows[i].job = job;
		/* Always given with a postgres sink; the line as a fallback. */
		if ((digest = sink_job_digest(job)) != NULL)
			memcpy(c->rows[i].key, digest, DEDUP_DIGEST_LEN);
		else {
			line = sink_job_line(job, &len);
			dedup_digest(line, len, c->rows[i].key);
		}
	}
	qsort(c->rows, n, sizeof(c->rows[0]), pg_row_cmp);
	buf_reset(c->keys);
	buf_reset(c->ats);
	buf_reset(c->records);
	for (i = 0; i < n; i++) {
		job = c->rows[i].job;
		line = sink_job_line(job, &len);
		for (j = 0; j < DEDUP_DIGEST_LEN; j++) {
			key[2 * j] = hex[c->rows[i].key[j] >> 4];
			key[2 * j + 1] = hex[c->rows[i].key[j] & 0xf];
		}
		if ((i > 0 && (buf_putc(c->keys, ',') == -1 ||
		    buf_putc(c->ats, ',') == -1 ||
		    buf_putc(c->records, '\n') == -1)) ||
		    buf_append(c->keys, key, sizeof(key)) == -1 ||
		    pg_at(c->ats, sink_job_report(job)) == -1 ||
		    (fixed = pg_jsonb_text(c->records, line, len)) ==
		    (size_t)-1)
			return -1;
		if (fixed > 0)
			log_warnx("%s: id=%s: %zu escape%s that PostgreSQL "
			    "cannot store (\\u0000 or a lone surrogate) "
			    "stored as \\ufffd", c->pool->name,
			    sink_job_id(job), fixed, fixed == 1 ? "" : "s");
	}
	return 0;
}

static double
seconds_since(const struct timespec *t0)
{
	struct timespec	t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * Stores the n jobs at batch in one statement and sets each job's
 * verdict.  A batch refused for its content is stored again one report
 * at a time, so only the report at fault is refused.
 */
static void
pg_store(struct pg_conn *c, struct sink_job *batch, size_t n)
{
	struct pg_pool		*p = c->pool;
	struct sink_job		*job;
	struct timespec		 t0;
	enum pg_outcome		 res;
	enum sink_verdict	 v;
	long			 inserted = 0;
	size_t			 i;

	if (c->conn == NULL)
		res = PG_LOST;
	else if (pg_params(c, batch, n) == -1) {
		log_warnx("%s: out of memory", p->name);
		res = PG_FAILED;
	} else {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		res = pg_exec(c, n, &inserted);
		if (res == PG_DONE)
			metrics_pg_batch(p->index, n, (size_t)inserted,
			    seconds_since(&t0));
	}
	if (res == PG_CONTENT && n > 1) {
		for (job = batch, i = 0; i < n; job = job->next, i++)
			pg_store(c, job, 1);
		return;
	}
	switch (res) {
	case PG_DONE:
		v = SINK_OK;
		break;
	case PG_CONTENT:
		v = SINK_REJECT;
		log_error("%s: id=%s: refused for its content, not stored",
		    p->name, sink_job_id(batch));
		break;
	default:
		v = SINK_RETRY;
		break;
	}
	for (job = batch, i = 0; i < n; job = job->next, i++)
		job->verdict = v;
}

/* Runs one statement on a fresh connection; 0, or -1 with err set. */
static int
pg_run(PGconn *conn, const char *sql, int nparams, const char *const *values,
    PGresult **out, char *err, size_t errlen)
{
	PGresult	*res;
	ExecStatusType	 st;

	res = PQexecParams(conn, sql, nparams, NULL, values, NULL, NULL, 0);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_message(res != NULL ? PQresultErrorMessage(res) :
		    PQerrorMessage(conn), err, errlen);
		PQclear(res);
		return -1;
	}
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return 0;
}

/*
 * Creates the table when it is missing, under an advisory lock so that
 * replicas starting together do not race, then checks its columns and the
 * unique index ON CONFLICT needs.  A table refused is reported in err
 * with *fatal set; other failures leave it false.
 */
static int
pg_setup_table(struct pg_pool *p, PGconn *conn, bool *fatal, char *err,
    size_t errlen)
{
	const char	*params[1] = { p->cfg->table };
	struct buf	*sql = NULL;
	PGresult	*res = NULL;
	const char	*type;
	char		 why[256];
	size_t		 i;
	int		 row, nrows, ret = -1;
	bool		 missing, created, locked = false;

	*fatal = false;
	if (pg_run(conn, "SELECT to_regclass($1) IS NULL", 1, params, &res,
	    why, sizeof(why)) == -1)
		goto failed;
	missing = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	res = NULL;
	if (missing) {
		/*
		 * The lock serialises replicas and connections starting
		 * together; the first of them creates it.  A session lock,
		 * so that the look after it is a transaction of its own,
		 * which sees a table created meanwhile.
		 */
		if (pg_run(conn, "SELECT pg_advisory_lock(hashtext("
		    "'sinch-webhookd ' || $1))", 1, params, NULL, why,
		    sizeof(why)) == -1)
			goto failed;
		locked = true;
		if (pg_run(conn, "SELECT to_regclass($1) IS NULL", 1, params,
		    &res, why, sizeof(why)) == -1)
			goto failed;
		created = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
		res = NULL;
		if ((sql = buf_new(1024)) == NULL)
			goto nomem;
		if (buf_printf(sql, "CREATE TABLE IF NOT EXISTS %s (seq "
		    "bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
		    p->table) == -1)
			goto nomem;
		for (i = 0; i < nitems(pg_columns); i++)
			if (buf_printf(sql, ", %s %s", pg_columns[i].name,
			    pg_columns[i].decl) == -1)
				goto nomem;
		if (buf_puts(sql, ")") == -1)
			goto nomem;
		if (created && pg_run(conn, sql->data, 0, NULL, NULL, why,
		    sizeof(why)) == -1)
			goto failed;
		if (created)
			log_info("%s: table %s created", p->name,
			    p->cfg->table);
	}
	if (pg_run(conn, "SELECT a.attname, format_type(a.atttypid, "
	    "a.atttypmod), a.attidentity <> '' OR a.atthasdef FROM "
	    "pg_attribute a WHERE a.attrelid = to_regclass($1) AND "
	    "a.attnum > 0 AND NOT a.attisdropped", 1, params, &res, why,
	    sizeof(why)) == -1)
		goto failed;
	nrows = PQntuples(res);
	for (i = 0; i <= nitems(pg_columns); i++) {
		const char *name = i < nitems(pg_columns) ?
		    pg_columns[i].name : "seq";

		type = i < nitems(pg_columns) ? pg_columns[i].type : "bigint";
		for (row = 0; row < nrows; row++)
			if (strcmp(PQgetvalue(res, row, 0), name) == 0)
				break;
		if (row == nrows) {
			snprintf(err, errlen, "%s: table %s: no column \"%s\" "
			    "(%s)", p->name, p->cfg->table, name, type);
			*fatal = true;
			goto done;
		}
		if (strcmp(PQgetvalue(res, row, 1), type) != 0) {
			snprintf(err, errlen, "%s: table %s: column \"%s\" is "
			    "%s, want %s", p->name, p->cfg->table, name,
			    PQgetvalue(res, row, 1), type);
			*fatal = true;
			goto done;
		}
		if (i == nitems(pg_columns) &&
		    strcmp(PQgetvalue(res, row, 2), "t") != 0) {
			snprintf(err, errlen, "%s: table %s: column \"seq\" "
			    "has no default (want GENERATED ALWAYS AS "
			    "IDENTITY)", p->name, p->cfg->table);
			*fatal = true;
			goto done;
		}
	}
	PQclear(res);
	res = NULL;
	if (pg_run(conn, "SELECT 1 FROM pg_index i JOIN pg_attribute a ON "
	    "a.attrelid = i.indrelid AND a.attnum = i.indkey[0] WHERE "
	    "i.indrelid = to_regclass($1) AND i.indisunique AND "
	    "i.indnatts = 1 AND i.indpred IS NULL AND i.indexprs IS NULL "
	    "AND a.attname = 'dedup_key'", 1, params, &res, why,
	    sizeof(why)) == -1)
		goto failed;
	if (PQntuples(res) == 0) {
		snprintf(err, errlen, "%s: table %s: \"dedup_key\" has no "
		    "unique index (want UNIQUE)", p->name, p->cfg->table);
		*fatal = true;
		goto done;
	}
	ret = 0;
	goto done;
nomem:
	snprintf(why, sizeof(why), "out of memory");
failed:
	snprintf(err, errlen, "%s: table %s: %s", p->name, p->cfg->table,
	    why);
done:
	PQclear(res);
	buf_free(sql);
	if (locked)
		PQclear(PQexecParams(conn, "SELECT pg_advisory_unlock("
		    "hashtext('sinch-webhookd ' || $1))", 1, NULL, params, NULL,
		    NULL, 0));
	return ret;
}

/* The server's notices ("already exists, skipping") are for debugging. */
static void
pg_notice(void *arg, const char *message)
{
	struct pg_pool	*p = arg;
	char		 msg[256];

	log_debug("%s: %s", p->name, pg_message(message, msg, sizeof(msg)));
}

/*
 * Connects, sets the session up, checks the table and prepares the
 * INSERT.  Returns 0, or -1 with a reason in err (*fatal: the table was
 * refused).
 */
static int
pg_connect(struct pg_conn *c, bool *fatal, char *err, size_t errlen)
{
	struct pg_pool	*p = c->pool;
	const struct sink_config *cfg = p->cfg;
	/* Before dbname: conninfo may override them; password after. */
	const char	*keys[] = {
		"connect_timeout", "application_name", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "dbname",
		"password", NULL
	};
	const char	*values[nitems(keys)] = {
		"5", "sinch-webhookd", "10", "5", "3", cfg->conninfo, NULL,
		NULL
	};
	char		 path[PATH_MAX], why[256], timeout[64];
	uint8_t		*pw = NULL;
	size_t		 pwlen = 0;
	PGconn		*conn;
	PGresult	*res;
	int		 ret = -1;

	*fatal = false;
	if (cfg->password_file != NULL) {
		if (auth_secret_path(cfg->password_file, path,
		    sizeof(path)) == -1 ||
		    (pw = auth_secret_load(path, &pwlen)) == NULL) {
			snprintf(err, errlen, "%s: password_file: unable to "
			    "read %.300s: %s", p->name, path, strerror(errno));
			return -1;
		}
		values[6] = (const char *)pw;
	}
	conn = PQconnectdbParams(keys, values, 1);
	if (pw != NULL) {
		explicit_bzero(pw, pwlen);
		free(pw);
	}
	if (conn == NULL) {
		snprintf(err, errlen, "%s: out of memory", p->name);
		return -1;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		snprintf(err, errlen, "%s: unable to connect: %s", p->name,
		    pg_message(PQerrorMessage(conn), why, sizeof(why)));
		goto done;
	}
	PQsetNoticeProcessor(conn, pg_notice, p);
	snprintf(timeout, sizeof(timeout), "SET statement_timeout = %d",
	    cfg->statement_timeout_ms);
	/*
	 * One plan for every batch: the statement's shape never changes,
	 * and planning it anew for each one costs more than the rows.
	 */
	if (pg_run(conn, timeout, 0, NULL, NULL, why, sizeof(why)) == -1 ||
	    pg_run(conn, "SET plan_cache_mode = force_generic_plan", 0, NULL,
	    NULL, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", p->name, why);
		goto done;
	}
	if (pg_setup_table(p, conn, fatal, err, errlen) == -1)
		goto done;
	res = PQprepare(conn, PG_STATEMENT, p->insert_sql, 3, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "%s: table %s: %s", p->name, cfg->table,
		    pg_message(PQresultErrorMessage(res), why, sizeof(why)));
		PQclear(res);
		goto done;
	}
	PQclear(res);
	if (PQsetnonblocking(conn, 1) == -1) {
		snprintf(err, errlen, "%s: %s", p->name,
		    pg_message(PQerrorMessage(conn), why, sizeof(why)));
		goto done;
	}
	c->conn = conn;
	conn = NULL;
	ret = 0;
done:
	PQfinish(conn);
	return ret;
}

/* The next wait after a failed attempt: doubling, up to the maximum. */
static unsigned
pg_backoff(unsigned ms)
{
	ms = ms == 0 ? PG_BACKOFF_MIN_MS : ms * 2;
	if (ms > PG_BACKOFF_MAX_MS)
		ms = PG_BACKOFF_MAX_MS;
	return ms;
}

/*
 * One attempt to connect, under no lock.  Logs the first failure of an
 * outage and the recovery after it.  Returns 0 when connected.
 */
static int
pg_attempt(struct pg_conn *c, bool first)
{
	struct pg_pool	*p = c->pool;
	char		 err[512];
	bool		 fatal;
	int		 ret;

	ret = pg_connect(c, &fatal, err, sizeof(err));
	pthread_mutex_lock(&p->lock);
	if (ret == 0) {
		metrics_pg_connections(p->index, 1, 0);
		if (atomic_fetch_add(&p->nup, 1) == 0 || p->down_logged)
			log_info("%s: connected to %s:%s database %s",
			    p->name, PQhost(c->conn), PQport(c->conn),
			    PQdb(c->conn));
		p->down_logged = false;
	} else {
		metrics_pg_connect_failure(p->index);
		if (first && fatal && p->fatal[0] == '\0')
			snprintf(p->fatal, sizeof(p->fatal), "%s", err);
		else if (!p->down_logged) {
			(fatal ? log_error : log_warnx)("%s", err);
			p->down_logged = true;
		}
	}
	if (first) {
		p->attempted++;
		pthread_cond_broadcast(&p->settled);
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

/*
 * With no connection left, nobody would take the queue: what is there is
 * answered SINK_RETRY now (and submit answers so until one is up).
 */
static void
pg_orphans(struct pg_pool *p)
{
	struct sink_job	*gone = NULL;

	pthread_mutex_lock(&p->lock);
	if (atomic_load(&p->nup) == 0)
		gone = pg_take_all(p);
	pthread_mutex_unlock(&p->lock);
	pg_answer_all(gone, SINK_RETRY);
}

static void *
pg_main(void *arg)
{
	struct pg_conn	*c = arg;
	struct pg_pool	*p = c->pool;
	struct sink_job	*batch, *stale, *job, *last;
	struct timespec	 until;
	unsigned	 backoff = 0, hup;
	bool		 first = true;
	size_t		 n;

	for (;;) {
		if (c->conn == NULL) {
			pthread_mutex_lock(&p->lock);
			if (p->stopping) {
				pthread_mutex_unlock(&p->lock);
				break;
			}
			pthread_mutex_unlock(&p->lock);
			if (pg_attempt(c, first) == 0) {
				first = false;
				backoff = 0;
				continue;
			}
			first = false;
			backoff = pg_backoff(backoff);
			pg_orphans(p);
			pthread_mutex_lock(&p->lock);
			hup = p->hup;
			deadline_in(&until, backoff);
			while (!p->stopping && p->hup == hup &&
			    pthread_cond_timedwait(&p->retry, &p->lock,
			    &until) != ETIMEDOUT)
				;
			if (p->hup != hup)
				backoff = 0;
			pthread_mutex_unlock(&p->lock);
			continue;
		}
		pthread_mutex_lock(&p->lock);
		while (p->head == NULL && !p->stopping)
			pthread_cond_wait(&p->wake, &p->lock);
		if (p->head == NULL) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		stale = pg_take_stale(p, now_ms());
		batch = p->head;
		last = NULL;
		for (n = 0, job = batch; job != NULL && n < PG_MAX_BATCH;
		    n++, job = job->next)
			last = job;
		if (batch != NULL) {
			p->head = last->next;
			last->next = NULL;
			if (p->head == NULL)
				p->tail = NULL;
			p->queued -= n;
		}
		pthread_mutex_unlock(&p->lock);
		pg_answer_all(stale, SINK_BUSY);
		if (batch == NULL)
			continue;
		metrics_pg_connections(p->index, 0, 1);
		pg_store(c, batch, n);
		metrics_pg_connections(p->index, 0, -1);
		for (job = batch; job != NULL; job = batch) {
			batch = job->next;
			sink_job_done(job, job->verdict);
		}
		if (c->conn == NULL)
			pg_orphans(p);
	}
	if (c->conn != NULL) {
		PQfinish(c->conn);
		c->conn = NULL;
		atomic_fetch_sub(&p->nup, 1);
		metrics_pg_connections(p->index, -1, 0);
	}
	return NULL;
}

static void
pg_free(struct pg_pool *p)
{
	size_t	i;

	for (i = 0; i < p->nconns; i++) {
		buf_free(p->conns[i].keys);
		buf_free(p->conns[i].ats);
		buf_free(p->conns[i].records);
		free(p->conns[i].rows);
	}
	pthread_cond_destroy(&p->settled);
	pthread_cond_destroy(&p->retry);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p->insert_sql);
	free(p->table);
	free(p->name);
	free(p);
}

/* "schema"."name" or "name", from the checked configuration. */
static char *
pg_quote_table(const char *table)
{
	const char	*dot = strchr(table, '.');
	char		*s;
	int		 n;

	if (dot != NULL)
		n = asprintf(&s, "\"%.*s\".\"%s\"", (int)(dot - table), table,
		    dot + 1);
	else
		n = asprintf(&s, "\"%s\"", table);
	return n == -1 ? NULL : s;
}

/* The INSERT; pg_params() gives it the rows in key order. */
static char *
pg_insert_sql(const char *table)
{
	struct buf	*b;
	char		*s = NULL;
	size_t		 i;

	if ((b = buf_new(1024)) == NULL)
		return NULL;
	if (buf_printf(b, "INSERT INTO %s (", table) == -1)
		goto done;
	for (i = 0; i < nitems(pg_columns); i++)
		if (buf_printf(b, "%s%s", i > 0 ? ", " : "",
		    pg_columns[i].name) == -1)
			goto done;
	if (buf_printf(b, ") SELECT %s FROM unnest(string_to_array($1, ','), "
	    "string_to_array($2, ','), string_to_array($3, E'\\n')::jsonb[]) "
	    "AS u(k, a, r) ON CONFLICT (dedup_key) DO NOTHING",
	    pg_select) == -1)
		goto done;
	s = strdup(b->data);
done:
	buf_free(b);
	return s;
}

static void sink_postgres_drain(struct sink *);
static void sink_postgres_close(struct sink *);

static int
sink_postgres_open(struct sink *sk, char *err, size_t errlen)
{
	const struct sink_config	*cfg = sk->cfg;
	struct pg_pool			*p;
	pthread_condattr_t		 attr;
	size_t				 i, n = (size_t)cfg->connections;
	int				 r;

	if ((p = calloc(1, sizeof(*p) + n * sizeof(p->conns[0]))) == NULL)
		goto nomem;
	p->cfg = cfg;
	p->index = sk->index;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	pthread_cond_init(&p->settled, NULL);
	/* The backoff is a timed wait, on the monotonic clock. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&p->retry, &attr);
	pthread_condattr_destroy(&attr);
	atomic_init(&p->nup, 0);
	if (asprintf(&p->name, "sink_postgres: %s", cfg->name) == -1) {
		p->name = NULL;
		goto nomem;
	}
	if ((p->table = pg_quote_table(cfg->table)) == NULL ||
	    (p->insert_sql = pg_insert_sql(p->table)) == NULL)
		goto nomem;
	p->nconns = n;
	for (i = 0; i < n; i++) {
		p->conns[i].pool = p;
		p->conns[i].index = i;
		if ((p->conns[i].keys = buf_new(PG_MAX_BATCH * 65)) == NULL ||
		    (p->conns[i].ats = buf_new(1024)) == NULL ||
		    (p->conns[i].records = buf_new(1 << 16)) == NULL ||
		    (p->conns[i].rows = calloc(PG_MAX_BATCH,
		    sizeof(*p->conns[i].rows))) == NULL)
			goto nomem;
	}
	sk->impl = p;
	for (i = 0; i < n; i++) {
		if ((r = pthread_create(&p->conns[i].thread, NULL, pg_main,
		    &p->conns[i])) != 0) {
			snprintf(err, errlen, "%s: unable to start a thread: "
			    "%s", p->name, strerror(r));
			sink_postgres_close(sk);
			return -1;
		}
		p->conns[i].started = true;
	}
	/* The first attempts, bounded by libpq's connect_timeout. */
	pthread_mutex_lock(&p->lock);
	while (p->attempted < n)
		pthread_cond_wait(&p->settled, &p->lock);
	pthread_mutex_unlock(&p->lock);
	if (p->fatal[0] != '\0') {
		snprintf(err, errlen, "%s", p->fatal);
		sink_postgres_close(sk);
		return -1;
	}
	if (atomic_load(&p->nup) == 0)
		log_warnx("%s: no connection to the server yet; answering "
		    "503 and trying again in the background", p->name);
	return 0;
nomem:
	snprintf(err, errlen, "sink_postgres: %s: out of memory", cfg->name);
	if (p != NULL)
		pg_free(p);
	return -1;
}

static void
sink_postgres_submit(struct sink *sk, struct sink_job *job)
{
	struct pg_pool		*p = sk->impl;
	enum sink_verdict	 v;

	job->next = NULL;
	job->stamp = now_ms();
	pthread_mutex_lock(&p->lock);
	if (p->stopping || atomic_load(&p->nup) == 0)
		v = SINK_RETRY;
	else if (p->queued >= PG_MAX_QUEUE)
		v = SINK_BUSY;
	else {
		if (p->tail != NULL)
			p->tail->next = job;
		else
			p->head = job;
		p->tail = job;
		p->queued++;
		pthread_cond_signal(&p->wake);
		pthread_mutex_unlock(&p->lock);
		return;
	}
	pthread_mutex_unlock(&p->lock);
	sink_job_done(job, v);
}

/* SIGHUP: a connection waiting out its backoff tries again now. */
static void
sink_postgres_reopen(struct sink *sk)
{
	struct pg_pool	*p = sk->impl;

	pthread_mutex_lock(&p->lock);
	p->hup++;
	pthread_cond_broadcast(&p->retry);
	pthread_mutex_unlock(&p->lock);
}

/*
 * Connections store what is queued, then their threads end; whatever no
 * connection could take is answered SINK_RETRY.
 */
static void
sink_postgres_drain(struct sink *sk)
{
	struct pg_pool	*p = sk->impl;
	struct sink_job	*gone;
	size_t		 i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->wake);
	pthread_cond_broadcast(&p->retry);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nconns; i++)
		if (p->conns[i].started) {
			pthread_join(p->conns[i].thread, NULL);
			p->conns[i].started = false;
		}
	pthread_mutex_lock(&p->lock);
	gone = pg_take_all(p);
	pthread_mutex_unlock(&p->lock);
	pg_answer_all(gone, SINK_RETRY);
}

static void
sink_postgres_close(struct sink *sk)
{
	struct pg_pool	*p = sk->impl;

	if (p == NULL)
		return;
	sink_postgres_drain(sk);
	pg_free(p);
	sk->impl = NULL;
}

static bool
sink_postgres_healthy(struct sink *sk)
{
	struct pg_pool	*p = sk->impl;

	return atomic_load(&p->nup) > 0;
}

const struct sink_ops sink_postgres_ops = {
	.kind = "postgres",
	.open = sink_postgres_open,
	.submit = sink_postgres_submit,
	.reopen = sink_postgres_reopen,
	.drain = sink_postgres_drain,
	.close = sink_postgres_close,
	.healthy = sink_postgres_healthy,
};
