// participant.mjs - the participant's own page (issue 21 item 4, docs/WEB.md): their key and
// the genesis loaded here; their consent history by scope, each change verified from its
// receipt file; withdraw one scope or all with one confirmation: a consent.withdraw tx built
// and signed here (tx.mjs), POSTed to /v1/txs, then its certified receipt awaited, verified,
// shown and offered for download. The key never leaves the page (a non-extractable CryptoKey).
import { secureContextProblem, say, el } from "./common.mjs";
import { signIn, fileText, fileBytes, readTimeline, receiptFile, verifyFile, waitCertified,
         describe, consentHistory, scopeWords, SCOPES, download } from "./ledger.mjs";
import { buildTx, submitTx } from "./tx.mjs";

let session = null, trial = "", current = 0, lastReceipt = null;
const $ = (id) => document.getElementById(id);
const time = (ms) => new Date(Number(ms)).toISOString().replace(".000Z", "Z").replace("T", " ");

function mark(result) {
    const m = result.ok ? el("span", "✓ verified", "mark ok") : el("span", `✗ not verified: ${result.stepName}`, "mark bad");
    if (!result.ok) m.title = result.reason;
    return m;
}

// My txs (grants and withdrawals: the node lets a participant read the receipts of the txs
// it signed), each verified from its receipt file.
async function load() {
    const me = session.key.publicHex;
    const entries = await readTimeline(session, trial);
    const mine = entries.filter((e) => e.tx.signer === me);
    const rows = [];
    const sites = new Map();
    for (const e of mine) {
        let result;
        try { result = await verifyFile(session, await receiptFile(session, e.tx.tx_id)); }
        catch (err) { result = { ok: false, step: 0, stepName: "receipt not read", reason: err.message }; }
        const row = { entry: e, result, time: result.ok ? result.file.header.timeMs : e.time_ms };
        if (result.ok) row.words = describe(session.genesis, result.file, sites);
        rows.push(row);
    }
    return rows;
}

function render(rows) {
    const me = session.key.publicHex;
    const { entries, now } = consentHistory(rows, me);
    current = now;
    const body = $("history-table").tBodies[0];
    body.replaceChildren();
    for (const r of rows) {
        const tr = el("tr");
        const h = entries.find((x) => x.row === r);
        tr.append(el("td", time(r.time)));
        tr.append(el("td", r.result.ok ? r.words.title : `${r.entry.tx.contract}.${r.entry.tx.method} (not verified)`));
        tr.append(el("td", h ? (scopeWords(h.scopes).join(", ") || "nothing") : ""));
        const td = el("td");
        td.append(mark(r.result));
        tr.append(td);
        tr.dataset.verified = r.result.ok ? "yes" : "no";
        body.append(tr);
    }
    $("history").hidden = false;
    const ul = $("scopes");
    ul.replaceChildren();
    for (const [bit, words] of SCOPES) {
        const li = el("li");
        const id = `scope-${bit}`;
        const box = el("input");
        box.type = "checkbox"; box.id = id; box.value = String(bit);
        box.disabled = (now & bit) === 0;
        const label = el("label", `${words}: ${(now & bit) ? "you agree" : "not agreed"}`);
        label.htmlFor = id;
        li.className = (now & bit) ? "agreed" : "not-agreed";
        li.append(box, label);
        ul.append(li);
    }
    $("now").hidden = false;
    $("withdraw-some").disabled = $("withdraw-all").disabled = now === 0;
    const bad = rows.filter((r) => !r.result.ok).length;
    if (bad) say("warning", `${bad} of ${rows.length} records did NOT verify: do not rely on them (each says which check failed).`);
    else say("info", now ? `You agree now to: ${scopeWords(now).join(", ")}. All ${rows.length} records verified.`
                         : `You agree to nothing in ${trial} now. ${rows.length} records, all verified.`);
}

