#!/usr/bin/env bash
# setup.sh - install what is missing (Debian 12, as root), configure and build.
#   BUILD_DIR (default build), SANITIZE=1 for ASan+UBSan, FUZZ=1 for the
#   libFuzzer targets (clang), EXTRA_PACKAGES for more Debian packages.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
packages="cmake make gcc pkg-config libnng-dev libmsgpack-dev libsodium-dev libssl-dev libleveldb-dev
          libcriterion-dev libjansson-dev libmicrohttpd-dev lua5.4 python3-msgpack python3-nacl openssl strace clang
          help2man prometheus chromium chromium-driver python3-selenium zbar-tools
          ${EXTRA_PACKAGES:-}"
[ "${FUZZ:-0}" = 1 ] && packages="$packages libclang-rt-14-dev"
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# Node.js and npm, for test-only tools (the OpenAPI lint and schema checks: tests/http):
# the machine's own if it has them (NodeSource's nodejs carries npm), else Debian's.
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: missing Debian packages:$missing (run as root, or apt-get install them)" >&2
        exit 1
    fi
    echo "setup: installing$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
[ "${SANITIZE:-0}" = 1 ] && flags+=(-DTRIALREG_SANITIZE=ON)
[ "${FUZZ:-0}" = 1 ] && flags+=(-DTRIALREG_FUZZ=ON -DCMAKE_C_COMPILER=clang)
cmake -S . -B "$BUILD_DIR" "${flags[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"
