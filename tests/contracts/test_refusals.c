/*
 * test_refusals.c - every contract refusal with its code, and every role boundary.
 */
#include "ctest_world.h"

static tw T;
static void setup(void) { tw_open(&T, "trialreg-test-refusals"); tw_base(&T); }
static void teardown(void) { tw_close(&T); }

TestSuite(refusals, .init = setup, .fini = teardown);

#define W (&T.w)
#define TR world_text(TRIAL)

static codec_value h32(const char *label)
{
    static hash32 pool[16];
    static unsigned next;
    hash32 *h = &pool[next++ % 16];
    *h = world_hash(label);
    return world_bytes(h->bytes, 32);
}

static const uint8_t SITES[] = "\x06site-a";
#define SITES_ARG world_bytes(SITES, sizeof SITES - 1)

/* ---- roles ------------------------------------------------------------------------- */

Test(refusals, only_the_sponsor_registers_amends_activates_reports)
{
    codec_value reg[] = {world_text("T-2"), h32("d"), h32("p"), world_bytes("", 0), world_int(5), SITES_ARG, tw_forms()};
    expect_refused(tw_run(&T, &W->inv_a, "protocol", "register", reg, 7, NULL, 0), CONTRACT_E_NOT_SPONSOR);
    expect_refused(tw_run(&T, &W->regulator, "protocol", "register", reg, 7, NULL, 0), CONTRACT_E_NOT_SPONSOR);
    codec_value am[] = {TR, h32("d2"), h32("p"), world_bytes("", 0), world_int(0), tw_forms()};
    expect_refused(tw_run(&T, &W->inv_a, "protocol", "amend", am, 6, NULL, 0), CONTRACT_E_NOT_SPONSOR);
    expect_refused(tw_run(&T, &W->researcher, "protocol", "amend", am, 6, NULL, 0), CONTRACT_E_NOT_SPONSOR);
    expect_refused(tw_run(&T, &W->inv_b, "protocol", "activate", ARGS(TR, world_text("site-b")), NULL, 0),
                   CONTRACT_E_NOT_SPONSOR);
    expect_refused(tw_run(&T, &W->regulator, "outcomes", "report", ARGS(TR, h32("p"), world_bytes("", 0)), NULL, 0),
                   CONTRACT_E_NOT_SPONSOR);
}

Test(refusals, only_a_regulator_approves)
{
    codec_value am[] = {TR, h32("d2"), h32("p"), world_bytes("", 0), world_int(0), tw_forms()};
    expect_ok(tw_run(&T, &W->sponsor, "protocol", "amend", am, 6, NULL, 0));
    expect_refused(tw_run(&T, &W->sponsor, "protocol", "approve", ARGS(TR, world_int(2)), NULL, 0),
                   CONTRACT_E_NOT_REGULATOR);
    expect_refused(tw_run(&T, &W->inv_a, "protocol", "approve", ARGS(TR, world_int(2)), NULL, 0),
                   CONTRACT_E_NOT_REGULATOR);
    expect_ok(tw_run(&T, &W->regulator, "protocol", "approve", ARGS(TR, world_int(2)), NULL, 0));
    expect_refused(tw_run(&T, &W->regulator, "protocol", "approve", ARGS(TR, world_int(2)), NULL, 0),
                   CONTRACT_E_ALREADY_APPROVED);
}

Test(refusals, only_investigators_enrol_and_anchor)
{
    expect_refused(tw_run(&T, &W->sponsor, "consent", "enrol", ARGS(TR, tw_pk(&W->participants[5])), NULL, 0),
                   CONTRACT_E_NOT_INVESTIGATOR);
    expect_refused(tw_run(&T, &W->researcher, "consent", "enrol", ARGS(TR, tw_pk(&W->participants[5])), NULL, 0),
                   CONTRACT_E_NOT_INVESTIGATOR);
    expect_refused(tw_anchor(&T, &W->sponsor, 0, 1, tw_next_time(&T) - 1, "x"), CONTRACT_E_NOT_INVESTIGATOR);
    expect_refused(tw_anchor(&T, &W->participants[0], 0, 1, tw_next_time(&T) - 1, "x"),
                   CONTRACT_E_NOT_INVESTIGATOR);
}

