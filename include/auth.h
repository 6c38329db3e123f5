/*
 * auth.h - every way Sinch can prove a callback is its own: the Sinch
 * signature over the raw body, HTTP Basic, OAuth 2.0 bearer tokens (and
 * the client-credentials endpoint that issues them), client certificates
 * and source addresses.  Each check is optional; all configured ones
 * must pass.  The listener calls them and maps verdicts to answers.
 *
 * Secrets come from the configuration or from files; a relative file name
 * is looked up in $CREDENTIALS_DIRECTORY (systemd's LoadCredential=) when
 * that is set.  They are compared in constant time, never logged, and
 * wiped when the auth state is freed.  An auth state is immutable: SIGHUP
 * builds a new one and the listener swaps it in.
 */
#ifndef AUTH_H
#define AUTH_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "config.h"

enum auth_verdict {
	AUTH_OK,
	AUTH_UNAUTHORIZED,	/* 401, with a challenge */
	AUTH_FORBIDDEN		/* 403 */
};

/* What the listener knows of a request when it asks. */
struct auth_request {
	const struct sockaddr	*peer;		/* the TCP peer */
	const char		*forwarded_for;	/* X-Forwarded-For, or NULL */
	const char		*authorization;	/* Authorization, or NULL */
	const char		*signature;	/* x-sinch-webhook-signature */
	const char		*nonce;		/* ...-signature-nonce */
	const char		*timestamp;	/* ...-signature-timestamp */
	const char		*algorithm;	/* ...-signature-algorithm */
	void			*tls_session;	/* gnutls_session_t, or NULL */
};

/* Why a check failed: for the log line and the answer's body. */
struct auth_failure {
	const char	*reason;	/* static text, no secret in it */
	const char	*challenge;	/* WWW-Authenticate value, or NULL */
};

/*
 * Reads every secret the configuration names.  Returns NULL with a reason
 * in err ("auth.basic.password_file: unable to read /x: ...").
 */
struct auth	*auth_new(const struct config *, char *err, size_t errlen);
struct auth	*auth_ref(struct auth *);
void		 auth_unref(struct auth *);	/* wipes on the last one */

/* True when any check is configured at all. */
bool		 auth_enabled(const struct auth *);
bool		 auth_has_signature(const struct auth *);
bool		 auth_has_oauth2(const struct auth *);
/* The address a request comes from, X-Forwarded-For applied. */
void		 auth_client_address(const struct auth *,
		    const struct auth_request *, char *out, size_t outlen);

/* Step 1, from the headers: source address, client certificate,
 * Basic or bearer. */
enum auth_verdict auth_check_headers(const struct auth *,
		    const struct auth_request *, struct auth_failure *);
/* The source address and client certificate parts of the above. */
enum auth_verdict auth_check_source(const struct auth *,
		    const struct auth_request *, struct auth_failure *);
/* Step 3, over the raw body: the Sinch signature. */
enum auth_verdict auth_check_signature(const struct auth *,
		    const struct auth_request *, const char *body, size_t len,
		    struct auth_failure *);

/*
 * The client-credentials token endpoint (RFC 6749 section 4.4): from the
 * request's Authorization header, Content-Type and form body, fills out
 * with the JSON answer and returns its HTTP status (200, 400 or 401; with
 * 401 *challenge is set when the client used Basic).
 */
int		 auth_token_endpoint(const struct auth *,
		    const char *authorization, const char *content_type,
		    const char *body, size_t len, struct buf *out,
		    const char **challenge);

/*
 * Reads a secret file: its bytes less one trailing "\n" or "\r\n", at
 * most 64 KiB.  Returns a new NUL-terminated buffer that the caller wipes
 * and frees, or NULL with errno set (EFBIG: too long, ENODATA: empty).
 */
uint8_t		*auth_secret_load(const char *path, size_t *len);
/*
 * Where the secret file name is: a relative name is looked up in
 * $CREDENTIALS_DIRECTORY (systemd's LoadCredential=) when that is set.
 * Returns 0, or -1 with errno ENAMETOOLONG when it does not fit in size.
 */
int		 auth_secret_path(const char *name, char *path, size_t size);

/* Building blocks, exported for the tests. */
int		 auth_signature(const uint8_t *secret, size_t secret_len,
		    const char *body, size_t len, const char *nonce,
		    const char *timestamp, char *b64, size_t b64len);
bool		 auth_equal(const void *a, const void *b, size_t len);
int		 auth_token_make(const uint8_t *key, size_t key_len,
		    const char *client_id, long long expires, char *out,
		    size_t outlen);
/* Returns 0 and the client id when the token is genuine and unexpired. */
int		 auth_token_check(const uint8_t *key, size_t key_len,
		    const char *token, long long now, char *client_id,
		    size_t idlen);

struct auth_cidr {
	int		family;		/* AF_INET, AF_INET6 */
	uint8_t		addr[16];
	unsigned int	prefix;
};
int		 auth_cidr_parse(const char *, struct auth_cidr *);
bool		 auth_cidr_match(const struct auth_cidr *,
		    const struct sockaddr *);

#endif
