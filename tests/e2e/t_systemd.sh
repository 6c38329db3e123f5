#!/usr/bin/env bash
#
# t_systemd.sh - the daemon as systemd runs it, without systemd as PID 1.
#
# 1. sd_notify: NOTIFY_SOCKET names a datagram socket that a small Python
#    reader (tests run it anyway) records.  READY=1 comes once the
#    listener answers (the reader sends GET /healthz the moment READY=1
#    arrives), STOPPING=1 after SIGTERM, before the exit.  With
#    WATCHDOG_USEC=2000000, WATCHDOG=1 comes about every second, with
#    WATCHDOG_PID unset or the daemon's pid; with another WATCHDOG_PID it
#    never comes.
# 2. Socket activation and restarts: systemd-socket-activate (from the
#    systemd package) holds the listening socket and execs a supervisor
#    (what systemd does for sinch-webhookd.socket and .service): it keeps
#    fd 3 open and starts the daemon again each time it exits, with
#    LISTEN_FDS=1 and LISTEN_PID set to the daemon's own pid.  Four
#    clients send a stream of distinct callbacks, each until it is
#    answered 200 (503 and 429 are tried again); the daemon gets SIGTERM
#    three times in the middle.  No connection may be refused (curl exit
#    7) or dropped unanswered, every callback ends with a 200, every run
#    exits 0, and the file holds exactly one line per callback.
# 3. Two sockets (two ListenStream= lines): with a metrics group, the
#    second one serves /healthz, /readyz and /metrics, and the first one
#    answers them 404.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

# Whatever manager ran the test suite, its variables are not for these
# daemons.
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID LISTEN_FDS LISTEN_PID \
    LISTEN_FDNAMES

if ! command -v systemd-socket-activate >/dev/null 2>&1 ||
    ! command -v python3 >/dev/null 2>&1; then
	note "installing the test dependencies (systemd, python3)"
	"$SRCDIR/scripts/install-deps.sh" >&2 ||
	    fail "unable to install systemd-socket-activate and python3"
fi

SUP_PID=""		# the supervisor (systemd-socket-activate, exec'd)
SA=$T/sa		# its directory: pid, exits, stop
NOTIFY_PID=""		# the notify reader
TWO_PID=""		# the daemon of part 3 (systemd-socket-activate, exec'd)
WORKER_PIDS=()

