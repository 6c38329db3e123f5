/*
 * authz.h - sinch-webhookd-send: the Authorization header lines that go
 * with a request, HTTP Basic (RFC 7617) and bearer (RFC 6750).  The
 * results are credentials too, wiped by credential_fini().
 */
#ifndef SEND_AUTHZ_H
#define SEND_AUTHZ_H

#include <stddef.h>

#include "send/credential.h"

/* "Authorization: Basic " and the Base64 of pair (user ":" password). */
int	 authz_basic(const char *pair, size_t len, struct credential *out);
/* "Authorization: Bearer " and the token, which must be visible ASCII. */
int	 authz_bearer(const struct credential *token,
	    struct credential *out);

#endif
