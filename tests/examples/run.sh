#!/usr/bin/env bash
#
# run.sh - runs the tests of the example hooks (docs/examples/), each
# tests/examples/t_*.sh in its own bash process bounded to 120 s, and
# prints PASS/FAIL per test; on a failure, the last lines of its output.
# Ends with "N passed, N failed" and exits non-zero if any failed.
#
# Usage: tests/examples/run.sh [t_name...]     (default: every test)
# Needs: jq, sqlite3, curl and python3 (scripts/install-deps.sh).

set -u

EX_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

tests=()
if (($# > 0)); then
	for name in "$@"; do
		name=$(basename "$name" .sh)
		[[ -f $EX_DIR/$name.sh ]] || { echo "run.sh: no $name.sh" >&2; exit 2; }
		tests+=("$EX_DIR/$name.sh")
	done
else
	for t in "$EX_DIR"/t_*.sh; do
		[[ -f $t ]] && tests+=("$t")
	done
fi

LOGS=$(mktemp -d "${TMPDIR:-/tmp}/sinch-examples-run.XXXXXX") || exit 2
trap 'rm -rf "$LOGS"' EXIT

passed=0
failed=0
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	timeout -k 10 120 bash "$t" >"$LOGS/$name" 2>&1 </dev/null
	rc=$?
	if ((rc == 0)); then
		echo "PASS $name"
		grep -E '^  ' "$LOGS/$name" | sed 's/^/    /'
		passed=$((passed + 1))
		continue
	fi
	echo "FAIL $name"
	failed=$((failed + 1))
	((rc == 124 || rc == 137)) && echo "    (killed after 120 s)"
	tail -n 25 "$LOGS/$name" | sed 's/^/    /'
done

echo "$passed passed, $failed failed"
((failed == 0))
