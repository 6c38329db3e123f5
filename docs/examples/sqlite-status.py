#!/usr/bin/python3
#
# sqlite-status.py - a long-running helper for sinch-webhookd's exec sink
# (protocol = "lines") that keeps the latest delivery status of every
# (batch_id, recipient) in an SQLite database: the status-regression guard
# of sqlite-status.sh, with one Python process per slot instead of a shell,
# jq and sqlite3 per report.
#
#   sqlite-status.py --db /var/lib/sinch-webhookd/status.db [--busy-timeout MS]
#
# The daemon starts one helper per slot (max_concurrent) and writes one
# record (one JSON line) per line on its stdin.  The helper answers each
# record with one line on stdout, once its transaction has committed:
#   0             recorded, or nothing to record;
#   65 <reason>   the record is not one JSON object or lacks batch_id,
#                 recipient or status (EX_DATAERR: the daemon answers 422,
#                 Sinch drops it);
#   75 <reason>   the database failed: busy or locked beyond
#                 --busy-timeout, disk full, I/O error, read-only or
#                 missing directory, or anything unexpected (EX_TEMPFAIL:
#                 the daemon answers 503, Sinch retries).
# Every database error is treated as temporary: the record was already
# checked, so a failure past that point is never the report's fault.  At
# EOF on stdin (SIGHUP, shutdown) it closes the database and exits 0.
# Bad arguments exit 64 before anything is read: the daemon answers 503
# and starts the helper again after a backoff, so a configuration mistake
# loses nothing while it is being fixed.  Notes go to stderr, which the
# daemon logs with the sink name and the record's id.
#
# It handles the same reports as sqlite-status.sh, and writes the same
# table, so either can run on a database the other made:
#   - recipient delivery reports: one row;
#   - batch delivery reports ("full" reports, whose statuses[] buckets list
#     their recipients): one row per listed recipient; buckets without
#     recipients (summary reports) carry no per-recipient news and are
#     skipped;
#   - every other kind: answer 0, nothing done (the database is not even
#     opened until a report has a row to write).
#
# Which report wins (the row's "rank" is (final, time)):
#   - a final status (Delivered, Failed, Expired, Aborted, Rejected,
#     Cancelled, Deleted, Unknown) always replaces an intermediate one
#     (Queued, Dispatched, or any status this helper does not know);
#   - an intermediate status never replaces a final one, however late;
#   - between two finals, or two intermediates, the one with the strictly
#     newer time wins; on a tie the stored row stays, so a replayed report
#     changes nothing (the helper is idempotent).
#   The time is the report's "at" (when Sinch saw the status).  Batch
#   reports carry no time of their own, so their rows use "received_at",
#   the moment the daemon received the callback.  Times are compared as
#   instants (SQLite's julianday()), not as text, so "...:22Z" and
#   "...:22.500Z" or "+02:00" offsets order correctly.
#
# Values from the network never become SQL text: they are bound as
# parameters.  NUL characters (JSON "\u0000") are stored as U+FFFD, as
# sqlite-status.sh must (SQLite's JSON functions cut a string at a NUL),
# so that both write the same rows.
#
# Concurrency: the database is in WAL mode (readers never block the
# helpers, the helpers never block readers) and each write waits up to
# --busy-timeout milliseconds (default 3000) for the write lock, so several
# helpers at once (max_concurrent > 1) queue up instead of failing; a lock
# held longer answers 75.  Keep --busy-timeout well below the sink's
# timeout_ms: a helper that does not answer in time is killed and started
# again.  Each record is written in one transaction (BEGIN IMMEDIATE ...
# COMMIT) with SQLite's default synchronous=FULL, so once the helper has
# answered 0 the rows are on disk.
#
# To try it by hand, feed it records and read the answers, for instance
# the last ones a file sink wrote, into a scratch database:
#   tail -n 20 /var/lib/sinch-webhookd/reports.jsonl |
#       sqlite-status.py --db /tmp/status.db
#
# Needs: Python 3.11 or later, standard library only (its sqlite3 module
# must have SQLite 3.24 or later, for upsert; Debian 12 has 3.40).

import argparse
import json
import re
import sqlite3
import sys
import traceback

PROG = "sqlite-status.py"

EX_OK = 0
EX_USAGE = 64
EX_DATAERR = 65
EX_TEMPFAIL = 75

FINAL_STATUSES = frozenset((
    "Delivered", "Failed", "Expired", "Aborted", "Rejected", "Cancelled",
    "Deleted", "Unknown",
))

# The answer line must stay well below the daemon's 1024 bytes.
REASON_MAX_BYTES = 300

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS recipient_status (
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
    )""",
    """CREATE INDEX IF NOT EXISTS recipient_status_recipient
        ON recipient_status (recipient)""",
)

# One row; the WHERE of the upsert is the whole regression guard.
UPSERT = """
INSERT INTO recipient_status (batch_id, recipient, status, code, final,
    at, at_jd, client_reference, type, report_id, updated_at)
