/*
 * http.c - the listener and the life of one request.
 *
 * Refusals that need no body (404, 405, 413, 415, 503 while stopping) are
 * made from the headers alone.  The body is then collected into a bounded
 * buffer, decoded, turned into a record and handed to the sinks.  While
 * the sinks work (a file sink waits for its shared fdatasync) the request
 * is parked with MHD_suspend_connection, so a few threads serve many
 * connections; the sink's completion resumes it with its verdict.  This
 * file alone maps outcomes to status codes.
 */
#include <sys/random.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "buf.h"
#include "dedup.h"
#include "http.h"
#include "log.h"
#include "record.h"
#include "report.h"

#define HTTP_BACKLOG		1024
#define HTTP_REASON_MAX		256
#define HTTP_TYPE_MAX		48
/*
 * libmicrohttpd cannot answer before a body is complete, so a chunked body
 * over the limit is read and dropped, to answer 413 at its end, up to
 * this much (or 4 times the limit if that is more); then the connection
 * is closed without an answer.
 */
#define HTTP_DISCARD_MIN	(16u << 20)

struct http {
	const struct config	*cfg;
	struct sinks		*sinks;
	struct MHD_Daemon	*mhd;
	int			 fd;		/* listening socket */
	int			 port;
	char			 addr[INET6_ADDRSTRLEN + 2];
	char			 instance[13];	/* request id prefix */
	atomic_bool		 stopping;
	atomic_uint		 in_flight;	/* requests of any kind */
	atomic_uint		 callbacks;	/* POSTs to the callback path */
	atomic_ullong		 next_id;
};

enum request_state {
	REQ_BODY,		/* collecting the body */
	REQ_DISCARD,		/* body too large: reading and dropping it */
	REQ_PENDING,		/* parked while the sinks work */
	REQ_ANSWER		/* status and reason are set */
};

struct request {
	struct http		*http;
	struct MHD_Connection	*conn;
	enum request_state	 state;
	struct timespec		 received_at;	/* CLOCK_REALTIME */
	struct timespec		 start;		/* CLOCK_MONOTONIC */
	struct buf		 body;
	size_t			 bytes;		/* body bytes received */
	int			 status;
	bool			 close;		/* ask the client to hang up */
	bool			 counted;	/* in http.callbacks */
	char			 id[40];
	char			 remote[INET6_ADDRSTRLEN];
	char			 type[HTTP_TYPE_MAX];
	char			 reason[HTTP_REASON_MAX];
};

int
http_status_for_verdict(enum sink_verdict v)
{
	switch (v) {
	case SINK_OK:
		return MHD_HTTP_OK;
	case SINK_REJECT:
		return MHD_HTTP_UNPROCESSABLE_CONTENT;
	case SINK_BUSY:
		return MHD_HTTP_TOO_MANY_REQUESTS;
	case SINK_RETRY:
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	}
	return MHD_HTTP_SERVICE_UNAVAILABLE;
}

/* application/json or application/<anything>+json, parameters allowed. */
bool
http_content_type_is_json(const char *ct)
{
	static const char	 app[] = "application/";
	size_t			 len;

	while (*ct == ' ' || *ct == '\t')
		ct++;
	len = strcspn(ct, "; \t");
	if (len <= sizeof(app) - 1 || strncasecmp(ct, app, sizeof(app) - 1))
		return false;
	ct += sizeof(app) - 1;
	len -= sizeof(app) - 1;
	if (len == 4 && strncasecmp(ct, "json", 4) == 0)
		return true;
	return len > 5 && strncasecmp(ct + len - 5, "+json", 5) == 0;
}

