/*
 * test_postgres.c - the postgres sink against a real PostgreSQL server:
 * rows and their columns, a retry stored once, the table created and
 * refused, no server or a wrong password, a busy pool, a statement that
 * times out, and a report refused for its content among others that are
 * stored.  Also the escapes jsonb cannot hold, and which "at" is passed.
 *
 * The server comes from tests/pg.sh (make check-unit runs the suite under
 * it), through SINCH_WEBHOOKD_PG_CONNINFO and _PG_PASSWORD_FILE.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "auth.h"
#include "dedup.h"
#include "fixture.h"
#include "record.h"
#include "sink.h"
#include "sink_postgres.h"


static const char *
env_or_fail(const char *name)
{
	const char	*v = getenv(name);

	ck_assert_msg(v != NULL && v[0] != '\0', "%s is not set: run the "
	    "suite under tests/pg.sh run -- (make check-unit does)", name);
	return v;
}

/* A connection of the test's own, to look at the table. */
static PGconn *
db(void)
{
	const char	*keys[] = { "dbname", "password", NULL };
	const char	*values[3];
	uint8_t		*pw;
	size_t		 len;
	PGconn		*conn;

	pw = auth_secret_load(env_or_fail("SINCH_WEBHOOKD_PG_PASSWORD_FILE"),
	    &len);
	ck_assert_ptr_nonnull(pw);
	values[0] = env_or_fail("SINCH_WEBHOOKD_PG_CONNINFO");
	values[1] = (const char *)pw;
	values[2] = NULL;
	conn = PQconnectdbParams(keys, values, 1);
	free(pw);
	ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "connect: %s",
	    PQerrorMessage(conn));
	return conn;
}

static void
sql(PGconn *conn, const char *text)
{
	PGresult	*res = PQexec(conn, text);

	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", text,
	    PQresultErrorMessage(res));
	PQclear(res);
}

/* The first column of the first row of a query, as text (static). */
static const char *
value_of(PGconn *conn, const char *text)
{
	static char	 out[4096];
	PGresult	*res = PQexec(conn, text);

	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s",
	    text, PQresultErrorMessage(res));
	ck_assert_msg(PQntuples(res) >= 1, "%s: no row", text);
	snprintf(out, sizeof(out), "%s", PQgetisnull(res, 0, 0) ? "NULL" :
	    PQgetvalue(res, 0, 0));
	PQclear(res);
	return out;
}

static struct config *
config_pg(const char *table, int connections, int queue_wait_ms,
    int statement_timeout_ms)
{
	struct config		*cfg = fixture_config(1);
	struct sink_config	*sc = &cfg->sinks[0];

	sc->name = strdup("db");
	sc->kind = SINK_KIND_POSTGRES;
	sc->required = true;
	sc->conninfo = strdup(env_or_fail("SINCH_WEBHOOKD_PG_CONNINFO"));
	sc->password_file = strdup(
	    env_or_fail("SINCH_WEBHOOKD_PG_PASSWORD_FILE"));
	sc->table = strdup(table);
	sc->connections = connections;
	sc->queue_wait_ms = queue_wait_ms;
	sc->statement_timeout_ms = statement_timeout_ms;
	return cfg;
}

static void
config_release(struct config *cfg)
{
	free(cfg->sinks[0].name);
	free(cfg->sinks[0].conninfo);
	free(cfg->sinks[0].password_file);
	free(cfg->sinks[0].table);
	free(cfg->sinks);
	free(cfg);
}

/* A recipient report's callback: the same bytes for the same values. */
static void
body_of(char *body, size_t len, const char *recipient, const char *at)
{
	snprintf(body, len, "{\"type\":"
	    "\"recipient_delivery_report_sms\",\"batch_id\":"
	    "\"01UNITPG000000000000000000\",\"recipient\":\"%s\","
	    "\"code\":0,\"status\":\"Delivered\",\"at\":\"%s\"}",
	    recipient, at);
}

