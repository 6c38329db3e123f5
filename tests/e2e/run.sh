#!/usr/bin/env bash
#
# run.sh - runs the end-to-end scenarios tests/e2e/t_*.sh, each in its own
# bash process (bounded to 300 s), and prints PASS/FAIL per scenario; on a
# failure, the last lines of its output and of the daemon's stderr.  Ends
# with "N passed, N failed" and exits non-zero if any failed.
#
# Usage: tests/e2e/run.sh [t_name...]     (default: every scenario)
# Environment: SINCH_WEBHOOKD_BIN, the binary to test (default: the one
# built in the source tree).

set -u

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCDIR=$(cd "$E2E_DIR/../.." && pwd)
export SINCH_WEBHOOKD_BIN=${SINCH_WEBHOOKD_BIN:-$SRCDIR/sinch-webhookd}

if [[ ! -x $SINCH_WEBHOOKD_BIN ]]; then
	echo "run.sh: $SINCH_WEBHOOKD_BIN is not an executable" >&2
fi

tests=()
if (($# > 0)); then
	for name in "$@"; do
		name=$(basename "$name" .sh)
		[[ -f $E2E_DIR/$name.sh ]] || { echo "run.sh: no $name.sh" >&2; exit 2; }
		tests+=("$E2E_DIR/$name.sh")
	done
else
	for t in "$E2E_DIR"/t_*.sh; do
		[[ -f $t ]] && tests+=("$t")
	done
fi

LOGS=$(mktemp -d "${TMPDIR:-/tmp}/sinch-e2e-run.XXXXXX") || exit 2
trap 'rm -rf "$LOGS"' EXIT

passed=0
failed=0
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	mkdir -p "$LOGS/$name"
	E2E_LOGDIR=$LOGS/$name timeout -k 10 300 bash "$t" \
	    >"$LOGS/$name/output" 2>&1 </dev/null
	rc=$?
	if ((rc == 0)); then
		echo "PASS $name"
		passed=$((passed + 1))
		continue
	fi
	echo "FAIL $name"
	failed=$((failed + 1))
	((rc == 124 || rc == 137)) && echo "    (killed after 300 s)"
	echo "    --- last lines of $name's output:"
	tail -n 25 "$LOGS/$name/output" | sed 's/^/    /'
	for f in "$LOGS/$name"/*.stderr; do
		[[ -f $f ]] || continue
		echo "    --- last lines of the daemon's stderr ($(basename "$f")):"
		tail -n 15 "$f" | sed 's/^/    /'
	done
done

echo "$passed passed, $failed failed"
((failed == 0))
