#!/bin/sh
#
# forward-inbound.sh - an exec hook for sinch-webhookd that posts every
# inbound SMS or MMS to a chat channel through an incoming webhook
# (Slack, Mattermost, Rocket.Chat and others accept {"text": "..."}).
#
# The daemon runs it once per report with the record (one JSON line) on
# stdin.  For kind "inbound" it POSTs one message:
#   mo_text    SMS from +46700000001 to 12345: the text
#   mo_binary  SMS from +46700000001 to 12345: (binary message, N bytes base64)
#   mo_media   MMS from +46700000001 to 12345: Subject: ...
#              the message
#              media: https://... (image/jpeg)
# Every other kind exits 0 without a request.
#
# Environment (set it in the sink's env table):
#   FORWARD_URL       the incoming-webhook URL, or
#   FORWARD_URL_FILE  a file whose first line is that URL, so the URL (a
#                     secret: whoever has it can post) need not sit in the
#                     daemon's configuration; read on every run, so a new
#                     URL takes effect without a restart.
#   FORWARD_TIMEOUT   seconds for the whole request, default 10; keep it
#                     below the sink's timeout_ms.
# The URL is handed to curl through a config file descriptor, not the
# command line, so other local users cannot read it in ps.
#
# Exit status, as the exec sink reads it:
#   0   posted (HTTP 2xx), or not an inbound message;
#   65  the record is not one JSON object (EX_DATAERR: the daemon answers
#       422, Sinch drops it): the only report that retrying cannot help;
#   75  anything else (EX_TEMPFAIL: the daemon answers 503, Sinch retries
#       for about a day): connection refused, timeout, HTTP 429 or 5xx, and
#       also every other answer (3xx, 400, 401, 403, 404, 410...).  A 4xx
#       from the chat service says its webhook URL is wrong, revoked or the
#       channel archived: a configuration problem on our side, not a fault
#       of this message.  Answering 65 would make Sinch drop every inbound
#       message until someone notices; answering 75 keeps them in Sinch's
#       retry queue while the URL is fixed.  Also 75: no URL configured,
#       curl or jq missing.
#
# Posting is not idempotent (chat webhooks have no idempotency key): the
# daemon does not run the hook again for a callback it already took, but a
# hook killed after the post and before its exit would post twice when
# Sinch retries.  A duplicate chat line is the lesser evil.
#
# Text from the network is escaped for Slack (& < > become &amp; &lt;
# &gt;), so an SMS cannot ping the channel with <!channel> or disguise a
# link; Markdown renderers such as Mattermost's show the entities as the
# plain characters.  The JSON body is built by jq, never by pasting
# strings.
#
# Needs: POSIX sh, jq, curl (7.x or later).

PROG=forward-inbound

for tool in jq curl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "$PROG: $tool not found in PATH ($PATH)" >&2
		exit 75
	fi
done

# Build the chat message.  Prints "null" for a kind this hook ignores,
# otherwise the JSON body to post.  jq fails on input that is not one JSON
# object.
body=$(jq -c -s '
	def str: if type == "string" then . else null end;
	def slack_escape:
	  gsub("&"; "&amp;") | gsub("<"; "&lt;") | gsub(">"; "&gt;");
	def media_line:
	  "media: \(.url | str // "(no url)")"
	  + (if (.content_type | str) then " (\(.content_type))" else "" end)
	  + (if (.status | str) and .status != "Uploaded"
	     then " [\(.status)]" else "" end);

	if length != 1 then error("expected one JSON record, got \(length)")
	else .[0] end
	| if type != "object" then error("the record is not a JSON object")
	  else . end
	| if .kind != "inbound" then null else
	    . as $r
	    | ($r.payload | if type == "object" then . else {} end) as $p
	    | ($r.channel | str // (if $r.type == "mo_media" then "mms"
	                             else "sms" end)) as $channel
	    | ($r.from // $p.from | str // "(unknown)") as $from
	    | ($r.to // $p.to | str // "(unknown)") as $to
	    | if $r.type == "mo_binary" then
	        "(binary message, \($p.body | str // "" | length) bytes base64)"
	      elif $r.type == "mo_media" then
	        ($p.body | if type == "object" then . else {} end) as $m
	        | [ ($m.subject | str | select(. != null and . != "")
	             | "Subject: \(.)"),
	            ($m.message | str | select(. != null and . != "")),
	            ($m.media | if type == "array" then .[] else empty end
	             | select(type == "object") | media_line) ]
	        | if length == 0 then "(empty MMS)" else join("\n") end
	      else
	        # mo_text, and any future inbound type with a text body
	        $p.body | if type == "string" then .
	                  elif . == null then "(no text)"
	                  else tojson end
	      end
	    | {text: ("\($channel | ascii_upcase) from \($from) to \($to): \(.)"
	              | slack_escape)}
	  end
')
rc=$?
if [ $rc -ne 0 ]; then
	echo "$PROG: unusable record (jq exit $rc)" >&2
	exit 65
fi
case $body in
null) exit 0 ;;
'{'*) ;;
*)
	echo "$PROG: unexpected output from jq" >&2
	exit 65 ;;
esac

# Where to post.
url=${FORWARD_URL:-}
if [ -z "$url" ] && [ -n "${FORWARD_URL_FILE:-}" ]; then
	if ! url=$(head -n 1 -- "$FORWARD_URL_FILE"); then
		echo "$PROG: cannot read FORWARD_URL_FILE" >&2
		exit 75
	fi
	# Tolerate a CRLF line end and surrounding blanks.
	url=$(printf '%s' "$url" | tr -d '\r' | sed 's/^[[:blank:]]*//; s/[[:blank:]]*$//')
fi
if [ -z "$url" ]; then
	echo "$PROG: set FORWARD_URL or FORWARD_URL_FILE in the sink's env" >&2
	exit 75
fi

max_time=${FORWARD_TIMEOUT:-10}
case $max_time in
'' | *[!0-9]* | 0)
	echo "$PROG: FORWARD_TIMEOUT must be a whole number of seconds" >&2
	exit 75 ;;
esac
connect_time=5
[ "$max_time" -lt "$connect_time" ] && connect_time=$max_time

# In curl's config syntax a quoted value may contain \\ and \": escape
# backslashes and double quotes of the URL.
url_conf=$(printf '%s' "$url" | sed 's/[\\"]/\\&/g')

# -w prints the HTTP status after the answer's body; --proto keeps the
# URL to http(s); redirects are not followed (a POST must not turn into a
# GET elsewhere), so a 3xx is reported like any other failure.
out=$(printf '%s' "$body" | curl --silent --show-error --proto '=http,https' \
	--max-time "$max_time" --connect-timeout "$connect_time" \
	--header 'Content-Type: application/json' --data-binary @- \
	--write-out '\n%{http_code}' --config /dev/fd/3 3<<EOF
url = "$url_conf"
EOF
)
rc=$?
if [ $rc -ne 0 ]; then
	# curl has said why (refused, timed out, TLS...) on stderr.
	echo "$PROG: post failed (curl exit $rc): try again later" >&2
	exit 75
fi

code=$(printf '%s\n' "$out" | tail -n 1)
case $code in
2[0-9][0-9])
	exit 0 ;;
esac
# The chat service's answer usually says what is wrong (Slack:
# "invalid_token", "channel_not_found"...): log its start.
answer=$(printf '%s\n' "$out" | sed '$d' | tr -s '\r\n\t' '   ' |
	sed 's/ *$//' | cut -c 1-200)
echo "$PROG: chat webhook answered HTTP $code: $answer" >&2
exit 75
