#!/usr/bin/env bash
#
# t_concurrency.sh - 64 parallel connections, 4000 distinct callbacks,
# once with fsync (group commit on the writer thread) and once without
# (each line written by the request's own thread).
#
# Every request is answered 200; the file holds exactly one line per 200
# (by X-Request-Id), every line is one JSON record, no two records carry
# the same callback, each record's normalised fields agree with its own
# payload (no mixing between concurrent requests), and the stdout sink
# printed as many lines.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

N=4000
for mode in fsync direct; do
	sync=true
	[[ $mode == direct ]] && sync=false
	: >"$REPORTS"
	write_config "$T/$mode.conf" \
	    "$(default_sinks | sed "s/fsync = true/fsync = $sync/")"
	start_daemon "$T/$mode.conf"
	make_load_config "$T/load.cfg" "$N" "conc$mode"
	start_load "$T/load.cfg" "$T/results" 64
	wait_load "${LOAD_PIDS[-1]}"

	total=$(wc -l <"$T/results")
	((total == N)) || check_fail "$total result(s) for $N request(s)"
	not200=$(grep -c -v '^200|0|' "$T/results")
	if ((not200 > 0)); then
		check_fail "$not200 request(s) not answered 200:" \
		    "$(summarize_results "$T/results" | tr '\n' ' ')"
		head -n 5 "$T/results.stderr"
	fi

	ids_of_200 "$T/results" >"$T/ids_200"
	check_ids_match "$T/ids_200" "$REPORTS"

	# Each callback once, and each record consistent with its own payload.
	refs=$(jq -R -r 'fromjson? | .payload.client_reference' "$REPORTS" |
	    sort -u | wc -l)
	((refs == $(wc -l <"$REPORTS"))) ||
	    check_fail "$refs distinct callbacks in" \
		"$(wc -l <"$REPORTS") records"
	mixed=$(jq -R -r 'fromjson? | select(.client_reference !=
	    .payload.client_reference or .recipient != .payload.recipient or
	    .batch_id != .payload.batch_id) | .id' "$REPORTS" | wc -l)
	((mixed == 0)) ||
	    check_fail "$mixed record(s) whose fields disagree with" \
		"their payload"

	stop_daemon_clean
	out=$(wc -l <"$DAEMON_STDOUT")
	((out == $(wc -l <"$REPORTS"))) ||
	    check_fail "stdout sink: $out line(s), file: $(wc -l <"$REPORTS")"
	check_lines "$DAEMON_STDOUT"
	note "$mode: $N requests, $(wc -l <"$REPORTS") records," \
	    "$out lines on stdout"
done

finish