Test(refusals, nobody_but_the_participant_grants_or_withdraws)
{
    world_cosig ca = {&W->inv_a, MEANING_WITNESS}, cb = {&W->inv_b, MEANING_WITNESS};
    codec_value g[] = {TR, world_int(1), h32("form v1"), world_int(1)};
    expect_refused(tw_run(&T, &W->inv_a, "consent", "grant", g, 4, &cb, 1), CONTRACT_E_NOT_PARTICIPANT);
    /* signing and co-signing one's own tx is refused before it runs (codec: distinct keys) */
    expect_invalid(tw_run(&T, &W->inv_a, "consent", "grant", g, 4, &ca, 1), EXEC_E_DECODE);
    expect_refused(tw_run(&T, &W->sponsor, "consent", "grant", g, 4, &ca, 1), CONTRACT_E_NOT_PARTICIPANT);
    expect_refused(tw_run(&T, &W->researcher, "consent", "grant", g, 4, &ca, 1), CONTRACT_E_NOT_PARTICIPANT);
    expect_refused(tw_run(&T, &W->regulator, "consent", "withdraw", ARGS(TR, world_int(1)), NULL, 0),
                   CONTRACT_E_NOT_PARTICIPANT);
    expect_refused(tw_run(&T, &W->inv_a, "consent", "withdraw", ARGS(TR, world_int(1)), NULL, 0),
                   CONTRACT_E_NOT_PARTICIPANT);
    /* another participant's key acts only on its own record: p1 withdrawing affects p1 */
    expect_ok(tw_run(&T, &W->participants[1], "consent", "withdraw", ARGS(TR, world_int(1)), NULL, 0));
    uint64_t scopes, version;
    cr_assert_eq(exec_query_consent_at(W->e, (const uint8_t *)TRIAL, 3, &W->participants[0].public_key,
                                       W->now_ms, &scopes, &version), LEDGER_OK);
    cr_expect_eq(scopes, 31, "p0's consent untouched by p1's withdrawal");
    /* a key that is not enrolled holds no role at all */
    expect_invalid(tw_run(&T, &W->participants[6], "consent", "withdraw", ARGS(TR, world_int(1)), NULL, 0),
                   EXEC_E_NO_ROLE);
}

Test(refusals, investigator_of_site_a_cannot_cosign_at_site_b)
{
    world_cosig wrong = {&W->inv_a, MEANING_WITNESS};
    codec_value g[] = {TR, world_int(1), h32("form v1"), world_int(3)};
    expect_refused(tw_run(&T, &W->participants[1], "consent", "grant", g, 4, &wrong, 1),
                   CONTRACT_E_WRONG_SITE);
    /* nor anchor data of site-b's participant */
    expect_refused(tw_anchor(&T, &W->inv_a, 1, 1, tw_next_time(&T) - 1, "p1 rec"), CONTRACT_E_WRONG_SITE);
    /* no witness, or a witness signature with another meaning */
    expect_refused(tw_run(&T, &W->participants[1], "consent", "grant", g, 4, NULL, 0), CONTRACT_E_NO_WITNESS);
    world_cosig approval = {&W->inv_b, MEANING_APPROVAL};
    expect_refused(tw_run(&T, &W->participants[1], "consent", "grant", g, 4, &approval, 1),
                   CONTRACT_E_NO_WITNESS);
    world_cosig sponsor = {&W->sponsor, MEANING_WITNESS};
    expect_refused(tw_run(&T, &W->participants[1], "consent", "grant", g, 4, &sponsor, 1),
                   CONTRACT_E_NO_WITNESS);
}

