/*
 * test_contracts.c - the example scenario against its golden timeline, the executor's own
 * checks (nonces, chain binding, signatures, roles, contracts, governance), the block
 * overlay, queries, and re-execution from an empty state.
 */
#include <errno.h>
#include <stdio.h>

#include "audit.h"
#include "ctest_world.h"
#include "cvm.h"
#include "merkle.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    char *buf = malloc(1 << 20);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static char *run_scenario(tw *t, size_t *len)
{
    char *text = NULL;
    FILE *mem = open_memstream(&text, len);
    cr_assert_eq(scenario_run(&t->w, mem), 0, "every scenario step as the rules say");
    fclose(mem);
    return text;
}

Test(scenario, timeline_matches_the_golden_file)
{
    tw t;
    tw_open(&t, "trialreg-example");
    size_t len, glen;
    char *text = run_scenario(&t, &len);
    char *golden = slurp(TRIALREG_SOURCE_DIR "/examples/trial/timeline.golden", &glen);
    cr_expect_eq(len, glen, "timeline length %zu, golden %zu", len, glen);
    cr_expect(len == glen && memcmp(text, golden, len) == 0,
              "timeline differs from examples/trial/timeline.golden:\n%s", text);
    /* the flagged events the regulator must see are in it */
    cr_expect_not_null(strstr(text, "FLAG  protocol.flag.outcomes_changed"));
    cr_expect_not_null(strstr(text, "FLAG  outcome.flag.not_preregistered"));
    cr_expect_not_null(strstr(text, "FLAG  outcome.flag.primary_unreported"));
    cr_expect_not_null(strstr(text, "FLAG  outcome.flag.primary_switched"));
    cr_expect_not_null(strstr(text, "FLAG  consent.flag.over_enrolment"));
    /* every refusal kind the scenario shows, once each at least */
    for (unsigned code = CONTRACT_E_ROLE_TAKEN; code <= CONTRACT_E_NOT_APPROVED; code++) {
        char needle[32];
        snprintf(needle, sizeof needle, "REFUSED %u ", code);
        cr_expect_not_null(strstr(text, needle), "the timeline shows refusal %u", code);
    }
    free(text);
    free(golden);
    tw_close(&t);
}

/* Copy every block of src into a fresh ledger through exec_block: same state hash. */
Test(scenario, reexecution_from_empty_state_gives_the_same_state_hash)
{
    tw a, b;
    tw_open(&a, "trialreg-example");
    size_t len;
    free(run_scenario(&a, &len));
    tw_open(&b, "trialreg-example");
    tw_replay(&a, &b);
    tw_close(&a);
    tw_close(&b);
}

/* `audit --reexecute` of the example trial (governance deploy, refusals, pruned txs,
 * re-consent): every block replays from the genesis alone to the certified results. */
Test(scenario, the_audit_re_executes_the_example_trial_from_the_genesis_alone)
{
    tw a;
    tw_open(&a, "trialreg-example");
    size_t len;
    free(run_scenario(&a, &len));
    char scratch[300];
    snprintf(scratch, sizeof scratch, "%s/replay", a.dir);
    audit_ledger_cursor cursor;
    audit_source src;
    audit_ledger_source(&cursor, a.w.l, &src);
    audit_options opt = {.threads = 2, .reexecute = true, .scratch_dir = scratch};
    audit_summary s;
    audit_failure f;
    cr_assert(audit_run_with(a.w.genesis, a.w.genesis_len, &src, &opt, &s, &f),
              "height %llu tx %lld: %s", (unsigned long long)f.height, (long long)f.tx_index,
              f.reason);
    audit_ledger_cursor_done(&cursor);
    ledger_summary head;
    ledger_head(a.w.l, &head);
    cr_expect_eq(s.reexecuted, head.height);
    cr_expect_arr_eq(s.head.state_hash.bytes, head.state_hash.bytes, 32);
    tw_close(&a);
}

