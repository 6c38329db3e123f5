/*
 * http.c - the listener and the life of one request.
 *
 * New connections are admitted by connlimit.c.  Refusals that need no
 * body (404, 405, 401/403 from authentication, 413, 415, 503 while
 * stopping) are made from the headers alone, and a connection answered so
 * while its body is still coming lingers (lingering.c) so that the client
 * reads the answer.  The body is then collected into a bounded buffer;
 * only a complete one counts against limits.max_in_flight (429).  It is
 * signature-checked, decoded, turned into a record and handed to the
 * sinks.  While
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
#include <fcntl.h>
#include <pthread.h>
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
#include <systemd/sd-daemon.h>

#include "auth.h"
#include "buf.h"
#include "connlimit.h"
#include "dedup.h"
#include "fdutil.h"
#include "http.h"
#include "lingering.h"
#include "log.h"
#include "metrics.h"
#include "record.h"
#include "report.h"
#include "sns.h"

#define HTTP_BACKLOG		1024
/*
 * libmicrohttpd's memory pool per connection, which holds the request's
 * headers, the read buffer and the answer's headers (the body is copied
 * out as it arrives).  Half the library's default: headers of up to
 * about 14 KiB still fit (more are answered 431), and 1000 idle
 * keep-alive connections take 15 MiB less.
 */
#define HTTP_CONN_MEMORY	(16u << 10)
#define HTTP_REASON_MAX		256
#define HTTP_TYPE_MAX		48
/* A token request is a short form. */
#define HTTP_TOKEN_BODY_MAX	8192
/* TLS 1.2 and 1.3 only. */
#define HTTP_TLS_PRIORITIES	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
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
	struct connlimit	*limit;
	struct lingering	*linger;
	int			 fd;		/* listening socket */
	bool			 activated;	/* fd is systemd's too */
	int			 port;
	char			 addr[INET6_ADDRSTRLEN + 2];
	struct MHD_Daemon	*ops_mhd;	/* the metrics listener */
	int			 ops_fd;
	int			 ops_port;
	char			 ops_addr[INET6_ADDRSTRLEN + 2];
	char			 instance[13];	/* request id prefix */
	pthread_mutex_t		 auth_lock;
	struct auth		*auth;		/* swapped on SIGHUP */
	struct buf		 tls_cert;
	struct buf		 tls_key;
	struct buf		 tls_ca;
	atomic_bool		 stopping;
	atomic_uint		 in_flight;	/* requests of any kind */
	atomic_uint		 callbacks;	/* callbacks with the sinks */
	atomic_uint		 fresh;		/* connections yet to ask */
	atomic_ullong		 next_id;
	/* The SNS route, and its requests that must be answered in time. */
	struct sns		*sns;
	pthread_mutex_t		 dl_lock;
	pthread_cond_t		 dl_cond;
	struct request		*dl_head;	/* under dl_lock */
	bool			 dl_stop;	/* under dl_lock */
	/* When the thread wakes next by itself, if it does: under dl_lock. */
	bool			 dl_timed;
	struct timespec		 dl_until;
	pthread_t		 dl_thread;
	bool			 dl_started;
};

/* A connection's own state. */
struct connection {
	struct sockaddr_storage	 peer;
	bool			 has_peer;	/* counted by connlimit */
	bool			 by_address;	/* ... by its address too */
	bool			 fresh;		/* no request yet */
	bool			 linger;	/* answered, body unread */
};

enum request_state {
	REQ_BODY,		/* collecting the body */
	REQ_DISCARD,		/* body too large: reading and dropping it */
	REQ_PENDING,		/* parked while the sinks work */
	REQ_ANSWER		/* status and reason are set */
};

/*
 * Whether a request handed to the sinks must be parked.  Sinks that
 * answer at once (a file without sync) answer in the handler's own
 * thread, and the connection is never suspended; the others answer from
 * their thread, possibly while the handler is still suspending.
 */
enum request_park {
	PARK_NONE,
	PARK_DELIVERING,	/* in sinks_deliver */
	PARK_SYNC_DONE,		/* answered in sinks_deliver: no parking */
	PARK_SUSPENDING,	/* the handler is suspending the connection */
	PARK_LATE_DONE,		/* answered meanwhile: the handler resumes */
	PARK_PARKED		/* suspended: the answer resumes it */
};

/*
 * A request is freed when its last reference goes: the library's, taken
 * at its start and dropped when it completes, and one for each party
 * working on it in another thread (the sinks, the SNS fetch thread, the
 * SNS deadline), which may end after it was answered.  Of those parties,
 * the first to finish (decided) sets the answer; the others only let go.
 */
