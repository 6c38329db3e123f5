/*
 * test_sns.c - covers src/sns_envelope.c: envelopes of the three types and
 * every way a field can be wrong, the string AWS signs byte for byte, the
 * URL rules, and signatures made here with an RSA CA and a signing
 * certificate generated at run time, for both signature versions; then
 * the shared AWS vectors (../shared/vectors/sns beside the repository),
 * each of which must verify and fail once any signed byte changes.
 * Then sns.c's checks in their order (certificate URL and topic before
 * any certificate is looked for, signature, certificate dates,
 * timestamp), its certificates from sns.cert_dir, and its fetches and
 * confirmations failing (503) when SNS cannot be reached; the fetches
 * that work are covered end to end, by tests/e2e/t_sns.sh.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <nettle/base64.h>

#include "buf.h"
#include "config.h"
#include "fixture.h"
#include "sns.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

#define TM_MAX		16	/* members of a test envelope */
#define TV_MAX		1024	/* bytes of a member's value */

#define ARN		"arn:aws:sns:eu-west-1:123456789012:sinch-callbacks"
#define MSG_ID		"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"
#define TS		"2022-07-28T21:23:58.317Z"
#define TS_S		1659043438LL
#define CERT_URL	"https://sns.eu-west-1.amazonaws.com/" \
			"SimpleNotificationService-0123456789abcdef.pem"
#define SUB_URL		"https://sns.eu-west-1.amazonaws.com/" \
			"?Action=ConfirmSubscription&TopicArn=" ARN \
			"&Token=2336412f37"
#define UNSUB_URL	"https://sns.eu-west-1.amazonaws.com/" \
			"?Action=Unsubscribe&SubscriptionArn=" ARN ":1"
#define TOKEN		"2336412f37fb687f5d51e6e241d09c805a5a57b3"
#define CALLBACK	"{\"type\":\"mo_text\",\"id\":\"01F\"}"
#define SIG_PLACEHOLDER	"AAAA"

/* One member of an envelope built by a test. */
struct tmember {
	char	 name[32];
	char	 value[TV_MAX + 1];	/* decoded, or JSON text when raw */
	size_t	 len;
	bool	 raw;
};

struct tenv {
	struct tmember	m[TM_MAX];
	size_t		n;
};

/* Generated once per process (before Check forks), never freed. */
struct tkeys {
	gnutls_x509_privkey_t	 ca_key;
	gnutls_x509_crt_t	 ca;
	gnutls_x509_privkey_t	 leaf_key;
	gnutls_x509_crt_t	 leaf;
	gnutls_privkey_t	 signer;	/* leaf_key */
	gnutls_pubkey_t		 pub;		/* the leaf certificate's */
	gnutls_pubkey_t		 ca_pub;	/* a wrong key */
};

static struct tkeys	keys;
static bool		has_keys;

static const char *const signed_notification[] = {
	"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"
};
static const char *const signed_confirmation[] = {
	"Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
	"TopicArn", "Type"
};

/*
 * Envelopes.
 */

static struct tmember *
tenv_get(struct tenv *t, const char *name)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->m[i].name, name) == 0)
			return &t->m[i];
	return NULL;
}

static struct tmember *
tenv_slot(struct tenv *t, const char *name)
{
	struct tmember	*m;

	if ((m = tenv_get(t, name)) == NULL) {
		ck_assert_uint_lt(t->n, TM_MAX);
		m = &t->m[t->n++];
		ck_assert_uint_lt(strlen(name), sizeof(m->name));
		strncpy(m->name, name, sizeof(m->name) - 1);
		m->name[sizeof(m->name) - 1] = '\0';
	}
	return m;
}

/* Sets a string member, NULs and all. */
static void
tenv_set_len(struct tenv *t, const char *name, const char *value,
    size_t len)
{
	struct tmember	*m = tenv_slot(t, name);

	ck_assert_uint_le(len, TV_MAX);
	memcpy(m->value, value, len);
	m->value[len] = '\0';
	m->len = len;
	m->raw = false;
}

static void
tenv_set(struct tenv *t, const char *name, const char *value)
{
	tenv_set_len(t, name, value, strlen(value));
}

/* Sets a member to a JSON text: null, a number, an object... */
static void
tenv_raw(struct tenv *t, const char *name, const char *json)
{
	struct tmember	*m = tenv_slot(t, name);

	ck_assert_uint_lt(strlen(json), TV_MAX);
	m->len = strlen(json);
	memcpy(m->value, json, m->len + 1);
	m->raw = true;
}

static void
tenv_del(struct tenv *t, const char *name)
{
	struct tmember	*m;

	if ((m = tenv_get(t, name)) != NULL) {
		memmove(m, m + 1, (size_t)(&t->m[t->n] - (m + 1)) *
		    sizeof(*m));
		t->n--;
	}
}

/* An envelope as SNS sends it, but for its placeholder signature. */
static void
tenv_base(struct tenv *t, enum sns_type type)
{
	t->n = 0;
	tenv_set(t, "Type", sns_type_name(type));
	tenv_set(t, "MessageId", MSG_ID);
	if (type != SNS_NOTIFICATION)
		tenv_set(t, "Token", TOKEN);
	tenv_set(t, "TopicArn", ARN);
	if (type == SNS_NOTIFICATION)
		tenv_set(t, "Message", CALLBACK);
	else
		tenv_set(t, "Message", "You have chosen to subscribe to the "
		    "topic " ARN ".\nTo confirm the subscription, visit the "
		    "SubscribeURL included in this message.");
	if (type != SNS_NOTIFICATION)
		tenv_set(t, "SubscribeURL", SUB_URL);
	tenv_set(t, "Timestamp", TS);
	tenv_set(t, "SignatureVersion", "1");
	tenv_set(t, "Signature", SIG_PLACEHOLDER);
	tenv_set(t, "SigningCertURL", CERT_URL);
	if (type == SNS_NOTIFICATION)
		tenv_set(t, "UnsubscribeURL", UNSUB_URL);
}

static void
json_quote(struct buf *b, const char *s, size_t len)
{
	char	 esc[8];
	size_t	 i;

	ck_assert_int_eq(buf_putc(b, '"'), 0);
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\') {
			ck_assert_int_eq(buf_putc(b, '\\'), 0);
			ck_assert_int_eq(buf_putc(b, s[i]), 0);
		} else if ((unsigned char)s[i] < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x",
			    (unsigned char)s[i]);
			ck_assert_int_eq(buf_puts(b, esc), 0);
		} else
			ck_assert_int_eq(buf_putc(b, s[i]), 0);
	}
	ck_assert_int_eq(buf_putc(b, '"'), 0);
}

/* The envelope as JSON, in member order, one member a line as SNS does. */
static void
tenv_json(const struct tenv *t, struct buf *b)
{
	size_t	 i;

	buf_reset(b);
	ck_assert_int_eq(buf_puts(b, "{\n"), 0);
	for (i = 0; i < t->n; i++) {
		ck_assert_int_eq(buf_puts(b, i > 0 ? ",\n  " : "  "), 0);
		json_quote(b, t->m[i].name, strlen(t->m[i].name));
		ck_assert_int_eq(buf_puts(b, " : "), 0);
		if (t->m[i].raw)
			ck_assert_int_eq(buf_append(b, t->m[i].value,
			    t->m[i].len), 0);
		else
			json_quote(b, t->m[i].value, t->m[i].len);
	}
	ck_assert_int_eq(buf_puts(b, "\n}\n"), 0);
}

static int
tenv_parse(const struct tenv *t, struct sns_envelope *e, char *err,
    size_t errlen)
{
	struct buf	 b;
	int		 rc;

	buf_init(&b);
	tenv_json(t, &b);
	rc = sns_envelope_parse(e, b.data, b.len, err, errlen);
	buf_fini(&b);
	return rc;
}

static void
tenv_must_parse(const struct tenv *t, struct sns_envelope *e)
{
	char	 err[256];

	err[0] = '\0';
	ck_assert_msg(tenv_parse(t, e, err, sizeof(err)) == 0,
	    "parse: %s", err);
}

static void
tenv_must_fail(const struct tenv *t, const char *reason, const char *what)
{
	struct sns_envelope	 e;
	char			 err[256];

	ck_assert_msg(tenv_parse(t, &e, err, sizeof(err)) == -1,
	    "%s: parsed", what);
	ck_assert_msg(strcmp(err, reason) == 0, "%s: reason \"%s\", want "
	    "\"%s\"", what, err, reason);
	ck_assert_ptr_null(e.doc);
}

/*
 * The string to sign as MANIFEST.md words it, written apart from
 * sns_envelope.c so the two can be compared: the signed names in order,
 * Subject only when it is a string.
 */
static void
tenv_to_sign(struct tenv *t, struct buf *b)
{
	const char *const	*names = signed_notification;
	struct tmember		*type = tenv_get(t, "Type"), *m;
	size_t			 n = nitems(signed_notification), i;

	ck_assert_ptr_nonnull(type);
	if (type->len != strlen("Notification") ||
	    memcmp(type->value, "Notification", type->len) != 0) {
		names = signed_confirmation;
		n = nitems(signed_confirmation);
	}
	buf_reset(b);
	for (i = 0; i < n; i++) {
		if ((m = tenv_get(t, names[i])) == NULL || m->raw)
			continue;
		ck_assert_int_eq(buf_puts(b, names[i]), 0);
		ck_assert_int_eq(buf_putc(b, '\n'), 0);
		ck_assert_int_eq(buf_append(b, m->value, m->len), 0);
		ck_assert_int_eq(buf_putc(b, '\n'), 0);
	}
}

