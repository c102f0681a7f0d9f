/*
 * scenario.c - the whole example trial (see world.h), step by step, each receipt checked
 * against what the rules say must happen.
 */
#include <string.h>

#include "errors.h"
#include "world.h"

#define HOUR (3600ull * 1000)
#define MINUTE (60ull * 1000)

static int expect(const char *step, const codec_receipt *r, uint8_t status, uint32_t code)
{
    if (r->status == status && r->error_code == code) return 0;
    fprintf(stderr, "scenario step '%s': expected status %u code %u, got %u %u (%s)\n", step,
            status, code, r->status, r->error_code, r->reason);
    return -1;
}

typedef struct {
    world *w;
    codec_value trial;
    int failed;
    uint64_t v2_approved_ms; /* scenario time of v2's approval */
} story;

static void run(story *s, const char *step, uint64_t advance, const keypair *signer,
                const char *contract, const char *method, const codec_value *args,
                uint32_t nargs, const world_cosig *cos, uint32_t ncos, uint8_t status,
                uint32_t code)
{
    codec_receipt r;
    if (s->failed) return;
    if (world_run(s->w, advance, signer, contract, method, args, nargs, cos, ncos, &r) != 0
        || expect(step, &r, status, code) != 0) {
        s->failed = 1;
    }
}

static uint8_t sites[] = "\x06site-a\x06site-b";

/* The consent form the ethics committee approves with protocol version v. */
static hash32 form_of(int64_t version)
{
    return world_hash(version == 1 ? "consent form v1" : version == 2 ? "consent form v2"
                                                                      : "consent form v3");
}

static void register_and_open(story *s)
{
    world *w = s->w;
    static hash32 doc1, p1, s12[2];
    doc1 = world_hash("protocol v1 document");
    p1 = world_hash("primary: 12-month MACE");
    s12[0] = world_hash("secondary: LDL at 6 months");
    s12[1] = world_hash("secondary: quality of life");
    static hash32 form1;
    form1 = form_of(1);
    codec_value reg[] = {s->trial, world_bytes(doc1.bytes, 32), world_bytes(p1.bytes, 32),
                         world_bytes(s12, 64), world_int(5),
                         world_bytes(sites, sizeof sites - 1), world_bytes(form1.bytes, 32)};
    run(s, "register", HOUR, &w->sponsor, "protocol", "register", reg, 7, NULL, 0, RECEIPT_OK, 0);
    codec_value pk0 = world_bytes(w->participants[0].public_key.bytes, 32);
    codec_value enrol_early[] = {s->trial, pk0};
    run(s, "enrol before approval", HOUR, &w->inv_a, "consent", "enrol", enrol_early, 2, NULL, 0,
        RECEIPT_REFUSED, CONTRACT_E_VERSION_UNAPPROVED);
    codec_value amend_by_site[] = {s->trial, world_bytes(doc1.bytes, 32), world_bytes(p1.bytes, 32),
                                   world_bytes(s12, 64), world_int(0), world_bytes(form1.bytes, 32)};
    run(s, "a site cannot amend", MINUTE, &w->inv_a, "protocol", "amend", amend_by_site, 6, NULL,
        0, RECEIPT_REFUSED, CONTRACT_E_NOT_SPONSOR);
    codec_value act_early[] = {s->trial, world_text("site-a")};
    run(s, "activate before any approval", MINUTE, &w->sponsor, "protocol", "activate", act_early,
        2, NULL, 0, RECEIPT_REFUSED, CONTRACT_E_NOT_APPROVED);
    codec_value approve1[] = {s->trial, world_int(1)};
    run(s, "approve v1", 24 * HOUR, &w->regulator, "protocol", "approve", approve1, 2, NULL, 0,
        RECEIPT_OK, 0);
    codec_value act_a[] = {s->trial, world_text("site-a")};
    codec_value act_b[] = {s->trial, world_text("site-b")};
    run(s, "activate site-a", HOUR, &w->sponsor, "protocol", "activate", act_a, 2, NULL, 0,
        RECEIPT_OK, 0);
    run(s, "activate site-b", HOUR, &w->sponsor, "protocol", "activate", act_b, 2, NULL, 0,
        RECEIPT_OK, 0);
}

