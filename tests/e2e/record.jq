# record.jq - checks one record (the input) against the callback body it was
# made from ($body[0], via --slurpfile) and the request id ($id), at time
# $now (epoch seconds).  Prints one line per mismatch, nothing when the
# record is right.  The expected normalised fields are derived from the body
# by the rules of DESIGN.md sections 2 and 4, so the same check serves every
# fixture and every shared vector.

def finals:
	["Delivered", "Failed", "Expired", "Aborted", "Rejected", "Cancelled",
	 "Deleted", "Unknown"];

def is_final: . as $s | any(finals[]; . == $s);

# Sinch sends "code": "0"; a decimal integer in a string is that integer.
def as_int: if type == "string" then tonumber else . end;

def present($b; $k): ($b | has($k)) and $b[$k] != null;

# The optional string fields that the body carries (null counts as absent;
# a value of another type stays in the payload only).
def optional($b; $keys):
	reduce ($keys[] | select(present($b; .) and ($b[.] | type) == "string"))
	    as $k ({}; .[$k] = $b[$k]);

# An integer, or a decimal integer in a string.
def intlike:
	type == "number" and . == floor
	or (type == "string" and test("^-?[0-9]+$"));

def optional_keys($kind):
	{ delivery_report: ["client_reference"],
	  recipient_delivery_report: ["operator_status_at", "client_reference",
	    "applied_originator", "encoding", "number_of_message_parts",
	    "operator"],
	  inbound: ["sent_at", "operator_id", "client_reference"],
	  unknown: [] }[$kind];

def expected($b):
	($b.type) as $t
	| if $t == "delivery_report_sms" or $t == "delivery_report_mms" then
		{ kind: "delivery_report",
		  channel: ($t | ltrimstr("delivery_report_")),
		  batch_id: $b.batch_id,
		  total_message_count: ($b.total_message_count | as_int),
		  final: (($b.statuses | length) > 0
		      and all($b.statuses[]; .status | is_final)) }
		+ optional($b; optional_keys("delivery_report"))
	elif $t == "recipient_delivery_report_sms"
	    or $t == "recipient_delivery_report_mms" then
		{ kind: "recipient_delivery_report",
		  channel: ($t | ltrimstr("recipient_delivery_report_")),
		  batch_id: $b.batch_id,
		  recipient: $b.recipient,
		  status: $b.status,
		  code: ($b.code | as_int),
		  final: ($b.status | is_final),
		  at: $b.at }
		+ optional($b; optional_keys("recipient_delivery_report"))
		+ (if present($b; "number_of_message_parts")
		    and ($b.number_of_message_parts | intlike) then
			{ number_of_message_parts:
			    ($b.number_of_message_parts | as_int) }
		   else {} end)
	elif $t == "mo_text" or $t == "mo_binary" or $t == "mo_media" then
		{ kind: "inbound",
		  channel: (if $t == "mo_media" then "mms" else "sms" end),
		  message_id: $b.id,
		  from: $b.from,
		  to: $b.to,
		  at: $b.received_at }
		+ optional($b; optional_keys("inbound"))
	else
		{ kind: "unknown" }
	end
	| .type = $t;

def ms_timestamp:
	type == "string"
	and test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$");

. as $r
| $body[0] as $b
| expected($b) as $e
| if ($r | type) != "object" then
	"record is not a JSON object"
  else
	( $e | to_entries[]
	  | select($r[.key] != .value)
	  | "\(.key): record has \($r[.key] | tojson), expected \(.value | tojson)" ),
	( optional_keys($e.kind)[] as $k
	  | select(($e | has($k)) | not)
	  | select($r[$k] != null)
	  | "\($k): absent from the callback, but the record has \($r[$k] | tojson)" ),
	( if ($r | has("payload")) | not then "payload: missing"
	  elif $r.payload != $b then
		"payload: differs from the body received"
	  else empty end ),
	( if $r.id != $id then
		"id: record has \($r.id | tojson), X-Request-Id was \($id | tojson)"
	  else empty end ),
	( if ($r.received_at | ms_timestamp) | not then
		"received_at: \($r.received_at | tojson) is not YYYY-MM-DDTHH:MM:SS.mmmZ"
	  elif (($r.received_at | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601)
	      - $now) as $d | $d > 86400 or $d < -86400 then
		"received_at: \($r.received_at) is more than a day away from now"
	  else empty end )
  end
