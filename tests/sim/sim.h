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
    /* `--mix any` cycles through the mixes above (seed % SIM_MIX_COUNT), so that
     * every old seed keeps its mix; the generated adversary comes after. */
    SIM_MIX_COUNT,
    SIM_MIX_TWINS = SIM_MIX_COUNT, /* one faulty replica run as two honest twins sharing
                                      its key, in enumerated then random partitions */
    SIM_MIX_BYZZFUZZ,   /* f faulty replicas mutate their own signed messages in small
                           steps (ByzzFuzz), plus partitions in random rounds */
    SIM_MIX_CLOCK,      /* clock skew on all replicas, +-1 h jumps on f (the primary too) */
    SIM_MIX_NTP_STEP,   /* every replica's clock steps +1 h, then back (a majority fault) */
    SIM_MIX_RECONFIG,   /* validator-set changes at random heights (grow 4 -> 7, shrink
                           7 -> 4, rotation, all three), with crashes, partitions, a lossy
                           network, a failing primary and a removed validator that keeps
                           signing (docs/SIMULATION.md "Reconfiguration") */
    SIM_MIX_LAST,
} sim_mix;
#define SIM_MIX_ADVERSARY_FIRST SIM_MIX_TWINS
#define SIM_MIX_ADVERSARY_COUNT 3 /* `--mix adversary` cycles twins, byzzfuzz, clock */

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
    SIM_SCENARIO_SPLIT_NEWVIEW,  /* bug 1 (docs/SIMULATION.md): the faulty primary of
                                    view 1 sends a fresh PRE-PREPARE, then a NEW-VIEW
                                    that moves the laggards' low watermark */
    SIM_SCENARIO_LAST,
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
    bool keep_going; /* run on after a violation, tracing the later ones */
    bool strict_clock; /* clock mix: the jumped replicas must commit everything too */
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
    uint64_t mutations;       /* adversary: forged messages sent (ByzzFuzz) */
    uint64_t forged_accepted[7]; /* forged messages a correct replica accepted, by type */
    uint64_t time_refused;    /* clock mixes: fresh PRE-PREPAREs refused for their time */
    uint64_t violations;      /* with keep_going: all of them, else 1 */
    bool agreement_violated;  /* one of them was the agreement invariant */
    uint64_t clock_stuck;     /* clock mix: jumped replicas behind the others at the end */
} sim_result;

const char *sim_mix_name(sim_mix mix);
int sim_mix_parse(const char *name); /* -1 if unknown */
const char *sim_scenario_name(sim_scenario s);
int sim_scenario_parse(const char *name);
void sim_run(const sim_options *opt, sim_result *res);

#endif
