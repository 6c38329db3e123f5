#!/usr/bin/env bash
#
# t_auth_basic.sh - HTTP Basic authentication of callbacks.
#
# 1. auth.basic with password_file (the password holds a ':' and the file
#    ends in a newline that is not part of it): the right credentials ->
#    200 and the record; no Authorization, a wrong password, the password
#    minus or plus a character, a wrong user, no password, Basic without
#    credentials, credentials that are not Base64, another scheme ->
#    401 with `WWW-Authenticate: Basic realm="sinch-webhookd"`, a
#    one-line reason, an access line ("info: access: id=... remote=
#    127.0.0.1 type=... status=401 ..."), and no record.  Decided from the
#    headers: a raw request announcing 1000000 bytes that never come gets
#    its 401 at once, without credentials, with wrong ones, and with
#    Expect: 100-continue.
# 2. auth.basic with password = "..." inline: the same for right and wrong.
# No password is in the daemon's output or in the records.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

USER_NAME=sinch
PW='e2e-basic:Pw-4s8Q'		# a ':' in a password is allowed
PW_INLINE='e2e-basic-inline-N3vR'
CHALLENGE='^Basic realm="sinch-webhookd"'

mkdir -p "$T/auth"
printf '%s\n' "$PW" >"$T/auth/basic.pw"

# basic_ok WHAT USER PASSWORD: a new callback with those credentials ->
# 200 and its record.
basic_ok()
{
	hook_body "$T/b" "$1"
	post_file 200 "$T/b" -H "Authorization: $(basic_header "$2" "$3")" &&
	    check_record "$T/b" "$LAST_ID" && expect_access_line "$LAST_ID" 200
}

# basic_refused WHAT CURL-ARGS...: a new callback -> 401 with the challenge.
basic_refused()
{
	local what=$1

	shift
	hook_body "$T/b" "$what"
	refused 401 "$CHALLENGE" "$what" -H 'Content-Type: application/json' \
	    --data-binary "@$T/b" "$@" "$URL"
}

# --- 1. password_file -----------------------------------------------------------
auth_config "$T/basic.conf" "  basic = { username = \"$USER_NAME\";
    password_file = \"$T/auth/basic.pw\"; };"
start_daemon "$T/basic.conf"

basic_ok "right credentials" "$USER_NAME" "$PW"
# curl -u sends the same header.
hook_body "$T/b" "curl -u"
post_file 200 "$T/b" -u "$USER_NAME:$PW" && check_record "$T/b" "$LAST_ID"

basic_refused "no Authorization header"
note "401 reason: $(head -n 1 "$T/last.body")"
note "401 challenge: $(header_value WWW-Authenticate)"
expect_header WWW-Authenticate '^Basic realm="sinch-webhookd"(, *charset="?UTF-8"?)?$' \
    "no Authorization header"
[[ -n $LAST_ID ]] &&
    expect_log "^info: access: id=$LAST_ID remote=127\\.0\\.0\\.1 type=[^ ]+ status=401( |\$)" \
	"the access line of a 401"
basic_refused "wrong password" -H "Authorization: $(basic_header "$USER_NAME" wrong)"
basic_refused "password minus its last character" \
    -H "Authorization: $(basic_header "$USER_NAME" "${PW%?}")"
basic_refused "password plus a character" \
    -H "Authorization: $(basic_header "$USER_NAME" "${PW}x")"
basic_refused "password with the file's newline" \
    -H "Authorization: $(basic_header "$USER_NAME" "$PW"$'\n')"
basic_refused "wrong user" -H "Authorization: $(basic_header sinch2 "$PW")"
basic_refused "user in other case" -H "Authorization: $(basic_header SINCH "$PW")"
basic_refused "empty user" -H "Authorization: $(basic_header "" "$PW")"
basic_refused "no password" \
    -H "Authorization: Basic $(printf '%s' "$USER_NAME" | base64 -w 0)"
basic_refused "empty password" -H "Authorization: $(basic_header "$USER_NAME" "")"
basic_refused "Basic without credentials" -H 'Authorization: Basic'
basic_refused "credentials not Base64" -H 'Authorization: Basic !!!not*base64'
basic_refused "Bearer instead of Basic" \
    -H "Authorization: Bearer $(printf '%s:%s' "$USER_NAME" "$PW" | base64 -w 0)"
basic_refused "password in the clear" -H "Authorization: Basic $USER_NAME:$PW"

# Decided before the body is read.
expect_early 401 127.0.0.1 "" "no credentials"
expect_early 401 127.0.0.1 "Authorization: $(basic_header "$USER_NAME" wrong)\r\n" \
    "wrong credentials"
expect_early 401 127.0.0.1 "Expect: 100-continue\r\n" \
    "no credentials, Expect: 100-continue"

# Still fine afterwards.
basic_ok "right credentials after the refusals" "$USER_NAME" "$PW"
check_ids_match "$OK_IDS" "$REPORTS"
cp "$OK_IDS" "$T/ok.1"
stop_daemon_clean

# --- 2. password inline -------------------------------------------------------------
auth_config "$T/inline.conf" "  basic = { username = \"$USER_NAME\";
    password = \"$PW_INLINE\"; };"
start_daemon "$T/inline.conf"
basic_ok "inline password" "$USER_NAME" "$PW_INLINE"
basic_refused "inline: the other test's password" \
    -H "Authorization: $(basic_header "$USER_NAME" "$PW")"
basic_refused "inline: no credentials"
expect_early 401 127.0.0.1 "" "inline: no credentials"
cat "$T/ok.1" "$OK_IDS" >"$T/ok.2"
stop_daemon_clean
check_ids_match "$T/ok.2" "$REPORTS"

check_no_secrets "$PW" "$PW_INLINE" "${PW#*:}" \
    "$(printf '%s:%s' "$USER_NAME" "$PW" | base64 -w 0)" \
    "$(printf '%s:%s' "$USER_NAME" "$PW_INLINE" | base64 -w 0)"

check_one_access_line_each

finish
