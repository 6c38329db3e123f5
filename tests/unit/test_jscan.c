/*
 * test_jscan.c - covers src/jscan.c: each rule of what it accepts and
 * refuses, with the reason and the offset; the token tree and the
 * accessors over it; the depth limit; many keys in linear time; and a
 * differential run against jansson's json_loadb() with
 * JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, whose
 * verdicts jscan keeps (but for a NUL in a key and a lone surrogate,
 * which jansson refuses),
 * over every file under tests/data and the shared vectors, deterministic
 * mutations of each, and generated documents.
 */
#include <errno.h>
#include <ftw.h>
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

/* A text and what jscan must make of it. */
struct scan_case {
	const char	*text;
	size_t		 len;
	const char	*reason;	/* NULL: accepted; else the start */
	size_t		 offset;
};

#define OK(s)		{ s, sizeof(s) - 1, NULL, 0 }
#define BAD(s, r, o)	{ s, sizeof(s) - 1, r, o }

static const struct scan_case scan_cases[] = {
	/* Values, whitespace, one value only. */
	OK("{}"),
	OK("[]"),
	OK("0"),
	OK("-0"),
	OK("\"\""),
	OK("true"),
	OK(" \t\r\nnull \t\r\n"),
	OK("{ \"a\" : [ 1 , -0 , 0.5 , 1e5 , 1E+5 , 2e-5 , true , false ,"
	    " null , \"\" , { } , [ ] ] }"),
	BAD("", "unexpected end of input", 0),
	BAD(" \n ", "unexpected end of input", 3),
	BAD("{} {}", "end of file expected near '{'", 3),
	BAD("{}x", "end of file expected near 'x'", 2),
	BAD("1 2", "end of file expected near '2'", 2),
	BAD("\"a\" \"b\"", "end of file expected near '\"b\"'", 4),
	BAD("\v{}", "control character 0x0b", 0),
	BAD("\f{}", "control character 0x0c", 0),
	BAD("\xc2\xa0{}", "invalid token near '\xc2\xa0'", 0),
	BAD("\xef\xbb\xbf{}", "invalid token near '\xef\xbb\xbf'", 0),
	BAD("{}\0", "control character 0x00", 2),
	BAD("\0", "control character 0x00", 0),
	/* jansson drops a NUL right after a number or literal; not so here. */
	BAD("true\0", "control character 0x00", 4),
	BAD("[1\0]", "control character 0x00", 2),
	BAD("{\"a\":null\0}", "control character 0x00", 9),
	BAD("[1\x01]", "control character 0x01", 2),

	/* Structure. */
	BAD("[", "unexpected end of input", 1),
	BAD("[1", "unexpected end of input", 2),
	BAD("[1,", "unexpected end of input", 3),
	BAD("{", "unexpected end of input", 1),
	BAD("{\"a\"", "unexpected end of input", 4),
	BAD("{\"a\":", "unexpected end of input", 5),
	BAD("{\"a\":1", "unexpected end of input", 6),
	BAD("[1,]", "unexpected token near ']'", 3),
	BAD("[,1]", "unexpected token near ','", 1),
	BAD("[}", "unexpected token near '}'", 1),
	BAD("{]", "string or '}' expected near ']'", 1),
	BAD("{,}", "string or '}' expected near ','", 1),
	BAD("{1:2}", "string or '}' expected near '1'", 1),
	BAD("{\"a\":1,}", "string expected near '}'", 7),
	BAD("{\"a\" 1}", "':' expected near '1'", 5),
	BAD("{\"a\"::1}", "unexpected token near ':'", 5),
	BAD("{\"a\":1 \"b\":2}", "',' or '}' expected near '\"b\"'", 7),
	BAD("{\"a\":1]", "',' or '}' expected near ']'", 6),
	BAD("[1 2]", "',' or ']' expected near '2'", 3),
	BAD("[\"a\"}", "',' or ']' expected near '}'", 4),
	BAD("'a'", "invalid token near ''a''", 0),

	/* Literals. */
	BAD("tru", "invalid token near 'tru'", 0),
	BAD("truex", "invalid token near 'truex'", 0),
	BAD("[true1]", "invalid token near 'true1'", 1),
	BAD("True", "invalid token near 'True'", 0),
	BAD("nul", "invalid token near 'nul'", 0),
	BAD("[nulll]", "invalid token near 'nulll'", 1),
	OK("[true,false,null]"),

	/* Numbers. */
	OK("9223372036854775807"),
	OK("-9223372036854775808"),
	OK("1e-400"),
	OK("-1e-400"),
	OK("0e999999999999999999999"),
	OK("0.0000e999999999999999999999"),
	OK("1.7976931348623157e308"),
	OK("1.7976931348623158e308"),
	OK("0.00001e308"),
	OK("1E308"),
	OK("1e+0308"),
	BAD("01", "invalid token near '01'", 0),
	BAD("-01", "invalid token near '-01'", 0),
	BAD("-", "invalid token near '-'", 0),
	BAD("-a", "invalid token near '-a'", 0),
	BAD("+1", "invalid token near '+1'", 0),
	BAD(".5", "invalid token near '.5'", 0),
	BAD("1.", "invalid token near '1.'", 0),
	BAD("1.e5", "invalid token near '1.e5'", 0),
	BAD("1e", "invalid token near '1e'", 0),
	BAD("1e+", "invalid token near '1e+'", 0),
	BAD("1e+a", "invalid token near '1e+a'", 0),
	BAD("[1x]", "invalid token near '1x'", 1),
	BAD("0x10", "invalid token near '0x10'", 0),
	BAD("1.5.5", "invalid token near '1.5.5'", 0),
	BAD("9223372036854775808",
	    "too big integer near '9223372036854775808'", 0),
	BAD("-9223372036854775809",
	    "too big negative integer near '-9223372036854775809'", 0),
	BAD("[123456789012345678901234567890]",
	    "too big integer near '123456789012345678901234'", 1),
	BAD("1e309", "real number overflow near '1e309'", 0),
	BAD("-1e309", "real number overflow near '-1e309'", 0),
	BAD("[1.8e308]", "real number overflow near '1.8e308'", 1),
	BAD("1.79769313486231581e308", "real number overflow", 0),
	BAD("1e999999999999999999999", "real number overflow", 0),
	BAD("0.1e310", "real number overflow", 0),

	/* Strings. */
	OK("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""),
	OK("\"\\u00e9\\u00E9\\uFFFF\\u0001\""),
	OK("\"\\ud83d\\ude00\\uDBFF\\uDFFF\""),
	OK("\"\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\""),
	OK("\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\xef\xbb\xbf\""),
	BAD("\"abc", "unexpected end of input", 4),
	BAD("\"abc\\", "unexpected end of input", 5),
	BAD("\"\\u12", "unexpected end of input", 5),
	BAD("\"\\ud800", "unexpected end of input", 7),
	BAD("\"\\ud800\\", "unexpected end of input", 8),
	BAD("\"\\ud800\\udc0", "unexpected end of input", 12),
	BAD("\"a\x01\"", "control character 0x01 in string", 2),
	BAD("\"a\nb\"", "control character 0x0a in string", 2),
	BAD("\"a\tb\"", "control character 0x09 in string", 2),
	BAD("\"a\x1f\"", "control character 0x1f in string", 2),
	BAD("\"a\0b\"", "control character 0x00 in string", 2),
	BAD("\"\\x\"", "invalid escape near '\\x'", 1),
	BAD("\"\\U0041\"", "invalid escape near '\\U'", 1),
	BAD("\"\\'\"", "invalid escape near '\\''", 1),
	BAD("\"\\u12G4\"", "invalid Unicode escape near '\\u12G4'", 1),
	OK("\"\\u0000\""),
	OK("[\"a\\u0000b\",\"\\u0000\\u0000\"]"),
	OK("{\"a\\u0000\":1}"),
	/* Lone surrogates are U+FFFD; what follows one is read alone. */
	OK("\"\\ud800\""),
	OK("\"\\ud800x\""),
	OK("\"\\ud800\\n\""),
	OK("\"\\ud800\\u0041\""),
	OK("\"\\ud800\\ud800\""),
	OK("\"\\udc00\""),
	OK("\"\\uDFFF\\uDC00\""),
	OK("{\"\\ud800\":1,\"\\ud800\\udc00\":2}"),
	BAD("\"\\ud800\\uzzzz\"",
	    "invalid Unicode escape near '\\uzzzz'", 7),
	BAD("\"\\ud800\\ud80\"", "invalid Unicode escape near '\\ud80'", 7),
	BAD("{\"\\ud800\":1,\"\\udfff\":2}",
	    "duplicate object key near '\"\\udfff\"'", 12),

	/* UTF-8, in strings and out. */
	BAD("\"\xc3\"", "invalid UTF-8", 1),
	BAD("\"a\xc3", "invalid UTF-8", 2),
	BAD("\"a\xe2\x82", "invalid UTF-8", 2),
	BAD("\"\xc0\xaf\"", "invalid UTF-8", 1),
	BAD("\"\xc1\xbf\"", "invalid UTF-8", 1),
	BAD("\"\xe0\x80\xaf\"", "invalid UTF-8", 1),
	BAD("\"\xe0\x9f\xbf\"", "invalid UTF-8", 1),
	BAD("\"\xf0\x80\x80\xaf\"", "invalid UTF-8", 1),
	BAD("\"\xf0\x8f\xbf\xbf\"", "invalid UTF-8", 1),
	BAD("\"\xed\xa0\x80\"", "invalid UTF-8", 1),
	BAD("\"\xed\xbf\xbf\"", "invalid UTF-8", 1),
	BAD("\"\xf4\x90\x80\x80\"", "invalid UTF-8", 1),
	BAD("\"\xf5\x80\x80\x80\"", "invalid UTF-8", 1),
	BAD("\"\x80\"", "invalid UTF-8", 1),
	BAD("\"\xbf\"", "invalid UTF-8", 1),
	BAD("\"\xff\"", "invalid UTF-8", 1),
	BAD("\"\xfe\"", "invalid UTF-8", 1),
	BAD("\"\xe2\x28\xa1\"", "invalid UTF-8", 1),
	BAD("\xff", "invalid UTF-8", 0),
	BAD("[1,\xc3]", "invalid UTF-8", 3),
	BAD("{}\xed\xa0\x80", "invalid UTF-8", 2),
	BAD("{\"a\":\xc3\xa9}", "invalid token near '\xc3\xa9'", 5),

	/* Duplicate keys, after unescaping, at every level. */
	OK("{\"a\":{\"a\":1}}"),
	OK("[{\"a\":1},{\"a\":1}]"),
	OK("{\"a\":1,\"A\":2,\"a \":3,\"\":4,\"\\u00e9\":5,\"\xc3\xa8\":6}"),
	BAD("{\"a\":1,\"a\":2}", "duplicate object key near '\"a\"'", 7),
	BAD("{\"a\":1,\"\\u0061\":2}",
	    "duplicate object key near '\"\\u0061\"'", 7),
	BAD("{\"\\u00e9\":1,\"\xc3\xa9\":2}",
	    "duplicate object key near '\"\xc3\xa9\"'", 12),
	BAD("{\"\":1,\"\":2}", "duplicate object key near '\"\"'", 6),
	BAD("{\"b\":{\"a\":1,\"a\":2}}", "duplicate object key near '\"a\"'",
	    12),
	BAD("[{\"x\":[{\"a\":1,\"b\":2,\"a\":3}]}]",
	    "duplicate object key near '\"a\"'", 20),
	BAD("{\"a b\":1,\"a b\":2}", "duplicate object key near '\"a b\"'",
	    9),
	/* Keys with NULs compare over their whole length. */
	OK("{\"a\":1,\"a\\u0000\":2,\"a\\u0000b\":3,\"a\\u0000c\":4,"
	    "\"\\u0000\":5,\"\":6}"),
	BAD("{\"a\\u0000b\":1,\"a\\u0000b\":2}",
	    "duplicate object key near '\"a\\u0000b\"'", 14),
	BAD("{\"\\u0000\":1,\"\\u0000\":2}",
	    "duplicate object key near '\"\\u0000\"'", 12),
	BAD("{\"a\\\"\":1,\"a\\\"\":2}",
	    "duplicate object key near '\"a\\\"\"'", 9),
	BAD("{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":1,"
	    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":2}",
	    "duplicate object key near '\"aaaaaaaaaaaaaaaaaaaaaaa'", 36),
	/* The first problem in the text is the one reported. */
	BAD("{\"a\":1,\"a\":\xff}", "duplicate object key", 7),
	BAD("{\"a\":\xff,\"a\":1}", "invalid UTF-8", 5),
};

#define NSCAN	((int)(sizeof(scan_cases) / sizeof(scan_cases[0])))

/* A text for a failure message: printable, escaped, cut short. */
static const char *
shown(const char *text, size_t len)
{
	static char	 out[200];
	size_t		 i, o = 0;
	unsigned char	 c;

	for (i = 0; i < len && o + 8 < sizeof(out); i++) {
		c = (unsigned char)text[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, sizeof(out) - o,
			    "\\x%02x", c);
	}
	if (i < len)
		snprintf(out + o, sizeof(out) - o, "...");
	else
		out[o] = '\0';
	return out;
}

START_TEST(test_jscan_rules)
{
	const struct scan_case	*c = &scan_cases[_i];
	struct jscan		*doc;
	char			 err[128];
	size_t			 offset = 12345;

	memset(err, 'X', sizeof(err));
	errno = 0;
	doc = jscan_new(c->text, c->len, err, sizeof(err), &offset);
	if (c->reason == NULL) {
		ck_assert_msg(doc != NULL, "%s: %s at %zu",
		    shown(c->text, c->len), err, offset);
		ck_assert_int_eq(jscan_root(doc), 0);
		ck_assert_int_ne(jscan_type(doc, 0), JSCAN_NONE);
		jscan_free(doc);
	} else {
		ck_assert_msg(doc == NULL, "%s: accepted",
		    shown(c->text, c->len));
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_msg(strncmp(err, c->reason, strlen(c->reason)) == 0,
		    "%s: reason \"%s\", want \"%s\"", shown(c->text, c->len),
		    err, c->reason);
		ck_assert_msg(offset == c->offset,
		    "%s: offset %zu, want %zu (%s)", shown(c->text, c->len),
		    offset, c->offset, err);
	}
}
END_TEST

START_TEST(test_jscan_reason_buffer)
{
	char	 err[12];
	size_t	 offset;

	/* Cut short but terminated; no buffer and no offset are fine too. */
	ck_assert_ptr_null(jscan_new("{\"a\":1,\"a\":2}", 13, err,
	    sizeof(err), &offset));
	ck_assert_str_eq(err, "duplicate o");
	ck_assert_uint_eq(offset, 7);
	ck_assert_ptr_null(jscan_new("[", 1, NULL, 0, NULL));
	ck_assert_ptr_null(jscan_new(NULL, 0, err, sizeof(err), &offset));
	ck_assert_uint_eq(offset, 0);
	/* Bytes past len are not read. */
	ck_assert_ptr_null(jscan_new("[1]", 2, err, sizeof(err), &offset));
	ck_assert_uint_eq(offset, 2);
	jscan_free(jscan_new("[1]garbage", 3, err, sizeof(err), &offset));
	jscan_free(NULL);
}
END_TEST

START_TEST(test_jscan_tree)
{
	static const char	 text[] =
	    "{\"a\":[1,{\"b\":null},\"x\\u00e9\"],\"c\":{},\"d\":[],\"e\":-0,"
	    "\"f\":1.5,\"g\":true,\"h\":false,"
	    "\"\\u00e9\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\ud83d\\ude00\","
	    "\"i\":-9223372036854775808}";
	char			 err[128];
	struct jscan		*doc;
	int			 root, a, e, k;

	doc = jscan_new(text, sizeof(text) - 1, err, sizeof(err), NULL);
	ck_assert_msg(doc != NULL, "%s", err);
	root = jscan_root(doc);
	ck_assert_int_eq(root, 0);
	ck_assert(jscan_is_object(doc, root));
	ck_assert_uint_eq(jscan_size(doc, root), 9);

	/* Keys in order; a key's value is the next token. */
	k = jscan_first(doc, root);
	ck_assert_str_eq(jscan_string(doc, k), "a");
	a = jscan_member(doc, root, "a");
	ck_assert_int_eq(a, k + 1);
	ck_assert(jscan_is_array(doc, a));
	ck_assert_uint_eq(jscan_size(doc, a), 3);
	k = jscan_next(doc, k);
	ck_assert_str_eq(jscan_string(doc, k), "c");

	/* Elements, and past the last one, what follows the array. */
	e = jscan_first(doc, a);
	ck_assert(jscan_is_int(doc, e));
	ck_assert_int_eq(jscan_int(doc, e), 1);
	e = jscan_next(doc, e);
	ck_assert(jscan_is_object(doc, e));
	ck_assert(jscan_is_null(doc, jscan_member(doc, e, "b")));
	ck_assert_int_eq(jscan_member(doc, e, "c"), -1);
	e = jscan_next(doc, e);
	ck_assert_str_eq(jscan_string(doc, e), "x\xc3\xa9");
	ck_assert_uint_eq(jscan_length(doc, e), 3);
	ck_assert_int_eq(jscan_next(doc, e), jscan_next(doc, a));
	ck_assert_int_eq(jscan_next(doc, a), jscan_member(doc, root, "c") - 1);

	/* Empty containers. */
	ck_assert(jscan_is_object(doc, jscan_member(doc, root, "c")));
	ck_assert_uint_eq(jscan_size(doc, jscan_member(doc, root, "c")), 0);
	ck_assert_int_eq(jscan_first(doc, jscan_member(doc, root, "c")), -1);
	ck_assert(jscan_is_array(doc, jscan_member(doc, root, "d")));
	ck_assert_int_eq(jscan_first(doc, jscan_member(doc, root, "d")), -1);

	/* Numbers and literals. */
	e = jscan_member(doc, root, "e");
	ck_assert(jscan_is_int(doc, e));
	ck_assert_int_eq(jscan_int(doc, e), 0);
	e = jscan_member(doc, root, "f");
	ck_assert_int_eq(jscan_type(doc, e), JSCAN_NUMBER);
	ck_assert(!jscan_is_int(doc, e));
	ck_assert_int_eq(jscan_int(doc, e), 0);
	ck_assert_ptr_null(jscan_string(doc, e));
	ck_assert_int_eq(jscan_type(doc, jscan_member(doc, root, "g")),
	    JSCAN_TRUE);
	ck_assert_int_eq(jscan_type(doc, jscan_member(doc, root, "h")),
	    JSCAN_FALSE);
	ck_assert(jscan_int(doc, jscan_member(doc, root, "i")) == INT64_MIN);

	/* Keys are found decoded; escapes decode to their bytes. */
	ck_assert_str_eq(jscan_string(doc, jscan_member(doc, root,
	    "\xc3\xa9")), "\"\\/\b\f\n\r\t\xf0\x9f\x98\x80");
	ck_assert_int_eq(jscan_member(doc, root, "\\u00e9"), -1);

	/* -1 and other types answer nothing. */
	ck_assert_int_eq(jscan_type(doc, -1), JSCAN_NONE);
	ck_assert(!jscan_is_object(doc, -1));
	ck_assert(!jscan_is_array(doc, -1));
	ck_assert(!jscan_is_string(doc, -1));
	ck_assert(!jscan_is_null(doc, -1));
	ck_assert(!jscan_is_int(doc, -1));
	ck_assert_ptr_null(jscan_string(doc, -1));
	ck_assert_uint_eq(jscan_length(doc, -1), 0);
	ck_assert_uint_eq(jscan_size(doc, -1), 0);
	ck_assert_int_eq(jscan_int(doc, -1), 0);
	ck_assert_int_eq(jscan_first(doc, -1), -1);
	ck_assert_int_eq(jscan_next(doc, -1), -1);
	ck_assert_int_eq(jscan_member(doc, -1, "a"), -1);
	ck_assert_int_eq(jscan_member(doc, a, "a"), -1);
	ck_assert_int_eq(jscan_type(doc, 100000), JSCAN_NONE);
	ck_assert_uint_eq(jscan_size(doc, jscan_member(doc, root, "g")), 0);
	jscan_free(doc);
}
END_TEST

START_TEST(test_jscan_nul)
{
	static const char	 text[] =
	    "{\"s\":\"a\\u0000b\",\"a\":1,\"a\\u0000\":2,\"a\\u0000b\":3,"
	    "\"z\":\"\\u0000\"}";
	struct buf		*b;
	struct jscan		*doc;
	char			 err[128], member[32];
	int			 v, i;

	doc = jscan_new(text, sizeof(text) - 1, err, sizeof(err), NULL);
	ck_assert_msg(doc != NULL, "%s", err);
	/* The whole value, and still a terminator after it. */
	v = jscan_member(doc, 0, "s");
	ck_assert_uint_eq(jscan_length(doc, v), 3);
	ck_assert(memcmp(jscan_string(doc, v), "a\0b", 4) == 0);
	v = jscan_member(doc, 0, "z");
	ck_assert_uint_eq(jscan_length(doc, v), 1);
	ck_assert(memcmp(jscan_string(doc, v), "\0", 2) == 0);
	/* Three keys, not one: "a" is only the key that is "a". */
	ck_assert_uint_eq(jscan_size(doc, 0), 5);
	ck_assert_int_eq(jscan_int(doc, jscan_member(doc, 0, "a")), 1);
	v = jscan_next(doc, jscan_first(doc, 0));
	ck_assert_uint_eq(jscan_length(doc, jscan_next(doc, v)), 2);
	jscan_free(doc);

	/* The same in an object large enough for the hash set. */
	b = buf_new(0);
	ck_assert_int_eq(buf_putc(b, '{'), 0);
	for (i = 0; i < 40; i++) {
		snprintf(member, sizeof(member), "%s\"k\\u0000%d\":%d",
		    i > 0 ? "," : "", i, i);
		ck_assert_int_eq(buf_puts(b, member), 0);
	}
	ck_assert_int_eq(buf_puts(b, ",\"k\":40}"), 0);
	doc = jscan_new(b->data, b->len, err, sizeof(err), NULL);
	ck_assert_msg(doc != NULL, "%s", err);
	ck_assert_uint_eq(jscan_size(doc, 0), 41);
	ck_assert_int_eq(jscan_int(doc, jscan_member(doc, 0, "k")), 40);
	jscan_free(doc);
	b->data[--b->len] = '\0';
	ck_assert_int_eq(buf_puts(b, ",\"k\\u000037\":0}"), 0);
	ck_assert_ptr_null(jscan_new(b->data, b->len, err, sizeof(err),
	    NULL));
	ck_assert_str_eq(err, "duplicate object key near '\"k\\u000037\"'");
	buf_free(b);
}
END_TEST

START_TEST(test_jscan_lone_surrogates)
{
	static const struct {
		const char	*text, *want;
	} cases[] = {
		{ "\"\\ud83d!\"", "\xef\xbf\xbd!" },
		{ "\"\\ude00\"", "\xef\xbf\xbd" },
		{ "\"\\ude00\\ud83d\"", "\xef\xbf\xbd\xef\xbf\xbd" },
		/* A pair after a lone high one is still a pair. */
		{ "\"\\ud83d\\ud83d\\ude00\"",
		    "\xef\xbf\xbd\xf0\x9f\x98\x80" },
		{ "\"a\\ud800\\u0041\"", "a\xef\xbf\xbd" "A" },
	};
	struct jscan	*doc;
	char		 err[128];
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		doc = jscan_new(cases[i].text, strlen(cases[i].text), err,
		    sizeof(err), NULL);
		ck_assert_msg(doc != NULL, "%s: %s", cases[i].text, err);
		ck_assert_str_eq(jscan_string(doc, 0), cases[i].want);
		ck_assert_uint_eq(jscan_length(doc, 0), strlen(cases[i].want));
		jscan_free(doc);
	}
}
END_TEST

