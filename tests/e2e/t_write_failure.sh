#!/usr/bin/env bash
#
# t_write_failure.sh - a required sink that cannot write makes Sinch retry.
#
# 1. The only file sink is /dev/full: 503 with Retry-After and a one-line
#    reason, access line with status=503.
# 2. A non-required /dev/full sink beside a good required file sink: 200,
#    the line is in the good file, the failure is logged once (warn: sink_file).
# 3. The file sink on a 64 KiB tmpfs: filled by a filler file until a
#    request is answered 503; no partial line is left; once the filler is
#    deleted the same callback (Sinch's retry) and a new one are answered
#    200 without restarting; every 200 has exactly one line.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

SEQ=0

# next_body FILE: a valid callback with bytes never sent before, all of the
# same length so that records are the same size.
next_body()
{
	SEQ=$((SEQ + 1))
	printf '{"type":"recipient_delivery_report_sms","batch_id":"01JE2EWRITEFAIL%05d","recipient":"46700%06d","code":0,"status":"Delivered","at":"2026-03-01T10:00:00.000Z","client_reference":"write failure %05d"}' \
	    "$SEQ" "$SEQ" "$SEQ" >"$1"
}

# --- 1. required sink on /dev/full -----------------------------------------
write_config "$T/full.conf" \
    '  { name = "full"; kind = "file"; path = "/dev/full"; fsync = true; required = true; }'
start_daemon "$T/full.conf"
for i in 1 2; do
	next_body "$T/b"
	if post_file 503 "$T/b"; then
		expect_header Retry-After '^([0-9]+|[A-Z][a-z]{2}, .+ GMT)$' \
		    "503 from /dev/full"
		expect_one_line_body "503 from /dev/full" &&
		    note "503 /dev/full ($i): $(head -n 1 "$T/last.body")," \
			"Retry-After: $(header_value Retry-After)"
		[[ -z $LAST_ID ]] || expect_access_line "$LAST_ID" 503
	fi
done
stop_daemon_clean

# --- 2. non-required /dev/full beside a good required sink ------------------
write_config "$T/mixed.conf" "$(cat <<EOF
  { name = "full"; kind = "file"; path = "/dev/full"; fsync = true; required = false; },
  { name = "log"; kind = "file"; path = "$REPORTS"; fsync = true; required = true; },
  { name = "console"; kind = "stdout"; required = false; }
EOF
)"
start_daemon "$T/mixed.conf"
for i in 1 2 3; do
	next_body "$T/b"
	post_file 200 "$T/b" && check_record "$T/b" "$LAST_ID"
done
check_ids_match "$OK_IDS" "$REPORTS"
wait_for 10 grep -a -q -E 'warn: sink_file: [^ ]+: unable to write /dev/full' \
    "$DAEMON_STDERR" ||
    check_fail "the failing non-required sink was not logged" \
	"(no 'warn: sink_file: NAME: unable to write /dev/full' line)"
# One warning when the sink starts failing, not one per request.
n=$(grep -a -c 'unable to write /dev/full' "$DAEMON_STDERR")
[ "$n" -eq 1 ] ||
    check_fail "a failing sink should be logged once, not per request" \
	"($n warnings for 3 requests)"
stop_daemon_clean

# --- 3. a full tmpfs, then room again --------------------------------------
MNT=$T/mnt
mkdir "$MNT"
mount -t tmpfs -o size=64k tmpfs "$MNT" ||
    fail "unable to mount a tmpfs on $MNT (the test needs root)"
MOUNTS+=("$MNT")
TREPORTS=$MNT/reports.jsonl
write_config "$T/tmpfs.conf" \
    "  { name = \"log\"; kind = \"file\"; path = \"$TREPORTS\"; fsync = true; required = true; }"
start_daemon "$T/tmpfs.conf"
for i in 1 2 3; do
	next_body "$T/b"
	post_file 200 "$T/b"
done

# Fill the file system (dd stops with ENOSPC), then post until refused:
# the report file's last page may still hold a few records.
dd if=/dev/zero of="$MNT/filler" bs=1024 >/dev/null 2>&1
if (: >"$MNT/probe" && printf x >"$MNT/probe") 2>/dev/null; then
	fail "the tmpfs is not full after the filler"
fi
got503=0
for ((i = 0; i < 100; i++)); do
	next_body "$T/refused"
	request -H 'Content-Type: application/json' \
	    --data-binary "@$T/refused" "$URL"
	if [[ $LAST_STATUS == 503 ]]; then
		got503=1
		break
	fi
	[[ $LAST_STATUS == 200 ]] ||
	    fail "disk filling: status $LAST_STATUS, expected 200 or 503:" \
		"$(last_body_excerpt)"
done
((got503)) || fail "no 503 after 100 requests on a full tmpfs"
note "503 after $i more 200(s) on the full tmpfs:" \
    "$(head -n 1 "$T/last.body"), Retry-After: $(header_value Retry-After)"
expect_header Retry-After '^([0-9]+|[A-Z][a-z]{2}, .+ GMT)$' "503 on a full disk"
expect_one_line_body "503 on a full disk"
[[ -z $LAST_ID ]] || expect_access_line "$LAST_ID" 503
# No partial line was left behind, and the 200s so far are all there.
check_ids_match "$OK_IDS" "$TREPORTS"
if [[ -n $LAST_ID ]] && [[ -n $(record_of "$LAST_ID" "$TREPORTS") ]]; then
	check_fail "the request answered 503 has a record"
fi

# Room again: Sinch retries the same bytes, and new callbacks come in.
rm -f "$MNT/filler" "$MNT/probe"
post_file 200 "$T/refused" && check_record "$T/refused" "$LAST_ID" "$TREPORTS"
for i in 1 2 3; do
	next_body "$T/b"
	post_file 200 "$T/b" && check_record "$T/b" "$LAST_ID" "$TREPORTS"
done
check_ids_match "$OK_IDS" "$TREPORTS"
note "$(wc -l <"$TREPORTS") record(s) on the tmpfs, one per 200"
stop_daemon_clean

finish
