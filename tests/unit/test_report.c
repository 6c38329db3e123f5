/*
 * test_report.c - covers src/report.c: the reasons given for bodies that
 * must be refused, the leniency Sinch's own payloads need, the decoded
 * fields of each of the seven callback types, and a walk over every
 * shared Sinch vector (and our own valid-*.json) through decode, record
 * and re-parse.  The record's exact bytes are test_record.c's business.
 */
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "fixture.h"
#include "jscan.h"
#include "record.h"
#include "report.h"

/* A body that must be refused and the reason it must be refused with. */
struct bad_case {
	const char	*file;		/* under tests/data/payload/ */
	const char	*reason;	/* exact; a prefix if near is set */
	const char	*near;		/* also in a parser's message */
};

/*
 * Parser messages come from jscan.c and are pinned down in test_jscan.c,
 * so here only their start and position are; our own reasons are matched
 * exactly.
 */
static const struct bad_case bad_cases[] = {
	{ "bad-empty.json", "empty body", NULL },
	{ "bad-not-json.txt", "invalid JSON: ", "at line 1 column" },
	/* One byte order mark is skipped; the column is the text's. */
	{ "bad-bom-twice.json", "invalid JSON: invalid token near "
	    "'\xef\xbb\xbf' at line 1 column 1", NULL },
	{ "bad-bom-after-space.json", "invalid JSON: invalid token near "
	    "'\xef\xbb\xbf' at line 1 column 3", NULL },
	{ "bad-array.json", "not a JSON object", NULL },
	{ "bad-scalar.json", "not a JSON object", NULL },
	{ "bad-trailing-data.json", "invalid JSON: end of file expected",
	    "at line 9 column" },
	{ "bad-two-objects.json", "invalid JSON: end of file expected",
	    "at line 9 column" },
	{ "bad-duplicate-key.json", "invalid JSON: duplicate object key",
	    "at line 7 column" },
	{ "bad-invalid-utf8.json", "invalid JSON: ", "at line 6 column" },
	{ "bad-truncated.json", "invalid JSON: ", "at line" },
	{ "bad-integer-overflow.json", "invalid JSON: ", "at line 5 column" },
	{ "bad-long-token.json", "invalid JSON: ", "at line 1 column" },
	{ "bad-control-token.json", "invalid JSON: ", "at line 1 column" },
	{ "bad-missing-type.json", "type: missing required field", NULL },
	{ "bad-type-null.json", "type: missing required field", NULL },
	{ "bad-type-number.json", "type: expected a string", NULL },
	{ "bad-delivery-missing-batch_id.json",
	    "batch_id: missing required field", NULL },
	{ "bad-delivery-missing-total.json",
	    "total_message_count: missing required field", NULL },
	{ "bad-delivery-missing-statuses.json",
	    "statuses: missing required field", NULL },
	{ "bad-delivery-statuses-object.json",
	    "statuses: expected an array", NULL },
	{ "bad-delivery-status-string.json",
	    "statuses[0]: expected an object", NULL },
	{ "bad-delivery-status-missing-count.json",
	    "statuses[1].count: missing required field", NULL },
	{ "bad-delivery-status-code-real.json",
	    "statuses[1].code: expected an integer", NULL },
	{ "bad-delivery-status-status-null.json",
	    "statuses[0].status: missing required field", NULL },
	{ "bad-delivery-count-negative.json",
	    "statuses[0].count: -1 out of range", NULL },
	{ "bad-delivery-total-too-big.json",
	    "total_message_count: 2147483648 out of range", NULL },
	{ "bad-recipient-missing-recipient.json",
	    "recipient: missing required field", NULL },
	{ "bad-recipient-missing-code.json",
	    "code: missing required field", NULL },
	{ "bad-recipient-at-null.json", "at: missing required field", NULL },
	{ "bad-recipient-status-number.json", "status: expected a string",
	    NULL },
	{ "bad-recipient-batch_id-array.json", "batch_id: expected a string",
	    NULL },
	{ "bad-recipient-code-too-big.json", "code: 4294967296 out of range",
	    NULL },
	{ "bad-recipient-code-too-small.json",
	    "code: -2147483649 out of range", NULL },
	{ "bad-recipient-code-string-too-big.json",
	    "code: 2147483648 out of range", NULL },
	{ "bad-recipient-code-string-huge.json",
	    "code: 999999999999999999999999... out of range", NULL },
	{ "bad-recipient-code-real.json", "code: expected an integer", NULL },
	{ "bad-recipient-code-exponent.json", "code: expected an integer",
	    NULL },
	{ "bad-recipient-code-hex.json", "code: expected an integer", NULL },
	{ "bad-recipient-code-space.json", "code: expected an integer",
	    NULL },
	{ "bad-recipient-code-empty.json", "code: expected an integer",
	    NULL },
	{ "bad-recipient-code-plus.json", "code: expected an integer", NULL },
	{ "bad-recipient-code-minus.json", "code: expected an integer",
	    NULL },
	{ "bad-recipient-code-bool.json", "code: expected an integer", NULL },
	{ "bad-recipient-parts-negative.json",
	    "number_of_message_parts: -1 out of range", NULL },
	{ "bad-mo_text-body-object.json", "body: expected a string", NULL },
	{ "bad-mo_text-missing-from.json", "from: missing required field",
	    NULL },
	{ "bad-mo_binary-missing-udh.json", "udh: missing required field",
	    NULL },
	{ "bad-mo_media-body-string.json", "body: expected an object", NULL },
	{ "bad-mo_media-missing-received_at.json",
	    "received_at: missing required field", NULL },
};

