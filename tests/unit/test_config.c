/*
 * test_config.c - the configuration file: defaults, the shipped file, and
 * one exact "file:line: key: reason" for each class of error.
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fixture.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* One stdout sink: the least a file needs. */
#define SINK_OUT	"sinks = ( { name = \"out\"; kind = \"stdout\"; } );\n"

/* The start of an exec sink whose program exists on every system. */
#define EXEC_SH		"{ name = \"x\"; kind = \"exec\"; " \
			"command = [ \"/bin/sh\" ];"

/* A file every system can read: for tls keys that only need to be one. */
#define READABLE	"/bin/sh"

/* TLS that loads, for errors about the keys added to it. */
#define TLS_OK		"cert = \"" READABLE "\"; key = \"" READABLE "\"; "

/* Fingerprints of 64 hex digits: one with separators, one without. */
#define FP_HEX		"0123456789abcdef0123456789abcdef" \
			"0123456789abcdef0123456789ABCDEF"
#define FP_PAIRS	"AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:" \
			"ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89"

struct error_case {
	const char	*text;
	const char	*want;		/* the error after "<path>:" */
};

/* Loads text from a fresh file; *path is where it was written. */
static struct config *
load(const char *text, char path[PATH_MAX], char *err, size_t errlen)
{
	snprintf(path, PATH_MAX, "%s", fixture_write("t.conf", text));
	return config_load(path, err, errlen);
}

/* Loading text must fail with exactly "<path>:<want>". */
static void
expect_error(const char *text, const char *want)
{
	struct config	*cfg;
	char		 path[PATH_MAX], full[PATH_MAX + 256], err[512];
	bool		 loaded;

	cfg = load(text, path, err, sizeof(err));
	loaded = cfg != NULL;
	config_free(cfg);
	snprintf(full, sizeof(full), "%s:%s", path, want);
	ck_assert_msg(!loaded, "loaded, want error %s\n%s", full, text);
	ck_assert_str_eq(err, full);
}

/* Every authentication check and TLS off, as without the groups. */
static void
assert_auth_off(const struct config *cfg)
{
	ck_assert(!cfg->has_signature);
	ck_assert_ptr_null(cfg->sig_secrets);
	ck_assert_uint_eq(cfg->nsig_secrets, 0);
	ck_assert_ptr_null(cfg->sig_secret_files);
	ck_assert_uint_eq(cfg->nsig_secret_files, 0);
	ck_assert_int_eq(cfg->sig_max_skew_s, 0);
	ck_assert(!cfg->has_basic);
	ck_assert_ptr_null(cfg->basic_username);
	ck_assert_ptr_null(cfg->basic_password);
	ck_assert_ptr_null(cfg->basic_password_file);
	ck_assert(!cfg->has_oauth2);
	ck_assert_ptr_null(cfg->oauth2_clients);
	ck_assert_uint_eq(cfg->noauth2_clients, 0);
	ck_assert_ptr_null(cfg->oauth2_key_file);
	/* Defaults that matter only once auth.oauth2 is there. */
	ck_assert_int_eq(cfg->oauth2_token_ttl_s, 3600);
	ck_assert_str_eq(cfg->oauth2_path, "/oauth2/token");
	ck_assert_ptr_null(cfg->allow_from);
	ck_assert_uint_eq(cfg->nallow_from, 0);
	ck_assert_ptr_null(cfg->trusted_proxies);
	ck_assert_uint_eq(cfg->ntrusted_proxies, 0);
	ck_assert(!cfg->has_grace);
	ck_assert_int_eq(cfg->grace_until, 0);
	ck_assert_ptr_null(cfg->tls_cert);
	ck_assert_ptr_null(cfg->tls_key);
	ck_assert_ptr_null(cfg->tls_client_ca);
	ck_assert_ptr_null(cfg->tls_client_fingerprints);
	ck_assert_uint_eq(cfg->ntls_client_fingerprints, 0);
}

/* No mask and no metrics listener, as without the keys. */
static void
assert_metrics_off(const struct config *cfg)
{
	ck_assert(!cfg->log_mask_numbers);
	ck_assert(!cfg->has_metrics_listener);
	/* Defaults that matter only once the metrics group is there. */
	ck_assert_str_eq(cfg->metrics_address, "127.0.0.1");
	ck_assert_int_eq(cfg->metrics_port, 9102);
}

/* Loading text must succeed; the caller frees the result. */
static struct config *
expect_load(const char *text)
{
	struct config	*cfg;
	char		 path[PATH_MAX], err[512] = "";

	cfg = load(text, path, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "error: %s\n%s", err, text);
	return cfg;
}

START_TEST(test_config_defaults)
{
	struct config	*cfg;
	char		 path[PATH_MAX], err[256];

	cfg = load(SINK_OUT, path, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "error: %s", err);
	ck_assert_str_eq(cfg->path, path);
	ck_assert_str_eq(cfg->address, "127.0.0.1");
	ck_assert_int_eq(cfg->port, 8080);
	ck_assert_str_eq(cfg->callback_path, "/sinch/sms");
	ck_assert_uint_eq(cfg->max_body_bytes, 1048576);
	ck_assert_int_eq(cfg->max_connections, 1024);
	ck_assert_int_eq(cfg->max_connections_per_address, 128);
	ck_assert_int_eq(cfg->connection_timeout_s, 30);
	ck_assert_int_eq(cfg->threads, 4);
	ck_assert_int_eq(cfg->shutdown_timeout_s, 10);
	ck_assert_int_eq(cfg->max_in_flight, 512);
	ck_assert_uint_eq(cfg->dedup_entries, 100000);
	ck_assert_int_eq(cfg->dedup_ttl_s, 86400);
	ck_assert_ptr_null(cfg->dedup_state_file);
	ck_assert_int_eq(cfg->log_level, LOG_LEVEL_INFO);
	assert_metrics_off(cfg);
	ck_assert_uint_eq(cfg->nsinks, 1);
	ck_assert_str_eq(cfg->sinks[0].name, "out");
	ck_assert_int_eq(cfg->sinks[0].kind, SINK_KIND_STDOUT);
	ck_assert(cfg->sinks[0].required);
	ck_assert_ptr_null(cfg->sinks[0].path);
	ck_assert_ptr_null(cfg->sinks[0].types);
	ck_assert_uint_eq(cfg->sinks[0].ntypes, 0);
	ck_assert_ptr_null(cfg->sinks[0].statuses);
	ck_assert_uint_eq(cfg->sinks[0].nstatuses, 0);
	ck_assert(!cfg->sinks[0].final_only);
	ck_assert_ptr_null(cfg->sinks[0].command);
	ck_assert_uint_eq(cfg->sinks[0].ncommand, 0);
	ck_assert_ptr_null(cfg->sinks[0].env);
	ck_assert_uint_eq(cfg->sinks[0].nenv, 0);
	assert_auth_off(cfg);
	config_free(cfg);

	/* Empty auth and tls groups turn nothing on. */
	cfg = expect_load("auth = { };\ntls = { };\n" SINK_OUT);
	assert_auth_off(cfg);
	config_free(cfg);
}
END_TEST

START_TEST(test_config_file_sink_defaults)
{
	struct config	*cfg;

	cfg = expect_load("sinks = ( { name = \"f\"; kind = \"file\";\n"
	    "\tpath = \"x.jsonl\"; } );\n");
	ck_assert_uint_eq(cfg->nsinks, 1);
	ck_assert_int_eq(cfg->sinks[0].kind, SINK_KIND_FILE);
	ck_assert_str_eq(cfg->sinks[0].path, "x.jsonl");
	ck_assert(cfg->sinks[0].fsync);
	ck_assert(cfg->sinks[0].required);
	ck_assert_ptr_null(cfg->sinks[0].types);
	ck_assert_ptr_null(cfg->sinks[0].statuses);
	ck_assert(!cfg->sinks[0].final_only);
	ck_assert_ptr_null(cfg->sinks[0].command);
	ck_assert_ptr_null(cfg->sinks[0].env);
	config_free(cfg);
}
END_TEST

START_TEST(test_config_postgres_sink)
{
	struct config		*cfg;
	const struct sink_config *sc;

	cfg = expect_load("sinks = ( { name = \"db\"; kind = \"postgres\"; "
	    "conninfo = \"host=127.0.0.1 dbname=sinch\"; } );\n");
	sc = &cfg->sinks[0];
	ck_assert_int_eq(sc->kind, SINK_KIND_POSTGRES);
	ck_assert_str_eq(config_sink_kind_name(sc->kind), "postgres");
	ck_assert_str_eq(sc->conninfo, "host=127.0.0.1 dbname=sinch");
	ck_assert_ptr_null(sc->password_file);
	ck_assert_str_eq(sc->table, "sinch_reports");
	ck_assert_int_eq(sc->connections, 2);
	ck_assert_int_eq(sc->statement_timeout_ms, 5000);
	ck_assert_int_eq(sc->queue_wait_ms, 1000);
	ck_assert(sc->required);
	config_free(cfg);

	cfg = expect_load("sinks = ( { name = \"db\"; kind = \"postgres\"; "
	    "conninfo = \"postgresql://sinch@db1,db2/sinch?"
	    "target_session_attrs=read-write\"; password_file = \"pg\"; "
	    "table = \"sms.reports_2026\"; connections = 64; "
	    "statement_timeout_ms = 100; queue_wait_ms = 1; } );\n");
	sc = &cfg->sinks[0];
	ck_assert_str_eq(sc->password_file, "pg");
	ck_assert_str_eq(sc->table, "sms.reports_2026");
	ck_assert_int_eq(sc->connections, 64);
	ck_assert_int_eq(sc->statement_timeout_ms, 100);
	ck_assert_int_eq(sc->queue_wait_ms, 1);
	config_free(cfg);
}
END_TEST

START_TEST(test_config_exec_sink_defaults)
{
	struct config		*cfg;
	const struct sink_config *sc;

	cfg = expect_load("sinks = ( " EXEC_SH " } );\n");
	sc = &cfg->sinks[0];
	ck_assert_int_eq(sc->kind, SINK_KIND_EXEC);
	ck_assert_str_eq(config_sink_kind_name(sc->kind), "exec");
	ck_assert_uint_eq(sc->ncommand, 1);
	ck_assert_str_eq(sc->command[0], "/bin/sh");
	ck_assert_ptr_null(sc->command[1]);
	/* No env is an empty array, not NULL. */
	ck_assert_ptr_nonnull(sc->env);
	ck_assert_ptr_null(sc->env[0]);
	ck_assert_uint_eq(sc->nenv, 0);
	ck_assert_int_eq(sc->timeout_ms, 10000);
	ck_assert_int_eq(sc->max_concurrent, 4);
	ck_assert_int_eq(sc->queue_wait_ms, 1000);
	ck_assert_int_eq(sc->protocol, EXEC_PROTOCOL_EXEC);
	ck_assert(sc->required);
	ck_assert_ptr_null(sc->types);
	ck_assert_ptr_null(sc->statuses);
	ck_assert(!sc->final_only);
	ck_assert_ptr_null(sc->path);
	config_free(cfg);

	cfg = expect_load("sinks = ( " EXEC_SH " env = { }; } );\n");
	ck_assert_ptr_nonnull(cfg->sinks[0].env);
	ck_assert_ptr_null(cfg->sinks[0].env[0]);
	ck_assert_uint_eq(cfg->sinks[0].nenv, 0);
	config_free(cfg);
}
END_TEST

START_TEST(test_config_exec_sink)
{
	struct config		*cfg;
	const struct sink_config *sc;

	cfg = expect_load(
	    "sinks = (\n"
	    "\t{ name = \"hook\"; kind = \"exec\";\n"
	    "\t  command = [ \"/bin/sh\", \"-c\", \"exit 0\", \"-c\" ];\n"
	    "\t  env = { TZ = \"UTC\"; LANG = \"C.UTF-8\"; EMPTY = \"\";\n"
	    "\t\tsinch_lower = \"a=b\"; };\n"
	    "\t  timeout_ms = 3600000; max_concurrent = 1024;\n"
	    "\t  queue_wait_ms = 60000; protocol = \"lines\";\n"
	    "\t  required = false;\n"
	    "\t  types = [ \"recipient_delivery_report_sms\" ];\n"
	    "\t  statuses = [ \"Delivered\", \"Failed\" ];\n"
	    "\t  final_only = true; }\n"
	    ");\n");
	ck_assert_uint_eq(cfg->nsinks, 1);
	sc = &cfg->sinks[0];
	ck_assert_str_eq(sc->name, "hook");
	ck_assert_int_eq(sc->kind, SINK_KIND_EXEC);
	/* A command may repeat an argument; only filters are sets. */
	ck_assert_uint_eq(sc->ncommand, 4);
	ck_assert_str_eq(sc->command[0], "/bin/sh");
	ck_assert_str_eq(sc->command[1], "-c");
	ck_assert_str_eq(sc->command[2], "exit 0");
	ck_assert_str_eq(sc->command[3], "-c");
	ck_assert_ptr_null(sc->command[4]);
	ck_assert_uint_eq(sc->nenv, 4);
	ck_assert_str_eq(sc->env[0], "TZ=UTC");
	ck_assert_str_eq(sc->env[1], "LANG=C.UTF-8");
	ck_assert_str_eq(sc->env[2], "EMPTY=");
	ck_assert_str_eq(sc->env[3], "sinch_lower=a=b");
	ck_assert_ptr_null(sc->env[4]);
	ck_assert_int_eq(sc->timeout_ms, 3600000);
	ck_assert_int_eq(sc->max_concurrent, 1024);
	ck_assert_int_eq(sc->queue_wait_ms, 60000);
	ck_assert_int_eq(sc->protocol, EXEC_PROTOCOL_LINES);
	ck_assert(!sc->required);
	ck_assert_uint_eq(sc->ntypes, 1);
	ck_assert_str_eq(sc->types[0], "recipient_delivery_report_sms");
	ck_assert_ptr_null(sc->types[1]);
	ck_assert_uint_eq(sc->nstatuses, 2);
	ck_assert_str_eq(sc->statuses[0], "Delivered");
	ck_assert_str_eq(sc->statuses[1], "Failed");
	ck_assert_ptr_null(sc->statuses[2]);
	ck_assert(sc->final_only);
	ck_assert_ptr_null(sc->path);
	config_free(cfg);

	/* A list works as well as an array; the bounds load. */
	cfg = expect_load("sinks = ( { name = \"h\"; kind = \"exec\";\n"
	    "\tcommand = ( \"/bin/true\" ); timeout_ms = 1;\n"
	    "\tmax_concurrent = 1; queue_wait_ms = 0;\n"
	    "\tprotocol = \"exec\"; } );\n");
	ck_assert_uint_eq(cfg->sinks[0].ncommand, 1);
	ck_assert_str_eq(cfg->sinks[0].command[0], "/bin/true");
	ck_assert_ptr_null(cfg->sinks[0].command[1]);
	ck_assert_int_eq(cfg->sinks[0].timeout_ms, 1);
	ck_assert_int_eq(cfg->sinks[0].max_concurrent, 1);
	ck_assert_int_eq(cfg->sinks[0].queue_wait_ms, 0);
	ck_assert_int_eq(cfg->sinks[0].protocol, EXEC_PROTOCOL_EXEC);
	config_free(cfg);
}
END_TEST

