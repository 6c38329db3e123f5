/*
 * connlimit.c - counts open connections, in all and by client address,
 * and says whether the listener takes one more.  The counts live in one
 * open-addressing table under one lock: a connection is opened and closed
 * once, far less often than its requests are served.  Refusals are logged
 * here, once per CONNLIMIT_LOG_INTERVAL_S with the number refused since.
 */
#include <sys/random.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "connlimit.h"
#include "log.h"
#include "metrics.h"

/* Family (4 or 6), then the address: 4 bytes, or an IPv6 /64. */
#define CONNLIMIT_KEY_LEN	9

struct connlimit_slot {
	uint8_t		key[CONNLIMIT_KEY_LEN];	/* key[0] == 0: free */
	uint32_t	count;
};

/* One kind of refusal, for the log. */
struct connlimit_note {
	time_t		last;		/* when last logged, 0: never */
	unsigned long	since;		/* refused since then */
};

struct connlimit {
	pthread_mutex_t		 lock;
	size_t			 total;
	size_t			 max_total;
	uint32_t		 max_per_address;	/* 0: no limit */
	struct auth_cidr	*exempt;	/* trusted proxies */
	size_t			 nexempt;
	struct connlimit_slot	*slots;
	size_t			 mask;		/* slots - 1, a power of 2 */
	uint64_t		 seed;
	struct connlimit_note	 full;
	struct connlimit_note	 address;
};

/* The table key of sa; false for an address family it does not count. */
static bool
key_of(const struct sockaddr *sa, uint8_t key[CONNLIMIT_KEY_LEN])
{
	static const uint8_t	 v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    0, 0xff, 0xff };
	const uint8_t		*a6;

	memset(key, 0, CONNLIMIT_KEY_LEN);
	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    4);
		return true;
	}
	if (sa->sa_family != AF_INET6)
		return false;
	a6 = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	if (memcmp(a6, v4mapped, sizeof(v4mapped)) == 0) {
		key[0] = 4;
		memcpy(key + 1, a6 + 12, 4);
	} else {
		/* One client holds at least a /64: count it as one. */
		key[0] = 6;
		memcpy(key + 1, a6, 8);
	}
	return true;
}

/* The key as text for the log: "192.0.2.7" or "2001:db8::/64". */
static void
key_name(const uint8_t key[CONNLIMIT_KEY_LEN], char *out, size_t len)
{
	uint8_t	a6[16] = { 0 };

	if (key[0] == 4) {
		inet_ntop(AF_INET, key + 1, out, (socklen_t)len);
		return;
	}
	memcpy(a6, key + 1, 8);
	inet_ntop(AF_INET6, a6, out, (socklen_t)len);
	strncat(out, "/64", len - strlen(out) - 1);
}

/* FNV-1a over the seed and the key. */
static size_t
key_hash(const struct connlimit *cl, const uint8_t *key)
{
	uint64_t	h = 0xcbf29ce484222325ULL ^ cl->seed;

	for (size_t i = 0; i < CONNLIMIT_KEY_LEN; i++) {
		h ^= key[i];
		h *= 0x100000001b3ULL;
	}
	return (size_t)(h ^ (h >> 29));
}

/* The slot holding key, or the free one where it would go; NULL: full. */
static struct connlimit_slot *
slot_find(struct connlimit *cl, const uint8_t *key)
{
	size_t	i = key_hash(cl, key) & cl->mask;

	for (size_t n = 0; n <= cl->mask; n++, i = (i + 1) & cl->mask) {
		if (cl->slots[i].key[0] == 0 ||
		    memcmp(cl->slots[i].key, key, CONNLIMIT_KEY_LEN) == 0)
			return &cl->slots[i];
	}
	return NULL;
}

/* Frees slot s, moving back the entries that probed past it. */
static void
slot_remove(struct connlimit *cl, struct connlimit_slot *s)
{
	size_t	hole = (size_t)(s - cl->slots), i = hole, home;

	for (;;) {
		i = (i + 1) & cl->mask;
		if (cl->slots[i].key[0] == 0)
			break;
		home = key_hash(cl, cl->slots[i].key) & cl->mask;
		/* Stays if its home lies cyclically in (hole, i]. */
		if ((i > hole && home > hole && home <= i) ||
		    (i < hole && (home > hole || home <= i)))
			continue;
		cl->slots[hole] = cl->slots[i];
		hole = i;
	}
	memset(&cl->slots[hole], 0, sizeof(cl->slots[hole]));
}

static bool
is_exempt(const struct connlimit *cl, const struct sockaddr *sa)
{
	for (size_t i = 0; i < cl->nexempt; i++)
		if (auth_cidr_match(&cl->exempt[i], sa))
			return true;
	return false;
}

/*
 * Whether a refusal is to be logged now, and in *since how many went
 * unlogged before it; under the lock.
 */
static bool
note_due(struct connlimit_note *note, unsigned long *since)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (note->last != 0 &&
	    now.tv_sec - note->last < CONNLIMIT_LOG_INTERVAL_S) {
		note->since++;
		return false;
	}
	*since = note->since;
	note->since = 0;
	/* The monotonic clock may start at 0. */
	note->last = now.tv_sec > 0 ? now.tv_sec : 1;
	return true;
}

