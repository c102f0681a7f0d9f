/*
 * test_governance.c - issue 23 item 1: authorities changed by governance.authority txs,
 * as a user sees it in receipts, events, later txs and reads: add, revoke and rotate for
 * every role, who must sign each, the effect at the committing height (a later tx of the
 * same block sees it), a revoked key refused from then on while what it signed before
 * stays valid (re-execution from the genesis gives the same ledger), and every bad input
 * refused with a reason and nothing applied.
 */
#include "audit.h"
#include "consortium.h"
#include "ctest_world.h"
#include "cvm.h"

static tw T;
static keypair regulator_b, fresh, fresh2;

static void derive(const char *label, keypair *out)
{
    hash32 seed = world_hash(label);
    tcrypto_keypair_from_seed(seed.bytes, out);
}

/* A second regulator (so that a regulator's change can be signed by another). */
static void with_regulator_b(codec_genesis *g, void *ctx)
{
    (void)ctx;
    codec_authority *a = &g->authorities[g->authority_count++];
    memset(a, 0, sizeof *a);
    a->role = ROLE_REGULATOR;
    snprintf(a->name.text, sizeof a->name.text, "regulator-b");
    a->key = regulator_b.public_key;
}

static void open_world(bool two_regulators)
{
    derive("test/regulator-b", &regulator_b);
    derive("test/fresh", &fresh);
    derive("test/fresh-2", &fresh2);
    snprintf(T.dir, sizeof T.dir, "/tmp/trialreg-governance-XXXXXX");
    cr_assert_not_null(mkdtemp(T.dir));
    cr_assert_eq(world_init_edit(&T.w, "trialreg-test-governance",
                                 two_regulators ? with_regulator_b : NULL, NULL), 0);
    cr_assert_eq(world_open(&T.w, T.dir, true), 0);
}

static void teardown(void) { tw_close(&T); }

TestSuite(governance, .fini = teardown, .timeout = 120);

enum { ADD = 1, REVOKE = 2, ROTATE = 3 };

/* The six arguments of governance.authority (pointers stay valid until the next call). */
static codec_value *change_args(int64_t action, int64_t role, const char *site, const char *name,
                                const pubkey *key, const pubkey *new_key)
{
    static codec_value a[6];
    a[0] = world_int(action);
    a[1] = world_int(role);
    a[2] = world_bytes(site, (uint32_t)strlen(site));
    a[3] = world_bytes(name, (uint32_t)strlen(name));
    a[4] = world_bytes(key->bytes, 32);
    a[5] = new_key ? world_bytes(new_key->bytes, 32) : world_bytes("", 0);
    return a;
}

static codec_receipt change(const keypair *signer, int64_t action, int64_t role, const char *site,
                            const char *name, const pubkey *key, const pubkey *new_key,
                            const world_cosig *cos, uint32_t ncos)
{
    return tw_run(&T, signer, "governance", "authority",
                  change_args(action, role, site, name, key, new_key), 6, cos, ncos);
}

static exec_auth_state state_of(const pubkey *key, exec_authority *out)
{
    exec_authority local;
    int st = exec_authority_of(T.w.e, key, out ? out : &local);
    cr_assert(st >= 0, "the store failed");
    return (exec_auth_state)st;
}

/* Event i of r decodes as the change (action, role, site, name, key). */
static void expect_event(const codec_receipt *r, uint32_t i, unsigned action, unsigned role,
                         const char *site, const char *name, const pubkey *key)
{
    cr_assert_gt(r->event_count, i, "the receipt has %u events", r->event_count);
    cr_expect_str_eq(r->events[i].topic.text, CODEC_AUTHORITY_EVENT_TOPIC);
    codec_authority_change c;
    cr_assert_eq(codec_authority_change_decode(r->events[i].data, r->events[i].len, &c, NULL),
                 CODEC_OK);
    cr_expect_eq(c.action, action);
    cr_expect_eq(c.role, role);
    cr_expect_str_eq(c.site.text, site);
    cr_expect_str_eq(c.name.text, name);
    cr_expect_arr_eq(c.key.bytes, key->bytes, 32);
    /* canonical: re-encoding gives the same bytes */
    uint8_t again[CODEC_AUTHORITY_EVENT_MAX];
    codec_buf b = codec_buf_make(again, sizeof again);
    cr_assert_eq(codec_authority_change_encode(&c, &b), CODEC_OK);
    cr_expect(b.len == r->events[i].len && memcmp(again, r->events[i].data, b.len) == 0);
}

static uint64_t head_height(void)
{
    ledger_summary s;
    ledger_head(T.w.l, &s);
    return s.height;
}

static codec_receipt access_request(const keypair *researcher)
{
    return tw_run(&T, researcher, "access", "request",
                  ARGS(world_text(TRIAL), world_int(SCOPE_MAIN), world_text("cardio-study")),
                  NULL, 0);
}

/* The ledger audits with the genesis alone (signatures, certificates, and a pruned entry's
 * receipt: FORMATS 5.10), and what was signed before a change stays valid: re-execution
 * from the genesis gives the same receipts, blocks and state (what `audit --reexecute` and
 * a catching-up node do). */
static void audit_and_replay(void)
{
    audit_ledger_cursor cur;
    audit_source src;
    audit_ledger_source(&cur, T.w.l, &src);
    audit_summary sum;
    audit_failure fail;
    bool ok = audit_run(T.w.genesis, T.w.genesis_len, &src, 1, &sum, &fail);
    audit_ledger_cursor_done(&cur);
    cr_expect(ok, "audit: height %llu tx %lld: %s", (unsigned long long)fail.height,
              (long long)fail.tx_index, fail.reason);
    tw again;
    snprintf(again.dir, sizeof again.dir, "/tmp/trialreg-governance-again-XXXXXX");
    cr_assert_not_null(mkdtemp(again.dir));
    cr_assert_eq(world_init(&again.w, "trialreg-test-governance"), 0);
    cr_assert_eq(world_open(&again.w, again.dir, true), 0);
    tw_replay(&T, &again);
    tw_close(&again);
}

