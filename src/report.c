/*
 * report.c - decodes the raw body of a Sinch callback into a validated
 * struct report, or explains in one line why it cannot (DESIGN section 2).
 * Strict where meaning would be ambiguous, lenient where Sinch itself is:
 * open status and code sets, decimal integers sent as strings, optional
 * fields absent, null or of an unexpected type.  The body is scanned by
 * jscan.c, whose checks are the strict part; every string in the report
 * points into the scanned document that the report owns, and nothing is
 * copied again.  It leaves authentication, the HTTP status, the record
 * format and the sinks to others.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"
#include "report.h"

/* What a decoded value can turn out to be. */
enum report_int {
	REPORT_INT_OK,
	REPORT_INT_ABSENT,		/* absent or null */
	REPORT_INT_WRONG_TYPE,
	REPORT_INT_RANGE
};

/* Where the field being checked sits, for the reason text. */
struct report_ctx {
	const struct jscan	*doc;
	char			*err;
	size_t			 errlen;
	const char		*parent;	/* "statuses" or NULL */
	size_t			 index;		/* in parent[] */
};

#define REPORT_BODY_OBJECT	0x1	/* mo_media: body is an object */
#define REPORT_NEEDS_UDH	0x2	/* mo_binary */

struct report_type {
	const char		*name;
	enum report_kind	 kind;
	enum report_channel	 channel;
	int			 flags;
};

/* The commonest first: one callback per recipient and message. */
static const struct report_type report_types[] = {
	{ "recipient_delivery_report_sms", REPORT_RECIPIENT, REPORT_SMS, 0 },
	{ "recipient_delivery_report_mms", REPORT_RECIPIENT, REPORT_MMS, 0 },
	{ "delivery_report_sms",	REPORT_DELIVERY, REPORT_SMS,	0 },
	{ "delivery_report_mms",	REPORT_DELIVERY, REPORT_MMS,	0 },
	{ "mo_text",			REPORT_INBOUND,	REPORT_SMS,	0 },
	{ "mo_binary",			REPORT_INBOUND,	REPORT_SMS,
	    REPORT_NEEDS_UDH },
	{ "mo_media",			REPORT_INBOUND,	REPORT_MMS,
	    REPORT_BODY_OBJECT },
};

static const char *const report_final[] = {
	"Delivered", "Failed", "Expired", "Aborted", "Rejected", "Cancelled",
	"Deleted", "Unknown"
};

/* A UTF-8 byte order mark, U+FEFF. */
static const char report_bom[] = "\xef\xbb\xbf";

/* Longest piece of a string value that a reason repeats. */
#define REPORT_EXCERPT	24

/*
 * Replaces control characters with '?' and drops a UTF-8 sequence cut
 * short by truncation, so the reason is one printable line.
 */
static void
report_clean(char *s)
{
	size_t	 len, start, need;

	for (len = 0; s[len] != '\0'; len++)
		if ((unsigned char)s[len] < 0x20 || s[len] == 0x7f)
			s[len] = '?';
	/* Find where the last character starts, then how long it should be. */
	start = len;
	while (start > 0 && len - start < 4 &&
	    ((unsigned char)s[start - 1] & 0xc0) == 0x80)
		start--;
	if (start > 0)
		start--;
	if (((unsigned char)s[start] & 0xe0) == 0xc0)
		need = 2;
	else if (((unsigned char)s[start] & 0xf0) == 0xe0)
		need = 3;
	else if (((unsigned char)s[start] & 0xf8) == 0xf0)
		need = 4;
	else
		need = 0;
	if (len - start < need)
		s[start] = '\0';
}

/* Writes "[<parent>[<index>].]<key>: <msg>" into the reason. */
static void
report_fail(struct report_ctx *ctx, const char *key, const char *msg)
{
	if (ctx->errlen == 0)
		return;
	if (ctx->parent == NULL)
		snprintf(ctx->err, ctx->errlen, "%s: %s", key, msg);
	else
		snprintf(ctx->err, ctx->errlen, "%s[%zu].%s: %s", ctx->parent,
		    ctx->index, key, msg);
	report_clean(ctx->err);
}

