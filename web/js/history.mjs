// history.mjs - the public protocol history page (issue 21 item 2, docs/WEB.md). The person
// loads the genesis (the trust root); the page reads /v1/trials/{T}/history page by page and
// shows each event from its receipt file, decoded and verified here (verify.mjs), never from
// the server's JSON: the JSON's own decoding is not used, only its receipt_file and method.
import { decodeGenesis, verifyReceiptFile, fromBase64, fromHex, hex, GenesisError } from "./verify.mjs";
import { secureContextProblem, say, el } from "./common.mjs";

const PAGE_MAX = 64;  // pages of 16 events: 1024 events at most, then the page says so
const ROLES = { 1: "sponsor", 2: "investigator", 3: "regulator", 4: "researcher", 6: "auditor" };
const MEANINGS = { 1: "author", 2: "approval", 3: "review", 4: "witness", 5: "responsibility" };

// ---- reading the tx's arguments and the events' data (contracts/ABI.md) --------------------

const text = (bytes) => new TextDecoder().decode(bytes);
const short = (bytes) => hex(bytes).slice(0, 16);
function hashes(bytes) {  // 32 bytes x k
    const out = [];
    for (let i = 0; i + 32 <= bytes.length; i += 32) out.push(bytes.subarray(i, i + 32));
    return out;
}
function names(bytes) {   // (len:1, name)x k
    const out = [];
    for (let i = 0; i < bytes.length; i += 1 + bytes[i]) out.push(text(bytes.subarray(i + 1, i + 1 + bytes[i])));
    return out;
}
function u64(bytes, at) {
    let v = 0n;
    for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(bytes[at + i] ?? 0);
    return v;
}
// An event's data after lp(T).
const afterTrial = (data) => data.subarray(1 + data[0]);
const isBin = (a) => a instanceof Uint8Array;

function outcomeList(list) {
    const ul = el("ul", null, "outcomes");
    for (const h of list) {
        const li = el("li");
        const code = el("code", short(h));
        code.title = hex(h);
        li.append(code);
        ul.append(li);
    }
    return ul;
}

function diff(before, after) {
    const b = new Set(before.map(hex)), a = new Set(after.map(hex));
    return { added: after.filter((h) => !b.has(hex(h))), removed: before.filter((h) => !a.has(hex(h))) };
}

// What changed in one outcome list, as a definition list entry.
function changeLines(dl, label, before, after) {
    const { added, removed } = diff(before, after);
    dl.append(el("dt", label));
    const dd = el("dd");
    if (!added.length && !removed.length) dd.append("unchanged");
    if (added.length) { dd.append(el("span", "added: ", "added")); dd.append(outcomeList(added)); }
    if (removed.length) { dd.append(el("span", "removed: ", "removed")); dd.append(outcomeList(removed)); }
    dl.append(dd);
}

const FLAG_WORDS = {
    "protocol.flag.outcomes_changed": (d) => `the pre-registered outcomes changed in version ${u64(d, 0)}`,
    "outcome.flag.primary_switched": (d) => `a pre-registered secondary outcome was reported as primary: ${short(d)}`,
    "outcome.flag.not_preregistered": (d) => `an outcome that was not pre-registered was reported: ${short(d)}`,
    "outcome.flag.primary_unreported": (d) => `a pre-registered primary outcome was not reported as primary: ${short(d)}`,
};

