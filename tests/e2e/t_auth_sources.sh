#!/usr/bin/env bash
#
# t_auth_sources.sh - source addresses: allow_from and trusted_proxies.
#
# 1. Listening on ::1 with allow_from = [ "127.0.0.1/32" ]: a callback
#    from ::1 -> 403 with an access line "remote=::1 ... status=403", no
#    record; decided before the body is read (a raw request announcing
#    1000000 bytes gets its 403 at once).
# 2. On ::1 with allow_from = [ "::1/128" ] -> 200 and the record.
# 3. On 127.0.0.1, allow_from = [ "192.0.2.0/24" ], no trusted_proxies:
#    X-Forwarded-For: 192.0.2.7 is not believed -> 403 (also at once);
#    without it -> 403.
# 4. The same with trusted_proxies = [ "127.0.0.1/32" ]: XFF 192.0.2.7
#    -> 200; "192.0.2.7, 198.51.100.1" (the rightmost untrusted address
#    is not allowed) -> 403; "198.51.100.1, 192.0.2.7" and
#    "192.0.2.7, 127.0.0.1" (rightmost untrusted allowed) -> 200; no XFF
#    (the proxy itself) -> 403; XFF that is not an address -> 403.
# 5. allow_from with several entries ("10.0.0.0/8", "127.0.0.0/8") -> 200
#    from 127.0.0.1.
# 6. -t: "127.0.0.1/33", "::1/129", "not-an-address" -> exit 2.
# Only the 200s have records.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

# allowed WHAT CURL-ARGS...: a new callback -> 200 and its record.
allowed()
{
	local what=$1

	shift
	hook_body "$T/b" "$what"
	post_file 200 "$T/b" -g "$@" || { note "  ($what)"; return 1; }
	check_record "$T/b" "$LAST_ID" && expect_access_line "$LAST_ID" 200
}

# forbidden WHAT CURL-ARGS...: a new callback -> 403 and its access line.
forbidden()
{
	local what=$1

	shift
	hook_body "$T/b" "$what"
	post_file 403 "$T/b" -g "$@" || { note "  ($what)"; return 1; }
	if [[ -n $LAST_ID ]]; then
		expect_access_line "$LAST_ID" 403
	else
		expect_log 'access: .*status=403( |$)' "$what"
	fi
}

# --- 1. ::1 not allowed -------------------------------------------------------------
auth_config "$T/s1.conf" '  allow_from = [ "127.0.0.1/32" ];' "" "::1"
start_daemon "$T/s1.conf"
use_base http "[::1]"
forbidden "from ::1, allow_from 127.0.0.1/32"
note "403: $(head -n 1 "$T/last.body")"
[[ -n $LAST_ID ]] &&
    expect_log "access: id=$LAST_ID remote=(\\[)?::1(\\])?[ :].*status=403" \
	"access line of the 403 names remote ::1"
expect_early 403 ::1 "" "from ::1, allow_from 127.0.0.1/32"
(($(count_records) == 0)) || check_fail "a 403 left a record"
stop_daemon_clean

# --- 2. ::1 allowed ----------------------------------------------------------------
auth_config "$T/s2.conf" '  allow_from = [ "::1/128" ];' "" "::1"
start_daemon "$T/s2.conf"
use_base http "[::1]"
allowed "from ::1, allow_from ::1/128"
cat "$OK_IDS" >>"$T/ok.all"
stop_daemon_clean

# --- 3. X-Forwarded-For without trusted proxies -------------------------------------
auth_config "$T/s3.conf" '  allow_from = [ "192.0.2.0/24" ];'
start_daemon "$T/s3.conf"
forbidden "XFF 192.0.2.7 from an untrusted peer" -H 'X-Forwarded-For: 192.0.2.7'
forbidden "no XFF, 127.0.0.1 not allowed"
expect_early 403 127.0.0.1 "X-Forwarded-For: 192.0.2.7\r\n" \
    "XFF from an untrusted peer"
stop_daemon_clean

# --- 4. with a trusted proxy ------------------------------------------------------------
auth_config "$T/s4.conf" '  allow_from = [ "192.0.2.0/24" ];
  trusted_proxies = [ "127.0.0.1/32" ];'
start_daemon "$T/s4.conf"
allowed "XFF 192.0.2.7 from a trusted proxy" -H 'X-Forwarded-For: 192.0.2.7'
forbidden "XFF 192.0.2.7, 198.51.100.1" \
    -H 'X-Forwarded-For: 192.0.2.7, 198.51.100.1'
allowed "XFF 198.51.100.1, 192.0.2.7" \
    -H 'X-Forwarded-For: 198.51.100.1, 192.0.2.7'
allowed "XFF 192.0.2.7, 127.0.0.1 (a trusted proxy on the right)" \
    -H 'X-Forwarded-For: 192.0.2.7, 127.0.0.1'
forbidden "no XFF from the trusted proxy itself"
forbidden "XFF not an address" -H 'X-Forwarded-For: not-an-address'
expect_early 403 127.0.0.1 "X-Forwarded-For: 192.0.2.7, 198.51.100.1\r\n" \
    "XFF whose rightmost untrusted address is not allowed"
cat "$OK_IDS" >>"$T/ok.all"
stop_daemon_clean

# --- 5. several entries ---------------------------------------------------------------
auth_config "$T/s5.conf" '  allow_from = [ "10.0.0.0/8", "127.0.0.0/8" ];'
start_daemon "$T/s5.conf"
allowed "allow_from 10.0.0.0/8 and 127.0.0.0/8, from 127.0.0.1"
cat "$OK_IDS" >>"$T/ok.all"
stop_daemon_clean
check_ids_match "$T/ok.all" "$REPORTS"

# --- 6. -t ------------------------------------------------------------------------------
for cidr in 127.0.0.1/33 ::1/129 not-an-address; do
	auth_config "$T/bad.conf" "  allow_from = [ \"$cidr\" ];"
	expect_config_rejected "$T/bad.conf" "allow_from $cidr"
	auth_config "$T/bad.conf" "  allow_from = [ \"127.0.0.1/32\" ];
  trusted_proxies = [ \"$cidr\" ];"
	expect_config_rejected "$T/bad.conf" "trusted_proxies $cidr"
done

check_one_access_line_each

finish
