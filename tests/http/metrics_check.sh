#!/usr/bin/env bash
# metrics_check.sh TRIALCTL WORKDIR - /metrics of a 4-validator consortium (ports
# 18500-18667): promtool (Debian's prometheus package) accepts every node's output; under
# load the height and committed-txs series rise on all four and the commit latency
# histogram fills; each node is connected to its 3 peers, and when the primary is killed the
# survivors count 2 and their view-change counter rises.
set -euo pipefail
T=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
D=$2/metrics-check
PORT=18500
fail() { echo "metrics_check: FAIL: $*" >&2; tail -n 3 "$D"/node-*/node.log >&2 || true; exit 1; }
command -v promtool >/dev/null || fail "promtool is needed (Debian: apt-get install prometheus)"
metric() { curl -s "http://127.0.0.1:$((PORT + 164 + $1))/metrics" | awk -v m="$2" '$1 == m {print $2}'; }

. "$(dirname "$0")/lib.sh"
consortium_up "$T" "$D" $PORT || fail "cluster up"
check_all() {
    for i in "$@"; do
        curl -s "http://127.0.0.1:$((PORT + 164 + i))/metrics" > "$D/m$i.txt"
        promtool check metrics < "$D/m$i.txt" || fail "promtool refuses node $i's metrics"
    done
}
# wait_metric NODE NAME VALUE: until node's series NAME is VALUE (5 s at most)
wait_metric() {
    for _ in $(seq 50); do [ "$(metric "$1" "$2")" = "$3" ] && return 0; sleep 0.1; done
    return 1
}
for i in 0 1 2 3; do
    wait_metric $i trialreg_peer_connections 3 \
        || fail "node $i is connected to $(metric $i trialreg_peer_connections) peers, not 3"
done
check_all 0 1 2 3
for i in 0 1 2 3; do before[$i]=$(metric $i trialreg_height); done

"$T" bench cluster --existing "$D" --url "tcp://127.0.0.1:$((PORT + 100))" --txs 300 \
    --clients 16 > "$D/load1.log" 2>&1 || fail "the load did not commit: $(tail -n 3 "$D/load1.log")"
sleep 0.5 # the snapshot is taken every 200 ms
for i in 0 1 2 3; do
    after=$(metric $i trialreg_height)
    [ "$after" -gt "${before[$i]}" ] || fail "node $i's height did not rise (${before[$i]} -> $after)"
    [ "$(metric $i trialreg_committed_txs_total)" -ge 300 ] || fail "node $i counts too few txs"
    [ "$(metric $i trialreg_commit_latency_seconds_count)" -gt 0 ] || fail "node $i has no commit latency"
    [ "$(metric $i trialreg_view_changes_total)" = 0 ] || fail "node $i changed view with no fault"
done
check_all 0 1 2 3

kill -9 "$(cat "$D/node-0/trialnode.pid")"   # the primary of view 0
for i in 1 2 3; do
    wait_metric $i trialreg_peer_connections 2 \
        || fail "node $i counts $(metric $i trialreg_peer_connections) peers after node 0 died, not 2"
done
"$T" bench cluster --existing "$D" --url "tcp://127.0.0.1:$((PORT + 101))" --txs 100 \
    --clients 8 > "$D/load2.log" 2>&1 || fail "the load after the kill did not commit: $(tail -n 3 "$D/load2.log")"
sleep 0.5
for i in 1 2 3; do
    [ "$(metric $i trialreg_view_changes_total)" -ge 1 ] || fail "node $i's view-change counter did not rise"
    [ "$(metric $i trialreg_view)" -ge 1 ] || fail "node $i is still in view 0"
done
check_all 1 2 3
echo "metrics_check: OK (heights $(metric 1 trialreg_height), views $(metric 1 trialreg_view))"
