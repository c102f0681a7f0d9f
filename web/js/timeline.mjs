// timeline.mjs - the trial timeline (issue 21 item 1, docs/WEB.md): sign in with a key file
// and the genesis; the timeline the key may see (GET /v1/trials/{T}/timeline, signed), each
// event's receipt file fetched as msgpack (signed) and verified here, every row described
// from the verified file; filters by kind, site and participant; a participant's consent
// history by scope; an SVG chart per site; CSV export.
import { secureContextProblem, say, el } from "./common.mjs";
import { hex } from "./verify.mjs";
import { signIn, fileText, fileBytes, readTimeline, receiptFile, publicReceipts, verifyFile, describe,
         consentHistory, scopeWords, SCOPES, ROLES, short, download } from "./ledger.mjs";

let session = null, trial = "", rows = [];
const $ = (id) => document.getElementById(id);
const time = (ms) => new Date(Number(ms)).toISOString().replace(".000Z", "Z").replace("T", " ");
const SVG = "http://www.w3.org/2000/svg";

function mark(result) {
    const m = result.ok ? el("span", "✓ verified", "mark ok") : el("span", `✗ not verified: ${result.stepName}`, "mark bad");
    if (!result.ok) m.title = `step ${result.step}: ${result.reason}`;
    return m;
}

// Verify every entry, 4 receipts at a time.
// A receipt the key may not read by id (a site, for the protocol-level txs) is taken from the
// trial's public history instead (the same file); it must still name this row's tx.
async function verifyAll(entries) {
    const out = new Array(entries.length);
    let next = 0, done = 0, publicFiles = null;
    async function worker() {
        while (next < entries.length) {
            const i = next++;
            const e = entries[i];
            let result;
            try { result = await verifyFile(session, await receiptFile(session, e.tx.tx_id)); }
            catch (err) {
                result = { ok: false, step: 0, stepName: "receipt not read", reason: err.message };
                if (/^Your key may not read/.test(err.message)) {
                    result.stepName = "receipt not readable with your key";
                    result.reason = "the node lets your key see this tx but not read its receipt, and it is not in the trial's public history (a refused protocol tx): nothing about it is shown";
                    if (!publicFiles) publicFiles = publicReceipts(session, trial);
                    const bytes = (await publicFiles).get(e.tx.tx_id);
                    if (bytes) result = await verifyFile(session, bytes);
                }
            }
            if (result.ok && hex(result.file.receipt.txId) !== e.tx.tx_id)
                result = { ok: false, step: 3, stepName: "receipt names the tx", reason: "the receipt file is another tx's", file: null };
            out[i] = { entry: e, result };
            if (++done % 8 === 0) say("info", `Verifying receipts: ${done} of ${entries.length}...`);
        }
    }
    await Promise.all([worker(), worker(), worker(), worker()]);
    const sites = new Map();
    for (const r of out) {  // in commit order, so enrolments name the sites of later rows
        r.time = r.result.ok ? r.result.file.header.timeMs : r.entry.time_ms;
        r.words = r.result.ok ? describe(session.genesis, r.result.file, sites)
            : { kind: `${r.entry.tx.contract}.${r.entry.tx.method}`, title: `${r.entry.tx.contract}.${r.entry.tx.method} (not verified: nothing about it is shown)`,
                participant: null, site: null, flags: [], signers: "", detail: "" };
    }
    return out;
}

function options(select, label, values) {
    const keep = select.value;
    select.replaceChildren(el("option", `all ${label}`));
    select.firstChild.value = "";
    for (const [v, text] of values) { const o = el("option", text); o.value = v; select.append(o); }
    select.value = values.some(([v]) => v === keep) ? keep : "";
}

function visible(r) {
    const k = $("f-kind").value, s = $("f-site").value, p = $("f-participant").value;
    return (!k || r.words.kind === k) && (!s || r.words.site === s) && (!p || r.words.participant === p);
}

function renderTable() {
    const body = $("events").tBodies[0];
    body.replaceChildren();
    let shown = 0;
    for (const r of rows) {
        if (!visible(r)) continue;
        shown++;
        const tr = el("tr");
        tr.dataset.verified = r.result.ok ? "yes" : "no";
        tr.dataset.kind = r.words.kind;
        if (r.words.flags.length) tr.className = "flagged";
        tr.append(el("td", String(r.entry.height)), el("td", time(r.time)));
        const what = el("td");
        what.append(el("strong", r.words.title));
        if (r.words.detail) what.append(el("div", r.words.detail, "meta"));
        for (const f of r.words.flags) what.append(el("div", `FLAG: ${f}`, "flag"));
        if (!r.result.ok) what.append(el("div", `Step ${r.result.step} (${r.result.stepName}) failed: ${r.result.reason}`, "why"));
        tr.append(what, el("td", r.words.site || ""));
        const who = el("td");
        if (r.words.participant) {
            const b = el("button", short(r.words.participant), "link participant");
            b.type = "button";
            b.title = `consent history of ${r.words.participant}`;
            b.addEventListener("click", () => showConsent(r.words.participant));
            who.append(b);
        }
        tr.append(who, el("td", r.words.signers, "meta"));
        const m = el("td");
        m.append(mark(r.result));
        tr.append(m);
        body.append(tr);
    }
    const ok = rows.filter((r) => r.result.ok).length;
    $("summary").textContent = `${shown} of ${rows.length} events shown; ${ok} of ${rows.length} verified against your genesis.`;
}

