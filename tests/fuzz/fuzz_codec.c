/*
 * fuzz_codec.c - libFuzzer target for the canonical codec decoders.
 *
 * For every input a decoder accepts, two properties must hold (abort otherwise):
 *   1. round trip: the matching encoder reproduces the accepted bytes exactly
 *      (canonical form is unique, so decode . encode is the identity);
 *   2. differential: msgpack-c unpacks the same bytes as one object and
 *      msgpack_pack_object re-packs it to the identical bytes, i.e. what our
 *      strict reader accepts is also well-formed, shortest-form msgpack to an
 *      independent implementation.
 * The client API structures (selector 11) are one target: every client decoder is tried
 * on each input, and each that accepts it must round-trip.
 * Nested spans (block txs/receipts/commit cert, proof parts, export parts) are
 * decoded with their own decoder and round-tripped too. Validator messages
 * (wire.h) do not decode their nested tx/block/cert bytes (the node does), so
 * for them only the message itself is round-tripped, plus the decoder's
 * promises about pointers and counts.
 *
 * Build one binary per decoder with -DFUZZ_DECODER=<n> (numbers below), or
 * without it for one binary that picks the decoder from the first input byte
 * (byte % FUZZ_DECODER_COUNT) and decodes the rest. docs/FUZZING-CODEC.md has
 * the command lines; seeds are in tests/fuzz/corpus_codec/<decoder>/ (raw
 * encodings) and tests/fuzz/corpus_codec/all/ (selector byte + encoding).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "codec.h"
#include "wire.h"

enum {
    FUZZ_TX = 0,
    FUZZ_RECEIPT = 1,
    FUZZ_BLOCK = 2,
    FUZZ_GENESIS = 3,
    FUZZ_COMMIT_CERT = 4,
    FUZZ_RESULT_CERT = 5,
    FUZZ_PROOF = 6,
    FUZZ_EXPORT_ENTRY = 7,
    FUZZ_BLOCK_HEADER = 8,
    FUZZ_EXPORT_HEADER = 9,
    FUZZ_WIRE = 10,
    FUZZ_CLIENT = 11,
    FUZZ_GOVERNANCE = 12,
    FUZZ_DECODER_COUNT = 13,
};

/* Largest input we re-encode; libFuzzer's -max_len stays far below this. */
#define FUZZ_OUT_MAX (1u << 20)

static uint8_t out_bytes[FUZZ_OUT_MAX];

#define FUZZ_CHECK(cond, what)                                                                   \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "fuzz_codec: %s failed: %s (%s:%d)\n", what, #cond, __FILE__,      \
                    __LINE__);                                                                   \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

/* The encoder output in out must equal data[0..len). */
static void expect_same(const codec_buf *out, codec_err rc, const uint8_t *data, size_t len,
                        const char *what)
{
    FUZZ_CHECK(rc == CODEC_OK, what);
    FUZZ_CHECK(out->len == len, what);
    FUZZ_CHECK(memcmp(out->data, data, len) == 0, what);
}

/* msgpack-c must unpack exactly len bytes and re-pack them identically. */
static void expect_msgpack_c_agrees(const uint8_t *data, size_t len)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    size_t off = 0;
    msgpack_unpack_return ret = msgpack_unpack_next(&unpacked, (const char *)data, len, &off);
    FUZZ_CHECK(ret == MSGPACK_UNPACK_SUCCESS, "msgpack-c unpack");
    FUZZ_CHECK(off == len, "msgpack-c consumed length");
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    FUZZ_CHECK(msgpack_pack_object(&pk, unpacked.data) == 0, "msgpack-c pack");
    FUZZ_CHECK(sbuf.size == len, "msgpack-c repack length");
    FUZZ_CHECK(memcmp(sbuf.data, data, len) == 0, "msgpack-c repack bytes");
    msgpack_sbuffer_destroy(&sbuf);
    msgpack_unpacked_destroy(&unpacked);
}

static codec_buf out_buf(void) { return codec_buf_make(out_bytes, sizeof out_bytes); }

