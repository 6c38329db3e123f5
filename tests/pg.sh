#!/usr/bin/env bash
#
# pg.sh - a throwaway PostgreSQL server for the tests of the postgres sink.
# The server is Debian's (the highest version under /usr/lib/postgresql),
# with its own data directory, superuser "sinch" with a random password
# (SCRAM over TCP, trust on its Unix socket), listening on 127.0.0.1 only,
# with the default durability settings.  Run as root, initdb and postgres
# run as the "postgres" system user (or "nobody"), since postgres refuses
# root.  Every wait is bounded, and only the PID recorded in DIR/pid is
# ever signalled.
#
# Usage:
#   tests/pg.sh start DIR [PORT]       initdb in DIR/data, start, create
#                                      database "sinch"; writes DIR/env
#   tests/pg.sh stop DIR [fast|immediate]
#   tests/pg.sh restart DIR            the same data directory and port
#   tests/pg.sh run -- CMD [ARGS...]   CMD with a server of its own, in a
#                                      temporary directory removed after
#
# DIR/env holds shell assignments: PGHOST PGPORT PGUSER PGDATABASE
# PGPASSFILE (for psql), CONNINFO and PASSWORD_FILE (for the daemon), and
# PG_BINDIR.  `run` exports SINCH_WEBHOOKD_PG_CONNINFO,
# SINCH_WEBHOOKD_PG_PASSWORD_FILE and the PG* variables to CMD.

set -eu

PROG=tests/pg.sh
READY_TIMEOUT=30	# start or restart until the server accepts connections
STOP_TIMEOUT=60		# signal until the postmaster has exited
PORT_TRIES=10		# ports tried when the chosen one is taken meanwhile

die()
{
	echo "$PROG: $*" >&2
	exit 1
}

usage()
{
	echo "usage: $PROG start DIR [PORT] | stop DIR [fast|immediate] |" \
	    "restart DIR | run -- CMD [ARGS...]" >&2
	exit 2
}

