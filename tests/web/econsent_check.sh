#!/usr/bin/env bash
# econsent_check.sh TRIALCTL WORKDIR - the e-consent session on two devices
# (web/econsent.html, web/sign.html) in two headless Chromium sessions against a real
# 4-validator consortium (ports 21100-21270) running the example trial:
# tests/web/econsent_browser.py says what is checked. Screenshots in
# WORKDIR/econsent-check/screenshots.
set -euo pipefail
TRIALCTL=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=$2/econsent-check
BASE=21100
TRIAL=TRIAL-CARDIO-01
fail() { echo "econsent_check: FAIL: $*" >&2; exit 1; }
for tool in node npm curl zbarimg /usr/bin/chromium /usr/bin/chromedriver; do
    command -v "$tool" >/dev/null || fail "$tool is needed (Debian: scripts/setup.sh installs chromium, chromium-driver, python3-selenium, zbar-tools, nodejs, npm)"
done
/usr/bin/python3 -c 'import selenium' 2>/dev/null || fail "python3-selenium is needed"
mkdir -p "$WORK/npm"
if [ ! -f "$WORK/npm/node_modules/axe-core/axe.min.js" ]; then
    (cd "$WORK/npm" && npm install --no-audit --no-fund --loglevel=error axe-core@4.10.2 >/dev/null) \
        || fail "npm install axe-core"
fi
C=$WORK/consortium
. "$ROOT/tests/http/lib.sh"
consortium_up "$TRIALCTL" "$C" $BASE || fail "cluster up"
URL=http://127.0.0.1:$((BASE + 164))
"$TRIALCTL" example-trial --url "tcp://127.0.0.1:$((BASE + 100))" --consortium "$C" \
    > "$WORK/example.out" 2>&1 || fail "example-trial: $(tail -n 3 "$WORK/example.out")"
rm -rf "$WORK/screenshots"; mkdir -p "$WORK/screenshots"
/usr/bin/python3 "$HERE/econsent_browser.py" "$URL" "$C/genesis.bin" "$TRIAL" \
    "$C/keys/investigator-site-a.key" "$TRIALCTL" "$WORK/npm/node_modules/axe-core/axe.min.js" \
    "$WORK/screenshots" || fail "the e-consent session in Chromium"
echo "econsent_check: OK (screenshots in $WORK/screenshots)"