Test(refusals, only_researchers_request_access)
{
    codec_value rq[] = {TR, world_int(1), world_text("purpose")};
    expect_refused(tw_run(&T, &W->sponsor, "access", "request", rq, 3, NULL, 0), CONTRACT_E_NOT_RESEARCHER);
    expect_refused(tw_run(&T, &W->inv_a, "access", "request", rq, 3, NULL, 0), CONTRACT_E_NOT_RESEARCHER);
    expect_refused(tw_run(&T, &W->participants[0], "access", "request", rq, 3, NULL, 0),
                   CONTRACT_E_NOT_RESEARCHER);
    expect_ok(tw_run(&T, &W->researcher, "access", "request", rq, 3, NULL, 0));
}

/* ---- protocol ---------------------------------------------------------------------- */

Test(refusals, protocol_arguments_and_states)
{
    codec_value reg[] = {TR, h32("d"), h32("p"), world_bytes("", 0), world_int(5), SITES_ARG, tw_forms()};
    expect_refused(tw_run(&T, &W->sponsor, "protocol", "register", reg, 7, NULL, 0), CONTRACT_E_TRIAL_EXISTS);
    static const uint8_t long_id[33] = {0};
    reg[0] = world_bytes(long_id, 33);
    expect_refused(tw_run(&T, &W->sponsor, "protocol", "register", reg, 7, NULL, 0), CONTRACT_E_BAD_ARG);
    reg[0] = world_text("T-3");
    reg[1] = world_bytes("short", 5); /* not a 32-byte hash: no free text */
    expect_refused(tw_run(&T, &W->sponsor, "protocol", "register", reg, 7, NULL, 0), CONTRACT_E_BAD_ARG);
    reg[1] = h32("d");
    reg[5] = world_bytes("\x09site-a", 7); /* length byte runs past the end */
    expect_refused(tw_run(&T, &W->sponsor, "protocol", "register", reg, 7, NULL, 0), CONTRACT_E_BAD_ARG);
    reg[5] = world_bytes("\x06site-a\x06site-a", 14); /* a site twice */
    expect_refused(tw_run(&T, &W->sponsor, "protocol", "register", reg, 7, NULL, 0), CONTRACT_E_BAD_ARG);
    expect_refused(tw_run(&T, &W->regulator, "protocol", "approve", ARGS(world_text("nope"), world_int(1)), NULL, 0),
                   CONTRACT_E_NO_TRIAL);
    expect_refused(tw_run(&T, &W->regulator, "protocol", "approve", ARGS(TR, world_int(1)), NULL, 0),
                   CONTRACT_E_ALREADY_APPROVED);
    expect_refused(tw_run(&T, &W->regulator, "protocol", "approve", ARGS(TR, world_int(2)), NULL, 0),
                   CONTRACT_E_BAD_ARG);
    expect_refused(tw_run(&T, &W->sponsor, "protocol", "activate", ARGS(TR, world_text("site-z")), NULL, 0),
                   CONTRACT_E_NO_SITE);
    expect_refused(tw_run(&T, &W->sponsor, "protocol", "activate", ARGS(TR, world_text("site-a")), NULL, 0),
                   CONTRACT_E_SITE_ACTIVE);
}

