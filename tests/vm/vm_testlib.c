/* vm_testlib.c - see vm_testlib.h. */
#include "vm_testlib.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reference SHA-256 (FIPS 180-4), deliberately plain ---------------------------------- */
static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(uint32_t h[8], const uint8_t *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void vmt_sha256(const uint8_t *data, size_t len, uint8_t out[32]) {
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    size_t i = 0;
    for (; i + 64 <= len; i += 64) sha_block(h, data + i);
    uint8_t tail[128] = {0};
    size_t rest = len - i;
    if (rest) memcpy(tail, data + i, rest);
    tail[rest] = 0x80;
    size_t tl = rest + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int k = 0; k < 8; k++) tail[tl - 1 - k] = (uint8_t)(bits >> (8 * k));
    sha_block(h, tail);
    if (tl == 128) sha_block(h, tail + 64);
    for (int k = 0; k < 8; k++)
        out[4 * k] = (uint8_t)(h[k] >> 24), out[4 * k + 1] = (uint8_t)(h[k] >> 16),
        out[4 * k + 2] = (uint8_t)(h[k] >> 8), out[4 * k + 3] = (uint8_t)h[k];
}

/* ---- fake state ---------------------------------------------------------------------- */
static int kcmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;
    if (c) return c;
    return al < bl ? -1 : al > bl;
}

/* Index of the first entry >= key. */
static size_t lower_bound(const vmt_state *s, const uint8_t *key, size_t len) {
    size_t i = 0;
    while (i < s->n && kcmp(s->kv[i].key, s->kv[i].key_len, key, len) < 0) i++;
    return i;
}

void vmt_state_put(vmt_state *s, const void *key, size_t key_len, const void *val, size_t val_len) {
    cr_assert(key_len <= CVM_KEY_LEN_MAX && val_len <= VMT_VAL_MAX);
    size_t i = lower_bound(s, key, key_len);
    if (i == s->n || kcmp(s->kv[i].key, s->kv[i].key_len, key, key_len) != 0) {
        cr_assert(s->n < VMT_KV_MAX);
        memmove(&s->kv[i + 1], &s->kv[i], (s->n - i) * sizeof s->kv[0]);
        s->n++;
        memcpy(s->kv[i].key, key, key_len);
        s->kv[i].key_len = key_len;
    }
    if (val_len) memcpy(s->kv[i].val, val, val_len);
    s->kv[i].val_len = val_len;
}

void vmt_state_del(vmt_state *s, const void *key, size_t key_len) {
    size_t i = lower_bound(s, key, key_len);
    if (i == s->n || kcmp(s->kv[i].key, s->kv[i].key_len, key, key_len) != 0) return;
    memmove(&s->kv[i], &s->kv[i + 1], (s->n - i - 1) * sizeof s->kv[0]);
    s->n--;
}

void vmt_state_apply(vmt_state *s, const cvm_result *r) {
    for (uint32_t w = 0; w < r->write_count; w++) {
        const cvm_write *wr = &r->writes[w];
        if (wr->is_delete)
            vmt_state_del(s, wr->key, wr->key_len);
        else
            vmt_state_put(s, wr->key, wr->key_len, wr->value, wr->value_len);
    }
}

int vmt_state_equal(const vmt_state *a, const vmt_state *b) {
    if (a->n != b->n) return 0;
    for (size_t i = 0; i < a->n; i++)
        if (kcmp(a->kv[i].key, a->kv[i].key_len, b->kv[i].key, b->kv[i].key_len) ||
            kcmp(a->kv[i].val, a->kv[i].val_len, b->kv[i].val, b->kv[i].val_len))
            return 0;
    return 1;
}

static int fake_get(void *ctx, const uint8_t *key, size_t key_len, uint8_t *out, size_t cap,
                    size_t *len, int *found) {
    vmt_state *s = ctx;
    if (s->fail_get) return -1;
    size_t i = lower_bound(s, key, key_len);
    *found = i < s->n && kcmp(s->kv[i].key, s->kv[i].key_len, key, key_len) == 0;
    if (!*found) return 0;
    *len = s->kv[i].val_len;
    if (*len <= cap && *len) memcpy(out, s->kv[i].val, *len);
    return 0;
}

static int fake_next(void *ctx, const uint8_t *prefix, size_t plen, const uint8_t *after,
                     size_t alen, uint8_t *out, size_t cap, size_t *len, int *found) {
    vmt_state *s = ctx;
    size_t i = alen ? lower_bound(s, after, alen) : lower_bound(s, prefix, plen);
    if (alen && i < s->n && kcmp(s->kv[i].key, s->kv[i].key_len, after, alen) == 0) i++;
    *found = 0;
    if (i >= s->n) return 0;
    const vmt_kv *kv = &s->kv[i];
    if (kv->key_len < plen || (plen && memcmp(kv->key, prefix, plen) != 0)) return 0;
    *found = 1;
    *len = kv->key_len;
    if (*len <= cap) memcpy(out, kv->key, *len);
    return 0;
}

static int fake_sha(void *ctx, const uint8_t *data, size_t len, uint8_t out[32]) {
    (void)ctx;
    vmt_sha256(data, len, out);
    return 0;
}

cvm_host vmt_host(vmt_state *s) {
    cvm_host h = {s, fake_get, fake_next, fake_sha};
    return h;
}

static cvm_cosigner cosigners[2];

