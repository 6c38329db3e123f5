# shellcheck shell=bash
#
# lib.sh - sourced by every tests/e2e/t_*.sh.  Gives each scenario a fresh
# temporary directory, starts the real binary on a port the kernel chooses
# (port = 0 in a generated configuration; the port is read back from the
# "http: listening on" line), and offers helpers to send requests and check
# the records.  Everything it starts is stopped by PID when the test exits,
# and every wait is bounded.
#
# Environment: SINCH_WEBHOOKD_BIN (binary under test, default
# $SRCDIR/sinch-webhookd), E2E_LOGDIR (set by run.sh: where the daemon's
# stderr is copied for the failure report), SINCH_VECTORS (shared vectors).

set -u
set -o pipefail
# stderr goes to a file here, not to the journal: plain "level: " prefixes.
unset JOURNAL_STREAM

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCDIR=$(cd "$E2E_DIR/../.." && pwd)
# shellcheck disable=SC2034  # used by the scenarios
DATADIR=$SRCDIR/tests/data/e2e
BIN=${SINCH_WEBHOOKD_BIN:-$SRCDIR/sinch-webhookd}
TEST_NAME=$(basename "$0" .sh)

# Generous bounds: the binary may be an ASan build.
START_TIMEOUT=30	# until "listening on" appears
STOP_TIMEOUT=45		# SIGTERM until exit
CURL_MAX_TIME=30	# one request

FAILURES=0
DAEMON_PID=""
DAEMON_N=0
DAEMON_STDERR=""
DAEMON_STDOUT=""
OK_IDS=""
PORT=""
BASE=""
URL=""
LAST_STATUS=""
LAST_ID=""
WAIT_RC=""
LOAD_PIDS=()
MOUNTS=()
PG_DIRS=()

T=$(mktemp -d "${TMPDIR:-/tmp}/sinch-e2e.XXXXXX") || {
	echo "FAIL: unable to create a temporary directory" >&2
	exit 1
}
REPORTS=$T/reports.jsonl

# ---------------------------------------------------------------------------
# Failure reporting.

# shellcheck source-path=SCRIPTDIR source=../report.sh
. "$(dirname "${BASH_SOURCE[0]}")/../report.sh"

# ---------------------------------------------------------------------------
# Processes.

# shellcheck source-path=SCRIPTDIR source=../../scripts/proc.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/proc.sh"

_e2e_not_running()
{
	! pid_running "$1"
}

# wait_pid_exit PID SECONDS: reaps a child within a bound and sets WAIT_RC
# to its exit status.  Returns 1 (and kills it) on timeout.  Not to be run
# in a subshell: only the parent can reap its children.
wait_pid_exit()
{
	local pid=$1

	WAIT_RC=""
	if ! wait_for "$2" _e2e_not_running "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 1
	fi
	wait "$pid" 2>/dev/null
	WAIT_RC=$?
	return 0
}

# ---------------------------------------------------------------------------
# Configuration.

DEFAULT_LIMITS='max_body_bytes = 1048576; max_connections = 1024;
           connection_timeout_s = 30; threads = 4; shutdown_timeout_s = 10;'

# The file sink at $REPORTS (required, fsync) and a stdout sink (not
# required).
default_sinks()
{
	cat <<EOF
  { name = "log"; kind = "file"; path = "$REPORTS"; fsync = true; required = true; },
  { name = "console"; kind = "stdout"; required = false; }
EOF
}

# write_config FILE [SINKS [LIMITS]]
write_config()
{
	local file=$1 sinks=${2:-} limits=${3:-$DEFAULT_LIMITS}

	[[ -n $sinks ]] || sinks=$(default_sinks)
	cat >"$file" <<EOF
listen = { address = "127.0.0.1"; port = 0; path = "/sinch/sms"; };
limits = { $limits };
log = { level = "info"; };
sinks = (
$sinks
);
EOF
}

# ---------------------------------------------------------------------------
# The daemon.

_e2e_listening_or_dead()
{
	local line

	line=$(grep -a -m1 -E 'http: listening on .*:[0-9]+[[:space:]]*$' \
	    "$DAEMON_STDERR" 2>/dev/null)
	if [[ -n $line ]]; then
		PORT=$(sed -E 's/.*:([0-9]+)[[:space:]]*$/\1/' <<<"$line")
		return 0
	fi
	! pid_running "$DAEMON_PID"
}

# start_daemon [CONF [ARGS...]]: starts the binary with -c CONF (a default
# configuration is written if CONF does not exist) and waits until it
# listens.  Sets DAEMON_PID, PORT, BASE, URL, DAEMON_STDERR, DAEMON_STDOUT
# and OK_IDS (the file where expect_status notes the id of every 200).
start_daemon()
{
	local conf=${1:-$T/webhookd.conf} rc

	shift || true
	[[ -x $BIN ]] || fail "binary $BIN not found or not executable"
	[[ -f $conf ]] || write_config "$conf"
	[[ -z $DAEMON_PID ]] || fail "start_daemon: a daemon is already running"
	DAEMON_N=$((DAEMON_N + 1))
	DAEMON_STDERR=$T/daemon$DAEMON_N.stderr
	DAEMON_STDOUT=$T/daemon$DAEMON_N.stdout
	OK_IDS=$T/ok_ids.$DAEMON_N
	: >"$OK_IDS"
	PORT=""
	"$BIN" -c "$conf" "$@" >"$DAEMON_STDOUT" 2>"$DAEMON_STDERR" &
	DAEMON_PID=$!
	wait_for "$START_TIMEOUT" _e2e_listening_or_dead ||
	    fail "daemon: no 'http: listening on' line within" \
		"${START_TIMEOUT}s: $(tail -n 5 "$DAEMON_STDERR")"
	if [[ -z $PORT ]]; then
		wait "$DAEMON_PID" 2>/dev/null
		rc=$?
		DAEMON_PID=""
		fail "daemon exited with status $rc before listening:" \
		    "$(tail -n 5 "$DAEMON_STDERR")"
	fi
	BASE=http://127.0.0.1:$PORT
	URL=$BASE/sinch/sms
}

