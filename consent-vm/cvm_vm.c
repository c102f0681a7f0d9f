/*
 * cvm_vm.c - the interpreter: vm memory, the dispatch loop, host calls.
 *
 * The dispatch body is written once through vmdispatch/vmcase/vmbreak (Lua 5.4's lvm.c
 * idiom). With __GNUC__ and without CVM_DISPATCH_SWITCH it builds as computed goto, else
 * as a switch. The hot state (pc, register base R, gas left) lives in locals; SAVE_STATE()
 * writes it back before anything that can fail or leave the loop.
 *
 * Memory: everything is allocated in cvm_vm_new; a call only bumps the arena and appends
 * to the fixed write/event arrays, which cvm_call resets.
 */
#include "cvm_internal.h"

#include <string.h>

#if defined(__GNUC__) && !defined(CVM_DISPATCH_SWITCH)
#define CVM_USE_GOTO 1
#else
#define CVM_USE_GOTO 0
#endif

enum {
#define CVM_X_GAS(e, n, f, ka, kb, kc, g, d) CVM_GAS_##e = g,
    CVM_OPCODES(CVM_X_GAS)
#undef CVM_X_GAS
};

typedef struct cvm_frame {
    uint32_t func;
    uint32_t ret_pc;
    uint32_t base;
    uint32_t dest;
} cvm_frame;

struct cvm_vm {
    cvm_limits lim;
    cvm_value *stack;
    cvm_frame *frames;
    uint8_t *arena;
    uint32_t arena_used;
    cvm_write *writes;
    uint32_t write_count;
    cvm_event *events;
    uint32_t event_count;
    uint8_t scratch[CVM_KEY_LEN_MAX];
    /* per call */
    const cvm_module *module;
    const cvm_value *args;
    uint32_t nargs;
    const cvm_host *host;
    const cvm_env *env;
    int64_t gas;
    int64_t abort_code;
    cvm_value ret;
};

cvm_limits cvm_limits_default(void) {
    cvm_limits l = {256u * 1024u, 4096u, 64u, 256u, 64u};
    return l;
}

cvm_vm *cvm_vm_new(const cvm_limits *limits) {
    cvm_limits l = limits ? *limits : cvm_limits_default();
    if (l.arena_bytes == 0 || l.stack_regs < CVM_REGS_MAX || l.call_depth == 0 ||
        l.writes_max == 0 || l.events_max == 0 || l.arena_bytes > CVM_LIMIT_ARENA_BYTES_MAX ||
        l.call_depth > CVM_LIMIT_CALL_DEPTH_MAX || l.writes_max > CVM_LIMIT_WRITES_MAX ||
        l.events_max > CVM_LIMIT_EVENTS_MAX)
        return NULL;
    cvm_vm *vm = calloc(1, sizeof *vm);
    if (vm == NULL) return NULL;
    vm->lim = l;
    vm->stack = calloc(l.stack_regs, sizeof *vm->stack);
    vm->frames = calloc(l.call_depth, sizeof *vm->frames);
    vm->arena = malloc(l.arena_bytes);
    vm->writes = calloc(l.writes_max, sizeof *vm->writes);
    vm->events = calloc(l.events_max, sizeof *vm->events);
    if (!vm->stack || !vm->frames || !vm->arena || !vm->writes || !vm->events) {
        cvm_vm_free(vm);
        return NULL;
    }
    return vm;
}

void cvm_vm_free(cvm_vm *vm) {
    if (vm == NULL) return;
    free(vm->stack);
    free(vm->frames);
    free(vm->arena);
    free(vm->writes);
    free(vm->events);
    free(vm);
}

/* ---- small helpers -------------------------------------------------------------------- */

static uint8_t *arena_alloc(cvm_vm *vm, uint32_t n) {
    if (n > vm->lim.arena_bytes - vm->arena_used) return NULL;
    uint8_t *p = vm->arena + vm->arena_used;
    vm->arena_used += n;
    return p;
}

static int bytes_cmp(const cvm_value *a, const cvm_value *b) {
    uint32_t n = a->len < b->len ? a->len : b->len;
    int c = n > 0 ? memcmp(a->u.bytes, b->u.bytes, n) : 0;
    if (c != 0) return c < 0 ? -1 : 1;
    return a->len < b->len ? -1 : (a->len > b->len ? 1 : 0);
}

static int value_eq(const cvm_value *a, const cvm_value *b) {
    if (a->type != b->type) return 0;
    if (a->type == CVM_INT) return a->u.i == b->u.i;
    return a->len == b->len && bytes_cmp(a, b) == 0;
}

#if defined(__GNUC__)
#define ADD_OV(a, b, r) __builtin_add_overflow(a, b, r)
#define SUB_OV(a, b, r) __builtin_sub_overflow(a, b, r)
#define MUL_OV(a, b, r) __builtin_mul_overflow(a, b, r)
#else
/* Portable fallbacks, deliberately simple. */
static int ADD_OV(int64_t a, int64_t b, int64_t *r) {
    if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b)) return 1;
    *r = a + b;
    return 0;
}
static int SUB_OV(int64_t a, int64_t b, int64_t *r) {
    if ((b < 0 && a > INT64_MAX + b) || (b > 0 && a < INT64_MIN + b)) return 1;
    *r = a - b;
    return 0;
}
static int MUL_OV(int64_t a, int64_t b, int64_t *r) {
    if (a == 0 || b == 0) return (*r = 0), 0;
    if ((a == -1 && b == INT64_MIN) || (b == -1 && a == INT64_MIN)) return 1;
    int64_t p = a * 1; /* check through division before multiplying */
    if ((a > 0 && b > 0 && a > INT64_MAX / b) || (a < 0 && b < 0 && a < INT64_MAX / b) ||
        (a > 0 && b < 0 && b < INT64_MIN / a) || (a < 0 && b > 0 && a < INT64_MIN / b))
        return 1;
    *r = p * b;
    return 0;
}
#endif

