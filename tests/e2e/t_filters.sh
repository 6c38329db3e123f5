#!/usr/bin/env bash
#
# t_filters.sh - types, statuses and final_only decide which sinks see a
# report.
#
# Seven sinks of the three kinds, each with other filters (the table
# SINKS below, from which the configuration is written): file sinks on
# types, on statuses, on final_only, on all three at once, a non-required
# file sink for inbound messages, a hook (hooks/act.sh) on batch delivery
# reports, and the stdout sink on statuses.  Every valid fixture and a few
# made here (final and open statuses, a batch whose only bucket is final)
# are posted; each is answered 200 (also those that no required sink, or no
# sink at all, matches), and each sink got exactly the reports its filters
# match, by the rules: types = the report's type is listed; statuses = a
# recipient report's status is listed, or any bucket's status of a batch
# report, never an inbound or unknown one; final_only = the report is
# final (inbound and unknown never are).  Each record is right and the
# same bytes in every sink.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

ACT=$HOOKDIR/act.sh
HD=$T/hook
mkdir "$HD"

SINKS='[
  { "name": "rdr", "kind": "file", "required": true, "final_only": false,
    "types": ["recipient_delivery_report_sms",
	"recipient_delivery_report_mms"] },
  { "name": "st", "kind": "file", "required": true,
    "statuses": ["Delivered", "Failed"] },
  { "name": "fin", "kind": "file", "required": true, "final_only": true },
  { "name": "combo", "kind": "file", "required": true, "final_only": true,
    "types": ["recipient_delivery_report_mms", "delivery_report_sms"],
    "statuses": ["Expired", "Failed", "Rerouted"] },
  { "name": "mo", "kind": "file", "required": false,
    "types": ["mo_text", "mo_binary", "mo_media"] },
  { "name": "hook", "kind": "exec", "required": true,
    "types": ["delivery_report_sms", "delivery_report_mms"] },
  { "name": "console", "kind": "stdout", "required": false,
    "statuses": ["Expired", "Queued"] }
]'

# The sinks as libconfig text.
jq -r --arg dir "$T" --arg act "$ACT" --arg hd "$HD" '
    def list: map(tojson) | join(", ");
    map("  { name = \"\(.name)\"; kind = \"\(.kind)\"; required = \(.required);"
	+ (if .kind == "file" then " path = \"\($dir)/\(.name).jsonl\";"
	   elif .kind == "exec" then " command = [ \"\($act)\", \"\($hd)\" ];"
		+ " timeout_ms = 10000; max_concurrent = 4;"
	   else "" end)
	+ (if has("types") then " types = [ \(.types | list) ];" else "" end)
	+ (if has("statuses") then " statuses = [ \(.statuses | list) ];"
	   else "" end)
	+ (if has("final_only") then " final_only = \(.final_only);"
	   else "" end)
	+ " }")
    | join(",\n")' <<<"$SINKS" >"$T/sinks.txt" || fail "jq on SINKS"
write_config "$T/filters.conf" "$(cat "$T/sinks.txt")"

