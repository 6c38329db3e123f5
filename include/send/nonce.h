/*
 * nonce.h - sinch-webhookd-send: nonces for the Sinch signature, made
 * like Sinch's own: a ULID, 26 characters of Crockford's base32 (a 48-bit
 * millisecond time, then 80 random bits).
 */
#ifndef SEND_NONCE_H
#define SEND_NONCE_H

#include <stdint.h>

#define NONCE_LEN	26
#define NONCE_RANDOM	10	/* bytes of randomness in a ULID */

/* A new nonce from the clock and getrandom(2); -1 with errno set. */
int	 nonce_make(char out[NONCE_LEN + 1]);
/* The ULID of ms (its low 48 bits) and rnd, NUL-terminated. */
void	 nonce_ulid(uint64_t ms, const uint8_t rnd[NONCE_RANDOM],
	    char out[NONCE_LEN + 1]);

#endif
