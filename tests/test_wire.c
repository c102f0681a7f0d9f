/*
 * test_wire.c - validator messages (registry/consensus/wire.h): full-size round trips
 * of every kind and PBFT type (decode, compare, re-encode to identical
 * bytes), every refusal the decoder makes (code, field, index, offset), the
 * encoders' own refusals, and truncation at every byte of a small message of
 * each kind. Decoders always get an exact-size heap copy, so ASan catches any
 * read past the end. Offsets are located by searching the encoded bytes for
 * the encoding of a known part (find_after), so the tests do not hard-code
 * the layout the encoder chose.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define BUF_MAX (8u << 20)

static uint8_t *buf;     /* encoder output */
static wire_msg *msg;    /* decoded (about 1 MB: one per test, like a node's) */
static wire_msg *msg2;   /* the re-decoded copy */
static uint8_t *re_buf;  /* re-encoding */

static void suite_init(void)
{
    buf = malloc(BUF_MAX);
    re_buf = malloc(BUF_MAX);
    msg = calloc(1, sizeof *msg);
    msg2 = calloc(1, sizeof *msg2);
    cr_assert(buf && re_buf && msg && msg2);
}

static void suite_fini(void)
{
    free(buf);
    free(re_buf);
    free(msg);
    free(msg2);
}

TestSuite(wire, .init = suite_init, .fini = suite_fini);

/* ==== builders ============================================================ */

static hash32 hash_of(uint32_t seed)
{
    hash32 h;
    for (int i = 0; i < 32; i++) h.bytes[i] = (uint8_t)(seed * 131u + (uint32_t)i * 7u + 1u);
    return h;
}

static signature sig_of(uint32_t seed)
{
    signature s;
    for (int i = 0; i < 64; i++) s.bytes[i] = (uint8_t)(seed * 31u + (uint32_t)i * 3u + 5u);
    return s;
}

static void make_batch(pbft_batch *b, uint64_t height, uint32_t count, uint32_t seed)
{
    b->header.height = height;
    b->header.time_ms = 1764000000000ull + height;
    b->header.tx_root = hash_of(seed ^ 0xabcdu);
    b->header.tx_count = count;
    b->count = count;
    for (uint32_t i = 0; i < count; i++) b->txs[i] = hash_of(seed * 1000u + i);
}

static void make_stable(codec_result_cert *c, uint64_t height, uint32_t sigs)
{
    memset(c, 0, sizeof *c);
    c->height = height;
    c->block_hash = hash_of(1);
    c->state_hash = hash_of(2);
    c->receipts_root = hash_of(3);
    c->sig_count = sigs;
    for (uint32_t i = 0; i < sigs; i++) {
        c->sigs[i].validator = i + (i >= 3); /* skip validator 3 */
        c->sigs[i].sig = sig_of(100 + i);
    }
}

/* A view-change with `prepared` certs of `digests` requests and `prepares` prepares. */
static void make_view_change(pbft_view_change *vc, uint32_t sender, uint32_t prepared,
                             uint32_t digests, uint32_t prepares)
{
    memset(vc, 0, sizeof *vc);
    vc->new_view = 7;
    vc->sender = sender;
    make_stable(&vc->stable, 64, PBFT_QUORUM_MAX);
    vc->prepared_count = prepared;
    for (uint32_t i = 0; i < prepared; i++) {
        pbft_prepared_cert *pc = &vc->prepared[i];
        pc->view = 6;
        make_batch(&pc->batch, 65 + i, digests, sender * 100 + i);
        pc->preprepare_sig = sig_of(200 + i);
        pc->prepare_count = prepares;
        for (uint32_t k = 0; k < prepares; k++) {
            pc->prepares[k].validator = k + 1; /* primary of view 6 is 6 % n; fine for bytes */
            pc->prepares[k].sig = sig_of(300 + i * 16 + k);
        }
    }
    vc->sig = sig_of(sender);
}

static void make_new_view(pbft_new_view *nv, uint32_t vcs, uint32_t prepared, uint32_t digests,
                          uint32_t reissued)
{
    memset(nv, 0, sizeof *nv);
    nv->view = 7;
    nv->vc_count = vcs;
    for (uint32_t i = 0; i < vcs; i++) make_view_change(&nv->vcs[i], i, prepared, digests, 3);
    nv->reissued_from = 64;
    nv->reissued_count = reissued;
    for (uint32_t i = 0; i < reissued; i++) {
        nv->reissued[i] = hash_of(500 + i);
        nv->reissued_sig[i] = sig_of(600 + i);
    }
    nv->sig = sig_of(999);
}

/* tx bytes: count spans into one static pool, sizes 100..1123 bytes. */
static uint8_t tx_pool[PBFT_BATCH_MAX * 1200];
static codec_span tx_spans[PBFT_BATCH_MAX];

static void make_txs(uint32_t count)
{
    size_t at = 0;
    for (uint32_t i = 0; i < count; i++) {
        size_t len = 100 + (i * 37) % 1024;
        for (size_t k = 0; k < len; k++) tx_pool[at + k] = (uint8_t)(i + k);
        tx_spans[i] = (codec_span){tx_pool + at, len};
        at += len;
    }
}

static pbft_msg preprepare(const pbft_batch *b)
{
    pbft_msg m = {.type = PBFT_MSG_PREPREPARE, .view = 3, .height = b->header.height};
    m.digest = hash_of(77);
    m.batch = b;
    m.sig = sig_of(77);
    return m;
}

/* ==== decode helpers ======================================================== */

/* Decode an exact-size heap copy of data[0..n) into out. */
static codec_err decode_copy(const uint8_t *data, size_t n, wire_msg *out, codec_error *e)
{
    uint8_t *copy = malloc(n ? n : 1);
    cr_assert_not_null(copy);
    memcpy(copy, data, n);
    memset(e, 0, sizeof *e);
    e->index = -7;
    codec_err rc = wire_decode(copy, n, out, e);
    free(copy);
    return rc;
}

/* Decode in place (spans stay valid) and require success. */
static void decode_ok(const uint8_t *data, size_t n, wire_msg *out)
{
    codec_error e = {0};
    char why[200];
    codec_err rc = wire_decode(data, n, out, &e);
    cr_assert_eq(rc, CODEC_OK, "valid message refused: %s",
                 codec_error_format(&e, why, sizeof why));
}

