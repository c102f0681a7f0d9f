/*
 * test_pbft.c - the PBFT core's refusals and certificates, driven directly
 * (no simulator): what a peer or an operator would notice if they broke.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "merkle.h"
#include "pbft.h"

typedef struct {
    uint32_t id;
} key_ctx;

static key_ctx ctxs[4] = {{0}, {1}, {2}, {3}};

static void mac(uint32_t id, const char *tag, const uint8_t *b, size_t len, signature *out)
{
    tcrypto_sha256_state st;
    tcrypto_sha256_init(&st);
    tcrypto_sha256_update(&st, &id, sizeof id);
    tcrypto_sha256_update(&st, tag, strlen(tag));
    tcrypto_sha256_update(&st, b, len);
    memset(out, 0, sizeof *out);
    tcrypto_sha256_final(&st, (hash32 *)out->bytes);
}
/* The validator sets the tests' hosts know (reconfiguration tests add some): set k
 * begins at set_from[k]; set_key[k][i] is the key (host) of its validator i. */
static uint32_t set_count = 1, set_n[4] = {4};
static uint64_t set_from[4];
static uint32_t set_key[4][16] = {{0, 1, 2, 3}};

static bool t_sign(void *ctx, uint64_t from, const char *tag, const uint8_t *b, size_t len,
                   signature *out)
{
    (void)from; /* a host signs with its own key in every set */
    mac(((key_ctx *)ctx)->id, tag, b, len, out);
    return true;
}
static bool t_verify(void *ctx, uint64_t from, pbft_replica v, const char *tag,
                     const uint8_t *b, size_t len, const signature *sig)
{
    (void)ctx;
    for (uint32_t k = 0; k < set_count; k++) {
        if (set_from[k] != from)
            continue;
        if (v >= set_n[k])
            return false;
        signature want;
        mac(set_key[k][v], tag, b, len, &want);
        return memcmp(&want, sig, sizeof want) == 0;
    }
    return false;
}

static pbft_core cores[4];

static pbft_config config(uint32_t id)
{
    pbft_config c = {.id = id, .n = 4, .batch_delay_ms = 10, .view_timeout_ms = 1000,
                     .retransmit_ms = 500, .clock_bound_ms = 100,
                     .signer = {t_sign, t_verify, NULL, &ctxs[id]}};
    return c;
}

static void start(void)
{
    for (uint32_t i = 0; i < 4; i++) {
        pbft_config c = config(i);
        cr_assert_eq(pbft_init(&cores[i], &c), PBFT_OK);
        pbft_tick(&cores[i], 1000, 1000);
    }
}

/* The NEW-VIEW a replica issued last (what the host keeps durably, ready.new_view). */
static pbft_new_view saved_nv;
static bool have_saved_nv;

/* Whether the message m from `from` to `to` is lost (NULL: nothing is). */
typedef bool (*lost_fn)(uint32_t from, uint32_t to, const pbft_msg *m);

/* Deliver every output until quiet, executing what commits (results: the header's hash),
 * losing what `lost` says; returns the batches committed at replica 1. */
static uint32_t run_net(lost_fn lost, pbft_committed *got)
{
    uint32_t n_got = 0;
    for (int round = 0; round < 50; round++) {
        bool any = false;
        for (uint32_t i = 0; i < 4; i++) {
            static pbft_ready r;
            r = *pbft_ready_get(&cores[i]);
            pbft_ready_clear(&cores[i]);
            if (r.new_view) {
                saved_nv = *r.new_view;
                have_saved_nv = true;
            }
            for (uint32_t k = 0; k < r.out_count; k++)
                for (uint32_t to = 0; to < 4; to++)
                    if (to != i && (r.out[k].to == PBFT_BROADCAST || r.out[k].to == to) &&
                        !(lost && lost(i, to, &r.out[k].msg))) {
                        pbft_step(&cores[to], &r.out[k].msg);
                        any = true;
                    }
            for (uint32_t k = 0; k < r.committed_count; k++) {
                any = true;
                hash32 h;
                tcrypto_sha256(&r.committed[k].batch.header, sizeof(codec_batch_header), &h);
                pbft_executed(&cores[i], r.committed[k].batch.header.height, &h, &h, &h);
                if (i == 1 && got)
                    got[n_got++] = r.committed[k];
            }
        }
        if (!any)
            break;
    }
    return n_got;
}

static uint32_t run(pbft_committed *got) { return run_net(NULL, got); }

Test(pbft, init_refuses_a_cluster_that_is_not_3f_plus_1)
{
    pbft_config c = config(0);
    c.n = 5;
    cr_assert_eq(pbft_init(&cores[0], &c), PBFT_ERR_MALFORMED);
    c.n = 4;
    c.id = 4;
    cr_assert_eq(pbft_init(&cores[0], &c), PBFT_ERR_MALFORMED);
}

Test(pbft, a_request_commits_with_a_verifiable_commit_certificate)
{
    start();
    const uint8_t bytes[] = "consent:participant-17";
    hash32 req;
    merkle_leaf_hash(bytes, sizeof bytes, &req);
    for (uint32_t i = 0; i < 4; i++)
        cr_assert_eq(pbft_propose(&cores[i], &req), PBFT_OK);
    for (uint32_t i = 0; i < 4; i++)
        pbft_tick(&cores[i], 1020, 1020);
    static pbft_committed got[8];
    cr_assert_eq(run(got), 1);
    cr_assert_eq(got[0].batch.header.height, 1);
    cr_assert_eq(got[0].batch.count, 1);
    cr_assert_eq(got[0].cert.sig_count, 3);
    cr_assert_eq(pbft_verify_commit_cert(&cores[2], &got[0].batch, &got[0].cert), PBFT_OK);
    codec_commit_cert bad = got[0].cert;
    bad.sigs[1].sig.bytes[5] ^= 1;
    cr_assert_eq(pbft_verify_commit_cert(&cores[2], &got[0].batch, &bad), PBFT_ERR_SIGNATURE);
    bad = got[0].cert;
    bad.sig_count = 2;
    cr_assert_eq(pbft_verify_commit_cert(&cores[2], &got[0].batch, &bad), PBFT_ERR_CERT);
    cr_assert_eq(pbft_propose(&cores[1], &req), PBFT_ERR_DUPLICATE,
                 "a committed request is refused when submitted again");
}

/* A pre-prepare from replica 0 (primary of view 0) for height 1. */
static pbft_msg preprepare(pbft_batch *b, uint64_t time_ms)
{
    memset(b, 0, sizeof *b);
    b->count = 1;
    merkle_leaf_hash((const uint8_t *)"abc", 3, &b->txs[0]);
    b->header.height = 1;
    b->header.time_ms = time_ms;
    pbft_batch_seal(b);
    pbft_msg m = {.type = PBFT_MSG_PREPREPARE, .from = 0, .view = 0, .height = 1, .batch = b};
    codec_batch_hash(&b->header, &m.digest);
    uint8_t buf[128];
    codec_buf cb = codec_buf_make(buf, sizeof buf);
    codec_pbft_vote_body_encode(0, 1, &m.digest, &cb);
    mac(0, TCRYPTO_TAG_PREPREPARE, buf, cb.len, &m.sig);
    return m;
}

Test(pbft, backup_refuses_bad_pre_prepares)
{
    start();
    pbft_batch b;
    pbft_msg m = preprepare(&b, 1000 + 500);
    cr_assert_eq(pbft_step(&cores[1], &m), PBFT_ERR_TIME, "too far ahead of my clock");
    m = preprepare(&b, 1000 - 500);
    cr_assert_eq(pbft_step(&cores[1], &m), PBFT_ERR_TIME, "too far behind my clock");
    m = preprepare(&b, 1000);
    m.sig.bytes[0] ^= 1;
    cr_assert_eq(pbft_step(&cores[1], &m), PBFT_ERR_SIGNATURE);
    m = preprepare(&b, 1000);
    m.digest.bytes[0] ^= 1;
    cr_assert_eq(pbft_step(&cores[1], &m), PBFT_ERR_DIGEST);
    m = preprepare(&b, 1000);
    m.from = 2;
    cr_assert_eq(pbft_step(&cores[1], &m), PBFT_ERR_MALFORMED, "not from the primary");
    m = preprepare(&b, 1000);
    m.height = b.header.height = PBFT_WINDOW + 1;
    cr_assert_neq(pbft_step(&cores[1], &m), PBFT_OK, "above the high watermark");
    m = preprepare(&b, 1000);
    cr_assert_eq(pbft_step(&cores[1], &m), PBFT_OK);
    pbft_batch b2;
    pbft_msg m2 = preprepare(&b2, 1001);
    cr_assert_eq(pbft_step(&cores[1], &m2), PBFT_ERR_CONFLICT, "equivocation is refused");
}

/* A PREPARE or COMMIT of `from` for height 1 in view 0, correctly signed or not. */
static pbft_msg vote(pbft_msg_type type, uint32_t from, const hash32 *digest, bool good)
{
    pbft_msg m = {.type = type, .from = from, .view = 0, .height = 1, .digest = *digest};
    uint8_t buf[128];
    codec_buf cb = codec_buf_make(buf, sizeof buf);
    if (type == PBFT_MSG_COMMIT)
        codec_commit_body_encode(1, 0, digest, &cb); /* what a commit certificate holds */
    else
        codec_pbft_vote_body_encode(0, 1, digest, &cb);
    mac(from, type == PBFT_MSG_COMMIT ? TCRYPTO_TAG_COMMIT : TCRYPTO_TAG_PREPARE, buf, cb.len,
        &m.sig);
    m.sig.bytes[0] ^= good ? 0 : 1;
    return m;
}

