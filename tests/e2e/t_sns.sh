#!/usr/bin/env bash
#
# t_sns.sh - the AWS SNS route (/sinch/sns): signed envelopes, the
# certificate fetch and its cache, subscription confirmations, the
# answers SNS sees (it retries 5xx only), records and metrics.
#
# Made here with certtool: a test CA, a server certificate from it for
# sns.us-east-1.amazonaws.com, an RSA signing key and its certificate from
# the CA (and an expired one).  sns_server.py stands in for the SNS host
# on 127.0.0.1; the daemon reaches it through SINCH_WEBHOOKD_SNS_CONNECT_TO
# and trusts the CA through SINCH_WEBHOOKD_SNS_CA_FILE.  Envelopes are
# built by sns_envelope.py and signed by sns-sign
# ($SINCH_WEBHOOKD_SNS_SIGN), all sent as text/plain like SNS does.
#
# 1. sns.topics = one ARN, deadline_s = 2; a file sink and a hook
#    (hooks/act.sh, max_concurrent = 1):
#    - GET -> 405; SubscriptionConfirmation -> 200, the server saw the
#      ConfirmSubscription GET with its token, "subscription to ARN
#      confirmed" logged; SNS refusing the token -> 503; SubscribeURL on
#      another host -> 403 and no GET; another topic -> 403 and no fetch;
#      UnsubscribeConfirmation -> 200;
#    - Notification SignatureVersion 1 and 2, with and without Subject,
#      with MessageAttributes, non-ASCII (raw and \u-escaped) -> 200, one
#      record each: the fields of the direct route for the inner message,
#      then sns_message_id and sns_topic_arn just before the payload (the
#      inner message); access lines with route=sns sns_type=...;
#    - the signing certificate fetched once for all of them;
#    - the same Message with a new MessageId -> 200 and no record; the
#      same bytes on the direct route -> 200 and no record (dedup keys on
#      the inner bytes);
#    - 403: Message or Subject changed after signing, a version 1
#      signature labelled 2, a topic not allowed (nothing fetched),
#      Timestamp 2 h old or 2 h ahead, SigningCertURL on another host, over
#      http, with a port, not .pem, with user info (nothing fetched), an
#      expired signing certificate;
#    - 400: no x-amz-sns-message-type, an unknown one, one that disagrees
#      with Type, a body that is not a JSON object, a signed field missing
#      or not a string, SignatureVersion 3, a bad Timestamp, an unknown
#      Type, an inner message that is not a callback (an error line);
#    - the hook exiting 65 -> 422, exiting 75 -> 503 (SNS retries);
#    - 503: a certificate URL the server does not have, or that holds no
#      certificate; 413 for a body over max_body_bytes;
#    - the direct route still answers 415 to text/plain;
#    - two notifications at once for one exec slot: 200 and 503 with
#      Retry-After (never 429);
#    - a hook that outlasts deadline_s: 503 after about 2 s; once it has
#      finished, the same envelope -> 200, one record and one hook run;
#    - /metrics: sns_messages_total, sns_certificate_fetches_total,
#      sns_confirmations_total, auth_failures_total with SNS reasons.
# 2. auto_confirm = false, limits.max_in_flight = 1: a
#    SubscriptionConfirmation -> 200, a warning with its SubscribeURL, no
#    GET; two notifications at once -> 200 and 503 (never 429); the server
#    stopped: a cached certificate still serves (200), a new certificate
#    URL -> 503.
# 3. cert_dir, no test environment, no server: Notification -> 200 (hook
#    environment has SINCH_SNS_MESSAGE_ID and SINCH_SNS_TOPIC_ARN); a
#    certificate URL whose file is missing -> 503 and a log line naming
#    the URL.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

SIGN=${SINCH_WEBHOOKD_SNS_SIGN:-$SRCDIR/build/obj/tests/sns-sign}
ENVELOPE=$E2E_DIR/sns_envelope.py
ACT=$HOOKDIR/act.sh
DUMP=$HOOKDIR/dump.sh

if ! command -v certtool >/dev/null 2>&1; then
	echo "t_sns: certtool (GnuTLS) is not installed: not run"
	finish
fi
[[ -x $SIGN ]] || fail "$SIGN is not built (make check-e2e builds it)"

SNS_HOST=sns.us-east-1.amazonaws.com
ARN=arn:aws:sns:us-east-1:123456789012:sinch-callbacks
OTHER_ARN=arn:aws:sns:us-east-1:123456789012:someone-else
CERT_NAME=SimpleNotificationService-test.pem
CERT_URL=https://$SNS_HOST/$CERT_NAME
UNSUB_URL="https://$SNS_HOST/?Action=Unsubscribe&SubscriptionArn=$ARN:e2e"
SERVER_SECS=120		# sns_server.py stops by itself after this
P=$T/pki
SRV_DIR=$T/srv		# what the server serves
SRV_LOG=$T/srv.log	# one line per request it got
SRV_PID=""
ENV_N=0
declare -A SNS_N	# "header-type|status" -> answers, for /metrics
declare -a MIDS		# part 3: the MessageId of each Notification

# --- certificates ------------------------------------------------------------

