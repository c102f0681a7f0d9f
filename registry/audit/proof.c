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

static uint64_t proof_height(const codec_proof *p);

/* A certificate's signatures: at least the quorum of the validators in force at height,
 * each a known validator whose signature over tag || chain || body verifies. */
static bool check_cert_sigs(const consortium_history *h, uint64_t height, const hash32 *chain_id,
                            const char *tag, const uint8_t *body, size_t body_len,
                            const codec_vsig *sigs, uint32_t count, const char *what,
                            char *why, size_t why_cap)
{
    const consortium_valset_entry *e = consortium_valset_at(h, height);
    uint32_t quorum = consortium_quorum(e->set.count);
    char set[96] = "";
    if (e->boundary > 1) {
        snprintf(set, sizeof set, " (the validator set in force from height %llu)",
                 (unsigned long long)e->boundary);
    }
    if (count < quorum) {
        return FAIL("%s has %u signatures, needs %u%s", what, count, quorum, set);
    }
    for (uint32_t i = 0; i < count; i++) {
        uint32_t v = sigs[i].validator;
        if (v >= e->set.count) return FAIL("%s names unknown validator %u%s", what, v, set);
        if (!tcrypto_verify(&e->set.validators[v].key, tag, chain_id, body, body_len,
                            &sigs[i].sig)) {
            return FAIL("%s signature of validator %u is invalid%s", what, v, set);
        }
    }
    return true;
}

