/*
 * cmd_trial.c - `trialctl example-trial OUTDIR` (the example trial of examples/trial on
 * an in-process executor with an injected clock) and `trialctl bench exec` (executor
 * throughput beside the Ed25519 verify rate of the same run).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "trialreg_client.h"
#include "commands.h"
#include "errors.h"
#include "world.h"

static const char EXAMPLE_USAGE[] =
    "usage: trialctl example-trial OUTDIR\n"
    "       trialctl example-trial --url URL --consortium DIR [--timeout-ms MS]\n"
    "  runs the example trial (examples/trial) against an in-process executor on\n"
    "  an injected clock; writes OUTDIR/genesis.bin, OUTDIR/ledger (audit it with\n"
    "  trialctl audit) and OUTDIR/timeline.txt, and prints the timeline.\n"
    "  Deterministic: the same bytes every run. OUTDIR/ledger must not exist.\n"
    "  With --url: the same scenario against the running consortium made by `trialctl\n"
    "  init DIR` (its keys in DIR/keys, random nonces; participants' keys\n"
    "  derived from the chain id), each step's txs submitted pipelined and their\n"
    "  receipts awaited (MS per step, default 30000) before the next step; prints the\n"
    "  regulator's timeline. Once per consortium (the trial id is fixed).\n";

static int example_remote_args(int argc, char **argv)
{
    const char *url = NULL, *dir = NULL;
    uint64_t timeout = CLIENT_TIMEOUT_DEFAULT_MS;
    for (int i = 1; i < argc; i += 2) { /* --OPTION VALUE pairs */
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v && strcmp(argv[i], "--url") == 0) url = v;
        else if (v && strcmp(argv[i], "--consortium") == 0) dir = v;
        else if (v && strcmp(argv[i], "--timeout-ms") == 0) {
            if (util_parse_u64("--timeout-ms", v, 1, 3600000, &timeout) != 0) return TC_EXIT_USAGE;
        } else {
            return fprintf(stderr, "%s", EXAMPLE_USAGE), TC_EXIT_USAGE;
        }
    }
    if (!url || !dir) return fprintf(stderr, "%s", EXAMPLE_USAGE), TC_EXIT_USAGE;
    return example_trial_remote(url, dir, (uint32_t)timeout);
}

int cmd_example_trial(int argc, char **argv)
{
    if (argc > 2 && strncmp(argv[1], "--", 2) == 0 && strcmp(argv[1], "--help") != 0)
        return example_remote_args(argc, argv);
    if (argc != 2 || strcmp(argv[1], "--help") == 0) {
        fprintf(argc == 2 ? stdout : stderr, "%s", EXAMPLE_USAGE);
        return argc == 2 ? TC_EXIT_OK : TC_EXIT_USAGE;
    }
    const char *dir = argv[1];
    char path[4096];
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "error: %s: %s\n", dir, strerror(errno));
        return TC_EXIT_INPUT;
    }
    snprintf(path, sizeof path, "%s/ledger", dir);
    struct stat st;
    if (stat(path, &st) == 0) {
        fprintf(stderr, "error: %s exists: the example writes a new ledger\n", path);
        return TC_EXIT_USAGE;
    }
    world w;
    if (world_init(&w, "trialreg-example") != 0) return TC_EXIT_INTERNAL;
    char gpath[4096];
    snprintf(gpath, sizeof gpath, "%s/genesis.bin", dir);
    if (util_write_file(gpath, w.genesis, w.genesis_len) != 0 || world_open(&w, path, true) != 0) {
        free(w.genesis);
        return TC_EXIT_INTERNAL;
    }
    char *text = NULL;
    size_t text_len = 0;
    FILE *mem = open_memstream(&text, &text_len);
    int rc = mem ? scenario_run(&w, mem) : -1;
    if (mem) fclose(mem);
    world_close(&w);
    if (rc != 0) {
        fprintf(stderr, "error: the scenario did not go as the rules say (see above)\n");
        free(text);
        return TC_EXIT_FAIL;
    }
    snprintf(path, sizeof path, "%s/timeline.txt", dir);
    if (util_write_file(path, (const uint8_t *)text, text_len) != 0) {
        free(text);
        return TC_EXIT_INTERNAL;
    }
    fwrite(text, 1, text_len, stdout);
    free(text);
    return TC_EXIT_OK;
}

