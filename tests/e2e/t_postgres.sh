#!/usr/bin/env bash
#
# t_postgres.sh - the postgres sink stores every valid callback once, as
# the file sink's record, with typed columns that agree with it.
#
# A server of the test's own (tests/pg.sh) and one daemon with two
# required sinks: a file sink (fsync) and a postgres sink, dedup off (so a
# retry reaches the sink).
# 1. The daemon creates the table, of the agreed shape, with a unique
#    index on dedup_key.
# 2. Every valid callback of tests/data (payload/valid-*, e2e/valid,
#    examples, the byte order mark and \u0000 bodies), one with lone
#    surrogate escapes, then the shared Sinch vectors when present: each
#    200; then each body is exactly one row, found by dedup_key = SHA-256
#    of its bytes; `record` equals the file sink's line for that id (after
#    jq -S; \u0000 and lone surrogates as U+FFFD there, with a warning
#    naming the id in the log), and every typed column equals the
#    record's field.  The table holds exactly those rows.
# 3. The same body again: 200, still one row.  /metrics counts the rows
#    inserted and the duplicate, the batches and the commits; /readyz 200.
# 4. A table of the wrong shape: the daemon exits non-zero with a line
#    naming the table and a column.
# 5. -t refuses a conninfo with a password, a bad table name, connections
#    out of 1..64, and accepts a good configuration with no server there.
# 6. A wrong password_file: the daemon starts, /readyz 503, callbacks 503,
#    and neither password appears in anything it wrote.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

VECTORS=${SINCH_VECTORS:-$SRCDIR/../shared/vectors/sinch}
PAYLOAD=$SRCDIR/tests/data/payload
EXAMPLES=$SRCDIR/tests/data/examples

pg_start

# pg_config FILE [TABLE [EXTRA-SINK-KEYS [PASSWORD-FILE]]]: the file sink
# and the postgres sink "db", dedup off.
pg_config()
{
	local file=$1 table=${2:-sinch_reports} extra=${3:-}
	local pw=${4:-$PG_PASSWORD_FILE}

	write_config "$file" "$(cat <<EOF
  { name = "log"; kind = "file"; path = "$REPORTS"; fsync = true; required = true; },
  { name = "db"; kind = "postgres"; conninfo = "$PG_CONNINFO";
    password_file = "$pw"; table = "$table"; required = true; $extra }
EOF
)"
	echo 'dedup = { entries = 0; };' >>"$file"
}

# --- 1. the table is the daemon's -----------------------------------------
[[ $(pg_psql "SELECT to_regclass('sinch_reports') IS NULL") == t ]] ||
    fail "sinch_reports exists before the daemon started"
pg_config "$T/pg.conf"
start_daemon "$T/pg.conf"

pg_psql "SELECT column_name || ' ' || data_type || ' ' || is_nullable
    FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name = 'sinch_reports'
    ORDER BY column_name" >"$T/columns" ||
    fail "unable to read the columns of sinch_reports"
sort >"$T/columns.want" <<'EOF'
seq bigint NO
dedup_key bytea NO
received_at timestamp with time zone NO
request_id text NO
kind text NO
channel text YES
type text NO
batch_id text YES
recipient text YES
status text YES
code integer YES
final boolean YES
at timestamp with time zone YES
message_id text YES
client_reference text YES
sns_message_id text YES
record jsonb NO
EOF
diff "$T/columns.want" "$T/columns" >"$T/columns.diff" ||
    check_fail "sinch_reports columns differ from the contract:" \
	"$(tr '\n' ';' <"$T/columns.diff")"
