/*
 * test_auth.c - authentication: the Sinch signature (the shared vector
 * and a fixture of our own), Base64 and constant-time helpers, CIDRs and
 * X-Forwarded-For, Basic, bearer tokens and the token endpoint, secrets
 * read from files, the reference count, and client certificates over an
 * in-process TLS handshake.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <jansson.h>
#include <nettle/base64.h>
#include <nettle/hmac.h>

#include "auth.h"
#include "fixture.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * tests/data/auth/signed_body.json, signed with OpenSSL (see the README
 * there): openssl dgst -sha256 -hmac SECRET -binary | base64.
 */
#define FX_BODY		"auth/signed_body.json"
#define FX_SECRET	"fixture-secret-one"
#define FX_SECRET2	"fixture-secret-two"
#define FX_NONCE	"01JTESTNONCE0000000000000A"
#define FX_TS		"1736760161"
#define FX_SIG		"kelauF76dq/nLY4k+mjIV9/Oy+K6D2bd5JM1+d2O+KI="
#define FX_SIG2		"30HcBWLNnhbpSlnAHVnHx+t7EVy5oXnc6hc06cXoN8c="

/* The shared vector (MANIFEST.md, "HMAC note"). */
#define VEC_FILE	"recipient_delivery_report_sms_signed.json"
#define VEC_SECRET	"SMSWebhooksSecret"
#define VEC_NONCE	"01JHFFHWYY7HSS4FWTMDTQEK8V"
#define VEC_TS		"1736760161"
#define VEC_SIG		"ZoHei66PPN/kZjw7hFVfGhJOnml3iGNCMWoyQVcE5o0="

#define KEY		"0123456789abcdef0123456789abcdef"	/* 32 bytes */
#define A43		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define KEY_LEN		32

#define CH_BASIC	"Basic realm=\"sinch-webhookd\""
#define CH_BEARER	"Bearer realm=\"sinch-webhookd\", " \
			"error=\"invalid_token\""
#define CH_SIGNATURE	"Sinch-Signature realm=\"sinch-webhookd\""

#define FORM		"application/x-www-form-urlencoded"
#define GRANT		"grant_type=client_credentials"

/* SHA-256 of tests/data/auth/client.pem, as openssl prints it. */
#define CLIENT_FP	"sha256:09:77:D8:A9:4D:25:75:C7:39:C3:C3:09:B0:" \
			"D9:68:5F:93:46:1B:C8:C9:BF:F7:D1:A2:A4:6D:1B:04:" \
			"8C:37:B6"
#define CLIENT_FP_HEX	"sha256:0977d8a94d2575c739c3c309b0d9685f" \
			"93461bc8c9bff7d1a2a46d1b048c37b6"
#define HEX32		"0977d8a94d2575c739c3c309b0d9685f"

static struct auth *
must_new(const struct config *cfg)
{
	struct auth	*a;
	char		 err[512];

	err[0] = '\0';
	a = auth_new(cfg, err, sizeof(err));
	ck_assert_msg(a != NULL, "auth_new: %s", err);
	return a;
}

/* auth_new() must fail; its error is returned (static). */
static const char *
must_fail(const struct config *cfg)
{
	static char	 err[512];
	struct auth	*a;

	err[0] = '\0';
	a = auth_new(cfg, err, sizeof(err));
	ck_assert_msg(a == NULL, "auth_new succeeded");
	ck_assert_msg(err[0] != '\0', "no error text");
	return err;
}

/* Standard Base64 of text, with padding, by nettle directly. */
static void
b64_of(const char *text, char *out, size_t outlen)
{
	size_t	n = strlen(text);

	ck_assert_uint_ge(outlen, BASE64_ENCODE_RAW_LENGTH(n) + 1);
	base64_encode_raw(out, n, (const uint8_t *)text);
	out[BASE64_ENCODE_RAW_LENGTH(n)] = '\0';
}

/*
 * The signature.
 */

static struct auth *
sig_auth(char *s1, char *s2, int skew_s)
{
	static char	*secrets[3];
	struct config	 cfg;

	memset(&cfg, 0, sizeof(cfg));
	secrets[0] = s1;
	secrets[1] = s2;
	secrets[2] = NULL;
	cfg.has_signature = true;
	cfg.sig_secrets = secrets;
	cfg.nsig_secrets = s2 != NULL ? 2 : 1;
	cfg.sig_max_skew_s = skew_s;
	return must_new(&cfg);
}

static enum auth_verdict
sig_check(const struct auth *a, const char *body, size_t len,
    const char *sig, const char *nonce, const char *ts, const char *alg,
    struct auth_failure *f)
{
	struct auth_request	r;

	memset(&r, 0, sizeof(r));
	r.signature = sig;
	r.nonce = nonce;
	r.timestamp = ts;
	r.algorithm = alg;
	f->reason = "unset";
	f->challenge = "unset";
	return auth_check_signature(a, &r, body, len, f);
}

static void
expect_sig_ok(const struct auth *a, const char *body, size_t len,
    const char *sig, const char *nonce, const char *ts, const char *alg)
{
	struct auth_failure	f;

	ck_assert_int_eq(sig_check(a, body, len, sig, nonce, ts, alg, &f),
	    AUTH_OK);
	ck_assert_ptr_null(f.reason);
	ck_assert_ptr_null(f.challenge);
}

static void
expect_sig_fail(const struct auth *a, const char *body, size_t len,
    const char *sig, const char *nonce, const char *ts, const char *alg,
    const char *reason)
{
	struct auth_failure	f;

	ck_assert_int_eq(sig_check(a, body, len, sig, nonce, ts, alg, &f),
	    AUTH_UNAUTHORIZED);
	ck_assert_msg(f.reason != NULL && strcmp(f.reason, reason) == 0,
	    "sig \"%s\" nonce \"%s\" ts \"%s\": reason %s, want %s",
	    sig != NULL ? sig : "(null)", nonce != NULL ? nonce : "(null)",
	    ts != NULL ? ts : "(null)", f.reason != NULL ? f.reason :
	    "(null)", reason);
	ck_assert_str_eq(f.challenge, CH_SIGNATURE);
}

