/*
 * proof.c - making and checking log proofs (see proof.h).
 */
#include "proof.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consortium.h"
#include "merkle.h"

#define FAIL(...) (snprintf(why, why_cap, __VA_ARGS__), false)

/* A certificate's signatures: at least the quorum of the validators in force at height,
 * each a known validator whose signature over tag || chain || body verifies. */
static bool check_cert_sigs(const codec_genesis *g, uint64_t height, const hash32 *chain_id,
                            const char *tag, const uint8_t *body, size_t body_len,
                            const codec_vsig *sigs, uint32_t count, const char *what,
                            char *why, size_t why_cap)
{
    consortium c;
    consortium_at(g, height, &c);
    if (count < c.quorum) return FAIL("%s has %u signatures, needs %u", what, count, c.quorum);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t v = sigs[i].validator;
        if (v >= c.validator_count) return FAIL("%s names unknown validator %u", what, v);
        if (!tcrypto_verify(&c.validators[v].key, tag, chain_id, body, body_len, &sigs[i].sig)) {
            return FAIL("%s signature of validator %u is invalid", what, v);
        }
    }
    return true;
}

bool proof_check_result_cert(const codec_genesis *g, const hash32 *chain_id,
                             const codec_result_cert *cert, char *why, size_t why_cap)
{
    uint8_t body[160];
    codec_buf b = codec_buf_make(body, sizeof body);
    codec_checkpoint_body_encode(cert, &b);
    return check_cert_sigs(g, cert->height, chain_id, TCRYPTO_TAG_CHECKPOINT, b.data, b.len,
                           cert->sigs, cert->sig_count, "result certificate", why, why_cap);
}

/* ---- making proofs ----------------------------------------------------------------- */

/* Load the header and result cert of a certified block into caller buffers. */
static int load_certified(ledger *l, uint64_t height, codec_block_header *header,
                          uint8_t **cert, size_t *cert_len, char *why, size_t why_cap)
{
    uint8_t *block;
    size_t block_len;
    if (ledger_get_block(l, height, &block, &block_len) != LEDGER_OK) {
        return snprintf(why, why_cap, "no block at height %llu", (unsigned long long)height), -1;
    }
    codec_block b = {0};
    codec_err rc = codec_block_decode(block, block_len, &b, CODEC_BLOCK_TXS_MAX,
                                      CODEC_WRITES_MAX, NULL);
    if (rc == CODEC_OK) *header = b.header;
    free(block);
    if (rc != CODEC_OK) {
        return snprintf(why, why_cap, "block %llu is corrupt", (unsigned long long)height), -1;
    }
    if (ledger_get_result_cert(l, height, cert, cert_len) != LEDGER_OK) {
        snprintf(why, why_cap, "block %llu has no result certificate yet",
                 (unsigned long long)height);
        return -1;
    }
    return 0;
}

static int encode_proof(codec_proof *p, const codec_block_header *h, const uint8_t *cert,
                        size_t cert_len, codec_buf *out, char *why, size_t why_cap)
{
    uint8_t header[256];
    codec_buf hb = codec_buf_make(header, sizeof header);
    codec_block_header_encode(h, &hb);
    p->block = (codec_certified_block){{header, hb.len}, {cert, cert_len}};
    if (codec_proof_encode(p, out) != CODEC_OK) {
        return snprintf(why, why_cap, "proof does not fit the output buffer"), -1;
    }
    return 0;
}

