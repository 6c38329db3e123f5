/*
 * auth.c - decides whether a request may speak for Sinch: its source
 * address (X-Forwarded-For believed from trusted proxies only), its
 * client certificate, HTTP Basic or an OAuth 2.0 bearer token from the
 * headers, and the Sinch HMAC signature over the raw body.  It also
 * answers the client-credentials token endpoint that issues the bearer
 * tokens.
 *
 * auth_new() reads the secrets the configuration names by file and keeps
 * every secret in heap memory that is wiped when the last reference
 * goes.  The state is immutable afterwards, so worker threads share it
 * without locks.  This module neither logs nor chooses status codes for
 * callbacks; the listener does, from the verdict and the reason.  It
 * does not load the client CA either: the listener puts it into the TLS
 * credentials, and this module only asks GnuTLS what it concluded.
 *
 * Decisions the interface leaves open:
 * - A CIDR may have bits set past its prefix ("10.1.2.3/8"); they are
 *   masked off, as config.c accepts them.  IPv4-mapped IPv6 addresses
 *   (::ffff:a.b.c.d) are IPv4 everywhere: peers, X-Forwarded-For entries
 *   and CIDRs of /96 or longer inside ::ffff:0:0/96.
 * - X-Forwarded-For: see client_ip().
 * - Fingerprint pins: "sha256:" (any case) and 64 hex digits (any case),
 *   either all run together or with a ':' between every two.
 * - Base64 in a header must be canonical (padded, no whitespace, no stray
 *   bits); base64url in tokens must be canonical and unpadded.
 * - A bearer token whose client has left the configuration is invalid.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <nettle/base64.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>

#include "auth.h"

#define AUTH_MAC_LEN		SHA256_DIGEST_SIZE
#define AUTH_SIG_SECRETS	2	/* the old one and the new one */
#define AUTH_SECRET_MAX		65536	/* bytes in a secret file */
#define AUTH_KEY_MIN		32	/* bytes in the OAuth 2.0 key */
#define AUTH_CLIENT_ID_MAX	128	/* as config.c allows */
#define AUTH_TOKEN_VERSION	1
#define AUTH_TOKEN_HEAD		9	/* version, 8 bytes of expiry */
#define AUTH_TOKEN_MAX		256	/* longest token, with its NUL */
#define AUTH_FP_LEN		32	/* SHA-256 of a certificate */

/* Room for the canonical encoding of n bytes and a NUL. */
#define AUTH_B64_SIZE(n)	(BASE64_ENCODE_LENGTH(n) + \
				    BASE64_ENCODE_FINAL_LENGTH + 1)
#define AUTH_B64_MAC_LEN	44	/* padded Base64 of 32 bytes */
#define AUTH_B64URL_MAC_LEN	43	/* base64url of 32, unpadded */

#define AUTH_REALM		"realm=\"sinch-webhookd\""
#define AUTH_CHALLENGE_BASIC	"Basic " AUTH_REALM
#define AUTH_CHALLENGE_BEARER	"Bearer " AUTH_REALM \
				    ", error=\"invalid_token\""
#define AUTH_CHALLENGE_SIG	"Sinch-Signature " AUTH_REALM

#define AUTH_FORM_TYPE		"application/x-www-form-urlencoded"

/* Bytes that must not be copied around unwiped. */
struct secret {
	uint8_t		*data;		/* NUL-terminated past len */
	size_t		 len;
};

struct auth_client {
	char		*id;
	struct secret	 secret;
};

/* An address as CIDRs see it: IPv4-mapped IPv6 is IPv4. */
struct ipaddr {
	int		family;
	uint8_t		addr[16];
};

struct auth {
	atomic_uint		 refs;

	bool			 has_signature;
	struct secret		 sig[AUTH_SIG_SECRETS];
	size_t			 nsig;
	int			 max_skew_s;

	bool			 has_basic;
	struct secret		 basic_user;
	struct secret		 basic_password;

	bool			 has_oauth2;
	struct auth_client	*clients;
	size_t			 nclients;
	struct secret		 key;
	int			 token_ttl_s;

	struct auth_cidr	*allow;
	size_t			 nallow;
	struct auth_cidr	*proxies;
	size_t			 nproxies;

	bool			 has_client_cert;
	uint8_t			(*pins)[AUTH_FP_LEN];
	size_t			 npins;
};

enum token_result {
	AUTH_TOKEN_OK,
	AUTH_TOKEN_INVALID,
	AUTH_TOKEN_EXPIRED
};

/* The parameters of a token request that mean something here. */
struct form {
	char	*grant_type;
	char	*client_id;
	char	*client_secret;
	char	*scope;
};

static void	seterr(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
}

/*
 * Secrets.
 */

static void
secret_wipe(struct secret *s)
{
	if (s->data != NULL) {
		explicit_bzero(s->data, s->len);
		free(s->data);
	}
	s->data = NULL;
	s->len = 0;
}

static int
secret_set(struct secret *s, const void *p, size_t len)
{
	int	ret = -1;

	if ((s->data = malloc(len + 1)) != NULL) {
		if (len > 0)
			memcpy(s->data, p, len);
		s->data[len] = '\0';
		s->len = len;
		ret = 0;
	}
	return ret;
}

/* Copies an inline secret; key names it in errors. */
static int
secret_copy(struct secret *s, const char *key, const char *text,
    char *err, size_t errlen)
{
	int	ret = -1;

	if (text == NULL || text[0] == '\0')
		seterr(err, errlen, "%s: empty secret", key);
	else if (secret_set(s, text, strlen(text)) == -1)
		seterr(err, errlen, "%s: %s", key, strerror(errno));
	else
		ret = 0;
	return ret;
}

uint8_t *
auth_secret_load(const char *path, size_t *lenp)
{
	uint8_t	*p = NULL;
	size_t	 len = 0;
	ssize_t	 n;
	int	 fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return NULL;
	if ((p = malloc(AUTH_SECRET_MAX + 1)) == NULL)
		goto fail;
	/* One byte more than allowed tells a file that is too long. */
	while (len <= AUTH_SECRET_MAX) {
		n = read(fd, p + len, AUTH_SECRET_MAX + 1 - len);
		if (n == 0)
			break;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		len += (size_t)n;
	}
	if (len > AUTH_SECRET_MAX) {
		errno = EFBIG;
		goto fail;
	}
	close(fd);
	*lenp = len;
	if (len > 0 && p[len - 1] == '\n') {
		p[--len] = '\0';
		if (len > 0 && p[len - 1] == '\r')
			p[--len] = '\0';
	}
	if (len == 0) {
		explicit_bzero(p, *lenp);
		free(p);
		errno = ENODATA;
		return NULL;
	}
	p[len] = '\0';
	*lenp = len;
	return p;
fail:
	e = errno;
	if (p != NULL) {
		explicit_bzero(p, len);
		free(p);
	}
	close(fd);
	errno = e;
	return NULL;
}

