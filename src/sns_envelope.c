/*
 * sns_envelope.c - what an AWS SNS envelope says and whether its signature
 * holds (DESIGN section 6): the body scanned into struct sns_envelope,
 * the string AWS signs, the rules for SNS URLs, and the RSA check of the
 * signature with a public key handed in.  Nothing here fetches, caches or
 * trusts a certificate, reads the clock or knows the configured topics;
 * sns.c does, and this module gives it answers that need no state.
 *
 * Decisions the interface leaves open:
 * - The body must be one JSON object, with no byte order mark.
 * - Only Message and Subject may hold NULs (from \u0000); any other
 *   field that does is refused, so that every consumer of a C string
 *   sees the same bytes as the signature did.
 * - Subject is read for a Notification only (a confirmation does not
 *   sign it); null counts as absent, any other non-string is refused.
 * - Timestamp accepts a leap second (:60), which timegm() carries into
 *   the next minute; SNS does not send one, but losing a message over it
 *   would be worse than accepting it.
 * - Every reason from sns_verify() starts "SNS signature does not
 *   verify", so a caller may count them under one name.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <nettle/base64.h>

#include "jscan.h"
#include "sns.h"
#include "utc.h"

/* Longest signature taken, in bytes: an RSA key of 8192 bits. */
#define SNS_SIG_MAX		1024
#define SNS_SIG_B64_MAX		BASE64_ENCODE_RAW_LENGTH(SNS_SIG_MAX)

/* Longest piece of a value that a reason repeats. */
#define SNS_EXCERPT		40

#define SNS_HTTPS		"https://"
#define SNS_HOST_PREFIX		"sns."
#define SNS_HOST_AWS		".amazonaws.com"
#define SNS_HOST_AWS_CN		".amazonaws.com.cn"
#define SNS_CERT_SUFFIX		".pem"

/* One line pair of the string to sign. */
struct sns_line {
	const char	*name;
	const char	*value;
	size_t		 len;
};

