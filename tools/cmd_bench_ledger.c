/*
 * cmd_bench_ledger.c - `trialctl bench ledger`: append and audit throughput,
 * printed beside this machine's Ed25519 verify rate measured in the same run.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "commands.h"
#include "crypto.h"
#include "ledger.h"
#include "sample.h"

static const char BENCH_USAGE[] =
    "usage: trialctl bench ledger [--blocks N] [--txs N] [--runs N] [--dir DIR]\n"
    "  Writes N blocks (default 200) of N sample txs (default 100) to a fresh ledger\n"
    "  and audits it, --runs times (default 3); prints medians of txs appended per\n"
    "  second, txs and signatures audited per second, bytes on disk per tx, and this\n"
    "  machine's Ed25519 verify rate (one core, all cores) with the ratios.\n"
    "  Then writes an executed sample trial of the same size (every tx run by the\n"
    "  contracts) and audits it twice, plain and with --reexecute, and prints both\n"
    "  rates and their time ratio (target: re-execution <= 1.5 x the plain audit).\n";

typedef struct {
    double bound_sig_per_s; /* all-core verify rate, measured just before this run's audit */
    double append_tx_per_s;
    double audit_tx_per_s;
    double audit_sig_per_s;
    double bytes_per_tx;
    double trial_write_tx_per_s;   /* the executed sample trial: executed and appended */
    double trial_audit_tx_per_s;   /* plain audit of it */
    double trial_replay_tx_per_s;  /* audit --reexecute of it */
} bench_run;

/* ---- one run ------------------------------------------------------------------------ */

static uint64_t disk_bytes;
static int add_size(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path, (void)ftw;
    if (flag == FTW_F) disk_bytes += (uint64_t)st->st_size;
    return 0;
}

static int build_blocks(const sample_keys *keys, const ledger *l, uint64_t blocks,
                        uint32_t txs, sample_block *out)
{
    for (uint64_t h = 0; h < blocks; h++) {
        if (sample_block_build(keys, l, h + 1, h * txs, txs, &out[h]) != 0) return -1;
    }
    return 0;
}

static int one_run(const char *dir, uint64_t blocks, uint32_t txs, unsigned cores, bench_run *r)
{
    sample_keys *keys = calloc(1, sizeof *keys);
    sample_block *built = calloc(blocks, sizeof *built);
    uint8_t *genesis = NULL;
    size_t glen;
    ledger *l = NULL;
    int rc = -1;
    char why[300] = "out of memory";
    if (!keys || !built) goto out;
    sample_keys_derive(7, 4, keys);
    if (sample_genesis(keys, "bench", &genesis, &glen) != 0) goto out;
    ledger_error lerr;
    if (ledger_open(dir, genesis, glen, LEDGER_OPEN_CREATE, &l, &lerr) != LEDGER_OK) {
        snprintf(why, sizeof why, "%s", lerr.message);
        goto out;
    }
    if (build_blocks(keys, l, blocks, txs, built) != 0) goto out;
    double t0 = util_now();
    for (uint64_t h = 0; h < blocks; h++) {
        if (sample_block_append(l, keys, &built[h], why, sizeof why) != 0) goto out;
    }
    r->append_tx_per_s = (double)(blocks * txs) / (util_now() - t0);
    audit_ledger_cursor cursor;
    audit_source src;
    audit_summary s;
    audit_failure f;
    audit_ledger_source(&cursor, l, &src);
    r->bound_sig_per_s = util_verify_rate(cores, 0.5);
    t0 = util_now();
    bool ok = audit_run(genesis, glen, &src, 0, &s, &f);
    double secs = util_now() - t0;
    audit_ledger_cursor_done(&cursor);
    if (!ok) {
        snprintf(why, sizeof why, "audit failed at height %llu: %s",
                 (unsigned long long)f.height, f.reason);
        goto out;
    }
    r->audit_tx_per_s = (double)s.txs / secs;
    r->audit_sig_per_s = (double)s.signatures / secs;
    ledger_close(l);
    l = NULL;
    disk_bytes = 0;
    nftw(dir, add_size, 16, FTW_PHYS);
    r->bytes_per_tx = (double)disk_bytes / (double)(blocks * txs);
    rc = 0;
out:
    if (rc != 0) fprintf(stderr, "error: %s\n", why);
    ledger_close(l);
    for (uint64_t h = 0; built && h < blocks; h++) sample_block_free(&built[h]);
    free(built);
    free(keys);
    free(genesis);
    util_remove_tree(dir);
    return rc;
}

/* Audit the ledger, plain or re-executing into scratch; returns seconds, or -1. */
static double timed_audit(ledger *l, const uint8_t *genesis, size_t glen, bool reexecute,
                          const char *scratch, char *why, size_t why_cap)
{
    audit_ledger_cursor cursor;
    audit_source src;
    audit_summary s;
    audit_failure f;
    audit_ledger_source(&cursor, l, &src);
    audit_options opt = {.reexecute = reexecute, .scratch_dir = scratch};
    double t0 = util_now();
    bool ok = audit_run_with(genesis, glen, &src, &opt, &s, &f);
    double secs = util_now() - t0;
    audit_ledger_cursor_done(&cursor);
    util_remove_tree(scratch);
    if (ok) return secs;
    snprintf(why, why_cap, "%saudit failed at height %llu: %s", reexecute ? "re-executing " : "",
             (unsigned long long)f.height, f.reason);
    return -1;
}

