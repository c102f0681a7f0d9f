#!/usr/bin/python3
"""Independent verifier of a trialreg ledger export file, and of proof files.

Written from docs/FORMATS.md alone: it does not call or share code with the
C implementation. It uses Python's msgpack (Debian python3-msgpack) to decode;
canonical form is checked byte by byte (section 1: the shortest encoding of
every integer and every length, only the allowed types), and by re-packing
every top-level value and comparing the bytes. It checks every field's type
and bounds, and recomputes everything an auditor checks: chain id, tx roots,
the ledger-wide RFC 9162 log, receipts roots, the state-hash chain, block hash
links, block times, and every Ed25519 signature (Debian python3-nacl).

Validator-set changes (FORMATS.md 5.12, 6.4) are followed: the export's governance.validators
events, and the changes a receipt or proof file carries, say which validators certify each
height.

usage: verify_export.py [--allow-uncertified-tail] GENESIS_FILE EXPORT_FILE
       verify_export.py --proof GENESIS_FILE PROOF_FILE
       verify_export.py --receipt GENESIS_FILE RECEIPT_FILE
exit:  0 the export (or proof, or receipt) verifies, 1 it does not (height and reason
       printed), or the export ends in blocks without a result certificate
       (not verified; exit 0 with --allow-uncertified-tail), 2 bad command line.
"""
import hashlib
import sys

import msgpack
import nacl.exceptions
import nacl.signing

# ---- limits (docs/FORMATS.md, "Limits") -------------------------------------
NAME_MAX = 32
ARGS_MAX = 16
ARG_BYTES_MAX = 1024
COSIGS_MAX = 20
REQUIREMENT_KEYS_MAX = 5
CHANGES_MAX = 256
CLIENT_MESSAGE_MAX = 8 * 1024 * 1024
WINDOW = 16  # heights per boundary window (5.12)
TX_MAX = 24 * 1024
REASON_MAX = 160
EVENTS_MAX = 16
EVENT_DATA_MAX = 1024
VALIDATORS_MIN, VALIDATORS_MAX = 4, 16
AUTHORITIES_MAX = 256
CONTRACTS_MAX = 16
BYTECODE_MAX = 256 * 1024
CHAIN_NAME_MAX = 64
BLOCK_TXS_MAX = 4096
WRITES_MAX = 65536
KEY_MAX = 256
VALUE_MAX = 4096
PROOF_PATH_MAX = 64
U64_MAX = 2**64 - 1
U32_MAX = 2**32 - 1
I64_MIN, I64_MAX = -(2**63), 2**63 - 1

# ---- domain tags (verbatim) -----------------------------------------------------
TAG_TX = b"trialreg/v1/tx"
TAG_COSIG = b"trialreg/v1/cosig"
TAG_COMMIT = b"trialreg/v1/commit"
TAG_CHECKPOINT = b"trialreg/v1/checkpoint"
TAG_STATE = b"trialreg/v1/state"
EXPORT_MAGIC = "trialreg-ledger"


class Failure(Exception):
    def __init__(self, reason, height=0, tx=None):
        super().__init__(reason)
        self.reason = reason
        self.height = height
        self.tx = tx


