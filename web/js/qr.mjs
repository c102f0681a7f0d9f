// qr.mjs - a small QR code encoder of our own (ISO/IEC 18004), for the link the
// investigator's page shows to the participant's phone: byte mode, error correction level M,
// versions 1 to 10 (up to 213 bytes), mask 0. Written after Project Nayuki's public
// description of the algorithm; no dependency, nothing fetched. Tested by decoding what it
// draws with zbarimg (tests/web/econsent_browser.py) and by tests/web/qr_test.mjs.

// Error correction level M, versions 1..10: [ecc codewords per block, [blocks, data
// codewords] per group].
const M = [null,
    [10, [[1, 16]]], [16, [[1, 28]]], [26, [[1, 44]]], [18, [[2, 32]]], [24, [[2, 43]]],
    [16, [[4, 27]]], [18, [[4, 31]]], [22, [[2, 38], [2, 39]]], [22, [[3, 36], [2, 37]]],
    [26, [[4, 43], [1, 44]]]];
const ALIGN = [null, [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42],
    [6, 26, 46], [6, 28, 50]];
export const VERSION_MAX = 10;

const dataCodewords = (v) => M[v][1].reduce((n, [blocks, k]) => n + blocks * k, 0);

// GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1.
function mul(x, y) {
    let z = 0;
    for (let i = 7; i >= 0; i--) {
        z = (z << 1) ^ ((z >>> 7) * 0x11d);
        z ^= ((y >>> i) & 1) * x;
    }
    return z;
}

function rsDivisor(degree) {
    const d = new Array(degree).fill(0);
    d[degree - 1] = 1;
    let root = 1;
    for (let i = 0; i < degree; i++) {
        for (let j = 0; j < d.length; j++) {
            d[j] = mul(d[j], root);
            if (j + 1 < d.length) d[j] ^= d[j + 1];
        }
        root = mul(root, 0x02);
    }
    return d;
}

function rsRemainder(data, divisor) {
    const r = new Array(divisor.length).fill(0);
    for (const b of data) {
        const factor = b ^ r.shift();
        r.push(0);
        divisor.forEach((c, i) => { r[i] ^= mul(c, factor); });
    }
    return r;
}

// The codewords (data and error correction, interleaved) of bytes at version v.
function codewords(bytes, v) {
    const bits = [];
    const put = (value, n) => { for (let i = n - 1; i >= 0; i--) bits.push((value >>> i) & 1); };
    put(0b0100, 4);
    put(bytes.length, v <= 9 ? 8 : 16);
    for (const b of bytes) put(b, 8);
    const capacity = dataCodewords(v) * 8;
    put(0, Math.min(4, capacity - bits.length));
    put(0, (8 - (bits.length % 8)) % 8);
    for (let pad = 0xec; bits.length < capacity; pad ^= 0xec ^ 0x11) put(pad, 8);
    const data = [];
    for (let i = 0; i < bits.length; i += 8) data.push(bits.slice(i, i + 8).reduce((a, b) => (a << 1) | b, 0));
    const [ecc, groups] = M[v];
    const divisor = rsDivisor(ecc);
    const blocks = [];
    let at = 0;
    for (const [count, k] of groups)
        for (let i = 0; i < count; i++, at += k) blocks.push(data.slice(at, at + k));
    const eccs = blocks.map((b) => rsRemainder(b, divisor));
    const out = [];
    const longest = Math.max(...blocks.map((b) => b.length));
    for (let i = 0; i < longest; i++) for (const b of blocks) if (i < b.length) out.push(b[i]);
    for (let i = 0; i < ecc; i++) for (const e of eccs) out.push(e[i]);
    return out;
}