/* The executed sample trial of blocks x txs: write it, audit it plain, then re-executing. */
static int trial_run(const char *dir, uint64_t blocks, uint32_t txs, bench_run *r)
{
    sample_keys *keys = calloc(1, sizeof *keys);
    uint8_t *genesis = NULL;
    size_t glen;
    ledger *l = NULL;
    int rc = -1;
    char why[300] = "out of memory", store[4200], scratch[4200];
    snprintf(store, sizeof store, "%s/trial", dir);
    snprintf(scratch, sizeof scratch, "%s/replay", dir);
    ledger_error lerr;
    if (!keys) goto out;
    if (mkdir(dir, 0700) != 0) {
        snprintf(why, sizeof why, "cannot create %.200s", dir);
        goto out;
    }
    sample_keys_derive(7, 4, keys);
    if (sample_genesis(keys, "bench-trial", &genesis, &glen) != 0) goto out;
    if (ledger_open(store, genesis, glen, LEDGER_OPEN_CREATE, &l, &lerr) != LEDGER_OK) {
        snprintf(why, sizeof why, "%s", lerr.message);
        goto out;
    }
    double t0 = util_now();
    if (sample_trial_write(l, keys, blocks, txs, why, sizeof why) != 0) goto out;
    ledger_summary head;
    ledger_head(l, &head);
    double n = (double)head.log_size;
    r->trial_write_tx_per_s = n / (util_now() - t0);
    double plain = timed_audit(l, genesis, glen, false, scratch, why, sizeof why);
    double replay = plain < 0 ? -1 : timed_audit(l, genesis, glen, true, scratch, why, sizeof why);
    if (replay < 0) goto out;
    r->trial_audit_tx_per_s = n / plain;
    r->trial_replay_tx_per_s = n / replay;
    rc = 0;
out:
    if (rc != 0) fprintf(stderr, "error: sample trial: %s\n", why);
    ledger_close(l);
    free(keys);
    free(genesis);
    util_remove_tree(dir);
    return rc;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, compare_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void print_report(bench_run *runs, size_t n, double one_core, unsigned cores)
{
    double v[10][32];
    for (size_t i = 0; i < n; i++) {
        v[0][i] = runs[i].append_tx_per_s;
        v[1][i] = runs[i].audit_tx_per_s;
        v[2][i] = runs[i].audit_sig_per_s;
        v[3][i] = runs[i].bytes_per_tx;
        v[4][i] = runs[i].bound_sig_per_s;
        v[5][i] = runs[i].audit_sig_per_s / runs[i].bound_sig_per_s;
        v[6][i] = runs[i].trial_write_tx_per_s;
        v[7][i] = runs[i].trial_audit_tx_per_s;
        v[8][i] = runs[i].trial_replay_tx_per_s;
        v[9][i] = runs[i].trial_audit_tx_per_s / runs[i].trial_replay_tx_per_s;
    }
    printf("medians of %zu runs\n", n);
    printf("ed25519 verify, 1 core:        %10.0f /s\n", one_core);
    printf("ed25519 verify, %u cores:       %10.0f /s   (the audit's bound, measured before "
           "each audit)\n", cores, median(v[4], n));
    printf("append:                        %10.0f tx/s\n", median(v[0], n));
    printf("audit:                         %10.0f tx/s\n", median(v[1], n));
    printf("audit signatures:              %10.0f sig/s = %.2f of the all-core bound "
           "(target >= 0.90)\n", median(v[2], n), median(v[5], n));
    printf("storage:                       %10.0f bytes on disk per tx\n", median(v[3], n));
    printf("executed sample trial (every tx run by the contracts):\n");
    printf("  execute + append:            %10.0f tx/s\n", median(v[6], n));
    printf("  audit:                       %10.0f tx/s\n", median(v[7], n));
    printf("  audit --reexecute:           %10.0f tx/s = %.2f x the audit's time "
           "(target <= 1.50)\n", median(v[8], n), median(v[9], n));
}

int cmd_bench_ledger(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, 0, 'h'},        {"blocks", required_argument, 0, 'b'},
        {"txs", required_argument, 0, 't'},   {"runs", required_argument, 0, 'r'},
        {"dir", required_argument, 0, 'd'},   {0, 0, 0, 0}};
    uint64_t blocks = 200, txs = 100, runs = 3;
    const char *base = "/tmp";
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        if (c == 'h') return printf("%s", BENCH_USAGE), TC_EXIT_OK;
        if (c == 'b' && !util_parse_u64("--blocks", optarg, 1, 100000, &blocks)) continue;
        if (c == 't' && !util_parse_u64("--txs", optarg, 8, CODEC_BLOCK_TXS_MAX, &txs)) continue;
        if (c == 'r' && !util_parse_u64("--runs", optarg, 1, 31, &runs)) continue;
        if (c == 'd') {
            base = optarg;
            continue;
        }
        return fprintf(stderr, "%s", BENCH_USAGE), TC_EXIT_USAGE;
    }
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned cores = online > 0 && online <= 64 ? (unsigned)online : 1;
    double one_core = util_verify_rate(1, 0.5);
    bench_run results[31];
    for (uint64_t i = 0; i < runs; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/trialreg-bench-%ld-%llu", base, (long)getpid(),
                 (unsigned long long)i);
        if (one_run(dir, blocks, (uint32_t)txs, cores, &results[i]) != 0) return TC_EXIT_INTERNAL;
        if (trial_run(dir, blocks, (uint32_t)txs, &results[i]) != 0) return TC_EXIT_INTERNAL;
    }
    printf("bench ledger: %llu blocks x %llu txs, %llu runs\n", (unsigned long long)blocks,
           (unsigned long long)txs, (unsigned long long)runs);
    print_report(results, runs, one_core, cores);
    return TC_EXIT_OK;
}
