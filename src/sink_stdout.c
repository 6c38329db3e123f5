/*
 * sink_stdout.c - writes each record as one line on standard output, for
 * journald and containers.  No fsync: what reads the stream decides about
 * durability.  A reader that stalls holds up only this sink's thread.
 */
#include <unistd.h>

#include "sink.h"
#include "writer.h"

static int
sink_stdout_open(struct sink *sk, char *err, size_t errlen)
{
	sk->impl = writer_open("sink_stdout", sk->cfg->name, NULL,
	    STDOUT_FILENO, false, err, errlen);
	return sk->impl == NULL ? -1 : 0;
}

static void
sink_stdout_submit(struct sink *sk, struct sink_job *job)
{
	writer_submit(sk->impl, job);
}

static void
sink_stdout_drain(struct sink *sk)
{
	writer_drain(sk->impl);
}

static void
sink_stdout_close(struct sink *sk)
{
	writer_close(sk->impl);
	sk->impl = NULL;
}

static bool
sink_stdout_healthy(struct sink *sk)
{
	return writer_healthy(sk->impl);
}

const struct sink_ops sink_stdout_ops = {
	.kind = "stdout",
	.open = sink_stdout_open,
	.submit = sink_stdout_submit,
	.reopen = NULL,
	.drain = sink_stdout_drain,
	.close = sink_stdout_close,
	.healthy = sink_stdout_healthy,
};
