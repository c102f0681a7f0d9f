/*
 * test_verifier.c - every loader/verifier refusal, one test each, checking the distinct
 * error code and the function and pc it names; and bad bytecode never crashes.
 */
#include "vm_testlib.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A hand-built module: 1 int constant, 1 byte constant, two functions "ok" (valid:
 * ret r0) and "f" (the code under test, nparams 1, nregs 4). */
typedef struct built {
    uint8_t b[4096];
    size_t n;
} built;

static void u8(built *m, unsigned v) { m->b[m->n++] = (uint8_t)v; }
static void u32(built *m, uint32_t v) {
    for (int k = 0; k < 4; k++) u8(m, (v >> (8 * k)) & 0xff);
}

static built make(const uint32_t *code, uint32_t n, unsigned nparams, unsigned nregs) {
    built m = {{0}, 0};
    memcpy(m.b, "CVM\x1a", 4), m.n = 4;
    u8(&m, 1), u8(&m, 0), u8(&m, 0), u8(&m, 0);
    u32(&m, 1), u32(&m, 1), u32(&m, 2);
    u32(&m, 99), u32(&m, 0);       /* int constant 99 */
    u32(&m, 2), u8(&m, 'h'), u8(&m, 'i'); /* byte constant "hi" */
    u8(&m, 1), u8(&m, 1), u8(&m, 1), u8(&m, 2), u32(&m, 1); /* ok: 1 param, 1 reg */
    u8(&m, 'o'), u8(&m, 'k'), u32(&m, CVM_MK_ABC(CVM_OP_RET, 0, 0, 0));
    u8(&m, nparams), u8(&m, nregs), u8(&m, 1), u8(&m, 1), u32(&m, n);
    u8(&m, 'f');
    for (uint32_t i = 0; i < n; i++) u32(&m, code[i]);
    return m;
}
/* Offsets inside make()'s output. */
enum { OFF_F_HEADER = 20 + 8 + 6 + 8 + 2 + 4, OFF_F_CODE = OFF_F_HEADER + 8 + 1 };

static cvm_error expect_refusal(const built *m, cvm_status code) {
    cvm_module *mod = NULL;
    cvm_error err;
    memset(&err, 0, sizeof err);
    cvm_status st = cvm_module_load(m->b, m->n, &mod, &err);
    cr_assert_eq(st, code, "expected %s, got %s (%s)", cvm_strerror(code), cvm_strerror(st), err.message);
    cr_assert_eq(err.code, code);
    cr_assert_null(mod);
    cr_assert(strlen(err.message) > 0);
    return err;
}

static void expect_at(const uint32_t *code, uint32_t n, cvm_status want, uint32_t pc) {
    built m = make(code, n, 1, 4);
    cvm_error err = expect_refusal(&m, want);
    cr_assert_eq(err.func, 1, "func %u", err.func);
    cr_assert_eq(err.pc, pc, "pc %u", err.pc);
}

#define RET0 CVM_MK_ABC(CVM_OP_RET, 0, 0, 0)

Test(verifier, accepts_the_baseline) {
    uint32_t code[] = {CVM_MK_ABX(CVM_OP_LOADK, 1, 0), CVM_MK_ABX(CVM_OP_LOADS, 2, 0), RET0};
    built m = make(code, 3, 1, 4);
    cvm_module *mod = NULL;
    cr_assert_eq(cvm_module_load(m.b, m.n, &mod, NULL), CVM_OK);
    cr_assert_eq(cvm_module_func_count(mod), 2);
    cr_assert_eq(cvm_module_find_export(mod, "f"), 1);
    cvm_module_free(mod);
}

Test(verifier, truncated_header_and_code) {
    uint32_t code[] = {RET0};
    built m = make(code, 1, 1, 4);
    built h = m;
    h.n = 10;
    expect_refusal(&h, CVM_ERR_TRUNCATED);
    m.n -= 2;
    cvm_error e = expect_refusal(&m, CVM_ERR_TRUNCATED);
    cr_assert_eq(e.func, 1);
}

Test(verifier, bad_magic_version_flags) {
    uint32_t code[] = {RET0};
    built m = make(code, 1, 1, 4);
    built x = m;
    x.b[0] = 'X';
    expect_refusal(&x, CVM_ERR_BAD_MAGIC);
    x = m, x.b[4] = 2;
    expect_refusal(&x, CVM_ERR_BAD_VERSION);
    x = m, x.b[6] = 1;
    expect_refusal(&x, CVM_ERR_BAD_FLAGS);
    x = m, x.b[OFF_F_HEADER + 2] = 3; /* function flags beyond "exported" */
    cr_assert_eq(expect_refusal(&x, CVM_ERR_BAD_FLAGS).func, 1);
}

