/*
 * fixture.c - helpers shared by the unit test suites.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fixture.h"

#define FIXTURE_ANSWER_WAIT_S	20

static char	tmpdir[PATH_MAX];

/* What each delivery, by its index, was answered. */
static struct {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 calls;
	int			 verdict[FIXTURE_ANSWERS_MAX];
	int			 retry_after_s[FIXTURE_ANSWERS_MAX];
} answers = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

const char *
fixture_srcdir(void)
{
	const char	*d = getenv("SINCH_WEBHOOKD_SRCDIR");

	return d != NULL && *d != '\0' ? d : ".";
}

struct buf *
fixture_read_path(const char *path)
{
	struct buf	*b;
	char		 chunk[8192];
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if ((b = buf_new(0)) == NULL) {
		close(fd);
		return NULL;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_append(b, chunk, (size_t)n) == -1)
			break;
	close(fd);
	if (n != 0) {
		buf_free(b);
		return NULL;
	}
	/* An empty file still gets a NUL-terminated buffer. */
	if (b->data == NULL && buf_reserve(b, 0) == -1) {
		buf_free(b);
		return NULL;
	}
	return b;
}

struct buf *
fixture_read(const char *rel)
{
	char		 path[PATH_MAX];
	struct buf	*b;

	snprintf(path, sizeof(path), "%s/tests/data/%s", fixture_srcdir(),
	    rel);
	b = fixture_read_path(path);
	ck_assert_msg(b != NULL, "unable to read %s: %s", path,
	    strerror(errno));
	return b;
}

const char *
fixture_vectors_dir(void)
{
	static char	 path[PATH_MAX];
	const char	*env = getenv("SINCH_VECTORS");
	struct stat	 st;

	if (env != NULL && *env != '\0')
		snprintf(path, sizeof(path), "%s", env);
	else
		snprintf(path, sizeof(path), "%s/../shared/vectors/sinch",
		    fixture_srcdir());
	if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode))
		return NULL;
	return path;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
fixture_tmp_setup(void)
{
	const char	*base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/sinch-webhookd-unit.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

void
fixture_tmp_teardown(void)
{
	if (tmpdir[0] != '\0')
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = '\0';
}

const char *
fixture_tmpdir(void)
{
	return tmpdir;
}

const char *
fixture_write(const char *name, const char *text)
{
	static char	 path[PATH_MAX];
	FILE		*f;

	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/%s", tmpdir, name),
	    (int)sizeof(path));
	f = fopen(path, "w");
	ck_assert_msg(f != NULL, "unable to create %s", path);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

void
fixture_sockaddr(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(4711);
		return;
	}
	ck_assert_msg(inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1,
	    "not an address: %s", text);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(4711);
}

void
fixture_answers_reset(void)
{
	pthread_mutex_lock(&answers.lock);
	answers.calls = 0;
	for (int i = 0; i < FIXTURE_ANSWERS_MAX; i++) {
		answers.verdict[i] = -1;
		answers.retry_after_s[i] = -1;
	}
	pthread_mutex_unlock(&answers.lock);
}

void
fixture_on_done(void *arg, enum sink_verdict v, const char *failed,
    int retry_after_s)
{
	int	i = (int)(intptr_t)arg;

	(void)failed;
	ck_assert_int_lt(i, FIXTURE_ANSWERS_MAX);
	pthread_mutex_lock(&answers.lock);
	answers.calls++;
	answers.verdict[i] = (int)v;
	answers.retry_after_s[i] = retry_after_s;
	pthread_cond_broadcast(&answers.cond);
	pthread_mutex_unlock(&answers.lock);
}

int
fixture_answer_of(int i)
{
	struct timespec	deadline;
	int		v;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += FIXTURE_ANSWER_WAIT_S;
	pthread_mutex_lock(&answers.lock);
	while (answers.verdict[i] == -1)
		if (pthread_cond_timedwait(&answers.cond, &answers.lock,
		    &deadline) != 0)
			break;
	v = answers.verdict[i];
	pthread_mutex_unlock(&answers.lock);
	return v;
}

int
fixture_answer_retry_after(int i)
{
	int	s;

	pthread_mutex_lock(&answers.lock);
	s = answers.retry_after_s[i];
	pthread_mutex_unlock(&answers.lock);
	return s;
}

int
fixture_answers(void)
{
	int	n;

	pthread_mutex_lock(&answers.lock);
	n = answers.calls;
	pthread_mutex_unlock(&answers.lock);
	return n;
}

char *
fixture_tmp_path(const char *name)
{
	char	*p;

	ck_assert_int_ne(asprintf(&p, "%s/%s", fixture_tmpdir(), name), -1);
	return p;
}

struct config *
fixture_config(size_t n)
{
	struct config	*cfg = calloc(1, sizeof(*cfg));

	ck_assert_ptr_nonnull(cfg);
	cfg->sinks = calloc(n, sizeof(*cfg->sinks));
	ck_assert_ptr_nonnull(cfg->sinks);
	cfg->nsinks = n;
	return cfg;
}
