/*
 * wire.c - validator messages (wire.h, docs/FORMATS.md 14). Part of the codec
 * module: it encodes with the codec's writer primitives and decodes with the
 * codec's strict reader (codec_reader.h), so it never sees msgpack itself.
 *
 * Encoders check the counts they are about to loop over (and the fields the
 * decoder would refuse cheaply: from, sender, tx sizes, count equalities)
 * before writing anything, so a refused message leaves out untouched.
 * wire_decode fills the caller's wire_msg in place and allocates nothing;
 * every count is bounded (and checked against the bytes left) before a loop
 * uses it. On failure the content of *out is unspecified.
 */
#include "wire.h"

#include <string.h>

#include "codec_reader.h"

#define WIRE_VALIDATOR_MAX (PBFT_N_MAX - 1)
/* A result certificate with CODEC_VALIDATORS_MAX (16) signatures is about 1.3 KB. */
#define WIRE_RESULT_CERT_BYTES_MAX (8 * 1024)
#define WIRE_BLOCK_BYTES_MAX CODEC_BLOCK_MAX

/* ==== encoders ========================================================== */

static codec_err done(const codec_buf *out)
{
    return out->overflow ? CODEC_ERR_OVERFLOW : CODEC_OK;
}

static void wr_envelope(codec_buf *out, wire_kind kind, uint32_t from)
{
    codec_wr_array(out, 4);
    codec_wr_uint(out, WIRE_VERSION);
    codec_wr_uint(out, (uint64_t)kind);
    codec_wr_uint(out, from);
}

static void wr_hash(codec_buf *out, const hash32 *h) { codec_wr_bin(out, h->bytes, 32); }
static void wr_sig(codec_buf *out, const signature *s) { codec_wr_bin(out, s->bytes, 64); }

static void wr_spans(codec_buf *out, const codec_span *spans, uint32_t count)
{
    codec_wr_array(out, count);
    for (uint32_t i = 0; i < count; i++) codec_wr_bin(out, spans[i].data, spans[i].len);
}

/* batch_header, [tx digest...] */
static void wr_batch(codec_buf *out, const pbft_batch *b)
{
    (void)codec_batch_header_encode(&b->header, out); /* overflow shows in out */
    codec_wr_array(out, b->count);
    for (uint32_t i = 0; i < b->count; i++) wr_hash(out, &b->txs[i]);
}

static void wr_prepared(codec_buf *out, const pbft_prepared_cert *pc)
{
    codec_wr_array(out, 5);
    codec_wr_uint(out, pc->view);
    wr_batch(out, &pc->batch);
    wr_sig(out, &pc->preprepare_sig);
    codec_wr_array(out, pc->prepare_count);
    for (uint32_t i = 0; i < pc->prepare_count; i++) {
        codec_wr_array(out, 2);
        codec_wr_uint(out, pc->prepares[i].validator);
        wr_sig(out, &pc->prepares[i].sig);
    }
}

static void wr_view_change(codec_buf *out, const pbft_view_change *vc)
{
    codec_wr_array(out, 6);
    codec_wr_uint(out, PBFT_MSG_VIEW_CHANGE);
    codec_wr_uint(out, vc->new_view);
    codec_wr_uint(out, vc->sender);
    (void)codec_result_cert_encode(&vc->stable, out);
    codec_wr_array(out, vc->prepared_count);
    for (uint32_t i = 0; i < vc->prepared_count; i++) wr_prepared(out, &vc->prepared[i]);
    wr_sig(out, &vc->sig);
}

static void wr_new_view(codec_buf *out, const pbft_new_view *nv)
{
    codec_wr_array(out, 7);
    codec_wr_uint(out, PBFT_MSG_NEW_VIEW);
    codec_wr_uint(out, nv->view);
    codec_wr_array(out, nv->vc_count);
    for (uint32_t i = 0; i < nv->vc_count; i++) wr_view_change(out, &nv->vcs[i]);
    codec_wr_uint(out, nv->reissued_from);
    codec_wr_array(out, nv->reissued_count);
    for (uint32_t i = 0; i < nv->reissued_count; i++) wr_hash(out, &nv->reissued[i]);
    codec_wr_array(out, nv->reissued_count);
    for (uint32_t i = 0; i < nv->reissued_count; i++) wr_sig(out, &nv->reissued_sig[i]);
    wr_sig(out, &nv->sig);
}

