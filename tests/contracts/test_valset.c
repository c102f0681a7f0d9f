/*
 * test_valset.c - validator-set changes (issue 23 items 4 and 5): governance.validators
 * through the executor, every rule and refusal as a user sees it in receipts, the set in
 * force at each height (the executor's history, reopened), the audit following changes
 * and refusing a certificate of a removed validator, and receipt files that carry the
 * chain of changes, verified with the genesis alone.
 *
 * Blocks are committed here with exec_commit_local and the keys of the set in force (the
 * test is the signer PBFT would be): the executor refuses keys of another set.
 */
#include <inttypes.h>

#include "audit.h"
#include "consortium.h"
#include "ctest_world.h"
#include "cvm.h"
#include "proof.h"

#define NEW_KEYS 12

typedef struct {
    tw t;
    keypair fresh[NEW_KEYS];        /* keys no one uses yet: new validators */
    keypair in_force[CODEC_VALIDATORS_MAX];
    uint32_t n;                     /* the keys that sign the next block */
} vs;

static void vs_open(vs *v)
{
    memset(v, 0, sizeof *v);
    tw_open(&v->t, "valset");
    for (uint32_t i = 0; i < NEW_KEYS; i++) {
        char label[64];
        hash32 seed;
        snprintf(label, sizeof label, "test-valset/new/%u", i);
        tcrypto_sha256(label, strlen(label), &seed);
        tcrypto_keypair_from_seed(seed.bytes, &v->fresh[i]);
    }
    for (uint32_t i = 0; i < 4; i++) v->in_force[i] = v->t.w.validators[i];
    v->n = 4;
}

static uint64_t vs_height(vs *v)
{
    ledger_summary head;
    ledger_head(v->t.w.l, &head);
    return head.height;
}

/* The keys PBFT would sign with at the next height: the set in force there, looked up by
 * key among the genesis validators and the fresh keys. */
static void vs_follow(vs *v)
{
    const codec_validator *set;
    uint32_t n = exec_validators_at(v->t.w.e, vs_height(v) + 1, &set);
    for (uint32_t i = 0; i < n; i++) {
        bool found = false;
        for (uint32_t k = 0; k < 4 && !found; k++) {
            if (memcmp(v->t.w.validators[k].public_key.bytes, set[i].key.bytes, 32) == 0) {
                v->in_force[i] = v->t.w.validators[k];
                found = true;
            }
        }
        for (uint32_t k = 0; k < NEW_KEYS && !found; k++) {
            if (memcmp(v->fresh[k].public_key.bytes, set[i].key.bytes, 32) == 0) {
                v->in_force[i] = v->fresh[k];
                found = true;
            }
        }
        cr_assert(found, "validator %u of the set in force has a key the test does not hold", i);
    }
    v->n = n;
}

/* Commit txs as the next block, signed by the set in force; receipts decoded into r. */
static void vs_commit(vs *v, const codec_span *txs, uint32_t count, codec_receipt *r)
{
    vs_follow(v);
    v->t.w.now_ms += 60000;
    ledger_summary s;
    exec_error err;
    cr_assert_eq(exec_commit_local(v->t.w.e, v->in_force, v->n, v->t.w.now_ms, txs, count, &s,
                                   &err), EXEC_OK, "%s", err.message);
    const codec_span *rr = exec_last_receipts(v->t.w.e);
    for (uint32_t i = 0; r && i < count; i++) {
        cr_assert_eq(codec_receipt_decode(rr[i].data, rr[i].len, &r[i], NULL), CODEC_OK);
    }
}

/* Empty blocks until the head is at height. */
static void vs_until(vs *v, uint64_t height)
{
    while (vs_height(v) < height) vs_commit(v, NULL, 0, NULL);
}

static codec_validator vs_validator(const char *name, const keypair *k)
{
    codec_validator out = {.key = k->public_key};
    snprintf(out.name.text, sizeof out.name.text, "%s", name);
    return out;
}

/* The set in force at the next height, as a codec_valset to edit. */
static codec_valset vs_current(vs *v)
{
    codec_valset s = {0};
    const codec_validator *set;
    s.count = exec_validators_at(v->t.w.e, vs_height(v) + 1, &set);
    memcpy(s.validators, set, s.count * sizeof *set);
    return s;
}

/* One governance.validators tx signed by signer with cos, committed alone; its receipt. */
static codec_receipt vs_change(vs *v, const keypair *signer, const codec_valset *set,
                               const world_cosig *cos, uint32_t ncos)
{
    static uint8_t arg[CODEC_ARG_BYTES_MAX + 64], tx[CODEC_TX_MAX];
    codec_buf b = codec_buf_make(arg, sizeof arg);
    cr_assert_eq(codec_valset_encode(set, &b), CODEC_OK);
    codec_value a = world_bytes(arg, (uint32_t)b.len);
    v->t.w.now_ms += 1; /* signed at the block's time, as world_run does */
    size_t len = world_sign(&v->t.w, signer, WORLD_NEXT_NONCE, NULL, "governance", "validators",
                            &a, 1, cos, ncos, tx, sizeof tx);
    cr_assert_gt(len, 0);
    codec_receipt r;
    vs_commit(v, &(codec_span){tx, len}, 1, &r);
    return r;
}

/* Co-signers: the regulator (the default kind-2 requirement: sponsor signs, regulator
 * approves), `approvers` validators of the set in force, then the new keys. */
static uint32_t vs_cosigners(vs *v, uint32_t approvers, const keypair *const *new_keys,
                             uint32_t new_count, world_cosig *out)
{
    uint32_t n = 0;
    out[n++] = (world_cosig){&v->t.w.regulator, MEANING_APPROVAL};
    vs_follow(v);
    for (uint32_t i = 0; i < approvers; i++) out[n++] = (world_cosig){&v->in_force[i], MEANING_APPROVAL};
    for (uint32_t i = 0; i < new_count; i++) out[n++] = (world_cosig){new_keys[i], MEANING_AUTHOR};
    return n;
}

#define expect_reason_has(r, text)                                                           \
    cr_expect(strstr((r).reason, (text)) != NULL, "reason \"%s\" should say \"%s\"", (r).reason, \
              (text))

