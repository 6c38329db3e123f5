/*
 * config.c - reads the configuration file into a read-only struct config.
 *
 * Defaults come first.  The raw text is then checked for what libconfig
 * 1.5 would silently misread, libconfig parses it, and one walk over the
 * tree checks each setting against the key tables below: that the key
 * exists, its type, and its range or form.  Every error names its place
 * as "file:line: key: reason".  The result owns copies of its strings, so
 * the libconfig tree is gone when config_load() returns.  What the values
 * mean at run time is left to the modules that use them.
 *
 * A new key is a row in one of the tables; a new sink kind is a name in
 * sink_kind_names[] and a schema of its own keys in sink_kind_schemas[].
 * The program of an exec sink is looked at here, so that -t finds a
 * missing or non-executable program before the daemon starts.
 *
 * Authentication and TLS are groups whose presence turns a check on
 * (config_groups[]), as metrics turns on a listener of its own; what one
 * key says about another, such as cert and key going together, is
 * checked after the walk.  The TLS files are
 * checked for readability so that -t finds a typo, but files of secrets
 * are only named: auth.c reads them, relative to $CREDENTIALS_DIRECTORY.
 * A secret written inline is a row marked secret: it is never quoted in an
 * error and is wiped when freed.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libconfig.h>
#include <libpq-fe.h>

#include "buf.h"
#include "config.h"

#define nitems(a)		(sizeof(a) / sizeof((a)[0]))

#define CONFIG_TEXT_MAX		(1 << 20)	/* bytes in one file */
#define CONFIG_KEY_MAX		128		/* "sinks.[3].name" */
#define CONFIG_WHY_MAX		256		/* the reason in an error */
#define CONFIG_QUOTE_BYTES	40		/* of a value, in an error */
#define CONFIG_QUOTE_MAX	(CONFIG_QUOTE_BYTES * 4 + 8)
#define CONFIG_SINK_NAME_MAX	64
#define CONFIG_URL_PATH_MAX	1024
#define CONFIG_CLIENT_ID_MAX	128	/* bytes in an OAuth 2.0 client id */
#define CONFIG_SIG_SECRETS_MAX	2	/* the old one and the new one */
#define CONFIG_FP_HEX		64	/* hex digits of a SHA-256 digest */

/* Where errors go while one file is read. */
struct config_ctx {
	const char	*path;		/* as the caller gave it */
	char		*err;
	size_t		 errlen;
};

/* How an integer field is stored, from its declared type. */
enum config_store {
	CONFIG_STORE_INT,
	CONFIG_STORE_SIZE
};

#define CFG_OFF(f)	offsetof(struct config, f)
#define CFG_SINK_OFF(f)	offsetof(struct sink_config, f)
#define CFG_STORE(x)	_Generic((x),					\
			    int: CONFIG_STORE_INT,			\
			    size_t: CONFIG_STORE_SIZE)
#define CFG_INT(f)	CFG_OFF(f), CFG_STORE(((struct config *)0)->f)
#define CFG_SINK_INT(f)	CFG_SINK_OFF(f),				\
			    CFG_STORE(((struct sink_config *)0)->f)
#define CFG_SINK_STRV(f, n) CFG_SINK_OFF(f), CFG_SINK_OFF(n)
#define CFG_STRV(f, n)	CFG_OFF(f), CFG_OFF(n)
#define CFG_CLIENT_OFF(f) offsetof(struct oauth2_client_config, f)

/* Each row type starts with its key; find_row() relies on it. */
struct config_int {
	const char		*key;
	size_t			 off;
	enum config_store	 store;
	long long		 min;
	long long		 max;
	long long		 def;
};

struct config_str {
	const char	*key;
	size_t		 off;		/* of a char *, owned */
	const char	*def;		/* NULL: the field stays NULL */
	bool		 required;	/* when its group is there */
	bool		 secret;	/* wiped when freed */
	/* 0, or -1 with the reason in why, which never quotes a secret. */
	int		(*check)(const char *, char *why, size_t whylen);
};

struct config_bool {
	const char	*key;
	size_t		 off;
	bool		 def;
};

/* A string that names one value of a C enum (stored as an int). */
struct config_enum {
	const char		*key;
	size_t			 off;
	const char *const	*names;		/* indexed by enum value */
	size_t			 nnames;
	const char		*what;		/* "unknown level ..." */
	bool			 required;
	int			 def;
};

/*
 * Strings kept as a NULL-terminated array and its count: the values of an
 * array or list of strings, or with is_env set, the members of a group of
 * NAME = "value" as "NAME=value".
 */
struct config_strv {
	const char	*key;
	size_t		 off;		/* of a char **, owned */
	size_t		 count_off;	/* of a size_t */
	bool		 is_env;	/* a group, not an array or list */
	bool		 required;	/* when its group is there */
	bool		 unique;	/* no value twice */
	bool		 def_empty;	/* default { NULL }, not NULL */
	/* Wiped when freed; not unique, as a duplicate is quoted. */
	bool		 secret;
	const char	*want;		/* "at least one type", or NULL */
	/* Of each value (each name with is_env), then of the first value. */
	int		(*check)(const char *, char *why, size_t whylen);
	int		(*check_first)(const char *, char *why, size_t whylen);
};

/* "2026-12-01T00:00:00Z" as seconds since the epoch, and a flag. */
struct config_time {
	const char	*key;
	size_t		 off;		/* of a long long */
	size_t		 has_off;	/* of a bool, set when the key is */
};

/* A list with a parser of its own, such as the sinks. */
struct config_list {
	const char	*key;
	bool		 required;	/* when its group is there */
	int		(*parse)(struct config_ctx *, const config_setting_t *,
			    const char *key, void *base);
};

/*
 * A group whose presence turns something on, such as auth.basic.  The
 * flag is set even when the group is empty; its required keys then fail.
 */
struct config_group {
	const char	*key;
	size_t		 off;		/* of a bool */
};

/* The keys of one struct; a key with dots lies in groups. */
struct config_schema {
	const struct config_int		*ints;
	size_t				 nints;
	const struct config_str		*strs;
	size_t				 nstrs;
	const struct config_bool	*bools;
	size_t				 nbools;
	const struct config_enum	*enums;
	size_t				 nenums;
	const struct config_list	*lists;
	size_t				 nlists;
	const struct config_strv	*strvs;
	size_t				 nstrvs;
	const struct config_time	*times;
	size_t				 ntimes;
	const struct config_group	*groups;
	size_t				 ngroups;
};

enum config_type {
	CONFIG_T_INT,
	CONFIG_T_STR,
	CONFIG_T_BOOL,
	CONFIG_T_ENUM,
	CONFIG_T_LIST,
	CONFIG_T_STRV,
	CONFIG_T_TIME
};

/* One row found in a schema. */
struct config_ref {
	enum config_type	 type;
	const void		*row;
};

/*
 * What one group in the file may hold and where its values go.  A sink
 * has two schemas, the common one and its kind's; prefix is "sinks.[0]"
 * for a sink's keys in errors and "" at the top; kind is the sink's kind.
 */
struct config_scope {
	const struct config_schema	*schemas[2];
	void				*base;
	const char			*prefix;
	const char			*kind;
};

static int	check_address(const char *, char *, size_t);
static int	check_url_path(const char *, char *, size_t);
static int	check_sink_name(const char *, char *, size_t);
static int	check_nonempty(const char *, char *, size_t);
static int	check_program(const char *, char *, size_t);
static int	check_env_name(const char *, char *, size_t);
static int	check_username(const char *, char *, size_t);
static int	check_client_id(const char *, char *, size_t);
static int	check_cidr(const char *, char *, size_t);
static int	check_readable(const char *, char *, size_t);
static int	check_fingerprint(const char *, char *, size_t);
static int	check_directory(const char *, char *, size_t);
static int	check_topic_arn(const char *, char *, size_t);
static int	check_conninfo(const char *, char *, size_t);
static int	check_table(const char *, char *, size_t);
static int	parse_sinks(struct config_ctx *, const config_setting_t *,
		    const char *, void *);
static int	parse_oauth2_clients(struct config_ctx *,
		    const config_setting_t *, const char *, void *);

