# shellcheck shell=bash
#
# lib.sh - sourced by every tests/examples/t_*.sh.  Runs the example hooks
# of docs/examples/ the way the exec sink does: the record on stdin, a
# minimal environment (PATH, the sink's env and the SINCH_* variables),
# no shell in between.  Starts the real daemon for the tests that go
# through it, and holds an SQLite write lock for those that need one.
# Gives each test a temporary directory that is removed at exit, and stops
# by PID whatever the test started.

set -u
set -o pipefail

EX_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCDIR=$(cd "$EX_DIR/../.." && pwd)
# shellcheck disable=SC2034  # used by the tests
HOOKS=$SRCDIR/docs/examples
# The callback bodies the tests feed the hooks: the project's own
# (tests/data/examples/README.md), so a clone needs nothing beside it.
# shellcheck disable=SC2034
FIXTURES=$SRCDIR/tests/data/examples
# The PATH a hook gets: a plain system one (no ~/bin, no pyenv).
HOOK_PATH=/usr/local/bin:/usr/bin:/bin

FAILURES=0
STARTED_PIDS=()
HOOK_RC=""
HOOK_STDERR=""

T=$(mktemp -d "${TMPDIR:-/tmp}/sinch-examples.XXXXXX") || {
	echo "FAIL: unable to create a temporary directory" >&2
	exit 1
}

_ex_cleanup()
{
	local pid

	for pid in "${STARTED_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${STARTED_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	rm -rf "$T"
}
trap _ex_cleanup EXIT

# shellcheck source-path=SCRIPTDIR source=../report.sh
. "$(dirname "${BASH_SOURCE[0]}")/../report.sh"

