/*
 * metrics.c - counters, gauges and histograms, and their Prometheus text.
 *
 * Everything is counted in atomics updated with relaxed order: a request,
 * a sink's verdict and its duration, an exec slot and a dedup hit touch
 * no lock.  Labels that come from the network (report types and statuses)
 * and the reasons of authentication failures live in small tables of
 * label pairs: a pair is looked up without a lock, and a mutex is taken
 * only to add one.  Each table is capped; once full, new pairs are counted
 * under the label value "other", and values too long or not UTF-8 are
 * too.  Durations are kept in whole nanoseconds, so that the sum of a
 * histogram is exact and needs no lock either.
 *
 * The state is made once by metrics_init() from the configuration (sink
 * number i is cfg->sinks[i]); before it and after metrics_fini() every
 * call is a no-op, so modules can count without knowing whether anyone
 * reads.  What the counts mean is up to the callers; how the text reaches
 * a scraper is http.c's business.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "sink.h"
#include "sns.h"
#include "version.h"


#define nitems(a)		(sizeof(a) / sizeof((a)[0]))

#define METRICS_PREFIX		"sinch_webhookd_"
#define METRICS_CODE_MIN	100
#define METRICS_CODE_MAX	599
#define METRICS_VERDICTS	4		/* SINK_OK .. SINK_RETRY */
#define METRICS_REPORT_PAIRS	256		/* (type, status) pairs */
#define METRICS_AUTH_PAIRS	64		/* (reason, grace) pairs */
/* Slots beyond the cap for the pairs that count the rest. */
#define METRICS_OTHER_SLOTS	2
#define METRICS_LABEL_MAX	128		/* bytes in a label value */
#define METRICS_OTHER		"other"
#define SNS_TYPES		3		/* enum sns_type */
/* A longer job (11 days) counts as this long: the sum cannot wrap soon. */
#define METRICS_NS_MAX		1000000000000000ULL

/* The upper bounds of the duration buckets, and +Inf after them. */
static const struct {
	unsigned long long	 ns;
	const char		*le;
} metrics_buckets[] = {
	{ 500000ULL,		"0.0005" },
	{ 1000000ULL,		"0.001" },
	{ 2500000ULL,		"0.0025" },
	{ 5000000ULL,		"0.005" },
	{ 10000000ULL,		"0.01" },
	{ 25000000ULL,		"0.025" },
	{ 50000000ULL,		"0.05" },
	{ 100000000ULL,		"0.1" },
	{ 250000000ULL,		"0.25" },
	{ 500000000ULL,		"0.5" },
	{ 1000000000ULL,	"1" },
	{ 2500000000ULL,	"2.5" },
	{ 5000000000ULL,	"5" },
	{ 10000000000ULL,	"10" },
};

#define METRICS_BUCKETS		(nitems(metrics_buckets) + 1)

/* Reports per postgres batch: 1, 2, 4, ... 1024, then +Inf. */
#define METRICS_ROW_BUCKETS	12

static const char *const metrics_helper_ends[METRICS_HELPER_ENDS] = {
	[METRICS_HELPER_EXITED] = "exited",
	[METRICS_HELPER_TIMEOUT] = "timeout",
	[METRICS_HELPER_PROTOCOL] = "protocol",
	[METRICS_HELPER_SPAWN] = "spawn",
	[METRICS_HELPER_RELOAD] = "reload",
};

static const char *const metrics_verdicts[METRICS_VERDICTS] = {
	[SINK_OK] = "ok",
	[SINK_REJECT] = "reject",
	[SINK_BUSY] = "busy",
	[SINK_RETRY] = "retry",
};

/* What one sink has done. */
struct metrics_sink {
	char			*name;
	bool			 is_exec;
	atomic_ullong		 verdicts[METRICS_VERDICTS];
	/* Not cumulative: observations in (bound i-1, bound i]; +Inf last. */
	atomic_ullong		 buckets[METRICS_BUCKETS];
	atomic_ullong		 sum_ns;
	atomic_int		 exec_slots;
	atomic_int		 queued;
	atomic_ullong		 queue_wait[METRICS_BUCKETS];
	atomic_ullong		 queue_wait_ns;
	atomic_ullong		 dedup_skipped;

	/* kind = "exec", protocol = "lines" */
	bool			 is_lines;
	atomic_int		 helpers;
	atomic_ullong		 helper_ends[METRICS_HELPER_ENDS];

	/* kind = "postgres" */
	bool			 is_postgres;
	atomic_int		 pg_up;
	atomic_int		 pg_busy;
	atomic_ullong		 pg_commit[METRICS_BUCKETS];
	atomic_ullong		 pg_commit_ns;
	atomic_ullong		 pg_rows[METRICS_ROW_BUCKETS];
	atomic_ullong		 pg_rows_sum;
	atomic_ullong		 pg_inserted;
	atomic_ullong		 pg_duplicate;
	atomic_ullong		 pg_connect_failures;
};