/* ---- bench exec ----------------------------------------------------------------------- */

#define BENCH_BLOCK 1000u

typedef struct {
    uint8_t *buf;
    codec_span *spans;
    uint32_t count;
} tx_set;

static int make_dir(char *tmpl) { return mkdtemp(tmpl) ? 0 : -1; }

/* *seconds: wall time of the whole commits; *exec_seconds: the executor's share (without
 * ledger_append, without building and signing the certificates). */
static int commit_set(world *w, const tx_set *set, double *seconds, double *exec_seconds,
                      uint32_t *ok)
{
    exec_stats before, after;
    exec_stats_get(w->e, &before);
    codec_receipt *r = malloc(BENCH_BLOCK * sizeof *r);
    if (!r) return -1;
    double t0 = util_now();
    int rc = 0;
    *ok = 0;
    for (uint32_t at = 0; at < set->count && rc == 0; at += BENCH_BLOCK) {
        uint32_t n = set->count - at < BENCH_BLOCK ? set->count - at : BENCH_BLOCK;
        rc = world_commit(w, 1000, set->spans + at, n, NULL);
        const codec_span *rs = exec_last_receipts(w->e);
        for (uint32_t i = 0; rc == 0 && i < n; i++) {
            if (codec_receipt_decode(rs[i].data, rs[i].len, r, NULL) == CODEC_OK
                && r->status == RECEIPT_OK) {
                (*ok)++;
            }
        }
    }
    *seconds = util_now() - t0;
    exec_stats_get(w->e, &after);
    *exec_seconds = (double)(after.execute_ns - before.execute_ns) / 1e9;
    free(r);
    return rc;
}

static int sign_set(world *w, tx_set *set, uint32_t count, int kind, uint32_t participants,
                    uint32_t round)
{
    set->buf = malloc((size_t)count * 512);
    set->spans = malloc(count * sizeof *set->spans);
    set->count = count;
    if (!set->buf || !set->spans) return -1;
    codec_value trial = world_text("BENCH-TRIAL");
    hash32 form = world_hash("consent form v1");
    for (uint32_t i = 0; i < count; i++) {
        uint8_t *out = set->buf + (size_t)i * 512;
        uint32_t p = i % participants;
        size_t len;
        if (kind == 0) {
            codec_value args[] = {trial, world_int(1), world_bytes(form.bytes, 32), world_int(31)};
            world_cosig cos = {&w->inv_a, MEANING_WITNESS};
            len = world_sign(w, &w->participants[p], WORLD_NEXT_NONCE, NULL, "consent", "grant",
                             args, 4, &cos, 1, out, 512);
        } else {
            char label[64];
            snprintf(label, sizeof label, "bench record %u/%u", round, i);
            hash32 h = world_hash(label);
            codec_value args[] = {trial, world_bytes(w->participants[p].public_key.bytes, 32),
                                  world_int(SCOPE_MAIN), world_int((int64_t)w->now_ms),
                                  world_bytes(h.bytes, 32), world_int(4096)};
            len = world_sign(w, &w->inv_a, WORLD_NEXT_NONCE, NULL, "data", "anchor", args, 6,
                             NULL, 0, out, 512);
        }
        if (len == 0) return -1;
        set->spans[i] = (codec_span){out, len};
    }
    return 0;
}

static void free_set(tx_set *s)
{
    free(s->buf);
    free(s->spans);
}

/* A world with the bench trial registered, approved, site-a active and the participants
 * enrolled and consenting (so anchors are valid). */
