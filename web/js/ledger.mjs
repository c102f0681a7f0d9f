// ledger.mjs - what the key pages (timeline, participant) share: a signed-in session (a key
// file and the genesis the person loads), the node's signed reads, each event's receipt file
// fetched as msgpack and verified here (verify.mjs), and events described in words from the
// verified file (contracts/ABI.md), never from the JSON the node adds beside it.
import { decodeGenesis, verifyReceiptFile, fromHex, hex } from "./verify.mjs";
import { loadKeyFile } from "./keys.mjs";
import { signedFetch } from "./httpsig.mjs";

export const ROLES = { 1: "sponsor", 2: "investigator", 3: "regulator", 4: "researcher", 5: "participant", 6: "auditor" };
export const MEANINGS = { 1: "author", 2: "approval", 3: "review", 4: "witness", 5: "responsibility" };
export const SCOPES = [[1, "main study"], [2, "follow-up"], [4, "future research"], [8, "genetic analysis"], [16, "data sharing"]];
export const scopeWords = (bits) => SCOPES.filter(([b]) => (Number(bits) & b) !== 0).map(([, w]) => w);

// ---- the session: key file + genesis, both the person's -----------------------------------

// Read a File as text or bytes (file pickers).
export const fileText = async (input) => (input.files && input.files[0] ? input.files[0].text() : null);
export const fileBytes = async (input) => (input.files && input.files[0] ? new Uint8Array(await input.files[0].arrayBuffer()) : null);

// {key, genesis, chainId (bytes), who (the key's genesis authority or null)}; throws with a
// message for the person.
export async function signIn(keyText, genesisBytes, expectChain = "") {
    if (genesisBytes === null) throw new Error("Genesis: choose the genesis file first.");
    if (keyText === null) throw new Error("Key: choose your key file first.");
    let genesis;
    try { genesis = await decodeGenesis(genesisBytes); } catch (e) { throw new Error(`Genesis: ${e.message}.`); }
    const expect = expectChain.trim().toLowerCase();
    if (expect && expect !== genesis.chainIdHex)
        throw new Error(`Genesis: this genesis file has chain id ${genesis.chainIdHex}, not the ${expect} you typed: it is not your registry's genesis.`);
    let key;
    try { key = await loadKeyFile(keyText); } catch (e) { throw new Error(`Key: ${e.message}.`); }
    const who = genesis.authorities.find((a) => hex(a.key) === key.publicHex) || null;
    return { key, genesis, chainId: fromHex(genesis.chainIdHex), who };
}

export function whoWords(genesis, key) {
    const k = typeof key === "string" ? key : hex(key);
    const a = genesis.authorities.find((x) => hex(x.key) === k);
    if (a) return `the ${ROLES[a.role] || `role ${a.role}`} "${a.name}"${a.site ? ` of site ${a.site}` : ""}`;
    if (genesis.validators.some((v) => hex(v.key) === k)) return `validator ${k.slice(0, 16)}`;
    return `participant ${k.slice(0, 16)}`;
}

// ---- signed reads --------------------------------------------------------------------------

// A signed GET (each signed afresh, with its own nonce: httpsig.mjs).
async function signedJson(s, path, accept = "application/json") {
    const url = new URL(path, location.origin);
    let r, body = null;
    try {
        r = await signedFetch(s.key, s.chainId, url, { headers: { Accept: accept }, cache: "no-store" });
    } catch (e) {
        throw new Error(`Cannot reach the node at ${location.origin}: it may be down or unreachable (${e.message}). Try again later, or another validator.`);
    }
    if (accept === "application/msgpack" && r.ok) return new Uint8Array(await r.arrayBuffer());
    try { body = await r.json(); } catch { /* below */ }
    if (!r.ok) {
        const why = body && body.reason ? `: ${body.reason}` : "";
        if (r.status === 401) throw new Error(`The node refused the signed request (${body ? body.error : "401"}${why}). Is the genesis your registry's, and this device's clock right?`);
        if (r.status === 403) throw new Error(`Your key may not read this (${body ? body.error : "403"}${why}).`);
        if (r.status === 404) throw new Error(`Not found${why}.`);
        throw new Error(`The node answered HTTP ${r.status}${why}.`);
    }
    return body;
}