static void wr_pbft_body(codec_buf *out, const pbft_msg *m, const codec_span *txs,
                         uint32_t tx_count)
{
    switch (m->type) {
    case PBFT_MSG_PREPREPARE:
        codec_wr_array(out, 8);
        codec_wr_uint(out, m->type);
        codec_wr_uint(out, m->view);
        codec_wr_uint(out, m->height);
        wr_hash(out, &m->digest);
        wr_batch(out, m->batch);
        wr_sig(out, &m->sig);
        wr_spans(out, txs, tx_count);
        return;
    case PBFT_MSG_PREPARE:
    case PBFT_MSG_COMMIT:
        codec_wr_array(out, 5);
        codec_wr_uint(out, m->type);
        codec_wr_uint(out, m->view);
        codec_wr_uint(out, m->height);
        wr_hash(out, &m->digest);
        wr_sig(out, &m->sig);
        return;
    case PBFT_MSG_CHECKPOINT:
        codec_wr_array(out, 6);
        codec_wr_uint(out, m->type);
        codec_wr_uint(out, m->height);
        wr_hash(out, &m->block_hash);
        wr_hash(out, &m->state_hash);
        wr_hash(out, &m->receipts_root);
        wr_sig(out, &m->sig);
        return;
    case PBFT_MSG_VIEW_CHANGE: wr_view_change(out, m->view_change); return;
    case PBFT_MSG_NEW_VIEW: wr_new_view(out, m->new_view); return;
    }
}

/* ---- what the encoders check before writing (bounds they loop over) ----- */

static codec_err check_txs(const codec_span *txs, uint32_t count)
{
    if (count > 0 && !txs) return CODEC_ERR_COUNT;
    for (uint32_t i = 0; i < count; i++) {
        if (txs[i].len == 0 || txs[i].len > CODEC_TX_MAX || !txs[i].data) {
            return CODEC_ERR_LENGTH;
        }
    }
    return CODEC_OK;
}

static codec_err check_batch(const pbft_batch *b)
{
    if (b->count > PBFT_BATCH_MAX || b->header.tx_count != b->count) return CODEC_ERR_COUNT;
    return CODEC_OK;
}

static codec_err check_view_change(const pbft_view_change *vc)
{
    if (vc->sender > WIRE_VALIDATOR_MAX) return CODEC_ERR_RANGE;
    if (vc->stable.sig_count > CODEC_VALIDATORS_MAX) return CODEC_ERR_COUNT;
    if (vc->prepared_count > PBFT_WINDOW) return CODEC_ERR_COUNT;
    for (uint32_t i = 0; i < vc->prepared_count; i++) {
        const pbft_prepared_cert *pc = &vc->prepared[i];
        if (pc->prepare_count > PBFT_QUORUM_MAX) return CODEC_ERR_COUNT;
        codec_err rc = check_batch(&pc->batch);
        if (rc != CODEC_OK) return rc;
    }
    return CODEC_OK;
}

static codec_err check_new_view(const pbft_new_view *nv)
{
    if (nv->vc_count > PBFT_QUORUM_MAX || nv->reissued_count > PBFT_WINDOW) {
        return CODEC_ERR_COUNT;
    }
    for (uint32_t i = 0; i < nv->vc_count; i++) {
        codec_err rc = check_view_change(&nv->vcs[i]);
        if (rc != CODEC_OK) return rc;
    }
    return CODEC_OK;
}

static codec_err check_pbft(uint32_t from, const pbft_msg *m, const codec_span *txs,
                            uint32_t tx_count)
{
    if (from > WIRE_VALIDATOR_MAX) return CODEC_ERR_RANGE;
    switch (m->type) {
    case PBFT_MSG_PREPREPARE: {
        if (!m->batch) return CODEC_ERR_TYPE;
        codec_err rc = check_batch(m->batch);
        if (rc != CODEC_OK) return rc;
        if (tx_count != 0 && tx_count != m->batch->count) return CODEC_ERR_COUNT;
        return check_txs(txs, tx_count);
    }
    case PBFT_MSG_PREPARE:
    case PBFT_MSG_COMMIT:
    case PBFT_MSG_CHECKPOINT: return tx_count == 0 ? CODEC_OK : CODEC_ERR_COUNT;
    case PBFT_MSG_VIEW_CHANGE:
        if (!m->view_change) return CODEC_ERR_TYPE;
        if (m->view_change->sender != from) return CODEC_ERR_RANGE;
        return tx_count == 0 ? check_view_change(m->view_change) : CODEC_ERR_COUNT;
    case PBFT_MSG_NEW_VIEW:
        if (!m->new_view) return CODEC_ERR_TYPE;
        return tx_count == 0 ? check_new_view(m->new_view) : CODEC_ERR_COUNT;
    }
    return CODEC_ERR_RANGE; /* unknown type */
}

