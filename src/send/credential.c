/*
 * credential.c - secrets for sinch-webhookd-send, from the command line or
 * from a file.  A file is read into one buffer of fixed size, so no
 * reallocation leaves a copy behind; its trailing newline is not part of
 * the secret, as with the daemon's secret files.  Every copy is wiped
 * when it is released.  Turning secrets into headers is authz.c's job.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	char	*p = NULL;
	size_t	 len = 0, used;
	ssize_t	 n;
	int	 fd = -1, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1 ||
	    (p = malloc(CREDENTIAL_MAX + 1)) == NULL)
		goto fail;
	/* One byte more than allowed tells a file that is too long. */
	while (len <= CREDENTIAL_MAX) {
		n = read(fd, p + len, CREDENTIAL_MAX + 1 - len);
		if (n == 0)
			break;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		len += (size_t)n;
	}
	used = len;
	if (used > 0 && p[used - 1] == '\n') {
		used--;
		if (used > 0 && p[used - 1] == '\r')
			used--;
	}
	if (len > CREDENTIAL_MAX)
		snprintf(err, errlen, "%s: longer than %d bytes", path,
		    CREDENTIAL_MAX);
	else if (used == 0)
		snprintf(err, errlen, "%s: empty", path);
	else if (credential_set(c, p, used) == -1)
		goto fail;
	else
		ret = 0;
	goto done;
fail:
	snprintf(err, errlen, "unable to read %s: %s", path, strerror(errno));
done:
	if (p != NULL) {
		explicit_bzero(p, len);
		free(p);
	}
	if (fd != -1)
		close(fd);
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
