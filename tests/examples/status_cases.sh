# shellcheck shell=bash
#
# status_cases.sh - what every version of the status-regression guard
# (docs/examples/sqlite-status.sh, docs/examples/sqlite-status.py) must
# do; sourced, after lib.sh, by t_sqlite_status.sh (the hook, run once per
# report) and t_sqlite_status_py.sh (the helper, behind the real daemon).
# The test sets DB, the database the guard writes, and defines
#
#   deliver_file FILE   hands the guard the callback body in FILE; sets
#                       DELIVERED to the guard's verdict as a hook's exit
#                       status (0, 65, 75; anything else as it came),
#                       RECEIVED to the record's received_at, and
#                       GUARD_LOG to a file with what the guard logged;
#   judge RECORD ARGS   runs the guard program alone once, with ARGS, on
#                       the record RECORD (text); sets JUDGED to its
#                       verdict as above and JUDGE_LOG to its stderr.
#
# Then status_cases, refusal_cases, other_kind_cases, trouble_cases and
# argument_cases run the cases, each using its own batches.

# deliver JSON: deliver_file on a callback body given as text.
deliver()
{
	printf '%s\n' "$1" >"$T/deliver.json"
	deliver_file "$T/deliver.json"
}

# expect_delivered WHAT VERDICT: checks DELIVERED, showing the log if not.
expect_delivered()
{
	[[ $DELIVERED == "$2" ]] && return 0
	check_fail "$1: verdict $DELIVERED, expected $2;" \
	    "log: $(tail -n 5 "$GUARD_LOG" | tr '\n' '|')"
}

# expect_judged WHAT VERDICT: the same for JUDGED.
expect_judged()
{
	[[ $JUDGED == "$2" ]] && return 0
	check_fail "$1: verdict $JUDGED, expected $2;" \
	    "stderr: $(tr '\n' '|' <"$JUDGE_LOG")"
}

# row BATCH RECIPIENT: the stored row as "status code final at cref", or
# "none".  Read with sqlite3 -json so any value comes back exactly.
row()
{
	sqlite3 -init /dev/null -json "$DB" 'SELECT * FROM recipient_status' |
	    jq -r --arg b "$1" --arg r "$2" '
		[.[] | select(.batch_id == $b and .recipient == $r)]
		| if length == 0 then "none"
		  else .[0] | "\(.status) \(.code) \(.final) \(.at)"
		      + " \(.client_reference // "-")" end'
}

rows_count()
{
	sqlite3 -init /dev/null "$DB" 'SELECT count(*) FROM recipient_status'
}