/*
 * A required string.  Returns 0 with *out and its length *len set, or -1
 * with the reason.  Null counts as missing.
 */
static int
report_req_str(struct report_ctx *ctx, int obj, const char *key,
    const char **out, size_t *len)
{
	int	 v = jscan_member(ctx->doc, obj, key), ret = -1;

	if (v == -1 || jscan_is_null(ctx->doc, v))
		report_fail(ctx, key, "missing required field");
	else if (!jscan_is_string(ctx->doc, v))
		report_fail(ctx, key, "expected a string");
	else {
		*out = jscan_string(ctx->doc, v);
		*len = jscan_length(ctx->doc, v);
		ret = 0;
	}
	return ret;
}

/*
 * An optional string: NULL when absent, null or not a string; its length
 * in *len (0 for NULL).
 */
static const char *
report_opt_str(const struct report_ctx *ctx, int obj, const char *key,
    size_t *len)
{
	int	 v = jscan_member(ctx->doc, obj, key);

	*len = jscan_length(ctx->doc, v);
	return jscan_string(ctx->doc, v);
}

/*
 * Reads v as an integer in [min, max]: a JSON integer, or a JSON string
 * holding exactly -?[0-9]+ (Sinch's documentation sends "code": "0").
 */
static enum report_int
report_int_value(const struct jscan *doc, int v, int64_t min, int64_t max,
    int32_t *out)
{
	const char	*p, *end;
	int64_t		 n = 0;
	bool		 neg;
	enum report_int	 ret = REPORT_INT_WRONG_TYPE;

	if (v == -1 || jscan_is_null(doc, v)) {
		ret = REPORT_INT_ABSENT;
		goto done;
	}
	if (jscan_is_int(doc, v))
		n = jscan_int(doc, v);
	else if (jscan_is_string(doc, v)) {
		/* Every byte counts: "1\u00002" is not 1. */
		p = jscan_string(doc, v);
		end = p + jscan_length(doc, v);
		if ((neg = (p < end && *p == '-')))
			p++;
		if (p == end)
			goto done;
		for (; p < end; p++) {
			if (*p < '0' || *p > '9')
				goto done;
			/* Past 10 digits it is out of range either way. */
			if (n <= 9999999999LL)
				n = n * 10 + (*p - '0');
		}
		if (neg)
			n = -n;
	} else
		goto done;
	if (n < min || n > max)
		ret = REPORT_INT_RANGE;
	else {
		*out = (int32_t)n;
		ret = REPORT_INT_OK;
	}
done:
	return ret;
}

/*
 * An integer field in [min, max].  Returns 0, or -1 with the reason.  An
 * optional one (has != NULL) that is absent, null or of another type
 * leaves *has false; out of range it is an error all the same.
 */
static int
report_int(struct report_ctx *ctx, int obj, const char *key, int64_t min,
    int64_t max, int32_t *out, bool *has)
{
	const struct jscan	*doc = ctx->doc;
	const char		*s;
	char			 msg[REPORT_EXCERPT + 32];
	int			 v = jscan_member(doc, obj, key), ret = -1;

	if (has != NULL)
		*has = false;
	switch (report_int_value(doc, v, min, max, out)) {
	case REPORT_INT_OK:
		if (has != NULL)
			*has = true;
		ret = 0;
		break;
	case REPORT_INT_ABSENT:
		if (has != NULL)
			ret = 0;
		else
			report_fail(ctx, key, "missing required field");
		break;
	case REPORT_INT_WRONG_TYPE:
		if (has != NULL)
			ret = 0;
		else
			report_fail(ctx, key, "expected an integer");
		break;
	case REPORT_INT_RANGE:
		/* The value as written, shortened if it is a long string. */
		if (jscan_is_int(doc, v))
			snprintf(msg, sizeof(msg), "%lld out of range",
			    (long long)jscan_int(doc, v));
		else if (jscan_length(doc, v) > REPORT_EXCERPT) {
			s = jscan_string(doc, v);
			snprintf(msg, sizeof(msg), "%.*s... out of range",
			    REPORT_EXCERPT, s);
		} else
			snprintf(msg, sizeof(msg), "%s out of range",
			    jscan_string(doc, v));
		report_fail(ctx, key, msg);
		break;
	}
	return ret;
}

