#!/usr/bin/env bash
# ledger-demo.sh TRIALCTL OUTDIR - the foundation's example: a consortium of
# four validators (sponsor, site A, site B, regulator) and its authorities, a
# ledger of real signed consent grants (co-signed by the site investigator as
# witness) and data anchors with commit and result certificates, then what a
# regulator does with it: audit the data directory, export it, audit the
# export with the genesis alone, and check inclusion and consistency proofs.
# The consortium of running nodes (PBFT over nng) comes with a later issue;
# until then `trialctl sample` writes the blocks those nodes would commit.
set -euo pipefail
T=$(realpath "${1:?usage: ledger-demo.sh TRIALCTL OUTDIR}")
OUT=${2:?usage: ledger-demo.sh TRIALCTL OUTDIR}
rm -rf "$OUT"; mkdir -p "$OUT/keys"; cd "$OUT"
step() { printf '\n== %s\n' "$*"; }

step "keys: four validators and the trial's authorities (secret keys are 0600)"
for k in node-sponsor node-site-a node-site-b node-regulator sponsor investigator-a investigator-b regulator; do
    printf '%-16s ' "$k"; "$T" keygen "keys/$k"
done

step "genesis: validators, authorities by role and site (no addresses: those live in node configs)"
"$T" genesis -o genesis.bin --chain-name "TRIAL-0001 consortium" \
    --validator keys/node-sponsor.pub --validator keys/node-site-a.pub \
    --validator keys/node-site-b.pub --validator keys/node-regulator.pub \
    --authority sponsor=keys/sponsor.pub \
    --authority investigator@site-a=keys/investigator-a.pub \
    --authority investigator@site-b=keys/investigator-b.pub \
    --authority regulator=keys/regulator.pub

step "ledger: 20 committed blocks of 10 signed txs each"
"$T" sample --genesis genesis.bin --keys keys --data data --blocks 20 --txs 10 | tee sample.txt
TX=$(awk '/^last tx id/ {print $4}' sample.txt)

step "regulator: audit the stopped node's data directory"
"$T" audit --genesis genesis.bin data

step "regulator: export the ledger and audit the export with the genesis alone"
"$T" export --genesis genesis.bin --data data -o ledger.trl
"$T" audit --genesis genesis.bin ledger.trl

step "auditor: inclusion proof of tx $TX, and a consistency proof of the log from block 5 to 20"
"$T" proof --genesis genesis.bin --data data --tx "$TX" -o tx.proof
"$T" verify-proof --genesis genesis.bin tx.proof
"$T" proof --genesis genesis.bin --data data --from 5 --to 20 -o log-5-20.proof
"$T" verify-proof --genesis genesis.bin log-5-20.proof

step "tamper check: one flipped byte in a copy of the export is caught, with its height"
cp ledger.trl tampered.trl
printf '\x01' | dd of=tampered.trl bs=1 seek=$(( $(stat -c %s ledger.trl) * 2 / 3 )) conv=notrunc status=none
if "$T" audit --genesis genesis.bin tampered.trl; then
    echo "the tampered export was NOT caught" >&2; exit 1
fi
printf '\nledger demo done: files in %s\n' "$PWD"