Test(governance, an_added_researcher_acts_and_reads_from_the_committing_height)
{
    open_world(false);
    tw_base(&T);
    expect_invalid(access_request(&fresh), EXEC_E_NO_ROLE);
    cr_expect_not(exec_key_known(T.w.e, &fresh.public_key));
    world_cosig cos[] = {{&T.w.regulator, MEANING_APPROVAL}, {&fresh, MEANING_APPROVAL}};
    codec_receipt r = change(&T.w.sponsor, ADD, ROLE_RESEARCHER, "", "researcher-2",
                             &fresh.public_key, NULL, cos, 2);
    expect_ok(r);
    cr_expect_eq(r.event_count, 1);
    expect_event(&r, 0, CODEC_AUTHORITY_ADDED, ROLE_RESEARCHER, "", "researcher-2",
                 &fresh.public_key);
    exec_authority a;
    cr_expect_eq(state_of(&fresh.public_key, &a), EXEC_AUTH_ACTIVE);
    cr_expect_eq(a.role, ROLE_RESEARCHER);
    cr_expect_eq(a.height, head_height());
    expect_ok(access_request(&fresh));
    cr_expect(exec_key_known(T.w.e, &fresh.public_key));
    cr_expect(exec_read_allowed(T.w.e, &fresh.public_key, EXEC_READ_GRANT,
                                (const uint8_t *)TRIAL, strlen(TRIAL), NULL));
}

Test(governance, a_change_takes_effect_for_the_later_txs_of_its_own_block)
{
    open_world(false);
    tw_base(&T);
    uint8_t buf[6][2048];
    codec_span txs[6];
    world_cosig add_cos[] = {{&T.w.regulator, MEANING_APPROVAL}, {&fresh, MEANING_APPROVAL}};
    world_cosig reg[] = {{&T.w.regulator, MEANING_APPROVAL}};
    hash32 h1 = world_hash("before"), h2 = world_hash("after");
    int64_t at = tw_next_time(&T) - 1000;
    codec_value anchor1[] = {world_text(TRIAL), tw_pk(&T.w.participants[0]), world_int(SCOPE_MAIN),
                             world_int(at), world_bytes(h1.bytes, 32), world_int(1)};
    codec_value anchor2[] = {world_text(TRIAL), tw_pk(&T.w.participants[0]), world_int(SCOPE_MAIN),
                             world_int(at), world_bytes(h2.bytes, 32), world_int(1)};
    codec_value request[] = {world_text(TRIAL), world_int(SCOPE_MAIN), world_text("p")};
    size_t n[6];
    n[0] = world_sign(&T.w, &fresh, WORLD_NEXT_NONCE, NULL, "access", "request", request, 3,
                      NULL, 0, buf[0], sizeof buf[0]);
    n[1] = world_sign(&T.w, &T.w.sponsor, WORLD_NEXT_NONCE, NULL, "governance", "authority",
                      change_args(ADD, ROLE_RESEARCHER, "", "researcher-2", &fresh.public_key,
                                  NULL), 6, add_cos, 2, buf[1], sizeof buf[1]);
    n[2] = world_sign(&T.w, &fresh, WORLD_NEXT_NONCE, NULL, "access", "request", request, 3,
                      NULL, 0, buf[2], sizeof buf[2]);
    n[3] = world_sign(&T.w, &T.w.inv_a, WORLD_NEXT_NONCE, NULL, "data", "anchor", anchor1, 6,
                      NULL, 0, buf[3], sizeof buf[3]);
    n[4] = world_sign(&T.w, &T.w.sponsor, WORLD_NEXT_NONCE, NULL, "governance", "authority",
                      change_args(REVOKE, ROLE_INVESTIGATOR, "", "", &T.w.inv_a.public_key,
                                  NULL), 6, reg, 1, buf[4], sizeof buf[4]);
    n[5] = world_sign(&T.w, &T.w.inv_a, WORLD_NEXT_NONCE, NULL, "data", "anchor", anchor2, 6,
                      NULL, 0, buf[5], sizeof buf[5]);
    for (int i = 0; i < 6; i++) {
        cr_assert_gt(n[i], 0);
        txs[i] = (codec_span){buf[i], n[i]};
    }
    codec_receipt r[6];
    cr_assert_eq(world_commit(&T.w, 60000, txs, 6, r), 0);
    expect_invalid(r[0], EXEC_E_NO_ROLE); /* before the add: no role yet */
    expect_ok(r[1]);
    expect_ok(r[2]);                      /* after it, in the same block */
    expect_ok(r[3]);                      /* before the revoke */
    expect_ok(r[4]);
    expect_invalid(r[5], EXEC_E_KEY_REVOKED); /* after it, in the same block */
    char want[64];
    snprintf(want, sizeof want, "revoked at height %llu", (unsigned long long)head_height());
    cr_expect(strstr(r[5].reason, want), "reason: %s", r[5].reason);
}

