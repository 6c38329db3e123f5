#!/usr/bin/env bash
#
# t_send.sh - sinch-webhookd-send ($SINCH_WEBHOOKD_SEND), the tool that
# POSTs callback bodies the way Sinch does.
#
# 0. Usage errors (no file, -s with -S, -u without ':', --nonce without a
#    secret, -t 0, "-" twice, an unknown option) -> exit 2 and the
#    synopsis; -h and -V -> exit 0.
# 1. A plain daemon: a fixture -> "FILE: 200 ok", exit 0, its record (the
#    id printed by -v); three files in one run, one of them from stdin
#    ("-") -> three lines in order, exit 0, three records; a malformed
#    file -> "FILE: 400 <the daemon's reason>", exit 1, no record; good
#    and malformed together -> exit 1, the good one recorded; a missing
#    file among good ones -> exit 2, the others still sent.
# 2. A capture server (python3, here): what goes on the wire.  POST, the
#    body's bytes unchanged (CR, LF, NUL, 1.5 MB), Content-Type
#    application/json, no Expect; with -s the four signature headers: a
#    nonce of 26 Crockford base32 digits (a ULID whose time is now),
#    another one for each file, the timestamp now, the signature as the
#    harness computes it, algorithm HmacSHA256; with --nonce and
#    --timestamp the known answer of tests/data/e2e/auth/signed_body.* and
#    of the shared Sinch vector (when present); no Authorization without
#    credentials, Basic and Bearer exactly.  An empty answer body -> the
#    reason phrase; a two-line body -> its first line; control characters
#    -> '?'; 503 with Retry-After -> printed by -v, exit 1.  Secrets given
#    with -s, -u, -b are gone from /proc/PID/cmdline while the request is
#    in flight.  -t 1 against a server that does not answer -> exit 2.
# 3. auth.signature: -s and -S (file ending in a newline) -> 200; the
#    known-answer fixture with its nonce and timestamp -> 200; a wrong
#    secret -> 401, exit 1, no record.
# 4. auth.basic: -u and -U (password with ':', file ending in a newline)
#    -> 200; a wrong password -> 401, exit 1.
# 5. auth.oauth2: --token-url with the client id and secret file -> 200,
#    for a client whose secret needs form encoding too; a wrong client
#    secret -> exit 2 with the endpoint's answer, and no callback sent;
#    -b and -B with a token -> 200; a forged token -> 401, exit 1.
# 6. An unreachable URL -> exit 2 with libcurl's error text.
# 7. HTTPS with client_ca: --cacert with --client-cert/--client-key, or
#    with certificate and key in one file, or -k instead of --cacert ->
#    200; no --cacert -> exit 2; no client certificate or one from
#    another CA -> exit 2 (handshake) or 1 (403), never a record; a
#    missing certificate file -> exit 2.
# No secret is in the tool's output or the daemon's; the tool's stderr
# holds no sanitizer report.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

SEND=${SINCH_WEBHOOKD_SEND:-$SRCDIR/sinch-webhookd-send}
VECTORS=${SINCH_VECTORS:-$SRCDIR/../shared/vectors/sinch}
AUTHDATA=$DATADIR/auth
SEND_TIMEOUT=60		# one run of the tool, ASan build included

S1='e2e-send-sig-Hq72vN'
S2='e2e-send-sig-file-Lm40xC'
WRONG='e2e-send-wrong-Tt19pB'
USER_NAME=sinch
PW='e2e-send-basic:Pw-8kR2'
CID=sinch
CS='e2e-send-oauth-Cs-Zr61'
CID2=other-client
CS2='e2e s&e=n+d%h/2;Qv'	# needs form encoding
FORGED='AAAAe2e-send-forged-token-Yu35'

[[ -x $SEND ]] || fail "$SEND not found or not executable"
note "tool: $SEND"

mkdir -p "$T/auth" "$T/in"
printf '%s\n' "$S2" >"$T/auth/sig.key"
printf '%s:%s\n' "$USER_NAME" "$PW" >"$T/auth/basic"
printf '%s\n' "$CS" >"$T/auth/cs"
printf '%s\n' "$CS2" >"$T/auth/cs2"
printf '%s\n' wrong-client-secret >"$T/auth/cs.wrong"
head -c 48 /dev/urandom | base64 -w 0 >"$T/auth/oauth.key"
KEY=$(cat "$T/auth/oauth.key")

# ---------------------------------------------------------------------------
# Running the tool.

SEND_RC=""

