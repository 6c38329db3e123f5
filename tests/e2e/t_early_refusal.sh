#!/usr/bin/env bash
#
# t_early_refusal.sh - an answer given before the body is read reaches a
# client that is still sending it, instead of a connection reset.
#
# The body is 3 MiB against limits.max_body_bytes = 1 MiB, so 413 is
# decided from Content-Length before any of it is read.
# 1. Python's http.client (sends the whole body, then reads): 413, three
#    times in a row; a raw socket with one sendall() of headers and body,
#    then a read: 413; curl without Expect: 413, curl exit 0; curl with
#    Expect: 100-continue: 413 at once, no 100 Continue.
# 2. A chunked 3 MiB body (no Content-Length): 413 at its end.
# 3. Other refusals made from the headers while a 3 MiB body follows:
#    404 for another path, 401 without the Basic credentials.
# 4. The same 413 over HTTPS (http.client and a raw TLS socket).
# After each part a normal callback on the same daemon is answered 200.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

EARLY=$E2E_DIR/early.py
SIZE=$((3 << 20))
CAFILE=""

# early WANT MODE ARGS...: runs early.py; its printed status must be WANT.
early()
{
	local want=$1 out

	shift
	out=$(timeout -k 5 90 python3 "$EARLY" "$@" ${CAFILE:+--cafile \
	    "$CAFILE"} 2>&1)
	if [[ $out != "$want"* && $out != *" $want "* ]]; then
		check_fail "early.py $*: '${out:0:200}', expected $want"
		return 1
	fi
	return 0
}

# still_serving WHAT: a new callback is answered 200 and recorded.
still_serving()
{
	hook_body "$T/b" "after $1"
	post_file 200 "$T/b" ${CAFILE:+--cacert "$CAFILE"} &&
	    check_record "$T/b" "$LAST_ID"
}

head -c "$SIZE" /dev/zero | tr '\0' 'x' >"$T/big.json"

# --- 1. 413 by Content-Length ---------------------------------------------------
start_daemon
for i in 1 2 3; do
	early 413 httpclient "$URL" "$SIZE"
done
early "HTTP/1.1 413" raw 127.0.0.1 "$PORT" /sinch/sms "$SIZE"
expect_status 413 -H 'Expect:' -H 'Content-Type: application/json' \
    --data-binary "@$T/big.json" "$URL" ||
    note "curl without Expect: $(head -c 200 "$T/last.curlerr")"
if ! curl -sS --max-time 30 -o /dev/null -v -H 'Expect: 100-continue' \
    -H 'Content-Type: application/json' --data-binary "@$T/big.json" \
    "$URL" >"$T/expect.out" 2>&1; then
	check_fail "curl with Expect: 100-continue failed:" \
	    "$(tail -n 3 "$T/expect.out" | tr '\n' ' ')"
fi
grep -q '^< HTTP/1.1 413' "$T/expect.out" ||
    check_fail "curl with Expect: 100-continue did not read 413"
! grep -q '^< HTTP/1.1 100' "$T/expect.out" ||
    check_fail "curl with Expect: 100-continue was told to go on (100)"
still_serving "413 by Content-Length"

# --- 2. 413 for a chunked body ----------------------------------------------------
early 413 httpclient "$URL" "$SIZE" --chunked
still_serving "a chunked 413"

# --- 3. 404 and 401 from the headers ------------------------------------------------
early 404 httpclient "$BASE/elsewhere" "$SIZE"
stop_daemon_clean
mkdir -p "$T/auth"
printf 'early-refusal-pw\n' >"$T/auth/basic.pw"
write_config "$T/basic.conf"
cat >>"$T/basic.conf" <<EOF
auth = { basic = { username = "sinch"; password_file = "$T/auth/basic.pw"; }; };
EOF
start_daemon "$T/basic.conf"
early 401 httpclient "$URL" "$SIZE"
early "HTTP/1.1 401" raw 127.0.0.1 "$PORT" /sinch/sms "$SIZE"
hook_body "$T/b" "after 401"
post_file 200 "$T/b" -u 'sinch:early-refusal-pw' &&
    check_record "$T/b" "$LAST_ID"
stop_daemon_clean

# --- 4. HTTPS ---------------------------------------------------------------------
if [[ -z $(tls_tool) ]]; then
	check_fail "neither certtool nor openssl is installed (install-deps)"
else
	tls_ca "$T/pki" ca
	tls_cert "$T/pki" server ca server
	CAFILE=$T/pki/ca.pem
	write_config "$T/tls.conf"
	cat >>"$T/tls.conf" <<EOF
tls = { cert = "$T/pki/server.pem"; key = "$T/pki/server.key"; };
EOF
	start_daemon_tls "$T/tls.conf"
	early 413 httpclient "$URL" "$SIZE"
	early "HTTP/1.1 413" raw 127.0.0.1 "$PORT" /sinch/sms "$SIZE" --tls
	still_serving "413 over HTTPS"
	stop_daemon_clean
fi

check_one_access_line_each
finish
