/*
 * report.h - raw callback body -> validated struct report.
 *
 * The decoder is strict where meaning would be ambiguous (not exactly one
 * JSON object, trailing data, duplicate keys, invalid UTF-8, a required
 * field missing or of the wrong type, a number out of range) and lenient
 * where Sinch itself is (open status and code sets, a decimal integer sent
 * as a string, optional fields absent or null).  A well-formed object with
 * a type this version does not know decodes as REPORT_UNKNOWN.  One UTF-8
 * byte order mark before the text is ignored, as RFC 8259 allows.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jscan;

enum report_kind {
	REPORT_DELIVERY,		/* delivery_report_{sms,mms} */
	REPORT_RECIPIENT,	/* recipient_delivery_report_{sms,mms} */
	REPORT_INBOUND,			/* mo_text, mo_binary, mo_media */
	REPORT_UNKNOWN			/* any other type: kept, not decoded */
};

enum report_channel {
	REPORT_CHANNEL_NONE,		/* unknown type */
	REPORT_SMS,
	REPORT_MMS
};

/* One bucket of a batch delivery report's statuses[]. */
struct report_status {
	const char	*status;
	size_t		 status_len;
	int32_t		 code;
	int32_t		 count;
	size_t		 nrecipients;	/* 0 when recipients[] is absent */
	bool		 is_final;
};

/*
 * Every string points into doc, the scanned body, and lives as long as the
 * report; NULL means the field was absent (or null).  A string is
 * NUL-terminated but may hold NULs of its own, from \u0000: its length is
 * the _len beside it, never strlen().  Integer fields come with a has_
 * flag where they are optional.
 */
struct report {
	struct jscan		*doc;		/* owned */
	/* Where the JSON text begins: past a UTF-8 byte order mark, 3. */
	size_t			 text_start;
	enum report_kind	 kind;
	enum report_channel	 channel;
	const char		*type;
	size_t			 type_len;

	/* delivery reports, both kinds */
	const char		*batch_id;
	size_t			 batch_id_len;
	const char		*client_reference;
	size_t			 client_reference_len;

	/* REPORT_DELIVERY */
	int32_t			 total_message_count;
	struct report_status	*statuses;	/* owned, nstatuses long */
	size_t			 nstatuses;

	/* REPORT_RECIPIENT */
	const char		*recipient;
	size_t			 recipient_len;
	const char		*status;
	size_t			 status_len;
	int32_t			 code;
	const char		*at;
	size_t			 at_len;
	const char		*operator_status_at;
	size_t			 operator_status_at_len;
	const char		*applied_originator;
	size_t			 applied_originator_len;
	const char		*encoding;
	size_t			 encoding_len;
	const char		*operator_name;		/* "operator" */
	size_t			 operator_name_len;
	bool			 has_parts;
	int32_t			 number_of_message_parts;

	/*
	 * REPORT_RECIPIENT: the status is final.  REPORT_DELIVERY: statuses[]
	 * is not empty and every bucket is final.
	 */
	bool			 is_final;

	/* REPORT_INBOUND */
	const char		*message_id;		/* "id" */
	size_t			 message_id_len;
	const char		*from;
	size_t			 from_len;
	const char		*to;
	size_t			 to_len;
	const char		*received_at;
	size_t			 received_at_len;
	const char		*sent_at;
	size_t			 sent_at_len;
	const char		*operator_id;
	size_t			 operator_id_len;
	const char		*body;		/* mo_text, mo_binary */
	size_t			 body_len;
	const char		*udh;		/* mo_binary */
	size_t			 udh_len;
	const char		*subject;	/* mo_media body.subject */
	size_t			 subject_len;
	const char		*message;	/* mo_media body.message */
	size_t			 message_len;
	size_t			 nmedia;	/* mo_media body.media[] */

	/*
	 * Set by the caller for a callback that came through AWS SNS (owned,
	 * freed by report_free), NULL otherwise.
	 */
	char			*sns_message_id;
	char			*sns_topic_arn;
};

/*
 * Decodes len bytes of body, after a byte order mark if it starts with one
 * (text_start says where the text began).  Returns a new report, or NULL
 * with a one-line
 * reason in err (for example "invalid JSON: duplicate object key near
 * '"type"' at line 3 column 10" or "recipient: missing required field").
 */
struct report	*report_decode(const char *body, size_t len, char *err,
		    size_t errlen);
void		 report_free(struct report *);

const char	*report_kind_name(enum report_kind);
const char	*report_channel_name(enum report_channel);
/*
 * Whether the len bytes at s, a report's string, are the C string name:
 * "a\0b" is not "a".
 */
bool		 report_string_is(const char *s, size_t len, const char *name);
/* Whether the len bytes at status are a final status; NULL is not. */
bool		 report_status_is_final(const char *status, size_t len);

#endif
