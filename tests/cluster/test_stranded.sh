#!/usr/bin/env bash
# test_stranded.sh TRIALCTL TRIALNODE WORKDIR PORT - issue 14 A: txs a backup accepted and
# forwarded to a primary that then lost them commit within 3x the base view timeout, while
# other txs keep committing. A 4-validator consortium (view timeout 2,000 ms); a trickle of
# txs through node 1 throughout (the researcher's access requests, one at a time); 100 txs
# submitted at once to a backup while the primary is stopped (SIGSTOP: the forwards wait
# unread in its sockets), then the primary is killed (-9) and restarted at once, so it
# never saw them. Every backup holds them
# pending. The view-change timer belongs to the request it waits for (docs/PBFT.md §8):
# the backups' timers run for the oldest of the 100 though the trickle commits, and a view
# change orders them. (It used to restart on every commit: the 100 waited as long as the
# trickle lasted.)
set -uo pipefail
T=$1; export TRIALNODE=$2; D=$3; PORT=$4
VIEW_TIMEOUT_MS=2000
fail() { echo "FAIL: $*"; "$T" cluster status "$D" || true; tail -n 5 "$D"/node-*/node.log "$D"/*.out; exit 1; }
url() { echo "tcp://127.0.0.1:$((PORT + 100 + $1))"; }
pid() { cat "$D/node-$1/trialnode.pid"; }
field() { grep -o "\"$2\": [0-9]*" "$D/node-$1/data/status.json" | grep -o '[0-9]*$'; }
cleanup() {
    kill -CONT "$(pid 0 2>/dev/null)" 2>/dev/null
    kill $TRICKLE $STRANDED 2>/dev/null
    "$T" cluster down "$D" --timeout-ms 3000 >/dev/null 2>&1
    for i in 0 1 2 3; do kill -9 "$(pid $i 2>/dev/null)" 2>/dev/null; done
    true
}
TRICKLE=; STRANDED=
trap cleanup EXIT
# wait until FILE holds the bench's set-up line
set_up_done() { for _ in $(seq 600); do grep -q "set-up" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

rm -rf "$D"
"$T" init --base-port "$PORT" "$D" >/dev/null || fail "init"
for i in 0 1 2 3; do
    sed -i "s/\"view_timeout_ms\": [0-9]*/\"view_timeout_ms\": $VIEW_TIMEOUT_MS/" "$D/node-$i/config.json"
    grep -q "\"view_timeout_ms\": $VIEW_TIMEOUT_MS" "$D/node-$i/config.json" || fail "view timeout not set"
done
"$T" cluster up "$D" >/dev/null || fail "cluster up"

# the trickle: the researcher's access requests to a registered trial through node 1, a
# new one every 300 ms at most whatever became of the last (a tx the stopped primary lost
# must not hold the trickle up), until $D/stop (the researcher's key, not the bench's);
# each line of trickle.out is one that committed within its 300 ms
H=$(printf '%064d' 7)
"$T" register --url "$(url 1)" --genesis "$D/genesis.bin" --key "$D/keys/sponsor.key" \
    --trial TRICKLE --doc "$H" --primary "$H" --form "$H" --planned 10 --site site-a \
    > "$D/register.out" 2>&1 ||
    fail "register: $(cat "$D/register.out")"
( while [ ! -e "$D/stop" ]; do
      "$T" access request --url "$(url 1)" --genesis "$D/genesis.bin" \
          --key "$D/keys/researcher.key" --trial TRICKLE --scope main --purpose trickle \
          --timeout-ms 300 >/dev/null 2>&1 && echo ok
  done > "$D/trickle.out" ) &
TRICKLE=$!
for _ in $(seq 100); do [ -s "$D/trickle.out" ] && break; sleep 0.1; done
[ -s "$D/trickle.out" ] || fail "the trickle committed nothing in 10 s"
# the 100 txs for a backup B (not node 1, which the trickle uses), set up now; their load
# starts when $D/go appears
P=$(field 1 primary)
B=2; [ "$P" = 2 ] && B=3
"$T" bench cluster --existing "$D" --url "$(url $B)" --txs 100 --clients 100 \
    --start-when "$D/go" > "$D/stranded.out" 2>&1 &
STRANDED=$!
set_up_done "$D/stranded.out" || fail "the stranded batch's set-up"
[ "$(field 1 primary)" = "$P" ] || fail "the primary changed during the set-up"

primary=$(pid "$P")
kill -STOP "$primary"
touch "$D/go"
sleep 0.5
kill -9 "$primary"
kill -CONT "$primary" 2>/dev/null
sleep 0.1
"$T" cluster up "$D" >/dev/null || fail "restart of the primary"

before=$(wc -l < "$D/trickle.out")
wait $STRANDED || fail "the 100 txs did not all commit: $(cat "$D/stranded.out")"
after=$(wc -l < "$D/trickle.out")
line=$(grep "committed 100 ok" "$D/stranded.out") || fail "no result line: $(cat "$D/stranded.out")"
max=$(echo "$line" | sed 's/.*max \([0-9]*\)\..*/\1/')
bound=$((3 * VIEW_TIMEOUT_MS + 500)) # + the 0.5 s the primary was stopped after the submit
echo "the 100 forwarded txs: $line"
echo "the trickle committed $((after - before)) txs meanwhile"
[ "$max" -le "$bound" ] || fail "a forwarded tx took $max ms to commit (bound $bound ms)"
touch "$D/stop"
wait $TRICKLE
TRICKLE=
echo "ok: 100 txs the restarted primary never saw committed within $max ms (bound $bound ms), view $(field 1 view), while a trickle went on"
