/*
 * cmd_vm.c - trialctl subcommands for consent-vm: asm, disasm, vm-run, bench vm.
 *
 * vm-run keeps the state in memory (a sorted array loaded from --state-in), runs one
 * method with the arguments given and prints the result, the gas used, the buffered
 * writes and the events. SHA-256 for the host table comes from the registry's crypto
 * module (tcrypto_sha256); consent-vm itself has no crypto.
 */
#include "commands.h"
#include "crypto.h"
#include "cvm.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VMRUN_STATE_MAX 4096
#define VMRUN_VALUE_MAX 65536
#define BENCH_RUNS_MAX 50

/* ---- files ----------------------------------------------------------------------------- */

/* Reads a whole file into a malloc'd buffer (NUL-terminated); NULL with a message on error. */
static uint8_t *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
        return NULL;
    }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            cap = cap ? cap * 2 : 131072;
            uint8_t *p = realloc(buf, cap);
            if (p == NULL) {
                fprintf(stderr, "%s: out of memory\n", path);
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        size_t got = fread(buf + n, 1, 65536, f);
        n += got;
        if (got < 65536) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad || n > 64u * 1024u * 1024u) {
        fprintf(stderr, "%s: read error or file too large\n", path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int write_all(const char *path, const void *data, size_t len) {
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "%s: cannot create: %s\n", path, strerror(errno));
        return TC_EXIT_INTERNAL;
    }
    int ok = fwrite(data, 1, len, f) == len;
    ok = (f == stdout ? fflush(f) == 0 : fclose(f) == 0) && ok;
    if (!ok) {
        fprintf(stderr, "%s: write error\n", path);
        return TC_EXIT_INTERNAL;
    }
    return TC_EXIT_OK;
}

/* text with every byte that is not printable ASCII as \xNN: a message may quote the input
 * (an unknown token), which may be binary, and must not write control bytes to a terminal. */
static const char *printable(const char *text, char *out, size_t cap)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && o + 5 < cap; p++) {
        if (*p >= 0x20 && *p < 0x7f) out[o++] = (char)*p;
        else o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *p);
    }
    out[o] = '\0';
    return out;
}

static void print_cvm_error(const char *file, const cvm_error *err) {
    char msg[4 * sizeof err->message + 8];
    printable(err->message, msg, sizeof msg);
    if (err->line > 0)
        fprintf(stderr, "%s:%u: %s: %s\n", file, err->line, cvm_strerror(err->code), msg);
    else if (err->func != UINT32_MAX)
        fprintf(stderr, "%s: function %u, pc %u: %s: %s\n", file, err->func, err->pc,
                cvm_strerror(err->code), msg);
    else
        fprintf(stderr, "%s: %s: %s\n", file, cvm_strerror(err->code), msg);
}

/* True if path names a binary module (ends in .cvm). */
static bool is_binary_name(const char *path) {
    size_t n = strlen(path);
    return n >= 4 && strcmp(path + n - 4, ".cvm") == 0;
}

/* Loads a module file: binary if it starts with the magic, else assembly text.
 * A file named *.cvm without the magic is refused as a module, so binary
 * garbage is never echoed back as an assembler syntax error. */
static uint8_t *load_module_bytes(const char *path, size_t *len) {
    size_t n = 0;
    uint8_t *buf = read_all(path, &n);
    if (buf == NULL) return NULL;
    if (n >= 4 && memcmp(buf, CVM_MAGIC, 4) == 0) {
        *len = n;
        return buf;
    }
    if (is_binary_name(path)) {
        fprintf(stderr, "%s: not a consent-vm module (bad magic)\n", path);
        free(buf);
        return NULL;
    }
    uint8_t *out = NULL;
    cvm_error err;
    cvm_status st = cvm_assemble((const char *)buf, n, &out, len, &err);
    free(buf);
    if (st != CVM_OK) {
        print_cvm_error(path, &err);
        return NULL;
    }
    return out;
}

