#!/usr/bin/env bash
#
# t_exec_lines.sh - exec sinks with protocol = "lines": one long-running
# helper per slot (tests/data/e2e/hooks/lines.py) reads a record per line
# and answers a status per line.
#
# 1. Helpers that crash on every 10th record, four slots, 100 distinct
#    callbacks from senders that follow Sinch's retry schedule: every
#    callback is answered 200 in the end and taken exactly once; each
#    crashed record was answered 503, and its helper restarted.
# 2. One slot, timeout_ms = 1000: a record that hangs is 503 after the
#    timeout, and one answered with junk is 503; each time the helper is
#    killed, the next callback is taken by a new one and the old one is
#    gone.  "65 reason" is 422 and "75 reason" 503, from the same helper.
#    The restarts are counted by reason.
# 3. A helper that never starts: the daemon starts all the same, is not
#    ready, answers 503 at once and logs why (the helper's stderr and its
#    exit status).
# 4. SIGHUP during a record: the record is answered 200, the next one is
#    taken by a new helper, and the old one got EOF and exited by itself.
#    A stop ends the new one the same way.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

HELPER=$HOOKDIR/lines.py
HD=$T/helper
mkdir "$HD"

# lines_config FILE SLOTS MODE [TIMEOUT-MS]: one required lines sink
# "helper" (timeout_ms 10000 by default).
lines_config()
{
	write_config "$1" "$(cat <<EOF
  { name = "helper"; kind = "exec"; protocol = "lines";
    command = [ "$(command -v python3)", "$HELPER", "$HD", "$3" ];
    max_concurrent = $2; timeout_ms = ${4:-10000}; required = true; }
EOF
)"
}

# pid_of REF: the helper that took the record with client reference REF.
pid_of()
{
	awk -v ref="$1" '{ p = $1; $1 = ""; if (substr($0, 2) == ref) print p }' \
	    "$HD/taken"
}

# take REF: a new callback with client reference REF is answered 200;
# TOOK is the PID of the helper that took it.
take()
{
	TOOK=""
	hook_body "$T/b.json" "$1"
	post_file 200 "$T/b.json" || { note "  ($1)"; return 1; }
	TOOK=$(pid_of "$1")
}

# restarts REASON: exec_helper_restarts_total of the helper for REASON.
restarts()
{
	scrape
	metric_sum sinch_webhookd_exec_helper_restarts_total \
	    'sink="helper"' "reason=\"$1\""
}

# --- 1. crash on every 10th record -------------------------------------------
lines_config "$T/crash.conf" 4 crash:10
start_daemon "$T/crash.conf"
wait_readyz 200 15 || check_fail "crash: not ready with its helpers up"
send_load "$URL" crash 100 16 "$T/crash" --sinch --seconds 100
wait_load "$LOAD_PID"
note "crash: answers: $(load_statuses "$T/crash" | tr '\n' ' ')"
oks=$(awk '$3 == 200 { print $2 }' "$T/crash" | sort -u | wc -l)
((oks == 100)) || check_fail "crash: $oks of 100 callbacks answered 200"
bad=$(awk '$3 != 200 && $3 != 503' "$T/crash" | head -n 3)
[[ -z $bad ]] || check_fail "crash: answers other than 200 and 503: $bad"
cut -d ' ' -f 2- "$HD/taken" | sort >"$T/taken"
seq 1 100 | sed 's/^/crash-/' | sort >"$T/want"
cmp -s "$T/taken" "$T/want" ||
    check_fail "crash: taken is not each callback once:" \
	"$(diff "$T/want" "$T/taken" | head -n 5 | tr '\n' ' ')"
n503=$(awk '$3 == 503' "$T/crash" | wc -l)
exited=$(restarts exited)
note "crash: $n503 answers 503, $exited helpers restarted"
# 100 records and one more per crash, 10 per crashed helper, fewer than
# 10 in each of the last four: 8 to 11 crashes, each one 503.
((n503 == ${exited%.*} && n503 >= 8)) ||
    check_fail "crash: $n503 x 503 and $exited restarts, expected as" \
	"many, 8 or more"
expect_log 'sink_exec: helper: id=[^ ]+: helper [0-9]+ exited \(exit status 3\); starting another in [0-9]+ ms' \
    "crash"
stop_daemon_clean

# --- 2. a hang, junk, 65 and 75 ---------------------------------------------
: >"$HD/taken"
lines_config "$T/one.conf" 1 - 1000
start_daemon "$T/one.conf"
take "first"
p1=$TOOK
hook_body "$T/hang.json" "hang"
start=$SECONDS
post_file 503 "$T/hang.json"
((SECONDS - start <= 5)) ||
    check_fail "hang: answered after $((SECONDS - start)) s, not the timeout"