/* A label pair and its count; immutable but for n once published. */
struct metrics_pair {
	char			*a;
	char			*b;
	uint32_t		 hash;
	atomic_ullong		 n;
};

/*
 * Pairs v[0..len) are complete: len is stored with release order after
 * the pair, so a reader that loads it with acquire order may read them.
 * Only writers, under lock, add pairs; cap of them come from outside and
 * the METRICS_OTHER_SLOTS after them only count the rest.
 */
struct metrics_pairs {
	struct metrics_pair	*v;
	size_t			 cap;
	atomic_size_t		 len;
	pthread_mutex_t		 lock;
	bool			 warned;	/* under lock */
	const char		*what;		/* for the log */
};

struct metrics {
	unsigned long long	 start_ns;	/* since the epoch */
	atomic_ullong		 requests[METRICS_CODE_MAX -
				    METRICS_CODE_MIN + 1];
	atomic_ullong		 dedup_hits;
	atomic_llong		 connections;
	atomic_ullong		 refused_full;
	atomic_ullong		 refused_address;
	/* The SNS route: answers by message type and code, and fetches. */
	atomic_ullong		 sns[SNS_TYPES][METRICS_CODE_MAX -
				    METRICS_CODE_MIN + 1];
	atomic_ullong		 sns_fetches[2];	/* failed, ok */
	atomic_ullong		 sns_confirms[2];	/* failed, ok */
	struct metrics_pairs	 reports;
	struct metrics_pairs	 auth;
	struct metrics_sink	*sinks;
	size_t			 nsinks;
	bool			 has_sns;
};

static _Atomic(struct metrics *)	metrics_state;

/* The state, or NULL before metrics_init() and after metrics_fini(). */
static struct metrics *
state(void)
{
	return atomic_load_explicit(&metrics_state, memory_order_acquire);
}

static void
count(atomic_ullong *n)
{
	atomic_fetch_add_explicit(n, 1, memory_order_relaxed);
}

static unsigned long long
load(atomic_ullong *n)
{
	return atomic_load_explicit(n, memory_order_relaxed);
}

/* Well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
static bool
is_utf8(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	unsigned int		 c, min;
	int			 more;

	while (*p != '\0') {
		c = *p++;
		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
			c &= 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			c &= 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			c &= 0x07;
			min = 0x10000;
		} else
			return false;
		for (; more > 0; more--, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
			c = c << 6 | (*p & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return false;
	}
	return true;
}

/* A value from outside that may become a label value as it is. */
static bool
label_ok(const char *s)
{
	return strnlen(s, METRICS_LABEL_MAX + 1) <= METRICS_LABEL_MAX &&
	    is_utf8(s);
}

/* FNV-1a over a, a NUL and b. */
static uint32_t
pair_hash(const char *a, const char *b)
{
	uint32_t	 h = 2166136261u;

	for (; *a != '\0'; a++)
		h = (h ^ (unsigned char)*a) * 16777619u;
	h *= 16777619u;
	for (; *b != '\0'; b++)
		h = (h ^ (unsigned char)*b) * 16777619u;
	return h;
}

static struct metrics_pair *
pairs_find(struct metrics_pairs *ps, size_t len, const char *a,
    const char *b, uint32_t hash)
{
	struct metrics_pair	*p;
	size_t			 i;

	for (i = 0; i < len; i++) {
		p = &ps->v[i];
		if (p->hash == hash && strcmp(p->a, a) == 0 &&
		    strcmp(p->b, b) == 0)
			return p;
	}
	return NULL;
}

/*
 * Adds (a, b) under the lock, or when the table is full, finds or adds
 * the pair that counts the rest, (other, ob).  NULL when memory ran out.
 */
static struct metrics_pair *
pairs_add(struct metrics_pairs *ps, const char *a, const char *b,
    const char *ob)
{
	struct metrics_pair	*p;
	size_t			 len;
	uint32_t		 hash = pair_hash(a, b);
	bool			 is_rest;

	pthread_mutex_lock(&ps->lock);
	for (;;) {
		len = atomic_load_explicit(&ps->len, memory_order_relaxed);
		if ((p = pairs_find(ps, len, a, b, hash)) != NULL)
			break;
		is_rest = strcmp(a, METRICS_OTHER) == 0 && strcmp(b, ob) == 0;
		if (len < ps->cap ||
		    (is_rest && len < ps->cap + METRICS_OTHER_SLOTS)) {
			p = &ps->v[len];
			if ((p->a = strdup(a)) == NULL ||
			    (p->b = strdup(b)) == NULL) {
				free(p->a);
				p->a = NULL;
				p = NULL;
				break;
			}
			p->hash = hash;
			atomic_store_explicit(&ps->len, len + 1,
			    memory_order_release);
			break;
		}
		if (!ps->warned) {
			log_warnx("metrics: %zu %s label pairs, counting the "
			    "rest as %s", ps->cap, ps->what, METRICS_OTHER);
			ps->warned = true;
		}
		a = METRICS_OTHER;
		b = ob;
		hash = pair_hash(a, b);
	}
	pthread_mutex_unlock(&ps->lock);
	return p;
}

