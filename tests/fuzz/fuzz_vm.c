/*
 * fuzz_vm.c - libFuzzer target for consent-vm: the input is a module; it is loaded and
 * verified, and when it loads, every exported method (at most 8) runs against a small
 * in-memory state with fixed arguments and a gas limit. Any crash, sanitizer report,
 * hang, or broken invariant (writes after a failure, gas above the limit) is a finding.
 * Seed corpus: tests/fuzz/corpus_vm (the assembled test modules).
 */
#include "cvm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_GAS 20000

typedef struct kv {
    const char *key;
    const char *val;
} kv;
static const kv state[] = {{"consent:alice", "\0\0\0\0\0\0\0\x08\0\0\x01\xa3\x18\x5c\x50\x00"},
                           {"p/a", "A"},
                           {"p/c", "C"},
                           {"q/x", "X"}};
#define NSTATE (sizeof state / sizeof state[0])
static size_t vlen(size_t i) { return i == 0 ? 16 : strlen(state[i].val); }

static int kcmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (al < bl ? -1 : al > bl);
}

static int f_get(void *ctx, const uint8_t *key, size_t key_len, uint8_t *out, size_t cap,
                 size_t *len, int *found) {
    (void)ctx;
    *found = 0;
    for (size_t i = 0; i < NSTATE; i++)
        if (kcmp(key, key_len, (const uint8_t *)state[i].key, strlen(state[i].key)) == 0) {
            *found = 1, *len = vlen(i);
            if (*len <= cap) memcpy(out, state[i].val, *len);
        }
    return 0;
}

static int f_next(void *ctx, const uint8_t *prefix, size_t plen, const uint8_t *after,
                  size_t alen, uint8_t *out, size_t cap, size_t *len, int *found) {
    (void)ctx;
    *found = 0;
    for (size_t i = 0; i < NSTATE; i++) { /* state is sorted */
        const uint8_t *k = (const uint8_t *)state[i].key;
        size_t kl = strlen(state[i].key);
        if (kl < plen || (plen && memcmp(k, prefix, plen) != 0)) continue;
        if (alen && kcmp(k, kl, after, alen) <= 0) continue;
        *found = 1, *len = kl;
        if (kl <= cap) memcpy(out, k, kl);
        return 0;
    }
    return 0;
}

static int f_sha(void *ctx, const uint8_t *d, size_t n, uint8_t out[32]) {
    (void)ctx;
    memset(out, 0, 32); /* a stand-in digest: deterministic, mixes every byte */
    for (size_t i = 0; i < n; i++) out[i % 32] = (uint8_t)(out[i % 32] * 31 + d[i]);
    return 0;
}

static cvm_vm *vm;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (vm == NULL) {
        cvm_limits l = cvm_limits_default();
        l.arena_bytes = 16 * 1024;
        vm = cvm_vm_new(&l);
        if (vm == NULL) abort();
    }
    cvm_module *m = NULL;
    cvm_error err;
    if (cvm_module_load(data, size, &m, &err) != CVM_OK) {
        if (m != NULL || err.code == CVM_OK) abort(); /* refusal must be clean and typed */
        return 0;
    }
    cvm_host host = {NULL, f_get, f_next, f_sha};
    cvm_env env;
    memset(&env, 0, sizeof env);
    memset(env.caller, 0x11, 32);
    cvm_cosigner cos = {{0x22}, 4, 2};
    env.cosigners = &cos, env.cosigner_count = 1;
    env.block_height = 7, env.block_time_ms = 1700000000000;
    cvm_value args[CVM_ARGS_MAX];
    for (uint32_t i = 0; i < CVM_ARGS_MAX; i++)
        args[i] = (i % 2) ? cvm_bytes("alice", 5) : cvm_int((int64_t)i + 3);
    uint32_t ran = 0;
    for (uint32_t fi = 0; fi < cvm_module_func_count(m) && ran < 8; fi++) {
        cvm_funcinfo info;
        if (cvm_module_func_info(m, fi, &info) != CVM_OK) abort();
        if (!info.exported || info.nparams > CVM_ARGS_MAX) continue;
        ran++;
        cvm_result r;
        cvm_status st = cvm_call(vm, m, info.name, args, info.nparams, &host, &env, FUZZ_GAS, &r);
        if (st != r.status || r.gas_used > FUZZ_GAS) abort();
        if (st != CVM_OK && (r.write_count != 0 || r.event_count != 0)) abort();
        if (st == CVM_OK && r.value.type > CVM_BYTES) abort();
    }
    /* the disassembler must accept whatever the loader accepted, and round-trip it */
    char *text = NULL;
    if (cvm_disassemble(data, size, &text, NULL) != CVM_OK) abort();
    uint8_t *again = NULL;
    size_t again_len = 0;
    if (cvm_assemble(text, strlen(text), &again, &again_len, &err) != CVM_OK) {
        fprintf(stderr, "reassembly failed: %s\n", err.message);
        abort();
    }
    if (again_len != size || memcmp(again, data, size) != 0) abort();
    free(again);
    free(text);
    cvm_module_free(m);
    return 0;
}
