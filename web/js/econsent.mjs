// econsent.mjs - the investigator's page of the e-consent session (issue 21 item 3,
// docs/WEB.md section 6). With the investigator's key loaded (non-extractable) and the
// genesis the person holds, it: reads the trial's approved versions and their consent forms
// from the public history, each event verified here; checks the local consent form's
// SHA-256 against them; enrols the participant's public key if needed; opens an envelope
// holding the consent.grant body (the participant is its signer); waits for the
// participant's signature from their own device; co-signs as witness; submits; waits for
// the certified receipt, verifies it here and shows the summary. The link to the
// participant's page is shown as text and as a QR code (qr.mjs, our own encoder).
import { loadKeyFile, KeyFileError } from "./keys.mjs";
import { txBody, cosign, assemble, buildTx, submitTx, MEANINGS } from "./tx.mjs";
import { verifyReceiptFile } from "./verify.mjs";
import { qrSvg } from "./qr.mjs";
import { secureContextProblem, say, el } from "./common.mjs";
import { SCOPES, readGenesis, call, reasonOf, waitCertified, waitEnvelope, showSummary,
         hex, fromHex, fromBase64, GenesisError } from "./esession.mjs";

const $ = (id) => document.getElementById(id);
const CONTRACT_ALREADY_ENROLLED = 120;  // contracts/ABI.md error codes
let versions = new Map();               // version -> {forms: [hex], approved}

for (const s of SCOPES) {
    const p = el("p", null, "check");
    const box = el("input");
    box.type = "checkbox";
    box.id = `scope-${s.name}`;
    box.value = String(s.bit);
    const label = el("label", s.words);
    label.htmlFor = box.id;
    p.append(box, label);
    $("scopes").append(p);
}

async function genesis() {
    try {
        return await readGenesis($("genesis"), $("expect").value);
    } catch (e) {
        throw new Error(e instanceof GenesisError ? `Genesis: ${e.message}.` : `Genesis: ${e}`);
    }
}

// The approved versions and their forms, from the verified public history.
async function loadVersions() {
    const problem = secureContextProblem();
    if (problem) return say("error", problem);
    const select = $("version");
    try {
        const g = await genesis();
        const trial = $("trial").value.trim();
        if (!trial) return say("error", "Type the trial id.");
        say("info", `Reading and verifying the history of ${trial}...`);
        versions = new Map();
        let from = 0, failures = 0;
        for (let page = 0; page < 64; page++) {
            const r = await call(null, g, "GET", `/v1/trials/${encodeURIComponent(trial)}/history?from=${from}`);
            if (r.status === 404) return say("error", `The node knows no trial "${trial}" (${reasonOf(r)}).`);
            if (r.status !== 200 || !r.body || !Array.isArray(r.body.events)) return say("error", `The node answered: ${reasonOf(r)}.`);
            for (const entry of r.body.events) {
                const v = await verifyReceiptFile(g, fromBase64(entry.receipt_file));
                if (!v.ok) { failures++; continue; }
                const f = v.file, args = f.tx.args, method = `${f.tx.contract}.${f.tx.method}`;
                if (f.receipt.status !== 0) continue;
                const forms = (list) => { const out = []; for (let i = 0; i + 32 <= list.length; i += 32) out.push(hex(list.subarray(i, i + 32))); return out; };
                if (method === "protocol.register") versions.set(1, { forms: forms(args[6]), approved: false });
                else if (method === "protocol.amend") {
                    const e = f.receipt.events.find((x) => x.topic === "protocol.amended");
                    const d = e.data.subarray(1 + e.data[0]);
                    let n = 0;
                    for (let i = 0; i < 8; i++) n = n * 256 + d[i];
                    versions.set(n, { forms: forms(args[5]), approved: false });
                } else if (method === "protocol.approve" && versions.has(Number(args[1]))) versions.get(Number(args[1])).approved = true;
            }
            from += r.body.events.length;
            if (r.body.events.length === 0 || from >= r.body.total) break;
        }
        select.replaceChildren();
        for (const [v, info] of [...versions].sort((a, b) => b[0] - a[0])) {
            if (!info.approved) continue;
            const o = el("option", `version ${v} (approved; ${info.forms.length} consent form${info.forms.length > 1 ? "s" : ""})`);
            o.value = String(v);
            select.append(o);
        }
        select.disabled = select.options.length === 0;
        if (select.disabled) return say("error", `No approved version of ${trial} verifies against your genesis${failures ? ` (${failures} events did not verify)` : ""}.`);
        say(failures ? "warning" : "info", `${select.options.length} approved version(s) read and verified${failures ? `; ${failures} events did NOT verify and were ignored` : ""}.`);
        if ($("form").files && $("form").files[0]) await checkForm();
    } catch (e) {
        say("error", e.message);
    }
}

// The local form's SHA-256 against the chosen version's approved forms: its hash, or null.
async function checkForm() {
    const out = $("form-check");
    out.textContent = "";
    const file = $("form").files && $("form").files[0];
    if (!file) return null;
    const digest = hex(new Uint8Array(await crypto.subtle.digest("SHA-256", await file.arrayBuffer())));
    const info = versions.get(Number($("version").value));
    if (!info) { out.textContent = `Your form's SHA-256 is ${digest}; read the approved versions to check it.`; return null; }
    if (!info.forms.includes(digest)) {
        out.textContent = "";
        say("error", `The consent form file "${file.name}" does not match: its SHA-256 is ${digest}, which is not an approved consent form of version ${$("version").value}. Use the approved document.`);
        return null;
    }
    out.textContent = `✓ "${file.name}" matches the approved consent form ${digest.slice(0, 16)}... of version ${$("version").value}.`;
    say("info", "The consent form matches the approved one.");
    return digest;
}

