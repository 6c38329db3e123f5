/*
 * token.h - sinch-webhookd-send: an OAuth 2.0 access token from a token
 * endpoint, with the client credentials grant (RFC 6749 section 4.4) and
 * the client authenticated by HTTP Basic (section 2.3.1).
 */
#ifndef SEND_TOKEN_H
#define SEND_TOKEN_H

#include <stddef.h>

#include "send/credential.h"
#include "send/sender.h"

/*
 * Asks url for a token and puts the access_token of a 200 answer into
 * token.  Returns -1 with a reason in err (the endpoint's status and
 * one-line answer, or the transport error); never a secret.
 */
int	 token_fetch(struct sender *, const char *url, const char *client_id,
	    const struct credential *client_secret, struct credential *token,
	    char *err, size_t errlen);

#endif
