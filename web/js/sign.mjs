// sign.mjs - the participant's page of the e-consent session (issue 21 item 3, docs/WEB.md
// section 6), on the participant's own device. The key is made here (WebCrypto generateKey
// Ed25519; the person downloads its key file, FORMATS 6.3, and the page keeps only a
// non-extractable copy) or loaded from the file they kept. The page reads the envelope the
// site opened, shows the consent in words, and after the person agrees signs the body and
// puts the signature (only the signature) in the envelope. Then it waits for the witnessed
// tx to commit and shows the receipt, verified here, to keep.
import { loadKeyFile, KeyFileError } from "./keys.mjs";
import { signBody } from "./tx.mjs";
import { secureContextProblem, say } from "./common.mjs";
import { readGenesis, call, reasonOf, grantOfBody, termsList, waitCertified, waitEnvelope,
         showSummary, hex, fromBase64, GenesisError } from "./esession.mjs";

const $ = (id) => document.getElementById(id);
let key = null;
let current = null;  // {genesis, id, grant, body}
const params = new URLSearchParams(location.search);
if (/^[0-9a-f]{32}$/.test(params.get("e") || "")) $("envelope").value = params.get("e");
if (/^[0-9a-f]{64}$/.test(params.get("c") || "")) $("expect").value = params.get("c");

function showKey() {
    $("public").textContent = key.publicHex;
    $("key-out").hidden = false;
}

// A new key: generated extractable once, written as a key file the person downloads, then
// loaded back as a non-extractable key; the extractable one is dropped.
async function createKey() {
    const problem = secureContextProblem();
    if (problem) return say("error", problem);
    try {
        const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
        const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
        const pub = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
        const seed = pkcs8.subarray(pkcs8.length - 32);
        const file = `trialreg-ed25519-secret-v1\nseed ${hex(seed)}\npublic ${hex(pub)}\n`;
        pkcs8.fill(0);
        key = await loadKeyFile(file);
        const a = $("key-download");
        if (a.href.startsWith("blob:")) URL.revokeObjectURL(a.href);
        a.href = URL.createObjectURL(new Blob([file], { type: "application/octet-stream" }));
        a.download = `participant-${key.publicHex.slice(0, 8)}.key`;
        $("key-save").hidden = false;
        showKey();
        say("info", "Your key is made. Download its file and keep it; tell the site your public key.");
    } catch (e) {
        say("error", `This browser could not make an Ed25519 key (${e.message}); Chromium 137 or later is needed.`);
    }
}

async function loadKey() {
    const f = $("key").files && $("key").files[0];
    if (!f) return;
    try {
        key = await loadKeyFile(await f.text());
        $("key-save").hidden = true;
        showKey();
        say("info", "Your key is loaded.");
    } catch (e) {
        key = null;
        $("key-out").hidden = true;
        say("error", `Key file: ${e instanceof KeyFileError ? e.message : e}.`);
    }
}

async function read(event) {
    event.preventDefault();
    const problem = secureContextProblem();
    if (problem) return say("error", problem);
    $("consent").hidden = true;
    try {
        let genesis;
        try {
            genesis = await readGenesis($("genesis"), $("expect").value);
        } catch (e) {
            return say("error", e instanceof GenesisError ? `Genesis: ${e.message}.` : `Genesis: ${e}`);
        }
        if (!key) return say("error", "Make your key or load your key file first.");
        const id = $("envelope").value.trim();
        if (!/^[0-9a-f]{32}$/.test(id)) return say("error", "The consent code is 32 characters (0-9, a-f): open the link the site gave you.");
        const r = await call(key, genesis, "GET", `/v1/envelopes/${id}`);
        if (r.status === 403) return say("error", "This consent was prepared for another key than yours: ask the site to use your public key.");
        if (r.status === 404 || r.status === 410) return say("error", "This consent code has expired or does not exist: ask the site to start again.");
        if (r.status !== 200 || !r.body) return say("error", `The node refused: ${reasonOf(r)}.`);
        const body = fromBase64(r.body.body);
        const grant = grantOfBody(body);
        if (hex(grant.signer) !== key.publicHex) return say("error", "This consent names another key as its signer: do not sign it.");
        current = { genesis, id, grant, body };
        $("terms").replaceChildren(termsList(grant));
        $("agree").checked = false;
        $("consent").hidden = false;
        say("info", "Read what you are asked to consent to; tick the box and sign if you agree.");
    } catch (e) {
        say("error", e.message);
    }
}

async function signIt() {
    if (!current) return;
    if (!$("agree").checked) return say("error", "Tick the box to say you have read the form and consent, or close this page if you do not.");
    const button = $("sign");
    button.disabled = true;
    try {
        const { genesis, id, body } = current;
        const sig = await signBody(key, genesis.chainId, { body });
        const r = await call(key, genesis, "PUT", `/v1/envelopes/${id}`, { sig: hex(sig) });
        if (r.status !== 200) return say("error", `The node refused your signature: ${reasonOf(r)}.`);
        say("info", "Signed. Waiting for the site's witness signature...");
        const env = await waitEnvelope(key, genesis, id, (e) => typeof e.tx_id === "string",
            () => say("info", "Signed. Waiting for the site's witness signature..."));
        const done = await waitCertified(key, genesis, env.tx_id, (t) => say("info", t));
        const ok = showSummary($("summary"), genesis, done.result, done.bytes, `my-consent-${env.tx_id.slice(0, 16)}.receipt`);
        say(ok ? "info" : "error", ok ? "Your consent is recorded. Download the receipt and keep it with your key file."
            : "Your consent was not recorded: see below.");
    } catch (e) {
        say("error", e.message);
    } finally {
        button.disabled = false;
    }
}

$("create").addEventListener("click", createKey);
$("key").addEventListener("change", loadKey);
$("trust").addEventListener("submit", read);
$("sign").addEventListener("click", signIt);
const problem = secureContextProblem();
if (problem) say("error", problem);
