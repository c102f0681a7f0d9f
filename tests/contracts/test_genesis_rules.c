/*
 * test_genesis_rules.c - issue 16: what a block does is decided by the genesis's rules and
 * governance requirements, as a user sees it in receipts: the deploy requirement is data
 * (a genesis asking for 2 regulators refuses a deploy one regulator approves), an auditor
 * signs no tx, and the executor's gas and VM limits are the genesis's.
 */
#include "audit.h"
#include "client_api.h"
#include "trialreg_client.h"
#include "ctest_world.h"

static tw T;
static keypair regulator_b, auditor, researcher_b;

static void derive(const char *label, keypair *out)
{
    hash32 seed = world_hash(label);
    tcrypto_keypair_from_seed(seed.bytes, out);
}

static void add_authority(codec_genesis *g, unsigned role, const char *name, const keypair *k)
{
    codec_authority *a = &g->authorities[g->authority_count++];
    memset(a, 0, sizeof *a);
    a->role = (uint8_t)role;
    snprintf(a->name.text, sizeof a->name.text, "%s", name);
    a->key = k->public_key;
}

/* A second regulator and an auditor; deploy needs a sponsor and 2 regulators. */
static void two_regulators(codec_genesis *g, void *ctx)
{
    (void)ctx;
    add_authority(g, ROLE_REGULATOR, "regulator-b", &regulator_b);
    add_authority(g, ROLE_AUDITOR, "auditor", &auditor);
    g->governance[GOVERNANCE_DEPLOY - 1] = (codec_requirement){
        .role_count = 2, .roles = {{ROLE_SPONSOR, 1}, {ROLE_REGULATOR, 2}}};
}

/* The rules of ctx (a codec_rules) replace the defaults. */
static void with_rules(codec_genesis *g, void *ctx) { g->rules = *(const codec_rules *)ctx; }

static void open_world(void (*edit)(codec_genesis *, void *), void *ctx)
{
    derive("test/regulator-b", &regulator_b);
    derive("test/auditor", &auditor);
    derive("test/researcher-b", &researcher_b);
    snprintf(T.dir, sizeof T.dir, "/tmp/trialreg-genesis-rules-XXXXXX");
    cr_assert_not_null(mkdtemp(T.dir));
    cr_assert_eq(world_init_edit(&T.w, "trialreg-test-genesis-rules", edit, ctx), 0);
    cr_assert_eq(world_open(&T.w, T.dir, true), 0);
}

static void teardown(void) { tw_close(&T); }

TestSuite(genesis_rules, .fini = teardown, .timeout = 120);

/* governance.deploy args: the outcomes contract's own bytecode as version 2, in chunks. */
static uint32_t deploy_args(codec_value *a)
{
    const codec_genesis *g = ledger_genesis(T.w.l);
    const codec_contract *c = NULL;
    for (uint32_t i = 0; i < g->contract_count; i++) {
        if (strcmp(g->contracts[i].name.text, "outcomes") == 0) c = &g->contracts[i];
    }
    cr_assert_not_null(c);
    uint32_t n = 0;
    a[n++] = world_text("outcomes");
    a[n++] = world_int(2);
    for (uint32_t at = 0; at < c->bytecode_len; at += CODEC_ARG_BYTES_MAX) {
        uint32_t len = c->bytecode_len - at < CODEC_ARG_BYTES_MAX ? c->bytecode_len - at
                                                                  : CODEC_ARG_BYTES_MAX;
        a[n++] = world_bytes(c->bytecode + at, len);
    }
    return n;
}

Test(genesis_rules, a_deploy_needs_the_keys_the_genesis_names)
{
    open_world(two_regulators, NULL);
    codec_value a[CODEC_ARGS_MAX];
    uint32_t n = deploy_args(a);
    world_cosig one[] = {{&T.w.regulator, MEANING_APPROVAL}};
    world_cosig reviewed[] = {{&T.w.regulator, MEANING_APPROVAL}, {&regulator_b, MEANING_REVIEW}};
    world_cosig both[] = {{&T.w.regulator, MEANING_APPROVAL}, {&regulator_b, MEANING_APPROVAL}};
    /* the version 1 rule (sponsor + one regulator) is not enough on this chain */
    expect_invalid(tw_run(&T, &T.w.sponsor, "governance", "deploy", a, n, one, 1),
                   EXEC_E_GOVERNANCE);
    /* a second regulator counts only with meaning approval */
    expect_invalid(tw_run(&T, &T.w.sponsor, "governance", "deploy", a, n, reviewed, 2),
                   EXEC_E_GOVERNANCE);
    codec_receipt r = tw_run(&T, &T.w.sponsor, "governance", "deploy", a, n, both, 2);
    expect_ok(r);
    cr_expect_str_eq(r.events[0].topic.text, "governance.deployed");
}

