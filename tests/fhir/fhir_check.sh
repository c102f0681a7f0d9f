#!/usr/bin/env bash
# fhir_check.sh TRIALCTL WORKDIR [TEST_FHIR] - issue 22 items 3 and 5 without a cluster: the example trial
# (trialctl example-trial, in-process) exported with `trialctl fhir export --ledger` is checked
# by a FHIR validator no one here wrote (FHIR.js, npm `fhir`, its R4 definitions;
# tests/fhir/validate.js): every resource, zero problems, the whole trial and each
# participant's own Bundle, and (with TEST_FHIR) the lost-key trial of test_fhir (issue 23
# item 2: the site-recorded withdrawal's deny Consent, the re-bound key's Consents with the
# after-rebinding extension); the checks catch deliberately broken resources (validate.js
# --break); the export is byte-for-byte deterministic; bad input gets a clear error.
# npm tools go into WORKDIR/npm (test-only, pinned).
set -euo pipefail
TRIALCTL=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$2/fhir-check
fail() { echo "fhir_check: FAIL: $*" >&2; exit 1; }

command -v node >/dev/null && command -v npm >/dev/null || fail "node and npm are needed (Debian: apt-get install nodejs npm)"
mkdir -p "$WORK/npm"
if [ ! -d "$WORK/npm/node_modules/fhir" ]; then
    (cd "$WORK/npm" && npm install --no-audit --no-fund --loglevel=error fhir@4.12.0 >/dev/null) \
        || fail "npm install fhir@4.12.0"
fi
validate() { NODE_PATH="$WORK/npm/node_modules" node "$HERE/validate.js" "$@"; }

rm -rf "$WORK/ex"
"$TRIALCTL" example-trial "$WORK/ex" > /dev/null || fail "example-trial"
G=$WORK/ex/genesis.bin L=$WORK/ex/ledger T=TRIAL-CARDIO-01
"$TRIALCTL" fhir export --trial $T --ledger "$L" --genesis "$G" --out "$WORK/all.json" \
    || fail "fhir export of the example trial"
validate "$WORK/all.json" || fail "the example trial's export does not validate"
validate "$WORK/all.json" --break || fail "the checks miss a deliberately broken resource"

# every resource type the mapping promises is there
for type in CodeSystem ResearchStudy Group DocumentReference Patient ResearchSubject Consent Provenance AuditEvent; do
    n=$(node -e 'const b=require(process.argv[1]);console.log(b.entry.filter(e=>e.resource.resourceType===process.argv[2]).length)' "$WORK/all.json" $type)
    [ "$n" -gt 0 ] || fail "no $type in the export"
done

# a generated trial (full withdrawals, re-consent pending, access grants) validates too
"$TRIALCTL" bench fhir --participants 30 --events 800 --per-block 5 --seed 2 --out "$WORK/random.json" > /dev/null \
    || fail "bench fhir --out"
validate "$WORK/random.json" || fail "the generated trial's export does not validate"
node -e 'const b=require(process.argv[1]);const r=b.entry.map(e=>e.resource);
    const n=(f)=>r.filter(f).length;
    if (!n(x=>x.resourceType==="ResearchSubject"&&x.status==="withdrawn")) throw "no withdrawn ResearchSubject";
    if (!n(x=>x.resourceType==="ResearchSubject"&&x.extension)) throw "no re-consent pending";
    if (!n(x=>x.resourceType==="Consent"&&x.status==="inactive")) throw "no inactive Consent";
    if (!n(x=>x.resourceType==="AuditEvent"&&x.action==="E")) throw "no access grant";' "$WORK/random.json" \
    || fail "the generated trial does not cover every status"

# the lost-key flows (test_fhir writes its trial's Bundle where TRIALREG_FHIR_OUT says)
if [ -n "${3:-}" ]; then
    rm -f "$WORK/lostkey.json"
    TRIALREG_FHIR_OUT="$WORK/lostkey.json" "$3" --filter 'fhir/lost_key*' > /dev/null 2>&1 \
        || fail "test_fhir's lost-key test"
    [ -s "$WORK/lostkey.json" ] || fail "test_fhir wrote no lost-key Bundle"
    validate "$WORK/lostkey.json" || fail "the lost-key trial's export does not validate"
    node -e 'const b=require(process.argv[1]);const r=b.entry.map(e=>e.resource);
        const n=(f)=>r.filter(f).length;
        if (!n(x=>x.resourceType==="Consent"&&x.provision.provision[0].type==="deny")) throw "no deny Consent";
        if (!n(x=>x.resourceType==="Consent"&&x.extension)) throw "no Consent after a re-binding";
        if (!n(x=>x.resourceType==="ResearchSubject"&&x.status==="off-study")) throw "no off-study subject";' \
        "$WORK/lostkey.json" || fail "the lost-key trial does not cover its resources"
fi

# deterministic: the same ledger gives the same bytes
"$TRIALCTL" fhir export --trial $T --ledger "$L" --genesis "$G" --out "$WORK/again.json"
cmp -s "$WORK/all.json" "$WORK/again.json" || fail "two exports of one ledger differ"

# each participant's own Bundle validates and holds no other participant
node -e 'const b=require(process.argv[1]);for (const e of b.entry) if (e.resource.resourceType==="Patient") console.log(e.resource.id)' \
    "$WORK/all.json" > "$WORK/patients"
[ "$(wc -l < "$WORK/patients")" -ge 2 ] || fail "fewer than two participants"
while read -r p; do
    "$TRIALCTL" fhir export --trial $T --ledger "$L" --genesis "$G" --participant "$p" --out "$WORK/p-$p.json" \
        || fail "export of participant $p"
    validate "$WORK/p-$p.json" > /dev/null || fail "participant $p's export does not validate"
    others=$(node -e 'const b=require(process.argv[1]);const me=process.argv[2];
        console.log(JSON.stringify(b).match(/Patient\/[0-9a-f]{64}/g).filter(r=>r!=="Patient/"+me).length)' "$WORK/p-$p.json" "$p")
    [ "$others" = 0 ] || fail "participant $p's export names $others other participants"
done < "$WORK/patients"

# bad input: a clear error, never invalid FHIR
out=$("$TRIALCTL" fhir export --trial NO-SUCH-TRIAL --ledger "$L" --genesis "$G" 2>&1) && fail "an unknown trial exported"
echo "$out" | grep -q "NO-SUCH-TRIAL: no registration" || fail "unknown trial: $out"
out=$("$TRIALCTL" fhir export --trial $T --ledger "$L" --genesis "$G" --participant "$(printf '%064d' 0)" 2>&1) \
    && fail "an unknown participant exported"
echo "$out" | grep -q "not enrolled in $T" || fail "unknown participant: $out"
"$TRIALCTL" fhir export --trial $T --genesis "$G" >/dev/null 2>&1 && fail "no source accepted"
[ $? = 2 ] || fail "no source: not a usage error"
# the CodeSystems shipped in docs/fhir are the ones the export uses
for cs in scope signature; do
    "$TRIALCTL" fhir codesystem $cs > "$WORK/cs-$cs.json"
    cmp -s "$WORK/cs-$cs.json" "$HERE/../../docs/fhir/CodeSystem-trialreg-$cs.json" \
        || fail "docs/fhir/CodeSystem-trialreg-$cs.json is not what trialctl fhir codesystem $cs prints"
done
echo "fhir_check: ok"
