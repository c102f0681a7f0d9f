// ledger_lostkey_test.mjs - the key pages' words for a participant who lost their key (issue
// 23 item 2), under Node: web/js/ledger.mjs decodes the lost-key events (contracts/ABI.md
// "Events"), describes them in the timeline ("withdrawn by site on the participant's documented
// request", the re-binding and its veto) and builds the consent history (the site's
// withdrawal, the consent moving away from the old key and to the new one, a grant after a
// re-binding marked). Events are built here byte by byte from the ABI's layouts.
import { eventFields, describe, consentHistory } from "../../web/js/ledger.mjs";

let failed = 0;
const check = (ok, what) => { if (!ok) { console.error(`FAIL: ${what}`); failed++; } };
const enc = (s) => new TextEncoder().encode(s);
const u64 = (v) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(v)); return b; };
const cat = (...parts) => { const n = parts.reduce((a, p) => a + p.length, 0); const o = new Uint8Array(n); let at = 0; for (const p of parts) { o.set(p, at); at += p.length; } return o; };
const key = (b) => new Uint8Array(32).fill(b);
const hexOf = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const T = enc("T-1"), lpT = cat(new Uint8Array([T.length]), T);
const OLD = key(0x11), NEW = key(0x22), REQ = key(0x33);
const ev = (topic, ...fields) => ({ topic, data: cat(lpT, ...fields) });

const site = ev("consent.withdrawn_by_site", OLD, u64(2), u64(1), REQ, enc("site-a"));
const f = eventFields(site);
check(f.participant === hexOf(OLD) && f.withdrawn === 2 && f.remaining === 1 && f.site === "site-a"
      && f.request === hexOf(REQ), `withdrawn_by_site fields ${JSON.stringify(f, (k, v) => typeof v === "bigint" ? String(v) : v)}`);
const rebound = ev("consent.rebound", OLD, NEW, u64(1), u64(1), enc("site-a"));
const g = eventFields(rebound);
check(g.newKey === hexOf(NEW) && g.scopes === 1 && g.site === "site-a", `rebound fields ${JSON.stringify(g, (k, v) => typeof v === "bigint" ? String(v) : v)}`);

const genesis = { authorities: [], validators: [] };
const file = (method, events, signer = key(0x44)) =>
    ({ tx: { contract: "consent", method, signer, cosigs: [] }, receipt: { status: 0, events } });
const sites = new Map();
const words = describe(genesis, file("site_withdraw", [site]), sites);
check(/withdrawn by site site-a on the participant's documented request/.test(words.title), `title: ${words.title}`);
check(words.participant === hexOf(OLD) && words.site === "site-a", "the site withdrawal is about the participant, at its site");
const veto = describe(genesis, file("rebind_veto", [ev("consent.rebind_vetoed", OLD, NEW)], OLD), sites);
check(/vetoed by the old key/.test(veto.title), `title: ${veto.title}`);
const moved = describe(genesis, file("rebind_complete", [rebound]), sites);
check(/moved to the new key/.test(moved.title) && sites.get(hexOf(NEW)) === "site-a", `title: ${moved.title}`);
const grant = file("grant", [ev("consent.granted", NEW, u64(1), u64(3)), ev("consent.flag.after_rebinding", NEW, OLD)], NEW);
const flagged = describe(genesis, grant, sites);
check(flagged.flags.length === 1 && /after a re-binding/.test(flagged.flags[0]), `flags: ${flagged.flags}`);

const rows = [
    { time: 1, result: { ok: true, file: file("grant", [ev("consent.granted", OLD, u64(1), u64(3))], OLD) } },
    { time: 2, result: { ok: true, file: file("site_withdraw", [site]) } },
    { time: 3, result: { ok: true, file: file("rebind_complete", [rebound]) } },
    { time: 4, result: { ok: true, file: grant } },
];
const old = consentHistory(rows, hexOf(OLD));
check(old.entries.map((e) => e.kind).join() === "grant,site_withdrawal,rebound_away" && old.now === 0,
      `old key's history ${old.entries.map((e) => e.kind)} now ${old.now}`);
const now = consentHistory(rows, hexOf(NEW));
check(now.entries.map((e) => e.kind).join() === "rebound_from,grant" && now.now === 3,
      `new key's history ${now.entries.map((e) => e.kind)} now ${now.now}`);
check(now.entries[1].afterRebinding === true && !now.entries[0].afterRebinding, "the grant after the re-binding is marked");

if (failed) { console.error(`ledger_lostkey_test: ${failed} failed`); process.exit(1); }
console.log("ledger_lostkey_test: ok");
