#!/usr/bin/env bash
#
# t_config.sh - command line, configuration check and startup failures.
#
# -t exits 0 on valid configurations (full, and minimal: defaults for all
# but sinks) without serving; each kind of error (out of range, wrong type,
# unknown key, bad enum, syntax, missing sinks, missing file) exits 2 with
# "file:line: key: reason" on stderr; -h and -V print on stdout and exit 0;
# an unknown option or a missing -c argument exits 2 with the usage on
# stderr; at startup, a sink file in a missing directory or a port already
# taken exits 1 with a message naming the problem.  SIGINT stops cleanly
# (exit 0) and -v turns on debug lines.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

[[ -x $BIN ]] || fail "binary $BIN not found or not executable"

# run_bin NAME ARGS...: runs the binary in the foreground (bounded), keeps
# stdout and stderr in $T/NAME.out and $T/NAME.err, sets RC and RUN.
run_bin()
{
	RUN=$1
	shift
	timeout -k 5 20 "$BIN" "$@" >"$T/$RUN.out" 2>"$T/$RUN.err"
	RC=$?
}

# expect_rc STATUS WHAT: the last run_bin exited with STATUS.
expect_rc()
{
	if [[ $RC != "$1" ]]; then
		check_fail "$2: exit status $RC, expected $1; stderr:" \
		    "$(head -c 300 "$T/$RUN.err" | tr '\n' ' ')"
		return 1
	fi
	return 0
}

# The full configuration, one setting per line, so errors have known lines.
full_config()
{
	cat <<EOF
listen = {
  address = "127.0.0.1";
  port = 0;
  path = "/sinch/sms";
};
limits = {
  max_body_bytes = 1048576;
  max_connections = 1024;
  connection_timeout_s = 30;
  threads = 4;
  shutdown_timeout_s = 10;
};
log = {
  level = "info";
};
sinks = (
  {
    name = "log";
    kind = "file";
    path = "$REPORTS";
    fsync = true;
    required = true;
  },
  {
    name = "console";
    kind = "stdout";
    required = false;
  }
);
EOF
}

# --- valid configurations ----------------------------------------------------
full_config >"$T/full.conf"
run_bin valid_full -t -c "$T/full.conf"
expect_rc 0 "-t on a valid configuration"
if grep -a -q 'listening on' "$T/valid_full.err"; then
	check_fail "-t started the listener"
fi

cat >"$T/minimal.conf" <<EOF
sinks = ( { name = "log"; kind = "file"; path = "$REPORTS"; } );
EOF
run_bin valid_minimal -t -c "$T/minimal.conf"
expect_rc 0 "-t on a configuration with only sinks (defaults elsewhere)"

run_bin valid_verbose -v -t -c "$T/full.conf"
expect_rc 0 "-v -t on a valid configuration"

# --- invalid configurations: exit 2, "file:line: key: reason" --------------
# line | replacement line | key printed (regex) | what
cases=(
	'3|  port = 70000;|listen\.port|port above 65535'
	'3|  port = -1;|listen\.port|negative port'
	'3|  port = "8080";|listen\.port|port as a string'
	'2|  adress = "127.0.0.1";|listen\.adress|unknown key in listen'
	'4|  path = "sinch/sms";|listen\.path|callback path without a leading /'
	'7|  max_body_bytes = 0;|limits\.max_body_bytes|zero body limit'
	'9|  connection_timeout_s = "30";|limits\.connection_timeout_s|timeout as a string'
	'10|  threads = 1.5;|limits\.threads|threads as a float'
	'10|  threads = 0;|limits\.threads|zero threads'
	'11|  shutdown_timeout_s = -1;|limits\.shutdown_timeout_s|negative shutdown timeout'
	'14|  level = "loud";|log\.level|unknown log level'
	'14|  level = 3;|log\.level|log level as a number'
	'19|    kind = "kafka";|[^ ]*kind|unknown sink kind'
	'21|    fsync = "yes";|[^ ]*fsync|fsync as a string'
	'22|    retries = 3;|[^ ]*retries|unknown key in a sink'
)
for c in "${cases[@]}"; do
	IFS='|' read -r line repl key what <<<"$c"
	file=$T/bad$line.conf
	full_config | sed "${line}s|.*|${repl}|" >"$file"
	run_bin bad -t -c "$file"
	expect_rc 2 "-t, $what (line $line: '${repl# *}')" || continue
	if ! grep -a -q -E "$file:$line: $key: .+" "$T/bad.err"; then
		check_fail "$what: stderr lacks '$file:$line: <$key>: <reason>':" \
		    "$(head -c 300 "$T/bad.err")"
	else
		note "2 $what: $(grep -a -m1 -E "$file:$line:" "$T/bad.err")"
	fi
done

# An unknown top-level key (appended as line 30).
{ full_config; echo 'colour = "blue";'; } >"$T/unknown_top.conf"
run_bin bad -t -c "$T/unknown_top.conf"
if expect_rc 2 "-t, unknown top-level key"; then
	grep -a -q -E "$T/unknown_top.conf:30: colour: .+" "$T/bad.err" ||
	    check_fail "unknown top-level key: stderr lacks" \
		"'$T/unknown_top.conf:30: colour: <reason>': $(head -c 300 "$T/bad.err")"
fi

# Two sinks with the same name.
full_config | sed '25s|.*|    name = "log";|' >"$T/dup.conf"
run_bin bad -t -c "$T/dup.conf"
if expect_rc 2 "-t, two sinks named log"; then
	grep -a -q -E "$T/dup.conf:(18|25): .*name.*" "$T/bad.err" ||
	    check_fail "duplicate sink name: stderr lacks '$T/dup.conf:25:" \
		"...name...': $(head -c 300 "$T/bad.err")"
fi

