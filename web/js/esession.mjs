// esession.mjs - what the two pages of the e-consent session share (issue 21 item 3,
// docs/WEB.md section 6): the genesis, signed JSON calls to the node, the envelope, the
// consent's words, waiting for a certified receipt and verifying it here, and the summary a
// person can read. No key material is ever put in a request: only public keys (in hex) and
// signatures leave the device (keys.mjs keeps private keys as non-extractable CryptoKeys).
import { decodeGenesis, verifyReceiptFile, fromBase64, fromHex, hex, GenesisError } from "./verify.mjs";
import { signedFetch } from "./httpsig.mjs";
import { decode } from "./msgpack.mjs";
import { el } from "./common.mjs";

// The consent scopes (bits of consent.grant's scopes, contracts/ABI.md) in plain words.
export const SCOPES = [
    { bit: 1, name: "main", words: "Take part in the study: the visits, tests and treatment the protocol describes" },
    { bit: 2, name: "follow_up", words: "Be contacted again after the study for follow-up" },
    { bit: 4, name: "future_research", words: "Let my coded data be used in future research on this condition" },
    { bit: 8, name: "genetic", words: "Genetic analysis of my samples" },
    { bit: 16, name: "data_sharing", words: "Share my coded data with other approved researchers" },
];
export const scopeWords = (bits) => SCOPES.filter((s) => (bits & s.bit) !== 0).map((s) => s.words);

// What each signature means (21 CFR 11.50: the name, the date and time, and the meaning).
export const MEANING_WORDS = {
    1: "author: the participant's own consent",
    2: "approval", 3: "review",
    4: "witness: the investigator saw the participant give this consent",
    5: "responsibility",
};

export const text = (bytes) => new TextDecoder().decode(bytes);

export async function readGenesis(fileInput, expectHex) {
    if (!fileInput.files || !fileInput.files[0]) throw new GenesisError("choose the genesis file first");
    const genesis = await decodeGenesis(new Uint8Array(await fileInput.files[0].arrayBuffer()));
    const expect = (expectHex || "").trim().toLowerCase();
    if (expect) {
        if (!/^[0-9a-f]{64}$/.test(expect)) throw new GenesisError("the chain id given is not 64 hexadecimal characters");
        if (hex(fromHex(expect)) !== genesis.chainIdHex)
            throw new GenesisError(`this genesis file has chain id ${genesis.chainIdHex}, not ${expect}: it is not the registry this consent is for`);
    }
    return genesis;
}

// A call to the node, signed with key (a loaded key) when given: {status, body (JSON or null)}.
// json: an object sent as the body. Throws an Error whose message is for the person when
// the node cannot be reached.
export async function call(key, genesis, method, path, json, accept) {
    const url = new URL(path, location.origin);
    const body = json === undefined ? undefined : new TextEncoder().encode(JSON.stringify(json));
    const headers = body ? { "Content-Type": "application/json" } : {};
    if (accept) headers.Accept = accept;
    const options = { method, cache: "no-store", headers, body };
    let response;
    try {
        response = key ? await signedFetch(key, genesis.chainId, url, options) : await fetch(url, options);
    } catch (e) {
        throw new Error(`Cannot reach the node at ${location.origin}: it may be down or unreachable (${e.message}). Try again, or use another validator.`);
    }
    if (accept === "application/msgpack" && response.ok)
        return { status: response.status, body: null, bytes: new Uint8Array(await response.arrayBuffer()) };
    let answer = null;
    try { answer = await response.json(); } catch { /* not JSON: reported by the caller */ }
    return { status: response.status, body: answer };
}

export const reasonOf = (r) => (r.body && r.body.reason ? r.body.reason : `HTTP ${r.status}`);

// A consent.grant body (msgpack bytes) in words: {signer, trial, version, form, scopes,
// validUntil}; throws an Error for the person if it is anything else.
export function grantOfBody(bytes) {
    let f;
    try { f = decode(bytes); } catch (e) { throw new Error(`the consent does not decode (${e.message})`); }
    if (!Array.isArray(f) || f.length !== 6 || f[3] !== "consent" || f[4] !== "grant" || !Array.isArray(f[5]) || f[5].length !== 4)
        throw new Error("this envelope does not hold a consent (consent.grant)");
    const [trial, version, form, scopes] = f[5];
    return { signer: f[0], nonce: f[1], validUntil: Number(f[2]), trial: text(trial), version: Number(version),
             form, scopes: Number(scopes), fields: f };
}

// Show a consent's terms as a definition list.
export function termsList(g) {
    const dl = el("dl", null, "terms");
    dl.append(el("dt", "Trial"), el("dd", g.trial));
    dl.append(el("dt", "Protocol version"), el("dd", String(g.version)));
    const form = el("dd");
    form.append(el("code", hex(g.form)));
    dl.append(el("dt", "Consent form (SHA-256 of the approved document)"), form);
    const ul = el("ul", null, "scopes");
    for (const w of scopeWords(g.scopes)) ul.append(el("li", w));
    const dd = el("dd");
    dd.append(ul);
    dl.append(el("dt", "You consent to"), dd);
    return dl;
}

