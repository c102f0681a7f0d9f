/*
 * test_unroutable.c - issue 14 item C: nobody can write free bytes into the ledger.
 *
 * An unroutable tx is one whose signer holds no role, or whose contract, method or
 * arguments do not exist or do not fit. Each kind carries a marker (the bytes a name
 * would be: "free bytes") and must be
 *   1. refused by the node a client submits to (client API, against its state);
 *   2. (test_node.c) refused by a backup in a PRE-PREPARE when it is invalid in every
 *      state (not the no-role kind: an enrolment may be in flight);
 *   3. if it still reaches a block, kept without its arguments: the stored block holds
 *      none of the marker's bytes, while the audit, the inclusion proof and re-execution
 *      still hold.
 * A refusal by the contract's logic, from a signer with a role, keeps the whole tx.
 */
#include <stdatomic.h>

#include "audit.h"
#include "client_api.h"
#include "ctest_world.h"
#include "proof.h"

#define MARKER "JANE-DOE-1970-01-01-MRN-0042-X"

static uint8_t big[1024];

static void fill_big(void)
{
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)MARKER[i % (sizeof MARKER - 1)];
}

typedef struct {
    const char *name;
    uint32_t code;       /* the receipt's INVALID code if it reaches a block */
    bool static_invalid; /* invalid in every state: refused in a PRE-PREPARE */
} kind;

static const kind KINDS[] = {
    {"signer with no role", EXEC_E_NO_ROLE, false},
    {"unknown contract", EXEC_E_NO_CONTRACT, true},
    {"unknown method", EXEC_E_NO_METHOD, true},
    {"wrong argument count", EXEC_E_BAD_ARGS, true},
    {"wrong argument kind", EXEC_E_BAD_ARGS, true},
};
#define KIND_COUNT (sizeof KINDS / sizeof KINDS[0])

/* The k-th unroutable tx, signed; its bytes carry MARKER. */
static size_t unroutable_tx(tw *t, uint32_t k, const keypair *stranger, uint8_t *out, size_t cap)
{
    world *w = &t->w;
    codec_value many[16];
    for (int i = 0; i < 16; i++) many[i] = world_bytes(big, sizeof big);
    switch (k) {
    case 0: /* a brand-new key, well-formed call: approve(T, 1) with T the marker */
        return world_sign(w, stranger, 0, NULL, "protocol", "approve",
                          ARGS(world_bytes(MARKER, 30), world_int(1)), NULL, 0, out, cap);
    case 1:
        return world_sign(w, &w->sponsor, WORLD_NEXT_NONCE, NULL, "nosuch", "m", many, 16, NULL,
                          0, out, cap);
    case 2:
        return world_sign(w, &w->sponsor, WORLD_NEXT_NONCE, NULL, "protocol", "nosuch", many, 16,
                          NULL, 0, out, cap);
    case 3:
        return world_sign(w, &w->sponsor, WORLD_NEXT_NONCE, NULL, "protocol", "approve", many, 16,
                          NULL, 0, out, cap);
    default: /* approve(T, version) with a 1 KiB byte string where the version is */
        return world_sign(w, &w->sponsor, WORLD_NEXT_NONCE, NULL, "protocol", "approve",
                          ARGS(world_text(TRIAL), world_bytes(big, sizeof big)), NULL, 0, out,
                          cap);
    }
}

static bool contains(const uint8_t *hay, size_t len, const void *needle, size_t nlen)
{
    for (size_t i = 0; i + nlen <= len; i++)
        if (memcmp(hay + i, needle, nlen) == 0) return true;
    return false;
}

/* ---- layer 1: the client API ------------------------------------------------------- */

static atomic_int handed_over;

static void count_submit(void *ctx, const codec_span *txs, uint32_t count,
                         codec_submit_result *results)
{
    (void)ctx;
    (void)txs;
    for (uint32_t i = 0; i < count; i++) {
        results[i].status = 0;
        results[i].reason[0] = 0;
        atomic_fetch_add(&handed_over, 1);
    }
}

static codec_client_response submit(capi *api, const uint8_t *tx, size_t len, uint8_t *reply,
                                    size_t cap)
{
    static uint8_t req[CODEC_TX_MAX + 64];
    codec_buf b = codec_buf_make(req, sizeof req);
    cr_assert_eq(codec_client_request_encode(CLIENT_SUBMIT, tx, len, &b), CODEC_OK);
    size_t n = capi_handle(api, b.data, b.len, reply, cap);
    codec_client_response r;
    cr_assert_eq(codec_client_response_decode(reply, n, &r, NULL), CODEC_OK);
    return r;
}

/* The node's clock, in the world's time (the txs' valid_until follows it). */
static uint64_t world_clock(void *ctx) { return ((const world *)ctx)->now_ms; }