# status_cases: which report wins, replays, batch reports, and values
# that look like SQL or like sqlite3 dot-commands, report by report.
status_cases()
{
	local n before after got want

	# --- Delivered, then a late Queued with a newer time: Delivered stays.
	deliver "$(rdr_body B1 +46700000001 Delivered 0 2026-11-27T10:00:05Z ref-1)"
	expect_delivered "Delivered" 0
	deliver "$(rdr_body B1 +46700000001 Queued 400 2026-11-27T10:09:00Z ref-1)"
	expect_delivered "late Queued" 0
	expect_eq "Delivered then late Queued" \
	    "Delivered 0 1 2026-11-27T10:00:05Z ref-1" "$(row B1 +46700000001)"
	grep -q '0 of 1 row' "$GUARD_LOG" ||
	    check_fail "late Queued: no note that the row was kept"
	expect_eq "journal mode" wal \
	    "$(sqlite3 -init /dev/null "$DB" 'PRAGMA journal_mode')"

	# --- Queued, then Dispatched (newer), then Delivered: each replaces.
	deliver "$(rdr_body B1 +46700000002 Queued 400 2026-11-27T10:00:01Z)"
	expect_delivered "Queued" 0
	expect_eq "Queued" "Queued 400 0 2026-11-27T10:00:01Z -" \
	    "$(row B1 +46700000002)"
	deliver "$(rdr_body B1 +46700000002 Dispatched 401 2026-11-27T10:00:02Z)"
	expect_delivered "Dispatched" 0
	expect_eq "Queued then Dispatched" \
	    "Dispatched 401 0 2026-11-27T10:00:02Z -" "$(row B1 +46700000002)"
	# An older intermediate does not replace a newer intermediate.
	deliver "$(rdr_body B1 +46700000002 Queued 400 2026-11-27T10:00:01Z)"
	expect_delivered "stale Queued" 0
	expect_eq "stale Queued after Dispatched" \
	    "Dispatched 401 0 2026-11-27T10:00:02Z -" "$(row B1 +46700000002)"
	deliver "$(rdr_body B1 +46700000002 Delivered 0 2026-11-27T10:00:09Z)"
	expect_delivered "Delivered after Dispatched" 0
	expect_eq "Queued/Dispatched then Delivered" \
	    "Delivered 0 1 2026-11-27T10:00:09Z -" "$(row B1 +46700000002)"

	# --- A final beats an intermediate even when its time is older.
	deliver "$(rdr_body B1 +46700000003 Dispatched 401 2026-11-27T10:00:09Z)"
	deliver "$(rdr_body B1 +46700000003 Failed 402 2026-11-27T10:00:03Z)"
	expect_delivered "older Failed after Dispatched" 0
	expect_eq "older final beats newer intermediate" \
	    "Failed 402 1 2026-11-27T10:00:03Z -" "$(row B1 +46700000003)"

	# --- Two finals: the newer "at" wins, compared as instants, not text.
	deliver "$(rdr_body B2 +46700000004 Failed 402 2026-11-27T10:00:05Z)"
	expect_delivered "Failed" 0
	deliver "$(rdr_body B2 +46700000004 Delivered 0 \
	    2026-11-27T10:00:04.900Z)"
	expect_delivered "older Delivered" 0
	expect_eq "older final does not replace a final" \
	    "Failed 402 1 2026-11-27T10:00:05Z -" "$(row B2 +46700000004)"
	# "10:00:05.500Z" > "10:00:05Z" as instants, although as text it
	# sorts before it ('.' < 'Z').
	deliver "$(rdr_body B2 +46700000004 Delivered 0 \
	    2026-11-27T10:00:05.500Z)"
	expect_delivered "newer Delivered" 0
	expect_eq "newer final replaces a final" \
	    "Delivered 0 1 2026-11-27T10:00:05.500Z -" "$(row B2 +46700000004)"
	# A time with an offset: 11:00:06+01:00 is 10:00:06Z, newer still.
	deliver "$(rdr_body B2 +46700000004 Expired 403 \
	    2026-11-27T11:00:06+01:00)"
	expect_eq "offset time compared as an instant" \
	    "Expired 403 1 2026-11-27T11:00:06+01:00 -" "$(row B2 +46700000004)"
	# ...and 11:00:04+01:00 (10:00:04Z) is older: ignored.
	deliver "$(rdr_body B2 +46700000004 Failed 402 2026-11-27T11:00:04+01:00)"
	expect_eq "older offset time ignored" \
	    "Expired 403 1 2026-11-27T11:00:06+01:00 -" "$(row B2 +46700000004)"

	# --- Replaying a report changes nothing (not even updated_at).
	before=$(sqlite3 -init /dev/null "$DB" "SELECT updated_at || report_id
	    FROM recipient_status WHERE batch_id = 'B2'")
	deliver "$(rdr_body B2 +46700000004 Expired 403 \
	    2026-11-27T11:00:06+01:00)"
	expect_delivered "replay" 0
	after=$(sqlite3 -init /dev/null "$DB" "SELECT updated_at || report_id
	    FROM recipient_status WHERE batch_id = 'B2'")
	expect_eq "replayed report leaves the row alone" "$before" "$after"
	grep -q '0 of 1 row' "$GUARD_LOG" ||
	    check_fail "replay: the guard did not see it, or said nothing"

	# --- Batch delivery reports: one row per listed recipient, at the
	# time the daemon received the report.
	deliver_file "$FIXTURES/delivery_report_sms_full_docs.json"
	expect_delivered "full batch report (docs)" 0
	expect_eq "batch row 12025550143" "Queued 400 0 $RECEIVED -" \
	    "$(row 01JGQKFBF5KZNWJ47TAN9ZT24M 12025550143)"
	expect_eq "batch row 12025550178" "Delivered 0 1 $RECEIVED -" \
	    "$(row 01JGQKFBF5KZNWJ47TAN9ZT24M 12025550178)"
	expect_eq "batch row 12025550191" "Delivered 0 1 $RECEIVED -" \
	    "$(row 01JGQKFBF5KZNWJ47TAN9ZT24M 12025550191)"
	deliver_file "$FIXTURES/delivery_report_sms_full.json"
	expect_delivered "full batch report" 0
	expect_eq "batch client_reference" \
	    "Delivered 0 1 $RECEIVED spring campaign 26" \
	    "$(row 01JG3E28JT97KB6CQ643DZVMXX 447700900310)"
	# A recipient already Delivered is not set back by a later batch
	# report that still lists it as Dispatched; "code": "0" as a string
	# is read as 0.
	# shellcheck disable=SC2034  # read by record_from_body
	RECEIVED_AT=2026-11-27T15:00:00.000Z
	deliver '{"type":"delivery_report_mms",
	    "batch_id":"B1","total_message_count":2,"statuses":[
	    {"code":401,"status":"Dispatched","count":1,"recipients":["+46700000001"]},
	    {"code":"0","status":"Delivered","count":1,"recipients":["+46700000005"]},
	    {"code":0,"status":"Delivered","count":3}]}'
	unset RECEIVED_AT
	expect_delivered "batch report after recipient reports" 0
	expect_eq "batch Dispatched does not replace Delivered" \
	    "Delivered 0 1 2026-11-27T10:00:05Z ref-1" "$(row B1 +46700000001)"
	expect_eq "batch string code" "Delivered 0 1 $RECEIVED -" \
	    "$(row B1 +46700000005)"
	n=$(rows_count)
	# A summary report (no recipients) writes nothing.
	deliver_file "$FIXTURES/delivery_report_sms_summary_no_recipients.json"
	expect_delivered "summary report" 0
	expect_eq "summary report adds no row" "$n" "$(rows_count)"

	# --- Values from the network stay data: quotes, SQL, a line that
	# would be a sqlite3 dot-command, a NUL, non-ASCII.
	local evil_r evil_b evil_c
	evil_r="+4670'; DROP TABLE recipient_status; --"
	evil_b=$'B\'3\n.shell touch '"$T/pwned"$'\n'"'); DROP TABLE recipient_status; --"
	evil_c=$'O\'Brien "x" \\ \';\n.tables\n\t\xc3\xa5\xe2\x82\xac'
	deliver "$(rdr_body "$evil_b" "$evil_r" Delivered 0 \
	    2026-11-27T10:00:00Z "$evil_c")"
	expect_delivered "quotes and SQL in values" 0
	[[ -e $T/pwned ]] && check_fail "a value ran a sqlite3 dot-command"
	got=$(sqlite3 -init /dev/null -json "$DB" \
	    'SELECT * FROM recipient_status' |
	    jq -c --arg r "$evil_r" '[.[] | select(.recipient == $r)
		| [.batch_id, .recipient, .client_reference]]')
	want=$(jq -cn --arg b "$evil_b" --arg r "$evil_r" --arg c "$evil_c" \
	    '[[$b, $r, $c]]')
	expect_eq "hostile values stored exactly" "$want" "$got"
	# A NUL (JSON "\u0000") inside a value, followed by a quote in another.
	deliver '{"type":"recipient_delivery_report_sms",
	    "batch_id":"B4\u0000x","recipient":"+4670\u0000'"'"'","code":0,
	    "status":"Delivered","at":"2026-11-27T10:00:00Z",
	    "client_reference":"'"'"'); DROP TABLE recipient_status; --"}'
	expect_delivered "NUL in values" 0
	# SQLite's JSON functions would cut "B4\u0000x" to "B4": stored as
	# U+FFFD.
	got=$(sqlite3 -init /dev/null -json "$DB" \
	    'SELECT * FROM recipient_status' |
	    jq -c '[.[] | select(.batch_id | startswith("B4"))
		| [.batch_id, .recipient, .client_reference]]')
	want='[["B4\ufffdx","+4670\ufffd'"'"'","'"'"'); DROP TABLE recipient_status; --"]]'
	expect_eq "NUL stored as U+FFFD" "$(jq -c . <<<"$want")" "$got"
	expect_eq "table still there, every row kept" "$((n + 2))" \
	    "$(rows_count)"
	expect_eq "integrity" ok \
	    "$(sqlite3 -init /dev/null "$DB" 'PRAGMA integrity_check')"
}

