#!/usr/bin/env bash
#
# t_saturation.sh - no free exec slot, too many requests in flight: 429.
#
# 1. A hook (hooks/act.sh) that sleeps 3 s, max_concurrent = 4 and
#    queue_wait_ms = 0: 4 + 3 distinct callbacks at once give exactly 3
#    answers 429 with Retry-After and a one-line body naming the sink,
#    and 4 answers 200; the hook ran 4 times.  Once the slots are free
#    again a new callback is answered 200.  The same with queue_wait_ms =
#    500, shorter than the hook: the 3 waited, and are still 429.
# 2. limits.max_in_flight = 2, the same hook with max_concurrent = 8: 5
#    callbacks at once give exactly 3 answers 429 with Retry-After and the
#    body "too many requests in flight, retry later", and 2 answers 200;
#    then a new callback is answered 200.
# 3. Reports waiting for a slot count toward max_in_flight: one slot,
#    queue_wait_ms = 10000, max_in_flight = 3, a hook that sleeps 2 s: 5
#    callbacks at once give exactly 2 answers 429 "too many requests in
#    flight" and 3 answers 200, the hook having run 3 times, in turn.
# No zombie is left.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

ACT=$HOOKDIR/act.sh
HD=$T/hook
mkdir "$HD"

# burst NAME COUNT REF: COUNT new callbacks with client_reference REF, all
# at once; results in $T/NAME.results (code|exit|id|retry-after|body).
burst()
{
	local name=$1 count=$2 ref=$3 i bodies=()

	mkdir -p "$T/$name"
	for ((i = 1; i <= count; i++)); do
		hook_body "$T/$name/$i.json" "$ref $name-$i"
		bodies+=("$T/$name/$i.json")
	done
	make_bodies_load_config "$T/$name.cfg" "${bodies[@]}"
	timeout -k 5 60 curl -sS --no-progress-meter --parallel \
	    --parallel-immediate --parallel-max "$count" -K "$T/$name.cfg" \
	    >"$T/$name.results" 2>"$T/$name.results.stderr"
	note "$name: $(summarize_results "$T/$name.results" | tr '\n' ' ')"
}

# check_burst NAME COUNT N429 BODY-REGEX: exactly N429 answers 429 with a
# Retry-After and a one-line body matching BODY-REGEX, the rest 200.
check_burst()
{
	local name=$1 count=$2 n429=$3 re=$4 got200 got429 code id ra file

	got200=$(grep -c '^200|0|' "$T/$name.results")
	got429=$(grep -c '^429|0|' "$T/$name.results")
	if ((got429 != n429 || got200 != count - n429)); then
		check_fail "$name: $got429 x 429 and $got200 x 200 for $count" \
		    "callbacks, expected exactly $n429 x 429 and" \
		    "$((count - n429)) x 200: $(tr '\n' ' ' <"$T/$name.results")"
	fi
	while IFS='|' read -r code _ id ra file; do
		[[ $code == 429 ]] || continue
		[[ $ra =~ ^([0-9]+|[A-Z][a-z]{2},\ .+\ GMT)$ ]] ||
		    check_fail "$name: 429 (id $id) with Retry-After '$ra'"
		if [[ $(grep -c . "$file.answer") != 1 ]] ||
		    ! grep -q -E -- "$re" "$file.answer"; then
			check_fail "$name: 429 (id $id) body is not one line" \
			    "/$re/: $(head -c 200 "$file.answer" | tr '\n' ' ')"
		fi
	done <"$T/$name.results"
}

# --- 1. exec slots -----------------------------------------------------------
write_config "$T/slots.conf" "$(cat <<EOF
  { name = "log"; kind = "file"; path = "$REPORTS"; required = true; },
  { name = "hook"; kind = "exec"; command = [ "$ACT", "$HD" ];
    timeout_ms = 20000; max_concurrent = 4; queue_wait_ms = 0;
    required = true; }
EOF
)"
start_daemon "$T/slots.conf"
burst slots 7 sleep:3
check_burst slots 7 3 '^sink hook: '
runs=$(hook_runs "$HD")
((runs == 4)) || check_fail "slots: the hook ran $runs time(s), expected 4"
hook_body "$T/b" "ok after the burst"
post_file 200 "$T/b" && check_record "$T/b" "$LAST_ID"
check_no_zombies "slots" all
stop_daemon_clean

: >"$HD/runs"
sed -i 's/queue_wait_ms = 0;/queue_wait_ms = 500;/' "$T/slots.conf"
start_daemon "$T/slots.conf"
burst waited 7 sleep:3
check_burst waited 7 3 '^sink hook: busy, retry later$'
runs=$(hook_runs "$HD")
((runs == 4)) || check_fail "waited: the hook ran $runs time(s), expected 4"
check_no_zombies "waited" all
stop_daemon_clean

# --- 2. max_in_flight --------------------------------------------------------
: >"$HD/runs"
write_config "$T/inflight.conf" "$(cat <<EOF
  { name = "log"; kind = "file"; path = "$REPORTS"; required = true; },
  { name = "hook"; kind = "exec"; command = [ "$ACT", "$HD" ];
    timeout_ms = 20000; max_concurrent = 8; required = true; }
EOF
)" "$DEFAULT_LIMITS max_in_flight = 2;"
start_daemon "$T/inflight.conf"
burst inflight 5 sleep:3
check_burst inflight 5 3 '^too many requests in flight, retry later$'
runs=$(hook_runs "$HD")
((runs == 2)) || check_fail "in flight: the hook ran $runs time(s), expected 2"
hook_body "$T/b" "ok after the burst"
post_file 200 "$T/b" && check_record "$T/b" "$LAST_ID"
check_no_zombies "in flight" all
stop_daemon_clean

# --- 3. waiting reports are in flight --------------------------------------
: >"$HD/runs"
write_config "$T/waiting.conf" "$(cat <<EOF
  { name = "hook"; kind = "exec"; command = [ "$ACT", "$HD" ];
    timeout_ms = 20000; max_concurrent = 1; queue_wait_ms = 10000;
    required = true; }
EOF
)" "$DEFAULT_LIMITS max_in_flight = 3;"
start_daemon "$T/waiting.conf"
burst waiting 5 sleep:2
check_burst waiting 5 2 '^too many requests in flight, retry later$'
runs=$(hook_runs "$HD")
((runs == 3)) || check_fail "waiting: the hook ran $runs time(s), expected 3"
check_no_zombies "waiting" all
stop_daemon_clean

finish