Test(governance, a_revoked_investigator_is_refused_and_what_it_signed_before_stays_valid)
{
    open_world(false);
    tw_base(&T);
    expect_ok(tw_anchor(&T, &T.w.inv_a, 0, SCOPE_MAIN, tw_next_time(&T) - 1000, "record 1"));
    world_cosig reg[] = {{&T.w.regulator, MEANING_APPROVAL}};
    codec_receipt r = change(&T.w.sponsor, REVOKE, ROLE_INVESTIGATOR, "", "",
                             &T.w.inv_a.public_key, NULL, reg, 1);
    expect_ok(r);
    uint64_t revoked_at = head_height();
    cr_expect_eq(r.event_count, 1);
    expect_event(&r, 0, CODEC_AUTHORITY_REVOKED, ROLE_INVESTIGATOR, "site-a", "investigator-a",
                 &T.w.inv_a.public_key);
    /* its anchor is refused with the height, and kept pruned (no free bytes) */
    r = tw_anchor(&T, &T.w.inv_a, 0, SCOPE_MAIN, tw_next_time(&T) - 1000, "record 2");
    expect_invalid(r, EXEC_E_KEY_REVOKED);
    char want[64];
    snprintf(want, sizeof want, "revoked at height %llu", (unsigned long long)revoked_at);
    cr_expect(strstr(r.reason, want), "reason: %s", r.reason);
    uint8_t *block;
    size_t len;
    cr_assert_eq(ledger_get_block(T.w.l, head_height(), &block, &len), LEDGER_OK);
    codec_span spans[2];
    codec_write writes[64];
    codec_block b = {.txs = spans, .receipts = spans + 1, .writes = writes};
    cr_assert_eq(codec_block_decode(block, len, &b, 1, 64, NULL), CODEC_OK);
    cr_expect(codec_entry_is_pruned(&b.txs[0]), "a revoked signer's tx is kept pruned");
    free(block);
    /* as a co-signer (the witness of a grant) it approves nothing either */
    hash32 form = world_hash("form v1");
    world_cosig witness = {&T.w.inv_a, MEANING_WITNESS};
    expect_invalid(tw_run(&T, &T.w.participants[0], "consent", "grant",
                          ARGS(world_text(TRIAL), world_int(1), world_bytes(form.bytes, 32),
                               world_int(1)), &witness, 1),
                   EXEC_E_COSIGNER_REVOKED);
    /* a revoked key is never used again: not as a participant, not as an authority */
    expect_refused(tw_run(&T, &T.w.inv_b, "consent", "enrol",
                          ARGS(world_text(TRIAL), tw_pk(&T.w.inv_a)), NULL, 0),
                   CONTRACT_E_ROLE_TAKEN);
    world_cosig back[] = {{&T.w.regulator, MEANING_APPROVAL}, {&T.w.inv_a, MEANING_APPROVAL}};
    expect_invalid(change(&T.w.sponsor, ADD, ROLE_INVESTIGATOR, "site-a", "investigator-a",
                          &T.w.inv_a.public_key, NULL, back, 2),
                   EXEC_E_COSIGNER_REVOKED); /* its co-signature is refused first */
    r = change(&T.w.sponsor, ROTATE, ROLE_RESEARCHER, "", "", &T.w.researcher.public_key,
               &T.w.inv_a.public_key, reg, 1);
    expect_invalid(r, EXEC_E_AUTH_KEY_TAKEN);
    cr_expect(strstr(r.reason, "a key is never used again"), "reason: %s", r.reason);
    /* its reads are refused too */
    cr_expect_not(exec_read_allowed(T.w.e, &T.w.inv_a.public_key, EXEC_READ_TRIAL,
                                    (const uint8_t *)TRIAL, strlen(TRIAL), NULL));
    cr_expect_not(exec_key_known(T.w.e, &T.w.inv_a.public_key));
    exec_viewer v;
    exec_viewer_of(T.w.e, &T.w.inv_a.public_key, (const uint8_t *)TRIAL, strlen(TRIAL), &v);
    cr_expect_eq(v.kind, EXEC_VIEW_NONE);
    /* the other site goes on */
    expect_ok(tw_anchor(&T, &T.w.inv_b, 1, SCOPE_MAIN, tw_next_time(&T) - 1000, "record 3"));
    /* the node a client submits to refuses the revoked signer at once */
    static uint8_t buf[CODEC_TX_MAX];
    size_t tx_len = world_sign(&T.w, &T.w.inv_a, 77, NULL, "consent", "enrol",
                            ARGS(world_text(TRIAL), tw_pk(&T.w.participants[5])), NULL, 0, buf,
                            sizeof buf);
    static codec_tx tx;
    cr_assert_eq(codec_tx_decode(buf, tx_len, &tx, NULL), CODEC_OK);
    cr_expect_eq(exec_check_admissible(T.w.e, &tx), EXEC_E_KEY_REVOKED);
    /* the audit accepts the ledger with the revoked signer's pruned tx and the co-signer's
     * whole one */
    audit_and_replay();
}

Test(governance, a_rotated_investigator_key_takes_over_its_site)
{
    open_world(false);
    tw_base(&T);
    world_cosig cos[] = {{&T.w.regulator, MEANING_APPROVAL}, {&fresh, MEANING_APPROVAL}};
    codec_receipt r = change(&T.w.sponsor, ROTATE, ROLE_INVESTIGATOR, "site-a", "",
                             &T.w.inv_a.public_key, &fresh.public_key, cos, 2);
    expect_ok(r);
    cr_expect_eq(r.event_count, 2);
    expect_event(&r, 0, CODEC_AUTHORITY_REVOKED, ROLE_INVESTIGATOR, "site-a", "investigator-a",
                 &T.w.inv_a.public_key);
    expect_event(&r, 1, CODEC_AUTHORITY_ADDED, ROLE_INVESTIGATOR, "site-a", "investigator-a",
                 &fresh.public_key);
    expect_ok(tw_anchor(&T, &fresh, 0, SCOPE_MAIN, tw_next_time(&T) - 1000, "by the new key"));
    expect_invalid(tw_anchor(&T, &T.w.inv_a, 0, SCOPE_MAIN, tw_next_time(&T) - 1000, "old"),
                   EXEC_E_KEY_REVOKED);
    exec_viewer v;
    exec_viewer_of(T.w.e, &fresh.public_key, (const uint8_t *)TRIAL, strlen(TRIAL), &v);
    cr_expect_eq(v.kind, EXEC_VIEW_SITE);
    cr_expect_str_eq(v.site, "site-a");
    cr_expect(exec_read_allowed(T.w.e, &fresh.public_key, EXEC_READ_CONSENT,
                                (const uint8_t *)TRIAL, strlen(TRIAL),
                                &T.w.participants[0].public_key));
}

