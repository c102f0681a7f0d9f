// keys_test.mjs TRIALCTL GENESIS WORKDIR - web/js/keys.mjs, httpsig.mjs and tx.mjs under
// Node (its globalThis.crypto is WebCrypto), checked against implementations that are not
// ours in JavaScript:
//   - a key file written by `trialctl keygen` loads, its public key is derived from the seed
//     and is the file's; the loaded key cannot be exported; outside a secure context, a
//     public key file, a damaged seed, a public line that is not the seed's and a file of
//     another kind are each refused with a message in words;
//   - a tx built and signed by tx.mjs (an author and a witness co-signature) is checked by
//     tests/independent (python3-nacl + python3-msgpack, written from FORMATS 5.1): canonical
//     bytes, the tx id, both signatures on this chain; the nonce differs between two txs;
//   - the RFC 9421 headers of httpsig.mjs (a GET with a query, a GET without, a POST with a
//     body) are checked by tests/independent/verify_httpsig.py.
// (A tx signed here is accepted by a running consortium: cluster_web_keys, the participant
// page's withdrawal.)
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const web = join(HERE, "..", "..", "web", "js");
const { loadKeyFile, KeyFileError } = await import(join(web, "keys.mjs"));
const { signatureHeaders } = await import(join(web, "httpsig.mjs"));
const { buildTx, MEANINGS } = await import(join(web, "tx.mjs"));
const [trialctl, genesisFile, work] = process.argv.slice(2);
let failures = 0;
const fail = (m) => { console.error(`keys_test: FAIL: ${m}`); failures++; };
const ok = (cond, m) => { if (!cond) fail(m); };

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
for (const n of ["author", "witness"])
    execFileSync(trialctl, ["keygen", join(work, n)], { stdio: "pipe" });
const text = (n) => readFileSync(join(work, `${n}.key`), "utf8");
const pubOf = (n) => readFileSync(join(work, `${n}.pub`), "utf8").trim().split(" ")[1];
const genesis = readFileSync(genesisFile);
const chainId = new Uint8Array(await crypto.subtle.digest("SHA-256", genesis));

async function refused(t, word, what) {
    try { await loadKeyFile(t); fail(`${what}: loaded`); }
    catch (e) { ok(e instanceof KeyFileError && e.message.includes(word), `${what}: ${e.message}`); }
}

// ---- keys ----
globalThis.isSecureContext = false;
await refused(text("author"), "secure context", "outside a secure context");
globalThis.isSecureContext = true;
const author = await loadKeyFile(text("author"));
const witness = await loadKeyFile(text("witness"));
ok(author.publicHex === pubOf("author"), "the derived public key is not the .pub file's");
ok(author.privateKey.extractable === false, "the key is extractable");
for (const format of ["pkcs8", "jwk", "raw"]) {
    try { await crypto.subtle.exportKey(format, author.privateKey); fail(`exportKey ${format} succeeded`); }
    catch (e) { ok(/^InvalidAccess/.test(e.name), `exportKey ${format}: ${e.name}`); }
}
const good = text("author");
await refused(readFileSync(join(work, "author.pub"), "utf8"), "public key file", "a .pub file");
await refused(good.replace(/seed ([0-9a-f])/, "seed g"), "damaged", "a non-hex seed");
await refused(good.replace(/seed [0-9a-f]{64}/, "seed " + "ab".repeat(31)), "damaged", "a short seed");
await refused(good.replace(/public [0-9a-f]{64}/, "public " + pubOf("witness")), "not the one its seed gives", "another public key");
await refused("{\"hello\": 1}\n", "not a trialreg secret key file", "a JSON file");
await refused(good + "extra\n", "exactly three lines", "a fourth line");

