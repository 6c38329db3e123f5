#!/usr/bin/env bash
#
# t_sqlite_status.sh - docs/examples/sqlite-status.sh, one report at a
# time: which report wins, batch reports, values that look like SQL or
# like sqlite3 dot-commands, records it must refuse (65), kinds it must
# ignore (0, no database), database trouble (75) and bad arguments.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

HOOK=$HOOKS/sqlite-status.sh
DB=$T/db/status.db
mkdir -p "$T/db"

# status_hook RECORD: runs the hook on $DB.
status_hook()
{
	run_hook "$1" "$HOOK" --db "$DB"
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

# --- Delivered, then a late Queued with a newer time: Delivered stays.
status_hook "$(rdr B1 +46700000001 Delivered 0 2026-11-27T10:00:05Z ref-1)"
expect_rc "Delivered" 0
status_hook "$(rdr B1 +46700000001 Queued 400 2026-11-27T10:09:00Z ref-1)"
expect_rc "late Queued" 0
expect_eq "Delivered then late Queued" \
    "Delivered 0 1 2026-11-27T10:00:05Z ref-1" "$(row B1 +46700000001)"
grep -q '0 of 1 row' "$HOOK_STDERR" ||
    check_fail "late Queued: no note that the row was kept"
expect_eq "journal mode" wal \
    "$(sqlite3 -init /dev/null "$DB" 'PRAGMA journal_mode')"

# --- Queued, then Dispatched (newer), then Delivered: each replaces.
status_hook "$(rdr B1 +46700000002 Queued 400 2026-11-27T10:00:01Z)"
expect_rc "Queued" 0
expect_eq "Queued" "Queued 400 0 2026-11-27T10:00:01Z -" \
    "$(row B1 +46700000002)"
status_hook "$(rdr B1 +46700000002 Dispatched 401 2026-11-27T10:00:02Z)"
expect_rc "Dispatched" 0
expect_eq "Queued then Dispatched" "Dispatched 401 0 2026-11-27T10:00:02Z -" \
    "$(row B1 +46700000002)"
# An older intermediate does not replace a newer intermediate.
status_hook "$(rdr B1 +46700000002 Queued 400 2026-11-27T10:00:01Z)"
expect_rc "stale Queued" 0
expect_eq "stale Queued after Dispatched" \
    "Dispatched 401 0 2026-11-27T10:00:02Z -" "$(row B1 +46700000002)"
status_hook "$(rdr B1 +46700000002 Delivered 0 2026-11-27T10:00:09Z)"
expect_rc "Delivered after Dispatched" 0
expect_eq "Queued/Dispatched then Delivered" \
    "Delivered 0 1 2026-11-27T10:00:09Z -" "$(row B1 +46700000002)"

# --- A final beats an intermediate even when its time is older.
status_hook "$(rdr B1 +46700000003 Dispatched 401 2026-11-27T10:00:09Z)"
status_hook "$(rdr B1 +46700000003 Failed 402 2026-11-27T10:00:03Z)"
expect_rc "older Failed after Dispatched" 0
expect_eq "older final beats newer intermediate" \
    "Failed 402 1 2026-11-27T10:00:03Z -" "$(row B1 +46700000003)"

# --- Two finals: the newer "at" wins, compared as instants, not text.
status_hook "$(rdr B2 +46700000004 Failed 402 2026-11-27T10:00:05Z)"
expect_rc "Failed" 0
status_hook "$(rdr B2 +46700000004 Delivered 0 2026-11-27T10:00:04.900Z)"
expect_rc "older Delivered" 0
expect_eq "older final does not replace a final" \
    "Failed 402 1 2026-11-27T10:00:05Z -" "$(row B2 +46700000004)"
# "10:00:05.500Z" > "10:00:05Z" as instants, although as text it sorts
# before it ('.' < 'Z').
status_hook "$(rdr B2 +46700000004 Delivered 0 2026-11-27T10:00:05.500Z)"
expect_rc "newer Delivered" 0
expect_eq "newer final replaces a final" \
    "Delivered 0 1 2026-11-27T10:00:05.500Z -" "$(row B2 +46700000004)"
# A time with an offset: 11:00:06+01:00 is 10:00:06Z, newer still.
status_hook "$(rdr B2 +46700000004 Expired 403 2026-11-27T11:00:06+01:00)"
expect_eq "offset time compared as an instant" \
    "Expired 403 1 2026-11-27T11:00:06+01:00 -" "$(row B2 +46700000004)"
# ...and 11:00:04+01:00 (10:00:04Z) is older: ignored.
status_hook "$(rdr B2 +46700000004 Failed 402 2026-11-27T11:00:04+01:00)"
expect_eq "older offset time ignored" \
    "Expired 403 1 2026-11-27T11:00:06+01:00 -" "$(row B2 +46700000004)"

# --- Replaying a report changes nothing (not even updated_at).
before=$(sqlite3 -init /dev/null "$DB" \
    "SELECT updated_at || report_id FROM recipient_status WHERE batch_id = 'B2'")
status_hook "$(rdr B2 +46700000004 Expired 403 2026-11-27T11:00:06+01:00)"
expect_rc "replay" 0
after=$(sqlite3 -init /dev/null "$DB" \
    "SELECT updated_at || report_id FROM recipient_status WHERE batch_id = 'B2'")
expect_eq "replayed report leaves the row alone" "$before" "$after"

# --- Batch delivery reports: one row per listed recipient.
status_hook "$(record_from_body \
    "$FIXTURES/delivery_report_sms_full_docs.json")"
expect_rc "full batch report (docs)" 0
expect_eq "batch row 12025550143" "Queued 400 0 2026-11-27T14:00:00.123Z -" \
    "$(row 01JGQKFBF5KZNWJ47TAN9ZT24M 12025550143)"
expect_eq "batch row 12025550178" "Delivered 0 1 2026-11-27T14:00:00.123Z -" \
    "$(row 01JGQKFBF5KZNWJ47TAN9ZT24M 12025550178)"
expect_eq "batch row 12025550191" "Delivered 0 1 2026-11-27T14:00:00.123Z -" \
    "$(row 01JGQKFBF5KZNWJ47TAN9ZT24M 12025550191)"
status_hook "$(record_from_body "$FIXTURES/delivery_report_sms_full.json")"
expect_rc "full batch report" 0
expect_eq "batch client_reference" \
    "Delivered 0 1 2026-11-27T14:00:00.123Z spring campaign 26" \
    "$(row 01JG3E28JT97KB6CQ643DZVMXX 447700900310)"
# A recipient already Delivered is not set back by a later batch report
# that still lists it as Dispatched; "code": "0" as a string is read as 0.
RECEIVED_AT=2026-11-27T15:00:00.000Z
status_hook "$(record_from_json '{"type":"delivery_report_mms",
    "batch_id":"B1","total_message_count":2,"statuses":[
    {"code":401,"status":"Dispatched","count":1,"recipients":["+46700000001"]},
    {"code":"0","status":"Delivered","count":1,"recipients":["+46700000005"]},
    {"code":0,"status":"Delivered","count":3}]}')"
