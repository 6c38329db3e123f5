#!/usr/bin/env bash
#
# t_postgres_kill.sh - a daemon killed in the middle of a load loses no
# callback it answered 200, and a new one takes over the same table.
#
# One daemon with a required postgres sink; a paced load of distinct
# bodies (eight senders, each body posted until 200).  After some hundreds
# of 200s the daemon gets SIGKILL (by its PID), and the senders are
# stopped.  Every body answered 200 is in the table, once.  Then a new
# daemon on the same table, and every body sent again: all 200, and the
# table holds each body exactly once; the new daemon counts as duplicates
# at least the bodies answered 200 before the kill.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

N=3000
RATE=200

pg_daemon_load kill "$N" "$RATE"
SENDER=$LOAD_PID

wait_for 60 load_oks_at_least 800 ||
    fail "the load did not reach 800 answers 200"
stop_daemon KILL 10
rc=$?
((rc == 137)) || check_fail "the daemon exited $rc after SIGKILL, not 137"
kill -TERM "$SENDER" 2>/dev/null
wait_pid_exit "$SENDER" 20 || check_fail "the sender did not stop"

# A statement the killed daemon sent may still commit: count the rows once
# its sessions are gone.
_no_other_session()
{
	[[ $(pg_psql "SELECT count(*) FROM pg_stat_activity
	    WHERE backend_type = 'client backend'
	    AND pid <> pg_backend_pid()") == 0 ]]
}
wait_for 15 _no_other_session ||
    check_fail "the killed daemon's sessions are still there after 15 s"

note "answers before the kill: $(load_statuses "$LOG" | tr '\n' ' ')"
awk '$3 != "200" && $3 != "000"' "$LOG" >"$T/bad"
[[ ! -s $T/bad ]] || check_fail "answers other than 200 before the kill:" \
    "$(head -n 3 "$T/bad" | tr '\n' ' ')"
load_keys "$LOG" 200 >"$T/keys.200"
ok=$(wc -l <"$T/keys.200")
((ok >= 800 && ok < N)) ||
    check_fail "$ok bodies answered 200 before the kill (expected 800..$N)"
pg_expect_keys "$T/keys.200" "bodies answered 200 before the kill"
rows=$(pg_rows)
note "$ok answered 200, $rows rows in the table after the kill"
((rows >= ok)) || check_fail "$rows rows for $ok answers 200"

# A new daemon on the same table; every body again.
start_daemon "$T/pg.conf"
wait_readyz 200 15 || check_fail "the new daemon is not ready"
send_load "$URL" kill "$N" 8 "$T/again" --once
wait_pid_exit "$LOAD_PID" 180 || check_fail "the second sender did not end"
st=$(load_statuses "$T/again" | tr '\n' ' ')
[[ $st == "$N 200 " ]] ||
    check_fail "sent again: answers were '$st', expected $N 200"
n=$(pg_rows)
[[ $n == "$N" ]] || check_fail "$n rows for $N distinct bodies"
load_keys "$LOG" >"$T/keys.all"
pg_keys >"$T/keys.table"
cmp -s "$T/keys.all" "$T/keys.table" ||
    check_fail "the table's dedup_keys are not the $N bodies'"
scrape
ins=$(metric_sum sinch_webhookd_postgres_rows_total 'result="inserted"')
dup=$(metric_sum sinch_webhookd_postgres_rows_total 'result="duplicate"')
((ins + dup == N && dup >= ok && ins == N - rows)) ||
    check_fail "new daemon: inserted $ins, duplicate $dup; expected" \
	"$((N - rows)) and $rows"
stop_daemon_clean
finish
