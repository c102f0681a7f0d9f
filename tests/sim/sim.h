/*
 * sim.h - deterministic cluster simulator for the PBFT core.
 *
 * One 64-bit seed drives everything: network (drop, delay, duplicate,
 * reorder, partitions), crashes and restarts from persisted state, byzantine
 * replicas, client requests. Invariants are checked after every event; a
 * violation stops the run and is reported with the seed (docs/SIMULATION.md).
 */
#ifndef TRIALREG_SIM_H
#define TRIALREG_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    SIM_MIX_CLEAN = 0,  /* reliable network, no faults */
    SIM_MIX_LOSSY,      /* drop, delay, duplicate, reorder */
    SIM_MIX_PARTITION,  /* partitions that heal, plus lossy */
    SIM_MIX_CRASH,      /* crash and restart from persisted state, plus lossy */
    SIM_MIX_EQUIVOCATE, /* byzantine primary: equivocates, forges new-views */
    SIM_MIX_BYZANTINE,  /* byzantine replica: garbage, stale, wrong digest, forged */
    SIM_MIX_SLOW,       /* one slow replica, plus lossy */
    SIM_MIX_ALL,        /* everything above at once (within f faulty) */
    SIM_MIX_COUNT,
} sim_mix;

/* Scripted scenarios (golden traces). */
typedef enum {
    SIM_SCENARIO_NONE = 0,
    SIM_SCENARIO_NORMAL,
    SIM_SCENARIO_PRIMARY_CRASH,
    SIM_SCENARIO_EQUIVOCATE,
    SIM_SCENARIO_PARTITION,
    SIM_SCENARIO_CATCHUP,
    SIM_SCENARIO_CATCHUP_FAULTY, /* replica 3 lags, catches up over a lossy network;
                                    n = 7: replica 5 serves forged blocks and certs */
} sim_scenario;

typedef struct {
    uint64_t seed;
    uint32_t n;
    sim_mix mix;
    sim_scenario scenario;
    bool ed25519;   /* real signatures instead of the keyed-hash stand-in */
    bool no_signatures; /* benchmark only: sign nothing, accept everything */
    uint32_t bench_requests; /* benchmark: clean network, this many requests fed at once */
    uint32_t batch_max;      /* requests per batch (0 = 8, the simulator's usual size) */
    FILE *trace;    /* NULL: no trace */
} sim_options;

typedef struct {
    bool ok;
    char violation[256];
    uint64_t committed_requests;
    uint64_t max_height;
    uint64_t view_max;
    uint64_t sim_ms;
    uint64_t verifies;
    uint64_t replays; /* requests ordered twice (executor skipped the second) */
    uint64_t fetched_blocks;  /* blocks delivered through catch-up */
    uint64_t result_checked;  /* of which came with a verified result certificate */
    uint64_t fetch_refused;   /* fetched blocks or certificates refused by the core */
} sim_result;

const char *sim_mix_name(sim_mix mix);
int sim_mix_parse(const char *name); /* -1 if unknown */
const char *sim_scenario_name(sim_scenario s);
int sim_scenario_parse(const char *name);
void sim_run(const sim_options *opt, sim_result *res);

#endif
