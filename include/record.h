/*
 * record.h - struct report -> the JSON record that sinks receive (DESIGN
 * section 4): normalised fields, then "payload", the callback as received
 * with only insignificant whitespace (and a leading byte order mark)
 * removed, all on one line.
 */
#ifndef RECORD_H
#define RECORD_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "report.h"

/*
 * Appends one record line, ending in '\n', to out.  body and len are the
 * raw bytes that report was decoded from, a byte order mark included if
 * there was one (the payload leaves it out); id is the request id;
 * received_at is when the request arrived (CLOCK_REALTIME).  Returns 0, or
 * -1 when out cannot grow.
 */
int	 record_encode(struct buf *out, const struct report *,
	    const char *id, const struct timespec *received_at,
	    const char *body, size_t len);

/*
 * Appends the len bytes at s as a JSON string literal, quotes included;
 * a NUL among them is written \u0000.
 */
int	 record_json_string(struct buf *out, const char *s, size_t len);

/*
 * Appends the JSON text body with the whitespace between tokens removed.
 * body must be valid JSON (report_decode accepted it).
 */
int	 record_minify(struct buf *out, const char *body, size_t len);

#endif
