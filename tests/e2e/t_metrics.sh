#!/usr/bin/env bash
#
# t_metrics.sh - /healthz, /readyz and /metrics, on the callback listener
# and on a listener of their own.
#
# /metrics is read with a real Prometheus text parser (python3's
# prometheus_client) and must be 200 with Content-Type
# "text/plain; version=0.0.4" (a charset may follow), HELP and TYPE once
# per family, no series twice.
#
# 1. One listener; sinks log (file), console (stdout), full (/dev/full,
#    not required) and hook (exec, not required, one slot).  Four
#    callbacks (200), one body that is not JSON (400), one POST to another
#    path (404): requests_total by code is exactly that (the three
#    operator endpoints are not counted), reports_total by type and status,
#    deliveries by sink and verdict (ok, reject from exit 65, busy while
#    the one slot is taken, retry from /dev/full), each histogram's count
#    equals its deliveries, exec_slots_in_use is 1 while a hook runs and 0
#    after, build_info names the version that -V prints.  /healthz and
#    /readyz are 200: a failing sink that is not required does not make
#    the daemon unready.
# 2. The only, required, sink is /dev/full: /readyz is 200 until a write
#    fails (the callback answers 503), then 503; /healthz stays 200.
# 3. metrics = { port = 0; }: a second line "http: metrics listening on
#    127.0.0.1:PORT"; the three endpoints answer there and 404 on the
#    callback listener, which still counts its own requests; a retried
#    callback counts one dedup skip per sink and one dedup retry; while
#    stopping with a callback in flight, /readyz is never 200.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

P=sinch_webhookd_
SEQ=0
FAMILIES="build_info:gauge start_time_seconds:gauge
	requests_total:counter reports_total:counter
	sink_deliveries_total:counter sink_duration_seconds:histogram
	exec_slots_in_use:gauge dedup_skipped_total:counter
	dedup_retries_total:counter auth_failures_total:counter"

# A python3 with prometheus_client (pyenv's may lack the Debian package).
PY=""
for py in python3 /usr/bin/python3; do
	if command -v "$py" >/dev/null 2>&1 &&
	    "$py" -c 'import prometheus_client.parser' 2>/dev/null; then
		PY=$py
		break
	fi
done
[[ -n $PY ]] || fail "no python3 with prometheus_client" \
    "(Debian package python3-prometheus-client; scripts/install-deps.sh)"

# Prints one line per sample, name{k="v",...} value, the labels sorted
# and those with empty values left out (Prometheus reads both alike), le
# as a float ("1" and "1.0" are one bound: 1.0); whole values without a
# fraction.  Fails on text the parser refuses and
# on a series that appears twice.
cat >"$T/flat.py" <<'EOF'
import sys
from prometheus_client.parser import text_string_to_metric_families

seen = set()
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        labels = dict(s.labels)
        if "le" in labels and labels["le"] != "+Inf":
            labels["le"] = repr(float(labels["le"]))
        labels = ",".join('%s="%s"' % (k, v)
                          for k, v in sorted(labels.items()) if v != "")
        series = "%s{%s}" % (s.name, labels)
        if series in seen:
            sys.exit("series twice: " + series)
        seen.add(series)
        v = s.value
        print(series, int(v) if v == int(v) else repr(v))
EOF

# next_body FILE [STATUS [REF]]: a recipient delivery report never sent
# before, with client_reference REF (hooks/act.sh acts on its first word).
next_body()
{
	SEQ=$((SEQ + 1))
	printf '{"type":"recipient_delivery_report_sms","batch_id":"01JE2EMETRICS%05d","recipient":"46700%06d","code":0,"status":"%s","at":"2026-03-01T10:00:00.000Z","client_reference":"%s"}' \
	    "$SEQ" "$SEQ" "${2:-Delivered}" "${3:-metrics $SEQ}" >"$1"
}