def sha256(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


def pack(value):
    return msgpack.packb(value, use_bin_type=True)


# ---- field checks ------------------------------------------------------------------
def want_array(v, name, lo, hi):
    if type(v) is not list:
        raise Failure(f"{name}: wrong type (want array)")
    if not lo <= len(v) <= hi:
        raise Failure(f"{name}: {len(v)} elements, want {lo}..{hi}")
    return v


def want_uint(v, name, hi=U64_MAX, lo=0):
    if type(v) is not int:  # bool is not int here
        raise Failure(f"{name}: wrong type (want uint)")
    if not lo <= v <= hi:
        raise Failure(f"{name}: {v} out of range {lo}..{hi}")
    return v


def want_int64(v, name):
    if type(v) is not int:
        raise Failure(f"{name}: wrong type (want int)")
    if not I64_MIN <= v <= I64_MAX:
        raise Failure(f"{name}: {v} out of int64 range")
    return v


def want_bin(v, name, lo, hi):
    if type(v) is not bytes:
        raise Failure(f"{name}: wrong type (want bin)")
    if not lo <= len(v) <= hi:
        raise Failure(f"{name}: {len(v)} bytes, want {lo}..{hi}")
    return v


def want_str(v, name, hi):
    if type(v) is not str:
        raise Failure(f"{name}: wrong type (want str)")
    raw = v.encode("utf-8")  # msgpack decoded it as strict UTF-8 already
    if len(raw) > hi:
        raise Failure(f"{name}: {len(raw)} bytes, want at most {hi}")
    if "\x00" in v:
        raise Failure(f"{name}: contains NUL")
    return v


def want_hash(v, name):
    return want_bin(v, name, 32, 32)


# ---- canonical form (FORMATS.md section 1), byte by byte ------------------------------
# Decoding and re-encoding is not enough in general (a library that decodes a uint64 into a
# 64-bit type may re-encode `cf 00 00 00 00 00 00 00 05` to itself), so every header is
# checked here for the shortest form of its value.
def _be(data, at, width):
    if at + width > len(data):
        raise Failure(f"truncated value at byte {at}")
    return int.from_bytes(data[at:at + width], "big")


def canonical_end(data, at):
    """Checks the value at `at` and everything nested in it; returns the offset after it."""
    pending = 1  # values still to read
    while pending:
        pending -= 1
        if at >= len(data):
            raise Failure(f"truncated value at byte {at}")
        b = data[at]
        start = at
        if b <= 0x7f or b >= 0xe0 or b == 0xc0:  # positive / negative fixint, nil
            at += 1
        elif 0x90 <= b <= 0x9f:  # fixarray
            pending += b & 0x0f
            at += 1
        elif 0xa0 <= b <= 0xbf:  # fixstr
            at += 1 + (b & 0x1f)
        elif b in (0xcc, 0xcd, 0xce, 0xcf):  # uint 8/16/32/64
            width = 1 << (b - 0xcc)
            v = _be(data, at + 1, width)
            if v < (0x80, 0x100, 0x10000, 0x100000000)[b - 0xcc]:
                raise Failure(f"non-canonical: uint at byte {start} is not in its shortest form")
            at += 1 + width
        elif b in (0xd0, 0xd1, 0xd2, 0xd3):  # int 8/16/32/64: only for values below -32
            width = 1 << (b - 0xd0)
            v = _be(data, at + 1, width)
            if v >= 1 << (8 * width - 1):
                v -= 1 << (8 * width)
            if v >= 0:
                raise Failure(f"non-canonical: int at byte {start} is >= 0 (uint forms only)")
            if v >= (-32, -128, -32768, -(2**31))[b - 0xd0]:
                raise Failure(f"non-canonical: int at byte {start} is not in its shortest form")
            at += 1 + width
        elif b in (0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb):  # bin 8/16/32, str 8/16/32
            is_bin = b <= 0xc6
            kind = b - (0xc4 if is_bin else 0xd9)
            width = 1 << kind
            n = _be(data, at + 1, width)
            shortest = (0 if is_bin else 32, 256, 65536)[kind]
            if n < shortest:
                raise Failure(f"non-canonical: length at byte {start} is not in its shortest "
                              "form")
            at += 1 + width + n
        elif b in (0xdc, 0xdd):  # array 16/32
            width = 2 if b == 0xdc else 4
            n = _be(data, at + 1, width)
            if n < (16 if width == 2 else 65536):
                raise Failure(f"non-canonical: array length at byte {start} is not in its "
                              "shortest form")
            pending += n
            at += 1 + width
        else:  # map, float, bool, ext, 0xc1
            raise Failure(f"byte {start}: type 0x{b:02x} is never used in trialreg formats")
        if at > len(data):
            raise Failure(f"truncated value at byte {start}")
    return at


# ---- decoding with the canonical check -------------------------------------------------
class Reader:
    """Top-level msgpack values of one file, each checked canonical."""

    def __init__(self, data, what):
        self.data = data
        self.what = what
        self.up = msgpack.Unpacker(raw=False, use_list=True, strict_map_key=True,
                                   max_buffer_size=max(len(data), 1))
        self.up.feed(data)

    def at_end(self):
        return self.up.tell() == len(self.data)

    def offset(self):
        return self.up.tell()

    def next(self):
        start = self.up.tell()
        try:
            end = canonical_end(self.data, start)
        except Failure as e:
            raise Failure(f"{self.what}: {e.reason}")
        try:
            value = self.up.unpack()
        except msgpack.OutOfData:
            raise Failure(f"{self.what}: truncated value at byte {start}")
        except Exception as e:  # invalid UTF-8, reserved byte, limits
            raise Failure(f"{self.what}: does not decode at byte {start}: {e}")
        if self.up.tell() != end:
            raise Failure(f"{self.what}: value at byte {start} does not decode as scanned")
        try:
            again = pack(value)
        except Exception as e:
            raise Failure(f"{self.what}: value at byte {start} does not re-encode: {e}")
        if again != self.data[start:end]:
            raise Failure(f"{self.what}: value at byte {start} is not canonical msgpack")
        return value


# ---- Merkle (RFC 9162) ----------------------------------------------------------------------
EMPTY_ROOT = sha256(b"")


def leaf_hash(data):
    return sha256(b"\x00", data)


def node_hash(left, right):
    return sha256(b"\x01", left, right)


def mth(leaves):
    """RFC 9162 MTH over a list of leaf hashes (recursive definition)."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


class Log:
    """Append-only RFC 9162 tree: perfect subtrees, biggest first."""

    def __init__(self):
        self.size = 0
        self.stack = []

    def append(self, leaf):
        h, s = leaf, self.size
        while s & 1:
            h = node_hash(self.stack.pop(), h)
            s >>= 1
        self.stack.append(h)
        self.size += 1

    def root(self):
        if not self.stack:
            return EMPTY_ROOT
        acc = self.stack[-1]
        for h in reversed(self.stack[:-1]):
            acc = node_hash(h, acc)
        return acc


# ---- structures --------------------------------------------------------------------------
# genesis.rules (FORMATS.md 5.9): [name, lo, hi]; a value outside is refused, the field named.
MESSAGE_BYTES_DEFAULT = 4 << 20
RULES = [
    ("rules_version", 1, 1), ("gas_schedule", 1, 1),
    ("tx_gas_limit", 1, I64_MAX), ("block_gas_limit", 1, I64_MAX),
    ("vm_memory_bytes", 1, 16 << 20), ("vm_call_depth", 1, 1024),
    ("vm_writes_max", 1, 4096), ("vm_events_max", 1, 1024),
    ("max_batch_txs", 1, BLOCK_TXS_MAX),
    ("block_bytes_max", TX_MAX, MESSAGE_BYTES_DEFAULT - (64 << 10)),
    ("nonce_rule", 1, 1), ("valid_for_max_ms", 60000, 86400000),
    ("anchor_window_ms", 1, 366 * 86400000), ("clock_skew_ms", 1, 60000),
    ("rebind_delay_ms", 1, 90 * 86400000),
]
GOVERNANCE_KINDS = 5  # authorities, validators, deploy, rules, regulators
ROLE_REGULATOR = 3
ROLE_AUDITOR = 6


def check_rules(r):
    want_array(r, "genesis.rules", len(RULES), len(RULES))
    for v, (name, lo, hi) in zip(r, RULES):
        want_uint(v, f"genesis.rules.{name}", hi, lo)
    if r[2] > r[3]:
        raise Failure("genesis.rules.tx_gas_limit: above block_gas_limit")


def check_governance(gov, authorities):
    want_array(gov, "genesis.governance", GOVERNANCE_KINDS, GOVERNANCE_KINDS)
    for k, req in enumerate(gov):
        want_array(req, f"genesis.governance[{k}]", 2, 2)
        if want_uint(req[0], f"genesis.governance[{k}].kind") != k + 1:
            raise Failure(f"genesis.governance[{k}].kind: kinds 1..5, each once, in order")
        roles = want_array(req[1], f"genesis.governance[{k}].roles", 1, 4)
        prev, keys = 0, 0
        for rc in roles:
            want_array(rc, f"genesis.governance[{k}].roles[]", 2, 2)
            role = want_uint(rc[0], f"genesis.governance[{k}].roles[].role", 4, 1)
            count = want_uint(rc[1], f"genesis.governance[{k}].roles[].count", REQUIREMENT_KEYS_MAX, 1)
            if role <= prev:
                raise Failure(f"genesis.governance[{k}].roles[].role: not increasing")
            if k + 1 == GOVERNANCE_KINDS and role != ROLE_REGULATOR:
                raise Failure(f"genesis.governance[{k}].roles[].role: a regulator's change is signed by regulators only")
            if sum(1 for a in authorities if a[0] == role) < count:
                raise Failure(f"genesis.governance[{k}].roles[].count: above the authorities of that role")
            prev, keys = role, keys + count
        if keys > REQUIREMENT_KEYS_MAX:
            raise Failure(f"genesis.governance[{k}].roles: more keys than a requirement may name")


def check_genesis(g):
    want_array(g, "genesis", 7, 8)
    version = want_uint(g[0], "genesis.version")
    if version in (1, 2):
        raise Failure(f"genesis.version: a version {version} genesis is no longer accepted "
                      "(trialctl genesis upgrade converts it: a new chain)")
    if version != 3 or len(g) != 8:
        raise Failure("genesis.version: must be 3 (with 8 fields)")
    want_str(g[1], "genesis.chain_name", CHAIN_NAME_MAX)
    want_uint(g[2], "genesis.created_ms")
    check_rules(g[3])
    vals = want_array(g[4], "genesis.validators", VALIDATORS_MIN, VALIDATORS_MAX)
    if (len(vals) - 1) % 3 != 0:
        raise Failure(f"genesis.validators: n = {len(vals)} is not 3f+1 (4, 7, 10, 13, 16)")
    for i, v in enumerate(vals):
        want_array(v, f"genesis.validators[{i}]", 2, 2)
        want_str(v[0], f"genesis.validators[{i}].name", NAME_MAX)
        want_bin(v[1], f"genesis.validators[{i}].key", 32, 32)
    if len({bytes(v[1]) for v in vals}) != len(vals):
        raise Failure("genesis.validators: keys must be distinct")
    for i, a in enumerate(want_array(g[5], "genesis.authorities", 0, AUTHORITIES_MAX)):
        want_array(a, f"genesis.authorities[{i}]", 4, 4)
        if want_uint(a[0], f"genesis.authorities[{i}].role", ROLE_AUDITOR, 1) == 5:
            raise Failure(f"genesis.authorities[{i}].role: participants are never in a genesis")
        want_str(a[1], f"genesis.authorities[{i}].site", NAME_MAX)
        if (a[0] == 2) != (a[1] != ""):
            raise Failure(f"genesis.authorities[{i}].site: investigators, and only they, name a site")
        want_str(a[2], f"genesis.authorities[{i}].name", NAME_MAX)
        want_bin(a[3], f"genesis.authorities[{i}].key", 32, 32)
    auth_keys = [bytes(a[3]) for a in g[5]]
    if len(set(auth_keys)) != len(auth_keys):
        raise Failure("genesis.authorities: keys must be distinct")
    for i, c in enumerate(want_array(g[6], "genesis.contracts", 0, CONTRACTS_MAX)):
        want_array(c, f"genesis.contracts[{i}]", 3, 3)
        want_str(c[0], f"genesis.contracts[{i}].name", NAME_MAX)
        want_uint(c[1], f"genesis.contracts[{i}].version", U32_MAX)
        want_bin(c[2], f"genesis.contracts[{i}].bytecode", 1, BYTECODE_MAX)
    check_governance(g[7], g[5])
    return [v[1] for v in vals]


def check_batch_header(b):
    want_array(b, "batch_header", 4, 4)
    want_uint(b[0], "batch_header.height")
    want_uint(b[1], "batch_header.time_ms")
    want_hash(b[2], "batch_header.tx_root")
    want_uint(b[3], "batch_header.tx_count", BLOCK_TXS_MAX)
    if b[1] == 0 and b[3] != 0:  # 5.2: time 0 is a null batch's, which has no txs
        raise Failure("batch_header.time_ms: 0 (a null batch's) in a batch with txs")


def check_block_header(h):
    want_array(h, "block_header", 4, 4)
    check_batch_header(h[0])
    want_hash(h[1], "block_header.prev_hash")
    want_uint(h[2], "block_header.log_size")
    want_hash(h[3], "block_header.log_root")


def check_tx(t):
    want_array(t, "tx", 8, 8)
    want_bin(t[0], "tx.signer", 32, 32)
    want_uint(t[1], "tx.nonce")
    want_uint(t[2], "tx.valid_until")
    want_str(t[3], "tx.contract", NAME_MAX)
    want_str(t[4], "tx.method", NAME_MAX)
    for i, a in enumerate(want_array(t[5], "tx.args", 0, ARGS_MAX)):
        if type(a) is bytes:
            want_bin(a, f"tx.args[{i}]", 0, ARG_BYTES_MAX)
        else:
            want_int64(a, f"tx.args[{i}]")
    for i, c in enumerate(want_array(t[6], "tx.cosigs", 0, COSIGS_MAX)):
        want_array(c, f"tx.cosigs[{i}]", 3, 3)
        want_bin(c[0], f"tx.cosigs[{i}].key", 32, 32)
        want_uint(c[1], f"tx.cosigs[{i}].meaning", 5, 1)
        want_bin(c[2], f"tx.cosigs[{i}].sig", 64, 64)
    cosigners = [bytes(c[0]) for c in t[6]]
    if len(set(cosigners)) != len(cosigners) or bytes(t[0]) in cosigners:
        raise Failure("tx.cosigs: co-signer keys must differ from the signer and each other")
    want_bin(t[7], "tx.sig", 64, 64)


def check_pruned(t):
    """FORMATS.md 5.10: what a block keeps of a tx refused for its signer or its route."""
    want_array(t, "pruned", 9, 9)
    want_hash(t[0], "pruned.leaf_hash")
    want_hash(t[1], "pruned.tx_id")
    want_bin(t[2], "pruned.signer", 32, 32)
    want_uint(t[3], "pruned.nonce")
    want_uint(t[4], "pruned.valid_until")
    want_str(t[5], "pruned.contract", NAME_MAX)
    want_str(t[6], "pruned.method", NAME_MAX)
    want_uint(t[7], "pruned.arg_count", ARGS_MAX)
    want_uint(t[8], "pruned.arg_kinds", (1 << t[7]) - 1)


def is_pruned(t):
    return isinstance(t, list) and len(t) == 9


def check_receipt(r):
    want_array(r, "receipt", 6, 6)
    want_hash(r[0], "receipt.tx_id")
    want_uint(r[1], "receipt.status", 3)
    want_uint(r[2], "receipt.error_code", U32_MAX)
    want_str(r[3], "receipt.reason", REASON_MAX)
    want_uint(r[4], "receipt.gas_used")
    if r[1] == 0 and (r[2] != 0 or r[3] != ""):  # 5.4: OK has code 0 and no reason
        raise Failure("receipt: an OK receipt with an error code or a reason")
    for i, e in enumerate(want_array(r[5], "receipt.events", 0, EVENTS_MAX)):
        want_array(e, f"receipt.events[{i}]", 2, 2)
        want_str(e[0], f"receipt.events[{i}].topic", NAME_MAX)
        want_bin(e[1], f"receipt.events[{i}].data", 0, EVENT_DATA_MAX)


def check_vsigs(sigs, name):
    want_array(sigs, name, 1, VALIDATORS_MAX)
    prev = -1
    for i, s in enumerate(sigs):
        want_array(s, f"{name}[{i}]", 2, 2)
        want_uint(s[0], f"{name}[{i}].validator", VALIDATORS_MAX - 1)
        if s[0] <= prev:
            raise Failure(f"{name}[{i}]: validator indexes not strictly increasing")
        prev = s[0]
        want_bin(s[1], f"{name}[{i}].sig", 64, 64)


def check_commit_cert(c):
    want_array(c, "commit_cert", 4, 4)
    want_uint(c[0], "commit_cert.height")
    want_uint(c[1], "commit_cert.view")
    want_hash(c[2], "commit_cert.batch_hash")
    check_vsigs(c[3], "commit_cert.sigs")


def check_result_cert(c):
    want_array(c, "result_cert", 5, 5)
    want_uint(c[0], "result_cert.height")
    want_hash(c[1], "result_cert.block_hash")
    want_hash(c[2], "result_cert.state_hash")
    want_hash(c[3], "result_cert.receipts_root")
    check_vsigs(c[4], "result_cert.sigs")


def check_block(b):
    want_array(b, "block", 5, 5)
    check_block_header(b[0])
    for t in want_array(b[1], "block.txs", 0, BLOCK_TXS_MAX):
        if is_pruned(t):
            check_pruned(t)
        else:
            check_tx(t)
    for r in want_array(b[2], "block.receipts", 0, BLOCK_TXS_MAX):
        check_receipt(r)
    for i, w in enumerate(want_array(b[3], "block.writes", 0, WRITES_MAX)):
        want_array(w, f"block.writes[{i}]", 2, 2)
        want_bin(w[0], f"block.writes[{i}].key", 1, KEY_MAX)
        if w[1] is not None:
            want_bin(w[1], f"block.writes[{i}].value", 0, VALUE_MAX)
    check_commit_cert(b[4])


# ---- signatures -------------------------------------------------------------------------
class Signatures:
    def __init__(self, chain_id):
        self.chain_id = chain_id
        self.count = 0

    def verify(self, key, tag, body, sig):
        """Ed25519 over tag || chain id || body."""
        self.count += 1
        try:
            nacl.signing.VerifyKey(key).verify(tag + self.chain_id + body, sig)
            return True
        except (nacl.exceptions.BadSignatureError, ValueError, TypeError,
                nacl.exceptions.CryptoError):
            return False


# ---- validator sets (FORMATS.md 5.12) ------------------------------------------------------
def quorum_of(n):
    return 2 * ((n - 1) // 3) + 1


class ValsetHistory:
    """The validator sets from the genesis on: [(boundary, committing height, [[name, key]])].
    A change committed at height h is in force from B = (h // 16 + 2) * 16."""

    def __init__(self, genesis):
        self.sets = [(1, 0, [[v[0], bytes(v[1])] for v in genesis[4]])]
        self.last_height = 0

    def at(self, height):
        """(keys, quorum, first height of the set) in force at height."""
        for boundary, _, members in reversed(self.sets):
            if boundary <= height:
                keys = [m[1] for m in members]
                return keys, quorum_of(len(keys)), boundary
        raise AssertionError("the genesis set covers height 1 on")

    @staticmethod
    def check_set(cur, new):
        n = len(new)
        if n < 4:
            raise Failure(f"{n} validators: fewer than 4")
        if n > VALIDATORS_MAX or (n - 1) % 3:
            raise Failure(f"n = {n} is not allowed (4, 7, 10, 13 or 16)")
        names = [m[0] for m in new]
        keys = [m[1] for m in new]
        if any(not name for name in names):
            raise Failure("a validator has no name")
        if len(set(names)) != n or len(set(keys)) != n:
            raise Failure("two validators have the same name or key")
        cur_keys = {m[1] for m in cur}
        same = lambda a, b: a[0] == b[0] and a[1] == b[1]
        if n == len(cur) + 3:  # growth: the current set in order, then 3 new keys
            if not all(same(cur[i], new[i]) for i in range(len(cur))):
                raise Failure("growth must keep the current validators in their order")
            if any(m[1] in cur_keys for m in new[len(cur):]):
                raise Failure("an added validator's key is a current validator's")
        elif n + 3 == len(cur):  # shrink: remove exactly 3, keep the order
            k = 0
            for m in cur:
                if k < n and same(m, new[k]):
                    k += 1
            if k != n:
                raise Failure("a shrink must remove exactly 3 validators and keep the others")
        elif n == len(cur):  # replace 1..f positions with new keys
            changed = [i for i in range(n) if not same(cur[i], new[i])]
            if any(new[i][1] in cur_keys for i in changed):
                raise Failure("a replaced position holds a current validator's key")
            if not changed:
                raise Failure("the new set is the current set")
            if len(changed) > (len(cur) - 1) // 3:
                raise Failure(f"{len(changed)} validators replaced: at most f at once")
        else:
            raise Failure(f"n {len(cur)} -> {n}: grow by 3, shrink by 3 or keep n")

    def record(self, height, contract, receipt):
        """An OK receipt of a governance tx at height: follow its governance.validators events."""
        if contract != "governance" or receipt[1] != 0:
            return False
        if height < self.last_height:
            raise Failure(f"a change at height {height} after height {self.last_height}")
        changed = False
        for topic, data in receipt[5]:
            if topic != "governance.validators":
                continue
            rd = Reader(bytes(data), "valset_event")
            ev = rd.next()
            if not rd.at_end():
                raise Failure("valset_event: trailing bytes")
            want_array(ev, "valset_event", 2, 2)
            boundary = want_uint(ev[0], "valset_event.boundary")
            members = want_array(ev[1], "valset", 1, VALIDATORS_MAX)
            for i, m in enumerate(members):
                want_array(m, f"valset[{i}]", 2, 2)
                want_str(m[0], f"valset[{i}].name", NAME_MAX)
                want_bin(m[1], f"valset[{i}].key", 32, 32)
            new = [[m[0], bytes(m[1])] for m in members]
            if boundary != (height // WINDOW + 2) * WINDOW:
                raise Failure(f"boundary {boundary} of a change committed at height {height}: "
                              f"must be {(height // WINDOW + 2) * WINDOW}")
            if self.sets[-1][0] > height:
                raise Failure(f"a change at height {height} while the change to boundary "
                              f"{self.sets[-1][0]} is pending")
            self.check_set(self.sets[-1][2], new)
            self.sets.append((boundary, height, new))
            self.last_height = height
            changed = True
        return changed


# ---- the verifier ------------------------------------------------------------------------
def load_genesis(genesis_bytes):
    """Decodes and checks the genesis; returns (genesis, validator keys, quorum, chain id)."""
    gr = Reader(genesis_bytes, "genesis")
    genesis = gr.next()
    if not gr.at_end():
        raise Failure("genesis: trailing bytes")
    validators = check_genesis(genesis)
    f = (len(validators) - 1) // 3
    return genesis, validators, 2 * f + 1, sha256(genesis_bytes)


def verify(genesis_bytes, export_bytes):
    """Returns a summary dict; raises Failure."""
    genesis, validators, quorum, chain_id = load_genesis(genesis_bytes)
    genesis_created_ms = genesis[2]
    n = len(validators)
    sigs = Signatures(chain_id)
    history = ValsetHistory(genesis)

    er = Reader(export_bytes, "export")
    header = er.next()
    want_array(header, "export.header", 4, 4)
    if want_str(header[0], "export.header.magic", NAME_MAX) != EXPORT_MAGIC:
        raise Failure("export.header.magic: not a trialreg ledger export")
    if want_uint(header[1], "export.header.version", 1) != 1:
        raise Failure("export.header.version: must be 1")
    want_hash(header[2], "export.header.chain_id")
    block_count = want_uint(header[3], "export.header.block_count")
    if header[2] != chain_id:
        raise Failure("the export belongs to another chain (chain id differs)")

    log = Log()
    prev_block_hash = bytes(32)
    state_hash = chain_id
    prev_time = genesis_created_ms  # effective times start after the genesis
    ran = {}  # (signer, nonce) -> valid_until of the tx that ran with it
    valid_for_max_ms = genesis[3][[n for n, _, _ in RULES].index("valid_for_max_ms")]
    total_txs = 0
    pruned_count = 0
    uncertified_from = 0
    height = 0
    for height in range(1, block_count + 1):
        try:
            if er.at_end():
                raise Failure(f"file ends after {height - 1} of {block_count} blocks")
            entry = er.next()
            want_array(entry, "export.entry", 2, 2)
            block, rcert = entry
            check_block(block)
            if rcert is not None:
                check_result_cert(rcert)
        except Failure as e:
            raise Failure(e.reason, height)

        bh, txs, receipts, writes, ccert = block
        batch = bh[0]
        b_height, b_time, tx_root, tx_count = batch
        if b_height != height:
            raise Failure(f"block holds height {b_height}", height)
        if bh[1] != prev_block_hash:
            raise Failure("previous block hash does not link", height)
        if tx_count != len(txs):
            raise Failure("tx count differs", height)
        eff_time = max(b_time, prev_time + 1)  # the effective block time

        # txs: size, id, leaves, author signature, co-signatures
        tx_ids, leaves = [], []
        for i, tx in enumerate(txs):
            raw = pack(tx)
            if len(raw) > TX_MAX:
                raise Failure(f"tx is {len(raw)} bytes, more than {TX_MAX}", height, i)
            if is_pruned(tx):  # 5.10: id and leaf are kept, no signature is left
                tx_ids.append(tx[1])
                leaves.append(tx[0])
                log.append(leaves[-1])
                pruned_count += 1
                continue
            tx_ids.append(sha256(raw))
            leaves.append(leaf_hash(raw))
            log.append(leaves[-1])
            body = pack(tx[0:6])
            if not sigs.verify(tx[0], TAG_TX, body, tx[7]):
                raise Failure("tx author signature is invalid", height, i)
            body_hash = sha256(body)
            for k, (key, meaning, sig) in enumerate(tx[6]):
                cbody = pack([body_hash, meaning, key])
                if not sigs.verify(key, TAG_COSIG, cbody, sig):
                    raise Failure(f"co-signature {k} is invalid", height, i)
        if mth(leaves) != tx_root:
            raise Failure("tx root does not match the txs", height)
        if log.size != bh[2] or log.root() != bh[3]:
            raise Failure("log size or log root does not match the ledger's txs", height)

        # receipts
        if len(receipts) != len(txs):
            raise Failure(f"{len(receipts)} receipts for {len(txs)} txs", height)
        for i, r in enumerate(receipts):
            if r[0] != tx_ids[i]:
                raise Failure("receipt names another tx", height, i)
            if is_pruned(txs[i]) and (r[1] != 2 or not (4 <= r[2] <= 7 or r[2] in (16, 19)) or r[5] != [
                    ["tx.pruned", sha256(pack(txs[i]))]]):
                raise Failure("a pruned tx whose receipt is not a refusal of its signer or "
                              "route", height, i)
            if not is_pruned(txs[i]) and r[1] == 2 and (4 <= r[2] <= 7 or r[2] in (16, 19)):
                raise Failure("a tx refused for its signer or route is kept whole (5.10: "
                              "it is kept pruned)", height, i)
            # 5.1: a tx that ran (any status but INVALID) was unexpired at its block's
            # effective time, and its (signer, nonce) had not run with a valid_until after it
            if r[1] != 2 and not is_pruned(txs[i]):
                signer, nonce, valid_until = bytes(txs[i][0]), txs[i][1], txs[i][2]
                if valid_until <= eff_time:
                    raise Failure("a tx ran after its valid_until", height, i)
                if valid_until - eff_time > valid_for_max_ms:
                    raise Failure("a tx ran with a valid_until beyond valid_for_max_ms", height, i)
                if ran.get((signer, nonce), 0) > eff_time:
                    raise Failure("a (signer, nonce) ran twice before it expired (replay)",
                                  height, i)
                ran[(signer, nonce)] = valid_until
        receipts_root = mth([leaf_hash(pack(r)) for r in receipts])

        # block hash and state hash
        block_hash = sha256(pack(bh))
        state_hash = sha256(TAG_STATE, state_hash, sha256(pack(writes)))

        # the validators in force at this height (5.12); this block's changes count later
        validators, quorum, _ = history.at(height)
        n = len(validators)
        for i, t in enumerate(txs):
            if not is_pruned(t):
                try:
                    history.record(height, t[3], receipts[i])
                except Failure as e:
                    raise Failure(f"governance change refused: {e.reason}", height, i)

        # commit certificate
        c_height, c_view, c_batch_hash, c_sigs = ccert
        if c_height != height or c_batch_hash != sha256(pack(batch)):
            raise Failure("commit certificate is for another batch", height)
        check_quorum(c_sigs, n, quorum, "commit certificate", height)
        cbody = pack([c_height, c_view, c_batch_hash])
        for v, sig in c_sigs:
            if not sigs.verify(validators[v], TAG_COMMIT, cbody, sig):
                raise Failure(f"commit certificate signature of validator {v} is invalid",
                              height)

        # result certificate (only a tail of blocks may lack one)
        if rcert is None:
            if uncertified_from == 0:
                uncertified_from = height
        else:
            if uncertified_from:
                raise Failure("result certificate is missing (later blocks have one)",
                              uncertified_from)
            r_height, r_block, r_state, r_receipts, r_sigs = rcert
            if r_height != height:
                raise Failure("result certificate height differs", height)
            if r_block != block_hash:
                raise Failure("result certificate names another block hash", height)
            if r_state != state_hash:
                raise Failure("state hash differs from the result certificate", height)
            if r_receipts != receipts_root:
                raise Failure("receipts root differs from the result certificate", height)
            check_quorum(r_sigs, n, quorum, "result certificate", height)
            rbody = pack([r_height, r_block, r_state, r_receipts])
            for v, sig in r_sigs:
                if not sigs.verify(validators[v], TAG_CHECKPOINT, rbody, sig):
                    raise Failure(f"result certificate signature of validator {v} is invalid",
                                  height)

        prev_block_hash = block_hash
        prev_time = eff_time
        total_txs += len(txs)

    if not er.at_end():
        raise Failure(f"trailing bytes after the last block (byte {er.offset()})")
    return {
        "blocks": block_count, "txs": total_txs, "signatures": sigs.count,
        "pruned": pruned_count,
        "height": block_count, "log_size": log.size, "block_hash": prev_block_hash,
        "state_hash": state_hash, "uncertified_from": uncertified_from,
    }


def check_quorum(vsigs, n, quorum, what, height):
    if len(vsigs) < quorum:
        raise Failure(f"{what} has {len(vsigs)} signatures, needs {quorum}", height)
    for v, _ in vsigs:
        if v >= n:
            raise Failure(f"{what} names unknown validator {v}", height)


# ---- proof files (FORMATS.md 6.2) ----------------------------------------------------------
def verify_inclusion_path(leaf, index, size, path, root):
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency_path(first, second, first_root, second_root, path):
    """RFC 9162 2.1.4.2; equal sizes are consistent only with equal roots and no path."""
    if first == 0 or first > second:
        return False
    if first == second:
        return not path and first_root == second_root
    if not path:
        return False
    if first & (first - 1) == 0:  # an exact power of 2
        path = [first_root] + list(path)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


def check_certified(header, rcert, validators, quorum, sigs, what):
    """A certified block (6.2): the result certificate is for this header, 2f+1 signers."""
    check_block_header(header)
    check_result_cert(rcert)
    height = header[0][0]
    if rcert[0] != height:
        raise Failure(f"{what}: the result certificate is for height {rcert[0]}, the block "
                      f"is {height}")
    if rcert[1] != sha256(pack(header)):
        raise Failure(f"{what}: the result certificate names another block hash")
    check_quorum(rcert[4], len(validators), quorum, f"{what} result certificate", 0)
    body = pack(rcert[0:4])
    for v, sig in rcert[4]:
        if not sigs.verify(validators[v], TAG_CHECKPOINT, body, sig):
            raise Failure(f"{what}: result certificate signature of validator {v} is invalid")


def verify_proof(genesis_bytes, proof_bytes):
    """Returns a one-line description of what the proof shows; raises Failure."""
    _genesis, validators, quorum, chain_id = load_genesis(genesis_bytes)
    sigs = Signatures(chain_id)
    pr = Reader(proof_bytes, "proof")
    proof = pr.next()
    if not pr.at_end():
        raise Failure("proof: trailing bytes")
    want_array(proof, "proof", 6, 7)
    kind = want_uint(proof[0], "proof.kind", 2, 1)
    path = want_array(proof[5], "proof.path", 0, PROOF_PATH_MAX)
    if len(proof) == 7:  # 6.4: the validator-set changes up to the (new) block's height
        header_at = proof[3]  # the block (inclusion) or the new block (consistency)
        check_block_header(header_at)
        history = ValsetHistory(_genesis)
        follow_changes(proof[6], header_at[0][0], history, sigs)
        proof = proof[:6]

        def certified(header, rcert, _validators, _quorum, sigs, what):
            keys, q, _ = history.at(want_uint(header[0][0], "block_header.height"))
            check_certified(header, rcert, keys, q, sigs, what)
    else:
        certified = check_certified
    for i, h in enumerate(path):
        want_hash(h, f"proof.path[{i}]")
    if kind == 1:
        _, tx, leaf_index, header, rcert, _ = proof
        if is_pruned(tx):
            check_pruned(tx)
            leaf = tx[0]  # 5.10: no signature is left to verify
        else:
            check_tx(tx)
            raw = pack(tx)
            if len(raw) > TX_MAX:
                raise Failure(f"tx is {len(raw)} bytes, more than {TX_MAX}")
            leaf = leaf_hash(raw)
        want_uint(leaf_index, "proof.leaf_index")
        certified(header, rcert, validators, quorum, sigs, "block")
        if not is_pruned(tx):
            body = pack(tx[0:6])
            if not sigs.verify(tx[0], TAG_TX, body, tx[7]):
                raise Failure("tx author signature is invalid")
            for k, (key, meaning, sig) in enumerate(tx[6]):
                if not sigs.verify(key, TAG_COSIG, pack([sha256(body), meaning, key]), sig):
                    raise Failure(f"co-signature {k} is invalid")
        height, time_ms, _, tx_count = header[0]
        log_size = header[2]
        # 6.2: the block is the committing block: its own txs are its log's last tx_count
        if tx_count > log_size or not log_size - tx_count <= leaf_index < log_size:
            raise Failure(f"the tx is not in this block: leaf {leaf_index} is outside its "
                          f"leaves [{max(log_size - tx_count, 0)}, {log_size})")
        if not verify_inclusion_path(leaf, leaf_index, log_size, path, header[3]):
            raise Failure("the inclusion path does not lead to the certified log root")
        return (f"inclusion of leaf {leaf_index} in block {height} (proposed time {time_ms}), "
                f"log size {log_size}")
    _, old_header, old_rcert, header, rcert, _ = proof
    certified(old_header, old_rcert, validators, quorum, sigs, "old block")
    certified(header, rcert, validators, quorum, sigs, "new block")
    old_height, height = old_header[0][0], header[0][0]
    if old_height >= height:
        raise Failure(f"the old block (height {old_height}) is not below the new one "
                      f"(height {height})")
    if old_header[2] == 0:
        raise Failure("the old block's log is empty")
    if not verify_consistency_path(old_header[2], header[2], old_header[3], header[3], path):
        raise Failure("the consistency path does not join the two certified log roots")
    return (f"consistency of block {old_height} (log size {old_header[2]}) with block "
            f"{height} (log size {header[2]})")


# ---- receipt files (FORMATS.md 13.5) and their validator-set changes (6.4) ------------------
def decode_one(data, what):
    rd = Reader(bytes(data), what)
    value = rd.next()
    if not rd.at_end():
        raise Failure(f"{what}: trailing bytes")
    return value


def check_receipt_reply(reply, history, sigs, what):
    """Steps 1-8 of 13.5 under the validator sets history has; returns (tx, receipt)."""
    want_array(reply, what, 6, 7)
    height = want_uint(reply[0], f"{what}.height")
    index = want_uint(reply[1], f"{what}.index", BLOCK_TXS_MAX - 1)
    want_bin(reply[2], f"{what}.receipt", 1, 24 * 1024)
    if reply[3] is None or reply[4] is None:
        raise Failure(f"{what}: the receipt has no certificates")
    want_bin(reply[3], f"{what}.proof", 1, CLIENT_MESSAGE_MAX)
    want_bin(reply[4], f"{what}.commit_cert", 1, CLIENT_MESSAGE_MAX)
    rpath = want_array(reply[5], f"{what}.receipt_path", 0, PROOF_PATH_MAX)
    for i, h in enumerate(rpath):
        want_hash(h, f"{what}.receipt_path[{i}]")
    receipt = decode_one(reply[2], "receipt")
    check_receipt(receipt)
    proof = decode_one(reply[3], "proof")
    want_array(proof, "proof", 6, 6)
    if want_uint(proof[0], "proof.kind", 2, 1) != 1:
        raise Failure(f"{what}: the proof is not an inclusion proof")
    _, tx, leaf_index, header, rcert, path = proof
    for i, h in enumerate(want_array(path, "proof.path", 0, PROOF_PATH_MAX)):
        want_hash(h, f"proof.path[{i}]")
    ccert = decode_one(reply[4], "commit_cert")
    check_commit_cert(ccert)
    check_block_header(header)
    check_result_cert(rcert)
    if header[0][0] != height:
        raise Failure(f"{what}: block header is for height {header[0][0]}, the receipt says "
                      f"{height}")
    # 2: the tx's signatures (none for a pruned tx); 3: the receipt names the tx
    if is_pruned(tx):
        check_pruned(tx)
        leaf, tx_id = tx[0], tx[1]
    else:
        check_tx(tx)
        raw = pack(tx)
        leaf, tx_id = leaf_hash(raw), sha256(raw)
        body = pack(tx[0:6])
        if not sigs.verify(tx[0], TAG_TX, body, tx[7]):
            raise Failure(f"{what}: the tx author signature is invalid")
        for k, (key, meaning, sig) in enumerate(tx[6]):
            if not sigs.verify(key, TAG_COSIG, pack([sha256(body), meaning, key]), sig):
                raise Failure(f"{what}: co-signature {k} of the tx is invalid")
    if receipt[0] != tx_id:
        raise Failure(f"{what}: the receipt names another tx")
    # 4: the header hashes to the certified block hash
    if rcert[0] != height or rcert[1] != sha256(pack(header)):
        raise Failure(f"{what}: block header does not hash to the result certificate's block hash")
    # 5, 6: both certificates, by the validators in force at this height
    validators, quorum, since = history.at(height)
    in_set = f" (the validator set in force from height {since})" if since > 1 else ""
    check_quorum(rcert[4], len(validators), quorum, f"{what}: result certificate{in_set}", 0)
    rbody = pack(rcert[0:4])
    for v, sig in rcert[4]:
        if not sigs.verify(validators[v], TAG_CHECKPOINT, rbody, sig):
            raise Failure(f"{what}: result certificate signature of validator {v} is "
                          f"invalid{in_set}")
    if ccert[0] != height or ccert[2] != sha256(pack(header[0])):
        raise Failure(f"{what}: commit certificate is for another batch header")
    check_quorum(ccert[3], len(validators), quorum, f"{what}: commit certificate{in_set}", 0)
    cbody = pack(ccert[0:3])
    for v, sig in ccert[3]:
        if not sigs.verify(validators[v], TAG_COMMIT, cbody, sig):
            raise Failure(f"{what}: commit certificate signature of validator {v} is "
                          f"invalid{in_set}")
    # 7: the tx in the log; 8: the receipt in the receipts root
    tx_count, log_size = header[0][3], header[2]
    if tx_count > log_size or index >= tx_count or leaf_index != log_size - tx_count + index:
        raise Failure(f"{what}: tx inclusion proof: leaf index {leaf_index} is not tx {index} "
                      f"of the block")
    if not verify_inclusion_path(leaf, leaf_index, log_size, path, header[3]):
        raise Failure(f"{what}: tx inclusion proof: the path does not lead to the log root")
    if not verify_inclusion_path(leaf_hash(bytes(reply[2])), index, tx_count, rpath, rcert[3]):
        raise Failure(f"{what}: receipt inclusion proof: the path does not lead to the "
                      f"certified receipts root")
    return tx, receipt


def follow_changes(changes, below, history, sigs):
    """6.4: each change a complete receipt of a governance.validators tx, checked under the
    set in force at its height, in increasing height order below the file's height."""
    prev = 0
    for i, raw in enumerate(want_array(changes, "changes", 1, CHANGES_MAX)):
        want_bin(raw, f"changes[{i}]", 1, CLIENT_MESSAGE_MAX)
        reply = decode_one(raw, f"change {i}")
        want_array(reply, f"change {i}", 6, 6)  # a change carries no changes of its own
        height = want_uint(reply[0], f"change {i}.height")
        if not prev < height < below:
            raise Failure(f"change {i} is at height {height}: changes go in increasing height "
                          f"order below the file's height {below}")
        tx, receipt = check_receipt_reply(reply, history, sigs, f"change {i} (height {height})")
        if is_pruned(tx) or tx[3] != "governance" or tx[4] != "validators" or receipt[1] != 0:
            raise Failure(f"change {i} (height {height}) is not an accepted "
                          f"governance.validators tx")
        keys, quorum, _ = history.at(height)
        approvals = sum(1 for key, meaning, _ in tx[6] if meaning == 2 and bytes(key) in keys)
        if approvals < quorum:
            raise Failure(f"change {i} (height {height}) is approved by {approvals} validators "
                          f"of the set in force, needs {quorum}")
        try:
            if not history.record(height, "governance", receipt):
                raise Failure("it changes no validator")
        except Failure as e:
            raise Failure(f"change {i} (height {height}): {e.reason}")
        prev = height


def verify_receipt(genesis_bytes, receipt_bytes):
    genesis, _validators, _quorum, chain_id = load_genesis(genesis_bytes)
    sigs = Signatures(chain_id)
    history = ValsetHistory(genesis)
    reply = decode_one(receipt_bytes, "receipt file")
    want_array(reply, "receipt file", 6, 7)
    height = want_uint(reply[0], "receipt file.height")
    if len(reply) == 7:
        follow_changes(reply[6], height, history, sigs)
    tx, receipt = check_receipt_reply(reply, history, sigs, "receipt")
    return (f"receipt of tx {receipt[0].hex()[:16]}... at height {height}, status {receipt[1]}, "
            f"{len(history.sets) - 1} validator-set changes followed")


def main_receipt(genesis_path, receipt_path):
    inputs = read_inputs([genesis_path, receipt_path])
    if inputs is None:
        return 1
    try:
        what = verify_receipt(*inputs)
    except Failure as e:
        print(f"independent receipt FAILED: {e.reason}")
        return 1
    print(f"independent receipt OK: {what}")
    return 0


def read_inputs(paths):
    try:
        out = []
        for p in paths:
            with open(p, "rb") as fh:
                out.append(fh.read())
        return out
    except OSError as e:
        print(f"independent verify FAILED: cannot read input: {e}")
        return None


def main_proof(genesis_path, proof_path):
    inputs = read_inputs([genesis_path, proof_path])
    if inputs is None:
        return 1
    try:
        what = verify_proof(*inputs)
    except Failure as e:
        print(f"independent proof FAILED: {e.reason}")
        return 1
    print(f"independent proof OK: {what}")
    return 0


USAGE = ("usage: verify_export.py [--allow-uncertified-tail] GENESIS_FILE EXPORT_FILE\n"
         "       verify_export.py --proof GENESIS_FILE PROOF_FILE\n"
         "       verify_export.py --receipt GENESIS_FILE RECEIPT_FILE\n")


def main(argv):
    args = argv[1:]
    if len(args) == 3 and args[0] == "--proof":
        return main_proof(args[1], args[2])
    if len(args) == 3 and args[0] == "--receipt":
        return main_receipt(args[1], args[2])
    allow_tail = False
    if args and args[0] == "--allow-uncertified-tail":
        allow_tail, args = True, args[1:]
    if len(args) != 2 or args[0].startswith("-"):
        sys.stderr.write(USAGE)
        return 2
    inputs = read_inputs(args)
    if inputs is None:
        return 1
    try:
        s = verify(*inputs)
    except Failure as e:
        where = f" at height {e.height}" if e.height else ""
        if e.tx is not None:
            where += f", tx {e.tx}"
        print(f"independent verify FAILED{where}: {e.reason}")
        return 1
    rc = 0
    if s["uncertified_from"]:
        # 8 and 11: blocks after the last result certificate are verified in everything but
        # their results, which nothing signs: never reported as verified
        h, n = s["uncertified_from"] - 1, s["blocks"]
        print(f"independent verify: heights 1..{h} certified and verified; heights "
              f"{h + 1}..{n} have no result certificate: NOT verified")
        rc = 0 if allow_tail else 1
    else:
        print(f"independent verify OK: {s['blocks']} blocks, {s['txs']} txs, "
              f"{s['signatures']} signatures, head {s['block_hash'].hex()}")
    print(f"head height {s['height']}, log size {s['log_size']}")
    print(f"pruned txs {s['pruned']}")
    print(f"head block hash {s['block_hash'].hex()}")
    print(f"state hash      {s['state_hash'].hex()}")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