struct connlimit *
connlimit_new(const struct config *cfg, char *err, size_t errlen)
{
	struct connlimit	*cl;
	size_t			 cap = 16;

	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		goto nomem;
	pthread_mutex_init(&cl->lock, NULL);
	cl->max_total = (size_t)cfg->max_connections;
	cl->max_per_address = (uint32_t)cfg->max_connections_per_address;
	/* Room for every connection on an address of its own, and then some. */
	while (cap < 2 * cl->max_total + 64)
		cap *= 2;
	cl->mask = cap - 1;
	if ((cl->slots = calloc(cap, sizeof(*cl->slots))) == NULL)
		goto nomem;
	if (cfg->ntrusted_proxies > 0 &&
	    (cl->exempt = calloc(cfg->ntrusted_proxies,
	    sizeof(*cl->exempt))) == NULL)
		goto nomem;
	for (size_t i = 0; i < cfg->ntrusted_proxies; i++) {
		if (auth_cidr_parse(cfg->trusted_proxies[i],
		    &cl->exempt[cl->nexempt]) == 0)
			cl->nexempt++;
	}
	if (getrandom(&cl->seed, sizeof(cl->seed), 0) !=
	    (ssize_t)sizeof(cl->seed))
		cl->seed = (uint64_t)(uintptr_t)cl ^ (uint64_t)time(NULL);
	return cl;
nomem:
	snprintf(err, errlen, "http: out of memory");
	connlimit_free(cl);
	return NULL;
}

void
connlimit_free(struct connlimit *cl)
{
	if (cl == NULL)
		return;
	pthread_mutex_destroy(&cl->lock);
	free(cl->slots);
	free(cl->exempt);
	free(cl);
}

enum connlimit_verdict
connlimit_admit(struct connlimit *cl, const struct sockaddr *sa)
{
	enum connlimit_verdict	 v = CONNLIMIT_OK;
	struct connlimit_slot	*s;
	uint8_t			 key[CONNLIMIT_KEY_LEN];
	unsigned long		 since = 0;
	size_t			 total;
	char			 name[INET6_ADDRSTRLEN + 4];
	bool			 due = false;

	pthread_mutex_lock(&cl->lock);
	total = cl->total;
	if (total >= cl->max_total) {
		v = CONNLIMIT_FULL;
		due = note_due(&cl->full, &since);
	} else if (cl->max_per_address > 0 && key_of(sa, key) &&
	    !is_exempt(cl, sa) && (s = slot_find(cl, key)) != NULL &&
	    s->key[0] != 0 && s->count >= cl->max_per_address) {
		v = CONNLIMIT_ADDRESS;
		if ((due = note_due(&cl->address, &since)))
			key_name(key, name, sizeof(name));
	}
	pthread_mutex_unlock(&cl->lock);
	if (v == CONNLIMIT_OK)
		return v;
	metrics_connection_refused(v == CONNLIMIT_FULL);
	if (due && v == CONNLIMIT_FULL)
		log_warnx("http: connection table full (%zu open, "
		    "limits.max_connections), refusing new connections "
		    "(%lu more refused since the last such line)", total,
		    since);
	else if (due)
		log_warnx("http: %s has %u connections open "
		    "(limits.max_connections_per_address), refusing its new "
		    "ones (%lu more refused, from any address, since the last "
		    "such line)", name, cl->max_per_address, since);
	return v;
}

bool
connlimit_opened(struct connlimit *cl, const struct sockaddr *sa)
{
	struct connlimit_slot	*s = NULL;
	uint8_t			 key[CONNLIMIT_KEY_LEN];
	bool			 by_address;

	by_address = sa != NULL && key_of(sa, key) && !is_exempt(cl, sa);
	pthread_mutex_lock(&cl->lock);
	cl->total++;
	if (by_address && (s = slot_find(cl, key)) != NULL) {
		if (s->key[0] == 0)
			memcpy(s->key, key, CONNLIMIT_KEY_LEN);
		s->count++;
	}
	pthread_mutex_unlock(&cl->lock);
	metrics_connections(1);
	return s != NULL;
}

void
connlimit_closed(struct connlimit *cl, const struct sockaddr *sa,
    bool by_address)
{
	struct connlimit_slot	*s;
	uint8_t			 key[CONNLIMIT_KEY_LEN];

	by_address = by_address && sa != NULL && key_of(sa, key);
	pthread_mutex_lock(&cl->lock);
	if (cl->total > 0)
		cl->total--;
	if (by_address && (s = slot_find(cl, key)) != NULL &&
	    s->key[0] != 0 && --s->count == 0)
		slot_remove(cl, s);
	pthread_mutex_unlock(&cl->lock);
	metrics_connections(-1);
}

size_t
connlimit_count(struct connlimit *cl)
{
	size_t	n;

	pthread_mutex_lock(&cl->lock);
	n = cl->total;
	pthread_mutex_unlock(&cl->lock);
	return n;
}
