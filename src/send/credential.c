/*
 * credential.c - secrets for sinch-webhookd-send, from the command line or
 * from a file.  A file is read into one buffer of fixed size, so no
 * reallocation leaves a copy behind; its trailing newline is not part of
 * the secret, as with the daemon's secret files.  Every copy is wiped
 * when it is released.  Turning secrets into headers is authz.c's job.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "send/credential.h"

void
credential_init(struct credential *c)
{
	c->data = NULL;
	c->len = 0;
}

int
credential_set(struct credential *c, const void *p, size_t len)
{
	char	*d;

	if ((d = malloc(len + 1)) == NULL)
		return -1;
	if (len > 0)
		memcpy(d, p, len);
	d[len] = '\0';
	credential_fini(c);
	c->data = d;
	c->len = len;
	return 0;
}

int
credential_read(struct credential *c, const char *path, char *err,
    size_t errlen)
{
	uint8_t	*p;
	size_t	 len = 0;
	int	 ret = -1;

	/* The daemon's own reader, so both agree on what a secret file is. */
	if ((p = auth_secret_load(path, &len)) == NULL) {
		if (errno == EFBIG)
			snprintf(err, errlen, "%s: longer than %d bytes", path,
			    CREDENTIAL_MAX);
		else if (errno == ENODATA)
			snprintf(err, errlen, "%s: empty", path);
		else
			snprintf(err, errlen, "unable to read %s: %s", path,
			    strerror(errno));
		return -1;
	}
	if (credential_set(c, p, len) == -1)
		snprintf(err, errlen, "unable to read %s: %s", path,
		    strerror(errno));
	else
		ret = 0;
	explicit_bzero(p, len);
	free(p);
	return ret;
}

bool
credential_is_set(const struct credential *c)
{
	return c->data != NULL;
}

bool
credential_is_token(const struct credential *c)
{
	size_t	i;
	bool	ok = c->data != NULL && c->len > 0;

	for (i = 0; ok && i < c->len; i++)
		ok = c->data[i] > ' ' && c->data[i] < 0x7f;
	return ok;
}

void
credential_fini(struct credential *c)
{
	if (c->data != NULL) {
		explicit_bzero(c->data, c->len);
		free(c->data);
	}
	credential_init(c);
}
