/*
 * dedup.h - which sinks already took a callback's exact bytes.
 *
 * Sinch retries a callback it did not get a 2xx for, with the same body.
 * A bounded cache of SHA-256 body digests, each with the set of sinks
 * that took it, lets a retry skip the sinks that already have it.
 */
#ifndef DEDUP_H
#define DEDUP_H

#include <stddef.h>
#include <stdint.h>

#define DEDUP_DIGEST_LEN	32

struct dedup;

void		 dedup_digest(const void *body, size_t len,
		    uint8_t digest[DEDUP_DIGEST_LEN]);
/* Keeps at most entries digests, each for ttl_s seconds.  NULL: ENOMEM. */
struct dedup	*dedup_new(size_t entries, int ttl_s);
void		 dedup_free(struct dedup *);
/* The sinks (bit i for sink i) that took these bytes within the ttl. */
uint64_t	 dedup_taken(struct dedup *, const uint8_t *digest);
/* Sink number sink (0..63) took these bytes now. */
void		 dedup_mark(struct dedup *, const uint8_t *digest,
		    unsigned int sink);
/*
 * Saves to path (written beside it, synced, then renamed) or loads from
 * it.  names[i] is sink i's name, so a state file survives sinks being
 * added, removed or reordered.  A missing file loads as empty.  Returns
 * 0, or -1 with a reason in err.
 */
int		 dedup_save(struct dedup *, const char *path,
		    const char *const *names, size_t nnames, char *err,
		    size_t errlen);
int		 dedup_load(struct dedup *, const char *path,
		    const char *const *names, size_t nnames, char *err,
		    size_t errlen);
/* Live entries, for tests and logs. */
size_t		 dedup_count(struct dedup *);

#endif
