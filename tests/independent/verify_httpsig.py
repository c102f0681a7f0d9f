#!/usr/bin/env python3
"""Verify RFC 9421 header fields printed by `trialctl http-sign`, independently.

Written from RFC 9421 (sections 2, 2.3, 2.5, 3.2), RFC 9530 and docs/HTTP.md alone, with
python3-nacl for Ed25519: it rebuilds the signature base itself and checks the signature,
the Content-Digest of the body and the project's profile (covered components, alg, keyid,
the chain tag).

usage: verify_httpsig.py HEADERS_FILE METHOD URL GENESIS_FILE [BODY_FILE]
Exit 0 and "httpsig OK" if it verifies, 1 with the reason otherwise.
"""
import base64
import hashlib
import re
import sys
import urllib.parse

import nacl.exceptions
import nacl.signing


def fail(why):
    print(f"httpsig FAILED: {why}")
    sys.exit(1)


def parse_input(value):
    m = re.fullmatch(r'([a-z*][a-z0-9_.*-]*)=\(([^)]*)\)(.*)', value)
    if not m:
        fail("Signature-Input is not label=(...)params")
    label, inner, params = m.groups()
    names = re.findall(r'"([^"]*)"', inner)
    pairs = {}
    for p in params.split(";")[1:]:
        k, _, v = p.partition("=")
        pairs[k.strip()] = v[1:-1] if v.startswith('"') else int(v)
    serialized = "(" + " ".join(f'"{n}"' for n in names) + ")" + "".join(
        f';{k}="{v}"' if isinstance(v, str) else f";{k}={v}" for k, v in pairs.items())
    return label, names, pairs, serialized


def main(argv):
    if len(argv) not in (5, 6):
        sys.stderr.write(__doc__)
        return 2
    headers = {}
    for line in open(argv[1], encoding="ascii"):
        name, _, value = line.rstrip("\n").partition(": ")
        headers[name.lower()] = value
    method, url = argv[2], urllib.parse.urlsplit(argv[3])
    genesis = open(argv[4], "rb").read()
    body = open(argv[5], "rb").read() if len(argv) == 6 else None
    label, names, params, serialized = parse_input(headers.get("signature-input", ""))
    sig_field = headers.get("signature", "")
    m = re.fullmatch(rf'{re.escape(label)}=:([A-Za-z0-9+/=]+):', sig_field)
    if not m:
        fail("Signature has no byte sequence for the label")
    sig = base64.b64decode(m.group(1), validate=True)
    if body is not None:
        digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
        if headers.get("content-digest") != digest:
            fail("Content-Digest is not the body's SHA-256")
    for required in ("@method", "@path", "@query") + (("content-digest",) if body is not None else ()):
        if required not in names:
            fail(f"{required} is not covered")
    if params.get("alg") != "ed25519":
        fail("alg is not ed25519")
    if params.get("tag") != "trialreg-v1-" + hashlib.sha256(genesis).hexdigest():
        fail("the tag is not this genesis's chain")
    lines = []
    for n in names:
        if n == "@method":
            v = method
        elif n == "@path":
            v = url.path or "/"
        elif n == "@query":
            v = "?" + url.query
        elif n == "@authority":
            v = url.netloc.lower()
        else:
            v = headers[n].strip()
        lines.append(f'"{n}": {v}')
    lines.append(f'"@signature-params": {serialized}')
    base = "\n".join(lines).encode("ascii")
    try:
        nacl.signing.VerifyKey(bytes.fromhex(params["keyid"])).verify(base, sig)
    except (nacl.exceptions.BadSignatureError, ValueError) as e:
        fail(f"the signature does not verify: {e}")
    print(f"httpsig OK: {label} by {params['keyid'][:16]}..., created {params['created']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
