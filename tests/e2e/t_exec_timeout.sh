#!/usr/bin/env bash
#
# t_exec_timeout.sh - a hook over timeout_ms, and what hooks leave behind.
#
# timeout_ms = 500, hooks/act.sh:
# 1. fork-sleep: the hook starts two `sleep 300` children and waits.  The
#    answer is 503 with Retry-After within a few seconds, "timed out after
#    500 ms" is logged, and the hook and both children are gone (the whole
#    process group was killed).
# 2. leave-child: the hook exits 0 at once, leaving a `sleep 300` (stdio on
#    /dev/null) in its process group: 200, and the child is gone shortly
#    after.
# 3. leave-child-pipes: the same, but the child keeps the hook's stdout and
#    stderr open: still 200 (the hook's exit decides, not the end of its
#    output), and the child is gone shortly after.
# No zombie is left, and the daemon has no child at the end.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

ACT=$HOOKDIR/act.sh
HD=$T/hook
mkdir "$HD"
ALL_PIDS=()
trap 'rc=$?; kill_pids "${ALL_PIDS[@]}"; _e2e_exit "$rc"' EXIT

write_config "$T/timeout.conf" "$(cat <<EOF
  { name = "log"; kind = "file"; path = "$REPORTS"; required = true; },
  { name = "hook"; kind = "exec"; command = [ "$ACT", "$HD" ];
    timeout_ms = 500; max_concurrent = 4; required = true; }
EOF
)"
start_daemon "$T/timeout.conf"

# read_pids ID: the pids act.sh noted for request ID, in PIDS.
read_pids()
{
	PIDS=()
	if [[ ! -s $HD/pids.$1 ]]; then
		check_fail "hook run $1 noted no pids (no $HD/pids.$1)"
		return 1
	fi
	read -r -a PIDS <"$HD/pids.$1"
	ALL_PIDS+=("${PIDS[@]}")
}

kill0_fails()
{
	local pid

	for pid in "$@"; do
		kill -0 "$pid" 2>/dev/null && return 1
	done
	return 0
}

# --- 1. over the timeout -----------------------------------------------------
hook_body "$T/b" "fork-sleep"
start=$SECONDS
post_file 503 "$T/b"
took=$((SECONDS - start))
note "fork-sleep -> ${LAST_STATUS} after ~${took}s: $(last_body_excerpt)"
if [[ $LAST_STATUS == 503 ]]; then
	expect_header Retry-After '^([0-9]+|[A-Z][a-z]{2}, .+ GMT)$' "timeout"
	expect_one_line_body "timeout"
	grep -q '^sink hook: ' "$T/last.body" ||
	    check_fail "timeout: the 503 does not name the sink:" \
		"$(last_body_excerpt)"
fi
((took <= 8)) ||
    check_fail "timeout_ms = 500, but the answer took ~${took}s (bound 8 s)"
[[ -n $LAST_ID ]] && expect_log \
    "^warn: sink_exec: hook: id=$LAST_ID: timed out after 500 ms(\$|[^0-9])" \
    "timeout"
if read_pids "$LAST_ID"; then
	((${#PIDS[@]} == 3)) || check_fail "fork-sleep noted '${PIDS[*]}'"
	if ! pids_gone 5 "${PIDS[@]}"; then
		for p in "${PIDS[@]}"; do
			pid_running "$p" &&
			    check_fail "timeout: process $p (of hook $LAST_ID:" \
				"${PIDS[*]}) still runs 5 s after the 503:" \
				"$(ps -o pid=,pgid=,stat=,args= -p "$p")"
		done
	else
		note "hook ${PIDS[0]} and children ${PIDS[*]:1} are gone"
	fi
	# Orphans are reaped by init, not by the daemon: give it a moment
	# before kill -0 must fail too.
	wait_for 5 kill0_fails "${PIDS[@]}" ||
	    note "(some of ${PIDS[*]} are dead but still unreaped zombies" \
		"of $(ps -o ppid= -p "${PIDS[1]}" 2>/dev/null) after 5 s)"
fi
check_no_zombies "after the timeout"

# --- 2./3. a hook that exits 0 and leaves a child ----------------------------
for ref in leave-child leave-child-pipes; do
	hook_body "$T/b" "$ref"
	start=$SECONDS
	post_file 200 "$T/b"
	took=$((SECONDS - start))
	note "$ref -> $LAST_STATUS after ~${took}s $(last_body_excerpt)"
	[[ -n $LAST_ID ]] || continue
	[[ $LAST_STATUS == 200 ]] || grep -a "id=$LAST_ID:" "$DAEMON_STDERR" |
	    head -n 3 | sed 's/^/  stderr: /'
	read_pids "$LAST_ID" || continue
	pids_gone 5 "${PIDS[@]}" ||
	    check_fail "$ref: the hook's child ${PIDS[0]} still runs 5 s" \
		"after the hook exited: $(ps -o pid=,pgid=,stat=,args= \
		    -p "${PIDS[0]}")"
done

check_no_zombies "at the end" all
stop_daemon_clean
# Nothing of ours survives the daemon either.
pids_gone 5 "${ALL_PIDS[@]}" ||
    check_fail "hook processes survive the daemon: ${ALL_PIDS[*]}"

finish