# A file sink without a path.
full_config | sed '20d' >"$T/nopath.conf"
run_bin bad -t -c "$T/nopath.conf"
if expect_rc 2 "-t, file sink without path"; then
	grep -a -q -E "$T/nopath.conf:[0-9]+: .*path" "$T/bad.err" ||
	    check_fail "file sink without path: stderr lacks" \
		"'$T/nopath.conf:<line>: ...path...': $(head -c 300 "$T/bad.err")"
fi

# A syntax error: libconfig's parser reports the line.
full_config | sed '8s|.*|  max_connections = ;|' >"$T/syntax.conf"
run_bin bad -t -c "$T/syntax.conf"
if expect_rc 2 "-t, syntax error"; then
	grep -a -q -E "$T/syntax.conf:8: .+" "$T/bad.err" ||
	    check_fail "syntax error: stderr lacks '$T/syntax.conf:8: <reason>':" \
		"$(head -c 300 "$T/bad.err")"
fi

# No sinks at all, and an empty list of sinks.
full_config | sed '16,29d' >"$T/nosinks.conf"
run_bin bad -t -c "$T/nosinks.conf"
expect_rc 2 "-t, no sinks" &&
    { grep -a -q sinks "$T/bad.err" ||
	check_fail "no sinks: stderr does not mention sinks:" \
	    "$(head -c 300 "$T/bad.err")"; }
{ full_config | sed '16,29d'; echo 'sinks = ( );'; } >"$T/emptysinks.conf"
run_bin bad -t -c "$T/emptysinks.conf"
expect_rc 2 "-t, empty list of sinks" &&
    { grep -a -q sinks "$T/bad.err" ||
	check_fail "empty sinks: stderr does not mention sinks:" \
	    "$(head -c 300 "$T/bad.err")"; }

# A configuration file that does not exist, with and without -t.
run_bin bad -t -c "$T/does-not-exist.conf"
expect_rc 2 "-t, missing configuration file" &&
    { grep -a -q "does-not-exist.conf" "$T/bad.err" ||
	check_fail "missing configuration file not named on stderr:" \
	    "$(head -c 300 "$T/bad.err")"; }
run_bin bad -c "$T/does-not-exist.conf"
expect_rc 2 "missing configuration file (no -t)"

# Without -t an invalid configuration is also exit 2, before serving.
run_bin bad -c "$T/bad3.conf"
expect_rc 2 "invalid configuration (no -t)"

# --- command line ---------------------------------------------------------
run_bin help -h
if expect_rc 0 "-h"; then
	grep -q -i 'usage' "$T/help.out" ||
	    check_fail "-h: no usage on stdout: $(head -c 200 "$T/help.out")"
fi
run_bin version -V
if expect_rc 0 "-V"; then
	[[ -s $T/version.out ]] || check_fail "-V: nothing on stdout"
	note "-V: $(head -n 1 "$T/version.out")"
fi
run_bin badopt -Z
if expect_rc 2 "unknown option -Z"; then
	grep -q -i 'usage' "$T/badopt.err" ||
	    check_fail "-Z: no usage on stderr: $(head -c 200 "$T/badopt.err")"
	[[ ! -s $T/badopt.out ]] || check_fail "-Z: usage went to stdout"
fi
run_bin noarg -c
if expect_rc 2 "-c without its argument"; then
	grep -q -i 'usage' "$T/noarg.err" ||
	    check_fail "-c without argument: no usage on stderr:" \
		"$(head -c 200 "$T/noarg.err")"
fi

# --- startup failures: exit 1 ----------------------------------------------
missing=$T/no-such-dir/reports.jsonl
full_config | sed "20s|.*|    path = \"$missing\";|" >"$T/missingdir.conf"
run_bin missingdir -t -c "$T/missingdir.conf"
note "-t with a sink in a missing directory: exit $RC"
run_bin missingdir -c "$T/missingdir.conf"
if expect_rc 1 "sink file in a missing directory"; then
	grep -a -q -F "$missing" "$T/missingdir.err" ||
	    check_fail "sink file in a missing directory: the path is not" \
		"on stderr: $(head -c 300 "$T/missingdir.err")"
	note "1 missing directory: $(grep -a -m1 -F "$missing" "$T/missingdir.err")"
fi
if grep -a -q 'listening on' "$T/missingdir.err"; then
	check_fail "listener opened although a required sink could not be opened"
fi

# A port already taken by a running daemon.
start_daemon "$T/full.conf"
full_config | sed -e "3s|.*|  port = $PORT;|" \
    -e "20s|.*|    path = \"$T/second.jsonl\";|" >"$T/taken.conf"
run_bin taken -c "$T/taken.conf"
if expect_rc 1 "port $PORT already in use"; then
	grep -a -q -E "$PORT|[Aa]ddress already in use|bind" "$T/taken.err" ||
	    check_fail "port in use: no clear message: $(head -c 300 "$T/taken.err")"
	note "1 port in use: $(head -n 1 "$T/taken.err")"
fi
# The first daemon is unharmed.
printf '{"type":"mo_text","id":"01JE2ECONFIG","from":"4670","to":"1","body":"hi","received_at":"2026-03-01T10:00:00Z"}' \
    >"$T/one.json"
post_file 200 "$T/one.json" && check_record "$T/one.json" "$LAST_ID"
if grep -a -q -E '(^|>)debug: ' "$DAEMON_STDERR"; then
	check_fail "debug lines on stderr at log.level info without -v"
fi
# SIGINT stops as cleanly as SIGTERM.
stop_daemon_clean INT

# -v: debug logging.
start_daemon "$T/full.conf" -v
wait_for 10 grep -a -q -E '(^|>)debug: ' "$DAEMON_STDERR" ||
    check_fail "-v: no debug line on stderr"
stop_daemon_clean

finish