int proof_make_inclusion_in(ledger *l, const codec_block *b, uint32_t index, const uint8_t *cert,
                            size_t cert_len, codec_buf *out, char *why, size_t why_cap)
{
    if (index >= b->tx_count) return snprintf(why, why_cap, "no tx %u in the block", index), -1;
    codec_proof *p = calloc(1, sizeof *p);
    if (!p) return snprintf(why, why_cap, "out of memory"), -1;
    int rc = -1;
    p->kind = PROOF_INCLUSION;
    p->tx = b->txs[index];
    p->leaf_index = b->header.log_size - b->header.batch.tx_count + index;
    merkle_source src;
    ledger_log_source(l, &src);
    size_t path_len;
    if (merkle_inclusion_proof(&src, b->header.log_size, p->leaf_index, p->path, &path_len)) {
        snprintf(why, why_cap, "the stored tx log is incomplete");
    } else {
        p->path_len = (uint32_t)path_len;
        rc = encode_proof(p, &b->header, cert, cert_len, out, why, why_cap);
    }
    free(p);
    return rc;
}

int proof_make_inclusion(ledger *l, const hash32 *tx_id, codec_buf *out, char *why,
                         size_t why_cap)
{
    uint64_t height;
    uint32_t index;
    if (ledger_find_tx(l, tx_id, &height, &index) != LEDGER_OK) {
        return snprintf(why, why_cap, "tx is not in the ledger"), -1;
    }
    codec_block_header header;
    uint8_t *cert = NULL, *block = NULL;
    size_t cert_len, block_len;
    int rc = -1;
    if (load_certified(l, height, &header, &cert, &cert_len, why, why_cap) != 0) goto out;
    if (ledger_get_block(l, height, &block, &block_len) != LEDGER_OK) goto out;
    static _Thread_local codec_span txs[CODEC_BLOCK_TXS_MAX];
    codec_block b = {.txs = txs};
    if (codec_block_decode(block, block_len, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL)
        != CODEC_OK || index >= b.tx_count) {
        snprintf(why, why_cap, "block %llu is corrupt", (unsigned long long)height);
        goto out;
    }
    rc = proof_make_inclusion_in(l, &b, index, cert, cert_len, out, why, why_cap);
out:
    free(cert);
    free(block);
    return rc;
}

int proof_make_consistency(ledger *l, uint64_t old_height, uint64_t new_height, codec_buf *out,
                           char *why, size_t why_cap)
{
    if (old_height == 0 || old_height >= new_height) {
        return snprintf(why, why_cap, "need 0 < old height < new height"), -1;
    }
    codec_block_header old_header, new_header;
    uint8_t *old_cert = NULL, *new_cert = NULL;
    size_t old_len, new_len;
    int rc = -1;
    codec_proof *p = calloc(1, sizeof *p);
    uint8_t old_bytes[256];
    if (!p) return snprintf(why, why_cap, "out of memory"), -1;
    if (load_certified(l, old_height, &old_header, &old_cert, &old_len, why, why_cap) != 0
        || load_certified(l, new_height, &new_header, &new_cert, &new_len, why, why_cap) != 0) {
        goto out;
    }
    if (old_header.log_size == 0) {
        snprintf(why, why_cap, "the log is empty at height %llu", (unsigned long long)old_height);
        goto out;
    }
    merkle_source src;
    ledger_log_source(l, &src);
    size_t path_len;
    if (merkle_consistency_proof(&src, old_header.log_size, new_header.log_size, p->path,
                                 &path_len)) {
        snprintf(why, why_cap, "the stored tx log is incomplete");
        goto out;
    }
    p->kind = PROOF_CONSISTENCY;
    p->path_len = (uint32_t)path_len;
    codec_buf ob = codec_buf_make(old_bytes, sizeof old_bytes);
    codec_block_header_encode(&old_header, &ob);
    p->old_block = (codec_certified_block){{old_bytes, ob.len}, {old_cert, old_len}};
    rc = encode_proof(p, &new_header, new_cert, new_len, out, why, why_cap);
out:
    free(p);
    free(old_cert);
    free(new_cert);
    return rc;
}

/* ---- checking proofs ----------------------------------------------------------------- */

