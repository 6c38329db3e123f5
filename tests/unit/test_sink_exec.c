/*
 * test_sink_exec.c - the exec sink's queue and its helpers: reports wait
 * for a slot first come, first served; one that waited queue_wait_ms is
 * SINK_BUSY with a Retry-After from the recent run times, and with
 * queue_wait_ms = 0 at once; a stop answers what waits SINK_RETRY.  With
 * protocol "lines", a helper's answers map as exit statuses do, and one
 * that writes junk, exits, closes stdout, answers twice or overruns its
 * timeout is replaced while its record is SINK_RETRY; one that never
 * starts makes the sink unready and answers SINK_RETRY at once; a reopen
 * replaces helpers after their current record.
 *
 * The programs are small sh scripts given inline; each notes what it did
 * in files under the test's temporary directory.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "sink.h"

#define WAIT_S	20

/* A helper that appends each record to $1 and answers 0. */
#define ECHO_HELPER \
	"while IFS= read -r l; do printf '%s\\n' \"$l\" >>\"$1\"; " \
	"echo 0; done"

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
setup(void)
{
	fixture_tmp_setup();
	fixture_answers_reset();
	/* As in the daemon: a helper gone is EPIPE, not death. */
	signal(SIGPIPE, SIG_IGN);
}

/*
 * A configuration with one exec sink running "/bin/sh -c script sh
 * <tmpdir>/arg"; protocol lines when lines is true.
 */
static struct config *
exec_config(const char *script, const char *arg, bool lines, int slots,
    int queue_wait_ms, int timeout_ms)
{
	struct config		*cfg = fixture_config(1);
	struct sink_config	*sc = &cfg->sinks[0];

	sc->name = strdup("hook");
	sc->kind = SINK_KIND_EXEC;
	sc->required = true;
	sc->protocol = lines ? EXEC_PROTOCOL_LINES : EXEC_PROTOCOL_EXEC;
	sc->max_concurrent = slots;
	sc->queue_wait_ms = queue_wait_ms;
	sc->timeout_ms = timeout_ms;
	ck_assert_ptr_nonnull(sc->command = calloc(6, sizeof(char *)));
	sc->command[0] = strdup("/bin/sh");
	sc->command[1] = strdup("-c");
	sc->command[2] = strdup(script);
	sc->command[3] = strdup("sh");
	sc->command[4] = fixture_tmp_path(arg);
	sc->ncommand = 5;
	ck_assert_ptr_nonnull(sc->env = calloc(1, sizeof(char *)));
	return cfg;
}

static void
config_release(struct config *cfg)
{
	struct sink_config	*sc = &cfg->sinks[0];
	size_t			 i;

	for (i = 0; i < sc->ncommand; i++)
		free(sc->command[i]);
	free(sc->command);
	free(sc->env);
	free(sc->name);
	free(cfg->sinks);
	free(cfg);
}

