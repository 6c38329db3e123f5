#!/usr/bin/env bash
#
# t_sqlite_status_py.sh - docs/examples/sqlite-status.py, the status
# guard as a helper of an exec sink with protocol "lines", behind the real
# daemon (two slots, so two helpers on one database), callbacks posted
# over HTTP:
#   - reports at once on a new database: every one is taken;
#   - status_cases.sh's cases, as for sqlite-status.sh: which report wins,
#     replays, batch reports, hostile values; each verdict is the HTTP
#     answer (200 = 0);
#   - a record the helper refuses answers 422 (its "65 reason" in the log);
#   - a database locked beyond --busy-timeout answers 503, then 200;
#   - the same two helper processes served all of it: no restart;
#   - SIGHUP replaces them (the old ones exit at EOF), a stop ends them.
# Then the helper alone, as the daemon would run it: many bad lines in one
# process (65 each, and it lives on); the same table as sqlite-status.sh
# makes; a database directory that appears while it runs; and
# status_cases.sh's refusals, other kinds, database trouble and bad
# arguments.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=status_cases.sh
. "$(dirname "$0")/status_cases.sh"

need_daemon
HELPER=$HOOKS/sqlite-status.py
HOOK_PROTOCOL=lines
DB=$T/db/status.db
RECORDS=$T/records.jsonl
mkdir -p "$T/db"

# dedup is off so that a replayed callback reaches the helper, as it does
# once the daemon has forgotten it; the file sink shows each record's
# received_at.
CONF=$T/webhookd.conf
cat >"$CONF" <<EOF
listen = { address = "127.0.0.1"; port = 0; path = "/sinch/sms"; };
log = { level = "info"; };
dedup = { entries = 0; };
sinks = (
  { name = "records"; kind = "file"; path = "$RECORDS"; },
  { name = "status"; kind = "exec"; protocol = "lines";
    command = [ "/usr/bin/python3", "$HELPER", "--db", "$DB",
                "--busy-timeout", "500" ];
    types = [ "recipient_delivery_report_sms", "recipient_delivery_report_mms",
              "delivery_report_sms", "delivery_report_mms" ];
    timeout_ms = 5000; max_concurrent = 2; queue_wait_ms = 10000; }
);
EOF

# deliver_file FILE: posts FILE to the daemon; the verdict is its answer.
deliver_file()
{
	local from code

	from=$(stat -c %s "$DAEMON_LOG")
	code=$(post "$1")
	GUARD_LOG=$T/guard.log
	tail -c +$((from + 1)) "$DAEMON_LOG" >"$GUARD_LOG"
	case $code in
	200) DELIVERED=0 ;;
	422) DELIVERED=65 ;;
	503) DELIVERED=75 ;;
	*) DELIVERED="HTTP $code" ;;
	esac
	# shellcheck disable=SC2034  # used by status_cases.sh
	RECEIVED=$(tail -n 1 "$RECORDS" | jq -r .received_at)
}

# judge RECORD ARGS...: runs the helper alone on RECORD; the verdict is
# its one answer, if it then exits 0 at EOF.
judge()
{
	local record=$1 answers

	shift
	run_hook "$record" "$HELPER" "$@"
	JUDGE_LOG=$HOOK_STDERR
	answers=$(cat "$T/hook.stdout")
	if [[ $HOOK_RC == 0 && $answers != *$'\n'* &&
	    $answers =~ ^[0-9]+( |$) ]]; then
		JUDGED=${answers%% *}
	else
		JUDGED="answers '$(tr '\n' '|' <<<"$answers")', exit $HOOK_RC"
	fi
}

# helper_pids: the daemon's helpers, sorted, on one line.
helper_pids()
{
	ps -o pid=,args= --ppid "$DAEMON_PID" |
	    awk '/sqlite-status\.py/ { print $1 }' | sort -n | paste -sd ' '
}

# metric NAME: the sum of the status sink's samples of NAME.
metric()
{
	curl -sS --max-time "$CURL_MAX_TIME" "$BASE_URL/metrics" |
	    awk -v m="sinch_webhookd_$1" '
		index($0, m "{") == 1 && /sink="status"/ { s += $NF }
		END { print s + 0 }'
}