static void
b64_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	struct base64_encode_ctx	 ctx;
	size_t				 n;

	ck_assert_uint_ge(outlen, BASE64_ENCODE_LENGTH(len) +
	    BASE64_ENCODE_FINAL_LENGTH + 1);
	base64_encode_init(&ctx);
	n = base64_encode_update(&ctx, out, len, in);
	n += base64_encode_final(&ctx, out + n);
	out[n] = '\0';
}

/* Signs t as SNS would with key, SHA-1 for version 1, SHA-256 for 2. */
static void
tenv_sign(struct tenv *t, int version, gnutls_privkey_t key)
{
	struct buf	 text;
	gnutls_datum_t	 data, sig;
	char		 b64[TV_MAX];

	tenv_set(t, "SignatureVersion", version == 1 ? "1" : "2");
	buf_init(&text);
	tenv_to_sign(t, &text);
	data.data = (unsigned char *)text.data;
	data.size = (unsigned int)text.len;
	ck_assert_int_eq(gnutls_privkey_sign_data(key, version == 1 ?
	    GNUTLS_DIG_SHA1 : GNUTLS_DIG_SHA256, 0, &data, &sig), 0);
	b64_encode(sig.data, sig.size, b64, sizeof(b64));
	tenv_set(t, "Signature", b64);
	gnutls_free(sig.data);
	buf_fini(&text);
}

/*
 * Keys.
 */

static void
make_cert(gnutls_x509_crt_t *crt, gnutls_x509_privkey_t *key,
    const char *cn, unsigned int serial, gnutls_x509_crt_t issuer,
    gnutls_x509_privkey_t issuer_key)
{
	unsigned char	 sn[4];
	time_t		 now = time(NULL);
	bool		 is_ca = issuer == NULL;

	sn[0] = (unsigned char)(serial >> 24);
	sn[1] = (unsigned char)(serial >> 16);
	sn[2] = (unsigned char)(serial >> 8);
	sn[3] = (unsigned char)serial;
	ck_assert_int_eq(gnutls_x509_privkey_init(key), 0);
	ck_assert_int_eq(gnutls_x509_privkey_generate(*key, GNUTLS_PK_RSA,
	    2048, 0), 0);
	ck_assert_int_eq(gnutls_x509_crt_init(crt), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_version(*crt, 3), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_serial(*crt, sn, sizeof(sn)),
	    0);
	ck_assert_int_eq(gnutls_x509_crt_set_activation_time(*crt,
	    now - 3600), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_expiration_time(*crt,
	    now + 86400), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_dn_by_oid(*crt,
	    GNUTLS_OID_X520_COMMON_NAME, 0, cn, (unsigned int)strlen(cn)), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_key(*crt, *key), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_basic_constraints(*crt,
	    is_ca ? 1 : 0, -1), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_key_usage(*crt, is_ca ?
	    GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN :
	    GNUTLS_KEY_DIGITAL_SIGNATURE), 0);
	ck_assert_int_eq(gnutls_x509_crt_sign2(*crt, is_ca ? *crt : issuer,
	    is_ca ? *key : issuer_key, GNUTLS_DIG_SHA256, 0), 0);
}

/*
 * An RSA 2048 CA and a signing certificate it issued, as SNS has.  Run as
 * an unchecked fixture, so the parent makes them once and every forked
 * test inherits them; RSA key generation is the slow part of the suite.
 */
static void
keys_setup(void)
{
	if (has_keys)
		return;
	make_cert(&keys.ca, &keys.ca_key, "sinch-webhookd test SNS CA", 1,
	    NULL, NULL);
	make_cert(&keys.leaf, &keys.leaf_key, "sns.amazonaws.com", 2,
	    keys.ca, keys.ca_key);
	ck_assert_int_eq(gnutls_privkey_init(&keys.signer), 0);
	ck_assert_int_eq(gnutls_privkey_import_x509(keys.signer,
	    keys.leaf_key, 0), 0);
	ck_assert_int_eq(gnutls_pubkey_init(&keys.pub), 0);
	ck_assert_int_eq(gnutls_pubkey_import_x509(keys.pub, keys.leaf, 0),
	    0);
	ck_assert_int_eq(gnutls_pubkey_init(&keys.ca_pub), 0);
	ck_assert_int_eq(gnutls_pubkey_import_x509(keys.ca_pub, keys.ca, 0),
	    0);
	has_keys = true;
}

/*
 * Parsing.
 */

START_TEST(test_sns_type_names)
{
	ck_assert_str_eq(sns_type_name(SNS_NOTIFICATION), "Notification");
	ck_assert_str_eq(sns_type_name(SNS_SUBSCRIPTION_CONFIRMATION),
	    "SubscriptionConfirmation");
	ck_assert_str_eq(sns_type_name(SNS_UNSUBSCRIBE_CONFIRMATION),
	    "UnsubscribeConfirmation");
	ck_assert_ptr_null(sns_type_name((enum sns_type)42));
	ck_assert_int_eq(sns_type_parse("Notification"), SNS_NOTIFICATION);
	ck_assert_int_eq(sns_type_parse("SubscriptionConfirmation"),
	    SNS_SUBSCRIPTION_CONFIRMATION);
	ck_assert_int_eq(sns_type_parse("UnsubscribeConfirmation"),
	    SNS_UNSUBSCRIBE_CONFIRMATION);
	ck_assert_int_eq(sns_type_parse("notification"), -1);
	ck_assert_int_eq(sns_type_parse("Notification "), -1);
	ck_assert_int_eq(sns_type_parse(""), -1);
	ck_assert_int_eq(sns_type_parse(NULL), -1);
}
END_TEST

START_TEST(test_sns_parse_notification)
{
	struct tenv		 t;
	struct sns_envelope	 e;

	tenv_base(&t, SNS_NOTIFICATION);
	tenv_set(&t, "Subject", "Sinch callback");
	tenv_raw(&t, "MessageAttributes", "{\"a\":{\"Type\":\"String\","
	    "\"Value\":\"b\"}}");
	tenv_must_parse(&t, &e);
	ck_assert_ptr_nonnull(e.doc);
	ck_assert_int_eq(e.type, SNS_NOTIFICATION);
	ck_assert_str_eq(e.type_name, "Notification");
	ck_assert_uint_eq(e.message_len, strlen(CALLBACK));
	ck_assert_str_eq(e.message, CALLBACK);
	ck_assert_str_eq(e.message_id, MSG_ID);
	ck_assert_uint_eq(e.subject_len, strlen("Sinch callback"));
	ck_assert_str_eq(e.subject, "Sinch callback");
	ck_assert_str_eq(e.timestamp, TS);
	ck_assert_int_eq(e.timestamp_s, TS_S);
	ck_assert_str_eq(e.topic_arn, ARN);
	ck_assert_ptr_null(e.token);
	ck_assert_ptr_null(e.subscribe_url);
	ck_assert_str_eq(e.signature, SIG_PLACEHOLDER);
	ck_assert_int_eq(e.signature_version, 1);
	ck_assert_str_eq(e.signing_cert_url, CERT_URL);
	sns_envelope_fini(&e);
	ck_assert_ptr_null(e.doc);
	sns_envelope_fini(&e);		/* twice is harmless */

	/* Subject is optional, and null is the same as absent. */
	tenv_del(&t, "Subject");
	tenv_set(&t, "SignatureVersion", "2");
	tenv_must_parse(&t, &e);
	ck_assert_ptr_null(e.subject);
	ck_assert_uint_eq(e.subject_len, 0);
	ck_assert_int_eq(e.signature_version, 2);
	sns_envelope_fini(&e);
	tenv_raw(&t, "Subject", "null");
	tenv_must_parse(&t, &e);
	ck_assert_ptr_null(e.subject);
	sns_envelope_fini(&e);
}
END_TEST

static void
check_confirmation(enum sns_type type)
{
	struct tenv		 t;
	struct sns_envelope	 e;

	tenv_base(&t, type);
	/* Not signed in a confirmation, so not read either. */
	tenv_set(&t, "Subject", "ignored");
	tenv_must_parse(&t, &e);
	ck_assert_int_eq(e.type, type);
	ck_assert_str_eq(e.type_name, sns_type_name(type));
	ck_assert_str_eq(e.message_id, MSG_ID);
	ck_assert_str_eq(e.token, TOKEN);
	ck_assert_str_eq(e.subscribe_url, SUB_URL);
	ck_assert_str_eq(e.topic_arn, ARN);
	ck_assert_int_eq(e.timestamp_s, TS_S);
	ck_assert_ptr_null(e.subject);
	ck_assert_ptr_nonnull(strstr(e.message, "To confirm"));
	ck_assert_uint_eq(e.message_len, strlen(e.message));
	sns_envelope_fini(&e);
}

START_TEST(test_sns_parse_subscription)
{
	check_confirmation(SNS_SUBSCRIPTION_CONFIRMATION);
}
END_TEST

START_TEST(test_sns_parse_unsubscribe)
{
	check_confirmation(SNS_UNSUBSCRIBE_CONFIRMATION);
}
END_TEST