expect_log "id=$LAST_ID: helper $p1 did not answer within 1000 ms" "hang"
take "after the hang"
p2=$TOOK
[[ -n $p1 && -n $p2 && $p1 != "$p2" ]] ||
    check_fail "hang: the helper was not replaced ($p1, then $p2)"
pids_gone 5 "$p1" || check_fail "hang: helper $p1 still runs"
hook_body "$T/junk.json" "junk"
post_file 503 "$T/junk.json"
expect_log "id=$LAST_ID: answer not understood: hello" "junk"
expect_log "helper $p2 answered what is not a status" "junk"
take "after the junk"
p3=$TOOK
[[ -n $p3 && $p3 != "$p2" ]] ||
    check_fail "junk: the helper was not replaced ($p2, then $p3)"
hook_body "$T/reject.json" "reject"
post_file 422 "$T/reject.json"
expect_one_line_body "reject"
expect_log "id=$LAST_ID: answered 65, report rejected: not a report of ours" \
    "reject"
hook_body "$T/later.json" "later"
post_file 503 "$T/later.json"
expect_header Retry-After '^[0-9]+$' "later"
expect_log "id=$LAST_ID: answered 75: the database is busy" "later"
take "after 65 and 75"
p4=$TOOK
[[ $p4 == "$p3" ]] ||
    check_fail "65 and 75 restarted the helper ($p3, then $p4)"
[[ $(restarts timeout) == 1 && $(metric_sum \
    sinch_webhookd_exec_helper_restarts_total 'reason="protocol"') == 1 &&
    $(metric_sum sinch_webhookd_exec_helper_restarts_total \
    'reason="exited"') == 0 ]] ||
    check_fail "restarts: $(grep restarts_total "$T/metrics.txt" |
	tr '\n' ' ')"
[[ $(metric_sum sinch_webhookd_exec_helpers_running) == 1 ]] ||
    check_fail "exec_helpers_running is not 1"
check_no_zombies "one slot"
stop_daemon_clean

# --- 3. a helper that never starts -------------------------------------------
lines_config "$T/broken.conf" 2 broken
timeout -k 5 30 "$BIN" -t -c "$T/broken.conf" >/dev/null 2>&1 ||
    check_fail "broken: -t refused a configuration that is valid"
start_daemon "$T/broken.conf"
wait_readyz 503 10 || check_fail "broken: /readyz is not 503"
hook_body "$T/x.json" "never taken"
start=$SECONDS
post_file 503 "$T/x.json"
((SECONDS - start <= 2)) ||
    check_fail "broken: answered after $((SECONDS - start)) s, not at once"
expect_log "sink_exec: helper: id=-: stderr: lines.py: no configuration in" \
    "broken"
expect_log "helper [0-9]+ exited \(exit status 2\); starting another in" \
    "broken"
stop_daemon_clean

# --- 4. SIGHUP ---------------------------------------------------------------
: >"$HD/taken"
: >"$HD/events"
lines_config "$T/hup.conf" 1 -
start_daemon "$T/hup.conf"
hook_body "$T/slow.json" "slow:1 during the reload"
curl -s -o /dev/null -w '%{http_code}' --max-time 30 \
    -H 'Content-Type: application/json' --data-binary "@$T/slow.json" \
    "$URL" >"$T/slow.code" &
curl_pid=$!
LOAD_PIDS+=("$curl_pid")
sleep 0.3
kill -HUP "$DAEMON_PID"
wait_pid_exit "$curl_pid" 30 || check_fail "sighup: the request did not end"
[[ $(cat "$T/slow.code") == 200 ]] ||
    check_fail "sighup: the record in progress answered $(cat "$T/slow.code")"
old=$(pid_of "slow:1 during the reload")
take "after the reload"
new=$TOOK
[[ -n $old && -n $new && $old != "$new" ]] ||
    check_fail "sighup: the helper was not replaced ($old, then $new)"
grep -q -x "$old stopped" "$HD/events" ||
    check_fail "sighup: helper $old did not exit at EOF:" \
	"$(tr '\n' ' ' <"$HD/events")"
expect_log "sink_exec: helper: restarting helper $old" "sighup"
[[ $(restarts reload) == 1 ]] || check_fail "sighup: not counted as reload"
stop_daemon_clean
grep -q -x "$new stopped" "$HD/events" ||
    check_fail "stop: helper $new did not exit at EOF:" \
	"$(tr '\n' ' ' <"$HD/events")"

finish