/* Division helpers: return a status so the loop stays short. */
static cvm_status int_div(int64_t a, int64_t b, int64_t *r) {
    if (b == 0) return CVM_ERR_TRAP_DIV_ZERO;
    if (a == INT64_MIN && b == -1) return CVM_ERR_TRAP_OVERFLOW;
    *r = a / b;
    return CVM_OK;
}
static cvm_status int_mod(int64_t a, int64_t b, int64_t *r) {
    if (b == 0) return CVM_ERR_TRAP_DIV_ZERO;
    *r = b == -1 ? 0 : a % b;
    return CVM_OK;
}

static cvm_status bytes_slice(const cvm_value *s, const cvm_value *start, const cvm_value *n,
                              cvm_value *out) {
    if (s->type != CVM_BYTES || start->type != CVM_INT || n->type != CVM_INT)
        return CVM_ERR_TRAP_TYPE;
    int64_t st = start->u.i, len = n->u.i;
    if (st < 0 || len < 0 || st > (int64_t)s->len || len > (int64_t)s->len - st)
        return CVM_ERR_TRAP_RANGE;
    *out = cvm_bytes(len > 0 ? s->u.bytes + st : s->u.bytes, (uint32_t)len);
    return CVM_OK;
}

static int64_t btoi(const cvm_value *v) {
    uint64_t u = 0;
    for (uint32_t k = 0; k < v->len; k++) u = u << 8 | v->u.bytes[k];
    if (u <= (uint64_t)INT64_MAX) return (int64_t)u;
    return -(int64_t)(~u) - 1; /* two's complement without implementation-defined casts */
}

/* ---- host calls ------------------------------------------------------------------------ */

static int charge(int64_t *gas, uint64_t amount) {
    if (amount > (uint64_t)INT64_MAX) amount = (uint64_t)INT64_MAX;
    *gas -= (int64_t)amount;
    return *gas >= 0;
}

static cvm_status check_key(const cvm_value *k) {
    if (k->type != CVM_BYTES) return CVM_ERR_TRAP_TYPE;
    if (k->len == 0 || k->len > CVM_KEY_LEN_MAX) return CVM_ERR_TRAP_KEY;
    return CVM_OK;
}

/* The buffered write of key, or NULL. Charges the scan (gas schedule 1): per entry
 * scanned CVM_GAS_SCAN_ENTRY, plus len / CVM_GAS_BYTES_PER_UNIT for each entry whose key
 * has that length (its bytes are compared). *gas may go negative: the caller checks. */
static cvm_write *find_write(cvm_vm *vm, const uint8_t *key, uint32_t len, int64_t *gas) {
    uint64_t cost = 0;
    cvm_write *found = NULL;
    for (uint32_t i = 0; i < vm->write_count && found == NULL; i++) {
        cvm_write *w = &vm->writes[i];
        cost += CVM_GAS_SCAN_ENTRY;
        if (w->key_len != len) continue;
        cost += len / CVM_GAS_BYTES_PER_UNIT;
        if (memcmp(w->key, key, len) == 0) found = w;
    }
    charge(gas, cost);
    return found;
}

static cvm_status host_get(cvm_vm *vm, const cvm_value *key, cvm_value *out, int64_t *gas) {
    cvm_status st = check_key(key);
    if (st != CVM_OK) return st;
    const cvm_write *w = find_write(vm, key->u.bytes, key->len, gas);
    if (*gas < 0) return CVM_ERR_OUT_OF_GAS;
    if (w != NULL) {
        *out = w->is_delete ? cvm_int(0) : cvm_bytes(w->value, w->value_len);
        return charge(gas, w->value_len) ? CVM_OK : CVM_ERR_OUT_OF_GAS;
    }
    if (vm->host == NULL || vm->host->state_get == NULL) return CVM_ERR_HOST_FAILED;
    if (!charge(gas, CVM_GAS_STATE_READ)) return CVM_ERR_OUT_OF_GAS; /* a storage read */
    size_t cap = vm->lim.arena_bytes - vm->arena_used, len = 0;
    int found = 0;
    if (vm->host->state_get(vm->host->ctx, key->u.bytes, key->len, vm->arena + vm->arena_used,
                            cap, &len, &found) != 0)
        return CVM_ERR_HOST_FAILED;
    if (!found) return (*out = cvm_int(0)), CVM_OK;
    if (!charge(gas, len)) return CVM_ERR_OUT_OF_GAS;
    if (len > cap) return CVM_ERR_ARENA_FULL;
    *out = cvm_bytes(arena_alloc(vm, (uint32_t)len), (uint32_t)len);
    return CVM_OK;
}

