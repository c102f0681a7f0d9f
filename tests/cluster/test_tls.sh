#!/usr/bin/env bash
# test_tls.sh TRIALCTL TRIALNODE WORKDIR PORT - a 4-validator consortium over TLS:
# `trialctl init --tls` (CA and node certificates by openssl, tls+tcp:// URLs), cluster up,
# one event registered through node 0's client API with a certified receipt, every node's
# ledger exported over its client API and audited, the same head everywhere; a client that
# does not name the CA, or names another CA, gets nothing; a plain-TCP client neither.
set -uo pipefail
T=$1; export TRIALNODE=$2; D=$3; PORT=$4
fail() { echo "FAIL: $*"; "$T" cluster status "$D" || true; tail -n 5 "$D"/node-*/node.log; exit 1; }
url() { echo "tls+tcp://127.0.0.1:$((PORT + 100 + $1))"; }
pid() { cat "$D/node-$1/trialnode.pid"; }
cleanup() { "$T" cluster down "$D" --timeout-ms 3000 >/dev/null 2>&1; for i in 0 1 2 3; do kill -9 "$(pid $i 2>/dev/null)" 2>/dev/null; done; true; }
trap cleanup EXIT

rm -rf "$D"
"$T" init --tls --base-port "$PORT" "$D" >/dev/null || fail "init --tls"
for i in 0 1 2 3; do
    grep -q "\"listen\": \"tls+tcp://" "$D/node-$i/config.json" || fail "node $i listens without TLS"
    [ "$(stat -c %a "$D/tls/validator-$i.pem")" = 600 ] || fail "validator-$i.pem is readable by others"
    openssl verify -CAfile "$D/tls/ca.pem" "$D/tls/validator-$i.pem" >/dev/null \
        || fail "validator-$i.pem is not signed by the consortium CA"
done
"$T" cluster up "$D" >/dev/null || fail "cluster up"

H=$(printf '%064d' 7)
register() {
    "$T" register --url "$(url 0)" --genesis "$D/genesis.bin" --key "$D/keys/sponsor.key" \
        --trial "$1" --doc "$H" --primary "$H" --form "$H" --planned 10 --site site-a "${@:2}"
}
# without the CA, and with another CA, trialctl must not talk to the TLS server
out=$(env -u TRIALREG_TLS_CA "$T" register --url "$(url 0)" --genesis "$D/genesis.bin" \
      --key "$D/keys/sponsor.key" --trial T-0 --doc "$H" --primary "$H" --form "$H" --planned 10 \
      --site site-a --timeout-ms 2000 2>&1) && fail "a TLS URL without TRIALREG_TLS_CA worked"
echo "$out" | grep -q TRIALREG_TLS_CA || fail "the refusal does not name TRIALREG_TLS_CA: $out"
mkdir -p "$D/other" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$D/other/ca.key" -out "$D/other/ca.pem" -days 2 -subj /CN=other >/dev/null 2>&1 \
    || fail "openssl for the other CA"
TRIALREG_TLS_CA=$D/other/ca.pem register T-0 --timeout-ms 2000 >/dev/null 2>&1 \
    && fail "a client trusting another CA got a receipt"
"$T" export --genesis "$D/genesis.bin" --url "tcp://127.0.0.1:$((PORT + 100))" --key "$D/keys/regulator.key" -o "$D/plain.export" \
    --timeout-ms 2000 >/dev/null 2>&1 && fail "the client API answered plain TCP"

export TRIALREG_TLS_CA=$D/tls/ca.pem
register T-1 --receipt-out "$D/r.bin" > "$D/register.out" 2>&1 \
    || fail "register over TLS: $(cat "$D/register.out")"
grep -q "status ok" "$D/register.out" || fail "no ok receipt: $(cat "$D/register.out")"
"$T" verify-receipt --genesis "$D/genesis.bin" "$D/r.bin" >/dev/null || fail "verify-receipt"
echo "ok: registered over TLS: $(grep '^tx' "$D/register.out")"
"$T" timeline --url "$(url 3)" --key "$D/keys/regulator.key" --genesis "$D/genesis.bin" \
    --trial T-1 > "$D/timeline.out" 2>&1 || fail "timeline over TLS: $(cat "$D/timeline.out")"
grep -q "protocol.register" "$D/timeline.out" || fail "timeline lacks the event: $(cat "$D/timeline.out")"
echo "ok: the regulator's timeline over TLS"

# every node commits the block; export and audit each over its TLS client API
for attempt in $(seq 1 50); do
    n=$(for i in 0 1 2 3; do grep -o '"height": [0-9]*' "$D/node-$i/data/status.json"; done | sort -u)
    [ "$n" = '"height": 1' ] && break
    [ "$attempt" = 50 ] && fail "the nodes did not all reach height 1: $n"
    sleep 0.2
done
# (an export stops at the node's last certified height: the result certificate of height 1
# may still be forming at a node for a moment, so each export is retried until it holds it)
for i in 0 1 2 3; do
    for try in $(seq 1 20); do
        "$T" export --genesis "$D/genesis.bin" --url "$(url $i)" --key "$D/keys/regulator.key" -o "$D/n$i.export" >/dev/null \
            || fail "export of node $i over TLS"
        "$T" audit --genesis "$D/genesis.bin" "$D/n$i.export" > "$D/n$i.audit" \
            || fail "audit of node $i: $(cat "$D/n$i.audit")"
        grep -q "^audit OK: 1 blocks" "$D/n$i.audit" && break
        sleep 0.2
    done
done
heads=$(for i in 0 1 2 3; do grep -E '^(head|state)' "$D/n$i.audit" | md5sum; done | sort -u | wc -l)
[ "$heads" = 1 ] || fail "the four audited heads differ"
grep -q "1 blocks" "$D/n0.audit" || fail "expected 1 block: $(head -n 1 "$D/n0.audit")"
echo "ok: four ledgers exported over TLS and audited ($(head -n 1 "$D/n0.audit"))"
# the HTTP API speaks HTTPS with the node's certificate (and no plain HTTP on its port)
for i in 0 1 2 3; do
    curl -s --cacert "$D/tls/ca.pem" "https://127.0.0.1:$((PORT + 164 + i))/v1/status" \
        | grep -q "\"node\":$i" || fail "HTTPS /v1/status of node $i (verified against the consortium CA)"
done
curl -s -m 5 "http://127.0.0.1:$((PORT + 164))/healthz" >/dev/null && fail "plain HTTP answered on a TLS node"
echo "ok: the HTTP API over HTTPS, certificates checked against the consortium CA"

"$T" cluster down "$D" >/dev/null || fail "cluster down"
if grep -l -E "Sanitizer|runtime error" "$D"/node-*/node.log; then
    fail "sanitizer report in a node log"
fi
echo "PASS"
