#!/usr/bin/env bash
#
# t_tls.sh - HTTPS and client certificates.
#
# Certificates are made here (certtool, else openssl): CA 1, a server
# certificate from it for localhost / 127.0.0.1 / ::1, two client
# certificates from CA 1 (good1, good2), CA 2 and a client certificate
# from it (bad).
# 1. tls.cert and tls.key: curl --cacert ca1.pem https://... -> 200 and
#    the record; plain HTTP to the port -> no 200 and no record; without
#    --cacert -> the certificate is not trusted (harness check); TLS 1.0
#    and 1.1 offered (curl --tlsv1.0 --tls-max 1.1, with OpenSSL's
#    security level lowered so that curl really offers them) -> handshake
#    failure; TLS 1.2 with the same options -> 200.
# 2. tls.client_ca = ca1.pem: no client certificate, or bad (CA 2) ->
#    handshake failure or 403, never a record; good1 and good2 -> 200.
# 3. client_fingerprints = [ good1's SHA-256, upper case with ':' ]:
#    good1 -> 200; good2 (same CA, not pinned) -> 403 and its access
#    line; no certificate, bad -> handshake failure or 403.
# 4. -t: a fingerprint in lower case without ':' -> 0; one digit short or
#    not sha256 -> exit 2.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

if [[ -z $(tls_tool) ]]; then
	echo "t_tls: neither certtool nor openssl is installed: not run"
	finish
fi
note "certificates made with $(tls_tool)"
P=$T/pki
tls_ca "$P" ca1
tls_cert "$P" server ca1 server
tls_cert "$P" good1 ca1 client
tls_cert "$P" good2 ca1 client
tls_ca "$P" ca2
tls_cert "$P" bad ca2 client
CA=(--cacert "$P/ca1.pem")
GOOD1=(--cert "$P/good1.pem" --key "$P/good1.key")
GOOD2=(--cert "$P/good2.pem" --key "$P/good2.key")
BAD=(--cert "$P/bad.pem" --key "$P/bad.key")
LEGACY=(--ciphers 'DEFAULT:@SECLEVEL=0')
SERVER="  cert = \"$P/server.pem\"; key = \"$P/server.key\";"

# tls_ok WHAT CURL-ARGS...: a new callback over HTTPS -> 200, its record.
tls_ok()
{
	local what=$1

	shift
	hook_body "$T/b" "$what"
	post_file 200 "$T/b" "${CA[@]}" "$@" || { note "  ($what)"; return 1; }
	check_record "$T/b" "$LAST_ID" && expect_access_line "$LAST_ID" 200
}

# not_taken WHAT CURL-ARGS...: a new callback is not answered 200 and
# leaves no record.  Sets LAST_STATUS ("000": no HTTP answer).
not_taken()
{
	local what=$1 before

	shift
	hook_body "$T/b" "$what"
	before=$(count_records)
	request --max-time 15 -H 'Content-Type: application/json' \
	    --data-binary "@$T/b" "$@" "$URL"
	[[ $LAST_STATUS != 200 ]] ||
	    check_fail "$what: answered 200"
	(($(count_records) == before)) ||
	    check_fail "$what: a record was written"
}

# tls_refused WHAT CURL-ARGS...: a handshake failure or 403, no record.
tls_refused()
{
	local what=$1

	shift
	not_taken "$what" "${CA[@]}" "$@"
	case $LAST_STATUS in
	000)
		note "$what: handshake failure:" \
		    "$(head -n 1 "$T/last.curlerr" | head -c 160)"
		;;
	403)
		note "$what: 403"
		[[ -n $LAST_ID ]] && expect_access_line "$LAST_ID" 403
		;;
	*)
		check_fail "$what: status $LAST_STATUS, expected a handshake" \
		    "failure or 403"
		;;
	esac
}

# --- 1. HTTPS -------------------------------------------------------------------
auth_config "$T/tls1.conf" "" "$SERVER"
start_daemon_tls "$T/tls1.conf"
tls_ok "HTTPS"
tls_ok "HTTPS, TLS 1.2 with legacy ciphers allowed" --tlsv1.2 --tls-max 1.2 "${LEGACY[@]}"
request --tlsv1.3 "${CA[@]}" -H 'Content-Type: application/json' \
    --data-binary "@$T/b" "$URL"
note "TLS 1.3: status $LAST_STATUS (not required)"
[[ $LAST_STATUS == 200 ]] && forget_last_ok

PLAIN_URL=http://127.0.0.1:$PORT/sinch/sms
SAVED_URL=$URL
URL=$PLAIN_URL
not_taken "plain HTTP to the HTTPS port"
note "plain HTTP: status $LAST_STATUS, $(head -n 1 "$T/last.curlerr" | head -c 120)"
URL=$SAVED_URL
not_taken "HTTPS without trusting CA 1 (harness check)"
[[ $LAST_STATUS == 000 ]] ||
    check_fail "the server's certificate was accepted without its CA"
