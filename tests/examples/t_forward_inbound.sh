#!/usr/bin/env bash
#
# t_forward_inbound.sh - docs/examples/forward-inbound.sh against a local
# HTTP receiver on 127.0.0.1 (tests/examples/http_recorder.py): the JSON
# posted for mo_text, mo_binary and mo_media, escaping, the URL from a
# file, and the exit status for 2xx, 4xx, 5xx, a refused connection, a
# timeout, a record it cannot parse and a missing URL.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

HOOK=$HOOKS/forward-inbound.sh
start_receiver
URL="http://127.0.0.1:$RECV_PORT/hooks/chat"
HOOK_ENV=("FORWARD_URL=$URL" "FORWARD_TIMEOUT=10")

# forward WHAT RECORD TEXT: runs the hook, expects exit 0 and one new
# request whose JSON body is exactly {"text": TEXT}.
forward()
{
	local what=$1 before n got want

	before=$(requests)
	run_hook "$2" "$HOOK"
	expect_rc "$what" 0 || return 1
	n=$(requests)
	expect_eq "$what: requests" "$((before + 1))" "$n" || return 1
	got=$(jq -c . "$RECV_DIR/req.$n") ||
	    { check_fail "$what: the body is not JSON"; return 1; }
	want=$(jq -cn --arg t "$3" '{text: $t}')
	expect_eq "$what: posted JSON" "$want" "$got"
	expect_eq "$what: content type" application/json \
	    "$(cat "$RECV_DIR/req.$n.ctype")"
	[[ $(cat "$RECV_DIR/req.$n.path") == /hooks/chat* ]] ||
	    check_fail "$what: posted to $(cat "$RECV_DIR/req.$n.path")"
}

# --- What is posted.
forward "mo_text" "$(record_from_body "$FIXTURES/mo_text_all_fields.json")" \
    "SMS from +447700900461 to 447700900900: Where is order 4417?"
forward "mo_text (minimal)" \
    "$(record_from_body "$FIXTURES/mo_text_minimal.json")" \
    "SMS from 12025550116 to 12025550199: Yes, Thursday works for me."
forward "mo_binary" \
    "$(record_from_body "$FIXTURES/mo_binary_base64_udh.json")" \
    "SMS from 12025550116 to 12025550199: (binary message, 16 bytes base64)"
# The "==" padding counts: 28 characters, as sent.
forward "mo_binary (padded)" \
    "$(record_from_body "$FIXTURES/mo_binary_padded.json")" \
    "SMS from 447700900588 to 447700900900: (binary message, 28 bytes base64)"
# A media status outside Sinch's documented set is shown as sent.
forward "mo_media" "$(record_from_body "$FIXTURES/mo_media_all_fields.json")" \
    "MMS from +447700900461 to 447700900900: Subject: Damaged parcel
Photo of the box as it arrived
media: https://mms.example.net/in/01JGWPQ5/box.jpg (image/jpeg) [Quarantined]"
forward "mo_media (uploaded)" \
    "$(record_from_body "$FIXTURES/mo_media_uploaded.json")" \
    "MMS from +447700900588 to 447700900900: Subject: Meter reading
Reading for flat 4B
media: https://mms.example.net/in/01JGA7/meter.png (image/png)"
forward "mo_media (no media)" \
    "$(record_from_body "$FIXTURES/mo_media_no_media_array.json")" \
    "MMS from +12025550116 to +12025550199: Subject: Running late
About ten minutes"
forward "mo_media (empty)" \
    "$(record_from_json '{"type":"mo_media","from":"+1","to":"2","id":"m",
	"received_at":"2026-11-27T10:00:00Z","body":{}}')" \
    "MMS from +1 to 2: (empty MMS)"
# Quotes, backslashes, newlines, non-ASCII stay intact in the JSON; & < >
# are escaped the way Slack wants, so <!channel> cannot ping anyone.
forward "special characters" \
    "$(record_from_json '{"type":"mo_text","from":"+46700000001",
	"to":"12345","id":"m2","received_at":"2026-11-27T10:00:00Z",
	"body":"<!channel> \"hi\" & \\o/\nline 2 \u00e5\u20ac \u0001"}')" \
    $'SMS from +46700000001 to 12345: &lt;!channel&gt; "hi" &amp; \\o/\nline 2 \xc3\xa5\xe2\x82\xac \x01'

# --- Not inbound: exit 0, no request.
before=$(requests)
for v in recipient_delivery_report_sms_all_fields delivery_report_sms_full; do
	run_hook "$(record_from_body "$FIXTURES/$v.json")" "$HOOK"
	expect_rc "$v" 0
done
run_hook "$(record_from_json '{"type":"some_future_type"}')" "$HOOK"
expect_rc "unknown kind" 0
expect_eq "no request for other kinds" "$before" "$(requests)"

TEXT_RECORD=$(record_from_body "$FIXTURES/mo_text_minimal.json")

