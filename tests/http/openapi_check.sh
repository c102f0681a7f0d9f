#!/usr/bin/env bash
# openapi_check.sh TRIALCTL WORKDIR - docs/openapi.yaml is linted by Redocly's CLI (every
# recommended rule an error: docs/redocly.yaml), and a real 4-validator consortium's HTTP
# answers (every documented endpoint, success and error) are validated against its schemas
# with Ajv, so the document cannot drift from the server. The npm tools are installed into
# WORKDIR/npm (test-only; pinned versions).
set -euo pipefail
TRIALCTL=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=$2/openapi-check
BASE=18100
fail() { echo "openapi_check: FAIL: $*" >&2; exit 1; }

command -v node >/dev/null && command -v npm >/dev/null || fail "node and npm are needed (Debian: apt-get install nodejs npm)"
mkdir -p "$WORK/npm"
if [ ! -x "$WORK/npm/node_modules/.bin/redocly" ] || [ ! -d "$WORK/npm/node_modules/ajv" ]; then
    (cd "$WORK/npm" && npm install --no-audit --no-fund --loglevel=error \
        @redocly/cli@1.25.0 ajv@8.17.1 yaml@2.6.1 >/dev/null) || fail "npm install"
fi
"$WORK/npm/node_modules/.bin/redocly" lint --config "$ROOT/docs/redocly.yaml" "$ROOT/docs/openapi.yaml" \
    || fail "docs/openapi.yaml does not lint"

C=$WORK/consortium
. "$HERE/lib.sh"
consortium_up "$TRIALCTL" "$C" $BASE || fail "cluster up"
URL=http://127.0.0.1:$((BASE + 164))