/* One refused change: its code, a reason naming what is wrong, no event, nothing applied. */
static void expect_refused_change(codec_receipt r, uint32_t code, const char *says)
{
    expect_invalid(r, code);
    cr_expect_eq(r.event_count, 0);
    cr_expect(strstr(r.reason, says), "reason '%s' should say '%s'", r.reason, says);
}

/* The target and incoming keys of every (action, role) pair, and their state after a
 * refusal: exactly as before. */
typedef struct {
    int64_t action, role;
    const char *site;
    const keypair *target;
} change_case;

Test(governance, every_action_and_role_needs_the_keys_the_genesis_names)
{
    open_world(true);
    keypair incoming;
    derive("test/incoming", &incoming);
    const change_case cases[] = {
        {ADD, ROLE_SPONSOR, "", &incoming},           {ADD, ROLE_INVESTIGATOR, "site-c", &incoming},
        {ADD, ROLE_REGULATOR, "", &incoming},         {ADD, ROLE_RESEARCHER, "", &incoming},
        {REVOKE, ROLE_INVESTIGATOR, "", &T.w.inv_b},  {REVOKE, ROLE_REGULATOR, "", &regulator_b},
        {REVOKE, ROLE_RESEARCHER, "", &T.w.researcher},
        {ROTATE, ROLE_SPONSOR, "", &T.w.sponsor},     {ROTATE, ROLE_INVESTIGATOR, "", &T.w.inv_a},
        {ROTATE, ROLE_REGULATOR, "", &regulator_b},   {ROTATE, ROLE_RESEARCHER, "", &T.w.researcher},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const change_case *c = &cases[i];
        const pubkey *key = &c->target->public_key;
        const pubkey *new_key = c->action == ROTATE ? &incoming.public_key : NULL;
        exec_auth_state before = state_of(key, NULL);
        world_cosig pop = {&incoming, MEANING_APPROVAL};
        world_cosig inv[] = {{&T.w.inv_a, MEANING_APPROVAL}, pop};
        world_cosig reviewed[] = {{&T.w.regulator, MEANING_REVIEW}, pop};
        world_cosig itself[] = {{c->target, MEANING_APPROVAL}, pop};
        uint32_t with_pop = c->action == REVOKE ? 0 : 1;
        const char *name = c->action == ADD ? "x" : ""; /* revoke, rotate: as recorded */
        /* the sponsor alone; with an investigator; with a regulator that only reviewed */
        expect_refused_change(change(&T.w.sponsor, c->action, c->role, c->site, name, key,
                                     new_key, &pop, with_pop),
                              EXEC_E_AUTH_SIGNERS, "needs");
        expect_refused_change(change(&T.w.sponsor, c->action, c->role, c->site, name, key,
                                     new_key, inv, 1 + with_pop),
                              EXEC_E_AUTH_SIGNERS, "needs");
        expect_refused_change(change(&T.w.sponsor, c->action, c->role, c->site, name, key,
                                     new_key, reviewed, 1 + with_pop),
                              EXEC_E_AUTH_SIGNERS, "needs");
        if (c->role == ROLE_REGULATOR && c->action != ADD) {
            /* a regulator's own key never counts for its change */
            expect_refused_change(change(&T.w.sponsor, c->action, c->role, c->site, "", key,
                                         new_key, itself, 1 + with_pop),
                                  EXEC_E_AUTH_SIGNERS, "own key not counted");
        }
        cr_expect_eq(state_of(key, NULL), before, "case %zu: nothing applied", i);
        cr_expect_eq(state_of(&incoming.public_key, NULL), EXEC_AUTH_NONE, "case %zu", i);
    }
    /* a sponsor cannot choose a regulator: with a regulator's approval it can */
    world_cosig sponsor_only[] = {{&incoming, MEANING_APPROVAL}};
    expect_refused_change(change(&T.w.sponsor, ADD, ROLE_REGULATOR, "", "regulator-c",
                                 &incoming.public_key, NULL, sponsor_only, 1),
                          EXEC_E_AUTH_SIGNERS, "regulator");
    world_cosig good[] = {{&regulator_b, MEANING_APPROVAL}, {&incoming, MEANING_APPROVAL}};
    expect_ok(change(&T.w.regulator, ADD, ROLE_REGULATOR, "", "regulator-c", &incoming.public_key,
                     NULL, good, 2));
}

Test(governance, the_key_added_must_co_sign)
{
    open_world(false);
    world_cosig reg[] = {{&T.w.regulator, MEANING_APPROVAL}};
    expect_refused_change(change(&T.w.sponsor, ADD, ROLE_RESEARCHER, "", "researcher-2",
                                 &fresh.public_key, NULL, reg, 1),
                          EXEC_E_AUTH_SIGNERS, "proof of possession");
    world_cosig other[] = {{&T.w.regulator, MEANING_APPROVAL}, {&fresh2, MEANING_APPROVAL}};
    expect_refused_change(change(&T.w.sponsor, ROTATE, ROLE_RESEARCHER, "", "",
                                 &T.w.researcher.public_key, &fresh.public_key, other, 2),
                          EXEC_E_AUTH_SIGNERS, "proof of possession");
    cr_expect_eq(state_of(&fresh.public_key, NULL), EXEC_AUTH_NONE);
    cr_expect_eq(state_of(&T.w.researcher.public_key, NULL), EXEC_AUTH_ACTIVE);
}

