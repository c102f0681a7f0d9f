/*
 * test_review.c - an adversarial review of issue 15 (the rules test_rules.c covers), each
 * promise attacked with the sequences most likely to break it: re-consent versions approved
 * out of order or mixed with versions that need no re-consent, consent renewed under an
 * intermediate version, withdrawal and re-grant, several txs in ONE block (the same block
 * time), paging at exact page boundaries, every authority and validator key, forms of other
 * versions and other trials, refusals that must leave nothing behind.
 *
 * The review found one violation: txs of ONE block share its time, and an anchor or an access
 * request placed before a withdrawal or an approval of the same block was decided as if the
 * change had not happened. The rule now (ABI.md): an anchor's collected-at is before its block,
 * and an access request is decided on the consent in force before its block; the tests of that
 * run each pair in both orders. Every other test confirms a promise that held.
 */
#include <stdio.h>
#include <time.h>

#include "client_api.h"
#include "trialreg_client.h"
#include "ctest_world.h"

#ifndef CONTRACT_E_ROLE_TAKEN
#define CONTRACT_E_ROLE_TAKEN 132
#define CONTRACT_E_ZERO_KEY 133
#define CONTRACT_E_FORM_UNAPPROVED 134
#define CONTRACT_E_NOT_APPROVED 135
#endif

static tw T;
static void setup(void) { tw_open(&T, "trialreg-test-review"); tw_base(&T); }
static void teardown(void) { tw_close(&T); }

TestSuite(review, .init = setup, .fini = teardown, .timeout = 300);

#define W (&T.w)
#define TR world_text(TRIAL)

static codec_value h32(const char *label)
{
    static hash32 pool[64];
    static unsigned next;
    hash32 *h = &pool[next++ % 64];
    *h = world_hash(label);
    return world_bytes(h->bytes, 32);
}

