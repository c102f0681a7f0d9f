/*
 * proof.c - making and checking log proofs (see proof.h).
 */
#include "proof.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merkle.h"

#define FAIL(...) (snprintf(why, why_cap, __VA_ARGS__), false)

bool proof_check_result_cert(const codec_genesis *g, const hash32 *chain_id,
                             const codec_result_cert *cert, char *why, size_t why_cap)
{
    uint32_t quorum = codec_genesis_quorum(g);
    if (cert->sig_count < quorum) {
        return FAIL("result certificate has %u signatures, needs %u", cert->sig_count, quorum);
    }
    uint8_t body[160];
    codec_buf b = codec_buf_make(body, sizeof body);
    codec_checkpoint_body_encode(cert, &b);
    for (uint32_t i = 0; i < cert->sig_count; i++) {
        uint32_t v = cert->sigs[i].validator;
        if (v >= g->validator_count) return FAIL("result certificate names unknown validator %u", v);
        if (!tcrypto_verify(&g->validators[v].key, TCRYPTO_TAG_CHECKPOINT, chain_id, b.data,
                            b.len, &cert->sigs[i].sig)) {
            return FAIL("result certificate signature of validator %u is invalid", v);
        }
    }
    return true;
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
    codec_proof *p = calloc(1, sizeof *p);
    if (!p) return snprintf(why, why_cap, "out of memory"), -1;
    if (load_certified(l, height, &header, &cert, &cert_len, why, why_cap) != 0) goto out;
    if (ledger_get_block(l, height, &block, &block_len) != LEDGER_OK) goto out;
    static _Thread_local codec_span txs[CODEC_BLOCK_TXS_MAX];
    codec_block b = {.txs = txs};
    if (codec_block_decode(block, block_len, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL)
        != CODEC_OK || index >= b.tx_count) {
        snprintf(why, why_cap, "block %llu is corrupt", (unsigned long long)height);
        goto out;
    }
    p->kind = PROOF_INCLUSION;
    p->tx = b.txs[index];
    p->leaf_index = header.log_size - header.batch.tx_count + index;
    merkle_source src;
    ledger_log_source(l, &src);
    size_t path_len;
    if (merkle_inclusion_proof(&src, header.log_size, p->leaf_index, p->path, &path_len)) {
        snprintf(why, why_cap, "the stored tx log is incomplete");
        goto out;
    }
    p->path_len = (uint32_t)path_len;
    rc = encode_proof(p, &header, cert, cert_len, out, why, why_cap);
out:
    free(p);
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

static bool check_tx_signatures(const hash32 *chain_id, const codec_span *span, char *why,
                                size_t why_cap)
{
    static _Thread_local codec_tx tx;
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
        hash32 leaf;
        merkle_leaf_hash(p->tx.data, p->tx.len, &leaf);
        if (!merkle_inclusion_verify(&leaf, p->leaf_index, header.log_size, p->path,
                                     p->path_len, &header.log_root)) {
            return FAIL("the inclusion path does not lead to the certified log root");
        }
        return true;
    }
    if (!check_certified(g, chain_id, &p->old_block, &old_header, why, why_cap)) return false;
    if (old_header.log_size == 0
        || !merkle_consistency_verify(old_header.log_size, header.log_size, &old_header.log_root,
                                      &header.log_root, p->path, p->path_len)) {
        return FAIL("the consistency path does not join the two certified log roots");
    }
    return true;
}

bool proof_verify(const uint8_t *genesis, size_t genesis_len, const uint8_t *proof,
                  size_t proof_len, char *why, size_t why_cap)
{
    codec_genesis *g = malloc(sizeof *g);
    codec_proof *p = malloc(sizeof *p);
    bool ok = false;
    codec_error cerr;
    char detail[160];
    if (!g || !p) {
        snprintf(why, why_cap, "out of memory");
    } else if (codec_genesis_decode(genesis, genesis_len, g, &cerr) != CODEC_OK) {
        snprintf(why, why_cap, "genesis does not decode: %s", codec_error_format(&cerr, detail, sizeof detail));
    } else if (codec_proof_decode(proof, proof_len, p, &cerr) != CODEC_OK) {
        snprintf(why, why_cap, "proof does not decode: %s", codec_error_format(&cerr, detail, sizeof detail));
    } else {
        hash32 chain_id;
        tcrypto_sha256(genesis, genesis_len, &chain_id);
        ok = verify_decoded(g, &chain_id, p, why, why_cap);
    }
    free(g);
    free(p);
    return ok;
}
