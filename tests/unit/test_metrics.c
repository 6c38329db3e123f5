/*
 * test_metrics.c - the Prometheus text after known counts: exact sample
 * lines, cumulative buckets with their sum and count, label escaping, the
 * cap on label pairs from the network, and exact totals when threads
 * count at once.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "fixture.h"
#include "metrics.h"
#include "sink.h"

#ifndef VERSION
#define VERSION		"0.1.0"
#endif

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

#define P		"sinch_webhookd_"
#define THREADS		4
#define ROUNDS		100000

/* Sink 0 is a file, sink 1 an exec, sink 2 a stdout. */
static struct sink_config	sinks[] = {
	{ .name = "log", .kind = SINK_KIND_FILE, .required = true },
	{ .name = "hook", .kind = SINK_KIND_EXEC, .required = true },
	{ .name = "console", .kind = SINK_KIND_STDOUT },
};

static struct config		cfg = {
	.sinks = sinks,
	.nsinks = nitems(sinks),
};

static const char *const families[][2] = {
	{ "build_info", "gauge" },
	{ "start_time_seconds", "gauge" },
	{ "requests_total", "counter" },
	{ "connections_open", "gauge" },
	{ "connections_refused_total", "counter" },
	{ "reports_total", "counter" },
	{ "sink_deliveries_total", "counter" },
	{ "sink_duration_seconds", "histogram" },
	{ "exec_slots_in_use", "gauge" },
	{ "sink_queued", "gauge" },
	{ "sink_queue_wait_seconds", "histogram" },
	{ "dedup_skipped_total", "counter" },
	{ "dedup_retries_total", "counter" },
	{ "auth_failures_total", "counter" },
};

static void
setup(void)
{
	char	 err[128] = "";

	ck_assert_msg(metrics_init(&cfg, err, sizeof(err)) == 0, "%s", err);
}

static void
teardown(void)
{
	metrics_fini();
}

/* The whole text, NUL-terminated; the caller frees it. */
static struct buf *
render(void)
{
	struct buf	*b;

	ck_assert_ptr_nonnull(b = buf_new(0));
	ck_assert_int_eq(metrics_render(b), 0);
	ck_assert_int_eq(buf_reserve(b, 0), 0);
	return b;
}

/* How many lines of text are exactly line. */
static size_t
count_lines(const char *text, const char *line)
{
	const char	*p, *end;
	size_t		 n = 0, len = strlen(line);

	for (p = text; *p != '\0'; p = *end == '\n' ? end + 1 : end) {
		end = p + strcspn(p, "\n");
		if ((size_t)(end - p) == len && memcmp(p, line, len) == 0)
			n++;
	}
	return n;
}

/* How many lines of text start with prefix. */
static size_t
count_prefix(const char *text, const char *prefix)
{
	const char	*p, *end;
	size_t		 n = 0, len = strlen(prefix);

	for (p = text; *p != '\0'; p = *end == '\n' ? end + 1 : end) {
		end = p + strcspn(p, "\n");
		if ((size_t)(end - p) >= len && memcmp(p, prefix, len) == 0)
			n++;
	}
	return n;
}

/* The text holds line exactly once. */
static void
expect_line(const char *text, const char *line)
{
	size_t	 n = count_lines(text, line);

	ck_assert_msg(n == 1, "%zu lines '%s' in:\n%s", n, line, text);
}

