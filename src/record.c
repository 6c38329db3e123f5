/*
 * record.c - turns a decoded struct report into the record that every sink
 * receives (DESIGN section 4): one JSON object on one line, normalised
 * fields first in a fixed order, then "payload", the callback as received
 * with only the whitespace between tokens removed.  It writes bytes
 * directly rather than building a tree, since it runs once per callback.
 * Decoding, delivery and the choice of request id are left to others.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "record.h"
#include "report.h"

/* Bytes that cannot appear raw inside a JSON string. */
static bool
record_needs_escape(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\';
}

int
record_json_string(struct buf *out, const char *s, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	/* The five control characters that have a short escape. */
	static const char	 ctl[] = "\n\r\t\b\f", ctl_esc[] = "nrtbf";
	const char		*run, *short_form, *end = s + len;
	char			 esc[6] = { '\\', 'u', '0', '0' };
	size_t			 n;
	unsigned char		 c;
	int			 ret = -1;

	if (buf_putc(out, '"') == -1)
		goto done;
	/* NULs too are escaped (\u0000), not an end. */
	for (run = s; s < end; s++) {
		c = (unsigned char)*s;
		if (!record_needs_escape(c))
			continue;
		if (buf_append(out, run, (size_t)(s - run)) == -1)
			goto done;
		run = s + 1;
		n = 2;
		if (c == '"' || c == '\\')
			esc[1] = (char)c;
		else if ((short_form = memchr(ctl, c, 5)) != NULL)
			esc[1] = ctl_esc[short_form - ctl];
		else {
			esc[1] = 'u';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			n = 6;
		}
		if (buf_append(out, esc, n) == -1)
			goto done;
	}
	if (buf_append(out, run, (size_t)(s - run)) == -1 ||
	    buf_putc(out, '"') == -1)
		goto done;
	ret = 0;
done:
	return ret;
}

int
record_minify(struct buf *out, const char *body, size_t len)
{
	const char	*p = body, *end = body + len;
	char		*dst;
	int		 ret = -1;

	/* Never longer than the body: write straight into the room. */
	if (buf_reserve(out, len) == -1)
		goto done;
	dst = out->data + out->len;
	while (p < end) {
		switch (*p) {
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			p++;
			break;
		case '"':
			/* Copy the string as it is, escapes and all. */
			for (*dst++ = *p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < end)
					*dst++ = *p++;
				*dst++ = *p;
			}
			if (p < end)
				*dst++ = *p++;
			break;
		default:
			*dst++ = *p++;
			break;
		}
	}
	out->len = (size_t)(dst - out->data);
	out->data[out->len] = '\0';
	ret = 0;
done:
	return ret;
}

/* Writes v in decimal, at least width digits, ending at *end. */
static char *
record_digits(char *end, uint64_t v, int width)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
		width--;
	} while (v > 0 || width > 0);
	return end;
}

static int
record_int(struct buf *out, int64_t v)
{
	char	 tmp[24], *end = tmp + sizeof(tmp), *p;

	p = record_digits(end, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, 1);
	if (v < 0)
		*--p = '-';
	return buf_append(out, p, (size_t)(end - p));
}

/*
 * Appends ts as "YYYY-MM-DDTHH:MM:SS.mmmZ" in UTC, milliseconds truncated.
 * The civil date is computed here (Howard Hinnant's days-to-civil) rather
 * than with gmtime_r(), which takes a process-wide lock in glibc.
 */
static int
record_time(struct buf *out, const struct timespec *ts)
{
	char	 tmp[40], *p;
	int64_t	 secs = (int64_t)ts->tv_sec, days, sod, era, doe, yoe, doy;
	int64_t	 mp, year, month, day, ms;

	days = secs / 86400;
	sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	day = doy - (153 * mp + 2) / 5 + 1;
	month = mp < 10 ? mp + 3 : mp - 9;
	year = yoe + era * 400 + (month <= 2);
	ms = ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000 ?
	    ts->tv_nsec / 1000000 : 0;

	/* Filled from the end: the quote, "Z", milliseconds, ... */
	p = tmp + sizeof(tmp);
	*--p = '"';
	*--p = 'Z';
	p = record_digits(p, (uint64_t)ms, 3);
	*--p = '.';
	p = record_digits(p, (uint64_t)(sod % 60), 2);
	*--p = ':';
	p = record_digits(p, (uint64_t)(sod / 60 % 60), 2);
	*--p = ':';
	p = record_digits(p, (uint64_t)(sod / 3600), 2);
	*--p = 'T';
	p = record_digits(p, (uint64_t)day, 2);
	*--p = '-';
	p = record_digits(p, (uint64_t)month, 2);
	*--p = '-';
	p = record_digits(p, year < 0 ? 0 - (uint64_t)year : (uint64_t)year,
	    4);
	if (year < 0)
		*--p = '-';
	*--p = '"';
	return buf_append(out, p, (size_t)(tmp + sizeof(tmp) - p));
}

/*
 * Appends ,"key":"value", value being len bytes, or nothing when value is
 * NULL.
 */
static int
record_str(struct buf *out, const char *key, const char *value, size_t len)
{
	int	 ret = 0;

	if (value != NULL && (buf_puts(out, key) == -1 ||
	    record_json_string(out, value, len) == -1))
		ret = -1;
	return ret;
}

/* The same for a C string of our own. */
static int
record_cstr(struct buf *out, const char *key, const char *value)
{
	return record_str(out, key, value, value != NULL ? strlen(value) : 0);
}