/*
 * Counts (a, b), or (other, ob) for values that cannot be labels as
 * they are.  Lock-free when the pair was seen before.
 */
static void
pairs_count(struct metrics_pairs *ps, const char *a, const char *b,
    const char *ob)
{
	struct metrics_pair	*p;
	size_t			 len;

	if (!label_ok(a) || !label_ok(b)) {
		a = METRICS_OTHER;
		b = ob;
	}
	len = atomic_load_explicit(&ps->len, memory_order_acquire);
	if ((p = pairs_find(ps, len, a, b, pair_hash(a, b))) == NULL &&
	    (p = pairs_add(ps, a, b, ob)) == NULL)
		return;
	count(&p->n);
}

static int
pairs_init(struct metrics_pairs *ps, size_t cap, const char *what)
{
	ps->v = calloc(cap + METRICS_OTHER_SLOTS, sizeof(*ps->v));
	if (ps->v == NULL)
		return -1;
	if (pthread_mutex_init(&ps->lock, NULL) != 0) {
		free(ps->v);
		ps->v = NULL;
		return -1;
	}
	ps->cap = cap;
	ps->what = what;
	atomic_init(&ps->len, 0);
	return 0;
}

static void
pairs_fini(struct metrics_pairs *ps)
{
	size_t	 i, len;

	if (ps->v == NULL)
		return;
	len = atomic_load_explicit(&ps->len, memory_order_acquire);
	for (i = 0; i < len; i++) {
		free(ps->v[i].a);
		free(ps->v[i].b);
	}
	free(ps->v);
	ps->v = NULL;
	pthread_mutex_destroy(&ps->lock);
}

static void
metrics_free(struct metrics *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	for (i = 0; m->sinks != NULL && i < m->nsinks; i++)
		free(m->sinks[i].name);
	free(m->sinks);
	pairs_fini(&m->reports);
	pairs_fini(&m->auth);
	free(m);
}

int
metrics_init(const struct config *cfg, char *err, size_t errlen)
{
	struct metrics	*m = NULL, *none = NULL;
	struct timespec	 ts;
	size_t		 i;
	int		 ret = -1;

	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (cfg->nsinks > 0 && (m->sinks = calloc(cfg->nsinks,
	    sizeof(*m->sinks))) == NULL)) {
		snprintf(err, errlen, "metrics: %s", strerror(ENOMEM));
		goto done;
	}
	m->nsinks = cfg->nsinks;
	m->has_sns = cfg->has_sns;
	for (i = 0; i < cfg->nsinks; i++) {
		m->sinks[i].is_exec = cfg->sinks[i].kind == SINK_KIND_EXEC;
		m->sinks[i].is_lines = m->sinks[i].is_exec &&
		    cfg->sinks[i].protocol == EXEC_PROTOCOL_LINES;
		m->sinks[i].is_postgres =
		    cfg->sinks[i].kind == SINK_KIND_POSTGRES;
		if ((m->sinks[i].name = strdup(cfg->sinks[i].name)) == NULL) {
			snprintf(err, errlen, "metrics: %s", strerror(ENOMEM));
			goto done;
		}
	}
	if (pairs_init(&m->reports, METRICS_REPORT_PAIRS, "report") == -1 ||
	    pairs_init(&m->auth, METRICS_AUTH_PAIRS, "auth failure") == -1) {
		snprintf(err, errlen, "metrics: unable to make a label table");
		goto done;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	m->start_ns = (unsigned long long)ts.tv_sec * 1000000000ULL +
	    (unsigned long long)ts.tv_nsec;
	if (!atomic_compare_exchange_strong(&metrics_state, &none, m)) {
		snprintf(err, errlen, "metrics: already initialized");
		goto done;
	}
	m = NULL;
	ret = 0;
done:
	metrics_free(m);
	return ret;
}

/* After every other call has returned; a new metrics_init() may follow. */
void
metrics_fini(void)
{
	metrics_free(atomic_exchange(&metrics_state, NULL));
}

void
metrics_request(int status)
{
	struct metrics	*m = state();

	if (m == NULL || status < METRICS_CODE_MIN ||
	    status > METRICS_CODE_MAX)
		return;
	count(&m->requests[status - METRICS_CODE_MIN]);
}

void
metrics_sns_message(int type, int status)
{
	struct metrics	*m = state();

	if (m == NULL || type < 0 || type >= SNS_TYPES ||
	    status < METRICS_CODE_MIN || status > METRICS_CODE_MAX)
		return;
	count(&m->sns[type][status - METRICS_CODE_MIN]);
}

