#!/usr/bin/env bash
# test_recommit.sh TRIALCTL TRIALNODE GARBAGE WORKDIR PORT - issue 14 B: no node proposes or
# keeps pending a tx its own ledger holds. A 4-validator consortium commits more txs than the
# PBFT core's duplicate filter remembers (4,096) under load; the primary is killed (-9) and
# restarted (its filter starts empty); then every tx of the ledger is submitted again, to
# the restarted primary and to a backup (a client's late retry, a late forward), while a
# fresh load goes on: through the client API (refused at submit by the replay set) and as
# TXS forwards on the peer port (a late forward: no submit check on that path). Every node's
# pending set must drain to 0 and no tx id may be in the ledger twice. (Before: the restarted primary proposed the old txs again and they were
# committed a second time, each refused by the executor as a replay; a backup holding them
# started a view change only it wanted.)
set -uo pipefail
T=$1; export TRIALNODE=$2; G=$3; D=$4; PORT=$5
TXS=${TXS:-5000}
. "$(dirname "$0")/lib.sh"
cleanup() {
    "$T" cluster down "$D" --timeout-ms 3000 >/dev/null 2>&1
    for i in 0 1 2 3; do kill -9 "$(pid $i 2>/dev/null)" 2>/dev/null; done
    true
}
trap cleanup EXIT

rm -rf "$D"
"$T" init --base-port "$PORT" "$D" >/dev/null || fail "init"
"$T" cluster up "$D" >/dev/null || fail "cluster up"
"$T" bench cluster --existing "$D" --url "$(url 1)" --txs "$TXS" --clients 32 \
    >"$D/load1.out" 2>&1 || fail "first load: $(tail -n 3 "$D/load1.out")"
agree "after $TXS txs"

P=$(field 1 primary)
B=$(( (P + 1) % 4 ))
kill -9 "$(pid "$P")"
sleep 0.2
"$T" cluster up "$D" >/dev/null || fail "restart of the primary (node $P)"
before=$(field 1 height)
"$T" export --genesis "$D/genesis.bin" --url "$(url 1)" --key "$D/keys/regulator.key" -o "$D/old.export" >/dev/null ||
    fail "export"
"$T" bench cluster --existing "$D" --url "$(url 1)" --txs 1000 --clients 16 \
    >"$D/load2.out" 2>&1 &
LOAD=$!
for target in "$P" "$B"; do
    # a client's late retry: refused at submit, (signer, nonce) is in the replay set
    "$G" resubmit "$(url "$target")" "$D/old.export" 100000 >"$D/resubmit-$target.out" 2>&1 ||
        fail "resubmit to node $target: $(cat "$D/resubmit-$target.out")"
    echo "node $target: $(cat "$D/resubmit-$target.out")"
    grep -q ": 0 accepted" "$D/resubmit-$target.out" ||
        fail "node $target accepted committed txs at submit: $(cat "$D/resubmit-$target.out")"
    # a late forward from another validator: no submit check on that path, so the txs reach
    # the mempool and the core; the node's request check (its ledger's tx index) must stop them
    from=$(( (target + 2) % 4 ))
    "$G" resubmit "tcp://127.0.0.1:$((PORT + target))" "$D/old.export" 100000 "$from" \
        >"$D/forward-$target.out" 2>&1 ||
        fail "forward to node $target: $(cat "$D/forward-$target.out")"
    echo "node $target: $(cat "$D/forward-$target.out")"
done
wait $LOAD || fail "second load: $(tail -n 3 "$D/load2.out")"

# every node's pending set drains: nothing it holds is proposed again
for attempt in $(seq 1 100); do
    busy=$(for i in 0 1 2 3; do field $i pending; done | grep -vc '^0$')
    [ "$busy" = 0 ] && break
    [ "$attempt" = 100 ] && fail "pending txs left: $(for i in 0 1 2 3; do echo -n "node $i $(field $i pending); "; done)"
    sleep 0.2
done
agree "after the resubmission"
out=$(/usr/bin/python3 "$(dirname "$0")/ledger_txids.py" "$D/n0.export") || fail "ledger_txids: $out"
echo "$out"
echo "$out" | grep -q "ids committed more than once 0 " ||
    fail "old txs were committed again: $out"
echo "ok: every committed tx submitted again to the restarted primary $P and to backup $B: none proposed again (height $before -> $(field 1 height)), no pending left, view $(field 1 view)"
