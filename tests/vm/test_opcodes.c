/*
 * test_opcodes.c - the semantics of every opcode, as small assembly snippets.
 * Each snippet is the body of "f(a, b)" with 8 registers and a few constants.
 */
#include "vm_testlib.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static const char *prelude =
    ".int BIG 9223372036854775807\n"
    ".int MIN -9223372036854775808\n"
    ".int SEVEN 7\n"
    ".bytes ABC \"abc\"\n"
    ".bytes A \"a\"\n"
    ".bytes BC \"bc\"\n"
    ".bytes NINE x\"0102030405060708ff\"\n"
    ".bytes FF x\"ffffffffffffffff\"\n"
    ".func f 2 8 export\n";

static const char *wrap(const char *body) {
    static char src[8192];
    snprintf(src, sizeof src, "%s%s\n", prelude, body);
    return src;
}

static int64_t ii(const char *body, int64_t a, int64_t b) {
    cvm_value args[2] = {cvm_int(a), cvm_int(b)};
    return vmt_int(wrap(body), "f", args, 2);
}

static cvm_status st(const char *body, int64_t a, int64_t b) {
    cvm_value args[2] = {cvm_int(a), cvm_int(b)};
    cvm_result r;
    return vmt_status(wrap(body), "f", args, 2, &r);
}

static cvm_result rr(const char *body, cvm_value a, cvm_value b) {
    cvm_value args[2] = {a, b};
    cvm_result r;
    vmt_status(wrap(body), "f", args, 2, &r);
    return r;
}

#define BIGV INT64_MAX
#define MINV INT64_MIN

Test(opcodes, nop_move_loads) {
    cr_assert_eq(ii("nop\nret r0", 5, 6), 5);
    cr_assert_eq(ii("move r2, r1\nret r2", 5, 6), 6);
    cr_assert_eq(ii("loadi r2, -32768\nret r2", 0, 0), -32768);
    cr_assert_eq(ii("loadi r2, 32767\nret r2", 0, 0), 32767);
    cr_assert_eq(ii("loadk r2, BIG\nret r2", 0, 0), BIGV);
    cr_assert_eq(ii("loadk r2, MIN\nret r2", 0, 0), MINV);
    cr_assert_eq(ii("loads r2, ABC\nlen r3, r2\nret r3", 0, 0), 3);
}

Test(opcodes, add_sub_mul) {
    cr_assert_eq(ii("add r2, r0, r1\nret r2", 2, 3), 5);
    cr_assert_eq(ii("sub r2, r0, r1\nret r2", 2, 3), -1);
    cr_assert_eq(ii("mul r2, r0, r1\nret r2", -6, 7), -42);
    cr_assert_eq(st("add r2, r0, r1\nret r2", BIGV, 1), CVM_ERR_TRAP_OVERFLOW);
    cr_assert_eq(st("sub r2, r0, r1\nret r2", MINV, 1), CVM_ERR_TRAP_OVERFLOW);
    cr_assert_eq(st("mul r2, r0, r1\nret r2", BIGV, 2), CVM_ERR_TRAP_OVERFLOW);
    cr_assert_eq(st("mul r2, r0, r1\nret r2", MINV, -1), CVM_ERR_TRAP_OVERFLOW);
    cr_assert_eq(ii("add r2, r0, r1\nret r2", BIGV, -1), BIGV - 1);
}

Test(opcodes, div_mod) {
    cr_assert_eq(ii("div r2, r0, r1\nret r2", 7, 2), 3);
    cr_assert_eq(ii("div r2, r0, r1\nret r2", -7, 2), -3);
    cr_assert_eq(ii("mod r2, r0, r1\nret r2", 7, 3), 1);
    cr_assert_eq(ii("mod r2, r0, r1\nret r2", -7, 3), -1);
    cr_assert_eq(ii("mod r2, r0, r1\nret r2", 7, -3), 1);
    cr_assert_eq(ii("mod r2, r0, r1\nret r2", MINV, -1), 0);
    cr_assert_eq(st("div r2, r0, r1\nret r2", 7, 0), CVM_ERR_TRAP_DIV_ZERO);
    cr_assert_eq(st("mod r2, r0, r1\nret r2", 7, 0), CVM_ERR_TRAP_DIV_ZERO);
    cr_assert_eq(st("div r2, r0, r1\nret r2", MINV, -1), CVM_ERR_TRAP_OVERFLOW);
}

