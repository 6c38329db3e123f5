#!/usr/bin/env bash
#
# t_auth_secrets.sh - where secrets come from, reloading them, and keeping
# them out of every output.
#
# 1. $CREDENTIALS_DIRECTORY: signature secret_files = [ "sig.key" ] and
#    password_file = "basic.pw" (relative) are read from it, not from the
#    working directory (which holds decoys of the same names); one
#    trailing newline is not part of a secret.  Run with -v (debug).
# 2. SIGHUP re-reads them: new files (the password file ending in two
#    newlines: the password keeps one; the key file without a newline),
#    SIGHUP -> the new ones pass, the old ones -> 401.
# 3. SIGHUP while the password file is missing: the daemon keeps running
#    and never lets a callback without credentials through; the file
#    back and SIGHUP -> its password passes.
# 4. -t, exit 2 with a message naming the key and the path but no secret:
#    a missing signature secret file, password_file, client secret_file,
#    key_file; a password_file that is a directory; a relative name that
#    exists only in the working directory while $CREDENTIALS_DIRECTORY is
#    set.  Exit 2 as well: basic and oauth2 together, three signature
#    secrets, none.  A valid configuration using all of them -> 0.
# 5. No secret (nor a Basic header carrying one) is in the daemons'
#    stderr or stdout, the records, or any -t output.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