# The bin directory of the highest PostgreSQL version installed.
pg_bindir()
{
	local d best=""

	for d in /usr/lib/postgresql/*/bin; do
		[[ -x $d/initdb && -x $d/postgres ]] || continue
		best=$(printf '%s\n%s\n' "$best" "$d" | sed '/^$/d' |
		    sort -V | tail -n 1)
	done
	[[ -n $best ]] ||
	    die "no initdb under /usr/lib/postgresql; run scripts/install-deps.sh"
	echo "$best"
}

# The unprivileged user that runs the server when we are root.
pg_user()
{
	if getent passwd postgres >/dev/null; then
		echo postgres
	else
		echo nobody
	fi
}

# as_server CMD...: runs CMD as the server's user.
as_server()
{
	"${AS_SERVER[@]}" "$@"
}

# A TCP port free on 127.0.0.1 now (the server may still lose a race for
# it; start tries another then).
free_port()
{
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

pid_alive()
{
	local stat

	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

# Whether PID is a postgres postmaster (a reused PID is not signalled).
is_postgres()
{
	local exe

	exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
	[[ $(basename "$exe") == postgres ]]
}

setup_user()
{
	RUN_AS=""
	RUN_GID=""
	if [[ $(id -u) -eq 0 ]]; then
		RUN_AS=$(pg_user)
		RUN_GID=$(id -g "$RUN_AS")
		AS_SERVER=(setpriv "--reuid=$RUN_AS" "--regid=$RUN_GID"
		    --clear-groups --)
	fi
}

# check_traversable DIR: the server's user can reach DIR.
check_traversable()
{
	[[ -n $RUN_AS ]] || return 0
	as_server test -x "$1" -a -w "$1" ||
	    die "$1: not reachable or writable by user $RUN_AS" \
		"(its parent directories must be traversable, o+x)"
}

# The socket directory: DIR, or a short one under /tmp when DIR is too
# long for a socket path (108 bytes with ".s.PGSQL.NNNNN").
socket_dir()
{
	local dir=$1 s

	if ((${#dir} <= 80)); then
		echo "$dir"
		return 0
	fi
	s=$(mktemp -d /tmp/pgsock.XXXXXX)
	[[ -z $RUN_AS ]] || chown "$RUN_AS:$RUN_GID" "$s"
	echo "$s"
}

# shq STRING: STRING quoted for the shell (single quotes).
shq()
{
	printf "'%s'" "${1//\'/\'\\\'\'}"
}

# write_env DIR PORT
write_env()
{
	local dir=$1 port=$2

	umask 077
	printf '127.0.0.1:%s:*:sinch:%s\n' "$port" "$(cat "$dir/password")" \
	    >"$dir/pgpass.new"
	mv "$dir/pgpass.new" "$dir/pgpass"
	{
		printf 'PGHOST=127.0.0.1\nPGPORT=%s\nPGUSER=sinch\n' "$port"
		printf 'PGDATABASE=sinch\nPGPASSFILE=%s\n' "$(shq "$dir/pgpass")"
		printf 'CONNINFO=%s\n' \
		    "$(shq "host=127.0.0.1 port=$port dbname=sinch user=sinch")"
		printf 'PASSWORD_FILE=%s\n' "$(shq "$dir/password")"
		printf 'PG_BINDIR=%s\n' "$(shq "$BINDIR")"
	} >"$dir/env.new"
	mv "$dir/env.new" "$dir/env"
	umask 022
}

# launch DIR PORT: starts the postmaster in the background, records its
# PID and waits until it accepts connections.  Returns 3 when the port was
# taken, 1 on another failure (with the end of the log on stderr).
launch()
{
	local dir=$1 port=$2 sock pid deadline mark

	sock=$(socket_dir "$dir")
	echo "$sock" >"$dir/sockdir"
	mark=0
	[[ ! -f $dir/server.log ]] || mark=$(wc -l <"$dir/server.log")
	# A simple command, so that $! is the postmaster itself (setsid and
	# setpriv exec it).  A session of its own: a signal meant for the
	# process group under test (Check's runner kills its own group on
	# SIGTERM) or a terminal's ^C does not reach it; it is stopped by PID.
	setsid "${AS_SERVER[@]}" "$BINDIR/postgres" -D "$dir/data" -p "$port" \
	    -c listen_addresses=127.0.0.1 \
	    -c "unix_socket_directories=$sock" \
	    </dev/null >>"$dir/server.log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/pid"
	sleep 0.05
	if pid_alive "$pid" && ! is_postgres "$pid"; then
		echo "$PROG: pid $pid is not the postmaster" >&2
		return 1
	fi
	deadline=$((SECONDS + READY_TIMEOUT))
	until "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$port" -t 2 \
	    -d postgres -U sinch; do
		if ! pid_alive "$pid"; then
			wait "$pid" 2>/dev/null || true
			rm -f "$dir/pid"
			if tail -n "+$((mark + 1))" "$dir/server.log" |
			    grep -q -i 'address already in use'; then
				return 3
			fi
			echo "$PROG: the server exited at start:" >&2
			tail -n 10 "$dir/server.log" >&2
			return 1
		fi
		if ((SECONDS >= deadline)); then
			echo "$PROG: the server did not accept connections" \
			    "within ${READY_TIMEOUT}s:" >&2
			tail -n 10 "$dir/server.log" >&2
			stop_pid "$dir" immediate || true
			return 1
		fi
		sleep 0.1
	done
	echo "$port" >"$dir/port"
	return 0
}

cmd_start()
{
	local dir=$1 port=${2:-} tries rc pw

	[[ -n $dir ]] || usage
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	[[ ! -e $dir/data ]] || die "$dir/data exists already (use restart)"
	setup_user
	if [[ -n $RUN_AS ]]; then
		chown "$RUN_AS:$RUN_GID" "$dir"
		check_traversable "$dir"
	fi
	umask 077
	pw=$(od -An -tx1 -N 16 /dev/urandom | tr -d ' \n')
	printf '%s\n' "$pw" >"$dir/password"
	# initdb reads the password from a file of the server's user.
	printf '%s\n' "$pw" >"$dir/initpw"
	umask 022
	[[ -z $RUN_AS ]] || chown "$RUN_AS:$RUN_GID" "$dir/initpw"
	if ! as_server "$BINDIR/initdb" -D "$dir/data" -U sinch \
	    --pwfile="$dir/initpw" --auth-host=scram-sha-256 \
	    --auth-local=trust -E UTF8 --locale=C.UTF-8 \
	    >"$dir/initdb.log" 2>&1; then
		rm -f "$dir/initpw"
		tail -n 10 "$dir/initdb.log" >&2
		die "initdb failed in $dir/data"
	fi
	rm -f "$dir/initpw"
	cat >>"$dir/data/postgresql.conf" <<EOF

# tests/pg.sh
max_connections = 100
logging_collector = off
log_line_prefix = '%m [%p] '
EOF
	tries=0
	while :; do
		[[ -n $port ]] || port=$(free_port)
		rc=0
		launch "$dir" "$port" || rc=$?
		((rc == 0)) && break
		tries=$((tries + 1))
		# A port given on the command line is not traded for another.
		if ((rc != 3)) || [[ -n ${2:-} ]] || ((tries >= PORT_TRIES)); then
			die "unable to start the server in $dir"
		fi
		port=""
	done
	write_env "$dir" "$port"
	if ! "$BINDIR/psql" -X -q -h "$(cat "$dir/sockdir")" -p "$port" \
	    -U sinch -d postgres -c 'CREATE DATABASE sinch' \
	    >>"$dir/server.log" 2>&1; then
		stop_pid "$dir" fast || true
		die "unable to create database sinch (see $dir/server.log)"
	fi
}

# stop_pid DIR MODE: signals the recorded postmaster and waits for it.
stop_pid()
{
	local dir=$1 mode=$2 pid sig sock deadline

	[[ -f $dir/pid ]] || return 0
	pid=$(cat "$dir/pid")
	case $mode in
	fast) sig=INT ;;
	immediate) sig=QUIT ;;
	*) usage ;;
	esac
	if [[ $pid =~ ^[0-9]+$ ]] && pid_alive "$pid" && is_postgres "$pid"
	then
		kill "-$sig" "$pid"
		deadline=$((SECONDS + STOP_TIMEOUT))
		while pid_alive "$pid"; do
			if ((SECONDS >= deadline)); then
				die "postgres $pid did not exit within" \
				    "${STOP_TIMEOUT}s of SIG$sig"
			fi
			sleep 0.05
		done
		# Reaped here when this shell started it (pg.sh run).
		wait "$pid" 2>/dev/null || true
	fi
	rm -f "$dir/pid"
	sock=$(cat "$dir/sockdir" 2>/dev/null || true)
	if [[ -n $sock && $sock != "$dir" && $sock == /tmp/pgsock.* ]]; then
		rm -rf "$sock"
	fi
}

cmd_stop()
{
	local dir=$1 mode=${2:-fast}

	[[ -d $dir ]] || die "$dir: no such directory"
	stop_pid "$dir" "$mode"
}

cmd_restart()
{
	local dir=$1 port rc deadline

	[[ -f $dir/port && -d $dir/data ]] ||
	    die "$dir: no server made by $PROG start"
	[[ ! -f $dir/pid ]] || die "$dir: the server is running (pid file)"
	setup_user
	port=$(cat "$dir/port")
	# The port must stay the same; a client may hold it for a moment.
	deadline=$((SECONDS + READY_TIMEOUT))
	while :; do
		rc=0
		launch "$dir" "$port" || rc=$?
		((rc == 0)) && return 0
		if ((rc != 3 || SECONDS >= deadline)); then
			die "unable to restart the server in $dir on port $port"
		fi
		sleep 0.5
	done
}

RUN_DIR=""
CMD_PID=""

run_cleanup()
{
	local deadline

	# On a signal, the command goes first (TERM, then KILL after 10 s).
	if [[ -n $CMD_PID ]] && pid_alive "$CMD_PID"; then
		kill -TERM "$CMD_PID" 2>/dev/null || true
		deadline=$((SECONDS + 10))
		while pid_alive "$CMD_PID" && ((SECONDS < deadline)); do
			sleep 0.05
		done
		kill -KILL "$CMD_PID" 2>/dev/null || true
		wait "$CMD_PID" 2>/dev/null || true
	fi
	CMD_PID=""
	# A second signal must not cut the cleanup short.
	trap '' HUP INT TERM
	if [[ -n $RUN_DIR ]]; then
		stop_pid "$RUN_DIR" fast || stop_pid "$RUN_DIR" immediate || true
		rm -rf "$RUN_DIR"
		RUN_DIR=""
	fi
}

cmd_run()
{
	local rc=0

	[[ ${1:-} == -- ]] && shift
	(($# > 0)) || usage
	RUN_DIR=$(mktemp -d "/tmp/sinch-pg.XXXXXX")
	trap 'run_cleanup' EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	cmd_start "$RUN_DIR"
	# shellcheck source=/dev/null
	. "$RUN_DIR/env"
	export PGHOST PGPORT PGUSER PGDATABASE PGPASSFILE
	export SINCH_WEBHOOKD_PG_CONNINFO=$CONNINFO
	export SINCH_WEBHOOKD_PG_PASSWORD_FILE=$PASSWORD_FILE
	# In the background, so that a signal runs the trap at once, and in a
	# process group of its own, so that what it signals there is its own.
	setsid -w "$@" <&0 &
	CMD_PID=$!
	wait "$CMD_PID" || rc=$?
	CMD_PID=""
	run_cleanup
	trap - EXIT
	exit "$rc"
}

BINDIR=$(pg_bindir)
RUN_AS=""
RUN_GID=""
AS_SERVER=(env)

case ${1:-} in
start)
	(($# >= 2 && $# <= 3)) || usage
	cmd_start "$2" "${3:-}"
	;;
stop)
	(($# >= 2 && $# <= 3)) || usage
	cmd_stop "$2" "${3:-fast}"
	;;
restart)
	(($# == 2)) || usage
	cmd_restart "$2"
	;;
run)
	shift
	cmd_run "$@"
	;;
*)
	usage
	;;
esac