static void
request_set(struct request *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
request_set(struct request *req, int status, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	req->status = status;
	req->state = REQ_ANSWER;
	va_start(ap, fmt);
	n = vsnprintf(req->reason, sizeof(req->reason) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(req->reason) - 2)
		n = (int)sizeof(req->reason) - 2;
	/* One line: anything quoted from the input must not break it. */
	for (int i = 0; i < n; i++)
		if (req->reason[i] == '\n' || req->reason[i] == '\r')
			req->reason[i] = ' ';
	req->reason[n] = '\n';
	req->reason[n + 1] = '\0';
}

static enum MHD_Result
request_answer(struct request *req)
{
	struct MHD_Response	*resp;
	enum MHD_Result		 ret;
	char			 retry[16];

	resp = MHD_create_response_from_buffer(strlen(req->reason),
	    req->reason, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/plain; charset=utf-8");
	MHD_add_response_header(resp, "X-Request-Id", req->id);
	switch (req->status) {
	case MHD_HTTP_METHOD_NOT_ALLOWED:
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "POST");
		break;
	case MHD_HTTP_TOO_MANY_REQUESTS:
	case MHD_HTTP_SERVICE_UNAVAILABLE:
		snprintf(retry, sizeof(retry), "%d", HTTP_RETRY_AFTER_S);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER,
		    retry);
		break;
	}
	if (req->close)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
		    "close");
	ret = MHD_queue_response(req->conn, (unsigned)req->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static struct request *
request_new(struct http *h, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo	*ci;
	struct request			*req;
	const struct sockaddr		*sa;

	if ((req = calloc(1, sizeof(*req))) == NULL)
		return NULL;
	req->http = h;
	req->conn = conn;
	req->state = REQ_BODY;
	clock_gettime(CLOCK_REALTIME, &req->received_at);
	clock_gettime(CLOCK_MONOTONIC, &req->start);
	buf_init(&req->body);
	snprintf(req->id, sizeof(req->id), "%s-%llu", h->instance,
	    (unsigned long long)atomic_fetch_add(&h->next_id, 1) + 1);
	req->type[0] = '-';
	req->remote[0] = '-';
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && (sa = ci->client_addr) != NULL) {
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET,
			    &((const struct sockaddr_in *)sa)->sin_addr,
			    req->remote, sizeof(req->remote));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
			    &((const struct sockaddr_in6 *)sa)->sin6_addr,
			    req->remote, sizeof(req->remote));
	}
	atomic_fetch_add(&h->in_flight, 1);
	return req;
}

static void
request_free(struct request *req)
{
	if (req == NULL)
		return;
	if (req->counted)
		atomic_fetch_sub(&req->http->callbacks, 1);
	atomic_fetch_sub(&req->http->in_flight, 1);
	buf_fini(&req->body);
	free(req);
}

/*
 * Step 1: what the headers alone decide.  Returns true when req has its
 * answer; authentication from headers belongs here too.
 */
static bool
request_check_headers(struct request *req, const char *url,
    const char *method)
{
	struct http		*h = req->http;
	const char		*ct, *cl;
	unsigned long long	 declared;
	char			*end;

	if (strcmp(url, h->cfg->callback_path) != 0) {
		request_set(req, MHD_HTTP_NOT_FOUND, "not found");
		return true;
	}
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
		request_set(req, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed");
		return true;
	}
	if (atomic_load(&h->stopping)) {
		req->close = true;
		request_set(req, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "shutting down, retry later");
		return true;
	}
	/* Counted from here until freed, refused or not. */
	req->counted = true;
	if (atomic_fetch_add(&h->callbacks, 1) >=
	    (unsigned)h->cfg->max_in_flight) {
		req->close = true;
		request_set(req, MHD_HTTP_TOO_MANY_REQUESTS,
		    "too many requests in flight, retry later");
		return true;
	}
	ct = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);
	if (ct != NULL && !http_content_type_is_json(ct)) {
		request_set(req, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
		    "content type is not JSON (want application/json)");
		return true;
	}
	cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL) {
		errno = 0;
		declared = strtoull(cl, &end, 10);
		if (errno == 0 && end != cl && *end == '\0') {
			if (declared > h->cfg->max_body_bytes) {
				req->close = true;
				request_set(req, MHD_HTTP_CONTENT_TOO_LARGE,
				    "body larger than %zu bytes",
				    h->cfg->max_body_bytes);
				return true;
			}
			if (buf_reserve(&req->body, (size_t)declared) == -1) {
				request_set(req, MHD_HTTP_SERVICE_UNAVAILABLE,
				    "out of memory, retry later");
				return true;
			}
		}
	}
	return false;
}

