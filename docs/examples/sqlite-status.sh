#!/bin/sh
#
# sqlite-status.sh - an exec hook for sinch-webhookd that keeps the latest
# delivery status of every (batch_id, recipient) in an SQLite database.
#
#   sqlite-status.sh --db /var/lib/sinch-webhookd/status.db [--busy-timeout MS]
#
# The daemon runs it once per report with the record (one JSON line) on
# stdin.  It handles
#   - recipient delivery reports: one row;
#   - batch delivery reports ("full" reports, whose statuses[] buckets list
#     their recipients): one row per listed recipient; buckets without
#     recipients (summary reports) carry no per-recipient news and are
#     skipped;
#   - every other kind: exit 0, nothing done (the database is not opened).
#
# Which report wins (the row's "rank" is (final, time)):
#   - a final status (Delivered, Failed, Expired, Aborted, Rejected,
#     Cancelled, Deleted, Unknown) always replaces an intermediate one
#     (Queued, Dispatched, or any status this script does not know);
#   - an intermediate status never replaces a final one, however late;
#   - between two finals, or two intermediates, the one with the strictly
#     newer time wins; on a tie the stored row stays, so a replayed report
#     changes nothing (the hook is idempotent).
#   The time is the report's "at" (when Sinch saw the status).  Batch
#   reports carry no time of their own, so their rows use "received_at",
#   the moment the daemon received the callback.  Times are compared as
#   instants (SQLite's julianday()), not as text, so "...:22Z" and
#   "...:22.500Z" or "+02:00" offsets order correctly.
#
# Exit status, as the exec sink reads it:
#   0   recorded, or nothing to record;
#   65  the record is not one JSON object or lacks batch_id, recipient or
#       status (EX_DATAERR: the daemon answers 422, Sinch drops it);
#   75  the database failed: busy or locked beyond --busy-timeout, disk
#       full, I/O error, read-only or missing directory, jq or sqlite3 not
#       installed (EX_TEMPFAIL: the daemon answers 503, Sinch retries);
#   64  bad arguments (any status but 0 and 65 makes Sinch retry, so a
#       configuration mistake loses nothing while it is being fixed).
#   Every database error is treated as temporary: the record was already
#   checked by jq, so a failure past that point is never the report's fault.
#
# Values from the network never become SQL text.  jq checks the record
# and turns it into a JSON array of rows; that JSON reaches sqlite3 only as
# a hexadecimal blob literal (X'7b22...'), which SQLite's JSON functions
# take apart.  A hex literal contains nothing but 0-9 and a-f, so no value
# can end a literal, start a statement or a dot-command.  The alternatives
# were weaker: sqlite3's ".parameter set KEY VALUE" first evaluates VALUE
# as an SQL expression, so it needs the same quoting as plain SQL text; and
# quoting by doubling single quotes is right for SQL but not for the
# sqlite3 shell, which cuts an input line at a NUL byte (JSON may carry
# "\u0000"), after which the doubled quotes of later values come out of
# step and can end a literal early.
#
# Concurrency: the database is in WAL mode (readers never block the hook,
# the hook never blocks readers) and each run waits up to --busy-timeout
# milliseconds (default 3000) for the write lock, so several hooks at once
# (max_concurrent > 1) queue up instead of failing.  Keep --busy-timeout
# well below the sink's timeout_ms.  Each run writes in one transaction
# (BEGIN IMMEDIATE ... COMMIT) with SQLite's default synchronous=FULL, so
# once the hook exits 0 the row is on disk.
#
# Needs: POSIX sh, jq (1.6 or later), sqlite3 (3.38 or later, for the
# built-in JSON functions; Debian 12 has 3.40), od and tr.

PROG=sqlite-status

usage()
{
	echo "usage: $PROG --db FILE [--busy-timeout MS]" >&2
	exit 64
}

