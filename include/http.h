/*
 * http.h - the listener: request lifecycle, early refusals, and the
 * mapping of decoder and sink outcomes to HTTP status codes.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
#include "config.h"
#include "sink.h"

/* Seconds Sinch is told to wait on 503 and 429. */
#define HTTP_RETRY_AFTER_S	5

struct http;

/*
 * Binds the configured address and starts serving with sinks (not
 * owned).  Takes ownership of auth.  Returns NULL with a reason in err.
 */
struct http	*http_start(const struct config *, struct sinks *,
		    struct auth *, char *err, size_t errlen);
/* Swaps in new secrets (SIGHUP).  Takes ownership of auth. */
void		 http_set_auth(struct http *, struct auth *);
/* The port actually bound (useful with port 0). */
int		 http_port(const struct http *);
/*
 * Stops accepting connections; requests that arrive on open connections
 * from now on are answered 503.
 */
void		 http_quiesce(struct http *);
/*
 * Waits up to timeout_ms for requests in flight, and with fresh_too for
 * connections that have not sent their request yet; true when none is
 * left.
 */
bool		 http_wait_idle(struct http *, int timeout_ms, bool fresh_too);
/* Closes every connection and frees h.  Sinks must be drained first. */
void		 http_stop(struct http *);

int		 http_status_for_verdict(enum sink_verdict);
bool		 http_content_type_is_json(const char *);

#endif