Test(governance, bad_input_is_refused_with_a_reason_and_nothing_applied)
{
    open_world(false);
    tw_base(&T);
    world_cosig cos[] = {{&T.w.regulator, MEANING_APPROVAL}, {&fresh, MEANING_APPROVAL}};
    const pubkey *k = &fresh.public_key;
    /* shape */
    expect_refused_change(change(&T.w.sponsor, 4, ROLE_RESEARCHER, "", "r", k, NULL, cos, 2),
                          EXEC_E_AUTH_BAD_CHANGE, "action 4");
    expect_refused_change(change(&T.w.sponsor, ADD, ROLE_PARTICIPANT, "", "r", k, NULL, cos, 2),
                          EXEC_E_AUTH_BAD_CHANGE, "role 5");
    expect_refused_change(change(&T.w.sponsor, ADD, ROLE_AUDITOR, "", "r", k, NULL, cos, 2),
                          EXEC_E_AUTH_BAD_CHANGE, "role 6");
    expect_refused_change(change(&T.w.sponsor, ADD, ROLE_INVESTIGATOR, "", "r", k, NULL, cos, 2),
                          EXEC_E_AUTH_BAD_CHANGE, "site");
    expect_refused_change(change(&T.w.sponsor, ADD, ROLE_INVESTIGATOR,
                                 "site-with-a-code-of-thirty-three3", "r", k, NULL, cos, 2),
                          EXEC_E_AUTH_BAD_CHANGE, "site");
    expect_refused_change(change(&T.w.sponsor, ADD, ROLE_INVESTIGATOR, "site c", "r", k, NULL,
                                 cos, 2),
                          EXEC_E_AUTH_BAD_CHANGE, "site");
    expect_refused_change(change(&T.w.sponsor, ADD, ROLE_RESEARCHER, "site-a", "r", k, NULL,
                                 cos, 2),
                          EXEC_E_AUTH_BAD_CHANGE, "only an investigator has a site");
    expect_refused_change(change(&T.w.sponsor, ADD, ROLE_RESEARCHER, "", "", k, NULL, cos, 2),
                          EXEC_E_AUTH_BAD_CHANGE, "name");
    expect_refused_change(change(&T.w.sponsor, ADD, ROLE_RESEARCHER, "",
                                 "a-name-of-thirty-three-bytes-long", k, NULL, cos, 2),
                          EXEC_E_AUTH_BAD_CHANGE, "name");
    expect_refused_change(change(&T.w.sponsor, ADD, ROLE_RESEARCHER, "", "r\n", k, NULL, cos, 2),
                          EXEC_E_AUTH_BAD_CHANGE, "name");
    expect_refused_change(change(&T.w.sponsor, ADD, ROLE_RESEARCHER, "", "r", k, k, cos, 2),
                          EXEC_E_AUTH_BAD_CHANGE, "new_key");
    expect_refused_change(change(&T.w.sponsor, ROTATE, ROLE_RESEARCHER, "", "",
                                 &T.w.researcher.public_key, NULL, cos, 2),
                          EXEC_E_AUTH_BAD_CHANGE, "new_key");
    codec_value *short_key = change_args(ADD, ROLE_RESEARCHER, "", "r", k, NULL);
    short_key[4].len = 31;
    expect_refused_change(tw_run(&T, &T.w.sponsor, "governance", "authority", short_key, 6, cos,
                                 2),
                          EXEC_E_AUTH_BAD_CHANGE, "31 bytes");
    /* the wrong shape of arguments is unroutable (and kept pruned) */
    expect_invalid(tw_run(&T, &T.w.sponsor, "governance", "authority",
                          change_args(ADD, ROLE_RESEARCHER, "", "r", k, NULL), 5, cos, 2),
                   EXEC_E_BAD_ARGS);
    codec_value *int_key = change_args(ADD, ROLE_RESEARCHER, "", "r", k, NULL);
    int_key[4] = world_int(7);
    expect_invalid(tw_run(&T, &T.w.sponsor, "governance", "authority", int_key, 6, cos, 2),
                   EXEC_E_BAD_ARGS);
    /* a key already used by another role: an authority, a participant, a validator */
    world_cosig inv_b[] = {{&T.w.regulator, MEANING_APPROVAL}, {&T.w.inv_b, MEANING_APPROVAL}};
    expect_refused_change(change(&T.w.sponsor, ADD, ROLE_RESEARCHER, "", "r",
                                 &T.w.inv_b.public_key, NULL, inv_b, 2),
                          EXEC_E_AUTH_KEY_TAKEN, "already an authority (investigator");
    world_cosig part[] = {{&T.w.regulator, MEANING_APPROVAL}, {&T.w.participants[0], MEANING_APPROVAL}};
    expect_refused_change(change(&T.w.sponsor, ADD, ROLE_RESEARCHER, "", "r",
                                 &T.w.participants[0].public_key, NULL, part, 2),
                          EXEC_E_AUTH_KEY_TAKEN, "participant");
    world_cosig val[] = {{&T.w.regulator, MEANING_APPROVAL}, {&T.w.validators[2], MEANING_APPROVAL}};
    expect_refused_change(change(&T.w.sponsor, ADD, ROLE_RESEARCHER, "", "r",
                                 &T.w.validators[2].public_key, NULL, val, 2),
                          EXEC_E_AUTH_KEY_TAKEN, "validator 2");
    static const pubkey zero;
    expect_refused_change(change(&T.w.sponsor, ADD, ROLE_RESEARCHER, "", "r", &zero, NULL, cos,
                                 2),
                          EXEC_E_AUTH_KEY_TAKEN, "all-zero");
    /* rotating to a used key */
    expect_refused_change(change(&T.w.sponsor, ROTATE, ROLE_RESEARCHER, "", "",
                                 &T.w.researcher.public_key, &T.w.inv_b.public_key, inv_b, 2),
                          EXEC_E_AUTH_KEY_TAKEN, "already");
    expect_refused_change(change(&T.w.sponsor, ROTATE, ROLE_RESEARCHER, "", "",
                                 &T.w.researcher.public_key, &T.w.researcher.public_key, cos, 2),
                          EXEC_E_AUTH_KEY_TAKEN, "already");
    /* revoking an unknown key, a key of another role, site or name */
    world_cosig reg[] = {{&T.w.regulator, MEANING_APPROVAL}};
    expect_refused_change(change(&T.w.sponsor, REVOKE, ROLE_RESEARCHER, "", "", k, NULL, reg, 1),
                          EXEC_E_AUTH_UNKNOWN_KEY, "is no authority");
    expect_refused_change(change(&T.w.sponsor, REVOKE, ROLE_RESEARCHER, "", "",
                                 &T.w.inv_a.public_key, NULL, reg, 1),
                          EXEC_E_AUTH_UNKNOWN_KEY, "holds the role investigator, not researcher");
    expect_refused_change(change(&T.w.sponsor, REVOKE, ROLE_INVESTIGATOR, "site-b", "",
                                 &T.w.inv_a.public_key, NULL, reg, 1),
                          EXEC_E_AUTH_UNKNOWN_KEY, "at site site-a");
    expect_refused_change(change(&T.w.sponsor, REVOKE, ROLE_INVESTIGATOR, "", "someone",
                                 &T.w.inv_a.public_key, NULL, reg, 1),
                          EXEC_E_AUTH_UNKNOWN_KEY, "named investigator-a");
    /* the last regulator, the last sponsor (the genesis's requirements name one each) */
    expect_refused_change(change(&T.w.sponsor, REVOKE, ROLE_REGULATOR, "", "",
                                 &T.w.regulator.public_key, NULL, reg, 1),
                          EXEC_E_AUTH_TOO_FEW, "regulator");
    expect_refused_change(change(&T.w.sponsor, REVOKE, ROLE_SPONSOR, "", "",
                                 &T.w.sponsor.public_key, NULL, reg, 1),
                          EXEC_E_AUTH_TOO_FEW, "sponsor");
    /* nothing of it applied; the same signer's next change goes through */
    cr_expect_eq(state_of(k, NULL), EXEC_AUTH_NONE);
    cr_expect_eq(state_of(&T.w.regulator.public_key, NULL), EXEC_AUTH_ACTIVE);
    cr_expect_eq(state_of(&T.w.sponsor.public_key, NULL), EXEC_AUTH_ACTIVE);
    cr_expect_eq(state_of(&T.w.inv_a.public_key, NULL), EXEC_AUTH_ACTIVE);
    expect_ok(change(&T.w.sponsor, REVOKE, ROLE_INVESTIGATOR, "", "", &T.w.inv_a.public_key,
                     NULL, reg, 1));
    expect_refused_change(change(&T.w.sponsor, REVOKE, ROLE_INVESTIGATOR, "", "",
                                 &T.w.inv_a.public_key, NULL, reg, 1),
                          EXEC_E_AUTH_UNKNOWN_KEY, "was revoked at height");
}