static int bench_world(world *w, const char *dir, bool verify)
{
    if (world_init(w, "trialreg-bench") != 0 || world_open(w, dir, verify) != 0) return -1;
    codec_value trial = world_text("BENCH-TRIAL");
    hash32 doc = world_hash("bench protocol"), p1 = world_hash("bench primary");
    hash32 form = world_hash("consent form v1");
    static const uint8_t sites[] = "\x06site-a";
    codec_value reg[] = {trial, world_bytes(doc.bytes, 32), world_bytes(p1.bytes, 32),
                         world_bytes("", 0), world_int(1000), world_bytes(sites, 7),
                         world_bytes(form.bytes, 32)};
    codec_value appr[] = {trial, world_int(1)};
    codec_value act[] = {trial, world_text("site-a")};
    codec_receipt r;
    if (world_run(w, 1000, &w->sponsor, "protocol", "register", reg, 7, NULL, 0, &r) || r.status
        || world_run(w, 1000, &w->regulator, "protocol", "approve", appr, 2, NULL, 0, &r) || r.status
        || world_run(w, 1000, &w->sponsor, "protocol", "activate", act, 2, NULL, 0, &r) || r.status) {
        fprintf(stderr, "bench setup failed: %s\n", r.reason);
        return -1;
    }
    for (uint32_t i = 0; i < WORLD_PARTICIPANTS; i++) {
        codec_value en[] = {trial, world_bytes(w->participants[i].public_key.bytes, 32)};
        if (world_run(w, 1000, &w->inv_a, "consent", "enrol", en, 2, NULL, 0, &r) || r.status) {
            fprintf(stderr, "bench enrol failed: %s\n", r.reason);
            return -1;
        }
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, uint32_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One run: rates = grants/s, anchors/s committed; grants/s, anchors/s executed. */
static int bench_run(bool verify, uint32_t count, uint32_t round, double rates[4])
{
    char dir[] = "/tmp/trialreg-bench-exec-XXXXXX";
    if (make_dir(dir) != 0) return -1;
    world w;
    tx_set grants = {0}, anchors = {0};
    int rc = bench_world(&w, dir, verify);
    if (rc == 0) rc = sign_set(&w, &grants, count, 0, WORLD_PARTICIPANTS, round);
    double secs = 0, esecs = 0;
    uint32_t ok = 0;
    if (rc == 0) rc = commit_set(&w, &grants, &secs, &esecs, &ok);
    if (rc == 0 && ok != count) {
        fprintf(stderr, "bench: only %u of %u grants succeeded\n", ok, count);
        rc = -1;
    }
    rates[0] = count / secs;
    rates[2] = count / esecs;
    if (rc == 0) rc = sign_set(&w, &anchors, count, 1, WORLD_PARTICIPANTS, round);
    if (rc == 0) rc = commit_set(&w, &anchors, &secs, &esecs, &ok);
    if (rc == 0 && ok != count) {
        fprintf(stderr, "bench: only %u of %u anchors succeeded\n", ok, count);
        rc = -1;
    }
    rates[1] = count / secs;
    rates[3] = count / esecs;
    free_set(&grants);
    free_set(&anchors);
    world_close(&w);
    util_remove_tree(dir);
    return rc;
}

static double verify_rate(uint32_t count)
{
    keypair k;
    uint8_t seed[32] = {7};
    tcrypto_keypair_from_seed(seed, &k);
    hash32 chain = world_hash("bench chain");
    uint8_t body[300] = {1};
    signature sig;
    tcrypto_sign(&k, TCRYPTO_TAG_TX, &chain, body, sizeof body, &sig);
    double t0 = util_now();
    uint32_t good = 0;
    for (uint32_t i = 0; i < count; i++) {
        good += tcrypto_verify(&k.public_key, TCRYPTO_TAG_TX, &chain, body, sizeof body, &sig);
    }
    double secs = util_now() - t0;
    return good == count ? count / secs : 0;
}

int cmd_bench_exec(int argc, char **argv)
{
    uint64_t count = 20000, runs = 5;
    bool profile = false; /* --profile: only the unsigned runs (for perf), no verify loop */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--profile") == 0) {
            profile = true;
            continue;
        }
        if (strcmp(argv[i], "--txs") == 0 && i + 1 < argc) {
            if (util_parse_u64("--txs", argv[++i], 1000, 1000000, &count)) return TC_EXIT_USAGE;
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            if (util_parse_u64("--runs", argv[++i], 1, 25, &runs)) return TC_EXIT_USAGE;
        } else {
            FILE *out = strcmp(argv[i], "--help") == 0 ? stdout : stderr;
            fprintf(out, "usage: trialctl bench exec [--txs N] [--runs R] [--profile]\n"
                         "  consent grants and data anchors executed per second on one core\n"
                         "  (blocks of %u txs through the executor and the ledger), with and\n"
                         "  without signature checks, beside this run's Ed25519 verify rate.\n"
                         "  --profile runs only the unsigned part (to profile the executor).\n",
                    BENCH_BLOCK);
            return out == stdout ? TC_EXIT_OK : TC_EXIT_USAGE;
        }
    }
    double g_sig[25], a_sig[25], g_nosig[25], a_nosig[25], ver[25];
    double xg_sig[25], xa_sig[25], xg_nosig[25], xa_nosig[25];
    for (uint32_t r = 0; r < runs; r++) {
        double rates[4] = {0};
        ver[r] = profile ? 1 : verify_rate(20000);
        if (!profile && bench_run(true, (uint32_t)count, r, rates) != 0) return TC_EXIT_INTERNAL;
        g_sig[r] = rates[0];
        a_sig[r] = rates[1];
        xg_sig[r] = rates[2];
        xa_sig[r] = rates[3];
        if (bench_run(false, (uint32_t)count, r, rates) != 0) return TC_EXIT_INTERNAL;
        g_nosig[r] = rates[0];
        a_nosig[r] = rates[1];
        xg_nosig[r] = rates[2];
        xa_nosig[r] = rates[3];
    }
    uint32_t n = (uint32_t)runs;
    double v = median(ver, n);
    double gs = median(g_sig, n), as = median(a_sig, n), gn = median(g_nosig, n),
           an = median(a_nosig, n);
    double xgs = median(xg_sig, n), xas = median(xa_sig, n), xgn = median(xg_nosig, n),
           xan = median(xa_nosig, n);
    printf("bench exec: %" PRIu64 " txs per kind per run, blocks of %u, %" PRIu64
           " runs, medians, one core\n", count, BENCH_BLOCK, runs);
    printf("  ed25519 verify                          %9.0f /s\n", v);
    printf("  executed (executor only: decode, checks, contract, receipt, writes)\n");
    printf("    consent.grant  with signatures (2)    %9.0f tx/s\n", xgs);
    printf("    consent.grant  without signatures     %9.0f tx/s = %.2f x verify rate\n", xgn, xgn / v);
    printf("    data.anchor    with signature (1)     %9.0f tx/s\n", xas);
    printf("    data.anchor    without signatures     %9.0f tx/s = %.2f x verify rate\n", xan, xan / v);
    printf("  committed (+ ledger_append: log, tx index, state writes, fsync; + local certificates)\n");
    printf("    consent.grant  with / without         %9.0f / %.0f tx/s (%.2f x verify rate)\n", gs, gn, gn / v);
    printf("    data.anchor    with / without         %9.0f / %.0f tx/s (%.2f x verify rate)\n", as, an, an / v);
    printf("  target (executed without signatures >= 3 x verify rate): %s\n",
           xgn >= 3 * v && xan >= 3 * v ? "met" : "NOT met");
    return TC_EXIT_OK;
}
