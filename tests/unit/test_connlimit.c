/*
 * test_connlimit.c - which connections the listener takes: the total,
 * the share of one address (IPv4, an IPv6 /64, v4-mapped IPv6 as IPv4),
 * trusted proxies exempt, counts given back on close, and a table that
 * stays right after many addresses come and go.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "connlimit.h"
#include "fixture.h"

/* A config with only what connlimit_new() reads. */
static struct config *
config_with(int total, int per_address, char **proxies, size_t nproxies)
{
	static struct config	cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.max_connections = total;
	cfg.max_connections_per_address = per_address;
	cfg.trusted_proxies = proxies;
	cfg.ntrusted_proxies = nproxies;
	return &cfg;
}

/* An address as a sockaddr, in static storage per call slot. */
static const struct sockaddr *
addr(const char *text)
{
	static struct sockaddr_storage	 ss[8];
	static int			 next;
	struct sockaddr_storage		*s = &ss[next++ % 8];

	fixture_sockaddr(text, s);
	return (const struct sockaddr *)s;
}

/* Opens n connections from text, each after a successful admit. */
static void
open_n(struct connlimit *cl, const char *text, int n)
{
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(connlimit_admit(cl, addr(text)),
		    CONNLIMIT_OK);
		ck_assert(connlimit_opened(cl, addr(text)));
	}
}

START_TEST(test_connlimit_per_address)
{
	struct connlimit	*cl;
	char			 err[128];

	cl = connlimit_new(config_with(100, 3, NULL, 0), err, sizeof(err));
	ck_assert_msg(cl != NULL, "%s", err);
	open_n(cl, "192.0.2.7", 3);
	ck_assert_int_eq(connlimit_admit(cl, addr("192.0.2.7")),
	    CONNLIMIT_ADDRESS);
	/* Another address has a share of its own. */
	open_n(cl, "192.0.2.8", 3);
	ck_assert_uint_eq(connlimit_count(cl), 6);
	/* One closed: one more may come. */
	connlimit_closed(cl, addr("192.0.2.7"), true);
	ck_assert_int_eq(connlimit_admit(cl, addr("192.0.2.7")),
	    CONNLIMIT_OK);
	ck_assert_uint_eq(connlimit_count(cl), 5);
	connlimit_free(cl);
}
END_TEST

START_TEST(test_connlimit_total)
{
	struct connlimit	*cl;
	char			 err[128], a[32];

	cl = connlimit_new(config_with(5, 3, NULL, 0), err, sizeof(err));
	ck_assert_msg(cl != NULL, "%s", err);
	for (int i = 0; i < 5; i++) {
		snprintf(a, sizeof(a), "198.51.100.%d", i + 1);
		open_n(cl, a, 1);
	}
	/* Full: even an address with no connection yet is refused. */
	ck_assert_int_eq(connlimit_admit(cl, addr("203.0.113.1")),
	    CONNLIMIT_FULL);
	connlimit_closed(cl, addr("198.51.100.3"), true);
	ck_assert_int_eq(connlimit_admit(cl, addr("203.0.113.1")),
	    CONNLIMIT_OK);
	connlimit_free(cl);
}
END_TEST

START_TEST(test_connlimit_ipv6_prefix)
{
	struct connlimit	*cl;
	char			 err[128];

	cl = connlimit_new(config_with(100, 2, NULL, 0), err, sizeof(err));
	ck_assert_msg(cl != NULL, "%s", err);
	/* Two addresses of one /64 are one client. */
	open_n(cl, "2001:db8:1:2::1", 1);
	open_n(cl, "2001:db8:1:2:ffff::9", 1);
	ck_assert_int_eq(connlimit_admit(cl, addr("2001:db8:1:2::77")),
	    CONNLIMIT_ADDRESS);
	/* The next /64 is another. */
	open_n(cl, "2001:db8:1:3::1", 2);
	/* A v4-mapped address counts as the IPv4 address. */
	open_n(cl, "192.0.2.7", 1);
	open_n(cl, "::ffff:192.0.2.7", 1);
	ck_assert_int_eq(connlimit_admit(cl, addr("192.0.2.7")),
	    CONNLIMIT_ADDRESS);
	connlimit_free(cl);
}
END_TEST

