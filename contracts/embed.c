/*
 * embed.c - build-time driver: assembles each contract (common.s prepended to <name>.s)
 * with consent-vm's assembler, writes <outdir>/<name>.cvm and one C file holding every
 * module as a byte array (contracts.h). Any assembler error fails the build with its line.
 *
 * It also emits the ABI table (contracts_abi, contracts.h) from the `;@abi` lines of each
 * contract's source: `;@abi METHOD KIND...` with KIND `int` or `bytes`, one line per
 * exported method. The build fails unless every exported function has exactly one such line
 * and its kinds count equals the function's parameter count (checked on the assembled
 * module), so the table cannot drift from the code.
 *
 *   cvm_embed OUT.c OUTDIR COMMON.s NAME FILE.s [NAME FILE.s]...
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvm.h"

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = (size_t)n;
    }
    return buf;
}

#define ABI_MAX 64

typedef struct {
    char contract[40], method[40], kinds[20];
} abi_line;

static abi_line abi[ABI_MAX];
static int abi_count;

/* Collect name's `;@abi` lines from body (len bytes) into abi[]. */
static int parse_abi(const char *name, const char *path, const char *body, size_t len)
{
    for (const char *p = body; p < body + len;) {
        const char *end = memchr(p, '\n', (size_t)(body + len - p));
        if (!end) end = body + len;
        if (end - p > 6 && memcmp(p, ";@abi ", 6) == 0) {
            char line[256], *save = NULL;
            size_t n = (size_t)(end - p) < sizeof line - 1 ? (size_t)(end - p) : sizeof line - 1;
            memcpy(line, p, n);
            line[n] = '\0';
            if (abi_count == ABI_MAX) return fprintf(stderr, "%s: too many @abi lines\n", path), -1;
            abi_line *a = &abi[abi_count++];
            snprintf(a->contract, sizeof a->contract, "%s", name);
            char *method = strtok_r(line + 6, " \t\r", &save);
            if (!method || strlen(method) >= sizeof a->method) {
                return fprintf(stderr, "%s: bad @abi line: %s\n", path, line), -1;
            }
            snprintf(a->method, sizeof a->method, "%s", method);
            size_t k = 0;
            for (char *t; (t = strtok_r(NULL, " \t\r", &save));) {
                if (k + 1 >= sizeof a->kinds || (strcmp(t, "int") && strcmp(t, "bytes"))) {
                    return fprintf(stderr, "%s: @abi %s: bad kind '%s'\n", path, method, t), -1;
                }
                a->kinds[k++] = t[0] == 'i' ? 'i' : 'b';
            }
            a->kinds[k] = '\0';
        }
        p = end + 1;
    }
    return 0;
}

/* Every exported function of the module has one @abi line of name with its arity. */
static int check_abi(const char *name, const char *path, const uint8_t *bytes, size_t len)
{
    cvm_module *m = NULL;
    if (cvm_module_load(bytes, len, &m, NULL) != CVM_OK) return -1;
    int rc = 0;
    for (uint32_t f = 0; f < cvm_module_func_count(m) && rc == 0; f++) {
        cvm_funcinfo info;
        cvm_module_func_info(m, f, &info);
        if (!info.exported) continue;
        int found = 0;
        for (int i = 0; i < abi_count; i++) {
            if (strcmp(abi[i].contract, name) || strcmp(abi[i].method, info.name)) continue;
            found++;
            if (strlen(abi[i].kinds) != info.nparams) {
                fprintf(stderr, "%s: @abi %s has %zu kinds, the function %u parameters\n", path,
                        info.name, strlen(abi[i].kinds), info.nparams);
                rc = -1;
            }
        }
        if (found != 1) {
            fprintf(stderr, "%s: exported %s needs exactly one @abi line (has %d)\n", path,
                    info.name, found);
            rc = -1;
        }
    }
    for (int i = 0; i < abi_count && rc == 0; i++) {
        if (strcmp(abi[i].contract, name) == 0 && cvm_module_find_export(m, abi[i].method) < 0) {
            fprintf(stderr, "%s: @abi %s names no exported function\n", path, abi[i].method);
            rc = -1;
        }
    }
    cvm_module_free(m);
    return rc;
}

