/*
 * test_rules.c - the rules issue 15 found broken, each as the sequence that broke it:
 * the re-consent floor kept per version, access per record scope, the consent history
 * paged, one role per key, the consent form bound to the approved protocol version, and
 * the smaller gaps (approval before activation and outcome reports, over-enrolment,
 * primary/secondary outcomes, the withdrawal event, the all-zero key).
 */
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
static void setup(void) { tw_open(&T, "trialreg-test-rules"); tw_base(&T); }
static void teardown(void) { tw_close(&T); }

TestSuite(rules, .init = setup, .fini = teardown, .timeout = 120);

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

static uint64_t be64_at(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

/* An amendment with re-consent, approved in the next block; returns the approval time. */
static int64_t amend_and_approve(int64_t version, const char *doc)
{
    codec_value am[] = {TR, h32(doc), h32("primary 1"), world_bytes("", 0), world_int(1), tw_forms()};
    expect_ok(tw_run(&T, &W->sponsor, "protocol", "amend", am, 6, NULL, 0));
    expect_ok(tw_run(&T, &W->regulator, "protocol", "approve", ARGS(TR, world_int(version)), NULL, 0));
    return (int64_t)T.w.now_ms;
}

/* ---- 1: the re-consent floor ----------------------------------------------------------- */

Test(rules, a_later_reconsent_amendment_does_not_reopen_old_consent)
{
    int64_t t2 = amend_and_approve(2, "doc v2");
    /* p0 consented under v1 only: data collected after v2's approval is refused */
    expect_refused(tw_anchor(&T, &W->inv_a, 0, SCOPE_MAIN, t2 + 1, "after v2"),
                   CONTRACT_E_RECONSENT_NEEDED);
    amend_and_approve(3, "doc v3");
    /* v3's approval must not move p0's floor to v3's time: still refused */
    expect_refused(tw_anchor(&T, &W->inv_a, 0, SCOPE_MAIN, t2 + 1, "after v2"),
                   CONTRACT_E_RECONSENT_NEEDED);
    /* collected before v2's approval: still valid */
    expect_ok(tw_anchor(&T, &W->inv_a, 0, SCOPE_MAIN, t2 - 1, "before v2"));
}

Test(rules, consent_renewed_under_v2_covers_until_v3_is_approved)
{
    world_cosig ca = {&W->inv_a, MEANING_WITNESS};
    amend_and_approve(2, "doc v2");
    expect_ok(tw_run(&T, &W->participants[0], "consent", "grant",
                     ARGS(TR, world_int(2), h32("form v1"), world_int(31)), &ca, 1));
    int64_t renewed = (int64_t)T.w.now_ms;
    int64_t t3 = amend_and_approve(3, "doc v3");
    /* under v2 consent: data collected before v3's approval is valid, after it is not */
    expect_ok(tw_anchor(&T, &W->inv_a, 0, SCOPE_MAIN, renewed + 1, "between"));
    expect_ok(tw_anchor(&T, &W->inv_a, 0, SCOPE_MAIN, t3 - 1, "just before v3"));
    expect_refused(tw_anchor(&T, &W->inv_a, 0, SCOPE_MAIN, t3, "at v3's approval"),
                   CONTRACT_E_RECONSENT_NEEDED);
}

Test(rules, approvals_out_of_order_use_the_earliest_reconsent_approval)
{
    /* v2 and v3 both require re-consent; v3 is approved first, then v2 */
    codec_value am2[] = {TR, h32("doc v2"), h32("primary 1"), world_bytes("", 0), world_int(1), tw_forms()};
    codec_value am3[] = {TR, h32("doc v3"), h32("primary 1"), world_bytes("", 0), world_int(1), tw_forms()};
    expect_ok(tw_run(&T, &W->sponsor, "protocol", "amend", am2, 6, NULL, 0));
    expect_ok(tw_run(&T, &W->sponsor, "protocol", "amend", am3, 6, NULL, 0));
    expect_ok(tw_run(&T, &W->regulator, "protocol", "approve", ARGS(TR, world_int(3)), NULL, 0));
    int64_t t3 = (int64_t)T.w.now_ms;
    expect_ok(tw_run(&T, &W->regulator, "protocol", "approve", ARGS(TR, world_int(2)), NULL, 0));
    /* p0's v1 consent stopped covering at v3's approval, the earlier of the two */
    expect_refused(tw_anchor(&T, &W->inv_a, 0, SCOPE_MAIN, t3 + 1, "after v3"),
                   CONTRACT_E_RECONSENT_NEEDED);
    expect_ok(tw_anchor(&T, &W->inv_a, 0, SCOPE_MAIN, t3 - 1, "before v3"));
    /* the floor is v3: a grant under v2 is refused */
    world_cosig ca = {&W->inv_a, MEANING_WITNESS};
    expect_refused(tw_run(&T, &W->participants[0], "consent", "grant",
                          ARGS(TR, world_int(2), h32("form v1"), world_int(1)), &ca, 1),
                   CONTRACT_E_VERSION_SUPERSEDED);
}

/* ---- 2: access per record ----------------------------------------------------------------- */

Test(rules, access_does_not_release_records_of_a_withdrawn_scope)
{
    int64_t at = tw_next_time(&T) - 1;
    expect_ok(tw_anchor(&T, &W->inv_a, 0, SCOPE_GENETIC, at, "p0 genotype"));
    at = tw_next_time(&T) - 1;
    expect_ok(tw_anchor(&T, &W->inv_a, 0, SCOPE_MAIN, at, "p0 visit"));
    expect_ok(tw_run(&T, &W->participants[0], "consent", "withdraw",
                     ARGS(TR, world_int(SCOPE_GENETIC)), NULL, 0));
    codec_receipt r = tw_run(&T, &W->researcher, "access", "request",
                             ARGS(TR, world_int(SCOPE_MAIN), world_text("main-study")), NULL, 0);
    expect_ok(r);
    cr_assert_eq(r.event_count, 1);
    const uint8_t *d = r.events[0].data + 1 + strlen(TRIAL);
    cr_expect_eq(be64_at(d + 16), 1, "only the main-study record, not the withdrawn genetic one");
    hash32 visit = world_hash("p0 visit"), list;
    tcrypto_sha256(visit.bytes, 32, &list);
    cr_expect_arr_eq(d + 24, list.bytes, 32, "the list hash covers exactly the released record");
    /* asking for genetic data: nothing (withdrawn), though the record stays anchored */
    r = tw_run(&T, &W->researcher, "access", "request",
               ARGS(TR, world_int(SCOPE_GENETIC), world_text("genetic")), NULL, 0);
    expect_ok(r);
    cr_expect_eq(be64_at(r.events[0].data + 1 + strlen(TRIAL) + 16), 0);
}

/* ---- 3: the consent history is paged, never cut ----------------------------------------- */

Test(rules, a_long_consent_history_is_read_whole_in_pages)
{
    /* p1 (site-b, main study) grants again, then withdraws, and so on: 1 + 66 = 67 entries,
     * the 64th a grant, the last a withdrawal */
    world_cosig cb = {&W->inv_b, MEANING_WITNESS};
    for (int i = 0; i < 66; i++) {
        if (i % 2 == 1) {
            expect_ok(tw_run(&T, &W->participants[1], "consent", "withdraw",
                             ARGS(TR, world_int(SCOPE_MAIN)), NULL, 0));
        } else {
            expect_ok(tw_run(&T, &W->participants[1], "consent", "grant",
                             ARGS(TR, world_int(1), h32("form v1"), world_int(SCOPE_MAIN)), &cb, 1));
        }
    }
    capi_config cfg = {.executor = W->e, .skew_ms = UINT64_MAX / 2, .blocks_max = 8};
    capi *api = capi_open(&cfg);
    cr_assert_not_null(api);
    static uint8_t req[1024], reply[256 * 1024];
    static codec_consent_reply_entry e[CODEC_CONSENT_REPLY_MAX], all[80];
    uint64_t next = 0, total = 0;
    uint32_t pages = 0;
    do {
        uint8_t cursor[8];
        for (int i = 0; i < 8; i++) cursor[i] = (uint8_t)(next >> (56 - 8 * i));
        codec_span args[3] = {{(const uint8_t *)TRIAL, 3},
                              {W->participants[1].public_key.bytes, 32}, {cursor, 8}};
        /* the first page without a cursor, as an old client asks: it is told the total */
        size_t len = client_query_request(&W->regulator, &W->chain_id, (uint64_t)time(NULL) * 1000,
                                          QUERY_CONSENT, args, pages ? 3 : 2, req, sizeof req);
        cr_assert_gt(len, 0);
        size_t rlen = capi_handle(api, req, len, reply, sizeof reply);
        codec_client_response resp;
        cr_assert_eq(codec_client_response_decode(reply, rlen, &resp, NULL), CODEC_OK);
        cr_assert_eq(resp.status, CAPI_OK, "%s", resp.reason);
        codec_consent_page page;
        cr_assert_eq(codec_consent_reply_decode(resp.body.data, resp.body.len, &page, e,
                                                CODEC_CONSENT_REPLY_MAX, NULL), CODEC_OK);
        cr_assert_eq(page.from, next);
        cr_assert_eq(page.total, 67, "the reply says how long the whole history is");
        cr_assert_gt(page.count, 0);
        cr_assert_leq(next + page.count, 80);
        memcpy(all + next, e, page.count * sizeof *e);
        next += page.count;
        total = page.total;
        pages++;
    } while (next < total);
    cr_expect_eq(pages, 2, "67 entries: two pages");
    for (uint32_t i = 0; i < 67; i++) {
        cr_expect_eq(all[i].kind, i == 0 || i % 2 == 1 ? 1 : 2, "entry %u in order", i);
        if (i) cr_expect_gt(all[i].time_ms, all[i - 1].time_ms, "oldest first");
    }
    cr_expect_eq(all[66].kind, 2, "the last entry: the participant has withdrawn");
    /* a cursor past the end is refused, not answered with an empty history */
    uint8_t past[8] = {0, 0, 0, 0, 0, 0, 0, 68};
    codec_span args[3] = {{(const uint8_t *)TRIAL, 3}, {W->participants[1].public_key.bytes, 32},
                          {past, 8}};
    size_t len = client_query_request(&W->regulator, &W->chain_id, (uint64_t)time(NULL) * 1000,
                                      QUERY_CONSENT, args, 3, req, sizeof req);
    codec_client_response resp;
    cr_assert_eq(codec_client_response_decode(reply, capi_handle(api, req, len, reply, sizeof reply),
                                              &resp, NULL), CODEC_OK);
    cr_expect_eq(resp.status, CAPI_NOT_FOUND, "%s", resp.reason);
    /* the status at any time looks at the whole history */
    uint64_t scopes, version;
    cr_assert_eq(exec_query_consent_at(W->e, (const uint8_t *)TRIAL, 3,
                                       &W->participants[1].public_key, W->now_ms, &scopes,
                                       &version), LEDGER_OK);
    cr_expect_eq(scopes, 0, "withdrawn now");
    capi_close(api);
}

/* ---- 4: one role per key --------------------------------------------------------------- */

Test(rules, a_validator_key_cannot_be_enrolled)
{
    expect_refused(tw_run(&T, &W->inv_a, "consent", "enrol", ARGS(TR, tw_pk(&W->validators[0])), NULL, 0),
                   CONTRACT_E_ROLE_TAKEN);
    expect_refused(tw_run(&T, &W->inv_a, "consent", "enrol", ARGS(TR, tw_pk(&W->regulator)), NULL, 0),
                   CONTRACT_E_ROLE_TAKEN);
}

/* ---- 5: the consent form is an approved form of the version ---------------------------- */

Test(rules, a_grant_names_an_approved_form_of_its_version)
{
    world_cosig ca = {&W->inv_a, MEANING_WITNESS};
    static const uint8_t zeros[32];
    expect_refused(tw_run(&T, &W->participants[0], "consent", "grant",
                          ARGS(TR, world_int(1), world_bytes(zeros, 32), world_int(1)), &ca, 1),
                   CONTRACT_E_FORM_UNAPPROVED);
    expect_refused(tw_run(&T, &W->participants[0], "consent", "grant",
                          ARGS(TR, world_int(1), h32("some other document"), world_int(1)), &ca, 1),
                   CONTRACT_E_FORM_UNAPPROVED);
    /* v2 comes with its own form: v1's form does not cover a grant under v2 */
    codec_value am[] = {TR, h32("doc v2"), h32("primary 1"), world_bytes("", 0), world_int(1),
                        h32("form v2")};
    expect_ok(tw_run(&T, &W->sponsor, "protocol", "amend", am, 6, NULL, 0));
    expect_ok(tw_run(&T, &W->regulator, "protocol", "approve", ARGS(TR, world_int(2)), NULL, 0));
    expect_refused(tw_run(&T, &W->participants[0], "consent", "grant",
                          ARGS(TR, world_int(2), h32("form v1"), world_int(1)), &ca, 1),
                   CONTRACT_E_FORM_UNAPPROVED);
    expect_ok(tw_run(&T, &W->participants[0], "consent", "grant",
                     ARGS(TR, world_int(2), h32("form v2"), world_int(1)), &ca, 1));
    /* forms: 1..4 distinct 32-byte hashes */
    static hash32 twice[2];
    twice[0] = twice[1] = world_hash("form v3");
    am[5] = world_bytes(twice, 64);
    expect_refused(tw_run(&T, &W->sponsor, "protocol", "amend", am, 6, NULL, 0), CONTRACT_E_BAD_ARG);
    am[5] = world_bytes("", 0);
    expect_refused(tw_run(&T, &W->sponsor, "protocol", "amend", am, 6, NULL, 0), CONTRACT_E_BAD_ARG);
}

/* ---- 6: the smaller gaps --------------------------------------------------------------- */

Test(rules, nothing_runs_before_a_protocol_approval)
{
    static const uint8_t sites[] = "\x06site-a";
    codec_value reg[] = {world_text("T-2"), h32("d"), h32("p"), world_bytes("", 0), world_int(5),
                         world_bytes(sites, 7), tw_forms()};
    expect_ok(tw_run(&T, &W->sponsor, "protocol", "register", reg, 7, NULL, 0));
    expect_refused(tw_run(&T, &W->sponsor, "protocol", "activate",
                          ARGS(world_text("T-2"), world_text("site-a")), NULL, 0),
                   CONTRACT_E_NOT_APPROVED);
    expect_refused(tw_run(&T, &W->sponsor, "outcomes", "report", ARGS(world_text("T-2"), h32("p"), world_bytes("", 0)), NULL, 0),
                   CONTRACT_E_NOT_APPROVED);
}

Test(rules, the_all_zero_key_cannot_be_enrolled)
{
    static const uint8_t zeros[32];
    expect_refused(tw_run(&T, &W->inv_a, "consent", "enrol", ARGS(TR, world_bytes(zeros, 32)), NULL, 0),
                   CONTRACT_E_ZERO_KEY);
}

Test(rules, enrolment_beyond_the_planned_number_is_flagged)
{
    /* T-1 plans 10; 2 are enrolled: enrol 8 more (no flag), then the 11th (flagged) */
    static keypair extra[9];
    for (uint32_t i = 0; i < 9; i++) {
        hash32 seed = world_hash(i == 0 ? "extra 0" : i == 1 ? "extra 1" : i == 2 ? "extra 2"
                                 : i == 3 ? "extra 3" : i == 4 ? "extra 4" : i == 5 ? "extra 5"
                                 : i == 6 ? "extra 6" : i == 7 ? "extra 7" : "extra 8");
        tcrypto_keypair_from_seed(seed.bytes, &extra[i]);
        codec_receipt r = tw_run(&T, &W->inv_a, "consent", "enrol", ARGS(TR, tw_pk(&extra[i])), NULL, 0);
        expect_ok(r);
        bool flagged = false;
        for (uint32_t k = 0; k < r.event_count; k++)
            flagged |= strstr(r.events[k].topic.text, ".flag.") != NULL;
        cr_expect_eq(flagged, i == 8, "enrolment %u of 10 planned %s", i + 3,
                     i == 8 ? "must be flagged" : "is within the plan");
    }
}

Test(rules, a_withdrawal_event_names_the_scopes_actually_removed)
{
    /* p1 holds the main study only; withdrawing main + genetic removes main alone */
    codec_receipt r = tw_run(&T, &W->participants[1], "consent", "withdraw",
                             ARGS(TR, world_int(SCOPE_MAIN | SCOPE_GENETIC)), NULL, 0);
    expect_ok(r);
    cr_assert_eq(r.event_count, 1);
    const uint8_t *d = r.events[0].data + 1 + strlen(TRIAL) + 32;
    cr_expect_eq(be64_at(d), SCOPE_MAIN, "withdrawn: the bits removed");
    cr_expect_eq(be64_at(d + 8), 0, "remaining");
}

Test(rules, a_report_that_makes_a_secondary_outcome_primary_is_flagged)
{
    /* the report names its primary outcomes: "secondary 1" as primary, "primary 1" as
     * secondary */
    codec_receipt r = tw_run(&T, &W->sponsor, "outcomes", "report",
                             ARGS(TR, h32("secondary 1"), h32("primary 1")), NULL, 0);
    expect_ok(r);
    cr_assert_eq(r.event_count, 3);
    cr_expect_str_eq(r.events[0].topic.text, "outcome.flag.primary_switched");
    cr_expect_arr_eq(r.events[0].data + 4, world_hash("secondary 1").bytes, 32);
    cr_expect_str_eq(r.events[1].topic.text, "outcome.flag.primary_unreported");
    cr_expect_arr_eq(r.events[1].data + 4, world_hash("primary 1").bytes, 32);
    cr_expect_str_eq(r.events[2].topic.text, "outcome.reported");
    /* as pre-registered: no flag */
    r = tw_run(&T, &W->sponsor, "outcomes", "report", ARGS(TR, h32("primary 1"), h32("secondary 1")), NULL, 0);
    expect_ok(r);
    cr_expect_eq(r.event_count, 1);
}
