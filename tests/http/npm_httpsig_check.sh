#!/usr/bin/env bash
# npm_httpsig_check.sh TRIALCTL WORKDIR - our RFC 9421 (registry/base/httpsig.c, `trialctl
# http-sign`, the server's http_auth.c) against an independent implementation from npm,
# http-message-signatures (pinned, installed into WORKDIR/npm; npm_httpsig.mjs drives it,
# and the library builds every signature base itself):
#   (a) the library verifies what `trialctl http-sign` printed: a GET with a query and a
#       POST with a body and its Content-Digest; a changed query, another body and another
#       chain's genesis are refused;
#   (b) the library signs with a trialreg key file's Ed25519 seed, and a real 4-validator
#       consortium (ports 20300-20467) answers its signed GET /v1/blocks with 200, also with
#       the library's own defaults (label "sig", parameters in its order, an expires); a
#       request sent with another query than the one signed, or a changed signature, is 401.
set -euo pipefail
T=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$2/npm-httpsig
BASE=20300
fail() { echo "npm_httpsig_check: FAIL: $*" >&2; exit 1; }

command -v node >/dev/null && command -v npm >/dev/null || fail "node and npm are needed (Debian: apt-get install nodejs npm)"
mkdir -p "$WORK/npm"
if [ ! -d "$WORK/npm/node_modules/http-message-signatures" ]; then
    (cd "$WORK/npm" && npm install --no-audit --no-fund --loglevel=error \
        http-message-signatures@1.0.6 structured-headers@2.1.0 >/dev/null) || fail "npm install"
fi
cp "$HERE/npm_httpsig.mjs" "$WORK/npm/" # beside its packages: imports resolve from there
NPM="node $WORK/npm/npm_httpsig.mjs"

# (a) the library verifies trialctl http-sign's fields
C=$WORK/consortium
"$T" cluster down "$C" >/dev/null 2>&1 || true
rm -rf "$C" "$WORK/other"
"$T" init --base-port $BASE "$C" >/dev/null
"$T" init --base-port $BASE --chain-name other "$WORK/other" >/dev/null
G=$C/genesis.bin
K=$C/keys/regulator.key
HTTP=http://127.0.0.1:$((BASE + 164))
URL="$HTTP/v1/blocks?from=1&count=4"
"$T" http-sign --genesis "$G" --key "$K" "$URL" > "$WORK/get.h"
$NPM verify "$WORK/get.h" GET "$URL" "$G" || fail "the library does not verify a signed GET"
$NPM verify "$WORK/get.h" GET "$HTTP/v1/blocks?from=2&count=4" "$G" >/dev/null \
    && fail "the library verified a GET under another query"
$NPM verify "$WORK/get.h" GET "$URL" "$WORK/other/genesis.bin" >/dev/null \
    && fail "another chain's tag passed"
printf '{"txs": ["AAECAw=="]}' > "$WORK/body"
"$T" http-sign --genesis "$G" --key "$K" --body "$WORK/body" "$HTTP/v1/txs" > "$WORK/post.h"
$NPM verify "$WORK/post.h" POST "$HTTP/v1/txs" "$G" "$WORK/body" \
    || fail "the library does not verify a signed POST"
printf '{"txs": ["AAECBA=="]}' > "$WORK/other-body"
$NPM verify "$WORK/post.h" POST "$HTTP/v1/txs" "$G" "$WORK/other-body" >/dev/null \
    && fail "another body passed"
sed 's/^Content-Digest: .*/Content-Digest: sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:/' \
    "$WORK/post.h" > "$WORK/post-digest.h"
$NPM verify "$WORK/post-digest.h" POST "$HTTP/v1/txs" "$G" "$WORK/body" >/dev/null \
    && fail "the library verified a changed Content-Digest"

# (b) the library signs; the consortium answers
. "$HERE/lib.sh"
consortium_up "$T" "$C" $BASE || fail "cluster up"
"$T" example-trial --url "tcp://127.0.0.1:$((BASE + 100))" --consortium "$C" \
    > "$WORK/example.out" 2>&1 || fail "example-trial --url: $(tail -n 3 "$WORK/example.out")"
# signed_get HEADERS_FILE URL: the status; the body in $WORK/answer
signed_get() { curl -s -o "$WORK/answer" -w '%{http_code}' -H @"$1" "$2"; }
$NPM sign "$K" "$G" GET "$URL" > "$WORK/npm-get.h" || fail "the library cannot sign"
grep -q '^Signature-Input: sig1=("@method" "@path" "@query");created=[0-9]*;keyid="[0-9a-f]\{64\}";alg="ed25519";tag="trialreg-v1-' \
    "$WORK/npm-get.h" || fail "unexpected fields from the library: $(cat "$WORK/npm-get.h")"
code=$(signed_get "$WORK/npm-get.h" "$URL")
[ "$code" = 200 ] || fail "the library's signed GET answered $code: $(cat "$WORK/answer")"
grep -q '"blocks":\[{' "$WORK/answer" || fail "no blocks in $(head -c 300 "$WORK/answer")"
# the library's defaults: label "sig", keyid, alg, created, expires, then our tag
URL2="$HTTP/v1/blocks?from=2&count=3"
NPM_HTTPSIG_DEFAULTS=1 $NPM sign "$K" "$G" GET "$URL2" > "$WORK/npm-defaults.h"
grep -q '^Signature-Input: sig=(.*);keyid=.*;expires=' "$WORK/npm-defaults.h" \
    || fail "not the library's defaults: $(cat "$WORK/npm-defaults.h")"
code=$(signed_get "$WORK/npm-defaults.h" "$URL2")
[ "$code" = 200 ] || fail "the library's default parameters answered $code: $(cat "$WORK/answer")"
# tampered: sent under another query than the one signed; a changed signature
URL3="$HTTP/v1/blocks?from=1&count=2"
$NPM sign "$K" "$G" GET "$URL3" > "$WORK/npm-tamper.h"
code=$(signed_get "$WORK/npm-tamper.h" "$HTTP/v1/blocks?from=1&count=3")
[ "$code" = 401 ] && grep -q BAD_SIGNATURE "$WORK/answer" \
    || fail "a request sent under another query answered $code: $(cat "$WORK/answer")"
URL4="$HTTP/v1/blocks?from=3&count=2"
$NPM sign "$K" "$G" GET "$URL4" > "$WORK/npm-signed.h"
sed 's/^\(Signature: sig1=:\)A/\1B/; t; s/^\(Signature: sig1=:\)./\1A/' "$WORK/npm-signed.h" \
    > "$WORK/npm-flipped.h"
cmp -s "$WORK/npm-signed.h" "$WORK/npm-flipped.h" && fail "the signature was not changed"
code=$(signed_get "$WORK/npm-flipped.h" "$URL4")
[ "$code" = 401 ] || fail "a changed signature answered $code: $(cat "$WORK/answer")"
echo "npm_httpsig_check: OK (http-message-signatures 1.0.6 verifies trialctl http-sign; the server accepts its signatures)"
