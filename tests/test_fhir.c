/*
 * test_fhir.c - issue 22 item 4, as a property test: for every participant and every event
 * time t (each block's time, and 1 ms either side) of the example trial and of generated
 * trials of a few hundred events, the scopes the FHIR export's Consents put in force at t
 * (the nested permit provisions whose period holds t) are the ledger's consent query at t
 * (exec_query_consent_at); a Consent is "active" exactly while a scope of it is in force;
 * ResearchSubject.status follows docs/FHIR.md's table. The export is fed by the same role
 * filter the EVENTS read applies (exec_tx_visible), so a participant's own view is checked
 * too. The checker reads only the JSON and the ledger's query, never the mapping's model.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <time.h>

#include "events.h"
#include "executor.h"
#include "fhir.h"
#include "random_trial.h"
#include "testutil.h"
#include "world.h"

/* The export of trial as viewer sees it (NULL: every tx, a validator's view). */
static json_t *export_of(world *w, const char *trial, const pubkey *viewer, const pubkey *only)
{
    fhir_options opt = {.base = "https://example.invalid/fhir"};
    if (only) opt.has_participant = true, opt.participant = *only;
    fhir_export *x = fhir_export_new((const uint8_t *)trial, strlen(trial), &opt);
    cr_assert_not_null(x);
    exec_viewer v;
    if (viewer) exec_viewer_of(w->e, viewer, (const uint8_t *)trial, strlen(trial), &v);
    ledger_summary head;
    ledger_head(w->l, &head);
    static codec_span txs[2 * CODEC_BLOCK_TXS_MAX];
    static codec_write writes[CODEC_WRITES_MAX];
    for (uint64_t h = 1; h <= head.height; h++) {
        uint8_t *data = NULL;
        size_t len = 0;
        codec_block b = {.txs = txs, .receipts = txs + CODEC_BLOCK_TXS_MAX, .writes = writes};
        cr_assert_eq(ledger_get_block(w->l, h, &data, &len), LEDGER_OK);
        cr_assert_eq(codec_block_decode(data, len, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL), CODEC_OK);
        for (uint32_t i = 0; i < b.tx_count; i++) {
            static codec_tx tx;
            static codec_receipt r;
            if (viewer) {
                if (codec_entry_is_pruned(&b.txs[i])
                    || codec_tx_decode(b.txs[i].data, b.txs[i].len, &tx, NULL) != CODEC_OK
                    || codec_receipt_decode(b.receipts[i].data, b.receipts[i].len, &r, NULL) != CODEC_OK
                    || !exec_tx_visible(w->e, &v, (const uint8_t *)trial, strlen(trial), &tx, &r))
                    continue;
            }
            fhir_tx t = {h, i, b.header.batch.time_ms, b.txs[i], b.receipts[i]};
            char why[200];
            cr_assert_eq(fhir_export_add(x, &t, why, sizeof why), 0, "%s", why);
        }
        free(data);
    }
    json_t *resources = fhir_export_resources(x);
    fhir_export_free(x);
    cr_assert_not_null(resources);
    return resources;
}

static uint64_t parse_instant(const char *s)
{
    struct tm tm = {0};
    unsigned ms = 0;
    cr_assert_not_null(strptime(s, "%Y-%m-%dT%H:%M:%S", &tm), "instant %s", s);
    cr_assert_eq(sscanf(s + 19, ".%3uZ", &ms), 1, "instant %s", s);
    return (uint64_t)timegm(&tm) * 1000 + ms;
}

static uint64_t scope_bit(const char *code)
{
    for (uint64_t b = 1; b <= 16; b <<= 1)
        if (strcmp(event_scope_name(b), code) == 0) return b;
    cr_assert_fail("scope code %s is not in the CodeSystem", code);
    return 0;
}

static const char *str(json_t *o, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *v = o;
    for (char *part = strtok(buf, "."); part && v; part = strtok(NULL, ".")) v = json_object_get(v, part);
    return json_string_value(v);
}

static bool is(json_t *r, const char *type) { return strcmp(str(r, "resourceType"), type) == 0; }

/* The scopes the export's Consents of patient put in force at t (nested permits whose period
 * holds t). A Consent a site recorded on the participant's documented request denies scopes
 * (nested deny provisions, issue 23 item 2): no scope is both permitted and denied at t. */