/* 4 -> 7: the three fresh keys 0..2 added. */
static codec_valset vs_grown(vs *v)
{
    codec_valset s = vs_current(v);
    s.validators[s.count++] = vs_validator("validator-4", &v->fresh[0]);
    s.validators[s.count++] = vs_validator("validator-5", &v->fresh[1]);
    s.validators[s.count++] = vs_validator("validator-6", &v->fresh[2]);
    return s;
}

static codec_receipt vs_grow(vs *v)
{
    codec_valset s = vs_grown(v);
    const keypair *added[] = {&v->fresh[0], &v->fresh[1], &v->fresh[2]};
    world_cosig cos[CODEC_COSIGS_MAX];
    uint32_t n = vs_cosigners(v, 3, added, 3, cos);
    return vs_change(v, &v->t.w.sponsor, &s, cos, n);
}

static bool state_has(vs *v, const char *key)
{
    uint8_t *value;
    size_t len;
    ledger_err rc = ledger_state_get(v->t.w.l, (const uint8_t *)key, strlen(key), &value, &len);
    if (rc == LEDGER_OK) free(value);
    return rc == LEDGER_OK;
}

Test(valset, growth_to_seven_takes_effect_at_the_boundary_and_survives_a_reopen)
{
    vs v;
    vs_open(&v);
    vs_until(&v, 20);
    codec_receipt r = vs_grow(&v); /* committed at 21 */
    expect_ok(r);
    uint64_t boundary = consortium_boundary(21);
    cr_assert_eq(boundary, 48, "B = (21 / 16 + 2) * 16");
    /* the event: [boundary, the whole new set] */
    cr_assert_eq(r.event_count, 1);
    cr_assert_str_eq(r.events[0].topic.text, "governance.validators");
    uint64_t b;
    codec_valset got;
    cr_assert_eq(codec_valset_event_decode(r.events[0].data, r.events[0].len, &b, &got, NULL),
                 CODEC_OK);
    cr_assert_eq(b, boundary);
    cr_assert_eq(got.count, 7);
    cr_assert_str_eq(got.validators[6].name.text, "validator-6");
    cr_assert(state_has(&v, "sys/valset/pending"));
    /* below the boundary the old 4 sign; from it the 7 */
    const codec_validator *set;
    cr_assert_eq(exec_validators_at(v.t.w.e, boundary - 1, &set), 4);
    cr_assert_eq(exec_validators_at(v.t.w.e, boundary, &set), 7);
    vs_until(&v, boundary - 1);
    cr_assert_eq(v.n, 4);
    /* the old set's keys cannot commit the boundary height */
    ledger_summary s;
    exec_error err;
    cr_assert_eq(exec_commit_local(v.t.w.e, v.t.w.validators, 4, v.t.w.now_ms + 1000, NULL, 0,
                                   &s, &err), EXEC_ERR_INVALID);
    cr_expect(strstr(err.message, "7 validator keys in force at height 48") != NULL, "%s",
              err.message);
    vs_until(&v, boundary);
    cr_assert_eq(v.n, 7);
    cr_assert_not(state_has(&v, "sys/valset/pending"), "the first block at B settles it");
    /* a reopened executor knows the same sets from its state */
    exec_close(v.t.w.e);
    cr_assert_eq(exec_open(v.t.w.l, NULL, &v.t.w.e, &err), EXEC_OK, "%s", err.message);
    cr_assert_eq(exec_validators_at(v.t.w.e, boundary - 1, &set), 4);
    cr_assert_eq(exec_validators_at(v.t.w.e, boundary, &set), 7);
    uint64_t at, bd;
    const codec_valset *last;
    cr_assert(exec_valset_last_change(v.t.w.e, &at, &bd, &last));
    cr_assert_eq(at, 21);
    cr_assert_eq(bd, boundary);
    vs_until(&v, boundary + 2);
    tw_close(&v.t);
}

Test(valset, shrink_and_rotation_follow_the_rules)
{
    vs v;
    vs_open(&v);
    expect_ok(vs_grow(&v));
    vs_until(&v, consortium_boundary(1));
    cr_assert_eq(v.n, 7);
    /* rotate 2 = f of 7 keys: validator-1 and validator-5 get fresh keys 3 and 4 */
    codec_valset s = vs_current(&v);
    s.validators[1] = vs_validator("validator-1", &v.fresh[3]);
    s.validators[5] = vs_validator("validator-5b", &v.fresh[4]);
    const keypair *rotated[] = {&v.fresh[3], &v.fresh[4]};
    world_cosig cos[CODEC_COSIGS_MAX];
    uint32_t n = vs_cosigners(&v, 5, rotated, 2, cos);
    uint64_t h = vs_height(&v) + 1;
    expect_ok(vs_change(&v, &v.t.w.sponsor, &s, cos, n));
    vs_until(&v, consortium_boundary(h));
    cr_assert_eq(memcmp(v.in_force[1].public_key.bytes, v.fresh[3].public_key.bytes, 32), 0);
    /* shrink back to 4: remove validators 1, 4 and 6 */
    codec_valset small = {.count = 4};
    small.validators[0] = s.validators[0];
    small.validators[1] = s.validators[2];
    small.validators[2] = s.validators[3];
    small.validators[3] = s.validators[5];
    n = vs_cosigners(&v, 5, NULL, 0, cos);
    h = vs_height(&v) + 1;
    expect_ok(vs_change(&v, &v.t.w.sponsor, &small, cos, n));
    vs_until(&v, consortium_boundary(h));
    cr_assert_eq(v.n, 4);
    cr_assert_eq(memcmp(v.in_force[3].public_key.bytes, v.fresh[4].public_key.bytes, 32), 0);
    tw_close(&v.t);
}

