#!/usr/bin/env bash
# test_valset_many.sh TRIALCTL TRIALNODE WORKDIR PORT - a trial that outlives its genesis by
# more validator-set changes than a PBFT core keeps at once (PBFT_SETS_MAX = 8 sets), on
# trialnode processes under a steady load:
#   1-4. validators 0, 1, 2 and 3 each rotate their key (n = 4, one change each);
#   5.   4 -> 7: three validators join (`trialctl init --join`);
#   6-8. the three newcomers rotate their keys;
#   9.   7 -> 4: they are removed again.
# Ten sets in all. Then validator 1 is killed and restarted: it must start from the eight
# newest sets (pbft_rebase; before, the newest were refused and the node could not follow),
# catch up, and the four ledgers must audit identical with the genesis alone; a receipt from
# after every change verifies with the genesis alone.
set -uo pipefail
T=$1; export TRIALNODE=$2; D=$3; PORT=$4
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/valset_lib.sh"

rm -rf "$D"
"$T" init --base-port "$PORT" "$D" >/dev/null || fail "init"
"$T" cluster up "$D" >/dev/null || fail "cluster up"
K=$D/keys
G=(--genesis "$D/genesis.bin")
start_load

# KEY[i]: the key file (without .key/.pub) validator i signs with now; MEMBERS: the set.
declare -A KEY
for i in $ALL; do KEY[$i]=$K/validator-$i; done
MEMBERS="0 1 2 3"
CHANGES=0

# change WHAT APPROVERS AUTHORS: the set of MEMBERS with their KEYs, approved by the
# current keys of APPROVERS (2f+1 of the set in force) and co-signed by AUTHORS (new keys);
# waits until node 3 is 4 heights past its boundary.
change() {
    local what=$1 args=() i out b
    for i in $MEMBERS; do args+=(--validator "validator-$i=${KEY[$i]}.pub"); done
    for i in $2; do args+=(--cosign approval="${CUR[$i]}.key"); done
    for i in $3; do args+=(--cosign author="${KEY[$i]}.key"); done
    out=$("$T" governance validators --url "$(url 3)" "${G[@]}" --key "$K/sponsor.key" \
        --cosign approval="$K/regulator.key" "${args[@]}" 2>&1) || fail "$what refused: $out"
    b=$(boundary "$(committed_at "$out")")
    CHANGES=$((CHANGES + 1))
    echo "ok: change $CHANGES ($what) committed at $(committed_at "$out"), in force from $b"
    wait_height 3 $((b + 4)) 90 "past the boundary of $what"
    for i in $MEMBERS; do CUR[$i]=${KEY[$i]}; done
}
declare -A CUR
for i in $ALL; do CUR[$i]=${KEY[$i]}; done

# rotate I APPROVERS: validator I's node gets next_key_file, every node the new key's address.
rotate() {
    local i=$1 new u j
    "$T" keygen "$K/validator-${i}b" >/dev/null || fail "keygen"
    new=$(grep -oE '[0-9a-f]{64}' "$K/validator-${i}b.pub" | head -n 1)
    u=$(jq -r .listen "$D/node-$i/config.json")
    for j in $ALL; do
        [ -f "$D/node-$j/config.json" ] || continue
        jq --arg k "$new" --arg u "$u" '.validators[$k] = $u' "$D/node-$j/config.json" > "$D/c.json" &&
            mv "$D/c.json" "$D/node-$j/config.json" || fail "address of the new key in node $j"
    done
    jq --arg f "../keys/validator-${i}b.key" '.next_key_file = $f' "$D/node-$i/config.json" > "$D/c.json" &&
        mv "$D/c.json" "$D/node-$i/config.json" || fail "next_key_file of node $i"
    KEY[$i]=$K/validator-${i}b
    change "rotation of validator $i" "$2" "$i"
}

rotate 0 "1 2 3"
rotate 1 "0 2 3"
rotate 2 "0 1 3"
rotate 3 "0 1 2"
for k in 4 5 6; do "$T" init --join "$D" >/dev/null || fail "init --join ($k)"; done
"$T" cluster up "$D" >/dev/null || fail "cluster up of the joined validators"
MEMBERS="0 1 2 3 4 5 6"
change "4 -> 7" "0 1 2" "4 5 6"
for i in 4 5 6; do wait_height $i "$(height 3)" 90 "joined validator $i caught up"; done
rotate 4 "0 1 2 3 5"
rotate 5 "0 1 2 3 4"
rotate 6 "0 1 2 3 4"
MEMBERS="0 1 2 3"
change "7 -> 4" "0 1 2 3 4" ""
[ "$CHANGES" = 9 ] || fail "$CHANGES changes, not 9"

# validator 1 restarted after nine changes (ten sets): it keeps the eight newest
kill9 1
h=$(height 3)
wait_height 3 $((h + 8)) 60 "validators 0, 2 and 3 committing with 1 killed"
"$T" cluster up "$D" >/dev/null || fail "restart of 1"
wait_height 1 "$(height 3)" 90 "validator 1 back after nine changes"
grep -q "9 validator-set changes recorded: the sets before height [0-9]* are dropped: ok" \
    "$D/node-1/node.log" || fail "validator 1 did not start from the eight newest sets"
refused=$(grep "validator set of" "$D/node-1/node.log" | grep -v ": scheduled$")
[ -z "$refused" ] || fail "validator 1 was refused a set: $refused"
echo "ok: validator 1 restarted after nine changes and caught up ($(grep -o 'the sets before height [0-9]*' "$D/node-1/node.log" | tail -n 1) dropped)"
h=$(height 3)
wait_height 1 $((h + 8)) 60 "validator 1 committing after its restart"

"$T" keygen "$D/late" >/dev/null
"$T" register --url "$(url 0)" "${G[@]}" --key "$K/sponsor.key" --trial TRIAL-AFTER-NINE \
    --doc "$(printf '%064d' 7)" --primary "$(printf '%064d' 1)" --planned 1 --site site-a \
    --form "$(printf '%064d' 8)" --receipt-out "$D/late.receipt" > "$D/late.out" 2>&1 ||
    fail "register after the changes: $(cat "$D/late.out")"
stop_load
"$T" verify-receipt "${G[@]}" "$D/late.receipt" > "$D/late.verify" 2>&1 ||
    fail "verify-receipt with the genesis alone: $(cat "$D/late.verify")"
echo "ok: a receipt after nine changes verified with the genesis alone"
agree "the last set after nine changes"
echo "test_valset_many: ok"
