#!/usr/bin/python3
"""Follow /v1/events as the regulator from height 1, reconnecting with Last-Event-ID when a
stream ends; print per stream how many events came, the last id, and how it ended.

usage: events_follow.py CONSORTIUM_DIR HTTP_PORT SECONDS"""
import secrets, socket, sys, time
from r2lib import chain_of, load_key, raw_request, sign_headers

cons, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
chain, reg = chain_of(cons), load_key(f"{cons}/keys/regulator.key")
last, stop, total = None, time.time() + secs, 0
while time.time() < stop:
    t = "/v1/events?from=1"
    h = sign_headers(reg, chain, "GET", t, extra_params=f';nonce="{secrets.token_hex(8)}"')
    if last:
        h["Last-Event-ID"] = last
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(raw_request("GET", t, h, close=False))
    s.settimeout(max(0.1, stop - time.time()))
    data, n, how = b"", 0, "the deadline"
    try:
        while True:
            if time.time() >= stop:
                break
            s.settimeout(max(0.1, stop - time.time()))
            k = s.recv(1 << 16)
            if not k:
                how = "the server closing it"
                break
            data += k
            *lines, data = data.split(b"\n")
            for l in lines:
                if l.startswith(b"id: "):
                    last = l[4:].decode()
                    n += 1
    except socket.timeout:
        pass
    total += n
    print(f"stream: {n} events, last id {last}, ended by {how}", flush=True)
    s.close()
    if how == "the deadline":
        break
    time.sleep(0.5)
print(f"total events {total}, last id {last}")
