#!/usr/bin/env python3
"""An independent client of a validator's HTTP API, written from docs/FORMATS.md (the tx and
its signatures, 5.1; key files, 6.3), docs/HTTP.md and docs/openapi.yaml alone, with
python3-nacl (Ed25519) and python3-msgpack: no trialreg code.

It registers a trial (the sponsor), approves it (the regulator), activates a site (the
sponsor), enrols a participant key it makes (the site's investigator) and records that
participant's consent co-signed by the investigator as witness; every tx is built and
signed here, submitted with POST /v1/txs, and followed on GET /v1/events (RFC 9421-signed
by the regulator, built here from RFC 9421 section 2.5) until it commits. Then it fetches the
consent's receipt as msgpack (signed by the participant) and has `trialctl verify-receipt`
check it with the genesis alone.

usage: http_client.py BASE_URL CONSORTIUM_DIR TRIALCTL
Exit 0 and "http client OK" when every step held.
"""
import base64
import hashlib
import http.client
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.parse

import msgpack
import nacl.signing


def fail(why):
    print(f"http client FAILED: {why}")
    sys.exit(1)


def load_key(path):
    """FORMATS 6.3: trialreg-ed25519-secret-v1, seed <hex>, public <hex>."""
    lines = open(path, encoding="ascii").read().split("\n")
    if lines[0] != "trialreg-ed25519-secret-v1" or not lines[1].startswith("seed "):
        fail(f"{path} is not a trialreg secret key file")
    key = nacl.signing.SigningKey(bytes.fromhex(lines[1][5:]))
    if bytes(key.verify_key).hex() != lines[2][7:]:
        fail(f"{path}: the public key does not match the seed")
    return key


def pub(key):
    return bytes(key.verify_key)


class Client:
    def __init__(self, base, genesis):
        self.url = urllib.parse.urlsplit(base)
        self.chain = hashlib.sha256(genesis).digest()

    def conn(self):
        return http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=30)

    # ---- FORMATS 5.1 ----
    def tx(self, signer, contract, method, args, cosigners=()):
        nonce = secrets.randbits(63)
        valid_until = int(time.time() * 1000) + 10 * 60 * 1000
        body = msgpack.packb([pub(signer), nonce, valid_until, contract, method, args],
                             use_bin_type=True)
        sig = signer.sign(b"trialreg/v1/tx" + self.chain + body).signature
        cosigs = []
        for key, meaning in cosigners:
            cbody = msgpack.packb([hashlib.sha256(body).digest(), meaning, pub(key)],
                                  use_bin_type=True)
            cosigs.append([pub(key), meaning,
                           key.sign(b"trialreg/v1/cosig" + self.chain + cbody).signature])
        return msgpack.packb([pub(signer), nonce, valid_until, contract, method, args, cosigs,
                              sig], use_bin_type=True)

    def exchange(self, method, target, body=None, headers=lambda: {}):
        """One request on a fresh connection: (status, body). A request the server closed
        without an answer is sent again once, signed afresh (headers() is called per try), as
        RFC 9110 9.2.2 allows for idempotent requests (a tx sent twice is one tx: its id)."""
        for attempt in (1, 2):
            c = self.conn()
            try:
                c.request(method, target, body, headers())
                r = c.getresponse()
                return r.status, r.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                if attempt == 2:
                    raise
                print(f"note: {method} {target}: the server closed the connection without an "
                      f"answer ({e.__class__.__name__}); sending it again", file=sys.stderr)
            finally:
                c.close()

    def submit(self, tx):
        status, body = self.exchange("POST", "/v1/txs",
                                     json.dumps({"txs": [base64.b64encode(tx).decode()]}),
                                     lambda: {"Content-Type": "application/json"})
        answer = json.loads(body)
        if status != 200 or not answer["results"][0]["accepted"]:
            fail(f"submit refused: {status} {answer}")
        return answer["results"][0]["tx_id"]

    # ---- RFC 9421 section 2.5, with docs/HTTP.md's profile ----
    def signed_headers(self, key, method, target, extra=None):
        path, _, query = target.partition("?")
        created = int(time.time())
        params = (f'("@method" "@path" "@query");created={created};keyid="{pub(key).hex()}"'
                  f';alg="ed25519";tag="trialreg-v1-{self.chain.hex()}"')
        base = (f'"@method": {method}\n"@path": {path}\n"@query": ?{query}\n'
                f'"@signature-params": {params}')
        sig = base64.b64encode(key.sign(base.encode()).signature).decode()
        headers = {"Signature-Input": f"sig1={params}", "Signature": f"sig1=:{sig}:"}
        headers.update(extra or {})
        return headers


