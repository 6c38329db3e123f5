#!/usr/bin/env bash
#
# run.sh - the benchmark behind `make bench` (bench/README.md says what it
# measures and how).  Starts each configuration on 127.0.0.1 with a fresh
# process per run, drives it with wrk (bench/post.lua) at 1 and at 64
# connections, checks that the daemon's answers match what its sinks got,
# holds 1000 idle keep-alive connections against configuration (b), runs
# the decoder micro-benchmark, then prints one table and the targets
# (bench/report.py) and writes them as JSON under bench/results/.
# Configuration (h) stores into a PostgreSQL server of its own, started
# here with tests/pg.sh in the temporary folder.
#
# Everything it starts is stopped by PID (the PostgreSQL server by
# tests/pg.sh stop, which signals only the PID it recorded), also on INT
# and TERM, and every wait is bounded.  Exits 1 when a correctness check
# failed (after printing everything), 0 otherwise; a missed target is only
# reported.
#
# Environment: BENCH_BIN (the daemon, default ./sinch-webhookd),
# BENCH_DECODE (default bench/decode), BENCH_SNS_SIGN (tests/e2e/sns_sign.c
# built, for the SNS envelope of (g); default build/obj/tests/sns-sign),
# BENCH_SHARED (the shared folder with vectors/sinch and
# bench/nginx-readbody.conf, default ../shared), BENCH_PG_SH (the
# PostgreSQL harness, default tests/pg.sh), QUICK=1 (one 2 s run of each,
# for a smoke check).

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCDIR=$(cd "$BENCH_DIR/.." && pwd)
BIN=${BENCH_BIN:-$SRCDIR/sinch-webhookd}
DECODE=${BENCH_DECODE:-$BENCH_DIR/decode}
SNS_SIGN=${BENCH_SNS_SIGN:-$SRCDIR/build/obj/tests/sns-sign}
SHARED=${BENCH_SHARED:-$SRCDIR/../shared}
PG_SH=${BENCH_PG_SH:-$SRCDIR/tests/pg.sh}
UTIL=$BENCH_DIR/util.py
QUICK=${QUICK:-}

if [[ $QUICK == 1 ]]; then
	DURATION=2		# seconds per wrk run
	RUNS=1			# runs per configuration and connection count
	DECODE_SECS=0.2		# CPU seconds per decoder vector
else
	DURATION=10
	RUNS=3
	DECODE_SECS=1
fi
# BENCH_CONFIGS="e f i" measures only those.
read -r -a CONFIGS <<<"${BENCH_CONFIGS:-a b c d e f g h i}"
CONNS=(1 64)
IDLE_CONNS=1000
DLR_PATH=/dlr
SNS_PATH=/sns
SNS_HOST=sns.us-east-1.amazonaws.com
SNS_ARN=arn:aws:sns:us-east-1:123456789012:bench
START_TIMEOUT=15	# until a server accepts connections
STOP_TIMEOUT=30		# SIGTERM until exit (the daemon drains first)
SETTLE_TIMEOUT=10	# after wrk, until the daemon's counters stop moving
PG_TABLE=sinch_reports	# the postgres sink's default table
CLK_TCK=$(getconf CLK_TCK)
NPROC=$(nproc)

PIDS=()			# started and not yet stopped
PG_DIR=""		# the PostgreSQL server of (h), once started
FAILED=0		# correctness checks that failed
KEEP=0			# keep $T for a look after a failure
T=$(mktemp -d "${TMPDIR:-/tmp}/sinch-bench.XXXXXX")

# ---------------------------------------------------------------------------
# Processes.

say()
{
	printf 'bench: %s\n' "$*"
}

# shellcheck source-path=SCRIPTDIR source=../scripts/proc.sh
. "$SRCDIR/scripts/proc.sh"

not_running()
{
	! pid_running "$1"
}

# Sets IDLE: clock ticks that all CPUs spent idle (or waiting for I/O)
# since boot, from /proc/stat, without a fork.  Busy time is the wall
# time of all CPUs minus this: the kernel measures idle time exactly,
# while its user and system columns are sampled at each tick and, under
# a ping-pong load that sleeps between ticks, fall short by 15% or more.
cpu_idle()
{
	local idle iowait

	read -r _ _ _ _ idle iowait _ </proc/stat
	IDLE=$((idle + iowait))
}