Test(refusals, enrolment_needs_an_approved_version_and_an_active_site)
{
    codec_value reg[] = {world_text("T-2"), h32("d"), h32("p"), world_bytes("", 0), world_int(5), SITES_ARG, tw_forms()};
    expect_ok(tw_run(&T, &W->sponsor, "protocol", "register", reg, 7, NULL, 0));
    codec_value en[] = {world_text("T-2"), tw_pk(&W->participants[4])};
    expect_refused(tw_run(&T, &W->inv_a, "consent", "enrol", en, 2, NULL, 0), CONTRACT_E_VERSION_UNAPPROVED);
    expect_ok(tw_run(&T, &W->regulator, "protocol", "approve", ARGS(world_text("T-2"), world_int(1)), NULL, 0));
    expect_refused(tw_run(&T, &W->inv_a, "consent", "enrol", en, 2, NULL, 0), CONTRACT_E_SITE_INACTIVE);
    expect_refused(tw_run(&T, &W->inv_b, "consent", "enrol", en, 2, NULL, 0), CONTRACT_E_NO_SITE);
    expect_ok(tw_run(&T, &W->sponsor, "protocol", "activate", ARGS(world_text("T-2"), world_text("site-a")), NULL, 0));
    expect_ok(tw_run(&T, &W->inv_a, "consent", "enrol", en, 2, NULL, 0));
    expect_refused(tw_run(&T, &W->inv_a, "consent", "enrol", en, 2, NULL, 0), CONTRACT_E_ALREADY_ENROLLED);
    /* a per-trial key: the same key cannot join another trial */
    expect_refused(tw_run(&T, &W->inv_a, "consent", "enrol", ARGS(TR, tw_pk(&W->participants[4])), NULL, 0),
                   CONTRACT_E_ALREADY_ENROLLED);
    /* an authority key is never a participant */
    expect_refused(tw_run(&T, &W->inv_a, "consent", "enrol", ARGS(TR, tw_pk(&W->sponsor)), NULL, 0),
                   CONTRACT_E_ROLE_TAKEN);
}

/* ---- consent ------------------------------------------------------------------------- */

Test(refusals, consent_versions_and_scopes)
{
    world_cosig ca = {&W->inv_a, MEANING_WITNESS};
    expect_refused(tw_run(&T, &W->participants[0], "consent", "grant", ARGS(TR, world_int(7), h32("f"), world_int(1)), &ca, 1),
                   CONTRACT_E_NO_VERSION);
    expect_refused(tw_run(&T, &W->participants[0], "consent", "grant", ARGS(TR, world_int(1), h32("form v1"), world_int(0)), &ca, 1),
                   CONTRACT_E_BAD_SCOPES);
    expect_refused(tw_run(&T, &W->participants[0], "consent", "grant", ARGS(TR, world_int(1), h32("form v1"), world_int(32)), &ca, 1),
                   CONTRACT_E_BAD_SCOPES);
    expect_refused(tw_run(&T, &W->participants[1], "consent", "withdraw", ARGS(TR, world_int(SCOPE_GENETIC)), NULL, 0),
                   CONTRACT_E_NOT_GRANTED);
    expect_refused(tw_run(&T, &W->participants[1], "consent", "withdraw", ARGS(TR, world_int(0)), NULL, 0),
                   CONTRACT_E_BAD_SCOPES);
    codec_value am[] = {TR, h32("d2"), h32("p"), world_bytes("", 0), world_int(1), h32("f2")};
    expect_ok(tw_run(&T, &W->sponsor, "protocol", "amend", am, 6, NULL, 0));
    expect_refused(tw_run(&T, &W->participants[0], "consent", "grant", ARGS(TR, world_int(2), h32("f2"), world_int(1)), &ca, 1),
                   CONTRACT_E_VERSION_UNAPPROVED);
    expect_ok(tw_run(&T, &W->regulator, "protocol", "approve", ARGS(TR, world_int(2)), NULL, 0));
    expect_refused(tw_run(&T, &W->participants[0], "consent", "grant", ARGS(TR, world_int(1), h32("f"), world_int(1)), &ca, 1),
                   CONTRACT_E_VERSION_SUPERSEDED);
    expect_ok(tw_run(&T, &W->participants[0], "consent", "grant", ARGS(TR, world_int(2), h32("f2"), world_int(1)), &ca, 1));
}

/* ---- data ---------------------------------------------------------------------------- */