/* Enrol participants 0..2 at site-a and 3..4 at site-b in ONE block (later txs of a block
 * see earlier ones' writes). */
static void enrol_all(story *s)
{
    world *w = s->w;
    static uint8_t bufs[5][1024];
    codec_span spans[5];
    w->now_ms += HOUR; /* the clock moves first: the txs are signed at their block's time */
    for (uint32_t i = 0; i < 5; i++) {
        codec_value args[] = {s->trial, world_bytes(w->participants[i].public_key.bytes, 32)};
        const keypair *site = i < 3 ? &w->inv_a : &w->inv_b;
        spans[i].len = world_sign(w, site, WORLD_NEXT_NONCE, NULL, "consent", "enrol", args, 2,
                                  NULL, 0, bufs[i], sizeof bufs[i]);
        spans[i].data = bufs[i];
    }
    codec_receipt r[5];
    if (s->failed || world_commit(w, 0, spans, 5, r) != 0) {
        s->failed = 1;
        return;
    }
    for (uint32_t i = 0; i < 5 && !s->failed; i++) {
        if (expect("enrol", &r[i], RECEIPT_OK, 0) != 0) s->failed = 1;
    }
    /* one role per key: a validator's key is not a participant's; nor is the zero key */
    codec_value validator[] = {s->trial, world_bytes(w->validators[0].public_key.bytes, 32)};
    run(s, "enrol a validator's key", MINUTE, &w->inv_a, "consent", "enrol", validator, 2, NULL,
        0, RECEIPT_REFUSED, CONTRACT_E_ROLE_TAKEN);
    static const uint8_t zero_key[32];
    codec_value zero[] = {s->trial, world_bytes(zero_key, 32)};
    run(s, "enrol the all-zero key", MINUTE, &w->inv_b, "consent", "enrol", zero, 2, NULL, 0,
        RECEIPT_REFUSED, CONTRACT_E_ZERO_KEY);
}

static void consent_on(story *s, const char *step, uint32_t who, int64_t version, hash32 form_hash,
                       int64_t scopes, const keypair *witness, uint8_t status, uint32_t code)
{
    world *w = s->w;
    static hash32 form;
    form = form_hash;
    codec_value args[] = {s->trial, world_int(version), world_bytes(form.bytes, 32),
                          world_int(scopes)};
    world_cosig cos = {witness, MEANING_WITNESS};
    run(s, step, 10 * MINUTE, &w->participants[who], "consent", "grant", args, 4, &cos, 1,
        status, code);
}

static void consent(story *s, const char *step, uint32_t who, int64_t version, int64_t scopes,
                    const keypair *witness, uint8_t status, uint32_t code)
{
    consent_on(s, step, who, version, form_of(version), scopes, witness, status, code);
}

/* Anchor a record collected at scenario time collected_ms, in a block 10 minutes on. */
static void anchor_at(story *s, const char *step, const keypair *site, uint32_t who,
                      int64_t scope, uint64_t collected_ms, const char *record, uint8_t status,
                      uint32_t code)
{
    world *w = s->w;
    static hash32 h;
    h = world_hash(record);
    codec_value args[] = {s->trial, world_bytes(w->participants[who].public_key.bytes, 32),
                          world_int(scope), world_int((int64_t)world_time_at(w, collected_ms)),
                          world_bytes(h.bytes, 32), world_int(4096)};
    run(s, step, 10 * MINUTE, site, "data", "anchor", args, 6, NULL, 0, status, code);
}

static void anchor(story *s, const char *step, const keypair *site, uint32_t who, int64_t scope,
                   uint64_t collected_before_ms, const char *record, uint8_t status,
                   uint32_t code)
{
    anchor_at(s, step, site, who, scope, s->w->now_ms + 10 * MINUTE - collected_before_ms,
              record, status, code);
}

