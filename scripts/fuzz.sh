#!/usr/bin/env bash
# fuzz.sh BUILD_DIR SECONDS - run every libFuzzer target built in BUILD_DIR
# (configure with FUZZ=1 ./scripts/setup.sh) for SECONDS each on its seed
# corpus. Exits non-zero if any target finds a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:?usage: fuzz.sh BUILD_DIR SECONDS}
S=${2:-30}
found=0
for f in "$B"/tests/fuzz_* "$B"/tests/*/fuzz_*; do
    [ -f "$f" ] && [ -x "$f" ] || continue
    name=$(basename "$f")
    case $name in
        fuzz_codec_*) corpus=tests/fuzz/corpus_codec/${name#fuzz_codec_} ;;
        *) corpus=tests/fuzz/corpus_${name#fuzz_} ;;
    esac
    work=$(mktemp -d /tmp/trialreg-$name-XXXXXX)
    [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
    echo "fuzz: $name for ${S}s"
    if ! "$f" -max_total_time="$S" -print_final_stats=1 -artifact_prefix="$work/" "$work" \
            > "$work.log" 2>&1; then
        echo "fuzz: $name FAILED (artifacts in $work)"; tail -30 "$work.log"; found=1
    else
        grep -E "stat::number_of_executed_units|cov:" "$work.log" | tail -2
        rm -rf "$work" "$work.log"
    fi
done
exit $found