/* ---- asm / disasm ---------------------------------------------------------------------- */

int cmd_asm(int argc, char **argv) {
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (c == 'o') out = optarg;
        else if (c == 'h') {
            printf("usage: trialctl asm IN.s -o OUT.cvm\n"
                   "Assembles consent-vm assembly (docs/VM.md) into a verified module.\n");
            return TC_EXIT_OK;
        } else return TC_EXIT_USAGE;
    }
    if (optind != argc - 1 || out == NULL) {
        fprintf(stderr, "usage: trialctl asm IN.s -o OUT.cvm\n");
        return TC_EXIT_USAGE;
    }
    const char *in = argv[optind];
    size_t n = 0, len = 0;
    uint8_t *src = read_all(in, &n), *bytes = NULL;
    if (src == NULL) return TC_EXIT_INPUT;
    cvm_error err;
    cvm_status st = cvm_assemble((const char *)src, n, &bytes, &len, &err);
    free(src);
    if (st != CVM_OK) {
        print_cvm_error(in, &err);
        return TC_EXIT_INPUT;
    }
    int rc = write_all(out, bytes, len);
    free(bytes);
    return rc;
}

int cmd_disasm(int argc, char **argv) {
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out = "-";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (c == 'o') out = optarg;
        else if (c == 'h') {
            printf("usage: trialctl disasm IN.cvm [-o OUT.s]\n"
                   "Verifies a module and prints assembly that reassembles to the same bytes.\n");
            return TC_EXIT_OK;
        } else return TC_EXIT_USAGE;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: trialctl disasm IN.cvm [-o OUT.s]\n");
        return TC_EXIT_USAGE;
    }
    const char *in = argv[optind];
    size_t n = 0;
    uint8_t *bytes = read_all(in, &n);
    if (bytes == NULL) return TC_EXIT_INPUT;
    char *text = NULL;
    cvm_error err;
    cvm_status st = cvm_disassemble(bytes, n, &text, &err);
    free(bytes);
    if (st != CVM_OK) {
        print_cvm_error(in, &err);
        return TC_EXIT_INPUT;
    }
    int rc = write_all(out, text, strlen(text));
    free(text);
    return rc;
}

/* ---- in-memory state ------------------------------------------------------------------- */

typedef struct mem_entry {
    uint8_t *key, *val;
    size_t key_len, val_len;
} mem_entry;

typedef struct mem_state {
    mem_entry e[VMRUN_STATE_MAX];
    size_t n;
} mem_state;

static int kcmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (al < bl ? -1 : al > bl);
}