static cvm_status host_write(cvm_vm *vm, const cvm_value *key, const cvm_value *val,
                             int64_t *gas) {
    cvm_status st = check_key(key);
    if (st != CVM_OK) return st;
    if (val != NULL && val->type != CVM_BYTES) return CVM_ERR_TRAP_TYPE;
    cvm_write *w = find_write(vm, key->u.bytes, key->len, gas);
    if (*gas < 0) return CVM_ERR_OUT_OF_GAS;
    if (w == NULL) {
        if (vm->write_count == vm->lim.writes_max) return CVM_ERR_WRITES_FULL;
        w = &vm->writes[vm->write_count++];
        w->key = key->u.bytes;
        w->key_len = key->len;
    }
    w->is_delete = val == NULL;
    w->value = val ? val->u.bytes : NULL;
    w->value_len = val ? val->len : 0;
    return CVM_OK;
}

static int has_prefix(const uint8_t *k, size_t klen, const cvm_value *prefix) {
    return klen >= prefix->len && (prefix->len == 0 || memcmp(k, prefix->u.bytes, prefix->len) == 0);
}

static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
    cvm_value va = cvm_bytes(a, (uint32_t)alen), vb = cvm_bytes(b, (uint32_t)blen);
    return bytes_cmp(&va, &vb);
}

/* Next committed key > after with prefix that the write buffer has not deleted; into
 * vm->scratch. Returns its length, 0 if none, or -status. */
static int64_t next_committed(cvm_vm *vm, const cvm_value *prefix, const uint8_t *after,
                              size_t after_len, int64_t *gas) {
    for (uint32_t guard = 0; guard <= vm->lim.writes_max; guard++) {
        size_t len = 0;
        int found = 0;
        if (!charge(gas, CVM_GAS_STATE_READ)) return -(int64_t)CVM_ERR_OUT_OF_GAS; /* a seek */
        if (vm->host->state_next(vm->host->ctx, prefix->u.bytes, prefix->len, after, after_len,
                                 vm->scratch, sizeof vm->scratch, &len, &found) != 0)
            return -(int64_t)CVM_ERR_HOST_FAILED;
        if (!found) return 0;
        if (len == 0 || len > sizeof vm->scratch || !has_prefix(vm->scratch, len, prefix) ||
            (after_len > 0 && key_cmp(vm->scratch, len, after, after_len) <= 0))
            return -(int64_t)CVM_ERR_HOST_FAILED; /* the host broke its contract */
        if (!charge(gas, CVM_GAS_PER_KEY + len)) return -(int64_t)CVM_ERR_OUT_OF_GAS;
        const cvm_write *w = find_write(vm, vm->scratch, (uint32_t)len, gas);
        if (*gas < 0) return -(int64_t)CVM_ERR_OUT_OF_GAS;
        if (w == NULL || !w->is_delete) return (int64_t)len;
        after = w->key; /* deleted in this tx: skip it (bounded by the write count) */
        after_len = w->key_len;
    }
    return -(int64_t)CVM_ERR_HOST_FAILED;
}

/* Smallest buffered put key > after with prefix, or NULL. Charges the scan (gas schedule
 * 1): per entry CVM_GAS_SCAN_ENTRY + (prefix length + 2 x its key length) / unit, the
 * bytes its prefix test and two comparisons may read. *gas may go negative. */
static const cvm_write *next_buffered(const cvm_vm *vm, const cvm_value *prefix,
                                      const uint8_t *after, size_t after_len, int64_t *gas) {
    const cvm_write *best = NULL;
    uint64_t cost = 0;
    for (uint32_t i = 0; i < vm->write_count; i++) {
        const cvm_write *w = &vm->writes[i];
        cost += CVM_GAS_SCAN_ENTRY + (prefix->len + 2u * w->key_len) / CVM_GAS_BYTES_PER_UNIT;
        if (w->is_delete || !has_prefix(w->key, w->key_len, prefix)) continue;
        if (after_len > 0 && key_cmp(w->key, w->key_len, after, after_len) <= 0) continue;
        if (best == NULL || key_cmp(w->key, w->key_len, best->key, best->key_len) < 0) best = w;
    }
    charge(gas, cost);
    return best;
}

static cvm_status host_keys(cvm_vm *vm, const cvm_value *a, cvm_value *out, int64_t *gas) {
    const cvm_value *prefix = &a[0], *after0 = &a[1], *max = &a[2];
    if (prefix->type != CVM_BYTES || after0->type != CVM_BYTES || max->type != CVM_INT)
        return CVM_ERR_TRAP_TYPE;
    if (prefix->len > CVM_KEY_LEN_MAX || after0->len > CVM_KEY_LEN_MAX) return CVM_ERR_TRAP_KEY;
    if (max->u.i < 0) return CVM_ERR_TRAP_RANGE;
    if (vm->host == NULL || vm->host->state_next == NULL) return CVM_ERR_HOST_FAILED;
    uint64_t n = (uint64_t)max->u.i < CVM_ITER_KEYS_MAX ? (uint64_t)max->u.i : CVM_ITER_KEYS_MAX;
    uint8_t *start = vm->arena + vm->arena_used;
    const uint8_t *after = after0->u.bytes;
    size_t after_len = after0->len;
    for (uint64_t count = 0; count < n; count++) {
        int64_t hl = next_committed(vm, prefix, after, after_len, gas);
        if (hl < 0) return (cvm_status)-hl;
        const cvm_write *bw = next_buffered(vm, prefix, after, after_len, gas);
        if (*gas < 0) return CVM_ERR_OUT_OF_GAS;
        const uint8_t *k = vm->scratch;
        size_t klen = (size_t)hl;
        if (bw != NULL && (hl == 0 || key_cmp(bw->key, bw->key_len, k, klen) < 0)) {
            k = bw->key, klen = bw->key_len; /* a buffered key: visited here, charged here */
            if (!charge(gas, CVM_GAS_PER_KEY + klen)) return CVM_ERR_OUT_OF_GAS;
        } else if (hl == 0) {
            break;
        }
        uint8_t *p = arena_alloc(vm, (uint32_t)(2 + klen));
        if (p == NULL) return CVM_ERR_ARENA_FULL;
        p[0] = (uint8_t)(klen >> 8), p[1] = (uint8_t)klen;
        memcpy(p + 2, k, klen);
        after = p + 2, after_len = klen;
    }
    *out = cvm_bytes(start, (uint32_t)(vm->arena + vm->arena_used - start));
    return CVM_OK;
}

