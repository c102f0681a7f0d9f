#!/usr/bin/env bash
# demo.sh [OUTDIR] - the main job: set up, build, then run the example trial on
# a local 4-validator consortium (examples/consortium.sh: cluster up, the
# trial through the client API, the regulator's timeline, a researcher refused an
# export, every node's ledger exported by the regulator and audited, cluster down).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-out/demo}
./scripts/setup.sh
./examples/consortium.sh build/tools/trialctl "$OUT/consortium" "${DEMO_PORT:-7100}"
