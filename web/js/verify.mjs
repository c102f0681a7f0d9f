// verify.mjs - the genesis and a receipt file checked in the browser (or in Node), written
// from docs/FORMATS.md: 1 (canonical msgpack), 3 (signatures and tags), 4 (RFC 9162 trees),
// 5 (structures), 5.9 (genesis, chain id), 5.12 (validator sets), 6.2 (inclusion proof), 6.4
// (the validator-set changes a receipt carries) and 13.5 (the receipt file and the steps that
// check it). WebCrypto does SHA-256 and Ed25519; msgpack.mjs reads
// and re-encodes. Nothing here trusts the server: only the genesis the person supplied.

import { decode, encode } from "./msgpack.mjs";

const subtle = globalThis.crypto.subtle;
const ascii = (s) => new TextEncoder().encode(s);
const TAG = {
    tx: ascii("trialreg/v1/tx"),
    cosig: ascii("trialreg/v1/cosig"),
    commit: ascii("trialreg/v1/commit"),
    checkpoint: ascii("trialreg/v1/checkpoint"),
};

// The steps of FORMATS 13.5, in the order they are checked; a failure names one.
export const STEPS = [
    "decode",                      // 1 the file, the proof and the structures decode
    "tx signatures",               // 2 the author signature and every co-signature
    "receipt names the tx",        // 3
    "block header",                // 4 its hash is the result certificate's block hash
    "result certificate",          // 5 2f+1 distinct genesis validators, signatures valid
    "commit certificate",          // 6 same height, batch hash, 2f+1 COMMIT signatures
    "tx in the log",               // 7 leaf index inside the block, RFC 9162 path to log root
    "receipt in the receipts root", // 8 RFC 9162 path to the result certificate's root
    "validator-set changes",       // 9 (6.4, checked after 1) each change a receipt checked
                                   //   under the set before it; they say who certifies 5 and 6
];

export class VerifyError extends Error {
    constructor(step, message) {
        super(`${STEPS[step - 1]}: ${message}`);
        this.name = "VerifyError";
        this.step = step;
    }
}

// ---- bytes ------------------------------------------------------------------------------

export function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(s) {
    if (!/^([0-9a-fA-F]{2})*$/.test(s)) throw new Error("not hex");
    const out = new Uint8Array(s.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
    return out;
}

export function fromBase64(s) {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
}

function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
}

function equal(a, b) {
    if (a.length !== b.length) return false;
    let d = 0;
    for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
    return d === 0;
}

export async function sha256(bytes) {
    return new Uint8Array(await subtle.digest("SHA-256", bytes));
}

const keyCache = new Map();
async function ed25519Verify(key, sig, message) {
    const id = hex(key);
    let k = keyCache.get(id);
    if (!k) {
        k = await subtle.importKey("raw", key, { name: "Ed25519" }, false, ["verify"]);
        keyCache.set(id, k);
    }
    return subtle.verify({ name: "Ed25519" }, k, sig, message);
}

// ---- shapes (FORMATS 1 and 5): each check throws with the field named ----------------------

function fail(step, msg) { throw new VerifyError(step, msg); }
function isUint(v) { return (typeof v === "number" && v >= 0) || (typeof v === "bigint" && v >= 0n); }
function uint(v, field, max = 2n ** 64n - 1n) {
    if (!isUint(v) || BigInt(v) > max) fail(1, `${field} must be a uint <= ${max}`);
    return v;
}
function bin(v, field, min, max) {
    if (!(v instanceof Uint8Array) || v.length < min || v.length > max)
        fail(1, `${field} must be a bin of ${min === max ? min : `${min}..${max}`} bytes`);
    return v;
}
const hash = (v, field) => bin(v, field, 32, 32);
const sig = (v, field) => bin(v, field, 64, 64);
function str(v, field, max) {
    if (typeof v !== "string" || ascii(v).length > max) fail(1, `${field} must be a str of 0..${max} bytes`);
    return v;
}
function arr(v, field, min, max) {
    if (!Array.isArray(v) || v.length < min || v.length > max)
        fail(1, `${field} must be an array of ${min === max ? min : `${min}..${max}`} elements`);
    return v;
}
function decodeIn(bytes, field) {
    try { return decode(bytes); } catch (e) { fail(1, `${field}: ${e.message}`); }
}

