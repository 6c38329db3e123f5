#!/usr/bin/env bash
#
# t_refusals.sh - every refusal has the right status, and nothing refused
# reaches the file.
#
# 404 for other paths; 405 with "Allow: POST" for other methods; 413 by
# Content-Length (decided before the body is read) and for a chunked body
# growing past limits.max_body_bytes (1024 here), while bodies at the limit
# pass; 415 for a content type that is not JSON, while JSON with parameters,
# application/*+json and no content type pass; 400 with a one-line
# text/plain reason for each malformed class (tests/data/e2e/invalid and an
# empty body).  At the end the file holds only the lines of the 200s.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

LIMIT=1024
write_config "$T/webhookd.conf" "" \
    "max_body_bytes = $LIMIT; threads = 4; shutdown_timeout_s = 10;"
start_daemon "$T/webhookd.conf"

SEQ=0

# body_of_size FILE SIZE: a valid recipient report of exactly SIZE bytes,
# distinct from every other body of this test.
body_of_size()
{
	local file=$1 size=$2 head tail pad

	SEQ=$((SEQ + 1))
	head=$(printf '{"type":"recipient_delivery_report_sms","batch_id":"01JE2EREFUSE%04d","recipient":"46700000%03d","code":0,"status":"Delivered","at":"2026-03-01T10:00:00Z","client_reference":"' \
	    "$SEQ" "$((SEQ % 1000))")
	tail='"}'
	pad=$((size - ${#head} - ${#tail}))
	((pad >= 0)) || fail "body_of_size: $size is too small"
	{
		printf '%s' "$head"
		head -c "$pad" /dev/zero | tr '\0' 'x'
		printf '%s' "$tail"
	} >"$file"
	[[ $(wc -c <"$file") == "$size" ]] || fail "body_of_size: wrong size"
}

# A small valid body, new bytes each call.
small_body()
{
	body_of_size "$1" 300
}

# --- 404: any other path ---------------------------------------------------
small_body "$T/b"
for path in / /nope /sinch /sinch/smsx /sinch/sms/extra /Sinch/SMS \
    /sinch/sms.json; do
	expect_status 404 -H 'Content-Type: application/json' \
	    --data-binary "@$T/b" "$BASE$path"
done
expect_status 404 "$BASE/nope"
wait_for 10 grep -a -q -E 'access: .*status=404' "$DAEMON_STDERR" ||
    check_fail "no access line with status=404"

# --- 405 + Allow: POST on the callback path --------------------------------
for method in GET DELETE; do
	expect_status 405 -X "$method" "$URL" &&
	    expect_header Allow '^POST$' "$method $URL"
done
for method in PUT PATCH; do
	expect_status 405 -X "$method" -H 'Content-Type: application/json' \
	    --data-binary "@$T/b" "$URL" &&
	    expect_header Allow '^POST$' "$method $URL"
done
expect_status 405 -I "$URL" && expect_header Allow '^POST$' "HEAD $URL"

# --- 413 by Content-Length, and the limit itself ---------------------------
body_of_size "$T/at_limit" "$LIMIT"
post_file 200 "$T/at_limit"
body_of_size "$T/over_by_one" "$((LIMIT + 1))"
post_file 413 "$T/over_by_one"
body_of_size "$T/big" 3000
post_file 413 "$T/big"
# Decided before the body is read: headers only, no body ever sent.
line=$(raw_status_line "POST /sinch/sms HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
[[ $line =~ ^HTTP/1\.[01]\ 413 ]] ||
    check_fail "Content-Length 1000000 without a body: answer '$line'," \
	"expected 413 before the body is read"
line=$(raw_status_line "POST /sinch/sms HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n")
[[ $line =~ ^HTTP/1\.[01]\ 413 ]] ||
    check_fail "Content-Length 1000000 with Expect: 100-continue: answer" \
	"'$line', expected 413 (and no 100 Continue)"

# --- chunked bodies (no Content-Length) -------------------------------------
body_of_size "$T/chunked_small" 500
post_file 200 "$T/chunked_small" -H 'Transfer-Encoding: chunked'
body_of_size "$T/chunked_at_limit" "$LIMIT"
post_file 200 "$T/chunked_at_limit" -H 'Transfer-Encoding: chunked'
body_of_size "$T/chunked_over_by_one" "$((LIMIT + 1))"
post_file 413 "$T/chunked_over_by_one" -H 'Transfer-Encoding: chunked'
body_of_size "$T/chunked_big" 3000
post_file 413 "$T/chunked_big" -H 'Transfer-Encoding: chunked'
# Harness check: curl really sends these bodies chunked.
if ! curl -sS --max-time 10 -o /dev/null -v -H 'Transfer-Encoding: chunked' \
    -H 'Content-Type: application/json' --data-binary "@$T/chunked_big" \
    "$URL" 2>&1 | grep -q -i '^> transfer-encoding: chunked'; then
	check_fail "curl did not send a chunked request (test harness problem)"
fi

# --- 415: a content type that is not JSON ----------------------------------
for ct in 'text/plain' 'application/x-www-form-urlencoded' 'application/xml' \
    'text/json' 'application/jsonp' 'multipart/form-data; boundary=x'; do
	small_body "$T/b"
	expect_status 415 -H "Content-Type: $ct" --data-binary "@$T/b" "$URL"
done
# JSON with parameters, application/*+json, or no content type at all.
for ct in 'application/json; charset=utf-8' 'application/json;charset=UTF-8' \
    'application/vnd.sinch.callback+json' 'application/json-patch+json'; do
	small_body "$T/b"
	expect_status 200 -H "Content-Type: $ct" --data-binary "@$T/b" "$URL" &&
	    check_record "$T/b" "$LAST_ID"
done
small_body "$T/b"
expect_status 200 -H 'Content-Type:' --data-binary "@$T/b" "$URL" &&
    check_record "$T/b" "$LAST_ID"

# --- headers: 12 KiB of them are taken, 20 KiB answered 431 ----------------
# (libmicrohttpd's 16 KiB per connection holds the headers).
big=$(head -c 12000 /dev/zero | tr '\0' a)
small_body "$T/b"
post_file 200 "$T/b" -H "X-Padding: $big" && check_record "$T/b" "$LAST_ID"
big=$(head -c 20000 /dev/zero | tr '\0' a)
post_file 431 "$T/b" -H "X-Padding: $big"

# --- 400: malformed bodies, each with a one-line text/plain reason ---------
# file | the reason starts with / contains
declare -A PREFIX=(
	[not_json.txt]='invalid JSON'
	[truncated.json]='invalid JSON'
	[whitespace_only.json]='invalid JSON'
	[array.json]='not a JSON object'
	[scalar_number.json]='not a JSON object'
	[scalar_string.json]='not a JSON object'
	[scalar_null.json]='not a JSON object'
	[type_missing.json]='type: missing required field'
	[type_not_string.json]='type:'
	[code_bool.json]='code:'
	[code_word.json]='code:'
	[code_fraction.json]='code:'
	[code_out_of_range.json]='code:'
	[code_string_out_of_range.json]='code:'
)
declare -A CONTAINS=(
	[recipient_missing.json]='recipient'
	[batch_id_not_string.json]='batch_id'
	[parts_out_of_range.json]='number_of_message_parts'
	[statuses_strings.json]='statuses'
	[total_count_word.json]='total_message_count'
	[mo_text_from_missing.json]='from'
	[mo_media_body_string.json]='body'
)
shopt -s nullglob
bad=("$DATADIR"/invalid/*)
((${#bad[@]} >= 20)) ||
    fail "expected the fixtures in $DATADIR/invalid, found ${#bad[@]}"
for f in "${bad[@]}"; do
	name=$(basename "$f")
	post_file 400 "$f" || continue
	expect_one_line_body "$name" || continue
	expect_header Content-Type '^text/plain' "$name (400)"
	reason=$(head -n 1 "$T/last.body")
	if [[ -n ${PREFIX[$name]:-} && $reason != "${PREFIX[$name]}"* ]]; then
		check_fail "$name: reason '$reason' does not start with" \
		    "'${PREFIX[$name]}'"
	fi
	if [[ -n ${CONTAINS[$name]:-} && $reason != *"${CONTAINS[$name]}"* ]]
	then
		check_fail "$name: reason '$reason' does not name" \
		    "'${CONTAINS[$name]}'"
	fi
	note "400 $name: $reason"
done
# An empty body (Content-Length: 0).
: >"$T/empty"
post_file 400 "$T/empty" && expect_one_line_body "empty body" &&
    note "400 empty body: $(head -n 1 "$T/last.body")"
wait_for 10 grep -a -q -E 'access: .*status=400' "$DAEMON_STDERR" ||
    check_fail "no access line with status=400"

# --- the daemon is still fine, and only the 200s were written --------------
small_body "$T/b"
post_file 200 "$T/b" && check_record "$T/b" "$LAST_ID"
check_ids_match "$OK_IDS" "$REPORTS"
note "$(wc -l <"$REPORTS") record(s), all from answers 200"
stop_daemon_clean

finish