int
auth_secret_path(const char *name, char *path, size_t size)
{
	const char	*dir = getenv("CREDENTIALS_DIRECTORY");
	int		 n;

	if (name[0] != '/' && dir != NULL && dir[0] != '\0')
		n = snprintf(path, size, "%s/%s", dir, name);
	else
		n = snprintf(path, size, "%s", name);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * Reads the secret in the file name into s, at least min bytes of it,
 * found as auth_secret_path() says.  Errors name key and the path, never
 * the content.
 */
static int
secret_read(struct secret *s, const char *key, const char *name,
    size_t min, char *err, size_t errlen)
{
	char		 path[PATH_MAX];
	uint8_t		*p = NULL;
	size_t		 len = 0;
	int		 ret = -1;

	if (name == NULL || name[0] == '\0') {
		seterr(err, errlen, "%s: empty file name", key);
		return -1;
	}
	if (auth_secret_path(name, path, sizeof(path)) == -1) {
		seterr(err, errlen, "%s: unable to read %s: %s", key, name,
		    strerror(ENAMETOOLONG));
		return -1;
	}
	if ((p = auth_secret_load(path, &len)) == NULL) {
		if (errno == EFBIG)
			seterr(err, errlen, "%s: %s: longer than %d bytes",
			    key, path, AUTH_SECRET_MAX);
		else if (errno == ENODATA)
			seterr(err, errlen, "%s: %s: empty secret", key, path);
		else
			seterr(err, errlen, "%s: unable to read %s: %s", key,
			    path, strerror(errno));
		return -1;
	}
	if (len < min)
		seterr(err, errlen, "%s: %s: %zu bytes < %zu", key, path, len,
		    min);
	else if (secret_set(s, p, len) == -1)
		seterr(err, errlen, "%s: unable to read %s: %s", key, path,
		    strerror(errno));
	else
		ret = 0;
	explicit_bzero(p, len);
	free(p);
	return ret;
}

/*
 * Equal in time that depends on the lengths only: both sides are hashed
 * and the digests compared, so neither a difference in length nor the
 * place of the first differing byte shows.
 */
static bool
secret_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	struct sha256_ctx	ctx;
	uint8_t			da[SHA256_DIGEST_SIZE];
	uint8_t			db[SHA256_DIGEST_SIZE];
	bool			eq;

	sha256_init(&ctx);
	sha256_update(&ctx, alen, a);
	sha256_digest(&ctx, sizeof(da), da);
	sha256_update(&ctx, blen, b);
	sha256_digest(&ctx, sizeof(db), db);
	eq = auth_equal(da, db, sizeof(da));
	explicit_bzero(da, sizeof(da));
	explicit_bzero(db, sizeof(db));
	explicit_bzero(&ctx, sizeof(ctx));
	return eq;
}

bool
auth_equal(const void *a, const void *b, size_t len)
{
	return memeql_sec(a, b, len) != 0;
}

/*
 * Base64.
 */

/*
 * Writes the canonical encoding of len bytes to out, which has room for
 * AUTH_B64_SIZE(len): RFC 4648 Base64 with padding, or base64url without.
 * Returns its length.
 */
static size_t
b64_encode(bool url, const uint8_t *in, size_t len, char *out)
{
	struct base64_encode_ctx	ctx;
	size_t				n;

	if (url)
		base64url_encode_init(&ctx);
	else
		base64_encode_init(&ctx);
	n = base64_encode_update(&ctx, out, len, in);
	n += base64_encode_final(&ctx, out + n);
	while (url && n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	return n;
}

/*
 * Decodes inlen characters into out (room for outmax bytes, at least
 * BASE64_DECODE_LENGTH(inlen)).  Only the one encoding that b64_encode()
 * would give is accepted: nettle's decoder skips whitespace and ignores
 * stray bits, so the result is encoded again and compared.  On failure
 * out may hold bytes the caller should wipe.
 */
static int
b64_decode(bool url, const char *in, size_t inlen, uint8_t *out,
    size_t outmax, size_t *outlen)
{
	struct base64_decode_ctx	 ctx;
	char				*again = NULL;
	size_t				 n = 0, size = 0;
	int				 ret = -1;

	if (BASE64_DECODE_LENGTH(inlen) > outmax)
		goto done;
	if (url)
		base64url_decode_init(&ctx);
	else
		base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &n, out, inlen, in))
		goto done;
	size = AUTH_B64_SIZE(n);
	if ((again = malloc(size)) == NULL)
		goto done;
	if (b64_encode(url, out, n, again) != inlen ||
	    memcmp(again, in, inlen) != 0)
		goto done;
	*outlen = n;
	ret = 0;
done:
	if (again != NULL) {
		explicit_bzero(again, size);
		free(again);
	}
	return ret;
}

/*
 * Addresses.
 */

static void
ipaddr_unmap(struct ipaddr *a)
{
	static const uint8_t	mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	if (a->family == AF_INET6 && memcmp(a->addr, mapped, 12) == 0) {
		a->family = AF_INET;
		memmove(a->addr, a->addr + 12, 4);
		memset(a->addr + 4, 0, 12);
	}
}

/* The address in s[0..len), as written (not unmapped). */
static bool
ipaddr_parse(const char *s, size_t len, struct ipaddr *a)
{
	char	text[INET6_ADDRSTRLEN];
	bool	ok = false;

	memset(a, 0, sizeof(*a));
	if (len == 0 || len >= sizeof(text))
		goto done;
	memcpy(text, s, len);
	text[len] = '\0';
	if (inet_pton(AF_INET, text, a->addr) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, text, a->addr) == 1)
		a->family = AF_INET6;
	ok = a->family != 0;
done:
	return ok;
}

static bool
ipaddr_from_sockaddr(const struct sockaddr *sa, struct ipaddr *a)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	memset(a, 0, sizeof(*a));
	if (sa != NULL && sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		a->family = AF_INET;
		memcpy(a->addr, &sin->sin_addr, 4);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		a->family = AF_INET6;
		memcpy(a->addr, &sin6->sin6_addr, 16);
		ipaddr_unmap(a);
	}
	return a->family != 0;
}

static bool
cidr_match_ip(const struct auth_cidr *c, const struct ipaddr *a)
{
	unsigned int	full = c->prefix / 8, rest = c->prefix % 8;
	uint8_t		mask = (uint8_t)(0xff << (8 - rest));

	return c->family == a->family && c->prefix <= 128 &&
	    memcmp(c->addr, a->addr, full) == 0 &&
	    (rest == 0 || (c->addr[full] & mask) == (a->addr[full] & mask));
}

static bool
cidr_list_match(const struct auth_cidr *list, size_t n,
    const struct ipaddr *a)
{
	size_t	i;
	bool	match = false;

	for (i = 0; i < n && !match; i++)
		match = cidr_match_ip(&list[i], a);
	return match;
}