/* Adding a site to a running trial, as a user does it: an investigator at the new site by
 * governance, the site listed by the trial's sponsor (protocol.add_site), activated, and
 * then the new investigator enrols, witnesses and anchors there. */
Test(governance, a_site_joins_a_running_trial)
{
    open_world(false);
    tw_base(&T);
    codec_value tr = world_text(TRIAL);
    /* nobody can work at site-c yet */
    world_cosig cos[] = {{&T.w.regulator, MEANING_APPROVAL}, {&fresh, MEANING_APPROVAL}};
    expect_ok(change(&T.w.sponsor, ADD, ROLE_INVESTIGATOR, "site-c", "investigator-c",
                     &fresh.public_key, NULL, cos, 2));
    expect_refused(tw_run(&T, &fresh, "consent", "enrol", ARGS(tr, tw_pk(&T.w.participants[2])),
                          NULL, 0),
                   CONTRACT_E_NO_SITE);
    expect_refused(tw_run(&T, &T.w.sponsor, "protocol", "activate", ARGS(tr, world_text("site-c")),
                          NULL, 0),
                   CONTRACT_E_NO_SITE);
    /* only the trial's sponsor lists a site, once */
    expect_refused(tw_run(&T, &T.w.regulator, "protocol", "add_site", ARGS(tr, world_text("site-c")),
                          NULL, 0),
                   CONTRACT_E_NOT_SPONSOR);
    codec_receipt r = tw_run(&T, &T.w.sponsor, "protocol", "add_site",
                             ARGS(tr, world_text("site-c")), NULL, 0);
    expect_ok(r);
    cr_expect_str_eq(r.events[0].topic.text, "protocol.site_added");
    expect_refused(tw_run(&T, &T.w.sponsor, "protocol", "add_site", ARGS(tr, world_text("site-c")),
                          NULL, 0),
                   CONTRACT_E_SITE_LISTED);
    expect_refused(tw_run(&T, &T.w.sponsor, "protocol", "add_site", ARGS(tr, world_text("site-a")),
                          NULL, 0),
                   CONTRACT_E_SITE_LISTED);
    expect_refused(tw_run(&T, &fresh, "consent", "enrol", ARGS(tr, tw_pk(&T.w.participants[2])),
                          NULL, 0),
                   CONTRACT_E_SITE_INACTIVE);
    expect_ok(tw_run(&T, &T.w.sponsor, "protocol", "activate", ARGS(tr, world_text("site-c")),
                     NULL, 0));
    expect_ok(tw_run(&T, &fresh, "consent", "enrol", ARGS(tr, tw_pk(&T.w.participants[2])), NULL,
                     0));
    hash32 form = world_hash("form v1");
    world_cosig witness = {&fresh, MEANING_WITNESS};
    expect_ok(tw_run(&T, &T.w.participants[2], "consent", "grant",
                     ARGS(tr, world_int(1), world_bytes(form.bytes, 32), world_int(1)), &witness, 1));
    expect_ok(tw_anchor(&T, &fresh, 2, SCOPE_MAIN, tw_next_time(&T) - 1000, "site-c record"));
    /* site-a's investigator cannot anchor for site-c's participant */
    expect_refused(tw_anchor(&T, &T.w.inv_a, 2, SCOPE_MAIN, tw_next_time(&T) - 1000, "x"),
                   CONTRACT_E_WRONG_SITE);
}

/* A sponsor's key rotated (lost or compromised): the new key is the sponsor of the trials
 * the old one registered (the contracts follow genesis/successor/, the reads
 * exec_successor_of), through more than one rotation; the old keys act for nothing. */
