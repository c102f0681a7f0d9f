#!/usr/bin/env bash
# test_trialnode.sh TRIALCTL TRIALNODE WORKDIR - trialctl's client commands against a real
# 4-validator consortium (trialctl init + 4 trialnode processes on loopback): role events
# through different nodes, a refused boundary, a receipt that verifies with the genesis
# alone, the example trial pipelined, and an export over the URL (signed by the regulator;
# a researcher's refused with the reason) that audits clean.
set -u
T=$(realpath "${1:?usage: test_trialnode.sh TRIALCTL TRIALNODE WORKDIR}")
N=$(realpath "$2")
W=$3
rm -rf "$W"
mkdir -p "$W"
cd "$W" || exit 1
pass=0
fail=0
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT

expect() {
    local want=$1 pattern=$2
    shift 3
    local out rc
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" -ge 128 ] || grep -qE "Sanitizer|runtime error" <<<"$out"; then
        echo "CRASH ($rc): $*"; echo "$out" | head -8; fail=$((fail + 1)); return
    fi
    if [ "$rc" -ne "$want" ] || ! grep -qE -- "$pattern" <<<"$out"; then
        echo "FAIL: $* -> exit $rc (want $want), output:"; echo "$out" | head -8
        fail=$((fail + 1)); return
    fi
    pass=$((pass + 1))
}

# below the ephemeral range (32768-60999 on Linux): nng's loopback listeners behind the
# relays and every outgoing connection take ports from it, so a fixed port there may be
# taken (CI once: "client API: cannot listen on tcp://127.0.0.1:38332: Address already in
# use"); and above the cluster tests' fixed ports (17100-20203)
BASE=${TRIALREG_BASE_PORT:-$((27000 + ($$ * 7 % 5000)))} # 27000-32166: below the ephemeral ports, apart from test_client.sh's
expect 0 "consortium of 4 validators" -- "$T" init --base-port "$BASE" cons
# The consortium runs on an UPGRADED genesis (issue 16): init's genesis written back as
# version 1 (as trialctl wrote it before), converted by `trialctl genesis upgrade` with small
# batches (8 txs, 64 KiB), so the nodes start on a converted genesis and batch by its rules.
/usr/bin/python3 - cons/genesis.bin cons/genesis-v1.bin <<'PY'
import sys, msgpack
g = msgpack.unpackb(open(sys.argv[1], "rb").read(), raw=False)
r = g[3]
v1 = [1, g[1], g[2], [r[8], 64, r[12], r[13]], g[4], g[5], g[6]]
open(sys.argv[2], "wb").write(msgpack.packb(v1, use_bin_type=True))
PY
rm cons/genesis.bin
expect 0 "NEW chain" -- "$T" genesis upgrade cons/genesis-v1.bin cons/genesis.bin --max-batch-txs 8 --block-bytes-max 65536
expect 0 "max_batch_txs +8" -- "$T" genesis show cons/genesis.bin
for i in 0 1 2 3; do
    "$N" --config cons/node-$i/config.json >node-$i.log 2>&1 &
    PIDS+=($!)
done
G=cons/genesis.bin
K=cons/keys
U0="tcp://127.0.0.1:$((BASE + 100))"
U2="tcp://127.0.0.1:$((BASE + 102))"
P1=0000000000000000000000000000000000000000000000000000000000000001
echo "protocol" >doc.txt

expect 0 "status ok" -- "$T" register --url "$U2" --genesis $G --key $K/sponsor.key --trial TN-1 \
    --doc-file doc.txt --primary $P1 --planned 10 --site site-a --form $P1 --receipt-out register.receipt
expect 0 "receipt OK" -- "$T" verify-receipt --genesis $G register.receipt
expect 1 "only a regulator" -- "$T" approve --url "$U0" --genesis $G --key $K/sponsor.key --trial TN-1 --version 1
expect 0 "status ok" -- "$T" approve --url "$U0" --genesis $G --key $K/regulator.key --trial TN-1 --version 1
expect 0 "FLAG" -- "$T" example-trial --url "$U0" --consortium cons
# issue 19: the public history with no key; a grant read through node 0 is in node 0's read
# log only (each node logs the reads it answered)
expect 0 "every receipt verified" -- "$T" history --url "$U2" --genesis $G --trial TRIAL-CARDIO-01
expect 0 "matches the grant's" -- "$T" access records --url "$U0" --genesis $G --key $K/researcher.key \
    --trial TRIAL-CARDIO-01 --grant 1
expect 0 "1 reads through access grants" -- "$T" access log --url "$U0" --genesis $G --key $K/regulator.key \
    --trial TRIAL-CARDIO-01
expect 0 "0 reads through access grants" -- "$T" access log --url "$U2" --genesis $G --key $K/regulator.key \
    --trial TRIAL-CARDIO-01
expect 0 "exported" -- "$T" export --url "$U2" --genesis $G --key $K/regulator.key remote.export
expect 1 "blocks refused \(5\).*only a validator, a regulator or the auditor role" -- \
    "$T" export --url "$U2" --genesis $G --key $K/researcher.key refused.export
expect 0 "audit OK" -- "$T" audit --genesis $G remote.export

echo "client commands against trialnode: $pass passed, $fail failed"
if [ "$fail" -ne 0 ]; then for i in 0 1 2 3; do echo "--- node-$i"; tail -5 node-$i.log; done; fi
[ "$fail" -eq 0 ]