static cvm_status host_key32(cvm_vm *vm, const uint8_t src[32], cvm_value *out) {
    uint8_t *p = arena_alloc(vm, 32);
    if (p == NULL) return CVM_ERR_ARENA_FULL;
    memcpy(p, src, 32);
    *out = cvm_bytes(p, 32);
    return CVM_OK;
}

static cvm_status host_cosigner(cvm_vm *vm, unsigned fn, const cvm_value *idx, cvm_value *out) {
    if (idx->type != CVM_INT) return CVM_ERR_TRAP_TYPE;
    if (idx->u.i < 0 || idx->u.i >= (int64_t)vm->env->cosigner_count) return CVM_ERR_TRAP_RANGE;
    const cvm_cosigner *c = &vm->env->cosigners[idx->u.i];
    if (fn == CVM_HOST_COSIGNER_KEY) return host_key32(vm, c->key, out);
    *out = cvm_int(fn == CVM_HOST_COSIGNER_ROLE ? c->role : c->meaning);
    return CVM_OK;
}

static cvm_status host_sha256(cvm_vm *vm, const cvm_value *data, cvm_value *out) {
    if (data->type != CVM_BYTES) return CVM_ERR_TRAP_TYPE;
    if (vm->host == NULL || vm->host->sha256 == NULL) return CVM_ERR_HOST_FAILED;
    uint8_t *p = arena_alloc(vm, 32);
    if (p == NULL) return CVM_ERR_ARENA_FULL;
    if (vm->host->sha256(vm->host->ctx, data->u.bytes, data->len, p) != 0)
        return CVM_ERR_HOST_FAILED;
    *out = cvm_bytes(p, 32);
    return CVM_OK;
}

static cvm_status host_emit(cvm_vm *vm, const cvm_value *a) {
    if (a[0].type != CVM_BYTES || a[1].type != CVM_BYTES) return CVM_ERR_TRAP_TYPE;
    if (vm->event_count == vm->lim.events_max) return CVM_ERR_EVENTS_FULL;
    cvm_event *e = &vm->events[vm->event_count++];
    e->topic = a[0].u.bytes, e->topic_len = a[0].len;
    e->data = a[1].u.bytes, e->data_len = a[1].len;
    return CVM_OK;
}

/* Bytes an argument list touches, for the per-byte gas. */
static uint64_t arg_bytes(const cvm_value *a, unsigned n) {
    uint64_t total = 0;
    for (unsigned k = 0; k < n; k++)
        if (a[k].type == CVM_BYTES) total += a[k].len;
    return total;
}

/* Runs host function fn with its args; the HOST base gas is already charged. */
static cvm_status host_call(cvm_vm *vm, unsigned fn, const cvm_value *a, cvm_value *out,
                            int64_t *gas) {
    CVM_ASSERT(fn < CVM_HOST_COUNT);
    const cvm_hostinfo *hi = &cvm_hostinfo_table[fn];
    if (!charge(gas, hi->gas + hi->gas_per_byte * arg_bytes(a, hi->arity)))
        return CVM_ERR_OUT_OF_GAS;
    const cvm_env *env = vm->env;
    *out = cvm_int(0);
    switch (fn) {
    case CVM_HOST_GET: return host_get(vm, &a[0], out, gas);
    case CVM_HOST_PUT: return host_write(vm, &a[0], &a[1], gas);
    case CVM_HOST_DEL: return host_write(vm, &a[0], NULL, gas);
    case CVM_HOST_KEYS: return host_keys(vm, a, out, gas);
    case CVM_HOST_CALLER: return host_key32(vm, env->caller, out);
    case CVM_HOST_ROLE: *out = cvm_int(env->caller_role); return CVM_OK;
    case CVM_HOST_COSIGNERS: *out = cvm_int(env->cosigner_count); return CVM_OK;
    case CVM_HOST_COSIGNER_KEY:
    case CVM_HOST_COSIGNER_ROLE:
    case CVM_HOST_COSIGNER_MEANING: return host_cosigner(vm, fn, &a[0], out);
    case CVM_HOST_HEIGHT: *out = cvm_int(env->block_height); return CVM_OK;
    case CVM_HOST_TIME: *out = cvm_int(env->block_time_ms); return CVM_OK;
    case CVM_HOST_TXID: return host_key32(vm, env->tx_id, out);
    case CVM_HOST_SHA256: return host_sha256(vm, &a[0], out);
    case CVM_HOST_EMIT: return host_emit(vm, a);
    default: CVM_ASSERT(!"unreachable host function"); return CVM_ERR_BAD_HOST_FN;
    }
}

