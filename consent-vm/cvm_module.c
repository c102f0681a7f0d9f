/*
 * cvm_module.c - opcode tables, errors, module loader and verifier.
 *
 * The loader parses the format documented in cvm.h with an end pointer beside every read;
 * the verifier then checks every instruction of every function once, with fixed-size
 * state, so that the interpreter can trust the module.
 */
#include "cvm_internal.h"

#include <stdarg.h>
#include <string.h>

const cvm_opinfo cvm_opinfo_table[CVM_OP_COUNT] = {
#define CVM_X_INFO(e, n, f, ka, kb, kc, g, d) {n, f, {ka, kb, kc}, g, d},
    CVM_OPCODES(CVM_X_INFO)
#undef CVM_X_INFO
};

const cvm_hostinfo cvm_hostinfo_table[CVM_HOST_COUNT] = {
#define CVM_X_INFO(e, n, ar, g, gb) {n, ar, g, gb},
    CVM_HOST_FUNCS(CVM_X_INFO)
#undef CVM_X_INFO
};

static const char *const status_strings[CVM_STATUS_COUNT] = {
#define CVM_X_STR(e, s) s,
    CVM_ERRORS(CVM_X_STR)
#undef CVM_X_STR
};

const char *cvm_strerror(cvm_status status) {
    if ((unsigned)status >= CVM_STATUS_COUNT) return "unknown status";
    return status_strings[status];
}

cvm_status cvm_error_set(cvm_error *err, cvm_status code, uint32_t func, uint32_t pc,
                         const char *fmt, ...) {
    if (err == NULL) return code;
    err->code = code;
    err->func = func;
    err->pc = pc;
    err->line = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}

/* ---- reader with an end pointer ------------------------------------------------------- */
typedef struct reader {
    const uint8_t *p;
    const uint8_t *end;
    const uint8_t *start;
} reader;

static int rd_need(const reader *r, size_t n) { return (size_t)(r->end - r->p) >= n; }
static uint32_t rd_u32(reader *r) {
    uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
                 (uint32_t)r->p[3] << 24;
    r->p += 4;
    return v;
}
static uint64_t rd_u64(reader *r) {
    uint64_t lo = rd_u32(r);
    uint64_t hi = rd_u32(r);
    return lo | hi << 32;
}
static size_t rd_off(const reader *r) { return (size_t)(r->p - r->start); }

#define NOPOS UINT32_MAX

static cvm_status load_header(reader *r, cvm_module *m, cvm_error *err) {
    if (!rd_need(r, CVM_HEADER_SIZE))
        return cvm_error_set(err, CVM_ERR_TRUNCATED, NOPOS, NOPOS, "header needs %u bytes",
                             CVM_HEADER_SIZE);
    if (memcmp(r->p, CVM_MAGIC, 4) != 0)
        return cvm_error_set(err, CVM_ERR_BAD_MAGIC, NOPOS, NOPOS, "bad magic at offset 0");
    r->p += 4;
    unsigned version = (unsigned)r->p[0] | (unsigned)r->p[1] << 8;
    unsigned flags = (unsigned)r->p[2] | (unsigned)r->p[3] << 8;
    r->p += 4;
    if (version != CVM_VERSION)
        return cvm_error_set(err, CVM_ERR_BAD_VERSION, NOPOS, NOPOS,
                             "version %u at offset 4, expected %u", version, CVM_VERSION);
    if (flags != 0)
        return cvm_error_set(err, CVM_ERR_BAD_FLAGS, NOPOS, NOPOS, "flags 0x%x at offset 6",
                             flags);
    m->n_kint = rd_u32(r);
    m->n_kbyt = rd_u32(r);
    m->n_func = rd_u32(r);
    if (m->n_kint > CVM_KINT_MAX)
        return cvm_error_set(err, CVM_ERR_TOO_MANY_KINT, NOPOS, NOPOS,
                             "n_kint %u at offset 8 above %u", m->n_kint, CVM_KINT_MAX);
    if (m->n_kbyt > CVM_KBYT_MAX)
        return cvm_error_set(err, CVM_ERR_TOO_MANY_KBYT, NOPOS, NOPOS,
                             "n_kbyt %u at offset 12 above %u", m->n_kbyt, CVM_KBYT_MAX);
    if (m->n_func == 0 || m->n_func > CVM_FUNC_MAX)
        return cvm_error_set(err, CVM_ERR_BAD_FUNC_COUNT, NOPOS, NOPOS,
                             "n_func %u at offset 16 not in 1..%u", m->n_func, CVM_FUNC_MAX);
    /* Counts are checked against the remaining bytes before anything is allocated. */
    if (!rd_need(r, (size_t)m->n_kint * 8 + (size_t)m->n_kbyt * 4 + (size_t)m->n_func * 8))
        return cvm_error_set(err, CVM_ERR_TRUNCATED, NOPOS, NOPOS,
                             "counts at offset 8 exceed the module size");
    return CVM_OK;
}

