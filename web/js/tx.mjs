// tx.mjs - a tx of docs/FORMATS.md 5.1 built and signed in the browser:
//   tx = [signer, nonce, valid_until, contract, method, args, cosigs, sig]
// The author signs "trialreg/v1/tx" || chain id || body, body = [fields 0..5]; each
// co-signer signs "trialreg/v1/cosig" || chain id || [H(body), meaning, cosigner key].
// The nonce is random (64 bits from crypto.getRandomValues: the rules issue's nonces, so a
// browser keeps no nonce file) and valid_until is now + 10 minutes by default, as trialctl.
// Encoded with the canonical writer of msgpack.mjs.
import { encode } from "./msgpack.mjs";
import { sign } from "./keys.mjs";

const ascii = (s) => new TextEncoder().encode(s);
const TAG_TX = ascii("trialreg/v1/tx");
const TAG_COSIG = ascii("trialreg/v1/cosig");
export const MEANINGS = { author: 1, approval: 2, review: 3, witness: 4, responsibility: 5 };
export const VALID_FOR_MS = 10 * 60 * 1000;

function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
}

export function randomNonce() {
    const b = crypto.getRandomValues(new Uint8Array(8));
    let n = 0n;
    for (const x of b) n = (n << 8n) | BigInt(x);
    return n;
}

function checkArgs(args) {
    if (!Array.isArray(args) || args.length > 16) throw new TypeError("args: an array of 0..16 elements");
    for (const a of args) {
        if (a instanceof Uint8Array) { if (a.length > 1024) throw new RangeError("an arg of more than 1024 bytes"); }
        else if (typeof a === "bigint" || Number.isInteger(a)) {
            const v = BigInt(a);
            if (v < -(1n << 63n) || v >= 1n << 63n) throw new RangeError(`${a} is not an int64`);
        } else throw new TypeError("each arg is an integer or a Uint8Array");
    }
}

// An unsigned tx body: {fields (0..5), body (bytes)}. args: ints (Number/BigInt) or
// Uint8Array; strings are UTF-8 bytes args (trial ids, site names).
export function txBody(signerPub, contract, method, args, opts = {}) {
    const a = args.map((x) => (typeof x === "string" ? ascii(x) : x));
    checkArgs(a);
    const nonce = opts.nonce ?? randomNonce();
    const validUntil = BigInt(opts.validUntil ?? Date.now() + (opts.validForMs ?? VALID_FOR_MS));
    const fields = [signerPub, nonce, validUntil, contract, method, a];
    return { fields, body: encode(fields) };
}

// The author's signature over a body.
export async function signBody(key, chainId, body) {
    return sign(key, concat(TAG_TX, chainId, body.body));
}

// A co-signature [key, meaning, sig] over a body.
export async function cosign(key, chainId, body, meaning) {
    if (!Number.isInteger(meaning) || meaning < 1 || meaning > 5) throw new RangeError("meaning is 1..5");
    const h = new Uint8Array(await crypto.subtle.digest("SHA-256", body.body));
    const cbody = encode([h, meaning, key.publicKey]);
    return [key.publicKey, meaning, await sign(key, concat(TAG_COSIG, chainId, cbody))];
}

// The whole tx's canonical bytes and its id (SHA-256 of them, hex).
export async function assemble(body, cosigs, sig) {
    const bytes = encode([...body.fields, cosigs, sig]);
    if (bytes.length > 24576) throw new RangeError("the tx is larger than 24576 bytes");
    const id = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return { bytes, txId: Array.from(id, (b) => b.toString(16).padStart(2, "0")).join("") };
}

// Build and sign in one call: cosigners is [[key, meaning], ...] (keys loaded on this device).
export async function buildTx(key, chainId, contract, method, args, cosigners = [], opts = {}) {
    const body = txBody(key.publicKey, contract, method, args, opts);
    const cosigs = [];
    for (const [k, meaning] of cosigners) cosigs.push(await cosign(k, chainId, body, meaning));
    return assemble(body, cosigs, await signBody(key, chainId, body));
}

// POST one tx to /v1/txs (application/msgpack): {accepted, txId, error, reason}.
export async function submitTx(base, tx) {
    const r = await fetch(new URL("/v1/txs", base), {
        method: "POST", headers: { "Content-Type": "application/msgpack" }, body: tx.bytes });
    let answer = null;
    try { answer = await r.json(); } catch { /* below */ }
    if (!answer || !Array.isArray(answer.results) || answer.results.length !== 1)
        return { accepted: false, txId: tx.txId, error: `HTTP ${r.status}`, reason: answer && answer.reason ? answer.reason : "the node gave no answer for the tx" };
    const a = answer.results[0];
    return { accepted: a.accepted === true, txId: a.tx_id || tx.txId, error: a.error || "", reason: a.reason || "" };
}
