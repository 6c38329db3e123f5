#!/usr/bin/env bash
#
# t_auth_oauth2.sh - OAuth 2.0 client credentials: the token endpoint and
# bearer tokens on callbacks.
#
# 1. Two clients (secret_file, and secret inline with characters that need
#    form encoding), key_file, default path and lifetime.  POST
#    /oauth2/token with grant_type=client_credentials, credentials by
#    Basic (curl -u) or form fields, also with "; charset=UTF-8" -> 200
#    JSON {access_token, token_type "Bearer", expires_in 0 < N <= 3600},
#    Content-Type application/json, Cache-Control: no-store.  Errors, JSON
#    {"error": ...}: unknown client, wrong secret (Basic: with
#    WWW-Authenticate Basic; form), no client credentials at all -> 401
#    invalid_client; another grant_type -> 400 unsupported_grant_type; no
#    grant_type, Basic and form credentials together, a JSON or text/plain
#    body -> 400 invalid_request.  Callbacks with a token -> 200 and their
#    record; without Authorization, with a changed character (first,
#    middle, last: the last one changed in its lowest bit), truncated,
#    extended, Basic credentials, an empty token -> 401 with
#    `WWW-Authenticate: Bearer realm="sinch-webhookd", error="invalid_token"`
#    (without Authorization: decided before the body is read).
# 2. A restart with the same key_file, path = "/auth/token" and
#    token_ttl_s = 120: the old token still passes; the new path issues
#    tokens with expires_in <= 120; the default path does not.  A second
#    instance sharing the key, running at the same time: each accepts the
#    other's tokens.
#    An instance whose wall clock runs 300 s ahead (an LD_PRELOAD shim
#    built from tests/data/e2e/auth/timeshift.c): the 120 s tokens are
#    expired -> 401 invalid_token; the 3600 s token and its own -> 200.
# 3. Another key_file: the tokens of the first key -> 401 invalid_token;
#    its own -> 200.
# 4. -t: token_ttl_s 59 or 86401, a key_file of 31 bytes -> exit 2;
#    token_ttl_s = 60 -> 0.
# The token answers make no record; no client secret, key or token is in
# the daemon's output or the records.

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

CID=sinch
CS='e2e-oauth-Cs-d93Kq7'
CID2=other-client
CS2='e2e o&a=u+t%h/2;Xy'	# needs form encoding
BEARER='^Bearer realm="sinch-webhookd", *error="invalid_token"(,.*)?$'
TOKEN_PATH=/oauth2/token

mkdir -p "$T/auth"
printf '%s\n' "$CS" >"$T/auth/cs"
head -c 48 /dev/urandom | base64 -w 0 >"$T/auth/key1"
head -c 48 /dev/urandom | base64 -w 0 >"$T/auth/key2"
KEY1=$(cat "$T/auth/key1")
KEY2=$(cat "$T/auth/key2")