codec_err wire_pbft_encode(uint32_t from, const pbft_msg *m, const codec_span *txs,
                           uint32_t tx_count, codec_buf *out)
{
    codec_err rc = check_pbft(from, m, txs, tx_count);
    if (rc != CODEC_OK) return rc;
    wr_envelope(out, WIRE_PBFT, from);
    wr_pbft_body(out, m, txs, tx_count);
    return done(out);
}

codec_err wire_txs_encode(uint32_t from, const codec_span *txs, uint32_t count, codec_buf *out)
{
    if (from > WIRE_VALIDATOR_MAX) return CODEC_ERR_RANGE;
    if (count == 0 || count > WIRE_TXS_MAX) return CODEC_ERR_COUNT;
    codec_err rc = check_txs(txs, count);
    if (rc != CODEC_OK) return rc;
    wr_envelope(out, WIRE_TXS, from);
    wr_spans(out, txs, count);
    return done(out);
}

codec_err wire_fetch_encode(uint32_t from, uint64_t from_height, uint64_t to_height,
                            codec_buf *out)
{
    if (from > WIRE_VALIDATOR_MAX || from_height == 0 || from_height > to_height) {
        return CODEC_ERR_RANGE;
    }
    wr_envelope(out, WIRE_FETCH, from);
    codec_wr_array(out, 2);
    codec_wr_uint(out, from_height);
    codec_wr_uint(out, to_height);
    return done(out);
}

codec_err wire_fetch_body_encode(uint32_t from, uint64_t from_height, uint64_t to_height,
                                 uint64_t time_ms, codec_buf *out)
{
    if (from > WIRE_VALIDATOR_MAX || from_height == 0 || from_height > to_height) {
        return CODEC_ERR_RANGE;
    }
    codec_wr_array(out, 4);
    codec_wr_uint(out, from);
    codec_wr_uint(out, from_height);
    codec_wr_uint(out, to_height);
    codec_wr_uint(out, time_ms);
    return done(out);
}

codec_err wire_fetch_signed_encode(uint32_t from, uint64_t from_height, uint64_t to_height,
                                   uint64_t time_ms, const signature *sig, codec_buf *out)
{
    if (from > WIRE_VALIDATOR_MAX || from_height == 0 || from_height > to_height) {
        return CODEC_ERR_RANGE;
    }
    wr_envelope(out, WIRE_FETCH, from);
    codec_wr_array(out, 4);
    codec_wr_uint(out, from_height);
    codec_wr_uint(out, to_height);
    codec_wr_uint(out, time_ms);
    codec_wr_bin(out, sig->bytes, 64);
    return done(out);
}

codec_err wire_fetch_keyed_body_encode(uint32_t from, uint64_t from_height, uint64_t to_height,
                                       uint64_t time_ms, const pubkey *key, codec_buf *out)
{
    if (from > WIRE_VALIDATOR_MAX || from_height == 0 || from_height > to_height) {
        return CODEC_ERR_RANGE;
    }
    codec_wr_array(out, 5);
    codec_wr_uint(out, from);
    codec_wr_uint(out, from_height);
    codec_wr_uint(out, to_height);
    codec_wr_uint(out, time_ms);
    codec_wr_bin(out, key->bytes, 32);
    return done(out);
}

codec_err wire_fetch_keyed_encode(uint32_t from, uint64_t from_height, uint64_t to_height,
                                  uint64_t time_ms, const pubkey *key, const signature *sig,
                                  codec_buf *out)
{
    if (from > WIRE_VALIDATOR_MAX || from_height == 0 || from_height > to_height) {
        return CODEC_ERR_RANGE;
    }
    wr_envelope(out, WIRE_FETCH, from);
    codec_wr_array(out, 5);
    codec_wr_uint(out, from_height);
    codec_wr_uint(out, to_height);
    codec_wr_uint(out, time_ms);
    codec_wr_bin(out, key->bytes, 32);
    codec_wr_bin(out, sig->bytes, 64);
    return done(out);
}

