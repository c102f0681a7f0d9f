/*
 * test_lostkey.c - issue 23 item 2: a participant who lost their key. The site-recorded
 * withdrawal (an investigator of the enrolling site, co-signed by a regulator, on the
 * participant's documented request), the re-binding of the pseudonym to a new key (the new
 * key's own co-signature, the investigator and a regulator; the genesis's rebind delay; the
 * old key's veto; completion), and that no path lets site staff or a regulator grant
 * consent in a participant's name. contracts/ABI.md "A participant who lost their key".
 */
#include "ctest_world.h"

static tw T;
static void setup(void) { tw_open(&T, "trialreg-test-lostkey"); tw_base(&T); }
static void teardown(void) { tw_close(&T); }

TestSuite(lostkey, .init = setup, .fini = teardown);

#define W (&T.w)
#define TR world_text(TRIAL)
#define OLD (&W->participants[0])  /* enrolled at site-a, all five scopes */
#define NEW (&W->participants[6])  /* never enrolled: the participant's new key */
#define DELAY_MS (72ull * HOUR_MS)  /* the genesis default of rules.rebind_delay_ms */

static codec_value h32(const char *label)
{
    static hash32 pool[16];
    static unsigned next;
    hash32 *h = &pool[next++ % 16];
    *h = world_hash(label);
    return world_bytes(h->bytes, 32);
}

static codec_receipt run_at(uint64_t advance_ms, const keypair *signer, const char *method,
                            const codec_value *args, uint32_t n, const world_cosig *cos,
                            uint32_t ncos)
{
    codec_receipt r;
    cr_assert_eq(world_run(W, advance_ms, signer, "consent", method, args, n, cos, ncos, &r), 0);
    return r;
}

static codec_receipt site_withdraw(const keypair *inv, const keypair *who, int64_t scopes,
                                   const world_cosig *cos, uint32_t ncos)
{
    return tw_run(&T, inv, "consent", "site_withdraw",
                  ARGS(TR, tw_pk(who), world_int(scopes), h32("signed request")), cos, ncos);
}

static codec_receipt rebind_request(const keypair *inv, const keypair *old, const keypair *new_key,
                                    const world_cosig *cos, uint32_t ncos)
{
    return tw_run(&T, inv, "consent", "rebind_request",
                  ARGS(TR, tw_pk(old), tw_pk(new_key), h32("lost key request")), cos, ncos);
}

/* The regulator's approval and the new key's own co-signature. */
static const world_cosig *both(const keypair *new_key)
{
    static world_cosig c[2];
    c[0] = (world_cosig){&W->regulator, MEANING_APPROVAL};
    c[1] = (world_cosig){new_key, MEANING_APPROVAL};
    return c;
}

static uint64_t scopes_of(const keypair *k)
{
    uint64_t scopes = 99, version;
    ledger_err rc = exec_query_consent_at(W->e, (const uint8_t *)TRIAL, strlen(TRIAL),
                                          &k->public_key, UINT64_MAX, &scopes, &version);
    return rc == LEDGER_OK ? scopes : 1000 + (uint64_t)rc;
}

static uint32_t history(const keypair *k, exec_consent_entry *h, uint32_t cap)
{
    uint32_t n = 0;
    ledger_err rc = exec_query_consent_history(W->e, (const uint8_t *)TRIAL, strlen(TRIAL),
                                               &k->public_key, h, cap, &n);
    return rc == LEDGER_OK ? n : 0;
}

static bool has_event(const codec_receipt *r, const char *topic)
{
    for (uint32_t i = 0; i < r->event_count; i++)
        if (strcmp(r->events[i].topic.text, topic) == 0) return true;
    return false;
}

static char *timeline(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    cr_assert_eq(exec_timeline_write(W->e, (const uint8_t *)TRIAL, strlen(TRIAL), mem), LEDGER_OK);
    fclose(mem);
    return text;
}

/* ---- 1. the site-recorded withdrawal ------------------------------------------------- */