/* Every required field of every type: absent, null, or not a string. */
START_TEST(test_sns_parse_required)
{
	static const enum sns_type	 types[] = {
		SNS_NOTIFICATION, SNS_SUBSCRIPTION_CONFIRMATION,
		SNS_UNSUBSCRIBE_CONFIRMATION
	};
	static const char *const	 fields[] = {
		"Type", "MessageId", "TopicArn", "Message", "Timestamp",
		"SignatureVersion", "Signature", "SigningCertURL", "Token",
		"SubscribeURL"
	};
	static const char *const	 wrong[] = {
		NULL, "null", "1", "true", "false", "{}", "[\"x\"]",
		"{\"a\":\"b\"}"
	};
	struct tenv			 t;
	struct sns_envelope		 e;
	char				 reason[128], what[128];
	size_t				 i, j, k, nf;

	for (i = 0; i < nitems(types); i++) {
		/* Token and SubscribeURL are a confirmation's only. */
		nf = types[i] == SNS_NOTIFICATION ? nitems(fields) - 2 :
		    nitems(fields);
		for (j = 0; j < nf; j++)
			for (k = 0; k < nitems(wrong); k++) {
				tenv_base(&t, types[i]);
				if (wrong[k] == NULL)
					tenv_del(&t, fields[j]);
				else
					tenv_raw(&t, fields[j], wrong[k]);
				snprintf(reason, sizeof(reason),
				    "SNS envelope: no \"%s\" string",
				    fields[j]);
				snprintf(what, sizeof(what), "%s, %s %s",
				    sns_type_name(types[i]), fields[j],
				    wrong[k] != NULL ? wrong[k] : "absent");
				tenv_must_fail(&t, reason, what);
			}
	}
	/* Not required of a Notification, whatever they are. */
	tenv_base(&t, SNS_NOTIFICATION);
	tenv_raw(&t, "Token", "7");
	tenv_raw(&t, "SubscribeURL", "{}");
	tenv_raw(&t, "UnsubscribeURL", "[1,2]");
	tenv_raw(&t, "MessageAttributes", "\"x\"");
	tenv_raw(&t, "Extra", "null");
	tenv_must_parse(&t, &e);
	sns_envelope_fini(&e);
}
END_TEST

START_TEST(test_sns_parse_subject)
{
	struct tenv		 t;
	struct sns_envelope	 e;

	tenv_base(&t, SNS_NOTIFICATION);
	tenv_raw(&t, "Subject", "5");
	tenv_must_fail(&t, "SNS envelope: no \"Subject\" string",
	    "Subject 5");
	tenv_raw(&t, "Subject", "{}");
	tenv_must_fail(&t, "SNS envelope: no \"Subject\" string",
	    "Subject {}");
	tenv_set(&t, "Subject", "");
	tenv_must_parse(&t, &e);
	ck_assert_ptr_nonnull(e.subject);
	ck_assert_uint_eq(e.subject_len, 0);
	sns_envelope_fini(&e);
	/* A confirmation does not sign Subject: its type does not matter. */
	tenv_base(&t, SNS_SUBSCRIPTION_CONFIRMATION);
	tenv_raw(&t, "Subject", "5");
	tenv_must_parse(&t, &e);
	ck_assert_ptr_null(e.subject);
	sns_envelope_fini(&e);
}
END_TEST

/* Message and Subject may hold NULs; the fields read as C strings not. */
START_TEST(test_sns_parse_nul)
{
	static const char *const	 fields[] = {
		"Type", "MessageId", "TopicArn", "Timestamp",
		"SignatureVersion", "Signature", "SigningCertURL", "Token",
		"SubscribeURL"
	};
	struct tenv			 t;
	struct tmember			*m;
	struct sns_envelope		 e;
	char				 reason[128];
	size_t				 i;

	tenv_base(&t, SNS_NOTIFICATION);
	tenv_set_len(&t, "Message", "a\0b", 3);
	tenv_set_len(&t, "Subject", "\0", 1);
	tenv_must_parse(&t, &e);
	ck_assert_uint_eq(e.message_len, 3);
	ck_assert_mem_eq(e.message, "a\0b", 4);
	ck_assert_uint_eq(e.subject_len, 1);
	ck_assert_int_eq(e.subject[0], '\0');
	sns_envelope_fini(&e);

	for (i = 0; i < nitems(fields); i++) {
		tenv_base(&t, SNS_SUBSCRIPTION_CONFIRMATION);
		m = tenv_get(&t, fields[i]);
		ck_assert_ptr_nonnull(m);
		/* A NUL after the whole value: a prefix is still wrong. */
		m->value[m->len++] = '\0';
		snprintf(reason, sizeof(reason),
		    "SNS envelope: \"%s\" holds a NUL byte", fields[i]);
		tenv_must_fail(&t, reason, fields[i]);
	}
}
END_TEST

START_TEST(test_sns_parse_version)
{
	static const char *const	 bad[] = {
		"0", "3", "", " 1", "1 ", "01", "1.0", "v1", "2\n", "12",
		"\xd9\xa1"		/* ARABIC-INDIC DIGIT ONE */
	};
	struct tenv			 t;
	char				 reason[128];
	size_t				 i;

	for (i = 0; i < nitems(bad); i++) {
		tenv_base(&t, SNS_NOTIFICATION);
		tenv_set(&t, "SignatureVersion", bad[i]);
		snprintf(reason, sizeof(reason), "SNS envelope: "
		    "SignatureVersion \"%s\" is not \"1\" or \"2\"", bad[i]);
		/* The reason shows bytes outside printable ASCII as '?'. */
		if (strcmp(bad[i], "2\n") == 0)
			snprintf(reason, sizeof(reason), "SNS envelope: "
			    "SignatureVersion \"2?\" is not \"1\" or \"2\"");
		else if (bad[i][0] == '\xd9')
			snprintf(reason, sizeof(reason), "SNS envelope: "
			    "SignatureVersion \"??\" is not \"1\" or \"2\"");
		tenv_must_fail(&t, reason, bad[i]);
	}
	tenv_raw(&t, "SignatureVersion", "1");
	tenv_must_fail(&t, "SNS envelope: no \"SignatureVersion\" string",
	    "number 1");
}
END_TEST

struct ts_case {
	const char	*text;
	long long	 epoch_s;
};

START_TEST(test_sns_parse_timestamp)
{
	static const struct ts_case	 good[] = {
		{ TS,				TS_S },
		{ "2022-07-28T21:23:58Z",	TS_S },
		{ "2022-07-28T21:23:58.0Z",	TS_S },
		{ "2022-07-28T21:23:58.999999999999Z", TS_S },
		{ "1970-01-01T00:00:00.000Z",	0 },
		{ "1969-12-31T23:59:59Z",	-1 },
		{ "2024-02-29T12:00:00Z",	1709208000LL },
		{ "2000-02-29T00:00:00Z",	951782400LL },
		{ "2016-12-31T23:59:60Z",	1483228800LL },
		{ "9999-12-31T23:59:59Z",	253402300799LL },
	};
	static const char *const	 bad[] = {
		"", "Z", "2022-07-28", "2022-07-28T21:23Z",
		"2022-07-28T21:23:58", "2022-07-28T21:23:58.317",
		"2022-07-28T21:23:58+00:00", "2022-07-28T21:23:58.317+00:00",
		"2022-07-28T21:23:58.317z", "2022-07-28t21:23:58.317Z",
		"2022-07-28 21:23:58.317Z", "2022-07-28T21:23:58.Z",
		"2022-07-28T21:23:58,317Z", "2022-07-28T21:23:58.317ZZ",
		"2022-07-28T21:23:58.317Z ", " 2022-07-28T21:23:58.317Z",
		"2022-7-28T21:23:58Z", "22-07-28T21:23:58Z",
		"+2022-07-28T21:23:58Z", "20220728T212358Z",
		"2022-00-28T21:23:58Z", "2022-13-28T21:23:58Z",
		"2022-07-00T21:23:58Z", "2022-07-32T21:23:58Z",
		"2022-02-29T21:23:58Z", "1900-02-29T21:23:58Z",
		"2022-04-31T21:23:58Z", "2022-07-28T24:00:00Z",
		"2022-07-28T21:60:58Z", "2022-07-28T21:23:61Z",
		"2022-07-28T-1:23:58Z", "2022-07-28T21:23:5xZ",
		"2022-07-28T21:23:58.3a7Z", "1659043438",
	};
	struct tenv			 t;
	struct sns_envelope		 e;
	char				 reason[160];
	size_t				 i;

	for (i = 0; i < nitems(good); i++) {
		tenv_base(&t, SNS_NOTIFICATION);
		tenv_set(&t, "Timestamp", good[i].text);
		tenv_must_parse(&t, &e);
		ck_assert_msg(e.timestamp_s == good[i].epoch_s, "%s: %lld, "
		    "want %lld", good[i].text, e.timestamp_s,
		    good[i].epoch_s);
		ck_assert_str_eq(e.timestamp, good[i].text);
		sns_envelope_fini(&e);
	}
	for (i = 0; i < nitems(bad); i++) {
		tenv_base(&t, SNS_NOTIFICATION);
		tenv_set(&t, "Timestamp", bad[i]);
		snprintf(reason, sizeof(reason), "SNS envelope: Timestamp "
		    "\"%s\" is not YYYY-MM-DDTHH:MM:SS[.fraction]Z", bad[i]);
		tenv_must_fail(&t, reason, bad[i]);
	}
	/* A long one is cut short in the reason. */
	tenv_set(&t, "Timestamp", TS "0123456789012345678901234567890");
	tenv_must_fail(&t, "SNS envelope: Timestamp \"" TS "0123456789012345"
	    "\" is not YYYY-MM-DDTHH:MM:SS[.fraction]Z", "long");
}
END_TEST

START_TEST(test_sns_parse_type)
{
	static const char *const	 bad[] = {
		"notification", "Notification ", " Notification", "",
		"NOTIFICATION", "SubscribeConfirmation", "Unsubscribe",
		"Notification\tx"
	};
	struct tenv			 t;
	struct sns_envelope		 e;
	char				 reason[128];
	size_t				 i;

	for (i = 0; i < nitems(bad); i++) {
		tenv_base(&t, SNS_NOTIFICATION);
		tenv_set(&t, "Type", bad[i]);
		snprintf(reason, sizeof(reason),
		    "SNS envelope: Type \"%s\" unknown", bad[i]);
		if (strchr(bad[i], '\t') != NULL)
			snprintf(reason, sizeof(reason),
			    "SNS envelope: Type \"Notification?x\" unknown");
		tenv_must_fail(&t, reason, bad[i]);
	}
	/* A notification's type on a confirmation: Token is not needed. */
	tenv_base(&t, SNS_SUBSCRIPTION_CONFIRMATION);
	tenv_set(&t, "Type", "Notification");
	tenv_del(&t, "Token");
	tenv_must_parse(&t, &e);
	ck_assert_ptr_null(e.token);
	sns_envelope_fini(&e);
}
END_TEST