static cvm_status load_consts(reader *r, cvm_module *m, cvm_error *err) {
    for (uint32_t i = 0; i < m->n_kint; i++) m->kint[i] = (int64_t)rd_u64(r);
    for (uint32_t i = 0; i < m->n_kbyt; i++) {
        if (!rd_need(r, 4))
            return cvm_error_set(err, CVM_ERR_TRUNCATED, NOPOS, NOPOS,
                                 "byte constant %u length at offset %zu", i, rd_off(r));
        size_t at = rd_off(r);
        uint32_t len = rd_u32(r);
        if (len > CVM_KBYT_LEN_MAX)
            return cvm_error_set(err, CVM_ERR_KBYT_TOO_LONG, NOPOS, NOPOS,
                                 "byte constant %u at offset %zu has length %u", i, at, len);
        if (!rd_need(r, len))
            return cvm_error_set(err, CVM_ERR_TRUNCATED, NOPOS, NOPOS,
                                 "byte constant %u at offset %zu truncated", i, at);
        m->kbyt[i] = cvm_bytes(r->p, len);
        r->p += len;
    }
    return CVM_OK;
}

static int name_char_ok(uint8_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
}

static cvm_status load_func_header(reader *r, cvm_module *m, uint32_t fi, cvm_error *err) {
    cvm_func *f = &m->funcs[fi];
    size_t at = rd_off(r);
    if (!rd_need(r, 8))
        return cvm_error_set(err, CVM_ERR_TRUNCATED, fi, NOPOS,
                             "function %u header at offset %zu", fi, at);
    f->nparams = r->p[0];
    f->nregs = r->p[1];
    f->flags = r->p[2];
    f->name_len = r->p[3];
    r->p += 4;
    f->code_len = rd_u32(r);
    if (f->nregs == 0 || f->nregs > CVM_REGS_MAX || f->nparams > f->nregs)
        return cvm_error_set(err, CVM_ERR_BAD_NREGS, fi, NOPOS,
                             "function %u at offset %zu: nparams %u nregs %u", fi, at,
                             f->nparams, f->nregs);
    if ((f->flags & ~CVM_FUNC_EXPORTED) != 0)
        return cvm_error_set(err, CVM_ERR_BAD_FLAGS, fi, NOPOS,
                             "function %u at offset %zu: flags 0x%x", fi, at + 2, f->flags);
    if (f->code_len == 0 || f->code_len > CVM_FUNC_CODE_MAX)
        return cvm_error_set(err, CVM_ERR_BAD_CODE_LEN, fi, NOPOS,
                             "function %u at offset %zu: code length %u", fi, at + 4,
                             f->code_len);
    if (f->name_len == 0 || f->name_len > CVM_NAME_LEN_MAX)
        return cvm_error_set(err, CVM_ERR_BAD_NAME, fi, NOPOS,
                             "function %u at offset %zu: name length %u", fi, at + 3,
                             f->name_len);
    return CVM_OK;
}