Test(lostkey, the_enrolling_site_withdraws_on_the_documented_request_with_a_regulator)
{
    world_cosig reg = {&W->regulator, MEANING_APPROVAL};
    codec_receipt r = site_withdraw(&W->inv_a, OLD, SCOPE_FOLLOW_UP | SCOPE_GENETIC, &reg, 1);
    expect_ok(r);
    cr_expect(has_event(&r, "consent.withdrawn_by_site"));
    cr_expect_eq(scopes_of(OLD), 31u & ~(SCOPE_FOLLOW_UP | SCOPE_GENETIC));
    exec_consent_entry h[4];
    cr_assert_eq(history(OLD, h, 4), 2);
    cr_expect_eq(h[1].kind, EXEC_CONSENT_SITE_WITHDRAWAL);
    cr_expect_eq(h[1].scopes, 31u & ~(SCOPE_FOLLOW_UP | SCOPE_GENETIC));
    hash32 request = world_hash("signed request");
    cr_expect_arr_eq(h[1].form.bytes, request.bytes, 32, "the request's hash is kept");
    cr_expect_arr_eq(h[1].witness.bytes, W->inv_a.public_key.bytes, 32, "the investigator");
    cr_expect_arr_eq(h[1].other.bytes, W->regulator.public_key.bytes, 32, "the regulator");
    char *text = timeline();
    cr_expect_not_null(strstr(text, "consent.site_withdraw by investigator-a +regulator(approval): OK"), "%s", text);
    cr_expect_not_null(strstr(text, "withdrawn by site on the participant's documented request"), "%s", text);
    free(text);
    /* the participant's own key still works, and can only find less to withdraw */
    expect_refused(tw_run(&T, OLD, "consent", "withdraw", ARGS(TR, world_int(SCOPE_GENETIC)), NULL, 0),
                   CONTRACT_E_NOT_GRANTED);
    expect_ok(tw_run(&T, OLD, "consent", "withdraw", ARGS(TR, world_int(SCOPE_MAIN)), NULL, 0));
}

Test(lostkey, a_site_withdrawal_only_shrinks_consent)
{
    world_cosig reg = {&W->regulator, MEANING_APPROVAL};
    /* participant 1 holds the main study only: asking for all five removes just that */
    expect_ok(site_withdraw(&W->inv_b, &W->participants[1], 31, &reg, 1));
    cr_expect_eq(scopes_of(&W->participants[1]), 0);
    expect_refused(site_withdraw(&W->inv_b, &W->participants[1], SCOPE_MAIN, &reg, 1),
                   CONTRACT_E_NOT_GRANTED);
    cr_expect_eq(scopes_of(&W->participants[1]), 0, "nothing came back");
}

Test(lostkey, a_site_withdrawal_needs_the_enrolling_sites_investigator_and_a_regulator)
{
    world_cosig reg = {&W->regulator, MEANING_APPROVAL};
    expect_refused(site_withdraw(&W->inv_b, OLD, SCOPE_MAIN, &reg, 1), CONTRACT_E_WRONG_SITE);
    expect_refused(site_withdraw(&W->inv_a, OLD, SCOPE_MAIN, NULL, 0), CONTRACT_E_NO_APPROVAL);
    world_cosig reg_witness = {&W->regulator, MEANING_WITNESS};
    expect_refused(site_withdraw(&W->inv_a, OLD, SCOPE_MAIN, &reg_witness, 1), CONTRACT_E_NO_APPROVAL);
    world_cosig sponsor = {&W->sponsor, MEANING_APPROVAL};
    expect_refused(site_withdraw(&W->inv_a, OLD, SCOPE_MAIN, &sponsor, 1), CONTRACT_E_NO_APPROVAL);
    world_cosig inv_b = {&W->inv_b, MEANING_APPROVAL};
    expect_refused(site_withdraw(&W->inv_a, OLD, SCOPE_MAIN, &inv_b, 1), CONTRACT_E_NO_APPROVAL);
    world_cosig inv_a = {&W->inv_a, MEANING_APPROVAL};
    expect_refused(site_withdraw(&W->regulator, OLD, SCOPE_MAIN, &inv_a, 1), CONTRACT_E_NOT_INVESTIGATOR);
    expect_refused(site_withdraw(&W->sponsor, OLD, SCOPE_MAIN, &reg, 1), CONTRACT_E_NOT_INVESTIGATOR);
    expect_refused(site_withdraw(&W->inv_a, &W->participants[5], SCOPE_MAIN, &reg, 1),
                   CONTRACT_E_NOT_ENROLLED);
    expect_refused(site_withdraw(&W->inv_a, OLD, 0, &reg, 1), CONTRACT_E_BAD_SCOPES);
    expect_refused(tw_run(&T, &W->inv_a, "consent", "site_withdraw",
                          ARGS(TR, tw_pk(OLD), world_int(1), world_bytes("short", 5)), &reg, 1),
                   CONTRACT_E_BAD_ARG);
    cr_expect_eq(scopes_of(OLD), 31, "nothing applied");
}