// The readable heading and details of one event; state carries the outcome lists of the
// previous version across events (for amendments' "what changed").
function describe(method, file, state) {
    const args = file ? file.tx.args : [];
    const events = file ? file.receipt.events : [];
    const find = (topic) => events.find((e) => e.topic === topic);
    const details = el("dl", null, "details");
    let title = method;
    if (method === "protocol.register" && args.length >= 7 && isBin(args[2]) && isBin(args[3])) {
        const primary = hashes(args[2]), secondary = hashes(args[3]);
        title = "Registered: protocol version 1";
        details.append(el("dt", "Primary outcomes pre-registered"), el("dd"));
        details.lastChild.append(outcomeList(primary));
        details.append(el("dt", "Secondary outcomes pre-registered"), el("dd"));
        details.lastChild.append(secondary.length ? outcomeList(secondary) : "none");
        details.append(el("dt", "Planned enrolment"), el("dd", String(args[4])));
        if (isBin(args[5])) details.append(el("dt", "Sites"), el("dd", names(args[5]).join(", ")));
        state.outcomes = { primary, secondary };
    } else if (method === "protocol.amend" && args.length >= 6 && isBin(args[2]) && isBin(args[3])) {
        const e = find("protocol.amended");
        const version = e ? u64(afterTrial(e.data), 0) : "?";
        title = `Amended: protocol version ${version}${args[4] ? ", re-consent required" : ""}`;
        const primary = hashes(args[2]), secondary = hashes(args[3]);
        if (state.outcomes) {
            changeLines(details, "Primary outcomes", state.outcomes.primary, primary);
            changeLines(details, "Secondary outcomes", state.outcomes.secondary, secondary);
        }
        state.outcomes = { primary, secondary };
    } else if (method === "protocol.approve") {
        const e = find("protocol.approved");
        title = e ? `Approved: protocol version ${u64(afterTrial(e.data), 0)}${u64(afterTrial(e.data), 8) ? " (requires re-consent)" : ""}`
                  : "Approved";
    } else if (method === "protocol.activate") {
        const e = find("protocol.site_activated");
        title = e ? `Site activated: ${text(afterTrial(e.data))}` : "Site activated";
    } else if (method === "outcomes.report" && args.length >= 3 && isBin(args[1]) && isBin(args[2])) {
        const e = find("outcome.reported");
        title = e ? `Outcome report ${u64(afterTrial(e.data), 0)}` : "Outcome report";
        details.append(el("dt", "Primary outcomes reported"), el("dd"));
        details.lastChild.append(outcomeList(hashes(args[1])));
        details.append(el("dt", "Secondary outcomes reported"), el("dd"));
        details.lastChild.append(hashes(args[2]).length ? outcomeList(hashes(args[2])) : "none");
    }
    const flags = events.filter((e) => e.topic.includes(".flag.")).map((e) => {
        const words = FLAG_WORDS[e.topic];
        return words ? words(afterTrial(e.data)) : e.topic;
    });
    return { title, details, flags };
}

function signerWords(genesis, file) {
    const who = (key) => {
        const a = genesis.authorities.find((x) => hex(x.key) === hex(key));
        return a ? `the ${ROLES[a.role] || `role ${a.role}`} "${a.name}"${a.site ? ` of site ${a.site}` : ""}` : `key ${short(key)}`;
    };
    const parts = [`signed by ${who(file.tx.signer)}`];
    for (const c of file.tx.cosigs) parts.push(`co-signed by ${who(c[0])} (meaning: ${MEANINGS[c[1]] || c[1]})`);
    return parts.join("; ");
}

// ---- rendering -----------------------------------------------------------------------------

function renderEvent(genesis, entry, result, state) {
    const li = el("li", null, "event");
    li.dataset.verified = result.ok ? "yes" : "no";
    const file = result.file;
    const { title, details, flags } = describe(entry.method, file, state);
    const head = el("div", null, "event-head");
    head.append(el("h3", title));
    const mark = result.ok ? el("span", "✓ verified", "mark ok")
                           : el("span", `✗ not verified: ${result.stepName}`, "mark bad");
    mark.setAttribute("role", "img");
    mark.setAttribute("aria-label", result.ok ? "verified" : `not verified: ${result.stepName}`);
    head.append(mark);
    li.append(head);
    if (!result.ok) li.append(el("p", `Step ${result.step} (${result.stepName}) failed: ${result.reason}. `
        + "Nothing below is certified by the validators of your genesis.", "why"));
    const meta = el("p", null, "meta");
    if (file) {
        const time = new Date(Number(file.header.timeMs)).toISOString().replace(".000Z", "Z");
        meta.textContent = `height ${file.height}, block time ${time} (proposed), ${signerWords(genesis, file)}`;
    } else {
        meta.textContent = `${entry.method}: the receipt file does not decode`;
    }
    li.append(meta);
    if (flags.length) {
        const ul = el("ul", null, "flags");
        for (const f of flags) ul.append(el("li", `FLAG: ${f}`, "flag"));
        li.append(ul);
    }
    if (details.childElementCount) li.append(details);
    return li;
}

async function readGenesis() {
    const input = document.getElementById("genesis");
    if (!input.files || !input.files[0]) throw new GenesisError("choose the genesis file first");
    const bytes = new Uint8Array(await input.files[0].arrayBuffer());
    const genesis = await decodeGenesis(bytes);
    const expect = document.getElementById("expect").value.trim().toLowerCase();
    if (expect) {
        if (!/^[0-9a-f]{64}$/.test(expect)) throw new GenesisError("the chain id you typed is not 64 hexadecimal characters");
        if (hex(fromHex(expect)) !== genesis.chainIdHex)
            throw new GenesisError(`this genesis file has chain id ${genesis.chainIdHex}, not the ${expect} you typed: it is not your registry's genesis`);
    }
    return genesis;
}

