#!/usr/bin/env bash
#
# t_exec_env.sh - what an exec hook is given: environment, stdin, fds,
# arguments, process group.
#
# The daemon is started with foreign variables in its environment
# (E2E_FOREIGN, SINCH_E2E_FOREIGN, HOME) and an extra inherited fd 7.  A
# hook (hooks/dump.sh) saves what it receives for every valid fixture of
# tests/data/e2e/valid; for each request:
# - its environment is exactly PATH, the env table of the sink (TZ and a
#   value with spaces, '=' and '$') and the SINCH_* variables of the fields
#   the record has, each equal to the record's field (SINCH_ID = the
#   X-Request-Id, SINCH_CODE the integer, SINCH_FINAL true|false); nothing
#   else from the daemon's environment;
# - its stdin is the file sink's line for that request, byte for byte;
# - it holds fds 0, 1 and 2 only;
# - it got its arguments as given, without a shell (a ';', '$' and '*'
#   reach it untouched, and an empty argument stays);
# - it is a direct child of the daemon and leads its own process group.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

DUMP=$HOOKDIR/dump.sh
HD=$T/dump
mkdir "$HD"
# shellcheck disable=SC2016  # a literal '$', which no shell may expand
GREETING='hello world; a=b $HOME *'

write_config "$T/env.conf" "$(cat <<EOF
  { name = "log"; kind = "file"; path = "$REPORTS"; required = true; },
  { name = "hook"; kind = "exec";
    command = [ "$DUMP", "$HD", "two words", "\$HOME;echo injected", "*", "" ];
    env = { TZ = "UTC"; GREETING = "$GREETING"; };
    timeout_ms = 10000; max_concurrent = 4; required = true; }
EOF
)"

# What must not leak into the hook.
export HOME=${HOME:-/root}
export E2E_FOREIGN="leaked from the daemon's environment"
export SINCH_E2E_FOREIGN="leaked too"
exec 7</dev/null
start_daemon "$T/env.conf"
exec 7<&-
[[ -e /proc/$DAEMON_PID/fd/7 ]] &&
    note "the daemon inherited fd 7 (as intended: it must not reach hooks)"

printf '%s\n' "two words" "\$HOME;echo injected" "*" "" >"$T/args.want"

# check_env NAME ID: the hook's environment for request ID.
check_env()
{
	local name=$1 id=$2 kv k v kind
	local -A got=() want=()

	while IFS= read -r -d '' kv; do
		got[${kv%%=*}]=${kv#*=}
	done <"$HD/$id.environ"
	while IFS= read -r -d '' kv; do
		want[${kv%%=*}]=${kv#*=}
	done < <(line_of "$id" | jq -j '{
	    SINCH_ID: .id, SINCH_KIND: .kind, SINCH_TYPE: .type,
	    SINCH_CHANNEL: .channel, SINCH_BATCH_ID: .batch_id,
	    SINCH_RECIPIENT: .recipient, SINCH_STATUS: .status,
	    SINCH_CODE: .code, SINCH_FINAL: .final, SINCH_AT: .at,
	    SINCH_CLIENT_REFERENCE: .client_reference, SINCH_FROM: .from,
	    SINCH_TO: .to, SINCH_MESSAGE_ID: .message_id }
	    | to_entries[] | select(.value != null)
	    | "\(.key)=\(.value | tostring)\u0000"')
	kind=$(line_of "$id" | jq -r .kind)
	[[ ${want[SINCH_ID]:-} == "$id" ]] ||
	    { check_fail "$name: no record for id $id"; return 1; }
	want[TZ]=UTC
	want[GREETING]=$GREETING
	for k in "${!want[@]}"; do
		if [[ -z ${got[$k]+set} ]]; then
			check_fail "$name: $k missing (record: ${want[$k]})"
		elif [[ ${got[$k]} != "${want[$k]}" ]]; then
			check_fail "$name: $k='${got[$k]}', the record says" \
			    "'${want[$k]}'"
		fi
	done
	[[ -n ${got[PATH]:-} ]] || check_fail "$name: no PATH"
	for k in "${!got[@]}"; do
		[[ -n ${want[$k]+set} || $k == PATH ]] && continue
		v=${got[$k]}
		# Inbound and unknown records have no "final"; "false" is
		# still the truth for them.
		if [[ $k == SINCH_FINAL && $v == false &&
		    ($kind == inbound || $kind == unknown) ]]; then
			continue
		fi
		check_fail "$name: unexpected variable $k='${v:0:80}'"
	done
}

# check_fds NAME ID: only 0, 1, 2 besides ls's own directory.
check_fds()
{
	local fds

	fds=$(awk '/ -> / && $NF !~ /^\/proc\/[0-9]+\/fd$/ { print $(NF - 2) }' \
	    "$HD/$2.fds" | sort -n | tr '\n' ' ')
	[[ $fds == "0 1 2 " ]] ||
	    check_fail "$1: the hook holds fds '$fds', expected 0 1 2:" \
		"$(grep -- ' -> ' "$HD/$2.fds" | awk '{ print $(NF - 2),
		    $(NF - 1), $NF }' | tr '\n' ';')"
}

# check_proc NAME ID: parent and process group.
check_proc()
{
	local stat pid f

	stat=$(cat "$HD/$2.stat")
	pid=${stat%% *}
	read -r -a f <<<"${stat##*) }"	# state ppid pgrp session ...
	[[ ${f[1]} == "$DAEMON_PID" ]] ||
	    check_fail "$1: the hook's parent is ${f[1]}" \
		"($(ps -o args= -p "${f[1]}" 2>/dev/null)), not the daemon"
	[[ ${f[2]} == "$pid" ]] ||
	    check_fail "$1: the hook $pid is in process group ${f[2]}," \
		"not its own"
}

shopt -s nullglob
fixtures=("$DATADIR"/valid/*.json)
((${#fixtures[@]} >= 9)) || fail "too few fixtures in $DATADIR/valid"
declare -A kinds=()
for f in "${fixtures[@]}"; do
	name=$(basename "$f" .json)
	post_file 200 "$f" || continue
	id=$LAST_ID
	[[ -n $id ]] || { check_fail "$name: no X-Request-Id"; continue; }
	check_record "$f" "$id"
	if [[ ! -e $HD/$id.done ]]; then
		check_fail "$name: the hook left no complete dump for id $id" \
		    "($(find "$HD" -name '*.done' | head -n 5 | tr '\n' ' '))"
		continue
	fi
	check_env "$name" "$id"
	if ! cmp -s "$HD/$id.stdin" <(line_of "$id"); then
		check_fail "$name: stdin ($(wc -c <"$HD/$id.stdin") bytes)" \
		    "differs from the file sink's line" \
		    "($(line_of "$id" | wc -c) bytes): $(head -c 200 \
		    "$HD/$id.stdin" | tr '\n' '~')"
	fi
	check_fds "$name" "$id"
	cmp -s "$HD/$id.args" "$T/args.want" ||
	    check_fail "$name: arguments differ: $(tr '\n' '|' <"$HD/$id.args")"
	check_proc "$name" "$id"
	kinds[$(line_of "$id" | jq -r .kind)]=1
done
for k in delivery_report recipient_delivery_report inbound unknown; do
	[[ -n ${kinds[$k]:-} ]] || check_fail "no fixture of kind $k was checked"
done
note "${#fixtures[@]} fixtures: environment, stdin, fds, arguments checked"
check_ids_match "$OK_IDS" "$REPORTS"
check_no_zombies "after the dumps" all
stop_daemon_clean

finish