# Sets CHILD_MS: CPU time (ms) of this shell's finished children, from
# the times builtin (no fork either).
children_cpu()
{
	local lines t='([0-9]+)m([0-9]+)\.([0-9]+)s' re

	re="^$t $t"
	times >"$T/times"
	mapfile -t lines <"$T/times"
	[[ ${lines[1]} =~ $re ]] || { CHILD_MS=0; return 0; }
	CHILD_MS=$(( (BASH_REMATCH[1] + BASH_REMATCH[4]) * 60000 +
	    (BASH_REMATCH[2] + BASH_REMATCH[5]) * 1000 +
	    10#${BASH_REMATCH[3]} + 10#${BASH_REMATCH[6]} ))
}

# Milliseconds since the epoch, from $EPOCHREALTIME (no fork).
now_ms()
{
	local t=${EPOCHREALTIME/[.,]/}

	NOW_MS=$((t / 1000))
}

forget_pid()
{
	local p keep=()

	for p in "${PIDS[@]}"; do
		[[ $p == "$1" ]] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
}

# stop_pid PID [SIGNAL]: signals a process this script started, waits for
# it (bounded, then SIGKILL) and sets STOP_RC to its exit status.
stop_pid()
{
	local pid=$1 sig=${2:-TERM}

	STOP_RC=0
	kill "-$sig" "$pid" 2>/dev/null || true
	if ! wait_for "$STOP_TIMEOUT" not_running "$pid"; then
		say "pid $pid did not exit within ${STOP_TIMEOUT}s of" \
		    "SIG$sig; killed"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || STOP_RC=$?
	forget_pid "$pid"
}

cleanup()
{
	local pid

	trap - EXIT INT TERM
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait_for 10 not_running "$pid" ||
		    kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	# After the daemons, whose connections it would otherwise wait for.
	pg_stop
	if ((KEEP)); then
		say "kept the run's files in $T"
	else
		rm -rf "$T"
	fi
}

trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM

# ---------------------------------------------------------------------------
# Inputs.

# Sets BODY (the callback wrk posts) and DECODE_FILES.
find_inputs()
{
	local vec=$SHARED/vectors/sinch fix=$SRCDIR/tests/data/e2e/valid

	if [[ -f $vec/recipient_delivery_report_sms_all_fields.json ]]; then
		BODY=$vec/recipient_delivery_report_sms_all_fields.json
		DECODE_FILES=("$vec"/*.json)
		VECTORS=../shared/vectors/sinch
	else
		say "$vec missing: using the fixtures in tests/data/e2e/valid"
		BODY=$fix/recipient_delivery_report_sms_all_fields.json
		DECODE_FILES=("$fix"/*.json)
		VECTORS=tests/data/e2e/valid
	fi
	NGINX_CONF=$SHARED/bench/nginx-readbody.conf
	if [[ ! -f $NGINX_CONF ]]; then
		say "$NGINX_CONF missing: skipping (a), no ratios to nginx"
		drop_config a
	fi
}

drop_config()
{
	local c keep=()

	for c in "${CONFIGS[@]}"; do
		[[ $c == "$1" ]] || keep+=("$c")
	done
	CONFIGS=("${keep[@]}")
}

# The envelope of (g), made once: BODY as the Message of an SNS
# Notification (SignatureVersion 2) signed by a key made here, whose
# certificate the daemon reads from sns.cert_dir (nothing is fetched, and
# after the first request it is cached).  Replayed like the signature of
# (d): the Timestamp stays within max_skew_s for the whole benchmark, and
# with dedup off every copy is delivered.
make_sns_envelope()
{
	local d=$T/sns name=SimpleNotificationService-bench.pem

	mkdir -p "$d/certs"
	if [[ ! -x $SNS_SIGN ]]; then
		say "$SNS_SIGN not built (make $SNS_SIGN): skipping (g)"
		drop_config g
		return 0
	fi
	if command -v certtool >/dev/null 2>&1; then
		printf 'cn = "sns.amazonaws.com"\nsigning_key\nexpiration_days = 2\n' \
		    >"$d/signer.tmpl"
		certtool --generate-privkey --key-type=rsa --bits=2048 \
		    --no-text --outfile "$d/signer.key" >/dev/null 2>&1 &&
		    certtool --generate-self-signed --no-text \
			--load-privkey "$d/signer.key" \
			--template "$d/signer.tmpl" \
			--outfile "$d/certs/$name" >/dev/null 2>&1
	else
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
		    -subj /CN=sns.amazonaws.com -keyout "$d/signer.key" \
		    -out "$d/certs/$name" >/dev/null 2>&1
	fi
	if [[ ! -s $d/certs/$name ]] || ! python3 \
	    "$SRCDIR/tests/e2e/sns_envelope.py" make "$SNS_SIGN" \
	    "$d/signer.key" Notification Message="@$BODY" \
	    TopicArn="$SNS_ARN" SigningCertURL="https://$SNS_HOST/$name" \
	    UnsubscribeURL="https://$SNS_HOST/?Action=Unsubscribe" \
	    >"$d/envelope.json" 2>"$d/envelope.err"; then
		say "unable to make the SNS envelope: skipping (g)" \
		    "$(tail -n 2 "$d/envelope.err" 2>/dev/null | tr '\n' ' ')"
		drop_config g
		return 0
	fi
	SNS_ENVELOPE=$d/envelope.json
	{
		printf 'Content-Type: text/plain; charset=UTF-8\n'
		printf 'x-amz-sns-message-type: Notification\n'
	} >"$T/sns.headers"
}

# The placeholder of (h): the batch_id's last 12 characters, which
# post.lua replaces with a value of its own in every request, so that each
# body is another row (the table's dedup_key is the body's SHA-256: the
# same bytes again are a retry, stored once) and keeps (c)'s length.
find_unique()
{
	if ! UNIQUE=$(python3 -c 'import json, re, sys
body = open(sys.argv[1], "rb").read()
tail = json.loads(body).get("batch_id", "")[-12:]
if not re.fullmatch(r"[0-9A-Z]{12}", tail) or body.count(tail.encode()) != 1:
    sys.exit(1)
print(tail)' "$BODY"); then
		say "no batch_id ending in 12 of [0-9A-Z], once, in $BODY:" \
		    "skipping (h)"
		drop_config h
	fi
}

# The PostgreSQL server of (h), one for all its runs, in $T/pg: Debian's
# server with its default settings (fsync and synchronous_commit on),
# listening on 127.0.0.1.  Sets PG_DIR (for pg_stop) and PG_* from its
# env file, or drops (h).
pg_start()
{
	# What DIR/env sets, kept local but for the PG_* copies.
	# shellcheck disable=SC2034
	local CONNINFO PASSWORD_FILE PGHOST PGPORT PGUSER PGDATABASE \
	    PGPASSFILE PG_BINDIR

	if [[ ! -x $PG_SH ]]; then
		say "$PG_SH missing: skipping (h)"
		drop_config h
		return 0
	fi
	# As root the server runs as user postgres, which must reach $T/pg.
	[[ $(id -u) -ne 0 ]] || chmod o+x "$T"
	PG_DIR=$T/pg
	if ! timeout -k 5 120 "$PG_SH" start "$PG_DIR" >"$T/pg_start.out" 2>&1
	then
		say "unable to start PostgreSQL: skipping (h):" \
		    "$(tail -n 3 "$T/pg_start.out" | tr '\n' ' ')"
		# Whatever it left running.
		pg_stop
		drop_config h
		return 0
	fi
	# shellcheck source=/dev/null
	. "$PG_DIR/env"
	PG_CONNINFO=$CONNINFO
	PG_PASSWORD_FILE=$PASSWORD_FILE
	PG_PORT=$PGPORT
	PG_PASSFILE=$PGPASSFILE
	PG_PSQL=$PG_BINDIR/psql
	PG_PID=$(cat "$PG_DIR/pid")
	PG_VERSION=$("$PG_BINDIR/postgres" -V | awk '{ print $3 }')
}

# pg_stop: stops the server of (h), by the PID tests/pg.sh recorded (fast,
# else immediate).
pg_stop()
{
	[[ -n $PG_DIR && -f $PG_DIR/pid ]] || return 0
	timeout -k 5 90 "$PG_SH" stop "$PG_DIR" fast >>"$T/pg_stop.out" 2>&1 ||
	    timeout -k 5 90 "$PG_SH" stop "$PG_DIR" immediate \
	    >>"$T/pg_stop.out" 2>&1 ||
	    say "unable to stop PostgreSQL (pid $(cat "$PG_DIR/pid")):" \
		"$(tail -n 2 "$T/pg_stop.out" | tr '\n' ' ')"
}

# pg_psql SQL: runs SQL as user sinch in database sinch and prints the
# result unaligned, without headers.
pg_psql()
{
	PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=sinch PGDATABASE=sinch \
	    PGPASSFILE=$PG_PASSFILE PGCONNECT_TIMEOUT=10 \
	    timeout -k 5 60 "$PG_PSQL" -X -A -t -q -v ON_ERROR_STOP=1 \
	    -c "$1"
}

# The signature headers of (d), computed once: the daemon does not refuse
# a replayed signature (a replay is a retry), so one set serves every
# request.  max_skew_s is wide enough for the whole benchmark.
make_signature()
{
	local ts nonce sig

	printf 'bench-signature-secret-%s' "$RANDOM$RANDOM" >"$T/secret"
	ts=$(date +%s)
	nonce=01BENCH$RANDOM$RANDOM
	sig=$(python3 "$UTIL" sign "$T/secret" "$BODY" "$nonce" "$ts")
	{
		printf 'x-sinch-webhook-signature: %s\n' "$sig"
		printf 'x-sinch-webhook-signature-nonce: %s\n' "$nonce"
		printf 'x-sinch-webhook-signature-timestamp: %s\n' "$ts"
		printf 'x-sinch-webhook-signature-algorithm: HmacSHA256\n'
	} >"$T/sig.headers"
}

# ---------------------------------------------------------------------------
# Servers.  start_CONFIG DIR sets SERVER_PID (the one to stop),
# SERVER_PIDS (whose CPU and memory count), PORT and URL, or returns 1.

# daemon_conf CONFIG DIR: the daemon's configuration for (b)..(e), (g),
# (h) and (i).
daemon_conf()
{
	local cfg=$1 dir=$2 sinks auth="" sns=""

	case $cfg in
	h)
		# Every key but the required ones at its default.
		sinks="{ name = \"db\"; kind = \"postgres\";
    conninfo = \"$PG_CONNINFO\";
    password_file = \"$PG_PASSWORD_FILE\"; required = true; }"
		;;
	b | c | d | g)
		local fsync=true
		[[ $cfg == b || $cfg == g ]] && fsync=false
		sinks="{ name = \"log\"; kind = \"file\";
    path = \"$dir/reports.jsonl\"; fsync = $fsync; required = true; }"
		;;
	e)
		sinks='{ name = "hook"; kind = "exec";
    command = [ "/bin/true" ]; max_concurrent = 8; required = true; }'
		;;
	i)
		sinks="{ name = \"hook\"; kind = \"exec\"; protocol = \"lines\";
    command = [ \"$(command -v python3)\", \"$BENCH_DIR/answer.py\" ];
    max_concurrent = 2; required = true; }"
		;;
	esac
	[[ $cfg == d ]] &&
	    auth="auth = { signature = { secret_files = [ \"$T/secret\" ];
    max_skew_s = 86400; }; };"
	[[ $cfg == g ]] &&
	    sns="sns = { path = \"$SNS_PATH\"; topics = [ \"$SNS_ARN\" ];
    cert_dir = \"$T/sns/certs\"; max_skew_s = 86400; };"
	cat <<EOF
# (dedup off: wrk posts the same bytes every time, and a retry of a
# callback that every sink already took is answered without writing.
# Every load comes from 127.0.0.1: no per-address limit.)
listen = { address = "127.0.0.1"; port = 0; path = "$DLR_PATH"; };
limits = { max_connections = 4096; max_connections_per_address = 0;
    shutdown_timeout_s = 5; };
dedup = { entries = 0; };
log = { level = "warn"; };
$auth
$sns
sinks = (
  $sinks
);
EOF
}

daemon_listening_or_dead()
{
	PORT=$(python3 "$UTIL" listenport "$SERVER_PID" 2>/dev/null) &&
	    return 0
	! pid_running "$SERVER_PID"
}

start_daemon()
{
	local cfg=$1 dir=$2

	daemon_conf "$cfg" "$dir" >"$dir/webhookd.conf"
	"$BIN" -c "$dir/webhookd.conf" >"$dir/stdout" 2>"$dir/stderr" &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	PORT=""
	wait_for "$START_TIMEOUT" daemon_listening_or_dead || true
	if [[ -z $PORT ]]; then
		say "the daemon did not listen: $(tail -n 3 "$dir/stderr")"
		stop_pid "$SERVER_PID" KILL
		return 1
	fi
	SERVER_PIDS=("$SERVER_PID")
	URL=http://127.0.0.1:$PORT$DLR_PATH
	[[ $cfg == g ]] && URL=http://127.0.0.1:$PORT$SNS_PATH
	return 0
}

start_b() { start_daemon b "$@"; }
start_c() { start_daemon c "$@"; }
start_d() { start_daemon d "$@"; }
start_e() { start_daemon e "$@"; }
start_g() { start_daemon g "$@"; }

daemon_ready()
{
	python3 "$UTIL" ready "$PORT"
}

# start_ready CONFIG DIR: start_daemon, then until /readyz answers 200.
start_ready()
{
	start_daemon "$@" || return 1
	if ! wait_for "$START_TIMEOUT" daemon_ready; then
		say "the daemon was not ready (/readyz) within" \
		    "${START_TIMEOUT}s: $(tail -n 3 "$2/stderr")"
		stop_pid "$SERVER_PID"
		return 1
	fi
}

# (i): the helpers are the daemon's children for as long as it runs, so
# their CPU time counts with the daemon's (SERVER_PIDS).
start_i()
{
	start_ready i "$@" || return 1
	mapfile -t SERVER_PIDS < <(ps --ppid "$SERVER_PID" -o pid= |
	    tr -d ' ')
	SERVER_PIDS=("$SERVER_PID" "${SERVER_PIDS[@]}")
}

# (h): an empty table for every run, as every sink file starts empty (the
# daemon creates it), and the daemon's connections up before wrk starts.
start_h()
{
	if ! pg_psql "DROP TABLE IF EXISTS $PG_TABLE" >"$1/psql.out" 2>&1
	then
		say "unable to drop $PG_TABLE: $(tail -n 2 "$1/psql.out")"
		return 1
	fi
	start_ready h "$@"
}

port_open()
{
	python3 "$UTIL" connects "$1"
}

# up_or_dead PID PORT: the server accepts, or has exited.
up_or_dead()
{
	port_open "$2" || ! pid_running "$1"
}

# start_port_server DIR CMD...: starts CMD (with "@PORT@" in an argument
# replaced by a free port) until it accepts connections; a port taken
# between the check and the start is tried again, up to three times.
start_port_server()
{
	local dir=$1 try a args

	shift
	for try in 1 2 3; do
		PORT=$(python3 "$UTIL" freeport)
		args=()
		for a in "$@"; do
			args+=("${a//@PORT@/$PORT}")
		done
		"${args[@]}" >"$dir/stdout" 2>"$dir/stderr" &
		SERVER_PID=$!
		PIDS+=("$SERVER_PID")
		wait_for "$START_TIMEOUT" up_or_dead "$SERVER_PID" "$PORT" ||
		    true
		if pid_running "$SERVER_PID" && port_open "$PORT"; then
			URL=http://127.0.0.1:$PORT$DLR_PATH
			return 0
		fi
		stop_pid "$SERVER_PID" KILL
		say "$1 did not start (try $try):" \
		    "$(tail -n 2 "$dir/stderr" | tr '\n' ' ')"
	done
	return 1
}

nginx_workers_up()
{
	(($(ps --ppid "$SERVER_PID" -o pid= | wc -l) >= $1))
}

start_a()
{
	local dir=$1 n port_conf

	# The configuration's own header says it: replace PORT.
	sed 's/127\.0\.0\.1:PORT/127.0.0.1:@PORT@/' "$NGINX_CONF" \
	    >"$dir/nginx.conf.in"
	grep -q '@PORT@' "$dir/nginx.conf.in" || {
		say "no 'listen 127.0.0.1:PORT' in $NGINX_CONF"
		return 1
	}
	for try in 1 2 3; do
		PORT=$(python3 "$UTIL" freeport)
		port_conf=$dir/nginx.conf
		sed "s/@PORT@/$PORT/" "$dir/nginx.conf.in" >"$port_conf"
		nginx -p "$dir" -c "$port_conf" -e "$dir/error.log" \
		    >"$dir/stdout" 2>"$dir/stderr" &
		SERVER_PID=$!
		PIDS+=("$SERVER_PID")
		wait_for "$START_TIMEOUT" up_or_dead "$SERVER_PID" "$PORT" ||
		    true
		if pid_running "$SERVER_PID" && port_open "$PORT"; then
			break
		fi
		stop_pid "$SERVER_PID" KILL
		say "nginx did not start (try $try):" \
		    "$(tail -n 2 "$dir/error.log" "$dir/stderr" 2>/dev/null |
		    tr '\n' ' ')"
		[[ $try == 3 ]] && return 1
	done
	n=$(awk '$1 == "worker_processes" { sub(/;.*/, "", $2); print $2 }' \
	    "$port_conf")
	[[ $n =~ ^[0-9]+$ ]] || n=$(nproc)	# "auto" or not given
	wait_for "$START_TIMEOUT" nginx_workers_up "$n" ||
	    say "nginx: fewer than $n workers"
	# Master and workers; the workers' CPU is not yet in the master's
	# cutime while they live, so nothing counts twice.
	mapfile -t SERVER_PIDS < <(ps --ppid "$SERVER_PID" -o pid= |
	    tr -d ' ')
	SERVER_PIDS=("$SERVER_PID" "${SERVER_PIDS[@]}")
	URL=http://127.0.0.1:$PORT$DLR_PATH
}

start_f()
{
	local dir=$1

	# Waits for /bin/true and answers with its (empty) output.
	cat >"$dir/hooks.json" <<EOF
[
  {
    "id": "dlr",
    "execute-command": "/bin/true",
    "command-working-directory": "$dir",
    "include-command-output-in-response": true,
    "http-methods": ["POST"]
  }
]
EOF
	start_port_server "$dir" webhook -ip 127.0.0.1 -port @PORT@ \
	    -hooks "$dir/hooks.json" || return 1
	SERVER_PIDS=("$SERVER_PID")
	URL=http://127.0.0.1:$PORT/hooks/dlr
}

# ---------------------------------------------------------------------------
# Measurements.

is_daemon()
{
	[[ $1 == [bcdeghi] ]]
}

# Sets M_2XX, M_OTHER, M_DELIV and M_CODES from the daemon's /metrics.
read_metrics()
{
	local sink=log

	[[ $1 == [ei] ]] && sink=hook
	[[ $1 == h ]] && sink=db
	read -r M_2XX M_OTHER M_DELIV M_CODES < <(python3 "$UTIL" metrics \
	    "$PORT" /metrics "$sink")
}

# After wrk: requests still being answered when it stopped finish first.
metrics_settled()
{
	local prev="$M_2XX $M_OTHER $M_DELIV"

	sleep 0.2
	read_metrics "$1"
	[[ $prev == "$M_2XX $M_OTHER $M_DELIV" ]]
}

# run_wrk CONNS URL HEADERS-FILE OUT [BODY-FILE [UNIQUE]]: one bounded
# wrk run (posting BODY by default; UNIQUE: see post.lua); sets WRK_LINE,
# and over the run: IDLE_TICKS (of all CPUs), WRK_MS (wrk's own CPU time)
# and WALL_MS.  The busy time of all CPUs that is left after the server's
# and wrk's CPU time is other work, which skews the figures.
run_wrk()
{
	local conns=$1 threads=1 pid rc=0 b0 w0 c0

	((conns > 1)) && threads=2
	now_ms
	w0=$NOW_MS
	children_cpu
	c0=$CHILD_MS
	cpu_idle
	b0=$IDLE
	BENCH_BODY=${5:-$BODY} BENCH_HEADERS=$3 BENCH_UNIQUE=${6:-} \
	    timeout -k 5 $((DURATION + 30)) wrk -t"$threads" -c"$conns" \
	    -d"${DURATION}s" --timeout 5s -s "$BENCH_DIR/post.lua" "$2" \
	    >"$4" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	wait "$pid" || rc=$?
	cpu_idle
	IDLE_TICKS=$((IDLE - b0))
	children_cpu
	WRK_MS=$((CHILD_MS - c0))
	now_ms
	WALL_MS=$((NOW_MS - w0))
	forget_pid "$pid"
	WRK_LINE=$(grep -a -m1 '^BENCH {' "$4" || true)
	if ((rc != 0)) || [[ -z $WRK_LINE ]]; then
		say "wrk failed (status $rc): $(tail -n 3 "$4" | tr '\n' ' ')"
		return 1
	fi
}

# check_run CONFIG CONNS WHAT: the correctness checks of one run; sets
# CHECK (ok, FAIL or -) and CHECK_MSG.
check_run()
{
	local cfg=$1 conns=$2 what=$3 w2xx lines range rows

	CHECK=-
	CHECK_MSG=""
	is_daemon "$cfg" || return 0
	w2xx=$((W_REQUESTS - W_NON2XX))
	range="$w2xx..$((w2xx + conns))"
	CHECK=ok
	case $cfg in
	b | c | d | g)
		lines=0
		[[ -f $RUN_DIR/reports.jsonl ]] &&
		    lines=$(wc -l <"$RUN_DIR/reports.jsonl")
		LINES=$lines
		if ((lines != M_2XX)); then
			CHECK_MSG="$what: $lines lines in the sink file,"
			CHECK_MSG+=" but the daemon counted $M_2XX 2xx answers"
		elif ((lines < w2xx || lines > w2xx + conns)); then
			CHECK_MSG="$what: $lines lines in the sink file, wrk"
			CHECK_MSG+=" saw $w2xx 2xx (expected $range)"
		fi
		;;
	h)
		# As for the file sinks, plus: nothing but 2xx (every body is
		# new, and the pool keeps up or answers 429), and no report
		# already in the table (the bodies are distinct).
		rows=$(pg_psql "SELECT count(*) FROM $PG_TABLE" 2>&1) ||
		    rows="psql failed: $(tail -n 1 <<<"$rows")"
		ROWS=$rows
		if [[ ! $rows =~ ^[0-9]+$ ]]; then
			CHECK_MSG="$what: unable to count the rows: $rows"
		elif ((rows != M_2XX)); then
			CHECK_MSG="$what: $rows rows in $PG_TABLE,"
			CHECK_MSG+=" but the daemon counted $M_2XX 2xx answers"
		elif ((rows < w2xx || rows > w2xx + conns)); then
			CHECK_MSG="$what: $rows rows in $PG_TABLE, wrk"
			CHECK_MSG+=" saw $w2xx 2xx (expected $range)"
		elif ((W_NON2XX != 0 || M_OTHER != 0)); then
			CHECK_MSG="$what: $W_NON2XX answers not 2xx (wrk),"
			CHECK_MSG+=" $M_OTHER (the daemon: $M_CODES)"
		elif [[ $PG_DUP != 0 || $PG_INS != "$rows" ]]; then
			CHECK_MSG="$what: the daemon inserted $PG_INS rows"
			CHECK_MSG+=" and found $PG_DUP already there; the"
			CHECK_MSG+=" table holds $rows"
		fi
		;;
	e | i)
		if ((M_DELIV != M_2XX)); then
			CHECK_MSG="$what: $M_DELIV hook runs taken"
			CHECK_MSG+=" (sink_deliveries_total ok),"
			CHECK_MSG+=" but $M_2XX 2xx answers"
		elif ((M_2XX < w2xx || M_2XX > w2xx + conns)); then
			CHECK_MSG="$what: the daemon counted $M_2XX 2xx"
			CHECK_MSG+=" answers, wrk saw $w2xx (expected $range)"
		fi
		;;
	esac
	if [[ -n $CHECK_MSG ]]; then
		CHECK=FAIL
		FAILED=$((FAILED + 1))
		KEEP=1
		say "CHECK FAILED: $CHECK_MSG"
	fi
}

