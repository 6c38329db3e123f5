# make_record.jq - turns one Sinch callback body (the input) into the record
# that sinch-webhookd hands to its sinks (README.md "Records", DESIGN.md
# section 4), as the exec sink would write it to a hook's stdin.
# Arguments: --arg id ID --arg received_at TIME.

def finals:
	["Delivered", "Failed", "Expired", "Aborted", "Rejected", "Cancelled",
	 "Deleted", "Unknown"];
def is_final: . as $s | any(finals[]; . == $s);
def as_int: if type == "string" then tonumber else . end;
def copy($b; $keys):
	reduce ($keys[] | select($b[.] != null)) as $k ({}; .[$k] = $b[$k]);

. as $b
| $b.type as $t
| { received_at: $received_at, id: $id }
+ if $t == "delivery_report_sms" or $t == "delivery_report_mms" then
	{ kind: "delivery_report", channel: ($t | ltrimstr("delivery_report_")),
	  type: $t, batch_id: $b.batch_id,
	  total_message_count: ($b.total_message_count | as_int),
	  final: (($b.statuses | length) > 0
	      and all($b.statuses[]; .status | is_final)) }
	+ copy($b; ["client_reference"])
  elif $t == "recipient_delivery_report_sms"
      or $t == "recipient_delivery_report_mms" then
	{ kind: "recipient_delivery_report",
	  channel: ($t | ltrimstr("recipient_delivery_report_")),
	  type: $t, batch_id: $b.batch_id, recipient: $b.recipient,
	  status: $b.status, code: ($b.code | as_int),
	  final: ($b.status | is_final), at: $b.at }
	+ copy($b; ["operator_status_at", "client_reference",
	    "applied_originator", "encoding", "number_of_message_parts",
	    "operator"])
  elif $t == "mo_text" or $t == "mo_binary" or $t == "mo_media" then
	{ kind: "inbound", channel: (if $t == "mo_media" then "mms" else "sms" end),
	  type: $t, message_id: $b.id, from: $b.from, to: $b.to,
	  at: $b.received_at }
	+ copy($b; ["sent_at", "operator_id", "client_reference"])
  else
	{ kind: "unknown", type: $t }
  end
+ { payload: $b }