[[ $BIN == /* ]] || BIN=$PWD/$BIN

S_CRED='e2e-cred-sig-Fh28qX'
PW_CRED='e2e-cred-pw-Ub57nC'
S_NEW='e2e-new-sig-Ya13wE'
PW_NEW='e2e-new-pw-Jo46tD'
S_INLINE='e2e-inline-sig-Mm80zG'
S_READ='e2e-readable-sig-Qe39vB'
CS_INLINE='e2e-inline-client-Wd72kH'
DECOY='e2e-decoy-Lp05rN'
CRED=$T/creds
CWD=$T/cwd
mkdir -p "$CRED" "$CWD" "$T/auth"
printf '%s\n' "$S_CRED" >"$CRED/sig.key"
printf '%s\n' "$PW_CRED" >"$CRED/basic.pw"
printf '%s\n' "$DECOY" >"$CWD/sig.key"
printf '%s\n' "$DECOY" >"$CWD/basic.pw"
printf '%s\n' "$DECOY" >"$CWD/only-here.pw"
printf '%s\n' "$S_READ" >"$T/auth/readable.key"
head -c 48 /dev/urandom | base64 -w 0 >"$T/auth/oauth.key"
KEY=$(cat "$T/auth/oauth.key")

# call CODE WHAT SIG-SECRET PASSWORD: a new callback signed now with
# SIG-SECRET, with sinch:PASSWORD (no Authorization if PASSWORD is "-");
# sets LAST_STATUS.  With CODE "any" nothing is checked.
call()
{
	local code=$1 what=$2 n ts h auth=()

	hook_body "$T/b" "$what"
	n=$(sig_nonce)
	ts=$(date +%s)
	mapfile -t h < <(sig_headers "$(sig_sign "$3" "$T/b" "$n" "$ts")" \
	    "$n" "$ts")
	[[ $4 != - ]] && auth=(-H "Authorization: $(basic_header sinch "$4")")
	if [[ $code == any ]]; then
		request -H 'Content-Type: application/json' \
		    --data-binary "@$T/b" "${h[@]}" "${auth[@]}" "$URL"
		return 0
	fi
	post_file "$code" "$T/b" "${h[@]}" "${auth[@]}" ||
	    { note "  ($what)"; return 1; }
	if [[ $code == 200 ]]; then
		check_record "$T/b" "$LAST_ID"
	elif [[ $code == 401 ]]; then
		expect_header WWW-Authenticate . "$what"
	fi
	return 0
}

# call_ok_now SIG-SECRET PASSWORD: a callback with these credentials is
# answered 200 (for wait_for; the refusals before do no harm).
call_ok_now()
{
	call any "after SIGHUP" "$1" "$2"
	[[ $LAST_STATUS == 200 ]] || return 1
	check_record "$T/b" "$LAST_ID"
}

# rejected_naming FILE WHAT KEY PATH: -t exits 2, and stderr names KEY and
# PATH and holds none of the secrets.
rejected_naming()
{
	local s

	expect_config_rejected "$1" "$2" || return 1
	grep -a -q -F -- "$3" "$T/check.err" ||
	    check_fail "$2: the message does not name the key $3:" \
		"$(head -c 300 "$T/check.err")"
	grep -a -q -F -- "$4" "$T/check.err" ||
	    check_fail "$2: the message does not name the path $4:" \
		"$(head -c 300 "$T/check.err")"
	for s in "$S_INLINE" "$S_READ" "$CS_INLINE" "$KEY" "$S_CRED" \
	    "$PW_CRED" "$DECOY"; do
		grep -a -q -F -- "$s" "$T/check.err" "$T/check.out" &&
		    check_fail "$2: a secret (${s:0:3}...) is in -t's output"
	done
	cp "$T/check.err" "$T/check.$RANDOM.err"
}

SIGAUTH='  signature = { secret_files = [ "sig.key" ]; };
  basic = { username = "sinch"; password_file = "basic.pw"; };'

# --- 1. credentials directory --------------------------------------------------------
auth_config "$T/cred.conf" "$SIGAUTH"
cd "$CWD" || fail "cd $CWD"
export CREDENTIALS_DIRECTORY=$CRED
start_daemon "$T/cred.conf" -v
unset CREDENTIALS_DIRECTORY
cd "$SRCDIR" || fail "cd $SRCDIR"
call 200 "from the credentials directory" "$S_CRED" "$PW_CRED"
call 401 "decoy signature secret (working directory)" "$DECOY" "$PW_CRED"
call 401 "decoy password (working directory)" "$S_CRED" "$DECOY"
call 401 "no credentials" "$DECOY" -

# --- 2. SIGHUP re-reads the files ----------------------------------------------------
printf '%s\n\n' "$PW_NEW" >"$CRED/basic.pw.tmp"
mv "$CRED/basic.pw.tmp" "$CRED/basic.pw"
printf '%s' "$S_NEW" >"$CRED/sig.key.tmp"
mv "$CRED/sig.key.tmp" "$CRED/sig.key"
kill -HUP "$DAEMON_PID" || fail "the daemon is gone"
wait_for 15 call_ok_now "$S_NEW" "$PW_NEW"$'\n' ||
    check_fail "SIGHUP: the new signature secret and password (one of" \
	"the file's two newlines kept) are not accepted within 15 s:" \
	"status $LAST_STATUS $(last_body_excerpt)"
call 401 "after SIGHUP: the old password" "$S_NEW" "$PW_CRED"
call 401 "after SIGHUP: the old signature secret" "$S_CRED" "$PW_NEW"$'\n'
call 401 "after SIGHUP: the new password without the kept newline" \
    "$S_NEW" "$PW_NEW"

# --- 3. SIGHUP with a file missing ---------------------------------------------------
rm -f "$CRED/basic.pw"
kill -HUP "$DAEMON_PID" || fail "the daemon is gone"
sleep 1
pid_running "$DAEMON_PID" ||
    fail "the daemon died on SIGHUP with its password file missing:" \
	"$(tail -n 3 "$DAEMON_STDERR")"
call any "missing password file: no credentials" "$S_NEW" -
[[ $LAST_STATUS == 200 ]] &&
    check_fail "SIGHUP with the password file missing: a callback" \
	"without credentials was answered 200"
note "after SIGHUP with basic.pw missing: no credentials -> $LAST_STATUS;" \
    "log: $(grep -a -i -E 'basic\.pw|password_file' "$DAEMON_STDERR" |
    tail -n 1 | head -c 200)"
call any "missing password file: the last password" "$S_NEW" "$PW_NEW"$'\n'
note "after SIGHUP with basic.pw missing: the last password -> $LAST_STATUS"
printf '%s\n' "$PW_CRED" >"$CRED/basic.pw"
kill -HUP "$DAEMON_PID" || fail "the daemon is gone"
wait_for 15 call_ok_now "$S_NEW" "$PW_CRED" ||
    check_fail "the password file back and SIGHUP: its password is not" \
	"accepted within 15 s"
check_ids_match "$OK_IDS" "$REPORTS"
stop_daemon_clean

# --- 4. -t ------------------------------------------------------------------------------
auth_config "$T/c1.conf" "  signature = { secrets = [ \"$S_INLINE\" ];
    secret_files = [ \"$T/auth/missing.key\" ]; };"
rejected_naming "$T/c1.conf" "missing signature secret file" secret_files \
    "$T/auth/missing.key"
auth_config "$T/c2.conf" "  signature = { secret_files = [ \"$T/auth/readable.key\" ]; };
  basic = { username = \"sinch\"; password_file = \"$T/auth/missing.pw\"; };"
rejected_naming "$T/c2.conf" "missing password_file" password_file \
    "$T/auth/missing.pw"
auth_config "$T/c3.conf" "  oauth2 = { clients = (
      { id = \"a\"; secret = \"$CS_INLINE\"; },
      { id = \"b\"; secret_file = \"$T/auth/missing.cs\"; } );
    key_file = \"$T/auth/oauth.key\"; };"
rejected_naming "$T/c3.conf" "missing client secret_file" secret_file \
    "$T/auth/missing.cs"
auth_config "$T/c4.conf" "  oauth2 = { clients = ( { id = \"a\"; secret = \"$CS_INLINE\"; } );
    key_file = \"$T/auth/missing.key\"; };"
rejected_naming "$T/c4.conf" "missing key_file" key_file "$T/auth/missing.key"
mkdir -p "$T/auth/dir.pw"
auth_config "$T/c5.conf" "  basic = { username = \"sinch\"; password_file = \"$T/auth/dir.pw\"; };"
rejected_naming "$T/c5.conf" "password_file is a directory" password_file \
    "$T/auth/dir.pw"
auth_config "$T/c6.conf" '  basic = { username = "sinch"; password_file = "only-here.pw"; };'
cd "$CWD" || fail "cd $CWD"
export CREDENTIALS_DIRECTORY=$CRED
rejected_naming "$T/c6.conf" \
    "relative password_file only in the working directory" \
    password_file only-here.pw
unset CREDENTIALS_DIRECTORY
cd "$SRCDIR" || fail "cd $SRCDIR"

auth_config "$T/c7.conf" "  basic = { username = \"sinch\"; password = \"x\"; };
  oauth2 = { clients = ( { id = \"a\"; secret = \"$CS_INLINE\"; } );
    key_file = \"$T/auth/oauth.key\"; };"
expect_config_rejected "$T/c7.conf" "basic and oauth2 together"
auth_config "$T/c8.conf" "  signature = { secrets = [ \"$S_INLINE\", \"b\" ];
    secret_files = [ \"$T/auth/readable.key\" ]; };"
expect_config_rejected "$T/c8.conf" "three signature secrets"
auth_config "$T/c9.conf" '  signature = { max_skew_s = 0; };'
expect_config_rejected "$T/c9.conf" "no signature secret"

auth_config "$T/ok.conf" "  signature = { secrets = [ \"$S_INLINE\" ];
    secret_files = [ \"$T/auth/readable.key\" ]; max_skew_s = 300; };
  oauth2 = { clients = ( { id = \"a\"; secret = \"$CS_INLINE\"; },
                         { id = \"b\"; secret_file = \"$T/auth/readable.key\"; } );
    key_file = \"$T/auth/oauth.key\"; token_ttl_s = 600; path = \"/oauth2/token\"; };
  allow_from = [ \"127.0.0.1/32\", \"::1/128\" ];
  trusted_proxies = [ \"127.0.0.1/32\" ];
  grace_until = \"2030-01-01T00:00:00Z\";"
timeout -k 5 30 "$BIN" -v -t -c "$T/ok.conf" >"$T/valid.out" 2>"$T/valid.err"
rc=$?
((rc == 0)) || check_fail "-t on a valid auth configuration: exit $rc:" \
    "$(head -c 300 "$T/valid.err")"

# --- 5. no secret anywhere ------------------------------------------------------------
check_no_secrets "$S_CRED" "$PW_CRED" "$S_NEW" "$PW_NEW" "$S_INLINE" \
    "$S_READ" "$CS_INLINE" "$KEY" "$DECOY" \
    "$(printf 'sinch:%s' "$PW_CRED" | base64 -w 0)" \
    "$(printf 'sinch:%s\n' "$PW_NEW" | base64 -w 0)"

check_one_access_line_each

finish
