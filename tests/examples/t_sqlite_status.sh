#!/usr/bin/env bash
#
# t_sqlite_status.sh - docs/examples/sqlite-status.sh, one report at a
# time: which report wins, batch reports, values that look like SQL or
# like sqlite3 dot-commands, records it must refuse (65), kinds it must
# ignore (0, no database), database trouble (75) and bad arguments.  The
# cases are status_cases.sh's, shared with t_sqlite_status_py.sh.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=status_cases.sh
. "$(dirname "$0")/status_cases.sh"

HOOK=$HOOKS/sqlite-status.sh
DB=$T/db/status.db
mkdir -p "$T/db"

# deliver_file FILE: runs the hook on the record the daemon would make of
# the callback body in FILE.
deliver_file()
{
	local record

	record=$(record_from_body "$1")
	run_hook "$record" "$HOOK" --db "$DB"
	# shellcheck disable=SC2034  # used by status_cases.sh
	DELIVERED=$HOOK_RC RECEIVED=$(jq -r .received_at <<<"$record") \
	    GUARD_LOG=$HOOK_STDERR
}

# judge RECORD ARGS...: runs the hook on RECORD.
judge()
{
	local record=$1

	shift
	run_hook "$record" "$HOOK" "$@"
	# shellcheck disable=SC2034  # used by status_cases.sh
	JUDGED=$HOOK_RC JUDGE_LOG=$HOOK_STDERR
}

status_cases
refusal_cases
other_kind_cases
trouble_cases
argument_cases "$HOOK"

finish
