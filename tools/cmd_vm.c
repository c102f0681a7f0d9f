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
#include "executor.h"
#include "ledger.h"
#include "sample.h"
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

static int bench_vm_worst(int runs);

int cmd_bench_vm(int argc, char **argv) {
    static const struct option opts[] = {{"iterations", required_argument, NULL, 'n'},
                                         {"calls", required_argument, NULL, 'c'},
                                         {"runs", required_argument, NULL, 'r'},
                                         {"worst", no_argument, NULL, 'w'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    uint64_t iterations = 100000000, calls = 1000000, runs = 5;
    bool worst = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:c:r:wh", opts, NULL)) != -1) {
        uint64_t *dst = c == 'n' ? &iterations : c == 'c' ? &calls : c == 'r' ? &runs : NULL;
        if (c == 'h') {
            printf("usage: trialctl bench vm [--iterations N] [--calls N] [--runs R]\n"
                   "       trialctl bench vm --worst [--runs R]\n"
                   "Times s = (s + i*i) %% 1000003 for i = 1..N in consent-vm (gas metering on)\n"
                   "and in lua5.4 in the same run, and a consent-check method call; prints\n"
                   "medians of R runs (default N = 10^8, 10^6 calls, 5 runs).\n"
                   "--worst: ns per gas of every opcode and host call at its largest operands\n"
                   "beside the integer loop's (bound 4x), and the time of a full block at the\n"
                   "block gas limit made of the worst of them (bound 1 s).\n");
            return TC_EXIT_OK;
        }
        if (c == 'w') {
            worst = true;
            continue;
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
    if (worst) return bench_vm_worst((int)runs);
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

/* ---- bench vm --worst: gas against time ------------------------------------------------
 *
 * For every opcode and host call, at the largest operands the VM allows (256 KiB byte
 * strings, the arena's size; 256-byte keys; a full write buffer of 256 entries whose keys
 * share a 255-byte prefix, so every scan compares almost every byte; callees with 250
 * registers), the time per gas of the op, beside the integer loop's. Each case is a
 * module whose method run(n, A, B) does a setup and then its body n times (unrolled);
 * the op's figure is (time(run(n)) - time(run(0))) / (gas(run(n)) - gas(run(0))), so the
 * setup cancels out. Then one full block at the block gas limit: the worst case's call
 * repeated, each with the tx gas limit (or what is left of the block), until the
 * block's gas is used, timed whole. */

#define WORST_UNROLL 8
#define WORST_BIG (256u * 1024u) /* = the default arena: the largest byte string */
#define WORST_CASES_MAX 96
#define WORST_SRC_MAX 16384

typedef struct worst_case {
    const char *name;  /* what is measured */
    const char *setup; /* asm run once before the loop (may be "") */
    const char *body;  /* asm of one op; '@' is replaced by the copy's index (labels) */
    uint32_t n;        /* loop iterations (each runs the body WORST_UNROLL times) */
    int unroll;        /* 0: WORST_UNROLL; 1: not unrolled (the op fills a buffer) */
    int storage;       /* 1: the host reads a LevelDB ledger (as a validator's does) */
} worst_case;

/* Registers: r0 n, r1 A, r2 B (256 KiB each, equal but for the last byte), r3 = 7, r4 = 3,
 * r5 result, r6 = 63, r10/r11 the loop counter and its limit, r13.. setup scratch. */
#define W_INTS "    loadi r3, 7\n    loadi r4, 3\n    loadi r6, 63\n"
/* 256 puts (the write buffer's capacity) of keys P .. byte j, j = 0..255: r21 ends as the
 * last key written (a find for it scans every entry), r25 = a 256-byte key absent from
 * the buffer and from state that shares 254 bytes with every buffered key. */
#define W_FILL(op, last)                                                                     \
    "    loads r13, P\n    loads r14, T\n    loadi r20, 1\n    loadi r15, 0\n"               \
    "    loadi r16, " last "\nfill:\n    move r19, r15\n    slice r18, r14, r19\n"           \
    "    concat r21, r13, r18\n    move r22, r18\n    host r23, " op ", r21\n"               \
    "    forloop r15, fill\n    loads r24, Q\n    concat r25, r24, r18\n    loads r26, P\n"  \
    "    loads r27, NONE\n    loadi r28, 64\n    move r22, r18\n"
#define W_FILL_PUT W_FILL("put", "255")
#define W_FILL_DEL W_FILL("del", "254")
#define W_SLICES "    loadi r13, 0\n    loadk r14, HALF\n    slice r7, r1, r13\n    slice r8, r2, r13\n"

static const worst_case worst_cases[] = {
    {"nop", "", "    nop\n", 200000, 0, 0},
    {"move", W_INTS, "    move r5, r3\n", 200000, 0, 0},
    {"loadi", "", "    loadi r5, 7\n", 200000, 0, 0},
    {"loadk", "", "    loadk r5, HALF\n", 200000, 0, 0},
    {"loads", "", "    loads r5, P\n", 200000, 0, 0},
    {"add", W_INTS, "    add r5, r3, r4\n", 200000, 0, 0},
    {"sub", W_INTS, "    sub r5, r3, r4\n", 200000, 0, 0},
    {"mul", W_INTS, "    mul r5, r3, r4\n", 200000, 0, 0},
    {"div", W_INTS, "    div r5, r3, r4\n", 200000, 0, 0},
    {"mod", W_INTS, "    mod r5, r3, r4\n", 200000, 0, 0},
    {"addi", W_INTS, "    addi r5, r3, -5\n", 200000, 0, 0},
    {"addk", W_INTS, "    addk r5, r3, HALF\n", 200000, 0, 0},
    {"subk", W_INTS, "    subk r5, r3, HALF\n", 200000, 0, 0},
    {"mulk", W_INTS, "    mulk r5, r3, HALF\n", 200000, 0, 0},
    {"divk", W_INTS, "    divk r5, r3, HALF\n", 200000, 0, 0},
    {"modk", W_INTS, "    modk r5, r3, HALF\n", 200000, 0, 0},
    {"neg", W_INTS, "    neg r5, r3\n", 200000, 0, 0},
    {"band", W_INTS, "    band r5, r3, r4\n", 200000, 0, 0},
    {"bor", W_INTS, "    bor r5, r3, r4\n", 200000, 0, 0},
    {"bxor", W_INTS, "    bxor r5, r3, r4\n", 200000, 0, 0},
    {"bnot", W_INTS, "    bnot r5, r3\n", 200000, 0, 0},
    {"shl (63)", W_INTS, "    shl r5, r3, r6\n", 200000, 0, 0},
    {"shr (63)", W_INTS, "    shr r5, r3, r6\n", 200000, 0, 0},
    {"eq (ints)", W_INTS, "    eq r5, r3, r4\n", 200000, 0, 0},
    {"ne (ints)", W_INTS, "    ne r5, r3, r4\n", 200000, 0, 0},
    {"lt", W_INTS, "    lt r5, r3, r4\n", 200000, 0, 0},
    {"le", W_INTS, "    le r5, r3, r4\n", 200000, 0, 0},
    {"jmp", "", "    jmp J@\nJ@:\n", 200000, 0, 0},
    {"jz (taken)", "    loadi r5, 0\n", "    jz r5, J@\nJ@:\n", 200000, 0, 0},
    {"jnz (taken)", W_INTS, "    jnz r3, J@\nJ@:\n", 200000, 0, 0},
    {"forloop (empty loop)", "", "", 1000000, 1, 0},
    {"call + ret (callee 250 registers)", "", "    call r5, big, 0\n", 50000, 0, 0},
    {"call + ret (callee 1 register)", "", "    call r5, small, 0\n", 100000, 0, 0},
    {"len (256 KiB)", "", "    len r5, r1\n", 200000, 0, 0},
    {"eq (256 KiB x 2, differ at the end)", "", "    eq r5, r1, r2\n", 20, 0, 0},
    {"ne (256 KiB x 2, differ at the end)", "", "    ne r5, r1, r2\n", 20, 0, 0},
    {"bcmp (256 KiB x 2, differ at the end)", "", "    bcmp r5, r1, r2\n", 20, 0, 0},
    {"eq (1 byte x 2)", "    loads r7, ONE\n    loads r8, ONE\n", "    eq r5, r7, r8\n", 200000, 0, 0},
    {"bcmp (1 byte x 2)", "    loads r7, ONE\n    loads r8, ONE\n", "    bcmp r5, r7, r8\n", 200000, 0, 0},
    {"concat (128 KiB + 128 KiB)", W_SLICES, "    concat r5, r7, r8\n", 1, 1, 0},
    {"concat (0 + 0 bytes)", "    loads r7, NONE\n", "    concat r5, r7, r7\n", 200000, 0, 0},
    {"slice (256 KiB)", "    loadi r13, 1\n    loadk r14, HALF\n", "    slice r5, r1, r13\n", 200000, 0, 0},
    {"byteat (last of 256 KiB)", "    loadk r13, LAST\n", "    byteat r5, r1, r13\n", 200000, 0, 0},
    {"itob", W_INTS, "    itob r5, r3\n", 2000, 0, 0},
    {"btoi (8 bytes)", "    loads r7, EIGHT\n", "    btoi r5, r7\n", 200000, 0, 0},
    {"type", "", "    type r5, r1\n", 200000, 0, 0},
    {"arg (256 KiB)", "", "    arg r5, 1\n", 200000, 0, 0},
    {"nargs", "", "    nargs r5\n", 200000, 0, 0},
    {"host caller", "", "    host r5, caller\n", 800, 0, 0},
    {"host role", "", "    host r5, role\n", 50000, 0, 0},
    {"host cosigners", "", "    host r5, cosigners\n", 50000, 0, 0},
    {"host cosigner_key", "    loadi r13, 0\n", "    host r5, cosigner_key, r13\n", 800, 0, 0},
    {"host cosigner_role", "    loadi r13, 0\n", "    host r5, cosigner_role, r13\n", 50000, 0, 0},
    {"host cosigner_meaning", "    loadi r13, 0\n", "    host r5, cosigner_meaning, r13\n", 50000, 0, 0},
    {"host height", "", "    host r5, height\n", 50000, 0, 0},
    {"host time", "", "    host r5, time\n", 50000, 0, 0},
    {"host txid", "", "    host r5, txid\n", 800, 0, 0},
    {"host sha256 (256 KiB)", "", "    host r5, sha256, r1\n", 2, 0, 0},
    {"host sha256 (0 bytes)", "    loads r7, NONE\n", "    host r5, sha256, r7\n", 800, 0, 0},
    {"host emit (1-byte topic, 256 KiB data)", "    loads r7, ONE\n    move r8, r1\n",
     "    host r5, emit, r7\n", 64, 1, 0},
    {"host get (absent, empty write buffer)", "    loads r13, Q\n    loads r14, ONE\n    concat r7, r13, r14\n",
     "    host r5, get, r7\n", 20000, 0, 0},
    {"host get (committed 64 KiB value)", "    loads r7, BIGKEY\n", "    host r5, get, r7\n", 3, 1, 0},
    {"host get (absent, 256-entry buffer scanned)", W_FILL_PUT, "    host r5, get, r25\n", 200, 0, 0},
    {"host get (the last of 256 buffered)", W_FILL_PUT, "    host r5, get, r21\n", 200, 0, 0},
    {"host put (the last of 256 buffered)", W_FILL_PUT, "    host r23, put, r21\n", 200, 0, 0},
    {"host del (the last of 256 buffered)", W_FILL_PUT, "    host r23, del, r21\n", 200, 0, 0},
    {"host keys (64 of 256 buffered puts)", W_FILL_PUT, "    host r5, keys, r26\n", 10, 1, 0},
    {"host keys (skipping 255 buffered deletes)", W_FILL_DEL, "    host r5, keys, r26\n", 20, 1, 0},
    /* Through LevelDB: a sample ledger of 10,000 "sample/tx/<id>" keys, each lookup new. */
    {"host get (LevelDB, a new absent key each)", "    loadi r30, 0\n",
     "    addi r30, r30, 1\n    itob r29, r30\n    host r5, get, r29\n", 1000, 0, 1},
    {"host keys (LevelDB, 64 keys from a new place)",
     "    loads r26, STX\n    loadi r28, 64\n    loadi r30, 0\n    loadi r31, 56\n",
     "    addi r30, r30, 1\n    shl r29, r30, r31\n    itob r29, r29\n    concat r27, r26, r29\n"
     "    host r5, keys, r26\n", 40, 1, 1},
};

/* The module of case c (text into out). */
static int worst_source(const worst_case *c, char *out, size_t cap) {
    char p[2 * 255 + 1], q[2 * 255 + 1], t[2 * 256 + 1];
    for (int i = 0; i < 255; i++) memcpy(p + 2 * i, "6b", 2), memcpy(q + 2 * i, i == 254 ? "6a" : "6b", 2);
    for (int i = 0; i < 256; i++) snprintf(t + 2 * i, 3, "%02x", i);
    p[510] = q[510] = t[512] = '\0';
    size_t at = (size_t)snprintf(out, cap,
                                 ".int HALF %u\n.int LAST %u\n.bytes P x\"%s\"\n.bytes Q x\"%s\"\n"
                                 ".bytes T x\"%s\"\n.bytes NONE \"\"\n.bytes ONE \"a\"\n"
                                 ".bytes EIGHT \"01234567\"\n.bytes BIGKEY \"big\"\n"
                                 ".bytes STX \"sample/tx/\"\n",
                                 WORST_BIG / 2, WORST_BIG - 1, p, q, t);
    at += (size_t)snprintf(out + at, cap - at,
                           ".func big 0 250\n    ret r0\n.func small 0 1\n    ret r0\n"
                           ".func run 3 32 export\n%s    loadi r10, 1\n    move r11, r0\n"
                           "    lt r12, r11, r10\n    jnz r12, done\nloop:\n", c->setup);
    int copies = c->unroll == 1 ? 1 : WORST_UNROLL;
    for (int k = 0; k < copies && at < cap; k++) {
        for (const char *s = c->body; *s && at + 8 < cap; s++) {
            if (*s == '@') at += (size_t)snprintf(out + at, cap - at, "%d", k);
            else out[at++] = *s;
        }
    }
    if (at + 64 >= cap) return 0;
    snprintf(out + at, cap - at, "    forloop r10, loop\ndone:\n    ret r10\n");
    return 1;
}

typedef struct worst_ctx {
    cvm_vm *vm;
    cvm_host host, ledger_host;
    ledger *ledger;
    char dir[64];
    cvm_env env;
    cvm_cosigner cos[2];
    cvm_value args[3];
    uint8_t *a, *b;
    mem_state *state;
} worst_ctx;

/* The host over a LevelDB ledger (what a validator's executor reads under its caches). */
static int ledger_get_cb(void *ctx, const uint8_t *key, size_t key_len, uint8_t *out, size_t cap,
                         size_t *len, int *found) {
    uint8_t *v = NULL;
    size_t vl = 0;
    ledger_err rc = ledger_state_get(ctx, key, key_len, &v, &vl);
    *found = rc == LEDGER_OK;
    if (rc != LEDGER_OK) return rc == LEDGER_ERR_NOT_FOUND ? 0 : -1;
    *len = vl;
    if (vl <= cap && vl) memcpy(out, v, vl);
    free(v);
    return 0;
}

static int ledger_next_cb(void *ctx, const uint8_t *prefix, size_t plen, const uint8_t *after,
                          size_t alen, uint8_t *out, size_t cap, size_t *len, int *found) {
    if (cap < CODEC_KEY_MAX) return -1;
    ledger_err rc = ledger_state_next(ctx, prefix, plen, after, alen, out, cap, len);
    *found = rc == LEDGER_OK;
    return rc == LEDGER_OK || rc == LEDGER_ERR_NOT_FOUND ? 0 : -1;
}

/* A sample ledger (10,000 state keys) in a temporary directory. */
static int worst_ledger_open(worst_ctx *w) {
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    if (strlen(base) > 30) base = "/tmp";
    snprintf(w->dir, sizeof w->dir, "%s/trialreg-worst-XXXXXX", base);
    sample_keys keys;
    uint8_t *genesis = NULL;
    size_t glen = 0;
    ledger_error lerr;
    char why[256];
    sample_keys_derive(7, 4, &keys);
    if (mkdtemp(w->dir) == NULL || sample_genesis(&keys, "worst", &genesis, &glen) != 0 ||
        ledger_open(w->dir, genesis, glen, LEDGER_OPEN_CREATE, &w->ledger, &lerr) != LEDGER_OK) {
        fprintf(stderr, "bench vm --worst: cannot create a sample ledger in %s\n", w->dir);
        free(genesis);
        return 0;
    }
    free(genesis);
    if (sample_write_blocks(w->ledger, &keys, 50, 200, why, sizeof why) != 0) {
        fprintf(stderr, "bench vm --worst: sample ledger: %s\n", why);
        return 0;
    }
    w->ledger_host = (cvm_host){w->ledger, ledger_get_cb, ledger_next_cb, sha256_cb};
    return 1;
}

static void worst_ledger_close(worst_ctx *w) {
    if (w->ledger) ledger_close(w->ledger);
    if (w->dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", w->dir);
        if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", w->dir);
    }
}

/* Average ns of run(n) over reps calls (each must return ok); *gas = its gas. */
static double worst_time(worst_ctx *w, const cvm_host *host, const cvm_module *m, uint32_t n,
                         int reps, uint64_t *gas) {
    cvm_result r;
    w->args[0] = cvm_int(n);
    double t0 = now_ns();
    for (int i = 0; i < reps; i++) {
        if (cvm_call(w->vm, m, "run", w->args, 3, host, &w->env, UINT64_MAX, &r) != CVM_OK) {
            fprintf(stderr, "bench vm --worst: run(%u): %s\n", n, r.error.message);
            return -1;
        }
    }
    double t = (now_ns() - t0) / reps;
    *gas = r.gas_used;
    return t;
}

/* ns per gas of case m's body: median over runs of (t(n) - t(0)) / (gas(n) - gas(0)). */
static double worst_case_ns_per_gas(worst_ctx *w, const cvm_host *host, const cvm_module *m,
                                    uint32_t n, int runs) {
    uint64_t g0 = 0, g1 = 0;
    double probe = worst_time(w, host, m, n, 1, &g1);
    if (probe < 0 || worst_time(w, host, m, 0, 1, &g0) < 0 || g1 <= g0) return -1;
    int reps = probe > 0 ? (int)(10e6 / probe) : 1000; /* about 10 ms per measurement */
    reps = reps < 3 ? 3 : reps > 100000 ? 100000 : reps;
    double v[BENCH_RUNS_MAX];
    for (int i = 0; i < runs; i++) {
        double t0 = worst_time(w, host, m, 0, reps, &g0), t1 = worst_time(w, host, m, n, reps, &g1);
        if (t0 < 0 || t1 < 0) return -1;
        v[i] = (t1 - t0) / (double)(g1 - g0);
    }
    return median(v, runs);
}

/* One block of txs calling case m until block_gas is used (each with min(tx_gas, what is
 * left)); returns its ns, *txs the calls made. A block still running after 5 s of CPU
 * (a schedule that does not bound time) stops there: its time is extrapolated from the
 * gas used so far and *share says which part of the block ran (1 = all of it). */
#define WORST_BLOCK_NS_MAX 5e9
static double worst_block(worst_ctx *w, const cvm_host *host, const cvm_module *m,
                          uint64_t block_gas, uint64_t tx_gas, uint64_t *txs, double *share) {
    cvm_result r;
    uint64_t left = block_gas;
    *txs = 0;
    w->args[0] = cvm_int(INT32_MAX);
    double t0 = now_ns(), t = 0;
    *share = 1;
    while (left > 0) {
        uint64_t limit = tx_gas < left ? tx_gas : left;
        cvm_call(w->vm, m, "run", w->args, 3, host, &w->env, limit, &r);
        if (r.gas_used == 0) return -1;
        left -= r.gas_used < left ? r.gas_used : left;
        (*txs)++;
        t = now_ns() - t0;
        if (left > 0 && t > WORST_BLOCK_NS_MAX) {
            *share = (double)(block_gas - left) / (double)block_gas;
            return t / *share;
        }
    }
    return t;
}

static int worst_setup(worst_ctx *w) {
    static mem_state state;
    w->state = &state;
    w->vm = cvm_vm_new(NULL);
    w->a = malloc(WORST_BIG), w->b = malloc(WORST_BIG);
    if (w->vm == NULL || w->a == NULL || w->b == NULL) return 0;
    memset(w->a, 'k', WORST_BIG), memset(w->b, 'k', WORST_BIG);
    w->b[WORST_BIG - 1] = 'j';
    w->args[1] = cvm_bytes(w->a, WORST_BIG), w->args[2] = cvm_bytes(w->b, WORST_BIG);
    uint8_t key[256];
    memset(key, 'k', 255);
    for (int j = 0; j < 256; j++) {
        key[255] = (uint8_t)j;
        if (!mem_put(&state, key, 256, key + 255, 1)) return 0;
    }
    if (!mem_put(&state, (const uint8_t *)"big", 3, w->a, 65535)) return 0;
    w->host = (cvm_host){&state, mem_get_cb, mem_next_cb, sha256_cb};
    memset(&w->env, 0, sizeof w->env);
    memset(w->env.caller, 0x11, 32), memset(w->env.tx_id, 0xab, 32);
    memset(w->cos, 0x22, sizeof w->cos);
    w->env.cosigners = w->cos, w->env.cosigner_count = 2;
    w->env.block_height = 1, w->env.block_time_ms = 1700000000000;
    return 1;
}

static void worst_free(worst_ctx *w) {
    cvm_vm_free(w->vm);
    free(w->a), free(w->b);
    if (w->state) mem_free(w->state);
}

/* ns per gas of the integer loop (the bench's sumsq), median of runs. */
static double worst_loop_ns_per_gas(cvm_vm *vm, int runs) {
    cvm_module *m = bench_module(bench_loop_src);
    if (m == NULL) return -1;
    double v[BENCH_RUNS_MAX];
    const uint64_t n = 20000000;
    for (int i = 0; i < runs; i++) {
        int64_t sum;
        double per_iter = bench_vm_loop(vm, m, n, &sum);
        if (per_iter < 0) return cvm_module_free(m), -1;
        v[i] = per_iter / 5.0; /* mul 1 + add 1 + modk 2 + forloop 1 gas per iteration */
    }
    cvm_module_free(m);
    return median(v, runs);
}

static int bench_vm_worst(int runs) {
    worst_ctx w;
    memset(&w, 0, sizeof w);
    char *src = malloc(WORST_SRC_MAX);
    int rc = TC_EXIT_OK;
    size_t ncases = sizeof worst_cases / sizeof worst_cases[0];
    cvm_module *mods[WORST_CASES_MAX] = {0};
    if (src == NULL || !worst_setup(&w) || !worst_ledger_open(&w)) rc = TC_EXIT_INTERNAL;
    for (size_t c = 0; c < ncases && rc == TC_EXIT_OK; c++) {
        if (!worst_source(&worst_cases[c], src, WORST_SRC_MAX) ||
            (mods[c] = bench_module(src)) == NULL) {
            fprintf(stderr, "bench vm --worst: case '%s' does not assemble\n", worst_cases[c].name);
            rc = TC_EXIT_INTERNAL;
        }
    }
    double loop = rc == TC_EXIT_OK ? worst_loop_ns_per_gas(w.vm, runs) : -1;
    if (rc == TC_EXIT_OK && loop <= 0) rc = TC_EXIT_FAIL;
    if (rc == TC_EXIT_OK) {
        printf("consent-vm worst case time per gas (gas schedule %u), medians of %d runs\n",
               CVM_GAS_SCHEDULE, runs);
        printf("integer loop s = (s + i*i) %% 1000003: %.3f ns/gas\n", loop);
        printf("%-46s %9s %8s  %s\n", "opcode / host call (operands)", "ns/gas", "x loop", "bound 4x");
    }
    size_t worst = 0;
    double worst_ns = 0;
    for (size_t c = 0; c < ncases && rc == TC_EXIT_OK; c++) {
        const cvm_host *host = worst_cases[c].storage ? &w.ledger_host : &w.host;
        double ns = worst_case_ns_per_gas(&w, host, mods[c], worst_cases[c].n, runs);
        if (ns < 0) {
            rc = TC_EXIT_FAIL;
            break;
        }
        printf("%-46s %9.3f %8.2f  %s\n", worst_cases[c].name, ns, ns / loop,
               ns <= 4 * loop ? "ok" : "OVER");
        fflush(stdout);
        if (ns > worst_ns) worst_ns = ns, worst = c;
    }
    if (rc == TC_EXIT_OK) {
        printf("worst: %s: %.3f ns/gas = %.2f x the integer loop (bound 4x): %s\n",
               worst_cases[worst].name, worst_ns, worst_ns / loop, worst_ns <= 4 * loop ? "ok" : "OVER");
        printf("(abort ends the call: its cost is the per-call overhead, paid once per tx)\n");
        uint64_t txs = 0;
        double share = 1;
        const cvm_host *host = worst_cases[worst].storage ? &w.ledger_host : &w.host;
        double block = worst_block(&w, host, mods[worst], EXEC_BLOCK_GAS_DEFAULT, EXEC_GAS_DEFAULT,
                                   &txs, &share);
        if (block < 0) {
            rc = TC_EXIT_FAIL;
        } else {
            printf("full block at the block gas limit (%u gas; %" PRIu64 " txs of '%s', tx limit %u): "
                   "%.1f ms (bound 1000 ms): %s\n", (unsigned)EXEC_BLOCK_GAS_DEFAULT, txs,
                   worst_cases[worst].name, (unsigned)EXEC_GAS_DEFAULT, block / 1e6,
                   block < 1e9 ? "ok" : "OVER");
            if (share < 1)
                printf("(stopped after %.0f s: extrapolated from the first %.4f%% of the block's gas)\n",
                       WORST_BLOCK_NS_MAX / 1e9, share * 100);
        }
    }
    for (size_t c = 0; c < ncases; c++) cvm_module_free(mods[c]);
    worst_ledger_close(&w);
    worst_free(&w);
    free(src);
    return rc;
}