START_TEST(test_auth_signature_shared_vector)
{
	const char	*dir = fixture_vectors_dir();
	struct buf	*body;
	struct auth	*a;
	char		 path[PATH_MAX], sig[64];

	if (dir == NULL) {
		fprintf(stderr, "auth: the shared vectors are not here, the "
		    "signed Sinch vector is not checked\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, VEC_FILE);
	body = fixture_read_path(path);
	ck_assert_msg(body != NULL, "unable to read %s", path);
	ck_assert_int_eq(auth_signature((const uint8_t *)VEC_SECRET,
	    strlen(VEC_SECRET), body->data, body->len, VEC_NONCE, VEC_TS, sig,
	    sizeof(sig)), 0);
	ck_assert_str_eq(sig, VEC_SIG);
	a = sig_auth(VEC_SECRET, NULL, 0);
	expect_sig_ok(a, body->data, body->len, VEC_SIG, VEC_NONCE, VEC_TS,
	    "HmacSHA256");
	auth_unref(a);
	buf_free(body);
}
END_TEST

START_TEST(test_auth_signature_fixture)
{
	struct buf	*body = fixture_read(FX_BODY);
	struct auth	*a = sig_auth(FX_SECRET, NULL, 0);
	char		 sig[64];

	ck_assert_int_eq(auth_signature((const uint8_t *)FX_SECRET,
	    strlen(FX_SECRET), body->data, body->len, FX_NONCE, FX_TS, sig,
	    sizeof(sig)), 0);
	ck_assert_str_eq(sig, FX_SIG);
	ck_assert_int_eq(auth_signature((const uint8_t *)FX_SECRET2,
	    strlen(FX_SECRET2), body->data, body->len, FX_NONCE, FX_TS, sig,
	    sizeof(sig)), 0);
	ck_assert_str_eq(sig, FX_SIG2);
	/* 44 characters and the NUL, no less. */
	ck_assert_int_eq(auth_signature((const uint8_t *)FX_SECRET,
	    strlen(FX_SECRET), body->data, body->len, FX_NONCE, FX_TS, sig,
	    44), -1);
	ck_assert_int_eq(auth_signature((const uint8_t *)FX_SECRET,
	    strlen(FX_SECRET), body->data, body->len, FX_NONCE, FX_TS, sig,
	    45), 0);
	expect_sig_ok(a, body->data, body->len, FX_SIG, FX_NONCE, FX_TS,
	    NULL);
	/* Signed by the other secret only. */
	expect_sig_fail(a, body->data, body->len, FX_SIG2, FX_NONCE, FX_TS,
	    NULL, "signature mismatch");
	auth_unref(a);
	buf_free(body);
}
END_TEST

START_TEST(test_auth_signature_empty_body)
{
	struct auth	*a = sig_auth(FX_SECRET, NULL, 0);
	char		 sig[64];

	ck_assert_int_eq(auth_signature((const uint8_t *)FX_SECRET,
	    strlen(FX_SECRET), NULL, 0, FX_NONCE, FX_TS, sig, sizeof(sig)),
	    0);
	expect_sig_ok(a, NULL, 0, sig, FX_NONCE, FX_TS, NULL);
	expect_sig_ok(a, "", 0, sig, FX_NONCE, FX_TS, NULL);
	auth_unref(a);
}
END_TEST

/* Every byte of body, nonce and timestamp, each changed: a mismatch. */
START_TEST(test_auth_signature_each_byte)
{
	struct buf	*body = fixture_read(FX_BODY);
	struct auth	*a = sig_auth(FX_SECRET, NULL, 0);
	char		*copy = malloc(body->len + 1);
	char		 nonce[] = FX_NONCE, ts[] = FX_TS;
	size_t		 i;

	ck_assert_ptr_nonnull(copy);
	for (i = 0; i < body->len; i++) {
		memcpy(copy, body->data, body->len);
		copy[i] = (char)(body->data[i] ^ 0x01);
		expect_sig_fail(a, copy, body->len, FX_SIG, FX_NONCE, FX_TS,
		    NULL, "signature mismatch");
		copy[i] = (char)(body->data[i] ^ 0x80);
		expect_sig_fail(a, copy, body->len, FX_SIG, FX_NONCE, FX_TS,
		    NULL, "signature mismatch");
	}
	memcpy(copy, body->data, body->len);
	copy[body->len] = '\n';
	expect_sig_fail(a, copy, body->len + 1, FX_SIG, FX_NONCE, FX_TS,
	    NULL, "signature mismatch");
	expect_sig_fail(a, copy, body->len - 1, FX_SIG, FX_NONCE, FX_TS,
	    NULL, "signature mismatch");
	for (i = 0; i < strlen(nonce); i++) {
		nonce[i] = (char)(nonce[i] ^ 0x01);
		expect_sig_fail(a, body->data, body->len, FX_SIG, nonce,
		    FX_TS, NULL, "signature mismatch");
		nonce[i] = FX_NONCE[i];
	}
	for (i = 0; i < strlen(ts); i++) {
		ts[i] = (char)(ts[i] ^ 0x01);
		expect_sig_fail(a, body->data, body->len, FX_SIG, FX_NONCE, ts,
		    NULL, "signature mismatch");
		ts[i] = FX_TS[i];
	}
	expect_sig_fail(a, body->data, body->len, FX_SIG, FX_NONCE "0",
	    FX_TS, NULL, "signature mismatch");
	expect_sig_fail(a, body->data, body->len, FX_SIG, FX_NONCE,
	    FX_TS "0", NULL, "signature mismatch");
	expect_sig_ok(a, body->data, body->len, FX_SIG, nonce, ts, NULL);
	free(copy);
	auth_unref(a);
	buf_free(body);
}
END_TEST

/* Every character of the signature, replaced by any other: a mismatch. */
START_TEST(test_auth_signature_each_char)
{
	static const char	 chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/=-_ .\t";
	struct buf		*body = fixture_read(FX_BODY);
	struct auth		*a = sig_auth(FX_SECRET, NULL, 0);
	char			 sig[] = FX_SIG;
	size_t			 i, j, tried = 0;

	for (i = 0; i < strlen(sig); i++) {
		for (j = 0; j < strlen(chars); j++) {
			if (chars[j] == FX_SIG[i])
				continue;
			sig[i] = chars[j];
			expect_sig_fail(a, body->data, body->len, sig,
			    FX_NONCE, FX_TS, NULL, "signature mismatch");
			tried++;
		}
		sig[i] = FX_SIG[i];
	}
	ck_assert_uint_gt(tried, 44 * 60);
	expect_sig_ok(a, body->data, body->len, sig, FX_NONCE, FX_TS, NULL);
	auth_unref(a);
	buf_free(body);
}
END_TEST

START_TEST(test_auth_signature_second_secret)
{
	struct buf	*body = fixture_read(FX_BODY);
	struct auth	*a = sig_auth(FX_SECRET, FX_SECRET2, 0);
	struct auth	*b = sig_auth(FX_SECRET2, FX_SECRET, 0);
	struct auth	*c = sig_auth("yet-another-secret", FX_SECRET2, 0);

	expect_sig_ok(a, body->data, body->len, FX_SIG, FX_NONCE, FX_TS, NULL);
	expect_sig_ok(a, body->data, body->len, FX_SIG2, FX_NONCE, FX_TS,
	    NULL);
	expect_sig_ok(b, body->data, body->len, FX_SIG, FX_NONCE, FX_TS, NULL);
	expect_sig_ok(c, body->data, body->len, FX_SIG2, FX_NONCE, FX_TS,
	    NULL);
	expect_sig_fail(c, body->data, body->len, FX_SIG, FX_NONCE, FX_TS,
	    NULL, "signature mismatch");
	auth_unref(a);
	auth_unref(b);
	auth_unref(c);
	buf_free(body);
}
END_TEST

START_TEST(test_auth_signature_headers)
{
	struct buf	*body = fixture_read(FX_BODY);
	struct auth	*a = sig_auth(FX_SECRET, NULL, 0);
	const char	*d = body->data;
	size_t		 n = body->len;

	expect_sig_fail(a, d, n, NULL, FX_NONCE, FX_TS, NULL,
	    "signature headers missing");
	expect_sig_fail(a, d, n, FX_SIG, NULL, FX_TS, NULL,
	    "signature headers missing");
	expect_sig_fail(a, d, n, FX_SIG, FX_NONCE, NULL, NULL,
	    "signature headers missing");
	expect_sig_fail(a, d, n, "", FX_NONCE, FX_TS, NULL,
	    "signature headers missing");
	expect_sig_fail(a, d, n, FX_SIG, "", FX_TS, NULL,
	    "signature headers missing");
	expect_sig_fail(a, d, n, FX_SIG, FX_NONCE, "", NULL,
	    "signature headers missing");
	/* The algorithm is optional, but only HmacSHA256, in any case. */
	expect_sig_ok(a, d, n, FX_SIG, FX_NONCE, FX_TS, "HmacSHA256");
	expect_sig_ok(a, d, n, FX_SIG, FX_NONCE, FX_TS, "hmacsha256");
	expect_sig_ok(a, d, n, FX_SIG, FX_NONCE, FX_TS, "HMACSHA256");
	expect_sig_fail(a, d, n, FX_SIG, FX_NONCE, FX_TS, "HmacSHA1",
	    "signature algorithm not supported");
	expect_sig_fail(a, d, n, FX_SIG, FX_NONCE, FX_TS, "HmacSHA512",
	    "signature algorithm not supported");
	expect_sig_fail(a, d, n, FX_SIG, FX_NONCE, FX_TS, "HmacSHA256 ",
	    "signature algorithm not supported");
	expect_sig_fail(a, d, n, FX_SIG, FX_NONCE, FX_TS, "",
	    "signature algorithm not supported");
	auth_unref(a);
	buf_free(body);
}
END_TEST

START_TEST(test_auth_signature_skew)
{
	static const char	 body[] = "{\"type\":\"mo_text\"}";
	struct auth		*a = sig_auth(FX_SECRET, NULL, 300);
	struct auth		*off = sig_auth(FX_SECRET, NULL, 0);
	long long		 now = (long long)time(NULL);
	long long		 when[] = { now, now - 250, now + 250 };
	char			 ts[32], sig[64];
	size_t			 i;

	for (i = 0; i < nitems(when); i++) {
		snprintf(ts, sizeof(ts), "%lld", when[i]);
		ck_assert_int_eq(auth_signature((const uint8_t *)FX_SECRET,
		    strlen(FX_SECRET), body, strlen(body), FX_NONCE, ts, sig,
		    sizeof(sig)), 0);
		expect_sig_ok(a, body, strlen(body), sig, FX_NONCE, ts, NULL);
	}
	snprintf(ts, sizeof(ts), "%lld", now - 400);
	auth_signature((const uint8_t *)FX_SECRET, strlen(FX_SECRET), body,
	    strlen(body), FX_NONCE, ts, sig, sizeof(sig));
	expect_sig_fail(a, body, strlen(body), sig, FX_NONCE, ts, NULL,
	    "signature timestamp too old");
	expect_sig_ok(off, body, strlen(body), sig, FX_NONCE, ts, NULL);
	snprintf(ts, sizeof(ts), "%lld", now + 400);
	auth_signature((const uint8_t *)FX_SECRET, strlen(FX_SECRET), body,
	    strlen(body), FX_NONCE, ts, sig, sizeof(sig));
	expect_sig_fail(a, body, strlen(body), sig, FX_NONCE, ts, NULL,
	    "signature timestamp in the future");
	expect_sig_ok(off, body, strlen(body), sig, FX_NONCE, ts, NULL);
	/* Milliseconds are far in the future. */
	snprintf(ts, sizeof(ts), "%lld", now * 1000);
	expect_sig_fail(a, body, strlen(body), sig, FX_NONCE, ts, NULL,
	    "signature timestamp in the future");
	expect_sig_fail(a, body, strlen(body), sig, FX_NONCE, "12ab", NULL,
	    "signature timestamp invalid");
	expect_sig_fail(a, body, strlen(body), sig, FX_NONCE, "-5", NULL,
	    "signature timestamp invalid");
	expect_sig_fail(a, body, strlen(body), sig, FX_NONCE,
	    "99999999999999999999999", NULL, "signature timestamp invalid");
	/* Without the skew check the timestamp is only signed text. */
	expect_sig_fail(off, body, strlen(body), sig, FX_NONCE, "12ab", NULL,
	    "signature mismatch");
	auth_unref(a);
	auth_unref(off);
}
END_TEST

/*
 * Base64: only the canonical, padded encoding of 32 bytes.  The last
 * character of FX_SIG is 'I' (001000): its two low bits are padding, so
 * 'J' decodes to the same bytes with a lenient decoder.
 */
START_TEST(test_auth_base64_edges)
{
	static const char	*bad[] = {
		"kelauF76dq/nLY4k+mjIV9/Oy+K6D2bd5JM1+d2O+KI",	/* no '=' */
		FX_SIG "=",
		FX_SIG "\n",
		(" " FX_SIG),
		"kelauF76dq/nLY4k+mjIV9/Oy+K6D2bd5JM1+d2O+KJ=",	/* stray bit */
		"kelauF76dq/nLY4k+mjIV9/Oy+K6D2bd5JM1+d2O+KL=",
		"kelauF76dq_nLY4k-mjIV9_Oy-K6D2bd5JM1-d2O-KI=",	/* base64url */
		"kelauF76dq/nLY4k+mjIV9/Oy+K6D2bd5JM1+d2O+K==",
		"kelauF76dq/nLY4k+mjIV9/Oy+K6 2bd5JM1+d2O+KI=",
		"kelauF76dq/nLY4k\n+mjIV9/Oy+K6D2bd5JM1+d2O+KI=",
		/* 31 and 33 bytes */
		"kelauF76dq/nLY4k+mjIV9/Oy+K6D2bd5JM1+d2O+A==",
		"kelauF76dq/nLY4k+mjIV9/Oy+K6D2bd5JM1+d2O+KIA",
		"kelauF76dq/nLY4k+mjIV9/Oy+K6D2bd5JM1+d2O+KIAAA==",
		"====",
		"!",
		"a",
	};
	struct buf		*body = fixture_read(FX_BODY);
	struct auth		*a = sig_auth(FX_SECRET, NULL, 0);
	size_t			 i;

	for (i = 0; i < nitems(bad); i++)
		expect_sig_fail(a, body->data, body->len, bad[i], FX_NONCE,
		    FX_TS, NULL, "signature mismatch");
	expect_sig_ok(a, body->data, body->len, FX_SIG, FX_NONCE, FX_TS,
	    NULL);
	auth_unref(a);
	buf_free(body);
}
END_TEST

START_TEST(test_auth_equal)
{
	uint8_t	a[64], b[64];

	memset(a, 0x5a, sizeof(a));
	memcpy(b, a, sizeof(b));
	ck_assert(auth_equal(a, b, sizeof(a)));
	ck_assert(auth_equal(a, b, 0));
	ck_assert(auth_equal("x", "y", 0));
	b[63] ^= 0x80;
	ck_assert(!auth_equal(a, b, sizeof(a)));
	ck_assert(auth_equal(a, b, 63));
	b[63] ^= 0x80;
	b[0] ^= 0x01;
	ck_assert(!auth_equal(a, b, sizeof(a)));
	ck_assert(!auth_equal(a, b, 1));
	ck_assert(auth_equal(a + 1, b + 1, 63));
}
END_TEST

/*
 * Addresses.
 */

struct cidr_case {
	const char	*text;
	int		 family;
	const char	*addr;		/* after masking */
	unsigned int	 prefix;
};

START_TEST(test_auth_cidr_parse)
{
	static const struct cidr_case	 good[] = {
		{ "10.0.0.0/8",		AF_INET,  "10.0.0.0",		8 },
		{ "10.1.2.3/8",		AF_INET,  "10.0.0.0",		8 },
		{ "192.0.2.1",		AF_INET,  "192.0.2.1",		32 },
		{ "192.0.2.1/32",	AF_INET,  "192.0.2.1",		32 },
		{ "0.0.0.0/0",		AF_INET,  "0.0.0.0",		0 },
		{ "255.255.255.255/0",	AF_INET,  "0.0.0.0",		0 },
		{ "10.200.0.0/9",	AF_INET,  "10.128.0.0",		9 },
		{ "2001:db8::/32",	AF_INET6, "2001:db8::",		32 },
		{ "2001:db8:ffff::/33",	AF_INET6, "2001:db8:8000::",	33 },
		{ "2001:db8::1",	AF_INET6, "2001:db8::1",	128 },
		{ "2001:db8::1/128",	AF_INET6, "2001:db8::1",	128 },
		{ "::/0",		AF_INET6, "::",			0 },
		{ "::1",		AF_INET6, "::1",		128 },
		{ "::ffff:192.0.2.0/120", AF_INET, "192.0.2.0",		24 },
		{ "::ffff:192.0.2.7",	AF_INET,  "192.0.2.7",		32 },
		{ "::ffff:0:0/96",	AF_INET,  "0.0.0.0",		0 },
		{ "::ffff:0:0/95",	AF_INET6, "::fffe:0:0",		95 },
	};
	static const char		*bad[] = {
		"", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/08",
		"10.0.0.0/8x", "10.0.0.0/ 8", " 10.0.0.0/8", "10.0.0.0/8 ",
		"10.0.0", "1.2.3.4.5", "10.0.0.0/-1", "10.0.0.0/+8",
		"fe80::1%eth0", "010.0.0.1", "10.0.0.0//8", "10.0.0.0/8/8",
		"localhost", "[::1]", "[::1]/128", "10.0.0.0/4294967304",
		"2001:db8::/0128", "256.0.0.0/8", "2001:db8:::/32",
	};
	struct auth_cidr		 c;
	uint8_t				 want[16];
	size_t				 i;

	for (i = 0; i < nitems(good); i++) {
		memset(want, 0, sizeof(want));
		ck_assert_int_eq(inet_pton(good[i].family, good[i].addr,
		    want), 1);
		ck_assert_msg(auth_cidr_parse(good[i].text, &c) == 0,
		    "%s", good[i].text);
		ck_assert_int_eq(c.family, good[i].family);
		ck_assert_uint_eq(c.prefix, good[i].prefix);
		ck_assert_msg(memcmp(c.addr, want, good[i].family == AF_INET ?
		    4 : 16) == 0, "%s: address", good[i].text);
	}
	for (i = 0; i < nitems(bad); i++)
		ck_assert_msg(auth_cidr_parse(bad[i], &c) == -1,
		    "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(auth_cidr_parse(NULL, &c), -1);
}
END_TEST

struct match_case {
	const char	*cidr;
	const char	*addr;
	bool		 match;
};

START_TEST(test_auth_cidr_match)
{
	static const struct match_case	 cases[] = {
		{ "10.0.0.0/8",		"10.255.255.255",	true },
		{ "10.0.0.0/8",		"10.0.0.0",		true },
		{ "10.0.0.0/8",		"11.0.0.0",		false },
		{ "10.0.0.0/8",		"9.255.255.255",	false },
		{ "10.0.0.0/8",		"::ffff:10.1.2.3",	true },
		{ "10.0.0.0/8",		"::ffff:11.1.2.3",	false },
		{ "10.0.0.0/8",		"::a01:203",		false },
		{ "10.128.0.0/9",	"10.200.0.0",		true },
		{ "10.128.0.0/9",	"10.100.0.0",		false },
		{ "0.0.0.0/0",		"198.51.100.1",		true },
		{ "0.0.0.0/0",		"::ffff:198.51.100.1",	true },
		{ "0.0.0.0/0",		"2001:db8::1",		false },
		{ "::/0",		"2001:db8::1",		true },
		{ "::/0",		"::1",			true },
		{ "::/0",		"198.51.100.1",		false },
		{ "::/0",		"::ffff:198.51.100.1",	false },
		{ "192.0.2.1",		"192.0.2.1",		true },
		{ "192.0.2.1",		"192.0.2.2",		false },
		{ "192.0.2.1/32",	"::ffff:192.0.2.1",	true },
		{ "2001:db8::1",	"2001:db8::1",		true },
		{ "2001:db8::1/128",	"2001:db8::2",		false },
		{ "2001:db8::/32",	"2001:db8:ffff::1",	true },
		{ "2001:db8::/32",	"2001:db9::",		false },
		{ "2001:db8::/32",	"192.0.2.1",		false },
		{ "::ffff:192.0.2.0/120", "192.0.2.200",	true },
		{ "::ffff:192.0.2.0/120", "::ffff:192.0.2.200",	true },
		{ "::ffff:192.0.2.0/120", "192.0.3.1",		false },
	};
	struct sockaddr_storage		 ss;
	struct sockaddr_un		 sun;
	struct auth_cidr		 c;
	size_t				 i;

	for (i = 0; i < nitems(cases); i++) {
		ck_assert_int_eq(auth_cidr_parse(cases[i].cidr, &c), 0);
		fixture_sockaddr(cases[i].addr, &ss);
		ck_assert_msg(auth_cidr_match(&c, (struct sockaddr *)&ss) ==
		    cases[i].match, "%s in %s", cases[i].addr, cases[i].cidr);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_int_eq(auth_cidr_parse("0.0.0.0/0", &c), 0);
	ck_assert(!auth_cidr_match(&c, (struct sockaddr *)&sun));
	ck_assert(!auth_cidr_match(&c, NULL));
}
END_TEST

struct xff_case {
	const char	*peer;
	const char	*xff;
	const char	*want;
};

START_TEST(test_auth_forwarded_for)
{
	static const struct xff_case	 cases[] = {
		{ "127.0.0.1",	NULL,			"127.0.0.1" },
		{ "127.0.0.1",	"",			"127.0.0.1" },
		{ "127.0.0.1",	"203.0.113.5",		"203.0.113.5" },
		{ "127.0.0.1",	"203.0.113.5, 10.1.2.3", "203.0.113.5" },
		/* What the client wrote itself is not believed. */
		{ "127.0.0.1",	"198.51.100.7,203.0.113.5", "203.0.113.5" },
		{ "127.0.0.1",	"203.0.113.9, 198.51.100.7",
		    "198.51.100.7" },
		/* Only a trusted proxy is believed. */
		{ "192.0.2.1",	"203.0.113.5",		"192.0.2.1" },
		{ "203.0.113.5", "10.0.0.1",		"203.0.113.5" },
		/* All trusted: the leftmost. */
		{ "127.0.0.1",	"10.0.0.1, 10.0.0.2",	"10.0.0.1" },
		/* A bad entry: the last address reached. */
		{ "127.0.0.1",	"garbage, 10.0.0.2",	"10.0.0.2" },
		{ "127.0.0.1",	"203.0.113.5, unknown",	"127.0.0.1" },
		{ "127.0.0.1",	"203.0.113.5,",		"127.0.0.1" },
		{ "127.0.0.1",	"203.0.113.5:4711",	"127.0.0.1" },
		{ "127.0.0.1",	"203.0.113.5,,10.0.0.2", "10.0.0.2" },
		{ "127.0.0.1",	",10.0.0.2",		"10.0.0.2" },
		{ "127.0.0.1",	"  203.0.113.5\t",	"203.0.113.5" },
		{ "::1",	"[2001:db8::7]",	"2001:db8::7" },
		{ "::1",	"2001:db8::7",		"2001:db8::7" },
		{ "::1",	"[203.0.113.5]",	"::1" },
		{ "::ffff:127.0.0.1", "::ffff:203.0.113.5", "203.0.113.5" },
		{ "::ffff:192.0.2.1", NULL,		"192.0.2.1" },
		{ "2001:db8::1", NULL,			"2001:db8::1" },
	};
	static char			*proxies[] = {
		"127.0.0.1", "10.0.0.0/8", "::1", NULL
	};
	static char			*allow[] = { "203.0.113.0/24", NULL };
	struct config			 cfg;
	struct auth			*a;
	struct auth_request		 r;
	struct auth_failure		 f;
	struct sockaddr_storage		 ss;
	struct auth_cidr		 c;
	char				 out[INET6_ADDRSTRLEN];
	size_t				 i;
	bool				 allowed;

	memset(&cfg, 0, sizeof(cfg));
	cfg.trusted_proxies = proxies;
	cfg.ntrusted_proxies = 3;
	cfg.allow_from = allow;
	cfg.nallow_from = 1;
	a = must_new(&cfg);
	ck_assert(auth_enabled(a));
	ck_assert_int_eq(auth_cidr_parse(allow[0], &c), 0);
	for (i = 0; i < nitems(cases); i++) {
		memset(&r, 0, sizeof(r));
		fixture_sockaddr(cases[i].peer, &ss);
		r.peer = (struct sockaddr *)&ss;
		r.forwarded_for = cases[i].xff;
		auth_client_address(a, &r, out, sizeof(out));
		ck_assert_msg(strcmp(out, cases[i].want) == 0,
		    "peer %s xff \"%s\": %s, want %s", cases[i].peer,
		    cases[i].xff != NULL ? cases[i].xff : "(null)", out,
		    cases[i].want);
		allowed = strncmp(cases[i].want, "203.0.113.", 10) == 0;
		ck_assert_int_eq(auth_check_headers(a, &r, &f),
		    allowed ? AUTH_OK : AUTH_FORBIDDEN);
		if (allowed)
			ck_assert_ptr_null(f.reason);
		else
			ck_assert_str_eq(f.reason,
			    "source address not allowed");
		ck_assert_ptr_null(f.challenge);
	}
	/* Too small a buffer: nothing half-written. */
	fixture_sockaddr("2001:db8::1", &ss);
	memset(&r, 0, sizeof(r));
	r.peer = (struct sockaddr *)&ss;
	auth_client_address(a, &r, out, 5);
	ck_assert_str_eq(out, "");
	/* Not an IP peer. */
	r.peer = NULL;
	auth_client_address(a, &r, out, sizeof(out));
	ck_assert_str_eq(out, "unknown");
	ck_assert_int_eq(auth_check_headers(a, &r, &f), AUTH_FORBIDDEN);
	auth_unref(a);

	/* Without trusted proxies, X-Forwarded-For is never read. */
	cfg.trusted_proxies = NULL;
	cfg.ntrusted_proxies = 0;
	a = must_new(&cfg);
	fixture_sockaddr("127.0.0.1", &ss);
	r.peer = (struct sockaddr *)&ss;
	r.forwarded_for = "203.0.113.5";
	auth_client_address(a, &r, out, sizeof(out));
	ck_assert_str_eq(out, "127.0.0.1");
	ck_assert_int_eq(auth_check_headers(a, &r, &f), AUTH_FORBIDDEN);
	auth_unref(a);
}
END_TEST

/* The token endpoint asks only for the source and certificate part. */
START_TEST(test_auth_check_source)
{
	static char		*allow[] = { "203.0.113.0/24", NULL };
	struct config		 cfg;
	struct auth		*a;
	struct auth_request	 r;
	struct auth_failure	 f;
	struct sockaddr_storage	 ss;

	memset(&cfg, 0, sizeof(cfg));
	cfg.allow_from = allow;
	cfg.nallow_from = 1;
	cfg.has_basic = true;
	cfg.basic_username = "sinch";
	cfg.basic_password = "pw";
	a = must_new(&cfg);
	memset(&r, 0, sizeof(r));
	fixture_sockaddr("203.0.113.1", &ss);
	r.peer = (struct sockaddr *)&ss;
	ck_assert_int_eq(auth_check_source(a, &r, &f), AUTH_OK);
	ck_assert_ptr_null(f.reason);
	ck_assert_int_eq(auth_check_headers(a, &r, &f), AUTH_UNAUTHORIZED);
	ck_assert_str_eq(f.reason, "basic credentials missing");
	r.authorization = "Basic c2luY2g6cHc=";		/* sinch:pw */
	ck_assert_int_eq(auth_check_headers(a, &r, &f), AUTH_OK);
	fixture_sockaddr("198.51.100.1", &ss);
	ck_assert_int_eq(auth_check_source(a, &r, &f), AUTH_FORBIDDEN);
	ck_assert_str_eq(f.reason, "source address not allowed");
	ck_assert_ptr_null(f.challenge);
	ck_assert_int_eq(auth_check_headers(a, &r, &f), AUTH_FORBIDDEN);
	ck_assert_str_eq(f.reason, "source address not allowed");
	auth_unref(a);
}
END_TEST

START_TEST(test_auth_bad_cidr_config)
{
	static char	*allow[] = { "203.0.113.0/24", "10.0.0.0/33", NULL };
	static char	*proxies[] = { "localhost", NULL };
	struct config	 cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.allow_from = allow;
	cfg.nallow_from = 2;
	ck_assert_str_eq(must_fail(&cfg), "auth.allow_from.[1]: "
	    "\"10.0.0.0/33\" is not an address or CIDR");
	memset(&cfg, 0, sizeof(cfg));
	cfg.trusted_proxies = proxies;
	cfg.ntrusted_proxies = 1;
	ck_assert_str_eq(must_fail(&cfg), "auth.trusted_proxies.[0]: "
	    "\"localhost\" is not an address or CIDR");
}
END_TEST

/*
 * Nothing configured.
 */

START_TEST(test_auth_nothing_configured)
{
	struct config		 cfg;
	struct auth		*a;
	struct auth_request	 r;
	struct auth_failure	 f = { "unset", "unset" };
	struct sockaddr_storage	 ss;
	struct buf		 out;
	const char		*chal = "unset";
	const char		*form = GRANT "&client_id=a&client_secret=b";

	memset(&cfg, 0, sizeof(cfg));
	/* Named files of checks that are off are not read. */
	cfg.sig_secret_files = (char *[]){ "/nonexistent/secret", NULL };
	cfg.nsig_secret_files = 1;
	cfg.basic_password_file = "/nonexistent/password";
	cfg.oauth2_key_file = "/nonexistent/key";
	a = must_new(&cfg);
	ck_assert(!auth_enabled(a));
	ck_assert(!auth_has_signature(a));
	ck_assert(!auth_has_oauth2(a));
	memset(&r, 0, sizeof(r));
	fixture_sockaddr("198.51.100.1", &ss);
	r.peer = (struct sockaddr *)&ss;
	r.authorization = "Basic Z2FyYmFnZQ==";
	ck_assert_int_eq(auth_check_headers(a, &r, &f), AUTH_OK);
	ck_assert_ptr_null(f.reason);
	ck_assert_ptr_null(f.challenge);
	f.reason = "unset";
	ck_assert_int_eq(auth_check_signature(a, &r, "x", 1, &f), AUTH_OK);
	ck_assert_ptr_null(f.reason);
	/* No client can get a token. */
	buf_init(&out);
	ck_assert_int_eq(auth_token_endpoint(a, NULL, FORM, form,
	    strlen(form), &out, &chal), 401);
	ck_assert_ptr_null(chal);
	buf_fini(&out);
	auth_unref(a);
}
END_TEST

/*
 * Basic.
 */

static struct auth *
basic_auth(void)
{
	struct config	cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.has_basic = true;
	cfg.basic_username = "sinch";
	cfg.basic_password = "s3cret:with:colons";
	return must_new(&cfg);
}

/* Checks "Basic base64(cred)", or authz itself when cred is NULL. */
static void
expect_basic(const struct auth *a, const char *cred, const char *authz,
    const char *reason)
{
	struct auth_request	r;
	struct auth_failure	f;
	char			h[256];

	if (cred != NULL) {
		memcpy(h, "Basic ", 6);
		b64_of(cred, h + 6, sizeof(h) - 6);
		authz = h;
	}
	memset(&r, 0, sizeof(r));
	r.authorization = authz;
	if (reason == NULL) {
		ck_assert_msg(auth_check_headers(a, &r, &f) == AUTH_OK,
		    "%s: %s", authz, f.reason);
		ck_assert_ptr_null(f.challenge);
	} else {
		ck_assert_msg(auth_check_headers(a, &r, &f) ==
		    AUTH_UNAUTHORIZED, "%s accepted", authz != NULL ? authz :
		    "(null)");
		ck_assert_str_eq(f.reason, reason);
		ck_assert_str_eq(f.challenge, CH_BASIC);
	}
}

START_TEST(test_auth_basic)
{
	struct auth	*a = basic_auth();

	ck_assert(auth_enabled(a));
	expect_basic(a, "sinch:s3cret:with:colons", NULL, NULL);
	/* The scheme in any case, more than one space. */
	expect_basic(a, NULL, "basic c2luY2g6czNjcmV0OndpdGg6Y29sb25z",
	    NULL);
	expect_basic(a, NULL, "BASIC   c2luY2g6czNjcmV0OndpdGg6Y29sb25z",
	    NULL);
	expect_basic(a, "sinch:s3cret:with:colonz", NULL,
	    "basic credentials wrong");
	expect_basic(a, "sinch:s3cret:with:colons ", NULL,
	    "basic credentials wrong");
	expect_basic(a, "sinch:s3cret:with:colon", NULL,
	    "basic credentials wrong");
	expect_basic(a, "sinch:", NULL, "basic credentials wrong");
	expect_basic(a, "Sinch:s3cret:with:colons", NULL,
	    "basic credentials wrong");
	expect_basic(a, "sinchx:s3cret:with:colons", NULL,
	    "basic credentials wrong");
	expect_basic(a, ":s3cret:with:colons", NULL,
	    "basic credentials wrong");
	expect_basic(a, "sinch", NULL, "basic credentials wrong");
	expect_basic(a, "sinchs3cret", NULL, "basic credentials wrong");
	expect_basic(a, "", NULL, "basic credentials missing");
	/* Malformed Base64. */
	expect_basic(a, NULL, "Basic c2luY2g6czNjcmV0OndpdGg6Y29sb25z=",
	    "basic credentials wrong");
	expect_basic(a, NULL, "Basic c2luY2g6czNjcmV0OndpdGg6Y29sb25",
	    "basic credentials wrong");
	expect_basic(a, NULL, "Basic c2luY2g6czNjcmV0Ond pdGg6Y29sb25z",
	    "basic credentials wrong");
	expect_basic(a, NULL, "Basic !!!!", "basic credentials wrong");
	expect_basic(a, NULL, "Basic c2luY2g6czNjcmV0OndpdGg6Y29sb25z "
	    "extra", "basic credentials wrong");
	/* Not Basic at all. */
	expect_basic(a, NULL, NULL, "basic credentials missing");
	expect_basic(a, NULL, "", "basic credentials missing");
	expect_basic(a, NULL, "Basic", "basic credentials missing");
	expect_basic(a, NULL, "Basic ", "basic credentials missing");
	expect_basic(a, NULL, "Bearer c2luY2g6czNjcmV0OndpdGg6Y29sb25z",
	    "basic credentials missing");
	expect_basic(a, NULL, "Basicc2luY2g6czNjcmV0OndpdGg6Y29sb25z",
	    "basic credentials missing");
	expect_basic(a, NULL, "Digest username=\"sinch\"",
	    "basic credentials missing");
	auth_unref(a);
}
END_TEST

START_TEST(test_auth_basic_config)
{
	struct config	cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.has_basic = true;
	cfg.basic_username = "sin:ch";
	cfg.basic_password = "x";
	ck_assert_str_eq(must_fail(&cfg),
	    "auth.basic.username: must not contain ':'");
	cfg.basic_username = "sinch";
	cfg.basic_password = NULL;
	ck_assert_str_eq(must_fail(&cfg),
	    "auth.basic: want password or password_file, missing");
	cfg.basic_password = "";
	ck_assert_str_eq(must_fail(&cfg), "auth.basic.password: empty secret");
	cfg.basic_password = "x";
	cfg.has_oauth2 = true;
	ck_assert_str_eq(must_fail(&cfg), "auth: basic and oauth2 both use "
	    "the Authorization header; choose one");
}
END_TEST

/*
 * Tokens.
 */

/* A token from raw payload bytes, MACed like auth.c does. */
static void
raw_token(const uint8_t *payload, size_t len, const char *key,
    char *out)
{
	struct base64_encode_ctx	e;
	struct hmac_sha256_ctx		h;
	uint8_t				mac[32];
	size_t				n, m;

	base64url_encode_init(&e);
	n = base64_encode_update(&e, out, len, payload);
	n += base64_encode_final(&e, out + n);
	while (out[n - 1] == '=')
		n--;
	hmac_sha256_set_key(&h, strlen(key), (const uint8_t *)key);
	hmac_sha256_update(&h, n, (const uint8_t *)out);
	hmac_sha256_digest(&h, sizeof(mac), mac);
	out[n++] = '.';
	base64url_encode_init(&e);
	m = base64_encode_update(&e, out + n, sizeof(mac), mac);
	m += base64_encode_final(&e, out + n + m);
	while (out[n + m - 1] == '=')
		m--;
	out[n + m] = '\0';
}

START_TEST(test_auth_token_round_trip)
{
	const uint8_t	*key = (const uint8_t *)KEY;
	char		 tok[256], id[129], longid[130];
	long long	 exp = 1800000000;
	size_t		 i;

	ck_assert_int_eq(auth_token_make(key, KEY_LEN, "sinch", exp, tok,
	    sizeof(tok)), 0);
	/* Short and needing no quoting. */
	ck_assert_uint_lt(strlen(tok), 80);
	for (i = 0; tok[i] != '\0'; i++)
		ck_assert_msg(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-_.", tok[i]) != NULL,
		    "%s", tok);
	ck_assert_int_eq(auth_token_check(key, KEY_LEN, tok, exp - 1, id,
	    sizeof(id)), 0);
	ck_assert_str_eq(id, "sinch");
	ck_assert_int_eq(auth_token_check(key, KEY_LEN, tok, 0, id,
	    sizeof(id)), 0);
	/* Expired at the second of its expiry. */
	ck_assert_int_eq(auth_token_check(key, KEY_LEN, tok, exp, id,
	    sizeof(id)), -1);
	ck_assert_int_eq(auth_token_check(key, KEY_LEN, tok, exp + 3600, id,
	    sizeof(id)), -1);
	/* The id and its NUL must fit. */
	ck_assert_int_eq(auth_token_check(key, KEY_LEN, tok, 0, id, 5), -1);
	ck_assert_int_eq(auth_token_check(key, KEY_LEN, tok, 0, id, 6), 0);
	/* Another key. */
	ck_assert_int_eq(auth_token_check((const uint8_t *)"another key, 32 "
	    "bytes or longer.", 32, tok, 0, id, sizeof(id)), -1);
	ck_assert_int_eq(auth_token_check(key, KEY_LEN - 1, tok, 0, id,
	    sizeof(id)), -1);
	/* Ids up to 128 bytes; out too small. */
	ck_assert_int_eq(auth_token_make(key, KEY_LEN, "", exp, tok,
	    sizeof(tok)), -1);
	ck_assert_int_eq(auth_token_make(key, KEY_LEN, "sinch", exp, tok, 20),
	    -1);
	memset(longid, 'x', 129);
	longid[129] = '\0';
	ck_assert_int_eq(auth_token_make(key, KEY_LEN, longid, exp, tok,
	    sizeof(tok)), -1);
	longid[128] = '\0';
	ck_assert_int_eq(auth_token_make(key, KEY_LEN, longid, exp, tok,
	    sizeof(tok)), 0);
	ck_assert_int_eq(auth_token_check(key, KEY_LEN, tok, 0, id,
	    sizeof(id)), 0);
	ck_assert_str_eq(id, longid);
}
END_TEST

START_TEST(test_auth_token_tampered)
{
	static const char	 alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	const uint8_t		*key = (const uint8_t *)KEY;
	char			 tok[256], copy[512], id[129];
	size_t			 i, j, len;

	ck_assert_int_eq(auth_token_make(key, KEY_LEN, "sinch", 1800000000,
	    tok, sizeof(tok)), 0);
	len = strlen(tok);
	/* Payload and MAC alike, every character by every other. */
	for (i = 0; i < len; i++) {
		if (tok[i] == '.')
			continue;
		for (j = 0; alphabet[j] != '\0'; j++) {
			if (alphabet[j] == tok[i])
				continue;
			memcpy(copy, tok, len + 1);
			copy[i] = alphabet[j];
			ck_assert_msg(auth_token_check(key, KEY_LEN, copy, 0,
			    id, sizeof(id)) == -1, "accepted %s", copy);
		}
	}
	/* Cut or grown at either end. */
	ck_assert_int_eq(auth_token_check(key, KEY_LEN, tok + 1, 0, id,
	    sizeof(id)), -1);
	memcpy(copy, tok, len + 1);
	copy[len - 1] = '\0';
	ck_assert_int_eq(auth_token_check(key, KEY_LEN, copy, 0, id,
	    sizeof(id)), -1);
	snprintf(copy, sizeof(copy), "%s=", tok);
	ck_assert_int_eq(auth_token_check(key, KEY_LEN, copy, 0, id,
	    sizeof(id)), -1);
	snprintf(copy, sizeof(copy), "%sA", tok);
	ck_assert_int_eq(auth_token_check(key, KEY_LEN, copy, 0, id,
	    sizeof(id)), -1);
	snprintf(copy, sizeof(copy), "A%s", tok);
	ck_assert_int_eq(auth_token_check(key, KEY_LEN, copy, 0, id,
	    sizeof(id)), -1);
	snprintf(copy, sizeof(copy), "%s.%s", tok, strchr(tok, '.') + 1);
	ck_assert_int_eq(auth_token_check(key, KEY_LEN, copy, 0, id,
	    sizeof(id)), -1);
	ck_assert_int_eq(auth_token_check(key, KEY_LEN, tok, 0, id,
	    sizeof(id)), 0);
}
END_TEST

START_TEST(test_auth_token_garbage)
{
	static const char	*garbage[] = {
		"", ".", "..", "abc", "abc.", ".abc", "a.b.c", "Bearer x",
		"AQAAAABrSdIAc2luY2g.",
		"AQAAAABrSdIAc2luY2g." A43,
		"AQAAAABrSdIAc2luY2g=." A43,
		"%%%%.%%%%",
	};
	const uint8_t		*key = (const uint8_t *)KEY;
	uint8_t			 payload[64];
	char			 tok[256], id[129];
	size_t			 i;

	for (i = 0; i < nitems(garbage); i++)
		ck_assert_msg(auth_token_check(key, KEY_LEN, garbage[i], 0,
		    id, sizeof(id)) == -1, "accepted %s", garbage[i]);
	ck_assert_int_eq(auth_token_check(key, KEY_LEN, NULL, 0, id,
	    sizeof(id)), -1);

	/* Well MACed, but not a payload this version writes. */
	memset(payload, 0, sizeof(payload));
	payload[0] = 1;
	payload[4] = 0x7f;		/* far in the future */
	memcpy(payload + 9, "sinch", 5);
	raw_token(payload, 14, KEY, tok);
	ck_assert_int_eq(auth_token_check(key, KEY_LEN, tok, 0, id,
	    sizeof(id)), 0);
	ck_assert_str_eq(id, "sinch");
	payload[0] = 2;
	raw_token(payload, 14, KEY, tok);
	ck_assert_int_eq(auth_token_check(key, KEY_LEN, tok, 0, id,
	    sizeof(id)), -1);
	payload[0] = 1;
	raw_token(payload, 9, KEY, tok);	/* no client id */
	ck_assert_int_eq(auth_token_check(key, KEY_LEN, tok, 0, id,
	    sizeof(id)), -1);
	payload[11] = '\0';			/* "si\0ch" */
	raw_token(payload, 14, KEY, tok);
	ck_assert_int_eq(auth_token_check(key, KEY_LEN, tok, 0, id,
	    sizeof(id)), -1);
}
END_TEST

/*
 * OAuth 2.0: bearer tokens in callbacks and the token endpoint.
 */

static struct oauth2_client_config	oauth_clients[] = {
	{ "sinch", "client-secret", NULL },
	{ "sinch.client", "p@ss:w rd+", NULL },
};

static struct auth *
oauth_auth(void)
{
	struct config	cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.has_oauth2 = true;
	cfg.oauth2_clients = oauth_clients;
	cfg.noauth2_clients = nitems(oauth_clients);
	cfg.oauth2_key_file = (char *)fixture_write("oauth-key", KEY "\n");
	cfg.oauth2_token_ttl_s = 600;
	return must_new(&cfg);
}

/* Calls the endpoint; *json is the answer, parsed. */
static int
endpoint(const struct auth *a, const char *authz, const char *ct,
    const char *body, json_t **json, const char **chal)
{
	struct buf	out;
	json_error_t	jerr;
	int		status;

	buf_init(&out);
	*chal = "unset";
	status = auth_token_endpoint(a, authz, ct, body, strlen(body), &out,
	    chal);
	*json = json_loadb(out.data, out.len, 0, &jerr);
	ck_assert_msg(*json != NULL, "%d %.*s: %s", status, (int)out.len,
	    out.data != NULL ? out.data : "", jerr.text);
	ck_assert(json_is_object(*json));
	buf_fini(&out);
	return status;
}

static void
expect_endpoint_error(const struct auth *a, const char *authz,
    const char *ct, const char *body, int want_status, const char *error,
    const char *want_chal)
{
	json_t		*j;
	const char	*chal;
	int		 status = endpoint(a, authz, ct, body, &j, &chal);

	ck_assert_msg(status == want_status, "%s: status %d, want %d", body,
	    status, want_status);
	ck_assert_str_eq(json_string_value(json_object_get(j, "error")),
	    error);
	ck_assert(json_is_string(json_object_get(j, "error_description")));
	ck_assert_uint_eq(json_object_size(j), 2);
	if (want_chal == NULL)
		ck_assert_ptr_null(chal);
	else
		ck_assert_str_eq(chal, want_chal);
	json_decref(j);
}

/* Expects a token for client id; copies it to tok. */
static void
expect_token(const struct auth *a, const char *authz, const char *ct,
    const char *body, const char *id, char *tok, size_t toklen)
{
	json_t		*j;
	const char	*chal, *t;
	char		 got[129];
	int		 status = endpoint(a, authz, ct, body, &j, &chal);

	ck_assert_msg(status == 200, "%s: status %d", body, status);
	ck_assert_ptr_null(chal);
	ck_assert_uint_eq(json_object_size(j), 3);
	ck_assert_str_eq(json_string_value(json_object_get(j, "token_type")),
	    "Bearer");
	ck_assert(json_is_integer(json_object_get(j, "expires_in")));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "expires_in")),
	    600);
	t = json_string_value(json_object_get(j, "access_token"));
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(auth_token_check((const uint8_t *)KEY, KEY_LEN, t,
	    (long long)time(NULL), got, sizeof(got)), 0);
	ck_assert_str_eq(got, id);
	/* It lives about token_ttl_s. */
	ck_assert_int_eq(auth_token_check((const uint8_t *)KEY, KEY_LEN, t,
	    (long long)time(NULL) + 590, got, sizeof(got)), 0);
	ck_assert_int_eq(auth_token_check((const uint8_t *)KEY, KEY_LEN, t,
	    (long long)time(NULL) + 601, got, sizeof(got)), -1);
	if (tok != NULL)
		snprintf(tok, toklen, "%s", t);
	json_decref(j);
}

static void
basic_header(const char *cred, char *h, size_t len)
{
	ck_assert_uint_gt(len, 6);
	memcpy(h, "Basic ", 6);
	b64_of(cred, h + 6, len - 6);
}

START_TEST(test_auth_token_endpoint_success)
{
	struct auth	*a = oauth_auth();
	char		 h[256];

	ck_assert(auth_enabled(a));
	ck_assert(auth_has_oauth2(a));
	expect_token(a, NULL, FORM, GRANT "&client_id=sinch"
	    "&client_secret=client-secret", "sinch", NULL, 0);
	/* Any order, percent-encoding, '+', unknown and empty parameters. */
	expect_token(a, NULL, "Application/X-WWW-Form-URLencoded; "
	    "charset=UTF-8", "client_secret=p%40ss%3aw+rd%2B&foo=bar&scope="
	    "&client_id=sinch%2Eclient&grant_type=client_credentials&",
	    "sinch.client", NULL, 0);
	expect_token(a, NULL, FORM, "grant_type=&" GRANT "&client_id=sinch"
	    "&client_secret=client-secret&scope=sms", "sinch", NULL, 0);
	/* Basic, each part form-urlencoded inside (RFC 6749 2.3.1). */
	basic_header("sinch:client-secret", h, sizeof(h));
	expect_token(a, h, FORM, GRANT, "sinch", NULL, 0);
	basic_header("sinch.client:p%40ss%3Aw+rd%2B", h, sizeof(h));
	expect_token(a, h, FORM, GRANT, "sinch.client", NULL, 0);
	/* Unencoded: only '+' differs, and it means a space. */
	basic_header("sinch.client:p@ss:w rd%2B", h, sizeof(h));
	expect_token(a, h, FORM, GRANT, "sinch.client", NULL, 0);
	auth_unref(a);
}
END_TEST

START_TEST(test_auth_token_endpoint_errors)
{
	struct auth	*a = oauth_auth();
	char		 h[256];
	const char	*form = GRANT "&client_id=sinch"
			    "&client_secret=client-secret";

	/* Content type. */
	expect_endpoint_error(a, NULL, NULL, form, 400, "invalid_request",
	    NULL);
	expect_endpoint_error(a, NULL, "application/json", form, 400,
	    "invalid_request", NULL);
	expect_endpoint_error(a, NULL, FORM "x", form, 400,
	    "invalid_request", NULL);
	expect_endpoint_error(a, NULL, "multipart/form-data", form, 400,
	    "invalid_request", NULL);
	/* The form. */
	expect_endpoint_error(a, NULL, FORM, GRANT "&client_id=%zz", 400,
	    "invalid_request", NULL);
	expect_endpoint_error(a, NULL, FORM, GRANT "&client_id=sinch%4", 400,
	    "invalid_request", NULL);
	expect_endpoint_error(a, NULL, FORM, GRANT "&client_id=a%00b", 400,
	    "invalid_request", NULL);
	expect_endpoint_error(a, NULL, FORM, "client_id=sinch"
	    "&client_secret=client-secret", 400, "invalid_request", NULL);
	expect_endpoint_error(a, NULL, FORM, "", 400, "invalid_request",
	    NULL);
	expect_endpoint_error(a, NULL, FORM, "grant_type=password"
	    "&client_id=sinch&client_secret=client-secret", 400,
	    "unsupported_grant_type", NULL);
	expect_endpoint_error(a, NULL, FORM, "grant_type=Client_Credentials"
	    "&client_id=sinch&client_secret=client-secret", 400,
	    "unsupported_grant_type", NULL);
	expect_endpoint_error(a, NULL, FORM, GRANT "&" GRANT
	    "&client_id=sinch&client_secret=client-secret", 400,
	    "invalid_request", NULL);
	expect_endpoint_error(a, NULL, FORM, GRANT "&client_id=sinch"
	    "&client_id=sinch&client_secret=client-secret", 400,
	    "invalid_request", NULL);
	expect_endpoint_error(a, NULL, FORM, GRANT "&client_id=sinch"
	    "&client_secret=client-secret&client_secret=x", 400,
	    "invalid_request", NULL);
	/* Two ways of client authentication. */
	basic_header("sinch:client-secret", h, sizeof(h));
	expect_endpoint_error(a, h, FORM, form, 400, "invalid_request", NULL);
	expect_endpoint_error(a, h, FORM, GRANT "&client_secret=x", 400,
	    "invalid_request", NULL);
	/* The client. */
	expect_endpoint_error(a, NULL, FORM, GRANT "&client_id=ghost"
	    "&client_secret=client-secret", 401, "invalid_client", NULL);
	expect_endpoint_error(a, NULL, FORM, GRANT "&client_id=sinch"
	    "&client_secret=client-secreT", 401, "invalid_client", NULL);
	expect_endpoint_error(a, NULL, FORM, GRANT "&client_id=sinch"
	    "&client_secret=p%40ss%3aw+rd%2B", 401, "invalid_client", NULL);
	expect_endpoint_error(a, NULL, FORM, GRANT "&client_id=sinch", 401,
	    "invalid_client", NULL);
	expect_endpoint_error(a, NULL, FORM, GRANT "&client_secret="
	    "client-secret", 401, "invalid_client", NULL);
	expect_endpoint_error(a, NULL, FORM, GRANT, 401, "invalid_client",
	    CH_BASIC);
	basic_header("ghost:client-secret", h, sizeof(h));
	expect_endpoint_error(a, h, FORM, GRANT, 401, "invalid_client",
	    CH_BASIC);
	basic_header("sinch:wrong", h, sizeof(h));
	expect_endpoint_error(a, h, FORM, GRANT, 401, "invalid_client",
	    CH_BASIC);
	basic_header("sinch.client:p%40ss%3Aw%2Brd%2B", h, sizeof(h));
	expect_endpoint_error(a, h, FORM, GRANT, 401, "invalid_client",
	    CH_BASIC);
	basic_header("sinch.client:p@ss:w rd+", h, sizeof(h));
	expect_endpoint_error(a, h, FORM, GRANT, 401, "invalid_client",
	    CH_BASIC);
	basic_header("sinch client-secret", h, sizeof(h));
	expect_endpoint_error(a, h, FORM, GRANT, 401, "invalid_client",
	    CH_BASIC);
	basic_header("sinch:client%zzsecret", h, sizeof(h));
	expect_endpoint_error(a, h, FORM, GRANT, 401, "invalid_client",
	    CH_BASIC);
	expect_endpoint_error(a, "Basic !!", FORM, GRANT, 401,
	    "invalid_client", CH_BASIC);
	expect_endpoint_error(a, "Bearer abc", FORM, GRANT, 401,
	    "invalid_client", CH_BASIC);
	auth_unref(a);
}
END_TEST

static void
expect_bearer(const struct auth *a, const char *authz, const char *reason)
{
	struct auth_request	r;
	struct auth_failure	f;

	memset(&r, 0, sizeof(r));
	r.authorization = authz;
	if (reason == NULL) {
		ck_assert_msg(auth_check_headers(a, &r, &f) == AUTH_OK,
		    "%s: %s", authz, f.reason);
		ck_assert_ptr_null(f.reason);
		ck_assert_ptr_null(f.challenge);
	} else {
		ck_assert_int_eq(auth_check_headers(a, &r, &f),
		    AUTH_UNAUTHORIZED);
		ck_assert_str_eq(f.reason, reason);
		ck_assert_str_eq(f.challenge, CH_BEARER);
	}
}

START_TEST(test_auth_bearer)
{
	struct auth	*a = oauth_auth();
	const uint8_t	*key = (const uint8_t *)KEY;
	char		 tok[256], h[300];
	long long	 now = (long long)time(NULL);

	expect_token(a, NULL, FORM, GRANT "&client_id=sinch"
	    "&client_secret=client-secret", "sinch", tok, sizeof(tok));
	snprintf(h, sizeof(h), "Bearer %s", tok);
	expect_bearer(a, h, NULL);
	snprintf(h, sizeof(h), "bearer  %s", tok);
	expect_bearer(a, h, NULL);
	snprintf(h, sizeof(h), "Bearer %sA", tok);
	expect_bearer(a, h, "bearer token invalid");
	snprintf(h, sizeof(h), "Bearer %s ", tok);
	expect_bearer(a, h, "bearer token invalid");
	expect_bearer(a, "Bearer garbage", "bearer token invalid");
	/* Expired. */
	ck_assert_int_eq(auth_token_make(key, KEY_LEN, "sinch", now - 1, tok,
	    sizeof(tok)), 0);
	snprintf(h, sizeof(h), "Bearer %s", tok);
	expect_bearer(a, h, "bearer token expired");
	/* Genuine, but its client is gone. */
	ck_assert_int_eq(auth_token_make(key, KEY_LEN, "ghost", now + 60, tok,
	    sizeof(tok)), 0);
	snprintf(h, sizeof(h), "Bearer %s", tok);
	expect_bearer(a, h, "bearer token invalid");
	/* Under another key. */
	ck_assert_int_eq(auth_token_make((const uint8_t *)"another key of "
	    "at least 32 bytes..", 32, "sinch", now + 60, tok, sizeof(tok)),
	    0);
	snprintf(h, sizeof(h), "Bearer %s", tok);
	expect_bearer(a, h, "bearer token invalid");
	/* No token: the same challenge. */
	expect_bearer(a, NULL, "bearer token missing");
	expect_bearer(a, "", "bearer token missing");
	expect_bearer(a, "Bearer", "bearer token missing");
	expect_bearer(a, "Bearer ", "bearer token missing");
	expect_bearer(a, "Basic c2luY2g6Y2xpZW50LXNlY3JldA==",
	    "bearer token missing");
	auth_unref(a);
}
END_TEST

START_TEST(test_auth_oauth2_config)
{
	struct oauth2_client_config	 both = { "x", "s", "f" };
	struct config			 cfg;
	char				 want[PATH_MAX + 128];
	const char			*err, *path;

	memset(&cfg, 0, sizeof(cfg));
	cfg.has_oauth2 = true;
	cfg.oauth2_clients = oauth_clients;
	cfg.noauth2_clients = 1;
	cfg.oauth2_token_ttl_s = 600;
	ck_assert_str_eq(must_fail(&cfg), "auth.oauth2.key_file: missing");
	/* Too short a key; its content is never quoted. */
	path = fixture_write("short-key", "topsecretkey\n");
	cfg.oauth2_key_file = (char *)path;
	err = must_fail(&cfg);
	snprintf(want, sizeof(want), "auth.oauth2.key_file: %s: 12 bytes "
	    "< 32", path);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(strstr(err, "topsecret"));
	/* 32 bytes after the newline goes. */
	cfg.oauth2_key_file = (char *)fixture_write("key31",
	    "0123456789abcdef0123456789abcde\n");
	must_fail(&cfg);
	cfg.oauth2_key_file = (char *)fixture_write("key32", KEY "\r\n");
	auth_unref(must_new(&cfg));
	cfg.oauth2_clients = &both;
	ck_assert_str_eq(must_fail(&cfg), "auth.oauth2.clients.[0]: want "
	    "secret or secret_file, not both");
	cfg.noauth2_clients = 0;
	ck_assert_str_eq(must_fail(&cfg), "auth.oauth2.clients: no client");
}
END_TEST

/*
 * Secrets from files.
 */

START_TEST(test_auth_secret_files)
{
	struct buf	*body = fixture_read(FX_BODY);
	struct config	 cfg;
	struct auth	*a;
	char		 cwd[PATH_MAX];

	memset(&cfg, 0, sizeof(cfg));
	cfg.has_signature = true;
	cfg.sig_secret_files = (char *[]){ "sig1", "sig2", NULL };
	cfg.nsig_secret_files = 2;
	fixture_write("sig1", FX_SECRET "\n");
	fixture_write("sig2", FX_SECRET2 "\r\n");
	/* Relative: in $CREDENTIALS_DIRECTORY ... */
	ck_assert_int_eq(setenv("CREDENTIALS_DIRECTORY", fixture_tmpdir(), 1),
	    0);
	a = must_new(&cfg);
	ck_assert(auth_has_signature(a));
	expect_sig_ok(a, body->data, body->len, FX_SIG, FX_NONCE, FX_TS,
	    NULL);
	expect_sig_ok(a, body->data, body->len, FX_SIG2, FX_NONCE, FX_TS,
	    NULL);
	auth_unref(a);
	/* ... or else in the working directory. */
	ck_assert_int_eq(unsetenv("CREDENTIALS_DIRECTORY"), 0);
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(fixture_tmpdir()), 0);
	a = auth_new(&cfg, NULL, 0);
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert_ptr_nonnull(a);
	expect_sig_ok(a, body->data, body->len, FX_SIG2, FX_NONCE, FX_TS,
	    NULL);
	auth_unref(a);
	/* One inline secret and one file. */
	cfg.sig_secrets = (char *[]){ FX_SECRET, NULL };
	cfg.nsig_secrets = 1;
	cfg.sig_secret_files = (char *[]){ (char *)fixture_write("sig3",
	    FX_SECRET2), NULL };
	cfg.nsig_secret_files = 1;
	a = must_new(&cfg);
	expect_sig_ok(a, body->data, body->len, FX_SIG, FX_NONCE, FX_TS,
	    NULL);
	expect_sig_ok(a, body->data, body->len, FX_SIG2, FX_NONCE, FX_TS,
	    NULL);
	auth_unref(a);
	buf_free(body);
}
END_TEST