Test(unroutable, each_kind_is_refused_at_submit_and_never_handed_to_consensus)
{
    fill_big();
    tw t;
    tw_open(&t, "unroutable-submit");
    tw_base(&t);
    keypair stranger;
    tcrypto_keypair_from_seed((const uint8_t *)"a brand-new key, in no genesis!!", &stranger);
    capi_config cfg = {.executor = t.w.e, .submit = count_submit, .skew_ms = 30000,
                       .blocks_max = 8, .clock = world_clock, .clock_ctx = &t.w};
    capi *api = capi_open(&cfg);
    cr_assert_not_null(api);
    static uint8_t tx[CODEC_TX_MAX], reply[4096];
    for (uint32_t k = 0; k < KIND_COUNT; k++) {
        size_t len = unroutable_tx(&t, k, &stranger, tx, sizeof tx);
        cr_assert_gt(len, 0);
        int before = atomic_load(&handed_over);
        codec_client_response r = submit(api, tx, len, reply, sizeof reply);
        cr_expect_eq(r.status, CAPI_SUBMIT_REFUSED, "%s: accepted at submit (status %u %s)",
                     KINDS[k].name, r.status, r.reason);
        cr_expect_eq(atomic_load(&handed_over), before, "%s: handed to consensus", KINDS[k].name);
    }
    /* a routable tx from a role holder is still accepted (its contract may refuse it) */
    size_t len = world_sign(&t.w, &t.w.sponsor, WORLD_NEXT_NONCE, NULL, "protocol", "approve",
                            ARGS(world_text(TRIAL), world_int(7)), NULL, 0, tx, sizeof tx);
    codec_client_response r = submit(api, tx, len, reply, sizeof reply);
    cr_expect_eq(r.status, CAPI_OK, "routable tx refused: %s", r.reason);
    capi_close(api);
    tw_close(&t);
}

/* ---- layer 3: what reaches a block keeps no free bytes ------------------------------ */

Test(unroutable, a_block_keeps_no_free_bytes_of_an_unroutable_tx)
{
    fill_big();
    tw t;
    tw_open(&t, "unroutable-ledger");
    tw_base(&t);
    keypair stranger;
    tcrypto_keypair_from_seed((const uint8_t *)"a brand-new key, in no genesis!!", &stranger);
    static uint8_t txb[KIND_COUNT + 1][CODEC_TX_MAX];
    codec_span spans[KIND_COUNT + 1];
    hash32 ids[KIND_COUNT + 1];
    for (uint32_t k = 0; k < KIND_COUNT; k++) {
        spans[k] = (codec_span){txb[k], unroutable_tx(&t, k, &stranger, txb[k], CODEC_TX_MAX)};
        cr_assert_gt(spans[k].len, 0);
    }
    /* control: the sponsor's approve of a version that does not exist is refused by the
     * contract (NO_VERSION): a refusal by contract logic keeps the whole tx */
    spans[KIND_COUNT] = (codec_span){
        txb[KIND_COUNT],
        world_sign(&t.w, &t.w.sponsor, WORLD_NEXT_NONCE, NULL, "protocol", "approve",
                   ARGS(world_bytes(MARKER, 30), world_int(9)), NULL, 0, txb[KIND_COUNT],
                   CODEC_TX_MAX)};
    for (uint32_t k = 0; k <= KIND_COUNT; k++) tcrypto_sha256(spans[k].data, spans[k].len, &ids[k]);
    codec_receipt rs[KIND_COUNT + 1];
    cr_assert_eq(world_commit(&t.w, 60000, spans, KIND_COUNT + 1, rs), 0);
    for (uint32_t k = 0; k < KIND_COUNT; k++) expect_invalid(rs[k], KINDS[k].code);
    cr_expect_eq(rs[KIND_COUNT].status, RECEIPT_REFUSED);

    ledger_summary head;
    ledger_head(t.w.l, &head);
    uint8_t *block;
    size_t block_len;
    cr_assert_eq(ledger_get_block(t.w.l, head.height, &block, &block_len), LEDGER_OK);
    /* the control keeps its whole tx, marker included */
    cr_expect(contains(block, block_len, spans[KIND_COUNT].data, spans[KIND_COUNT].len),
              "a contract refusal keeps its whole tx");
    /* the unroutable ones: no argument byte of theirs, not even a part of the marker */
    for (uint32_t k = 0; k < KIND_COUNT; k++) {
        const uint8_t *sig = spans[k].data + spans[k].len - 64;
        cr_expect(!contains(block, block_len, sig, 64), "%s: its signature is stored",
                  KINDS[k].name);
    }
    size_t marker_hits = 0;
    for (size_t i = 0; i + 16 <= block_len; i++)
        marker_hits += memcmp(block + i, MARKER, 16) == 0;
    cr_expect_eq(marker_hits, 1, "the block holds the marker %zu times (only the control's may stay)",
                 marker_hits);
    cr_expect_lt(block_len, 4096, "block of %zu bytes for 16 KiB of refused arguments", block_len);
    free(block);

    /* the audit still holds, and the inclusion proof of a pruned tx */
    audit_ledger_cursor cur;
    audit_source src;
    audit_ledger_source(&cur, t.w.l, &src);
    audit_summary sum;
    audit_failure fail;
    bool ok = audit_run(t.w.genesis, t.w.genesis_len, &src, 1, &sum, &fail);
    audit_ledger_cursor_done(&cur);
    cr_expect(ok, "audit: height %llu tx %lld: %s", (unsigned long long)fail.height,
              (long long)fail.tx_index, fail.reason);
    static uint8_t proof[1 << 16];
    char why[256] = "";
    for (uint32_t k = 0; k < KIND_COUNT; k++) {
        codec_buf pb = codec_buf_make(proof, sizeof proof);
        cr_expect_eq(proof_make_inclusion(t.w.l, &ids[k], &pb, why, sizeof why), 0, "%s: %s",
                     KINDS[k].name, why);
        cr_expect(proof_verify(t.w.genesis, t.w.genesis_len, pb.data, pb.len, why, sizeof why),
                  "%s: proof: %s", KINDS[k].name, why);
    }
    tw_close(&t);
}