codec_err wire_blocks_encode(uint32_t from, const codec_span *blocks, const codec_span *results,
                             uint32_t count, codec_buf *out)
{
    if (from > WIRE_VALIDATOR_MAX) return CODEC_ERR_RANGE;
    if (count == 0 || count > WIRE_BLOCKS_MAX || !blocks || !results) return CODEC_ERR_COUNT;
    for (uint32_t i = 0; i < count; i++) {
        if (blocks[i].len == 0 || blocks[i].len > WIRE_BLOCK_BYTES_MAX
            || results[i].len > WIRE_RESULT_CERT_BYTES_MAX) {
            return CODEC_ERR_LENGTH;
        }
    }
    wr_envelope(out, WIRE_BLOCKS, from);
    codec_wr_array(out, count);
    for (uint32_t i = 0; i < count; i++) {
        codec_wr_array(out, 2);
        codec_wr_bin(out, blocks[i].data, blocks[i].len);
        if (results[i].len == 0) codec_wr_nil(out);
        else codec_wr_bin(out, results[i].data, results[i].len);
    }
    return done(out);
}

codec_err wire_bundle_encode(uint32_t from, const codec_span *parts, uint32_t count,
                             codec_buf *out)
{
    if (from > WIRE_VALIDATOR_MAX) return CODEC_ERR_RANGE;
    if (count < 2 || count > WIRE_BUNDLE_MAX || !parts) return CODEC_ERR_COUNT;
    for (uint32_t i = 0; i < count; i++) {
        if (parts[i].len == 0 || parts[i].len > WIRE_PART_BYTES_MAX) return CODEC_ERR_LENGTH;
    }
    wr_envelope(out, WIRE_BUNDLE, from);
    wr_spans(out, parts, count);
    return done(out);
}

/* ==== decoder =========================================================== */

static bool rd_sig(codec_reader *r, const char *field, signature *out)
{
    return codec_rd_fixed(r, field, out->bytes, 64);
}

/* After a list: errors carry the enclosing list's index again (-1 at top). */
static bool end_list(codec_reader *r, int64_t outer)
{
    r->index = outer;
    return true;
}

/* Field names of one batch (header, digest list) inside its parent. */
typedef struct {
    const char *digests, *digest;
} batch_fields;

/* batch_header, [tx digest...]; count must equal header.tx_count. */
static bool rd_batch(codec_reader *r, const batch_fields *f, pbft_batch *b)
{
    int64_t outer = r->index;
    if (!codec_rd_batch_header(r, &b->header)) return false;
    const uint8_t *at = r->p;
    if (!codec_rd_array(r, f->digests, 0, PBFT_BATCH_MAX, &b->count)) return false;
    if (b->header.tx_count != b->count) {
        return codec_rd_fail_at(r, at, CODEC_ERR_COUNT, f->digests);
    }
    for (uint32_t i = 0; i < b->count; i++) {
        r->index = i;
        if (!codec_rd_hash(r, f->digest, &b->txs[i])) return false;
    }
    return end_list(r, outer);
}

/* [tx bytes...] with min..max entries, each 1..CODEC_TX_MAX bytes. */
static bool rd_txs(codec_reader *r, const char *list, const char *item, uint32_t min,
                   uint32_t max, wire_msg *out)
{
    int64_t outer = r->index;
    if (!codec_rd_array(r, list, min, max, &out->tx_count)) return false;
    for (uint32_t i = 0; i < out->tx_count; i++) {
        r->index = i;
        if (!codec_rd_span(r, item, 1, CODEC_TX_MAX, &out->txs[i])) return false;
    }
    return end_list(r, outer);
}

static bool rd_preprepare(codec_reader *r, wire_msg *out)
{
    static const batch_fields bf = {"preprepare.digests", "preprepare.digests[]"};
    pbft_msg *m = &out->msg;
    if (!(codec_rd_uint(r, "preprepare.view", UINT64_MAX, &m->view)
          && codec_rd_uint(r, "preprepare.height", UINT64_MAX, &m->height)
          && codec_rd_hash(r, "preprepare.digest", &m->digest)
          && rd_batch(r, &bf, &out->batch) && rd_sig(r, "preprepare.sig", &m->sig))) {
        return false;
    }
    m->batch = &out->batch;
    const uint8_t *at = r->p;
    if (!rd_txs(r, "preprepare.txs", "preprepare.txs[]", 0, PBFT_BATCH_MAX, out)) return false;
    if (out->tx_count != 0 && out->tx_count != out->batch.count) {
        return codec_rd_fail_at(r, at, CODEC_ERR_COUNT, "preprepare.txs");
    }
    return true;
}