static uint64_t be64_at(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static const world_cosig *wit_a(void)
{
    static world_cosig c;
    c = (world_cosig){&W->inv_a, MEANING_WITNESS};
    return &c;
}

static const world_cosig *wit_b(void)
{
    static world_cosig c;
    c = (world_cosig){&W->inv_b, MEANING_WITNESS};
    return &c;
}

static codec_receipt amend(const char *doc, int reconsent, codec_value forms)
{
    codec_value am[] = {TR, h32(doc), h32("primary 1"), world_bytes("", 0), world_int(reconsent), forms};
    return tw_run(&T, &W->sponsor, "protocol", "amend", am, 6, NULL, 0);
}

/* approve version v; returns the approval (block) time */
static int64_t approve(int64_t v)
{
    expect_ok(tw_run(&T, &W->regulator, "protocol", "approve", ARGS(TR, world_int(v)), NULL, 0));
    return (int64_t)W->now_ms;
}

static codec_receipt grant(uint32_t p, int64_t version, const char *form, int64_t scopes)
{
    return tw_run(&T, &W->participants[p], "consent", "grant",
                  ARGS(TR, world_int(version), h32(form), world_int(scopes)),
                  p == 1 ? wit_b() : wit_a(), 1);
}

static codec_receipt withdraw(uint32_t p, int64_t scopes)
{
    return tw_run(&T, &W->participants[p], "consent", "withdraw", ARGS(TR, world_int(scopes)),
                  NULL, 0);
}

static const keypair *site_of(uint32_t p) { return p == 1 ? &W->inv_b : &W->inv_a; }

static codec_receipt anchor(uint32_t p, int64_t scope, int64_t at, const char *label)
{
    return tw_anchor(&T, site_of(p), p, scope, at, label);
}

/* The access.granted event's fields (after lp(T)). */
typedef struct {
    uint64_t grant, scope, count;
    uint8_t list_hash[32];
} granted;

static granted request(int64_t scope)
{
    codec_receipt r = tw_run(&T, &W->researcher, "access", "request",
                             ARGS(TR, world_int(scope), world_text("review")), NULL, 0);
    expect_ok(r);
    granted g = {UINT64_MAX, 0, UINT64_MAX, {0}};
    if (r.status != RECEIPT_OK || r.event_count != 1) return g;
    const uint8_t *d = r.events[0].data + 1 + strlen(TRIAL);
    g.grant = be64_at(d);
    g.scope = be64_at(d + 8);
    g.count = be64_at(d + 16);
    memcpy(g.list_hash, d + 24, 32);
    return g;
}

/* the list hash access must give for records (participant, label), in key order */
typedef struct {
    uint8_t pk[32];
    uint8_t h[32];
} rec;

static int rec_cmp(const void *a, const void *b) { return memcmp(a, b, 64); }

static void list_hash_of(rec *recs, size_t n, uint8_t out[32])
{
    qsort(recs, n, sizeof *recs, rec_cmp);
    uint8_t *cat = malloc(n * 32 + 1);
    for (size_t i = 0; i < n; i++) memcpy(cat + 32 * i, recs[i].h, 32);
    hash32 h;
    tcrypto_sha256(cat, n * 32, &h);
    memcpy(out, h.bytes, 32);
    free(cat);
}

static rec rec_of(uint32_t p, const char *label)
{
    rec r;
    memcpy(r.pk, W->participants[p].public_key.bytes, 32);
    hash32 h = world_hash(label);
    memcpy(r.h, h.bytes, 32);
    return r;
}

/* scopes in force at t, by the executor's own audit query */
static uint64_t consent_at(uint32_t p, uint64_t t)
{
    uint64_t scopes = 0, version = 0;
    cr_assert_eq(exec_query_consent_at(W->e, (const uint8_t *)TRIAL, 3, &W->participants[p].public_key,
                                       t, &scopes, &version), LEDGER_OK);
    return scopes;
}

/* Several txs as ONE block (one block time, in this order). */
typedef struct {
    const keypair *k;
    const char *contract, *method;
    const codec_value *args;
    uint32_t n;
    const world_cosig *cos;
    uint32_t ncos;
} txspec;

static void run_block(const txspec *s, uint32_t count, codec_receipt *r)
{
    static uint8_t bufs[4][CODEC_TX_MAX];
    codec_span spans[4];
    cr_assert_leq(count, 4);
    for (uint32_t i = 0; i < count; i++) {
        size_t len = world_sign(W, s[i].k, WORLD_NEXT_NONCE, NULL, s[i].contract, s[i].method,
                                s[i].args, s[i].n, s[i].cos, s[i].ncos, bufs[i], sizeof bufs[i]);
        cr_assert_gt(len, 0);
        spans[i] = (codec_span){bufs[i], len};
    }
    cr_assert_eq(world_commit(W, 60000, spans, count, r), 0);
}

/* ==== 1: the re-consent floor ============================================================== */

/* v2 re-consent, v3 without, v4 re-consent, approved in order; p0 consented under v1, renews
 * under v3 (the intermediate, non re-consent version). */
Test(review, a_version_without_reconsent_between_two_reconsent_versions)
{
    expect_ok(amend("doc v2", 1, tw_forms()));
    expect_ok(amend("doc v3", 0, tw_forms()));
    expect_ok(amend("doc v4", 1, tw_forms()));
    int64_t t2 = approve(2);
    int64_t t3 = approve(3);
    expect_refused(anchor(0, SCOPE_MAIN, t2, "v1 at t2"), CONTRACT_E_RECONSENT_NEEDED);
    expect_refused(anchor(0, SCOPE_MAIN, t3 + 1, "v1 after t3"), CONTRACT_E_RECONSENT_NEEDED);
    expect_ok(anchor(0, SCOPE_MAIN, t2 - 1, "v1 before t2"));
    /* v1 is below the floor (2): no grant; v3 is above it */
    expect_refused(grant(0, 1, "form v1", 1), CONTRACT_E_VERSION_SUPERSEDED);
    expect_ok(grant(0, 3, "form v1", SCOPE_MAIN));
    int64_t g3 = (int64_t)W->now_ms;
    expect_refused(anchor(0, SCOPE_MAIN, g3 - 1, "v1 just before renewal"), CONTRACT_E_RECONSENT_NEEDED);
    expect_ok(anchor(0, SCOPE_MAIN, g3, "v3 at renewal"));
    int64_t t4 = approve(4);
    expect_ok(anchor(0, SCOPE_MAIN, t4 - 1, "v3 before t4"));
    expect_refused(anchor(0, SCOPE_MAIN, t4, "v3 at t4"), CONTRACT_E_RECONSENT_NEEDED);
    /* v4's approval never reopens v1 consent's gap between t2 and g3 */
    expect_refused(anchor(0, SCOPE_MAIN, g3 - 2, "v1 gap again"), CONTRACT_E_RECONSENT_NEEDED);
    /* floor is v4 now: v3 and v2 are superseded */
    expect_refused(grant(0, 3, "form v1", 1), CONTRACT_E_VERSION_SUPERSEDED);
    expect_refused(grant(0, 2, "form v1", 1), CONTRACT_E_VERSION_SUPERSEDED);
    expect_ok(grant(0, 4, "form v1", 1));
}

/* three re-consent versions approved v4, v2, v3: v1 consent stops at v4's (earliest)
 * approval; v2 consent can never be given (floor 4 from the start). */
Test(review, three_reconsent_versions_approved_out_of_order)
{
    expect_ok(amend("doc v2", 1, tw_forms()));
    expect_ok(amend("doc v3", 1, tw_forms()));
    expect_ok(amend("doc v4", 1, tw_forms()));
    int64_t t4 = approve(4);
    approve(2);
    int64_t t3 = approve(3);
    expect_refused(anchor(0, SCOPE_MAIN, t4, "at t4"), CONTRACT_E_RECONSENT_NEEDED);
    expect_refused(anchor(0, SCOPE_MAIN, t3, "at t3"), CONTRACT_E_RECONSENT_NEEDED);
    expect_ok(anchor(0, SCOPE_MAIN, t4 - 1, "before t4"));
    expect_refused(grant(0, 2, "form v1", 1), CONTRACT_E_VERSION_SUPERSEDED);
    expect_refused(grant(0, 3, "form v1", 1), CONTRACT_E_VERSION_SUPERSEDED);
    exec_trial tr;
    cr_assert_eq(exec_query_trial(W->e, (const uint8_t *)TRIAL, 3, &tr), LEDGER_OK);
    cr_expect_eq(tr.floor_version, 4);
    cr_expect_eq(tr.approved, 4);
}

/* renewed under v2, withdraw one scope, re-grant it; v3 (re-consent) then ends v2 consent
 * even though the latest entry is the re-grant. */
Test(review, reconsent_then_withdraw_then_regrant)
{
    expect_ok(amend("doc v2", 1, tw_forms()));
    expect_ok(amend("doc v3", 1, tw_forms()));
    int64_t t2 = approve(2);
    expect_ok(grant(0, 2, "form v1", 31));
    int64_t g = (int64_t)W->now_ms;
    expect_ok(withdraw(0, SCOPE_GENETIC));
    int64_t wd = (int64_t)W->now_ms;
    expect_ok(grant(0, 2, "form v1", 31));
    int64_t g2 = (int64_t)W->now_ms;
    expect_refused(anchor(0, SCOPE_GENETIC, t2 + 1, "gen v1 after t2"), CONTRACT_E_RECONSENT_NEEDED);
    expect_ok(anchor(0, SCOPE_GENETIC, g, "gen at g"));
    expect_refused(anchor(0, SCOPE_GENETIC, wd, "gen at withdrawal"), CONTRACT_E_NO_CONSENT);
    expect_refused(anchor(0, SCOPE_GENETIC, g2 - 1, "gen before regrant"), CONTRACT_E_NO_CONSENT);
    expect_ok(anchor(0, SCOPE_MAIN, wd, "main at withdrawal")); /* the withdrawal keeps v2 */
    expect_ok(anchor(0, SCOPE_GENETIC, g2, "gen at regrant"));
    int64_t t3 = approve(3);
    expect_ok(anchor(0, SCOPE_GENETIC, t3 - 1, "gen before t3"));
    expect_refused(anchor(0, SCOPE_GENETIC, t3, "gen at t3"), CONTRACT_E_RECONSENT_NEEDED);
    expect_ok(anchor(0, SCOPE_MAIN, wd + 1, "main under the withdrawal entry, before t3"));
}

/* Several txs in ONE block share its time t. What decides an anchor (the consent in force at
 * collected-at, the re-consent approvals before it) must not depend on where the block's
 * proposer put the anchor among them: collected-at must be BEFORE its block (FUTURE_DATA
 * otherwise), so everything that decides it lies in earlier blocks. (The review found that a
 * record collected AT t was accepted when it came before an approval or a withdrawal of the
 * same block, and refused after it.) */
static void anchor_in_the_block_of(const char *contract, const char *method, codec_value *args,
                                   uint32_t nargs, const keypair *who, int64_t scope,
                                   bool anchor_first)
{
    int64_t t = tw_next_time(&T);
    static hash32 h1, h2;
    h1 = world_hash(anchor_first ? "at t, first" : "at t, second");
    h2 = world_hash(anchor_first ? "before t, first" : "before t, second");
    codec_value at_t[] = {TR, tw_pk(&W->participants[0]), world_int(scope), world_int(t),
                          world_bytes(h1.bytes, 32), world_int(1)};
    codec_value before_t[] = {TR, tw_pk(&W->participants[0]), world_int(scope),
                              world_int(t - 1), world_bytes(h2.bytes, 32), world_int(1)};
    txspec change = {who, contract, method, args, nargs, NULL, 0};
    txspec a1 = {&W->inv_a, "data", "anchor", at_t, 6, NULL, 0};
    txspec a2 = {&W->inv_a, "data", "anchor", before_t, 6, NULL, 0};
    txspec s[3] = {a1, a2, change};
    if (!anchor_first) {
        s[0] = change;
        s[1] = a1;
        s[2] = a2;
    }
    codec_receipt r[3];
    run_block(s, 3, r);
    codec_receipt *r_at = anchor_first ? &r[0] : &r[1], *r_before = anchor_first ? &r[1] : &r[2];
    expect_ok(anchor_first ? r[2] : r[0]);
    cr_assert_eq((int64_t)W->now_ms, t);
    expect_refused(*r_at, CONTRACT_E_FUTURE_DATA);
    expect_ok(*r_before); /* consent at t - 1, before the change: covered */
    cr_expect((consent_at(0, (uint64_t)t - 1) & (uint64_t)scope) != 0,
              "the history agrees: the scope was granted at t - 1");
}

static void anchor_in_the_block_that_approves_reconsent(bool anchor_first)
{
    expect_ok(amend("doc v2", 1, tw_forms()));
    static codec_value ap[2];
    ap[0] = TR;
    ap[1] = world_int(2);
    anchor_in_the_block_of("protocol", "approve", ap, 2, &W->regulator, SCOPE_MAIN, anchor_first);
    exec_protocol_version v2;
    cr_assert_eq(exec_query_protocol_version(W->e, (const uint8_t *)TRIAL, 3, 2, &v2), LEDGER_OK);
    cr_assert_eq(v2.approved_ms, W->now_ms, "v2 approved at t: data collected from t on needs it");
}

Test(review, an_anchor_in_the_block_that_approves_reconsent_anchor_first)
{
    anchor_in_the_block_that_approves_reconsent(true);
}

Test(review, an_anchor_in_the_block_that_approves_reconsent_approval_first)
{
    anchor_in_the_block_that_approves_reconsent(false);
}

static void anchor_in_the_block_of_a_withdrawal(bool anchor_first)
{
    static codec_value wd[2];
    wd[0] = TR;
    wd[1] = world_int(SCOPE_GENETIC);
    anchor_in_the_block_of("consent", "withdraw", wd, 2, &W->participants[0], SCOPE_GENETIC,
                           anchor_first);
    cr_expect_eq(consent_at(0, W->now_ms) & SCOPE_GENETIC, 0, "withdrawn at t");
}

Test(review, an_anchor_in_the_block_of_a_withdrawal_anchor_first)
{
    anchor_in_the_block_of_a_withdrawal(true);
}

Test(review, an_anchor_in_the_block_of_a_withdrawal_withdrawal_first)
{
    anchor_in_the_block_of_a_withdrawal(false);
}

/* ==== 2: access per record ============================================================== */

/* two participants, two scopes: the list is exactly the scope's records, in key order
 * (participant key, then content hash), and the stored grant holds the same list. */
Test(review, list_hash_covers_exactly_the_records_of_the_scope_in_key_order)
{
    expect_ok(anchor(0, SCOPE_MAIN, tw_next_time(&T) - 1, "p0 m1"));
    expect_ok(anchor(0, SCOPE_MAIN, tw_next_time(&T) - 1, "p0 m2"));
    expect_ok(anchor(0, SCOPE_GENETIC, tw_next_time(&T) - 1, "p0 g1"));
    expect_ok(anchor(1, SCOPE_MAIN, tw_next_time(&T) - 1, "p1 m1"));
    expect_ok(anchor(1, SCOPE_MAIN, tw_next_time(&T) - 1, "p1 m2"));
    expect_ok(anchor(1, SCOPE_MAIN, tw_next_time(&T) - 1, "p1 m3"));
    granted g = request(SCOPE_MAIN);
    cr_expect_eq(g.grant, 0);
    cr_expect_eq(g.count, 5);
    rec recs[] = {rec_of(0, "p0 m1"), rec_of(0, "p0 m2"), rec_of(1, "p1 m1"), rec_of(1, "p1 m2"),
                  rec_of(1, "p1 m3")};
    uint8_t want[32];
    list_hash_of(recs, 5, want);
    cr_expect_arr_eq(g.list_hash, want, 32, "list hash = SHA-256 of the 5 main-study hashes in key order");
    /* the stored grant: researcher scope time list_hash count lp(purpose) hashes */
    uint8_t key[64];
    size_t kl = 0;
    memcpy(key, "access/g/", 9);
    kl = 9;
    key[kl++] = 3;
    memcpy(key + kl, TRIAL, 3);
    kl += 3;
    put64(key + kl, 0);
    kl += 8;
    uint8_t *v = NULL;
    size_t vl = 0;
    cr_assert_eq(ledger_state_get(exec_ledger(W->e), key, kl, &v, &vl), LEDGER_OK);
    cr_assert_eq(vl, 32 + 8 + 8 + 32 + 8 + 1 + 6, "the grant's header (issue 19: the list is in chunks)");
    cr_expect_arr_eq(v + 48, want, 32);
    free(v);
    memcpy(key, "access/l/", 9); /* chunk 0 of grant 0 */
    put64(key + kl, 0);
    cr_assert_eq(ledger_state_get(exec_ledger(W->e), key, kl + 8, &v, &vl), LEDGER_OK);
    cr_assert_eq(vl, 5 * 32);
    for (int i = 0; i < 5; i++) cr_expect_arr_eq(v + 32 * i, recs[i].h, 32);
    free(v);
    g = request(SCOPE_GENETIC);
    cr_expect_eq(g.count, 1);
    g = request(SCOPE_FOLLOW_UP); /* p0 consented, no record: an empty list */
    cr_expect_eq(g.count, 0);
    hash32 empty;
    tcrypto_sha256("", 0, &empty);
    cr_expect_arr_eq(g.list_hash, empty.bytes, 32);
}

/* two scopes; withdraw one: only its records stop; re-grant it: released again (ABI.md's
 * sentence "a record whose scope the participant withdrew is released by no later grant"
 * holds only while the scope stays withdrawn: issue 15 says access follows the consent at
 * the time of the grant, which a re-grant restores). */
Test(review, withdraw_one_of_two_scopes_then_regrant_it)
{
    expect_ok(anchor(0, SCOPE_MAIN, tw_next_time(&T) - 1, "p0 main"));
    expect_ok(anchor(0, SCOPE_GENETIC, tw_next_time(&T) - 1, "p0 gen"));
    expect_ok(withdraw(0, SCOPE_GENETIC));
    cr_expect_eq(request(SCOPE_GENETIC).count, 0);
    cr_expect_eq(request(SCOPE_MAIN).count, 1, "p0's main-study record only");
    expect_ok(grant(0, 1, "form v1", 31));
    cr_expect_eq(request(SCOPE_GENETIC).count, 1);
}

/* a record can never be anchored in a scope the participant never consented to, and a
 * re-consent amendment stops access to old-version consent until renewed */
Test(review, unconsented_scope_and_superseded_consent_release_nothing)
{
    expect_refused(anchor(1, SCOPE_GENETIC, tw_next_time(&T) - 1, "p1 gen"), CONTRACT_E_NO_CONSENT);
    cr_expect_eq(request(SCOPE_GENETIC).count, 0);
    expect_ok(anchor(0, SCOPE_MAIN, tw_next_time(&T) - 1, "p0 main"));
    expect_ok(anchor(1, SCOPE_MAIN, tw_next_time(&T) - 1, "p1 main"));
    cr_expect_eq(request(SCOPE_MAIN).count, 2);
    expect_ok(amend("doc v2", 1, tw_forms()));
    approve(2);
    cr_expect_eq(request(SCOPE_MAIN).count, 0, "both consented under v1, superseded");
    expect_ok(grant(1, 2, "form v1", SCOPE_MAIN));
    granted g = request(SCOPE_MAIN);
    cr_expect_eq(g.count, 1);
    rec r1 = rec_of(1, "p1 main");
    uint8_t want[32];
    list_hash_of(&r1, 1, want);
    cr_expect_arr_eq(g.list_hash, want, 32);
}

/* An access request in ONE block with a withdrawal or a re-consent approval: decided on the
 * consent in force BEFORE its block (at t - 1), so the order inside the block changes nothing,
 * and exec_query_consent_at(t - 1) says why each record was released. (The review found the
 * request released the record when it came first, and not when it came second.) */
static uint64_t access_in_the_block_of(const txspec *change, int64_t scope, bool request_first)
{
    static codec_value rq[3];
    rq[0] = TR;
    rq[1] = world_int(scope);
    rq[2] = world_text("same block");
    txspec req = {&W->researcher, "access", "request", rq, 3, NULL, 0};
    txspec s[2] = {req, *change};
    if (!request_first) {
        s[0] = *change;
        s[1] = req;
    }
    codec_receipt r[2];
    run_block(s, 2, r);
    codec_receipt *got = request_first ? &r[0] : &r[1];
    expect_ok(request_first ? r[1] : r[0]);
    expect_ok(*got);
    cr_assert_eq(got->event_count, 1);
    return be64_at(got->events[0].data + 1 + strlen(TRIAL) + 16);
}

static void access_beside_a_withdrawal(bool request_first)
{
    expect_ok(anchor(0, SCOPE_GENETIC, tw_next_time(&T) - 1, "p0 gen"));
    static codec_value wd[2];
    wd[0] = TR;
    wd[1] = world_int(SCOPE_GENETIC);
    txspec change = {&W->participants[0], "consent", "withdraw", wd, 2, NULL, 0};
    uint64_t released = access_in_the_block_of(&change, SCOPE_GENETIC, request_first);
    uint64_t t = W->now_ms;
    cr_expect((consent_at(0, t - 1) & SCOPE_GENETIC) != 0, "granted before the block");
    cr_expect_eq(consent_at(0, t) & SCOPE_GENETIC, 0, "withdrawn at t, for the next grants");
    cr_expect_eq(released, 1, "decided on the consent before the block: %llu released",
                 (unsigned long long)released);
}

Test(review, access_in_the_block_of_a_withdrawal_request_first) { access_beside_a_withdrawal(true); }
Test(review, access_in_the_block_of_a_withdrawal_withdrawal_first)
{
    access_beside_a_withdrawal(false);
}

static void access_beside_a_reconsent_approval(bool request_first)
{
    expect_ok(anchor(0, SCOPE_MAIN, tw_next_time(&T) - 1, "p0 main"));
    expect_ok(amend("doc v2", 1, tw_forms()));
    static codec_value ap[2];
    ap[0] = TR;
    ap[1] = world_int(2);
    txspec change = {&W->regulator, "protocol", "approve", ap, 2, NULL, 0};
    uint64_t released = access_in_the_block_of(&change, SCOPE_MAIN, request_first);
    /* p0's and p1's main-study records under v1 consent: v2 supersedes it from t on */
    cr_expect_gt(released, 0, "v1 consent was in force before the block");
    codec_receipt next = tw_run(&T, &W->researcher, "access", "request",
                                ARGS(TR, world_int(SCOPE_MAIN), world_text("next block")), NULL, 0);
    expect_ok(next);
    cr_expect_eq(be64_at(next.events[0].data + 1 + strlen(TRIAL) + 16), 0,
                 "from the next block on, v1 consent is superseded");
}

Test(review, access_in_the_block_that_approves_reconsent_request_first)
{
    access_beside_a_reconsent_approval(true);
}

Test(review, access_in_the_block_that_approves_reconsent_approval_first)
{
    access_beside_a_reconsent_approval(false);
}

/* 66 more participants (the status keys span two 64-key pages of the access walk), each with
 * one main-study record; 6 of them withdraw: exactly the other 60 + p0's record, in key order */
Test(review, access_walks_more_than_one_page_of_participants)
{
    static keypair extra[66];
    static rec recs[80];
    size_t n = 0;
    char label[32];
    for (uint32_t i = 0; i < 66; i++) {
        snprintf(label, sizeof label, "review extra %u", i);
        hash32 seed = world_hash(label);
        tcrypto_keypair_from_seed(seed.bytes, &extra[i]);
        expect_ok(tw_run(&T, &W->inv_a, "consent", "enrol", ARGS(TR, tw_pk(&extra[i])), NULL, 0));
        /* each extra key signs its first tx: nonce 0 */
        static uint8_t buf[CODEC_TX_MAX];
        codec_value g[] = {TR, world_int(1), tw_forms(), world_int(SCOPE_MAIN)};
        size_t len = world_sign(W, &extra[i], 0, NULL, "consent", "grant", g, 4, wit_a(), 1, buf,
                                sizeof buf);
        cr_assert_gt(len, 0);
        codec_span sp = {buf, len};
        codec_receipt r;
        cr_assert_eq(world_commit(W, 60000, &sp, 1, &r), 0);
        expect_ok(r);
        snprintf(label, sizeof label, "extra rec %u", i);
        static hash32 h;
        h = world_hash(label);
        expect_ok(tw_run(&T, &W->inv_a, "data", "anchor",
                         ARGS(TR, tw_pk(&extra[i]), world_int(SCOPE_MAIN), world_int(tw_next_time(&T) - 1),
                              world_bytes(h.bytes, 32), world_int(1)), NULL, 0));
        if (i % 11 == 0) {
            len = world_sign(W, &extra[i], 1, NULL, "consent", "withdraw",
                             ARGS(TR, world_int(SCOPE_MAIN)), NULL, 0, buf, sizeof buf);
            sp = (codec_span){buf, len};
            cr_assert_eq(world_commit(W, 60000, &sp, 1, &r), 0);
            expect_ok(r);
            continue;
        }
        memcpy(recs[n].pk, extra[i].public_key.bytes, 32);
        memcpy(recs[n].h, h.bytes, 32);
        n++;
    }
    expect_ok(anchor(0, SCOPE_MAIN, tw_next_time(&T) - 1, "p0 main"));
    recs[n++] = rec_of(0, "p0 main");
    granted g = request(SCOPE_MAIN);
    cr_expect_eq(g.count, n);
    uint8_t want[32];
    list_hash_of(recs, n, want);
    cr_expect_arr_eq(g.list_hash, want, 32);
}

/* n records of participant p (labels "pP rI" from first), anchored in one block by its site;
 * each recorded in recs. */
static void anchor_bulk(uint32_t p, int first, int n, rec *recs, size_t *count)
{
    static uint8_t bufs[320][512];
    static codec_span spans[320];
    static codec_receipt rs[320];
    cr_assert_leq(n, 320);
    int64_t at = tw_next_time(&T) - 1; /* collected just before the block */
    for (int i = 0; i < n; i++) {
        char label[32];
        snprintf(label, sizeof label, "p%u r%d", p, first + i);
        hash32 h = world_hash(label);
        codec_value a[] = {TR, tw_pk(&W->participants[p]), world_int(SCOPE_MAIN), world_int(at),
                           world_bytes(h.bytes, 32), world_int(1)};
        spans[i].len = world_sign(W, site_of(p), WORLD_NEXT_NONCE, NULL, "data", "anchor", a, 6,
                                  NULL, 0, bufs[i], sizeof bufs[i]);
        spans[i].data = bufs[i];
        if (recs) recs[(*count)++] = rec_of(p, label);
    }
    cr_assert_eq(world_commit(W, 60000, spans, (uint32_t)n, rs), 0);
    for (int i = 0; i < n; i++) expect_ok(rs[i]);
}

/* 165 records of one participant (three 64-key pages) + 135 of another = 300 exactly, the
 * bound (issue 19: no cap of 100): granted, list in key order, stored in 5 chunks of at most
 * 64 hashes; one more: TOO_MANY, and the refused request counts no grant. */
Test(review, access_bound_300_across_page_boundaries_and_refusal_leaves_nothing)
{
    static rec recs[301];
    size_t n = 0;
    anchor_bulk(0, 0, 165, recs, &n);
    anchor_bulk(1, 0, 135, recs, &n);
    granted g = request(SCOPE_MAIN);
    cr_expect_eq(g.grant, 0);
    cr_expect_eq(g.count, 300);
    uint8_t want[32];
    list_hash_of(recs, n, want);
    cr_expect_arr_eq(g.list_hash, want, 32);
    /* the stored list: access/l/ lp(T) 0:8 c:8, chunks of 64 hashes, in list order */
    for (uint64_t c = 0; c <= 5; c++) {
        uint8_t key[64] = "access/l/\x03T-1";
        put64(key + 13, 0);
        put64(key + 21, c);
        uint8_t *v = NULL;
        size_t vl = 0;
        ledger_err rc = ledger_state_get(exec_ledger(W->e), key, 29, &v, &vl);
        if (c == 5) {
            cr_expect_eq(rc, LEDGER_ERR_NOT_FOUND, "no sixth chunk");
            continue;
        }
        cr_assert_eq(rc, LEDGER_OK, "chunk %llu", (unsigned long long)c);
        cr_expect_eq(vl, (c < 4 ? 64 : 44) * 32u);
        for (size_t i = 0; i < vl / 32; i++) cr_expect_arr_eq(v + 32 * i, recs[64 * c + i].h, 32);
        free(v);
    }
    anchor_bulk(1, 135, 1, NULL, NULL);
    expect_refused(tw_run(&T, &W->researcher, "access", "request",
                          ARGS(TR, world_int(SCOPE_MAIN), world_text("too many")), NULL, 0),
                   CONTRACT_E_TOO_MANY);
    expect_ok(withdraw(1, SCOPE_MAIN));
    g = request(SCOPE_MAIN);
    cr_expect_eq(g.grant, 1, "the TOO_MANY refusal took no grant number");
    cr_expect_eq(g.count, 165);
}

/* ==== 3: the consent history, paged ======================================================= */

typedef struct {
    int status;
    codec_consent_page page;
} page_reply;

static page_reply query_page(capi *api, uint32_t p, bool with_cursor, uint64_t from)
{
    static uint8_t req[1024], reply[256 * 1024];
    static codec_consent_reply_entry e[CODEC_CONSENT_REPLY_MAX];
    uint8_t cursor[8];
    put64(cursor, from);
    codec_span args[3] = {{(const uint8_t *)TRIAL, 3}, {W->participants[p].public_key.bytes, 32},
                          {cursor, 8}};
    size_t len = client_query_request(&W->regulator, &W->chain_id, (uint64_t)time(NULL) * 1000,
                                      QUERY_CONSENT, args, with_cursor ? 3 : 2, req, sizeof req);
    cr_assert_gt(len, 0);
    size_t rlen = capi_handle(api, req, len, reply, sizeof reply);
    codec_client_response resp;
    cr_assert_eq(codec_client_response_decode(reply, rlen, &resp, NULL), CODEC_OK);
    page_reply out = {resp.status, {0}};
    if (resp.status == CAPI_OK) {
        cr_assert_eq(codec_consent_reply_decode(resp.body.data, resp.body.len, &out.page, e,
                                                CODEC_CONSENT_REPLY_MAX, NULL), CODEC_OK);
    } else {
        cr_expect(resp.reason[0] != '\0', "a refused query says why");
    }
    return out;
}

/* p1 toggles main-study consent: entries from..to-1 (odd: withdrawal, even: grant) */
static void history_from_to(uint32_t from, uint32_t entries)
{
    for (uint32_t i = from; i < entries; i++) {
        if (i % 2 == 1) expect_ok(withdraw(1, SCOPE_MAIN));
        else expect_ok(grant(1, 1, "form v1", SCOPE_MAIN));
    }
}

Test(review, history_paging_at_exact_page_boundaries)
{
    capi_config cfg = {.executor = W->e, .skew_ms = UINT64_MAX / 2, .blocks_max = 8};
    capi *api = capi_open(&cfg);
    cr_assert_not_null(api);
    history_from_to(1, 64);
    page_reply r = query_page(api, 1, false, 0);
    cr_assert_eq(r.status, CAPI_OK);
    cr_expect_eq(r.page.total, 64);
    cr_expect_eq(r.page.count, 64, "64 entries: one whole page");
    r = query_page(api, 1, true, 64);
    cr_expect(r.status == CAPI_OK && r.page.count == 0 && r.page.total == 64,
              "a cursor at the end: an empty page that says the total (status %d)", r.status);
    r = query_page(api, 1, true, 65);
    cr_expect_eq(r.status, CAPI_NOT_FOUND);
    history_from_to(64, 128); /* 64 more entries: 128 */
    cr_assert_eq(query_page(api, 1, true, 0).page.total, 128);
    r = query_page(api, 1, true, 64);
    cr_expect_eq(r.page.count, 64);
    cr_expect_eq(r.page.from, 64);
    r = query_page(api, 1, true, 127);
    cr_expect_eq(r.page.count, 1);
    r = query_page(api, 1, true, UINT64_MAX);
    cr_expect_eq(r.status, CAPI_NOT_FOUND, "cursor UINT64_MAX is refused");
    r = query_page(api, 1, true, (uint64_t)1 << 63);
    cr_expect_eq(r.status, CAPI_NOT_FOUND);
    capi_close(api);
}

/* the status at a time and an anchor both look at an old entry of a long history (past the
 * executor's 256-entry page, and the contract walks backwards entry by entry) */
Test(review, a_history_longer_than_256_entries_is_read_whole)
{
    int64_t first = (int64_t)W->now_ms; /* p1's first grant is the last tw_base step */
    history_from_to(1, 301);                    /* 301 entries: ends with a grant */
    cr_expect_eq(consent_at(1, (uint64_t)first), SCOPE_MAIN);
    cr_expect_eq(consent_at(1, (uint64_t)first + 60000), 0, "the first withdrawal");
    cr_expect_eq(consent_at(1, (uint64_t)first - 1), 0);
    /* data collected at the first grant, anchored after 300 more entries (5 h, in the window) */
    codec_receipt r = anchor(1, SCOPE_MAIN, first, "old record");
    expect_ok(r);
    cr_expect_lt(r.gas_used, 1000000000ull);
}

/* ==== 4: one role per key =================================================================== */

Test(review, no_authority_or_validator_key_is_enrolled)
{
    const keypair *keys[] = {&W->sponsor, &W->inv_a, &W->inv_b, &W->regulator, &W->researcher,
                             &W->validators[0], &W->validators[1], &W->validators[2],
                             &W->validators[3]};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        codec_receipt r = tw_run(&T, &W->inv_a, "consent", "enrol", ARGS(TR, tw_pk(keys[i])), NULL, 0);
        expect_refused(r, CONTRACT_E_ROLE_TAKEN);
        cr_expect(strstr(r.reason, "one role") != NULL, "key %zu: reason '%s'", i, r.reason);
    }
    /* a participant of T-1 cannot be enrolled in another trial */
    static const uint8_t sites[] = "\x06site-a";
    codec_value reg[] = {world_text("T-2"), h32("d2"), h32("p"), world_bytes("", 0), world_int(5),
                         world_bytes(sites, 7), tw_forms()};
    expect_ok(tw_run(&T, &W->sponsor, "protocol", "register", reg, 7, NULL, 0));
    expect_ok(tw_run(&T, &W->regulator, "protocol", "approve", ARGS(world_text("T-2"), world_int(1)), NULL, 0));
    expect_ok(tw_run(&T, &W->sponsor, "protocol", "activate", ARGS(world_text("T-2"), world_text("site-a")), NULL, 0));
    expect_refused(tw_run(&T, &W->inv_a, "consent", "enrol",
                          ARGS(world_text("T-2"), tw_pk(&W->participants[0])), NULL, 0),
                   CONTRACT_E_ALREADY_ENROLLED);
    expect_refused(tw_run(&T, &W->inv_a, "consent", "enrol", ARGS(world_text("T-2"), tw_pk(&W->validators[2])), NULL, 0),
                   CONTRACT_E_ROLE_TAKEN);
    expect_ok(tw_run(&T, &W->inv_a, "consent", "enrol", ARGS(world_text("T-2"), tw_pk(&W->participants[5])), NULL, 0));
}