// ---- txs, checked by python3-nacl ----
const args = ["TRIAL-X", 1n, -5, new Uint8Array(40).fill(7), 31];
const t1 = await buildTx(author, chainId, "consent", "grant", args, [[witness, MEANINGS.witness]]);
const t2 = await buildTx(author, chainId, "consent", "withdraw", ["TRIAL-X", 2]);
writeFileSync(join(work, "t1.tx"), t1.bytes);
writeFileSync(join(work, "t2.tx"), t2.bytes);
const py = `
import hashlib, sys, msgpack, nacl.signing
chain = hashlib.sha256(open(sys.argv[1], "rb").read()).digest()
for path, want_id, n_cosig in ((sys.argv[2], sys.argv[3], 1), (sys.argv[4], sys.argv[5], 0)):
    raw = open(path, "rb").read()
    t = msgpack.unpackb(raw, raw=False, strict_map_key=True)
    assert msgpack.packb(t, use_bin_type=True) == raw, "not canonical"
    assert hashlib.sha256(raw).hexdigest() == want_id, "tx id"
    body = msgpack.packb(t[:6], use_bin_type=True)
    nacl.signing.VerifyKey(t[0]).verify(b"trialreg/v1/tx" + chain + body, t[7])
    assert len(t[6]) == n_cosig
    for key, meaning, sig in t[6]:
        cb = msgpack.packb([hashlib.sha256(body).digest(), meaning, key], use_bin_type=True)
        nacl.signing.VerifyKey(key).verify(b"trialreg/v1/cosig" + chain + cb, sig)
        assert meaning == 4
    print(path, t[3], t[4], t[5], "ok")
`;
try {
    const out = execFileSync("/usr/bin/python3", ["-c", py, genesisFile, join(work, "t1.tx"), t1.txId,
        join(work, "t2.tx"), t2.txId], { encoding: "utf8", stdio: "pipe" });
    process.stdout.write(out);
} catch (e) { fail(`python3-nacl refuses the JS txs: ${e.stderr || e.message}`); }
const { decode } = await import(join(web, "msgpack.mjs"));
const d1 = decode(t1.bytes), d2 = decode(t2.bytes);
ok(d1[1] !== d2[1], "two txs got the same nonce");
const vu = Number(d1[2]) - Date.now();
ok(vu > 9 * 60000 && vu <= 10 * 60000, `valid_until is now + ${vu} ms, not 10 minutes`);
for (const bad of [[new Uint8Array(1025)], [1.5], [2n ** 63n], Array(17).fill(1)]) {
    try { await buildTx(author, chainId, "c", "m", bad); fail("bad args accepted"); } catch (e) { ok(e instanceof TypeError || e instanceof RangeError, `bad args: ${e}`); }
}

// ---- RFC 9421 headers, checked by verify_httpsig.py ----
const body = new TextEncoder().encode("{\"txs\": []}");
for (const [method, url, b] of [["GET", "http://127.0.0.1:7264/v1/trials/T-1/timeline?from=3", null],
    ["GET", "http://127.0.0.1:7264/v1/receipts/ab12", null],
    ["POST", "http://127.0.0.1:7264/v1/txs", body]]) {
    const h = await signatureHeaders(author, chainId, method, url, b);
    writeFileSync(join(work, "headers"), Object.entries(h).map(([k, v]) => `${k}: ${v}\n`).join(""));
    const a = [join(HERE, "..", "independent", "verify_httpsig.py"), join(work, "headers"), method, url, genesisFile];
    if (b) { writeFileSync(join(work, "body"), b); a.push(join(work, "body")); }
    try { execFileSync("/usr/bin/python3", a, { stdio: "pipe" }); }
    catch (e) { fail(`verify_httpsig.py refuses ${method} ${url}: ${e.stdout}`); }
    ok(!JSON.stringify(h).includes(readFileSync(join(work, "author.key"), "utf8").split("\n")[1].slice(5)), "the seed is in the headers");
}

if (failures) { console.error(`keys_test: ${failures} failure(s)`); process.exit(1); }
console.log("keys_test: OK (keys loaded non-extractable, bad key files refused, txs and RFC 9421 headers checked by python3-nacl)");
