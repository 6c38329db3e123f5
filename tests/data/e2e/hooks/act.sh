#!/bin/sh
#
# act.sh DIR - exec-sink hook for tests/e2e.  Notes each run as a line
# "SINCH_ID PID SINCH_CLIENT_REFERENCE" in DIR/runs, then does what the
# first word of SINCH_CLIENT_REFERENCE says (anything else: exit 0):
#
#   exit:N             exits with status N
#   signal:NAME        kills itself with signal NAME (no core file)
#   sleep:S            sleeps S seconds, then exits 0
#   fail-once:TAG      exits 75 the first time for TAG, 0 afterwards
#                      (marker file DIR/failed.TAG)
#   fork-sleep         starts two `sleep 300` children, writes
#                      "PID CHILD CHILD" to DIR/pids.SINCH_ID, waits
#   leave-child        starts a `sleep 300` with its stdio on /dev/null,
#                      writes its pid to DIR/pids.SINCH_ID, exits 0
#   leave-child-pipes  the same, but the child keeps the hook's stdout
#                      and stderr open
#   say                two lines on stdout, one on stderr, exits 0
#   flood              5 MiB of lines on stdout and, at the same time,
#                      5 MiB without a newline on stderr; exits 0
#
# The record on stdin is not read (the daemon must cope with that).

set -u

dir=${1:?usage: act.sh DIR}
id=${SINCH_ID:-noid}
ref=${SINCH_CLIENT_REFERENCE:-}
word=${ref%% *}

printf '%s %s %s\n' "$id" "$$" "$ref" >>"$dir/runs"

# put_pids LIST: DIR/pids.ID, written whole before it appears.
put_pids()
{
	printf '%s\n' "$1" >"$dir/pids.$id.tmp" &&
	    mv "$dir/pids.$id.tmp" "$dir/pids.$id"
}

case $word in
exit:*)
	exit "${word#exit:}"
	;;
signal:*)
	# No core file (dash and bash have ulimit -c).
	# shellcheck disable=SC3045
	ulimit -c 0 2>/dev/null
	kill -s "${word#signal:}" $$
	sleep 5
	exit 99
	;;
sleep:*)
	sleep "${word#sleep:}"
	exit 0
	;;
fail-once:*)
	marker=$dir/failed.${word#fail-once:}
	[ -e "$marker" ] && exit 0
	: >"$marker"
	exit 75
	;;
fork-sleep)
	sleep 300 &
	c1=$!
	sleep 300 &
	c2=$!
	put_pids "$$ $c1 $c2"
	wait
	exit 0
	;;
leave-child)
	(exec </dev/null >/dev/null 2>&1 && exec sleep 300) &
	put_pids "$!"
	exit 0
	;;
leave-child-pipes)
	sleep 300 &
	put_pids "$!"
	exit 0
	;;
say)
	printf 'out one\nout two\n'
	printf 'err one\n' >&2
	exit 0
	;;
flood)
	yes 'flood line for the stdout cap of the exec sink' |
	    head -c 5242880 &
	head -c 5242880 /dev/zero | tr '\0' e >&2
	wait
	exit 0
	;;
esac
exit 0