static bool rd_vote(codec_reader *r, pbft_msg *m)
{
    bool prepare = m->type == PBFT_MSG_PREPARE;
    return codec_rd_uint(r, prepare ? "prepare.view" : "commit.view", UINT64_MAX, &m->view)
        && codec_rd_uint(r, prepare ? "prepare.height" : "commit.height", UINT64_MAX,
                         &m->height)
        && codec_rd_hash(r, prepare ? "prepare.digest" : "commit.digest", &m->digest)
        && rd_sig(r, prepare ? "prepare.sig" : "commit.sig", &m->sig);
}

static bool rd_checkpoint(codec_reader *r, pbft_msg *m)
{
    return codec_rd_uint(r, "checkpoint.height", UINT64_MAX, &m->height)
        && codec_rd_hash(r, "checkpoint.block_hash", &m->block_hash)
        && codec_rd_hash(r, "checkpoint.state_hash", &m->state_hash)
        && codec_rd_hash(r, "checkpoint.receipts_root", &m->receipts_root)
        && rd_sig(r, "checkpoint.sig", &m->sig);
}

/* [[validator, sig]...]: validators < PBFT_N_MAX, strictly increasing. */
static bool rd_prepares(codec_reader *r, pbft_prepared_cert *pc)
{
    int64_t outer = r->index;
    if (!codec_rd_array(r, "view_change.prepared[].prepares", 0, PBFT_QUORUM_MAX,
                        &pc->prepare_count)) {
        return false;
    }
    for (uint32_t i = 0; i < pc->prepare_count; i++) {
        codec_vsig *v = &pc->prepares[i];
        uint32_t n;
        r->index = i;
        if (!codec_rd_array(r, "view_change.prepared[].prepares[]", 2, 2, &n)) return false;
        const uint8_t *at = r->p;
        if (!codec_rd_u32(r, "view_change.prepared[].prepares[].validator", WIRE_VALIDATOR_MAX,
                          &v->validator)) {
            return false;
        }
        if (i > 0 && v->validator <= pc->prepares[i - 1].validator) {
            return codec_rd_fail_at(r, at, CODEC_ERR_ORDER,
                                    "view_change.prepared[].prepares[].validator");
        }
        if (!rd_sig(r, "view_change.prepared[].prepares[].sig", &v->sig)) return false;
    }
    return end_list(r, outer);
}

static bool rd_prepared(codec_reader *r, pbft_prepared_cert *pc)
{
    static const batch_fields bf = {"view_change.prepared[].digests",
                                    "view_change.prepared[].digests[]"};
    uint32_t n;
    return codec_rd_array(r, "view_change.prepared[]", 5, 5, &n)
        && codec_rd_uint(r, "view_change.prepared[].view", UINT64_MAX, &pc->view)
        && rd_batch(r, &bf, &pc->batch)
        && rd_sig(r, "view_change.prepared[].preprepare_sig", &pc->preprepare_sig)
        && rd_prepares(r, pc);
}

/* The stable certificate: codec's result cert reader (whose signers are < PBFT_N_MAX,
 * the same bound: pbft.h); empty only at height 0. */
static bool rd_stable(codec_reader *r, codec_result_cert *c)
{
    const uint8_t *at = r->p;
    int64_t outer = r->index; /* the codec's reader leaves -1 after its sigs */
    if (!codec_rd_result_cert(r, c, 0)) return false;
    r->index = outer;
    if (c->height > 0 && c->sig_count == 0) {
        return codec_rd_fail_at(r, at, CODEC_ERR_COUNT, "view_change.stable.sigs");
    }
    return true;
}

/* The VIEW-CHANGE fields after the type. sender must be `sender` unless
 * that is PBFT_BROADCAST (a view-change nested in a NEW-VIEW). */