# certtool_cert NAME KEY-TYPE TEMPLATE-LINES: DIR/NAME.key and a
# certificate from the CA, DIR/NAME.pem.
certtool_cert()
{
	local name=$1 kind=$2

	if [[ $kind == rsa ]]; then
		certtool --generate-privkey --key-type=rsa --bits=2048 \
		    --no-text --outfile "$P/$name.key" >/dev/null 2>&1
	else
		certtool --generate-privkey --key-type=ecdsa \
		    --curve=secp256r1 --no-text --outfile "$P/$name.key" \
		    >/dev/null 2>&1
	fi
	printf '%s\nserial = %d\n' "$3" "$((RANDOM * 32768 + RANDOM + 1))" \
	    >"$P/$name.tmpl"
	certtool --generate-certificate --no-text \
	    --load-privkey "$P/$name.key" --load-ca-certificate "$P/ca.pem" \
	    --load-ca-privkey "$P/ca.key" --template "$P/$name.tmpl" \
	    --outfile "$P/$name.pem" >/dev/null 2>&1
	[[ -s $P/$name.pem ]] || fail "certtool: unable to make $name"
}

tls_ca "$P" ca
certtool_cert server ecdsa "cn = \"$SNS_HOST\"
dns_name = \"$SNS_HOST\"
tls_www_server
signing_key
encryption_key
expiration_days = 2"
certtool_cert signer rsa 'cn = "sns.amazonaws.com"
signing_key
expiration_days = 2'
# The same key, in a certificate that ended years ago.
cp "$P/signer.key" "$P/expired.key"
printf 'cn = "sns.amazonaws.com"\nsigning_key\nserial = 7\nactivation_date = "2019-01-01 00:00:00"\nexpiration_date = "2020-01-01 00:00:00"\n' \
    >"$P/expired.tmpl"
certtool --generate-certificate --no-text --load-privkey "$P/expired.key" \
    --load-ca-certificate "$P/ca.pem" --load-ca-privkey "$P/ca.key" \
    --template "$P/expired.tmpl" --outfile "$P/expired.pem" >/dev/null 2>&1
[[ -s $P/expired.pem ]] || fail "certtool: unable to make the expired one"

mkdir -p "$SRV_DIR"
cp "$P/signer.pem" "$SRV_DIR/$CERT_NAME"
# Copies under other names: a fetch of each shows in the server's log.
for n in topic late urlcheck; do
	cp "$P/signer.pem" "$SRV_DIR/SimpleNotificationService-$n.pem"
done
cp "$P/expired.pem" "$SRV_DIR/SimpleNotificationService-expired.pem"
printf 'this is not a certificate\n' \
    >"$SRV_DIR/SimpleNotificationService-garbage.pem"

# --- the SNS stand-in --------------------------------------------------------

_sns_port_written()
{
	[[ -s $T/srv.port ]] || ! pid_running "$SRV_PID"
}

start_sns_server()
{
	: >"$SRV_LOG"
	python3 "$E2E_DIR/sns_server.py" "$P/server.pem" "$P/server.key" \
	    "$SRV_DIR" "$SRV_LOG" "$T/srv.port" "$SERVER_SECS" \
	    >"$T/srv.out" 2>&1 &
	SRV_PID=$!
	LOAD_PIDS+=("$SRV_PID")
	wait_for 20 _sns_port_written
	SRV_PORT=$(cat "$T/srv.port" 2>/dev/null)
	[[ $SRV_PORT =~ ^[0-9]+$ ]] ||
	    fail "sns_server.py did not start: $(tail -n 3 "$T/srv.out")"
	# Harness check: the server answers as the SNS host.
	if ! curl -sS --max-time 10 --cacert "$P/ca.pem" \
	    --connect-to "$SNS_HOST:443:127.0.0.1:$SRV_PORT" \
	    -o "$T/srv.check" "$CERT_URL" 2>"$T/srv.curlerr" ||
	    ! cmp -s "$T/srv.check" "$P/signer.pem"; then
		fail "harness: GET $CERT_URL from sns_server.py failed:" \
		    "$(head -c 200 "$T/srv.curlerr")"
	fi
	: >"$SRV_LOG"
}

stop_sns_server()
{
	kill -TERM "$SRV_PID" 2>/dev/null
	wait_pid_exit "$SRV_PID" 10 || check_fail "sns_server.py did not stop"
}

# srv_count REGEX: requests the server logged that match the ERE.
srv_count()
{
	grep -a -c -E -- "$1" "$SRV_LOG"
}

# --- envelopes and requests --------------------------------------------------

# envelope FILE TYPE [NAME=VALUE...]: a signed envelope for ARN and
# CERT_URL (sns_envelope.py make; later NAME=VALUE win); its MessageId is
# left in MID.
envelope()
{
	local file=$1 type=$2

	shift 2
	python3 "$ENVELOPE" make "$SIGN" "$P/signer.key" "$type" \
	    TopicArn="$ARN" SigningCertURL="$CERT_URL" \
	    UnsubscribeURL="$UNSUB_URL" "$@" >"$file" ||
	    fail "sns_envelope.py failed for $file"
	MID=$(jq -r .MessageId "$file" 2>/dev/null)
}

# notification FILE INNER-FILE [NAME=VALUE...]
notification()
{
	local file=$1 inner=$2

	shift 2
	envelope "$file" Notification Message="@$inner" "$@"
}

# confirmation FILE TYPE TOKEN [NAME=VALUE...]: TOKEN is also in the
# SubscribeURL.
confirmation()
{
	local file=$1 type=$2 token=$3

	shift 3
	envelope "$file" "$type" Token="$token" \
	    Message="You have chosen to subscribe to the topic $ARN.
To confirm the subscription, visit the SubscribeURL included in this message." \
	    SubscribeURL="https://$SNS_HOST/?Action=ConfirmSubscription&TopicArn=$ARN&Token=$token" \
	    "$@"
}