#define EXPECT_ERR(rc, e, code_, field_, index_, offset_)                                        \
    do {                                                                                         \
        char why_[200];                                                                          \
        codec_error_format(&(e), why_, sizeof why_);                                             \
        cr_assert_eq((rc), (code_), "code %d, want %d (%s)", (int)(rc), (int)(code_), why_);    \
        cr_assert_not_null((e).field);                                                           \
        cr_assert_str_eq((e).field, (field_), "field (%s)", why_);                              \
        cr_assert_eq((e).index, (int64_t)(index_), "index %lld (%s)", (long long)(e).index,    \
                     why_);                                                                      \
        cr_assert_eq((e).offset, (size_t)(offset_), "offset %zu, want %zu (%s)", (e).offset,   \
                     (size_t)(offset_), why_);                                                   \
    } while (0)

/* Decode b (a copy) and expect the refusal. */
#define EXPECT_REFUSED(b, code_, field_, index_, offset_)                                        \
    do {                                                                                         \
        codec_error e_;                                                                          \
        codec_err rc_ = decode_copy((b).data, (b).len, msg, &e_);                                \
        EXPECT_ERR(rc_, e_, code_, field_, index_, offset_);                                     \
    } while (0)

/* Replace the one-byte fixarray header at `at` by the canonical header of an array of
 * `count` (array16 beyond 15, which moves the bytes after it). */
static void set_array_count(codec_buf *b, size_t at, uint32_t count)
{
    if (count <= 15) {
        b->data[at] = (uint8_t)(0x90 | count);
        return;
    }
    cr_assert_lt(b->len + 2, b->cap);
    memmove(b->data + at + 3, b->data + at + 1, b->len - at - 1);
    b->data[at] = 0xdc;
    b->data[at + 1] = (uint8_t)(count >> 8);
    b->data[at + 2] = (uint8_t)count;
    b->len += 2;
}

/* Offset just after the first occurrence of needle in hay (from `from`). */
static size_t find_after(const codec_buf *hay, size_t from, const void *needle, size_t n)
{
    for (size_t i = from; i + n <= hay->len; i++) {
        if (memcmp(hay->data + i, needle, n) == 0) return i + n;
    }
    cr_assert_fail("needle not found");
    return 0;
}

static size_t find_hash(const codec_buf *hay, size_t from, const hash32 *h)
{
    uint8_t needle[34] = {0xc4, 32};
    memcpy(needle + 2, h->bytes, 32);
    return find_after(hay, from, needle, sizeof needle);
}

/* ENCODE(wire_x_encode(..., &ob)): encode into buf through the global ob,
 * require success and return the message as a codec_buf. */
static codec_buf ob;

static void fresh(void) { ob = codec_buf_make(buf, BUF_MAX); }

static codec_buf encoded(codec_err rc)
{
    cr_assert_eq(rc, CODEC_OK, "encode: %s", codec_strerror(rc));
    return ob;
}

#define ENCODE(call) (fresh(), encoded(call))

/* Re-encode the decoded message; the bytes must equal the original. */
static void expect_reencodes(const codec_buf *orig, const wire_msg *m)
{
    codec_buf re = codec_buf_make(re_buf, BUF_MAX);
    codec_err rc = CODEC_OK;
    switch (m->kind) {
    case WIRE_PBFT: rc = wire_pbft_encode(m->from, &m->msg, m->txs, m->tx_count, &re); break;
    case WIRE_TXS: rc = wire_txs_encode(m->from, m->txs, m->tx_count, &re); break;
    case WIRE_BUNDLE: rc = wire_bundle_encode(m->from, m->parts, m->part_count, &re); break;
    case WIRE_FETCH:
        rc = m->fetch_signed ? wire_fetch_signed_encode(m->from, m->fetch_from, m->fetch_to,
                                                        m->fetch_time_ms, &m->fetch_sig, &re)
                             : wire_fetch_encode(m->from, m->fetch_from, m->fetch_to, &re);
        break;
    case WIRE_BLOCKS:
        rc = wire_blocks_encode(m->from, m->blocks, m->results, m->block_count, &re);
        break;
    }
    cr_assert_eq(rc, CODEC_OK, "re-encode: %s", codec_strerror(rc));
    cr_assert_eq(re.len, orig->len, "re-encoded length %zu, original %zu", re.len, orig->len);
    cr_assert(memcmp(re.data, orig->data, orig->len) == 0, "re-encoded bytes differ");
}

static bool same(const void *a, const void *b, size_t n) { return memcmp(a, b, n) == 0; }

static void expect_same_batch(const pbft_batch *a, const pbft_batch *b)
{
    cr_assert(same(&a->header, &b->header, sizeof a->header));
    cr_assert_eq(a->count, b->count);
    cr_assert(same(a->txs, b->txs, a->count * sizeof a->txs[0]));
}

static void expect_same_cert(const codec_result_cert *a, const codec_result_cert *b)
{
    cr_assert_eq(a->height, b->height);
    cr_assert(same(&a->block_hash, &b->block_hash, 32));
    cr_assert(same(&a->state_hash, &b->state_hash, 32));
    cr_assert(same(&a->receipts_root, &b->receipts_root, 32));
    cr_assert_eq(a->sig_count, b->sig_count);
    cr_assert(same(a->sigs, b->sigs, a->sig_count * sizeof a->sigs[0]));
}

static void expect_same_view_change(const pbft_view_change *a, const pbft_view_change *b)
{
    cr_assert_eq(a->new_view, b->new_view);
    cr_assert_eq(a->sender, b->sender);
    expect_same_cert(&a->stable, &b->stable);
    cr_assert_eq(a->prepared_count, b->prepared_count);
    for (uint32_t i = 0; i < a->prepared_count; i++) {
        const pbft_prepared_cert *x = &a->prepared[i], *y = &b->prepared[i];
        cr_assert_eq(x->view, y->view);
        expect_same_batch(&x->batch, &y->batch);
        cr_assert(same(&x->preprepare_sig, &y->preprepare_sig, 64));
        cr_assert_eq(x->prepare_count, y->prepare_count);
        cr_assert(same(x->prepares, y->prepares, x->prepare_count * sizeof x->prepares[0]));
    }
    cr_assert(same(&a->sig, &b->sig, 64));
}

/* ==== 1. round trips ======================================================== */

