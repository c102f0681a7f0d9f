#!/usr/bin/env bash
# The example as a user runs it: `trialctl example-trial OUTDIR` twice gives the same bytes
# (genesis, timeline, exported ledger), the timeline is the golden file, the ledger audits,
# and a second run into the same OUTDIR is refused.
set -euo pipefail
trialctl=$1
golden=$2
work=$(mktemp -d /tmp/trialreg-example-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$trialctl" example-trial "$work/a" > "$work/a.out" || fail "example-trial exited $?"
"$trialctl" example-trial "$work/b" > "$work/b.out" || fail "second run exited $?"
cmp -s "$work/a.out" "$golden" || { diff "$golden" "$work/a.out" | head -20; fail "stdout is not the golden timeline"; }
cmp -s "$work/a/timeline.txt" "$golden" || fail "timeline.txt is not the golden timeline"
cmp -s "$work/a/genesis.bin" "$work/b/genesis.bin" || fail "genesis differs between runs"
for r in a b; do
  "$trialctl" export --genesis "$work/$r/genesis.bin" --data "$work/$r/ledger" -o "$work/$r.export" \
    > /dev/null || fail "export $r"
done
cmp -s "$work/a.export" "$work/b.export" || fail "the ledgers of two runs differ"
"$trialctl" audit --genesis "$work/a/genesis.bin" "$work/a/ledger" > /dev/null || fail "audit"
if "$trialctl" example-trial "$work/a" > /dev/null 2>&1; then fail "reran into an existing ledger"; fi
echo "example: OK"