# sns_send FILE HEADER-TYPE: POSTs FILE to the SNS route as SNS does
# (text/plain), with x-amz-sns-message-type: HEADER-TYPE ("-": no such
# header); sets LAST_STATUS and LAST_ID.
sns_send()
{
	local h=()

	[[ $2 != - ]] && h=(-H "x-amz-sns-message-type: $2")
	request -H 'Content-Type: text/plain; charset=UTF-8' "${h[@]}" \
	    --data-binary "@$1" "$SNS_URL"
	sns_count "$2" "$LAST_STATUS"
}

# sns_post CODE FILE HEADER-TYPE: sns_send, then compare the status code.
sns_post()
{
	sns_send "$2" "$3"
	if [[ $LAST_STATUS != "$1" ]]; then
		check_fail "expected $1, got ${LAST_STATUS:-nothing} (POST" \
		    "$(basename "$2") as $3 to the SNS route): body:" \
		    "$(last_body_excerpt) $(head -c 200 "$T/last.curlerr")"
		return 1
	fi
	return 0
}

# sns_count HEADER-TYPE STATUS: one more answer for sns_messages_total.
sns_count()
{
	case $1 in
	Notification | SubscriptionConfirmation | UnsubscribeConfirmation)
		SNS_N["$1|$2"]=$((${SNS_N["$1|$2"]:-0} + 1))
		;;
	esac
	return 0
}

# check_sns_counts: sns_messages_total{type,code} is the number of
# answers sns_post and parallel_post saw, for each pair (413 aside: a
# body too large may be refused before its route is known).
check_sns_counts()
{
	local k

	for k in "${!SNS_N[@]}"; do
		[[ ${k#*|} == 413 ]] && continue
		expect_metric sns_messages_total \
		    "type=\"${k%|*}\",code=\"${k#*|}\"" eq "${SNS_N[$k]}"
	done
	return 0
}

# new_env: a fresh file name for an envelope.
new_env()
{
	ENV_N=$((ENV_N + 1))
	printf '%s/env%03d.json' "$T" "$ENV_N"
}

# sns_access ID STATUS SNS-TYPE [INNER-TYPE]: the request's access line
# says route=sns and sns_type=SNS-TYPE after ms= (and type=INNER-TYPE).
sns_access()
{
	local id=$1 status=$2 st=$3 it=${4:--}

	[[ -n $id ]] || { check_fail "status $status: no X-Request-Id"; return 1; }
	wait_for 10 grep -a -q -E -- \
	    "access: id=$id .* type=$it status=$status( .*)? ms=[0-9]+ route=sns sns_type=$st( |$)" \
	    "$DAEMON_STDERR" && return 0
	check_fail "no access line 'id=$id ... type=$it status=$status ..." \
	    "ms=N route=sns sns_type=$st': $(grep -a -m1 "access: id=$id " \
	    "$DAEMON_STDERR")"
}

# sns_refused CODE WHAT FILE HEADER-TYPE: the envelope is answered CODE
# with a one-line body, its access line, and no record.
sns_refused()
{
	local code=$1 what=$2 file=$3 type=$4 before

	before=$(count_records "$R")
	if ! sns_post "$code" "$file" "$type"; then
		note "  ($what)"
		return 1
	fi
	expect_one_line_body "$what ($code)"
	note "$what: $code $(last_body_excerpt)"
	[[ -n $LAST_ID ]] && expect_access_line "$LAST_ID" "$code"
	(($(count_records "$R") == before)) ||
	    check_fail "$what: answered $code, but a record was written"
}

# sns_delivered WHAT INNER-FILE ENVELOPE-FILE [HEADER-TYPE]: 200, one
# record for the inner message with the envelope's MessageId and TopicArn
# just before the payload, the access line.
sns_delivered()
{
	local what=$1 inner=$2 file=$3 mid line

	mid=$(jq -r .MessageId "$file")
	sns_post 200 "$file" "${4:-Notification}" || { note "  ($what)"; return 1; }
	check_record "$inner" "$LAST_ID" "$R" || note "  ($what)"
	line=$(line_of "$LAST_ID" "$R")
	[[ $line == *"\"sns_message_id\":\"$mid\",\"sns_topic_arn\":\"$ARN\",\"payload\":"* ]] ||
	    check_fail "$what: the record has not" \
		"\"sns_message_id\":\"$mid\",\"sns_topic_arn\":\"$ARN\" just" \
		"before \"payload\": ${line:0:400}"
	sns_access "$LAST_ID" 200 Notification "$(jq -r .type "$inner")"
}

# metric NAME LABELS: the value of the sample NAME{LABELS} (labels in any
# order; LABELS as 'a="x",b="y"') in $T/metrics.txt, empty when absent.
metric()
{
	python3 - "$T/metrics.txt" "$1" "$2" <<'EOF'
import re, sys
path, name, want = sys.argv[1:]
pair = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
want = set(pair.findall(want))
for line in open(path):
    m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)', line)
    if m and m.group(1) == name and set(pair.findall(m.group(3) or "")) == want:
        print(int(float(m.group(4))))
        break
EOF
}

# expect_metric NAME LABELS OP VALUE: OP is eq or ge, e.g.
# expect_metric x 'a="b"' eq 1.
expect_metric()
{
	local v ok=0

	v=$(metric "sinch_webhookd_$1" "$2")
	# A counter still at 0 may be left out.
	[[ -z $v && $3 == eq && $4 == 0 ]] && return 0
	if [[ -n $v ]]; then
		case $3 in
		eq) ((v == $4)) && ok=1 ;;
		ge) ((v >= $4)) && ok=1 ;;
		esac
	fi
	if ((!ok)); then
		check_fail "/metrics: sinch_webhookd_$1{$2} is ${v:-absent}," \
		    "expected $3 $4"
		return 1
	fi
	return 0
}