# shellcheck disable=SC2317  # called through wait_for
two_helpers()
{
	[[ $(wc -w <<<"$(helper_pids)") == 2 ]]
}

# --- The daemon, with its two helpers.
start_daemon "$CONF"
wait_for 15 two_helpers || fail "no two helpers: '$(helper_pids)'"
PIDS=$(helper_pids)
expect_eq "ready with its helpers" ready \
    "$(curl -sS --max-time 5 "$BASE_URL/readyz")"

# --- Reports at once, on a database that does not exist yet: the two
# helpers race to create it, then take turns for the write lock.
AT_ONCE=12
for ((i = 1; i <= AT_ONCE; i++)); do
	rdr_body P1 "+4670000200$((10 + i))" Delivered 0 \
	    2026-11-27T10:00:00Z >"$T/p$i.json"
done
pids=()
for ((i = 1; i <= AT_ONCE; i++)); do
	{ post "$T/p$i.json"; echo; } >"$T/p$i.code" &
	pids+=("$!")
done
for pid in "${pids[@]}"; do
	wait "$pid"
done
codes=$(cat "$T"/p*.code | sort | uniq -c | tr -s ' \n' ' ')
expect_eq "$AT_ONCE reports at once: answers" " $AT_ONCE 200 " "$codes"
expect_eq "$AT_ONCE reports at once: rows" "$AT_ONCE" \
    "$(sqlite3 -init /dev/null "$DB" \
    "SELECT count(*) FROM recipient_status WHERE batch_id = 'P1'")"

status_cases

# --- A record the daemon takes but the helper cannot use: 422.
n=$(rows_count)
deliver '{"type":"delivery_report_sms","batch_id":"R1",
    "total_message_count":1,"statuses":[
    {"code":0,"status":"Delivered","count":1,"recipients":[5]}]}'
expect_delivered "recipient that is not a string" 65
grep -q 'answered 65, report rejected: statuses\[\]\.recipients\[\]' \
    "$GUARD_LOG" || check_fail "422: the helper's reason is not in the log"
expect_eq "refused report adds no row" "$n" "$(rows_count)"

# --- A database locked beyond --busy-timeout (500 ms): 503, then 200.
hold_write_lock "$DB"
rdr_body L1 +46700000003 Delivered 0 2026-11-27T10:00:00Z >"$T/l1.json"
deliver_file "$T/l1.json"
expect_delivered "database locked" 75
grep -q 'answered 75: database .* failed (database is locked)' \
    "$GUARD_LOG" || check_fail "503: the helper's reason is not in the log"
release_write_lock
deliver_file "$T/l1.json"
expect_delivered "retry after the lock" 0
expect_eq "row after the retry" \
    "Delivered 0 1 2026-11-27T10:00:00Z -" "$(row L1 +46700000003)"

# --- The same two processes served every record.
posted=$(wc -l <"$RECORDS")
expect_eq "helpers after $posted records" "$PIDS" "$(helper_pids)"
expect_eq "helper restarts" 0 "$(metric exec_helper_restarts_total)"
expect_eq "helpers running" 2 "$(metric exec_helpers_running)"

# --- SIGHUP: new helpers; the old ones got EOF and exited.
# shellcheck disable=SC2317  # called through wait_for
helpers_replaced()
{
	local pid

	two_helpers || return 1
	for pid in $PIDS; do
		pid_running "$pid" && return 1
	done
	return 0
}
kill -HUP "$DAEMON_PID"
wait_for 15 helpers_replaced ||
    check_fail "SIGHUP: helpers '$(helper_pids)', before '$PIDS'"
OLD_PIDS=$PIDS
PIDS=$(helper_pids)
expect_eq "restarts after SIGHUP (reload)" 2 \
    "$(metric exec_helper_restarts_total)"
rdr_body H1 +46700000001 Delivered 0 2026-11-27T10:00:00Z >"$T/h1.json"
deliver_file "$T/h1.json"
expect_delivered "after SIGHUP" 0
expect_eq "row after SIGHUP" "Delivered 0 1 2026-11-27T10:00:00Z -" \
    "$(row H1 +46700000001)"
