/*
 * make_codec_corpus.c - writes the seed corpus for fuzz_codec.c: a few valid,
 * signed canonical encodings of every structure the fuzzer decodes.
 *
 *   make_codec_corpus DIR
 *
 * creates DIR/<decoder>/<n>.bin (raw encoding, for -DFUZZ_DECODER builds) and
 * DIR/all/<decoder>-<n>.bin (decoder selector byte + encoding, for the
 * dispatching build). Deterministic: keys come from fixed seeds. The decoder
 * numbers must match the enum in fuzz_codec.c (10 = wire, the validator messages;
 * 11 = client, the client API requests and replies; 12 = governance, the authority and
 * validator-set events).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec.h"
#include "wire.h"

static const char *const decoder_names[] = {
    "tx",    "receipt",      "block",        "genesis",      "commit_cert",
    "result_cert", "proof", "export_entry", "block_header", "export_header", "wire",
    "client", "governance",
};
#define DECODERS ((int)(sizeof decoder_names / sizeof *decoder_names))

static const char *root;
static hash32 chain_id;
static keypair keys[8];

static void die(const char *what)
{
    fprintf(stderr, "make_codec_corpus: %s\n", what);
    exit(1);
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) die(path);
}

static void write_file(const char *path, const uint8_t *prefix, size_t prefix_len,
                       const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) die(path);
    if ((prefix_len > 0 && fwrite(prefix, 1, prefix_len, f) != prefix_len)
        || fwrite(data, 1, len, f) != len) {
        die(path);
    }
    if (fclose(f) != 0) die(path);
}

static void emit(int decoder, const codec_buf *b)
{
    static int counts[DECODERS];
    char path[512];
    int n = counts[decoder]++;
    if (b->overflow) die("encode overflow");
    snprintf(path, sizeof path, "%s/%s/%d.bin", root, decoder_names[decoder], n);
    write_file(path, NULL, 0, b->data, b->len);
    uint8_t selector = (uint8_t)decoder;
    snprintf(path, sizeof path, "%s/all/%s-%d.bin", root, decoder_names[decoder], n);
    write_file(path, &selector, 1, b->data, b->len);
}

static void sign_tx(codec_tx *tx)
{
    uint8_t body[CODEC_TX_MAX];
    codec_buf b = codec_buf_make(body, sizeof body);
    if (codec_tx_body_encode(tx, &b) != CODEC_OK) die("tx body");
    tcrypto_sign(&keys[0], TCRYPTO_TAG_TX, &chain_id, b.data, b.len, &tx->sig);
    hash32 body_hash;
    tcrypto_sha256(b.data, b.len, &body_hash);
    for (uint32_t i = 0; i < tx->cosig_count; i++) {
        codec_cosig *c = &tx->cosigs[i];
        uint8_t cbody[128];
        codec_buf cb = codec_buf_make(cbody, sizeof cbody);
        c->key = keys[1 + i % 3].public_key;
        codec_cosig_body_encode(&body_hash, c->meaning, &c->key, &cb);
        tcrypto_sign(&keys[1 + i % 3], TCRYPTO_TAG_COSIG, &chain_id, cb.data, cb.len, &c->sig);
    }
}

static size_t make_tx(int variant, uint8_t *out, size_t cap)
{
    static const uint8_t blob[300] = {1, 2, 3};
    static const int64_t ints[] = {-1, -32, -33, -128, -129, -32768, -32769,
                                   (int64_t)INT32_MIN - 1, INT64_MIN, INT64_MAX, 0, 127, 128};
    codec_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.signer = keys[0].public_key;
    tx.nonce = variant == 0 ? 1 : 70000u + (unsigned)variant;
    tx.valid_until = variant == 0 ? 1764000600000ull : UINT64_MAX - (unsigned)variant;
    strcpy(tx.contract.text, "consent");
    strcpy(tx.method.text, variant == 2 ? "withdraw" : "grant");
    if (variant == 1) {
        tx.arg_count = (uint32_t)(sizeof ints / sizeof ints[0]);
        for (uint32_t i = 0; i < tx.arg_count; i++) tx.args[i].integer = ints[i];
    } else if (variant == 2) {
        tx.arg_count = 3;
        tx.args[0] = (codec_value){CODEC_VALUE_BYTES, 0, blob, 0};
        tx.args[1] = (codec_value){CODEC_VALUE_BYTES, 0, blob, 256};
        tx.args[2] = (codec_value){CODEC_VALUE_INT, -5, NULL, 0};
        tx.cosig_count = 2;
        tx.cosigs[0].meaning = MEANING_WITNESS;
        tx.cosigs[1].meaning = MEANING_APPROVAL;
    }
    sign_tx(&tx);
    codec_buf b = codec_buf_make(out, cap);
    if (codec_tx_encode(&tx, &b) != CODEC_OK) die("tx");
    return b.len;
}

static size_t make_receipt(int variant, uint8_t *out, size_t cap)
{
    static const uint8_t data[40] = {7, 7, 7};
    codec_receipt r;
    memset(&r, 0, sizeof r);
    r.tx_id.bytes[0] = (uint8_t)variant;
    r.status = variant == 0 ? RECEIPT_OK : RECEIPT_REFUSED;
    r.error_code = variant == 0 ? 0 : 40001;
    strcpy(r.reason, variant == 0 ? "" : "participant withdrew consent (\xc3\xa9tude 3)");
    r.gas_used = 1234;
    if (variant == 0) {
        r.event_count = 2;
        strcpy(r.events[0].topic.text, "consent.granted");
        r.events[0].data = data;
        r.events[0].len = sizeof data;
        strcpy(r.events[1].topic.text, "empty");
        r.events[1].data = data;
        r.events[1].len = 0;
    }
    codec_buf b = codec_buf_make(out, cap);
    if (codec_receipt_encode(&r, &b) != CODEC_OK) die("receipt");
    return b.len;
}

static codec_block_header make_header(uint64_t height)
{
    codec_block_header h;
    memset(&h, 0, sizeof h);
    h.batch.height = height;
    h.batch.time_ms = 1764100000000ull + height;
    h.batch.tx_root.bytes[0] = 0xaa;
    h.batch.tx_count = height % 3;
    h.prev_hash.bytes[31] = (uint8_t)height;
    h.log_size = height * 2;
    h.log_root.bytes[5] = 0x55;
    return h;
}

static size_t make_commit_cert(uint64_t height, uint32_t sigs, uint8_t *out, size_t cap)
{
    codec_commit_cert c;
    memset(&c, 0, sizeof c);
    c.height = height;
    c.view = height > 1 ? 300 : 0;
    codec_block_header h = make_header(height);
    codec_batch_hash(&h.batch, &c.batch_hash);
    uint8_t body[128];
    codec_buf bb = codec_buf_make(body, sizeof body);
    codec_commit_body_encode(c.height, c.view, &c.batch_hash, &bb);
    c.sig_count = sigs;
    for (uint32_t i = 0; i < sigs; i++) {
        c.sigs[i].validator = i == 0 ? 0 : 10 * i + 3;
        tcrypto_sign(&keys[i % 4], TCRYPTO_TAG_COMMIT, &chain_id, bb.data, bb.len,
                     &c.sigs[i].sig);
    }
    codec_buf b = codec_buf_make(out, cap);
    if (codec_commit_cert_encode(&c, &b) != CODEC_OK) die("commit cert");
    return b.len;
}

static size_t make_result_cert(uint64_t height, uint32_t sigs, uint8_t *out, size_t cap)
{
    codec_result_cert c;
    memset(&c, 0, sizeof c);
    c.height = height;
    codec_block_header h = make_header(height);
    codec_block_hash(&h, &c.block_hash);
    c.state_hash.bytes[0] = 0x51;
    c.receipts_root.bytes[0] = 0x52;
    uint8_t body[256];
    codec_buf bb = codec_buf_make(body, sizeof body);
    codec_checkpoint_body_encode(&c, &bb);
    c.sig_count = sigs;
    for (uint32_t i = 0; i < sigs; i++) {
        c.sigs[i].validator = i;
        tcrypto_sign(&keys[i % 4], TCRYPTO_TAG_CHECKPOINT, &chain_id, bb.data, bb.len,
                     &c.sigs[i].sig);
    }
    codec_buf b = codec_buf_make(out, cap);
    if (codec_result_cert_encode(&c, &b) != CODEC_OK) die("result cert");
    return b.len;
}

static size_t make_block(int variant, uint8_t *out, size_t cap)
{
    static uint8_t tx_bytes[2][4096], receipt_bytes[2][512], cert_bytes[1024];
    codec_span txs[2], receipts[2];
    uint32_t n = variant == 0 ? 0 : 2;
    for (uint32_t i = 0; i < n; i++) {
        txs[i] = (codec_span){tx_bytes[i], make_tx((int)i * 2, tx_bytes[i], sizeof tx_bytes[i])};
        receipts[i] = (codec_span){receipt_bytes[i],
                                   make_receipt((int)i, receipt_bytes[i], sizeof receipt_bytes[i])};
    }
    static const uint8_t key_a[] = "consent/P-001", key_b[] = "consent/P-002", value[] = "granted";
    codec_write writes[2] = {
        {key_a, sizeof key_a - 1, value, sizeof value - 1},
        {key_b, sizeof key_b - 1, NULL, 0}, /* delete */
    };
    codec_span cert = {cert_bytes, make_commit_cert(variant + 1u, 3, cert_bytes, sizeof cert_bytes)};
    codec_block_header h = make_header(variant + 1u);
    codec_buf b = codec_buf_make(out, cap);
    if (codec_block_encode(&h, txs, n, receipts, n, writes, n, &cert, &b) != CODEC_OK) {
        die("block");
    }
    return b.len;
}

