#!/usr/bin/env bash
#
# t_mask.sh - log.mask_numbers hides phone numbers in diagnostics, not in
# records.
#
# A hook prints the recipient and sender it was given on stderr, which the
# daemon logs.  With log.mask_numbers = true the log shows only the last
# two digits while the record file keeps the whole numbers; with it off,
# the log shows them whole.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

HOOK=$T/say-numbers.sh
cat >"$HOOK" <<'EOS'
#!/bin/sh
echo "to ${SINCH_RECIPIENT:-none} from ${SINCH_FROM:-none}" >&2
EOS
chmod 755 "$HOOK"

BODY=$T/rdr.json
cat >"$BODY" <<'EOS'
{"type":"recipient_delivery_report_sms","batch_id":"01MASKTEST","recipient":"+46700000123","code":0,"status":"Delivered","at":"2026-11-27T14:00:00.000Z"}
EOS
MO=$T/mo.json
cat >"$MO" <<'EOS'
{"type":"mo_text","id":"01MASKMO","from":"12025550187","to":"46700000999","received_at":"2026-11-27T14:00:00Z","body":"hi"}
EOS

# mask_config FILE true|false
mask_config()
{
	cat >"$1" <<EOC
listen = { address = "127.0.0.1"; port = 0; path = "/sinch/sms"; };
log = { level = "info"; mask_numbers = $2; };
sinks = (
  { name = "log"; kind = "file"; path = "$REPORTS"; },
  { name = "hook"; kind = "exec"; command = [ "$HOOK" ]; }
);
EOC
}

mask_config "$T/masked.conf" true
start_daemon "$T/masked.conf"
post_file 200 "$BODY"
post_file 200 "$MO"
stop_daemon_clean
expect_log '^warn: sink_exec: hook: id=[^:]*: stderr: to \+\*{9}23 from none$' \
    "masked recipient"
expect_log '^warn: sink_exec: hook: id=[^:]*: stderr: to none from \*{9}87$' \
    "masked sender"
if grep -a -q -E '46700000123|12025550187' "$DAEMON_STDERR"; then
	check_fail "a whole phone number is in the masked log:" \
	    "$(grep -a -E '46700000123|12025550187' "$DAEMON_STDERR")"
fi
grep -q '"recipient":"+46700000123"' "$REPORTS" ||
    check_fail "the record lost the whole recipient"
grep -q '"from":"12025550187"' "$REPORTS" ||
    check_fail "the record lost the whole sender"

: >"$REPORTS"
mask_config "$T/plain.conf" false
start_daemon "$T/plain.conf"
post_file 200 "$BODY"
stop_daemon_clean
grep -a -q 'stderr: to +46700000123 from none' "$DAEMON_STDERR" ||
    check_fail "without mask_numbers the number should be logged whole"

finish
