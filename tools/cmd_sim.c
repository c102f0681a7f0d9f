/*
 * cmd_sim.c - trialctl sim: the deterministic PBFT cluster simulator
 * (tests/sim, linked as the static library pbft_simlib; docs/SIMULATION.md).
 *
 *   trialctl sim [--seeds N] [--from S] [--n 4|7|10|13|16] [--mix NAME|any] [--trace SEED]
 *
 * Runs seeds S .. S+N-1 (default 1 seed from 1). --mix any (default) picks
 * the mix from the seed, as pbft_sim does; n defaults to 7 for seeds that are
 * multiples of 3 and 4 otherwise; every 50th seed signs with real Ed25519.
 * --trace SEED replays that one seed with a readable trace on stdout.
 * Exit 0 when every seed passed, 1 when any reported a violation.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "pbft.h"
#include "sim.h"

static void sim_usage(void)
{
    fprintf(stderr, "usage: trialctl sim [--seeds N] [--from S] [--n 4|7|10|13|16] "
                    "[--mix NAME|any] [--trace SEED]\n  mixes: any");
    for (int m = 0; m < SIM_MIX_LAST; m++)
        fprintf(stderr, " %s", sim_mix_name((sim_mix)m));
    fprintf(stderr, "\n");
}

int cmd_sim(int argc, char **argv)
{
    uint64_t seeds = 1, from = 1, n = 0, trace_seed = 0;
    int mix = -1;
    bool trace = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            sim_usage();
            return TC_EXIT_OK;
        }
        if (!v) {
            fprintf(stderr, "trialctl sim: %s needs a value\n", a);
            sim_usage();
            return TC_EXIT_USAGE;
        }
        i++;
        int rc = 0;
        if (!strcmp(a, "--seeds"))
            rc = util_parse_u64(a, v, 1, UINT64_MAX / 2, &seeds);
        else if (!strcmp(a, "--from"))
            rc = util_parse_u64(a, v, 0, UINT64_MAX / 2, &from);
        else if (!strcmp(a, "--n"))
            rc = util_parse_u64(a, v, 4, PBFT_N_MAX, &n);
        else if (!strcmp(a, "--trace")) {
            rc = util_parse_u64(a, v, 0, UINT64_MAX / 2, &trace_seed);
            trace = true;
        } else if (!strcmp(a, "--mix")) {
            mix = strcmp(v, "any") ? sim_mix_parse(v) : -1;
            if (strcmp(v, "any") && mix < 0) {
                fprintf(stderr, "trialctl sim: unknown mix %s\n", v);
                sim_usage();
                return TC_EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "trialctl sim: unknown option %s\n", a);
            sim_usage();
            return TC_EXIT_USAGE;
        }
        if (rc != 0)
            return TC_EXIT_USAGE;
    }
    if (n && (n - 1) % 3 != 0) {
        fprintf(stderr, "trialctl sim: --n must be 3f+1 (4, 7, 10, 13, 16)\n");
        return TC_EXIT_USAGE;
    }
    if (trace) {
        from = trace_seed;
        seeds = 1;
    }
    uint64_t failed = 0, ed = 0, committed = 0, fetched = 0, result_checked = 0;
    double t0 = util_now();
    for (uint64_t k = from; k < from + seeds; k++) {
        sim_options opt;
        memset(&opt, 0, sizeof opt);
        opt.seed = k;
        opt.n = n ? (uint32_t)n : (k % 3 == 0 ? 7 : 4);
        opt.mix = mix >= 0 ? (sim_mix)mix : (sim_mix)(k % SIM_MIX_COUNT);
        opt.ed25519 = k % 50 == 0;
        opt.trace = trace ? stdout : NULL;
        ed += opt.ed25519;
        sim_result res;
        sim_run(&opt, &res);
        committed += res.committed_requests;
        fetched += res.fetched_blocks;
        result_checked += res.result_checked;
        if (!res.ok) {
            failed++;
            printf("FAIL seed=%llu n=%u mix=%s%s: %s\n  replay: trialctl sim --trace %llu --n %u "
                   "--mix %s\n",
                   (unsigned long long)k, opt.n, sim_mix_name(opt.mix),
                   opt.ed25519 ? " ed25519" : "", res.violation, (unsigned long long)k, opt.n,
                   sim_mix_name(opt.mix));
        }
    }
    double dt = util_now() - t0;
    printf("trialctl sim: %llu seeds from %llu, %llu with Ed25519, %llu failed, %.1f ms/seed; "
           "%llu requests committed (summed over correct replicas); catch-up: %llu fetched "
           "blocks, %llu with a verified result certificate\n",
           (unsigned long long)seeds, (unsigned long long)from, (unsigned long long)ed,
           (unsigned long long)failed, dt * 1000.0 / (double)seeds, (unsigned long long)committed,
           (unsigned long long)fetched, (unsigned long long)result_checked);
    return failed ? TC_EXIT_FAIL : TC_EXIT_OK;
}
