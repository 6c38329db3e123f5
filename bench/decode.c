/*
 * decode.c - the decoder micro-benchmark: how many callback bodies one core
 * turns into record lines per second (report_decode, then record_encode),
 * for each callback type (recipient_delivery_report_sms, mo_text, ...).
 * Bodies are the files named on the command line; each file is decoded
 * over and over for a fixed time, and the files of one type share the
 * type's figure.  It prints a table, or JSON with -j.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "record.h"
#include "report.h"

#define DECODE_MAX_TYPES	16

struct decode_type {
	char	 name[64];	/* the callback's "type" */
	char	 kind[32];	/* recipient_delivery_report, inbound, ... */
	size_t	 files;
	uint64_t reports;
	double	 secs;
	size_t	 bytes;		/* body bytes, all files */
};

static double
decode_now(void)
{
	struct timespec	 ts;

	/* CPU time of this thread: what "per core" means. */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
decode_read(const char *path, struct buf *b)
{
	FILE	*fp;
	char	 chunk[4096];
	size_t	 n;
	int	 ret = -1;

	if ((fp = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "decode: unable to open %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (buf_append(b, chunk, n) == -1)
			goto done;
	if (!ferror(fp))
		ret = 0;
done:
	fclose(fp);
	return ret;
}

/*
 * Decodes and encodes body for about secs of CPU time.  Returns the number
 * of reports, with the time taken in *took, or 0 when the body does not
 * decode.
 */
static uint64_t
decode_run(const struct buf *body, double secs, double *took)
{
	struct timespec	 at = { 1700000000, 123000000 };
	struct report	*r;
	struct buf	 out;
	char		 err[256];
	double		 start, now;
	uint64_t	 n = 0;
	int		 i;

	buf_init(&out);
	start = now = decode_now();
	while (now - start < secs) {
		/* Check the clock every 1000 reports, not every one. */
		for (i = 0; i < 1000; i++) {
			if ((r = report_decode(body->data, body->len, err,
			    sizeof(err))) == NULL) {
				fprintf(stderr, "decode: %s\n", err);
				n = 0;
				goto done;
			}
			buf_reset(&out);
			if (record_encode(&out, r, "bench-1", &at, body->data,
			    body->len) == -1) {
				report_free(r);
				n = 0;
				goto done;
			}
			report_free(r);
		}
		n += 1000;
		now = decode_now();
	}
	*took = now - start;
done:
	buf_fini(&out);
	return n;
}

static void
usage(void)
{
	fprintf(stderr, "usage: decode [-j] [-s seconds] file ...\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct decode_type	 types[DECODE_MAX_TYPES];
	struct decode_type	*t;
	struct report		*r;
	struct buf		 body;
	char			 type[64];
	const char		*kind;
	char			 err[256];
	double			 secs = 1.0, took = 0;
	size_t			 ntypes = 0, i;
	uint64_t		 n;
	bool			 json = false;
	int			 ch, status = 0;

	while ((ch = getopt(argc, argv, "js:")) != -1) {
		switch (ch) {
		case 'j':
			json = true;
			break;
		case 's':
			secs = atof(optarg);
			if (secs <= 0)
				usage();
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage();
	memset(types, 0, sizeof(types));
	for (; argc > 0; argc--, argv++) {
		buf_init(&body);
		if (decode_read(*argv, &body) == -1) {
			status = 1;
			buf_fini(&body);
			continue;
		}
		if ((r = report_decode(body.data, body.len, err,
		    sizeof(err))) == NULL) {
			/* Vectors of bad input are not what this measures. */
			buf_fini(&body);
			continue;
		}
		kind = report_kind_name(r->kind);
		snprintf(type, sizeof(type), "%s", r->type);
		report_free(r);
		for (i = 0; i < ntypes && strcmp(types[i].name, type) != 0;
		    i++)
			;
		if (i == ntypes) {
			if (ntypes == DECODE_MAX_TYPES) {
				buf_fini(&body);
				continue;
			}
			snprintf(types[ntypes].name, sizeof(types[0].name),
			    "%s", type);
			snprintf(types[ntypes++].kind, sizeof(types[0].kind),
			    "%s", kind);
		}
		t = &types[i];
		if ((n = decode_run(&body, secs, &took)) == 0) {
			fprintf(stderr, "decode: %s failed\n", *argv);
			status = 1;
		} else {
			t->files++;
			t->reports += n;
			t->secs += took;
			t->bytes += body.len;
		}
		buf_fini(&body);
	}
	if (json)
		printf("[");
	else
		printf("%-30s %5s %10s %14s %10s\n", "type", "files",
		    "bytes/avg", "reports/s/core", "ns/report");
	for (i = 0; i < ntypes; i++) {
		t = &types[i];
		if (t->files == 0)
			continue;
		if (json)
			printf("%s{\"type\":\"%s\",\"kind\":\"%s\","
			    "\"files\":%zu,\"avg_bytes\":%zu,"
			    "\"reports_per_s\":%.0f,\"ns_per_report\":%.0f}",
			    i > 0 ? "," : "", t->name, t->kind, t->files,
			    t->bytes / t->files,
			    t->reports / t->secs, t->secs * 1e9 / t->reports);
		else
			printf("%-30s %5zu %10zu %14.0f %10.0f\n", t->name,
			    t->files, t->bytes / t->files,
			    t->reports / t->secs, t->secs * 1e9 / t->reports);
	}
	if (json)
		printf("]\n");
	return status;
}
