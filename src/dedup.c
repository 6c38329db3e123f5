/*
 * dedup.c - a bounded, expiring set of body digests, each with the sinks
 * that took those bytes.
 *
 * The cache is split into shards by digest, each with its own lock, so
 * requests on different threads rarely wait for each other.  A shard
 * keeps its entries in a ring in the order they were first seen; since
 * every entry lives equally long, the oldest is always the next to
 * expire, and it is the one dropped when the shard is full.  An
 * open-addressing index (linear probing, backward-shift deletion) finds
 * an entry by digest.  Times are wall-clock seconds so that a state file
 * still means something after a restart.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "dedup.h"
#include "fdutil.h"

#define DEDUP_SHARDS	16
#define DEDUP_MAGIC	"sinch-webhookd dedup 1"

struct dedup_entry {
	uint8_t		digest[DEDUP_DIGEST_LEN];
	int64_t		seen;		/* first taken, epoch seconds */
	uint64_t	sinks;
};

struct dedup_shard {
	pthread_mutex_t		 lock;
	struct dedup_entry	*ring;
	size_t			 cap;
	size_t			 head;		/* oldest */
	size_t			 count;
	uint32_t		*index;		/* ring position + 1; 0: free */
	size_t			 mask;		/* index size - 1 */
};

struct dedup {
	int			 ttl_s;
	struct dedup_shard	 shards[DEDUP_SHARDS];
};

void
dedup_digest(const void *body, size_t len, uint8_t digest[DEDUP_DIGEST_LEN])
{
	struct sha256_ctx	ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, len, body);
	sha256_digest(&ctx, DEDUP_DIGEST_LEN, digest);
}

/* SHA-256 output is uniform: its bytes are hash enough. */
static uint64_t
dedup_hash(const uint8_t *digest)
{
	uint64_t	h;

	memcpy(&h, digest + 8, sizeof(h));
	return h;
}

static struct dedup_shard *
dedup_shard(struct dedup *d, const uint8_t *digest)
{
	return &d->shards[digest[0] % DEDUP_SHARDS];
}

struct dedup *
dedup_new(size_t entries, int ttl_s)
{
	struct dedup	*d;
	size_t		 i, cap, slots;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->ttl_s = ttl_s;
	cap = (entries + DEDUP_SHARDS - 1) / DEDUP_SHARDS;
	if (cap == 0)
		cap = 1;
	/* Keep the index at most half full so probes stay short. */
	for (slots = 16; slots < cap * 2; slots *= 2)
		;
	for (i = 0; i < DEDUP_SHARDS; i++) {
		struct dedup_shard	*s = &d->shards[i];

		pthread_mutex_init(&s->lock, NULL);
		s->cap = cap;
		s->mask = slots - 1;
		/* calloc: pages are touched only as entries arrive. */
		s->ring = calloc(cap, sizeof(*s->ring));
		s->index = calloc(slots, sizeof(*s->index));
		if (s->ring == NULL || s->index == NULL) {
			dedup_free(d);
			return NULL;
		}
	}
	return d;
}

void
dedup_free(struct dedup *d)
{
	size_t	i;

	if (d == NULL)
		return;
	for (i = 0; i < DEDUP_SHARDS; i++) {
		free(d->shards[i].ring);
		free(d->shards[i].index);
		pthread_mutex_destroy(&d->shards[i].lock);
	}
	free(d);
}

/* The index slot holding digest, or the free slot where it would go. */
static size_t
shard_probe(const struct dedup_shard *s, const uint8_t *digest)
{
	size_t	i = (size_t)dedup_hash(digest) & s->mask;

	while (s->index[i] != 0 &&
	    memcmp(s->ring[s->index[i] - 1].digest, digest,
	    DEDUP_DIGEST_LEN) != 0)
		i = (i + 1) & s->mask;
	return i;
}

