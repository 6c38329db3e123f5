/*
 * sns.c - the AWS SNS route's state: the topic allow list, the signing
 * certificates, and the one thread that fetches them and confirms
 * subscriptions.
 *
 * Certificates are cached by URL for the life of the process: SNS signs
 * with a handful of them (one per region, renewed yearly), and an entry,
 * once published, is never changed or freed until sns_free(), so a
 * request verifies with it outside the lock.  Only a well-formed URL on
 * an SNS host, in an envelope for an allowed topic, is ever fetched, one
 * fetch at a time; a failed fetch is remembered for a few seconds so that
 * a burst of callbacks does not become a burst of fetches.  With
 * sns.cert_dir, certificates are read from there instead and nothing is
 * fetched at all.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "buf.h"
#include "log.h"
#include "metrics.h"
#include "sns.h"
#include "version.h"

/* Certificates cached at most; beyond, they are used but not kept. */
#define SNS_CERTS_MAX		64
/* A certificate is a few KiB of PEM. */
#define SNS_CERT_BYTES_MAX	(64u << 10)
/* An answer to a confirmation is a short XML document. */
#define SNS_CONFIRM_BYTES_MAX	(64u << 10)
/* Seconds a failed fetch is answered 503 from memory. */
#define SNS_FAIL_HOLD_S		5
#define SNS_FAILS_MAX		16
/* Requests waiting for the fetch thread, at most. */
#define SNS_JOBS_MAX		256
/* A fetch ends well within the route's deadline. */
#define SNS_CONNECT_TIMEOUT_MS	4000L
#define SNS_FETCH_TIMEOUT_MS	8000L
#define SNS_URL_MAX		2048

#define nitems(a)		(sizeof(a) / sizeof((a)[0]))

/* Reasons, also the labels of auth_failures_total: a fixed set. */
#define SNS_WHY_CERT_URL	"SNS certificate URL not allowed"
#define SNS_WHY_TOPIC		"SNS topic not allowed"
#define SNS_WHY_CERT_DATES	"SNS signing certificate not valid now"
#define SNS_WHY_SIGNATURE	"SNS signature does not verify"
#define SNS_WHY_TIMESTAMP	"SNS timestamp too old or too new"
#define SNS_WHY_SUBSCRIBE_URL	"SNS SubscribeURL not allowed"
#define SNS_WHY_NO_CERT		"SNS signing certificate unavailable, retry later"
#define SNS_WHY_CONFIRM		"SNS subscription not confirmed, retry later"
#define SNS_WHY_BUSY		"too many SNS fetches waiting, retry later"
#define SNS_WHY_STOPPING	"shutting down, retry later"

/* A signing certificate: immutable once in the table. */
struct sns_cert {
	char			*url;
	gnutls_pubkey_t		 key;
	time_t			 not_before;
	time_t			 not_after;
};

/* A fetch that failed lately. */
struct sns_fail {
	char			 url[SNS_URL_MAX];
	time_t			 at;		/* CLOCK_MONOTONIC seconds */
};

enum sns_job_kind {
	SNS_JOB_CHECK,
	SNS_JOB_CONFIRM
};

struct sns_job {
	struct sns_job			*next;
	enum sns_job_kind		 kind;
	const struct sns_envelope	*e;
	sns_done_fn			 done;
	void				*arg;
};

struct sns {
	const struct config	*cfg;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct sns_cert		 certs[SNS_CERTS_MAX];	/* under lock */
	size_t			 ncerts;
	bool			 full_warned;
	struct sns_fail		 fails[SNS_FAILS_MAX];	/* under lock */
	size_t			 nextfail;
	struct sns_job		*head;			/* under lock */
	struct sns_job		**tail;
	size_t			 njobs;
	bool			 stop;			/* under lock */
	atomic_bool		 stopping;		/* cuts fetches short */
	pthread_t		 thread;
	bool			 started;
	bool			 curl;		/* curl_global_init() done */
	const char		*ca_file;	/* SNS_ENV_CA_FILE, or NULL */
	struct curl_slist	*connect_to;	/* SNS_ENV_CONNECT_TO */
};