static size_t check_tx(const uint8_t *data, size_t len)
{
    static codec_tx tx;
    if (codec_tx_decode(data, len, &tx, NULL) != CODEC_OK) return 0;
    codec_buf out = out_buf();
    expect_same(&out, codec_tx_encode(&tx, &out), data, len, "tx round trip");
    /* The signed body is 0x96 || the decoder's body_fields span. */
    out = out_buf();
    FUZZ_CHECK(codec_tx_body_encode(&tx, &out) == CODEC_OK, "tx body encode");
    FUZZ_CHECK(out.len == tx.body_fields_len + 1 && out.data[0] == 0x96, "tx body header");
    FUZZ_CHECK(memcmp(out.data + 1, tx.body_fields, tx.body_fields_len) == 0, "tx body span");
    return len;
}

static size_t check_receipt(const uint8_t *data, size_t len)
{
    static codec_receipt r;
    if (codec_receipt_decode(data, len, &r, NULL) != CODEC_OK) return 0;
    codec_buf out = out_buf();
    expect_same(&out, codec_receipt_encode(&r, &out), data, len, "receipt round trip");
    return len;
}

static size_t check_commit_cert(const uint8_t *data, size_t len)
{
    static codec_commit_cert c;
    if (codec_commit_cert_decode(data, len, &c, NULL) != CODEC_OK) return 0;
    codec_buf out = out_buf();
    expect_same(&out, codec_commit_cert_encode(&c, &out), data, len, "commit cert round trip");
    return len;
}

static size_t check_result_cert(const uint8_t *data, size_t len)
{
    static codec_result_cert c;
    if (codec_result_cert_decode(data, len, &c, NULL) != CODEC_OK) return 0;
    codec_buf out = out_buf();
    expect_same(&out, codec_result_cert_encode(&c, &out), data, len, "result cert round trip");
    return len;
}

static size_t check_block_header(const uint8_t *data, size_t len)
{
    codec_block_header h;
    if (codec_block_header_decode(data, len, &h, NULL) != CODEC_OK) return 0;
    codec_buf out = out_buf();
    expect_same(&out, codec_block_header_encode(&h, &out), data, len, "block header round trip");
    return len;
}

/* A span the enclosing decoder accepted must be accepted on its own. */
static void check_nested(const codec_span *s, int decoder)
{
    codec_err rc = CODEC_OK;
    static codec_tx tx;
    static codec_receipt receipt;
    static codec_commit_cert commit;
    static codec_result_cert result;
    codec_block_header header;
    switch (decoder) {
    case FUZZ_TX: rc = codec_tx_decode(s->data, s->len, &tx, NULL); break;
    case FUZZ_RECEIPT: rc = codec_receipt_decode(s->data, s->len, &receipt, NULL); break;
    case FUZZ_COMMIT_CERT: rc = codec_commit_cert_decode(s->data, s->len, &commit, NULL); break;
    case FUZZ_RESULT_CERT: rc = codec_result_cert_decode(s->data, s->len, &result, NULL); break;
    case FUZZ_BLOCK_HEADER: rc = codec_block_header_decode(s->data, s->len, &header, NULL); break;
    default: abort();
    }
    FUZZ_CHECK(rc == CODEC_OK, "nested span decodes alone");
}

static size_t check_block(const uint8_t *data, size_t len)
{
    static codec_span txs[CODEC_BLOCK_TXS_MAX];
    static codec_span receipts[CODEC_BLOCK_TXS_MAX];
    static codec_write writes[CODEC_WRITES_MAX];
    codec_block b = {.txs = txs, .receipts = receipts, .writes = writes};
    if (codec_block_decode(data, len, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL)
        != CODEC_OK) {
        return 0;
    }
    for (uint32_t i = 0; i < b.tx_count; i++) check_nested(&txs[i], FUZZ_TX);
    for (uint32_t i = 0; i < b.receipt_count; i++) check_nested(&receipts[i], FUZZ_RECEIPT);
    check_nested(&b.commit_cert, FUZZ_COMMIT_CERT);
    codec_buf out = out_buf();
    codec_err rc = codec_block_encode(&b.header, txs, b.tx_count, receipts, b.receipt_count,
                                      writes, b.write_count, &b.commit_cert, &out);
    expect_same(&out, rc, data, len, "block round trip");
    return len;
}

static size_t check_genesis(const uint8_t *data, size_t len)
{
    static codec_genesis g;
    if (codec_genesis_decode(data, len, &g, NULL) != CODEC_OK) return 0;
    FUZZ_CHECK(g.validator_count >= 4 && (g.validator_count - 1) % 3 == 0, "genesis 3f+1");
    codec_buf out = out_buf();
    expect_same(&out, codec_genesis_encode(&g, &out), data, len, "genesis round trip");
    return len;
}