static bool rd_view_change_fields(codec_reader *r, pbft_replica sender, pbft_view_change *vc)
{
    int64_t outer = r->index;
    if (!codec_rd_uint(r, "view_change.new_view", UINT64_MAX, &vc->new_view)) return false;
    const uint8_t *at = r->p;
    if (!codec_rd_u32(r, "view_change.sender", WIRE_VALIDATOR_MAX, &vc->sender)) return false;
    if (sender != PBFT_BROADCAST && vc->sender != sender) {
        return codec_rd_fail_at(r, at, CODEC_ERR_RANGE, "view_change.sender");
    }
    if (!(rd_stable(r, &vc->stable)
          && codec_rd_array(r, "view_change.prepared", 0, PBFT_WINDOW, &vc->prepared_count))) {
        return false;
    }
    for (uint32_t i = 0; i < vc->prepared_count; i++) {
        r->index = i;
        if (!rd_prepared(r, &vc->prepared[i])) return false;
    }
    end_list(r, outer);
    return rd_sig(r, "view_change.sig", &vc->sig);
}

/* A whole VIEW-CHANGE body (type included), as nested in a NEW-VIEW. */
static bool rd_view_change(codec_reader *r, pbft_view_change *vc)
{
    uint32_t n, type;
    return codec_rd_array(r, "new_view.vcs[]", 6, 6, &n)
        && codec_rd_u32_in(r, "new_view.vcs[].type", PBFT_MSG_VIEW_CHANGE, PBFT_MSG_VIEW_CHANGE,
                           &type)
        && rd_view_change_fields(r, PBFT_BROADCAST, vc);
}

static bool rd_new_view(codec_reader *r, pbft_new_view *nv)
{
    int64_t outer = r->index;
    if (!(codec_rd_uint(r, "new_view.view", UINT64_MAX, &nv->view)
          && codec_rd_array(r, "new_view.vcs", 0, PBFT_QUORUM_MAX, &nv->vc_count))) {
        return false;
    }
    for (uint32_t i = 0; i < nv->vc_count; i++) {
        r->index = i;
        if (!rd_view_change(r, &nv->vcs[i])) return false;
    }
    end_list(r, outer);
    if (!(codec_rd_uint(r, "new_view.reissued_from", UINT64_MAX, &nv->reissued_from)
          && codec_rd_array(r, "new_view.reissued", 0, PBFT_WINDOW, &nv->reissued_count))) {
        return false;
    }
    for (uint32_t i = 0; i < nv->reissued_count; i++) {
        r->index = i;
        if (!codec_rd_hash(r, "new_view.reissued[]", &nv->reissued[i])) return false;
    }
    end_list(r, outer);
    const uint8_t *at = r->p;
    uint32_t sig_count;
    if (!codec_rd_array(r, "new_view.reissued_sigs", 0, PBFT_WINDOW, &sig_count)) return false;
    if (sig_count != nv->reissued_count) {
        return codec_rd_fail_at(r, at, CODEC_ERR_COUNT, "new_view.reissued_sigs");
    }
    for (uint32_t i = 0; i < sig_count; i++) {
        r->index = i;
        if (!rd_sig(r, "new_view.reissued_sigs[]", &nv->reissued_sig[i])) return false;
    }
    end_list(r, outer);
    return rd_sig(r, "new_view.sig", &nv->sig);
}

/* Elements of each PBFT body, by type (index 0 unused). */
static const uint32_t pbft_body_fields[] = {0, 8, 5, 5, 6, 6, 7};

static bool rd_pbft(codec_reader *r, wire_msg *out)
{
    pbft_msg *m = &out->msg;
    const uint8_t *at = r->p;
    uint32_t n, type;
    if (!(codec_rd_array(r, "pbft", 1, 8, &n)
          && codec_rd_u32_in(r, "pbft.type", PBFT_MSG_PREPREPARE, PBFT_MSG_NEW_VIEW, &type))) {
        return false;
    }
    if (n != pbft_body_fields[type]) return codec_rd_fail_at(r, at, CODEC_ERR_COUNT, "pbft");
    m->type = (pbft_msg_type)type;
    m->from = out->from;
    switch (m->type) {
    case PBFT_MSG_PREPREPARE: return rd_preprepare(r, out);
    case PBFT_MSG_PREPARE:
    case PBFT_MSG_COMMIT: return rd_vote(r, m);
    case PBFT_MSG_CHECKPOINT: return rd_checkpoint(r, m);
    case PBFT_MSG_VIEW_CHANGE:
        if (!rd_view_change_fields(r, out->from, &out->vc)) return false;
        m->view = out->vc.new_view;
        m->view_change = &out->vc;
        return true;
    case PBFT_MSG_NEW_VIEW:
        if (!rd_new_view(r, &out->nv)) return false;
        m->view = out->nv.view;
        m->new_view = &out->nv;
        return true;
    }
    return false; /* not reached: type checked above */
}

