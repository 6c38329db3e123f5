/*
 * config.h - the configuration file -> a read-only struct config.
 *
 * Defaults first, then the file (libconfig syntax), then validation.
 * Every error names the place: "file:line: key: reason".
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};

enum sink_kind {
	SINK_KIND_FILE,
	SINK_KIND_STDOUT,
	SINK_KIND_EXEC,
	SINK_KIND_POSTGRES
};

/* How an exec sink talks to its program. */
enum exec_protocol {
	EXEC_PROTOCOL_EXEC,	/* a process per report, its exit status */
	EXEC_PROTOCOL_LINES	/* a helper per slot, a line per report */
};

/* At most this many sinks: dedup keeps one bit per sink. */
#define CONFIG_SINKS_MAX	64

struct sink_config {
	char		*name;
	enum sink_kind	 kind;
	bool		 required;	/* default true */

	/* Filters, every kind.  An absent list matches everything. */
	char		**types;	/* NULL-terminated, or NULL */
	size_t		 ntypes;
	char		**statuses;	/* NULL-terminated, or NULL */
	size_t		 nstatuses;
	bool		 final_only;	/* default false */

	/* SINK_KIND_FILE */
	char		*path;
	bool		 fsync;		/* default true */

	/* SINK_KIND_EXEC */
	char		**command;	/* argv, NULL-terminated */
	size_t		 ncommand;
	char		**env;		/* "NAME=value", NULL-terminated */
	size_t		 nenv;
	int		 timeout_ms;	/* 10000, 1..3600000 */
	int		 max_concurrent; /* 4, 1..1024 */
	enum exec_protocol protocol;	/* exec */

	/* SINK_KIND_POSTGRES */
	char		*conninfo;	/* libpq's, without a password */
	char		*password_file;	/* or NULL */
	char		*table;		/* "sinch_reports", [schema.]name */
	int		 connections;	/* 2, 1..64 */
	int		 statement_timeout_ms; /* 5000, 100..600000 */

	/* SINK_KIND_EXEC (1000, 0..60000) and SINK_KIND_POSTGRES (1..60000) */
	int		 queue_wait_ms;
};

/* One OAuth 2.0 client allowed to ask for tokens. */
struct oauth2_client_config {
	char		*id;
	char		*secret;	/* inline, or NULL */
	char		*secret_file;	/* or a file (see auth.h) */
};

struct config {
	char			*path;		/* the file it was read from */

	/* listen */
	char			*address;	/* "127.0.0.1" */
	int			 port;		/* 8080, 0..65535; 0: any */
	char			*callback_path;	/* "/sinch/sms" */

	/* limits */
	size_t			 max_body_bytes;	/* 1 MiB, 1..64 MiB */
	int			 max_connections;	/* 1024, 1..65536 */
	/* 128, 0..65536; 0: no limit; trusted proxies are exempt */
	int			 max_connections_per_address;
	int			 connection_timeout_s;	/* 30, 1..3600 */
	int			 threads;		/* 4, 1..256 */
	int			 shutdown_timeout_s;	/* 10, 0..3600 */
	int			 max_in_flight;		/* 512, 1..1000000 */

	/* dedup */
	size_t			 dedup_entries;	/* 100000, 0..1e7; 0: off */
	int			 dedup_ttl_s;	/* 86400, 1..604800 */
	char			*dedup_state_file;	/* NULL: not kept */

	/* log */
	enum log_level		 log_level;		/* info */
	/* Phone numbers masked in log lines; records are unchanged. */
	bool			 log_mask_numbers;	/* false */

	/*
	 * metrics: when the group is there, /healthz, /readyz and /metrics
	 * are served on a listener of their own, and not on the main one.
	 */
	bool			 has_metrics_listener;
	char			*metrics_address;	/* "127.0.0.1" */
	int			 metrics_port;	/* 9102, 0..65535; 0: any */

	/*
	 * auth: every configured check must pass; none is on by default.
	 * Secrets named by file are read by auth.c, not here.
	 */
	bool			 has_signature;		/* auth.signature */
	char			**sig_secrets;		/* NULL-terminated */
	size_t			 nsig_secrets;
	char			**sig_secret_files;	/* NULL-terminated */
	size_t			 nsig_secret_files;	/* 1..2 with the above */
	int			 sig_max_skew_s;	/* 0: off, 0..604800 */

	bool			 has_basic;		/* auth.basic */
	char			*basic_username;	/* required, no ':' */
	char			*basic_password;	/* one of these two */
	char			*basic_password_file;

	bool			 has_oauth2;		/* auth.oauth2 */
	struct oauth2_client_config *oauth2_clients;	/* at least one */
	size_t			 noauth2_clients;
	char			*oauth2_key_file;	/* required */
	int			 oauth2_token_ttl_s;	/* 3600, 60..86400 */
	char			*oauth2_path;	/* "/oauth2/token" */

	char			**allow_from;		/* CIDRs, or NULL */
	size_t			 nallow_from;
	char			**trusted_proxies;	/* CIDRs, or NULL */
	size_t			 ntrusted_proxies;

	bool			 has_grace;
	long long		 grace_until;	/* epoch seconds, UTC */

	/* tls: HTTPS only when cert and key are set */
	char			*tls_cert;		/* PEM file */
	char			*tls_key;		/* PEM file */
	char			*tls_client_ca;		/* PEM file, or NULL */
	/* "sha256:" and 64 lower-case hex digits, however written */
	char			**tls_client_fingerprints;
	size_t			 ntls_client_fingerprints;

	/*
	 * sns: a second route for callbacks that come through AWS SNS, on
	 * when the group is there (sns.h).
	 */
	bool			 has_sns;
	char			*sns_path;		/* "/sinch/sns" */
	char			**sns_topics;		/* TopicArns, at least one */
	size_t			 nsns_topics;
	int			 sns_max_skew_s;	/* 3600, 1..604800 */
	bool			 sns_auto_confirm;	/* true */
	char			*sns_cert_dir;		/* NULL: fetch them */
	int			 sns_deadline_s;	/* 12, 1..14 */

	/* sinks: required, at least one, names unique */
	struct sink_config	*sinks;
	size_t			 nsinks;
};

/*
 * Reads path into a new configuration.  Returns NULL with a reason in err,
 * "file:line: key: reason" when the error has a place.
 */
struct config	*config_load(const char *path, char *err, size_t errlen);
void		 config_free(struct config *);
const char	*config_log_level_name(enum log_level);
const char	*config_sink_kind_name(enum sink_kind);

#endif
