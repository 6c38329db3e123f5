#!/usr/bin/env bash
#
# t_lint.sh - the example hooks are POSIX sh that dash parses, executable,
# and, like these tests, clean under shellcheck; the Python helpers are
# executable, run the system's python3 and compile without a warning.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

for hook in "$HOOKS"/*.sh; do
	name=${hook#"$SRCDIR/"}
	[[ -x $hook ]] || check_fail "$name is not executable"
	[[ $(head -n 1 "$hook") == '#!/bin/sh' ]] ||
	    check_fail "$name does not start with #!/bin/sh"
	if command -v dash >/dev/null 2>&1; then
		dash -n "$hook" || check_fail "$name: dash -n failed"
	fi
done

# compile() rather than py_compile, which would leave __pycache__ in
# docs/examples; -W error: a SyntaxWarning (a bad escape) fails too.
for helper in "$HOOKS"/*.py; do
	name=${helper#"$SRCDIR/"}
	[[ -x $helper ]] || check_fail "$name is not executable"
	[[ $(head -n 1 "$helper") == '#!/usr/bin/python3' ]] ||
	    check_fail "$name does not start with #!/usr/bin/python3"
	"$PYTHON" -W error -c 'import pathlib, sys
compile(pathlib.Path(sys.argv[1]).read_bytes(), sys.argv[1], "exec")' \
	    "$helper" ||
	    check_fail "$name does not compile"
done

if command -v shellcheck >/dev/null 2>&1; then
	(cd "$SRCDIR" && shellcheck -x docs/examples/*.sh tests/examples/*.sh) ||
	    check_fail "shellcheck"
else
	note "shellcheck not installed: skipped"
fi

finish