// The whole timeline of a trial as this key may see it (JSON pages, docs/HTTP.md).
export async function readTimeline(s, trial, onPage = () => {}) {
    const entries = [];
    let from = 1;
    for (let page = 0; page < 256; page++) {
        const body = await signedJson(s, `/v1/trials/${encodeURIComponent(trial)}/timeline?from=${from}`);
        entries.push(...body.entries);
        onPage(entries.length);
        if (body.complete || body.next_height <= from) break;
        from = body.next_height;
    }
    return entries;
}

// A tx's receipt file (FORMATS 13.5), as msgpack bytes.
export const receiptFile = (s, txId) => signedJson(s, `/v1/receipts/${txId}`, "application/msgpack");

// The receipt files of the trial's public protocol history (no key: FORMATS 13.9), by tx id
// (hex, taken from each file's own receipt once it verifies). A site sees the protocol-level
// txs in its timeline but may not read their receipts by id (the node's receipt rule): these
// are the same files, public.
export async function publicReceipts(s, trial) {
    const out = new Map();
    let from = 0;
    for (let page = 0; page < 64; page++) {
        let body;
        try {
            const r = await fetch(new URL(`/v1/trials/${encodeURIComponent(trial)}/history?from=${from}`, location.origin), { cache: "no-store" });
            if (!r.ok) break;
            body = await r.json();
        } catch { break; }
        for (const e of body.events) {
            const bin = atob(e.receipt_file);
            const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
            const result = await verifyReceiptFile(s.genesis, bytes);
            if (result.ok) out.set(hex(result.file.receipt.txId), bytes);
        }
        from += body.events.length;
        if (!body.events.length || from >= body.total) break;
    }
    return out;
}

// Verify a receipt file against the session's genesis: verifyReceiptFile's answer.
export const verifyFile = (s, bytes) => verifyReceiptFile(s.genesis, bytes);

// Wait until a tx's receipt file is certified (FORMATS 13.5: its proof and commit
// certificate are present) and verified: polls once a second (each poll signed afresh; a
// second apart, so the replay cache never sees the same signature twice), up to timeoutMs.
export async function waitCertified(s, txId, timeoutMs = 30000, onTry = () => {}) {
    const until = Date.now() + timeoutMs;
    let last = null;
    while (Date.now() < until) {
        await new Promise((r) => setTimeout(r, 1100));
        try {
            const bytes = await receiptFile(s, txId);
            last = await verifyFile(s, bytes);
            onTry(last);
            if (last.ok) return { bytes, result: last };
            if (last.step !== 1) return { bytes, result: last };  // certified, but wrong: say so
        } catch (e) {
            if (!/^Not found/.test(e.message)) throw e;
        }
    }
    throw new Error(`The tx ${txId.slice(0, 16)}... was accepted but no certified receipt came within ${timeoutMs / 1000} s${last ? ` (last: ${last.reason})` : ""}. Look again later: its receipt will show whether it committed.`);
}

// ---- events in words, from a verified file -------------------------------------------------

const text = (bytes) => new TextDecoder().decode(bytes);
export const short = (bytes) => (typeof bytes === "string" ? bytes : hex(bytes)).slice(0, 16);
export function u64(bytes, at) {
    let v = 0n;
    for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(bytes[at + i] ?? 0);
    return v;
}
const afterTrial = (data) => data.subarray(1 + data[0]);

// One event's data, decoded by topic (contracts/ABI.md "Events").
export function eventFields(e) {
    const d = afterTrial(e.data);
    switch (e.topic) {
    case "protocol.registered": return { version: u64(d, 0) };
    case "protocol.amended": case "protocol.approved": return { version: u64(d, 0), reconsent: u64(d, 8) !== 0n };
    case "protocol.flag.outcomes_changed": return { version: u64(d, 0) };
    case "protocol.site_activated": return { site: text(d) };
    case "consent.enrolled": return { participant: hex(d.subarray(0, 32)), site: text(d.subarray(32)) };
    case "consent.flag.over_enrolment": return { enrolled: u64(d, 0), planned: u64(d, 8) };
    case "consent.granted": return { participant: hex(d.subarray(0, 32)), version: u64(d, 32), scopes: Number(u64(d, 40)) };
    case "consent.withdrawn": return { participant: hex(d.subarray(0, 32)), withdrawn: Number(u64(d, 32)), remaining: Number(u64(d, 40)) };
    // a participant who lost their key (issue 23 item 2; contracts/ABI.md)
    case "consent.withdrawn_by_site": return { participant: hex(d.subarray(0, 32)), withdrawn: Number(u64(d, 32)), remaining: Number(u64(d, 40)), request: hex(d.subarray(48, 80)), site: text(d.subarray(80)) };
    case "consent.rebind_requested": return { participant: hex(d.subarray(0, 32)), newKey: hex(d.subarray(32, 64)), effectiveAt: Number(u64(d, 64)) };
    case "consent.rebind_vetoed": return { participant: hex(d.subarray(0, 32)), newKey: hex(d.subarray(32, 64)) };
    case "consent.rebound": return { participant: hex(d.subarray(0, 32)), newKey: hex(d.subarray(32, 64)), scopes: Number(u64(d, 64)), version: u64(d, 72), site: text(d.subarray(80)) };
    case "consent.flag.after_rebinding": return { participant: hex(d.subarray(0, 32)), oldKey: hex(d.subarray(32, 64)) };
    case "data.anchored": return { participant: hex(d.subarray(0, 32)), content: hex(d.subarray(32, 64)), scope: Number(u64(d, 64)) };
    case "access.granted": return { grant: u64(d, 0), scope: Number(u64(d, 8)), count: u64(d, 16) };
    case "outcome.reported": return { report: u64(d, 0), flags: u64(d, 8) };
    default: return e.topic.includes(".flag.") && d.length >= 32 ? { outcome: hex(d.subarray(0, 32)) } : {};
    }
}

