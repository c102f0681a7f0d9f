/*
 * mempool.h - a validator's txs waiting to be executed, by digest (the RFC 9162
 * leaf hash of the tx bytes, which is what the PBFT core orders), and the
 * worker pool that verifies each tx's signatures once, when it first arrives.
 *
 * Thread safe: API threads submit (mempool_submit verifies on the calling
 * thread), the node's thread admits forwarded txs (mempool_admit verifies on
 * the pool's workers and the calling thread together) and takes txs to
 * execute. Bytes are owned by the pool until taken.
 */
#ifndef TRIALREG_MEMPOOL_H
#define TRIALREG_MEMPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "crypto.h"

typedef struct mempool mempool;

/* threads: verifier workers besides the caller; capacity: txs held at most. */
mempool *mempool_open(const hash32 *chain, uint32_t threads, uint32_t capacity);
void mempool_close(mempool *p);

/* A client tx from the API: decode, verify, keep and queue it for the node's
 * thread. 0 if accepted (or already held), else nonzero with a reason. */
int mempool_submit(mempool *p, const uint8_t *tx, size_t len, char *why, size_t why_cap);
/* Take up to cap submitted txs (copies of the bytes, which the caller frees,
 * and their digests). */
uint32_t mempool_take_inbox(mempool *p, codec_span *txs, uint8_t **owned, hash32 *digests,
                            uint32_t cap);
/* Verify the txs not held yet (in parallel) and keep the valid ones; their
 * digests go to added (at most cap). Returns how many were added. */
uint32_t mempool_admit(mempool *p, const codec_span *txs, uint32_t count, hash32 *added,
                       uint32_t cap);
/* Keep txs without verifying them (a fetched block: the executor verifies). */
void mempool_add_unverified(mempool *p, const codec_span *txs, uint32_t count);
/* Held and its signatures verified good. */
bool mempool_verified(mempool *p, const hash32 *digest);
/* Remove and hand over the bytes (caller frees) and whether they were verified. */
bool mempool_take(mempool *p, const hash32 *digest, uint8_t **bytes, size_t *len, bool *verified);
void mempool_put_back(mempool *p, const hash32 *digest, uint8_t *bytes, size_t len,
                      bool verified);
void mempool_drop(mempool *p, const hash32 *digest);
/* Read access without copying: hold the lock while the span is used. */
void mempool_lock(mempool *p);
void mempool_unlock(mempool *p);
bool mempool_get_locked(mempool *p, const hash32 *digest, codec_span *out);

#endif