Test(scenario, queries_answer_from_the_last_committed_block)
{
    tw t;
    tw_open(&t, "trialreg-example");
    size_t len;
    free(run_scenario(&t, &len));
    const uint8_t *id = (const uint8_t *)SCENARIO_TRIAL;
    size_t id_len = strlen(SCENARIO_TRIAL);
    exec_trial tr;
    cr_assert_eq(exec_query_trial(t.w.e, id, id_len, &tr), LEDGER_OK);
    cr_expect_eq(tr.version, 3);
    cr_expect_eq(tr.approved, 3);
    cr_expect_eq(tr.floor_version, 3);
    cr_expect_eq(tr.planned, 5);
    cr_expect_arr_eq(tr.sponsor.bytes, t.w.sponsor.public_key.bytes, 32);
    exec_protocol_version v1, v2;
    cr_assert_eq(exec_query_protocol_version(t.w.e, id, id_len, 1, &v1), LEDGER_OK);
    cr_assert_eq(exec_query_protocol_version(t.w.e, id, id_len, 2, &v2), LEDGER_OK);
    cr_expect(!v1.reconsent_required && v2.reconsent_required);
    cr_expect(v1.approved_ms > 0 && v2.approved_ms > v1.approved_ms);
    cr_expect_eq(v1.primary_count, 1);
    cr_expect_eq(v1.secondary_count, 2);
    exec_protocol_version v3;
    cr_assert_eq(exec_query_protocol_version(t.w.e, id, id_len, 3, &v3), LEDGER_OK);
    cr_expect(v3.reconsent_required && v3.approved_ms > v2.approved_ms);
    cr_expect_eq(exec_query_protocol_version(t.w.e, id, id_len, 4, &v2), LEDGER_ERR_NOT_FOUND);
    /* participant 1: all scopes, re-consent, future research then genetic withdrawn,
     * re-consent under v3 without them */
    exec_consent_entry h[8];
    uint32_t n = 0;
    cr_assert_eq(exec_query_consent_history(t.w.e, id, id_len, &t.w.participants[1].public_key, h, 8, &n),
                 LEDGER_OK);
    cr_assert_eq(n, 5);
    cr_expect_eq(h[0].kind, 1);
    cr_expect_eq(h[0].scopes, 31);
    cr_expect_eq(h[0].version, 1);
    cr_expect_eq(h[0].meaning, MEANING_WITNESS);
    cr_expect_arr_eq(h[0].witness.bytes, t.w.inv_a.public_key.bytes, 32);
    cr_expect_eq(h[1].version, 2);
    cr_expect_eq(h[2].kind, 2);
    cr_expect_eq(h[2].scopes, 31 & ~SCOPE_FUTURE_RESEARCH);
    cr_expect_eq(h[3].kind, 2);
    cr_expect_eq(h[3].scopes, 31 & ~SCOPE_FUTURE_RESEARCH & ~SCOPE_GENETIC);
    cr_expect_eq(h[4].kind, 1);
    cr_expect_eq(h[4].version, 3);
    uint64_t scopes, version;
    cr_assert_eq(exec_query_consent_at(t.w.e, id, id_len, &t.w.participants[1].public_key,
                                       h[2].time_ms - 1, &scopes, &version), LEDGER_OK);
    cr_expect_eq(scopes, 31, "before the withdrawal");
    cr_assert_eq(exec_query_consent_at(t.w.e, id, id_len, &t.w.participants[1].public_key,
                                       h[2].time_ms, &scopes, &version), LEDGER_OK);
    cr_expect_eq(scopes, 27, "from the withdrawal on");
    cr_assert_eq(exec_query_consent_at(t.w.e, id, id_len, &t.w.participants[1].public_key,
                                       h[0].time_ms - 1, &scopes, &version), LEDGER_OK);
    cr_expect_eq(scopes, 0, "before any consent");
    cr_expect_eq(exec_query_consent_at(t.w.e, id, id_len, &t.w.participants[7].public_key, 0,
                                       &scopes, &version), LEDGER_ERR_NOT_FOUND);
    tw_close(&t);
}

/* ---- the executor's own checks ------------------------------------------------------ */

static tw T;
static void setup(void) { tw_open(&T, "trialreg-test-exec"); tw_base(&T); }
static void teardown(void) { tw_close(&T); }
TestSuite(executor, .init = setup, .fini = teardown);

static codec_span sign_withdraw(uint64_t nonce, const hash32 *chain, uint8_t *buf, size_t cap)
{
    codec_value a[] = {world_text(TRIAL), world_int(SCOPE_GENETIC)};
    size_t len = world_sign(&T.w, &T.w.participants[0], nonce, chain, "consent", "withdraw", a, 2,
                            NULL, 0, buf, cap);
    cr_assert_gt(len, 0);
    return (codec_span){buf, len};
}