static void	fail(struct config_ctx *, const config_setting_t *,
		    const char *, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
static void	fail_at(struct config_ctx *, const char *, unsigned int,
		    const char *, ...)
		    __attribute__((format(printf, 4, 5)));

static const char *const log_level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

static const char *const sink_kind_names[] = {
	[SINK_KIND_FILE] = "file",
	[SINK_KIND_STDOUT] = "stdout",
	[SINK_KIND_EXEC] = "exec",
	[SINK_KIND_POSTGRES] = "postgres",
};

static const char *const exec_protocol_names[] = {
	[EXEC_PROTOCOL_EXEC] = "exec",
	[EXEC_PROTOCOL_LINES] = "lines",
};

/* Enum fields are written through an int. */
_Static_assert(sizeof(enum log_level) == sizeof(int), "enum log_level");
_Static_assert(sizeof(enum sink_kind) == sizeof(int), "enum sink_kind");
_Static_assert(sizeof(enum exec_protocol) == sizeof(int),
    "enum exec_protocol");

static const struct config_int config_ints[] = {
	/* key				field
	 *    min	max		default */
	{ "listen.port",		CFG_INT(port),
	    0,		65535,		8080 },
	{ "limits.max_body_bytes",	CFG_INT(max_body_bytes),
	    1,		64 << 20,	1 << 20 },
	{ "limits.max_connections",	CFG_INT(max_connections),
	    1,		65536,		1024 },
	{ "limits.max_connections_per_address",
					CFG_INT(max_connections_per_address),
	    0,		65536,		128 },
	{ "limits.connection_timeout_s", CFG_INT(connection_timeout_s),
	    1,		3600,		30 },
	{ "limits.threads",		CFG_INT(threads),
	    1,		256,		4 },
	{ "limits.shutdown_timeout_s",	CFG_INT(shutdown_timeout_s),
	    0,		3600,		10 },
	{ "limits.max_in_flight",	CFG_INT(max_in_flight),
	    1,		1000000,	512 },
	{ "dedup.entries",		CFG_INT(dedup_entries),
	    0,		10000000,	100000 },
	{ "dedup.ttl_s",		CFG_INT(dedup_ttl_s),
	    1,		604800,		86400 },
	{ "auth.signature.max_skew_s",	CFG_INT(sig_max_skew_s),
	    0,		604800,		0 },
	{ "auth.oauth2.token_ttl_s",	CFG_INT(oauth2_token_ttl_s),
	    60,		86400,		3600 },
	{ "metrics.port",		CFG_INT(metrics_port),
	    0,		65535,		9102 },
	{ "sns.max_skew_s",		CFG_INT(sns_max_skew_s),
	    1,		604800,		3600 },
	/* SNS gives up on an answer after 15 s. */
	{ "sns.deadline_s",		CFG_INT(sns_deadline_s),
	    1,		14,		12 },
};

static const struct config_str config_strs[] = {
	/* key			field
	 *    default		required secret	check */
	{ "listen.address",	CFG_OFF(address),
	    "127.0.0.1",	false,	false,	check_address },
	{ "listen.path",	CFG_OFF(callback_path),
	    "/sinch/sms",	false,	false,	check_url_path },
	{ "dedup.state_file",	CFG_OFF(dedup_state_file),
	    NULL,		false,	false,	check_nonempty },
	/* One of password and password_file; see check_auth(). */
	{ "auth.basic.username", CFG_OFF(basic_username),
	    NULL,		true,	false,	check_username },
	{ "auth.basic.password", CFG_OFF(basic_password),
	    NULL,		false,	true,	check_nonempty },
	{ "auth.basic.password_file", CFG_OFF(basic_password_file),
	    NULL,		false,	false,	check_nonempty },
	{ "auth.oauth2.key_file", CFG_OFF(oauth2_key_file),
	    NULL,		true,	false,	check_nonempty },
	{ "auth.oauth2.path",	CFG_OFF(oauth2_path),
	    "/oauth2/token",	false,	false,	check_url_path },
	/* Which of these go together is checked by check_tls(). */
	{ "tls.cert",		CFG_OFF(tls_cert),
	    NULL,		false,	false,	check_readable },
	{ "tls.key",		CFG_OFF(tls_key),
	    NULL,		false,	false,	check_readable },
	{ "tls.client_ca",	CFG_OFF(tls_client_ca),
	    NULL,		false,	false,	check_readable },
	{ "metrics.address",	CFG_OFF(metrics_address),
	    "127.0.0.1",	false,	false,	check_address },
	{ "sns.path",		CFG_OFF(sns_path),
	    "/sinch/sns",	false,	false,	check_url_path },
	{ "sns.cert_dir",	CFG_OFF(sns_cert_dir),
	    NULL,		false,	false,	check_directory },
};

static const struct config_bool config_bools[] = {
	/* key			field				default */
	{ "log.mask_numbers",	CFG_OFF(log_mask_numbers),	false },
	{ "sns.auto_confirm",	CFG_OFF(sns_auto_confirm),	true },
};

static const struct config_enum config_enums[] = {
	/* key			field
	 *    names, count
	 *    what	required default */
	{ "log.level",		CFG_OFF(log_level),
	    log_level_names, nitems(log_level_names),
	    "level",	false,	LOG_LEVEL_INFO },
};

static const struct config_list config_lists[] = {
	/* key			required parse */
	{ "sinks",		true,	parse_sinks },
	{ "auth.oauth2.clients", true,	parse_oauth2_clients },
};

/*
 * The signature's secrets may each be empty lists: together they want
 * one or two (check_auth()).  An empty list of addresses would refuse
 * every request, so it is an error rather than "no check".
 */
static const struct config_strv config_strvs[] = {
	/* key			field, count
	 *    is_env	required unique	def_empty secret
	 *    want			check		check_first */
	{ "auth.signature.secrets", CFG_STRV(sig_secrets, nsig_secrets),
	    false,	false,	false,	false,	true,
	    NULL,			check_nonempty,	NULL },
	{ "auth.signature.secret_files",
	    CFG_STRV(sig_secret_files, nsig_secret_files),
	    false,	false,	true,	false,	false,
	    NULL,			check_nonempty,	NULL },
	{ "auth.allow_from",	CFG_STRV(allow_from, nallow_from),
	    false,	false,	true,	false,	false,
	    "at least one address",	check_cidr,	NULL },
	{ "auth.trusted_proxies", CFG_STRV(trusted_proxies, ntrusted_proxies),
	    false,	false,	true,	false,	false,
	    "at least one address",	check_cidr,	NULL },
	/* Told apart once written alike, by check_tls(). */
	{ "tls.client_fingerprints",
	    CFG_STRV(tls_client_fingerprints, ntls_client_fingerprints),
	    false,	false,	false,	false,	false,
	    "at least one fingerprint",	check_fingerprint, NULL },
	{ "sns.topics",		CFG_STRV(sns_topics, nsns_topics),
	    false,	true,	true,	false,	false,
	    "at least one topic",	check_topic_arn, NULL },
};

static const struct config_time config_times[] = {
	/* key			field			flag */
	{ "auth.grace_until",	CFG_OFF(grace_until),	CFG_OFF(has_grace) },
};

static const struct config_group config_groups[] = {
	/* key			flag */
	{ "auth.signature",	CFG_OFF(has_signature) },
	{ "auth.basic",		CFG_OFF(has_basic) },
	{ "auth.oauth2",	CFG_OFF(has_oauth2) },
	{ "metrics",		CFG_OFF(has_metrics_listener) },
	{ "sns",		CFG_OFF(has_sns) },
};

static const struct config_schema config_schema = {
	.ints = config_ints,	.nints = nitems(config_ints),
	.strs = config_strs,	.nstrs = nitems(config_strs),
	.bools = config_bools,	.nbools = nitems(config_bools),
	.enums = config_enums,	.nenums = nitems(config_enums),
	.lists = config_lists,	.nlists = nitems(config_lists),
	.strvs = config_strvs,	.nstrvs = nitems(config_strvs),
	.times = config_times,	.ntimes = nitems(config_times),
	.groups = config_groups, .ngroups = nitems(config_groups),
};

/* One of auth.oauth2.clients; one of secret and secret_file. */
static const struct config_str oauth2_client_strs[] = {
	/* key		field
	 *    default	required secret	check */
	{ "id",		CFG_CLIENT_OFF(id),
	    NULL,	true,	false,	check_client_id },
	{ "secret",	CFG_CLIENT_OFF(secret),
	    NULL,	false,	true,	check_nonempty },
	{ "secret_file", CFG_CLIENT_OFF(secret_file),
	    NULL,	false,	false,	check_nonempty },
};

static const struct config_schema oauth2_client_schema = {
	.strs = oauth2_client_strs,	.nstrs = nitems(oauth2_client_strs),
};

/* Keys that every sink has, whatever its kind. */
static const struct config_str sink_strs[] = {
	/* key		field
	 *    default	required secret	check */
	{ "name",	CFG_SINK_OFF(name),
	    NULL,	true,	false,	check_sink_name },
};

static const struct config_bool sink_bools[] = {
	/* key		field			default */
	{ "required",	CFG_SINK_OFF(required),	true },
	{ "final_only",	CFG_SINK_OFF(final_only), false },
};

/* Filters: an absent list lets everything through. */
static const struct config_strv sink_strvs[] = {
	/* key		field, count
	 *    is_env	required unique	def_empty secret
	 *    want			check		check_first */
	{ "types",	CFG_SINK_STRV(types, ntypes),
	    false,	false,	true,	false,	false,
	    "at least one type",	check_nonempty,	NULL },
	{ "statuses",	CFG_SINK_STRV(statuses, nstatuses),
	    false,	false,	true,	false,	false,
	    "at least one status",	check_nonempty,	NULL },
};

static const struct config_enum sink_enums[] = {
	/* key		field
	 *    names, count
	 *    what	required default */
	{ "kind",	CFG_SINK_OFF(kind),
	    sink_kind_names, nitems(sink_kind_names),
	    "kind",	true,	0 },
};

static const struct config_schema sink_schema = {
	.strs = sink_strs,	.nstrs = nitems(sink_strs),
	.bools = sink_bools,	.nbools = nitems(sink_bools),
	.enums = sink_enums,	.nenums = nitems(sink_enums),
	.strvs = sink_strvs,	.nstrvs = nitems(sink_strvs),
};

/* kind = "file" */
static const struct config_str sink_file_strs[] = {
	/* key		field
	 *    default	required secret	check */
	{ "path",	CFG_SINK_OFF(path),
	    NULL,	true,	false,	check_nonempty },
};

static const struct config_bool sink_file_bools[] = {
	/* key		field			default */
	{ "fsync",	CFG_SINK_OFF(fsync),	true },
};

static const struct config_schema sink_file_schema = {
	.strs = sink_file_strs,		.nstrs = nitems(sink_file_strs),
	.bools = sink_file_bools,	.nbools = nitems(sink_file_bools),
};

/* kind = "exec" */
static const struct config_int sink_exec_ints[] = {
	/* key			field
	 *    min	max		default */
	{ "timeout_ms",		CFG_SINK_INT(timeout_ms),
	    1,		3600000,	10000 },
	{ "max_concurrent",	CFG_SINK_INT(max_concurrent),
	    1,		1024,		4 },
	/* 0: no waiting, SINK_BUSY at once when every slot is taken. */
	{ "queue_wait_ms",	CFG_SINK_INT(queue_wait_ms),
	    0,		60000,		1000 },
};

static const struct config_enum sink_exec_enums[] = {
	/* key		field
	 *    names, count
	 *    what	required default */
	{ "protocol",	CFG_SINK_OFF(protocol),
	    exec_protocol_names, nitems(exec_protocol_names),
	    "protocol",	false,	EXEC_PROTOCOL_EXEC },
};

/* env is { NULL } rather than NULL when the key is absent. */
static const struct config_strv sink_exec_strvs[] = {
	/* key		field, count
	 *    is_env	required unique	def_empty secret
	 *    want			check		check_first */
	{ "command",	CFG_SINK_STRV(command, ncommand),
	    false,	true,	false,	false,	false,
	    "at least the program",	NULL,		check_program },
	{ "env",	CFG_SINK_STRV(env, nenv),
	    true,	false,	false,	true,	false,
	    NULL,			check_env_name,	NULL },
};

static const struct config_schema sink_exec_schema = {
	.ints = sink_exec_ints,		.nints = nitems(sink_exec_ints),
	.enums = sink_exec_enums,	.nenums = nitems(sink_exec_enums),
	.strvs = sink_exec_strvs,	.nstrvs = nitems(sink_exec_strvs),
};

/* kind = "postgres" */
static const struct config_int sink_postgres_ints[] = {
	/* key			field
	 *    min	max		default */
	/* Two: one batch is sent while the other commits. */
	{ "connections",	CFG_SINK_INT(connections),
	    1,		64,		2 },
	{ "statement_timeout_ms", CFG_SINK_INT(statement_timeout_ms),
	    100,	600000,		5000 },
	{ "queue_wait_ms",	CFG_SINK_INT(queue_wait_ms),
	    1,		60000,		1000 },
};

static const struct config_str sink_postgres_strs[] = {
	/* key		field
	 *    default	required secret	check */
	{ "conninfo",	CFG_SINK_OFF(conninfo),
	    NULL,	true,	false,	check_conninfo },
	{ "password_file", CFG_SINK_OFF(password_file),
	    NULL,	false,	false,	check_nonempty },
	{ "table",	CFG_SINK_OFF(table),
	    "sinch_reports", false, false, check_table },
};

static const struct config_schema sink_postgres_schema = {
	.ints = sink_postgres_ints,	.nints = nitems(sink_postgres_ints),
	.strs = sink_postgres_strs,	.nstrs = nitems(sink_postgres_strs),
};

/* The keys each kind adds; NULL when it adds none. */
static const struct config_schema *const sink_kind_schemas[] = {
	[SINK_KIND_FILE] = &sink_file_schema,
	[SINK_KIND_STDOUT] = NULL,
	[SINK_KIND_EXEC] = &sink_exec_schema,
	[SINK_KIND_POSTGRES] = &sink_postgres_schema,
};

_Static_assert(nitems(sink_kind_schemas) == nitems(sink_kind_names),
    "every sink kind needs a name and a schema");

static void
vfail(struct config_ctx *ctx, const char *file, unsigned int line,
    const char *key, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

/*
 * Fills the caller's buffer with "file:line: key: reason", or without the
 * line when it is 0 and without the key when it is NULL.
 */
static void
vfail(struct config_ctx *ctx, const char *file, unsigned int line,
    const char *key, const char *fmt, va_list ap)
{
	char	 why[CONFIG_WHY_MAX], at[16] = "";

	vsnprintf(why, sizeof(why), fmt, ap);
	if (line > 0)
		snprintf(at, sizeof(at), ":%u", line);
	snprintf(ctx->err, ctx->errlen, "%s%s: %s%s%s", file, at,
	    key != NULL ? key : "", key != NULL ? ": " : "", why);
}

/*
 * An error about key at setting s: its file and line, or line 1 of the
 * main file for the root, which libconfig places on line 0.
 */
static void
fail(struct config_ctx *ctx, const config_setting_t *s, const char *key,
    const char *fmt, ...)
{
	const char	*file = ctx->path;
	unsigned int	 line = 1;
	va_list		 ap;

	if (config_setting_source_file(s) != NULL)
		file = config_setting_source_file(s);
	if (config_setting_source_line(s) > 0)
		line = config_setting_source_line(s);
	va_start(ap, fmt);
	vfail(ctx, file, line, key, fmt, ap);
	va_end(ap);
}

/* An error about a file as a whole (line 0) or about one of its lines. */
static void
fail_at(struct config_ctx *ctx, const char *file, unsigned int line,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vfail(ctx, file, line, NULL, fmt, ap);
	va_end(ap);
}

static void
fail_nomem(struct config_ctx *ctx)
{
	fail_at(ctx, ctx->path, 0, "%s", strerror(ENOMEM));
}

/*
 * Writes the first bytes of s (n in all) between quotes q for an error
 * message: printable ASCII as is, q and backslash escaped, other bytes as
 * \xNN, and "..." after the quotes when s was cut.  Returns dst.
 */
static const char *
quote(char dst[CONFIG_QUOTE_MAX], const char *s, size_t n, char q)
{
	static const char	 hex[] = "0123456789abcdef";
	char			*p = dst;
	size_t			 i;
	unsigned char		 c;

	*p++ = q;
	for (i = 0; i < n && i < CONFIG_QUOTE_BYTES; i++) {
		c = (unsigned char)s[i];
		if (c == (unsigned char)q || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c >= 0x20 && c < 0x7f)
			*p++ = (char)c;
		else {
			*p++ = '\\';
			*p++ = 'x';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 0xf];
		}
	}
	*p++ = q;
	if (n > CONFIG_QUOTE_BYTES) {
		memcpy(p, "...", 3);
		p += 3;
	}
	*p = '\0';
	return dst;
}

/* "a", "a or b", "a, b or c" */
static void
list_names(char *dst, size_t len, const char *const *names, size_t n)
{
	size_t	 i, used = 0;
	int	 w;

	dst[0] = '\0';
	for (i = 0; i < n && used < len; i++) {
		w = snprintf(dst + used, len - used, "%s%s",
		    i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/*
 * What most names share: not empty, at most max bytes, and only bytes
 * that ok accepts; rule says which, in the error.
 */
static int
check_chars(const char *s, size_t max, bool (*ok)(unsigned char),
    const char *rule, char *why, size_t len)
{
	char	q[CONFIG_QUOTE_MAX];
	size_t	i, n = strlen(s);

	if (n == 0) {
		snprintf(why, len, "must not be empty");
		return -1;
	}
	if (n > max) {
		snprintf(why, len, "%zu bytes > %zu", n, max);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (!ok((unsigned char)s[i])) {
			snprintf(why, len, "invalid character %s (%s)",
			    quote(q, s + i, 1, '\''), rule);
			return -1;
		}
	return 0;
}

static bool
url_path_char(unsigned char c)
{
	return c > ' ' && c != 0x7f && c != '?' && c != '#';
}

static bool
sink_name_char(unsigned char c)
{
	return (c < 0x80 && isalnum(c)) || c == '_' || c == '.' || c == '-';
}

static bool
username_char(unsigned char c)
{
	return c != ':' && c >= 0x20 && c != 0x7f;
}

static bool
client_id_char(unsigned char c)
{
	return c > ' ' && c < 0x7f && c != ':';
}

static int
check_address(const char *s, char *why, size_t len)
{
	unsigned char	 addr[sizeof(struct in6_addr)];
	char		 q[CONFIG_QUOTE_MAX];

	if (inet_pton(AF_INET, s, addr) == 1 ||
	    inet_pton(AF_INET6, s, addr) == 1)
		return 0;
	snprintf(why, len, "%s is not a numeric IPv4 or IPv6 address",
	    quote(q, s, strlen(s), '"'));
	return -1;
}

/*
 * The path part of the callback URL.  libmicrohttpd hands the handler the
 * path without its query, so '?' and '#' could never match either.
 */
static int
check_url_path(const char *s, char *why, size_t len)
{
	char	q[CONFIG_QUOTE_MAX];

	if (s[0] != '/') {
		snprintf(why, len, "%s does not start with '/'",
		    quote(q, s, strlen(s), '"'));
		return -1;
	}
	return check_chars(s, CONFIG_URL_PATH_MAX, url_path_char,
	    "no whitespace, control characters, '?' or '#'", why, len);
}

/* Sink names appear in logs and metric labels: keep them plain. */
static int
check_sink_name(const char *s, char *why, size_t len)
{
	return check_chars(s, CONFIG_SINK_NAME_MAX, sink_name_char,
	    "want A-Z a-z 0-9 _ . -", why, len);
}

static int
check_nonempty(const char *s, char *why, size_t len)
{
	if (s[0] != '\0')
		return 0;
	snprintf(why, len, "must not be empty");
	return -1;
}

/*
 * The program of an exec sink, run without a shell or a PATH search.
 * Checked now so that -t catches a typo; the sink still handles a program
 * that goes away later.
 */
static int
check_program(const char *s, char *why, size_t len)
{
	struct stat	 st;
	char		 q[CONFIG_QUOTE_MAX];

	quote(q, s, strlen(s), '"');
	if (s[0] != '/') {
		snprintf(why, len, "%s must be an absolute path", q);
		return -1;
	}
	if (stat(s, &st) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			snprintf(why, len, "%s does not exist", q);
		else
			snprintf(why, len, "unable to stat %s: %s", q,
			    strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, len, "%s is not a regular file", q);
		return -1;
	}
	if (access(s, X_OK) == -1) {
		snprintf(why, len, "%s is not executable", q);
		return -1;
	}
	return 0;
}

/*
 * A name in an exec sink's environment: one a shell can use, and none of
 * the SINCH_ names through which the daemon describes the report.
 */
static int
check_env_name(const char *s, char *why, size_t len)
{
	char		 q[CONFIG_QUOTE_MAX];
	size_t		 i, n = strlen(s);
	unsigned char	 c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c < 0x80 && (isalpha(c) || c == '_' ||
		    (i > 0 && isdigit(c))))
			continue;
		snprintf(why, len, "invalid character %s (want A-Z a-z 0-9 _, "
		    "no digit first)", quote(q, s + i, 1, '\''));
		return -1;
	}
	if (n == 0) {
		snprintf(why, len, "must not be empty");
		return -1;
	}
	if (strncmp(s, "SINCH_", 6) == 0) {
		snprintf(why, len, "names starting with SINCH_ are reserved");
		return -1;
	}
	return 0;
}

/* An HTTP Basic user-id (RFC 7617): no ':' and no control characters. */
static int
check_username(const char *s, char *why, size_t len)
{
	return check_chars(s, SIZE_MAX, username_char,
	    "no ':' or control characters", why, len);
}

/*
 * An OAuth 2.0 client id: it is sent in a form or a Basic header, lands
 * in tokens and in logs, so printable ASCII without ':' or spaces.
 */
static int
check_client_id(const char *s, char *why, size_t len)
{
	return check_chars(s, CONFIG_CLIENT_ID_MAX, client_id_char,
	    "want printable ASCII, no ':' or whitespace", why, len);
}

/*
 * "192.0.2.0/24", "2001:db8::/32" or a bare address (all of its bits).
 * The prefix is plain decimal; bits set beyond it are allowed, as the
 * match masks them.
 */
static int
check_cidr(const char *s, char *why, size_t len)
{
	unsigned char	 addr[sizeof(struct in6_addr)];
	char		 host[INET6_ADDRSTRLEN], q[CONFIG_QUOTE_MAX];
	const char	*slash = strchr(s, '/'), *p;
	size_t		 n = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned int	 max, prefix = 0;

	if (n >= sizeof(host))
		goto bad;
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, addr) == 1)
		max = 32;
	else if (inet_pton(AF_INET6, host, addr) == 1)
		max = 128;
	else
		goto bad;
	if (slash == NULL)
		return 0;
	p = slash + 1;
	if (!isdigit((unsigned char)*p) || (p[0] == '0' && p[1] != '\0'))
		goto bad;
	for (; isdigit((unsigned char)*p) && prefix <= max; p++)
		prefix = prefix * 10 + (unsigned int)(*p - '0');
	if (*p != '\0' || prefix > max)
		goto bad;
	return 0;
bad:
	snprintf(why, len, "%s is not an address or CIDR",
	    quote(q, s, strlen(s), '"'));
	return -1;
}

/*
 * A libpq connection string, parsed by libpq itself so that -t finds a
 * typo without connecting.  A password is refused: it would sit in a
 * world-readable file and in every "ps".  libpq's message may quote a
 * token, so it is left out when the text may hold a password.
 */
static int
check_conninfo(const char *s, char *why, size_t len)
{
	PQconninfoOption	*opts, *o;
	char			*msg = NULL;
	int			 ret = 0;

	if ((opts = PQconninfoParse(s, &msg)) == NULL) {
		if (msg == NULL)
			snprintf(why, len, "out of memory");
		else if (strcasestr(s, "password") != NULL)
			snprintf(why, len, "not a valid libpq connection "
			    "string");
		else
			snprintf(why, len, "not a valid libpq connection "
			    "string: %.*s", (int)strcspn(msg, "\n"), msg);
		PQfreemem(msg);
		return -1;
	}
	for (o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL) {
			snprintf(why, len, "must not hold the password: "
			    "put it in password_file");
			ret = -1;
		}
	PQconninfoFree(opts);
	return ret;
}

static bool
ident_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* A table, "name" or "schema.name", each as PostgreSQL folds it. */
static int
check_table(const char *s, char *why, size_t len)
{
	char		 q[CONFIG_QUOTE_MAX];
	const char	*part = s, *dot;
	size_t		 n;
	int		 parts = 0;

	for (;;) {
		dot = strchr(part, '.');
		n = dot != NULL ? (size_t)(dot - part) : strlen(part);
		if (n == 0 || n > 63 || (part[0] >= '0' && part[0] <= '9'))
			goto bad;
		for (size_t i = 0; i < n; i++)
			if (!ident_char((unsigned char)part[i]))
				goto bad;
		parts++;
		if (dot == NULL)
			break;
		part = dot + 1;
	}
	if (parts <= 2)
		return 0;
bad:
	snprintf(why, len, "%s is not a table name ([schema.]name, "
	    "lower-case letters, digits and _, at most 63 bytes each)",
	    quote(q, s, strlen(s), '"'));
	return -1;
}

/*
 * An SNS topic's ARN, "arn:aws:sns:region:account:name" (aws-cn and
 * aws-us-gov partitions too), compared byte for byte with TopicArn.
 */
static bool
arn_char(unsigned char c)
{
	return isalnum(c) || c == ':' || c == '-' || c == '_' || c == '.';
}

static int
check_topic_arn(const char *s, char *why, size_t len)
{
	static const char *const prefixes[] = {
		"arn:aws:sns:", "arn:aws-cn:sns:", "arn:aws-us-gov:sns:"
	};
	char	 q[CONFIG_QUOTE_MAX];
	size_t	 i;

	for (i = 0; i < nitems(prefixes); i++)
		if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0)
			break;
	if (i == nitems(prefixes)) {
		snprintf(why, len, "%s is not an SNS topic ARN (want "
		    "\"arn:aws:sns:region:account:topic\")",
		    quote(q, s, strlen(s), '"'));
		return -1;
	}
	return check_chars(s, CONFIG_URL_PATH_MAX, arn_char,
	    "want A-Z a-z 0-9 : - _ .", why, len);
}