Test(valset, every_rule_is_a_refusal_with_a_reason_and_nothing_applied)
{
    vs v;
    vs_open(&v);
    world_cosig cos[CODEC_COSIGS_MAX];
    const keypair *one[] = {&v.fresh[0]};
    const keypair *three[] = {&v.fresh[0], &v.fresh[1], &v.fresh[2]};
    /* fewer than 4 */
    codec_valset s = vs_current(&v);
    s.count = 3;
    uint32_t n = vs_cosigners(&v, 3, NULL, 0, cos);
    codec_receipt r = vs_change(&v, &v.t.w.sponsor, &s, cos, n);
    expect_invalid(r, EXEC_E_VALSET_RULE);
    expect_reason_has(r, "fewer than 4");
    /* n not allowed (5) */
    s = vs_current(&v);
    s.validators[s.count++] = vs_validator("validator-4", &v.fresh[0]);
    n = vs_cosigners(&v, 3, one, 1, cos);
    r = vs_change(&v, &v.t.w.sponsor, &s, cos, n);
    expect_invalid(r, EXEC_E_VALSET_RULE);
    expect_reason_has(r, "not allowed");
    /* more than f = 1 replaced */
    s = vs_current(&v);
    s.validators[0] = vs_validator("validator-0", &v.fresh[0]);
    s.validators[1] = vs_validator("validator-1", &v.fresh[1]);
    n = vs_cosigners(&v, 3, three, 2, cos);
    r = vs_change(&v, &v.t.w.sponsor, &s, cos, n);
    expect_invalid(r, EXEC_E_VALSET_RULE);
    expect_reason_has(r, "at most f = 1");
    /* growth that also changes a current validator */
    s = vs_grown(&v);
    s.validators[0] = vs_validator("validator-0", &v.fresh[3]);
    r = vs_change(&v, &v.t.w.sponsor, &s, cos, vs_cosigners(&v, 3, three, 3, cos));
    expect_invalid(r, EXEC_E_VALSET_RULE);
    expect_reason_has(r, "in their order");
    /* duplicate key and duplicate name in the new set (PBFT counts votes by index) */
    s = vs_grown(&v);
    s.validators[6].key = s.validators[5].key;
    r = vs_change(&v, &v.t.w.sponsor, &s, cos, vs_cosigners(&v, 3, three, 2, cos));
    expect_invalid(r, EXEC_E_VALSET_RULE);
    expect_reason_has(r, "same key");
    s = vs_grown(&v);
    snprintf(s.validators[6].name.text, sizeof s.validators[6].name.text, "validator-0");
    r = vs_change(&v, &v.t.w.sponsor, &s, cos, vs_cosigners(&v, 3, three, 3, cos));
    expect_invalid(r, EXEC_E_VALSET_RULE);
    expect_reason_has(r, "same name");
    /* missing validator co-signatures: 2f = 2 of 4 */
    s = vs_grown(&v);
    r = vs_change(&v, &v.t.w.sponsor, &s, cos, vs_cosigners(&v, 2, three, 3, cos));
    expect_invalid(r, EXEC_E_VALSET_APPROVAL);
    expect_reason_has(r, "2 of the 4 current validators approved, 2f+1 = 3 needed");
    /* two authority keys alone (sponsor signs, regulator approves, no validator) */
    r = vs_change(&v, &v.t.w.sponsor, &s, cos, vs_cosigners(&v, 0, three, 3, cos));
    expect_invalid(r, EXEC_E_VALSET_APPROVAL);
    /* validators approve a change the genesis's kind-2 keys did not: no regulator */
    n = vs_cosigners(&v, 3, three, 3, cos);
    r = vs_change(&v, &v.t.w.sponsor, &s, cos + 1, n - 1);
    expect_invalid(r, EXEC_E_VALSET_APPROVAL);
    expect_reason_has(r, "kind-2");
    /* a validator's co-signature that is no approval does not count */
    n = vs_cosigners(&v, 3, three, 3, cos);
    cos[1].meaning = MEANING_REVIEW;
    r = vs_change(&v, &v.t.w.sponsor, &s, cos, n);
    expect_invalid(r, EXEC_E_VALSET_APPROVAL);
    /* a new key that did not co-sign (proof of possession) */
    r = vs_change(&v, &v.t.w.sponsor, &s, cos, vs_cosigners(&v, 3, three, 2, cos));
    expect_invalid(r, EXEC_E_VALSET_POSSESSION);
    expect_reason_has(r, "validator-6");
    /* a key used by an authority (an investigator) or a participant */
    s = vs_grown(&v);
    s.validators[4] = vs_validator("validator-4", &v.t.w.inv_a);
    const keypair *with_inv[] = {&v.t.w.inv_a, &v.fresh[1], &v.fresh[2]};
    r = vs_change(&v, &v.t.w.sponsor, &s, cos, vs_cosigners(&v, 3, with_inv, 3, cos));
    expect_invalid(r, EXEC_E_VALSET_KEY_IN_USE);
    expect_reason_has(r, "investigator");
    /* nothing was applied by any of these */
    const codec_validator *set;
    cr_assert_eq(exec_validators_at(v.t.w.e, 1000, &set), 4);
    cr_assert_not(state_has(&v, "sys/valset/pending"));
    uint64_t at, bd;
    const codec_valset *last;
    cr_assert_not(exec_valset_last_change(v.t.w.e, &at, &bd, &last));
    /* a change while one is pending: refused until its boundary */
    expect_ok(vs_grow(&v));
    uint64_t boundary = consortium_boundary(vs_height(&v));
    s = vs_current(&v); /* still the 4 below the boundary */
    s.validators[3] = vs_validator("validator-3", &v.fresh[5]);
    const keypair *rot[] = {&v.fresh[5]};
    r = vs_change(&v, &v.t.w.sponsor, &s, cos, vs_cosigners(&v, 3, rot, 1, cos));
    expect_invalid(r, EXEC_E_VALSET_PENDING);
    expect_reason_has(r, "pending");
    vs_until(&v, boundary);
    s = vs_current(&v); /* the 7 now */
    s.validators[3] = vs_validator("validator-3", &v.fresh[5]);
    expect_ok(vs_change(&v, &v.t.w.sponsor, &s, cos, vs_cosigners(&v, 5, rot, 1, cos)));
    tw_close(&v.t);
}

