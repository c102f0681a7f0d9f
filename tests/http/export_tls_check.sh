#!/usr/bin/env bash
# export_tls_check.sh TRIALCTL WORKDIR - a --tls consortium made with `--host trial.example
# --http-bind 0.0.0.0` (ports 19400-19567) serves HTTPS on a non-loopback address with
# certificates that name trial.example: curl reaches it by that name (and by 127.0.0.1),
# a name the certificates lack fails verification, openssl lists the names; bad --host
# values are refused. Then GET /v1/export, signed by `trialctl http-sign` and fetched by
# curl over HTTPS, is a ledger of more than one BLOCKS page (64) that `trialctl audit`
# passes and that equals `trialctl export --url`'s file byte for byte; a participant's key
# gets 403 and no signature 401.
set -euo pipefail
T=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
D=$2/export-tls
PORT=19400
HP=$((PORT + 164))
fail() { echo "export_tls_check: FAIL: $*" >&2; tail -n 3 "$D"/consortium/node-*/node.log >&2 || true; exit 1; }
"$T" cluster down "$D" >/dev/null 2>&1 || true
rm -rf "$D" && mkdir -p "$D"

# bad --host values are refused with the reason, and nothing is written
for bad in "" "trial example" "a.example,DNS:evil.example" "-x.example" "x..example"; do
    out=$("$T" init --tls --host "$bad" --base-port $PORT "$D/bad" 2>&1) && fail "--host '$bad' was taken"
    echo "$out" | grep -q -- "--host \"$bad\"" || fail "--host '$bad': the refusal does not name it: $out"
    [ ! -e "$D/bad" ] || fail "--host '$bad' left $D/bad behind"
done
out=$("$T" init --host trial.example "$D/bad" 2>&1) && fail "--host without --tls was taken"
echo "$out" | grep -q "give --tls" || fail "--host without --tls: $out"
out=$("$T" init --http-bind 0.0.0.0 "$D/bad" 2>&1) && fail "--http-bind 0.0.0.0 without --tls was taken"
echo "$out" | grep -q "plain HTTP is for this machine only" || fail "--http-bind without --tls: $out"

# one tx per block, so that the example trial and a short load make more than 64 blocks
C=$D/consortium
"$T" init --tls --host trial.example --host 10.11.12.13 --http-bind 0.0.0.0 --max-batch-txs 1 \
    --base-port $PORT "$C" >/dev/null || fail "init --tls --host"
grep -q "\"http\": \"0.0.0.0:$HP\"" "$C/node-0/config.json" || fail "--http-bind not in the config"
san=$(openssl x509 -noout -ext subjectAltName -in "$C/tls/validator-2.pem")
for name in DNS:localhost "IP Address:127.0.0.1" DNS:trial.example "IP Address:10.11.12.13"; do
    echo "$san" | grep -q "$name" || fail "validator-2's subjectAltName lacks $name: $san"
done
export TRIALREG_TLS_CA=$C/tls/ca.pem
trap '"$T" cluster down "$C" >/dev/null 2>&1 || true' EXIT
"$T" cluster up "$C" >/dev/null || fail "cluster up"
CA=(--cacert "$C/tls/ca.pem")
for _ in $(seq 100); do
    [ "$(curl -s "${CA[@]}" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$HP/readyz")" = 200 ] && break
    sleep 0.1
done

# the host names: trial.example verifies, a name not in the certificate does not
out=$(curl -sS "${CA[@]}" --resolve "trial.example:$HP:127.0.0.1" "https://trial.example:$HP/healthz") \
    || fail "https://trial.example:$HP/healthz did not verify"
[ "$out" = ok ] || fail "healthz by name answered '$out'"
rc=0
curl -sS "${CA[@]}" --resolve "other.example:$HP:127.0.0.1" "https://other.example:$HP/healthz" \
    > "$D/other.out" 2>&1 || rc=$?
[ "$rc" = 60 ] || fail "a name not in the certificate: curl exit $rc (want 60, verification failed): $(cat "$D/other.out")"
curl -s -o /dev/null "http://127.0.0.1:$HP/healthz" && fail "plain HTTP answered on the TLS port"
echo "ok: https://trial.example verifies, other.example fails verification (curl exit 60)"

# a ledger of more than one BLOCKS page
"$T" example-trial --url "tls+tcp://127.0.0.1:$((PORT + 100))" --consortium "$C" \
    > "$D/example.out" 2>&1 || fail "example-trial: $(tail -n 3 "$D/example.out")"
"$T" bench cluster --existing "$C" --url "tls+tcp://127.0.0.1:$((PORT + 100))" --txs 100 \
    --clients 4 > "$D/load.log" 2>&1 || fail "the load did not commit: $(tail -n 3 "$D/load.log")"

URL=https://127.0.0.1:$HP/v1/export
sign() { "$T" http-sign --genesis "$C/genesis.bin" --key "$1" "$URL" > "$D/sig"; }
# export over HTTP and over the client API; a checkpoint may certify more blocks between
# the two, so they are compared when both saw the same certified height (3 tries)
for try in 1 2 3; do
    sign "$C/keys/regulator.key"
    code=$(curl -sS "${CA[@]}" -H @"$D/sig" -D "$D/head" -o "$D/http.export" -w '%{http_code}' "$URL") \
        || fail "curl $URL"
    [ "$code" = 200 ] || fail "GET /v1/export as the regulator: $code $(cat "$D/http.export")"
    "$T" export --genesis "$C/genesis.bin" --url "tls+tcp://127.0.0.1:$((PORT + 100))" \
        --key "$C/keys/regulator.key" -o "$D/url.export" > "$D/url.out" 2>&1 || fail "export --url"
    cmp -s "$D/http.export" "$D/url.export" && break
    [ "$try" = 3 ] && fail "the HTTP export differs from export --url's: $(cmp "$D/http.export" "$D/url.export"; cat "$D/head" "$D/url.out")"
    sleep 1
done
grep -qi '^Content-Type: application/octet-stream' "$D/head" || fail "content type: $(cat "$D/head")"
grep -qi '^Content-Disposition: attachment; filename=' "$D/head" || fail "no filename: $(cat "$D/head")"
blocks=$(awk -F': ' 'tolower($1) == "trialreg-block-count" {print $2+0}' "$D/head")
left=$(awk -F': ' 'tolower($1) == "trialreg-left-out" {print $2+0}' "$D/head")
[ "$blocks" -gt 64 ] || fail "only $blocks blocks: not more than one BLOCKS page"
"$T" audit --genesis "$C/genesis.bin" "$D/http.export" > "$D/audit.out" 2>&1 \
    || fail "audit of the HTTP export: $(cat "$D/audit.out")"
echo "ok: GET /v1/export = export --url byte for byte ($blocks blocks, $left left out, $(stat -c %s "$D/http.export") bytes), audit OK"

# a participant's key (in no genesis role), the researcher's, and no signature
( cd "$D" && "$T" keygen participant >/dev/null ) || fail "keygen"
for key in "$D/participant.key" "$C/keys/researcher.key"; do
    sign "$key"
    code=$(curl -s "${CA[@]}" -H @"$D/sig" -o "$D/refused.json" -w '%{http_code}' "$URL")
    [ "$code" = 403 ] && grep -q '"error":"DENIED"' "$D/refused.json" \
        || fail "$(basename "$key") got $code: $(cat "$D/refused.json")"
done
code=$(curl -s "${CA[@]}" -o "$D/refused.json" -w '%{http_code}' "$URL")
[ "$code" = 401 ] || fail "unsigned: $code $(cat "$D/refused.json")"
echo "export_tls_check: OK"
