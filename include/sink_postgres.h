/*
 * sink_postgres.h - building blocks of the postgres sink, exported for
 * the tests.  The sink itself is sink_postgres_ops (sink.h).
 */
#ifndef SINK_POSTGRES_H
#define SINK_POSTGRES_H

#include <stddef.h>

#include "buf.h"
#include "report.h"

/*
 * Appends the record line, less its newline, with each escape that
 * jsonb cannot hold (\u0000, and a surrogate without its other half)
 * written as \ufffd.  Returns the number replaced, or (size_t)-1 when
 * memory ran out.
 */
size_t	pg_jsonb_text(struct buf *out, const char *line, size_t len);
/*
 * Appends the report's "at" when PostgreSQL reads it as the same UTC
 * time, else nothing.  Returns 0, or -1 when memory ran out.
 */
int	pg_at(struct buf *out, const struct report *);

#endif