/*
 * A file (a certificate or key) or a directory (sns.cert_dir) that the
 * daemon itself reads: checked now so that -t finds a typo.  Relative to
 * the working directory.
 */
static int
check_path(const char *s, bool dir, char *why, size_t len)
{
	struct stat	 st;
	char		 q[CONFIG_QUOTE_MAX];
	int		 e = 0;

	if (s[0] == '\0') {
		snprintf(why, len, "must not be empty");
		return -1;
	}
	if (access(s, dir ? R_OK | X_OK : R_OK) == -1 || stat(s, &st) == -1)
		e = errno;
	else if (!dir && S_ISDIR(st.st_mode))
		e = EISDIR;
	else if (dir && !S_ISDIR(st.st_mode))
		e = ENOTDIR;
	if (e == 0)
		return 0;
	snprintf(why, len, "unable to read %s%s: %s", dir ?
	    "the directory " : "", quote(q, s, strlen(s), '"'),
	    strerror(e));
	return -1;
}

static int
check_readable(const char *s, char *why, size_t len)
{
	return check_path(s, false, why, len);
}

static int
check_directory(const char *s, char *why, size_t len)
{
	return check_path(s, true, why, len);
}

/*
 * "sha256:" and a SHA-256 digest in hex, either 64 digits or 32 pairs
 * joined by ':' as openssl prints them; any case.  With out, writes the
 * digits there in lower case.
 */