Test(valset, a_second_change_in_the_same_block_is_pending)
{
    vs v;
    vs_open(&v);
    static uint8_t arg1[1200], arg2[1200], tx1[CODEC_TX_MAX], tx2[CODEC_TX_MAX];
    codec_valset a = vs_grown(&v), b = vs_current(&v);
    b.validators[0] = vs_validator("validator-0", &v.fresh[4]);
    codec_buf ab = codec_buf_make(arg1, sizeof arg1), bb = codec_buf_make(arg2, sizeof arg2);
    cr_assert_eq(codec_valset_encode(&a, &ab), CODEC_OK);
    cr_assert_eq(codec_valset_encode(&b, &bb), CODEC_OK);
    world_cosig cos1[CODEC_COSIGS_MAX], cos2[CODEC_COSIGS_MAX];
    const keypair *three[] = {&v.fresh[0], &v.fresh[1], &v.fresh[2]}, *one[] = {&v.fresh[4]};
    uint32_t n1 = vs_cosigners(&v, 3, three, 3, cos1), n2 = vs_cosigners(&v, 3, one, 1, cos2);
    v.t.w.now_ms += 1;
    codec_value va = world_bytes(arg1, (uint32_t)ab.len), vb = world_bytes(arg2, (uint32_t)bb.len);
    size_t l1 = world_sign(&v.t.w, &v.t.w.sponsor, WORLD_NEXT_NONCE, NULL, "governance",
                           "validators", &va, 1, cos1, n1, tx1, sizeof tx1);
    size_t l2 = world_sign(&v.t.w, &v.t.w.sponsor, WORLD_NEXT_NONCE, NULL, "governance",
                           "validators", &vb, 1, cos2, n2, tx2, sizeof tx2);
    codec_span txs[] = {{tx1, l1}, {tx2, l2}};
    codec_receipt r[2];
    vs_commit(&v, txs, 2, r);
    expect_ok(r[0]);
    expect_invalid(r[1], EXEC_E_VALSET_PENDING);
    tw_close(&v.t);
}

/* Review R3: one key, one role, also while a change is pending. A validator added by a
 * committed change whose boundary is not reached yet (or by a tx earlier in the same
 * block) is a validator already: check_key_free refuses it as an authority, and the
 * consent contract (genesis/validator/) must refuse it as a participant, and as the new
 * key of a re-binding, too. */
Test(valset, a_key_of_a_pending_change_is_no_participant)
{
    vs v;
    vs_open(&v);
    tw_base(&v.t);
    codec_value tr = world_text(TRIAL);
    /* the same block: the change, then an enrolment of one of its new keys */
    static uint8_t arg[1200], tx1[CODEC_TX_MAX], tx2[CODEC_TX_MAX];
    codec_valset grown = vs_grown(&v);
    codec_buf ab = codec_buf_make(arg, sizeof arg);
    cr_assert_eq(codec_valset_encode(&grown, &ab), CODEC_OK);
    world_cosig cos[CODEC_COSIGS_MAX];
    const keypair *three[] = {&v.fresh[0], &v.fresh[1], &v.fresh[2]};
    uint32_t n = vs_cosigners(&v, 3, three, 3, cos);
    v.t.w.now_ms += 1;
    codec_value va = world_bytes(arg, (uint32_t)ab.len);
    codec_value enrol0[] = {tr, tw_pk(&v.fresh[0])};
    size_t l1 = world_sign(&v.t.w, &v.t.w.sponsor, WORLD_NEXT_NONCE, NULL, "governance",
                           "validators", &va, 1, cos, n, tx1, sizeof tx1);
    size_t l2 = world_sign(&v.t.w, &v.t.w.inv_a, WORLD_NEXT_NONCE, NULL, "consent", "enrol",
                           enrol0, 2, NULL, 0, tx2, sizeof tx2);
    codec_span txs[] = {{tx1, l1}, {tx2, l2}};
    codec_receipt r[2];
    vs_commit(&v, txs, 2, r);
    expect_ok(r[0]);
    expect_refused(r[1], CONTRACT_E_ROLE_TAKEN);
    uint64_t boundary = consortium_boundary(vs_height(&v));
    /* a later block, before the boundary: neither enrolled nor promised to a re-binding */
    expect_refused(tw_run(&v.t, &v.t.w.inv_a, "consent", "enrol", ARGS(tr, tw_pk(&v.fresh[1])),
                          NULL, 0), CONTRACT_E_ROLE_TAKEN);
    hash32 request = world_hash("lost key request");
    world_cosig both[] = {{&v.t.w.regulator, MEANING_APPROVAL}, {&v.fresh[2], MEANING_APPROVAL}};
    expect_refused(tw_run(&v.t, &v.t.w.inv_a, "consent", "rebind_request",
                          ARGS(tr, tw_pk(&v.t.w.participants[0]), tw_pk(&v.fresh[2]),
                               world_bytes(request.bytes, 32)), both, 2),
                   CONTRACT_E_ROLE_TAKEN);
    cr_assert_lt(vs_height(&v), boundary, "the change was still pending");
    /* as before: a key no set holds is enrolled */
    expect_ok(tw_run(&v.t, &v.t.w.inv_a, "consent", "enrol", ARGS(tr, tw_pk(&v.fresh[5])), NULL, 0));
    tw_close(&v.t);
}

/* ---- the consortium history (consortium.h), from receipts -------------------------------- */

static codec_receipt event_receipt(const char *topic, const uint8_t *data, size_t len)
{
    codec_receipt r = {.status = RECEIPT_OK, .event_count = 1};
    snprintf(r.events[0].topic.text, sizeof r.events[0].topic.text, "%s", topic);
    r.events[0].data = data;
    r.events[0].len = len;
    return r;
}