# get CODE URL: a GET answered CODE.
get()
{
	expect_status "$1" "$2"
}

# scrape_quiet: GET $MBASE/metrics (the listener of the operator
# endpoints) into $T/metrics.txt and its samples into $T/metrics.flat; 1
# on any problem, without failing.
scrape_quiet()
{
	request "$MBASE/metrics"
	[[ $LAST_STATUS == 200 ]] || return 1
	cp "$T/last.body" "$T/metrics.txt"
	"$PY" "$T/flat.py" <"$T/metrics.txt" >"$T/metrics.flat" \
	    2>"$T/flat.err"
}

# scrape: scrape_quiet, and every problem is a failure: the status,
# the Content-Type, text the parser refuses, and each family's HELP and
# TYPE (once, and of the documented type).
scrape()
{
	local fam name type n

	if ! scrape_quiet; then
		if [[ $LAST_STATUS != 200 ]]; then
			check_fail "GET $MBASE/metrics: ${LAST_STATUS:-nothing}," \
			    "expected 200: $(last_body_excerpt)"
		else
			check_fail "/metrics: the Prometheus parser refused" \
			    "it: $(tail -n 1 "$T/flat.err" | head -c 300)"
		fi
		return 1
	fi
	expect_header Content-Type \
	    '^text/plain; ?version=0\.0\.4(; ?charset=utf-8)?$' "/metrics"
	for fam in $FAMILIES; do
		name=$P${fam%%:*}
		type=${fam#*:}
		n=$(grep -c "^# HELP $name " "$T/metrics.txt")
		((n == 1)) || check_fail "/metrics: $n HELP lines for $name"
		n=$(grep -c "^# TYPE $name " "$T/metrics.txt")
		((n == 1)) || check_fail "/metrics: $n TYPE lines for $name"
		grep -q -x "# TYPE $name $type" "$T/metrics.txt" ||
		    check_fail "/metrics: $name is not of TYPE $type"
	done
	return 0
}

# mval SERIES: the value of SERIES (name{labels} as flat.py prints it) in
# the last scrape, or nothing.
mval()
{
	awk -v s="$1" 'index($0, s " ") == 1 { print substr($0, length(s) + 2) }' \
	    "$T/metrics.flat"
}

# expect_metric SERIES WANT
expect_metric()
{
	local got

	got=$(mval "$1")
	[[ $got == "$2" ]] && return 0
	check_fail "/metrics: $1 is ${got:-absent}, expected $2"
}

# expect_series PREFIX COUNT: COUNT series start with PREFIX.
expect_series()
{
	local n

	n=$(awk -v p="$1" 'index($0, p) == 1 { n++ } END { print n + 0 }' \
	    "$T/metrics.flat")
	((n == $2)) && return 0
	check_fail "/metrics: $n series $1..., expected $2:" \
	    "$(grep -F -- "$1" "$T/metrics.flat" | head -n 8 | tr '\n' ' ')"
}

# deliveries SINK: the jobs SINK finished, over every verdict.
deliveries()
{
	local v n=0 x

	for v in ok reject busy retry; do
		x=$(mval "${P}sink_deliveries_total{sink=\"$1\",verdict=\"$v\"}")
		n=$((n + ${x:-0}))
	done
	echo "$n"
}

# check_histogram SINK: buckets cumulative, +Inf = _count = deliveries.
check_histogram()
{
	local h=${P}sink_duration_seconds sink=$1 le prev=0 v count n

	n=$(deliveries "$sink")
	count=$(mval "${h}_count{sink=\"$sink\"}")
	[[ $count == "$n" ]] ||
	    check_fail "histogram $sink: _count ${count:-absent}, but $n" \
		"deliveries"
	for le in 0.0005 0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25 0.5 \
	    1.0 2.5 5.0 10.0 +Inf; do
		v=$(mval "${h}_bucket{le=\"$le\",sink=\"$sink\"}")
		if [[ -z $v ]]; then
			check_fail "histogram $sink: no bucket le=$le"
			return 1
		fi
		((v >= prev)) || check_fail "histogram $sink: bucket le=$le" \
		    "is $v, below the one before ($prev)"
		prev=$v
	done
	[[ $prev == "$count" ]] ||
	    check_fail "histogram $sink: +Inf bucket $prev, _count $count"
	[[ -n $(mval "${h}_sum{sink=\"$sink\"}") ]] ||
	    check_fail "histogram $sink: no _sum"
}

# settled SINK=N...: every SINK has finished N jobs (polled).
settled()
{
	local pair

	scrape_quiet || return 1
	for pair in "$@"; do
		[[ $(deliveries "${pair%=*}") == "${pair#*=}" ]] || return 1
	done
	return 0
}

# slots_are N: exec_slots_in_use of the hook is N (polled).
slots_are()
{
	scrape_quiet &&
	    [[ $(mval "${P}exec_slots_in_use{sink=\"hook\"}") == "$1" ]]
}

# --- 1. one listener ---------------------------------------------------
HOOK=$T/hook
mkdir -p "$HOOK"
write_config "$T/one.conf" "$(cat <<EOF
  { name = "log"; kind = "file"; path = "$REPORTS"; fsync = true; required = true; },
  { name = "console"; kind = "stdout"; required = false; },
  { name = "full"; kind = "file"; path = "/dev/full"; required = false; },
  { name = "hook"; kind = "exec"; command = [ "$HOOKDIR/act.sh", "$HOOK" ];
    required = false; max_concurrent = 1; timeout_ms = 60000; }
EOF
)"
t0=$(date +%s)
start_daemon "$T/one.conf"
MBASE=$BASE
if grep -a -q 'metrics listening on' "$DAEMON_STDERR"; then
	check_fail "a metrics listener without the metrics group"