START_TEST(test_jscan_many_tokens)
{
	struct buf	*b = buf_new(0);
	struct jscan	*doc;
	char		 err[128];
	int		 i, e;

	/* Far more tokens than the first guess: the array moves and grows. */
	ck_assert_int_eq(buf_putc(b, '['), 0);
	for (i = 0; i < 20000; i++)
		ck_assert_int_eq(buf_puts(b, i > 0 ? ",0" : "0"), 0);
	ck_assert_int_eq(buf_puts(b, ",[\"last\"]]"), 0);
	doc = jscan_new(b->data, b->len, err, sizeof(err), NULL);
	ck_assert_msg(doc != NULL, "%s", err);
	ck_assert_uint_eq(jscan_size(doc, 0), 20001);
	for (i = 0, e = jscan_first(doc, 0); i < 20000; i++)
		e = jscan_next(doc, e);
	ck_assert_str_eq(jscan_string(doc, jscan_first(doc, e)), "last");
	jscan_free(doc);
	buf_free(b);
}
END_TEST

/* n levels of [ (arrays) or {"k": (objects) around 1. */
static struct buf *
nested(int n, bool objects)
{
	struct buf	*b = buf_new(0);
	int		 i;

	for (i = 0; i < n; i++)
		ck_assert_int_eq(buf_puts(b, objects ? "{\"k\":" : "["), 0);
	ck_assert_int_eq(buf_putc(b, '1'), 0);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(buf_putc(b, objects ? '}' : ']'), 0);
	return b;
}

