// qr_test.mjs OUT_DIR - web/js/qr.mjs under Node: texts whose lengths need each version 1..10
// are encoded, drawn as PGM images (4 pixels a module, the quiet zone included), and decoded
// by an independent reader, zbarimg (Debian's zbar-tools), which must give the text back;
// a text longer than version 10 holds gives null. Exit 0 when all hold.
import fs from "node:fs";
import { execFileSync } from "node:child_process";
import { qrEncode } from "../../web/js/qr.mjs";

const out = process.argv[2] || ".";
fs.mkdirSync(out, { recursive: true });
let failures = 0;
const link = (n) => {  // a sign.html link padded to n bytes
    const base = "http://127.0.0.1:21264/app/sign.html?e=0123456789abcdef0123456789abcdef&c=";
    let s = base;
    while (s.length < n) s += "0123456789abcdef"[s.length % 16];
    return s.slice(0, n);
};
const cases = [["x", 1], ["hello, consent", 1], [link(20), 2], [link(40), 3], [link(60), 4], [link(80), 5],
    [link(100), 6], [link(120), 7], [link(140), 8], [link(170), 9], [link(200), 10], [link(213), 10]];
for (const [text, version] of cases) {
    const qr = qrEncode(text);
    if (!qr || qr.version !== version) { console.log(`FAIL ${text.length} bytes: version ${qr && qr.version}, wanted ${version}`); failures++; continue; }
    const px = 4, n = (qr.size + 8) * px;
    const img = Buffer.alloc(n * n, 255);
    for (let y = 0; y < qr.size; y++) for (let x = 0; x < qr.size; x++)
        if (qr.dark(x, y)) for (let dy = 0; dy < px; dy++) img.fill(0, ((y + 4) * px + dy) * n + (x + 4) * px, ((y + 4) * px + dy) * n + (x + 5) * px);
    const file = `${out}/qr-${text.length}.pgm`;
    fs.writeFileSync(file, Buffer.concat([Buffer.from(`P5\n${n} ${n}\n255\n`), img]));
    let got = "";
    try { got = execFileSync("zbarimg", ["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", file], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).replace(/\n$/, ""); } catch (e) { got = `zbarimg failed: ${e.message}`; }
    if (got !== text) { console.log(`FAIL ${text.length} bytes (version ${version}): zbarimg read ${JSON.stringify(got.slice(0, 80))}`); failures++; }
    else console.log(`ok ${text.length} bytes, version ${version}, ${qr.size}x${qr.size}: zbarimg reads it back`);
}
if (qrEncode(link(214)) !== null) { console.log("FAIL 214 bytes: not refused"); failures++; }
else console.log("ok 214 bytes: too long for version 10 M, null");
process.exit(failures ? 1 : 0);