# stop_daemon [SIGNAL [SECONDS]]: signals the daemon (TERM by default),
# waits for it within a bound and returns its exit status (124 if it had to
# be killed).
stop_daemon()
{
	local sig=${1:-TERM} secs=${2:-$STOP_TIMEOUT}

	[[ -n $DAEMON_PID ]] || return 0
	kill "-$sig" "$DAEMON_PID" 2>/dev/null
	if ! wait_pid_exit "$DAEMON_PID" "$secs"; then
		DAEMON_PID=""
		check_fail "daemon did not exit within ${secs}s of SIG$sig" \
		    "(killed)"
		return 124
	fi
	DAEMON_PID=""
	return "$WAIT_RC"
}

# Stops the daemon and requires exit status 0.
stop_daemon_clean()
{
	local rc

	stop_daemon "$@"
	rc=$?
	((rc == 0)) || check_fail "daemon exited with status $rc after" \
	    "SIG${1:-TERM}, expected 0: $(tail -n 3 "$DAEMON_STDERR")"
	return "$rc"
}

# ---------------------------------------------------------------------------
# Requests.

# header_value NAME [HEADERS-FILE]: the last value of a header, trimmed.
header_value()
{
	local file=${2:-$T/last.headers}

	[[ -f $file ]] || return 0
	tr -d '\r' <"$file" |
	    sed -n "s/^$1:[[:space:]]*//Ip" | sed 's/[[:space:]]*$//' | tail -n 1
}

# One line describing the last answer's body, for failure messages.
last_body_excerpt()
{
	head -c 300 "$T/last.body" 2>/dev/null | tr '\n' ' '
}

# request CURL-ARGS...: runs curl once.  The answer stays in $T/last.body
# and $T/last.headers; LAST_STATUS and LAST_ID (X-Request-Id) are set; the
# id of a 200 is appended to $OK_IDS.
request()
{
	rm -f "$T/last.body" "$T/last.headers"
	LAST_STATUS=$(curl -sS --max-time "$CURL_MAX_TIME" \
	    -o "$T/last.body" -D "$T/last.headers" -w '%{http_code}' \
	    "$@" 2>"$T/last.curlerr")
	LAST_ID=$(header_value X-Request-Id)
	if [[ $LAST_STATUS == 200 && -n $OK_IDS ]]; then
		echo "$LAST_ID" >>"$OK_IDS"
	fi
}

# expect_status CODE CURL-ARGS...: request, then compare the status code.
expect_status()
{
	local want=$1 args

	shift
	request "$@"
	if [[ $LAST_STATUS != "$want" ]]; then
		args="$*"
		check_fail "expected $want, got ${LAST_STATUS:-nothing}" \
		    "(curl ${args:0:200}): body: $(last_body_excerpt)" \
		    "$(head -c 200 "$T/last.curlerr")"
		return 1
	fi
	return 0
}

# post_file CODE FILE [CURL-ARGS...]: POSTs FILE's bytes as application/json
# (CURL-ARGS must not set another Content-Type: use expect_status for that).
post_file()
{
	local want=$1 file=$2

	shift 2
	expect_status "$want" -H 'Content-Type: application/json' \
	    --data-binary "@$file" "$@" "$URL"
}

# post_string CODE STRING [CURL-ARGS...]
post_string()
{
	local want=$1 file=$T/post_string.body

	printf '%s' "$2" >"$file"
	shift 2
	post_file "$want" "$file" "$@"
}

# The last answer's body is one non-empty line (a trailing newline allowed).
expect_one_line_body()
{
	local what=$1 body

	body=$(cat "$T/last.body" 2>/dev/null)	# drops one trailing newline
	if [[ -z $body || $body == *$'\n'* ]]; then
		check_fail "$what: body is not one non-empty line:" \
		    "$(last_body_excerpt)"
		return 1
	fi
	return 0
}

# expect_header NAME REGEX WHAT: a header of the last answer matches.
expect_header()
{
	local value

	value=$(header_value "$1")
	if ! [[ $value =~ $2 ]]; then
		check_fail "$3: header $1 is '${value}', expected /$2/"
		return 1
	fi
	return 0
}

# Waits (bounded) for the access line of request id with the given status.
expect_access_line()
{
	local id=$1 status=$2

	wait_for 10 grep -a -q -E \
	    "access: id=$id .*status=$status( |$)" "$DAEMON_STDERR" ||
	    check_fail "no access line 'id=$id ... status=$status' on stderr"
}

# raw_status_line REQUEST: sends REQUEST (printf %b escapes) on a new
# connection with bash's /dev/tcp, prints the first line of the answer
# (empty after 15 s of silence).
raw_status_line()
{
	local fd line=""

	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" || return 1
	printf '%b' "$1" >&"$fd"
	IFS= read -r -t 15 line <&"$fd"
	exec {fd}>&-
	printf '%s\n' "${line%$'\r'}"
}

# ---------------------------------------------------------------------------
# Records.

# check_lines FILE...: every line of every file is one JSON object with a
# string id, and every non-empty file ends with a newline.
check_lines()
{
	local f bad

	for f in "$@"; do
		[[ -e $f ]] || { check_fail "$f does not exist"; continue; }
		if [[ -s $f && $(tail -c 1 "$f" | od -An -c | tr -d ' ') != '\n' ]]
		then
			check_fail "$(basename "$f"): last line is not" \
			    "terminated: $(tail -c 120 "$f" | tr '\n' ' ')"
		fi
		bad=$(jq -R -r '. as $l | try (fromjson |
		    if type == "object" and (.id | type) == "string"
		    then empty else "not a record: \($l[0:160])" end)
		    catch "not one JSON value: \($l[0:160])"' "$f") ||
		    bad="jq failed on $f"
		if [[ -n $bad ]]; then
			check_fail "$(basename "$f"): $(wc -l <<<"$bad") bad" \
			    "line(s); first: $(head -n 1 <<<"$bad")"
		fi
	done
}