/* A Basic password from a file holding text; cred is what must match. */
static void
expect_password_file(const char *text, const char *right,
    const char *wrong)
{
	struct config	 cfg;
	struct auth	*a;
	char		 cred[128];

	memset(&cfg, 0, sizeof(cfg));
	cfg.has_basic = true;
	cfg.basic_username = "sinch";
	cfg.basic_password_file = (char *)fixture_write("pw", text);
	a = must_new(&cfg);
	snprintf(cred, sizeof(cred), "sinch:%s", right);
	expect_basic(a, cred, NULL, NULL);
	snprintf(cred, sizeof(cred), "sinch:%s", wrong);
	expect_basic(a, cred, NULL, "basic credentials wrong");
	auth_unref(a);
}

START_TEST(test_auth_secret_trailing_newline)
{
	expect_password_file("pw", "pw", "pw\n");
	expect_password_file("pw\n", "pw", "pw\n");
	expect_password_file("pw\r\n", "pw", "pw\r");
	expect_password_file("pw\n\n", "pw\n", "pw");
	expect_password_file("pw\r\n\r\n", "pw\r\n", "pw");
	expect_password_file("pw\r", "pw\r", "pw");
	expect_password_file("pw\n\r\n", "pw\n", "pw");
	expect_password_file(" pw ", " pw ", "pw");
	expect_password_file("\npw", "\npw", "pw");
}
END_TEST

