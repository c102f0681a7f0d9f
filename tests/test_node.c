/*
 * test_node.c - one real validator (node.c: core, mempool, executor, ledger,
 * transport) on loopback, validator 1 of a 4-validator sample chain, and the
 * test playing the other three: it listens as validator 0 (it receives what
 * node 1 sends to 0) and sends node 1 messages signed with the other
 * validators' keys, honest or byzantine. What is checked is what node 1 does
 * that others see: the votes it sends, the certificates it stores.
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "config.h"
#include "crypto.h"
#include "ledger.h"
#include "merkle.h"
#include "node.h"
#include "pbft.h"
#include "sample.h"
#include "testutil.h"
#include "transport.h"
#include "wire.h"

static struct {
    char dir[256];
    tu_chain chain;
    hash32 chain_id;
    config_node cfg;
    node *node;
    pthread_t thread;
    volatile sig_atomic_t stop;
    tp_net *peer0; /* the test, listening as validator 0 */
    uint8_t buf[1 << 20];
} T;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void *run_node(void *arg)
{
    (void)arg;
    node_run(T.node, &T.stop);
    return NULL;
}

static void start(void)
{
    tu_tempdir(T.dir, "node");
    tu_chain_make(&T.chain, 13);
    tcrypto_sha256(T.chain.genesis, T.chain.genesis_len, &T.chain_id);
    config_node *c = &T.cfg;
    config_defaults(c);
    c->node = 1;
    c->peer_count = 4;
    snprintf(c->data_dir, CONFIG_PATH_MAX, "%s/data", T.dir);
    snprintf(c->key_file, CONFIG_PATH_MAX, "%s/validator-1.key", T.dir);
    snprintf(c->genesis_file, CONFIG_PATH_MAX, "%s/genesis.bin", T.dir);
    snprintf(c->log_level, sizeof c->log_level, "warn");
    cr_assert_eq(tcrypto_write_secret_key(c->key_file, &T.chain.keys.validators[1]), TCRYPTO_OK);
    FILE *f = fopen(c->genesis_file, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(T.chain.genesis, 1, T.chain.genesis_len, f), T.chain.genesis_len);
    fclose(f);
    /* ports above Linux's ephemeral range; another attempt if one is in use */
    char why[512] = "";
    for (int attempt = 0; attempt < 20 && !T.peer0; attempt++) {
        int base = 61000 + (int)((getpid() + attempt * 97) % 560) * 8;
        for (int i = 0; i < 4; i++)
            snprintf(c->peers[i], CONFIG_URL_MAX, "tcp://127.0.0.1:%d", base + i);
        snprintf(c->listen, CONFIG_URL_MAX, "%s", c->peers[1]);
        snprintf(c->client, CONFIG_URL_MAX, "tcp://127.0.0.1:%d", base + 4);
        T.node = node_open(c, why, sizeof why);
        if (!T.node)
            continue;
        tp_config tc = {.listen_url = c->peers[0],
                        .peer_count = 4,
                        .max_message_bytes = 4u << 20,
                        .send_queue_messages = 4096,
                        .recv_queue_messages = 8192,
                        .reconnect_min_ms = 20,
                        .reconnect_max_ms = 200};
        tc.peer_urls[1] = c->peers[1];
        if (tp_open(&tc, &T.peer0, why, sizeof why) != TP_OK) {
            T.peer0 = NULL;
            node_close(T.node);
            T.node = NULL;
        }
    }
    cr_assert_not_null(T.peer0, "node or peer 0 not opened: %s", why);
    T.stop = 0;
    cr_assert_eq(pthread_create(&T.thread, NULL, run_node, NULL), 0);
}

static void stop_node(void)
{
    if (!T.node)
        return;
    T.stop = 1;
    pthread_join(T.thread, NULL);
    node_close(T.node);
    T.node = NULL;
}

/* Restart node 1 on its data directory (the test's peer 0 stays open). */
static void restart_node(void)
{
    stop_node();
    char why[512] = "";
    for (int attempt = 0; attempt < 50 && !T.node; attempt++) {
        T.node = node_open(&T.cfg, why, sizeof why);
        if (!T.node)
            usleep(100 * 1000); /* its listener's port may linger a moment */
    }
    cr_assert_not_null(T.node, "node 1 did not restart: %s", why);
    T.stop = 0;
    cr_assert_eq(pthread_create(&T.thread, NULL, run_node, NULL), 0);
}