bool proof_check_result_cert(const consortium_history *g, const hash32 *chain_id,
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

/* ---- the validator-set changes a file carries (FORMATS.md 6.4) ----------------------- */

/* The receipt reply (13.5, 6 fields) of tx index of block b (decoded; result certificate
 * cert) appended to out. Returns 0 or -1 with why. */
static int make_receipt_reply(ledger *l, const codec_block *b, uint32_t index,
                              const uint8_t *cert, size_t cert_len, const codec_changes *changes,
                              codec_buf *out, char *why, size_t why_cap)
{
    codec_receipt_reply *rr = calloc(1, sizeof *rr);
    hash32 *leaves = malloc((b->receipt_count + 1) * sizeof *leaves);
    uint8_t *proof = malloc(64 * 1024);
    int rc = -1;
    if (!rr || !leaves || !proof) {
        snprintf(why, why_cap, "out of memory");
        goto out;
    }
    codec_buf pb = codec_buf_make(proof, 64 * 1024);
    if (proof_make_inclusion_in(l, b, index, cert, cert_len, &pb, why, why_cap) != 0) goto out;
    for (uint32_t i = 0; i < b->receipt_count; i++) {
        merkle_leaf_hash(b->receipts[i].data, b->receipts[i].len, &leaves[i]);
    }
    merkle_array arr = {leaves, b->receipt_count};
    merkle_source src;
    merkle_array_source(&arr, &src);
    size_t len = 0;
    if (merkle_inclusion_proof(&src, b->receipt_count, index, rr->receipt_path, &len) != 0
        || len > CODEC_PROOF_PATH_MAX) {
        snprintf(why, why_cap, "the receipt path does not build");
        goto out;
    }
    rr->receipt_path_len = (uint32_t)len;
    rr->height = b->header.batch.height;
    rr->index = index;
    rr->receipt = b->receipts[index];
    rr->proof = (codec_span){pb.data, pb.len};
    rr->commit_cert = b->commit_cert;
    if (changes) rr->changes = *changes;
    if (codec_receipt_reply_encode(rr, out) != CODEC_OK) {
        snprintf(why, why_cap, "the change's receipt does not fit");
        goto out;
    }
    rc = 0;
out:
    free(rr);
    free(leaves);
    free(proof);
    return rc;
}

/* The index of the tx of block b whose OK receipt carries a validator-set change, or -1. */
static int64_t change_index(const codec_block *b)
{
    static _Thread_local codec_receipt r;
    for (uint32_t i = 0; i < b->receipt_count; i++) {
        if (codec_receipt_decode(b->receipts[i].data, b->receipts[i].len, &r, NULL) != CODEC_OK
            || r.status != RECEIPT_OK) {
            continue;
        }
        for (uint32_t k = 0; k < r.event_count; k++) {
            if (strcmp(r.events[k].topic.text, CONSORTIUM_VALSET_TOPIC) == 0) return i;
        }
    }
    return -1;
}

/* The receipt reply of tx index (-1: the validator-set change) of the block at height,
 * with changes (NULL: none), appended to out. */
static int make_reply_at(ledger *l, uint64_t height, int64_t index, const codec_changes *changes,
                         codec_buf *out, char *why, size_t why_cap)
{
    uint8_t *block = NULL, *cert = NULL;
    size_t block_len, cert_len;
    static _Thread_local codec_span txs[CODEC_BLOCK_TXS_MAX], receipts[CODEC_BLOCK_TXS_MAX];
    codec_block b = {.txs = txs, .receipts = receipts};
    int rc = -1;
    if (ledger_get_block(l, height, &block, &block_len) != LEDGER_OK
        || ledger_get_result_cert(l, height, &cert, &cert_len) != LEDGER_OK) {
        snprintf(why, why_cap, "block %llu or its result certificate is missing",
                 (unsigned long long)height);
        goto out;
    }
    if (codec_block_decode(block, block_len, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL)
        != CODEC_OK) {
        snprintf(why, why_cap, "block %llu is corrupt", (unsigned long long)height);
        goto out;
    }
    if (index < 0) index = change_index(&b);
    if (index < 0 || index >= b.tx_count) {
        snprintf(why, why_cap, "block %llu holds no such tx (a validator-set change)",
                 (unsigned long long)height);
        goto out;
    }
    rc = make_receipt_reply(l, &b, (uint32_t)index, cert, cert_len, changes, out, why, why_cap);
out:
    free(block);
    free(cert);
    return rc;
}

static int make_change(ledger *l, uint64_t height, codec_buf *out, char *why, size_t why_cap)
{
    return make_reply_at(l, height, -1, NULL, out, why, why_cap);
}

int proof_make_receipt(ledger *l, const consortium_history *h, const hash32 *tx_id,
                       codec_buf *out, char *why, size_t why_cap)
{
    uint64_t height;
    uint32_t index;
    if (ledger_find_tx(l, tx_id, &height, &index) != LEDGER_OK) {
        return snprintf(why, why_cap, "tx is not in the ledger"), -1;
    }
    proof_changes changes;
    if (proof_make_changes(l, h, height, &changes, why, why_cap) != 0) return -1;
    int rc = make_reply_at(l, height, index, &changes.changes, out, why, why_cap);
    proof_changes_free(&changes);
    return rc;
}

int proof_make_changes(ledger *l, const consortium_history *h, uint64_t height,
                       proof_changes *out, char *why, size_t why_cap)
{
    memset(out, 0, sizeof *out);
    uint32_t count = 0;
    for (uint32_t i = 1; i < h->valset_count && h->valsets[i].boundary <= height; i++) count++;
    if (count == 0) return 0;
    if (count > CODEC_CHANGES_MAX) {
        return snprintf(why, why_cap, "more than %u validator-set changes", CODEC_CHANGES_MAX), -1;
    }
    size_t cap = (size_t)count * 32 * 1024; /* a change's receipt reply is under 16 KiB */
    out->data = malloc(cap);
    out->list = calloc(count, sizeof *out->list);
    if (!out->data || !out->list) {
        proof_changes_free(out);
        return snprintf(why, why_cap, "out of memory"), -1;
    }
    size_t at = 0;
    for (uint32_t i = 0; i < count; i++) {
        codec_buf b = codec_buf_make(out->data + at, cap - at);
        if (make_change(l, h->valsets[i + 1].height, &b, why, why_cap) != 0) {
            proof_changes_free(out);
            return -1;
        }
        out->list[i] = (codec_span){out->data + at, b.len};
        at += b.len;
    }
    out->changes = (codec_changes){.count = count, .list = out->list};
    return 0;
}

int proof_attach_changes(ledger *l, const consortium_history *h, codec_buf *proof, char *why,
                         size_t why_cap)
{
    codec_proof *p = malloc(sizeof *p);
    uint8_t *copy = malloc(proof->len + 1);
    proof_changes changes = {0};
    int rc = -1;
    if (!p || !copy) {
        snprintf(why, why_cap, "out of memory");
        goto out;
    }
    memcpy(copy, proof->data, proof->len);
    if (codec_proof_decode(copy, proof->len, p, NULL) != CODEC_OK) {
        snprintf(why, why_cap, "the proof does not decode");
        goto out;
    }
    if (proof_make_changes(l, h, proof_height(p), &changes, why, why_cap) != 0) goto out;
    p->changes = changes.changes;
    proof->len = 0;
    if (codec_proof_encode(p, proof) != CODEC_OK) {
        snprintf(why, why_cap, "the proof with its changes does not fit the output buffer");
        goto out;
    }
    rc = 0;
out:
    proof_changes_free(&changes);
    free(copy);
    free(p);
    return rc;
}

void proof_changes_free(proof_changes *c)
{
    free(c->data);
    free(c->list);
    memset(c, 0, sizeof *c);
}

/* ---- checking proofs ----------------------------------------------------------------- */

/* Decode a certified block and check its certificate; fills *header. */
static bool check_certified(consortium_history *g, const hash32 *chain_id,
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

static bool verify_decoded(consortium_history *g, const hash32 *chain_id, const codec_proof *p,
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

static bool follow_changes(consortium_history *h, const hash32 *chain_id,
                           const codec_changes *changes, uint64_t below, char *why,
                           size_t why_cap);

/* The height a proof is about: its block's (inclusion) or its new block's (consistency). */
static uint64_t proof_height(const codec_proof *p)
{
    codec_block_header header;
    if (codec_block_header_decode(p->block.header.data, p->block.header.len, &header, NULL)
        != CODEC_OK) {
        return 0;
    }
    return header.batch.height;
}

bool proof_verify(const uint8_t *genesis, size_t genesis_len, const uint8_t *proof,
                  size_t proof_len, char *why, size_t why_cap)
{
    hash32 chain_id;
    codec_genesis *g = genesis_open(genesis, genesis_len, &chain_id, why, why_cap);
    codec_proof *p = g ? malloc(sizeof *p) : NULL;
    consortium_history h;
    bool ok = false, hist = p && consortium_history_init(&h, g) == 0;
    codec_error cerr;
    char detail[160];
    if (g && !hist) {
        snprintf(why, why_cap, "out of memory");
    } else if (p && codec_proof_decode(proof, proof_len, p, &cerr) != CODEC_OK) {
        snprintf(why, why_cap, "proof does not decode: %s", codec_error_format(&cerr, detail, sizeof detail));
    } else if (p) {
        ok = follow_changes(&h, &chain_id, &p->changes, proof_height(p), why, why_cap)
             && verify_decoded(&h, &chain_id, p, why, why_cap);
    }
    if (hist) consortium_history_free(&h);
    free(g);
    free(p);
    return ok;
}

/* ---- receipts -------------------------------------------------------------------------- */

bool proof_check_commit_cert(const consortium_history *g, const hash32 *chain_id,
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

static bool check_receipt_parts(consortium_history *g, const hash32 *chain_id,
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

/* The tx of change i: a governance.validators tx whose OK receipt carries the change, and
 * whose co-signers include 2f+1 validators of the set in force at its height (checked here
 * too, not only by the certificates: the approvals are in the signed tx). */
static bool check_change_tx(consortium_history *h, uint32_t i, const receipt_parts *p, char *why,
                            size_t why_cap)
{
    static _Thread_local codec_tx tx;
    if (codec_entry_is_pruned(&p->proof.tx)
        || codec_tx_decode(p->proof.tx.data, p->proof.tx.len, &tx, NULL) != CODEC_OK
        || strcmp(tx.contract.text, "governance") != 0
        || strcmp(tx.method.text, "validators") != 0) {
        return FAIL("change %u (height %llu) is not a governance.validators tx", i,
                    (unsigned long long)p->reply.height);
    }
    if (p->receipt.status != RECEIPT_OK) {
        return FAIL("change %u (height %llu) was refused (receipt status %u)", i,
                    (unsigned long long)p->reply.height, p->receipt.status);
    }
    const codec_valset *cur = &consortium_valset_at(h, p->reply.height)->set;
    uint32_t approvals = 0;
    for (uint32_t k = 0; k < tx.cosig_count; k++) {
        approvals += tx.cosigs[k].meaning == MEANING_APPROVAL
                     && consortium_valset_has(cur, &tx.cosigs[k].key, NULL);
    }
    if (approvals < consortium_quorum(cur->count)) {
        return FAIL("change %u (height %llu) is approved by %u validators of the set in force, "
                    "needs %u", i, (unsigned long long)p->reply.height, approvals,
                    consortium_quorum(cur->count));
    }
    return true;
}

/* Follow the validator-set changes of a receipt or proof file (FORMATS.md 6.4) into h: each
 * a complete receipt (tx, receipt, both certificates, both inclusion paths) checked under the
 * validator set h has at its height, in increasing height order below `below`, each then
 * recorded so that the next one (and the file's own certificates) is checked under the set
 * it installs. */
static bool follow_changes(consortium_history *h, const hash32 *chain_id,
                           const codec_changes *changes, uint64_t below, char *why,
                           size_t why_cap)
{
    if (changes->count == 0) return true;
    codec_span *list = malloc(changes->count * sizeof *list);
    receipt_parts *p = malloc(sizeof *p);
    bool ok = list && p;
    char inner[200];
    if (!ok) snprintf(why, why_cap, "out of memory");
    if (ok && codec_changes_get(changes, list, changes->count) != CODEC_OK) {
        ok = FAIL("the changes do not decode");
    }
    uint64_t prev = 0;
    for (uint32_t i = 0; ok && i < changes->count; i++) {
        if (!decode_receipt_parts(list[i].data, list[i].len, p, inner, sizeof inner)) {
            ok = FAIL("change %u: %s", i, inner);
        } else if (p->reply.changes.count != 0) {
            ok = FAIL("change %u carries changes of its own", i);
        } else if (p->reply.height >= below || p->reply.height <= prev) {
            ok = FAIL("change %u is at height %llu: changes go in increasing height order "
                      "below the file's height %llu", i, (unsigned long long)p->reply.height,
                      (unsigned long long)below);
        } else if (!check_receipt_parts(h, chain_id, p, inner, sizeof inner)) {
            ok = FAIL("change %u (height %llu): %s", i, (unsigned long long)p->reply.height,
                      inner);
        } else if (!check_change_tx(h, i, p, why, why_cap)) {
            ok = false;
        } else {
            uint32_t before = h->valset_count;
            if (consortium_history_record(h, p->reply.height, "governance", &p->receipt, inner,
                                          sizeof inner) != 0) {
                ok = FAIL("change %u (height %llu): %s", i, (unsigned long long)p->reply.height,
                          inner);
            } else if (h->valset_count == before) {
                ok = FAIL("change %u (height %llu) changes no validator", i,
                          (unsigned long long)p->reply.height);
            }
            prev = p->reply.height;
        }
    }
    free(list);
    free(p);
    return ok;
}

bool proof_verify_receipt(const uint8_t *genesis, size_t genesis_len, const uint8_t *receipt,
                          size_t receipt_len, char *why, size_t why_cap)
{
    hash32 chain_id;
    codec_genesis *g = genesis_open(genesis, genesis_len, &chain_id, why, why_cap);
    receipt_parts *p = g ? malloc(sizeof *p) : NULL;
    consortium_history h;
    bool ok = false, hist = p && consortium_history_init(&h, g) == 0;
    if (g && !hist) {
        snprintf(why, why_cap, "out of memory");
    } else if (hist && decode_receipt_parts(receipt, receipt_len, p, why, why_cap)) {
        /* the changes first: they say which set certifies the receipt's height */
        codec_changes changes = p->reply.changes;
        ok = follow_changes(&h, &chain_id, &changes, p->reply.height, why, why_cap)
             && decode_receipt_parts(receipt, receipt_len, p, why, why_cap)
             && check_receipt_parts(&h, &chain_id, p, why, why_cap);
    }
    if (hist) consortium_history_free(&h);
    free(g);
    free(p);
    return ok;
}
