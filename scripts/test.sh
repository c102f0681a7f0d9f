#!/usr/bin/env bash
# test.sh - set up, build and run every test suite (ctest). SANITIZE=1 runs
# them under ASan+UBSan in build-asan.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SANITIZE:-0}" = 1 ]; then export BUILD_DIR=${BUILD_DIR:-build-asan}; fi
BUILD_DIR=${BUILD_DIR:-build} ./scripts/setup.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j 2 --timeout 900