Test(pbft, votes_are_checked_while_they_count_and_not_past_the_quorum)
{
    start();
    pbft_batch b;
    pbft_msg pp = preprepare(&b, 1000);
    cr_assert_eq(pbft_step(&cores[1], &pp), PBFT_OK);
    pbft_msg m = vote(PBFT_MSG_PREPARE, 2, &pp.digest, false);
    cr_assert_eq(pbft_step(&cores[1], &m), PBFT_ERR_SIGNATURE, "a forged prepare is refused");
    m = vote(PBFT_MSG_PREPARE, 2, &pp.digest, true);
    cr_assert_eq(pbft_step(&cores[1], &m), PBFT_OK, "prepared: its own prepare and this one");
    m = vote(PBFT_MSG_COMMIT, 3, &pp.digest, false);
    cr_assert_eq(pbft_step(&cores[1], &m), PBFT_ERR_SIGNATURE, "a forged commit is refused");
    m = vote(PBFT_MSG_PREPARE, 3, &pp.digest, false);
    cr_assert_eq(pbft_step(&cores[1], &m), PBFT_ERR_STALE,
                 "past the prepare quorum a prepare is not even checked");
    m = vote(PBFT_MSG_COMMIT, 0, &pp.digest, true);
    cr_assert_eq(pbft_step(&cores[1], &m), PBFT_OK);
    m = vote(PBFT_MSG_COMMIT, 2, &pp.digest, true);
    cr_assert_eq(pbft_step(&cores[1], &m), PBFT_OK, "committed: its own commit, 0's and 2's");
    const pbft_ready *r = pbft_ready_get(&cores[1]);
    cr_assert_eq(r->committed_count, 1);
    cr_assert_eq(r->committed[0].cert.sig_count, 3);
    cr_assert_eq(pbft_verify_commit_cert(&cores[0], &r->committed[0].batch, &r->committed[0].cert),
                 PBFT_OK, "the certificate holds the checked quorum");
    m = vote(PBFT_MSG_COMMIT, 3, &pp.digest, false);
    cr_assert_eq(pbft_step(&cores[1], &m), PBFT_ERR_STALE,
                 "past the commit quorum a commit is not even checked");
}

/* A backup still checking a batch's txs when the others' votes arrive (the node holds
 * the PRE-PREPARE until its checks end) commits as soon as it accepts the PRE-PREPARE. */
Test(pbft, votes_that_arrive_before_the_pre_prepare_count_once_it_is_accepted)
{
    start();
    pbft_batch b;
    pbft_msg pp = preprepare(&b, 1000);
    pbft_msg early[] = {vote(PBFT_MSG_PREPARE, 2, &pp.digest, true),
                        vote(PBFT_MSG_PREPARE, 3, &pp.digest, true),
                        vote(PBFT_MSG_COMMIT, 0, &pp.digest, true),
                        vote(PBFT_MSG_COMMIT, 2, &pp.digest, true),
                        vote(PBFT_MSG_COMMIT, 3, &pp.digest, true)};
    for (uint32_t i = 0; i < 5; i++)
        cr_assert_eq(pbft_step(&cores[1], &early[i]), PBFT_OK, "vote %u", i);
    cr_assert_eq(pbft_ready_get(&cores[1])->committed_count, 0, "nothing without the batch");
    cr_assert_eq(pbft_step(&cores[1], &pp), PBFT_OK);
    const pbft_ready *r = pbft_ready_get(&cores[1]);
    cr_assert_eq(r->committed_count, 1, "prepared and committed by the votes it already held");
    cr_assert_eq(pbft_verify_commit_cert(&cores[0], &r->committed[0].batch, &r->committed[0].cert),
                 PBFT_OK);
}

Test(pbft, restarted_replica_never_signs_a_second_digest)
{
    start();
    pbft_batch b;
    pbft_msg m = preprepare(&b, 1000);
    cr_assert_eq(pbft_step(&cores[1], &m), PBFT_OK);
    cr_assert(pbft_ready_get(&cores[1])->persist);
    pbft_durable saved = cores[1].durable;
    pbft_config c = config(1);
    cr_assert_eq(pbft_init(&cores[1], &c), PBFT_OK);
    cr_assert_eq(pbft_restore(&cores[1], &saved, 0, 0), PBFT_OK);
    pbft_tick(&cores[1], 1000, 1000);
    pbft_batch b2;
    pbft_msg m2 = preprepare(&b2, 1001);
    cr_assert_eq(pbft_step(&cores[1], &m2), PBFT_ERR_CONFLICT);
    pbft_msg again = preprepare(&b, 1000);
    cr_assert_eq(pbft_step(&cores[1], &again), PBFT_OK, "the same digest may be prepared again");
}

/* A result certificate for `height` signed by replicas 0..2 over these results. */
static codec_result_cert result_cert(uint64_t height, const hash32 *block, const hash32 *state,
                                     const hash32 *receipts)
{
    codec_result_cert rc;
    memset(&rc, 0, sizeof rc);
    rc.height = height;
    rc.block_hash = *block;
    rc.state_hash = *state;
    rc.receipts_root = *receipts;
    uint8_t buf[256];
    codec_buf cb = codec_buf_make(buf, sizeof buf);
    cr_assert_eq(codec_checkpoint_body_encode(&rc, &cb), CODEC_OK);
    for (uint32_t i = 0; i < 3; i++) {
        rc.sigs[i].validator = i;
        mac(i, TCRYPTO_TAG_CHECKPOINT, buf, cb.len, &rc.sigs[i].sig);
    }
    rc.sig_count = 3;
    return rc;
}

/* The CHECKPOINT of `from` for height 1 with these results. */
static pbft_msg checkpoint(uint32_t from, const hash32 *results)
{
    codec_result_cert rc;
    memset(&rc, 0, sizeof rc);
    rc.height = 1;
    rc.block_hash = rc.state_hash = rc.receipts_root = *results;
    uint8_t buf[256];
    codec_buf cb = codec_buf_make(buf, sizeof buf);
    cr_assert_eq(codec_checkpoint_body_encode(&rc, &cb), CODEC_OK);
    pbft_msg m = {.type = PBFT_MSG_CHECKPOINT, .from = from, .height = 1, .block_hash = *results,
                  .state_hash = *results, .receipts_root = *results};
    mac(from, TCRYPTO_TAG_CHECKPOINT, buf, cb.len, &m.sig);
    return m;
}

/* Checkpoints are taken at every height: the others may certify a height before a backup
 * whose checks were slower has delivered it. It still finishes that height in the normal
 * case, and the height becomes its stable checkpoint once it has executed it. */
Test(pbft, a_height_certified_before_it_is_delivered_is_finished_in_the_normal_case)
{
    start();
    pbft_batch b;
    pbft_msg pp = preprepare(&b, 1000);
    hash32 results;
    memset(&results, 7, sizeof results);
    for (uint32_t from = 0; from < 4; from++) {
        if (from == 1)
            continue;
        pbft_msg m = checkpoint(from, &results);
        cr_assert_eq(pbft_step(&cores[1], &m), PBFT_OK);
    }
    cr_assert_eq(pbft_ready_get(&cores[1])->stable_count, 1, "height 1 is certified");
    cr_assert_eq(cores[1].durable.stable.height, 0, "but not my stable checkpoint yet");
    pbft_ready_clear(&cores[1]);
    pbft_msg votes[] = {vote(PBFT_MSG_PREPARE, 2, &pp.digest, true),
                        vote(PBFT_MSG_COMMIT, 0, &pp.digest, true),
                        vote(PBFT_MSG_COMMIT, 2, &pp.digest, true)};
    for (uint32_t i = 0; i < 3; i++)
        cr_assert_eq(pbft_step(&cores[1], &votes[i]), PBFT_OK, "vote %u", i);
    cr_assert_eq(pbft_step(&cores[1], &pp), PBFT_OK, "height 1 is still in my window");
    cr_assert_eq(pbft_ready_get(&cores[1])->committed_count, 1);
    pbft_ready_clear(&cores[1]);
    cr_assert_eq(pbft_executed(&cores[1], 1, &results, &results, &results), PBFT_OK);
    cr_assert_eq(cores[1].durable.stable.height, 1, "executed: now my stable checkpoint");
    cr_assert_eq(cores[1].durable.stable.sig_count, 3);
}

