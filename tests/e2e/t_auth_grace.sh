#!/usr/bin/env bash
#
# t_auth_grace.sh - the grace window for secret rotation.
#
# Signature, Basic and allow_from (127.0.0.1, behind a trusted proxy
# 127.0.0.1, so that X-Forwarded-For: 198.51.100.1 is a source not
# allowed) together:
# 1. grace_until tomorrow: a fully good callback -> 200.  A wrong
#    signature, a wrong Basic password, no credentials at all, a source
#    not allowed -> 503 with Retry-After instead of 401/403, an access
#    line with status=503, no record, and a warn line on stderr
#    containing "grace" for each.  The body refused with a wrong signature,
#    then signed right -> 200 and recorded (the 503 took nothing).
# 2. grace_until yesterday: the same failures -> 401 (with the Basic
#    challenge for Basic) and 403; good -> 200.
# 3. -t: grace_until = "tomorrow" (not a time) -> exit 2.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

S='e2e-grace-sig-Hv62pL'
PW='e2e-grace-pw-Rt94sK'
NOW=$(date +%s)
TOMORROW=$(date -u -d "@$((NOW + 86400))" +%Y-%m-%dT%H:%M:%SZ)
YESTERDAY=$(date -u -d "@$((NOW - 86400))" +%Y-%m-%dT%H:%M:%SZ)

# grace_config FILE GRACE-UNTIL
grace_config()
{
	auth_config "$1" "  signature = { secrets = [ \"$S\" ]; };
  basic = { username = \"sinch\"; password = \"$PW\"; };
  allow_from = [ \"127.0.0.1/32\" ];
  trusted_proxies = [ \"127.0.0.1/32\" ];
  grace_until = \"$2\";"
}

# send CODE WHAT BODY SIGNING-SECRET PASSWORD [CURL-ARGS...]: BODY signed
# now with SIGNING-SECRET, with Basic credentials sinch:PASSWORD (none if
# PASSWORD is "-") -> CODE.
send()
{
	local code=$1 what=$2 body=$3 secret=$4 pw=$5 n ts h auth=()

	shift 5
	n=$(sig_nonce)
	ts=$(date +%s)
	mapfile -t h < <(sig_headers "$(sig_sign "$secret" "$body" "$n" "$ts")" \
	    "$n" "$ts")
	[[ $pw != - ]] && auth=(-H "Authorization: $(basic_header sinch "$pw")")
	post_file "$code" "$body" "${h[@]}" "${auth[@]}" "$@" ||
	    { note "  ($what)"; return 1; }
	[[ $code == 200 ]] && check_record "$body" "$LAST_ID"
	if [[ -n $LAST_ID ]]; then
		expect_access_line "$LAST_ID" "$code"
	else
		expect_log "access: .*status=$code( |$)" "$what"
	fi
	return 0
}

GRACE_FAILS=0
# in_grace WHAT BODY SIGNING-SECRET PASSWORD [CURL-ARGS...]: -> 503 with
# Retry-After, no record, one more warn line about the grace window.
in_grace()
{
	local what=$1 before

	before=$(count_records)
	send 503 "$@" || return 1
	GRACE_FAILS=$((GRACE_FAILS + 1))
	expect_header Retry-After '^([0-9]+|[A-Z][a-z]{2}, .+ GMT)$' "$what"
	(($(count_records) == before)) ||
	    check_fail "$what: the 503 left a record"
	wait_for 10 grace_logged "$GRACE_FAILS" ||
	    check_fail "$what: $(grace_warnings) warn line(s) with 'grace'" \
		"on stderr after $GRACE_FAILS failed check(s)"
}

grace_warnings()
{
	grep -a -c -E '^warn(ing)?: .*grace' "$DAEMON_STDERR"
}

grace_logged()
{
	(($(grace_warnings) >= $1))
}

XFF=(-H 'X-Forwarded-For: 198.51.100.1')

# --- 1. in the grace window ----------------------------------------------------------
grace_config "$T/future.conf" "$TOMORROW"
start_daemon "$T/future.conf"
note "grace_until = $TOMORROW"
hook_body "$T/b" "grace: all good"
send 200 "grace: all good" "$T/b" "$S" "$PW"

hook_body "$T/w" "grace: wrong signature"
in_grace "grace: wrong signature" "$T/w" "e2e-grace-wrong-secret" "$PW"
note "grace 503: Retry-After $(header_value Retry-After);" \
    "$(head -n 1 "$T/last.body")"
note "log: $(grep -a -m 1 -E '^warn(ing)?: .*grace' "$DAEMON_STDERR")"
hook_body "$T/b" "grace: wrong password"
in_grace "grace: wrong password" "$T/b" "$S" "e2e-grace-wrong-pw"
hook_body "$T/b" "grace: no credentials"
in_grace "grace: no credentials" "$T/b" "e2e-grace-wrong-secret" -
hook_body "$T/b" "grace: source not allowed"
in_grace "grace: source not allowed" "$T/b" "$S" "$PW" "${XFF[@]}"
# What was refused in the window is not taken: signed right, it passes.
send 200 "grace: the wrongly signed body, signed right" "$T/w" "$S" "$PW"
check_ids_match "$OK_IDS" "$REPORTS"
cat "$OK_IDS" >>"$T/ok.all"
stop_daemon_clean

# --- 2. after the grace window -----------------------------------------------------------
grace_config "$T/past.conf" "$YESTERDAY"
start_daemon "$T/past.conf"
note "grace_until = $YESTERDAY"
hook_body "$T/b" "past: all good"
send 200 "past: all good" "$T/b" "$S" "$PW"
hook_body "$T/b" "past: wrong signature"
send 401 "past: wrong signature" "$T/b" "e2e-grace-wrong-secret" "$PW" &&
    expect_header WWW-Authenticate . "past: wrong signature"
hook_body "$T/b" "past: wrong password"
send 401 "past: wrong password" "$T/b" "$S" "e2e-grace-wrong-pw" &&
    expect_header WWW-Authenticate '^Basic realm="sinch-webhookd"' \
	"past: wrong password"
hook_body "$T/b" "past: no credentials"
send 401 "past: no credentials" "$T/b" "e2e-grace-wrong-secret" -
hook_body "$T/b" "past: source not allowed"
send 403 "past: source not allowed" "$T/b" "$S" "$PW" "${XFF[@]}"
cat "$OK_IDS" >>"$T/ok.all"
stop_daemon_clean
check_ids_match "$T/ok.all" "$REPORTS"

# --- 3. -t ----------------------------------------------------------------------------------
grace_config "$T/word.conf" "tomorrow"
expect_config_rejected "$T/word.conf" 'grace_until = "tomorrow"'

check_no_secrets "$S" "$PW" "$(printf 'sinch:%s' "$PW" | base64 -w 0)"

check_one_access_line_each

finish