#define NBAD	((int)(sizeof(bad_cases) / sizeof(bad_cases[0])))

/* The kind each known type must decode as; anything else is unknown. */
static const struct {
	const char		*type;
	enum report_kind	 kind;
	enum report_channel	 channel;
} known_types[] = {
	{ "delivery_report_sms", REPORT_DELIVERY, REPORT_SMS },
	{ "delivery_report_mms", REPORT_DELIVERY, REPORT_MMS },
	{ "recipient_delivery_report_sms", REPORT_RECIPIENT, REPORT_SMS },
	{ "recipient_delivery_report_mms", REPORT_RECIPIENT, REPORT_MMS },
	{ "mo_text", REPORT_INBOUND, REPORT_SMS },
	{ "mo_binary", REPORT_INBOUND, REPORT_SMS },
	{ "mo_media", REPORT_INBOUND, REPORT_MMS },
};

/* Decodes tests/data/payload/<name>, which must succeed. */
static struct report *
decode_fixture(const char *name)
{
	char		 rel[PATH_MAX], err[256];
	struct buf	*body;
	struct report	*r;

	snprintf(rel, sizeof(rel), "payload/%s", name);
	body = fixture_read(rel);
	r = report_decode(body->data, body->len, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s: %s", name, err);
	buf_free(body);
	return r;
}

/* A reason is one short printable line. */
static void
assert_one_line(const char *what, const char *err)
{
	const unsigned char	*p;

	ck_assert_msg(err[0] != '\0', "%s: empty reason", what);
	ck_assert_msg(strlen(err) < 200, "%s: reason too long: %s", what,
	    err);
	for (p = (const unsigned char *)err; *p != '\0'; p++)
		ck_assert_msg(*p >= 0x20 && *p != 0x7f,
		    "%s: control byte 0x%02x in reason", what, *p);
}

START_TEST(test_report_refused)
{
	const struct bad_case	*c = &bad_cases[_i];
	char			 rel[PATH_MAX], err[256];
	struct buf		*body;
	struct report		*r;

	snprintf(rel, sizeof(rel), "payload/%s", c->file);
	body = fixture_read(rel);
	memset(err, 'X', sizeof(err));
	r = report_decode(body->data, body->len, err, sizeof(err));
	ck_assert_msg(r == NULL, "%s: decoded", c->file);
	assert_one_line(c->file, err);
	if (c->near == NULL)
		ck_assert_msg(strcmp(err, c->reason) == 0,
		    "%s: reason \"%s\", want \"%s\"", c->file, err, c->reason);
	else {
		ck_assert_msg(strncmp(err, c->reason, strlen(c->reason)) == 0,
		    "%s: reason \"%s\", want \"%s...\"", c->file, err,
		    c->reason);
		ck_assert_msg(strstr(err, c->near) != NULL,
		    "%s: reason \"%s\" lacks \"%s\"", c->file, err, c->near);
	}
	buf_free(body);
}
END_TEST

START_TEST(test_report_refused_inline)
{
	char	 err[128];

	/* A NULL body is empty too, and a zero length hides the bytes. */
	ck_assert_ptr_null(report_decode(NULL, 0, err, sizeof(err)));
	ck_assert_str_eq(err, "empty body");
	ck_assert_ptr_null(report_decode("{}", 0, err, sizeof(err)));
	ck_assert_str_eq(err, "empty body");
	/* Bytes after len are not read: "{}" alone lacks a type. */
	ck_assert_ptr_null(report_decode("{}garbage", 2, err, sizeof(err)));
	ck_assert_str_eq(err, "type: missing required field");
	ck_assert_ptr_null(report_decode("{}", 2, err, sizeof(err)));
	ck_assert_str_eq(err, "type: missing required field");
	ck_assert_ptr_null(report_decode("42", 2, err, sizeof(err)));
	ck_assert_str_eq(err, "not a JSON object");
	ck_assert_ptr_null(report_decode("null", 4, err, sizeof(err)));
	ck_assert_str_eq(err, "not a JSON object");
	/* A raw NUL byte inside the body. */
	ck_assert_ptr_null(report_decode("{\"type\":\"a\0\"}", 13, err,
	    sizeof(err)));
	ck_assert_msg(strncmp(err, "invalid JSON: ", 14) == 0, "%s", err);
	assert_one_line("raw NUL", err);
}
END_TEST

START_TEST(test_report_reason_buffer)
{
	static const char	 body[] = "{\"type\":\"mo_text\"}";
	char			 err[8], big[64];

	/* Truncated, still terminated; a zero-length buffer is left alone. */
	ck_assert_ptr_null(report_decode(body, sizeof(body) - 1, err,
	    sizeof(err)));
	ck_assert_str_eq(err, "id: mis");
	ck_assert_ptr_null(report_decode(body, sizeof(body) - 1, NULL, 0));
	/* A cut multibyte character is dropped, not left half written. */
	ck_assert_ptr_null(report_decode("{\"a\":\xc3\xa9}", 8, big,
	    sizeof(big)));
	ck_assert_str_eq(big, "invalid JSON: invalid token near '\xc3\xa9' "
	    "at line 1 column 6");
	ck_assert_ptr_null(report_decode("{\"a\":\xc3\xa9}", 8, big, 36));
	ck_assert_str_eq(big, "invalid JSON: invalid token near '");
}
END_TEST

/* Refused by the scanner: the reason and where, line and column. */
START_TEST(test_report_refused_scan)
{
#define BODY(s)	s, sizeof(s) - 1
	static const struct {
		const char	*body;
		size_t		 len;
		const char	*reason;
	} cases[] = {
		/* A lone surrogate is read; what follows it is at fault. */
		{ BODY("{\"type\":\"mo_text\",\"body\":\"\\ud83d\\uZZZZ\"}"),
		    "invalid JSON: invalid Unicode escape near '\\uZZZZ' "
		    "at line 1 column 33" },
		/* Columns count characters, lines start after each LF. */
		{ BODY("{\"type\":\"\xc3\xa5\xc3\xa4\xc3\xb6\",\n"
		    "\"id\":\"\xf0\x9f\x98\x80\",\"to\":\x01}"),
		    "invalid JSON: control character 0x01 at line 2 "
		    "column 15" },
		{ BODY("{\"type\":\"mo_text\",\n\n  \"from\":\"a\","
		    "\"\\u0066rom\":\"b\"}"),
		    "invalid JSON: duplicate object key near "
		    "'\"\\u0066rom\"' at line 3 column 14" },
		{ BODY("{\"type\":\"mo_text\",\"id\":1e400}"),
		    "invalid JSON: real number overflow near '1e400' at line 1 "
		    "column 24" },
		{ BODY("{\"type\":\"mo_text\"}\n\0"),
		    "invalid JSON: control character 0x00 at line 2 column 1" },
	};
#undef BODY
	char	 err[256];
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_ptr_null(report_decode(cases[i].body, cases[i].len,
		    err, sizeof(err)));
		ck_assert_str_eq(err, cases[i].reason);
	}
}
END_TEST

