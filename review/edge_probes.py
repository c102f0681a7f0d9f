#!/usr/bin/python3
"""Edge cases of the HTTP API, one request each; prints what each got (review R2).

usage: edge_probes.py CONSORTIUM_DIR HTTP_PORT"""
import base64, hashlib, json, sys, time
from r2lib import chain_of, exchange, load_key, raw_request, sign_headers

cons, port = sys.argv[1], int(sys.argv[2])
chain = chain_of(cons)
reg = load_key(f"{cons}/keys/regulator.key")
now = int(time.time())


def show(name, req, timeout=5):
    st, head, body = exchange(port, req, timeout)
    print(f"{name:58s} -> {st} {body[:150]!r}")
    return st, head, body


def signed(target, method="GET", key=reg, **kw):
    return sign_headers(key, chain, method, target, **kw)


# ---- routing and percent-encoding
show("public history, trial id %FF (not UTF-8)", raw_request("GET", "/v1/trials/%FF/history"))
show("public history, trial id a%00b", raw_request("GET", "/v1/trials/a%00b/history"))
show("public history, T%2F..%2Fx", raw_request("GET", "/v1/trials/T%2F..%2Fx/history"))
show("public history, 33-byte id", raw_request("GET", "/v1/trials/" + "A" * 33 + "/history"))
t = "/v1/trials/%FF"
show("signed trial read, id %FF", raw_request("GET", t, signed(t)))
t = "/v1/trials/%FF/timeline"
show("signed timeline, id %FF (Accept: text/plain)", raw_request("GET", t, {**signed(t), "Accept": "text/plain"}))
# ---- methods
show("HEAD /healthz", raw_request("HEAD", "/healthz"), 2)
show("OPTIONS /v1/blocks", raw_request("OPTIONS", "/v1/blocks"))
show("PUT /v1/txs", raw_request("PUT", "/v1/txs"))
# ---- query parameters
t = "/v1/blocks?from=1&from=5"
show("duplicate from (signed)", raw_request("GET", t, signed(t)))
t = "/v1/blocks?from=%31"
show("from=%31 (signed)", raw_request("GET", t, signed(t)))
t = "/v1/blocks?from=+1"
show("from=+1 (signed)", raw_request("GET", t, signed(t)))
t = "/v1/export?include_uncertified=TRUE"
show("include_uncertified=TRUE", raw_request("GET", t, signed(t)))
t = "/v1/export?include_uncertified"
show("include_uncertified (no value)", raw_request("GET", t, signed(t)))
# ---- the signature profile
t = "/v1/blocks?from=1"
show("created 29 s in the future", raw_request("GET", t, signed(t, created=now + 29)))
show("created 31 s in the future", raw_request("GET", t, signed(t, created=now + 31)))
show("components reordered (@query @path @method)",
     raw_request("GET", t, signed(t, components=["@query", "@path", "@method"])))
show("only @method @path", raw_request("GET", t, signed(t, components=["@method", "@path"])))
h1 = signed(t, label="aaa")
h2 = signed(t, label="bbb", created=now - 1)
show("two labels, the first good",
     raw_request("GET", t, {"Signature-Input": h1["Signature-Input"] + ", " + h2["Signature-Input"],
                            "Signature": h2["Signature"] + ", " + h1["Signature"]}))
h = signed(t)
show("Signature-Input duplicated label param keyid twice",
     raw_request("GET", t, signed(t, extra_params=';keyid="' + "00" * 32 + '"')))
other = bytes(32).hex()
hh = signed(t)
hh["Signature-Input"] = hh["Signature-Input"].replace(chain.hex(), other)
show("tag of another chain", raw_request("GET", t, hh))
big = {**signed(t), "X-Pad": "a" * 40000}
show("a 40 kB header", raw_request("GET", t, big))
# ---- bodies on signed reads
body = b"hello"
show("GET with a body, content-digest not covered",
     raw_request("GET", t, {**signed(t), "Content-Type": "text/plain"}, body))
dig = "sha-512=:" + base64.b64encode(hashlib.sha512(body).digest()).decode() + ":"
show("GET with a body, covered sha-512 digest only",
     raw_request("GET", t, {**signed(t, components=["@method", "@path", "@query", "content-digest"],
                                     fields={"content-digest": dig}),
                            "Content-Digest": dig}, body))
# ---- events: Last-Event-ID values (short timeout: a stream stays open)
for v in ["-1.0.0", " 5.0.0", "1.4294967296.0", "0.0.0", "1.0", "18446744073709551615.0.0", "99999999999999999999.0.0"]:
    t = "/v1/events"
    show(f"events Last-Event-ID {v!r}", raw_request("GET", t, {**signed(t), "Last-Event-ID": v}), 1.5)
for v in ["0", "18446744073709551615", "18446744073709551616", "-1", "1x"]:
    t = f"/v1/events?from={v}"
    show(f"events from={v}", raw_request("GET", t, signed(t)), 1.5)
# ---- submit
J = {"Content-Type": "application/json"}
show("submit: duplicate txs key", raw_request("POST", "/v1/txs", J, b'{"txs":["AA=="],"txs":["AQ=="]}'))
show("submit: base64 non-canonical (AB==)", raw_request("POST", "/v1/txs", J, b'{"txs":["AB=="]}'))
show("submit: base64 without padding", raw_request("POST", "/v1/txs", J, b'{"txs":["AAA"]}'))
show("submit: 1025 txs", raw_request("POST", "/v1/txs", J, json.dumps({"txs": ["AA=="] * 1025}).encode()))
show("submit: depth 5000", raw_request("POST", "/v1/txs", J, b"[" * 5000 + b"]" * 5000))
show("submit: huge number", raw_request("POST", "/v1/txs", J, b'{"txs":["AA=="],"n":1' + b"0" * 5000 + b"}"))
show("submit: Content-Type application/jsonx", raw_request("POST", "/v1/txs", {"Content-Type": "application/jsonfoo"}, b'{"txs":["AA=="]}'))
show("submit: msgpack garbage", raw_request("POST", "/v1/txs", {"Content-Type": "application/msgpack"}, b"\xc1"))
