/*
 * test_reexecute.c - the audit's re-execution (audit_options.reexecute): an executed
 * ledger replays to the same receipts, writes and state; a ledger whose validators
 * colluded to certify wrong results passes the plain audit and is caught by replay, at
 * the height, tx and field that differ.
 */
#include <criterion/criterion.h>
#include <unistd.h>

#include "audit.h"
#include "testutil.h"

static char dir[256], forged_dir[256], scratch[256];
static tu_chain chain;

static void setup(void)
{
    cr_assert_eq(tcrypto_init(), TCRYPTO_OK);
    tu_tempdir(dir, "reexec");
    tu_tempdir(forged_dir, "reexec-forged");
    tu_tempdir(scratch, "reexec-scratch");
    rmdir(scratch); /* the replay creates its ledger here */
    tu_chain_make(&chain, 5);
}

static void teardown(void)
{
    tu_rmdir(dir);
    tu_rmdir(forged_dir);
    tu_rmdir(scratch);
    free(chain.genesis);
}

TestSuite(reexecute, .init = setup, .fini = teardown);

static ledger *executed_trial(uint64_t blocks, uint32_t txs)
{
    ledger *l = tu_open(dir, &chain);
    char why[300];
    cr_assert_eq(sample_trial_write(l, &chain.keys, blocks, txs, why, sizeof why), 0, "%s", why);
    return l;
}

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

/* The receipt statuses of a stored block. */
static uint32_t statuses(ledger *l, uint64_t height, uint8_t *out, uint32_t cap)
{
    uint8_t *data;
    size_t len;
    cr_assert_eq(ledger_get_block(l, height, &data, &len), LEDGER_OK);
    static codec_span txs[CODEC_BLOCK_TXS_MAX], receipts[CODEC_BLOCK_TXS_MAX];
    static codec_write writes[CODEC_WRITES_MAX];
    codec_block b = {.txs = txs, .receipts = receipts, .writes = writes};
    cr_assert_eq(codec_block_decode(data, len, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL),
                 CODEC_OK);
    uint32_t n = 0;
    for (; n < b.receipt_count && n < cap; n++) {
        codec_receipt r;
        cr_assert_eq(codec_receipt_decode(receipts[n].data, receipts[n].len, &r, NULL), CODEC_OK);
        out[n] = r.status;
    }
    free(data);
    return n;
}

Test(reexecute, an_executed_sample_trial_replays_to_the_same_receipts_writes_and_state)
{
    ledger *l = executed_trial(6, 30);
    /* the mix is real: OK receipts and the contract's refusals of unwitnessed consents */
    uint8_t st[CODEC_BLOCK_TXS_MAX];
    uint32_t ok = 0, refused = 0;
    for (uint64_t h = 1; h <= 6; h++) {
        uint32_t n = statuses(l, h, st, CODEC_BLOCK_TXS_MAX);
        for (uint32_t i = 0; i < n; i++) {
            ok += st[i] == RECEIPT_OK;
            refused += st[i] == RECEIPT_REFUSED;
        }
    }
    cr_assert_gt(ok, 100);
    cr_assert_gt(refused, 2);
    audit_summary s;
    audit_failure f;
    cr_assert(audit_ledger(l, true, &s, &f), "%s (height %llu)", f.reason,
              (unsigned long long)f.height);
    cr_assert_eq(s.blocks, 6);
    cr_assert_eq(s.reexecuted, 6);
    cr_assert_eq(s.uncertified_from, 0);
    ledger_close(l);
}

/* ---- forging: validators that collude ----------------------------------------------- */

typedef void (*forge_fn)(codec_block *b, uint8_t *scratch_buf, size_t cap, uint32_t *which);

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

/* Copy every block of from into a new ledger, letting forge change block `height`, and
 * certify every block with all validator keys: what colluding validators can publish. */
static ledger *forged_copy(ledger *from, uint64_t height, forge_fn forge, uint32_t *which)
{
    ledger *to = tu_open(forged_dir, &chain);
    ledger_summary head;
    ledger_head(from, &head);
    static codec_span txs[CODEC_BLOCK_TXS_MAX], receipts[CODEC_BLOCK_TXS_MAX];
    static codec_write writes[CODEC_WRITES_MAX];
    static uint8_t buf[4096];
    for (uint64_t h = 1; h <= head.height; h++) {
        uint8_t *data;
        size_t len;
        cr_assert_eq(ledger_get_block(from, h, &data, &len), LEDGER_OK);
        codec_block b = {.txs = txs, .receipts = receipts, .writes = writes};
        cr_assert_eq(codec_block_decode(data, len, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX,
                                        NULL), CODEC_OK);
        if (h == height) forge(&b, buf, sizeof buf, which);
        ledger_block_input in = {.batch = b.header.batch, .txs = b.txs, .receipts = b.receipts,
                                 .writes = b.writes, .write_count = b.write_count,
                                 .commit_cert = b.commit_cert};
        ledger_summary s;
        ledger_error err;
        cr_assert_eq(ledger_append(to, &in, &s, &err), LEDGER_OK, "%s", err.message);
        certify_all(to, &s);
        free(data);
    }
    return to;
}