# The pid of the daemon the supervisor runs now, if it is the supervisor's
# child (so that nothing else is ever signalled).
current_daemon()
{
	local run pid

	[[ -f $SA/pid ]] || return 1
	read -r run pid <"$SA/pid" || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ $(ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ') == "$SUP_PID" ]] ||
	    return 1
	echo "$run $pid"
}

stop_supervisor()
{
	local cur

	[[ -n $SUP_PID ]] || return 0
	mkdir -p "$SA"
	touch "$SA/stop"
	if cur=$(current_daemon); then
		kill -TERM "${cur#* }" 2>/dev/null
	fi
	if ! wait_pid_exit "$SUP_PID" "$STOP_TIMEOUT"; then
		check_fail "the supervisor did not stop within ${STOP_TIMEOUT}s"
		if cur=$(current_daemon); then
			kill -KILL "${cur#* }" 2>/dev/null
		fi
	fi
	SUP_PID=""
}

cleanup()
{
	local pid

	for pid in "${WORKER_PIDS[@]}"; do
		pid_running "$pid" && kill -TERM "$pid" 2>/dev/null
	done
	stop_supervisor
	if [[ -n $TWO_PID ]] && pid_running "$TWO_PID"; then
		kill -TERM "$TWO_PID" 2>/dev/null
		wait_pid_exit "$TWO_PID" 10
	fi
	if [[ -n $NOTIFY_PID ]] && pid_running "$NOTIFY_PID"; then
		kill -TERM "$NOTIFY_PID" 2>/dev/null
	fi
}
trap 'rc=$?; cleanup; _e2e_exit "$rc"' EXIT

# free_port: a TCP port on 127.0.0.1 that nothing listens on just now.
free_port()
{
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# ---------------------------------------------------------------------------
# 1. sd_notify

cat >"$T/notify.py" <<'EOF'
# notify.py SOCKET PORT OUT SECONDS: records each line of each datagram
# sent to SOCKET as "<ns since the epoch> <line>" in OUT, until SECONDS
# have passed or SOCKET.stop exists.  When READY=1 arrives, it asks
# 127.0.0.1:PORT for /healthz at once and records "PROBE <status line>".
import os
import socket
import sys
import time

path, port, out, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
    float(sys.argv[4])


def probe():
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(b"GET /healthz HTTP/1.0\r\nHost: e2e\r\n\r\n")
            data = b""
            while b"\r\n" not in data:
                chunk = c.recv(1024)
                if not chunk:
                    break
                data += chunk
            return data.split(b"\r\n")[0].decode(errors="replace")
    except OSError as e:
        return "error " + str(e)


sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
sock.settimeout(0.1)
deadline = time.monotonic() + secs
with open(out, "a", buffering=1) as f:
    while time.monotonic() < deadline and not os.path.exists(path + ".stop"):
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        now = time.time_ns()
        for line in data.decode(errors="replace").splitlines():
            f.write("%d %s\n" % (now, line))
            if line == "READY=1":
                f.write("%d PROBE %s\n" % (time.time_ns(), probe()))
EOF

# pid_exec.sh ARGS...: runs $E2E_REAL_BIN with WATCHDOG_PID set to its own
# pid ($$ of this script, which exec keeps).
cat >"$T/pid_exec.sh" <<'EOF'
#!/usr/bin/env bash
export WATCHDOG_PID=$$
exec "$E2E_REAL_BIN" "$@"
EOF
chmod +x "$T/pid_exec.sh"

# start_reader N PORT: a notify reader on $T/notify$N.sock, logging to
# $T/notify$N.log, for at most 60 s.
start_reader()
{
	local sock=$T/notify$1.sock

	: >"$T/notify$1.log"
	timeout -k 5 60 python3 "$T/notify.py" "$sock" "$2" \
	    "$T/notify$1.log" 55 2>"$T/notify$1.err" &
	NOTIFY_PID=$!
	wait_for 10 test -S "$sock" ||
	    fail "notify reader: no socket $sock: $(head -c 300 "$T/notify$1.err")"
}

stop_reader()
{
	[[ -n $NOTIFY_PID ]] || return 0
	touch "$T/notify$1.sock.stop"
	wait_pid_exit "$NOTIFY_PID" 10 || check_fail "notify reader did not stop"
	NOTIFY_PID=""
}

# notified N LINE: the reader of run N got LINE.
notified()
{
	grep -q -x "[0-9]* $2" "$T/notify$1.log"
}

# count_notified N LINE
count_notified()
{
	grep -c -x "[0-9]* $2" "$T/notify$1.log"
}

# watchdogs_at_least N COUNT
watchdogs_at_least()
{
	(($(count_notified "$1" WATCHDOG=1) >= $2))
}

# notify_time N LINE: when the first LINE arrived (ns since the epoch).
notify_time()
{
	grep -m 1 -x "[0-9]* $2" "$T/notify$1.log" | cut -d ' ' -f 1
}

# notify_run N WATCHDOG-PID-MODE: starts the daemon with NOTIFY_SOCKET and
# WATCHDOG_USEC=2000000; WATCHDOG_PID is unset ("unset"), the daemon's own
# pid ("self") or another process's ("other").  Checks READY=1 and the
# probe, then the watchdog, then STOPPING=1 after SIGTERM.
notify_run()
{
	local n=$1 mode=$2 port conf=$T/notify$1.conf probe sent t_stop
	local bin=$BIN wd

	port=$(free_port) || fail "no free port"
	write_config "$conf"
	sed -i "s/port = 0;/port = $port;/" "$conf"
	start_reader "$n" "$port"

	export NOTIFY_SOCKET=$T/notify$n.sock WATCHDOG_USEC=2000000
	case $mode in
	self)
		export E2E_REAL_BIN=$bin
		BIN=$T/pid_exec.sh
		;;
	other)
		export WATCHDOG_PID=$$
		;;
	esac
	start_daemon "$conf"
	# Not for anything started later.
	unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID E2E_REAL_BIN
	BIN=$bin
	[[ $PORT == "$port" ]] ||
	    check_fail "run $n: listening on $PORT, configured $port"

	if ! wait_for 15 notified "$n" READY=1; then
		check_fail "run $n: no READY=1 within 15 s of listening:" \
		    "$(tr '\n' ' ' <"$T/notify$n.log" | head -c 300)"
	else
		wait_for 10 grep -q ' PROBE ' "$T/notify$n.log"
		probe=$(grep -m 1 ' PROBE ' "$T/notify$n.log" | cut -d ' ' -f 3-)
		[[ $probe =~ ^HTTP/1\.[01]\ 200 ]] ||
		    check_fail "run $n: GET /healthz sent when READY=1 came" \
			"got '$probe', expected 200: READY=1 before the" \
			"listener serves"
		(($(count_notified "$n" READY=1) == 1)) ||
		    check_fail "run $n: READY=1 sent $(count_notified "$n" \
			READY=1) times"
		note "run $n (WATCHDOG_PID $mode): READY=1, then /healthz" \
		    "answered '$probe'"
	fi

	# At 2 s, one WATCHDOG=1 a second: 2 within 4 s, or none at all.
	if [[ $mode == other ]]; then
		sleep 3.5
		wd=$(count_notified "$n" WATCHDOG=1)
		((wd == 0)) || check_fail "run $n: $wd WATCHDOG=1 though" \
		    "WATCHDOG_PID is another process"
	else
		wait_for 4 watchdogs_at_least "$n" 2
		wd=$(count_notified "$n" WATCHDOG=1)
		((wd >= 2)) || check_fail "run $n: $wd WATCHDOG=1 within" \
		    "4 s of WATCHDOG_USEC=2000000, expected 2 or more"
	fi
	note "run $n: $wd WATCHDOG=1"
	notified "$n" STOPPING=1 &&
	    check_fail "run $n: STOPPING=1 before any signal"

	sent=$(date +%s%N)
	stop_daemon_clean TERM
	if ! wait_for 10 notified "$n" STOPPING=1; then
		check_fail "run $n: no STOPPING=1 after SIGTERM"
	else
		t_stop=$(notify_time "$n" STOPPING=1)
		((t_stop >= sent)) ||
		    check_fail "run $n: STOPPING=1 came before SIGTERM"
	fi
	stop_reader "$n"
}

