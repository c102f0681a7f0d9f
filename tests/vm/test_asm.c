/*
 * test_asm.c - assembler errors with line numbers, disassembler output, and the
 * disassemble/reassemble round trip on every test module.
 */
#include "vm_testlib.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cvm_error asm_fail(const char *src, cvm_status want) {
    uint8_t *out = (uint8_t *)1;
    size_t n = 7;
    cvm_error err;
    memset(&err, 0, sizeof err);
    cvm_status st = cvm_assemble(src, strlen(src), &out, &n, &err);
    cr_assert_eq(st, want, "want %s got %s: %s", cvm_strerror(want), cvm_strerror(st), err.message);
    cr_assert_null(out);
    cr_assert_eq(n, 0);
    return err;
}

static void fail_at(const char *src, cvm_status want, uint32_t line, const char *needle) {
    cvm_error e = asm_fail(src, want);
    cr_assert_eq(e.line, line, "line %u: %s", e.line, e.message);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "line %u:", line);
    cr_assert(strncmp(e.message, prefix, strlen(prefix)) == 0, "%s", e.message);
    cr_assert(strstr(e.message, needle) != NULL, "'%s' not in '%s'", needle, e.message);
}

Test(asm, errors_name_the_line) {
    fail_at(".func f 0 2 export\n  nop\n  frob r0\n  ret r0\n", CVM_ERR_ASM_UNKNOWN, 3, "frob");
    fail_at(".func f 0 2\n  jmp nowhere\n  ret r0\n", CVM_ERR_ASM_UNKNOWN, 2, "nowhere");
    fail_at(".func f 0 2\na:\na:\n  ret r0\n", CVM_ERR_ASM_DUPLICATE, 3, "a");
    fail_at(".func f 0 2\n  ret r0\n.func f 0 2\n  ret r0\n", CVM_ERR_ASM_DUPLICATE, 3, "f");
    fail_at(".func f 0 2\n  move rx, r0\n  ret r0\n", CVM_ERR_ASM_SYNTAX, 2, "rx");
    fail_at(".func f 0 2\n  loadi r0, 40000\n  ret r0\n", CVM_ERR_ASM_RANGE, 2, "range");
    fail_at(".func f 0 2\n  add r0, r1\n  ret r0\n", CVM_ERR_ASM_SYNTAX, 2, "operands");
    fail_at("  nop\n", CVM_ERR_ASM_SYNTAX, 1, "outside");
    fail_at(".bytes B \"unterminated\n.func f 0 1\n ret r0\n", CVM_ERR_ASM_SYNTAX, 1, "literal");
    fail_at(".func f 0 2\n  host r0, teleport\n  ret r0\n", CVM_ERR_ASM_UNKNOWN, 2, "teleport");
    fail_at(".int N twelve\n.func f 0 1\n ret r0\n", CVM_ERR_ASM_SYNTAX, 1, "twelve");
    fail_at(".func f 0 1\n  loadk r0, NOPE\n  ret r0\n", CVM_ERR_ASM_UNKNOWN, 2, "NOPE");
    fail_at(".func f 0 1\n  call r0, g, 0\n  ret r0\n", CVM_ERR_ASM_UNKNOWN, 2, "g");
    fail_at(".wat\n", CVM_ERR_ASM_UNKNOWN, 1, "wat");
    fail_at(".int k3 5\n.func f 0 1\n ret r0\n", CVM_ERR_ASM_SYNTAX, 1, "k3");
}

Test(asm, verifier_errors_map_to_lines) {
    /* register beyond nregs and a function without a final ret: found by the verifier */
    fail_at(".func f 0 2\n  nop\n  move r5, r0\n  ret r0\n", CVM_ERR_BAD_REGISTER, 3, "r5");
    fail_at(".func f 0 2\n  nop\n  nop\n", CVM_ERR_BAD_FUNC_END, 3, "nop");
    fail_at(".func g 1 1\n ret r0\n.func f 0 2\n  call r0, g, 0\n  ret r0\n", CVM_ERR_BAD_CALL_ARGS, 4, "g");
    asm_fail("; nothing here\n", CVM_ERR_ASM_SYNTAX);
}

Test(asm, syntax_details) {
    /* comments, labels sharing a line, hex immediates, string escapes with ';' inside */
    const char *src = ".bytes S \"a;b\\\"c\\x41\\n\" ; trailing comment\n"
                      "# hash comment\n"
                      ".func f 0 3 export\n"
                      "start: loads r0, S\n"
                      "  len r1, r0\n"
                      "  addi r1, r1, 0x10\n"
                      "  ret r1\n";
    cr_assert_eq(vmt_int(src, "f", NULL, 0), 7 + 16);
}

static const char *modules[] = {"arith", "loop", "consent", "calls", "bytes", "host", "traps"};

