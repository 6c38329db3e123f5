#!/usr/bin/env bash
#
# t_exec_queue.sh - a burst waits in line for the exec slots instead of
# bouncing to Sinch's backoff.
#
# 1. 300 distinct callbacks from 32 senders that follow Sinch's retry
#    schedule in real time (tests/e2e/sender.py --sinch), a 20 ms hook
#    (hooks/take.sh), max_concurrent = 8, queue_wait_ms at its default:
#    every callback is answered 200 on its first attempt and taken by the
#    hook exactly once; the queue metrics show that reports waited.
# 2. The same with queue_wait_ms = 0, for 12 s: most first attempts are
#    answered 429 with a Retry-After of at least 1 s, and no callback is
#    taken twice or taken without its 200.
# 3. First come, first served: one slot held for 1.5 s, then six
#    callbacks sent 150 ms apart run in the order they were sent.
# 4. A stop with reports waiting: SIGTERM answers the three waiting 503
#    at once (well before the running hook ends), the running one 200,
#    and the daemon exits 0; the hook ran once.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

HD=$T/hook
mkdir "$HD"
N=300

# taken_check WHAT REFS-FILE: every line of $HD/taken is a client
# reference of REFS-FILE (sorted) and none is there twice.
taken_check()
{
	local dups missing

	sort "$HD/taken" >"$T/taken.sorted"
	dups=$(uniq -d "$T/taken.sorted" | wc -l)
	((dups == 0)) || check_fail "$1: $dups callback(s) taken twice:" \
	    "$(uniq -d "$T/taken.sorted" | head -n 5 | tr '\n' ' ')"
	missing=$(comm -3 "$2" "$T/taken.sorted" | wc -l)
	((missing == 0)) || check_fail "$1: taken and answered 200 differ" \
	    "by $missing: $(comm -3 "$2" "$T/taken.sorted" | head -n 5 |
	    tr '\n' ' ')"
}

# refs_of_200 TAG LOG: the client references of the bodies answered 200.
refs_of_200()
{
	awk -v tag="$1" '$3 == 200 { print tag "-" $2 }' "$2" | sort -u
}

# --- 1. a burst, queued ----------------------------------------------------
write_config "$T/queue.conf" "$(cat <<EOF
  { name = "hook"; kind = "exec"; command = [ "$HOOKDIR/take.sh", "$HD" ];
    max_concurrent = 8; timeout_ms = 20000; required = true; }
EOF
)"
start_daemon "$T/queue.conf"
send_load "$URL" burst "$N" 32 "$T/burst" --sinch --seconds 60
wait_load "$LOAD_PID"
first=$(first_statuses "$T/burst" | tr '\n' ' ')
note "queued: first attempts: $first"
[[ $first == "$N 200 " ]] ||
    check_fail "queued: first attempts were '$first', expected $N x 200"
grep -q -v ' 200 -$' "$T/burst" &&
    check_fail "queued: answers other than 200:" \
	"$(grep -v ' 200 -$' "$T/burst" | head -n 3 | tr '\n' ' ')"
refs_of_200 burst "$T/burst" >"$T/burst.refs"
(($(wc -l <"$T/burst.refs") == N)) ||
    check_fail "queued: $(wc -l <"$T/burst.refs") of $N answered 200"
(($(wc -l <"$HD/taken") == N)) ||
    check_fail "queued: the hook took $(wc -l <"$HD/taken"), expected $N"
taken_check queued "$T/burst.refs"
scrape
waited=$(metric_sum sinch_webhookd_sink_queue_wait_seconds_count \
    'sink="hook"')
fast=$(metric_sum sinch_webhookd_sink_queue_wait_seconds_bucket \
    'sink="hook"' 'le="0.0005"')
note "queued: $waited reports through the queue, $((${waited%.*} - \
${fast%.*})) waited more than 0.5 ms"
[[ $waited == "$N" ]] ||
    check_fail "queued: sink_queue_wait_seconds_count is $waited, not $N"
((${fast%.*} < N)) ||
    check_fail "queued: no report waited for a slot: not a burst"
[[ $(metric_sum sinch_webhookd_sink_queued 'sink="hook"') == 0 ]] ||
    check_fail "queued: sink_queued is not 0 once the burst is over"
check_no_zombies queued all
stop_daemon_clean

# --- 2. the same burst, no waiting ---------------------------------------
: >"$HD/taken"
write_config "$T/nowait.conf" "$(cat <<EOF
  { name = "hook"; kind = "exec"; command = [ "$HOOKDIR/take.sh", "$HD" ];
    max_concurrent = 8; queue_wait_ms = 0; timeout_ms = 20000;
    required = true; }
