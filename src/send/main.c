/*
 * main.c - sinch-webhookd-send: command line, the loop over the files,
 * the line printed for each answer, and the exit status.
 *
 * Each file is POSTed to the URL the way Sinch posts a callback: its bytes
 * unchanged as application/json and, with a signature secret, the
 * x-sinch-webhook-signature headers (auth_signature() of the daemon, a
 * fresh ULID nonce per file, the time now).  HTTP Basic, a bearer token
 * (given, or fetched from an OAuth 2.0 token endpoint first) and a client
 * certificate are optional.  Secrets given on the command line are wiped
 * from argv at once, so ps(1) shows blanks; every copy the tool owns is
 * wiped when it is done with it.  The HTTP work is sender.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "buf.h"
#include "fdutil.h"
#include "send/authz.h"
#include "send/credential.h"
#include "send/nonce.h"
#include "send/sender.h"
#include "send/token.h"

#ifndef VERSION
#define VERSION		"0.1.0"
#endif
#define PROG		"sinch-webhookd-send"

/* Exit status, and the outcome of one file. */
#define SEND_OK		0	/* every answer was 2xx */
#define SEND_REFUSED	1	/* an answer was not */
#define SEND_FAILED	2	/* usage, a file, or the transport */

#define SEND_TIMEOUT_S		30
#define SEND_TIMEOUT_MAX_S	86400
#define SEND_TEXT_MAX		128	/* --nonce, --timestamp */
#define SEND_LINE_MAX		256	/* the reason printed for an answer */
#define SEND_READ_CHUNK		65536

enum {
	OPT_CACERT = 256,
	OPT_CLIENT_CERT,
	OPT_CLIENT_KEY,
	OPT_NONCE,
	OPT_TIMESTAMP,
	OPT_TOKEN_URL,
	OPT_CLIENT_ID,
	OPT_CLIENT_SECRET_FILE
};

static const struct option	send_long_opts[] = {
	{ "cacert",		required_argument, NULL, OPT_CACERT },
	{ "client-cert",	required_argument, NULL, OPT_CLIENT_CERT },
	{ "client-key",		required_argument, NULL, OPT_CLIENT_KEY },
	{ "nonce",		required_argument, NULL, OPT_NONCE },
	{ "timestamp",		required_argument, NULL, OPT_TIMESTAMP },
	{ "token-url",		required_argument, NULL, OPT_TOKEN_URL },
	{ "client-id",		required_argument, NULL, OPT_CLIENT_ID },
	{ "client-secret-file",	required_argument, NULL,
	    OPT_CLIENT_SECRET_FILE },
	{ NULL,			0,		   NULL, 0 }
};

struct opts {
	const char		*url;
	const char		*secret_file;	/* -S */
	const char		*basic_file;	/* -U */
	const char		*bearer_file;	/* -B */
	const char		*token_url;
	const char		*client_id;
	const char		*client_secret_file;
	const char		*nonce;		/* NULL: a new one per file */
	const char		*timestamp;	/* NULL: now */
	struct credential	 secret;	/* -s, or read from -S */
	struct credential	 basic;		/* user:password */
	struct credential	 bearer;
	struct credential	 client_secret;
	struct credential	 authz;		/* the Authorization line */
	struct sender_tls	 tls;
	long			 timeout_s;
	bool			 verbose;
};

/* The synopsis; with full, what each option does. */
static void
usage(FILE *f, bool full)
{
	fprintf(f, "usage: " PROG " [-hkvV] [-s secret | -S file]\n"
	    "           [-u user:password | -U file] [-b token | -B file]\n"
	    "           [--client-cert file [--client-key file]] "
	    "[--cacert file]\n"
	    "           [--nonce nonce] [--timestamp seconds] "
	    "[-t timeout_s]\n"
	    "           [--token-url url --client-id id "
	    "--client-secret-file file]\n"
	    "           url file...\n");
	if (!full)
		return;
	fprintf(f, "  -s, -S       sign with this secret (-S: read from file)\n"
	    "  -u, -U       HTTP Basic, user:password (-U: read from file)\n"
	    "  -b, -B       bearer token (-B: read from file)\n"
	    "  --token-url  fetch the bearer token there first\n"
	    "  -k           do not verify the server's certificate\n"
	    "  -t           seconds for each request (default %d)\n"
	    "  -v           also print X-Request-Id and Retry-After\n"
	    "  -h           show this help\n"
	    "  -V           show the version\n"
	    "A file \"-\" is standard input.  Exit status: 0 when every "
	    "answer is 2xx,\n1 when one is not, 2 on a usage, file or "
	    "transport error.\n", SEND_TIMEOUT_S);
}

