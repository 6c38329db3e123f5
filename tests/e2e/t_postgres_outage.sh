#!/usr/bin/env bash
#
# t_postgres_outage.sh - while the database is down the daemon answers
# 503 and is not ready; no 200 is ever lost; it is back by itself.
#
# One daemon with a required postgres sink; a load of distinct bodies
# (eight senders, paced so that it lasts about 20 s, each body posted
# until it is answered 200, as Sinch does).  In its middle, the server is
# stopped fast (SIGINT) for 3 s and restarted; later stopped immediately
# (SIGQUIT, a crash: the server recovers from its WAL) for 3 s and
# restarted.  Each time: 503s are seen after the stop, /readyz is 503
# while down and 200 again within 15 s of the restart.  At the end: no
# answer but 200 and 503 (no 4xx, no other 5xx, no broken connection),
# every body that was ever answered 200 is in the table, and after the
# senders' retries every body is there exactly once.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

N=3000
RATE=150

pg_daemon_load out "$N" "$RATE"
SENDER=$LOAD_PID

# a 503 logged after epoch second $1.
_503_after()
{
	awk -v t="$1" '$1 > t && $3 == "503" { f = 1 } END { exit !f }' "$LOG"
}

# outage MODE AFTER-OKS: waits for AFTER-OKS 200s, stops the server (MODE),
# checks the daemon's answers while it is down, restarts it.
outage()
{
	local mode=$1 t0 n

	wait_for 60 load_oks_at_least "$2" ||
	    fail "the load did not reach $2 answers 200: $(load_oks)"
	t0=$(date +%s.%N)
	pg_stop "$mode"
	n=$(load_oks)
	note "$mode stop after $n answers 200"
	wait_readyz 503 10 ||
	    check_fail "$mode stop: /readyz still $(readyz_status) after 10 s"
	wait_for 10 _503_after "$t0" ||
	    check_fail "$mode stop: no 503 within 10 s while the server was down"
	sleep 3
	[[ $(readyz_status) == 503 ]] ||
	    check_fail "$mode stop: /readyz $(readyz_status) while still down"
	pg_restart
	t0=$SECONDS
	wait_readyz 200 15 ||
	    check_fail "$mode stop: /readyz not 200 within 15 s of the restart"
	note "$mode stop: ready again $((SECONDS - t0)) s after the restart"
	expect_log "sink_postgres: db: (connection ([0-9]+ )?lost|unable to connect)" \
	    "$mode stop: a warning"
}

outage fast 600
outage immediate 1600

wait_pid_exit "$SENDER" 180 || check_fail "the sender did not end"
((WAIT_RC == 0)) || check_fail "the sender exited $WAIT_RC:" \
    "$(head -c 300 "$LOG.out")"

load_statuses "$LOG" >"$T/statuses"
note "answers: $(tr '\n' ' ' <"$T/statuses")"
awk '$2 != "200" && $2 != "503"' "$T/statuses" >"$T/bad_statuses"
[[ ! -s $T/bad_statuses ]] || check_fail "answers other than 200 and" \
    "503: $(tr '\n' ' ' <"$T/bad_statuses")"
n503=$(awk '$2 == "503" { print $1 }' "$T/statuses")
((${n503:-0} > 0)) || check_fail "no 503 at all during two outages"

load_keys "$LOG" 200 >"$T/keys.200"
load_keys "$LOG" >"$T/keys.all"
[[ $(wc -l <"$T/keys.200") == "$N" ]] ||
    check_fail "$(wc -l <"$T/keys.200") of $N bodies answered 200"
pg_expect_keys "$T/keys.200" "bodies answered 200"
n=$(pg_rows)
[[ $n == "$N" ]] || check_fail "$n rows for $N distinct bodies"
pg_keys >"$T/keys.table"
cmp -s "$T/keys.all" "$T/keys.table" ||
    check_fail "the table's dedup_keys are not the $N bodies'"

scrape
fails=$(metric_sum sinch_webhookd_postgres_connect_failures_total)
note "connect failures counted: $fails"
((fails >= 1)) || check_fail "postgres_connect_failures_total is $fails" \
    "after two outages"
stop_daemon_clean
finish