# check_ids_match IDS-FILE FILE...: the records in FILEs are exactly the ids
# listed in IDS-FILE (the 200 answers): same count, no duplicate, no missing.
check_ids_match()
{
	local want=$1 nlines nwant missing extra dups

	shift
	check_lines "$@"
	nlines=$(cat "$@" | wc -l)
	nwant=$(grep -c . "$want")
	sort "$want" >"$T/ids.want"
	cat "$@" | jq -R -r 'fromjson? | .id // empty' | sort >"$T/ids.got"
	dups=$(uniq -d "$T/ids.got" | wc -l)
	missing=$(comm -23 "$T/ids.want" "$T/ids.got" | wc -l)
	extra=$(comm -13 "$T/ids.want" "$T/ids.got" | wc -l)
	if ((nlines != nwant || dups || missing || extra)); then
		check_fail "records: $nlines line(s) for $nwant answer(s) 200;" \
		    "$missing id(s) answered 200 without a line, $extra line(s)" \
		    "with an id not answered 200, $dups duplicated id(s)"
		return 1
	fi
	if [[ $(sort -u "$T/ids.want" | wc -l) != "$nwant" ]]; then
		check_fail "X-Request-Id values are not distinct"
		return 1
	fi
	return 0
}

# record_of ID [FILE]: the record line(s) with that id.
record_of()
{
	jq -R -c --arg id "$1" 'fromjson? | select(.id == $id)' "${2:-$REPORTS}"
}

# check_record BODY-FILE ID [FILE]: exactly one record with id ID, and it
# matches the callback (tests/e2e/record.jq).
check_record()
{
	local body=$1 id=$2 file=${3:-$REPORTS} rec n problems

	if [[ -z $id ]]; then
		check_fail "$(basename "$body"): answer had no X-Request-Id"
		return 1
	fi
	rec=$(record_of "$id" "$file")
	n=$(grep -c . <<<"$rec")
	if ((n != 1)); then
		check_fail "$(basename "$body"): $n record(s) with id $id in" \
		    "$(basename "$file"), expected 1"
		return 1
	fi
	problems=$(jq -r --slurpfile body "$body" --arg id "$id" \
	    --argjson now "$(date +%s)" -f "$E2E_DIR/record.jq" <<<"$rec") ||
	    problems="jq failed on the record: $rec"
	if [[ -n $problems ]]; then
		while IFS= read -r line; do
			check_fail "$(basename "$body"): $line"
		done <<<"$problems"
		note "record: ${rec:0:600}"
		return 1
	fi
	return 0
}

# ---------------------------------------------------------------------------
# Load: one curl process, many distinct transfers in parallel.

# A recipient delivery report whose bytes are unique to (tag, seq).
load_body()
{
	printf '{"type":"recipient_delivery_report_sms","batch_id":"01E2ELOAD%s","recipient":"4670%07d","code":0,"status":"Delivered","at":"2026-01-01T00:00:00.000Z","client_reference":"%s-%d"}' \
	    "$1" "$2" "$1" "$2"
}

# make_load_config FILE COUNT TAG [EXTRA-CONFIG-LINE...]: a curl -K file
# with COUNT POSTs of distinct bodies.  Each transfer writes one line
# "code|curl-exit|x-request-id|retry-after" to curl's stdout.
make_load_config()
{
	local file=$1 count=$2 tag=$3 i body extra

	shift 3
	{
		for ((i = 1; i <= count; i++)); do
			body=$(load_body "$tag" "$i")
			printf 'url = "%s"\n' "$URL"
			printf 'data-binary = "%s"\n' "${body//\"/\\\"}"
			printf 'header = "Content-Type: application/json"\n'
			for extra in "$@"; do
				printf '%s\n' "$extra"
			done
			printf 'output = "/dev/null"\n'
			printf 'connect-timeout = 10\nmax-time = %d\n' \
			    "$CURL_MAX_TIME"
			printf 'write-out = "%s"\n' \
			    '%{http_code}|%{exitcode}|%header{x-request-id}|%header{retry-after}\n'
			((i < count)) && printf 'next\n'
		done
	} >"$file"
}

# start_load CONFIG RESULTS PARALLEL: runs the transfers in the background
# (bounded to 150 s); the PID is appended to LOAD_PIDS.
start_load()
{
	timeout -k 5 150 curl -sS --no-progress-meter --parallel --parallel-max "$3" -K "$1" \
	    >"$2" 2>"$2.stderr" &
	LOAD_PIDS+=("$!")
}

# wait_load PID: waits for a load (it is bounded by timeout itself).
wait_load()
{
	wait_pid_exit "$1" 170 || { check_fail "load $1 did not end"; return 1; }
	if ((WAIT_RC == 124 || WAIT_RC == 137)); then
		check_fail "load timed out (status $WAIT_RC)"
	fi
	return 0
}

# summarize_results FILE...: prints "count code|exit" for each combination.
summarize_results()
{
	cut -d '|' -f 1,2 "$@" | sort | uniq -c | sed 's/^ *//'
}

# ids_of_200 RESULTS... : the X-Request-Id of every transfer answered 200.
ids_of_200()
{
	cat "$@" | grep '^200|' | cut -d '|' -f 3
}

# ---------------------------------------------------------------------------
# Cleanup: stop what we started (by PID), unmount, remove the directory.

_e2e_exit()
{
	local rc=$1 pid m f

	trap - EXIT
	if [[ -n $DAEMON_PID ]] && pid_running "$DAEMON_PID"; then
		kill -TERM "$DAEMON_PID" 2>/dev/null
		wait_pid_exit "$DAEMON_PID" 10
	fi
	for pid in "${LOAD_PIDS[@]}"; do
		if pid_running "$pid"; then
			kill -TERM "$pid" 2>/dev/null
			wait_pid_exit "$pid" 10
		fi
	done
	for f in "$T"/daemon*.stderr; do
		[[ -f $f ]] || continue
		if grep -a -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f"
		then
			echo "FAIL: sanitizer report in $(basename "$f"):"
			grep -a -m 5 -E 'Sanitizer|runtime error:' "$f"
			FAILURES=$((FAILURES + 1))
		fi
		if [[ -n ${E2E_LOGDIR:-} && -d ${E2E_LOGDIR:-} ]]; then
			cp "$f" "$E2E_LOGDIR/" 2>/dev/null
		fi
	done
	_e2e_pg_cleanup
	for m in "${MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null ||
		    echo "warning: unable to unmount $m"
	done
	rm -rf "$T"
	if ((rc == 0 && FAILURES > 0)); then
		rc=1
	fi
	exit "$rc"
}

