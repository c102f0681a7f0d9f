// verify_receipts.mjs GENESIS TRIALCTL [--compare-all] RECEIPT... - the pages' verification
// library (web/js/verify.mjs) under Node's WebCrypto, against real receipt files:
//   - every file verifies, and `trialctl verify-receipt` agrees;
//   - every one-byte tamper (each byte XOR 0x01, then each byte XOR 0x80) fails with a named
//     step, and `trialctl verify-receipt` refuses the same bytes too (for every file with
//     --compare-all, else for the first three: the C check takes 6 ms a run);
//   - against a genesis of another chain (its name changed: another chain id) every file
//     fails at step 2, and a file that is not a genesis is refused with a message.
// Prints how many tampers each step caught. Exit 0 when all holds, 1 otherwise.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, basename } from "node:path";
import { decodeGenesis, verifyReceiptFile, STEPS, GenesisError } from "../../web/js/verify.mjs";

const args = process.argv.slice(2);
const compareAll = args.includes("--compare-all");
const [genesisPath, trialctl, ...files] = args.filter((a) => a !== "--compare-all");
if (!genesisPath || !trialctl || files.length === 0) {
    console.error("usage: node verify_receipts.mjs GENESIS TRIALCTL [--compare-all] RECEIPT...");
    process.exit(2);
}
let failures = 0;
const bad = (msg) => { failures++; console.error(`FAIL: ${msg}`); };
const work = mkdtempSync(join(tmpdir(), "verify-receipts-"));
const tampered = join(work, "tampered.receipt");

function cVerify(bytes) {
    writeFileSync(tampered, bytes);
    try {
        execFileSync(trialctl, ["verify-receipt", "--genesis", genesisPath, tampered], { stdio: "pipe" });
        return { ok: true };
    } catch (e) {
        return { ok: false, out: `${e.stdout}`.trim() };
    }
}

const genesisBytes = new Uint8Array(readFileSync(genesisPath));
const genesis = await decodeGenesis(genesisBytes);
console.log(`genesis: chain id ${genesis.chainIdHex}, ${genesis.n} validators, quorum ${genesis.quorum}`);
const byStep = new Array(STEPS.length).fill(0);
let tampers = 0, compared = 0;
for (const [k, path] of files.entries()) {
    const bytes = new Uint8Array(readFileSync(path));
    const good = await verifyReceiptFile(genesis, bytes);
    if (!good.ok) { bad(`${basename(path)} does not verify: ${good.stepName}: ${good.reason}`); continue; }
    if (!cVerify(bytes).ok) bad(`trialctl verify-receipt refuses ${basename(path)}, which verifies here`);
    const compare = compareAll || k < 3;
    for (const mask of [0x01, 0x80]) {
        for (let i = 0; i < bytes.length; i++) {
            const t = bytes.slice();
            t[i] ^= mask;
            const r = await verifyReceiptFile(genesis, t);
            tampers++;
            if (r.ok) { bad(`${basename(path)}: byte ${i} ^ 0x${mask.toString(16)} still verifies`); continue; }
            if (!(r.step >= 1 && r.step <= STEPS.length) || !r.reason) { bad(`${basename(path)}: byte ${i}: no named step (${r.stepName}: ${r.reason})`); continue; }
            byStep[r.step - 1]++;
            if (compare) {
                compared++;
                const c = cVerify(t);
                if (c.ok) bad(`${basename(path)}: byte ${i} ^ 0x${mask.toString(16)}: trialctl verify-receipt accepts it, this library refused it at ${r.stepName}: ${r.reason}`);
            }
        }
    }
    console.log(`${basename(path)}: verifies (height ${good.file.height}, ${good.file.tx.contract}.${good.file.tx.method}, ${bytes.length} bytes)`);
}
console.log(`${tampers} one-byte tampers, each refused; ${compared} also refused by trialctl verify-receipt`);
STEPS.forEach((s, i) => console.log(`  step ${i + 1} ${s}: ${byStep[i]}`));

// Another chain: the same genesis with its name's last byte changed is a valid genesis
// whose chain id differs, so every signature (tag || chain id || body) fails.
const other = genesisBytes.slice();
const name = new TextEncoder().encode(genesis.chainName);
const at = genesisBytes.indexOf(name[0], 2);
other[at + name.length - 1] ^= 0x01;
const otherGenesis = await decodeGenesis(other);
if (otherGenesis.chainIdHex === genesis.chainIdHex) bad("the other genesis has the same chain id");
for (const path of files) {
    const r = await verifyReceiptFile(otherGenesis, new Uint8Array(readFileSync(path)));
    if (r.ok || r.step !== 2) bad(`${basename(path)} under another chain's genesis: ${r.ok ? "verifies" : `fails at ${r.stepName}`}, wanted tx signatures`);
}
console.log(`another chain (${otherGenesis.chainName}, ${otherGenesis.chainIdHex.slice(0, 16)}...): every file fails at step 2`);
try {
    await decodeGenesis(new Uint8Array(readFileSync(files[0])));
    bad("a receipt file was accepted as a genesis");
} catch (e) {
    if (!(e instanceof GenesisError)) bad(`a receipt file as genesis threw ${e}`);
    else console.log(`a receipt file as genesis: "${e.message}"`);
}
rmSync(work, { recursive: true, force: true });
if (failures) { console.error(`${failures} failures`); process.exit(1); }
console.log("verify_receipts: OK");