static bool rd_fetch(codec_reader *r, wire_msg *out)
{
    uint32_t n;
    const uint8_t *head = r->p;
    if (!codec_rd_array(r, "fetch", 2, 5, &n)) return false;
    if (n == 3) return codec_rd_fail_at(r, head, CODEC_ERR_COUNT, "fetch");
    const uint8_t *at = r->p;
    if (!codec_rd_uint(r, "fetch.from", UINT64_MAX, &out->fetch_from)) return false;
    if (out->fetch_from == 0) return codec_rd_fail_at(r, at, CODEC_ERR_RANGE, "fetch.from");
    at = r->p;
    if (!codec_rd_uint(r, "fetch.to", UINT64_MAX, &out->fetch_to)) return false;
    if (out->fetch_to < out->fetch_from) {
        return codec_rd_fail_at(r, at, CODEC_ERR_RANGE, "fetch.to");
    }
    out->fetch_signed = n >= 4;
    out->fetch_keyed = n == 5;
    return n == 2
           || (codec_rd_uint(r, "fetch.time_ms", UINT64_MAX, &out->fetch_time_ms)
               && (n == 4 || codec_rd_fixed(r, "fetch.key", out->fetch_key.bytes, 32))
               && codec_rd_fixed(r, "fetch.sig", out->fetch_sig.bytes, 64));
}

static bool rd_blocks(codec_reader *r, wire_msg *out)
{
    int64_t outer = r->index;
    if (!codec_rd_array(r, "blocks", 1, WIRE_BLOCKS_MAX, &out->block_count)) return false;
    for (uint32_t i = 0; i < out->block_count; i++) {
        uint32_t n;
        r->index = i;
        if (!(codec_rd_array(r, "blocks[]", 2, 2, &n)
              && codec_rd_span(r, "blocks[].block", 1, WIRE_BLOCK_BYTES_MAX, &out->blocks[i])
              && codec_rd_span_or_nil(r, "blocks[].result_cert", WIRE_RESULT_CERT_BYTES_MAX,
                                      &out->results[i]))) {
            return false;
        }
    }
    return end_list(r, outer);
}

static bool rd_bundle(codec_reader *r, wire_msg *out)
{
    int64_t outer = r->index;
    if (!codec_rd_array(r, "bundle", 2, WIRE_BUNDLE_MAX, &out->part_count)) return false;
    for (uint32_t i = 0; i < out->part_count; i++) {
        r->index = i;
        if (!codec_rd_span(r, "bundle[]", 1, WIRE_PART_BYTES_MAX, &out->parts[i])) return false;
    }
    return end_list(r, outer);
}

/* Reset the small parts of out; the big arrays are valid up to their counts. */
static void reset(wire_msg *out)
{
    out->kind = 0;
    out->from = 0;
    memset(&out->msg, 0, sizeof out->msg);
    out->tx_count = 0;
    out->fetch_from = out->fetch_to = 0;
    out->fetch_signed = false;
    out->fetch_keyed = false;
    out->fetch_time_ms = 0;
    out->block_count = 0;
    out->part_count = 0;
}

static bool rd_wire(codec_reader *r, wire_msg *out)
{
    uint32_t n, version, kind;
    if (!(codec_rd_array(r, "wire", 4, 4, &n)
          && codec_rd_u32_in(r, "wire.version", WIRE_VERSION, WIRE_VERSION, &version)
          && codec_rd_u32_in(r, "wire.kind", WIRE_PBFT, WIRE_BUNDLE, &kind)
          && codec_rd_u32(r, "wire.from", WIRE_VALIDATOR_MAX, &out->from))) {
        return false;
    }
    out->kind = (wire_kind)kind;
    switch (out->kind) {
    case WIRE_PBFT: return rd_pbft(r, out);
    case WIRE_TXS: return rd_txs(r, "txs", "txs[]", 1, WIRE_TXS_MAX, out);
    case WIRE_FETCH: return rd_fetch(r, out);
    case WIRE_BLOCKS: return rd_blocks(r, out);
    case WIRE_BUNDLE: return rd_bundle(r, out);
    }
    return false; /* not reached: kind checked above */
}

codec_err wire_decode(const uint8_t *data, size_t len, wire_msg *out, codec_error *err)
{
    codec_reader r;
    codec_rd_init(&r, data, len, err);
    reset(out);
    return codec_rd_finish(&r, rd_wire(&r, out));
}
