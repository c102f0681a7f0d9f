#!/usr/bin/env bash
# test_lostkey.sh TRIALCTL TRIALNODE WORKDIR PORT - issue 23 item 2 end to end, through
# trialctl against a 4-validator consortium of trialnode processes whose genesis says a
# re-binding waits 4 s (trialctl init --rebind-delay-ms): a withdrawal the site records on a
# participant's documented request (co-signed by a regulator); a re-binding the old key
# vetoes, refused to complete after the delay; a re-binding completed after the delay (refused
# before it), after which the old key holds no role, the new key holds the old consent and
# its grant is marked. Every node's ledger then audits the same with the genesis alone.
set -uo pipefail
T=$1; export TRIALNODE=$2; D=$3; PORT=$4
DELAY_MS=4000
. "$(dirname "$0")/lib.sh"
cleanup() {
    "$T" cluster down "$D" --timeout-ms 3000 >/dev/null 2>&1
    for i in 0 1 2 3; do kill -9 "$(pid $i 2>/dev/null)" 2>/dev/null; done
    true
}
trap cleanup EXIT

# ok PATTERN -- CMD...: exit 0 and PATTERN in the output; refused CODE PATTERN -- CMD...
run() {
    local want=$1 pattern=$2
    shift 3
    local out rc
    out=$("$@" 2>&1)
    rc=$?
    LAST=$out
    [ "$rc" = "$want" ] && grep -qE -- "$pattern" <<<"$out" ||
        fail "$* -> exit $rc (want $want, /$pattern/): $(head -n 8 <<<"$out")"
}

rm -rf "$D"
"$T" init --base-port "$PORT" --rebind-delay-ms "$DELAY_MS" "$D" >/dev/null || fail "init"
"$T" cluster up "$D" >/dev/null || fail "cluster up"
cd "$D" || fail "cd $D"
K=keys
C=(--url "$(url 1)" --genesis genesis.bin)
TR=(--trial TRIAL-LOST-01)
for k in p1 p2 p1new p2new; do run 0 "public key" -- "$T" keygen "$k"; done
echo "protocol v1" >doc.txt
echo "consent form v1" >form.txt
echo "p1's signed withdrawal request, kept at site-a" >request-p1.txt
echo "p2's signed re-binding request" >request-p2.txt
P1=0000000000000000000000000000000000000000000000000000000000000001
run 0 "status ok" -- "$T" register "${C[@]}" --key $K/sponsor.key "${TR[@]}" --doc-file doc.txt \
    --primary $P1 --planned 10 --site site-a --form-file form.txt
run 0 "status ok" -- "$T" approve "${C[@]}" --key $K/regulator.key "${TR[@]}" --version 1
run 0 "status ok" -- "$T" activate "${C[@]}" --key $K/sponsor.key "${TR[@]}" --site site-a
for p in p1 p2; do
    run 0 "consent.enrolled" -- "$T" enrol "${C[@]}" --key $K/investigator-site-a.key "${TR[@]}" --participant $p.pub
    run 0 "consent.granted" -- "$T" consent grant "${C[@]}" --key $p.key "${TR[@]}" --version 1 \
        --form-file form.txt --scopes main,follow-up --witness-key $K/investigator-site-a.key
done
SITE=(--key $K/investigator-site-a.key "${TR[@]}")

# 1. the site records a withdrawal on p1's documented request, co-signed by a regulator
run 1 "needs a regulator's co-signature" -- "$T" consent site-withdraw "${C[@]}" "${SITE[@]}" \
    --participant p1.pub --scopes follow-up --request-file request-p1.txt --regulator-key $K/sponsor.key
run 0 "consent.withdrawn_by_site" -- "$T" consent site-withdraw "${C[@]}" "${SITE[@]}" \
    --participant p1.pub --scopes follow-up --request-file request-p1.txt --regulator-key $K/regulator.key
run 0 "site-withdraw .*withdrawn by site on the participant's documented request" -- \
    "$T" query consent "${C[@]}" --key $K/regulator.key "${TR[@]}" --participant p1.pub
echo "ok: site-recorded withdrawal"

# 2. p2's re-binding, vetoed by the old key: still refused once the delay has passed
run 0 "consent.rebind_requested" -- "$T" consent rebind-request "${C[@]}" "${SITE[@]}" \
    --participant p2.pub --new-key p2new.key --request-file request-p2.txt --regulator-key $K/regulator.key
run 0 "consent.rebind_vetoed" -- "$T" consent rebind-veto "${C[@]}" --key p2.key "${TR[@]}"
sleep $((DELAY_MS / 1000 + 1))
run 1 "vetoed this re-binding" -- "$T" consent rebind-complete "${C[@]}" "${SITE[@]}" \
    --participant p2.pub --new p2new.pub
run 1 "holds no role" -- "$T" consent withdraw "${C[@]}" --key p2new.key "${TR[@]}" --scopes main
run 0 "consent.withdrawn" -- "$T" consent withdraw "${C[@]}" --key p2.key "${TR[@]}" --scopes follow-up
echo "ok: re-binding vetoed by the old key"

# 3. p1's re-binding: refused before the delay, completed after it
run 0 "consent.rebind_requested" -- "$T" consent rebind-request "${C[@]}" "${SITE[@]}" \
    --participant p1.pub --new-key p1new.key --request-file request-p1.txt --regulator-key $K/regulator.key
run 1 "delay .*has not elapsed" -- "$T" consent rebind-complete "${C[@]}" "${SITE[@]}" \
    --participant p1.pub --new p1new.pub
sleep $((DELAY_MS / 1000 + 1))
run 0 "consent.rebound" -- "$T" consent rebind-complete "${C[@]}" "${SITE[@]}" --participant p1.pub --new p1new.pub
run 1 "holds no role" -- "$T" consent withdraw "${C[@]}" --key p1.key "${TR[@]}" --scopes main
run 0 "rebound-from .*consent moved here" -- "$T" query consent "${C[@]}" --key p1new.key "${TR[@]}" --participant p1new.pub
run 0 "consent.flag.after_rebinding" -- "$T" consent grant "${C[@]}" --key p1new.key "${TR[@]}" --version 1 \
    --form-file form.txt --scopes main,future-research --witness-key $K/investigator-site-a.key
run 0 "granted after a re-binding" -- "$T" query consent "${C[@]}" --key p1new.key "${TR[@]}" --participant p1new.pub
run 1 "" -- "$T" query consent "${C[@]}" --key p1.key "${TR[@]}" --participant p1.pub
run 0 "FLAG  consent.flag.after_rebinding" -- "$T" timeline "${C[@]}" --key $K/regulator.key "${TR[@]}"
echo "ok: re-binding after the delay"

agree "after the lost-key flows"
echo "test_lostkey: ok"
