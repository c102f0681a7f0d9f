/*
 * test_runtime.c - gas, traps and state, aborts, limits, the host interface.
 */
#include "vm_testlib.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *module_src(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/tests/vm/modules/%s.s", TRIALREG_SOURCE_DIR, name);
    char *src = vmt_read_file(path, NULL);
    cr_assert(src != NULL, "cannot read %s", path);
    return src;
}

static void seed_state(vmt_state *s) {
    memset(s, 0, sizeof *s);
    vmt_state_put(s, "p/a", 3, "A", 1);
    vmt_state_put(s, "p/c", 3, "C", 1);
    vmt_state_put(s, "q/x", 3, "X", 1);
}

/* Runs with a huge limit, then exactly the cost (succeeds, same result) and cost - 1
 * (out of gas, no writes). */
static void check_exact_gas(const char *method, const cvm_value *args, uint32_t nargs) {
    vmt_state s;
    seed_state(&s);
    cvm_result r;
    cr_assert_eq(vmt_call(method, args, nargs, 100000000, &s, &r), CVM_OK, "%s: %s", method, r.error.message);
    uint64_t cost = r.gas_used;
    char first[2048], again[2048];
    vmt_format(&r, first, sizeof first);
    cr_assert(cost > 0);
    cr_assert_eq(vmt_call(method, args, nargs, cost, &s, &r), CVM_OK, "%s at exact gas %llu", method, (unsigned long long)cost);
    cr_assert_eq(r.gas_used, cost);
    vmt_format(&r, again, sizeof again);
    cr_assert_str_eq(first, again);
    cr_assert_eq(vmt_call(method, args, nargs, cost - 1, &s, &r), CVM_ERR_OUT_OF_GAS, "%s at gas %llu", method, (unsigned long long)cost - 1);
    cr_assert_eq(r.gas_used, cost - 1);
    cr_assert_eq(r.write_count, 0);
    cr_assert_eq(r.event_count, 0);
}

Test(gas, exact_limit_arith_loop_consent) {
    char *src = module_src("arith");
    vmt_load(src);
    cvm_value ab[2] = {cvm_int(1234), cvm_int(567)};
    check_exact_gas("calc", ab, 2);
    free(src);
    src = module_src("loop");
    vmt_load(src);
    cvm_value n = cvm_int(100);
    check_exact_gas("sumsq", &n, 1);
    free(src);
    src = module_src("consent");
    vmt_load(src);
    cvm_value g[3] = {cvm_bytes("alice", 5), cvm_int(3), cvm_int(1800000000000)};
    check_exact_gas("grant", g, 3);
    free(src);
    src = module_src("host");
    vmt_load(src);
    cvm_value k = cvm_int(10);
    check_exact_gas("list", &k, 1);
    check_exact_gas("identity", NULL, 0);
    free(src);
}

Test(gas, loop_cost_is_linear) {
    char *src = module_src("loop");
    vmt_load(src);
    cvm_result r1, r2;
    cvm_value n = cvm_int(10);
    cr_assert_eq(vmt_call("sumsq", &n, 1, 1000000, NULL, &r1), CVM_OK);
    n = cvm_int(20);
    cr_assert_eq(vmt_call("sumsq", &n, 1, 1000000, NULL, &r2), CVM_OK);
    /* mul 1 + add 1 + modk 2 + forloop 1 = 5 gas per iteration */
    cr_assert_eq(r2.gas_used - r1.gas_used, 50);
    cr_assert_eq(r1.value.u.i, 385);
    free(src);
}

Test(gas, spin_stops_at_the_limit) {
    char *src = module_src("traps");
    vmt_load(src);
    cvm_result r;
    cr_assert_eq(vmt_call("spin", NULL, 0, 12345, NULL, &r), CVM_ERR_OUT_OF_GAS);
    cr_assert_eq(r.gas_used, 12345);
    cr_assert_eq(r.error.func, 3);
    free(src);
}

