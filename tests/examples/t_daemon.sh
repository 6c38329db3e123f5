#!/usr/bin/env bash
#
# t_daemon.sh - both example hooks behind the real daemon, configured as
# docs/examples/README.md says: Sinch's view (the HTTP answer) of what
# the hooks decide.
#   - delivery reports update the database and answer 200, a late Queued
#     keeps Delivered, a batch report adds its recipients;
#   - an inbound message is forwarded and answers 200; the receiver
#     answering 500 makes the daemon answer 503 (Sinch retries), and the
#     retry of the same bytes is forwarded once the receiver is back;
#   - a database locked beyond --busy-timeout answers 503, and the retry
#     succeeds once the lock is gone;
#   - 20 reports at once with max_concurrent = 4: every one ends in the
#     database after the retries Sinch would make (429/503).
# Skipped (passes with a note) when the binary is not built.
#
# Environment: SINCH_WEBHOOKD_BIN, the binary (default: the one built in
# the source tree).

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

need_daemon
DB=$T/status.db
start_receiver

CONF=$T/webhookd.conf
cat >"$CONF" <<EOF
listen = { address = "127.0.0.1"; port = 0; path = "/sinch/sms"; };
log = { level = "info"; };
sinks = (
  { name = "status"; kind = "exec";
    command = [ "$HOOKS/sqlite-status.sh", "--db", "$DB",
                "--busy-timeout", "500" ];
    types = [ "recipient_delivery_report_sms", "recipient_delivery_report_mms",
              "delivery_report_sms", "delivery_report_mms" ];
    timeout_ms = 5000; max_concurrent = 4; },
  { name = "chat"; kind = "exec";
    command = [ "$HOOKS/forward-inbound.sh" ];
    env = { FORWARD_URL = "http://127.0.0.1:$RECV_PORT/hooks/chat";
            FORWARD_TIMEOUT = "5"; };
    types = [ "mo_text", "mo_binary", "mo_media" ];
    timeout_ms = 8000; max_concurrent = 2; }
);
EOF
start_daemon "$CONF"

# body NAME JSON: writes a callback body to $T/NAME.json.
body()
{
	printf '%s' "$2" >"$T/$1.json"
}

row()
{
	sqlite3 -init /dev/null "$DB" "SELECT status || ' ' || code || ' ' ||
	    at FROM recipient_status WHERE batch_id = '$1' AND recipient = '$2'"
}

# --- Delivery reports.
body d1 '{"type":"recipient_delivery_report_sms","batch_id":"D1",
  "recipient":"+46700000001","code":0,"status":"Delivered",
  "at":"2026-11-27T10:00:05.000Z","client_reference":"o-1"}'
expect_post "Delivered" 200 "$T/d1.json"
expect_eq "row after Delivered" "Delivered 0 2026-11-27T10:00:05.000Z" \
    "$(row D1 +46700000001)"
body d2 '{"type":"recipient_delivery_report_sms","batch_id":"D1",
  "recipient":"+46700000001","code":"400","status":"Queued",
  "at":"2026-11-27T10:09:00.000Z"}'
expect_post "late Queued" 200 "$T/d2.json"
expect_eq "row after a late Queued" "Delivered 0 2026-11-27T10:00:05.000Z" \
    "$(row D1 +46700000001)"
grep -q '0 of 1 row(s) changed' "$DAEMON_LOG" ||
    check_fail "the hook's note is not in the daemon's log"
expect_post "batch report" 200 \
    "$FIXTURES/delivery_report_sms_multi_status.json"
expect_eq "batch row (Dispatched)" "Dispatched 401" \
    "$(row 01JGM9S346Q3D25VT4F5V37E3S +447700900123 | cut -d' ' -f1-2)"
expect_eq "batch row (Delivered)" "Delivered 0" \
    "$(row 01JGM9S346Q3D25VT4F5V37E3S +447700900124 | cut -d' ' -f1-2)"

# --- Inbound messages.
expect_post "mo_text" 200 "$FIXTURES/mo_text_all_fields.json"
n=$(requests)
expect_eq "mo_text forwarded" \
    '{"text":"SMS from +447700900461 to 447700900900: Where is order 4417?"}' \
    "$(jq -c . "$RECV_DIR/req.$n" 2>/dev/null)"
rows=$(sqlite3 -init /dev/null "$DB" 'SELECT count(*) FROM recipient_status')
expect_eq "inbound adds no row" 3 "$rows"
receiver_status 500
expect_post "receiver failing" 503 "$FIXTURES/mo_media_all_fields.json"
receiver_status 200
expect_post "retry once the receiver is back" 200 \
    "$FIXTURES/mo_media_all_fields.json"
expect_eq "forwarded: 1 + failed try + retry" $((n + 2)) "$(requests)"
jq -e '.text | startswith("MMS from +447700900461 to 447700900900: Subject:")' \
    "$RECV_DIR/req.$((n + 2))" >/dev/null ||
    check_fail "mo_media retry: $(cat "$RECV_DIR/req.$((n + 2))")"

# --- A database locked beyond --busy-timeout (500 ms): 503, then 200.
hold_write_lock "$DB"
body d3 '{"type":"recipient_delivery_report_mms","batch_id":"D3",
  "recipient":"+46700000003","code":0,"status":"Delivered",
  "at":"2026-11-27T10:00:00Z"}'
expect_post "database locked" 503 "$T/d3.json"
release_write_lock
expect_post "retry after the lock" 200 "$T/d3.json"
expect_eq "row after the retry" "Delivered 0 2026-11-27T10:00:00Z" \
    "$(row D3 +46700000003)"

# --- 20 reports at once, 4 hook slots: Sinch's retries (429 and 503 are
# retried; here at once, up to 50 times) get every one in.
# sinch_like FILE: posts until 200; prints the answers.
sinch_like()
{
	local i code answers=""

	for ((i = 0; i < 50; i++)); do
		code=$(post "$1")
		answers+="$code "
		[[ $code == 200 ]] && break
		[[ $code == 429 || $code == 503 ]] || break
		sleep 0.1
	done
	echo "$answers"
}
pids=()
for ((i = 1; i <= 20; i++)); do
	body "c$i" "{\"type\":\"recipient_delivery_report_sms\",
	  \"batch_id\":\"C\",\"recipient\":\"+467000010$((10 + i))\",
	  \"code\":0,\"status\":\"Delivered\",\"at\":\"2026-11-27T10:00:00Z\"}"
	sinch_like "$T/c$i.json" >"$T/c$i.answers" &
	pids+=("$!")
done
for pid in "${pids[@]}"; do
	wait "$pid"
done
retried=0
for ((i = 1; i <= 20; i++)); do
	answers=$(cat "$T/c$i.answers")
	[[ $answers == *200\  ]] ||
	    check_fail "report c$i never taken: answers $answers"
	[[ $answers == 200\  ]] || retried=$((retried + 1))
done
note "20 reports at once: $retried needed a retry (429/503)"
expect_eq "rows after 20 at once" 20 "$(sqlite3 -init /dev/null "$DB" \
    "SELECT count(*) FROM recipient_status WHERE batch_id = 'C'")"

# --- A clean stop.
stop_daemon || check_fail "daemon did not stop within 30 s"
expect_eq "daemon exit status" 0 "$DAEMON_RC"

finish
