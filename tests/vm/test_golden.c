/*
 * test_golden.c - determinism: result, gas, writes and events of a fixed set of calls,
 * compared exactly with tests/vm/golden.txt by both dispatch builds.
 * TRIALREG_UPDATE_GOLDEN=1 rewrites the file (and the fuzz seed corpus) instead.
 */
#include "vm_testlib.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct golden_case {
    const char *module;
    const char *method;
    const char *args; /* space-separated int:N | str:TEXT | hex:HEX */
    uint64_t gas;
} golden_case;

static const golden_case cases[] = {
    {"arith", "calc", "int:1234 int:567", 1000},
    {"arith", "calc", "int:-99 int:7", 1000},
    {"arith", "overflow", "int:0", 1000},
    {"arith", "overflow", "int:1", 1000},
    {"arith", "divide", "int:-9 int:2", 1000},
    {"arith", "divide", "int:1 int:0", 1000},
    {"arith", "shifts", "int:255 int:4", 1000},
    {"arith", "shifts", "int:1 int:64", 1000},
    {"loop", "sumsq", "int:1000", 100000},
    {"loop", "sumsq", "int:0", 100000},
    {"loop", "sumsq", "int:1000", 2000},
    {"consent", "grant", "str:alice int:3 int:1800000000000", 10000},
    {"consent", "check", "str:alice int:3", 10000},
    {"consent", "check", "str:zed int:3", 10000},
    {"consent", "withdraw", "str:alice int:3", 10000},
    {"consent", "withdraw", "str:nobody int:3", 10000},
    {"consent", "forget", "str:alice", 10000},
    {"consent", "grant", "str:alice int:3 int:1800000000000", 80},
    {"calls", "fib", "int:20", 1000000},
    {"calls", "deep", "int:64", 100000},
    {"calls", "deep", "int:65", 100000},
    {"calls", "use_add3", "", 1000},
    {"bytes", "greet", "", 1000},
    {"bytes", "measure", "hex:00010203", 1000},
    {"bytes", "roundtrip", "int:-123456789", 1000},
    {"bytes", "middle", "str:consent int:3 int:4", 1000},
    {"bytes", "middle", "str:consent int:3 int:5", 1000},
    {"bytes", "at", "hex:a1b2 int:1", 1000},
    {"bytes", "order", "str:abc str:abd", 1000},
    {"host", "identity", "", 1000},
    {"host", "cosign", "int:0", 1000},
    {"host", "list", "int:10", 10000},
    {"host", "clock", "", 1000},
    {"traps", "put_then_trap", "int:1", 1000},
    {"traps", "put_then_abort", "int:9", 1000},
    {"traps", "put_ok", "", 1000},
    {"traps", "spin", "", 5000},
    {"traps", "type_error", "", 1000},
    {"traps", "args", "int:1 int:2", 1000},
};

static const char *module_names[] = {"arith", "loop", "consent", "calls", "bytes", "host", "traps"};

static uint8_t argbuf[16][64];

static uint32_t parse_args(const char *spec, cvm_value *out) {
    uint32_t n = 0;
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", spec);
    for (char *save = NULL, *t = strtok_r(tmp, " ", &save); t; t = strtok_r(NULL, " ", &save), n++) {
        if (strncmp(t, "int:", 4) == 0) {
            out[n] = cvm_int(strtoll(t + 4, NULL, 10));
        } else if (strncmp(t, "str:", 4) == 0) {
            size_t l = strlen(t + 4);
            memcpy(argbuf[n], t + 4, l);
            out[n] = cvm_bytes(argbuf[n], (uint32_t)l);
        } else {
            size_t l = strlen(t + 4) / 2;
            for (size_t i = 0; i < l; i++) {
                unsigned v;
                sscanf(t + 4 + 2 * i, "%2x", &v);
                argbuf[n][i] = (uint8_t)v;
            }
            out[n] = cvm_bytes(argbuf[n], (uint32_t)l);
        }
    }
    return n;
}

