/*
 * test_reexecute_holes.c - forged ledgers that `audit --reexecute` should refuse and does
 * not (review of issue 18 item 3): known holes, pinned. Each test asserts what happens
 * TODAY (the forgery passes) and says why, so the hole stays visible and CI stays honest:
 * when a fix closes the hole, its test fails here; then invert it and move it to
 * test_reexecute.c. docs/FORMATS.md 5.10 and ARCHITECTURE.md 3.9 describe each hole.
 */
#include <criterion/criterion.h>
#include <unistd.h>

#include "audit.h"
#include "executor.h"
#include "testutil.h"

static char dir[256], forged_dir[256], scratch[256];
static tu_chain chain;

static void setup(void)
{
    cr_assert_eq(tcrypto_init(), TCRYPTO_OK);
    tu_tempdir(dir, "holes");
    tu_tempdir(forged_dir, "holes-forged");
    tu_tempdir(scratch, "holes-scratch");
    rmdir(scratch);
    tu_chain_make(&chain, 5);
}

static void teardown(void)
{
    tu_rmdir(dir);
    tu_rmdir(forged_dir);
    tu_rmdir(scratch);
    free(chain.genesis);
}

TestSuite(reexecute_holes, .init = setup, .fini = teardown);

static bool audit_ledger(ledger *l, bool reexecute, audit_summary *s, audit_failure *f)
{
    audit_ledger_cursor cursor;
    audit_source src;
    audit_ledger_source(&cursor, l, &src);
    audit_options opt = {.threads = 2, .reexecute = reexecute, .scratch_dir = scratch};
    bool ok = audit_run_with(chain.genesis, chain.genesis_len, &src, &opt, s, f);
    audit_ledger_cursor_done(&cursor);
    tu_rmdir(scratch);
    return ok;
}

/* Sign and store a result certificate for s with every validator's key. */
static void certify_all(ledger *l, const ledger_summary *s)
{
    codec_result_cert cert = {.height = s->height, .block_hash = s->block_hash,
                              .state_hash = s->state_hash, .receipts_root = s->receipts_root};
    uint8_t body[160], out[2048];
    codec_buf bb = codec_buf_make(body, sizeof body);
    codec_checkpoint_body_encode(&cert, &bb);
    for (uint32_t v = 0; v < chain.keys.validator_count; v++) {
        cert.sigs[v].validator = v;
        tcrypto_sign(&chain.keys.validators[v], TCRYPTO_TAG_CHECKPOINT, ledger_chain_id(l),
                     bb.data, bb.len, &cert.sigs[v].sig);
    }
    cert.sig_count = chain.keys.validator_count;
    codec_buf ob = codec_buf_make(out, sizeof out);
    cr_assert_eq(codec_result_cert_encode(&cert, &ob), CODEC_OK);
    ledger_error err;
    cr_assert_eq(ledger_put_result_cert(l, s->height, ob.data, ob.len, &err), LEDGER_OK);
}

/* ---- a tx that ran, kept as a pruned entry of another route -------------------------- */

static uint8_t pruned_buf[256];

/* The pruned form of the whole tx *span, with its method renamed to one no contract has:
 * the same leaf hash and tx id, a route that refuses (NO_METHOD). */
static codec_span prune_under_another_route(const codec_span *span)
{
    static codec_tx tx;
    cr_assert_eq(codec_tx_decode(span->data, span->len, &tx, NULL), CODEC_OK);
    codec_pruned_tx p;
    codec_pruned_tx_of(&tx, span, &p);
    snprintf(p.method.text, sizeof p.method.text, "%s", "no-such-method");
    codec_buf b = codec_buf_make(pruned_buf, sizeof pruned_buf);
    cr_assert_eq(codec_pruned_tx_encode(&p, &b), CODEC_OK);
    return (codec_span){b.data, b.len};
}

/* Colluding validators re-run the executor on every block of `from`, with tx `index` of
 * block `height` replaced by the pruned entry above, and certify the results. The batch
 * (and so the commit certificate, which honest replicas signed over the real tx) is
 * unchanged: the entry keeps the real tx's leaf. */
static ledger *forged_by_execution(ledger *from, uint64_t height, uint32_t index,
                                   hash32 *hidden_tx_id)
{
    ledger *to = tu_open(forged_dir, &chain);
    exec *e;
    exec_error err;
    cr_assert_eq(exec_open(to, NULL, &e, &err), EXEC_OK, "%s", err.message);
    ledger_summary head;
    ledger_head(from, &head);
    static codec_span txs[CODEC_BLOCK_TXS_MAX], receipts[CODEC_BLOCK_TXS_MAX];
    static codec_write writes[CODEC_WRITES_MAX];
    for (uint64_t h = 1; h <= head.height; h++) {
        uint8_t *data;
        size_t len;
        cr_assert_eq(ledger_get_block(from, h, &data, &len), LEDGER_OK);
        codec_block b = {.txs = txs, .receipts = receipts, .writes = writes};
        cr_assert_eq(codec_block_decode(data, len, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX,
                                        NULL), CODEC_OK);
        if (h == height) {
            cr_assert_lt(index, b.tx_count);
            codec_receipt r;
            cr_assert_eq(codec_receipt_decode(receipts[index].data, receipts[index].len, &r, NULL),
                         CODEC_OK);
            cr_assert_eq(r.status, RECEIPT_OK, "the hidden tx ran");
            codec_entry_tx_id(&txs[index], hidden_tx_id);
            txs[index] = prune_under_another_route(&txs[index]);
        }
        ledger_summary s;
        cr_assert_eq(exec_block(e, &b.header.batch, b.txs, &b.commit_cert, &s, &err), EXEC_OK,
                     "height %llu: %s", (unsigned long long)h, err.message);
        certify_all(to, &s);
        free(data);
    }
    exec_close(e);
    return to;
}

/* A tx that ran (OK) is kept as a pruned entry whose method does not exist: its leaf is the
 * real one, so the tx root and the commit certificate hold; the re-execution repeats the
 * refusal from the entry's route alone (FORMATS 5.10) and cannot see that the entry lies
 * about the tx it replaces, whose bytes the ledger no longer has. The tx is hidden: its
 * effects are gone, and its receipt says the method does not exist. */
Test(reexecute_holes, known_hole_a_tx_that_ran_hidden_as_a_pruned_entry_of_another_route_passes)
{
    ledger *honest = tu_open(dir, &chain);
    char why[300];
    cr_assert_eq(sample_trial_write(honest, &chain.keys, 4, 30, why, sizeof why), 0, "%s", why);
    hash32 hidden;
    ledger *forged = forged_by_execution(honest, 3, 0, &hidden);
    uint64_t height;
    uint32_t index;
    cr_assert_eq(ledger_find_tx(forged, &hidden, &height, &index), LEDGER_OK);
    cr_assert_eq(height, 3, "the hidden tx's id and leaf are in the forged ledger");
    audit_summary s;
    audit_failure f;
    cr_assert(audit_ledger(forged, false, &s, &f), "the plain audit trusts the certificates");
    /* the hole: nothing binds a pruned entry's route to its leaf hash, so a colluding quorum
     * can replace a tx that ran by a refusal of a route it never named (the tx's author can
     * see it: the receipt's tx.pruned data is not the hash of the pruned form of their tx) */
    cr_expect(audit_ledger(forged, true, &s, &f),
              "audit --reexecute now refuses the hidden tx (%s): the hole is closed, move this "
              "test to test_reexecute.c, inverted", f.reason);
    ledger_close(forged);
    ledger_close(honest);
}