Test(wire, preprepare_with_256_digests_and_256_txs_round_trips)
{
    static pbft_batch b;
    make_batch(&b, 42, PBFT_BATCH_MAX, 1);
    make_txs(PBFT_BATCH_MAX);
    pbft_msg m = preprepare(&b);
    codec_buf out = ENCODE(wire_pbft_encode(5, &m, tx_spans, PBFT_BATCH_MAX, &ob));
    cr_assert_gt(out.len, PBFT_BATCH_MAX * (34 + 100));
    decode_ok(out.data, out.len, msg);
    cr_assert_eq(msg->kind, WIRE_PBFT);
    cr_assert_eq(msg->from, 5);
    cr_assert_eq(msg->msg.type, PBFT_MSG_PREPREPARE);
    cr_assert_eq(msg->msg.from, 5);
    cr_assert_eq(msg->msg.view, 3);
    cr_assert_eq(msg->msg.height, 42);
    cr_assert(same(&msg->msg.digest, &m.digest, 32));
    cr_assert(same(&msg->msg.sig, &m.sig, 64));
    cr_assert_eq(msg->msg.batch, &msg->batch);
    expect_same_batch(&b, &msg->batch);
    cr_assert_eq(msg->tx_count, PBFT_BATCH_MAX);
    for (uint32_t i = 0; i < PBFT_BATCH_MAX; i++) {
        cr_assert_eq(msg->txs[i].len, tx_spans[i].len, "tx %u", i);
        cr_assert(same(msg->txs[i].data, tx_spans[i].data, tx_spans[i].len), "tx %u", i);
        /* zero copy: the span points into the input */
        cr_assert(msg->txs[i].data > out.data && msg->txs[i].data < out.data + out.len);
    }
    expect_reencodes(&out, msg);
}

Test(wire, preprepare_without_tx_bytes_and_empty_batch_round_trip)
{
    static pbft_batch b;
    make_batch(&b, 42, PBFT_BATCH_MAX, 1);
    pbft_msg m = preprepare(&b);
    codec_buf out = ENCODE(wire_pbft_encode(0, &m, NULL, 0, &ob));
    decode_ok(out.data, out.len, msg);
    cr_assert_eq(msg->tx_count, 0);
    expect_same_batch(&b, &msg->batch);
    expect_reencodes(&out, msg);

    make_batch(&b, 43, 0, 2); /* an empty batch (a re-issued null request) */
    out = ENCODE(wire_pbft_encode(0, &m, NULL, 0, &ob));
    decode_ok(out.data, out.len, msg);
    cr_assert_eq(msg->batch.count, 0);
    expect_reencodes(&out, msg);
}

Test(wire, prepare_commit_checkpoint_round_trip)
{
    for (int t = PBFT_MSG_PREPARE; t <= PBFT_MSG_CHECKPOINT; t++) {
        pbft_msg m = {.type = (pbft_msg_type)t, .from = 9};
        m.view = t == PBFT_MSG_CHECKPOINT ? 0 : 0x123456789ull; /* checkpoint has no view */
        m.height = 1ull << 40;
        if (t != PBFT_MSG_CHECKPOINT) m.digest = hash_of(10);
        if (t == PBFT_MSG_CHECKPOINT) {
            m.block_hash = hash_of(11);
            m.state_hash = hash_of(12);
            m.receipts_root = hash_of(13);
        }
        m.sig = sig_of(14);
        codec_buf out = ENCODE(wire_pbft_encode(PBFT_N_MAX - 1, &m, NULL, 0, &ob));
        decode_ok(out.data, out.len, msg);
        cr_assert_eq((int)msg->msg.type, (int)t);
        cr_assert_eq(msg->msg.from, PBFT_N_MAX - 1);
        cr_assert_eq(msg->msg.view, m.view);
        cr_assert_eq(msg->msg.height, m.height);
        cr_assert(same(&msg->msg.digest, &m.digest, 32));
        cr_assert(same(&msg->msg.block_hash, &m.block_hash, 32));
        cr_assert(same(&msg->msg.state_hash, &m.state_hash, 32));
        cr_assert(same(&msg->msg.receipts_root, &m.receipts_root, 32));
        cr_assert(same(&msg->msg.sig, &m.sig, 64));
        cr_assert_null(msg->msg.batch);
        cr_assert_null(msg->msg.view_change);
        cr_assert_null(msg->msg.new_view);
        expect_reencodes(&out, msg);
    }
}

Test(wire, view_change_with_a_full_window_of_prepared_certs_round_trips)
{
    static pbft_view_change vc;
    make_view_change(&vc, 4, PBFT_WINDOW, PBFT_BATCH_MAX, PBFT_QUORUM_MAX - 1);
    pbft_msg m = {.type = PBFT_MSG_VIEW_CHANGE, .view_change = &vc};
    codec_buf out = ENCODE(wire_pbft_encode(4, &m, NULL, 0, &ob));
    decode_ok(out.data, out.len, msg);
    cr_assert_eq(msg->msg.type, PBFT_MSG_VIEW_CHANGE);
    cr_assert_eq(msg->msg.from, 4);
    cr_assert_eq(msg->msg.view, 7);
    cr_assert_eq(msg->msg.view_change, &msg->vc);
    expect_same_view_change(&vc, &msg->vc);
    expect_reencodes(&out, msg);
}

Test(wire, view_change_at_genesis_has_an_empty_stable_certificate)
{
    static pbft_view_change vc;
    make_view_change(&vc, 1, 0, 0, 0);
    memset(&vc.stable, 0, sizeof vc.stable);
    pbft_msg m = {.type = PBFT_MSG_VIEW_CHANGE, .view_change = &vc};
    codec_buf out = ENCODE(wire_pbft_encode(1, &m, NULL, 0, &ob));
    decode_ok(out.data, out.len, msg);
    cr_assert_eq(msg->vc.stable.height, 0);
    cr_assert_eq(msg->vc.stable.sig_count, 0);
    expect_reencodes(&out, msg);
}

