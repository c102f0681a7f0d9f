/*
 * test_nonces.c - issue 16, part 2-3: nonces that no crashed or multi-device client can
 * lock. A tx carries valid_until; the executor refuses it outside
 * (block time, block time + valid_for_max_ms], and refuses a (signer, nonce) it committed
 * while that entry is unexpired; the replay set is state (hashed, kept over restarts and
 * catch-up) and is pruned as entries expire, so it stays bounded. Each test shows one
 * promise of the issue the way a user meets it: receipts and their reasons.
 */
#include <inttypes.h>

#include "ctest_world.h"

#define MINUTE_MS 60000ull
#define DAY_MS (24 * HOUR_MS)

static tw T;
static void setup(void) { tw_open(&T, "trialreg-test-nonces"); tw_base(&T); }
static void teardown(void) { tw_close(&T); }
TestSuite(nonces, .init = setup, .fini = teardown);

/* A data anchor by site-a for participant 0 (record `i`), with this nonce, signed now and
 * collected just before the next minute's block. */
static codec_span anchor(uint64_t nonce, uint64_t i, uint8_t *buf, size_t cap)
{
    static hash32 h;
    char label[64];
    snprintf(label, sizeof label, "record %" PRIu64, i);
    h = world_hash(label);
    codec_value a[] = {world_text(TRIAL), tw_pk(&T.w.participants[0]), world_int(SCOPE_MAIN),
                       world_int((int64_t)T.w.now_ms), world_bytes(h.bytes, 32),
                       world_int(100)};
    size_t len = world_sign(&T.w, &T.w.inv_a, nonce, NULL, "data", "anchor", a, 6, NULL, 0, buf,
                            cap);
    cr_assert_gt(len, 0);
    return (codec_span){buf, len};
}

static uint64_t random_nonce(void)
{
    uint64_t n;
    tcrypto_random(&n, sizeof n);
    return n;
}

static codec_receipt commit1(uint64_t advance_ms, codec_span tx)
{
    codec_receipt r;
    cr_assert_eq(world_commit(&T.w, advance_ms, &tx, 1, &r), 0);
    return r;
}

/* Entries in the replay set (sys/replay/...) of the last committed block. */
static uint32_t replay_entries(ledger *l)
{
    static const char prefix[] = "sys/replay/";
    uint8_t after[CODEC_KEY_MAX], key[CODEC_KEY_MAX];
    size_t after_len = 0, klen;
    uint32_t n = 0;
    while (ledger_state_next(l, (const uint8_t *)prefix, sizeof prefix - 1, after, after_len, key,
                             sizeof key, &klen) == LEDGER_OK) {
        n++;
        memcpy(after, key, klen);
        after_len = klen;
    }
    return n;
}

/* Issue 16 bug 2: a nonce taken but never sent (the laptop died) locked the key after 63
 * more. Now a gap means nothing: 100 more txs from that key commit. */
Test(nonces, a_gap_then_100_more_txs_from_that_key_commit)
{
    static uint8_t buf[1024];
    uint64_t lost = T.w.next_nonce[1]++; /* site-a's next nonce, reserved and never sent */
    (void)lost;
    for (uint64_t i = 0; i < 100; i++) {
        codec_receipt r = commit1(MINUTE_MS, anchor(WORLD_NEXT_NONCE, i, buf, sizeof buf));
        cr_assert_eq(r.status, RECEIPT_OK, "tx %" PRIu64 " after the gap: %s", i, r.reason);
    }
    /* and the skipped nonce itself still commits, later */
    codec_receipt r = commit1(MINUTE_MS, anchor(lost, 100, buf, sizeof buf));
    expect_ok(r);
}

/* A replay is refused forever: within the hour by the replay set, after it (an hour, a
 * day) as expired; the reason names valid_until. */
