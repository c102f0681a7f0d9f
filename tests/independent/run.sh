#!/bin/sh
# Cross-check `trialctl audit` against the independent Python verifier
# (tests/independent/verify_export.py, written from docs/FORMATS.md only).
#
# usage: run.sh TRIALCTL TMPDIR
#   Makes keys, a genesis and a 5-block sample ledger in TMPDIR, exports it,
#   and checks that trialctl audit and the Python verifier both accept it and
#   report the same head block hash and state hash; then flips one byte of a
#   tx signature in a copy of the export, and truncates another copy, and
#   checks that the Python verifier (and trialctl audit) reject both. Then proofs
#   (FORMATS.md 6.2): an inclusion and a consistency proof made by trialctl pass both
#   `trialctl verify-proof` and `verify_export.py --proof`; the inclusion proof moved
#   to a later block, and a block "consistent with itself", are refused by both. An
#   export whose last block lacks its result certificate is not called verified
#   (exit 1, the heights named). Exports whose validators signed again over an OK
#   receipt with an error code (5.4), or over a batch of time 0 with txs (5.2), are
#   refused by both verifiers. tamper.py makes the bad files.
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
TAMPER="$PY $HERE/tamper.py"

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
at = data.find(b"\x99\xc4\x20")        # a pruned tx: fixarray 9, then bin8(32) leaf hash
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

# ---- canonical form (FORMATS.md 1): the smallest encoding of every integer and length ----
# The header's block count 5 (05) written as uint64 (cf 00 00 00 00 00 00 00 05): a
# library that decodes into 64-bit integers and re-encodes them at their decoded width
# would call it canonical. Both verifiers check the shortest form byte by byte.
$PY - "$WORK/ledger.export" "$WORK/wide.export" <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
at = 1 + 16 + 1 + 34       # [magic (fixstr 15), version, chain id (bin8 32), block_count]
assert data[at] == 0x05, "block count not found"
open(sys.argv[2], "wb").write(data[:at] + b"\xcf" + (5).to_bytes(8, "big") + data[at + 1:])
EOF
if $VERIFY "$WORK/genesis.bin" "$WORK/wide.export" > "$WORK/py.wide"; then
    fail "the Python verifier accepted a uint64 holding 5"
fi
cat "$WORK/py.wide"
grep -q "FAILED: export: non-canonical: uint at byte 52 is not in its shortest form" \
    "$WORK/py.wide" || fail "the Python verifier did not name the non-shortest uint"
if "$TRIALCTL" audit --genesis "$WORK/genesis.bin" "$WORK/wide.export" > "$WORK/audit.wide" 2>&1; then
    fail "trialctl audit accepted a uint64 holding 5"
fi
cat "$WORK/audit.wide"

# ---- validators (FORMATS.md 2, 5.9): n = 4, 7, 10, 13 or 16 ----
# the genesis with 19 validators (15 more, made-up keys): 3f+1, but above what PBFT runs
$PY - "$WORK/genesis.bin" "$WORK/genesis19.bin" <<'EOF'
import sys, msgpack
g = msgpack.unpackb(open(sys.argv[1], "rb").read(), raw=False)
g[4] += [[f"extra-{i}", bytes([0xe0 + i]) * 32] for i in range(15)]
open(sys.argv[2], "wb").write(msgpack.packb(g, use_bin_type=True))
EOF
if $VERIFY "$WORK/genesis19.bin" "$WORK/ledger.export" > "$WORK/py.g19"; then
    fail "the Python verifier accepted a genesis of 19 validators"
fi
cat "$WORK/py.g19"
grep -q "FAILED: genesis.validators: 19 elements, want 4..16" "$WORK/py.g19" \
    || fail "the Python verifier refused the genesis of 19 validators for another reason"
if "$TRIALCTL" audit --genesis "$WORK/genesis19.bin" "$WORK/ledger.export" > "$WORK/audit.g19" 2>&1; then
    fail "trialctl audit accepted a genesis of 19 validators"
fi
cat "$WORK/audit.g19"
grep -q "genesis.validators: element count out of bounds" "$WORK/audit.g19" \
    || fail "trialctl audit refused the genesis of 19 validators for another reason"

# ---- proofs (FORMATS.md 6.2) ----
# the inclusion proof of tx 3 of block 2 (leaf 10 of the log: blocks of 7 txs)
txid=$($PY - "$WORK/ledger.export" <<'EOF'
import sys, hashlib, msgpack
data = open(sys.argv[1], "rb").read()
up = msgpack.Unpacker(raw=False, max_buffer_size=len(data))
up.feed(data)
up.unpack()
up.unpack()
block, _ = up.unpack()
print(hashlib.sha256(msgpack.packb(block[1][3], use_bin_type=True)).hexdigest())
EOF
)
"$TRIALCTL" proof --genesis "$WORK/genesis.bin" --data "$WORK/data" --tx "$txid" \
    -o "$WORK/incl.proof" > /dev/null || fail "trialctl proof --tx"
"$TRIALCTL" proof --genesis "$WORK/genesis.bin" --data "$WORK/data" --from 2 --to 4 \
    -o "$WORK/cons.proof" > /dev/null || fail "trialctl proof --from --to"