START_TEST(test_jscan_depth)
{
	struct buf	*b;
	struct jscan	*doc;
	char		 err[128];
	size_t		 offset;
	int		 objects;

	for (objects = 0; objects < 2; objects++) {
		b = nested(JSCAN_MAX_DEPTH, objects);
		doc = jscan_new(b->data, b->len, err, sizeof(err), &offset);
		ck_assert_msg(doc != NULL, "%s", err);
		jscan_free(doc);
		buf_free(b);

		b = nested(JSCAN_MAX_DEPTH + 1, objects);
		ck_assert_ptr_null(jscan_new(b->data, b->len, err, sizeof(err),
		    &offset));
		ck_assert_str_eq(err, "nesting too deep");
		ck_assert_uint_eq(offset, objects ? 5 * JSCAN_MAX_DEPTH :
		    JSCAN_MAX_DEPTH);
		buf_free(b);
	}

	/* Depth is what is open at once, not how many containers. */
	b = buf_new(0);
	ck_assert_int_eq(buf_puts(b, "[{\"a\":"), 0);
	for (objects = 0; objects < 62; objects++)
		ck_assert_int_eq(buf_putc(b, '['), 0);
	for (objects = 0; objects < 62; objects++)
		ck_assert_int_eq(buf_putc(b, ']'), 0);
	ck_assert_int_eq(buf_puts(b, ",\"b\":"), 0);
	for (objects = 0; objects < 62; objects++)
		ck_assert_int_eq(buf_putc(b, '['), 0);
	for (objects = 0; objects < 62; objects++)
		ck_assert_int_eq(buf_putc(b, ']'), 0);
	ck_assert_int_eq(buf_puts(b, "}]"), 0);
	doc = jscan_new(b->data, b->len, err, sizeof(err), &offset);
	ck_assert_msg(doc != NULL, "%s", err);
	jscan_free(doc);
	buf_free(b);
}
END_TEST

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* {"k0000000":0,...} with n keys; key dup (if >= 0) written escaped last. */
static struct buf *
many_keys(int n, int dup)
{
	struct buf	*b = buf_new(0);
	char		 member[64];
	int		 i;

	ck_assert_int_eq(buf_putc(b, '{'), 0);
	for (i = 0; i < n; i++) {
		if (dup >= 0 && i == n - 1)
			snprintf(member, sizeof(member), ",\"\\u006b%07d\":%d",
			    dup, i);
		else
			snprintf(member, sizeof(member), "%s\"k%07d\":%d",
			    i > 0 ? "," : "", i, i);
		ck_assert_int_eq(buf_puts(b, member), 0);
	}
	ck_assert_int_eq(buf_putc(b, '}'), 0);
	return b;
}