db=""
busy_ms=3000
while [ $# -gt 0 ]; do
	case $1 in
	--db)
		[ $# -ge 2 ] || usage
		db=$2
		shift 2
		;;
	--busy-timeout)
		[ $# -ge 2 ] || usage
		busy_ms=$2
		shift 2
		;;
	*)
		usage
		;;
	esac
done
[ -n "$db" ] || usage
# busy_ms goes into the SQL script below: digits only.
case $busy_ms in
'' | *[!0-9]*) usage ;;
esac

for tool in jq sqlite3 od tr; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "$PROG: $tool not found in PATH ($PATH)" >&2
		exit 75
	fi
done

# Check the record and compute the rows to write.  Prints "null" for a kind
# this hook ignores, otherwise a JSON array of rows (possibly empty).  jq
# fails (parse error or error()) on a record it cannot use.
rows=$(jq -c -s '
	def final_statuses:
	  ["Delivered", "Failed", "Expired", "Aborted", "Rejected",
	   "Cancelled", "Deleted", "Unknown"];
	def is_final: . as $s | any(final_statuses[]; . == $s);
	def text($what):
	  if type == "string" and length > 0 then .
	  else error("\($what) missing or not a non-empty string") end;
	# Sinch documents "code": "0" as well as 0; keep any other value out.
	def code:
	  if type == "number" then .
	  elif type == "string" and test("^-?[0-9]{1,9}$") then tonumber
	  else null end;
	def opt_text: if type == "string" then . else null end;

	if length != 1 then error("expected one JSON record, got \(length)")
	else .[0] end
	| if type != "object" then error("the record is not a JSON object")
	  else . end
	| . as $r
	| if $r.kind == "recipient_delivery_report" then
	    ($r.received_at | text("received_at")) as $received
	    | [{
	      batch_id: ($r.batch_id | text("batch_id")),
	      recipient: ($r.recipient | text("recipient")),
	      status: ($r.status | text("status")),
	      code: ($r.code | code),
	      at: (($r.at | opt_text) // $received),
	      received_at: $received,
	      client_reference: ($r.client_reference | opt_text),
	      type: ($r.type | opt_text),
	      report_id: ($r.id | opt_text)
	    }]
	  elif $r.kind == "delivery_report" then
	    ($r.received_at | text("received_at")) as $received
	    | ($r.batch_id | text("batch_id")) as $batch
	    | ($r.client_reference // $r.payload.client_reference
	       | opt_text) as $cref
	    | ($r.payload.statuses
	       | if type == "array" then .
	         else error("payload.statuses missing or not an array") end)
	    | [ .[]
	        | if type == "object" then .
	          else error("a statuses[] entry is not an object") end
	        | (.status | text("statuses[].status")) as $status
	        | (.code | code) as $code
	        | (.recipients // []
	           | if type == "array" then .
	             else error("statuses[].recipients is not an array") end)
	        | .[]
	        | {
	            batch_id: $batch,
	            recipient: text("statuses[].recipients[]"),
	            status: $status,
	            code: $code,
	            at: $received,
	            received_at: $received,
	            client_reference: $cref,
	            type: ($r.type | opt_text),
	            report_id: ($r.id | opt_text)
	          }
	      ]
	  else null end
	# SQLite reads a JSON "\u0000" as the end of the text: store NUL as
	# U+FFFD so that "B1\u0000x" and "B1\u0000y" stay two batches.
	| def no_nul:
	    if type == "string"
	    then explode | map(if . == 0 then 65533 else . end) | implode
	    else . end;
	  if type == "array"
	  then map(map_values(no_nul) | .final = (.status | is_final))
	  else . end
')
rc=$?
if [ $rc -ne 0 ]; then
	# jq has printed its reason (parse error or error()) on stderr.
	echo "$PROG: unusable record (jq exit $rc)" >&2
	exit 65
fi
case $rows in
null)
	exit 0 ;;
'[]')
	echo "$PROG: no recipients listed in the report: nothing to record" >&2
	exit 0 ;;
'['*)
	;;
*)
	echo "$PROG: unexpected output from jq" >&2
	exit 65 ;;