/* ==== 5: a grant names an approved form of its version ===================================== */

Test(review, forms_of_other_versions_other_trials_and_unapproved_amendments)
{
    static const uint8_t sites[] = "\x06site-a";
    static hash32 two[2];
    two[0] = world_hash("T-2 form a");
    two[1] = world_hash("T-2 form b");
    codec_value reg[] = {world_text("T-2"), h32("d2"), h32("p"), world_bytes("", 0), world_int(5),
                         world_bytes(sites, 7), world_bytes(two, 64)};
    expect_ok(tw_run(&T, &W->sponsor, "protocol", "register", reg, 7, NULL, 0));
    expect_ok(tw_run(&T, &W->regulator, "protocol", "approve", ARGS(world_text("T-2"), world_int(1)), NULL, 0));
    /* another trial's approved form */
    expect_refused(grant(0, 1, "T-2 form a", 1), CONTRACT_E_FORM_UNAPPROVED);
    /* an amendment never approved: its form is not approved for v1, and v2 is unapproved */
    expect_ok(amend("doc v2", 0, h32("form v2")));
    expect_refused(grant(0, 1, "form v2", 1), CONTRACT_E_FORM_UNAPPROVED);
    expect_refused(grant(0, 2, "form v2", 1), CONTRACT_E_VERSION_UNAPPROVED);
    expect_refused(grant(0, 3, "form v2", 1), CONTRACT_E_NO_VERSION);
    /* v3 with four forms, one of them v2's; approving v3 approves its forms, not v2 */
    static hash32 four[4];
    four[0] = world_hash("form v3 a");
    four[1] = world_hash("form v3 b");
    four[2] = world_hash("form v2");
    four[3] = world_hash("form v3 d");
    expect_ok(amend("doc v3", 0, world_bytes(four, 128)));
    approve(3);
    expect_refused(grant(0, 2, "form v2", 1), CONTRACT_E_VERSION_UNAPPROVED);
    expect_refused(grant(0, 3, "form v1", 1), CONTRACT_E_FORM_UNAPPROVED);
    expect_ok(grant(0, 3, "form v3 d", 1));
    expect_ok(grant(0, 3, "form v2", 3));
    /* an earlier version's form stays good for that version */
    expect_ok(grant(0, 1, "form v1", 1));
}

