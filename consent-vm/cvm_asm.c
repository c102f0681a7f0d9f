/*
 * cvm_asm.c - the assembler: text to module bytes (syntax in docs/VM.md "Assembly").
 *
 * Two passes over the source with the same line reader: pass 1 collects constants,
 * functions and labels (with their pc); pass 2 encodes instructions. Operands are parsed
 * according to the opcode table's operand kinds, so the assembler cannot drift from the
 * verifier. The result is loaded (and so verified) before it is returned; a verifier
 * error is reported with the source line of the offending instruction.
 * Deliberately simple: linear name lookups (modules are small; limits bound them).
 */
#include "cvm_internal.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#define NAME_MAX_LEN CVM_NAME_LEN_MAX
#define LINE_MAX_LEN 4096

typedef struct asm_kint {
    char name[NAME_MAX_LEN + 1];
    int64_t value;
} asm_kint;
typedef struct asm_kbyt {
    char name[NAME_MAX_LEN + 1];
    uint8_t *bytes;
    uint32_t len;
} asm_kbyt;
typedef struct asm_func {
    char name[NAME_MAX_LEN + 1];
    unsigned nparams, nregs, exported;
    uint32_t code_start, code_len;
} asm_func;
typedef struct asm_label {
    char name[NAME_MAX_LEN + 1];
    uint32_t func, pc;
} asm_label;

typedef struct assembler {
    asm_kint *kint;
    asm_kbyt *kbyt;
    asm_func funcs[CVM_FUNC_MAX];
    asm_label *labels;
    uint32_t *code;
    uint32_t *code_line;
    char *linebuf;
    uint32_t n_kint, n_kbyt, n_func, n_func_total, n_labels, n_code;
    int pass;
    uint32_t line;
    cvm_error *err;
} assembler;

static cvm_status fail(assembler *as, cvm_status code, const char *fmt, const char *what) {
    cvm_error_set(as->err, code, UINT32_MAX, UINT32_MAX, "line %u: ", as->line);
    if (as->err) {
        size_t n = strlen(as->err->message);
        snprintf(as->err->message + n, sizeof as->err->message - n, fmt, what);
        as->err->line = as->line;
    }
    return code;
}

/* Grows *arr (element size sz) so index n fits; returns 0 on ENOMEM. */
static int grow(void **arr, uint32_t n, size_t sz) {
    if ((n & (n - 1)) != 0 && n != 0) return 1; /* capacity is the next power of two */
    void *p = realloc(*arr, (n == 0 ? 16 : (size_t)n * 2) * sz);
    if (p == NULL) return 0;
    *arr = p;
    return 1;
}

static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\r') p++;
    return p;
}

/* Reads an identifier [A-Za-z_][A-Za-z0-9_]* into out; returns the end or NULL. */
static const char *read_ident(const char *p, char out[NAME_MAX_LEN + 1]) {
    size_t n = 0;
    if (!(isalpha((unsigned char)*p) || *p == '_')) return NULL;
    while (isalnum((unsigned char)p[n]) || p[n] == '_') {
        if (n == NAME_MAX_LEN) return NULL;
        out[n] = p[n];
        n++;
    }
    out[n] = '\0';
    return p + n;
}

static int parse_i64(const char *tok, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(tok, &end, 0);
    if (errno != 0 || end == tok || *skip_ws(end) != '\0') return 0;
    *out = v;
    return 1;
}

