#!/usr/bin/env bash
#
# t_exec_status.sh - the exec sink: a hook's exit status makes the answer.
#
# 0. `-t` rejects an exec sink whose command[0] is relative, not
#    executable or missing, an empty command, and env names starting with
#    SINCH_.
# 1. A required file sink and a required hook (hooks/act.sh, told what to do
#    by the callback's client_reference): exit 0 -> 200; 75 -> 503 with
#    Retry-After; 65 -> 422; 3 -> 503; killed by SIGKILL or SIGSEGV -> 503.
#    Every refusal is one line naming the sink ("sink hook: ..."), every
#    failure is logged (warn: sink_exec: hook: id=ID: exited N / killed by
#    signal N), the hook ran once per request, and the file sink took every
#    report (one line each, whatever the hook did).  No zombie is left.
# 2. The same hook not required: its failures leave the answer 200.
# 3. A failing required file sink (/dev/full) beside the hook: 503 naming
#    the file sink when the hook exits 0 or 65 (503 is worse than 422),
#    either of them when the hook exits 75; the hook still ran.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

ACT=$HOOKDIR/act.sh
HD=$T/hook
mkdir "$HD"
[[ -x $ACT ]] || fail "$ACT is missing or not executable"

# hook_sink NAME EXTRA: the act.sh exec sink.
hook_sink()
{
	printf '  { name = "%s"; kind = "exec"; command = [ "%s", "%s" ];
    timeout_ms = 10000; max_concurrent = 4; %s }' "$1" "$ACT" "$HD" "$2"
}

log_sink()
{
	printf '  { name = "log"; kind = "file"; path = "%s"; required = true; }' \
	    "$REPORTS"
}

# --- 0. configurations that -t rejects ---------------------------------------
cp "$ACT" "$T/noexec.sh"
chmod 644 "$T/noexec.sh"
write_config "$T/bad.conf" \
    '  { name = "hook"; kind = "exec"; command = [ "hooks/act.sh" ]; }'
expect_config_rejected "$T/bad.conf" "relative command[0]"
write_config "$T/bad.conf" \
    "  { name = \"hook\"; kind = \"exec\"; command = [ \"$T/noexec.sh\" ]; }"
expect_config_rejected "$T/bad.conf" "command[0] not executable"
write_config "$T/bad.conf" \
    "  { name = \"hook\"; kind = \"exec\"; command = [ \"$T/missing.sh\" ]; }"
expect_config_rejected "$T/bad.conf" "command[0] missing"
write_config "$T/bad.conf" \
    '  { name = "hook"; kind = "exec"; command = [ ]; }'