Test(valset, the_history_follows_validator_and_authority_events_by_height)
{
    vs v;
    vs_open(&v);
    const codec_genesis *g = ledger_genesis(v.t.w.l);
    consortium_history h;
    cr_assert_eq(consortium_history_init(&h, g), 0);
    char why[200];
    /* a grown set committed at 5: boundary 32 */
    codec_valset grown = vs_grown(&v);
    uint8_t ev[1200];
    codec_buf b = codec_buf_make(ev, sizeof ev);
    cr_assert_eq(codec_valset_event_encode(32, &grown, &b), CODEC_OK);
    codec_receipt r = event_receipt("governance.validators", ev, b.len);
    /* only an OK receipt of a governance tx counts: a contract's event is no change */
    cr_assert_eq(consortium_history_record(&h, 5, "consent", &r, why, sizeof why), 0);
    cr_assert_eq(h.valset_count, 1);
    r.status = RECEIPT_REFUSED;
    cr_assert_eq(consortium_history_record(&h, 5, "governance", &r, why, sizeof why), 0);
    cr_assert_eq(h.valset_count, 1);
    r.status = RECEIPT_OK;
    /* committed at 4: 4 / 16 = 0, so B = 32 as the event says */
    cr_assert_eq(consortium_history_record(&h, 4, "governance", &r, why, sizeof why), 0, "%s", why);
    consortium c;
    cr_assert_eq(consortium_at(&h, 31, &c), 0);
    cr_assert_eq(c.validator_count, 4);
    cr_assert_eq(c.quorum, 3);
    cr_assert_eq(consortium_at(&h, 32, &c), 0);
    cr_assert_eq(c.validator_count, 7);
    cr_assert_eq(c.quorum, 5);
    cr_assert_eq(c.valset_from, 32);
    /* pending until 32: another change at 20 is refused with a reason */
    codec_valset rot = grown;
    rot.validators[0] = vs_validator("validator-0", &v.fresh[5]);
    b = codec_buf_make(ev, sizeof ev);
    cr_assert_eq(codec_valset_event_encode(consortium_boundary(20), &rot, &b), CODEC_OK);
    r = event_receipt("governance.validators", ev, b.len);
    cr_assert_eq(consortium_history_record(&h, 20, "governance", &r, why, sizeof why), -1);
    cr_expect(strstr(why, "pending") != NULL, "%s", why);
    /* at 40 it is allowed, but only with its own boundary (64) */
    b = codec_buf_make(ev, sizeof ev);
    cr_assert_eq(codec_valset_event_encode(48, &rot, &b), CODEC_OK);
    r = event_receipt("governance.validators", ev, b.len);
    cr_assert_eq(consortium_history_record(&h, 40, "governance", &r, why, sizeof why), -1);
    cr_expect(strstr(why, "must be 64") != NULL, "%s", why);
    b = codec_buf_make(ev, sizeof ev);
    cr_assert_eq(codec_valset_event_encode(64, &rot, &b), CODEC_OK);
    r = event_receipt("governance.validators", ev, b.len);
    cr_assert_eq(consortium_history_record(&h, 40, "governance", &r, why, sizeof why), 0, "%s", why);
    cr_assert_eq(consortium_at(&h, 63, &c), 0);
    cr_assert_eq(memcmp(c.validators[0].key.bytes, v.t.w.validators[0].public_key.bytes, 32), 0);
    cr_assert_eq(consortium_at(&h, 64, &c), 0);
    cr_assert_eq(memcmp(c.validators[0].key.bytes, v.fresh[5].public_key.bytes, 32), 0);
    /* authorities: a rotation (revoked then added, one receipt) takes effect AT its height */
    codec_authority old = {0}, neu;
    for (uint32_t i = 0; i < g->authority_count; i++) {
        if (g->authorities[i].role == ROLE_INVESTIGATOR) old = g->authorities[i];
    }
    neu = old;
    neu.key = v.fresh[6].public_key;
    uint8_t e1[200], e2[200];
    codec_buf b1 = codec_buf_make(e1, sizeof e1), b2 = codec_buf_make(e2, sizeof e2);
    codec_authority_change c_old = {CODEC_AUTHORITY_REVOKED, old.role, old.site, old.name, old.key};
    codec_authority_change c_new = {CODEC_AUTHORITY_ADDED, neu.role, neu.site, neu.name, neu.key};
    cr_assert_eq(codec_authority_change_encode(&c_old, &b1), CODEC_OK);
    cr_assert_eq(codec_authority_change_encode(&c_new, &b2), CODEC_OK);
    codec_receipt ar = {.status = RECEIPT_OK, .event_count = 2};
    snprintf(ar.events[0].topic.text, sizeof ar.events[0].topic.text, "governance.authority");
    snprintf(ar.events[1].topic.text, sizeof ar.events[1].topic.text, "governance.authority");
    ar.events[0].data = e1, ar.events[0].len = b1.len;
    ar.events[1].data = e2, ar.events[1].len = b2.len;
    cr_assert_eq(consortium_history_record(&h, 70, "governance", &ar, why, sizeof why), 0, "%s", why);
    bool has_old = false, has_new = false;
    cr_assert_eq(consortium_at(&h, 69, &c), 0);
    cr_assert_eq(c.authority_count, g->authority_count);
    for (uint32_t i = 0; i < c.authority_count; i++) {
        has_old |= memcmp(c.authorities[i].key.bytes, old.key.bytes, 32) == 0;
    }
    cr_assert(has_old);
    cr_assert_eq(consortium_at(&h, 70, &c), 0);
    has_old = false;
    for (uint32_t i = 0; i < c.authority_count; i++) {
        has_old |= memcmp(c.authorities[i].key.bytes, old.key.bytes, 32) == 0;
        has_new |= memcmp(c.authorities[i].key.bytes, neu.key.bytes, 32) == 0
                   && strcmp(c.authorities[i].site.text, old.site.text) == 0;
    }
    cr_assert(!has_old && has_new, "at 70 the new key holds the role, the old one none");
    /* revoking it again is refused and records nothing of the receipt */
    ar.event_count = 1;
    cr_assert_eq(consortium_history_record(&h, 71, "governance", &ar, why, sizeof why), -1);
    cr_expect(strstr(why, "holds no role") != NULL, "%s", why);
    cr_assert_eq(h.auth_change_count, 2);
    /* heights never go down */
    cr_assert_eq(consortium_history_record(&h, 10, "governance", &ar, why, sizeof why), -1);
    consortium_history_free(&h);
    tw_close(&v.t);
}

/* ---- the audit follows the changes --------------------------------------------------- */

/* A result certificate of the block at height re-signed by keys (validator index i signs
 * with keys[k] for idx[k]). */