function checkVsigs(v, field) {
    arr(v, field, 1, 16);
    let last = -1;
    for (const [i, s] of v.entries()) {
        arr(s, `${field}[${i}]`, 2, 2);
        const index = Number(uint(s[0], `${field}[${i}].validator`, 15n));
        sig(s[1], `${field}[${i}].sig`);
        if (index <= last) fail(1, `${field} must be strictly increasing by validator index`);
        last = index;
    }
    return v;
}

function txShape(t) {
    if (Array.isArray(t) && t.length === 9) {  // a pruned tx (5.10)
        hash(t[0], "tx.leaf_hash"); hash(t[1], "tx.tx_id"); hash(t[2], "tx.signer");
        uint(t[3], "tx.nonce"); uint(t[4], "tx.valid_until");
        str(t[5], "tx.contract", 32); str(t[6], "tx.method", 32);
        const count = Number(uint(t[7], "tx.arg_count", 16n));
        if (BigInt(uint(t[8], "tx.arg_kinds")) >= 1n << BigInt(count)) fail(1, "tx.arg_kinds above 2^arg_count");
        return { pruned: true, signer: t[2], contract: t[5], method: t[6], args: [], cosigs: [] };
    }
    arr(t, "tx", 8, 8);
    if (t.raw.length > 24576) fail(1, "tx longer than 24576 bytes");
    hash(t[0], "tx.signer"); uint(t[1], "tx.nonce"); uint(t[2], "tx.valid_until");
    str(t[3], "tx.contract", 32); str(t[4], "tx.method", 32);
    arr(t[5], "tx.args", 0, 16);
    for (const [i, a] of t[5].entries()) {
        const isInt = typeof a === "number" || typeof a === "bigint";
        if (!isInt) bin(a, `tx.args[${i}]`, 0, 1024);
    }
    arr(t[6], "tx.cosigs", 0, 20);
    const keys = [hex(t[0])];
    for (const [i, c] of t[6].entries()) {
        arr(c, `tx.cosigs[${i}]`, 3, 3);
        hash(c[0], `tx.cosigs[${i}].key`);
        const m = uint(c[1], `tx.cosigs[${i}].meaning`, 5n);
        if (Number(m) < 1) fail(1, `tx.cosigs[${i}].meaning must be 1..5`);
        sig(c[2], `tx.cosigs[${i}].sig`);
        if (keys.includes(hex(c[0]))) fail(1, `tx.cosigs[${i}].key repeats the signer or a co-signer`);
        keys.push(hex(c[0]));
    }
    sig(t[7], "tx.sig");
    return { pruned: false, signer: t[0], contract: t[3], method: t[4], args: t[5], cosigs: t[6] };
}

function receiptShape(r) {
    arr(r, "receipt", 6, 6);
    hash(r[0], "receipt.tx_id");
    const status = Number(uint(r[1], "receipt.status", 3n));
    const code = Number(uint(r[2], "receipt.error_code", 0xffffffffn));
    str(r[3], "receipt.reason", 160);
    uint(r[4], "receipt.gas_used");
    arr(r[5], "receipt.events", 0, 16);
    const events = r[5].map((e, i) => {
        arr(e, `receipt.events[${i}]`, 2, 2);
        return { topic: str(e[0], `receipt.events[${i}].topic`, 32), data: bin(e[1], `receipt.events[${i}].data`, 0, 1024) };
    });
    if (status === 0 && code !== 0) fail(1, "receipt.error_code (an OK receipt's is 0)");
    if (status === 0 && r[3] !== "") fail(1, "receipt.reason (an OK receipt's is empty)");
    return { txId: r[0], status, code, reason: r[3], gasUsed: r[4], events };
}

