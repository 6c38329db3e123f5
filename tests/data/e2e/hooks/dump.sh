#!/bin/sh
#
# dump.sh DIR [ARG...] - exec-sink hook for tests/e2e/t_exec_env.sh.  Saves
# what it was given as DIR/SINCH_ID.*, then exits 0:
#
#   .environ  its environment as received (/proc/$$/environ: NUL-separated
#             NAME=value, without what the shell itself would add)
#   .stdin    its standard input, up to EOF
#   .fds      `ls -l /proc/self/fd` as run by ls: the fds it inherited, and
#             the directory that ls opened to list them
#   .shfds    `ls -l /proc/$$/fd` (the shell's own, for diagnostics)
#   .stat     /proc/$$/stat (pid, parent, process group, session)
#   .args     the arguments after DIR, one per line
#   .done     empty, written last

set -u

dir=${1:?usage: dump.sh DIR [ARG...]}
shift
out=$dir/${SINCH_ID:-noid}

cat "/proc/$$/environ" >"$out.environ"
cat "/proc/$$/stat" >"$out.stat"
ls -l /proc/self/fd >"$out.fds"
ls -l "/proc/$$/fd" >"$out.shfds"
cat >"$out.stdin"
printf '%s\n' "$@" >"$out.args"
: >"$out.done"
exit 0
