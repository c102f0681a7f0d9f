"""Shared by the review scripts: RFC 9421 signing in the node's profile (docs/HTTP.md), raw
HTTP/1.1 over a socket (so malformed and pipelined requests can be sent)."""
import base64, hashlib, os, socket, time
import nacl.signing


def load_key(path):
    lines = open(path, encoding="ascii").read().split("\n")
    return nacl.signing.SigningKey(bytes.fromhex(lines[1][5:]))


def chain_of(consortium):
    return hashlib.sha256(open(os.path.join(consortium, "genesis.bin"), "rb").read()).digest()


def sign_headers(key, chain, method, target, created=None, components=None, extra_params="",
                 label="sig1", fields=None):
    path, _, query = target.partition("?")
    created = int(time.time()) if created is None else created
    comps = components or ["@method", "@path", "@query"]
    inner = " ".join(f'"{c}"' for c in comps)
    params = (f'({inner});created={created};keyid="{bytes(key.verify_key).hex()}"'
              f';alg="ed25519";tag="trialreg-v1-{chain.hex()}"{extra_params}')
    vals = {"@method": method, "@path": path, "@query": "?" + query, **(fields or {})}
    base = "".join(f'"{c}": {vals[c]}\n' for c in comps) + f'"@signature-params": {params}'
    sig = base64.b64encode(key.sign(base.encode()).signature).decode()
    return {"Signature-Input": f"{label}={params}", "Signature": f"{label}=:{sig}:"}


def raw_request(method, target, headers=None, body=b"", close=True):
    h = {"Host": "127.0.0.1"}
    h.update(headers or {})
    if body:
        h["Content-Length"] = str(len(body))
    if close:
        h["Connection"] = "close"
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items())
    return head.encode() + b"\r\n" + body


def exchange(port, data, timeout=10):
    """Send data, read until the server closes; (status, head, body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    got = b""
    try:
        while True:
            k = s.recv(65536)
            if not k:
                break
            got += k
    except socket.timeout:
        pass
    s.close()
    head, _, body = got.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1") else 0
    return status, head.decode(errors="replace"), body