static size_t mem_lower(const mem_state *s, const uint8_t *k, size_t kl) {
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (kcmp(s->e[mid].key, s->e[mid].key_len, k, kl) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static int mem_put(mem_state *s, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl) {
    size_t i = mem_lower(s, k, kl);
    int exists = i < s->n && kcmp(s->e[i].key, s->e[i].key_len, k, kl) == 0;
    uint8_t *val = malloc(vl + 1);
    if (val == NULL) return 0;
    if (vl) memcpy(val, v, vl);
    if (!exists) {
        uint8_t *key = malloc(kl + 1);
        if (key == NULL || s->n == VMRUN_STATE_MAX) {
            free(key), free(val);
            return 0;
        }
        memcpy(key, k, kl);
        memmove(&s->e[i + 1], &s->e[i], (s->n - i) * sizeof s->e[0]);
        s->n++;
        s->e[i].key = key, s->e[i].key_len = kl;
    } else {
        free(s->e[i].val);
    }
    s->e[i].val = val, s->e[i].val_len = vl;
    return 1;
}

static void mem_del(mem_state *s, const uint8_t *k, size_t kl) {
    size_t i = mem_lower(s, k, kl);
    if (i == s->n || kcmp(s->e[i].key, s->e[i].key_len, k, kl) != 0) return;
    free(s->e[i].key), free(s->e[i].val);
    memmove(&s->e[i], &s->e[i + 1], (s->n - i - 1) * sizeof s->e[0]);
    s->n--;
}

static void mem_free(mem_state *s) {
    for (size_t i = 0; i < s->n; i++) free(s->e[i].key), free(s->e[i].val);
    s->n = 0;
}

static int mem_get_cb(void *ctx, const uint8_t *key, size_t key_len, uint8_t *out, size_t cap,
                      size_t *len, int *found) {
    mem_state *s = ctx;
    size_t i = mem_lower(s, key, key_len);
    *found = i < s->n && kcmp(s->e[i].key, s->e[i].key_len, key, key_len) == 0;
    if (!*found) return 0;
    *len = s->e[i].val_len;
    if (*len <= cap && *len) memcpy(out, s->e[i].val, *len);
    return 0;
}

static int mem_next_cb(void *ctx, const uint8_t *prefix, size_t plen, const uint8_t *after,
                       size_t alen, uint8_t *out, size_t cap, size_t *len, int *found) {
    mem_state *s = ctx;
    size_t i = alen ? mem_lower(s, after, alen) : mem_lower(s, prefix, plen);
    if (alen && i < s->n && kcmp(s->e[i].key, s->e[i].key_len, after, alen) == 0) i++;
    *found = 0;
    if (i >= s->n) return 0;
    const mem_entry *e = &s->e[i];
    if (e->key_len < plen || (plen && memcmp(e->key, prefix, plen) != 0)) return 0;
    *found = 1, *len = e->key_len;
    if (*len <= cap) memcpy(out, e->key, *len);
    return 0;
}

static int sha256_cb(void *ctx, const uint8_t *data, size_t len, uint8_t out[32]) {
    (void)ctx;
    hash32 h;
    tcrypto_sha256(data, len, &h);
    memcpy(out, h.bytes, 32);
    return 0;
}

/* ---- values and state files ------------------------------------------------------------ */

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* int:N | hex:HEX | str:TEXT (bare text counts as str when bare_ok). Bytes are copied to a
 * malloc'd buffer stored in *owned (caller frees). Returns 0 with a message in why. */
static int parse_value(const char *spec, int bare_ok, cvm_value *out, uint8_t **owned,
                       const char **why) {
    *owned = NULL;
    if (strncmp(spec, "int:", 4) == 0) {
        char *end;
        errno = 0;
        long long v = strtoll(spec + 4, &end, 10);
        if (errno || end == spec + 4 || *end != '\0') return (*why = "bad integer"), 0;
        *out = cvm_int(v);
        return 1;
    }
    const char *text = spec;
    int hex = strncmp(spec, "hex:", 4) == 0;
    if (hex || strncmp(spec, "str:", 4) == 0) text = spec + 4;
    else if (!bare_ok) return (*why = "expected int:N, hex:HEX or str:TEXT"), 0;
    size_t n = strlen(text);
    if (hex && n % 2) return (*why = "odd number of hex digits"), 0;
    size_t len = hex ? n / 2 : n;
    if (len > VMRUN_VALUE_MAX) return (*why = "value too long"), 0;
    uint8_t *b = malloc(len + 1);
    if (b == NULL) return (*why = "out of memory"), 0;
    for (size_t i = 0; i < len; i++) {
        if (!hex) {
            b[i] = (uint8_t)text[i];
            continue;
        }
        int h = hexval(text[2 * i]), l = hexval(text[2 * i + 1]);
        if (h < 0 || l < 0) {
            free(b);
            return (*why = "bad hex digit"), 0;
        }
        b[i] = (uint8_t)(h << 4 | l);
    }
    *owned = b;
    *out = cvm_bytes(b, (uint32_t)len);
    return 1;
}

/* State file: one "KEY VALUE" per line (each hex:HEX, str:TEXT or bare text); '#' starts
 * a comment line. */
static int load_state(const char *path, mem_state *s) {
    size_t n = 0;
    char *text = (char *)read_all(path, &n);
    if (text == NULL) return TC_EXIT_INPUT;
    unsigned line = 0;
    int rc = TC_EXIT_OK;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        line++;
        while (*l == ' ' || *l == '\t') l++;
        size_t ll = strlen(l);
        while (ll && (l[ll - 1] == '\r' || l[ll - 1] == ' ')) l[--ll] = '\0';
        if (*l == '\0' || *l == '#') continue;
        char *sp = strpbrk(l, " \t");
        const char *why = "expected KEY VALUE";
        cvm_value k, v;
        uint8_t *ko = NULL, *vo = NULL;
        if (sp != NULL) {
            *sp = '\0';
            char *val = sp + 1;
            while (*val == ' ' || *val == '\t') val++;
            if (parse_value(l, 1, &k, &ko, &why) && parse_value(val, 1, &v, &vo, &why)) {
                why = (k.type != CVM_BYTES || v.type != CVM_BYTES) ? "keys and values are bytes"
                      : (k.len == 0 || k.len > CVM_KEY_LEN_MAX) ? "key empty or too long"
                      : !mem_put(s, k.u.bytes, k.len, v.u.bytes, v.len) ? "state full" : NULL;
            }
        }
        free(ko), free(vo);
        if (why != NULL) {
            fprintf(stderr, "%s:%u: %s\n", path, line, why);
            rc = TC_EXIT_INPUT;
            break;
        }
    }
    free(text);
    return rc;
}

static void print_bytes(FILE *f, const uint8_t *p, size_t n) {
    int printable = 1;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] > 0x7e || p[i] == '"') printable = 0;
    if (printable) {
        fprintf(f, "\"%.*s\"", (int)n, (const char *)p);
        return;
    }
    fprintf(f, "0x");
    for (size_t i = 0; i < n; i++) fprintf(f, "%02x", p[i]);
}

