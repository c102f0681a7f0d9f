#!/bin/bash
# test_bench_interrupt.sh TRIALCTL WORKDIR PORT - `trialctl bench cluster` interrupted while
# its consortium runs (Ctrl-C, or a kill) stops its four nodes: none outlives it, and its
# ports are free for the next run.
set -u
set -m # job control: a background job gets SIGINT (a script's would ignore it)
T=$1
D=$2
PORT=$3
rm -rf "$D"
mkdir -p "$D"
fail() { echo "FAIL: $*"; for f in "$D"/run-0/node-*/trialnode.pid; do kill -9 "$(cat "$f")" 2>/dev/null; done; exit 1; }
alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^[^)]*) [ZX]' "/proc/$1/stat" 2>/dev/null; }

for sig in INT TERM; do
    rm -rf "$D/run-0"
    "$T" bench cluster --runs 1 --txs 500000 --dir "$D" --port "$PORT" > "$D/bench.out" 2>&1 &
    bench=$!
    pids=""
    for _ in $(seq 150); do # the nodes are up once node 0 reports a height (set-up runs)
        pids=$(cat "$D"/run-0/node-*/trialnode.pid 2>/dev/null | tr '\n' ' ')
        if [ "$(echo $pids | wc -w)" = 4 ] && grep -q '"height": [1-9]' "$D/run-0/node-0/data/status.json" 2>/dev/null; then
            break
        fi
        sleep 0.2
    done
    [ "$(echo $pids | wc -w)" = 4 ] || fail "the bench did not start four nodes: $(cat "$D/bench.out")"
    kill -"$sig" "$bench"
    wait "$bench"
    rc=$?
    [ "$rc" -ne 0 ] || fail "SIG$sig: the bench exited 0"
    for _ in $(seq 50); do
        left=""
        for p in $pids; do alive "$p" && left="$left $p"; done
        [ -z "$left" ] && break
        sleep 0.2
    done
    [ -z "$left" ] || fail "SIG$sig: nodes still running after the bench stopped:$left"
    echo "ok: SIG$sig stopped the bench (exit $rc) and its nodes ($pids)"
done
echo "PASS"
