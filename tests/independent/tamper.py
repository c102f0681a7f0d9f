#!/usr/bin/python3
"""Makes the bad exports and proofs that tests/independent/run.sh shows both verifiers refuse.

Written, like verify_export.py (whose msgpack and Merkle helpers it uses), from
docs/FORMATS.md alone. Each command writes OUT and prints what it changed.

  tamper.py reanchor EXPORT PROOF HEIGHT OUT
      An inclusion proof (6.2) moved to a later certified block: the header and result
      certificate of block HEIGHT, and a valid RFC 9162 path from the same leaf to that
      block's log root. Everything verifies but "the block is the committing block".
  tamper.py self-consistency PROOF OUT
      A consistency proof whose old block is its new block (old height = new height).
  tamper.py strip-last-cert EXPORT OUT
      The export with the last entry's result certificate replaced by nil (an
      uncertified tail of one block).
  tamper.py ok-receipt-code EXPORT KEYS HEIGHT INDEX CODE OUT
      Receipt INDEX of block HEIGHT (status OK) gets error code CODE, and the block's result
      certificate is signed again over the new receipts root by every validator key
      KEYS/v0.key, v1.key, ... (validators colluding): only the receipt rule (5.4) is left
      to refuse it.
  tamper.py time-zero EXPORT KEYS OUT
      The last block's batch time set to 0 (a null batch's time) although it has txs; its
      commit and result certificates signed again by the validator keys, so only the rule
      of 5.2 is left to refuse it.
"""
import os
import sys

import msgpack
import nacl.signing

import verify_export as vx


def read_export(path):
    data = open(path, "rb").read()
    up = msgpack.Unpacker(raw=False, max_buffer_size=len(data))
    up.feed(data)
    header = up.unpack()
    entries = [up.unpack() for _ in range(header[3])]
    return header, entries


def write_values(path, values):
    with open(path, "wb") as fh:
        for v in values:
            fh.write(vx.pack(v))


def read_value(path):
    return msgpack.unpackb(open(path, "rb").read(), raw=False)


def entry_leaf(tx):
    return tx[0] if vx.is_pruned(tx) else vx.leaf_hash(vx.pack(tx))


def inclusion_path(index, leaves):
    """RFC 9162 2.1.3.1 PATH(m, D[n])."""
    n = len(leaves)
    if n <= 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if index < k:
        return inclusion_path(index, leaves[:k]) + [vx.mth(leaves[k:])]
    return inclusion_path(index - k, leaves[k:]) + [vx.mth(leaves[:k])]


def reanchor(export_path, proof_path, height, out):
    _, entries = read_export(export_path)
    proof = read_value(proof_path)
    assert proof[0] == 1, "not an inclusion proof"
    block, rcert = entries[height - 1]
    assert rcert is not None, f"block {height} has no result certificate"
    leaves = [entry_leaf(tx) for b, _ in entries[:height] for tx in b[1]]
    assert len(leaves) == block[0][2]
    proof[3], proof[4] = block[0], rcert
    proof[5] = inclusion_path(proof[2], leaves)
    write_values(out, [proof])
    print(f"leaf {proof[2]} re-anchored at height {height} (log size {len(leaves)})")


def self_consistency(proof_path, out):
    proof = read_value(proof_path)
    assert proof[0] == 2, "not a consistency proof"
    write_values(out, [[2, proof[3], proof[4], proof[3], proof[4], []]])
    print(f"consistency of block {proof[3][0][0]} with itself")


def strip_last_cert(export_path, out):
    header, entries = read_export(export_path)
    entries[-1][1] = None
    write_values(out, [header] + entries)
    print(f"result certificate of block {len(entries)} removed")


def validator_keys(keys_dir):
    """KEYS/v0.key, v1.key, ... (6.3 secret key files), in genesis validator order."""
    keys = []
    while os.path.exists(f"{keys_dir}/v{len(keys)}.key"):
        lines = open(f"{keys_dir}/v{len(keys)}.key").read().split("\n")
        assert lines[1].startswith("seed "), "not a trialreg secret key file"
        keys.append(nacl.signing.SigningKey(bytes.fromhex(lines[1][5:])))
    assert len(keys) >= 4, f"no validator keys v0.key.. in {keys_dir}"
    return keys


def sign_all(keys, chain_id, tag, body):
    """vsigs of the first 2f+1 validators (FORMATS 5.5)."""
    quorum = 2 * ((len(keys) - 1) // 3) + 1
    return [[v, keys[v].sign(tag + chain_id + body).signature] for v in range(quorum)]


def recertify(header, entries, height, keys, commit=False):
    """Signs block HEIGHT's commit certificate (if asked) and result certificate again."""
    chain_id = header[2]
    block, rcert = entries[height - 1]
    if commit:
        batch_hash = vx.sha256(vx.pack(block[0][0]))
        cbody = [height, block[4][1], batch_hash]
        block[4] = cbody + [sign_all(keys, chain_id, vx.TAG_COMMIT, vx.pack(cbody))]
    rbody = [height, vx.sha256(vx.pack(block[0])), rcert[2],
             vx.mth([vx.leaf_hash(vx.pack(r)) for r in block[2]])]
    entries[height - 1][1] = rbody + [sign_all(keys, chain_id, vx.TAG_CHECKPOINT,
                                               vx.pack(rbody))]


def ok_receipt_code(export_path, keys_dir, height, index, code, out):
    header, entries = read_export(export_path)
    receipt = entries[height - 1][0][2][index]
    assert receipt[1] == 0 and receipt[2] == 0, "not an OK receipt"
    receipt[2] = code
    recertify(header, entries, height, validator_keys(keys_dir))
    write_values(out, [header] + entries)
    print(f"receipt {index} of block {height}: status OK, error code {code}; result "
          "certificate signed again")


def time_zero(export_path, keys_dir, out):
    header, entries = read_export(export_path)
    height = len(entries)
    batch = entries[-1][0][0][0]
    assert batch[3] > 0, "the last block has no txs"
    batch[1] = 0
    recertify(header, entries, height, validator_keys(keys_dir), commit=True)
    write_values(out, [header] + entries)
    print(f"block {height}: time 0 with {batch[3]} txs; both certificates signed again")


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "reanchor":
        reanchor(args[0], args[1], int(args[2]), args[3])
    elif cmd == "self-consistency":
        self_consistency(args[0], args[1])
    elif cmd == "strip-last-cert":
        strip_last_cert(args[0], args[1])
    elif cmd == "ok-receipt-code":
        ok_receipt_code(args[0], args[1], int(args[2]), int(args[3]), int(args[4]), args[5])
    elif cmd == "time-zero":
        time_zero(args[0], args[1], args[2])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