Test(genesis_rules, the_default_requirement_is_a_sponsor_and_a_regulator_in_any_order)
{
    open_world(NULL, NULL);
    const codec_requirement *req = &ledger_genesis(T.w.l)->governance[GOVERNANCE_DEPLOY - 1];
    cr_assert_eq(req->role_count, 2);
    codec_value a[CODEC_ARGS_MAX];
    uint32_t n = deploy_args(a);
    /* the regulator may author it, approved by the sponsor: the keys are what counts */
    world_cosig sponsor[] = {{&T.w.sponsor, MEANING_APPROVAL}};
    world_cosig inv[] = {{&T.w.inv_a, MEANING_APPROVAL}};
    expect_invalid(tw_run(&T, &T.w.regulator, "governance", "deploy", a, n, inv, 1),
                   EXEC_E_GOVERNANCE);
    expect_ok(tw_run(&T, &T.w.regulator, "governance", "deploy", a, n, sponsor, 1));
}

Test(genesis_rules, an_auditor_signs_no_tx)
{
    open_world(two_regulators, NULL);
    static hash32 doc;
    doc = world_hash("doc v1");
    codec_receipt r = tw_run(&T, &auditor, "protocol", "register",
                             ARGS(world_text("T-A"), world_bytes(doc.bytes, 32),
                                  world_bytes(doc.bytes, 32), world_bytes(doc.bytes, 32),
                                  world_int(10), world_bytes("\x06site-a", 7), tw_forms()),
                             NULL, 0);
    expect_invalid(r, EXEC_E_READ_ONLY);
    cr_expect(strstr(r.reason, "auditor") != NULL, "%s", r.reason);
    /* kept pruned, like every refusal at the role step: no free bytes in the ledger */
    cr_expect_eq(r.event_count, 1);
    cr_expect_str_eq(r.events[0].topic.text, EXEC_PRUNED_TOPIC);
    /* the audit accepts the block that keeps it pruned (a byzantine primary may propose
     * it; every correct replica refuses it the same way) */
    audit_ledger_cursor cur;
    audit_source src;
    audit_ledger_source(&cur, T.w.l, &src);
    audit_summary sum;
    audit_failure fail;
    bool ok = audit_run(T.w.genesis, T.w.genesis_len, &src, 1, &sum, &fail);
    audit_ledger_cursor_done(&cur);
    cr_expect(ok, "audit: height %llu tx %lld: %s", (unsigned long long)fail.height,
              (long long)fail.tx_index, fail.reason);
    /* and the node a client submits to refuses it at once */
    static uint8_t buf[CODEC_TX_MAX];
    size_t len = world_sign(&T.w, &auditor, 7, NULL, "protocol", "approve",
                            ARGS(world_text("T-A"), world_int(1)), NULL, 0, buf, sizeof buf);
    static codec_tx tx;
    cr_assert_eq(codec_tx_decode(buf, len, &tx, NULL), CODEC_OK);
    cr_expect_eq(exec_check_admissible(T.w.e, &tx), EXEC_E_READ_ONLY);
    /* a reopened executor (re-execution reads the same genesis) refuses it the same way */
    exec_close(T.w.e);
    exec_error err;
    cr_assert_eq(exec_open(T.w.l, NULL, &T.w.e, &err), EXEC_OK, "%s", err.message);
    cr_expect_eq(exec_check_admissible(T.w.e, &tx), EXEC_E_READ_ONLY);
}

Test(genesis_rules, the_tx_gas_limit_is_the_genesis_s)
{
    static codec_rules rules;
    codec_rules_default(&rules);
    rules.tx_gas_limit = 500;
    open_world(with_rules, &rules);
    cr_expect_eq(exec_rules_at(T.w.e, 1)->tx_gas_limit, 500);
    codec_receipt r = tw_run(&T, &T.w.sponsor, "protocol", "register",
                             ARGS(world_text("T-G"), tw_forms(), tw_forms(), tw_forms(),
                                  world_int(10), world_bytes("\x06site-a", 7), tw_forms()),
                             NULL, 0);
    expect_status(r, RECEIPT_TRAPPED, EXEC_E_OUT_OF_GAS);
    cr_expect_eq(r.gas_used, 500);
}