/* Decode a certified block and check its certificate; fills *header. */
static bool check_certified(const codec_genesis *g, const hash32 *chain_id,
                            const codec_certified_block *cb, codec_block_header *header,
                            char *why, size_t why_cap)
{
    codec_result_cert cert;
    if (codec_block_header_decode(cb->header.data, cb->header.len, header, NULL) != CODEC_OK
        || codec_result_cert_decode(cb->result_cert.data, cb->result_cert.len, &cert, NULL)
               != CODEC_OK) {
        return FAIL("the block header or its result certificate does not decode");
    }
    hash32 block_hash;
    codec_block_hash(header, &block_hash);
    if (cert.height != header->batch.height
        || memcmp(cert.block_hash.bytes, block_hash.bytes, 32) != 0) {
        return FAIL("the result certificate is for another block");
    }
    return proof_check_result_cert(g, chain_id, &cert, why, why_cap);
}

/* A pruned tx (FORMATS.md 5.10) has no signature left to check: the proof shows that its
 * leaf is in the certified log and what the ledger kept of it, nothing more. */
static bool check_tx_signatures(const hash32 *chain_id, const codec_span *span, char *why,
                                size_t why_cap)
{
    static _Thread_local codec_tx tx;
    if (codec_entry_is_pruned(span)) return true;
    if (codec_tx_decode(span->data, span->len, &tx, NULL) != CODEC_OK) {
        return FAIL("the tx does not decode");
    }
    int bad = codec_tx_verify_signatures(&tx, chain_id);
    if (bad < 0) return FAIL("the tx author signature is invalid");
    if (bad > 0) return FAIL("co-signature %d of the tx is invalid", bad - 1);
    return true;
}

static bool verify_decoded(const codec_genesis *g, const hash32 *chain_id, const codec_proof *p,
                           char *why, size_t why_cap)
{
    codec_block_header header, old_header;
    if (!check_certified(g, chain_id, &p->block, &header, why, why_cap)) return false;
    if (p->kind == PROOF_INCLUSION) {
        if (!check_tx_signatures(chain_id, &p->tx, why, why_cap)) return false;
        /* the block's own txs are the last tx_count leaves of its log: a valid path to a
         * later block's root would show a later height and time than the tx's (issue 18) */
        uint64_t first = header.log_size - header.batch.tx_count;
        if (header.batch.tx_count > header.log_size || p->leaf_index < first
            || p->leaf_index >= header.log_size) {
            return FAIL("the tx is not in this block: leaf %llu is outside its leaves [%llu, %llu)",
                        (unsigned long long)p->leaf_index, (unsigned long long)first,
                        (unsigned long long)header.log_size);
        }
        hash32 leaf;
        codec_entry_leaf(&p->tx, &leaf);
        if (!merkle_inclusion_verify(&leaf, p->leaf_index, header.log_size, p->path,
                                     p->path_len, &header.log_root)) {
            return FAIL("the inclusion path does not lead to the certified log root");
        }
        return true;
    }
    if (!check_certified(g, chain_id, &p->old_block, &old_header, why, why_cap)) return false;
    /* old < new by height; equal log sizes (blocks of no txs between them) are consistent
     * only with equal roots and an empty path (RFC 9162 2.1.4.2) */
    if (old_header.batch.height >= header.batch.height) {
        return FAIL("the old block (height %llu) is not below the new one (height %llu)",
                    (unsigned long long)old_header.batch.height,
                    (unsigned long long)header.batch.height);
    }
    if (old_header.log_size == 0
        || !merkle_consistency_verify(old_header.log_size, header.log_size, &old_header.log_root,
                                      &header.log_root, p->path, p->path_len)) {
        return FAIL("the consistency path does not join the two certified log roots");
    }
    return true;
}