// One consent history row in words (the kinds of ledger.mjs consentHistory).
function changeWords(h) {
    const scopes = scopeWords(h.changed).join(", ");
    switch (h.kind) {
    case "grant": return `consent under version ${h.version}: ${scopes}${h.afterRebinding ? " (granted after a re-binding)" : ""}`;
    case "site_withdrawal": return `withdrawn by site on the participant's documented request: ${scopes}`;
    case "rebound_from": return `consent moved here from the old key (re-binding): ${scopes || "nothing"}`;
    case "rebound_away": return `consent moved to the new key (re-binding): this key holds nothing any more`;
    default: return `withdrawal: ${scopes}`;
    }
}

function showConsent(participant) {
    const { entries } = consentHistory(rows, participant);
    $("consent-caption").textContent = `Participant ${participant}: what they agreed to after each change`;
    const head = el("tr");
    head.append(el("th", "When"), el("th", "Change"), ...SCOPES.map(([, w]) => el("th", w)));
    for (const th of head.children) th.scope = "col";
    $("consent-table").tHead.replaceChildren(head);
    const body = $("consent-table").tBodies[0];
    body.replaceChildren();
    for (const h of entries) {
        const tr = el("tr");
        tr.append(el("td", time(h.time)),
            el("td", changeWords(h)));
        for (const [bit] of SCOPES) tr.append(el("td", (h.scopes & bit) ? "agreed" : "—"));
        body.append(tr);
    }
    if (!entries.length) body.append(el("tr"));
    $("consent").hidden = false;
    $("consent").scrollIntoView();
}

// Per site, over the rows in commit order: enrolled, with active consent, withdrawals.
function series() {
    const per = new Map();
    const scopes = new Map();
    const at = (site) => { if (!per.has(site)) per.set(site, { points: [], enrolled: 0, active: 0, withdrawals: 0 }); return per.get(site); };
    for (const r of rows) {
        if (!r.result.ok || !r.words.site || !r.words.participant) continue;
        const s = at(r.words.site);
        const before = scopes.get(r.words.participant) || 0;
        for (const e of r.result.file.receipt.events) {
            if (e.topic === "consent.enrolled") s.enrolled++;
            if (e.topic === "consent.withdrawn") s.withdrawals++;
        }
        const h = consentHistory([r], r.words.participant).entries.pop();
        if (h) {
            scopes.set(r.words.participant, h.scopes);
            s.active += (h.scopes ? 1 : 0) - (before ? 1 : 0);
        }
        s.points.push({ t: Number(r.time), enrolled: s.enrolled, active: s.active, withdrawals: s.withdrawals });
    }
    return per;
}

function renderCharts() {
    const list = $("chart-list");
    list.replaceChildren();
    const t0 = rows.length ? Number(rows[0].time) : 0, t1 = rows.length ? Number(rows[rows.length - 1].time) : 1;
    for (const [site, s] of [...series()].sort()) {
        const W = 600, H = 200, P = 30;
        const max = Math.max(1, ...s.points.map((p) => Math.max(p.enrolled, p.active, p.withdrawals)));
        const x = (t) => P + (W - 2 * P) * ((t - t0) / Math.max(1, t1 - t0));
        const y = (v) => H - P - (H - 2 * P) * (v / max);
        const svg = document.createElementNS(SVG, "svg");
        svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
        svg.setAttribute("class", "chart");
        svg.setAttribute("role", "img");
        const last = s.points[s.points.length - 1] || { enrolled: 0, active: 0, withdrawals: 0 };
        svg.setAttribute("aria-label", `Site ${site}: ${last.enrolled} enrolled, ${last.active} with active consent, ${last.withdrawals} withdrawals`);
        const title = document.createElementNS(SVG, "title");
        title.textContent = svg.getAttribute("aria-label");
        svg.append(title);
        const axis = document.createElementNS(SVG, "path");
        axis.setAttribute("d", `M${P} ${P} V${H - P} H${W - P}`);
        axis.setAttribute("stroke", "#4a5560"); axis.setAttribute("fill", "none");
        svg.append(axis);
        for (const [field, color] of [["enrolled", "#0b57a4"], ["active", "#146c2e"], ["withdrawals", "#a4161a"]]) {
            let d = `M${x(t0)} ${y(0)}`, prev = 0;
            for (const p of s.points) { d += ` H${x(p.t).toFixed(1)} V${y(p[field]).toFixed(1)}`; prev = p[field]; }
            d += ` H${x(t1)} V${y(prev).toFixed(1)}`;
            const path = document.createElementNS(SVG, "path");
            path.setAttribute("d", d); path.setAttribute("stroke", color); path.setAttribute("stroke-width", "2"); path.setAttribute("fill", "none");
            path.setAttribute("data-series", field);
            svg.append(path);
        }
        for (const [v, text] of [[0, "0"], [max, String(max)]]) {
            const t = document.createElementNS(SVG, "text");
            t.setAttribute("x", "4"); t.setAttribute("y", String(y(v) + 4)); t.setAttribute("font-size", "12");
            t.textContent = text;
            svg.append(t);
        }
        const fig = el("figure");
        fig.append(svg, el("figcaption", svg.getAttribute("aria-label")));
        list.append(fig);
    }
    $("charts").hidden = list.childElementCount === 0;
}