trap '_e2e_exit $?' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# Ends a test: non-zero if any check failed.
finish()
{
	if ((FAILURES > 0)); then
		echo "$TEST_NAME: $FAILURES failure(s)"
		exit 1
	fi
	echo "$TEST_NAME: ok"
	exit 0
}

# ---------------------------------------------------------------------------
# Exec sinks, dedup, filters, saturation (t_exec*, t_dedup, t_filters,
# t_saturation).  The hooks live in tests/data/e2e/hooks.

# shellcheck disable=SC2034  # used by the scenarios
HOOKDIR=$DATADIR/hooks
HOOK_SEQ=0

# hook_body FILE REF [STATUS]: a recipient delivery report (sms) whose
# bytes were never sent before by this test, with client_reference REF
# (hooks/act.sh acts on its first word; no '"' or '\' in REF).
hook_body()
{
	HOOK_SEQ=$((HOOK_SEQ + 1))
	printf '{"type":"recipient_delivery_report_sms","batch_id":"01JE2EHOOK%s%06d","recipient":"4670%07d","code":0,"status":"%s","at":"2026-03-01T10:00:00.000Z","client_reference":"%s"}' \
	    "${TEST_NAME//[^A-Za-z0-9]/}" "$HOOK_SEQ" "$HOOK_SEQ" \
	    "${3:-Delivered}" "$2" >"$1"
}

# line_of ID [FILE]: the exact bytes of the line(s) with that record id.
line_of()
{
	grep -a -F -- "\"id\":\"$1\"," "${2:-$REPORTS}"
}

# count_lines_with ID FILE: how many lines of FILE carry record id ID (0
# when FILE does not exist).
count_lines_with()
{
	[[ -f $2 ]] || { echo 0; return 0; }
	grep -a -c -F -- "\"id\":\"$1\"," "$2"
}

# hook_runs DIR [ID]: how many runs hooks/act.sh noted in DIR/runs (of the
# request ID only, when given).
hook_runs()
{
	[[ -f $1/runs ]] || { echo 0; return 0; }
	if [[ -n ${2:-} ]]; then
		awk -v id="$2" '$1 == id { n++ } END { print n + 0 }' "$1/runs"
	else
		grep -c . "$1/runs"
	fi
}

# expect_log REGEX WHAT: waits (bounded) for a line of the daemon's stderr
# matching the extended REGEX.
expect_log()
{
	wait_for 10 grep -a -q -E -- "$1" "$DAEMON_STDERR" && return 0
	check_fail "$2: no line /$1/ on the daemon's stderr"
}

# pids_gone SECONDS PID...: true once none of the PIDs runs (zombies count
# as gone: their reaping is their parent's business), false on timeout.
_e2e_all_gone()
{
	local pid

	for pid in "$@"; do
		pid_running "$pid" && return 1
	done
	return 0
}

pids_gone()
{
	local secs=$1

	shift
	wait_for "$secs" _e2e_all_gone "$@"
}

# Kills (SIGKILL, by PID) what a failed check left running; for cleanup.
kill_pids()
{
	local pid

	for pid in "$@"; do
		[[ $pid =~ ^[0-9]+$ ]] && pid_running "$pid" &&
		    kill -KILL "$pid" 2>/dev/null
	done
	return 0
}

# daemon_children [STAT-REGEX]: the daemon's child processes, one
# "pid stat command" line each (only those whose state matches).
daemon_children()
{
	ps --ppid "$DAEMON_PID" -o pid=,stat=,args= 2>/dev/null |
	    awk -v re="${1:-.}" '$2 ~ re'
}

_e2e_no_zombie()
{
	[[ -z $(daemon_children '^Z') ]]
}

_e2e_no_child()
{
	[[ -z $(daemon_children) ]]
}

# check_no_zombies WHAT: within 5 s the daemon has no zombie child (and,
# with "all" as second argument, no child at all: every hook is over).
check_no_zombies()
{
	local what=$1

	if ! wait_for 5 _e2e_no_zombie; then
		check_fail "$what: zombie children of the daemon:" \
		    "$(daemon_children '^Z' | head -n 5 | tr '\n' ';')"
		return 1
	fi
	if [[ ${2:-} == all ]] && ! wait_for 5 _e2e_no_child; then
		check_fail "$what: the daemon still has children:" \
		    "$(daemon_children | head -n 5 | tr '\n' ';')"
		return 1
	fi
	return 0
}

# expect_config_rejected FILE WHAT: `-t -c FILE` exits 2 with a message.
expect_config_rejected()
{
	local rc

	timeout -k 5 30 "$BIN" -t -c "$1" >"$T/check.out" 2>"$T/check.err"
	rc=$?
	if ((rc != 2)); then
		check_fail "$2: -t exited $rc, expected 2 (stderr:" \
		    "$(head -c 300 "$T/check.err" | tr '\n' ' '))"
		return 1
	fi
	[[ -s $T/check.err ]] ||
	    check_fail "$2: rejected without a message on stderr"
	note "$2: $(head -n 1 "$T/check.err")"
}

