/*
 * connlimit.h - which new connections the listener takes.
 *
 * At most limits.max_connections are open at once, and at most
 * limits.max_connections_per_address from one client address (an IPv6
 * client by its /64), except from the trusted proxies, which carry many
 * clients and are bounded by the total alone.  A refusal is counted in
 * the metrics and logged once per interval, never once per connection.
 */
#ifndef CONNLIMIT_H
#define CONNLIMIT_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Seconds between two log lines about refused connections. */
#define CONNLIMIT_LOG_INTERVAL_S	10

enum connlimit_verdict {
	CONNLIMIT_OK,
	CONNLIMIT_FULL,			/* limits.max_connections */
	CONNLIMIT_ADDRESS		/* limits.max_connections_per_address */
};

struct connlimit;

struct connlimit	*connlimit_new(const struct config *, char *err,
			    size_t errlen);
void			 connlimit_free(struct connlimit *);

/*
 * Whether a connection from sa may be taken now.  It is not counted
 * until connlimit_opened(): callers that race past the check together
 * can exceed a limit by their number, never leak a count.
 */
enum connlimit_verdict	 connlimit_admit(struct connlimit *,
			    const struct sockaddr *sa);
/*
 * A connection from sa opened or closed; the pair must get the same sa.
 * connlimit_opened() returns whether it counted sa against its address,
 * which connlimit_closed() is then told.
 */
bool			 connlimit_opened(struct connlimit *,
			    const struct sockaddr *sa);
void			 connlimit_closed(struct connlimit *,
			    const struct sockaddr *sa, bool by_address);
/* Connections open now. */
size_t			 connlimit_count(struct connlimit *);

#endif