static void consent_phase(story *s)
{
    world *w = s->w;
    consent(s, "p0 consents main+follow-up+future", 0, 1, SCOPE_MAIN | SCOPE_FOLLOW_UP | SCOPE_FUTURE_RESEARCH, &w->inv_a, RECEIPT_OK, 0);
    consent(s, "p1 consents to all five scopes", 1, 1, 31, &w->inv_a, RECEIPT_OK, 0);
    consent(s, "p2 consents main only", 2, 1, SCOPE_MAIN, &w->inv_a, RECEIPT_OK, 0);
    consent(s, "site-b cannot witness at site-a", 2, 1, SCOPE_MAIN, &w->inv_b, RECEIPT_REFUSED, CONTRACT_E_WRONG_SITE);
    consent(s, "p3 consents main+future+sharing", 3, 1, SCOPE_MAIN | SCOPE_FUTURE_RESEARCH | SCOPE_DATA_SHARING, &w->inv_b, RECEIPT_OK, 0);
    consent(s, "p4 consents main+follow-up", 4, 1, SCOPE_MAIN | SCOPE_FOLLOW_UP, &w->inv_b, RECEIPT_OK, 0);
    anchor(s, "site-a anchors p0 baseline", &w->inv_a, 0, SCOPE_MAIN, 5 * MINUTE, "p0 baseline visit", RECEIPT_OK, 0);
    anchor(s, "site-a anchors p1 baseline", &w->inv_a, 1, SCOPE_MAIN, 5 * MINUTE, "p1 baseline visit", RECEIPT_OK, 0);
    anchor(s, "site-b anchors p3 baseline", &w->inv_b, 3, SCOPE_MAIN, 5 * MINUTE, "p3 baseline visit", RECEIPT_OK, 0);
    anchor(s, "site-b anchors p3 biobank sample", &w->inv_b, 3, SCOPE_FUTURE_RESEARCH, 5 * MINUTE, "p3 biobank sample", RECEIPT_OK, 0);
}

static void amendment_phase(story *s)
{
    world *w = s->w;
    static hash32 doc2, p1, s2[2], form2;
    form2 = form_of(2);
    doc2 = world_hash("protocol v2 document");
    p1 = world_hash("primary: 12-month MACE");
    s2[0] = world_hash("secondary: LDL at 6 months");
    s2[1] = world_hash("secondary: hospitalisation days");
    codec_value amend[] = {s->trial, world_bytes(doc2.bytes, 32), world_bytes(p1.bytes, 32),
                           world_bytes(s2, 64), world_int(1), world_bytes(form2.bytes, 32)};
    run(s, "amend v2 (outcomes changed, re-consent required)", 7 * 24 * HOUR, &w->sponsor,
        "protocol", "amend", amend, 6, NULL, 0, RECEIPT_OK, 0);
    consent(s, "consent under unapproved v2", 0, 2, 7, &w->inv_a, RECEIPT_REFUSED, CONTRACT_E_VERSION_UNAPPROVED);
    codec_value approve2[] = {s->trial, world_int(2)};
    run(s, "approve v2", 24 * HOUR, &w->regulator, "protocol", "approve", approve2, 2, NULL, 0,
        RECEIPT_OK, 0);
    s->v2_approved_ms = w->now_ms;
    consent(s, "p0 re-consents under v2", 0, 2, SCOPE_MAIN | SCOPE_FOLLOW_UP | SCOPE_FUTURE_RESEARCH, &w->inv_a, RECEIPT_OK, 0);
    consent(s, "p1 re-consents under v2", 1, 2, 31, &w->inv_a, RECEIPT_OK, 0);
    consent(s, "p3 re-consents under v2", 3, 2, SCOPE_MAIN | SCOPE_FUTURE_RESEARCH | SCOPE_DATA_SHARING, &w->inv_b, RECEIPT_OK, 0);
    consent(s, "consent under superseded v1", 4, 1, 3, &w->inv_b, RECEIPT_REFUSED, CONTRACT_E_VERSION_SUPERSEDED);
    codec_value withdraw[] = {s->trial, world_int(SCOPE_FUTURE_RESEARCH)};
    run(s, "p1 withdraws future research", HOUR, &w->participants[1], "consent", "withdraw",
        withdraw, 2, NULL, 0, RECEIPT_OK, 0);
    run(s, "site cannot withdraw for p1", MINUTE, &w->inv_a, "consent", "withdraw", withdraw, 2,
        NULL, 0, RECEIPT_REFUSED, CONTRACT_E_NOT_PARTICIPANT);
    /* Forward-only: a sample collected before the withdrawal is still anchored after it. */
    anchor(s, "p1 sample collected before the withdrawal", &w->inv_a, 1, SCOPE_FUTURE_RESEARCH,
           30 * MINUTE, "p1 biobank sample", RECEIPT_OK, 0);
    anchor(s, "p1 new future-research sample after withdrawal", &w->inv_a, 1,
           SCOPE_FUTURE_RESEARCH, MINUTE, "p1 second sample", RECEIPT_REFUSED, CONTRACT_E_NO_CONSENT);
    anchor(s, "site-a anchors p0 month-1 visit", &w->inv_a, 0, SCOPE_FOLLOW_UP, 30 * MINUTE, "p0 month-1 visit", RECEIPT_OK, 0);
    anchor(s, "p4 genetic data without consent", &w->inv_b, 4, SCOPE_GENETIC, MINUTE, "p4 genotype", RECEIPT_REFUSED, CONTRACT_E_NO_CONSENT);
    anchor(s, "duplicate record", &w->inv_b, 3, SCOPE_MAIN, MINUTE, "p3 baseline visit", RECEIPT_REFUSED, CONTRACT_E_DUPLICATE);
    anchor(s, "site-b anchors p3 month-1 visit", &w->inv_b, 3, SCOPE_MAIN, MINUTE, "p3 month-1 visit", RECEIPT_OK, 0);
    anchor(s, "site-a anchors p1 genetic sample", &w->inv_a, 1, SCOPE_GENETIC, 5 * MINUTE, "p1 genotype", RECEIPT_OK, 0);
}