/*
 * "192.0.2.0/24", "2001:db8::/32" or a bare address (/32, /128).  The
 * prefix is plain decimal.  Bits past the prefix are cleared, so
 * "10.1.2.3/8" is 10.0.0.0/8.  A mapped IPv6 CIDR of /96 or longer
 * becomes the IPv4 CIDR it covers.
 */
int
auth_cidr_parse(const char *s, struct auth_cidr *c)
{
	struct ipaddr	 a;
	const char	*slash, *p;
	unsigned int	 max, prefix = 0, i;
	size_t		 n;
	int		 ret = -1;

	if (s == NULL || c == NULL)
		goto done;
	slash = strchr(s, '/');
	n = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (!ipaddr_parse(s, n, &a))
		goto done;
	max = a.family == AF_INET ? 32 : 128;
	if (slash == NULL)
		prefix = max;
	else {
		p = slash + 1;
		if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '\0'))
			goto done;
		for (; *p >= '0' && *p <= '9' && prefix <= max; p++)
			prefix = prefix * 10 + (unsigned int)(*p - '0');
		if (*p != '\0' || prefix > max)
			goto done;
	}
	if (a.family == AF_INET6 && prefix >= 96) {
		ipaddr_unmap(&a);
		if (a.family == AF_INET)
			prefix -= 96;
	}
	max = a.family == AF_INET ? 32 : 128;
	for (i = prefix; i < max; i++)
		a.addr[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	memset(c, 0, sizeof(*c));
	c->family = a.family;
	memcpy(c->addr, a.addr, sizeof(c->addr));
	c->prefix = prefix;
	ret = 0;
done:
	return ret;
}

bool
auth_cidr_match(const struct auth_cidr *c, const struct sockaddr *sa)
{
	struct ipaddr	a;

	return c != NULL && ipaddr_from_sockaddr(sa, &a) &&
	    cidr_match_ip(c, &a);
}

/* One X-Forwarded-For entry: an address, a v6 one maybe in brackets. */
static bool
xff_entry(const char *s, const char *e, struct ipaddr *a)
{
	bool	ok;

	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (e - s >= 2 && *s == '[' && e[-1] == ']')
		ok = ipaddr_parse(s + 1, (size_t)(e - s - 2), a) &&
		    a->family == AF_INET6;
	else
		ok = ipaddr_parse(s, (size_t)(e - s), a);
	if (ok)
		ipaddr_unmap(a);
	return ok;
}

/*
 * The address a request comes from.  Only a trusted proxy's word is
 * taken: starting at the TCP peer, while the current address is a trusted
 * proxy, step to the X-Forwarded-For entry to its left (the one that
 * proxy appended).  The first address that is not a trusted proxy is the
 * client.  When the entries run out (every hop was a trusted proxy) or
 * one is not an address ("unknown", a port, garbage), the last address
 * reached stands: nothing to the left of a bad entry can be attributed.
 * False when the peer is not an IP address.
 */
static bool
client_ip(const struct auth *auth, const struct auth_request *req,
    struct ipaddr *out)
{
	struct ipaddr	 cur, next;
	const char	*xff = req->forwarded_for, *end, *p;
	bool		 ok;

	if ((ok = ipaddr_from_sockaddr(req->peer, &cur)) && xff != NULL) {
		end = xff + strlen(xff);
		while (end > xff && cidr_list_match(auth->proxies,
		    auth->nproxies, &cur)) {
			for (p = end; p > xff && p[-1] != ','; p--)
				;
			if (!xff_entry(p, end, &next))
				break;
			cur = next;
			end = p > xff ? p - 1 : xff;
		}
	}
	*out = cur;
	return ok;
}

void
auth_client_address(const struct auth *auth, const struct auth_request *req,
    char *out, size_t outlen)
{
	struct ipaddr	a;

	if (out == NULL || outlen == 0)
		;
	else if (!client_ip(auth, req, &a))
		snprintf(out, outlen, "unknown");
	else if (outlen > INT_MAX || inet_ntop(a.family, a.addr, out,
	    (socklen_t)outlen) == NULL)
		out[0] = '\0';
}

/*
 * Client certificates.
 */

static int
hex_digit(char c)
{
	int	v = -1;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	return v;
}

/* "sha256:" and 64 hex digits, bare or with ':' between every two. */
static int
pin_parse(const char *s, uint8_t pin[AUTH_FP_LEN])
{
	const char	*p;
	size_t		 i;
	bool		 colons;
	int		 hi, lo, ret = -1;

	if (strncasecmp(s, "sha256:", 7) != 0)
		goto done;
	p = s + 7;
	colons = strlen(p) == AUTH_FP_LEN * 3 - 1;
	for (i = 0; i < AUTH_FP_LEN; i++) {
		if (i > 0 && colons && *p++ != ':')
			goto done;
		if ((hi = hex_digit(p[0])) == -1 ||
		    (lo = hex_digit(p[1])) == -1)
			goto done;
		pin[i] = (uint8_t)(hi << 4 | lo);
		p += 2;
	}
	if (*p == '\0')
		ret = 0;
done:
	return ret;
}

/*
 * The peer must have sent a certificate that chains to the CA the
 * listener loaded, for client authentication if it names purposes at
 * all, and that is pinned when pins are configured.  NULL when it is.
 */
static const char *
check_client_cert(const struct auth *auth, gnutls_session_t session)
{
	gnutls_typed_vdata_st	 purpose = {
		.type = GNUTLS_DT_KEY_PURPOSE_OID,
		.data = (unsigned char *)(uintptr_t)GNUTLS_KP_TLS_WWW_CLIENT,
	};
	const gnutls_datum_t	*certs;
	const char		*reason = NULL;
	uint8_t			 fp[AUTH_FP_LEN];
	size_t			 fplen = sizeof(fp), i;
	unsigned int		 ncerts = 0, status = 0;
	bool			 pinned = false;

	certs = gnutls_certificate_get_peers(session, &ncerts);
	if (certs == NULL || ncerts == 0) {
		reason = "client certificate missing";
		goto done;
	}
	if (gnutls_certificate_verify_peers(session, &purpose, 1,
	    &status) < 0 || status != 0) {
		reason = "client certificate not trusted";
		goto done;
	}
	if (auth->npins == 0)
		goto done;
	if (gnutls_fingerprint(GNUTLS_DIG_SHA256, &certs[0], fp,
	    &fplen) == 0 && fplen == sizeof(fp))
		for (i = 0; i < auth->npins; i++)
			pinned |= auth_equal(fp, auth->pins[i], sizeof(fp));
	if (!pinned)
		reason = "client certificate not pinned";
done:
	return reason;
}

/*
 * Basic and bearer.
 */

