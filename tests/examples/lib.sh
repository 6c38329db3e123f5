# shellcheck shell=bash
#
# lib.sh - sourced by every tests/examples/t_*.sh.  Runs the example hooks
# of docs/examples/ the way the exec sink does: the record on stdin, a
# minimal environment (PATH, the sink's env and the SINCH_* variables),
# no shell in between.  Gives each test a temporary directory that is
# removed at exit, and stops by PID whatever the test started.

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

# rdr BATCH RECIPIENT STATUS CODE AT [CLIENT_REFERENCE]: a recipient
# delivery report record (SMS).
rdr()
{
	local body

	body=$(jq -cn --arg b "$1" --arg r "$2" --arg s "$3" \
	    --argjson c "$4" --arg at "$5" --arg cref "${6-}" '
		{type: "recipient_delivery_report_sms", batch_id: $b,
		 recipient: $r, code: $c, status: $s, at: $at}
		+ (if $cref == "" then {} else {client_reference: $cref} end)')
	record_from_json "$body"
}

# ---------------------------------------------------------------------------
# Running a hook as the exec sink would.

# run_hook RECORD HOOK [ARGS...]: runs HOOK with RECORD (text, a newline is
# added) on stdin, the SINCH_* variables of the record and, in addition,
# every NAME=value in the array HOOK_ENV.  Sets HOOK_RC and HOOK_STDERR
# (a file); the hook's stdout goes to $T/hook.stdout.  Bounded to 60 s.
HOOK_ENV=()
run_hook()
{
	local record=$1 hook=$2 vars=()

	shift 2
	HOOK_STDERR=$T/hook.stderr
	if jq -e 'type == "object"' >/dev/null 2>&1 <<<"$record"; then
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
