#!/usr/bin/env bash
# test_valset.sh TRIALCTL TRIALNODE WORKDIR PORT - issue 23 items 4 and 6 end to end on
# trialnode processes under a steady load (`trialctl bench cluster --existing` through node 3,
# one run after another):
#   1. 4 -> 7: three validators join (`trialctl init --join`) and start as followers (no blocks
#      are served to them yet); `trialctl governance validators` adds them (they then catch up) (approved by 3 of the 4, each new key
#      co-signing); past the boundary, kill -9 validators 0 and 1: the remaining five (the
#      quorum of 7) commit only if all three new validators vote; restart 0 and 1.
#   2. rotate validator 2's key (its config gets next_key_file; every config the new key's
#      address); past the boundary the chain keeps committing.
#   3. 7 -> 4: validators 4, 5, 6 removed (approved by 5 of the 7, validator 2 with its new
#      key); past the boundary, kill -9 validator 1: validators 0, 2 and 3 (the quorum of 4)
#      commit only if validator 2 signs with its new key; restart 1.
# Then every node's ledger is exported and audited with the genesis alone (the four of the
# last set identical; the three removed ones verified up to where they stopped), one with
# --reexecute, and a receipt from after the changes is verified with the genesis alone.
# With a fifth argument "tls" the consortium runs over mutual TLS (`init --tls`): the joined
# validators get certificates of the consortium CA and are dialed over TLS (tp_add_peer).
set -uo pipefail
T=$1; export TRIALNODE=$2; D=$3; PORT=$4; MODE=${5:-plain}
. "$(dirname "$0")/lib.sh"
INIT=()
if [ "$MODE" = tls ]; then
    INIT=(--tls)
    url() { echo "tls+tcp://127.0.0.1:$((PORT + 100 + $1))"; }
    export TRIALREG_TLS_CA=$D/tls/ca.pem
fi
. "$(dirname "$0")/valset_lib.sh"

rm -rf "$D"
"$T" init "${INIT[@]}" --base-port "$PORT" "$D" >/dev/null || fail "init"
"$T" cluster up "$D" >/dev/null || fail "cluster up"
K=$D/keys
G=(--genesis "$D/genesis.bin")

start_load
echo "ok: 4 validators under load (height $(height 3))"

# ---- 1. 4 -> 7 ------------------------------------------------------------------------
for k in 4 5 6; do "$T" init --join "$D" >/dev/null || fail "init --join ($k)"; done
"$T" cluster up "$D" >/dev/null || fail "cluster up of the joined validators"
sleep 1
[ "$(height 6)" = 0 ] || fail "a joined validator fetched blocks before any change named its key"
SET=()
for i in 0 1 2 3 4 5 6; do SET+=(--validator "validator-$i=$K/validator-$i.pub"); done
out=$("$T" governance validators --url "$(url 3)" "${G[@]}" --key "$K/sponsor.key" \
    --cosign approval="$K/regulator.key" "${SET[@]}" \
    --cosign approval="$K/validator-0.key" --cosign approval="$K/validator-1.key" \
    --cosign approval="$K/validator-2.key" --cosign author="$K/validator-4.key" \
    --cosign author="$K/validator-5.key" --cosign author="$K/validator-6.key" 2>&1) ||
    fail "4 -> 7 refused: $out"
B=$(boundary "$(committed_at "$out")")
echo "ok: 4 -> 7 committed at $(committed_at "$out"), in force from $B"
wait_height 3 $((B + 4)) 90 "past the 4 -> 7 boundary"
for i in 4 5 6; do wait_height $i $((B + 4)) 90 "joined validator $i caught up past the boundary"; done
for i in 4 5 6; do
    grep -q "validator set of 7 from height $B .* index $i: scheduled" "$D/node-$i/node.log" ||
        fail "joined validator $i did not schedule its set"
done
kill9 0; kill9 1
h=$(height 3)
wait_height 3 $((h + 8)) 60 "five of seven (validators 2..6) committing with 0 and 1 killed"
echo "ok: with validators 0 and 1 killed, 2..6 committed $h -> $(height 3)"
"$T" cluster up "$D" >/dev/null || fail "restart of 0 and 1"
wait_height 0 "$(height 3)" 60 "validator 0 back"
wait_height 1 "$(height 3)" 60 "validator 1 back"
echo "ok: validators 0 and 1 restarted and caught up"

# ---- 2. rotate validator 2's key ------------------------------------------------------
"$T" keygen "$K/validator-2b" >/dev/null || fail "keygen"
NEW2=$(grep -oE '[0-9a-f]{64}' "$K/validator-2b.pub" | head -n 1)
URL2=$(jq -r .listen "$D/node-2/config.json")
for i in $ALL; do
    jq --arg k "$NEW2" --arg u "$URL2" '.validators[$k] = $u' "$D/node-$i/config.json" > "$D/c.json" &&
        mv "$D/c.json" "$D/node-$i/config.json" || fail "address of the new key in node $i"