scrape()
{
	request "$BASE/metrics"
	[[ $LAST_STATUS == 200 ]] || check_fail "GET /metrics: $LAST_STATUS"
	cp "$T/last.body" "$T/metrics.txt"
}

# parallel_post NAME FILE...: the envelopes at once (all Notifications);
# lines "code|exit|id|retry-after|file" in $T/NAME.results.
parallel_post()
{
	local name=$1 f headers

	shift
	headers=$'Content-Type: text/plain; charset=UTF-8\n'
	headers+='x-amz-sns-message-type: Notification'
	LOAD_URL=$SNS_URL LOAD_HEADERS=$headers \
	    make_bodies_load_config "$T/$name.cfg" "$@"
	timeout -k 5 60 curl -sS --no-progress-meter --parallel \
	    --parallel-immediate --parallel-max "$#" -K "$T/$name.cfg" \
	    >"$T/$name.results" 2>"$T/$name.stderr"
	while IFS='|' read -r f _; do
		sns_count Notification "$f"
	done <"$T/$name.results"
	note "$name: $(cut -d '|' -f 1,4 "$T/$name.results" | tr '\n' ' ')"
}

# check_busy NAME: of two, exactly one 200 and one 503 with Retry-After.
check_busy()
{
	local name=$1 n200 n503 ra

	n200=$(grep -c '^200|0|' "$T/$name.results")
	n503=$(grep -c '^503|0|' "$T/$name.results")
	if ((n200 != 1 || n503 != 1)); then
		check_fail "$name: expected one 200 and one 503, got" \
		    "$(tr '\n' ' ' <"$T/$name.results")"
		return 1
	fi
	ra=$(grep '^503|' "$T/$name.results" | cut -d '|' -f 4)
	[[ $ra =~ ^([0-9]+|[A-Z][a-z]{2},\ .+\ GMT)$ ]] ||
	    check_fail "$name: the 503 has Retry-After '$ra'"
}

# More error lines on the daemon's stderr than ERRORS_BEFORE.
_errors_grew()
{
	(($(grep -a -c '^error: ' "$DAEMON_STDERR") > ERRORS_BEFORE))
}

now_ms()
{
	local t=${EPOCHREALTIME/[.,]/}

	echo $((t / 1000))
}

# sns_config FILE RECORDS HOOKDIR SNS-SETTINGS [LIMITS [HOOK-SETTINGS]]:
# a file sink and an act.sh hook, and the sns group.
sns_config()
{
	mkdir -p "$3"
	write_config "$1" "$(cat <<EOF
  { name = "log"; kind = "file"; path = "$2"; required = true; },
  { name = "hook"; kind = "exec"; command = [ "$ACT", "$3" ];
    timeout_ms = 15000; required = true; ${6:-max_concurrent = 1;} }
EOF
)" "${5:-$DEFAULT_LIMITS}"
	printf 'sns = {\n  topics = [ "%s" ];\n%s\n};\n' "$ARN" "$4" >>"$1"
}

start_sns_server
export SINCH_WEBHOOKD_SNS_CA_FILE=$P/ca.pem
export SINCH_WEBHOOKD_SNS_CONNECT_TO=$SNS_HOST:443:127.0.0.1:$SRV_PORT

# === 1. fetching certificates, auto_confirm ==================================
R=$T/sns1.jsonl
HD=$T/hook1
sns_config "$T/sns1.conf" "$R" "$HD" '  deadline_s = 2;'
start_daemon "$T/sns1.conf"
SNS_URL=$BASE/sinch/sns
expect_log "^warn: .*SINCH_WEBHOOKD_SNS_CA_FILE" \
    "the test environment is warned about at start"
expect_log "^warn: .*SINCH_WEBHOOKD_SNS_CONNECT_TO" \
    "the test environment is warned about at start"

expect_status 405 "$SNS_URL"

# --- confirmations ---
E=$(new_env)
confirmation "$E" SubscriptionConfirmation tok-ok-$RANDOM
TOKEN=$(jq -r .Token "$E")
sns_post 200 "$E" SubscriptionConfirmation &&
    sns_access "$LAST_ID" 200 SubscriptionConfirmation
n=$(srv_count "^GET /\?Action=ConfirmSubscription&.*Token=$TOKEN( |$)")
((n == 1)) || check_fail "auto_confirm: the server got $n" \
    "ConfirmSubscription GET(s) with Token=$TOKEN, expected 1:" \
    "$(tr '\n' ';' <"$SRV_LOG")"
grep -a -q -F "TopicArn=$ARN" "$SRV_LOG" ||
    check_fail "auto_confirm: the GET did not carry TopicArn=$ARN"
expect_log "^info: .*subscription to $ARN confirmed" "auto_confirm"

E=$(new_env)
confirmation "$E" SubscriptionConfirmation fail-$RANDOM
sns_refused 503 "confirmation refused by SNS (500)" "$E" \
    SubscriptionConfirmation
[[ $LAST_STATUS == 503 && -n $LAST_ID ]] &&
    sns_access "$LAST_ID" 503 SubscriptionConfirmation