START_TEST(test_jscan_many_keys)
{
	struct buf	*b;
	struct jscan	*doc;
	char		 err[128], want[64];
	size_t		 offset;
	double		 took;
	int		 v;

	/* About 1.6 MiB, 100,000 keys: linear, so milliseconds. */
	b = many_keys(100000, -1);
	took = now_s();
	doc = jscan_new(b->data, b->len, err, sizeof(err), &offset);
	took = now_s() - took;
	ck_assert_msg(doc != NULL, "%s", err);
	ck_assert_msg(took < 2.0, "100,000 keys took %.3f s", took);
	ck_assert_uint_eq(jscan_size(doc, 0), 100000);
	v = jscan_member(doc, 0, "k0099999");
	ck_assert_int_eq(jscan_int(doc, v), 99999);
	ck_assert_int_eq(jscan_int(doc, jscan_member(doc, 0, "k0000000")), 0);
	ck_assert_int_eq(jscan_member(doc, 0, "k0100000"), -1);
	jscan_free(doc);
	buf_free(b);

	/* A duplicate far in, of a key from the start, is caught there. */
	b = many_keys(100000, 5);
	ck_assert_ptr_null(jscan_new(b->data, b->len, err, sizeof(err),
	    &offset));
	ck_assert_str_eq(err,
	    "duplicate object key near '\"\\u006b0000005\"'");
	snprintf(want, sizeof(want), ",\"\\u006b%07d\"", 5);
	/* ,"\u006b0000005" then :99999} closes the text. */
	ck_assert_uint_eq(offset, b->len - 7 - strlen(want) + 1);
	ck_assert(memcmp(b->data + offset, want + 1, strlen(want) - 1) == 0);
	buf_free(b);

	/* Around the switch from comparing to hashing. */
	for (v = 14; v < 20; v++) {
		b = many_keys(v, v - 2);
		ck_assert_ptr_null(jscan_new(b->data, b->len, err,
		    sizeof(err), &offset));
		ck_assert_msg(strncmp(err, "duplicate object key", 20) == 0,
		    "%d keys: %s", v, err);
		buf_free(b);
		b = many_keys(v, 0);
		ck_assert_ptr_null(jscan_new(b->data, b->len, err,
		    sizeof(err), &offset));
		buf_free(b);
		b = many_keys(v, -1);
		doc = jscan_new(b->data, b->len, err, sizeof(err), &offset);
		ck_assert_msg(doc != NULL, "%d keys: %s", v, err);
		jscan_free(doc);
		buf_free(b);
	}
}
END_TEST