Test(wire, new_view_with_a_quorum_of_full_view_changes_round_trips)
{
    static pbft_new_view nv;
    make_new_view(&nv, PBFT_QUORUM_MAX, PBFT_WINDOW, PBFT_BATCH_MAX, PBFT_WINDOW);
    pbft_msg m = {.type = PBFT_MSG_NEW_VIEW, .new_view = &nv};
    codec_buf out = ENCODE(wire_pbft_encode(7 % PBFT_N_MAX, &m, NULL, 0, &ob));
    cr_assert_gt(out.len, (size_t)PBFT_QUORUM_MAX * PBFT_WINDOW * PBFT_BATCH_MAX * 34);
    decode_ok(out.data, out.len, msg);
    cr_assert_eq(msg->msg.type, PBFT_MSG_NEW_VIEW);
    cr_assert_eq(msg->msg.new_view, &msg->nv);
    cr_assert_eq(msg->msg.view, 7);
    cr_assert_eq(msg->nv.view, 7);
    cr_assert_eq(msg->nv.vc_count, PBFT_QUORUM_MAX);
    for (uint32_t i = 0; i < PBFT_QUORUM_MAX; i++) {
        expect_same_view_change(&nv.vcs[i], &msg->nv.vcs[i]);
    }
    cr_assert_eq(msg->nv.reissued_from, 64);
    cr_assert_eq(msg->nv.reissued_count, PBFT_WINDOW);
    cr_assert(same(msg->nv.reissued, nv.reissued, sizeof nv.reissued));
    cr_assert(same(msg->nv.reissued_sig, nv.reissued_sig, sizeof nv.reissued_sig));
    cr_assert(same(&msg->nv.sig, &nv.sig, 64));
    expect_reencodes(&out, msg);
}

Test(wire, txs_fetch_blocks_round_trip)
{
    make_txs(WIRE_TXS_MAX);
    codec_buf out = ENCODE(wire_txs_encode(2, tx_spans, WIRE_TXS_MAX, &ob));
    decode_ok(out.data, out.len, msg);
    cr_assert_eq(msg->kind, WIRE_TXS);
    cr_assert_eq(msg->from, 2);
    cr_assert_eq(msg->tx_count, WIRE_TXS_MAX);
    for (uint32_t i = 0; i < WIRE_TXS_MAX; i++) {
        cr_assert(msg->txs[i].len == tx_spans[i].len
                  && same(msg->txs[i].data, tx_spans[i].data, tx_spans[i].len));
    }
    expect_reencodes(&out, msg);

    out = ENCODE(wire_fetch_encode(3, 1, UINT64_MAX, &ob));
    decode_ok(out.data, out.len, msg);
    cr_assert_eq(msg->kind, WIRE_FETCH);
    cr_assert_eq(msg->fetch_from, 1);
    cr_assert_eq(msg->fetch_to, UINT64_MAX);
    expect_reencodes(&out, msg);
    out = ENCODE(wire_fetch_encode(3, 300, 300, &ob));
    decode_ok(out.data, out.len, msg);
    cr_assert(msg->fetch_from == 300 && msg->fetch_to == 300);

    codec_span blocks[WIRE_BLOCKS_MAX], results[WIRE_BLOCKS_MAX];
    for (uint32_t i = 0; i < WIRE_BLOCKS_MAX; i++) {
        blocks[i] = tx_spans[i];
        results[i] = i % 3 == 0 ? (codec_span){NULL, 0} : tx_spans[100 + i];
    }
    out = ENCODE(wire_blocks_encode(15, blocks, results, WIRE_BLOCKS_MAX, &ob));
    decode_ok(out.data, out.len, msg);
    cr_assert_eq(msg->kind, WIRE_BLOCKS);
    cr_assert_eq(msg->block_count, WIRE_BLOCKS_MAX);
    for (uint32_t i = 0; i < WIRE_BLOCKS_MAX; i++) {
        cr_assert(same(msg->blocks[i].data, blocks[i].data, blocks[i].len));
        cr_assert_eq(msg->results[i].len, results[i].len, "result %u", i);
        if (results[i].len) cr_assert(same(msg->results[i].data, results[i].data, results[i].len));
    }
    expect_reencodes(&out, msg);
}

/* One decoded wire_msg is reused: a small message after a big one carries nothing over. */
Test(wire, reused_message_struct_is_reset)
{
    static pbft_batch b;
    make_batch(&b, 42, 4, 1);
    make_txs(4);
    pbft_msg m = preprepare(&b);
    codec_buf out = ENCODE(wire_pbft_encode(5, &m, tx_spans, 4, &ob));
    decode_ok(out.data, out.len, msg);
    out = ENCODE(wire_fetch_encode(3, 1, 2, &ob));
    decode_ok(out.data, out.len, msg);
    cr_assert_eq(msg->tx_count, 0);
    cr_assert_null(msg->msg.batch);
    cr_assert_eq(msg->msg.type, 0);
}

/* ==== 2. refusals =========================================================== */

static codec_buf small_fetch(void) { return ENCODE(wire_fetch_encode(3, 5, 9, &ob)); }

Test(wire, envelope_refusals)
{
    codec_buf b = small_fetch(); /* 94 01 03 03 92 05 09 */
    cr_assert_eq(b.len, 7);
    buf[1] = 2;
    EXPECT_REFUSED(b, CODEC_ERR_RANGE, "wire.version", -1, 1);
    b = small_fetch();
    buf[2] = 6;
    EXPECT_REFUSED(b, CODEC_ERR_RANGE, "wire.kind", -1, 2);
    buf[2] = 0;
    EXPECT_REFUSED(b, CODEC_ERR_RANGE, "wire.kind", -1, 2);
    b = small_fetch();
    buf[3] = PBFT_N_MAX;
    EXPECT_REFUSED(b, CODEC_ERR_RANGE, "wire.from", -1, 3);
    b = small_fetch();
    buf[0] = 0x95; /* five fields */
    EXPECT_REFUSED(b, CODEC_ERR_COUNT, "wire", -1, 0);
    b = small_fetch();
    buf[3] = 0xa1; /* a str where from belongs */
    EXPECT_REFUSED(b, CODEC_ERR_TYPE, "wire.from", -1, 3);

    /* trailing bytes */
    b = small_fetch();
    buf[b.len++] = 0xc0;
    EXPECT_REFUSED(b, CODEC_ERR_TRAILING, "end", -1, 7);

    /* non-canonical: from 3 as uint8, the array as array16 */
    static const uint8_t wide_from[] = {0x94, 0x01, 0x03, 0xcc, 0x03, 0x92, 0x05, 0x09};
    codec_buf w = {(uint8_t *)wide_from, sizeof wide_from, sizeof wide_from, false};
    EXPECT_REFUSED(w, CODEC_ERR_NONCANONICAL, "wire.from", -1, 3);
    static const uint8_t wide_array[] = {0xdc, 0x00, 0x04, 0x01, 0x03, 0x03, 0x92, 0x05, 0x09};
    w = (codec_buf){(uint8_t *)wide_array, sizeof wide_array, sizeof wide_array, false};
    EXPECT_REFUSED(w, CODEC_ERR_NONCANONICAL, "wire", -1, 0);
}

