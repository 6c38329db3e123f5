/*
 * credential.h - sinch-webhookd-send: a secret (signature secret,
 * user:password, bearer token, client secret) taken from the command line
 * or read from a file, kept in heap memory that is wiped when released.
 * Nothing here prints a secret; errors name the file only.
 */
#ifndef SEND_CREDENTIAL_H
#define SEND_CREDENTIAL_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes in a credential file, as the daemon allows for its secrets. */
#define CREDENTIAL_MAX	65536

struct credential {
	char	*data;		/* len bytes and a NUL, or NULL */
	size_t	 len;
};

void	 credential_init(struct credential *);
/* Copies len bytes of p; the caller wipes its own copy. */
int	 credential_set(struct credential *, const void *p, size_t len);
/*
 * Reads the file path (not "-"): its bytes less one trailing "\n" or
 * "\r\n".  An empty result is an error.  Returns -1 with a reason in err
 * ("unable to read /x: No such file or directory").
 */
int	 credential_read(struct credential *, const char *path, char *err,
	    size_t errlen);
bool	 credential_is_set(const struct credential *);
/* True when the bytes are visible ASCII: fit for a header value. */
bool	 credential_is_token(const struct credential *);
void	 credential_fini(struct credential *);	/* wipes */

#endif