Test(verifier, module_too_large) {
    size_t n = CVM_MODULE_BYTES_MAX + 1;
    uint8_t *big = calloc(n, 1);
    cvm_module *mod = NULL;
    cr_assert_eq(cvm_module_load(big, n, &mod, NULL), CVM_ERR_MODULE_TOO_LARGE);
    free(big);
}

static void set_u32(built *m, size_t off, uint32_t v) {
    for (int k = 0; k < 4; k++) m->b[off + (size_t)k] = (uint8_t)(v >> (8 * k));
}

Test(verifier, huge_counts) {
    uint32_t code[] = {RET0};
    built m = make(code, 1, 1, 4);
    built x = m;
    set_u32(&x, 8, CVM_KINT_MAX + 1);
    expect_refusal(&x, CVM_ERR_TOO_MANY_KINT);
    x = m, set_u32(&x, 12, CVM_KBYT_MAX + 1);
    expect_refusal(&x, CVM_ERR_TOO_MANY_KBYT);
    x = m, set_u32(&x, 16, 0);
    expect_refusal(&x, CVM_ERR_BAD_FUNC_COUNT);
    x = m, set_u32(&x, 16, CVM_FUNC_MAX + 1);
    expect_refusal(&x, CVM_ERR_BAD_FUNC_COUNT);
    /* counts within limits but far beyond the bytes present: refused before allocating */
    x = m, set_u32(&x, 8, CVM_KINT_MAX);
    expect_refusal(&x, CVM_ERR_TRUNCATED);
    x = m, set_u32(&x, 16, CVM_FUNC_MAX);
    expect_refusal(&x, CVM_ERR_TRUNCATED);
    x = m, set_u32(&x, 28, 0xffffffffu); /* byte constant length */
    expect_refusal(&x, CVM_ERR_KBYT_TOO_LONG);
    x = m, set_u32(&x, 28, 1000); /* within the limit, beyond the module */
    expect_refusal(&x, CVM_ERR_TRUNCATED);
}

Test(verifier, bad_names) {
    uint32_t code[] = {RET0};
    built m = make(code, 1, 1, 4);
    built x = m;
    x.b[OFF_F_CODE - 1] = '-';
    cr_assert_eq(expect_refusal(&x, CVM_ERR_BAD_NAME).func, 1);
    x = m, x.b[OFF_F_HEADER + 3] = 0;
    cr_assert_eq(expect_refusal(&x, CVM_ERR_BAD_NAME).func, 1);
    /* fuzz finding 1: a name starting with a digit could not be reassembled */
    x = m, x.b[OFF_F_CODE - 1] = '9';
    cr_assert_eq(expect_refusal(&x, CVM_ERR_BAD_NAME).func, 1);
    x = m, x.b[OFF_F_CODE - 1] = '_';
    cvm_module *mod = NULL;
    cr_assert_eq(cvm_module_load(x.b, x.n, &mod, NULL), CVM_OK);
    cvm_module_free(mod);
    /* simplest duplicate: two functions both called "ok" */
    built two = {{0}, 0};
    memcpy(two.b, "CVM\x1a", 4), two.n = 4;
    u8(&two, 1), u8(&two, 0), u8(&two, 0), u8(&two, 0);
    u32(&two, 0), u32(&two, 0), u32(&two, 2);
    for (int f = 0; f < 2; f++) {
        u8(&two, 0), u8(&two, 1), u8(&two, 0), u8(&two, 2), u32(&two, 1);
        u8(&two, 'o'), u8(&two, 'k'), u32(&two, RET0);
    }
    cr_assert_eq(expect_refusal(&two, CVM_ERR_DUP_NAME).func, 1);
}

Test(verifier, bad_code_len_and_nregs) {
    uint32_t code[] = {RET0};
    built m = make(code, 1, 1, 4);
    built x = m;
    set_u32(&x, OFF_F_HEADER + 4, 0);
    cr_assert_eq(expect_refusal(&x, CVM_ERR_BAD_CODE_LEN).func, 1);
    x = m, set_u32(&x, OFF_F_HEADER + 4, CVM_FUNC_CODE_MAX + 1);
    expect_refusal(&x, CVM_ERR_BAD_CODE_LEN);
    built z = make(code, 1, 0, 0);
    cr_assert_eq(expect_refusal(&z, CVM_ERR_BAD_NREGS).func, 1);
    z = make(code, 1, 5, 4);
    expect_refusal(&z, CVM_ERR_BAD_NREGS);
    z = make(code, 1, 1, CVM_REGS_MAX + 1);
    expect_refusal(&z, CVM_ERR_BAD_NREGS);
}

