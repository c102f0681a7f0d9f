#!/usr/bin/env bash
# demo.sh [OUTDIR] - the main job: set up, build, then run
#   1. examples/ledger-demo.sh: keys, genesis, a signed ledger, a regulator's
#      offline audit, export, proofs, a tampered export caught;
#   2. the example trial (examples/trial/): the whole scenario executed by the
#      contracts on an in-process executor, the regulator's timeline, and an
#      audit of the ledger it wrote.
# The 4-validator consortium over the network replaces step 2's in-process
# executor once the validator node exists (see the open node issue).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-out/demo}
./scripts/setup.sh
T=build/tools/trialctl
./examples/ledger-demo.sh "$T" "$OUT/ledger"
printf '\n== example trial: the whole scenario through the contracts, the regulator'"'"'s timeline\n'
rm -rf "$OUT/trial"
"$T" example-trial "$OUT/trial"
printf '\n== regulator: audit the trial'"'"'s ledger with its genesis alone\n'
"$T" audit --genesis "$OUT/trial/genesis.bin" "$OUT/trial/ledger"