notify_run 1 unset
notify_run 2 self
notify_run 3 other

# Without NOTIFY_SOCKET, nothing changes: the daemon starts and stops.
start_daemon "$T/notify1.conf"
stop_daemon_clean TERM

# ---------------------------------------------------------------------------
# 2. Socket activation and restarts

# supervise.sh BIN CONF DIR: exec'd by systemd-socket-activate with the
# listening socket on fd 3.  Runs the daemon again each time it exits, for
# at most 30 runs or 200 s, until DIR/stop exists.  DIR/pid is the
# daemon's pid; DIR/exits gets "run status" per run; each run's stderr goes
# to DIR/../daemon-saN.stderr, where lib.sh looks for sanitizer reports.
cat >"$T/supervise.sh" <<'EOF'
#!/usr/bin/env bash
bin=$1 conf=$2 dir=$3
n=0
while [[ ! -e $dir/stop ]] && ((n < 30 && SECONDS < 200)); do
	n=$((n + 1))
	(
		# Right before exec, so that LISTEN_PID is the daemon's pid.
		export LISTEN_FDS=1 LISTEN_PID=$BASHPID
		unset LISTEN_FDNAMES
		exec "$bin" -c "$conf"
	) >>"$dir/daemon.stdout" 2>"$dir/../daemon-sa$n.stderr" &
	echo "$n $!" >"$dir/pid.new"
	mv "$dir/pid.new" "$dir/pid"
	wait "$!"
	echo "$n $?" >>"$dir/exits"
done
EOF
chmod +x "$T/supervise.sh"

# Listening: the current run wrote its "listening on" line.
run_listening()
{
	grep -a -q 'http: listening on' "$T/daemon-sa$1.stderr" 2>/dev/null
}