def main(argv):
    if len(argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    base, consortium, trialctl = argv[1], argv[2], argv[3]
    genesis = open(os.path.join(consortium, "genesis.bin"), "rb").read()
    keys = {n: load_key(os.path.join(consortium, "keys", n + ".key"))
            for n in ("sponsor", "regulator", "investigator-site-a")}
    participant = nacl.signing.SigningKey.generate()
    client = Client(base, genesis)

    c = client.conn()
    c.request("GET", "/v1/status")
    height = json.loads(c.getresponse().read())["height"]
    c.close()
    # the regulator's event stream from the next height on
    stream = client.conn()
    target = f"/v1/events?from={height + 1}"
    stream.request("GET", target, headers=client.signed_headers(keys["regulator"], "GET", target))
    events = stream.getresponse()
    if events.status != 200 or not events.getheader("Content-Type", "").startswith("text/event-stream"):
        fail(f"/v1/events answered {events.status}")

    def commit(tx, topic):
        tx_id = client.submit(tx)
        deadline = time.time() + 30
        while time.time() < deadline:
            line = events.fp.readline().decode()
            if not line.startswith("data: "):
                continue
            event = json.loads(line[6:])
            if event["tx_id"] == tx_id:
                if event["status"] != "OK" or event["topic"] != topic:
                    fail(f"{topic}: {event}")
                print(f"committed {event['contract']}.{event['method']} at height "
                      f"{event['height']}: {topic}")
                return tx_id
        fail(f"{topic} did not commit within 30 s")

    trial = b"PY-CLIENT-" + secrets.token_hex(4).encode()
    doc, outcome, form = (hashlib.sha256(x).digest() for x in (b"protocol", b"outcome", b"form"))
    sites = b"\x06site-a"
    commit(client.tx(keys["sponsor"], "protocol", "register",
                     [trial, doc, outcome, b"", 100, sites, form]), "protocol.registered")
    commit(client.tx(keys["regulator"], "protocol", "approve", [trial, 1]), "protocol.approved")
    commit(client.tx(keys["sponsor"], "protocol", "activate", [trial, b"site-a"]),
           "protocol.site_activated")
    commit(client.tx(keys["investigator-site-a"], "consent", "enrol", [trial, pub(participant)]),
           "consent.enrolled")
    grant = commit(client.tx(participant, "consent", "grant", [trial, 1, form, 1 | 2],
                             cosigners=[(keys["investigator-site-a"], 4)]), "consent.granted")
    stream.close()

    # the consent's receipt file, read by the participant itself, checked by trialctl
    target = f"/v1/receipts/{grant}"
    for _ in range(50):
        status, receipt = client.exchange("GET", target, headers=lambda: client.signed_headers(
            participant, "GET", target, {"Accept": "application/msgpack"}))
        if status != 200:
            fail(f"receipt: {status} {receipt[:200]}")
        if msgpack.unpackb(receipt, raw=True)[3] is not None:  # the proof: certified
            break
        time.sleep(0.2)
    path = os.path.join(consortium, "py-grant.receipt")
    open(path, "wb").write(receipt)
    out = subprocess.run([trialctl, "verify-receipt", "--genesis",
                          os.path.join(consortium, "genesis.bin"), path],
                         capture_output=True, text=True)
    print(out.stdout.strip())
    if out.returncode != 0:
        fail(f"trialctl verify-receipt: {out.stdout} {out.stderr}")
    print("http client OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