Test(opcodes, immediate_and_constant_forms) {
    cr_assert_eq(ii("addi r2, r0, -128\nret r2", 5, 0), -123);
    cr_assert_eq(ii("addi r2, r0, 127\nret r2", 5, 0), 132);
    cr_assert_eq(st("addi r2, r0, 1\nret r2", BIGV, 0), CVM_ERR_TRAP_OVERFLOW);
    cr_assert_eq(ii("addk r2, r0, SEVEN\nret r2", 5, 0), 12);
    cr_assert_eq(ii("subk r2, r0, SEVEN\nret r2", 5, 0), -2);
    cr_assert_eq(ii("mulk r2, r0, SEVEN\nret r2", 5, 0), 35);
    cr_assert_eq(ii("divk r2, r0, SEVEN\nret r2", 50, 0), 7);
    cr_assert_eq(ii("modk r2, r0, SEVEN\nret r2", 50, 0), 1);
    cr_assert_eq(st("addk r2, r0, BIG\nret r2", 1, 0), CVM_ERR_TRAP_OVERFLOW);
    cr_assert_eq(st("mulk r2, r0, BIG\nret r2", 2, 0), CVM_ERR_TRAP_OVERFLOW);
    cr_assert_eq(st("subk r2, r0, BIG\nret r2", -2, 0), CVM_ERR_TRAP_OVERFLOW);
}

Test(opcodes, neg) {
    cr_assert_eq(ii("neg r2, r0\nret r2", 5, 0), -5);
    cr_assert_eq(ii("neg r2, r0\nret r2", -5, 0), 5);
    cr_assert_eq(st("neg r2, r0\nret r2", MINV, 0), CVM_ERR_TRAP_OVERFLOW);
}

Test(opcodes, bit_operations) {
    cr_assert_eq(ii("band r2, r0, r1\nret r2", 12, 10), 8);
    cr_assert_eq(ii("bor r2, r0, r1\nret r2", 12, 10), 14);
    cr_assert_eq(ii("bxor r2, r0, r1\nret r2", 12, 10), 6);
    cr_assert_eq(ii("bnot r2, r0\nret r2", 0, 0), -1);
    cr_assert_eq(ii("shl r2, r0, r1\nret r2", 1, 63), MINV);
    cr_assert_eq(ii("shl r2, r0, r1\nret r2", 3, 62), -((int64_t)1 << 62));
    cr_assert_eq(ii("shr r2, r0, r1\nret r2", -1, 60), 15);
    cr_assert_eq(ii("shr r2, r0, r1\nret r2", 256, 4), 16);
    cr_assert_eq(ii("shl r2, r0, r1\nret r2", 5, 0), 5);
    cr_assert_eq(st("shl r2, r0, r1\nret r2", 1, 64), CVM_ERR_TRAP_RANGE);
    cr_assert_eq(st("shr r2, r0, r1\nret r2", 1, -1), CVM_ERR_TRAP_RANGE);
}

Test(opcodes, comparisons) {
    cr_assert_eq(ii("eq r2, r0, r1\nret r2", 4, 4), 1);
    cr_assert_eq(ii("eq r2, r0, r1\nret r2", 4, 5), 0);
    cr_assert_eq(ii("ne r2, r0, r1\nret r2", 4, 5), 1);
    cr_assert_eq(ii("ne r2, r0, r1\nret r2", 4, 4), 0);
    cr_assert_eq(ii("lt r2, r0, r1\nret r2", -1, 0), 1);
    cr_assert_eq(ii("lt r2, r0, r1\nret r2", 0, 0), 0);
    cr_assert_eq(ii("le r2, r0, r1\nret r2", 0, 0), 1);
    cr_assert_eq(ii("le r2, r0, r1\nret r2", 1, 0), 0);
    /* bytes compare by content; an int never equals bytes */
    cr_assert_eq(ii("loads r2, ABC\nloads r3, A\nloads r4, BC\nconcat r3, r3, r4\neq r2, r2, r3\nret r2", 0, 0), 1);
    cr_assert_eq(ii("loads r2, ABC\nloads r3, A\nne r2, r2, r3\nret r2", 0, 0), 1);
    cr_assert_eq(ii("loads r2, A\nloadi r3, 97\neq r2, r2, r3\nret r2", 0, 0), 0);
    cr_assert_eq(st("loads r2, A\nlt r2, r2, r0\nret r2", 0, 0), CVM_ERR_TRAP_TYPE);
}