static void	seterr(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/*
 * Writes a reason, with every byte outside printable ASCII made '?': a
 * value it quotes can hold anything, and a log line must stay one line.
 */
static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;
	char	*p;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	for (p = err; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
}

const char *
sns_type_name(enum sns_type type)
{
	const char	*name = NULL;

	switch (type) {
	case SNS_NOTIFICATION:
		name = "Notification";
		break;
	case SNS_SUBSCRIPTION_CONFIRMATION:
		name = "SubscriptionConfirmation";
		break;
	case SNS_UNSUBSCRIBE_CONFIRMATION:
		name = "UnsubscribeConfirmation";
		break;
	}
	return name;
}

int
sns_type_parse(const char *s)
{
	static const enum sns_type	 types[] = {
		SNS_NOTIFICATION, SNS_SUBSCRIPTION_CONFIRMATION,
		SNS_UNSUBSCRIBE_CONFIRMATION
	};
	size_t				 i;
	int				 type = -1;

	for (i = 0; s != NULL && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(s, sns_type_name(types[i])) == 0) {
			type = (int)types[i];
			break;
		}
	return type;
}

/*
 * A required string member.  Returns 0 with *out (and *len when len is
 * not NULL) set, or -1 with the reason.  Without len, a NUL inside is
 * refused: the caller would see a shorter string than was signed.
 */
static int
sns_string(const struct jscan *doc, const char *key, const char **out,
    size_t *len, char *err, size_t errlen)
{
	int	 v = jscan_member(doc, jscan_root(doc), key), ret = -1;

	if (!jscan_is_string(doc, v))
		seterr(err, errlen, "SNS envelope: no \"%s\" string", key);
	else if (len == NULL &&
	    strlen(jscan_string(doc, v)) != jscan_length(doc, v))
		seterr(err, errlen, "SNS envelope: \"%s\" holds a NUL byte",
		    key);
	else {
		*out = jscan_string(doc, v);
		if (len != NULL)
			*len = jscan_length(doc, v);
		ret = 0;
	}
	return ret;
}

/*
 * The optional Subject of a Notification: absent or null leaves it NULL;
 * a value of another type is refused, since a present Subject is signed.
 */
static int
sns_subject(const struct jscan *doc, struct sns_envelope *e, char *err,
    size_t errlen)
{
	int	 v = jscan_member(doc, jscan_root(doc), "Subject"), ret = -1;

	if (v == -1 || jscan_is_null(doc, v))
		ret = 0;
	else if (!jscan_is_string(doc, v))
		seterr(err, errlen, "SNS envelope: no \"Subject\" string");
	else {
		e->subject = jscan_string(doc, v);
		e->subject_len = jscan_length(doc, v);
		ret = 0;
	}
	return ret;
}

int
sns_envelope_parse(struct sns_envelope *e, const char *body, size_t len,
    char *err, size_t errlen)
{
	struct jscan	*doc;
	const char	*type, *version;
	char		 why[128];
	size_t		 offset;
	int		 t, ret = -1;

	memset(e, 0, sizeof(*e));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (body == NULL || len == 0) {
		seterr(err, errlen, "SNS envelope: empty body");
		goto done;
	}
	if ((doc = jscan_new(body, len, why, sizeof(why), &offset)) == NULL) {
		if (errno == ENOMEM)
			seterr(err, errlen, "SNS envelope: out of memory");
		else
			seterr(err, errlen, "SNS envelope: invalid JSON: %s "
			    "at byte %zu", why, offset);
		goto done;
	}
	e->doc = doc;
	if (!jscan_is_object(doc, jscan_root(doc))) {
		seterr(err, errlen, "SNS envelope: not a JSON object");
		goto done;
	}
	/* Type first: it says which fields are signed. */
	if (sns_string(doc, "Type", &type, NULL, err, errlen) == -1)
		goto done;
	if ((t = sns_type_parse(type)) == -1) {
		seterr(err, errlen, "SNS envelope: Type \"%.*s\" unknown",
		    SNS_EXCERPT, type);
		goto done;
	}
	e->type = (enum sns_type)t;
	e->type_name = sns_type_name(e->type);
	if (sns_string(doc, "MessageId", &e->message_id, NULL, err,
	    errlen) == -1 ||
	    sns_string(doc, "TopicArn", &e->topic_arn, NULL, err,
	    errlen) == -1 ||
	    sns_string(doc, "Message", &e->message, &e->message_len, err,
	    errlen) == -1 ||
	    sns_string(doc, "Timestamp", &e->timestamp, NULL, err,
	    errlen) == -1 ||
	    sns_string(doc, "SignatureVersion", &version, NULL, err,
	    errlen) == -1 ||
	    sns_string(doc, "Signature", &e->signature, NULL, err,
	    errlen) == -1 ||
	    sns_string(doc, "SigningCertURL", &e->signing_cert_url, NULL, err,
	    errlen) == -1)
		goto done;
	if (e->type == SNS_NOTIFICATION) {
		if (sns_subject(doc, e, err, errlen) == -1)
			goto done;
	} else if (sns_string(doc, "Token", &e->token, NULL, err,
	    errlen) == -1 ||
	    sns_string(doc, "SubscribeURL", &e->subscribe_url, NULL, err,
	    errlen) == -1)
		goto done;
	if (strcmp(version, "1") == 0)
		e->signature_version = 1;
	else if (strcmp(version, "2") == 0)
		e->signature_version = 2;
	else {
		seterr(err, errlen, "SNS envelope: SignatureVersion \"%.*s\" "
		    "is not \"1\" or \"2\"", SNS_EXCERPT, version);
		goto done;
	}
	if (utc_timestamp(e->timestamp, &e->timestamp_s) == -1) {
		seterr(err, errlen, "SNS envelope: Timestamp \"%.*s\" is not "
		    "YYYY-MM-DDTHH:MM:SS[.fraction]Z", SNS_EXCERPT,
		    e->timestamp);
		goto done;
	}
	ret = 0;
done:
	if (ret == -1)
		sns_envelope_fini(e);
	return ret;
}

/* Safe on an envelope that failed to parse, and twice. */
void
sns_envelope_fini(struct sns_envelope *e)
{
	jscan_free(e->doc);
	memset(e, 0, sizeof(*e));
}

/* strlen(), 0 for NULL; the NULL is caught where the line is written. */
static size_t
sns_len(const char *s)
{
	return s != NULL ? strlen(s) : 0;
}

int
sns_string_to_sign(const struct sns_envelope *e, struct buf *b)
{
	struct sns_line	 lines[7];
	size_t		 start = b->len, n = 0, i;
	int		 ret = -1;

	lines[n++] = (struct sns_line){ "Message", e->message,
	    e->message_len };
	lines[n++] = (struct sns_line){ "MessageId", e->message_id,
	    sns_len(e->message_id) };
	if (e->type == SNS_NOTIFICATION) {
		if (e->subject != NULL)
			lines[n++] = (struct sns_line){ "Subject", e->subject,
			    e->subject_len };
	} else
		lines[n++] = (struct sns_line){ "SubscribeURL",
		    e->subscribe_url, sns_len(e->subscribe_url) };
	lines[n++] = (struct sns_line){ "Timestamp", e->timestamp,
	    sns_len(e->timestamp) };
	if (e->type != SNS_NOTIFICATION)
		lines[n++] = (struct sns_line){ "Token", e->token,
		    sns_len(e->token) };
	lines[n++] = (struct sns_line){ "TopicArn", e->topic_arn,
	    sns_len(e->topic_arn) };
	lines[n++] = (struct sns_line){ "Type", e->type_name,
	    sns_len(e->type_name) };
	for (i = 0; i < n; i++)
		if (lines[i].value == NULL ||
		    buf_puts(b, lines[i].name) == -1 ||
		    buf_putc(b, '\n') == -1 ||
		    buf_append(b, lines[i].value, lines[i].len) == -1 ||
		    buf_putc(b, '\n') == -1)
			goto done;
	ret = 0;
done:
	/* A half-written string must not be taken for the whole. */
	if (ret == -1 && b->data != NULL) {
		b->len = start;
		b->data[start] = '\0';
	}
	return ret;
}

/*
 * Whether host[0..len) is sns.<region>.amazonaws.com[.cn], the region
 * lowercase letters, digits and '-'.  Exact bytes: an upper-case or
 * trailing-dot spelling names the same host to DNS but is not what SNS
 * writes, so it is not worth the risk of a parser that reads it apart.
 */
static bool
sns_host_allowed(const char *host, size_t len)
{
	size_t	 plen = sizeof(SNS_HOST_PREFIX) - 1, slen, i;
	bool	 ok = false;

	if (len > sizeof(SNS_HOST_AWS_CN) - 1 &&
	    memcmp(host + len - (sizeof(SNS_HOST_AWS_CN) - 1),
	    SNS_HOST_AWS_CN, sizeof(SNS_HOST_AWS_CN) - 1) == 0)
		slen = sizeof(SNS_HOST_AWS_CN) - 1;
	else if (len > sizeof(SNS_HOST_AWS) - 1 &&
	    memcmp(host + len - (sizeof(SNS_HOST_AWS) - 1), SNS_HOST_AWS,
	    sizeof(SNS_HOST_AWS) - 1) == 0)
		slen = sizeof(SNS_HOST_AWS) - 1;
	else
		goto done;
	/* A region of at least one character between the two. */
	if (len < plen + 1 + slen || memcmp(host, SNS_HOST_PREFIX, plen) != 0)
		goto done;
	for (i = plen; i < len - slen; i++)
		if (!((host[i] >= 'a' && host[i] <= 'z') ||
		    (host[i] >= '0' && host[i] <= '9') || host[i] == '-'))
			goto done;
	ok = true;
done:
	return ok;
}

bool
sns_url_allowed(const char *url, bool cert)
{
	const char	*host, *path, *query, *p;
	size_t		 plen, slen = sizeof(SNS_CERT_SUFFIX) - 1;
	bool		 ok = false;

	if (url == NULL ||
	    strncasecmp(url, SNS_HTTPS, sizeof(SNS_HTTPS) - 1) != 0)
		goto done;
	/* Spaces and control bytes are where URL parsers disagree. */
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			goto done;
	if (strchr(url, '#') != NULL)
		goto done;
	host = url + sizeof(SNS_HTTPS) - 1;
	path = host + strcspn(host, "/");
	/* No user info, port, or query or fragment before the path. */
	if (strcspn(host, "@:?#") < (size_t)(path - host) ||
	    !sns_host_allowed(host, (size_t)(path - host)))
		goto done;
	query = strchr(path, '?');
	if (cert) {
		/* Certificates sit at plain paths; a query only adds doubt. */
		plen = strlen(path);
		if (query != NULL || plen < slen ||
		    memcmp(path + plen - slen, SNS_CERT_SUFFIX, slen) != 0)
			goto done;
	}
	ok = true;
done:
	return ok;
}

/*
 * Decodes Base64 into sig (SNS_SIG_MAX bytes and room for the decoder's
 * slack), with its padding complete.  Returns 0 or -1.
 */
static int
sns_base64(const char *in, uint8_t *sig, size_t sigmax, size_t *siglen)
{
	struct base64_decode_ctx	 ctx;
	size_t				 inlen = strlen(in), n = 0;
	int				 ret = -1;

	if (inlen == 0 || inlen > SNS_SIG_B64_MAX ||
	    BASE64_DECODE_LENGTH(inlen) > sigmax)
		goto done;
	base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &n, sig, inlen, in) ||
	    !base64_decode_final(&ctx) || n == 0)
		goto done;
	*siglen = n;
	ret = 0;