Test(traps, trap_in_the_middle_leaves_state) {
    char *src = module_src("traps");
    vmt_load(src);
    vmt_state s, before;
    seed_state(&s);
    before = s;
    cvm_result r;
    cvm_value a = cvm_int(5);
    cr_assert_eq(vmt_call("put_then_trap", &a, 1, 100000, &s, &r), CVM_ERR_TRAP_DIV_ZERO);
    cr_assert_eq(r.write_count, 0);
    cr_assert_eq(r.event_count, 0);
    cr_assert_null(r.writes);
    cr_assert_eq(r.error.func, 0);
    cr_assert_eq(r.error.pc, 6);
    vmt_state_apply(&s, &r);
    cr_assert(vmt_state_equal(&s, &before));
    /* the same write succeeds without the trap */
    cr_assert_eq(vmt_call("put_ok", NULL, 0, 100000, &s, &r), CVM_OK);
    cr_assert_eq(r.write_count, 1);
    cr_assert_eq(r.value.len, 1); /* get read the buffered write */
    cr_assert_eq(r.value.u.bytes[0], 'v');
    vmt_state_apply(&s, &r);
    cr_assert(!vmt_state_equal(&s, &before));
    free(src);
}

Test(traps, abort_returns_code_and_no_writes) {
    char *src = module_src("traps");
    vmt_load(src);
    vmt_state s, before;
    seed_state(&s);
    before = s;
    cvm_result r;
    cvm_value a = cvm_int(7);
    cr_assert_eq(vmt_call("put_then_abort", &a, 1, 100000, &s, &r), CVM_ABORTED);
    cr_assert_eq(r.abort_code, 7);
    cr_assert_eq(r.write_count, 0);
    vmt_state_apply(&s, &r);
    cr_assert(vmt_state_equal(&s, &before));
    free(src);
}

Test(traps, type_error_names_function_and_pc) {
    char *src = module_src("traps");
    vmt_load(src);
    cvm_result r;
    cr_assert_eq(vmt_call("type_error", NULL, 0, 1000, NULL, &r), CVM_ERR_TRAP_TYPE);
    cr_assert_eq(r.error.func, 4);
    cr_assert_eq(r.error.pc, 1);
    cr_assert(strstr(r.error.message, "type_error") != NULL, "%s", r.error.message);
    cvm_value a[2] = {cvm_int(1), cvm_int(40)};
    cr_assert_eq(vmt_call("args", a, 2, 1000, NULL, &r), CVM_ERR_TRAP_ARG);
    cr_assert_eq(r.error.pc, 3);
    free(src);
}

Test(limits, call_depth) {
    char *src = module_src("calls");
    vmt_load(src);
    cvm_result r;
    cvm_value n = cvm_int(64);
    cr_assert_eq(vmt_call("deep", &n, 1, 1000000, NULL, &r), CVM_OK);
    n = cvm_int(65);
    cr_assert_eq(vmt_call("deep", &n, 1, 1000000, NULL, &r), CVM_ERR_CALL_DEPTH);
    cr_assert_eq(r.error.func, 1);
    cr_assert_eq(r.error.pc, 2);
    free(src);
}

static cvm_status run_with(const cvm_limits *l, const char *src, const char *method,
                           const cvm_value *args, uint32_t nargs, cvm_result *r) {
    static cvm_vm *vm; /* kept (reachable) so results stay valid until the next run */
    static cvm_module *m;
    vmt_load(src);
    cvm_vm_free(vm);
    cvm_module_free(m), m = NULL;
    vm = cvm_vm_new(l);
    cr_assert(vm != NULL);
    size_t n;
    const uint8_t *b = vmt_last_bytes(&n);
    cr_assert_eq(cvm_module_load(b, n, &m, NULL), CVM_OK);
    vmt_state s;
    memset(&s, 0, sizeof s);
    cvm_host h = vmt_host(&s);
    cvm_env e = vmt_env();
    return cvm_call(vm, m, method, args, nargs, &h, &e, 10000000, r);
}

