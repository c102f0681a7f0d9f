#!/usr/bin/env bash
# web_check.sh TRIALCTL TRIALNODE WORKDIR - the web pages against a real 4-validator
# consortium (ports 20700-20870; the test proxies on 20750 and 20751):
#   1. the bundle: /app/SHA256SUMS is what sha256sum prints over web/, its SHA-256 is the
#      hash `trialnode --version` prints and README.md states; every file is served byte for
#      byte with its content type, the CSP and nosniff headers;
#   2. the JavaScript verifier (web/js/verify.mjs under Node) on this consortium's receipt
#      files (the public history's and GET /v1/receipts/{id} as msgpack: a consent grant
#      with its witness co-signature, a withdrawal): each verifies, every one-byte tamper
#      fails with a named step, and trialctl verify-receipt refuses it too (the first
#      three files: the grant, the withdrawal, the registration);
#   3. the history page in headless Chromium (tests/web/browser_check.py): every mark
#      verified, a flipped byte shown "not verified: STEP", another chain's genesis, the node
#      down, axe-core; screenshots in WORKDIR/web-check/screenshots.
set -euo pipefail
TRIALCTL=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
TRIALNODE=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=$3/web-check
BASE=20700
PROXY_PORT=20750
TRIAL=TRIAL-CARDIO-01
fail() { echo "web_check: FAIL: $*" >&2; exit 1; }
for tool in node npm curl sha256sum /usr/bin/chromium /usr/bin/chromedriver; do
    command -v "$tool" >/dev/null || fail "$tool is needed (Debian: scripts/setup.sh installs chromium, chromium-driver, python3-selenium, nodejs, npm)"
done
/usr/bin/python3 -c 'import selenium' 2>/dev/null || fail "python3-selenium is needed"
mkdir -p "$WORK/npm" "$WORK/receipts"
if [ ! -f "$WORK/npm/node_modules/axe-core/axe.min.js" ]; then
    (cd "$WORK/npm" && npm install --no-audit --no-fund --loglevel=error axe-core@4.10.2 >/dev/null) \
        || fail "npm install axe-core"
fi

# ---- 1. the bundle (its hash and rules: bundle_check.sh; here: what the node serves) --------
bash "$HERE/bundle_check.sh" "$TRIALNODE" || fail "the bundle"
by_hand=$(cd "$ROOT/web" && find . -type f -printf '%P\n' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)

C=$WORK/consortium
. "$ROOT/tests/http/lib.sh"
consortium_up "$TRIALCTL" "$C" $BASE || fail "cluster up"
URL=http://127.0.0.1:$((BASE + 164))
served=$(curl -sf "$URL/app/SHA256SUMS" | sha256sum | cut -d' ' -f1)
[ "$served" = "$by_hand" ] || fail "/app/SHA256SUMS hashes to $served, not $by_hand"
(cd "$ROOT/web" && find . -type f -printf '%P\n' | LC_ALL=C sort | xargs sha256sum) \
    | diff - <(curl -sf "$URL/app/SHA256SUMS") || fail "/app/SHA256SUMS is not sha256sum's listing of web/"
while read -r sum path; do
    headers=$WORK/headers
    got=$(curl -s -D "$headers" "$URL/app/$path" | sha256sum | cut -d' ' -f1)
    [ "$got" = "$sum" ] || fail "/app/$path is not web/$path"
    case $path in
        *.html) want="text/html; charset=utf-8" ;;
        *.css) want="text/css; charset=utf-8" ;;
        *.mjs) want="text/javascript; charset=utf-8" ;;
        *) want="" ;;
    esac
    [ -z "$want" ] || grep -qi "^content-type: $want" "$headers" || fail "/app/$path: not $want: $(cat "$headers")"
    grep -qi "^content-security-policy: default-src 'self';.*connect-src 'self'" "$headers" \
        || fail "/app/$path has no CSP default-src 'self'"
    grep -qi '^x-content-type-options: nosniff' "$headers" || fail "/app/$path has no nosniff"
done < <(curl -sf "$URL/app/SHA256SUMS")
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/app/nothing.html")" = 404 ] || fail "/app/nothing.html is not 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/app/index.html")" = 405 ] || fail "POST /app/ is not 405"
[ "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$URL/app")" = "301 $URL/app/" ] || fail "/app does not redirect to /app/"
echo "served: every file of web/ byte for byte, with its type, the CSP and nosniff"

# ---- 2. the JavaScript verifier on this consortium's receipts -------------------------------
"$TRIALCTL" example-trial --url "tcp://127.0.0.1:$((BASE + 100))" --consortium "$C" \
    > "$WORK/example.out" 2>&1 || fail "example-trial: $(tail -n 3 "$WORK/example.out")"
curl -sf "$URL/v1/trials/$TRIAL/history" > "$WORK/history.json" || fail "history"
node -e '
const d = JSON.parse(require("fs").readFileSync(process.argv[1]));
d.events.forEach((e, i) => require("fs").writeFileSync(`${process.argv[2]}/history-${i}-${e.method}.receipt`, Buffer.from(e.receipt_file, "base64")));
' "$WORK/history.json" "$WORK/receipts"
"$TRIALCTL" http-sign --genesis "$C/genesis.bin" --key "$C/keys/regulator.key" "$URL/v1/blocks?from=1&count=64" > "$WORK/h"
curl -sf -H @"$WORK/h" "$URL/v1/blocks?from=1&count=64" > "$WORK/blocks.json" || fail "blocks"
for m in grant withdraw; do
    tx=$(node -e '
const d = JSON.parse(require("fs").readFileSync(process.argv[1]));
for (const b of d.blocks) for (const t of b.txs) if (t.tx.method === process.argv[2] && t.receipt.status === "OK") { console.log(t.receipt.tx_id); process.exit(0); }
' "$WORK/blocks.json" "$m")
    [ -n "$tx" ] || fail "no $m in the example trial"
    "$TRIALCTL" http-sign --genesis "$C/genesis.bin" --key "$C/keys/regulator.key" "$URL/v1/receipts/$tx" > "$WORK/h"
    curl -sf -H @"$WORK/h" -H 'Accept: application/msgpack' "$URL/v1/receipts/$tx" > "$WORK/receipts/consent-$m.receipt" \
        || fail "GET /v1/receipts/$tx as msgpack"
done
node "$HERE/verify_receipts.mjs" "$C/genesis.bin" "$TRIALCTL" "$WORK"/receipts/*.receipt \
    || fail "the JavaScript verifier"

# ---- 3. the page in Chromium ----------------------------------------------------------------
/usr/bin/python3 "$HERE/browser_check.py" "$URL" "$C/genesis.bin" "$TRIAL" \
    "$WORK/npm/node_modules/axe-core/axe.min.js" "$WORK/screenshots" $PROXY_PORT \
    || fail "the history page in Chromium"
echo "web_check: OK (screenshots in $WORK/screenshots)"
