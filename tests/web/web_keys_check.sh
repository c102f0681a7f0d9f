#!/usr/bin/env bash
# web_keys_check.sh TRIALCTL TRIALNODE WORKDIR - the key pages (web/timeline.html,
# web/participant.html, docs/WEB.md) in headless Chromium against a real 4-validator
# consortium running the example trial (ports 20900-21070; the test proxy on 20950):
#   1. plain HTTP on 127.0.0.1 (a secure context): tests/web/keys_browser_check.py: the
#      regulator's timeline, every mark verified, filters, CSV; a site key sees only its
#      site's participants; a participant withdraws a scope on its page (390x844) and the
#      regulator's timeline shows it; a proxy flipping one receipt byte; no request carries
#      key material; exportKey fails; axe-core; outside a secure context no key loads;
#      then tests/web/js_txs_check.mjs: an enrolment and a consent grant with a witness
#      co-signature, built and signed by web/js/tx.mjs, accepted and certified;
#   2. the same pages over HTTPS: a `trialctl init --tls --host trial.test` consortium on the
#      same ports (the first one stopped), reached at https://trial.test:PORT (mapped to
#      127.0.0.1 by Chromium's resolver rules): curl with the consortium's CA accepts the
#      certificate for that name; Chromium, given --ignore-certificate-errors (Debian's
#      chromium reads its CAs from an NSS database that certutil, not installed here, would
#      have to edit), is in a secure context there and the regulator's timeline verifies.
# Screenshots in WORKDIR/web-keys-check/screenshots.
set -euo pipefail
TRIALCTL=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
TRIALNODE=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=$3/web-keys-check
BASE=20900
PROXY_PORT=20950
TRIAL=TRIAL-CARDIO-01
fail() { echo "web_keys_check: FAIL: $*" >&2; exit 1; }
for tool in node npm curl openssl /usr/bin/chromium /usr/bin/chromedriver; do
    command -v "$tool" >/dev/null || fail "$tool is needed (Debian: scripts/setup.sh installs chromium, chromium-driver, python3-selenium, nodejs, npm)"
done
/usr/bin/python3 -c 'import selenium, nacl' 2>/dev/null || fail "python3-selenium and python3-nacl are needed"
mkdir -p "$WORK/npm"
if [ ! -f "$WORK/npm/node_modules/axe-core/axe.min.js" ]; then
    (cd "$WORK/npm" && npm install --no-audit --no-fund --loglevel=error axe-core@4.10.2 >/dev/null) \
        || fail "npm install axe-core"
fi
AXE=$WORK/npm/node_modules/axe-core/axe.min.js
bash "$HERE/bundle_check.sh" "$TRIALNODE" || fail "the bundle"

# The example trial's participants' keys (tools/trial_remote.c: seed = SHA-256 of
# "trialreg-example-remote/participant/<chain id hex>/<i>"), written as FORMATS 6.3 key files.
participant_keys() {
    /usr/bin/python3 - "$1" <<'PY'
import hashlib, os, sys, nacl.signing
c = sys.argv[1]
chain = hashlib.sha256(open(os.path.join(c, "genesis.bin"), "rb").read()).hexdigest()
os.makedirs(os.path.join(c, "participants"), exist_ok=True)
for i in range(8):
    seed = hashlib.sha256(f"trialreg-example-remote/participant/{chain}/{i}".encode()).digest()
    pub = bytes(nacl.signing.SigningKey(seed).verify_key)
    path = os.path.join(c, "participants", f"p{i}.key")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(f"trialreg-ed25519-secret-v1\nseed {seed.hex()}\npublic {pub.hex()}\n")
PY
}

# ---- 1. plain HTTP on 127.0.0.1 ---------------------------------------------------------------
C=$WORK/consortium
. "$ROOT/tests/http/lib.sh"
consortium_up "$TRIALCTL" "$C" $BASE || fail "cluster up"
URL=http://127.0.0.1:$((BASE + 164))
"$TRIALCTL" example-trial --url "tcp://127.0.0.1:$((BASE + 100))" --consortium "$C" \
    > "$WORK/example.out" 2>&1 || fail "example-trial: $(tail -n 3 "$WORK/example.out")"
participant_keys "$C"
TRIALCTL="$TRIALCTL" /usr/bin/python3 "$HERE/keys_browser_check.py" "$URL" "$C" "$TRIAL" "$AXE" "$WORK/screenshots" $PROXY_PORT \
    || fail "the key pages in Chromium"
node "$HERE/js_txs_check.mjs" "$URL" "$C" "$TRIALCTL" "$TRIAL" || fail "txs signed by web/js/tx.mjs"
"$TRIALCTL" cluster down "$C" >/dev/null 2>&1 || true

# ---- 2. HTTPS at a name the certificates carry ------------------------------------------------
T=$WORK/tls
"$TRIALCTL" cluster down "$T" >/dev/null 2>&1 || true
rm -rf "$T"
"$TRIALCTL" init --tls --host trial.test --base-port $BASE "$T" >/dev/null || fail "init --tls --host trial.test"
CONSORTIUM_D=$T
"$TRIALCTL" cluster up "$T" >/dev/null || fail "the TLS consortium"
HTTPS=https://trial.test:$((BASE + 164))
CURL_TLS=(--cacert "$T/tls/ca.pem" --resolve "trial.test:$((BASE + 164)):127.0.0.1")
for _ in $(seq 100); do
    [ "$(curl -s "${CURL_TLS[@]}" -o /dev/null -w '%{http_code}' "$HTTPS/readyz")" = 200 ] && break
    sleep 0.1
done
[ "$(curl -s "${CURL_TLS[@]}" -o /dev/null -w '%{http_code}' "$HTTPS/app/timeline.html")" = 200 ] \
    || fail "curl with the consortium's CA does not accept $HTTPS (the certificate must name trial.test)"
export TRIALREG_TLS_CA=$T/tls/ca.pem
"$TRIALCTL" example-trial --url "tls+tcp://127.0.0.1:$((BASE + 100))" --consortium "$T" \
    > "$WORK/example-tls.out" 2>&1 || fail "example-trial over TLS: $(tail -n 3 "$WORK/example-tls.out")"
HTTPS_ONLY=1 TRIALCTL="$TRIALCTL" /usr/bin/python3 "$HERE/keys_browser_check.py" "$HTTPS" "$T" "$TRIAL" "$AXE" "$WORK/screenshots" $PROXY_PORT \
    || fail "the key pages over HTTPS in Chromium"
echo "web_keys_check: OK (screenshots in $WORK/screenshots)"