Test(pbft, catch_up_checks_the_result_certificate_and_the_re_executed_state)
{
    start();
    const uint8_t bytes[] = "consent:participant-23";
    hash32 req;
    merkle_leaf_hash(bytes, sizeof bytes, &req);
    for (uint32_t i = 0; i < 4; i++)
        cr_assert_eq(pbft_propose(&cores[i], &req), PBFT_OK);
    for (uint32_t i = 0; i < 4; i++)
        pbft_tick(&cores[i], 1020, 1020);
    static pbft_committed got[8];
    cr_assert_eq(run(got), 1);
    hash32 good, other;
    tcrypto_sha256(&got[0].batch.header, sizeof(codec_batch_header), &good); /* as run() */
    memset(&other, 0x5a, sizeof other);
    codec_result_cert rc = result_cert(1, &good, &good, &good);

    /* A lagging replica 3, fresh. */
    pbft_config c = config(3);
    codec_result_cert bad = rc;
    bad.sigs[2].sig.bytes[0] ^= 1;
    cr_assert_eq(pbft_init(&cores[3], &c), PBFT_OK);
    cr_assert_eq(pbft_deliver_block(&cores[3], &got[0].batch, &got[0].cert, &bad), PBFT_ERR_CERT,
                 "a forged result signature is refused");
    bad = rc;
    bad.sig_count = 2;
    cr_assert_eq(pbft_deliver_block(&cores[3], &got[0].batch, &got[0].cert, &bad), PBFT_ERR_CERT,
                 "f+1 result signatures are not a certificate");
    bad = rc;
    bad.state_hash = other;
    cr_assert_eq(pbft_deliver_block(&cores[3], &got[0].batch, &got[0].cert, &bad), PBFT_ERR_CERT,
                 "a state hash the signers did not sign is refused");
    bad = rc;
    bad.height = 2;
    cr_assert_neq(pbft_deliver_block(&cores[3], &got[0].batch, &got[0].cert, &bad), PBFT_OK,
                  "a result certificate for another height is refused");

    /* Valid certificates, but my re-execution disagrees: flagged, nothing signed. */
    cr_assert_eq(pbft_deliver_block(&cores[3], &got[0].batch, &got[0].cert, &rc), PBFT_OK);
    cr_assert_eq(pbft_ready_get(&cores[3])->committed_count, 1);
    pbft_ready_clear(&cores[3]);
    cr_assert_eq(pbft_executed(&cores[3], 1, &good, &other, &good), PBFT_ERR_STATE);
    cr_assert_eq(pbft_ready_get(&cores[3])->diverged, 1);
    cr_assert_eq(pbft_ready_get(&cores[3])->out_count, 0, "no checkpoint over a wrong state");
    cr_assert_eq(pbft_executed(&cores[3], 1, &good, &good, &good), PBFT_ERR_STATE,
                 "a diverged replica stays silent");
    cr_assert(pbft_ready_get(&cores[3])->persist, "the diverged flag is marked for persisting");
    static pbft_durable saved;
    saved = cores[3].durable;
    cr_assert_eq(pbft_init(&cores[3], &c), PBFT_OK);
    cr_assert_eq(pbft_restore(&cores[3], &saved, 1, got[0].block_time_ms), PBFT_OK);
    pbft_ready_clear(&cores[3]);
    cr_assert_eq(pbft_executed(&cores[3], 2, &good, &good, &good), PBFT_ERR_STATE,
                 "a diverged replica stays silent after a restart too");
    cr_assert_eq(pbft_ready_get(&cores[3])->out_count, 0);

    /* Same block, matching re-execution: checkpoint signed. */
    cr_assert_eq(pbft_init(&cores[3], &c), PBFT_OK);
    cr_assert_eq(pbft_deliver_block(&cores[3], &got[0].batch, &got[0].cert, &rc), PBFT_OK);
    pbft_ready_clear(&cores[3]);
    cr_assert_eq(pbft_executed(&cores[3], 1, &good, &good, &good), PBFT_OK);
    cr_assert_eq(pbft_ready_get(&cores[3])->diverged, 0);
    cr_assert_gt(pbft_ready_get(&cores[3])->out_count, 0, "checkpoint sent");

    /* A block without a result certificate (the peer has none yet) still
     * delivers on its commit certificate. */
    cr_assert_eq(pbft_init(&cores[3], &c), PBFT_OK);
    cr_assert_eq(pbft_deliver_block(&cores[3], &got[0].batch, &got[0].cert, NULL), PBFT_OK);
}

Test(pbft, future_view_votes_are_held_per_sender_and_bounded)
{
    start();
    hash32 d;
    memset(&d, 7, sizeof d);
    pbft_msg m = {.type = PBFT_MSG_COMMIT, .from = 2, .view = 1, .height = 1, .digest = d};
    uint8_t buf[128];
    codec_buf cb = codec_buf_make(buf, sizeof buf);
    codec_commit_body_encode(1, 1, &d, &cb);
    mac(2, TCRYPTO_TAG_COMMIT, buf, cb.len, &m.sig);
    pbft_msg forged = m;
    forged.sig.bytes[0] ^= 1;
    cr_assert_eq(pbft_step(&cores[1], &forged), PBFT_ERR_SIGNATURE,
                 "a future-view message is signature-checked before it is held");
    cr_assert_eq(pbft_step(&cores[1], &m), PBFT_OK, "held for view 1");
    uint32_t held = 0;
    for (uint32_t k = 0; k < PBFT_FUTURE_PER_SENDER; k++)
        held += cores[1].future[2][k].used;
    cr_assert_eq(held, 1);
    for (uint32_t i = 0; i < 3 * PBFT_FUTURE_PER_SENDER; i++)
        cr_assert_eq(pbft_step(&cores[1], &m), PBFT_OK);
    held = 0;
    for (uint32_t k = 0; k < PBFT_FUTURE_PER_SENDER; k++)
        held += cores[1].future[2][k].used;
    cr_assert_eq(held, PBFT_FUTURE_PER_SENDER, "bounded per sender");
    for (uint32_t k = 0; k < PBFT_FUTURE_PER_SENDER; k++)
        cr_assert_not(cores[1].future[3][k].used, "other senders' room is untouched");
}

Test(pbft, thousands_of_requests_commit_once_each_in_full_batches)
{
    start();
    enum { N = 3000 };
    static hash32 req[N];
    for (uint32_t k = 0; k < N; k++) {
        merkle_leaf_hash((const uint8_t *)&k, sizeof k, &req[k]);
        for (uint32_t i = 0; i < 4; i++)
            cr_assert_eq(pbft_propose(&cores[i], &req[k]), PBFT_OK);
    }
    cr_assert_eq(pbft_propose(&cores[0], &req[7]), PBFT_ERR_DUPLICATE, "pending duplicate");
    static pbft_committed got[64];
    uint32_t batches = 0, total = 0;
    for (uint64_t t = 1020; t < 1200 && total < N; t += 20) {
        for (uint32_t i = 0; i < 4; i++)
            pbft_tick(&cores[i], t, t);
        uint32_t k = run(got);
        for (uint32_t j = 0; j < k; j++) {
            cr_assert_leq(got[j].batch.count, PBFT_BATCH_MAX);
            total += got[j].batch.count;
        }
        batches += k;
    }
    cr_assert_eq(total, N, "every request committed exactly once (%u)", total);
    /* the first request went out alone (nothing was in flight: adaptive batching);
     * the rest in full batches */
    cr_assert_eq(batches, 1 + (N - 1 + PBFT_BATCH_MAX - 1) / PBFT_BATCH_MAX, "full batches (%u)",
                 batches);
    for (uint32_t k = 0; k < N; k += 499)
        cr_assert_eq(pbft_propose(&cores[2], &req[k]), PBFT_ERR_DUPLICATE,
                     "a committed request is refused when submitted again");
    cr_assert_eq(cores[2].pending_count, 0);
}

Test(pbft, requests_offered_together_go_out_in_one_batch)
{
    start();
    enum { N = 40 };
    static hash32 req[N + 1];
    for (uint32_t k = 0; k <= N; k++)
        merkle_leaf_hash((const uint8_t *)&k, sizeof k, &req[k]);
    static pbft_err errs[N + 1];
    for (uint32_t i = 0; i < 4; i++)
        cr_assert_eq(pbft_propose_many(&cores[i], req, N, errs), N);
    cr_assert_eq(errs[N - 1], PBFT_OK);
    static pbft_committed got[8];
    cr_assert_eq(run(got), 1, "nothing was in flight: one batch, not the first alone");
    cr_assert_eq(got[0].batch.count, N);
    req[N - 1] = req[0]; /* a committed one again, and a new one */
    cr_assert_eq(pbft_propose_many(&cores[0], req + N - 1, 2, errs), 1);
    cr_assert_eq(errs[0], PBFT_ERR_DUPLICATE);
    cr_assert_eq(errs[1], PBFT_OK);
}

/* ==== byzantine new primary (issue 13, bug 1) ================================ */

/* Sign [view, height, digest] as `who` with `tag` (any replica: the test forges freely). */
static signature vote_sig(uint32_t who, const char *tag, pbft_view v, pbft_height h,
                          const hash32 *d)
{
    uint8_t buf[128];
    codec_buf cb = codec_buf_make(buf, sizeof buf);
    codec_pbft_vote_body_encode(v, h, d, &cb);
    signature s;
    mac(who, tag, buf, cb.len, &s);
    return s;
}

/* A one-request batch at height h with time t, request bytes `tx`. */
static void one_tx_batch(pbft_batch *b, pbft_height h, uint64_t t, const char *tx, hash32 *d)
{
    memset(b, 0, sizeof *b);
    b->count = 1;
    merkle_leaf_hash((const uint8_t *)tx, strlen(tx), &b->txs[0]);
    b->header.height = h;
    b->header.time_ms = t;
    pbft_batch_seal(b);
    codec_batch_hash(&b->header, d);
}

static pbft_msg send_vc(const pbft_view_change *vc)
{
    pbft_msg m = {.type = PBFT_MSG_VIEW_CHANGE, .from = vc->sender, .view_change = vc};
    return m;
}

/* Height 2 committed digest d at replica 0 in view 0; replica 2 (low mark 0) asks
 * for view 1. The faulty primary of view 1 first sends 2 a fresh PRE-PREPARE
 * (view 1, height 2, d'') and then a valid NEW-VIEW whose min-s is 1 (the result
 * certificate of height 1, which 2 did not have) re-issuing d at height 2. Entering
 * the view must install d: adopting the stable checkpoint must not replay the held
 * d'' first, and a fresh PRE-PREPARE for a height the NEW-VIEW covers is refused. */
