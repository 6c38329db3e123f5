/*
 * nonce.c - nonces for the Sinch signature, in the form Sinch uses: a
 * ULID (https://github.com/ulid/spec), 128 bits written as 26 digits of
 * Crockford's base32, the first digit holding 3 bits.  The time prefix
 * makes nonces sort by creation; the 80 random bits make them unique.
 */
#include <sys/random.h>

#include <errno.h>
#include <string.h>
#include <time.h>

#include "send/nonce.h"

static const char	nonce_digits[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int
nonce_make(char out[NONCE_LEN + 1])
{
	struct timespec	 ts;
	uint8_t		 rnd[NONCE_RANDOM];
	uint64_t	 ms;
	size_t		 got = 0;
	ssize_t		 n;

	while (got < sizeof(rnd)) {
		n = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (n == -1 && errno != EINTR)
			return -1;
		if (n > 0)
			got += (size_t)n;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	nonce_ulid(ms, rnd, out);
	return 0;
}

void
nonce_ulid(uint64_t ms, const uint8_t rnd[NONCE_RANDOM],
    char out[NONCE_LEN + 1])
{
	uint8_t		v[16];
	unsigned int	d, b, bit;
	int		i, pos;

	for (i = 0; i < 6; i++)
		v[i] = (uint8_t)(ms >> (40 - 8 * i));
	memcpy(v + 6, rnd, NONCE_RANDOM);
	/*
	 * 26 digits of 5 bits are 130 bits: the value sits in the low 128,
	 * so digit i covers bits 5i - 2 .. 5i + 2 counted from the top of v,
	 * and the two bits before v are zero.
	 */
	for (i = 0; i < NONCE_LEN; i++) {
		d = 0;
		for (b = 0; b < 5; b++) {
			pos = 5 * i + (int)b - 2;
			bit = pos < 0 ? 0 :
			    (v[pos / 8] >> (7 - pos % 8)) & 1;
			d = d << 1 | bit;
		}
		out[i] = nonce_digits[d];
	}
	out[NONCE_LEN] = '\0';
}
