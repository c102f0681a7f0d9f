/*
 * pbft_sim - run the PBFT simulator over a range of seeds, or replay one.
 *
 *   pbft_sim [--seeds N] [--from S] [--n 3f+1] [--mix NAME|any|adversary] [--ed25519-every K]
 *            [--scenario NAME] [--trace] [--expect-violation] [--no-signatures] [--keep-going]
 *            [--strict-clock]
 *            [--bench REQUESTS [--batch N]]   (clean network, REQUESTS fed as fast as accepted;
 *                                   N requests per batch, default 8)
 *
 * --mix any (default) picks the mix from the seed (seed % 8, the classic mixes);
 * --mix adversary picks twins, byzzfuzz or clock by (seed / 3) % 3. Every
 * seed K with K % ed25519-every == 0 signs with real Ed25519 (default 50).
 * Exit status 0 when every seed passed (or, with --expect-violation, when
 * at least one seed reported a violation).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "pbft.h"
#include "sim.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    uint64_t seeds = 1, from = 1, ed_every = 50;
    uint32_t n = 0;
    int mix = -1, scenario = 0;
    bool trace = false, expect_violation = false, no_sigs = false, keep_going = false;
    bool strict_clock = false;
    uint64_t agreement = 0;
    uint32_t bench = 0, batch = 0;
    uint64_t committed = 0, verifies = 0, fetched = 0, result_checked = 0, refused = 0;
    uint64_t mutations = 0, time_refused = 0, clock_stuck = 0;
    uint64_t accepted[7] = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--trace")) { trace = true; continue; }
        if (!strcmp(a, "--expect-violation")) { expect_violation = true; continue; }
        if (!strcmp(a, "--no-signatures")) { no_sigs = true; continue; }
        if (!strcmp(a, "--keep-going")) { keep_going = true; continue; }
        if (!strcmp(a, "--strict-clock")) { strict_clock = true; continue; }
        if (!v) { fprintf(stderr, "pbft_sim: %s needs a value\n", a); return 2; }
        i++;
        if (!strcmp(a, "--seeds")) seeds = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--from")) from = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--n")) n = (uint32_t)strtoul(v, NULL, 0);
        else if (!strcmp(a, "--ed25519-every")) ed_every = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--bench")) bench = (uint32_t)strtoul(v, NULL, 0);
        else if (!strcmp(a, "--batch")) batch = (uint32_t)strtoul(v, NULL, 0);
        else if (!strcmp(a, "--mix")) {
            mix = !strcmp(v, "any") ? -1 : !strcmp(v, "adversary") ? -2 : sim_mix_parse(v);
            if (mix == -1 && strcmp(v, "any")) { fprintf(stderr, "pbft_sim: unknown mix %s\n", v); return 2; }
        } else if (!strcmp(a, "--scenario")) {
            scenario = sim_scenario_parse(v);
            if (scenario < 0) { fprintf(stderr, "pbft_sim: unknown scenario %s\n", v); return 2; }
        } else { fprintf(stderr, "pbft_sim: unknown option %s\n", a); return 2; }
    }
    if (n && (n < 4 || n > PBFT_N_MAX || (n - 1) % 3 != 0)) {
        fprintf(stderr, "pbft_sim: --n must be 3f+1, 4 <= n <= %d\n", PBFT_N_MAX);
        return 2;
    }
    tcrypto_init();
    uint64_t failed = 0, ed = 0, run = 0;
    double t0 = now_s();
    for (uint64_t k = from; k < from + seeds; k++) {
        sim_options opt = {0};
        opt.seed = k;
        opt.n = n ? n : (k % 3 == 0 ? 7 : 4);
        opt.mix = mix >= 0 ? (sim_mix)mix : (sim_mix)(k % SIM_MIX_COUNT);
        if (mix == -2) /* the generated adversary: twins, byzzfuzz, clock by seed / 3
                          (not seed % 3, which also picks n) */
            opt.mix = (sim_mix)(SIM_MIX_ADVERSARY_FIRST + (k / 3) % SIM_MIX_ADVERSARY_COUNT);
        opt.scenario = (sim_scenario)scenario;
        opt.ed25519 = ed_every && k % ed_every == 0 && !scenario;
        opt.trace = trace ? stdout : NULL;
        opt.no_signatures = no_sigs;
        opt.keep_going = keep_going;
        opt.strict_clock = strict_clock;
        opt.bench_requests = bench;
        opt.batch_max = batch;
        if (bench)
            opt.mix = SIM_MIX_CLEAN;
        ed += opt.ed25519;
        run++;
        sim_result res;
        sim_run(&opt, &res);
        committed += res.committed_requests;
        verifies += res.verifies;
        fetched += res.fetched_blocks;
        result_checked += res.result_checked;
        refused += res.fetch_refused;
        mutations += res.mutations;
        for (int t = 0; t < 7; t++)
            accepted[t] += res.forged_accepted[t];
        time_refused += res.time_refused;
        clock_stuck += res.clock_stuck;
        if (!res.ok) {
            failed++;
            agreement += res.agreement_violated;
            printf("FAIL seed=%llu n=%u mix=%s%s: %s\n  replay: pbft_sim --from %llu --n %u --mix %s%s --trace\n",
                   (unsigned long long)k, opt.n, sim_mix_name(opt.mix),
                   opt.ed25519 ? " ed25519" : "", res.violation, (unsigned long long)k, opt.n,
                   sim_mix_name(opt.mix), opt.ed25519 ? " --ed25519-every 1" : "");
            if (keep_going)
                printf("  %llu violations in all%s\n", (unsigned long long)res.violations,
                       res.agreement_violated ? ", agreement among them" : "");
            if (expect_violation)
                break;
        }
    }
    double dt = now_s() - t0;
    if (keep_going)
        printf("pbft_sim: %llu of the failed seeds violated agreement\n",
               (unsigned long long)agreement);
    printf("pbft_sim: %llu seeds from %llu, %llu with Ed25519, %llu failed, %.1f ms/seed\n",
           (unsigned long long)run, (unsigned long long)from, (unsigned long long)ed,
           (unsigned long long)failed, run ? dt * 1000.0 / (double)run : 0.0);
    printf("pbft_sim: %llu requests committed (summed over correct replicas), %.0f/s; "
           "%llu signature checks, %.0f/s\n",
           (unsigned long long)committed, dt > 0 ? (double)committed / dt : 0.0,
           (unsigned long long)verifies, dt > 0 ? (double)verifies / dt : 0.0);
    printf("pbft_sim: catch-up: %llu fetched blocks delivered, %llu with a verified result "
           "certificate, %llu refused\n",
           (unsigned long long)fetched, (unsigned long long)result_checked,
           (unsigned long long)refused);
    if (mutations || time_refused)
        printf("pbft_sim: adversary: %llu forged messages sent; %llu fresh proposals refused "
               "for their time; %llu jumped replicas left behind\n", (unsigned long long)mutations,
               (unsigned long long)time_refused, (unsigned long long)clock_stuck);
    if (mutations)
        printf("pbft_sim: forged messages accepted by correct replicas: PRE-PREPARE %llu, "
               "PREPARE %llu, COMMIT %llu, CHECKPOINT %llu, VIEW-CHANGE %llu, NEW-VIEW %llu\n",
               (unsigned long long)accepted[1], (unsigned long long)accepted[2],
               (unsigned long long)accepted[3], (unsigned long long)accepted[4],
               (unsigned long long)accepted[5], (unsigned long long)accepted[6]);
    if (bench) {
        /* the raw Ed25519 verify rate of this machine, same process, one core */
        keypair kp;
        uint8_t seed[32] = {3}, body[128] = {0};
        hash32 chain = {{0}};
        signature sig;
        tcrypto_keypair_from_seed(seed, &kp);
        tcrypto_sign(&kp, TCRYPTO_TAG_PREPARE, &chain, body, sizeof body, &sig);
        uint64_t k = 0;
        double v0 = now_s();
        while (now_s() < v0 + 1.0)
            for (int i = 0; i < 32; i++)
                k += tcrypto_verify(&kp.public_key, TCRYPTO_TAG_PREPARE, &chain, body, sizeof body,
                                    &sig);
        printf("pbft_sim: Ed25519 verify rate on one core in this run: %.0f/s\n",
               (double)k / (now_s() - v0));
    }
    if (expect_violation)
        return failed ? 0 : 1;
    return failed ? 1 : 0;
}
