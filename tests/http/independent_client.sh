#!/usr/bin/env bash
# independent_client.sh TRIALCTL WORKDIR - tests/independent/http_client.py (a client written
# from the docs alone, in Python) against a 4-validator consortium's HTTP API (ports
# 18900-19067): it builds and signs every tx itself, follows /v1/events until each commits,
# and trialctl verify-receipt checks the consent's receipt file it fetched.
set -euo pipefail
T=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
D=$2/independent-client
PORT=18900
fail() { echo "independent_client: FAIL: $*" >&2; tail -n 3 "$D"/node-*/node.log >&2 || true; exit 1; }
/usr/bin/python3 -c 'import msgpack, nacl.signing' 2>/dev/null || fail "python3-msgpack and python3-nacl are needed"
. "$(dirname "$0")/lib.sh"
consortium_up "$T" "$D" $PORT || fail "cluster up"
HTTP=http://127.0.0.1:$((PORT + 164))
/usr/bin/python3 "$(dirname "$0")/../independent/http_client.py" "$HTTP" "$D" "$T" || fail "the Python client"
echo "independent_client: OK"