Test(governance, a_rotated_sponsor_key_keeps_its_trials)
{
    open_world(false);
    tw_base(&T);
    codec_value tr = world_text(TRIAL);
    world_cosig first[] = {{&T.w.regulator, MEANING_APPROVAL}, {&fresh, MEANING_APPROVAL}};
    expect_ok(change(&T.w.sponsor, ROTATE, ROLE_SPONSOR, "", "", &T.w.sponsor.public_key,
                     &fresh.public_key, first, 2));
    expect_ok(tw_run(&T, &fresh, "protocol", "add_site", ARGS(tr, world_text("site-c")), NULL, 0));
    cr_expect(exec_read_allowed(T.w.e, &fresh.public_key, EXEC_READ_TRIAL, (const uint8_t *)TRIAL,
                                strlen(TRIAL), NULL));
    exec_viewer v;
    exec_viewer_of(T.w.e, &fresh.public_key, (const uint8_t *)TRIAL, strlen(TRIAL), &v);
    cr_expect_eq(v.kind, EXEC_VIEW_ALL);
    /* a second rotation, signed by the first successor */
    world_cosig second[] = {{&T.w.regulator, MEANING_APPROVAL}, {&fresh2, MEANING_APPROVAL}};
    expect_ok(change(&fresh, ROTATE, ROLE_SPONSOR, "", "", &fresh.public_key, &fresh2.public_key,
                     second, 2));
    expect_ok(tw_run(&T, &fresh2, "protocol", "activate", ARGS(tr, world_text("site-c")), NULL, 0));
    pubkey now;
    cr_assert(exec_successor_of(T.w.e, &T.w.sponsor.public_key, &now));
    cr_expect_arr_eq(now.bytes, fresh2.public_key.bytes, 32);
    expect_invalid(tw_run(&T, &fresh, "protocol", "add_site", ARGS(tr, world_text("site-d")), NULL, 0),
                   EXEC_E_KEY_REVOKED);
    /* another sponsor key, added (not rotated), is not this trial's sponsor */
    keypair other;
    derive("test/other-sponsor", &other);
    world_cosig add[] = {{&T.w.regulator, MEANING_APPROVAL}, {&other, MEANING_APPROVAL}};
    expect_ok(change(&fresh2, ADD, ROLE_SPONSOR, "", "sponsor-delegate", &other.public_key, NULL,
                     add, 2));
    expect_refused(tw_run(&T, &other, "protocol", "add_site", ARGS(tr, world_text("site-d")), NULL, 0),
                   CONTRACT_E_NOT_SPONSOR);
    cr_expect_not(exec_read_allowed(T.w.e, &other.public_key, EXEC_READ_TRIAL,
                                    (const uint8_t *)TRIAL, strlen(TRIAL), NULL));
}

/* The lost-key flows' keys (issue 23 item 2) are participants' too: the new key of a
 * pending re-binding, and the old key once re-bound away, cannot become authorities. */
Test(governance, a_key_of_a_rebinding_cannot_become_an_authority)
{
    open_world(false);
    tw_base(&T);
    codec_value tr = world_text(TRIAL);
    hash32 request = world_hash("lost key request");
    world_cosig both[] = {{&T.w.regulator, MEANING_APPROVAL}, {&fresh, MEANING_APPROVAL}};
    expect_ok(tw_run(&T, &T.w.inv_a, "consent", "rebind_request",
                     ARGS(tr, tw_pk(&T.w.participants[0]), tw_pk(&fresh),
                          world_bytes(request.bytes, 32)), both, 2));
    expect_refused_change(change(&T.w.sponsor, ADD, ROLE_RESEARCHER, "", "r", &fresh.public_key,
                                 NULL, both, 2),
                          EXEC_E_AUTH_KEY_TAKEN, "pending re-binding");
    /* complete it after the genesis's delay: the old key is re-bound away */
    codec_receipt r;
    uint64_t delay = ledger_genesis(T.w.l)->rules.rebind_delay_ms;
    cr_assert_eq(world_run(&T.w, delay + 60000, &T.w.inv_a, "consent", "rebind_complete",
                           ARGS(tr, tw_pk(&T.w.participants[0]), tw_pk(&fresh)),
                           both, 1, &r), 0);
    expect_ok(r);
    world_cosig old[] = {{&T.w.regulator, MEANING_APPROVAL}, {&T.w.participants[0], MEANING_APPROVAL}};
    expect_refused_change(change(&T.w.sponsor, ADD, ROLE_RESEARCHER, "", "r",
                                 &T.w.participants[0].public_key, NULL, old, 2),
                          EXEC_E_AUTH_KEY_TAKEN, "re-bound away");
}

/* Review R3: a contract deployed under the name of the executor's own namespace. A
 * contract may write only keys starting with "<its name>/": one named "sys" could write
 * sys/auth/ (make any key a regulator without the regulators' kind-5 requirement),
 * sys/valset/ (a validator set no validator approved, loaded at the next reopen) or
 * sys/replay/ (replay committed txs), all under the deploy requirement alone (sponsor +
 * regulator by default). "sys", "genesis" (the contracts' virtual read-only keys) and
 * "governance" (the executor's own methods) are not contract names. */