const FLAG_WORDS = {
    "protocol.flag.outcomes_changed": (f) => `the pre-registered outcomes changed in version ${f.version}`,
    "outcome.flag.primary_switched": (f) => `a pre-registered secondary outcome was reported as primary: ${short(f.outcome)}`,
    "outcome.flag.not_preregistered": (f) => `an outcome that was not pre-registered was reported: ${short(f.outcome)}`,
    "outcome.flag.primary_unreported": (f) => `a pre-registered primary outcome was not reported as primary: ${short(f.outcome)}`,
    "consent.flag.over_enrolment": (f) => `enrolment ${f.enrolled} is beyond the planned ${f.planned}`,
    "consent.flag.after_rebinding": (f) => `a grant made after a re-binding: this key took over the consent of ${short(f.oldKey)}`,
};

// A verified file's event in words: {kind, title, participant, site, flags, signers}.
// `sites` maps a participant key (hex) to its enrolling site, filled as enrolments pass.
export function describe(genesis, file, sites) {
    const method = `${file.tx.contract}.${file.tx.method}`;
    const ev = file.receipt.events.map((e) => ({ topic: e.topic, f: eventFields(e) }));
    const find = (t) => ev.find((e) => e.topic === t);
    const out = { kind: method, title: method, participant: null, site: null, flags: [], detail: "" };
    const signerHex = hex(file.tx.signer);
    const auth = genesis.authorities.find((a) => hex(a.key) === signerHex);
    if (auth && auth.site) out.site = auth.site;
    let e;
    if (file.receipt.status !== 0) {
        out.title = `${method}: not done (${["OK", "REFUSED", "INVALID", "TRAPPED"][file.receipt.status]}: ${file.receipt.reason || `code ${file.receipt.code}`})`;
    } else if ((e = find("protocol.registered"))) out.title = "Protocol registered: version 1";
    else if ((e = find("protocol.amended")))
        out.title = `Protocol amended: version ${e.f.version}${e.f.reconsent ? ": RE-CONSENT REQUIRED (consents under older versions stop covering new data once it is approved)" : ""}`;
    else if ((e = find("protocol.approved")))
        out.title = `Protocol version ${e.f.version} approved${e.f.reconsent ? ": the re-consent gate is closed for older consents from now on" : ""}`;
    else if ((e = find("protocol.site_activated"))) { out.title = `Site activated: ${e.f.site}`; out.site = e.f.site; }
    else if ((e = find("consent.enrolled"))) {
        out.title = `Enrolled participant ${short(e.f.participant)} at site ${e.f.site}`;
        out.participant = e.f.participant; out.site = e.f.site; sites.set(e.f.participant, e.f.site);
    } else if ((e = find("consent.granted"))) {
        out.title = `Consent given by ${short(e.f.participant)} under version ${e.f.version}: ${scopeWords(e.f.scopes).join(", ")}`;
        out.participant = e.f.participant;
    } else if ((e = find("consent.withdrawn"))) {
        out.title = `Consent withdrawn by ${short(e.f.participant)}: ${scopeWords(e.f.withdrawn).join(", ")}; remaining: ${scopeWords(e.f.remaining).join(", ") || "none"}`;
        out.participant = e.f.participant;
    } else if ((e = find("consent.withdrawn_by_site"))) {
        out.title = `Consent of ${short(e.f.participant)} withdrawn by site ${e.f.site} on the participant's documented request (${short(e.f.request)}): ${scopeWords(e.f.withdrawn).join(", ")}; remaining: ${scopeWords(e.f.remaining).join(", ") || "none"}`;
        out.participant = e.f.participant; out.site = e.f.site;
    } else if ((e = find("consent.rebind_requested"))) {
        out.title = `Re-binding of ${short(e.f.participant)} to the new key ${short(e.f.newKey)} requested; the old key may veto it, it completes no earlier than ${new Date(e.f.effectiveAt).toISOString()}`;
        out.participant = e.f.participant;
    } else if ((e = find("consent.rebind_vetoed"))) {
        out.title = `Re-binding of ${short(e.f.participant)} to ${short(e.f.newKey)} vetoed by the old key`;
        out.participant = e.f.participant;
    } else if ((e = find("consent.rebound"))) {
        out.title = `The consent of ${short(e.f.participant)} moved to the new key ${short(e.f.newKey)} (re-binding): ${scopeWords(e.f.scopes).join(", ") || "nothing"}; the old key holds nothing any more`;
        out.participant = e.f.participant; out.site = e.f.site; sites.set(e.f.newKey, e.f.site);
    } else if ((e = find("data.anchored"))) {
        out.title = `Data anchored for ${short(e.f.participant)}: scope ${scopeWords(e.f.scope).join(", ")}, record ${short(e.f.content)}`;
        out.participant = e.f.participant;
    } else if ((e = find("access.granted")))
        out.title = `Access granted: grant ${e.f.grant}, scope ${scopeWords(e.f.scope).join(", ")}, ${e.f.count} records`;
    else if ((e = find("outcome.reported"))) out.title = `Outcome report ${e.f.report}`;
    if (!out.participant && method.startsWith("consent.") && !auth) out.participant = signerHex;
    if (method === "consent.grant" && file.tx.cosigs.length) {  // 21 CFR 11.50: each signature's meaning
        const w = file.tx.cosigs[0];
        out.detail = `witnessed by ${whoWords(genesis, w[0])} (signature meaning: ${MEANINGS[w[1]]}); the participant signed as author`;
    }
    if (out.participant && !out.site) out.site = sites.get(out.participant) || null;
    out.flags = ev.filter((x) => x.topic.includes(".flag.")).map((x) => (FLAG_WORDS[x.topic] ? FLAG_WORDS[x.topic](x.f) : x.topic));
    out.signers = [`signed by ${whoWords(genesis, file.tx.signer)}`,
        ...file.tx.cosigs.map((c) => `co-signed by ${whoWords(genesis, c[0])} (${MEANINGS[c[1]]})`)].join("; ");
    return out;
}

