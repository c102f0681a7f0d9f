/*
 * node.h - a validator: the PBFT core (pbft.h) driven over the peer transport
 * (transport.h, wire.h), the executor and ledger (executor.h, ledger.h), and
 * the client API (client_api.h). tools/trialnode.c is its command line.
 *
 * Threads: node_run's thread owns the core, the executor and the ledger
 * writes; the client API answers on nng's threads (under capi_exec_lock);
 * a small worker pool verifies tx signatures, each tx once per node, when it
 * first arrives (client submit, forwarded TXS, PRE-PREPARE bytes or a fetched
 * block), and the executor skips the check for txs verified that way.
 *
 * Files in the data directory (beside the LevelDB ledger):
 *   ledger/        the LevelDB store (ledger.h)
 *   pbft.state     the core's durable state (pbft_durable), two alternating
 *                  slots [magic "TRPBFT02", seq:8, len:8, sha256:32, bytes];
 *                  written and fdatasync'd before any message that depends on it
 *                  is sent. Local to this binary (raw struct), never shared.
 *   status.json    {node, pid, height, view, primary, view_changing, ...},
 *                  rewritten atomically every 200 ms (trialctl cluster status).
 *
 * Log: one line per event on stderr, "TIME LEVEL node=I event key=value...".
 */
#ifndef TRIALREG_NODE_H
#define TRIALREG_NODE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "config.h"
#include "metrics.h"

typedef struct node node;

/* A node's peer links and clock, for a harness that runs nodes over an in-memory
 * network on a scheduled clock (tests): node.c knows no transport but this. NULL
 * clocks: the host's (CLOCK_REALTIME, CLOCK_MONOTONIC). With an env the node opens no client API server (submit
 * through node_submit) and never sleeps (the harness schedules node_turn). */
typedef struct {
    void *ctx;
    /* queue a message for validator `peer` without waiting; false if it was dropped */
    bool (*send)(void *ctx, uint32_t peer, const uint8_t *data, size_t len);
    /* the next message received, without waiting; the node hands it back to release */
    bool (*recv)(void *ctx, uint8_t **data, size_t *len);
    void (*release)(void *ctx, uint8_t *data, size_t len);
    uint64_t (*wall_ms)(void *ctx); /* UTC ms: block times */
    uint64_t (*mono_ms)(void *ctx); /* monotonic ms: timers (never steps) */
    /* Harness only (zero in production): the mempool in its scheduled mode (no verifier
     * threads: the harness runs each check through node_mempool, mempool.h) */
    bool scheduled_checks;
    /* Harness only (NULL in production): asked at every crash point of a turn: before the
     * durable state is written ("persist"), before each message is sent ("send"), before
     * pbft.newview is written ("newview") and before each block is executed and appended
     * ("execute"). true: the node stops there as a process killed at that instant would
     * (nothing more is written or sent; node_turn returns false); the harness closes it and
     * opens it again on its data directory. */
    bool (*crash)(void *ctx, const char *point);
} node_env;

/* Open everything the config names. On failure returns NULL with a reason in
 * why (bad config, wrong key for this validator, corrupt ledger naming the
 * height, address in use). */
node *node_open(const config_node *cfg, char *why, size_t why_cap);
/* As node_open, over env's peer links and clock (env is copied). */
node *node_open_env(const config_node *cfg, const node_env *env, char *why, size_t why_cap);
/* One turn of the main loop (docs/NODE.md): take submitted and verified txs, receive what
 * arrived, tick, persist, send, execute. Returns false once the node has failed. */
bool node_turn(node *n);
/* Client txs, as the client API's submit (waits for their signature checks). */
void node_submit(node *n, const codec_span *txs, uint32_t count, codec_submit_result *results);
/* The node's mempool, for a harness that runs its checks and splits submits (mempool.h,
 * scheduled mode). Borrowed. */
struct mempool *node_mempool(node *n);
/* What a node reports about itself (status.json, the HTTP API's /v1/status, /readyz and
 * /metrics). caught_up: the node has every height it knows to exist (none it asked peers for
 * is missing). Taken every 200 ms by node_run's thread; node_status_get may be called from
 * any thread. */
typedef struct {
    uint32_t node;
    uint64_t height;
    uint64_t view;
    uint32_t primary;
    bool view_changing;
    bool caught_up;
    uint32_t pending;
    uint64_t committed_txs;
} node_status;
void node_status_get(node *n, node_status *out);
/* The node's metrics (metrics.h), as of the same snapshot. Any thread. */
void node_metrics_get(node *n, node_metrics *out);
/* The node's client API handler state (client_api.h), for another transport (the HTTP API)
 * to answer through capi_handle. Borrowed; valid until node_close. */
struct capi *node_client_api(node *n);
/* The chain id (SHA-256 of the genesis). */
const hash32 *node_chain_id(const node *n);
/* The height of the last block this node executed and stored. */
uint64_t node_height(node *n);
/* The PBFT batch bound the rules give (every replica the same): min(max_batch_txs,
 * block_gas_limit / tx_gas_limit, PBFT_BATCH_MAX). Batches are also bounded by the rules'
 * block_bytes_max (the primary stops adding txs; a backup refuses a PRE-PREPARE above it). */
uint32_t node_batch_max(const codec_rules *rules);
/* Call fn(ctx, height) on node_run's thread each time a result certificate is stored (its
 * block's receipts are complete then): the HTTP API resumes its event streams at once. Set
 * it before node_run, and leave ctx valid until node_run returns. fn NULL: none. */
void node_on_certified(node *n, void (*fn)(void *ctx, uint64_t height), void *ctx);
/* Run until *stop becomes non-zero (set it from a signal handler). Returns 0
 * on a clean stop, nonzero if the node had to stop (storage failure). */
int node_run(node *n, volatile sig_atomic_t *stop);
void node_close(node *n);

#endif
