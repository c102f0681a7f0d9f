/*
 * ctest_world.h - helpers for the contract suites: a world in a temporary directory and
 * one-line tx runners that return the receipt.
 */
#ifndef TRIALREG_CTEST_WORLD_H
#define TRIALREG_CTEST_WORLD_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "world.h"

#define HOUR_MS (3600ull * 1000)
#define TRIAL "T-1"

typedef struct {
    world w;
    char dir[256];
} tw;

static inline void tw_open(tw *t, const char *chain)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/trialreg-contracts-XXXXXX");
    cr_assert_not_null(mkdtemp(t->dir));
    cr_assert_eq(world_init(&t->w, chain), 0);
    cr_assert_eq(world_open(&t->w, t->dir, true), 0);
}

static inline void tw_close(tw *t)
{
    world_close(&t->w);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
    cr_assert_eq(system(cmd), 0);
}

/* Run one tx (its own block, one minute later) and return its receipt. */
static inline codec_receipt tw_run(tw *t, const keypair *signer, const char *contract,
                                   const char *method, const codec_value *args, uint32_t n,
                                   const world_cosig *cos, uint32_t ncos)
{
    codec_receipt r;
    cr_assert_eq(world_run(&t->w, 60000, signer, contract, method, args, n, cos, ncos, &r), 0);
    return r;
}

#define ARGS(...) ((codec_value[]){__VA_ARGS__}), (uint32_t)(sizeof((codec_value[]){__VA_ARGS__}) / sizeof(codec_value))

#define expect_ok(r) cr_expect_eq((r).status, RECEIPT_OK, "expected OK, got %u %u (%s)", (r).status, (r).error_code, (r).reason)
#define expect_status(r, st, code)                                                           \
    do {                                                                                     \
        codec_receipt r_ = (r);                                                              \
        cr_expect_eq(r_.status, (st), "status %u (%s), wanted %u", r_.status, r_.reason, (st)); \
        cr_expect_eq(r_.error_code, (uint32_t)(code), "code %u (%s), wanted %u", r_.error_code, \
                     r_.reason, (uint32_t)(code));                                           \
        cr_expect(r_.reason[0] != '\0', "a refusal has a readable reason");                 \
    } while (0)
#define expect_refused(r, code) expect_status(r, RECEIPT_REFUSED, code)
#define expect_invalid(r, code) expect_status(r, RECEIPT_INVALID, code)

static inline codec_value tw_pk(const keypair *k) { return world_bytes(k->public_key.bytes, 32); }

/* The consent form every version of the test trials approves: "form v1". */
static inline codec_value tw_forms(void)
{
    static hash32 form;
    form = world_hash("form v1");
    return world_bytes(form.bytes, 32);
}

/* A trial registered, v1 approved, site-a and site-b active, participant 0 enrolled at
 * site-a with all five scopes, participant 1 at site-b with the main study only. */
static inline void tw_base(tw *t)
{
    world *w = &t->w;
    static hash32 doc, p1, s1;
    static const uint8_t sites[] = "\x06site-a\x06site-b";
    doc = world_hash("doc v1");
    p1 = world_hash("primary 1");
    s1 = world_hash("secondary 1");
    codec_value tr = world_text(TRIAL);
    expect_ok(tw_run(t, &w->sponsor, "protocol", "register",
                     ARGS(tr, world_bytes(doc.bytes, 32), world_bytes(p1.bytes, 32),
                          world_bytes(s1.bytes, 32), world_int(10),
                          world_bytes(sites, sizeof sites - 1), tw_forms()), NULL, 0));
    expect_ok(tw_run(t, &w->regulator, "protocol", "approve", ARGS(tr, world_int(1)), NULL, 0));
    expect_ok(tw_run(t, &w->sponsor, "protocol", "activate", ARGS(tr, world_text("site-a")), NULL, 0));
    expect_ok(tw_run(t, &w->sponsor, "protocol", "activate", ARGS(tr, world_text("site-b")), NULL, 0));
    expect_ok(tw_run(t, &w->inv_a, "consent", "enrol", ARGS(tr, tw_pk(&w->participants[0])), NULL, 0));
    expect_ok(tw_run(t, &w->inv_b, "consent", "enrol", ARGS(tr, tw_pk(&w->participants[1])), NULL, 0));
    static hash32 form;
    form = world_hash("form v1");
    world_cosig ca = {&w->inv_a, MEANING_WITNESS}, cb = {&w->inv_b, MEANING_WITNESS};
    expect_ok(tw_run(t, &w->participants[0], "consent", "grant",
                     ARGS(tr, world_int(1), world_bytes(form.bytes, 32), world_int(31)), &ca, 1));
    expect_ok(tw_run(t, &w->participants[1], "consent", "grant",
                     ARGS(tr, world_int(1), world_bytes(form.bytes, 32), world_int(1)), &cb, 1));
}

