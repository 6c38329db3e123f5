/*
 * test_sink.c - fan-out, worst verdict and the file sink's writer: lines
 * arrive whole and once, failures become SINK_RETRY, a reopen moves new
 * lines to a new file, and a drained sink answers at once, both with
 * group commit and with the direct write of a file without fsync.
 * Filters and an exec hook's environment take values with NULs whole.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "record.h"
#include "sink.h"

#define WAIT_S	10

struct outcome {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 calls;
	int			 counts[SINK_RETRY + 1];
	enum sink_verdict	 last;
	char			 failed[64];
};

static struct outcome	outcome;

static void
outcome_reset(void)
{
	pthread_mutex_init(&outcome.lock, NULL);
	pthread_cond_init(&outcome.cond, NULL);
	outcome.calls = 0;
	memset(outcome.counts, 0, sizeof(outcome.counts));
	outcome.failed[0] = '\0';
}

static void
on_done(void *arg, enum sink_verdict v, const char *failed,
    int retry_after_s)
{
	(void)arg;
	(void)retry_after_s;
	pthread_mutex_lock(&outcome.lock);
	outcome.calls++;
	outcome.counts[v]++;
	outcome.last = v;
	snprintf(outcome.failed, sizeof(outcome.failed), "%s",
	    failed != NULL ? failed : "");
	pthread_cond_broadcast(&outcome.cond);
	pthread_mutex_unlock(&outcome.lock);
}

static void
wait_calls(int n)
{
	struct timespec	deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += WAIT_S;
	pthread_mutex_lock(&outcome.lock);
	while (outcome.calls < n)
		if (pthread_cond_timedwait(&outcome.cond, &outcome.lock,
		    &deadline) != 0)
			break;
	ck_assert_int_eq(outcome.calls, n);
	pthread_mutex_unlock(&outcome.lock);
}

static struct buf *
line_of(const char *text)
{
	struct buf	*b = buf_new(0);

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(buf_puts(b, text), 0);
	return b;
}

static void
deliver(struct sinks *s, const char *text)
{
	ck_assert_int_eq(sinks_deliver(s, NULL, line_of(text), NULL, "t",
	    on_done, NULL), 0);
}

static int
count_lines(const char *path)
{
	struct buf	*b = fixture_read_path(path);
	int		 n = 0;
	size_t		 i;

	ck_assert_msg(b != NULL, "unable to read %s", path);
	for (i = 0; i < b->len; i++)
		if (b->data[i] == '\n')
			n++;
	ck_assert_msg(b->len == 0 || b->data[b->len - 1] == '\n',
	    "%s ends in a partial line", path);
	buf_free(b);
	return n;
}

static void
set_file(struct sink_config *sc, const char *name, char *path,
    bool required, bool sync)
{
	sc->name = strdup(name);
	sc->kind = SINK_KIND_FILE;
	sc->path = path;
	sc->required = required;
	sc->fsync = sync;
}

static void
config_release(struct config *cfg)
{
	size_t	i;

	for (i = 0; i < cfg->nsinks; i++) {
		free(cfg->sinks[i].name);
		free(cfg->sinks[i].path);
	}
	free(cfg->sinks);
	free(cfg);
}

struct pusher {
	struct sinks	*sinks;
	int		 first, count;
};

static void *
push(void *arg)
{
	struct pusher	*p = arg;
	char		 text[64];
	int		 i;

	for (i = p->first; i < p->first + p->count; i++) {
		snprintf(text, sizeof(text), "{\"n\":%d}\n", i);
		if (sinks_deliver(p->sinks, NULL, line_of(text), NULL, "t",
		    on_done, NULL) == -1)
			return NULL;
	}
	return p;
}

/* Looped tests: _i 0 is group commit (fsync), 1 the direct write. */
static bool
loop_sync(int i)
{
	return i == 0;
}