Test(refusals, data_anchor_rules)
{
    int64_t now = tw_next_time(&T);
    expect_refused(tw_anchor(&T, &W->inv_a, 0, 3, now - 1, "two scopes"), CONTRACT_E_BAD_SCOPES);
    now = tw_next_time(&T);
    expect_refused(tw_anchor(&T, &W->inv_a, 0, 1, now + 1, "future"), CONTRACT_E_FUTURE_DATA);
    /* collected at its block's own time: not before it, refused (what decides an anchor
     * must lie in earlier blocks, whatever the order of txs inside its block) */
    now = tw_next_time(&T);
    expect_refused(tw_anchor(&T, &W->inv_a, 0, 1, now, "at block time"), CONTRACT_E_FUTURE_DATA);
    now = tw_next_time(&T);
    expect_refused(tw_anchor(&T, &W->inv_a, 0, 1, now - 8 * 24 * (int64_t)HOUR_MS, "backdated"),
                   CONTRACT_E_STALE_DATA);
    now = tw_next_time(&T);
    expect_ok(tw_anchor(&T, &W->inv_a, 0, 1, now - 1, "rec"));
    now = tw_next_time(&T);
    expect_refused(tw_anchor(&T, &W->inv_a, 0, 1, now - 1, "rec"), CONTRACT_E_DUPLICATE);
    now = tw_next_time(&T);
    expect_refused(tw_anchor(&T, &W->inv_b, 1, SCOPE_FOLLOW_UP, now - 1, "no consent"), CONTRACT_E_NO_CONSENT);
    now = tw_next_time(&T);
    expect_refused(tw_anchor(&T, &W->inv_a, 5, 1, now - 1, "not enrolled"), CONTRACT_E_NOT_ENROLLED);
    /* before the participant's first consent: no consent at collected-at */
    now = tw_next_time(&T);
    expect_refused(tw_anchor(&T, &W->inv_b, 1, 1, now - 24 * (int64_t)HOUR_MS, "before consent"),
                   CONTRACT_E_NO_CONSENT);
}

Test(refusals, withdrawal_is_forward_only)
{
    int64_t before = (int64_t)T.w.now_ms; /* p0 consents to everything at this time */
    expect_ok(tw_run(&T, &W->participants[0], "consent", "withdraw", ARGS(TR, world_int(SCOPE_GENETIC)), NULL, 0));
    /* data collected before the withdrawal stays valid and can still be anchored */
    expect_ok(tw_anchor(&T, &W->inv_a, 0, SCOPE_GENETIC, before, "collected before"));
    /* nothing new under that scope; other scopes unaffected */
    expect_refused(tw_anchor(&T, &W->inv_a, 0, SCOPE_GENETIC, tw_next_time(&T) - 1, "after"),
                   CONTRACT_E_NO_CONSENT);
    expect_ok(tw_anchor(&T, &W->inv_a, 0, SCOPE_MAIN, tw_next_time(&T) - 1, "main after"));
}

Test(refusals, reconsent_amendment_stops_old_consent_covering_new_data)
{
    int64_t old = (int64_t)T.w.now_ms;
    codec_value am[] = {TR, h32("d2"), h32("p"), world_bytes("", 0), world_int(1), h32("f2")};
    expect_ok(tw_run(&T, &W->sponsor, "protocol", "amend", am, 6, NULL, 0));
    /* not yet approved: the old consent still covers */
    expect_ok(tw_anchor(&T, &W->inv_a, 0, 1, tw_next_time(&T) - 1, "before approval"));
    expect_ok(tw_run(&T, &W->regulator, "protocol", "approve", ARGS(TR, world_int(2)), NULL, 0));
    expect_refused(tw_anchor(&T, &W->inv_a, 0, 1, tw_next_time(&T) - 1, "after approval"),
                   CONTRACT_E_RECONSENT_NEEDED);
    /* collected before the approval: still valid */
    expect_ok(tw_anchor(&T, &W->inv_a, 0, 1, old, "collected earlier"));
    world_cosig ca = {&W->inv_a, MEANING_WITNESS};
    expect_ok(tw_run(&T, &W->participants[0], "consent", "grant", ARGS(TR, world_int(2), h32("f2"), world_int(1)), &ca, 1));
    expect_ok(tw_anchor(&T, &W->inv_a, 0, 1, tw_next_time(&T) - 1, "after re-consent"));
}