// A participant's consent by scope over time, from verified events: [{time, kind, scopes
// (bits after), changed (bits), version}] in commit order.
export function consentHistory(rows, participant) {
    const out = [];
    let now = 0;
    for (const r of rows) {
        if (!r.result.ok) continue;
        for (const e of r.result.file.receipt.events) {
            const f = eventFields(e);
            if (f.participant !== participant) continue;
            if (e.topic === "consent.granted") { out.push({ time: r.time, kind: "grant", changed: f.scopes, scopes: f.scopes, version: f.version, row: r }); now = f.scopes; }
            if (e.topic === "consent.withdrawn") { out.push({ time: r.time, kind: "withdrawal", changed: f.withdrawn, scopes: f.remaining, row: r }); now = f.remaining; }
            if (e.topic === "consent.withdrawn_by_site") { out.push({ time: r.time, kind: "site_withdrawal", changed: f.withdrawn, scopes: f.remaining, row: r }); now = f.remaining; }
            if (e.topic === "consent.rebound") { out.push({ time: r.time, kind: "rebound_away", changed: now, scopes: 0, row: r }); now = 0; }
            if (e.topic === "consent.flag.after_rebinding" && out.length) out[out.length - 1].afterRebinding = true;
        }
        for (const e of r.result.file.receipt.events) {  // the consent a re-binding moved to this key
            const f = eventFields(e);
            if (e.topic === "consent.rebound" && f.newKey === participant) { out.push({ time: r.time, kind: "rebound_from", changed: f.scopes, scopes: f.scopes, version: f.version, row: r }); now = f.scopes; }
        }
    }
    return { entries: out, now };
}

// A download of bytes or text from the page (a Blob URL: no request to any server).
export function download(name, data, type) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([data], { type }));
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}