# make_bodies_load_config FILE BODY...: a curl -K file with one POST per
# BODY file (its answer body goes to BODY.answer) to $LOAD_URL (default
# $URL), with the headers in $LOAD_HEADERS, one per line (default
# Content-Type: application/json).  Each transfer writes
# "code|curl-exit|x-request-id|retry-after|BODY" to curl's stdout, so
# summarize_results and ids_of_200 apply.
make_bodies_load_config()
{
	local file=$1 body n=0 h url=${LOAD_URL:-$URL}
	local headers=${LOAD_HEADERS:-Content-Type: application/json}

	shift
	{
		for body in "$@"; do
			n=$((n + 1))
			printf 'url = "%s"\n' "$url"
			printf 'data-binary = "@%s"\n' "$body"
			while IFS= read -r h; do
				printf 'header = "%s"\n' "$h"
			done <<<"$headers"
			printf 'output = "%s.answer"\n' "$body"
			printf 'connect-timeout = 10\nmax-time = %d\n' \
			    "$CURL_MAX_TIME"
			printf 'write-out = "%s|%s\\n"\n' \
			    '%{http_code}|%{exitcode}|%header{x-request-id}|%header{retry-after}' \
			    "$body"
			(($# > n)) && printf 'next\n'
		done
	} >"$file"
}

# ---------------------------------------------------------------------------
# Authentication and TLS (t_auth_*, t_tls).  Secrets, keys and certificates
# are made at test time under $T; nothing is read from the shared vectors
# but the signed vector itself, in place.

# auth_config FILE AUTH [TLS [ADDRESS [SINKS]]]: write_config, then
# `auth = { AUTH };` and `tls = { TLS };` when not empty, listening on
# ADDRESS (default 127.0.0.1; "::1" for IPv6).
auth_config()
{
	local file=$1 auth=$2 tls=${3:-} address=${4:-127.0.0.1}

	write_config "$file" "${5:-}"
	if [[ $address != 127.0.0.1 ]]; then
		sed -i "s/address = \"127\\.0\\.0\\.1\";/address = \"$address\";/" \
		    "$file"
	fi
	if [[ -n $auth ]]; then
		printf 'auth = {\n%s\n};\n' "$auth" >>"$file"
	fi
	if [[ -n $tls ]]; then
		printf 'tls = {\n%s\n};\n' "$tls" >>"$file"
	fi
	return 0
}

# use_base SCHEME HOST: BASE and URL for the running daemon's port with
# another scheme or host ("https", "[::1]").
use_base()
{
	BASE=$1://$2:$PORT
	URL=$BASE/sinch/sms
}

# count_records [FILE]: lines in the record file (0 when it is missing).
count_records()
{
	local f=${1:-$REPORTS}

	[[ -f $f ]] || { echo 0; return 0; }
	grep -a -c . "$f"
}

# forget_last_ok: the last 200 was a duplicate (no line of its own): its id
# leaves $OK_IDS, so check_ids_match still applies.
forget_last_ok()
{
	[[ -s $OK_IDS ]] && sed -i '$d' "$OK_IDS"
	return 0
}

# refused CODE CHALLENGE-REGEX WHAT CURL-ARGS...: the request is answered
# CODE with a one-line body, a WWW-Authenticate header matching
# CHALLENGE-REGEX (none checked when it is "-") and an access line with
# that status.
refused()
{
	local code=$1 challenge=$2 what=$3

	shift 3
	if ! expect_status "$code" "$@"; then
		note "  ($what)"
		return 1
	fi
	if [[ $challenge != - ]]; then
		expect_header WWW-Authenticate "$challenge" "$what ($code)"
	fi
	expect_one_line_body "$what ($code)"
	if [[ -n $LAST_ID ]]; then
		expect_access_line "$LAST_ID" "$code"
	else
		expect_log "access: .*status=$code( |$)" "$what ($code)"
	fi
	return 0
}

# raw_status_line_to HOST REQUEST: raw_status_line for another address
# (bash's /dev/tcp accepts "::1").
raw_status_line_to()
{
	local fd line=""

	exec {fd}<>"/dev/tcp/$1/$PORT" || return 1
	printf '%b' "$2" >&"$fd"
	IFS= read -r -t 15 line <&"$fd"
	exec {fd}>&-
	printf '%s\n' "${line%$'\r'}"
}

# expect_early CODE HOST EXTRA-HEADERS WHAT: a POST announcing a 1000000
# byte body that never comes is answered CODE at once (decided from the
# headers, before the body is read).  EXTRA-HEADERS: "Name: value\r\n"...
expect_early()
{
	local line

	line=$(raw_status_line_to "$2" "POST /sinch/sms HTTP/1.1\r\nHost: e2e\r\nContent-Type: application/json\r\n$3Content-Length: 1000000\r\n\r\n")
	[[ $line =~ ^HTTP/1\.[01]\ $1 ]] ||
	    check_fail "$4: answer '$line' to headers announcing 1000000" \
		"bytes, expected $1 before the body is read"
}

# basic_header USER PASSWORD: an Authorization header value (the password
# may hold any byte but NUL, a newline included).
basic_header()
{
	printf 'Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w 0)"
}

# hmac_b64 KEY FILE: Base64(HMAC-SHA256(KEY, the bytes of FILE)).
hmac_b64()
{
	if command -v openssl >/dev/null 2>&1; then
		openssl dgst -sha256 -hmac "$1" -binary <"$2" | base64 -w 0
	else
		python3 -c 'import base64, hashlib, hmac, sys
with open(sys.argv[2], "rb") as f:
    msg = f.read()
mac = hmac.new(sys.argv[1].encode(), msg, hashlib.sha256).digest()
print(base64.b64encode(mac).decode(), end="")' "$1" "$2"
	fi
}

# sig_sign SECRET BODY-FILE NONCE TIMESTAMP: the Sinch signature,
# Base64(HMAC-SHA256(SECRET, body + "." + nonce + "." + timestamp)).
sig_sign()
{
	{ cat "$2"; printf '.%s.%s' "$3" "$4"; } >"$T/sig.msg"
	hmac_b64 "$1" "$T/sig.msg"
}

# sig_nonce: a nonce never used before (it runs in $(...), so no counter:
# nanoseconds and randomness).
sig_nonce()
{
	printf '01E2E%s%05d%05d' "$(date +%s%N)" "$RANDOM" "$RANDOM"
}

# sig_headers SIGNATURE NONCE TIMESTAMP [ALGORITHM]: prints the curl
# arguments (one a line) for the four headers; an empty value leaves its
# header out; ALGORITHM defaults to HmacSHA256 ("-" leaves it out).
sig_headers()
{
	local alg=${4:-HmacSHA256}

	[[ -n $1 ]] && printf -- '-H\nx-sinch-webhook-signature: %s\n' "$1"
	[[ -n $2 ]] && printf -- '-H\nx-sinch-webhook-signature-nonce: %s\n' "$2"
	[[ -n $3 ]] &&
	    printf -- '-H\nx-sinch-webhook-signature-timestamp: %s\n' "$3"
	[[ $alg != - ]] &&
	    printf -- '-H\nx-sinch-webhook-signature-algorithm: %s\n' "$alg"
	return 0
}

# check_no_secrets SECRET...: no secret occurs in anything the daemons
# wrote (stderr, stdout, *.jsonl record files) or in the -t outputs kept
# as $T/*.err and $T/*.out.
check_no_secrets()
{
	local s f

	for s in "$@"; do
		[[ -n $s ]] || continue
		for f in "$T"/daemon*.stderr "$T"/daemon*.stdout "$T"/*.jsonl \
		    "$T"/*.err "$T"/*.out; do
			[[ -f $f ]] || continue
			if grep -a -q -F -- "$s" "$f"; then
				check_fail "a secret (${s:0:3}..., ${#s} chars) is" \
				    "in $(basename "$f"): $(grep -a -m 1 -F -- "$s" "$f" |
				    head -c 200)"
			fi
		done
	done
}

# daemon_aside: the running daemon keeps running but is forgotten, so that
# start_daemon can start another one.  Sets ASIDE_PID, ASIDE_URL,
# ASIDE_BASE, ASIDE_STDERR; the exit trap stops it (with the loads).
# shellcheck disable=SC2034  # used by the scenarios
daemon_aside()
{
	ASIDE_PID=$DAEMON_PID
	ASIDE_URL=$URL
	ASIDE_BASE=$BASE
	ASIDE_STDERR=$DAEMON_STDERR
	LOAD_PIDS+=("$ASIDE_PID")
	DAEMON_PID=""
}

# stop_aside: SIGTERM to the daemon set aside; it exits 0 within a bound.
stop_aside()
{
	[[ -n ${ASIDE_PID:-} ]] || return 0
	kill -TERM "$ASIDE_PID" 2>/dev/null
	if ! wait_pid_exit "$ASIDE_PID" "$STOP_TIMEOUT"; then
		check_fail "the daemon set aside did not exit (killed)"
	elif ((WAIT_RC != 0)); then
		check_fail "the daemon set aside exited with status $WAIT_RC"
	fi
	ASIDE_PID=""
}

# Certificates -----------------------------------------------------------
#
# tls_ca DIR NAME and tls_cert DIR NAME CA server|client: ECDSA P-256 keys
# and certificates valid for two days, made with certtool (GnuTLS) or, when
# it is missing, openssl.  Files: DIR/NAME.key, DIR/NAME.pem.  A server
# certificate names localhost, 127.0.0.1 and ::1.

# Which tool makes certificates: certtool, openssl, or "" (none).
tls_tool()
{
	if command -v certtool >/dev/null 2>&1; then
		echo certtool
	elif command -v openssl >/dev/null 2>&1; then
		echo openssl
	fi
}

_e2e_certtool_key()
{
	certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
	    --no-text --outfile "$1" >/dev/null 2>&1
}

tls_ca()
{
	local dir=$1 name=$2

	mkdir -p "$dir"
	case $(tls_tool) in
	certtool)
		printf 'cn = "e2e %s"\nca\ncert_signing_key\ncrl_signing_key\nexpiration_days = 2\n' \
		    "$name" >"$dir/$name.tmpl"
		_e2e_certtool_key "$dir/$name.key" &&
		    certtool --generate-self-signed --no-text \
			--load-privkey "$dir/$name.key" \
			--template "$dir/$name.tmpl" \
			--outfile "$dir/$name.pem" >/dev/null 2>&1
		;;
	openssl)
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -days 2 -subj "/CN=e2e $name" \
		    -addext basicConstraints=critical,CA:TRUE \
		    -addext keyUsage=critical,keyCertSign,cRLSign \
		    -keyout "$dir/$name.key" -out "$dir/$name.pem" \
		    >/dev/null 2>&1
		;;
	*)
		return 1
		;;
	esac
	[[ -s $dir/$name.pem ]] || fail "tls_ca: unable to make CA $name"
}

tls_cert()
{
	local dir=$1 name=$2 ca=$3 kind=$4

	case $(tls_tool) in
	certtool)
		{
			printf 'cn = "%s"\nserial = %d\n' "$name" \
			    "$((RANDOM * 32768 + RANDOM + 1))"
			if [[ $kind == server ]]; then
				printf 'dns_name = "localhost"\nip_address = "127.0.0.1"\nip_address = "::1"\ntls_www_server\n'
			else
				printf 'tls_www_client\n'
			fi
			printf 'signing_key\nencryption_key\nexpiration_days = 2\n'
		} >"$dir/$name.tmpl"
		_e2e_certtool_key "$dir/$name.key" &&
		    certtool --generate-certificate --no-text \
			--load-privkey "$dir/$name.key" \
			--load-ca-certificate "$dir/$ca.pem" \
			--load-ca-privkey "$dir/$ca.key" \
			--template "$dir/$name.tmpl" \
			--outfile "$dir/$name.pem" >/dev/null 2>&1
		;;
	openssl)
		if [[ $kind == server ]]; then
			printf 'subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1\nextendedKeyUsage = serverAuth\n'
		else
			printf 'extendedKeyUsage = clientAuth\n'
		fi >"$dir/$name.ext"
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -subj "/CN=$name" -keyout "$dir/$name.key" \
		    -out "$dir/$name.csr" >/dev/null 2>&1 &&
		    openssl x509 -req -in "$dir/$name.csr" -days 2 \
			-CA "$dir/$ca.pem" -CAkey "$dir/$ca.key" \
			-CAcreateserial -extfile "$dir/$name.ext" \
			-out "$dir/$name.pem" >/dev/null 2>&1
		;;
	*)
		return 1
		;;
	esac
	[[ -s $dir/$name.pem ]] || fail "tls_cert: unable to make $name"
}

# cert_sha256 PEM-FILE: the SHA-256 of the certificate's DER bytes, as 64
# lowercase hex digits.
cert_sha256()
{
	sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' \
	    "$1" | sed '/-----/d' | base64 -d | sha256sum | cut -c 1-64
}

# b64_flip_at STRING POS: STRING with the character at POS replaced by
# the Base64 (or Base64url) digit that differs from it in the lowest bit
# only ('+' and '/', '-' and '_' swap); any other character becomes 'A'
# ('B' for an 'A').  Flipping the last digit of an unpadded or padded
# encoding touches its spare bits: a decoder that ignores them accepts
# the result.
b64_flip_at()
{
	local s=$1 i=$2 c=${1:$2:1} r p
	local a='ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

	case $c in
	+) r=/ ;;
	/) r=+ ;;
	-) r=_ ;;
	_) r=- ;;
	*)
		p=${a%%"$c"*}
		if [[ -z $c || $p == "$a" ]]; then
			r=A
			[[ $c == A ]] && r=B
		else
			r=${a:$((${#p} ^ 1)):1}
		fi
		;;
	esac
	printf '%s%s%s' "${s:0:i}" "$r" "${s:i+1}"
}

# start_daemon_tls [CONF [ARGS...]]: start_daemon for an HTTPS listener;
# sets BASE and URL to https://127.0.0.1:PORT.
start_daemon_tls()
{
	start_daemon "$@"
	use_base https 127.0.0.1
}

# check_one_access_line_each: in every daemon's stderr so far, no request
# id has more than one access line.
check_one_access_line_each()
{
	local f dups

	for f in "$T"/daemon*.stderr; do
		[[ -f $f ]] || continue
		dups=$(grep -a -o -E 'access: id=[^ ]+ ' "$f" | sort | uniq -d |
		    head -n 3 | tr '\n' ' ')
		[[ -z $dups ]] ||
		    check_fail "$(basename "$f"): more than one access line" \
			"for $dups"
	done
	return 0
}

# ---------------------------------------------------------------------------
# PostgreSQL (t_postgres*): a server of the test's own, started and stopped
# by tests/pg.sh in $T/pgN; the exit trap stops every one by its PID.

PG_SH=$SRCDIR/tests/pg.sh
PG_DIR=""
PG_N=0
PG_PORT=""
PG_CONNINFO=""
PG_PASSWORD_FILE=""
PG_PASSFILE=""

# pg_start [PORT]: a new server (fails the test when it cannot start).
# Sets PG_DIR, PG_PORT, PG_CONNINFO, PG_PASSWORD_FILE and PG_PASSFILE.
pg_start()
{
	# What DIR/env sets, kept local but for the PG_* copies.
	# shellcheck disable=SC2034
	local CONNINFO PASSWORD_FILE PGPORT PGPASSFILE PGHOST PGUSER \
	    PGDATABASE PG_BINDIR

	# As root the server runs as another user, which must reach $T/pgN.
	[[ $(id -u) -ne 0 ]] || chmod o+x "$T"
	PG_N=$((PG_N + 1))
	PG_DIR=$T/pg$PG_N
	PG_DIRS+=("$PG_DIR")
	"$PG_SH" start "$PG_DIR" ${1:+"$1"} >"$T/pg_start.out" 2>&1 ||
	    fail "tests/pg.sh start: $(tail -n 5 "$T/pg_start.out")"
	# shellcheck source=/dev/null
	. "$PG_DIR/env"
	PG_PORT=$PGPORT
	PG_CONNINFO=$CONNINFO
	PG_PASSWORD_FILE=$PASSWORD_FILE
	PG_PASSFILE=$PGPASSFILE
}

# pg_stop [fast|immediate]: stops the server (fast by default).
pg_stop()
{
	"$PG_SH" stop "$PG_DIR" "${1:-fast}" >"$T/pg_stop.out" 2>&1 ||
	    check_fail "tests/pg.sh stop: $(tail -n 5 "$T/pg_stop.out")"
}

# pg_restart: the same server again, on the same port.
pg_restart()
{
	"$PG_SH" restart "$PG_DIR" >"$T/pg_restart.out" 2>&1 ||
	    fail "tests/pg.sh restart: $(tail -n 5 "$T/pg_restart.out")"
}

# pg_psql SQL [PSQL-ARGS...]: runs SQL (unaligned, tuples only, quiet) as
# user sinch in database sinch; stops at the first error.  The SQL goes on
# standard input, so psql variables (-v name=value, :'name') apply.
pg_psql()
{
	local sql=$1

	shift
	PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=sinch PGDATABASE=sinch \
	    PGPASSFILE=$PG_PASSFILE PGCONNECT_TIMEOUT=10 \
	    timeout -k 5 60 psql -X -A -t -q -v ON_ERROR_STOP=1 "$@" <<<"$sql"
}

# pg_rows [TABLE [WHERE]]: the number of rows (of those matching WHERE).
pg_rows()
{
	pg_psql "SELECT count(*) FROM ${1:-sinch_reports} WHERE ${2:-true}"
}

# pg_rows_of_key HEX-DIGEST [TABLE]: the rows whose dedup_key is that
# SHA-256.
pg_rows_of_key()
{
	pg_rows "${2:-sinch_reports}" "dedup_key = '\\x$1'::bytea"
}

# pg_keys [TABLE]: every dedup_key in the table, as lowercase hex, sorted.
pg_keys()
{
	pg_psql "SELECT encode(dedup_key, 'hex') FROM ${1:-sinch_reports}
	    ORDER BY 1"
}

# pg_sink [TABLE [EXTRA-KEYS]]: a required postgres sink "db" on the
# running server (configuration text for write_config).
pg_sink()
{
	printf '  { name = "db"; kind = "postgres"; conninfo = "%s";\n' \
	    "$PG_CONNINFO"
	printf '    password_file = "%s"; table = "%s"; required = true; %s }' \
	    "$PG_PASSWORD_FILE" "${1:-sinch_reports}" "${2:-}"
}

# sha256_of FILE: the SHA-256 of the file's bytes, 64 hex digits.
sha256_of()
{
	sha256sum <"$1" | cut -c 1-64
}

# metric_sum NAME [LABEL=\"VALUE\"...]: the sum of the samples of NAME
# in $T/metrics.txt (see scrape) carrying every label given; 0 if none.
metric_sum()
{
	local name=$1

	shift
	awk -v name="$name" -v labels="$*" '
	    BEGIN { n = split(labels, want, " ") }
	    $1 ~ /^#/ { next }
	    {
		key = $1
		base = key; sub(/\{.*/, "", base)
		if (base != name) next
		for (i = 1; i <= n; i++)
			if (index(key, want[i]) == 0) next
		sum += $2
	    }
	    END { printf "%.17g\n", sum + 0 }' "$T/metrics.txt"
}