unset RECEIVED_AT
expect_rc "batch report after recipient reports" 0
expect_eq "batch Dispatched does not replace Delivered" \
    "Delivered 0 1 2026-11-27T10:00:05Z ref-1" "$(row B1 +46700000001)"
expect_eq "batch string code" "Delivered 0 1 2026-11-27T15:00:00.000Z -" \
    "$(row B1 +46700000005)"
n=$(rows_count)
# A summary report (no recipients) writes nothing.
status_hook "$(record_from_body \
    "$FIXTURES/delivery_report_sms_summary_no_recipients.json")"
expect_rc "summary report" 0
expect_eq "summary report adds no row" "$n" "$(rows_count)"

# --- Values from the network stay data: quotes, SQL, a line that would be
# a sqlite3 dot-command, a NUL, non-ASCII.
EVIL_R="+4670'; DROP TABLE recipient_status; --"
EVIL_B=$'B\'3\n.shell touch '"$T/pwned"$'\n'"'); DROP TABLE recipient_status; --"
EVIL_C=$'O\'Brien "x" \\ \';\n.tables\n\t\xc3\xa5\xe2\x82\xac'
status_hook "$(rdr "$EVIL_B" "$EVIL_R" Delivered 0 2026-11-27T10:00:00Z \
    "$EVIL_C")"
expect_rc "quotes and SQL in values" 0
[[ -e $T/pwned ]] && check_fail "a value ran a sqlite3 dot-command"
got=$(sqlite3 -init /dev/null -json "$DB" 'SELECT * FROM recipient_status' |
    jq -c --arg r "$EVIL_R" '[.[] | select(.recipient == $r)
	| [.batch_id, .recipient, .client_reference]]')
want=$(jq -cn --arg b "$EVIL_B" --arg r "$EVIL_R" --arg c "$EVIL_C" \
    '[[$b, $r, $c]]')