Test(executor, a_replayed_tx_is_refused_by_its_nonce)
{
    static uint8_t buf[1024];
    codec_span tx = sign_withdraw(WORLD_NEXT_NONCE, NULL, buf, sizeof buf);
    codec_receipt r[2];
    cr_assert_eq(world_commit(&T.w, 60000, &tx, 1, r), 0);
    expect_ok(r[0]);
    cr_assert_eq(world_commit(&T.w, 60000, &tx, 1, r), 0);
    expect_invalid(r[0], EXEC_E_NONCE_REPLAY);
    /* twice in one block: the second is the replay */
    codec_span two[2];
    two[0] = sign_withdraw(WORLD_NEXT_NONCE, NULL, buf, sizeof buf);
    two[1] = two[0];
    codec_value a[] = {world_text(TRIAL), world_int(SCOPE_GENETIC)};
    (void)a;
    cr_assert_eq(world_commit(&T.w, 60000, two, 2, r), 0);
    expect_refused(r[0], CONTRACT_E_NOT_GRANTED); /* refused by the contract: nonce consumed */
    expect_invalid(r[1], EXEC_E_NONCE_REPLAY);
}

Test(executor, nonces_need_no_order)
{
    static uint8_t b1[1024], b2[1024], b3[1024];
    /* participant 0 has used nonce 0 (its grant): 5, 2 and 2^63 commit in any order */
    codec_value a[] = {world_text(TRIAL), world_int(SCOPE_GENETIC)};
    codec_value g[] = {world_text(TRIAL), world_int(SCOPE_DATA_SHARING)};
    codec_value f[] = {world_text(TRIAL), world_int(SCOPE_FOLLOW_UP)};
    codec_span s[3];
    s[0] = (codec_span){b1, world_sign(&T.w, &T.w.participants[0], 5, NULL, "consent", "withdraw", a, 2, NULL, 0, b1, sizeof b1)};
    s[1] = (codec_span){b2, world_sign(&T.w, &T.w.participants[0], 2, NULL, "consent", "withdraw", g, 2, NULL, 0, b2, sizeof b2)};
    s[2] = (codec_span){b3, world_sign(&T.w, &T.w.participants[0], 1ull << 63, NULL, "consent", "withdraw", f, 2, NULL, 0, b3, sizeof b3)};
    codec_receipt r[3];
    cr_assert_eq(world_commit(&T.w, 60000, s, 3, r), 0);
    expect_ok(r[0]);
    expect_ok(r[1]);
    expect_ok(r[2]);
    s[0] = (codec_span){b1, world_sign(&T.w, &T.w.participants[0], 0, NULL, "consent", "withdraw", a, 2, NULL, 0, b1, sizeof b1)};
    cr_assert_eq(world_commit(&T.w, 60000, s, 1, r), 0);
    expect_invalid(r[0], EXEC_E_NONCE_REPLAY);
}

Test(executor, a_signature_for_another_chain_is_refused)
{
    static uint8_t buf[1024];
    hash32 other = world_hash("another chain");
    codec_span tx = sign_withdraw(7, &other, buf, sizeof buf);
    codec_receipt r;
    cr_assert_eq(world_commit(&T.w, 60000, &tx, 1, &r), 0);
    expect_invalid(r, EXEC_E_SIGNATURE);
    /* a co-signature made for another chain */
    tw other_world;
    tw_open(&other_world, "trialreg-other-chain");
    codec_value g[] = {world_text(TRIAL), world_int(1), world_bytes(other.bytes, 32), world_int(1)};
    world_cosig ca = {&T.w.inv_a, MEANING_WITNESS};
    static uint8_t b2[1024];
    size_t len = world_sign(&T.w, &T.w.participants[0], 9, NULL, "consent", "grant", g, 4, &ca, 1, b2, sizeof b2);
    codec_tx tx2;
    cr_assert_eq(codec_tx_decode(b2, len, &tx2, NULL), CODEC_OK);
    static uint8_t b3[1024];
    size_t len3 = world_sign(&other_world.w, &T.w.participants[0], 9, ledger_chain_id(other_world.w.l),
                             "consent", "grant", g, 4, &ca, 1, b3, sizeof b3);
    codec_tx tx3;
    cr_assert_eq(codec_tx_decode(b3, len3, &tx3, NULL), CODEC_OK);
    tx2.cosigs[0].sig = tx3.cosigs[0].sig; /* author signature right, co-signature for the other chain */
    static uint8_t b4[1024];
    codec_buf ob = codec_buf_make(b4, sizeof b4);
    cr_assert_eq(codec_tx_encode(&tx2, &ob), CODEC_OK);
    codec_span t4 = {b4, ob.len};
    cr_assert_eq(world_commit(&T.w, 60000, &t4, 1, &r), 0);
    expect_invalid(r, EXEC_E_COSIGNATURE);
    tw_close(&other_world);
}