void
metrics_sns_fetch(bool ok)
{
	struct metrics	*m = state();

	if (m != NULL)
		count(&m->sns_fetches[ok]);
}

void
metrics_sns_confirm(bool ok)
{
	struct metrics	*m = state();

	if (m != NULL)
		count(&m->sns_confirms[ok]);
}

/* A NULL status is counted with status="", as are NULL types. */
void
metrics_report(const char *type, const char *status)
{
	struct metrics	*m = state();

	if (m == NULL)
		return;
	pairs_count(&m->reports, type != NULL ? type : "",
	    status != NULL ? status : "", METRICS_OTHER);
}

/* Counts seconds in a histogram over metrics_buckets. */
static void
observe_seconds(atomic_ullong *buckets, atomic_ullong *sum_ns,
    double seconds)
{
	unsigned long long	 ns = 0;
	size_t			 i;

	/* A clock that went back counts as 0; NaN too. */
	if (seconds > 0)
		ns = seconds >= METRICS_NS_MAX / 1e9 ? METRICS_NS_MAX :
		    (unsigned long long)(seconds * 1e9 + 0.5);
	for (i = 0; i < nitems(metrics_buckets); i++)
		if (ns <= metrics_buckets[i].ns)
			break;
	count(&buckets[i]);
	atomic_fetch_add_explicit(sum_ns, ns, memory_order_relaxed);
}

void
metrics_sink(size_t sink, enum sink_verdict v, double seconds)
{
	struct metrics		*m = state();
	struct metrics_sink	*s;

	if (m == NULL || sink >= m->nsinks || (unsigned int)v >=
	    METRICS_VERDICTS)
		return;
	s = &m->sinks[sink];
	count(&s->verdicts[v]);
	observe_seconds(s->buckets, &s->sum_ns, seconds);
}

void
metrics_pg_connections(size_t sink, int up, int busy)
{
	struct metrics	*m = state();

	if (m == NULL || sink >= m->nsinks)
		return;
	atomic_fetch_add_explicit(&m->sinks[sink].pg_up, up,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&m->sinks[sink].pg_busy, busy,
	    memory_order_relaxed);
}

void
metrics_pg_batch(size_t sink, size_t rows, size_t inserted, double seconds)
{
	struct metrics		*m = state();
	struct metrics_sink	*s;
	size_t			 i, bound;

	if (m == NULL || sink >= m->nsinks)
		return;
	s = &m->sinks[sink];
	observe_seconds(s->pg_commit, &s->pg_commit_ns, seconds);
	for (i = 0, bound = 1; i < METRICS_ROW_BUCKETS - 1 && rows > bound;
	    i++, bound *= 2)
		;
	count(&s->pg_rows[i]);
	atomic_fetch_add_explicit(&s->pg_rows_sum, rows,
	    memory_order_relaxed);
	if (inserted > rows)
		inserted = rows;
	atomic_fetch_add_explicit(&s->pg_inserted, inserted,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&s->pg_duplicate, rows - inserted,
	    memory_order_relaxed);
}

void
metrics_pg_connect_failure(size_t sink)
{
	struct metrics	*m = state();

	if (m != NULL && sink < m->nsinks)
		count(&m->sinks[sink].pg_connect_failures);
}

void
metrics_exec_slots(size_t sink, int delta)
{
	struct metrics	*m = state();

	if (m == NULL || sink >= m->nsinks)
		return;
	atomic_fetch_add_explicit(&m->sinks[sink].exec_slots, delta,
	    memory_order_relaxed);
}

void
metrics_sink_queued(size_t sink, int delta)
{
	struct metrics	*m = state();

	if (m == NULL || sink >= m->nsinks)
		return;
	atomic_fetch_add_explicit(&m->sinks[sink].queued, delta,
	    memory_order_relaxed);
}

void
metrics_sink_queue_wait(size_t sink, double seconds)
{
	struct metrics	*m = state();

	if (m == NULL || sink >= m->nsinks)
		return;
	observe_seconds(m->sinks[sink].queue_wait,
	    &m->sinks[sink].queue_wait_ns, seconds);
}

void
metrics_exec_helpers(size_t sink, int delta)
{
	struct metrics	*m = state();

	if (m == NULL || sink >= m->nsinks)
		return;
	atomic_fetch_add_explicit(&m->sinks[sink].helpers, delta,
	    memory_order_relaxed);
}

void
metrics_exec_helper_end(size_t sink, enum metrics_helper_end why)
{
	struct metrics	*m = state();

	if (m == NULL || sink >= m->nsinks ||
	    (unsigned int)why >= METRICS_HELPER_ENDS)
		return;
	count(&m->sinks[sink].helper_ends[why]);
}

void
metrics_dedup_skip(size_t sink)
{
	struct metrics	*m = state();

	if (m == NULL || sink >= m->nsinks)
		return;
	count(&m->sinks[sink].dedup_skipped);
}

