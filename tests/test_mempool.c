/*
 * test_mempool.c - the mempool and its verifiers: forwarded txs are held at
 * once, checked in the background, the good ones listed for proposal and the
 * bad ones dropped; client submits are checked on the caller's thread.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "crypto.h"
#include "mempool.h"
#include "merkle.h"

static hash32 chain, other_chain;
static keypair key;

/* A canonical tx with nonce n, signed for chain c. */
static size_t make_tx(uint64_t n, const hash32 *c, uint8_t *out, size_t cap)
{
    codec_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.signer = key.public_key;
    tx.nonce = n;
    strcpy(tx.contract.text, "data");
    strcpy(tx.method.text, "anchor");
    uint8_t body[CODEC_TX_MAX];
    codec_buf b = codec_buf_make(body, sizeof body);
    cr_assert_eq(codec_tx_body_encode(&tx, &b), CODEC_OK);
    cr_assert_eq(tcrypto_sign(&key, TCRYPTO_TAG_TX, c, body, b.len, &tx.sig), TCRYPTO_OK);
    codec_buf o = codec_buf_make(out, cap);
    cr_assert_eq(codec_tx_encode(&tx, &o), CODEC_OK);
    return o.len;
}

static void setup(void)
{
    uint8_t seed[32] = {7};
    tcrypto_keypair_from_seed(seed, &key);
    tcrypto_sha256("chain", 5, &chain);
    tcrypto_sha256("other", 5, &other_chain);
}

TestSuite(mempool, .init = setup);