Test(nonces, a_replay_after_an_hour_and_after_a_day_is_refused)
{
    static uint8_t buf[1024];
    codec_span tx = anchor(random_nonce(), 1, buf, sizeof buf);
    expect_ok(commit1(MINUTE_MS, tx));
    expect_invalid(commit1(MINUTE_MS, tx), EXEC_E_NONCE_REPLAY);
    codec_receipt r = commit1(HOUR_MS, tx);
    expect_invalid(r, EXEC_E_EXPIRED);
    cr_expect_not_null(strstr(r.reason, "valid_until"), "reason names the field: %s", r.reason);
    expect_invalid(commit1(DAY_MS, tx), EXEC_E_EXPIRED);
    expect_invalid(commit1(30 * DAY_MS, tx), EXEC_E_EXPIRED);
}

/* The replay set is state: a restarted node (ledger and executor reopened) still refuses
 * the replay inside the hour, when only the set can. */
Test(nonces, a_replay_after_a_restart_is_refused)
{
    static uint8_t buf[1024];
    codec_span tx = anchor(random_nonce(), 1, buf, sizeof buf);
    expect_ok(commit1(MINUTE_MS, tx));
    exec_close(T.w.e);
    ledger_close(T.w.l);
    T.w.e = NULL;
    T.w.l = NULL;
    cr_assert_eq(world_open(&T.w, T.dir, true), 0);
    expect_invalid(commit1(MINUTE_MS, tx), EXEC_E_NONCE_REPLAY);
    expect_invalid(commit1(2 * HOUR_MS, tx), EXEC_E_EXPIRED);
}

/* Catch-up: a fresh node re-executes every block from the genesis and reaches the same
 * state hash, replay set included; the replay then fails there too. */
Test(nonces, a_replay_after_catch_up_is_refused)
{
    static uint8_t buf[1024];
    codec_span tx = anchor(random_nonce(), 1, buf, sizeof buf);
    expect_ok(commit1(MINUTE_MS, tx));
    tw fresh;
    tw_open(&fresh, "trialreg-test-nonces");
    tw_replay(&T, &fresh);
    fresh.w.now_ms = T.w.now_ms;
    codec_receipt r;
    cr_assert_eq(world_commit(&fresh.w, MINUTE_MS, &tx, 1, &r), 0);
    expect_invalid(r, EXEC_E_NONCE_REPLAY);
    tw_close(&fresh);
}

/* Two devices with one key, no shared state: each picks a random nonce; signed at once
 * they both commit, in one block or in two. */
Test(nonces, two_devices_signing_with_one_key_at_once_both_commit)
{
    static uint8_t b1[1024], b2[1024], b3[1024], b4[1024];
    codec_span both[2] = {anchor(random_nonce(), 1, b1, sizeof b1),
                          anchor(random_nonce(), 2, b2, sizeof b2)};
    codec_receipt r[2];
    cr_assert_eq(world_commit(&T.w, MINUTE_MS, both, 2, r), 0);
    expect_ok(r[0]);
    expect_ok(r[1]);
    codec_span laptop = anchor(random_nonce(), 3, b3, sizeof b3);
    codec_span tablet = anchor(random_nonce(), 4, b4, sizeof b4);
    expect_ok(commit1(MINUTE_MS, tablet));
    expect_ok(commit1(MINUTE_MS, laptop));
}

/* valid_until bounds at execution: not after the block time (expired), or more than
 * valid_for_max_ms (1 h) after it (too far ahead); the reason names the field; an INVALID
 * tx consumes nothing (the same nonce then commits). */
