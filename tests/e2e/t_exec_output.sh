#!/usr/bin/env bash
#
# t_exec_output.sh - a hook's output goes to the log, capped.
#
# hooks/act.sh:
# 1. say: two lines on stdout, one on stderr -> 200, and the daemon's
#    stderr has "info: sink_exec: hook: id=ID: stdout: out one" (and "out
#    two"), "warn: sink_exec: hook: id=ID: stderr: err one", no
#    "(truncated)" line.
# 2. flood: 5 MiB of lines on stdout while writing 5 MiB without a newline
#    on stderr -> 200 within a bound (the hook is never blocked), at most
#    4096 bytes per stream logged for that run, then one line ending
#    "(truncated)" per stream; the daemon's stderr grows by little.
# 3. A later say still works; no zombie is left.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

ACT=$HOOKDIR/act.sh
HD=$T/hook
mkdir "$HD"
CAP=4096

write_config "$T/output.conf" "$(cat <<EOF
  { name = "log"; kind = "file"; path = "$REPORTS"; required = true; },
  { name = "hook"; kind = "exec"; command = [ "$ACT", "$HD" ];
    timeout_ms = 20000; max_concurrent = 4; required = true; }
EOF
)"
start_daemon "$T/output.conf"

# stream_lines ID STREAM: the logged lines of that run and stream, without
# their prefix.
stream_lines()
{
	local level=info

	[[ $2 == stderr ]] && level=warn
	grep -a -F -- "$level: sink_exec: hook: id=$1: $2: " "$DAEMON_STDERR" |
	    sed "s/^$level: sink_exec: hook: id=$1: $2: //"
}

say()
{
	local id

	hook_body "$T/b" "say $1"
	post_file 200 "$T/b" || return 1
	id=$LAST_ID
	expect_log "^info: sink_exec: hook: id=$id: stdout: out one\$" "say $1"
	expect_log "^info: sink_exec: hook: id=$id: stdout: out two\$" "say $1"
	expect_log "^warn: sink_exec: hook: id=$id: stderr: err one\$" "say $1"
	if grep -a -F "id=$id:" "$DAEMON_STDERR" | grep -a -q 'truncated'; then
		check_fail "say $1: a short output is marked truncated"
	fi
	# In order, and nothing else.
	[[ $(stream_lines "$id" stdout | tr '\n' '|') == "out one|out two|" ]] ||
	    check_fail "say $1: stdout logged as" \
		"'$(stream_lines "$id" stdout | tr '\n' '|')'"
	[[ $(stream_lines "$id" stderr | tr '\n' '|') == "err one|" ]] ||
	    check_fail "say $1: stderr logged as" \
		"'$(stream_lines "$id" stderr | tr '\n' '|')'"
}

# --- 1. a few lines ----------------------------------------------------------
say first

# --- 2. megabytes ------------------------------------------------------------
size_before=$(stat -c %s "$DAEMON_STDERR")
hook_body "$T/b" "flood"
start=$SECONDS
post_file 200 "$T/b"
took=$((SECONDS - start))
id=$LAST_ID
note "flood -> $LAST_STATUS after ~${took}s"
((took <= 20)) || check_fail "flood: the answer took ~${took}s (bound 20 s)"
if [[ -n $id ]]; then
	# Give the log a moment to receive the last lines.
	wait_for 10 grep -a -q -E "id=$id: stderr.*\(truncated\)\$" \
	    "$DAEMON_STDERR"
	for stream in stdout stderr; do
		stream_lines "$id" "$stream" >"$T/$stream.logged"
		bytes=$(wc -c <"$T/$stream.logged")
		lines=$(wc -l <"$T/$stream.logged")
		# The mark may be a line of its own, with or without ": ".
		grep -a -E "^(info|warn): sink_exec: hook: id=$id: $stream" \
		    "$DAEMON_STDERR" >"$T/$stream.all"
		trunc=$(grep -a -c '(truncated)$' "$T/$stream.all")
		note "flood $stream: $lines line(s), $bytes byte(s) logged," \
		    "$trunc '(truncated)' line(s)"
		# Content up to the cap, plus a newline per line and the mark.
		((bytes > 0)) || check_fail "flood: nothing of $stream logged"
		((bytes <= CAP + lines + 64)) ||
		    check_fail "flood: $bytes bytes of $stream logged for one" \
			"run (cap $CAP)"
		((trunc == 1)) ||
		    check_fail "flood: $trunc '(truncated)' line(s) for" \
			"$stream, expected 1"
		[[ $(tail -n 1 "$T/$stream.all") == *'(truncated)' ]] ||
		    check_fail "flood: the last $stream line is not the" \
			"'(truncated)' one: $(tail -n 1 "$T/$stream.all" |
			    head -c 100)"
	done
	grown=$(($(stat -c %s "$DAEMON_STDERR") - size_before))
	((grown < 64 * 1024)) ||
	    check_fail "flood: the daemon's stderr grew by $grown bytes"
fi

# --- 3. still working --------------------------------------------------------
say again
check_ids_match "$OK_IDS" "$REPORTS"
check_no_zombies "after the output" all
stop_daemon_clean

finish
