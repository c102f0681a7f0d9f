# valset_lib.sh - shared by the validator-set tests (test_valset.sh, test_valset_many.sh):
# sourced after lib.sh. Seven node slots (four genesis validators, three that join), a
# cleanup that stops them all, a failure report with each node's set changes, and the load.
LOAD=
ALL="0 1 2 3 4 5 6"
cleanup() {
    touch "$D/stop" 2>/dev/null
    [ -n "$LOAD" ] && kill "$LOAD" 2>/dev/null
    "$T" cluster down "$D" --timeout-ms 3000 >/dev/null 2>&1
    for i in $ALL; do kill -9 "$(pid $i 2>/dev/null)" 2>/dev/null; done
    true
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; "$T" cluster status "$D" || true; for i in $ALL; do
    [ -f "$D/node-$i/node.log" ] && { echo "--- node $i"; grep -E "ERROR|WARN|validator set|dropped" "$D/node-$i/node.log" | tail -n 4; tail -n 3 "$D/node-$i/node.log"; }; done; exit 1; }

# A steady load through node 3 (`trialctl bench cluster --existing`, one run after another)
# until $D/stop exists; stop_load ends it and leaves "runs failed" in $D/load.result.
start_load() {
    ( runs=0 failed=0
      while [ ! -e "$D/stop" ]; do
          runs=$((runs + 1))
          "$T" bench cluster --existing "$D" --url "$(url 3)" --txs 400 --clients 8 \
              >> "$D/load.out" 2>&1 || failed=$((failed + 1))
      done
      echo "$runs $failed" > "$D/load.result" ) &
    LOAD=$!
    wait_height 3 20 60 "the load"
}
stop_load() { touch "$D/stop"; wait "$LOAD"; LOAD=; }
