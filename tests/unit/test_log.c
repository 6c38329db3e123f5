/*
 * test_log.c - masking phone numbers in diagnostics.
 */
#include <stdio.h>
#include <string.h>

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

Suite *
suite_log(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_log_mask_numbers);
	tcase_add_test(tc, test_log_mask_leaves_the_rest);
	suite_add_tcase(s, tc);
	return s;
}