Test(wire, fetch_refusals)
{
    codec_buf b = small_fetch();
    buf[5] = 0; /* from 0 */
    EXPECT_REFUSED(b, CODEC_ERR_RANGE, "fetch.from", -1, 5);
    b = small_fetch();
    buf[5] = 10; /* from 10 > to 9 */
    EXPECT_REFUSED(b, CODEC_ERR_RANGE, "fetch.to", -1, 6);
    b = small_fetch();
    buf[4] = 0x96; /* 2 (unsigned), 4 (signed) or 5 (keyed) fields, no more */
    EXPECT_REFUSED(b, CODEC_ERR_COUNT, "fetch", -1, 4);
    signature sig = sig_of(3);
    b = ENCODE(wire_fetch_signed_encode(3, 5, 9, 1234, &sig, &ob));
    cr_assert_eq(buf[4], 0x94);
    buf[4] = 0x93; /* 3 fields: neither form */
    EXPECT_REFUSED(b, CODEC_ERR_COUNT, "fetch", -1, 4);
}

/* Issue 19: a signed FETCH round-trips with its time and signature, and the signed part
 * names the sender, so a signature made for another sender or range does not carry over. */
Test(wire, signed_fetch_round_trips)
{
    signature sig = sig_of(7);
    codec_error e;
    codec_buf b = ENCODE(wire_fetch_signed_encode(2, 5, 9, 1700000000123ull, &sig, &ob));
    cr_assert_eq(decode_copy(b.data, b.len, msg, &e), CODEC_OK);
    cr_assert_eq(msg->kind, WIRE_FETCH);
    cr_assert(msg->fetch_signed);
    cr_assert_eq(msg->fetch_from, 5);
    cr_assert_eq(msg->fetch_to, 9);
    cr_assert_eq(msg->fetch_time_ms, 1700000000123ull);
    cr_assert_eq(memcmp(msg->fetch_sig.bytes, sig.bytes, 64), 0);
    b = small_fetch();
    cr_assert_eq(decode_copy(b.data, b.len, msg, &e), CODEC_OK);
    cr_assert_not(msg->fetch_signed, "the unsigned form decodes, marked unsigned");
    uint8_t x[64], y[64];
    codec_buf bx = codec_buf_make(x, sizeof x), by = codec_buf_make(y, sizeof y);
    cr_assert_eq(wire_fetch_body_encode(2, 5, 9, 77, &bx), CODEC_OK);
    cr_assert_eq(wire_fetch_body_encode(3, 5, 9, 77, &by), CODEC_OK);
    cr_assert(bx.len != by.len || memcmp(x, y, bx.len) != 0, "the sender is signed");
}

/* Issue 23: the keyed FETCH names the requester's key (a validator a change added has no
 * genesis index), and the key is part of what it signs. */
Test(wire, keyed_fetch_round_trips_and_signs_its_key)
{
    signature sig = sig_of(9);
    pubkey key, other;
    memset(key.bytes, 0x41, 32);
    memset(other.bytes, 0x42, 32);
    codec_error e;
    codec_buf b = ENCODE(wire_fetch_keyed_encode(0, 5, 9, 1700000000123ull, &key, &sig, &ob));
    cr_assert_eq(buf[4], 0x95);
    cr_assert_eq(decode_copy(b.data, b.len, msg, &e), CODEC_OK);
    cr_assert(msg->fetch_signed && msg->fetch_keyed);
    cr_assert_eq(msg->fetch_from, 5);
    cr_assert_eq(msg->fetch_to, 9);
    cr_assert_eq(msg->fetch_time_ms, 1700000000123ull);
    cr_assert_eq(memcmp(msg->fetch_key.bytes, key.bytes, 32), 0);
    cr_assert_eq(memcmp(msg->fetch_sig.bytes, sig.bytes, 64), 0);
    b = ENCODE(wire_fetch_signed_encode(3, 5, 9, 1234, &sig, &ob));
    cr_assert_eq(decode_copy(b.data, b.len, msg, &e), CODEC_OK);
    cr_assert(msg->fetch_signed && !msg->fetch_keyed, "the older signed form still decodes");
    uint8_t x[96], y[96];
    codec_buf bx = codec_buf_make(x, sizeof x), by = codec_buf_make(y, sizeof y);
    cr_assert_eq(wire_fetch_keyed_body_encode(0, 5, 9, 77, &key, &bx), CODEC_OK);
    cr_assert_eq(wire_fetch_keyed_body_encode(0, 5, 9, 77, &other, &by), CODEC_OK);
    cr_assert(bx.len != by.len || memcmp(x, y, bx.len) != 0, "the key is signed");
}

static codec_buf small_vote(void)
{
    pbft_msg m = {.type = PBFT_MSG_PREPARE, .view = 1, .height = 2, .sig = sig_of(1)};
    m.digest = hash_of(1);
    return ENCODE(wire_pbft_encode(3, &m, NULL, 0, &ob));
}

Test(wire, pbft_type_and_field_count_refusals)
{
    codec_buf b = small_vote(); /* 94 01 01 03 | 95 02 ... */
    cr_assert_eq(buf[4], 0x95);
    buf[5] = 7;
    EXPECT_REFUSED(b, CODEC_ERR_RANGE, "pbft.type", -1, 5);
    buf[5] = 0;
    EXPECT_REFUSED(b, CODEC_ERR_RANGE, "pbft.type", -1, 5);
    b = small_vote();
    buf[5] = PBFT_MSG_CHECKPOINT; /* 6 fields, message has 5 */
    EXPECT_REFUSED(b, CODEC_ERR_COUNT, "pbft", -1, 4);
    b = small_vote();
    buf[8] = 0xa0; /* digest header (c4 20) as a str */
    EXPECT_REFUSED(b, CODEC_ERR_TYPE, "prepare.digest", -1, 8);
    b = small_vote();
    buf[9] = 31; /* digest of 31 bytes */
    EXPECT_REFUSED(b, CODEC_ERR_LENGTH, "prepare.digest", -1, 8);
}