void
metrics_dedup_hit(void)
{
	struct metrics	*m = state();

	if (m != NULL)
		count(&m->dedup_hits);
}

void
metrics_auth_failure(const char *reason, bool in_grace)
{
	struct metrics	*m = state();
	const char	*grace = in_grace ? "true" : "false";

	if (m == NULL)
		return;
	pairs_count(&m->auth, reason != NULL ? reason : "", grace, grace);
}

void
metrics_connections(int delta)
{
	struct metrics	*m = state();

	if (m != NULL)
		atomic_fetch_add_explicit(&m->connections, delta,
		    memory_order_relaxed);
}

void
metrics_connection_refused(bool table_full)
{
	struct metrics	*m = state();

	if (m != NULL)
		count(table_full ? &m->refused_full : &m->refused_address);
}

/* A label value, escaped as the text format wants: \\, \" and \n. */
static int
put_value(struct buf *out, const char *s)
{
	size_t	 n;

	for (;;) {
		n = strcspn(s, "\\\"\n");
		if (buf_append(out, s, n) == -1)
			return -1;
		s += n;
		if (*s == '\0')
			return 0;
		if (buf_append(out, *s == '\n' ? "\\n" : *s == '"' ? "\\\"" :
		    "\\\\", 2) == -1)
			return -1;
		s++;
	}
}

/* name{k1="v1"[,k2="v2"]} (no braces without labels) */
static int
put_sample(struct buf *out, const char *name, const char *k1,
    const char *v1, const char *k2, const char *v2)
{
	if (buf_printf(out, METRICS_PREFIX "%s", name) == -1)
		return -1;
	if (k1 == NULL)
		return buf_putc(out, ' ');
	if (buf_printf(out, "{%s=\"", k1) == -1 || put_value(out, v1) == -1)
		return -1;
	if (k2 != NULL && (buf_printf(out, "\",%s=\"", k2) == -1 ||
	    put_value(out, v2) == -1))
		return -1;
	return buf_puts(out, "\"} ");
}

/* Whole nanoseconds as decimal seconds, exactly: "0.0015", "2", "0". */
static int
put_seconds(struct buf *out, unsigned long long ns)
{
	char	 frac[16];
	size_t	 n;

	if (ns % 1000000000ULL == 0)
		return buf_printf(out, "%llu\n", ns / 1000000000ULL);
	snprintf(frac, sizeof(frac), "%09llu", ns % 1000000000ULL);
	for (n = strlen(frac); n > 0 && frac[n - 1] == '0'; n--)
		frac[n - 1] = '\0';
	return buf_printf(out, "%llu.%s\n", ns / 1000000000ULL, frac);
}

static int
put_family(struct buf *out, const char *name, const char *type,
    const char *help)
{
	return buf_printf(out, "# HELP " METRICS_PREFIX "%s %s\n"
	    "# TYPE " METRICS_PREFIX "%s %s\n", name, help, name, type);
}

static int
render_requests(struct buf *out, struct metrics *m)
{
	unsigned long long	 n;
	char			 code[8];
	size_t			 i;

	if (put_family(out, "requests_total", "counter",
	    "Requests answered, by HTTP status code.") == -1)
		return -1;
	for (i = 0; i < nitems(m->requests); i++) {
		if ((n = load(&m->requests[i])) == 0)
			continue;
		snprintf(code, sizeof(code), "%zu", i + METRICS_CODE_MIN);
		if (put_sample(out, "requests_total", "code", code, NULL,
		    NULL) == -1 || buf_printf(out, "%llu\n", n) == -1)
			return -1;
	}
	return 0;
}

/* A counter of failures and successes: [0] failed, [1] ok. */
static int
render_results(struct buf *out, const char *name, const char *help,
    atomic_ullong n[2])
{
	static const char *const results[2] = { "failed", "ok" };
	size_t			 i;

	if (put_family(out, name, "counter", help) == -1)
		return -1;
	for (i = 0; i < 2; i++)
		if (put_sample(out, name, "result", results[i], NULL,
		    NULL) == -1 || buf_printf(out, "%llu\n", load(&n[i])) == -1)
			return -1;
	return 0;
}

static int
render_sns(struct buf *out, struct metrics *m)
{
	unsigned long long	 n;
	char			 code[8];
	size_t			 i;
	int			 t;

	if (put_family(out, "sns_messages_total", "counter",
	    "Requests answered on the SNS route, by message type and HTTP "
	    "status code.") == -1)
		return -1;
	for (t = 0; t < SNS_TYPES; t++)
		for (i = 0; i < nitems(m->sns[t]); i++) {
			if ((n = load(&m->sns[t][i])) == 0)
				continue;
			snprintf(code, sizeof(code), "%zu",
			    i + METRICS_CODE_MIN);
			if (put_sample(out, "sns_messages_total", "type",
			    sns_type_name((enum sns_type)t), "code",
			    code) == -1 || buf_printf(out, "%llu\n", n) == -1)
				return -1;
		}
	return render_results(out, "sns_certificate_fetches_total",
	    "SNS signing certificates fetched (or read from sns.cert_dir), "
	    "by result.", m->sns_fetches) == -1 ||
	    render_results(out, "sns_confirmations_total",
	    "SNS subscriptions confirmed by a GET of their SubscribeURL, by "
	    "result.", m->sns_confirms) == -1 ? -1 : 0;
}