static void finish(void)
{
    stop_node();
    tp_close(T.peer0);
    free(T.chain.genesis);
    tu_rmdir(T.dir);
}

TestSuite(node, .init = start, .fini = finish, .timeout = 60);

/* ---- messages signed as validator `as`
 * ----------------------------------------------- */

static void sign_as(uint32_t as, const char *tag, const codec_buf *body, signature *sig)
{
    cr_assert_eq(
        tcrypto_sign(&T.chain.keys.validators[as], tag, &T.chain_id, body->data, body->len, sig),
        TCRYPTO_OK);
}

/* Send m, or, with `hold`, append its encoding there (parts of one BUNDLE)
 * instead. */
static codec_buf *hold;
static void send_msg(uint32_t from, const pbft_msg *m, const codec_span *txs, uint32_t count)
{
    codec_buf b = codec_buf_make(T.buf, sizeof T.buf);
    codec_buf *out = hold ? hold : &b;
    cr_assert_eq(wire_pbft_encode(from, m, txs, count, out), CODEC_OK);
    if (!hold)
        cr_assert_eq(tp_send(T.peer0, 1, b.data, b.len), TP_OK);
}

/* A sample tx (index picks it), signed for this chain, or for another one
 * (forged here). */
static codec_span make_tx(uint64_t index, bool forged, uint8_t *out, size_t cap)
{
    hash32 other;
    tcrypto_sha256("another chain", 13, &other);
    codec_buf b = codec_buf_make(out, cap);
    cr_assert_eq(sample_tx(&T.chain.keys, forged ? &other : &T.chain_id, index,
                           now_ms() + SAMPLE_VALID_FOR_MS, &b), 0);
    return (codec_span){b.data, b.len};
}

/* A PRE-PREPARE of view 0 for one tx at height, claiming `from`, signed by
 * `signer`. */
static void send_preprepare(uint32_t from, uint32_t signer, uint64_t height, codec_span tx,
                            pbft_batch *batch, hash32 *digest)
{
    memset(batch, 0, sizeof *batch);
    batch->header.height = height;
    batch->header.time_ms = now_ms();
    batch->count = 1;
    merkle_leaf_hash(tx.data, tx.len, &batch->txs[0]);
    pbft_batch_seal(batch);
    codec_batch_hash(&batch->header, digest);
    uint8_t body[128];
    codec_buf b = codec_buf_make(body, sizeof body);
    cr_assert_eq(codec_pbft_vote_body_encode(0, height, digest, &b), CODEC_OK);
    pbft_msg m = {.type = PBFT_MSG_PREPREPARE,
                  .from = from,
                  .view = 0,
                  .height = height,
                  .digest = *digest,
                  .batch = batch};
    sign_as(signer, TCRYPTO_TAG_PREPREPARE, &b, &m.sig);
    send_msg(from, &m, &tx, 1);
}

/* A PREPARE or COMMIT of view 0 from validator `from`. */
static void send_vote(pbft_msg_type type, uint32_t from, uint64_t height, const hash32 *digest)
{
    uint8_t body[128];
    codec_buf b = codec_buf_make(body, sizeof body);
    bool commit = type == PBFT_MSG_COMMIT;
    cr_assert_eq(commit ? codec_commit_body_encode(height, 0, digest, &b)
                        : codec_pbft_vote_body_encode(0, height, digest, &b),
                 CODEC_OK);
    pbft_msg m = {.type = type, .from = from, .view = 0, .height = height, .digest = *digest};
    sign_as(from, commit ? TCRYPTO_TAG_COMMIT : TCRYPTO_TAG_PREPARE, &b, &m.sig);
    send_msg(from, &m, NULL, 0);
}

/* A CHECKPOINT from validator `from` for these results. */
static void send_checkpoint(uint32_t from, const codec_result_cert *rc)
{
    uint8_t body[256];
    codec_buf b = codec_buf_make(body, sizeof body);
    cr_assert_eq(codec_checkpoint_body_encode(rc, &b), CODEC_OK);
    pbft_msg m = {.type = PBFT_MSG_CHECKPOINT,
                  .from = from,
                  .height = rc->height,
                  .block_hash = rc->block_hash,
                  .state_hash = rc->state_hash,
                  .receipts_root = rc->receipts_root};
    sign_as(from, TCRYPTO_TAG_CHECKPOINT, &b, &m.sig);
    send_msg(from, &m, NULL, 0);
}

