#!/usr/bin/env bash
#
# t_dedup.sh - a retry of the same bytes reaches only the sinks that did not
# take them yet.
#
# A required file sink and a required hook (hooks/act.sh), dedup with a
# state_file:
# 1. A hook that fails once (exit 75) then succeeds: first POST -> 503,
#    1 line, 1 run; the same bytes again -> 200, still 1 line, 2 runs; a
#    third time -> 200, nothing runs.  A hook that always exits 75: 503
#    each time, the hook runs each time, the file keeps one line.  The same
#    JSON with one more byte of whitespace is new: delivered again.
# 2. After a clean stop (SIGTERM) and a start, the state file holds what was
#    taken: those bytes again -> 200 without running the hook or adding a
#    line (the always-failing one still runs the hook, not the file); new
#    bytes are delivered.
# 3. ttl_s = 3: the same bytes 5 s later are delivered again.
# 4. entries = 0: no dedup, the same bytes are delivered twice.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

ACT=$HOOKDIR/act.sh
STATE=$T/dedup.state

# dedup_config FILE REPORTS HOOKDIR DEDUP-SETTINGS
dedup_config()
{
	mkdir -p "$3"
	write_config "$1" "$(cat <<EOF
  { name = "log"; kind = "file"; path = "$2"; required = true; },
  { name = "hook"; kind = "exec"; command = [ "$ACT", "$3" ];
    timeout_ms = 10000; max_concurrent = 4; required = true; }
EOF
)"
	printf 'dedup = { %s };\n' "$4" >>"$1"
}

# expect_counts WHAT REPORTS HOOKDIR LINES RUNS: totals so far.
expect_counts()
{
	local lines runs

	lines=0
	[[ -f $2 ]] && lines=$(grep -c . "$2")
	runs=$(hook_runs "$3")
	if ((lines != $4 || runs != $5)); then
		check_fail "$1: $lines line(s) and $runs hook run(s), expected" \
		    "$4 and $5"
		return 1
	fi
	return 0
}

# --- 1. fail once, then retries ----------------------------------------------
HD=$T/hook
dedup_config "$T/dedup.conf" "$REPORTS" "$HD" \
    "entries = 1000; ttl_s = 86400; state_file = \"$STATE\";"
start_daemon "$T/dedup.conf"

hook_body "$T/A" "fail-once:A"
post_file 503 "$T/A"
expect_header Retry-After '^([0-9]+|[A-Z][a-z]{2}, .+ GMT)$' "A, first POST"
expect_counts "A, first POST (hook exit 75)" "$REPORTS" "$HD" 1 1
post_file 200 "$T/A"
expect_counts "A, second POST" "$REPORTS" "$HD" 1 2
[[ -n $LAST_ID ]] && expect_access_line "$LAST_ID" 200
post_file 200 "$T/A"
expect_counts "A, third POST (every sink took it)" "$REPORTS" "$HD" 1 2
[[ -n $LAST_ID ]] && expect_access_line "$LAST_ID" 200

hook_body "$T/C" "ok C"
post_file 200 "$T/C"
expect_counts "C, new" "$REPORTS" "$HD" 2 3

hook_body "$T/E" "exit:75 E"
post_file 503 "$T/E"
expect_counts "E (always 75), first POST" "$REPORTS" "$HD" 3 4
post_file 503 "$T/E"
expect_counts "E (always 75), second POST: the hook again, not the file" \
    "$REPORTS" "$HD" 3 5

# Same JSON, other bytes: a new callback.
{ cat "$T/A"; printf ' '; } >"$T/A2"
post_file 200 "$T/A2"
expect_counts "A plus a space: new bytes" "$REPORTS" "$HD" 4 6
check_lines "$REPORTS"

# --- 2. restart with the state file ------------------------------------------
stop_daemon_clean
[[ -s $STATE ]] || check_fail "no state file $STATE after a clean stop"
note "state file: $(stat -c %s "$STATE" 2>/dev/null) bytes"
start_daemon "$T/dedup.conf"
post_file 200 "$T/A"
expect_counts "A after the restart" "$REPORTS" "$HD" 4 6
post_file 200 "$T/A2"
expect_counts "A plus a space after the restart" "$REPORTS" "$HD" 4 6
post_file 200 "$T/C"
expect_counts "C after the restart" "$REPORTS" "$HD" 4 6
post_file 503 "$T/E"
expect_counts "E after the restart: the hook again, not the file" \
    "$REPORTS" "$HD" 4 7
hook_body "$T/D" "ok D"
post_file 200 "$T/D"
expect_counts "D, new after the restart" "$REPORTS" "$HD" 5 8
check_lines "$REPORTS"
check_no_zombies "dedup" all
stop_daemon_clean

# --- 3. time to live ---------------------------------------------------------
R3=$T/ttl.jsonl
H3=$T/hook.ttl
dedup_config "$T/ttl.conf" "$R3" "$H3" "entries = 1000; ttl_s = 3;"
start_daemon "$T/ttl.conf"
hook_body "$T/X" "ok X"
post_file 200 "$T/X"
post_file 200 "$T/X"
expect_counts "ttl_s = 3: X twice at once" "$R3" "$H3" 1 1
sleep 5
post_file 200 "$T/X"
expect_counts "ttl_s = 3: X again 5 s later" "$R3" "$H3" 2 2
stop_daemon_clean

# --- 4. entries = 0 ----------------------------------------------------------
R4=$T/off.jsonl
H4=$T/hook.off
dedup_config "$T/off.conf" "$R4" "$H4" "entries = 0;"
start_daemon "$T/off.conf"
hook_body "$T/Y" "ok Y"
post_file 200 "$T/Y"
post_file 200 "$T/Y"
expect_counts "entries = 0: Y twice" "$R4" "$H4" 2 2
check_lines "$R4"
stop_daemon_clean

finish