Test(review, refused_register_and_amend_leave_nothing_behind)
{
    static const uint8_t sites[] = "\x06site-a\x06site-c";
    static hash32 dup[2], five[5];
    dup[0] = dup[1] = world_hash("dup");
    for (int i = 0; i < 5; i++) five[i] = world_hash(i == 0 ? "f0" : i == 1 ? "f1" : i == 2 ? "f2" : i == 3 ? "f3" : "f4");
    codec_value reg[] = {world_text("T-2"), h32("d2"), h32("p"), world_bytes("", 0), world_int(5),
                         world_bytes(sites, 14), world_bytes(dup, 64)};
    expect_refused(tw_run(&T, &W->sponsor, "protocol", "register", reg, 7, NULL, 0), CONTRACT_E_BAD_ARG);
    reg[6] = world_bytes(five, 160);
    expect_refused(tw_run(&T, &W->sponsor, "protocol", "register", reg, 7, NULL, 0), CONTRACT_E_BAD_ARG);
    reg[6] = world_bytes(five, 33);
    expect_refused(tw_run(&T, &W->sponsor, "protocol", "register", reg, 7, NULL, 0), CONTRACT_E_BAD_ARG);
    /* an int where the ABI says bytes: refused by the executor's route (issue 14 C), before
     * the contract runs, and stored pruned */
    reg[6] = world_int(1);
    expect_invalid(tw_run(&T, &W->sponsor, "protocol", "register", reg, 7, NULL, 0), EXEC_E_BAD_ARGS);
    exec_trial tr;
    cr_expect_eq(exec_query_trial(W->e, (const uint8_t *)"T-2", 3, &tr), LEDGER_ERR_NOT_FOUND);
    reg[6] = world_bytes(five, 128);
    expect_ok(tw_run(&T, &W->sponsor, "protocol", "register", reg, 7, NULL, 0));
    /* amend with duplicate or no forms: no version 2 appears */
    expect_refused(amend("doc v2", 1, world_bytes(dup, 64)), CONTRACT_E_BAD_ARG);
    expect_refused(amend("doc v2", 1, world_bytes("", 0)), CONTRACT_E_BAD_ARG);
    cr_assert_eq(exec_query_trial(W->e, (const uint8_t *)TRIAL, 3, &tr), LEDGER_OK);
    cr_expect_eq(tr.version, 1);
    exec_protocol_version pv;
    cr_expect_eq(exec_query_protocol_version(W->e, (const uint8_t *)TRIAL, 3, 2, &pv), LEDGER_ERR_NOT_FOUND);
    /* a refused grant adds no history entry; a refused withdrawal neither */
    expect_refused(grant(1, 1, "nope", 1), CONTRACT_E_FORM_UNAPPROVED);
    expect_refused(withdraw(1, SCOPE_GENETIC), CONTRACT_E_NOT_GRANTED);
    exec_consent_entry h[4];
    uint32_t n = 0;
    cr_assert_eq(exec_query_consent_history(W->e, (const uint8_t *)TRIAL, 3, &W->participants[1].public_key,
                                            h, 4, &n), LEDGER_OK);
    cr_expect_eq(n, 1);
}