/* ---- what node 1 sends to validator 0
 * ------------------------------------------------- */

static bool is_vote(const wire_msg *w, pbft_msg_type type, uint64_t height, const hash32 *d)
{
    return w->kind == WIRE_PBFT && w->msg.type == type && w->msg.height == height &&
           memcmp(&w->msg.digest, d, 32) == 0;
}

/* Whether a message (or a part of a bundle) is node 1's `type` vote for
 * (height, d). */
static bool carries_vote(const uint8_t *data, size_t len, pbft_msg_type type, uint64_t height,
                         const hash32 *d)
{
    static wire_msg w, part;
    codec_error ce;
    if (wire_decode(data, len, &w, &ce) != CODEC_OK || w.from != 1)
        return false;
    if (w.kind != WIRE_BUNDLE)
        return is_vote(&w, type, height, d);
    for (uint32_t i = 0; i < w.part_count; i++)
        if (wire_decode(w.parts[i].data, w.parts[i].len, &part, &ce) == CODEC_OK &&
            is_vote(&part, type, height, d))
            return true;
    return false;
}

/* Wait up to timeout_ms for node 1's `type` vote for (height, d). */
static bool await_vote(pbft_msg_type type, uint64_t height, const hash32 *d, int timeout_ms)
{
    uint64_t until = now_ms() + (uint64_t)timeout_ms;
    while (now_ms() < until) {
        uint8_t *data;
        size_t len;
        if (tp_recv(T.peer0, 50, &data, &len) != TP_OK)
            continue;
        bool found = carries_vote(data, len, type, height, d);
        tp_free(data, len);
        if (found)
            return true;
    }
    return false;
}

/* ---- issue 13, bug 4: waiting-list exhaustion
 * ------------------------------------------ */

/* A byzantine validator (2) floods node 1 with PRE-PREPAREs each carrying a tx
 * whose signature does not verify: as itself (it is not the primary of view 0),
 * and as the primary 0 but signed with its own key. None of them may take a
 * waiting slot; they used to take them all, and a correct PRE-PREPARE whose tx
 * was still being checked was then handed to the core at once and refused.
 * Deterministic: the forged-primary flood and, last, the primary's own
 * PRE-PREPARE travel in one BUNDLE, whose parts node 1 handles in order within
 * one turn (no waiting PRE-PREPARE is retried in between). The primary's
 * PRE-PREPARE is sent once (no retransmission) and must be prepared. */
Test(node, a_flood_of_unsettled_preprepares_does_not_stop_the_primarys)
{
    enum { FLOOD = 40 };
    static uint8_t bytes[2 * FLOOD][1024], good_bytes[1024], parts_buf[1 << 20];
    static pbft_batch batches[FLOOD + 1];
    hash32 digest;
    for (uint32_t i = 0; i < FLOOD; i++) /* not the primary: sent alone */
        send_preprepare(2, 2, 2 + i % 14, make_tx(100 + i, true, bytes[i], sizeof bytes[i]),
                        &batches[0], &digest);
    codec_buf parts = codec_buf_make(parts_buf, sizeof parts_buf);
    codec_span spans[FLOOD + 1];
    hold = &parts;
    for (uint32_t i = 0; i <= FLOOD; i++) {
        size_t at = parts.len;
        if (i < FLOOD) /* "from the primary", signed by validator 2 */
            send_preprepare(0, 2, 2 + i % 14, make_tx(200 + i, true, bytes[FLOOD + i], 1024),
                            &batches[i], &digest);
        else /* the primary's own, for height 1, its tx not checked at node 1 yet */
            send_preprepare(0, 0, 1, make_tx(1, false, good_bytes, sizeof good_bytes), &batches[i],
                            &digest);
        spans[i] = (codec_span){parts.data + at, parts.len - at};
    }
    hold = NULL;
    codec_buf b = codec_buf_make(T.buf, sizeof T.buf);
    cr_assert_eq(wire_bundle_encode(0, spans, FLOOD + 1, &b), CODEC_OK);
    cr_assert_eq(tp_send(T.peer0, 1, b.data, b.len), TP_OK);
    cr_assert(await_vote(PBFT_MSG_PREPARE, 1, &digest, 5000),
              "node 1 did not prepare the primary's PRE-PREPARE behind a "
              "byzantine flood");
}