not_taken "TLS 1.0/1.1 only" "${CA[@]}" --tlsv1.0 --tls-max 1.1 "${LEGACY[@]}"
[[ $LAST_STATUS == 000 ]] ||
    check_fail "TLS 1.0/1.1: status $LAST_STATUS, expected a handshake failure"
note "TLS 1.0/1.1: $(head -n 1 "$T/last.curlerr" | head -c 160)"
not_taken "TLS 1.1 only" "${CA[@]}" --tlsv1.1 --tls-max 1.1 "${LEGACY[@]}"
not_taken "TLS 1.0 only" "${CA[@]}" --tlsv1.0 --tls-max 1.0 "${LEGACY[@]}"
pid_running "$DAEMON_PID" || fail "the daemon died"
tls_ok "HTTPS after the refusals"
check_ids_match "$OK_IDS" "$REPORTS"
cat "$OK_IDS" >>"$T/ok.all"
stop_daemon_clean

# --- 2. client certificates from CA 1 ------------------------------------------
auth_config "$T/tls2.conf" "" "$SERVER
  client_ca = \"$P/ca1.pem\";"
start_daemon_tls "$T/tls2.conf"
tls_refused "client_ca: no client certificate"
tls_refused "client_ca: certificate from CA 2" "${BAD[@]}"
tls_ok "client_ca: good1" "${GOOD1[@]}"
tls_ok "client_ca: good2" "${GOOD2[@]}"
tls_refused "client_ca: no client certificate, TLS 1.2" --tls-max 1.2
tls_refused "client_ca: certificate from CA 2, TLS 1.2" --tls-max 1.2 "${BAD[@]}"
tls_ok "client_ca: good1, TLS 1.2" --tls-max 1.2 "${GOOD1[@]}"
cat "$OK_IDS" >>"$T/ok.all"
stop_daemon_clean
check_ids_match "$T/ok.all" "$REPORTS"

# --- 3. pinned by fingerprint ---------------------------------------------------------
FP1=$(cert_sha256 "$P/good1.pem")
FP2=$(cert_sha256 "$P/good2.pem")
[[ $FP1 =~ ^[0-9a-f]{64}$ && $FP1 != "$FP2" ]] ||
    fail "harness: fingerprints '$FP1' '$FP2'"
if command -v openssl >/dev/null 2>&1; then
	o=$(openssl x509 -noout -fingerprint -sha256 -in "$P/good1.pem" |
	    sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
	[[ $o == "$FP1" ]] || check_fail "harness: fingerprint $FP1, openssl says $o"
fi
FP1_COLONS=$(tr 'a-f' 'A-F' <<<"$FP1" | sed -E 's/(..)/\1:/g; s/:$//')
auth_config "$T/tls3.conf" "" "$SERVER
  client_ca = \"$P/ca1.pem\";
  client_fingerprints = [ \"sha256:$FP1_COLONS\" ];"
start_daemon_tls "$T/tls3.conf"
tls_ok "pinned: good1" "${GOOD1[@]}"
hook_body "$T/b" "pinned: good2 (not pinned)"
expect_status 403 "${CA[@]}" "${GOOD2[@]}" -H 'Content-Type: application/json' \
    --data-binary "@$T/b" "$URL" && [[ -n $LAST_ID ]] &&
    expect_access_line "$LAST_ID" 403
tls_refused "pinned: no client certificate"
tls_refused "pinned: certificate from CA 2" "${BAD[@]}"
tls_ok "pinned: good1 again" "${GOOD1[@]}"
cat "$OK_IDS" >>"$T/ok.all"
stop_daemon_clean
check_ids_match "$T/ok.all" "$REPORTS"

# --- 4. -t on fingerprints ------------------------------------------------------------
auth_config "$T/fp_plain.conf" "" "$SERVER
  client_ca = \"$P/ca1.pem\";
  client_fingerprints = [ \"sha256:$FP2\", \"sha256:$FP1_COLONS\" ];"
if ! timeout -k 5 30 "$BIN" -t -c "$T/fp_plain.conf" >"$T/fp.out" 2>"$T/fp.err"
then
	check_fail "-t: two fingerprints (lower case, and with ':') rejected:" \
	    "$(head -c 300 "$T/fp.err")"
fi
auth_config "$T/fp_short.conf" "" "$SERVER
  client_ca = \"$P/ca1.pem\";
  client_fingerprints = [ \"sha256:${FP1:1}\" ];"
expect_config_rejected "$T/fp_short.conf" "fingerprint of 63 hex digits"
auth_config "$T/fp_md5.conf" "" "$SERVER
  client_ca = \"$P/ca1.pem\";
  client_fingerprints = [ \"md5:${FP1:0:32}\" ];"
expect_config_rejected "$T/fp_md5.conf" "md5 fingerprint"

check_one_access_line_each

finish