static size_t resign(ledger *l, uint64_t height, const keypair *const *keys, const uint32_t *idx,
                     uint32_t count, uint8_t *out, size_t cap)
{
    uint8_t *data;
    size_t len;
    cr_assert_eq(ledger_get_result_cert(l, height, &data, &len), LEDGER_OK);
    codec_result_cert cert;
    cr_assert_eq(codec_result_cert_decode(data, len, &cert, NULL), CODEC_OK);
    free(data);
    uint8_t body[160];
    codec_buf bb = codec_buf_make(body, sizeof body);
    codec_checkpoint_body_encode(&cert, &bb);
    for (uint32_t k = 0; k < count; k++) {
        cert.sigs[k].validator = idx[k];
        tcrypto_sign(keys[k], TCRYPTO_TAG_CHECKPOINT, ledger_chain_id(l), bb.data, bb.len,
                     &cert.sigs[k].sig);
    }
    cert.sig_count = count;
    codec_buf ob = codec_buf_make(out, cap);
    cr_assert_eq(codec_result_cert_encode(&cert, &ob), CODEC_OK);
    return ob.len;
}

typedef struct {
    audit_source inner;
    uint64_t at, height;
    codec_span cert;
} swapped_source;

static int swapped_next(void *ctx, codec_span *block, codec_span *cert, char *why, size_t cap)
{
    swapped_source *s = ctx;
    int rc = s->inner.next(s->inner.ctx, block, cert, why, cap);
    if (rc == 1 && ++s->at == s->height) *cert = s->cert;
    return rc;
}

static bool audit_with(vs *v, uint64_t height, const uint8_t *cert, size_t len,
                       audit_failure *f)
{
    audit_ledger_cursor cursor;
    swapped_source s = {.height = height, .cert = {cert, len}};
    audit_ledger_source(&cursor, v->t.w.l, &s.inner);
    audit_source src = {.next = swapped_next, .ctx = &s};
    audit_summary sum;
    bool ok = audit_run(v->t.w.genesis, v->t.w.genesis_len, &src, 2, &sum, f);
    audit_ledger_cursor_done(&cursor);
    return ok;
}

Test(valset, the_audit_checks_each_certificate_against_the_set_in_force_at_its_height)
{
    vs v;
    vs_open(&v);
    /* rotate validator-3's key to fresh 0, committed at 1: B = 32 */
    codec_valset s = vs_current(&v);
    s.validators[3] = vs_validator("validator-3", &v.fresh[0]);
    const keypair *rot[] = {&v.fresh[0]};
    world_cosig cos[CODEC_COSIGS_MAX];
    const pubkey *old_key = &v.t.w.validators[3].public_key, *new_key = &v.fresh[0].public_key;
    cr_assert(exec_ledger_read_allowed(v.t.w.e, old_key));
    cr_assert_not(exec_ledger_read_allowed(v.t.w.e, new_key));
    expect_ok(vs_change(&v, &v.t.w.sponsor, &s, cos, vs_cosigners(&v, 3, rot, 1, cos)));
    /* blocks are read by the validators in force and by those of a pending change */
    cr_assert(exec_ledger_read_allowed(v.t.w.e, old_key));
    cr_assert(exec_ledger_read_allowed(v.t.w.e, new_key), "the new validator catches up");
    vs_until(&v, 34);
    cr_assert_not(exec_ledger_read_allowed(v.t.w.e, old_key), "removed at 32");
    cr_assert(exec_ledger_read_allowed(v.t.w.e, new_key));
    audit_failure f;
    uint8_t cert[2048];
    /* the ledger as committed audits */
    cr_assert(audit_with(&v, 0, NULL, 0, &f), "%s", f.reason);
    /* below B a certificate by validators 1, 2 and the old validator-3 is good */
    const keypair *old3[] = {&v.t.w.validators[1], &v.t.w.validators[2], &v.t.w.validators[3]};
    const uint32_t idx[] = {1, 2, 3};
    size_t len = resign(v.t.w.l, 31, old3, idx, 3, cert, sizeof cert);
    cr_assert(audit_with(&v, 31, cert, len, &f), "%s", f.reason);
    /* at B the removed key signs nothing: refused, with the set named */
    len = resign(v.t.w.l, 32, old3, idx, 3, cert, sizeof cert);
    cr_assert_not(audit_with(&v, 32, cert, len, &f));
    cr_assert_eq(f.height, 32);
    cr_expect(strstr(f.reason, "result certificate signature of validator 3 is invalid under "
                               "the validator set in force from height 32") != NULL, "%s",
              f.reason);
    /* and the new key is good from B */
    const keypair *new3[] = {&v.t.w.validators[1], &v.t.w.validators[2], &v.fresh[0]};
    len = resign(v.t.w.l, 33, new3, idx, 3, cert, sizeof cert);
    cr_assert(audit_with(&v, 33, cert, len, &f), "%s", f.reason);
    /* but not before it */
    len = resign(v.t.w.l, 30, new3, idx, 3, cert, sizeof cert);
    cr_assert_not(audit_with(&v, 30, cert, len, &f));
    cr_assert_eq(f.height, 30);
    tw_close(&v.t);
}

/* ---- receipt files carry the chain of changes (FORMATS.md 6.4) ------------------------ */

