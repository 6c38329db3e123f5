/*
 * token.c - fetches an OAuth 2.0 access token for sinch-webhookd-send:
 * grant_type=client_credentials, the client id and secret each
 * form-urlencoded and sent as HTTP Basic (RFC 6749 2.3.1), and the
 * access_token taken from the JSON answer.  jansson is given allocators
 * that wipe what they free, since the parsed answer holds the token.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "send/authz.h"
#include "send/token.h"

#define TOKEN_FORM	"application/x-www-form-urlencoded"
#define TOKEN_BODY	"grant_type=client_credentials"

/* Blocks from token_malloc() carry their size in front, for the wipe. */
union token_head {
	size_t		size;
	max_align_t	align;
};

static void *
token_malloc(size_t n)
{
	union token_head	*h;

	if (n > SIZE_MAX - sizeof(*h) || (h = malloc(sizeof(*h) + n)) == NULL)
		return NULL;
	h->size = n;
	return h + 1;
}

static void
token_free(void *p)
{
	union token_head	*h;

	if (p == NULL)
		return;
	h = (union token_head *)p - 1;
	explicit_bzero(p, h->size);
	free(h);
}

/* Appends the n bytes at p to out, form-urlencoded (RFC 3986 unreserved). */
static size_t
token_encode(char *out, const char *p, size_t n)
{
	static const char	hex[] = "0123456789ABCDEF";
	size_t			i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char	c = (unsigned char)p[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			out[o++] = (char)c;
		else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	return o;
}

/* "Authorization: Basic ..." for id and secret, each form-urlencoded. */
static int
token_basic(const char *id, const struct credential *secret,
    struct credential *out)
{
	struct credential	pair;
	size_t			idlen = strlen(id), n;
	int			ret = -1;

	credential_init(&pair);
	/* Every byte takes at most three; the bounds rule out overflow. */
	if (idlen > CREDENTIAL_MAX || secret->len > CREDENTIAL_MAX ||
	    (pair.data = calloc(1, 3 * (idlen + secret->len) + 2)) == NULL)
		goto done;
	pair.len = 3 * (idlen + secret->len) + 1;
	n = token_encode(pair.data, id, idlen);
	pair.data[n++] = ':';
	n += token_encode(pair.data + n, secret->data, secret->len);
	ret = authz_basic(pair.data, n, out);
done:
	credential_fini(&pair);
	return ret;
}

/* Takes the access token out of a 200 answer's JSON. */
static int
token_parse(const struct buf *body, struct credential *token, char *err,
    size_t errlen)
{
	json_t		*root = NULL, *v;
	json_error_t	 jerr;
	const char	*type;
	int		 ret = -1;

	json_set_alloc_funcs(token_malloc, token_free);
	if ((root = json_loadb(body->data != NULL ? body->data : "",
	    body->len, 0, &jerr)) == NULL || !json_is_object(root)) {
		snprintf(err, errlen, "token: the answer is not a JSON object");
		goto done;
	}
	v = json_object_get(root, "token_type");
	type = json_is_string(v) ? json_string_value(v) : NULL;
	if (v != NULL && (type == NULL || strcasecmp(type, "Bearer") != 0)) {
		snprintf(err, errlen, "token: token_type is not Bearer");
		goto done;
	}
	v = json_object_get(root, "access_token");
	if (!json_is_string(v) || json_string_length(v) == 0) {
		snprintf(err, errlen, "token: the answer has no access_token");
		goto done;
	}
	if (credential_set(token, json_string_value(v),
	    json_string_length(v)) == -1) {
		snprintf(err, errlen, "token: out of memory");
		goto done;
	}
	if (!credential_is_token(token)) {
		credential_fini(token);
		snprintf(err, errlen, "token: the access_token is not "
		    "printable ASCII");
		goto done;
	}
	ret = 0;
done:
	json_decref(root);
	return ret;
}

int
token_fetch(struct sender *s, const char *url, const char *client_id,
    const struct credential *client_secret, struct credential *token,
    char *err, size_t errlen)
{
	struct sender_answer	 a;
	struct credential	 authz;
	const char		*headers[4];
	char			 line[256];
	int			 ret = -1;

	credential_init(&authz);
	if (sender_answer_init(&a) == -1 ||
	    token_basic(client_id, client_secret, &authz) == -1) {
		snprintf(err, errlen, "token: out of memory");
		goto done;
	}
	headers[0] = "Content-Type: " TOKEN_FORM;
	headers[1] = "Accept: application/json";
	headers[2] = authz.data;
	headers[3] = NULL;
	if (sender_post(s, url, headers, TOKEN_BODY, strlen(TOKEN_BODY),
	    &a) == -1) {
		snprintf(err, errlen, "token: %s: %s", url, a.error);
		goto done;
	}
	if (a.status != 200) {
		sender_answer_line(&a, line, sizeof(line));
		snprintf(err, errlen, "token: %s: %ld %s", url, a.status, line);
		goto done;
	}
	ret = token_parse(&a.body, token, err, errlen);
done:
	credential_fini(&authz);
	sender_answer_fini(&a);
	return ret;
}