Test(asm, roundtrip_every_module) {
    for (size_t k = 0; k < sizeof modules / sizeof modules[0]; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/tests/vm/modules/%s.s", TRIALREG_SOURCE_DIR, modules[k]);
        char *src = vmt_read_file(path, NULL);
        cr_assert(src != NULL, "%s", path);
        uint8_t *b1 = NULL, *b2 = NULL;
        size_t n1 = 0, n2 = 0;
        cvm_error err;
        cr_assert_eq(cvm_assemble(src, strlen(src), &b1, &n1, &err), CVM_OK, "%s: %s", modules[k], err.message);
        char *text = NULL, *text2 = NULL;
        cr_assert_eq(cvm_disassemble(b1, n1, &text, &err), CVM_OK, "%s", err.message);
        cr_assert_eq(cvm_assemble(text, strlen(text), &b2, &n2, &err), CVM_OK, "%s: %s\n%s", modules[k], err.message, text);
        cr_assert_eq(n1, n2, "%s: %zu vs %zu bytes", modules[k], n1, n2);
        cr_assert(memcmp(b1, b2, n1) == 0, "%s: bytes differ after round trip", modules[k]);
        cr_assert_eq(cvm_disassemble(b2, n2, &text2, &err), CVM_OK);
        cr_assert_str_eq(text, text2);
        free(b1), free(b2), free(text), free(text2), free(src);
    }
}

Test(asm, disassembly_is_readable) {
    char path[512];
    snprintf(path, sizeof path, "%s/tests/vm/modules/consent.s", TRIALREG_SOURCE_DIR);
    char *src = vmt_read_file(path, NULL);
    vmt_load(src);
    size_t n;
    const uint8_t *b = vmt_last_bytes(&n);
    char *text = NULL;
    cr_assert_eq(cvm_disassemble(b, n, &text, NULL), CVM_OK);
    cr_assert(strstr(text, ".func check 2 8 export") != NULL, "%s", text);
    cr_assert(strstr(text, ".func key_for 1 3\n") != NULL);
    cr_assert(strstr(text, "call r2, key_for, 1") != NULL);
    cr_assert(strstr(text, "host r3, get, r2") != NULL);
    cr_assert(strstr(text, ".bytes s0 \"consent:\"") != NULL);
    cr_assert(strstr(text, "jz r4, L") != NULL);
    free(text);
    free(src);
    /* bad bytes are refused by the disassembler too */
    cr_assert_eq(cvm_disassemble((const uint8_t *)"CVM", 3, &text, NULL), CVM_ERR_TRUNCATED);
    cr_assert_null(text);
}

Test(asm, binary_constants_roundtrip) {
    const char *src = ".int NEG -9223372036854775808\n.bytes B x\"00ff7f80\"\n.bytes Q \"q\\\\\\\"\"\n"
                      ".func f 0 2 export\n loadk r0, NEG\n loads r1, B\n loads r1, Q\n ret r0\n";
    vmt_load(src);
    size_t n;
    const uint8_t *b = vmt_last_bytes(&n);
    char *text = NULL;
    uint8_t *b2 = NULL;
    size_t n2 = 0;
    cr_assert_eq(cvm_disassemble(b, n, &text, NULL), CVM_OK);
    cr_assert(strstr(text, "x\"00ff7f80\"") != NULL, "%s", text);
    cr_assert_eq(cvm_assemble(text, strlen(text), &b2, &n2, NULL), CVM_OK, "%s", text);
    cr_assert_eq(n, n2);
    cr_assert(memcmp(b, b2, n) == 0);
    free(text), free(b2);
}

/* Mutated sources (deterministic xorshift, seed printed) either assemble to a module whose
 * disassembly reassembles to the same bytes, or are refused with a typed error. */
Test(asm, mutated_sources_never_crash) {
    uint64_t s = 88172645463325252ull;
    printf("mutated_sources seed %llu\n", (unsigned long long)s);
    const char *chars = " \t\n,:;#\".\\xrksL0123456789-abcdefghijklmnopqrstuvwxyz_\x01\xff";
    size_t nchars = strlen(chars);
    for (size_t k = 0; k < sizeof modules / sizeof modules[0]; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/tests/vm/modules/%s.s", TRIALREG_SOURCE_DIR, modules[k]);
        size_t n = 0;
        char *src = vmt_read_file(path, &n);
        cr_assert(src != NULL);
        char *buf = malloc(n + 64);
        for (int round = 0; round < 1500; round++) {
            memcpy(buf, src, n + 1);
            size_t len = n;
            for (int e = 0, edits = 1 + round % 4; e < edits; e++) {
                s ^= s << 13, s ^= s >> 7, s ^= s << 17;
                size_t at = (size_t)(s % (len + 1));
                char c = chars[(s >> 32) % nchars];
                if ((s >> 20) % 3 == 0 && at < len) {
                    buf[at] = c;
                } else if ((s >> 20) % 3 == 1 && len < n + 60) {
                    memmove(buf + at + 1, buf + at, len - at + 1);
                    buf[at] = c, len++;
                } else if (at < len) {
                    memmove(buf + at, buf + at + 1, len - at);
                    len--;
                }
            }
            uint8_t *out = NULL, *again = NULL;
            size_t ol = 0, al = 0;
            char *text = NULL;
            cvm_error err;
            if (cvm_assemble(buf, len, &out, &ol, &err) != CVM_OK) {
                cr_assert_neq(err.code, CVM_OK);
                cr_assert_null(out);
                continue;
            }
            cr_assert_eq(cvm_disassemble(out, ol, &text, NULL), CVM_OK);
            cr_assert_eq(cvm_assemble(text, strlen(text), &again, &al, &err), CVM_OK, "%s", err.message);
            cr_assert(al == ol && memcmp(again, out, ol) == 0, "round trip differs for:\n%s", buf);
            free(text), free(again), free(out);
        }
        free(buf);
        free(src);
    }
}