START_TEST(test_auth_secret_file_errors)
{
	struct config	 cfg;
	char		 want[PATH_MAX + 128], path[PATH_MAX];
	const char	*err;

	memset(&cfg, 0, sizeof(cfg));
	cfg.has_signature = true;
	cfg.sig_secret_files = (char *[]){ NULL, NULL };
	cfg.nsig_secret_files = 1;

	snprintf(path, sizeof(path), "%s/nope", fixture_tmpdir());
	cfg.sig_secret_files[0] = path;
	snprintf(want, sizeof(want), "auth.signature.secret_files.[0]: "
	    "unable to read %s: No such file or directory", path);
	ck_assert_str_eq(must_fail(&cfg), want);

	/* Relative to $CREDENTIALS_DIRECTORY: the error names the path. */
	ck_assert_int_eq(setenv("CREDENTIALS_DIRECTORY", fixture_tmpdir(), 1),
	    0);
	cfg.sig_secret_files[0] = "nope";
	ck_assert_str_eq(must_fail(&cfg), want);
	ck_assert_int_eq(unsetenv("CREDENTIALS_DIRECTORY"), 0);

	cfg.sig_secret_files[0] = (char *)fixture_tmpdir();
	snprintf(want, sizeof(want), "auth.signature.secret_files.[0]: "
	    "unable to read %s: Is a directory", fixture_tmpdir());
	ck_assert_str_eq(must_fail(&cfg), want);

	cfg.sig_secret_files[0] = (char *)fixture_write("empty", "");
	snprintf(want, sizeof(want), "auth.signature.secret_files.[0]: %s: "
	    "empty secret", cfg.sig_secret_files[0]);
	ck_assert_str_eq(must_fail(&cfg), want);
	cfg.sig_secret_files[0] = (char *)fixture_write("newline", "\n");
	snprintf(want, sizeof(want), "auth.signature.secret_files.[0]: %s: "
	    "empty secret", cfg.sig_secret_files[0]);
	ck_assert_str_eq(must_fail(&cfg), want);
	cfg.sig_secret_files[0] = (char *)fixture_write("crlf", "\r\n");
	must_fail(&cfg);

	/* The second of two files; the first one's content is not told. */
	cfg.sig_secret_files = (char *[]){ (char *)fixture_write("good",
	    "topsecret\n"), path, NULL };
	cfg.nsig_secret_files = 2;
	err = must_fail(&cfg);
	ck_assert_ptr_nonnull(strstr(err, "auth.signature.secret_files.[1]: "
	    "unable to read "));
	ck_assert_ptr_null(strstr(err, "topsecret"));

	/* Basic and OAuth 2.0 name their keys. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.has_basic = true;
	cfg.basic_username = "sinch";
	cfg.basic_password_file = path;
	snprintf(want, sizeof(want), "auth.basic.password_file: unable to "
	    "read %s: No such file or directory", path);
	ck_assert_str_eq(must_fail(&cfg), want);
	memset(&cfg, 0, sizeof(cfg));
	cfg.has_oauth2 = true;
	cfg.oauth2_clients = (struct oauth2_client_config[]){
		{ "sinch", NULL, path }
	};
	cfg.noauth2_clients = 1;
	cfg.oauth2_key_file = (char *)fixture_write("key", KEY);
	cfg.oauth2_token_ttl_s = 60;
	snprintf(want, sizeof(want), "auth.oauth2.clients.[0].secret_file: "
	    "unable to read %s: No such file or directory", path);
	ck_assert_str_eq(must_fail(&cfg), want);
	cfg.oauth2_clients[0].secret_file = NULL;
	cfg.oauth2_clients[0].secret = "s";
	cfg.oauth2_key_file = path;
	snprintf(want, sizeof(want), "auth.oauth2.key_file: unable to read "
	    "%s: No such file or directory", path);
	ck_assert_str_eq(must_fail(&cfg), want);

	/* Too many or no signature secrets. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.has_signature = true;
	ck_assert_str_eq(must_fail(&cfg),
	    "auth.signature: 0 secrets (want 1 or 2)");
	cfg.sig_secrets = (char *[]){ "a", "b", "c", NULL };
	cfg.nsig_secrets = 3;
	ck_assert_str_eq(must_fail(&cfg),
	    "auth.signature: 3 secrets (want 1 or 2)");
	cfg.sig_secrets = (char *[]){ "", NULL };
	cfg.nsig_secrets = 1;
	ck_assert_str_eq(must_fail(&cfg),
	    "auth.signature.secrets.[0]: empty secret");
}
END_TEST

START_TEST(test_auth_refcount)
{
	struct config	 cfg;
	struct auth	*a, *b, *c;

	memset(&cfg, 0, sizeof(cfg));
	cfg.has_basic = true;
	cfg.basic_username = "sinch";
	cfg.basic_password_file = (char *)fixture_write("pw", "secret\n");
	a = must_new(&cfg);
	b = auth_ref(a);
	c = auth_ref(b);
	ck_assert_ptr_eq(a, b);
	ck_assert_ptr_eq(b, c);
	auth_unref(a);
	auth_unref(b);
	/* Still usable through the last reference. */
	expect_basic(c, "sinch:secret", NULL, NULL);
	/* The last one frees: ASan and valgrind see no leak. */
	auth_unref(c);
	ck_assert_ptr_null(auth_ref(NULL));
	auth_unref(NULL);
}
END_TEST