static int
render_connections(struct buf *out, struct metrics *m)
{
	if (put_family(out, "connections_open", "gauge",
	    "Connections open on the callback listener.") == -1 ||
	    put_sample(out, "connections_open", NULL, NULL, NULL,
	    NULL) == -1 || buf_printf(out, "%lld\n",
	    atomic_load_explicit(&m->connections, memory_order_relaxed)) == -1)
		return -1;
	if (put_family(out, "connections_refused_total", "counter",
	    "New connections closed unserved: the connection table was full "
	    "(limits.max_connections), or its address had its share "
	    "(limits.max_connections_per_address).") == -1 ||
	    put_sample(out, "connections_refused_total", "reason",
	    "table_full", NULL, NULL) == -1 ||
	    buf_printf(out, "%llu\n", load(&m->refused_full)) == -1 ||
	    put_sample(out, "connections_refused_total", "reason",
	    "per_address", NULL, NULL) == -1 ||
	    buf_printf(out, "%llu\n", load(&m->refused_address)) == -1)
		return -1;
	return 0;
}

static int
render_pairs(struct buf *out, struct metrics_pairs *ps, const char *name,
    const char *ka, const char *kb)
{
	struct metrics_pair	*p;
	size_t			 i, len;

	len = atomic_load_explicit(&ps->len, memory_order_acquire);
	for (i = 0; i < len; i++) {
		p = &ps->v[i];
		if (put_sample(out, name, ka, p->a, kb, p->b) == -1 ||
		    buf_printf(out, "%llu\n", load(&p->n)) == -1)
			return -1;
	}
	return 0;
}

static int
render_deliveries(struct buf *out, struct metrics *m)
{
	size_t	 i, v;

	if (put_family(out, "sink_deliveries_total", "counter",
	    "Jobs finished by each sink, by verdict.") == -1)
		return -1;
	for (i = 0; i < m->nsinks; i++)
		for (v = 0; v < METRICS_VERDICTS; v++)
			if (put_sample(out, "sink_deliveries_total", "sink",
			    m->sinks[i].name, "verdict",
			    metrics_verdicts[v]) == -1 ||
			    buf_printf(out, "%llu\n",
			    load(&m->sinks[i].verdicts[v])) == -1)
				return -1;
	return 0;
}

/*
 * The buckets are read once each, and _count is their total, so that
 * _count always equals the +Inf bucket.  _sum is read apart and may lag
 * or lead them by the jobs finishing meanwhile.
 */
/*
 * One histogram over metrics_buckets, for the sink named sink: each bucket
 * read once, and _count their total.
 */
static int
render_seconds(struct buf *out, const char *name, const char *sink,
    atomic_ullong *buckets, atomic_ullong *sum_ns)
{
	unsigned long long	 total = 0;
	const char		*le;
	char			 metric[64];
	size_t			 b;

	for (b = 0; b < METRICS_BUCKETS; b++) {
		le = b < nitems(metrics_buckets) ?
		    metrics_buckets[b].le : "+Inf";
		total += load(&buckets[b]);
		snprintf(metric, sizeof(metric), "%s_bucket", name);
		if (put_sample(out, metric, "sink", sink, "le", le) == -1 ||
		    buf_printf(out, "%llu\n", total) == -1)
			return -1;
	}
	snprintf(metric, sizeof(metric), "%s_sum", name);
	if (put_sample(out, metric, "sink", sink, NULL, NULL) == -1 ||
	    put_seconds(out, load(sum_ns)) == -1)
		return -1;
	snprintf(metric, sizeof(metric), "%s_count", name);
	if (put_sample(out, metric, "sink", sink, NULL, NULL) == -1 ||
	    buf_printf(out, "%llu\n", total) == -1)
		return -1;
	return 0;
}

/*
 * The buckets are read once each, and _count is their total, so that
 * _count always equals the +Inf bucket.  _sum is read apart and may lag
 * or lead them by the jobs finishing meanwhile.
 */
static int
render_durations(struct buf *out, struct metrics *m)
{
	size_t	 i;

	if (put_family(out, "sink_duration_seconds", "histogram",
	    "Time each sink took to finish a job.") == -1)
		return -1;
	for (i = 0; i < m->nsinks; i++)
		if (render_seconds(out, "sink_duration_seconds",
		    m->sinks[i].name, m->sinks[i].buckets,
		    &m->sinks[i].sum_ns) == -1)
			return -1;
	return 0;
}

