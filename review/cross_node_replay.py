#!/usr/bin/python3
"""Finding: a signed read captured on its way to one validator is accepted again by every
other validator of the consortium (the replay cache is per node; the profile's tag names the
chain, not the node, and @authority is not required).

usage: cross_node_replay.py CONSORTIUM_DIR HTTP_PORT_NODE0 [NODES=4]
The regulator signs one GET /v1/blocks?from=1; the same bytes go to node 0 twice, then to
nodes 1..3. Expected if it held: node 0 then 401 REPLAYED everywhere else."""
import sys
from r2lib import chain_of, exchange, load_key, raw_request, sign_headers

cons, port0 = sys.argv[1], int(sys.argv[2])
nodes = int(sys.argv[3]) if len(sys.argv) > 3 else 4
key = load_key(f"{cons}/keys/regulator.key")
target = "/v1/blocks?from=1&count=1"
req = raw_request("GET", target, sign_headers(key, chain_of(cons), "GET", target))
replays = 0
for node, port in [(0, port0), (0, port0)] + [(i, port0 + i) for i in range(1, nodes)]:
    status, head, body = exchange(port, req)
    print(f"node {node} (port {port}): {status} {body[:120]!r}")
    if status not in (401, 503) and node != 0:
        replays += 1
print(f"the one signature was accepted by {replays} other node(s)")
sys.exit(1 if replays else 0)
