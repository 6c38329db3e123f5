#!/usr/bin/env bash
#
# t_sighup.sh - logrotate under load: no line lost, split or doubled.
#
# 5000 distinct callbacks over 16 parallel connections; meanwhile the
# report file is renamed and the daemon sent SIGHUP, three times.  After
# each SIGHUP a new reports.jsonl appears.  At the end: every request was
# answered 200, the lines of all the files together are exactly the 200s
# (one line per X-Request-Id, every line a JSON record), callbacks sent
# after the last SIGHUP are in the new file, and the daemon stops cleanly.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

N=5000
ROTATIONS=3

start_daemon
make_load_config "$T/load.cfg" "$N" hup
start_load "$T/load.cfg" "$T/results" 16
LOAD=${LOAD_PIDS[-1]}

SYNC=0
: >"$T/results.sync"
# One callback outside the load, noted in the same results format.
sync_post()
{
	SYNC=$((SYNC + 1))
	load_body hupsync "$SYNC" >"$T/sync.json"
	request -H 'Content-Type: application/json' \
	    --data-binary "@$T/sync.json" "$URL"
	echo "$LAST_STATUS|0|$LAST_ID|" >>"$T/results.sync"
}

has_lines()
{
	[[ -f $1 ]] && (($(wc -l <"$1") >= $2))
}

load_done()
{
	! pid_running "$LOAD"
}

current_has_lines_or_load_done()
{
	has_lines "$REPORTS" 50 || load_done
}

during=0
for ((r = 1; r <= ROTATIONS; r++)); do
	wait_for 60 current_has_lines_or_load_done ||
	    fail "rotation $r: no lines in $REPORTS within 60 s"
	load_done || during=$((during + 1))
	mv "$REPORTS" "$REPORTS.$r" || fail "rotation $r: mv failed"
	kill -HUP "$DAEMON_PID" || fail "rotation $r: daemon is gone"
	# The daemon reopens: a new file appears (with the next line at the
	# latest; once the load is over, send that line ourselves).
	if ! wait_for 20 test -e "$REPORTS"; then
		sync_post
		wait_for 20 test -e "$REPORTS" ||
		    fail "rotation $r: no new $REPORTS after SIGHUP"
	fi
done
note "$during of $ROTATIONS rotations happened while the load was running"

wait_load "$LOAD"
pid_running "$DAEMON_PID" || fail "the daemon died during the rotations"

# Callbacks after the last reopen land in the new file.
for _ in 1 2 3; do
	sync_post
	[[ $LAST_STATUS == 200 ]] ||
	    check_fail "after SIGHUP: status $LAST_STATUS: $(last_body_excerpt)"
	[[ -n $(record_of "$LAST_ID" "$REPORTS") ]] ||
	    check_fail "after the last SIGHUP, id $LAST_ID is not in the new" \
		"$REPORTS"
done

# Every transfer was answered 200.
total=$(cat "$T/results" "$T/results.sync" | wc -l)
((total == N + SYNC)) ||
    check_fail "$total result(s) for $((N + SYNC)) request(s)"
not200=$(cat "$T/results" "$T/results.sync" | grep -c -v '^200|0|')
if ((not200 > 0)); then
	check_fail "$not200 request(s) not answered 200:" \
	    "$(summarize_results "$T/results" "$T/results.sync" | tr '\n' ' ')"
	head -n 5 "$T/results.stderr"
fi

ids_of_200 "$T/results" "$T/results.sync" >"$T/ids_200"
files=("$REPORTS")
for ((r = 1; r <= ROTATIONS; r++)); do
	files+=("$REPORTS.$r")
	note "reports.jsonl.$r: $(wc -l <"$REPORTS.$r") line(s)"
done
note "reports.jsonl: $(wc -l <"$REPORTS") line(s); $(wc -l <"$T/ids_200")" \
    "answers 200"
check_ids_match "$T/ids_200" "${files[@]}"
stop_daemon_clean

finish