/* Delivery i (its answer's index), as http.c would hand it over. */
static void
deliver(struct sinks *s, int i, const char *recipient, const char *at)
{
	struct report	*r;
	struct buf	*line;
	struct timespec	 now;
	uint8_t		 digest[DEDUP_DIGEST_LEN];
	char		 body[512], err[128], id[16];

	body_of(body, sizeof(body), recipient, at);
	r = report_decode(body, strlen(body), err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_ptr_nonnull(line = buf_new(1024));
	clock_gettime(CLOCK_REALTIME, &now);
	snprintf(id, sizeof(id), "u-%d", i);
	ck_assert_int_eq(record_encode(line, r, id, &now, body,
	    strlen(body)), 0);
	dedup_digest(body, strlen(body), digest);
	ck_assert_int_eq(sinks_deliver(s, r, line, digest, id,
	    fixture_on_done, (void *)(intptr_t)i), 0);
}

static struct sinks *
open_ok(struct config *cfg)
{
	struct sinks	*s;
	char		 err[512];

	s = sinks_open(cfg, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	return s;
}

/* The sink of cfg on a table of its own making, answers cleared. */
static struct sinks *
open_fresh(PGconn *conn, struct config *cfg)
{
	char	 text[128];

	snprintf(text, sizeof(text), "DROP TABLE IF EXISTS %s",
	    cfg->sinks[0].table);
	sql(conn, text);
	fixture_answers_reset();
	return open_ok(cfg);
}

/* Holds table locked in an open transaction, until COMMIT or ROLLBACK. */
static void
lock_table(PGconn *conn, const char *table)
{
	char	 text[128];

	sql(conn, "BEGIN");
	snprintf(text, sizeof(text), "LOCK TABLE %s IN ACCESS EXCLUSIVE MODE",
	    table);
	sql(conn, text);
}

START_TEST(test_pg_rows)
{
	struct config	*cfg = config_pg("unit_rows", 2, 1000, 5000);
	struct sinks	*s;
	const char	*failing;
	PGconn		*conn = db();
	char		 body[512], query[1024];

	s = open_fresh(conn, cfg);
	ck_assert(sinks_ready(s, &failing));
	deliver(s, 0, "46700000001", "2026-03-01T10:00:00.250Z");
	deliver(s, 1, "46700000002", "2026-02-30T10:00:00Z");
	ck_assert_int_eq(fixture_answer_of(0), SINK_OK);
	ck_assert_int_eq(fixture_answer_of(1), SINK_OK);
	/* A retry: answered OK, stored once. */
	deliver(s, 2, "46700000001", "2026-03-01T10:00:00.250Z");
	ck_assert_int_eq(fixture_answer_of(2), SINK_OK);

	ck_assert_str_eq(value_of(conn, "SELECT count(*) FROM unit_rows"),
	    "2");
	ck_assert_str_eq(value_of(conn, "SELECT concat_ws('|', request_id, "
	    "kind, channel, type, batch_id, recipient, status, code, final, "
	    "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS'), "
	    "record->>'id', length(dedup_key)) FROM unit_rows WHERE "
	    "recipient = '46700000001'"),
	    "u-0|recipient_delivery_report|sms|recipient_delivery_report_sms|"
	    "01UNITPG000000000000000000|46700000001|Delivered|0|t|"
	    "2026-03-01 10:00:00.250|u-0|32");
	/* A date that does not exist stays in the record, not in "at". */
	ck_assert_str_eq(value_of(conn, "SELECT concat_ws('|', "
	    "coalesce(at::text, 'NULL'), record->>'at') FROM unit_rows "
	    "WHERE recipient = '46700000002'"), "NULL|2026-02-30T10:00:00Z");
	/* The key is the body's SHA-256, as every replica computes it. */
	body_of(body, sizeof(body), "46700000001",
	    "2026-03-01T10:00:00.250Z");
	snprintf(query, sizeof(query), "SELECT recipient FROM unit_rows "
	    "WHERE dedup_key = sha256(convert_to('%s', 'UTF8'))", body);
	ck_assert_str_eq(value_of(conn, query), "46700000001");
	sinks_free(s);
	config_release(cfg);
	PQfinish(conn);
}
END_TEST

/* A table created by the first start is taken as it is by the next. */
START_TEST(test_pg_table_kept)
{
	struct config	*cfg = config_pg("unit_kept", 1, 1000, 5000);
	struct sinks	*s;
	PGconn		*conn = db();

	s = open_fresh(conn, cfg);
	deliver(s, 0, "46700000003", "2026-03-01T10:00:00Z");
	ck_assert_int_eq(fixture_answer_of(0), SINK_OK);
	sinks_free(s);
	/* An extra column of the operator's is fine. */
	sql(conn, "ALTER TABLE unit_kept ADD COLUMN consumed_at timestamptz");
	s = open_ok(cfg);
	deliver(s, 1, "46700000004", "2026-03-01T10:00:00Z");
	ck_assert_int_eq(fixture_answer_of(1), SINK_OK);
	ck_assert_str_eq(value_of(conn, "SELECT count(*) FROM unit_kept"),
	    "2");
	sinks_free(s);
	config_release(cfg);
	PQfinish(conn);
}
END_TEST

static const struct {
	const char	*create;
	const char	*want;
} refused[] = {
	{ "CREATE TABLE unit_bad (seq int)",
	    "sink_postgres: db: table unit_bad: no column \"dedup_key\" "
	    "(bytea)" },
	{ "CREATE TABLE unit_bad (seq bigint GENERATED ALWAYS AS IDENTITY, "
	    "dedup_key text UNIQUE)",
	    "sink_postgres: db: table unit_bad: column \"dedup_key\" is "
	    "text, want bytea" },
	{ "CREATE TABLE unit_bad (LIKE unit_rows)",
	    "sink_postgres: db: table unit_bad: column \"seq\" has no "
	    "default (want GENERATED ALWAYS AS IDENTITY)" },
	{ "CREATE TABLE unit_bad (LIKE unit_rows INCLUDING IDENTITY)",
	    "sink_postgres: db: table unit_bad: \"dedup_key\" has no unique "
	    "index (want UNIQUE)" },
	{ "CREATE TABLE unit_bad (LIKE unit_rows INCLUDING IDENTITY); "
	    "CREATE UNIQUE INDEX ON unit_bad (dedup_key) WHERE code > 0",
	    "sink_postgres: db: table unit_bad: \"dedup_key\" has no unique "
	    "index (want UNIQUE)" },
};

START_TEST(test_pg_table_refused)
{
	struct config	*cfg = config_pg("unit_bad", 2, 1000, 5000);
	struct config	*model = config_pg("unit_rows", 1, 1000, 5000);
	struct sinks	*s;
	PGconn		*conn = db();
	char		 err[512];

	/* unit_rows is the model that some cases copy. */
	sql(conn, "DROP TABLE IF EXISTS unit_bad");
	ck_assert_ptr_nonnull(s = open_ok(model));
	sinks_free(s);
	sql(conn, refused[_i].create);
	s = sinks_open(cfg, err, sizeof(err));
	ck_assert_ptr_null(s);
	ck_assert_str_eq(err, refused[_i].want);
	sql(conn, "DROP TABLE unit_bad");
	config_release(model);
	config_release(cfg);
	PQfinish(conn);
}
END_TEST

/* No server, or one that refuses the password: 503 at once, not ready. */
START_TEST(test_pg_unreachable)
{
	struct config	*cfg = config_pg("unit_rows", 2, 1000, 5000);
	struct sinks	*s;
	const char	*failing = NULL;
	struct timespec	 t0, t1;

	if (_i == 0) {
		free(cfg->sinks[0].conninfo);
		/* Port 1 on loopback: nothing listens, refused at once. */
		cfg->sinks[0].conninfo = strdup("host=127.0.0.1 port=1 "
		    "dbname=sinch user=sinch connect_timeout=2");
	} else {
		free(cfg->sinks[0].password_file);
		cfg->sinks[0].password_file = strdup(fixture_write("pw",
		    "not the password\n"));
	}
	fixture_answers_reset();
	s = open_ok(cfg);
	ck_assert(!sinks_ready(s, &failing));
	ck_assert_str_eq(failing, "db");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	deliver(s, 0, "46700000005", "2026-03-01T10:00:00Z");
	ck_assert_int_eq(fixture_answer_of(0), SINK_RETRY);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 2);
	sinks_free(s);
	config_release(cfg);
}
END_TEST

/*
 * With the table locked by another session, the one connection waits in
 * its INSERT: a report queued behind it is answered BUSY after
 * queue_wait_ms, and the INSERT itself RETRY at statement_timeout_ms.
 * Once the lock is gone the same connection stores again.
 */
START_TEST(test_pg_busy_and_timeout)
{
	struct config	*cfg = config_pg("unit_busy", 1, 300, 1500);
	struct sinks	*s;
	PGconn		*conn = db();

	s = open_fresh(conn, cfg);
	lock_table(conn, "unit_busy");
	deliver(s, 0, "46700000006", "2026-03-01T10:00:00Z");
	/* Let the connection take it before the next one comes. */
	usleep(200000);
	deliver(s, 1, "46700000007", "2026-03-01T10:00:00Z");
	ck_assert_int_eq(fixture_answer_of(1), SINK_BUSY);
	ck_assert_int_eq(fixture_answer_of(0), SINK_RETRY);
	sql(conn, "ROLLBACK");
	deliver(s, 2, "46700000008", "2026-03-01T10:00:00Z");
	ck_assert_int_eq(fixture_answer_of(2), SINK_OK);
	ck_assert_str_eq(value_of(conn, "SELECT string_agg(recipient, ',') "
	    "FROM unit_busy"), "46700000008");
	sinks_free(s);
	config_release(cfg);
	PQfinish(conn);
}
END_TEST

/*
 * A trigger refuses one report for its content (SQLSTATE 22023) in a
 * batch of three: the batch is stored again one by one, and only that
 * report is REJECT.
 */
START_TEST(test_pg_content_refused)
{
	struct config	*cfg = config_pg("unit_content", 1, 10000, 10000);
	struct sinks	*s;
	PGconn		*conn = db();

	s = open_fresh(conn, cfg);
	sql(conn, "CREATE OR REPLACE FUNCTION unit_refuse() RETURNS trigger "
	    "LANGUAGE plpgsql AS $$ BEGIN IF NEW.recipient = 'refuse-me' THEN "
	    "RAISE EXCEPTION 'refused' USING ERRCODE = '22023'; END IF; "
	    "RETURN NEW; END $$");
	sql(conn, "CREATE TRIGGER unit_refuse BEFORE INSERT ON unit_content "
	    "FOR EACH ROW EXECUTE FUNCTION unit_refuse()");
	/* Three reports queued behind a lock, so they share a batch. */
	lock_table(conn, "unit_content");
	deliver(s, 0, "46700000010", "2026-03-01T10:00:00Z");
	usleep(200000);
	deliver(s, 1, "46700000011", "2026-03-01T10:00:00Z");
	deliver(s, 2, "refuse-me", "2026-03-01T10:00:00Z");
	deliver(s, 3, "46700000013", "2026-03-01T10:00:00Z");
	sql(conn, "COMMIT");
	ck_assert_int_eq(fixture_answer_of(0), SINK_OK);
	ck_assert_int_eq(fixture_answer_of(1), SINK_OK);
	ck_assert_int_eq(fixture_answer_of(2), SINK_REJECT);
	ck_assert_int_eq(fixture_answer_of(3), SINK_OK);
	ck_assert_str_eq(value_of(conn, "SELECT string_agg(recipient, ',' "
	    "ORDER BY recipient) FROM unit_content"),
	    "46700000010,46700000011,46700000013");
	sinks_free(s);
	sql(conn, "DROP TABLE unit_content");
	sql(conn, "DROP FUNCTION unit_refuse");
	config_release(cfg);
	PQfinish(conn);
}
END_TEST

static const struct {
	const char	*in;
	const char	*out;
	size_t		 fixed;
} jsonb_cases[] = {
	{ "{\"a\":\"x\"}\n", "{\"a\":\"x\"}", 0 },
	{ "{\"a\":\"\\u0000\"}\n", "{\"a\":\"\\ufffd\"}", 1 },
	{ "{\"\\u0000\":1}", "{\"\\ufffd\":1}", 1 },
	/* An escaped backslash, then the text u0000: nothing to do. */
	{ "{\"a\":\"\\\\u0000\"}", "{\"a\":\"\\\\u0000\"}", 0 },
	{ "{\"a\":\"\\\\\\u0000\"}", "{\"a\":\"\\\\\\ufffd\"}", 1 },
	/* A pair is kept, halves alone are not. */
	{ "{\"a\":\"\\ud83d\\ude00\"}", "{\"a\":\"\\ud83d\\ude00\"}", 0 },
	{ "{\"a\":\"\\uD83D\\uDE00\"}", "{\"a\":\"\\uD83D\\uDE00\"}", 0 },
	{ "{\"a\":\"\\ud83d\"}", "{\"a\":\"\\ufffd\"}", 1 },
	{ "{\"a\":\"\\ud83d x\"}", "{\"a\":\"\\ufffd x\"}", 1 },
	{ "{\"a\":\"\\ude00\\ud83d\"}", "{\"a\":\"\\ufffd\\ufffd\"}", 2 },
	{ "{\"a\":\"\\ud83d\\ud83d\\ude00\"}",
	    "{\"a\":\"\\ufffd\\ud83d\\ude00\"}", 1 },
	{ "{\"a\":\"\\ud83d\\u0041\"}", "{\"a\":\"\\ufffd\\u0041\"}", 1 },
	{ "{\"a\":\"\\u00e9\\n\\\"\"}", "{\"a\":\"\\u00e9\\n\\\"\"}", 0 },
};

START_TEST(test_pg_jsonb_text)
{
	struct buf	*out = buf_new(0);

	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(pg_jsonb_text(out, jsonb_cases[_i].in,
	    strlen(jsonb_cases[_i].in)), jsonb_cases[_i].fixed);
	ck_assert_str_eq(out->data, jsonb_cases[_i].out);
	buf_free(out);
}
END_TEST

static const struct {
	const char	*at;
	const char	*want;
} at_cases[] = {
	{ "2026-03-01T10:00:00Z",		"2026-03-01T10:00:00Z" },
	{ "2026-03-01T10:00:00.123456Z",	"2026-03-01T10:00:00.123456Z" },
	{ "2016-12-31T23:59:60Z",		"2016-12-31T23:59:60Z" },
	{ "2024-02-29T00:00:00Z",		"2024-02-29T00:00:00Z" },
	{ "2026-02-29T00:00:00Z",		"" },
	{ "2026-03-01T10:00:00+01:00",		"" },
	{ "2026-03-01 10:00:00Z",		"" },
	{ "0000-01-01T00:00:00Z",		"" },
	{ "yesterday",				"" },
	{ "",					"" },
};

START_TEST(test_pg_at)
{
	struct buf	*out = buf_new(0);
	struct report	*r;
	char		 body[256], err[128];

	snprintf(body, sizeof(body), "{\"type\":"
	    "\"recipient_delivery_report_sms\",\"batch_id\":\"b\","
	    "\"recipient\":\"1\",\"code\":0,\"status\":\"Delivered\","
	    "\"at\":\"%s\"}", at_cases[_i].at);
	r = report_decode(body, strlen(body), err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_int_eq(pg_at(out, r), 0);
	ck_assert_str_eq(out->data != NULL ? out->data : "",
	    at_cases[_i].want);
	report_free(r);
	buf_free(out);
}
END_TEST

Suite *
suite_postgres(void)
{
	Suite	*s = suite_create("postgres");
	TCase	*tc = tcase_create("core");
	TCase	*server = tcase_create("server");

	tcase_add_loop_test(tc, test_pg_jsonb_text, 0,
	    sizeof(jsonb_cases) / sizeof(jsonb_cases[0]));
	tcase_add_loop_test(tc, test_pg_at, 0,
	    sizeof(at_cases) / sizeof(at_cases[0]));
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(server, fixture_tmp_setup,
	    fixture_tmp_teardown);
	tcase_set_timeout(server, 60);
	tcase_add_test(server, test_pg_rows);
	tcase_add_test(server, test_pg_table_kept);
	tcase_add_loop_test(server, test_pg_table_refused, 0,
	    sizeof(refused) / sizeof(refused[0]));
	tcase_add_loop_test(server, test_pg_unreachable, 0, 2);
	tcase_add_test(server, test_pg_busy_and_timeout);
	tcase_add_test(server, test_pg_content_refused);
	suite_add_tcase(s, server);
	return s;
}