E=$(new_env)
confirmation "$E" SubscriptionConfirmation tok-evil-$RANDOM \
    SubscribeURL="https://sns.evil.example.com/?Action=ConfirmSubscription&TopicArn=$ARN&Token=tok-evil"
sns_refused 403 "SubscribeURL on another host" "$E" SubscriptionConfirmation
(($(srv_count 'tok-evil') == 0)) ||
    check_fail "SubscribeURL on another host: something was fetched"

E=$(new_env)
confirmation "$E" SubscriptionConfirmation tok-other-$RANDOM \
    TopicArn="$OTHER_ARN" \
    SigningCertURL="https://$SNS_HOST/SimpleNotificationService-topic.pem"
sns_refused 403 "confirmation for a topic not allowed" "$E" \
    SubscriptionConfirmation

E=$(new_env)
confirmation "$E" UnsubscribeConfirmation tok-unsub-$RANDOM
sns_post 200 "$E" UnsubscribeConfirmation &&
    sns_access "$LAST_ID" 200 UnsubscribeConfirmation
(($(srv_count 'tok-unsub') == 0)) ||
    check_fail "UnsubscribeConfirmation: its SubscribeURL was fetched"

# --- notifications ---
hook_body "$T/in1.json" "ok v1"
E=$(new_env)
notification "$E" "$T/in1.json" SignatureVersion=1
sns_delivered "SignatureVersion 1" "$T/in1.json" "$E"

hook_body "$T/in2.json" "ok v2"
E=$(new_env)
notification "$E" "$T/in2.json" SignatureVersion=2
sns_delivered "SignatureVersion 2" "$T/in2.json" "$E"
V2_ENV=$E

hook_body "$T/in3.json" "ok v1 subject"
E=$(new_env)
notification "$E" "$T/in3.json" SignatureVersion=1 Subject="Sinch callback"
sns_delivered "SignatureVersion 1 with Subject" "$T/in3.json" "$E"

hook_body "$T/in4.json" "ok v2 subject"
E=$(new_env)
notification "$E" "$T/in4.json" Subject="Sinch: a report / é"
sns_delivered "SignatureVersion 2 with Subject" "$T/in4.json" "$E"

hook_body "$T/in5.json" "ok attributes"
E=$(new_env)
notification "$E" "$T/in5.json" \
    'raw.MessageAttributes={"AWS.SNS.MOBILE.MPNS.Type":{"Type":"String","Value":"token"}}'
sns_delivered "MessageAttributes (not signed)" "$T/in5.json" "$E"

hook_body "$T/in6.json" "ok Göteborg → 東京"
E=$(new_env)
notification "$E" "$T/in6.json"
sns_delivered "non-ASCII inner message" "$T/in6.json" "$E"

hook_body "$T/in7.json" "ok escaped Malmö/Zürich"
E=$(new_env)
notification "$E" "$T/in7.json"
# The same envelope with every non-ASCII character and '/' escaped.
python3 -c 'import json, sys
e = json.load(open(sys.argv[1]))
s = json.dumps(e, ensure_ascii=True).replace("/", "\\/")
open(sys.argv[1], "w").write(s)' "$E"
grep -q '\\u00f6' "$E" || check_fail "harness: no \\u escape in $E"
sns_delivered "\\u-escaped envelope" "$T/in7.json" "$E"

n=$(srv_count "^GET /$CERT_NAME( |$)")
((n == 1)) || check_fail "$CERT_NAME was fetched $n time(s) for a" \
    "confirmation and 7 notifications, expected once (cached)"

# --- dedup on the inner bytes ---
before=$(count_records "$R")
E=$(new_env)
notification "$E" "$T/in2.json"
sns_post 200 "$E" Notification &&
    sns_access "$LAST_ID" 200 Notification recipient_delivery_report_sms
(($(count_records "$R") == before)) ||
    check_fail "the same Message with a new MessageId was written again"
post_file 200 "$T/in2.json"
(($(count_records "$R") == before)) ||
    check_fail "the inner message, sent to the direct route, was written again"
sns_post 200 "$V2_ENV" Notification
(($(count_records "$R") == before)) ||
    check_fail "the same envelope again was written again"
(($(hook_runs "$HD") == 7)) ||
    check_fail "the hook ran $(hook_runs "$HD") times for 7 callbacks"

# --- 403 ---
hook_body "$T/in.json" "tampered"
E=$(new_env)
notification "$E" "$T/in.json" after.Message="$(sed 's/Delivered/Failed/' "$T/in.json")"
sns_refused 403 "Message changed after signing" "$E" Notification
E=$(new_env)
notification "$E" "$T/in.json" Subject=one after.Subject=two
sns_refused 403 "Subject changed after signing" "$E" Notification
E=$(new_env)
notification "$E" "$T/in.json" after.Subject=added
sns_refused 403 "Subject added after signing" "$E" Notification
E=$(new_env)
notification "$E" "$T/in.json" SignatureVersion=1 after.SignatureVersion=2
sns_refused 403 "a SHA-1 signature labelled version 2" "$E" Notification
# A forged envelope around a callback already taken: refused, not a
# dedup hit.
E=$(new_env)
notification "$E" "$T/in1.json" after.MessageId=forged-$RANDOM
sns_refused 403 "MessageId changed after signing, Message already taken" \
    "$E" Notification
E=$(new_env)
notification "$E" "$T/in.json" TopicArn="$OTHER_ARN" \
    SigningCertURL="https://$SNS_HOST/SimpleNotificationService-topic.pem"