static int
render_pg_rows(struct buf *out, struct metrics_sink *s)
{
	unsigned long long	 total = 0;
	char			 le[16];
	size_t			 b;

	for (b = 0; b < METRICS_ROW_BUCKETS; b++) {
		if (b + 1 < METRICS_ROW_BUCKETS)
			snprintf(le, sizeof(le), "%u", 1U << b);
		else
			snprintf(le, sizeof(le), "+Inf");
		total += load(&s->pg_rows[b]);
		if (put_sample(out, "postgres_batch_rows_bucket", "sink",
		    s->name, "le", le) == -1 || buf_printf(out, "%llu\n",
		    total) == -1)
			return -1;
	}
	if (put_sample(out, "postgres_batch_rows_sum", "sink", s->name, NULL,
	    NULL) == -1 || buf_printf(out, "%llu\n", load(&s->pg_rows_sum)) == -1 ||
	    put_sample(out, "postgres_batch_rows_count", "sink", s->name,
	    NULL, NULL) == -1 || buf_printf(out, "%llu\n", total) == -1)
		return -1;
	return 0;
}

/* The families of the postgres sinks; nothing when there is none. */
static int
render_postgres(struct buf *out, struct metrics *m)
{
	struct metrics_sink	*s;
	size_t			 i;
	bool			 any = false;

	for (i = 0; i < m->nsinks; i++)
		any |= m->sinks[i].is_postgres;
	if (!any)
		return 0;
	if (put_family(out, "postgres_connections", "gauge",
	    "Connections of each postgres sink: up, and of those busy "
	    "storing a batch.") == -1)
		return -1;
	for (i = 0; i < m->nsinks; i++) {
		s = &m->sinks[i];
		if (s->is_postgres && (put_sample(out, "postgres_connections",
		    "sink", s->name, "state", "up") == -1 || buf_printf(out, "%d\n",
		    atomic_load(&s->pg_up)) == -1 || put_sample(out,
		    "postgres_connections", "sink", s->name, "state",
		    "busy") == -1 || buf_printf(out, "%d\n",
		    atomic_load(&s->pg_busy)) == -1))
			return -1;
	}
	if (put_family(out, "postgres_commit_seconds", "histogram",
	    "Time from sending a batch to its commit.") == -1)
		return -1;
	for (i = 0; i < m->nsinks; i++)
		if (m->sinks[i].is_postgres && render_seconds(out,
		    "postgres_commit_seconds", m->sinks[i].name,
		    m->sinks[i].pg_commit, &m->sinks[i].pg_commit_ns) == -1)
			return -1;
	if (put_family(out, "postgres_batch_rows", "histogram",
	    "Reports in each committed batch.") == -1)
		return -1;
	for (i = 0; i < m->nsinks; i++)
		if (m->sinks[i].is_postgres &&
		    render_pg_rows(out, &m->sinks[i]) == -1)
			return -1;
	if (put_family(out, "postgres_rows_total", "counter",
	    "Reports committed: stored, or already in the table.") == -1)
		return -1;
	for (i = 0; i < m->nsinks; i++) {
		s = &m->sinks[i];
		if (s->is_postgres && (put_sample(out, "postgres_rows_total",
		    "sink", s->name, "result", "inserted") == -1 ||
		    buf_printf(out, "%llu\n", load(&s->pg_inserted)) == -1 ||
		    put_sample(out, "postgres_rows_total", "sink", s->name,
		    "result", "duplicate") == -1 || buf_printf(out, "%llu\n",
		    load(&s->pg_duplicate)) == -1))
			return -1;
	}
	if (put_family(out, "postgres_connect_failures_total", "counter",
	    "Attempts to connect that failed.") == -1)
		return -1;
	for (i = 0; i < m->nsinks; i++)
		if (m->sinks[i].is_postgres && (put_sample(out,
		    "postgres_connect_failures_total", "sink",
		    m->sinks[i].name, NULL, NULL) == -1 || buf_printf(out,
		    "%llu\n", load(&m->sinks[i].pg_connect_failures)) == -1))
			return -1;
	return 0;
}

/* One sample of a sink's gauge. */
static int
put_gauge(struct buf *out, const char *name, const char *sink,
    atomic_int *v)
{
	if (put_sample(out, name, "sink", sink, NULL, NULL) == -1 ||
	    buf_printf(out, "%d\n", atomic_load_explicit(v,
	    memory_order_relaxed)) == -1)
		return -1;
	return 0;
}

