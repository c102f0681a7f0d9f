#!/bin/sh
# Cross-check `trialctl audit` against the independent Python verifier
# (tests/independent/verify_export.py, written from docs/FORMATS.md only).
#
# usage: run.sh TRIALCTL TMPDIR
#   Makes keys, a genesis and a 5-block sample ledger in TMPDIR, exports it,
#   and checks that trialctl audit and the Python verifier both accept it and
#   report the same head block hash and state hash; then flips one byte of a
#   tx signature in a copy of the export, and truncates another copy, and
#   checks that the Python verifier (and trialctl audit) reject both.
# Needs Debian's /usr/bin/python3 with python3-msgpack and python3-nacl.
# Exit 0 only if everything holds.
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 TRIALCTL TMPDIR" >&2
    exit 2
fi
case "$1" in /*) TRIALCTL=$1 ;; *) TRIALCTL=$(pwd)/$1 ;; esac
WORK=$2
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
VERIFY="$PY $HERE/verify_export.py"

fail() { echo "run.sh: FAIL: $*" >&2; exit 1; }

[ -x "$TRIALCTL" ] || fail "$TRIALCTL is not executable"
$PY -c 'import msgpack, nacl.signing' 2>/dev/null \
    || fail "$PY lacks msgpack or nacl (apt-get install python3-msgpack python3-nacl)"

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)/independent.$$
rm -rf "$WORK"
mkdir -p "$WORK/keys"
trap 'rm -rf "$WORK"' EXIT

# keys, genesis, sample ledger, export
(cd "$WORK/keys" && for k in v0 v1 v2 v3 sponsor inv-a inv-b regulator; do
    "$TRIALCTL" keygen "$k" >/dev/null
done) || fail "keygen"
K=$WORK/keys
"$TRIALCTL" genesis -o "$WORK/genesis.bin" --chain-name independent-check \
    --created-ms 1764000000000 \
    --validator "$K/v0.pub" --validator "$K/v1.pub" --validator "$K/v2.pub" \
    --validator "$K/v3.pub" \
    --authority "sponsor=$K/sponsor.pub" \
    --authority "investigator@site-a=$K/inv-a.pub" \
    --authority "investigator@site-b=$K/inv-b.pub" \
    --authority "regulator=$K/regulator.pub" >/dev/null || fail "genesis"
"$TRIALCTL" sample --genesis "$WORK/genesis.bin" --keys "$K" --data "$WORK/data" \
    --blocks 5 --txs 7 >/dev/null || fail "sample"
"$TRIALCTL" export --genesis "$WORK/genesis.bin" --data "$WORK/data" \
    -o "$WORK/ledger.export" >/dev/null || fail "export"

# both verifiers accept it and agree on the head
"$TRIALCTL" audit --genesis "$WORK/genesis.bin" "$WORK/ledger.export" > "$WORK/audit.out" \
    || { cat "$WORK/audit.out" >&2; fail "trialctl audit rejected the export"; }
$VERIFY "$WORK/genesis.bin" "$WORK/ledger.export" > "$WORK/py.out" \
    || { cat "$WORK/py.out" >&2; fail "the Python verifier rejected the export"; }
cat "$WORK/audit.out" "$WORK/py.out"

field() { sed -n "s/^$1 *\([0-9a-f]\{64\}\)\$/\1/p" "$2"; }
for name in "head block hash" "state hash"; do
    a=$(field "$name" "$WORK/audit.out")
    p=$(field "$name" "$WORK/py.out")
    [ -n "$a" ] || fail "no '$name' in the trialctl audit output"
    [ "$a" = "$p" ] || fail "$name differs: trialctl $a, Python $p"
done
grep -q "^head height 5, log size 35\$" "$WORK/audit.out" || fail "trialctl: unexpected head"
grep -q "^head height 5, log size 35\$" "$WORK/py.out" || fail "Python: unexpected head"

# tamper: flip one byte of the author signature of tx 2 in block 3. The tx is
# found by decoding the export; its canonical bytes end with bin8(64) sig, so
# the signature is the last 64 bytes of the tx's encoding.
$PY - "$WORK/ledger.export" "$WORK/tampered.export" <<'EOF'
import sys, msgpack
data = open(sys.argv[1], "rb").read()
up = msgpack.Unpacker(raw=False, max_buffer_size=len(data))
up.feed(data)
up.unpack()                       # header
for height in range(1, 4):
    start = up.tell()
    block, _ = up.unpack()
tx = msgpack.packb(block[1][2], use_bin_type=True)
at = data.find(tx, start)
assert at > 0 and tx[-66:-64] == b"\xc4\x40", "tx not found"
sig = at + len(tx) - 64 + 10
out = bytearray(data)
out[sig] ^= 0x01
open(sys.argv[2], "wb").write(out)
print(f"flipped byte {sig} (signature of block 3, tx 2)")
EOF
if $VERIFY "$WORK/genesis.bin" "$WORK/tampered.export" > "$WORK/py.bad"; then
    fail "the Python verifier accepted a flipped signature byte"
else
    rc=$?
fi
cat "$WORK/py.bad"
[ "$rc" -eq 1 ] || fail "the Python verifier exited $rc on the tampered export, want 1"
grep -q "FAILED at height 3, tx 2: tx author signature is invalid" "$WORK/py.bad" \
    || fail "the Python verifier named the wrong place"
if "$TRIALCTL" audit --genesis "$WORK/genesis.bin" "$WORK/tampered.export" > "$WORK/audit.bad"; then
    fail "trialctl audit accepted a flipped signature byte"
fi
cat "$WORK/audit.bad"
# trialctl reports the lowest (height, tx) failure and counts block-level
# checks as tx -1, so it names the tx root (the tx's bytes changed) at the
# same height; the height is what both must agree on.
grep -q "FAILED at height 3[:,]" "$WORK/audit.bad" \
    || fail "trialctl audit named another height than the Python verifier"

# truncated export: the last entry is cut short
size=$(wc -c < "$WORK/ledger.export")
head -c $((size - 7)) "$WORK/ledger.export" > "$WORK/truncated.export"
if $VERIFY "$WORK/genesis.bin" "$WORK/truncated.export" > "$WORK/py.trunc"; then
    fail "the Python verifier accepted a truncated export"
fi
cat "$WORK/py.trunc"

# An executed ledger with a pruned tx (FORMATS.md 5.10): the example trial ends with a
# stranger's unroutable tx, which its block keeps pruned. Both verifiers accept it, agree
# on the head, and the export holds none of that tx's 1 KiB argument; a flipped byte of the
# kept leaf hash is caught by both (the tx root no longer matches).
"$TRIALCTL" example-trial "$WORK/example" > /dev/null || fail "example-trial"
"$TRIALCTL" export --genesis "$WORK/example/genesis.bin" --data "$WORK/example/ledger" \
    -o "$WORK/example.export" > /dev/null || fail "export of the example"
"$TRIALCTL" audit --genesis "$WORK/example/genesis.bin" "$WORK/example.export" \
    > "$WORK/ex-audit.out" || { cat "$WORK/ex-audit.out" >&2; fail "trialctl audit rejected the example"; }
$VERIFY "$WORK/example/genesis.bin" "$WORK/example.export" > "$WORK/ex-py.out" \
    || { cat "$WORK/ex-py.out" >&2; fail "the Python verifier rejected the example"; }
cat "$WORK/ex-py.out"
for name in "head block hash" "state hash"; do
    a=$(field "$name" "$WORK/ex-audit.out")
    p=$(field "$name" "$WORK/ex-py.out")
    [ -n "$a" ] && [ "$a" = "$p" ] || fail "example: $name differs: trialctl $a, Python $p"
done
grep -q "^pruned txs 1\$" "$WORK/ex-py.out" || fail "the example's export holds no pruned tx"
if grep -q "XXXXXXXXXXXXXXXX" "$WORK/example.export"; then
    fail "the example's export holds the unroutable tx's argument bytes"
fi
$PY - "$WORK/example.export" "$WORK/example-tampered.export" <<'EOF'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
at = data.find(b"\x98\xc4\x20")        # a pruned tx: fixarray 8, then bin8(32) leaf hash
assert at > 0, "no pruned tx in the export"
data[at + 3] ^= 0x01
open(sys.argv[2], "wb").write(data)
EOF
if $VERIFY "$WORK/example/genesis.bin" "$WORK/example-tampered.export" > "$WORK/ex-py.bad"; then
    fail "the Python verifier accepted a changed pruned leaf hash"
fi
cat "$WORK/ex-py.bad"
if "$TRIALCTL" audit --genesis "$WORK/example/genesis.bin" "$WORK/example-tampered.export" \
    > "$WORK/ex-audit.bad"; then
    fail "trialctl audit accepted a changed pruned leaf hash"
fi
cat "$WORK/ex-audit.bad"

echo "run.sh: OK (trialctl audit and the independent verifier agree)"