static int
fingerprint_hex(const char *s, char out[CONFIG_FP_HEX + 1])
{
	const char	*p = s + 7;
	size_t		 i, j = 0, n;
	bool		 sep;

	if (strncasecmp(s, "sha256:", 7) != 0)
		return -1;
	n = strlen(p);
	if (n == CONFIG_FP_HEX)
		sep = false;
	else if (n == CONFIG_FP_HEX / 2 * 3 - 1)
		sep = true;
	else
		return -1;
	for (i = 0; i < n; i++) {
		if (sep && i % 3 == 2) {
			if (p[i] != ':')
				return -1;
			continue;
		}
		if (!isxdigit((unsigned char)p[i]))
			return -1;
		if (out != NULL)
			out[j++] = (char)tolower((unsigned char)p[i]);
	}
	if (out != NULL)
		out[j] = '\0';
	return 0;
}

static int
check_fingerprint(const char *s, char *why, size_t len)
{
	if (fingerprint_hex(s, NULL) == 0)
		return 0;
	snprintf(why, len, "want sha256: and %d hex digits", CONFIG_FP_HEX);
	return -1;
}

/* The n decimal digits at s; the caller has checked that they are. */
static int
digits(const char *s, size_t n)
{
	int	 v = 0;

	while (n-- > 0)
		v = v * 10 + (*s++ - '0');
	return v;
}

/*
 * "YYYY-MM-DDTHH:MM:SSZ" into seconds since the epoch, strictly: every
 * digit there, each field in range, the day within its month, UTC only,
 * and no fraction, since the result is whole seconds anyway.
 */