note "helpers $OLD_PIDS served $posted records; after SIGHUP: $PIDS"

# --- A clean stop ends the helpers too, well before the daemon's 5 s for
# a helper to exit at EOF.
start=$(date +%s%N)
stop_daemon || check_fail "daemon did not stop within 30 s"
ms=$((($(date +%s%N) - start) / 1000000))
expect_eq "daemon exit status" 0 "$DAEMON_RC"
((ms < 4000)) || check_fail "stop took $ms ms: did a helper ignore EOF?"
for pid in $PIDS; do
	pid_running "$pid" && check_fail "helper $pid still running after stop"
done
if grep -q -E 'Traceback|sqlite-status\.py: unexpected' "$DAEMON_LOG"; then
	check_fail "the helper hit an unexpected error:" \
	    "$(grep -m 3 -A 3 Traceback "$DAEMON_LOG" | tr '\n' '|')"
fi

# --- The helper alone: one process, many bad lines, then a good one.
good=$(rdr S1 +46700000009 Delivered 0 2026-11-27T10:00:00Z)
run_hook "$(printf '%s\n' "${BAD_RECORDS[@]}" "$good")" "$HELPER" --db "$DB"
want=$(printf '65\n%.0s' "${BAD_RECORDS[@]}")$'\n0'
expect_eq "one helper, ${#BAD_RECORDS[@]} bad lines and a good one" \
    "$want" "$(cut -d ' ' -f 1 "$T/hook.stdout")"
expect_rc "exit at EOF" 0
expect_eq "the good line after the bad ones" \
    "Delivered 0 1 2026-11-27T10:00:00Z -" "$(row S1 +46700000009)"

# --- The same table as sqlite-status.sh's: either can take over a
# database the other made.
# schema DB: the table's columns and its indexes.
schema()
{
	sqlite3 -init /dev/null "$1" "
	    SELECT * FROM pragma_table_info('recipient_status');
	    SELECT name, \"unique\", origin
	        FROM pragma_index_list('recipient_status');
	    SELECT * FROM pragma_index_info('recipient_status_recipient')"
}
HOOK_PROTOCOL="exec" run_hook "$good" "$HOOKS/sqlite-status.sh" \
    --db "$T/db/sh.db"
expect_rc "sqlite-status.sh" 0
expect_eq "schema as sqlite-status.sh's" "$(schema "$T/db/sh.db")" \
    "$(schema "$DB")"
HOOK_PROTOCOL="exec" run_hook \
    "$(rdr S1 +46700000009 Failed 402 2026-11-27T10:00:01Z)" \
    "$HOOKS/sqlite-status.sh" --db "$DB"
expect_rc "sqlite-status.sh on the helper's database" 0
expect_eq "sqlite-status.sh's row on the helper's database" \
    "Failed 402 1 2026-11-27T10:00:01Z -" "$(row S1 +46700000009)"

# --- A directory that appears later: the same helper, which answered 75
# when the database could not be opened, takes the next record.
LATER_DB=$T/later/status.db
coproc LATER { exec env -i PATH="$HOOK_PATH" "$HELPER" --db "$LATER_DB" \
    2>"$T/later.stderr"; }
# shellcheck disable=SC2153  # coproc sets LATER_PID
later_pid=$LATER_PID
later_in=${LATER[1]}
printf '%s\n' "$good" >&"$later_in"
read -r -t 20 answer1 <&"${LATER[0]}"
mkdir "$T/later"
printf '%s\n' "$good" >&"$later_in"
read -r -t 20 answer2 <&"${LATER[0]}"
exec {later_in}>&-
wait "$later_pid"
rc=$?
expect_eq "no directory yet" 75 "${answer1%% *}"
expect_eq "the directory made" "0 exit 0" "$answer2 exit $rc"
expect_eq "rows once the directory is there" 1 \
    "$(sqlite3 -init /dev/null "$LATER_DB" \
    'SELECT count(*) FROM recipient_status')"

refusal_cases
other_kind_cases
trouble_cases
argument_cases "$HELPER"

finish