// Poll GET /v1/receipts/{id} (signed by key) until the receipt is certified, then verify its
// receipt file against the genesis here. {result (verify.mjs's), bytes}. progress(text).
export async function waitCertified(key, genesis, txId, progress, timeoutMs = 90000) {
    const until = Date.now() + timeoutMs;
    for (;;) {
        const r = await call(key, genesis, "GET", `/v1/receipts/${txId}`);
        if (r.status === 200 && r.body && r.body.certified) {
            // the receipt file (FORMATS 13.5), the bytes trialctl verify-receipt checks
            const file = await call(key, genesis, "GET", `/v1/receipts/${txId}`, undefined, "application/msgpack");
            if (file.status !== 200 || !file.bytes) throw new Error(`The node refused the receipt file: ${reasonOf(file)}`);
            return { result: await verifyReceiptFile(genesis, file.bytes), bytes: file.bytes };
        }
        if (r.status !== 200 && r.status !== 404)
            throw new Error(`The node refused to show the receipt: ${reasonOf(r)}`);
        if (Date.now() > until) throw new Error(`The consent was sent but its certified receipt did not come within ${timeoutMs / 1000} s; look for it later (tx ${txId}).`);
        progress(r.status === 200 ? "Committed; waiting for the validators' certificate..." : "Waiting for the consent to be committed...");
        await new Promise((ok) => setTimeout(ok, 400));
    }
}

// Poll the envelope until test(envelope) holds; the envelope. progress(text) while waiting.
export async function waitEnvelope(key, genesis, id, test, progress, timeoutMs = 15 * 60 * 1000) {
    const until = Date.now() + timeoutMs;
    for (;;) {
        const r = await call(key, genesis, "GET", `/v1/envelopes/${id}`);
        if (r.status === 410 || r.status === 404) throw new Error("The envelope expired before it was complete: start the consent again.");
        if (r.status !== 200 || !r.body) throw new Error(`The node refused the envelope: ${reasonOf(r)}`);
        if (test(r.body)) return r.body;
        if (Date.now() > until) throw new Error("Nothing came in time: start the consent again.");
        progress();
        await new Promise((ok) => setTimeout(ok, 1000));
    }
}

const RECEIPT_STATUS = ["OK", "REFUSED", "INVALID", "TRAPPED"];

// The readable summary of a verified consent receipt, with its download; into container.
export function showSummary(container, genesis, result, bytes, fileName) {
    container.replaceChildren();
    container.hidden = false;
    container.append(el("h2", "The consent, as the registry recorded it", null));
    if (!result.ok) {
        container.append(el("p", `✗ not verified: ${result.stepName} (${result.reason}). Do not rely on this receipt.`, "mark bad"));
        return false;
    }
    const f = result.file;
    const ok = f.receipt.status === 0;
    container.append(el("p", ok ? "✓ verified: certified by the validators of your genesis, checked in this browser"
        : `✗ refused by the registry: ${RECEIPT_STATUS[f.receipt.status]} (${f.receipt.reason || `code ${f.receipt.code}`})`, ok ? "mark ok" : "mark bad"));
    const dl = el("dl", null, "summary");
    const args = f.tx.args;
    dl.append(el("dt", "Trial"), el("dd", text(args[0])));
    dl.append(el("dt", "Protocol version"), el("dd", String(args[1])));
    const form = el("dd");
    form.append(el("code", hex(args[2])));
    dl.append(el("dt", "Consent form (SHA-256)"), form);
    const ul = el("ul", null, "scopes");
    for (const w of scopeWords(Number(args[3]))) ul.append(el("li", w));
    const scopes = el("dd");
    scopes.append(ul);
    dl.append(el("dt", "Consented to"), scopes);
    dl.append(el("dt", "Recorded at (the block's time)"), el("dd", new Date(Number(f.header.timeMs)).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC")));
    dl.append(el("dt", "Block height"), el("dd", String(f.height)));
    const sigs = el("ul", null, "signatures");
    sigs.append(el("li", `Participant (pseudonymous key ${hex(f.tx.signer).slice(0, 16)}...): ${MEANING_WORDS[1]}`));
    for (const c of f.tx.cosigs) {
        const who = genesis.authorities.find((a) => hex(a.key) === hex(c[0]));
        const name = who ? `${who.name}${who.site ? ` (site ${who.site})` : ""}` : `key ${hex(c[0]).slice(0, 16)}...`;
        sigs.append(el("li", `${name}: ${MEANING_WORDS[Number(c[1])] || `meaning ${c[1]}`}`));
    }
    const sd = el("dd");
    sd.append(sigs);
    dl.append(el("dt", "Signatures (each checked here)"), sd);
    dl.append(el("dt", "Receipt id (tx id)"), el("dd", hex(f.receipt.txId)));
    container.append(dl);
    const a = el("a", "Download the receipt (keep it: trialctl verify-receipt checks it with the genesis alone)", "download");
    a.href = URL.createObjectURL(new Blob([bytes], { type: "application/msgpack" }));
    a.download = fileName;
    a.id = "receipt-download";
    const p = el("p");
    p.append(a);
    container.append(p);
    return ok;
}

export { hex, fromHex, fromBase64, GenesisError };
