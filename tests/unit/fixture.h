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
/* Writes text to <tmpdir>/<name> and returns the full path (static). */
const char	*fixture_write(const char *name, const char *text);
/* An IPv4 or IPv6 address and a port; aborts the test on anything else. */
void		 fixture_sockaddr(const char *text, struct sockaddr_storage *);

Suite	*suite_buf(void);
Suite	*suite_config(void);
Suite	*suite_jscan(void);
Suite	*suite_report(void);
Suite	*suite_record(void);
Suite	*suite_http(void);
Suite	*suite_connlimit(void);
Suite	*suite_lingering(void);
Suite	*suite_sink(void);
Suite	*suite_dedup(void);
Suite	*suite_log(void);
Suite	*suite_auth(void);
Suite	*suite_metrics(void);
Suite	*suite_sns(void);
Suite	*suite_postgres(void);

#endif