/* ---- 3. no path grants in a participant's name --------------------------------------- */

Test(lostkey, site_staff_and_regulators_cannot_grant_in_a_participants_name)
{
    codec_value g[] = {TR, world_int(1), h32("form v1"), world_int(31)};
    world_cosig reg = {&W->regulator, MEANING_APPROVAL};
    world_cosig part = {&W->participants[1], MEANING_WITNESS};
    world_cosig inv = {&W->inv_b, MEANING_WITNESS};
    expect_refused(tw_run(&T, &W->inv_b, "consent", "grant", g, 4, &reg, 1), CONTRACT_E_NOT_PARTICIPANT);
    expect_refused(tw_run(&T, &W->inv_b, "consent", "grant", g, 4, &part, 1), CONTRACT_E_NOT_PARTICIPANT);
    expect_refused(tw_run(&T, &W->regulator, "consent", "grant", g, 4, &inv, 1), CONTRACT_E_NOT_PARTICIPANT);
    expect_refused(tw_run(&T, &W->sponsor, "consent", "grant", g, 4, &inv, 1), CONTRACT_E_NOT_PARTICIPANT);
    cr_expect_eq(scopes_of(&W->participants[1]), SCOPE_MAIN, "unchanged");
}

/* ---- 2. re-binding -------------------------------------------------------------------- */