static int
parse_utc(const char *s, long long *out)
{
	static const char	 form[] = "dddd-dd-ddTdd:dd:ddZ";
	static const int	 mdays[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
	};
	struct tm		 tm;
	size_t			 i;
	int			 year, mon, day, leap;
	time_t			 t;

	if (strlen(s) != sizeof(form) - 1)
		return -1;
	for (i = 0; form[i] != '\0'; i++)
		if (form[i] == 'd' ? !isdigit((unsigned char)s[i]) :
		    s[i] != form[i])
			return -1;
	year = digits(s, 4);
	mon = digits(s + 5, 2);
	day = digits(s + 8, 2);
	leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (year < 1970 || mon < 1 || mon > 12 || day < 1 ||
	    day > mdays[mon - 1] + (mon == 2 && leap))
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = digits(s + 11, 2);
	tm.tm_min = digits(s + 14, 2);
	tm.tm_sec = digits(s + 17, 2);
	if (tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
		return -1;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*out = (long long)t;
	return 0;
}

static void
store_int(void *base, const struct config_int *row, long long v)
{
	void	*p = (char *)base + row->off;

	switch (row->store) {
	case CONFIG_STORE_INT:
		*(int *)p = (int)v;
		break;
	case CONFIG_STORE_SIZE:
		*(size_t *)p = (size_t)v;
		break;
	}
}

static void
store_enum(void *base, const struct config_enum *row, int v)
{
	*(int *)(void *)((char *)base + row->off) = v;
}

/* Frees s, first wiping it when it is a secret; NULL is a no-op. */
static void
str_free(char *s, bool wipe)
{
	if (s != NULL && wipe)
		explicit_bzero(s, strlen(s));
	free(s);
}

/* Frees a NULL-terminated array of strings; NULL is a no-op. */
static void
strv_free(char **v, bool wipe)
{
	char	**p;

	if (v == NULL)
		return;
	for (p = v; *p != NULL; p++)
		str_free(*p, wipe);
	free(v);
}

/* Replaces the array of row in base with v of n strings, taking v. */
static void
store_strv(void *base, const struct config_strv *row, char **v, size_t n)
{
	char	***field = (char ***)(void *)((char *)base + row->off);

	strv_free(*field, row->secret);
	*field = v;
	*(size_t *)(void *)((char *)base + row->count_off) = n;
}

/*
 * Finds key among n rows of size bytes each.  With inside set, finds
 * instead a row whose key lies inside the group named key.
 */
static const void *
find_row(const void *rows, size_t n, size_t size, const char *key,
    bool inside)
{
	const char	*row = rows, *k;
	size_t		 i, len = strlen(key);

	for (i = 0; i < n; i++, row += size) {
		k = *(const char *const *)(const void *)row;
		if (inside ? strncmp(k, key, len) == 0 && k[len] == '.' :
		    strcmp(k, key) == 0)
			return row;
	}
	return NULL;
}

static bool
schema_find(const struct config_schema *sc, const char *key, bool inside,
    struct config_ref *ref)
{
	size_t	 i;
	const struct {
		const void		*rows;
		size_t			 n;
		size_t			 size;
		enum config_type	 type;
	} t[] = {
		{ sc->ints, sc->nints, sizeof(*sc->ints), CONFIG_T_INT },
		{ sc->strs, sc->nstrs, sizeof(*sc->strs), CONFIG_T_STR },
		{ sc->bools, sc->nbools, sizeof(*sc->bools), CONFIG_T_BOOL },
		{ sc->enums, sc->nenums, sizeof(*sc->enums), CONFIG_T_ENUM },
		{ sc->lists, sc->nlists, sizeof(*sc->lists), CONFIG_T_LIST },
		{ sc->strvs, sc->nstrvs, sizeof(*sc->strvs), CONFIG_T_STRV },
		{ sc->times, sc->ntimes, sizeof(*sc->times), CONFIG_T_TIME },
	};

	for (i = 0; i < nitems(t); i++) {
		ref->row = find_row(t[i].rows, t[i].n, t[i].size, key, inside);
		if (ref->row != NULL) {
			ref->type = t[i].type;
			return true;
		}
	}
	return false;
}

static bool
scope_find(const struct config_scope *sp, const char *key, bool inside,
    struct config_ref *ref)
{
	size_t	 i;

	for (i = 0; i < nitems(sp->schemas); i++)
		if (sp->schemas[i] != NULL &&
		    schema_find(sp->schemas[i], key, inside, ref))
			return true;
	return false;
}

/* The flag that the group at key turns on, or NULL. */
static bool *
scope_group_flag(const struct config_scope *sp, const char *key)
{
	const struct config_schema	*sc;
	const struct config_group	*row;
	size_t				 i;

	for (i = 0; i < nitems(sp->schemas); i++) {
		if ((sc = sp->schemas[i]) == NULL)
			continue;
		row = find_row(sc->groups, sc->ngroups, sizeof(*sc->groups),
		    key, false);
		if (row != NULL)
			return (bool *)(void *)((char *)sp->base + row->off);
	}
	return NULL;
}

/* Sets every field of schema sc in base to its default. */
static int
schema_defaults(struct config_ctx *ctx, const struct config_schema *sc,
    void *base)
{
	char	**field, **v;
	size_t	 i;

	if (sc == NULL)
		return 0;
	for (i = 0; i < sc->nints; i++)
		store_int(base, &sc->ints[i], sc->ints[i].def);
	for (i = 0; i < sc->nstrs; i++) {
		field = (char **)(void *)((char *)base + sc->strs[i].off);
		if (sc->strs[i].def == NULL)
			continue;
		free(*field);
		if ((*field = strdup(sc->strs[i].def)) == NULL) {
			fail_nomem(ctx);
			return -1;
		}
	}
	for (i = 0; i < sc->nbools; i++)
		*(bool *)(void *)((char *)base + sc->bools[i].off) =
		    sc->bools[i].def;
	for (i = 0; i < sc->nenums; i++)
		store_enum(base, &sc->enums[i], sc->enums[i].def);
	for (i = 0; i < sc->nstrvs; i++) {
		if (!sc->strvs[i].def_empty)
			continue;
		if ((v = calloc(1, sizeof(*v))) == NULL) {
			fail_nomem(ctx);
			return -1;
		}
		store_strv(base, &sc->strvs[i], v, 0);
	}
	for (i = 0; i < sc->ntimes; i++) {
		*(long long *)(void *)((char *)base + sc->times[i].off) = 0;
		*(bool *)(void *)((char *)base + sc->times[i].has_off) = false;
	}
	for (i = 0; i < sc->ngroups; i++)
		*(bool *)(void *)((char *)base + sc->groups[i].off) = false;
	return 0;
}

/* Frees the strings and arrays of schema sc in base. */
static void
schema_free(const struct config_schema *sc, void *base)
{
	char	**field;
	size_t	 i;

	if (sc == NULL)
		return;
	for (i = 0; i < sc->nstrs; i++) {
		field = (char **)(void *)((char *)base + sc->strs[i].off);
		str_free(*field, sc->strs[i].secret);
		*field = NULL;
	}
	for (i = 0; i < sc->nstrvs; i++)
		store_strv(base, &sc->strvs[i], NULL, 0);
}

static int
apply_int(struct config_ctx *ctx, const config_setting_t *s,
    const char *key, const struct config_int *row, void *base)
{
	long long	 v;

	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		fail(ctx, s, key, "expected an integer");
		return -1;
	}
	v = config_setting_get_int64(s);
	if (v < row->min) {
		fail(ctx, s, key, "%lld < %lld", v, row->min);
		return -1;
	}
	if (v > row->max) {
		fail(ctx, s, key, "%lld > %lld", v, row->max);
		return -1;
	}
	store_int(base, row, v);
	return 0;
}

static int
apply_str(struct config_ctx *ctx, const config_setting_t *s,
    const char *key, const struct config_str *row, void *base)
{
	char		**field = (char **)(void *)((char *)base + row->off);
	char		 why[CONFIG_WHY_MAX], *copy;
	const char	*v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		fail(ctx, s, key, "expected a string");
		return -1;
	}
	v = config_setting_get_string(s);
	if (row->check != NULL && row->check(v, why, sizeof(why)) == -1) {
		fail(ctx, s, key, "%s", why);
		return -1;
	}
	if ((copy = strdup(v)) == NULL) {
		fail_nomem(ctx);
		return -1;
	}
	str_free(*field, row->secret);
	*field = copy;
	return 0;
}

static int
apply_bool(struct config_ctx *ctx, const config_setting_t *s,
    const char *key, const struct config_bool *row, void *base)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		fail(ctx, s, key, "expected a boolean");
		return -1;
	}
	*(bool *)(void *)((char *)base + row->off) =
	    config_setting_get_bool(s) != CONFIG_FALSE;
	return 0;
}

static int
apply_enum(struct config_ctx *ctx, const config_setting_t *s,
    const char *key, const struct config_enum *row, void *base)
{
	char		 want[CONFIG_WHY_MAX / 2], q[CONFIG_QUOTE_MAX];
	const char	*v;
	size_t		 i;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		fail(ctx, s, key, "expected a string");
		return -1;
	}
	v = config_setting_get_string(s);
	for (i = 0; i < row->nnames; i++) {
		if (strcmp(v, row->names[i]) == 0) {
			store_enum(base, row, (int)i);
			return 0;
		}
	}
	list_names(want, sizeof(want), row->names, row->nnames);
	fail(ctx, s, key, "unknown %s %s (want %s)", row->what,
	    quote(q, v, strlen(v), '"'), want);
	return -1;
}

static int
apply_time(struct config_ctx *ctx, const config_setting_t *s,
    const char *key, const struct config_time *row, void *base)
{
	char		 q[CONFIG_QUOTE_MAX];
	const char	*v;
	long long	 t;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		fail(ctx, s, key, "expected a string");
		return -1;
	}
	v = config_setting_get_string(s);
	if (parse_utc(v, &t) == -1) {
		fail(ctx, s, key, "%s is not a UTC time like "
		    "2026-12-01T00:00:00Z", quote(q, v, strlen(v), '"'));
		return -1;
	}
	*(long long *)(void *)((char *)base + row->off) = t;
	*(bool *)(void *)((char *)base + row->has_off) = true;
	return 0;
}