/* Take ready digests until want arrived or 5 s passed. */
static uint32_t wait_ready(mempool *p, hash32 *out, uint32_t want)
{
    uint32_t got = 0;
    for (int i = 0; i < 5000 && got < want; i++) {
        got += mempool_take_ready(p, out + got, want - got);
        if (got < want)
            nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    return got;
}

Test(mempool, forwarded_txs_are_checked_in_the_background_and_bad_ones_dropped)
{
    static uint8_t bytes[4][1024];
    codec_span txs[4];
    hash32 d[4];
    for (uint32_t i = 0; i < 4; i++) {
        /* tx 2 is signed for another chain: its signature does not verify here */
        txs[i] = (codec_span){bytes[i], make_tx(i + 1, i == 2 ? &other_chain : &chain,
                                                bytes[i], sizeof bytes[i])};
        merkle_leaf_hash(txs[i].data, txs[i].len, &d[i]);
    }
    mempool *p = mempool_open(&chain, 2, 100);
    cr_assert_not_null(p);
    cr_assert_eq(mempool_admit(p, txs, NULL, 4), 4);
    /* txs 0 and 1 are held (checking or verified): not queued twice (tx 2 may be
     * dropped already, and a dropped tx may be admitted again) */
    cr_assert_eq(mempool_admit(p, txs, d, 2), 0, "held already: not queued twice");
    hash32 ready[8];
    cr_assert_eq(wait_ready(p, ready, 3), 3);
    for (int i = 0; i < 5000 && mempool_state_of(p, &d[2]) != MEMPOOL_MISSING; i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    cr_assert_eq(mempool_state_of(p, &d[2]), MEMPOOL_MISSING, "a bad signature is dropped");
    for (uint32_t i = 0; i < 4; i++) {
        if (i == 2)
            continue;
        cr_assert_eq(mempool_state_of(p, &d[i]), MEMPOOL_VERIFIED);
        cr_assert(mempool_verified(p, &d[i]));
        bool listed = false;
        for (uint32_t k = 0; k < 3; k++)
            listed |= memcmp(&ready[k], &d[i], 32) == 0;
        cr_assert(listed, "tx %u listed as ready", i);
    }
    cr_assert_not(mempool_verified(p, &d[2]));
    cr_assert_eq(mempool_take_ready(p, ready, 8), 0, "each is listed once");
    uint8_t *taken;
    size_t len;
    bool verified;
    cr_assert(mempool_take(p, &d[0], &taken, &len, &verified));
    cr_assert(verified && len == txs[0].len && memcmp(taken, txs[0].data, len) == 0);
    free(taken);
    cr_assert_eq(mempool_state_of(p, &d[0]), MEMPOOL_MISSING);
    mempool_close(p);
}

/* One tx submitted alone: the reason if refused, "" if accepted. */
static const char *submit_one(mempool *p, const uint8_t *tx, size_t len)
{
    static codec_submit_result r;
    mempool_submit(p, &(codec_span){tx, len}, 1, &r);
    cr_assert((r.status == 0) == (r.reason[0] == 0), "a refusal has a reason: %s", r.reason);
    return r.reason;
}

Test(mempool, client_submits_are_verified_by_the_workers_and_answered_in_order)
{
    static uint8_t good[1024], bad[1024], good2[1024];
    size_t gl = make_tx(1, &chain, good, sizeof good), bl = make_tx(2, &other_chain, bad, sizeof bad);
    size_t g2l = make_tx(3, &chain, good2, sizeof good2);
    mempool *p = mempool_open(&chain, 2, 100);
    cr_assert_str_empty(submit_one(p, good, gl));
    cr_assert_str_empty(submit_one(p, good, gl), "idempotent");
    cr_assert(strstr(submit_one(p, bad, bl), "signature") != NULL);
    cr_assert(strstr(submit_one(p, good, gl - 1), "decode") != NULL);
    /* one request: each tx answered in its place, the good ones kept */
    codec_span req[4] = {{bad, bl}, {good2, g2l}, {good2, g2l - 1}, {good, gl}};
    codec_submit_result res[4];
    mempool_submit(p, req, 4, res);
    cr_assert(res[0].status != 0 && strstr(res[0].reason, "author") != NULL, "%s", res[0].reason);
    cr_assert_eq(res[1].status, 0, "%s", res[1].reason);
    cr_assert(res[2].status != 0 && strstr(res[2].reason, "decode") != NULL, "%s", res[2].reason);
    cr_assert_eq(res[3].status, 0, "already held: accepted");
    codec_span spans[4];
    uint8_t *owned[4];
    hash32 digests[4], d;
    merkle_leaf_hash(good, gl, &d);
    cr_assert_eq(mempool_take_inbox(p, spans, owned, digests, 4), 2, "good, then good2");
    cr_assert(memcmp(&digests[0], &d, 32) == 0);
    free(owned[0]);
    free(owned[1]);
    cr_assert_eq(mempool_state_of(p, &d), MEMPOOL_VERIFIED);
    merkle_leaf_hash(good2, g2l, &d);
    cr_assert(memcmp(&digests[1], &d, 32) == 0);
    cr_assert_eq(mempool_state_of(p, &d), MEMPOOL_VERIFIED);
    mempool_close(p);
}

Test(mempool, a_request_larger_than_the_verifiers_queue_is_refused_in_part)
{
    static uint8_t bytes[3][1024];
    codec_span txs[3];
    codec_submit_result res[3];
    for (uint32_t i = 0; i < 3; i++)
        txs[i] = (codec_span){bytes[i], make_tx(i + 1, &chain, bytes[i], sizeof bytes[i])};
    mempool *p = mempool_open(&chain, 1, 2);
    mempool_submit(p, txs, 3, res);
    cr_assert_eq(res[0].status, 0, "%s", res[0].reason);
    cr_assert_eq(res[1].status, 0, "%s", res[1].reason);
    cr_assert(res[2].status != 0 && strstr(res[2].reason, "retry later") != NULL, "%s",
              res[2].reason);
    mempool_close(p);
}

Test(mempool, the_capacity_bounds_what_is_held)
{
    static uint8_t bytes[3][1024];
    codec_span txs[3];
    for (uint32_t i = 0; i < 3; i++)
        txs[i] = (codec_span){bytes[i], make_tx(i + 1, &chain, bytes[i], sizeof bytes[i])};
    mempool *p = mempool_open(&chain, 1, 2);
    cr_assert_eq(mempool_admit(p, txs, NULL, 3), 2);
    hash32 ready[3];
    cr_assert_eq(wait_ready(p, ready, 2), 2);
    mempool_close(p); /* frees what it holds (checked under ASan) */
}

typedef struct {
    mempool *pool;
    codec_span txs[2];
    codec_submit_result res[2];
} submit_call;

static void *submit_thread(void *arg)
{
    submit_call *c = arg;
    mempool_submit(c->pool, c->txs, 2, c->res);
    return NULL;
}

/* Issue 13, bug 2: a peer forwards a tx with a bad signature (held as "checking") and a
 * client submits the same bytes with a good tx. The submit must check the forged tx itself:
 * it used to count it as checked because it was held, and, when the verifier dropped the
 * held copy while the submit waited for the good tx, keep the client's copy as verified
 * (the executor then skips its signature). The interleaving is forced: one verifier, paused
 * until the submit waits, then it settles everything queued in one pass. */
Test(mempool, a_submitted_tx_held_as_checking_is_checked_not_trusted)
{
    static uint8_t forged[1024], good[1024];
    size_t fl = make_tx(1, &other_chain, forged, sizeof forged);
    size_t gl = make_tx(2, &chain, good, sizeof good);
    hash32 fd;
    merkle_leaf_hash(forged, fl, &fd);
    mempool *p = mempool_open(&chain, 1, 100);
    mempool_pause(p, true);
    cr_assert_eq(mempool_admit(p, &(codec_span){forged, fl}, NULL, 1), 1, "a peer's forward");
    cr_assert_eq(mempool_state_of(p, &fd), MEMPOOL_CHECKING);
    submit_call call = {p, {{forged, fl}, {good, gl}}, {{0}}};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, submit_thread, &call), 0);
    /* the submit has queued its checks and waits for them (a condition, polled) */
    for (int i = 0; i < 5000 && mempool_queued(p) < 2; i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    cr_assert_geq(mempool_queued(p), 2, "the submit queued its checks");
    mempool_pause(p, false);
    pthread_join(t, NULL);
    cr_assert_neq(call.res[0].status, 0, "a forged tx was accepted for a client");
    cr_assert(strstr(call.res[0].reason, "author") != NULL, "%s", call.res[0].reason);
    cr_assert_eq(call.res[1].status, 0, "%s", call.res[1].reason);
    cr_assert_not(mempool_verified(p, &fd), "a forged tx is held as verified");
    cr_assert_eq(mempool_state_of(p, &fd), MEMPOOL_MISSING);
    codec_span spans[2];
    uint8_t *owned[2];
    hash32 digests[2];
    cr_assert_eq(mempool_take_inbox(p, spans, owned, digests, 2), 1, "only the good tx queued");
    cr_assert(spans[0].len == gl && memcmp(spans[0].data, good, gl) == 0);
    free(owned[0]);
    mempool_close(p);
}

/* The scheduled mode (threads = 0) runs bug 2's interleaving without threads or polling:
 * a peer's forged forward is queued first, the client's request naming it (with a good
 * tx) second; the forward's check ends first and drops the held copy, then the request's
 * checks end and it is answered. The forged tx is refused on its own check, never kept. */
Test(mempool, the_scheduled_mode_runs_each_check_when_told)
{
    static uint8_t forged[1024], good[1024];
    size_t fl = make_tx(1, &other_chain, forged, sizeof forged);
    size_t gl = make_tx(2, &chain, good, sizeof good);
    hash32 fd;
    merkle_leaf_hash(forged, fl, &fd);
    mempool *p = mempool_open(&chain, 0, 100);
    cr_assert_not_null(p);
    cr_assert_eq(mempool_admit(p, &(codec_span){forged, fl}, NULL, 1), 1, "a peer's forward");
    codec_span txs[2] = {{forged, fl}, {good, gl}};
    mempool_submission *s = mempool_submit_start(p, txs, 2);
    cr_assert_not_null(s);
    cr_assert_not(mempool_submit_checked(s), "nothing runs until the harness says so");
    cr_assert(mempool_verify_step(p, 0), "the forward's check");
    cr_assert_eq(mempool_state_of(p, &fd), MEMPOOL_MISSING, "the forged forward is dropped");
    cr_assert_not(mempool_submit_checked(s));
    uint32_t steps = 0;
    while (mempool_verify_step(p, 0))
        steps++;
    cr_assert_eq(steps, 2, "one check per tx of the request");
    cr_assert(mempool_submit_checked(s));
    codec_submit_result res[2];
    mempool_submit_finish(p, s, res);
    cr_assert_neq(res[0].status, 0, "a forged tx was accepted for a client");
    cr_assert_eq(res[1].status, 0, "%s", res[1].reason);
    cr_assert_not(mempool_verified(p, &fd), "a forged tx is held as verified");
    /* a request never answered leaves no check behind */
    s = mempool_submit_start(p, txs, 1);
    cr_assert_not_null(s);
    mempool_submit_abandon(p, s);
    cr_assert_not(mempool_verify_step(p, 0), "the abandoned request's check left the queue");
    mempool_close(p);
}