Test(lostkey, a_rebinding_completes_after_the_delay_and_moves_the_consent)
{
    codec_receipt r = rebind_request(&W->inv_a, OLD, NEW, both(NEW), 2);
    expect_ok(r);
    cr_expect(has_event(&r, "consent.rebind_requested"));
    /* before completion the new key holds no role: it cannot grant, withdraw or veto */
    world_cosig wit = {&W->inv_a, MEANING_WITNESS};
    codec_value g[] = {TR, world_int(1), h32("form v1"), world_int(31)};
    expect_invalid(tw_run(&T, NEW, "consent", "grant", g, 4, &wit, 1), EXEC_E_NO_ROLE);
    codec_value done[] = {TR, tw_pk(OLD), tw_pk(NEW)};
    /* requested at t0; the grant above ran at t0 + 1 min */
    expect_refused(run_at(1, &W->inv_b, "rebind_complete", done, 3, NULL, 0), CONTRACT_E_WRONG_SITE);
    expect_refused(run_at(DELAY_MS - 60000 - 2, &W->inv_a, "rebind_complete", done, 3, NULL, 0),
                   CONTRACT_E_REBIND_DELAY); /* at t0 + delay - 1 ms */
    cr_expect_eq(scopes_of(OLD), 31, "nothing moved");
    codec_value wrong[] = {TR, tw_pk(OLD), tw_pk(&W->participants[7])};
    expect_refused(run_at(1, &W->inv_a, "rebind_complete", wrong, 3, NULL, 0), CONTRACT_E_NO_REBIND);
    r = run_at(0, &W->inv_a, "rebind_complete", done, 3, NULL, 0); /* at t0 + delay + 1 ms */
    expect_ok(r);
    cr_expect(has_event(&r, "consent.rebound"));
    cr_expect_eq(scopes_of(NEW), 31, "the consent moved, unchanged");
    cr_expect_eq(scopes_of(OLD), 0, "the old key holds nothing");
    exec_consent_entry h[4];
    cr_assert_eq(history(NEW, h, 4), 1);
    cr_expect_eq(h[0].kind, EXEC_CONSENT_REBOUND_FROM);
    cr_expect_eq(h[0].flags & EXEC_CONSENT_FLAG_REBOUND, EXEC_CONSENT_FLAG_REBOUND);
    cr_expect_arr_eq(h[0].other.bytes, OLD->public_key.bytes, 32);
    cr_assert_eq(history(OLD, h, 4), 2);
    cr_expect_eq(h[1].kind, EXEC_CONSENT_REBOUND_AWAY);
    cr_expect_arr_eq(h[1].witness.bytes, NEW->public_key.bytes, 32);
    /* the old key has no role any more; the new one is the participant */
    expect_invalid(tw_run(&T, OLD, "consent", "withdraw", ARGS(TR, world_int(1)), NULL, 0), EXEC_E_NO_ROLE);
    expect_refused(tw_run(&T, &W->inv_a, "consent", "enrol", ARGS(TR, tw_pk(OLD)), NULL, 0),
                   CONTRACT_E_ROLE_TAKEN);
    expect_refused(run_at(60000, &W->inv_a, "rebind_complete", done, 3, NULL, 0), CONTRACT_E_NO_REBIND);
    expect_ok(tw_run(&T, NEW, "consent", "withdraw", ARGS(TR, world_int(SCOPE_GENETIC)), NULL, 0));
    cr_expect_eq(scopes_of(NEW), 31u & ~SCOPE_GENETIC);
    /* the old key reads nothing any more */
    const uint8_t *id = (const uint8_t *)TRIAL;
    cr_expect(!exec_read_allowed(W->e, &OLD->public_key, EXEC_READ_CONSENT, id, strlen(TRIAL), &OLD->public_key));
    cr_expect(!exec_read_allowed(W->e, &OLD->public_key, EXEC_READ_TIMELINE, id, strlen(TRIAL), NULL));
    cr_expect(exec_read_allowed(W->e, &NEW->public_key, EXEC_READ_CONSENT, id, strlen(TRIAL), &NEW->public_key));
    exec_viewer v;
    exec_viewer_of(W->e, &OLD->public_key, id, strlen(TRIAL), &v);
    cr_expect_eq(v.kind, EXEC_VIEW_NONE);
    cr_expect(!exec_key_known(W->e, &OLD->public_key));
    cr_expect(exec_key_known(W->e, &NEW->public_key));
    /* the new key's own view of the timeline shows the re-binding that named it */
    exec_viewer_of(W->e, &NEW->public_key, id, strlen(TRIAL), &v);
    cr_assert_eq(v.kind, EXEC_VIEW_PARTICIPANT);
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    cr_assert_eq(exec_timeline_write_as(W->e, id, strlen(TRIAL), &v, mem), LEDGER_OK);
    fclose(mem);
    cr_expect_not_null(strstr(text, "consent.rebind_request by investigator-a"), "%s", text);
    cr_expect_not_null(strstr(text, "consent.rebind_complete by investigator-a"), "%s", text);
    cr_expect_not_null(strstr(text, "the participant's consent moved to the new key"), "%s", text);
    cr_expect_null(strstr(text, "consent.site_withdraw"), "nobody else's rows");
    free(text);
}

Test(lostkey, every_grant_after_a_rebinding_is_marked)
{
    expect_ok(rebind_request(&W->inv_a, OLD, NEW, both(NEW), 2));
    codec_value done[] = {TR, tw_pk(OLD), tw_pk(NEW)};
    expect_ok(run_at(DELAY_MS, &W->inv_a, "rebind_complete", done, 3, NULL, 0));
    world_cosig wit = {&W->inv_a, MEANING_WITNESS};
    codec_receipt r = tw_run(&T, NEW, "consent", "grant",
                             ARGS(TR, world_int(1), h32("form v1"), world_int(SCOPE_MAIN)), &wit, 1);
    expect_ok(r);
    cr_expect(has_event(&r, "consent.granted"));
    cr_expect(has_event(&r, "consent.flag.after_rebinding"));
    exec_consent_entry h[4];
    cr_assert_eq(history(NEW, h, 4), 2);
    cr_expect_eq(h[1].kind, 1);
    cr_expect_eq(h[1].flags & EXEC_CONSENT_FLAG_REBOUND, EXEC_CONSENT_FLAG_REBOUND, "marked");
    cr_expect_arr_eq(h[1].other.bytes, OLD->public_key.bytes, 32);
    /* a grant by a key never re-bound is not marked */
    world_cosig wb = {&W->inv_b, MEANING_WITNESS};
    r = tw_run(&T, &W->participants[1], "consent", "grant",
               ARGS(TR, world_int(1), h32("form v1"), world_int(3)), &wb, 1);
    expect_ok(r);
    cr_expect(!has_event(&r, "consent.flag.after_rebinding"));
    cr_assert_eq(history(&W->participants[1], h, 4), 2);
    cr_expect_eq(h[1].flags, 0);
    char *text = timeline();
    cr_expect_not_null(strstr(text, "FLAG  consent.flag.after_rebinding"), "%s", text);
    free(text);
}