[[ $(pg_psql "SELECT count(*) FROM pg_index i
    JOIN pg_attribute a ON a.attrelid = i.indrelid
	AND a.attnum = i.indkey[0]
    WHERE i.indrelid = 'sinch_reports'::regclass AND i.indisunique
	AND i.indnatts = 1 AND a.attname = 'dedup_key'") -ge 1 ]] ||
    check_fail "no unique index on sinch_reports(dedup_key)"

# --- 2. every valid callback -------------------------------------------------

# The file sink's line with \u0000 and lone surrogates as U+FFFD (what
# jsonb can hold); exit 3 when it changed something.
cat >"$T/fffd.py" <<'EOF'
import json, re, sys
line = sys.stdin.read().rstrip("\n")
if not re.search(r"\\u(0000|[dD][89abcdefABCDEF][0-9a-fA-F]{2})", line):
    print(line)
    sys.exit(0)
def fix(v):
    if isinstance(v, str):
        return "".join("\ufffd" if c == "\0" or 0xD800 <= ord(c) <= 0xDFFF
                       else c for c in v)
    if isinstance(v, list):
        return [fix(x) for x in v]
    if isinstance(v, dict):
        return {fix(k): fix(x) for k, x in v.items()}
    return v
old = json.loads(line)
new = fix(old)
print(json.dumps(new, ensure_ascii=False, separators=(",", ":")))
sys.exit(3 if new != old else 0)
EOF

# Lone surrogate escapes, in the message and in a normalised field.
printf '%s' '{"type":"mo_text","id":"01JPGSURROGATE0000000000001","from":"46701234567","to":"46700000000","body":"half \ud83d of a pair, \udc00 the other half","client_reference":"x\udbffy","received_at":"2026-11-27T14:00:00.012Z"}' \
    >"$T/mo_text_lone_surrogate.json"

declare -A SEEN=()
POSTED=()	# "key id file" of every body posted

# post_one FILE: 200 and an id, noted in POSTED (bytes posted once).
post_one()
{
	local f=$1 key

	key=$(sha256_of "$f")
	if [[ -n ${SEEN[$key]:-} ]]; then
		note "$(basename "$f"): same bytes as ${SEEN[$key]}"
		return 0
	fi
	SEEN[$key]=$(basename "$f")
	post_file 200 "$f" || return 1
	[[ -n $LAST_ID ]] ||
	    { check_fail "$(basename "$f"): 200 without X-Request-Id"; return 1; }
	POSTED+=("$key $LAST_ID $f")
}

shopt -s nullglob
bodies=("$PAYLOAD"/valid-*.json "$DATADIR"/valid/*.json "$EXAMPLES"/*.json
    "$DATADIR"/odd/mo_text_bom.json "$DATADIR"/odd/mo_text_nul.json
    "$T/mo_text_lone_surrogate.json")
((${#bodies[@]} >= 40)) ||
    fail "expected the fixtures of tests/data, found ${#bodies[@]}"
for f in "${bodies[@]}"; do
	post_one "$f"
done
if [[ -d $VECTORS ]]; then
	vectors=("$VECTORS"/*.json)
	((${#vectors[@]} > 0)) || check_fail "vectors: no *.json in $VECTORS"
	for f in "${vectors[@]}"; do
		post_one "$f"
	done
	note "vectors: ${#vectors[@]} in $VECTORS posted"
else
	echo "vectors: $VECTORS not found, shared conformance walk not run"
fi
note "${#POSTED[@]} distinct bodies answered 200"

# The typed columns that differ from the record's fields (:'line', the
# file sink's line as fixed by fffd.py) in the row of :'key'.
COLUMNS_SQL="SELECT concat_ws(' ',
  CASE WHEN t.received_at IS DISTINCT FROM (l->>'received_at')::timestamptz
    THEN 'received_at' END,
  CASE WHEN t.request_id IS DISTINCT FROM l->>'id' THEN 'request_id' END,
  CASE WHEN t.kind IS DISTINCT FROM l->>'kind' THEN 'kind' END,
  CASE WHEN t.channel IS DISTINCT FROM l->>'channel' THEN 'channel' END,
  CASE WHEN t.type IS DISTINCT FROM l->>'type' THEN 'type' END,
  CASE WHEN t.batch_id IS DISTINCT FROM l->>'batch_id' THEN 'batch_id' END,
  CASE WHEN t.recipient IS DISTINCT FROM l->>'recipient'
    THEN 'recipient' END,
  CASE WHEN t.status IS DISTINCT FROM l->>'status' THEN 'status' END,
  CASE WHEN t.code IS DISTINCT FROM (l->>'code')::integer THEN 'code' END,
  CASE WHEN t.final IS DISTINCT FROM (l->>'final')::boolean
    THEN 'final' END,
  CASE WHEN t.at IS DISTINCT FROM (CASE WHEN l->>'at' ~
      '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z\$'
    THEN (l->>'at')::timestamptz END) THEN 'at' END,
  CASE WHEN t.message_id IS DISTINCT FROM l->>'message_id'
    THEN 'message_id' END,
  CASE WHEN t.client_reference IS DISTINCT FROM l->>'client_reference'
    THEN 'client_reference' END,
  CASE WHEN t.sns_message_id IS DISTINCT FROM l->>'sns_message_id'
    THEN 'sns_message_id' END)
FROM sinch_reports t, (SELECT :'line'::jsonb AS l) x
WHERE t.dedup_key = decode(:'key', 'hex')"

# check_row KEY ID FILE: one row; record and columns agree with the line.
check_row()
{
	local key=$1 id=$2 f=$3 name n row line fixed rc got bad

	name=$(basename "$f")
	# "rows|bytes of dedup_key|record" of the row(s) with that key.
	row=$(pg_psql "SELECT count(*) OVER (), octet_length(dedup_key),
	    record::text FROM sinch_reports
	    WHERE dedup_key = decode(:'key', 'hex')" -v "key=$key")
	n=${row%%|*}
	if [[ $n != 1 ]]; then
		check_fail "$name: ${n:-no} row(s) with its dedup_key," \
		    "expected 1"
		return 1
	fi
	row=${row#*|}
	[[ ${row%%|*} == 32 ]] ||
	    check_fail "$name: dedup_key is ${row%%|*} bytes, not 32"
	got=$(jq -S -c . <<<"${row#*|}")
	line=$(line_of "$id")
	if [[ -z $line ]]; then
		check_fail "$name: no line with id $id in the file sink"
		return 1
	fi
	rc=0
	fixed=$(PYTHONIOENCODING=utf-8 python3 "$T/fffd.py" <<<"$line") ||
	    rc=$?
	if ((rc == 3)); then
		# The substitution is logged, naming the request.
		grep -a -q -E "warn.*sink_postgres: .*$id" "$DAEMON_STDERR" ||
		    check_fail "$name: \\u0000 or a lone surrogate stored as" \
			"U+FFFD without a warning naming $id"
		SUBSTITUTED=$((SUBSTITUTED + 1))
	elif ((rc != 0)); then
		check_fail "$name: the file sink's line is not JSON: ${line:0:200}"
		return 1
	fi
	if [[ $got != "$(jq -S -c . <<<"$fixed")" ]]; then
		check_fail "$name: record differs from the file sink's line:" \
		    "row ${got:0:300} line ${fixed:0:300}"
		return 1
	fi
	bad=$(pg_psql "$COLUMNS_SQL" -v "key=$key" -v "line=$fixed") ||
	    bad="(query failed)"
	[[ -z $bad ]] ||
	    check_fail "$name: typed column(s) differ from the record: $bad"
}

SUBSTITUTED=0
for p in "${POSTED[@]}"; do
	read -r key id f <<<"$p"
	check_row "$key" "$id" "$f"
done
# Three bodies hold \u0000 (payload/valid-nul-escape*, odd/mo_text_nul),
# one lone surrogates.
((SUBSTITUTED >= 4)) ||
    check_fail "only $SUBSTITUTED record(s) needed U+FFFD, expected 4 or more"
n=$(pg_rows)
[[ $n == "${#POSTED[@]}" ]] ||
    check_fail "sinch_reports holds $n rows for ${#POSTED[@]} distinct bodies"
pg_keys >"$T/keys.got"
for p in "${POSTED[@]}"; do
	echo "${p%% *}"
done | sort >"$T/keys.want"
cmp -s "$T/keys.want" "$T/keys.got" ||
    check_fail "the dedup_keys in the table are not the SHA-256 of the" \
	"bodies posted: $(diff "$T/keys.want" "$T/keys.got" | head -n 4 |
	tr '\n' ' ')"

# --- 3. a retry, metrics, readiness ------------------------------------------
f=$DATADIR/valid/mo_text_minimal.json
key=$(sha256_of "$f")
post_file 200 "$f"
n=$(pg_rows_of_key "$key")
[[ $n == 1 ]] || check_fail "the same body again: $n rows, expected 1"
[[ $(pg_rows) == "${#POSTED[@]}" ]] ||
    check_fail "the same body again added a row"

scrape
inserted=$(metric_sum sinch_webhookd_postgres_rows_total 'sink="db"' \
    'result="inserted"')
duplicate=$(metric_sum sinch_webhookd_postgres_rows_total 'sink="db"' \
    'result="duplicate"')
[[ $inserted == "${#POSTED[@]}" ]] ||
    check_fail "postgres_rows_total inserted is $inserted, expected" \
	"${#POSTED[@]}"
[[ $duplicate == 1 ]] ||
    check_fail "postgres_rows_total duplicate is $duplicate, expected 1"
rows=$(metric_sum sinch_webhookd_postgres_batch_rows_sum 'sink="db"')
batches=$(metric_sum sinch_webhookd_postgres_batch_rows_count 'sink="db"')
[[ $rows == $((${#POSTED[@]} + 1)) ]] ||
    check_fail "postgres_batch_rows_sum is $rows, expected $((${#POSTED[@]} + 1))"
((batches >= 1 && batches <= rows)) ||
    check_fail "postgres_batch_rows_count is $batches for $rows reports"
grep -q -E '^sinch_webhookd_postgres_batch_rows_bucket\{.*le="1024"' \
    "$T/metrics.txt" ||
    check_fail "postgres_batch_rows has no le=\"1024\" bucket"
commits=$(metric_sum sinch_webhookd_postgres_commit_seconds_count 'sink="db"')
[[ $commits == "$batches" ]] ||
    check_fail "postgres_commit_seconds_count is $commits for $batches" \
	"batches"
up=$(metric_sum sinch_webhookd_postgres_connections 'sink="db"' \
    'state="up"')
((up >= 1)) || check_fail "postgres_connections up is $up"
[[ $(readyz_status) == 200 ]] || check_fail "/readyz is not 200"
expect_log "sink_postgres: db: connected to 127\\.0\\.0\\.1:$PG_PORT,? database sinch" \
    "connected line"
stop_daemon_clean

# --- 4. a table of the wrong shape -------------------------------------------
pg_psql 'CREATE TABLE bad_reports (seq int)' ||
    check_fail "unable to create bad_reports"
pg_config "$T/bad.conf" bad_reports
timeout -k 5 60 "$BIN" -c "$T/bad.conf" >"$T/bad.out" 2>"$T/bad.err"
rc=$?
if ((rc == 0 || rc == 124 || rc == 137)); then
	check_fail "a table of the wrong shape: the daemon exited $rc," \
	    "expected a failure at start"
fi
grep -a -q -E 'sink_postgres: db: table bad_reports: .*column "[a-z_]+"' \
    "$T/bad.err" ||
    check_fail "a table of the wrong shape: no line naming the table and" \
	"a column: $(tail -n 3 "$T/bad.err" | tr '\n' ' ')"
note "wrong shape: $(grep -a -m 1 'bad_reports' "$T/bad.err")"
[[ $(pg_psql 'SELECT count(*) FROM information_schema.columns
    WHERE table_name = '"'bad_reports'") == 1 ]] ||
    check_fail "the daemon changed the operator's table bad_reports"

# --- 5. -t -------------------------------------------------------------------
NOPORT=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
write_config "$T/pw.conf" "  { name = \"db\"; kind = \"postgres\";
    conninfo = \"host=127.0.0.1 port=$NOPORT dbname=sinch user=sinch password=Hunter2pg\"; }"
expect_config_rejected "$T/pw.conf" "conninfo with a password"
grep -q password_file "$T/check.err" ||
    check_fail "conninfo with a password: the message does not point to" \
	"password_file: $(head -n 1 "$T/check.err")"
write_config "$T/pwuri.conf" "  { name = \"db\"; kind = \"postgres\";
    conninfo = \"postgresql://sinch:Hunter3pg@127.0.0.1:$NOPORT/sinch\"; }"
expect_config_rejected "$T/pwuri.conf" "URI with a password"
for table in Reports 'sinch-reports' 'a.b.c' '1reports' "$(printf 'x%.0s' {1..64})"; do
	write_config "$T/table.conf" "$(pg_sink "$table")"
	expect_config_rejected "$T/table.conf" "table \"${table:0:20}\""
done
for c in 0 65; do
	write_config "$T/conn.conf" "$(pg_sink sinch_reports "connections = $c;")"
	expect_config_rejected "$T/conn.conf" "connections = $c"
done
write_config "$T/good.conf" "  { name = \"db\"; kind = \"postgres\";
    conninfo = \"host=127.0.0.1 port=$NOPORT dbname=sinch user=sinch connect_timeout=2\";
    password_file = \"$PG_PASSWORD_FILE\"; table = \"public.sinch_reports\";
    connections = 64; statement_timeout_ms = 100; queue_wait_ms = 60000; }"
timeout -k 5 30 "$BIN" -t -c "$T/good.conf" >"$T/good.out" 2>"$T/good.err"
rc=$?
((rc == 0)) || check_fail "-t on a good configuration, no server on" \
    "port $NOPORT: exit $rc: $(head -c 300 "$T/good.err")"

# --- 6. a wrong password -----------------------------------------------------
WRONG=WrongPw$RANDOM$RANDOM
echo "$WRONG" >"$T/wrong-password"
pg_config "$T/wrong.conf" sinch_reports "" "$T/wrong-password"
start_daemon "$T/wrong.conf"
wait_readyz 503 15 || check_fail "wrong password: /readyz is not 503"
sleep 1
[[ $(readyz_status) == 503 ]] ||
    check_fail "wrong password: /readyz became $(readyz_status)"
post_string 503 '{"type":"mo_text","id":"01JPGWRONGPASSWORD000000001","from":"46701234567","to":"46700000000","body":"x","received_at":"2026-11-27T14:00:00.012Z"}'
expect_log 'sink_postgres: db: ' "wrong password: a sink_postgres line"
note "wrong password: $(grep -a -m 1 'sink_postgres: db:' "$DAEMON_STDERR")"
[[ $(pg_rows) == "${#POSTED[@]}" ]] ||
    check_fail "wrong password: the table changed"
stop_daemon_clean
check_no_secrets "$WRONG" "$(cat "$PG_PASSWORD_FILE")" Hunter2pg Hunter3pg

finish