# run_send ARGS...: runs the tool (bounded); its output stays in
# $T/send.out and $T/send.err, and is appended to $T/all-send.out and
# $T/all-send.err (check_no_secrets reads them).  Sets SEND_RC.
run_send()
{
	timeout -k 5 "$SEND_TIMEOUT" "$SEND" "$@" >"$T/send.out" 2>"$T/send.err"
	SEND_RC=$?
	cat "$T/send.out" >>"$T/all-send.out"
	cat "$T/send.err" >>"$T/all-send.err"
	if grep -a -q -E 'Sanitizer|runtime error:' "$T/send.err"; then
		check_fail "sanitizer report from the tool ($*):" \
		    "$(grep -a -m 3 -E 'Sanitizer|runtime error:' "$T/send.err")"
	fi
}

# The tool's output, for failure messages.
send_excerpt()
{
	cat "$T/send.out" "$T/send.err" | head -c 400 | tr '\n' '|'
}

# expect_send RC WHAT ARGS...: run_send, then compare the exit status.
expect_send()
{
	local want=$1 what=$2

	shift 2
	run_send "$@"
	if [[ $SEND_RC != "$want" ]]; then
		check_fail "$what: exit $SEND_RC, expected $want: $(send_excerpt)"
		return 1
	fi
	return 0
}

# expect_out REGEX WHAT: some line of the last run's stdout matches.
expect_out()
{
	grep -a -q -E -- "$1" "$T/send.out" && return 0
	check_fail "$2: no line /$1/ in the output: $(send_excerpt)"
}

# expect_err REGEX WHAT: some line of the last run's stderr matches.
expect_err()
{
	grep -a -q -E -- "$1" "$T/send.err" && return 0
	check_fail "$2: no line /$1/ on stderr: $(send_excerpt)"
}

# ids_of FILE: the X-Request-Id printed (-v) after FILE's line.
ids_of()
{
	awk -v f="$1: " 'index($0, f) == 1 { on = 1; next }
	    /^[^ ]/ { on = 0 }
	    on && /^  X-Request-Id: / { print $2 }' "$T/send.out"
}

# send_ok WHAT BODY ARGS...: the tool POSTs BODY (ARGS before the URL)
# -> exit 0, "BODY: 200 ok", and the record; its id goes to $OK_IDS.
send_ok()
{
	local what=$1 body=$2 id

	shift 2
	expect_send 0 "$what" -v "$@" "$URL" "$body" || return 1
	expect_out "^$body: 200 ok\$" "$what" || return 1
	id=$(ids_of "$body")
	echo "$id" >>"$OK_IDS"
	check_record "$body" "$id"
}

# send_refused RC CODE WHAT BODY ARGS...: exit RC, "BODY: CODE ...", and
# no new record.
send_refused()
{
	local rc=$1 code=$2 what=$3 body=$4 before

	shift 4
	before=$(count_records)
	expect_send "$rc" "$what" -v "$@" "$URL" "$body" &&
	    expect_out "^$body: $code( |\$)" "$what"
	(($(count_records) == before)) || check_fail "$what: a record was written"
	note "$what: $(head -n 1 "$T/send.out")"
}

# ---------------------------------------------------------------------------
# The capture server: records every request in $CAP (N.head: method,
# path and headers, names in lower case; N.body: the bytes), then answers
# as its path says: /ok 200 "captured"; /empty 204 without a body; /retry
# 503 with Retry-After and X-Request-Id and no body; /lines 500 with two
# lines; /ctl 400 with control characters; /slow/TAG writes arrived.TAG,
# then waits (20 s at most) for release.TAG before answering 200.

CAP=$T/cap
CAP_PID=""

cat >"$T/capture.py" <<'EOF'
import http.server, os, sys, time

DIR = sys.argv[1]
COUNT = [0]


def put(name, data):
    with open(os.path.join(DIR, name + ".tmp"), "wb") as f:
        f.write(data)
    os.rename(os.path.join(DIR, name + ".tmp"), os.path.join(DIR, name))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body=b"", extra=()):
        self.send_response(status)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        COUNT[0] += 1
        n = COUNT[0]
        head = "method: %s\npath: %s\n" % (self.command, self.path)
        for k, v in self.headers.items():
            head += "%s: %s\n" % (k.lower(), v)
        put("%d.body" % n, body)
        put("%d.head" % n, head.encode())
        p = self.path
        if p == "/ok":
            self.answer(200, b"captured\n")
        elif p == "/empty":
            self.answer(204)
        elif p == "/retry":
            self.answer(503, b"", [("Retry-After", "7"),
                                   ("X-Request-Id", "cap-%d" % n)])
        elif p == "/lines":
            self.answer(500, b"first line\nsecond line\n")
        elif p == "/ctl":
            self.answer(400, b"bad\x01thing\r\n")
        elif p.startswith("/slow/"):
            tag = p[6:]
            put("arrived." + tag, b"")
            end = time.time() + 20
            while time.time() < end and \
                    not os.path.exists(os.path.join(DIR, "release." + tag)):
                time.sleep(0.05)
            try:
                self.answer(200, b"late\n")
            except OSError:
                pass
        else:
            self.answer(404, b"no such path\n")


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
put("port", str(server.server_address[1]).encode())
server.serve_forever()
EOF

