/*
 * vm_testlib.h - helpers shared by the consent-vm test suites: an in-memory fake host
 * (sorted key/value state, a reference SHA-256), assemble-and-run helpers, and a
 * canonical one-line rendering of a result for the golden file.
 */
#ifndef VM_TESTLIB_H
#define VM_TESTLIB_H

#include "cvm.h"

#include <stddef.h>
#include <stdint.h>

#define VMT_KV_MAX 128
#define VMT_VAL_MAX 1024

typedef struct vmt_kv {
    uint8_t key[CVM_KEY_LEN_MAX];
    uint8_t val[VMT_VAL_MAX];
    size_t key_len, val_len;
} vmt_kv;

typedef struct vmt_state {
    vmt_kv kv[VMT_KV_MAX];
    size_t n;
    int fail_get; /* make state_get fail (host failure path) */
} vmt_state;

void vmt_state_put(vmt_state *s, const void *key, size_t key_len, const void *val, size_t val_len);
void vmt_state_del(vmt_state *s, const void *key, size_t key_len);
/* Applies a successful result's writes in order. */
void vmt_state_apply(vmt_state *s, const cvm_result *r);
int vmt_state_equal(const vmt_state *a, const vmt_state *b);

cvm_host vmt_host(vmt_state *s);
/* A fixed environment: caller 0x11.., role 3, two cosigners, height 42, time 1700000000000. */
cvm_env vmt_env(void);

void vmt_sha256(const uint8_t *data, size_t len, uint8_t out[32]);

/* Reads a whole file (NUL-terminated); NULL on failure. */
char *vmt_read_file(const char *path, size_t *len);

/* Assembles src (cr_assert on failure) and loads it; the module is kept in a global and
 * replaced by the next call. Returns the module. */
cvm_module *vmt_load(const char *src);
/* Bytes of the last vmt_load. */
const uint8_t *vmt_last_bytes(size_t *len);

/* Runs method of the last loaded module on a global vm (default limits) against state s
 * (may be NULL: an empty state) with the fixed env. */
cvm_status vmt_call(const char *method, const cvm_value *args, uint32_t nargs, uint64_t gas,
                    vmt_state *s, cvm_result *r);
/* vmt_load + vmt_call with plenty of gas; asserts OK and an int result. */
int64_t vmt_int(const char *src, const char *method, const cvm_value *args, uint32_t nargs);
/* vmt_load + vmt_call; returns the status. */
cvm_status vmt_status(const char *src, const char *method, const cvm_value *args,
                      uint32_t nargs, cvm_result *r);

/* "status=ok value=int:5 gas=12 writes=[put 6b:76] events=[61:62]" (bytes in hex). */
void vmt_format(const cvm_result *r, char *buf, size_t cap);

#endif