/* A second amendment requiring re-consent (v3). Consent under v1 stopped covering new data
 * at v2's approval, and v3's approval does not move that point: p2, who never re-consented,
 * still cannot have data from between the two approvals anchored. p1 withdraws genetic
 * analysis: the genetic sample stays anchored, and no later access grant releases it. */
static void second_amendment_phase(story *s)
{
    world *w = s->w;
    codec_value withdraw[] = {s->trial, world_int(SCOPE_GENETIC)};
    run(s, "p1 withdraws genetic analysis", HOUR, &w->participants[1], "consent", "withdraw",
        withdraw, 2, NULL, 0, RECEIPT_OK, 0);
    static hash32 doc3, p1, s3[2], form3;
    form3 = form_of(3);
    doc3 = world_hash("protocol v3 document");
    p1 = world_hash("primary: 12-month MACE");
    s3[0] = world_hash("secondary: LDL at 6 months");
    s3[1] = world_hash("secondary: hospitalisation days");
    codec_value amend[] = {s->trial, world_bytes(doc3.bytes, 32), world_bytes(p1.bytes, 32),
                           world_bytes(s3, 64), world_int(1), world_bytes(form3.bytes, 32)};
    run(s, "amend v3 (re-consent required)", 24 * HOUR, &w->sponsor, "protocol", "amend", amend,
        6, NULL, 0, RECEIPT_OK, 0);
    codec_value approve3[] = {s->trial, world_int(3)};
    run(s, "approve v3", 24 * HOUR, &w->regulator, "protocol", "approve", approve3, 2, NULL, 0,
        RECEIPT_OK, 0);
    anchor_at(s, "p2 (consent under v1) data collected after v2's approval", &w->inv_a, 2,
              SCOPE_MAIN, s->v2_approved_ms + MINUTE, "p2 month-1 visit", RECEIPT_REFUSED,
              CONTRACT_E_RECONSENT_NEEDED);
    consent_on(s, "p0 re-consents under v3 on the v2 form", 0, 3, form_of(2),
               SCOPE_MAIN | SCOPE_FOLLOW_UP, &w->inv_a, RECEIPT_REFUSED,
               CONTRACT_E_FORM_UNAPPROVED);
    consent(s, "p0 re-consents under v3", 0, 3, SCOPE_MAIN | SCOPE_FOLLOW_UP, &w->inv_a, RECEIPT_OK, 0);
    consent(s, "p1 re-consents under v3 (no genetic)", 1, 3, SCOPE_MAIN | SCOPE_FOLLOW_UP | SCOPE_DATA_SHARING, &w->inv_a, RECEIPT_OK, 0);
    codec_value sixth[] = {s->trial, world_bytes(w->participants[5].public_key.bytes, 32)};
    run(s, "site-b enrols a sixth participant (5 planned: flagged)", HOUR, &w->inv_b, "consent",
        "enrol", sixth, 2, NULL, 0, RECEIPT_OK, 0);
}