/* Re-execution from an empty state (what catch-up and `audit --reexecute` do) of a ledger
 * with pruned txs: same receipts, same state hash, same stored bytes. */
Test(unroutable, reexecution_of_pruned_txs_gives_the_same_ledger)
{
    fill_big();
    tw a, b;
    tw_open(&a, "unroutable-reexec");
    tw_base(&a);
    keypair stranger;
    tcrypto_keypair_from_seed((const uint8_t *)"a brand-new key, in no genesis!!", &stranger);
    static uint8_t txb[KIND_COUNT][CODEC_TX_MAX];
    codec_span txs[KIND_COUNT];
    for (uint32_t k = 0; k < KIND_COUNT; k++)
        txs[k] = (codec_span){txb[k], unroutable_tx(&a, k, &stranger, txb[k], CODEC_TX_MAX)};
    cr_assert_eq(world_commit(&a.w, 60000, txs, KIND_COUNT, NULL), 0);
    tw_open(&b, "unroutable-reexec");
    tw_replay(&a, &b);
    tw_close(&a);
    tw_close(&b);
}

/* Whoever serves a block cannot change what a pruned tx keeps: its receipt's tx.pruned
 * event (certified through the receipts root) names the entry's hash, so the audit fails. */
Test(unroutable, a_changed_pruned_tx_fails_the_audit)
{
    fill_big();
    tw t;
    tw_open(&t, "unroutable-tamper");
    tw_base(&t);
    keypair stranger;
    tcrypto_keypair_from_seed((const uint8_t *)"a brand-new key, in no genesis!!", &stranger);
    static uint8_t txb[CODEC_TX_MAX];
    codec_span span = {txb, unroutable_tx(&t, 1, &stranger, txb, sizeof txb)}; /* nosuch.m */
    cr_assert_eq(world_commit(&t.w, 60000, &span, 1, NULL), 0);
    char path[300], why[256] = "";
    snprintf(path, sizeof path, "%s/ledger.export", t.dir);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(audit_export(t.w.l, f, why, sizeof why), 0, "%s", why);
    fclose(f);
    /* the pruned entry's contract "nosuch" becomes "nosuci" (same length, same receipt code) */
    f = fopen(path, "r+b");
    cr_assert_not_null(f);
    static uint8_t data[1 << 22];
    size_t len = fread(data, 1, sizeof data, f);
    size_t at = 0;
    for (size_t i = 0; i + 6 <= len && !at; i++)
        if (memcmp(data + i, "nosuch", 6) == 0) at = i;
    cr_assert_gt(at, 0);
    data[at + 5] = 'i';
    fseek(f, 0, SEEK_SET);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
    audit_file *af;
    cr_assert_eq(audit_file_open(path, &af, why, sizeof why), 0, "%s", why);
    audit_source src;
    audit_file_source(af, &src);
    audit_summary sum;
    audit_failure fail;
    cr_expect(!audit_run(t.w.genesis, t.w.genesis_len, &src, 1, &sum, &fail),
              "the audit accepted a changed pruned tx");
    cr_expect(strstr(fail.reason, "pruned") != NULL, "failure: %s", fail.reason);
    audit_file_close(af);
    tw_close(&t);
}

/* A block whose server swapped a tx that runs for a pruned entry of the same leaf cannot
 * be executed: exec_block fails with EXEC_ERR_WITHHELD, naming the tx, and appends
 * nothing (the node then fetches the height again from another peer). */
