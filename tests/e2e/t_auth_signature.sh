#!/usr/bin/env bash
#
# t_auth_signature.sh - the Sinch signature: Base64(HMAC-SHA256(secret,
# raw body + "." + nonce + "." + timestamp)) in x-sinch-webhook-signature.
#
# 1. auth.signature with one secret inline and one from a file (ending in
#    a newline, which is not part of the secret): a request signed with
#    either -> 200 and its record; without the algorithm header -> 200;
#    header names in other cases -> 200; the known-answer fixture
#    (tests/data/e2e/auth/signed_body.*, signature recomputed here first)
#    -> 200.  A changed byte of the body (and one byte more), of the
#    nonce, of the timestamp or of the signature, a secret not configured,
#    each missing header, no header at all, another algorithm -> 401 with
#    a WWW-Authenticate header, a one-line reason and an access line.  A
#    replay of a signed request -> 200 without a second line.
# 2. max_skew_s = 300: timestamps 100 s away either way -> 200; 1000 s
#    in the past or in the future, or not a number -> 401.
# 3. The signed Sinch vector (when ../shared/vectors/sinch exists; its
#    headers and secret are parsed from its MANIFEST.md) -> 200 with
#    max_skew_s = 0.  With an exec hook that exits 75 once: a signed
#    request -> 503; the identical request again (same nonce, timestamp
#    and signature) -> 200 and the hook ran again: the replay defence
#    does not swallow Sinch's retry of a callback that was not taken.
# Only the 200s have lines; no secret is in the daemon's output.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

VECTORS=${SINCH_VECTORS:-$SRCDIR/../shared/vectors/sinch}
AUTHDATA=$DATADIR/auth

S1='e2e-sig-inline-Kx81rT'
S2='e2e-sig-file-Pq52mW'
NOT_CONFIGURED='e2e-sig-unknown-Zz07aB'

# field NAME FILE: the value of the first line "NAME: value" of FILE.
field()
{
	sed -n "s/^$1: *//p" "$2" | head -n 1 | tr -d '\r'
}

# parse_signed FILE: from "name: value" lines (the manifest's HMAC note,
# or a fixture's .headers file) sets H_SIG, H_ALG, H_NONCE, H_TS, H_SECRET.
parse_signed()
{
	H_SIG=$(field 'x-sinch-webhook-signature' "$1")
	H_ALG=$(field 'x-sinch-webhook-signature-algorithm' "$1")
	H_NONCE=$(field 'x-sinch-webhook-signature-nonce' "$1")
	H_TS=$(field 'x-sinch-webhook-signature-timestamp' "$1")
	H_SECRET=$(field 'secret' "$1")
	[[ -n $H_SIG && -n $H_ALG && -n $H_NONCE && -n $H_TS && -n $H_SECRET ]]
}

# signed CODE WHAT BODY SIGNATURE NONCE TIMESTAMP [ALGORITHM]: POSTs BODY
# with those headers (an empty value leaves its header out, ALGORITHM "-"
# too); 401s are checked with `refused`.
signed()
{
	local code=$1 what=$2 body=$3 h

	mapfile -t h < <(sig_headers "$4" "$5" "$6" "${7:-}")
	if [[ $code == 401 ]]; then
		refused 401 '.' "$what" -H 'Content-Type: application/json' \
		    --data-binary "@$body" "${h[@]}" "$URL"
	else
		post_file "$code" "$body" "${h[@]}" || note "  ($what)"
	fi
}

# signed_ok WHAT BODY SECRET [ALGORITHM]: signed now with SECRET -> 200
# and its record.
signed_ok()
{
	local n ts sig

	n=$(sig_nonce)
	ts=$(date +%s)
	sig=$(sig_sign "$3" "$2" "$n" "$ts")
	signed 200 "$1" "$2" "$sig" "$n" "$ts" "${4:-}" &&
	    check_record "$2" "$LAST_ID" && expect_access_line "$LAST_ID" 200
}

# one_char_changed STRING: STRING with its first character replaced.
one_char_changed()
{
	local c=${1:0:1} r=A

	[[ $c == A ]] && r=B
	printf '%s%s' "$r" "${1:1}"
}

mkdir -p "$T/auth"
printf '%s\n' "$S2" >"$T/auth/sig2.key"