/*
 * An object of 20 keys whose last member, "x", is inner; then, when tail is
 * not NULL, one more member.
 */
static struct buf *
around(const struct buf *inner, const char *tail)
{
	struct buf	*b = many_keys(20, -1);

	b->data[--b->len] = '\0';	/* the closing brace */
	ck_assert_int_eq(buf_puts(b, ",\"x\":"), 0);
	ck_assert_int_eq(buf_append(b, inner->data, inner->len), 0);
	if (tail != NULL)
		ck_assert_int_eq(buf_puts(b, tail), 0);
	ck_assert_int_eq(buf_putc(b, '}'), 0);
	return b;
}

START_TEST(test_jscan_many_keys_nested)
{
	struct buf	*b, *inner;
	struct jscan	*doc;
	char		 err[128];
	size_t		 offset;
	int		 x;

	/* Two large objects open at once, with the same keys: no duplicate. */
	inner = many_keys(40, -1);
	b = around(inner, NULL);
	doc = jscan_new(b->data, b->len, err, sizeof(err), &offset);
	ck_assert_msg(doc != NULL, "%s", err);
	ck_assert_uint_eq(jscan_size(doc, 0), 21);
	x = jscan_member(doc, 0, "x");
	ck_assert_uint_eq(jscan_size(doc, x), 40);
	ck_assert_int_eq(jscan_int(doc, jscan_member(doc, x, "k0000039")), 39);
	ck_assert_int_eq(jscan_member(doc, 0, "k0000039"), -1);
	jscan_free(doc);
	buf_free(b);

	/* After the inner one closes, its keys are not the outer one's. */
	b = around(inner, ",\"k0000030\":1");
	doc = jscan_new(b->data, b->len, err, sizeof(err), &offset);
	ck_assert_msg(doc != NULL, "%s", err);
	jscan_free(doc);
	buf_free(b);
	b = around(inner, ",\"k0000019\":1");
	ck_assert_ptr_null(jscan_new(b->data, b->len, err, sizeof(err),
	    &offset));
	ck_assert_str_eq(err, "duplicate object key near '\"k0000019\"'");
	ck_assert_uint_eq(offset, b->len - 13);
	buf_free(b);
	buf_free(inner);

	/* A duplicate inside the inner one is the inner one's. */
	inner = many_keys(40, 3);
	b = around(inner, NULL);
	ck_assert_ptr_null(jscan_new(b->data, b->len, err, sizeof(err),
	    &offset));
	ck_assert_str_eq(err,
	    "duplicate object key near '\"\\u006b0000003\"'");
	buf_free(b);
	buf_free(inner);
}
END_TEST

/* The nesting depth just before text[offset]. */
static int
depth_at(const char *text, size_t offset)
{
	size_t	 i;
	bool	 in_string = false;
	int	 depth = 0;

	for (i = 0; i < offset; i++) {
		if (in_string) {
			if (text[i] == '\\')
				i++;
			else if (text[i] == '"')
				in_string = false;
		} else if (text[i] == '"')
			in_string = true;
		else if (text[i] == '[' || text[i] == '{')
			depth++;
		else if (text[i] == ']' || text[i] == '}')
			depth--;
	}
	return depth;
}