Test(verifier, trailing_bytes) {
    uint32_t code[] = {RET0};
    built m = make(code, 1, 1, 4);
    u8(&m, 0);
    expect_refusal(&m, CVM_ERR_TRAILING_BYTES);
}

Test(verifier, bad_opcode) {
    uint32_t code[] = {CVM_MK_ABC(CVM_OP_NOP, 0, 0, 0), CVM_MK_ABC(200, 0, 0, 0), RET0};
    expect_at(code, 3, CVM_ERR_BAD_OPCODE, 1);
    uint32_t code2[] = {CVM_MK_ABC(CVM_OP_COUNT, 0, 0, 0), RET0};
    expect_at(code2, 2, CVM_ERR_BAD_OPCODE, 0);
}

Test(verifier, bad_register) {
    uint32_t a[] = {CVM_MK_ABC(CVM_OP_MOVE, 4, 0, 0), RET0};
    expect_at(a, 2, CVM_ERR_BAD_REGISTER, 0);
    uint32_t b[] = {CVM_MK_ABC(CVM_OP_NOP, 0, 0, 0), CVM_MK_ABC(CVM_OP_ADD, 0, 1, 9), RET0};
    expect_at(b, 3, CVM_ERR_BAD_REGISTER, 1);
    uint32_t c[] = {CVM_MK_ABC(CVM_OP_RET, 4, 0, 0)};
    expect_at(c, 1, CVM_ERR_BAD_REGISTER, 0);
}

Test(verifier, bad_register_ranges) {
    uint32_t forloop[] = {CVM_MK_ASBX(CVM_OP_FORLOOP, 3, -1), RET0}; /* uses r4 */
    expect_at(forloop, 2, CVM_ERR_BAD_REGISTER, 0);
    uint32_t slice[] = {CVM_MK_ABC(CVM_OP_SLICE, 0, 1, 3), RET0}; /* uses r4 */
    expect_at(slice, 2, CVM_ERR_BAD_REGISTER, 0);
    uint32_t host[] = {CVM_MK_ABC(CVM_OP_HOST, 0, CVM_HOST_KEYS, 2), RET0}; /* r2..r4 */
    expect_at(host, 2, CVM_ERR_BAD_REGISTER, 0);
}

Test(verifier, bad_constants) {
    uint32_t k[] = {CVM_MK_ABX(CVM_OP_LOADK, 0, 1), RET0};
    expect_at(k, 2, CVM_ERR_BAD_KINT, 0);
    uint32_t kc[] = {CVM_MK_ABC(CVM_OP_ADDK, 0, 0, 1), RET0};
    expect_at(kc, 2, CVM_ERR_BAD_KINT, 0);
    uint32_t s[] = {CVM_MK_ABC(CVM_OP_NOP, 0, 0, 0), CVM_MK_ABX(CVM_OP_LOADS, 0, 1), RET0};
    expect_at(s, 3, CVM_ERR_BAD_KBYT, 1);
}

Test(verifier, bad_jumps) {
    uint32_t fwd[] = {CVM_MK_SJ(CVM_OP_JMP, 1), RET0}; /* target 2 == code_len */
    expect_at(fwd, 2, CVM_ERR_BAD_JUMP, 0);
    uint32_t back[] = {CVM_MK_ABC(CVM_OP_NOP, 0, 0, 0), CVM_MK_ASBX(CVM_OP_JZ, 0, -3), RET0};
    expect_at(back, 3, CVM_ERR_BAD_JUMP, 1);
    uint32_t loop[] = {CVM_MK_ASBX(CVM_OP_FORLOOP, 0, 5), RET0};
    expect_at(loop, 2, CVM_ERR_BAD_JUMP, 0);
}

Test(verifier, bad_calls) {
    uint32_t f[] = {CVM_MK_ABC(CVM_OP_CALL, 0, 2, 1), RET0};
    expect_at(f, 2, CVM_ERR_BAD_FUNC, 0);
    uint32_t n[] = {CVM_MK_ABC(CVM_OP_CALL, 0, 0, 2), RET0}; /* "ok" takes 1 */
    expect_at(n, 2, CVM_ERR_BAD_CALL_ARGS, 0);
    uint32_t r[] = {CVM_MK_ABC(CVM_OP_CALL, 3, 1, 1), RET0}; /* fine: r3 */
    built m = make(r, 2, 1, 4);
    cvm_module *mod = NULL;
    cr_assert_eq(cvm_module_load(m.b, m.n, &mod, NULL), CVM_OK);
    cvm_module_free(mod);
}