/* Anchor a record for participant p by site with collected_at = now + advance - before. */
static inline codec_receipt tw_anchor(tw *t, const keypair *site, uint32_t p, int64_t scope,
                                      int64_t collected_at, const char *label)
{
    static hash32 h;
    h = world_hash(label);
    return tw_run(t, site, "data", "anchor",
                  ARGS(world_text(TRIAL), tw_pk(&t->w.participants[p]), world_int(scope),
                       world_int(collected_at), world_bytes(h.bytes, 32), world_int(100)),
                  NULL, 0);
}

/* The block time of the next tw_run. */
static inline int64_t tw_next_time(const tw *t) { return (int64_t)(t->w.now_ms + 60000); }

/* Re-execute every block of `from` through `into`'s executor (a fresh world on the same
 * genesis), as a node catching up and `audit --reexecute` do: each block executes, gives
 * the same receipts and is stored as the same bytes; the heads end equal. */
static inline void tw_replay(tw *from, tw *into)
{
    ledger_summary head_a, head_b;
    ledger_head(from->w.l, &head_a);
    codec_span *spans = malloc(2 * CODEC_BLOCK_TXS_MAX * sizeof *spans);
    codec_write *writes = malloc(CODEC_WRITES_MAX * sizeof *writes);
    cr_assert(spans && writes);
    for (uint64_t h = 1; h <= head_a.height; h++) {
        uint8_t *data, *again;
        size_t len, again_len;
        cr_assert_eq(ledger_get_block(from->w.l, h, &data, &len), LEDGER_OK);
        codec_block blk = {.txs = spans, .receipts = spans + CODEC_BLOCK_TXS_MAX, .writes = writes};
        cr_assert_eq(codec_block_decode(data, len, &blk, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX,
                                        NULL), CODEC_OK);
        ledger_summary s;
        exec_error err;
        cr_assert_eq(exec_block(into->w.e, &blk.header.batch, blk.txs, &blk.commit_cert, &s, &err),
                     EXEC_OK, "height %llu: %s", (unsigned long long)h, err.message);
        const codec_span *rr = exec_last_receipts(into->w.e);
        for (uint32_t i = 0; i < blk.receipt_count; i++) {
            cr_assert(rr[i].len == blk.receipts[i].len
                      && memcmp(rr[i].data, blk.receipts[i].data, rr[i].len) == 0,
                      "height %llu tx %u: the receipt differs", (unsigned long long)h, i);
        }
        cr_assert_eq(ledger_get_block(into->w.l, h, &again, &again_len), LEDGER_OK);
        cr_assert(again_len == len && memcmp(again, data, len) == 0,
                  "height %llu is stored differently", (unsigned long long)h);
        free(again);
        free(data);
    }
    ledger_head(into->w.l, &head_b);
    cr_assert_eq(head_b.height, head_a.height);
    cr_assert_arr_eq(head_b.state_hash.bytes, head_a.state_hash.bytes, 32, "state hash");
    cr_assert_arr_eq(head_b.block_hash.bytes, head_a.block_hash.bytes, 32, "block hash");
    cr_assert_arr_eq(head_b.receipts_root.bytes, head_a.receipts_root.bytes, 32, "receipts");
    free(spans);
    free(writes);
}

#endif