Test(lostkey, the_old_key_vetoes_and_a_vetoed_rebinding_never_completes)
{
    expect_ok(rebind_request(&W->inv_a, OLD, NEW, both(NEW), 2));
    /* only the old key vetoes */
    expect_refused(tw_run(&T, &W->participants[1], "consent", "rebind_veto", ARGS(TR), NULL, 0),
                   CONTRACT_E_NO_REBIND);
    expect_refused(tw_run(&T, &W->inv_a, "consent", "rebind_veto", ARGS(TR), NULL, 0),
                   CONTRACT_E_NOT_PARTICIPANT);
    expect_invalid(tw_run(&T, NEW, "consent", "rebind_veto", ARGS(TR), NULL, 0), EXEC_E_NO_ROLE);
    codec_receipt r = tw_run(&T, OLD, "consent", "rebind_veto", ARGS(TR), NULL, 0);
    expect_ok(r);
    cr_expect(has_event(&r, "consent.rebind_vetoed"));
    expect_refused(tw_run(&T, OLD, "consent", "rebind_veto", ARGS(TR), NULL, 0), CONTRACT_E_NO_REBIND);
    codec_value done[] = {TR, tw_pk(OLD), tw_pk(NEW)};
    expect_refused(run_at(DELAY_MS, &W->inv_a, "rebind_complete", done, 3, NULL, 0),
                   CONTRACT_E_REBIND_VETOED);
    cr_expect_eq(scopes_of(OLD), 31, "the old key keeps its consent");
    cr_expect_eq(scopes_of(NEW), 1000 + LEDGER_ERR_NOT_FOUND, "the new key got nothing");
    expect_invalid(tw_run(&T, NEW, "consent", "withdraw", ARGS(TR, world_int(1)), NULL, 0), EXEC_E_NO_ROLE);
    /* the new key is free again: a later request may name it */
    expect_ok(rebind_request(&W->inv_a, OLD, NEW, both(NEW), 2));
}

Test(lostkey, a_rebinding_needs_the_new_keys_signature_the_site_and_a_regulator)
{
    world_cosig reg = {&W->regulator, MEANING_APPROVAL};
    world_cosig new_witness[2] = {{&W->regulator, MEANING_APPROVAL}, {NEW, MEANING_WITNESS}};
    world_cosig new_only = {NEW, MEANING_APPROVAL};
    expect_refused(rebind_request(&W->inv_a, OLD, NEW, &reg, 1), CONTRACT_E_NO_KEY_PROOF);
    expect_refused(rebind_request(&W->inv_a, OLD, NEW, new_witness, 2), CONTRACT_E_NO_KEY_PROOF);
    expect_refused(rebind_request(&W->inv_a, OLD, NEW, &new_only, 1), CONTRACT_E_NO_APPROVAL);
    expect_refused(rebind_request(&W->inv_b, OLD, NEW, both(NEW), 2), CONTRACT_E_WRONG_SITE);
    world_cosig inv[2] = {{&W->inv_a, MEANING_APPROVAL}, {NEW, MEANING_APPROVAL}};
    expect_refused(rebind_request(&W->regulator, OLD, NEW, inv, 2), CONTRACT_E_NOT_INVESTIGATOR);
    expect_refused(rebind_request(&W->inv_a, &W->participants[5], NEW, both(NEW), 2),
                   CONTRACT_E_NOT_ENROLLED);
    expect_refused(rebind_request(&W->inv_a, OLD, OLD, both(OLD), 2), CONTRACT_E_BAD_ARG);
    static const uint8_t zero[32];
    expect_refused(tw_run(&T, &W->inv_a, "consent", "rebind_request",
                          ARGS(TR, tw_pk(OLD), world_bytes(zero, 32), h32("r")), both(NEW), 2),
                   CONTRACT_E_ZERO_KEY);
    cr_expect_eq(scopes_of(NEW), 1000 + LEDGER_ERR_NOT_FOUND);
}