# idle_test: 1000 idle keep-alive connections to the running daemon.
idle_test()
{
	local pid rss0 rss hwm open=0 ok=0 bad=0 check=ok

	read -r rss0 _ < <(python3 "$UTIL" mem "${SERVER_PIDS[@]}")
	python3 "$BENCH_DIR/idle.py" "$PORT" "$DLR_PATH" "$BODY" \
	    "$IDLE_CONNS" 120 >"$RUN_DIR/idle.out" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	if wait_for 60 grep -q '^ready' "$RUN_DIR/idle.out"; then
		read -r _ open ok bad <"$RUN_DIR/idle.out"
		# Let the daemon settle on the connections it now holds.
		sleep 1
	else
		say "idle.py did not get ready:" \
		    "$(tail -n 2 "$RUN_DIR/idle.out")"
	fi
	read -r rss hwm < <(python3 "$UTIL" mem "${SERVER_PIDS[@]}")
	pid_running "$SERVER_PID" || check=FAIL
	stop_pid "$pid"
	if [[ $check == FAIL ]] || ((open != IDLE_CONNS)) ||
	    ((ok != IDLE_CONNS)); then
		check=FAIL
		FAILED=$((FAILED + 1))
		KEEP=1
		say "CHECK FAILED: idle test: $open of $IDLE_CONNS" \
		    "connections open, $ok answered 2xx, $bad failed"
	fi
	say "(b) + $IDLE_CONNS idle keep-alive: $open open, VmRSS" \
	    "$((rss / 1024)) MiB (before: $((rss0 / 1024)) MiB), VmHWM" \
	    "$((hwm / 1024)) MiB"
	python3 - "$T/idle.json" <<EOF
import json, sys
json.dump({"config": "b", "connections": $IDLE_CONNS, "open": $open,
           "ok": $ok, "failed": $bad, "rss_mib": round($rss / 1024, 1),
           "hwm_mib": round($hwm / 1024, 1),
           "rss_before_mib": round($rss0 / 1024, 1), "check": "$check",
           "check_msg": "idle test: $open of $IDLE_CONNS open, $ok 2xx"},
          open(sys.argv[1], "w"))
EOF
}

