#!/usr/bin/env bash
#
# t_sigterm.sh - SIGTERM under load: every accepted request is answered and
# every 200 is on disk.
#
# Two loads of 3000 distinct callbacks each, 16 parallel connections each:
# one reusing keep-alive connections, one with "Connection: close" (a new
# connection per request, so curl never silently retries on a fresh one).
# After the first 100 records the daemon gets SIGTERM.  Then: it exits 0
# within the bound; every request got 200, or 503 with Retry-After, or was
# refused (curl exit 7) -- never an empty reply, a reset or a timeout after
# the connection was made (curl exit 52, 56, 28, ...); the file holds
# exactly the lines of the 200s.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

N=3000
write_config "$T/webhookd.conf" "" \
    'max_body_bytes = 1048576; max_connections = 1024;
     connection_timeout_s = 30; threads = 4; shutdown_timeout_s = 10;'
start_daemon "$T/webhookd.conf"

make_load_config "$T/keepalive.cfg" "$N" termka
make_load_config "$T/close.cfg" "$N" termcl 'header = "Connection: close"'
start_load "$T/keepalive.cfg" "$T/results.keepalive" 16
start_load "$T/close.cfg" "$T/results.close" 16

loads_done()
{
	local pid

	for pid in "${LOAD_PIDS[@]}"; do
		pid_running "$pid" && return 1
	done
	return 0
}

started_or_done()
{
	{ [[ -f $REPORTS ]] && (($(wc -l <"$REPORTS") >= 100)); } || loads_done
}

wait_for 60 started_or_done || fail "no 100 records within 60 s"
if loads_done; then
	note "warning: the loads ended before SIGTERM; nothing was in flight"
fi
lines_at_term=$(wc -l <"$REPORTS")
stop_daemon_clean TERM "$STOP_TIMEOUT"
note "SIGTERM after $lines_at_term record(s); daemon exit handled"
for pid in "${LOAD_PIDS[@]}"; do
	wait_load "$pid"
done

results=("$T/results.keepalive" "$T/results.close")
total=$(cat "${results[@]}" | wc -l)
((total == 2 * N)) || check_fail "$total result(s) for $((2 * N)) request(s)"
note "answers (count code|curl-exit):" \
    "$(summarize_results "${results[@]}" | tr '\n' ' ')"

# Allowed outcomes: 200, 503 with Retry-After, connection refused.
# (Lines are code|curl-exit|x-request-id|retry-after.)
bad=$(cat "${results[@]}" |
    grep -v -E '^200\|0\||^503\|0\|[^|]*\|[^|]+$|^000\|7\|')
if [[ -n $bad ]]; then
	check_fail "$(wc -l <<<"$bad") request(s) ended otherwise than 200," \
	    "503 with Retry-After or connection refused; first ones (code|" \
	    "curl-exit|id|retry-after): $(head -n 5 <<<"$bad" | tr '\n' ' ')"
	note "curl said: $(cat "$T"/results.*.stderr | grep -v 'curl: (7)' |
	    sed 's/ after [0-9]* ms//' | sort | uniq -c | sort -rn |
	    head -n 5 | tr '\n' ' ')"
fi

ids_of_200 "${results[@]}" >"$T/ids_200"
((lines_at_term <= $(wc -l <"$T/ids_200"))) ||
    check_fail "fewer 200s than records seen before SIGTERM"
if ! check_ids_match "$T/ids_200" "$REPORTS"; then
	# Say which answer the extra lines got.
	cat "${results[@]}" | grep '^503|' | cut -d '|' -f 3 | grep . |
	    sort >"$T/ids_503"
	n=$(comm -12 "$T/ids_503" <(jq -R -r 'fromjson? | .id' "$REPORTS" | sort) |
	    wc -l)
	((n == 0)) || note "$n record(s) belong to requests answered 503"
fi

finish