static void
shard_unindex(struct dedup_shard *s, size_t i)
{
	size_t	j, home;

	s->index[i] = 0;
	for (j = (i + 1) & s->mask; s->index[j] != 0; j = (j + 1) & s->mask) {
		home = (size_t)dedup_hash(s->ring[s->index[j] - 1].digest) &
		    s->mask;
		/* Move j back to i unless its home lies in (i, j]. */
		if (i <= j ? (home <= i || home > j) :
		    (home <= i && home > j)) {
			s->index[i] = s->index[j];
			s->index[j] = 0;
			i = j;
		}
	}
}

static void
shard_drop_oldest(struct dedup_shard *s)
{
	struct dedup_entry	*e = &s->ring[s->head];

	shard_unindex(s, shard_probe(s, e->digest));
	s->head = (s->head + 1) % s->cap;
	s->count--;
}

static bool
expired(const struct dedup *d, const struct dedup_entry *e, int64_t now)
{
	return now - e->seen >= d->ttl_s || e->seen > now + d->ttl_s;
}

static void
shard_expire(struct dedup *d, struct dedup_shard *s, int64_t now)
{
	while (s->count > 0 && expired(d, &s->ring[s->head], now))
		shard_drop_oldest(s);
}

static void
shard_insert(struct dedup_shard *s, const uint8_t *digest, int64_t seen,
    uint64_t sinks)
{
	struct dedup_entry	*e;
	size_t			 pos;

	if (s->count == s->cap)
		shard_drop_oldest(s);
	pos = (s->head + s->count) % s->cap;
	e = &s->ring[pos];
	memcpy(e->digest, digest, DEDUP_DIGEST_LEN);
	e->seen = seen;
	e->sinks = sinks;
	s->count++;
	s->index[shard_probe(s, digest)] = (uint32_t)pos + 1;
}

uint64_t
dedup_taken(struct dedup *d, const uint8_t *digest)
{
	struct dedup_shard	*s = dedup_shard(d, digest);
	int64_t			 now = (int64_t)time(NULL);
	uint64_t		 sinks = 0;
	size_t			 i;

	pthread_mutex_lock(&s->lock);
	shard_expire(d, s, now);
	i = shard_probe(s, digest);
	if (s->index[i] != 0)
		sinks = s->ring[s->index[i] - 1].sinks;
	pthread_mutex_unlock(&s->lock);
	return sinks;
}

void
dedup_mark(struct dedup *d, const uint8_t *digest, unsigned int sink)
{
	struct dedup_shard	*s = dedup_shard(d, digest);
	int64_t			 now = (int64_t)time(NULL);
	uint64_t		 bit = UINT64_C(1) << (sink & 63);
	size_t			 i;

	pthread_mutex_lock(&s->lock);
	shard_expire(d, s, now);
	i = shard_probe(s, digest);
	if (s->index[i] != 0)
		s->ring[s->index[i] - 1].sinks |= bit;
	else
		shard_insert(s, digest, now, bit);
	pthread_mutex_unlock(&s->lock);
}

size_t
dedup_count(struct dedup *d)
{
	size_t	i, n = 0;

	for (i = 0; i < DEDUP_SHARDS; i++) {
		pthread_mutex_lock(&d->shards[i].lock);
		n += d->shards[i].count;
		pthread_mutex_unlock(&d->shards[i].lock);
	}
	return n;
}

/*
 * The file is text: a magic line, the sink names, then one line per
 * entry, "<hex digest> <seen> <sinks bitmask in hex>", oldest first
 * within each shard.
 */