/* What jscan found at tok is what jansson found, j. */
static void
same_tree(const char *what, const struct jscan *doc, int tok, const json_t *j)
{
	const json_t	*v;
	size_t		 i, n = jscan_size(doc, tok);
	int		 k;

	switch (jscan_type(doc, tok)) {
	case JSCAN_OBJECT:
		if (!json_is_object(j) || json_object_size(j) != n)
			ck_abort_msg("%s: object of %zu", what, n);
		for (i = 0, k = jscan_first(doc, tok); i < n;
		    i++, k = jscan_next(doc, k)) {
			v = json_object_getn(j, jscan_string(doc, k),
			    jscan_length(doc, k));
			if (v == NULL)
				ck_abort_msg("%s: key %s", what,
				    jscan_string(doc, k));
			same_tree(what, doc, k + 1, v);
		}
		if (n > 0 && k != jscan_next(doc, tok))
			ck_abort_msg("%s: object ends at %d, not %d", what, k,
			    jscan_next(doc, tok));
		break;
	case JSCAN_ARRAY:
		if (!json_is_array(j) || json_array_size(j) != n)
			ck_abort_msg("%s: array of %zu", what, n);
		for (i = 0, k = jscan_first(doc, tok); i < n;
		    i++, k = jscan_next(doc, k))
			same_tree(what, doc, k, json_array_get(j, i));
		if (n > 0 && k != jscan_next(doc, tok))
			ck_abort_msg("%s: array ends at %d, not %d", what, k,
			    jscan_next(doc, tok));
		break;
	case JSCAN_STRING:
		if (!json_is_string(j) ||
		    json_string_length(j) != jscan_length(doc, tok) ||
		    memcmp(json_string_value(j), jscan_string(doc, tok),
		    jscan_length(doc, tok)) != 0 ||
		    jscan_string(doc, tok)[jscan_length(doc, tok)] != '\0')
			ck_abort_msg("%s: string %s", what,
			    jscan_string(doc, tok));
		break;
	case JSCAN_NUMBER:
		if (jscan_is_int(doc, tok) ? !json_is_integer(j) ||
		    json_integer_value(j) != jscan_int(doc, tok) :
		    !json_is_real(j))
			ck_abort_msg("%s: number %lld", what,
			    (long long)jscan_int(doc, tok));
		break;
	case JSCAN_TRUE:
		if (!json_is_true(j))
			ck_abort_msg("%s: true", what);
		break;
	case JSCAN_FALSE:
		if (!json_is_false(j))
			ck_abort_msg("%s: false", what);
		break;
	case JSCAN_NULL:
		if (!json_is_null(j))
			ck_abort_msg("%s: null", what);
		break;
	case JSCAN_NONE:
		ck_abort_msg("%s: no token %d", what, tok);
		break;
	}
}

/* Whether an object at or under tok has a key holding a NUL. */
static bool
has_nul_key(const struct jscan *doc, int tok)
{
	size_t	 i, n = jscan_size(doc, tok);
	int	 k;

	for (i = 0, k = jscan_first(doc, tok); i < n;
	    i++, k = jscan_next(doc, k))
		if (jscan_is_object(doc, tok) ?
		    memchr(jscan_string(doc, k), '\0',
		    jscan_length(doc, k)) != NULL ||
		    has_nul_key(doc, k + 1) : has_nul_key(doc, k))
			return true;
	return false;
}

/* The four hex digits at p as a code unit, or -1. */
static long
hex4(const char *p, const char *end)
{
	char	 digits[5], *stop;
	long	 v;

	if (end - p < 4)
		return -1;
	memcpy(digits, p, 4);
	digits[4] = '\0';
	v = strtol(digits, &stop, 16);
	return stop == digits + 4 && digits[0] != '-' && digits[0] != '+' ?
	    v : -1;
}

/*
 * text, which jscan accepted, with each lone surrogate escape written
 * \ufffd, into m.  Returns whether there was one.
 */
static bool
lone_to_fffd(const char *text, size_t len, struct buf *m)
{
	const char	*p = text, *end = text + len;
	bool		 in_string = false, found = false;
	long		 hi, lo;

	buf_reset(m);
	while (p < end) {
		if (*p == '"')
			in_string = !in_string;
		if (!in_string || *p != '\\' || end - p < 2) {
			buf_append(m, p++, 1);
			continue;
		}
		if (p[1] != 'u' || (hi = hex4(p + 2, end)) < 0xd800 ||
		    hi > 0xdfff) {
			buf_append(m, p, 2);
			p += 2;
			continue;
		}
		if (hi <= 0xdbff && end - p >= 12 && p[6] == '\\' &&
		    p[7] == 'u' && (lo = hex4(p + 8, end)) >= 0xdc00 &&
		    lo <= 0xdfff) {
			buf_append(m, p, 12);
			p += 12;
			continue;
		}
		buf_puts(m, "\\ufffd");
		p += 6;
		found = true;
	}
	return found;
}

/*
 * jscan accepted text and jansson did not: fine when the reason is a key
 * holding a NUL, or a lone surrogate, which jscan reads as U+FFFD.  With
 * those written \ufffd, jansson must read the same values.
 */
static bool
agree_accepted(const char *what, const struct jscan *doc, const char *text,
    size_t len, const json_error_t *jerr)
{
	struct buf	 m;
	json_t		*j = NULL;
	json_error_t	 e;
	bool		 ok = false;

	if (json_error_code(jerr) == json_error_null_byte_in_key &&
	    has_nul_key(doc, jscan_root(doc)))
		return true;
	buf_init(&m);
	if (!lone_to_fffd(text, len, &m))
		goto done;
	j = json_loadb(m.data, m.len, JSON_REJECT_DUPLICATES |
	    JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	if (j != NULL) {
		same_tree(what, doc, jscan_root(doc), j);
		ok = true;
	} else
		ok = json_error_code(&e) == json_error_null_byte_in_key &&
		    has_nul_key(doc, jscan_root(doc));
done:
	json_decref(j);
	buf_fini(&m);
	return ok;
}

/* How many texts agree() saw, and how many of them both accepted. */
static size_t	 nagreed, naccepted;

static void	 agree(const char *, const char *, size_t);

/*
 * jansson 2.14 reads past the end of a number or literal and pushes the
 * byte back; a NUL pushed back is then lost, so "1\0" parses as "1".
 * jscan refuses every raw NUL.  Whether that is the only difference is
 * whether the text agrees once that NUL is gone.
 */
static bool
agree_lost_nul(const char *what, const char *text, size_t len,
    const char *err, size_t offset)
{
	struct buf	 m;
	unsigned char	 before;

	if (strcmp(err, "control character 0x00") != 0 || offset == 0 ||
	    offset >= len)
		return false;
	before = (unsigned char)text[offset - 1];
	if (!(before >= '0' && before <= '9') && before != 'e' &&
	    before != 'l')
		return false;
	buf_init(&m);
	if (buf_append(&m, text, offset) == -1 ||
	    buf_append(&m, text + offset + 1, len - offset - 1) == -1)
		ck_abort_msg("%s: out of memory", what);
	agree(what, m.data, m.len);
	buf_fini(&m);
	return true;
}

/*
 * jscan and jansson agree on text: both refuse it, or both accept it and
 * hold the same values; or jscan refuses it for nesting deeper than its
 * limit, which jansson allows, or for a NUL that jansson loses; or jscan
 * accepts a key holding \u0000 or a lone surrogate, which jansson
 * refuses (agree_accepted).  Plain
 * ifs, not ck_assert(): this runs hundreds of thousands of times.
 */
static void
agree(const char *what, const char *text, size_t len)
{
	struct jscan	*doc;
	json_t		*j;
	json_error_t	 jerr;
	char		 err[128];
	size_t		 offset = 0;

	doc = jscan_new(text, len, err, sizeof(err), &offset);
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY |
	    JSON_ALLOW_NUL, &jerr);
	nagreed++;
	if (doc == NULL && strcmp(err, "nesting too deep") == 0) {
		if (depth_at(text, offset) != JSCAN_MAX_DEPTH ||
		    (text[offset] != '[' && text[offset] != '{'))
			ck_abort_msg("%s: nesting too deep at %zu: %s", what,
			    offset, shown(text, len));
	} else if (doc == NULL && j != NULL) {
		if (!agree_lost_nul(what, text, len, err, offset))
			ck_abort_msg("%s: jscan %s, jansson accepts: %s", what,
			    err, shown(text, len));
	} else if (doc != NULL && j == NULL) {
		if (!agree_accepted(what, doc, text, len, &jerr))
			ck_abort_msg("%s: jscan accepts, jansson %s: %s", what,
			    jerr.text, shown(text, len));
	}
	else if (doc != NULL) {
		naccepted++;
		same_tree(what, doc, jscan_root(doc), j);
	} else if (offset > len || err[0] == '\0')
		ck_abort_msg("%s: offset %zu of %zu, reason \"%s\"", what,
		    offset, len, err);
	jscan_free(doc);
	json_decref(j);
}

