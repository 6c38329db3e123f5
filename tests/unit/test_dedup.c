/*
 * test_dedup.c - the digest cache: what it remembers, what it forgets
 * (capacity, time to live) and its state file.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dedup.h"
#include "fixture.h"

static void
digest_of(unsigned int n, uint8_t *digest)
{
	char	body[32];
	int	len = snprintf(body, sizeof(body), "{\"n\":%u}", n);

	dedup_digest(body, (size_t)len, digest);
}

START_TEST(test_dedup_digest_is_sha256)
{
	static const uint8_t	want[DEDUP_DIGEST_LEN] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
		0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
		0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	uint8_t			got[DEDUP_DIGEST_LEN];

	dedup_digest("abc", 3, got);
	ck_assert_mem_eq(got, want, sizeof(want));
}
END_TEST

START_TEST(test_dedup_marks_per_sink)
{
	struct dedup	*d = dedup_new(100, 3600);
	uint8_t		 a[DEDUP_DIGEST_LEN], b[DEDUP_DIGEST_LEN];

	ck_assert_ptr_nonnull(d);
	digest_of(1, a);
	digest_of(2, b);
	ck_assert_uint_eq(dedup_taken(d, a), 0);
	dedup_mark(d, a, 0);
	dedup_mark(d, a, 5);
	dedup_mark(d, b, 63);
	ck_assert_uint_eq(dedup_taken(d, a), (1u << 0) | (1u << 5));
	ck_assert_uint_eq(dedup_taken(d, b), UINT64_C(1) << 63);
	ck_assert_uint_eq(dedup_count(d), 2);
	dedup_free(d);
}
END_TEST

START_TEST(test_dedup_capacity_drops_oldest)
{
	struct dedup	*d = dedup_new(1000, 3600);
	uint8_t		 dg[DEDUP_DIGEST_LEN];
	unsigned int	 i, kept = 0;

	ck_assert_ptr_nonnull(d);
	for (i = 0; i < 20000; i++) {
		digest_of(i, dg);
		dedup_mark(d, dg, 1);
	}
	ck_assert_uint_le(dedup_count(d), 1000 + 15);
	/* The newest are all there, the oldest all gone. */
	for (i = 20000 - 500; i < 20000; i++) {
		digest_of(i, dg);
		ck_assert_uint_eq(dedup_taken(d, dg), 2);
	}
	for (i = 0; i < 10000; i++) {
		digest_of(i, dg);
		kept += dedup_taken(d, dg) != 0;
	}
	ck_assert_uint_eq(kept, 0);
	dedup_free(d);
}
END_TEST

static const char *const names2[] = { "log", "hook" };

START_TEST(test_dedup_state_round_trip_by_name)
{
	struct dedup		*d = dedup_new(100, 3600), *e;
	const char		*const swapped[] = { "hook", "new", "log" };
	char			 path[512], err[256];
	uint8_t			 a[DEDUP_DIGEST_LEN], b[DEDUP_DIGEST_LEN];

	snprintf(path, sizeof(path), "%s/dedup.state", fixture_tmpdir());
	digest_of(1, a);
	digest_of(2, b);
	dedup_mark(d, a, 0);
	dedup_mark(d, a, 1);
	dedup_mark(d, b, 1);
	ck_assert_msg(dedup_save(d, path, names2, 2, err, sizeof(err)) == 0,
	    "%s", err);
	/* Sinks reordered and one added: bits follow the names. */
	e = dedup_new(100, 3600);
	ck_assert_msg(dedup_load(e, path, swapped, 3, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_uint_eq(dedup_taken(e, a), (1u << 0) | (1u << 2));
	ck_assert_uint_eq(dedup_taken(e, b), 1u << 0);
	dedup_free(d);
	dedup_free(e);
}
END_TEST

START_TEST(test_dedup_state_expired_and_unknown_dropped)
{
	struct dedup	*d = dedup_new(100, 60);
	char		 text[1024], err[256];
	const char	*path;
	uint8_t		 dg[DEDUP_DIGEST_LEN];

	snprintf(text, sizeof(text), "sinch-webhookd dedup 1\nsinks 2\n"
	    "log\ngone\n"
	    "%064d %lld 1\n"		/* too old */
	    "%064d %lld 2\n"		/* only a sink that is gone */
	    "%064d %lld 3\n",		/* kept, for log only */
	    1, (long long)time(NULL) - 3600,
	    2, (long long)time(NULL),
	    3, (long long)time(NULL));
	path = fixture_write("dedup.state", text);
	ck_assert_msg(dedup_load(d, path, names2, 2, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_uint_eq(dedup_count(d), 1);
	memset(dg, 0, sizeof(dg));
	dg[DEDUP_DIGEST_LEN - 1] = 0x03;
	ck_assert_uint_eq(dedup_taken(d, dg), 1);
	dedup_free(d);
}
END_TEST

START_TEST(test_dedup_state_missing_is_empty_and_bad_is_error)
{
	struct dedup	*d = dedup_new(100, 60);
	char		 missing[512], err[256];
	const char	*path;

	snprintf(missing, sizeof(missing), "%s/none", fixture_tmpdir());
	ck_assert_int_eq(dedup_load(d, missing, names2, 2, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(dedup_count(d), 0);
	path = fixture_write("bad.state", "sinch-webhookd dedup 1\nsinks 1\n"
	    "log\nnot-hex 1 1\n");
	ck_assert_int_eq(dedup_load(d, path, names2, 2, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, ":4: not a state file") != NULL, "%s", err);
	path = fixture_write("other.state", "something else\n");
	ck_assert_int_eq(dedup_load(d, path, names2, 2, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, ":1: not a state file") != NULL, "%s", err);
	dedup_free(d);
}
END_TEST

Suite *
suite_dedup(void)
{
	Suite	*s = suite_create("dedup");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, fixture_tmp_setup, fixture_tmp_teardown);
	tcase_add_test(tc, test_dedup_digest_is_sha256);
	tcase_add_test(tc, test_dedup_marks_per_sink);
	tcase_add_test(tc, test_dedup_capacity_drops_oldest);
	tcase_add_test(tc, test_dedup_state_round_trip_by_name);
	tcase_add_test(tc, test_dedup_state_expired_and_unknown_dropped);
	tcase_add_test(tc, test_dedup_state_missing_is_empty_and_bad_is_error);
	suite_add_tcase(s, tc);
	return s;
}