START_TEST(test_connlimit_proxies_exempt)
{
	struct connlimit	*cl;
	char			*proxies[] = { "127.0.0.1/32", "10.1.0.0/16" };
	char			 err[128];

	cl = connlimit_new(config_with(10, 2, proxies, 2), err, sizeof(err));
	ck_assert_msg(cl != NULL, "%s", err);
	for (int i = 0; i < 6; i++) {
		ck_assert_int_eq(connlimit_admit(cl, addr("127.0.0.1")),
		    CONNLIMIT_OK);
		ck_assert(!connlimit_opened(cl, addr("127.0.0.1")));
	}
	open_n(cl, "127.0.0.2", 2);
	ck_assert_int_eq(connlimit_admit(cl, addr("127.0.0.2")),
	    CONNLIMIT_ADDRESS);
	/* Exempt from the share, not from the total. */
	ck_assert_int_eq(connlimit_admit(cl, addr("10.1.2.3")),
	    CONNLIMIT_OK);
	ck_assert(!connlimit_opened(cl, addr("10.1.2.3")));
	ck_assert(!connlimit_opened(cl, addr("10.1.2.4")));
	ck_assert_int_eq(connlimit_admit(cl, addr("10.1.2.3")),
	    CONNLIMIT_FULL);
	connlimit_free(cl);
}
END_TEST

START_TEST(test_connlimit_no_per_address)
{
	struct connlimit	*cl;
	char			 err[128];

	cl = connlimit_new(config_with(50, 0, NULL, 0), err, sizeof(err));
	ck_assert_msg(cl != NULL, "%s", err);
	for (int i = 0; i < 50; i++) {
		ck_assert_int_eq(connlimit_admit(cl, addr("192.0.2.1")),
		    CONNLIMIT_OK);
		connlimit_opened(cl, addr("192.0.2.1"));
	}
	ck_assert_int_eq(connlimit_admit(cl, addr("192.0.2.1")),
	    CONNLIMIT_FULL);
	connlimit_free(cl);
}
END_TEST

/*
 * Many addresses in and out in a shuffled order: every count stays
 * right, whichever entries the table had to move on removal.
 */
START_TEST(test_connlimit_churn)
{
	enum { N = 1000, PER = 2 };
	struct connlimit	*cl;
	int			 held[N] = { 0 }, order[N * PER];
	char			 err[128], a[32];
	unsigned int		 seed = 12345;
	int			 i, j, t;

	/* A total just above what the addresses may hold: the share binds. */
	cl = connlimit_new(config_with(N * PER + 10, PER, NULL, 0), err,
	    sizeof(err));
	ck_assert_msg(cl != NULL, "%s", err);
	for (i = 0; i < N; i++) {
		snprintf(a, sizeof(a), "10.%d.%d.1", i / 250, i % 250);
		open_n(cl, a, PER);
		held[i] = PER;
	}
	for (i = 0; i < N * PER; i++)
		order[i] = i / PER;
	for (i = N * PER - 1; i > 0; i--) {
		j = (int)(rand_r(&seed) % (unsigned)(i + 1));
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	/* Close two thirds in a random order, checking as we go. */
	for (i = 0; i < N * PER * 2 / 3; i++) {
		snprintf(a, sizeof(a), "10.%d.%d.1", order[i] / 250,
		    order[i] % 250);
		connlimit_closed(cl, addr(a), true);
		held[order[i]]--;
	}
	for (i = 0; i < N; i++) {
		snprintf(a, sizeof(a), "10.%d.%d.1", i / 250, i % 250);
		/* Exactly PER - held more are taken, then refused. */
		open_n(cl, a, PER - held[i]);
		ck_assert_msg(connlimit_admit(cl, addr(a)) ==
		    CONNLIMIT_ADDRESS, "address %s", a);
	}
	ck_assert_uint_eq(connlimit_count(cl), N * PER);
	connlimit_free(cl);
}
END_TEST

Suite *
suite_connlimit(void)
{
	Suite	*s = suite_create("connlimit");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_connlimit_per_address);
	tcase_add_test(tc, test_connlimit_total);
	tcase_add_test(tc, test_connlimit_ipv6_prefix);
	tcase_add_test(tc, test_connlimit_proxies_exempt);
	tcase_add_test(tc, test_connlimit_no_per_address);
	tcase_add_test(tc, test_connlimit_churn);
	suite_add_tcase(s, tc);
	return s;
}
