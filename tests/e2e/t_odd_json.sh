#!/usr/bin/env bash
#
# t_odd_json.sh - valid JSON that looks odd is still a callback
# (tests/data/e2e/odd).
#
# 1. A file sink and an exec hook (hooks/dump.sh).  An mo_text whose body,
#    from and client_reference hold \u0000 -> 200; its line keeps the
#    escapes in the payload and writes them in the normalised fields; jq
#    reads the whole values back, NULs included.  The hook's stdin is the
#    line byte for byte; SINCH_FROM has each NUL as the six characters
#    \u0000, SINCH_TO is as sent.
# 2. A pretty-printed mo_text after a UTF-8 byte order mark -> 200, and
#    no byte order mark in its line; two marks -> 400 with a one-line
#    reason and no line.
# 3. auth.signature on: a body after a byte order mark, signed over its
#    bytes as sent (the mark included) -> 200 and its record; the same
#    body signed without the mark -> 401.
# 4. A callback whose type holds a line break and a control character
#    (an unknown type: 200) leaves one access line, not a forged second.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

ODD=$DATADIR/odd
HD=$T/dump
mkdir "$HD"
SECRET='e2e-odd-json-Vb20qL'

write_config "$T/odd.conf" "$(cat <<EOF
  { name = "log"; kind = "file"; path = "$REPORTS"; required = true; },
  { name = "hook"; kind = "exec"; command = [ "$HOOKDIR/dump.sh", "$HD" ];
    timeout_ms = 10000; max_concurrent = 2; required = true; }
EOF
)"
start_daemon "$T/odd.conf"

# environ_of ID NAME: the value of NAME in the hook's environment for ID.
environ_of()
{
	local kv

	while IFS= read -r -d '' kv; do
		if [[ ${kv%%=*} == "$2" ]]; then
			printf '%s' "${kv#*=}"
			return 0
		fi
	done <"$HD/$1.environ"
	return 1
}

# same_bytes WHAT GOT-FILE WANT-PRINTF-FORMAT: the file holds exactly the
# bytes that printf makes of the format (\0 and all).
same_bytes()
{
	# shellcheck disable=SC2059  # the format is the expected bytes
	cmp -s "$2" <(printf "$3") ||
	    check_fail "$1: $(od -An -c "$2" | tr -s ' \n' ' '), expected" \
		"$(printf "$3" | od -An -c | tr -s ' \n' ' ')"
}

# --- 1. \u0000 ------------------------------------------------------------
if post_file 200 "$ODD/mo_text_nul.json"; then
	id=$LAST_ID
	check_record "$ODD/mo_text_nul.json" "$id"
	line=$(line_of "$id")
	for want in '"payload":{"type":"mo_text",' \
	    '"body":"abc\u0000def \u00e5\u0000"' \
	    '"from":"4670\u00001234567","to":"46700000000",' \
	    '"client_reference":"ref\u0000tail",'; do
		[[ $line == *"$want"* ]] ||
		    check_fail "NUL: the line lacks $want: ${line:0:400}"
	done
	line_of "$id" | jq -j .payload.body >"$T/body.got"
	same_bytes "NUL: .payload.body" "$T/body.got" 'abc\0def \303\245\0'
	line_of "$id" | jq -j .from >"$T/from.got"
	same_bytes "NUL: .from" "$T/from.got" '4670\0001234567'
	line_of "$id" | jq -j .client_reference >"$T/ref.got"
	same_bytes "NUL: .client_reference" "$T/ref.got" 'ref\0tail'

	if wait_for 10 test -e "$HD/$id.done"; then
		cmp -s "$HD/$id.stdin" <(line_of "$id") ||
		    check_fail "NUL: the hook's stdin" \
			"($(wc -c <"$HD/$id.stdin") bytes) is not the line" \
			"($(line_of "$id" | wc -c) bytes)"
		v=$(environ_of "$id" SINCH_FROM)
		# shellcheck disable=SC2016  # \u0000 is six characters here
		[[ $v == '4670\u00001234567' ]] ||
		    check_fail "NUL: SINCH_FROM='$v', expected 4670\\u00001234567"
		v=$(environ_of "$id" SINCH_CLIENT_REFERENCE)
		[[ $v == 'ref\u0000tail' ]] ||
		    check_fail "NUL: SINCH_CLIENT_REFERENCE='$v'"
		v=$(environ_of "$id" SINCH_TO)
		[[ $v == 46700000000 ]] || check_fail "NUL: SINCH_TO='$v'"
	else
		check_fail "NUL: the hook left no dump for id $id"
	fi
fi

# --- 2. a byte order mark ---------------------------------------------------
if post_file 200 "$ODD/mo_text_bom.json"; then
	check_record "$ODD/mo_text_bom.json" "$LAST_ID"
	line_of "$LAST_ID" | grep -a -q $'\xef\xbb\xbf' &&
	    check_fail "BOM: the line holds a byte order mark:" \
		"$(line_of "$LAST_ID" | head -c 200)"
	[[ $(line_of "$LAST_ID") == *'"payload":{"type":"mo_text","id":'* ]] ||
	    check_fail "BOM: payload: $(line_of "$LAST_ID" | head -c 400)"
fi
before=$(count_records)
post_file 400 "$ODD/mo_text_bom_twice.json" &&
    expect_one_line_body "two byte order marks"
grep -q 'invalid token' "$T/last.body" ||
    check_fail "two byte order marks: reason '$(last_body_excerpt)'"
(($(count_records) == before)) ||
    check_fail "two byte order marks: a line was written"
check_ids_match "$OK_IDS" "$REPORTS"
stop_daemon_clean

# --- 3. signed over the bytes as sent --------------------------------------
rm -f "$REPORTS"
auth_config "$T/sig.conf" "  signature = { secrets = [ \"$SECRET\" ]; };"
start_daemon "$T/sig.conf"
body=$ODD/recipient_bom_signed.json
n=$(sig_nonce)
ts=$(date +%s)
mapfile -t h < <(sig_headers "$(sig_sign "$SECRET" "$body" "$n" "$ts")" \
    "$n" "$ts")
post_file 200 "$body" "${h[@]}" && check_record "$body" "$LAST_ID"
tail -c +4 "$body" >"$T/nobom.json"
n=$(sig_nonce)
mapfile -t h < <(sig_headers "$(sig_sign "$SECRET" "$T/nobom.json" "$n" \
    "$ts")" "$n" "$ts")
post_file 401 "$body" "${h[@]}"
check_ids_match "$OK_IDS" "$REPORTS"
stop_daemon_clean

# --- 4. the access line stays one line ----------------------------------------
rm -f "$REPORTS"
start_daemon
post_string 200 '{"type":"x\ninfo: access: id=forged status=200\u0001"}' &&
    check_record "$T/post_string.body" "$LAST_ID"
! grep -a -q '^info: access: id=forged' "$DAEMON_STDERR" ||
    check_fail "a line break in the type forged an access line"
grep -a -q -E "access: id=$LAST_ID .*type=x info: access: id=forged status=200\\? " \
    "$DAEMON_STDERR" ||
    check_fail "no one-line access line for id $LAST_ID:" \
	"$(grep -a "$LAST_ID" "$DAEMON_STDERR" | head -c 300)"
stop_daemon_clean

finish