/* A program of one's own, executable: it need not be under /bin. */
START_TEST(test_config_exec_own_program)
{
	struct config	*cfg;
	char		 prog[PATH_MAX], text[PATH_MAX + 128];

	snprintf(prog, sizeof(prog), "%s",
	    fixture_write("hook", "#!/bin/sh\nexit 0\n"));
	ck_assert_int_eq(chmod(prog, 0755), 0);
	snprintf(text, sizeof(text), "sinks = ( { name = \"h\"; "
	    "kind = \"exec\"; command = [ \"%s\", \"a\" ]; } );\n", prog);
	cfg = expect_load(text);
	ck_assert_str_eq(cfg->sinks[0].command[0], prog);
	ck_assert_str_eq(cfg->sinks[0].command[1], "a");
	config_free(cfg);
}
END_TEST

/* The filters, on each kind, as an array or as a list. */
START_TEST(test_config_filters)
{
	static const char *const sinks[] = {
		"{ name = \"s\"; kind = \"file\"; path = \"p\";",
		"{ name = \"s\"; kind = \"stdout\";",
		EXEC_SH,
	};
	static const enum sink_kind kinds[] = {
		SINK_KIND_FILE, SINK_KIND_STDOUT, SINK_KIND_EXEC,
	};
	struct config			*cfg;
	const struct sink_config	*sc;
	char				 text[512];
	size_t				 i;

	for (i = 0; i < nitems(sinks); i++) {
		snprintf(text, sizeof(text), "sinks = (\n\t%s\n"
		    "\t  types = [ \"mt_text\", \"mt_binary\" ];\n"
		    "\t  statuses = ( \"Delivered\" );\n"
		    "\t  final_only = true; }\n);\n", sinks[i]);
		cfg = expect_load(text);
		sc = &cfg->sinks[0];
		ck_assert_int_eq(sc->kind, kinds[i]);
		ck_assert_uint_eq(sc->ntypes, 2);
		ck_assert_str_eq(sc->types[0], "mt_text");
		ck_assert_str_eq(sc->types[1], "mt_binary");
		ck_assert_ptr_null(sc->types[2]);
		ck_assert_uint_eq(sc->nstatuses, 1);
		ck_assert_str_eq(sc->statuses[0], "Delivered");
		ck_assert_ptr_null(sc->statuses[1]);
		ck_assert(sc->final_only);
		config_free(cfg);

		snprintf(text, sizeof(text), "sinks = (\n\t%s\n"
		    "\t  statuses = [ \"Failed\" ];\n"
		    "\t  final_only = false; }\n);\n", sinks[i]);
		cfg = expect_load(text);
		sc = &cfg->sinks[0];
		ck_assert_ptr_null(sc->types);
		ck_assert_uint_eq(sc->ntypes, 0);
		ck_assert_uint_eq(sc->nstatuses, 1);
		ck_assert_str_eq(sc->statuses[0], "Failed");
		ck_assert(!sc->final_only);
		config_free(cfg);
	}
}
END_TEST

START_TEST(test_config_dedup)
{
	struct config	*cfg;

	cfg = expect_load("dedup = {\n\tentries = 0;\n\tttl_s = 60;\n"
	    "\tstate_file = \"/var/lib/x/dedup.state\";\n};\n" SINK_OUT);
	ck_assert_uint_eq(cfg->dedup_entries, 0);
	ck_assert_int_eq(cfg->dedup_ttl_s, 60);
	ck_assert_str_eq(cfg->dedup_state_file, "/var/lib/x/dedup.state");
	config_free(cfg);

	/* Every key is optional, the group too. */
	cfg = expect_load("dedup = { };\n" SINK_OUT);
	ck_assert_uint_eq(cfg->dedup_entries, 100000);
	ck_assert_int_eq(cfg->dedup_ttl_s, 86400);
	ck_assert_ptr_null(cfg->dedup_state_file);
	config_free(cfg);
}
END_TEST

START_TEST(test_config_shipped_file)
{
	struct config	*cfg;
	char		 path[PATH_MAX], err[512] = "";

	snprintf(path, sizeof(path), "%s/conf/sinch-webhookd.conf",
	    fixture_srcdir());
	cfg = config_load(path, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "error: %s", err);
	ck_assert_str_eq(cfg->address, "127.0.0.1");
	ck_assert_int_eq(cfg->port, 8080);
	ck_assert_str_eq(cfg->callback_path, "/sinch/sms");
	ck_assert_uint_eq(cfg->max_body_bytes, 1048576);
	ck_assert_int_eq(cfg->max_connections, 1024);
	ck_assert_int_eq(cfg->max_connections_per_address, 128);
	ck_assert_int_eq(cfg->connection_timeout_s, 30);
	ck_assert_int_eq(cfg->threads, 4);
	ck_assert_int_eq(cfg->shutdown_timeout_s, 10);
	ck_assert_int_eq(cfg->max_in_flight, 512);
	ck_assert_uint_eq(cfg->dedup_entries, 100000);
	ck_assert_int_eq(cfg->dedup_ttl_s, 86400);
	ck_assert_str_eq(cfg->dedup_state_file, "var/dedup.state");
	ck_assert_int_eq(cfg->log_level, LOG_LEVEL_INFO);
	ck_assert_uint_eq(cfg->nsinks, 2);
	ck_assert_str_eq(cfg->sinks[0].name, "log");
	ck_assert_int_eq(cfg->sinks[0].kind, SINK_KIND_FILE);
	ck_assert_str_eq(cfg->sinks[0].path, "var/reports.jsonl");
	ck_assert(cfg->sinks[0].fsync);
	ck_assert(cfg->sinks[0].required);
	ck_assert_str_eq(cfg->sinks[1].name, "console");
	ck_assert_int_eq(cfg->sinks[1].kind, SINK_KIND_STDOUT);
	ck_assert(!cfg->sinks[1].required);
	ck_assert_ptr_null(cfg->sinks[1].path);
	ck_assert_ptr_null(cfg->sinks[0].types);
	ck_assert_ptr_null(cfg->sinks[1].types);
	/* Documented, commented out. */
	assert_auth_off(cfg);
	assert_metrics_off(cfg);
	config_free(cfg);
}
END_TEST

/*
 * The shipped file with its metrics group and log.mask_numbers
 * uncommented: what it documents loads, with the defaults it names.
 */
START_TEST(test_config_shipped_metrics)
{
	struct config	*cfg;
	struct buf	*in, *out;
	char		 path[PATH_MAX], err[512] = "";
	const char	*line, *end, *hash;
	bool		 inside = false;
	size_t		 found = 0;

	snprintf(path, sizeof(path), "%s/conf/sinch-webhookd.conf",
	    fixture_srcdir());
	ck_assert_ptr_nonnull(in = fixture_read_path(path));
	ck_assert_ptr_nonnull(out = buf_new(in->len));
	for (line = in->data; *line != '\0'; line = end) {
		end = strchr(line, '\n');
		end = end != NULL ? end + 1 : line + strlen(line);
		if (strncmp(line, "#metrics = {", 12) == 0)
			inside = true;
		hash = NULL;
		if (inside)
			hash = line;
		else if (strncmp(line, "\t#mask_numbers = ", 18) == 0)
			hash = line + 1;
		if (hash != NULL) {
			found++;
			ck_assert_int_eq(buf_append(out, line,
			    (size_t)(hash - line)), 0);
			ck_assert_int_eq(buf_append(out, hash + 1,
			    (size_t)(end - hash - 1)), 0);
		} else
			ck_assert_int_eq(buf_append(out, line,
			    (size_t)(end - line)), 0);
		if (inside && strncmp(line, "#};", 3) == 0)
			inside = false;
	}
	ck_assert_msg(found >= 4, "metrics and mask_numbers not found");
	snprintf(path, sizeof(path), "%s",
	    fixture_write("shipped.conf", out->data));
	cfg = config_load(path, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "error: %s", err);
	ck_assert(!cfg->log_mask_numbers);
	ck_assert(cfg->has_metrics_listener);
	ck_assert_str_eq(cfg->metrics_address, "127.0.0.1");
	ck_assert_int_eq(cfg->metrics_port, 9102);
	config_free(cfg);
	buf_free(in);
	buf_free(out);
}
END_TEST

START_TEST(test_config_every_key_set)
{
	struct config	*cfg;

	cfg = expect_load(
	    "// every key, none at its default\n"
	    "listen = { address = \"::1\"; port = 0x1F90L;\n"
	    "\tpath = \"/cb\"; };\n"
	    "limits = {\n"
	    "\tmax_body_bytes = 67108864L;\n"
	    "\tmax_connections = 65536;\n"
	    "\tmax_connections_per_address = 0;\n"
	    "\tconnection_timeout_s = 3600;\n"
	    "\tthreads = 256;\n"
	    "\tshutdown_timeout_s = 0;\n"
	    "\tmax_in_flight = 1000000;\n"
	    "};\n"
	    "dedup = { entries = 10000000; ttl_s = 604800;\n"
	    "\tstate_file = \"d.state\"; };\n"
	    "log = { level = \"debug\"; };\n"
	    "sinks = (\n"
	    "\t{ name = \"a.b-c_D9\"; kind = \"file\";\n"
	    "\t  path = \"/x/99999999999\";\n"
	    "\t  fsync = false; required = false; },\n"
	    "\t{ kind = \"stdout\"; name = \"two\"; required = true; },\n"
	    "\t{ name = \"three\"; kind = \"exec\";\n"
	    "\t  command = [ \"/bin/sh\", \"-c\", \"cat\" ];\n"
	    "\t  env = { A = \"1\"; }; timeout_ms = 5; max_concurrent = 6;\n"
	    "\t  required = false; types = [ \"t\" ]; statuses = [ \"s\" ];\n"
	    "\t  final_only = true; }\n"
	    ");\n");
	ck_assert_str_eq(cfg->address, "::1");
	ck_assert_int_eq(cfg->port, 8080);
	ck_assert_str_eq(cfg->callback_path, "/cb");
	ck_assert_uint_eq(cfg->max_body_bytes, 64 << 20);
	ck_assert_int_eq(cfg->max_connections, 65536);
	ck_assert_int_eq(cfg->max_connections_per_address, 0);
	ck_assert_int_eq(cfg->connection_timeout_s, 3600);
	ck_assert_int_eq(cfg->threads, 256);
	ck_assert_int_eq(cfg->shutdown_timeout_s, 0);
	ck_assert_int_eq(cfg->max_in_flight, 1000000);
	ck_assert_uint_eq(cfg->dedup_entries, 10000000);
	ck_assert_int_eq(cfg->dedup_ttl_s, 604800);
	ck_assert_str_eq(cfg->dedup_state_file, "d.state");
	ck_assert_int_eq(cfg->log_level, LOG_LEVEL_DEBUG);
	ck_assert_uint_eq(cfg->nsinks, 3);
	ck_assert_str_eq(cfg->sinks[0].name, "a.b-c_D9");
	ck_assert_int_eq(cfg->sinks[0].kind, SINK_KIND_FILE);
	ck_assert_str_eq(cfg->sinks[0].path, "/x/99999999999");
	ck_assert(!cfg->sinks[0].fsync);
	ck_assert(!cfg->sinks[0].required);
	ck_assert_str_eq(cfg->sinks[1].name, "two");
	ck_assert_int_eq(cfg->sinks[1].kind, SINK_KIND_STDOUT);
	ck_assert(cfg->sinks[1].required);
	ck_assert_str_eq(cfg->sinks[2].name, "three");
	ck_assert_int_eq(cfg->sinks[2].kind, SINK_KIND_EXEC);
	ck_assert_uint_eq(cfg->sinks[2].ncommand, 3);
	ck_assert_str_eq(cfg->sinks[2].command[2], "cat");
	ck_assert_uint_eq(cfg->sinks[2].nenv, 1);
	ck_assert_str_eq(cfg->sinks[2].env[0], "A=1");
	ck_assert_int_eq(cfg->sinks[2].timeout_ms, 5);
	ck_assert_int_eq(cfg->sinks[2].max_concurrent, 6);
	ck_assert(!cfg->sinks[2].required);
	ck_assert_str_eq(cfg->sinks[2].types[0], "t");
	ck_assert_str_eq(cfg->sinks[2].statuses[0], "s");
	ck_assert(cfg->sinks[2].final_only);
	config_free(cfg);
}
END_TEST

#define SNS_TOPIC	"arn:aws:sns:eu-west-1:123456789012:sinch"

START_TEST(test_config_sns)
{
	struct config	*cfg;
	char		 text[512];

	/* Off without the group; its defaults are there all the same. */
	cfg = expect_load(SINK_OUT);
	ck_assert(!cfg->has_sns);
	ck_assert_str_eq(cfg->sns_path, "/sinch/sns");
	ck_assert_ptr_null(cfg->sns_topics);
	ck_assert_int_eq(cfg->sns_max_skew_s, 3600);
	ck_assert(cfg->sns_auto_confirm);
	ck_assert_ptr_null(cfg->sns_cert_dir);
	ck_assert_int_eq(cfg->sns_deadline_s, 12);
	config_free(cfg);

	cfg = expect_load("sns = { topics = [ \"" SNS_TOPIC "\" ]; };\n"
	    SINK_OUT);
	ck_assert(cfg->has_sns);
	ck_assert_uint_eq(cfg->nsns_topics, 1);
	ck_assert_str_eq(cfg->sns_topics[0], SNS_TOPIC);
	ck_assert_ptr_null(cfg->sns_topics[1]);
	config_free(cfg);

	snprintf(text, sizeof(text), "sns = {\n\tpath = \"/aws\";\n"
	    "\ttopics = [ \"" SNS_TOPIC "\",\n"
	    "\t  \"arn:aws-cn:sns:cn-north-1:123456789012:b.c_d-e\" ];\n"
	    "\tmax_skew_s = 604800; auto_confirm = false;\n"
	    "\tcert_dir = \"%s\"; deadline_s = 14;\n};\n" SINK_OUT,
	    fixture_tmpdir());
	cfg = expect_load(text);
	ck_assert_str_eq(cfg->sns_path, "/aws");
	ck_assert_uint_eq(cfg->nsns_topics, 2);
	ck_assert_str_eq(cfg->sns_topics[1],
	    "arn:aws-cn:sns:cn-north-1:123456789012:b.c_d-e");
	ck_assert_int_eq(cfg->sns_max_skew_s, 604800);
	ck_assert(!cfg->sns_auto_confirm);
	ck_assert_str_eq(cfg->sns_cert_dir, fixture_tmpdir());
	ck_assert_int_eq(cfg->sns_deadline_s, 14);
	config_free(cfg);
}
END_TEST