sns_refused 403 "topic not allowed" "$E" Notification
(($(srv_count 'SimpleNotificationService-topic') == 0)) ||
    check_fail "topic not allowed: its certificate was fetched anyway"
E=$(new_env)
notification "$E" "$T/in.json" age=7200
sns_refused 403 "Timestamp 2 h old" "$E" Notification
E=$(new_env)
notification "$E" "$T/in.json" age=-7200
sns_refused 403 "Timestamp 2 h ahead" "$E" Notification
for u in "https://sns.evil.example.com/SimpleNotificationService-urlcheck.pem" \
    "https://$SNS_HOST.evil.example.com/SimpleNotificationService-urlcheck.pem" \
    "http://$SNS_HOST/SimpleNotificationService-urlcheck.pem" \
    "https://$SNS_HOST:443/SimpleNotificationService-urlcheck.pem" \
    "https://user@$SNS_HOST/SimpleNotificationService-urlcheck.pem" \
    "https://$SNS_HOST/SimpleNotificationService-urlcheck.txt" \
    "https://$SNS_HOST/SimpleNotificationService-urlcheck.pem#x" \
    "https://sns.US-EAST-1.amazonaws.com/SimpleNotificationService-urlcheck.pem" \
    "https://s3.amazonaws.com/SimpleNotificationService-urlcheck.pem"; do
	E=$(new_env)
	notification "$E" "$T/in.json" SigningCertURL="$u"
	sns_refused 403 "SigningCertURL $u" "$E" Notification
done
(($(srv_count 'urlcheck') == 0)) ||
    check_fail "a SigningCertURL breaking the rules was fetched:" \
	"$(grep urlcheck "$SRV_LOG" | tr '\n' ';')"
E=$(new_env)
notification "$E" "$T/in.json" \
    SigningCertURL="https://$SNS_HOST/SimpleNotificationService-expired.pem"
sns_refused 403 "expired signing certificate" "$E" Notification

# --- 400 ---
E=$(new_env)
notification "$E" "$T/in.json"
sns_refused 400 "no x-amz-sns-message-type" "$E" -
[[ -n $LAST_ID ]] && sns_access "$LAST_ID" 400 -
sns_refused 400 "x-amz-sns-message-type: Foo" "$E" Foo
sns_refused 400 "header SubscriptionConfirmation, Type Notification" "$E" \
    SubscriptionConfirmation
printf '[%s]' "$(cat "$T/in.json")" >"$T/array.json"
sns_refused 400 "body not a JSON object" "$T/array.json" Notification
printf '{"Type":"Notification","Message":' >"$T/cut.json"
sns_refused 400 "body cut short" "$T/cut.json" Notification
for f in Message MessageId Timestamp TopicArn Type SignatureVersion; do
	E=$(new_env)
	notification "$E" "$T/in.json" "after.$f="
	sns_refused 400 "$f missing" "$E" Notification
done
# Not in the string to sign: 400 (missing) or 403 (no signature, no
# allowed URL) are both fair.
for f in Signature SigningCertURL; do
	E=$(new_env)
	notification "$E" "$T/in.json" "after.$f="
	sns_send "$E" Notification
	case $LAST_STATUS in
	400 | 403) note "$f missing: $LAST_STATUS $(last_body_excerpt)" ;;
	*) check_fail "$f missing: ${LAST_STATUS:-nothing}, expected 400 or 403" ;;
	esac
done
E=$(new_env)
notification "$E" "$T/in.json" raw.Signature=12345
sns_refused 400 "Signature not a string" "$E" Notification
E=$(new_env)
notification "$E" "$T/in.json" 'raw.Message={"type":"mo_text"}'
sns_refused 400 "Message not a string" "$E" Notification
E=$(new_env)
notification "$E" "$T/in.json" after.SignatureVersion=3
sns_refused 400 "SignatureVersion 3" "$E" Notification
E=$(new_env)
notification "$E" "$T/in.json" Timestamp=yesterday
sns_refused 400 "Timestamp not ISO 8601" "$E" Notification
E=$(new_env)
notification "$E" "$T/in.json" after.Type=Foo
sns_refused 400 "Type unknown" "$E" Notification
ERRORS_BEFORE=$(grep -a -c '^error: ' "$DAEMON_STDERR")
printf 'Hello world' >"$T/hello.txt"
E=$(new_env)
notification "$E" "$T/hello.txt"
sns_refused 400 "inner message not a callback" "$E" Notification
[[ -n $LAST_ID ]] && sns_access "$LAST_ID" 400 Notification
wait_for 5 _errors_grew ||
    check_fail "inner message not a callback: no error line"
note "error line: $(grep -a '^error: ' "$DAEMON_STDERR" | tail -n 1)"
grep -a '^error: ' "$DAEMON_STDERR" | tail -n 1 | grep -q -F "$MID" ||
    note "(the error line does not name the MessageId $MID)"

# --- what the hook says ---
hook_body "$T/x65.json" "exit:65 refused by the hook"
E=$(new_env)
notification "$E" "$T/x65.json"
sns_post 422 "$E" Notification &&
    sns_access "$LAST_ID" 422 Notification recipient_delivery_report_sms
hook_body "$T/x75.json" "exit:75 later"
E=$(new_env)
notification "$E" "$T/x75.json"
sns_post 503 "$E" Notification &&
    expect_header Retry-After '^([0-9]+|[A-Z][a-z]{2}, .+ GMT)$' "exit 75"

