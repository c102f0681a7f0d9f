// msgpack_test.mjs - web/js/msgpack.mjs against docs/FORMATS.md section 1: the shortest form
// of every integer and length is written and is the only one read; types outside the subset
// and trailing bytes are refused. Exit 0 when all holds.
import { decode, encode, MsgpackError } from "../../web/js/msgpack.mjs";

let failures = 0;
const hex = (b) => Buffer.from(b).toString("hex");
const bytes = (h) => new Uint8Array(Buffer.from(h.replace(/ /g, ""), "hex"));
function check(cond, msg) { if (!cond) { failures++; console.error(`FAIL: ${msg}`); } }

// value, its canonical encoding (hex): FORMATS 1's table, at every boundary
const CANONICAL = [
    [0, "00"], [127, "7f"], [128, "cc80"], [255, "ccff"], [256, "cd0100"], [65535, "cdffff"],
    [65536, "ce00010000"], [0xffffffff, "ceffffffff"], [0x100000000, "cf0000000100000000"],
    [2n ** 64n - 1n, "cfffffffffffffffff"], [-1, "ff"], [-32, "e0"], [-33, "d0df"], [-128, "d080"],
    [-129, "d1ff7f"], [-32768, "d18000"], [-32769, "d2ffff7fff"], [-(2 ** 31), "d280000000"],
    [-(2 ** 31) - 1, "d3ffffffff7fffffff"], [-(2n ** 63n), "d38000000000000000"],
    [null, "c0"], ["", "a0"], ["a".repeat(31), "bf" + "61".repeat(31)], ["a".repeat(32), "d920" + "61".repeat(32)],
    [new Uint8Array(0), "c400"], [new Uint8Array(255), "c4ff" + "00".repeat(255)],
    [new Uint8Array(256), "c50100" + "00".repeat(256)], [[], "90"], [new Array(15).fill(0), "9f" + "00".repeat(15)],
    [new Array(16).fill(0), "dc0010" + "00".repeat(16)], ["é", "a2c3a9"],
    [[1, new Uint8Array([2]), "x", [null]], "9401c40102a17891c0"],
];
for (const [v, h] of CANONICAL) {
    const label = typeof v === "bigint" ? `${v}n` : JSON.stringify(v instanceof Uint8Array ? `bin ${v.length}` : v);
    check(hex(encode(v)) === h, `encode ${label} = ${hex(encode(v))}, wanted ${h}`);
    const back = decode(bytes(h));
    check(hex(encode(back)) === h, `decode ${h} does not round-trip`);
}
check(decode(bytes("cfffffffffffffffff")) === 2n ** 64n - 1n, "uint64 max is a BigInt");
check(decode(bytes("cf001fffffffffffff")) === 2 ** 53 - 1, "2^53-1 is a Number");
check(decode(bytes("9401c40102a17891c0")).raw.length === 9, "an array keeps its raw bytes");

// non-canonical or outside the subset: each refused, with an offset
const REFUSED = [
    ["cf0000000000000005", "uint64 holding 5 (FORMATS 1's example)"], ["cc05", "uint8 holding 5"],
    ["cd00ff", "uint16 holding 255"], ["ce0000ffff", "uint32 holding 65535"],
    ["d005", "int8 holding 5 (non-negative must be uint)"], ["d0ff", "int8 holding -1 (fixint)"],
    ["d1ff80", "int16 holding -128"], ["d2ffff8000", "int32 holding -32768"],
    ["d3ffffffff80000000", "int64 holding -2^31"], ["d90161", "str8 of 1 byte"],
    ["c50001" + "00", "bin16 of 1 byte"], ["dc0001" + "00", "array16 of 1"],
    ["80", "a map"], ["ca00000000", "a float"], ["c2", "false"], ["c3", "true"], ["d40100", "ext"],
    ["0000", "a trailing byte"], ["92 01", "a truncated array"], ["c40501", "a truncated bin"],
    ["a2c3", "truncated UTF-8"], ["a2c0af", "an overlong UTF-8 form"], ["a3eda080", "a UTF-16 surrogate"],
    ["a100", "a NUL in a str"], ["dd ffffffff", "an array count beyond the input"],
    ["91".repeat(40) + "00", "nesting beyond the bound"],
];
for (const [h, what] of REFUSED) {
    try {
        decode(bytes(h));
        check(false, `${what} (${h}) was accepted`);
    } catch (e) {
        check(e instanceof MsgpackError && typeof e.offset === "number", `${what}: threw ${e}`);
    }
}
for (const v of [1.5, true, {}, 2n ** 64n, -(2n ** 63n) - 1n]) {
    let threw = false;
    try { encode(v); } catch { threw = true; }
    check(threw, `encode(${typeof v === "bigint" ? `${v}n` : JSON.stringify(v)}) did not refuse`);
}
if (failures) { console.error(`${failures} failures`); process.exit(1); }
console.log(`msgpack_test: OK (${CANONICAL.length} canonical encodings, ${REFUSED.length} refusals)`);