/*
 * Client certificates: a real handshake over a socketpair, both ends in
 * this process and non-blocking, so the server session holds what a
 * listener's would.
 */

struct tls_pair {
	gnutls_certificate_credentials_t	 scred;
	gnutls_certificate_credentials_t	 ccred;
	gnutls_session_t			 server;
	gnutls_session_t			 client;
	int					 fd[2];
};

static const char *
data_path(const char *name)
{
	static char	path[4][PATH_MAX];
	static int	next;
	char		*p = path[next++ % 4];

	snprintf(p, PATH_MAX, "%s/tests/data/auth/%s", fixture_srcdir(), name);
	return p;
}

static void
tls_pair_open(struct tls_pair *t, const char *cert, const char *key)
{
	int	rs = GNUTLS_E_AGAIN, rc = GNUTLS_E_AGAIN, i;

	memset(t, 0, sizeof(*t));
	ck_assert_int_eq(gnutls_certificate_allocate_credentials(&t->scred),
	    0);
	ck_assert_int_eq(gnutls_certificate_set_x509_key_file(t->scred,
	    data_path("server.pem"), data_path("server.key"),
	    GNUTLS_X509_FMT_PEM), 0);
	ck_assert_int_eq(gnutls_certificate_set_x509_trust_file(t->scred,
	    data_path("ca.pem"), GNUTLS_X509_FMT_PEM), 1);
	ck_assert_int_eq(gnutls_certificate_allocate_credentials(&t->ccred),
	    0);
	if (cert != NULL)
		ck_assert_int_eq(gnutls_certificate_set_x509_key_file(t->ccred,
		    data_path(cert), data_path(key), GNUTLS_X509_FMT_PEM), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, t->fd), 0);
	ck_assert_int_ne(fcntl(t->fd[0], F_SETFL, O_NONBLOCK), -1);
	ck_assert_int_ne(fcntl(t->fd[1], F_SETFL, O_NONBLOCK), -1);

	ck_assert_int_eq(gnutls_init(&t->server, GNUTLS_SERVER |
	    GNUTLS_NONBLOCK), 0);
	ck_assert_int_eq(gnutls_set_default_priority(t->server), 0);
	ck_assert_int_eq(gnutls_credentials_set(t->server,
	    GNUTLS_CRD_CERTIFICATE, t->scred), 0);
	gnutls_certificate_server_set_request(t->server, GNUTLS_CERT_REQUEST);
	/* So that the client sends a certificate the server will not like. */
	gnutls_certificate_send_x509_rdn_sequence(t->server, 1);
	gnutls_transport_set_int(t->server, t->fd[0]);

	ck_assert_int_eq(gnutls_init(&t->client, GNUTLS_CLIENT |
	    GNUTLS_NONBLOCK), 0);
	ck_assert_int_eq(gnutls_set_default_priority(t->client), 0);
	ck_assert_int_eq(gnutls_credentials_set(t->client,
	    GNUTLS_CRD_CERTIFICATE, t->ccred), 0);
	gnutls_transport_set_int(t->client, t->fd[1]);

	for (i = 0; i < 1000 && (rs != 0 || rc != 0); i++) {
		if (rs != 0)
			rs = gnutls_handshake(t->server);
		if (rc != 0)
			rc = gnutls_handshake(t->client);
		ck_assert_msg((rs == 0 || rs == GNUTLS_E_AGAIN) &&
		    (rc == 0 || rc == GNUTLS_E_AGAIN), "handshake: %s / %s",
		    gnutls_strerror(rs), gnutls_strerror(rc));
	}
	ck_assert_msg(rs == 0 && rc == 0, "handshake did not finish");
}

