#!/usr/bin/env bash
# test_idle_conns.sh TRIALCTL TRIALNODE GARBAGE WORKDIR PORT - issue 14 D: a stranger's idle
# and half-open connections must not exhaust a validator's file descriptors. A 4-validator
# consortium; node 1 runs under `prlimit --nofile=LIMIT`; a stranger holds more idle (SP
# handshake done, no request) and half-open (connected, silent) connections to node 1's
# client API than LIMIT allows, opening a new one for each the node closes, while a load
# of TXS txs goes through node 1's client API. Every tx must commit, node 1 must keep
# running (before the fix it stopped with "cannot persist .../pbft.state: Too many open
# files"), and the four nodes must agree.
# Phase 2: the stranger re-opens every connection node 1 closes (a flood that never ends);
# node 1's client API may then be starved, but consensus must not be: a load through node 2
# commits everything, node 1 keeps running and keeps up.
set -uo pipefail
T=$1; N=$2; G=$3; D=$4; PORT=$5
LIMIT=${LIMIT:-256}; IDLE=${IDLE:-400}; HALF=${HALF:-200}; TXS=${TXS:-1500}
PIDS=()
fail() { echo "FAIL: $*"; tail -n 8 "$D"/node-*.log; exit 1; }
cleanup() {
    [ -n "${HOLD:-}" ] && kill "$HOLD" 2>/dev/null
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    true
}
trap cleanup EXIT
command -v prlimit >/dev/null || fail "prlimit is not installed (util-linux)"

rm -rf "$D"
mkdir -p "$D"
"$T" init --base-port "$PORT" "$D/cons" >/dev/null || fail "init"
for i in 0 1 2 3; do
    if [ "$i" = 1 ]; then
        prlimit --nofile="$LIMIT:$LIMIT" "$N" --config "$D/cons/node-1/config.json" \
            >"$D/node-1.log" 2>&1 &
    else
        "$N" --config "$D/cons/node-$i/config.json" >"$D/node-$i.log" 2>&1 &
    fi
    PIDS+=($!)
done
NODE1=${PIDS[1]}
CLIENT1=$((PORT + 101))
for attempt in $(seq 1 50); do
    [ -s "$D/cons/node-1/data/status.json" ] && break
    sleep 0.2
done

# node 1's open descriptors, sampled every 50 ms (the peak is reported)
( while kill -0 "$NODE1" 2>/dev/null; do ls "/proc/$NODE1/fd" 2>/dev/null | wc -l; sleep 0.05; done \
    >"$D/fds.out" ) &
"$G" hold "$CLIENT1" "$IDLE" "$HALF" 3600 "${MODE:-once}" >"$D/hold.out" 2>&1 &
HOLD=$!
sleep 3 # the stranger's connections are all open (or refused) before the load starts
kill -0 "$NODE1" 2>/dev/null || fail "node 1 died under $IDLE idle and $HALF half-open connections"

timeout 200 "$T" bench cluster --existing "$D/cons" --url "tcp://127.0.0.1:$CLIENT1" --txs "$TXS" \
    --clients 32 >"$D/load.out" 2>&1
LOAD=$?
kill -0 "$NODE1" 2>/dev/null || fail "node 1 stopped under the stranger's connections"
[ "$LOAD" = 0 ] || fail "load through node 1 (exit $LOAD): $(tail -n 3 "$D/load.out")"
kill "$HOLD"; wait "$HOLD" 2>/dev/null; HOLD=
echo "stranger: $(cat "$D/hold.out"); node 1's descriptors peaked at $(sort -n "$D/fds.out" | tail -n 1) (sampled)"

# The hard bound (registry/net/relay.h): node 1 never came near its file limit. Its relays hold
# at most 3 x (client + peer connections) = 3 x (32 + 10) descriptors at LIMIT=256, on top of
# its own ~40; the old transport peaked at 252-256 of 256 here.
bounded() {
    peak=$(sort -n "$D/fds.out" | tail -n 1)
    [ "$peak" -le $((LIMIT * 3 / 4)) ] || fail "$1: node 1's descriptors peaked at $peak of $LIMIT (bound $((LIMIT * 3 / 4)))"
}
converge() {
for attempt in $(seq 1 100); do
    n=$(for i in 0 1 2 3; do grep -o '"height": [0-9]*, .*"state_hash": "[0-9a-f]*"' \
        "$D/cons/node-$i/data/status.json" | sed 's/"view.*"state_hash"//'; done | sort -u | wc -l)
    [ "$n" = 1 ] && break
    [ "$attempt" = 100 ] && fail "$1: the nodes did not converge"
    sleep 0.2
done
}
converge "phase 1"
grep -q "Too many open files" "$D/node-1.log" && fail "node 1 ran out of descriptors: $(grep -m1 'Too many' "$D/node-1.log")"
bounded "phase 1"
echo "ok: $TXS txs committed through node 1 (file limit $LIMIT) while a stranger held $IDLE idle and $HALF half-open connections to it; $(grep -o '"height": [0-9]*' "$D/cons/node-1/data/status.json")"

# Phase 2: a flood that refills itself, the load through node 2
"$G" hold "$CLIENT1" "$IDLE" "$HALF" 3600 refill >"$D/hold2.out" 2>&1 &
HOLD=$!
sleep 2
timeout 200 "$T" bench cluster --existing "$D/cons" --url "tcp://127.0.0.1:$((PORT + 102))" \
    --txs "$TXS" --clients 32 >"$D/load2.out" 2>&1
LOAD=$?
kill -0 "$NODE1" 2>/dev/null || fail "phase 2: node 1 stopped under a refilling flood"
[ "$LOAD" = 0 ] || fail "phase 2: load through node 2 (exit $LOAD): $(tail -n 3 "$D/load2.out")"
kill "$HOLD"; wait "$HOLD" 2>/dev/null; HOLD=
converge "phase 2"
# the load tool's watcher does not read the ledger from height 1 (issue 14): it polls the
# receipts of the run's own txs and reads no block (issue 19), on a ledger of 100+ blocks
grep -q "no block is read" "$D/load2.out" || fail "phase 2: the load's watcher reads blocks: $(grep set-up "$D/load2.out")"
up_to=$(grep -o 'up to height [0-9]*' "$D/load2.out" | grep -o '[0-9]*$')
[ "${up_to:-0}" -gt 100 ] || fail "phase 2: the set-up ended at height ${up_to:-0}, expected a long ledger"
grep -q "Too many open files" "$D/node-1.log" && fail "phase 2: node 1 ran out of descriptors"
bounded "phase 2"
echo "ok: phase 2: $TXS txs committed through node 2 while node 1 (still running, caught up) was flooded: $(cat "$D/hold2.out"); descriptors peaked at $(sort -n "$D/fds.out" | tail -n 1)"
