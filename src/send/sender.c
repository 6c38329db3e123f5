/*
 * sender.c - the HTTP client of sinch-webhookd-send, on one libcurl easy
 * handle that every request reuses (and with it the connection).  It
 * speaks HTTP/1.1, follows no redirect, and knows http and https only.
 * The caller builds the header lines and reads the answer; what to print
 * and which status counts as success are decided in main.c.
 *
 * libcurl copies the header lines into its own request buffer, which it
 * frees without wiping; the lines handed to it are wiped here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "send/sender.h"
#include "version.h"

#define SENDER_AGENT	"sinch-webhookd-send/" VERSION

struct sender {
	CURL	*curl;
	char	 errbuf[CURL_ERROR_SIZE];
};

/* Copies the n bytes at p to out, spaces trimmed, controls as '?'. */
static void
sender_copy_text(char *out, size_t outlen, const char *p, size_t n)
{
	size_t	i, o = 0;

	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' ||
	    p[n - 1] == '\r' || p[n - 1] == '\n'))
		n--;
	for (i = 0; i < n && o + 1 < outlen; i++) {
		unsigned char	c = (unsigned char)p[i];

		out[o++] = c < ' ' || c == 0x7f ? '?' : (char)c;
	}
	if (outlen > 0)
		out[o] = '\0';
}

/* True when the header line p (n bytes) is named name; sets *value. */
static bool
sender_header_is(const char *p, size_t n, const char *name,
    const char **value)
{
	size_t	len = strlen(name);

	if (n <= len || p[len] != ':' || strncasecmp(p, name, len) != 0)
		return false;
	*value = p + len + 1;
	return true;
}

/*
 * Called once per header line of every answer, 1xx ones included; a
 * status line starts the answer afresh.
 */
static size_t
sender_on_header(char *p, size_t size, size_t nitems, void *arg)
{
	struct sender_answer	*a = arg;
	const char		*v, *sp;
	size_t			 n = size * nitems;

	if (n > 5 && strncmp(p, "HTTP/", 5) == 0) {
		a->reason[0] = a->request_id[0] = a->retry_after[0] = '\0';
		/* "HTTP/1.1 200 OK": the reason starts after the code. */
		if ((sp = memchr(p, ' ', n)) != NULL &&
		    (sp = memchr(sp + 1, ' ', n - (size_t)(sp + 1 - p))) != NULL)
			sender_copy_text(a->reason, sizeof(a->reason), sp + 1,
			    n - (size_t)(sp + 1 - p));
	} else if (sender_header_is(p, n, "X-Request-Id", &v))
		sender_copy_text(a->request_id, sizeof(a->request_id), v,
		    n - (size_t)(v - p));
	else if (sender_header_is(p, n, "Retry-After", &v))
		sender_copy_text(a->retry_after, sizeof(a->retry_after), v,
		    n - (size_t)(v - p));
	return n;
}

/* Keeps the start of the body; the rest is read and dropped. */
static size_t
sender_on_body(char *p, size_t size, size_t nitems, void *arg)
{
	struct sender_answer	*a = arg;
	size_t			 n = size * nitems, room;

	room = SENDER_BODY_MAX - a->body.len;
	if (buf_append(&a->body, p, n < room ? n : room) == -1)
		return 0;	/* aborts the transfer: out of memory */
	return n;
}

struct sender *
sender_new(const struct sender_tls *tls, long timeout_s, char *err,
    size_t errlen)
{
	struct sender	*s = NULL;
	CURLcode	 rc;
	int		 ok;

	if ((rc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
		snprintf(err, errlen, "libcurl: %s", curl_easy_strerror(rc));
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->curl = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "libcurl: unable to make a handle");
		goto fail;
	}
	ok = curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, s->errbuf) ==
	    CURLE_OK;
	ok &= curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR,
	    "http,https") == CURLE_OK;
	ok &= curl_easy_setopt(s->curl, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_1_1) == CURLE_OK;
	ok &= curl_easy_setopt(s->curl, CURLOPT_USERAGENT, SENDER_AGENT) ==
	    CURLE_OK;
	ok &= curl_easy_setopt(s->curl, CURLOPT_TIMEOUT, timeout_s) ==
	    CURLE_OK;
	ok &= curl_easy_setopt(s->curl, CURLOPT_HEADERFUNCTION,
	    sender_on_header) == CURLE_OK;
	ok &= curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION,
	    sender_on_body) == CURLE_OK;
	if (tls->cacert != NULL)
		ok &= curl_easy_setopt(s->curl, CURLOPT_CAINFO,
		    tls->cacert) == CURLE_OK;
	if (tls->cert != NULL)
		ok &= curl_easy_setopt(s->curl, CURLOPT_SSLCERT,
		    tls->cert) == CURLE_OK;
	if (tls->key != NULL)
		ok &= curl_easy_setopt(s->curl, CURLOPT_SSLKEY,
		    tls->key) == CURLE_OK;
	if (tls->insecure) {
		ok &= curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYPEER,
		    0L) == CURLE_OK;
		ok &= curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYHOST,
		    0L) == CURLE_OK;
	}
	if (!ok) {
		snprintf(err, errlen, "libcurl: an option is not supported "
		    "(libcurl %s)", curl_version_info(CURLVERSION_NOW)->version);
		goto fail;
	}
	return s;