struct body_case {
	const char	*body;
	const char	*reason;	/* a prefix of it */
};

START_TEST(test_sns_parse_not_object)
{
	static const struct body_case	 cases[] = {
		{ "", "SNS envelope: empty body" },
		{ "[]", "SNS envelope: not a JSON object" },
		{ "[{\"Type\":\"Notification\"}]",
		    "SNS envelope: not a JSON object" },
		{ "\"Notification\"", "SNS envelope: not a JSON object" },
		{ "null", "SNS envelope: not a JSON object" },
		{ "42", "SNS envelope: not a JSON object" },
		{ "{", "SNS envelope: invalid JSON: " },
		{ "{}{}", "SNS envelope: invalid JSON: " },
		{ "{} x", "SNS envelope: invalid JSON: " },
		{ "\xef\xbb\xbf{}", "SNS envelope: invalid JSON: " },
		{ "{\"Type\":\"Notification\",\"Type\":\"Notification\"}",
		    "SNS envelope: invalid JSON: " },
		{ "{\"Message\":\"\xff\"}", "SNS envelope: invalid JSON: " },
		{ "{}", "SNS envelope: no \"Type\" string" },
	};
	struct sns_envelope		 e;
	char				 err[256];
	size_t				 i;

	for (i = 0; i < nitems(cases); i++) {
		ck_assert_int_eq(sns_envelope_parse(&e, cases[i].body,
		    strlen(cases[i].body), err, sizeof(err)), -1);
		ck_assert_msg(strncmp(err, cases[i].reason,
		    strlen(cases[i].reason)) == 0, "%s: reason \"%s\"",
		    cases[i].body, err);
		ck_assert_ptr_null(e.doc);
	}
	ck_assert_int_eq(sns_envelope_parse(&e, NULL, 0, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "SNS envelope: empty body");
}
END_TEST

/* A reason is one printable line and fits any buffer, none included. */
START_TEST(test_sns_parse_reason)
{
	struct tenv		 t;
	struct sns_envelope	 e;
	struct buf		 b;
	char			 err[256], small[8];
	size_t			 i;

	tenv_base(&t, SNS_NOTIFICATION);
	tenv_set(&t, "Type", "\n\r\x01\x7f\xc3\xa9");
	ck_assert_int_eq(tenv_parse(&t, &e, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "SNS envelope: Type \"??????\" unknown");
	ck_assert_int_eq(tenv_parse(&t, &e, small, sizeof(small)), -1);
	ck_assert_str_eq(small, "SNS env");
	ck_assert_int_eq(tenv_parse(&t, &e, NULL, 0), -1);

	buf_init(&b);
	ck_assert_int_eq(buf_puts(&b, "{\"Type\":\"\n"), 0);
	ck_assert_int_eq(sns_envelope_parse(&e, b.data, b.len, err,
	    sizeof(err)), -1);
	for (i = 0; err[i] != '\0'; i++)
		ck_assert_msg(err[i] >= 0x20 && err[i] < 0x7f, "%s", err);
	buf_fini(&b);
}
END_TEST

/*
 * The string to sign.
 */

#define TO_SIGN_HEAD	"Message\n" CALLBACK "\nMessageId\n" MSG_ID "\n"
#define TO_SIGN_TAIL	"Timestamp\n" TS "\nTopicArn\n" ARN "\n" \
			"Type\nNotification\n"

static void
expect_to_sign(const struct tenv *t, const char *want, size_t wantlen)
{
	struct sns_envelope	 e;
	struct buf		 b;

	tenv_must_parse(t, &e);
	buf_init(&b);
	ck_assert_int_eq(sns_string_to_sign(&e, &b), 0);
	ck_assert_msg(b.len == wantlen && memcmp(b.data, want, wantlen) == 0,
	    "got %zu bytes:\n%.*s\nwant %zu:\n%.*s", b.len, (int)b.len,
	    b.data, wantlen, (int)wantlen, want);
	buf_fini(&b);
	sns_envelope_fini(&e);
}

START_TEST(test_sns_to_sign_notification)
{
	static const char	 plain[] = TO_SIGN_HEAD TO_SIGN_TAIL;
	static const char	 subject[] = TO_SIGN_HEAD
	    "Subject\nSinch \"callback\"\n" TO_SIGN_TAIL;
	struct tenv		 t;

	tenv_base(&t, SNS_NOTIFICATION);
	tenv_raw(&t, "MessageAttributes", "{\"x\":{\"Type\":\"String\","
	    "\"Value\":\"y\"}}");
	expect_to_sign(&t, plain, sizeof(plain) - 1);
	tenv_raw(&t, "Subject", "null");
	expect_to_sign(&t, plain, sizeof(plain) - 1);
	tenv_set(&t, "Subject", "Sinch \"callback\"");
	expect_to_sign(&t, subject, sizeof(subject) - 1);
}
END_TEST

START_TEST(test_sns_to_sign_confirmation)
{
	static const char	 sub[] = "Message\nJoin\nMessageId\n" MSG_ID
	    "\nSubscribeURL\n" SUB_URL "\nTimestamp\n" TS "\nToken\n" TOKEN
	    "\nTopicArn\n" ARN "\nType\nSubscriptionConfirmation\n";
	static const char	 unsub[] = "Message\nLeave\nMessageId\n"
	    MSG_ID "\nSubscribeURL\n" SUB_URL "\nTimestamp\n" TS "\nToken\n"
	    TOKEN "\nTopicArn\n" ARN "\nType\nUnsubscribeConfirmation\n";
	struct tenv		 t;

	tenv_base(&t, SNS_SUBSCRIPTION_CONFIRMATION);
	tenv_set(&t, "Message", "Join");
	tenv_set(&t, "Subject", "not signed");
	expect_to_sign(&t, sub, sizeof(sub) - 1);
	tenv_base(&t, SNS_UNSUBSCRIBE_CONFIRMATION);
	tenv_set(&t, "Message", "Leave");
	expect_to_sign(&t, unsub, sizeof(unsub) - 1);
}
END_TEST

START_TEST(test_sns_to_sign_nul)
{
	static const char	 want[] = "Message\na\0b\n\nMessageId\n" MSG_ID
	    "\nSubject\n\0\nTimestamp\n" TS "\nTopicArn\n" ARN
	    "\nType\nNotification\n";
	struct tenv		 t;

	tenv_base(&t, SNS_NOTIFICATION);
	tenv_set_len(&t, "Message", "a\0b\n", 4);
	tenv_set_len(&t, "Subject", "\0", 1);
	expect_to_sign(&t, want, sizeof(want) - 1);
}
END_TEST

/* It appends, and leaves the buffer as it was when it cannot. */
START_TEST(test_sns_to_sign_append)
{
	static const char	 want[] = "x" TO_SIGN_HEAD TO_SIGN_TAIL;
	struct tenv		 t;
	struct sns_envelope	 e;
	struct buf		 b;

	tenv_base(&t, SNS_NOTIFICATION);
	tenv_must_parse(&t, &e);
	buf_init(&b);
	ck_assert_int_eq(buf_putc(&b, 'x'), 0);
	ck_assert_int_eq(sns_string_to_sign(&e, &b), 0);
	ck_assert_uint_eq(b.len, sizeof(want) - 1);
	ck_assert_mem_eq(b.data, want, b.len);
	e.topic_arn = NULL;
	ck_assert_int_eq(sns_string_to_sign(&e, &b), -1);
	ck_assert_uint_eq(b.len, sizeof(want) - 1);
	ck_assert_mem_eq(b.data, want, b.len + 1);
	buf_fini(&b);
	sns_envelope_fini(&e);
}
END_TEST

/*
 * URLs.
 */

struct url_case {
	const char	*url;
	bool		 cert_ok;	/* as a SigningCertURL */
	bool		 other_ok;	/* as a SubscribeURL */
};

#define H	"https://sns.us-east-1.amazonaws.com"
#define PEM	"/SimpleNotificationService-a.pem"

static const struct url_case url_cases[] = {
	{ H PEM,						true, true },
	{ "https://sns.eu-west-1.amazonaws.com" PEM,		true, true },
	{ "https://sns.cn-north-1.amazonaws.com.cn" PEM,	true, true },
	{ "https://sns.us-gov-west-1.amazonaws.com" PEM,	true, true },
	{ "https://sns.a.amazonaws.com/.pem",			true, true },
	{ "HTTPS://sns.us-east-1.amazonaws.com" PEM,		true, true },
	{ "HtTpS://sns.us-east-1.amazonaws.com" PEM,		true, true },
	{ H "/a/b/c.pem",					true, true },
	{ H "/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-1:"
	    "1:t&Token=ab",					false, true },
	{ H "/?Action=Unsubscribe&SubscriptionArn=arn:x:y",	false, true },
	{ H PEM "?x=1",						false, true },
	{ H PEM "?",						false, true },
	{ H "/",						false, true },
	{ H,							false, true },
	{ H "/x.PEM",						false, true },
	{ H "/x.pem/",						false, true },
	{ H "/x.pem.txt",					false, true },
	{ H "/xpem",						false, true },
	{ H "/x.pe",						false, true },
	{ H "/?x=a.pem",					false, true },
	/* Not https. */
	{ "http://sns.us-east-1.amazonaws.com" PEM,		false, false },
	{ "ftp://sns.us-east-1.amazonaws.com" PEM,		false, false },
	{ "https:/sns.us-east-1.amazonaws.com" PEM,		false, false },
	{ "https:sns.us-east-1.amazonaws.com" PEM,		false, false },
	{ "//sns.us-east-1.amazonaws.com" PEM,			false, false },
	{ "sns.us-east-1.amazonaws.com" PEM,			false, false },
	{ " https://sns.us-east-1.amazonaws.com" PEM,		false, false },
	{ "httpss://sns.us-east-1.amazonaws.com" PEM,		false, false },
	{ "",							false, false },
	{ "https://",						false, false },
	{ "https:///x.pem",					false, false },
	/* Other hosts. */
	{ "https://sns.amazonaws.com" PEM,			false, false },
	{ "https://sns..amazonaws.com" PEM,			false, false },
	{ "https://sns.us-east-1.amazonaws.com.evil.com" PEM,	false, false },
	{ "https://sns.amazonaws.com.evil.com" PEM,		false, false },
	{ "https://sns.evil.com" PEM,				false, false },
	{ "https://evil.com/sns.us-east-1.amazonaws.com" PEM,	false, false },
	{ "https://sns.evil.com.amazonaws.com" PEM,		false, false },
	{ "https://sns.us_east-1.amazonaws.com" PEM,		false, false },
	{ "https://sqs.us-east-1.amazonaws.com" PEM,		false, false },
	{ "https://xsns.us-east-1.amazonaws.com" PEM,		false, false },
	{ "https://a.sns.us-east-1.amazonaws.com" PEM,		false, false },
	{ "https://sns.us-east-1.amazonaws.co" PEM,		false, false },
	{ "https://sns.us-east-1.amazonaws.com.c" PEM,		false, false },
	{ "https://sns.us-east-1.amazonaws.com.cn.evil" PEM,	false, false },
	{ "https://sns.us-east-1.amazonawsXcom" PEM,		false, false },
	{ "https://sns.us-east-1.amazonaws.com." PEM,		false, false },
	{ "https://sns.us-east-1.evil-amazonaws.com" PEM,	false, false },
	{ "https://sns.us-east-1.amazonaws.com%2eevil.com" PEM, false, false },
	{ "https://sns.us%2deast-1.amazonaws.com" PEM,		false, false },
	/* Upper case where DNS would not care. */
	{ "https://SNS.us-east-1.amazonaws.com" PEM,		false, false },
	{ "https://sns.US-EAST-1.amazonaws.com" PEM,		false, false },
	{ "https://sns.us-east-1.AMAZONAWS.COM" PEM,		false, false },
	{ "https://sns.us-east-1.amazonaws.com.CN" PEM,		false, false },
	/* User info, port, fragment. */
	{ "https://user@sns.us-east-1.amazonaws.com" PEM,	false, false },
	{ "https://sns.us-east-1.amazonaws.com@evil.com" PEM,	false, false },
	{ "https://u:p@sns.us-east-1.amazonaws.com" PEM,	false, false },
	{ "https://sns.us-east-1.amazonaws.com:443" PEM,	false, false },
	{ "https://sns.us-east-1.amazonaws.com:" PEM,		false, false },
	{ "https://sns.us-east-1.amazonaws.com:8443" PEM,	false, false },
	{ "https://sns.us-east-1.amazonaws.com?x=1/a.pem",	false, false },
	{ "https://sns.us-east-1.amazonaws.com#/a.pem",		false, false },
	{ "https://sns.us-east-1.amazonaws.com#" PEM,		false, false },
	{ H PEM "#",						false, false },
	{ H PEM "#x.pem",					false, false },
	{ H "/?Action=ConfirmSubscription#frag",		false, false },
	/* Spaces and control bytes, anywhere. */
	{ H "/a b.pem",						false, false },
	{ H PEM " ",						false, false },
	{ H "/a\tb.pem",					false, false },
	{ H "/a\nb.pem",					false, false },
	{ H "/a\rb.pem",					false, false },
	{ H "/a\x7f" "b.pem",					false, false },
	{ H "/\xc3\xa9.pem",					false, false },
	{ "https://sns.us-east-1.amazonaws.com\t" PEM,		false, false },
	{ "https:// sns.us-east-1.amazonaws.com" PEM,		false, false },
	{ H "\\@evil.com" PEM,					false, false },
	{ "https://sns.us-east-1.amazonaws.com\\" PEM,		false, false },
};

#undef H
#undef PEM

START_TEST(test_sns_url)
{
	const struct url_case	*c = &url_cases[_i];

	ck_assert_msg(sns_url_allowed(c->url, true) == c->cert_ok,
	    "\"%s\" as a certificate: %s", c->url, c->cert_ok ? "refused" :
	    "allowed");
	ck_assert_msg(sns_url_allowed(c->url, false) == c->other_ok,
	    "\"%s\" as a SubscribeURL: %s", c->url, c->other_ok ? "refused" :
	    "allowed");
}
END_TEST

START_TEST(test_sns_url_null)
{
	ck_assert(!sns_url_allowed(NULL, true));
	ck_assert(!sns_url_allowed(NULL, false));
}
END_TEST

/*
 * Signatures made here.
 */

struct sign_case {
	enum sns_type	 type;
	int		 version;
	const char	*subject;	/* Notification: NULL for none */
	bool		 nul;		/* a NUL in Message */
};

static const struct sign_case sign_cases[] = {
	{ SNS_NOTIFICATION,		 1, NULL,		false },
	{ SNS_NOTIFICATION,		 2, NULL,		false },
	{ SNS_NOTIFICATION,		 1, "Sinch callback",	false },
	{ SNS_NOTIFICATION,		 2, "Sinch callback",	false },
	{ SNS_NOTIFICATION,		 1, "",			true },
	{ SNS_NOTIFICATION,		 2, "",			true },
	{ SNS_SUBSCRIPTION_CONFIRMATION, 1, NULL,		false },
	{ SNS_SUBSCRIPTION_CONFIRMATION, 2, NULL,		false },
	{ SNS_UNSUBSCRIBE_CONFIRMATION,	 1, NULL,		false },
	{ SNS_UNSUBSCRIBE_CONFIRMATION,	 2, NULL,		false },
};

static void
sign_case_env(const struct sign_case *c, struct tenv *t)
{
	tenv_base(t, c->type);
	if (c->subject != NULL)
		tenv_set(t, "Subject", c->subject);
	if (c->nul)
		tenv_set_len(t, "Message", "{\"type\":\"mo_text\\u0000\"}\0",
		    25);
	tenv_sign(t, c->version, keys.signer);
}

/* Parses t and verifies it with key: 0, or -1 with the reason in err. */
static int
tenv_verify(const struct tenv *t, gnutls_pubkey_t key, char *err,
    size_t errlen)
{
	struct sns_envelope	 e;
	int			 rc;

	tenv_must_parse(t, &e);
	rc = sns_verify(&e, key, err, errlen);
	sns_envelope_fini(&e);
	return rc;
}

static void
expect_verified(const struct tenv *t, const char *what)
{
	char	 err[256];

	err[0] = '\0';
	ck_assert_msg(tenv_verify(t, keys.pub, err, sizeof(err)) == 0,
	    "%s: %s", what, err);
}

static void
expect_refused(const struct tenv *t, gnutls_pubkey_t key, const char *what)
{
	char	 err[256];

	err[0] = '\0';
	ck_assert_msg(tenv_verify(t, key, err, sizeof(err)) == -1,
	    "%s: verified", what);
	ck_assert_msg(strncmp(err, "SNS signature does not verify",
	    strlen("SNS signature does not verify")) == 0, "%s: reason %s",
	    what, err);
}

START_TEST(test_sns_keys)
{
	unsigned int	 status = 1;

	/* The fixture itself: the CA issued the signing certificate. */
	ck_assert_int_eq(gnutls_x509_crt_verify(keys.leaf, &keys.ca, 1, 0,
	    &status), 0);
	ck_assert_uint_eq(status, 0);
	ck_assert_int_eq(gnutls_x509_crt_check_issuer(keys.leaf, keys.ca), 1);
}
END_TEST

START_TEST(test_sns_sign_verify)
{
	const struct sign_case	*c = &sign_cases[_i];
	struct tenv		 t;

	sign_case_env(c, &t);
	expect_verified(&t, "as signed");
	/* The other version's algorithm over the same bytes. */
	tenv_set(&t, "SignatureVersion", c->version == 1 ? "2" : "1");
	expect_refused(&t, keys.pub, "other SignatureVersion");
	sign_case_env(c, &t);
	expect_refused(&t, keys.ca_pub, "the CA's key");
}
END_TEST

/* Changes one byte of the value: a letter's case, or a digit. */
static void
flip_byte(struct tmember *m, size_t at)
{
	char	*c = &m->value[at];

	if (*c >= '0' && *c <= '8')
		(*c)++;
	else if (*c == '9')
		*c = '0';
	else if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z'))
		*c ^= 0x20;
	else
		*c = *c == 'x' ? 'y' : 'x';
}

START_TEST(test_sns_sign_tamper)
{
	const struct sign_case	*c = &sign_cases[_i];
	const char *const	*names;
	struct tenv		 t;
	struct tmember		*m;
	struct sns_envelope	 e;
	char			 what[96], err[256];
	size_t			 i, n, at;

	if (c->type == SNS_NOTIFICATION) {
		names = signed_notification;
		n = nitems(signed_notification);
	} else {
		names = signed_confirmation;
		n = nitems(signed_confirmation);
	}
	for (i = 0; i < n; i++) {
		/* First, last and middle byte of each signed value. */
		for (at = 0; at < 3; at++) {
			sign_case_env(c, &t);
			if ((m = tenv_get(&t, names[i])) == NULL ||
			    m->len == 0)
				continue;
			flip_byte(m, at == 0 ? 0 : at == 1 ? m->len - 1 :
			    m->len / 2);
			snprintf(what, sizeof(what), "%s byte %s changed",
			    names[i], at == 0 ? "first" : at == 1 ? "last" :
			    "middle");
			/* A Type or Timestamp changed may not even parse. */
			if (tenv_parse(&t, &e, err, sizeof(err)) == -1) {
				ck_assert_msg(strcmp(names[i], "Type") == 0 ||
				    strcmp(names[i], "Timestamp") == 0,
				    "%s: %s", what, err);
				continue;
			}
			sns_envelope_fini(&e);
			expect_refused(&t, keys.pub, what);
		}
	}
	/* Subject taken away, or one added. */
	sign_case_env(c, &t);
	if (c->subject != NULL) {
		tenv_del(&t, "Subject");
		expect_refused(&t, keys.pub, "Subject removed");
		sign_case_env(c, &t);
		tenv_raw(&t, "Subject", "null");
		expect_refused(&t, keys.pub, "Subject null");
	} else if (c->type == SNS_NOTIFICATION) {
		tenv_set(&t, "Subject", "");
		expect_refused(&t, keys.pub, "Subject added");
	}
	/* A confirmation signed for the other kind of confirmation. */
	if (c->type != SNS_NOTIFICATION) {
		sign_case_env(c, &t);
		tenv_set(&t, "Type", sns_type_name(c->type ==
		    SNS_SUBSCRIPTION_CONFIRMATION ?
		    SNS_UNSUBSCRIBE_CONFIRMATION :
		    SNS_SUBSCRIPTION_CONFIRMATION));
		expect_refused(&t, keys.pub, "other confirmation Type");
	}
	/* A byte more in Message. */
	sign_case_env(c, &t);
	m = tenv_get(&t, "Message");
	m->value[m->len++] = ' ';
	expect_refused(&t, keys.pub, "Message longer");
	/* The Signature itself: one character, and one byte. */
	sign_case_env(c, &t);
	m = tenv_get(&t, "Signature");
	m->value[10] = m->value[10] == 'A' ? 'B' : 'A';
	expect_refused(&t, keys.pub, "Signature changed");
}
END_TEST

/* What SNS does not sign may change at will. */
START_TEST(test_sns_sign_unsigned)
{
	const struct sign_case	*c = &sign_cases[_i];
	struct tenv		 t, rev;
	size_t			 i;

	sign_case_env(c, &t);
	tenv_set(&t, "UnsubscribeURL", UNSUB_URL "x");
	expect_verified(&t, "UnsubscribeURL changed");
	tenv_raw(&t, "UnsubscribeURL", "12");
	expect_verified(&t, "UnsubscribeURL a number");
	tenv_raw(&t, "MessageAttributes", "{\"AWS.SNS.MOBILE.MPNS.Type\":"
	    "{\"Type\":\"String\",\"Value\":\"token\"}}");
	expect_verified(&t, "MessageAttributes added");
	tenv_raw(&t, "MessageAttributes", "{\"AWS.SNS.MOBILE.MPNS.Type\":"
	    "{\"Type\":\"String\",\"Value\":\"other\"}}");
	expect_verified(&t, "MessageAttributes changed");
	tenv_set(&t, "SigningCertURL", CERT_URL "x");
	expect_verified(&t, "SigningCertURL changed");
	if (c->type == SNS_NOTIFICATION) {
		tenv_set(&t, "Token", "unsigned");
		tenv_set(&t, "SubscribeURL", "unsigned");
		if (c->subject == NULL) {
			tenv_raw(&t, "Subject", "null");
			expect_verified(&t, "Subject null");
		}
	} else
		tenv_set(&t, "Subject", "unsigned");
	expect_verified(&t, "unsigned fields added");
	/* Member order is not signed either. */
	rev.n = t.n;
	for (i = 0; i < t.n; i++)
		rev.m[i] = t.m[t.n - 1 - i];
	expect_verified(&rev, "members reversed");
}
END_TEST

START_TEST(test_sns_verify_garbage)
{
	static const char *const	 bad[] = {
		"", "!!!!", "AAAA", "AAA", "AA==", "A===", "====", "ghtf+deO!",
		"Zm9v\x01", "*", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==="
	};
	struct tenv			 t;
	struct tmember			*m;
	struct sns_envelope		 e;
	char				 what[64], err[256];
	size_t				 i;

	for (i = 0; i < nitems(bad); i++) {
		sign_case_env(&sign_cases[1], &t);
		tenv_set(&t, "Signature", bad[i]);
		snprintf(what, sizeof(what), "Signature \"%s\"", bad[i]);
		expect_refused(&t, keys.pub, what);
	}
	/* The right signature without its padding. */
	sign_case_env(&sign_cases[1], &t);
	m = tenv_get(&t, "Signature");
	while (m->len > 0 && m->value[m->len - 1] == '=')
		m->len--;
	expect_refused(&t, keys.pub, "padding removed");
	/* Right but for bytes appended, and far too long. */
	sign_case_env(&sign_cases[1], &t);
	m = tenv_get(&t, "Signature");
	memcpy(m->value + m->len, "AAAA", 4);
	m->len += 4;
	expect_refused(&t, keys.pub, "4 characters more");
	memset(m->value, 'A', TV_MAX);
	m->len = TV_MAX;
	expect_refused(&t, keys.pub, "1024 characters");
	/* No key, and a version the parser would not have let through. */
	sign_case_env(&sign_cases[1], &t);
	tenv_must_parse(&t, &e);
	ck_assert_int_eq(sns_verify(&e, keys.pub, err, sizeof(err)), 0);
	ck_assert_int_eq(sns_verify(&e, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "SNS signature does not verify"));
	e.signature_version = 3;
	ck_assert_int_eq(sns_verify(&e, keys.pub, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "SNS signature does not verify"));
	ck_assert_int_eq(sns_verify(&e, keys.pub, NULL, 0), -1);
	sns_envelope_fini(&e);
}
END_TEST

/*
 * SignatureVersion 1 under a system policy that calls SHA-1 insecure,
 * as some distributions ship: GnuTLS is made to read such a policy in a
 * child process of its own.  Without the flag sns_verify() passes, the
 * plain call fails there, and so would every SignatureVersion 1 message.
 */
START_TEST(test_sns_verify_sha1_policy)
{
	struct tenv		 t;
	struct sns_envelope	 e;
	struct buf		 text;
	gnutls_datum_t		 data, sig;
	const char		*policy;
	char			 err[256];
	pid_t			 pid;
	int			 status, rc, i;

	sign_case_env(&sign_cases[0], &t);
	tenv_must_parse(&t, &e);
	buf_init(&text);
	ck_assert_int_eq(sns_string_to_sign(&e, &text), 0);
	data.data = (unsigned char *)text.data;
	data.size = (unsigned int)text.len;
	ck_assert_int_eq(gnutls_base64_decode2(&(gnutls_datum_t){
	    (unsigned char *)e.signature, (unsigned int)strlen(e.signature) },
	    &sig), 0);
	policy = fixture_write("gnutls.config", "[overrides]\n"
	    "insecure-hash = SHA1\ninsecure-sig = RSA-SHA1\n");
	fflush(NULL);
	if ((pid = fork()) == 0) {
		/* 2: the policy did not take; 1: sns_verify() refused. */
		setenv("GNUTLS_SYSTEM_PRIORITY_FILE", policy, 1);
		/*
		 * The policy is read when GnuTLS starts; libmicrohttpd holds
		 * a reference of its own, and one call too many does nothing.
		 */
		for (i = 0; i < 8; i++)
			gnutls_global_deinit();
		if (gnutls_global_init() != 0)
			_exit(2);
		rc = gnutls_pubkey_verify_data2(keys.pub, GNUTLS_SIGN_RSA_SHA1,
		    0, &data, &sig);
		if (rc != GNUTLS_E_INSUFFICIENT_SECURITY)
			_exit(2);
		_exit(sns_verify(&e, keys.pub, err, sizeof(err)) == 0 ? 0 : 1);
	}
	ck_assert_int_ne(pid, -1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) == 2)
		fprintf(stderr, "sns: this GnuTLS ignores a SHA-1 policy in "
		    "GNUTLS_SYSTEM_PRIORITY_FILE; SHA-1 flag not tested\n");
	else
		ck_assert_msg(WEXITSTATUS(status) == 0, "SignatureVersion 1 "
		    "refused under a policy against SHA-1");
	gnutls_free(sig.data);
	buf_fini(&text);
	sns_envelope_fini(&e);
}
END_TEST

/*
 * The shared AWS vectors.
 */

#define VEC_MAX_KEYS	8

/* ../shared/vectors/sns beside the repository, or NULL. */
static const char *
sns_vectors_dir(void)
{
	static char	 path[PATH_MAX];
	DIR		*d;

	snprintf(path, sizeof(path), "%s/../shared/vectors/sns",
	    fixture_srcdir());
	if ((d = opendir(path)) == NULL)
		return NULL;
	closedir(d);
	return path;
}

static size_t
sns_len(const char *s)
{
	return s != NULL ? strlen(s) : 0;
}

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t	 n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Every certificate in dir, its dates not looked at: they have expired. */
static size_t
vector_keys(const char *dir, gnutls_pubkey_t *keys_out, size_t max)
{
	struct dirent		*de;
	struct buf		*pem;
	gnutls_x509_crt_t	 crt;
	gnutls_datum_t		 d;
	char			 path[PATH_MAX];
	DIR			*dp;
	size_t			 n = 0;

	dp = opendir(dir);
	ck_assert_ptr_nonnull(dp);
	while ((de = readdir(dp)) != NULL) {
		if (!has_suffix(de->d_name, ".pem"))
			continue;
		ck_assert_uint_lt(n, max);
		ck_assert_int_lt(snprintf(path, sizeof(path), "%s/%s", dir,
		    de->d_name), (int)sizeof(path));
		pem = fixture_read_path(path);
		ck_assert_msg(pem != NULL, "unable to read %s", path);
		d.data = (unsigned char *)pem->data;
		d.size = (unsigned int)pem->len;
		ck_assert_int_eq(gnutls_x509_crt_init(&crt), 0);
		ck_assert_msg(gnutls_x509_crt_import(crt, &d,
		    GNUTLS_X509_FMT_PEM) == 0, "%s: not a certificate", path);
		ck_assert_int_eq(gnutls_pubkey_init(&keys_out[n]), 0);
		ck_assert_int_eq(gnutls_pubkey_import_x509(keys_out[n], crt,
		    0), 0);
		gnutls_x509_crt_deinit(crt);
		buf_free(pem);
		n++;
	}
	closedir(dp);
	return n;
}

/*
 * Verifies e with a copy of one signed field, the const char * at off in
 * the envelope, changed by a byte (the middle one, its lowest bit).
 */
static void
vector_tamper(const char *path, const struct sns_envelope *e,
    gnutls_pubkey_t key, const char *name, size_t off, size_t len)
{
	struct sns_envelope	 t = *e;
	const char		**field = (const char **)((char *)&t + off);
	char			*copy;
	char			 err[256];

	if (*field == NULL)
		return;
	ck_assert_uint_gt(len, 0);
	copy = malloc(len + 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, *field, len + 1);
	copy[len / 2] ^= 0x01;
	*field = copy;
	ck_assert_msg(sns_verify(&t, key, err, sizeof(err)) == -1,
	    "%s: verifies with %s changed", path, name);
	free(copy);
}

static void
vector_check(const char *path, gnutls_pubkey_t *vkeys, size_t nkeys)
{
	struct sns_envelope	 e, t;
	struct buf		*body;
	gnutls_pubkey_t		 key = NULL;
	char			 err[256];
	size_t			 i;

	body = fixture_read_path(path);
	ck_assert_msg(body != NULL, "unable to read %s", path);
	ck_assert_msg(sns_envelope_parse(&e, body->data, body->len, err,
	    sizeof(err)) == 0, "%s: %s", path, err);
	ck_assert_msg(sns_url_allowed(e.signing_cert_url, true),
	    "%s: SigningCertURL %s refused", path, e.signing_cert_url);
	for (i = 0; i < nkeys && key == NULL; i++)
		if (sns_verify(&e, vkeys[i], err, sizeof(err)) == 0)
			key = vkeys[i];
	ck_assert_msg(key != NULL, "%s: no certificate verifies it: %s",
	    path, err);

	vector_tamper(path, &e, key, "Message",
	    offsetof(struct sns_envelope, message), e.message_len);
	vector_tamper(path, &e, key, "MessageId",
	    offsetof(struct sns_envelope, message_id), strlen(e.message_id));
	vector_tamper(path, &e, key, "Subject",
	    offsetof(struct sns_envelope, subject), e.subject_len);
	vector_tamper(path, &e, key, "Timestamp",
	    offsetof(struct sns_envelope, timestamp), strlen(e.timestamp));
	vector_tamper(path, &e, key, "TopicArn",
	    offsetof(struct sns_envelope, topic_arn), strlen(e.topic_arn));
	vector_tamper(path, &e, key, "Type",
	    offsetof(struct sns_envelope, type_name), strlen(e.type_name));
	/* A Notification has neither: NULL is passed over. */
	vector_tamper(path, &e, key, "Token",
	    offsetof(struct sns_envelope, token), sns_len(e.token));
	vector_tamper(path, &e, key, "SubscribeURL",
	    offsetof(struct sns_envelope, subscribe_url),
	    sns_len(e.subscribe_url));
	vector_tamper(path, &e, key, "Signature",
	    offsetof(struct sns_envelope, signature), strlen(e.signature));
	t = e;
	t.signature_version = e.signature_version == 1 ? 2 : 1;
	ck_assert_msg(sns_verify(&t, key, err, sizeof(err)) == -1,
	    "%s: verifies as SignatureVersion %d", path, t.signature_version);
	/* Subject, when it is there, signed; when not, its absence is. */
	t = e;
	if (e.subject != NULL)
		t.subject = NULL;
	else {
		t.subject = "";
		t.subject_len = 0;
	}
	ck_assert_msg(sns_verify(&t, key, err, sizeof(err)) == -1,
	    "%s: verifies with Subject %s", path, e.subject != NULL ?
	    "removed" : "added");
	/* The certificate URL is not signed. */
	t = e;
	t.signing_cert_url = "https://sns.us-east-1.amazonaws.com/other.pem";
	ck_assert_msg(sns_verify(&t, key, err, sizeof(err)) == 0,
	    "%s: SigningCertURL counted: %s", path, err);
	sns_envelope_fini(&e);
	buf_free(body);
}

START_TEST(test_sns_vectors)
{
	gnutls_pubkey_t	 vkeys[VEC_MAX_KEYS];
	struct dirent	*de;
	const char	*dir = sns_vectors_dir();
	char		 path[PATH_MAX];
	DIR		*dp;
	size_t		 nkeys, i, n = 0;

	if (dir == NULL) {
		fprintf(stderr, "sns: %s/../shared/vectors/sns not found, "
		    "SNS conformance test skipped\n", fixture_srcdir());
		return;
	}
	nkeys = vector_keys(dir, vkeys, VEC_MAX_KEYS);
	ck_assert_msg(nkeys > 0, "%s: no *.pem", dir);
	dp = opendir(dir);
	ck_assert_ptr_nonnull(dp);
	while ((de = readdir(dp)) != NULL) {
		if (!has_suffix(de->d_name, ".json"))
			continue;
		ck_assert_int_lt(snprintf(path, sizeof(path), "%s/%s", dir,
		    de->d_name), (int)sizeof(path));
		vector_check(path, vkeys, nkeys);
		n++;
	}
	closedir(dp);
	ck_assert_msg(n > 0, "%s: no *.json", dir);
	for (i = 0; i < nkeys; i++)
		gnutls_pubkey_deinit(vkeys[i]);
}
END_TEST

/*
 * sns.c: the route's checks.
 */

/* What a pending check or confirmation ended with. */
static struct {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 calls;
	enum sns_verdict	 v;
	char			 reason[128];
} done = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0,
    SNS_PENDING, "" };