Test(opcodes, jumps) {
    cr_assert_eq(ii("jmp skip\nloadi r0, 9\nskip:\nret r0", 1, 0), 1);
    cr_assert_eq(ii("jz r0, z\nloadi r2, 1\nret r2\nz:\nloadi r2, 2\nret r2", 0, 0), 2);
    cr_assert_eq(ii("jz r0, z\nloadi r2, 1\nret r2\nz:\nloadi r2, 2\nret r2", 5, 0), 1);
    cr_assert_eq(ii("jnz r0, z\nloadi r2, 1\nret r2\nz:\nloadi r2, 2\nret r2", 5, 0), 2);
    cr_assert_eq(ii("jnz r0, z\nloadi r2, 1\nret r2\nz:\nloadi r2, 2\nret r2", 0, 0), 1);
    cr_assert_eq(st("loads r2, A\njz r2, x\nx:\nret r0", 0, 0), CVM_ERR_TRAP_TYPE);
    /* backward jump: count down */
    cr_assert_eq(ii("loadi r2, 0\nl:\naddi r2, r2, 3\naddi r0, r0, -1\njnz r0, l\nret r2", 4, 0), 12);
}

Test(opcodes, forloop) {
    /* sum of i for i = 1..b */
    const char *sum = "loadi r2, 0\nloadi r3, 1\nmove r4, r1\nl:\nadd r2, r2, r3\nforloop r3, l\nret r2";
    cr_assert_eq(ii(sum, 0, 10), 55);
    cr_assert_eq(ii(sum, 0, 1), 1);
    /* the body runs once even when the limit is below the start (test before the loop) */
    cr_assert_eq(ii(sum, 0, 0), 1);
    cr_assert_eq(st("loadk r2, BIG\nmove r3, r2\nforloop r2, x\nx:\nret r2", 0, 0),
                 CVM_ERR_TRAP_OVERFLOW);
}

Test(opcodes, call_and_ret) {
    char *src = vmt_read_file(TRIALREG_SOURCE_DIR "/tests/vm/modules/calls.s", NULL);
    cr_assert(src != NULL);
    cvm_value n = cvm_int(15);
    cr_assert_eq(vmt_int(src, "fib", &n, 1), 610);
    cr_assert_eq(vmt_int(src, "use_add3", NULL, 0), 83);
    free(src);
}

Test(opcodes, abort_returns_code) {
    cvm_result r = rr("loadi r2, 17\nabort r2", cvm_int(0), cvm_int(0));
    cr_assert_eq(r.status, CVM_ABORTED);
    cr_assert_eq(r.abort_code, 17);
    r = rr("loads r2, A\nabort r2", cvm_int(0), cvm_int(0));
    cr_assert_eq(r.status, CVM_ERR_TRAP_TYPE);
}

Test(opcodes, len_concat) {
    cvm_result r = rr("concat r2, r0, r1\nret r2", cvm_bytes("ab", 2), cvm_bytes("cde", 3));
    cr_assert_eq(r.status, CVM_OK);
    cr_assert_eq(r.value.type, CVM_BYTES);
    cr_assert_eq(r.value.len, 5);
    cr_assert(memcmp(r.value.u.bytes, "abcde", 5) == 0);
    r = rr("concat r2, r0, r1\nlen r2, r2\nret r2", cvm_bytes("", 0), cvm_bytes(NULL, 0));
    cr_assert_eq(r.value.u.i, 0);
    r = rr("concat r2, r0, r1\nret r2", cvm_int(1), cvm_bytes("x", 1));
    cr_assert_eq(r.status, CVM_ERR_TRAP_TYPE);
    r = rr("len r2, r0\nret r2", cvm_int(1), cvm_int(1));
    cr_assert_eq(r.status, CVM_ERR_TRAP_TYPE);
}

