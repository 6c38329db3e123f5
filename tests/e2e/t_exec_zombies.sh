#!/usr/bin/env bash
#
# t_exec_zombies.sh - many hook runs of every outcome leave nothing behind.
#
# hooks/act.sh with timeout_ms = 1000 and max_concurrent = 16, 108 distinct
# callbacks, 8 at a time, cycling through: exit 0, 75, 65, 3, SIGKILL,
# SIGTERM, a child left behind (with and without the hook's pipes) and a
# timeout with forked children.  Each answer is the one its outcome
# calls for (200, 503, 422); afterwards the daemon has no zombie and no
# child at all, every process the hooks noted is gone, the daemon holds
# no more fds than before (pipes are closed) and still answers.  Then,
# restarted with timeout_ms = 10000, SIGTERM while a hook sleeps 2 s: that
# request is answered 200, the daemon exits 0 and the hook is gone.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

ACT=$HOOKDIR/act.sh
HD=$T/hook
mkdir "$HD" "$T/bodies"
ROUNDS=12
trap 'rc=$?; kill_pids $(cat "$HD"/pids.* 2>/dev/null); _e2e_exit "$rc"' EXIT

declare -A WANT=(
	[ok]=200 [exit:75]=503 [exit:65]=422 [exit:3]=503 [signal:KILL]=503
	[signal:TERM]=503 [leave-child]=200 [leave-child-pipes]=200
	[fork-sleep]=503
)
ACTIONS=(ok exit:75 exit:65 exit:3 signal:KILL signal:TERM leave-child
    leave-child-pipes fork-sleep)

write_config "$T/zombies.conf" "$(cat <<EOF
  { name = "log"; kind = "file"; path = "$REPORTS"; required = true; },
  { name = "hook"; kind = "exec"; command = [ "$ACT", "$HD" ];
    timeout_ms = 1000; max_concurrent = 16; required = true; }
EOF
)"
start_daemon "$T/zombies.conf"

fd_count()
{
	find "/proc/$DAEMON_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# Warm up (threads, the report file), then count the daemon's fds.
hook_body "$T/warm" "ok warm-up"
post_file 200 "$T/warm"
check_no_zombies "warm-up" all
FDS_BEFORE=$(fd_count)

bodies=()
declare -A ACTION_OF=()
for ((r = 1; r <= ROUNDS; r++)); do
	for a in "${ACTIONS[@]}"; do
		f=$T/bodies/$r-${a//:/-}.json
		hook_body "$f" "$a round $r"
		ACTION_OF[$f]=$a
		bodies+=("$f")
	done
done
make_bodies_load_config "$T/load.cfg" "${bodies[@]}"
start=$SECONDS
start_load "$T/load.cfg" "$T/results" 8
wait_load "${LOAD_PIDS[-1]}"
note "${#bodies[@]} callbacks in ~$((SECONDS - start))s:" \
    "$(summarize_results "$T/results" | tr '\n' ' ')"

n=$(wc -l <"$T/results")
((n == ${#bodies[@]})) || check_fail "$n result(s) for ${#bodies[@]} callbacks"
declare -A BAD=()
while IFS='|' read -r code ex id _ f; do
	a=${ACTION_OF[$f]:-?}
	if [[ $code != "${WANT[$a]:-x}" || $ex != 0 ]]; then
		BAD[$a]="${BAD[$a]:-}$code/$ex(id $id) "
	fi
done <"$T/results"
for a in "${!BAD[@]}"; do
	check_fail "hook '$a': expected ${WANT[$a]:-?}, got: ${BAD[$a]:0:300}"
done

# Nothing left: no zombie, no child, none of the noted processes.
check_no_zombies "after ${#bodies[@]} runs" all
mapfile -t noted < <(cat "$HD"/pids.* 2>/dev/null | tr ' ' '\n' | grep .)
if ! pids_gone 5 "${noted[@]}"; then
	left=()
	for p in "${noted[@]}"; do
		pid_running "$p" && left+=("$p")
	done
	check_fail "${#left[@]} of ${#noted[@]} processes started by hooks still" \
	    "run: $(ps -o pid=,pgid=,args= -p "$(IFS=,; echo "${left[*]}")" |
		head -n 3 | tr '\n' ';')"
fi
note "${#noted[@]} processes started by hooks, all gone"

fds_settled()
{
	(($(fd_count) <= FDS_BEFORE + 4))
}
wait_for 10 fds_settled ||
    check_fail "the daemon holds $(fd_count) fds after the runs, $FDS_BEFORE" \
	"before: $(find "/proc/$DAEMON_PID/fd" -mindepth 1 -printf '%l\n' |
	    sort | uniq -c | sort -rn | head -n 3 | tr '\n' ';')"
note "daemon fds: $FDS_BEFORE before, $(fd_count) after"

hook_body "$T/after" "ok after"
post_file 200 "$T/after" && check_record "$T/after" "$LAST_ID"

# SIGTERM while a hook runs (timeout_ms = 10000 now): it finishes, the
# answer is 200.
stop_daemon_clean
write_config "$T/term.conf" "$(cat <<EOF
  { name = "log"; kind = "file"; path = "$REPORTS"; required = true; },
  { name = "hook"; kind = "exec"; command = [ "$ACT", "$HD" ];
    timeout_ms = 10000; max_concurrent = 4; required = true; }
EOF
)"
start_daemon "$T/term.conf"
hook_body "$T/last" "sleep:2 at SIGTERM"
curl -sS --max-time "$CURL_MAX_TIME" -H 'Content-Type: application/json' \
    --data-binary "@$T/last" -o "$T/sigterm.body" -w '%{http_code}' "$URL" \
    >"$T/sigterm.code" 2>"$T/sigterm.err" &
CURL_PID=$!
wait_for 10 grep -q 'sleep:2 at SIGTERM' "$HD/runs" ||
    check_fail "the sleeping hook did not start"
hook_pid=$(awk '/sleep:2 at SIGTERM/ { print $2 }' "$HD/runs")
stop_daemon_clean
wait_pid_exit "$CURL_PID" 40 || check_fail "curl did not end"
code=$(cat "$T/sigterm.code" 2>/dev/null)
[[ $code == 200 ]] ||
    check_fail "SIGTERM during a hook run: answer '$code', expected 200:" \
	"$(head -c 200 "$T/sigterm.body" "$T/sigterm.err" | tr '\n' ' ')"
[[ -z $hook_pid ]] || pids_gone 5 "$hook_pid" ||
    check_fail "the hook $hook_pid survives the daemon"

finish
