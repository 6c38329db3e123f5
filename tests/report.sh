# shellcheck shell=bash
# report.sh - how a test script says what failed; sourced by the lib.sh of
# tests/e2e and tests/examples, which set FAILURES=0 first.

# check_fail MESSAGE: notes a failure and goes on (the test fails at exit).
check_fail()
{
	echo "FAIL: $*"
	FAILURES=$((FAILURES + 1))
	return 1
}

# fail MESSAGE: notes a failure and ends the test now.
fail()
{
	echo "FAIL: $*"
	FAILURES=$((FAILURES + 1))
	exit 1
}

note()
{
	echo "  $*"
}
