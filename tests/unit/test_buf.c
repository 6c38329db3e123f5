/*
 * test_buf.c - the growable buffer: appends, NUL termination, reset.
 */
#include <string.h>

#include "fixture.h"

START_TEST(test_buf_append_grows_and_terminates)
{
	struct buf	*b = buf_new(0);
	char		 big[1000];
	size_t		 i;

	ck_assert_ptr_nonnull(b);
	memset(big, 'x', sizeof(big));
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(buf_append(b, big, sizeof(big)), 0);
	ck_assert_uint_eq(b->len, 100 * sizeof(big));
	ck_assert_int_eq(b->data[b->len], '\0');
	ck_assert_int_eq(b->data[b->len - 1], 'x');
	ck_assert_uint_ge(b->cap, b->len + 1);
	buf_free(b);
}
END_TEST

START_TEST(test_buf_puts_putc_reset)
{
	struct buf	b;

	buf_init(&b);
	ck_assert_int_eq(buf_puts(&b, "ab"), 0);
	ck_assert_int_eq(buf_putc(&b, 'c'), 0);
	ck_assert_str_eq(b.data, "abc");
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.data, "");
	ck_assert_int_eq(buf_append(&b, "", 0), 0);
	ck_assert_str_eq(b.data, "");
	buf_fini(&b);
	ck_assert_ptr_null(b.data);
	buf_free(NULL);
}
END_TEST

START_TEST(test_buf_reserve_overflow_fails)
{
	struct buf	b;

	buf_init(&b);
	ck_assert_int_eq(buf_append(&b, "a", 1), 0);
	ck_assert_int_eq(buf_reserve(&b, (size_t)-1), -1);
	ck_assert_str_eq(b.data, "a");
	buf_fini(&b);
}
END_TEST

Suite *
suite_buf(void)
{
	Suite	*s = suite_create("buf");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_buf_append_grows_and_terminates);
	tcase_add_test(tc, test_buf_puts_putc_reset);
	tcase_add_test(tc, test_buf_reserve_overflow_fails);
	suite_add_tcase(s, tc);
	return s;
}