static uint64_t export_scopes_at(json_t *resources, const char *patient_ref, uint64_t t)
{
    uint64_t bits = 0, denied = 0;
    size_t i, k;
    json_t *r, *p;
    json_array_foreach(resources, i, r) {
        if (!is(r, "Consent") || strcmp(str(r, "patient.reference"), patient_ref) != 0) continue;
        json_t *root = json_object_get(r, "provision");
        cr_assert(json_is_object(root), "one root provision");
        json_array_foreach(json_object_get(root, "provision"), k, p) {
            bool permit = strcmp(str(p, "type"), "permit") == 0;
            cr_assert(permit || strcmp(str(p, "type"), "deny") == 0, "Consent/%s", str(r, "id"));
            uint64_t start = parse_instant(str(p, "period.start"));
            const char *end = str(p, "period.end");
            json_t *code = json_array_get(json_object_get(json_array_get(json_object_get(p, "code"), 0), "coding"), 0);
            cr_assert_str_eq(str(code, "system"), FHIR_CS_SCOPE);
            if (start <= t && (!end || t < parse_instant(end))) {
                if (permit) bits |= scope_bit(str(code, "code"));
                else denied |= scope_bit(str(code, "code"));
            }
        }
    }
    cr_assert_eq(bits & denied, 0, "%s at %llu: scopes %llu both permitted and denied", patient_ref,
                 (unsigned long long)t, (unsigned long long)(bits & denied));
    return bits;
}

/* Each Consent is active exactly while one of its provisions is open. */
static void check_consent_status(json_t *resources)
{
    size_t i, k;
    json_t *r, *p;
    json_array_foreach(resources, i, r) {
        if (!is(r, "Consent")) continue;
        bool open = false;
        json_array_foreach(json_object_get(json_object_get(r, "provision"), "provision"), k, p)
            open = open || !str(p, "period.end");
        cr_assert_str_eq(str(r, "status"), open ? "active" : "inactive", "Consent/%s", str(r, "id"));
    }
}

typedef struct {
    uint64_t *times;
    size_t count;
} block_times;

static block_times times_of(world *w)
{
    ledger_summary head;
    ledger_head(w->l, &head);
    block_times bt = {calloc(3 * head.height, sizeof(uint64_t)), 0};
    static codec_span txs[2 * CODEC_BLOCK_TXS_MAX];
    static codec_write writes[CODEC_WRITES_MAX];
    for (uint64_t h = 1; h <= head.height; h++) {
        uint8_t *data = NULL;
        size_t len = 0;
        codec_block b = {.txs = txs, .receipts = txs + CODEC_BLOCK_TXS_MAX, .writes = writes};
        cr_assert_eq(ledger_get_block(w->l, h, &data, &len), LEDGER_OK);
        cr_assert_eq(codec_block_decode(data, len, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL), CODEC_OK);
        bt.times[bt.count++] = b.header.batch.time_ms - 1;
        bt.times[bt.count++] = b.header.batch.time_ms;
        bt.times[bt.count++] = b.header.batch.time_ms + 1;
        free(data);
    }
    return bt;
}

/* The property, for every Patient of resources (or only `only`). Returns the checks made. */
static size_t check_agreement(world *w, const char *trial, json_t *resources, const block_times *bt)
{
    size_t i, checks = 0;
    json_t *r;
    check_consent_status(resources);
    json_array_foreach(resources, i, r) {
        if (!is(r, "Patient")) continue;
        pubkey k;
        cr_assert(tcrypto_from_hex(str(r, "id"), 64, k.bytes, 32));
        char ref[80];
        snprintf(ref, sizeof ref, "Patient/%s", str(r, "id"));
        uint64_t last = 0;
        bool granted = false;
        for (size_t j = 0; j < bt->count; j++) {
            uint64_t scopes = 0, version = 0;
            ledger_err rc = exec_query_consent_at(w->e, (const uint8_t *)trial, strlen(trial), &k,
                                                  bt->times[j], &scopes, &version);
            cr_assert(rc == LEDGER_OK || rc == LEDGER_ERR_NOT_FOUND);
            if (rc != LEDGER_OK) scopes = 0;
            uint64_t got = export_scopes_at(resources, ref, bt->times[j]);
            cr_assert_eq(got, scopes, "%s at %llu: the export puts scopes %llu in force, the ledger %llu",
                         ref, (unsigned long long)bt->times[j], (unsigned long long)got,
                         (unsigned long long)scopes);
            granted = granted || scopes;
            last = scopes;
            checks++;
        }
        /* the ResearchSubject's status: docs/FHIR.md "ResearchSubject.status"; a key whose
         * consent moved to a new key (its last history entry: re-bound away) is off-study */
        exec_consent_entry hist[64];
        uint32_t nh = 0;
        bool moved = exec_query_consent_history(w->e, (const uint8_t *)trial, strlen(trial), &k,
                                                hist, 64, &nh) == LEDGER_OK
                     && nh > 0 && nh <= 64 && hist[nh - 1].kind == EXEC_CONSENT_REBOUND_AWAY;
        size_t s;
        json_t *subject;
        json_array_foreach(resources, s, subject) {
            if (!is(subject, "ResearchSubject") || strcmp(str(subject, "individual.reference"), ref) != 0) continue;
            const char *want = moved ? "off-study" : last ? "on-study" : granted ? "withdrawn" : NULL;
            if (want) cr_assert_str_eq(str(subject, "status"), want, "%s", ref);
            else cr_assert(strcmp(str(subject, "status"), "on-study") != 0, "%s", ref);
        }
    }
    return checks;
}