static size_t make_genesis(int variant, uint8_t *out, size_t cap)
{
    static codec_genesis g;
    static const uint8_t bytecode[64] = {0x43, 0x56, 0x4d, 1};
    memset(&g, 0, sizeof g);
    strcpy(g.chain_name, variant == 0 ? "trialreg-demo" : "ONC-2026-117 \xe2\x80\x94 phase II");
    g.created_ms = 1764100000000ull;
    codec_rules_default(&g.rules);
    g.rules.anchor_window_ms = 3600000;
    g.rules.clock_skew_ms = 5000;
    codec_governance_default(g.governance);
    g.validator_count = variant == 0 ? 4 : 7;
    for (uint32_t i = 0; i < g.validator_count; i++) {
        snprintf(g.validators[i].name.text, sizeof g.validators[i].name.text, "node-%u", i);
        g.validators[i].key = keys[i].public_key; /* keys must be distinct */
    }
    static const char *const sites[] = {"", "site-berlin", "", ""};
    for (uint32_t i = 0; i < 4; i++) {
        codec_authority *a = &g.authorities[i];
        a->role = (uint8_t)(ROLE_SPONSOR + i);
        strcpy(a->site.text, sites[i]);
        snprintf(a->name.text, sizeof a->name.text, "%s-%u", codec_role_name(a->role), i);
        a->key = keys[i].public_key;
    }
    g.authority_count = 4;
    g.contract_count = variant == 0 ? 1 : 2;
    for (uint32_t i = 0; i < g.contract_count; i++) {
        strcpy(g.contracts[i].name.text, i == 0 ? "consent" : "registry");
        g.contracts[i].version = 1 + i;
        g.contracts[i].bytecode = bytecode;
        g.contracts[i].bytecode_len = sizeof bytecode;
    }
    codec_buf b = codec_buf_make(out, cap);
    if (codec_genesis_encode(&g, &b) != CODEC_OK) die("genesis");
    return b.len;
}