/* Runs in a sink's thread (or the caller's): the last required answer. */
static void
request_done(void *arg, enum sink_verdict v, const char *failed)
{
	struct request	*req = arg;

	if (v == SINK_OK)
		request_set(req, MHD_HTTP_OK, "ok");
	else
		request_set(req, http_status_for_verdict(v),
		    "sink %s: %s", failed != NULL ? failed : "?",
		    v == SINK_REJECT ? "cannot take this report" :
		    v == SINK_BUSY ? "busy, retry later" :
		    "unable to take the report, retry later");
	/* After this the request may be answered and freed at any time. */
	MHD_resume_connection(req->conn);
}

/*
 * Steps 3-7 once the body is complete.  Returns true when req has its
 * answer now, false when it is parked until the sinks are done.  The
 * signature check over the raw bytes belongs before the decoder.
 */
static bool
request_process(struct request *req)
{
	struct http	*h = req->http;
	struct report	*report;
	struct buf	*line;
	uint8_t		 digest[DEDUP_DIGEST_LEN];
	char		 err[HTTP_REASON_MAX - 16];

	report = report_decode(req->body.data != NULL ? req->body.data : "",
	    req->body.len, err, sizeof(err));
	if (report == NULL) {
		request_set(req, MHD_HTTP_BAD_REQUEST, "%s", err);
		return true;
	}
	snprintf(req->type, sizeof(req->type), "%s", report->type);
	if ((line = buf_new(req->body.len + 512)) == NULL ||
	    record_encode(line, report, req->id, &req->received_at,
	    req->body.data, req->body.len) == -1) {
		buf_free(line);
		report_free(report);
		request_set(req, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "out of memory, retry later");
		return true;
	}
	dedup_digest(req->body.data, req->body.len, digest);
	req->state = REQ_PENDING;
	MHD_suspend_connection(req->conn);
	if (sinks_deliver(h->sinks, report, line, digest, req->id,
	    request_done, req) == -1) {
		request_set(req, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "out of memory, retry later");
		MHD_resume_connection(req->conn);
	}
	return false;
}

static enum MHD_Result
http_handle(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct http	*h = cls;
	struct request	*req = *req_cls;
	size_t		 n = *upload_data_size, max = h->cfg->max_body_bytes;

	(void)version;
	if (req == NULL) {
		if ((req = request_new(h, conn)) == NULL)
			return MHD_NO;
		*req_cls = req;
		if (request_check_headers(req, url, method))
			return request_answer(req);
		return MHD_YES;
	}
	switch (req->state) {
	case REQ_BODY:
		if (n == 0)
			break;
		req->bytes += n;
		*upload_data_size = 0;
		if (req->body.len + n <= max) {
			if (buf_append(&req->body, upload_data, n) == 0)
				return MHD_YES;
			req->close = true;
			request_set(req, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "out of memory, retry later");
		} else {
			req->close = true;
			request_set(req, MHD_HTTP_CONTENT_TOO_LARGE,
			    "body larger than %zu bytes", max);
		}
		buf_fini(&req->body);
		req->state = REQ_DISCARD;
		return MHD_YES;
	case REQ_DISCARD:
		if (n == 0)
			return request_answer(req);
		req->bytes += n;
		*upload_data_size = 0;
		if (req->bytes / 4 > max && req->bytes > HTTP_DISCARD_MIN) {
			log_warnx("http: %s: body still going after %zu bytes, "
			    "closing", req->id, req->bytes);
			return MHD_NO;
		}
		return MHD_YES;
	case REQ_PENDING:
		/* Resumed without an answer cannot happen; keep it parked. */
		log_error("http: request %s resumed while pending", req->id);
		return MHD_NO;
	case REQ_ANSWER:
		return request_answer(req);
	}
	/* REQ_BODY with the body complete. */
	if (request_process(req))
		return request_answer(req);
	return MHD_YES;
}