static int save_state(const char *path, const mem_state *s) {
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "%s: cannot create: %s\n", path, strerror(errno));
        return TC_EXIT_INTERNAL;
    }
    for (size_t i = 0; i < s->n; i++) {
        fprintf(f, "hex:");
        for (size_t k = 0; k < s->e[i].key_len; k++) fprintf(f, "%02x", s->e[i].key[k]);
        fprintf(f, " hex:");
        for (size_t k = 0; k < s->e[i].val_len; k++) fprintf(f, "%02x", s->e[i].val[k]);
        fprintf(f, "\n");
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "%s: write error\n", path);
        return TC_EXIT_INTERNAL;
    }
    return TC_EXIT_OK;
}

static void print_result(const cvm_result *r, const cvm_module *m, uint64_t gas) {
    if (r->status == CVM_OK) {
        printf("status: ok\nresult: ");
        if (r->value.type == CVM_INT) printf("int %" PRId64 "\n", r->value.u.i);
        else {
            printf("bytes ");
            print_bytes(stdout, r->value.u.bytes, r->value.len);
            printf("\n");
        }
    } else if (r->status == CVM_ABORTED) {
        printf("status: aborted (reason code %" PRId64 ")\n", r->abort_code);
    } else {
        cvm_funcinfo fi = {"?", 0, 0, 0, 0};
        if (r->error.func != UINT32_MAX) cvm_module_func_info(m, r->error.func, &fi);
        printf("status: error: %s (function %u '%s', pc %u)\n", cvm_strerror(r->status),
               r->error.func, fi.name, r->error.pc);
    }
    printf("gas: %" PRIu64 " of %" PRIu64 "\n", r->gas_used, gas);
    printf("writes (%u):\n", r->write_count);
    for (uint32_t w = 0; w < r->write_count; w++) {
        printf("  %s ", r->writes[w].is_delete ? "del" : "put");
        print_bytes(stdout, r->writes[w].key, r->writes[w].key_len);
        if (!r->writes[w].is_delete) {
            printf(" = ");
            print_bytes(stdout, r->writes[w].value, r->writes[w].value_len);
        }
        printf("\n");
    }
    printf("events (%u):\n", r->event_count);
    for (uint32_t e = 0; e < r->event_count; e++) {
        printf("  ");
        print_bytes(stdout, r->events[e].topic, r->events[e].topic_len);
        printf(" ");
        print_bytes(stdout, r->events[e].data, r->events[e].data_len);
        printf("\n");
    }
}