static void
on_done(void *arg, enum sns_verdict v, const char *reason)
{
	(void)arg;
	pthread_mutex_lock(&done.lock);
	done.calls++;
	done.v = v;
	snprintf(done.reason, sizeof(done.reason), "%s",
	    reason != NULL ? reason : "");
	pthread_cond_signal(&done.cond);
	pthread_mutex_unlock(&done.lock);
}

/* Waits (10 s at most) for the callback; returns its verdict. */
static enum sns_verdict
wait_done(void)
{
	struct timespec	until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&done.lock);
	while (done.calls == 0 &&
	    pthread_cond_timedwait(&done.cond, &done.lock, &until) == 0)
		;
	pthread_mutex_unlock(&done.lock);
	ck_assert_int_eq(done.calls, 1);
	done.calls = 0;
	return done.v;
}

static char	*route_topics[] = { ARN, NULL };

/* The sns group's settings, with cert_dir the test's directory or none. */
static void
route_config(struct config *cfg, bool cert_dir)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->has_sns = true;
	cfg->sns_path = "/sinch/sns";
	cfg->sns_topics = route_topics;
	cfg->nsns_topics = 1;
	cfg->sns_max_skew_s = 3600;
	cfg->sns_auto_confirm = true;
	cfg->sns_cert_dir = cert_dir ? (char *)fixture_tmpdir() : NULL;
	cfg->sns_deadline_s = 12;
}