mkdir -p "$SA"
port=$(free_port) || fail "no free port"
write_config "$T/sa.conf"	# port = 0: unused when a socket is passed
systemd-socket-activate -l "127.0.0.1:$port" \
    "$T/supervise.sh" "$BIN" "$T/sa.conf" "$SA" \
    >"$SA/activate.out" 2>"$SA/activate.err" &
SUP_PID=$!
wait_for 10 grep -q 'Listening on' "$SA/activate.err" ||
    fail "systemd-socket-activate is not listening:" \
	"$(head -c 300 "$SA/activate.err")"
URL=http://127.0.0.1:$port/sinch/sms
BASE=http://127.0.0.1:$port

# As with systemd, the first connection starts the service; it waits in
# the socket's queue meanwhile.
expect_status 200 --connect-timeout 20 "$BASE/healthz" ||
    fail "the first connection was not served"
cur=$(current_daemon) || fail "no daemon under the supervisor"
wait_for 10 run_listening "${cur%% *}"
grep -a -q 'using the listening socket passed by systemd' \
    "$T/daemon-sa${cur%% *}.stderr" ||
    check_fail "the daemon did not say it uses the passed socket"
grep -a -q "listening on 127.0.0.1:$port\$" "$T/daemon-sa${cur%% *}.stderr" ||
    check_fail "the daemon does not listen on the passed socket:" \
	"$(grep -a -m 1 'listening on' "$T/daemon-sa${cur%% *}.stderr")"

# send_stream TAG COUNT OUT: posts COUNT distinct callbacks one after the
# other, each until it is answered 200 (at most 100 tries, 0.2 s apart).
# OUT gets "seq try code curl-exit" per try.
send_stream()
{
	local tag=$1 count=$2 out=$3 i try code rc body

	for ((i = 1; i <= count; i++)); do
		body=$(load_body "$tag" "$i")
		for ((try = 1; try <= 100; try++)); do
			code=$(curl -sS -o /dev/null -w '%{http_code}' \
			    --connect-timeout 20 --max-time 30 \
			    -H 'Content-Type: application/json' \
			    --data-binary "$body" "$URL" 2>>"$out.curlerr")
			rc=$?
			echo "$i $try $code $rc" >>"$out"
			[[ $code == 200 ]] && break
			sleep 0.2
		done
	done
}

WORKERS=4
PER_WORKER=250
TOTAL=$((WORKERS * PER_WORKER))
for ((w = 1; w <= WORKERS; w++)); do
	send_stream "sa$w" "$PER_WORKER" "$T/stream$w" &
	WORKER_PIDS+=("$!")
done

workers_done()
{
	local pid

	for pid in "${WORKER_PIDS[@]}"; do
		pid_running "$pid" && return 1
	done
	return 0
}

records_at_least()
{
	(($(count_records) >= $1)) || workers_done
}

restarts=0
for at in 150 400 650; do
	wait_for 120 records_at_least "$at" ||
	    fail "fewer than $at records after 120 s"
	if workers_done; then
		check_fail "the stream ended before restart $((restarts + 1))"
		break
	fi
	cur=$(current_daemon) || fail "no daemon under the supervisor"
	kill -TERM "${cur#* }"
	restarts=$((restarts + 1))
	note "restart $restarts: SIGTERM to run ${cur%% *} at" \
	    "$(count_records) records"
	next=$(( ${cur%% *} + 1 ))
	wait_for 60 run_listening "$next" ||
	    fail "run $next did not start listening within 60 s"
done

for pid in "${WORKER_PIDS[@]}"; do
	wait_pid_exit "$pid" 170 || check_fail "a client did not finish"
done
WORKER_PIDS=()
stop_supervisor

# Every try of every client.
cat "$T"/stream[0-9] >"$T/tries"
refused=$(awk '$4 == 7' "$T/tries" | wc -l)
dropped=$(awk '$4 != 0 && $4 != 7' "$T/tries" | wc -l)
ok=$(awk '$3 == 200' "$T/tries" | wc -l)
note "$(wc -l <"$T/tries") tries for $TOTAL callbacks; answers:" \
    "$(awk '{ print $3 "/" $4 }' "$T/tries" | sort | uniq -c |
	sort -rn | tr '\n' ' ')(code/curl-exit)"