/* ---- byte-string opcodes that allocate -------------------------------------------------- */

static cvm_status op_concat(cvm_vm *vm, const cvm_value *b, const cvm_value *c, cvm_value *out,
                            int64_t *gas) {
    if (b->type != CVM_BYTES || c->type != CVM_BYTES) return CVM_ERR_TRAP_TYPE;
    uint64_t n = (uint64_t)b->len + c->len;
    if (!charge(gas, n / CVM_GAS_BYTES_PER_UNIT)) return CVM_ERR_OUT_OF_GAS;
    if (n > UINT32_MAX) return CVM_ERR_ARENA_FULL;
    uint8_t *p = arena_alloc(vm, (uint32_t)n);
    if (p == NULL) return CVM_ERR_ARENA_FULL;
    if (b->len) memcpy(p, b->u.bytes, b->len);
    if (c->len) memcpy(p + b->len, c->u.bytes, c->len);
    *out = cvm_bytes(p, (uint32_t)n);
    return CVM_OK;
}

static cvm_status op_itob(cvm_vm *vm, const cvm_value *b, cvm_value *out, int64_t *gas) {
    if (b->type != CVM_INT) return CVM_ERR_TRAP_TYPE;
    if (!charge(gas, 8 / CVM_GAS_BYTES_PER_UNIT)) return CVM_ERR_OUT_OF_GAS;
    uint8_t *p = arena_alloc(vm, 8);
    if (p == NULL) return CVM_ERR_ARENA_FULL;
    uint64_t u = (uint64_t)b->u.i;
    for (int k = 7; k >= 0; k--, u >>= 8) p[k] = (uint8_t)u;
    *out = cvm_bytes(p, 8);
    return CVM_OK;
}

/* ---- the dispatch loop ----------------------------------------------------------------- */

#if CVM_USE_GOTO
#define vmdispatch(o) goto *disptab[o];
#define vmcase(l) L_##l:
#define vmbreak                                                                              \
    VM_FETCH();                                                                              \
    goto *disptab[CVM_GET_OP(i)]
#else
#define vmdispatch(o) switch (o)
#define vmcase(l) case CVM_OP_##l:
#define vmbreak break
#endif