/* Commit height 1 (PRE-PREPARE from the primary, the others' votes) and wait until node 1
 * executed it (its status file says height 1). */
static void commit_height_1(codec_span tx)
{
    pbft_batch batch;
    hash32 digest;
    send_preprepare(0, 0, 1, tx, &batch, &digest);
    cr_assert(await_vote(PBFT_MSG_PREPARE, 1, &digest, 5000), "no PREPARE from node 1");
    send_vote(PBFT_MSG_PREPARE, 2, 1, &digest);
    send_vote(PBFT_MSG_PREPARE, 3, 1, &digest);
    for (uint32_t v = 0; v < 4; v++)
        if (v != 1)
            send_vote(PBFT_MSG_COMMIT, v, 1, &digest);
    cr_assert(await_vote(PBFT_MSG_COMMIT, 1, &digest, 5000), "no COMMIT from node 1");
    char status[512], text[1024] = "";
    snprintf(status, sizeof status, "%s/data/status.json", T.dir);
    bool executed = false;
    for (int i = 0; i < 100 && !executed; i++) {
        usleep(50 * 1000);
        FILE *f = fopen(status, "r");
        size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
        if (f)
            fclose(f);
        text[n] = 0;
        executed = strstr(text, "\"height\": 1,") != NULL;
    }
    cr_assert(executed, "node 1 did not execute height 1: %s", text);
}

/* ---- issue 19: FETCH answered only to a validator ------------------------------------ */

/* Whether node 1 sent validator 0 a BLOCKS message (alone or in a bundle) within
 * timeout_ms. */
static bool await_blocks(int timeout_ms)
{
    static wire_msg w, part;
    uint64_t until = now_ms() + (uint64_t)timeout_ms;
    while (now_ms() < until) {
        uint8_t *data;
        size_t len;
        if (tp_recv(T.peer0, 50, &data, &len) != TP_OK)
            continue;
        bool found = false;
        if (wire_decode(data, len, &w, NULL) == CODEC_OK && w.from == 1) {
            found = w.kind == WIRE_BLOCKS;
            for (uint32_t i = 0; w.kind == WIRE_BUNDLE && i < w.part_count; i++)
                found |= wire_decode(w.parts[i].data, w.parts[i].len, &part, NULL) == CODEC_OK &&
                         part.kind == WIRE_BLOCKS;
        }
        tp_free(data, len);
        if (found)
            return true;
    }
    return false;
}

/* A FETCH of height 1 claiming validator `from`, signed by key at time t (key NULL: the
 * unsigned form). */
static void send_fetch_as(uint32_t from, const keypair *key, uint64_t t)
{
    codec_buf b = codec_buf_make(T.buf, sizeof T.buf);
    if (!key) {
        cr_assert_eq(wire_fetch_encode(from, 1, 1, &b), CODEC_OK);
    } else {
        uint8_t body[64];
        codec_buf bb = codec_buf_make(body, sizeof body);
        signature sig;
        cr_assert_eq(wire_fetch_body_encode(from, 1, 1, t, &bb), CODEC_OK);
        cr_assert_eq(tcrypto_sign(key, TCRYPTO_TAG_FETCH, &T.chain_id, bb.data, bb.len, &sig),
                     TCRYPTO_OK);
        cr_assert_eq(wire_fetch_signed_encode(from, 1, 1, t, &sig, &b), CODEC_OK);
    }
    cr_assert_eq(tp_send(T.peer0, 1, b.data, b.len), TP_OK);
}

/* Node 1 holds height 1. A FETCH for it that is unsigned, signed by another validator or by
 * a key outside the set, stale, or signed for another chain is ignored (no BLOCKS), and
 * logged once for the claimed sender however many arrive; the same FETCH signed by
 * validator 0 now is answered. */