# --- 1. two secrets, every way to fail ---------------------------------------
auth_config "$T/sig.conf" "  signature = { secrets = [ \"$S1\" ];
    secret_files = [ \"$T/auth/sig2.key\" ]; };"
start_daemon "$T/sig.conf"

hook_body "$T/b1" "signed with the inline secret"
signed_ok "signed with secrets[0]" "$T/b1" "$S1"
hook_body "$T/b2" "signed with the file secret"
signed_ok "signed with secret_files[0]" "$T/b2" "$S2"
hook_body "$T/b3" "no algorithm header"
signed_ok "no algorithm header" "$T/b3" "$S1" -

# Header names are case-insensitive.
hook_body "$T/b4" "header names in other cases"
n=$(sig_nonce)
ts=$(date +%s)
sig=$(sig_sign "$S1" "$T/b4" "$n" "$ts")
post_file 200 "$T/b4" -H "X-Sinch-Webhook-Signature: $sig" \
    -H "X-SINCH-WEBHOOK-SIGNATURE-NONCE: $n" \
    -H "X-Sinch-Webhook-Signature-Timestamp: $ts" \
    -H 'x-SINCH-webhook-SIGNATURE-algorithm: HmacSHA256' &&
    check_record "$T/b4" "$LAST_ID"

# Replay of a correctly signed request: answered like a duplicate.
hook_body "$T/r" "replayed"
n=$(sig_nonce)
ts=$(date +%s)
sig=$(sig_sign "$S1" "$T/r" "$n" "$ts")
signed 200 "replay, first" "$T/r" "$sig" "$n" "$ts"
before=$(count_records)
signed 200 "replay, second" "$T/r" "$sig" "$n" "$ts" && forget_last_ok
after=$(count_records)
((after == before)) ||
    check_fail "replay of a signed request: $((after - before)) new line(s)"

# Known-answer fixture: the harness computes the stored signature.
if parse_signed "$AUTHDATA/signed_body.headers"; then
	mine=$(sig_sign "$H_SECRET" "$AUTHDATA/signed_body.json" "$H_NONCE" "$H_TS")
	[[ $mine == "$H_SIG" ]] ||
	    check_fail "harness: sig_sign gives '$mine' for the fixture," \
		"expected '$H_SIG'"
	FIXTURE_SECRET=$H_SECRET
else
	fail "unable to parse $AUTHDATA/signed_body.headers"
fi

# Tampering.  Each refused body is new, and is never delivered.
hook_body "$T/t" "tamper-A"
n=$(sig_nonce)
ts=$(date +%s)
sig=$(sig_sign "$S1" "$T/t" "$n" "$ts")
sed 's/tamper-A/tamper-B/' "$T/t" >"$T/t.byte"
cmp -s "$T/t" "$T/t.byte" && fail "harness: body not changed"
signed 401 "one byte of the body changed" "$T/t.byte" "$sig" "$n" "$ts"
{ cat "$T/t"; printf '\n'; } >"$T/t.more"
signed 401 "one byte appended to the body" "$T/t.more" "$sig" "$n" "$ts"
signed 401 "nonce changed" "$T/t" "$sig" "$(one_char_changed "$n")" "$ts"
signed 401 "timestamp changed" "$T/t" "$sig" "$n" "$((ts + 1))"
signed 401 "signature changed (first character)" "$T/t" \
    "$(b64_flip_at "$sig" 0)" "$n" "$ts"
# The last digit before the '=' holds two spare bits and this changes one
# of them: a lenient Base64 decoder maps it to the same MAC.  Any changed
# byte of the signature must be refused (compare the text, or decode
# strictly).
signed 401 "signature changed (last digit, lowest bit)" "$T/t" \
    "$(b64_flip_at "$sig" $((${#sig} - 2)))" "$n" "$ts"
signed 401 "signed with a secret not configured" "$T/t" \
    "$(sig_sign "$NOT_CONFIGURED" "$T/t" "$n" "$ts")" "$n" "$ts"
{ cat "$T/t"; printf '.%s' "$n"; } >"$T/t.msg"
signed 401 "signature over body.nonce (no timestamp)" "$T/t" \
    "$(hmac_b64 "$S1" "$T/t.msg")" "$n" "$ts"
signed 401 "no signature header" "$T/t" "" "$n" "$ts"
signed 401 "no nonce header" "$T/t" "$sig" "" "$ts"
signed 401 "no timestamp header" "$T/t" "$sig" "$n" ""
signed 401 "no signature headers at all" "$T/t" "" "" "" -
for alg in HmacSHA1 HmacSHA512 none; do
	signed 401 "algorithm $alg" "$T/t" "$sig" "$n" "$ts" "$alg"
done
note "401 reason: $(head -n 1 "$T/last.body")"
note "401 challenge: $(header_value WWW-Authenticate)"
# The untampered request still passes afterwards.
signed 200 "the untampered request after the refusals" "$T/t" "$sig" "$n" "$ts" &&
    check_record "$T/t" "$LAST_ID"

check_ids_match "$OK_IDS" "$REPORTS"
cp "$OK_IDS" "$T/ok.1"
stop_daemon_clean

# --- 2. max_skew_s -------------------------------------------------------------
auth_config "$T/skew.conf" "  signature = { secrets = [ \"$S1\" ];
    max_skew_s = 300; };"
start_daemon "$T/skew.conf"
for d in 0 -100 100; do
	hook_body "$T/s" "skew $d"
	n=$(sig_nonce)
	ts=$(($(date +%s) + d))
	signed 200 "max_skew_s = 300, timestamp now${d#0}" "$T/s" \
	    "$(sig_sign "$S1" "$T/s" "$n" "$ts")" "$n" "$ts" &&
	    check_record "$T/s" "$LAST_ID"
done
for d in -1000 1000; do
	hook_body "$T/s" "skew $d"
	n=$(sig_nonce)
	ts=$(($(date +%s) + d))
	signed 401 "max_skew_s = 300, timestamp now$d" "$T/s" \
	    "$(sig_sign "$S1" "$T/s" "$n" "$ts")" "$n" "$ts"
