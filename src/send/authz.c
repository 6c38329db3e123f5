/*
 * authz.c - the Authorization header lines of sinch-webhookd-send.  The
 * line is built in place in one allocation, so the only copies of the
 * secret are the caller's and the result, both wiped by their owners.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/base64.h>

#include "send/authz.h"

#define AUTHZ_BASIC	"Authorization: Basic "
#define AUTHZ_BEARER	"Authorization: Bearer "

/* Replaces out with len zero bytes (and the NUL), to be filled in. */
static int
authz_alloc(struct credential *out, size_t len)
{
	credential_fini(out);
	if ((out->data = calloc(1, len + 1)) == NULL)
		return -1;
	out->len = len;
	return 0;
}

int
authz_basic(const char *pair, size_t len, struct credential *out)
{
	size_t	head = strlen(AUTHZ_BASIC);
	int	ret = -1;

	/* The bound keeps the length arithmetic from overflowing. */
	if (len < SIZE_MAX / 2 &&
	    authz_alloc(out, head + BASE64_ENCODE_RAW_LENGTH(len)) == 0) {
		memcpy(out->data, AUTHZ_BASIC, head);
		base64_encode_raw(out->data + head, len,
		    (const uint8_t *)pair);
		ret = 0;
	}
	return ret;
}

int
authz_bearer(const struct credential *token, struct credential *out)
{
	size_t	head = strlen(AUTHZ_BEARER);
	int	ret = -1;

	if (credential_is_token(token) &&
	    authz_alloc(out, head + token->len) == 0) {
		memcpy(out->data, AUTHZ_BEARER, head);
		memcpy(out->data + head, token->data, token->len);
		ret = 0;
	}
	return ret;
}