function showChain(genesis, checked) {
    const dl = document.getElementById("chain-facts");
    dl.replaceChildren(
        el("dt", "Name"), el("dd", genesis.chainName),
        el("dt", "Chain id (SHA-256 of your genesis file)"), el("dd"),
        el("dt", "Validators"), el("dd", `${genesis.n}; a certificate needs ${genesis.quorum} (2f+1) of their signatures`));
    const code = el("code", genesis.chainIdHex, "chain-id");
    dl.children[3].append(code, checked ? " (matches the one you typed)" : "");
    document.getElementById("chain").hidden = false;
}

// GET one page; throws an Error whose message is for the person.
async function fetchPage(trial, from) {
    const url = new URL(`/v1/trials/${encodeURIComponent(trial)}/history?from=${from}`, location.origin);
    let response;
    try {
        response = await fetch(url, { cache: "no-store" });
    } catch (e) {
        throw new Error(`Cannot reach the node at ${location.origin}: it may be down or unreachable (${e.message}). Try again later, or another validator.`);
    }
    let body = null;
    try { body = await response.json(); } catch { /* a non-JSON answer is reported below */ }
    if (response.status === 404 && body && body.error === "NOT_FOUND")
        throw new Error(`The node knows no trial "${trial}" (${body.reason}).`);
    if (!response.ok || !body || !Array.isArray(body.events))
        throw new Error(`The node answered HTTP ${response.status}${body && body.reason ? `: ${body.reason}` : ""}${response.status >= 500 || response.status === 503 ? " (it may be starting or overloaded: try again)" : ""}.`);
    return body;
}

async function show(event) {
    event.preventDefault();
    const button = document.getElementById("show");
    const list = document.getElementById("events");
    document.getElementById("result").hidden = true;
    list.replaceChildren();
    const problem = secureContextProblem();
    if (problem) return say("error", problem);
    button.disabled = true;
    try {
        let genesis;
        try {
            genesis = await readGenesis();
        } catch (e) {
            document.getElementById("chain").hidden = true;
            return say("error", e instanceof GenesisError ? `Genesis: ${e.message}.` : `Genesis: ${e}`);
        }
        showChain(genesis, document.getElementById("expect").value.trim() !== "");
        const trial = document.getElementById("trial").value.trim();
        if (!trial) return say("error", "Type the trial id.");
        say("info", `Reading the history of ${trial}...`);
        const state = {};
        let from = 0, total = 0, shown = 0, verified = 0, chainFailures = 0;
        for (let page = 0; page < PAGE_MAX; page++) {
            const body = await fetchPage(trial, from);
            total = body.total;
            for (const entry of body.events) {
                let bytes = null;
                try { bytes = fromBase64(entry.receipt_file); } catch { bytes = new Uint8Array(0); }
                const result = await verifyReceiptFile(genesis, bytes);
                list.append(renderEvent(genesis, entry, result, state));
                shown++;
                if (result.ok) verified++;
                else if (result.step === 2 || result.step === 5) chainFailures++;
            }
            from += body.events.length;
            if (body.events.length === 0 || from >= total) break;
        }
        document.getElementById("result").hidden = false;
        document.getElementById("summary").textContent =
            `${shown} of ${total} events shown, ${verified} verified against your genesis.`
            + (from < total ? ` ${total - from} more are not shown yet (their blocks are not certified yet, or the list is long): reload later.` : "");
        if (shown > 0 && verified === 0 && chainFailures === shown)
            say("error", `None of the events verifies against the genesis you loaded (chain ${genesis.chainName}, id ${genesis.chainIdHex.slice(0, 16)}...): `
                + "this node serves another chain than your genesis, or it is not honest. Check that you loaded your registry's genesis.");
        else if (verified < shown) say("warning", `${shown - verified} of ${shown} events did NOT verify: do not rely on them (each says which check failed).`);
        else say("info", shown ? `All ${shown} events verified against your genesis.` : `The trial ${trial} has no events yet.`);
    } catch (e) {
        say("error", e.message);
    } finally {
        button.disabled = false;
    }
}

document.getElementById("load").addEventListener("submit", show);
const params = new URLSearchParams(location.search);
if (params.get("trial")) document.getElementById("trial").value = params.get("trial");
const problem = secureContextProblem();
if (problem) say("error", problem);