static void
tls_pair_close(struct tls_pair *t)
{
	gnutls_deinit(t->server);
	gnutls_deinit(t->client);
	gnutls_certificate_free_credentials(t->scred);
	gnutls_certificate_free_credentials(t->ccred);
	close(t->fd[0]);
	close(t->fd[1]);
}

static struct auth *
cert_auth(char *pin)
{
	static char	*pins[2];
	struct config	 cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.tls_client_ca = "clients-ca.pem";	/* the listener reads it */
	if (pin != NULL) {
		pins[0] = pin;
		pins[1] = NULL;
		cfg.tls_client_fingerprints = pins;
		cfg.ntls_client_fingerprints = 1;
	}
	return must_new(&cfg);
}

static void
expect_cert(const struct auth *a, const char *cert, const char *key,
    const char *reason)
{
	struct tls_pair		t;
	struct auth_request	r;
	struct auth_failure	f;

	tls_pair_open(&t, cert, key);
	memset(&r, 0, sizeof(r));
	r.tls_session = t.server;
	if (reason == NULL) {
		ck_assert_msg(auth_check_headers(a, &r, &f) == AUTH_OK,
		    "%s: %s", cert, f.reason);
		ck_assert_ptr_null(f.reason);
		ck_assert_int_eq(auth_check_source(a, &r, &f), AUTH_OK);
	} else {
		ck_assert_int_eq(auth_check_headers(a, &r, &f),
		    AUTH_FORBIDDEN);
		ck_assert_str_eq(f.reason, reason);
		ck_assert_int_eq(auth_check_source(a, &r, &f),
		    AUTH_FORBIDDEN);
		ck_assert_str_eq(f.reason, reason);
	}
	ck_assert_ptr_null(f.challenge);
	tls_pair_close(&t);
}