/* ---- vm-run ---------------------------------------------------------------------------- */

typedef struct run_opts {
    const char *module_path, *method, *state_in, *state_out;
    cvm_value args[CVM_ARGS_MAX];
    uint8_t *owned[CVM_ARGS_MAX];
    uint32_t nargs;
    uint64_t gas;
    cvm_env env;
} run_opts;

static void run_usage(FILE *f) {
    fprintf(f, "usage: trialctl vm-run MODULE.cvm|MODULE.s METHOD [--arg int:N|hex:HEX|str:TEXT]...\n"
               "         [--gas N] [--state-in FILE] [--state-out FILE] [--time MS] [--height N]\n"
               "         [--role N]\n"
               "Runs one exported method against an in-memory state (file lines: KEY VALUE,\n"
               "each hex:HEX or str:TEXT) and prints the result, gas used, writes and events.\n"
               "Writes are applied to --state-out only when the call succeeds.\n");
}

static int parse_u64(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end != '\0' || s[0] == '-') return 0;
    *out = v;
    return 1;
}

static int parse_run_opts(int argc, char **argv, run_opts *o) {
    static const struct option opts[] = {
        {"arg", required_argument, NULL, 'a'},  {"gas", required_argument, NULL, 'g'},
        {"state-in", required_argument, NULL, 'i'}, {"state-out", required_argument, NULL, 'o'},
        {"time", required_argument, NULL, 't'}, {"height", required_argument, NULL, 'H'},
        {"role", required_argument, NULL, 'r'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    uint64_t v;
    const char *why;
    optind = 1;
    while ((c = getopt_long(argc, argv, "a:g:i:o:t:H:r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (o->nargs == CVM_ARGS_MAX) return fprintf(stderr, "vm-run: too many --arg\n"), TC_EXIT_USAGE;
            if (!parse_value(optarg, 0, &o->args[o->nargs], &o->owned[o->nargs], &why))
                return fprintf(stderr, "vm-run: --arg '%s': %s\n", optarg, why), TC_EXIT_USAGE;
            o->nargs++;
            break;
        case 'g':
            if (!parse_u64(optarg, &o->gas)) return fprintf(stderr, "vm-run: bad --gas '%s'\n", optarg), TC_EXIT_USAGE;
            break;
        case 'i': o->state_in = optarg; break;
        case 'o': o->state_out = optarg; break;
        case 't':
        case 'H':
        case 'r':
            if (!parse_u64(optarg, &v) || v > INT64_MAX)
                return fprintf(stderr, "vm-run: bad number '%s'\n", optarg), TC_EXIT_USAGE;
            if (c == 't') o->env.block_time_ms = (int64_t)v;
            else if (c == 'H') o->env.block_height = (int64_t)v;
            else o->env.caller_role = (int64_t)v;
            break;
        case 'h': run_usage(stdout); return -1;
        default: return TC_EXIT_USAGE;
        }
    }
    if (optind != argc - 2) {
        run_usage(stderr);
        return TC_EXIT_USAGE;
    }
    o->module_path = argv[optind], o->method = argv[optind + 1];
    return TC_EXIT_OK;
}

static int run_module(run_opts *o, mem_state *state) {
    size_t len = 0;
    uint8_t *bytes = load_module_bytes(o->module_path, &len);
    if (bytes == NULL) return TC_EXIT_INPUT;
    cvm_module *m = NULL;
    cvm_error err;
    cvm_status st = cvm_module_load(bytes, len, &m, &err);
    free(bytes);
    if (st != CVM_OK) {
        print_cvm_error(o->module_path, &err);
        return TC_EXIT_INPUT;
    }
    cvm_vm *vm = cvm_vm_new(NULL);
    if (vm == NULL) {
        cvm_module_free(m);
        return fprintf(stderr, "vm-run: out of memory\n"), TC_EXIT_INTERNAL;
    }
    cvm_host host = {state, mem_get_cb, mem_next_cb, sha256_cb};
    cvm_result r;
    st = cvm_call(vm, m, o->method, o->args, o->nargs, &host, &o->env, o->gas, &r);
    int rc = TC_EXIT_OK;
    if (st == CVM_ERR_NO_SUCH_METHOD || st == CVM_ERR_BAD_ARGS) {
        fprintf(stderr, "vm-run: %s: %s\n", o->module_path, r.error.message);
        rc = TC_EXIT_USAGE;
    } else {
        printf("method: %s\n", o->method);
        print_result(&r, m, o->gas);
        rc = st == CVM_OK ? TC_EXIT_OK : TC_EXIT_FAIL;
        for (uint32_t w = 0; st == CVM_OK && w < r.write_count; w++) {
            const cvm_write *wr = &r.writes[w];
            if (wr->is_delete) mem_del(state, wr->key, wr->key_len);
            else if (!mem_put(state, wr->key, wr->key_len, wr->value, wr->value_len))
                rc = TC_EXIT_INTERNAL;
        }
        if (rc == TC_EXIT_OK && o->state_out) rc = save_state(o->state_out, state);
    }
    cvm_vm_free(vm);
    cvm_module_free(m);
    return rc;
}

int cmd_vm_run(int argc, char **argv) {
    static mem_state state; /* large: kept off the stack */
    run_opts *o = calloc(1, sizeof *o);
    if (o == NULL) return TC_EXIT_INTERNAL;
    o->gas = 10000000;
    memset(o->env.caller, 0x11, sizeof o->env.caller);
    memset(o->env.tx_id, 0xab, sizeof o->env.tx_id);
    o->env.block_height = 1;
    o->env.block_time_ms = 1700000000000;
    int rc = parse_run_opts(argc, argv, o);
    if (rc == -1) rc = TC_EXIT_OK;
    else if (rc == TC_EXIT_OK && o->state_in) rc = load_state(o->state_in, &state);
    if (rc == TC_EXIT_OK && o->module_path) rc = run_module(o, &state);
    for (uint32_t a = 0; a < o->nargs; a++) free(o->owned[a]);
    free(o);
    mem_free(&state);
    return rc;
}

/* ---- bench vm -------------------------------------------------------------------------- */

/* The same loop as tests/vm/modules/loop.s and the check method of consent.s. */
static const char bench_loop_src[] =
    ".int M 1000003\n"
    ".func sumsq 1 5 export\n"
    "    loadi r1, 0\n    loadi r2, 1\n    move r3, r0\n    lt r4, r3, r2\n    jnz r4, done\n"
    "loop:\n    mul r4, r2, r2\n    add r1, r1, r4\n    modk r1, r1, M\n    forloop r2, loop\n"
    "done:\n    ret r1\n";
static const char bench_check_src[] =
    ".bytes PREFIX \"consent:\"\n"
    ".func key_for 1 3\n    loads r1, PREFIX\n    concat r2, r1, r0\n    ret r2\n"
    ".func check 2 8 export\n"
    "    move r2, r0\n    call r2, key_for, 1\n    host r3, get, r2\n    type r4, r3\n"
    "    jz r4, no\n    loadi r5, 0\n    loadi r6, 8\n    slice r4, r3, r5\n    btoi r4, r4\n"
    "    loadi r5, 1\n    shl r5, r5, r1\n    band r4, r4, r5\n    jz r4, no\n    loadi r5, 8\n"
    "    slice r4, r3, r5\n    btoi r4, r4\n    host r5, time\n    le r4, r5, r4\n    ret r4\n"
    "no:\n    loadi r4, 0\n    ret r4\n";

/* Process CPU time, as Lua's os.clock() measures: both sides are timed the same way, and a
 * busy machine does not charge the VM for time it spent descheduled. */
static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static cvm_module *bench_module(const char *src) {
    uint8_t *bytes = NULL;
    size_t len = 0;
    cvm_error err;
    cvm_module *m = NULL;
    if (cvm_assemble(src, strlen(src), &bytes, &len, &err) != CVM_OK ||
        cvm_module_load(bytes, len, &m, &err) != CVM_OK)
        fprintf(stderr, "bench vm: %s\n", err.message);
    free(bytes);
    return m;
}

/* ns per iteration of the loop in the VM; *sum gets the result. -1 on error. */
static double bench_vm_loop(cvm_vm *vm, const cvm_module *m, uint64_t n, int64_t *sum) {
    cvm_value arg = cvm_int((int64_t)n);
    cvm_result r;
    double t0 = now_ns();
    cvm_status st = cvm_call(vm, m, "sumsq", &arg, 1, NULL, NULL, UINT64_MAX, &r);
    double t1 = now_ns();
    if (st != CVM_OK) {
        fprintf(stderr, "bench vm: loop failed: %s\n", r.error.message);
        return -1;
    }
    *sum = r.value.u.i;
    return (t1 - t0) / (double)n;
}

/* ns per iteration of the same loop in lua5.4 (timed inside Lua, os.clock). -1 if lua5.4
 * is unavailable. */
static double bench_lua_loop(uint64_t n, int64_t *sum) {
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "lua5.4 -e 'local n=%" PRIu64 " local t0=os.clock() local s=0 "
             "for i=1,n do s=(s+i*i)%%1000003 end "
             "io.write(string.format(\"%%d %%.9f\\n\", s, os.clock()-t0))' 2>/dev/null", n);
    FILE *p = popen(cmd, "r");
    if (p == NULL) return -1;
    long long s = 0;
    double secs = 0;
    int got = fscanf(p, "%lld %lf", &s, &secs);
    int rc = pclose(p);
    if (got != 2 || rc != 0) return -1;
    *sum = s;
    return secs * 1e9 / (double)n;
}

/* ns per call of the consent check against a one-key in-memory state. */
static double bench_check(cvm_vm *vm, const cvm_module *m, uint64_t calls, mem_state *st) {
    static const uint8_t rec[16] = {0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 1, 0xa3, 0x18, 0x5c, 0x50, 0};
    if (st->n == 0 && !mem_put(st, (const uint8_t *)"consent:alice", 13, rec, 16)) return -1;
    cvm_host host = {st, mem_get_cb, mem_next_cb, sha256_cb};
    cvm_env env;
    memset(&env, 0, sizeof env);
    env.block_time_ms = 1700000000000;
    cvm_value args[2] = {cvm_bytes("alice", 5), cvm_int(3)};
    cvm_result r;
    double t0 = now_ns();
    for (uint64_t i = 0; i < calls; i++) {
        if (cvm_call(vm, m, "check", args, 2, &host, &env, 10000, &r) != CVM_OK || r.value.u.i != 1) {
            fprintf(stderr, "bench vm: consent check failed: %s\n", r.error.message);
            return -1;
        }
    }
    return (now_ns() - t0) / (double)calls;
}

typedef struct bench_figures {
    double vm[BENCH_RUNS_MAX], lua[BENCH_RUNS_MAX], check[BENCH_RUNS_MAX];
    int64_t vm_sum, lua_sum;
    int lua_ok;
} bench_figures;

static int bench_run_all(uint64_t iterations, uint64_t calls, int runs, bench_figures *f) {
    static mem_state state;
    cvm_module *loop = bench_module(bench_loop_src), *check = bench_module(bench_check_src);
    cvm_vm *vm = cvm_vm_new(NULL);
    int rc = TC_EXIT_OK;
    f->lua_ok = 1;
    if (loop == NULL || check == NULL || vm == NULL) rc = TC_EXIT_INTERNAL;
    for (int i = 0; i < runs && rc == TC_EXIT_OK; i++) {
        f->vm[i] = bench_vm_loop(vm, loop, iterations, &f->vm_sum);
        if (f->lua_ok) f->lua[i] = bench_lua_loop(iterations, &f->lua_sum);
        if (f->lua[i] < 0) f->lua_ok = 0;
        f->check[i] = bench_check(vm, check, calls, &state);
        if (f->vm[i] < 0 || f->check[i] < 0) rc = TC_EXIT_FAIL;
        if (f->lua_ok && f->lua_sum != f->vm_sum) {
            fprintf(stderr, "bench vm: lua computed %" PRId64 ", the vm %" PRId64 "\n", f->lua_sum, f->vm_sum);
            rc = TC_EXIT_FAIL;
        }
    }
    cvm_vm_free(vm);
    cvm_module_free(loop);
    cvm_module_free(check);
    mem_free(&state);
    return rc;
}

int cmd_bench_vm(int argc, char **argv) {
    static const struct option opts[] = {{"iterations", required_argument, NULL, 'n'},
                                         {"calls", required_argument, NULL, 'c'},
                                         {"runs", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    uint64_t iterations = 100000000, calls = 1000000, runs = 5;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:c:r:h", opts, NULL)) != -1) {
        uint64_t *dst = c == 'n' ? &iterations : c == 'c' ? &calls : c == 'r' ? &runs : NULL;
        if (c == 'h') {
            printf("usage: trialctl bench vm [--iterations N] [--calls N] [--runs R]\n"
                   "Times s = (s + i*i) %% 1000003 for i = 1..N in consent-vm (gas metering on)\n"
                   "and in lua5.4 in the same run, and a consent-check method call; prints\n"
                   "medians of R runs (default N = 10^8, 10^6 calls, 5 runs).\n");
            return TC_EXIT_OK;
        }
        if (dst == NULL || !parse_u64(optarg, dst)) return TC_EXIT_USAGE;
    }
    /* argv may be {"bench", "vm", ...} or {"vm", ...}: accept one positional "vm" */
    if (optind < argc && strcmp(argv[optind], "vm") == 0) optind++;
    if (optind != argc || iterations == 0 || iterations > INT64_MAX || calls == 0 || runs == 0 ||
        runs > BENCH_RUNS_MAX) {
        fprintf(stderr, "usage: trialctl bench vm [--iterations N>0] [--calls N>0] [--runs 1..%d]\n", BENCH_RUNS_MAX);
        return TC_EXIT_USAGE;
    }
    bench_figures *f = calloc(1, sizeof *f);
    if (f == NULL) return TC_EXIT_INTERNAL;
    int rc = bench_run_all(iterations, calls, (int)runs, f);
    if (rc == TC_EXIT_OK) {
        double vm = median(f->vm, (int)runs), check = median(f->check, (int)runs);
        printf("consent-vm bench (gas metering on), medians of %d runs\n", (int)runs);
        printf("loop s = (s + i*i) %% 1000003, i = 1..%" PRIu64 " (s = %" PRId64 ")\n", iterations, f->vm_sum);
        printf("  consent-vm : %8.3f ns/iter\n", vm);
        if (f->lua_ok) {
            double lua = median(f->lua, (int)runs);
            printf("  lua5.4     : %8.3f ns/iter\n", lua);
            printf("  ratio vm/lua: %.3f (target < 1.0, goal 0.67)\n", vm / lua);
        } else {
            printf("  lua5.4     : unavailable (lua5.4 not found or failed): no bound\n");
        }
        printf("consent check (get + bit test + time compare), %" PRIu64 " calls\n", calls);
        printf("  consent-vm : %8.1f ns/call\n", check);
    }
    free(f);
    return rc;
}
