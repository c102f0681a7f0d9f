/*
 * proof.h - inclusion and consistency proofs over the ledger-wide tx log,
 * made from a store and checked with the genesis alone.
 *
 * A proof file (codec.h "proofs") carries the block header(s) it is anchored
 * to and their result certificates, and, after validator-set changes, the
 * changes (each a receipt file, FORMATS.md 6.4); verification follows the
 * changes, then checks the certificate signatures (2f+1 validators of the set
 * in force at each height: the genesis's when there are no changes), that the
 * certified block hash is the hash of the carried header, and the RFC 9162 path
 * against the header's log size and root. An inclusion proof also checks the
 * tx's own signatures. Receipt files (13.5) carry the changes the same way.
 */
#ifndef TRIALREG_PROOF_H
#define TRIALREG_PROOF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "consortium.h"
#include "ledger.h"

/* Inclusion proof of tx_id in the log of the block that committed it (so the
 * proof also shows the commit height and time; a consistency proof carries it
 * to any later block). The block must be certified. Writes the encoded proof
 * to out. Returns 0, or -1 with a message in why. */
int proof_make_inclusion(ledger *l, const hash32 *tx_id, codec_buf *out, char *why,
                         size_t why_cap);

/* The same for tx index of block b (decoded from the ledger; b->header as stored) whose
 * result certificate is cert (cert_len bytes, encoded): no block is read again, so that a
 * caller proving many txs of one block (the client API's RECEIPTS) decodes it once. */
int proof_make_inclusion_in(ledger *l, const codec_block *b, uint32_t index, const uint8_t *cert,
                            size_t cert_len, codec_buf *out, char *why, size_t why_cap);

/* Consistency proof between the logs of two certified blocks
 * (old_height < new_height). Returns 0, or -1 with a message in why. */
int proof_make_consistency(ledger *l, uint64_t old_height, uint64_t new_height, codec_buf *out,
                           char *why, size_t why_cap);

/* The validator-set changes (FORMATS.md 6.4) a verifier needs for heights up to height:
 * the receipt reply of each change recorded in h (the executor's history: exec_history)
 * whose boundary is <= height, in height order. out->changes is what a proof's or receipt
 * reply's `changes` field takes (count 0: none, the field is left out). Returns 0, or -1
 * with why (a change's block or certificate missing). Free with proof_changes_free. */
typedef struct {
    codec_changes changes;
    uint8_t *data;
    codec_span *list;
} proof_changes;
int proof_make_changes(ledger *l, const consortium_history *h, uint64_t height,
                       proof_changes *out, char *why, size_t why_cap);
void proof_changes_free(proof_changes *c);
/* Add to the encoded proof in *proof (an inclusion or consistency proof just made) the
 * changes its (new) block's height needs: re-encoded in place, its length updated; nothing
 * added when there are none. Returns 0, or -1 with why. */
int proof_attach_changes(ledger *l, const consortium_history *h, codec_buf *proof, char *why,
                         size_t why_cap);
/* The receipt file (FORMATS.md 13.5) of tx_id, from a store: its receipt, both certificates,
 * both inclusion paths and the validator-set changes (h: the executor's history) a verifier
 * needs for its height. The block must be certified. Returns 0, or -1 with why. */
int proof_make_receipt(ledger *l, const consortium_history *h, const hash32 *tx_id,
                       codec_buf *out, char *why, size_t why_cap);

/* Verify a proof file's bytes against the genesis. True if it holds; else
 * false with the reason in why. */
bool proof_verify(const uint8_t *genesis, size_t genesis_len, const uint8_t *proof,
                  size_t proof_len, char *why, size_t why_cap);

/* Verify a receipt file (codec.h "receipt reply", docs/FORMATS.md 13.5) against the
 * genesis: the tx and its signatures, the receipt naming it, the block header against the
 * result certificate, both certificates (2f+1 genesis validators each), the tx in the log
 * and the receipt in the receipts root. True if it all holds; else false with why naming
 * the first part that failed. */
bool proof_verify_receipt(const uint8_t *genesis, size_t genesis_len, const uint8_t *receipt,
                          size_t receipt_len, char *why, size_t why_cap);

/* Check a commit certificate for a batch header: same height, its batch hash is the
 * header's hash, quorum of distinct validators of the set in force at its height
 * (consortium_valset_at of g), every COMMIT signature valid. */
bool proof_check_commit_cert(const consortium_history *g, const hash32 *chain_id,
                             const codec_batch_header *batch, const codec_commit_cert *cert,
                             char *why, size_t why_cap);

/* Check a result certificate: quorum of distinct validators of the set in force at its height
 * (consortium_valset_at of g), each signature valid over the checkpoint body. True if valid;
 * else why says. */
bool proof_check_result_cert(const consortium_history *g, const hash32 *chain_id,
                             const codec_result_cert *cert, char *why, size_t why_cap);

#endif
