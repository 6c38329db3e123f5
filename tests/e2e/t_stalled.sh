#!/usr/bin/env bash
#
# t_stalled.sh - clients that send half a request and stall never throttle
# real callbacks.
#
# Every stalled connection (tests/e2e/stall.py) sends headers with
# Content-Length: 500 and 4 bytes of body, then nothing.
#
# 1. Default limits but connection_timeout_s = 15: 800 stalled connections
#    from 127.0.0.1.  limits.max_connections_per_address (128) takes 128 of
#    them (a few more at most, for listener threads racing) and refuses the
#    rest at once.  Meanwhile 20 real callbacks from 127.0.0.2 all get 200
#    and their lines, while every stalled connection is still open: the
#    attacker and Sinch are different hosts, which is what the per-address
#    limit is about, hence the two addresses.  A callback from 127.0.0.1
#    itself is refused (its address has had its share).  /metrics counts the
#    refusals; the log says so once, not once per connection.  The stalled
#    connections are closed by the daemon after connection_timeout_s, and
#    then 127.0.0.1 is served again.  Peak RSS stays under 64 MiB.
# 2. trusted_proxies = 127.0.0.1 (a proxy carries many clients: exempt from
#    the per-address limit): 800 stalled connections from 127.0.0.1 are all
#    taken, more than limits.max_in_flight (512), and 20 real callbacks from
#    the same address still get 200: only complete bodies count in flight.
#    Then 400 more fill the table (max_connections = 1024): the rest are
#    refused and counted as table_full, with one log line.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

STALL=$E2E_DIR/stall.py
TIMEOUT_S=15
STALLS=800
# Each stalled client and the daemon hold one descriptor per connection.
ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)"
(($(ulimit -n) >= STALLS + 400 + 100)) ||
    fail "ulimit -n is $(ulimit -n), too low for $STALLS connections"

# stall NAME COUNT [HOLD]: starts stall.py from 127.0.0.1 in the
# background and waits until it has told accepted from refused.
stall()
{
	local name=$1 count=$2 hold=${3:-60}

	python3 "$STALL" --port "$PORT" --count "$count" --settle 3 \
	    --hold "$hold" --status "$T/$name.status" \
	    >"$T/$name.out" 2>&1 &
	LOAD_PIDS+=("$!")
	wait_for 60 test -s "$T/$name.status" ||
	    fail "$name: stall.py said nothing: $(head -c 300 "$T/$name.out")"
}

# status NAME KEY: a value from stall.py's status file.
status()
{
	sed -n "s/^$2=//p" "$T/$1.status"
}

# metric NAME: a sample's value from /metrics, asked from 127.0.0.2
# (127.0.0.1 may have had its share) of METRICS_BASE.
METRICS_BASE=""
metric()
{
	curl -sS --max-time 10 --interface 127.0.0.2 "$METRICS_BASE/metrics" |
	    awk -v n="sinch_webhookd_$1" '$1 == n { print $2 }'
}

# callbacks TAG COUNT SOURCE: COUNT distinct callbacks from SOURCE, one
# after another; each must be 200 with its line in the file.
callbacks()
{
	local tag=$1 count=$2 src=$3 i ok=0

	for ((i = 1; i <= count; i++)); do
		load_body "$tag" "$i" >"$T/cb.json"
		if post_file 200 "$T/cb.json" --interface "$src" &&
		    check_record "$T/cb.json" "$LAST_ID"; then
			ok=$((ok + 1))
		fi
	done
	note "$tag: $ok of $count callbacks from $src answered 200"
}

# --- 1. defaults: one address gets its share -----------------------------------
write_config "$T/one.conf" "" "connection_timeout_s = $TIMEOUT_S;"
start_daemon "$T/one.conf"
METRICS_BASE=$BASE
stall one "$STALLS"
accepted=$(status one accepted)
refused=$(status one refused)
note "one: $accepted stalled connections taken, $refused refused"
threads=4
((accepted >= 128 && accepted <= 128 + threads)) ||
    check_fail "one: $accepted of $STALLS stalled connections from one" \
	"address were taken, expected 128 (max_connections_per_address)"
((refused == STALLS - accepted)) ||
    check_fail "one: $refused refused + $accepted taken != $STALLS"

callbacks one 20 127.0.0.2
open_now=$(status one open)
[[ $open_now == "$accepted" ]] ||
    check_fail "one: only ${open_now:-?} of $accepted stalled connections" \
	"were still open when the callbacks were answered: they were not" \
	"answered while the daemon was under the stall"

# 127.0.0.1 has had its share: closed unserved, no HTTP answer.
request -H 'Content-Type: application/json' --data-binary "@$T/cb.json" \
    --interface 127.0.0.1 "$URL"
[[ $LAST_STATUS == 000 ]] ||
    check_fail "one: a callback from the stalled address was answered" \
	"$LAST_STATUS, expected the connection to be refused"