Test(limits, call_depth_custom_and_stack) {
    char *src = module_src("calls");
    cvm_limits l = cvm_limits_default();
    l.call_depth = 4;
    cvm_result r;
    cvm_value n = cvm_int(4);
    cr_assert_eq(run_with(&l, src, "deep", &n, 1, &r), CVM_OK);
    n = cvm_int(5);
    cr_assert_eq(run_with(&l, src, "deep", &n, 1, &r), CVM_ERR_CALL_DEPTH);
    free(src);
    const char *wide = ".func w 1 200 export\njz r0, out\naddi r1, r0, -1\ncall r1, w, 1\nret r1\nout:\nret r0\n";
    l = cvm_limits_default();
    l.stack_regs = 500;
    n = cvm_int(1);
    cr_assert_eq(run_with(&l, wide, "w", &n, 1, &r), CVM_OK);
    n = cvm_int(2);
    cr_assert_eq(run_with(&l, wide, "w", &n, 1, &r), CVM_ERR_STACK_OVERFLOW);
    cr_assert_null(cvm_vm_new(&(cvm_limits){0, 0, 0, 0, 0}));
}

Test(limits, arena) {
    const char *grow = ".bytes X \"0123456789abcdef\"\n.func g 1 3 export\nloads r1, X\n"
                       "l:\nconcat r1, r1, r1\naddi r0, r0, -1\njnz r0, l\nlen r2, r1\nret r2\n";
    cvm_limits l = cvm_limits_default();
    l.arena_bytes = 1024;
    cvm_result r;
    cvm_value n = cvm_int(5); /* 32 + 64 + 128 + 256 + 512 = 992 bytes */
    cr_assert_eq(run_with(&l, grow, "g", &n, 1, &r), CVM_OK, "%s", r.error.message);
    cr_assert_eq(r.value.u.i, 512);
    n = cvm_int(6);
    cr_assert_eq(run_with(&l, grow, "g", &n, 1, &r), CVM_ERR_ARENA_FULL);
    cr_assert_eq(r.error.pc, 1);
}

Test(limits, writes_and_events) {
    const char *w = ".func w 1 4 export\nl:\nitob r1, r0\nmove r2, r1\nhost r3, put, r1\n"
                    "host r3, emit, r1\naddi r0, r0, -1\njnz r0, l\nret r0\n";
    cvm_limits l = cvm_limits_default();
    l.writes_max = 3, l.events_max = 10;
    cvm_result r;
    cvm_value n = cvm_int(3);
    cr_assert_eq(run_with(&l, w, "w", &n, 1, &r), CVM_OK);
    cr_assert_eq(r.write_count, 3);
    cr_assert_eq(r.event_count, 3);
    n = cvm_int(4);
    cr_assert_eq(run_with(&l, w, "w", &n, 1, &r), CVM_ERR_WRITES_FULL);
    l.writes_max = 10, l.events_max = 2;
    n = cvm_int(3);
    cr_assert_eq(run_with(&l, w, "w", &n, 1, &r), CVM_ERR_EVENTS_FULL);
}