# --- 503: no certificate to be had ---
E=$(new_env)
notification "$E" "$T/in.json" \
    SigningCertURL="https://$SNS_HOST/SimpleNotificationService-missing.pem"
sns_refused 503 "certificate not on the server (404)" "$E" Notification
expect_header Retry-After '^([0-9]+|[A-Z][a-z]{2}, .+ GMT)$' "404 certificate"
(($(srv_count 'SimpleNotificationService-missing') >= 1)) ||
    check_fail "certificate not on the server: no GET seen"
E=$(new_env)
notification "$E" "$T/in.json" \
    SigningCertURL="https://$SNS_HOST/SimpleNotificationService-garbage.pem"
sns_refused 503 "certificate URL holding no certificate" "$E" Notification

# --- size, direct route ---
head -c 1100000 /dev/zero | tr '\0' ' ' >"$T/big.json"
sns_refused 413 "body over max_body_bytes" "$T/big.json" Notification
hook_body "$T/direct.json" "ok direct"
expect_status 415 -H 'Content-Type: text/plain; charset=UTF-8' \
    --data-binary "@$T/direct.json" "$URL"
post_file 200 "$T/direct.json" && check_record "$T/direct.json" "$LAST_ID" "$R"
if [[ -n $LAST_ID ]]; then
	wait_for 10 grep -a -q -E \
	    "access: id=$LAST_ID .*status=200( .*)? ms=[0-9]+ route=direct( |$)" \
	    "$DAEMON_STDERR" ||
	    check_fail "direct route: no 'ms=N route=direct' in its access line"
	line_of "$LAST_ID" "$R" | grep -q '"sns_' &&
	    check_fail "direct route: the record has sns_ fields"
fi

# --- saturation: one exec slot ---
hook_body "$T/s1.json" "sleep:1 busy-1"
hook_body "$T/s2.json" "sleep:1 busy-2"
notification "$T/s1.env" "$T/s1.json"
notification "$T/s2.env" "$T/s2.json"
parallel_post busy "$T/s1.env" "$T/s2.env"
check_busy busy
grep -q '^429|' "$T/busy.results" && check_fail "busy: answered 429"
wait_for 10 _e2e_no_child

# --- the deadline: the hook outlasts deadline_s = 2 ---
hook_body "$T/slow.json" "sleep:4 slow"
E=$(new_env)
notification "$E" "$T/slow.json"
t0=$(now_ms)
sns_post 503 "$E" Notification
took=$(($(now_ms) - t0))
note "a 4 s hook, deadline_s = 2: $LAST_STATUS after $took ms"
((took >= 1500 && took <= 3800)) ||
    check_fail "deadline_s = 2: answered after $took ms"
expect_header Retry-After '^([0-9]+|[A-Z][a-z]{2}, .+ GMT)$' "deadline"
[[ -n $LAST_ID ]] && sns_access "$LAST_ID" 503 Notification \
    recipient_delivery_report_sms
wait_for 10 _e2e_no_child || check_fail "deadline: the hook did not end"
sleep 0.3
sns_post 200 "$E" Notification
batch=$(jq -r .batch_id "$T/slow.json")
n=$(jq -c --arg b "$batch" 'select(.batch_id == $b)' "$R" | grep -c .)
((n == 1)) || check_fail "deadline: $n record(s) of the slow callback"
n=$(grep -c ' slow$' "$HD/runs")
((n == 1)) || check_fail "deadline: the hook ran $n times, expected once"

check_lines "$R"
check_no_zombies "sns 1" all

# --- metrics ---
scrape
note "counted: $(for k in "${!SNS_N[@]}"; do printf '%s=%s ' "$k" "${SNS_N[$k]}"; done)"
check_sns_counts
expect_metric sns_certificate_fetches_total 'result="ok"' ge 1
expect_metric sns_certificate_fetches_total 'result="failed"' ge 1
expect_metric sns_confirmations_total 'result="ok"' eq 1
expect_metric sns_confirmations_total 'result="failed"' eq 1
grep -a '^sinch_webhookd_auth_failures_total{' "$T/metrics.txt" |
    grep 'SNS' >"$T/sns_reasons"
note "SNS refusals: $(tr '\n' ';' <"$T/sns_reasons")"
for re in 'signature' 'topic' 'timestamp' 'certificate URL'; do
	grep -q -i "reason=\"SNS [^\"]*$re" "$T/sns_reasons" ||
	    check_fail "/metrics: no auth_failures_total reason \"SNS ...$re...\""
done
stop_daemon_clean

# === 2. auto_confirm = false, max_in_flight, the server going away ===========
SNS_N=()
R=$T/sns2.jsonl
HD=$T/hook2
sns_config "$T/sns2.conf" "$R" "$HD" '  auto_confirm = false;' \
    "$DEFAULT_LIMITS max_in_flight = 1;" 'max_concurrent = 4;'
start_daemon "$T/sns2.conf"
SNS_URL=$BASE/sinch/sns
: >"$SRV_LOG"
E=$(new_env)
confirmation "$E" SubscriptionConfirmation tok-manual-$RANDOM
SUB_URL=$(jq -r .SubscribeURL "$E")
sns_post 200 "$E" SubscriptionConfirmation &&
    sns_access "$LAST_ID" 200 SubscriptionConfirmation
wait_for 5 grep -a -q -F -- "$SUB_URL" "$DAEMON_STDERR"
grep -a -F -- "$SUB_URL" "$DAEMON_STDERR" | grep -q '^warn: ' ||
    check_fail "auto_confirm = false: no warning with $SUB_URL"