// The QR code of text (UTF-8): {size, dark(x, y)}; null if it is longer than version 10
// at level M holds.
export function qrEncode(text) {
    const bytes = new TextEncoder().encode(text);
    let v = 1;
    while (v <= VERSION_MAX && 4 + (v <= 9 ? 8 : 16) + 8 * bytes.length > dataCodewords(v) * 8) v++;
    if (v > VERSION_MAX) return null;
    const size = 17 + 4 * v;
    const dark = Array.from({ length: size }, () => new Array(size).fill(false));
    const fixed = Array.from({ length: size }, () => new Array(size).fill(false));
    const set = (x, y, d) => { dark[y][x] = d; fixed[y][x] = true; };
    for (let i = 0; i < size; i++) { set(6, i, i % 2 === 0); set(i, 6, i % 2 === 0); }
    for (const [cx, cy] of [[3, 3], [size - 4, 3], [3, size - 4]])
        for (let dy = -4; dy <= 4; dy++) for (let dx = -4; dx <= 4; dx++) {
            const x = cx + dx, y = cy + dy, dist = Math.max(Math.abs(dx), Math.abs(dy));
            if (x >= 0 && x < size && y >= 0 && y < size) set(x, y, dist !== 2 && dist !== 4);
        }
    const al = ALIGN[v], last = al.length - 1;
    for (let i = 0; i < al.length; i++) for (let j = 0; j < al.length; j++) {
        if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) continue;
        for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++)
            set(al[i] + dx, al[j] + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
    }
    // format information: level M (00), mask 0, BCH(15,5), XOR 0x5412
    const mask = 0, format = (0 << 3) | mask;
    let rem = format;
    for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
    const fbits = ((format << 10) | rem) ^ 0x5412;
    const fb = (i) => ((fbits >>> i) & 1) === 1;
    for (let i = 0; i <= 5; i++) set(8, i, fb(i));
    set(8, 7, fb(6)); set(8, 8, fb(7)); set(7, 8, fb(8));
    for (let i = 9; i < 15; i++) set(14 - i, 8, fb(i));
    for (let i = 0; i < 8; i++) set(size - 1 - i, 8, fb(i));
    for (let i = 8; i < 15; i++) set(8, size - 15 + i, fb(i));
    set(8, size - 8, true);
    if (v >= 7) {  // version information, BCH(18,6)
        let r = v;
        for (let i = 0; i < 12; i++) r = (r << 1) ^ ((r >>> 11) * 0x1f25);
        const vbits = (v << 12) | r;
        for (let i = 0; i < 18; i++) {
            const bit = ((vbits >>> i) & 1) === 1, a = size - 11 + (i % 3), b = Math.floor(i / 3);
            set(a, b, bit); set(b, a, bit);
        }
    }
    // the codewords, in the zigzag of two-module columns from the bottom right, masked
    const cw = codewords(bytes, v);
    let i = 0;
    for (let right = size - 1; right >= 1; right -= 2) {
        if (right === 6) right = 5;
        for (let vert = 0; vert < size; vert++) for (let j = 0; j < 2; j++) {
            const x = right - j, upward = ((right + 1) & 2) === 0, y = upward ? size - 1 - vert : vert;
            if (fixed[y][x]) continue;
            let bit = false;
            if (i < cw.length * 8) { bit = ((cw[i >>> 3] >>> (7 - (i & 7))) & 1) === 1; i++; }
            dark[y][x] = bit !== ((x + y) % 2 === 0);  // mask 0
        }
    }
    return { size, version: v, dark: (x, y) => dark[y][x] };
}

// An SVG element drawing text's QR code (4 modules of quiet zone, px pixels a module), or
// null if the text is too long. No markup strings: DOM calls only (the CSP allows no inline
// style; attributes are not styles).
export function qrSvg(text, px = 6, label = "QR code") {
    const qr = qrEncode(text);
    if (!qr) return null;
    const ns = "http://www.w3.org/2000/svg", n = qr.size + 8;
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", `0 0 ${n} ${n}`);
    svg.setAttribute("width", String(n * px));
    svg.setAttribute("height", String(n * px));
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
    svg.setAttribute("shape-rendering", "crispEdges");
    const bg = document.createElementNS(ns, "rect");
    for (const [k, val] of [["width", n], ["height", n], ["fill", "#fff"]]) bg.setAttribute(k, String(val));
    let d = "";
    for (let y = 0; y < qr.size; y++) for (let x = 0; x < qr.size; x++)
        if (qr.dark(x, y)) d += `M${x + 4} ${y + 4}h1v1h-1z`;
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    path.setAttribute("fill", "#000");
    svg.append(bg, path);
    return svg;
}