static int emit(FILE *c, const char *outdir, const char *common, size_t common_len,
                const char *name, const char *path)
{
    size_t len = 0;
    char *body = read_text(path, &len);
    if (!body) {
        fprintf(stderr, "%s: cannot read\n", path);
        return -1;
    }
    char *source = malloc(common_len + len + 2);
    if (!source) return free(body), -1;
    memcpy(source, common, common_len);
    source[common_len] = '\n';
    memcpy(source + common_len + 1, body, len);
    if (parse_abi(name, path, body, len) != 0) {
        free(source);
        free(body);
        return -1;
    }
    uint8_t *module = NULL;
    size_t module_len = 0;
    cvm_error err;
    cvm_status st = cvm_assemble(source, common_len + 1 + len, &module, &module_len, &err);
    free(source);
    free(body);
    if (st != CVM_OK) {
        /* Lines count from the start of common.s (the prepended file). */
        fprintf(stderr, "%s (common.s prepended): %s: %s\n", path, cvm_strerror(st),
                err.message);
        return -1;
    }
    if (check_abi(name, path, module, module_len) != 0) {
        free(module);
        return -1;
    }
    char out_path[4096];
    snprintf(out_path, sizeof out_path, "%s/%s.cvm", outdir, name);
    FILE *m = fopen(out_path, "wb");
    if (!m || fwrite(module, 1, module_len, m) != module_len || fclose(m) != 0) {
        fprintf(stderr, "%s: cannot write\n", out_path);
        free(module);
        return -1;
    }
    fprintf(c, "static const uint8_t module_%s[%zu] = {", name, module_len);
    for (size_t i = 0; i < module_len; i++) {
        fprintf(c, "%s0x%02x,", i % 16 ? "" : "\n  ", module[i]);
    }
    fprintf(c, "\n};\n");
    free(module);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 6 || (argc - 4) % 2 != 0) {
        fprintf(stderr, "usage: cvm_embed OUT.c OUTDIR COMMON.s NAME FILE.s [NAME FILE.s]...\n");
        return 2;
    }
    size_t common_len = 0;
    char *common = read_text(argv[3], &common_len);
    if (!common) {
        fprintf(stderr, "%s: cannot read\n", argv[3]);
        return 1;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
    FILE *c = fopen(tmp, "w");
    if (!c) return free(common), 1;
    fprintf(c, "/* Generated by contracts/embed.c from the contracts/ assembly sources: do not edit. */\n"
               "#include \"contracts.h\"\n\n");
    int rc = 0;
    for (int i = 4; i < argc && rc == 0; i += 2) {
        rc = emit(c, argv[2], common, common_len, argv[i], argv[i + 1]);
    }
    fprintf(c, "\nconst contract_builtin contracts_builtin[] = {\n");
    for (int i = 4; i < argc; i += 2) {
        fprintf(c, "  {\"%s\", module_%s, (uint32_t)sizeof module_%s},\n", argv[i], argv[i],
                argv[i]);
    }
    fprintf(c, "};\nconst uint32_t contracts_builtin_count = %d;\n", (argc - 4) / 2);
    fprintf(c, "\nconst contract_abi_method contracts_abi[] = {\n");
    for (int i = 0; i < abi_count; i++) {
        fprintf(c, "  {\"%s\", \"%s\", \"%s\"},\n", abi[i].contract, abi[i].method,
                abi[i].kinds);
    }
    fprintf(c, "};\nconst uint32_t contracts_abi_count = %d;\n", abi_count);
    free(common);
    if (fclose(c) != 0 || rc != 0 || rename(tmp, argv[1]) != 0) {
        remove(tmp);
        return 1;
    }
    return 0;
}