per_address=$(metric 'connections_refused_total{reason="per_address"}')
((${per_address:-0} >= refused)) ||
    check_fail "one: connections_refused_total{reason=\"per_address\"} is" \
	"'$per_address', expected at least $refused"
open_metric=$(metric connections_open)
((${open_metric:-0} >= accepted)) ||
    check_fail "one: connections_open is '$open_metric', expected at" \
	"least $accepted"
lines=$(grep -a -c 'limits.max_connections_per_address' "$DAEMON_STDERR")
# All refusals came within a few seconds: one line (two if they straddled
# the 10 s interval), never one per connection.
((lines >= 1 && lines <= 2)) ||
    check_fail "one: $lines log lines about the per-address limit for" \
	"$refused refusals, expected 1 (once per interval)"

# The daemon closes the stalled connections after connection_timeout_s.
wait_for $((TIMEOUT_S + 60)) grep -q '^done=1' "$T/one.status" ||
    check_fail "one: stall.py did not finish"
closed=$(status one closed)
first=$(status one first_close_s)
last=$(status one last_close_s)
note "one: $closed closed by the daemon, after ${first}-${last} s"
[[ $closed == "$accepted" ]] ||
    check_fail "one: the daemon closed $closed of $accepted stalled" \
	"connections within $((TIMEOUT_S + 60)) s"
if [[ $first != - ]]; then
	awk -v f="$first" -v l="$last" -v t="$TIMEOUT_S" \
	    'BEGIN { exit !(f >= t - 1 && l <= t + 10) }' ||
	    check_fail "one: stalled connections closed after $first-$last" \
		"s, expected about connection_timeout_s = $TIMEOUT_S"
fi
n=$(grep -a -c 'access: .* end=timeout' "$DAEMON_STDERR")
((n >= accepted)) ||
    check_fail "one: $n access lines with end=timeout, expected $accepted"
# Its connections gone, 127.0.0.1 is served again.
callbacks one-after 1 127.0.0.1

rss=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$DAEMON_PID/status")
# A sanitizer build carries shadow memory and a quarantine of its own.
max_rss=$((64 * 1024))
if ldd "$BIN" 2>/dev/null | grep -q -E 'libasan|libubsan'; then
	max_rss=$((4 * 64 * 1024))
fi
note "one: peak RSS ${rss} KiB (bound $max_rss KiB)"
((${rss:-999999} < max_rss)) ||
    check_fail "one: peak RSS ${rss} KiB, expected under $max_rss KiB"
stop_daemon_clean

# --- 2. a trusted proxy: exempt from the share, not from the total ------------
write_config "$T/proxy.conf" "" "connection_timeout_s = $TIMEOUT_S;"
# A full table refuses /metrics too: ask a listener of its own.
cat >>"$T/proxy.conf" <<'EOF'
auth = { trusted_proxies = [ "127.0.0.1/32" ]; };
metrics = { address = "127.0.0.1"; port = 0; };
EOF
start_daemon "$T/proxy.conf"
mport=$(grep -a -m1 -o -E 'metrics listening on 127\.0\.0\.1:[0-9]+' \
    "$DAEMON_STDERR" | sed 's/.*://')
[[ -n $mport ]] || fail "proxy: no 'metrics listening on' line"
METRICS_BASE=http://127.0.0.1:$mport
stall proxy "$STALLS" 30
accepted=$(status proxy accepted)
note "proxy: $accepted of $STALLS stalled connections taken"
((accepted == STALLS)) ||
    check_fail "proxy: $accepted of $STALLS stalled connections from a" \
	"trusted proxy were taken, expected all"
callbacks proxy 20 127.0.0.1
[[ $(status proxy open) == "$STALLS" ]] ||
    check_fail "proxy: stalled connections closed before the callbacks" \
	"were answered"

# 800 + 400 > max_connections = 1024: the table fills.
stall full 400 30
accepted=$(status full accepted)
note "full: $accepted of 400 more taken"
# Listener threads racing past the check may each take one more.
((accepted >= 1024 - STALLS - threads &&
    accepted <= 1024 - STALLS + threads)) ||
    check_fail "full: $accepted of 400 more connections were taken," \
	"expected $((1024 - STALLS)) (max_connections = 1024)"
full=$(metric 'connections_refused_total{reason="table_full"}')
((${full:-0} >= 400 - accepted)) ||
    check_fail "full: connections_refused_total{reason=\"table_full\"}" \
	"is '$full', expected at least $((400 - accepted))"
lines=$(grep -a -c 'http: connection table full' "$DAEMON_STDERR")
((lines >= 1 && lines <= 2)) ||
    check_fail "full: $lines log lines about the full table, expected 1"
# Let go of the stalled connections before stopping.
for pid in "${LOAD_PIDS[@]}"; do
	kill "$pid" 2>/dev/null
done
stop_daemon_clean

check_one_access_line_each
finish