EOF
)"
start_daemon "$T/nowait.conf"
send_load "$URL" nowait "$N" 32 "$T/nowait" --sinch --seconds 12
wait_load "$LOAD_PID"
first=$(first_statuses "$T/nowait" | tr '\n' ' ')
refs_of_200 nowait "$T/nowait" >"$T/nowait.refs"
note "no wait: first attempts: $first; $(wc -l <"$T/nowait.refs") of $N" \
    "answered 200 within 12 s"
n429=$(first_statuses "$T/nowait" | awk '$2 == 429 { print $1 }')
((${n429:-0} >= N / 2)) ||
    check_fail "no wait: only ${n429:-0} first attempts answered 429"
bad=$(awk '$3 == 429 && !($4 ~ /^[0-9]+$/ && $4 >= 1)' "$T/nowait" |
    head -n 3)
[[ -z $bad ]] || check_fail "no wait: 429 without a Retry-After >= 1: $bad"
taken_check "no wait" "$T/nowait.refs"
stop_daemon_clean

# --- 3. first come, first served -----------------------------------------
write_config "$T/fifo.conf" "$(cat <<EOF
  { name = "hook"; kind = "exec"; command = [ "$HOOKDIR/act.sh", "$HD" ];
    max_concurrent = 1; queue_wait_ms = 10000; timeout_ms = 20000;
    required = true; }
EOF
)"
start_daemon "$T/fifo.conf"
hook_body "$T/hold.json" "sleep:1.5 hold"
curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 \
    -H 'Content-Type: application/json' --data-binary "@$T/hold.json" \
    "$URL" >"$T/hold.code" &
LOAD_PIDS+=("$!")
sleep 0.2
want="sleep:1.5 hold"
for i in 1 2 3 4 5 6; do
	hook_body "$T/f$i.json" "f-$i"
	curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 \
	    -H 'Content-Type: application/json' --data-binary "@$T/f$i.json" \
	    "$URL" >"$T/f$i.code" &
	LOAD_PIDS+=("$!")
	want+=" f-$i"
	sleep 0.15
done
for pid in "${LOAD_PIDS[@]}"; do
	wait_pid_exit "$pid" 40 || check_fail "fifo: curl $pid did not end"
done
LOAD_PIDS=()
codes=$(cat "$T/hold.code" "$T"/f[1-6].code | tr '\n' ' ')
[[ $codes == "200 200 200 200 200 200 200 " ]] ||
    check_fail "fifo: answers $codes, expected 7 x 200"
got=$(cut -d ' ' -f 3- "$HD/runs" | tr '\n' ' ')
[[ $got == "$want " ]] ||
    check_fail "fifo: the hook ran in the order '$got', expected '$want'"
stop_daemon_clean

# --- 4. a stop with reports waiting ----------------------------------------
: >"$HD/runs"
start_daemon "$T/fifo.conf"
hook_body "$T/hold2.json" "sleep:2 hold"
curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 \
    -H 'Content-Type: application/json' --data-binary "@$T/hold2.json" \
    "$URL" >"$T/hold2.code" &
LOAD_PIDS+=("$!")
sleep 0.3
for i in 1 2 3; do
	hook_body "$T/w$i.json" "w-$i"
	curl -s -o "$T/w$i.answer" -w '%{http_code} %{time_total}\n' \
	    --max-time 30 -H 'Content-Type: application/json' \
	    --data-binary "@$T/w$i.json" "$URL" >"$T/w$i.code" &
	LOAD_PIDS+=("$!")
done
sleep 0.5
[[ $(curl -s --max-time 5 "$BASE/metrics" |
    awk '$1 == "sinch_webhookd_sink_queued{sink=\"hook\"}" { print $2 }') \
    == 3 ]] || check_fail "stop: three reports are not waiting before SIGTERM"
kill -TERM "$DAEMON_PID"
for pid in "${LOAD_PIDS[@]}"; do
	wait_pid_exit "$pid" 40 || check_fail "stop: curl $pid did not end"
done
LOAD_PIDS=()
for i in 1 2 3; do
	read -r code secs <"$T/w$i.code"
	[[ $code == 503 ]] ||
	    check_fail "stop: waiting report w-$i answered $code, not 503"
	# Sent 0.8 s before SIGTERM; the hold ends 1.7 s after it.
	awk -v s="$secs" 'BEGIN { exit !(s < 1.6) }' ||
	    check_fail "stop: waiting report w-$i answered after $secs s"
	grep -q -x 'sink hook: unable to take the report, retry later' \
	    "$T/w$i.answer" ||
	    check_fail "stop: w-$i: $(head -c 200 "$T/w$i.answer")"
done
[[ $(cat "$T/hold2.code") == 200 ]] ||
    check_fail "stop: the running report answered $(cat "$T/hold2.code")"
stop_daemon_clean
runs=$(hook_runs "$HD")
((runs == 1)) || check_fail "stop: the hook ran $runs time(s), expected 1"

finish