Test(executor, unknown_signers_contracts_methods_and_arities)
{
    keypair stranger;
    uint8_t seed[32] = {42};
    tcrypto_keypair_from_seed(seed, &stranger);
    codec_value a[] = {world_text(TRIAL), world_int(1)};
    expect_invalid(tw_run(&T, &stranger, "protocol", "approve", a, 2, NULL, 0), EXEC_E_NO_ROLE);
    expect_invalid(tw_run(&T, &T.w.regulator, "nosuch", "approve", a, 2, NULL, 0), EXEC_E_NO_CONTRACT);
    expect_invalid(tw_run(&T, &T.w.regulator, "protocol", "approve_all", a, 2, NULL, 0), EXEC_E_NO_METHOD);
    expect_invalid(tw_run(&T, &T.w.regulator, "protocol", "approve", a, 1, NULL, 0), EXEC_E_BAD_ARGS);
    /* helpers are not methods */
    expect_invalid(tw_run(&T, &T.w.regulator, "protocol", "vkey", a, 2, NULL, 0), EXEC_E_NO_METHOD);
    /* the nonce of an INVALID tx is not consumed: nonce 0 of the regulator was consumed by
     * tw_base's approve, the next one is still free */
    expect_refused(tw_run(&T, &T.w.regulator, "protocol", "approve", a, 2, NULL, 0),
                   CONTRACT_E_ALREADY_APPROVED);
}

Test(executor, later_txs_of_a_block_see_earlier_writes)
{
    /* enrol participant 5 and its grant in ONE block: the grant's signer is a participant
     * only through the enrolment just before it */
    static uint8_t b1[1024], b2[1024];
    codec_value en[] = {world_text(TRIAL), tw_pk(&T.w.participants[5])};
    hash32 form = world_hash("form v1");
    codec_value g[] = {world_text(TRIAL), world_int(1), world_bytes(form.bytes, 32), world_int(1)};
    world_cosig ca = {&T.w.inv_a, MEANING_WITNESS};
    codec_span s[2] = {
        {b1, world_sign(&T.w, &T.w.inv_a, WORLD_NEXT_NONCE, NULL, "consent", "enrol", en, 2, NULL, 0, b1, sizeof b1)},
        {b2, world_sign(&T.w, &T.w.participants[5], WORLD_NEXT_NONCE, NULL, "consent", "grant", g, 4, &ca, 1, b2, sizeof b2)}};
    codec_receipt r[2];
    cr_assert_eq(world_commit(&T.w, 60000, s, 2, r), 0);
    expect_ok(r[0]);
    expect_ok(r[1]);
    /* in the other order the grant's signer has no role yet */
    tw u;
    tw_open(&u, "trialreg-test-exec");
    tw_base(&u);
    codec_span rev[2] = {s[1], s[0]};
    cr_assert_eq(world_commit(&u.w, 60000, rev, 2, r), 0);
    expect_invalid(r[0], EXEC_E_NO_ROLE);
    expect_ok(r[1]);
    tw_close(&u);
}