Test(nonces, valid_until_in_the_past_or_too_far_ahead_is_refused_naming_the_field)
{
    static uint8_t buf[1024];
    uint64_t nonce = random_nonce();
    uint64_t block = T.w.now_ms + MINUTE_MS;
    T.w.valid_until = block; /* not after the block time */
    codec_receipt r = commit1(MINUTE_MS, anchor(nonce, 1, buf, sizeof buf));
    expect_invalid(r, EXEC_E_EXPIRED);
    cr_expect_not_null(strstr(r.reason, "valid_until"), "%s", r.reason);
    block = T.w.now_ms + MINUTE_MS;
    T.w.valid_until = block + HOUR_MS + 1; /* one ms beyond the hour */
    r = commit1(MINUTE_MS, anchor(nonce, 1, buf, sizeof buf));
    expect_invalid(r, EXEC_E_TOO_FAR);
    cr_expect_not_null(strstr(r.reason, "valid_until"), "%s", r.reason);
    cr_expect_not_null(strstr(r.reason, "too far ahead"), "%s", r.reason);
    block = T.w.now_ms + MINUTE_MS;
    T.w.valid_until = block + HOUR_MS; /* exactly the hour: valid; and the nonce is unused */
    expect_ok(commit1(MINUTE_MS, anchor(nonce, 1, buf, sizeof buf)));
    T.w.valid_until = 0;
}

/* Removing (or adding) a co-signature makes a new tx id with the same signed body: the
 * replay set is keyed by (signer, nonce), so only one variant executes. */
Test(nonces, a_cosignature_variant_is_still_a_replay)
{
    static uint8_t b1[1024], b2[1024];
    codec_value g[] = {world_text(TRIAL), world_int(1), tw_forms(), world_int(SCOPE_MAIN)};
    world_cosig ca = {&T.w.inv_a, MEANING_WITNESS};
    uint64_t nonce = random_nonce();
    size_t l1 = world_sign(&T.w, &T.w.participants[0], nonce, NULL, "consent", "grant", g, 4,
                           &ca, 1, b1, sizeof b1);
    codec_tx tx;
    cr_assert_eq(codec_tx_decode(b1, l1, &tx, NULL), CODEC_OK);
    tx.cosig_count = 0; /* the same author signature, without the witness */
    codec_buf ob = codec_buf_make(b2, sizeof b2);
    cr_assert_eq(codec_tx_encode(&tx, &ob), CODEC_OK);
    codec_span with = {b1, l1}, without = {b2, ob.len};
    codec_receipt r[2];
    codec_span both[2] = {with, without};
    cr_assert_eq(world_commit(&T.w, MINUTE_MS, both, 2, r), 0);
    cr_expect_neq(r[0].status, RECEIPT_INVALID, "the first variant runs: %s", r[0].reason);
    expect_invalid(r[1], EXEC_E_NONCE_REPLAY);
    expect_invalid(commit1(MINUTE_MS, without), EXEC_E_NONCE_REPLAY);
}

/* Once its tx has expired, a (signer, nonce) is free again (a replay of that tx is refused
 * as expired; a new body the signer signs with the nonce is a new tx). The expired entry
 * may still be in the set (pruning runs after the block's txs): the new entry replaces it
 * and the prune that follows keeps the new one. */
Test(nonces, an_expired_entry_is_replaced_and_the_new_one_kept)
{
    static uint8_t b1[1024], b2[1024];
    uint64_t nonce = random_nonce();
    T.w.valid_until = T.w.now_ms + 2 * MINUTE_MS;
    codec_span first = anchor(nonce, 1, b1, sizeof b1);
    expect_ok(commit1(MINUTE_MS, first));
    /* the next block's time is exactly the first tx's valid_until: expired, not pruned */
    T.w.valid_until = T.w.now_ms + MINUTE_MS + 30 * MINUTE_MS;
    codec_span second = anchor(nonce, 2, b2, sizeof b2);
    T.w.valid_until = 0;
    codec_span both[2] = {first, second};
    codec_receipt r[2];
    cr_assert_eq(world_commit(&T.w, MINUTE_MS, both, 2, r), 0);
    expect_invalid(r[0], EXEC_E_EXPIRED);
    expect_ok(r[1]);
    expect_invalid(commit1(MINUTE_MS, second), EXEC_E_NONCE_REPLAY);
    expect_invalid(commit1(MINUTE_MS, first), EXEC_E_EXPIRED);
}