Test(pbft, a_new_primary_cannot_replace_a_reissued_batch_with_a_fresh_one)
{
    start();
    static pbft_batch b_d, b_evil, b_late;
    hash32 d, evil, late;
    one_tx_batch(&b_d, 2, 990, "consent:committed-at-0", &d);
    one_tx_batch(&b_evil, 2, 1001, "consent:forged-by-1", &evil);
    one_tx_batch(&b_late, 2, 1002, "consent:later-by-1", &late);
    hash32 results;
    memset(&results, 9, sizeof results);
    codec_result_cert h1 = result_cert(1, &results, &results, &results);

    /* Replica 0's VIEW-CHANGE: stable at 1, prepared d at height 2 in view 0. */
    static pbft_view_change vc0, vc3;
    memset(&vc0, 0, sizeof vc0);
    vc0.new_view = 1;
    vc0.sender = 0;
    vc0.stable = h1;
    vc0.prepared_count = 1;
    pbft_prepared_cert *pc = &vc0.prepared[0];
    pc->view = 0;
    pc->batch = b_d;
    pc->preprepare_sig = vote_sig(0, TCRYPTO_TAG_PREPREPARE, 0, 2, &d);
    pc->prepare_count = 2;
    pc->prepares[0] = (codec_vsig){.validator = 1, .sig = vote_sig(1, TCRYPTO_TAG_PREPARE, 0, 2, &d)};
    pc->prepares[1] = (codec_vsig){.validator = 3, .sig = vote_sig(3, TCRYPTO_TAG_PREPARE, 0, 2, &d)};
    pbft_view_change_sign(&cores[0], &vc0);
    memset(&vc3, 0, sizeof vc3);
    vc3.new_view = 1;
    vc3.sender = 3;
    pbft_view_change_sign(&cores[3], &vc3);

    /* f+1 ask for view 1: replica 2 joins. */
    pbft_msg m = send_vc(&vc0);
    cr_assert_eq(pbft_step(&cores[2], &m), PBFT_OK);
    m = send_vc(&vc3);
    cr_assert_eq(pbft_step(&cores[2], &m), PBFT_OK);
    cr_assert(cores[2].durable.view == 1 && cores[2].durable.view_changing, "2 joined view 1");

    /* The faulty primary's fresh PRE-PREPARE arrives first: held for view 1. */
    pbft_msg pp = {.type = PBFT_MSG_PREPREPARE, .from = 1, .view = 1, .height = 2,
                   .digest = evil, .batch = &b_evil,
                   .sig = vote_sig(1, TCRYPTO_TAG_PREPREPARE, 1, 2, &evil)};
    cr_assert_eq(pbft_step(&cores[2], &pp), PBFT_OK, "held");

    /* Then a valid NEW-VIEW re-issuing d at height 2. */
    static pbft_new_view nv;
    memset(&nv, 0, sizeof nv);
    nv.view = 1;
    nv.vc_count = 3;
    nv.vcs[0] = vc0;
    nv.vcs[1] = cores[2].my_vc;
    nv.vcs[2] = vc3;
    nv.reissued_from = 1;
    nv.reissued_count = 1;
    nv.reissued[0] = d;
    nv.reissued_sig[0] = vote_sig(1, TCRYPTO_TAG_PREPREPARE, 1, 2, &d);
    pbft_new_view_sign(&cores[1], &nv);
    pbft_ready_clear(&cores[2]);
    m = (pbft_msg){.type = PBFT_MSG_NEW_VIEW, .from = 1, .view = 1, .new_view = &nv};
    cr_assert_eq(pbft_step(&cores[2], &m), PBFT_OK);
    cr_assert_eq(cores[2].durable.view, 1);
    cr_assert_not(cores[2].durable.view_changing);

    const pbft_ready *r = pbft_ready_get(&cores[2]);
    uint32_t prepares = 0;
    for (uint32_t k = 0; k < r->out_count; k++) {
        const pbft_msg *o = &r->out[k].msg;
        if (o->type != PBFT_MSG_PREPARE || o->height != 2)
            continue;
        cr_assert_eq(o->view, 1);
        cr_assert(memcmp(&o->digest, &d, 32) == 0,
                  "replica 2 prepared the fresh batch instead of the re-issued one");
        prepares++;
    }
    cr_assert_eq(prepares, 1, "replica 2 prepares the re-issued batch of height 2");

    pbft_msg fresh = {.type = PBFT_MSG_PREPREPARE, .from = 1, .view = 1, .height = 2,
                      .digest = late, .batch = &b_late,
                      .sig = vote_sig(1, TCRYPTO_TAG_PREPREPARE, 1, 2, &late)};
    cr_assert_eq(pbft_step(&cores[2], &fresh), PBFT_ERR_CONFLICT,
                 "a fresh PRE-PREPARE for a height the NEW-VIEW covers is refused");
}

/* Issue 13, bug 3: a height certified (2f+1 CHECKPOINTs) before this replica delivered
 * it is still compared with its own execution: a contradicting result is flagged, not
 * adopted as its stable checkpoint. */
Test(pbft, a_height_certified_before_delivery_still_exposes_a_divergent_execution)
{
    start();
    pbft_batch b;
    pbft_msg pp = preprepare(&b, 1000);
    hash32 certified, mine;
    memset(&certified, 7, sizeof certified);
    memset(&mine, 8, sizeof mine);
    for (uint32_t from = 0; from < 4; from++) {
        if (from == 1)
            continue;
        pbft_msg m = checkpoint(from, &certified);
        cr_assert_eq(pbft_step(&cores[1], &m), PBFT_OK);
    }
    pbft_msg votes[] = {vote(PBFT_MSG_PREPARE, 2, &pp.digest, true),
                        vote(PBFT_MSG_COMMIT, 0, &pp.digest, true),
                        vote(PBFT_MSG_COMMIT, 2, &pp.digest, true)};
    for (uint32_t i = 0; i < 3; i++)
        cr_assert_eq(pbft_step(&cores[1], &votes[i]), PBFT_OK, "vote %u", i);
    cr_assert_eq(pbft_step(&cores[1], &pp), PBFT_OK);
    cr_assert_eq(pbft_ready_get(&cores[1])->committed_count, 1);
    pbft_ready_clear(&cores[1]);
    cr_assert_eq(pbft_executed(&cores[1], 1, &mine, &mine, &mine), PBFT_ERR_STATE,
                 "my execution contradicts the certificate of height 1");
    cr_assert_eq(pbft_ready_get(&cores[1])->diverged, 1);
    cr_assert_eq(cores[1].durable.stable.height, 0, "the contradicting certificate is not adopted");
    for (uint32_t k = 0; k < pbft_ready_get(&cores[1])->out_count; k++)
        cr_assert_neq(pbft_ready_get(&cores[1])->out[k].msg.type, PBFT_MSG_CHECKPOINT,
                      "no checkpoint over a state known to be wrong");
}

/* ==== the view-change timer (issue 13, bug 5) ==================================== */

static uint64_t now_all;
/* Replica 0 is silent; the PRE-PREPAREs of view 1's primary are lost. */
static bool lost_lossy(uint32_t from, uint32_t to, const pbft_msg *m)
{
    (void)to;
    return from == 0 || (m->type == PBFT_MSG_PREPREPARE && m->view == 1);
}

/* A request waits at every replica; the primary of view 0 is silent and the
 * pre-prepares of view 1's primary are lost. The timeout doubles for each view that
 * fails to execute the request, entering a view included (Castro-Liskov), and
 * returns to its base once the request executes. */
Test(pbft, the_view_change_timeout_doubles_until_the_request_it_waits_for_executes)
{
    start();
    const uint8_t bytes[] = "consent:waits-for-a-view";
    hash32 req;
    merkle_leaf_hash(bytes, sizeof bytes, &req);
    for (uint32_t i = 0; i < 4; i++)
        cr_assert_eq(pbft_propose(&cores[i], &req), PBFT_OK);
    uint64_t asked[3] = {0, 0, 0}, entered1 = 0, executed = 0;
    for (now_all = 1000; now_all <= 12000 && !executed; now_all += 10) {
        for (uint32_t i = 0; i < 4; i++)
            pbft_tick(&cores[i], now_all, now_all);
        run_net(lost_lossy, NULL);
        const pbft_core *c = &cores[2];
        if (c->durable.view <= 2 && !asked[c->durable.view])
            asked[c->durable.view] = now_all; /* it asked for this view (and may be in it) */
        if (c->durable.view == 1 && !c->durable.view_changing && !entered1)
            entered1 = now_all;
        if (c->last_delivered >= 1)
            executed = now_all;
    }
    cr_assert(asked[1] && entered1 && asked[2] && executed,
              "views 1 and 2, then execution (%llu %llu %llu %llu, view %llu)",
              (unsigned long long)asked[1], (unsigned long long)entered1,
              (unsigned long long)asked[2], (unsigned long long)executed,
              (unsigned long long)cores[2].durable.view);
    cr_assert_geq(asked[1], 2000, "view 1 after the base timeout (%llu)",
                  (unsigned long long)asked[1]);
    cr_assert_geq(asked[2], asked[1] + 2000,
                  "view 2 only after twice the timeout, though view 1 was entered at %llu "
                  "(asked at %llu)", (unsigned long long)entered1, (unsigned long long)asked[2]);
    cr_assert_eq(cores[2].durable.view, 2, "executed in view 2");
    cr_assert_eq(cores[2].backoff, 0, "the request executed: the timeout is back at its base");
}

