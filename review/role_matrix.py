#!/usr/bin/python3
"""Every signed read with every key (review R2): prints a matrix of HTTP statuses, and for
/v1/events which events each key was sent. Run after tests/independent/http_client.py has
registered a trial and recorded a consent (it reads them from block 1..5 as the regulator).

usage: role_matrix.py CONSORTIUM_DIR HTTP_PORT"""
import json, os, secrets, socket, sys, time
import nacl.signing
from r2lib import chain_of, exchange, load_key, raw_request, sign_headers

cons, port = sys.argv[1], int(sys.argv[2])
chain = chain_of(cons)
keys = {n: load_key(f"{cons}/keys/{n}.key") for n in
        ["regulator", "sponsor", "investigator-site-a", "investigator-site-b", "researcher", "validator-0"]}
keys["random"] = nacl.signing.SigningKey(os.urandom(32))


def get(key, target, accept=None, timeout=5):
    h = sign_headers(key, chain, "GET", target, extra_params=f';nonce="{secrets.token_hex(8)}"')
    if accept:
        h["Accept"] = accept
    return exchange(port, raw_request("GET", target, h), timeout)


st, _, body = get(keys["regulator"], "/v1/blocks?from=1&count=16")
blocks = json.loads(body)["blocks"]
trial = participant = consent_tx = None
for b in blocks:
    for t in b["txs"]:
        tx = t["tx"]
        if tx["method"] == "register":
            trial = t["receipt"]["events"][0]["fields"]["trial"]
        if tx["method"] == "grant":
            participant, consent_tx = tx["signer"], t["receipt"]["tx_id"]
print(f"trial {trial}, participant {participant[:16]}…, consent tx {consent_tx[:16]}…")
reads = {
    "trial": f"/v1/trials/{trial}",
    "consent": f"/v1/trials/{trial}/participants/{participant}/consent",
    "timeline": f"/v1/trials/{trial}/timeline",
    "timeline.txt": (f"/v1/trials/{trial}/timeline", "text/plain"),
    "read-log": f"/v1/trials/{trial}/read-log",
    "grant 1": f"/v1/trials/{trial}/grants/1/records",
    "blocks": "/v1/blocks?from=1",
    "receipt": f"/v1/receipts/{consent_tx}",
    "receipt.mp": (f"/v1/receipts/{consent_tx}", "application/msgpack"),
    "export": "/v1/export",
}
print(f"{'key':22s}" + "".join(f"{r:>13s}" for r in reads) + "  events sent")
for name, key in keys.items():
    row = f"{name:22s}"
    for r, spec in reads.items():
        target, accept = spec if isinstance(spec, tuple) else (spec, None)
        st, _, body = get(key, target, accept)
        row += f"{st:>13d}"
    st, _, body = get(key, "/v1/events?from=1", timeout=1.5)
    topics = sorted({l[7:] for l in body.decode(errors='replace').split("\n") if l.startswith("event: ")})
    row += f"  {st} {','.join(topics)}"
    print(row, flush=True)