((refused == 0)) ||
    check_fail "$refused connection(s) refused during the restarts"
((dropped == 0)) ||
    check_fail "$dropped connection(s) ended without an answer:" \
	"$(cat "$T"/stream*.curlerr | sort | uniq -c | head -n 3 | tr '\n' ' ')"
((ok == TOTAL)) ||
    check_fail "$ok callback(s) answered 200, expected $TOTAL"
bad=$(awk '$3 != 200 && $3 != 503 && $3 != 429 && $4 == 0' "$T/tries" |
    head -n 3 | tr '\n' ' ')
[[ -z $bad ]] || check_fail "answers other than 200, 503 or 429: $bad"

# Every run stopped cleanly.
runs=$(wc -l <"$SA/exits")
((runs == restarts + 1)) ||
    check_fail "$runs run(s) of the daemon for $restarts restart(s)"
while read -r run status; do
	((status == 0)) || check_fail "run $run exited with status $status:" \
	    "$(tail -n 3 "$T/daemon-sa$run.stderr" | tr '\n' ' ')"
done <"$SA/exits"
for ((run = 1; run <= runs; run++)); do
	grep -a -q 'using the listening socket passed by systemd' \
	    "$T/daemon-sa$run.stderr" ||
	    check_fail "run $run did not use the passed socket"
done

# One line per callback: none lost, none twice.
check_lines "$REPORTS"
lines=$(count_records)
distinct=$(jq -R -r 'fromjson? | .payload.client_reference // empty' \
    "$REPORTS" | sort -u | wc -l)
((lines == TOTAL && distinct == TOTAL)) ||
    check_fail "$lines line(s), $distinct distinct callback(s) in the" \
	"file for $TOTAL callbacks"
note "$restarts restarts, $lines lines for $TOTAL callbacks"

# ---------------------------------------------------------------------------
# 3. Two sockets: callbacks, then metrics

# exec_bin.sh BIN CONF: keeps the pid that systemd-socket-activate put in
# LISTEN_PID (which passes on no environment of its own).
cat >"$T/exec_bin.sh" <<'EOF'
#!/usr/bin/env bash
exec "$1" -c "$2"
EOF
chmod +x "$T/exec_bin.sh"
write_config "$T/two.conf"
echo 'metrics = { address = "127.0.0.1"; port = 0; };' >>"$T/two.conf"
p1=$(free_port) || fail "no free port"
p2=$(free_port) || fail "no free port"
[[ $p1 != "$p2" ]] || p2=$(free_port)

both_listening()
{
	(($(grep -c 'Listening on' "$T/daemon-two.stderr") == 2))
}

systemd-socket-activate -l "127.0.0.1:$p1" -l "127.0.0.1:$p2" \
    "$T/exec_bin.sh" "$BIN" "$T/two.conf" \
    >"$T/two.out" 2>"$T/daemon-two.stderr" &
TWO_PID=$!
wait_for 10 both_listening ||
    fail "systemd-socket-activate is not listening on both ports"
if expect_status 200 --connect-timeout 20 "http://127.0.0.1:$p2/healthz"
then
	note "two sockets: /healthz answered on the second one"
fi
expect_status 200 "http://127.0.0.1:$p2/readyz"
if expect_status 200 "http://127.0.0.1:$p2/metrics" &&
    ! grep -q '^sinch_webhookd_' "$T/last.body"; then
	check_fail "two sockets: /metrics on the second socket has no metrics"
fi
expect_status 404 "http://127.0.0.1:$p1/healthz"
URL=http://127.0.0.1:$p1/sinch/sms
post_string 200 "$(load_body two 1)"
grep -a -q "metrics listening on 127.0.0.1:$p2\$" "$T/daemon-two.stderr" ||
    check_fail "two sockets: the metrics listener is not the second socket"
kill -TERM "$TWO_PID"
if ! wait_pid_exit "$TWO_PID" "$STOP_TIMEOUT"; then
	check_fail "two sockets: the daemon did not stop"
elif ((WAIT_RC != 0)); then
	check_fail "two sockets: exit status $WAIT_RC"
fi
TWO_PID=""

finish