# Records no version can use (each one line): the verdict is 65.
# shellcheck disable=SC2034  # used by the tests
BAD_RECORDS=(
	'this is not JSON'
	''
	'[1,2]'
	'"a string"'
	'{"kind":"recipient_delivery_report"} {"kind":"recipient_delivery_report"}'
	'{"kind":"recipient_delivery_report","received_at":"2026-11-27T10:00:00Z","batch_id":"B9","status":"Delivered","code":0,"at":"2026-11-27T10:00:00Z"}'
	'{"kind":"recipient_delivery_report","received_at":"2026-11-27T10:00:00Z","batch_id":"B9","recipient":"+1","status":7,"at":"2026-11-27T10:00:00Z"}'
	'{"kind":"recipient_delivery_report","received_at":"2026-11-27T10:00:00Z","recipient":"+1","status":"Delivered","at":"2026-11-27T10:00:00Z"}'
	'{"kind":"delivery_report","received_at":"2026-11-27T10:00:00Z","batch_id":"B9","payload":{"statuses":"Delivered"}}'
	'{"kind":"delivery_report","received_at":"2026-11-27T10:00:00Z","batch_id":"B9","payload":{"statuses":["Delivered"]}}'
	'{"kind":"delivery_report","received_at":"2026-11-27T10:00:00Z","batch_id":"B9","payload":{"statuses":[{"status":"Delivered","recipients":[5]}]}}'
	'{"kind":"recipient_delivery_report","received_at":"2026-11-27T10:00:00Z","batch_id":"B9","recipient":"+1","status":"Delivered"'
)

