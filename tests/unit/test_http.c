/*
 * test_http.c - the pure parts of the listener: which verdict becomes
 * which status code, and which content types count as JSON.
 */
#include "fixture.h"
#include "http.h"

START_TEST(test_http_status_for_verdict)
{
	ck_assert_int_eq(http_status_for_verdict(SINK_OK), 200);
	ck_assert_int_eq(http_status_for_verdict(SINK_REJECT), 422);
	ck_assert_int_eq(http_status_for_verdict(SINK_BUSY), 429);
	ck_assert_int_eq(http_status_for_verdict(SINK_RETRY), 503);
}
END_TEST

START_TEST(test_http_content_type_json)
{
	ck_assert(http_content_type_is_json("application/json"));
	ck_assert(http_content_type_is_json("Application/JSON"));
	ck_assert(http_content_type_is_json(
	    "application/json; charset=utf-8"));
	ck_assert(http_content_type_is_json("application/json;charset=UTF-8"));
	ck_assert(http_content_type_is_json(" application/json "));
	ck_assert(http_content_type_is_json("application/vnd.sinch+json"));
	ck_assert(http_content_type_is_json("application/problem+json; q=1"));
}
END_TEST

START_TEST(test_http_content_type_not_json)
{
	ck_assert(!http_content_type_is_json(""));
	ck_assert(!http_content_type_is_json("text/plain"));
	ck_assert(!http_content_type_is_json("text/json"));
	ck_assert(!http_content_type_is_json("application/"));
	ck_assert(!http_content_type_is_json("application/jsonx"));
	ck_assert(!http_content_type_is_json("application/+json"));
	ck_assert(!http_content_type_is_json(
	    "application/x-www-form-urlencoded"));
	ck_assert(!http_content_type_is_json("multipart/form-data; b=x"));
	ck_assert(!http_content_type_is_json("json"));
}
END_TEST

Suite *
suite_http(void)
{
	Suite	*s = suite_create("http");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_http_status_for_verdict);
	tcase_add_test(tc, test_http_content_type_json);
	tcase_add_test(tc, test_http_content_type_not_json);
	suite_add_tcase(s, tc);
	return s;
}
