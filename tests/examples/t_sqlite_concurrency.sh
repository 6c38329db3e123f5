#!/usr/bin/env bash
#
# t_sqlite_concurrency.sh - docs/examples/sqlite-status.sh run many times
# at once (an exec sink with max_concurrent > 1): every run succeeds
# (busy_timeout makes them queue for the write lock, also while the first
# ones create the database and switch it to WAL), and the database ends
# consistent whatever the order.  Then a write lock held by another
# process: a hook waits for it within --busy-timeout, and answers 75 once
# the lock outlasts it.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

HOOK=$HOOKS/sqlite-status.sh
DB=$T/status.db
RUNS=10		# recipients; three reports each, so 30 hooks at once

# Prepare the records first, so that the hooks start close together.
for ((i = 1; i <= RUNS; i++)); do
	r=+4670000$((1000 + i))
	rdr C1 "$r" Queued 400 2026-11-27T10:00:01Z >"$T/rec.$i.1"
	rdr C1 "$r" Dispatched 401 2026-11-27T10:00:02Z >"$T/rec.$i.2"
	rdr C1 "$r" Delivered 0 2026-11-27T10:00:03Z "ref-$i" >"$T/rec.$i.3"
done

# round NAME: starts every hook at once (the Delivered first for half of
# the recipients, last for the others) and checks that all exit 0.
round()
{
	local i k pids=() names=() rc bad=0

	for ((i = 1; i <= RUNS; i++)); do
		for k in 1 2 3; do
			((i % 2)) && k=$((4 - k))
			(cd "$T" && exec timeout -k 5 60 env -i \
			    PATH="$HOOK_PATH" "$HOOK" --db "$DB" \
			    --busy-timeout 20000) \
			    <"$T/rec.$i.$k" >/dev/null 2>"$T/err.$i.$k" &
			pids+=("$!")
			names+=("$i.$k")
		done
	done
	for k in "${!pids[@]}"; do
		wait "${pids[$k]}"
		rc=$?
		if ((rc != 0)); then
			bad=$((bad + 1))
			check_fail "$1: hook ${names[$k]} exit $rc:" \
			    "$(tr '\n' '|' <"$T/err.${names[$k]}")"
		fi
	done
	note "$1: ${#pids[@]} hooks at once, $bad failed"
}

consistent()
{
	local got

	got=$(sqlite3 -init /dev/null "$DB" "SELECT count(*),
	    sum(status = 'Delivered' AND final = 1 AND code = 0
	        AND at = '2026-11-27T10:00:03Z'
	        AND client_reference = 'ref-' || (0 + substr(recipient, -2)))
	    FROM recipient_status WHERE batch_id = 'C1'")
	expect_eq "$1: rows, rows Delivered" "$RUNS|$RUNS" "$got"
	expect_eq "$1: integrity" ok \
	    "$(sqlite3 -init /dev/null "$DB" 'PRAGMA integrity_check')"
}

# --- A database that does not exist yet: the runs race to create it.
round "fresh database"
consistent "fresh database"
expect_eq "journal mode" wal \
    "$(sqlite3 -init /dev/null "$DB" 'PRAGMA journal_mode')"
# --- The same reports again on the existing database: nothing changes.
round "existing database"
consistent "existing database"

# --- A write lock held by another process.
hold_write_lock "$DB"

# Beyond --busy-timeout: 75, after about that long.
start=$(date +%s%N)
run_hook "$(rdr C2 +46700000001 Delivered 0 2026-11-27T10:00:00Z)" \
    "$HOOK" --db "$DB" --busy-timeout 300
ms=$((($(date +%s%N) - start) / 1000000))
expect_rc "write lock held beyond the busy timeout" 75 &&
    note "locked: exit 75 after ${ms} ms ($(head -n 1 "$HOOK_STDERR"))"
((ms >= 250)) || check_fail "locked: gave up after ${ms} ms, before 300"

# Within --busy-timeout: the hook waits, and succeeds once the lock goes.
rdr C2 +46700000002 Delivered 0 2026-11-27T10:00:00Z >"$T/rec.wait"
(cd "$T" && exec timeout -k 5 60 env -i PATH="$HOOK_PATH" "$HOOK" \
    --db "$DB" --busy-timeout 15000) <"$T/rec.wait" >/dev/null \
    2>"$T/err.wait" &
WAITER=$!
sleep 0.5
# shellcheck disable=SC2317
pid_alive()
{
	kill -0 "$1" 2>/dev/null
}
pid_alive "$WAITER" || check_fail "the waiting hook did not wait"
release_write_lock
wait "$WAITER"
rc=$?
expect_eq "hook waiting for the lock: exit" 0 "$rc" ||
    note "stderr: $(cat "$T/err.wait")"
expect_eq "rows after the lock (the refused report is not there)" \
    "+46700000002" "$(sqlite3 -init /dev/null "$DB" \
    "SELECT group_concat(recipient) FROM recipient_status WHERE batch_id = 'C2'")"

finish