Test(wire, preprepare_count_refusals)
{
    static pbft_batch bt;
    make_batch(&bt, 42, 2, 1);
    make_txs(2);
    pbft_msg m = preprepare(&bt);
    codec_buf b = ENCODE(wire_pbft_encode(5, &m, tx_spans, 2, &ob));
    /* tx_count is the byte before the digest list, which follows the tx_root */
    size_t digests_at = find_hash(&b, 0, &bt.header.tx_root) + 1;
    cr_assert_eq(buf[digests_at - 1], 2);
    cr_assert_eq(buf[digests_at], 0x92);
    buf[digests_at - 1] = 3;
    EXPECT_REFUSED(b, CODEC_ERR_COUNT, "preprepare.digests", -1, digests_at);

    /* tx bytes: one instead of two */
    b = ENCODE(wire_pbft_encode(5, &m, tx_spans, 2, &ob));
    size_t txs_at = find_after(&b, 0, m.sig.bytes, 64);
    cr_assert_eq(buf[txs_at], 0x92);
    codec_buf one = ENCODE(wire_pbft_encode(5, &m, tx_spans, 0, &ob));
    /* build [.. sig, [tx0]] by hand: the message without txs, then a one-element list */
    one.data[one.len - 1] = 0x91;
    one.data[one.len++] = 0xc4;
    one.data[one.len++] = (uint8_t)tx_spans[0].len;
    memcpy(one.data + one.len, tx_spans[0].data, tx_spans[0].len);
    one.len += tx_spans[0].len;
    EXPECT_REFUSED(one, CODEC_ERR_COUNT, "preprepare.txs", -1, txs_at);

    /* 257 digests: the list header is refused before any digest is read */
    static pbft_batch big;
    make_batch(&big, 42, PBFT_BATCH_MAX, 1);
    m = preprepare(&big);
    b = ENCODE(wire_pbft_encode(5, &m, NULL, 0, &ob));
    digests_at = find_hash(&b, 0, &big.header.tx_root) + 3; /* tx_count 256 is cd 01 00 */
    cr_assert(buf[digests_at] == 0xdc && buf[digests_at + 1] == 1 && buf[digests_at + 2] == 0);
    buf[digests_at + 2] = 1; /* 257 */
    EXPECT_REFUSED(b, CODEC_ERR_COUNT, "preprepare.digests", -1, digests_at);

    /* an empty tx */
    b = ENCODE(wire_pbft_encode(5, &m, NULL, 0, &ob));
    b.data[b.len - 1] = 0x91;
    b.data[b.len++] = 0xc4;
    b.data[b.len++] = 0;
    EXPECT_REFUSED(b, CODEC_ERR_LENGTH, "preprepare.txs[]", 0, b.len - 2);
}

Test(wire, view_change_refusals)
{
    static pbft_view_change vc;
    make_view_change(&vc, 4, 1, 2, 2);
    pbft_msg m = {.type = PBFT_MSG_VIEW_CHANGE, .view_change = &vc};

    /* sender differs from the envelope's from (patched: the encoder refuses it) */
    codec_buf b = ENCODE(wire_pbft_encode(4, &m, NULL, 0, &ob));
    cr_assert(buf[5] == PBFT_MSG_VIEW_CHANGE && buf[6] == 7 && buf[7] == 4);
    buf[7] = 5;
    EXPECT_REFUSED(b, CODEC_ERR_RANGE, "view_change.sender", -1, 7);
    buf[7] = PBFT_N_MAX;
    EXPECT_REFUSED(b, CODEC_ERR_RANGE, "view_change.sender", -1, 7);
    buf[7] = 4;

    /* the last bytes are: prepares [[1, sig], [2, sig]], then the view-change sig */
    size_t second = b.len - 66 - 66 - 1;
    cr_assert_eq(buf[second], 2);
    buf[second] = 1;
    EXPECT_REFUSED(b, CODEC_ERR_ORDER, "view_change.prepared[].prepares[].validator", 1, second);
    buf[second] = 0;
    EXPECT_REFUSED(b, CODEC_ERR_ORDER, "view_change.prepared[].prepares[].validator", 1, second);
    buf[second] = PBFT_N_MAX;
    EXPECT_REFUSED(b, CODEC_ERR_RANGE, "view_change.prepared[].prepares[].validator", 1, second);

    /* through the encoder: an unordered list is bytes the decoder refuses */
    vc.prepared[0].prepares[1].validator = 1;
    b = ENCODE(wire_pbft_encode(4, &m, NULL, 0, &ob));
    EXPECT_REFUSED(b, CODEC_ERR_ORDER, "view_change.prepared[].prepares[].validator", 1, second);
    vc.prepared[0].prepares[1].validator = 2;

    /* prepared batch count != its header's tx_count */
    b = ENCODE(wire_pbft_encode(4, &m, NULL, 0, &ob));
    size_t digests_at = find_hash(&b, 0, &vc.prepared[0].batch.header.tx_root) + 1;
    buf[digests_at - 1] = 1;
    EXPECT_REFUSED(b, CODEC_ERR_COUNT, "view_change.prepared[].digests", 0, digests_at);

    /* PBFT_WINDOW + 1 prepared certs */
    b = ENCODE(wire_pbft_encode(4, &m, NULL, 0, &ob));
    size_t list_at = find_after(&b, 0, vc.stable.sigs[vc.stable.sig_count - 1].sig.bytes, 64);
    cr_assert_eq(buf[list_at], 0x91);
    set_array_count(&b, list_at, PBFT_WINDOW + 1);
    EXPECT_REFUSED(b, CODEC_ERR_COUNT, "view_change.prepared", -1, list_at);

    /* stable certificate with a height but no signatures */
    make_view_change(&vc, 4, 0, 0, 0);
    vc.stable.sig_count = 0;
    b = ENCODE(wire_pbft_encode(4, &m, NULL, 0, &ob));
    EXPECT_REFUSED(b, CODEC_ERR_COUNT, "view_change.stable.sigs", -1, 8);
    /* a stable signer >= PBFT_N_MAX: the result certificate's own bound (the codec's
     * CODEC_VALIDATORS_MAX is PBFT_N_MAX), at the signer's index */
    make_view_change(&vc, 4, 0, 0, 0);
    vc.stable.sig_count = 2;
    vc.stable.sigs[1].validator = PBFT_N_MAX;
    b = ENCODE(wire_pbft_encode(4, &m, NULL, 0, &ob));
    size_t signer_at = find_after(&b, 0, vc.stable.sigs[0].sig.bytes, 64) + 1;
    cr_assert_eq(buf[signer_at], PBFT_N_MAX);
    EXPECT_REFUSED(b, CODEC_ERR_RANGE, "result_cert.sigs[]", 1, signer_at);
}