struct request {
	struct http		*http;
	struct MHD_Connection	*conn;
	struct auth		*auth;		/* a reference, for its life */
	struct auth_request	 areq;
	enum request_state	 state;
	atomic_int		 park;		/* enum request_park */
	atomic_int		 refs;
	atomic_bool		 decided;	/* the answer is chosen */
	pthread_mutex_t		 type_lock;	/* type, once work is shared */
	bool			 is_token;	/* the OAuth 2.0 endpoint */
	/* The SNS route: the header's type, or -1, and the envelope. */
	bool			 is_sns;
	int			 sns_type;
	bool			 has_envelope;
	struct sns_envelope	 envelope;
	/* On http.dl_head, under dl_lock, until answered in time. */
	struct request		*dl_next;
	bool			 dl_armed;
	struct timespec		 dl_at;		/* CLOCK_MONOTONIC */
	size_t			 max_body;
	struct timespec		 received_at;	/* CLOCK_REALTIME */
	struct timespec		 start;		/* CLOCK_MONOTONIC */
	struct buf		 body;
	size_t			 bytes;		/* body bytes received */
	int			 status;
	bool			 close;		/* ask the client to hang up */
	bool			 counted;	/* in http.callbacks */
	/* Retry-After of a 429 or 503, 0 for HTTP_RETRY_AFTER_S. */
	atomic_int		 retry_after_s;
	const char		*challenge;	/* WWW-Authenticate, or NULL */
	struct buf		*json;		/* a JSON answer, or NULL */
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
static bool
request_complete(struct request *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
request_vset(struct request *req, int status, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
request_vset(struct request *req, int status, const char *fmt, va_list ap)
{
	int	n;

	req->status = status;
	req->state = REQ_ANSWER;
	n = vsnprintf(req->reason, sizeof(req->reason) - 1, fmt, ap);
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

static void
request_set(struct request *req, int status, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	request_vset(req, status, fmt, ap);
	va_end(ap);
}

static enum MHD_Result
request_answer(struct request *req)
{
	struct MHD_Response	*resp;
	enum MHD_Result		 ret;
	char			 retry[16];
	int			 ra;

	if (req->json != NULL)
		resp = MHD_create_response_from_buffer(req->json->len,
		    req->json->data, MHD_RESPMEM_MUST_COPY);
	else
		resp = MHD_create_response_from_buffer(strlen(req->reason),
		    req->reason, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	if (req->json != NULL) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    "application/json");
		/* RFC 6749 5.1: tokens must not be cached. */
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
		    "no-store");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_PRAGMA,
		    "no-cache");
	} else
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    "text/plain; charset=utf-8");
	if (req->challenge != NULL)
		MHD_add_response_header(resp,
		    MHD_HTTP_HEADER_WWW_AUTHENTICATE, req->challenge);
	MHD_add_response_header(resp, "X-Request-Id", req->id);
	switch (req->status) {
	case MHD_HTTP_METHOD_NOT_ALLOWED:
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "POST");
		break;
	case MHD_HTTP_TOO_MANY_REQUESTS:
	case MHD_HTTP_SERVICE_UNAVAILABLE:
		ra = atomic_load(&req->retry_after_s);
		snprintf(retry, sizeof(retry), "%d", ra > 0 ? ra :
		    HTTP_RETRY_AFTER_S);
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

/* Header values live as long as the connection's request. */
static const char *
header(struct MHD_Connection *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/*
 * Bytes of a refused body read and dropped at most, for a limit of max:
 * by a discarded chunked body, and by a lingering close alike.
 */
static size_t
discard_max(size_t max)
{
	return 4 * max > HTTP_DISCARD_MIN ? 4 * max : HTTP_DISCARD_MIN;
}

/* Whether the request announced a body: one may still be coming. */
static bool
announces_body(struct MHD_Connection *conn)
{
	const char	*cl = header(conn, MHD_HTTP_HEADER_CONTENT_LENGTH);

	return header(conn, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL ||
	    (cl != NULL && strspn(cl, "0") != strlen(cl));
}

/* The connection's own state, or NULL when it could not be made. */
static struct connection *
connection_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo	*ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

static struct request *
request_new(struct http *h, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo	*ci;
	struct request			*req;
	struct connection		*c;

	if ((req = calloc(1, sizeof(*req))) == NULL)
		return NULL;
	req->http = h;
	req->conn = conn;
	req->state = REQ_BODY;
	atomic_init(&req->refs, 1);		/* the library's */
	atomic_init(&req->decided, false);
	atomic_init(&req->retry_after_s, 0);
	pthread_mutex_init(&req->type_lock, NULL);
	req->sns_type = -1;
	req->max_body = h->cfg->max_body_bytes;
	pthread_mutex_lock(&h->auth_lock);
	req->auth = auth_ref(h->auth);
	pthread_mutex_unlock(&h->auth_lock);
	clock_gettime(CLOCK_REALTIME, &req->received_at);
	clock_gettime(CLOCK_MONOTONIC, &req->start);
	buf_init(&req->body);
	snprintf(req->id, sizeof(req->id), "%s-%llu", h->instance,
	    (unsigned long long)atomic_fetch_add(&h->next_id, 1) + 1);
	req->type[0] = '-';
	req->remote[0] = '-';
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	req->areq.peer = ci != NULL ? ci->client_addr : NULL;
	req->areq.forwarded_for = header(conn, "X-Forwarded-For");
	req->areq.authorization = header(conn, MHD_HTTP_HEADER_AUTHORIZATION);
	req->areq.signature = header(conn, "x-sinch-webhook-signature");
	req->areq.nonce = header(conn, "x-sinch-webhook-signature-nonce");
	req->areq.timestamp = header(conn,
	    "x-sinch-webhook-signature-timestamp");
	req->areq.algorithm = header(conn,
	    "x-sinch-webhook-signature-algorithm");
	if (h->cfg->tls_cert != NULL &&
	    (ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_GNUTLS_SESSION)) != NULL)
		req->areq.tls_session = ci->tls_session;
	if (req->areq.peer != NULL)
		auth_client_address(req->auth, &req->areq, req->remote,
		    sizeof(req->remote));
	if ((c = connection_of(conn)) != NULL && c->fresh) {
		c->fresh = false;
		atomic_fetch_sub(&h->fresh, 1);
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
	auth_unref(req->auth);
	/* A token request's body holds a client secret. */
	if (req->is_token && req->body.data != NULL)
		explicit_bzero(req->body.data, req->body.cap);
	buf_fini(&req->body);
	buf_free(req->json);
	if (req->has_envelope)
		sns_envelope_fini(&req->envelope);
	pthread_mutex_destroy(&req->type_lock);
	free(req);
}

/* One more party works on req in another thread. */
static void
request_hold(struct request *req)
{
	atomic_fetch_add(&req->refs, 1);
}

static void
request_release(struct request *req)
{
	if (atomic_fetch_sub(&req->refs, 1) == 1)
		request_free(req);
}

static bool
timespec_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/*
 * Arms req's SNS deadline: unless answered before, it is answered 503
 * then.  The list holds a reference.
 */
static void
deadline_arm(struct request *req)
{
	struct http	*h = req->http;

	req->dl_at = req->start;
	req->dl_at.tv_sec += h->cfg->sns_deadline_s;
	request_hold(req);
	pthread_mutex_lock(&h->dl_lock);
	req->dl_next = h->dl_head;
	h->dl_head = req;
	req->dl_armed = true;
	/* Mostly it wakes for an earlier one anyway: spare the switch. */
	if (!h->dl_timed || timespec_before(&req->dl_at, &h->dl_until))
		pthread_cond_signal(&h->dl_cond);
	pthread_mutex_unlock(&h->dl_lock);
}

/* Takes req off the list, unless the deadline took it already. */
static void
deadline_disarm(struct request *req)
{
	struct http	 *h = req->http;
	struct request	**pp;
	bool		  found = false;

	pthread_mutex_lock(&h->dl_lock);
	if (req->dl_armed) {
		for (pp = &h->dl_head; *pp != NULL; pp = &(*pp)->dl_next)
			if (*pp == req) {
				*pp = req->dl_next;
				found = true;
				break;
			}
		req->dl_armed = false;
	}
	pthread_mutex_unlock(&h->dl_lock);
	if (found)
		request_release(req);
}

/*
 * Wakes the handler of a parked request: at once if it is suspended,
 * otherwise by telling it, as it parks, that the answer is there.
 */
static void
request_wake(struct request *req)
{
	int	park, next;

	park = atomic_load(&req->park);
	for (;;) {
		if (park == PARK_DELIVERING)
			next = PARK_SYNC_DONE;
		else if (park == PARK_SUSPENDING)
			next = PARK_LATE_DONE;
		else {
			MHD_resume_connection(req->conn);
			return;
		}
		if (atomic_compare_exchange_weak(&req->park, &park, next))
			return;
	}
}

/*
 * Parks the handler of a request handed to other threads.  Returns true
 * when its answer is there already, false when it is suspended until
 * request_wake().
 */
static bool
request_park(struct request *req)
{
	int	park = PARK_DELIVERING;

	/* Answered in this very thread: nothing to wait for. */
	if (atomic_load(&req->park) == PARK_SYNC_DONE)
		return true;
	/*
	 * A parked SNS request is answered in time, come what may.  Armed
	 * before it is parked, so that an answer meanwhile disarms it.
	 */
	if (req->is_sns)
		deadline_arm(req);
	if (!atomic_compare_exchange_strong(&req->park, &park,
	    PARK_SUSPENDING)) {
		if (req->is_sns)
			deadline_disarm(req);
		return true;		/* PARK_SYNC_DONE */
	}
	MHD_suspend_connection(req->conn);
	park = PARK_SUSPENDING;
	if (!atomic_compare_exchange_strong(&req->park, &park, PARK_PARKED))
		MHD_resume_connection(req->conn);	/* PARK_LATE_DONE */
	return false;
}

/*
 * A party working on req in another thread is done: the first one sets
 * the answer and wakes the handler; each lets go of its reference, after
 * which req may be gone.  Returns whether this one set the answer.
 */
static bool
request_complete(struct request *req, int status, const char *fmt, ...)
{
	va_list	ap;
	bool	won;

	won = !atomic_exchange(&req->decided, true);
	if (won) {
		if (req->is_sns)
			deadline_disarm(req);
		va_start(ap, fmt);
		request_vset(req, status, fmt, ap);
		va_end(ap);
		/* After this the request may be answered at any time. */
		request_wake(req);
	}
	request_release(req);
	return won;
}

/*
 * A failed authentication check: 401 or 403, or 503 during the grace
 * window, so that Sinch keeps the callback while secrets are rotated.
 */
static void
request_refuse(struct request *req, enum auth_verdict v,
    const struct auth_failure *af)
{
	const struct config	*cfg = req->http->cfg;
	const char		*reason = af->reason != NULL ? af->reason :
				    "authentication failed";

	metrics_auth_failure(reason, cfg->has_grace &&
	    (long long)time(NULL) < cfg->grace_until);
	if (cfg->has_grace && (long long)time(NULL) < cfg->grace_until) {
		log_warnx("auth: id=%s remote=%s: %s (grace window, answered "
		    "503)", req->id, req->remote, reason);
		request_set(req, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "%s (grace window), retry later", reason);
		return;
	}
	log_warnx("auth: id=%s remote=%s: %s", req->id, req->remote, reason);
	req->challenge = af->challenge;
	request_set(req, v == AUTH_FORBIDDEN ? MHD_HTTP_FORBIDDEN :
	    MHD_HTTP_UNAUTHORIZED, "%s", reason);
}

/* 413 from Content-Length, before the body is read. */
static bool
request_check_length(struct request *req)
{
	const char		*cl;
	unsigned long long	 declared;
	char			*end;

	cl = header(req->conn, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl == NULL)
		return false;
	errno = 0;
	declared = strtoull(cl, &end, 10);
	if (errno != 0 || end == cl || *end != '\0')
		return false;
	if (declared > req->max_body) {
		req->close = true;
		request_set(req, MHD_HTTP_CONTENT_TOO_LARGE,
		    "body larger than %zu bytes", req->max_body);
		return true;
	}
	if (buf_reserve(&req->body, (size_t)declared) == -1) {
		request_set(req, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "out of memory, retry later");
		return true;
	}
	return false;
}

/*
 * Step 1: what the headers alone decide.  Returns true when req has its
 * answer.
 */
static bool
request_check_headers(struct request *req, const char *url,
    const char *method)
{
	struct http		*h = req->http;
	struct auth_failure	 af = { NULL, NULL };
	enum auth_verdict	 v;
	const char		*ct, *t = NULL;

	req->is_token = auth_has_oauth2(req->auth) &&
	    strcmp(url, h->cfg->oauth2_path) == 0;
	req->is_sns = h->sns != NULL && strcmp(url, h->cfg->sns_path) == 0;
	if (req->is_sns) {
		t = header(req->conn, SNS_TYPE_HEADER);
		req->sns_type = t != NULL ? sns_type_parse(t) : -1;
	}
	if (!req->is_token && !req->is_sns &&
	    strcmp(url, h->cfg->callback_path) != 0) {
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
	/*
	 * The token endpoint is where credentials are got, not shown; SNS
	 * carries none of Sinch's, and its envelope is signed instead.
	 */
	v = req->is_token || req->is_sns ? auth_check_source(req->auth,
	    &req->areq, &af) : auth_check_headers(req->auth, &req->areq, &af);
	if (v != AUTH_OK) {
		req->close = true;
		request_refuse(req, v, &af);
		return true;
	}
	/* SNS sends text/plain, and names the envelope's type. */
	if (req->is_sns) {
		if (req->sns_type == -1) {
			request_set(req, MHD_HTTP_BAD_REQUEST, "not an SNS "
			    "message: %s header %s", SNS_TYPE_HEADER,
			    t == NULL ? "missing" : "names no SNS type");
			return true;
		}
		return request_check_length(req);
	}
	if (req->is_token) {
		req->max_body = HTTP_TOKEN_BODY_MAX;
		return request_check_length(req);
	}
	ct = header(req->conn, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (ct != NULL && !http_content_type_is_json(ct)) {
		request_set(req, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
		    "content type is not JSON (want application/json)");
		return true;
	}
	return request_check_length(req);
}

/* The OAuth 2.0 client-credentials endpoint: answered in JSON. */
static void
request_token(struct request *req)
{
	const char	*challenge = NULL;

	if ((req->json = buf_new(256)) == NULL) {
		request_set(req, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "out of memory, retry later");
		return;
	}
	req->status = auth_token_endpoint(req->auth, req->areq.authorization,
	    header(req->conn, MHD_HTTP_HEADER_CONTENT_TYPE),
	    req->body.data != NULL ? req->body.data : "", req->body.len,
	    req->json, &challenge);
	req->challenge = challenge;
	req->state = REQ_ANSWER;
	snprintf(req->type, sizeof(req->type), "oauth2-token");
}

/*
 * Runs in a sink's thread (or the caller's): the last required answer.
 * SNS retries nothing below 500, so a busy sink is a 503 there.
 */
static void
request_done(void *arg, enum sink_verdict v, const char *failed,
    int retry_after_s)
{
	struct request	*req = arg;
	int		 status = http_status_for_verdict(v);

	atomic_store(&req->retry_after_s, retry_after_s);
	if (req->is_sns && status == MHD_HTTP_TOO_MANY_REQUESTS)
		status = MHD_HTTP_SERVICE_UNAVAILABLE;
	if (v == SINK_OK)
		request_complete(req, MHD_HTTP_OK, "ok");
	else
		request_complete(req, status, "sink %s: %s",
		    failed != NULL ? failed : "?",
		    v == SINK_REJECT ? "cannot take this report" :
		    v == SINK_BUSY ? "busy, retry later" :
		    "unable to take the report, retry later");
}

/* An SNS envelope refused after its checks: 403, counted and logged. */
static void
sns_refuse(struct request *req, const char *reason)
{
	const struct sns_envelope	*e = &req->envelope;

	metrics_auth_failure(reason, false);
	log_warnx("auth: id=%s remote=%s: %s (topic %s, certificate %s)",
	    req->id, req->remote, reason, e->topic_arn, e->signing_cert_url);
	request_complete(req, MHD_HTTP_FORBIDDEN, "%s", reason);
}

/* In the fetch thread: a subscription confirmed, or not. */
static void
sns_confirmed(void *arg, enum sns_verdict v, const char *reason)
{
	struct request	*req = arg;

	if (v == SNS_OK)
		request_complete(req, MHD_HTTP_OK, "subscription confirmed");
	else
		request_complete(req, MHD_HTTP_SERVICE_UNAVAILABLE, "%s",
		    reason);
}

/*
 * Steps 5-7, alike on both routes: the record of report, decoded from
 * the len bytes at body, and their dedup digest, handed to the sinks.
 * The caller holds a reference for them, which request_done() lets go.
 * Returns 0, or -1 when memory ran out: report is freed, and the
 * reference is still the caller's.
 */
static int
request_deliver(struct request *req, struct report *report,
    const char *body, size_t len)
{
	struct http	*h = req->http;
	struct buf	*line;
	uint8_t		 digest[DEDUP_DIGEST_LEN];
	const uint8_t	*dp = NULL;	/* digest, when someone uses it */

	/* Read by the access line, maybe after the SNS deadline answered. */
	pthread_mutex_lock(&req->type_lock);
	snprintf(req->type, sizeof(req->type), "%s", report->type);
	pthread_mutex_unlock(&req->type_lock);
	metrics_report(report->type, report->kind == REPORT_RECIPIENT ?
	    report->status : NULL);
	if ((line = buf_new(len + 768)) == NULL ||
	    record_encode(line, report, req->id, &req->received_at, body,
	    len) == -1) {
		buf_free(line);
		report_free(report);
		return -1;
	}
	/* Only dedup and the postgres sink use it; else skip the hashing. */
	if (h->sinks->dedup != NULL || h->sinks->want_digest) {
		dedup_digest(body, len, digest);
		dp = digest;
	}
	return sinks_deliver(h->sinks, report, line, dp, req->id,
	    request_done, req);
}

/*
 * A verified Notification: its Message is the callback, decoded, recorded
 * and delivered as on the direct route, deduplicated by its own bytes
 * (SNS retries keep MessageId, a re-publish does not).
 */
static void
sns_deliver(struct request *req)
{
	const struct sns_envelope	*e = &req->envelope;
	struct report			*report;
	char				 err[HTTP_REASON_MAX - 32];

	report = report_decode(e->message, e->message_len, err, sizeof(err));
	if (report == NULL) {
		log_error("sns: id=%s: message %s from %s is not a Sinch "
		    "callback, and is lost: %s", req->id, e->message_id,
		    e->topic_arn, err);
		request_complete(req, MHD_HTTP_BAD_REQUEST, "SNS message: %s",
		    err);
		return;
	}
	if ((report->sns_message_id = strdup(e->message_id)) == NULL ||
	    (report->sns_topic_arn = strdup(e->topic_arn)) == NULL) {
		report_free(report);
		request_complete(req, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "out of memory, retry later");
		return;
	}
	/* The reference passes to the sinks, and back with the answer. */
	if (request_deliver(req, report, e->message, e->message_len) == -1)
		request_complete(req, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "out of memory, retry later");
}

/*
 * The envelope checked, with verdict v: in the handler's thread, or in
 * the fetch thread when a certificate had to be fetched.
 */
static void
sns_checked(void *arg, enum sns_verdict v, const char *reason)
{
	struct request			*req = arg;
	struct http			*h = req->http;
	const struct sns_envelope	*e = &req->envelope;
	char				 why[HTTP_REASON_MAX - 16];

	/* Answered 503 at the deadline meanwhile: SNS will ask again. */
	if (atomic_load(&req->decided)) {
		request_release(req);
		return;
	}
	if (v == SNS_FORBIDDEN) {
		sns_refuse(req, reason);
		return;
	}
	if (v != SNS_OK) {
		request_complete(req, MHD_HTTP_SERVICE_UNAVAILABLE, "%s",
		    reason);
		return;
	}
	switch (e->type) {
	case SNS_NOTIFICATION:
		sns_deliver(req);
		return;
	case SNS_UNSUBSCRIBE_CONFIRMATION:
		log_warnx("sns: id=%s: unsubscribed from %s; to subscribe "
		    "again, open %s", req->id, e->topic_arn,
		    e->subscribe_url);
		request_complete(req, MHD_HTTP_OK, "ok");
		return;
	case SNS_SUBSCRIPTION_CONFIRMATION:
		break;
	}
	if (!h->cfg->sns_auto_confirm) {
		log_warnx("sns: id=%s: the subscription to %s awaits "
		    "confirmation (sns.auto_confirm is off): open %s",
		    req->id, e->topic_arn, e->subscribe_url);
		request_complete(req, MHD_HTTP_OK,
		    "ok, confirmation left to the operator");
		return;
	}
	v = sns_confirm(h->sns, e, why, sizeof(why), sns_confirmed, req);
	if (v == SNS_FORBIDDEN)
		sns_refuse(req, why);
	else if (v != SNS_PENDING)
		request_complete(req, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", why);
}

/*
 * The SNS route once the body is complete: the envelope is parsed here,
 * then checked, maybe in the fetch thread, and acted on.  Whatever
 * happens, the request is answered within sns.deadline_s of its start.
 */
static bool
request_sns(struct request *req)
{
	struct http	*h = req->http;
	enum sns_verdict v;
	char		 err[HTTP_REASON_MAX - 16];

	if (sns_envelope_parse(&req->envelope, req->body.data != NULL ?
	    req->body.data : "", req->body.len, err, sizeof(err)) == -1) {
		log_warnx("sns: id=%s remote=%s: %s", req->id, req->remote,
		    err);
		request_set(req, MHD_HTTP_BAD_REQUEST, "%s", err);
		return true;
	}
	req->has_envelope = true;
	if ((int)req->envelope.type != req->sns_type) {
		request_set(req, MHD_HTTP_BAD_REQUEST, "SNS envelope: Type "
		    "%s, but the %s header says %s", req->envelope.type_name,
		    SNS_TYPE_HEADER, sns_type_name(req->sns_type));
		return true;
	}
	req->state = REQ_PENDING;
	atomic_store(&req->park, PARK_DELIVERING);
	request_hold(req);		/* the checks', then the sinks' */
	v = sns_check(h->sns, &req->envelope, err, sizeof(err), sns_checked,
	    req);
	if (v != SNS_PENDING)
		sns_checked(req, v, err);
	return request_park(req);
}

/*
 * Steps 3-7 once the body is complete.  Returns true when req has its
 * answer now, false when it is parked until the sinks are done.  The
 * signature check over the raw bytes belongs before the decoder.
 */
static bool
request_process(struct request *req)
{
	struct http		*h = req->http;
	struct report		*report;
	struct auth_failure	 af = { NULL, NULL };
	enum auth_verdict	 v;
	const char		*body = req->body.data != NULL ?
				    req->body.data : "";
	char			 err[HTTP_REASON_MAX - 16];

	if (req->is_token) {
		request_token(req);
		return true;
	}
	/*
	 * Counted from the complete body until freed, refused or not: a
	 * client still sending holds a connection, never a sink's turn.
	 */
	req->counted = true;
	if (atomic_fetch_add(&h->callbacks, 1) >=
	    (unsigned)h->cfg->max_in_flight) {
		/* When the sinks that hold the rest are likely to be free. */
		atomic_store(&req->retry_after_s,
		    sinks_retry_after_s(h->sinks));
		request_set(req, req->is_sns ? MHD_HTTP_SERVICE_UNAVAILABLE :
		    MHD_HTTP_TOO_MANY_REQUESTS,
		    "too many requests in flight, retry later");
		return true;
	}
	if (req->is_sns)
		return request_sns(req);
	/* Step 3: the signature over the raw bytes, before anything else. */
	v = auth_check_signature(req->auth, &req->areq, body, req->body.len,
	    &af);
	if (v != AUTH_OK) {
		request_refuse(req, v, &af);
		return true;
	}
	report = report_decode(body, req->body.len, err, sizeof(err));
	if (report == NULL) {
		request_set(req, MHD_HTTP_BAD_REQUEST, "%s", err);
		return true;
	}
	req->state = REQ_PENDING;
	atomic_store(&req->park, PARK_DELIVERING);
	request_hold(req);		/* the sinks' */
	if (request_deliver(req, report, body, req->body.len) == -1) {
		atomic_store(&req->park, PARK_NONE);
		request_release(req);
		request_set(req, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "out of memory, retry later");
		return true;
	}
	return request_park(req);
}

static bool
is_ops_path(const char *url)
{
	return strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0 ||
	    strcmp(url, "/metrics") == 0;
}

static enum MHD_Result
ops_reply(struct MHD_Connection *conn, unsigned int status, const char *type,
    const char *body, size_t len)
{
	struct MHD_Response	*resp;
	enum MHD_Result		 ret;

	resp = MHD_create_response_from_buffer(len, (void *)body,
	    MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* /healthz, /readyz and /metrics, for operators and load balancers. */
static enum MHD_Result
http_ops(struct http *h, struct MHD_Connection *conn, const char *url,
    const char *method)
{
	static const char	 text[] = "text/plain; charset=utf-8";
	const char		*failing = NULL;
	struct buf		 b;
	char			 msg[128];
	enum MHD_Result		 ret;
	int			 n;

	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return ops_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text,
		    "method not allowed\n", 19);
	if (strcmp(url, "/healthz") == 0)
		return ops_reply(conn, MHD_HTTP_OK, text, "ok\n", 3);
	if (strcmp(url, "/readyz") == 0) {
		if (atomic_load(&h->stopping))
			return ops_reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
			    text, "stopping\n", 9);
		if (!sinks_ready(h->sinks, &failing)) {
			n = snprintf(msg, sizeof(msg), "sink %s failing\n",
			    failing);
			return ops_reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
			    text, msg, (size_t)n);
		}
		return ops_reply(conn, MHD_HTTP_OK, text, "ready\n", 6);
	}
	if (strcmp(url, "/metrics") == 0) {
		buf_init(&b);
		if (metrics_render(&b) == -1) {
			buf_fini(&b);
			return ops_reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
			    text, "out of memory\n", 14);
		}
		ret = ops_reply(conn, MHD_HTTP_OK,
		    "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
		buf_fini(&b);
		return ret;
	}
	return ops_reply(conn, MHD_HTTP_NOT_FOUND, text, "not found\n", 10);
}

static enum MHD_Result
http_ops_handle(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	(void)version;
	(void)upload_data;
	(void)req_cls;
	/* Nothing here wants a body: answer at once, unread. */
	(void)upload_data_size;
	return http_ops(cls, conn, url, method);
}

static enum MHD_Result
http_handle(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct http		*h = cls;
	struct request		*req = *req_cls;
	struct connection	*c;
	size_t			 n = *upload_data_size, max;

	(void)version;
	if (req == NULL) {
		if (!h->cfg->has_metrics_listener && is_ops_path(url))
			return http_ops(h, conn, url, method);
		if ((req = request_new(h, conn)) == NULL)
			return MHD_NO;
		*req_cls = req;
		if (!request_check_headers(req, url, method))
			return MHD_YES;
		/* The client may still be sending: see http_connection(). */
		if (announces_body(conn) && (c = connection_of(conn)) != NULL)
			c->linger = true;
		return request_answer(req);
	}
	max = req->max_body;
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
		if (req->bytes > discard_max(max)) {
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
	char		 type[HTTP_TYPE_MAX], route[64];
	int		 status;

	(void)cls;
	(void)conn;
	if (req == NULL)
		return;
	*req_cls = NULL;
	status = req->state == REQ_ANSWER ? req->status : 0;
	if (status != 0)
		metrics_request(status);
	if (req->is_sns && status != 0)
		metrics_sns_message(req->sns_type, status);
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - req->start.tv_sec) * 1000LL +
	    (now.tv_nsec - req->start.tv_nsec) / 1000000;
	/* Another thread may still be at work on it (SNS deadline). */
	pthread_mutex_lock(&req->type_lock);
	memcpy(type, req->type, sizeof(type));
	pthread_mutex_unlock(&req->type_lock);
	snprintf(route, sizeof(route), req->is_sns ? "sns sns_type=%s" :
	    "direct", req->sns_type != -1 ? sns_type_name(req->sns_type) :
	    "-");
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		log_info("access: id=%s remote=%s type=%s status=%d "
		    "bytes=%zu ms=%lld route=%s", req->id, req->remote, type,
		    status, req->bytes, ms, route);
	else
		log_info("access: id=%s remote=%s type=%s status=%d "
		    "bytes=%zu ms=%lld route=%s end=%s", req->id, req->remote,
		    type, status, req->bytes, ms, route,
		    toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timeout" :
		    toe == MHD_REQUEST_TERMINATED_READ_ERROR ? "client-gone" :
		    toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN ? "shutdown" :
		    toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT ? "client-gone" :
		    "error");
	request_release(req);
}

/*
 * The SNS deadline: a request not answered sns.deadline_s after it
 * started is answered 503 now, while SNS still listens; whoever was
 * working on it finishes in its own time, and a report the sinks take
 * after all is a dedup hit when SNS sends it again.
 */
static void
deadline_expire(struct request *req)
{
	struct http	*h = req->http;
	char		 id[sizeof(req->id)];

	memcpy(id, req->id, sizeof(id));
	if (request_complete(req, MHD_HTTP_SERVICE_UNAVAILABLE, "no answer "
	    "from the sinks within %d s, retry later",
	    h->cfg->sns_deadline_s))
		log_warnx("sns: id=%s: not done after %d s (sns.deadline_s), "
		    "answered 503 before SNS gives up", id,
		    h->cfg->sns_deadline_s);
}

static void *
deadline_thread(void *arg)
{
	struct http	 *h = arg;
	struct request	 *req, **pp, *expired;
	struct timespec	  now, next = { 0, 0 };
	bool		  waiting;

	pthread_mutex_lock(&h->dl_lock);
	while (!h->dl_stop) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		expired = NULL;
		waiting = false;
		for (pp = &h->dl_head; (req = *pp) != NULL; ) {
			if (!timespec_before(&now, &req->dl_at)) {
				/* The list's reference goes with it. */
				*pp = req->dl_next;
				req->dl_armed = false;
				req->dl_next = expired;
				expired = req;
				continue;
			}
			if (!waiting || timespec_before(&req->dl_at, &next))
				next = req->dl_at;
			waiting = true;
			pp = &req->dl_next;
		}
		if (expired != NULL) {
			pthread_mutex_unlock(&h->dl_lock);
			while ((req = expired) != NULL) {
				expired = req->dl_next;
				deadline_expire(req);
			}
			pthread_mutex_lock(&h->dl_lock);
			continue;
		}
		h->dl_timed = waiting;
		h->dl_until = next;
		if (waiting)
			pthread_cond_timedwait(&h->dl_cond, &h->dl_lock, &next);
		else
			pthread_cond_wait(&h->dl_cond, &h->dl_lock);
		h->dl_timed = false;
	}
	/* Whoever works on these is gone (sns_free, sinks_drain). */
	while ((req = h->dl_head) != NULL) {
		h->dl_head = req->dl_next;
		req->dl_armed = false;
		pthread_mutex_unlock(&h->dl_lock);
		request_release(req);
		pthread_mutex_lock(&h->dl_lock);
	}
	pthread_mutex_unlock(&h->dl_lock);
	return NULL;
}

/* The SNS route's state and its deadline thread. */
static int
http_sns_start(struct http *h, char *err, size_t errlen)
{
	int	rc;

	if ((h->sns = sns_new(h->cfg, err, errlen)) == NULL)
		return -1;
	if ((rc = pthread_create(&h->dl_thread, NULL, deadline_thread,
	    h)) != 0) {
		snprintf(err, errlen, "http: unable to start a thread: %s",
		    strerror(rc));
		return -1;
	}
	h->dl_started = true;
	return 0;
}

static void
http_sns_stop(struct http *h)
{
	/* Jobs still queued end now, and wake their requests. */
	sns_free(h->sns);
	h->sns = NULL;
	if (h->dl_started) {
		pthread_mutex_lock(&h->dl_lock);
		h->dl_stop = true;
		pthread_cond_signal(&h->dl_cond);
		pthread_mutex_unlock(&h->dl_lock);
		pthread_join(h->dl_thread, NULL);
		h->dl_started = false;
	}
}

/* Before MHD takes a new connection: the limits of connlimit.c. */
static enum MHD_Result
http_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct http	*h = cls;

	(void)addrlen;
	return connlimit_admit(h->limit, addr) == CONNLIMIT_OK ? MHD_YES :
	    MHD_NO;
}

/*
 * Counts open connections for connlimit.c, and those that have not sent
 * a request yet, so that shutdown can let those accepted just before it
 * ask (and be answered 503) rather than close them unanswered.  A
 * connection answered while its body was still coming is handed, open,
 * to the lingering close.
 */
static void
http_connection(void *cls, struct MHD_Connection *conn, void **ctx,
    enum MHD_ConnectionNotificationCode toe)
{
	struct http			*h = cls;
	struct connection		*c = *ctx;
	const union MHD_ConnectionInfo	*ci;
	socklen_t			 len;
	int				 fd;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return;
		c->fresh = true;
		atomic_fetch_add(&h->fresh, 1);
		ci = MHD_get_connection_info(conn,
		    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci != NULL && ci->client_addr != NULL) {
			len = ci->client_addr->sa_family == AF_INET6 ?
			    sizeof(struct sockaddr_in6) :
			    sizeof(struct sockaddr_in);
			memcpy(&c->peer, ci->client_addr, len);
			c->has_peer = true;
			c->by_address = connlimit_opened(h->limit,
			    (struct sockaddr *)&c->peer);
		}
		*ctx = c;
		return;
	}
	if (c == NULL)
		return;
	if (c->fresh)
		atomic_fetch_sub(&h->fresh, 1);
	if (c->has_peer)
		connlimit_closed(h->limit, (struct sockaddr *)&c->peer,
		    c->by_address);
	/*
	 * The library closes its descriptor after this; a duplicate keeps
	 * the socket open, without unread bytes to turn into a reset.
	 */
	if (c->linger && h->linger != NULL &&
	    (ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_CONNECTION_FD)) != NULL &&
	    (fd = fcntl(ci->connect_fd, F_DUPFD_CLOEXEC, 0)) != -1)
		lingering_add(h->linger, fd);
	free(c);
	*ctx = NULL;
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

/* Names a bound socket "addr:port" ("[v6]:port") for log lines. */
static int
socket_name(int fd, char *name, size_t namelen, int *port)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	char			 a[INET6_ADDRSTRLEN];
	const void		*ap;

	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
		return -1;
	if (ss.ss_family == AF_INET) {
		ap = &((struct sockaddr_in *)&ss)->sin_addr;
		*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		ap = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		*port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	} else {
		errno = EAFNOSUPPORT;
		return -1;
	}
	inet_ntop(ss.ss_family, ap, a, sizeof(a));
	snprintf(name, namelen, ss.ss_family == AF_INET6 ? "[%s]" : "%s", a);
	return 0;
}

/* Binds and listens on address and port; returns the socket or -1. */
static int
listen_on(const char *key, const char *address, int port, char *err,
    size_t errlen)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 sslen;
	int			 fd, on = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sslen = sizeof(*sin6);
	} else {
		snprintf(err, errlen, "%s: %s: not an IP address", key,
		    address);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, (struct sockaddr *)&ss, sslen) == -1 ||
	    listen(fd, HTTP_BACKLOG) == -1) {
		snprintf(err, errlen, "%s: unable to listen on %s port %d: "
		    "%s", key, address, port, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * A socket passed by systemd (socket activation), so that connections
 * wait in its queue while the daemon restarts.  The first is for
 * callbacks, a second one, if any, for the metrics listener.
 */
static int
activated_socket(int n, char *err, size_t errlen)
{
	int	fd = SD_LISTEN_FDS_START + n;

	if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
		snprintf(err, errlen, "http: passed descriptor %d is not a "
		    "listening stream socket", fd);
		return -1;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static int
http_bind(struct http *h, char *err, size_t errlen)
{
	int	nfds = sd_listen_fds(1);

	if (nfds > 0) {
		if ((h->fd = activated_socket(0, err, errlen)) == -1)
			return -1;
		h->activated = true;
		log_info("http: using the listening socket passed by systemd");
	} else if ((h->fd = listen_on("listen", h->cfg->address,
	    h->cfg->port, err, errlen)) == -1)
		return -1;
	if (h->cfg->has_metrics_listener) {
		if (nfds > 1)
			h->ops_fd = activated_socket(1, err, errlen);
		else
			h->ops_fd = listen_on("metrics", h->cfg->metrics_address,
			    h->cfg->metrics_port, err, errlen);
		if (h->ops_fd == -1)
			return -1;
		if (socket_name(h->ops_fd, h->ops_addr, sizeof(h->ops_addr),
		    &h->ops_port) == -1) {
			snprintf(err, errlen, "metrics: getsockname: %s",
			    strerror(errno));
			return -1;
		}
	}
	if (socket_name(h->fd, h->addr, sizeof(h->addr), &h->port) == -1) {
		snprintf(err, errlen, "http: getsockname: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Reads a PEM file whole; libmicrohttpd wants it in memory. */
static int
read_pem(const char *key, const char *path, struct buf *b, char *err,
    size_t errlen)
{
	char	chunk[4096];
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: unable to open %s: %s", key, path,
		    strerror(errno));
		return -1;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_append(b, chunk, (size_t)n) == -1) {
			n = -1;
			errno = ENOMEM;
			break;
		}
	close(fd);
	explicit_bzero(chunk, sizeof(chunk));
	if (n == -1 || b->len == 0) {
		snprintf(err, errlen, "%s: unable to read %s: %s", key, path,
		    n == -1 ? strerror(errno) : "empty file");
		return -1;
	}
	return 0;
}

static void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	http_sns_stop(h);
	if (h->fd != -1)
		close(h->fd);
	if (h->ops_fd != -1)
		close(h->ops_fd);
	lingering_free(h->linger);
	connlimit_free(h->limit);
	auth_unref(h->auth);
	/* The key is a secret. */
	if (h->tls_key.data != NULL)
		explicit_bzero(h->tls_key.data, h->tls_key.cap);
	buf_fini(&h->tls_key);
	buf_fini(&h->tls_cert);
	buf_fini(&h->tls_ca);
	pthread_mutex_destroy(&h->auth_lock);
	pthread_cond_destroy(&h->dl_cond);
	pthread_mutex_destroy(&h->dl_lock);
	free(h);
}

struct http *
http_start(const struct config *cfg, struct sinks *sinks, struct auth *auth,
    char *err, size_t errlen)
{
	struct MHD_OptionItem	 opts[8];
	pthread_condattr_t	 ca;
	struct http		*h;
	unsigned char		 rnd[6];
	unsigned int		 flags;
	size_t			 n = 0;
	unsigned long long	 nofile;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "http: out of memory");
		auth_unref(auth);
		return NULL;
	}
	h->cfg = cfg;
	h->sinks = sinks;
	h->fd = -1;
	h->ops_fd = -1;
	h->auth = auth;
	pthread_mutex_init(&h->auth_lock, NULL);
	pthread_mutex_init(&h->dl_lock, NULL);
	/* Deadlines are on the monotonic clock, as the requests' starts. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->dl_cond, &ca);
	pthread_condattr_destroy(&ca);
	buf_init(&h->tls_cert);
	buf_init(&h->tls_key);
	buf_init(&h->tls_ca);
	atomic_init(&h->stopping, false);
	atomic_init(&h->in_flight, 0);
	atomic_init(&h->callbacks, 0);
	atomic_init(&h->fresh, 0);
	atomic_init(&h->next_id, 0);
	/* Ids stay unique across restarts: a random prefix per process. */
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		snprintf(err, errlen, "http: unable to get random bytes: %s",
		    strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(h->instance + 2 * i, 3, "%02x", rnd[i]);
	/*
	 * Every connection is a descriptor, and so is every lingering one;
	 * the rest (files, hooks' pipes, the library's own) take far fewer.
	 */
	nofile = fdutil_raise_nofile();
	if (nofile < (unsigned long long)cfg->max_connections +
	    LINGERING_MAX + 64)
		log_warnx("http: only %llu open files allowed (ulimit -n); "
		    "limits.max_connections = %d wants %d", nofile,
		    cfg->max_connections, cfg->max_connections +
		    LINGERING_MAX + 64);
	if ((h->limit = connlimit_new(cfg, err, errlen)) == NULL ||
	    (h->linger = lingering_new(discard_max(cfg->max_body_bytes), err,
	    errlen)) == NULL ||
	    (cfg->has_sns && http_sns_start(h, err, errlen) == -1))
		goto fail;
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (cfg->tls_cert != NULL) {
		if (read_pem("tls.cert", cfg->tls_cert, &h->tls_cert, err,
		    errlen) == -1 ||
		    read_pem("tls.key", cfg->tls_key, &h->tls_key, err,
		    errlen) == -1 ||
		    (cfg->tls_client_ca != NULL && read_pem("tls.client_ca",
		    cfg->tls_client_ca, &h->tls_ca, err, errlen) == -1))
			goto fail;
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT,
		    0, h->tls_cert.data };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY,
		    0, h->tls_key.data };
		opts[n++] = (struct MHD_OptionItem){
		    MHD_OPTION_HTTPS_PRIORITIES, 0,
		    (void *)HTTP_TLS_PRIORITIES };
		/* With a trust list, clients are asked for a certificate. */
		if (cfg->tls_client_ca != NULL)
			opts[n++] = (struct MHD_OptionItem){
			    MHD_OPTION_HTTPS_MEM_TRUST, 0, h->tls_ca.data };
	}
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	if (http_bind(h, err, errlen) == -1)
		goto fail;
	/*
	 * http_accept() holds the connection limit.  The library's own is
	 * split evenly among its threads, so it is set well above ours, to
	 * refuse (and count) at once rather than leave clients unaccepted.
	 */
	h->mhd = MHD_start_daemon(flags, 0, http_accept, h, http_handle, h,
	    MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, h,
	    MHD_OPTION_LISTEN_SOCKET, h->fd,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->threads,
	    MHD_OPTION_CONNECTION_LIMIT,
	    2u * (unsigned int)cfg->max_connections + 64u,
	    MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)cfg->connection_timeout_s,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
	    MHD_OPTION_NOTIFY_COMPLETED, http_completed, h,
	    MHD_OPTION_NOTIFY_CONNECTION, http_connection, h,
	    MHD_OPTION_ARRAY, opts,
	    MHD_OPTION_END);
	if (h->mhd == NULL) {
		snprintf(err, errlen, "http: unable to start the listener on "
		    "%s:%d%s", h->addr, h->port, cfg->tls_cert != NULL ?
		    " (check tls.cert and tls.key)" : "");
		goto fail;
	}
	if (h->ops_fd != -1) {
		h->ops_mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
		    MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
		    http_ops_handle, h,
		    MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, h,
		    MHD_OPTION_LISTEN_SOCKET, h->ops_fd,
		    MHD_OPTION_CONNECTION_LIMIT, 64u,
		    MHD_OPTION_CONNECTION_TIMEOUT, 10u,
		    MHD_OPTION_END);
		if (h->ops_mhd == NULL) {
			snprintf(err, errlen, "metrics: unable to start the "
			    "listener on %s:%d", h->ops_addr, h->ops_port);
			MHD_stop_daemon(h->mhd);
			h->fd = -1;
			goto fail;
		}
		h->ops_fd = -1;		/* the library closes it */
		log_info("http: metrics listening on %s:%d", h->ops_addr,
		    h->ops_port);
	}
	if (cfg->tls_cert != NULL)
		log_info("http: HTTPS only, TLS 1.2 and 1.3%s",
		    cfg->tls_client_ca != NULL ?
		    ", client certificates required" : "");
	log_info("http: listening on %s:%d", h->addr, h->port);
	return h;
