// js_txs_check.mjs NODE_URL CONSORTIUM TRIALCTL TRIAL - txs built and signed by web/js/tx.mjs
// (under Node, as the pages build them) accepted by a running consortium that ran the example
// trial: site-a's investigator enrols participant p6 (CONSORTIUM/participants/p6.key, not
// enrolled by the example), then p6 grants consent under the trial's latest consent form with
// the investigator's witness co-signature (cosign(), meaning 4). Each is POSTed to /v1/txs,
// its certified receipt read with an RFC 9421 signed GET (httpsig.mjs) as msgpack, verified
// by verify.mjs and by `trialctl verify-receipt`, and must be OK with its event.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

globalThis.isSecureContext = true;
const web = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "web", "js");
const { loadKeyFile } = await import(join(web, "keys.mjs"));
const { signedFetch } = await import(join(web, "httpsig.mjs"));
const { txBody, signBody, cosign, assemble, submitTx, MEANINGS } = await import(join(web, "tx.mjs"));
const { decodeGenesis, verifyReceiptFile, fromHex, hex } = await import(join(web, "verify.mjs"));
const [node, cons, trialctl, trial] = process.argv.slice(2);
const fail = (m) => { console.error(`js_txs_check: FAIL: ${m}`); process.exit(1); };

const genesisBytes = new Uint8Array(readFileSync(join(cons, "genesis.bin")));
const genesis = await decodeGenesis(genesisBytes);
const chainId = fromHex(genesis.chainIdHex);
const inv = await loadKeyFile(readFileSync(join(cons, "keys", "investigator-site-a.key"), "utf8"));
const reg = await loadKeyFile(readFileSync(join(cons, "keys", "regulator.key"), "utf8"));
const p6 = await loadKeyFile(readFileSync(join(cons, "participants", "p6.key"), "utf8"));

async function getJson(key, path) {
    const r = await signedFetch(key, chainId, new URL(path, node).href, { headers: { Accept: "application/json" } });
    if (!r.ok) fail(`GET ${path}: ${r.status} ${await r.text()}`);
    return r.json();
}

// the consent form and version of the trial's latest accepted grant (a bytes arg is
// {"bytes": text or {"hex": ...}}, docs/HTTP.md)
let form = null, version = null;
for (let from = 1; ;) {
    const page = await getJson(reg, `/v1/trials/${trial}/timeline?from=${from}`);
    for (const e of page.entries)
        if (e.tx.method === "grant" && e.receipt.status === "OK") { version = e.tx.args[1]; form = e.tx.args[2].bytes; }
    if (page.complete) break;
    from = page.next_height;
}
if (!form || !form.hex) fail(`no accepted grant in ${trial} to take the form from`);

async function commit(what, tx, topic, reader) {
    const a = await submitTx(node, tx);
    if (!a.accepted) fail(`${what}: refused at submit: ${a.error} ${a.reason}`);
    if (a.txId !== tx.txId) fail(`${what}: the node's tx id ${a.txId} is not tx.mjs's ${tx.txId}`);
    for (let i = 0; i < 40; i++) {
        await new Promise((r) => setTimeout(r, 1100));
        const r = await signedFetch(reader, chainId, new URL(`/v1/receipts/${tx.txId}`, node).href, { headers: { Accept: "application/msgpack" } });
        if (r.status === 404) continue;
        if (!r.ok) fail(`${what}: receipt: ${r.status} ${await r.text()}`);
        const bytes = new Uint8Array(await r.arrayBuffer());
        const v = await verifyReceiptFile(genesis, bytes);
        if (!v.ok && v.step === 1 && /not certified/.test(v.reason)) continue;
        if (!v.ok) fail(`${what}: the receipt does not verify: ${v.stepName}: ${v.reason}`);
        if (v.file.receipt.status !== 0) fail(`${what}: status ${v.file.receipt.status}: ${v.file.receipt.reason}`);
        if (!v.file.receipt.events.some((e) => e.topic === topic)) fail(`${what}: no ${topic} event`);
        const path = join(cons, `js-${what}.receipt`);
        writeFileSync(path, bytes);
        try { execFileSync(trialctl, ["verify-receipt", "--genesis", join(cons, "genesis.bin"), path], { stdio: "pipe" }); }
        catch (e) { fail(`${what}: trialctl verify-receipt: ${e.stdout}`); }
        console.log(`${what}: accepted, certified at height ${v.file.height}, ${topic}; verify.mjs and trialctl verify-receipt agree`);
        return;
    }
    fail(`${what}: no certified receipt within 44 s`);
}

const enrol = await assemble(...await (async () => {
    const b = txBody(inv.publicKey, "consent", "enrol", [trial, p6.publicKey]);
    return [b, [], await signBody(inv, chainId, b)];
})());
await commit("enrol", enrol, "consent.enrolled", inv);
const body = txBody(p6.publicKey, "consent", "grant", [trial, version, fromHex(form.hex), 3]);
const witness = await cosign(inv, chainId, body, MEANINGS.witness);  // gathered apart from the author
const grant = await assemble(body, [witness], await signBody(p6, chainId, body));
await commit("grant", grant, "consent.granted", p6);
console.log(`js_txs_check: OK (participant ${hex(p6.publicKey).slice(0, 16)} enrolled and consented, the witness co-signature made by tx.mjs)`);