START_TEST(test_auth_client_cert)
{
	struct auth		*a = cert_auth(NULL);
	struct auth		*pinned = cert_auth(CLIENT_FP);
	struct auth		*pinned_hex = cert_auth(CLIENT_FP_HEX);
	struct auth		*other = cert_auth("SHA256:"
	    "00000000000000000000000000000000"
	    "00000000000000000000000000000000");
	struct auth_request	 r;
	struct auth_failure	 f;

	ck_assert(auth_enabled(a));
	expect_cert(a, NULL, NULL, "client certificate missing");
	expect_cert(a, "client.pem", "client.key", NULL);
	expect_cert(a, "rogue-client.pem", "rogue-client.key",
	    "client certificate not trusted");
	/* Chains to the CA, but is not for client authentication. */
	expect_cert(a, "server-as-client.pem", "server-as-client.key",
	    "client certificate not trusted");
	expect_cert(pinned, "client.pem", "client.key", NULL);
	expect_cert(pinned_hex, "client.pem", "client.key", NULL);
	expect_cert(other, "client.pem", "client.key",
	    "client certificate not pinned");
	expect_cert(other, NULL, NULL, "client certificate missing");
	expect_cert(other, "rogue-client.pem", "rogue-client.key",
	    "client certificate not trusted");
	/* No TLS session: the listener serves plain HTTP; nothing to ask. */
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(auth_check_headers(a, &r, &f), AUTH_OK);
	auth_unref(a);
	auth_unref(pinned);
	auth_unref(pinned_hex);
	auth_unref(other);
}
END_TEST