/* ==== clocks (issue 13, item 4) ================================================= */

static uint32_t commit_one(const char *tx, uint64_t mono, uint64_t wall, pbft_committed *got)
{
    hash32 req;
    merkle_leaf_hash((const uint8_t *)tx, strlen(tx), &req);
    for (uint32_t i = 0; i < 4; i++) {
        pbft_tick(&cores[i], mono, wall);
        cr_assert_eq(pbft_propose(&cores[i], &req), PBFT_OK);
    }
    return run(got);
}

/* Every host's clock stepped forward an hour, a block was committed with that time,
 * then the clocks stepped back (an NTP correction on every host). The next proposal
 * must be after the block that ran ahead: the chain goes on at once, with strictly
 * increasing block times, instead of freezing until real time catches up; and timers
 * run on the monotonic clock, so the step starts no view change. */
Test(pbft, a_chain_whose_clocks_stepped_back_goes_on_at_once)
{
    start();
    static pbft_committed got[8];
    const uint64_t hour = 3600u * 1000u;
    cr_assert_eq(commit_one("consent:before", 1010, 1010, got), 1);
    cr_assert_eq(commit_one("consent:clock-ahead", 1020, 1020 + hour, got), 1);
    uint64_t ahead = got[0].block_time_ms;
    cr_assert_geq(ahead, 1020 + hour);
    cr_assert_eq(commit_one("consent:clock-back", 1030, 1030, got), 1,
                 "the next request commits though every clock is an hour behind the chain");
    cr_assert_gt(got[0].block_time_ms, ahead, "block times still increase");
    cr_assert_leq(got[0].block_time_ms, ahead + PBFT_WINDOW);
    cr_assert_eq(cores[1].durable.view, 0, "no view change");
}

/* A primary whose own clock is an hour ahead proposes a time the others refuse: the
 * chain cannot be moved into the future by one faulty clock, and a backup with a
 * correct clock refuses a backdated time just as well. */
Test(pbft, one_primary_clock_an_hour_off_is_refused_either_way)
{
    start();
    const uint64_t hour = 3600u * 1000u;
    pbft_batch b;
    pbft_msg m = preprepare(&b, 1000 + hour);
    cr_assert_eq(pbft_step(&cores[1], &m), PBFT_ERR_TIME, "an hour ahead of my clock");
    for (uint32_t i = 0; i < 4; i++)
        pbft_tick(&cores[i], 1000, 1000 + hour);
    m = preprepare(&b, 1000);
    cr_assert_eq(pbft_step(&cores[1], &m), PBFT_ERR_TIME, "an hour behind my clock: backdated");
}

/* ==== a restarted new primary (issue 13, bug 6) ================================== */

/* Replica 0 is silent; no NEW-VIEW reaches replica 3. */
static bool lost_new_view_to_3(uint32_t from, uint32_t to, const pbft_msg *m)
{
    return from == 0 || (to == 3 && m->type == PBFT_MSG_NEW_VIEW);
}

static uint32_t new_views_sent(const pbft_core *c)
{
    uint32_t k = 0;
    const pbft_ready *r = pbft_ready_get(c);
    for (uint32_t i = 0; i < r->out_count; i++)
        k += r->out[i].msg.type == PBFT_MSG_NEW_VIEW;
    return k;
}

Test(pbft, a_restarted_new_primary_sends_its_new_view_again)
{
    start();
    const uint8_t bytes[] = "consent:needs-view-1";
    hash32 req;
    merkle_leaf_hash(bytes, sizeof bytes, &req);
    for (uint32_t i = 0; i < 4; i++)
        cr_assert_eq(pbft_propose(&cores[i], &req), PBFT_OK);
    uint64_t t = 1000;
    for (; t < 3000 && cores[1].durable.view == 0; t += 10) {
        for (uint32_t i = 0; i < 4; i++)
            pbft_tick(&cores[i], t, t);
        run_net(lost_new_view_to_3, NULL);
    }
    cr_assert(have_saved_nv, "replica 1 issued the NEW-VIEW of view 1");
    cr_assert(cores[1].durable.view == 1 && !cores[1].durable.view_changing);
    cr_assert(cores[3].durable.view == 1 && cores[3].durable.view_changing,
              "replica 3 missed the NEW-VIEW");

    /* Replica 1 restarts from what it persisted. Without its NEW-VIEW (the old
     * behaviour) it never sends one again: replica 3 stays out of the view. */
    static pbft_durable saved;
    saved = cores[1].durable;
    pbft_config c = config(1);
    cr_assert_eq(pbft_init(&cores[1], &c), PBFT_OK);
    cr_assert_eq(pbft_restore(&cores[1], &saved, cores[1].last_executed, 0), PBFT_OK);
    pbft_tick(&cores[1], t + 1000, t + 1000);
    cr_assert_eq(new_views_sent(&cores[1]), 0);

    cr_assert_eq(pbft_init(&cores[1], &c), PBFT_OK);
    cr_assert_eq(pbft_restore(&cores[1], &saved, 0, 0), PBFT_OK);
    pbft_new_view forged = saved_nv;
    forged.reissued_count++;
    cr_assert_neq(pbft_restore_new_view(&cores[1], &forged), PBFT_OK,
                  "a NEW-VIEW read back from disk is checked like a peer's");
    cr_assert_eq(pbft_restore_new_view(&cores[1], &saved_nv), PBFT_OK);
    pbft_tick(&cores[1], t + 2000, t + 2000);
    cr_assert_eq(new_views_sent(&cores[1]), 1, "re-sent on the next retransmission");
    const pbft_ready *r = pbft_ready_get(&cores[1]);
    for (uint32_t k = 0; k < r->out_count; k++)
        if (r->out[k].msg.type == PBFT_MSG_NEW_VIEW)
            cr_assert_eq(pbft_step(&cores[3], &r->out[k].msg), PBFT_OK);
    cr_assert(cores[3].durable.view == 1 && !cores[3].durable.view_changing,
              "replica 3 entered view 1");
}

/* ---- issue 16: batches bounded by the genesis's rules (count and bytes) ---------------- */

static uint64_t kilobyte_each(void *ctx, const hash32 *request)
{
    (void)ctx;
    (void)request;
    return 1000;
}

static void start_bounded(uint32_t batch_max, uint64_t bytes_max, bool primary_bounded)
{
    for (uint32_t i = 0; i < 4; i++) {
        pbft_config c = config(i);
        if (i != 0 || primary_bounded) {
            c.batch_max = batch_max;
            c.batch_bytes_max = bytes_max;
        }
        c.request_bytes = kilobyte_each;
        cr_assert_eq(pbft_init(&cores[i], &c), PBFT_OK);
        pbft_tick(&cores[i], 1000, 1000);
    }
}

Test(pbft, the_primary_stops_a_batch_at_the_byte_bound)
{
    enum { N = 10 };
    start_bounded(8, 3500, true); /* 3 requests of 1000 bytes fit, a fourth does not */
    static hash32 req[N];
    static pbft_err errs[N];
    for (uint32_t k = 0; k < N; k++) tcrypto_sha256(&k, sizeof k, &req[k]);
    for (uint32_t i = 0; i < 4; i++) pbft_propose_many(&cores[i], req, N, errs);
    static pbft_committed got[N];
    uint32_t total = 0, batches = 0;
    for (int t = 0; t < 20 && total < N; t++) {
        uint32_t k = run(got);
        for (uint32_t b = 0; b < k; b++) {
            cr_expect_leq(got[b].batch.count, 3, "batch of %u requests (3000 bytes max)",
                          got[b].batch.count);
            total += got[b].batch.count;
            batches++;
        }
        for (uint32_t i = 0; i < 4; i++) pbft_tick(&cores[i], 1100 + 20 * (uint64_t)t, 1100 + 20 * (uint64_t)t);
    }
    cr_expect_eq(total, N, "every request commits");
    cr_expect_geq(batches, 4);
}

/* A primary that ignores the bounds: its PRE-PREPARE is refused by every bounded backup. */
static void expect_backups_refuse(uint32_t batch_max, uint64_t bytes_max)
{
    enum { N = 5 };
    start_bounded(batch_max, bytes_max, false);
    static hash32 req[N];
    static pbft_err errs[N];
    for (uint32_t k = 0; k < N; k++) tcrypto_sha256(&k, sizeof k, &req[k]);
    for (uint32_t i = 0; i < 4; i++) pbft_propose_many(&cores[i], req, N, errs);
    static pbft_ready r;
    r = *pbft_ready_get(&cores[0]);
    pbft_ready_clear(&cores[0]);
    bool seen = false;
    for (uint32_t k = 0; k < r.out_count; k++) {
        if (r.out[k].msg.type != PBFT_MSG_PREPREPARE) continue;
        seen = true;
        cr_expect_eq(r.out[k].msg.batch->count, N);
        for (uint32_t to = 1; to < 4; to++)
            cr_expect_eq(pbft_step(&cores[to], &r.out[k].msg), PBFT_ERR_REQUEST,
                         "backup %u accepted a batch above the rules", to);
    }
    cr_expect(seen, "the unbounded primary proposed");
}

Test(pbft, backups_refuse_a_batch_above_the_byte_bound) { expect_backups_refuse(8, 4500); }
Test(pbft, backups_refuse_a_batch_above_the_count_bound) { expect_backups_refuse(4, 0); }

/* ==== validator-set changes (issue 23 item 4; docs/PBFT.md §14) ================== */