Test(executor, a_large_block_reads_its_own_writes_and_the_committed_state)
{
    /* 400 anchors in one block (well over a thousand writes: the block's write index
     * grows several times), then the first record again: refused as a duplicate, which it
     * can only be if the read finds the write made 400 txs earlier in this block */
    enum { N = 401 };
    static uint8_t bufs[N][1024];
    static codec_span s[N];
    static codec_receipt r[N];
    static hash32 recs[N];
    int64_t now = (int64_t)T.w.now_ms + 60000 - 1; /* collected just before the block */
    for (uint32_t i = 0; i < N; i++) {
        char label[32];
        snprintf(label, sizeof label, "record %u", i == N - 1 ? 0 : i);
        recs[i] = world_hash(label);
        codec_value a[] = {world_text(TRIAL), tw_pk(&T.w.participants[0]), world_int(1),
                           world_int(now), world_bytes(recs[i].bytes, 32), world_int(100)};
        s[i] = (codec_span){bufs[i], world_sign(&T.w, &T.w.inv_a, WORLD_NEXT_NONCE, NULL, "data",
                                                "anchor", a, 6, NULL, 0, bufs[i], sizeof bufs[i])};
    }
    cr_assert_eq(world_commit(&T.w, 60000, s, N, r), 0);
    for (uint32_t i = 0; i + 1 < N; i++)
        expect_ok(r[i]);
    expect_refused(r[N - 1], CONTRACT_E_DUPLICATE);
    /* and in the next block, from the committed state */
    expect_refused(tw_anchor(&T, &T.w.inv_a, 0, 1, tw_next_time(&T) - 1, "record 7"),
                   CONTRACT_E_DUPLICATE);
}

Test(executor, governance_deploys_a_new_version_with_sponsor_and_regulator)
{
    /* redeploy the outcomes contract's own bytecode as version 2, in chunks */
    const codec_genesis *g = ledger_genesis(T.w.l);
    const codec_contract *c = NULL;
    for (uint32_t i = 0; i < g->contract_count; i++) {
        if (strcmp(g->contracts[i].name.text, "outcomes") == 0) c = &g->contracts[i];
    }
    cr_assert_not_null(c);
    codec_value a[CODEC_ARGS_MAX];
    uint32_t n = 0;
    a[n++] = world_text("outcomes");
    a[n++] = world_int(2);
    for (uint32_t at = 0; at < c->bytecode_len; at += CODEC_ARG_BYTES_MAX) {
        uint32_t len = c->bytecode_len - at < CODEC_ARG_BYTES_MAX ? c->bytecode_len - at : CODEC_ARG_BYTES_MAX;
        a[n++] = world_bytes(c->bytecode + at, len);
    }
    world_cosig reg = {&T.w.regulator, MEANING_APPROVAL};
    world_cosig inv = {&T.w.inv_a, MEANING_APPROVAL};
    expect_invalid(tw_run(&T, &T.w.sponsor, "governance", "deploy", a, n, NULL, 0), EXEC_E_GOVERNANCE);
    expect_invalid(tw_run(&T, &T.w.sponsor, "governance", "deploy", a, n, &inv, 1), EXEC_E_GOVERNANCE);
    /* the regulator cannot approve its own deploy (the codec refuses a signer co-signing) */
    expect_invalid(tw_run(&T, &T.w.regulator, "governance", "deploy", a, n, &reg, 1), EXEC_E_DECODE);
    a[1] = world_int(1); /* not newer */
    expect_invalid(tw_run(&T, &T.w.sponsor, "governance", "deploy", a, n, &reg, 1), EXEC_E_GOVERNANCE);
    a[1] = world_int(2);
    static uint8_t junk[16] = "not a module";
    codec_value bad[] = {a[0], a[1], world_bytes(junk, 16)};
    expect_invalid(tw_run(&T, &T.w.sponsor, "governance", "deploy", bad, 3, &reg, 1), EXEC_E_GOVERNANCE);
    codec_receipt r = tw_run(&T, &T.w.sponsor, "governance", "deploy", a, n, &reg, 1);
    expect_ok(r);
    cr_expect_str_eq(r.events[0].topic.text, "governance.deployed");
    /* it runs, and a reopened executor loads the deployed version from the ledger */
    hash32 p = world_hash("primary 1");
    expect_ok(tw_run(&T, &T.w.sponsor, "outcomes", "report", ARGS(world_text(TRIAL), world_bytes(p.bytes, 32), world_bytes("", 0)), NULL, 0));
    exec_close(T.w.e);
    T.w.e = NULL;
    exec_error err;
    cr_assert_eq(exec_open(T.w.l, NULL, &T.w.e, &err), EXEC_OK, "%s", err.message);
    a[1] = world_int(2);
    expect_invalid(tw_run(&T, &T.w.sponsor, "governance", "deploy", a, n, &reg, 1), EXEC_E_GOVERNANCE);
}