Test(host, consent_flow) {
    char *src = module_src("consent");
    vmt_load(src);
    vmt_state s;
    memset(&s, 0, sizeof s);
    cvm_result r;
    cvm_value alice = cvm_bytes("alice", 5);
    cvm_value chk[2] = {alice, cvm_int(3)};
    cr_assert_eq(vmt_call("check", chk, 2, 100000, &s, &r), CVM_OK);
    cr_assert_eq(r.value.u.i, 0);
    cvm_value g[3] = {alice, cvm_int(3), cvm_int(1800000000000)};
    cr_assert_eq(vmt_call("grant", g, 3, 100000, &s, &r), CVM_OK);
    cr_assert_eq(r.value.u.i, 8);
    cr_assert_eq(r.write_count, 1);
    cr_assert_eq(r.event_count, 1);
    cr_assert_eq(r.writes[0].key_len, 13);
    cr_assert(memcmp(r.writes[0].key, "consent:alice", 13) == 0);
    vmt_state_apply(&s, &r);
    cr_assert_eq(vmt_call("check", chk, 2, 100000, &s, &r), CVM_OK);
    cr_assert_eq(r.value.u.i, 1);
    chk[1] = cvm_int(4);
    cr_assert_eq(vmt_call("check", chk, 2, 100000, &s, &r), CVM_OK);
    cr_assert_eq(r.value.u.i, 0);
    /* expired consent */
    cvm_value g2[3] = {cvm_bytes("bob", 3), cvm_int(1), cvm_int(1600000000000)};
    cr_assert_eq(vmt_call("grant", g2, 3, 100000, &s, &r), CVM_OK);
    vmt_state_apply(&s, &r);
    cvm_value chk2[2] = {cvm_bytes("bob", 3), cvm_int(1)};
    cr_assert_eq(vmt_call("check", chk2, 2, 100000, &s, &r), CVM_OK);
    cr_assert_eq(r.value.u.i, 0);
    /* withdraw */
    chk[1] = cvm_int(3);
    cr_assert_eq(vmt_call("withdraw", chk, 2, 100000, &s, &r), CVM_OK);
    cr_assert_eq(r.value.u.i, 0);
    vmt_state_apply(&s, &r);
    cr_assert_eq(vmt_call("check", chk, 2, 100000, &s, &r), CVM_OK);
    cr_assert_eq(r.value.u.i, 0);
    cvm_value nobody[2] = {cvm_bytes("carol", 5), cvm_int(1)};
    cr_assert_eq(vmt_call("withdraw", nobody, 2, 100000, &s, &r), CVM_ABORTED);
    cr_assert_eq(r.abort_code, 2);
    cr_assert_eq(vmt_call("forget", &alice, 1, 100000, &s, &r), CVM_OK);
    cr_assert_eq(r.write_count, 1);
    cr_assert(r.writes[0].is_delete);
    free(src);
}

Test(host, identity_and_cosigners) {
    char *src = module_src("host");
    vmt_load(src);
    cvm_result r;
    cr_assert_eq(vmt_call("identity", NULL, 0, 100000, NULL, &r), CVM_OK);
    cr_assert_eq(r.value.len, 40);
    uint8_t pre[64], want[32];
    memset(pre, 0x11, 32), memset(pre + 32, 0xab, 32);
    vmt_sha256(pre, 64, want);
    cr_assert(memcmp(r.value.u.bytes, want, 32) == 0);
    cr_assert_eq(r.value.u.bytes[38], (3042 >> 8) & 0xff);
    cr_assert_eq(r.value.u.bytes[39], 3042 & 0xff);
    cvm_value i = cvm_int(1);
    cr_assert_eq(vmt_call("cosign", &i, 1, 100000, NULL, &r), CVM_OK);
    cr_assert_eq(r.value.u.i, 2000000 + 0x33 * 10000 + 500 + 3);
    i = cvm_int(2);
    cr_assert_eq(vmt_call("cosign", &i, 1, 100000, NULL, &r), CVM_ERR_TRAP_RANGE);
    cr_assert_eq(vmt_call("clock", NULL, 0, 100000, NULL, &r), CVM_OK);
    cr_assert_eq(r.value.u.i, 1700000000000);
    free(src);
}

Test(host, sha256_reference) {
    uint8_t d[32];
    vmt_sha256((const uint8_t *)"abc", 3, d);
    cr_assert_eq(d[0], 0xba);
    cr_assert_eq(d[1], 0x78);
    cr_assert_eq(d[31], 0xad);
}

Test(host, keys_merges_the_write_buffer) {
    char *src = module_src("host");
    vmt_load(src);
    vmt_state s;
    seed_state(&s); /* p/a p/c q/x; the tx puts p/b and deletes p/a */
    cvm_result r;
    cvm_value n = cvm_int(10);
    cr_assert_eq(vmt_call("list", &n, 1, 100000, &s, &r), CVM_OK);
    cr_assert_eq(r.value.len, 10);
    cr_assert(memcmp(r.value.u.bytes, "\0\3p/b\0\3p/c", 10) == 0);
    n = cvm_int(1);
    cr_assert_eq(vmt_call("list", &n, 1, 100000, &s, &r), CVM_OK);
    cr_assert_eq(r.value.len, 5);
    n = cvm_int(0);
    cr_assert_eq(vmt_call("list", &n, 1, 100000, &s, &r), CVM_OK);
    cr_assert_eq(r.value.len, 0);
    n = cvm_int(-1);
    cr_assert_eq(vmt_call("list", &n, 1, 100000, &s, &r), CVM_ERR_TRAP_RANGE);
    free(src);
}