/* The families of the exec sinks: slots, their queue and helpers. */
static int
render_exec(struct buf *out, struct metrics *m)
{
	struct metrics_sink	*s;
	size_t			 i, w;
	bool			 lines = false;

	if (put_family(out, "exec_slots_in_use", "gauge",
	    "Programs of each exec sink running now.") == -1)
		return -1;
	for (i = 0; i < m->nsinks; i++)
		if (m->sinks[i].is_exec && put_gauge(out, "exec_slots_in_use",
		    m->sinks[i].name, &m->sinks[i].exec_slots) == -1)
			return -1;
	if (put_family(out, "sink_queued", "gauge",
	    "Reports waiting for a free slot of each exec sink.") == -1)
		return -1;
	for (i = 0; i < m->nsinks; i++)
		if (m->sinks[i].is_exec && put_gauge(out, "sink_queued",
		    m->sinks[i].name, &m->sinks[i].queued) == -1)
			return -1;
	if (put_family(out, "sink_queue_wait_seconds", "histogram",
	    "Time each report waited for a free slot.") == -1)
		return -1;
	for (i = 0; i < m->nsinks; i++) {
		s = &m->sinks[i];
		if (s->is_exec && render_seconds(out, "sink_queue_wait_seconds",
		    s->name, s->queue_wait, &s->queue_wait_ns) == -1)
			return -1;
		lines |= s->is_lines;
	}
	if (!lines)
		return 0;
	if (put_family(out, "exec_helpers_running", "gauge",
	    "Helpers of each exec sink with protocol \"lines\" running "
	    "now.") == -1)
		return -1;
	for (i = 0; i < m->nsinks; i++)
		if (m->sinks[i].is_lines && put_gauge(out,
		    "exec_helpers_running", m->sinks[i].name,
		    &m->sinks[i].helpers) == -1)
			return -1;
	if (put_family(out, "exec_helper_restarts_total", "counter",
	    "Helpers ended and started again, by why.") == -1)
		return -1;
	for (i = 0; i < m->nsinks; i++) {
		s = &m->sinks[i];
		for (w = 0; s->is_lines && w < METRICS_HELPER_ENDS; w++)
			if (put_sample(out, "exec_helper_restarts_total", "sink",
			    s->name, "reason", metrics_helper_ends[w]) == -1 ||
			    buf_printf(out, "%llu\n",
			    load(&s->helper_ends[w])) == -1)
				return -1;
	}
	return 0;
}

static int
render_sinks(struct buf *out, struct metrics *m)
{
	size_t	 i;

	if (render_deliveries(out, m) == -1 ||
	    render_durations(out, m) == -1 || render_postgres(out, m) == -1 ||
	    render_exec(out, m) == -1)
		return -1;
	if (put_family(out, "dedup_skipped_total", "counter",
	    "Reports not given to a sink that had already taken the same "
	    "bytes.") == -1)
		return -1;
	for (i = 0; i < m->nsinks; i++)
		if (put_sample(out, "dedup_skipped_total", "sink",
		    m->sinks[i].name, NULL, NULL) == -1 ||
		    buf_printf(out, "%llu\n", load(&m->sinks[i].dedup_skipped)) == -1)
			return -1;
	return 0;
}

static int
render(struct buf *out, struct metrics *m)
{
	if (put_family(out, "build_info", "gauge",
	    "The version of sinch-webhookd, as a label; always 1.") == -1 ||
	    put_sample(out, "build_info", "version", VERSION, NULL,
	    NULL) == -1 || buf_puts(out, "1\n") == -1)
		return -1;
	if (put_family(out, "start_time_seconds", "gauge",
	    "When the daemon started, in seconds since the epoch.") == -1 ||
	    put_sample(out, "start_time_seconds", NULL, NULL, NULL,
	    NULL) == -1 || put_seconds(out, m->start_ns) == -1)
		return -1;
	if (render_requests(out, m) == -1 || render_connections(out, m) == -1)
		return -1;
	if (m->has_sns && render_sns(out, m) == -1)
		return -1;
	if (put_family(out, "reports_total", "counter",
	    "Reports decoded, by type and status (empty for reports without "
	    "one).") == -1 ||
	    render_pairs(out, &m->reports, "reports_total", "type",
	    "status") == -1)
		return -1;
	if (render_sinks(out, m) == -1)
		return -1;
	if (put_family(out, "dedup_retries_total", "counter",
	    "Requests answered without any delivery: every required sink "
	    "had the bytes already.") == -1 ||
	    put_sample(out, "dedup_retries_total", NULL, NULL, NULL,
	    NULL) == -1 || buf_printf(out, "%llu\n", load(&m->dedup_hits)) == -1)
		return -1;
	if (put_family(out, "auth_failures_total", "counter",
	    "Authentication checks failed, by reason and whether the grace "
	    "period turned them into 503.") == -1 ||
	    render_pairs(out, &m->auth, "auth_failures_total", "reason",
	    "grace") == -1)
		return -1;
	return 0;
}

/*
 * Appends the whole text, or nothing: on failure (-1, out of memory) out
 * is as it was.  Before metrics_init() the text is empty.
 */
int
metrics_render(struct buf *out)
{
	struct metrics	*m = state();
	size_t		 start = out->len;
	int		 ret = 0;

	if (m != NULL && render(out, m) == -1) {
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
		ret = -1;
	}
	return ret;
}