/* The decoded genesis (malloc'd: the caller frees it) and its chain id, or NULL with why. */
static codec_genesis *genesis_open(const uint8_t *genesis, size_t genesis_len, hash32 *chain_id,
                                   char *why, size_t why_cap)
{
    codec_genesis *g = malloc(sizeof *g);
    codec_error cerr;
    char detail[160];
    if (!g) {
        snprintf(why, why_cap, "out of memory");
        return NULL;
    }
    if (codec_genesis_decode(genesis, genesis_len, g, &cerr) != CODEC_OK) {
        snprintf(why, why_cap, "genesis does not decode: %s",
                 codec_error_format(&cerr, detail, sizeof detail));
        free(g);
        return NULL;
    }
    tcrypto_sha256(genesis, genesis_len, chain_id);
    return g;
}

bool proof_verify(const uint8_t *genesis, size_t genesis_len, const uint8_t *proof,
                  size_t proof_len, char *why, size_t why_cap)
{
    hash32 chain_id;
    codec_genesis *g = genesis_open(genesis, genesis_len, &chain_id, why, why_cap);
    codec_proof *p = g ? malloc(sizeof *p) : NULL;
    bool ok = false;
    codec_error cerr;
    char detail[160];
    if (g && !p) {
        snprintf(why, why_cap, "out of memory");
    } else if (p && codec_proof_decode(proof, proof_len, p, &cerr) != CODEC_OK) {
        snprintf(why, why_cap, "proof does not decode: %s", codec_error_format(&cerr, detail, sizeof detail));
    } else if (p) {
        ok = verify_decoded(g, &chain_id, p, why, why_cap);
    }
    free(g);
    free(p);
    return ok;
}

/* ---- receipts -------------------------------------------------------------------------- */

bool proof_check_commit_cert(const codec_genesis *g, const hash32 *chain_id,
                             const codec_batch_header *batch, const codec_commit_cert *cert,
                             char *why, size_t why_cap)
{
    hash32 batch_hash;
    codec_batch_hash(batch, &batch_hash);
    if (cert->height != batch->height) {
        return FAIL("commit certificate is for height %llu, the block is %llu",
                    (unsigned long long)cert->height, (unsigned long long)batch->height);
    }
    if (memcmp(cert->batch_hash.bytes, batch_hash.bytes, 32) != 0) {
        return FAIL("commit certificate is for another batch header");
    }
    uint8_t body[64];
    codec_buf b = codec_buf_make(body, sizeof body);
    codec_commit_body_encode(cert->height, cert->view, &cert->batch_hash, &b);
    return check_cert_sigs(g, cert->height, chain_id, TCRYPTO_TAG_COMMIT, b.data, b.len,
                           cert->sigs, cert->sig_count, "commit certificate", why, why_cap);
}

/* Everything a receipt file holds, decoded (spans point into the file). */
typedef struct {
    codec_receipt_reply reply;
    codec_proof proof;
    codec_receipt receipt;
    codec_block_header header;
    codec_result_cert result;
    codec_commit_cert commit;
} receipt_parts;

static bool decode_receipt_parts(const uint8_t *data, size_t len, receipt_parts *p, char *why,
                                 size_t why_cap)
{
    codec_error cerr;
    char d[160];
    if (codec_receipt_reply_decode(data, len, &p->reply, &cerr) != CODEC_OK)
        return FAIL("receipt file does not decode: %s", codec_error_format(&cerr, d, sizeof d));
    if (p->reply.proof.len == 0 || p->reply.commit_cert.len == 0)
        return FAIL("the receipt has no certificates (its block was not certified when fetched)");
    if (codec_receipt_decode(p->reply.receipt.data, p->reply.receipt.len, &p->receipt, &cerr))
        return FAIL("receipt does not decode: %s", codec_error_format(&cerr, d, sizeof d));
    if (codec_proof_decode(p->reply.proof.data, p->reply.proof.len, &p->proof, &cerr))
        return FAIL("inclusion proof does not decode: %s", codec_error_format(&cerr, d, sizeof d));
    if (p->proof.kind != PROOF_INCLUSION) return FAIL("the proof is not an inclusion proof");
    if (codec_block_header_decode(p->proof.block.header.data, p->proof.block.header.len,
                                  &p->header, &cerr) != CODEC_OK)
        return FAIL("block header does not decode: %s", codec_error_format(&cerr, d, sizeof d));
    if (codec_result_cert_decode(p->proof.block.result_cert.data, p->proof.block.result_cert.len,
                                 &p->result, &cerr) != CODEC_OK)
        return FAIL("result certificate does not decode: %s",
                    codec_error_format(&cerr, d, sizeof d));
    if (codec_commit_cert_decode(p->reply.commit_cert.data, p->reply.commit_cert.len, &p->commit,
                                 &cerr) != CODEC_OK)
        return FAIL("commit certificate does not decode: %s",
                    codec_error_format(&cerr, d, sizeof d));
    if (p->header.batch.height != p->reply.height)
        return FAIL("block header is for height %llu, the receipt says %llu",
                    (unsigned long long)p->header.batch.height,
                    (unsigned long long)p->reply.height);
    return true;
}