# --- The receiver's answer decides.
for code in 500 503 429 400 401 403 404 410 301; do
	receiver_status "$code"
	before=$(requests)
	run_hook "$TEXT_RECORD" "$HOOK"
	expect_rc "HTTP $code" 75
	expect_eq "HTTP $code: one request" "$((before + 1))" "$(requests)"
	grep -q "HTTP $code" "$HOOK_STDERR" ||
	    check_fail "HTTP $code: not named on stderr"
done
for code in 200 201 204; do
	receiver_status "$code"
	run_hook "$TEXT_RECORD" "$HOOK"
	expect_rc "HTTP $code" 0
done

# --- No answer within FORWARD_TIMEOUT: 75, in about that time.
receiver_status "sleep 4"
HOOK_ENV=("FORWARD_URL=$URL" "FORWARD_TIMEOUT=1")
start=$SECONDS
run_hook "$TEXT_RECORD" "$HOOK"
expect_rc "timeout" 75
((SECONDS - start <= 3)) ||
    check_fail "timeout: the hook took $((SECONDS - start)) s"
receiver_status 200

# --- Nothing listening: 75.
HOOK_ENV=("FORWARD_URL=http://127.0.0.1:$(free_port)/hooks/chat")
run_hook "$TEXT_RECORD" "$HOOK"
expect_rc "connection refused" 75

# --- The URL from a file (CRLF line end, blanks, a query string with a
# double quote and a backslash, which curl's config syntax must escape).
printf '  %s?token=a%%22b\\c&x=1  \r\nsecond line\n' "$URL" >"$T/url"
HOOK_ENV=("FORWARD_URL_FILE=$T/url")
forward "URL from a file" "$TEXT_RECORD" \
    "SMS from 12025550116 to 12025550199: Yes, Thursday works for me."
got=$(cat "$RECV_DIR/req.$(requests).path")
expect_eq "URL from a file: path and query" '/hooks/chat?token=a%22b\c&x=1' \
    "$got"
# FORWARD_URL wins over FORWARD_URL_FILE.
HOOK_ENV=("FORWARD_URL=$URL" "FORWARD_URL_FILE=$T/no-such-file")
forward "FORWARD_URL first" "$TEXT_RECORD" \
    "SMS from 12025550116 to 12025550199: Yes, Thursday works for me."

# --- No usable URL: 75 (a configuration mistake must not drop messages).
before=$(requests)
HOOK_ENV=()
run_hook "$TEXT_RECORD" "$HOOK"
expect_rc "no URL" 75
HOOK_ENV=("FORWARD_URL_FILE=$T/no-such-file")
run_hook "$TEXT_RECORD" "$HOOK"
expect_rc "unreadable URL file" 75
HOOK_ENV=("FORWARD_URL=$URL" "FORWARD_TIMEOUT=soon")
run_hook "$TEXT_RECORD" "$HOOK"
expect_rc "bad FORWARD_TIMEOUT" 75
HOOK_ENV=("FORWARD_URL=file:///etc/passwd")
run_hook "$TEXT_RECORD" "$HOOK"
expect_rc "file: URL refused" 75
expect_eq "no request without a usable URL" "$before" "$(requests)"

# --- A record it cannot parse: 65 (checked before the URL), no request.
HOOK_ENV=()
for bad in 'not JSON' '' '[1]' '{"kind":"inbound"} {"kind":"inbound"}' \
    '{"kind":"inbound","type":"mo_text"'; do
	printf '%s' "$bad" >"$T/record.in"
	(cd "$T" && exec timeout -k 5 60 env -i PATH="$HOOK_PATH" "$HOOK") \
	    <"$T/record.in" >/dev/null 2>"$T/bad.stderr"
	rc=$?
	[[ $rc == 65 ]] || check_fail "bad record '$bad': exit $rc, not 65"
done
expect_eq "no request for bad records" "$before" "$(requests)"

# --- The URL (a secret) is not on any command line while curl runs.  The
# hook is started without timeout(1) or env(1) here, whose own command
# lines would carry it; curl's --max-time bounds the run.
receiver_status "sleep 3"
before=$(requests)
printf '%s\n' "$TEXT_RECORD" >"$T/record.slow"
(cd "$T" && FORWARD_URL="$URL?secret=s3cr3t" exec "$HOOK") \
    <"$T/record.slow" >/dev/null 2>&1 &
SLOW=$!
STARTED_PIDS+=("$SLOW")
# shellcheck disable=SC2317  # called through wait_for
slow_request_seen()
{
	[[ -f $RECV_DIR/req.$((before + 1)) ]]
}
if wait_for 5 slow_request_seen; then
	# 's3cr[3]t' does not match grep's own command line.
	if grep -a -l 's3cr[3]t' /proc/[0-9]*/cmdline 2>/dev/null | grep -q .
	then
		check_fail "the URL is visible in a command line"
	fi
	expect_eq "secret URL: query received" '/hooks/chat?secret=s3cr3t' \
	    "$(cat "$RECV_DIR/req.$((before + 1)).path")"
else
	check_fail "secret URL: the request did not arrive"
fi
wait "$SLOW"
rc=$?
expect_eq "slow answer within FORWARD_TIMEOUT" 0 "$rc"

finish
