#!/usr/bin/python3
"""The export under abuse (review R2):
 1. 20 exports cut mid-stream (RST after 64 KiB): the slots come back (a whole export after).
 2. 4 exports held open by readers that read nothing: a 5th (another key's) is refused 503
    BUSY for as long as they hold; how long is measured (inactivity timeout 30 s).
 3. a reader that reads 1 KiB every 20 s keeps its slot past the inactivity timeout.

usage: export_abuse.py CONSORTIUM_DIR HTTP_PORT"""
import secrets, socket, struct, sys, time
from r2lib import chain_of, exchange, load_key, raw_request, sign_headers

cons, port = sys.argv[1], int(sys.argv[2])
chain = chain_of(cons)
reg = load_key(f"{cons}/keys/regulator.key")
val = load_key(f"{cons}/keys/validator-1.key")


def open_export(key):
    t = "/v1/export"
    h = sign_headers(key, chain, "GET", t, extra_params=f';nonce="{secrets.token_hex(8)}"')
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(raw_request("GET", t, h))
    return s


def whole(key):
    t = "/v1/export"
    h = sign_headers(key, chain, "GET", t, extra_params=f';nonce="{secrets.token_hex(8)}"')
    st, head, body = exchange(port, raw_request("GET", t, h), timeout=60)
    return st, len(body), body.endswith(b"0\r\n\r\n")


print("1. cut mid-stream")
for i in range(20):
    s = open_export(reg)
    got = 0
    while got < 65536:
        k = s.recv(65536)
        if not k:
            break
        got += len(k)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
time.sleep(1)
st, n, complete = whole(reg)
print(f"   after 20 cut exports: a whole export -> {st}, {n} bytes, complete={complete}")

print("2. four exports that read nothing")
held = [open_export(reg) for _ in range(4)]
for s in held:
    s.recv(1024)  # the head, then nothing
t0 = time.time()
while True:
    st, n, _ = whole(val)
    print(f"   t={time.time() - t0:5.1f}s validator-1's export -> {st}", flush=True)
    if st == 200 or time.time() - t0 > 60:
        break
    time.sleep(5)
for s in held:
    s.close()

print("3. four exports that read 1 KiB every 20 s")
held = [open_export(reg) for _ in range(4)]
t0 = time.time()
busy = 0
while time.time() - t0 < 70:
    time.sleep(20)
    for s in held:
        s.recv(1024)
    st, n, _ = whole(val)
    busy += st == 503
    print(f"   t={time.time() - t0:5.1f}s validator-1's export -> {st}", flush=True)
for s in held:
    s.close()
