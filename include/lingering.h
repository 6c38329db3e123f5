/*
 * lingering.h - a lingering close for connections answered before their
 * request body was read.
 *
 * Closing a socket while the client's bytes are still unread makes the
 * kernel send a reset, and a client that sends its whole body before it
 * reads (Python's http.client, most libraries) then sees "connection
 * reset" instead of the early 413 or 401.  The listener has already sent
 * the answer and shut down its write side; a lingering socket is then
 * read and dropped until the client closes, LINGERING_IDLE_S pass without a
 * byte, LINGERING_TIME_S pass in all or max_bytes have come, and only then
 * closed.  At most LINGERING_MAX sockets linger at once; more are closed at
 * once.
 */
#ifndef LINGERING_H
#define LINGERING_H

#include <stddef.h>

#define LINGERING_MAX	256
#define LINGERING_IDLE_S	5
#define LINGERING_TIME_S	30

struct lingering;

/* Starts the draining thread.  NULL with a reason in err. */
struct lingering	*lingering_new(size_t max_bytes, char *err, size_t errlen);
/* Closes every socket still lingering and stops the thread. */
void		 lingering_free(struct lingering *);
/* Takes ownership of fd, a connected socket; thread safe. */
void		 lingering_add(struct lingering *, int fd);

#endif