Test(wire, new_view_refusals)
{
    static pbft_new_view nv;
    make_new_view(&nv, 1, 1, 2, 2);
    pbft_msg m = {.type = PBFT_MSG_NEW_VIEW, .new_view = &nv};
    codec_buf b = ENCODE(wire_pbft_encode(1, &m, NULL, 0, &ob));
    /* tail: [d0, d1] [s0, s1] sig  -> the sigs list header is 2 * 66 + 66 + 1 from the end */
    size_t sigs_at = b.len - 66 - 2 * 66 - 1;
    cr_assert_eq(buf[sigs_at], 0x92);
    buf[sigs_at] = 0x91; /* one signature for two digests (and a byte left over) */
    EXPECT_REFUSED(b, CODEC_ERR_COUNT, "new_view.reissued_sigs", -1, sigs_at);
    buf[sigs_at] = 0x93;
    EXPECT_REFUSED(b, CODEC_ERR_COUNT, "new_view.reissued_sigs", -1, sigs_at);
    set_array_count(&b, sigs_at, PBFT_WINDOW + 1);
    EXPECT_REFUSED(b, CODEC_ERR_COUNT, "new_view.reissued_sigs", -1, sigs_at);

    /* the nested view-change must carry type 5 */
    b = ENCODE(wire_pbft_encode(1, &m, NULL, 0, &ob));
    cr_assert(buf[5] == PBFT_MSG_NEW_VIEW && buf[6] == 7 && buf[7] == 0x91 && buf[8] == 0x96);
    buf[9] = PBFT_MSG_PREPARE;
    EXPECT_REFUSED(b, CODEC_ERR_RANGE, "new_view.vcs[].type", 0, 9);

    /* more view-changes than a quorum */
    b = ENCODE(wire_pbft_encode(1, &m, NULL, 0, &ob));
    buf[7] = 0x90 | (PBFT_QUORUM_MAX + 1);
    EXPECT_REFUSED(b, CODEC_ERR_COUNT, "new_view.vcs", -1, 7);

    /* errors inside the second view-change carry its index */
    make_new_view(&nv, 2, 1, 2, 2);
    b = ENCODE(wire_pbft_encode(1, &m, NULL, 0, &ob));
    const signature *last = &nv.vcs[0].stable.sigs[nv.vcs[0].stable.sig_count - 1].sig;
    size_t list_at = find_after(&b, find_after(&b, 0, last->bytes, 64), last->bytes, 64);
    cr_assert_eq(buf[list_at], 0x91);
    set_array_count(&b, list_at, PBFT_WINDOW + 1);
    EXPECT_REFUSED(b, CODEC_ERR_COUNT, "view_change.prepared", 1, list_at);
    make_new_view(&nv, 1, 1, 2, 2);

    /* a nested view-change's sender need not be the envelope's from, but < PBFT_N_MAX */
    b = ENCODE(wire_pbft_encode(1, &m, NULL, 0, &ob));
    cr_assert(buf[10] == 7 && buf[11] == 0);
    buf[11] = PBFT_N_MAX;
    EXPECT_REFUSED(b, CODEC_ERR_RANGE, "view_change.sender", 0, 11);
}

Test(wire, txs_and_blocks_refusals)
{
    make_txs(2);
    codec_buf b = ENCODE(wire_txs_encode(2, tx_spans, 1, &ob));
    buf[4] = 0x90;
    b.len = 5;
    EXPECT_REFUSED(b, CODEC_ERR_COUNT, "txs", -1, 4);

    codec_span blocks[2] = {tx_spans[0], tx_spans[1]}, results[2] = {{NULL, 0}, {NULL, 0}};
    static const uint8_t head[] = {0x94, 0x01, 0x04, 0x02, 0xdc, 0x00, WIRE_BLOCKS_MAX + 1};
    uint8_t seventeen[64];
    memset(seventeen, 0xc0, sizeof seventeen);
    memcpy(seventeen, head, sizeof head);
    b = (codec_buf){seventeen, sizeof seventeen, sizeof seventeen, false};
    EXPECT_REFUSED(b, CODEC_ERR_COUNT, "blocks", -1, 4);
    b = ENCODE(wire_blocks_encode(2, blocks, results, 1, &ob));
    cr_assert_eq(buf[b.len - 1], 0xc0);
    buf[b.len - 1] = 0x90;
    EXPECT_REFUSED(b, CODEC_ERR_TYPE, "blocks[].result_cert", 0, b.len - 1);
}

Test(wire, encoders_refuse_what_the_decoder_would)
{
    static pbft_batch bt;
    make_batch(&bt, 1, 2, 1);
    make_txs(3);
    pbft_msg m = preprepare(&bt);
    uint8_t small[64];
    codec_buf b = codec_buf_make(buf, BUF_MAX);
    cr_assert_eq(wire_pbft_encode(PBFT_N_MAX, &m, NULL, 0, &b), CODEC_ERR_RANGE);
    cr_assert_eq(wire_pbft_encode(0, &m, tx_spans, 1, &b), CODEC_ERR_COUNT);
    bt.header.tx_count = 3;
    cr_assert_eq(wire_pbft_encode(0, &m, NULL, 0, &b), CODEC_ERR_COUNT);
    cr_assert_eq(wire_fetch_encode(0, 0, 1, &b), CODEC_ERR_RANGE);
    cr_assert_eq(wire_fetch_encode(0, 2, 1, &b), CODEC_ERR_RANGE);
    cr_assert_eq(wire_txs_encode(0, tx_spans, 0, &b), CODEC_ERR_COUNT);
    cr_assert_eq(wire_txs_encode(0, tx_spans, WIRE_TXS_MAX + 1, &b), CODEC_ERR_COUNT);
    cr_assert_eq(wire_blocks_encode(0, tx_spans, tx_spans, WIRE_BLOCKS_MAX + 1, &b),
                 CODEC_ERR_COUNT);
    static pbft_view_change vc;
    make_view_change(&vc, 2, 1, 1, 1);
    pbft_msg v = {.type = PBFT_MSG_VIEW_CHANGE, .view_change = &vc};
    cr_assert_eq(wire_pbft_encode(3, &v, NULL, 0, &b), CODEC_ERR_RANGE); /* sender != from */
    cr_assert_eq(b.len, 0, "a refused message writes nothing");
    codec_buf tiny = codec_buf_make(small, sizeof small);
    cr_assert_eq(wire_pbft_encode(2, &v, NULL, 0, &tiny), CODEC_ERR_OVERFLOW);
}