VALUES (:batch_id, :recipient, :status, :code, :final, :at,
    coalesce(julianday(:at), julianday(:received_at), julianday('now')),
    :client_reference, :type, :report_id,
    strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
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
       AND excluded.at_jd > recipient_status.at_jd)
"""


class Unusable(Exception):
    """The record can never be used: answer 65."""


# ---------------------------------------------------------------------------
# The record -> the rows to write.

def text(value, what):
    """A required field: a non-empty string."""
    if isinstance(value, str) and value:
        return value
    raise Unusable(f"{what} missing or not a non-empty string")


def opt_text(value):
    return value if isinstance(value, str) else None


def code(value):
    """Sinch documents "code": "0" as well as 0; any other value is NULL."""
    if isinstance(value, bool):  # a JSON true is no number
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,9}", value):
        return int(value)
    return None


def json_int(digits):
    """
    An integer beyond SQLite's 64 bits becomes a float, as in jq (which
    also spares Python's limit on the digits of an int read from text).
    """
    n = float(digits) if len(digits) > 20 else int(digits)
    return n if -2**63 <= n < 2**63 else float(n)


def reject_constant(name):
    """NaN and Infinity, which Python's json would take."""
    raise ValueError(f"{name} is not JSON")


# NUL: see the header.  A lone surrogate ("\udc80") cannot be stored as
# UTF-8 at all; jq replaces it the same way.
BAD_CHARS = re.compile("[\x00\ud800-\udfff]")


def no_nul(value):
    """A string as it is stored: NUL and lone surrogates as U+FFFD."""
    return BAD_CHARS.sub("\ufffd", value) if isinstance(value, str) else value


def recipient_rows(r):
    received = text(r.get("received_at"), "received_at")
    at = r.get("at")
    return [{
        "batch_id": text(r.get("batch_id"), "batch_id"),
        "recipient": text(r.get("recipient"), "recipient"),
        "status": text(r.get("status"), "status"),
        "code": code(r.get("code")),
        "at": at if isinstance(at, str) else received,
        "received_at": received,
        "client_reference": opt_text(r.get("client_reference")),
        "type": opt_text(r.get("type")),
        "report_id": opt_text(r.get("id")),
    }]


def batch_rows(r):
    received = text(r.get("received_at"), "received_at")
    batch = text(r.get("batch_id"), "batch_id")
    payload = r.get("payload")
    if not isinstance(payload, dict):
        payload = {}
    # The record's client_reference, else the callback's (as jq's //).
    cref = r.get("client_reference")
    if cref is None or cref is False:
        cref = payload.get("client_reference")
    statuses = payload.get("statuses")
    if not isinstance(statuses, list):
        raise Unusable("payload.statuses missing or not an array")
    rows = []
    for bucket in statuses:
        if not isinstance(bucket, dict):
            raise Unusable("a statuses[] entry is not an object")
        status = text(bucket.get("status"), "statuses[].status")
        recipients = bucket.get("recipients")
        if recipients is None or recipients is False:
            recipients = []
        if not isinstance(recipients, list):
            raise Unusable("statuses[].recipients is not an array")
        for recipient in recipients:
            rows.append({
                "batch_id": batch,
                "recipient": text(recipient, "statuses[].recipients[]"),
                "status": status,
                "code": code(bucket.get("code")),
                "at": received,
                "received_at": received,
                "client_reference": opt_text(cref),
                "type": opt_text(r.get("type")),
                "report_id": opt_text(r.get("id")),
            })
    return rows


def rows_of(line):
    """
    The rows a record (one line, bytes) asks for: None for a kind this
    helper ignores, else a list (empty when no recipient is listed).
    Raises Unusable for a record it cannot use.
    """
    # Bytes that are not UTF-8 become U+FFFD, as jq reads them.
    doc = line.removesuffix(b"\n").decode("utf-8", "replace")
    try:
        record = json.loads(doc, parse_int=json_int,
                            parse_constant=reject_constant)
    except (ValueError, RecursionError) as e:
        raise Unusable(f"the record is not JSON: {e}") from None
    if not isinstance(record, dict):
        raise Unusable("the record is not a JSON object")
    kind = record.get("kind")
    if kind == "recipient_delivery_report":
        rows = recipient_rows(record)
    elif kind == "delivery_report":
        rows = batch_rows(record)
    else:
        return None
    for row in rows:
        for key, value in row.items():
            row[key] = no_nul(value)
        row["final"] = int(row["status"] in FINAL_STATUSES)
    return rows


# ---------------------------------------------------------------------------
# The database.