/* The first REFUSED receipt of the block becomes OK (code 0, no reason). */
static void refused_to_ok(codec_block *b, uint8_t *buf, size_t cap, uint32_t *which)
{
    for (uint32_t i = 0; i < b->receipt_count; i++) {
        codec_receipt r;
        cr_assert_eq(codec_receipt_decode(b->receipts[i].data, b->receipts[i].len, &r, NULL),
                     CODEC_OK);
        if (r.status != RECEIPT_REFUSED) continue;
        r.status = RECEIPT_OK;
        r.error_code = 0;
        r.reason[0] = '\0';
        codec_buf out = codec_buf_make(buf, cap);
        cr_assert_eq(codec_receipt_encode(&r, &out), CODEC_OK);
        b->receipts[i] = (codec_span){buf, out.len};
        *which = i;
        return;
    }
    cr_assert_fail("no refused receipt in the block");
}

/* The last write's value changes (its first byte flips). */
static void flip_a_write(codec_block *b, uint8_t *buf, size_t cap, uint32_t *which)
{
    cr_assert_gt(b->write_count, 0);
    codec_write *w = &b->writes[b->write_count - 1];
    cr_assert(w->value && w->value_len > 0 && w->value_len <= cap);
    memcpy(buf, w->value, w->value_len);
    buf[0] ^= 1;
    w->value = buf;
    *which = b->write_count - 1;
}

Test(reexecute, a_refusal_certified_as_ok_passes_the_plain_audit_and_fails_replay)
{
    ledger *honest = executed_trial(5, 30);
    uint32_t tx;
    ledger *forged = forged_copy(honest, 3, refused_to_ok, &tx);
    audit_summary s;
    audit_failure f;
    cr_assert(audit_ledger(forged, false, &s, &f), "the plain audit trusts the certificates: %s",
              f.reason);
    cr_assert_not(audit_ledger(forged, true, &s, &f));
    cr_expect_eq(f.height, 3, "%s", f.reason);
    cr_expect_eq(f.tx_index, (int64_t)tx, "%s", f.reason);
    cr_expect(strstr(f.reason, "receipt status: the ledger says OK 0, re-execution gives REFUSED")
              != NULL, "%s", f.reason);
    cr_expect_eq(s.reexecuted, 2, "blocks 1 and 2 replayed the same");
    ledger_close(forged);
    ledger_close(honest);
}

Test(reexecute, a_state_write_changed_and_certified_fails_replay_naming_the_write)
{
    ledger *honest = executed_trial(4, 30);
    uint32_t w;
    ledger *forged = forged_copy(honest, 4, flip_a_write, &w);
    audit_summary s;
    audit_failure f;
    cr_assert(audit_ledger(forged, false, &s, &f), "%s", f.reason);
    cr_assert_not(audit_ledger(forged, true, &s, &f));
    cr_expect_eq(f.height, 4, "%s", f.reason);
    cr_expect_eq(f.tx_index, -1, "%s", f.reason);
    char want[64];
    snprintf(want, sizeof want, "state write %u ", w);
    cr_expect(strstr(f.reason, want) != NULL, "wanted '%s' in: %s", want, f.reason);
    ledger_close(forged);
    ledger_close(honest);
}

Test(reexecute, replay_needs_a_scratch_directory)
{
    ledger *l = executed_trial(2, 8);
    audit_ledger_cursor cursor;
    audit_source src;
    audit_ledger_source(&cursor, l, &src);
    audit_options opt = {.reexecute = true};
    audit_summary s;
    audit_failure f;
    cr_assert_not(audit_run_with(chain.genesis, chain.genesis_len, &src, &opt, &s, &f));
    cr_expect(strstr(f.reason, "scratch directory") != NULL, "%s", f.reason);
    audit_ledger_cursor_done(&cursor);
    ledger_close(l);
}