# finish: the test's exit status.
finish()
{
	if ((FAILURES > 0)); then
		echo "$FAILURES check(s) failed"
		exit 1
	fi
	exit 0
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq()
{
	[[ $2 == "$3" ]] ||
	    check_fail "$1: expected '$2', got '$3'"
}

# pid_running and wait_for.
# shellcheck source-path=SCRIPTDIR source=../../scripts/proc.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/proc.sh"

# ---------------------------------------------------------------------------
# Records.

# record_from_body FILE [ID]: prints the record the daemon makes from the
# callback body in FILE.
record_from_body()
{
	jq -c --arg id "${2:-t-$RANDOM-1}" \
	    --arg received_at "${RECEIVED_AT:-2026-11-27T14:00:00.123Z}" \
	    -f "$EX_DIR/make_record.jq" "$1"
}

# record_from_json JSON [ID]: the same from a callback body given as text.
record_from_json()
{
	printf '%s\n' "$1" >"$T/body.json"
	record_from_body "$T/body.json" "${2:-}"
}

# rdr_body BATCH RECIPIENT STATUS CODE AT [CLIENT_REFERENCE]: the
# callback body of a recipient delivery report (SMS).
rdr_body()
{
	jq -cn --arg b "$1" --arg r "$2" --arg s "$3" \
	    --argjson c "$4" --arg at "$5" --arg cref "${6-}" '
		{type: "recipient_delivery_report_sms", batch_id: $b,
		 recipient: $r, code: $c, status: $s, at: $at}
		+ (if $cref == "" then {} else {client_reference: $cref} end)'
}

# rdr BATCH RECIPIENT STATUS CODE AT [CLIENT_REFERENCE]: its record.
rdr()
{
	record_from_json "$(rdr_body "$@")"
}

# ---------------------------------------------------------------------------
# Running a hook as the exec sink would.

# run_hook RECORD HOOK [ARGS...]: runs HOOK with RECORD (text, a newline is
# added) on stdin, the SINCH_* variables of the record and, in addition,
# every NAME=value in the array HOOK_ENV.  Sets HOOK_RC and HOOK_STDERR
# (a file); the hook's stdout goes to $T/hook.stdout.  Bounded to 60 s.
# With HOOK_PROTOCOL=lines, as for a helper of an exec sink with protocol
# "lines": no SINCH_* variables, and RECORD may be several lines.
HOOK_ENV=()
HOOK_PROTOCOL="exec"
run_hook()
{
	local record=$1 hook=$2 vars=()

	shift 2
	HOOK_STDERR=$T/hook.stderr
	if [[ $HOOK_PROTOCOL == exec ]] &&
	    jq -e 'type == "object"' >/dev/null 2>&1 <<<"$record"; then
		mapfile -t vars < <(jq -r -f "$EX_DIR/record_env.jq" <<<"$record")
	fi
	printf '%s\n' "$record" >"$T/record.in"
	(cd "$T" && exec timeout -k 5 60 env -i PATH="$HOOK_PATH" \
	    "${HOOK_ENV[@]}" "${vars[@]}" "$hook" "$@") \
	    <"$T/record.in" >"$T/hook.stdout" 2>"$HOOK_STDERR"
	HOOK_RC=$?
}

# expect_rc WHAT RC: checks HOOK_RC and shows the hook's stderr if not.
expect_rc()
{
	if [[ $HOOK_RC != "$2" ]]; then
		check_fail "$1: exit $HOOK_RC, expected $2;" \
		    "stderr: $(tr '\n' '|' <"$HOOK_STDERR")"
		return 1
	fi
	return 0
}

# ---------------------------------------------------------------------------
# The HTTP receiver (tests/examples/http_recorder.py).

PYTHON=python3
[[ -x /usr/bin/python3 ]] && PYTHON=/usr/bin/python3
RECV_DIR=""
RECV_PORT=""
RECV_PID=""

_ex_recv_ready()
{
	[[ -s $RECV_DIR/port ]]
}

# start_receiver: starts the receiver on 127.0.0.1; sets RECV_DIR (where
# it writes req.N), RECV_PORT and RECV_PID.
start_receiver()
{
	RECV_DIR=$T/recv
	mkdir -p "$RECV_DIR"
	"$PYTHON" "$EX_DIR/http_recorder.py" "$RECV_DIR" 100 \
	    >"$T/recv.log" 2>&1 &
	RECV_PID=$!
	STARTED_PIDS+=("$RECV_PID")
	wait_for 15 _ex_recv_ready ||
	    fail "receiver did not start: $(cat "$T/recv.log")"
	# shellcheck disable=SC2034  # used by the tests
	RECV_PORT=$(cat "$RECV_DIR/port")
}

# receiver_status CODE|"sleep S": how the receiver answers from now on.
receiver_status()
{
	printf '%s\n' "$1" >"$RECV_DIR/status"
}

# requests: how many requests the receiver has recorded.
requests()
{
	local n=0

	while [[ -f $RECV_DIR/req.$((n + 1)) ]]; do
		n=$((n + 1))
	done
	echo "$n"
}

# free_port: a port on 127.0.0.1 that nothing listens on (bound, then
# closed again).
free_port()
{
	"$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# ---------------------------------------------------------------------------
# The real daemon.

DAEMON_BIN=${SINCH_WEBHOOKD_BIN:-$SRCDIR/sinch-webhookd}
DAEMON_PID=""
DAEMON_LOG=$T/daemon.stderr
DAEMON_RC=""
BASE_URL=""
CURL_MAX_TIME=30

# need_daemon: ends the test, failed, when the binary is not built.
need_daemon()
{
	[[ -x $DAEMON_BIN ]] ||
	    fail "no daemon binary at $DAEMON_BIN (make check-examples builds it)"
}

# shellcheck disable=SC2317  # called through wait_for
_ex_listening_or_dead()
{
	local line

	line=$(grep -a -m1 -E 'http: listening on .*:[0-9]+[[:space:]]*$' \
	    "$DAEMON_LOG" 2>/dev/null)
	if [[ -n $line ]]; then
		BASE_URL=http://127.0.0.1:$(sed -E 's/.*:([0-9]+)[[:space:]]*$/\1/' \
		    <<<"$line")
		return 0
	fi
	! pid_running "$DAEMON_PID"
}

# start_daemon CONF: checks CONF (-t), then starts the daemon on it with
# the PATH the hooks are meant to see, nothing else, its stderr in
# DAEMON_LOG.  CONF listens on 127.0.0.1, port 0.  Sets DAEMON_PID and
# BASE_URL (http://127.0.0.1:PORT).
start_daemon()
{
	"$DAEMON_BIN" -t -c "$1" >"$T/check.out" 2>&1 ||
	    fail "the daemon refuses $1: $(cat "$T/check.out")"
	env -i PATH="$HOOK_PATH" "$DAEMON_BIN" -c "$1" \
	    >"$T/daemon.stdout" 2>"$DAEMON_LOG" &
	DAEMON_PID=$!
	STARTED_PIDS+=("$DAEMON_PID")
	wait_for 30 _ex_listening_or_dead || fail "daemon: no 'listening on' line"
	[[ -n $BASE_URL ]] || fail "daemon exited: $(tail -n 5 "$DAEMON_LOG")"
}

# post FILE [PATH]: POSTs FILE's bytes like Sinch to PATH (default
# /sinch/sms); prints the status code.
post()
{
	curl -sS --max-time "$CURL_MAX_TIME" -o /dev/null -w '%{http_code}' \
	    -H 'Content-Type: application/json' --data-binary "@$1" \
	    "$BASE_URL${2:-/sinch/sms}"
}

# expect_post WHAT CODE FILE
expect_post()
{
	local got

	got=$(post "$3")
	[[ $got == "$2" ]] || {
		check_fail "$1: answered $got, expected $2;" \
		    "daemon: $(tail -n 3 "$DAEMON_LOG" | tr '\n' '|')"
		return 1
	}
}

# shellcheck disable=SC2317  # called through wait_for
_ex_daemon_stopped()
{
	! pid_running "$DAEMON_PID"
}

# stop_daemon: SIGTERM, then waits for the exit (30 s at most); sets
# DAEMON_RC, "running" if it did not stop.
stop_daemon()
{
	kill -TERM "$DAEMON_PID"
	if ! wait_for 30 _ex_daemon_stopped; then
		DAEMON_RC=running
		return 1
	fi
	wait "$DAEMON_PID"
	# shellcheck disable=SC2034  # used by the tests
	DAEMON_RC=$?
}

# ---------------------------------------------------------------------------
# SQLite's write lock, held by another process.

HOLDER=""
LOCKED_DB=""

# shellcheck disable=SC2317  # called through wait_for
db_locked()
{
	! sqlite3 -init /dev/null "$LOCKED_DB" \
	    'PRAGMA busy_timeout = 0; BEGIN IMMEDIATE; ROLLBACK;' >/dev/null 2>&1
}

# hold_write_lock DB: takes DB's write lock in another process and keeps
# it until release_write_lock.  The holder is a sqlite3 that reads its
# statements from a FIFO (fd 3 here), so the test decides when it
# commits.  The table recipient_status must exist.
hold_write_lock()
{
	LOCKED_DB=$1
	rm -f "$T/holder.fifo"
	mkfifo "$T/holder.fifo"
	sqlite3 -init /dev/null "$LOCKED_DB" <"$T/holder.fifo" \
	    >"$T/holder.out" 2>&1 &
	HOLDER=$!
	STARTED_PIDS+=("$HOLDER")
	exec 3>"$T/holder.fifo"
	# The holder waits for the lock rather than fail at once: the first
	# probes below take it for a moment too.
	printf '.timeout 10000\nBEGIN IMMEDIATE;\nUPDATE recipient_status SET code = code;\n' >&3
	wait_for 15 db_locked || fail "the holder did not take the write lock"
}

# release_write_lock: the holder commits and exits.
release_write_lock()
{
	printf 'COMMIT;\n' >&3
	exec 3>&-
	wait "$HOLDER"
}