# one_run CONFIG CONNS N: a fresh server, one wrk run, the checks, one
# line of runs.jsonl.
one_run()
{
	local cfg=$1 conns=$2 n=$3 what t0 t1 c0 c1 rss hwm headers=""
	local out body=$BODY unique="" p0=0 p1=0 dhwm

	what="($cfg) c=$conns run $n/$RUNS"
	RUN_DIR=$T/$cfg-c$conns-r$n
	mkdir -p "$RUN_DIR"
	[[ $cfg == d ]] && headers=$T/sig.headers
	if [[ $cfg == g ]]; then
		headers=$T/sns.headers
		body=$SNS_ENVELOPE
	fi
	[[ $cfg == h ]] && unique=$UNIQUE
	if ! "start_$cfg" "$RUN_DIR"; then
		fail_run "$cfg" "$conns" "$n" "$what: the server did not start"
		return 0
	fi
	read -r t0 c0 < <(python3 "$UTIL" ticks "${SERVER_PIDS[@]}")
	[[ $cfg == h ]] && read -r p0 < <(python3 "$UTIL" treeticks "$PG_PID")
	if ! run_wrk "$conns" "$URL" "$headers" "$RUN_DIR/wrk.out" "$body" \
	    "$unique"
	then
		stop_pid "$SERVER_PID"
		fail_run "$cfg" "$conns" "$n" "$what: wrk failed"
		return 0
	fi
	read -r t1 c1 < <(python3 "$UTIL" ticks "${SERVER_PIDS[@]}")
	[[ $cfg == h ]] && read -r p1 < <(python3 "$UTIL" treeticks "$PG_PID")
	read -r W_REQUESTS W_NON2XX < <(python3 -c 'import json, sys
r = json.loads(sys.argv[1][6:])
print(r["requests"], r["non2xx"])' "$WRK_LINE")
	M_2XX=0 M_OTHER=0 M_DELIV=0 M_CODES="" LINES="" ROWS=""
	PG_INS="" PG_DUP="" PG_BATCHES="" PG_COMMIT_S="" QW_P50="" QW_P99=""
	if is_daemon "$cfg"; then
		if ! read_metrics "$cfg"; then
			stop_server "$cfg" "$conns" "$n" "$what"
			fail_run "$cfg" "$conns" "$n" \
			    "$what: no answer from /metrics after the run"
			return 0
		fi
		wait_for "$SETTLE_TIMEOUT" metrics_settled "$cfg" ||
		    say "$what: the daemon's counters still moving"
	fi
	if [[ $cfg == h ]]; then
		read -r PG_INS PG_DUP PG_BATCHES PG_COMMIT_S < <(python3 \
		    "$UTIL" pgmetrics "$PORT" /metrics db) ||
		    PG_INS=-1 PG_DUP=-1
	fi
	if [[ $cfg == [ei] ]]; then
		read -r QW_P50 QW_P99 < <(python3 "$UTIL" queuewait "$PORT" \
		    /metrics hook) || QW_P50=-1 QW_P99=-1
	fi
	read -r rss hwm < <(python3 "$UTIL" mem "${SERVER_PIDS[@]}")
	# The daemon's own, without (i)'s helpers.
	read -r _ dhwm < <(python3 "$UTIL" mem "$SERVER_PID")
	check_run "$cfg" "$conns" "$what"
	out=$(python3 "$UTIL" record "$WRK_LINE" config="$cfg" \
	    conns="$conns" run="$n" cpu_ticks=$((t1 - t0)) \
	    cpu_child_ticks=$((c1 - c0)) clk_tck="$CLK_TCK" \
	    rss_kib="$rss" hwm_kib="$hwm" daemon_hwm_kib="$dhwm" \
	    lines="$LINES" metrics_2xx="$M_2XX" \
	    metrics_other="$M_OTHER" metrics_codes="$M_CODES" \
	    deliveries_ok="$M_DELIV" check="$CHECK" rows="$ROWS" \
	    pg_inserted="$PG_INS" pg_duplicate="$PG_DUP" \
	    pg_batches="$PG_BATCHES" pg_commit_s="$PG_COMMIT_S" \
	    qwait_p50_ms="$QW_P50" qwait_p99_ms="$QW_P99" \
	    cpu_pg_ticks=$((p1 - p0)) \
	    check_msg="$CHECK_MSG" idle_ticks="$IDLE_TICKS" wrk_ms="$WRK_MS" \
	    wall_ms="$WALL_MS" nproc="$NPROC")
	printf '%s\n' "$out" >>"$T/runs.jsonl"
	python3 -c 'import json, sys
r = json.loads(sys.argv[1])
cpu = r["cpu_ticks"] * 1e6 / r["clk_tck"] / max(r["requests"], 1)
all_ms = r["nproc"] * r["wall_ms"]
other = 100 * (all_ms - (r["idle_ticks"] + r["cpu_ticks"] +
    r["cpu_pg_ticks"]) * 1000 / r["clk_tck"] - r["wrk_ms"]) / all_ms
pg = r["cpu_pg_ticks"] * 1e6 / r["clk_tck"] / max(r["requests"], 1)
pg = "  PostgreSQL %.1f us CPU/req" % pg if r["config"] == "h" else ""
codes = r.get("metrics_codes")
codes = " (%s)" % codes if codes not in (None, "", "-") else ""
print("bench: %-22s %8.0f req/s  p50 %7.3f ms  p99 %7.3f ms  %6.1f us CPU/req"
      "%s  VmHWM %5.1f MiB  non-2xx %d%s  sock err %d  other CPU %d%%"
      "  check %s" % (
      sys.argv[2], r["rps"], r["p50_us"] / 1e3, r["p99_us"] / 1e3, cpu,
      pg, r["hwm_kib"] / 1024, r["non2xx"], codes,
      r["connect"] + r["read"] + r["write"] + r["timeout"], round(other),
      r["check"]))' \
	    "$out" "$what"
	if [[ $cfg == b && $conns == "${CONNS[-1]}" && $n == "$RUNS" ]]; then
		idle_test
	fi
	stop_server "$cfg" "$conns" "$n" "$what"
	# The sink file can be hundreds of MiB: gone once counted.
	rm -f "$RUN_DIR/reports.jsonl"
}

fail_run()
{
	FAILED=$((FAILED + 1))
	KEEP=1
	say "CHECK FAILED: $4"
	python3 "$UTIL" record "" config="$1" conns="$2" run="$3" \
	    check=FAIL check_msg="$4" >>"$T/runs.jsonl"
}

# stop_server CONFIG CONNS N WHAT: SIGTERM (nginx: SIGQUIT, its graceful
# stop).
# The daemon must exit 0 (anything else is a failed check), and says
# nothing at level warn unless something went wrong, which is shown.
stop_server()
{
	local sig=TERM how="after SIGTERM"

	[[ $1 == a ]] && sig=QUIT
	pid_running "$SERVER_PID" || how="before it was stopped"
	stop_pid "$SERVER_PID" "$sig"
	((STOP_RC > 128)) && how+=" (signal $((STOP_RC - 128)))"
	if is_daemon "$1"; then
		((STOP_RC == 0)) || fail_run "$1" "$2" "$3" \
		    "$4: the daemon exited with status $STOP_RC $how"
		if [[ -s $RUN_DIR/stderr ]]; then
			say "$4: the daemon logged:"
			head -n 5 "$RUN_DIR/stderr" | sed 's/^/    /'
		fi
	fi
}

# ---------------------------------------------------------------------------
# The rest.

run_decode()
{
	say "decoder: bench/decode -j -s $DECODE_SECS over $VECTORS/*.json"
	if ! "$DECODE" -j -s "$DECODE_SECS" "${DECODE_FILES[@]}" \
	    >"$T/decode.json" 2>"$T/decode.err"; then
		say "decoder: bench/decode failed: $(tail -n 3 "$T/decode.err")"
		FAILED=$((FAILED + 1))
	fi
}

version_of()
{
	case $1 in
	nginx) nginx -v 2>&1 | sed 's/^nginx version: //' ;;
	wrk) wrk -v 2>&1 | head -n 1 | awk '{ print $2 }' ;;
	webhook) webhook -version 2>&1 | awk '{ print $NF }' ;;
	esac
}