fail:
	sender_free(s);
	if (s == NULL)
		curl_global_cleanup();
	return NULL;
}

void
sender_free(struct sender *s)
{
	if (s == NULL)
		return;
	if (s->curl != NULL)
		curl_easy_cleanup(s->curl);
	free(s);
	curl_global_cleanup();
}

int
sender_answer_init(struct sender_answer *a)
{
	memset(a, 0, sizeof(*a));
	buf_init(&a->body);
	return buf_reserve(&a->body, SENDER_BODY_MAX);
}

void
sender_answer_fini(struct sender_answer *a)
{
	if (a->body.data != NULL)
		explicit_bzero(a->body.data, a->body.cap);
	buf_fini(&a->body);
}

/* Wipes what the list holds, then frees it. */
static void
sender_slist_free(struct curl_slist *list)
{
	struct curl_slist	*l;

	for (l = list; l != NULL; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(list);
}

int
sender_post(struct sender *s, const char *url, const char *const *headers,
    const char *body, size_t len, struct sender_answer *a)
{
	struct curl_slist	*list = NULL, *l;
	CURLcode		 rc = CURLE_OUT_OF_MEMORY;
	size_t			 i;
	int			 ret = -1;

	a->status = 0;
	a->reason[0] = a->request_id[0] = a->retry_after[0] = '\0';
	a->error[0] = '\0';
	buf_reset(&a->body);
	s->errbuf[0] = '\0';
	/* With no fields at all, libcurl would read the body from stdin. */
	if (body == NULL)
		body = "";
	for (i = 0; headers[i] != NULL; i++) {
		if ((l = curl_slist_append(list, headers[i])) == NULL)
			goto done;
		list = l;
	}
	if ((l = curl_slist_append(list, "Expect:")) == NULL)
		goto done;
	list = l;
	if ((rc = curl_easy_setopt(s->curl, CURLOPT_URL, url)) != CURLE_OK ||
	    (rc = curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, list)) !=
	    CURLE_OK ||
	    (rc = curl_easy_setopt(s->curl, CURLOPT_POST, 1L)) != CURLE_OK ||
	    (rc = curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, body)) !=
	    CURLE_OK ||
	    (rc = curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)len)) != CURLE_OK ||
	    (rc = curl_easy_setopt(s->curl, CURLOPT_HEADERDATA, a)) !=
	    CURLE_OK ||
	    (rc = curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, a)) !=
	    CURLE_OK)
		goto done;
	if ((rc = curl_easy_perform(s->curl)) != CURLE_OK)
		goto done;
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &a->status);
	ret = 0;
done:
	if (ret == -1) {
		a->status = 0;
		snprintf(a->error, sizeof(a->error), "%s",
		    s->errbuf[0] != '\0' ? s->errbuf : curl_easy_strerror(rc));
	}
	/* Nothing may point at the list or the body once they are gone. */
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, NULL);
	sender_slist_free(list);
	return ret;
}

void
sender_answer_line(const struct sender_answer *a, char *out, size_t outlen)
{
	const char	*p = a->body.data != NULL ? a->body.data : "";
	const char	*nl;
	size_t		 n = a->body.len;

	if ((nl = memchr(p, '\n', n)) != NULL)
		n = (size_t)(nl - p);
	sender_copy_text(out, outlen, p, n);
	if (out[0] == '\0')
		sender_copy_text(out, outlen, a->reason, strlen(a->reason));
}
