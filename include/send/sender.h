/*
 * sender.h - sinch-webhookd-send: one libcurl handle that POSTs bodies
 * over HTTP or HTTPS (server verification, client certificate) and
 * collects each answer: status, reason phrase, the headers the tool
 * reports, and the start of the body.  Connections are kept between
 * requests.  Nothing here prints; the caller chooses what to show.
 */
#ifndef SEND_SENDER_H
#define SEND_SENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Bytes of an answer's body that are kept; the rest is read and dropped. */
#define SENDER_BODY_MAX	65536

struct sender_tls {
	const char	*cacert;	/* CA bundle (PEM), or NULL: system */
	const char	*cert;		/* client certificate (PEM), or NULL */
	const char	*key;		/* its key, or NULL: in cert */
	bool		 insecure;	/* do not verify the server */
};

struct sender_answer {
	long		 status;		/* 0 when none came */
	char		 reason[128];		/* status line's reason phrase */
	char		 request_id[128];	/* X-Request-Id, or "" */
	char		 retry_after[64];	/* Retry-After, or "" */
	struct buf	 body;			/* at most SENDER_BODY_MAX */
	char		 error[256];		/* why no answer came */
};

/* tls is copied (not its strings, which must outlive the sender). */
struct sender	*sender_new(const struct sender_tls *, long timeout_s,
		    char *err, size_t errlen);
void		 sender_free(struct sender *);

/* The body's buffer is reserved once, so it never leaves copies behind. */
int		 sender_answer_init(struct sender_answer *);
void		 sender_answer_fini(struct sender_answer *);	/* wipes */

/*
 * POSTs len bytes of body, unchanged, to url with the header lines
 * ("Name: value", NULL-terminated; "Expect:" is added, so libcurl never
 * waits for 100 Continue).  Returns 0 when an answer came, whatever its
 * status, or -1 with libcurl's text in answer->error.  The header lines
 * libcurl was given are wiped afterwards: they may hold credentials.
 */
int		 sender_post(struct sender *, const char *url,
		    const char *const *headers, const char *body, size_t len,
		    struct sender_answer *);

/*
 * One printable line that says what the answer means: the first line of
 * its body (the daemon answers a one-line reason), else the reason phrase.
 * Control characters become '?'; long lines are cut.
 */
void		 sender_answer_line(const struct sender_answer *, char *out,
		    size_t outlen);

#endif