static const struct error_case sns_errors[] = {
	{ "sns = { };\n" SINK_OUT, "1: sns.topics: missing required key" },
	{ "sns = {\n\ttopics = [ ];\n};\n" SINK_OUT,
	    "2: sns.topics: empty list (want at least one topic)" },
	{ "sns = { topics = [\n\t\"arn:aws:s3:::bucket\" ]; };\n" SINK_OUT,
	    "2: sns.topics.[0]: \"arn:aws:s3:::bucket\" is not an SNS "
	    "topic ARN (want \"arn:aws:sns:region:account:topic\")" },
	{ "sns = { topics = [\n\t\"arn:aws:sns:r:1:a b\" ]; };\n" SINK_OUT,
	    "2: sns.topics.[0]: invalid character ' ' (want A-Z a-z 0-9 "
	    ": - _ .)" },
	{ "sns = { topics = [ \"" SNS_TOPIC "\",\n\t\"" SNS_TOPIC
	    "\" ]; };\n" SINK_OUT, "2: sns.topics.[1]: duplicate value \""
	    SNS_TOPIC "\" (also sns.topics.[0])" },
	{ "sns = { topics = [ \"" SNS_TOPIC "\" ];\n"
	    "\tpath = \"/sinch/sms\"; };\n" SINK_OUT,
	    "2: sns.path: \"/sinch/sms\" must differ from listen.path" },
	{ "listen = { path = \"/a\"; };\n"
	    "auth = { oauth2 = { key_file = \"k\";\n"
	    "\tclients = ( { id = \"a\"; secret = \"s\"; } ); }; };\n"
	    "sns = { topics = [ \"" SNS_TOPIC "\" ];\n"
	    "\tpath = \"/oauth2/token\"; };\n" SINK_OUT,
	    "5: sns.path: \"/oauth2/token\" must differ from listen.path "
	    "and auth.oauth2.path" },
	{ "sns = { topics = [ \"" SNS_TOPIC "\" ];\n"
	    "\tpath = \"sns\"; };\n" SINK_OUT,
	    "2: sns.path: \"sns\" does not start with '/'" },
	{ "sns = { topics = [ \"" SNS_TOPIC "\" ];\n"
	    "\tcert_dir = \"/bin/sh\"; };\n" SINK_OUT,
	    "2: sns.cert_dir: unable to read the directory \"/bin/sh\": "
	    "Not a directory" },
	{ "sns = { topics = [ \"" SNS_TOPIC "\" ];\n"
	    "\tcert_dir = \"/nonexistent/sns\"; };\n" SINK_OUT,
	    "2: sns.cert_dir: unable to read the directory "
	    "\"/nonexistent/sns\": No such file or directory" },
	{ "sns = { topics = [ \"" SNS_TOPIC "\" ];\n"
	    "\tdeadline_s = 15; };\n" SINK_OUT,
	    "2: sns.deadline_s: 15 > 14" },
	{ "sns = { topics = [ \"" SNS_TOPIC "\" ];\n"
	    "\tdeadline_s = 0; };\n" SINK_OUT,
	    "2: sns.deadline_s: 0 < 1" },
	{ "sns = { topics = [ \"" SNS_TOPIC "\" ];\n"
	    "\tmax_skew_s = 0; };\n" SINK_OUT,
	    "2: sns.max_skew_s: 0 < 1" },
	{ "sns = { topics = [ \"" SNS_TOPIC "\" ];\n"
	    "\tmax_skew_s = 604801; };\n" SINK_OUT,
	    "2: sns.max_skew_s: 604801 > 604800" },
	{ "sns = { topics = [ \"" SNS_TOPIC "\" ];\n"
	    "\tauto_confirm = 1; };\n" SINK_OUT,
	    "2: sns.auto_confirm: expected a boolean" },
	{ "sns = { topics = [ \"" SNS_TOPIC "\" ];\n"
	    "\tcertdir = \"/\"; };\n" SINK_OUT,
	    "2: sns.certdir: unknown key" },
};

START_TEST(test_config_sns_error)
{
	expect_error(sns_errors[_i].text, sns_errors[_i].want);
}
END_TEST

START_TEST(test_config_metrics)
{
	static const char *const ok[] = {
		/* Both on port 0: the kernel gives each its own. */
		"listen = { port = 0; };\nmetrics = { port = 0; };\n",
		/* The same port on two addresses, of one family or two. */
		"listen = { port = 80; };\n"
		    "metrics = { address = \"127.0.0.2\"; port = 80; };\n",
		"listen = { address = \"::1\"; port = 80; };\n"
		    "metrics = { port = 80; };\n",
		/* Without the group, its port does not matter. */
		"listen = { port = 9102; };\n",
	};
	struct config	*cfg;
	char		 text[256];
	size_t		 i;

	/* An empty group turns the listener on with the defaults. */
	cfg = expect_load("metrics = { };\n" SINK_OUT);
	ck_assert(cfg->has_metrics_listener);
	ck_assert_str_eq(cfg->metrics_address, "127.0.0.1");
	ck_assert_int_eq(cfg->metrics_port, 9102);
	ck_assert_int_eq(cfg->port, 8080);
	ck_assert(!cfg->log_mask_numbers);
	config_free(cfg);

	cfg = expect_load("log = { level = \"warn\"; mask_numbers = true; "
	    "};\nmetrics = { address = \"::1\"; port = 0; };\n" SINK_OUT);
	ck_assert(cfg->log_mask_numbers);
	ck_assert_int_eq(cfg->log_level, LOG_LEVEL_WARN);
	ck_assert(cfg->has_metrics_listener);
	ck_assert_str_eq(cfg->metrics_address, "::1");
	ck_assert_int_eq(cfg->metrics_port, 0);
	config_free(cfg);

	cfg = expect_load("log = { mask_numbers = false; };\n" SINK_OUT);
	assert_metrics_off(cfg);
	config_free(cfg);

	for (i = 0; i < nitems(ok); i++) {
		snprintf(text, sizeof(text), "%s" SINK_OUT, ok[i]);
		cfg = expect_load(text);
		config_free(cfg);
	}
}
END_TEST

START_TEST(test_config_port_zero)
{
	struct config	*cfg;

	cfg = expect_load("listen = { port = 0; };\n" SINK_OUT);
	ck_assert_int_eq(cfg->port, 0);
	config_free(cfg);
}
END_TEST

/* The documented bounds, written here again so the tests check them. */
static const struct {
	const char	*key;
	long long	 min;
	long long	 max;
} ranges[] = {
	{ "listen.port",		0,	65535 },
	{ "limits.max_body_bytes",	1,	67108864 },
	{ "limits.max_connections",	1,	65536 },
	{ "limits.max_connections_per_address", 0, 65536 },
	{ "limits.connection_timeout_s", 1,	3600 },
	{ "limits.threads",		1,	256 },
	{ "limits.shutdown_timeout_s",	0,	3600 },
	{ "limits.max_in_flight",	1,	1000000 },
	{ "dedup.entries",		0,	10000000 },
	{ "dedup.ttl_s",		1,	604800 },
	{ "metrics.port",		0,	65535 },
};

static long long
int_value(const struct config *cfg, const char *key)
{
	if (strcmp(key, "listen.port") == 0)
		return cfg->port;
	if (strcmp(key, "limits.max_body_bytes") == 0)
		return (long long)cfg->max_body_bytes;
	if (strcmp(key, "limits.max_connections") == 0)
		return cfg->max_connections;
	if (strcmp(key, "limits.max_connections_per_address") == 0)
		return cfg->max_connections_per_address;
	if (strcmp(key, "limits.connection_timeout_s") == 0)
		return cfg->connection_timeout_s;
	if (strcmp(key, "limits.threads") == 0)
		return cfg->threads;
	if (strcmp(key, "limits.shutdown_timeout_s") == 0)
		return cfg->shutdown_timeout_s;
	if (strcmp(key, "limits.max_in_flight") == 0)
		return cfg->max_in_flight;
	if (strcmp(key, "dedup.entries") == 0)
		return (long long)cfg->dedup_entries;
	if (strcmp(key, "dedup.ttl_s") == 0)
		return cfg->dedup_ttl_s;
	if (strcmp(key, "metrics.port") == 0)
		return cfg->metrics_port;
	ck_abort_msg("no field for %s", key);
	return -1;
}

/* "listen.port", 5 -> "\nlisten = {\n\tport = 5;\n};\n" + a sink. */
static void
int_text(char *dst, size_t len, const char *key, long long v)
{
	const char	*dot;

	/* Also tells gcc -O2 -fsanitize=undefined that neither is NULL. */
	ck_assert_ptr_nonnull(key);
	ck_assert_ptr_nonnull(dot = strchr(key, '.'));
	snprintf(dst, len, "\n%.*s = {\n\t%s = %lld;\n};\n" SINK_OUT,
	    (int)(dot - key), key, dot + 1, v);
}

START_TEST(test_config_int_ranges)
{
	struct config	*cfg;
	char		 text[256], want[256];
	const char	*key = ranges[_i].key;
	long long	 min = ranges[_i].min, max = ranges[_i].max;

	int_text(text, sizeof(text), key, min - 1);
	snprintf(want, sizeof(want), "3: %s: %lld < %lld", key, min - 1, min);
	expect_error(text, want);

	int_text(text, sizeof(text), key, max + 1);
	snprintf(want, sizeof(want), "3: %s: %lld > %lld", key, max + 1, max);
	expect_error(text, want);

	int_text(text, sizeof(text), key, min);
	cfg = expect_load(text);
	ck_assert_int_eq(int_value(cfg, key), min);
	config_free(cfg);

	int_text(text, sizeof(text), key, max);
	cfg = expect_load(text);
	ck_assert_int_eq(int_value(cfg, key), max);
	config_free(cfg);
}
END_TEST

static const struct error_case unknown_keys[] = {
	/* top level */
	{ "# a comment\nlisten_port = 8080;\n" SINK_OUT,
	    "2: listen_port: unknown key" },
	{ SINK_OUT "auth = { secret = \"x\"; };\n",
	    "2: auth.secret: unknown key" },
	{ "tls = { port = 443; };\n" SINK_OUT,
	    "1: tls.port: unknown key" },
	/* inside auth and tls */
	{ "auth = {\n\tsignature = { secrets = [ \"s\" ];\n"
	    "\t\tsecret = \"s\"; };\n};\n" SINK_OUT,
	    "3: auth.signature.secret: unknown key" },
	{ "auth = { basic = { username = \"u\"; password = \"p\";\n"
	    "\trealm = \"r\"; }; };\n" SINK_OUT,
	    "2: auth.basic.realm: unknown key" },
	{ "auth = { oauth2 = { key_file = \"k\";\n"
	    "\tclients = ( { id = \"a\"; secret = \"s\";\n"
	    "\t\tscope = \"x\"; } ); }; };\n" SINK_OUT,
	    "3: auth.oauth2.clients.[0].scope: unknown key" },
	{ "auth = { bearer = { }; };\n" SINK_OUT,
	    "1: auth.bearer: unknown key" },
	{ "tls = {\n\tca = \"x\";\n};\n" SINK_OUT,
	    "2: tls.ca: unknown key" },
	/* inside listen, limits and log */
	{ "listen = {\n\tport = 80;\n\tprot = 80;\n};\n" SINK_OUT,
	    "3: listen.prot: unknown key" },
	{ "limits = {\n\tthreads = 2; body = 1;\n};\n" SINK_OUT,
	    "2: limits.body: unknown key" },
	{ "log = { level = \"info\"; file = \"x\"; };\n" SINK_OUT,
	    "1: log.file: unknown key" },
	{ "listen = { tls = { port = 1; }; };\n" SINK_OUT,
	    "1: listen.tls: unknown key" },
	{ "dedup = {\n\tentries = 1;\n\tsize = 2;\n};\n" SINK_OUT,
	    "3: dedup.size: unknown key" },
	{ "dedup = { state = { file = \"x\"; }; };\n" SINK_OUT,
	    "1: dedup.state: unknown key" },
	{ "metrics = {\n\tport = 9102;\n\tpath = \"/metrics\";\n};\n"
	    SINK_OUT, "3: metrics.path: unknown key" },
	{ "log = { mask = true; };\n" SINK_OUT,
	    "1: log.mask: unknown key" },
	{ "listen = { metrics = { }; };\n" SINK_OUT,
	    "1: listen.metrics: unknown key" },
	/* inside a sink */
	{ "sinks = (\n\t{ name = \"a\"; kind = \"stdout\";\n"
	    "\t  colour = \"red\"; }\n);\n",
	    "3: sinks.[0].colour: unknown key" },
	{ "sinks = (\n\t{ name = \"a\"; kind = \"file\"; path = \"p\"; },\n"
	    "\t{ name = \"b\"; kind = \"file\"; path = \"p\";\n"
	    "\t  fsynch = true; }\n);\n",
	    "4: sinks.[1].fsynch: unknown key" },
	{ "sinks = (\n\t" EXEC_SH "\n\t  args = [ \"a\" ]; }\n);\n",
	    "3: sinks.[0].args: unknown key" },
};

START_TEST(test_config_unknown_key)
{
	expect_error(unknown_keys[_i].text, unknown_keys[_i].want);
}
END_TEST

static const struct error_case wrong_types[] = {
	/* integers */
	{ "limits = {\n\tthreads = \"4\";\n};\n" SINK_OUT,
	    "2: limits.threads: expected an integer" },
	{ "limits = {\n\tthreads = 4.0;\n};\n" SINK_OUT,
	    "2: limits.threads: expected an integer" },
	{ "listen = { port = true; };\n" SINK_OUT,
	    "1: listen.port: expected an integer" },
	{ "listen = { port = [ 80 ]; };\n" SINK_OUT,
	    "1: listen.port: expected an integer" },
	/* strings */
	{ "listen = { address = 127; };\n" SINK_OUT,
	    "1: listen.address: expected a string" },
	{ "log = {\n\tlevel = 3;\n};\n" SINK_OUT,
	    "2: log.level: expected a string" },
	/* booleans */
	{ "sinks = (\n\t{ name = \"a\"; kind = \"stdout\";\n"
	    "\t  required = 1; }\n);\n",
	    "3: sinks.[0].required: expected a boolean" },
	{ "sinks = ( { name = \"a\"; kind = \"file\"; path = \"p\";\n"
	    "\tfsync = \"yes\"; } );\n",
	    "2: sinks.[0].fsync: expected a boolean" },
	{ "log = {\n\tmask_numbers = 1;\n};\n" SINK_OUT,
	    "2: log.mask_numbers: expected a boolean" },
	{ "log = { mask_numbers = \"true\"; };\n" SINK_OUT,
	    "1: log.mask_numbers: expected a boolean" },
	{ "metrics = { port = \"9102\"; };\n" SINK_OUT,
	    "1: metrics.port: expected an integer" },
	{ "metrics = { port = 9102.0; };\n" SINK_OUT,
	    "1: metrics.port: expected an integer" },
	{ "metrics = { address = 127; };\n" SINK_OUT,
	    "1: metrics.address: expected a string" },
	/* groups */
	{ "\nlisten = \"127.0.0.1:8080\";\n" SINK_OUT,
	    "2: listen: expected a group" },
	{ "metrics = 9102;\n" SINK_OUT,
	    "1: metrics: expected a group" },
	{ "metrics = ( );\n" SINK_OUT,
	    "1: metrics: expected a group" },
	{ "limits = ( 1 );\n" SINK_OUT,
	    "1: limits: expected a group" },
	/* lists and their elements */
	{ "\nsinks = { name = \"a\"; kind = \"stdout\"; };\n",
	    "2: sinks: expected a list" },
	{ "sinks = [ \"a\" ];\n",
	    "1: sinks: expected a list" },
	{ "sinks = (\n\t{ name = \"a\"; kind = \"stdout\"; },\n\t\"b\" );\n",
	    "3: sinks.[1]: expected a group" },
	/* sink keys */
	{ "sinks = ( { name = 1; kind = \"stdout\"; } );\n",
	    "1: sinks.[0].name: expected a string" },
	{ "sinks = ( { name = \"a\"; kind = 1; } );\n",
	    "1: sinks.[0].kind: expected a string" },
	{ "sinks = ( { name = \"a\"; kind = \"file\"; path = 1; } );\n",
	    "1: sinks.[0].path: expected a string" },
};