static size_t check_proof(const uint8_t *data, size_t len)
{
    static codec_proof p;
    if (codec_proof_decode(data, len, &p, NULL) != CODEC_OK) return 0;
    if (p.kind == PROOF_INCLUSION) {
        check_nested(&p.tx, FUZZ_TX);
    } else {
        check_nested(&p.old_block.header, FUZZ_BLOCK_HEADER);
        check_nested(&p.old_block.result_cert, FUZZ_RESULT_CERT);
    }
    check_nested(&p.block.header, FUZZ_BLOCK_HEADER);
    check_nested(&p.block.result_cert, FUZZ_RESULT_CERT);
    codec_buf out = out_buf();
    expect_same(&out, codec_proof_encode(&p, &out), data, len, "proof round trip");
    return len;
}

/* Export values are read from the start of a stream: compare the used prefix. */
static size_t check_export_entry(const uint8_t *data, size_t len)
{
    codec_span block, cert;
    size_t used = 0;
    if (codec_export_entry_decode(data, len, &block, &cert, &used, NULL) != CODEC_OK) return 0;
    FUZZ_CHECK(used <= len, "export entry used");
    FUZZ_CHECK(check_block(block.data, block.len) == block.len, "export entry block");
    if (cert.len > 0) check_nested(&cert, FUZZ_RESULT_CERT);
    codec_buf out = out_buf();
    expect_same(&out, codec_export_entry_encode(&block, &cert, &out), data, used,
                "export entry round trip");
    return used;
}

static size_t check_export_header(const uint8_t *data, size_t len)
{
    codec_export_header h;
    size_t used = 0;
    if (codec_export_header_decode(data, len, &h, &used, NULL) != CODEC_OK) return 0;
    FUZZ_CHECK(used <= len, "export header used");
    codec_buf out = out_buf();
    expect_same(&out, codec_export_header_encode(&h, &out), data, used,
                "export header round trip");
    return used;
}

static void check_wire_pbft(const wire_msg *m)
{
    const pbft_msg *p = &m->msg;
    FUZZ_CHECK(p->from == m->from, "wire pbft from");
    FUZZ_CHECK((p->batch == &m->batch) == (p->type == PBFT_MSG_PREPREPARE), "wire batch ptr");
    FUZZ_CHECK((p->view_change == &m->vc) == (p->type == PBFT_MSG_VIEW_CHANGE), "wire vc ptr");
    FUZZ_CHECK((p->new_view == &m->nv) == (p->type == PBFT_MSG_NEW_VIEW), "wire nv ptr");
    if (p->type == PBFT_MSG_PREPREPARE) {
        FUZZ_CHECK(m->batch.count <= PBFT_BATCH_MAX, "wire batch count");
        FUZZ_CHECK(m->batch.header.tx_count == m->batch.count, "wire batch tx_count");
        FUZZ_CHECK(m->tx_count == 0 || m->tx_count == m->batch.count, "wire tx bytes count");
    } else {
        FUZZ_CHECK(m->tx_count == 0, "wire tx count outside pre-prepare");
    }
    if (p->type == PBFT_MSG_VIEW_CHANGE) FUZZ_CHECK(m->vc.sender == m->from, "wire vc sender");
    if (p->type == PBFT_MSG_NEW_VIEW) {
        FUZZ_CHECK(m->nv.vc_count <= PBFT_QUORUM_MAX, "wire nv vcs");
        FUZZ_CHECK(m->nv.reissued_count <= PBFT_WINDOW, "wire nv reissued");
    }
}

