#!/usr/bin/env bash
#
# t_postgres_replicas.sh - two daemons on one database and table store a
# callback once, whichever of them gets it and however often.
#
# Daemons A and B (each on its own port, a required postgres sink on the
# same table; each keeps its own dedup cache, as replicas do).
# 1. A callback to A, then the same bytes to B (Sinch's retry landing on
#    the other replica): both 200, one row; A counted it inserted, B
#    duplicate.
# 2. A few hundred distinct bodies, each posted to A and to B at the same
#    time (two senders, same order, sixteen connections each): every answer
#    200, exactly one row per body, and the inserted counts of A and B add
#    up to the number of bodies.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

N=600

pg_start
write_config "$T/a.conf" "$(pg_sink)"
write_config "$T/b.conf" "$(pg_sink)"
start_daemon "$T/a.conf"
daemon_aside
start_daemon "$T/b.conf"
A_URL=$ASIDE_URL
A_BASE=$ASIDE_BASE
B_URL=$URL
B_BASE=$BASE
[[ $A_URL != "$B_URL" ]] || fail "A and B listen on the same port"

# --- 1. a retry on the other replica -----------------------------------------
body=$T/retry.json
printf '%s' '{"type":"recipient_delivery_report_sms","batch_id":"01JPGREPLICARETRY000000001","recipient":"46700000001","code":0,"status":"Delivered","at":"2026-03-01T10:00:00.000Z"}' >"$body"
key=$(sha256_of "$body")
URL=$A_URL post_file 200 "$body"
URL=$B_URL post_file 200 "$body"
n=$(pg_rows_of_key "$key")
[[ $n == 1 ]] || check_fail "retry on the other replica: $n rows, expected 1"
scrape "$A_BASE"
a_ins=$(metric_sum sinch_webhookd_postgres_rows_total 'result="inserted"')
scrape "$B_BASE"
b_dup=$(metric_sum sinch_webhookd_postgres_rows_total 'result="duplicate"')
[[ $a_ins == 1 && $b_dup == 1 ]] ||
    check_fail "retry on the other replica: A inserted $a_ins, B" \
	"duplicate $b_dup; expected 1 and 1"

# --- 2. every body to both at once -------------------------------------------
send_load "$A_URL" rep "$N" 16 "$T/load_a" --once
pid_a=$LOAD_PID
send_load "$B_URL" rep "$N" 16 "$T/load_b" --once
pid_b=$LOAD_PID
for p in "$pid_a" "$pid_b"; do
	wait_pid_exit "$p" 180 || check_fail "sender $p did not end"
	((WAIT_RC == 0)) || check_fail "sender $p exited $WAIT_RC"
done
for side in a b; do
	st=$(load_statuses "$T/load_$side" | tr '\n' ' ')
	[[ $st == "$N 200 " ]] ||
	    check_fail "replica ${side^^}: answers were '$st', expected $N 200"
done
load_keys "$T/load_a" >"$T/keys.want"
[[ $(wc -l <"$T/keys.want") == "$N" ]] || check_fail "the sender made" \
    "$(wc -l <"$T/keys.want") keys, not $N"
pg_expect_keys "$T/keys.want" "both replicas"
n=$(pg_rows sinch_reports "batch_id LIKE '01LOADrep%'")
[[ $n == "$N" ]] || check_fail "$n rows for $N distinct bodies"
n=$(pg_rows)
[[ $n == $((N + 1)) ]] || check_fail "the table holds $n rows," \
    "expected $((N + 1))"

scrape "$A_BASE"
a_ins=$(metric_sum sinch_webhookd_postgres_rows_total 'result="inserted"')
a_dup=$(metric_sum sinch_webhookd_postgres_rows_total 'result="duplicate"')
scrape "$B_BASE"
b_ins=$(metric_sum sinch_webhookd_postgres_rows_total 'result="inserted"')
b_dup=$(metric_sum sinch_webhookd_postgres_rows_total 'result="duplicate"')
note "inserted A $a_ins B $b_ins, duplicate A $a_dup B $b_dup"
((a_ins + b_ins == N + 1)) ||
    check_fail "inserted A $a_ins + B $b_ins, expected $((N + 1))"
((a_dup + b_dup == N + 1)) ||
    check_fail "duplicate A $a_dup + B $b_dup, expected $((N + 1))"

stop_daemon_clean
stop_aside
finish
