/*
 * random_trial.h - a generated trial (issue 22): a sponsor registers RANDOM_TRIAL, the
 * regulator approves it, both sites open, `participants` keys are enrolled, and then `events`
 * random txs follow, several per block: consent grants (witnessed), partial and full
 * withdrawals, data anchors, access requests, and now and then an amendment (re-consent
 * required or not) with its approval. Refused txs are part of the story (a grant on a
 * superseded version, an anchor without consent): the ledger decides, the generator only
 * picks plausible moves. One seed gives the same ledger. For the FHIR property test and
 * `trialctl bench fhir`.
 */
#ifndef TRIALREG_RANDOM_TRIAL_H
#define TRIALREG_RANDOM_TRIAL_H

#include "world.h"

#define RANDOM_TRIAL "TRIAL-RANDOM-01"

typedef struct {
    uint64_t seed;
    uint32_t participants; /* 1..100000 */
    uint32_t events;       /* random txs after the enrolments */
    uint32_t per_block;    /* txs per block, 1..200 */
} random_trial_options;

typedef struct {
    uint32_t txs, ok; /* txs committed, and of them with receipt OK */
    uint32_t blocks;
} random_trial_counts;

/* Participant i's key pair for seed (deterministic). */
void random_trial_key(uint64_t seed, uint32_t i, keypair *out);

/* Run the trial against w (opened, local). Returns 0, or -1 (message on stderr). */
int random_trial_run(world *w, const random_trial_options *o, random_trial_counts *counts);

#endif