static cvm_status load_func_body(reader *r, cvm_module *m, uint32_t fi, cvm_error *err) {
    cvm_func *f = &m->funcs[fi];
    if (!rd_need(r, f->name_len))
        return cvm_error_set(err, CVM_ERR_TRUNCATED, fi, NOPOS, "function %u name", fi);
    for (uint32_t i = 0; i < f->name_len; i++) {
        if (!name_char_ok(r->p[i]) || (i == 0 && r->p[0] >= '0' && r->p[0] <= '9'))
            return cvm_error_set(err, CVM_ERR_BAD_NAME, fi, NOPOS,
                                 "function %u: bad name byte 0x%02x at offset %zu", fi,
                                 r->p[i], rd_off(r) + i);
        f->name[i] = (char)r->p[i];
    }
    f->name[f->name_len] = '\0';
    r->p += f->name_len;
    for (uint32_t j = 0; j < fi; j++)
        if (strcmp(m->funcs[j].name, f->name) == 0)
            return cvm_error_set(err, CVM_ERR_DUP_NAME, fi, NOPOS,
                                 "function %u: name '%s' already used by function %u", fi,
                                 f->name, j);
    if (!rd_need(r, (size_t)f->code_len * 4))
        return cvm_error_set(err, CVM_ERR_TRUNCATED, fi, NOPOS,
                             "function %u: code of %u instructions at offset %zu", fi,
                             f->code_len, rd_off(r));
    uint32_t *code = realloc(m->code, ((size_t)m->n_code + f->code_len) * sizeof *code);
    if (code == NULL) return cvm_error_set(err, CVM_ERR_NOMEM, fi, NOPOS, "code");
    m->code = code;
    f->code_start = m->n_code;
    for (uint32_t i = 0; i < f->code_len; i++) m->code[m->n_code++] = rd_u32(r);
    return CVM_OK;
}

static cvm_status load_all(reader *r, cvm_module *m, cvm_error *err) {
    cvm_status st = load_header(r, m, err);
    if (st != CVM_OK) return st;
    m->kint = calloc(m->n_kint + 1u, sizeof *m->kint);
    m->kbyt = calloc(m->n_kbyt + 1u, sizeof *m->kbyt);
    m->funcs = calloc(m->n_func, sizeof *m->funcs);
    if (m->kint == NULL || m->kbyt == NULL || m->funcs == NULL)
        return cvm_error_set(err, CVM_ERR_NOMEM, NOPOS, NOPOS, "module tables");
    if ((st = load_consts(r, m, err)) != CVM_OK) return st;
    for (uint32_t fi = 0; fi < m->n_func; fi++) {
        if ((st = load_func_header(r, m, fi, err)) != CVM_OK) return st;
        if ((st = load_func_body(r, m, fi, err)) != CVM_OK) return st;
    }
    if (r->p != r->end)
        return cvm_error_set(err, CVM_ERR_TRAILING_BYTES, NOPOS, NOPOS,
                             "%zu trailing bytes at offset %zu", (size_t)(r->end - r->p),
                             rd_off(r));
    for (uint32_t fi = 0; fi < m->n_func; fi++)
        if ((st = cvm_verify_func(m, fi, err)) != CVM_OK) return st;
    return CVM_OK;
}

cvm_status cvm_module_load(const uint8_t *bytes, size_t len, cvm_module **out, cvm_error *err) {
    if (out == NULL || (bytes == NULL && len > 0))
        return cvm_error_set(err, CVM_ERR_INVALID_ARGUMENT, NOPOS, NOPOS, "NULL argument");
    *out = NULL;
    if (len > CVM_MODULE_BYTES_MAX)
        return cvm_error_set(err, CVM_ERR_MODULE_TOO_LARGE, NOPOS, NOPOS,
                             "module of %zu bytes above %u", len, CVM_MODULE_BYTES_MAX);
    cvm_module *m = calloc(1, sizeof *m);
    if (m == NULL) return cvm_error_set(err, CVM_ERR_NOMEM, NOPOS, NOPOS, "module");
    m->bytes = malloc(len + 1);
    if (m->bytes == NULL) {
        free(m);
        return cvm_error_set(err, CVM_ERR_NOMEM, NOPOS, NOPOS, "module copy");
    }
    if (len > 0) memcpy(m->bytes, bytes, len);
    m->len = len;
    reader r = {m->bytes, m->bytes + len, m->bytes};
    cvm_status st = load_all(&r, m, err);
    if (st != CVM_OK) {
        cvm_module_free(m);
        return st;
    }
    *out = m;
    return CVM_OK;
}