/* ---- access and outcomes ------------------------------------------------------------- */

Test(refusals, access_bounds_and_exclusion)
{
    codec_value rq[] = {TR, world_int(SCOPE_MAIN), world_text("purpose")};
    expect_refused(tw_run(&T, &W->researcher, "access", "request", ARGS(TR, world_int(6), world_text("p")), NULL, 0),
                   CONTRACT_E_BAD_SCOPES);
    expect_refused(tw_run(&T, &W->researcher, "access", "request", ARGS(TR, world_int(1), world_bytes("", 0)), NULL, 0),
                   CONTRACT_E_BAD_ARG);
    /* 301 records in one block (site-a's nonces in order): more than a grant may name */
    static uint8_t bufs[301][512];
    static codec_span spans[301];
    static hash32 hs[301];
    int64_t at = (int64_t)T.w.now_ms + 60000 - 1; /* collected just before the block */
    for (int i = 0; i < 301; i++) {
        char label[32];
        snprintf(label, sizeof label, "bulk %d", i);
        hs[i] = world_hash(label);
        codec_value a[] = {TR, tw_pk(&W->participants[0]), world_int(1), world_int(at),
                           world_bytes(hs[i].bytes, 32), world_int(1)};
        spans[i].len = world_sign(W, &W->inv_a, WORLD_NEXT_NONCE, NULL, "data", "anchor", a, 6,
                                  NULL, 0, bufs[i], sizeof bufs[i]);
        spans[i].data = bufs[i];
    }
    static codec_receipt rs[301];
    cr_assert_eq(world_commit(W, 60000, spans, 301, rs), 0);
    for (int i = 0; i < 301; i++) expect_ok(rs[i]);
    expect_refused(tw_run(&T, &W->researcher, "access", "request", rq, 3, NULL, 0), CONTRACT_E_TOO_MANY);
    /* after p0 withdraws the main study, the grant names none of p0's records */
    expect_ok(tw_run(&T, &W->participants[0], "consent", "withdraw", ARGS(TR, world_int(SCOPE_MAIN)), NULL, 0));
    codec_receipt r = tw_run(&T, &W->researcher, "access", "request", rq, 3, NULL, 0);
    expect_ok(r);
    cr_assert_eq(r.event_count, 1);
    const uint8_t *d = r.events[0].data + 1 + 3;
    uint64_t count = 0;
    for (int i = 0; i < 8; i++) count = count << 8 | d[16 + i];
    cr_expect_eq(count, 0, "withdrawn participant excluded");
    hash32 empty;
    tcrypto_sha256("", 0, &empty);
    cr_expect_arr_eq(d + 24, empty.bytes, 32, "receipt carries the hash of the (empty) list");
}

Test(refusals, outcome_switches_are_flagged)
{
    codec_receipt r = tw_run(&T, &W->sponsor, "outcomes", "report", ARGS(TR, h32("primary 1"), world_bytes("", 0)), NULL, 0);
    expect_ok(r);
    cr_expect_eq(r.event_count, 1, "pre-registered primary reported: no flag");
    static hash32 two[2];
    two[0] = world_hash("secondary 1");
    two[1] = world_hash("a new outcome");
    r = tw_run(&T, &W->sponsor, "outcomes", "report",
               ARGS(TR, world_bytes(two[1].bytes, 32), world_bytes(two[0].bytes, 32)), NULL, 0);
    expect_ok(r);
    cr_assert_eq(r.event_count, 3);
    cr_expect_str_eq(r.events[0].topic.text, "outcome.flag.not_preregistered");
    cr_expect_arr_eq(r.events[0].data + 4, two[1].bytes, 32);
    cr_expect_str_eq(r.events[1].topic.text, "outcome.flag.primary_unreported");
    expect_refused(tw_run(&T, &W->sponsor, "outcomes", "report", ARGS(TR, world_bytes("abc", 3), world_bytes("", 0)), NULL, 0),
                   CONTRACT_E_BAD_ARG);
}