Test(host, failures) {
    char *src = module_src("consent");
    vmt_load(src);
    vmt_state s;
    memset(&s, 0, sizeof s);
    s.fail_get = 1;
    cvm_result r;
    cvm_value chk[2] = {cvm_bytes("alice", 5), cvm_int(3)};
    cr_assert_eq(vmt_call("check", chk, 2, 100000, &s, &r), CVM_ERR_HOST_FAILED);
    /* a NULL host table: state calls fail, the rest works */
    cvm_vm *vm = cvm_vm_new(NULL);
    size_t n;
    const uint8_t *b = vmt_last_bytes(&n);
    cvm_module *m = NULL;
    cr_assert_eq(cvm_module_load(b, n, &m, NULL), CVM_OK);
    cr_assert_eq(cvm_call(vm, m, "check", chk, 2, NULL, NULL, 100000, &r), CVM_ERR_HOST_FAILED);
    const char *big = ".func k 1 3 export\nhost r1, get, r0\nret r1\n";
    vmt_load(big);
    uint8_t key[CVM_KEY_LEN_MAX + 1];
    memset(key, 'k', sizeof key);
    cvm_value arg = cvm_bytes(key, sizeof key);
    cr_assert_eq(vmt_call("k", &arg, 1, 100000, NULL, &r), CVM_ERR_TRAP_KEY);
    arg = cvm_bytes(key, 0);
    cr_assert_eq(vmt_call("k", &arg, 1, 100000, NULL, &r), CVM_ERR_TRAP_KEY);
    arg = cvm_int(3);
    cr_assert_eq(vmt_call("k", &arg, 1, 100000, NULL, &r), CVM_ERR_TRAP_TYPE);
    cvm_module_free(m);
    cvm_vm_free(vm);
    free(src);
}

Test(api, call_errors) {
    char *src = module_src("consent");
    vmt_load(src);
    cvm_result r;
    cr_assert_eq(vmt_call("nope", NULL, 0, 1000, NULL, &r), CVM_ERR_NO_SUCH_METHOD);
    cr_assert_eq(vmt_call("key_for", NULL, 0, 1000, NULL, &r), CVM_ERR_NO_SUCH_METHOD);
    cr_assert_eq(vmt_call("check", NULL, 0, 1000, NULL, &r), CVM_ERR_BAD_ARGS);
    cvm_value bad = {{0}, 4, 9};
    cvm_value two[2] = {bad, cvm_int(1)};
    cr_assert_eq(vmt_call("check", two, 2, 1000, NULL, &r), CVM_ERR_INVALID_ARGUMENT);
    cr_assert_str_eq(cvm_strerror(CVM_ERR_OUT_OF_GAS), "out of gas");
    cr_assert_str_eq(cvm_strerror((cvm_status)999), "unknown status");
    free(src);
}

Test(gas, host_calls_charge_per_byte) {
    /* put(key, value) costs HOST 10 + put 40 + 1 per key and value byte */
    const char *src = ".func p 2 4 export\nmove r2, r0\nmove r3, r1\nhost r2, put, r2\nret r2\n";
    vmt_load(src);
    cvm_result r;
    cvm_value a[2] = {cvm_bytes("k", 1), cvm_bytes("12345678", 8)};
    cr_assert_eq(vmt_call("p", a, 2, 100000, NULL, &r), CVM_OK);
    uint64_t small = r.gas_used;
    a[1] = cvm_bytes("1234567812345678", 16);
    cr_assert_eq(vmt_call("p", a, 2, 100000, NULL, &r), CVM_OK);
    cr_assert_eq(r.gas_used - small, 8);
    cr_assert_eq(small, 1 + 1 + 10 + 40 + 9 + 1);
}