fail:
	http_free(h);
	return NULL;
}

void
http_set_auth(struct http *h, struct auth *auth)
{
	struct auth	*old;

	pthread_mutex_lock(&h->auth_lock);
	old = h->auth;
	h->auth = auth;
	pthread_mutex_unlock(&h->auth_lock);
	/* Requests still holding the old state finish with it. */
	auth_unref(old);
}

int
http_port(const struct http *h)
{
	return h->port;
}

/* Hands every connection waiting on the listening socket fd to MHD. */
static void
http_take_backlog(struct http *h, int fd)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 s, n = 0;

	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		return;
	for (;;) {
		len = sizeof(ss);
		s = accept4(fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (s == -1 && errno == EINTR)
			continue;
		if (s == -1)
			break;
		/* MHD owns (and on failure closes) s from here. */
		if (MHD_add_connection(h->mhd, s, (struct sockaddr *)&ss,
		    len) == MHD_YES)
			n++;
	}
	if (n > 0)
		log_info("http: took %d waiting connection(s) in to answer "
		    "them", n);
}

void
http_quiesce(struct http *h)
{
	MHD_socket	fd;

	atomic_store(&h->stopping, true);
	fd = MHD_quiesce_daemon(h->mhd);
	if (fd != MHD_INVALID_SOCKET) {
		/*
		 * Connections the kernel has completed but nobody accepted
		 * yet would be reset by the close; take them in, to be
		 * answered 503 like any request during shutdown.  A socket
		 * systemd holds keeps them for the next start instead.
		 */
		if (!h->activated)
			http_take_backlog(h, fd);
		close(fd);
		h->fd = -1;
	}
}

bool
http_wait_idle(struct http *h, int timeout_ms, bool fresh_too)
{
	struct timespec	tick = { 0, 10 * 1000 * 1000 };
	int		waited;

	for (waited = 0; atomic_load(&h->in_flight) > 0 ||
	    (fresh_too && atomic_load(&h->fresh) > 0); waited += 10) {
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
	/* No thread of ours may wake a connection once the library stops. */
	http_sns_stop(h);
	MHD_stop_daemon(h->mhd);
	if (h->ops_mhd != NULL)
		MHD_stop_daemon(h->ops_mhd);
	h->fd = -1;		/* closed by the library if not by quiesce */
	http_free(h);
}