/*
 * The credentials after "<scheme> " in an Authorization value (scheme in
 * any case, then spaces), or NULL when the scheme differs or nothing
 * follows it.
 */
static const char *
authz_credentials(const char *authz, const char *scheme)
{
	const char	*cred = NULL;
	size_t		 n = strlen(scheme);

	if (authz != NULL && strncasecmp(authz, scheme, n) == 0 &&
	    (authz[n] == ' ' || authz[n] == '\t')) {
		for (cred = authz + n; *cred == ' ' || *cred == '\t'; cred++)
			;
		if (*cred == '\0')
			cred = NULL;
	}
	return cred;
}

/*
 * Decodes "Basic base64(user:password)" into a new NUL-terminated buffer
 * (wipe it) with *colon at the first ':'.  NULL when it is not that.
 */
static uint8_t *
basic_decode(const char *cred, size_t *len, size_t *colon)
{
	uint8_t		*dec = NULL, *c;
	size_t		 n = strlen(cred), size, declen = 0;

	size = BASE64_DECODE_LENGTH(n) + 1;
	if ((dec = malloc(size)) == NULL)
		goto done;
	if (b64_decode(false, cred, n, dec, size - 1, &declen) == -1 ||
	    (c = memchr(dec, ':', declen)) == NULL) {
		explicit_bzero(dec, size);
		free(dec);
		dec = NULL;
		goto done;
	}
	dec[declen] = '\0';
	*len = declen;
	*colon = (size_t)(c - dec);
done:
	return dec;
}

static const char *
check_basic(const struct auth *auth, const char *authz)
{
	const char	*cred, *reason = "basic credentials missing";
	uint8_t		*dec = NULL;
	size_t		 len = 0, colon = 0;
	bool		 ok;

	if ((cred = authz_credentials(authz, "Basic")) == NULL)
		goto done;
	reason = "basic credentials wrong";
	if ((dec = basic_decode(cred, &len, &colon)) == NULL)
		goto done;
	/* Both compared, whatever the first says. */
	ok = secret_equal(dec, colon, auth->basic_user.data,
	    auth->basic_user.len);
	ok &= secret_equal(dec + colon + 1, len - colon - 1,
	    auth->basic_password.data, auth->basic_password.len);
	if (ok)
		reason = NULL;
done:
	if (dec != NULL) {
		explicit_bzero(dec, len);
		free(dec);
	}
	return reason;
}

static void
token_mac(const uint8_t *key, size_t key_len, const char *payload,
    size_t len, uint8_t mac[AUTH_MAC_LEN])
{
	struct hmac_sha256_ctx	ctx;

	hmac_sha256_set_key(&ctx, key_len, key);
	hmac_sha256_update(&ctx, len, (const uint8_t *)payload);
	hmac_sha256_digest(&ctx, AUTH_MAC_LEN, mac);
	explicit_bzero(&ctx, sizeof(ctx));
}

/*
 * A token is base64url(payload) "." base64url(HMAC-SHA256(key, the first
 * part as text)), both unpadded, so it needs no quoting in a header.  The
 * payload is a version byte (1), the expiry as 8 bytes big-endian epoch
 * seconds, then the client id.
 */
int
auth_token_make(const uint8_t *key, size_t key_len, const char *client_id,
    long long expires, char *out, size_t outlen)
{
	uint8_t		payload[AUTH_TOKEN_HEAD + AUTH_CLIENT_ID_MAX];
	uint8_t		mac[AUTH_MAC_LEN];
	char		p64[AUTH_B64_SIZE(sizeof(payload))];
	char		m64[AUTH_B64_SIZE(AUTH_MAC_LEN)];
	uint64_t	exp = (uint64_t)expires;
	size_t		idlen, plen, mlen;
	int		i, ret = -1;

	if (key == NULL || client_id == NULL || out == NULL)
		goto done;
	idlen = strlen(client_id);
	if (idlen == 0 || idlen > AUTH_CLIENT_ID_MAX)
		goto done;
	payload[0] = AUTH_TOKEN_VERSION;
	for (i = 0; i < 8; i++)
		payload[1 + i] = (uint8_t)(exp >> (56 - 8 * i));
	memcpy(payload + AUTH_TOKEN_HEAD, client_id, idlen);
	plen = b64_encode(true, payload, AUTH_TOKEN_HEAD + idlen, p64);
	token_mac(key, key_len, p64, plen, mac);
	mlen = b64_encode(true, mac, sizeof(mac), m64);
	if (plen + 1 + mlen + 1 > outlen)
		goto done;
	memcpy(out, p64, plen);
	out[plen] = '.';
	memcpy(out + plen + 1, m64, mlen + 1);
	ret = 0;
done:
	explicit_bzero(mac, sizeof(mac));
	return ret;
}

/* The MAC first, in constant time; only a genuine payload is read. */
static enum token_result
token_verify(const uint8_t *key, size_t key_len, const char *token,
    long long now, char *client_id, size_t idlen)
{
	uint8_t			 payload[BASE64_DECODE_LENGTH(
				    AUTH_B64_SIZE(AUTH_TOKEN_HEAD +
				    AUTH_CLIENT_ID_MAX))];
	uint8_t			 got[BASE64_DECODE_LENGTH(
				    AUTH_B64URL_MAC_LEN)];
	uint8_t			 want[AUTH_MAC_LEN];
	const char		*dot, *id;
	enum token_result	 res = AUTH_TOKEN_INVALID;
	uint64_t		 exp = 0;
	size_t			 plen, n = 0, i;

	if (key == NULL || token == NULL || client_id == NULL || idlen == 0 ||
	    (dot = strchr(token, '.')) == NULL)
		goto done;
	plen = (size_t)(dot - token);
	if (plen == 0 || plen >= AUTH_B64_SIZE(AUTH_TOKEN_HEAD +
	    AUTH_CLIENT_ID_MAX) || strlen(dot + 1) != AUTH_B64URL_MAC_LEN ||
	    b64_decode(true, dot + 1, AUTH_B64URL_MAC_LEN, got, sizeof(got),
	    &n) == -1 || n != AUTH_MAC_LEN)
		goto done;
	token_mac(key, key_len, token, plen, want);
	if (!auth_equal(got, want, AUTH_MAC_LEN))
		goto done;
	if (b64_decode(true, token, plen, payload, sizeof(payload),
	    &n) == -1 || n <= AUTH_TOKEN_HEAD ||
	    payload[0] != AUTH_TOKEN_VERSION)
		goto done;
	id = (const char *)payload + AUTH_TOKEN_HEAD;
	n -= AUTH_TOKEN_HEAD;
	if (memchr(id, '\0', n) != NULL || n >= idlen)
		goto done;
	for (i = 0; i < 8; i++)
		exp = exp << 8 | payload[1 + i];
	if (now >= (long long)exp) {
		res = AUTH_TOKEN_EXPIRED;
		goto done;
	}
	memcpy(client_id, id, n);
	client_id[n] = '\0';
	res = AUTH_TOKEN_OK;
done:
	explicit_bzero(want, sizeof(want));
	return res;
}