/* Up to 8 hosts, each with its own key (host h's key is mac id h). The genesis set is
 * hosts 0..n0-1; set 1 (n1 validators, keys m1) is committed at `change_at`, so it is in
 * force from (change_at / 16 + 2) * 16. Hosts that are not validators follow. */
enum { HOSTS = 8, LOG_MAX = 64 };
static pbft_core hcore[HOSTS];
static key_ctx hctx[HOSTS] = {{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}};
static uint32_t nhosts;
static bool host_down[HOSTS];
static uint64_t change_at, hnow;
static uint32_t vc_sent[HOSTS];          /* VIEW-CHANGEs each host sent */
static pbft_committed hlog[LOG_MAX];     /* what host 0 (or the observer) committed */
static codec_result_cert rlog[LOG_MAX];  /* the result certificates it was handed */
static uint32_t observer;

static pbft_replica idx_in(uint32_t k, uint32_t host)
{
    for (uint32_t i = 0; i < set_n[k]; i++)
        if (set_key[k][i] == host)
            return i;
    return PBFT_NOT_MEMBER;
}

static void hosts_start(uint32_t n0, uint32_t hosts, uint64_t at, uint32_t n1,
                        const uint32_t *m1)
{
    set_count = 2;
    set_n[0] = n0;
    set_from[0] = 0;
    for (uint32_t i = 0; i < 16; i++)
        set_key[0][i] = i;
    set_n[1] = n1;
    set_from[1] = (at / 16 + 2) * 16;
    memcpy(set_key[1], m1, n1 * sizeof *m1);
    change_at = at;
    nhosts = hosts;
    hnow = 1000;
    for (uint32_t h = 0; h < hosts; h++) {
        pbft_config c = config(0);
        c.id = idx_in(0, h);
        c.n = n0;
        c.signer.ctx = &hctx[h];
        cr_assert_eq(pbft_init(&hcore[h], &c), PBFT_OK);
        pbft_tick(&hcore[h], hnow, hnow);
    }
}

/* Host i executes what it committed; at change_at its executor reports the change. */
static void host_execute(uint32_t i, const pbft_committed *c)
{
    uint64_t h = c->batch.header.height;
    hash32 d;
    tcrypto_sha256(&c->batch.header, sizeof(codec_batch_header), &d);
    if (h == change_at)
        cr_assert_eq(pbft_reconfigure(&hcore[i], h, set_from[1], set_n[1], idx_in(1, i)),
                     PBFT_OK);
    cr_assert_eq(pbft_executed(&hcore[i], h, &d, &d, &d), PBFT_OK, "host %u executes %llu", i,
                 (unsigned long long)h);
}

/* Deliver every output among the hosts that are up until quiet; returns how many
 * heights the observer committed. */
static uint32_t run_hosts(lost_fn lost)
{
    uint32_t n_got = 0;
    for (int round = 0; round < 60; round++) {
        bool any = false;
        for (uint32_t i = 0; i < nhosts; i++) {
            static pbft_ready r;
            r = *pbft_ready_get(&hcore[i]);
            pbft_ready_clear(&hcore[i]);
            if (host_down[i])
                continue;
            if (r.new_view) {
                saved_nv = *r.new_view;
                have_saved_nv = true;
            }
            for (uint32_t k = 0; k < r.stable_count; k++)
                if (i == observer && r.stable[k].height < LOG_MAX)
                    rlog[r.stable[k].height] = r.stable[k];
            for (uint32_t k = 0; k < r.out_count; k++)
                vc_sent[i] += r.out[k].msg.type == PBFT_MSG_VIEW_CHANGE;
            for (uint32_t k = 0; k < r.out_count; k++)
                for (uint32_t to = 0; to < nhosts; to++)
                    if (to != i && !host_down[to] && !(lost && lost(i, to, &r.out[k].msg))) {
                        pbft_step(&hcore[to], &r.out[k].msg);
                        any = true;
                    }
            for (uint32_t k = 0; k < r.committed_count; k++) {
                any = true;
                host_execute(i, &r.committed[k]);
                uint64_t h = r.committed[k].batch.header.height;
                if (i == observer && h < LOG_MAX) {
                    hlog[h] = r.committed[k];
                    n_got++;
                }
            }
        }
        if (!any)
            break;
    }
    return n_got;
}

/* A new request at every host that is up, 10 ms later; returns what the observer
 * committed. */
static uint32_t commit_next(lost_fn lost)
{
    static uint32_t seq;
    char tx[32];
    snprintf(tx, sizeof tx, "consent:%u", ++seq);
    hash32 req;
    merkle_leaf_hash((const uint8_t *)tx, strlen(tx), &req);
    hnow += 10;
    for (uint32_t i = 0; i < nhosts; i++) {
        if (host_down[i])
            continue;
        pbft_tick(&hcore[i], hnow, hnow);
        pbft_propose(&hcore[i], &req);
    }
    return run_hosts(lost);
}

static void tick_hosts(uint64_t ms, lost_fn lost)
{
    hnow += ms;
    for (uint32_t i = 0; i < nhosts; i++)
        if (!host_down[i])
            pbft_tick(&hcore[i], hnow, hnow);
    run_hosts(lost);
}

/* Commit heights up to `to`, one request each. */
static void commit_to(uint64_t to, lost_fn lost)
{
    while (hcore[observer].last_delivered < to)
        cr_assert_eq(commit_next(lost), 1, "height %llu commits",
                     (unsigned long long)hcore[observer].last_delivered + 1);
}

static bool lose_checkpoints_31;
static bool lost_checkpoint_31(uint32_t from, uint32_t to, const pbft_msg *m)
{
    (void)from;
    (void)to;
    return lose_checkpoints_31 && m->type == PBFT_MSG_CHECKPOINT && m->height == 31;
}

static bool cert_has_signer_from(const codec_commit_cert *cert, uint32_t first)
{
    for (uint32_t i = 0; i < cert->sig_count; i++)
        if (cert->sigs[i].validator >= first)
            return true;
    return false;
}

static const uint32_t grown[] = {0, 1, 2, 3, 4, 5, 6};

/* Growth 4 -> 7 committed at 10 (boundary 32). Until height 31 is stable (its result
 * certificate, under the old set) the primary proposes nothing at 32; once it is, 32
 * commits under the new set: 5 of 7 signatures, some of a new validator. */
Test(pbft, the_primary_proposes_nothing_past_the_boundary_until_the_height_before_is_stable)
{
    hosts_start(4, 7, 10, 7, grown);
    lose_checkpoints_31 = true;
    commit_to(31, lost_checkpoint_31);
    cr_assert_eq(hcore[0].durable.stable.height, 30, "no result certificate for 31");
    cr_assert_eq(pbft_set_at(&hcore[0], 32)->n, 7);
    cr_assert_eq(pbft_set_at(&hcore[0], 31)->n, 4);
    cr_assert_eq(commit_next(lost_checkpoint_31), 0,
                 "nothing is proposed at the boundary while 31 is not stable");
    cr_assert_eq(hcore[2].last_delivered, 31);
    lose_checkpoints_31 = false;
    tick_hosts(500, NULL); /* checkpoints are re-sent: 31 becomes stable, 32 is proposed */
    cr_assert_eq(hcore[0].durable.stable.height >= 31, true);
    cr_assert_eq(hcore[0].last_delivered, 32, "the held request commits at the boundary");
    const codec_commit_cert *cert = &hlog[32].cert;
    cr_assert_eq(cert->sig_count, 5, "a quorum of the new set");
    cr_assert(cert_has_signer_from(cert, 4), "a new validator signed");
    cr_assert_eq(pbft_verify_commit_cert(&hcore[6], &hlog[32].batch, cert), PBFT_OK);
    cr_assert_eq(hcore[6].last_delivered, 32, "the new validator followed, then joined");
    cr_assert_eq(pbft_set_at(&hcore[6], 32)->me, 6);
}

static bool host0_silent_commits_28_lost(uint32_t from, uint32_t to, const pbft_msg *m)
{
    (void)to;
    return from == 0 ? host_down[0]
                     : m->type == PBFT_MSG_COMMIT && m->height == 28 && m->view == 0;
}

/* Rotation of index 3's key (host 3 -> host 4) committed at 10 (boundary 32). Height 28
 * is prepared everywhere but its COMMITs are lost, and the primary falls silent: the view
 * change runs in the OLD set (stable 27 < 31: primary 1 of 4, VIEW-CHANGEs of hosts 1-3,
 * none of host 4, which only follows) and re-issues 28's batch. Then the chain passes the
 * boundary in view 1 under the new set, the rotated-out key no longer signing. */
