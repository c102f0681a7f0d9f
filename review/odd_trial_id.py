#!/usr/bin/python3
"""Finding: a trial id is any 1..32 bytes (contracts/ABI.md), but the HTTP reads put it in
JSON as text: a sponsor registers a trial whose id is not UTF-8 (here b"\\xff-R2-<hex>"), and
its public history and state answer 500 with "out of memory" (json_pack fails on the bytes);
an id holding "/" cannot be addressed at all.

usage: odd_trial_id.py CONSORTIUM_DIR HTTP_PORT"""
import hashlib, secrets, sys, time, urllib.parse
sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/../tests/independent")
sys.path.insert(0, "/work/wt-r2/tests/independent")
from http_client import Client, load_key
from r2lib import chain_of, exchange, raw_request, sign_headers

cons, port = sys.argv[1], int(sys.argv[2])
client = Client(f"http://127.0.0.1:{port}", open(f"{cons}/genesis.bin", "rb").read())
sponsor = load_key(f"{cons}/keys/sponsor.key")
doc, outcome, form = (hashlib.sha256(x).digest() for x in (b"protocol", b"outcome", b"form"))
for trial in [b"\xff-R2-" + secrets.token_hex(3).encode(), b"R2/" + secrets.token_hex(3).encode()]:
    print("submitted:", client.submit(client.tx(sponsor, "protocol", "register",
                                                 [trial, doc, outcome, b"", 100, b"\x06site-a", form])))
    time.sleep(3)
    enc = urllib.parse.quote(trial, safe="")
    st, head, body = exchange(port, raw_request("GET", f"/v1/trials/{enc}/history"))
    print(f"GET /v1/trials/{enc}/history -> {st} {body[:100]!r}")
    t = f"/v1/trials/{enc}"
    st, head, body = exchange(port, raw_request("GET", t, sign_headers(sponsor, chain_of(cons), "GET", t)))
    print(f"GET {t} (sponsor) -> {st} {body[:100]!r}")