write_meta()
{
	python3 "$UTIL" machine \
	    when="$STARTED" \
	    nginx="$(version_of nginx)" wrk="$(version_of wrk)" \
	    webhook="$(version_of webhook)" postgresql="${PG_VERSION:-}" \
	    daemon="$("$BIN" -V 2>&1)" \
	    git="$(git -C "$SRCDIR" describe --always --dirty 2>/dev/null ||
		echo unknown)" \
	    body="$VECTORS/$(basename "$BODY")" \
	    cpu_busy_before_pct="$BUSY_BEFORE" \
	    quick="${QUICK:-0}" duration_s="$DURATION" runs="$RUNS" \
	    connections="${CONNS[*]}" >"$T/meta.tmp"
	# Numbers where they are numbers.
	python3 - "$T/meta.tmp" "$T/meta.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
m["quick"] = m["quick"] == "1"
for k in ("duration_s", "runs"):
    m[k] = int(m[k])
m["cpu_busy_before_pct"] = int(m["cpu_busy_before_pct"])
m["connections"] = [int(c) for c in m["connections"].split()]
json.dump(m, open(sys.argv[2], "w"))
EOF
}

main()
{
	local cfg conns n name out rc=0 started_s=$SECONDS

	[[ -x $BIN ]] || { say "$BIN: not built (make)"; exit 1; }
	[[ -x $DECODE ]] || { say "$DECODE: not built (make)"; exit 1; }
	# 1000 idle connections and then some, in the daemon and in idle.py.
	(($(ulimit -n) >= 4096)) || ulimit -n 4096 2>/dev/null ||
	    say "ulimit -n is $(ulimit -n): the idle test may fail"
	STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	name=$(date -u -d "$STARTED" +%Y%m%dT%H%M%SZ)-$(uname -n |
	    tr -c 'A-Za-z0-9.\n-' _).json
	# wrk and the servers share the cores: other work skews the figures.
	cpu_idle
	BUSY_BEFORE=$IDLE
	sleep 1
	cpu_idle
	BUSY_BEFORE=$((100 - (IDLE - BUSY_BEFORE) * 100 / CLK_TCK / NPROC))
	((BUSY_BEFORE >= 0)) || BUSY_BEFORE=0
	((BUSY_BEFORE < 10)) ||
	    say "the CPUs were ${BUSY_BEFORE}% busy before the start: other" \
		"work on this machine will show in the figures"
	find_inputs
	make_signature
	make_sns_envelope
	find_unique
	[[ " ${CONFIGS[*]} " != *" h "* ]] || pg_start
	say "$(nproc) CPUs; ${#CONFIGS[@]} configurations x ${CONNS[*]}" \
	    "connections x $RUNS run(s) of ${DURATION}s; body" \
	    "$VECTORS/$(basename "$BODY"); files in $T"
	: >"$T/runs.jsonl"
	# Round after round of every configuration, not one configuration's
	# runs in a row: a slow minute of the machine then touches every
	# configuration a little, not one a lot, and the ratios stay fair.
	for ((n = 1; n <= RUNS; n++)); do
		for cfg in "${CONFIGS[@]}"; do
			for conns in "${CONNS[@]}"; do
				one_run "$cfg" "$conns" "$n"
			done
		done
	done
	run_decode
	pg_stop
	write_meta
	if [[ $QUICK == 1 ]]; then
		# A smoke check is not a result to commit.
		mkdir -p "$SRCDIR/build/bench"
		out=$SRCDIR/build/bench/quick-$name
	else
		mkdir -p "$BENCH_DIR/results"
		out=$BENCH_DIR/results/$name
	fi
	python3 "$BENCH_DIR/report.py" "$T" "$out" || rc=$?
	say "took $((SECONDS - started_s)) s"
	if ((FAILED > 0 || rc != 0)); then
		say "FAILED: $FAILED correctness check(s) failed (see above)"
		exit 1
	fi
}

main "$@"