static int
report_decode_status(struct report_ctx *ctx, int v, struct report_status *st)
{
	int	 recipients, ret = -1;

	if (!jscan_is_object(ctx->doc, v)) {
		/* Name the element itself, not a key inside it. */
		if (ctx->errlen > 0) {
			snprintf(ctx->err, ctx->errlen,
			    "%s[%zu]: expected an object", ctx->parent,
			    ctx->index);
			report_clean(ctx->err);
		}
		goto done;
	}
	if (report_int(ctx, v, "code", INT32_MIN, INT32_MAX, &st->code,
	    NULL) == -1 ||
	    report_req_str(ctx, v, "status", &st->status,
	    &st->status_len) == -1 ||
	    report_int(ctx, v, "count", 0, INT32_MAX, &st->count, NULL) == -1)
		goto done;
	/* jscan_size() is 0 for an object: only an array counts. */
	recipients = jscan_member(ctx->doc, v, "recipients");
	st->nrecipients = jscan_is_array(ctx->doc, recipients) ?
	    jscan_size(ctx->doc, recipients) : 0;
	st->is_final = report_status_is_final(st->status, st->status_len);
	ret = 0;
done:
	return ret;
}

static int
report_decode_delivery(struct report_ctx *ctx, struct report *r)
{
	const struct jscan	*doc = ctx->doc;
	size_t			 i, n;
	bool			 all_final = true;
	int			 root = jscan_root(doc), statuses, v, ret = -1;

	if (report_req_str(ctx, root, "batch_id", &r->batch_id,
	    &r->batch_id_len) == -1 ||
	    report_int(ctx, root, "total_message_count", 0, INT32_MAX,
	    &r->total_message_count, NULL) == -1)
		goto done;
	statuses = jscan_member(doc, root, "statuses");
	if (statuses == -1 || jscan_is_null(doc, statuses)) {
		report_fail(ctx, "statuses", "missing required field");
		goto done;
	}
	if (!jscan_is_array(doc, statuses)) {
		report_fail(ctx, "statuses", "expected an array");
		goto done;
	}
	n = jscan_size(doc, statuses);
	if (n > 0 && (r->statuses = calloc(n, sizeof(*r->statuses))) == NULL) {
		report_fail(ctx, "statuses", "out of memory");
		goto done;
	}
	ctx->parent = "statuses";
	for (i = 0, v = jscan_first(doc, statuses); i < n;
	    i++, v = jscan_next(doc, v)) {
		ctx->index = i;
		if (report_decode_status(ctx, v, &r->statuses[i]) == -1)
			goto done;
		r->nstatuses++;
		all_final = all_final && r->statuses[i].is_final;
	}
	ctx->parent = NULL;
	r->client_reference = report_opt_str(ctx, root, "client_reference",
	    &r->client_reference_len);
	r->is_final = n > 0 && all_final;
	ret = 0;
done:
	return ret;
}