done:
	return ret;
}

int
sns_verify(const struct sns_envelope *e, gnutls_pubkey_t key, char *err,
    size_t errlen)
{
	uint8_t			 sig[BASE64_DECODE_LENGTH(SNS_SIG_B64_MAX)];
	struct buf		 text;
	gnutls_datum_t		 data, signature;
	gnutls_sign_algorithm_t	 algo;
	unsigned int		 flags = 0;
	size_t			 siglen = 0;
	int			 rc, ret = -1;

	buf_init(&text);
	if (key == NULL || e->signature == NULL) {
		seterr(err, errlen, "SNS signature does not verify: no key "
		    "or no signature");
		goto done;
	}
	switch (e->signature_version) {
	case 1:
		algo = GNUTLS_SIGN_RSA_SHA1;
		/*
		 * SignatureVersion 1 is SHA1withRSA, which a system policy
		 * may call insecure; SNS still sends it, so this one check
		 * is allowed it.  Certificates are not concerned.
		 */
		flags = GNUTLS_VERIFY_ALLOW_SIGN_WITH_SHA1;
		break;
	case 2:
		algo = GNUTLS_SIGN_RSA_SHA256;
		break;
	default:
		seterr(err, errlen, "SNS signature does not verify: "
		    "SignatureVersion %d unknown", e->signature_version);
		goto done;
	}
	if (sns_base64(e->signature, sig, sizeof(sig), &siglen) == -1) {
		seterr(err, errlen, "SNS signature does not verify: "
		    "Signature is not Base64 of at most %d bytes",
		    SNS_SIG_MAX);
		goto done;
	}
	if (sns_string_to_sign(e, &text) == -1 || text.len > UINT_MAX) {
		seterr(err, errlen, "SNS signature does not verify: out of "
		    "memory or a field missing");
		goto done;
	}
	data.data = (unsigned char *)text.data;
	data.size = (unsigned int)text.len;
	signature.data = sig;
	signature.size = (unsigned int)siglen;
	rc = gnutls_pubkey_verify_data2(key, algo, flags, &data, &signature);
	if (rc == GNUTLS_E_PK_SIG_VERIFY_FAILED)
		seterr(err, errlen, "SNS signature does not verify");
	else if (rc < 0)
		seterr(err, errlen, "SNS signature does not verify: %s",
		    gnutls_strerror(rc));
	else
		ret = 0;
done:
	buf_fini(&text);
	return ret;
}
