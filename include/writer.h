/*
 * writer.h - a thread that appends record lines to one descriptor with
 * group commit.  The file and stdout sinks are thin layers over it.
 */
#ifndef WRITER_H
#define WRITER_H

#include <stdbool.h>
#include <stddef.h>

#include "sink.h"

/* Jobs queued beyond this are answered SINK_BUSY at once. */
#define WRITER_MAX_QUEUE	65536

struct writer;

/*
 * Opens path for appending (creating it), or, with path NULL, writes to
 * fd, which it does not own.  With sync, a job is answered SINK_OK only
 * after its line is on disk; jobs queued together share one fdatasync.
 * Without sync, a regular file is written by writer_submit's caller,
 * which gets its answer before writer_submit returns.
 * Log lines and err start with "<module>: <name>:".  Returns NULL with a
 * reason in err.
 */
struct writer	*writer_open(const char *module, const char *name,
		    const char *path, int fd, bool sync, char *err,
		    size_t errlen);
void		 writer_submit(struct writer *, struct sink_job *);
/* Asks the thread to reopen path before its next batch. */
void		 writer_reopen(struct writer *);
/* Writes what is queued, answers it, and stops the thread. */
void		 writer_drain(struct writer *);
/* False while the last write or sync failed. */
bool		 writer_healthy(struct writer *);
void		 writer_close(struct writer *);

#endif
