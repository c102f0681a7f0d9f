#!/usr/bin/env bash
# demo.sh - the main job: set up, build, and run the example in examples/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec ./examples/ledger-demo.sh build/tools/trialctl "${1:-out/demo}"
