#!/usr/bin/env bash
# cluster_fhir.sh TRIALCTL WORKDIR - issue 22 over a real 4-validator consortium (ports
# 20500-20670): the example trial is run against it (example-trial --url), then exported with
# `trialctl fhir export --url` (the EVENTS read, block by block, filtered by the key's role)
# as the sponsor, a regulator, a site and a participant. Every Bundle validates with FHIR.js
# (R4); the sponsor's and the regulator's are the whole trial and equal the export of node 0's
# own data directory (so the EVENTS path and its block times are the ledger's); the
# participant's Bundle holds itself alone, the site's its own participants only; a researcher
# (no role in the trial's txs) and a site asking for another site's participant get a clear
# error. Run under the cluster lock.
set -euo pipefail
TRIALCTL=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$2/cluster-fhir
BASE=20500
T=TRIAL-CARDIO-01
fail() { echo "cluster_fhir: FAIL: $*" >&2; exit 1; }

command -v node >/dev/null && command -v npm >/dev/null || fail "node and npm are needed"
mkdir -p "$WORK/npm"
if [ ! -d "$WORK/npm/node_modules/fhir" ]; then
    (cd "$WORK/npm" && npm install --no-audit --no-fund --loglevel=error fhir@4.12.0 >/dev/null) \
        || fail "npm install fhir@4.12.0"
fi
validate() { NODE_PATH="$WORK/npm/node_modules" node "$HERE/validate.js" "$@"; }

C=$WORK/consortium
. "$HERE/../http/lib.sh"
consortium_up "$TRIALCTL" "$C" $BASE || fail "cluster up"
URL=tcp://127.0.0.1:$((BASE + 100))
"$TRIALCTL" example-trial --url "$URL" --consortium "$C" > "$WORK/example.out" 2>&1 \
    || fail "example-trial --url: $(tail -n 3 "$WORK/example.out")"

# participant 1's key: trial_remote.c derives it from the chain id
/usr/bin/python3 - "$C/genesis.bin" "$WORK/participant-1.key" <<'PY'
import hashlib, os, sys
from nacl.signing import SigningKey
chain = hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest()
seed = hashlib.sha256(f"trialreg-example-remote/participant/{chain}/1".encode()).digest()
pub = bytes(SigningKey(seed).verify_key).hex()
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, f"trialreg-ed25519-secret-v1\nseed {seed.hex()}\npublic {pub}\n".encode())
os.close(fd)
print(pub)
PY
P1=$(sed -n 's/^public //p' "$WORK/participant-1.key")

export_as() { # NAME KEYFILE [ARGS...]
    local name=$1 key=$2; shift 2
    "$TRIALCTL" fhir export --trial $T --url "$URL" --key "$key" --genesis "$C/genesis.bin" \
        --out "$WORK/$name.json" "$@"
}
# the last block's result certificate may still be on its way: wait until the sponsor's
# export holds as many Provenances (one per OK tx of the trial) as the in-process example's
rm -rf "$WORK/local"
"$TRIALCTL" example-trial "$WORK/local" > /dev/null || fail "example-trial (in-process)"
"$TRIALCTL" fhir export --trial $T --ledger "$WORK/local/ledger" --genesis "$WORK/local/genesis.bin" \
    --out "$WORK/local.json" || fail "export of the in-process example"
want=$(node -e 'const b=require(process.argv[1]);console.log(b.entry.filter(e=>e.resource.resourceType==="Provenance").length)' "$WORK/local.json")
for _ in $(seq 50); do
    export_as sponsor "$C/keys/sponsor.key" || fail "export as the sponsor"
    n=$(node -e 'const b=require(process.argv[1]);console.log(b.entry.filter(e=>e.resource.resourceType==="Provenance").length)' "$WORK/sponsor.json")
    [ "$n" -ge "$want" ] && break
    sleep 0.2
done
export_as regulator "$C/keys/regulator.key" || fail "export as the regulator"
export_as site-a "$C/keys/investigator-site-a.key" || fail "export as site-a"
export_as p1 "$WORK/participant-1.key" || fail "export as participant 1"
for f in sponsor regulator site-a p1; do validate "$WORK/$f.json" || fail "$f's export does not validate"; done
cmp -s "$WORK/sponsor.json" "$WORK/regulator.json" || fail "the sponsor's and the regulator's exports differ"