static int
report_decode_recipient(struct report_ctx *ctx, struct report *r)
{
	int	 root = jscan_root(ctx->doc), ret = -1;

	if (report_req_str(ctx, root, "batch_id", &r->batch_id,
	    &r->batch_id_len) == -1 ||
	    report_req_str(ctx, root, "recipient", &r->recipient,
	    &r->recipient_len) == -1 ||
	    report_int(ctx, root, "code", INT32_MIN, INT32_MAX, &r->code,
	    NULL) == -1 ||
	    report_req_str(ctx, root, "status", &r->status,
	    &r->status_len) == -1 ||
	    report_req_str(ctx, root, "at", &r->at, &r->at_len) == -1 ||
	    report_int(ctx, root, "number_of_message_parts", 0, INT32_MAX,
	    &r->number_of_message_parts, &r->has_parts) == -1)
		goto done;
	r->operator_status_at = report_opt_str(ctx, root,
	    "operator_status_at", &r->operator_status_at_len);
	r->client_reference = report_opt_str(ctx, root, "client_reference",
	    &r->client_reference_len);
	r->applied_originator = report_opt_str(ctx, root,
	    "applied_originator", &r->applied_originator_len);
	r->encoding = report_opt_str(ctx, root, "encoding",
	    &r->encoding_len);
	r->operator_name = report_opt_str(ctx, root, "operator",
	    &r->operator_name_len);
	r->is_final = report_status_is_final(r->status, r->status_len);
	ret = 0;
done:
	return ret;
}

static int
report_decode_inbound(struct report_ctx *ctx, struct report *r, int flags)
{
	const struct jscan	*doc = ctx->doc;
	int			 root = jscan_root(doc), body, media, ret = -1;

	if (report_req_str(ctx, root, "id", &r->message_id,
	    &r->message_id_len) == -1 ||
	    report_req_str(ctx, root, "from", &r->from, &r->from_len) == -1 ||
	    report_req_str(ctx, root, "to", &r->to, &r->to_len) == -1 ||
	    report_req_str(ctx, root, "received_at", &r->received_at,
	    &r->received_at_len) == -1)
		goto done;
	if (flags & REPORT_BODY_OBJECT) {
		body = jscan_member(doc, root, "body");
		if (body == -1 || jscan_is_null(doc, body)) {
			report_fail(ctx, "body", "missing required field");
			goto done;
		}
		if (!jscan_is_object(doc, body)) {
			report_fail(ctx, "body", "expected an object");
			goto done;
		}
		r->subject = report_opt_str(ctx, body, "subject",
		    &r->subject_len);
		r->message = report_opt_str(ctx, body, "message",
		    &r->message_len);
		media = jscan_member(doc, body, "media");
		r->nmedia = jscan_is_array(doc, media) ?
		    jscan_size(doc, media) : 0;
	} else if (report_req_str(ctx, root, "body", &r->body,
	    &r->body_len) == -1)
		goto done;
	if ((flags & REPORT_NEEDS_UDH) &&
	    report_req_str(ctx, root, "udh", &r->udh, &r->udh_len) == -1)
		goto done;
	r->sent_at = report_opt_str(ctx, root, "sent_at", &r->sent_at_len);
	r->operator_id = report_opt_str(ctx, root, "operator_id",
	    &r->operator_id_len);
	r->client_reference = report_opt_str(ctx, root, "client_reference",
	    &r->client_reference_len);
	ret = 0;
done:
	return ret;
}

/*
 * Where body[offset] is, for a reason: its line and its column, counted in
 * characters (bytes that do not continue a UTF-8 sequence), both from 1.
 */
static void
report_where(const char *body, size_t offset, size_t *line, size_t *col)
{
	size_t	 i;

	*line = 1;
	*col = 1;
	for (i = 0; i < offset; i++)
		if (body[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)body[i] & 0xc0) != 0x80)
			(*col)++;
}