static void open_world(world *w, char *dir)
{
    tu_tempdir(dir, "fhir");
    cr_assert_eq(world_init(w, "trialreg-fhir-test"), 0);
    char path[300];
    snprintf(path, sizeof path, "%s/ledger", dir);
    cr_assert_eq(world_open(w, path, false), 0);
}

static void close_world(world *w, const char *dir)
{
    world_close(w);
    free(w->genesis);
    tu_rmdir(dir);
}

Test(fhir, example_trial_consents_agree_with_the_ledger_at_every_event_time)
{
    static world w;
    char dir[256];
    open_world(&w, dir);
    cr_assert_eq(scenario_run(&w, NULL), 0);
    block_times bt = times_of(&w);
    json_t *all = export_of(&w, SCENARIO_TRIAL, NULL, NULL);
    size_t checks = check_agreement(&w, SCENARIO_TRIAL, all, &bt);
    cr_assert_gt(checks, 100);
    json_decref(all);
    /* a participant's own view (what its key reads over EVENTS) agrees too, and holds it alone */
    json_t *own = export_of(&w, SCENARIO_TRIAL, &w.participants[1].public_key, NULL);
    size_t i, patients = 0;
    json_t *r;
    json_array_foreach(own, i, r) patients += is(r, "Patient");
    cr_assert_eq(patients, 1, "a participant's view holds %zu patients", patients);
    check_agreement(&w, SCENARIO_TRIAL, own, &bt);
    json_decref(own);
    /* each site sees its own participants: the two views split the trial's, none twice */
    json_t *a = export_of(&w, SCENARIO_TRIAL, &w.inv_a.public_key, NULL);
    json_t *b = export_of(&w, SCENARIO_TRIAL, &w.inv_b.public_key, NULL);
    size_t in_a = 0, in_b = 0, j;
    json_t *q;
    json_array_foreach(a, i, r) {
        if (!is(r, "Patient")) continue;
        in_a++;
        json_array_foreach(b, j, q) cr_assert(!is(q, "Patient") || strcmp(str(q, "id"), str(r, "id")) != 0,
                                              "both sites see Patient/%s", str(r, "id"));
    }
    json_array_foreach(b, j, q) in_b += is(q, "Patient");
    cr_assert(in_a > 0 && in_b > 0 && in_a + in_b == 6, "site-a sees %zu, site-b %zu of 6", in_a, in_b);
    check_agreement(&w, SCENARIO_TRIAL, a, &bt);
    check_agreement(&w, SCENARIO_TRIAL, b, &bt);
    json_decref(a);
    json_decref(b);
    free(bt.times);
    close_world(&w, dir);
}