static time_t
monotonic_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void
set_reason(char *reason, size_t len, const char *why)
{
	if (len > 0)
		snprintf(reason, len, "%s", why);
}

/* The certificate cached for url, or NULL; the caller holds the lock. */
static const struct sns_cert *
cert_lookup(const struct sns *sns, const char *url)
{
	size_t	i;

	for (i = 0; i < sns->ncerts; i++)
		if (strcmp(sns->certs[i].url, url) == 0)
			return &sns->certs[i];
	return NULL;
}

static const struct sns_cert *
cert_find(struct sns *sns, const char *url)
{
	const struct sns_cert	*c;

	pthread_mutex_lock(&sns->lock);
	c = cert_lookup(sns, url);
	pthread_mutex_unlock(&sns->lock);
	return c;
}

/* Whether a fetch of url failed lately. */
static bool
fail_recent(struct sns *sns, const char *url)
{
	time_t	now = monotonic_s();
	bool	found = false;
	size_t	i;

	pthread_mutex_lock(&sns->lock);
	for (i = 0; i < nitems(sns->fails); i++)
		if (sns->fails[i].url[0] != '\0' &&
		    now - sns->fails[i].at < SNS_FAIL_HOLD_S &&
		    strcmp(sns->fails[i].url, url) == 0) {
			found = true;
			break;
		}
	pthread_mutex_unlock(&sns->lock);
	return found;
}

static void
fail_note(struct sns *sns, const char *url)
{
	struct sns_fail	*f;

	pthread_mutex_lock(&sns->lock);
	f = &sns->fails[sns->nextfail++ % nitems(sns->fails)];
	snprintf(f->url, sizeof(f->url), "%s", url);
	f->at = monotonic_s();
	pthread_mutex_unlock(&sns->lock);
}

/*
 * A certificate from PEM (or DER) bytes into c.  Returns 0, or -1 with a
 * reason in err.
 */
static int
cert_parse(struct sns_cert *c, const char *data, size_t len, char *err,
    size_t errlen)
{
	gnutls_x509_crt_t	 crt;
	gnutls_datum_t		 d = { (unsigned char *)data,
				    (unsigned int)len };
	int			 rc;

	c->key = NULL;
	if ((rc = gnutls_x509_crt_init(&crt)) < 0) {
		snprintf(err, errlen, "%s", gnutls_strerror(rc));
		return -1;
	}
	rc = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM);
	if (rc < 0)
		rc = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER);
	if (rc >= 0) {
		c->not_before = gnutls_x509_crt_get_activation_time(crt);
		c->not_after = gnutls_x509_crt_get_expiration_time(crt);
		if ((rc = gnutls_pubkey_init(&c->key)) >= 0 &&
		    (rc = gnutls_pubkey_import_x509(c->key, crt, 0)) < 0) {
			gnutls_pubkey_deinit(c->key);
			c->key = NULL;
		}
	}
	gnutls_x509_crt_deinit(crt);
	if (rc < 0) {
		snprintf(err, errlen, "not a certificate: %s",
		    gnutls_strerror(rc));
		return -1;
	}
	return 0;
}

static void
cert_fini(struct sns_cert *c)
{
	if (c->key != NULL)
		gnutls_pubkey_deinit(c->key);
	free(c->url);
	memset(c, 0, sizeof(*c));
}

/*
 * Publishes c and returns the table's entry; c is taken, or freed when
 * the URL is there already.  When the table is full, returns NULL and c
 * stays the caller's.
 */
static const struct sns_cert *
cert_add(struct sns *sns, struct sns_cert *c)
{
	const struct sns_cert	*added;

	pthread_mutex_lock(&sns->lock);
	/* Read or fetched meanwhile by another thread: keep the first. */
	if ((added = cert_lookup(sns, c->url)) != NULL) {
		cert_fini(c);
		goto done;
	}
	if (sns->ncerts < nitems(sns->certs)) {
		sns->certs[sns->ncerts] = *c;
		added = &sns->certs[sns->ncerts++];
		memset(c, 0, sizeof(*c));
	} else if (!sns->full_warned) {
		sns->full_warned = true;
		log_warnx("sns: %zu signing certificates cached, the most "
		    "kept; more are fetched each time they are needed",
		    nitems(sns->certs));
	}
done:
	pthread_mutex_unlock(&sns->lock);
	return added;
}