static int
apply_list(struct config_ctx *ctx, const config_setting_t *s,
    const char *key, const struct config_list *row, void *base)
{
	if (config_setting_type(s) != CONFIG_TYPE_LIST) {
		fail(ctx, s, key, "expected a list");
		return -1;
	}
	return row->parse(ctx, s, key, base);
}

/*
 * "a.b", or "b" when a is empty.  A key too long for any table is cut and
 * marked, as it only names the place of an error.
 */
static void
join_key(char dst[CONFIG_KEY_MAX], const char *a, const char *b)
{
	if (snprintf(dst, CONFIG_KEY_MAX, "%s%s%s", a,
	    a[0] != '\0' ? "." : "", b) >= CONFIG_KEY_MAX)
		memcpy(dst + CONFIG_KEY_MAX - 4, "...", 4);
}

/*
 * Value i of an array or list of strings into v[i].  Errors about one
 * value name it as key.[i], but a bad program names the command.
 */
static int
strv_value(struct config_ctx *ctx, const config_setting_t *s,
    const char *key, const struct config_strv *row, char **v, size_t i)
{
	char		 k[CONFIG_KEY_MAX], why[CONFIG_WHY_MAX];
	char		 q[CONFIG_QUOTE_MAX];
	const char	*val;
	size_t		 j;

	snprintf(k, sizeof(k), "%s.[%zu]", key, i);
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		fail(ctx, s, k, "expected a string");
		return -1;
	}
	val = config_setting_get_string(s);
	if (row->check != NULL && row->check(val, why, sizeof(why)) == -1) {
		fail(ctx, s, k, "%s", why);
		return -1;
	}
	if (i == 0 && row->check_first != NULL &&
	    row->check_first(val, why, sizeof(why)) == -1) {
		fail(ctx, s, key, "%s", why);
		return -1;
	}
	for (j = 0; row->unique && j < i; j++) {
		if (strcmp(v[j], val) != 0)
			continue;
		fail(ctx, s, k, "duplicate value %s (also %s.[%zu])",
		    quote(q, val, strlen(val), '"'), key, j);
		return -1;
	}
	if ((v[i] = strdup(val)) == NULL) {
		fail_nomem(ctx);
		return -1;
	}
	return 0;
}

/* Member s of an env group into v[i] as "NAME=value". */
static int
strv_env(struct config_ctx *ctx, const config_setting_t *s,
    const char *key, const struct config_strv *row, char **v, size_t i)
{
	char		 k[CONFIG_KEY_MAX], why[CONFIG_WHY_MAX];
	const char	*name = config_setting_name(s), *val;
	size_t		 nlen, vlen;

	join_key(k, key, name);
	if (row->check != NULL && row->check(name, why, sizeof(why)) == -1) {
		fail(ctx, s, k, "%s", why);
		return -1;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		fail(ctx, s, k, "expected a string");
		return -1;
	}
	val = config_setting_get_string(s);
	nlen = strlen(name);
	vlen = strlen(val);
	if ((v[i] = malloc(nlen + 1 + vlen + 1)) == NULL) {
		fail_nomem(ctx);
		return -1;
	}
	memcpy(v[i], name, nlen);
	v[i][nlen] = '=';
	memcpy(v[i] + nlen + 1, val, vlen + 1);
	return 0;
}

/* Builds the whole array first: a field is replaced only when it is good. */
static int
apply_strv(struct config_ctx *ctx, const config_setting_t *s,
    const char *key, const struct config_strv *row, void *base)
{
	char	**v = NULL;
	size_t	 i, n;
	int	 ret = -1;

	if (row->is_env && !config_setting_is_group(s)) {
		fail(ctx, s, key, "expected a group");
		return -1;
	}
	if (!row->is_env && !config_setting_is_array(s) &&
	    !config_setting_is_list(s)) {
		fail(ctx, s, key, "expected an array or list of strings");
		return -1;
	}
	n = (size_t)config_setting_length(s);
	if (n == 0 && row->want != NULL) {
		fail(ctx, s, key, "empty list (want %s)", row->want);
		return -1;
	}
	if ((v = calloc(n + 1, sizeof(*v))) == NULL) {
		fail_nomem(ctx);
		return -1;
	}
	for (i = 0; i < n; i++)
		if ((row->is_env ? strv_env : strv_value)(ctx,
		    config_setting_get_elem(s, (unsigned int)i), key, row, v,
		    i) == -1)
			goto done;
	store_strv(base, row, v, n);
	v = NULL;
	ret = 0;
done:
	strv_free(v, row->secret);
	return ret;
}

static int
apply(struct config_ctx *ctx, const config_setting_t *s, const char *key,
    const struct config_ref *ref, void *base)
{
	switch (ref->type) {
	case CONFIG_T_INT:
		return apply_int(ctx, s, key, ref->row, base);
	case CONFIG_T_STR:
		return apply_str(ctx, s, key, ref->row, base);
	case CONFIG_T_BOOL:
		return apply_bool(ctx, s, key, ref->row, base);
	case CONFIG_T_ENUM:
		return apply_enum(ctx, s, key, ref->row, base);
	case CONFIG_T_LIST:
		return apply_list(ctx, s, key, ref->row, base);
	case CONFIG_T_STRV:
		return apply_strv(ctx, s, key, ref->row, base);
	case CONFIG_T_TIME:
		return apply_time(ctx, s, key, ref->row, base);
	}
	return -1;
}

/* Whether key belongs to some sink kind, if not to this one. */
static bool
sink_key_exists(const char *key)
{
	struct config_ref	 ref;
	size_t			 i;

	for (i = 0; i < nitems(sink_kind_schemas); i++)
		if (sink_kind_schemas[i] != NULL &&
		    schema_find(sink_kind_schemas[i], key, false, &ref))
			return true;
	return false;
}

/*
 * Checks and stores every setting in group, in file order, so the first
 * error in the file is the one reported.  rel is the group's key relative
 * to the scope: "" for the scope's own group, "listen" below the root.
 */
static int
walk_group(struct config_ctx *ctx, const struct config_scope *sp,
    const config_setting_t *group, const char *rel)
{
	const config_setting_t	*s;
	struct config_ref	 ref;
	char			 key[CONFIG_KEY_MAX], shown[CONFIG_KEY_MAX];
	bool			*flag;
	int			 i, n = config_setting_length(group);

	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(group, (unsigned int)i);
		join_key(key, rel, config_setting_name(s));
		join_key(shown, sp->prefix, key);
		if (scope_find(sp, key, false, &ref)) {
			if (apply(ctx, s, shown, &ref, sp->base) == -1)
				return -1;
		} else if (scope_find(sp, key, true, &ref)) {
			if (!config_setting_is_group(s)) {
				fail(ctx, s, shown, "expected a group");
				return -1;
			}
			if ((flag = scope_group_flag(sp, key)) != NULL)
				*flag = true;
			if (walk_group(ctx, sp, s, key) == -1)
				return -1;
		} else if (sp->kind != NULL && sink_key_exists(key)) {
			fail(ctx, s, shown, "not valid for kind %s", sp->kind);
			return -1;
		} else {
			fail(ctx, s, shown, "unknown key");
			return -1;
		}
	}
	return 0;
}

/*
 * The setting at the dotted key below group, or NULL; *parent is then the
 * deepest group that does exist on the way.
 */
static const config_setting_t *
find_setting(const config_setting_t *group, const char *key,
    const config_setting_t **parent)
{
	const config_setting_t	*s = group;
	const char		*dot;
	char			 name[CONFIG_KEY_MAX];
	size_t			 len;

	for (;;) {
		*parent = s;
		dot = strchr(key, '.');
		len = dot != NULL ? (size_t)(dot - key) : strlen(key);
		if (len >= sizeof(name) || !config_setting_is_group(s))
			return NULL;
		memcpy(name, key, len);
		name[len] = '\0';
		if ((s = config_setting_get_member(s, name)) == NULL)
			return NULL;
		if (dot == NULL)
			return s;
		key = dot + 1;
	}
}

/*
 * Fails when group lacks key.  A key inside an optional group, such as
 * auth.basic.username, is required only when that group is there.
 */
static int
require(struct config_ctx *ctx, const struct config_scope *sp,
    const config_setting_t *group, const char *key)
{
	const config_setting_t	*parent, *holder;
	const char		*dot = strrchr(key, '.');
	char			 shown[CONFIG_KEY_MAX], outer[CONFIG_KEY_MAX];

	if (find_setting(group, key, &parent) != NULL)
		return 0;
	if (dot != NULL) {
		snprintf(outer, sizeof(outer), "%.*s", (int)(dot - key), key);
		if (find_setting(group, outer, &holder) == NULL)
			return 0;
	}
	join_key(shown, sp->prefix, key);
	fail(ctx, parent, shown, "missing required key");
	return -1;
}

/* Fails for the first required key of the scope that group lacks. */
static int
check_required(struct config_ctx *ctx, const struct config_scope *sp,
    const config_setting_t *group)
{
	const struct config_schema	*sc;
	size_t				 i, j;

	for (i = 0; i < nitems(sp->schemas); i++) {
		if ((sc = sp->schemas[i]) == NULL)
			continue;
		for (j = 0; j < sc->nstrs; j++)
			if (sc->strs[j].required &&
			    require(ctx, sp, group, sc->strs[j].key) == -1)
				return -1;
		for (j = 0; j < sc->nenums; j++)
			if (sc->enums[j].required &&
			    require(ctx, sp, group, sc->enums[j].key) == -1)
				return -1;
		for (j = 0; j < sc->nlists; j++)
			if (sc->lists[j].required &&
			    require(ctx, sp, group, sc->lists[j].key) == -1)
				return -1;
		for (j = 0; j < sc->nstrvs; j++)
			if (sc->strvs[j].required &&
			    require(ctx, sp, group, sc->strvs[j].key) == -1)
				return -1;
	}
	return 0;
}