/* The replay set stays bounded however long the chain runs: 10 txs a block, a block a
 * minute, for 12 hours of block time (7,200 txs), each valid for the full hour: the set
 * never holds more than the txs of the last hour (rate x window = 600) plus one block. */
Test(nonces, the_replay_set_stays_bounded_over_many_hours)
{
    enum { PER_BLOCK = 10, BLOCKS = 12 * 60 };
    static uint8_t bufs[PER_BLOCK][1024];
    uint32_t most = 0, first = replay_entries(T.w.l);
    for (uint32_t b = 0; b < BLOCKS; b++) {
        codec_span s[PER_BLOCK];
        T.w.valid_until = T.w.now_ms + MINUTE_MS + HOUR_MS;
        for (uint32_t k = 0; k < PER_BLOCK; k++)
            s[k] = anchor(random_nonce(), (uint64_t)b * PER_BLOCK + k, bufs[k], sizeof bufs[k]);
        codec_receipt r[PER_BLOCK];
        cr_assert_eq(world_commit(&T.w, MINUTE_MS, s, PER_BLOCK, r), 0);
        for (uint32_t k = 0; k < PER_BLOCK; k++)
            cr_assert_eq(r[k].status, RECEIPT_OK, "block %u tx %u: %s", b, k, r[k].reason);
        if (b % 10 == 9 || b > BLOCKS - 3) {
            uint32_t n = replay_entries(T.w.l);
            if (n > most) most = n;
            cr_assert_leq(n, 60 * PER_BLOCK + PER_BLOCK, "block %u: %u replay entries", b, n);
        }
    }
    T.w.valid_until = 0;
    cr_expect_geq(most, 60 * PER_BLOCK - PER_BLOCK, "the set holds the last hour (%u)", most);
    cr_log_info("replay set: %u entries at most over %u txs (%u before)", most,
                BLOCKS * PER_BLOCK, first);
}

/* FORMATS.md 5.2: the effective block time counts from genesis.created_ms, as the audit and
 * the independent verifier count it. Block 1 proposed at the genesis's own time runs at
 * created_ms + 1 (sys/clock), so a tx valid until created_ms + 1 has expired there. (The
 * executor counted from 0 on an empty ledger, ran it at created_ms and disagreed with both
 * verifiers: issue 18.) */
Test(block_time, the_first_block_runs_after_the_genesis_time)
{
    static tw t;
    static hash32 doc;
    tw_open(&t, "trialreg-test-clock");
    cr_assert_eq(t.w.now_ms, WORLD_GENESIS_MS);
    t.w.valid_until = WORLD_GENESIS_MS + 1;
    doc = world_hash("doc v1");
    static const uint8_t sites[] = "\x06site-a";
    codec_value args[] = {world_text(TRIAL), world_bytes(doc.bytes, 32),
                          world_bytes(doc.bytes, 32), world_bytes(doc.bytes, 32), world_int(10),
                          world_bytes(sites, sizeof sites - 1), tw_forms()};
    codec_receipt r;
    cr_assert_eq(world_run(&t.w, 0, &t.w.sponsor, "protocol", "register", args, 7, NULL, 0, &r),
                 0);
    expect_invalid(r, EXEC_E_EXPIRED);
    uint8_t *clock;
    size_t len;
    cr_assert_eq(ledger_state_get(t.w.l, (const uint8_t *)"sys/clock", 9, &clock, &len),
                 LEDGER_OK);
    cr_assert_eq(len, 8);
    uint64_t eff = 0;
    for (int i = 0; i < 8; i++) eff = eff << 8 | clock[i];
    free(clock);
    cr_assert_eq(eff, WORLD_GENESIS_MS + 1, "sys/clock %" PRIu64, eff);
    tw_close(&t);
}