Test(pbft, a_view_change_below_the_boundary_keeps_what_the_old_set_prepared)
{
    static const uint32_t rotated[] = {0, 1, 2, 4};
    hosts_start(4, 5, 10, 4, rotated);
    commit_to(27, NULL);
    cr_assert_eq(commit_next(host0_silent_commits_28_lost), 0);
    cr_assert(hcore[2].durable.has_prepared[28 % PBFT_WINDOW], "28 is prepared at 2");
    hash32 prepared;
    codec_batch_hash(&hcore[2].durable.prepared[28 % PBFT_WINDOW].batch.header, &prepared);
    host_down[0] = true;
    observer = 2;
    for (int i = 0; i < 40 && hcore[2].last_delivered < 28; i++)
        tick_hosts(100, host0_silent_commits_28_lost);
    cr_assert_eq(hcore[2].durable.view, 1);
    cr_assert_eq(hcore[4].durable.view, 1, "the follower entered the view too");
    cr_assert(have_saved_nv && saved_nv.view == 1 && saved_nv.vc_count == 3);
    for (uint32_t i = 0; i < 3; i++)
        cr_assert_lt(saved_nv.vcs[i].stable.height, 31, "view-changes of the old set");
    cr_assert_gt(vc_sent[3], 0, "host 3, a validator until 32, asked for the view");
    cr_assert_eq(vc_sent[4], 0, "host 4, a validator from 32 only, signed no VIEW-CHANGE");
    for (uint32_t h = 1; h < 5; h++) {
        cr_assert_geq(hcore[h].last_delivered, 28, "host %u", h);
    }
    hash32 got;
    codec_batch_hash(&hlog[28].batch.header, &got);
    cr_assert(memcmp(&got, &prepared, 32) == 0, "28 committed the batch prepared in view 0");
    cr_assert_eq(hlog[28].cert.view, 1);
    commit_to(33, NULL);
    cr_assert_eq(hlog[33].cert.view, 1);
    cr_assert_eq(pbft_verify_commit_cert(&hcore[4], &hlog[33].batch, &hlog[33].cert), PBFT_OK);
    /* The rotated-out key signs a PREPARE at 34 as index 3: refused by its new key. */
    pbft_msg m = {.type = PBFT_MSG_PREPARE, .from = 3, .view = 1, .height = 34};
    memset(&m.digest, 3, sizeof m.digest);
    m.sig = vote_sig(3, TCRYPTO_TAG_PREPARE, 1, 34, &m.digest);
    cr_assert_eq(pbft_step(&hcore[1], &m), PBFT_ERR_SIGNATURE);
}

/* Growth 4 -> 7 (boundary 32), height 31 stable everywhere; the primary (index 0 in both
 * sets) fails with a request at 32 pending. The view change runs in the NEW set: 5 of 7
 * VIEW-CHANGEs, all on stable checkpoint 31, new validators among them, primary 1 mod 7.
 * A VIEW-CHANGE of the old set (stable 30) is refused once the new set is in force. */
Test(pbft, a_view_change_at_the_boundary_runs_in_the_new_set)
{
    hosts_start(4, 7, 10, 7, grown);
    commit_to(31, NULL);
    cr_assert_eq(hcore[3].durable.stable.height, 31);
    host_down[0] = true;
    observer = 5;
    for (int i = 0; i < 40 && hcore[5].last_delivered < 32; i++) {
        if (i == 0)
            commit_next(NULL);
        else
            tick_hosts(100, NULL);
    }
    cr_assert_eq(hcore[5].durable.view, 1);
    cr_assert_eq(hcore[5].last_delivered, 32, "the request commits in view 1");
    cr_assert(have_saved_nv && saved_nv.view == 1);
    cr_assert_eq(saved_nv.vc_count, 5, "a quorum of the new set");
    bool new_member = false;
    for (uint32_t i = 0; i < saved_nv.vc_count; i++) {
        cr_assert_eq(saved_nv.vcs[i].stable.height, 31);
        new_member |= saved_nv.vcs[i].sender >= 4;
    }
    cr_assert(new_member, "a new validator's VIEW-CHANGE counted");
    cr_assert_eq(hlog[32].cert.view, 1);
    cr_assert_eq(hlog[32].cert.sig_count, 5);

    hash32 x;
    memset(&x, 4, sizeof x);
    static pbft_view_change old;
    memset(&old, 0, sizeof old);
    old.new_view = 2;
    old.sender = 3;
    old.stable = result_cert(30, &x, &x, &x);
    pbft_view_change_sign(&hcore[3], &old);
    pbft_msg m = send_vc(&old);
    cr_assert_eq(pbft_step(&hcore[2], &m), PBFT_ERR_STALE,
                 "a VIEW-CHANGE of the old set once the new set is in force");
}

/* A commit certificate over (height, view 0, d) signed by these validator indices, each
 * signature by the key of host keys[i]. */
static codec_commit_cert forged_commit_cert(uint64_t h, const hash32 *d, const uint32_t *idx,
                                            const uint32_t *keys, uint32_t count)
{
    codec_commit_cert cc;
    memset(&cc, 0, sizeof cc);
    cc.height = h;
    cc.batch_hash = *d;
    uint8_t buf[128];
    codec_buf cb = codec_buf_make(buf, sizeof buf);
    codec_commit_body_encode(h, 0, d, &cb);
    for (uint32_t i = 0; i < count; i++) {
        cc.sigs[i].validator = idx[i];
        mac(keys[i], TCRYPTO_TAG_COMMIT, buf, cb.len, &cc.sigs[i].sig);
    }
    cc.sig_count = count;
    return cc;
}

/* Shrink 7 -> 4 committed at 10 (boundary 32): hosts 4, 5, 6 are removed. From 32 on,
 * their votes, checkpoints, VIEW-CHANGEs and any certificate they signed are refused,
 * though each is correctly signed by their own key; at 31 the same signers count. */
Test(pbft, a_removed_validator_is_refused_from_the_boundary_on)
{
    static const uint32_t shrunk[] = {0, 1, 2, 3};
    hosts_start(7, 7, 10, 4, shrunk);
    commit_to(32, NULL);
    cr_assert_eq(hlog[32].cert.sig_count, 3, "32 is committed by the new set");
    hash32 d;
    memset(&d, 5, sizeof d);
    pbft_msg m = {.type = PBFT_MSG_PREPARE, .from = 5, .view = 0, .height = 33, .digest = d,
                  .sig = vote_sig(5, TCRYPTO_TAG_PREPARE, 0, 33, &d)};
    cr_assert_eq(pbft_step(&hcore[1], &m), PBFT_ERR_MEMBER, "a removed validator's PREPARE");
    m.type = PBFT_MSG_COMMIT;
    uint8_t buf[256];
    codec_buf cb = codec_buf_make(buf, sizeof buf);
    codec_commit_body_encode(33, 0, &d, &cb);
    mac(5, TCRYPTO_TAG_COMMIT, buf, cb.len, &m.sig);
    cr_assert_eq(pbft_step(&hcore[1], &m), PBFT_ERR_MEMBER, "a removed validator's COMMIT");
    codec_result_cert cp;
    memset(&cp, 0, sizeof cp);
    cp.height = 33;
    cb = codec_buf_make(buf, sizeof buf);
    codec_checkpoint_body_encode(&cp, &cb);
    pbft_msg ck = {.type = PBFT_MSG_CHECKPOINT, .from = 5, .height = 33};
    mac(5, TCRYPTO_TAG_CHECKPOINT, buf, cb.len, &ck.sig);
    cr_assert_eq(pbft_step(&hcore[1], &ck), PBFT_ERR_MEMBER, "a removed validator's CHECKPOINT");
    static pbft_view_change vc;
    memset(&vc, 0, sizeof vc);
    vc.new_view = 1;
    vc.sender = 5;
    vc.stable = hcore[1].durable.stable;
    cr_assert_geq(vc.stable.height, 31);
    pbft_view_change_sign(&hcore[5], &vc);
    m = send_vc(&vc);
    cr_assert_eq(pbft_step(&hcore[1], &m), PBFT_ERR_MEMBER,
                 "a removed validator's VIEW-CHANGE of the new set");

    /* Certificates: 31 under the old set (5 of 7, removed 5 among them) is valid; the
     * same kind of certificate for 32, with 5 signing as index 3's replacement, is not. */
    uint32_t idx_old[] = {0, 1, 2, 4, 5}, idx_new[] = {0, 1, 5};
    hash32 d31, d32;
    codec_batch_hash(&hlog[31].batch.header, &d31);
    codec_batch_hash(&hlog[32].batch.header, &d32);
    codec_commit_cert c31 = forged_commit_cert(31, &d31, idx_old, idx_old, 5);
    cr_assert_eq(pbft_verify_commit_cert(&hcore[1], &hlog[31].batch, &c31), PBFT_OK);
    codec_commit_cert c32 = forged_commit_cert(32, &d32, idx_new, idx_new, 3);
    cr_assert_eq(pbft_verify_commit_cert(&hcore[1], &hlog[32].batch, &c32), PBFT_ERR_MEMBER,
                 "a commit certificate signed by a removed validator past its removal");
    uint32_t idx_swap[] = {0, 1, 3}, key_swap[] = {0, 1, 5};
    c32 = forged_commit_cert(32, &d32, idx_swap, key_swap, 3);
    cr_assert_eq(pbft_verify_commit_cert(&hcore[1], &hlog[32].batch, &c32), PBFT_ERR_SIGNATURE,
                 "... or signing as a validator of the new set");
    codec_result_cert r32 = rlog[32];
    cr_assert_eq(pbft_verify_result_cert(&hcore[1], &r32), PBFT_OK);
    r32.sigs[2].validator = 5;
    cr_assert_eq(pbft_verify_result_cert(&hcore[1], &r32), PBFT_ERR_MEMBER);
}

/* Growth 4 -> 7 committed at 10 (boundary 32); host 6, a new validator, is down until 40
 * is committed. It catches up from the genesis by fetched blocks: each commit certificate
 * (and result certificate) checked under the set of its height, its executor reporting
 * the change at 10. It signs nothing before the boundary and checkpoints after it. A
 * certificate of the old set's size for 32 is refused. */
/* Host i, down while the others committed, catches up by fetching heights from..to alone
 * (nothing else arrives: the load has stopped). Every fetched block's result certificate
 * is handed to the host once executed (the ledger keeps it; receipts are proven with it),
 * and the last one becomes the stable checkpoint. `validator_from`: the first height at
 * which host i signs a checkpoint. */