/* key is the literal ,"name": text; the value is a JSON number. */
static int
record_num(struct buf *out, const char *key, int64_t value)
{
	int	 ret = 0;

	if (buf_puts(out, key) == -1 || record_int(out, value) == -1)
		ret = -1;
	return ret;
}

static int
record_bool(struct buf *out, const char *key, bool value)
{
	int	 ret = 0;

	if (buf_puts(out, key) == -1 ||
	    buf_puts(out, value ? "true" : "false") == -1)
		ret = -1;
	return ret;
}

static int
record_delivery(struct buf *out, const struct report *r)
{
	int	 ret = -1;

	if (record_str(out, ",\"batch_id\":", r->batch_id,
	    r->batch_id_len) == -1 ||
	    record_str(out, ",\"client_reference\":", r->client_reference,
	    r->client_reference_len) == -1 ||
	    record_num(out, ",\"total_message_count\":",
	    r->total_message_count) == -1 ||
	    record_bool(out, ",\"final\":", r->is_final) == -1)
		goto done;
	ret = 0;
done:
	return ret;
}

static int
record_recipient(struct buf *out, const struct report *r)
{
	int	 ret = -1;

	if (record_str(out, ",\"batch_id\":", r->batch_id,
	    r->batch_id_len) == -1 ||
	    record_str(out, ",\"recipient\":", r->recipient,
	    r->recipient_len) == -1 ||
	    record_str(out, ",\"status\":", r->status, r->status_len) == -1 ||
	    record_num(out, ",\"code\":", r->code) == -1 ||
	    record_bool(out, ",\"final\":", r->is_final) == -1 ||
	    record_str(out, ",\"at\":", r->at, r->at_len) == -1 ||
	    record_str(out, ",\"operator_status_at\":", r->operator_status_at,
	    r->operator_status_at_len) == -1 ||
	    record_str(out, ",\"client_reference\":", r->client_reference,
	    r->client_reference_len) == -1 ||
	    record_str(out, ",\"applied_originator\":", r->applied_originator,
	    r->applied_originator_len) == -1 ||
	    record_str(out, ",\"encoding\":", r->encoding,
	    r->encoding_len) == -1)
		goto done;
	if (r->has_parts && record_num(out, ",\"number_of_message_parts\":",
	    r->number_of_message_parts) == -1)
		goto done;
	if (record_str(out, ",\"operator\":", r->operator_name,
	    r->operator_name_len) == -1)
		goto done;
	ret = 0;
done:
	return ret;
}

static int
record_inbound(struct buf *out, const struct report *r)
{
	int	 ret = -1;

	if (record_str(out, ",\"message_id\":", r->message_id,
	    r->message_id_len) == -1 ||
	    record_str(out, ",\"from\":", r->from, r->from_len) == -1 ||
	    record_str(out, ",\"to\":", r->to, r->to_len) == -1 ||
	    record_str(out, ",\"at\":", r->received_at,
	    r->received_at_len) == -1 ||
	    record_str(out, ",\"sent_at\":", r->sent_at,
	    r->sent_at_len) == -1 ||
	    record_str(out, ",\"operator_id\":", r->operator_id,
	    r->operator_id_len) == -1 ||
	    record_str(out, ",\"client_reference\":", r->client_reference,
	    r->client_reference_len) == -1)
		goto done;
	ret = 0;
done:
	return ret;
}

int
record_encode(struct buf *out, const struct report *r, const char *id,
    const struct timespec *received_at, const char *body, size_t len)
{
	size_t	 start = out->len;
	int	 ret = -1;

	/* Not a byte order mark: it would be invalid inside the line. */
	if (r->text_start <= len) {
		body += r->text_start;
		len -= r->text_start;
	}

	/* One allocation for the usual case: the body plus the fields. */
	if (buf_reserve(out, len + 512) == -1 ||
	    buf_puts(out, "{\"received_at\":") == -1 ||
	    record_time(out, received_at) == -1 ||
	    record_cstr(out, ",\"id\":", id) == -1 ||
	    record_cstr(out, ",\"kind\":", report_kind_name(r->kind)) == -1)
		goto done;
	if (r->channel != REPORT_CHANNEL_NONE && record_cstr(out,
	    ",\"channel\":", report_channel_name(r->channel)) == -1)
		goto done;
	if (record_str(out, ",\"type\":", r->type, r->type_len) == -1)
		goto done;
	switch (r->kind) {
	case REPORT_DELIVERY:
		ret = record_delivery(out, r);
		break;
	case REPORT_RECIPIENT:
		ret = record_recipient(out, r);
		break;
	case REPORT_INBOUND:
		ret = record_inbound(out, r);
		break;
	case REPORT_UNKNOWN:
		ret = 0;
		break;
	}
	if (ret == -1)
		goto done;
	ret = -1;
	/* A callback that came through SNS says so. */
	if (r->sns_message_id != NULL && (buf_puts(out,
	    ",\"sns_message_id\":") == -1 || record_json_string(out,
	    r->sns_message_id, strlen(r->sns_message_id)) == -1 ||
	    buf_puts(out, ",\"sns_topic_arn\":") == -1 ||
	    record_json_string(out, r->sns_topic_arn,
	    strlen(r->sns_topic_arn)) == -1))
		goto done;
	if (buf_puts(out, ",\"payload\":") == -1 ||
	    record_minify(out, body, len) == -1 ||
	    buf_puts(out, "}\n") == -1)
		goto done;
	ret = 0;
done:
	/* Never leave half a line behind. */
	if (ret == -1 && out->data != NULL) {
		out->len = start;
		out->data[start] = '\0';
	}
	return ret;
}