static bool check_receipt_parts(const codec_genesis *g, const hash32 *chain_id,
                                const receipt_parts *p, char *why, size_t why_cap)
{
    if (!check_tx_signatures(chain_id, &p->proof.tx, why, why_cap)) return false;
    hash32 tx_id;
    codec_entry_tx_id(&p->proof.tx, &tx_id);
    if (memcmp(tx_id.bytes, p->receipt.tx_id.bytes, 32) != 0)
        return FAIL("the receipt names another tx");
    hash32 block_hash;
    codec_block_hash(&p->header, &block_hash);
    if (p->result.height != p->header.batch.height
        || memcmp(p->result.block_hash.bytes, block_hash.bytes, 32) != 0)
        return FAIL("block header (batch header or block fields) does not hash to the result "
                    "certificate's block hash");
    if (!proof_check_result_cert(g, chain_id, &p->result, why, why_cap)) return false;
    if (!proof_check_commit_cert(g, chain_id, &p->header.batch, &p->commit, why, why_cap))
        return false;
    const codec_block_header *h = &p->header;
    if (h->batch.tx_count > h->log_size || p->reply.index >= h->batch.tx_count
        || p->proof.leaf_index != h->log_size - h->batch.tx_count + p->reply.index)
        return FAIL("tx inclusion proof: leaf index %llu is not tx %u of the block",
                    (unsigned long long)p->proof.leaf_index, p->reply.index);
    hash32 leaf;
    codec_entry_leaf(&p->proof.tx, &leaf);
    if (!merkle_inclusion_verify(&leaf, p->proof.leaf_index, h->log_size, p->proof.path,
                                 p->proof.path_len, &h->log_root))
        return FAIL("tx inclusion proof: the path does not lead to the certified log root");
    merkle_leaf_hash(p->reply.receipt.data, p->reply.receipt.len, &leaf);
    if (!merkle_inclusion_verify(&leaf, p->reply.index, h->batch.tx_count, p->reply.receipt_path,
                                 p->reply.receipt_path_len, &p->result.receipts_root))
        return FAIL(
            "receipt inclusion proof: the path does not lead to the certified receipts root");
    return true;
}

bool proof_verify_receipt(const uint8_t *genesis, size_t genesis_len, const uint8_t *receipt,
                          size_t receipt_len, char *why, size_t why_cap)
{
    hash32 chain_id;
    codec_genesis *g = genesis_open(genesis, genesis_len, &chain_id, why, why_cap);
    receipt_parts *p = g ? malloc(sizeof *p) : NULL;
    bool ok = false;
    if (g && !p) {
        snprintf(why, why_cap, "out of memory");
    } else if (p && decode_receipt_parts(receipt, receipt_len, p, why, why_cap)) {
        ok = check_receipt_parts(g, &chain_id, p, why, why_cap);
    }
    free(g);
    free(p);
    return ok;
}