/* Containers nested n deep as the value of "x" in a mo_text. */
static struct buf *
nested_body(int n)
{
	struct buf	*b = buf_new(0);
	int		 i;

	ck_assert_int_eq(buf_puts(b, "{\"type\":\"mo_text\",\"id\":\"i\","
	    "\"from\":\"f\",\"to\":\"t\",\"received_at\":\"r\",\"body\":\"b\","
	    "\"x\":"), 0);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(buf_puts(b, i % 2 ? "[" : "{\"y\":"), 0);
	ck_assert_int_eq(buf_putc(b, '0'), 0);
	for (i = n - 1; i >= 0; i--)
		ck_assert_int_eq(buf_putc(b, i % 2 ? ']' : '}'), 0);
	ck_assert_int_eq(buf_putc(b, '}'), 0);
	return b;
}

START_TEST(test_report_refused_depth)
{
	struct buf	*b;
	struct report	*r;
	char		 err[128], want[128];
	size_t		 column;

	/* The root object and 63 more: as deep as it goes. */
	b = nested_body(63);
	r = report_decode(b->data, b->len, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_str_eq(r->body, "b");
	report_free(r);
	buf_free(b);

	/* One more, and the bracket that opens it is at fault. */
	b = nested_body(64);
	ck_assert_ptr_null(report_decode(b->data, b->len, err, sizeof(err)));
	column = (size_t)(strstr(b->data, "0") - b->data);
	snprintf(want, sizeof(want), "invalid JSON: nesting too deep at line "
	    "1 column %zu", column);
	ck_assert_str_eq(err, want);
	buf_free(b);
}
END_TEST

/*
 * A recipient report followed by n more keys; the last one, when dup is
 * set, is "type" again, escaped.
 */
static struct buf *
many_keys_body(int n, bool dup)
{
	struct buf	*b = buf_new(0);
	char		 member[32];
	int		 i;

	ck_assert_int_eq(buf_puts(b, "{\"type\":"
	    "\"recipient_delivery_report_sms\",\"batch_id\":\"b\","
	    "\"recipient\":\"r\",\"status\":\"Delivered\",\"at\":\"t\","
	    "\"code\":0"), 0);
	for (i = 0; i < n; i++) {
		if (dup && i == n - 1)
			snprintf(member, sizeof(member), ",\"\\u0074ype\":%d",
			    i);
		else
			snprintf(member, sizeof(member), ",\"x%07d\":%d", i, i);
		ck_assert_int_eq(buf_puts(b, member), 0);
	}
	ck_assert_int_eq(buf_putc(b, '}'), 0);
	return b;
}

START_TEST(test_report_many_keys)
{
	struct timespec	 t0, t1;
	struct buf	*b;
	struct report	*r;
	char		 err[128], want[128];
	double		 took;

	/* About 1.6 MiB of keys: decoded in linear time. */
	b = many_keys_body(100000, false);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = report_decode(b->data, b->len, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	took = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_msg(took < 2.0, "100,000 keys took %.3f s", took);
	ck_assert_str_eq(r->status, "Delivered");
	ck_assert(r->is_final);
	report_free(r);
	buf_free(b);

	/* A duplicate of the first key, 100,000 keys in. */
	b = many_keys_body(100000, true);
	ck_assert_ptr_null(report_decode(b->data, b->len, err, sizeof(err)));
	snprintf(want, sizeof(want), "invalid JSON: duplicate object key near "
	    "'\"\\u0074ype\"' at line 1 column %zu",
	    (size_t)(strstr(b->data, "\"\\u0074ype") - b->data) + 1);
	ck_assert_str_eq(err, want);
	buf_free(b);
}
END_TEST

START_TEST(test_report_recipient_sms)
{
	struct report	*r = decode_fixture(
	    "valid-recipient_delivery_report_sms.json");

	ck_assert_int_eq(r->kind, REPORT_RECIPIENT);
	ck_assert_int_eq(r->channel, REPORT_SMS);
	ck_assert_str_eq(r->type, "recipient_delivery_report_sms");
	ck_assert_str_eq(r->batch_id, "01JDQ7ZK3M8N4P6R2T5V9W1X0Y");
	ck_assert_str_eq(r->recipient, "46701234567");
	ck_assert_int_eq(r->code, 0);
	ck_assert_str_eq(r->status, "Delivered");
	ck_assert(r->is_final);
	ck_assert_str_eq(r->at, "2026-11-27T14:00:00.123Z");
	ck_assert_str_eq(r->operator_status_at, "2026-11-27T13:59:58Z");
	ck_assert_str_eq(r->client_reference, "order-7731");
	ck_assert_str_eq(r->applied_originator, "SinchShop");
	ck_assert_str_eq(r->encoding, "GSM");
	ck_assert(r->has_parts);
	ck_assert_int_eq(r->number_of_message_parts, 1);
	ck_assert_str_eq(r->operator_name, "24001");
	ck_assert_ptr_null(r->statuses);
	ck_assert_ptr_null(r->message_id);
	report_free(r);
}
END_TEST

START_TEST(test_report_recipient_mms)
{
	struct report	*r = decode_fixture(
	    "valid-recipient_delivery_report_mms.json");

	ck_assert_int_eq(r->kind, REPORT_RECIPIENT);
	ck_assert_int_eq(r->channel, REPORT_MMS);
	ck_assert_str_eq(r->batch_id, "01JDQ80B6C7D8E9F0G1H2J3K4M");
	ck_assert_str_eq(r->recipient, "+46709876543");
	ck_assert_int_eq(r->code, 400);
	ck_assert_str_eq(r->status, "Queued");
	ck_assert(!r->is_final);
	ck_assert_str_eq(r->at, "2026-11-27T14:00:01.500Z");
	ck_assert_ptr_null(r->operator_status_at);
	ck_assert_ptr_null(r->client_reference);
	ck_assert_ptr_null(r->applied_originator);
	ck_assert_ptr_null(r->encoding);
	ck_assert_ptr_null(r->operator_name);
	ck_assert(!r->has_parts);
	report_free(r);
}
END_TEST

START_TEST(test_report_delivery_sms)
{
	struct report	*r = decode_fixture("valid-delivery_report_sms.json");

	ck_assert_int_eq(r->kind, REPORT_DELIVERY);
	ck_assert_int_eq(r->channel, REPORT_SMS);
	ck_assert_str_eq(r->batch_id, "01JDQ7ZK3M8N4P6R2T5V9W1X0Y");
	ck_assert_str_eq(r->client_reference, "order-7731");
	ck_assert_int_eq(r->total_message_count, 3);
	ck_assert_uint_eq(r->nstatuses, 2);
	ck_assert_str_eq(r->statuses[0].status, "Delivered");
	ck_assert_int_eq(r->statuses[0].code, 0);
	ck_assert_int_eq(r->statuses[0].count, 2);
	ck_assert_uint_eq(r->statuses[0].nrecipients, 2);
	ck_assert(r->statuses[0].is_final);
	ck_assert_str_eq(r->statuses[1].status, "Dispatched");
	ck_assert_int_eq(r->statuses[1].code, 401);
	ck_assert_int_eq(r->statuses[1].count, 1);
	ck_assert_uint_eq(r->statuses[1].nrecipients, 1);
	ck_assert(!r->statuses[1].is_final);
	/* One bucket still on its way: the batch is not final. */
	ck_assert(!r->is_final);
	ck_assert_ptr_null(r->recipient);
	ck_assert_ptr_null(r->status);
	report_free(r);
}
END_TEST

START_TEST(test_report_delivery_mms)
{
	struct report	*r = decode_fixture("valid-delivery_report_mms.json");

	ck_assert_int_eq(r->kind, REPORT_DELIVERY);
	ck_assert_int_eq(r->channel, REPORT_MMS);
	ck_assert_str_eq(r->type, "delivery_report_mms");
	ck_assert_ptr_null(r->client_reference);
	ck_assert_int_eq(r->total_message_count, 3);
	ck_assert_uint_eq(r->nstatuses, 2);
	ck_assert_uint_eq(r->statuses[0].nrecipients, 0);
	ck_assert_str_eq(r->statuses[1].status, "Expired");
	ck_assert_int_eq(r->statuses[1].code, 406);
	ck_assert_int_eq(r->statuses[1].count, 2);
	ck_assert(r->is_final);
	report_free(r);
}
END_TEST

START_TEST(test_report_mo_text)
{
	struct report	*r = decode_fixture("valid-mo_text.json");

	ck_assert_int_eq(r->kind, REPORT_INBOUND);
	ck_assert_int_eq(r->channel, REPORT_SMS);
	ck_assert_str_eq(r->type, "mo_text");
	ck_assert_str_eq(r->message_id, "01JDQ8F3Q4R5S6T7V8W9X0Y1Z2");
	ck_assert_str_eq(r->from, "46701234567");
	ck_assert_str_eq(r->to, "46700000000");
	/* Escapes decoded: the body is the text as the subscriber wrote it. */
	ck_assert_str_eq(r->body, "Hej!  Tack f\xc3\xb6r ordern "
	    "\xf0\x9f\x98\x80\n\"STOP\" to end\tC:\\");
	ck_assert_str_eq(r->operator_id, "24001");
	ck_assert_str_eq(r->sent_at, "2026-11-27T13:59:59.870Z");
	ck_assert_str_eq(r->received_at, "2026-11-27T14:00:00.012Z");
	ck_assert_ptr_null(r->client_reference);
	ck_assert_ptr_null(r->udh);
	ck_assert_ptr_null(r->subject);
	ck_assert(!r->is_final);
	report_free(r);
}
END_TEST

START_TEST(test_report_mo_binary)
{
	struct report	*r = decode_fixture("valid-mo_binary.json");

	ck_assert_int_eq(r->kind, REPORT_INBOUND);
	ck_assert_int_eq(r->channel, REPORT_SMS);
	ck_assert_str_eq(r->type, "mo_binary");
	ck_assert_str_eq(r->message_id, "01JDQ8G9A0B1C2D3E4F5G6H7J8");
	ck_assert_str_eq(r->body, "SGVsbG8gd29ybGQ=");
	ck_assert_str_eq(r->udh, "050003cc0201");
	ck_assert_str_eq(r->client_reference, "reply-to-01JDQ7ZK");
	ck_assert_str_eq(r->received_at, "2026-11-27T14:00:02Z");
	ck_assert_ptr_null(r->sent_at);
	ck_assert_ptr_null(r->operator_id);
	report_free(r);
}
END_TEST

START_TEST(test_report_mo_media)
{
	struct report	*r = decode_fixture("valid-mo_media.json");

	ck_assert_int_eq(r->kind, REPORT_INBOUND);
	ck_assert_int_eq(r->channel, REPORT_MMS);
	ck_assert_str_eq(r->type, "mo_media");
	ck_assert_str_eq(r->message_id, "01JDQ8H2K3M4N5P6Q7R8S9T0V1");
	ck_assert_str_eq(r->from, "+46701234567");
	ck_assert_str_eq(r->to, "+46700000000");
	ck_assert_ptr_null(r->body);
	ck_assert_str_eq(r->subject, "Kvitto");
	ck_assert_str_eq(r->message, "Bild p\xc3\xa5 kvittot");
	ck_assert_uint_eq(r->nmedia, 2);
	ck_assert_str_eq(r->sent_at, "2026-11-27T14:00:02.900Z");
	ck_assert_str_eq(r->operator_id, "24002");
	report_free(r);
}
END_TEST

START_TEST(test_report_unknown_type)
{
	struct report	*r = decode_fixture("valid-unknown-type.json");

	/* Recorded as unknown; fields that look familiar are not read. */
	ck_assert_int_eq(r->kind, REPORT_UNKNOWN);
	ck_assert_int_eq(r->channel, REPORT_CHANNEL_NONE);
	ck_assert_str_eq(r->type, "recipient_delivery_report_rcs");
	ck_assert_ptr_null(r->batch_id);
	ck_assert_ptr_null(r->status);
	ck_assert(!r->is_final);
	report_free(r);
}
END_TEST

START_TEST(test_report_unknown_type_inline)
{
	char		 err[128];
	struct report	*r;

	/* Near misses of known names are unknown, not errors. */
	r = report_decode("{\"type\":\"MO_TEXT\"}", 18, err, sizeof(err));
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->kind, REPORT_UNKNOWN);
	report_free(r);
	r = report_decode("{\"type\":\"\"}", 11, err, sizeof(err));
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->kind, REPORT_UNKNOWN);
	report_free(r);
	report_free(NULL);
}
END_TEST