function csv() {
    const q = (v) => `"${String(v ?? "").replace(/"/g, '""')}"`;
    const lines = [["height", "index", "block_time", "kind", "event", "site", "participant", "flags", "signed_by", "verified"].join(",")];
    for (const r of rows) if (visible(r))
        lines.push([r.entry.height, r.entry.index, time(r.time), r.words.kind, r.words.title, r.words.site, r.words.participant,
            r.words.flags.join("; "), r.words.signers, r.result.ok ? "verified" : `not verified: ${r.result.stepName}`].map(q).join(","));
    download(`timeline-${trial}.csv`, lines.join("\r\n") + "\r\n", "text/csv");
}

async function start(event) {
    event.preventDefault();
    const problem = secureContextProblem();
    if (problem) return say("error", problem);
    $("go").disabled = true;
    $("result").hidden = $("consent").hidden = $("charts").hidden = true;
    try {
        session = await signIn(await fileText($("key")), await fileBytes($("genesis")), $("expect").value);
        trial = $("trial").value.trim();
        if (!trial) throw new Error("Type the trial id.");
        const who = session.who ? `the ${ROLES[session.who.role]} "${session.who.name}"${session.who.site ? ` of site ${session.who.site}` : ""}` : "a key that is no genesis authority";
        $("me-facts").replaceChildren(
            el("dt", "Your key"), el("dd", `${session.key.publicHex} (${who})`),
            el("dt", "Registry"), el("dd", session.genesis.chainName),
            el("dt", "Chain id (SHA-256 of your genesis file)"), el("dd"));
        $("me-facts").lastChild.append(el("code", session.genesis.chainIdHex, "chain-id"));
        $("me").hidden = false;
        say("info", `Reading the timeline of ${trial}...`);
        const entries = await readTimeline(session, trial, (n) => say("info", `Reading the timeline: ${n} events...`));
        rows = await verifyAll(entries);
        const kinds = [...new Set(rows.map((r) => r.words.kind))].sort();
        options($("f-kind"), "kinds", kinds.map((k) => [k, k]));
        options($("f-site"), "sites", [...new Set(rows.map((r) => r.words.site).filter(Boolean))].sort().map((s) => [s, s]));
        options($("f-participant"), "participants", [...new Set(rows.map((r) => r.words.participant).filter(Boolean))].map((p) => [p, short(p)]));
        renderTable();
        renderCharts();
        $("result").hidden = false;
        const bad = rows.filter((r) => !r.result.ok);
        if (rows.length && bad.length === rows.length && bad.every((r) => r.result.step === 2 || r.result.step === 5))
            say("error", "None of the events verifies against the genesis you loaded: this node serves another chain than your genesis, or it is not honest.");
        else if (bad.length) say("warning", `${bad.length} of ${rows.length} events did NOT verify: do not rely on them (each says which check failed).`);
        else say("info", rows.length ? `All ${rows.length} events verified against your genesis.` : `Your key sees no events of ${trial}.`);
    } catch (e) {
        say("error", e.message);
    } finally {
        $("go").disabled = false;
    }
}

$("signin").addEventListener("submit", start);
for (const id of ["f-kind", "f-site", "f-participant"]) $(id).addEventListener("change", renderTable);
$("csv").addEventListener("click", csv);
const params = new URLSearchParams(location.search);
if (params.get("trial")) $("trial").value = params.get("trial");
const problem = secureContextProblem();
if (problem) say("error", problem);