fi

get 200 "$BASE/healthz"
get 200 "$BASE/readyz"
scrape
expect_series "${P}requests_total{" 0
expect_series "${P}reports_total{" 0

# Callbacks, and what each sink makes of them.
next_body "$T/b1" Delivered
post_file 200 "$T/b1"				# hook: ok
next_body "$T/b2" Delivered "exit:65"
post_file 200 "$T/b2"				# hook: reject
wait_for 20 settled hook=2 ||
    check_fail "the hook did not finish 2 jobs: $(deliveries hook)"
next_body "$T/b3" Failed "sleep:5"
post_file 200 "$T/b3"				# hook: ok, after 5 s
wait_for 10 slots_are 1 ||
    check_fail "exec_slots_in_use{sink=\"hook\"} is not 1 while the" \
	"hook runs: $(grep exec_slots "$T/metrics.flat")"
post_file 200 "$DATADIR/valid/mo_text_minimal.json"	# hook: busy
post_file 400 "$DATADIR/invalid/not_json.txt"
expect_status 404 -H 'Content-Type: application/json' \
    --data-binary "@$T/b1" "$BASE/elsewhere"

wait_for 30 settled log=4 console=4 full=4 hook=4 ||
    check_fail "sinks did not settle at 4 jobs each:" \
	"$(grep sink_deliveries "$T/metrics.flat" | tr '\n' ' ')"
wait_for 10 slots_are 0 ||
    check_fail "exec_slots_in_use{sink=\"hook\"} is not 0 after the hook"
get 200 "$BASE/healthz"
# full is failing, but it is not required.
get 200 "$BASE/readyz"
scrape

expect_metric "${P}requests_total{code=\"200\"}" 4
expect_metric "${P}requests_total{code=\"400\"}" 1
expect_metric "${P}requests_total{code=\"404\"}" 1
expect_series "${P}requests_total{" 3

expect_metric "${P}reports_total{status=\"Delivered\",type=\"recipient_delivery_report_sms\"}" 2
expect_metric "${P}reports_total{status=\"Failed\",type=\"recipient_delivery_report_sms\"}" 1
expect_metric "${P}reports_total{type=\"mo_text\"}" 1
expect_series "${P}reports_total{" 3