Test(node, a_fetch_is_answered_only_when_signed_by_the_validator_it_names)
{
    uint8_t tx[1024];
    commit_height_1(make_tx(1, false, tx, sizeof tx));
    keypair stranger;
    tcrypto_keypair_generate(&stranger);
    char log_path[300];
    snprintf(log_path, sizeof log_path, "%s/stderr.log", T.dir);
    fflush(stderr);
    int saved = dup(2);
    FILE *log = fopen(log_path, "w");
    cr_assert(saved >= 0 && log);
    dup2(fileno(log), 2);
    send_fetch_as(0, NULL, 0);                              /* no signature */
    send_fetch_as(0, &T.chain.keys.validators[2], now_ms()); /* another validator's */
    send_fetch_as(0, &stranger, now_ms());                  /* a key outside the set */
    send_fetch_as(0, &T.chain.keys.validators[0], now_ms() - 120000); /* stale, replayed */
    bool answered = await_blocks(1500);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(log);
    cr_assert_not(answered, "node 1 answered a FETCH not signed by validator 0");
    char text[8192] = "";
    FILE *f = fopen(log_path, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = 0;
    const char *line = "FETCH claiming to be from validator 0 ignored";
    const char *first = strstr(text, line);
    cr_assert_not_null(first, "the refusal is logged: %s", text);
    cr_assert_null(strstr(first + 1, line), "logged once, not per FETCH: %s", text);
    cr_assert_not_null(strstr(first, "unsigned"), "the first one's reason: %s", text);
    /* signed for another chain: ignored too */
    hash32 other;
    tcrypto_sha256("another chain", 13, &other);
    uint8_t body[64];
    codec_buf bb = codec_buf_make(body, sizeof body), b = codec_buf_make(T.buf, sizeof T.buf);
    signature sig;
    uint64_t t = now_ms();
    cr_assert_eq(wire_fetch_body_encode(0, 1, 1, t, &bb), CODEC_OK);
    tcrypto_sign(&T.chain.keys.validators[0], TCRYPTO_TAG_FETCH, &other, bb.data, bb.len, &sig);
    cr_assert_eq(wire_fetch_signed_encode(0, 1, 1, t, &sig, &b), CODEC_OK);
    cr_assert_eq(tp_send(T.peer0, 1, b.data, b.len), TP_OK);
    cr_assert_not(await_blocks(800), "answered a FETCH signed for another chain");
    send_fetch_as(0, &T.chain.keys.validators[0], now_ms());
    cr_assert(await_blocks(5000), "a FETCH signed by validator 0 is answered");
}

/* Issue 23: the keyed FETCH (what nodes send) names the requester's key. */
static void send_keyed_fetch(uint32_t from, const keypair *signer, const pubkey *named)
{
    codec_buf b = codec_buf_make(T.buf, sizeof T.buf);
    uint8_t body[96];
    codec_buf bb = codec_buf_make(body, sizeof body);
    signature sig;
    uint64_t t = now_ms();
    cr_assert_eq(wire_fetch_keyed_body_encode(from, 1, 1, t, named, &bb), CODEC_OK);
    cr_assert_eq(tcrypto_sign(signer, TCRYPTO_TAG_FETCH, &T.chain_id, bb.data, bb.len, &sig),
                 TCRYPTO_OK);
    cr_assert_eq(wire_fetch_keyed_encode(from, 1, 1, t, named, &sig, &b), CODEC_OK);
    cr_assert_eq(tp_send(T.peer0, 1, b.data, b.len), TP_OK);
}

/* Node 1 holds height 1. A keyed FETCH naming a key no validator set holds (a stranger's,
 * correctly signed) is ignored with that reason, one naming validator 0's key but signed by
 * another is ignored as a bad signature, and one naming and signed by validator 0's key is
 * answered (at validator 0's address): the key, not a genesis index, is who asks. */
Test(node, a_keyed_fetch_is_answered_only_to_a_validator_key_it_names_and_signs)
{
    uint8_t tx[1024];
    commit_height_1(make_tx(1, false, tx, sizeof tx));
    keypair stranger;
    tcrypto_keypair_generate(&stranger);
    char log_path[300];
    snprintf(log_path, sizeof log_path, "%s/stderr-keyed.log", T.dir);
    fflush(stderr);
    int saved = dup(2);
    FILE *log = fopen(log_path, "w");
    cr_assert(saved >= 0 && log);
    dup2(fileno(log), 2);
    send_keyed_fetch(0, &stranger, &stranger.public_key);
    send_keyed_fetch(2, &stranger, &T.chain.keys.validators[0].public_key);
    bool answered = await_blocks(1500);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(log);
    cr_assert_not(answered, "node 1 answered a keyed FETCH of no validator");
    char text[8192] = "";
    FILE *f = fopen(log_path, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = 0;
    cr_assert_not_null(strstr(text, "no validator of the set in force or a pending one"),
                       "a stranger's key is refused as such: %s", text);
    cr_assert_not_null(strstr(text, "its signature is not its key's"),
                       "a signature by another key than the one named: %s", text);
    send_keyed_fetch(0, &T.chain.keys.validators[0], &T.chain.keys.validators[0].public_key);
    cr_assert(await_blocks(5000), "a keyed FETCH by validator 0's key is answered");
}

/* ---- issue 13, bug 3 (node half): a result certificate against my own
 * execution ---- */

/* The other three validators certify results for height 1 that are not what
 * node 1 computes (their CHECKPOINTs arrive before node 1 executes the height:
 * it holds the certificate), then commit height 1 normally. Node 1 executes it
 * and must not store the certificate beside its own block: a receipt would be
 * proven with results that contradict it. It used to store a held certificate
 * before comparing. */
Test(node, a_result_certificate_contradicting_my_execution_is_not_stored)
{
    static uint8_t tx_bytes[1024];
    codec_result_cert wrong = {.height = 1};
    memset(wrong.block_hash.bytes, 0xb1, 32);
    memset(wrong.state_hash.bytes, 0x51, 32);
    memset(wrong.receipts_root.bytes, 0x71, 32);
    for (uint32_t v = 0; v < 4; v++)
        if (v != 1)
            send_checkpoint(v, &wrong);
    commit_height_1(make_tx(1, false, tx_bytes, sizeof tx_bytes));
    stop_node();
    char ledger_dir[300];
    snprintf(ledger_dir, sizeof ledger_dir, "%s/data/ledger", T.dir);
    ledger *l = NULL;
    ledger_error le;
    cr_assert_eq(ledger_open(ledger_dir, T.chain.genesis, T.chain.genesis_len, LEDGER_OPEN_EXISTING,
                             &l, &le),
                 LEDGER_OK,
                 "node 1's ledger no longer opens: %s (a stored result certificate "
                 "contradicts its own block)",
                 le.message);
    uint8_t *block = NULL, *cert = NULL;
    size_t block_len = 0, cert_len = 0;
    cr_assert_eq(ledger_get_block(l, 1, &block, &block_len), LEDGER_OK, "block 1 stored");
    ledger_err got = ledger_get_result_cert(l, 1, &cert, &cert_len);
    free(block);
    free(cert);
    ledger_close(l);
    cr_assert_neq(got, LEDGER_OK,
                  "a result certificate contradicting node 1's own execution "
                  "of height 1 was stored");
}

/* ---- issue 14 B: a tx in my ledger is not ordered again
 * ------------------------------------------------------ */

/* The core's own filter of committed requests remembers the last 4,096 and starts empty
 * after a restart; the ledger's tx index knows them all. A restarted node 1 must not
 * prepare a PRE-PREPARE that orders a tx its ledger holds (a restarted primary proposed
 * such txs and backups prepared them: 357 tx ids committed twice in one fault-injection
 * run). A PRE-PREPARE of a new tx at the same height is prepared (the control). */
Test(node, a_tx_in_my_ledger_is_not_prepared_again_after_a_restart)
{
    static uint8_t old_bytes[1024], new_bytes[1024];
    codec_span old_tx = make_tx(1, false, old_bytes, sizeof old_bytes);
    commit_height_1(old_tx);
    restart_node();
    pbft_batch batch;
    hash32 again, fresh;
    send_preprepare(0, 0, 2, old_tx, &batch, &again);
    cr_assert_not(await_vote(PBFT_MSG_PREPARE, 2, &again, 1500),
                  "node 1 prepared a batch ordering a tx its ledger holds (height 1)");
    send_preprepare(0, 0, 2, make_tx(2, false, new_bytes, sizeof new_bytes), &batch, &fresh);
    cr_assert(await_vote(PBFT_MSG_PREPARE, 2, &fresh, 5000),
              "node 1 did not prepare a new tx at height 2 (it is alive)");
}

/* ---- issue 14 C, layer 2: unroutable txs in a PRE-PREPARE
 * ------------------------------------------------------------------------------------ */

/* A tx by investigator 0 (a genesis authority of the sample chain) calling
 * contract.method with args; nonce picks it. */
static codec_span make_call(const char *contract, const char *method, const codec_value *args,
                            uint32_t n, uint64_t nonce, uint8_t *out, size_t cap)
{
    codec_tx tx;
    memset(&tx, 0, sizeof tx);
    const keypair *k = &T.chain.keys.investigators[0];
    tx.signer = k->public_key;
    tx.nonce = nonce;
    tx.valid_until = now_ms() + SAMPLE_VALID_FOR_MS;
    snprintf(tx.contract.text, sizeof tx.contract.text, "%s", contract);
    snprintf(tx.method.text, sizeof tx.method.text, "%s", method);
    tx.arg_count = n;
    memcpy(tx.args, args, n * sizeof *args);
    static uint8_t body[CODEC_TX_MAX];
    codec_buf b = codec_buf_make(body, sizeof body);
    cr_assert_eq(codec_tx_body_encode(&tx, &b), CODEC_OK);
    cr_assert_eq(tcrypto_sign(k, TCRYPTO_TAG_TX, &T.chain_id, b.data, b.len, &tx.sig), TCRYPTO_OK);
    codec_buf o = codec_buf_make(out, cap);
    cr_assert_eq(codec_tx_encode(&tx, &o), CODEC_OK);
    return (codec_span){o.data, o.len};
}

/* The primary's PRE-PREPAREs, each carrying one signed tx by a genesis authority that is
 * invalid in every state (unknown contract, unknown method, wrong argument count, an int
 * where the ABI says bytes: each with 1 KiB byte strings, the free bytes a name would be),
 * must not be prepared; the routable one beside them (the sample anchor) must be. The
 * no-role kind is not refused here (state: an enrolment may be in flight), only at
 * submit (test_unroutable.c). */
Test(node, a_backup_refuses_preprepares_carrying_unroutable_txs)
{
    enum { KINDS = 4 };
    static uint8_t kilo[1024], bytes[KINDS + 1][CODEC_TX_MAX];
    memset(kilo, 'N', sizeof kilo);
    codec_value many[16];
    for (int i = 0; i < 16; i++)
        many[i] = (codec_value){.kind = CODEC_VALUE_BYTES, .bytes = kilo, .len = sizeof kilo};
    codec_value anchor[6];
    memcpy(anchor, many, sizeof anchor);
    anchor[2] = (codec_value){.kind = CODEC_VALUE_INT, .integer = 1}; /* scope */
    anchor[3] = (codec_value){.kind = CODEC_VALUE_INT, .integer = 1}; /* collected_at */
    /* anchor[5] (size) stays bytes: the ABI says int */
    codec_span txs[KINDS + 1] = {
        make_call("nosuch", "m", many, 16, 1, bytes[0], CODEC_TX_MAX),
        make_call("data", "nosuch", many, 16, 2, bytes[1], CODEC_TX_MAX),
        make_call("data", "anchor", many, 16, 3, bytes[2], CODEC_TX_MAX),
        make_call("data", "anchor", anchor, 6, 4, bytes[3], CODEC_TX_MAX),
        make_tx(1, false, bytes[KINDS], CODEC_TX_MAX),
    };
    static const char *const names[KINDS + 1] = {"unknown contract", "unknown method",
                                                 "wrong argument count", "wrong argument kind",
                                                 "routable"};
    pbft_batch batches[KINDS + 1];
    hash32 digests[KINDS + 1];
    for (uint32_t k = 0; k <= KINDS; k++) { /* block times strictly increase */
        send_preprepare(0, 0, 1 + k, txs[k], &batches[k], &digests[k]);
        usleep(3000);
    }
    bool prepared[KINDS + 1] = {false};
    uint64_t until = now_ms() + 3000;
    while (now_ms() < until) {
        uint8_t *data;
        size_t len;
        if (tp_recv(T.peer0, 50, &data, &len) != TP_OK)
            continue;
        for (uint32_t k = 0; k <= KINDS; k++)
            prepared[k] |= carries_vote(data, len, PBFT_MSG_PREPARE, 1 + k, &digests[k]);
        tp_free(data, len);
    }
    for (uint32_t k = 0; k < KINDS; k++)
        cr_expect(!prepared[k], "node 1 prepared a PRE-PREPARE carrying an unroutable tx (%s)",
                  names[k]);
    cr_expect(prepared[KINDS], "node 1 did not prepare the routable tx's PRE-PREPARE");
}