static void
http_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct request	*req = *req_cls;
	struct timespec	 now;
	long long	 ms;

	(void)cls;
	(void)conn;
	if (req == NULL)
		return;
	*req_cls = NULL;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - req->start.tv_sec) * 1000LL +
	    (now.tv_nsec - req->start.tv_nsec) / 1000000;
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		log_info("access: id=%s remote=%s type=%s status=%d "
		    "bytes=%zu ms=%lld", req->id, req->remote, req->type,
		    req->status, req->bytes, ms);
	else
		log_info("access: id=%s remote=%s type=%s status=%d "
		    "bytes=%zu ms=%lld end=%s", req->id, req->remote,
		    req->type, req->state == REQ_ANSWER ? req->status : 0,
		    req->bytes, ms,
		    toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timeout" :
		    toe == MHD_REQUEST_TERMINATED_READ_ERROR ? "client-gone" :
		    toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN ? "shutdown" :
		    toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT ? "client-gone" :
		    "error");
	request_free(req);
}

static void
http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char	msg[512];
	size_t	n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_info("http: %s", msg);
}

static int
http_bind(struct http *h, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 sslen;
	int			 on = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, h->cfg->address, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)h->cfg->port);
		sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, h->cfg->address, &sin6->sin6_addr) ==
	    1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)h->cfg->port);
		sslen = sizeof(*sin6);
	} else {
		snprintf(err, errlen, "http: %s: not an IP address",
		    h->cfg->address);
		return -1;
	}
	h->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (h->fd == -1 ||
	    setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ==
	    -1 ||
	    bind(h->fd, (struct sockaddr *)&ss, sslen) == -1 ||
	    listen(h->fd, HTTP_BACKLOG) == -1 ||
	    getsockname(h->fd, (struct sockaddr *)&ss, &sslen) == -1) {
		snprintf(err, errlen, "http: unable to listen on %s port %d: "
		    "%s", h->cfg->address, h->cfg->port, strerror(errno));
		if (h->fd != -1)
			close(h->fd);
		h->fd = -1;
		return -1;
	}
	h->port = ntohs(ss.ss_family == AF_INET ? sin->sin_port :
	    sin6->sin6_port);
	snprintf(h->addr, sizeof(h->addr), ss.ss_family == AF_INET6 ?
	    "[%s]" : "%s", h->cfg->address);
	return 0;
}

struct http *
http_start(const struct config *cfg, struct sinks *sinks, char *err,
    size_t errlen)
{
	struct http	*h;
	unsigned char	 rnd[6];
	unsigned int	 flags;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "http: out of memory");
		return NULL;
	}
	h->cfg = cfg;
	h->sinks = sinks;
	h->fd = -1;
	atomic_init(&h->stopping, false);
	atomic_init(&h->in_flight, 0);
	atomic_init(&h->callbacks, 0);
	atomic_init(&h->next_id, 0);
	/* Ids stay unique across restarts: a random prefix per process. */
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		snprintf(err, errlen, "http: unable to get random bytes: %s",
		    strerror(errno));
		free(h);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(h->instance + 2 * i, 3, "%02x", rnd[i]);
	if (http_bind(h, err, errlen) == -1) {
		free(h);
		return NULL;
	}
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, http_handle, h,
	    MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, h,
	    MHD_OPTION_LISTEN_SOCKET, h->fd,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)cfg->connection_timeout_s,
	    MHD_OPTION_NOTIFY_COMPLETED, http_completed, h,
	    MHD_OPTION_END);
	if (h->mhd == NULL) {
		snprintf(err, errlen, "http: unable to start the listener on "
		    "%s:%d", h->addr, h->port);
		close(h->fd);
		free(h);
		return NULL;
	}
	log_info("http: listening on %s:%d", h->addr, h->port);
	return h;
}

int
http_port(const struct http *h)
{
	return h->port;
}

void
http_quiesce(struct http *h)
{
	MHD_socket	fd;

	atomic_store(&h->stopping, true);
	fd = MHD_quiesce_daemon(h->mhd);
	if (fd != MHD_INVALID_SOCKET) {
		close(fd);
		h->fd = -1;
	}
}

bool
http_wait_idle(struct http *h, int timeout_ms)
{
	struct timespec	tick = { 0, 10 * 1000 * 1000 };
	int		waited;

	for (waited = 0; atomic_load(&h->in_flight) > 0; waited += 10) {
		if (waited >= timeout_ms)
			return false;
		nanosleep(&tick, NULL);
	}
	return true;
}

void
http_stop(struct http *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->mhd);
	if (h->fd != -1)
		close(h->fd);
	free(h);
}