esac

# The rows as a hex string: the only form in which they enter the SQL.
# (od -v: no "*" abbreviation of repeated lines.)
hex=$(printf '%s' "$rows" | od -An -v -tx1 | tr -d ' \n')
case $hex in
'' | *[!0-9a-f]*)
	echo "$PROG: hex encoding failed" >&2
	exit 75 ;;
esac

# WAL, so readers never wait for the hook (the file remembers it; once
# set, this is a quick no-op).  Hooks racing to create the database can
# see SQLITE_BUSY from the switch without the busy timeout applying, so
# it is a best-effort step of its own: the transaction below is correct
# in either journal mode, and a later run finishes the switch.
sqlite3 -batch -init /dev/null "$db" ".timeout $busy_ms" \
    "PRAGMA journal_mode = WAL;" >/dev/null 2>&1 || :

# -bail: stop at the first error (the open transaction is rolled back);
# -init /dev/null: ignore any ~/.sqliterc.  ".timeout" sets the busy
# timeout before anything touches the file.  The last statement prints
# how many rows were written or replaced.
out=$(sqlite3 -batch -bail -init /dev/null "$db" <<EOF
.timeout $busy_ms
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS recipient_status (
    batch_id         TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    status           TEXT NOT NULL,    -- as Sinch sent it
    code             INTEGER,          -- Sinch's status code
    final            INTEGER NOT NULL, -- 1 if status is final
    at               TEXT NOT NULL,    -- the report's time (see above)
    at_jd            REAL NOT NULL,    -- julianday(at), for ordering
    client_reference TEXT,
    type             TEXT,             -- the report's type
    report_id        TEXT,             -- the daemon's request id
    updated_at       TEXT NOT NULL,    -- when this row was last written
    PRIMARY KEY (batch_id, recipient)
);
CREATE INDEX IF NOT EXISTS recipient_status_recipient
    ON recipient_status (recipient);
WITH r(v) AS (SELECT value FROM json_each(CAST(X'$hex' AS TEXT)))
INSERT INTO recipient_status (batch_id, recipient, status, code, final,
    at, at_jd, client_reference, type, report_id, updated_at)
SELECT json_extract(v, '\$.batch_id'),
       json_extract(v, '\$.recipient'),
       json_extract(v, '\$.status'),
       json_extract(v, '\$.code'),
       json_extract(v, '\$.final'),
       json_extract(v, '\$.at'),
       coalesce(julianday(json_extract(v, '\$.at')),
                julianday(json_extract(v, '\$.received_at')),
                julianday('now')),
       json_extract(v, '\$.client_reference'),
       json_extract(v, '\$.type'),
       json_extract(v, '\$.report_id'),
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
FROM r WHERE true
ON CONFLICT (batch_id, recipient) DO UPDATE SET
    status = excluded.status,
    code = excluded.code,
    final = excluded.final,
    at = excluded.at,
    at_jd = excluded.at_jd,
    client_reference = coalesce(excluded.client_reference,
                                recipient_status.client_reference),
    type = excluded.type,
    report_id = excluded.report_id,
    updated_at = excluded.updated_at
WHERE excluded.final > recipient_status.final
   OR (excluded.final = recipient_status.final
       AND excluded.at_jd > recipient_status.at_jd);
SELECT changes();
COMMIT;
EOF
)
rc=$?
if [ $rc -ne 0 ]; then
	# sqlite3 has printed the error (e.g. "database is locked") on stderr.
	echo "$PROG: database $db failed (sqlite3 exit $rc): try again later" >&2
	exit 75
fi

# Say so when a report was older than what is stored (normal when Sinch
# delivers reports out of order), so the log explains an unchanged row.
total=$(printf '%s' "$rows" | jq 'length')
changed=$(printf '%s\n' "$out" | tail -n 1)
if [ "$changed" != "$total" ]; then
	echo "$PROG: $changed of $total row(s) changed; a stored final or" \
	    "newer status is kept" >&2
fi
exit 0