/* xorshift64*, seeded the same every run. */
static uint64_t	 rng_state;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static size_t
rng_below(size_t n)
{
	return n > 0 ? (size_t)(rng() % n) : 0;
}

static const char interesting[] = {
	'"', '\\', '{', '}', '[', ']', ',', ':', 0x00, 0x1f, (char)0x80,
	(char)0xc0, (char)0xed, (char)0xff, '0', '9', '-', '.', 'e', ' ', 'u',
	'a'
};

/* text with len bytes at at replaced by the n bytes ins. */
static void
agree_splice(const char *what, const char *text, size_t len, size_t at,
    size_t cut, const char *ins, size_t n, struct buf *m)
{
	buf_reset(m);
	if (buf_append(m, text, at) == -1 || buf_append(m, ins, n) == -1 ||
	    buf_append(m, text + at + cut, len - at - cut) == -1)
		ck_abort_msg("%s: out of memory", what);
	agree(what, m->data, m->len);
}

/* The file and the same with mutations, always the same ones. */
static void
agree_mutated(const char *name, const char *text, size_t len)
{
	static const char	 dup_escaped[] = "\"a\":1,\"\\u0061\":2,";
	struct buf		 m;
	char			 what[PATH_MAX + 64], c, wrap[16];
	const char		*brace, *q;
	size_t			 i, at, nbraces, keylen;
	int			 k, objects;
	int			 levels[] = { 1, 30, 62, 63, 64, 65, 100 };

	buf_init(&m);
	snprintf(what, sizeof(what), "%s", name);
	agree(what, text, len);
	if (len == 0)
		goto done;

	/* Single and double byte flips to bytes that matter to a parser. */
	snprintf(what, sizeof(what), "%s: flipped", name);
	for (i = 0; i < 120; i++) {
		c = interesting[rng_below(sizeof(interesting))];
		agree_splice(what, text, len, rng_below(len), 1, &c, 1, &m);
		if (i % 3 == 0) {
			c = interesting[rng_below(sizeof(interesting))];
			m.data[rng_below(m.len)] = c;
			agree(what, m.data, m.len);
		}
	}
	snprintf(what, sizeof(what), "%s: inserted or deleted", name);
	for (i = 0; i < 20; i++) {
		c = interesting[rng_below(sizeof(interesting))];
		agree_splice(what, text, len, rng_below(len + 1), 0, &c, 1,
		    &m);
		agree_splice(what, text, len, rng_below(len), 1, "", 0, &m);
	}

	/* Cut short everywhere in a small file, here and there in a big one. */
	snprintf(what, sizeof(what), "%s: truncated", name);
	if (len <= 2048)
		for (at = 0; at < len; at++)
			agree(what, text, at);
	else
		for (i = 0; i < 64; i++)
			agree(what, text, rng_below(len));

	/* A duplicate after each of the first few braces... */
	snprintf(what, sizeof(what), "%s: duplicate inserted", name);
	for (nbraces = 0, brace = memchr(text, '{', len);
	    brace != NULL && nbraces < 8; nbraces++,
	    brace = memchr(brace + 1, '{', len - (size_t)(brace + 1 - text)))
		agree_splice(what, text, len, (size_t)(brace + 1 - text), 0,
		    dup_escaped, sizeof(dup_escaped) - 1, &m);
	/* ...and the first key of the first object again, as written. */
	if ((brace = memchr(text, '{', len)) != NULL &&
	    (q = memchr(brace, '"', len - (size_t)(brace - text))) != NULL) {
		for (keylen = 1; q + keylen < text + len && q[keylen] != '"';
		    keylen++)
			if (q[keylen] == '\\')
				keylen++;
		if (q + keylen < text + len) {
			buf_reset(&m);
			if (buf_append(&m, text, (size_t)(brace + 1 - text)) ==
			    -1 || buf_append(&m, q, keylen + 1) == -1 ||
			    buf_puts(&m, ":null,") == -1 ||
			    buf_append(&m, brace + 1,
			    len - (size_t)(brace + 1 - text)) == -1)
				ck_abort_msg("%s: out of memory", what);
			agree(what, m.data, m.len);
		}
	}

	/* Deep: around the limit, from both sides, in arrays and objects. */
	snprintf(what, sizeof(what), "%s: nested", name);
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		for (objects = 0; objects < 2; objects++) {
			buf_reset(&m);
			snprintf(wrap, sizeof(wrap), "%s",
			    objects ? "{\"k\":" : "[");
			for (k = 0; k < levels[i]; k++)
				buf_puts(&m, wrap);
			buf_append(&m, text, len);
			for (k = 0; k < levels[i]; k++)
				buf_putc(&m, objects ? '}' : ']');
			agree(what, m.data, m.len);
		}
done:
	buf_fini(&m);
}

/* Paths of the files to agree on, collected by nftw(). */
static char	**paths;
static size_t	  npaths;