patients() { node -e 'const b=require(process.argv[1]);console.log(b.entry.filter(e=>e.resource.resourceType==="Patient").map(e=>e.resource.id).sort().join(" "))' "$1"; }
[ "$(patients "$WORK/p1.json")" = "$P1" ] || fail "participant 1's export holds $(patients "$WORK/p1.json")"
all=$(patients "$WORK/sponsor.json"); site=$(patients "$WORK/site-a.json")
[ "$(echo $all | wc -w)" -gt "$(echo $site | wc -w)" ] && [ "$(echo $site | wc -w)" -ge 1 ] \
    || fail "site-a sees [$site] of [$all]"
# a key with no view of the trial, and a site asking for another site's participant
out=$(export_as researcher "$C/keys/researcher.key" 2>&1) && fail "a researcher exported the trial"
echo "$out" | grep -q "no registration this key may see" || fail "researcher: $out"
out=$(export_as site-b-p1 "$C/keys/investigator-site-b.key" --participant "$P1" 2>&1) \
    && fail "site-b exported site-a's participant"
echo "$out" | grep -q "not readable by this key" || fail "site-b: $out"

# the HTTP FHIR reads (RFC 9421 signed by `trialctl http-sign`), each answer validated
HTTP=http://127.0.0.1:$((BASE + 164))
n=0
fget() { # PATH KEYFILE EXPECTED_STATUS
    n=$((n + 1))
    local args=(-s -o "$WORK/f$n.json" -w '%{http_code} %{content_type}')
    if [ -n "$2" ]; then
        "$TRIALCTL" http-sign --genesis "$C/genesis.bin" --key "$2" "$HTTP$1" > "$WORK/h$n" || fail "http-sign $1"
        args+=(-H @"$WORK/h$n")
    fi
    local res
    res=$(curl "${args[@]}" "$HTTP$1")
    [ "${res%% *}" = "$3" ] || fail "GET $1 answered $res, wanted $3: $(head -c 300 "$WORK/f$n.json")"
    case "${res#* }" in application/fhir+json*) ;; *) fail "GET $1: content type ${res#* }";; esac
    validate "$WORK/f$n.json" > "$WORK/v$n" || fail "GET $1: the answer does not validate: $(cat "$WORK/v$n")"
}
fget /fhir/metadata "" 200
fget "/fhir/ResearchStudy/$T" "$C/keys/sponsor.key" 200
fget "/fhir/ResearchStudy/$T/\$export" "$C/keys/regulator.key" 200
cmp -s <(node -e 'const b=require(process.argv[1]);console.log(JSON.stringify(b.entry.map(e=>e.resource.id)))' "$WORK/f$n.json") \
       <(node -e 'const b=require(process.argv[1]);console.log(JSON.stringify(b.entry.map(e=>e.resource.id)))' "$WORK/regulator.json") \
    || fail "GET \$export and trialctl fhir export differ"
fget "/fhir/ResearchSubject?study=ResearchStudy/$T" "$C/keys/investigator-site-a.key" 200
fget "/fhir/Consent?patient=Patient/$P1" "$WORK/participant-1.key" 200
node -e 'const b=require(process.argv[1]);if(!(b.total>=1))throw "no consent of participant 1"' "$WORK/f$n.json" \
    || fail "participant 1 reads no consent of its own"
fget "/fhir/Consent?patient=Patient/$P1" "$C/keys/investigator-site-b.key" 200
node -e 'const b=require(process.argv[1]);if(b.total!==0)throw "site-b reads site-a consents"' "$WORK/f$n.json" \
    || fail "site-b reads participant 1's consents"
fget "/fhir/ResearchStudy/$T" "$C/keys/researcher.key" 404
fget "/fhir/ResearchStudy/$T" "" 401

# the EVENTS path is the ledger's: node 0's own data directory gives the same Bundle
"$TRIALCTL" cluster down "$C" > /dev/null
ledger=$(dirname "$(find "$C/node-0" -name CURRENT | head -n 1)")
[ -d "$ledger" ] || fail "no ledger under node-0"
"$TRIALCTL" fhir export --trial $T --ledger "$ledger" --genesis "$C/genesis.bin" --out "$WORK/ledger.json" \
    || fail "export of node 0's data directory"
cmp -s "$WORK/sponsor.json" "$WORK/ledger.json" || fail "the EVENTS export differs from the data directory's"
echo "cluster_fhir: ok"