static void
warnx_send(const char *what, const char *why)
{
	fprintf(stderr, PROG ": %s: %s\n", what, why);
}

/* Printable, no space, not empty, not too long: fit for a header. */
static bool
text_fits_header(const char *s)
{
	size_t	i, n = strlen(s);

	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f)
			return false;
	return n > 0 && n <= SEND_TEXT_MAX;
}

/* Copies a secret out of argv, then blanks it there (for ps). */
static int
take_secret(struct credential *c, char *arg)
{
	size_t	n = strlen(arg);
	int	ret;

	ret = n > 0 ? credential_set(c, arg, n) : -1;
	explicit_bzero(arg, n);
	return ret;
}

/*
 * Reads the option values: returns 0 to go on, 1 when -h or -V was
 * answered, -1 on a usage error (said on stderr).  Secret files are read
 * later, once the command line is known to be good.
 */
static int
parse_args(int argc, char *argv[], struct opts *o, int *first_file)
{
	char	*end;
	int	 ch, nstdin = 0, i;
	bool	 has_basic = false, has_bearer = false, has_sig = false;
	bool	 clash = false;

	while ((ch = getopt_long(argc, argv, "+b:B:hks:S:t:u:U:vV",
	    send_long_opts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			clash |= has_bearer;
			has_bearer = true;
			if (take_secret(&o->bearer, optarg) == -1 ||
			    !credential_is_token(&o->bearer)) {
				warnx_send("-b", "the token must be visible "
				    "ASCII");
				return -1;
			}
			break;
		case 'B':
			clash |= has_bearer;
			has_bearer = true;
			o->bearer_file = optarg;
			break;
		case 'h':
			usage(stdout, true);
			return 1;
		case 'k':
			o->tls.insecure = true;
			break;
		case 's':
			clash |= has_sig;
			has_sig = true;
			if (take_secret(&o->secret, optarg) == -1) {
				warnx_send("-s", "empty secret");
				return -1;
			}
			break;
		case 'S':
			clash |= has_sig;
			has_sig = true;
			o->secret_file = optarg;
			break;
		case 't':
			errno = 0;
			o->timeout_s = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    o->timeout_s < 1 ||
			    o->timeout_s > SEND_TIMEOUT_MAX_S) {
				fprintf(stderr, PROG ": -t: %s: not a number "
				    "of seconds from 1 to %d\n", optarg,
				    SEND_TIMEOUT_MAX_S);
				return -1;
			}
			break;
		case 'u':
			clash |= has_basic;
			has_basic = true;
			if (strchr(optarg, ':') == NULL) {
				explicit_bzero(optarg, strlen(optarg));
				warnx_send("-u", "expected user:password");
				return -1;
			}
			if (take_secret(&o->basic, optarg) == -1) {
				warnx_send("-u", "out of memory");
				return -1;
			}
			break;
		case 'U':
			clash |= has_basic;
			has_basic = true;
			o->basic_file = optarg;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'V':
			printf(PROG " %s\n", VERSION);
			return 1;
		case OPT_CACERT:
			o->tls.cacert = optarg;
			break;
		case OPT_CLIENT_CERT:
			o->tls.cert = optarg;
			break;
		case OPT_CLIENT_KEY:
			o->tls.key = optarg;
			break;
		case OPT_NONCE:
			o->nonce = optarg;
			break;
		case OPT_TIMESTAMP:
			o->timestamp = optarg;
			break;
		case OPT_TOKEN_URL:
			o->token_url = optarg;
			break;
		case OPT_CLIENT_ID:
			o->client_id = optarg;
			break;
		case OPT_CLIENT_SECRET_FILE:
			o->client_secret_file = optarg;
			break;
		default:
			return -1;
		}
	}
	if (clash) {
		fprintf(stderr, PROG ": -s/-S, -u/-U and -b/-B: one of each "
		    "pair, once\n");
		return -1;
	}
	if (has_basic && (has_bearer || o->token_url != NULL)) {
		fprintf(stderr, PROG ": Basic and a bearer token exclude each "
		    "other\n");
		return -1;
	}
	if (has_bearer && o->token_url != NULL) {
		fprintf(stderr, PROG ": -b/-B and --token-url exclude each "
		    "other\n");
		return -1;
	}
	if ((o->token_url != NULL) != (o->client_id != NULL) ||
	    (o->token_url != NULL) != (o->client_secret_file != NULL)) {
		fprintf(stderr, PROG ": --token-url, --client-id and "
		    "--client-secret-file go together\n");
		return -1;
	}
	if (o->client_id != NULL && (o->client_id[0] == '\0' ||
	    strchr(o->client_id, '\n') != NULL)) {
		fprintf(stderr, PROG ": --client-id: empty or not one line\n");
		return -1;
	}
	if (o->tls.key != NULL && o->tls.cert == NULL) {
		fprintf(stderr, PROG ": --client-key needs --client-cert\n");
		return -1;
	}
	if ((o->nonce != NULL || o->timestamp != NULL) && !has_sig) {
		fprintf(stderr, PROG ": --nonce and --timestamp need -s or "
		    "-S\n");
		return -1;
	}
	if ((o->nonce != NULL && !text_fits_header(o->nonce)) ||
	    (o->timestamp != NULL && !text_fits_header(o->timestamp))) {
		fprintf(stderr, PROG ": --nonce, --timestamp: 1 to %d "
		    "visible ASCII characters\n", SEND_TEXT_MAX);
		return -1;
	}
	if (argc - optind < 2) {
		fprintf(stderr, PROG ": a URL and at least one file are "
		    "needed\n");
		return -1;
	}
	for (i = optind + 1; i < argc; i++)
		nstdin += strcmp(argv[i], "-") == 0;
	if (nstdin > 1) {
		fprintf(stderr, PROG ": standard input (\"-\") can be read "
		    "once only\n");
		return -1;
	}
	o->url = argv[optind];
	*first_file = optind + 1;
	return 0;
}