/* ---- gas schedule 1: gas by bytes, registers and buffer entries touched -------------- */

/* Gas of method(args) of the last loaded module (it must succeed). */
static uint64_t gas_of(const char *method, const cvm_value *args, uint32_t nargs, vmt_state *s) {
    cvm_result r;
    cr_assert_eq(vmt_call(method, args, nargs, 100000000, s, &r), CVM_OK, "%s: %s", method,
                 r.error.message);
    return r.gas_used;
}

Test(gas, comparing_256_kib_costs_more_than_comparing_1_byte) {
    /* eq/ne/bcmp read both operands: + (len B + len C) / 8, + 1 for eq/ne of bytes */
    vmt_load(".func e 2 3 export\n    eq r2, r0, r1\n    ret r2\n"
             ".func n 2 3 export\n    ne r2, r0, r1\n    ret r2\n"
             ".func b 2 3 export\n    bcmp r2, r0, r1\n    ret r2\n");
    const uint32_t big = 256u * 1024u;
    uint8_t *x = malloc(big), *y = malloc(big);
    memset(x, 'k', big), memset(y, 'k', big);
    y[big - 1] = 'j';
    cvm_value large[2] = {cvm_bytes(x, big), cvm_bytes(y, big)};
    cvm_value small[2] = {cvm_bytes(x, 1), cvm_bytes(y, 1)};
    cvm_value ints[2] = {cvm_int(1), cvm_int(1)};
    const char *methods[] = {"e", "n", "b"};
    for (int m = 0; m < 3; m++) {
        uint64_t g_large = gas_of(methods[m], large, 2, NULL), g_small = gas_of(methods[m], small, 2, NULL);
        cr_expect_eq(g_large - g_small, 2u * big / CVM_GAS_BYTES_PER_UNIT,
                     "%s: 2 x 256 KiB cost %llu, 2 x 1 byte %llu", methods[m],
                     (unsigned long long)g_large, (unsigned long long)g_small);
    }
    cr_expect_eq(gas_of("e", small, 2, NULL), gas_of("e", ints, 2, NULL) + CVM_GAS_EQ_BYTES);
    /* lengths that differ are still charged for both (the rule is the operands' sizes) */
    cvm_value uneven[2] = {cvm_bytes(x, big), cvm_bytes(y, 8)};
    cr_expect_eq(gas_of("e", uneven, 2, NULL) - gas_of("e", small, 2, NULL), (big + 8) / 8);
    free(x), free(y);
}

/* fill(n) puts keys "k" .. byte j (j = 0..n-1) and returns; fill_get(n) then gets the
 * last of them (found after scanning all n entries); fill_keys(n) then lists 1 key. */
static const char SCAN_SRC[] =
    ".bytes K \"k\"\n.bytes T x\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\"\n.bytes NONE \"\"\n"
    ".func fill 1 12 export\n    loads r1, K\n    loads r2, T\n    loadi r3, 0\n    addi r4, r0, -1\n"
    "    loadi r9, 1\n    lt r5, r4, r3\n    jnz r5, done\nloop:\n    move r8, r3\n    slice r6, r2, r8\n"
    "    concat r10, r1, r6\n    move r11, r6\n    host r7, put, r10\n    forloop r3, loop\ndone:\n"
    "    ret r10\n"
    ".func fill_get 1 4 export\n    call r0, fill, 1\n    host r1, get, r0\n    ret r1\n"
    ".func fill_keys 1 6 export\n    call r0, fill, 1\n    loads r1, K\n    loads r2, NONE\n"
    "    loadi r3, 1\n    host r4, keys, r1\n    ret r4\n";

