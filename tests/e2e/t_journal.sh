#!/usr/bin/env bash
#
# t_journal.sh - diagnostics carry syslog priority prefixes when stderr is
# the journal, and plain level words otherwise.
#
# journald tells a service that its stderr is the journal by setting
# JOURNAL_STREAM to "device:inode" of that stream.  The test points it at
# the file the daemon's stderr goes to: lines must then read "<6>..." for
# info.  With JOURNAL_STREAM naming another file the lines stay
# "info: ...".

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

write_config "$T/j.conf" "$(cat <<EOF
  { name = "log"; kind = "file"; path = "$REPORTS"; }
EOF
)"

# run_with STDERR-FILE JOURNAL_STREAM-VALUE: start, get a 200 and a 400,
# stop; the daemon's stderr is in the file.
run_with()
{
	local err=$1 pid port line

	JOURNAL_STREAM=$2 "$BIN" -c "$T/j.conf" >/dev/null 2>>"$err" &
	pid=$!
	wait_for 30 grep -a -q -E 'http: listening on .*:[0-9]+$' "$err" ||
	    fail "daemon did not start: $(tail -n 3 "$err")"
	line=$(grep -a -m1 -E 'http: listening on .*:[0-9]+$' "$err")
	port=${line##*:}
	URL=http://127.0.0.1:$port/sinch/sms
	expect_status 200 -H 'Content-Type: application/json' \
	    --data-binary @"$SRCDIR/tests/data/e2e/valid/mo_text_minimal.json" \
	    "$URL"
	expect_status 400 -H 'Content-Type: application/json' \
	    --data-binary '{"type":' "$URL"
	kill -TERM "$pid"
	wait_pid_exit "$pid" 30 || fail "daemon did not stop"
	[[ $WAIT_RC == 0 ]] || check_fail "daemon exited $WAIT_RC"
}

J=$T/journal.stderr
: >"$J"
run_with "$J" "$(stat -c '%d:%i' "$J")"
grep -a -q -E '^<6>http: listening on ' "$J" ||
    check_fail "no '<6>http: listening on' line: $(head -n 3 "$J")"
grep -a -q -E '^<6>access: id=.* status=200 ' "$J" ||
    check_fail "no '<6>access: ... status=200' line"
if grep -a -v -q -E '^<[0-7]>' "$J"; then
	check_fail "lines without a priority prefix:" \
	    "$(grep -a -v -E '^<[0-7]>' "$J" | head -n 3)"
fi

P=$T/plain.stderr
: >"$P"
run_with "$P" "$(stat -c '%d:%i' "$J")"
grep -a -q -E '^info: http: listening on ' "$P" ||
    check_fail "no 'info: http: listening on' line: $(head -n 3 "$P")"
if grep -a -q -E '^<[0-7]>' "$P"; then
	check_fail "priority prefixes on a stderr that is not the journal"
fi

finish
