/*
 * world.h - an in-process trial consortium for examples, tests and benchmarks.
 *
 * One ledger, one executor in local mode (exec_commit_local: the commit and result
 * certificates are signed here by the 4 genesis validators' keys, standing in for PBFT),
 * an injected clock, and deterministic keys: every run gives the same bytes.
 *
 * Keys (all derived from fixed labels, never random): 4 validators, a sponsor, one
 * investigator at site-a and one at site-b, a regulator, a researcher, and
 * WORLD_PARTICIPANTS per-trial pseudonymous participant keys. The genesis carries the
 * built-in contracts (contracts.h).
 */
#ifndef TRIALREG_EXAMPLE_WORLD_H
#define TRIALREG_EXAMPLE_WORLD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "codec.h"
#include "crypto.h"
#include "executor.h"
#include "ledger.h"

#define WORLD_PARTICIPANTS 8
#define WORLD_KEYS (9 + WORLD_PARTICIPANTS)
#define WORLD_GENESIS_MS 1764000000000ull /* 2025-11-24T16:00:00Z */
#define WORLD_NEXT_NONCE UINT64_MAX
/* A local world's txs are valid until now_ms + this (the executor's most): a block
 * committed less than an hour after signing takes them. */
#define WORLD_VALID_FOR_MS 3600000u

typedef struct world world;

/* A remote backend (tools/trial_remote.c): the world's txs go to a running consortium
 * instead of the in-process executor. NULL in a local world. */
typedef struct {
    /* Commit txs (independent of each other) and fill receipts (status, code and reason;
     * event data is not kept). Returns 0 or -1 (message on stderr). */
    int (*commit)(void *ctx, world *w, const codec_span *txs, uint32_t count,
                  codec_receipt *receipts);
    /* The chain time standing for scenario time t_ms (see world_time_at). */
    uint64_t (*time_at)(void *ctx, const world *w, uint64_t t_ms);
    /* A fresh nonce (random) and the valid_until (the real clock + a margin) for a tx. */
    void (*stamp)(void *ctx, world *w, uint64_t *nonce, uint64_t *valid_until);
    /* The regulator's timeline of the trial. Returns 0 or -1. */
    int (*timeline)(void *ctx, world *w, const char *trial, FILE *out);
    void *ctx;
} world_backend;

struct world {
    keypair validators[4];
    keypair sponsor, inv_a, inv_b, regulator, researcher;
    keypair participants[WORLD_PARTICIPANTS];
    uint64_t next_nonce[WORLD_KEYS]; /* per key, in the order above */
    uint8_t *genesis;
    size_t genesis_len;
    ledger *l;
    exec *e;
    uint64_t now_ms;                 /* the injected clock (scenario time) */
    uint64_t valid_until;            /* 0: a local tx is valid until now_ms + WORLD_VALID_FOR_MS;
                                      * else the valid_until of every tx signed (tests) */
    hash32 chain_id;                 /* set by world_open, or by a remote backend */
    const world_backend *remote;     /* NULL: the in-process executor */
};

typedef struct {
    const keypair *key;
    unsigned meaning;
} world_cosig;

/* Derive the keys and write the genesis (chain_name picks the chain id). */
int world_init(world *w, const char *chain_name);
/* The same, with edit(g, ctx) changing the genesis (rules, authorities, governance) before
 * it is encoded: tests of the genesis's rules. */
int world_init_edit(world *w, const char *chain_name, void (*edit)(codec_genesis *g, void *ctx),
                    void *ctx);
/* Open (creating) the ledger in dir and an executor on it. */
int world_open(world *w, const char *dir, bool verify_signatures);
void world_close(world *w);

/* Sign a tx. nonce WORLD_NEXT_NONCE takes the signer's next nonce (a counter per key:
 * deterministic; a remote world's are random). chain NULL: this world's chain id. Returns the encoded length in out (cap bytes), or 0 on failure. */
size_t world_sign(world *w, const keypair *signer, uint64_t nonce, const hash32 *chain,
                  const char *contract, const char *method, const codec_value *args,
                  uint32_t nargs, const world_cosig *cos, uint32_t ncos, uint8_t *out,
                  size_t cap);

/* Commit txs as the next block at now_ms + advance_ms (the clock moves there). Decoded
 * receipts go to receipts (count of them; may be NULL). Returns 0 or -1 (message on
 * stderr). */
int world_commit(world *w, uint64_t advance_ms, const codec_span *txs, uint32_t count,
                 codec_receipt *receipts);

/* Sign and commit one tx as its own block; *r gets its receipt. The clock moves first,
 * so the tx is signed at its block's time (valid_until: world_sign). Returns 0 or -1. */
int world_run(world *w, uint64_t advance_ms, const keypair *signer, const char *contract,
              const char *method, const codec_value *args, uint32_t nargs,
              const world_cosig *cos, uint32_t ncos, codec_receipt *r);

/* The chain time that stands for scenario time t_ms: t_ms itself in a local world. A
 * remote consortium stamps blocks with its own clock, so there the backend maps scenario
 * times onto the real block times in the same order (a time between two committed steps
 * lands between their blocks). */
uint64_t world_time_at(const world *w, uint64_t t_ms);
/* The regulator's timeline of trial (commit order) to out. Returns 0 or -1. */
int world_timeline(world *w, const char *trial, FILE *out);

/* Argument helpers. */
codec_value world_int(int64_t v);
codec_value world_bytes(const void *p, uint32_t len);
codec_value world_text(const char *s);
/* A deterministic 32-byte "document" hash for a label. */
hash32 world_hash(const char *label);

/* The example trial scenario (examples/trial/README in ABI.md): runs every step against
 * w (opened), checks each receipt against the expected status and code, and writes the
 * regulator's timeline to timeline (may be NULL). Returns 0 if every step went as
 * expected, else -1 with the failing step on stderr. */
#define SCENARIO_TRIAL "TRIAL-CARDIO-01"
int scenario_run(world *w, FILE *timeline);

#endif