static void catch_up_alone(uint32_t i, uint64_t from, uint64_t to, uint64_t validator_from)
{
    pbft_core *c = &hcore[i];
    for (uint64_t h = from; h <= to; h++) {
        pbft_ready_clear(c);
        cr_assert_eq(pbft_deliver_block(c, &hlog[h].batch, &hlog[h].cert,
                                        rlog[h].height == h ? &rlog[h] : NULL),
                     PBFT_OK, "block %llu", (unsigned long long)h);
        static pbft_ready r;
        r = *pbft_ready_get(c);
        pbft_ready_clear(c);
        cr_assert_eq(r.committed_count, 1);
        host_execute(i, &r.committed[0]);
        const pbft_ready *after = pbft_ready_get(c);
        uint32_t checkpoints = 0, handed = 0;
        for (uint32_t k = 0; k < after->out_count; k++)
            checkpoints += after->out[k].msg.type == PBFT_MSG_CHECKPOINT &&
                           after->out[k].msg.height == h && after->out[k].msg.from == idx_in(1, i);
        for (uint32_t k = 0; k < after->stable_count; k++)
            handed += after->stable[k].height == h;
        cr_assert_eq(checkpoints, h >= validator_from ? 1 : 0,
                     "height %llu: checkpoint only as a validator", (unsigned long long)h);
        if (rlog[h].height == h)
            cr_assert_eq(handed, 1, "height %llu: the fetched result certificate is handed "
                         "to the host once executed", (unsigned long long)h);
    }
    cr_assert_eq(c->last_executed, to);
    cr_assert_eq(rlog[to].height, to, "the others certified the last height");
    cr_assert_eq(c->durable.stable.height, to,
                 "the last fetched certified height is stable without any live checkpoint");
}

Test(pbft, a_new_validator_catches_up_through_the_boundary)
{
    hosts_start(4, 7, 10, 7, grown);
    host_down[6] = true;
    commit_to(40, NULL);
    cr_assert_eq(hlog[40].cert.sig_count, 5);
    hash32 d;
    codec_batch_hash(&hlog[32].batch.header, &d);
    uint32_t idx[] = {0, 1, 2};
    codec_commit_cert small = forged_commit_cert(32, &d, idx, idx, 3);
    small.view = hlog[32].cert.view;
    catch_up_alone(6, 1, 31, 32);
    cr_assert_eq(pbft_deliver_block(&hcore[6], &hlog[32].batch, &small, NULL), PBFT_ERR_CERT,
                 "three signatures are no certificate at 32 (5 of 7 needed)");
    catch_up_alone(6, 32, 40, 32);
}

/* Without any change of set: a replica down for more than a window catches up alone
 * (issue 23: a validator restarted after the load stopped kept an uncertified tail,
 * because a fetched block's result certificate never reached its ledger nor moved its
 * stable checkpoint, and the backfill only looked below that checkpoint). */
Test(pbft, a_replica_catching_up_alone_keeps_every_fetched_result_certificate)
{
    static const uint32_t same[] = {0, 1, 2, 3};
    hosts_start(4, 4, 1000, 4, same); /* no change within the test */
    host_down[3] = true;
    commit_to(40, NULL);
    catch_up_alone(3, 1, 40, 1);
}

/* pbft_reconfigure refuses a boundary every replica might not know in time, a set that
 * is not 3f+1, and an index outside it; the same change again is accepted (a restart). */
Test(pbft, reconfigure_refuses_what_replicas_could_not_agree_on)
{
    start();
    cr_assert_eq(pbft_reconfigure(&cores[0], 10, 26, 7, 0), PBFT_ERR_MALFORMED,
                 "a boundary within a window of the committing height");
    cr_assert_eq(pbft_reconfigure(&cores[0], 10, 32, 5, 0), PBFT_ERR_MALFORMED, "n = 5");
    cr_assert_eq(pbft_reconfigure(&cores[0], 10, 32, 7, 7), PBFT_ERR_MALFORMED);
    cr_assert_eq(pbft_reconfigure(&cores[0], 10, 32, 7, 0), PBFT_OK);
    cr_assert_eq(pbft_reconfigure(&cores[0], 10, 32, 7, 0), PBFT_OK, "the same again");
    cr_assert_eq(pbft_reconfigure(&cores[0], 10, 32, 7, 1), PBFT_ERR_MALFORMED);
    cr_assert_eq(pbft_reconfigure(&cores[0], 33, 64, 4, PBFT_NOT_MEMBER), PBFT_OK);
    cr_assert_eq(pbft_set_at(&cores[0], 63)->n, 7);
    cr_assert_eq(pbft_set_at(&cores[0], 64)->me, PBFT_NOT_MEMBER);
}

/* A validator restarts after the boundary: its host re-supplies the change from its ledger
 * after pbft_init and before pbft_restore, and it goes on in the new set. Supplied after
 * pbft_restore (its window may already hold heights of the new set) the change is
 * refused, and the core keeps to the sets it knows. */
Test(pbft, a_restart_after_the_boundary_gets_the_schedule_before_its_state)
{
    hosts_start(4, 7, 10, 7, grown);
    commit_to(33, NULL);
    static pbft_durable saved;
    saved = hcore[2].durable;
    uint64_t t = hlog[33].block_time_ms;
    pbft_config c = config(0);
    c.id = 2;
    c.signer.ctx = &hctx[2];

    cr_assert_eq(pbft_init(&hcore[2], &c), PBFT_OK);
    cr_assert_eq(pbft_restore(&hcore[2], &saved, 33, t), PBFT_OK);
    cr_assert_eq(pbft_reconfigure(&hcore[2], 10, 32, 7, 2), PBFT_ERR_STALE,
                 "too late: heights of the new set may already have been checked");
    cr_assert_neq(pbft_verify_commit_cert(&hcore[2], &hlog[33].batch, &hlog[33].cert),
                  PBFT_OK, "without the change, 33's certificate is not the genesis set's");

    cr_assert_eq(pbft_init(&hcore[2], &c), PBFT_OK);
    cr_assert_eq(pbft_reconfigure(&hcore[2], 10, 32, 7, 2), PBFT_OK);
    cr_assert_eq(pbft_restore(&hcore[2], &saved, 33, t), PBFT_OK);
    cr_assert_eq(pbft_verify_commit_cert(&hcore[2], &hlog[33].batch, &hlog[33].cert), PBFT_OK);
    hnow += 10;
    pbft_tick(&hcore[2], hnow, hnow);
    pbft_ready_clear(&hcore[2]);
    cr_assert_eq(commit_next(NULL), 1, "34 commits with the restarted validator");
    cr_assert_eq(hcore[2].last_delivered, 34);
}

/* A host restarted after more validator-set changes than a core keeps (PBFT_SETS_MAX):
 * supplying them all is refused (the genesis set cannot be dropped before the stable
 * checkpoint is restored); rebased on the oldest set a running core would keep, the newest
 * sets are in force, a certificate of the newest set verifies and heights below the base
 * are refused as dropped. Nine key rotations of a 4-validator set: change k is committed at
 * 40k and in force from 40k + 32. */
Test(pbft, a_restart_after_more_changes_than_the_core_keeps_starts_from_the_newest_sets)
{
    set_count = 2;
    set_from[1] = 9 * 40 + 32; /* the newest set's keys: hosts 0..3, as the genesis's */
    set_n[1] = 4;
    memcpy(set_key[1], set_key[0], sizeof set_key[0]);
    pbft_config cfg = config(1);
    pbft_core *c = &hcore[0];
    cr_assert_eq(pbft_init(c, &cfg), PBFT_OK);
    pbft_err last = PBFT_OK;
    for (uint64_t k = 1; k <= 9 && last == PBFT_OK; k++)
        last = pbft_reconfigure(c, 40 * k, 40 * k + 32, 4, 1);
    cr_assert_eq(last, PBFT_ERR_FULL, "nine changes on the genesis set do not fit");

    cr_assert_eq(pbft_init(c, &cfg), PBFT_OK);
    cr_assert_eq(pbft_rebase(c, 0, 4, 1), PBFT_ERR_MALFORMED, "height 0 is the genesis's");
    cr_assert_eq(pbft_rebase(c, 2 * 40 + 32, 5, 1), PBFT_ERR_MALFORMED, "n = 5 is not 3f+1");
    cr_assert_eq(pbft_rebase(c, 2 * 40 + 32, 4, 1), PBFT_OK);
    for (uint64_t k = 3; k <= 9; k++)
        cr_assert_eq(pbft_reconfigure(c, 40 * k, 40 * k + 32, 4, 1), PBFT_OK, "change %llu",
                     (unsigned long long)k);
    static pbft_durable d;
    memset(&d, 0, sizeof d);
    hash32 x;
    memset(&x, 7, sizeof x);
    d.stable = result_cert(400, &x, &x, &x);
    cr_assert_eq(pbft_restore(c, &d, 400, 1000), PBFT_OK);
    cr_assert_eq(pbft_rebase(c, 2 * 40 + 32, 4, 1), PBFT_ERR_MALFORMED, "only before restore");
    cr_assert_eq(pbft_set_at(c, 401)->from, 9 * 40 + 32);
    codec_result_cert rc = result_cert(401, &x, &x, &x);
    cr_assert_eq(pbft_verify_result_cert(c, &rc), PBFT_OK, "the newest set certifies 401");
    rc = result_cert(100, &x, &x, &x);
    cr_assert_eq(pbft_verify_result_cert(c, &rc), PBFT_ERR_STALE,
                 "height 100 is below the oldest set kept (from 112)");
    set_count = 1;
}