/* ==== 6: the smaller gaps =================================================================== */

Test(review, over_enrolment_flag_carries_count_and_planned_every_time)
{
    static const uint8_t sites[] = "\x06site-a";
    codec_value reg[] = {world_text("T-2"), h32("d2"), h32("p"), world_bytes("", 0), world_int(1),
                         world_bytes(sites, 7), tw_forms()};
    expect_ok(tw_run(&T, &W->sponsor, "protocol", "register", reg, 7, NULL, 0));
    /* enrolment before approval: VERSION_UNAPPROVED (the site cannot be active either) */
    expect_refused(tw_run(&T, &W->inv_a, "consent", "enrol", ARGS(world_text("T-2"), tw_pk(&W->participants[4])), NULL, 0),
                   CONTRACT_E_VERSION_UNAPPROVED);
    expect_ok(tw_run(&T, &W->regulator, "protocol", "approve", ARGS(world_text("T-2"), world_int(1)), NULL, 0));
    expect_ok(tw_run(&T, &W->sponsor, "protocol", "activate", ARGS(world_text("T-2"), world_text("site-a")), NULL, 0));
    for (uint32_t i = 0; i < 3; i++) {
        codec_receipt r = tw_run(&T, &W->inv_a, "consent", "enrol",
                                 ARGS(world_text("T-2"), tw_pk(&W->participants[4 + i])), NULL, 0);
        expect_ok(r);
        if (i == 0) {
            cr_expect_eq(r.event_count, 1);
            continue;
        }
        cr_assert_eq(r.event_count, 2);
        cr_expect_str_eq(r.events[1].topic.text, "consent.flag.over_enrolment");
        cr_assert_eq(r.events[1].len, 1 + 3 + 16);
        cr_expect_eq(be64_at(r.events[1].data + 4), i + 1);
        cr_expect_eq(be64_at(r.events[1].data + 12), 1);
    }
    /* a refused enrolment does not count */
    expect_refused(tw_run(&T, &W->inv_a, "consent", "enrol", ARGS(world_text("T-2"), tw_pk(&W->participants[4])), NULL, 0),
                   CONTRACT_E_ALREADY_ENROLLED);
    codec_receipt r = tw_run(&T, &W->inv_a, "consent", "enrol",
                             ARGS(world_text("T-2"), tw_pk(&W->participants[7])), NULL, 0);
    expect_ok(r);
    cr_assert_eq(r.event_count, 2);
    cr_expect_eq(be64_at(r.events[1].data + 4), 4);
}

