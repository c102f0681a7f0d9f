/*
 * test_block_gas.c - the per-block gas limit at execution (issue 16): the contract calls
 * of a block use at most exec_options.block_gas_limit gas together; a call the block's
 * remaining gas cannot cover is refused "block gas limit reached" (INVALID, nonce not
 * consumed), the same on re-execution; an unknown gas schedule is refused at open.
 */
#include "ctest_world.h"
#include "cvm.h"
#include "executor.h"

/* burn(n) runs n forloops: gas = n + 5 (loadi, move, lt, jnz, n x forloop, ret). */
static const char BURN[] = ".func burn 1 4 export\n    loadi r1, 1\n    move r2, r0\n"
                           "    lt r3, r2, r1\n    jnz r3, done\nloop:\n    forloop r1, loop\n"
                           "done:\n    ret r1\n";
#define BURN_GAS(n) ((n) + 5)

static void deploy_burn(tw *t)
{
    uint8_t *module = NULL;
    size_t len = 0;
    cvm_error ce;
    cr_assert_eq(cvm_assemble(BURN, sizeof BURN - 1, &module, &len, &ce), CVM_OK, "%s", ce.message);
    world_cosig reg = {&t->w.regulator, MEANING_APPROVAL};
    expect_ok(tw_run(t, &t->w.sponsor, "governance", "deploy",
                     ARGS(world_text("burn"), world_int(1), world_bytes(module, (uint32_t)len)), &reg, 1));
    free(module);
}

/* The executor reopened with these options. */
static void reopen(tw *t, const exec_options *opt)
{
    exec_close(t->w.e);
    t->w.e = NULL;
    exec_error err;
    cr_assert_eq(exec_open(t->w.l, opt, &t->w.e, &err), EXEC_OK, "%s", err.message);
}

/* Five burn(9995) calls (10,000 gas each) by the sponsor in one block. */
static void five_burns(tw *t, uint8_t buf[5][512], codec_span txs[5])
{
    codec_value n = world_int(9995);
    for (int i = 0; i < 5; i++) {
        size_t len = world_sign(&t->w, &t->w.sponsor, WORLD_NEXT_NONCE, NULL, "burn", "burn", &n, 1,
                                NULL, 0, buf[i], 512);
        cr_assert_gt(len, 0);
        txs[i] = (codec_span){buf[i], len};
    }
}

Test(block_gas, calls_beyond_the_block_limit_are_refused_and_replay_the_same)
{
    tw a, b;
    tw_open(&a, "trialreg-block-gas");
    tw_open(&b, "trialreg-block-gas");
    deploy_burn(&a);
    exec_options opt = {.verify_signatures = true, .block_gas_limit = 25000};
    reopen(&a, &opt);
    static uint8_t buf[5][512];
    codec_span txs[5];
    five_burns(&a, buf, txs);
    codec_receipt r[5];
    cr_assert_eq(world_commit(&a.w, 60000, txs, 5, r), 0);
    /* 25,000 gas: two calls of 10,000 run; the third runs dry at 5,000, on the block's limit
     * (its own is 2,000,000): refused, and the block's gas is gone, so the last two are
     * refused without running */
    expect_ok(r[0]);
    expect_ok(r[1]);
    cr_expect_eq(r[0].gas_used, BURN_GAS(9995));
    cr_expect_eq(r[1].gas_used, BURN_GAS(9995));
    for (int i = 2; i < 5; i++) {
        expect_invalid(r[i], EXEC_E_BLOCK_GAS);
        cr_expect_str_eq(r[i].reason, "block gas limit reached");
    }
    cr_expect_eq(r[2].gas_used, 5000, "the call that ran dry used the block's last 5,000 gas");
    cr_expect_eq(r[3].gas_used, 0);
    cr_expect_eq(r[4].gas_used, 0);

    /* refused txs consumed no nonce: the same bytes commit in the next block; a tx that
     * ran cannot be replayed */
    codec_receipt again[3];
    codec_span next[3] = {txs[2], txs[3], txs[0]};
    cr_assert_eq(world_commit(&a.w, 60000, next, 3, again), 0);
    expect_ok(again[0]);
    expect_ok(again[1]);
    expect_invalid(again[2], EXEC_E_NONCE_REPLAY);

    /* re-execution (catch-up, audit --reexecute) with the same limit: the same receipts,
     * byte for byte, and the same state hash */
    reopen(&b, &opt);
    tw_replay(&a, &b);
    tw_close(&a);
    tw_close(&b);
}

Test(block_gas, the_default_limit_holds_a_block_of_ordinary_calls)
{
    tw t;
    tw_open(&t, "trialreg-block-gas");
    deploy_burn(&t);
    static uint8_t buf[5][512];
    codec_span txs[5];
    five_burns(&t, buf, txs);
    codec_receipt r[5];
    cr_assert_eq(world_commit(&t.w, 60000, txs, 5, r), 0);
    for (int i = 0; i < 5; i++) expect_ok(r[i]);
    tw_close(&t);
}

Test(block_gas, an_unknown_gas_schedule_is_refused_at_open)
{
    tw t;
    tw_open(&t, "trialreg-block-gas");
    exec_close(t.w.e);
    t.w.e = NULL;
    exec_options opt = {.verify_signatures = true, .gas_schedule = 2};
    exec_error err;
    exec *e = NULL;
    cr_expect_eq(exec_open(t.w.l, &opt, &e, &err), EXEC_ERR_INVALID);
    cr_expect_null(e);
    cr_expect(strstr(err.message, "gas_schedule 2") != NULL, "message: %s", err.message);
    opt.gas_schedule = CVM_GAS_SCHEDULE;
    reopen(&t, &opt);
    tw_close(&t);
}