Test(verifier, bad_host_function) {
    uint32_t h[] = {CVM_MK_ABC(CVM_OP_HOST, 0, CVM_HOST_COUNT, 0), RET0};
    expect_at(h, 2, CVM_ERR_BAD_HOST_FN, 0);
}

Test(verifier, bad_unused_operand) {
    uint32_t n[] = {CVM_MK_ABC(CVM_OP_NOP, 1, 0, 0), RET0};
    expect_at(n, 2, CVM_ERR_BAD_OPERAND, 0);
    uint32_t r[] = {CVM_MK_ABC(CVM_OP_RET, 0, 0, 1)};
    expect_at(r, 1, CVM_ERR_BAD_OPERAND, 0);
    uint32_t h[] = {CVM_MK_ABC(CVM_OP_HOST, 0, CVM_HOST_TIME, 1), RET0}; /* arity 0, C != 0 */
    expect_at(h, 2, CVM_ERR_BAD_OPERAND, 0);
}

Test(verifier, bad_function_end) {
    uint32_t a[] = {CVM_MK_ABC(CVM_OP_ADD, 0, 0, 0)};
    expect_at(a, 1, CVM_ERR_BAD_FUNC_END, 0);
    uint32_t j[] = {CVM_MK_ABC(CVM_OP_NOP, 0, 0, 0), CVM_MK_ASBX(CVM_OP_JZ, 0, -2)};
    expect_at(j, 2, CVM_ERR_BAD_FUNC_END, 1);
}

/* Every prefix of every test module, and deterministic random corruption, either loads
 * and runs to a status or is refused: never a crash (ASan/UBSan builds check the rest). */
static const char *module_names[] = {"arith", "loop", "consent", "calls", "bytes", "host", "traps"};

static uint64_t rng_next(uint64_t *s) {
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

static void run_all_exports(const uint8_t *b, size_t n) {
    cvm_module *mod = NULL;
    if (cvm_module_load(b, n, &mod, NULL) != CVM_OK) return;
    vmt_state s;
    memset(&s, 0, sizeof s);
    cvm_host h = vmt_host(&s);
    cvm_env e = vmt_env();
    cvm_vm *vm = cvm_vm_new(NULL);
    cr_assert(vm != NULL);
    cvm_value args[CVM_REGS_MAX];
    for (uint32_t i = 0; i < CVM_REGS_MAX; i++) args[i] = cvm_int(i);
    for (uint32_t fi = 0; fi < cvm_module_func_count(mod); fi++) {
        cvm_funcinfo info;
        cr_assert_eq(cvm_module_func_info(mod, fi, &info), CVM_OK);
        if (!info.exported) continue;
        cvm_result r;
        cvm_status st = cvm_call(vm, mod, info.name, args, info.nparams, &h, &e, 5000, &r);
        cr_assert_eq(st, r.status);
        cr_assert(r.gas_used <= 5000);
        if (st != CVM_OK) cr_assert_eq(r.write_count, 0);
    }
    cvm_vm_free(vm);
    cvm_module_free(mod);
}

Test(verifier, bad_bytecode_never_crashes) {
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    printf("bad_bytecode seed %llu\n", (unsigned long long)seed);
    for (size_t k = 0; k < sizeof module_names / sizeof module_names[0]; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/tests/vm/modules/%s.s", TRIALREG_SOURCE_DIR, module_names[k]);
        char *src = vmt_read_file(path, NULL);
        cr_assert(src != NULL, "%s", path);
        vmt_load(src);
        size_t n;
        const uint8_t *orig = vmt_last_bytes(&n);
        uint8_t *b = malloc(n);
        for (size_t cut = 0; cut < n; cut++) {
            cvm_module *mod = NULL;
            cvm_status st = cvm_module_load(orig, cut, &mod, NULL);
            cr_assert_neq(st, CVM_OK, "%s: prefix of %zu bytes loaded", module_names[k], cut);
        }
        for (int round = 0; round < 300; round++) {
            memcpy(b, orig, n);
            int flips = 1 + (int)(rng_next(&seed) % 4);
            for (int f = 0; f < flips; f++) b[rng_next(&seed) % n] ^= (uint8_t)(1u << (rng_next(&seed) % 8));
            run_all_exports(b, n);
        }
        free(b);
        free(src);
    }
}