# refusal_cases: records it cannot use are 65, and the database is left
# alone.
refusal_cases()
{
	local n bad

	n=$(rows_count)
	for bad in "${BAD_RECORDS[@]}"; do
		judge "$bad" --db "$DB"
		expect_judged "bad record '${bad:0:60}'" 65
	done
	expect_eq "bad records add no row" "$n" "$(rows_count)"
}

# other_kind_cases: other kinds are 0, and no database is even created.
other_kind_cases()
{
	local n v other=$T/db-other/status.db

	mkdir -p "${other%/*}"
	for v in mo_text_all_fields mo_binary_padded mo_media_all_fields; do
		judge "$(record_from_body "$FIXTURES/$v.json")" --db "$other"
		expect_judged "inbound $v" 0
	done
	judge "$(record_from_json '{"type":"some_future_type","x":1}')" \
	    --db "$other"
	expect_judged "unknown kind" 0
	[[ -e $other ]] && check_fail "other kinds created the database"
	n=$(rows_count)
	judge "$(record_from_json '{"type":"mo_text","from":"+1","to":"2",
	    "id":"m1","received_at":"2026-11-27T10:00:00Z","body":"hi"}')" \
	    --db "$DB"
	expect_judged "inbound on the real database" 0
	expect_eq "inbound adds no row" "$n" "$(rows_count)"
}

# trouble_cases: a database that cannot be opened or written is a reason
# to retry (75), not to drop.
trouble_cases()
{
	local ro=$T/ro ro_mounted=0 record

	record=$(rdr B5 +1 Delivered 0 2026-11-27T10:00:00Z)
	judge "$record" --db "$T/no/such/dir/status.db"
	expect_judged "missing directory" 75
	mkdir -p "$ro" && cp "$DB" "$ro/status.db" && chmod 0555 "$ro"
	chmod 0444 "$ro/status.db"
	# Root ignores modes: make the directory a read-only mount instead.
	if [[ $(id -u) == 0 ]]; then
		mount --bind "$ro" "$ro" &&
		    mount -o remount,bind,ro "$ro" "$ro" && ro_mounted=1
		[[ $ro_mounted == 1 ]] ||
		    check_fail "unable to mount $ro read-only"
	fi
	judge "$record" --db "$ro/status.db"
	expect_judged "read-only database" 75
	if [[ $ro_mounted == 1 ]]; then
		umount "$ro" || check_fail "unable to unmount $ro"
	fi
	chmod 0755 "$ro"
}

# argument_cases PROGRAM: a mistake in the arguments must not answer 0 or
# 65 (PROGRAM exits 64, before it reads a record).
argument_cases()
{
	local args

	for args in "" "--db" "--db $DB --busy-timeout x" "--db $DB --bogus"; do
		# shellcheck disable=SC2086  # split on purpose
		run_hook "$(rdr B5 +1 Delivered 0 2026-11-27T10:00:00Z)" \
		    "$1" $args
		expect_rc "arguments '$args'" 64
	done
}