int
dedup_save(struct dedup *d, const char *path, const char *const *names,
    size_t nnames, char *err, size_t errlen)
{
	char		 tmp[PATH_MAX];
	FILE		*f = NULL;
	size_t		 i, k, n;
	int		 fd = -1, ret = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "dedup: %s: path too long", path);
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) ==
	    -1 || (f = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "dedup: unable to create %s: %s", tmp,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	fprintf(f, "%s\nsinks %zu\n", DEDUP_MAGIC, nnames);
	for (i = 0; i < nnames; i++)
		fprintf(f, "%s\n", names[i]);
	for (i = 0; i < DEDUP_SHARDS; i++) {
		struct dedup_shard	*s = &d->shards[i];

		pthread_mutex_lock(&s->lock);
		for (n = 0; n < s->count; n++) {
			const struct dedup_entry *e =
			    &s->ring[(s->head + n) % s->cap];

			for (k = 0; k < DEDUP_DIGEST_LEN; k++)
				fprintf(f, "%02x", e->digest[k]);
			fprintf(f, " %" PRId64 " %" PRIx64 "\n", e->seen,
			    e->sinks);
		}
		pthread_mutex_unlock(&s->lock);
	}
	if (fflush(f) == EOF || fsync(fileno(f)) == -1) {
		snprintf(err, errlen, "dedup: unable to write %s: %s", tmp,
		    strerror(errno));
		goto done;
	}
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "dedup: unable to rename %s: %s", tmp,
		    strerror(errno));
		goto done;
	}
	fdutil_sync_dir(path);
	ret = 0;
done:
	if (fclose(f) == EOF && ret == 0) {
		snprintf(err, errlen, "dedup: unable to close %s: %s", tmp,
		    strerror(errno));
		ret = -1;
	}
	if (ret == -1)
		unlink(tmp);
	return ret;
}

static int
hex_digest(const char *hex, uint8_t *digest)
{
	size_t		i;
	unsigned int	byte;

	for (i = 0; i < DEDUP_DIGEST_LEN; i++) {
		if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
			return -1;
		digest[i] = (uint8_t)byte;
	}
	return 0;
}

int
dedup_load(struct dedup *d, const char *path, const char *const *names,
    size_t nnames, char *err, size_t errlen)
{
	FILE		*f;
	char		 line[256], hex[2 * DEDUP_DIGEST_LEN + 1];
	int		 map[64];	/* old sink number -> new, or -1 */
	size_t		 i, j, nold = 0;
	unsigned long	 lineno = 0;
	int64_t		 now = (int64_t)time(NULL), seen;
	uint64_t	 old, sinks;
	uint8_t		 digest[DEDUP_DIGEST_LEN];
	int		 ret = -1;

	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "dedup: unable to open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	for (i = 0; i < 64; i++)
		map[i] = -1;
	lineno++;
	if (fgets(line, sizeof(line), f) == NULL ||
	    strcmp(line, DEDUP_MAGIC "\n") != 0)
		goto bad;
	lineno++;
	if (fgets(line, sizeof(line), f) == NULL ||
	    sscanf(line, "sinks %zu", &nold) != 1 || nold > 64)
		goto bad;
	for (i = 0; i < nold; i++) {
		lineno++;
		if (fgets(line, sizeof(line), f) == NULL)
			goto bad;
		line[strcspn(line, "\n")] = '\0';
		for (j = 0; j < nnames; j++)
			if (strcmp(line, names[j]) == 0)
				map[i] = (int)j;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (sscanf(line, "%64s %" SCNd64 " %" SCNx64, hex, &seen,
		    &old) != 3 || strlen(hex) != 2 * DEDUP_DIGEST_LEN ||
		    hex_digest(hex, digest) == -1)
			goto bad;
		sinks = 0;
		for (i = 0; i < nold; i++)
			if ((old & (UINT64_C(1) << i)) && map[i] != -1)
				sinks |= UINT64_C(1) << map[i];
		if (sinks != 0) {
			struct dedup_entry	probe = { .seen = seen };
			struct dedup_shard	*s = dedup_shard(d, digest);

			if (expired(d, &probe, now))
				continue;
			pthread_mutex_lock(&s->lock);
			if (s->index[shard_probe(s, digest)] == 0)
				shard_insert(s, digest, seen, sinks);
			pthread_mutex_unlock(&s->lock);
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "dedup: unable to read %s: %s", path,
		    strerror(errno));
		goto done;
	}
	ret = 0;
	goto done;
bad:
	snprintf(err, errlen, "dedup: %s:%lu: not a state file of this "
	    "version", path, lineno);
done:
	fclose(f);
	return ret;
}