Test(governance, no_contract_is_deployed_under_the_executors_own_names)
{
    open_world(false);
    char hex[65], src[512];
    tcrypto_to_hex(fresh.public_key.bytes, 32, hex);
    /* make(): writes sys/auth/<fresh> = an active regulator record named "x" */
    snprintf(src, sizeof src,
             ".bytes K x\"7379732f617574682f%s\"\n"
             ".bytes V x\"0103000000000000000000017a\"\n"
             ".func make 0 3 export\n    loads r0, K\n    loads r1, V\n    host r2, put, r0\n"
             "    ret r2\n", hex);
    uint8_t *module = NULL;
    size_t len = 0;
    cvm_error ce;
    cr_assert_eq(cvm_assemble(src, strlen(src), &module, &len, &ce), CVM_OK, "%s", ce.message);
    world_cosig reg = {&T.w.regulator, MEANING_APPROVAL};
    static const char *const reserved[] = {"sys", "genesis", "governance"};
    for (size_t i = 0; i < 3; i++) {
        codec_receipt r = tw_run(&T, &T.w.sponsor, "governance", "deploy",
                                 ARGS(world_text(reserved[i]), world_int(1),
                                      world_bytes(module, (uint32_t)len)), &reg, 1);
        expect_invalid(r, EXEC_E_GOVERNANCE);
        cr_expect(strstr(r.reason, "reserved"), "reason '%s' should say the name is reserved",
                  r.reason);
    }
    /* had it been deployed, its method would now make fresh a regulator */
    tw_run(&T, &T.w.sponsor, "sys", "make", NULL, 0, NULL, 0);
    cr_expect_eq(state_of(&fresh.public_key, NULL), EXEC_AUTH_NONE,
                 "a contract wrote the executor's authority records");
    cr_expect_eq(ledger_state_get(T.w.l, (const uint8_t *)"sys/contract/sys", 16, &(uint8_t *){0},
                                  &(size_t){0}), LEDGER_ERR_NOT_FOUND);
    /* the same module under a name of its own deploys (and writes only under that name) */
    expect_ok(tw_run(&T, &T.w.sponsor, "governance", "deploy",
                     ARGS(world_text("sysx"), world_int(1), world_bytes(module, (uint32_t)len)),
                     &reg, 1));
    expect_status(tw_run(&T, &T.w.sponsor, "sysx", "make", NULL, 0, NULL, 0), RECEIPT_TRAPPED,
                  EXEC_E_FOREIGN_WRITE);
    free(module);
}

/* Review R3: changes in odd orders inside one block (a rotation, then a revoke of the key
 * it brought in, then an add of a third key, then a tx by the rotated-out key) are the
 * same for the executor, the offline audit (which follows the governance.authority events)
 * and re-execution from the genesis. */
Test(governance, a_rotation_then_a_revoke_in_one_block_audits_and_replays)
{
    open_world(false);
    tw_base(&T);
    uint8_t buf[4][2048];
    codec_span txs[4];
    world_cosig rot[] = {{&T.w.regulator, MEANING_APPROVAL}, {&fresh, MEANING_AUTHOR}};
    world_cosig reg[] = {{&T.w.regulator, MEANING_APPROVAL}};
    world_cosig add[] = {{&T.w.regulator, MEANING_APPROVAL}, {&fresh2, MEANING_AUTHOR}};
    codec_value request[] = {world_text(TRIAL), world_int(SCOPE_MAIN), world_text("p")};
    size_t n[4];
    n[0] = world_sign(&T.w, &T.w.sponsor, WORLD_NEXT_NONCE, NULL, "governance", "authority",
                      change_args(ROTATE, ROLE_RESEARCHER, "", "", &T.w.researcher.public_key,
                                  &fresh.public_key), 6, rot, 2, buf[0], sizeof buf[0]);
    n[1] = world_sign(&T.w, &T.w.sponsor, WORLD_NEXT_NONCE, NULL, "governance", "authority",
                      change_args(REVOKE, ROLE_RESEARCHER, "", "", &fresh.public_key, NULL), 6,
                      reg, 1, buf[1], sizeof buf[1]);
    n[2] = world_sign(&T.w, &T.w.sponsor, WORLD_NEXT_NONCE, NULL, "governance", "authority",
                      change_args(ADD, ROLE_RESEARCHER, "", "researcher-3", &fresh2.public_key,
                                  NULL), 6, add, 2, buf[2], sizeof buf[2]);
    n[3] = world_sign(&T.w, &T.w.researcher, WORLD_NEXT_NONCE, NULL, "access", "request",
                      request, 3, NULL, 0, buf[3], sizeof buf[3]);
    for (int i = 0; i < 4; i++) {
        cr_assert_gt(n[i], 0);
        txs[i] = (codec_span){buf[i], n[i]};
    }
    codec_receipt r[4];
    cr_assert_eq(world_commit(&T.w, 60000, txs, 4, r), 0);
    expect_ok(r[0]);
    expect_ok(r[1]);
    expect_ok(r[2]);
    expect_invalid(r[3], EXEC_E_KEY_REVOKED);
    cr_expect_eq(state_of(&fresh.public_key, NULL), EXEC_AUTH_REVOKED);
    cr_expect_eq(state_of(&fresh2.public_key, NULL), EXEC_AUTH_ACTIVE);
    /* the rotated-out key is never used again, even after its successor went */
    world_cosig back[] = {{&T.w.regulator, MEANING_APPROVAL}, {&T.w.researcher, MEANING_AUTHOR}};
    expect_invalid(change(&T.w.sponsor, ADD, ROLE_RESEARCHER, "", "again",
                          &T.w.researcher.public_key, NULL, back, 2), EXEC_E_COSIGNER_REVOKED);
    audit_and_replay();
}

/* The same names in a genesis: an executor refuses to open it (a genesis contract named
 * "sys" would write the executor's state from block 1). */
static void contract_named_sys(codec_genesis *g, void *ctx)
{
    (void)ctx;
    snprintf(g->contracts[g->contract_count - 1].name.text, sizeof g->contracts[0].name.text,
             "sys");
}

Test(governance, no_genesis_contract_takes_a_reserved_name)
{
    snprintf(T.dir, sizeof T.dir, "/tmp/trialreg-governance-XXXXXX");
    cr_assert_not_null(mkdtemp(T.dir));
    cr_assert_eq(world_init_edit(&T.w, "trialreg-test-governance", contract_named_sys, NULL), 0);
    cr_expect_neq(world_open(&T.w, T.dir, true), 0, "a genesis contract named sys was loaded");
}