static int
parse_sink(struct config_ctx *ctx, const config_setting_t *group,
    const char *key, struct sink_config *sink)
{
	struct config_scope	 sp = { { &sink_schema, NULL }, sink, key,
				    NULL };
	const config_setting_t	*kind;
	struct config_ref	 ref;
	char			 shown[CONFIG_KEY_MAX];

	if (!config_setting_is_group(group)) {
		fail(ctx, group, key, "expected a group");
		return -1;
	}
	if (schema_defaults(ctx, &sink_schema, sink) == -1)
		return -1;

	/* The kind decides which other keys are valid, so it comes first. */
	join_key(shown, key, "kind");
	if ((kind = config_setting_get_member(group, "kind")) == NULL) {
		fail(ctx, group, shown, "missing required key");
		return -1;
	}
	if (!schema_find(&sink_schema, "kind", false, &ref) ||
	    apply(ctx, kind, shown, &ref, sink) == -1)
		return -1;
	sp.schemas[1] = sink_kind_schemas[sink->kind];
	sp.kind = sink_kind_names[sink->kind];
	if (schema_defaults(ctx, sp.schemas[1], sink) == -1)
		return -1;

	if (walk_group(ctx, &sp, group, "") == -1 ||
	    check_required(ctx, &sp, group) == -1)
		return -1;
	return 0;
}

static int
parse_sinks(struct config_ctx *ctx, const config_setting_t *list,
    const char *key, void *base)
{
	struct config		*cfg = base;
	const config_setting_t	*s;
	const char		*name;
	char			 k[CONFIG_KEY_MAX], shown[CONFIG_KEY_MAX];
	char			 q[CONFIG_QUOTE_MAX];
	int			 i, n = config_setting_length(list);
	size_t			 j;

	if (n == 0) {
		fail(ctx, list, key, "empty list (want at least one sink)");
		return -1;
	}
	if (n > CONFIG_SINKS_MAX) {
		fail(ctx, list, key, "%d sinks > %d", n, CONFIG_SINKS_MAX);
		return -1;
	}
	if ((cfg->sinks = calloc((size_t)n, sizeof(*cfg->sinks))) == NULL) {
		fail_nomem(ctx);
		return -1;
	}
	cfg->nsinks = (size_t)n;
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(list, (unsigned int)i);
		snprintf(k, sizeof(k), "%s.[%d]", key, i);
		if (parse_sink(ctx, s, k, &cfg->sinks[i]) == -1)
			return -1;
		name = cfg->sinks[i].name;
		for (j = 0; j < (size_t)i; j++) {
			if (strcmp(cfg->sinks[j].name, name) != 0)
				continue;
			join_key(shown, k, "name");
			fail(ctx, config_setting_get_member(s, "name"), shown,
			    "duplicate name %s (also %s.[%zu])",
			    quote(q, name, strlen(name), '"'), key, j);
			return -1;
		}
	}
	return 0;
}

static int
parse_oauth2_client(struct config_ctx *ctx, const config_setting_t *group,
    const char *key, struct oauth2_client_config *client)
{
	struct config_scope	 sp = { { &oauth2_client_schema, NULL }, client,
				    key, NULL };

	if (!config_setting_is_group(group)) {
		fail(ctx, group, key, "expected a group");
		return -1;
	}
	if (walk_group(ctx, &sp, group, "") == -1 ||
	    check_required(ctx, &sp, group) == -1)
		return -1;
	if ((client->secret != NULL) == (client->secret_file != NULL)) {
		fail(ctx, group, key, "want secret or secret_file, %s",
		    client->secret != NULL ? "not both" : "missing");
		return -1;
	}
	return 0;
}

static int
parse_oauth2_clients(struct config_ctx *ctx, const config_setting_t *list,
    const char *key, void *base)
{
	struct config		*cfg = base;
	const config_setting_t	*s;
	const char		*id;
	char			 k[CONFIG_KEY_MAX], shown[CONFIG_KEY_MAX];
	char			 q[CONFIG_QUOTE_MAX];
	int			 i, n = config_setting_length(list);
	size_t			 j;

	if (n == 0) {
		fail(ctx, list, key, "empty list (want at least one client)");
		return -1;
	}
	cfg->oauth2_clients = calloc((size_t)n, sizeof(*cfg->oauth2_clients));
	if (cfg->oauth2_clients == NULL) {
		fail_nomem(ctx);
		return -1;
	}
	cfg->noauth2_clients = (size_t)n;
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(list, (unsigned int)i);
		snprintf(k, sizeof(k), "%s.[%d]", key, i);
		if (parse_oauth2_client(ctx, s, k,
		    &cfg->oauth2_clients[i]) == -1)
			return -1;
		id = cfg->oauth2_clients[i].id;
		for (j = 0; j < (size_t)i; j++) {
			if (strcmp(cfg->oauth2_clients[j].id, id) != 0)
				continue;
			join_key(shown, k, "id");
			fail(ctx, config_setting_get_member(s, "id"), shown,
			    "duplicate id %s (also %s.[%zu])",
			    quote(q, id, strlen(id), '"'), key, j);
			return -1;
		}
	}
	return 0;
}

/* The setting at key below root, or the deepest group on the way. */
static const config_setting_t *
place(const config_setting_t *root, const char *key)
{
	const config_setting_t	*s, *parent;

	if ((s = find_setting(root, key, &parent)) != NULL)
		return s;
	return parent;
}

/*
 * What one auth key says about another.  Basic and OAuth 2.0 go first, as
 * whichever one is wanted, the other's settings are moot.
 */
static int
check_auth(struct config_ctx *ctx, const config_setting_t *root,
    const struct config *cfg)
{
	char	 q[CONFIG_QUOTE_MAX];
	size_t	 n;

	if (cfg->has_basic && cfg->has_oauth2) {
		fail(ctx, place(root, "auth"), "auth", "basic and oauth2 both "
		    "use the Authorization header; choose one");
		return -1;
	}
	if (cfg->has_signature) {
		n = cfg->nsig_secrets + cfg->nsig_secret_files;
		if (n == 0) {
			fail(ctx, place(root, "auth.signature"),
			    "auth.signature",
			    "no secret (want secrets or secret_files)");
			return -1;
		}
		if (n > CONFIG_SIG_SECRETS_MAX) {
			fail(ctx, place(root, "auth.signature"),
			    "auth.signature", "%zu secrets > %d", n,
			    CONFIG_SIG_SECRETS_MAX);
			return -1;
		}
	}
	if (cfg->has_basic && (cfg->basic_password != NULL) ==
	    (cfg->basic_password_file != NULL)) {
		fail(ctx, place(root, "auth.basic"), "auth.basic",
		    "want password or password_file, %s",
		    cfg->basic_password != NULL ? "not both" : "missing");
		return -1;
	}
	/* The token endpoint is a path of the same listener. */
	if (cfg->has_oauth2 && strcmp(cfg->oauth2_path,
	    cfg->callback_path) == 0) {
		fail(ctx, place(root, "auth.oauth2.path"), "auth.oauth2.path",
		    "%s must differ from listen.path", quote(q,
		    cfg->oauth2_path, strlen(cfg->oauth2_path), '"'));
		return -1;
	}
	return 0;
}

/* The SNS route is a path of the same listener. */
static int
check_sns(struct config_ctx *ctx, const config_setting_t *root,
    const struct config *cfg)
{
	char	 q[CONFIG_QUOTE_MAX];

	if (!cfg->has_sns)
		return 0;
	if (strcmp(cfg->sns_path, cfg->callback_path) == 0 ||
	    (cfg->has_oauth2 && strcmp(cfg->sns_path,
	    cfg->oauth2_path) == 0)) {
		fail(ctx, place(root, "sns.path"), "sns.path",
		    "%s must differ from listen.path%s", quote(q,
		    cfg->sns_path, strlen(cfg->sns_path), '"'),
		    cfg->has_oauth2 ? " and auth.oauth2.path" : "");
		return -1;
	}
	return 0;
}

/*
 * What one tls key says about another; then the pinned fingerprints are
 * written alike ("sha256:" and lower-case hex) and told apart.
 */
static int
check_tls(struct config_ctx *ctx, const config_setting_t *root,
    struct config *cfg)
{
	const config_setting_t	*fps;
	char			 hex[CONFIG_FP_HEX + 1], k[CONFIG_KEY_MAX];
	char			 q[CONFIG_QUOTE_MAX], *fp;
	size_t			 i, j;

	if ((cfg->tls_cert != NULL) != (cfg->tls_key != NULL)) {
		fail(ctx, place(root, "tls"), "tls",
		    "cert and key go together");
		return -1;
	}
	if (cfg->tls_client_ca != NULL && cfg->tls_cert == NULL) {
		fail(ctx, place(root, "tls"), "tls", "client_ca requires cert");
		return -1;
	}
	if (cfg->tls_client_fingerprints != NULL &&
	    cfg->tls_client_ca == NULL) {
		fail(ctx, place(root, "tls"), "tls",
		    "client_fingerprints requires client_ca");
		return -1;
	}
	fps = place(root, "tls.client_fingerprints");
	for (i = 0; i < cfg->ntls_client_fingerprints; i++) {
		fp = cfg->tls_client_fingerprints[i];
		snprintf(k, sizeof(k), "tls.client_fingerprints.[%zu]", i);
		/* Checked by check_fingerprint(); never longer than fp. */
		if (fingerprint_hex(fp, hex) == -1) {
			fail(ctx, config_setting_get_elem(fps, (unsigned int)i),
			    k, "want sha256: and %d hex digits", CONFIG_FP_HEX);
			return -1;
		}
		snprintf(fp, strlen(fp) + 1, "sha256:%s", hex);
		for (j = 0; j < i; j++) {
			if (strcmp(cfg->tls_client_fingerprints[j], fp) != 0)
				continue;
			fail(ctx, config_setting_get_elem(fps, (unsigned int)i),
			    k, "duplicate value %s (also "
			    "tls.client_fingerprints.[%zu])",
			    quote(q, fp, strlen(fp), '"'), j);
			return -1;
		}
	}
	return 0;
}

