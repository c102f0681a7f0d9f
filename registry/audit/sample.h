/*
 * sample.h - writes sample ledgers of real signed txs and certificates, for
 * the audit, its tests and its benchmark.
 *
 * Deliberately simple: the sample writer does NOT execute contracts (the
 * executor does that); each tx gets an OK receipt with zero gas and a state
 * write that records it. Everything an auditor checks is real: tx and
 * co-signatures, tx roots, the log, receipts roots, the state hash chain,
 * commit certificates from 2f+1 validators and result certificates.
 *
 * Tx mix (alternating): a consent grant signed by a pseudonymous participant
 * and co-signed by a site investigator (meaning: witness), and a data anchor
 * signed by a site investigator.
 */
#ifndef TRIALREG_SAMPLE_H
#define TRIALREG_SAMPLE_H

#include <stdint.h>

#include "codec.h"
#include "crypto.h"
#include "ledger.h"

/* The secret keys needed to write a sample ledger for one genesis. */
typedef struct {
    uint32_t validator_count;
    keypair validators[CODEC_VALIDATORS_MAX];
    keypair sponsor;
    keypair investigators[2];
    keypair regulator;
} sample_keys;

/* Deterministic keys derived from seed (for tests and benchmarks). */
void sample_keys_derive(uint64_t seed, uint32_t validator_count, sample_keys *out);

/* Append an authority (role, site, name, key) to g's list (the caller keeps within
 * its bound). */
void sample_add_authority(codec_genesis *g, unsigned role, const char *site, const char *name,
                          const keypair *key);

/* Build a genesis for keys (roles: sponsor, investigators of site-a and site-b,
 * regulator; the built-in contracts consent and data, which the sample txs call, so that
 * they route: issue 14 C) into a new malloc'd buffer. Returns 0 or -1. */
int sample_genesis(const sample_keys *keys, const char *chain_name, uint8_t **out,
                   size_t *out_len);

/* A signed tx of the sample mix (index picks the kind, and is its nonce), valid until
 * valid_until (UTC ms: a block time + SAMPLE_VALID_FOR_MS, say). */
#define SAMPLE_VALID_FOR_MS 600000u
int sample_tx(const sample_keys *keys, const hash32 *chain_id, uint64_t index,
              uint64_t valid_until, codec_buf *out);

/* One block built and signed, ready to append (owns its buffers). */
typedef struct {
    codec_batch_header batch;
    uint32_t tx_count;
    codec_span *txs;
    codec_span *receipts;
    codec_write *writes;
    codec_span commit_cert;
    uint8_t *arena;
} sample_block;

/* Build the block at height (txs numbered from first_tx) for the ledger's
 * chain, timed after its genesis.
 * Returns 0 or -1 (out of memory). Free with sample_block_free. */
int sample_block_build(const sample_keys *keys, const ledger *l, uint64_t height,
                       uint64_t first_tx, uint32_t tx_count, sample_block *out);
void sample_block_free(sample_block *b);

/* Append a built block and store its result certificate (validators 1..2f+1
 * sign it). Returns 0, or -1 with a message in why. */
int sample_block_append(ledger *l, const sample_keys *keys, const sample_block *b, char *why,
                        size_t why_cap);

/*
 * Append `blocks` blocks of txs_per_block sample txs to the ledger, each with
 * a commit certificate and a result certificate. Returns 0, or -1 with the
 * ledger's message in why.
 */
int sample_write_blocks(ledger *l, const sample_keys *keys, uint64_t blocks,
                        uint32_t txs_per_block, char *why, size_t why_cap);

/*
 * Like sample_write_blocks, but the last `uncertified` (<= blocks) of the blocks get no
 * result certificate: the uncertified tail of a node stopped before their checkpoints
 * completed (for the tests of the audit's verdict and of export). Appending only
 * uncertified blocks lengthens such a tail; appending certified blocks after a tail of
 * more than one block is refused (certifying its head alone would leave a gap).
 */
int sample_write_blocks_tail(ledger *l, const sample_keys *keys, uint64_t blocks,
                             uint32_t txs_per_block, uint64_t uncertified, char *why,
                             size_t why_cap);

/*
 * An executed sample trial on an empty ledger: unlike the blocks above, every tx runs
 * through the executor and the contracts (exec_commit_local), so the receipts, writes and
 * certificates are what a consortium would commit, and the ledger re-executes. Block 1
 * registers SAMPLE-TRIAL, approves it and activates both sites; each later block enrols
 * and consents new participants (a third of it; every 8th participant first consents
 * without a witness, which the contract REFUSES) and anchors records of earlier ones.
 * txs_per_block: 8..CODEC_BLOCK_TXS_MAX. Returns 0, or -1 with a message in why.
 */
int sample_trial_write(ledger *l, const sample_keys *keys, uint64_t blocks,
                       uint32_t txs_per_block, char *why, size_t why_cap);

#endif