sleep 0.5
(($(srv_count 'ConfirmSubscription') == 0)) ||
    check_fail "auto_confirm = false: the SubscribeURL was fetched"

hook_body "$T/in8.json" "ok second daemon"
E=$(new_env)
notification "$E" "$T/in8.json"
sns_delivered "a fresh daemon" "$T/in8.json" "$E"

hook_body "$T/f1.json" "sleep:1 inflight-1"
hook_body "$T/f2.json" "sleep:1 inflight-2"
notification "$T/f1.env" "$T/f1.json"
notification "$T/f2.env" "$T/f2.json"
parallel_post inflight "$T/f1.env" "$T/f2.env"
check_busy inflight
wait_for 10 _e2e_no_child

stop_sns_server
hook_body "$T/in9.json" "ok cached"
E=$(new_env)
notification "$E" "$T/in9.json"
sns_delivered "the server gone, the certificate cached" "$T/in9.json" "$E"
hook_body "$T/in10.json" "ok late"
E=$(new_env)
notification "$E" "$T/in10.json" \
    SigningCertURL="https://$SNS_HOST/SimpleNotificationService-late.pem"
sns_refused 503 "the server gone, a certificate not cached" "$E" Notification
scrape
check_sns_counts
expect_metric sns_confirmations_total 'result="ok"' eq 0
stop_daemon_clean

# === 3. cert_dir: no network at all ==========================================
unset SINCH_WEBHOOKD_SNS_CA_FILE SINCH_WEBHOOKD_SNS_CONNECT_TO
R=$T/sns3.jsonl
DD=$T/dump
mkdir -p "$T/certs" "$DD"
cp "$P/signer.pem" "$T/certs/$CERT_NAME"
pg_start
write_config "$T/sns3.conf" "$(cat <<EOF
  { name = "log"; kind = "file"; path = "$R"; required = true; },
  { name = "dump"; kind = "exec"; command = [ "$DUMP", "$DD" ];
    timeout_ms = 15000; required = true; },
$(pg_sink)
EOF
)"
printf 'sns = {\n  topics = [ "%s", "%s" ];\n  cert_dir = "%s";\n};\n' \
    "$OTHER_ARN" "$ARN" "$T/certs" >>"$T/sns3.conf"
start_daemon "$T/sns3.conf"
SNS_URL=$BASE/sinch/sns
grep -a -q 'SINCH_WEBHOOKD_SNS_' "$DAEMON_STDERR" &&
    check_fail "cert_dir: a test-environment warning without the environment"
for i in 1 2; do
	hook_body "$T/d$i.json" "ok cert_dir $i"
	E=$(new_env)
	notification "$E" "$T/d$i.json" SignatureVersion=$i
	MIDS[$i]=$MID
	sns_delivered "cert_dir, SignatureVersion $i" "$T/d$i.json" "$E"
	if [[ $LAST_STATUS == 200 && -n $LAST_ID ]]; then
		wait_for 5 test -e "$DD/$LAST_ID.done"
		tr '\0' '\n' <"$DD/$LAST_ID.environ" 2>/dev/null >"$T/env.txt"
		grep -q -x -F "SINCH_SNS_MESSAGE_ID=$MID" "$T/env.txt" ||
		    check_fail "cert_dir: the hook has no SINCH_SNS_MESSAGE_ID=$MID"
		grep -q -x -F "SINCH_SNS_TOPIC_ARN=$ARN" "$T/env.txt" ||
		    check_fail "cert_dir: the hook has no SINCH_SNS_TOPIC_ARN=$ARN"
	fi
done
# The postgres sink keys the row on the Message's bytes and keeps the SNS
# message id and topic, so the same callback sent directly is the same row.
for i in 1 2; do
	got=$(pg_psql "SELECT concat_ws('|', sns_message_id,
	    record->>'sns_topic_arn', client_reference)
	    FROM sinch_reports WHERE dedup_key = '\\x$(sha256_of "$T/d$i.json")'")
	[[ $got == "${MIDS[$i]}|$ARN|ok cert_dir $i" ]] ||
	    check_fail "cert_dir: postgres row of Notification $i: '$got'"
done
post_file 200 "$T/d1.json"
[[ $(pg_rows) == 2 ]] ||
    check_fail "cert_dir: $(pg_rows) rows after the direct retry, want 2"
MISSING_URL=https://$SNS_HOST/SimpleNotificationService-0123456789abcdef.pem
E=$(new_env)
notification "$E" "$T/in.json" SigningCertURL="$MISSING_URL"
sns_refused 503 "cert_dir: the file is missing" "$E" Notification
expect_header Retry-After '^([0-9]+|[A-Z][a-z]{2}, .+ GMT)$' "cert_dir missing"
wait_for 5 grep -a -q -F -- "$MISSING_URL" "$DAEMON_STDERR"
grep -a -F -- "$MISSING_URL" "$DAEMON_STDERR" | grep -q -E '^(warn|error): ' ||
    check_fail "cert_dir: no warning or error naming $MISSING_URL"
note "cert_dir: $(grep -a -m1 -F -- "$MISSING_URL" "$DAEMON_STDERR")"
scrape
expect_metric sns_certificate_fetches_total 'result="ok"' ge 1
expect_metric sns_certificate_fetches_total 'result="failed"' ge 1
check_lines "$R"
check_no_zombies "cert_dir" all
stop_daemon_clean

check_one_access_line_each
finish