for s in log console; do
	expect_metric "${P}sink_deliveries_total{sink=\"$s\",verdict=\"ok\"}" 4
done
expect_metric "${P}sink_deliveries_total{sink=\"full\",verdict=\"retry\"}" 4
expect_metric "${P}sink_deliveries_total{sink=\"hook\",verdict=\"ok\"}" 2
expect_metric "${P}sink_deliveries_total{sink=\"hook\",verdict=\"reject\"}" 1
expect_metric "${P}sink_deliveries_total{sink=\"hook\",verdict=\"busy\"}" 1
expect_metric "${P}sink_deliveries_total{sink=\"hook\",verdict=\"retry\"}" 0
for s in log console full hook; do
	check_histogram "$s"
done
# The 5 s hook is above the 5 s bound, the other three below 2.5 s.
expect_metric "${P}sink_duration_seconds_bucket{le=\"2.5\",sink=\"hook\"}" 3
expect_metric "${P}sink_duration_seconds_bucket{le=\"5.0\",sink=\"hook\"}" 3
expect_metric "${P}sink_duration_seconds_bucket{le=\"10.0\",sink=\"hook\"}" 4

# Gauges: only exec sinks have slots.
expect_metric "${P}exec_slots_in_use{sink=\"hook\"}" 0
expect_series "${P}exec_slots_in_use{" 1

expect_metric "${P}dedup_retries_total{}" 0
expect_metric "${P}dedup_skipped_total{sink=\"log\"}" 0
expect_series "${P}auth_failures_total{" 0

version=$("$BIN" -V 2>&1 | awk '{ print $NF }')
expect_metric "${P}build_info{version=\"$version\"}" 1
expect_series "${P}build_info{" 1
start=$(mval "${P}start_time_seconds{}")
if [[ -z $start ]] ||
    ! awk -v s="$start" -v a="$((t0 - 5))" -v b="$(($(date +%s) + 5))" \
	'BEGIN { exit !(s >= a && s <= b) }'; then
	check_fail "start_time_seconds ${start:-absent} is not between" \
	    "$((t0 - 5)) and now"
fi
note "metrics: $(wc -l <"$T/metrics.flat") samples, build_info $version"
stop_daemon_clean

# --- 2. a required sink failing ----------------------------------------
write_config "$T/full.conf" \
    '  { name = "full"; kind = "file"; path = "/dev/full"; fsync = true; required = true; }'
start_daemon "$T/full.conf"
MBASE=$BASE
get 200 "$BASE/healthz"
get 200 "$BASE/readyz"
next_body "$T/b"
post_file 503 "$T/b"
get 503 "$BASE/readyz" && note "/readyz 503: $(last_body_excerpt)"
get 200 "$BASE/healthz"
scrape
expect_metric "${P}requests_total{code=\"503\"}" 1
expect_series "${P}requests_total{" 1
expect_metric "${P}reports_total{status=\"Delivered\",type=\"recipient_delivery_report_sms\"}" 1
expect_metric "${P}sink_deliveries_total{sink=\"full\",verdict=\"retry\"}" 1
expect_metric "${P}sink_deliveries_total{sink=\"full\",verdict=\"ok\"}" 0
check_histogram full
expect_series "${P}exec_slots_in_use{" 0
stop_daemon_clean

# --- 3. a listener of their own ----------------------------------------
HOOK3=$T/hook3
mkdir -p "$HOOK3"
write_config "$T/own.conf" "$(cat <<EOF
$(default_sinks),
  { name = "hook"; kind = "exec"; command = [ "$HOOKDIR/act.sh", "$HOOK3" ];
    required = true; timeout_ms = 60000; }
EOF
)"
echo 'metrics = { port = 0; };' >>"$T/own.conf"
start_daemon "$T/own.conf"

