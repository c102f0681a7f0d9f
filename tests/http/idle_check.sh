#!/usr/bin/env bash
# idle_check.sh TRIALCTL WORKDIR - the HTTP API under 2,000 idle connections and slow-loris
# request headers (ports 18700-18867): while they are held, a load through the nng client
# API commits every tx; the HTTP server's limits refuse what is beyond them (at most 256
# connections per address) and its header deadline (10 s) cuts the ones that never finish
# their headers, after which a prompt request is answered again.
set -euo pipefail
T=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
D=$2/idle-check
PORT=18700
HTTP=$((PORT + 164))
fail() { echo "idle_check: FAIL: $*" >&2; tail -n 3 "$D"/node-*/node.log >&2 || true; exit 1; }
. "$(dirname "$0")/lib.sh"
ON_EXIT='kill $holder 2>/dev/null || true'
consortium_up "$T" "$D" $PORT || fail "cluster up"

# 2,000 connections: half send nothing, half send a request line and then one header byte
# every 2 s (never idle long enough for an inactivity timeout, never done)
/usr/bin/python3 - "$HTTP" "$D/holder.out" <<'PY' &
import socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
conns = []
for i in range(2000):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        if i % 2:
            s.send(b"GET /healthz HTTP/1.1\r\nHost: x")
        conns.append(s)
    except OSError:
        pass
open(out, "w").write(f"opened {len(conns)}\n")
start = time.time()
alive = conns
while time.time() - start < 16:
    time.sleep(2)
    still = []
    for i, s in enumerate(alive):
        try:
            s.setblocking(False)
            try:
                if s.recv(1) == b"":
                    continue          # closed by the server
            except BlockingIOError:
                pass
            s.send(b"x")
            still.append(s)
        except OSError:
            pass
    alive = still
open(out, "a").write(f"alive after 16 s {len(alive)}\n")
time.sleep(60)
PY
holder=$!
sleep 2
"$T" bench cluster --existing "$D" --url "tcp://127.0.0.1:$((PORT + 100))" --txs 200 \
    --clients 8 > "$D/load.log" 2>&1 || fail "the nng load did not commit while HTTP was flooded: $(tail -n 3 "$D/load.log")"
for _ in $(seq 40); do grep -q "alive after" "$D/holder.out" 2>/dev/null && break; sleep 0.5; done
cat "$D/holder.out"
alive=$(sed -n 's/^alive after 16 s //p' "$D/holder.out")
[ -n "$alive" ] || fail "the holder did not report"
[ "$alive" -eq 0 ] || fail "$alive connections outlived the header deadline"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP/v1/status")
[ "$code" = 200 ] || fail "after the flood, /v1/status answered $code"
cuts=$(curl -s "http://127.0.0.1:$HTTP/metrics" | awk '$1 == "trialreg_http_deadline_cuts_total" {print $2}')
[ "${cuts:-0}" -ge 1 ] || fail "no connection was cut by the header deadline"
echo "idle_check: OK (deadline cuts $cuts)"