# scrape [BASE]: GET BASE/metrics (default $BASE) into $T/metrics.txt.
scrape()
{
	request "${1:-$BASE}/metrics"
	[[ $LAST_STATUS == 200 ]] ||
	    check_fail "GET /metrics: ${LAST_STATUS:-nothing}"
	cp "$T/last.body" "$T/metrics.txt"
}

# readyz_status [BASE]: the status code of GET BASE/readyz.
readyz_status()
{
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
	    "${1:-$BASE}/readyz"
}

_e2e_readyz_is()
{
	[[ $(readyz_status "$2") == "$1" ]]
}

# wait_readyz CODE SECONDS [BASE]: until /readyz answers CODE (bounded).
wait_readyz()
{
	wait_for "$2" _e2e_readyz_is "$1" "${3:-$BASE}"
}

# send_load URL TAG COUNT WORKERS LOG [ARGS...]: in the background, posts
# COUNT distinct bodies (tests/e2e/sender.py; ARGS: --rate R, --once,
# --sinch for Sinch's retry schedule, --seconds S instead of 150) until
# each is answered 200, logging every attempt to LOG as "epoch-seconds
# index status" (and Retry-After with --sinch); the PID is appended to
# LOAD_PIDS and set in LOAD_PID.  LOG.keys has "index sha256" for every
# body.
send_load()
{
	local url=$1 tag=$2 count=$3 workers=$4 log=$5

	shift 5
	timeout -k 5 170 python3 "$E2E_DIR/sender.py" --url "$url" \
	    --tag "$tag" --count "$count" --workers "$workers" --log "$log" \
	    --keys "$log.keys" --seconds 150 "$@" >"$log.out" 2>&1 &
	LOAD_PID=$!
	LOAD_PIDS+=("$LOAD_PID")
}