START_TEST(test_sink_file_concurrent_lines_whole_and_once)
{
	struct config	*cfg = fixture_config(1);
	struct sinks	*s;
	struct pusher	 p[4];
	pthread_t	 t[4];
	void		*ret;
	char		 err[256];
	int		 i;

	outcome_reset();
	set_file(&cfg->sinks[0], "log", fixture_tmp_path("r.jsonl"), true,
	    loop_sync(_i));
	s = sinks_open(cfg, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	for (i = 0; i < 4; i++) {
		p[i] = (struct pusher){ s, i * 500, 500 };
		ck_assert_int_eq(pthread_create(&t[i], NULL, push, &p[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(t[i], &ret), 0);
		ck_assert_ptr_nonnull(ret);
	}
	wait_calls(2000);
	ck_assert_int_eq(outcome.counts[SINK_OK], 2000);
	ck_assert_int_eq(count_lines(cfg->sinks[0].path), 2000);
	sinks_free(s);
	config_release(cfg);
}
END_TEST

START_TEST(test_sink_required_failure_is_retry)
{
	struct config	*cfg = fixture_config(2);
	struct sinks	*s;
	char		 err[256];

	outcome_reset();
	set_file(&cfg->sinks[0], "log", fixture_tmp_path("r.jsonl"), true, true);
	set_file(&cfg->sinks[1], "full", strdup("/dev/full"), true, true);
	s = sinks_open(cfg, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	deliver(s, "{\"a\":1}\n");
	wait_calls(1);
	ck_assert_int_eq(outcome.last, SINK_RETRY);
	ck_assert_str_eq(outcome.failed, "full");
	/* The good sink still took it. */
	ck_assert_int_eq(count_lines(cfg->sinks[0].path), 1);
	sinks_free(s);
	config_release(cfg);
}
END_TEST

START_TEST(test_sink_optional_failure_does_not_count)
{
	struct config	*cfg = fixture_config(2);
	struct sinks	*s;
	char		 err[256];

	outcome_reset();
	set_file(&cfg->sinks[0], "full", strdup("/dev/full"), false, true);
	set_file(&cfg->sinks[1], "log", fixture_tmp_path("r.jsonl"), true, false);
	s = sinks_open(cfg, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	deliver(s, "{\"a\":1}\n");
	wait_calls(1);
	ck_assert_int_eq(outcome.last, SINK_OK);
	ck_assert_str_eq(outcome.failed, "");
	sinks_free(s);
	config_release(cfg);
}
END_TEST

START_TEST(test_sink_no_required_sink_is_ok)
{
	struct config	*cfg = fixture_config(1);
	struct sinks	*s;
	char		 err[256];

	outcome_reset();
	set_file(&cfg->sinks[0], "full", strdup("/dev/full"), false, false);
	s = sinks_open(cfg, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	deliver(s, "{\"a\":1}\n");
	wait_calls(1);
	ck_assert_int_eq(outcome.last, SINK_OK);
	sinks_free(s);
	config_release(cfg);
}
END_TEST

START_TEST(test_sink_reopen_moves_new_lines)
{
	struct config	*cfg = fixture_config(1);
	struct sinks	*s;
	char		*old;
	char		 err[256];

	outcome_reset();
	set_file(&cfg->sinks[0], "log", fixture_tmp_path("r.jsonl"), true,
	    loop_sync(_i));
	old = fixture_tmp_path("r.jsonl.1");
	s = sinks_open(cfg, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	deliver(s, "{\"a\":1}\n");
	wait_calls(1);
	ck_assert_int_eq(rename(cfg->sinks[0].path, old), 0);
	sinks_reopen(s);
	deliver(s, "{\"a\":2}\n");
	deliver(s, "{\"a\":3}\n");
	wait_calls(3);
	ck_assert_int_eq(outcome.counts[SINK_OK], 3);
	ck_assert_int_eq(count_lines(old), 1);
	ck_assert_int_eq(count_lines(cfg->sinks[0].path), 2);
	sinks_free(s);
	free(old);
	config_release(cfg);
}
END_TEST

START_TEST(test_sink_drained_answers_retry_at_once)
{
	struct config	*cfg = fixture_config(1);
	struct sinks	*s;
	char		 err[256];

	outcome_reset();
	set_file(&cfg->sinks[0], "log", fixture_tmp_path("r.jsonl"), true,
	    loop_sync(_i));
	s = sinks_open(cfg, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	deliver(s, "{\"a\":1}\n");
	sinks_drain(s);
	/* Drained means answered: no wait needed. */
	ck_assert_int_eq(outcome.calls, 1);
	ck_assert_int_eq(outcome.last, SINK_OK);
	deliver(s, "{\"a\":2}\n");
	ck_assert_int_eq(outcome.calls, 2);
	ck_assert_int_eq(outcome.last, SINK_RETRY);
	ck_assert_int_eq(count_lines(cfg->sinks[0].path), 1);
	sinks_free(s);
	config_release(cfg);
}
END_TEST

/*
 * Without fsync the caller's thread writes the line: it is in the file
 * and answered before sinks_deliver returns, and a failed write is
 * answered just as early.
 */
START_TEST(test_sink_file_direct_answers_before_return)
{
	struct config	*cfg = fixture_config(2);
	struct sinks	*s;
	struct rlimit	 old, small;
	struct stat	 st;
	char		 err[256];

	outcome_reset();
	set_file(&cfg->sinks[0], "log", fixture_tmp_path("r.jsonl"), true, false);
	set_file(&cfg->sinks[1], "full", strdup("/dev/full"), false, false);
	s = sinks_open(cfg, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	deliver(s, "{\"a\":1}\n");
	ck_assert_int_eq(outcome.calls, 1);
	ck_assert_int_eq(outcome.last, SINK_OK);
	ck_assert_int_eq(count_lines(cfg->sinks[0].path), 1);
	sinks_free(s);
	config_release(cfg);

	/*
	 * A file size limit makes the write fail half way (EFBIG): the half
	 * line is taken back and the answer is a retry, still at once.
	 */
	cfg = fixture_config(1);
	outcome_reset();
	set_file(&cfg->sinks[0], "log", fixture_tmp_path("small.jsonl"), true, false);
	s = sinks_open(cfg, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = 8;
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
	deliver(s, "{\"a\":\"more than eight bytes\"}\n");
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	ck_assert_int_eq(outcome.calls, 1);
	ck_assert_int_eq(outcome.last, SINK_RETRY);
	ck_assert_str_eq(outcome.failed, "log");
	ck_assert_int_eq(stat(cfg->sinks[0].path, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	sinks_free(s);
	config_release(cfg);
}
END_TEST

START_TEST(test_sink_open_missing_directory_fails)
{
	struct config	*cfg = fixture_config(1);
	char		 err[256];

	set_file(&cfg->sinks[0], "log", fixture_tmp_path("no/such/dir/r.jsonl"), true,
	    true);
	ck_assert_ptr_null(sinks_open(cfg, err, sizeof(err)));
	ck_assert_msg(strstr(err, "sink_file: log: unable to open") != NULL &&
	    strstr(err, "No such file or directory") != NULL, "err: %s", err);
	config_release(cfg);
}
END_TEST

static struct report *
decode(const char *json)
{
	struct report	*r;
	char		 err[256];

	r = report_decode(json, strlen(json), err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	return r;
}

START_TEST(test_sink_filters)
{
	struct report	*rdr = decode("{\"type\":"
	    "\"recipient_delivery_report_sms\",\"batch_id\":\"b\","
	    "\"recipient\":\"r\",\"code\":0,\"status\":\"Delivered\","
	    "\"at\":\"t\"}");
	struct report	*queued = decode("{\"type\":"
	    "\"recipient_delivery_report_mms\",\"batch_id\":\"b\","
	    "\"recipient\":\"r\",\"code\":400,\"status\":\"Queued\","
	    "\"at\":\"t\"}");
	struct report	*batch = decode("{\"type\":\"delivery_report_sms\","
	    "\"batch_id\":\"b\",\"total_message_count\":2,\"statuses\":["
	    "{\"code\":400,\"status\":\"Queued\",\"count\":1},"
	    "{\"code\":0,\"status\":\"Failed\",\"count\":1}]}");
	struct report	*mo = decode("{\"type\":\"mo_text\",\"id\":\"i\","
	    "\"from\":\"f\",\"to\":\"t\",\"received_at\":\"x\","
	    "\"body\":\"hi\"}");
	char		*types[] = { "recipient_delivery_report_sms", "mo_text",
	    NULL };
	char		*statuses[] = { "Delivered", "Failed", NULL };
	struct sink_config c = { 0 };

	/* No filter: everything, even without a report. */
	ck_assert(sink_matches(&c, rdr));
	ck_assert(sink_matches(&c, NULL));
	c.types = types;
	c.ntypes = 2;
	ck_assert(sink_matches(&c, rdr));
	ck_assert(sink_matches(&c, mo));
	ck_assert(!sink_matches(&c, queued));
	ck_assert(!sink_matches(&c, batch));
	ck_assert(!sink_matches(&c, NULL));
	c.types = NULL;
	c.ntypes = 0;
	c.statuses = statuses;
	c.nstatuses = 2;
	ck_assert(sink_matches(&c, rdr));
	ck_assert(!sink_matches(&c, queued));
	ck_assert(sink_matches(&c, batch));	/* one bucket Failed */
	ck_assert(!sink_matches(&c, mo));	/* no status at all */
	c.statuses = NULL;
	c.nstatuses = 0;
	c.final_only = true;
	ck_assert(sink_matches(&c, rdr));
	ck_assert(!sink_matches(&c, queued));
	ck_assert(!sink_matches(&c, batch));	/* one bucket not final */
	ck_assert(!sink_matches(&c, mo));
	report_free(rdr);
	report_free(queued);
	report_free(batch);
	report_free(mo);
}
END_TEST

START_TEST(test_sink_filters_nul)
{
	struct report	*rdr = decode("{\"type\":"
	    "\"recipient_delivery_report_sms\",\"batch_id\":\"b\","
	    "\"recipient\":\"r\",\"code\":0,\"status\":\"Delivered\\u0000\","
	    "\"at\":\"t\"}");
	struct report	*mo = decode("{\"type\":\"mo_text\\u0000x\"}");
	char		*types[] = { "mo_text", NULL };
	char		*statuses[] = { "Delivered", NULL };
	struct sink_config c = { 0 };

	/* A name matches only the whole value: a NUL does not end it. */
	c.types = types;
	c.ntypes = 1;
	ck_assert(!sink_matches(&c, mo));
	c.types = NULL;
	c.ntypes = 0;
	c.statuses = statuses;
	c.nstatuses = 1;
	ck_assert(!sink_matches(&c, rdr));
	report_free(rdr);
	report_free(mo);
}
END_TEST

START_TEST(test_sink_exec_env_nul)
{
	static const char	 json[] = "{\"type\":\"mo_text\",\"id\":\"i\","
	    "\"from\":\"46\\u00007\",\"to\":\"\\u0000\\u0000\","
	    "\"received_at\":\"x\",\"body\":\"hi\\u0000!\"}";
	const struct timespec	 at = { 1795788000, 0 };
	struct config		*cfg = fixture_config(1);
	struct sinks		*s;
	struct report		*r;
	struct buf		*line, *got, *copy;
	char			*env_path = fixture_tmp_path("env"), *in_path;
	char			*command[] = { "/bin/sh", "-c",
	    "printf '%s|%s|%s' \"$SINCH_FROM\" \"$SINCH_TO\" \"$SINCH_TYPE\" "
	    ">\"$1\" && cat >\"$2\"", "hook", env_path, NULL, NULL };
	char			 err[256];

	in_path = command[5] = fixture_tmp_path("stdin");
	outcome_reset();
	cfg->sinks[0].name = strdup("hook");
	cfg->sinks[0].kind = SINK_KIND_EXEC;
	cfg->sinks[0].required = true;
	cfg->sinks[0].command = command;
	cfg->sinks[0].ncommand = 6;
	cfg->sinks[0].timeout_ms = WAIT_S * 1000;
	cfg->sinks[0].max_concurrent = 1;
	s = sinks_open(cfg, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	r = decode(json);
	line = buf_new(0);
	ck_assert_int_eq(record_encode(line, r, "e-1", &at, json,
	    sizeof(json) - 1), 0);
	copy = buf_new(0);
	ck_assert_int_eq(buf_append(copy, line->data, line->len), 0);
	ck_assert_int_eq(sinks_deliver(s, r, line, NULL, "e-1", on_done,
	    NULL), 0);
	wait_calls(1);
	ck_assert_int_eq(outcome.last, SINK_OK);

	/* Each NUL is the six characters \u0000; nothing is cut. */
	got = fixture_read_path(env_path);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got->data, "46\\u00007|\\u0000\\u0000|mo_text");
	buf_free(got);
	/* The record on stdin is the whole line, byte for byte. */
	got = fixture_read_path(in_path);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(got->len, copy->len);
	ck_assert(memcmp(got->data, copy->data, copy->len) == 0);
	ck_assert_ptr_nonnull(strstr(got->data,
	    "\"from\":\"46\\u00007\",\"to\":\"\\u0000\\u0000\""));
	buf_free(got);
	buf_free(copy);
	sinks_free(s);
	cfg->sinks[0].command = NULL;
	config_release(cfg);
	free(env_path);
	free(in_path);
}
END_TEST

START_TEST(test_sink_dedup_skips_what_was_taken)
{
	struct config	*cfg = fixture_config(2);
	struct sinks	*s;
	uint8_t		 dg[DEDUP_DIGEST_LEN];
	char		 err[256];

	outcome_reset();
	cfg->dedup_entries = 100;
	cfg->dedup_ttl_s = 3600;
	set_file(&cfg->sinks[0], "log", fixture_tmp_path("r.jsonl"), true, true);
	set_file(&cfg->sinks[1], "full", strdup("/dev/full"), true, false);
	s = sinks_open(cfg, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	dedup_digest("body", 4, dg);
	/* First try: the log takes it, the full disk does not. */
	ck_assert_int_eq(sinks_deliver(s, NULL, line_of("{\"a\":1}\n"), dg,
	    "t1", on_done, NULL), 0);
	wait_calls(1);
	ck_assert_int_eq(outcome.last, SINK_RETRY);
	/* The retry goes to the full disk only: still one line. */
	ck_assert_int_eq(sinks_deliver(s, NULL, line_of("{\"a\":1}\n"), dg,
	    "t2", on_done, NULL), 0);
	wait_calls(2);
	ck_assert_int_eq(outcome.last, SINK_RETRY);
	ck_assert_str_eq(outcome.failed, "full");
	ck_assert_int_eq(count_lines(cfg->sinks[0].path), 1);
	ck_assert_uint_eq(dedup_taken(s->dedup, dg), 1);
	sinks_free(s);
	config_release(cfg);
}
END_TEST

START_TEST(test_sink_dedup_all_taken_is_ok_without_delivery)
{
	struct config	*cfg = fixture_config(1);
	struct sinks	*s;
	uint8_t		 dg[DEDUP_DIGEST_LEN];
	char		 err[256];
	int		 i;

	outcome_reset();
	cfg->dedup_entries = 100;
	cfg->dedup_ttl_s = 3600;
	set_file(&cfg->sinks[0], "log", fixture_tmp_path("r.jsonl"), true, true);
	s = sinks_open(cfg, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	dedup_digest("body", 4, dg);
	for (i = 1; i <= 3; i++) {
		ck_assert_int_eq(sinks_deliver(s, NULL,
		    line_of("{\"a\":1}\n"), dg, "t", on_done, NULL), 0);
		wait_calls(i);
		ck_assert_int_eq(outcome.last, SINK_OK);
	}
	ck_assert_int_eq(count_lines(cfg->sinks[0].path), 1);
	sinks_free(s);
	config_release(cfg);
}
END_TEST

Suite *
suite_sink(void)
{
	Suite	*s = suite_create("sink");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, fixture_tmp_setup, fixture_tmp_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_sink_file_concurrent_lines_whole_and_once,
	    0, 2);
	tcase_add_test(tc, test_sink_file_direct_answers_before_return);
	tcase_add_test(tc, test_sink_required_failure_is_retry);
	tcase_add_test(tc, test_sink_optional_failure_does_not_count);
	tcase_add_test(tc, test_sink_no_required_sink_is_ok);
	tcase_add_loop_test(tc, test_sink_reopen_moves_new_lines, 0, 2);
	tcase_add_loop_test(tc, test_sink_drained_answers_retry_at_once, 0, 2);
	tcase_add_test(tc, test_sink_open_missing_directory_fails);
	tcase_add_test(tc, test_sink_filters);
	tcase_add_test(tc, test_sink_filters_nul);
	tcase_add_test(tc, test_sink_exec_env_nul);
	tcase_add_test(tc, test_sink_dedup_skips_what_was_taken);
	tcase_add_test(tc, test_sink_dedup_all_taken_is_ok_without_delivery);
	suite_add_tcase(s, tc);
	return s;
}