# oauth_config FILE KEY-FILE [EXTRA-OAUTH2-SETTINGS]
oauth_config()
{
	auth_config "$1" "  oauth2 = {
    clients = ( { id = \"$CID\"; secret_file = \"$T/auth/cs\"; },
                { id = \"$CID2\"; secret = \"$CS2\"; } );
    key_file = \"$2\"; ${3:-} };"
}

# token_req CODE WHAT CURL-ARGS...: a POST to the token endpoint (its 200s
# are not callbacks: not noted in OK_IDS).
token_req()
{
	local code=$1 what=$2 OK_IDS=""

	shift 2
	expect_status "$code" "$@" "$BASE$TOKEN_PATH" || {
		note "  ($what)"
		return 1
	}
	if [[ $code != 200 ]]; then
		expect_header Content-Type '^application/json' "$what"
	fi
	return 0
}

# get_token WHAT MAX-TTL CURL-ARGS...: a 200 with a well-formed answer;
# sets TOKEN.
get_token()
{
	local what=$1 ttl=$2 problems

	shift 2
	TOKEN=""
	token_req 200 "$what" "$@" || return 1
	expect_header Content-Type '^application/json' "$what"
	expect_header Cache-Control '(^|[ ,])no-store($|[ ,])' "$what"
	problems=$(jq -r --argjson ttl "$ttl" '
	    if (.access_token | type) != "string" or .access_token == ""
	    then "access_token: \(.access_token)" else empty end,
	    if .token_type != "Bearer"
	    then "token_type: \(.token_type)" else empty end,
	    if (.expires_in | type) != "number" or .expires_in <= 0 or
		.expires_in > $ttl
	    then "expires_in: \(.expires_in), expected 1..\($ttl)"
	    else empty end' "$T/last.body" 2>&1) ||
	    problems="not JSON: $(last_body_excerpt)"
	if [[ -n $problems ]]; then
		check_fail "$what: $(tr '\n' ';' <<<"$problems")"
		return 1
	fi
	TOKEN=$(jq -r .access_token "$T/last.body")
	[[ $TOKEN =~ ^[!-~]+$ ]] ||
	    check_fail "$what: access_token '$TOKEN' is not printable ASCII"
	return 0
}

# token_error CODE ERROR WHAT CURL-ARGS...: an error answer {"error": ERROR}.
token_error()
{
	local code=$1 err=$2 what=$3 got

	shift 3
	token_req "$code" "$what" "$@" || return 1
	got=$(jq -r '.error' "$T/last.body" 2>/dev/null)
	[[ $got == "$err" ]] ||
	    check_fail "$what: error '$got', expected '$err':" \
		"$(last_body_excerpt)"
}

# bearer_ok WHAT TOKEN: a new callback with the token -> 200, record.
bearer_ok()
{
	hook_body "$T/b" "$1"
	post_file 200 "$T/b" -H "Authorization: Bearer $2" ||
	    { note "  ($1)"; return 1; }
	check_record "$T/b" "$LAST_ID" && expect_access_line "$LAST_ID" 200
}

# bearer_refused WHAT CURL-ARGS...: a new callback -> 401 invalid_token.
bearer_refused()
{
	local what=$1

	shift
	hook_body "$T/b" "$what"
	refused 401 "$BEARER" "$what" -H 'Content-Type: application/json' \
	    --data-binary "@$T/b" "$@" "$URL"
}

GRANT=(-d grant_type=client_credentials)

# --- 1. the token endpoint, and tokens on callbacks -----------------------------
oauth_config "$T/o1.conf" "$T/auth/key1"
start_daemon "$T/o1.conf"

get_token "Basic credentials" 3600 -u "$CID:$CS" "${GRANT[@]}"
TOKEN1=$TOKEN
note "token: ${#TOKEN1} characters; answer: $(jq -c '.access_token = "..."' "$T/last.body")"
get_token "form credentials" 3600 "${GRANT[@]}" \
    --data-urlencode "client_id=$CID" --data-urlencode "client_secret=$CS"
get_token "form credentials, second client (form-encoded secret)" 3600 \
    "${GRANT[@]}" --data-urlencode "client_id=$CID2" \
    --data-urlencode "client_secret=$CS2"
TOKEN_C2=$TOKEN
get_token "form content type with charset" 3600 -u "$CID:$CS" \
    -H 'Content-Type: application/x-www-form-urlencoded; charset=UTF-8' \
    "${GRANT[@]}"

token_error 401 invalid_client "Basic, wrong secret" -u "$CID:wrong" "${GRANT[@]}" &&
    expect_header WWW-Authenticate '^Basic' "Basic, wrong secret"
token_error 401 invalid_client "Basic, unknown client" -u "nobody:$CS" "${GRANT[@]}" &&
    expect_header WWW-Authenticate '^Basic' "Basic, unknown client"
token_error 401 invalid_client "Basic, the other client's secret" \
    -u "$CID:$CS2" "${GRANT[@]}"
token_error 401 invalid_client "form, wrong secret" "${GRANT[@]}" \
    --data-urlencode "client_id=$CID" --data-urlencode "client_secret=${CS}x"
token_error 401 invalid_client "form, unknown client" "${GRANT[@]}" \
    --data-urlencode "client_id=nobody" --data-urlencode "client_secret=$CS"
token_error 401 invalid_client "no client credentials at all" "${GRANT[@]}"
token_error 400 unsupported_grant_type "grant_type=password" -u "$CID:$CS" \
    -d grant_type=password
token_error 400 unsupported_grant_type "grant_type=authorization_code" \
    -u "$CID:$CS" -d grant_type=authorization_code
token_error 400 invalid_request "no grant_type" -u "$CID:$CS" -d scope=sms
token_error 400 invalid_request "Basic and form credentials together" \
    -u "$CID:$CS" "${GRANT[@]}" --data-urlencode "client_id=$CID" \
    --data-urlencode "client_secret=$CS"
token_error 400 invalid_request "JSON body" -u "$CID:$CS" \
    -H 'Content-Type: application/json' -d '{"grant_type":"client_credentials"}'
token_error 400 invalid_request "text/plain body" -u "$CID:$CS" \
    -H 'Content-Type: text/plain' "${GRANT[@]}"

bearer_ok "bearer token (Basic client)" "$TOKEN1"
bearer_ok "bearer token (form client)" "$TOKEN_C2"
bearer_refused "no Authorization header"
note "401 challenge: $(header_value WWW-Authenticate)"
note "401 reason: $(head -n 1 "$T/last.body")"
len=${#TOKEN1}
for pos in 0 $((len / 2)) $((len - 1)); do
	bearer_refused "token with character $pos changed" \
	    -H "Authorization: Bearer $(b64_flip_at "$TOKEN1" "$pos")"
done
bearer_refused "token minus its last character" \
    -H "Authorization: Bearer ${TOKEN1%?}"
bearer_refused "token plus a character" -H "Authorization: Bearer ${TOKEN1}A"
bearer_refused "empty token" -H 'Authorization: Bearer '
bearer_refused "client credentials instead of a token" -u "$CID:$CS"
# From the headers, before the body is read.
expect_early 401 127.0.0.1 "" "callback without a token"
expect_early 401 127.0.0.1 "Authorization: Bearer $(b64_flip_at "$TOKEN1" 0)\r\n" \
    "callback with a forged token"
bearer_ok "bearer token after the refusals" "$TOKEN1"
check_ids_match "$OK_IDS" "$REPORTS"
cat "$OK_IDS" >>"$T/ok.all"
stop_daemon_clean

# --- 2. same key: restart, other path and lifetime, a second instance ---------
oauth_config "$T/o2.conf" "$T/auth/key1" \
    "path = \"/auth/token\"; token_ttl_s = 120;"
start_daemon "$T/o2.conf"
bearer_ok "token of the first run, after a restart with the same key" "$TOKEN1"
TOKEN_PATH=/auth/token
get_token "path = /auth/token, token_ttl_s = 120" 120 -u "$CID:$CS" "${GRANT[@]}"
TOKEN_A=$TOKEN
OK_IDS="" request -u "$CID:$CS" "${GRANT[@]}" "$BASE/oauth2/token"
[[ $LAST_STATUS != 200 ]] ||
    check_fail "path = /auth/token: /oauth2/token still issues tokens"
cat "$OK_IDS" >>"$T/ok.all"

daemon_aside
start_daemon "$T/o2.conf"
[[ $URL != "$ASIDE_URL" ]] || fail "harness: both instances on $URL"
bearer_ok "second instance: token of the first" "$TOKEN_A"
bearer_ok "second instance: token of the very first run" "$TOKEN1"
get_token "second instance issues a token" 120 -u "$CID:$CS" "${GRANT[@]}"
TOKEN_B=$TOKEN
# The first instance (set aside) takes the second one's token.
SECOND_URL=$URL
SECOND_STDERR=$DAEMON_STDERR
URL=$ASIDE_URL
DAEMON_STDERR=$ASIDE_STDERR
bearer_ok "first instance: token of the second" "$TOKEN_B"
URL=$SECOND_URL
DAEMON_STDERR=$SECOND_STDERR
cat "$OK_IDS" >>"$T/ok.all"
stop_daemon_clean
stop_aside

# --- 2b. expiry, seen by an instance whose clock runs 300 s ahead -----------
# (tests/data/e2e/auth/timeshift.c, preloaded; skipped without a compiler)
SHIM=$T/timeshift.so
if ! command -v cc >/dev/null 2>&1; then
	echo "expiry: no C compiler for the clock shim, expiry not checked"
elif ! cc -shared -fPIC -o "$SHIM" "$DATADIR/auth/timeshift.c" -ldl \
    2>"$T/shim.log"; then
	check_fail "unable to build the clock shim: $(head -c 300 "$T/shim.log")"
else
	export E2E_TIME_SHIFT=300
	export LD_PRELOAD=$SHIM
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
	start_daemon "$T/o2.conf"
	unset E2E_TIME_SHIFT LD_PRELOAD
	bearer_ok "clock +300 s: token with 3600 s to live" "$TOKEN1"
	shifted=$(record_of "$LAST_ID" | jq -r '.received_at' |
	    sed -E 's/\.[0-9]+Z$/Z/' | jq -R 'fromdateiso8601' 2>/dev/null)
	if [[ -z $shifted ]] || ((shifted - $(date +%s) < 240 ||
	    shifted - $(date +%s) > 360)); then
		echo "expiry: the clock shim did not take (received_at" \
		    "'$shifted'), expiry not checked"
	else
		note "expiry: the instance's clock is $((shifted - $(date +%s))) s ahead"
		bearer_refused "clock +300 s: token with 120 s to live (expired)" \
		    -H "Authorization: Bearer $TOKEN_A"
		bearer_refused "clock +300 s: the second instance's 120 s token" \
		    -H "Authorization: Bearer $TOKEN_B"
		get_token "clock +300 s: a token of its own" 120 -u "$CID:$CS" \
		    "${GRANT[@]}"
		bearer_ok "clock +300 s: its own token" "$TOKEN"
		TOKEN_S=$TOKEN
	fi
	cat "$OK_IDS" >>"$T/ok.all"
	stop_daemon_clean
	check_ids_match "$T/ok.all" "$REPORTS"
fi

# --- 3. another key: earlier tokens are invalid ---------------------------------
oauth_config "$T/o3.conf" "$T/auth/key2"
TOKEN_PATH=/oauth2/token
start_daemon "$T/o3.conf"
bearer_refused "another key: token of the first run" \
    -H "Authorization: Bearer $TOKEN1"
bearer_refused "another key: token of the second run" \
    -H "Authorization: Bearer $TOKEN_A"
get_token "another key issues its own token" 3600 -u "$CID:$CS" "${GRANT[@]}"
bearer_ok "another key: its own token" "$TOKEN"
TOKEN3=$TOKEN
cat "$OK_IDS" >>"$T/ok.all"
stop_daemon_clean
check_ids_match "$T/ok.all" "$REPORTS"

# --- 4. -t --------------------------------------------------------------------------
oauth_config "$T/ttl59.conf" "$T/auth/key1" "token_ttl_s = 59;"
expect_config_rejected "$T/ttl59.conf" "token_ttl_s = 59"
oauth_config "$T/ttlbig.conf" "$T/auth/key1" "token_ttl_s = 86401;"
expect_config_rejected "$T/ttlbig.conf" "token_ttl_s = 86401"
printf '%s' "${KEY1:0:31}" >"$T/auth/key31"
oauth_config "$T/short.conf" "$T/auth/key31"
expect_config_rejected "$T/short.conf" "key_file of 31 bytes"
oauth_config "$T/ttl60.conf" "$T/auth/key1" "token_ttl_s = 60;"
if ! timeout -k 5 30 "$BIN" -t -c "$T/ttl60.conf" >"$T/ttl60.out" 2>"$T/ttl60.err"
then
	check_fail "token_ttl_s = 60: -t failed: $(head -c 300 "$T/ttl60.err")"
fi

check_no_secrets "$CS" "$CS2" "$KEY1" "$KEY2" "$TOKEN1" "$TOKEN_C2" \
    "$TOKEN_A" "$TOKEN_B" "$TOKEN3" "${TOKEN_S:-}" \
    "$(printf '%s:%s' "$CID" "$CS" | base64 -w 0)"

check_one_access_line_each

finish