static void random_trial_agrees(uint64_t seed)
{
    static world w;
    char dir[256];
    open_world(&w, dir);
    random_trial_options o = {.seed = seed, .participants = 24, .events = 400, .per_block = 6};
    random_trial_counts c;
    cr_assert_eq(random_trial_run(&w, &o, &c), 0);
    cr_assert_gt(c.ok, 200, "seed %llu: only %u of %u txs OK", (unsigned long long)seed, c.ok, c.txs);
    block_times bt = times_of(&w);
    json_t *all = export_of(&w, RANDOM_TRIAL, NULL, NULL);
    size_t i, withdrawn = 0, subjects = 0;
    json_t *r;
    json_array_foreach(all, i, r) {
        if (!is(r, "ResearchSubject")) continue;
        subjects++;
        withdrawn += strcmp(str(r, "status"), "withdrawn") == 0;
    }
    cr_assert_eq(subjects, o.participants);
    cr_assert_gt(withdrawn, 0, "seed %llu: no participant withdrew every scope", (unsigned long long)seed);
    check_agreement(&w, RANDOM_TRIAL, all, &bt);
    json_decref(all);
    keypair p0;
    random_trial_key(seed, 0, &p0);
    json_t *own = export_of(&w, RANDOM_TRIAL, &p0.public_key, &p0.public_key);
    check_agreement(&w, RANDOM_TRIAL, own, &bt);
    json_decref(own);
    free(bt.times);
    close_world(&w, dir);
}

Test(fhir, generated_trials_agree_with_the_ledger, .timeout = 120)
{
    for (uint64_t seed = 1; seed <= 4; seed++) random_trial_agrees(seed);
}

/* ---- issue 23 item 2: a participant who lost their key --------------------------------- */

#define LK_TRIAL "T-LOST"

static void lk_run(world *w, uint64_t advance, const keypair *k, const char *contract,
                   const char *method, const codec_value *args, uint32_t n, const world_cosig *cos,
                   uint32_t ncos)
{
    codec_receipt r;
    cr_assert_eq(world_run(w, advance, k, contract, method, args, n, cos, ncos, &r), 0);
    cr_assert_eq(r.status, RECEIPT_OK, "%s.%s: %u %s", contract, method, r.error_code, r.reason);
}

#define LK_ARGS(...) ((codec_value[]){__VA_ARGS__}), (uint32_t)(sizeof((codec_value[]){__VA_ARGS__}) / sizeof(codec_value))

/* A trial where site-b records a withdrawal for participant 1 on its documented request
 * (then the participant grants again), participant 0's pseudonym is re-bound to
 * participant 6's key after the delay (which then grants, marked), and participant 2's
 * re-binding to participant 7 is vetoed by its old key. */
static void lost_key_trial(world *w)
{
    static hash32 doc, prim, form, req0, req1, req2;
    doc = world_hash("doc"), prim = world_hash("primary"), form = world_hash("form");
    req0 = world_hash("request 0"), req1 = world_hash("request 1"), req2 = world_hash("request 2");
    static const uint8_t sites[] = "\x06site-a\x06site-b";
    codec_value T = world_text(LK_TRIAL), F = world_bytes(form.bytes, 32);
    uint64_t m = 60000;
    lk_run(w, m, &w->sponsor, "protocol", "register",
           LK_ARGS(T, world_bytes(doc.bytes, 32), world_bytes(prim.bytes, 32), world_bytes("", 0),
                   world_int(10), world_bytes(sites, sizeof sites - 1), F), NULL, 0);
    lk_run(w, m, &w->regulator, "protocol", "approve", LK_ARGS(T, world_int(1)), NULL, 0);
    lk_run(w, m, &w->sponsor, "protocol", "activate", LK_ARGS(T, world_text("site-a")), NULL, 0);
    lk_run(w, m, &w->sponsor, "protocol", "activate", LK_ARGS(T, world_text("site-b")), NULL, 0);
    const keypair *p = w->participants;
    lk_run(w, m, &w->inv_a, "consent", "enrol", LK_ARGS(T, world_bytes(p[0].public_key.bytes, 32)), NULL, 0);
    lk_run(w, m, &w->inv_b, "consent", "enrol", LK_ARGS(T, world_bytes(p[1].public_key.bytes, 32)), NULL, 0);
    lk_run(w, m, &w->inv_a, "consent", "enrol", LK_ARGS(T, world_bytes(p[2].public_key.bytes, 32)), NULL, 0);
    world_cosig wa = {&w->inv_a, MEANING_WITNESS}, wb = {&w->inv_b, MEANING_WITNESS};
    world_cosig reg = {&w->regulator, MEANING_APPROVAL};
    lk_run(w, m, &p[0], "consent", "grant", LK_ARGS(T, world_int(1), F, world_int(31)), &wa, 1);
    lk_run(w, m, &p[1], "consent", "grant", LK_ARGS(T, world_int(1), F, world_int(3)), &wb, 1);
    lk_run(w, m, &p[2], "consent", "grant", LK_ARGS(T, world_int(1), F, world_int(7)), &wa, 1);
    lk_run(w, m, &w->inv_b, "consent", "site_withdraw",
           LK_ARGS(T, world_bytes(p[1].public_key.bytes, 32), world_int(2), world_bytes(req1.bytes, 32)),
           &reg, 1);
    lk_run(w, m, &p[1], "consent", "grant", LK_ARGS(T, world_int(1), F, world_int(1)), &wb, 1);
    world_cosig both6[2] = {{&w->regulator, MEANING_APPROVAL}, {&p[6], MEANING_APPROVAL}};
    world_cosig both7[2] = {{&w->regulator, MEANING_APPROVAL}, {&p[7], MEANING_APPROVAL}};
    lk_run(w, m, &w->inv_a, "consent", "rebind_request",
           LK_ARGS(T, world_bytes(p[0].public_key.bytes, 32), world_bytes(p[6].public_key.bytes, 32),
                   world_bytes(req0.bytes, 32)), both6, 2);
    lk_run(w, m, &w->inv_a, "consent", "rebind_request",
           LK_ARGS(T, world_bytes(p[2].public_key.bytes, 32), world_bytes(p[7].public_key.bytes, 32),
                   world_bytes(req2.bytes, 32)), both7, 2);
    lk_run(w, m, &p[2], "consent", "rebind_veto", LK_ARGS(T), NULL, 0);
    lk_run(w, 72 * 3600 * 1000ull, &w->inv_a, "consent", "rebind_complete",
           LK_ARGS(T, world_bytes(p[0].public_key.bytes, 32), world_bytes(p[6].public_key.bytes, 32)),
           NULL, 0);
    lk_run(w, m, &p[6], "consent", "withdraw", LK_ARGS(T, world_int(16)), NULL, 0);
    lk_run(w, m, &p[6], "consent", "grant", LK_ARGS(T, world_int(1), F, world_int(3)), &wa, 1);
}