class Store:
    """
    The database, opened at the first record with rows to write and kept
    open.  After an error other than a busy lock it is closed, and opened
    again for the next record: a directory made writable, or a disk with
    room again, then works without restarting the helper.
    """

    def __init__(self, path, busy_ms):
        self.path = path
        self.busy_ms = busy_ms
        self.db = None
        self.is_wal = False

    def open(self):
        if self.db is None:
            # timeout: SQLite's busy timeout, for every statement.
            # isolation_level=None: no implicit transactions; write()
            # says BEGIN IMMEDIATE itself.
            self.db = sqlite3.connect(self.path,
                                      timeout=self.busy_ms / 1000,
                                      isolation_level=None)
        # WAL, so readers never wait for the helpers (the file remembers
        # it; once set, this is skipped).  Helpers racing to create the
        # database can see SQLITE_BUSY here without the busy timeout
        # applying, so it is a best-effort step of its own: the
        # transaction is correct in either journal mode, and the next
        # record tries again.
        if not self.is_wal:
            try:
                mode = self.db.execute("PRAGMA journal_mode = WAL").fetchone()
                self.is_wal = mode is not None and mode[0] == "wal"
            except sqlite3.Error:
                pass

    def write(self, rows):
        """Writes rows in one transaction; returns how many changed."""
        self.open()
        db = self.db
        before = db.total_changes
        try:
            # IMMEDIATE: take the write lock first (waiting up to the
            # busy timeout), rather than fail half-way as a reader that
            # wants to write.
            db.execute("BEGIN IMMEDIATE")
            for statement in SCHEMA:
                db.execute(statement)
            db.executemany(UPSERT, rows)
            db.execute("COMMIT")
        except BaseException:
            # A failed COMMIT can leave the transaction open: end it, so
            # that the lock is not kept while Sinch waits to retry.
            if db.in_transaction:
                try:
                    db.rollback()
                except sqlite3.Error:
                    pass
            raise
        return db.total_changes - before

    def failed(self, error):
        """After error: keep the connection only if the lock was busy."""
        if getattr(error, "sqlite_errorname", "") not in ("SQLITE_BUSY",
                                                          "SQLITE_LOCKED"):
            self.close()

    def close(self):
        if self.db is not None:
            try:
                self.db.close()
            except sqlite3.Error:
                pass
            self.db = None
            self.is_wal = False


# ---------------------------------------------------------------------------
# One record, one answer.

def note(message):
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def handle(store, line):
    """Returns (status, reason) for one record."""
    try:
        rows = rows_of(line)
    except Unusable as e:
        return EX_DATAERR, str(e)
    if rows is None:
        return EX_OK, ""
    if not rows:
        note("no recipients listed in the report: nothing to record")
        return EX_OK, ""
    try:
        changed = store.write(rows)
    except sqlite3.Error as e:
        store.failed(e)
        return EX_TEMPFAIL, f"database {store.path} failed ({e}): " \
            "try again later"
    # Say so when a report was older than what is stored (normal when
    # Sinch delivers reports out of order), so the log explains an
    # unchanged row.
    if changed != len(rows):
        note(f"{changed} of {len(rows)} row(s) changed; a stored final or "
             "newer status is kept")
    return EX_OK, ""


def answer_line(status, reason):
    """The answer as bytes: one line, whatever the reason holds."""
    line = str(status)
    if reason:
        reason = re.sub(r"[\x00-\x1f\x7f]+", " ", reason)
        reason = reason.encode()[:REASON_MAX_BYTES].decode(errors="ignore")
        line += " " + reason
    return line.encode() + b"\n"


def serve(store, stdin, stdout):
    """Answers every line of stdin until EOF."""
    for line in iter(stdin.readline, b""):
        try:
            status, reason = handle(store, line)
        except Exception as e:  # a bug or the unforeseen: retry, not die
            traceback.print_exc(file=sys.stderr)
            store.close()
            status = EX_TEMPFAIL
            reason = f"unexpected {type(e).__name__}: try again later"
        # Notes first, so that the daemon logs them with this record's id.
        sys.stderr.flush()
        stdout.write(answer_line(status, reason))
        stdout.flush()


# ---------------------------------------------------------------------------
# Arguments.

class Parser(argparse.ArgumentParser):
    """Exits 64 (EX_USAGE) on bad arguments, not argparse's 2."""

    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"{PROG}: {message}", file=sys.stderr)
        sys.exit(EX_USAGE)


def milliseconds(value):
    if not re.fullmatch(r"[0-9]{1,10}", value) or int(value) > 2**31 - 1:
        raise argparse.ArgumentTypeError(f"not a number of ms: {value!r}")
    return int(value)


def main():
    parser = Parser(prog=PROG, allow_abbrev=False,
                    description="Keeps the latest delivery status of "
                    "every message in an SQLite database (an exec sink "
                    "helper, protocol \"lines\").")
    parser.add_argument("--db", required=True, metavar="FILE",
                        help="the database, created on first use")
    parser.add_argument("--busy-timeout", type=milliseconds, default=3000,
                        metavar="MS",
                        help="how long to wait for the write lock "
                        "(default 3000)")
    args = parser.parse_args()
    store = Store(args.db, args.busy_timeout)
    try:
        serve(store, sys.stdin.buffer, sys.stdout.buffer)
    except BrokenPipeError:
        # The daemon went away mid-answer; it retries that record.
        return EX_TEMPFAIL
    except KeyboardInterrupt:
        return 130
    finally:
        store.close()
    return EX_OK


if __name__ == "__main__":
    sys.exit(main())