/* A numeric address listening on every interface: "0.0.0.0", "::". */
static bool
is_wildcard(const char *s)
{
	unsigned char	 addr[sizeof(struct in6_addr)];
	size_t		 i, n;

	if (inet_pton(AF_INET, s, addr) == 1)
		n = sizeof(struct in_addr);
	else if (inet_pton(AF_INET6, s, addr) == 1)
		n = sizeof(struct in6_addr);
	else
		return false;
	for (i = 0; i < n; i++)
		if (addr[i] != 0)
			return false;
	return true;
}

/* Whether two numeric addresses (checked already) are the same one. */
static bool
same_address(const char *a, const char *b)
{
	unsigned char	 x[sizeof(struct in6_addr)];
	unsigned char	 y[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, a, x) == 1)
		return inet_pton(AF_INET, b, y) == 1 &&
		    memcmp(x, y, sizeof(struct in_addr)) == 0;
	return inet_pton(AF_INET6, a, x) == 1 &&
	    inet_pton(AF_INET6, b, y) == 1 &&
	    memcmp(x, y, sizeof(struct in6_addr)) == 0;
}

/*
 * The metrics listener cannot share the callback listener's port on an
 * address they both cover: the second bind would fail at start, so -t
 * says so first.  Port 0 is the kernel's choice, always free.
 */
static int
check_metrics(struct config_ctx *ctx, const config_setting_t *root,
    const struct config *cfg)
{
	if (!cfg->has_metrics_listener || cfg->metrics_port == 0 ||
	    cfg->metrics_port != cfg->port)
		return 0;
	if (!same_address(cfg->metrics_address, cfg->address) &&
	    !is_wildcard(cfg->metrics_address) && !is_wildcard(cfg->address))
		return 0;
	fail(ctx, place(root, "metrics.port"), "metrics.port",
	    "%d is listen.port too, on an address both cover",
	    cfg->metrics_port);
	return -1;
}

static int
read_text(struct config_ctx *ctx, const char *path, struct buf *b)
{
	char	 chunk[4096];
	ssize_t	 n;
	int	 fd, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fail_at(ctx, path, 0, "unable to open: %s", strerror(errno));
		return -1;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fail_at(ctx, path, 0, "unable to read: %s",
			    strerror(errno));
			goto done;
		}
		if (b->len + (size_t)n > CONFIG_TEXT_MAX) {
			fail_at(ctx, path, 0, "larger than %d bytes",
			    CONFIG_TEXT_MAX);
			goto done;
		}
		if (buf_append(b, chunk, (size_t)n) == -1) {
			fail_nomem(ctx);
			goto done;
		}
	}
	/* An empty file still gets its NUL. */
	if (buf_reserve(b, 0) == -1) {
		fail_nomem(ctx);
		goto done;
	}
	/* libconfig would stop reading at the NUL. */
	if (strlen(b->data) != b->len) {
		fail_at(ctx, path, 0, "contains a NUL byte");
		goto done;
	}
	ret = 0;
done:
	close(fd);
	return ret;
}

/*
 * What libconfig 1.5 would get wrong, found in the raw text before it
 * parses: an integer without the L suffix is read through atoi(), so
 * 4294975488 quietly becomes 8192; a string or comment left open at the
 * end hides the rest of the file without an error; and @include would read
 * another file, relative to the working directory.
 */
static int
check_text(struct config_ctx *ctx, const char *p)
{
	const char	*start;
	char		*end;
	unsigned int	 line = 1, first;
	long long	 v;
	int		 len;

	while (*p != '\0') {
		if (*p == '\n') {
			line++;
			p++;
		} else if (*p == '#' || (p[0] == '/' && p[1] == '/'))
			p += strcspn(p, "\n");
		else if (p[0] == '/' && p[1] == '*') {
			for (first = line, p += 2;
			    *p != '\0' && (p[0] != '*' || p[1] != '/'); p++)
				if (*p == '\n')
					line++;
			if (*p == '\0')
				goto open_comment;
			p += 2;
		} else if (*p == '"') {
			for (first = line, p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (*p == '\n')
					line++;
			}
			if (*p == '\0')
				goto open_string;
			p++;
		} else if (*p == '@') {
			fail_at(ctx, ctx->path, line,
			    "@include is not supported");
			return -1;
		} else if (isalpha((unsigned char)*p) || *p == '*') {
			/* A name, true or false: its digits are no number. */
			while (isalnum((unsigned char)*p) || *p == '*' ||
			    *p == '-' || *p == '_')
				p++;
		} else if (isdigit((unsigned char)*p) ||
		    ((*p == '-' || *p == '+' || *p == '.') &&
		    isdigit((unsigned char)p[1]))) {
			start = p;
			errno = 0;
			if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
				v = strtoll(p, &end, 16);
			else
				v = strtoll(p, &end, 10);
			if (*end == '.' || *end == 'e' || *end == 'E') {
				/* A float, whatever its digits. */
				for (p = end; *p != '\0' &&
				    (isdigit((unsigned char)*p) ||
				    strchr(".eE+-", *p) != NULL); p++)
					;
				continue;
			}
			if (*end != 'L' &&
			    (errno == ERANGE || v < INT_MIN || v > INT_MAX)) {
				len = (int)(end - start);
				if (len > CONFIG_QUOTE_BYTES)
					len = CONFIG_QUOTE_BYTES;
				fail_at(ctx, ctx->path, line, "integer %.*s "
				    "out of 32-bit range (write %.*sL)", len,
				    start, len, start);
				return -1;
			}
			for (p = end; *p == 'L'; p++)
				;
		} else
			p++;
	}
	return 0;

open_comment:
	fail_at(ctx, ctx->path, first, "syntax error: unterminated comment");
	return -1;
open_string:
	fail_at(ctx, ctx->path, first, "syntax error: unterminated string");
	return -1;
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct config_ctx	 ctx = { path, err, errlen };
	struct config_scope	 sp = { { &config_schema, NULL }, NULL, "",
				    NULL };
	struct config		*cfg = NULL;
	struct buf		 text;
	config_t		 cf;
	const char		*file, *why;
	int			 line, ok = 0;

	buf_init(&text);
	config_init(&cf);
	if (errlen > 0)
		err[0] = '\0';
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (cfg->path = strdup(path)) == NULL) {
		fail_nomem(&ctx);
		goto done;
	}
	sp.base = cfg;
	if (schema_defaults(&ctx, &config_schema, cfg) == -1 ||
	    read_text(&ctx, path, &text) == -1 ||
	    check_text(&ctx, text.data) == -1)
		goto done;

	/* 30.0 for an integer is an error, not 30: never auto-convert. */
	config_set_options(&cf,
	    config_get_options(&cf) & ~CONFIG_OPTION_AUTOCONVERT);
	if (config_read_string(&cf, text.data) != CONFIG_TRUE) {
		file = config_error_file(&cf);
		line = config_error_line(&cf);
		why = config_error_text(&cf);
		if (why == NULL || strcmp(why, "syntax error") == 0)
			why = "";
		fail_at(&ctx, file != NULL ? file : path,
		    line > 0 ? (unsigned int)line : 1, "syntax error%s%s",
		    why[0] != '\0' ? ": " : "", why);
		goto done;
	}
	if (walk_group(&ctx, &sp, config_root_setting(&cf), "") == -1 ||
	    check_required(&ctx, &sp, config_root_setting(&cf)) == -1 ||
	    check_auth(&ctx, config_root_setting(&cf), cfg) == -1 ||
	    check_tls(&ctx, config_root_setting(&cf), cfg) == -1 ||
	    check_metrics(&ctx, config_root_setting(&cf), cfg) == -1 ||
	    check_sns(&ctx, config_root_setting(&cf), cfg) == -1)
		goto done;
	ok = 1;
done:
	config_destroy(&cf);
	/* The text may hold secrets; libconfig's copies are beyond reach. */
	if (text.data != NULL)
		explicit_bzero(text.data, text.cap);
	buf_fini(&text);
	if (!ok) {
		config_free(cfg);
		cfg = NULL;
	}
	return cfg;
}

void
config_free(struct config *cfg)
{
	size_t	 i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nsinks; i++) {
		/* Kind-specific strings are set only after the kind. */
		schema_free(&sink_schema, &cfg->sinks[i]);
		schema_free(sink_kind_schemas[cfg->sinks[i].kind],
		    &cfg->sinks[i]);
	}
	free(cfg->sinks);
	for (i = 0; i < cfg->noauth2_clients; i++)
		schema_free(&oauth2_client_schema, &cfg->oauth2_clients[i]);
	free(cfg->oauth2_clients);
	schema_free(&config_schema, cfg);
	free(cfg->path);
	free(cfg);
}

const char *
config_log_level_name(enum log_level level)
{
	if ((size_t)level >= nitems(log_level_names))
		return "unknown";
	return log_level_names[level];
}

const char *
config_sink_kind_name(enum sink_kind kind)
{
	if ((size_t)kind >= nitems(sink_kind_names))
		return "unknown";
	return sink_kind_names[kind];
}