_metrics_port()
{
	local line

	line=$(grep -a -m1 -E '^info: http: metrics listening on 127\.0\.0\.1:[0-9]+$' \
	    "$DAEMON_STDERR")
	[[ -n $line ]] || return 1
	MPORT=${line##*:}
}
MPORT=""
wait_for 10 _metrics_port ||
    fail "no line 'info: http: metrics listening on 127.0.0.1:PORT':" \
	"$(grep -a 'listening' "$DAEMON_STDERR" | tr '\n' ' ')"
[[ $MPORT != "$PORT" ]] || fail "the metrics listener is on port $PORT too"
MBASE=http://127.0.0.1:$MPORT
note "callbacks on $PORT, metrics on $MPORT"

for p in healthz readyz metrics; do
	get 404 "$BASE/$p"
done
get 200 "$MBASE/healthz"
get 200 "$MBASE/readyz"
# No callbacks there.
request -H 'Content-Type: application/json' \
    --data-binary "@$T/b1" "$MBASE/sinch/sms"
[[ $LAST_STATUS == 404 || $LAST_STATUS == 405 ]] ||
    check_fail "a callback on the metrics listener: $LAST_STATUS," \
	"expected 404 or 405"

# The same bytes twice: the second time no sink gets them.
next_body "$T/x"
post_file 200 "$T/x"
post_file 200 "$T/x"
wait_for 20 settled log=1 console=1 hook=1 ||
    check_fail "sinks did not settle at 1 job each:" \
	"$(grep sink_deliveries "$T/metrics.flat" | tr '\n' ' ')"
scrape
expect_metric "${P}requests_total{code=\"200\"}" 2
expect_metric "${P}requests_total{code=\"404\"}" 3
expect_series "${P}requests_total{" 2
for s in log console hook; do
	expect_metric "${P}dedup_skipped_total{sink=\"$s\"}" 1
	expect_metric "${P}sink_deliveries_total{sink=\"$s\",verdict=\"ok\"}" 1
done
expect_metric "${P}dedup_retries_total{}" 1
expect_metric "${P}exec_slots_in_use{sink=\"hook\"}" 0

# Stopping with a callback in flight (the hook sleeps): /readyz may be
# refused or 503, never 200.
next_body "$T/slow" Delivered "sleep:4"
curl -sS --max-time "$CURL_MAX_TIME" -o "$T/slow.answer" -w '%{http_code}' \
    -H 'Content-Type: application/json' --data-binary "@$T/slow" "$URL" \
    >"$T/slow.code" 2>/dev/null &
SLOW_PID=$!
LOAD_PIDS+=("$SLOW_PID")
wait_for 10 grep -q -F "sleep:4" "$HOOK3/runs" ||
    check_fail "the slow hook did not start"
kill -TERM "$DAEMON_PID"
sleep 0.5
code=$(curl -sS --max-time 10 -o "$T/stopping.body" -w '%{http_code}' \
    "$MBASE/readyz" 2>/dev/null)
note "/readyz while stopping: ${code:-no answer} $(head -c 60 "$T/stopping.body" 2>/dev/null)"
[[ $code != 200 ]] || check_fail "/readyz answered 200 while stopping"
wait_pid_exit "$SLOW_PID" 40 || check_fail "the slow callback did not end"
[[ $(cat "$T/slow.code") == 200 ]] ||
    check_fail "the callback in flight at SIGTERM got $(cat "$T/slow.code")"
# One SIGTERM only: wait for the exit it started.
if ! wait_pid_exit "$DAEMON_PID" "$STOP_TIMEOUT"; then
	check_fail "the daemon did not exit within ${STOP_TIMEOUT}s of SIGTERM"
elif ((WAIT_RC != 0)); then
	check_fail "the daemon exited with status $WAIT_RC after SIGTERM"
fi
DAEMON_PID=""

finish