#define VM_FETCH() (i = *pc++)
#define CHARGE(op)                                                                           \
    if (CVM_UNLIKELY((gas -= CVM_GAS_##op) < 0)) goto out_of_gas
/* Gas schedule 1's charge for the bytes a comparison reads: both operands' lengths. */
#define CHARGE_BYTES(b, c, extra)                                                            \
    if (CVM_UNLIKELY((gas -= (int64_t)(extra) +                                              \
                             (int64_t)(((uint64_t)(b).len + (c).len) / CVM_GAS_BYTES_PER_UNIT)) < 0)) \
    goto out_of_gas
#define TRAP(code)                                                                           \
    do {                                                                                     \
        status = (code);                                                                     \
        goto trap;                                                                           \
    } while (0)
#define RA (R[CVM_GET_A(i)])
#define RB (R[CVM_GET_B(i)])
#define RC (R[CVM_GET_C(i)])
#define SETI(v, x) ((v).u.i = (x), (v).len = 0, (v).type = CVM_INT)
/* R[A] re-decoded from the instruction in memory: used after a function call so that `i`
 * need not survive the call (which made GCC keep it on the stack on every path). */
#define RA_AFTER_CALL (R[CVM_GET_A(pc[-1])])

/* R[A] = R[B] op cval with overflow check; ctype is the type of the right operand. */
#define ARITH(OVF, cval, ctype)                                                              \
    do {                                                                                     \
        const cvm_value *b_ = &RB;                                                           \
        int64_t r_;                                                                          \
        if (CVM_UNLIKELY((b_->type | (ctype)) != CVM_INT)) TRAP(CVM_ERR_TRAP_TYPE);          \
        if (CVM_UNLIKELY(OVF(b_->u.i, (int64_t)(cval), &r_))) TRAP(CVM_ERR_TRAP_OVERFLOW);   \
        SETI(RA, r_);                                                                        \
    } while (0)
/* R[A] = fn(R[B], cval) for division-like ops that return a status. */
#define DIVLIKE(fn, cval, ctype)                                                             \
    do {                                                                                     \
        const cvm_value *b_ = &RB;                                                           \
        int64_t r_ = 0;                                                                      \
        if (CVM_UNLIKELY((b_->type | (ctype)) != CVM_INT)) TRAP(CVM_ERR_TRAP_TYPE);          \
        cvm_status s_ = fn(b_->u.i, (cval), &r_);                                            \
        if (CVM_UNLIKELY(s_ != CVM_OK)) TRAP(s_);                                            \
        SETI(RA, r_);                                                                        \
    } while (0)
/* R[A] = expr over x_ = R[B], y_ = R[C], both ints. */
#define INTOP(expr)                                                                          \
    do {                                                                                     \
        const cvm_value *b_ = &RB, *c_ = &RC;                                                \
        if (CVM_UNLIKELY((b_->type | c_->type) != CVM_INT)) TRAP(CVM_ERR_TRAP_TYPE);         \
        int64_t x_ = b_->u.i, y_ = c_->u.i;                                                  \
        SETI(RA, (expr));                                                                    \
    } while (0)
/* Calls a helper returning a status, with gas written back around it. */
#define HELPER(call)                                                                         \
    do {                                                                                     \
        int64_t g_ = gas;                                                                    \
        cvm_value t_;                                                                        \
        status = (call);                                                                     \
        gas = g_;                                                                            \
        if (CVM_UNLIKELY(status != CVM_OK)) goto trap;                                       \
        RA_AFTER_CALL = t_;                                                                           \
    } while (0)

/*
 * Runs function fidx (registers already set up at vm->stack) until its RET. This function
 * is longer than the house limit on purpose: one short body per opcode reads best in one
 * place, as in Lua's luaV_execute.
 */
static cvm_status run(cvm_vm *vm, uint32_t fidx, cvm_error *err) {
#if CVM_USE_GOTO
    static const void *const disptab[CVM_OP_COUNT] = {
#define CVM_X_LABEL(e, n, f, ka, kb, kc, g, d) &&L_##e,
        CVM_OPCODES(CVM_X_LABEL)
#undef CVM_X_LABEL
    };
#endif
    const cvm_module *m = vm->module;
    const int64_t *k = m->kint;
    const cvm_func *f = &m->funcs[fidx];
    const uint32_t *code = m->code + f->code_start;
    const uint32_t *pc = code;
    cvm_value *R = vm->stack;
    int64_t gas = vm->gas;
    uint32_t depth = 0;
    cvm_status status = CVM_OK;
    uint32_t i;
    for (;;) {
        VM_FETCH();
        vmdispatch(CVM_GET_OP(i)) {
            vmcase(NOP) { CHARGE(NOP); vmbreak; }
            vmcase(MOVE) { CHARGE(MOVE); RA = RB; vmbreak; }
            vmcase(LOADI) { CHARGE(LOADI); SETI(RA, CVM_GET_SBX(i)); vmbreak; }
            vmcase(LOADK) { CHARGE(LOADK); SETI(RA, k[CVM_GET_BX(i)]); vmbreak; }
            vmcase(LOADS) { CHARGE(LOADS); RA = m->kbyt[CVM_GET_BX(i)]; vmbreak; }
            vmcase(ADD) { CHARGE(ADD); ARITH(ADD_OV, RC.u.i, RC.type); vmbreak; }
            vmcase(SUB) { CHARGE(SUB); ARITH(SUB_OV, RC.u.i, RC.type); vmbreak; }
            vmcase(MUL) { CHARGE(MUL); ARITH(MUL_OV, RC.u.i, RC.type); vmbreak; }
            vmcase(DIV) { CHARGE(DIV); DIVLIKE(int_div, RC.u.i, RC.type); vmbreak; }
            vmcase(MOD) { CHARGE(MOD); DIVLIKE(int_mod, RC.u.i, RC.type); vmbreak; }
            vmcase(ADDI) { CHARGE(ADDI); ARITH(ADD_OV, CVM_GET_SC(i), CVM_INT); vmbreak; }
            vmcase(ADDK) { CHARGE(ADDK); ARITH(ADD_OV, k[CVM_GET_C(i)], CVM_INT); vmbreak; }
            vmcase(SUBK) { CHARGE(SUBK); ARITH(SUB_OV, k[CVM_GET_C(i)], CVM_INT); vmbreak; }
            vmcase(MULK) { CHARGE(MULK); ARITH(MUL_OV, k[CVM_GET_C(i)], CVM_INT); vmbreak; }
            vmcase(DIVK) { CHARGE(DIVK); DIVLIKE(int_div, k[CVM_GET_C(i)], CVM_INT); vmbreak; }
            vmcase(MODK) { CHARGE(MODK); DIVLIKE(int_mod, k[CVM_GET_C(i)], CVM_INT); vmbreak; }
            vmcase(NEG) {
                CHARGE(NEG);
                int64_t r_;
                if (CVM_UNLIKELY(RB.type != CVM_INT)) TRAP(CVM_ERR_TRAP_TYPE);
                if (CVM_UNLIKELY(SUB_OV((int64_t)0, RB.u.i, &r_))) TRAP(CVM_ERR_TRAP_OVERFLOW);
                SETI(RA, r_);
                vmbreak;
            }
            vmcase(BAND) { CHARGE(BAND); INTOP(x_ & y_); vmbreak; }
            vmcase(BOR) { CHARGE(BOR); INTOP(x_ | y_); vmbreak; }
            vmcase(BXOR) { CHARGE(BXOR); INTOP(x_ ^ y_); vmbreak; }
            vmcase(BNOT) {
                CHARGE(BNOT);
                if (RB.type != CVM_INT) TRAP(CVM_ERR_TRAP_TYPE);
                SETI(RA, ~RB.u.i);
                vmbreak;
            }
            vmcase(SHL) {
                CHARGE(SHL);
                if ((uint64_t)RC.u.i > 63 && RC.type == CVM_INT) TRAP(CVM_ERR_TRAP_RANGE);
                INTOP((int64_t)((uint64_t)x_ << y_));
                vmbreak;
            }
            vmcase(SHR) {
                CHARGE(SHR);
                if ((uint64_t)RC.u.i > 63 && RC.type == CVM_INT) TRAP(CVM_ERR_TRAP_RANGE);
                INTOP((int64_t)((uint64_t)x_ >> y_));
                vmbreak;
            }
            vmcase(EQ) {
                CHARGE(EQ);
                if ((RB.type & RC.type) == CVM_BYTES) { CHARGE_BYTES(RB, RC, CVM_GAS_EQ_BYTES); }
                int r_ = value_eq(&RB, &RC);
                SETI(RA_AFTER_CALL, r_);
                vmbreak;
            }
            vmcase(NE) {
                CHARGE(NE);
                if ((RB.type & RC.type) == CVM_BYTES) { CHARGE_BYTES(RB, RC, CVM_GAS_EQ_BYTES); }
                int r_ = !value_eq(&RB, &RC);
                SETI(RA_AFTER_CALL, r_);
                vmbreak;
            }
            vmcase(LT) { CHARGE(LT); INTOP(x_ < y_); vmbreak; }
            vmcase(LE) { CHARGE(LE); INTOP(x_ <= y_); vmbreak; }
            vmcase(JMP) { CHARGE(JMP); pc += CVM_GET_SJ(i); vmbreak; }
            vmcase(JZ) {
                CHARGE(JZ);
                if (CVM_UNLIKELY(RA.type != CVM_INT)) TRAP(CVM_ERR_TRAP_TYPE);
                if (RA.u.i == 0) pc += CVM_GET_SBX(i);
                vmbreak;
            }
            vmcase(JNZ) {
                CHARGE(JNZ);
                if (CVM_UNLIKELY(RA.type != CVM_INT)) TRAP(CVM_ERR_TRAP_TYPE);
                if (RA.u.i != 0) pc += CVM_GET_SBX(i);
                vmbreak;
            }
            vmcase(FORLOOP) {
                CHARGE(FORLOOP);
                cvm_value *a_ = &RA;
                if (CVM_UNLIKELY((a_[0].type | a_[1].type) != CVM_INT)) TRAP(CVM_ERR_TRAP_TYPE);
                if (CVM_UNLIKELY(a_[0].u.i == INT64_MAX)) TRAP(CVM_ERR_TRAP_OVERFLOW);
                a_[0].u.i++;
                if (a_[0].u.i <= a_[1].u.i) pc += CVM_GET_SBX(i);
                vmbreak;
            }
            vmcase(CALL) {
                CHARGE(CALL);
                unsigned callee = CVM_GET_B(i), nargs = CVM_GET_C(i);
                const cvm_func *cf = &m->funcs[callee];
                gas -= cf->nregs / CVM_GAS_REGS_PER_UNIT;
                if (CVM_UNLIKELY(gas < 0)) goto out_of_gas;
                uint32_t base = (uint32_t)(R - vm->stack), nbase = base + f->nregs;
                if (CVM_UNLIKELY(depth == vm->lim.call_depth)) TRAP(CVM_ERR_CALL_DEPTH);
                if (CVM_UNLIKELY(nbase + cf->nregs > vm->lim.stack_regs))
                    TRAP(CVM_ERR_STACK_OVERFLOW);
                cvm_frame *fr = &vm->frames[depth++];
                fr->func = fidx, fr->ret_pc = (uint32_t)(pc - code);
                fr->base = base, fr->dest = CVM_GET_A(i);
                cvm_value *nr = vm->stack + nbase;
                const cvm_value *args_ = &RA;
                for (unsigned r = 0; r < nargs; r++) nr[r] = args_[r];
                for (unsigned r = nargs; r < cf->nregs; r++) nr[r] = cvm_int(0);
                R = nr, fidx = callee, f = cf;
                code = m->code + f->code_start, pc = code;
                vmbreak;
            }
            vmcase(RET) {
                CHARGE(RET);
                cvm_value v_ = RA;
                if (depth == 0) {
                    vm->ret = v_;
                    vm->gas = gas;
                    return CVM_OK;
                }
                const cvm_frame *fr = &vm->frames[--depth];
                fidx = fr->func, f = &m->funcs[fidx];
                code = m->code + f->code_start, pc = code + fr->ret_pc;
                R = vm->stack + fr->base;
                R[fr->dest] = v_;
                vmbreak;
            }
            vmcase(ABORT) {
                CHARGE(ABORT);
                if (RA.type != CVM_INT) TRAP(CVM_ERR_TRAP_TYPE);
                vm->abort_code = RA.u.i;
                TRAP(CVM_ABORTED);
            }
            vmcase(LEN) {
                CHARGE(LEN);
                if (RB.type != CVM_BYTES) TRAP(CVM_ERR_TRAP_TYPE);
                SETI(RA, (int64_t)RB.len);
                vmbreak;
            }
            vmcase(CONCAT) { CHARGE(CONCAT); HELPER(op_concat(vm, &RB, &RC, &t_, &g_)); vmbreak; }
            vmcase(SLICE) {
                CHARGE(SLICE);
                HELPER(bytes_slice(&RB, &RC, &R[CVM_GET_C(i) + 1], &t_));
                vmbreak;
            }
            vmcase(BCMP) {
                CHARGE(BCMP);
                if (RB.type != CVM_BYTES || RC.type != CVM_BYTES) TRAP(CVM_ERR_TRAP_TYPE);
                CHARGE_BYTES(RB, RC, 0);
                int r_ = bytes_cmp(&RB, &RC);
                SETI(RA_AFTER_CALL, r_);
                vmbreak;
            }
            vmcase(BYTEAT) {
                CHARGE(BYTEAT);
                if (RB.type != CVM_BYTES || RC.type != CVM_INT) TRAP(CVM_ERR_TRAP_TYPE);
                if ((uint64_t)RC.u.i >= RB.len) TRAP(CVM_ERR_TRAP_RANGE);
                int64_t r_ = RB.u.bytes[RC.u.i];
                SETI(RA, r_);
                vmbreak;
            }
            vmcase(ITOB) { CHARGE(ITOB); HELPER(op_itob(vm, &RB, &t_, &g_)); vmbreak; }
            vmcase(BTOI) {
                CHARGE(BTOI);
                if (RB.type != CVM_BYTES) TRAP(CVM_ERR_TRAP_TYPE);
                if (RB.len > 8) TRAP(CVM_ERR_TRAP_RANGE);
                int64_t r_ = btoi(&RB);
                SETI(RA, r_);
                vmbreak;
            }
            vmcase(TYPE) { CHARGE(TYPE); int64_t t_ = RB.type; SETI(RA, t_); vmbreak; }
            vmcase(ARG) {
                CHARGE(ARG);
                if (CVM_GET_B(i) >= vm->nargs) TRAP(CVM_ERR_TRAP_ARG);
                RA = vm->args[CVM_GET_B(i)];
                vmbreak;
            }
            vmcase(NARGS) { CHARGE(NARGS); SETI(RA, (int64_t)vm->nargs); vmbreak; }
            vmcase(HOST) {
                CHARGE(HOST);
                HELPER(host_call(vm, CVM_GET_B(i), &RC, &t_, &g_));
                vmbreak;
            }
#if !CVM_USE_GOTO
        default: CVM_ASSERT(!"unverified opcode"); return CVM_ERR_BAD_OPCODE;
#endif
        }
    }
out_of_gas:
    status = CVM_ERR_OUT_OF_GAS;
trap:
    vm->gas = gas;
    {
        uint32_t tpc = (uint32_t)(pc - 1 - code);
        cvm_error_set(err, status, fidx, tpc, "%s in function %u (%s) at pc %u",
                      cvm_strerror(status), fidx, f->name, tpc);
    }
    return status;
}

/* ---- entry ----------------------------------------------------------------------------- */

static cvm_status check_args(const cvm_value *args, uint32_t nargs) {
    if (nargs > CVM_ARGS_MAX) return CVM_ERR_BAD_ARGS;
    for (uint32_t a = 0; a < nargs; a++) {
        if (args[a].type > CVM_BYTES) return CVM_ERR_INVALID_ARGUMENT;
        if (args[a].type == CVM_BYTES && args[a].len > 0 && args[a].u.bytes == NULL)
            return CVM_ERR_INVALID_ARGUMENT;
    }
    return CVM_OK;
}

static cvm_status call_setup(cvm_vm *vm, const cvm_module *module, const char *method,
                             const cvm_value *args, uint32_t nargs, int *fidx, cvm_error *err) {
    cvm_status st = check_args(args, nargs);
    if (st != CVM_OK) return cvm_error_set(err, st, UINT32_MAX, UINT32_MAX, "bad arguments");
    *fidx = cvm_module_find_export(module, method);
    if (*fidx < 0)
        return cvm_error_set(err, CVM_ERR_NO_SUCH_METHOD, UINT32_MAX, UINT32_MAX,
                             "no exported method '%s'", method);
    const cvm_func *f = &module->funcs[*fidx];
    if (f->nparams != nargs)
        return cvm_error_set(err, CVM_ERR_BAD_ARGS, (uint32_t)*fidx, UINT32_MAX,
                             "method '%s' takes %u arguments, got %u", method, f->nparams,
                             nargs);
    CVM_ASSERT(f->nregs <= vm->lim.stack_regs);
    for (uint32_t r = 0; r < f->nregs; r++) vm->stack[r] = r < nargs ? args[r] : cvm_int(0);
    return CVM_OK;
}

cvm_status cvm_call(cvm_vm *vm, const cvm_module *module, const char *method,
                    const cvm_value *args, uint32_t nargs, const cvm_host *host,
                    const cvm_env *env, uint64_t gas_limit, cvm_result *result) {
    static const cvm_env no_env;
    if (result == NULL) return CVM_ERR_INVALID_ARGUMENT;
    memset(result, 0, sizeof *result); /* error.message is "" (no snprintf per call) */
    result->error.func = UINT32_MAX, result->error.pc = UINT32_MAX;
    if (vm == NULL || module == NULL || method == NULL || (nargs > 0 && args == NULL)) {
        result->status = CVM_ERR_INVALID_ARGUMENT;
        return result->status;
    }
    vm->module = module, vm->args = args, vm->nargs = nargs, vm->host = host;
    vm->env = env ? env : &no_env;
    vm->arena_used = 0, vm->write_count = 0, vm->event_count = 0, vm->abort_code = 0;
    int64_t limit = gas_limit > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)gas_limit;
    vm->gas = limit;
    int fidx = -1;
    cvm_status st = call_setup(vm, module, method, args, nargs, &fidx, &result->error);
    if (st == CVM_OK) st = run(vm, (uint32_t)fidx, &result->error);
    result->status = st;
    result->gas_used = (uint64_t)(vm->gas >= 0 ? limit - vm->gas : limit);
    if (st == CVM_OK) {
        result->value = vm->ret;
        result->writes = vm->writes, result->write_count = vm->write_count;
        result->events = vm->events, result->event_count = vm->event_count;
    } else if (st == CVM_ABORTED) {
        result->abort_code = vm->abort_code;
    }
    return st;
}