static size_t make_block_header(uint64_t height, uint8_t *out, size_t cap)
{
    codec_block_header h = make_header(height);
    codec_buf b = codec_buf_make(out, cap);
    if (codec_block_header_encode(&h, &b) != CODEC_OK) die("block header");
    return b.len;
}

static size_t make_proof(int kind, uint8_t *out, size_t cap)
{
    static uint8_t tx[4096], h_old[256], h_new[256], c_old[1024], c_new[1024];
    codec_proof p;
    memset(&p, 0, sizeof p);
    p.kind = (uint8_t)kind;
    p.block.header = (codec_span){h_new, make_block_header(9, h_new, sizeof h_new)};
    p.block.result_cert = (codec_span){c_new, make_result_cert(9, 3, c_new, sizeof c_new)};
    if (kind == PROOF_INCLUSION) {
        p.tx = (codec_span){tx, make_tx(2, tx, sizeof tx)};
        p.leaf_index = 13;
    } else {
        p.old_block.header = (codec_span){h_old, make_block_header(4, h_old, sizeof h_old)};
        p.old_block.result_cert = (codec_span){c_old, make_result_cert(4, 3, c_old, sizeof c_old)};
    }
    p.path_len = 3;
    for (uint32_t i = 0; i < p.path_len; i++) p.path[i].bytes[0] = (uint8_t)(0x10 + i);
    codec_buf b = codec_buf_make(out, cap);
    if (codec_proof_encode(&p, &b) != CODEC_OK) die("proof");
    return b.len;
}