/* Index for "k12"/"s3"/"r7"-style tokens; -1 if tok is not of that shape. */
static int64_t prefixed_index(const char *tok, char prefix) {
    if (tok[0] != prefix || !isdigit((unsigned char)tok[1])) return -1;
    int64_t v;
    if (!parse_i64(tok + 1, &v) || (tok[1] == '0' && tok[2] != '\0')) return -1;
    return v;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Parses "text" (escapes \\ \" \n \t \r \0 \xHH) or x"hex" into a malloc'd buffer. */
static cvm_status parse_bytes_literal(assembler *as, const char *p, uint8_t **out,
                                      uint32_t *len) {
    int hex = *p == 'x';
    if (hex) p++;
    if (*p != '"') return fail(as, CVM_ERR_ASM_SYNTAX, "expected a \"string\" or x\"hex\"%s", "");
    p++;
    uint8_t *buf = malloc(strlen(p) + 1);
    if (buf == NULL) return fail(as, CVM_ERR_NOMEM, "out of memory%s", "");
    uint32_t n = 0;
    while (*p != '"') {
        int c;
        if (*p == '\0') goto bad;
        if (hex) {
            int h = hexval(p[0]), l = p[1] ? hexval(p[1]) : -1;
            if (h < 0 || l < 0) goto bad;
            c = h << 4 | l, p += 2;
        } else if (*p == '\\') {
            char e = p[1];
            if (e == 'x') {
                int h = p[2] ? hexval(p[2]) : -1, l = (h >= 0 && p[3]) ? hexval(p[3]) : -1;
                if (h < 0 || l < 0) goto bad;
                c = h << 4 | l, p += 4;
            } else {
                c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == '0' ? 0
                    : (e == '\\' || e == '"') ? e : -1;
                if (c < 0) goto bad;
                p += 2;
            }
        } else {
            c = (unsigned char)*p++;
        }
        buf[n++] = (uint8_t)c;
    }
    if (*skip_ws(p + 1) != '\0') goto bad;
    if (n > CVM_KBYT_LEN_MAX) {
        free(buf);
        return fail(as, CVM_ERR_ASM_LIMIT, "byte constant too long%s", "");
    }
    *out = buf, *len = n;
    return CVM_OK;
bad:
    free(buf);
    return fail(as, CVM_ERR_ASM_SYNTAX, "bad byte-string literal%s", "");
}

static int const_name_taken(const assembler *as, const char *name) {
    for (uint32_t k = 0; k < as->n_kint; k++)
        if (strcmp(as->kint[k].name, name) == 0) return 1;
    for (uint32_t k = 0; k < as->n_kbyt; k++)
        if (strcmp(as->kbyt[k].name, name) == 0) return 1;
    return 0;
}

/* ".int NAME VALUE" / ".bytes NAME LITERAL" (pass 1 only). */
static cvm_status directive_const(assembler *as, const char *p, int is_bytes) {
    char name[NAME_MAX_LEN + 1];
    p = read_ident(skip_ws(p), name);
    if (p == NULL) return fail(as, CVM_ERR_ASM_SYNTAX, "expected a constant name%s", "");
    if (const_name_taken(as, name)) return fail(as, CVM_ERR_ASM_DUPLICATE, "constant '%s' defined twice", name);
    int64_t want = prefixed_index(name, is_bytes ? 's' : 'k');
    uint32_t index = is_bytes ? as->n_kbyt : as->n_kint;
    if (prefixed_index(name, 'r') >= 0 || prefixed_index(name, is_bytes ? 'k' : 's') >= 0 ||
        (want >= 0 && want != index))
        return fail(as, CVM_ERR_ASM_SYNTAX, "constant name '%s' looks like another index", name);
    p = skip_ws(p);
    if (!is_bytes) {
        int64_t v;
        if (!parse_i64(p, &v)) return fail(as, CVM_ERR_ASM_SYNTAX, "bad integer '%s'", p);
        if (as->n_kint == CVM_KINT_MAX) return fail(as, CVM_ERR_ASM_LIMIT, "too many int constants%s", "");
        if (!grow((void **)&as->kint, as->n_kint, sizeof *as->kint)) return CVM_ERR_NOMEM;
        memcpy(as->kint[as->n_kint].name, name, sizeof name);
        as->kint[as->n_kint++].value = v;
        return CVM_OK;
    }
    uint8_t *bytes = NULL;
    uint32_t len = 0;
    cvm_status st = parse_bytes_literal(as, p, &bytes, &len);
    if (st != CVM_OK) return st;
    if (as->n_kbyt == CVM_KBYT_MAX || !grow((void **)&as->kbyt, as->n_kbyt, sizeof *as->kbyt)) {
        free(bytes);
        return fail(as, CVM_ERR_ASM_LIMIT, "too many byte constants%s", "");
    }
    memcpy(as->kbyt[as->n_kbyt].name, name, sizeof name);
    as->kbyt[as->n_kbyt].bytes = bytes;
    as->kbyt[as->n_kbyt++].len = len;
    return CVM_OK;
}

/* ".func NAME NPARAMS NREGS [export]" */
static cvm_status directive_func(assembler *as, const char *p) {
    char name[NAME_MAX_LEN + 1], word[NAME_MAX_LEN + 1];
    long long np, nr;
    int used = 0;
    p = read_ident(skip_ws(p), name);
    if (p == NULL || sscanf(p, " %lld %lld%n", &np, &nr, &used) < 2)
        return fail(as, CVM_ERR_ASM_SYNTAX, ".func needs NAME NPARAMS NREGS [export]%s", "");
    p = skip_ws(p + used);
    int exported = 0;
    if (*p != '\0') {
        const char *q = read_ident(p, word);
        if (q == NULL || strcmp(word, "export") != 0 || *skip_ws(q) != '\0')
            return fail(as, CVM_ERR_ASM_SYNTAX, "unexpected '%s' after .func", p);
        exported = 1;
    }
    if (as->pass == 2) {
        as->n_func++;
        return CVM_OK;
    }
    if (np < 0 || nr < 1 || np > nr || nr > CVM_REGS_MAX)
        return fail(as, CVM_ERR_ASM_RANGE, "bad nparams/nregs for '%s'", name);
    if (as->n_func == CVM_FUNC_MAX) return fail(as, CVM_ERR_ASM_LIMIT, "too many functions%s", "");
    for (uint32_t f = 0; f < as->n_func; f++)
        if (strcmp(as->funcs[f].name, name) == 0)
            return fail(as, CVM_ERR_ASM_DUPLICATE, "function '%s' defined twice", name);
    asm_func *f = &as->funcs[as->n_func++];
    memcpy(f->name, name, sizeof name);
    f->nparams = (unsigned)np, f->nregs = (unsigned)nr, f->exported = (unsigned)exported;
    f->code_start = as->n_code, f->code_len = 0;
    return CVM_OK;
}

static cvm_status add_label(assembler *as, const char *name) {
    if (as->pass == 2) return CVM_OK;
    if (as->n_func == 0) return fail(as, CVM_ERR_ASM_SYNTAX, "label '%s' outside a .func", name);
    uint32_t fi = as->n_func - 1;
    for (uint32_t l = 0; l < as->n_labels; l++)
        if (as->labels[l].func == fi && strcmp(as->labels[l].name, name) == 0)
            return fail(as, CVM_ERR_ASM_DUPLICATE, "label '%s' defined twice", name);
    if (!grow((void **)&as->labels, as->n_labels, sizeof *as->labels)) return CVM_ERR_NOMEM;
    asm_label *l = &as->labels[as->n_labels++];
    memcpy(l->name, name, strlen(name) + 1);
    l->func = fi, l->pc = as->funcs[fi].code_len;
    return CVM_OK;
}

/* Resolves one operand token of the given kind to a value (pass 2). */
static cvm_status operand_value(assembler *as, int kind, const char *tok, uint32_t pc,
                                int64_t *v) {
    int64_t idx;
    switch (kind) {
    case CVM_K_REG:
        if ((*v = prefixed_index(tok, 'r')) < 0 || *v > 255)
            return fail(as, CVM_ERR_ASM_SYNTAX, "expected a register r0..r255, got '%s'", tok);
        return CVM_OK;
    case CVM_K_IMM:
    case CVM_K_SIMM:
        if (!parse_i64(tok, v)) return fail(as, CVM_ERR_ASM_SYNTAX, "expected an integer, got '%s'", tok);
        return CVM_OK;
    case CVM_K_KINT:
    case CVM_K_KBYT: {
        int bytes = kind == CVM_K_KBYT;
        if ((idx = prefixed_index(tok, bytes ? 's' : 'k')) >= 0) return (*v = idx), CVM_OK;
        uint32_t n = bytes ? as->n_kbyt : as->n_kint;
        for (uint32_t k = 0; k < n; k++)
            if (strcmp(bytes ? as->kbyt[k].name : as->kint[k].name, tok) == 0)
                return (*v = k), CVM_OK;
        return fail(as, CVM_ERR_ASM_UNKNOWN, "unknown constant '%s'", tok);
    }
    case CVM_K_JUMP:
        for (uint32_t l = 0; l < as->n_labels; l++)
            if (as->labels[l].func == as->n_func - 1 && strcmp(as->labels[l].name, tok) == 0)
                return (*v = (int64_t)as->labels[l].pc - (int64_t)pc - 1), CVM_OK;
        return fail(as, CVM_ERR_ASM_UNKNOWN, "unknown label '%s'", tok);
    case CVM_K_FUNC:
        for (uint32_t f = 0; f < as->n_func_total; f++)
            if (strcmp(as->funcs[f].name, tok) == 0) return (*v = f), CVM_OK;
        return fail(as, CVM_ERR_ASM_UNKNOWN, "unknown function '%s'", tok);
    case CVM_K_HOST:
        for (uint32_t h = 0; h < CVM_HOST_COUNT; h++)
            if (strcmp(cvm_hostinfo_table[h].name, tok) == 0) return (*v = h), CVM_OK;
        return fail(as, CVM_ERR_ASM_UNKNOWN, "unknown host function '%s'", tok);
    default: CVM_ASSERT(!"operand kind NONE has no token"); return CVM_ERR_ASM_SYNTAX;
    }
}

/* Checks v fits a field of `bits` bits, signed or not. */
static int fits(int64_t v, unsigned bits, int is_signed) {
    if (is_signed) return v >= -((int64_t)1 << (bits - 1)) && v < ((int64_t)1 << (bits - 1));
    return v >= 0 && v < ((int64_t)1 << bits);
}

static cvm_status encode(assembler *as, unsigned op, const int64_t v[3], uint32_t *out) {
    const cvm_opinfo *info = &cvm_opinfo_table[op];
    static const char *const fname[] = {"A", "B", "C"};
    unsigned bits[3] = {8, 8, 8};
    if (info->format == CVM_FMT_ABX || info->format == CVM_FMT_ASBX) bits[1] = 16;
    if (info->format == CVM_FMT_SJ) bits[0] = 24;
    for (unsigned k = 0; k < 3; k++) {
        int sgn = info->kind[k] == CVM_K_SIMM || info->kind[k] == CVM_K_JUMP;
        if (!fits(v[k], bits[k], sgn))
            return fail(as, CVM_ERR_ASM_RANGE, "operand %s out of range for its field", fname[k]);
    }
    switch (info->format) {
    case CVM_FMT_ABC:
        *out = CVM_MK_ABC(op, v[0], (uint8_t)v[1], (uint8_t)(int8_t)v[2]);
        break;
    case CVM_FMT_ABX: *out = CVM_MK_ABX(op, v[0], v[1]); break;
    case CVM_FMT_ASBX: *out = CVM_MK_ASBX(op, v[0], v[1]); break;
    default: *out = CVM_MK_SJ(op, v[0]); break;
    }
    return CVM_OK;
}

/* Splits "a, b, c" into at most 3 trimmed tokens (modifies p). Returns the count or -1. */
static int split_operands(char *p, char *tok[3]) {
    int n = 0;
    p = (char *)skip_ws(p);
    if (*p == '\0') return 0;
    for (;;) {
        if (n == 3) return -1;
        tok[n++] = p;
        char *comma = strchr(p, ',');
        char *end = comma ? comma : p + strlen(p);
        while (end > p && (end[-1] == ' ' || end[-1] == '\t')) end--;
        if (end == p) return -1;
        if (comma == NULL) {
            *end = '\0';
            return n;
        }
        *end = '\0';
        p = (char *)skip_ws(comma + 1);
    }
}

static cvm_status instruction(assembler *as, const char *mnemonic, char *rest) {
    unsigned op = 0;
    while (op < CVM_OP_COUNT && strcmp(cvm_opinfo_table[op].name, mnemonic) != 0) op++;
    if (op == CVM_OP_COUNT) return fail(as, CVM_ERR_ASM_UNKNOWN, "unknown opcode '%s'", mnemonic);
    if (as->n_func == 0) return fail(as, CVM_ERR_ASM_SYNTAX, "instruction '%s' outside a .func", mnemonic);
    asm_func *f = &as->funcs[as->n_func - 1];
    uint32_t pc = as->pass == 1 ? f->code_len : as->n_code - f->code_start;
    if (as->pass == 1) {
        if (f->code_len == CVM_FUNC_CODE_MAX)
            return fail(as, CVM_ERR_ASM_LIMIT, "function '%s' too long", f->name);
        f->code_len++;
        as->n_code++;
        return CVM_OK;
    }
    char *tok[3];
    int ntok = split_operands(rest, tok), want = 0;
    const cvm_opinfo *info = &cvm_opinfo_table[op];
    for (unsigned k = 0; k < 3; k++) want += info->kind[k] != CVM_K_NONE;
    if (op == CVM_OP_HOST && ntok == 2) { /* a host function without arguments: no C */
        int64_t h = 0;
        cvm_status hs = operand_value(as, CVM_K_HOST, tok[1], pc, &h);
        if (hs != CVM_OK) return hs;
        if (cvm_hostinfo_table[h].arity == 0) want = 2;
        else return fail(as, CVM_ERR_ASM_SYNTAX, "host %s needs its first argument register", tok[1]);
    }
    if (ntok != want)
        return fail(as, CVM_ERR_ASM_SYNTAX, "'%s' takes a different number of operands", mnemonic);
    int64_t v[3] = {0, 0, 0};
    for (unsigned k = 0, t = 0; k < 3 && t < (unsigned)ntok; k++) {
        if (info->kind[k] == CVM_K_NONE) continue;
        cvm_status st = operand_value(as, info->kind[k], tok[t++], pc, &v[k]);
        if (st != CVM_OK) return st;
    }
    uint32_t ins = 0;
    cvm_status st = encode(as, op, v, &ins);
    if (st != CVM_OK) return st;
    as->code[as->n_code] = ins;
    as->code_line[as->n_code++] = as->line;
    return CVM_OK;
}

/* One source line (comment already stripped). */
static cvm_status assemble_line(assembler *as, char *p) {
    char word[NAME_MAX_LEN + 1];
    p = (char *)skip_ws(p);
    if (*p == '\0') return CVM_OK;
    if (*p == '.') {
        const char *q = read_ident(p + 1, word);
        if (q == NULL) return fail(as, CVM_ERR_ASM_SYNTAX, "bad directive '%s'", p);
        if (strcmp(word, "func") == 0) return directive_func(as, q);
        if (strcmp(word, "int") == 0 || strcmp(word, "bytes") == 0)
            return as->pass == 1 ? directive_const(as, q, word[0] == 'b') : CVM_OK;
        return fail(as, CVM_ERR_ASM_UNKNOWN, "unknown directive '.%s'", word);
    }
    char *q = (char *)read_ident(p, word);
    if (q == NULL) return fail(as, CVM_ERR_ASM_SYNTAX, "cannot parse '%s'", p);
    if (*q == ':') {
        cvm_status st = add_label(as, word);
        if (st != CVM_OK) return st;
        q = (char *)skip_ws(q + 1);
        if (*q == '\0') return CVM_OK;
        if ((p = (char *)read_ident(q, word)) == NULL)
            return fail(as, CVM_ERR_ASM_SYNTAX, "cannot parse '%s'", q);
        q = p;
    }
    if (*q != '\0' && *q != ' ' && *q != '\t')
        return fail(as, CVM_ERR_ASM_SYNTAX, "unexpected character in '%s'", word);
    return instruction(as, word, q);
}

/* Copies one line of src into buf without its comment; returns the next line or NULL. */
static const char *next_line(const char *p, const char *end, char *buf, int *bad) {
    size_t n = 0;
    int in_str = 0;
    *bad = 0;
    for (; p < end && *p != '\n'; p++) {
        if (!in_str && (*p == ';' || *p == '#')) {
            while (p < end && *p != '\n') p++;
            break;
        }
        if (*p == '\0' || n >= LINE_MAX_LEN - 2) {
            *bad = 1;
            continue;
        }
        if (in_str && *p == '\\' && p + 1 < end && p[1] != '\n') {
            buf[n++] = *p++;
        } else if (*p == '"') {
            in_str = !in_str;
        }
        buf[n++] = *p;
    }
    buf[n] = '\0';
    return p < end ? p + 1 : NULL;
}

static cvm_status run_pass(assembler *as, const char *src, size_t len) {
    char *buf = as->linebuf;
    const char *p = src, *end = src + len;
    as->line = 0;
    if (as->pass == 2) as->n_func_total = as->n_func, as->n_func = 0, as->n_code = 0;
    while (p != NULL && (p < end || as->line == 0)) {
        int bad;
        as->line++;
        p = next_line(p, end, buf, &bad);
        if (bad) return fail(as, CVM_ERR_ASM_SYNTAX, "line too long or contains NUL%s", "");
        cvm_status st = assemble_line(as, buf);
        if (st != CVM_OK) return st;
    }
    return CVM_OK;
}

/* ---- serialisation --------------------------------------------------------------------- */

typedef struct outbuf {
    uint8_t *p;
    size_t len, cap;
    int oom;
} outbuf;

static void out_bytes(outbuf *o, const void *src, size_t n) {
    if (o->oom) return;
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n) cap *= 2;
        uint8_t *p = realloc(o->p, cap);
        if (p == NULL) {
            o->oom = 1;
            return;
        }
        o->p = p, o->cap = cap;
    }
    if (n > 0) memcpy(o->p + o->len, src, n);
    o->len += n;
}
static void out_u8(outbuf *o, unsigned v) {
    uint8_t b = (uint8_t)v;
    out_bytes(o, &b, 1);
}
static void out_u32(outbuf *o, uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    out_bytes(o, b, 4);
}