# pg_daemon_load TAG N RATE: a server, a daemon with a required postgres
# sink, ready, and a paced load of N distinct bodies from eight senders,
# logged to $LOG (LOAD_PID is the sender).
pg_daemon_load()
{
	pg_start
	write_config "$T/pg.conf" "$(pg_sink)"
	start_daemon "$T/pg.conf"
	wait_readyz 200 15 || fail "/readyz is not 200 with the server up"
	LOG=$T/load
	send_load "$URL" "$1" "$2" 8 "$LOG" --rate "$3"
}

# load_oks: how many answers 200 the load in $LOG has had so far.
load_oks()
{
	local n

	n=$(grep -c ' 200$' "$LOG" 2>/dev/null)
	echo "${n:-0}"
}

# load_oks_at_least N: the load in $LOG has had N answers 200 (for wait_for).
load_oks_at_least()
{
	(($(load_oks) >= $1))
}

# _e2e_pg_cleanup: every server the test started, stopped by its PID.
_e2e_pg_cleanup()
{
	local d

	for d in "${PG_DIRS[@]}"; do
		if [[ -f $d/pid ]]; then
			"$PG_SH" stop "$d" fast >/dev/null 2>&1 ||
			    "$PG_SH" stop "$d" immediate >/dev/null 2>&1 ||
			    echo "warning: unable to stop the server in $d"
		fi
		if [[ -n ${E2E_LOGDIR:-} && -d ${E2E_LOGDIR:-} ]]; then
			cp "$d/server.log" \
			    "$E2E_LOGDIR/$(basename "$d").server.log" \
			    2>/dev/null
		fi
	done
	return 0
}