int
auth_token_check(const uint8_t *key, size_t key_len, const char *token,
    long long now, char *client_id, size_t idlen)
{
	return token_verify(key, key_len, token, now, client_id, idlen) ==
	    AUTH_TOKEN_OK ? 0 : -1;
}

static const struct auth_client *
client_find(const struct auth *auth, const char *id)
{
	const struct auth_client	*c = NULL;
	size_t				 i;

	for (i = 0; i < auth->nclients && c == NULL; i++)
		if (strcmp(auth->clients[i].id, id) == 0)
			c = &auth->clients[i];
	return c;
}

/*
 * NULL when the bearer token is good.  The challenge names invalid_token
 * even when no token came, where RFC 6750 3.1 would rather have no error
 * code: one fixed challenge is what the project asks for.
 */
static const char *
check_bearer(const struct auth *auth, const char *authz)
{
	char		 id[AUTH_CLIENT_ID_MAX + 1];
	const char	*token, *reason = "bearer token missing";

	if ((token = authz_credentials(authz, "Bearer")) == NULL)
		goto done;
	reason = "bearer token invalid";
	switch (token_verify(auth->key.data, auth->key.len, token,
	    (long long)time(NULL), id, sizeof(id))) {
	case AUTH_TOKEN_OK:
		if (client_find(auth, id) != NULL)
			reason = NULL;
		break;
	case AUTH_TOKEN_EXPIRED:
		reason = "bearer token expired";
		break;
	case AUTH_TOKEN_INVALID:
		break;
	}
done:
	return reason;
}

/*
 * Steps 1 and 2 of auth_check_headers(), all that the token endpoint
 * asks: where the request comes from and its client certificate.  With
 * no TLS session (plain HTTP) there is no certificate to ask about.
 */
enum auth_verdict
auth_check_source(const struct auth *auth, const struct auth_request *req,
    struct auth_failure *fail)
{
	enum auth_verdict	 v = AUTH_OK;
	struct ipaddr		 ip;
	const char		*reason = NULL;

	if (auth->nallow > 0 && (!client_ip(auth, req, &ip) ||
	    !cidr_list_match(auth->allow, auth->nallow, &ip))) {
		v = AUTH_FORBIDDEN;
		reason = "source address not allowed";
	} else if (auth->has_client_cert && req->tls_session != NULL &&
	    (reason = check_client_cert(auth,
	    (gnutls_session_t)req->tls_session)) != NULL)
		v = AUTH_FORBIDDEN;
	if (fail != NULL) {
		fail->reason = reason;
		fail->challenge = NULL;
	}
	return v;
}

enum auth_verdict
auth_check_headers(const struct auth *auth, const struct auth_request *req,
    struct auth_failure *fail)
{
	struct auth_failure	f = { NULL, NULL };
	enum auth_verdict	v;

	if ((v = auth_check_source(auth, req, &f)) != AUTH_OK)
		;
	else if (auth->has_basic &&
	    (f.reason = check_basic(auth, req->authorization)) != NULL) {
		v = AUTH_UNAUTHORIZED;
		f.challenge = AUTH_CHALLENGE_BASIC;
	} else if (auth->has_oauth2 &&
	    (f.reason = check_bearer(auth, req->authorization)) != NULL) {
		v = AUTH_UNAUTHORIZED;
		f.challenge = AUTH_CHALLENGE_BEARER;
	}
	if (fail != NULL)
		*fail = f;
	return v;
}

/*
 * The Sinch signature.
 */

static void
signature_mac(const uint8_t *secret, size_t secret_len, const char *body,
    size_t len, const char *nonce, const char *timestamp,
    uint8_t mac[AUTH_MAC_LEN])
{
	struct hmac_sha256_ctx	ctx;

	hmac_sha256_set_key(&ctx, secret_len, secret);
	if (len > 0)
		hmac_sha256_update(&ctx, len, (const uint8_t *)body);
	hmac_sha256_update(&ctx, 1, (const uint8_t *)".");
	hmac_sha256_update(&ctx, strlen(nonce), (const uint8_t *)nonce);
	hmac_sha256_update(&ctx, 1, (const uint8_t *)".");
	hmac_sha256_update(&ctx, strlen(timestamp),
	    (const uint8_t *)timestamp);
	hmac_sha256_digest(&ctx, AUTH_MAC_LEN, mac);
	explicit_bzero(&ctx, sizeof(ctx));
}

int
auth_signature(const uint8_t *secret, size_t secret_len, const char *body,
    size_t len, const char *nonce, const char *timestamp, char *b64,
    size_t b64len)
{
	uint8_t	mac[AUTH_MAC_LEN];
	char	text[AUTH_B64_SIZE(AUTH_MAC_LEN)];
	int	ret = -1;

	if (secret == NULL || (body == NULL && len > 0) || nonce == NULL ||
	    timestamp == NULL || b64 == NULL || b64len < AUTH_B64_MAC_LEN + 1)
		goto done;
	signature_mac(secret, secret_len, body, len, nonce, timestamp, mac);
	b64_encode(false, mac, sizeof(mac), text);
	memcpy(b64, text, AUTH_B64_MAC_LEN + 1);
	ret = 0;
done:
	explicit_bzero(mac, sizeof(mac));
	return ret;
}

/* NULL when the decimal epoch seconds in ts are within skew_s of now. */
static const char *
check_skew(const char *ts, int skew_s)
{
	const char	*reason = NULL;
	long long	 t = 0, now = (long long)time(NULL);
	size_t		 i, n = strlen(ts);

	/* 18 digits cannot overflow. */
	if (n == 0 || n > 18)
		reason = "signature timestamp invalid";
	for (i = 0; i < n && reason == NULL; i++) {
		if (ts[i] < '0' || ts[i] > '9')
			reason = "signature timestamp invalid";
		t = t * 10 + (ts[i] - '0');
	}
	if (reason == NULL && t < now - skew_s)
		reason = "signature timestamp too old";
	else if (reason == NULL && t > now + skew_s)
		reason = "signature timestamp in the future";
	return reason;
}

/* Every secret is tried, so the time does not tell which one matched. */
static bool
signature_matches(const struct auth *auth, const struct auth_request *req,
    const char *body, size_t len)
{
	uint8_t	got[BASE64_DECODE_LENGTH(AUTH_B64_MAC_LEN)];
	uint8_t	want[AUTH_MAC_LEN];
	size_t	i, n = 0;
	bool	ok = false;

	if (strlen(req->signature) != AUTH_B64_MAC_LEN ||
	    b64_decode(false, req->signature, AUTH_B64_MAC_LEN, got,
	    sizeof(got), &n) == -1 || n != AUTH_MAC_LEN)
		goto done;
	for (i = 0; i < auth->nsig; i++) {
		signature_mac(auth->sig[i].data, auth->sig[i].len, body, len,
		    req->nonce, req->timestamp, want);
		ok |= auth_equal(got, want, AUTH_MAC_LEN);
	}
done:
	explicit_bzero(want, sizeof(want));
	return ok;
}