Test(review, withdrawal_event_and_history_say_what_was_removed)
{
    /* p0 holds all five; withdraw genetic, then genetic + sharing: only sharing is removed */
    codec_receipt r = withdraw(0, SCOPE_GENETIC);
    expect_ok(r);
    r = withdraw(0, SCOPE_GENETIC | SCOPE_DATA_SHARING);
    expect_ok(r);
    cr_assert_eq(r.event_count, 1);
    const uint8_t *d = r.events[0].data + 1 + 3;
    cr_expect_arr_eq(d, W->participants[0].public_key.bytes, 32);
    cr_expect_eq(be64_at(d + 32), SCOPE_DATA_SHARING);
    cr_expect_eq(be64_at(d + 40), 31 & ~SCOPE_GENETIC & ~SCOPE_DATA_SHARING);
    expect_refused(withdraw(0, SCOPE_GENETIC | SCOPE_DATA_SHARING), CONTRACT_E_NOT_GRANTED);
    expect_refused(withdraw(0, 0), CONTRACT_E_BAD_SCOPES);
    expect_refused(withdraw(0, 32), CONTRACT_E_BAD_SCOPES);
}

Test(review, nothing_before_approval_even_after_an_amendment)
{
    static const uint8_t sites[] = "\x06site-a";
    codec_value reg[] = {world_text("T-2"), h32("d2"), h32("p"), world_bytes("", 0), world_int(5),
                         world_bytes(sites, 7), tw_forms()};
    expect_ok(tw_run(&T, &W->sponsor, "protocol", "register", reg, 7, NULL, 0));
    codec_value am[] = {world_text("T-2"), h32("d2b"), h32("p"), world_bytes("", 0), world_int(0), tw_forms()};
    expect_ok(tw_run(&T, &W->sponsor, "protocol", "amend", am, 6, NULL, 0));
    codec_receipt r = tw_run(&T, &W->sponsor, "protocol", "activate",
                             ARGS(world_text("T-2"), world_text("site-a")), NULL, 0);
    expect_refused(r, CONTRACT_E_NOT_APPROVED);
    cr_expect_str_eq(r.reason, "no protocol version of this trial is approved yet");
    expect_refused(tw_run(&T, &W->sponsor, "outcomes", "report",
                          ARGS(world_text("T-2"), h32("p"), world_bytes("", 0)), NULL, 0),
                   CONTRACT_E_NOT_APPROVED);
    /* approving v2 (not v1) is an approval */
    expect_ok(tw_run(&T, &W->regulator, "protocol", "approve", ARGS(world_text("T-2"), world_int(2)), NULL, 0));
    expect_ok(tw_run(&T, &W->sponsor, "protocol", "activate", ARGS(world_text("T-2"), world_text("site-a")), NULL, 0));
    expect_ok(tw_run(&T, &W->sponsor, "outcomes", "report",
                     ARGS(world_text("T-2"), h32("p"), world_bytes("", 0)), NULL, 0));
}

