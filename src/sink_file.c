/*
 * sink_file.c - appends each record to a JSON-lines file.  With fsync (the
 * default) a report is answered only once its line is on disk, and
 * concurrent requests share one fdatasync.  Reopened on SIGHUP for
 * logrotate.  The queueing and writing live in writer.c.
 */
#include "sink.h"
#include "writer.h"

static int
sink_file_open(struct sink *sk, char *err, size_t errlen)
{
	sk->impl = writer_open("sink_file", sk->cfg->name, sk->cfg->path,
	    -1, sk->cfg->fsync, err, errlen);
	return sk->impl == NULL ? -1 : 0;
}

static void
sink_file_submit(struct sink *sk, struct sink_job *job)
{
	writer_submit(sk->impl, job);
}

static void
sink_file_reopen(struct sink *sk)
{
	writer_reopen(sk->impl);
}

static void
sink_file_drain(struct sink *sk)
{
	writer_drain(sk->impl);
}

static void
sink_file_close(struct sink *sk)
{
	writer_close(sk->impl);
	sk->impl = NULL;
}

static bool
sink_file_healthy(struct sink *sk)
{
	return writer_healthy(sk->impl);
}

const struct sink_ops sink_file_ops = {
	.kind = "file",
	.open = sink_file_open,
	.submit = sink_file_submit,
	.reopen = sink_file_reopen,
	.drain = sink_file_drain,
	.close = sink_file_close,
	.healthy = sink_file_healthy,
};