Test(executor, iteration_sees_the_block_overlay)
{
    /* enrol and consent participant 5 in one block; then anchor its record and a
     * researcher's request in ONE block: the request's keys() walk must merge the block's
     * writes (the record) with the ledger (access is decided on the consent in force before
     * its block, so the consent itself must be in an earlier one) */
    static uint8_t b[4][1024];
    codec_value tr = world_text(TRIAL);
    hash32 form = world_hash("form v1"), rec = world_hash("p5 record");
    world_cosig ca = {&T.w.inv_a, MEANING_WITNESS};
    codec_value en[] = {tr, tw_pk(&T.w.participants[5])};
    codec_value g[] = {tr, world_int(1), world_bytes(form.bytes, 32), world_int(SCOPE_MAIN)};
    codec_span first[2] = {
        {b[0], world_sign(&T.w, &T.w.inv_a, WORLD_NEXT_NONCE, NULL, "consent", "enrol", en, 2, NULL, 0, b[0], 1024)},
        {b[1], world_sign(&T.w, &T.w.participants[5], WORLD_NEXT_NONCE, NULL, "consent", "grant", g, 4, &ca, 1, b[1], 1024)}};
    codec_receipt r[4];
    cr_assert_eq(world_commit(&T.w, 60000, first, 2, r), 0);
    for (int i = 0; i < 2; i++) expect_ok(r[i]);
    codec_value an[] = {tr, tw_pk(&T.w.participants[5]), world_int(SCOPE_MAIN),
                        world_int(tw_next_time(&T) - 1), world_bytes(rec.bytes, 32), world_int(1)};
    codec_value rq[] = {tr, world_int(SCOPE_MAIN), world_text("overlay")};
    codec_span s[2] = {
        {b[2], world_sign(&T.w, &T.w.inv_a, WORLD_NEXT_NONCE, NULL, "data", "anchor", an, 6, NULL, 0, b[2], 1024)},
        {b[3], world_sign(&T.w, &T.w.researcher, WORLD_NEXT_NONCE, NULL, "access", "request", rq, 3, NULL, 0, b[3], 1024)}};
    cr_assert_eq(world_commit(&T.w, 60000, s, 2, r + 2), 0);
    for (int i = 2; i < 4; i++) expect_ok(r[i]);
    cr_assert_eq(r[3].event_count, 1);
    const uint8_t *d = r[3].events[0].data + 4;
    uint64_t count = 0;
    for (int i = 0; i < 8; i++) count = count << 8 | d[16 + i];
    cr_expect_eq(count, 1, "the record anchored earlier in the same block is eligible");
    hash32 list;
    tcrypto_sha256(rec.bytes, 32, &list);
    cr_expect_arr_eq(d + 24, list.bytes, 32);
}

Test(executor, block_times_the_contracts_see_strictly_increase)
{
    /* a block proposed at the same time as the previous one runs at previous + 1 ms */
    uint64_t prev = T.w.now_ms;
    hash32 doc = world_hash("d"), p = world_hash("p");
    static const uint8_t sites[] = "\x06site-a";
    codec_receipt r;
    cr_assert_eq(world_run(&T.w, 0, &T.w.sponsor, "protocol", "register",
                           ARGS(world_text("T-9"), world_bytes(doc.bytes, 32), world_bytes(p.bytes, 32),
                                world_bytes("", 0), world_int(1), world_bytes(sites, 7), tw_forms()), NULL, 0, &r), 0);
    expect_ok(r);
    exec_trial tr;
    cr_assert_eq(exec_query_trial(T.w.e, (const uint8_t *)"T-9", 3, &tr), LEDGER_OK);
    cr_expect_eq(tr.registered_ms, prev + 1);
}


/* A contract deployed by governance that misbehaves on purpose: the executor contains it. */
static const char EVIL[] =
    ".bytes FOREIGN \"protocol/t/x\"\n"
    ".bytes OWN \"evil/x\"\n"
    ".bytes TOPIC \"evil.event\"\n"
    ".func foreign 0 3 export\n    loads r0, FOREIGN\n    loads r1, OWN\n    host r2, put, r0\n    ret r2\n"
    ".func own 0 3 export\n    loads r0, OWN\n    loads r1, OWN\n    host r2, put, r0\n    ret r2\n"
    ".func spin 0 1 export\nloop:\n    jmp loop\n"
    ".func divide 0 3 export\n    loadi r0, 1\n    loadi r1, 0\n    div r2, r0, r1\n    ret r2\n"
    ".func noisy 0 4 export\n    loadi r3, 0\nloop:\n    loads r0, TOPIC\n    loads r1, OWN\n"
    "    host r2, emit, r0\n    addi r3, r3, 1\n    loadi r2, 17\n    lt r2, r3, r2\n    jnz r2, loop\n    ret r3\n";