static void serialise(const assembler *as, outbuf *o) {
    out_bytes(o, CVM_MAGIC, 4);
    out_u8(o, CVM_VERSION), out_u8(o, CVM_VERSION >> 8), out_u8(o, 0), out_u8(o, 0);
    out_u32(o, as->n_kint), out_u32(o, as->n_kbyt), out_u32(o, as->n_func);
    for (uint32_t k = 0; k < as->n_kint; k++) {
        uint64_t u = (uint64_t)as->kint[k].value;
        out_u32(o, (uint32_t)u), out_u32(o, (uint32_t)(u >> 32));
    }
    for (uint32_t k = 0; k < as->n_kbyt; k++) {
        out_u32(o, as->kbyt[k].len);
        out_bytes(o, as->kbyt[k].bytes, as->kbyt[k].len);
    }
    for (uint32_t fi = 0; fi < as->n_func; fi++) {
        const asm_func *f = &as->funcs[fi];
        out_u8(o, f->nparams), out_u8(o, f->nregs);
        out_u8(o, f->exported ? CVM_FUNC_EXPORTED : 0), out_u8(o, (unsigned)strlen(f->name));
        out_u32(o, f->code_len);
        out_bytes(o, f->name, strlen(f->name));
        for (uint32_t pc = 0; pc < f->code_len; pc++) out_u32(o, as->code[f->code_start + pc]);
    }
}