async function start(event) {
    event.preventDefault();
    const problem = secureContextProblem();
    if (problem) return say("error", problem);
    $("go").disabled = true;
    try {
        session = await signIn(await fileText($("key")), await fileBytes($("genesis")), $("expect").value);
        trial = $("trial").value.trim();
        if (!trial) throw new Error("Type the trial id.");
        $("me-facts").replaceChildren(
            el("dt", "Your public key (derived on this device from your key file)"), el("dd", session.key.publicHex),
            el("dt", "Registry"), el("dd", session.genesis.chainName),
            el("dt", "Chain id (SHA-256 of your genesis file)"), el("dd", session.genesis.chainIdHex));
        $("me-facts").children[1].className = $("me-facts").children[5].className = "key";
        $("me").hidden = false;
        say("info", `Reading your consent in ${trial}...`);
        render(await load());
    } catch (e) {
        say("error", e.message);
    } finally {
        $("go").disabled = false;
    }
}

let pending = 0;
function ask(bits) {
    if (!session) return;
    if (!bits) return say("error", "Tick at least one part to withdraw (or choose Withdraw everything).");
    pending = bits;
    $("confirm-text").textContent = `You withdraw your consent to: ${scopeWords(bits).join(", ")} in ${trial}. `
        + "From now on the registry refuses new data of these parts, and researchers' access no longer "
        + "releases your data of these parts; what was collected before stays recorded. "
        + "Your site sees it in the registry.";
    $("confirm").showModal();
    $("confirm-no").focus();
}

async function withdraw() {
    $("confirm").close();
    const bits = pending;
    $("withdraw-some").disabled = $("withdraw-all").disabled = true;
    try {
        say("info", "Signing your withdrawal on this device and sending it...");
        const tx = await buildTx(session.key, session.chainId, "consent", "withdraw", [trial, bits]);
        const answer = await submitTx(location.origin, tx);
        if (!answer.accepted) throw new Error(`The registry refused the withdrawal: ${answer.reason || answer.error}.`);
        say("info", "Sent. Waiting for the validators to certify it (a few seconds)...");
        const { bytes, result } = await waitCertified(session, answer.txId);
        lastReceipt = { bytes, name: `withdrawal-${answer.txId.slice(0, 16)}.receipt` };
        const words = result.ok ? describe(session.genesis, result.file, new Map()) : null;
        $("done-facts").replaceChildren(
            el("dt", "What"), el("dd", words ? words.title : "(not verified)"),
            el("dt", "When (block time)"), el("dd", result.ok ? time(result.file.header.timeMs) : ""),
            el("dt", "Receipt"), el("dd"),
            el("dt", "Transaction id"), el("dd", answer.txId));
        $("done-facts").children[5].append(mark(result));
        $("done").hidden = false;
        render(await load());
        if (!result.ok) say("warning", `Your withdrawal's receipt did NOT verify (${result.stepName}: ${result.reason}).`);
        else say("info", `Your withdrawal is certified and verified: ${words.title}.`);
    } catch (e) {
        say("error", e.message);
        $("withdraw-some").disabled = $("withdraw-all").disabled = current === 0;
    }
}

$("signin").addEventListener("submit", start);
$("withdraw").addEventListener("submit", (e) => {
    e.preventDefault();
    let bits = 0;
    for (const box of document.querySelectorAll("#scopes input:checked")) bits |= Number(box.value);
    ask(bits);
});
$("withdraw-all").addEventListener("click", () => ask(current));
$("confirm-yes").addEventListener("click", withdraw);
$("confirm-no").addEventListener("click", () => { $("confirm").close(); say("info", "Nothing was withdrawn."); });
$("save-receipt").addEventListener("click", () => {
    if (lastReceipt) download(lastReceipt.name, lastReceipt.bytes, "application/msgpack");
});
const params = new URLSearchParams(location.search);
if (params.get("trial")) $("trial").value = params.get("trial");
const problem = secureContextProblem();
if (problem) say("error", problem);