static void write_file(const char *dir, const char *name, const uint8_t *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* A receipt file like `file` with its changes replaced by list (count of them). */
static size_t with_changes(const uint8_t *file, size_t len, const codec_span *list,
                           uint32_t count, uint8_t *out, size_t cap)
{
    static codec_receipt_reply rr;
    cr_assert_eq(codec_receipt_reply_decode(file, len, &rr, NULL), CODEC_OK);
    rr.changes = (codec_changes){.count = count, .list = list};
    codec_buf b = codec_buf_make(out, cap);
    cr_assert_eq(codec_receipt_reply_encode(&rr, &b), CODEC_OK);
    return b.len;
}

/* Change `reply` (a receipt reply) with its result certificate re-signed by keys/idx. */
static size_t resigned_change(vs *v, const codec_span *reply, const keypair *const *keys,
                              const uint32_t *idx, uint32_t count, uint8_t *out, size_t cap)
{
    static codec_receipt_reply rr;
    static codec_proof p;
    static uint8_t cert[2048], proof[64 * 1024];
    cr_assert_eq(codec_receipt_reply_decode(reply->data, reply->len, &rr, NULL), CODEC_OK);
    cr_assert_eq(codec_proof_decode(rr.proof.data, rr.proof.len, &p, NULL), CODEC_OK);
    size_t clen = resign(v->t.w.l, rr.height, keys, idx, count, cert, sizeof cert);
    p.block.result_cert = (codec_span){cert, clen};
    codec_buf pb = codec_buf_make(proof, sizeof proof);
    cr_assert_eq(codec_proof_encode(&p, &pb), CODEC_OK);
    rr.proof = (codec_span){proof, pb.len};
    codec_buf b = codec_buf_make(out, cap);
    cr_assert_eq(codec_receipt_reply_encode(&rr, &b), CODEC_OK);
    return b.len;
}

Test(valset, a_receipt_after_two_changes_verifies_with_the_genesis_alone, .timeout = 60)
{
    vs v;
    vs_open(&v);
    world_cosig cos[CODEC_COSIGS_MAX];
    /* change 1, at height 1: 4 -> 7 (B = 32) */
    codec_receipt r = vs_grow(&v);
    expect_ok(r);
    hash32 first_id = r.tx_id;
    vs_until(&v, 33);
    /* change 2, at height 34: validator-1 rotated to fresh 3 (B = 64) */
    codec_valset s = vs_current(&v);
    s.validators[1] = vs_validator("validator-1", &v.fresh[3]);
    const keypair *rot[] = {&v.fresh[3]};
    expect_ok(vs_change(&v, &v.t.w.sponsor, &s, cos, vs_cosigners(&v, 5, rot, 1, cos)));
    vs_until(&v, 65);
    /* a trial registered at 66, under the rotated set */
    static hash32 doc;
    doc = world_hash("doc v1");
    static const uint8_t sites[] = "\x06site-a";
    codec_value args[] = {world_text(TRIAL), world_bytes(doc.bytes, 32),
                          world_bytes(doc.bytes, 32), world_bytes(doc.bytes, 32), world_int(10),
                          world_bytes(sites, sizeof sites - 1), tw_forms()};
    static uint8_t tx[CODEC_TX_MAX];
    size_t len = world_sign(&v.t.w, &v.t.w.sponsor, WORLD_NEXT_NONCE, NULL, "protocol",
                            "register", args, 7, NULL, 0, tx, sizeof tx);
    vs_commit(&v, &(codec_span){tx, len}, 1, &r);
    expect_ok(r);
    cr_assert_eq(vs_height(&v), 66);
    /* the receipt file: two changes */
    static uint8_t file[256 * 1024], bad[256 * 1024];
    codec_buf fb = codec_buf_make(file, sizeof file);
    char why[300];
    cr_assert_eq(proof_make_receipt(v.t.w.l, exec_history(v.t.w.e), &r.tx_id, &fb, why,
                                    sizeof why), 0, "%s", why);
    static codec_receipt_reply rr;
    cr_assert_eq(codec_receipt_reply_decode(fb.data, fb.len, &rr, NULL), CODEC_OK);
    cr_assert_eq(rr.changes.count, 2);
    /* a decoded file re-encodes to its own bytes (the changes as they were read) */
    static uint8_t again[256 * 1024];
    codec_buf ab = codec_buf_make(again, sizeof again);
    cr_assert_eq(codec_receipt_reply_encode(&rr, &ab), CODEC_OK);
    cr_assert(ab.len == fb.len && memcmp(ab.data, fb.data, fb.len) == 0);
    const uint8_t *g = v.t.w.genesis;
    size_t glen = v.t.w.genesis_len;
    cr_assert(proof_verify_receipt(g, glen, fb.data, fb.len, why, sizeof why), "%s", why);
    /* a receipt from before any change carries none: the file of today, 6 fields */
    static uint8_t early[64 * 1024];
    codec_buf eb = codec_buf_make(early, sizeof early);
    cr_assert_eq(proof_make_receipt(v.t.w.l, exec_history(v.t.w.e), &first_id, &eb, why,
                                    sizeof why), 0, "%s", why);
    cr_assert_eq(early[0], 0x96, "no changes field");
    cr_assert(proof_verify_receipt(g, glen, eb.data, eb.len, why, sizeof why), "%s", why);
    /* tampered chains are refused */
    codec_span list[2];
    cr_assert_eq(codec_changes_get(&rr.changes, list, 2), CODEC_OK);
    struct {
        const char *name;
        codec_span changes[2];
        uint32_t count;
        const char *says;
    } cases[] = {
        {"drop-first", {list[1]}, 1, "change 0 (height 34)"},
        {"drop-second", {list[0]}, 1, "validator 1 is invalid"},
        {"no-changes", {{0}}, 0, "result certificate signature of validator 1 is invalid"},
        {"swapped-order", {list[1], list[0]}, 2, "change 0 (height 34)"},
    };
    const char *dir = getenv("TRIALREG_VALSET_FILES");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = with_changes(fb.data, fb.len, cases[i].changes, cases[i].count, bad,
                                sizeof bad);
        cr_expect_not(proof_verify_receipt(g, glen, bad, n, why, sizeof why), "%s",
                      cases[i].name);
        cr_expect(strstr(why, cases[i].says) != NULL, "%s: %s", cases[i].name, why);
        char name[64];
        snprintf(name, sizeof name, "bad-%s.receipt", cases[i].name);
        if (dir) write_file(dir, name, bad, n);
    }
    /* change 1's result certificate swapped for one the newest set signed (validators 0..4
     * of the rotated 7): under the genesis's 4, validator 1's key is another */
    static uint8_t change[64 * 1024];
    vs_follow(&v);
    const keypair *seven[] = {&v.t.w.validators[0], &v.fresh[3], &v.t.w.validators[2],
                              &v.t.w.validators[3], &v.fresh[0]};
    const uint32_t idx[] = {0, 1, 2, 3, 4};
    size_t clen = resigned_change(&v, &list[0], seven, idx, 5, change, sizeof change);
    codec_span swapped[2] = {{change, clen}, list[1]};
    size_t n = with_changes(fb.data, fb.len, swapped, 2, bad, sizeof bad);
    cr_expect_not(proof_verify_receipt(g, glen, bad, n, why, sizeof why));
    cr_expect(strstr(why, "change 0 (height 1): result certificate signature of validator 1 "
                          "is invalid") != NULL, "%s", why);
    /* a proof file (6.2) of the same tx carries the same changes (6.4) */
    static uint8_t proof[256 * 1024];
    codec_buf pb = codec_buf_make(proof, sizeof proof);
    cr_assert_eq(proof_make_inclusion(v.t.w.l, &r.tx_id, &pb, why, sizeof why), 0, "%s", why);
    cr_assert_not(proof_verify(g, glen, pb.data, pb.len, why, sizeof why),
                  "without its changes the proof names validators the genesis does not have");
    if (dir) write_file(dir, "bad-no-changes.proof", pb.data, pb.len);
    cr_assert_eq(proof_attach_changes(v.t.w.l, exec_history(v.t.w.e), &pb, why, sizeof why), 0,
                 "%s", why);
    cr_assert(proof_verify(g, glen, pb.data, pb.len, why, sizeof why), "%s", why);
    static codec_proof dp;
    cr_assert_eq(codec_proof_decode(pb.data, pb.len, &dp, NULL), CODEC_OK);
    cr_assert_eq(dp.changes.count, 2);
    ab = codec_buf_make(again, sizeof again);
    cr_assert_eq(codec_proof_encode(&dp, &ab), CODEC_OK);
    cr_assert(ab.len == pb.len && memcmp(ab.data, pb.data, pb.len) == 0);
    if (dir) write_file(dir, "after-two-changes.proof", pb.data, pb.len);
    if (dir) {
        write_file(dir, "bad-swapped-cert.receipt", bad, n);
        write_file(dir, "genesis.bin", g, glen);
        write_file(dir, "after-two-changes.receipt", fb.data, fb.len);
        write_file(dir, "before-changes.receipt", eb.data, eb.len);
        char path[512], ewhy[200];
        snprintf(path, sizeof path, "%s/ledger.export", dir);
        FILE *ef = fopen(path, "wb");
        cr_assert_not_null(ef);
        cr_assert_eq(audit_export(v.t.w.l, ef, ewhy, sizeof ewhy), 0, "%s", ewhy);
        fclose(ef);
    }
    tw_close(&v.t);
}

