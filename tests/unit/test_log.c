/*
 * test_log.c - masking phone numbers in diagnostics, and one line per
 * message whatever it quotes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "log.h"

static void
check_mask(const char *in, const char *want)
{
	char	s[256];

	snprintf(s, sizeof(s), "%s", in);
	log_mask(s);
	ck_assert_str_eq(s, want);
}

START_TEST(test_log_mask_numbers)
{
	check_mask("from +46700000001 to 12025550123",
	    "from +*********01 to *********23");
	check_mask("recipient=4670000000", "recipient=********00");
	check_mask("stdout: 1234567", "stdout: *****67");
}
END_TEST

START_TEST(test_log_mask_leaves_the_rest)
{
	/* Ids glued to letters, ports, sizes, times, too long to be one. */
	check_mask("id=e71c86406555-1 bytes=512 ms=3",
	    "id=e71c86406555-1 bytes=512 ms=3");
	check_mask("on 127.0.0.1:8080", "on 127.0.0.1:8080");
	check_mask("at 2026-11-27T14:00:00.123Z",
	    "at 2026-11-27T14:00:00.123Z");
	check_mask("123456", "123456");
	check_mask("1234567890123456", "1234567890123456");
	check_mask("abc1234567", "abc1234567");
	check_mask("1234567abc", "1234567abc");
	check_mask("", "");
}
END_TEST

/* A line break quoted from the network cannot start a line of its own. */
START_TEST(test_log_one_line)
{
	char	 path[512], got[256];
	ssize_t	 n;
	int	 fd, saved;

	snprintf(path, sizeof(path), "%s/stderr", fixture_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	saved = dup(STDERR_FILENO);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	unsetenv("JOURNAL_STREAM");
	log_init(LOG_LEVEL_INFO);
	log_info("access: type=%s status=%d", "x\ninfo: access: forged\r\x01",
	    200);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, got, sizeof(got) - 1, 0);
	close(fd);
	ck_assert_int_gt(n, 0);
	got[n] = '\0';
	ck_assert_str_eq(got,
	    "info: access: type=x info: access: forged ? status=200\n");
}
END_TEST

Suite *
suite_log(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_log_mask_numbers);
	tcase_add_test(tc, test_log_mask_leaves_the_rest);
	suite_add_tcase(s, tc);
	tc = tcase_create("lines");
	tcase_add_checked_fixture(tc, fixture_tmp_setup, fixture_tmp_teardown);
	tcase_add_test(tc, test_log_one_line);
	suite_add_tcase(s, tc);
	return s;
}
