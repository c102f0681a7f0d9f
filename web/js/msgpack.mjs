// msgpack.mjs - a strict reader and a canonical writer of the msgpack subset of
// docs/FORMATS.md section 1, our own (about 200 lines, no dependency; docs/WEB.md says why).
//
// The subset: uint, int (int64), bin, str, array, nil. Never map, float, bool, ext. Every
// header must be the shortest its value allows (non-negative integers in the uint forms),
// checked byte by byte as the reader goes, so a value has one encoding and so one hash.
//
// Values in JavaScript:
//   uint / int   a Number when |v| <= 2^53 - 1, else a BigInt
//   bin          a Uint8Array (a view into the input: copy it to keep it past the input)
//   str          a string (strict UTF-8, no NUL)
//   array        an Array; its canonical bytes are on its `raw` property (a view)
//   nil          null

export class MsgpackError extends Error {
    constructor(message, offset) {
        super(`${message} (at byte ${offset})`);
        this.name = "MsgpackError";
        this.offset = offset;
    }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const DEPTH_MAX = 16;

function toNumberOrBig(big) {
    return big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= -BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(big) : big;
}

class Reader {
    constructor(bytes) {
        this.b = bytes;
        this.p = 0;
        this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    need(n) {
        if (this.b.length - this.p < n) throw new MsgpackError(`truncated: ${n} more bytes needed`, this.p);
    }
    u8() { this.need(1); return this.b[this.p++]; }
    uintBE(size) {
        this.need(size);
        let v = 0n;
        for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(this.b[this.p + i]);
        this.p += size;
        return v;
    }
    // The length of a bin, str or array with a size-byte header; refused when not shortest.
    length(size, smallest, start, what) {
        const n = Number(this.uintBE(size));
        if (n < smallest) throw new MsgpackError(`${what} length ${n} not in its shortest form`, start);
        return n;
    }
    value(depth) {
        if (depth > DEPTH_MAX) throw new MsgpackError("nested too deeply", this.p);
        const start = this.p;
        const t = this.u8();
        if (t <= 0x7f) return t;
        if (t >= 0xe0) return t - 0x100;
        if (t >= 0x90 && t <= 0x9f) return this.array(t & 0x0f, start, depth);
        if (t >= 0xa0 && t <= 0xbf) return this.str(t & 0x1f, start);
        switch (t) {
        case 0xc0: return null;
        case 0xc4: return this.bin(this.length(1, 0, start, "bin"), start);
        case 0xc5: return this.bin(this.length(2, 0x100, start, "bin"), start);
        case 0xc6: return this.bin(this.length(4, 0x10000, start, "bin"), start);
        case 0xcc: return this.uint(1, 0x80n, start);
        case 0xcd: return this.uint(2, 0x100n, start);
        case 0xce: return this.uint(4, 0x10000n, start);
        case 0xcf: return this.uint(8, 0x100000000n, start);
        case 0xd0: return this.int(1, -0x20n, start);
        case 0xd1: return this.int(2, -0x80n, start);
        case 0xd2: return this.int(4, -0x8000n, start);
        case 0xd3: return this.int(8, -0x80000000n, start);
        case 0xd9: return this.str(this.length(1, 0x20, start, "str"), start);
        case 0xda: return this.str(this.length(2, 0x100, start, "str"), start);
        case 0xdb: return this.str(this.length(4, 0x10000, start, "str"), start);
        case 0xdc: return this.array(this.length(2, 0x10, start, "array"), start, depth);
        case 0xdd: return this.array(this.length(4, 0x10000, start, "array"), start, depth);
        default:
            throw new MsgpackError(`type 0x${t.toString(16)} is not in the subset (map, float, bool and ext never appear)`, start);
        }
    }
    uint(size, smallest, start) {
        const v = this.uintBE(size);
        if (v < smallest) throw new MsgpackError(`uint ${v} not in its shortest form`, start);
        return toNumberOrBig(v);
    }
    // A negative int in `size` bytes: it must be below `above` (else a shorter form holds it).
    int(size, above, start) {
        let v = this.uintBE(size);
        const bits = BigInt(size * 8);
        if (v >= 1n << (bits - 1n)) v -= 1n << bits;
        if (v >= 0n) throw new MsgpackError(`int ${v} >= 0 must use a uint form`, start);
        if (v >= above) throw new MsgpackError(`int ${v} not in its shortest form`, start);
        return toNumberOrBig(v);
    }
    bin(n, start) {
        this.need(n);
        const v = this.b.subarray(this.p, this.p + n);
        this.p += n;
        void start;
        return v;
    }
    str(n, start) {
        this.need(n);
        const bytes = this.b.subarray(this.p, this.p + n);
        let s;
        try { s = utf8.decode(bytes); } catch { throw new MsgpackError("str is not valid UTF-8", start); }
        if (s.includes("\u0000")) throw new MsgpackError("str contains a NUL byte", start);
        this.p += n;
        return s;
    }
    array(n, start, depth) {
        // Each element takes at least one byte: refuse a count the input cannot hold.
        if (n > this.b.length - this.p) throw new MsgpackError(`array of ${n} longer than the input`, start);
        const a = new Array(n);
        for (let i = 0; i < n; i++) a[i] = this.value(depth + 1);
        Object.defineProperty(a, "raw", { value: this.b.subarray(start, this.p), enumerable: false });
        return a;
    }
}

// Decode exactly one canonical value from bytes (a Uint8Array), nothing after it.
// Throws MsgpackError naming the offset of what is wrong.
export function decode(bytes) {
    if (!(bytes instanceof Uint8Array)) throw new TypeError("decode: a Uint8Array is needed");
    const r = new Reader(bytes);
    const v = r.value(0);
    if (r.p !== bytes.length) throw new MsgpackError(`${bytes.length - r.p} bytes after the value`, r.p);
    return v;
}

// ---- canonical writer -------------------------------------------------------------------

class Writer {
    constructor() { this.parts = []; this.len = 0; }
    push(bytes) { this.parts.push(bytes); this.len += bytes.length; }
    head(byte, size, n) {
        const out = new Uint8Array(1 + size);
        out[0] = byte;
        let v = BigInt(n);
        for (let i = size; i >= 1; i--) { out[i] = Number(v & 0xffn); v >>= 8n; }
        this.push(out);
    }
    integer(v) {
        const big = BigInt(v);
        if (big >= 0n) {
            if (big <= 0x7fn) this.push(Uint8Array.of(Number(big)));
            else if (big <= 0xffn) this.head(0xcc, 1, big);
            else if (big <= 0xffffn) this.head(0xcd, 2, big);
            else if (big <= 0xffffffffn) this.head(0xce, 4, big);
            else if (big < 1n << 64n) this.head(0xcf, 8, big);
            else throw new RangeError(`${big} does not fit in a uint64`);
        } else if (big >= -32n) {
            this.push(Uint8Array.of(Number(big + 0x100n)));
        } else {
            const forms = [[0xd0, 1], [0xd1, 2], [0xd2, 4], [0xd3, 8]];
            for (const [byte, size] of forms) {
                const bits = BigInt(size * 8);
                if (big >= -(1n << (bits - 1n))) return this.head(byte, size, big + (1n << bits));
            }
            throw new RangeError(`${big} does not fit in an int64`);
        }
    }
    sized(small, forms, n) {
        if (small !== null && n <= small[1]) return this.push(Uint8Array.of(small[0] | n));
        for (const [byte, size] of forms)
            if (size === 4 || n < 2 ** (8 * size)) return this.head(byte, size, n);
    }
    value(v) {
        if (v === null) this.push(Uint8Array.of(0xc0));
        else if (typeof v === "number") {
            if (!Number.isInteger(v)) throw new TypeError(`${v}: only integers are in the subset`);
            this.integer(v);
        } else if (typeof v === "bigint") this.integer(v);
        else if (v instanceof Uint8Array) {
            this.sized(null, [[0xc4, 1], [0xc5, 2], [0xc6, 4]], v.length);
            this.push(v);
        } else if (typeof v === "string") {
            const bytes = new TextEncoder().encode(v);
            this.sized([0xa0, 31], [[0xd9, 1], [0xda, 2], [0xdb, 4]], bytes.length);
            this.push(bytes);
        } else if (Array.isArray(v)) {
            this.sized([0x90, 15], [[0xdc, 2], [0xdd, 4]], v.length);
            for (const e of v) this.value(e);
        } else throw new TypeError(`${typeof v} is not in the subset`);
    }
    bytes() {
        const out = new Uint8Array(this.len);
        let p = 0;
        for (const part of this.parts) { out.set(part, p); p += part.length; }
        return out;
    }
}

// The canonical encoding of v (Number or BigInt integers, Uint8Array, string, Array, null).
export function encode(v) {
    const w = new Writer();
    w.value(v);
    return w.bytes();
}