static size_t make_export_entry(int with_cert, uint8_t *out, size_t cap)
{
    static uint8_t block[16384], cert[1024];
    codec_span bs = {block, make_block(1, block, sizeof block)};
    codec_span cs = {cert, with_cert ? make_result_cert(2, 3, cert, sizeof cert) : 0};
    codec_buf b = codec_buf_make(out, cap);
    if (codec_export_entry_encode(&bs, with_cert ? &cs : NULL, &b) != CODEC_OK) die("entry");
    return b.len;
}

/* ---- validator messages (wire.h): one seed per kind and PBFT type ---------- */

static hash32 fill_hash(uint8_t v)
{
    hash32 h;
    memset(h.bytes, v, sizeof h.bytes);
    return h;
}

static signature fill_sig(uint8_t v)
{
    signature sg;
    memset(sg.bytes, v, sizeof sg.bytes);
    return sg;
}

static void wire_batch(pbft_batch *b, uint64_t height, uint32_t count)
{
    b->header = (codec_batch_header){height, 1764100000000ull + height, fill_hash(0x70), count};
    b->count = count;
    for (uint32_t i = 0; i < count; i++) b->txs[i] = fill_hash((uint8_t)(0x80 + i));
}

static void wire_view_change(pbft_view_change *vc, uint32_t sender, uint32_t prepared)
{
    memset(vc, 0, sizeof *vc);
    vc->new_view = 2;
    vc->sender = sender;
    if (prepared > 0) {
        static uint8_t cert[1024];
        codec_error e;
        size_t n = make_result_cert(4, 3, cert, sizeof cert);
        if (codec_result_cert_decode(cert, n, &vc->stable, &e) != CODEC_OK) die("stable");
    }
    vc->prepared_count = prepared;
    for (uint32_t i = 0; i < prepared; i++) {
        pbft_prepared_cert *pc = &vc->prepared[i];
        pc->view = 1;
        wire_batch(&pc->batch, 5 + i, 2);
        pc->preprepare_sig = fill_sig(0x21);
        pc->prepare_count = 2;
        pc->prepares[0] = (codec_vsig){2, fill_sig(0x22)};
        pc->prepares[1] = (codec_vsig){3, fill_sig(0x23)};
    }
    vc->sig = fill_sig((uint8_t)(0x30 + sender));
}

