#!/usr/bin/env bash
# flow_check.sh TRIALCTL WORKDIR - issue 21 item 5's whole flow in headless Chromium against
# a real 4-validator consortium (ports 21500-21670) running the example trial: a NEW
# participant's e-consent session on two devices (key created on the phone, downloaded),
# its withdrawal of one scope on web/participant.html with that key file, and the
# regulator's web/timeline.html showing both, every mark verified, with the participant's
# consent history grant then withdrawal: tests/web/flow_browser.py says what is checked.
# Screenshots in WORKDIR/web-flow-check/screenshots.
set -euo pipefail
TRIALCTL=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=$2/web-flow-check
BASE=21500
TRIAL=TRIAL-CARDIO-01
fail() { echo "flow_check: FAIL: $*" >&2; exit 1; }
for tool in curl /usr/bin/chromium /usr/bin/chromedriver; do
    command -v "$tool" >/dev/null || fail "$tool is needed (Debian: scripts/setup.sh installs chromium, chromium-driver, python3-selenium)"
done
/usr/bin/python3 -c 'import selenium' 2>/dev/null || fail "python3-selenium is needed"
mkdir -p "$WORK"
C=$WORK/consortium
. "$ROOT/tests/http/lib.sh"
consortium_up "$TRIALCTL" "$C" $BASE || fail "cluster up"
URL=http://127.0.0.1:$((BASE + 164))
"$TRIALCTL" example-trial --url "tcp://127.0.0.1:$((BASE + 100))" --consortium "$C" \
    > "$WORK/example.out" 2>&1 || fail "example-trial: $(tail -n 3 "$WORK/example.out")"
rm -rf "$WORK/screenshots"; mkdir -p "$WORK/screenshots"
/usr/bin/python3 "$HERE/flow_browser.py" "$URL" "$C" "$TRIAL" "$TRIALCTL" "$WORK/screenshots" \
    || fail "the e-consent session, the withdrawal and the timeline in Chromium"
echo "flow_check: OK (screenshots in $WORK/screenshots)"
