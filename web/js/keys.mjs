// keys.mjs - a key file of docs/FORMATS.md 6.3 (a hex Ed25519 seed) loaded as a WebCrypto
// CryptoKey that cannot be exported (docs/WEB.md, trust model 5 and 6). WebCrypto imports an
// Ed25519 private key only as PKCS#8 (or JWK), so the seed is wrapped in the fixed 16-byte
// PKCS#8 prefix of RFC 8410. The seed text and the PKCS#8 bytes live only inside
// loadKeyFile; nothing here stores or sends them.
import { secureContextProblem } from "./common.mjs";

export class KeyFileError extends Error {
    constructor(message) { super(message); this.name = "KeyFileError"; }
}

// RFC 8410 section 7: SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING {
// OCTET STRING (32 bytes) } }: 302e 020100 3005 0603 2b6570 0422 0420 || seed.
const PKCS8_PREFIX = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03,
    0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20);

const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
function hexBytes(s) {
    const out = new Uint8Array(s.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
    return out;
}
function base64url(s) {
    const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

// Parse the text of a secret key file: {seedHex, publicHex}, or a KeyFileError saying what
// is wrong in words (the person sees it).
export function parseKeyFile(text) {
    if (typeof text !== "string") throw new KeyFileError("the key file could not be read as text");
    if (text.startsWith("trialreg-ed25519-public-v1"))
        throw new KeyFileError("this is a public key file (.pub); load your secret key file (.key)");
    const lines = text.split("\n");
    if (lines[0] !== "trialreg-ed25519-secret-v1")
        throw new KeyFileError("this is not a trialreg secret key file (its first line must be trialreg-ed25519-secret-v1)");
    const seed = /^seed ([0-9a-f]{64})$/.exec(lines[1] || "");
    if (!seed) throw new KeyFileError("the key file is damaged: its second line must be \"seed\" and 64 lower-case hex digits");
    const pub = /^public ([0-9a-f]{64})$/.exec(lines[2] || "");
    if (!pub) throw new KeyFileError("the key file is damaged: its third line must be \"public\" and 64 lower-case hex digits");
    if (lines.length !== 4 || lines[3] !== "")
        throw new KeyFileError("the key file is damaged: it must hold exactly three lines");
    return { seedHex: seed[1], publicHex: pub[1] };
}

// Load a key file's text: {privateKey (non-extractable CryptoKey, usage sign), publicKey
// (32 bytes), publicHex}. Refuses outside a secure context, a damaged file, and a file whose
// public line is not the seed's public key (derived here, FORMATS 6.3: readers re-derive it).
export async function loadKeyFile(text) {
    const problem = secureContextProblem();
    if (problem) throw new KeyFileError(problem.replace("cannot verify anything", "cannot use a key"));
    const { seedHex, publicHex } = parseKeyFile(text);
    const pkcs8 = new Uint8Array(PKCS8_PREFIX.length + 32);
    pkcs8.set(PKCS8_PREFIX);
    pkcs8.set(hexBytes(seedHex), PKCS8_PREFIX.length);
    let privateKey, derived;
    try {
        // The public key is derived from a short-lived extractable copy (WebCrypto has no
        // "public key of" call); only the non-extractable key is kept.
        const scratch = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
        derived = base64url((await crypto.subtle.exportKey("jwk", scratch)).x);
        privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
    } catch (e) {
        throw new KeyFileError(`this browser could not load an Ed25519 key (${e.message}); Chromium 137 or later is needed`);
    } finally {
        pkcs8.fill(0);
    }
    if (toHex(derived) !== publicHex)
        throw new KeyFileError("the key file is damaged: its public key is not the one its seed gives");
    return { privateKey, publicKey: derived, publicHex };
}

// Ed25519 signature (64 bytes) of message with a loaded key.
export async function sign(key, message) {
    return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key.privateKey, message));
}