Test(gas, a_write_buffer_scan_is_charged_per_entry) {
    /* get of the n-th buffered key scans n entries of its length: n x (1 + 2/8) = n gas
     * more than the scan of 1 entry; keys() merges the buffer: per entry 1 + (1 + 2 x 2)/8 */
    vmt_load(SCAN_SRC);
    vmt_state s;
    memset(&s, 0, sizeof s);
    cvm_value one = cvm_int(1), many = cvm_int(64);
    uint64_t get1 = gas_of("fill_get", &one, 1, &s) - gas_of("fill", &one, 1, &s);
    uint64_t get64 = gas_of("fill_get", &many, 1, &s) - gas_of("fill", &many, 1, &s);
    cr_expect_eq(get64 - get1, 63u * CVM_GAS_SCAN_ENTRY,
                 "a get that scans 64 buffered entries cost %llu, one that scans 1 cost %llu",
                 (unsigned long long)get64, (unsigned long long)get1);
    uint64_t keys1 = gas_of("fill_keys", &one, 1, &s) - gas_of("fill", &one, 1, &s);
    uint64_t keys64 = gas_of("fill_keys", &many, 1, &s) - gas_of("fill", &many, 1, &s);
    cr_expect_eq(keys64 - keys1, 63u * CVM_GAS_SCAN_ENTRY,
                 "keys() over 64 buffered entries cost %llu, over 1 %llu",
                 (unsigned long long)keys64, (unsigned long long)keys1);
    /* and the puts that fill the buffer pay for their own scans: quadratic in n */
    cvm_value two = cvm_int(2), n63 = cvm_int(63);
    uint64_t fill2 = gas_of("fill", &two, 1, &s) - gas_of("fill", &one, 1, &s);
    uint64_t fill64 = gas_of("fill", &many, 1, &s) - gas_of("fill", &n63, 1, &s);
    cr_expect_eq(fill64 - fill2, 62u * CVM_GAS_SCAN_ENTRY, "the 64th put scans 62 more entries than the 2nd");
}

Test(gas, a_storage_read_and_a_call_setting_up_registers_are_charged) {
    /* get of a key the buffer lacks asks the host (CVM_GAS_STATE_READ); CALL pays for the
     * callee's registers */
    vmt_load(".bytes K \"p/a\"\n.func g 0 2 export\n    loads r0, K\n    host r1, get, r0\n"
             "    ret r1\n.func pg 0 3 export\n    loads r0, K\n    move r1, r0\n"
             "    host r2, put, r0\n    host r1, get, r0\n    ret r1\n"
             ".func big 0 250\n    ret r0\n.func small 0 1\n    ret r0\n"
             ".func cb 0 1 export\n    call r0, big, 0\n    ret r0\n"
             ".func cs 0 1 export\n    call r0, small, 0\n    ret r0\n");
    vmt_state s;
    seed_state(&s);
    /* g: loads 1 + host 10 + get 20 + key 3 + read + value 1 + ret 1 */
    cr_expect_eq(gas_of("g", NULL, 0, &s), 1 + 10 + 20 + 3 + CVM_GAS_STATE_READ + 1 + 1);
    cr_expect_eq(gas_of("cb", NULL, 0, &s) - gas_of("cs", NULL, 0, &s), 250 / 4 - 1 / 4);
}

Test(instruction, sj_field_is_well_defined_at_its_boundaries) {
    static const int32_t values[] = {0, 1, -1, 2, -2, 12345, -12345, 0x7fffff, -0x800000,
                                     0x400000, -0x400000, 0x7ffffe, -0x7fffff};
    for (unsigned op = 0; op < 256; op += 51) {
        for (size_t k = 0; k < sizeof values / sizeof values[0]; k++) {
            uint32_t ins = CVM_MK_SJ(op, values[k]);
            cr_expect_eq(CVM_GET_SJ(ins), values[k], "sJ %d with op %u read back as %d",
                         values[k], op, (int)CVM_GET_SJ(ins));
            cr_expect_eq(CVM_GET_OP(ins), op);
        }
    }
    cr_expect_eq(CVM_GET_SJ(0xffffffffu), -1);
    cr_expect_eq(CVM_GET_SJ(0x800000ffu), -0x800000);
    cr_expect_eq(CVM_GET_SJ(0x7fffff00u), 0x7fffff);
    cr_expect_eq(CVM_GET_SJ(0x000000ffu), 0);
}