/* The last path segment of a certificate URL: its name in cert_dir. */
static const char *
url_file_name(const char *url)
{
	const char	*slash = strrchr(url, '/');

	return slash != NULL ? slash + 1 : url;
}

/* Reads the certificate for url from sns.cert_dir into b. */
static int
cert_read(struct sns *sns, const char *url, struct buf *b, char *err,
    size_t errlen)
{
	const char	*name = url_file_name(url);
	char		 chunk[4096];
	ssize_t		 n;
	int		 dfd, fd;

	/*
	 * One plain file name: sns_url_allowed() checks the host, not the
	 * path's segments.
	 */
	if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL) {
		snprintf(err, errlen, "no file name in the URL");
		return -1;
	}
	if ((dfd = open(sns->cfg->sns_cert_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 ||
	    (fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1) {
		snprintf(err, errlen, "%s/%s: %s", sns->cfg->sns_cert_dir,
		    name, strerror(errno));
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	close(dfd);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (b->len + (size_t)n > SNS_CERT_BYTES_MAX ||
		    buf_append(b, chunk, (size_t)n) == -1) {
			n = -1;
			errno = EFBIG;
			break;
		}
	close(fd);
	if (n == -1) {
		snprintf(err, errlen, "%s/%s: %s", sns->cfg->sns_cert_dir,
		    name, strerror(errno));
		return -1;
	}
	return 0;
}

/* What a transfer collects: at most max bytes. */
struct sns_body {
	struct buf	*b;
	size_t		 max;
};

static size_t
curl_write(char *p, size_t size, size_t n, void *arg)
{
	struct sns_body	*body = arg;

	if (body->b->len + n > body->max || buf_append(body->b, p, n) == -1)
		return 0;		/* the transfer fails */
	(void)size;			/* always 1 */
	return n;
}

static int
curl_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct sns	*sns = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return atomic_load(&sns->stopping) ? 1 : 0;
}

/*
 * GETs url, which sns_url_allowed() passed, over HTTPS with the peer and
 * the host verified, no redirect, at most max bytes into b.  Returns the
 * HTTP status, or -1 with a reason in err.
 */
static long
https_get(struct sns *sns, const char *url, struct buf *b, size_t max,
    char *err, size_t errlen)
{
	char		 cerr[CURL_ERROR_SIZE];
	struct sns_body	 body = { b, max };
	CURL		*c;
	CURLcode	 rc;
	long		 status = -1;

	if ((c = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "unable to start a transfer");
		return -1;
	}
	cerr[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
	if (sns->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, sns->ca_file);
	if (sns->connect_to != NULL)
		curl_easy_setopt(c, CURLOPT_CONNECT_TO, sns->connect_to);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, SNS_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, SNS_FETCH_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "sinch-webhookd/" VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, curl_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, sns);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	if ((rc = curl_easy_perform(c)) != CURLE_OK)
		snprintf(err, errlen, "%s", rc == CURLE_WRITE_ERROR ?
		    "answer too large" : cerr[0] != '\0' ? cerr :
		    curl_easy_strerror(rc));
	else
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	return status;
}

/*
 * The certificate for url: cached, read from sns.cert_dir, or (in the
 * fetch thread only, with may_fetch) fetched.  Returns NULL when it
 * cannot be had now, or, without may_fetch, has to be fetched: *fetch is
 * then true.  A certificate that the full table could not take is
 * returned in *spare, to be freed by the caller after use.
 */
static const struct sns_cert *
cert_get(struct sns *sns, const char *url, bool may_fetch, bool *fetch,
    struct sns_cert *spare)
{
	const struct sns_cert	*c;
	struct sns_cert		 nc = { NULL, NULL, 0, 0 };
	struct buf		 b;
	char			 err[256];
	long			 status = 0;

	*fetch = false;
	if ((c = cert_find(sns, url)) != NULL)
		return c;
	if (sns->cfg->sns_cert_dir == NULL) {
		if (fail_recent(sns, url))
			return NULL;
		if (!may_fetch) {
			*fetch = true;
			return NULL;
		}
	}
	buf_init(&b);
	if (sns->cfg->sns_cert_dir != NULL) {
		if (cert_read(sns, url, &b, err, sizeof(err)) == -1)
			goto fail;
	} else if ((status = https_get(sns, url, &b, SNS_CERT_BYTES_MAX, err,
	    sizeof(err))) != 200) {
		if (status != -1)
			snprintf(err, sizeof(err), "HTTP status %ld", status);
		goto fail;
	}
	if (cert_parse(&nc, b.data != NULL ? b.data : "", b.len, err,
	    sizeof(err)) == -1 || (nc.url = strdup(url)) == NULL) {
		if (nc.key != NULL)
			snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	buf_fini(&b);
	metrics_sns_fetch(true);
	log_info("sns: signing certificate %s %s", url,
	    sns->cfg->sns_cert_dir != NULL ? "read from sns.cert_dir" :
	    "fetched");
	if ((c = cert_add(sns, &nc)) == NULL)
		*spare = nc;
	return c != NULL ? c : spare;
fail:
	buf_fini(&b);
	cert_fini(&nc);
	metrics_sns_fetch(false);
	if (sns->cfg->sns_cert_dir != NULL)
		log_error("sns: signing certificate %s is not in sns.cert_dir "
		    "(%s): download it there; until then such callbacks are "
		    "answered 503", url, err);
	else {
		fail_note(sns, url);
		log_warnx("sns: unable to fetch the signing certificate %s: "
		    "%s", url, err);
	}
	return NULL;
}

/* Signature, then certificate dates, then timestamp, with c's key. */
static enum sns_verdict
check_with(struct sns *sns, const struct sns_envelope *e,
    const struct sns_cert *c, char *reason, size_t reasonlen)
{
	char	err[128];
	time_t	now = time(NULL);

	if (sns_verify(e, c->key, err, sizeof(err)) == -1) {
		/* The caller logs the reason; this says more, if it can. */
		if (strcmp(err, SNS_WHY_SIGNATURE) != 0)
			log_warnx("sns: %s", err);
		set_reason(reason, reasonlen, SNS_WHY_SIGNATURE);
		return SNS_FORBIDDEN;
	}
	if (now < c->not_before || now > c->not_after) {
		log_warnx("sns: signing certificate %s is not valid now",
		    e->signing_cert_url);
		set_reason(reason, reasonlen, SNS_WHY_CERT_DATES);
		return SNS_FORBIDDEN;
	}
	if (e->timestamp_s < (long long)now - sns->cfg->sns_max_skew_s ||
	    e->timestamp_s > (long long)now + sns->cfg->sns_max_skew_s) {
		set_reason(reason, reasonlen, SNS_WHY_TIMESTAMP);
		return SNS_FORBIDDEN;
	}
	return SNS_OK;
}

/* The check once the certificate is there, or not to be had. */
static enum sns_verdict
check_cert(struct sns *sns, const struct sns_envelope *e, bool may_fetch,
    char *reason, size_t reasonlen, bool *fetch)
{
	const struct sns_cert	*c;
	struct sns_cert		 spare = { NULL, NULL, 0, 0 };
	enum sns_verdict	 v;

	c = cert_get(sns, e->signing_cert_url, may_fetch, fetch, &spare);
	if (c == NULL) {
		set_reason(reason, reasonlen, SNS_WHY_NO_CERT);
		return SNS_UNAVAILABLE;
	}
	v = check_with(sns, e, c, reason, reasonlen);
	cert_fini(&spare);
	return v;
}

static bool
topic_allowed(const struct sns *sns, const char *arn)
{
	size_t	i;

	for (i = 0; i < sns->cfg->nsns_topics; i++)
		if (strcmp(sns->cfg->sns_topics[i], arn) == 0)
			return true;
	return false;
}

/* Queues a job for the fetch thread; SNS_PENDING or SNS_UNAVAILABLE. */
static enum sns_verdict
enqueue(struct sns *sns, enum sns_job_kind kind,
    const struct sns_envelope *e, sns_done_fn done, void *arg,
    char *reason, size_t reasonlen)
{
	struct sns_job	*job;
	const char	*why = NULL;

	if ((job = calloc(1, sizeof(*job))) == NULL) {
		set_reason(reason, reasonlen, "out of memory, retry later");
		return SNS_UNAVAILABLE;
	}
	job->kind = kind;
	job->e = e;
	job->done = done;
	job->arg = arg;
	pthread_mutex_lock(&sns->lock);
	if (sns->stop)
		why = SNS_WHY_STOPPING;
	else if (sns->njobs >= SNS_JOBS_MAX)
		why = SNS_WHY_BUSY;
	else {
		*sns->tail = job;
		sns->tail = &job->next;
		sns->njobs++;
		pthread_cond_signal(&sns->cond);
	}
	pthread_mutex_unlock(&sns->lock);
	if (why != NULL) {
		free(job);
		set_reason(reason, reasonlen, why);
		return SNS_UNAVAILABLE;
	}
	return SNS_PENDING;
}

enum sns_verdict
sns_check(struct sns *sns, const struct sns_envelope *e, char *reason,
    size_t reasonlen, sns_done_fn done, void *arg)
{
	enum sns_verdict	 v;
	bool			 fetch;

	if (!sns_url_allowed(e->signing_cert_url, true)) {
		set_reason(reason, reasonlen, SNS_WHY_CERT_URL);
		return SNS_FORBIDDEN;
	}
	/* Nobody makes the daemon fetch for a topic it does not serve. */
	if (!topic_allowed(sns, e->topic_arn)) {
		set_reason(reason, reasonlen, SNS_WHY_TOPIC);
		return SNS_FORBIDDEN;
	}
	v = check_cert(sns, e, false, reason, reasonlen, &fetch);
	if (!fetch)
		return v;
	return enqueue(sns, SNS_JOB_CHECK, e, done, arg, reason, reasonlen);
}

enum sns_verdict
sns_confirm(struct sns *sns, const struct sns_envelope *e, char *reason,
    size_t reasonlen, sns_done_fn done, void *arg)
{
	if (e->subscribe_url == NULL ||
	    !sns_url_allowed(e->subscribe_url, false)) {
		set_reason(reason, reasonlen, SNS_WHY_SUBSCRIBE_URL);
		return SNS_FORBIDDEN;
	}
	return enqueue(sns, SNS_JOB_CONFIRM, e, done, arg, reason, reasonlen);
}

/* Confirms a subscription: a GET of SubscribeURL answered 2xx. */
static enum sns_verdict
confirm(struct sns *sns, const struct sns_envelope *e, char *reason,
    size_t reasonlen)
{
	struct buf	 b;
	char		 err[256];
	long		 status;

	buf_init(&b);
	status = https_get(sns, e->subscribe_url, &b, SNS_CONFIRM_BYTES_MAX,
	    err, sizeof(err));
	buf_fini(&b);
	if (status >= 200 && status <= 299) {
		metrics_sns_confirm(true);
		log_info("sns: subscription to %s confirmed", e->topic_arn);
		return SNS_OK;
	}
	if (status != -1)
		snprintf(err, sizeof(err), "HTTP status %ld", status);
	metrics_sns_confirm(false);
	log_warnx("sns: unable to confirm the subscription to %s: %s",
	    e->topic_arn, err);
	set_reason(reason, reasonlen, SNS_WHY_CONFIRM);
	return SNS_UNAVAILABLE;
}

static void *
sns_thread(void *arg)
{
	struct sns		*sns = arg;
	struct sns_job		*job;
	enum sns_verdict	 v;
	char			 reason[128];
	bool			 stop, fetch;

	for (;;) {
		pthread_mutex_lock(&sns->lock);
		while (sns->head == NULL && !sns->stop)
			pthread_cond_wait(&sns->cond, &sns->lock);
		job = sns->head;
		if (job != NULL) {
			if ((sns->head = job->next) == NULL)
				sns->tail = &sns->head;
			sns->njobs--;
		}
		stop = sns->stop;
		pthread_mutex_unlock(&sns->lock);
		if (job == NULL)
			break;			/* stopping, nothing left */
		reason[0] = '\0';
		if (stop) {
			v = SNS_UNAVAILABLE;
			set_reason(reason, sizeof(reason), SNS_WHY_STOPPING);
		} else if (job->kind == SNS_JOB_CONFIRM)
			v = confirm(sns, job->e, reason, sizeof(reason));
		else
			v = check_cert(sns, job->e, true, reason,
			    sizeof(reason), &fetch);
		job->done(job->arg, v, v == SNS_OK ? NULL : reason);
		free(job);
	}
	return NULL;
}

/* Test-only: SNS_ENV_CONNECT_TO's comma-separated entries. */
static int
connect_to_parse(struct sns *sns, const char *s, char *err, size_t errlen)
{
	struct curl_slist	*l;
	char			*copy, *tok, *save = NULL;

	if ((copy = strdup(s)) == NULL) {
		snprintf(err, errlen, "sns: out of memory");
		return -1;
	}
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if ((l = curl_slist_append(sns->connect_to, tok)) == NULL) {
			free(copy);
			snprintf(err, errlen, "sns: out of memory");
			return -1;
		}
		sns->connect_to = l;
	}
	free(copy);
	return 0;
}

struct sns *
sns_new(const struct config *cfg, char *err, size_t errlen)
{
	struct sns	*sns;
	const char	*s;
	int		 rc;

	if ((sns = calloc(1, sizeof(*sns))) == NULL) {
		snprintf(err, errlen, "sns: out of memory");
		return NULL;
	}
	sns->cfg = cfg;
	sns->tail = &sns->head;
	atomic_init(&sns->stopping, false);
	pthread_mutex_init(&sns->lock, NULL);
	pthread_cond_init(&sns->cond, NULL);
	/* Confirmations are fetches too, even with sns.cert_dir. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "sns: unable to set up libcurl");
		goto fail;
	}
	sns->curl = true;
	if ((s = getenv(SNS_ENV_CA_FILE)) != NULL && s[0] != '\0') {
		sns->ca_file = s;
		log_warnx("sns: %s is set: trusting %s, not the system's CAs, "
		    "for SNS hosts (for tests only)", SNS_ENV_CA_FILE, s);
	}
	if ((s = getenv(SNS_ENV_CONNECT_TO)) != NULL && s[0] != '\0') {
		if (connect_to_parse(sns, s, err, errlen) == -1)
			goto fail;
		log_warnx("sns: %s is set: connecting to SNS hosts as %s (for "
		    "tests only)", SNS_ENV_CONNECT_TO, s);
	}
	if ((rc = pthread_create(&sns->thread, NULL, sns_thread, sns)) != 0) {
		snprintf(err, errlen, "sns: unable to start a thread: %s",
		    strerror(rc));
		goto fail;
	}
	sns->started = true;
	log_info("sns: route %s for %zu topic(s); signing certificates %s%s%s",
	    cfg->sns_path, cfg->nsns_topics, cfg->sns_cert_dir != NULL ?
	    "from " : "fetched from SNS hosts",
	    cfg->sns_cert_dir != NULL ? cfg->sns_cert_dir : "",
	    cfg->sns_auto_confirm ? "; subscriptions confirmed" :
	    "; subscriptions left to the operator");
	return sns;
fail:
	sns_free(sns);
	return NULL;
}

void
sns_free(struct sns *sns)
{
	size_t	i;

	if (sns == NULL)
		return;
	if (sns->started) {
		atomic_store(&sns->stopping, true);
		pthread_mutex_lock(&sns->lock);
		sns->stop = true;
		pthread_cond_signal(&sns->cond);
		pthread_mutex_unlock(&sns->lock);
		/* Every job still queued ends, with its callback. */
		pthread_join(sns->thread, NULL);
	}
	for (i = 0; i < sns->ncerts; i++)
		cert_fini(&sns->certs[i]);
	curl_slist_free_all(sns->connect_to);
	if (sns->curl)
		curl_global_cleanup();
	pthread_cond_destroy(&sns->cond);
	pthread_mutex_destroy(&sns->lock);
	free(sns);
}