/* ==== 3. truncation ========================================================= */

/* Every proper prefix of b is refused as truncated, without reading past it. */
static void expect_every_prefix_truncated(const codec_buf *b, const char *what)
{
    decode_ok(b->data, b->len, msg); /* the whole message is valid */
    for (size_t len = 0; len < b->len; len++) {
        codec_error e;
        codec_err rc = decode_copy(b->data, len, msg, &e);
        char why[200];
        cr_assert_eq(rc, CODEC_ERR_TRUNCATED, "%s prefix %zu of %zu: %s", what, len, b->len,
                     codec_error_format(&e, why, sizeof why));
        cr_assert_not_null(e.field);
        cr_assert_leq(e.offset, len);
    }
}

Test(wire, every_prefix_of_a_small_message_of_each_kind_is_truncated)
{
    static pbft_batch bt;
    static pbft_view_change vc;
    static pbft_new_view nv;
    make_batch(&bt, 300, 2, 1);
    make_txs(2);
    pbft_msg pp = preprepare(&bt);
    codec_buf b = ENCODE(wire_pbft_encode(5, &pp, tx_spans, 2, &ob));
    expect_every_prefix_truncated(&b, "preprepare");
    for (int t = PBFT_MSG_PREPARE; t <= PBFT_MSG_CHECKPOINT; t++) {
        pbft_msg m = {.type = (pbft_msg_type)t, .view = 1000, .height = 70000};
        b = ENCODE(wire_pbft_encode(5, &m, NULL, 0, &ob));
        expect_every_prefix_truncated(&b, "vote/checkpoint");
    }
    make_view_change(&vc, 5, 1, 2, 2);
    pbft_msg v = {.type = PBFT_MSG_VIEW_CHANGE, .view_change = &vc};
    b = ENCODE(wire_pbft_encode(5, &v, NULL, 0, &ob));
    expect_every_prefix_truncated(&b, "view-change");
    make_new_view(&nv, 1, 1, 2, 2);
    pbft_msg n = {.type = PBFT_MSG_NEW_VIEW, .new_view = &nv};
    b = ENCODE(wire_pbft_encode(5, &n, NULL, 0, &ob));
    expect_every_prefix_truncated(&b, "new-view");
    b = ENCODE(wire_txs_encode(5, tx_spans, 2, &ob));
    expect_every_prefix_truncated(&b, "txs");
    b = ENCODE(wire_fetch_encode(5, 1ull << 33, 1ull << 34, &ob));
    expect_every_prefix_truncated(&b, "fetch");
    codec_span results[2] = {{NULL, 0}, tx_spans[0]};
    b = ENCODE(wire_blocks_encode(5, tx_spans, results, 2, &ob));
    expect_every_prefix_truncated(&b, "blocks");
}

Test(wire, bundle_of_messages_round_trips_and_is_bounded)
{
    static uint8_t a[2048], b[256];
    static pbft_batch bb;
    make_batch(&bb, 7, 3, 1);
    pbft_msg m = preprepare(&bb);
    codec_buf ab = codec_buf_make(a, sizeof a), fb = codec_buf_make(b, sizeof b);
    cr_assert_eq(wire_pbft_encode(0, &m, NULL, 0, &ab), CODEC_OK);
    cr_assert_eq(wire_fetch_encode(0, 4, 9, &fb), CODEC_OK);
    codec_span parts[WIRE_BUNDLE_MAX + 1];
    for (uint32_t i = 0; i <= WIRE_BUNDLE_MAX; i++)
        parts[i] = i % 2 ? (codec_span){fb.data, fb.len} : (codec_span){ab.data, ab.len};
    codec_buf out = ENCODE(wire_bundle_encode(0, parts, 2, &ob));
    decode_ok(out.data, out.len, msg);
    cr_assert_eq(msg->kind, WIRE_BUNDLE);
    cr_assert_eq(msg->from, 0);
    cr_assert_eq(msg->part_count, 2);
    cr_assert(msg->parts[0].len == ab.len && same(msg->parts[0].data, ab.data, ab.len));
    cr_assert(msg->parts[1].len == fb.len && same(msg->parts[1].data, fb.data, fb.len));
    expect_reencodes(&out, msg);
    /* each part decodes on its own */
    static wire_msg part;
    cr_assert_eq(wire_decode(msg->parts[1].data, msg->parts[1].len, &part, NULL), CODEC_OK);
    cr_assert_eq(part.kind, WIRE_FETCH);
    /* bounds: 2..WIRE_BUNDLE_MAX parts, each non-empty */
    codec_buf nb = codec_buf_make(re_buf, BUF_MAX);
    cr_assert_eq(wire_bundle_encode(0, parts, 1, &nb), CODEC_ERR_COUNT);
    cr_assert_eq(wire_bundle_encode(0, parts, WIRE_BUNDLE_MAX + 1, &nb), CODEC_ERR_COUNT);
    codec_span empty[2] = {{ab.data, ab.len}, {ab.data, 0}};
    cr_assert_eq(wire_bundle_encode(0, empty, 2, &nb), CODEC_ERR_LENGTH);
    out = ENCODE(wire_bundle_encode(0, parts, WIRE_BUNDLE_MAX, &ob));
    decode_ok(out.data, out.len, msg);
    cr_assert_eq(msg->part_count, WIRE_BUNDLE_MAX);
    /* a one-part bundle on the wire is refused at its count */
    uint8_t one[] = {0x94, 0x01, 0x05, 0x00, 0x91, 0xc4, 0x01, 0x00};
    codec_error err;
    cr_assert_eq(wire_decode(one, sizeof one, msg, &err), CODEC_ERR_COUNT);
    cr_assert_str_eq(err.field, "bundle");
}