static size_t make_wire(int variant, uint8_t *out, size_t cap)
{
    static uint8_t tx[2][4096], block[16384], cert[1024];
    static pbft_batch batch;
    static pbft_new_view nv;
    codec_span txs[2];
    for (uint32_t i = 0; i < 2; i++) txs[i] = (codec_span){tx[i], make_tx((int)i, tx[i], 4096)};
    codec_buf b = codec_buf_make(out, cap);
    pbft_msg m = {.view = 1, .height = 5, .digest = fill_hash(0x11), .sig = fill_sig(0x12)};
    codec_err rc = CODEC_OK;
    switch (variant) {
    case 0: /* PRE-PREPARE with tx bytes */
        wire_batch(&batch, 5, 2);
        m.type = PBFT_MSG_PREPREPARE;
        m.batch = &batch;
        rc = wire_pbft_encode(0, &m, txs, 2, &b);
        break;
    case 1: m.type = PBFT_MSG_PREPARE; rc = wire_pbft_encode(2, &m, NULL, 0, &b); break;
    case 2: m.type = PBFT_MSG_COMMIT; rc = wire_pbft_encode(3, &m, NULL, 0, &b); break;
    case 3:
        m.type = PBFT_MSG_CHECKPOINT;
        m.block_hash = fill_hash(0x41);
        m.state_hash = fill_hash(0x42);
        m.receipts_root = fill_hash(0x43);
        rc = wire_pbft_encode(1, &m, NULL, 0, &b);
        break;
    case 4:
        m.type = PBFT_MSG_VIEW_CHANGE;
        wire_view_change(&nv.vcs[0], 2, 1);
        m.view_change = &nv.vcs[0];
        rc = wire_pbft_encode(2, &m, NULL, 0, &b);
        break;
    case 5:
        m.type = PBFT_MSG_NEW_VIEW;
        memset(&nv, 0, sizeof nv);
        nv.view = 2;
        nv.vc_count = 3;
        for (uint32_t i = 0; i < 3; i++) wire_view_change(&nv.vcs[i], i, i == 1 ? 1 : 0);
        nv.reissued_from = 4;
        nv.reissued_count = 2;
        nv.reissued[0] = fill_hash(0x51);
        nv.reissued_sig[0] = fill_sig(0x52);
        nv.reissued_sig[1] = fill_sig(0x53); /* reissued[1]: a null (empty) batch */
        nv.sig = fill_sig(0x54);
        m.new_view = &nv;
        rc = wire_pbft_encode(2, &m, NULL, 0, &b);
        break;
    case 6: rc = wire_txs_encode(1, txs, 2, &b); break;
    case 7: rc = wire_fetch_encode(3, 5, 300, &b); break;
    case 9: { /* BUNDLE of a PREPARE and a CHECKPOINT from validator 2 */
        static uint8_t part[2][512];
        codec_buf p0 = codec_buf_make(part[0], sizeof part[0]);
        codec_buf p1 = codec_buf_make(part[1], sizeof part[1]);
        m.type = PBFT_MSG_PREPARE;
        if (wire_pbft_encode(2, &m, NULL, 0, &p0) != CODEC_OK) die("wire bundle part");
        m.type = PBFT_MSG_CHECKPOINT;
        m.block_hash = fill_hash(0x61);
        m.state_hash = fill_hash(0x62);
        m.receipts_root = fill_hash(0x63);
        if (wire_pbft_encode(2, &m, NULL, 0, &p1) != CODEC_OK) die("wire bundle part");
        codec_span parts[2] = {{p0.data, p0.len}, {p1.data, p1.len}};
        rc = wire_bundle_encode(2, parts, 2, &b);
        break;
    }
    default: {
        codec_span blocks[2] = {{block, make_block(1, block, sizeof block)}};
        blocks[1] = blocks[0]; /* the same block twice: bytes are all the decoder sees */
        codec_span results[2] = {{cert, make_result_cert(2, 3, cert, sizeof cert)}, {NULL, 0}};
        rc = wire_blocks_encode(0, blocks, results, 2, &b);
    }
    }
    if (rc != CODEC_OK) die("wire");
    return b.len;
}

/* Client API requests and replies (decoder 11), one of each kind. */
static void emit_client(uint8_t *buf, size_t cap)
{
    static uint8_t tx[2048], body[4096];
    codec_buf b, t = codec_buf_make(tx, sizeof tx);
    t.len = make_tx(0, tx, sizeof tx);
    codec_span txs[2] = {{tx, t.len}, {tx, t.len}};
    codec_buf bb = codec_buf_make(body, sizeof body);
    codec_submit_batch_encode(txs, 2, &bb);
    b = codec_buf_make(buf, cap);
    codec_client_request_encode(CLIENT_SUBMIT_BATCH, bb.data, bb.len, &b);
    emit(11, &b);
    b = codec_buf_make(buf, cap);
    codec_submit_batch_encode(txs, 2, &b);
    emit(11, &b);
    codec_submit_result res[2] = {{0, ""}, {7, "tx not accepted: a co-signature does not verify"}};
    b = codec_buf_make(buf, cap);
    codec_submit_results_encode(res, 2, &b);
    emit(11, &b);
    b = codec_buf_make(buf, cap);
    codec_client_response_encode(0, "ok", body, bb.len, &b);
    emit(11, &b);
    b = codec_buf_make(buf, cap);
    codec_blocks_request_encode(12, 64, &b);
    emit(11, &b);
    codec_query q;
    memset(&q, 0, sizeof q);
    q.asker = keys[0].public_key;
    q.time_ms = 1764100000000ull;
    q.kind = QUERY_CONSENT;
    q.arg_count = 2;
    q.args[0] = (codec_span){(const uint8_t *)"TRIAL-1", 7};
    q.args[1] = (codec_span){keys[1].public_key.bytes, 32};
    b = codec_buf_make(buf, cap);
    codec_query_encode(&q, &b);
    emit(11, &b);
}