static bool
header_missing(const char *h)
{
	return h == NULL || h[0] == '\0';
}

enum auth_verdict
auth_check_signature(const struct auth *auth, const struct auth_request *req,
    const char *body, size_t len, struct auth_failure *fail)
{
	const char	*reason = NULL;

	if (!auth->has_signature)
		goto done;
	if (header_missing(req->signature) || header_missing(req->nonce) ||
	    header_missing(req->timestamp))
		reason = "signature headers missing";
	else if (req->algorithm != NULL &&
	    strcasecmp(req->algorithm, "HmacSHA256") != 0)
		reason = "signature algorithm not supported";
	else if (auth->max_skew_s > 0 &&
	    (reason = check_skew(req->timestamp, auth->max_skew_s)) != NULL)
		;
	else if ((body == NULL && len > 0) ||
	    !signature_matches(auth, req, body, len))
		reason = "signature mismatch";
done:
	if (fail != NULL) {
		fail->reason = reason;
		fail->challenge = reason != NULL ? AUTH_CHALLENGE_SIG : NULL;
	}
	return reason != NULL ? AUTH_UNAUTHORIZED : AUTH_OK;
}

/*
 * The token endpoint.
 */

/* application/x-www-form-urlencoded, in any case, maybe with parameters. */
static bool
form_content_type(const char *ct)
{
	size_t	n = strlen(AUTH_FORM_TYPE);
	bool	ok = false;

	if (ct == NULL)
		goto done;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, AUTH_FORM_TYPE, n) != 0)
		goto done;
	for (ct += n; *ct == ' ' || *ct == '\t'; ct++)
		;
	ok = *ct == '\0' || *ct == ';';
done:
	return ok;
}

/*
 * Percent-decodes s[0..len) into a new string, '+' as a space.  NULL
 * when a '%' is not followed by two hex digits or the result holds a NUL.
 */
static char *
form_decode(const char *s, size_t len)
{
	char	*out, *o;
	size_t	 i;
	int	 hi, lo;

	if ((out = malloc(len + 1)) == NULL)
		goto done;
	for (o = out, i = 0; i < len; i++) {
		if (s[i] == '+')
			*o++ = ' ';
		else if (s[i] != '%')
			*o++ = s[i];
		else if (i + 2 < len && (hi = hex_digit(s[i + 1])) != -1 &&
		    (lo = hex_digit(s[i + 2])) != -1) {
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else
			break;
		if (o[-1] == '\0')
			break;
	}
	if (i < len) {
		explicit_bzero(out, len + 1);
		free(out);
		out = NULL;
	} else
		*o = '\0';
done:
	return out;
}

static void
form_wipe(char **s)
{
	if (*s != NULL) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
	}
	*s = NULL;
}

static void
form_fini(struct form *f)
{
	form_wipe(&f->grant_type);
	form_wipe(&f->client_id);
	form_wipe(&f->client_secret);
	form_wipe(&f->scope);
}

/*
 * Reads the parameters this endpoint knows; others are ignored (RFC 6749
 * 3.2).  One sent without a value counts as omitted (3.1); one of ours
 * sent twice is an error (3.2).  NULL, or the invalid_request description.
 */
static const char *
form_parse(const char *body, size_t len, struct form *f)
{
	const char	*p = body, *end, *amp, *eq, *vs;
	const char	*why = NULL;
	char		*name = NULL, *value = NULL, **slot;

	end = len > 0 ? body + len : body;
	while (len > 0 && why == NULL) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
			eq = amp;
		vs = eq < amp ? eq + 1 : amp;
		if ((name = form_decode(p, (size_t)(eq - p))) == NULL ||
		    (value = form_decode(vs, (size_t)(amp - vs))) == NULL) {
			why = "malformed form body";
			break;
		}
		slot = NULL;
		if (strcmp(name, "grant_type") == 0)
			slot = &f->grant_type;
		else if (strcmp(name, "client_id") == 0)
			slot = &f->client_id;
		else if (strcmp(name, "client_secret") == 0)
			slot = &f->client_secret;
		else if (strcmp(name, "scope") == 0)
			slot = &f->scope;
		if (slot != NULL && value[0] != '\0') {
			if (*slot != NULL)
				why = "parameter repeated";
			else {
				*slot = value;
				value = NULL;
			}
		}
		form_wipe(&name);
		form_wipe(&value);
		if (amp == end)
			break;
		p = amp + 1;
	}
	form_wipe(&name);
	form_wipe(&value);
	return why;
}

/*
 * Client id and secret from "Basic base64(id:secret)", each of them
 * form-urlencoded inside (RFC 6749 2.3.1).
 */
static int
basic_client(const char *authz, char **id, char **secret)
{
	const char	*cred;
	uint8_t		*dec = NULL;
	size_t		 len = 0, colon = 0;
	int		 ret = -1;

	if ((cred = authz_credentials(authz, "Basic")) == NULL ||
	    (dec = basic_decode(cred, &len, &colon)) == NULL)
		goto done;
	*id = form_decode((const char *)dec, colon);
	*secret = form_decode((const char *)dec + colon + 1,
	    len - colon - 1);
	if (*id != NULL && *secret != NULL)
		ret = 0;
done:
	if (dec != NULL) {
		explicit_bzero(dec, len);
		free(dec);
	}
	return ret;
}

/* Every client's secret is compared, so timing does not tell ids apart. */
static bool
client_authentic(const struct auth *auth, const char *id,
    const char *secret)
{
	size_t	i;
	bool	ok = false;

	for (i = 0; i < auth->nclients; i++) {
		bool	same_id = strcmp(auth->clients[i].id, id) == 0;

		ok |= same_id & secret_equal(secret, strlen(secret),
		    auth->clients[i].secret.data, auth->clients[i].secret.len);
	}
	return ok;
}

/* The JSON answer; the texts are fixed or base64url, so none is escaped. */
static int
token_answer(struct buf *out, const char *error, const char *description,
    const char *token, int ttl_s)
{
	char	n[32];
	int	ret = 0;

	buf_reset(out);
	if (error != NULL) {
		ret |= buf_puts(out, "{\"error\":\"");
		ret |= buf_puts(out, error);
		ret |= buf_puts(out, "\",\"error_description\":\"");
		ret |= buf_puts(out, description);
		ret |= buf_puts(out, "\"}");
	} else {
		snprintf(n, sizeof(n), "%d", ttl_s);
		ret |= buf_puts(out, "{\"access_token\":\"");
		ret |= buf_puts(out, token);
		ret |= buf_puts(out, "\",\"token_type\":\"Bearer\","
		    "\"expires_in\":");
		ret |= buf_puts(out, n);
		ret |= buf_puts(out, "}");
	}
	return ret != 0 ? -1 : 0;
}