function headerShape(h) {
    arr(h, "block_header", 4, 4);
    const b = arr(h[0], "batch_header", 4, 4);
    uint(b[0], "batch_header.height"); uint(b[1], "batch_header.time_ms");
    hash(b[2], "batch_header.tx_root");
    const txCount = Number(uint(b[3], "batch_header.tx_count", 4096n));
    if (BigInt(b[1]) === 0n && txCount > 0) fail(1, "batch_header.time_ms (0 is a null batch's, which has no txs)");
    hash(h[1], "block_header.prev_hash"); uint(h[2], "block_header.log_size"); hash(h[3], "block_header.log_root");
    return { height: BigInt(b[0]), timeMs: b[1], txCount, batch: b, logSize: BigInt(h[2]), logRoot: h[3] };
}

// ---- genesis (5.9) ------------------------------------------------------------------------

export class GenesisError extends Error {
    constructor(message) { super(message); this.name = "GenesisError"; }
}

// The genesis file's bytes: {chainId (hex), chainName, createdMs, validators [{name, key}],
// n, f, quorum (2f+1), authorities [{role, site, name, key}]}. Throws GenesisError.
export async function decodeGenesis(bytes) {
    let g;
    try { g = decode(bytes); } catch (e) { throw new GenesisError(`not a trialreg genesis file: ${e.message}`); }
    try {
        if (!Array.isArray(g) || g.length < 1) fail(1, "genesis must be an array");
        if (g[0] === 1 || g[0] === 2) throw new GenesisError(`a version ${g[0]} genesis: convert it with \`trialctl genesis upgrade\` (a new chain)`);
        if (g[0] !== 3) fail(1, `genesis.version ${g[0]} is unknown (3 is read)`);
        arr(g, "genesis", 8, 8);
        str(g[1], "genesis.chain_name", 64); uint(g[2], "genesis.created_ms");
        arr(g[3], "genesis.rules", 15, 15).forEach((r, i) => uint(r, `genesis.rules[${i}]`));
        arr(g[4], "genesis.validators", 4, 16);
        if (![4, 7, 10, 13, 16].includes(g[4].length)) fail(1, "genesis.validators must be 4, 7, 10, 13 or 16");
        const validators = g[4].map((v, i) => {
            arr(v, `genesis.validators[${i}]`, 2, 2);
            return { name: str(v[0], `genesis.validators[${i}].name`, 32), key: hash(v[1], `genesis.validators[${i}].key`) };
        });
        if (new Set(validators.map((v) => hex(v.key))).size !== validators.length) fail(1, "genesis.validators: a key repeats");
        const authorities = arr(g[5], "genesis.authorities", 0, 256).map((a, i) => {
            arr(a, `genesis.authorities[${i}]`, 4, 4);
            return { role: Number(uint(a[0], `genesis.authorities[${i}].role`, 6n)), site: str(a[1], "site", 32),
                     name: str(a[2], "name", 32), key: hash(a[3], `genesis.authorities[${i}].key`) };
        });
        arr(g[6], "genesis.contracts", 0, 16);
        arr(g[7], "genesis.governance", 5, 5);
        const n = validators.length, f = Math.floor((n - 1) / 3);
        const chainId = await sha256(bytes);
        return { chainId, chainIdHex: hex(chainId), chainName: g[1], createdMs: g[2], validators,
                 n, f, quorum: 2 * f + 1, authorities };
    } catch (e) {
        if (e instanceof GenesisError) throw e;
        throw new GenesisError(`not a valid genesis: ${e.message.replace(/^decode: /, "")}`);
    }
}

// ---- RFC 9162 -----------------------------------------------------------------------------

export const leafHash = (data) => sha256(concat(Uint8Array.of(0), data));
const nodeHash = (l, r) => sha256(concat(Uint8Array.of(1), l, r));

// RFC 9162 2.1.3.2: does path lead from the leaf hash at index to root of a tree of size?
export async function inclusionOk(index, size, leaf, path, root) {
    let fn = BigInt(index), sn = BigInt(size) - 1n, r = leaf;
    if (fn > sn) return false;
    for (const p of path) {
        if (sn === 0n) return false;
        if ((fn & 1n) === 1n || fn === sn) {
            r = await nodeHash(p, r);
            while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
        } else {
            r = await nodeHash(r, p);
        }
        fn >>= 1n; sn >>= 1n;
    }
    return sn === 0n && equal(r, root);
}

