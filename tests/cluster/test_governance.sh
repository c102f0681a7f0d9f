#!/usr/bin/env bash
# test_governance.sh TRIALCTL TRIALNODE OUTDIR BASE_PORT - issue 23 item 1 as a user runs it
# with trialctl against a 4-validator consortium: a small trial at site-a, then
#   1. add a researcher (sponsor + regulator approval + the new key's co-signature), who
#      then asks for data access;
#   2. rotate site-a's investigator key: the old key's anchor is refused, the new key's
#      goes through;
#   3. revoke the new key: its anchor and its reads are refused with the height;
#   4. a change without the regulator's approval is refused, naming the requirement;
#   5. the regulator's timeline shows every change in words;
#   6. every node's ledger exported and audited with the genesis alone, identical.
set -uo pipefail
T=$(realpath "$1"); export TRIALNODE=$(realpath "$2"); OUT=$3; PORT=$4
D=$OUT/consortium; W=$OUT/keys; TRIAL=GOV-TRIAL-1
source "$(dirname "$0")/lib.sh"
rm -rf "$OUT"; mkdir -p "$W"
"$T" init --validators 4 --base-port "$PORT" "$D" >/dev/null || fail "init"
trap '"$T" cluster down "$D" >/dev/null 2>&1 || true' EXIT
"$T" cluster up "$D" >/dev/null || fail "cluster up"
K=$D/keys
C=(--url "$(url 0)" --genesis "$D/genesis.bin")
hash() { printf '%s' "$1" | sha256sum | cut -c1-64; }
run() { local what=$1; shift; "$T" "$@" > "$OUT/last.out" 2>&1 || fail "$what: $(cat "$OUT/last.out")"; }
refused() { # WHAT TEXT CMD...: exit 1 and the output names TEXT
    local what=$1 text=$2; shift 2
    "$@" > "$OUT/last.out" 2>&1; local rc=$?
    [ "$rc" = 1 ] || fail "$what: exit $rc, wanted 1 (refused): $(cat "$OUT/last.out")"
    grep -q "$text" "$OUT/last.out" || fail "$what: the refusal does not say '$text': $(cat "$OUT/last.out")"
    echo "ok: $what refused ($(grep -m1 -o "$text.*" "$OUT/last.out" | cut -c1-100))"
}
(cd "$W" && for k in participant researcher-2 researcher-3 investigator-a2; do "$T" keygen "$k" >/dev/null; done) || fail "keygen"
FORM=$(hash "consent form v1")

# A trial at site-a, a participant enrolled and consenting, one record anchored.
run register register "${C[@]}" --key "$K/sponsor.key" --trial $TRIAL --doc "$(hash doc)" \
    --primary "$(hash primary)" --planned 10 --site site-a --form "$FORM"
run approve approve "${C[@]}" --key "$K/regulator.key" --trial $TRIAL --version 1
run activate activate "${C[@]}" --key "$K/sponsor.key" --trial $TRIAL --site site-a
run enrol enrol "${C[@]}" --key "$K/investigator-site-a.key" --trial $TRIAL --participant "$W/participant.pub"
run grant consent grant "${C[@]}" --key "$W/participant.key" --trial $TRIAL --version 1 \
    --form "$FORM" --scopes main --witness-key "$K/investigator-site-a.key"
anchor() { # KEY LABEL
    "$T" anchor "${C[@]}" --key "$1" --trial $TRIAL --participant "$W/participant.pub" \
        --scope main --hash "$(hash "$2")" --size 10
}
anchor "$K/investigator-site-a.key" record-1 > "$OUT/last.out" 2>&1 || fail "first anchor: $(cat "$OUT/last.out")"
echo "ok: a trial at site-a with one anchored record"

# 1. add a researcher
refused "an access request by a key with no role" "no role" \
    "$T" access request "${C[@]}" --key "$W/researcher-2.key" --trial $TRIAL --scope main --purpose study
run "governance add" governance add "${C[@]}" --key "$K/sponsor.key" --cosign approval="$K/regulator.key" \
    --role researcher --name researcher-2 --new-key "$W/researcher-2.key"
grep -q 'event governance.authority' "$OUT/last.out" || fail "the add's receipt has no governance.authority event"
run "the added researcher's access request" access request "${C[@]}" --key "$W/researcher-2.key" \
    --trial $TRIAL --scope main --purpose study
echo "ok: researcher-2 added and granted access"

# 2. rotate site-a's investigator key
run "governance rotate" governance rotate "${C[@]}" --key "$K/sponsor.key" --cosign approval="$K/regulator.key" \
    --role investigator --target "$K/investigator-site-a.pub" --new-key "$W/investigator-a2.key"
refused "the rotated-out key's anchor" "key revoked" anchor "$K/investigator-site-a.key" record-2
anchor "$W/investigator-a2.key" record-3 > "$OUT/last.out" 2>&1 || fail "the new key's anchor: $(cat "$OUT/last.out")"
echo "ok: the new investigator key anchors for site-a"

# 3. revoke the new key
run "governance revoke" governance revoke "${C[@]}" --key "$K/sponsor.key" --cosign approval="$K/regulator.key" \
    --role investigator --target "$W/investigator-a2.pub"
refused "the revoked key's anchor" "key revoked" anchor "$W/investigator-a2.key" record-4
refused "the revoked key's timeline" "revoked at height" \
    "$T" timeline "${C[@]}" --key "$W/investigator-a2.key" --trial $TRIAL

# 4. without the regulator: refused, nothing applied
refused "a researcher added by the sponsor alone" "needs sponsor x1 + regulator x1" \
    "$T" governance add "${C[@]}" --key "$K/sponsor.key" --role researcher --name researcher-3 \
    --new-key "$W/researcher-3.key"
refused "a participant's key as an authority" "already used" \
    "$T" governance add "${C[@]}" --key "$K/sponsor.key" --cosign approval="$K/regulator.key" \
    --role researcher --name researcher-3 --new-key "$W/participant.key"

# 5. the timeline in words
run timeline timeline "${C[@]}" --key "$K/regulator.key" --trial $TRIAL
cp "$OUT/last.out" "$OUT/timeline.txt"
for words in "added researcher researcher-2 key" \
             "revoked investigator investigator-site-a at site-a key" \
             "added investigator investigator-site-a at site-a key" \
             "governance.authority by sponsor +regulator(approval)"; do
    grep -q "$words" "$OUT/timeline.txt" || fail "the timeline does not show '$words': $(cat "$OUT/timeline.txt")"
done
[ "$(grep -c 'revoked investigator' "$OUT/timeline.txt")" = 2 ] || fail "two revocations expected in the timeline"
echo "ok: the timeline shows every change in words"

# 6. every node audited with the genesis alone
agree "after the governance changes"
"$T" cluster down "$D" >/dev/null
trap - EXIT
echo "PASS"