expect_eq "hostile values stored exactly" "$want" "$got"
# A NUL (JSON "\u0000") inside a value, followed by a quote in another.
status_hook "$(record_from_json '{"type":"recipient_delivery_report_sms",
    "batch_id":"B4\u0000x","recipient":"+4670\u0000'"'"'","code":0,
    "status":"Delivered","at":"2026-11-27T10:00:00Z",
    "client_reference":"'"'"'); DROP TABLE recipient_status; --"}')"
expect_rc "NUL in values" 0
# SQLite's JSON functions would cut "B4\u0000x" to "B4": stored as U+FFFD.
got=$(sqlite3 -init /dev/null -json "$DB" 'SELECT * FROM recipient_status' |
    jq -c '[.[] | select(.batch_id | startswith("B4"))
	| [.batch_id, .recipient, .client_reference]]')
want='[["B4\ufffdx","+4670\ufffd'"'"'","'"'"'); DROP TABLE recipient_status; --"]]'
expect_eq "NUL stored as U+FFFD" "$(jq -c . <<<"$want")" "$got"
expect_eq "table still there, every row kept" "$((n + 2))" "$(rows_count)"
expect_eq "integrity" ok \
    "$(sqlite3 -init /dev/null "$DB" 'PRAGMA integrity_check')"

# --- Records it cannot use: 65, and the database is left alone.
n=$(rows_count)
bad_records=(
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
for bad in "${bad_records[@]}"; do
	printf '%s' "$bad" >"$T/record.in"
	(cd "$T" && exec timeout -k 5 60 env -i PATH="$HOOK_PATH" \
	    "$HOOK" --db "$DB") <"$T/record.in" >/dev/null 2>"$T/bad.stderr"
	rc=$?
	[[ $rc == 65 ]] || check_fail "bad record '${bad:0:60}': exit $rc, not 65"
done
expect_eq "bad records add no row" "$n" "$(rows_count)"

# --- Other kinds: 0, and no database is even created.
OTHER_DB=$T/db/other.db
for v in mo_text_all_fields mo_binary_padded mo_media_all_fields; do
	run_hook "$(record_from_body "$FIXTURES/$v.json")" "$HOOK" --db "$OTHER_DB"
	expect_rc "inbound $v" 0
done
run_hook "$(record_from_json '{"type":"some_future_type","x":1}')" \
    "$HOOK" --db "$OTHER_DB"
expect_rc "unknown kind" 0
[[ -e $OTHER_DB ]] && check_fail "other kinds created the database"
run_hook "$(record_from_json '{"type":"mo_text","from":"+1","to":"2",
    "id":"m1","received_at":"2026-11-27T10:00:00Z","body":"hi"}')" \
    "$HOOK" --db "$DB"
expect_rc "inbound on the real database" 0
expect_eq "inbound adds no row" "$n" "$(rows_count)"

# --- A database that cannot be opened is a reason to retry, not to drop.
run_hook "$(rdr B5 +1 Delivered 0 2026-11-27T10:00:00Z)" \
    "$HOOK" --db "$T/no/such/dir/status.db"
expect_rc "missing directory" 75
mkdir -p "$T/ro" && cp "$DB" "$T/ro/status.db" && chmod 0555 "$T/ro"
chmod 0444 "$T/ro/status.db"
# Root ignores modes: make the directory a read-only mount instead.
ro_mounted=0
if [[ $(id -u) == 0 ]]; then
	mount --bind "$T/ro" "$T/ro" &&
	    mount -o remount,bind,ro "$T/ro" "$T/ro" && ro_mounted=1
	[[ $ro_mounted == 1 ]] || check_fail "unable to mount $T/ro read-only"
fi
run_hook "$(rdr B5 +1 Delivered 0 2026-11-27T10:00:00Z)" \
    "$HOOK" --db "$T/ro/status.db"
expect_rc "read-only database" 75
if [[ $ro_mounted == 1 ]]; then
	umount "$T/ro" || check_fail "unable to unmount $T/ro"
fi
chmod 0755 "$T/ro"

# --- Arguments: a mistake must not answer 0 or 65.
for args in "" "--db" "--db $DB --busy-timeout x" "--db $DB --bogus"; do
	# shellcheck disable=SC2086  # split on purpose
	run_hook "$(rdr B5 +1 Delivered 0 2026-11-27T10:00:00Z)" "$HOOK" $args
	expect_rc "arguments '$args'" 64
done

finish