static void assembler_free(assembler *as) {
    for (uint32_t k = 0; k < as->n_kbyt; k++) free(as->kbyt[k].bytes);
    free(as->kint);
    free(as->kbyt);
    free(as->labels);
    free(as->code);
    free(as->code_line);
    free(as->linebuf);
}

/* Loads the result to verify it; maps a verifier error to its source line. */
static cvm_status verify_output(assembler *as, const outbuf *o) {
    cvm_module *m = NULL;
    cvm_error verr;
    cvm_status st = cvm_module_load(o->p, o->len, &m, &verr);
    cvm_module_free(m);
    if (st == CVM_OK) return CVM_OK;
    if (as->err) {
        *as->err = verr;
        if (verr.func < as->n_func && verr.pc < as->funcs[verr.func].code_len) {
            uint32_t line = as->code_line[as->funcs[verr.func].code_start + verr.pc];
            as->err->line = line;
            char prefix[24];
            size_t pl = (size_t)snprintf(prefix, sizeof prefix, "line %u: ", line);
            size_t ml = strlen(verr.message), room = sizeof verr.message - 1 - pl;
            if (ml > room) ml = room;
            memcpy(as->err->message, prefix, pl);
            memcpy(as->err->message + pl, verr.message, ml);
            as->err->message[pl + ml] = '\0';
        }
    }
    return st;
}