done
hook_body "$T/s" "skew word"
n=$(sig_nonce)
signed 401 "max_skew_s = 300, timestamp 'yesterday'" "$T/s" \
    "$(sig_sign "$S1" "$T/s" "$n" yesterday)" "$n" yesterday
# The fixture's timestamp is 2026-03-01T10:00:00Z: far from now either way.
parse_signed "$AUTHDATA/signed_body.headers"
signed 401 "max_skew_s = 300, the fixture (timestamp $H_TS)" \
    "$AUTHDATA/signed_body.json" "$H_SIG" "$H_NONCE" "$H_TS" "$H_ALG"
cat "$T/ok.1" "$OK_IDS" >"$T/ok.2"
stop_daemon_clean
check_ids_match "$T/ok.2" "$REPORTS"

# --- 3. vectors, and a retry after a 503 -------------------------------------
HD=$T/hook
mkdir -p "$HD"
R3=$T/retry.jsonl
if [[ -f $VECTORS/MANIFEST.md && -f $VECTORS/recipient_delivery_report_sms_signed.json ]]
then
	HAVE_VECTORS=1
	parse_signed "$VECTORS/MANIFEST.md" ||
	    fail "unable to parse the HMAC note of $VECTORS/MANIFEST.md"
	VEC_SIG=$H_SIG VEC_ALG=$H_ALG VEC_NONCE=$H_NONCE VEC_TS=$H_TS
	VEC_SECRET=$H_SECRET
	SECRETS="\"$VEC_SECRET\", \"$FIXTURE_SECRET\""
else
	HAVE_VECTORS=0
	echo "signed vector: $VECTORS not found, only the own fixture is checked"
	SECRETS="\"$FIXTURE_SECRET\", \"$S1\""
fi
auth_config "$T/vec.conf" "  signature = { secrets = [ $SECRETS ]; max_skew_s = 0; };" \
    "" "" "$(cat <<EOF
  { name = "log"; kind = "file"; path = "$R3"; required = true; },
  { name = "hook"; kind = "exec"; command = [ "$HOOKDIR/act.sh", "$HD" ];
    timeout_ms = 10000; max_concurrent = 2; required = true; }
EOF
)"
start_daemon "$T/vec.conf"

parse_signed "$AUTHDATA/signed_body.headers"
signed 200 "own signed fixture (known answer)" "$AUTHDATA/signed_body.json" \
    "$H_SIG" "$H_NONCE" "$H_TS" "$H_ALG" &&
    check_record "$AUTHDATA/signed_body.json" "$LAST_ID" "$R3"

if ((HAVE_VECTORS)); then
	vec=$VECTORS/recipient_delivery_report_sms_signed.json
	mine=$(sig_sign "$VEC_SECRET" "$vec" "$VEC_NONCE" "$VEC_TS")
	[[ $mine == "$VEC_SIG" ]] ||
	    check_fail "harness: sig_sign gives '$mine' for the vector," \
		"the manifest says '$VEC_SIG'"
	signed 200 "signed Sinch vector" "$vec" "$VEC_SIG" "$VEC_NONCE" \
	    "$VEC_TS" "$VEC_ALG" && check_record "$vec" "$LAST_ID" "$R3"
	signed 401 "signed Sinch vector, signature changed" "$vec" \
	    "$(one_char_changed "$VEC_SIG")" "$VEC_NONCE" "$VEC_TS" "$VEC_ALG"
	note "signed vector from $VECTORS: checked"
fi

# A callback not taken (503) is retried by Sinch with the same request.
hook_body "$T/f" "fail-once:SIG"
n=$(sig_nonce)
ts=$(date +%s)
sig=$(sig_sign "$FIXTURE_SECRET" "$T/f" "$n" "$ts")
signed 503 "signed, the hook exits 75 once" "$T/f" "$sig" "$n" "$ts"
runs1=$(hook_runs "$HD")
signed 200 "the same signed request again, after the 503" "$T/f" "$sig" "$n" "$ts"
runs2=$(hook_runs "$HD")
((runs2 == runs1 + 1)) ||
    check_fail "retry of a signed request after a 503: the hook ran" \
	"$((runs2 - runs1)) time(s), expected 1 (the retry must reach it)"
signed 200 "the same signed request a third time" "$T/f" "$sig" "$n" "$ts"
runs3=$(hook_runs "$HD")
((runs3 == runs2)) ||
    check_fail "third copy of a delivered request ran the hook again"
[[ $(count_lines_with "$LAST_ID" "$R3") == 0 ]] ||
    check_fail "third copy got a line of its own"
lines=$(grep -a -c -F 'fail-once:SIG' "$R3")
((lines == 1)) || check_fail "fail-once:SIG: $lines line(s) in the file, expected 1"
check_no_zombies "signature with a hook" all
stop_daemon_clean

check_no_secrets "$S1" "$S2" "$NOT_CONFIGURED" "$FIXTURE_SECRET" \
    "${VEC_SECRET:-}"

check_one_access_line_each

finish