/*
 * RFC 6749 4.4 with the errors of 5.2, checked in this order: the content
 * type, the form, grant_type, one client authentication method, then the
 * client.  A 401 carries the Basic challenge when the client used an
 * Authorization header or sent no credentials at all (so that the client
 * learns the scheme); not when its form fields were wrong.  Returns 500,
 * with out empty, when out of memory.
 */
int
auth_token_endpoint(const struct auth *auth, const char *authorization,
    const char *content_type, const char *body, size_t len, struct buf *out,
    const char **challenge)
{
	struct form	 f = { NULL, NULL, NULL, NULL };
	char		 token[AUTH_TOKEN_MAX];
	char		*bid = NULL, *bsecret = NULL;
	const char	*error = "invalid_request", *why = NULL, *chal = NULL;
	const char	*id, *secret;
	bool		 use_basic;
	int		 status = 400;

	token[0] = '\0';
	if (authorization != NULL && authorization[0] == '\0')
		authorization = NULL;
	use_basic = authorization != NULL;
	if (!form_content_type(content_type))
		why = "content type must be " AUTH_FORM_TYPE;
	else if ((body == NULL && len > 0) ||
	    (why = form_parse(body, len, &f)) != NULL)
		why = why != NULL ? why : "malformed form body";
	else if (f.grant_type == NULL)
		why = "grant_type missing";
	else if (strcmp(f.grant_type, "client_credentials") != 0) {
		error = "unsupported_grant_type";
		why = "only client_credentials is supported";
	} else if (use_basic && (f.client_id != NULL ||
	    f.client_secret != NULL))
		why = "more than one client authentication method";
	if (why != NULL)
		goto answer;

	status = 401;
	error = "invalid_client";
	why = "client authentication failed";
	if (use_basic) {
		chal = AUTH_CHALLENGE_BASIC;
		if (basic_client(authorization, &bid, &bsecret) == -1)
			goto answer;
		id = bid;
		secret = bsecret;
	} else {
		if (f.client_id == NULL && f.client_secret == NULL)
			chal = AUTH_CHALLENGE_BASIC;
		id = f.client_id;
		secret = f.client_secret;
	}
	if (id == NULL || secret == NULL ||
	    !client_authentic(auth, id, secret))
		goto answer;
	if (auth_token_make(auth->key.data, auth->key.len, id,
	    (long long)time(NULL) + auth->token_ttl_s, token,
	    sizeof(token)) == -1) {
		status = 500;
		goto answer;
	}
	status = 200;
	error = NULL;
	chal = NULL;
answer:
	if (status != 500 && token_answer(out, error, why, token,
	    auth->token_ttl_s) == -1)
		status = 500;
	if (status == 500) {
		buf_reset(out);
		chal = NULL;
	}
	if (challenge != NULL)
		*challenge = chal;
	explicit_bzero(token, sizeof(token));
	form_wipe(&bid);
	form_wipe(&bsecret);
	form_fini(&f);
	return status;
}

/*
 * The state.
 */

static int
load_signature(struct auth *auth, const struct config *cfg, char *err,
    size_t errlen)
{
	char	key[64];
	size_t	i, n = cfg->nsig_secrets + cfg->nsig_secret_files;
	int	ret = -1;

	if (n == 0 || n > AUTH_SIG_SECRETS) {
		seterr(err, errlen, "auth.signature: %zu secrets (want 1 or "
		    "%d)", n, AUTH_SIG_SECRETS);
		goto done;
	}
	if (cfg->sig_max_skew_s < 0) {
		seterr(err, errlen, "auth.signature.max_skew_s: negative");
		goto done;
	}
	for (i = 0; i < cfg->nsig_secrets; i++) {
		snprintf(key, sizeof(key), "auth.signature.secrets.[%zu]", i);
		if (secret_copy(&auth->sig[auth->nsig], key,
		    cfg->sig_secrets[i], err, errlen) == -1)
			goto done;
		auth->nsig++;
	}
	for (i = 0; i < cfg->nsig_secret_files; i++) {
		snprintf(key, sizeof(key), "auth.signature.secret_files.[%zu]",
		    i);
		if (secret_read(&auth->sig[auth->nsig], key,
		    cfg->sig_secret_files[i], 1, err, errlen) == -1)
			goto done;
		auth->nsig++;
	}
	auth->has_signature = true;
	auth->max_skew_s = cfg->sig_max_skew_s;
	ret = 0;
done:
	return ret;
}

static int
load_basic(struct auth *auth, const struct config *cfg, char *err,
    size_t errlen)
{
	const char	*user = cfg->basic_username;
	int		 ret = -1;

	if (cfg->has_oauth2) {
		seterr(err, errlen, "auth: basic and oauth2 both use the "
		    "Authorization header; choose one");
		goto done;
	}
	if (user == NULL || user[0] == '\0' || strchr(user, ':') != NULL) {
		seterr(err, errlen, "auth.basic.username: %s",
		    user == NULL || user[0] == '\0' ? "missing" :
		    "must not contain ':'");
		goto done;
	}
	if ((cfg->basic_password != NULL) ==
	    (cfg->basic_password_file != NULL)) {
		seterr(err, errlen, "auth.basic: want password or "
		    "password_file, %s", cfg->basic_password != NULL ?
		    "not both" : "missing");
		goto done;
	}
	if (secret_copy(&auth->basic_user, "auth.basic.username", user, err,
	    errlen) == -1)
		goto done;
	if (cfg->basic_password != NULL ? secret_copy(&auth->basic_password,
	    "auth.basic.password", cfg->basic_password, err, errlen) :
	    secret_read(&auth->basic_password, "auth.basic.password_file",
	    cfg->basic_password_file, 1, err, errlen))
		goto done;
	auth->has_basic = true;
	ret = 0;
done:
	return ret;
}