cvm_env vmt_env(void) {
    cvm_env e;
    memset(&e, 0, sizeof e);
    memset(e.caller, 0x11, 32);
    e.caller_role = 3;
    memset(cosigners[0].key, 0x22, 32);
    cosigners[0].role = 4, cosigners[0].meaning = 2;
    memset(cosigners[1].key, 0x33, 32);
    cosigners[1].role = 5, cosigners[1].meaning = 3;
    e.cosigners = cosigners;
    e.cosigner_count = 2;
    e.block_height = 42;
    e.block_time_ms = 1700000000000;
    memset(e.tx_id, 0xab, 32);
    return e;
}

char *vmt_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *p = realloc(buf, cap);
            cr_assert(p != NULL);
            buf = p;
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got < 4096) break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

/* ---- assemble and run ----------------------------------------------------------------- */
static cvm_module *g_module;
static uint8_t *g_bytes;
static size_t g_len;
static cvm_vm *g_vm;
static vmt_state g_empty;

cvm_module *vmt_load(const char *src) {
    cvm_error err;
    cvm_module_free(g_module), g_module = NULL;
    free(g_bytes), g_bytes = NULL;
    cvm_status st = cvm_assemble(src, strlen(src), &g_bytes, &g_len, &err);
    cr_assert_eq(st, CVM_OK, "assemble failed: %s (%s)", cvm_strerror(st), err.message);
    st = cvm_module_load(g_bytes, g_len, &g_module, &err);
    cr_assert_eq(st, CVM_OK, "load failed: %s", err.message);
    return g_module;
}

const uint8_t *vmt_last_bytes(size_t *len) {
    *len = g_len;
    return g_bytes;
}

cvm_status vmt_call(const char *method, const cvm_value *args, uint32_t nargs, uint64_t gas,
                    vmt_state *s, cvm_result *r) {
    if (g_vm == NULL) g_vm = cvm_vm_new(NULL);
    cr_assert(g_vm != NULL);
    if (s == NULL) {
        memset(&g_empty, 0, sizeof g_empty);
        s = &g_empty;
    }
    cvm_host h = vmt_host(s);
    cvm_env e = vmt_env();
    return cvm_call(g_vm, g_module, method, args, nargs, &h, &e, gas, r);
}

int64_t vmt_int(const char *src, const char *method, const cvm_value *args, uint32_t nargs) {
    cvm_result r;
    vmt_load(src);
    cvm_status st = vmt_call(method, args, nargs, 1000000, NULL, &r);
    cr_assert_eq(st, CVM_OK, "%s: %s", method, r.error.message);
    cr_assert_eq(r.value.type, CVM_INT, "%s returned bytes", method);
    return r.value.u.i;
}

cvm_status vmt_status(const char *src, const char *method, const cvm_value *args,
                      uint32_t nargs, cvm_result *r) {
    vmt_load(src);
    return vmt_call(method, args, nargs, 1000000, NULL, r);
}

static size_t put_hex(char *buf, size_t cap, size_t at, const uint8_t *p, uint32_t n) {
    for (uint32_t i = 0; i < n && at + 3 < cap; i++) at += (size_t)snprintf(buf + at, cap - at, "%02x", p[i]);
    return at;
}

static size_t put_value(char *buf, size_t cap, size_t at, const cvm_value *v) {
    if (v->type == CVM_INT)
        return at + (size_t)snprintf(buf + at, cap - at, "int:%lld", (long long)v->u.i);
    at += (size_t)snprintf(buf + at, cap - at, "bytes:");
    return put_hex(buf, cap, at, v->u.bytes, v->len);
}

void vmt_format(const cvm_result *r, char *buf, size_t cap) {
    size_t at = 0;
    const char *name = r->status == CVM_OK ? "ok" : r->status == CVM_ABORTED ? "aborted" : cvm_strerror(r->status);
    at += (size_t)snprintf(buf + at, cap - at, "status=%s", name);
    if (r->status == CVM_OK) {
        at += (size_t)snprintf(buf + at, cap - at, " value=");
        at = put_value(buf, cap, at, &r->value);
    } else if (r->status == CVM_ABORTED) {
        at += (size_t)snprintf(buf + at, cap - at, " code=%lld", (long long)r->abort_code);
    } else {
        at += (size_t)snprintf(buf + at, cap - at, " at=%u:%u", r->error.func, r->error.pc);
    }
    at += (size_t)snprintf(buf + at, cap - at, " gas=%llu writes=[", (unsigned long long)r->gas_used);
    for (uint32_t w = 0; w < r->write_count && at < cap - 8; w++) {
        at += (size_t)snprintf(buf + at, cap - at, "%s%s ", w ? " " : "", r->writes[w].is_delete ? "del" : "put");
        at = put_hex(buf, cap, at, r->writes[w].key, r->writes[w].key_len);
        if (!r->writes[w].is_delete) {
            at += (size_t)snprintf(buf + at, cap - at, ":");
            at = put_hex(buf, cap, at, r->writes[w].value, r->writes[w].value_len);
        }
    }
    at += (size_t)snprintf(buf + at, cap - at, "] events=[");
    for (uint32_t e = 0; e < r->event_count && at < cap - 8; e++) {
        at += (size_t)snprintf(buf + at, cap - at, "%s", e ? " " : "");
        at = put_hex(buf, cap, at, r->events[e].topic, r->events[e].topic_len);
        at += (size_t)snprintf(buf + at, cap - at, ":");
        at = put_hex(buf, cap, at, r->events[e].data, r->events[e].data_len);
    }
    if (at < cap - 2) snprintf(buf + at, cap - at, "]");
}