static size_t check_wire(const uint8_t *data, size_t len)
{
    static wire_msg m; /* about 1 MB: one, reused, as in the node */
    if (wire_decode(data, len, &m, NULL) != CODEC_OK) return 0;
    FUZZ_CHECK(m.from < PBFT_N_MAX, "wire from");
    codec_buf out = out_buf();
    codec_err rc = CODEC_ERR_TYPE;
    switch (m.kind) {
    case WIRE_PBFT:
        check_wire_pbft(&m);
        rc = wire_pbft_encode(m.from, &m.msg, m.txs, m.tx_count, &out);
        break;
    case WIRE_TXS: rc = wire_txs_encode(m.from, m.txs, m.tx_count, &out); break;
    case WIRE_FETCH:
        FUZZ_CHECK(m.fetch_from >= 1 && m.fetch_from <= m.fetch_to, "wire fetch range");
        /* three forms: keyed (issue 23), signed, and the unsigned one nodes ignore */
        if (m.fetch_keyed)
            rc = wire_fetch_keyed_encode(m.from, m.fetch_from, m.fetch_to, m.fetch_time_ms,
                                         &m.fetch_key, &m.fetch_sig, &out);
        else if (m.fetch_signed)
            rc = wire_fetch_signed_encode(m.from, m.fetch_from, m.fetch_to, m.fetch_time_ms,
                                          &m.fetch_sig, &out);
        else
            rc = wire_fetch_encode(m.from, m.fetch_from, m.fetch_to, &out);
        break;
    case WIRE_BLOCKS:
        rc = wire_blocks_encode(m.from, m.blocks, m.results, m.block_count, &out);
        break;
    case WIRE_BUNDLE:
        FUZZ_CHECK(m.part_count >= 2 && m.part_count <= WIRE_BUNDLE_MAX, "wire bundle count");
        rc = wire_bundle_encode(m.from, m.parts, m.part_count, &out);
        break;
    }
    expect_same(&out, rc, data, len, "wire round trip");
    return len;
}

/* Issue 19's client structures: grant reply, read log entry and reply, public request and
 * reply. Returns true if any decoder accepted (and its encoder reproduced the input). */
static bool check_client_issue19(const uint8_t *data, size_t len)
{
    static codec_grant_record records[CODEC_GRANT_PAGE_MAX];
    static codec_grant_removed removed[CODEC_GRANT_PAGE_MAX];
    static codec_span logs[CODEC_READ_LOG_REPLY_MAX];
    static codec_public_entry pubs[CODEC_PUBLIC_REPLY_MAX];
    codec_grant_page gp;
    codec_read_log_entry le;
    codec_public_page pp;
    codec_span trial;
    uint64_t total, from;
    uint32_t count;
    bool any = false;
    codec_buf out = out_buf();
    if (codec_grant_reply_decode(data, len, &gp, records, removed, CODEC_GRANT_PAGE_MAX, NULL) == CODEC_OK) {
        FUZZ_CHECK(gp.record_count + gp.removed_count <= CODEC_GRANT_PAGE_MAX, "grant page size");
        expect_same(&out, codec_grant_reply_encode(&gp, records, removed, &out), data, len,
                    "grant reply round trip");
        any = true;
    }
    if ((out = out_buf(), codec_read_log_entry_decode(data, len, &le, NULL) == CODEC_OK)) {
        expect_same(&out, codec_read_log_entry_encode(&le, &out), data, len, "read log entry round trip");
        any = true;
    }
    if ((out = out_buf(), codec_read_log_reply_decode(data, len, &total, &from, logs,
                                                      CODEC_READ_LOG_REPLY_MAX, &count, NULL) == CODEC_OK)) {
        expect_same(&out, codec_read_log_reply_encode(total, from, logs, count, &out), data, len,
                    "read log reply round trip");
        any = true;
    }
    if ((out = out_buf(), codec_public_request_decode(data, len, &trial, &from, NULL) == CODEC_OK)) {
        expect_same(&out, codec_public_request_encode(trial.data, trial.len, from, &out), data, len,
                    "public request round trip");
        any = true;
    }
    if ((out = out_buf(), codec_public_reply_decode(data, len, &pp, pubs, CODEC_PUBLIC_REPLY_MAX, NULL) == CODEC_OK)) {
        expect_same(&out, codec_public_reply_encode(&pp, pubs, &out), data, len, "public reply round trip");
        any = true;
    }
    return any;
}

/* Issue 20's client structures: the timeline page, the HTTP evidence and the HTTP query.
 * Returns true if any decoder accepted (and its encoder reproduced the input). */
static bool check_client_issue20(const uint8_t *data, size_t len)
{
    static codec_timeline_entry entries[CODEC_TIMELINE_PAGE_MAX];
    static codec_http_evidence ev;
    codec_timeline_page tp;
    codec_span query, http;
    bool any = false;
    codec_buf out = out_buf();
    if (codec_timeline_page_decode(data, len, &tp, entries, CODEC_TIMELINE_PAGE_MAX, NULL) == CODEC_OK) {
        FUZZ_CHECK(tp.next_height <= tp.head_height + 1, "timeline page next height");
        expect_same(&out, codec_timeline_page_encode(&tp, entries, &out), data, len, "timeline page round trip");
        any = true;
    }
    if ((out = out_buf(), codec_http_evidence_decode(data, len, &ev, NULL) == CODEC_OK)) {
        expect_same(&out, codec_http_evidence_encode(&ev, &out), data, len, "http evidence round trip");
        any = true;
    }
    if ((out = out_buf(), codec_http_query_decode(data, len, &query, &http, NULL) == CODEC_OK)) {
        expect_same(&out, codec_http_query_encode(&query, &http, &out), data, len, "http query round trip");
        any = true;
    }
    return any;
}