/* A field's len bytes are want's, sizeof(want) - 1 of them. */
#define ASSERT_FIELD(p, len, want) do {					\
	ck_assert_ptr_nonnull(p);					\
	ck_assert_uint_eq((len), sizeof(want) - 1);			\
	ck_assert_msg(memcmp((p), (want), sizeof(want)) == 0,		\
	    "%s: not %s", #p, #want);					\
} while (0)

START_TEST(test_report_nul)
{
	struct report	*r = decode_fixture("valid-nul-escape.json");
	const char	*body;
	char		 err[128];

	/* Whole values, NULs and all, still terminated after them. */
	ck_assert_int_eq(r->kind, REPORT_INBOUND);
	ASSERT_FIELD(r->type, r->type_len, "mo_text");
	ASSERT_FIELD(r->from, r->from_len, "4670\0" "1234567");
	ASSERT_FIELD(r->body, r->body_len, "abc\0def\0");
	ASSERT_FIELD(r->client_reference, r->client_reference_len, "\0");
	ASSERT_FIELD(r->to, r->to_len, "46700000000");
	report_free(r);

	r = decode_fixture("valid-nul-escape-recipient.json");
	ck_assert_int_eq(r->kind, REPORT_RECIPIENT);
	ASSERT_FIELD(r->batch_id, r->batch_id_len,
	    "01JDQ7ZK\0" "3M8N4P6R2T5V9W1X0Y");
	ASSERT_FIELD(r->recipient, r->recipient_len, "46701234567\0");
	ASSERT_FIELD(r->client_reference, r->client_reference_len,
	    "order\0-7731");
	ASSERT_FIELD(r->operator_name, r->operator_name_len, "\0" "24001");
	/* "Delivered" and a NUL is a status of its own, not final. */
	ASSERT_FIELD(r->status, r->status_len, "Delivered\0");
	ck_assert(!r->is_final);
	report_free(r);

	/* A type is known only when all of it is: this one is not. */
	body = "{\"type\":\"mo_text\\u0000\"}";
	r = report_decode(body, strlen(body), err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_int_eq(r->kind, REPORT_UNKNOWN);
	ASSERT_FIELD(r->type, r->type_len, "mo_text\0");
	report_free(r);
	/* Nor is a code with a NUL among its digits. */
	body = "{\"type\":\"recipient_delivery_report_sms\",\"batch_id\":"
	    "\"b\",\"recipient\":\"r\",\"code\":\"4\\u00001\"}";
	ck_assert_ptr_null(report_decode(body, strlen(body), err,
	    sizeof(err)));
	ck_assert_str_eq(err, "code: expected an integer");
}
END_TEST

START_TEST(test_report_lone_surrogate)
{
	static const char	 body[] = "{\"type\":\"mo_text\",\"id\":\"i\","
	    "\"from\":\"\\udc00f\",\"to\":\"t\",\"received_at\":\"r\","
	    "\"body\":\"half an emoji: \\ud83d\"}";
	const struct timespec	 ts = { 1795788000, 0 };
	struct report		*r;
	struct buf		 out;
	char			 err[128];

	/*
	 * A handset's UCS-2 can hold half a surrogate pair, and a serializer
	 * can write it as an escape: read as U+FFFD, kept as sent.
	 */
	r = report_decode(body, sizeof(body) - 1, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	ASSERT_FIELD(r->body, r->body_len, "half an emoji: \xef\xbf\xbd");
	ASSERT_FIELD(r->from, r->from_len, "\xef\xbf\xbd" "f");
	buf_init(&out);
	ck_assert_int_eq(record_encode(&out, r, "s", &ts, body,
	    sizeof(body) - 1), 0);
	ck_assert_ptr_nonnull(strstr(out.data,
	    ",\"from\":\"\xef\xbf\xbd" "f\","));
	ck_assert_ptr_nonnull(strstr(out.data,
	    "\"from\":\"\\udc00f\","));
	ck_assert_ptr_nonnull(strstr(out.data,
	    "\"body\":\"half an emoji: \\ud83d\"}}\n"));
	buf_fini(&out);
	report_free(r);
}
END_TEST

START_TEST(test_report_bom)
{
	struct report	*r = decode_fixture("valid-bom-mo_text.json");
	char		 err[128];

	/* Skipped once at the start; inside a string it is text. */
	ck_assert_uint_eq(r->text_start, 3);
	ck_assert_int_eq(r->kind, REPORT_INBOUND);
	ck_assert_str_eq(r->type, "mo_text");
	ck_assert_str_eq(r->body, "\xef\xbb\xbf" "BOM inside is text");
	report_free(r);
	r = decode_fixture("valid-mo_text.json");
	ck_assert_uint_eq(r->text_start, 0);
	report_free(r);

	/* Nothing but the mark, or the mark and a scalar. */
	ck_assert_ptr_null(report_decode("\xef\xbb\xbf", 3, err,
	    sizeof(err)));
	ck_assert_str_eq(err, "invalid JSON: unexpected end of input at line "
	    "1 column 1");
	ck_assert_ptr_null(report_decode("\xef\xbb\xbf" "1", 4, err,
	    sizeof(err)));
	ck_assert_str_eq(err, "not a JSON object");
	/* Half a mark is not one. */
	ck_assert_ptr_null(report_decode("\xef\xbb{}", 4, err, sizeof(err)));
	ck_assert_msg(strncmp(err, "invalid JSON: invalid UTF-8 at line 1 "
	    "column 1", 40) == 0, "%s", err);
	r = report_decode("\xef\xbb\xbf{\"type\":\"x\"}", 15, err,
	    sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_int_eq(r->kind, REPORT_UNKNOWN);
	report_free(r);
}
END_TEST

START_TEST(test_report_code_string)
{
	struct report	*r = decode_fixture("valid-lenient-code-string.json");

	ck_assert_int_eq(r->code, 0);
	ck_assert(r->has_parts);
	ck_assert_int_eq(r->number_of_message_parts, 2);
	ck_assert(r->is_final);
	report_free(r);
	r = decode_fixture("valid-lenient-code-negative-string.json");
	ck_assert_int_eq(r->code, INT32_MIN);
	report_free(r);
}
END_TEST

START_TEST(test_report_int_bounds)
{
	static const struct {
		const char	*code;
		int32_t		 want;
	} ok[] = {
		{ "2147483647", INT32_MAX }, { "-2147483648", INT32_MIN },
		{ "\"2147483647\"", INT32_MAX }, { "\"-0\"", 0 },
		{ "\"007\"", 7 }, { "-1", -1 },
	};
	char		 body[256], err[128];
	struct report	*r;
	size_t		 i;
	int		 n;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		n = snprintf(body, sizeof(body), "{\"type\":"
		    "\"recipient_delivery_report_sms\",\"batch_id\":\"b\","
		    "\"recipient\":\"r\",\"status\":\"s\",\"at\":\"t\","
		    "\"code\":%s}", ok[i].code);
		r = report_decode(body, (size_t)n, err, sizeof(err));
		ck_assert_msg(r != NULL, "%s: %s", ok[i].code, err);
		ck_assert_int_eq(r->code, ok[i].want);
		report_free(r);
	}
}
END_TEST

START_TEST(test_report_null_optionals)
{
	struct report	*r = decode_fixture(
	    "valid-lenient-null-optionals.json");

	ck_assert_ptr_null(r->operator_status_at);
	ck_assert_ptr_null(r->client_reference);
	ck_assert_ptr_null(r->applied_originator);
	ck_assert_ptr_null(r->encoding);
	ck_assert_ptr_null(r->operator_name);
	ck_assert(!r->has_parts);
	report_free(r);
	r = decode_fixture("valid-lenient-mo_media-no-media.json");
	ck_assert_ptr_null(r->sent_at);
	ck_assert_ptr_null(r->subject);
	ck_assert_str_eq(r->message, "Text only");
	ck_assert_uint_eq(r->nmedia, 0);
	report_free(r);
}
END_TEST

START_TEST(test_report_optional_wrong_type)
{
	struct report	*r = decode_fixture(
	    "valid-lenient-optional-wrong-type.json");

	/* Left out of the fields, kept in the payload. */
	ck_assert_ptr_null(r->operator_status_at);
	ck_assert_ptr_null(r->client_reference);
	ck_assert_ptr_null(r->applied_originator);
	ck_assert_ptr_null(r->encoding);
	ck_assert_ptr_null(r->operator_name);
	ck_assert(!r->has_parts);
	ck_assert_int_ne(jscan_member(r->doc, jscan_root(r->doc), "encoding"),
	    -1);
	report_free(r);
}
END_TEST

START_TEST(test_report_unknown_status)
{
	struct report	*r = decode_fixture(
	    "valid-lenient-unknown-status.json");

	ck_assert_str_eq(r->status, "Throttled");
	ck_assert_int_eq(r->code, 499);
	ck_assert(!r->is_final);
	report_free(r);
}
END_TEST

START_TEST(test_report_key_order)
{
	struct report	*r = decode_fixture("valid-lenient-type-last.json");

	ck_assert_int_eq(r->kind, REPORT_DELIVERY);
	ck_assert_str_eq(r->batch_id, "01JDQ8K7F8G9H0J1K2M3N4P5Q6");
	ck_assert_int_eq(r->total_message_count, 2);
	ck_assert_ptr_null(r->client_reference);
	ck_assert_uint_eq(r->nstatuses, 2);
	ck_assert_int_eq(r->statuses[0].code, 0);
	ck_assert_int_eq(r->statuses[0].count, 1);
	ck_assert_uint_eq(r->statuses[0].nrecipients, 1);
	/* recipients of the wrong type count as absent. */
	ck_assert_uint_eq(r->statuses[1].nrecipients, 0);
	ck_assert(r->is_final);
	report_free(r);
}
END_TEST

START_TEST(test_report_empty_statuses)
{
	struct report	*r = decode_fixture(
	    "valid-lenient-empty-statuses.json");

	ck_assert_uint_eq(r->nstatuses, 0);
	ck_assert_int_eq(r->total_message_count, 1);
	ck_assert(!r->is_final);
	ck_assert_str_eq(r->client_reference, "campaign-42");
	report_free(r);
}
END_TEST

START_TEST(test_report_names)
{
	static const char	*finals[] = { "Delivered", "Failed",
	    "Expired", "Aborted", "Rejected", "Cancelled", "Deleted",
	    "Unknown" };
	static const char	*others[] = { "Queued", "Dispatched",
	    "delivered", "DELIVERED", "Delivered ", "", "Throttled" };
	size_t			 i;

	for (i = 0; i < sizeof(finals) / sizeof(finals[0]); i++)
		ck_assert_msg(report_status_is_final(finals[i],
		    strlen(finals[i])), "%s", finals[i]);
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		ck_assert_msg(!report_status_is_final(others[i],
		    strlen(others[i])), "%s", others[i]);
	ck_assert(!report_status_is_final(NULL, 0));
	/* Every byte counts, a NUL too. */
	ck_assert(!report_status_is_final("Delivered\0", 10));
	ck_assert(!report_status_is_final("Delivered", 8));
	ck_assert_str_eq(report_kind_name(REPORT_DELIVERY),
	    "delivery_report");
	ck_assert_str_eq(report_kind_name(REPORT_RECIPIENT),
	    "recipient_delivery_report");
	ck_assert_str_eq(report_kind_name(REPORT_INBOUND), "inbound");
	ck_assert_str_eq(report_kind_name(REPORT_UNKNOWN), "unknown");
	ck_assert_str_eq(report_channel_name(REPORT_SMS), "sms");
	ck_assert_str_eq(report_channel_name(REPORT_MMS), "mms");
	ck_assert_str_eq(report_channel_name(REPORT_CHANNEL_NONE), "none");
}
END_TEST

/*
 * One body through the whole path: decode, with the kind its type
 * implies; record; re-parse the record, whose payload must be the body.
 */
static void
conform(const char *path, const struct buf *body)
{
	const struct timespec	 ts = { 1795788000, 123456789 };
	char			 err[256];
	struct report		*r;
	struct buf		 out;
	json_t			*orig, *rec;
	json_error_t		 jerr;
	const char		*type, *nl;
	enum report_kind	 kind = REPORT_UNKNOWN;
	enum report_channel	 channel = REPORT_CHANNEL_NONE;
	size_t			 i;

	r = report_decode(body->data, body->len, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s: %s", path, err);
	/* jansson refuses a byte order mark, which the payload leaves out. */
	orig = json_loadb(body->data + r->text_start,
	    body->len - r->text_start, JSON_ALLOW_NUL, &jerr);
	ck_assert_msg(orig != NULL, "%s: %s", path, jerr.text);
	type = json_string_value(json_object_get(orig, "type"));
	ck_assert_msg(type != NULL, "%s: no type", path);
	for (i = 0; i < sizeof(known_types) / sizeof(known_types[0]); i++)
		if (strcmp(type, known_types[i].type) == 0) {
			kind = known_types[i].kind;
			channel = known_types[i].channel;
		}
	ck_assert_msg(r->kind == kind, "%s: kind %d, want %d", path, r->kind,
	    kind);
	ck_assert_msg(r->channel == channel, "%s: channel %d, want %d", path,
	    r->channel, channel);
	ck_assert_str_eq(r->type, type);

	buf_init(&out);
	ck_assert_int_eq(record_encode(&out, r, "walk-1", &ts, body->data,
	    body->len), 0);
	nl = memchr(out.data, '\n', out.len);
	ck_assert_msg(nl == out.data + out.len - 1, "%s: not one line", path);
	rec = json_loadb(out.data, out.len, JSON_REJECT_DUPLICATES |
	    JSON_ALLOW_NUL, &jerr);
	ck_assert_msg(rec != NULL, "%s: record: %s", path, jerr.text);
	ck_assert_msg(json_equal(json_object_get(rec, "payload"), orig),
	    "%s: payload differs from the body", path);
	ck_assert_str_eq(json_string_value(json_object_get(rec, "kind")),
	    report_kind_name(kind));
	ck_assert_str_eq(json_string_value(json_object_get(rec, "type")),
	    type);
	ck_assert_str_eq(json_string_value(json_object_get(rec, "id")),
	    "walk-1");
	json_decref(rec);
	json_decref(orig);
	buf_fini(&out);
	report_free(r);
}

/* Runs conform() on each *.json in dir whose name starts with prefix. */
static int
walk(const char *dir, const char *prefix)
{
	char		 path[PATH_MAX];
	DIR		*d;
	struct dirent	*de;
	struct buf	*body;
	size_t		 n;
	int		 count = 0;

	d = opendir(dir);
	ck_assert_msg(d != NULL, "unable to open %s", dir);
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 5, ".json") != 0 ||
		    strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		body = fixture_read_path(path);
		ck_assert_msg(body != NULL, "unable to read %s", path);
		conform(path, body);
		buf_free(body);
		count++;
	}
	closedir(d);
	return count;
}

START_TEST(test_report_walk_vectors)
{
	const char	*dir = fixture_vectors_dir(), *env;

	if (dir != NULL)
		ck_assert_msg(walk(dir, "") > 0, "%s: no *.json", dir);
	else if ((env = getenv("SINCH_VECTORS")) != NULL && *env != '\0')
		fprintf(stderr, "vectors: %s not found, shared conformance "
		    "walk not run\n", env);
	else
		fprintf(stderr, "vectors: %s/../shared/vectors/sinch not "
		    "found, shared conformance walk not run\n",
		    fixture_srcdir());
}
END_TEST

START_TEST(test_report_walk_own)
{
	char	 dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/tests/data/payload", fixture_srcdir());
	ck_assert_int_ge(walk(dir, "valid-"), 16);
}
END_TEST

Suite *
suite_report(void)
{
	Suite	*s = suite_create("report");
	TCase	*tc;

	tc = tcase_create("strict");
	tcase_add_loop_test(tc, test_report_refused, 0, NBAD);
	tcase_add_test(tc, test_report_refused_inline);
	tcase_add_test(tc, test_report_reason_buffer);
	tcase_add_test(tc, test_report_refused_scan);
	tcase_add_test(tc, test_report_refused_depth);
	tcase_add_test(tc, test_report_many_keys);
	suite_add_tcase(s, tc);

	tc = tcase_create("types");
	tcase_add_test(tc, test_report_recipient_sms);
	tcase_add_test(tc, test_report_recipient_mms);
	tcase_add_test(tc, test_report_delivery_sms);
	tcase_add_test(tc, test_report_delivery_mms);
	tcase_add_test(tc, test_report_mo_text);
	tcase_add_test(tc, test_report_mo_binary);
	tcase_add_test(tc, test_report_mo_media);
	tcase_add_test(tc, test_report_unknown_type);
	tcase_add_test(tc, test_report_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("lenient");
	tcase_add_test(tc, test_report_unknown_type_inline);
	tcase_add_test(tc, test_report_code_string);
	tcase_add_test(tc, test_report_int_bounds);
	tcase_add_test(tc, test_report_null_optionals);
	tcase_add_test(tc, test_report_optional_wrong_type);
	tcase_add_test(tc, test_report_unknown_status);
	tcase_add_test(tc, test_report_key_order);
	tcase_add_test(tc, test_report_empty_statuses);
	tcase_add_test(tc, test_report_nul);
	tcase_add_test(tc, test_report_bom);
	tcase_add_test(tc, test_report_lone_surrogate);
	suite_add_tcase(s, tc);

	tc = tcase_create("conformance");
	tcase_add_test(tc, test_report_walk_vectors);
	tcase_add_test(tc, test_report_walk_own);
	suite_add_tcase(s, tc);
	return s;
}