/* Reads one secret file into c; option names it in the error. */
static int
read_secret(struct credential *c, const char *option, const char *path)
{
	char	err[512];

	if (path == NULL)
		return 0;
	if (credential_read(c, path, err, sizeof(err)) == -1) {
		warnx_send(option, err);
		return -1;
	}
	return 0;
}

/* The secret files, then the Authorization line (fetching a token). */
static int
load_credentials(struct opts *o, struct sender *s)
{
	char	err[1024];

	if (read_secret(&o->secret, "-S", o->secret_file) == -1 ||
	    read_secret(&o->basic, "-U", o->basic_file) == -1 ||
	    read_secret(&o->bearer, "-B", o->bearer_file) == -1 ||
	    read_secret(&o->client_secret, "--client-secret-file",
	    o->client_secret_file) == -1)
		return -1;
	if (o->basic_file != NULL &&
	    memchr(o->basic.data, ':', o->basic.len) == NULL) {
		warnx_send(o->basic_file, "expected user:password");
		return -1;
	}
	if (o->bearer_file != NULL && !credential_is_token(&o->bearer)) {
		warnx_send(o->bearer_file, "the token must be visible ASCII");
		return -1;
	}
	if (o->token_url != NULL) {
		if (token_fetch(s, o->token_url, o->client_id,
		    &o->client_secret, &o->bearer, err, sizeof(err)) == -1) {
			fprintf(stderr, PROG ": %s\n", err);
			return -1;
		}
		credential_fini(&o->client_secret);
	}
	if ((credential_is_set(&o->basic) &&
	    authz_basic(o->basic.data, o->basic.len, &o->authz) == -1) ||
	    (credential_is_set(&o->bearer) &&
	    authz_bearer(&o->bearer, &o->authz) == -1)) {
		fprintf(stderr, PROG ": out of memory\n");
		return -1;
	}
	/* Only the Authorization line is needed from now on. */
	credential_fini(&o->basic);
	credential_fini(&o->bearer);
	return 0;
}

