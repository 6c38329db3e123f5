#!/usr/bin/env bash
#
# t_vectors.sh - every valid callback is answered 200 and recorded right.
#
# Each fixture of tests/data/e2e/valid (all seven types, "code" sent as a
# string, open statuses, unknown types, unknown fields), then each *.json
# of the shared Sinch vectors ($SINCH_VECTORS, default
# $SRCDIR/../shared/vectors/sinch) when that folder exists: 200 with body
# "ok", an X-Request-Id, an access line, and exactly one record line whose
# id is that X-Request-Id and whose normalised fields and payload match the
# body (tests/e2e/record.jq).  At the end the file holds exactly the 200s
# and the stdout sink printed the same lines.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

VECTORS=${SINCH_VECTORS:-$SRCDIR/../shared/vectors/sinch}

declare -A SEEN=()

# post_and_check FILE: one callback, its answer and its record.
post_and_check()
{
	local f=$1 name digest

	name=$(basename "$f")
	# A later version drops retries of identical bytes: post each once.
	digest=$(sha256sum <"$f" | cut -d ' ' -f 1)
	if [[ -n ${SEEN[$digest]:-} ]]; then
		note "$name: same bytes as ${SEEN[$digest]}, not posted twice"
		return 0
	fi
	SEEN[$digest]=$name
	post_file 200 "$f" || return 1
	[[ $(cat "$T/last.body") == ok ]] ||
	    check_fail "$name: 200 body is '$(last_body_excerpt)', expected 'ok'"
	[[ -n $LAST_ID ]] ||
	    { check_fail "$name: 200 without X-Request-Id"; return 1; }
	# fsync = true: the line is on disk once the answer is 200.
	check_record "$f" "$LAST_ID" || return 1
	expect_access_line "$LAST_ID" 200
	COUNT=$((COUNT + 1))
}

start_daemon

COUNT=0
shopt -s nullglob
fixtures=("$DATADIR"/valid/*.json)
((${#fixtures[@]} >= 9)) ||
    fail "expected the fixtures in $DATADIR/valid, found ${#fixtures[@]}"
for f in "${fixtures[@]}"; do
	post_and_check "$f"
done
note "fixtures: $COUNT of ${#fixtures[@]} recorded as expected"

# Every kind of callback was covered by the fixtures.
jq -r '.type' "$REPORTS" >"$T/types"
for t in delivery_report_sms delivery_report_mms \
    recipient_delivery_report_sms recipient_delivery_report_mms \
    mo_text mo_binary mo_media; do
	grep -q -x -F "$t" "$T/types" ||
	    check_fail "no record of type $t from the fixtures"
done
jq -r '.kind' "$REPORTS" | grep -q -x unknown ||
    check_fail "no record of kind unknown from the fixtures"

if [[ -d $VECTORS ]]; then
	vectors=("$VECTORS"/*.json)
	before=$COUNT
	for f in "${vectors[@]}"; do
		post_and_check "$f"
	done
	note "vectors: $((COUNT - before)) of ${#vectors[@]} in $VECTORS" \
	    "recorded as expected"
	((${#vectors[@]} > 0)) || check_fail "vectors: no *.json in $VECTORS"
else
	echo "vectors: $VECTORS not found, shared conformance walk not run"
fi

# The ids of the 200s are distinct and the file holds exactly their lines.
check_ids_match "$OK_IDS" "$REPORTS"

# The stdout sink got the same lines (compared after a clean stop, when
# stdout has certainly been flushed).
stop_daemon_clean
if ! diff <(sort "$REPORTS") <(sort "$DAEMON_STDOUT") >"$T/stdout.diff"; then
	check_fail "stdout sink: lines differ from the file sink" \
	    "($(wc -l <"$REPORTS") in the file, $(wc -l <"$DAEMON_STDOUT")" \
	    "on stdout): $(head -c 400 "$T/stdout.diff")"
fi

finish