async function run(event) {
    event.preventDefault();
    const problem = secureContextProblem();
    if (problem) return say("error", problem);
    const button = $("start");
    button.disabled = true;
    $("summary").hidden = true;
    try {
        const g = await genesis();
        if (!$("key").files || !$("key").files[0]) return say("error", "Load your investigator key file.");
        let key;
        try {
            key = await loadKeyFile(await $("key").files[0].text());
        } catch (e) {
            return say("error", `Key file: ${e instanceof KeyFileError ? e.message : e}.`);
        }
        const trial = $("trial").value.trim();
        const version = Number($("version").value);
        if (!trial || !version) return say("error", "Read the trial's approved versions and choose one.");
        const form = await checkForm();
        if (!form) { if (!$("form").files || !$("form").files[0]) say("error", "Choose your copy of the consent form."); return; }
        let scopes = 0;
        for (const s of SCOPES) if ($(`scope-${s.name}`).checked) scopes |= s.bit;
        if (!scopes) return say("error", "Tick at least one thing the participant is asked to consent to.");
        const pHex = $("participant").value.trim().toLowerCase();
        if (!/^[0-9a-f]{64}$/.test(pHex)) return say("error", "The participant's public key must be 64 hexadecimal characters.");
        if (pHex === key.publicHex) return say("error", "That is your own key: the participant signs with theirs.");
        const participant = fromHex(pHex);

        // 1. enrol the key at this site unless it is already
        say("info", "Enrolling the participant's key...");
        const enrol = await buildTx(key, g.chainId, "consent", "enrol", [trial, participant]);
        const sent = await submitTx(location.origin, enrol);
        if (!sent.accepted) return say("error", `The node refused the enrolment: ${sent.reason || sent.error}.`);
        const er = await waitCertified(key, g, enrol.txId, (t) => say("info", `Enrolment: ${t}`));
        if (!er.result.ok) return say("error", `The enrolment's receipt did not verify: ${er.result.stepName} (${er.result.reason}).`);
        const rc = er.result.file.receipt;
        if (rc.status !== 0 && rc.code !== CONTRACT_ALREADY_ENROLLED)
            return say("error", `The registry refused the enrolment: ${rc.reason || `code ${rc.code}`}.`);

        // 2. the envelope: the consent.grant body, signed later by the participant
        const body = txBody(participant, "consent", "grant", [trial, version, fromHex(form), scopes]);
        const r = await call(key, g, "POST", "/v1/envelopes",
            { participant: pHex, body: btoa(String.fromCharCode(...body.body)), ttl_s: 900 });
        if (r.status !== 201 || !r.body) return say("error", `The node refused the envelope: ${reasonOf(r)}.`);
        const id = r.body.id;
        const link = new URL(`sign.html?e=${id}&c=${g.chainIdHex}`, location.href);
        $("link").href = link.href;
        $("link").textContent = link.href;
        const qr = qrSvg(link.href, 5, "QR code of the link for the participant's device");
        $("qr").replaceChildren(qr || el("p", "(the link is too long for a QR code here: open it by hand)"));
        $("code").textContent = id;
        $("chain").textContent = g.chainIdHex;
        $("handoff").hidden = false;
        say("info", "Waiting for the participant to read and sign on their device...");

        // 3. the participant's signature, then ours as witness
        const env = await waitEnvelope(key, g, id, (e) => e.participant_sig !== null,
            () => say("info", "Waiting for the participant to read and sign on their device..."));
        const participantSig = fromHex(env.participant_sig);
        const pub = await crypto.subtle.importKey("raw", participant, { name: "Ed25519" }, false, ["verify"]);
        const signed = new Uint8Array([...new TextEncoder().encode("trialreg/v1/tx"), ...g.chainId, ...body.body]);
        if (!(await crypto.subtle.verify({ name: "Ed25519" }, pub, participantSig, signed)))
            return say("error", "The participant's signature in the envelope does not verify: the consent was not signed by their key. Nothing was submitted.");
        say("info", "The participant signed. Adding your signature as witness...");
        const cosig = await cosign(key, g.chainId, body, MEANINGS.witness);
        const w = await call(key, g, "PUT", `/v1/envelopes/${id}`, { sig: hex(cosig[2]) });
        if (w.status !== 200) return say("error", `The node refused your witness signature: ${reasonOf(w)}.`);
        const tx = await assemble(body, [cosig], participantSig);
        if (w.body.tx_id !== tx.txId) return say("error", "The envelope's tx is not the one this page assembled: nothing was submitted.");

        // 4. submit, wait for the certificate, verify, show
        const answer = await submitTx(location.origin, tx);
        if (!answer.accepted) return say("error", `The node refused the consent: ${answer.reason || answer.error}.`);
        const done = await waitCertified(key, g, tx.txId, (t) => say("info", `Consent: ${t}`));
        const ok = showSummary($("summary"), g, done.result, done.bytes, `consent-${tx.txId.slice(0, 16)}.receipt`);
        say(ok ? "info" : "error", ok ? "The consent is recorded and its receipt verified. The participant's device shows the same receipt."
            : "The consent was not recorded as given: see below.");
    } catch (e) {
        say("error", e.message);
    } finally {
        button.disabled = false;
    }
}

$("load-versions").addEventListener("click", loadVersions);
$("form").addEventListener("change", () => { checkForm().catch((e) => say("error", e.message)); });
$("version").addEventListener("change", () => { checkForm().catch((e) => say("error", e.message)); });
$("prepare").addEventListener("submit", run);
const problem = secureContextProblem();
if (problem) say("error", problem);