/* An authority change, a validator set of 4 and the event of a change to 7 (decoder 12). */
static void emit_governance(uint8_t *buf, size_t cap)
{
    codec_authority_change ac = {.action = CODEC_AUTHORITY_ADDED, .role = ROLE_INVESTIGATOR};
    snprintf(ac.site.text, sizeof ac.site.text, "site-b");
    snprintf(ac.name.text, sizeof ac.name.text, "investigator-b2");
    ac.key = keys[5].public_key;
    codec_buf b = codec_buf_make(buf, cap);
    codec_authority_change_encode(&ac, &b);
    emit(12, &b);
    static codec_valset set;
    set.count = 7;
    for (uint32_t i = 0; i < set.count; i++) {
        snprintf(set.validators[i].name.text, sizeof set.validators[i].name.text,
                 "validator-%u", i);
        set.validators[i].key = keys[i].public_key;
    }
    b = codec_buf_make(buf, cap);
    codec_valset_event_encode(48, &set, &b);
    emit(12, &b);
    set.count = 4;
    b = codec_buf_make(buf, cap);
    codec_valset_encode(&set, &b);
    emit(12, &b);
}

int main(int argc, char **argv)
{
    if (argc != 2) die("usage: make_codec_corpus DIR");
    root = argv[1];
    if (tcrypto_init() != TCRYPTO_OK) die("tcrypto_init");
    for (int i = 0; i < 8; i++) {
        uint8_t seed[TCRYPTO_SEED_BYTES] = {(uint8_t)(i + 1)};
        tcrypto_keypair_from_seed(seed, &keys[i]);
    }
    tcrypto_sha256("corpus-chain", 12, &chain_id);
    char path[512];
    make_dir(root);
    snprintf(path, sizeof path, "%s/all", root);
    make_dir(path);
    for (int d = 0; d < DECODERS; d++) {
        snprintf(path, sizeof path, "%s/%s", root, decoder_names[d]);
        make_dir(path);
    }
    static uint8_t buf[65536];
    codec_buf b;
#define EMIT(decoder, expr)                                                                      \
    do {                                                                                         \
        b = codec_buf_make(buf, sizeof buf);                                                     \
        b.len = (expr);                                                                          \
        emit(decoder, &b);                                                                       \
    } while (0)
    for (int v = 0; v < 3; v++) EMIT(0, make_tx(v, buf, sizeof buf));
    for (int v = 0; v < 2; v++) EMIT(1, make_receipt(v, buf, sizeof buf));
    for (int v = 0; v < 2; v++) EMIT(2, make_block(v, buf, sizeof buf));
    for (int v = 0; v < 2; v++) EMIT(3, make_genesis(v, buf, sizeof buf));
    EMIT(4, make_commit_cert(1, 1, buf, sizeof buf));
    EMIT(4, make_commit_cert(7, 3, buf, sizeof buf));
    EMIT(5, make_result_cert(1, 1, buf, sizeof buf));
    EMIT(5, make_result_cert(700, 5, buf, sizeof buf));
    EMIT(6, make_proof(PROOF_INCLUSION, buf, sizeof buf));
    EMIT(6, make_proof(PROOF_CONSISTENCY, buf, sizeof buf));
    for (int v = 0; v < 2; v++) EMIT(7, make_export_entry(v, buf, sizeof buf));
    EMIT(8, make_block_header(1, buf, sizeof buf));
    EMIT(8, make_block_header(1ull << 40, buf, sizeof buf));
    codec_export_header eh = {chain_id, 42};
    b = codec_buf_make(buf, sizeof buf);
    codec_export_header_encode(&eh, &b);
    emit(9, &b);
    for (int v = 0; v < 10; v++) EMIT(10, make_wire(v, buf, sizeof buf));
    emit_client(buf, sizeof buf);
    emit_governance(buf, sizeof buf);
    return 0;
}