// ---- the receipt file (13.5) --------------------------------------------------------------

function decodeReceiptFile(bytes, changesAllowed = true) {
    const file = decodeIn(bytes, "receipt file");
    arr(file, "receipt file", 6, changesAllowed ? 7 : 6);
    const changes = file.length === 7 ? arr(file[6], "changes", 1, 256).map((c, i) => bin(c, `changes[${i}]`, 1, 8 << 20)) : [];
    const height = BigInt(uint(file[0], "height"));
    const index = Number(uint(file[1], "index", 4095n));
    bin(file[2], "receipt", 1, 24576);
    if (file[3] === null || file[4] === null) fail(1, "the receipt has no certificates (its block is not certified yet)");
    bin(file[3], "proof", 1, 8 << 20); bin(file[4], "commit_cert", 1, 8 << 20);
    arr(file[5], "receipt_path", 0, 64).forEach((p, i) => hash(p, `receipt_path[${i}]`));
    const proof = decodeIn(file[3], "proof");
    arr(proof, "proof", 6, 6);
    if (proof[0] !== 1) fail(1, "the proof is not an inclusion proof (kind 1)");
    const tx = txShape(proof[1]);
    const leafIndex = BigInt(uint(proof[2], "proof.leaf_index"));
    const header = headerShape(proof[3]);
    const rc = arr(proof[4], "result_cert", 5, 5);
    uint(rc[0], "result_cert.height"); hash(rc[1], "result_cert.block_hash"); hash(rc[2], "result_cert.state_hash");
    hash(rc[3], "result_cert.receipts_root"); checkVsigs(rc[4], "result_cert.sigs");
    arr(proof[5], "proof.path", 0, 64).forEach((p, i) => hash(p, `proof.path[${i}]`));
    if (header.height !== height) fail(1, `the proof's height ${header.height} is not the file's ${height}`);
    const cc = decodeIn(file[4], "commit_cert");
    arr(cc, "commit_cert", 4, 4);
    uint(cc[0], "commit_cert.height"); uint(cc[1], "commit_cert.view"); hash(cc[2], "commit_cert.batch_hash");
    checkVsigs(cc[3], "commit_cert.sigs");
    const receipt = receiptShape(decodeIn(file[2], "receipt"));
    return { height, index, receiptBytes: file[2], receipt, txRaw: proof[1], tx, leafIndex, header,
             headerRaw: proof[3].raw, resultCert: rc, commitCert: cc, logPath: proof[5], receiptPath: file[5],
             changes };
}

async function checkTxSignatures(g, f) {
    if (f.tx.pruned) return;  // 5.10: nothing kept to verify
    const t = f.txRaw;
    const body = encode(t.slice(0, 6));
    // FORMATS 5.1: 0x96, then the bytes of fields 0..5 as they are in the tx
    if (body[0] !== 0x96 || !equal(body.subarray(1), t.raw.subarray(1, body.length)))
        fail(2, "the tx body does not re-encode to the bytes signed");
    if (!(await ed25519Verify(t[0], t[7], concat(TAG.tx, g.chainId, body))))
        fail(2, "the author's signature does not verify on this chain");
    const bodyHash = await sha256(body);
    for (const [i, c] of t[6].entries()) {
        const cosigBody = encode([bodyHash, c[1], c[0]]);
        if (!(await ed25519Verify(c[0], c[2], concat(TAG.cosig, g.chainId, cosigBody))))
            fail(2, `co-signature ${i} (meaning ${c[1]}) does not verify on this chain`);
    }
}

// ---- validator sets (5.12) and the changes a receipt carries (6.4) ---------------------------

const quorumOf = (n) => 2 * Math.floor((n - 1) / 3) + 1;
const sameMember = (a, b) => a.name === b.name && equal(a.key, b.key);