static int
load_client(struct auth_client *c, const struct oauth2_client_config *cc,
    size_t i, char *err, size_t errlen)
{
	char	key[64];
	size_t	n = cc->id != NULL ? strlen(cc->id) : 0;
	int	ret = -1;

	if (n == 0 || n > AUTH_CLIENT_ID_MAX) {
		seterr(err, errlen, "auth.oauth2.clients.[%zu].id: %s", i,
		    n == 0 ? "missing" : "too long");
		goto done;
	}
	if ((cc->secret != NULL) == (cc->secret_file != NULL)) {
		seterr(err, errlen, "auth.oauth2.clients.[%zu]: want secret "
		    "or secret_file, %s", i, cc->secret != NULL ? "not both" :
		    "missing");
		goto done;
	}
	if ((c->id = strdup(cc->id)) == NULL) {
		seterr(err, errlen, "auth.oauth2.clients.[%zu]: %s", i,
		    strerror(errno));
		goto done;
	}
	if (cc->secret != NULL) {
		snprintf(key, sizeof(key), "auth.oauth2.clients.[%zu].secret",
		    i);
		ret = secret_copy(&c->secret, key, cc->secret, err, errlen);
	} else {
		snprintf(key, sizeof(key),
		    "auth.oauth2.clients.[%zu].secret_file", i);
		ret = secret_read(&c->secret, key, cc->secret_file, 1, err,
		    errlen);
	}
done:
	return ret;
}

static int
load_oauth2(struct auth *auth, const struct config *cfg, char *err,
    size_t errlen)
{
	size_t	i;
	int	ret = -1;

	if (cfg->noauth2_clients == 0 || cfg->oauth2_clients == NULL) {
		seterr(err, errlen, "auth.oauth2.clients: no client");
		goto done;
	}
	if (cfg->oauth2_token_ttl_s <= 0) {
		seterr(err, errlen, "auth.oauth2.token_ttl_s: not positive");
		goto done;
	}
	if (cfg->oauth2_key_file == NULL) {
		seterr(err, errlen, "auth.oauth2.key_file: missing");
		goto done;
	}
	auth->clients = calloc(cfg->noauth2_clients, sizeof(*auth->clients));
	if (auth->clients == NULL) {
		seterr(err, errlen, "auth.oauth2: %s", strerror(errno));
		goto done;
	}
	for (i = 0; i < cfg->noauth2_clients; i++) {
		auth->nclients++;
		if (load_client(&auth->clients[i], &cfg->oauth2_clients[i], i,
		    err, errlen) == -1)
			goto done;
	}
	if (secret_read(&auth->key, "auth.oauth2.key_file",
	    cfg->oauth2_key_file, AUTH_KEY_MIN, err, errlen) == -1)
		goto done;
	auth->has_oauth2 = true;
	auth->token_ttl_s = cfg->oauth2_token_ttl_s;
	ret = 0;
done:
	return ret;
}

static int
load_cidrs(struct auth_cidr **list, size_t *n, char **texts, size_t ntexts,
    const char *key, char *err, size_t errlen)
{
	size_t	i;
	int	ret = -1;

	if (texts == NULL)
		ntexts = 0;
	if (ntexts > 0 && (*list = calloc(ntexts, sizeof(**list))) == NULL) {
		seterr(err, errlen, "%s: %s", key, strerror(errno));
		goto done;
	}
	for (i = 0; i < ntexts; i++) {
		if (auth_cidr_parse(texts[i], &(*list)[i]) == -1) {
			seterr(err, errlen, "%s.[%zu]: \"%.64s\" is not an "
			    "address or CIDR", key, i,
			    texts[i] != NULL ? texts[i] : "");
			goto done;
		}
	}
	*n = ntexts;
	ret = 0;
done:
	return ret;
}

static int
load_tls(struct auth *auth, const struct config *cfg, char *err,
    size_t errlen)
{
	size_t	i, n = cfg->tls_client_fingerprints != NULL ?
		    cfg->ntls_client_fingerprints : 0;
	int	ret = -1;

	auth->has_client_cert = cfg->tls_client_ca != NULL &&
	    cfg->tls_client_ca[0] != '\0';
	if (n > 0 && !auth->has_client_cert) {
		seterr(err, errlen, "tls: client_fingerprints requires "
		    "client_ca");
		goto done;
	}
	if (n > 0 && (auth->pins = calloc(n, sizeof(*auth->pins))) == NULL) {
		seterr(err, errlen, "tls.client_fingerprints: %s",
		    strerror(errno));
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (cfg->tls_client_fingerprints[i] == NULL ||
		    pin_parse(cfg->tls_client_fingerprints[i],
		    auth->pins[i]) == -1) {
			seterr(err, errlen, "tls.client_fingerprints.[%zu]: "
			    "want sha256: and 64 hex digits", i);
			goto done;
		}
	}
	auth->npins = n;
	ret = 0;
done:
	return ret;
}

static void
auth_free(struct auth *auth)
{
	size_t	i;

	for (i = 0; i < AUTH_SIG_SECRETS; i++)
		secret_wipe(&auth->sig[i]);
	secret_wipe(&auth->basic_user);
	secret_wipe(&auth->basic_password);
	for (i = 0; i < auth->nclients; i++) {
		free(auth->clients[i].id);
		secret_wipe(&auth->clients[i].secret);
	}
	free(auth->clients);
	secret_wipe(&auth->key);
	free(auth->allow);
	free(auth->proxies);
	free(auth->pins);
	explicit_bzero(auth, sizeof(*auth));
	free(auth);
}

struct auth *
auth_new(const struct config *cfg, char *err, size_t errlen)
{
	struct auth	*auth;

	if ((auth = calloc(1, sizeof(*auth))) == NULL) {
		seterr(err, errlen, "auth: %s", strerror(errno));
		goto done;
	}
	atomic_init(&auth->refs, 1);
	/* Only what a configured check needs is read. */
	if ((cfg->has_signature &&
	    load_signature(auth, cfg, err, errlen) == -1) ||
	    (cfg->has_basic && load_basic(auth, cfg, err, errlen) == -1) ||
	    (cfg->has_oauth2 && load_oauth2(auth, cfg, err, errlen) == -1) ||
	    load_cidrs(&auth->allow, &auth->nallow, cfg->allow_from,
	    cfg->nallow_from, "auth.allow_from", err, errlen) == -1 ||
	    load_cidrs(&auth->proxies, &auth->nproxies, cfg->trusted_proxies,
	    cfg->ntrusted_proxies, "auth.trusted_proxies", err,
	    errlen) == -1 ||
	    load_tls(auth, cfg, err, errlen) == -1) {
		auth_free(auth);
		auth = NULL;
	}
done:
	return auth;
}

struct auth *
auth_ref(struct auth *auth)
{
	if (auth != NULL)
		atomic_fetch_add(&auth->refs, 1);
	return auth;
}

void
auth_unref(struct auth *auth)
{
	if (auth != NULL && atomic_fetch_sub(&auth->refs, 1) == 1)
		auth_free(auth);
}

bool
auth_enabled(const struct auth *auth)
{
	return auth->has_signature || auth->has_basic || auth->has_oauth2 ||
	    auth->nallow > 0 || auth->has_client_cert;
}

bool
auth_has_signature(const struct auth *auth)
{
	return auth->has_signature;
}

bool
auth_has_oauth2(const struct auth *auth)
{
	return auth->has_oauth2;
}
