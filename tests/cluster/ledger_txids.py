#!/usr/bin/python3
"""ledger_txids.py EXPORT [ACKED...] - what a crash-loop run's ledger holds.

Reads a ledger export (docs/FORMATS.md; decoded with the independent verifier's strict
reader, tests/independent/verify_export.py, after `trialctl audit` has verified it) and
prints: the txs it holds, the tx ids committed more than once (a request PBFT ordered
twice across a view change; the executor refuses the second as a nonce replay), and, for
each ACKED file (hex tx ids, one a line, as `trialctl bench cluster --acked` writes them),
how many of the ids a client was told committed OK are in the ledger with an OK receipt.
Exit 0 only if every acknowledged id is there.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "independent"))
import verify_export as vx  # noqa: E402

RECEIPT_OK = 0


def receipts(export_bytes):
    """(tx_id, status) of every receipt, in ledger order."""
    r = vx.Reader(export_bytes, "export")
    header = r.next()
    for _ in range(header[3]):
        block, _cert = r.next()
        for rc in block[2]:
            yield bytes(rc[0]), rc[1]


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        data = f.read()
    seen, ok_ids, repeated = {}, set(), 0
    for tx_id, status in receipts(data):
        seen[tx_id] = seen.get(tx_id, 0) + 1
        if seen[tx_id] == 2:
            repeated += 1
        if status == RECEIPT_OK:
            ok_ids.add(tx_id)
    extra = sum(c - 1 for c in seen.values())
    print(f"txs {sum(seen.values())}, distinct ids {len(seen)}, "
          f"ids committed more than once {repeated} ({extra} extra entries)")
    missing = 0
    acked = 0
    for path in argv[2:]:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                acked += 1
                if bytes.fromhex(line) not in ok_ids:
                    missing += 1
                    if missing <= 5:
                        print(f"acknowledged but not in the ledger with an OK receipt: {line}")
    if len(argv) > 2:
        print(f"acknowledged {acked}, present {acked - missing}, missing {missing}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
