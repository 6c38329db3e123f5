/*
 * sns_sign.c - signs a string the way AWS SNS signs its envelopes, for
 * tests/e2e/t_sns.sh and the benchmark: RSA PKCS#1 v1.5 over SHA-1
 * (SignatureVersion 1) or SHA-256 (SignatureVersion 2).  Reads the string
 * to sign from stdin, byte for byte, and prints the signature in Base64 on
 * one line.  Building the string (sns.h, sns_string_to_sign) is left to
 * the caller.
 *
 * Usage: sns-sign KEY.pem 1|2 <string
 * Exit status: 0 signed, 1 failure, 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>

#define SNS_SIGN_MAX	(1 << 20)	/* SNS messages stop at 256 KiB */

static int
read_all(FILE *f, gnutls_datum_t *d)
{
	size_t		 cap = 4096, len = 0, n;
	unsigned char	*p, *q;

	if ((p = malloc(cap)) == NULL)
		return -1;
	while ((n = fread(p + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len < cap)
			continue;
		if (cap >= SNS_SIGN_MAX || (q = realloc(p, cap * 2)) == NULL) {
			free(p);
			return -1;
		}
		p = q;
		cap *= 2;
	}
	if (ferror(f)) {
		free(p);
		return -1;
	}
	d->data = p;
	d->size = (unsigned int)len;
	return 0;
}

int
main(int argc, char **argv)
{
	gnutls_privkey_t		 key = NULL;
	gnutls_digest_algorithm_t	 dig;
	gnutls_datum_t			 pem = { NULL, 0 }, msg = { NULL, 0 };
	gnutls_datum_t			 sig = { NULL, 0 }, b64 = { NULL, 0 };
	int				 r, ret = 1;

	if (argc != 3 || (strcmp(argv[2], "1") != 0 &&
	    strcmp(argv[2], "2") != 0)) {
		fprintf(stderr, "usage: sns-sign KEY.pem 1|2 <string\n");
		return 2;
	}
	dig = argv[2][0] == '1' ? GNUTLS_DIG_SHA1 : GNUTLS_DIG_SHA256;
	if ((r = gnutls_load_file(argv[1], &pem)) < 0) {
		fprintf(stderr, "sns-sign: unable to read %s: %s\n", argv[1],
		    gnutls_strerror(r));
		goto done;
	}
	if (read_all(stdin, &msg) == -1) {
		fprintf(stderr, "sns-sign: unable to read stdin\n");
		goto done;
	}
	if ((r = gnutls_privkey_init(&key)) < 0 ||
	    (r = gnutls_privkey_import_x509_raw(key, &pem,
	    GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		fprintf(stderr, "sns-sign: unable to load the key %s: %s\n",
		    argv[1], gnutls_strerror(r));
		goto done;
	}
	if ((r = gnutls_privkey_sign_data(key, dig, 0, &msg, &sig)) < 0) {
		fprintf(stderr, "sns-sign: unable to sign: %s\n",
		    gnutls_strerror(r));
		goto done;
	}
	if ((r = gnutls_base64_encode2(&sig, &b64)) < 0) {
		fprintf(stderr, "sns-sign: unable to encode: %s\n",
		    gnutls_strerror(r));
		goto done;
	}
	/* gnutls_base64_encode2 gives one unbroken line, no terminator. */
	if (printf("%.*s\n", (int)b64.size, (const char *)b64.data) < 0 ||
	    fflush(stdout) != 0) {
		fprintf(stderr, "sns-sign: unable to write the signature\n");
		goto done;
	}
	ret = 0;
done:
	gnutls_free(b64.data);
	gnutls_free(sig.data);
	gnutls_privkey_deinit(key);
	free(msg.data);
	gnutls_free(pem.data);
	return ret;
}