expect_config_rejected "$T/bad.conf" "empty command"
write_config "$T/bad.conf" \
    "  { name = \"hook\"; kind = \"exec\"; command = [ \"$ACT\", \"$HD\" ];
    env = { SINCH_ID = \"forged\"; }; }"
expect_config_rejected "$T/bad.conf" "env name SINCH_ID"
write_config "$T/bad.conf" \
    "  { name = \"hook\"; kind = \"exec\"; command = [ \"$ACT\", \"$HD\" ];
    env = { SINCH_EXTRA = \"x\"; }; }"
expect_config_rejected "$T/bad.conf" "env name SINCH_EXTRA"
write_config "$T/good.conf" "$(log_sink),
$(hook_sink hook 'required = true; env = { TZ = "UTC"; };')"
timeout -k 5 30 "$BIN" -t -c "$T/good.conf" >/dev/null 2>"$T/check.err" ||
    fail "-t rejects a valid exec sink: $(head -c 300 "$T/check.err")"

# --- 1. required hook beside a required file sink ---------------------------
start_daemon "$T/good.conf"

# try REF CODE LOG-REGEX: posts a new body whose client_reference is REF,
# expects CODE, a log line "id=ID: LOG-REGEX" (when given), one hook run
# and one line in the file.
try()
{
	local ref=$1 want=$2 logre=$3 what="hook '$1'" runs

	hook_body "$T/b" "$ref"
	post_file "$want" "$T/b" || return 1
	if [[ $want != 200 ]]; then
		expect_one_line_body "$what: $want"
		grep -q '^sink hook: ' "$T/last.body" ||
		    check_fail "$what: $want body does not name the sink:" \
			"$(last_body_excerpt)"
	fi
	if [[ $want == 503 ]]; then
		expect_header Retry-After '^([0-9]+|[A-Z][a-z]{2}, .+ GMT)$' \
		    "$what: 503"
	fi
	[[ -n $LAST_ID ]] || { check_fail "$what: no X-Request-Id"; return 1; }
	expect_access_line "$LAST_ID" "$want"
	# The message may go on (", report rejected"), not the number.
	[[ -z $logre ]] || expect_log \
	    "^warn: sink_exec: hook: id=$LAST_ID: $logre(\$|[^0-9])" "$what"
	runs=$(hook_runs "$HD" "$LAST_ID")
	((runs == 1)) || check_fail "$what: the hook ran $runs time(s), not once"
	check_record "$T/b" "$LAST_ID"
	note "$what -> $LAST_STATUS $(head -n 1 "$T/last.body")"
}

try ok 200 ""
try exit:0 200 ""
try exit:75 503 'exited 75'
try exit:65 422 'exited 65'
try exit:3 503 'exited 3'
try signal:KILL 503 'killed by signal 9'
try signal:SEGV 503 'killed by signal 11'
try exit:0 200 ""
# Successes are not logged as failures.
if grep -a -E '^warn: sink_exec: hook: ' "$DAEMON_STDERR" |
    grep -a -v -q -E \
	'(exited (75|65|3)|killed by signal (9|11))($|[^0-9])'; then
	check_fail "unexpected sink_exec warnings:" \
	    "$(grep -a '^warn: sink_exec' "$DAEMON_STDERR" | head -n 3)"
fi
check_lines "$REPORTS"
n=$(wc -l <"$REPORTS")
((n == 8)) || check_fail "the file sink has $n line(s), expected 8 (one per" \
    "request, whatever the hook answered)"
check_no_zombies "after the exit statuses" all
stop_daemon_clean

# --- 2. the hook not required ------------------------------------------------
: >"$REPORTS"
write_config "$T/optional.conf" "$(log_sink),
$(hook_sink hook 'required = false;')"
start_daemon "$T/optional.conf"
for ref in exit:75 exit:65 exit:3 signal:KILL ok; do
	hook_body "$T/b" "$ref"
	post_file 200 "$T/b" && check_record "$T/b" "$LAST_ID"
	runs=$(hook_runs "$HD" "$LAST_ID")
	((runs == 1)) ||
	    check_fail "optional hook '$ref': ran $runs time(s), not once"
done
check_ids_match "$OK_IDS" "$REPORTS"
expect_log "^warn: sink_exec: hook: id=[^ ]+: exited 75(\$|[^0-9])" \
    "optional hook exit 75"
check_no_zombies "optional hook" all
stop_daemon_clean

# --- 3. a failing file sink beside the hook ----------------------------------
# (Both failing for now: either may be named.)
declare -A NAMED=([ok]='^sink full: ' [exit:65]='^sink full: '
    [exit:75]='^sink (full|hook): ')
write_config "$T/full.conf" \
"  { name = \"full\"; kind = \"file\"; path = \"/dev/full\"; required = true; },
$(hook_sink hook 'required = true;')"
start_daemon "$T/full.conf"
for ref in ok exit:65 exit:75; do
	hook_body "$T/b" "$ref"
	if post_file 503 "$T/b"; then
		grep -q -E "${NAMED[$ref]}" "$T/last.body" ||
		    check_fail "/dev/full + hook '$ref': the 503 body is not" \
			"/${NAMED[$ref]}/: $(last_body_excerpt)"
		expect_header Retry-After '^([0-9]+|[A-Z][a-z]{2}, .+ GMT)$' \
		    "/dev/full + hook '$ref'"
	fi
	runs=$(hook_runs "$HD" "$LAST_ID")
	((runs == 1)) ||
	    check_fail "/dev/full + hook '$ref': the hook ran $runs time(s)"
done
check_no_zombies "beside /dev/full" all
stop_daemon_clean

finish