Test(executor, a_misbehaving_contract_is_contained)
{
    uint8_t *module = NULL;
    size_t len = 0;
    cvm_error ce;
    cr_assert_eq(cvm_assemble(EVIL, sizeof EVIL - 1, &module, &len, &ce), CVM_OK, "%s", ce.message);
    cr_assert_leq(len, CODEC_ARG_BYTES_MAX);
    world_cosig reg = {&T.w.regulator, MEANING_APPROVAL};
    expect_ok(tw_run(&T, &T.w.sponsor, "governance", "deploy",
                     ARGS(world_text("evil"), world_int(1), world_bytes(module, (uint32_t)len)), &reg, 1));
    ledger_summary before, after;
    expect_ok(tw_run(&T, &T.w.sponsor, "evil", "own", NULL, 0, NULL, 0));
    ledger_head(T.w.l, &before);
    expect_status(tw_run(&T, &T.w.sponsor, "evil", "foreign", NULL, 0, NULL, 0), RECEIPT_TRAPPED,
                  EXEC_E_FOREIGN_WRITE);
    uint8_t *v;
    size_t vlen;
    cr_expect_eq(ledger_state_get(T.w.l, (const uint8_t *)"protocol/t/x", 12, &v, &vlen),
                 LEDGER_ERR_NOT_FOUND, "the foreign write was not applied");
    codec_receipt r = tw_run(&T, &T.w.sponsor, "evil", "spin", NULL, 0, NULL, 0);
    expect_status(r, RECEIPT_TRAPPED, EXEC_E_OUT_OF_GAS);
    cr_expect_eq(r.gas_used, EXEC_GAS_DEFAULT);
    expect_status(tw_run(&T, &T.w.sponsor, "evil", "divide", NULL, 0, NULL, 0), RECEIPT_TRAPPED,
                  EXEC_E_TRAP);
    expect_status(tw_run(&T, &T.w.sponsor, "evil", "noisy", NULL, 0, NULL, 0), RECEIPT_TRAPPED,
                  EXEC_E_BAD_EVENTS);
    ledger_head(T.w.l, &after);
    cr_expect_eq(after.height, before.height + 4, "each trapped tx is still committed");
    free(module);
}


Test(executor, a_block_the_ledger_refuses_changes_nothing)
{
    static uint8_t buf[1024];
    codec_span tx = sign_withdraw(WORLD_NEXT_NONCE, NULL, buf, sizeof buf);
    ledger_summary head, s;
    ledger_head(T.w.l, &head);
    /* not the next height: the ledger refuses it after execution */
    codec_batch_header batch = {.height = head.height + 2, .time_ms = T.w.now_ms + 1, .tx_count = 1};
    hash32 leaf;
    merkle_leaf_hash(tx.data, tx.len, &leaf);
    merkle_root_of_leaves(&leaf, 1, &batch.tx_root);
    codec_span cert = {(const uint8_t *)"x", 1};
    exec_error err;
    cr_expect_eq(exec_block(T.w.e, &batch, &tx, &cert, &s, &err), EXEC_ERR_LEDGER);
    cr_expect_eq(exec_last_receipt_count(T.w.e), 0);
    ledger_summary after;
    ledger_head(T.w.l, &after);
    cr_expect_arr_eq(after.state_hash.bytes, head.state_hash.bytes, 32, "nothing appended");
    /* the same tx (same nonce) then commits normally: the failed block consumed nothing */
    codec_receipt r;
    cr_assert_eq(world_commit(&T.w, 60000, &tx, 1, &r), 0);
    expect_ok(r);
}


