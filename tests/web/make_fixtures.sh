#!/usr/bin/env bash
# make_fixtures.sh TRIALCTL [BASE_PORT] - rewrites tests/web/fixtures/: the genesis and real
# receipt files of a local 4-validator consortium that ran the example trial. Run it when a
# format the receipts or the genesis use changes (docs/WEB.md 4); the files are committed so
# that web_verify_receipts and web_keys need no consortium.
#   - the protocol history's receipts (trialctl history --receipts-dir), named
#     <contract.method>-h<height>.receipt;
#   - the receipts of the first enrolment, the first witnessed grant and the first withdrawal
#     of the regulator's JSON timeline (trialctl receipt, signed by the regulator).
set -euo pipefail
T=$(realpath "${1:?usage: make_fixtures.sh TRIALCTL [BASE_PORT]}")
PORT=${2:-22300}
HERE=$(cd "$(dirname "$0")" && pwd)
FIX=$HERE/fixtures
WORK=$(mktemp -d)
trap '"$T" cluster down "$WORK/c" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
TRIAL=TRIAL-CARDIO-01
URL=tcp://127.0.0.1:$((PORT + 100))
HTTP=http://127.0.0.1:$((PORT + 164))
G=$WORK/c/genesis.bin
REG=$WORK/c/keys/regulator.key

"$T" init --validators 4 --base-port "$PORT" "$WORK/c" >/dev/null
"$T" cluster up "$WORK/c" >/dev/null
"$T" example-trial --url "$URL" --consortium "$WORK/c" >/dev/null
mkdir -p "$WORK/h"
"$T" history --url "$URL" --genesis "$G" --trial "$TRIAL" --json --receipts-dir "$WORK/h" \
    > "$WORK/history.json"
rm -f "$FIX"/*.receipt
cp "$G" "$FIX/genesis.bin"
/usr/bin/python3 - "$WORK/history.json" "$WORK/h" "$FIX" <<'PY'
import json, os, shutil, sys
history, src, fix = sys.argv[1:]
for e in json.load(open(history))["events"]:
    h, i = e["height"], e.get("index", 0)
    name = f'{e["method"]}-h{h}.receipt'
    shutil.copy(os.path.join(src, f"h{h}.{i}.receipt"), os.path.join(fix, name))
PY
path="/v1/trials/$TRIAL/timeline?from=1"
"$T" http-sign --genesis "$G" --key "$REG" "$HTTP$path" > "$WORK/headers"
curl -sf -H @"$WORK/headers" "$HTTP$path" > "$WORK/timeline.json"
/usr/bin/python3 - "$WORK/timeline.json" > "$WORK/picks" <<'PY'
import json, sys
entries = json.load(open(sys.argv[1]))["entries"]
def first(method, cosigned=False):
    for e in entries:
        tx, r = e["tx"], e["receipt"]
        if tx["method"] == method and r["status"] == "OK" and (not cosigned or tx.get("cosignatures")):
            return r["tx_id"]
    sys.exit(f"no OK {method} in the timeline")
print("enrol", first("enrol"))
print("grant", first("grant", cosigned=True))
print("withdraw", first("withdraw"))
PY
while read -r name tx; do
    "$T" receipt --url "$URL" --genesis "$G" --key "$REG" --tx "$tx" --out "$FIX/$name.receipt"
done < "$WORK/picks"
ls "$FIX"