Test(genesis_rules, the_vm_limits_are_the_genesis_s)
{
    static codec_rules rules;
    codec_rules_default(&rules);
    rules.vm_writes_max = 1; /* a registration writes several keys */
    open_world(with_rules, &rules);
    codec_receipt r = tw_run(&T, &T.w.sponsor, "protocol", "register",
                             ARGS(world_text("T-W"), tw_forms(), tw_forms(), tw_forms(),
                                  world_int(10), world_bytes("\x06site-a", 7), tw_forms()),
                             NULL, 0);
    expect_status(r, RECEIPT_TRAPPED, EXEC_E_TRAP);
    cr_expect(strstr(r.reason, "write") != NULL, "%s", r.reason);
}

/* ---- issue 19 item 3: a grant is read by the researcher it was made to, nobody else ---- */

static void second_researcher(codec_genesis *g, void *ctx)
{
    (void)ctx;
    add_authority(g, ROLE_RESEARCHER, "researcher-b", &researcher_b);
    add_authority(g, ROLE_AUDITOR, "auditor", &auditor);
}

/* GRANT query for grant n of TRIAL as k, at the world's clock; the response status. */
static uint32_t read_grant_as(capi *api, const keypair *k, uint64_t n, char *reason, size_t cap)
{
    uint8_t g[8], req[1024];
    static uint8_t reply[256 * 1024];
    for (int i = 0; i < 8; i++) g[i] = (uint8_t)(n >> (56 - 8 * i));
    codec_span args[2] = {{(const uint8_t *)TRIAL, 3}, {g, 8}};
    size_t len = client_query_request(k, ledger_chain_id(T.w.l), T.w.now_ms, QUERY_GRANT, args, 2,
                                      req, sizeof req);
    cr_assert_gt(len, 0);
    codec_client_response r;
    cr_assert_eq(codec_client_response_decode(reply, capi_handle(api, req, len, reply, sizeof reply),
                                              &r, NULL), CODEC_OK);
    snprintf(reason, cap, "%s", r.reason);
    return r.status;
}

static uint64_t clock_of_world(void *ctx) { return ((const world *)ctx)->now_ms; }

Test(genesis_rules, a_grant_is_read_only_by_the_researcher_it_was_made_to)
{
    open_world(second_researcher, NULL);
    tw_base(&T);
    expect_ok(tw_anchor(&T, &T.w.inv_a, 0, SCOPE_MAIN, tw_next_time(&T) - 1, "record a"));
    expect_ok(tw_run(&T, &T.w.researcher, "access", "request",
                     ARGS(world_text(TRIAL), world_int(SCOPE_MAIN), world_text("study a")), NULL, 0));
    expect_ok(tw_run(&T, &researcher_b, "access", "request",
                     ARGS(world_text(TRIAL), world_int(SCOPE_MAIN), world_text("study b")), NULL, 0));
    capi_config cfg = {.executor = T.w.e, .skew_ms = 30000, .blocks_max = 8,
                       .clock = clock_of_world, .clock_ctx = &T.w};
    capi *api = capi_open(&cfg);
    cr_assert_not_null(api);
    char why[200];
    cr_expect_eq(read_grant_as(api, &T.w.researcher, 0, why, sizeof why), CAPI_OK, "%s", why);
    cr_expect_eq(read_grant_as(api, &researcher_b, 1, why, sizeof why), CAPI_OK, "%s", why);
    cr_expect_eq(read_grant_as(api, &researcher_b, 0, why, sizeof why), CAPI_DENIED);
    cr_expect_not_null(strstr(why, "made to another researcher"), "%s", why);
    cr_expect_eq(read_grant_as(api, &T.w.researcher, 1, why, sizeof why), CAPI_DENIED);
    cr_expect_eq(read_grant_as(api, &auditor, 0, why, sizeof why), CAPI_DENIED, "an auditor reads no grant");
    cr_expect_not_null(strstr(why, "grant's records"), "%s", why);
    capi_close(api);
}