static struct sinks *
open_ok(const struct config *cfg)
{
	struct sinks	*s;
	char		 err[256];

	s = sinks_open(cfg, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	return s;
}

/* Delivery i: the record text (a newline is added), id "q-<i>". */
static void
deliver(struct sinks *s, int i, const char *text)
{
	struct buf	*line = buf_new(0);
	char		 id[16];

	ck_assert_ptr_nonnull(line);
	ck_assert_int_eq(buf_printf(line, "%s\n", text), 0);
	snprintf(id, sizeof(id), "q-%d", i);
	ck_assert_int_eq(sinks_deliver(s, NULL, line, NULL, id,
	    fixture_on_done, (void *)(intptr_t)i), 0);
}

/* The lines of <tmpdir>/name, or "" when it does not exist. */
static char *
read_tmp(const char *name)
{
	char		*path = fixture_tmp_path(name), *text;
	struct buf	*b = fixture_read_path(path);

	text = strdup(b != NULL ? b->data : "");
	buf_free(b);
	free(path);
	return text;
}

static int
count_lines(const char *name)
{
	char	*text = read_tmp(name), *p;
	int	 n = 0;

	for (p = text; *p != '\0'; p++)
		n += *p == '\n';
	free(text);
	return n;
}

/* Waits (bounded) until <tmpdir>/name has n lines; true if it has. */
static bool
wait_lines(const char *name, int n)
{
	double	until = now_s() + WAIT_S;

	while (count_lines(name) < n && now_s() < until)
		usleep(10000);
	return count_lines(name) == n;
}

/* Waits (bounded) until the sinks' readiness is want. */
static bool
wait_ready(struct sinks *s, bool want)
{
	const char	*failing;
	double		 until = now_s() + WAIT_S;

	while (sinks_ready(s, &failing) != want && now_s() < until)
		usleep(10000);
	return sinks_ready(s, &failing) == want;
}

/*
 * Eight reports submitted at once to one slot are run in the order they
 * came, with either protocol (_i 0: exec, 1: lines).
 */
START_TEST(test_exec_queue_is_fifo)
{
	static const char	 hook[] = "printf '%s\\n' \"$SINCH_ID\" "
	    ">>\"$1\"; sleep 0.05";
	static const char	 helper[] = "while IFS= read -r l; do "
	    "printf '%s\\n' \"$l\" >>\"$1\"; sleep 0.05; echo 0; done";
	struct config		*cfg;
	struct sinks		*s;
	char			 text[32], want[256] = "", *got;
	int			 i;

	cfg = exec_config(_i == 0 ? hook : helper, "order", _i == 1, 1,
	    10000, WAIT_S * 1000);
	s = open_ok(cfg);
	for (i = 0; i < 8; i++) {
		snprintf(text, sizeof(text), "{\"n\":%d}", i);
		deliver(s, i, text);
		if (_i == 0)
			snprintf(want + strlen(want), sizeof(want) -
			    strlen(want), "q-%d\n", i);
		else
			snprintf(want + strlen(want), sizeof(want) -
			    strlen(want), "%s\n", text);
	}
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(fixture_answer_of(i), SINK_OK);
	got = read_tmp("order");
	ck_assert_str_eq(got, want);
	free(got);
	sinks_free(s);
	config_release(cfg);
}
END_TEST

/*
 * With one slot held for 1.5 s, a report that waits queue_wait_ms (300)
 * is SINK_BUSY then, not before and not at the end of the run.  Once a
 * run has finished, Retry-After is its time, rounded up to seconds.
 */
START_TEST(test_exec_queue_wait_then_busy)
{
	struct config	*cfg;
	struct sinks	*s;
	double		 start, took;
	int		 ra;

	cfg = exec_config("sleep 1.5", "unused", false, 1, 300,
	    WAIT_S * 1000);
	s = open_ok(cfg);
	start = now_s();
	deliver(s, 0, "{}");
	deliver(s, 1, "{}");
	ck_assert_int_eq(fixture_answer_of(1), SINK_BUSY);
	took = now_s() - start;
	ck_assert_msg(took >= 0.29 && took < 1.2, "answered after %.3f s",
	    took);
	/* No run had finished: the daemon's default. */
	ck_assert_int_eq(fixture_answer_retry_after(1), 0);
	ck_assert_int_eq(fixture_answer_of(0), SINK_OK);

	deliver(s, 2, "{}");
	deliver(s, 3, "{}");
	ck_assert_int_eq(fixture_answer_of(3), SINK_BUSY);
	ra = fixture_answer_retry_after(3);
	ck_assert_msg(ra >= 2 && ra <= 4, "Retry-After %d after 1.5 s runs",
	    ra);
	ck_assert_int_eq(sinks_retry_after_s(s), ra);
	ck_assert_int_eq(fixture_answer_of(2), SINK_OK);
	sinks_free(s);
	config_release(cfg);
}
END_TEST

/* queue_wait_ms = 0: no slot free is SINK_BUSY at once. */
START_TEST(test_exec_no_wait_is_busy_at_once)
{
	struct config	*cfg;
	struct sinks	*s;
	double		 start, took;

	cfg = exec_config("sleep 1", "unused", _i == 1, 1, 0, WAIT_S * 1000);
	if (_i == 1) {
		free(cfg->sinks[0].command[2]);
		cfg->sinks[0].command[2] = strdup("while read -r l; do "
		    "sleep 1; echo 0; done");
	}
	s = open_ok(cfg);
	deliver(s, 0, "{}");
	/* The slot is taken once its thread has the report. */
	usleep(200000);
	start = now_s();
	deliver(s, 1, "{}");
	ck_assert_int_eq(fixture_answer_of(1), SINK_BUSY);
	took = now_s() - start;
	ck_assert_msg(took < 0.5, "answered after %.3f s", took);
	ck_assert_int_eq(fixture_answer_of(0), SINK_OK);
	/* The slot is free again as soon as the answer is out. */
	deliver(s, 2, "{}");
	ck_assert_int_eq(fixture_answer_of(2), SINK_OK);
	sinks_free(s);
	config_release(cfg);
}
END_TEST

/*
 * A stop answers the reports still waiting SINK_RETRY at once, and later
 * ones too while no slot is free; the report running finishes.
 */
START_TEST(test_exec_quiesce_answers_waiting)
{
	struct config	*cfg;
	struct sinks	*s;
	double		 start, took;

	cfg = exec_config("sleep 1", "unused", false, 1, 10000,
	    WAIT_S * 1000);
	s = open_ok(cfg);
	deliver(s, 0, "{}");
	deliver(s, 1, "{}");
	deliver(s, 2, "{}");
	usleep(100000);
	start = now_s();
	sinks_quiesce(s);
	ck_assert_int_eq(fixture_answer_of(1), SINK_RETRY);
	ck_assert_int_eq(fixture_answer_of(2), SINK_RETRY);
	deliver(s, 3, "{}");
	ck_assert_int_eq(fixture_answer_of(3), SINK_RETRY);
	took = now_s() - start;
	ck_assert_msg(took < 0.5, "answered after %.3f s", took);
	ck_assert_int_eq(fixture_answer_of(0), SINK_OK);
	sinks_free(s);
	config_release(cfg);
}
END_TEST

/*
 * A helper's answers: 0, "65 reason", "75 reason" and another status,
 * with a CR before the newline, all from one process.
 */
START_TEST(test_lines_answers)
{
	static const char	 helper[] = "echo $$ >>\"$1\"; "
	    "while IFS= read -r l; do case $l in "
	    "*ok*) echo 0;; *never*) echo '65 not a report of ours';; "
	    "*later*) echo '75 database busy';; *cr*) printf '0\\r\\n';; "
	    "*) echo 1;; esac; done";
	struct config		*cfg;
	struct sinks		*s;

	cfg = exec_config(helper, "pids", true, 1, 10000, WAIT_S * 1000);
	s = open_ok(cfg);
	deliver(s, 0, "{\"x\":\"ok\"}");
	deliver(s, 1, "{\"x\":\"never\"}");
	deliver(s, 2, "{\"x\":\"later\"}");
	deliver(s, 3, "{\"x\":\"other\"}");
	deliver(s, 4, "{\"x\":\"cr\"}");
	ck_assert_int_eq(fixture_answer_of(0), SINK_OK);
	ck_assert_int_eq(fixture_answer_of(1), SINK_REJECT);
	ck_assert_int_eq(fixture_answer_of(2), SINK_RETRY);
	ck_assert_int_eq(fixture_answer_of(3), SINK_RETRY);
	ck_assert_int_eq(fixture_answer_of(4), SINK_OK);
	ck_assert_int_eq(count_lines("pids"), 1);
	sinks_free(s);
	config_release(cfg);
}
END_TEST

/*
 * A helper that goes wrong on the record "bad" (_i: junk, an exit, stdout
 * closed, no answer within timeout_ms, two answers, stdin closed) is
 * replaced: "bad" is SINK_RETRY (but SINK_OK where it did answer 0), the
 * record after it, which waited for the new helper, SINK_OK.
 */
static const struct {
	const char		*does;
	enum sink_verdict	 bad;
} misdeeds[] = {
	{ "echo hello", SINK_RETRY },
	{ "exit 3", SINK_RETRY },
	{ "exec >&-; sleep 5", SINK_RETRY },
	{ "sleep 5", SINK_RETRY },
	{ "echo 0; echo 0", SINK_OK },
	{ "exec <&-; sleep 5", SINK_RETRY },
};

START_TEST(test_lines_helper_replaced)
{
	struct config	*cfg;
	struct sinks	*s;
	char		 helper[512];

	snprintf(helper, sizeof(helper), "echo $$ >>\"$1\"; "
	    "while IFS= read -r l; do case $l in *bad*) %s;; "
	    "*) echo 0;; esac; done", misdeeds[_i].does);
	cfg = exec_config(helper, "pids", true, 1, 10000, 1000);
	s = open_ok(cfg);
	deliver(s, 0, "{\"x\":\"good\"}");
	ck_assert_int_eq(fixture_answer_of(0), SINK_OK);
	deliver(s, 1, "{\"x\":\"bad\"}");
	deliver(s, 2, "{\"x\":\"good\"}");
	ck_assert_int_eq(fixture_answer_of(1), misdeeds[_i].bad);
	ck_assert_int_eq(fixture_answer_of(2), SINK_OK);
	/* The second answer may be seen only after the next record's. */
	ck_assert(wait_lines("pids", 2));
	ck_assert(wait_ready(s, true));
	sinks_free(s);
	config_release(cfg);
}
END_TEST

/*
 * A line written after an answer, while no record is pending, is seen:
 * that helper goes, and the next record is answered by a new one.
 */
START_TEST(test_lines_stray_line_between_records)
{
	static const char	 helper[] = "echo $$ >>\"$1\"; "
	    "while IFS= read -r l; do echo 0; sleep 0.2; echo 0; done";
	struct config		*cfg;
	struct sinks		*s;

	cfg = exec_config(helper, "pids", true, 1, 10000, WAIT_S * 1000);
	s = open_ok(cfg);
	deliver(s, 0, "{}");
	ck_assert_int_eq(fixture_answer_of(0), SINK_OK);
	usleep(500000);
	deliver(s, 1, "{}");
	ck_assert_int_eq(fixture_answer_of(1), SINK_OK);
	ck_assert_int_eq(count_lines("pids"), 2);
	sinks_free(s);
	config_release(cfg);
}
END_TEST

/*
 * A helper that exits at once: the sink is not ready, a report is
 * SINK_RETRY at once.  Once it can start, a reopen brings it back
 * without waiting for the backoff.
 */
START_TEST(test_lines_helper_never_starts)
{
	static const char	 helper[] = "[ -e \"$1\" ] || "
	    "{ echo 'no configuration' >&2; exit 1; }; " ECHO_HELPER;
	struct config		*cfg;
	struct sinks		*s;
	char			*flag;
	double			 start, took;

	cfg = exec_config(helper, "flag", true, 2, 10000, WAIT_S * 1000);
	s = open_ok(cfg);
	ck_assert(wait_ready(s, false));
	start = now_s();
	deliver(s, 0, "{}");
	ck_assert_int_eq(fixture_answer_of(0), SINK_RETRY);
	took = now_s() - start;
	ck_assert_msg(took < 0.5, "answered after %.3f s", took);

	/* The backoff has grown meanwhile: only the reopen is this fast. */
	usleep(1600000);
	flag = fixture_tmp_path("flag");
	ck_assert_ptr_nonnull(fixture_write("flag", ""));
	sinks_reopen(s);
	start = now_s();
	ck_assert(wait_ready(s, true));
	deliver(s, 1, "{\"n\":1}");
	ck_assert_int_eq(fixture_answer_of(1), SINK_OK);
	took = now_s() - start;
	ck_assert_msg(took < 1.0, "ready and answered after %.3f s", took);
	free(flag);
	sinks_free(s);
	config_release(cfg);
}
END_TEST

/*
 * A reopen replaces the helper after the record it is on, which is
 * answered as usual; the next record goes to a new process.
 */
START_TEST(test_lines_reopen_after_current_record)
{
	static const char	 helper[] = "while IFS= read -r l; do "
	    "case $l in *slow*) sleep 0.5;; esac; echo $$ >>\"$1\"; "
	    "echo 0; done";
	struct config		*cfg;
	struct sinks		*s;
	char			*pids, *nl;

	cfg = exec_config(helper, "pids", true, 1, 10000, WAIT_S * 1000);
	s = open_ok(cfg);
	deliver(s, 0, "{\"x\":\"slow\"}");
	usleep(100000);
	sinks_reopen(s);
	ck_assert_int_eq(fixture_answer_of(0), SINK_OK);
	deliver(s, 1, "{}");
	ck_assert_int_eq(fixture_answer_of(1), SINK_OK);
	pids = read_tmp("pids");
	ck_assert_ptr_nonnull(nl = strchr(pids, '\n'));
	ck_assert_msg(strncmp(pids, nl + 1, (size_t)(nl - pids)) != 0,
	    "the same helper answered both: %s", pids);
	free(pids);
	sinks_free(s);
	config_release(cfg);
}
END_TEST

Suite *
suite_sink_exec(void)
{
	Suite	*s = suite_create("sink_exec");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, fixture_tmp_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_exec_queue_is_fifo, 0, 2);
	tcase_add_test(tc, test_exec_queue_wait_then_busy);
	tcase_add_loop_test(tc, test_exec_no_wait_is_busy_at_once, 0, 2);
	tcase_add_test(tc, test_exec_quiesce_answers_waiting);
	tcase_add_test(tc, test_lines_answers);
	tcase_add_loop_test(tc, test_lines_helper_replaced, 0,
	    (int)(sizeof(misdeeds) / sizeof(misdeeds[0])));
	tcase_add_test(tc, test_lines_stray_line_between_records);
	tcase_add_test(tc, test_lines_helper_never_starts);
	tcase_add_test(tc, test_lines_reopen_after_current_record);
	suite_add_tcase(s, tc);
	return s;
}
