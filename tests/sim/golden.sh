#!/bin/bash
# Scripted scenarios against their golden traces (tests/sim/golden/*.trace).
#   golden.sh PBFT_SIM GOLDEN_DIR [SCENARIO...]          compare
#   UPDATE=1 golden.sh PBFT_SIM GOLDEN_DIR [SCENARIO...] rewrite the golden files
# Without SCENARIOs: the six original ones (split-newview has its own ctest).
# A trace changes whenever the protocol's behaviour changes: read the diff,
# and update the golden file only if the new behaviour is the intended one.
set -u
sim=$1
dir=$2
shift 2
scenarios=${*:-normal primary-crash equivocate partition catchup catchup-faulty}
status=0
for sc in $scenarios; do
    out=$("$sim" --scenario "$sc" --n 4 --from 1 --trace | grep '^t=')
    if [ "${UPDATE:-0}" = 1 ]; then
        printf '%s\n' "$out" > "$dir/$sc.trace"
        continue
    fi
    if ! diff -u "$dir/$sc.trace" <(printf '%s\n' "$out"); then
        echo "golden trace differs: $sc" >&2
        status=1
    fi
    if ! printf '%s\n' "$out" | tail -1 | grep -q 'end: ok'; then
        echo "scenario $sc did not end ok" >&2
        status=1
    fi
done
exit $status