Test(executor, reads_are_answered_by_role)
{
    const uint8_t *id = (const uint8_t *)TRIAL;
    world *w = &T.w;
    const pubkey *p0 = &w->participants[0].public_key, *p1 = &w->participants[1].public_key;
    cr_expect(exec_read_allowed(w->e, p0, EXEC_READ_CONSENT, id, 3, p0), "own record");
    cr_expect(!exec_read_allowed(w->e, p1, EXEC_READ_CONSENT, id, 3, p0), "another participant's");
    cr_expect(exec_read_allowed(w->e, &w->inv_a.public_key, EXEC_READ_CONSENT, id, 3, p0), "own site");
    cr_expect(!exec_read_allowed(w->e, &w->inv_b.public_key, EXEC_READ_CONSENT, id, 3, p0), "other site");
    cr_expect(exec_read_allowed(w->e, &w->sponsor.public_key, EXEC_READ_CONSENT, id, 3, p0));
    cr_expect(exec_read_allowed(w->e, &w->regulator.public_key, EXEC_READ_TIMELINE, id, 3, NULL));
    cr_expect(exec_read_allowed(w->e, &w->inv_b.public_key, EXEC_READ_TRIAL, id, 3, NULL));
    cr_expect(!exec_read_allowed(w->e, &w->researcher.public_key, EXEC_READ_CONSENT, id, 3, p0));
    cr_expect(!exec_read_allowed(w->e, &w->researcher.public_key, EXEC_READ_TIMELINE, id, 3, NULL));
    cr_expect(!exec_read_allowed(w->e, p0, EXEC_READ_TIMELINE, id, 3, NULL));
    cr_expect(!exec_read_allowed(w->e, &w->regulator.public_key, EXEC_READ_TRIAL,
                                 (const uint8_t *)"none", 4, NULL), "no such trial");
}


Test(executor, ledger_state_next_walks_a_prefix_in_order)
{
    static const uint8_t prefix[] = "protocol/s/\x03T-1";
    size_t plen = sizeof prefix - 1;
    uint8_t key[CODEC_KEY_MAX], a_key[64], b_key[64];
    size_t klen;
    memcpy(a_key, prefix, plen);
    memcpy(a_key + plen, "site-a", 6);
    memcpy(b_key, prefix, plen);
    memcpy(b_key + plen, "site-b", 6);
    cr_assert_eq(ledger_state_next(T.w.l, prefix, plen, NULL, 0, key, sizeof key, &klen), LEDGER_OK);
    cr_expect(klen == plen + 6 && memcmp(key, a_key, klen) == 0, "first key");
    cr_assert_eq(ledger_state_next(T.w.l, prefix, plen, a_key, plen + 6, key, sizeof key, &klen), LEDGER_OK);
    cr_expect(klen == plen + 6 && memcmp(key, b_key, klen) == 0, "strictly after site-a");
    cr_expect_eq(ledger_state_next(T.w.l, prefix, plen, b_key, plen + 6, key, sizeof key, &klen),
                 LEDGER_ERR_NOT_FOUND, "nothing after the last");
    cr_assert_eq(ledger_state_next(T.w.l, prefix, plen, (const uint8_t *)"protocol/", 9, key, sizeof key, &klen),
                 LEDGER_OK, "an after below the prefix starts at the prefix");
    cr_expect(klen == plen + 6 && memcmp(key, a_key, klen) == 0);
    cr_expect_eq(ledger_state_next(T.w.l, prefix, plen, (const uint8_t *)"zzz", 3, key, sizeof key, &klen),
                 LEDGER_ERR_NOT_FOUND, "an after above the prefix finds nothing");
    cr_expect_eq(ledger_state_next(T.w.l, (const uint8_t *)"nosuch/", 7, NULL, 0, key, sizeof key, &klen),
                 LEDGER_ERR_NOT_FOUND);
}

/* ---- the error table is one table ----------------------------------------------------- */

Test(tables, common_s_declares_exactly_the_codes_of_errors_h)
{
    size_t len;
    char *src = slurp(TRIALREG_SOURCE_DIR "/contracts/common.s", &len);
    unsigned found = 0, expected = 0;
#define CHECK_CODE(name, code, reason)                                                       \
    do {                                                                                     \
        char line[96];                                                                       \
        snprintf(line, sizeof line, "\n.int E_%s %d\n", #name, code);                        \
        cr_expect_not_null(strstr(src, line), "common.s lacks '%s'", line + 1);              \
        expected++;                                                                          \
        cr_expect_str_neq(exec_reason(RECEIPT_REFUSED, code), "", "a reason for %d", code);  \
    } while (0);
    CONTRACT_ERRORS(CHECK_CODE)
#undef CHECK_CODE
    for (const char *p = src; (p = strstr(p, "\n.int E_")) != NULL; p++) found++;
    cr_expect_eq(found, expected, "common.s declares %u E_ codes, errors.h %u", found, expected);
    free(src);
}
