#!/usr/bin/env bash
# test_cli.sh TRIALCTL [VERSION] - trialctl as a user runs it: the ledger workflow, and a
# clear error with the documented exit code (never a crash) for bad input.
set -u
T=$(realpath "${1:?usage: test_cli.sh TRIALCTL [VERSION]}")
# the CMake project version, as a pattern
if [ -n "${2:-}" ]; then VERSION_RE=${2//./\\.}; else VERSION_RE='[0-9]+\.[0-9]+\.[0-9]+'; fi
HERE=$(dirname "$(realpath "$0")")
W=$(mktemp -d /tmp/trialreg-cli-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
pass=0
fail=0

# expect CODE PATTERN -- CMD...: exit code CODE and PATTERN in stdout+stderr.
expect() {
    local want=$1 pattern=$2
    shift 3
    local out rc
    out=$("$@" 2>&1)
    rc=$?
    LAST_OUT=$out
    if [ "$rc" -ge 128 ]; then
        echo "CRASH ($rc): $*"; echo "$out" | head -5; fail=$((fail + 1)); return
    fi
    if [ "$rc" -ne "$want" ] || ! grep -qE -- "$pattern" <<<"$out"; then
        echo "FAIL: $* -> exit $rc (want $want), output:"; echo "$out" | head -5
        fail=$((fail + 1)); return
    fi
    pass=$((pass + 1))
}

# no_ok CMD...: the command's output has no "audit OK" (an uncertified tail never is)
no_ok() {
    if "$@" 2>&1 | grep -q "audit OK"; then echo "FAIL: 'audit OK' from $*"; fail=$((fail + 1)); else pass=$((pass + 1)); fi
}

mkdir keys
for k in v0 v1 v2 v3 sponsor inv-a inv-b regulator; do
    expect 0 "public key" -- "$T" keygen keys/$k
done
expect 3 "already exists" -- "$T" keygen keys/v0
G=(--validator keys/v0.pub --validator keys/v1.pub --validator keys/v2.pub --validator keys/v3.pub
   --authority sponsor=keys/sponsor.pub --authority investigator@site-a=keys/inv-a.pub
   --authority investigator@site-b=keys/inv-b.pub --authority regulator=keys/regulator.pub)
expect 0 "chain id" -- "$T" genesis -o genesis.bin --chain-name cli-test "${G[@]}"
expect 0 "height 6, 48 txs" -- "$T" sample --genesis genesis.bin --keys keys --data data --blocks 6 --txs 8
SAMPLE_OUT=$LAST_OUT
expect 0 "audit OK: 6 blocks, 48 txs" -- "$T" audit --genesis genesis.bin data
expect 0 "exported 6 blocks" -- "$T" export --genesis genesis.bin --data data -o ledger.trl
expect 0 "audit OK: 6 blocks, 48 txs" -- "$T" audit --genesis genesis.bin --threads 1 ledger.trl
expect 0 "wrote c.proof" -- "$T" proof --genesis genesis.bin --data data --from 2 --to 6 -o c.proof
expect 0 "proof OK" -- "$T" verify-proof --genesis genesis.bin c.proof

# An uncertified tail (issue 18 item 2): blocks after the last result certificate carry
# receipts and state writes no quorum signed. The verdict names heights 1..H as certified
# and verified and H+1..N as NOT verified, never OK; exit 1 unless --allow-uncertified-tail.
TAIL_LINE='^audit: heights 1\.\.3 certified and verified; heights 4\.\.5 have no result certificate: NOT verified$'
expect 0 "height 5, 20 txs" -- "$T" sample --genesis genesis.bin --keys keys --data tail --blocks 5 --txs 4 --uncertified 2
last_tx=$(grep -o '^last tx id [0-9a-f]*' <<<"$LAST_OUT" | cut -d' ' -f4)
expect 1 "$TAIL_LINE" -- "$T" audit --genesis genesis.bin tail
no_ok "$T" audit --genesis genesis.bin tail
expect 0 "$TAIL_LINE" -- "$T" audit --genesis genesis.bin --allow-uncertified-tail tail
no_ok "$T" audit --genesis genesis.bin --allow-uncertified-tail tail
expect 1 '"verdict": "uncertified_tail"' -- "$T" audit --genesis genesis.bin --json tail
json_field() { /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
[ "$(json_field 'd["certified_height"], d["uncertified_from"], d["uncertified_to"], d["blocks"]' <<<"$LAST_OUT")" = "(3, 4, 5, 5)" ] \
    && pass=$((pass + 1)) || { echo "FAIL: audit --json of the tail: $LAST_OUT"; fail=$((fail + 1)); }
expect 0 '"certified_height": 6' -- "$T" audit --genesis genesis.bin --json data
[ "$(json_field 'd["verdict"], d["uncertified_from"], d["failure"], d["head"]["height"]' <<<"$LAST_OUT")" = "('ok', None, None, 6)" ] \
    && pass=$((pass + 1)) || { echo "FAIL: audit --json of a certified ledger: $LAST_OUT"; fail=$((fail + 1)); }
# export stops at the certified height and says what it left out; --include-uncertified
expect 0 "left out 2 blocks \(heights 4\.\.5\)" -- "$T" export --genesis genesis.bin --data tail -o tail-cert.trl
expect 0 "audit OK: 3 blocks, 12 txs" -- "$T" audit --genesis genesis.bin tail-cert.trl
expect 0 "exported 5 blocks" -- "$T" export --genesis genesis.bin --data tail --include-uncertified -o tail-all.trl
expect 1 "$TAIL_LINE" -- "$T" audit --genesis genesis.bin tail-all.trl
# a rewritten receipt in the tail (the last tx's OK receipt made REFUSED, code 101): nothing
# signs it, so the audit cannot catch it, and the verdict must not call it OK. The same
# rewrite in a certified block fails at its height.
rewrite_receipt() { # EXPORT TXID OUT: status 0, code 0 -> status 1, code 101 in TXID's receipt
    /usr/bin/python3 - "$@" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
old = b"\xc4\x20" + bytes.fromhex(sys.argv[2]) + b"\x00\x00\xa0\x00\x90"
assert data.count(old) == 1, "the receipt is not in the export once"
open(sys.argv[3], "wb").write(data.replace(old, old[:34] + b"\x01\x65" + old[36:]))
PY
}
rewrite_receipt tail-all.trl "$last_tx" tail-forged.trl && pass=$((pass + 1)) || { echo "FAIL: rewrite the tail receipt"; fail=$((fail + 1)); }
expect 1 "$TAIL_LINE" -- "$T" audit --genesis genesis.bin tail-forged.trl
no_ok "$T" audit --genesis genesis.bin tail-forged.trl
expect 0 "$TAIL_LINE" -- "$T" audit --genesis genesis.bin --allow-uncertified-tail tail-forged.trl
no_ok "$T" audit --genesis genesis.bin --allow-uncertified-tail tail-forged.trl
expect 0 "exported 6 blocks" -- "$T" export --genesis genesis.bin --data data -o certified.trl
data_tx=$(grep -o '^last tx id [0-9a-f]*' <<<"$SAMPLE_OUT" | cut -d' ' -f4)
rewrite_receipt certified.trl "$data_tx" certified-forged.trl && pass=$((pass + 1)) || { echo "FAIL: rewrite a certified receipt"; fail=$((fail + 1)); }
expect 1 "audit FAILED at height 6: receipts root differs from the result certificate" -- "$T" audit --genesis genesis.bin certified-forged.trl
# --reexecute (issue 18 item 3): the example trial (run by the contracts) replays the same;
# the sample ledger's receipts are made up (sample.h: OK, no gas, one write per tx, never
# executed), so it passes the plain audit and fails re-execution at its first tx
expect 0 "timeline of TRIAL-CARDIO-01" -- "$T" example-trial ex
expect 0 "re-executed [0-9]+ blocks from the genesis: every receipt, state write and state hash is the same" -- "$T" audit --genesis ex/genesis.bin --reexecute ex/ledger
expect 0 '"reexecuted_blocks": [0-9]+' -- "$T" audit --genesis ex/genesis.bin --reexecute --json ex/ledger
expect 1 "audit FAILED at height 1, tx 0: re-execution differs: receipt status: the ledger says OK 0, re-execution gives" -- "$T" audit --genesis genesis.bin --reexecute ledger.trl
expect 0 "audit OK: 6 blocks" -- "$T" audit --genesis genesis.bin ledger.trl
left=$(ls "${TMPDIR:-/tmp}" | grep -c '^trialreg-reexecute-' || true)
[ "$left" = 0 ] && pass=$((pass + 1)) || { echo "FAIL: $left re-execution scratch directories left behind"; fail=$((fail + 1)); }
expect 3 "does not exist" -- "$T" audit --genesis genesis.bin --allow-uncertified-tail nowhere
expect 2 "usage: trialctl audit" -- "$T" audit --genesis genesis.bin --bogus tail
expect 2 "--uncertified 3 is more than --blocks 2" -- "$T" sample --genesis genesis.bin --keys keys --data tail --blocks 2 --uncertified 3
expect 4 "only more uncertified blocks can follow" -- "$T" sample --genesis genesis.bin --keys keys --data tail --blocks 1

# the progress bar (issue 18 item 5): on a terminal (script(1) gives the audit a pty) for an
# audit longer than a second: blocks of the total, txs/s, signatures/s and the time left,
# cleared before the verdict; nothing of it when stderr is not a terminal, or with --quiet
expect 0 "height 400" -- "$T" sample --genesis genesis.bin --keys keys --data big --blocks 400 --txs 100
BAR='audit: [0-9]+/400 blocks +[0-9]+%, [0-9]+ txs/s, [0-9]+ signatures/s, ETA [0-9]+:[0-9]{2}'
expect 0 "$BAR" -- script -qec "'$T' audit --genesis genesis.bin --threads 1 big" /dev/null
grep -q $'\r\e\\[Kaudit OK: 400 blocks' <<<"$LAST_OUT" && pass=$((pass + 1)) || { echo "FAIL: the bar is not cleared before the verdict"; fail=$((fail + 1)); }
expect 0 "audit OK: 400 blocks" -- script -qec "'$T' audit --genesis genesis.bin --threads 1 --quiet big" /dev/null
grep -qE "$BAR|signatures/s|ETA" <<<"$LAST_OUT" && { echo "FAIL: a bar with --quiet"; fail=$((fail + 1)); } || pass=$((pass + 1))
"$T" audit --genesis genesis.bin --threads 1 big >bar.out 2>bar.err
[ ! -s bar.err ] && grep -q "audit OK: 400 blocks" bar.out && pass=$((pass + 1)) || { echo "FAIL: stderr not a terminal: $(head -c 300 bar.err)"; fail=$((fail + 1)); }

# --help everywhere, usage errors
for c in keygen genesis sample export audit proof verify-proof asm disasm vm-run; do
    expect 0 "usage: trialctl $c" -- "$T" $c --help
done
expect 0 "usage: trialctl bench ledger" -- "$T" bench ledger --help
expect 0 "COMMAND" -- "$T" --help
# --version: one line, "trialctl X.Y.Z" (the project version), on both binaries
expect 0 "^trialctl $VERSION_RE\$" -- "$T" --version
expect 0 "^trialnode $VERSION_RE\$" -- "$(dirname "$T")/trialnode" --version
[ "$("$T" --version | wc -l)" = 1 ] && pass=$((pass + 1)) || { echo "FAIL: trialctl --version is not one line"; fail=$((fail + 1)); }
expect 2 "unknown command 'frobnicate'" -- "$T" frobnicate
expect 2 "usage" -- "$T"
expect 2 "--blocks wants a whole number" -- "$T" sample --genesis genesis.bin --keys keys --data data --blocks -3
expect 2 "--genesis FILE is required" -- "$T" audit data
expect 2 "need n = 3f\+1" -- "$T" genesis -o g3.bin --chain-name x --validator keys/v0.pub --validator keys/v1.pub --validator keys/v2.pub
# FORMATS.md 2: n = 4, 7, 10, 13 or 16 (what PBFT runs); 17 and more are refused
mkdir many
V17=(--authority sponsor=keys/sponsor.pub --authority regulator=keys/regulator.pub)
for i in $(seq 0 16); do "$T" keygen many/x$i > /dev/null; V17+=(--validator many/x$i.pub); done
expect 0 "chain id" -- "$T" genesis -o g16.bin --chain-name x "${V17[@]:0:36}"
expect 2 "at most 16 validators \(n = 3f\+1: 4, 7, 10, 13 or 16\)" -- "$T" genesis -o g17.bin --chain-name x "${V17[@]}"
[ ! -e g17.bin ] && pass=$((pass + 1)) || { echo "FAIL: a genesis of 17 validators was written"; fail=$((fail + 1)); }
expect 2 "--validators" -- "$T" init --validators 19 c19
expect 2 "need n = 3f\+1 validators \(4, 7, 10, 13 or 16\), got 5" -- "$T" genesis -o g5.bin --chain-name x "${V17[@]:0:14}"
expect 2 "role must be" -- "$T" genesis -o g.bin --chain-name x "${G[@]}" --authority wizard=keys/v0.pub
expect 2 "role must be" -- "$T" genesis -o g.bin --chain-name x "${G[@]}" --authority investigator=keys/v0.pub
expect 2 "--tx wants 64 hex" -- "$T" proof --genesis genesis.bin --data data --tx zz -o p.proof

# bad files
expect 3 "cannot open missing.bin" -- "$T" audit --genesis missing.bin data
head -c 100 /dev/urandom > garbage.bin
expect 3 "not a valid genesis: .*at byte" -- "$T" audit --genesis garbage.bin data
head -c 40 genesis.bin > truncated.bin
expect 3 "not a valid genesis: .*input ends" -- "$T" audit --genesis truncated.bin data
cp genesis.bin trailing.bin; printf 'x' >> trailing.bin
expect 3 "not a valid genesis: end: trailing bytes" -- "$T" audit --genesis trailing.bin data
expect 3 "not a trialreg ledger export" -- "$T" audit --genesis genesis.bin garbage.bin
expect 3 "does not exist" -- "$T" audit --genesis genesis.bin nowhere
mkdir empty
expect 3 "there is no ledger in empty" -- "$T" audit --genesis genesis.bin empty
expect 3 "there is no ledger in empty" -- "$T" export --genesis genesis.bin --data empty -o e.trl
[ -z "$(ls empty)" ] && pass=$((pass + 1)) || { echo "FAIL: a reader created files in empty/"; fail=$((fail + 1)); }
cp ledger.trl cut.trl; truncate -s -100 cut.trl
expect 1 "audit FAILED at height 6" -- "$T" audit --genesis genesis.bin cut.trl
cp ledger.trl flipped.trl
size=$(stat -c %s flipped.trl)
printf '\xff' | dd of=flipped.trl bs=1 seek=$((size / 2)) conv=notrunc status=none
expect 1 "audit FAILED at height [1-6]" -- "$T" audit --genesis genesis.bin flipped.trl
expect 1 "proof INVALID" -- "$T" verify-proof --genesis genesis.bin garbage.bin
cp c.proof bad.proof; printf '\x00' | dd of=bad.proof bs=1 seek=200 conv=notrunc status=none
expect 1 "proof INVALID" -- "$T" verify-proof --genesis genesis.bin bad.proof
expect 1 "tx is not in the ledger" -- "$T" proof --genesis genesis.bin --data data --tx "$(printf 'ab%.0s' {1..32})" -o p.proof
# a ledger of another chain
mkdir keys2; for k in w0 w1 w2 w3 sp rg; do "$T" keygen keys2/$k >/dev/null; done
W2=(--validator keys2/w0.pub --validator keys2/w1.pub --validator keys2/w2.pub --validator keys2/w3.pub)
# the default governance needs a sponsor and a regulator key: without them, refused by name
expect 2 "genesis.governance\[0\].roles\[\].count" -- "$T" genesis -o other.bin --chain-name other "${W2[@]}"
expect 0 "chain id" -- "$T" genesis -o other.bin --chain-name other "${W2[@]}" --authority sponsor=keys2/sp.pub --authority regulator=keys2/rg.pub
expect 1 "another chain" -- "$T" audit --genesis other.bin ledger.trl
expect 3 "another genesis" -- "$T" export --genesis other.bin --data data -o x.trl
# an unsafe secret key file
chmod 644 keys/v1.key
expect 3 "no secret key in keys for validator v1" -- "$T" sample --genesis genesis.bin --keys keys --data data --blocks 1
chmod 600 keys/v1.key
# a damaged database file: an error, never a crash, and the export stays good
for f in data/*.ldb data/*.log; do
    [ -f "$f" ] || continue
    cp -r data damaged
    fs=$(stat -c %s "$f")
    [ "$fs" -gt 64 ] || { rm -rf damaged; continue; }
    printf '\xde\xad' | dd of="damaged/$(basename "$f")" bs=1 seek=$((fs / 2)) conv=notrunc status=none
    out=$("$T" audit --genesis genesis.bin damaged 2>&1); rc=$?
    if [ $rc -ge 128 ]; then echo "CRASH on damaged $f"; fail=$((fail + 1)); else pass=$((pass + 1)); fi
    rm -rf damaged
done
expect 0 "audit OK" -- "$T" audit --genesis genesis.bin ledger.trl

# the chain's rules (issue 16): shown, bounded by name, version 1 upgraded
expect 0 "clock_skew_ms +2000" -- "$T" genesis show genesis.bin
expect 0 "deploy +sponsor x1 \+ regulator x1" -- "$T" genesis show genesis.bin
expect 2 "genesis.rules.clock_skew_ms: integer out of range" -- "$T" genesis -o g.bin --chain-name x "${G[@]}" --clock-skew-ms 3600000
expect 2 "genesis.rules.tx_gas_limit \(above block_gas_limit\)" -- "$T" genesis -o g.bin --chain-name x "${G[@]}" --tx-gas-limit 10 --block-gas-limit 9
expect 2 "genesis.rules.block_bytes_max" -- "$T" genesis -o g.bin --chain-name x "${G[@]}" --block-bytes-max 8388608
expect 2 "genesis.rules.valid_for_max_ms" -- "$T" genesis -o g.bin --chain-name x "${G[@]}" --valid-for-max-ms 1000
expect 2 "genesis.rules.vm_call_depth" -- "$T" genesis -o g.bin --chain-name x "${G[@]}" --vm-call-depth 100000
expect 2 "--max-batch-txs" -- "$T" genesis -o g.bin --chain-name x "${G[@]}" --max-batch-txs 0
expect 0 "max_batch_txs +16" -- sh -c "'$T' genesis -o g16.bin --chain-name x ${G[*]} --max-batch-txs 16 && '$T' genesis show g16.bin"
"$T" keygen keys/auditor >/dev/null
expect 0 "auditor +auditor .*signs no tx" -- sh -c "'$T' genesis -o ga.bin --chain-name x ${G[*]} --authority auditor=keys/auditor.pub && '$T' genesis show ga.bin"
# version 1 and 2 genesis files (as trialctl wrote them before): refused by name, converted
# by upgrade
/usr/bin/python3 - genesis.bin v1.bin v2.bin <<'PY'
import sys, msgpack
g = msgpack.unpackb(open(sys.argv[1], "rb").read(), raw=False)
r = g[3]
v1 = [1, g[1], g[2], [r[8], 64, r[12], r[13]], g[4], g[5], g[6]]
open(sys.argv[2], "wb").write(msgpack.packb(v1, use_bin_type=True))
v2 = [2, g[1], g[2], r[:14], g[4], g[5], g[6], g[7][:4]]
open(sys.argv[3], "wb").write(msgpack.packb(v2, use_bin_type=True))
PY
expect 3 "genesis.version: a version 1 or 2 genesis is no longer accepted: convert it with .trialctl genesis upgrade" -- "$T" audit --genesis v1.bin data
expect 3 "genesis.version: a version 1 or 2 genesis is no longer accepted" -- "$T" audit --genesis v2.bin data
expect 0 "version 3 genesis of a NEW chain" -- "$T" genesis upgrade v2.bin up-from-v2.bin
cmp -s up-from-v2.bin genesis.bin && pass=$((pass + 1)) || { echo "FAIL: upgrade of genesis.bin's v2 form differs"; fail=$((fail + 1)); }
expect 0 "rebind_delay_ms +259200000" -- "$T" genesis show genesis.bin
expect 0 "regulators +regulator x1" -- "$T" genesis show genesis.bin
expect 2 "genesis.rules.rebind_delay_ms" -- "$T" genesis -o g.bin --chain-name x "${G[@]}" --rebind-delay-ms 7776000001
expect 2 "usage: trialctl genesis" -- "$T" genesis upgrade v1.bin
expect 3 "not a version 1 or 2 genesis" -- "$T" genesis upgrade genesis.bin up.bin
expect 2 "genesis.rules.clock_skew_ms" -- "$T" genesis upgrade v1.bin up.bin --clock-skew-ms 3600000
expect 0 "NEW chain \(the chain id changed\)" -- "$T" genesis upgrade v1.bin up.bin
expect 0 "valid_for_max_ms +3600000" -- "$T" genesis show up.bin
# genesis.bin has the default rules, so the upgrade of its version 1 form gives its very bytes
cmp -s up.bin genesis.bin && pass=$((pass + 1)) || { echo "FAIL: upgrade of genesis.bin's v1 form differs"; fail=$((fail + 1)); }
expect 0 "audit OK: 6 blocks" -- "$T" audit --genesis up.bin data
expect 0 "NEW chain" -- "$T" genesis upgrade v1.bin up2.bin --clock-skew-ms 3000
expect 3 "another genesis" -- "$T" export --genesis up2.bin --data data -o x.trl

# a local consortium
expect 0 "consortium of 4 validators" -- "$T" init cons
expect 3 "already holds a consortium" -- "$T" init cons
expect 2 "3f\+1" -- "$T" init --validators 5 cons5
# a validator joining later (issue 23): its key, its config without a genesis index, its
# address in every node's config; a second join knows the first; --join takes only --host
expect 0 "validator-4: key [0-9a-f]{64}" -- "$T" init --join cons
K4=$(awk '/validator-4: key/ {print $3}' <<<"$LAST_OUT")
grep -q '"node"' cons/node-4/config.json && { echo "FAIL: a joined node has a genesis index"; fail=$((fail + 1)); } || pass=$((pass + 1))
for i in 0 1 2 3 4; do
    grep -q "\"$K4\": \"tcp://127.0.0.1:7104\"" cons/node-$i/config.json && pass=$((pass + 1)) || { echo "FAIL: node-$i lacks validator-4's address"; fail=$((fail + 1)); }
done
[ "$(stat -c %a cons/keys/validator-4.key)" = 600 ] && pass=$((pass + 1)) || { echo "FAIL: key mode"; fail=$((fail + 1)); }
# node 0 rotating its key (next_key_file) must not hand its new key to the next newcomer
jq '.next_key_file = "../keys/validator-0b.key"' cons/node-0/config.json > cons/c.json && mv cons/c.json cons/node-0/config.json
expect 0 "validator-5: key" -- "$T" init --join cons
grep -q "\"$K4\"" cons/node-5/config.json && pass=$((pass + 1)) || { echo "FAIL: node-5 lacks validator-4"; fail=$((fail + 1)); }
grep -q next_key_file cons/node-5/config.json && { echo "FAIL: node-5 took node 0's next_key_file"; fail=$((fail + 1)); } || pass=$((pass + 1))
expect 2 "--join takes only --host" -- "$T" init --join --validators 7 cons
expect 3 "not a consortium trialctl init wrote" -- "$T" init --join nowhere
[ "$(stat -c %a cons/keys/validator-0.key)" = 600 ] && pass=$((pass + 1)) || { echo "FAIL: key mode"; fail=$((fail + 1)); }
grep -q '"genesis_file": "../genesis.bin"' cons/node-3/config.json && pass=$((pass + 1)) || { echo "FAIL: node config"; fail=$((fail + 1)); }
expect 0 "height 2" -- "$T" sample --genesis cons/genesis.bin --keys cons/keys --data cons/node-0/data --blocks 2 --txs 3
expect 0 "audit OK: 2 blocks" -- "$T" audit --genesis cons/genesis.bin cons/node-0/data
expect 0 "consortium of 4 validators" -- "$T" init --auditor keys/auditor.pub --max-batch-txs 32 --clock-skew-ms 1500 cons2
expect 0 "auditor +auditor" -- "$T" genesis show cons2/genesis.bin
expect 0 "max_batch_txs +32" -- "$T" genesis show cons2/genesis.bin
expect 2 "genesis.rules.clock_skew_ms" -- "$T" init --clock-skew-ms 3600000 cons3
expect 3 "--auditor nope.pub" -- "$T" init --auditor nope.pub cons3

# consent-vm tools
M=$HERE/../vm/modules
expect 0 "" -- "$T" asm "$M/consent.s" -o consent.cvm
expect 0 "" -- "$T" disasm consent.cvm -o consent2.s
expect 0 "" -- "$T" asm consent2.s -o consent3.cvm
cmp -s consent.cvm consent3.cvm && pass=$((pass + 1)) || { echo "FAIL: disasm/asm round trip"; fail=$((fail + 1)); }
printf 'str:consent:alice hex:00000000000000060000000000002710\n' > state.txt
expect 0 "result: int 1" -- "$T" vm-run consent.cvm check --arg str:alice --arg int:1 --time 5000 --state-in state.txt
expect 0 "result: int 0" -- "$T" vm-run consent.cvm check --arg str:alice --arg int:0 --time 5000 --state-in state.txt
expect 2 "no exported method 'nosuch'" -- "$T" vm-run consent.cvm nosuch
cp garbage.bin garbage.cvm
expect 3 "not a consent-vm module" -- "$T" vm-run garbage.cvm check
printf '.func f 0 1 export\n    bogus r0\n' > bad.s
expect 3 "line 2" -- "$T" asm bad.s -o bad.cvm

# node commands: bad command lines and inputs, no node needed
expect 2 "usage: trialctl query" -- "$T" query
expect 2 "usage: trialctl query" -- "$T" query trial --url tcp://127.0.0.1:1
expect 2 "usage: trialctl query" -- "$T" query consent --url tcp://127.0.0.1:1 --key k --genesis genesis.bin --trial T
expect 3 "no-such.key" -- "$T" query trial --url tcp://127.0.0.1:1 --key no-such.key --genesis genesis.bin --trial T
expect 2 "usage: trialctl cluster" -- "$T" cluster sideways .
expect 3 "no node-0/config.json" -- "$T" cluster status .
expect 2 "--txs" -- "$T" bench cluster --txs 0
expect 2 "usage: trialnode" -- "$(dirname "$T")/trialnode"
# governance add|revoke|rotate (issue 23 item 1): usage errors exit 2 with the reason, no node
GC=(--url tcp://127.0.0.1:1 --genesis genesis.bin --key keys/v0.key)
expect 2 "usage: trialctl governance deploy|add|revoke|rotate" -- "$T" governance frob
expect 2 "--role janitor: sponsor, investigator, regulator or researcher" -- "$T" governance add "${GC[@]}" --role janitor --name n --new-key keys/v1.key
expect 2 "--name is required" -- "$T" governance add "${GC[@]}" --role researcher --new-key keys/v1.key
expect 2 "--site is required to add an investigator" -- "$T" governance add "${GC[@]}" --role investigator --name n --new-key keys/v1.key
expect 2 "only an investigator has a site" -- "$T" governance add "${GC[@]}" --role researcher --site s --name n --new-key keys/v1.key
expect 2 "unknown option --target" -- "$T" governance add "${GC[@]}" --role researcher --name n --new-key keys/v1.key --target keys/v2.pub
expect 2 "--target is required" -- "$T" governance revoke "${GC[@]}" --role researcher
expect 2 "unknown option --new-key" -- "$T" governance revoke "${GC[@]}" --role researcher --target keys/v2.pub --new-key keys/v1.key
expect 2 "--new-key FILE is required" -- "$T" governance rotate "${GC[@]}" --role researcher --target keys/v2.pub
expect 2 "--site must be 1..32 bytes" -- "$T" governance add "${GC[@]}" --role investigator --site site-with-a-code-of-thirty-three3 --name n --new-key keys/v1.key
expect 3 "no-such.key" -- "$T" governance add "${GC[@]}" --role researcher --name n --new-key no-such.key
expect 2 "usage: trialctl add-site" -- "$T" add-site "${GC[@]}" --trial T
expect 3 "trialnode: " -- "$(dirname "$T")/trialnode" --config garbage.bin

# issue 14, smaller items: exit codes as documented (README: 2 bad command line, 3 bad or
# missing input file), no empty chain name, no raw binary echoed to the terminal
expect 3 "/nonexistent/genesis.bin" -- "$T" bench cluster --existing /nonexistent --url tcp://127.0.0.1:1
expect 2 "notaurl: not a node URL" -- "$T" bench cluster --existing . --url notaurl
expect 2 "1 to 65535" -- "$T" bench cluster --existing . --url tcp://127.0.0.1:70000
expect 2 "usage: trialctl bench cluster" -- "$T" bench cluster --ab --existing . --url tcp://127.0.0.1:1
expect 0 "--ab" -- "$T" bench cluster --help
expect 2 "chain-name must not be empty" -- "$T" init --chain-name "" empty-name
# TLS host names: bad --host values and --http-bind without TLS are refused, nothing written
expect 2 '--host "" is empty' -- "$T" init --tls --host "" hosts
expect 2 '--host "a b" holds a character' -- "$T" init --tls --host "a b" hosts
expect 2 '--host "a,DNS:b" holds a character' -- "$T" init --tls --host "a,DNS:b" hosts
expect 2 "give --tls too" -- "$T" init --host trial.example hosts
expect 2 "not a loopback address" -- "$T" init --http-bind 0.0.0.0 hosts
expect 2 "not an IPv4 address" -- "$T" init --tls --http-bind trial.example hosts
[ ! -e hosts ] || { echo "FAIL: a refused init left hosts/ behind"; fail=$((fail + 1)); }
expect 0 "check that the certificate names the host" -- "$T" init --help
printf '\x01\x02\xff\xfe\x1b[31mHELLO\n' > binary.s
expect 3 "cannot parse" -- "$T" asm binary.s -o binary.cvm
if "$T" asm binary.s -o binary.cvm 2>&1 | LC_ALL=C grep -q '[^[:print:][:space:]]'; then
    echo "FAIL: asm echoes raw binary input in its error"; fail=$((fail + 1))
else
    pass=$((pass + 1))
fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