static json_t *consent_with(json_t *resources, const char *patient_hex, const char *provision_type,
                            bool after_rebinding, size_t nth)
{
    size_t i;
    json_t *r;
    char ref[80];
    snprintf(ref, sizeof ref, "Patient/%s", patient_hex);
    json_array_foreach(resources, i, r) {
        if (!is(r, "Consent") || strcmp(str(r, "patient.reference"), ref) != 0) continue;
        json_t *nested = json_array_get(json_object_get(json_object_get(r, "provision"), "provision"), 0);
        if (strcmp(str(nested, "type"), provision_type) != 0) continue;
        if ((json_object_get(r, "extension") != NULL) != after_rebinding) continue;
        if (nth-- == 0) return r;
    }
    return NULL;
}

Test(fhir, lost_key_flows_site_withdrawal_and_rebinding_render_and_agree_with_the_ledger)
{
    static world w;
    char dir[256];
    open_world(&w, dir);
    lost_key_trial(&w);
    block_times bt = times_of(&w);
    json_t *all = export_of(&w, LK_TRIAL, NULL, NULL);
    cr_assert_gt(check_agreement(&w, LK_TRIAL, all, &bt), 100);
    char h0[65], h1[65], h6[65];
    tcrypto_to_hex(w.participants[0].public_key.bytes, 32, h0);
    tcrypto_to_hex(w.participants[1].public_key.bytes, 32, h1);
    tcrypto_to_hex(w.participants[6].public_key.bytes, 32, h6);
    /* the site's record: a Consent whose provision denies, performed by the site */
    json_t *deny = consent_with(all, h1, "deny", false, 0);
    cr_assert_not_null(deny, "a deny Consent for the site-recorded withdrawal");
    cr_expect_str_eq(str(json_object_get(deny, "provision"), "type"), "deny");
    json_t *performer = json_array_get(json_object_get(deny, "performer"), 0);
    cr_expect_str_eq(str(performer, "type"), "Organization");
    cr_expect_str_eq(str(performer, "identifier.value"), "site-b");
    cr_expect_not_null(strstr(str(performer, "display"), "withdrawn by site on the participant's documented request"));
    hash32 req1 = world_hash("request 1");
    char rh[65];
    tcrypto_to_hex(req1.bytes, 32, rh);
    cr_expect_str_eq(str(json_array_get(json_object_get(deny, "identifier"), 0), "value"), rh);
    cr_expect(json_is_true(json_object_get(json_array_get(json_object_get(deny, "verification"), 0), "verified")));
    cr_expect_str_eq(str(deny, "status"), "inactive", "the participant granted again since");
    /* the new key: the carried consent and the later grant, both marked with the old key */
    json_t *carried = consent_with(all, h6, "permit", true, 0);
    json_t *later = consent_with(all, h6, "permit", true, 1);
    cr_assert_not_null(carried);
    cr_assert_not_null(later, "the grant after the re-binding is marked");
    cr_expect_null(consent_with(all, h6, "permit", false, 0), "no unmarked Consent of the new key");
    json_t *ext = json_array_get(json_object_get(later, "extension"), 0);
    cr_expect_str_eq(str(ext, "url"), FHIR_EXT_REBINDING);
    cr_expect_str_eq(str(ext, "valueIdentifier.value"), h0);
    cr_expect_null(consent_with(all, h0, "permit", true, 0), "the old key's grants are not marked");
    size_t i;
    json_t *r;
    json_array_foreach(all, i, r) {
        if (!is(r, "ResearchSubject")) continue;
        char ref[80];
        snprintf(ref, sizeof ref, "Patient/%s", h0);
        if (strcmp(str(r, "individual.reference"), ref) == 0) cr_expect_str_eq(str(r, "status"), "off-study");
    }
    /* for tests/fhir/fhir_check.sh: the Bundle FHIR.js validates */
    const char *out = getenv("TRIALREG_FHIR_OUT");
    if (out) {
        json_t *entries = json_array();
        json_array_foreach(all, i, r) {
            char url[256];
            snprintf(url, sizeof url, "https://example.invalid/fhir/%s/%s", str(r, "resourceType"), str(r, "id"));
            json_array_append_new(entries, json_pack("{s:s, s:O}", "fullUrl", url, "resource", r));
        }
        json_t *bundle = json_pack("{s:s, s:s, s:s, s:o}", "resourceType", "Bundle", "id", "lost-key",
                                   "type", "collection", "entry", entries);
        cr_assert_eq(json_dump_file(bundle, out, JSON_SORT_KEYS), 0, "%s", out);
        json_decref(bundle);
    }
    json_decref(all);
    /* the new key's own view holds its Patient and both its Consents, and agrees */
    json_t *own = export_of(&w, LK_TRIAL, &w.participants[6].public_key, NULL);
    cr_expect_not_null(consent_with(own, h6, "permit", true, 1));
    check_agreement(&w, LK_TRIAL, own, &bt);
    json_decref(own);
    free(bt.times);
    close_world(&w, dir);
}