// Why next may not follow cur (5.12), or null.
function setRefusal(cur, next) {
    const n = next.length;
    if (n < 4) return `${n} validators: fewer than 4`;
    if (n > 16 || (n - 1) % 3 !== 0) return `n = ${n} is not allowed (4, 7, 10, 13 or 16)`;
    if (next.some((m) => m.name === "")) return "a validator has no name";
    if (new Set(next.map((m) => m.name)).size !== n || new Set(next.map((m) => hex(m.key))).size !== n)
        return "two validators have the same name or key";
    const curKeys = new Set(cur.map((m) => hex(m.key)));
    if (n === cur.length + 3) {
        if (!cur.every((m, i) => sameMember(m, next[i]))) return "growth must keep the current validators in their order";
        if (next.slice(cur.length).some((m) => curKeys.has(hex(m.key)))) return "an added validator's key is a current validator's";
    } else if (n + 3 === cur.length) {
        let k = 0;
        for (const m of cur) if (k < n && sameMember(m, next[k])) k++;
        if (k !== n) return "a shrink must remove exactly 3 validators and keep the others";
    } else if (n === cur.length) {
        const changed = next.map((m, i) => i).filter((i) => !sameMember(cur[i], next[i]));
        if (changed.some((i) => curKeys.has(hex(next[i].key)))) return "a replaced position holds a current validator's key";
        if (changed.length === 0) return "the new set is the current set";
        if (changed.length > Math.floor((cur.length - 1) / 3)) return `${changed.length} validators replaced: at most f at once`;
    } else {
        return `n ${cur.length} -> ${n}: grow by 3, shrink by 3 or keep n`;
    }
    return null;
}

class ValsetHistory {
    constructor(g) { this.sets = [{ boundary: 1n, height: 0n, members: g.validators }]; }
    // {validators, n, quorum, since} in force at height
    at(height) {
        const s = [...this.sets].reverse().find((x) => x.boundary <= height);
        return { validators: s.members, n: s.members.length, quorum: quorumOf(s.members.length), since: s.boundary };
    }
    // Follow the governance.validators events of an OK governance receipt at height; true if one.
    record(height, receipt) {
        let changed = false;
        for (const e of receipt.events) {
            if (e.topic !== "governance.validators") continue;
            const ev = decodeIn(e.data, "valset_event");
            arr(ev, "valset_event", 2, 2);
            const boundary = BigInt(uint(ev[0], "valset_event.boundary"));
            const members = arr(ev[1], "valset", 1, 16).map((m, i) => {
                arr(m, `valset[${i}]`, 2, 2);
                return { name: str(m[0], `valset[${i}].name`, 32), key: hash(m[1], `valset[${i}].key`) };
            });
            const want = (height / 16n + 2n) * 16n;
            if (boundary !== want) throw new Error(`boundary ${boundary} of a change at height ${height}: must be ${want}`);
            const last = this.sets[this.sets.length - 1];
            if (last.boundary > height) throw new Error(`a change at height ${height} while the change to boundary ${last.boundary} is pending`);
            const why = setRefusal(last.members, members);
            if (why) throw new Error(why);
            this.sets.push({ boundary, height, members });
            changed = true;
        }
        return changed;
    }
}

// 6.4: each change a whole receipt of an accepted governance.validators tx, checked under the set
// in force at its height (approved by 2f+1 of that set), in increasing height order below the file's.
async function followChanges(g, history, changes, below) {
    let prev = 0n;
    for (const [i, bytes] of changes.entries()) {
        let c;
        try {
            c = decodeReceiptFile(bytes, false);
            if (c.height <= prev || c.height >= below)
                fail(9, `at height ${c.height}: changes go in increasing height order below the file's height ${below}`);
            await checkSteps(g, history.at(c.height), c);
        } catch (e) {
            if (!(e instanceof VerifyError) || e.step === 9) throw e;
            fail(9, `change ${i}: ${e.message}`);
        }
        const where = `change ${i} (height ${c.height})`;
        if (c.tx.pruned || c.tx.contract !== "governance" || c.tx.method !== "validators" || c.receipt.status !== 0)
            fail(9, `${where} is not an accepted governance.validators tx`);
        const set = history.at(c.height), keys = new Set(set.validators.map((v) => hex(v.key)));
        const approvals = c.tx.cosigs.filter((k) => Number(k[1]) === 2 && keys.has(hex(k[0]))).length;
        if (approvals < set.quorum) fail(9, `${where} is approved by ${approvals} validators of the set in force, needs ${set.quorum}`);
        let changed;
        try { changed = history.record(c.height, c.receipt); } catch (e) {
            if (e instanceof VerifyError) throw e;
            fail(9, `${where}: ${e.message}`);
        }
        if (!changed) fail(9, `${where} changes no validator`);
        prev = c.height;
    }
}

