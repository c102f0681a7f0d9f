#!/bin/sh
# `trialctl http-sign` checked by an independent RFC 9421 verifier (verify_httpsig.py):
# a GET with a query and a POST with a body verify; a changed query, another body and
# another genesis are refused.  usage: httpsig_check.sh TRIALCTL TMPDIR
set -eu
T=$1; W=$2/httpsig.$$; PY=/usr/bin/python3; V="$PY $(dirname "$0")/verify_httpsig.py"
rm -rf "$W"; mkdir -p "$W"; trap 'rm -rf "$W"' EXIT
fail() { echo "httpsig_check: FAIL: $*" >&2; exit 1; }
"$T" init --base-port 30500 "$W/c" >/dev/null
"$T" init --base-port 30500 --chain-name other "$W/o" >/dev/null
G=$W/c/genesis.bin; K=$W/c/keys/regulator.key
URL='http://127.0.0.1:8080/v1/blocks?from=3&count=10'
"$T" http-sign --genesis "$G" --key "$K" "$URL" > "$W/get.h"
$V "$W/get.h" GET "$URL" "$G" || fail "a signed GET does not verify"
$V "$W/get.h" GET 'http://127.0.0.1:8080/v1/blocks?from=4&count=10' "$G" >/dev/null \
    && fail "a changed query verified"
$V "$W/get.h" GET "$URL" "$W/o/genesis.bin" >/dev/null && fail "another chain's genesis verified"
printf '{"txs": []}' > "$W/body"
"$T" http-sign --genesis "$G" --key "$K" --body "$W/body" http://127.0.0.1:8080/v1/txs > "$W/post.h"
$V "$W/post.h" POST http://127.0.0.1:8080/v1/txs "$G" "$W/body" || fail "a signed POST does not verify"
printf '{"txs": [1]}' > "$W/other"
$V "$W/post.h" POST http://127.0.0.1:8080/v1/txs "$G" "$W/other" >/dev/null && fail "another body verified"
"$T" http-sign --genesis "$G" --key "$K" nonsense >/dev/null 2>&1 && fail "a bad URL was accepted"
echo "httpsig_check: OK"