done
jq '.next_key_file = "../keys/validator-2b.key"' "$D/node-2/config.json" > "$D/c.json" &&
    mv "$D/c.json" "$D/node-2/config.json" || fail "next_key_file"
SET=(--validator "validator-0=$K/validator-0.pub" --validator "validator-1=$K/validator-1.pub"
     --validator "validator-2=$K/validator-2b.pub" --validator "validator-3=$K/validator-3.pub"
     --validator "validator-4=$K/validator-4.pub" --validator "validator-5=$K/validator-5.pub"
     --validator "validator-6=$K/validator-6.pub")
APPROVE=()
for i in 0 1 3 4 5; do APPROVE+=(--cosign approval="$K/validator-$i.key"); done
out=$("$T" governance validators --url "$(url 3)" "${G[@]}" --key "$K/sponsor.key" \
    --cosign approval="$K/regulator.key" "${SET[@]}" "${APPROVE[@]}" \
    --cosign author="$K/validator-2b.key" 2>&1) || fail "rotation refused: $out"
B=$(boundary "$(committed_at "$out")")
echo "ok: validator 2's key rotated at $(committed_at "$out"), in force from $B"
wait_height 3 $((B + 4)) 90 "past the rotation's boundary"
grep -q "validator set of 7 from height $B .* index 2: scheduled" "$D/node-2/node.log" ||
    fail "validator 2 did not schedule itself with its new key"

# ---- 3. 7 -> 4 ------------------------------------------------------------------------
SET=(--validator "validator-0=$K/validator-0.pub" --validator "validator-1=$K/validator-1.pub"
     --validator "validator-2=$K/validator-2b.pub" --validator "validator-3=$K/validator-3.pub")
APPROVE=()
for i in 0 1 3 4; do APPROVE+=(--cosign approval="$K/validator-$i.key"); done
out=$("$T" governance validators --url "$(url 3)" "${G[@]}" --key "$K/sponsor.key" \
    --cosign approval="$K/regulator.key" "${SET[@]}" "${APPROVE[@]}" \
    --cosign approval="$K/validator-2b.key" 2>&1) || fail "7 -> 4 refused: $out"
B=$(boundary "$(committed_at "$out")")
echo "ok: 7 -> 4 committed at $(committed_at "$out"), in force from $B"
wait_height 3 $((B + 4)) 90 "past the 7 -> 4 boundary"
for i in 4 5 6; do
    grep -q "validator set of 4 from height $B .* not a member: scheduled" "$D/node-$i/node.log" ||
        fail "removed validator $i did not learn its removal"
done
kill9 1
h=$(height 3)
wait_height 3 $((h + 8)) 60 "validators 0, 2 (new key) and 3 committing with 1 killed"
echo "ok: with validator 1 killed, 0, 2 and 3 committed $h -> $(height 3): validator 2 signs with its new key"
"$T" cluster up "$D" >/dev/null || fail "restart of 1"
wait_height 1 "$(height 3)" 60 "validator 1 back"

# a receipt from after every change, then the load stops
"$T" keygen "$D/late" >/dev/null
"$T" register --url "$(url 0)" "${G[@]}" --key "$K/sponsor.key" --trial TRIAL-AFTER-VALSET \
    --doc "$(printf '%064d' 7)" --primary "$(printf '%064d' 1)" --planned 1 --site site-a \
    --form "$(printf '%064d' 8)" --receipt-out "$D/late.receipt" > "$D/late.out" 2>&1 ||
    fail "register after the changes: $(cat "$D/late.out")"
stop_load
read -r runs failed < "$D/load.result"
echo "ok: load: $runs runs, $failed failed (kills make some runs time out)"
"$T" verify-receipt "${G[@]}" "$D/late.receipt" > "$D/late.verify" 2>&1 ||
    fail "verify-receipt with the genesis alone: $(cat "$D/late.verify")"
echo "ok: a receipt of height $(committed_at "$(cat "$D/late.out")") verified with the genesis alone"

# Validator 1, restarted last, caught up by fetching after the load stopped: its export
# (certified blocks only) must reach the same head as the others' (issue 23: it once
# stopped where it restarted, its fetched result certificates dropped).
agree "the last set (0, 1, 2 with its new key, 3)"
"$T" audit --reexecute "${G[@]}" "$D/n0.export" > "$D/n0.reexec" 2>&1 ||
    fail "audit --reexecute: $(tail -n 3 "$D/n0.reexec")"
echo "ok: node 0's ledger re-executed from the genesis alone"
for i in 4 5 6; do
    "$T" export "${G[@]}" --url "$(url $i)" --key "$K/regulator.key" -o "$D/n$i.export" >/dev/null ||
        fail "export of removed node $i"
    "$T" audit "${G[@]}" "$D/n$i.export" > "$D/n$i.audit" 2>&1 ||
        fail "audit of removed node $i: $(cat "$D/n$i.audit")"
    echo "ok: removed validator $i: $(head -n 1 "$D/n$i.audit")"
done
echo "test_valset: ok"