static int
collect(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	char	**p;

	(void)sb;
	(void)ftw;
	if (flag != FTW_F)
		return 0;
	if ((p = realloc(paths, (npaths + 1) * sizeof(*paths))) == NULL)
		return -1;
	paths = p;
	if ((paths[npaths] = strdup(path)) == NULL)
		return -1;
	npaths++;
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(test_jscan_differential_files)
{
	char		 dir[PATH_MAX];
	const char	*vectors = fixture_vectors_dir();
	struct buf	*body;
	size_t		 i, nown;

	rng_state = 0x9e3779b97f4a7c15ULL;
	nagreed = naccepted = 0;
	snprintf(dir, sizeof(dir), "%s/tests/data", fixture_srcdir());
	ck_assert_int_eq(nftw(dir, collect, 16, FTW_PHYS), 0);
	nown = npaths;
	ck_assert_uint_ge(nown, 60);
	if (vectors != NULL)
		ck_assert_int_eq(nftw(vectors, collect, 16, FTW_PHYS), 0);
	/* The same order, so the same mutations, wherever it runs. */
	qsort(paths, nown, sizeof(*paths), by_name);
	qsort(paths + nown, npaths - nown, sizeof(*paths), by_name);
	for (i = 0; i < npaths; i++) {
		body = fixture_read_path(paths[i]);
		ck_assert_msg(body != NULL, "unable to read %s", paths[i]);
		agree_mutated(paths[i], body->data, body->len);
		buf_free(body);
		free(paths[i]);
	}
	free(paths);
	paths = NULL;
	npaths = 0;
	/* Enough of them valid for the values to have been compared. */
	ck_assert_uint_ge(naccepted, 1000);
	ck_assert_uint_ge(nagreed - naccepted, 10000);
}
END_TEST

/* A small piece of JSON, or of almost JSON. */
struct frag {
	const char	*s;
	size_t		 len;
};

#define FRAG(s)	{ s, sizeof(s) - 1 }

static const struct frag frags[] = {
	FRAG("{"), FRAG("}"), FRAG("["), FRAG("]"), FRAG(","), FRAG(":"),
	FRAG(" "), FRAG("\n"), FRAG("\"a\""), FRAG("\"\\u0061\""),
	FRAG("\"b\""), FRAG("\"\""), FRAG("1"), FRAG("-0"), FRAG("0.5"),
	FRAG("1e400"), FRAG("1e-400"), FRAG("-"), FRAG("01"), FRAG("true"),
	FRAG("null"), FRAG("fals"), FRAG("\"\\ud800\""),
	FRAG("\"\\udc00\\ud800\""), FRAG("\"\\ud800\\udc00\""),
	FRAG("\"\\u0000\""), FRAG("\""), FRAG("\\"), FRAG("\xc3\xa9"),
	FRAG("\xff"), FRAG("\xed\xa0\x80"), FRAG("\0"), FRAG("\t"),
	FRAG("\"\x01\""), FRAG("9223372036854775808"),
	FRAG("-9223372036854775808"), FRAG("\"\\x\""), FRAG("\"\\/\""),
	FRAG("e5"), FRAG("."), FRAG("\"\xc3\xa9\""), FRAG("\"\\u00e9\""),
};

/* Appends a random value, n levels deep at most, keys from a small set. */
static void
gen_value(struct buf *b, int depth)
{
	static const char	*const scalars[] = { "0", "-1", "1.5", "2e3",
	    "true", "false", "null", "\"s\"", "\"\\n\\u00e9\"",
	    "-9223372036854775808", "9223372036854775807", "1E-2" };
	char			 key[32];
	size_t			 i, n;
	int			 choice = (int)rng_below(depth > 0 ? 4 : 2);

	if (choice < 2) {
		buf_puts(b, scalars[rng_below(sizeof(scalars) /
		    sizeof(scalars[0]))]);
		return;
	}
	n = rng_below(rng_below(2) ? 40 : 6);
	buf_putc(b, choice == 2 ? '[' : '{');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(b, ',');
		if (choice == 3) {
			/* Sometimes the same key twice, sometimes escaped. */
			snprintf(key, sizeof(key), rng_below(4) == 0 ?
			    "\"\\u006b%zu\":" : "\"k%zu\":", rng_below(400));
			buf_puts(b, key);
		}
		gen_value(b, depth - 1);
	}
	buf_putc(b, choice == 2 ? ']' : '}');
}

START_TEST(test_jscan_differential_generated)
{
	struct buf	 b;
	size_t		 i, j, n;
	const struct frag *f;

	rng_state = 0x243f6a8885a308d3ULL;
	nagreed = naccepted = 0;
	buf_init(&b);
	for (i = 0; i < 30000; i++) {
		buf_reset(&b);
		for (j = 0, n = 1 + rng_below(10); j < n; j++) {
			f = &frags[rng_below(sizeof(frags) / sizeof(frags[0]))];
			buf_append(&b, f->s, f->len);
		}
		agree("fragments", b.data, b.len);
	}
	for (i = 0; i < 3000; i++) {
		buf_reset(&b);
		gen_value(&b, 4);
		agree("generated", b.data, b.len);
	}
	buf_fini(&b);
	ck_assert_uint_ge(naccepted, 2000);
}
END_TEST

/* Reals around the largest finite double: strtod()'s answer, exactly. */
START_TEST(test_jscan_differential_real_max)
{
	/* 2^1024 - 2^970, which rounds to infinity, as 309 digits. */
	static const char	 max[] =
	    "179769313486231580793728971405303415079934132710037826936173778980"
	    "444968292764750946649017977587207096330286416692887910946555547851"
	    "940402630657488671505820681908902000708383676273854845817711531764"
	    "475730270069855571366959622842914819860834936475292719074168444365"
	    "510704342711559699508093042880177904174497792";
	static const struct {
		const char	*before, *after;
		bool		 over;
	} forms[] = {
		{ "", ".0", true },
		{ "-", ".0", true },
		{ "", "e0", true },
		{ "", "0e-1", true },
		{ "0.", "e309", true },
		{ "0.000", "e312", true },
		{ "", "0000001e-7", true },
		{ "", ".000000000000000000000000000000000001", true },
		{ "0.", "e308", false },
		{ "0.", "e310", true },
	};
	char		 text[512], low[sizeof(max)];
	struct jscan	*doc;
	size_t		 i;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		snprintf(text, sizeof(text), "%s%s%s", forms[i].before, max,
		    forms[i].after);
		doc = jscan_new(text, strlen(text), NULL, 0, NULL);
		ck_assert_msg((doc == NULL) == forms[i].over, "%s", text);
		jscan_free(doc);
		agree("real max", text, strlen(text));
	}
	/* One less, at the last digit: rounds down to DBL_MAX. */
	memcpy(low, max, sizeof(max));
	low[sizeof(max) - 2]--;
	snprintf(text, sizeof(text), "%s.0", low);
	doc = jscan_new(text, strlen(text), NULL, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	jscan_free(doc);
	agree("real max - 1", text, strlen(text));
	snprintf(text, sizeof(text), "%s.999999999999999999999", low);
	agree("real max - 0.000...1", text, strlen(text));
	snprintf(text, sizeof(text), "0.%se309", low);
	agree("real max - 1, exponent", text, strlen(text));
	snprintf(text, sizeof(text), "[1.7976931348623158e308,"
	    "1.797693134862315807937e308,1.797693134862315807938e308]");
	agree("real max, short", text, strlen(text));
}
END_TEST

/* Each rule, checked against jansson as well as against the table. */
START_TEST(test_jscan_differential_rules)
{
	const struct scan_case	*c = &scan_cases[_i];

	agree("rules", c->text, c->len);
}
END_TEST

Suite *
suite_jscan(void)
{
	Suite	*s = suite_create("jscan");
	TCase	*tc;

	tc = tcase_create("rules");
	tcase_add_loop_test(tc, test_jscan_rules, 0, NSCAN);
	tcase_add_test(tc, test_jscan_reason_buffer);
	tcase_add_test(tc, test_jscan_tree);
	tcase_add_test(tc, test_jscan_nul);
	tcase_add_test(tc, test_jscan_lone_surrogates);
	tcase_add_test(tc, test_jscan_many_tokens);
	tcase_add_test(tc, test_jscan_depth);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_jscan_many_keys);
	tcase_add_test(tc, test_jscan_many_keys_nested);
	suite_add_tcase(s, tc);

	/* Slow under valgrind and the sanitizers, a second or so without. */
	tc = tcase_create("differential");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_jscan_differential_rules, 0, NSCAN);
	tcase_add_test(tc, test_jscan_differential_real_max);
	tcase_add_test(tc, test_jscan_differential_generated);
	tcase_add_test(tc, test_jscan_differential_files);
	suite_add_tcase(s, tc);
	return s;
}
