#!/bin/sh
# Validator-set changes (FORMATS.md 5.12, 6.4) checked by three verifiers that share no code:
# trialctl (C), tests/independent/verify_export.py (Python, from FORMATS.md) and
# web/js/verify.mjs (the browser's, under Node). test_contracts' valset test writes, for a
# chain grown 4 -> 7 and then rotated, a receipt after the two changes, one before any, four
# receipts whose chain was tampered with (a change dropped, the other dropped, none, the two
# swapped) and one whose first change's result certificate the newer set signed, and the
# ledger's export. Every verifier must accept the two good receipts and refuse the five bad
# ones; trialctl verify-proof and the Python verifier must accept the proof file of the same tx
# with its changes and refuse it without; trialctl audit and the Python verifier must accept
# the export (trialctl with --reexecute: the changes replay to the same receipts and state).
#
# usage: valset_check.sh TEST_CONTRACTS TRIALCTL WORKDIR
set -eu
if [ $# -ne 3 ]; then
    echo "usage: $0 TEST_CONTRACTS TRIALCTL WORKDIR" >&2
    exit 2
fi
TESTS=$1
TRIALCTL=$2
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$3/valset.$$
PY=/usr/bin/python3
fail() { echo "valset_check.sh: FAIL: $*" >&2; exit 1; }
rm -rf "$WORK"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT

TRIALREG_VALSET_FILES=$WORK "$TESTS" --filter 'valset/a_receipt_after_two_changes*' >"$WORK/test.out" 2>&1 \
    || { cat "$WORK/test.out" >&2; fail "the test that writes the files failed"; }
G=$WORK/genesis.bin
[ -s "$G" ] && [ -s "$WORK/after-two-changes.receipt" ] || fail "the files were not written"

cat >"$WORK/verify.mjs" <<JS
import { readFileSync } from "node:fs";
const { decodeGenesis, verifyReceiptFile } = await import("$HERE/../../web/js/verify.mjs");
const g = await decodeGenesis(readFileSync(process.argv[2]));
const r = await verifyReceiptFile(g, readFileSync(process.argv[3]));
console.log(r.ok ? "OK" : \`FAILED step \${r.step} (\${r.stepName}): \${r.reason}\`);
process.exit(r.ok ? 0 : 1);
JS

for f in "$WORK"/*.receipt; do
    name=$(basename "$f")
    case "$name" in bad-*) want=refused ;; *) want=accepted ;; esac
    for verifier in trialctl python js; do
        case $verifier in
            trialctl) set -- "$TRIALCTL" verify-receipt --genesis "$G" "$f" ;;
            python) set -- "$PY" "$HERE/verify_export.py" --receipt "$G" "$f" ;;
            js) set -- node "$WORK/verify.mjs" "$G" "$f" ;;
        esac
        if "$@" >"$WORK/out" 2>&1; then got=accepted; else got=refused; fi
        echo "$name: $verifier $got: $(head -c 300 "$WORK/out" | tr '\n' ' ')"
        [ "$got" = "$want" ] || fail "$verifier $got $name (want $want)"
    done
done
for f in "$WORK"/*.proof; do
    name=$(basename "$f")
    case "$name" in bad-*) want=refused ;; *) want=accepted ;; esac
    for verifier in trialctl python; do
        case $verifier in
            trialctl) set -- "$TRIALCTL" verify-proof --genesis "$G" "$f" ;;
            python) set -- "$PY" "$HERE/verify_export.py" --proof "$G" "$f" ;;
        esac
        if "$@" >"$WORK/out" 2>&1; then got=accepted; else got=refused; fi
        echo "$name: $verifier $got: $(head -c 300 "$WORK/out" | tr '\n' ' ')"
        [ "$got" = "$want" ] || fail "$verifier $got $name (want $want)"
    done
done
"$TRIALCTL" audit --reexecute --genesis "$G" "$WORK/ledger.export" >"$WORK/audit.out" 2>&1 \
    || { cat "$WORK/audit.out" >&2; fail "trialctl audit refused the export"; }
$PY "$HERE/verify_export.py" "$G" "$WORK/ledger.export" >"$WORK/py.out" 2>&1 \
    || { cat "$WORK/py.out" >&2; fail "verify_export.py refused the export"; }
echo "valset_check.sh: all three verifiers agree on $(ls "$WORK"/*.receipt | wc -l) receipt files; the export audits in C and Python"