M=$WORK/manifest; : > "$M"; n=0
# call METHOD PATH CONTENT_TYPE_SENT BODY EXPECTED_STATUS
call() {
    n=$((n + 1))
    local out=$WORK/r$n res code type
    local args=(-s -o "$out" -w '%{http_code} %{content_type}' -X "$1")
    if [ -n "$3" ]; then args+=(-H "Content-Type: $3" --data-binary "$4"); fi
    res=$(curl "${args[@]}" "$URL$2")
    code=${res%% *}
    type=${res#* }
    [ "$code" = "$5" ] || fail "$1 $2 answered $code, wanted $5: $(cat "$out")"
    echo "$1 $2 $code ${type%%;*} $out" >> "$M"
}
call GET /healthz "" "" 200
call GET /readyz "" "" 200
call GET /v1/status "" "" 200
call GET /metrics "" "" 200
call POST /v1/txs application/json '{"txs": ["AAECAw=="]}' 200
call POST /v1/txs application/json '{"txs": [' 400
call POST /v1/txs application/json '{"txs": []}' 400
call POST /v1/txs text/plain 'x' 415
call GET /app/index.html "" "" 200
call GET /app/SHA256SUMS "" "" 200
call GET /app/history.html "" "" 200
call GET /app/style.css "" "" 200
call GET /app/js/verify.mjs "" "" 200
call GET /app/nothing.html "" "" 404
# signed reads (RFC 9421, signed by `trialctl http-sign`) over the example trial's ledger
"$TRIALCTL" example-trial --url "tcp://127.0.0.1:$((BASE + 100))" --consortium "$C" \
    > "$WORK/example.out" 2>&1 || fail "example-trial --url: $(tail -n 3 "$WORK/example.out")"
# scall METHOD PATH ROLE EXPECTED_STATUS [HEADER]: signed by keys/ROLE.key
scall() {
    n=$((n + 1))
    "$TRIALCTL" http-sign --genesis "$C/genesis.bin" --key "$C/keys/$3.key" "$URL$2" > "$WORK/h$n" \
        || fail "http-sign $2"
    [ -z "${5:-}" ] || echo "$5" >> "$WORK/h$n"
    local out=$WORK/r$n res code type
    res=$(curl -s -D "$WORK/d$n" -o "$out" -w '%{http_code} %{content_type}' -H @"$WORK/h$n" "$URL$2")
    code=${res%% *}
    type=${res#* }
    [ "$code" = "$4" ] || fail "$1 $2 as $3 answered $code, wanted $4: $(cat "$out")"
    echo "$1 ${2%%\?*} $code ${type%%;*} $out $WORK/d$n" >> "$M"
}
json() { node -e "const d=JSON.parse(require('fs').readFileSync(process.argv[1]));$2" "$1"; }
call GET /v1/trials/TRIAL-CARDIO-01/history "" "" 200
history=$WORK/r$n
tx=$(json "$history" 'console.log(d.events[0].receipt.tx_id)')
scall GET "/v1/receipts/$tx" regulator 200
scall GET "/v1/receipts/$tx" researcher 403
scall GET "/v1/receipts/0000000000000000000000000000000000000000000000000000000000000000" regulator 404
scall GET "/v1/blocks?from=1&count=16" regulator 200
blocks=$WORK/r$n
scall GET "/v1/blocks?from=1&count=4" sponsor 403
scall GET /v1/trials/TRIAL-CARDIO-01 sponsor 200
scall GET /v1/trials/TRIAL-CARDIO-01 researcher 403
p=$(json "$blocks" 'for (const b of d.blocks) for (const t of b.txs) if (t.tx.method === "enrol" && t.receipt.status === "OK") { console.log(t.tx.args[1].bytes.hex); process.exit(0); }')
[ -n "$p" ] || fail "no enrolment in the first blocks"
scall GET "/v1/trials/TRIAL-CARDIO-01/participants/$p/consent" regulator 200
scall GET /v1/trials/TRIAL-CARDIO-01/timeline regulator 200
timeline=$WORK/r$n
json "$timeline" 'if (!d.complete || d.entries.length < 10 || d.entries[0].names[0].role !== "sponsor") process.exit(1)' \
    || fail "the regulator's JSON timeline is not whole or not named: $(head -c 300 "$timeline")"
scall GET "/v1/trials/TRIAL-CARDIO-01/timeline?from=2" sponsor 200
sleep 1 # the same request signed in the same second would be a replay (Accept is not signed)
scall GET /v1/trials/TRIAL-CARDIO-01/timeline regulator 200 "Accept: text/plain"
grep -q "protocol.register by" "$WORK/r$n" || fail "the text timeline: $(head -c 300 "$WORK/r$n")"
scall GET "/v1/trials/TRIAL-CARDIO-01/timeline?from=0" regulator 400
scall GET /v1/trials/TRIAL-CARDIO-01/timeline researcher 403
scall GET /v1/trials/TRIAL-CARDIO-01/grants/1/records researcher 200
json "$WORK/r$n" 'if (d.grant !== 1 || d.records.length + d.removed.length === 0) process.exit(1)' \
    || fail "grant 1's records: $(head -c 300 "$WORK/r$n")"
scall GET "/v1/trials/TRIAL-CARDIO-01/grants/1/records?from=1" researcher 200
scall GET /v1/trials/TRIAL-CARDIO-01/grants/1/records sponsor 403
scall GET /v1/trials/TRIAL-CARDIO-01/grants/9/records researcher 404
call GET /v1/trials/TRIAL-CARDIO-01/grants/1/records "" "" 401
scall GET /v1/trials/TRIAL-CARDIO-01/read-log regulator 200
json "$WORK/r$n" 'if (!d.entries.some((e) => e.form === "http")) process.exit(1)' \
    || fail "the read log holds no HTTP evidence: $(head -c 300 "$WORK/r$n")"
scall GET /v1/trials/TRIAL-CARDIO-01/read-log researcher 403
call GET "/v1/receipts/$tx" "" "" 401
# the export: a binary body (status, content type and headers checked; trialctl audit reads
# it), and its refusals as JSON errors
scall GET /v1/export regulator 200
"$TRIALCTL" audit --genesis "$C/genesis.bin" "$WORK/r$n" > "$WORK/audit.out" 2>&1 \
    || fail "trialctl audit of GET /v1/export's body: $(cat "$WORK/audit.out")"
scall GET "/v1/export?include_uncertified=true" regulator 200
scall GET "/v1/export?include_uncertified=1" regulator 400
scall GET /v1/export researcher 403
call GET /v1/export "" "" 401
# the e-consent envelope store: JSON bodies signed with their Content-Digest
# bcall METHOD PATH KEY_FILE BODY_FILE EXPECTED_STATUS
bcall() {
    n=$((n + 1))
    local sign=(--genesis "$C/genesis.bin" --key "$3" --method "$1")
    [ -z "$4" ] || sign+=(--body "$4")
    "$TRIALCTL" http-sign "${sign[@]}" "$URL$2" > "$WORK/h$n" || fail "http-sign $1 $2"
    local out=$WORK/r$n res code type
    local args=(-s -o "$out" -w '%{http_code} %{content_type}' -X "$1" -H @"$WORK/h$n")
    [ -z "$4" ] || args+=(-H "Content-Type: application/json" --data-binary @"$4")
    res=$(curl "${args[@]}" "$URL$2")
    code=${res%% *}
    type=${res#* }
    [ "$code" = "$5" ] || fail "$1 $2 answered $code, wanted $5: $(cat "$out")"
    echo "$1 $2 $code ${type%%;*} $out" >> "$M"
}
"$TRIALCTL" keygen "$WORK/participant" > /dev/null 2>&1 || { rm -f "$WORK"/participant.*; "$TRIALCTL" keygen "$WORK/participant" > /dev/null; }
INV=$C/keys/investigator-site-a.key PART=$WORK/participant.key
node "$HERE/envelope_parts.mjs" body "$C/genesis.bin" "$PART" TRIAL-CARDIO-01 1 \
    "$(printf '07%.0s' $(seq 32))" 3 > "$WORK/parts.json" || fail "envelope_parts body"
json "$WORK/parts.json" "console.log(JSON.stringify({participant: '$(cut -d' ' -f2 "$WORK/participant.pub")', body: d.body, ttl_s: 600}))" > "$WORK/env.json"
bcall POST /v1/envelopes "$INV" "$WORK/env.json" 201
env=$(json "$WORK/r$n" 'console.log(d.id)')
bcall POST /v1/envelopes "$C/keys/regulator.key" "$WORK/parts.json" 400
call POST /v1/envelopes application/json '{}' 401
bcall GET "/v1/envelopes/$env" "$PART" "" 200
bcall GET "/v1/envelopes/$env" "$C/keys/regulator.key" "" 403
bcall GET "/v1/envelopes/00112233445566778899aabbccddeeff" "$INV" "" 404
json "$WORK/parts.json" 'console.log(JSON.stringify({sig: d.sig}))' > "$WORK/psig.json"
witness=$(node "$HERE/envelope_parts.mjs" witness "$C/genesis.bin" "$INV" "$(json "$WORK/parts.json" 'console.log(d.body)')")
echo "{\"sig\":\"$witness\"}" > "$WORK/wsig.json"
bcall PUT "/v1/envelopes/$env" "$INV" "$WORK/wsig.json" 409
bcall PUT "/v1/envelopes/$env" "$PART" "$WORK/psig.json" 200
sleep 1 # the same request signed in the same second would be a replay
bcall PUT "/v1/envelopes/$env" "$INV" "$WORK/wsig.json" 200
json "$WORK/r$n" 'if (!d.tx || !d.tx_id) process.exit(1)' || fail "no whole tx in the envelope: $(cat "$WORK/r$n")"
bcall PUT "/v1/envelopes/$env" "$PART" "$WORK/wsig.json" 409
# the FHIR reads (issue 22; their FHIR content is checked by FHIR.js in cluster_fhir)
call GET /fhir/metadata "" "" 200
scall GET /fhir/ResearchStudy/TRIAL-CARDIO-01 sponsor 200
scall GET '/fhir/ResearchStudy/TRIAL-CARDIO-01/$export' regulator 200
scall GET /fhir/ResearchStudy/TRIAL-CARDIO-01 researcher 404
call GET /fhir/ResearchStudy/TRIAL-CARDIO-01 "" "" 401
scall GET "/fhir/ResearchSubject?study=ResearchStudy/TRIAL-CARDIO-01" sponsor 200
scall GET /fhir/ResearchSubject regulator 400
scall GET "/fhir/Consent?patient=Patient/$p" regulator 200
# beside its packages: ES modules resolve imports from the script's own folder
cp "$HERE/validate_responses.mjs" "$WORK/npm/"
node "$WORK/npm/validate_responses.mjs" "$ROOT/docs/openapi.yaml" "$M" || fail "responses do not match docs/openapi.yaml"
grep -q '"accepted":false' "$WORK/r5" || fail "a garbage tx was not refused: $(cat "$WORK/r5")"
echo "openapi_check: OK"