/* The client API: requests and replies (client_api.h). Each decoder that accepts the
 * input must reproduce it with its encoder; returns len if any accepted. */
static size_t check_client(const uint8_t *data, size_t len)
{
    static codec_span txs[CODEC_SUBMIT_BATCH_MAX];
    static codec_submit_result results[CODEC_SUBMIT_BATCH_MAX];
    static codec_block_entry entries[CODEC_BLOCKS_REPLY_MAX];
    static codec_consent_reply_entry consents[CODEC_CONSENT_REPLY_MAX];
    static codec_query q;
    static codec_receipt_reply rr;
    static codec_trial_reply tr;
    codec_client_request req;
    codec_client_response resp;
    uint64_t from;
    uint32_t count;
    bool any = false;
    codec_buf out = out_buf();
    if (codec_client_request_decode(data, len, &req, NULL) == CODEC_OK) {
        expect_same(&out, codec_client_request_encode(req.kind, req.body.data, req.body.len, &out),
                    data, len, "client request round trip");
        any = true;
    }
    if ((out = out_buf(), codec_client_response_decode(data, len, &resp, NULL) == CODEC_OK)) {
        expect_same(&out, codec_client_response_encode(resp.status, resp.reason, resp.body.data,
                                                       resp.body.len, &out),
                    data, len, "client response round trip");
        any = true;
    }
    if ((out = out_buf(), codec_query_decode(data, len, &q, NULL) == CODEC_OK)) {
        expect_same(&out, codec_query_encode(&q, &out), data, len, "query round trip");
        any = true;
    }
    if ((out = out_buf(), codec_receipt_reply_decode(data, len, &rr, NULL) == CODEC_OK)) {
        expect_same(&out, codec_receipt_reply_encode(&rr, &out), data, len, "receipt reply round trip");
        any = true;
    }
    if ((out = out_buf(), codec_submit_batch_decode(data, len, txs, CODEC_SUBMIT_BATCH_MAX, &count,
                                                    NULL) == CODEC_OK)) {
        FUZZ_CHECK(count <= CODEC_SUBMIT_BATCH_MAX, "submit batch count");
        expect_same(&out, codec_submit_batch_encode(txs, count, &out), data, len,
                    "submit batch round trip");
        any = true;
    }
    if ((out = out_buf(), codec_submit_results_decode(data, len, results, CODEC_SUBMIT_BATCH_MAX,
                                                      &count, NULL) == CODEC_OK)) {
        expect_same(&out, codec_submit_results_encode(results, count, &out), data, len,
                    "submit results round trip");
        any = true;
    }
    if ((out = out_buf(), codec_blocks_request_decode(data, len, &from, &count, NULL) == CODEC_OK)) {
        expect_same(&out, codec_blocks_request_encode(from, count, &out), data, len,
                    "blocks request round trip");
        any = true;
    }
    if ((out = out_buf(), codec_blocks_reply_decode(data, len, entries, CODEC_BLOCKS_REPLY_MAX,
                                                    &count, NULL) == CODEC_OK)) {
        FUZZ_CHECK(count <= CODEC_BLOCKS_REPLY_MAX, "blocks reply count");
        expect_same(&out, codec_blocks_reply_encode(entries, count, &out), data, len,
                    "blocks reply round trip");
        any = true;
    }
    if ((out = out_buf(), codec_trial_reply_decode(data, len, &tr, NULL) == CODEC_OK)) {
        expect_same(&out, codec_trial_reply_encode(&tr, &out), data, len, "trial reply round trip");
        any = true;
    }
    static codec_signed_read sr;
    if ((out = out_buf(), codec_signed_read_decode(data, len, &sr, NULL) == CODEC_OK)) {
        expect_same(&out, codec_signed_read_encode(&sr, &out), data, len, "signed read round trip");
        any = true;
    }
    static hash32 ids[CODEC_RECEIPTS_BATCH_MAX];
    if ((out = out_buf(), codec_receipts_request_decode(data, len, ids, CODEC_RECEIPTS_BATCH_MAX,
                                                        &count, NULL) == CODEC_OK)) {
        expect_same(&out, codec_receipts_request_encode(ids, count, &out), data, len,
                    "receipts request round trip");
        any = true;
    }
    static codec_receipts_entry answers[CODEC_RECEIPTS_BATCH_MAX];
    if ((out = out_buf(), codec_receipts_reply_decode(data, len, answers, CODEC_RECEIPTS_BATCH_MAX,
                                                      &count, NULL) == CODEC_OK)) {
        expect_same(&out, codec_receipts_reply_encode(answers, count, &out), data, len,
                    "receipts reply round trip");
        any = true;
    }
    codec_consent_page page;
    if ((out = out_buf(), codec_consent_reply_decode(data, len, &page, consents,
                                                     CODEC_CONSENT_REPLY_MAX, NULL) == CODEC_OK)) {
        expect_same(&out, codec_consent_reply_encode(&page, consents, &out), data, len,
                    "consent reply round trip");
        any = true;
    }
    bool issue19 = check_client_issue19(data, len), issue20 = check_client_issue20(data, len);
    return issue19 || issue20 || any ? len : 0;
}