START_TEST(test_config_wrong_type)
{
	expect_error(wrong_types[_i].text, wrong_types[_i].want);
}
END_TEST

static const struct error_case sink_errors[] = {
	/* the list itself */
	{ "listen = { port = 1; };\n",
	    "1: sinks: missing required key" },
	{ "",
	    "1: sinks: missing required key" },
	{ "# none\n\nsinks = ();\n",
	    "3: sinks: empty list (want at least one sink)" },
	/* names */
	{ "sinks = (\n\t{ name = \"a\"; kind = \"stdout\"; },\n"
	    "\t{ name = \"b\"; kind = \"stdout\"; },\n"
	    "\t{ kind = \"stdout\";\n\t  name = \"a\"; }\n);\n",
	    "5: sinks.[2].name: duplicate name \"a\" (also sinks.[0])" },
	{ "sinks = ( { name = \"a b\"; kind = \"stdout\"; } );\n",
	    "1: sinks.[0].name: invalid character ' ' "
	    "(want A-Z a-z 0-9 _ . -)" },
	{ "sinks = ( { name = \"caf\\xc3\\xa9\"; kind = \"stdout\"; } );\n",
	    "1: sinks.[0].name: invalid character '\\xc3' "
	    "(want A-Z a-z 0-9 _ . -)" },
	{ "sinks = ( { name = \"a/b\"; kind = \"stdout\"; } );\n",
	    "1: sinks.[0].name: invalid character '/' "
	    "(want A-Z a-z 0-9 _ . -)" },
	{ "sinks = ( { name = \"\"; kind = \"stdout\"; } );\n",
	    "1: sinks.[0].name: must not be empty" },
	{ "sinks = ( { name = \"0123456789012345678901234567890123456789"
	    "0123456789012345678901234\"; kind = \"stdout\"; } );\n",
	    "1: sinks.[0].name: 65 bytes > 64" },
	{ "sinks = (\n\t{\n\t\tkind = \"stdout\";\n\t}\n);\n",
	    "2: sinks.[0].name: missing required key" },
	/* kinds */
	{ "sinks = (\n\t{ name = \"q\"; kind = \"kafka\"; }\n);\n",
	    "2: sinks.[0].kind: unknown kind \"kafka\" "
	    "(want file, stdout, exec or postgres)" },
	{ "sinks = ( { name = \"q\"; kind = \"STDOUT\"; } );\n",
	    "1: sinks.[0].kind: unknown kind \"STDOUT\" "
	    "(want file, stdout, exec or postgres)" },
	{ "sinks = (\n\t{ name = \"q\";\n\t  path = \"p\"; }\n);\n",
	    "2: sinks.[0].kind: missing required key" },
	/* keys of one kind only */
	{ "sinks = (\n\t{ name = \"f\";\n\t  kind = \"file\"; }\n);\n",
	    "2: sinks.[0].path: missing required key" },
	{ "sinks = ( { name = \"f\"; kind = \"file\"; path = \"\"; } );\n",
	    "1: sinks.[0].path: must not be empty" },
	{ "sinks = (\n\t{ name = \"f\"; kind = \"file\"; path = \"p\"; },\n"
	    "\t{ name = \"o\"; kind = \"stdout\";\n\t  path = \"p\"; }\n);\n",
	    "4: sinks.[1].path: not valid for kind stdout" },
	{ "sinks = (\n\t{ name = \"o\"; fsync = false; kind = \"stdout\"; }\n"
	    ");\n",
	    "2: sinks.[0].fsync: not valid for kind stdout" },	/* kind = "postgres" */
	{ "sinks = ( { name = \"d\"; kind = \"postgres\"; } );\n",
	    "1: sinks.[0].conninfo: missing required key" },
	{ "sinks = ( { name = \"d\"; kind = \"postgres\";\n"
	    "\tconninfo = \"host=db password=hunter2\"; } );\n",
	    "2: sinks.[0].conninfo: must not hold the password: put it in "
	    "password_file" },
	{ "sinks = ( { name = \"d\"; kind = \"postgres\";\n"
	    "\tconninfo = \"postgresql://u:hunter2@db/sinch\"; } );\n",
	    "2: sinks.[0].conninfo: must not hold the password: put it in "
	    "password_file" },
	{ "sinks = ( { name = \"d\"; kind = \"postgres\";\n"
	    "\tconninfo = \"host=db dbname\"; } );\n",
	    "2: sinks.[0].conninfo: not a valid libpq connection string: "
	    "missing \"=\" after \"dbname\" in connection info string" },
	{ "sinks = ( { name = \"d\"; kind = \"postgres\";\n"
	    "\tconninfo = \"host=db password\"; } );\n",
	    "2: sinks.[0].conninfo: not a valid libpq connection string" },
	{ "sinks = ( { name = \"d\"; kind = \"postgres\";\n"
	    "\tconninfo = \"host=db colour=blue\"; } );\n",
	    "2: sinks.[0].conninfo: not a valid libpq connection string: "
	    "invalid connection option \"colour\"" },
	{ "sinks = ( { name = \"d\"; kind = \"postgres\"; conninfo = \"\";\n"
	    "\ttable = \"Reports\"; } );\n",
	    "2: sinks.[0].table: \"Reports\" is not a table name ([schema.]name, "
	    "lower-case letters, digits and _, at most 63 bytes each)" },
	{ "sinks = ( { name = \"d\"; kind = \"postgres\"; conninfo = \"\";\n"
	    "\ttable = \"a.b.c\"; } );\n",
	    "2: sinks.[0].table: \"a.b.c\" is not a table name ([schema.]name, "
	    "lower-case letters, digits and _, at most 63 bytes each)" },
	{ "sinks = ( { name = \"d\"; kind = \"postgres\"; conninfo = \"\";\n"
	    "\ttable = \"1st\"; } );\n",
	    "2: sinks.[0].table: \"1st\" is not a table name ([schema.]name, "
	    "lower-case letters, digits and _, at most 63 bytes each)" },
	{ "sinks = ( { name = \"d\"; kind = \"postgres\"; conninfo = \"\";\n"
	    "\tconnections = 0; } );\n",
	    "2: sinks.[0].connections: 0 < 1" },
	{ "sinks = ( { name = \"d\"; kind = \"postgres\"; conninfo = \"\";\n"
	    "\tstatement_timeout_ms = 99; } );\n",
	    "2: sinks.[0].statement_timeout_ms: 99 < 100" },
	{ "sinks = ( { name = \"d\"; kind = \"postgres\"; conninfo = \"\";\n"
	    "\tqueue_wait_ms = 60001; } );\n",
	    "2: sinks.[0].queue_wait_ms: 60001 > 60000" },
	{ "sinks = ( { name = \"d\"; kind = \"postgres\"; conninfo = \"\";\n"
	    "\tpath = \"p\"; } );\n",
	    "2: sinks.[0].path: not valid for kind postgres" },
};

START_TEST(test_config_sink_error)
{
	expect_error(sink_errors[_i].text, sink_errors[_i].want);
}
END_TEST

static const struct error_case exec_errors[] = {
	/* command: required, strings, at least the program */
	{ "sinks = (\n\t{ name = \"x\";\n\t  kind = \"exec\"; }\n);\n",
	    "2: sinks.[0].command: missing required key" },
	{ "sinks = ( { name = \"x\"; kind = \"exec\";\n"
	    "\tcommand = [ ]; } );\n",
	    "2: sinks.[0].command: empty list (want at least the program)" },
	{ "sinks = ( { name = \"x\"; kind = \"exec\";\n"
	    "\tcommand = ( ); } );\n",
	    "2: sinks.[0].command: empty list (want at least the program)" },
	{ "sinks = ( { name = \"x\"; kind = \"exec\";\n"
	    "\tcommand = \"/bin/sh\"; } );\n",
	    "2: sinks.[0].command: expected an array or list of strings" },
	{ "sinks = ( { name = \"x\"; kind = \"exec\";\n"
	    "\tcommand = { a = \"/bin/sh\"; }; } );\n",
	    "2: sinks.[0].command: expected an array or list of strings" },
	{ "sinks = ( { name = \"x\"; kind = \"exec\";\n"
	    "\tcommand = [ 1 ]; } );\n",
	    "2: sinks.[0].command.[0]: expected a string" },
	{ "sinks = ( { name = \"x\"; kind = \"exec\";\n"
	    "\tcommand = (\n\t\t\"/bin/sh\",\n\t\t1 ); } );\n",
	    "4: sinks.[0].command.[1]: expected a string" },
	{ "sinks = ( { name = \"x\"; kind = \"exec\";\n"
	    "\tcommand = ( \"/bin/sh\", [ \"-c\" ] ); } );\n",
	    "2: sinks.[0].command.[1]: expected a string" },
	/* An empty argument is an argument; an empty program is not. */
	{ "sinks = ( { name = \"x\"; kind = \"exec\";\n"
	    "\tcommand = [ \"\" ]; } );\n",
	    "2: sinks.[0].command: \"\" must be an absolute path" },
	/* command[0]: an absolute path to an executable file */
	{ "sinks = ( { name = \"x\"; kind = \"exec\";\n"
	    "\tcommand = [ \"bin/sh\" ]; } );\n",
	    "2: sinks.[0].command: \"bin/sh\" must be an absolute path" },
	{ "sinks = ( { name = \"x\"; kind = \"exec\";\n"
	    "\tcommand = [ \"true\", \"/bin/true\" ]; } );\n",
	    "2: sinks.[0].command: \"true\" must be an absolute path" },
	{ "sinks = ( { name = \"x\"; kind = \"exec\";\n"
	    "\tcommand = [ \"/no/such\" ]; } );\n",
	    "2: sinks.[0].command: \"/no/such\" does not exist" },
	{ "sinks = ( { name = \"x\"; kind = \"exec\";\n"
	    "\tcommand = [ \"/bin/sh/x\" ]; } );\n",
	    "2: sinks.[0].command: \"/bin/sh/x\" does not exist" },
	{ "sinks = ( { name = \"x\"; kind = \"exec\";\n"
	    "\tcommand = [ \"/\" ]; } );\n",
	    "2: sinks.[0].command: \"/\" is not a regular file" },
	/* env: a group of strings with plain, unreserved names */
	{ "sinks = ( " EXEC_SH "\n\tenv = [ \"TZ=UTC\" ]; } );\n",
	    "2: sinks.[0].env: expected a group" },
	{ "sinks = ( " EXEC_SH "\n\tenv = \"TZ=UTC\"; } );\n",
	    "2: sinks.[0].env: expected a group" },
	{ "sinks = ( " EXEC_SH "\n\tenv = {\n\t\tTZ = \"UTC\";\n"
	    "\t\tMY-VAR = \"x\"; }; } );\n",
	    "4: sinks.[0].env.MY-VAR: invalid character '-' "
	    "(want A-Z a-z 0-9 _, no digit first)" },
	{ "sinks = ( " EXEC_SH "\n\tenv = { A*B = \"x\"; }; } );\n",
	    "2: sinks.[0].env.A*B: invalid character '*' "
	    "(want A-Z a-z 0-9 _, no digit first)" },
	{ "sinks = ( " EXEC_SH "\n\tenv = {\n\t\tSINCH_X = \"1\"; }; } );\n",
	    "3: sinks.[0].env.SINCH_X: names starting with SINCH_ are "
	    "reserved" },
	{ "sinks = ( " EXEC_SH "\n\tenv = { SINCH_ = \"1\"; }; } );\n",
	    "2: sinks.[0].env.SINCH_: names starting with SINCH_ are "
	    "reserved" },
	{ "sinks = ( " EXEC_SH "\n\tenv = {\n\t\tTZ = 1; }; } );\n",
	    "3: sinks.[0].env.TZ: expected a string" },
	{ "sinks = ( " EXEC_SH "\n\tenv = { TZ = true; }; } );\n",
	    "2: sinks.[0].env.TZ: expected a string" },
	{ "sinks = ( " EXEC_SH "\n\tenv = { G = { A = \"1\"; }; }; } );\n",
	    "2: sinks.[0].env.G: expected a string" },
	{ "sinks = ( " EXEC_SH "\n\tenv = { L = [ \"a\" ]; }; } );\n",
	    "2: sinks.[0].env.L: expected a string" },
	/* the integers */
	{ "sinks = ( " EXEC_SH "\n\ttimeout_ms = 0; } );\n",
	    "2: sinks.[0].timeout_ms: 0 < 1" },
	{ "sinks = ( " EXEC_SH "\n\ttimeout_ms = 3600001; } );\n",
	    "2: sinks.[0].timeout_ms: 3600001 > 3600000" },
	{ "sinks = ( " EXEC_SH "\n\ttimeout_ms = \"10s\"; } );\n",
	    "2: sinks.[0].timeout_ms: expected an integer" },
	{ "sinks = ( " EXEC_SH "\n\tmax_concurrent = 0; } );\n",
	    "2: sinks.[0].max_concurrent: 0 < 1" },
	{ "sinks = ( " EXEC_SH "\n\tmax_concurrent = 1025; } );\n",
	    "2: sinks.[0].max_concurrent: 1025 > 1024" },
	{ "sinks = ( " EXEC_SH "\n\tqueue_wait_ms = -1; } );\n",
	    "2: sinks.[0].queue_wait_ms: -1 < 0" },
	{ "sinks = ( " EXEC_SH "\n\tqueue_wait_ms = 60001; } );\n",
	    "2: sinks.[0].queue_wait_ms: 60001 > 60000" },
	{ "sinks = ( " EXEC_SH "\n\tprotocol = \"json\"; } );\n",
	    "2: sinks.[0].protocol: unknown protocol \"json\" (want exec or "
	    "lines)" },
	{ "sinks = ( " EXEC_SH "\n\tprotocol = 1; } );\n",
	    "2: sinks.[0].protocol: expected a string" },
	{ "sinks = ( { name = \"f\"; kind = \"file\"; path = \"p\";\n"
	    "\tprotocol = \"lines\"; } );\n",
	    "2: sinks.[0].protocol: not valid for kind file" },
	{ "sinks = ( { name = \"f\"; kind = \"file\"; path = \"p\";\n"
	    "\tqueue_wait_ms = 5; } );\n",
	    "2: sinks.[0].queue_wait_ms: not valid for kind file" },
	/* 0 means no waiting for exec; a postgres pool always waits. */
	{ "sinks = ( { name = \"d\"; kind = \"postgres\"; conninfo = \"\";\n"
	    "\tqueue_wait_ms = 0; } );\n",
	    "2: sinks.[0].queue_wait_ms: 0 < 1" },
	/* keys of the exec kind only */
	{ "sinks = ( { name = \"f\"; kind = \"file\"; path = \"p\";\n"
	    "\tcommand = [ \"/bin/sh\" ]; } );\n",
	    "2: sinks.[0].command: not valid for kind file" },
	{ "sinks = ( { name = \"f\"; kind = \"file\"; path = \"p\";\n"
	    "\tenv = { TZ = \"UTC\"; }; } );\n",
	    "2: sinks.[0].env: not valid for kind file" },
	{ "sinks = ( { name = \"f\"; kind = \"file\"; path = \"p\";\n"
	    "\ttimeout_ms = 5; } );\n",
	    "2: sinks.[0].timeout_ms: not valid for kind file" },
	{ "sinks = ( { name = \"o\"; kind = \"stdout\";\n"
	    "\tmax_concurrent = 5; } );\n",
	    "2: sinks.[0].max_concurrent: not valid for kind stdout" },
	/* keys of the file kind only */
	{ "sinks = ( " EXEC_SH "\n\tpath = \"p\"; } );\n",
	    "2: sinks.[0].path: not valid for kind exec" },
	{ "sinks = ( " EXEC_SH "\n\tfsync = true; } );\n",
	    "2: sinks.[0].fsync: not valid for kind exec" },
};

