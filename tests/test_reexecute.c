/*
 * test_reexecute.c - the audit's re-execution (audit_options.reexecute): an executed
 * ledger replays to the same receipts, writes and state; a ledger whose validators
 * colluded to certify wrong results passes the plain audit and is caught by replay, at
 * the height, tx and field that differ.
 */
#include <criterion/criterion.h>
#include <leveldb/c.h>
#include <unistd.h>

#include "audit.h"
#include "executor.h"
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
 * certify every block below certify_below (0: every block) with all validator keys: what
 * colluding validators can publish. */
static ledger *forged_copy_tail(ledger *from, uint64_t height, forge_fn forge, uint32_t *which,
                                uint64_t certify_below)
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
        if (certify_below == 0 || h < certify_below) certify_all(to, &s);
        free(data);
    }
    return to;
}

static ledger *forged_copy(ledger *from, uint64_t height, forge_fn forge, uint32_t *which)
{
    return forged_copy_tail(from, height, forge, which, 0);
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

/* ---- review (issue 18 item 3): more forgeries, and honest ledgers -------------------- */

/* The uncertified tail is re-executed too: a refusal turned OK in a block no result
 * certificate covers is reported as uncertified by the plain audit and as a difference
 * by the replay. */
Test(reexecute, a_changed_receipt_in_the_uncertified_tail_fails_replay)
{
    ledger *honest = executed_trial(4, 30);
    uint32_t tx;
    ledger *forged = forged_copy_tail(honest, 3, refused_to_ok, &tx, 3);
    audit_summary s;
    audit_failure f;
    cr_assert(audit_ledger(forged, false, &s, &f), "%s", f.reason);
    cr_expect_eq(s.uncertified_from, 3);
    cr_assert_not(audit_ledger(forged, true, &s, &f));
    cr_expect_eq(f.height, 3, "%s", f.reason);
    cr_expect_eq(f.tx_index, (int64_t)tx, "%s", f.reason);
    cr_expect(strstr(f.reason, "receipt status") != NULL, "%s", f.reason);
    ledger_close(forged);
    ledger_close(honest);
}

/* The time the next block of l gets in these tests (the sample trial's spacing). */
static uint64_t next_block_time(ledger *l)
{
    ledger_summary head;
    ledger_head(l, &head);
    return ledger_genesis(l)->created_ms + (head.height + 1) * 1000;
}

/* Execute txs as l's next block (every validator signs both certificates). */
static void commit_block(ledger *l, const codec_span *txs, uint32_t n, uint64_t time_ms)
{
    exec *e;
    exec_error err;
    cr_assert_eq(exec_open(l, NULL, &e, &err), EXEC_OK, "%s", err.message);
    ledger_summary s;
    cr_assert_eq(exec_commit_local(e, chain.keys.validators, chain.keys.validator_count, time_ms,
                                   txs, n, &s, &err), EXEC_OK, "%s", err.message);
    exec_close(e);
}

/* A sample tx signed by another consortium's keys: no role on this chain, so the executor
 * refuses it (NO_ROLE) and keeps it pruned. */
static codec_span stranger_tx(ledger *l, uint8_t *buf, size_t cap)
{
    sample_keys other;
    sample_keys_derive(99, 4, &other);
    codec_buf b = codec_buf_make(buf, cap);
    cr_assert_eq(sample_tx(&other, ledger_chain_id(l), 1, next_block_time(l) + SAMPLE_VALID_FOR_MS,
                           &b), 0);
    return (codec_span){b.data, b.len};
}

static codec_span whole_tx;

/* The block's first pruned entry is replaced by the whole tx it stands for (same leaf, so
 * the tx root, the commit certificate, the receipts and the writes stay as they were). */
static void unprune(codec_block *b, uint8_t *buf, size_t cap, uint32_t *which)
{
    (void)buf;
    (void)cap;
    for (uint32_t i = 0; i < b->tx_count; i++) {
        if (!codec_entry_is_pruned(&b->txs[i])) continue;
        b->txs[i] = whole_tx;
        *which = i;
        return;
    }
    cr_assert_fail("no pruned tx in the block");
}

/* FORMATS 5.10: a tx refused for its signer or route is kept pruned, so that nobody writes
 * free bytes into the ledger. Validators that keep it whole (its receipt still names the
 * pruned entry the executor would have kept) wrote those bytes: the results are the same,
 * the block is not what the executor stores. */
Test(reexecute, a_tx_kept_whole_where_the_executor_prunes_it_fails_the_audit)
{
    ledger *honest = executed_trial(2, 8);
    static uint8_t tx[4096];
    whole_tx = stranger_tx(honest, tx, sizeof tx);
    commit_block(honest, &whole_tx, 1, next_block_time(honest));
    uint8_t st[4];
    cr_assert_eq(statuses(honest, 3, st, 4), 1);
    cr_assert_eq(st[0], RECEIPT_INVALID, "the stranger's tx is refused (and pruned)");
    audit_summary s;
    audit_failure f;
    cr_assert(audit_ledger(honest, true, &s, &f), "%s", f.reason);
    uint32_t which;
    ledger *forged = forged_copy(honest, 3, unprune, &which);
    cr_assert_not(audit_ledger(forged, false, &s, &f), "the plain audit refuses it");
    cr_expect_eq(f.height, 3, "%s", f.reason);
    cr_expect_eq(f.tx_index, (int64_t)which, "%s", f.reason);
    cr_expect(strstr(f.reason, "kept whole") != NULL, "%s", f.reason);
    cr_assert_not(audit_ledger(forged, true, &s, &f), "and so does the re-execution");
    ledger_close(forged);
    ledger_close(honest);
}

/* A whole tx whose author signature does not verify can only be committed by validators
 * that prepared it without checking (honest backups refuse such a PRE-PREPARE, node.c);
 * its receipt, INVALID code 2, is what the executor gives it, yet the plain audit refuses
 * the ledger at that tx: the audit's rule is that every whole tx verifies (FORMATS 8,
 * step 3.2), which the replay relies on (replay.h: it checks no signature itself). */
Test(reexecute, a_tx_with_a_bad_signature_and_its_invalid_receipt_fails_the_plain_audit)
{
    ledger *l = executed_trial(2, 8);
    static uint8_t tx[4096];
    codec_buf b = codec_buf_make(tx, sizeof tx);
    cr_assert_eq(sample_tx(&chain.keys, ledger_chain_id(l), 7, next_block_time(l)
                           + SAMPLE_VALID_FOR_MS, &b), 0);
    codec_tx decoded;
    cr_assert_eq(codec_tx_decode(b.data, b.len, &decoded, NULL), CODEC_OK);
    uint8_t *sig = NULL; /* where the author signature sits in the tx's bytes */
    for (size_t at = 0; !sig && at + 64 <= b.len; at++) {
        if (memcmp(tx + at, decoded.sig.bytes, 64) == 0) sig = tx + at;
    }
    cr_assert_not_null(sig);
    sig[10] ^= 1;
    codec_span span = {b.data, b.len};
    commit_block(l, &span, 1, next_block_time(l));
    uint8_t st[4];
    cr_assert_eq(statuses(l, 3, st, 4), 1);
    cr_assert_eq(st[0], RECEIPT_INVALID, "the executor refuses it (code 2)");
    audit_summary s;
    audit_failure f;
    for (int reexecute = 0; reexecute < 2; reexecute++) {
        cr_assert_not(audit_ledger(l, reexecute, &s, &f));
        cr_expect_eq(f.height, 3, "%s", f.reason);
        cr_expect_eq(f.tx_index, 0, "%s", f.reason);
        /* with the replay too: the replay runs the tx unchecked and differs from its
         * (right) receipt at the same tx, but the cause to report is the signature */
        cr_expect(strstr(f.reason, "author signature is invalid") != NULL, "%s%s", f.reason,
                  reexecute ? " (re-executing)" : "");
    }
    ledger_close(l);
}

/* A scratch directory left over by an audit that was stopped holds a replayed ledger:
 * the next replay must not build on it (it would report the audited ledger's block 1 as
 * refused), but say that the directory is not empty. */
Test(reexecute, a_scratch_directory_that_is_not_empty_is_refused_not_blamed_on_the_ledger)
{
    ledger *l = executed_trial(3, 8);
    ledger *stale = tu_open(scratch, &chain); /* what a replay stopped at height 2 leaves */
    char why[300];
    cr_assert_eq(sample_trial_write(stale, &chain.keys, 2, 8, why, sizeof why), 0, "%s", why);
    ledger_close(stale);
    audit_ledger_cursor cursor;
    audit_source src;
    audit_ledger_source(&cursor, l, &src);
    audit_options opt = {.threads = 2, .reexecute = true, .scratch_dir = scratch};
    audit_summary s;
    audit_failure f;
    cr_assert_not(audit_run_with(chain.genesis, chain.genesis_len, &src, &opt, &s, &f));
    cr_expect_eq(f.height, 0, "not a block's fault: %s", f.reason);
    cr_expect(strstr(f.reason, "not empty") != NULL, "%s", f.reason);
    audit_ledger_cursor_done(&cursor);
    ledger_close(l);
}

/* FORMATS 5.2: the effective block time is max(time_ms, previous + 1), starting from the
 * genesis's created_ms: a first block proposed before the genesis (a null batch, time 0)
 * runs at created_ms + 1, which the contracts see and sys/clock keeps. */
Test(reexecute, the_first_block_runs_after_the_genesis_time)
{
    ledger *l = tu_open(dir, &chain);
    commit_block(l, NULL, 0, 0);
    uint8_t *clock;
    size_t len;
    cr_assert_eq(ledger_state_get(l, (const uint8_t *)"sys/clock", 9, &clock, &len), LEDGER_OK);
    cr_assert_eq(len, 8);
    uint64_t t = 0;
    for (int i = 0; i < 8; i++) t = t << 8 | clock[i];
    free(clock);
    cr_expect_eq(t, ledger_genesis(l)->created_ms + 1);
    ledger_close(l);
}

/* ---- a store whose state rows are not what its blocks wrote ---------------------------- */

/* The value of state key `key` (the store's row 's' || key) is replaced behind the
 * ledger's back, as whoever holds the data directory can. */
static void overwrite_state_row(const char *path, const char *key, const uint8_t *value,
                                size_t len)
{
    leveldb_options_t *o = leveldb_options_create();
    char *error = NULL;
    leveldb_t *db = leveldb_open(o, path, &error);
    cr_assert_null(error, "%s", error);
    char row[64];
    size_t row_len = (size_t)snprintf(row, sizeof row, "s%s", key);
    leveldb_writeoptions_t *w = leveldb_writeoptions_create();
    leveldb_put(db, w, row, row_len, (const char *)value, len, &error);
    cr_assert_null(error, "%s", error);
    leveldb_writeoptions_destroy(w);
    leveldb_close(db);
    leveldb_options_destroy(o);
}

/* The audit of a data directory (audit_ledger_source) checks its blocks; a node answers
 * queries from its state rows (exec_query_*, exec_read_allowed). A row changed after the
 * fact (here the block clock; a consent record the same way) is in no block, so the plain
 * audit cannot see it; the re-execution holds the state the blocks give, row for row, in
 * its scratch ledger, and compares. */
Test(reexecute, a_store_whose_state_rows_differ_from_its_blocks_fails_replay)
{
    ledger *l = tu_open(dir, &chain);
    char why[300];
    cr_assert_eq(sample_trial_write(l, &chain.keys, 3, 8, why, sizeof why), 0, "%s", why);
    ledger_close(l);
    static const uint8_t forged_clock[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    overwrite_state_row(dir, "sys/clock", forged_clock, 8);
    l = tu_open(dir, &chain);
    uint8_t *v;
    size_t len;
    cr_assert_eq(ledger_state_get(l, (const uint8_t *)"sys/clock", 9, &v, &len), LEDGER_OK);
    cr_assert(len == 8 && memcmp(v, forged_clock, 8) == 0, "the store now answers the forged row");
    free(v);
    audit_summary s;
    audit_failure f;
    cr_assert(audit_ledger(l, false, &s, &f), "the blocks are intact: %s", f.reason);
    cr_assert_not(audit_ledger(l, true, &s, &f),
                  "audit --reexecute of the store passed, its state rows differ from its blocks'");
    cr_expect_eq(s.reexecuted, 3, "every block replayed the same");
    cr_expect(strstr(f.reason, "state row sys/clock") != NULL, "%s", f.reason);
    cr_expect(strstr(f.reason, "value differs") != NULL, "%s", f.reason);
    ledger_close(l);
}

/* The same replay from an export (audit_file_source): the honest executed trial passes,
 * and a refusal certified as OK in it is caught at its height and tx. An export has no
 * state rows, so only blocks are compared. */
Test(reexecute, an_export_replays_like_its_store)
{
    ledger *honest = executed_trial(4, 30);
    uint32_t tx;
    ledger *forged = forged_copy(honest, 2, refused_to_ok, &tx);
    ledger *stores[2] = {honest, forged};
    char exports[256];
    tu_tempdir(exports, "reexec-exports");
    for (int k = 0; k < 2; k++) {
        char path[300];
        snprintf(path, sizeof path, "%s/export-%d", exports, k);
        FILE *out = fopen(path, "wb");
        cr_assert_not_null(out);
        char why[300];
        cr_assert_eq(audit_export(stores[k], out, why, sizeof why), 0, "%s", why);
        fclose(out);
        audit_file *file;
        cr_assert_eq(audit_file_open(path, &file, why, sizeof why), 0, "%s", why);
        audit_source src;
        audit_file_source(file, &src);
        audit_options opt = {.threads = 2, .reexecute = true, .scratch_dir = scratch};
        audit_summary s;
        audit_failure f;
        bool ok = audit_run_with(chain.genesis, chain.genesis_len, &src, &opt, &s, &f);
        audit_file_close(file);
        tu_rmdir(scratch);
        if (k == 0) {
            cr_expect(ok, "the honest export: %s", f.reason);
            cr_expect_eq(s.reexecuted, 4);
        } else {
            cr_expect_not(ok, "the forged export passed the re-execution");
            cr_expect_eq(f.height, 2, "%s", f.reason);
            cr_expect_eq(f.tx_index, (int64_t)tx, "%s", f.reason);
        }
    }
    tu_rmdir(exports);
    ledger_close(forged);
    ledger_close(honest);
}

/* ---- one field at a time: every part of a result the replay must see ---------------- */

static int mutation; /* which change forge_one makes */

/* The first receipt of the block with status `status` (and events, if want_events). */
static uint32_t find_receipt(const codec_block *b, uint8_t status, bool want_events,
                             codec_receipt *r)
{
    for (uint32_t i = 0; i < b->receipt_count; i++) {
        cr_assert_eq(codec_receipt_decode(b->receipts[i].data, b->receipts[i].len, r, NULL),
                     CODEC_OK);
        if (r->status == status && (!want_events || r->event_count > 0)) return i;
    }
    cr_assert_fail("no such receipt in the block");
    return 0;
}

static void forge_one(codec_block *b, uint8_t *buf, size_t cap, uint32_t *which)
{
    static codec_receipt r;
    static uint8_t data[CODEC_RECEIPT_MAX];
    static const uint8_t extra_key[] = "consent/forged", extra_value[] = "1";
    uint32_t i = 0;
    switch (mutation) {
    case 0: /* gas used */
        i = find_receipt(b, RECEIPT_OK, false, &r);
        r.gas_used++;
        break;
    case 1: /* an event's data */
        i = find_receipt(b, RECEIPT_OK, true, &r);
        cr_assert_gt(r.events[0].len, 0);
        memcpy(data, r.events[0].data, r.events[0].len);
        data[0] ^= 1;
        r.events[0].data = data;
        break;
    case 2: /* the reason text of a refusal */
        i = find_receipt(b, RECEIPT_REFUSED, false, &r);
        snprintf(r.reason, sizeof r.reason, "%s", "consent witnessed");
        break;
    case 3: { /* the order of two writes */
        codec_write w = b->writes[0];
        b->writes[0] = b->writes[1];
        b->writes[1] = w;
        *which = 0;
        return;
    }
    case 4: /* an extra write */
        b->writes[b->write_count++] = (codec_write){extra_key, sizeof extra_key - 1,
                                                    extra_value, sizeof extra_value - 1};
        *which = b->write_count - 1;
        return;
    case 5: /* a put turned into a delete */
        b->writes[2].value = NULL;
        b->writes[2].value_len = 0;
        *which = 2;
        return;
    }
    codec_buf out = codec_buf_make(buf, cap);
    cr_assert_eq(codec_receipt_encode(&r, &out), CODEC_OK);
    b->receipts[i] = (codec_span){buf, out.len};
    *which = i;
}

Test(reexecute, every_changed_result_field_is_named_by_the_replay)
{
    static const char *named[] = {"receipt gas_used", "receipt event 0", "receipt reason",
                                  "state write 0: the ledger writes key",
                                  "state writes: the ledger has", "state write 2 (key"};
    static const int64_t tx_named[] = {1, 1, 1, 0, 0, 0}; /* 1: the receipt's tx; 0: none */
    ledger *honest = executed_trial(3, 30);
    for (mutation = 0; mutation < 6; mutation++) {
        uint32_t which;
        ledger *forged = forged_copy(honest, 3, forge_one, &which);
        audit_summary s;
        audit_failure f;
        cr_expect(audit_ledger(forged, false, &s, &f), "change %d, plain: %s", mutation,
                  f.reason);
        cr_expect_not(audit_ledger(forged, true, &s, &f), "change %d passed the replay",
                      mutation);
        cr_expect_eq(f.height, 3, "change %d: %s", mutation, f.reason);
        cr_expect_eq(f.tx_index, tx_named[mutation] ? (int64_t)which : -1, "change %d: %s",
                     mutation, f.reason);
        cr_expect(strstr(f.reason, named[mutation]) != NULL, "change %d: wanted '%s' in: %s",
                  mutation, named[mutation], f.reason);
        ledger_close(forged);
        tu_rmdir(forged_dir);
    }
    ledger_close(honest);
}

/* A tx that ran kept as its own pruned form (same signer and route) with a forged refusal
 * receipt naming it: the plain audit takes the refusal from the certificate; the replay
 * finds that the route admits the tx and names it withheld (EXEC_ERR_WITHHELD). */
static void prune_a_tx_that_ran(codec_block *b, uint8_t *buf, size_t cap, uint32_t *which)
{
    static codec_tx tx;
    static uint8_t entry[256];
    static hash32 entry_hash;
    static codec_receipt r;
    uint32_t i = find_receipt(b, RECEIPT_OK, false, &r);
    cr_assert_eq(codec_tx_decode(b->txs[i].data, b->txs[i].len, &tx, NULL), CODEC_OK);
    codec_pruned_tx p;
    codec_pruned_tx_of(&tx, &b->txs[i], &p);
    codec_buf eb = codec_buf_make(entry, sizeof entry);
    cr_assert_eq(codec_pruned_tx_encode(&p, &eb), CODEC_OK);
    b->txs[i] = (codec_span){eb.data, eb.len};
    tcrypto_sha256(eb.data, eb.len, &entry_hash);
    r.status = RECEIPT_INVALID;
    r.error_code = EXEC_E_NO_ROLE;
    snprintf(r.reason, sizeof r.reason, "%s", exec_reason(RECEIPT_INVALID, EXEC_E_NO_ROLE));
    r.gas_used = 0;
    r.event_count = 1;
    snprintf(r.events[0].topic.text, sizeof r.events[0].topic.text, "%s", EXEC_PRUNED_TOPIC);
    r.events[0].data = entry_hash.bytes;
    r.events[0].len = 32;
    codec_buf out = codec_buf_make(buf, cap);
    cr_assert_eq(codec_receipt_encode(&r, &out), CODEC_OK);
    b->receipts[i] = (codec_span){buf, out.len};
    *which = i;
}

Test(reexecute, a_tx_that_ran_kept_as_its_own_pruned_form_is_named_withheld)
{
    ledger *honest = executed_trial(3, 30);
    uint32_t tx;
    ledger *forged = forged_copy(honest, 2, prune_a_tx_that_ran, &tx);
    audit_summary s;
    audit_failure f;
    cr_assert(audit_ledger(forged, false, &s, &f), "plain: %s", f.reason);
    cr_assert_not(audit_ledger(forged, true, &s, &f));
    cr_expect_eq(f.height, 2, "%s", f.reason);
    cr_expect_eq(f.tx_index, (int64_t)tx, "%s", f.reason);
    cr_expect(strstr(f.reason, "withheld") != NULL, "%s", f.reason);
    ledger_close(forged);
    ledger_close(honest);
}

/* ---- known holes, pinned ---------------------------------------------------------------
 * Forged ledgers that `audit --reexecute` should refuse and does not. Each test asserts what
 * happens TODAY (the forgery passes) and says why, so the hole stays visible and CI stays
 * honest: when a fix closes the hole, its test fails; then invert it. docs/FORMATS.md 5.10
 * and ARCHITECTURE.md 3.9 describe each hole. */

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
Test(reexecute, known_hole_a_tx_that_ran_hidden_as_a_pruned_entry_of_another_route_passes)
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