Test(opcodes, slice) {
    const char *body = "loadi r2, 1\nloadi r3, 2\nslice r4, r0, r2\nret r4";
    cvm_result r = rr(body, cvm_bytes("abcd", 4), cvm_int(0));
    cr_assert_eq(r.status, CVM_OK);
    cr_assert_eq(r.value.len, 2);
    cr_assert(memcmp(r.value.u.bytes, "bc", 2) == 0);
    r = rr(body, cvm_bytes("ab", 2), cvm_int(0)); /* 1 + 2 > 2 */
    cr_assert_eq(r.status, CVM_ERR_TRAP_RANGE);
    r = rr("loadi r2, -1\nloadi r3, 1\nslice r4, r0, r2\nret r4", cvm_bytes("ab", 2), cvm_int(0));
    cr_assert_eq(r.status, CVM_ERR_TRAP_RANGE);
    r = rr("loadi r2, 2\nloadi r3, 0\nslice r4, r0, r2\nlen r4, r4\nret r4", cvm_bytes("ab", 2), cvm_int(0));
    cr_assert_eq(r.status, CVM_OK);
    cr_assert_eq(r.value.u.i, 0);
}

Test(opcodes, bcmp_byteat) {
    const char *cmp = "bcmp r2, r0, r1\nret r2";
    cr_assert_eq(rr(cmp, cvm_bytes("ab", 2), cvm_bytes("ac", 2)).value.u.i, -1);
    cr_assert_eq(rr(cmp, cvm_bytes("b", 1), cvm_bytes("ac", 2)).value.u.i, 1);
    cr_assert_eq(rr(cmp, cvm_bytes("ab", 2), cvm_bytes("ab", 2)).value.u.i, 0);
    cr_assert_eq(rr(cmp, cvm_bytes("a", 1), cvm_bytes("ab", 2)).value.u.i, -1);
    cr_assert_eq(rr(cmp, cvm_bytes("a", 1), cvm_int(2)).status, CVM_ERR_TRAP_TYPE);
    const char *at = "byteat r2, r0, r1\nret r2";
    cr_assert_eq(rr(at, cvm_bytes("\x01\xfe", 2), cvm_int(1)).value.u.i, 254);
    cr_assert_eq(rr(at, cvm_bytes("\x01\xfe", 2), cvm_int(2)).status, CVM_ERR_TRAP_RANGE);
    cr_assert_eq(rr(at, cvm_bytes("\x01\xfe", 2), cvm_int(-1)).status, CVM_ERR_TRAP_RANGE);
}

Test(opcodes, itob_btoi) {
    cvm_result r = rr("itob r2, r0\nret r2", cvm_int(0x0102030405060708), cvm_int(0));
    cr_assert_eq(r.value.len, 8);
    cr_assert(memcmp(r.value.u.bytes, "\x01\x02\x03\x04\x05\x06\x07\x08", 8) == 0);
    r = rr("itob r2, r0\nret r2", cvm_int(-2), cvm_int(0));
    cr_assert(memcmp(r.value.u.bytes, "\xff\xff\xff\xff\xff\xff\xff\xfe", 8) == 0);
    cr_assert_eq(ii("loads r2, FF\nbtoi r2, r2\nret r2", 0, 0), -1);
    cr_assert_eq(ii("loads r2, ABC\nbtoi r2, r2\nret r2", 0, 0), 0x616263);
    cr_assert_eq(ii("loads r2, A\nloads r3, A\nloadi r4, 0\nloadi r5, 0\nslice r2, r2, r4\nbtoi r2, r2\nret r2", 0, 0), 0);
    cr_assert_eq(st("loads r2, NINE\nbtoi r2, r2\nret r2", 0, 0), CVM_ERR_TRAP_RANGE);
    cr_assert_eq(st("btoi r2, r0\nret r2", 0, 0), CVM_ERR_TRAP_TYPE);
    cr_assert_eq(ii("itob r2, r0\nbtoi r2, r2\nret r2", MINV, 0), MINV);
}

Test(opcodes, type_arg_nargs) {
    cr_assert_eq(ii("type r2, r0\nret r2", 5, 0), 0);
    cr_assert_eq(ii("loads r2, A\ntype r2, r2\nret r2", 5, 0), 1);
    cr_assert_eq(ii("arg r2, 1\nret r2", 5, 6), 6);
    cr_assert_eq(ii("nargs r2\nret r2", 5, 6), 2);
    cr_assert_eq(st("arg r2, 2\nret r2", 5, 6), CVM_ERR_TRAP_ARG);
}

Test(opcodes, host_time_and_height) {
    cr_assert_eq(ii("host r2, time\nret r2", 0, 0), 1700000000000);
    cr_assert_eq(ii("host r2, height\nret r2", 0, 0), 42);
    cr_assert_eq(ii("host r2, role\nret r2", 0, 0), 3);
    cr_assert_eq(ii("host r2, cosigners\nret r2", 0, 0), 2);
}