START_TEST(test_config_exec_error)
{
	expect_error(exec_errors[_i].text, exec_errors[_i].want);
}
END_TEST

static const struct error_case filter_errors[] = {
	{ "sinks = ( { name = \"o\"; kind = \"stdout\";\n"
	    "\ttypes = [ ]; } );\n",
	    "2: sinks.[0].types: empty list (want at least one type)" },
	{ "sinks = ( { name = \"f\"; kind = \"file\"; path = \"p\";\n"
	    "\tstatuses = ( ); } );\n",
	    "2: sinks.[0].statuses: empty list (want at least one status)" },
	{ "sinks = ( " EXEC_SH "\n\ttypes = \"mt_text\"; } );\n",
	    "2: sinks.[0].types: expected an array or list of strings" },
	{ "sinks = ( " EXEC_SH "\n\tstatuses = [ 1, 2 ]; } );\n",
	    "2: sinks.[0].statuses.[0]: expected a string" },
	{ "sinks = ( " EXEC_SH "\n\ttypes = [ \"mt_text\", \"\" ]; } );\n",
	    "2: sinks.[0].types.[1]: must not be empty" },
	{ "sinks = ( { name = \"o\"; kind = \"stdout\";\n"
	    "\tstatuses = [ \"Delivered\", \"Failed\",\n"
	    "\t\t\"Delivered\" ]; } );\n",
	    "3: sinks.[0].statuses.[2]: duplicate value \"Delivered\" "
	    "(also sinks.[0].statuses.[0])" },
	{ "sinks = (\n\t{ name = \"o\"; kind = \"stdout\"; },\n"
	    "\t" EXEC_SH " types = ( \"a\", \"b\", \"b\" ); }\n);\n",
	    "3: sinks.[1].types.[2]: duplicate value \"b\" "
	    "(also sinks.[1].types.[1])" },
	{ "sinks = ( { name = \"o\"; kind = \"stdout\";\n"
	    "\tfinal_only = 1; } );\n",
	    "2: sinks.[0].final_only: expected a boolean" },
	/* libconfig itself wants one type in an array */
	{ "sinks = ( { name = \"o\"; kind = \"stdout\";\n"
	    "\ttypes = [ \"a\", 1 ]; } );\n",
	    "2: syntax error: mismatched element type in array" },
};

START_TEST(test_config_filter_error)
{
	expect_error(filter_errors[_i].text, filter_errors[_i].want);
}
END_TEST

static const struct error_case dedup_errors[] = {
	{ "\ndedup = 100000;\n" SINK_OUT,
	    "2: dedup: expected a group" },
	{ "dedup = {\n\tentries = 10000001;\n};\n" SINK_OUT,
	    "2: dedup.entries: 10000001 > 10000000" },
	{ "dedup = { entries = -1; };\n" SINK_OUT,
	    "1: dedup.entries: -1 < 0" },
	{ "dedup = { ttl_s = 0; };\n" SINK_OUT,
	    "1: dedup.ttl_s: 0 < 1" },
	{ "dedup = { ttl_s = 604801; };\n" SINK_OUT,
	    "1: dedup.ttl_s: 604801 > 604800" },
	{ "dedup = { ttl_s = 1.5; };\n" SINK_OUT,
	    "1: dedup.ttl_s: expected an integer" },
	{ "dedup = {\n\tstate_file = \"\";\n};\n" SINK_OUT,
	    "2: dedup.state_file: must not be empty" },
	{ "dedup = { state_file = true; };\n" SINK_OUT,
	    "1: dedup.state_file: expected a string" },
	{ "dedup = { entries = 5; ttl = 5; };\n" SINK_OUT,
	    "1: dedup.ttl: unknown key" },
	{ "limits = { max_in_flight = 0; };\n" SINK_OUT,
	    "1: limits.max_in_flight: 0 < 1" },
	{ "limits = { max_in_flight = 1000001; };\n" SINK_OUT,
	    "1: limits.max_in_flight: 1000001 > 1000000" },
};

START_TEST(test_config_dedup_error)
{
	expect_error(dedup_errors[_i].text, dedup_errors[_i].want);
}
END_TEST

/* "\"s\"", or "\"<first 40 bytes of s>\"..." as errors quote a value. */
static void
quoted(char *dst, size_t len, const char *s)
{
	snprintf(dst, len, "\"%.40s\"%s", s, strlen(s) > 40 ? "..." : "");
}

START_TEST(test_config_exec_not_executable)
{
	char	 prog[PATH_MAX], text[PATH_MAX + 128], want[PATH_MAX + 128];
	char	 q[64];

	snprintf(prog, sizeof(prog), "%s",
	    fixture_write("hook", "#!/bin/sh\nexit 0\n"));
	ck_assert_int_eq(chmod(prog, 0644), 0);
	snprintf(text, sizeof(text), "sinks = (\n\t{ name = \"h\"; "
	    "kind = \"exec\";\n\t  command = [ \"%s\" ]; }\n);\n", prog);
	quoted(q, sizeof(q), prog);
	snprintf(want, sizeof(want), "3: sinks.[0].command: %s is not "
	    "executable", q);
	expect_error(text, want);
}
END_TEST

/* 64 sinks load; the 65th is one too many for dedup's bit mask. */
START_TEST(test_config_too_many_sinks)
{
	struct config	*cfg;
	char		 text[8192];
	size_t		 n, used;
	int		 i;

	for (n = CONFIG_SINKS_MAX; n <= CONFIG_SINKS_MAX + 1; n++) {
		used = (size_t)snprintf(text, sizeof(text), "\nsinks = (\n");
		for (i = 0; i < (int)n; i++)
			used += (size_t)snprintf(text + used,
			    sizeof(text) - used, "\t{ name = \"s%d\"; "
			    "kind = \"stdout\"; }%s\n", i,
			    i + 1 < (int)n ? "," : "");
		snprintf(text + used, sizeof(text) - used, ");\n");
		ck_assert_uint_lt(used + 4, sizeof(text));
		if (n == CONFIG_SINKS_MAX) {
			cfg = expect_load(text);
			ck_assert_uint_eq(cfg->nsinks, CONFIG_SINKS_MAX);
			config_free(cfg);
		} else
			expect_error(text, "2: sinks: 65 sinks > 64");
	}
}
END_TEST

static const struct error_case value_errors[] = {
	/* log.level */
	{ "log = {\n\tlevel = \"verbose\";\n};\n" SINK_OUT,
	    "2: log.level: unknown level \"verbose\" "
	    "(want error, warn, info or debug)" },
	{ "log = { level = \"INFO\"; };\n" SINK_OUT,
	    "1: log.level: unknown level \"INFO\" "
	    "(want error, warn, info or debug)" },
	/* listen.address */
	{ "listen = {\n\taddress = \"localhost\";\n};\n" SINK_OUT,
	    "2: listen.address: \"localhost\" is not a numeric IPv4 or IPv6 "
	    "address" },
	{ "listen = { address = \"256.1.1.1\"; };\n" SINK_OUT,
	    "1: listen.address: \"256.1.1.1\" is not a numeric IPv4 or IPv6 "
	    "address" },
	{ "listen = { address = \"[::1]\"; };\n" SINK_OUT,
	    "1: listen.address: \"[::1]\" is not a numeric IPv4 or IPv6 "
	    "address" },
	{ "listen = { address = \"\"; };\n" SINK_OUT,
	    "1: listen.address: \"\" is not a numeric IPv4 or IPv6 address" },
	/* metrics.address, as listen.address */
	{ "metrics = {\n\taddress = \"localhost\";\n};\n" SINK_OUT,
	    "2: metrics.address: \"localhost\" is not a numeric IPv4 or "
	    "IPv6 address" },
	{ "metrics = { address = \"127.0.0.1:9102\"; };\n" SINK_OUT,
	    "1: metrics.address: \"127.0.0.1:9102\" is not a numeric IPv4 "
	    "or IPv6 address" },
	/* metrics.port: not the callback port on an address both cover */
	{ "listen = { port = 9102; };\nmetrics = { };\n" SINK_OUT,
	    "2: metrics.port: 9102 is listen.port too, on an address both "
	    "cover" },
	{ "listen = { port = 80; };\n\nmetrics = {\n\tport = 80;\n};\n"
	    SINK_OUT,
	    "4: metrics.port: 80 is listen.port too, on an address both "
	    "cover" },
	{ "listen = { address = \"0.0.0.0\"; port = 80; };\n"
	    "metrics = { port = 80; };\n" SINK_OUT,
	    "2: metrics.port: 80 is listen.port too, on an address both "
	    "cover" },
	{ "listen = { address = \"::1\"; port = 80; };\n"
	    "metrics = { address = \"0:0::1\"; port = 80; };\n" SINK_OUT,
	    "2: metrics.port: 80 is listen.port too, on an address both "
	    "cover" },
	{ "listen = { port = 80; };\n"
	    "metrics = { address = \"::\"; port = 80; };\n" SINK_OUT,
	    "2: metrics.port: 80 is listen.port too, on an address both "
	    "cover" },
	/* listen.path */
	{ "listen = {\n\tpath = \"sinch/sms\";\n};\n" SINK_OUT,
	    "2: listen.path: \"sinch/sms\" does not start with '/'" },
	{ "listen = { path = \"\"; };\n" SINK_OUT,
	    "1: listen.path: \"\" does not start with '/'" },
	{ "listen = { path = \"/sinch sms\"; };\n" SINK_OUT,
	    "1: listen.path: invalid character ' ' (no whitespace, control "
	    "characters, '?' or '#')" },
	{ "listen = { path = \"/sinch\\tsms\"; };\n" SINK_OUT,
	    "1: listen.path: invalid character '\\x09' (no whitespace, "
	    "control characters, '?' or '#')" },
	{ "listen = { path = \"/sinch?x=1\"; };\n" SINK_OUT,
	    "1: listen.path: invalid character '?' (no whitespace, control "
	    "characters, '?' or '#')" },
};

START_TEST(test_config_value_error)
{
	expect_error(value_errors[_i].text, value_errors[_i].want);
}
END_TEST

START_TEST(test_config_log_levels)
{
	static const struct {
		const char	*name;
		enum log_level	 level;
	} levels[] = {
		{ "error", LOG_LEVEL_ERROR },
		{ "warn", LOG_LEVEL_WARN },
		{ "info", LOG_LEVEL_INFO },
		{ "debug", LOG_LEVEL_DEBUG },
	};
	struct config	*cfg;
	char		 text[256];
	size_t		 i;

	for (i = 0; i < nitems(levels); i++) {
		snprintf(text, sizeof(text), "log = { level = \"%s\"; };\n"
		    SINK_OUT, levels[i].name);
		cfg = expect_load(text);
		ck_assert_int_eq(cfg->log_level, levels[i].level);
		ck_assert_str_eq(config_log_level_name(cfg->log_level),
		    levels[i].name);
		config_free(cfg);
	}
}
END_TEST

START_TEST(test_config_addresses)
{
	static const char *const ok[] = {
		"0.0.0.0", "192.0.2.1", "::", "::1", "2001:db8::10",
		"::ffff:192.0.2.1",
	};
	struct config	*cfg;
	char		 text[256];
	size_t		 i;

	for (i = 0; i < nitems(ok); i++) {
		snprintf(text, sizeof(text),
		    "listen = { address = \"%s\"; };\n" SINK_OUT, ok[i]);
		cfg = expect_load(text);
		ck_assert_str_eq(cfg->address, ok[i]);
		config_free(cfg);
	}
}
END_TEST

START_TEST(test_config_path_length)
{
	struct config	*cfg;
	char		 path[1100], text[1300], want[64];

	path[0] = '/';
	memset(path + 1, 'p', 1023);
	path[1024] = '\0';
	snprintf(text, sizeof(text),
	    "listen = { path = \"%s\"; };\n" SINK_OUT, path);
	cfg = expect_load(text);
	ck_assert_uint_eq(strlen(cfg->callback_path), 1024);
	config_free(cfg);

	snprintf(text, sizeof(text),
	    "listen = { path = \"%sp\"; };\n" SINK_OUT, path);
	snprintf(want, sizeof(want), "1: listen.path: 1025 bytes > 1024");
	expect_error(text, want);
}
END_TEST

START_TEST(test_config_sink_name_length)
{
	struct config	*cfg;
	char		 name[65], text[256];

	memset(name, 'n', 64);
	name[64] = '\0';
	snprintf(text, sizeof(text), "sinks = ( { name = \"%s\"; "
	    "kind = \"stdout\"; } );\n", name);
	cfg = expect_load(text);
	ck_assert_str_eq(cfg->sinks[0].name, name);
	config_free(cfg);
}
END_TEST

static const struct error_case text_errors[] = {
	/* libconfig's own errors */
	{ "listen = {\n\tport = ;\n};\n" SINK_OUT,
	    "2: syntax error" },
	{ SINK_OUT "listen = {\n\taddress = \"::1;\n};\n",
	    "3: syntax error: unterminated string" },
	/* libconfig 1.5 would ignore the rest of the file */
	{ SINK_OUT "\n\n\"open string\nbogus = 1;\n",
	    "4: syntax error: unterminated string" },
	{ SINK_OUT "/* closed\n comment */\n/* open comment\nbogus = 1;\n",
	    "4: syntax error: unterminated comment" },
	{ "limits = { threads = 2; };\n" SINK_OUT "limits = { };\n",
	    "3: syntax error: duplicate setting name" },
	/* what libconfig 1.5 would read wrongly */
	{ "listen = {\n\tport = 4294975488;\n};\n" SINK_OUT,
	    "2: integer 4294975488 out of 32-bit range (write 4294975488L)" },
	{ "limits = { shutdown_timeout_s = -3000000000; };\n" SINK_OUT,
	    "1: integer -3000000000 out of 32-bit range "
	    "(write -3000000000L)" },
	{ "listen = { port = 0x100001F90; };\n" SINK_OUT,
	    "1: integer 0x100001F90 out of 32-bit range "
	    "(write 0x100001F90L)" },
	{ "/* big */\nlimits = { max_body_bytes = 99999999999999999999; };\n"
	    SINK_OUT,
	    "2: integer 99999999999999999999 out of 32-bit range "
	    "(write 99999999999999999999L)" },
	{ "listen = { port = 4294975488L; };\n" SINK_OUT,
	    "1: listen.port: 4294975488 > 65535" },
	{ "# settings\n@include \"other.conf\"\n" SINK_OUT,
	    "2: @include is not supported" },
};