Test(fhir, ids_are_r4_ids_of_at_most_64_characters)
{
    char id[FHIR_ID_MAX + 1];
    fhir_study_id((const uint8_t *)"TRIAL-CARDIO-01", 15, id);
    cr_assert_str_eq(id, "TRIAL-CARDIO-01");
    const uint8_t odd[32] = {0xff, ' ', '/'};
    fhir_study_id(odd, 32, id);
    cr_assert_eq(strncmp(id, "study-", 6), 0);
    cr_assert_eq(strlen(id), 46);
}

Test(fhir, a_trial_with_no_tx_is_an_empty_valid_bundle)
{
    fhir_export *x = fhir_export_new((const uint8_t *)"T", 1, NULL);
    json_t *b = fhir_export_bundle(x);
    cr_assert_not_null(b);
    cr_assert_str_eq(str(b, "type"), "collection");
    cr_assert_eq(json_array_size(json_object_get(b, "entry")), 2); /* the CodeSystems only */
    cr_assert(!fhir_export_has_study(x));
    json_decref(b);
    fhir_export_free(x);
    cr_assert_null(fhir_export_new((const uint8_t *)"", 0, NULL));
}

Test(fhir, undecodable_bytes_are_refused_with_a_reason)
{
    fhir_export *x = fhir_export_new((const uint8_t *)"T", 1, NULL);
    uint8_t junk[4] = {1, 2, 3, 4};
    fhir_tx t = {5, 0, 1, {junk, 4}, {junk, 4}};
    char why[200];
    cr_assert_eq(fhir_export_add(x, &t, why, sizeof why), -1);
    cr_assert(strstr(why, "does not decode"), "%s", why);
    fhir_export_free(x);
}