static void
expect_linef(const char *text, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
expect_linef(const char *text, const char *fmt, ...)
{
	char	 line[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	expect_line(text, line);
}

static void
expect_no_prefix(const char *text, const char *prefix)
{
	size_t	 n = count_prefix(text, prefix);

	ck_assert_msg(n == 0, "%zu lines start '%s' in:\n%s", n, prefix,
	    text);
}

START_TEST(test_metrics_families)
{
	struct buf	*b = render();
	char		 line[256];
	const char	*p, *end, *name;
	size_t		 i, j, len;
	bool		 known;

	/* HELP and TYPE once per family, the TYPE as documented. */
	for (i = 0; i < nitems(families); i++) {
		snprintf(line, sizeof(line), "# HELP " P "%s ",
		    families[i][0]);
		ck_assert_uint_eq(count_prefix(b->data, line), 1);
		snprintf(line, sizeof(line), "# TYPE " P "%s %s",
		    families[i][0], families[i][1]);
		expect_line(b->data, line);
	}
	ck_assert_uint_eq(count_prefix(b->data, "# HELP "), nitems(families));
	ck_assert_uint_eq(count_prefix(b->data, "# TYPE "), nitems(families));

	/* Every sample belongs to a family, and every line ends. */
	ck_assert(b->len > 0 && b->data[b->len - 1] == '\n');
	for (p = b->data; *p != '\0'; p = end + 1) {
		end = p + strcspn(p, "\n");
		if (*p == '#')
			continue;
		ck_assert_msg(strncmp(p, P, strlen(P)) == 0, "line %.*s",
		    (int)(end - p), p);
		known = false;
		for (j = 0; j < nitems(families) && !known; j++) {
			name = families[j][0];
			len = strlen(name);
			known = strncmp(p + strlen(P), name, len) == 0 &&
			    strchr("{ _", p[strlen(P) + len]) != NULL;
		}
		ck_assert_msg(known, "line of no family: %.*s",
		    (int)(end - p), p);
	}

	expect_line(b->data, P "build_info{version=\"" VERSION "\"} 1");
	buf_free(b);
}
END_TEST

START_TEST(test_metrics_start_time)
{
	struct buf	*b = render();
	const char	*p;
	double		 t;
	time_t		 now = time(NULL);

	p = strstr(b->data, "\n" P "start_time_seconds ");
	ck_assert_ptr_nonnull(p);
	t = strtod(p + strlen("\n" P "start_time_seconds "), NULL);
	ck_assert_msg(t > (double)now - 60 && t <= (double)now + 1,
	    "start %f, now %lld", t, (long long)now);
	buf_free(b);
}
END_TEST

/* Before any count: no sample of an open label set, zeros elsewhere. */
START_TEST(test_metrics_zero)
{
	struct buf	*b = render();

	expect_no_prefix(b->data, P "requests_total{");
	expect_no_prefix(b->data, P "reports_total{");
	expect_no_prefix(b->data, P "auth_failures_total{");
	expect_line(b->data, P "sink_deliveries_total{sink=\"log\","
	    "verdict=\"ok\"} 0");
	expect_line(b->data, P "sink_deliveries_total{sink=\"console\","
	    "verdict=\"retry\"} 0");
	expect_line(b->data, P "sink_duration_seconds_bucket{sink=\"hook\","
	    "le=\"+Inf\"} 0");
	expect_line(b->data, P "sink_duration_seconds_sum{sink=\"hook\"} 0");
	expect_line(b->data, P "sink_duration_seconds_count{sink=\"hook\"} 0");
	expect_line(b->data, P "exec_slots_in_use{sink=\"hook\"} 0");
	expect_line(b->data, P "dedup_skipped_total{sink=\"console\"} 0");
	expect_line(b->data, P "dedup_retries_total 0");
	expect_line(b->data, P "connections_open 0");
	expect_line(b->data, P "connections_refused_total{reason="
	    "\"table_full\"} 0");
	expect_line(b->data, P "connections_refused_total{reason="
	    "\"per_address\"} 0");
	buf_free(b);
}
END_TEST

START_TEST(test_metrics_connections)
{
	struct buf	*b;
	int		 i;

	for (i = 0; i < 5; i++)
		metrics_connections(1);
	metrics_connections(-1);
	metrics_connection_refused(true);
	for (i = 0; i < 3; i++)
		metrics_connection_refused(false);
	b = render();
	expect_line(b->data, P "connections_open 4");
	expect_line(b->data, P "connections_refused_total{reason="
	    "\"table_full\"} 1");
	expect_line(b->data, P "connections_refused_total{reason="
	    "\"per_address\"} 3");
	buf_free(b);
}
END_TEST

START_TEST(test_metrics_requests)
{
	struct buf	*b;
	int		 i;

	for (i = 0; i < 3; i++)
		metrics_request(200);
	metrics_request(400);
	metrics_request(404);
	metrics_request(404);
	metrics_request(100);
	metrics_request(599);
	/* Not HTTP status codes: not counted. */
	metrics_request(99);
	metrics_request(600);
	metrics_request(-1);
	b = render();
	expect_line(b->data, P "requests_total{code=\"200\"} 3");
	expect_line(b->data, P "requests_total{code=\"400\"} 1");
	expect_line(b->data, P "requests_total{code=\"404\"} 2");
	expect_line(b->data, P "requests_total{code=\"100\"} 1");
	expect_line(b->data, P "requests_total{code=\"599\"} 1");
	ck_assert_uint_eq(count_prefix(b->data, P "requests_total{"), 5);
	buf_free(b);
}
END_TEST

START_TEST(test_metrics_reports)
{
	struct buf	*b;

	metrics_report("recipient_delivery_report_sms", "Delivered");
	metrics_report("recipient_delivery_report_sms", "Delivered");
	metrics_report("recipient_delivery_report_sms", "Failed");
	metrics_report("recipient_delivery_report_mms", "Delivered");
	metrics_report("delivery_report_sms", NULL);
	metrics_report("mo_text", NULL);
	metrics_report("mo_text", NULL);
	b = render();
	expect_line(b->data, P "reports_total{type=\"recipient_delivery_"
	    "report_sms\",status=\"Delivered\"} 2");
	expect_line(b->data, P "reports_total{type=\"recipient_delivery_"
	    "report_sms\",status=\"Failed\"} 1");
	expect_line(b->data, P "reports_total{type=\"recipient_delivery_"
	    "report_mms\",status=\"Delivered\"} 1");
	expect_line(b->data, P "reports_total{type=\"delivery_report_sms\","
	    "status=\"\"} 1");
	expect_line(b->data, P "reports_total{type=\"mo_text\","
	    "status=\"\"} 2");
	ck_assert_uint_eq(count_prefix(b->data, P "reports_total{"), 5);
	buf_free(b);
}
END_TEST

START_TEST(test_metrics_escaping)
{
	struct buf	*b;

	metrics_report("a\"b\\c\nd", "\\");
	metrics_report("caf\xc3\xa9", "\"\"");
	metrics_auth_failure("line\nbreak", false);
	b = render();
	expect_line(b->data, P "reports_total{type=\"a\\\"b\\\\c\\nd\","
	    "status=\"\\\\\"} 1");
	/* UTF-8 goes as it is. */
	expect_line(b->data, P "reports_total{type=\"caf\xc3\xa9\","
	    "status=\"\\\"\\\"\"} 1");
	expect_line(b->data, P "auth_failures_total{reason=\"line\\nbreak\","
	    "grace=\"false\"} 1");
	buf_free(b);
}
END_TEST

/*
 * 256 pairs from the network at most; the rest, and values that are too
 * long or not UTF-8, are counted as other/other, in one series even when
 * the network itself sent type "other" and status "other".
 */
START_TEST(test_metrics_report_cap)
{
	struct buf	*b;
	char		 type[32], longer[130];
	int		 i;

	metrics_report("other", "other");
	for (i = 0; i < 300; i++) {
		snprintf(type, sizeof(type), "t%03d", i);
		metrics_report(type, "Delivered");
		metrics_report(type, "Delivered");
	}
	/* Seen before the cap: still counted as itself. */
	metrics_report("t000", "Delivered");
	memset(longer, 'x', 128);
	longer[128] = '\0';
	metrics_report(longer, NULL);		/* 128 bytes: past the cap */
	longer[128] = 'x';
	longer[129] = '\0';
	metrics_report("t000", longer);		/* 129 bytes */
	metrics_report("bad\xc3(", "Delivered");
	metrics_report("t000", "\xed\xa0\x80");	/* a surrogate */
	metrics_report("t000", "\xc0\xaf");	/* overlong '/' */
	b = render();
	ck_assert_uint_eq(count_prefix(b->data, P "reports_total{"), 256);
	expect_line(b->data, P "reports_total{type=\"t000\","
	    "status=\"Delivered\"} 3");
	expect_line(b->data, P "reports_total{type=\"t254\","
	    "status=\"Delivered\"} 2");
	expect_no_prefix(b->data, P "reports_total{type=\"t255\"");
	/*
	 * The pair sent as other/other took a place of its own, so t255 on
	 * are the rest: 1 sent as such, 45 pairs twice, 128 bytes (a label,
	 * but too late), 129 bytes, 3 not UTF-8.
	 */
	expect_linef(b->data, P "reports_total{type=\"other\","
	    "status=\"other\"} %d", 1 + 45 * 2 + 1 + 1 + 3);
	buf_free(b);

	/* Below the cap, values of 128 bytes are labels. */
	metrics_fini();
	setup();
	longer[128] = '\0';
	metrics_report(longer, NULL);
	b = render();
	expect_linef(b->data, P "reports_total{type=\"%s\",status=\"\"} 1",
	    longer);
	buf_free(b);
}
END_TEST

START_TEST(test_metrics_histogram)
{
	static const struct {
		const char	*le;
		int		 n;
	} want[] = {
		{ "0.0005", 1 }, { "0.001", 2 }, { "0.0025", 2 },
		{ "0.005", 2 }, { "0.01", 2 }, { "0.025", 2 }, { "0.05", 2 },
		{ "0.1", 2 }, { "0.25", 3 }, { "0.5", 3 }, { "1", 3 },
		{ "2.5", 3 }, { "5", 3 }, { "10", 3 }, { "+Inf", 4 },
	};
	struct buf	*b;
	size_t		 i;

	metrics_sink(0, SINK_OK, 0.0003);
	metrics_sink(0, SINK_OK, 0.001);	/* on a bound: le */
	metrics_sink(0, SINK_RETRY, 0.2);
	metrics_sink(0, SINK_BUSY, 20);		/* beyond 10: +Inf only */
	metrics_sink(1, SINK_REJECT, -1);	/* a clock going back: 0 */
	metrics_sink(2, SINK_OK, 1.5);
	/* Neither sink 3 nor verdict 4 exists. */
	metrics_sink(3, SINK_OK, 1);
	metrics_sink(0, (enum sink_verdict)4, 1);
	b = render();
	for (i = 0; i < nitems(want); i++)
		expect_linef(b->data, P "sink_duration_seconds_bucket"
		    "{sink=\"log\",le=\"%s\"} %d", want[i].le, want[i].n);
	ck_assert_uint_eq(count_prefix(b->data,
	    P "sink_duration_seconds_bucket{sink=\"log\","), nitems(want));
	expect_line(b->data, P "sink_duration_seconds_sum{sink=\"log\"} "
	    "20.2013");
	expect_line(b->data, P "sink_duration_seconds_count{sink=\"log\"} 4");
	expect_line(b->data, P "sink_duration_seconds_bucket{sink=\"hook\","
	    "le=\"0.0005\"} 1");
	expect_line(b->data, P "sink_duration_seconds_sum{sink=\"hook\"} 0");
	expect_line(b->data, P "sink_duration_seconds_count{sink=\"hook\"} 1");
	expect_line(b->data, P "sink_duration_seconds_bucket{sink=\"console\","
	    "le=\"1\"} 0");
	expect_line(b->data, P "sink_duration_seconds_bucket{sink=\"console\","
	    "le=\"2.5\"} 1");
	expect_line(b->data, P "sink_duration_seconds_sum{sink=\"console\"} "
	    "1.5");

	expect_line(b->data, P "sink_deliveries_total{sink=\"log\","
	    "verdict=\"ok\"} 2");
	expect_line(b->data, P "sink_deliveries_total{sink=\"log\","
	    "verdict=\"reject\"} 0");
	expect_line(b->data, P "sink_deliveries_total{sink=\"log\","
	    "verdict=\"busy\"} 1");
	expect_line(b->data, P "sink_deliveries_total{sink=\"log\","
	    "verdict=\"retry\"} 1");
	expect_line(b->data, P "sink_deliveries_total{sink=\"hook\","
	    "verdict=\"reject\"} 1");
	expect_line(b->data, P "sink_deliveries_total{sink=\"console\","
	    "verdict=\"ok\"} 1");
	ck_assert_uint_eq(count_prefix(b->data, P "sink_deliveries_total{"),
	    4 * nitems(sinks));
	buf_free(b);
}
END_TEST

/* Sums are exact decimals of whole nanoseconds. */
START_TEST(test_metrics_sum_format)
{
	struct buf	*b;

	metrics_sink(1, SINK_OK, 2);
	metrics_sink(1, SINK_OK, 0.000000001);
	metrics_sink(2, SINK_OK, 0.1);
	metrics_sink(2, SINK_OK, 0.2);
	metrics_sink(0, SINK_OK, 1e300);	/* capped */
	b = render();
	expect_line(b->data, P "sink_duration_seconds_sum{sink=\"hook\"} "
	    "2.000000001");
	expect_line(b->data, P "sink_duration_seconds_sum{sink=\"console\"} "
	    "0.3");
	expect_line(b->data, P "sink_duration_seconds_sum{sink=\"log\"} "
	    "1000000");
	expect_line(b->data, P "sink_duration_seconds_bucket{sink=\"log\","
	    "le=\"+Inf\"} 1");
	buf_free(b);
}
END_TEST

START_TEST(test_metrics_exec_dedup)
{
	struct buf	*b;

	metrics_exec_slots(1, 1);
	metrics_exec_slots(1, 1);
	metrics_exec_slots(1, 1);
	metrics_exec_slots(1, -1);
	metrics_exec_slots(0, 1);	/* not an exec sink: not shown */
	metrics_exec_slots(9, 1);
	metrics_dedup_skip(0);
	metrics_dedup_skip(0);
	metrics_dedup_skip(2);
	metrics_dedup_skip(9);
	metrics_dedup_hit();
	metrics_dedup_hit();
	b = render();
	expect_line(b->data, P "exec_slots_in_use{sink=\"hook\"} 2");
	ck_assert_uint_eq(count_prefix(b->data, P "exec_slots_in_use{"), 1);
	expect_line(b->data, P "dedup_skipped_total{sink=\"log\"} 2");
	expect_line(b->data, P "dedup_skipped_total{sink=\"hook\"} 0");
	expect_line(b->data, P "dedup_skipped_total{sink=\"console\"} 1");
	expect_line(b->data, P "dedup_retries_total 2");
	buf_free(b);
}
END_TEST

/* A postgres sink's families appear only when there is one. */
START_TEST(test_metrics_postgres)
{
	struct sink_config	 pg_sinks[] = {
		{ .name = "log", .kind = SINK_KIND_FILE, .required = true },
		{ .name = "db", .kind = SINK_KIND_POSTGRES, .required = true },
	};
	struct config		 pg_cfg = { .sinks = pg_sinks, .nsinks = 2 };
	struct buf		*b;
	char			 err[128] = "";

	metrics_fini();
	ck_assert_msg(metrics_init(&pg_cfg, err, sizeof(err)) == 0, "%s",
	    err);
	metrics_pg_connections(1, 1, 0);
	metrics_pg_connections(1, 1, 0);
	metrics_pg_connections(1, 0, 1);
	metrics_pg_connections(0, 1, 0);	/* not a postgres sink */
	metrics_pg_batch(1, 1, 1, 0.0004);
	metrics_pg_batch(1, 3, 2, 0.002);
	metrics_pg_batch(1, 1024, 1000, 0.02);
	metrics_pg_batch(1, 1025, 1025, 0.03);
	metrics_pg_connect_failure(1);
	b = render();
	expect_line(b->data, "# TYPE " P "postgres_connections gauge");
	expect_line(b->data, P "postgres_connections{sink=\"db\","
	    "state=\"up\"} 2");
	expect_line(b->data, P "postgres_connections{sink=\"db\","
	    "state=\"busy\"} 1");
	ck_assert_uint_eq(count_prefix(b->data, P "postgres_connections{"),
	    2);
	expect_line(b->data, "# TYPE " P "postgres_commit_seconds histogram");
	expect_line(b->data, P "postgres_commit_seconds_bucket{sink=\"db\","
	    "le=\"0.0005\"} 1");
	expect_line(b->data, P "postgres_commit_seconds_bucket{sink=\"db\","
	    "le=\"0.0025\"} 2");
	expect_line(b->data, P "postgres_commit_seconds_bucket{sink=\"db\","
	    "le=\"0.025\"} 3");
	expect_line(b->data, P "postgres_commit_seconds_count{sink=\"db\"} 4");
	expect_line(b->data, "# TYPE " P "postgres_batch_rows histogram");
	expect_line(b->data, P "postgres_batch_rows_bucket{sink=\"db\","
	    "le=\"1\"} 1");
	expect_line(b->data, P "postgres_batch_rows_bucket{sink=\"db\","
	    "le=\"2\"} 1");
	expect_line(b->data, P "postgres_batch_rows_bucket{sink=\"db\","
	    "le=\"4\"} 2");
	expect_line(b->data, P "postgres_batch_rows_bucket{sink=\"db\","
	    "le=\"1024\"} 3");
	expect_line(b->data, P "postgres_batch_rows_bucket{sink=\"db\","
	    "le=\"+Inf\"} 4");
	expect_line(b->data, P "postgres_batch_rows_sum{sink=\"db\"} 2053");
	expect_line(b->data, P "postgres_batch_rows_count{sink=\"db\"} 4");
	expect_line(b->data, P "postgres_rows_total{sink=\"db\","
	    "result=\"inserted\"} 2028");
	expect_line(b->data, P "postgres_rows_total{sink=\"db\","
	    "result=\"duplicate\"} 25");
	expect_line(b->data, P "postgres_connect_failures_total{sink=\"db\"} 1");
	buf_free(b);
	metrics_fini();
	ck_assert_msg(metrics_init(&cfg, err, sizeof(err)) == 0, "%s", err);
}
END_TEST

/*
 * An exec sink's queue: the reports waiting and how long each waited.
 * Its helpers' families appear only with protocol "lines".
 */
START_TEST(test_metrics_exec_queue)
{
	struct sink_config	 ex_sinks[] = {
		{ .name = "log", .kind = SINK_KIND_FILE, .required = true },
		{ .name = "hook", .kind = SINK_KIND_EXEC, .required = true },
		{ .name = "helper", .kind = SINK_KIND_EXEC, .required = true,
		    .protocol = EXEC_PROTOCOL_LINES },
	};
	struct config		 ex_cfg = { .sinks = ex_sinks, .nsinks = 3 };
	struct buf		*b;
	char			 err[128] = "";

	metrics_sink_queued(1, 1);
	metrics_sink_queued(1, 1);
	metrics_sink_queued(1, -1);
	metrics_sink_queued(0, 1);		/* not an exec sink */
	metrics_sink_queued(9, 1);
	metrics_sink_queue_wait(1, 0.0002);
	metrics_sink_queue_wait(1, 0.3);
	metrics_sink_queue_wait(1, 61);
	metrics_sink_queue_wait(9, 1);
	b = render();
	expect_line(b->data, P "sink_queued{sink=\"hook\"} 1");
	ck_assert_uint_eq(count_prefix(b->data, P "sink_queued{"), 1);
	expect_line(b->data, P "sink_queue_wait_seconds_bucket{sink=\"hook\","
	    "le=\"0.0005\"} 1");
	expect_line(b->data, P "sink_queue_wait_seconds_bucket{sink=\"hook\","
	    "le=\"0.25\"} 1");
	expect_line(b->data, P "sink_queue_wait_seconds_bucket{sink=\"hook\","
	    "le=\"0.5\"} 2");
	expect_line(b->data, P "sink_queue_wait_seconds_bucket{sink=\"hook\","
	    "le=\"+Inf\"} 3");
	expect_line(b->data, P "sink_queue_wait_seconds_sum{sink=\"hook\"} "
	    "61.3002");
	expect_line(b->data, P "sink_queue_wait_seconds_count{sink=\"hook\"} 3");
	expect_no_prefix(b->data, P "sink_queue_wait_seconds_count{sink=\"log\"");
	expect_no_prefix(b->data, "# TYPE " P "exec_helpers_running");
	buf_free(b);

	metrics_fini();
	ck_assert_msg(metrics_init(&ex_cfg, err, sizeof(err)) == 0, "%s",
	    err);
	metrics_exec_helpers(2, 1);
	metrics_exec_helpers(2, 1);
	metrics_exec_helpers(2, -1);
	metrics_exec_helpers(1, 1);		/* not protocol lines */
	metrics_exec_helper_end(2, METRICS_HELPER_TIMEOUT);
	metrics_exec_helper_end(2, METRICS_HELPER_TIMEOUT);
	metrics_exec_helper_end(2, METRICS_HELPER_RELOAD);
	metrics_exec_helper_end(2, METRICS_HELPER_ENDS);
	b = render();
	expect_line(b->data, "# TYPE " P "exec_helpers_running gauge");
	expect_line(b->data, P "exec_helpers_running{sink=\"helper\"} 1");
	ck_assert_uint_eq(count_prefix(b->data, P "exec_helpers_running{"), 1);
	expect_line(b->data, "# TYPE " P "exec_helper_restarts_total counter");
	expect_line(b->data, P "exec_helper_restarts_total{sink=\"helper\","
	    "reason=\"timeout\"} 2");
	expect_line(b->data, P "exec_helper_restarts_total{sink=\"helper\","
	    "reason=\"reload\"} 1");
	expect_line(b->data, P "exec_helper_restarts_total{sink=\"helper\","
	    "reason=\"exited\"} 0");
	expect_line(b->data, P "exec_helper_restarts_total{sink=\"helper\","
	    "reason=\"protocol\"} 0");
	expect_line(b->data, P "exec_helper_restarts_total{sink=\"helper\","
	    "reason=\"spawn\"} 0");
	ck_assert_uint_eq(count_prefix(b->data,
	    P "exec_helper_restarts_total{"), 5);
	expect_line(b->data, P "sink_queued{sink=\"helper\"} 0");
	buf_free(b);
	metrics_fini();
	ck_assert_msg(metrics_init(&cfg, err, sizeof(err)) == 0, "%s", err);
}
END_TEST

START_TEST(test_metrics_auth)
{
	struct buf	*b;
	char		 reason[32];
	int		 i;

	metrics_auth_failure("signature mismatch", false);
	metrics_auth_failure("signature mismatch", false);
	metrics_auth_failure("signature mismatch", true);
	metrics_auth_failure("basic credentials wrong", true);
	b = render();
	expect_line(b->data, P "auth_failures_total{reason=\"signature "
	    "mismatch\",grace=\"false\"} 2");
	expect_line(b->data, P "auth_failures_total{reason=\"signature "
	    "mismatch\",grace=\"true\"} 1");
	expect_line(b->data, P "auth_failures_total{reason=\"basic "
	    "credentials wrong\",grace=\"true\"} 1");
	buf_free(b);

	/* Capped too; the rest keep their grace label. */
	for (i = 0; i < 100; i++) {
		snprintf(reason, sizeof(reason), "reason %d", i);
		metrics_auth_failure(reason, i % 2 == 0);
	}
	b = render();
	ck_assert_uint_eq(count_prefix(b->data, P "auth_failures_total{"),
	    64 + 2);
	/* 3 taken above, 61 here; 39 left: 20 even, 19 odd. */
	expect_line(b->data, P "auth_failures_total{reason=\"reason 60\","
	    "grace=\"true\"} 1");
	expect_no_prefix(b->data,
	    P "auth_failures_total{reason=\"reason 61\"");
	expect_line(b->data, P "auth_failures_total{reason=\"other\","
	    "grace=\"true\"} 19");
	expect_line(b->data, P "auth_failures_total{reason=\"other\","
	    "grace=\"false\"} 20");
	buf_free(b);
}
END_TEST

/* The text is appended; calls before metrics_init() count nothing. */
START_TEST(test_metrics_lifecycle)
{
	struct buf	*b;
	char		 err[128] = "";

	ck_assert_int_eq(metrics_init(&cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "metrics: already initialized");
	metrics_request(200);
	metrics_fini();

	metrics_request(500);
	metrics_report("x", "y");
	metrics_sink(0, SINK_OK, 1);
	metrics_exec_slots(1, 1);
	metrics_dedup_skip(0);
	metrics_dedup_hit();
	metrics_auth_failure("r", false);
	ck_assert_ptr_nonnull(b = buf_new(0));
	ck_assert_int_eq(buf_puts(b, "before\n"), 0);
	ck_assert_int_eq(metrics_render(b), 0);
	ck_assert_str_eq(b->data, "before\n");
	metrics_fini();				/* twice is fine */

	setup();
	ck_assert_int_eq(metrics_render(b), 0);
	ck_assert(strncmp(b->data, "before\n# HELP ", 14) == 0);
	expect_no_prefix(b->data, P "requests_total{");
	expect_line(b->data, P "sink_deliveries_total{sink=\"log\","
	    "verdict=\"ok\"} 0");
	buf_free(b);
}
END_TEST

/* No sinks at all: every family is still there. */
START_TEST(test_metrics_no_sinks)
{
	struct config	 none = { .nsinks = 0 };
	struct buf	*b;
	char		 err[128] = "";

	metrics_fini();
	ck_assert_int_eq(metrics_init(&none, err, sizeof(err)), 0);
	metrics_sink(0, SINK_OK, 1);
	b = render();
	ck_assert_uint_eq(count_prefix(b->data, "# TYPE "), nitems(families));
	expect_no_prefix(b->data, P "sink_");
	buf_free(b);
}
END_TEST

static void *
hammer(void *arg)
{
	char	 status[8];
	int	 i, t = *(int *)arg;

	for (i = 0; i < ROUNDS; i++) {
		metrics_request(200);
		metrics_sink(0, SINK_OK, 0.001);
		metrics_exec_slots(1, 1);
		metrics_dedup_skip(2);
		metrics_dedup_hit();
		/* New pairs race to be added: each must appear once. */
		snprintf(status, sizeof(status), "s%d", (i + t) % 8);
		metrics_report("race", status);
		metrics_auth_failure("signature mismatch", i % 2 == 0);
		metrics_exec_slots(1, -1);
	}
	return NULL;
}

START_TEST(test_metrics_threads)
{
	pthread_t	 th[THREADS];
	int		 ids[THREADS];
	struct buf	*b;
	int		 i;

	for (i = 0; i < THREADS; i++) {
		ids[i] = i;
		ck_assert_int_eq(pthread_create(&th[i], NULL, hammer,
		    &ids[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	b = render();
	expect_linef(b->data, P "requests_total{code=\"200\"} %d",
	    THREADS * ROUNDS);
	expect_linef(b->data, P "sink_deliveries_total{sink=\"log\","
	    "verdict=\"ok\"} %d", THREADS * ROUNDS);
	expect_linef(b->data, P "sink_duration_seconds_bucket{sink=\"log\","
	    "le=\"0.0005\"} 0");
	expect_linef(b->data, P "sink_duration_seconds_bucket{sink=\"log\","
	    "le=\"0.001\"} %d", THREADS * ROUNDS);
	expect_linef(b->data, P "sink_duration_seconds_count{sink=\"log\"} %d",
	    THREADS * ROUNDS);
	expect_linef(b->data, P "sink_duration_seconds_sum{sink=\"log\"} %d",
	    THREADS * ROUNDS / 1000);
	expect_line(b->data, P "exec_slots_in_use{sink=\"hook\"} 0");
	expect_linef(b->data, P "dedup_skipped_total{sink=\"console\"} %d",
	    THREADS * ROUNDS);
	expect_linef(b->data, P "dedup_retries_total %d", THREADS * ROUNDS);
	ck_assert_uint_eq(count_prefix(b->data, P "reports_total{"), 8);
	for (i = 0; i < 8; i++)
		expect_linef(b->data, P "reports_total{type=\"race\","
		    "status=\"s%d\"} %d", i, THREADS * ROUNDS / 8);
	expect_linef(b->data, P "auth_failures_total{reason=\"signature "
	    "mismatch\",grace=\"true\"} %d", THREADS * ROUNDS / 2);
	expect_linef(b->data, P "auth_failures_total{reason=\"signature "
	    "mismatch\",grace=\"false\"} %d", THREADS * ROUNDS / 2);
	buf_free(b);
}
END_TEST

/* Renders while threads count: every text is whole and consistent. */
static void *
scrape(void *arg)
{
	struct buf	*b;
	const char	*p;
	unsigned long	 inf, n;
	int		 i;

	(void)arg;
	for (i = 0; i < 200; i++) {
		ck_assert_ptr_nonnull(b = buf_new(0));
		ck_assert_int_eq(metrics_render(b), 0);
		p = strstr(b->data, P "sink_duration_seconds_bucket"
		    "{sink=\"log\",le=\"+Inf\"} ");
		ck_assert_ptr_nonnull(p);
		inf = strtoul(strchr(p, '}') + 2, NULL, 10);
		p = strstr(b->data, P "sink_duration_seconds_count"
		    "{sink=\"log\"} ");
		ck_assert_ptr_nonnull(p);
		n = strtoul(strchr(p, '}') + 2, NULL, 10);
		ck_assert_uint_eq(inf, n);
		buf_free(b);
	}
	return NULL;
}

START_TEST(test_metrics_render_while_counting)
{
	pthread_t	 th[THREADS], reader;
	int		 ids[THREADS];
	int		 i;

	for (i = 0; i < THREADS; i++) {
		ids[i] = i;
		ck_assert_int_eq(pthread_create(&th[i], NULL, hammer,
		    &ids[i]), 0);
	}
	ck_assert_int_eq(pthread_create(&reader, NULL, scrape, NULL), 0);
	ck_assert_int_eq(pthread_join(reader, NULL), 0);
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
}
END_TEST

Suite *
suite_metrics(void)
{
	Suite	*s = suite_create("metrics");
	TCase	*tc = tcase_create("core");
	TCase	*tt = tcase_create("threads");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_metrics_families);
	tcase_add_test(tc, test_metrics_start_time);
	tcase_add_test(tc, test_metrics_zero);
	tcase_add_test(tc, test_metrics_requests);
	tcase_add_test(tc, test_metrics_connections);
	tcase_add_test(tc, test_metrics_reports);
	tcase_add_test(tc, test_metrics_escaping);
	tcase_add_test(tc, test_metrics_report_cap);
	tcase_add_test(tc, test_metrics_histogram);
	tcase_add_test(tc, test_metrics_sum_format);
	tcase_add_test(tc, test_metrics_exec_dedup);
	tcase_add_test(tc, test_metrics_postgres);
	tcase_add_test(tc, test_metrics_exec_queue);
	tcase_add_test(tc, test_metrics_auth);
	tcase_add_test(tc, test_metrics_lifecycle);
	tcase_add_test(tc, test_metrics_no_sinks);
	suite_add_tcase(s, tc);

	/* Slow under valgrind. */
	tcase_set_timeout(tt, 300);
	tcase_add_checked_fixture(tt, setup, teardown);
	tcase_add_test(tt, test_metrics_threads);
	tcase_add_test(tt, test_metrics_render_while_counting);
	suite_add_tcase(s, tt);
	return s;
}
