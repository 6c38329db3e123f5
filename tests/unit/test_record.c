/*
 * test_record.c - covers src/record.c: the exact bytes of the record for
 * fixed reports, request ids and arrival times; key order; string
 * escaping; the UTC millisecond timestamp; and minifying a pretty-printed
 * body without touching what is inside its strings.  Decoding is
 * test_report.c's business; reports here come from our own fixtures.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "fixture.h"
#include "record.h"
#include "report.h"

/* 2026-11-27T14:00:00.123456789Z */
static const struct timespec	 when = { 1795788000, 123456789 };

/*
 * Encodes tests/data/payload/<name> as request id and checks the record
 * is want exactly, and that its payload is the same JSON as the body.
 */
static void
assert_record(const char *name, const char *id, const char *want)
{
	char		 rel[PATH_MAX], err[256];
	struct buf	*body, out;
	struct report	*r;
	json_t		*orig, *rec;
	json_error_t	 jerr;

	snprintf(rel, sizeof(rel), "payload/%s", name);
	body = fixture_read(rel);
	r = report_decode(body->data, body->len, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s: %s", name, err);
	buf_init(&out);
	ck_assert_int_eq(record_encode(&out, r, id, &when, body->data,
	    body->len), 0);
	ck_assert_uint_eq(out.len, strlen(out.data));
	ck_assert_msg(strcmp(out.data, want) == 0,
	    "%s:\n got %s\nwant %s", name, out.data, want);

	orig = json_loadb(body->data + r->text_start,
	    body->len - r->text_start, JSON_ALLOW_NUL, &jerr);
	rec = json_loadb(out.data, out.len, JSON_REJECT_DUPLICATES |
	    JSON_ALLOW_NUL, &jerr);
	ck_assert_msg(rec != NULL, "%s: record: %s", name, jerr.text);
	ck_assert(json_equal(json_object_get(rec, "payload"), orig));
	json_decref(rec);
	json_decref(orig);
	buf_fini(&out);
	report_free(r);
	buf_free(body);
}

START_TEST(test_record_recipient)
{
	/* The body is already compact, so the payload is it, byte for byte. */
	assert_record("valid-recipient_delivery_report_sms.json", "a1b2-42",
	    "{\"received_at\":\"2026-11-27T14:00:00.123Z\",\"id\":\"a1b2-42\","
	    "\"kind\":\"recipient_delivery_report\",\"channel\":\"sms\","
	    "\"type\":\"recipient_delivery_report_sms\","
	    "\"batch_id\":\"01JDQ7ZK3M8N4P6R2T5V9W1X0Y\","
	    "\"recipient\":\"46701234567\",\"status\":\"Delivered\","
	    "\"code\":0,\"final\":true,\"at\":\"2026-11-27T14:00:00.123Z\","
	    "\"operator_status_at\":\"2026-11-27T13:59:58Z\","
	    "\"client_reference\":\"order-7731\","
	    "\"applied_originator\":\"SinchShop\",\"encoding\":\"GSM\","
	    "\"number_of_message_parts\":1,\"operator\":\"24001\","
	    "\"payload\":{\"type\":\"recipient_delivery_report_sms\","
	    "\"batch_id\":\"01JDQ7ZK3M8N4P6R2T5V9W1X0Y\","
	    "\"recipient\":\"46701234567\",\"code\":0,"
	    "\"status\":\"Delivered\",\"at\":\"2026-11-27T14:00:00.123Z\","
	    "\"operator_status_at\":\"2026-11-27T13:59:58Z\","
	    "\"client_reference\":\"order-7731\","
	    "\"applied_originator\":\"SinchShop\",\"encoding\":\"GSM\","
	    "\"number_of_message_parts\":1,\"operator\":\"24001\"}}\n");
}
END_TEST

START_TEST(test_record_recipient_code_string)
{
	/*
	 * "code" becomes a number in the record but stays a string in the
	 * payload; absent optional fields are left out, not null.
	 */
	assert_record("valid-lenient-code-string.json", "r-7",
	    "{\"received_at\":\"2026-11-27T14:00:00.123Z\",\"id\":\"r-7\","
	    "\"kind\":\"recipient_delivery_report\",\"channel\":\"sms\","
	    "\"type\":\"recipient_delivery_report_sms\","
	    "\"batch_id\":\"01JDQ7ZK3M8N4P6R2T5V9W1X0Y\","
	    "\"recipient\":\"46701234567\",\"status\":\"Delivered\","
	    "\"code\":0,\"final\":true,\"at\":\"2026-11-27T14:00:00.123Z\","
	    "\"number_of_message_parts\":2,"
	    "\"payload\":{\"type\":\"recipient_delivery_report_sms\","
	    "\"batch_id\":\"01JDQ7ZK3M8N4P6R2T5V9W1X0Y\","
	    "\"recipient\":\"46701234567\",\"code\":\"0\","
	    "\"status\":\"Delivered\",\"at\":\"2026-11-27T14:00:00.123Z\","
	    "\"number_of_message_parts\":\"2\"}}\n");
	assert_record("valid-lenient-code-negative-string.json", "r-8",
	    "{\"received_at\":\"2026-11-27T14:00:00.123Z\",\"id\":\"r-8\","
	    "\"kind\":\"recipient_delivery_report\",\"channel\":\"mms\","
	    "\"type\":\"recipient_delivery_report_mms\","
	    "\"batch_id\":\"01JDQ80B6C7D8E9F0G1H2J3K4M\","
	    "\"recipient\":\"+46709876543\",\"status\":\"Failed\","
	    "\"code\":-2147483648,\"final\":true,"
	    "\"at\":\"2026-11-27T14:00:05Z\","
	    "\"payload\":{\"type\":\"recipient_delivery_report_mms\","
	    "\"batch_id\":\"01JDQ80B6C7D8E9F0G1H2J3K4M\","
	    "\"recipient\":\"+46709876543\",\"code\":\"-2147483648\","
	    "\"status\":\"Failed\",\"at\":\"2026-11-27T14:00:05Z\"}}\n");
}
END_TEST

START_TEST(test_record_delivery)
{
	assert_record("valid-delivery_report_sms.json", "d-1",
	    "{\"received_at\":\"2026-11-27T14:00:00.123Z\",\"id\":\"d-1\","
	    "\"kind\":\"delivery_report\",\"channel\":\"sms\","
	    "\"type\":\"delivery_report_sms\","
	    "\"batch_id\":\"01JDQ7ZK3M8N4P6R2T5V9W1X0Y\","
	    "\"client_reference\":\"order-7731\","
	    "\"total_message_count\":3,\"final\":false,"
	    "\"payload\":{\"type\":\"delivery_report_sms\","
	    "\"batch_id\":\"01JDQ7ZK3M8N4P6R2T5V9W1X0Y\","
	    "\"total_message_count\":3,\"statuses\":["
	    "{\"code\":0,\"status\":\"Delivered\",\"count\":2,"
	    "\"recipients\":[\"46701234567\",\"46709876543\"]},"
	    "{\"code\":401,\"status\":\"Dispatched\",\"count\":1,"
	    "\"recipients\":[\"46731112233\"]}],"
	    "\"client_reference\":\"order-7731\"}}\n");
	assert_record("valid-delivery_report_mms.json", "d-2",
	    "{\"received_at\":\"2026-11-27T14:00:00.123Z\",\"id\":\"d-2\","
	    "\"kind\":\"delivery_report\",\"channel\":\"mms\","
	    "\"type\":\"delivery_report_mms\","
	    "\"batch_id\":\"01JDQ80B6C7D8E9F0G1H2J3K4M\","
	    "\"total_message_count\":3,\"final\":true,"
	    "\"payload\":{\"batch_id\":\"01JDQ80B6C7D8E9F0G1H2J3K4M\","
	    "\"statuses\":[{\"code\":0,\"count\":1,\"status\":\"Delivered\"},"
	    "{\"code\":406,\"count\":2,\"status\":\"Expired\"}],"
	    "\"total_message_count\":3,\"type\":\"delivery_report_mms\"}}\n");
}
END_TEST

START_TEST(test_record_inbound)
{
	/* Whitespace and escapes inside the body's strings survive. */
	assert_record("valid-mo_text.json", "m-1",
	    "{\"received_at\":\"2026-11-27T14:00:00.123Z\",\"id\":\"m-1\","
	    "\"kind\":\"inbound\",\"channel\":\"sms\",\"type\":\"mo_text\","
	    "\"message_id\":\"01JDQ8F3Q4R5S6T7V8W9X0Y1Z2\","
	    "\"from\":\"46701234567\",\"to\":\"46700000000\","
	    "\"at\":\"2026-11-27T14:00:00.012Z\","
	    "\"sent_at\":\"2026-11-27T13:59:59.870Z\","
	    "\"operator_id\":\"24001\","
	    "\"payload\":{\"id\":\"01JDQ8F3Q4R5S6T7V8W9X0Y1Z2\","
	    "\"type\":\"mo_text\",\"from\":\"46701234567\","
	    "\"to\":\"46700000000\",\"body\":\"Hej!  Tack f\xc3\xb6r ordern "
	    "\\ud83d\\ude00\\n\\\"STOP\\\" to end\\tC:\\\\\","
	    "\"operator_id\":\"24001\","
	    "\"sent_at\":\"2026-11-27T13:59:59.870Z\","
	    "\"received_at\":\"2026-11-27T14:00:00.012Z\"}}\n");
	assert_record("valid-mo_binary.json", "m-2",
	    "{\"received_at\":\"2026-11-27T14:00:00.123Z\",\"id\":\"m-2\","
	    "\"kind\":\"inbound\",\"channel\":\"sms\",\"type\":\"mo_binary\","
	    "\"message_id\":\"01JDQ8G9A0B1C2D3E4F5G6H7J8\","
	    "\"from\":\"46701234567\",\"to\":\"46700000000\","
	    "\"at\":\"2026-11-27T14:00:02Z\","
	    "\"client_reference\":\"reply-to-01JDQ7ZK\","
	    "\"payload\":{\"body\":\"SGVsbG8gd29ybGQ=\","
	    "\"client_reference\":\"reply-to-01JDQ7ZK\","
	    "\"from\":\"46701234567\","
	    "\"id\":\"01JDQ8G9A0B1C2D3E4F5G6H7J8\","
	    "\"received_at\":\"2026-11-27T14:00:02Z\","
	    "\"to\":\"46700000000\",\"type\":\"mo_binary\","
	    "\"udh\":\"050003cc0201\"}}\n");
}
END_TEST

START_TEST(test_record_nul)
{
	struct buf	*body, out;
	struct report	*r;
	json_t		*rec;
	json_error_t	 jerr;
	char		 err[256];

	/*
	 * \u0000 stays escaped in the payload, and the normalised fields
	 * write their NULs escaped, with all that follows them.
	 */
	assert_record("valid-nul-escape.json", "n-1",
	    "{\"received_at\":\"2026-11-27T14:00:00.123Z\",\"id\":\"n-1\","
	    "\"kind\":\"inbound\",\"channel\":\"sms\",\"type\":\"mo_text\","
	    "\"message_id\":\"01JDQ8F3Q4R5S6T7V8W9X0Y1Z2\","
	    "\"from\":\"4670\\u00001234567\",\"to\":\"46700000000\","
	    "\"at\":\"2026-11-27T14:00:00.012Z\","
	    "\"client_reference\":\"\\u0000\","
	    "\"payload\":{\"type\":\"mo_text\","
	    "\"id\":\"01JDQ8F3Q4R5S6T7V8W9X0Y1Z2\","
	    "\"from\":\"4670\\u00001234567\",\"to\":\"46700000000\","
	    "\"body\":\"abc\\u0000def\\u0000\",\"client_reference\":"
	    "\"\\u0000\",\"received_at\":\"2026-11-27T14:00:00.012Z\"}}\n");
	assert_record("valid-nul-escape-recipient.json", "n-2",
	    "{\"received_at\":\"2026-11-27T14:00:00.123Z\",\"id\":\"n-2\","
	    "\"kind\":\"recipient_delivery_report\",\"channel\":\"sms\","
	    "\"type\":\"recipient_delivery_report_sms\","
	    "\"batch_id\":\"01JDQ7ZK\\u00003M8N4P6R2T5V9W1X0Y\","
	    "\"recipient\":\"46701234567\\u0000\","
	    "\"status\":\"Delivered\\u0000\",\"code\":0,\"final\":false,"
	    "\"at\":\"2026-11-27T14:00:00.123Z\","
	    "\"client_reference\":\"order\\u0000-7731\","
	    "\"operator\":\"\\u000024001\","
	    "\"payload\":{\"type\":\"recipient_delivery_report_sms\","
	    "\"batch_id\":\"01JDQ7ZK\\u00003M8N4P6R2T5V9W1X0Y\","
	    "\"recipient\":\"46701234567\\u0000\",\"code\":\"0\","
	    "\"status\":\"Delivered\\u0000\","
	    "\"at\":\"2026-11-27T14:00:00.123Z\","
	    "\"client_reference\":\"order\\u0000-7731\","
	    "\"operator\":\"\\u000024001\"}}\n");

	/* Read back, a normalised field is the value the body held. */
	body = fixture_read("payload/valid-nul-escape.json");
	r = report_decode(body->data, body->len, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	buf_init(&out);
	ck_assert_int_eq(record_encode(&out, r, "n-3", &when, body->data,
	    body->len), 0);
	rec = json_loadb(out.data, out.len, JSON_ALLOW_NUL, &jerr);
	ck_assert_msg(rec != NULL, "%s", jerr.text);
	ck_assert_uint_eq(json_string_length(json_object_get(rec, "from")),
	    12);
	ck_assert(memcmp(json_string_value(json_object_get(rec, "from")),
	    "4670\0" "1234567", 12) == 0);
	json_decref(rec);
	buf_fini(&out);
	report_free(r);
	buf_free(body);
}
END_TEST

START_TEST(test_record_bom)
{
	/* The payload starts at the brace, not at the byte order mark. */
	assert_record("valid-bom-mo_text.json", "b-1",
	    "{\"received_at\":\"2026-11-27T14:00:00.123Z\",\"id\":\"b-1\","
	    "\"kind\":\"inbound\",\"channel\":\"sms\",\"type\":\"mo_text\","
	    "\"message_id\":\"01JDQ8F3Q4R5S6T7V8W9X0Y1Z2\","
	    "\"from\":\"46701234567\",\"to\":\"46700000000\","
	    "\"at\":\"2026-11-27T14:00:00.012Z\","
	    "\"payload\":{\"type\":\"mo_text\","
	    "\"id\":\"01JDQ8F3Q4R5S6T7V8W9X0Y1Z2\","
	    "\"from\":\"46701234567\",\"to\":\"46700000000\","
	    "\"body\":\"\xef\xbb\xbf" "BOM inside is text\","
	    "\"received_at\":\"2026-11-27T14:00:00.012Z\"}}\n");
}
END_TEST

START_TEST(test_record_unknown)
{
	/* No channel and no normalised fields, only the payload. */
	assert_record("valid-unknown-type.json", "u-1",
	    "{\"received_at\":\"2026-11-27T14:00:00.123Z\",\"id\":\"u-1\","
	    "\"kind\":\"unknown\",\"type\":\"recipient_delivery_report_rcs\","
	    "\"payload\":{\"type\":\"recipient_delivery_report_rcs\","
	    "\"batch_id\":\"01JDQ8J5W6X7Y8Z9A0B1C2D3E4\","
	    "\"recipient\":\"46701234567\",\"status\":\"Read\","
	    "\"at\":\"2026-11-27T14:00:04Z\"}}\n");
}
END_TEST

/* Encodes a fixed unknown-type body at ts and returns its received_at. */
static void
assert_time(time_t sec, long nsec, const char *want)
{
	static const char	 body[] = "{\"type\":\"x\"}";
	struct timespec		 ts;
	char			 err[128], expect[256];
	struct report		*r;
	struct buf		 out;

	ts.tv_sec = sec;
	ts.tv_nsec = nsec;
	r = report_decode(body, sizeof(body) - 1, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	buf_init(&out);
	ck_assert_int_eq(record_encode(&out, r, "t", &ts, body,
	    sizeof(body) - 1), 0);
	snprintf(expect, sizeof(expect), "{\"received_at\":\"%s\",\"id\":"
	    "\"t\",\"kind\":\"unknown\",\"type\":\"x\",\"payload\":%s}\n",
	    want, body);
	ck_assert_str_eq(out.data, expect);
	buf_fini(&out);
	report_free(r);
}

START_TEST(test_record_time)
{
	assert_time(0, 0, "1970-01-01T00:00:00.000Z");
	assert_time(1795788000, 123456789, "2026-11-27T14:00:00.123Z");
	/* Truncated, never rounded up into the next second. */
	assert_time(1795788000, 999999999, "2026-11-27T14:00:00.999Z");
	assert_time(1795788000, 999999, "2026-11-27T14:00:00.000Z");
	assert_time(1795788000, 1000000, "2026-11-27T14:00:00.001Z");
	assert_time(951868799, 500000000, "2000-02-29T23:59:59.500Z");
	assert_time(951868800, 0, "2000-03-01T00:00:00.000Z");
	assert_time(4107542400, 0, "2100-03-01T00:00:00.000Z");
	assert_time(1798761599, 0, "2026-12-31T23:59:59.000Z");
	assert_time(-1, 0, "1969-12-31T23:59:59.000Z");
}
END_TEST

START_TEST(test_record_id_escaped)
{
	static const char	 body[] = "{\"type\":\"x\"}";
	char			 err[128];
	struct report		*r;
	struct buf		 out;

	r = report_decode(body, sizeof(body) - 1, err, sizeof(err));
	ck_assert_ptr_nonnull(r);
	/* Appends after what is there; a NULL id is left out. */
	buf_init(&out);
	ck_assert_int_eq(buf_puts(&out, "prev\n"), 0);
	ck_assert_int_eq(record_encode(&out, r, "a\"b\n", &when, body,
	    sizeof(body) - 1), 0);
	ck_assert_int_eq(record_encode(&out, r, NULL, &when, body,
	    sizeof(body) - 1), 0);
	ck_assert_str_eq(out.data, "prev\n"
	    "{\"received_at\":\"2026-11-27T14:00:00.123Z\",\"id\":"
	    "\"a\\\"b\\n\",\"kind\":\"unknown\",\"type\":\"x\","
	    "\"payload\":{\"type\":\"x\"}}\n"
	    "{\"received_at\":\"2026-11-27T14:00:00.123Z\","
	    "\"kind\":\"unknown\",\"type\":\"x\","
	    "\"payload\":{\"type\":\"x\"}}\n");
	buf_fini(&out);
	report_free(r);
}
END_TEST

/* A callback that came through SNS: two fields more, before the payload. */
START_TEST(test_record_sns)
{
	static const char	 body[] = "{\"type\":\"recipient_delivery_"
				    "report_sms\",\"batch_id\":\"b\","
				    "\"recipient\":\"4670\",\"code\":0,"
				    "\"status\":\"Delivered\",\"at\":\"t\"}";
	char			 err[128];
	struct report		*r;
	struct buf		 out;

	r = report_decode(body, sizeof(body) - 1, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_ptr_nonnull(r->sns_message_id = strdup("7f\"a"));
	ck_assert_ptr_nonnull(r->sns_topic_arn =
	    strdup("arn:aws:sns:eu-west-1:123456789012:sinch"));
	buf_init(&out);
	ck_assert_int_eq(record_encode(&out, r, "i-1", &when, body,
	    sizeof(body) - 1), 0);
	ck_assert_str_eq(out.data,
	    "{\"received_at\":\"2026-11-27T14:00:00.123Z\",\"id\":\"i-1\","
	    "\"kind\":\"recipient_delivery_report\",\"channel\":\"sms\","
	    "\"type\":\"recipient_delivery_report_sms\",\"batch_id\":\"b\","
	    "\"recipient\":\"4670\",\"status\":\"Delivered\",\"code\":0,"
	    "\"final\":true,\"at\":\"t\",\"sns_message_id\":\"7f\\\"a\","
	    "\"sns_topic_arn\":\"arn:aws:sns:eu-west-1:123456789012:sinch\","
	    "\"payload\":{\"type\":\"recipient_delivery_report_sms\","
	    "\"batch_id\":\"b\",\"recipient\":\"4670\",\"code\":0,"
	    "\"status\":\"Delivered\",\"at\":\"t\"}}\n");
	buf_fini(&out);
	report_free(r);
}
END_TEST

START_TEST(test_record_fields_escaped)
{
	/* Decoded values are re-escaped for the normalised fields. */
	static const char	 body[] = "{\"type\":\"mo_text\","
	    "\"id\":\"q\\\"1\",\"from\":\"a\\\\b\",\"to\":\"\\u0001\\u001f\","
	    "\"body\":\"x\",\"received_at\":\"\\u00e9\\/\","
	    "\"client_reference\":\"\\r\\n\\t\\b\\f\"}";
	char			 err[128];
	struct report		*r;
	struct buf		 out;
	const char		*fields, *want;

	r = report_decode(body, sizeof(body) - 1, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	buf_init(&out);
	ck_assert_int_eq(record_encode(&out, r, "e", &when, body,
	    sizeof(body) - 1), 0);
	want = ",\"message_id\":\"q\\\"1\",\"from\":\"a\\\\b\","
	    "\"to\":\"\\u0001\\u001f\",\"at\":\"\xc3\xa9/\","
	    "\"client_reference\":\"\\r\\n\\t\\b\\f\",\"payload\":";
	fields = strstr(out.data, ",\"message_id\"");
	ck_assert_ptr_nonnull(fields);
	ck_assert_msg(strncmp(fields, want, strlen(want)) == 0, "%s", fields);
	/* The payload keeps the escapes as they were sent. */
	ck_assert_ptr_nonnull(strstr(out.data, "\"payload\":{\"type\":"
	    "\"mo_text\",\"id\":\"q\\\"1\""));
	ck_assert_ptr_nonnull(strstr(out.data, "\"received_at\":"
	    "\"\\u00e9\\/\""));
	buf_fini(&out);
	report_free(r);
}
END_TEST

START_TEST(test_record_json_string)
{
	struct buf	 out;

#define STR(s)	s, sizeof(s) - 1
	buf_init(&out);
	ck_assert_int_eq(record_json_string(&out, STR("")), 0);
	ck_assert_int_eq(record_json_string(&out, STR("plain")), 0);
	ck_assert_int_eq(record_json_string(&out, STR("q\"b\\s/")), 0);
	ck_assert_int_eq(record_json_string(&out,
	    STR("\n\r\t\b\f\x01\x1f\x7f")), 0);
	/* UTF-8 is copied as it is. */
	ck_assert_int_eq(record_json_string(&out,
	    STR("\xc3\xa5\xe2\x82\xac\xf0\x9f\x98\x80")), 0);
	ck_assert_str_eq(out.data, "\"\"\"plain\"\"q\\\"b\\\\s/\""
	    "\"\\n\\r\\t\\b\\f\\u0001\\u001f\x7f\""
	    "\"\xc3\xa5\xe2\x82\xac\xf0\x9f\x98\x80\"");
	/* A NUL is a character like the others, wherever it is. */
	buf_reset(&out);
	ck_assert_int_eq(record_json_string(&out, STR("\0a\0\0b\0")), 0);
	ck_assert_str_eq(out.data, "\"\\u0000a\\u0000\\u0000b\\u0000\"");
	/* Only len bytes. */
	buf_reset(&out);
	ck_assert_int_eq(record_json_string(&out, "abc", 2), 0);
	ck_assert_str_eq(out.data, "\"ab\"");
#undef STR
	buf_fini(&out);
}
END_TEST

START_TEST(test_record_minify)
{
	static const char	 pretty[] =
	    "\r\n{ \"a\" :\t\"x  y\\\" }  {\\\\\" ,\n"
	    "  \"b\" : [ 1 ,\t-2.50e+1 , true , null ] ,\r\n"
	    "  \"c\\\\\" : \"\\\\\" , \"d\" : { } , \"e\" : \"\\u0020 \\n\"\n"
	    "}\n\n";
	static const char	 want[] =
	    "{\"a\":\"x  y\\\" }  {\\\\\",\"b\":[1,-2.50e+1,true,null],"
	    "\"c\\\\\":\"\\\\\",\"d\":{},\"e\":\"\\u0020 \\n\"}";
	struct buf		 out;
	json_t			*a, *b;
	json_error_t		 jerr;

	buf_init(&out);
	ck_assert_int_eq(record_minify(&out, pretty, sizeof(pretty) - 1), 0);
	ck_assert_str_eq(out.data, want);
	a = json_loadb(pretty, sizeof(pretty) - 1, 0, &jerr);
	b = json_loadb(out.data, out.len, 0, &jerr);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	/* Compact input comes out unchanged, and only len bytes are read. */
	buf_reset(&out);
	ck_assert_int_eq(record_minify(&out, want, sizeof(want) - 1), 0);
	ck_assert_str_eq(out.data, want);
	buf_reset(&out);
	ck_assert_int_eq(record_minify(&out, "[ 1 ] [ 2 ]", 5), 0);
	ck_assert_str_eq(out.data, "[1]");
	buf_fini(&out);
}
END_TEST

START_TEST(test_record_pretty_body)
{
	char		 err[256];
	struct buf	*body, out;
	struct report	*r;
	json_t		*orig, *rec;
	json_error_t	 jerr;

	/* Tab indentation and CRLF line ends: still one line out. */
	body = fixture_read("payload/valid-mo_media.json");
	r = report_decode(body->data, body->len, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	buf_init(&out);
	ck_assert_int_eq(record_encode(&out, r, "p", &when, body->data,
	    body->len), 0);
	ck_assert_ptr_eq(strchr(out.data, '\n'), out.data + out.len - 1);
	ck_assert_ptr_null(strchr(out.data, '\r'));
	ck_assert_ptr_null(strstr(out.data, "  "));
	ck_assert_ptr_nonnull(strstr(out.data, ",\"sent_at\":"
	    "\"2026-11-27T14:00:02.900Z\",\"operator_id\":\"24002\","
	    "\"payload\":{\"type\":\"mo_media\","));
	ck_assert_ptr_nonnull(strstr(out.data,
	    "\"message\":\"Bild p\xc3\xa5 kvittot\""));
	orig = json_loadb(body->data, body->len, 0, &jerr);
	rec = json_loadb(out.data, out.len, 0, &jerr);
	ck_assert_ptr_nonnull(rec);
	ck_assert(json_equal(json_object_get(rec, "payload"), orig));
	json_decref(orig);
	json_decref(rec);
	buf_fini(&out);
	report_free(r);
	buf_free(body);
}
END_TEST

Suite *
suite_record(void)
{
	Suite	*s = suite_create("record");
	TCase	*tc;

	tc = tcase_create("record");
	tcase_add_test(tc, test_record_recipient);
	tcase_add_test(tc, test_record_recipient_code_string);
	tcase_add_test(tc, test_record_delivery);
	tcase_add_test(tc, test_record_inbound);
	tcase_add_test(tc, test_record_unknown);
	tcase_add_test(tc, test_record_nul);
	tcase_add_test(tc, test_record_bom);
	tcase_add_test(tc, test_record_time);
	tcase_add_test(tc, test_record_id_escaped);
	tcase_add_test(tc, test_record_fields_escaped);
	tcase_add_test(tc, test_record_sns);
	tcase_add_test(tc, test_record_pretty_body);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, test_record_json_string);
	tcase_add_test(tc, test_record_minify);
	suite_add_tcase(s, tc);
	return s;
}