# The sinks whose filters match a callback body (stdin), one name a line.
# shellcheck disable=SC2016  # jq variables, not the shell's
EXPECT_JQ='
    def finals: ["Delivered", "Failed", "Expired", "Aborted", "Rejected",
	"Cancelled", "Deleted", "Unknown"];
    def is_final: . as $s | any(finals[]; . == $s);
    . as $b | $b.type as $t
    | (if $t == "recipient_delivery_report_sms"
	    or $t == "recipient_delivery_report_mms" then [$b.status]
       elif $t == "delivery_report_sms" or $t == "delivery_report_mms" then
	    [$b.statuses[].status]
       else [] end) as $st
    | (if $t == "recipient_delivery_report_sms"
	    or $t == "recipient_delivery_report_mms" then $b.status | is_final
       elif $t == "delivery_report_sms" or $t == "delivery_report_mms" then
	    ($st | length) > 0 and all($st[]; is_final)
       else false end) as $final
    | $sinks[]
    | select((has("types") | not) or any(.types[]; . == $t))
    | select((has("statuses") | not)
	or any(.statuses[]; . as $s | any($st[]; . == $s)))
    | select((.final_only // false | not) or $final)
    | .name'

# Bodies made here, besides the fixtures.
hook_body "$T/made_sms_failed.json" "filters sms failed" Failed
hook_body "$T/made_sms_queued.json" "filters sms queued" Queued
printf '{"type":"recipient_delivery_report_mms","batch_id":"01JE2EFILTERMMSFAIL0000001","recipient":"46700000101","code":410,"status":"Failed","at":"2026-03-01T10:01:01.000Z"}' \
    >"$T/made_mms_failed.json"
printf '{"type":"delivery_report_mms","batch_id":"01JE2EFILTERDRMMSEXP000002","total_message_count":1,"statuses":[{"code":406,"status":"Expired","count":1}]}' \
    >"$T/made_dr_mms_expired.json"

start_daemon "$T/filters.conf"

shopt -s nullglob
bodies=("$DATADIR"/valid/*.json "$T"/made_*.json)
((${#bodies[@]} >= 13)) || fail "too few bodies: ${#bodies[@]}"
declare -A BODY_OF=()
: >"$T/expected"
for f in "${bodies[@]}"; do
	name=$(basename "$f" .json)
	matches=$(jq -r --argjson sinks "$SINKS" "$EXPECT_JQ" "$f") ||
	    fail "jq on $f"
	post_file 200 "$f" || continue
	[[ -n $LAST_ID ]] || { check_fail "$name: no X-Request-Id"; continue; }
	BODY_OF[$LAST_ID]=$f
	for s in $matches; do
		printf '%s %s\n' "$s" "$LAST_ID" >>"$T/expected"
	done
	note "$name -> ${matches//$'\n'/ }"
done

# got_ids SINK: the ids that sink received.
got_ids()
{
	case $1 in
	hook)
		[[ -f $HD/runs ]] && cut -d ' ' -f 1 "$HD/runs"
		;;
	console)
		jq -R -r 'fromjson? | .id' "$DAEMON_STDOUT"
		;;
	*)
		[[ -f $T/$1.jsonl ]] && jq -R -r 'fromjson? | .id' "$T/$1.jsonl"
		;;
	esac
}

# The stdout sink is read after a clean stop, when it is flushed.
check_no_zombies "filters" all
stop_daemon_clean

for s in $(jq -r '.[].name' <<<"$SINKS"); do
	awk -v s="$s" '$1 == s { print $2 }' "$T/expected" | sort >"$T/want.$s"
	got_ids "$s" | sort >"$T/got.$s"
	missing=$(comm -23 "$T/want.$s" "$T/got.$s")
	extra=$(comm -13 "$T/want.$s" "$T/got.$s")
	dups=$(uniq -d "$T/got.$s")
	for id in $missing; do
		check_fail "sink $s did not get $(basename "${BODY_OF[$id]}")" \
		    "(id $id)"
	done
	for id in $extra; do
		check_fail "sink $s got $(basename "${BODY_OF[$id]:-id $id}")," \
		    "which its filters do not match"
	done
	[[ -z $dups ]] || check_fail "sink $s got ids more than once: $dups"
	note "sink $s: $(wc -l <"$T/got.$s") report(s)," \
	    "$(wc -l <"$T/want.$s") expected"
done

# Each record is right, and the same bytes wherever it went.
for id in "${!BODY_OF[@]}"; do
	first=""
	for f in "$T"/*.jsonl "$DAEMON_STDOUT"; do
		line=$(line_of "$id" "$f") || continue
		check_record "${BODY_OF[$id]}" "$id" "$f"
		if [[ -z $first ]]; then
			first=$line
		elif [[ $line != "$first" ]]; then
			check_fail "$(basename "${BODY_OF[$id]}"): the line in" \
			    "$(basename "$f") differs from another sink's"
		fi
	done
done

# At least one report went nowhere, and one only to the non-required sink.
nowhere=0
only_mo=0
for id in "${!BODY_OF[@]}"; do
	sinks=$(awk -v id="$id" '$2 == id { print $1 }' "$T/expected" | tr '\n' ' ')
	[[ -z $sinks ]] && nowhere=$((nowhere + 1))
	[[ $sinks == "mo " ]] && only_mo=$((only_mo + 1))
done
((nowhere > 0 && only_mo > 0)) ||
    check_fail "the bodies do not cover 'no sink' ($nowhere) and 'only a" \
	"non-required sink' ($only_mo)"
note "$nowhere report(s) matched no sink, $only_mo only the non-required one"

finish