struct report *
report_decode(const char *body, size_t len, char *err, size_t errlen)
{
	struct report_ctx	 ctx = { NULL, err, errlen, NULL, 0 };
	struct report		*r = NULL;
	struct jscan		*doc;
	char			 why[128];
	size_t			 i, offset, line, col, start = 0;
	int			 flags = 0, ok = -1;

	if (errlen > 0)
		err[0] = '\0';
	if (body == NULL || len == 0) {
		if (errlen > 0)
			snprintf(err, errlen, "empty body");
		goto done;
	}
	/*
	 * RFC 8259 section 8.1 lets a parser ignore one byte order mark; a
	 * second one, or one after whitespace, is an invalid token.
	 */
	if (len >= sizeof(report_bom) - 1 &&
	    memcmp(body, report_bom, sizeof(report_bom) - 1) == 0)
		start = sizeof(report_bom) - 1;
	body += start;
	len -= start;
	if ((doc = jscan_new(body, len, why, sizeof(why), &offset)) == NULL) {
		if (errlen > 0 && errno == ENOMEM)
			snprintf(err, errlen, "out of memory");
		else if (errlen > 0) {
			/* Counted from the text: the mark is not shown. */
			report_where(body, offset, &line, &col);
			snprintf(err, errlen,
			    "invalid JSON: %s at line %zu column %zu", why,
			    line, col);
			report_clean(err);
		}
		goto done;
	}
	/* A scalar gets the same reason as an array, not a parser message. */
	if (!jscan_is_object(doc, jscan_root(doc))) {
		jscan_free(doc);
		if (errlen > 0)
			snprintf(err, errlen, "not a JSON object");
		goto done;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		jscan_free(doc);
		if (errlen > 0)
			snprintf(err, errlen, "out of memory");
		goto done;
	}
	r->doc = doc;
	r->text_start = start;
	ctx.doc = doc;
	if (report_req_str(&ctx, jscan_root(doc), "type", &r->type,
	    &r->type_len) == -1)
		goto done;
	r->kind = REPORT_UNKNOWN;
	r->channel = REPORT_CHANNEL_NONE;
	for (i = 0; i < sizeof(report_types) / sizeof(report_types[0]); i++)
		if (report_string_is(r->type, r->type_len,
		    report_types[i].name)) {
			r->kind = report_types[i].kind;
			r->channel = report_types[i].channel;
			flags = report_types[i].flags;
			break;
		}
	switch (r->kind) {
	case REPORT_DELIVERY:
		ok = report_decode_delivery(&ctx, r);
		break;
	case REPORT_RECIPIENT:
		ok = report_decode_recipient(&ctx, r);
		break;
	case REPORT_INBOUND:
		ok = report_decode_inbound(&ctx, r, flags);
		break;
	case REPORT_UNKNOWN:
		ok = 0;
		break;
	}
done:
	if (ok == -1) {
		report_free(r);
		r = NULL;
	}
	return r;
}

void
report_free(struct report *r)
{
	if (r == NULL)
		return;
	jscan_free(r->doc);
	free(r->statuses);
	free(r->sns_message_id);
	free(r->sns_topic_arn);
	free(r);
}

const char *
report_kind_name(enum report_kind kind)
{
	const char	*name = "unknown";

	switch (kind) {
	case REPORT_DELIVERY:
		name = "delivery_report";
		break;
	case REPORT_RECIPIENT:
		name = "recipient_delivery_report";
		break;
	case REPORT_INBOUND:
		name = "inbound";
		break;
	case REPORT_UNKNOWN:
		break;
	}
	return name;
}

/* Returns "sms", "mms", or "none" for REPORT_CHANNEL_NONE. */
const char *
report_channel_name(enum report_channel channel)
{
	const char	*name = "none";

	switch (channel) {
	case REPORT_SMS:
		name = "sms";
		break;
	case REPORT_MMS:
		name = "mms";
		break;
	case REPORT_CHANNEL_NONE:
		break;
	}
	return name;
}

bool
report_status_is_final(const char *status, size_t len)
{
	size_t	 i;
	bool	 is_final = false;

	for (i = 0; status != NULL && !is_final &&
	    i < sizeof(report_final) / sizeof(report_final[0]); i++)
		is_final = report_string_is(status, len, report_final[i]);
	return is_final;
}

bool
report_string_is(const char *s, size_t len, const char *name)
{
	return strlen(name) == len && memcmp(s, name, len) == 0;
}