Test(lostkey, the_new_key_holds_no_other_role)
{
    /* an authority's key, another participant's, a validator's: refused */
    expect_refused(rebind_request(&W->inv_a, OLD, &W->sponsor, both(&W->sponsor), 2), CONTRACT_E_ROLE_TAKEN);
    world_cosig reg_is_new = {&W->regulator, MEANING_APPROVAL};
    expect_refused(rebind_request(&W->inv_a, OLD, &W->regulator, &reg_is_new, 1), CONTRACT_E_ROLE_TAKEN);
    expect_refused(rebind_request(&W->inv_a, OLD, &W->participants[1], both(&W->participants[1]), 2),
                   CONTRACT_E_ROLE_TAKEN);
    expect_refused(rebind_request(&W->inv_a, OLD, &W->validators[2], both(&W->validators[2]), 2),
                   CONTRACT_E_ROLE_TAKEN);
    /* a key promised to a pending re-binding is not enrolled, nor promised twice */
    expect_ok(rebind_request(&W->inv_a, OLD, NEW, both(NEW), 2));
    expect_refused(rebind_request(&W->inv_a, OLD, &W->participants[7], both(&W->participants[7]), 2),
                   CONTRACT_E_REBIND_PENDING);
    expect_refused(rebind_request(&W->inv_b, &W->participants[1], NEW, both(NEW), 2), CONTRACT_E_ROLE_TAKEN);
    expect_refused(tw_run(&T, &W->inv_a, "consent", "enrol", ARGS(TR, tw_pk(NEW)), NULL, 0),
                   CONTRACT_E_ROLE_TAKEN);
}

Test(lostkey, a_rebinding_carries_no_consent_that_was_not_given)
{
    /* participant 2 is enrolled and never granted: the new key gets no consent */
    expect_ok(tw_run(&T, &W->inv_a, "consent", "enrol", ARGS(TR, tw_pk(&W->participants[2])), NULL, 0));
    expect_ok(rebind_request(&W->inv_a, &W->participants[2], NEW, both(NEW), 2));
    codec_value done[] = {TR, tw_pk(&W->participants[2]), tw_pk(NEW)};
    codec_receipt r = run_at(DELAY_MS, &W->inv_a, "rebind_complete", done, 3, NULL, 0);
    expect_ok(r);
    cr_expect_eq(scopes_of(NEW), 1000 + LEDGER_ERR_NOT_FOUND, "no consent record at all");
    int64_t now = tw_next_time(&T);
    static hash32 hsh;
    hsh = world_hash("record after rebind");
    expect_refused(tw_run(&T, &W->inv_a, "data", "anchor",
                          ARGS(TR, tw_pk(NEW), world_int(1), world_int(now - 1000),
                               world_bytes(hsh.bytes, 32), world_int(10)), NULL, 0),
                   CONTRACT_E_NO_CONSENT);
    /* a consent reduced by the site before the re-binding moves reduced */
    world_cosig reg = {&W->regulator, MEANING_APPROVAL};
    expect_ok(site_withdraw(&W->inv_a, OLD, 31 & ~SCOPE_MAIN, &reg, 1));
    const keypair *other = &W->participants[7];
    expect_ok(rebind_request(&W->inv_a, OLD, other, both(other), 2));
    codec_value done0[] = {TR, tw_pk(OLD), tw_pk(other)};
    expect_ok(run_at(DELAY_MS, &W->inv_a, "rebind_complete", done0, 3, NULL, 0));
    cr_expect_eq(scopes_of(other), SCOPE_MAIN);
}