_cap_has_port()
{
	[[ -s $CAP/port ]] || ! pid_running "$CAP_PID"
}

start_capture()
{
	mkdir -p "$CAP"
	timeout -k 5 250 python3 "$T/capture.py" "$CAP" 2>"$T/capture.stderr" &
	CAP_PID=$!
	LOAD_PIDS+=("$CAP_PID")
	if ! wait_for 20 _cap_has_port || [[ ! -s $CAP/port ]]; then
		fail "capture server did not start:" \
		    "$(head -c 300 "$T/capture.stderr")"
	fi
	CAP_URL=http://127.0.0.1:$(cat "$CAP/port")
}

# cap_last: the number of the request the capture server got last.
cap_last()
{
	local n=0

	while [[ -f $CAP/$((n + 1)).head ]]; do
		n=$((n + 1))
	done
	echo "$n"
}

# cap_header N NAME: the value of header NAME (lower case) of request N.
cap_header()
{
	sed -n "s/^$2: //p" "$CAP/$1.head" | head -n 1
}

# ulid_ms ULID: the milliseconds in its first 10 digits.
ulid_ms()
{
	local a=0123456789ABCDEFGHJKMNPQRSTVWXYZ ms=0 i c p

	for ((i = 0; i < 10; i++)); do
		c=${1:i:1}
		p=${a%%"$c"*}
		ms=$((ms * 32 + ${#p}))
	done
	echo "$ms"
}

# check_signed N BODY SECRET WHAT: request N carries BODY's bytes and
# valid signature headers made with SECRET; sets SIGNED_NONCE.
check_signed()
{
	local n=$1 body=$2 secret=$3 what=$4 nonce ts sig alg now ms

	cmp -s "$body" "$CAP/$n.body" ||
	    check_fail "$what: the body sent differs from $(basename "$body")"
	nonce=$(cap_header "$n" x-sinch-webhook-signature-nonce)
	ts=$(cap_header "$n" x-sinch-webhook-signature-timestamp)
	sig=$(cap_header "$n" x-sinch-webhook-signature)
	alg=$(cap_header "$n" x-sinch-webhook-signature-algorithm)
	[[ $alg == HmacSHA256 ]] ||
	    check_fail "$what: algorithm header '$alg'"
	[[ $nonce =~ ^[0-7][0-9A-HJKMNP-TV-Z]{25}$ ]] ||
	    check_fail "$what: nonce '$nonce' is not 26 Crockford base32 digits"
	now=$(date +%s%3N)
	if [[ $nonce =~ ^[0-7][0-9A-HJKMNP-TV-Z]{25}$ ]]; then
		ms=$(ulid_ms "$nonce")
		((ms > now - 60000 && ms <= now)) ||
		    check_fail "$what: nonce $nonce holds time $ms, now is $now"
	fi
	if ! [[ $ts =~ ^[0-9]+$ ]] ||
	    ((ts <= now / 1000 - 60 || ts > now / 1000)); then
		check_fail "$what: timestamp '$ts' is not now ($((now / 1000)))"
	fi
	[[ $sig == "$(sig_sign "$secret" "$CAP/$n.body" "$nonce" "$ts")" ]] ||
	    check_fail "$what: signature '$sig' does not verify"
	SIGNED_NONCE=$nonce
}

# ---------------------------------------------------------------------------
# 0. Usage.

hook_body "$T/in/u.json" "usage"
usage_error()
{
	local what=$1

	shift
	expect_send 2 "usage: $what" "$@" &&
	    expect_err '^usage: ' "usage: $what"
}
usage_error "no arguments"
usage_error "no file" http://127.0.0.1:9/
usage_error "-s and -S" -s x -S "$T/auth/sig.key" http://127.0.0.1:9/ "$T/in/u.json"
usage_error "-u without ':'" -u "$USER_NAME" http://127.0.0.1:9/ "$T/in/u.json"
usage_error "-u and -b" -u "a:b" -b tok http://127.0.0.1:9/ "$T/in/u.json"
usage_error "--nonce without a secret" --nonce N http://127.0.0.1:9/ "$T/in/u.json"
usage_error "--timestamp with a space" -s x --timestamp '1 2' \
    http://127.0.0.1:9/ "$T/in/u.json"
usage_error "-t 0" -t 0 http://127.0.0.1:9/ "$T/in/u.json"
usage_error "-t word" -t soon http://127.0.0.1:9/ "$T/in/u.json"
usage_error "stdin twice" http://127.0.0.1:9/ - - </dev/null
usage_error "unknown option" -X http://127.0.0.1:9/ "$T/in/u.json"
usage_error "--client-key alone" --client-key k http://127.0.0.1:9/ "$T/in/u.json"
usage_error "--token-url alone" --token-url http://127.0.0.1:9/t \
    http://127.0.0.1:9/ "$T/in/u.json"
expect_send 0 "-h" -h && expect_out '^usage: sinch-webhookd-send ' "-h"
expect_send 0 "-V" -V && expect_out '^sinch-webhookd-send [0-9]' "-V"
expect_send 2 "-S with a missing file" -S "$T/auth/none" http://127.0.0.1:9/ \
    "$T/in/u.json" && expect_err 'unable to read .*/auth/none' "-S missing"

# ---------------------------------------------------------------------------
# 1. A plain daemon.

start_daemon
fix=$DATADIR/valid/mo_text_minimal.json
send_ok "a fixture" "$fix"

hook_body "$T/in/m1.json" "several 1"
hook_body "$T/in/m2.json" "several 2"
hook_body "$T/in/m3.json" "several 3 (stdin)"
expect_send 0 "three files, one from stdin" -v "$URL" "$T/in/m1.json" - \
    "$T/in/m2.json" <"$T/in/m3.json"
got=$(grep -c -E ': 200 ok$' "$T/send.out")
((got == 3)) || check_fail "three files: $got lines '200 ok'"
order=$(grep -v '^ ' "$T/send.out" | cut -d: -f1 | tr '\n' ' ')
[[ $order == "$T/in/m1.json - $T/in/m2.json " ]] ||
    check_fail "three files: lines in the order '$order'"
for f in m1 m2; do
	id=$(ids_of "$T/in/$f.json")
	echo "$id" >>"$OK_IDS"
	check_record "$T/in/$f.json" "$id"
done
id=$(ids_of -)
echo "$id" >>"$OK_IDS"
check_record "$T/in/m3.json" "$id"

bad=$DATADIR/invalid/truncated.json
send_refused 1 400 "a malformed file" "$bad"
reason=$(sed -n "s|^$bad: 400 ||p" "$T/send.out")
[[ -n $reason && $reason != "Bad Request" ]] ||
    check_fail "malformed: '$reason' is not the daemon's one-line reason"

hook_body "$T/in/g1.json" "good before a bad one"
expect_send 1 "good and malformed together" -v "$URL" "$T/in/g1.json" "$bad"
expect_out "^$T/in/g1.json: 200 ok\$" "good and malformed together"
expect_out "^$bad: 400 " "good and malformed together"
id=$(ids_of "$T/in/g1.json")
echo "$id" >>"$OK_IDS"
check_record "$T/in/g1.json" "$id"

hook_body "$T/in/g2.json" "good around a missing file"
hook_body "$T/in/g3.json" "good after a missing file"
expect_send 2 "a missing file among good ones" -v "$URL" "$T/in/g2.json" \
    "$T/in/missing.json" "$T/in/g3.json"
expect_err "unable to read $T/in/missing.json: No such file" "missing file"
for f in g2 g3; do
	id=$(ids_of "$T/in/$f.json")
	echo "$id" >>"$OK_IDS"
	check_record "$T/in/$f.json" "$id"
done
check_ids_match "$OK_IDS" "$REPORTS"
cp "$OK_IDS" "$T/ok.1"
stop_daemon_clean

# ---------------------------------------------------------------------------
# 2. What goes on the wire.

start_capture

# Bytes that a text-minded client would change: CR, LF, NUL, no final LF.
printf '{"type":"mo_text",\r\n"body":"a\\u0000b"}\n\n\0tail' >"$T/in/raw.bin"
expect_send 0 "capture: raw bytes" "$CAP_URL/ok" "$T/in/raw.bin"
expect_out "^$T/in/raw.bin: 200 captured\$" "capture: raw bytes"
n=$(cap_last)
cmp -s "$T/in/raw.bin" "$CAP/$n.body" ||
    check_fail "capture: the body's bytes were changed"
[[ $(cap_header "$n" method) == POST ]] || check_fail "capture: not a POST"
[[ $(cap_header "$n" content-type) == application/json ]] ||
    check_fail "capture: Content-Type '$(cap_header "$n" content-type)'"
[[ -z $(cap_header "$n" authorization) ]] ||
    check_fail "capture: an Authorization header without credentials"
[[ -z $(cap_header "$n" x-sinch-webhook-signature) ]] ||
    check_fail "capture: a signature without a secret"

head -c 1500000 /dev/urandom >"$T/in/big.bin"
expect_send 0 "capture: 1.5 MB" "$CAP_URL/ok" "$T/in/big.bin"
n=$(cap_last)
cmp -s "$T/in/big.bin" "$CAP/$n.body" ||
    check_fail "capture: the 1.5 MB body was changed"
[[ -z $(cap_header "$n" expect) ]] ||
    check_fail "capture: Expect: $(cap_header "$n" expect)"

# Signed: two files, two nonces, each valid.
hook_body "$T/in/s1.json" "signed 1"
hook_body "$T/in/s2.json" "signed 2"
expect_send 0 "capture: signed" -s "$S1" "$CAP_URL/ok" "$T/in/s1.json" \
    "$T/in/s2.json"
n=$(cap_last)
check_signed $((n - 1)) "$T/in/s1.json" "$S1" "capture: signed 1"
n1=$SIGNED_NONCE
check_signed "$n" "$T/in/s2.json" "$S1" "capture: signed 2"
n2=$SIGNED_NONCE
[[ $n1 != "$n2" ]] || check_fail "capture: two files, one nonce ($n1)"
note "nonces: $n1 $n2"
expect_send 0 "capture: signed from -S" -S "$T/auth/sig.key" "$CAP_URL/ok" \
    "$T/in/s1.json"
check_signed "$(cap_last)" "$T/in/s1.json" "$S2" "capture: -S"

# field NAME FILE: the value of the first line "NAME: value" of FILE.
field()
{
	sed -n "s/^$1: *//p" "$2" | head -n 1 | tr -d '\r'
}

# known_answer WHAT BODY HEADERS-FILE: with the secret, nonce and
# timestamp of HEADERS-FILE the tool sends its signature.  Sets
# FIXTURE_SECRET.
known_answer()
{
	local what=$1 body=$2 headers=$3 h_sig h_nonce h_ts h_secret n

	h_sig=$(field x-sinch-webhook-signature "$headers")
	h_nonce=$(field x-sinch-webhook-signature-nonce "$headers")
	h_ts=$(field x-sinch-webhook-signature-timestamp "$headers")
	h_secret=$(field secret "$headers")
	[[ -n $h_sig && -n $h_nonce && -n $h_ts && -n $h_secret ]] ||
	    { check_fail "$what: unable to parse $headers"; return 1; }
	expect_send 0 "$what" -s "$h_secret" --nonce "$h_nonce" \
	    --timestamp "$h_ts" "$CAP_URL/ok" "$body" || return 1
	n=$(cap_last)
	cmp -s "$body" "$CAP/$n.body" || check_fail "$what: body changed"
	[[ $(cap_header "$n" x-sinch-webhook-signature) == "$h_sig" &&
	    $(cap_header "$n" x-sinch-webhook-signature-nonce) == "$h_nonce" &&
	    $(cap_header "$n" x-sinch-webhook-signature-timestamp) == "$h_ts" ]] ||
	    check_fail "$what: sent '$(grep x-sinch "$CAP/$n.head" | tr '\n' ' ')'"
	FIXTURE_SECRET=$h_secret
}
known_answer "capture: known answer (fixture)" "$AUTHDATA/signed_body.json" \
    "$AUTHDATA/signed_body.headers"
FIXTURE_SECRET_KEEP=$FIXTURE_SECRET
if [[ -f $VECTORS/MANIFEST.md &&
    -f $VECTORS/recipient_delivery_report_sms_signed.json ]]; then
	known_answer "capture: known answer (Sinch vector)" \
	    "$VECTORS/recipient_delivery_report_sms_signed.json" \
	    "$VECTORS/MANIFEST.md"
	VEC_SECRET=$FIXTURE_SECRET
	note "signed Sinch vector: reproduced"
else
	note "signed Sinch vector: $VECTORS not found, skipped"
fi
FIXTURE_SECRET=$FIXTURE_SECRET_KEEP

# Authorization headers.
expect_send 0 "capture: Basic" -u "$USER_NAME:$PW" "$CAP_URL/ok" "$T/in/s1.json"
[[ $(cap_header "$(cap_last)" authorization) == "$(basic_header "$USER_NAME" "$PW")" ]] ||
    check_fail "capture: Basic header '$(cap_header "$(cap_last)" authorization)'"
expect_send 0 "capture: Basic from -U" -U "$T/auth/basic" "$CAP_URL/ok" \
    "$T/in/s1.json"
[[ $(cap_header "$(cap_last)" authorization) == "$(basic_header "$USER_NAME" "$PW")" ]] ||
    check_fail "capture: -U: the file's newline is part of the password"
expect_send 0 "capture: Bearer" -b "$FORGED" "$CAP_URL/ok" "$T/in/s1.json"
[[ $(cap_header "$(cap_last)" authorization) == "Bearer $FORGED" ]] ||
    check_fail "capture: Bearer header '$(cap_header "$(cap_last)" authorization)'"

# Answers.
expect_send 0 "capture: 204" "$CAP_URL/empty" "$T/in/s1.json" &&
    expect_out "^$T/in/s1.json: 204 No Content\$" "capture: reason phrase"
expect_send 1 "capture: 503" -v "$CAP_URL/retry" "$T/in/s1.json" &&
    expect_out "^$T/in/s1.json: 503 Service Unavailable\$" "capture: 503"
expect_out '^  Retry-After: 7$' "capture: -v Retry-After"
expect_out "^  X-Request-Id: cap-$(cap_last)\$" "capture: -v X-Request-Id"
expect_send 1 "capture: 503 without -v" "$CAP_URL/retry" "$T/in/s1.json"
grep -q -E 'Retry-After|X-Request-Id' "$T/send.out" &&
    check_fail "capture: headers printed without -v"
expect_send 1 "capture: two-line body" "$CAP_URL/lines" "$T/in/s1.json" &&
    expect_out "^$T/in/s1.json: 500 first line\$" "capture: first line"
expect_send 1 "capture: control characters" "$CAP_URL/ctl" "$T/in/s1.json" &&
    expect_out "^$T/in/s1.json: 400 bad\\?thing\$" "capture: control characters"

# Secrets leave the command line at once.
_arrived_c() { [[ -f $CAP/arrived.c ]] || ! pid_running "$pid"; }
"$SEND" -s "$S1" -u "$USER_NAME:$PW" "$CAP_URL/slow/c" "$T/in/s1.json" \
    >"$T/slow.out" 2>"$T/slow.err" &
pid=$!
if wait_for 30 _arrived_c && [[ -f $CAP/arrived.c ]]; then
	cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
	[[ -n $cmdline ]] || check_fail "cmdline: unable to read it"
	[[ $cmdline == *"$S1"* || $cmdline == *"${PW#*:}"* ]] &&
	    check_fail "cmdline: a secret is still there: ${cmdline:0:200}"
	[[ $cmdline == *"$CAP_URL/slow/c"* ]] ||
	    check_fail "cmdline: the rest was wiped too: ${cmdline:0:200}"
else
	check_fail "cmdline: the request never arrived"
fi
touch "$CAP/release.c"
wait_pid_exit "$pid" 30 || check_fail "cmdline: the tool did not exit"
[[ $WAIT_RC == 0 ]] ||
    check_fail "cmdline: exit $WAIT_RC: $(head -c 300 "$T/slow.err")"
cat "$T/slow.out" >>"$T/all-send.out"
cat "$T/slow.err" >>"$T/all-send.err"
"$SEND" -b "$FORGED" "$CAP_URL/slow/b" "$T/in/s1.json" >"$T/slow.out" \
    2>"$T/slow.err" &
pid=$!
_arrived_b() { [[ -f $CAP/arrived.b ]] || ! pid_running "$pid"; }
if wait_for 30 _arrived_b && [[ -f $CAP/arrived.b ]]; then
	[[ $(tr '\0' ' ' <"/proc/$pid/cmdline") == *"$FORGED"* ]] &&
	    check_fail "cmdline: the bearer token is still there"
fi
touch "$CAP/release.b"
wait_pid_exit "$pid" 30 || check_fail "cmdline (bearer): the tool did not exit"
cat "$T/slow.out" >>"$T/all-send.out"
cat "$T/slow.err" >>"$T/all-send.err"

# A request that takes longer than -t.
expect_send 2 "capture: -t 1, no answer" -t 1 "$CAP_URL/slow/t" "$T/in/s1.json"
expect_err "$T/in/s1.json: .*[Tt]imed? ?out" "-t 1"
note "-t 1: $(head -n 1 "$T/send.err")"
touch "$CAP/release.t"

# ---------------------------------------------------------------------------
# 3. auth.signature.

# Two secrets at most: S1 inline and the fixture's from a file.
printf '%s\n' "$FIXTURE_SECRET" >"$T/auth/fixture.key"
auth_config "$T/sig.conf" "  signature = { secrets = [ \"$S1\" ];
    secret_files = [ \"$T/auth/fixture.key\" ]; };"
start_daemon "$T/sig.conf"
hook_body "$T/in/a1.json" "signed -s"
send_ok "signature: -s" "$T/in/a1.json" -s "$S1"
hook_body "$T/in/a2.json" "signed -S"
send_ok "signature: -S" "$T/in/a2.json" -S "$T/auth/fixture.key"
send_ok "signature: the fixture with its nonce and timestamp" \
    "$AUTHDATA/signed_body.json" -s "$FIXTURE_SECRET" \
    --nonce "$(field x-sinch-webhook-signature-nonce "$AUTHDATA/signed_body.headers")" \
    --timestamp "$(field x-sinch-webhook-signature-timestamp "$AUTHDATA/signed_body.headers")"
hook_body "$T/in/a3.json" "signed with a wrong secret"
send_refused 1 401 "signature: a wrong secret" "$T/in/a3.json" -s "$WRONG"
send_refused 1 401 "signature: no secret" "$T/in/a3.json"
hook_body "$T/in/a4.json" "signed -s, after the refusals"
send_ok "signature: -s after the refusals" "$T/in/a4.json" -s "$S1"
cat "$T/ok.1" "$OK_IDS" >"$T/ok.2"
stop_daemon_clean
check_ids_match "$T/ok.2" "$REPORTS"

# ---------------------------------------------------------------------------
# 4. auth.basic.

printf '%s\n' "$PW" >"$T/auth/basic.pw"
auth_config "$T/basic.conf" "  basic = { username = \"$USER_NAME\";
    password_file = \"$T/auth/basic.pw\"; };"
start_daemon "$T/basic.conf"
hook_body "$T/in/b1.json" "basic -u"
send_ok "basic: -u" "$T/in/b1.json" -u "$USER_NAME:$PW"
hook_body "$T/in/b2.json" "basic -U"
send_ok "basic: -U" "$T/in/b2.json" -U "$T/auth/basic"
hook_body "$T/in/b3.json" "basic, wrong password"
send_refused 1 401 "basic: a wrong password" "$T/in/b3.json" -u "$USER_NAME:wrong"
cat "$T/ok.2" "$OK_IDS" >"$T/ok.3"
stop_daemon_clean
check_ids_match "$T/ok.3" "$REPORTS"

# ---------------------------------------------------------------------------
# 5. auth.oauth2.

auth_config "$T/oauth.conf" "  oauth2 = {
    clients = ( { id = \"$CID\"; secret_file = \"$T/auth/cs\"; },
                { id = \"$CID2\"; secret = \"$CS2\"; } );
    key_file = \"$T/auth/oauth.key\"; };"
start_daemon "$T/oauth.conf"
TOKEN_URL=$BASE/oauth2/token
hook_body "$T/in/o1.json" "oauth2 --token-url"
send_ok "oauth2: --token-url" "$T/in/o1.json" --token-url "$TOKEN_URL" \
    --client-id "$CID" --client-secret-file "$T/auth/cs"
hook_body "$T/in/o2.json" "oauth2 --token-url, form-encoded secret"
send_ok "oauth2: a secret that needs form encoding" "$T/in/o2.json" \
    --token-url "$TOKEN_URL" --client-id "$CID2" \
    --client-secret-file "$T/auth/cs2"
hook_body "$T/in/o3.json" "oauth2, wrong client secret"
before=$(count_records)
expect_send 2 "oauth2: a wrong client secret" -v --token-url "$TOKEN_URL" \
    --client-id "$CID" --client-secret-file "$T/auth/cs.wrong" "$URL" \
    "$T/in/o3.json" &&
    expect_err "token: .*: 401 " "oauth2: a wrong client secret"
[[ -s $T/send.out ]] && check_fail "oauth2: a callback went out without a token"
(($(count_records) == before)) || check_fail "oauth2: wrong secret: a record"
note "oauth2, wrong secret: $(head -n 1 "$T/send.err")"
# A token answer is not a callback: not in OK_IDS.
OK_IDS="" request -u "$CID:$CS" -d grant_type=client_credentials "$TOKEN_URL"
TOKEN=$(jq -r .access_token "$T/last.body" 2>/dev/null)
[[ $LAST_STATUS == 200 && -n $TOKEN ]] || fail "harness: no token from curl"
printf '%s\n' "$TOKEN" >"$T/auth/token"
hook_body "$T/in/o4.json" "oauth2 -b"
send_ok "oauth2: -b" "$T/in/o4.json" -b "$TOKEN"
hook_body "$T/in/o5.json" "oauth2 -B"
send_ok "oauth2: -B" "$T/in/o5.json" -B "$T/auth/token"
hook_body "$T/in/o6.json" "oauth2, forged token"
send_refused 1 401 "oauth2: a forged token" "$T/in/o6.json" -b "$FORGED"
cat "$T/ok.3" "$OK_IDS" >"$T/ok.4"
stop_daemon_clean
check_ids_match "$T/ok.4" "$REPORTS"

# ---------------------------------------------------------------------------
# 6. Unreachable.

expect_send 2 "an unreachable URL" "$URL" "$T/in/o6.json" &&
    expect_err "^sinch-webhookd-send: $T/in/o6.json: .*([Cc]onnect|refused)" \
	"unreachable"
note "unreachable: $(head -n 1 "$T/send.err")"
[[ -s $T/send.out ]] && check_fail "unreachable: a line on stdout"
expect_send 2 "another scheme" "ftp://127.0.0.1:9/x" "$T/in/o6.json"

# ---------------------------------------------------------------------------
# 7. HTTPS and client certificates.

if [[ -z $(tls_tool) ]]; then
	note "neither certtool nor openssl: HTTPS not checked"
else
	P=$T/pki
	tls_ca "$P" ca1
	tls_cert "$P" server ca1 server
	tls_cert "$P" good1 ca1 client
	tls_ca "$P" ca2
	tls_cert "$P" bad ca2 client
	cat "$P/good1.pem" "$P/good1.key" >"$P/good1.both"
	auth_config "$T/tls.conf" "" "  cert = \"$P/server.pem\";
  key = \"$P/server.key\"; client_ca = \"$P/ca1.pem\";"
	start_daemon_tls "$T/tls.conf"
	GOOD1=(--client-cert "$P/good1.pem" --client-key "$P/good1.key")
	hook_body "$T/in/t1.json" "https, client certificate"
	send_ok "https: --cacert and a client certificate" "$T/in/t1.json" \
	    --cacert "$P/ca1.pem" "${GOOD1[@]}"
	hook_body "$T/in/t2.json" "https, certificate and key in one file"
	send_ok "https: certificate and key in one file" "$T/in/t2.json" \
	    --cacert "$P/ca1.pem" --client-cert "$P/good1.both"
	hook_body "$T/in/t3.json" "https, -k"
	send_ok "https: -k" "$T/in/t3.json" -k "${GOOD1[@]}"
	hook_body "$T/in/t4.json" "https, refused"
	before=$(count_records)
	expect_send 2 "https: the server's CA not given" "${GOOD1[@]}" "$URL" \
	    "$T/in/t4.json"
	note "https, CA not given: $(head -n 1 "$T/send.err")"
	for c in none bad; do
		args=(--cacert "$P/ca1.pem")
		[[ $c == bad ]] &&
		    args+=(--client-cert "$P/bad.pem" --client-key "$P/bad.key")
		run_send "${args[@]}" "$URL" "$T/in/t4.json"
		case $SEND_RC in
		2) note "https, client certificate $c: $(head -n 1 "$T/send.err")" ;;
		1)
			expect_out ": 403( |\$)" "https, client certificate $c"
			note "https, client certificate $c: $(head -n 1 "$T/send.out")"
			;;
		*) check_fail "https, client certificate $c: exit $SEND_RC:" \
		    "$(send_excerpt)" ;;
		esac
	done
	expect_send 2 "https: a missing certificate file" --cacert "$P/ca1.pem" \
	    --client-cert "$P/none.pem" --client-key "$P/good1.key" "$URL" \
	    "$T/in/t4.json"
	(($(count_records) == before)) ||
	    check_fail "https: a refused request left a record"
	cat "$T/ok.4" "$OK_IDS" >"$T/ok.5"
	stop_daemon_clean
	check_ids_match "$T/ok.5" "$REPORTS"
fi

grep -a -q -E 'Sanitizer|runtime error:' "$T/all-send.err" &&
    check_fail "sanitizer report from the tool:" \
	"$(grep -a -m 3 -E 'Sanitizer|runtime error:' "$T/all-send.err")"
check_no_secrets "$S1" "$S2" "$PW" "${PW#*:}" "$CS" "$CS2" "$KEY" \
    "$FIXTURE_SECRET" "${VEC_SECRET:-}" "${TOKEN:-}" "$FORGED" \
    "$(printf '%s:%s' "$USER_NAME" "$PW" | base64 -w 0)"
check_one_access_line_each

finish
