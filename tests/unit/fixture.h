/*
 * fixture.h - shared helpers for the unit tests: reading files under
 * tests/data/, finding the shared Sinch vectors, and a fresh temporary
 * directory per test.
 */
#ifndef FIXTURE_H
#define FIXTURE_H

#include <sys/socket.h>

#include <check.h>

#include "buf.h"
#include "sink.h"

/* Reads tests/data/<rel>; aborts the test when it cannot. */
struct buf	*fixture_read(const char *rel);
/* Reads an absolute or cwd-relative path; NULL when it cannot. */
struct buf	*fixture_read_path(const char *path);
/* The repository's top directory. */
const char	*fixture_srcdir(void);
/*
 * The folder of shared Sinch vectors (../shared/vectors/sinch beside the
 * repository, or $SINCH_VECTORS), or NULL when it does not exist.
 */
const char	*fixture_vectors_dir(void);

/* A checked fixture: fixture_tmpdir() is a new empty directory. */
void		 fixture_tmp_setup(void);
void		 fixture_tmp_teardown(void);
const char	*fixture_tmpdir(void);
/* <tmpdir>/<name>, newly allocated. */
char		*fixture_tmp_path(const char *name);
/* Writes text to <tmpdir>/<name> and returns the full path (static). */
const char	*fixture_write(const char *name, const char *text);
/* A configuration of n sinks, all zero; aborts the test without memory. */
struct config	*fixture_config(size_t n);
/* An IPv4 or IPv6 address and a port; aborts the test on anything else. */
void		 fixture_sockaddr(const char *text, struct sockaddr_storage *);

/*
 * What each delivery was answered, by its index, passed as the done
 * callback's arg ((void *)(intptr_t)i, i < FIXTURE_ANSWERS_MAX).
 */
#define FIXTURE_ANSWERS_MAX	64
void		 fixture_answers_reset(void);
sink_done_fn	 fixture_on_done;
/* Waits up to 20 s for delivery i's verdict and returns it (-1: none). */
int		 fixture_answer_of(int i);
/* Its Retry-After, once answered. */
int		 fixture_answer_retry_after(int i);
/* How many deliveries were answered so far. */
int		 fixture_answers(void);

Suite	*suite_buf(void);
Suite	*suite_config(void);
Suite	*suite_jscan(void);
Suite	*suite_report(void);
Suite	*suite_record(void);
Suite	*suite_http(void);
Suite	*suite_connlimit(void);
Suite	*suite_lingering(void);
Suite	*suite_sink(void);
Suite	*suite_sink_exec(void);
Suite	*suite_dedup(void);
Suite	*suite_log(void);
Suite	*suite_auth(void);
Suite	*suite_metrics(void);
Suite	*suite_sns(void);
Suite	*suite_postgres(void);

#endif