START_TEST(test_auth_pin_config)
{
	static const char	*bad[] = {
		HEX32 "93461bc8c9bff7d1a2a46d1b048c37b6",
		"sha1:0977d8a94d2575c739c3c309b0d9685f93461bc8",
		"sha256:" HEX32 "93461bc8c9bff7d1a2a46d1b048c37b",
		"sha256:" HEX32 "93461bc8c9bff7d1a2a46d1b048c37b6a",
		"sha256:" HEX32 "93461bc8c9bff7d1a2a46d1b048c37bg",
		"sha256:09:77d8a94d2575c739c3c309b0d9685f"
		    "93461bc8c9bff7d1a2a46d1b048c37b6",
		CLIENT_FP ":",
		"sha256: " HEX32 "93461bc8c9bff7d1a2a46d1b048c37b6",
		"sha256:" HEX32 ":93461bc8c9bff7d1a2a46d1b048c37b6",
	};
	struct config		 cfg;
	size_t			 i;

	memset(&cfg, 0, sizeof(cfg));
	cfg.tls_client_ca = "ca.pem";
	cfg.ntls_client_fingerprints = 1;
	for (i = 0; i < nitems(bad); i++) {
		cfg.tls_client_fingerprints = (char *[]){ (char *)bad[i],
		    NULL };
		ck_assert_str_eq(must_fail(&cfg),
		    "tls.client_fingerprints.[0]: want sha256: and 64 hex "
		    "digits");
	}
	cfg.tls_client_ca = NULL;
	cfg.tls_client_fingerprints = (char *[]){ CLIENT_FP, NULL };
	ck_assert_str_eq(must_fail(&cfg),
	    "tls: client_fingerprints requires client_ca");
}
END_TEST

Suite *
suite_auth(void)
{
	Suite	*s = suite_create("auth");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, fixture_tmp_setup, fixture_tmp_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_auth_signature_shared_vector);
	tcase_add_test(tc, test_auth_signature_fixture);
	tcase_add_test(tc, test_auth_signature_empty_body);
	tcase_add_test(tc, test_auth_signature_each_byte);
	tcase_add_test(tc, test_auth_signature_each_char);
	tcase_add_test(tc, test_auth_signature_second_secret);
	tcase_add_test(tc, test_auth_signature_headers);
	tcase_add_test(tc, test_auth_signature_skew);
	tcase_add_test(tc, test_auth_base64_edges);
	tcase_add_test(tc, test_auth_equal);
	tcase_add_test(tc, test_auth_cidr_parse);
	tcase_add_test(tc, test_auth_cidr_match);
	tcase_add_test(tc, test_auth_forwarded_for);
	tcase_add_test(tc, test_auth_check_source);
	tcase_add_test(tc, test_auth_bad_cidr_config);
	tcase_add_test(tc, test_auth_nothing_configured);
	tcase_add_test(tc, test_auth_basic);
	tcase_add_test(tc, test_auth_basic_config);
	tcase_add_test(tc, test_auth_token_round_trip);
	tcase_add_test(tc, test_auth_token_tampered);
	tcase_add_test(tc, test_auth_token_garbage);
	tcase_add_test(tc, test_auth_token_endpoint_success);
	tcase_add_test(tc, test_auth_token_endpoint_errors);
	tcase_add_test(tc, test_auth_bearer);
	tcase_add_test(tc, test_auth_oauth2_config);
	tcase_add_test(tc, test_auth_secret_files);
	tcase_add_test(tc, test_auth_secret_trailing_newline);
	tcase_add_test(tc, test_auth_secret_file_errors);
	tcase_add_test(tc, test_auth_refcount);
	tcase_add_test(tc, test_auth_client_cert);
	tcase_add_test(tc, test_auth_pin_config);
	suite_add_tcase(s, tc);
	return s;
}