for p in incl cons; do
    "$TRIALCTL" verify-proof --genesis "$WORK/genesis.bin" "$WORK/$p.proof" \
        || fail "trialctl verify-proof refused the $p proof"
    $VERIFY --proof "$WORK/genesis.bin" "$WORK/$p.proof" \
        || fail "the Python verifier refused the $p proof"
done
$VERIFY --proof "$WORK/genesis.bin" "$WORK/incl.proof" \
    | grep -q "^independent proof OK: inclusion of leaf 10 in block 2 " \
    || fail "the Python verifier names another leaf or block"
$TAMPER reanchor "$WORK/ledger.export" "$WORK/incl.proof" 4 "$WORK/reanchored.proof" \
    || fail "tamper reanchor"
$TAMPER self-consistency "$WORK/cons.proof" "$WORK/self.proof" || fail "tamper self-consistency"
for p in reanchored self; do
    if "$TRIALCTL" verify-proof --genesis "$WORK/genesis.bin" "$WORK/$p.proof"; then
        fail "trialctl verify-proof accepted the $p proof"
    fi
    if $VERIFY --proof "$WORK/genesis.bin" "$WORK/$p.proof" > "$WORK/py.$p"; then
        cat "$WORK/py.$p"
        fail "the Python verifier accepted the $p proof"
    fi
    cat "$WORK/py.$p"
done
grep -q "FAILED: the tx is not in this block: leaf 10 is outside its leaves \[21, 28)" \
    "$WORK/py.reanchored" || fail "the Python verifier refused the re-anchored proof for another reason"
grep -q "FAILED: the old block (height 4) is not below the new one (height 4)" "$WORK/py.self" \
    || fail "the Python verifier refused the self-consistency proof for another reason"

# ---- an uncertified tail (FORMATS.md 8, 11): never called verified ----
$TAMPER strip-last-cert "$WORK/ledger.export" "$WORK/tail.export" || fail "tamper strip-last-cert"
tail_line="independent verify: heights 1..4 certified and verified; heights 5..5 have no result certificate: NOT verified"
if $VERIFY "$WORK/genesis.bin" "$WORK/tail.export" > "$WORK/py.tail"; then
    cat "$WORK/py.tail"
    fail "the Python verifier exited 0 on an uncertified tail"
fi
cat "$WORK/py.tail"
[ "$(head -n 1 "$WORK/py.tail")" = "$tail_line" ] || fail "the Python verifier's tail verdict line"
if grep -q "OK" "$WORK/py.tail"; then fail "the Python verifier says OK with an uncertified tail"; fi
$VERIFY --allow-uncertified-tail "$WORK/genesis.bin" "$WORK/tail.export" > "$WORK/py.tail2" \
    || fail "the Python verifier with --allow-uncertified-tail exited non-zero"
[ "$(head -n 1 "$WORK/py.tail2")" = "$tail_line" ] \
    || fail "the Python verifier's tail verdict line with --allow-uncertified-tail"
# trialctl audit says the same, in the same words (after its own prefix)
if "$TRIALCTL" audit --genesis "$WORK/genesis.bin" "$WORK/tail.export" > "$WORK/c.tail"; then
    fail "trialctl audit exited 0 on an uncertified tail"
fi
[ "$(head -n 1 "$WORK/c.tail")" = "audit:${tail_line#independent verify:}" ] \
    || fail "trialctl audit's tail verdict line differs: $(head -n 1 "$WORK/c.tail")"

# ---- certified, but against the formats' rules: both verifiers refuse ----
# receipt 0 of block 3: status OK with error code 5 (5.4), its result certificate signed
# again by the validators; and block 5 with time 0 and txs (5.2), both certificates signed
# again. The certificates hold: only the rules refuse these.
$TAMPER ok-receipt-code "$WORK/ledger.export" "$K" 3 0 5 "$WORK/okcode.export" \
    || fail "tamper ok-receipt-code"
$TAMPER time-zero "$WORK/ledger.export" "$K" "$WORK/time0.export" || fail "tamper time-zero"
for x in okcode time0; do
    if $VERIFY "$WORK/genesis.bin" "$WORK/$x.export" > "$WORK/py.$x"; then
        cat "$WORK/py.$x"
        fail "the Python verifier accepted the $x export"
    fi
    cat "$WORK/py.$x"
    if "$TRIALCTL" audit --genesis "$WORK/genesis.bin" "$WORK/$x.export" > "$WORK/audit.$x"; then
        cat "$WORK/audit.$x"
        fail "trialctl audit accepted the $x export"
    fi
    cat "$WORK/audit.$x"
done
grep -q "FAILED at height 3: receipt: an OK receipt with an error code or a reason" \
    "$WORK/py.okcode" || fail "the Python verifier refused the okcode export for another reason"
grep -q "FAILED at height 3.*receipt.error_code (an OK receipt's is 0)" "$WORK/audit.okcode" \
    || fail "trialctl audit refused the okcode export for another reason"
grep -q "FAILED at height 5: batch_header.time_ms: 0 (a null batch's) in a batch with txs" \
    "$WORK/py.time0" || fail "the Python verifier refused the time0 export for another reason"
grep -q "FAILED at height 5.*batch_header.time_ms (0 is a null batch's, which has no txs)" \
    "$WORK/audit.time0" || fail "trialctl audit refused the time0 export for another reason"

echo "run.sh: OK (trialctl audit and the independent verifier agree)"