/* Reads a whole file ("-": standard input) into b. */
static int
read_body(const char *file, struct buf *b)
{
	ssize_t	n;
	int	fd, e, ret = -1;

	if (strcmp(file, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return -1;
	for (;;) {
		if (buf_reserve(b, SEND_READ_CHUNK) == -1) {
			errno = ENOMEM;
			break;
		}
		n = read(fd, b->data + b->len, SEND_READ_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n == 0 ? 0 : -1;
			break;
		}
		b->len += (size_t)n;
		b->data[b->len] = '\0';
	}
	/* The caller reports errno, so close(2) must not change it. */
	e = errno;
	if (fd != STDIN_FILENO)
		close(fd);
	errno = e;
	return ret;
}

/* Sends one file and prints its line; returns its SEND_* outcome. */
static int
send_file(const struct opts *o, struct sender *s, const char *file,
    struct sender_answer *a)
{
	struct buf	 body;
	const char	*headers[7], *nonce = o->nonce, *ts = o->timestamp;
	char		 new_nonce[NONCE_LEN + 1], now[32], sig[64];
	char		 h_sig[128], h_nonce[64 + SEND_TEXT_MAX];
	char		 h_ts[64 + SEND_TEXT_MAX], line[SEND_LINE_MAX];
	int		 n = 0, ret = SEND_FAILED;

	buf_init(&body);
	if (read_body(file, &body) == -1) {
		fprintf(stderr, PROG ": unable to read %s: %s\n", file,
		    strerror(errno));
		goto done;
	}
	headers[n++] = "Content-Type: application/json";
	if (credential_is_set(&o->authz))
		headers[n++] = o->authz.data;
	if (credential_is_set(&o->secret)) {
		if (nonce == NULL) {
			if (nonce_make(new_nonce) == -1) {
				warnx_send("getrandom", strerror(errno));
				goto done;
			}
			nonce = new_nonce;
		}
		if (ts == NULL) {
			snprintf(now, sizeof(now), "%lld",
			    (long long)time(NULL));
			ts = now;
		}
		if (auth_signature((const uint8_t *)o->secret.data,
		    o->secret.len, body.data, body.len, nonce, ts, sig,
		    sizeof(sig)) == -1) {
			warnx_send(file, "unable to compute the signature");
			goto done;
		}
		snprintf(h_sig, sizeof(h_sig), "x-sinch-webhook-signature: %s",
		    sig);
		snprintf(h_nonce, sizeof(h_nonce),
		    "x-sinch-webhook-signature-nonce: %s", nonce);
		snprintf(h_ts, sizeof(h_ts),
		    "x-sinch-webhook-signature-timestamp: %s", ts);
		headers[n++] = h_sig;
		headers[n++] = h_nonce;
		headers[n++] = h_ts;
		headers[n++] = "x-sinch-webhook-signature-algorithm: "
		    "HmacSHA256";
	}
	headers[n] = NULL;
	if (sender_post(s, o->url, headers, body.data, body.len, a) == -1) {
		warnx_send(file, a->error);
		goto done;
	}
	sender_answer_line(a, line, sizeof(line));
	if (line[0] != '\0')
		printf("%s: %ld %s\n", file, a->status, line);
	else
		printf("%s: %ld\n", file, a->status);
	if (o->verbose && a->request_id[0] != '\0')
		printf("  X-Request-Id: %s\n", a->request_id);
	if (o->verbose && a->retry_after[0] != '\0')
		printf("  Retry-After: %s\n", a->retry_after);
	fflush(stdout);
	ret = a->status >= 200 && a->status <= 299 ? SEND_OK : SEND_REFUSED;
done:
	buf_fini(&body);
	return ret;
}

static void
opts_fini(struct opts *o)
{
	credential_fini(&o->secret);
	credential_fini(&o->basic);
	credential_fini(&o->bearer);
	credential_fini(&o->client_secret);
	credential_fini(&o->authz);
}

int
main(int argc, char *argv[])
{
	struct opts		 o;
	struct sender		*s = NULL;
	struct sender_answer	 a;
	char			 err[512];
	int			 i, first, r, rc = SEND_FAILED;

	fdutil_std_open();
	/* libcurl is told not to touch signals (CURLOPT_NOSIGNAL). */
	signal(SIGPIPE, SIG_IGN);
	memset(&o, 0, sizeof(o));
	credential_init(&o.secret);
	credential_init(&o.basic);
	credential_init(&o.bearer);
	credential_init(&o.client_secret);
	credential_init(&o.authz);
	o.timeout_s = SEND_TIMEOUT_S;
	if (sender_answer_init(&a) == -1) {
		fprintf(stderr, PROG ": out of memory\n");
		goto done;
	}
	if ((r = parse_args(argc, argv, &o, &first)) != 0) {
		if (r == -1)
			usage(stderr, false);
		else
			rc = SEND_OK;
		goto done;
	}
	if ((s = sender_new(&o.tls, o.timeout_s, err, sizeof(err))) == NULL) {
		fprintf(stderr, PROG ": %s\n", err);
		goto done;
	}
	if (load_credentials(&o, s) == -1)
		goto done;
	rc = SEND_OK;
	for (i = first; i < argc; i++) {
		r = send_file(&o, s, argv[i], &a);
		rc = r > rc ? r : rc;
	}
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, PROG ": unable to write the answers: %s\n",
		    strerror(errno));
		rc = SEND_FAILED;
	}
done:
	sender_free(s);
	sender_answer_fini(&a);
	opts_fini(&o);
	return rc;
}