static void seed(vmt_state *s) {
    memset(s, 0, sizeof *s);
    vmt_state_put(s, "p/a", 3, "A", 1);
    vmt_state_put(s, "p/c", 3, "C", 1);
    vmt_state_put(s, "q/x", 3, "X", 1);
}

/* Renders every case; the consent cases share one state that evolves with each
 * successful call, so later cases see earlier writes. */
static char *render_all(void) {
    size_t cap = 1 << 16, at = 0;
    char *out = malloc(cap);
    vmt_state consent_state;
    memset(&consent_state, 0, sizeof consent_state);
    const char *loaded = "";
    char line[4096];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const golden_case *g = &cases[c];
        if (strcmp(loaded, g->module) != 0) {
            char path[512];
            snprintf(path, sizeof path, "%s/tests/vm/modules/%s.s", TRIALREG_SOURCE_DIR, g->module);
            char *src = vmt_read_file(path, NULL);
            cr_assert(src != NULL);
            vmt_load(src);
            free(src);
            loaded = g->module;
        }
        cvm_value args[16];
        uint32_t n = parse_args(g->args, args);
        vmt_state fresh, *s = &fresh;
        seed(&fresh);
        if (strcmp(g->module, "consent") == 0) s = &consent_state;
        cvm_result r;
        vmt_call(g->method, args, n, g->gas, s, &r);
        if (r.status == CVM_OK) vmt_state_apply(s, &r);
        vmt_format(&r, line, sizeof line);
        at += (size_t)snprintf(out + at, cap - at, "%s.%s(%s) gas_limit=%llu -> %s\n", g->module,
                               g->method, g->args, (unsigned long long)g->gas, line);
        cr_assert(at < cap - 1);
    }
    return out;
}

static void write_corpus(void) {
    for (size_t k = 0; k < sizeof module_names / sizeof module_names[0]; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/tests/vm/modules/%s.s", TRIALREG_SOURCE_DIR, module_names[k]);
        char *src = vmt_read_file(path, NULL);
        vmt_load(src);
        size_t n;
        const uint8_t *b = vmt_last_bytes(&n);
        snprintf(path, sizeof path, "%s/tests/fuzz/corpus_vm/%s.cvm", TRIALREG_SOURCE_DIR, module_names[k]);
        FILE *f = fopen(path, "wb");
        cr_assert(f != NULL, "%s", path);
        fwrite(b, 1, n, f);
        fclose(f);
        free(src);
    }
}

Test(golden, matches_the_committed_file) {
    char *got = render_all();
    const char *golden_path = TRIALREG_SOURCE_DIR "/tests/vm/golden.txt";
    const char *update = getenv("TRIALREG_UPDATE_GOLDEN");
    if (update && strcmp(update, "1") == 0) {
        FILE *f = fopen(golden_path, "w");
        cr_assert(f != NULL);
        fputs(got, f);
        fclose(f);
        write_corpus();
    }
    char *want = vmt_read_file(golden_path, NULL);
    cr_assert(want != NULL, "missing %s (run with TRIALREG_UPDATE_GOLDEN=1 once)", golden_path);
    /* compare line by line to say which case differs */
    char *gs = NULL, *ws = NULL;
    char *gl = strtok_r(got, "\n", &gs), *wl = strtok_r(want, "\n", &ws);
    int line = 1;
    for (; gl && wl; gl = strtok_r(NULL, "\n", &gs), wl = strtok_r(NULL, "\n", &ws), line++)
        cr_assert_str_eq(gl, wl, "golden line %d differs:\n got  %s\n want %s", line, gl, wl);
    cr_assert(gl == NULL && wl == NULL, "golden file and cases differ in length at line %d", line);
    free(got);
    free(want);
}

Test(golden, same_call_twice_gives_same_output) {
    char *a = render_all();
    char *b = render_all();
    cr_assert_str_eq(a, b);
    free(a), free(b);
}