/* A contract cannot fake a governance change: an event whose topic starts with
 * "governance." traps the call (BAD_EVENTS), and the verifiers would not count it anyway
 * (only the governance contract's OK receipts count: the history test above). */
static const char FAKER[] =
    ".bytes TOPIC \"governance.validators\"\n"
    ".bytes DATA \"x\"\n"
    ".func fake 0 3 export\n    loads r0, TOPIC\n    loads r1, DATA\n    host r2, emit, r0\n"
    "    loadi r2, 1\n    ret r2\n";

Test(valset, a_contract_cannot_emit_a_governance_event)
{
    vs v;
    vs_open(&v);
    uint8_t *module = NULL;
    size_t len = 0;
    cvm_error ce;
    cr_assert_eq(cvm_assemble(FAKER, sizeof FAKER - 1, &module, &len, &ce), CVM_OK, "%s", ce.message);
    world_cosig reg = {&v.t.w.regulator, MEANING_APPROVAL};
    expect_ok(tw_run(&v.t, &v.t.w.sponsor, "governance", "deploy",
                     ARGS(world_text("faker"), world_int(1), world_bytes(module, (uint32_t)len)),
                     &reg, 1));
    expect_status(tw_run(&v.t, &v.t.w.sponsor, "faker", "fake", NULL, 0, NULL, 0), RECEIPT_TRAPPED,
                  EXEC_E_BAD_EVENTS);
    free(module);
    tw_close(&v.t);
}

/* Review R3: a genesis may list one key both as an authority and as a validator. Such a key
 * must not count twice, once for the genesis's kind-2 requirement and once among the 2f+1
 * validator approvals, or three authority keys that also hold seats would replace the
 * validators alone. Genesis: validators 1, 2, 3 are the regulator's, inv_a's and the
 * researcher's keys. */
static void authorities_hold_seats(codec_genesis *g, void *ctx)
{
    world *w = ctx;
    const keypair *dual[3] = {&w->regulator, &w->inv_a, &w->researcher};
    for (uint32_t i = 1; i < 4; i++) {
        w->validators[i] = *dual[i - 1];
        g->validators[i].key = dual[i - 1]->public_key;
    }
}

Test(valset, a_key_that_is_authority_and_validator_does_not_count_as_a_validator_approval)
{
    vs v;
    memset(&v, 0, sizeof v);
    snprintf(v.t.dir, sizeof v.t.dir, "/tmp/trialreg-valset-XXXXXX");
    cr_assert_not_null(mkdtemp(v.t.dir));
    cr_assert_eq(world_init_edit(&v.t.w, "trialreg-test-valset-dual", authorities_hold_seats,
                                 &v.t.w), 0);
    cr_assert_eq(world_open(&v.t.w, v.t.dir, true), 0);
    hash32 seed;
    tcrypto_sha256("test-valset/dual", 16, &seed);
    tcrypto_keypair_from_seed(seed.bytes, &v.fresh[0]);
    for (uint32_t i = 0; i < 4; i++) v.in_force[i] = v.t.w.validators[i];
    v.n = 4;
    /* replace validator 0 (the one pure validator) by a fresh key: the sponsor signs, and
     * the regulator, inv_a and the researcher approve, each also a validator */
    codec_valset s = vs_current(&v);
    s.validators[0] = vs_validator("validator-0", &v.fresh[0]);
    world_cosig cos[] = {{&v.t.w.regulator, MEANING_APPROVAL},
                         {&v.t.w.inv_a, MEANING_APPROVAL},
                         {&v.t.w.researcher, MEANING_APPROVAL},
                         {&v.fresh[0], MEANING_AUTHOR}};
    codec_receipt r = vs_change(&v, &v.t.w.sponsor, &s, cos, 4);
    expect_invalid(r, EXEC_E_VALSET_APPROVAL);
    expect_reason_has(r, "0 of the 4 current validators approved");
    cr_expect(!state_has(&v, "sys/valset/pending"), "nothing applied");
    tw_close(&v.t);
}
