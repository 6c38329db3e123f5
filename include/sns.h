/*
 * sns.h - the AWS SNS route (DESIGN section 6): Sinch publishes each
 * callback to the customer's SNS topic, and SNS POSTs it here inside a
 * signed envelope.
 *
 * An envelope is parsed (sns_envelope_parse), then checked (sns_check):
 * its certificate URL and topic first, then its signature with the
 * signing certificate (cached by URL, read from sns.cert_dir, or fetched
 * from the SNS host over verified HTTPS), then its timestamp.  A
 * subscription is confirmed with sns_confirm.  Fetches run in one thread
 * of their own, so a request that needs one is answered later, through a
 * callback; everything else answers at once.
 */
#ifndef SNS_H
#define SNS_H

#include <stdbool.h>
#include <stddef.h>

#include <gnutls/abstract.h>

#include "buf.h"
#include "config.h"

/* The header that names the envelope's type. */
#define SNS_TYPE_HEADER		"x-amz-sns-message-type"

/*
 * Test-only environment: a PEM file of CAs trusted for fetches instead of
 * the system's, and curl CONNECT_TO entries ("host:port:addr:port", comma
 * separated) that send SNS hosts to a local server.
 */
#define SNS_ENV_CA_FILE		"SINCH_WEBHOOKD_SNS_CA_FILE"
#define SNS_ENV_CONNECT_TO	"SINCH_WEBHOOKD_SNS_CONNECT_TO"

enum sns_type {
	SNS_NOTIFICATION,
	SNS_SUBSCRIPTION_CONFIRMATION,
	SNS_UNSUBSCRIBE_CONFIRMATION
};

enum sns_verdict {
	SNS_OK,			/* verified: act on it */
	SNS_BAD,		/* 400: not a well-formed envelope */
	SNS_FORBIDDEN,		/* 403: not from SNS, or not for us */
	SNS_UNAVAILABLE,	/* 503: could not check it now */
	SNS_PENDING		/* answered later, through the callback */
};

/*
 * An envelope's fields.  Strings point into doc and live as long as the
 * envelope; NULL when absent.  Message and Subject may hold NULs (from
 * \u0000): their lengths are beside them.
 */
struct sns_envelope {
	struct jscan	*doc;		/* owned */
	enum sns_type	 type;
	const char	*type_name;	/* "Notification", ... */
	const char	*message;
	size_t		 message_len;
	const char	*message_id;
	const char	*subject;	/* Notification only, optional */
	size_t		 subject_len;
	const char	*timestamp;
	long long	 timestamp_s;	/* epoch seconds */
	const char	*topic_arn;
	const char	*token;		/* confirmations */
	const char	*subscribe_url;	/* confirmations */
	const char	*signature;	/* Base64 */
	int		 signature_version;	/* 1 (SHA-1) or 2 (SHA-256) */
	const char	*signing_cert_url;
};

/*
 * Called once, from the fetch thread, when a pending check or
 * confirmation ends: v is SNS_OK, SNS_FORBIDDEN or SNS_UNAVAILABLE, and
 * reason a one-line text (NULL with SNS_OK) valid during the call.
 */
typedef void	(*sns_done_fn)(void *arg, enum sns_verdict v,
		    const char *reason);

struct sns;

/* Type names as in the header and in Type; NULL when unknown. */
const char	*sns_type_name(enum sns_type);
/* The type a header value or Type names; -1 when none. */
int		 sns_type_parse(const char *);

/*
 * Parses an envelope.  Every field its type signs must be there, and be
 * a string; SignatureVersion must be "1" or "2", Timestamp ISO 8601 in
 * UTC.  Returns 0, or -1 with a one-line reason in err (a 400).
 */
int		 sns_envelope_parse(struct sns_envelope *, const char *body,
		    size_t len, char *err, size_t errlen);
void		 sns_envelope_fini(struct sns_envelope *);

/*
 * Appends the string AWS signs for e: for a Notification the lines
 * Message, MessageId, Subject (when present), Timestamp, TopicArn, Type;
 * for a confirmation Message, MessageId, SubscribeURL, Timestamp, Token,
 * TopicArn, Type; each name and each value followed by '\n'.  0 or -1.
 */
int		 sns_string_to_sign(const struct sns_envelope *, struct buf *);

/*
 * Whether url is https on an SNS host, sns.<region>.amazonaws.com or
 * sns.<region>.amazonaws.com.cn, with no user, port or fragment; for a
 * certificate (cert) its path must also end in ".pem".
 */
bool		 sns_url_allowed(const char *url, bool cert);

/*
 * Verifies e's signature with key, over sns_string_to_sign().  The
 * certificate's dates are not looked at here.  Returns 0, or -1 with a
 * reason in err.
 */
int		 sns_verify(const struct sns_envelope *, gnutls_pubkey_t key,
		    char *err, size_t errlen);

/*
 * The route's state from cfg (sns_* keys): topics, skew, certificates,
 * the fetch thread.  Returns NULL with a reason in err.
 */
struct sns	*sns_new(const struct config *, char *err, size_t errlen);
/*
 * Stops the fetch thread: a fetch under way is cut short, and every job
 * still waiting ends with SNS_UNAVAILABLE, its callback called.
 */
void		 sns_free(struct sns *);

/*
 * Checks e, which must outlive the check: certificate URL and topic (403
 * before anything is fetched), signature (403; 503 when the certificate
 * cannot be had), then Timestamp within sns.max_skew_s of now (403).
 * Returns the verdict with a reason in reason, or SNS_PENDING when the
 * certificate must be fetched: done(arg, ...) is then called later.
 */
enum sns_verdict sns_check(struct sns *, const struct sns_envelope *,
		    char *reason, size_t reasonlen, sns_done_fn done,
		    void *arg);

/*
 * Confirms e's subscription (a checked SubscriptionConfirmation) with a
 * GET of its SubscribeURL: SNS_FORBIDDEN at once when the URL is not on
 * an SNS host, otherwise SNS_PENDING and done(arg, ...) later, with
 * SNS_OK once SNS answered 2xx.
 */
enum sns_verdict sns_confirm(struct sns *, const struct sns_envelope *,
		    char *reason, size_t reasonlen, sns_done_fn done,
		    void *arg);

#endif
