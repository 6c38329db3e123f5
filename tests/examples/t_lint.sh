#!/usr/bin/env bash
#
# t_lint.sh - the example hooks are POSIX sh that dash parses, executable,
# and, like these tests, clean under shellcheck.

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

if command -v shellcheck >/dev/null 2>&1; then
	(cd "$SRCDIR" && shellcheck -x docs/examples/*.sh tests/examples/*.sh) ||
	    check_fail "shellcheck"
else
	note "shellcheck not installed: skipped"
fi

finish
