/*
 * mempool.h - a validator's txs waiting to be executed, by digest (the RFC 9162
 * leaf hash of the tx bytes, which is what the PBFT core orders), and the
 * worker pool that verifies each tx's signatures once, when it first arrives.
 *
 * Thread safe. API threads submit (mempool_submit waits while the pool's workers
 * verify). The node's thread admits forwarded txs (mempool_admit): they are
 * held at once as "checking" and verified on the pool's workers in the
 * background, so the node's thread never waits for a signature check; it
 * collects the good ones with mempool_take_ready, and a tx whose signature
 * does not verify is dropped. It takes txs to execute (a tx still being
 * checked is handed over unverified: the executor checks it). Bytes are owned
 * by the pool until taken.
 */
#ifndef TRIALREG_MEMPOOL_H
#define TRIALREG_MEMPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "crypto.h"

typedef struct mempool mempool;

/* threads: verifier workers (1..8), or 0 for the scheduled mode (below: no threads, a
 * harness runs each check with mempool_verify_step); capacity: txs held at most. */
mempool *mempool_open(const hash32 *chain, uint32_t threads, uint32_t capacity);
void mempool_close(mempool *p);

/* Client txs from the API (one request's): have the verifiers decode and check
 * them all (in parallel, at the verifiers' priority, below the node's thread), and
 * keep the good ones and queue them for the node's thread; the caller waits for the
 * verdicts. results[i].status is 0 if tx i was accepted (or is held already), else 1
 * with the reason. */
void mempool_submit(mempool *p, const codec_span *txs, uint32_t count,
                    codec_submit_result *results);
/* Take up to cap submitted txs (copies of the bytes, which the caller frees,
 * and their digests). */
uint32_t mempool_take_inbox(mempool *p, codec_span *txs, uint8_t **owned, hash32 *digests,
                            uint32_t cap);
/* Hold the txs not held yet and queue them for the verifiers. Returns how many
 * were queued (the others were held already, or the pool is full). digests:
 * the txs' digests if the caller computed them already, else NULL. */
uint32_t mempool_admit(mempool *p, const codec_span *txs, const hash32 *digests,
                       uint32_t count);
/* Digests of admitted txs whose signatures verified since the last call (at
 * most cap; the rest stay for the next call). */
uint32_t mempool_take_ready(mempool *p, hash32 *out, uint32_t cap);

typedef enum {
    MEMPOOL_MISSING,    /* not held */
    MEMPOOL_CHECKING,   /* admitted, its signatures not checked yet */
    MEMPOOL_VERIFIED,   /* held, signatures good */
    MEMPOOL_UNVERIFIED, /* held from a fetched block: the executor verifies */
} mempool_state;
mempool_state mempool_state_of(mempool *p, const hash32 *digest);
/* Keep txs without verifying them (a fetched block: the executor verifies). A pruned tx
 * (codec.h) is held under the leaf hash it keeps. */
void mempool_add_unverified(mempool *p, const codec_span *txs, uint32_t count);
/* Held and its signatures verified good. */
bool mempool_verified(mempool *p, const hash32 *digest);
/* As mempool_verified, and then *tx_id = SHA-256 of its bytes (the ledger's tx id). */
bool mempool_verified_id(mempool *p, const hash32 *digest, hash32 *tx_id);
/* Remove and hand over the bytes (caller frees) and whether they were verified. */
bool mempool_take(mempool *p, const hash32 *digest, uint8_t **bytes, size_t *len, bool *verified);
void mempool_put_back(mempool *p, const hash32 *digest, uint8_t *bytes, size_t len,
                      bool verified);
void mempool_drop(mempool *p, const hash32 *digest);
/* For tests that control the verifiers' interleaving: while paused, the verifiers take
 * nothing from their queue (a submit waits); mempool_queued is the queue's length. */
void mempool_pause(mempool *p, bool paused);
uint32_t mempool_queued(mempool *p);
/* ---- scheduled mode (threads = 0), for a deterministic harness ----------------------
 * The verifiers' work is done one check per mempool_verify_step, when the harness's
 * scheduler says so, and a client submit is split into its two halves as the API thread
 * runs them: mempool_submit_start queues the request's checks (what mempool_submit does
 * before it waits) and mempool_submit_finish answers once mempool_submit_checked (what it
 * does when woken), so that other steps (a peer's forward, another check, a node's turn)
 * can run between. mempool_submit itself still works (it runs the queue in order). */
typedef struct mempool_submission mempool_submission;
/* Queue the checks of up to CODEC_SUBMIT_BATCH_MAX txs (the caller keeps txs and their
 * bytes until finish or abandon). NULL if the pool has threads, count is 0 or too many,
 * or out of memory. */
mempool_submission *mempool_submit_start(mempool *p, const codec_span *txs, uint32_t count);
/* Every check of the request has its verdict. */
bool mempool_submit_checked(const mempool_submission *s);
/* Answer each tx (as mempool_submit) and free s. Only once checked. */
void mempool_submit_finish(mempool *p, mempool_submission *s, codec_submit_result *results);
/* Forget a request never answered (its client went away, its node crashed): its checks
 * leave the queue; frees s. */
void mempool_submit_abandon(mempool *p, mempool_submission *s);
/* Run one queued check: the `pick % w`-th of the first w = min(queued, 16) (two
 * verifiers taking up to 8 each may end theirs in any order). False if none is queued. */
bool mempool_verify_step(mempool *p, uint32_t pick);
/* Read access without copying: hold the lock while the span is used. */
void mempool_lock(mempool *p);
void mempool_unlock(mempool *p);
bool mempool_get_locked(mempool *p, const hash32 *digest, codec_span *out);

#endif