# load_keys LOG [STATUS]: sorted SHA-256 of the bodies of a send_load that
# got STATUS at least once (every body when STATUS is not given).
load_keys()
{
	if [[ -z ${2:-} ]]; then
		cut -d ' ' -f 2 "$1.keys" | sort
		return 0
	fi
	awk -v st="$2" 'NR == FNR { if ($3 == st) got[$2] = 1; next }
	    ($1 in got) { print $2 }' "$1" "$1.keys" | sort
}

# first_statuses LOG: "count status" for the first attempt of each body.
first_statuses()
{
	awk '!seen[$2]++ { print $3 }' "$1" | sort | uniq -c |
	    awk '{ print $1 " " $2 }'
}

# load_statuses LOG: "count status" for every status of a send_load.
load_statuses()
{
	cut -d ' ' -f 3 "$1" | sort | uniq -c | awk '{ print $1 " " $2 }'
}

# pg_expect_keys WANT-FILE WHAT [TABLE]: every SHA-256 of WANT-FILE
# (sorted) is a dedup_key of the table (the table may hold more).
pg_expect_keys()
{
	local missing

	pg_keys "${3:-sinch_reports}" >"$T/keys.table" ||
	    { check_fail "$2: unable to read the table"; return 1; }
	missing=$(comm -23 "$1" "$T/keys.table" | wc -l)
	((missing == 0)) || check_fail "$2: $missing of $(wc -l <"$1")" \
	    "bodies are not in the table"
}