async function checkQuorum(g, set, step, sigs, tag, body, what) {
    const since = set.since > 1n ? ` (the validator set in force from height ${set.since})` : "";
    if (sigs.length < set.quorum) fail(step, `${sigs.length} ${what} signatures, ${set.quorum} (2f+1) needed${since}`);
    const message = concat(tag, g.chainId, body);
    for (const [validator, s] of sigs) {
        const i = Number(validator);
        if (i >= set.n) fail(step, `validator ${i} is not in the set in force (${set.n} validators)${since}`);
        if (!(await ed25519Verify(set.validators[i].key, s, message)))
            fail(step, `validator ${i}'s ${what} signature does not verify${since}`);
    }
}

async function checkSteps(g, set, f) {
    await checkTxSignatures(g, f);                                                    // 2
    const txId = f.tx.pruned ? f.txRaw[1] : await sha256(f.txRaw.raw);               // 3
    if (!equal(txId, f.receipt.txId)) fail(3, "the receipt's tx id is not the tx's");
    const rc = f.resultCert, h = f.header;                                            // 4
    if (BigInt(rc[0]) !== h.height) fail(4, `the result certificate is for height ${rc[0]}, the header ${h.height}`);
    if (!equal(await sha256(f.headerRaw), rc[1])) fail(4, "the header's hash is not the result certificate's block hash");
    await checkQuorum(g, set, 5, rc[4], TAG.checkpoint, encode(rc.slice(0, 4)), "checkpoint"); // 5
    const cc = f.commitCert;                                                          // 6
    if (BigInt(cc[0]) !== h.height) fail(6, `the commit certificate is for height ${cc[0]}, the block ${h.height}`);
    if (!equal(await sha256(h.batch.raw), cc[2])) fail(6, "its batch hash is not the hash of the header's batch header");
    await checkQuorum(g, set, 6, cc[3], TAG.commit, encode(cc.slice(0, 3)), "COMMIT");
    if (f.index >= h.txCount) fail(7, `index ${f.index} is not below the block's ${h.txCount} txs`); // 7
    if (f.leafIndex !== h.logSize - BigInt(h.txCount) + BigInt(f.index))
        fail(7, `leaf ${f.leafIndex} is not the tx's place in this block (the tx is not in this block)`);
    const leaf = f.tx.pruned ? f.txRaw[0] : await leafHash(f.txRaw.raw);
    if (!(await inclusionOk(f.leafIndex, h.logSize, leaf, f.logPath, h.logRoot)))
        fail(7, "the path does not lead to the header's log root");
    if (!(await inclusionOk(f.index, h.txCount, await leafHash(f.receiptBytes), f.receiptPath, rc[3]))) // 8
        fail(8, "the path does not lead to the result certificate's receipts root");
}

// Check a receipt file (bytes) against a decoded genesis. Never throws:
// {ok: true, file} or {ok: false, step (1..8), stepName, reason, file (what decoded, or null)};
// step 0 "verifier error" if the check itself failed (no WebCrypto, or a bug here): not a
// verdict on the file, and never ok.
export async function verifyReceiptFile(genesis, bytes) {
    let f = null;
    try {
        f = decodeReceiptFile(bytes);
        const history = new ValsetHistory(genesis);
        await followChanges(genesis, history, f.changes, f.height);                   // 9
        await checkSteps(genesis, history.at(f.height), f);
        return { ok: true, file: f };
    } catch (e) {
        if (!(e instanceof VerifyError)) return { ok: false, step: 0, stepName: "verifier error", reason: String(e), file: f };
        return { ok: false, step: e.step, stepName: STEPS[e.step - 1], reason: e.message.slice(STEPS[e.step - 1].length + 2), file: f };
    }
}