Test(review, new_codes_have_readable_reasons)
{
    static const uint8_t zeros[32];
    codec_receipt r = tw_run(&T, &W->inv_a, "consent", "enrol", ARGS(TR, world_bytes(zeros, 32)), NULL, 0);
    expect_refused(r, CONTRACT_E_ZERO_KEY);
    cr_expect_str_eq(r.reason, "the all-zero key is not a participant key");
    r = grant(0, 1, "no such form", 1);
    expect_refused(r, CONTRACT_E_FORM_UNAPPROVED);
    cr_expect_str_eq(r.reason, "the consent form is not an approved consent form of this protocol version");
    r = tw_run(&T, &W->inv_a, "consent", "enrol", ARGS(TR, tw_pk(&W->researcher)), NULL, 0);
    expect_refused(r, CONTRACT_E_ROLE_TAKEN);
    cr_expect(strlen(r.reason) > 20, "reason: %s", r.reason);
}

Test(review, primary_switch_flags_on_a_mixed_report)
{
    /* pre-registered: primary 1 / secondary 1. Report: primary {secondary 1, new}, secondary
     * {primary 1}: switched(secondary 1), not_preregistered(new), unreported(primary 1) */
    static hash32 prim[2];
    prim[0] = world_hash("secondary 1");
    prim[1] = world_hash("brand new");
    codec_receipt r = tw_run(&T, &W->sponsor, "outcomes", "report",
                             ARGS(TR, world_bytes(prim, 64), h32("primary 1")), NULL, 0);
    expect_ok(r);
    cr_assert_eq(r.event_count, 4);
    cr_expect_str_eq(r.events[0].topic.text, "outcome.flag.primary_switched");
    cr_expect_str_eq(r.events[1].topic.text, "outcome.flag.not_preregistered");
    cr_expect_arr_eq(r.events[1].data + 4, prim[1].bytes, 32);
    cr_expect_str_eq(r.events[2].topic.text, "outcome.flag.primary_unreported");
    cr_expect_str_eq(r.events[3].topic.text, "outcome.reported");
    cr_expect_eq(be64_at(r.events[3].data + 4 + 8), 3);
}