cvm_status cvm_assemble(const char *source, size_t source_len, uint8_t **out, size_t *out_len,
                        cvm_error *err) {
    if (out == NULL || out_len == NULL || (source == NULL && source_len > 0))
        return cvm_error_set(err, CVM_ERR_INVALID_ARGUMENT, UINT32_MAX, UINT32_MAX, "NULL argument");
    *out = NULL, *out_len = 0;
    assembler as;
    memset(&as, 0, sizeof as);
    as.err = err;
    outbuf o = {NULL, 0, 0, 0};
    cvm_status st = CVM_ERR_NOMEM;
    as.linebuf = malloc(LINE_MAX_LEN);
    if (as.linebuf == NULL) goto err;
    as.pass = 1;
    if ((st = run_pass(&as, source, source_len)) != CVM_OK) goto err;
    if (as.n_func == 0) {
        st = fail(&as, CVM_ERR_ASM_SYNTAX, "no .func in the source%s", "");
        goto err;
    }
    st = CVM_ERR_NOMEM;
    as.code = malloc(((size_t)as.n_code + 1) * sizeof *as.code);
    as.code_line = malloc(((size_t)as.n_code + 1) * sizeof *as.code_line);
    if (as.code == NULL || as.code_line == NULL) goto err;
    as.pass = 2;
    if ((st = run_pass(&as, source, source_len)) != CVM_OK) goto err;
    serialise(&as, &o);
    st = CVM_ERR_NOMEM;
    if (o.oom) goto err;
    if ((st = verify_output(&as, &o)) != CVM_OK) goto err;
    *out = o.p, *out_len = o.len;
    assembler_free(&as);
    return CVM_OK;
err:
    if (st == CVM_ERR_NOMEM) cvm_error_set(err, st, UINT32_MAX, UINT32_MAX, "out of memory");
    free(o.p);
    assembler_free(&as);
    return st;
}