static void access_and_outcomes(story *s)
{
    world *w = s->w;
    codec_value req[] = {s->trial, world_int(SCOPE_FUTURE_RESEARCH), world_text("biomarker-substudy")};
    run(s, "researcher asks for future-research data", HOUR, &w->researcher, "access", "request",
        req, 3, NULL, 0, RECEIPT_OK, 0);
    second_amendment_phase(s);
    codec_value main_req[] = {s->trial, world_int(SCOPE_MAIN), world_text("main-analysis")};
    run(s, "researcher asks for main-study data (p1's genetic record not included)", HOUR,
        &w->researcher, "access", "request", main_req, 3, NULL, 0, RECEIPT_OK, 0);
    codec_value bad[] = {s->trial, world_int(1), world_bytes(w->participants[0].public_key.bytes, 32), world_int(SCOPE_MAIN)};
    world_cosig cos = {&w->inv_a, MEANING_WITNESS};
    run(s, "a researcher cannot write consent", MINUTE, &w->researcher, "consent", "grant", bad,
        4, &cos, 1, RECEIPT_REFUSED, CONTRACT_E_NOT_PARTICIPANT);
    /* reported as primary: a pre-registered secondary; as secondary: a new outcome */
    static hash32 primary, secondary;
    primary = world_hash("secondary: LDL at 6 months");
    secondary = world_hash("primary: 6-month LDL responder rate");
    codec_value rep[] = {s->trial, world_bytes(primary.bytes, 32), world_bytes(secondary.bytes, 32)};
    run(s, "sponsor reports outcomes (primary switched)", 30 * 24 * HOUR, &w->sponsor,
        "outcomes", "report", rep, 3, NULL, 0, RECEIPT_OK, 0);
}

/* Issue 14 C: a key in no genesis and enrolled nowhere sends a tx to a contract that does
 * not exist, with a 1 KiB argument (free bytes, where a name could go). A consortium's
 * node refuses it at submit, so only the local world commits it: its block keeps the tx
 * pruned (FORMATS.md 5.10: leaf hash, id, signer, nonce, contract, method, argument
 * shape; no argument), and the export shows what an auditor then reads. The trial's
 * timeline does not list it (it names no trial any more). */
static void unroutable(story *s)
{
    world *w = s->w;
    if (s->failed || w->remote) return;
    keypair stranger;
    tcrypto_keypair_from_seed((const uint8_t *)"a key that no genesis ever named", &stranger);
    static uint8_t free_bytes[1024], tx[CODEC_TX_MAX];
    memset(free_bytes, 'X', sizeof free_bytes);
    codec_value args[] = {s->trial, world_bytes(free_bytes, sizeof free_bytes)};
    size_t len = world_sign(w, &stranger, 0, NULL, "nosuch", "write", args, 2, NULL, 0, tx,
                            sizeof tx);
    codec_span span = {tx, len};
    codec_receipt r;
    if (len == 0 || world_commit(w, MINUTE, &span, 1, &r) != 0
        || expect("a stranger's unroutable tx is stored pruned", &r, RECEIPT_INVALID,
                  EXEC_E_NO_ROLE) != 0) {
        s->failed = 1;
    }
}

int scenario_run(world *w, FILE *timeline)
{
    story s = {.w = w, .trial = world_text(SCENARIO_TRIAL)};
    register_and_open(&s);
    enrol_all(&s);
    consent_phase(&s);
    amendment_phase(&s);
    access_and_outcomes(&s);
    unroutable(&s);
    if (s.failed) return -1;
    if (timeline) {
        fprintf(timeline, "# timeline of %s (commit order)\n", SCENARIO_TRIAL);
        if (world_timeline(w, SCENARIO_TRIAL, timeline) != 0) return -1;
    }
    return 0;
}