START_TEST(test_config_text_error)
{
	expect_error(text_errors[_i].text, text_errors[_i].want);
}
END_TEST

/* Numbers in comments, strings and floats are not integers to check. */
START_TEST(test_config_big_numbers_elsewhere)
{
	struct config	*cfg;

	cfg = expect_load(
	    "# 99999999999 in a comment\n"
	    "// and 99999999999 here\n"
	    "/* and\n 99999999999 */\n"
	    "listen = { path = \"/99999999999\"; };\n"
	    "sinks = ( { name = \"n99999999999\"; kind = \"file\";\n"
	    "\tpath = \"\\\"99999999999\"; } );\n");
	ck_assert_str_eq(cfg->callback_path, "/99999999999");
	ck_assert_str_eq(cfg->sinks[0].name, "n99999999999");
	ck_assert_str_eq(cfg->sinks[0].path, "\"99999999999");
	config_free(cfg);

	/* A float is refused for being a float, not for its size. */
	expect_error("\nlimits = { threads = 30000000000.0; };\n" SINK_OUT,
	    "2: limits.threads: expected an integer");
	expect_error("limits = { threads = 1e10; };\n" SINK_OUT,
	    "1: limits.threads: expected an integer");
}
END_TEST

START_TEST(test_config_missing_file)
{
	char	 path[PATH_MAX], want[PATH_MAX + 64], err[PATH_MAX + 128];

	snprintf(path, sizeof(path), "%s/nope.conf", fixture_tmpdir());
	ck_assert_ptr_null(config_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: unable to open: No such file or "
	    "directory", path);
	ck_assert_str_eq(err, want);

	ck_assert_ptr_null(config_load(fixture_tmpdir(), err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: unable to read: Is a directory",
	    fixture_tmpdir());
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_config_nul_byte)
{
	char	 path[PATH_MAX], want[PATH_MAX + 64], err[PATH_MAX + 128];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/nul.conf", fixture_tmpdir());
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(SINK_OUT "\0x = 1;\n",
	    sizeof(SINK_OUT "\0x = 1;\n") - 1, 1, f), 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_ptr_null(config_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: contains a NUL byte", path);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_config_small_error_buffer)
{
	char	 path[PATH_MAX], err[8];

	memset(err, 'x', sizeof(err));
	ck_assert_ptr_null(load("bogus = 1;\n", path, err, sizeof(err)));
	ck_assert_uint_eq(strlen(err), sizeof(err) - 1);
	ck_assert(strncmp(err, path, sizeof(err) - 1) == 0);
	/* No buffer at all is allowed too. */
	ck_assert_ptr_null(load("bogus = 1;\n", path, NULL, 0));
}
END_TEST

START_TEST(test_config_names)
{
	config_free(NULL);
	ck_assert_str_eq(config_log_level_name(LOG_LEVEL_ERROR), "error");
	ck_assert_str_eq(config_log_level_name(LOG_LEVEL_WARN), "warn");
	ck_assert_str_eq(config_log_level_name(LOG_LEVEL_INFO), "info");
	ck_assert_str_eq(config_log_level_name(LOG_LEVEL_DEBUG), "debug");
	ck_assert_str_eq(config_sink_kind_name(SINK_KIND_FILE), "file");
	ck_assert_str_eq(config_sink_kind_name(SINK_KIND_STDOUT), "stdout");
	ck_assert_str_eq(config_sink_kind_name(SINK_KIND_EXEC), "exec");
}
END_TEST

/* Every key of auth and tls, and the forms each value may take. */
START_TEST(test_config_auth_tls)
{
	struct config				*cfg;
	const struct oauth2_client_config	*c;
	char					 cert[PATH_MAX], key[PATH_MAX];
	char					 ca[PATH_MAX];
	char					 text[3 * PATH_MAX + 2048];

	snprintf(cert, sizeof(cert), "%s", fixture_write("server.pem",
	    "-----BEGIN CERTIFICATE-----\n"));
	snprintf(key, sizeof(key), "%s", fixture_write("server.key",
	    "-----BEGIN PRIVATE KEY-----\n"));
	snprintf(ca, sizeof(ca), "%s", fixture_write("ca.pem",
	    "-----BEGIN CERTIFICATE-----\n"));
	snprintf(text, sizeof(text),
	    "auth = {\n"
	    "\tsignature = { secrets = [ \"s3cret\" ];\n"
	    "\t\tsecret_files = [ \"/etc/sinch-webhookd/sig1\" ];\n"
	    "\t\tmax_skew_s = 604800; };\n"
	    "\toauth2 = {\n"
	    "\t\tclients = ( { id = \"sinch\";\n"
	    "\t\t\tsecret_file = \"oauth-secret\"; },\n"
	    "\t\t\t{ secret = \"t0ken\"; id = \"Other~!\"; } );\n"
	    "\t\tkey_file = \"oauth-key\"; token_ttl_s = 60;\n"
	    "\t\tpath = \"/oauth2/token2\"; };\n"
	    "\tallow_from = [ \"203.0.113.0/24\", \"2001:db8::/32\",\n"
	    "\t\t\"192.0.2.7\", \"::/0\", \"0.0.0.0/0\" ];\n"
	    "\ttrusted_proxies = ( \"127.0.0.1/32\", \"::1\" );\n"
	    "\tgrace_until = \"2026-12-01T00:00:00Z\";\n"
	    "};\n"
	    "tls = { cert = \"%s\"; key = \"%s\"; client_ca = \"%s\";\n"
	    "\tclient_fingerprints = [ \"sha256:" FP_PAIRS "\",\n"
	    "\t\t\"SHA256:" FP_HEX "\" ]; };\n"
	    SINK_OUT, cert, key, ca);
	cfg = expect_load(text);
	ck_assert(cfg->has_signature);
	ck_assert_uint_eq(cfg->nsig_secrets, 1);
	ck_assert_str_eq(cfg->sig_secrets[0], "s3cret");
	ck_assert_ptr_null(cfg->sig_secrets[1]);
	ck_assert_uint_eq(cfg->nsig_secret_files, 1);
	ck_assert_str_eq(cfg->sig_secret_files[0], "/etc/sinch-webhookd/sig1");
	ck_assert_ptr_null(cfg->sig_secret_files[1]);
	ck_assert_int_eq(cfg->sig_max_skew_s, 604800);
	ck_assert(!cfg->has_basic);
	ck_assert_ptr_null(cfg->basic_username);
	ck_assert(cfg->has_oauth2);
	ck_assert_uint_eq(cfg->noauth2_clients, 2);
	c = &cfg->oauth2_clients[0];
	ck_assert_str_eq(c->id, "sinch");
	ck_assert_ptr_null(c->secret);
	ck_assert_str_eq(c->secret_file, "oauth-secret");
	c = &cfg->oauth2_clients[1];
	ck_assert_str_eq(c->id, "Other~!");
	ck_assert_str_eq(c->secret, "t0ken");
	ck_assert_ptr_null(c->secret_file);
	ck_assert_str_eq(cfg->oauth2_key_file, "oauth-key");
	ck_assert_int_eq(cfg->oauth2_token_ttl_s, 60);
	ck_assert_str_eq(cfg->oauth2_path, "/oauth2/token2");
	ck_assert_uint_eq(cfg->nallow_from, 5);
	ck_assert_str_eq(cfg->allow_from[0], "203.0.113.0/24");
	ck_assert_str_eq(cfg->allow_from[1], "2001:db8::/32");
	ck_assert_str_eq(cfg->allow_from[2], "192.0.2.7");
	ck_assert_str_eq(cfg->allow_from[3], "::/0");
	ck_assert_str_eq(cfg->allow_from[4], "0.0.0.0/0");
	ck_assert_ptr_null(cfg->allow_from[5]);
	ck_assert_uint_eq(cfg->ntrusted_proxies, 2);
	ck_assert_str_eq(cfg->trusted_proxies[0], "127.0.0.1/32");
	ck_assert_str_eq(cfg->trusted_proxies[1], "::1");
	ck_assert_ptr_null(cfg->trusted_proxies[2]);
	ck_assert(cfg->has_grace);
	ck_assert_int_eq(cfg->grace_until, 1796083200LL);
	ck_assert_str_eq(cfg->tls_cert, cert);
	ck_assert_str_eq(cfg->tls_key, key);
	ck_assert_str_eq(cfg->tls_client_ca, ca);
	/* Written alike: "sha256:" and lower-case hex, no separators. */
	ck_assert_uint_eq(cfg->ntls_client_fingerprints, 2);
	ck_assert_str_eq(cfg->tls_client_fingerprints[0], "sha256:"
	    "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
	ck_assert_str_eq(cfg->tls_client_fingerprints[1], "sha256:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	ck_assert_ptr_null(cfg->tls_client_fingerprints[2]);
	config_free(cfg);
}
END_TEST

/* The other ways: Basic, files or inline, defaults of each group. */
START_TEST(test_config_auth_variants)
{
	struct config	*cfg;

	cfg = expect_load("auth = {\n"
	    "\tsignature = { secret_files = [ \"old\", \"new\" ]; };\n"
	    "\tbasic = { username = \"sinch\"; password_file = \"pw\"; };\n"
	    "};\n" SINK_OUT);
	ck_assert(cfg->has_signature);
	ck_assert_ptr_null(cfg->sig_secrets);
	ck_assert_uint_eq(cfg->nsig_secrets, 0);
	ck_assert_uint_eq(cfg->nsig_secret_files, 2);
	ck_assert_str_eq(cfg->sig_secret_files[0], "old");
	ck_assert_str_eq(cfg->sig_secret_files[1], "new");
	ck_assert_int_eq(cfg->sig_max_skew_s, 0);
	ck_assert(cfg->has_basic);
	ck_assert_str_eq(cfg->basic_username, "sinch");
	ck_assert_ptr_null(cfg->basic_password);
	ck_assert_str_eq(cfg->basic_password_file, "pw");
	ck_assert(!cfg->has_oauth2);
	ck_assert(!cfg->has_grace);
	ck_assert_ptr_null(cfg->allow_from);
	ck_assert_ptr_null(cfg->tls_cert);
	config_free(cfg);

	/* Two inline secrets, one list empty; Basic with a password. */
	cfg = expect_load("auth = {\n"
	    "\tsignature = { secrets = ( \"a\", \"a\" ); secret_files = [ ];\n"
	    "\t\tmax_skew_s = 0; };\n"
	    "\tbasic = { username = \"caf\\xc3\\xa9 user\";\n"
	    "\t\tpassword = \"p\"; };\n"
	    "};\n" SINK_OUT);
	ck_assert_uint_eq(cfg->nsig_secrets, 2);
	ck_assert_str_eq(cfg->sig_secrets[1], "a");
	ck_assert_uint_eq(cfg->nsig_secret_files, 0);
	ck_assert_ptr_nonnull(cfg->sig_secret_files);
	ck_assert_ptr_null(cfg->sig_secret_files[0]);
	ck_assert_str_eq(cfg->basic_username, "caf\xc3\xa9 user");
	ck_assert_str_eq(cfg->basic_password, "p");
	ck_assert_ptr_null(cfg->basic_password_file);
	config_free(cfg);

	/* OAuth 2.0 with its defaults; a listen.path of its own. */
	cfg = expect_load("listen = { path = \"/cb\"; };\n"
	    "auth = { oauth2 = { key_file = \"k\";\n"
	    "\tclients = ( { id = \"a\"; secret = \"s\"; } ); }; };\n"
	    SINK_OUT);
	ck_assert(cfg->has_oauth2);
	ck_assert(!cfg->has_signature);
	ck_assert(!cfg->has_basic);
	ck_assert_uint_eq(cfg->noauth2_clients, 1);
	ck_assert_str_eq(cfg->oauth2_clients[0].id, "a");
	ck_assert_str_eq(cfg->oauth2_clients[0].secret, "s");
	ck_assert_int_eq(cfg->oauth2_token_ttl_s, 3600);
	ck_assert_str_eq(cfg->oauth2_path, "/oauth2/token");
	config_free(cfg);

	cfg = expect_load("auth = { oauth2 = { key_file = \"k\";\n"
	    "\ttoken_ttl_s = 86400; path = \"/sinch/sms/token\";\n"
	    "\tclients = ( { id = \"a\"; secret_file = \"f\"; } ); }; };\n"
	    SINK_OUT);
	ck_assert_int_eq(cfg->oauth2_token_ttl_s, 86400);
	ck_assert_str_eq(cfg->oauth2_path, "/sinch/sms/token");
	config_free(cfg);

	/* Sources and grace alone; TLS without client certificates. */
	cfg = expect_load("auth = { allow_from = [ \"10.0.0.0/8\" ];\n"
	    "\tgrace_until = \"1970-01-01T00:00:00Z\"; };\n"
	    "tls = { " TLS_OK "};\n" SINK_OUT);
	ck_assert(!cfg->has_signature && !cfg->has_basic && !cfg->has_oauth2);
	ck_assert_uint_eq(cfg->nallow_from, 1);
	ck_assert_ptr_null(cfg->trusted_proxies);
	ck_assert(cfg->has_grace);
	ck_assert_int_eq(cfg->grace_until, 0);
	ck_assert_str_eq(cfg->tls_cert, READABLE);
	ck_assert_str_eq(cfg->tls_key, READABLE);
	ck_assert_ptr_null(cfg->tls_client_ca);
	ck_assert_ptr_null(cfg->tls_client_fingerprints);
	config_free(cfg);

	/* A client CA without pinning. */
	cfg = expect_load("tls = { " TLS_OK "client_ca = \"" READABLE "\"; };\n"
	    SINK_OUT);
	ck_assert_str_eq(cfg->tls_client_ca, READABLE);
	ck_assert_ptr_null(cfg->tls_client_fingerprints);
	ck_assert_uint_eq(cfg->ntls_client_fingerprints, 0);
	config_free(cfg);
}
END_TEST

static const struct error_case auth_errors[] = {
	/* signature: one or two secrets in all */
	{ "auth = {\n\tsignature = { };\n};\n" SINK_OUT,
	    "2: auth.signature: no secret (want secrets or secret_files)" },
	{ "auth = {\n\tsignature = {\n\t\tsecrets = [ ];\n"
	    "\t\tsecret_files = ( ); max_skew_s = 5; };\n};\n" SINK_OUT,
	    "2: auth.signature: no secret (want secrets or secret_files)" },
	{ "auth = {\n\tsignature = {\n\t\tsecrets = [ \"a\", \"b\" ];\n"
	    "\t\tsecret_files = [ \"f\" ];\n\t};\n};\n" SINK_OUT,
	    "2: auth.signature: 3 secrets > 2" },
	{ "auth = { signature = {\n"
	    "\tsecrets = [ \"a\", \"b\", \"c\" ]; }; };\n" SINK_OUT,
	    "1: auth.signature: 3 secrets > 2" },
	{ "auth = { signature = {\n"
	    "\tsecret_files = [ \"f\", \"g\", \"h\", \"i\" ]; }; };\n" SINK_OUT,
	    "1: auth.signature: 4 secrets > 2" },
	{ "auth = { signature = {\n\tsecrets = [ \"a\", \"\" ]; }; };\n"
	    SINK_OUT,
	    "2: auth.signature.secrets.[1]: must not be empty" },
	{ "auth = { signature = {\n\tsecret_files = [ \"\" ]; }; };\n"
	    SINK_OUT,
	    "2: auth.signature.secret_files.[0]: must not be empty" },
	{ "auth = { signature = {\n\tsecret_files = [ \"f\",\n"
	    "\t\t\"f\" ]; }; };\n" SINK_OUT,
	    "3: auth.signature.secret_files.[1]: duplicate value \"f\" "
	    "(also auth.signature.secret_files.[0])" },
	{ "auth = { signature = { secrets = [ \"s\" ];\n"
	    "\tmax_skew_s = -1; }; };\n" SINK_OUT,
	    "2: auth.signature.max_skew_s: -1 < 0" },
	{ "auth = { signature = { secrets = [ \"s\" ];\n"
	    "\tmax_skew_s = 604801; }; };\n" SINK_OUT,
	    "2: auth.signature.max_skew_s: 604801 > 604800" },
	/* basic: a username and one password */
	{ "auth = {\n\tbasic = { };\n};\n" SINK_OUT,
	    "2: auth.basic.username: missing required key" },
	{ "auth = {\n\tbasic = {\n\t\tpassword = \"p\"; };\n};\n" SINK_OUT,
	    "2: auth.basic.username: missing required key" },
	{ "auth = { basic = { username = \"\"; password = \"p\"; }; };\n"
	    SINK_OUT,
	    "1: auth.basic.username: must not be empty" },
	{ "auth = { basic = {\n\tusername = \"a:b\"; password = \"p\"; }; };\n"
	    SINK_OUT,
	    "2: auth.basic.username: invalid character ':' "
	    "(no ':' or control characters)" },
	{ "auth = { basic = { username = \"a\\tb\"; password = \"p\"; }; };\n"
	    SINK_OUT,
	    "1: auth.basic.username: invalid character '\\x09' "
	    "(no ':' or control characters)" },
	{ "auth = {\n\tbasic = {\n\t\tusername = \"u\"; }; };\n" SINK_OUT,
	    "2: auth.basic: want password or password_file, missing" },
	{ "auth = {\n\tbasic = { username = \"u\"; password = \"p\";\n"
	    "\t\tpassword_file = \"f\"; }; };\n" SINK_OUT,
	    "2: auth.basic: want password or password_file, not both" },
	{ "auth = { basic = { username = \"u\";\n\tpassword = \"\"; }; };\n"
	    SINK_OUT,
	    "2: auth.basic.password: must not be empty" },
	{ "auth = { basic = { username = \"u\";\n"
	    "\tpassword_file = \"\"; }; };\n" SINK_OUT,
	    "2: auth.basic.password_file: must not be empty" },
	/* oauth2: key_file and clients */
	{ "auth = {\n\toauth2 = { };\n};\n" SINK_OUT,
	    "2: auth.oauth2.key_file: missing required key" },
	{ "auth = {\n\toauth2 = { key_file = \"k\"; };\n};\n" SINK_OUT,
	    "2: auth.oauth2.clients: missing required key" },
	{ "auth = { oauth2 = { key_file = \"k\";\n\tclients = ( ); }; };\n"
	    SINK_OUT,
	    "2: auth.oauth2.clients: empty list (want at least one client)" },
	{ "auth = { oauth2 = {\n\tkey_file = \"\";\n"
	    "\tclients = ( { id = \"a\"; secret = \"s\"; } ); }; };\n" SINK_OUT,
	    "2: auth.oauth2.key_file: must not be empty" },
	{ "auth = { oauth2 = { key_file = \"k\"; clients = (\n"
	    "\t{ secret = \"s\"; } ); }; };\n" SINK_OUT,
	    "2: auth.oauth2.clients.[0].id: missing required key" },
	{ "auth = { oauth2 = { key_file = \"k\"; clients = (\n"
	    "\t{ id = \"\"; secret = \"s\"; } ); }; };\n" SINK_OUT,
	    "2: auth.oauth2.clients.[0].id: must not be empty" },
	{ "auth = { oauth2 = { key_file = \"k\"; clients = (\n"
	    "\t{ id = \"a b\"; secret = \"s\"; } ); }; };\n" SINK_OUT,
	    "2: auth.oauth2.clients.[0].id: invalid character ' ' "
	    "(want printable ASCII, no ':' or whitespace)" },
	{ "auth = { oauth2 = { key_file = \"k\"; clients = (\n"
	    "\t{ id = \"a:b\"; secret = \"s\"; } ); }; };\n" SINK_OUT,
	    "2: auth.oauth2.clients.[0].id: invalid character ':' "
	    "(want printable ASCII, no ':' or whitespace)" },
	{ "auth = { oauth2 = { key_file = \"k\"; clients = (\n"
	    "\t{ id = \"caf\\xc3\\xa9\"; secret = \"s\"; } ); }; };\n" SINK_OUT,
	    "2: auth.oauth2.clients.[0].id: invalid character '\\xc3' "
	    "(want printable ASCII, no ':' or whitespace)" },
	{ "auth = { oauth2 = { key_file = \"k\"; clients = (\n"
	    "\t{ id = \"a\"; secret = \"s\"; },\n"
	    "\t{ id = \"b\";\n\t  secret = \"s\"; secret_file = \"f\"; }\n"
	    "); }; };\n" SINK_OUT,
	    "3: auth.oauth2.clients.[1]: want secret or secret_file, "
	    "not both" },
	{ "auth = { oauth2 = { key_file = \"k\"; clients = (\n"
	    "\t{ id = \"a\"; } ); }; };\n" SINK_OUT,
	    "2: auth.oauth2.clients.[0]: want secret or secret_file, missing" },
	{ "auth = { oauth2 = { key_file = \"k\"; clients = (\n"
	    "\t{ id = \"a\"; secret = \"\"; } ); }; };\n" SINK_OUT,
	    "2: auth.oauth2.clients.[0].secret: must not be empty" },
	{ "auth = { oauth2 = { key_file = \"k\"; clients = (\n"
	    "\t{ id = \"a\"; secret_file = \"\"; } ); }; };\n" SINK_OUT,
	    "2: auth.oauth2.clients.[0].secret_file: must not be empty" },
	{ "auth = { oauth2 = { key_file = \"k\"; clients = (\n"
	    "\t{ id = \"sinch\"; secret = \"s\"; },\n"
	    "\t{ id = \"other\"; secret = \"s\"; },\n"
	    "\t{ secret_file = \"f\";\n\t  id = \"sinch\"; }\n"
	    "); }; };\n" SINK_OUT,
	    "5: auth.oauth2.clients.[2].id: duplicate id \"sinch\" "
	    "(also auth.oauth2.clients.[0])" },
	{ "auth = { oauth2 = { key_file = \"k\";\n"
	    "\tclients = ( { id = \"a\"; secret = \"s\"; } );\n"
	    "\ttoken_ttl_s = 59; }; };\n" SINK_OUT,
	    "3: auth.oauth2.token_ttl_s: 59 < 60" },
	{ "auth = { oauth2 = { key_file = \"k\";\n"
	    "\tclients = ( { id = \"a\"; secret = \"s\"; } );\n"
	    "\ttoken_ttl_s = 86401; }; };\n" SINK_OUT,
	    "3: auth.oauth2.token_ttl_s: 86401 > 86400" },
	{ "auth = { oauth2 = { key_file = \"k\";\n"
	    "\tclients = ( { id = \"a\"; secret = \"s\"; } );\n"
	    "\tpath = \"oauth2/token\"; }; };\n" SINK_OUT,
	    "3: auth.oauth2.path: \"oauth2/token\" does not start with '/'" },
	{ "auth = { oauth2 = { key_file = \"k\";\n"
	    "\tclients = ( { id = \"a\"; secret = \"s\"; } );\n"
	    "\tpath = \"/token?x\"; }; };\n" SINK_OUT,
	    "3: auth.oauth2.path: invalid character '?' (no whitespace, "
	    "control characters, '?' or '#')" },
	/* the token endpoint shares the listener with the callbacks */
	{ "auth = { oauth2 = { key_file = \"k\";\n"
	    "\tclients = ( { id = \"a\"; secret = \"s\"; } );\n"
	    "\tpath = \"/sinch/sms\"; }; };\n" SINK_OUT,
	    "3: auth.oauth2.path: \"/sinch/sms\" must differ from "
	    "listen.path" },
	{ "listen = { path = \"/oauth2/token\"; };\n"
	    "auth = {\n\toauth2 = { key_file = \"k\";\n"
	    "\tclients = ( { id = \"a\"; secret = \"s\"; } ); }; };\n" SINK_OUT,
	    "3: auth.oauth2.path: \"/oauth2/token\" must differ from "
	    "listen.path" },
	/* basic and oauth2 both want the Authorization header */
	{ "auth = {\n"
	    "\tbasic = { username = \"u\"; password = \"p\"; };\n"
	    "\toauth2 = { key_file = \"k\";\n"
	    "\t\tclients = ( { id = \"a\"; secret = \"s\"; } ); };\n"
	    "};\n" SINK_OUT,
	    "1: auth: basic and oauth2 both use the Authorization header; "
	    "choose one" },
	/* sources */
	{ "auth = {\n\tallow_from = [ \"10.0.0.0/8\",\n"
	    "\t\t\"10.0.0.0/33\" ];\n};\n" SINK_OUT,
	    "3: auth.allow_from.[1]: \"10.0.0.0/33\" is not an address or "
	    "CIDR" },
	{ "auth = { trusted_proxies = [ \"::1/129\" ]; };\n" SINK_OUT,
	    "1: auth.trusted_proxies.[0]: \"::1/129\" is not an address or "
	    "CIDR" },
	{ "auth = {\n\tallow_from = [ ];\n};\n" SINK_OUT,
	    "2: auth.allow_from: empty list (want at least one address)" },
	{ "auth = { trusted_proxies = ( ); };\n" SINK_OUT,
	    "1: auth.trusted_proxies: empty list (want at least one address)" },
	{ "auth = { allow_from = [ \"::1\", \"10.0.0.0/8\", \"::1\" ]; };\n"
	    SINK_OUT,
	    "1: auth.allow_from.[2]: duplicate value \"::1\" "
	    "(also auth.allow_from.[0])" },
	/* grace */
	{ "auth = {\n\tgrace_until = \"2026-12-01\";\n};\n" SINK_OUT,
	    "2: auth.grace_until: \"2026-12-01\" is not a UTC time like "
	    "2026-12-01T00:00:00Z" },
};

START_TEST(test_config_auth_error)
{
	expect_error(auth_errors[_i].text, auth_errors[_i].want);
}
END_TEST

static const struct error_case tls_errors[] = {
	{ "tls = {\n\tcert = \"" READABLE "\";\n};\n" SINK_OUT,
	    "1: tls: cert and key go together" },
	{ "\ntls = { key = \"" READABLE "\"; };\n" SINK_OUT,
	    "2: tls: cert and key go together" },
	{ "tls = { key = \"" READABLE "\";\n"
	    "\tclient_ca = \"" READABLE "\"; };\n" SINK_OUT,
	    "1: tls: cert and key go together" },
	{ "tls = {\n\tclient_ca = \"" READABLE "\";\n};\n" SINK_OUT,
	    "1: tls: client_ca requires cert" },
	{ "tls = { " TLS_OK "\n"
	    "\tclient_fingerprints = [ \"sha256:" FP_HEX "\" ]; };\n" SINK_OUT,
	    "1: tls: client_fingerprints requires client_ca" },
	{ "tls = { " TLS_OK "client_ca = \"" READABLE "\";\n"
	    "\tclient_fingerprints = [ ]; };\n" SINK_OUT,
	    "2: tls.client_fingerprints: empty list (want at least one "
	    "fingerprint)" },
	{ "tls = { " TLS_OK "client_ca = \"" READABLE "\";\n"
	    "\tclient_fingerprints = [\n\t\t\"sha256:" FP_HEX "\",\n"
	    "\t\t\"sha256:" FP_HEX "0\" ]; };\n" SINK_OUT,
	    "4: tls.client_fingerprints.[1]: want sha256: and 64 hex digits" },
	/* the same digest, written two ways */
	{ "tls = { " TLS_OK "client_ca = \"" READABLE "\";\n"
	    "\tclient_fingerprints = [ \"sha256:" FP_PAIRS "\",\n"
	    "\t\t\"Sha256:ABCDEF0123456789abcdef0123456789"
	    "ABCDEF0123456789abcdef0123456789\" ]; };\n" SINK_OUT,
	    "3: tls.client_fingerprints.[1]: duplicate value "
	    "\"sha256:abcdef0123456789abcdef0123456789a\"... "
	    "(also tls.client_fingerprints.[0])" },
	/* files the daemon opens itself are looked at now */
	{ "tls = {\n\tcert = \"/nonexistent/server.pem\";\n"
	    "\tkey = \"" READABLE "\"; };\n" SINK_OUT,
	    "2: tls.cert: unable to read \"/nonexistent/server.pem\": No such "
	    "file or directory" },
	{ "tls = { cert = \"" READABLE "\";\n\tkey = \"/\"; };\n" SINK_OUT,
	    "2: tls.key: unable to read \"/\": Is a directory" },
	{ "tls = { " TLS_OK "\n\tclient_ca = \"" READABLE "/ca.pem\"; };\n"
	    SINK_OUT,
	    "2: tls.client_ca: unable to read \"" READABLE "/ca.pem\": Not a "
	    "directory" },
	{ "tls = { cert = \"\"; key = \"" READABLE "\"; };\n" SINK_OUT,
	    "1: tls.cert: must not be empty" },
};

START_TEST(test_config_tls_error)
{
	expect_error(tls_errors[_i].text, tls_errors[_i].want);
}
END_TEST

static const struct error_case auth_tls_types[] = {
	{ "\nauth = 1;\n" SINK_OUT,
	    "2: auth: expected a group" },
	{ "auth = { signature = [ \"s\" ]; };\n" SINK_OUT,
	    "1: auth.signature: expected a group" },
	{ "auth = { basic = ( ); };\n" SINK_OUT,
	    "1: auth.basic: expected a group" },
	{ "auth = { signature = { secrets = \"s\"; }; };\n" SINK_OUT,
	    "1: auth.signature.secrets: expected an array or list of strings" },
	{ "auth = { signature = { secret_files = [ 1 ]; }; };\n" SINK_OUT,
	    "1: auth.signature.secret_files.[0]: expected a string" },
	{ "auth = { signature = { secrets = [ \"s\" ];\n"
	    "\tmax_skew_s = \"300\"; }; };\n" SINK_OUT,
	    "2: auth.signature.max_skew_s: expected an integer" },
	{ "auth = { basic = { username = 1; password = \"p\"; }; };\n"
	    SINK_OUT,
	    "1: auth.basic.username: expected a string" },
	{ "auth = { oauth2 = { key_file = \"k\";\n"
	    "\tclients = { id = \"a\"; }; }; };\n" SINK_OUT,
	    "2: auth.oauth2.clients: expected a list" },
	{ "auth = { oauth2 = { key_file = \"k\";\n"
	    "\tclients = [ \"a\" ]; }; };\n" SINK_OUT,
	    "2: auth.oauth2.clients: expected a list" },
	{ "auth = { oauth2 = { key_file = \"k\";\n"
	    "\tclients = ( \"a\" ); }; };\n" SINK_OUT,
	    "2: auth.oauth2.clients.[0]: expected a group" },
	{ "auth = { oauth2 = { key_file = \"k\"; token_ttl_s = 60.0;\n"
	    "\tclients = ( { id = \"a\"; secret = \"s\"; } ); }; };\n"
	    SINK_OUT,
	    "1: auth.oauth2.token_ttl_s: expected an integer" },
	{ "auth = { allow_from = \"10.0.0.0/8\"; };\n" SINK_OUT,
	    "1: auth.allow_from: expected an array or list of strings" },
	{ "auth = { grace_until = 1796083200; };\n" SINK_OUT,
	    "1: auth.grace_until: expected a string" },
	{ "tls = \"server.pem\";\n" SINK_OUT,
	    "1: tls: expected a group" },
	{ "tls = { cert = true; };\n" SINK_OUT,
	    "1: tls.cert: expected a string" },
	{ "tls = { client_fingerprints = \"sha256:\"; };\n" SINK_OUT,
	    "1: tls.client_fingerprints: expected an array or list of "
	    "strings" },
};

START_TEST(test_config_auth_tls_type)
{
	expect_error(auth_tls_types[_i].text, auth_tls_types[_i].want);
}
END_TEST

/* Good and bad CIDRs, in both lists. */
START_TEST(test_config_cidrs)
{
	static const char *const good[] = {
		"10.0.0.0/8", "10.1.2.3/8", "192.0.2.7", "192.0.2.7/32",
		"0.0.0.0/0", "2001:db8::/32", "::/0", "::1", "::1/128",
		"::ffff:192.0.2.0/120", "fe80::1/10",
	};
	static const char *const bad[] = {
		"10.0.0.0/33", "::1/129", "10.0.0.0/", "10.0.0.0/08",
		"10.0.0.0/+8", "10.0.0.0/-1", "10.0.0.0/8 ", " 10.0.0.0/8",
		"10.0.0.0/8/8", "10.0.0.0/x", "10.0.0/8", "010.0.0.0/8",
		"256.0.0.0/8", "example.com", "localhost/8", "", "/8",
		"[::1]/128", "fe80::1%eth0", "2001:db8::/1280",
		"10.0.0.0/4294967304", "::ffff:192.0.2.0/120/",
	};
	static const char *const keys[] = {
		"allow_from", "trusted_proxies",
	};
	struct config	*cfg;
	char		 text[256], want[256], q[64];
	size_t		 i, k;

	for (k = 0; k < nitems(keys); k++) {
		for (i = 0; i < nitems(good); i++) {
			snprintf(text, sizeof(text), "auth = { %s = "
			    "[ \"%s\" ]; };\n" SINK_OUT, keys[k], good[i]);
			cfg = expect_load(text);
			ck_assert_str_eq(strcmp(keys[k], "allow_from") == 0 ?
			    cfg->allow_from[0] : cfg->trusted_proxies[0],
			    good[i]);
			config_free(cfg);
		}
		for (i = 0; i < nitems(bad); i++) {
			snprintf(text, sizeof(text), "auth = { %s = "
			    "[ \"%s\" ]; };\n" SINK_OUT, keys[k], bad[i]);
			quoted(q, sizeof(q), bad[i]);
			snprintf(want, sizeof(want), "1: auth.%s.[0]: %s is "
			    "not an address or CIDR", keys[k], q);
			expect_error(text, want);
		}
	}
}
END_TEST

START_TEST(test_config_grace_until)
{
	static const struct {
		const char	*text;
		long long	 epoch;
	} good[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2026-12-01T00:00:00Z", 1796083200LL },
		{ "2024-02-29T12:34:56Z", 1709210096LL },
		{ "2000-02-29T23:59:59Z", 951868799LL },
		{ "2038-01-19T03:14:08Z", 2147483648LL },
		{ "9999-12-31T23:59:59Z", 253402300799LL },
	};
	static const char *const bad[] = {
		"", "2026-12-01", "2026-12-01T00:00:00", "2026-12-01T00:00Z",
		"2026-12-01 00:00:00Z", "2026-12-01t00:00:00Z",
		"2026-12-01T00:00:00z", "2026-12-01T00:00:00.5Z",
		"2026-12-01T00:00:00.000Z", "2026-12-01T00:00:00+00:00",
		"2026-12-01T01:00:00+01:00", " 2026-12-01T00:00:00Z",
		"2026-12-01T00:00:00Z ", "26-12-01T00:00:00Z",
		"2026-1-01T00:00:00Z", "+026-12-01T00:00:00Z",
		"2026-00-01T00:00:00Z", "2026-13-01T00:00:00Z",
		"2026-12-00T00:00:00Z", "2026-12-32T00:00:00Z",
		"2026-04-31T00:00:00Z", "2026-02-29T00:00:00Z",
		"1900-02-29T00:00:00Z", "2026-12-01T24:00:00Z",
		"2026-12-01T00:60:00Z", "2026-12-01T00:00:60Z",
		"1969-12-31T23:59:59Z", "0000-01-01T00:00:00Z",
		"2026-12-01T00:00:0xZ", "2026/12/01T00:00:00Z",
		"20261201T000000Z",
	};
	struct config	*cfg;
	char		 text[256], want[256], q[64];
	size_t		 i;

	for (i = 0; i < nitems(good); i++) {
		snprintf(text, sizeof(text), "auth = { grace_until = \"%s\"; "
		    "};\n" SINK_OUT, good[i].text);
		cfg = expect_load(text);
		ck_assert(cfg->has_grace);
		ck_assert_int_eq(cfg->grace_until, good[i].epoch);
		config_free(cfg);
	}
	for (i = 0; i < nitems(bad); i++) {
		snprintf(text, sizeof(text), "auth = { grace_until = \"%s\"; "
		    "};\n" SINK_OUT, bad[i]);
		quoted(q, sizeof(q), bad[i]);
		snprintf(want, sizeof(want), "1: auth.grace_until: %s is not a "
		    "UTC time like 2026-12-01T00:00:00Z", q);
		expect_error(text, want);
	}
}
END_TEST

START_TEST(test_config_fingerprints)
{
	static const char *const good[] = {
		"sha256:" FP_HEX, "SHA256:" FP_HEX, "sha256:" FP_PAIRS,
	};
	static const char *const bad[] = {
		FP_HEX, "sha1:" FP_HEX, "sha-256:" FP_HEX, "sha256:",
		"sha256: " FP_HEX, "sha256::" FP_HEX, "sha256:" FP_HEX "0",
		"sha256:" FP_HEX ":", "sha256:g123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef",
		"sha256:123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef",
		/* separators: every pair or none */
		"sha256:AB-CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
		    "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89",
		"sha256:ABCD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
		    "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89",
		"sha256:A:BCD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
		    "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89",
		"sha256:0123:4567:89ab:cdef:0123:4567:89ab:cdef:"
		    "0123:4567:89ab:cdef:0123:4567:89ab:cdef",
	};
	struct config	*cfg;
	char		 text[512], want[256];
	size_t		 i;

	for (i = 0; i < nitems(good); i++) {
		snprintf(text, sizeof(text), "tls = { " TLS_OK "client_ca = \""
		    READABLE "\";\n\tclient_fingerprints = [ \"%s\" ]; };\n"
		    SINK_OUT, good[i]);
		cfg = expect_load(text);
		ck_assert_uint_eq(cfg->ntls_client_fingerprints, 1);
		ck_assert_uint_eq(strlen(cfg->tls_client_fingerprints[0]), 71);
		ck_assert(strncmp(cfg->tls_client_fingerprints[0], "sha256:",
		    7) == 0);
		config_free(cfg);
	}
	for (i = 0; i < nitems(bad); i++) {
		snprintf(text, sizeof(text), "tls = { " TLS_OK "client_ca = \""
		    READABLE "\";\n\tclient_fingerprints = [ \"%s\" ]; };\n"
		    SINK_OUT, bad[i]);
		snprintf(want, sizeof(want), "2: tls.client_fingerprints.[0]: "
		    "want sha256: and 64 hex digits");
		expect_error(text, want);
	}
}
END_TEST

/* An id of 128 bytes is the longest. */
START_TEST(test_config_client_id_length)
{
	struct config	*cfg;
	char		 id[130], text[512];

	memset(id, 'i', 128);
	id[128] = '\0';
	snprintf(text, sizeof(text), "auth = { oauth2 = { key_file = \"k\";\n"
	    "\tclients = ( { id = \"%s\"; secret = \"s\"; } ); }; };\n"
	    SINK_OUT, id);
	cfg = expect_load(text);
	ck_assert_str_eq(cfg->oauth2_clients[0].id, id);
	config_free(cfg);

	snprintf(text, sizeof(text), "auth = { oauth2 = { key_file = \"k\";\n"
	    "\tclients = ( { id = \"%si\"; secret = \"s\"; } ); }; };\n"
	    SINK_OUT, id);
	expect_error(text, "2: auth.oauth2.clients.[0].id: 129 bytes > 128");
}
END_TEST

/* A file that is there but unreadable: only when not root. */
START_TEST(test_config_tls_unreadable)
{
	char	 key[PATH_MAX], text[PATH_MAX + 256], want[PATH_MAX + 256];
	char	 q[64];

	snprintf(key, sizeof(key), "%s", fixture_write("server.key", "k\n"));
	ck_assert_int_eq(chmod(key, 0), 0);
	snprintf(text, sizeof(text), "tls = { cert = \"" READABLE "\";\n"
	    "\tkey = \"%s\"; };\n" SINK_OUT, key);
	if (getuid() == 0) {
		/* root reads it anyway: access(2) says so too. */
		config_free(expect_load(text));
		return;
	}
	quoted(q, sizeof(q), key);
	snprintf(want, sizeof(want), "2: tls.key: unable to read %s: "
	    "Permission denied", q);
	expect_error(text, want);
}
END_TEST

/* Errors name the place of an inline secret, never the secret. */
START_TEST(test_config_secrets_not_shown)
{
	static const char *const texts[] = {
		"auth = { signature = { secrets = [ \"hunter2\", \"hunter2\",\n"
		"\t\"hunter2\" ]; }; };\n" SINK_OUT,
		"auth = { signature = {\n"
		"\tsecrets = [ \"hunter2\", \"\" ]; }; };\n" SINK_OUT,
		"auth = { basic = { username = \"u\"; password = \"hunter2\";\n"
		"\tpassword_file = \"f\"; }; };\n" SINK_OUT,
		"auth = { basic = { password = \"hunter2\"; }; };\n" SINK_OUT,
		"auth = { oauth2 = { key_file = \"k\"; clients = (\n"
		"\t{ id = \"a\"; secret = \"hunter2\"; secret_file = \"f\"; }\n"
		"); }; };\n" SINK_OUT,
		"auth = { oauth2 = { key_file = \"k\"; clients = (\n"
		"\t{ id = \"a\"; secret = \"hunter2\"; },\n"
		"\t{ id = \"a\"; secret = \"hunter2\"; } ); }; };\n" SINK_OUT,
		"auth = { basic = { username = \"u\";\n"
		"\tpassword = \"hunter2\"; };\n"
		"\toauth2 = { key_file = \"k\"; clients = (\n"
		"\t{ id = \"a\"; secret = \"hunter2\"; } ); }; };\n" SINK_OUT,
	};
	struct config	*cfg;
	char		 path[PATH_MAX], err[512];
	size_t		 i;

	for (i = 0; i < nitems(texts); i++) {
		err[0] = '\0';
		cfg = load(texts[i], path, err, sizeof(err));
		ck_assert_msg(cfg == NULL, "loaded:\n%s", texts[i]);
		ck_assert_msg(err[0] != '\0', "no error:\n%s", texts[i]);
		ck_assert_msg(strstr(err, "hunter2") == NULL, "err: %s", err);
	}
}
END_TEST

Suite *
suite_config(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, fixture_tmp_setup, fixture_tmp_teardown);
	tcase_add_test(tc, test_config_defaults);
	tcase_add_test(tc, test_config_file_sink_defaults);
	tcase_add_test(tc, test_config_exec_sink_defaults);
	tcase_add_test(tc, test_config_postgres_sink);
	tcase_add_test(tc, test_config_exec_sink);
	tcase_add_test(tc, test_config_exec_own_program);
	tcase_add_test(tc, test_config_filters);
	tcase_add_test(tc, test_config_dedup);
	tcase_add_test(tc, test_config_shipped_file);
	tcase_add_test(tc, test_config_shipped_metrics);
	tcase_add_test(tc, test_config_every_key_set);
	tcase_add_test(tc, test_config_metrics);
	tcase_add_test(tc, test_config_sns);
	tcase_add_loop_test(tc, test_config_sns_error, 0,
	    nitems(sns_errors));
	tcase_add_test(tc, test_config_port_zero);
	tcase_add_loop_test(tc, test_config_int_ranges, 0, nitems(ranges));
	tcase_add_loop_test(tc, test_config_unknown_key, 0,
	    nitems(unknown_keys));
	tcase_add_loop_test(tc, test_config_wrong_type, 0,
	    nitems(wrong_types));
	tcase_add_loop_test(tc, test_config_sink_error, 0,
	    nitems(sink_errors));
	tcase_add_loop_test(tc, test_config_exec_error, 0,
	    nitems(exec_errors));
	tcase_add_loop_test(tc, test_config_filter_error, 0,
	    nitems(filter_errors));
	tcase_add_loop_test(tc, test_config_dedup_error, 0,
	    nitems(dedup_errors));
	tcase_add_test(tc, test_config_exec_not_executable);
	tcase_add_test(tc, test_config_too_many_sinks);
	tcase_add_loop_test(tc, test_config_value_error, 0,
	    nitems(value_errors));
	tcase_add_test(tc, test_config_log_levels);
	tcase_add_test(tc, test_config_addresses);
	tcase_add_test(tc, test_config_path_length);
	tcase_add_test(tc, test_config_sink_name_length);
	tcase_add_loop_test(tc, test_config_text_error, 0,
	    nitems(text_errors));
	tcase_add_test(tc, test_config_big_numbers_elsewhere);
	tcase_add_test(tc, test_config_missing_file);
	tcase_add_test(tc, test_config_nul_byte);
	tcase_add_test(tc, test_config_small_error_buffer);
	tcase_add_test(tc, test_config_names);
	tcase_add_test(tc, test_config_auth_tls);
	tcase_add_test(tc, test_config_auth_variants);
	tcase_add_loop_test(tc, test_config_auth_error, 0,
	    nitems(auth_errors));
	tcase_add_loop_test(tc, test_config_tls_error, 0,
	    nitems(tls_errors));
	tcase_add_loop_test(tc, test_config_auth_tls_type, 0,
	    nitems(auth_tls_types));
	tcase_add_test(tc, test_config_cidrs);
	tcase_add_test(tc, test_config_grace_until);
	tcase_add_test(tc, test_config_fingerprints);
	tcase_add_test(tc, test_config_client_id_length);
	tcase_add_test(tc, test_config_tls_unreadable);
	tcase_add_test(tc, test_config_secrets_not_shown);
	suite_add_tcase(s, tc);
	return s;
}