/* Governance events (issue 23; FORMATS.md 5.11, 5.12): they reach verify-receipt from a
 * receipt file's chain of changes. Each decoder that accepts the input must round-trip. */
static size_t check_governance(const uint8_t *data, size_t len)
{
    bool any = false;
    codec_authority_change ac;
    codec_buf out = out_buf();
    if (codec_authority_change_decode(data, len, &ac, NULL) == CODEC_OK) {
        expect_same(&out, codec_authority_change_encode(&ac, &out), data, len,
                    "authority change round trip");
        any = true;
    }
    static codec_valset set;
    if ((out = out_buf(), codec_valset_decode(data, len, &set, NULL) == CODEC_OK)) {
        expect_same(&out, codec_valset_encode(&set, &out), data, len, "validator set round trip");
        any = true;
    }
    uint64_t boundary;
    if ((out = out_buf(), codec_valset_event_decode(data, len, &boundary, &set, NULL) == CODEC_OK)) {
        expect_same(&out, codec_valset_event_encode(boundary, &set, &out), data, len,
                    "validator set event round trip");
        any = true;
    }
    return any ? len : 0;
}

/* Run one decoder; returns how many leading bytes it accepted (0 = refused). */
static size_t run_decoder(int decoder, const uint8_t *data, size_t len)
{
    switch (decoder) {
    case FUZZ_TX: return check_tx(data, len);
    case FUZZ_RECEIPT: return check_receipt(data, len);
    case FUZZ_BLOCK: return check_block(data, len);
    case FUZZ_GENESIS: return check_genesis(data, len);
    case FUZZ_COMMIT_CERT: return check_commit_cert(data, len);
    case FUZZ_RESULT_CERT: return check_result_cert(data, len);
    case FUZZ_PROOF: return check_proof(data, len);
    case FUZZ_EXPORT_ENTRY: return check_export_entry(data, len);
    case FUZZ_BLOCK_HEADER: return check_block_header(data, len);
    case FUZZ_EXPORT_HEADER: return check_export_header(data, len);
    case FUZZ_WIRE: return check_wire(data, len);
    case FUZZ_CLIENT: return check_client(data, len);
    case FUZZ_GOVERNANCE: return check_governance(data, len);
    default: abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#ifdef FUZZ_DECODER
    int decoder = FUZZ_DECODER;
#else
    if (size == 0) return 0;
    int decoder = data[0] % FUZZ_DECODER_COUNT;
    data++;
    size--;
#endif
    if (size > FUZZ_OUT_MAX / 2) return 0;
    /* Copy so ASan sees reads one past the end of the exact input size. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) abort();
    memcpy(copy, data, size);
    size_t used = run_decoder(decoder, copy, size);
#ifdef FUZZ_SEED_CHECK
    /* Seed check build: every input must be accepted (run over the corpus). */
    FUZZ_CHECK(used > 0, "seed accepted");
#endif
    if (used > 0) expect_msgpack_c_agrees(copy, used);
    free(copy);
    return 0;
}
