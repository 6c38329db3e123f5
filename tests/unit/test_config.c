/*
 * test_config.c - the configuration file: defaults, the shipped file, and
 * one exact "file:line: key: reason" for each class of error.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fixture.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* One stdout sink: the least a file needs. */
#define SINK_OUT	"sinks = ( { name = \"out\"; kind = \"stdout\"; } );\n"

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
	ck_assert_int_eq(cfg->connection_timeout_s, 30);
	ck_assert_int_eq(cfg->threads, 4);
	ck_assert_int_eq(cfg->shutdown_timeout_s, 10);
	ck_assert_int_eq(cfg->log_level, LOG_LEVEL_INFO);
	ck_assert_uint_eq(cfg->nsinks, 1);
	ck_assert_str_eq(cfg->sinks[0].name, "out");
	ck_assert_int_eq(cfg->sinks[0].kind, SINK_KIND_STDOUT);
	ck_assert(cfg->sinks[0].required);
	ck_assert_ptr_null(cfg->sinks[0].path);
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
	ck_assert_int_eq(cfg->connection_timeout_s, 30);
	ck_assert_int_eq(cfg->threads, 4);
	ck_assert_int_eq(cfg->shutdown_timeout_s, 10);
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
	config_free(cfg);
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
	    "\tconnection_timeout_s = 3600;\n"
	    "\tthreads = 256;\n"
	    "\tshutdown_timeout_s = 0;\n"
	    "};\n"
	    "log = { level = \"debug\"; };\n"
	    "sinks = (\n"
	    "\t{ name = \"a.b-c_D9\"; kind = \"file\";\n"
	    "\t  path = \"/x/99999999999\";\n"
	    "\t  fsync = false; required = false; },\n"
	    "\t{ kind = \"stdout\"; name = \"two\"; required = true; }\n"
	    ");\n");
	ck_assert_str_eq(cfg->address, "::1");
	ck_assert_int_eq(cfg->port, 8080);
	ck_assert_str_eq(cfg->callback_path, "/cb");
	ck_assert_uint_eq(cfg->max_body_bytes, 64 << 20);
	ck_assert_int_eq(cfg->max_connections, 65536);
	ck_assert_int_eq(cfg->connection_timeout_s, 3600);
	ck_assert_int_eq(cfg->threads, 256);
	ck_assert_int_eq(cfg->shutdown_timeout_s, 0);
	ck_assert_int_eq(cfg->log_level, LOG_LEVEL_DEBUG);
	ck_assert_uint_eq(cfg->nsinks, 2);
	ck_assert_str_eq(cfg->sinks[0].name, "a.b-c_D9");
	ck_assert_int_eq(cfg->sinks[0].kind, SINK_KIND_FILE);
	ck_assert_str_eq(cfg->sinks[0].path, "/x/99999999999");
	ck_assert(!cfg->sinks[0].fsync);
	ck_assert(!cfg->sinks[0].required);
	ck_assert_str_eq(cfg->sinks[1].name, "two");
	ck_assert_int_eq(cfg->sinks[1].kind, SINK_KIND_STDOUT);
	ck_assert(cfg->sinks[1].required);
	config_free(cfg);
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
	{ "limits.connection_timeout_s", 1,	3600 },
	{ "limits.threads",		1,	256 },
	{ "limits.shutdown_timeout_s",	0,	3600 },
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
	if (strcmp(key, "limits.connection_timeout_s") == 0)
		return cfg->connection_timeout_s;
	if (strcmp(key, "limits.threads") == 0)
		return cfg->threads;
	if (strcmp(key, "limits.shutdown_timeout_s") == 0)
		return cfg->shutdown_timeout_s;
	ck_abort_msg("no field for %s", key);
	return -1;
}

/* "listen.port", 5 -> "\nlisten = {\n\tport = 5;\n};\n" + a sink. */
static void
int_text(char *dst, size_t len, const char *key, long long v)
{
	const char	*dot = strchr(key, '.');

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
	    "2: auth: unknown key" },
	/* inside listen, limits and log */
	{ "listen = {\n\tport = 80;\n\tprot = 80;\n};\n" SINK_OUT,
	    "3: listen.prot: unknown key" },
	{ "limits = {\n\tthreads = 2; body = 1;\n};\n" SINK_OUT,
	    "2: limits.body: unknown key" },
	{ "log = { level = \"info\"; file = \"x\"; };\n" SINK_OUT,
	    "1: log.file: unknown key" },
	{ "listen = { tls = { port = 1; }; };\n" SINK_OUT,
	    "1: listen.tls: unknown key" },
	/* inside a sink */
	{ "sinks = (\n\t{ name = \"a\"; kind = \"stdout\";\n"
	    "\t  colour = \"red\"; }\n);\n",
	    "3: sinks.[0].colour: unknown key" },
	{ "sinks = (\n\t{ name = \"a\"; kind = \"file\"; path = \"p\"; },\n"
	    "\t{ name = \"b\"; kind = \"file\"; path = \"p\";\n"
	    "\t  fsynch = true; }\n);\n",
	    "4: sinks.[1].fsynch: unknown key" },
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
	/* groups */
	{ "\nlisten = \"127.0.0.1:8080\";\n" SINK_OUT,
	    "2: listen: expected a group" },
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
	    "(want file or stdout)" },
	{ "sinks = ( { name = \"q\"; kind = \"STDOUT\"; } );\n",
	    "1: sinks.[0].kind: unknown kind \"STDOUT\" "
	    "(want file or stdout)" },
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
	    "2: sinks.[0].fsync: not valid for kind stdout" },
};

START_TEST(test_config_sink_error)
{
	expect_error(sink_errors[_i].text, sink_errors[_i].want);
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
	tcase_add_test(tc, test_config_shipped_file);
	tcase_add_test(tc, test_config_every_key_set);
	tcase_add_test(tc, test_config_port_zero);
	tcase_add_loop_test(tc, test_config_int_ranges, 0, nitems(ranges));
	tcase_add_loop_test(tc, test_config_unknown_key, 0,
	    nitems(unknown_keys));
	tcase_add_loop_test(tc, test_config_wrong_type, 0,
	    nitems(wrong_types));
	tcase_add_loop_test(tc, test_config_sink_error, 0,
	    nitems(sink_errors));
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
	suite_add_tcase(s, tc);
	return s;
}
