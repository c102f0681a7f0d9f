#!/usr/bin/env bash
# consortium.sh TRIALCTL OUTDIR [BASE_PORT] - the main job: the example trial
# (examples/trial/scenario.c) on a local consortium of four validators, one
# per organisation (sponsor, site A, site B, regulator), each a trialnode
# process ordering the events with PBFT over nng on loopback.
#   1. trialctl init: keys, genesis (roles and contracts), node configs;
#   2. trialctl cluster up: four trialnode processes;
#   3. the trial's events, signed by each role, through node 0's client API
#      (pipelined within each step), every receipt certified;
#   4. the regulator's timeline of the trial (a signed query);
#   5. every node's ledger exported over its client API by the regulator (a
#      signed read: only a validator, a regulator or the auditor role may export;
#      a researcher is refused) and audited with the genesis alone: the four heads
#      and state hashes must be identical;
#   6. the HTTP API: a node's status, the public protocol history, a receipt read
#      signed (RFC 9421) by the regulator, and the same read unsigned refused;
#   7. trialctl cluster down.
set -euo pipefail
T=$(realpath "${1:?usage: consortium.sh TRIALCTL OUTDIR [BASE_PORT]}")
OUT=${2:?usage: consortium.sh TRIALCTL OUTDIR [BASE_PORT]}
PORT=${3:-7100}
TRIAL=TRIAL-CARDIO-01
step() { printf '\n== %s\n' "$*"; }

rm -rf "$OUT"
mkdir -p "$(dirname "$OUT")"
step "init: a consortium of 4 validators (sponsor, site A, site B, regulator)"
"$T" init --validators 4 --base-port "$PORT" "$OUT"
trap '"$T" cluster down "$OUT" >/dev/null 2>&1 || true' EXIT
step "cluster up: four trialnode processes on loopback"
"$T" cluster up "$OUT"

step "the example trial, every event signed by its role and submitted to node 0"
"$T" example-trial --url "tcp://127.0.0.1:$((PORT + 100))" --consortium "$OUT"

step "the regulator's timeline of $TRIAL (signed query to node 3, the regulator's node)"
"$T" timeline --url "tcp://127.0.0.1:$((PORT + 103))" --key "$OUT/keys/regulator.key" \
    --genesis "$OUT/genesis.bin" --trial "$TRIAL"

step "queries answered by role: the sponsor reads its trial, the regulator a consent history"
"$T" query trial --url "tcp://127.0.0.1:$((PORT + 100))" --key "$OUT/keys/sponsor.key" \
    --genesis "$OUT/genesis.bin" --trial "$TRIAL"
"$T" timeline --url "tcp://127.0.0.1:$((PORT + 103))" --key "$OUT/keys/regulator.key" \
    --genesis "$OUT/genesis.bin" --trial "$TRIAL" > "$OUT/timeline.txt"
P=$(grep -m1 -o 'event consent.granted [0-9a-f]\{64\}' "$OUT/timeline.txt" | awk '{print $3}')
"$T" query consent --url "tcp://127.0.0.1:$((PORT + 103))" --key "$OUT/keys/regulator.key" \
    --genesis "$OUT/genesis.bin" --trial "$TRIAL" --participant "$P"
echo "a researcher asking for the same consent history:"
if "$T" query consent --url "tcp://127.0.0.1:$((PORT + 100))" --key "$OUT/keys/researcher.key" \
    --genesis "$OUT/genesis.bin" --trial "$TRIAL" --participant "$P"; then
    echo "the researcher was answered: role rules broken"; exit 1
fi

step "cluster status"
"$T" cluster status "$OUT"

step "the export is for the validators, the regulator and the auditor: a researcher is refused"
if "$T" export --genesis "$OUT/genesis.bin" --url "tcp://127.0.0.1:$((PORT + 100))" \
    --key "$OUT/keys/researcher.key" -o "$OUT/researcher.export"; then
    echo "the researcher exported the ledger: role rules broken"; exit 1
fi

step "the regulator exports every node's ledger over its client API; each audited with the genesis alone"
heads() {
    for i in 0 1 2 3; do
        "$T" export --genesis "$OUT/genesis.bin" --url "tcp://127.0.0.1:$((PORT + 100 + i))" \
            --key "$OUT/keys/regulator.key" -o "$OUT/node-$i.export" >/dev/null
        "$T" audit --genesis "$OUT/genesis.bin" "$OUT/node-$i.export" > "$OUT/node-$i.audit"
    done
    for i in 0 1 2 3; do grep -E '^(head|state)' "$OUT/node-$i.audit" | md5sum; done | sort -u | wc -l
}
# A node may be a block behind node 0 for a moment: retry until all agree.
for attempt in $(seq 1 20); do
    [ "$(heads)" = 1 ] && break
    [ "$attempt" = 20 ] && { echo "the nodes' ledgers differ:"; tail -n 3 "$OUT"/node-*.audit; exit 1; }
    sleep 0.3
done
for i in 0 1 2 3; do
    printf 'node %s: ' "$i"; head -n 1 "$OUT/node-$i.audit"
done
grep -E '^(head|state)' "$OUT/node-0.audit"
echo "all four nodes: identical head block hash and state hash"

step "the HTTP API (docs/HTTP.md): node 0's status, the public protocol history, and a receipt read signed by the regulator (RFC 9421, trialctl http-sign)"
HTTP=http://127.0.0.1:$((PORT + 164))
curl -sf "$HTTP/v1/status"; echo
curl -sf "$HTTP/v1/trials/$TRIAL/history" > "$OUT/history.json"
tx=$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["events"]), d["events"][0]["receipt"]["tx_id"])' "$OUT/history.json")
echo "public history: ${tx% *} protocol-level events (no key needed, no participant in it)"
"$T" http-sign --genesis "$OUT/genesis.bin" --key "$OUT/keys/regulator.key" "$HTTP/v1/receipts/${tx#* }" > "$OUT/headers"
curl -sf -H @"$OUT/headers" "$HTTP/v1/receipts/${tx#* }" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); r=d["receipt"]; print("receipt of", d["tx"]["contract"] + "." + d["tx"]["method"], "at height", d["height"], ":", r["status"], [e["topic"] for e in r["events"]], "certified" if d["certified"] else "not certified")'
code=$(curl -s -o /dev/null -w '%{http_code}' "$HTTP/v1/receipts/${tx#* }")
echo "the same read unsigned: HTTP $code"
[ "$code" = 401 ] || { echo "an unsigned receipt read was not refused"; exit 1; }

step "cluster down"
trap - EXIT
"$T" cluster down "$OUT"