Test(unroutable, a_pruned_entry_standing_for_a_tx_that_runs_is_refused_at_execution)
{
    tw a, b;
    tw_open(&a, "unroutable-withheld");
    tw_base(&a);
    static uint8_t txb[CODEC_TX_MAX];
    size_t len = world_sign(&a.w, &a.w.sponsor, WORLD_NEXT_NONCE, NULL, "protocol", "approve",
                            ARGS(world_text(TRIAL), world_int(9)), NULL, 0, txb, sizeof txb);
    codec_span span = {txb, len};
    cr_assert_eq(world_commit(&a.w, 60000, &span, 1, NULL), 0);
    ledger_summary head_a, head_b;
    ledger_head(a.w.l, &head_a);
    tw_open(&b, "unroutable-withheld");
    codec_span *spans = malloc(2 * CODEC_BLOCK_TXS_MAX * sizeof *spans);
    codec_write *writes = malloc(CODEC_WRITES_MAX * sizeof *writes);
    for (uint64_t h = 1; h <= head_a.height; h++) {
        uint8_t *data;
        size_t dlen;
        cr_assert_eq(ledger_get_block(a.w.l, h, &data, &dlen), LEDGER_OK);
        codec_block blk = {.txs = spans, .receipts = spans + CODEC_BLOCK_TXS_MAX, .writes = writes};
        cr_assert_eq(codec_block_decode(data, dlen, &blk, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL),
                     CODEC_OK);
        static uint8_t pb[256];
        if (h == head_a.height) { /* the approve, swapped for its pruned form */
            codec_tx tx;
            codec_pruned_tx p;
            cr_assert_eq(codec_tx_decode(blk.txs[0].data, blk.txs[0].len, &tx, NULL), CODEC_OK);
            codec_pruned_tx_of(&tx, &blk.txs[0], &p);
            codec_buf o = codec_buf_make(pb, sizeof pb);
            cr_assert_eq(codec_pruned_tx_encode(&p, &o), CODEC_OK);
            blk.txs[0] = (codec_span){o.data, o.len};
        }
        ledger_summary s;
        exec_error err;
        exec_err rc = exec_block(b.w.e, &blk.header.batch, blk.txs, &blk.commit_cert, &s, &err);
        if (h < head_a.height) {
            cr_assert_eq(rc, EXEC_OK, "%s", err.message);
        } else {
            cr_expect_eq(rc, EXEC_ERR_WITHHELD, "%s", err.message);
            cr_expect_eq(err.tx_index, 0);
        }
        free(data);
    }
    ledger_head(b.w.l, &head_b);
    cr_expect_eq(head_b.height, head_a.height - 1, "the withheld block was appended");
    free(spans);
    free(writes);
    tw_close(&a);
    tw_close(&b);
}

/* Layer 2's check (what every validator refuses in a PRE-PREPARE) is the route alone:
 * never the signer's role (an enrolment may land first), and a contract named by a deploy
 * on its way is not refused (the deploy may land first). */
Test(unroutable, the_preprepare_check_is_state_independent_and_knows_deploys_in_flight)
{
    fill_big();
    tw t;
    tw_open(&t, "unroutable-route");
    keypair stranger;
    tcrypto_keypair_from_seed((const uint8_t *)"a brand-new key, in no genesis!!", &stranger);
    static uint8_t b[CODEC_TX_MAX];
    codec_tx tx;
    for (uint32_t k = 0; k < KIND_COUNT; k++) {
        size_t len = unroutable_tx(&t, k, &stranger, b, sizeof b);
        cr_assert_eq(codec_tx_decode(b, len, &tx, NULL), CODEC_OK);
        cr_expect_eq(exec_check_route(t.w.e, &tx), KINDS[k].static_invalid ? KINDS[k].code : 0,
                     "%s", KINDS[k].name);
        cr_expect_eq(exec_check_admissible(t.w.e, &tx), KINDS[k].code, "%s", KINDS[k].name);
    }
    size_t len = world_sign(&t.w, &t.w.sponsor, WORLD_NEXT_NONCE, NULL, "newcontract", "m",
                            ARGS(world_int(1)), NULL, 0, b, sizeof b);
    cr_assert_eq(codec_tx_decode(b, len, &tx, NULL), CODEC_OK);
    cr_expect_eq(exec_check_route(t.w.e, &tx), EXEC_E_NO_CONTRACT);
    exec_note_deploy(t.w.e, "newcontract");
    cr_expect_eq(exec_check_route(t.w.e, &tx), 0, "a deploy on its way brings the contract");
    cr_expect_eq(exec_check_admissible(t.w.e, &tx), EXEC_E_NO_CONTRACT,
                 "at submit, the state decides");
    tw_close(&t);
}