Test(lostkey, the_lost_key_flows_re_execute_to_the_same_ledger)
{
    world_cosig reg = {&W->regulator, MEANING_APPROVAL};
    expect_ok(site_withdraw(&W->inv_b, &W->participants[1], SCOPE_MAIN, &reg, 1));
    expect_ok(rebind_request(&W->inv_a, OLD, NEW, both(NEW), 2));
    codec_value done[] = {TR, tw_pk(OLD), tw_pk(NEW)};
    expect_ok(run_at(DELAY_MS, &W->inv_a, "rebind_complete", done, 3, NULL, 0));
    world_cosig wit = {&W->inv_a, MEANING_WITNESS};
    expect_ok(tw_run(&T, NEW, "consent", "grant", ARGS(TR, world_int(1), h32("form v1"), world_int(1)), &wit, 1));
    tw ag;
    tw_open(&ag, "trialreg-test-lostkey");
    tw_replay(&T, &ag);
    tw_close(&ag);
}

/* The delay is the genesis's rule (rules.rebind_delay_ms, read as genesis/rebind_delay), not a
 * constant: a chain whose genesis says 10 minutes completes after 10 minutes, not before. */
static void short_delay(codec_genesis *g, void *ctx)
{
    (void)ctx;
    g->rules.rebind_delay_ms = 10 * 60000;
}

Test(lostkey_genesis, the_delay_is_the_genesis_rule)
{
    tw t;
    snprintf(t.dir, sizeof t.dir, "/tmp/trialreg-contracts-XXXXXX");
    cr_assert_not_null(mkdtemp(t.dir));
    cr_assert_eq(world_init_edit(&t.w, "trialreg-test-lostkey-delay", short_delay, NULL), 0);
    cr_assert_eq(world_open(&t.w, t.dir, true), 0);
    tw_base(&t);
    world *w = &t.w;
    world_cosig both6[2] = {{&w->regulator, MEANING_APPROVAL}, {&w->participants[6], MEANING_APPROVAL}};
    codec_receipt r;
    static hash32 req;
    req = world_hash("req");
    codec_value rq[] = {world_text(TRIAL), tw_pk(&w->participants[0]), tw_pk(&w->participants[6]),
                        world_bytes(req.bytes, 32)};
    cr_assert_eq(world_run(w, 60000, &w->inv_a, "consent", "rebind_request", rq, 4, both6, 2, &r), 0);
    expect_ok(r);
    codec_value done[] = {world_text(TRIAL), tw_pk(&w->participants[0]), tw_pk(&w->participants[6])};
    cr_assert_eq(world_run(w, 10 * 60000 - 1, &w->inv_a, "consent", "rebind_complete", done, 3, NULL, 0, &r), 0);
    expect_refused(r, CONTRACT_E_REBIND_DELAY);
    cr_assert_eq(world_run(w, 1, &w->inv_a, "consent", "rebind_complete", done, 3, NULL, 0, &r), 0);
    expect_ok(r);
    tw_close(&t);
}

/* Review R3: "the old key reads nothing": not even the receipts of the txs it signed
 * (RECEIPT requests by tx id: exec_receipt_read_allowed), as a revoked authority's key. */
Test(lostkey, a_key_rebound_away_reads_no_receipt_either)
{
    static uint8_t buf[CODEC_TX_MAX];
    codec_value w[] = {TR, world_int(SCOPE_GENETIC)};
    size_t len = world_sign(W, OLD, WORLD_NEXT_NONCE, NULL, "consent", "withdraw", w, 2, NULL, 0,
                            buf, sizeof buf);
    cr_assert_gt(len, 0);
    codec_span own = {buf, len};
    codec_receipt r;
    cr_assert_eq(world_commit(W, 60000, &own, 1, &r), 0);
    expect_ok(r);
    cr_expect(exec_receipt_read_allowed(W->e, &OLD->public_key, &own), "its own receipt, while enrolled");
    expect_ok(rebind_request(&W->inv_a, OLD, NEW, both(NEW), 2));
    codec_value done[] = {TR, tw_pk(OLD), tw_pk(NEW)};
    expect_ok(run_at(DELAY_MS + 60000, &W->inv_a, "rebind_complete", done, 3, NULL, 0));
    cr_expect_not(exec_receipt_read_allowed(W->e, &OLD->public_key, &own),
                  "a key re-bound away read the receipt of a tx it signed");
    cr_expect(exec_receipt_read_allowed(W->e, &W->inv_a.public_key, &own), "the site still reads it");
}