void cvm_module_free(cvm_module *m) {
    if (m == NULL) return;
    free(m->bytes);
    free(m->kint);
    free(m->kbyt);
    free(m->funcs);
    free(m->code);
    free(m);
}

uint32_t cvm_module_func_count(const cvm_module *m) { return m->n_func; }

const cvm_func *cvm_module_func(const cvm_module *m, uint32_t fi) {
    CVM_ASSERT(fi < m->n_func);
    return &m->funcs[fi];
}

cvm_status cvm_module_func_info(const cvm_module *m, uint32_t index, cvm_funcinfo *out) {
    if (m == NULL || out == NULL || index >= m->n_func) return CVM_ERR_INVALID_ARGUMENT;
    const cvm_func *f = &m->funcs[index];
    out->name = f->name;
    out->nparams = f->nparams;
    out->nregs = f->nregs;
    out->code_len = f->code_len;
    out->exported = (f->flags & CVM_FUNC_EXPORTED) != 0;
    return CVM_OK;
}

int cvm_module_find_export(const cvm_module *m, const char *name) {
    for (uint32_t i = 0; i < m->n_func; i++)
        if ((m->funcs[i].flags & CVM_FUNC_EXPORTED) && strcmp(m->funcs[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* ---- verifier ------------------------------------------------------------------------- */

/* Checks one operand field of kind `kind` holding `v` (signed for SIMM/JUMP). */
static cvm_status verify_operand(const cvm_module *m, const cvm_func *f, uint32_t fi,
                                 uint32_t pc, unsigned field, int kind, int64_t v,
                                 cvm_error *err) {
    static const char fields[] = "ABC";
    switch (kind) {
    case CVM_K_NONE:
        if (v != 0)
            return cvm_error_set(err, CVM_ERR_BAD_OPERAND, fi, pc,
                                 "function %u pc %u: field %c must be 0", fi, pc, fields[field]);
        return CVM_OK;
    case CVM_K_REG:
        if (v >= f->nregs)
            return cvm_error_set(err, CVM_ERR_BAD_REGISTER, fi, pc,
                                 "function %u pc %u: register r%lld >= nregs %u", fi, pc,
                                 (long long)v, f->nregs);
        return CVM_OK;
    case CVM_K_KINT:
        if (v >= m->n_kint)
            return cvm_error_set(err, CVM_ERR_BAD_KINT, fi, pc,
                                 "function %u pc %u: int constant %lld of %u", fi, pc,
                                 (long long)v, m->n_kint);
        return CVM_OK;
    case CVM_K_KBYT:
        if (v >= m->n_kbyt)
            return cvm_error_set(err, CVM_ERR_BAD_KBYT, fi, pc,
                                 "function %u pc %u: byte constant %lld of %u", fi, pc,
                                 (long long)v, m->n_kbyt);
        return CVM_OK;
    case CVM_K_JUMP:
        if ((int64_t)pc + 1 + v < 0 || (int64_t)pc + 1 + v >= f->code_len)
            return cvm_error_set(err, CVM_ERR_BAD_JUMP, fi, pc,
                                 "function %u pc %u: jump offset %lld leaves 0..%u", fi, pc,
                                 (long long)v, f->code_len - 1);
        return CVM_OK;
    case CVM_K_FUNC:
        if (v >= m->n_func)
            return cvm_error_set(err, CVM_ERR_BAD_FUNC, fi, pc,
                                 "function %u pc %u: call to function %lld of %u", fi, pc,
                                 (long long)v, m->n_func);
        return CVM_OK;
    case CVM_K_HOST:
        if (v >= CVM_HOST_COUNT)
            return cvm_error_set(err, CVM_ERR_BAD_HOST_FN, fi, pc,
                                 "function %u pc %u: host function %lld", fi, pc, (long long)v);
        return CVM_OK;
    default: /* IMM, SIMM: any value of the field is valid */
        return CVM_OK;
    }
}

/* Checks that register ranges used by multi-register opcodes fit in the frame. */
static cvm_status verify_ranges(const cvm_module *m, const cvm_func *f, uint32_t fi,
                                uint32_t pc, uint32_t ins, cvm_error *err) {
    unsigned op = CVM_GET_OP(ins), a = CVM_GET_A(ins), b = CVM_GET_B(ins), c = CVM_GET_C(ins);
    unsigned last = 0; /* highest register touched beyond the single-field checks */
    switch (op) {
    case CVM_OP_FORLOOP: last = a + 1; break;
    case CVM_OP_SLICE: last = c + 1; break;
    case CVM_OP_CALL:
        if (c != m->funcs[b].nparams)
            return cvm_error_set(err, CVM_ERR_BAD_CALL_ARGS, fi, pc,
                                 "function %u pc %u: call passes %u args, %s takes %u", fi, pc,
                                 c, m->funcs[b].name, m->funcs[b].nparams);
        last = c > 0 ? a + c - 1 : a;
        break;
    case CVM_OP_HOST: {
        unsigned arity = cvm_hostinfo_table[b].arity;
        if (arity == 0 && c != 0)
            return cvm_error_set(err, CVM_ERR_BAD_OPERAND, fi, pc,
                                 "function %u pc %u: host %s takes no args, C must be 0", fi,
                                 pc, cvm_hostinfo_table[b].name);
        last = arity > 0 ? c + arity - 1 : 0;
        break;
    }
    default: return CVM_OK;
    }
    if (last >= f->nregs)
        return cvm_error_set(err, CVM_ERR_BAD_REGISTER, fi, pc,
                             "function %u pc %u: %s uses r%u >= nregs %u", fi, pc,
                             cvm_opinfo_table[op].name, last, f->nregs);
    return CVM_OK;
}

static cvm_status verify_ins(const cvm_module *m, const cvm_func *f, uint32_t fi, uint32_t pc,
                             uint32_t ins, cvm_error *err) {
    unsigned op = CVM_GET_OP(ins);
    if (op >= CVM_OP_COUNT)
        return cvm_error_set(err, CVM_ERR_BAD_OPCODE, fi, pc,
                             "function %u pc %u: opcode %u", fi, pc, op);
    const cvm_opinfo *info = &cvm_opinfo_table[op];
    int64_t v[3];
    switch (info->format) {
    case CVM_FMT_ABC:
        v[0] = CVM_GET_A(ins);
        v[1] = CVM_GET_B(ins);
        v[2] = info->kind[2] == CVM_K_SIMM ? CVM_GET_SC(ins) : (int64_t)CVM_GET_C(ins);
        break;
    case CVM_FMT_ABX: v[0] = CVM_GET_A(ins), v[1] = CVM_GET_BX(ins), v[2] = 0; break;
    case CVM_FMT_ASBX: v[0] = CVM_GET_A(ins), v[1] = CVM_GET_SBX(ins), v[2] = 0; break;
    default: v[0] = CVM_GET_SJ(ins), v[1] = 0, v[2] = 0; break;
    }
    for (unsigned k = 0; k < 3; k++) {
        cvm_status st = verify_operand(m, f, fi, pc, k, info->kind[k], v[k], err);
        if (st != CVM_OK) return st;
    }
    return verify_ranges(m, f, fi, pc, ins, err);
}

cvm_status cvm_verify_func(const cvm_module *m, uint32_t fi, cvm_error *err) {
    CVM_ASSERT(fi < m->n_func);
    const cvm_func *f = &m->funcs[fi];
    const uint32_t *code = m->code + f->code_start;
    for (uint32_t pc = 0; pc < f->code_len; pc++) {
        cvm_status st = verify_ins(m, f, fi, pc, code[pc], err);
        if (st != CVM_OK) return st;
    }
    unsigned last = CVM_GET_OP(code[f->code_len - 1]);
    if (last != CVM_OP_RET && last != CVM_OP_ABORT && last != CVM_OP_JMP)
        return cvm_error_set(err, CVM_ERR_BAD_FUNC_END, fi, f->code_len - 1,
                             "function %u pc %u: last instruction is %s", fi,
                             f->code_len - 1, cvm_opinfo_table[last].name);
    return CVM_OK;
}
