/*
 * cvm_disasm.c - the disassembler: verified module bytes to assembly text that
 * cvm_assemble turns back into the same bytes. Constants are named kN / sN after their
 * index, jump targets get labels LN after their pc.
 */
#include "cvm_internal.h"

#include <stdarg.h>
#include <string.h>

typedef struct text {
    char *p;
    size_t len, cap;
    int oom;
} text;

static void put(text *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void put(text *t, const char *fmt, ...) {
    if (t->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = 1;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2 + (size_t)n + 1;
        char *p = realloc(t->p, cap);
        if (p == NULL) {
            t->oom = 1;
            return;
        }
        t->p = p, t->cap = cap;
    }
}

static void put_bytes(text *t, const cvm_value *v) {
    int printable = 1;
    for (uint32_t i = 0; i < v->len; i++)
        if (v->u.bytes[i] < 0x20 || v->u.bytes[i] > 0x7e) printable = 0;
    put(t, printable ? "\"" : "x\"");
    for (uint32_t i = 0; i < v->len; i++) {
        uint8_t c = v->u.bytes[i];
        if (!printable)
            put(t, "%02x", c);
        else if (c == '"' || c == '\\')
            put(t, "\\%c", c);
        else
            put(t, "%c", c);
    }
    put(t, "\"");
}

/* Operand of kind `kind` with field value v at pc. */
static void put_operand(text *t, const cvm_module *m, int kind, int64_t v, uint32_t pc) {
    switch (kind) {
    case CVM_K_REG: put(t, "r%lld", (long long)v); break;
    case CVM_K_KINT: put(t, "k%lld", (long long)v); break;
    case CVM_K_KBYT: put(t, "s%lld", (long long)v); break;
    case CVM_K_JUMP: put(t, "L%lld", (long long)pc + 1 + v); break;
    case CVM_K_FUNC: put(t, "%s", m->funcs[v].name); break;
    case CVM_K_HOST: put(t, "%s", cvm_hostinfo_table[v].name); break;
    default: put(t, "%lld", (long long)v); break;
    }
}

static void fields(const cvm_opinfo *info, uint32_t ins, int64_t v[3]) {
    switch (info->format) {
    case CVM_FMT_ABC:
        v[0] = CVM_GET_A(ins), v[1] = CVM_GET_B(ins);
        v[2] = info->kind[2] == CVM_K_SIMM ? CVM_GET_SC(ins) : (int64_t)CVM_GET_C(ins);
        break;
    case CVM_FMT_ABX: v[0] = CVM_GET_A(ins), v[1] = CVM_GET_BX(ins), v[2] = 0; break;
    case CVM_FMT_ASBX: v[0] = CVM_GET_A(ins), v[1] = CVM_GET_SBX(ins), v[2] = 0; break;
    default: v[0] = CVM_GET_SJ(ins), v[1] = 0, v[2] = 0; break;
    }
}

static int disasm_func(text *t, const cvm_module *m, uint32_t fi) {
    const cvm_func *f = &m->funcs[fi];
    const uint32_t *code = m->code + f->code_start;
    uint8_t *is_target = calloc(f->code_len, 1);
    if (is_target == NULL) return 0;
    for (uint32_t pc = 0; pc < f->code_len; pc++) {
        const cvm_opinfo *info = &cvm_opinfo_table[CVM_GET_OP(code[pc])];
        int64_t v[3];
        fields(info, code[pc], v);
        for (unsigned k = 0; k < 3; k++)
            if (info->kind[k] == CVM_K_JUMP) is_target[pc + 1 + v[k]] = 1; /* verified */
    }
    put(t, "\n.func %s %u %u%s\n", f->name, f->nparams, f->nregs,
        (f->flags & CVM_FUNC_EXPORTED) ? " export" : "");
    for (uint32_t pc = 0; pc < f->code_len; pc++) {
        if (is_target[pc]) put(t, "L%u:\n", pc);
        const cvm_opinfo *info = &cvm_opinfo_table[CVM_GET_OP(code[pc])];
        int64_t v[3];
        fields(info, code[pc], v);
        put(t, "    %s", info->name);
        for (unsigned k = 0, n = 0; k < 3; k++) {
            if (info->kind[k] == CVM_K_NONE) continue;
            if (CVM_GET_OP(code[pc]) == CVM_OP_HOST && k == 2 &&
                cvm_hostinfo_table[v[1]].arity == 0)
                continue; /* "host rA, time": no argument register */
            put(t, n++ ? ", " : " ");
            put_operand(t, m, info->kind[k], v[k], pc);
        }
        put(t, "\n");
    }
    free(is_target);
    return 1;
}

cvm_status cvm_disassemble(const uint8_t *bytes, size_t len, char **out_text, cvm_error *err) {
    if (out_text == NULL)
        return cvm_error_set(err, CVM_ERR_INVALID_ARGUMENT, UINT32_MAX, UINT32_MAX, "NULL");
    *out_text = NULL;
    cvm_module *m = NULL;
    cvm_status st = cvm_module_load(bytes, len, &m, err);
    if (st != CVM_OK) return st;
    text t = {malloc(1024), 0, 1024, 0};
    if (t.p == NULL) t.oom = 1;
    put(&t, "; consent-vm module, version %u: %u int constants, %u byte constants, %u "
            "functions\n", CVM_VERSION, m->n_kint, m->n_kbyt, m->n_func);
    for (uint32_t k = 0; k < m->n_kint; k++) put(&t, ".int k%u %lld\n", k, (long long)m->kint[k]);
    for (uint32_t k = 0; k < m->n_kbyt; k++) {
        put(&t, ".bytes s%u ", k);
        put_bytes(&t, &m->kbyt[k]);
        put(&t, "\n");
    }
    for (uint32_t fi = 0; fi < m->n_func && !t.oom; fi++)
        if (!disasm_func(&t, m, fi)) t.oom = 1;
    cvm_module_free(m);
    if (t.oom) {
        free(t.p);
        return cvm_error_set(err, CVM_ERR_NOMEM, UINT32_MAX, UINT32_MAX, "out of memory");
    }
    *out_text = t.p;
    return CVM_OK;
}