/* Writes crt into the test's directory as the file url names. */
static void
put_cert(gnutls_x509_crt_t crt, const char *url)
{
	gnutls_datum_t	 pem;
	char		 text[8192];

	ck_assert_int_eq(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM,
	    &pem), 0);
	ck_assert_uint_lt(pem.size, sizeof(text));
	memcpy(text, pem.data, pem.size);
	text[pem.size] = '\0';
	gnutls_free(pem.data);
	fixture_write(strrchr(url, '/') + 1, text);
}

/* A Notification stamped age seconds ago and signed with version. */
static void
fresh_notification(struct tenv *t, long age, int version)
{
	char		 ts[32];
	time_t		 when = time(NULL) - age;
	struct tm	 tm;

	gmtime_r(&when, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	tenv_base(t, SNS_NOTIFICATION);
	tenv_set(t, "Timestamp", ts);
	tenv_sign(t, version, keys.signer);
}

/* sns_check() of t, which must answer at once. */
static enum sns_verdict
check_now(struct sns *sns, const struct tenv *t, char *reason,
    size_t reasonlen)
{
	struct sns_envelope	 e;
	enum sns_verdict	 v;

	tenv_must_parse(t, &e);
	reason[0] = '\0';
	v = sns_check(sns, &e, reason, reasonlen, on_done, NULL);
	ck_assert_int_ne(v, SNS_PENDING);
	sns_envelope_fini(&e);
	return v;
}

START_TEST(test_sns_check_order)
{
	struct config	 cfg;
	struct sns	*sns;
	struct tenv	 t;
	char		 err[256], reason[128], path[PATH_MAX];

	route_config(&cfg, true);
	ck_assert_ptr_nonnull(sns = sns_new(&cfg, err, sizeof(err)));

	/* No certificate yet: a topic or URL refused never looks for one. */
	fresh_notification(&t, 0, 2);
	tenv_set(&t, "TopicArn", ARN "-other");
	tenv_sign(&t, 2, keys.signer);
	ck_assert_int_eq(check_now(sns, &t, reason, sizeof(reason)),
	    SNS_FORBIDDEN);
	ck_assert_str_eq(reason, "SNS topic not allowed");
	fresh_notification(&t, 0, 2);
	tenv_set(&t, "SigningCertURL", "https://sns.eu-west-1.amazonaws.com."
	    "evil.example/SimpleNotificationService-0123456789abcdef.pem");
	ck_assert_int_eq(check_now(sns, &t, reason, sizeof(reason)),
	    SNS_FORBIDDEN);
	ck_assert_str_eq(reason, "SNS certificate URL not allowed");
	/* Allowed, but the certificate is not in cert_dir: 503. */
	fresh_notification(&t, 0, 2);
	ck_assert_int_eq(check_now(sns, &t, reason, sizeof(reason)),
	    SNS_UNAVAILABLE);
	ck_assert_str_eq(reason,
	    "SNS signing certificate unavailable, retry later");

	/* Put there, it is found without a restart. */
	put_cert(keys.leaf, CERT_URL);
	snprintf(path, sizeof(path), "%s/%s", fixture_tmpdir(),
	    strrchr(CERT_URL, '/') + 1);
	ck_assert_int_eq(check_now(sns, &t, reason, sizeof(reason)), SNS_OK);
	fresh_notification(&t, 60, 1);
	ck_assert_int_eq(check_now(sns, &t, reason, sizeof(reason)), SNS_OK);
	/* Cached: gone from the directory, still used. */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(check_now(sns, &t, reason, sizeof(reason)), SNS_OK);

	/* Changed after signing. */
	fresh_notification(&t, 0, 2);
	tenv_set(&t, "Message", "{\"type\":\"mo_text\",\"id\":\"01G\"}");
	ck_assert_int_eq(check_now(sns, &t, reason, sizeof(reason)),
	    SNS_FORBIDDEN);
	ck_assert_str_eq(reason, "SNS signature does not verify");

	/* The timestamp, either way, once the signature holds. */
	fresh_notification(&t, 3601 + 5, 2);
	ck_assert_int_eq(check_now(sns, &t, reason, sizeof(reason)),
	    SNS_FORBIDDEN);
	ck_assert_str_eq(reason, "SNS timestamp too old or too new");
	fresh_notification(&t, -3601 - 5, 2);
	ck_assert_int_eq(check_now(sns, &t, reason, sizeof(reason)),
	    SNS_FORBIDDEN);
	ck_assert_str_eq(reason, "SNS timestamp too old or too new");
	fresh_notification(&t, 3500, 2);
	ck_assert_int_eq(check_now(sns, &t, reason, sizeof(reason)), SNS_OK);
	sns_free(sns);
}
END_TEST

/* A signing certificate past its expiry, from the same key. */
START_TEST(test_sns_check_expired_cert)
{
	static const char	 url[] = "https://sns.eu-west-1.amazonaws.com/"
				    "SimpleNotificationService-expired.pem";
	gnutls_x509_crt_t	 crt;
	unsigned char		 sn[] = { 9 };
	time_t			 now = time(NULL);
	struct config		 cfg;
	struct sns		*sns;
	struct tenv		 t;
	char			 err[256], reason[128];

	ck_assert_int_eq(gnutls_x509_crt_init(&crt), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_version(crt, 3), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_serial(crt, sn, sizeof(sn)), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_activation_time(crt,
	    now - 2 * 86400), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_expiration_time(crt,
	    now - 86400), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_dn_by_oid(crt,
	    GNUTLS_OID_X520_COMMON_NAME, 0, "sns.amazonaws.com", 17), 0);
	ck_assert_int_eq(gnutls_x509_crt_set_key(crt, keys.leaf_key), 0);
	ck_assert_int_eq(gnutls_x509_crt_sign2(crt, keys.ca, keys.ca_key,
	    GNUTLS_DIG_SHA256, 0), 0);
	put_cert(crt, url);
	gnutls_x509_crt_deinit(crt);

	route_config(&cfg, true);
	ck_assert_ptr_nonnull(sns = sns_new(&cfg, err, sizeof(err)));
	fresh_notification(&t, 0, 2);
	tenv_set(&t, "SigningCertURL", url);
	ck_assert_int_eq(check_now(sns, &t, reason, sizeof(reason)),
	    SNS_FORBIDDEN);
	ck_assert_str_eq(reason, "SNS signing certificate not valid now");
	sns_free(sns);
}
END_TEST

/*
 * Without cert_dir the certificate is fetched, in the fetch thread: here
 * the SNS host is sent to a port where nothing listens.  The failure is
 * remembered, so the next check answers 503 at once, without a fetch.
 */
START_TEST(test_sns_check_fetch_fails)
{
	struct config		 cfg;
	struct sns		*sns;
	struct sns_envelope	 e;
	struct tenv		 t;
	char			 err[256], reason[128];

	ck_assert_int_eq(setenv(SNS_ENV_CONNECT_TO,
	    "sns.eu-west-1.amazonaws.com:443:127.0.0.1:1", 1), 0);
	route_config(&cfg, false);
	ck_assert_ptr_nonnull(sns = sns_new(&cfg, err, sizeof(err)));
	fresh_notification(&t, 0, 2);
	tenv_must_parse(&t, &e);
	ck_assert_int_eq(sns_check(sns, &e, reason, sizeof(reason), on_done,
	    NULL), SNS_PENDING);
	ck_assert_int_eq(wait_done(), SNS_UNAVAILABLE);
	ck_assert_str_eq(done.reason,
	    "SNS signing certificate unavailable, retry later");
	ck_assert_int_eq(sns_check(sns, &e, reason, sizeof(reason), on_done,
	    NULL), SNS_UNAVAILABLE);
	ck_assert_str_eq(reason,
	    "SNS signing certificate unavailable, retry later");

	/* A confirmation's GET fails the same way: 503, so SNS retries. */
	sns_envelope_fini(&e);
	tenv_base(&t, SNS_SUBSCRIPTION_CONFIRMATION);
	tenv_must_parse(&t, &e);
	ck_assert_int_eq(sns_confirm(sns, &e, reason, sizeof(reason), on_done,
	    NULL), SNS_PENDING);
	ck_assert_int_eq(wait_done(), SNS_UNAVAILABLE);
	ck_assert_str_eq(done.reason,
	    "SNS subscription not confirmed, retry later");
	/* Only SNS hosts are asked to confirm anything. */
	sns_envelope_fini(&e);
	tenv_set(&t, "SubscribeURL", "https://example.com/?Action="
	    "ConfirmSubscription&Token=" TOKEN);
	tenv_must_parse(&t, &e);
	ck_assert_int_eq(sns_confirm(sns, &e, reason, sizeof(reason), on_done,
	    NULL), SNS_FORBIDDEN);
	ck_assert_str_eq(reason, "SNS SubscribeURL not allowed");
	ck_assert_int_eq(done.calls, 0);
	sns_free(sns);
	sns_envelope_fini(&e);
	unsetenv(SNS_ENV_CONNECT_TO);
}
END_TEST

Suite *
suite_sns(void)
{
	Suite	*s = suite_create("sns");
	TCase	*tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, test_sns_type_names);
	tcase_add_test(tc, test_sns_parse_notification);
	tcase_add_test(tc, test_sns_parse_subscription);
	tcase_add_test(tc, test_sns_parse_unsubscribe);
	tcase_add_test(tc, test_sns_parse_required);
	tcase_add_test(tc, test_sns_parse_subject);
	tcase_add_test(tc, test_sns_parse_nul);
	tcase_add_test(tc, test_sns_parse_version);
	tcase_add_test(tc, test_sns_parse_timestamp);
	tcase_add_test(tc, test_sns_parse_type);
	tcase_add_test(tc, test_sns_parse_not_object);
	tcase_add_test(tc, test_sns_parse_reason);
	suite_add_tcase(s, tc);

	tc = tcase_create("string to sign");
	tcase_add_test(tc, test_sns_to_sign_notification);
	tcase_add_test(tc, test_sns_to_sign_confirmation);
	tcase_add_test(tc, test_sns_to_sign_nul);
	tcase_add_test(tc, test_sns_to_sign_append);
	suite_add_tcase(s, tc);

	tc = tcase_create("urls");
	tcase_add_loop_test(tc, test_sns_url, 0, nitems(url_cases));
	tcase_add_test(tc, test_sns_url_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("signatures");
	/* Key generation runs in the parent, outside any test's timeout. */
	tcase_add_unchecked_fixture(tc, keys_setup, NULL);
	tcase_add_checked_fixture(tc, fixture_tmp_setup,
	    fixture_tmp_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sns_keys);
	tcase_add_loop_test(tc, test_sns_sign_verify, 0, nitems(sign_cases));
	tcase_add_loop_test(tc, test_sns_sign_tamper, 0, nitems(sign_cases));
	tcase_add_loop_test(tc, test_sns_sign_unsigned, 0,
	    nitems(sign_cases));
	tcase_add_test(tc, test_sns_verify_garbage);
	tcase_add_test(tc, test_sns_verify_sha1_policy);
	suite_add_tcase(s, tc);

	tc = tcase_create("check");
	tcase_add_unchecked_fixture(tc, keys_setup, NULL);
	tcase_add_checked_fixture(tc, fixture_tmp_setup,
	    fixture_tmp_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sns_check_order);
	tcase_add_test(tc, test_sns_check_expired_cert);
	tcase_add_test(tc, test_sns_check_fetch_fails);
	suite_add_tcase(s, tc);

	tc = tcase_create("conformance");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sns_vectors);
	suite_add_tcase(s, tc);
	return s;
}
