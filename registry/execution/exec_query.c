/*
 * exec_query.c - the executor's local mode (commit without consensus) and its queries
 * (state at the last committed block; see executor.h).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "executor.h"
#include "merkle.h"

/* ---- local mode ---------------------------------------------------------------------- */

static uint32_t quorum_of(uint32_t n) { return 2 * ((n - 1) / 3) + 1; }

static void sign_commit(const keypair *validators, uint32_t n, const hash32 *chain_id,
                        const codec_batch_header *batch, codec_commit_cert *cert)
{
    uint8_t body[96];
    codec_buf b = codec_buf_make(body, sizeof body);
    memset(cert, 0, sizeof *cert);
    cert->height = batch->height;
    codec_batch_hash(batch, &cert->batch_hash);
    codec_commit_body_encode(cert->height, cert->view, &cert->batch_hash, &b);
    uint32_t q = quorum_of(n);
    for (uint32_t v = 0; v < q; v++) {
        cert->sigs[v].validator = v;
        tcrypto_sign(&validators[v], TCRYPTO_TAG_COMMIT, chain_id, b.data, b.len,
                     &cert->sigs[v].sig);
    }
    cert->sig_count = q;
}

static int certify(ledger *l, const keypair *validators, uint32_t n, const ledger_summary *s)
{
    codec_result_cert cert = {.height = s->height, .block_hash = s->block_hash,
                              .state_hash = s->state_hash, .receipts_root = s->receipts_root};
    uint8_t body[160];
    uint8_t out[80 * CODEC_VALIDATORS_MAX + 256];
    codec_buf bb = codec_buf_make(body, sizeof body);
    codec_checkpoint_body_encode(&cert, &bb);
    uint32_t q = quorum_of(n);
    for (uint32_t k = 0; k < q; k++) {
        cert.sigs[k].validator = k;
        tcrypto_sign(&validators[k], TCRYPTO_TAG_CHECKPOINT, ledger_chain_id(l), bb.data, bb.len,
                     &cert.sigs[k].sig);
    }
    cert.sig_count = q;
    codec_buf ob = codec_buf_make(out, sizeof out);
    if (codec_result_cert_encode(&cert, &ob) != CODEC_OK) return -1;
    ledger_error err;
    return ledger_put_result_cert(l, s->height, ob.data, ob.len, &err) == LEDGER_OK ? 0 : -1;
}

/* Whether validators are the keys of the set in force at height, in its order (else err). */
static bool keys_in_force(exec *e, const keypair *validators, uint32_t validator_count,
                          uint64_t height, exec_error *err)
{
    const codec_validator *set;
    uint32_t n = exec_validators_at(e, height, &set);
    bool same = validator_count == n;
    for (uint32_t i = 0; same && i < n; i++) {
        same = memcmp(validators[i].public_key.bytes, set[i].key.bytes, 32) == 0;
    }
    if (!same && err) {
        err->code = EXEC_ERR_INVALID;
        snprintf(err->message, sizeof err->message,
                 "need the %u validator keys in force at height %" PRIu64 ", in their order", n,
                 height);
    }
    return same;
}

exec_err exec_commit_local_uncertified(exec *e, const keypair *validators,
                                       uint32_t validator_count, uint64_t time_ms,
                                       const codec_span *txs, uint32_t tx_count,
                                       ledger_summary *out, exec_error *err)
{
    ledger *l = exec_ledger(e);
    ledger_summary head;
    ledger_head(l, &head);
    if (tx_count > CODEC_BLOCK_TXS_MAX) {
        if (err) {
            err->code = EXEC_ERR_INVALID;
            snprintf(err->message, sizeof err->message, "at most %u txs", CODEC_BLOCK_TXS_MAX);
        }
        return EXEC_ERR_INVALID;
    }
    if (!keys_in_force(e, validators, validator_count, head.height + 1, err)) {
        return EXEC_ERR_INVALID;
    }
    codec_batch_header batch = {.height = head.height + 1, .time_ms = time_ms,
                                .tx_count = tx_count};
    hash32 *leaves = malloc((tx_count + 1) * sizeof *leaves);
    if (!leaves) return EXEC_ERR_NOMEM;
    for (uint32_t i = 0; i < tx_count; i++) codec_entry_leaf(&txs[i], &leaves[i]);
    merkle_root_of_leaves(leaves, tx_count, &batch.tx_root);
    free(leaves);
    codec_commit_cert cert;
    sign_commit(validators, validator_count, ledger_chain_id(l), &batch, &cert);
    uint8_t cert_buf[80 * CODEC_VALIDATORS_MAX + 256];
    codec_buf cb = codec_buf_make(cert_buf, sizeof cert_buf);
    if (codec_commit_cert_encode(&cert, &cb) != CODEC_OK) return EXEC_ERR_INVALID;
    codec_span cert_span = {cb.data, cb.len};
    return exec_block(e, &batch, txs, &cert_span, out, err);
}

exec_err exec_certify_local(exec *e, const keypair *validators, uint32_t validator_count,
                            const ledger_summary *block, exec_error *err)
{
    if (!keys_in_force(e, validators, validator_count, block->height, err)) {
        return EXEC_ERR_INVALID;
    }
    if (certify(exec_ledger(e), validators, validator_count, block) != 0) {
        if (err) {
            err->code = EXEC_ERR_LEDGER;
            snprintf(err->message, sizeof err->message,
                     "storing the result certificate of height %" PRIu64 " failed", block->height);
        }
        return EXEC_ERR_LEDGER;
    }
    return EXEC_OK;
}

exec_err exec_commit_local(exec *e, const keypair *validators, uint32_t validator_count,
                           uint64_t time_ms, const codec_span *txs, uint32_t tx_count,
                           ledger_summary *out, exec_error *err)
{
    exec_err rc = exec_commit_local_uncertified(e, validators, validator_count, time_ms, txs,
                                                tx_count, out, err);
    return rc != EXEC_OK ? rc : exec_certify_local(e, validators, validator_count, out, err);
}

/* ---- queries ------------------------------------------------------------------------- */

static uint64_t load64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

/* prefix .. lp(trial) .. extra into key; returns its length or 0 if too long. */
static size_t trial_key(uint8_t *key, const char *prefix, const uint8_t *trial, size_t trial_len,
                        const void *extra, size_t extra_len)
{
    size_t plen = strlen(prefix);
    if (trial_len < 1 || trial_len > 32 || plen + 1 + trial_len + extra_len > CODEC_KEY_MAX) {
        return 0;
    }
    memcpy(key, prefix, plen);
    key[plen] = (uint8_t)trial_len;
    memcpy(key + plen + 1, trial, trial_len);
    if (extra_len) memcpy(key + plen + 1 + trial_len, extra, extra_len);
    return plen + 1 + trial_len + extra_len;
}

static ledger_err get_exact(ledger *l, const uint8_t *key, size_t key_len, uint8_t **v,
                            size_t *len, size_t min_len)
{
    if (key_len == 0) return LEDGER_ERR_NOT_FOUND;
    ledger_err rc = ledger_state_get(l, key, key_len, v, len);
    if (rc == LEDGER_OK && *len < min_len) {
        free(*v);
        return LEDGER_ERR_CORRUPT;
    }
    return rc;
}

ledger_err exec_query_trial(exec *e, const uint8_t *trial, size_t trial_len, exec_trial *out)
{
    uint8_t key[CODEC_KEY_MAX], *v;
    size_t len;
    size_t klen = trial_key(key, "protocol/t/", trial, trial_len, NULL, 0);
    ledger_err rc = get_exact(exec_ledger(e), key, klen, &v, &len, 80);
    if (rc != LEDGER_OK) return rc;
    out->version = load64(v);
    out->approved = load64(v + 8);
    out->floor_version = load64(v + 16);
    out->floor_time_ms = load64(v + 24);
    out->planned = load64(v + 32);
    out->registered_ms = load64(v + 40);
    memcpy(out->sponsor.bytes, v + 48, 32);
    free(v);
    return LEDGER_OK;
}

ledger_err exec_query_protocol_version(exec *e, const uint8_t *trial, size_t trial_len,
                                       uint64_t version, exec_protocol_version *out)
{
    uint8_t key[CODEC_KEY_MAX], ver[8], *v;
    size_t len;
    for (int i = 0; i < 8; i++) ver[i] = (uint8_t)(version >> (56 - 8 * i));
    size_t klen = trial_key(key, "protocol/v/", trial, trial_len, ver, 8);
    ledger_err rc = get_exact(exec_ledger(e), key, klen, &v, &len, 56);
    if (rc != LEDGER_OK) return rc;
    memcpy(out->doc.bytes, v, 32);
    out->reconsent_required = load64(v + 32) != 0;
    out->approved_ms = load64(v + 40);
    out->created_ms = load64(v + 48);
    free(v);
    klen = trial_key(key, "protocol/o/", trial, trial_len, ver, 8);
    rc = get_exact(exec_ledger(e), key, klen, &v, &len, 8);
    if (rc != LEDGER_OK) return rc;
    out->primary_count = (uint32_t)load64(v);
    out->secondary_count = (uint32_t)((len - 8) / 32 - out->primary_count);
    free(v);
    return LEDGER_OK;
}

ledger_err exec_query_consent_page(exec *e, const uint8_t *trial, size_t trial_len,
                                   const pubkey *participant, uint64_t from,
                                   exec_consent_entry *out, uint32_t cap, uint32_t *count,
                                   uint64_t *total)
{
    uint8_t key[CODEC_KEY_MAX], extra[40], *v;
    size_t len;
    *count = 0;
    *total = 0;
    memcpy(extra, participant->bytes, 32);
    size_t klen = trial_key(key, "consent/s/", trial, trial_len, extra, 32);
    ledger_err rc = get_exact(exec_ledger(e), key, klen, &v, &len, 32);
    if (rc != LEDGER_OK) return rc;
    uint64_t n = load64(v + 24);
    free(v);
    *total = n;
    if (from > n) return LEDGER_ERR_NOT_FOUND;
    for (uint64_t i = from; i < n && *count < cap; i++) {
        for (int b = 0; b < 8; b++) extra[32 + b] = (uint8_t)(i >> (56 - 8 * b));
        klen = trial_key(key, "consent/h/", trial, trial_len, extra, 40);
        rc = get_exact(exec_ledger(e), key, klen, &v, &len, 104);
        if (rc != LEDGER_OK) return rc;
        exec_consent_entry *c = &out[(*count)++];
        c->kind = (uint8_t)load64(v);
        c->time_ms = load64(v + 8);
        c->scopes = load64(v + 16);
        c->version = load64(v + 24);
        memcpy(c->form.bytes, v + 32, 32);
        memcpy(c->witness.bytes, v + 64, 32);
        c->meaning = (uint8_t)load64(v + 96);
        c->flags = 0;
        memset(c->other.bytes, 0, 32);
        if (len >= 104 + 8 + 32) { /* the tail of kinds 3-5 and of grants after a re-binding */
            c->flags = (uint8_t)load64(v + 104);
            memcpy(c->other.bytes, v + 112, 32);
        }
        free(v);
    }
    return LEDGER_OK;
}

ledger_err exec_query_consent_history(exec *e, const uint8_t *trial, size_t trial_len,
                                      const pubkey *participant, exec_consent_entry *out,
                                      uint32_t cap, uint32_t *count)
{
    uint64_t total;
    uint32_t copied;
    ledger_err rc = exec_query_consent_page(e, trial, trial_len, participant, 0, out, cap,
                                            &copied, &total);
    *count = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
    return rc;
}

#define CONSENT_AT_PAGE 256

/* Pages backwards from the newest entry: the whole history is looked at, however long. */
ledger_err exec_query_consent_at(exec *e, const uint8_t *trial, size_t trial_len,
                                 const pubkey *participant, uint64_t t_ms, uint64_t *scopes,
                                 uint64_t *version)
{
    exec_consent_entry *h = malloc(CONSENT_AT_PAGE * sizeof *h);
    if (!h) return LEDGER_ERR_NOMEM;
    *scopes = 0;
    *version = 0;
    uint64_t total = 0, end;
    uint32_t n = 0;
    ledger_err rc = exec_query_consent_page(e, trial, trial_len, participant, 0, h, 0, &n,
                                            &total); /* the length of the history */
    for (end = total; rc == LEDGER_OK && end > 0;) {
        uint64_t from = end > CONSENT_AT_PAGE ? end - CONSENT_AT_PAGE : 0;
        rc = exec_query_consent_page(e, trial, trial_len, participant, from, h,
                                     (uint32_t)(end - from), &n, &total);
        for (uint32_t i = n; rc == LEDGER_OK && i-- > 0;) {
            if (h[i].time_ms <= t_ms) {
                *scopes = h[i].scopes;
                *version = h[i].version;
                end = 0;
                break;
            }
        }
        if (end) end = from;
    }
    free(h);
    return rc;
}

/* ---- who may read ----------------------------------------------------------------- */

/* key as an authority NOW (exec_authority_of, the one lookup): *out and out, or NULL for a
 * key that is no authority or was revoked (a revoked key reads nothing). */
static const exec_authority *authority_of(exec *e, const pubkey *key, exec_authority *out)
{
    return exec_authority_of(e, key, out) == EXEC_AUTH_ACTIVE ? out : NULL;
}

/* key as an authority at any time (active, or revoked since): what it signed when it was
 * one is an authority's act. *out and out, or NULL. */
static const exec_authority *authority_ever(exec *e, const pubkey *key, exec_authority *out)
{
    int st = exec_authority_of(e, key, out);
    return st == EXEC_AUTH_ACTIVE || st == EXEC_AUTH_REVOKED ? out : NULL;
}

/* True if asker is the trial's sponsor: the key that registered it, or the key governance
 * rotations made of it (exec_successor_of). */
static bool trial_sponsor(exec *e, const exec_trial *t, const pubkey *asker)
{
    pubkey now;
    if (memcmp(t->sponsor.bytes, asker->bytes, 32) == 0) return true;
    return exec_successor_of(e, &t->sponsor, &now) && memcmp(now.bytes, asker->bytes, 32) == 0;
}

/* True if state key exists (at the last committed block). */
static bool state_has(exec *e, const uint8_t *key, size_t key_len, uint8_t **value, size_t *len)
{
    if (key_len == 0) return false;
    return ledger_state_get(exec_ledger(e), key, key_len, value, len) == LEDGER_OK;
}

/* True if key is the participant enrolled in trial now: consent/pk/<key> = lp(trial). A key
 * re-bound away (issue 23 item 2) keeps its consent/e/ enrolment record as history but no
 * longer this one, so it reads nothing as a participant. */
static bool participant_in(exec *e, const pubkey *key, const uint8_t *trial, size_t trial_len)
{
    uint8_t k[sizeof "consent/pk/" - 1 + 32], *v = NULL;
    size_t len = 0;
    memcpy(k, "consent/pk/", sizeof k - 32);
    memcpy(k + sizeof k - 32, key->bytes, 32);
    if (!state_has(e, k, sizeof k, &v, &len)) return false;
    bool same = trial && len == 1 + trial_len && v[0] == trial_len
                && memcmp(v + 1, trial, trial_len) == 0;
    free(v);
    return same;
}

bool exec_key_known(exec *e, const pubkey *key)
{
    exec_authority auth;
    if (authority_of(e, key, &auth)) return true;
    uint8_t k[sizeof "consent/pk/" - 1 + 32], *v = NULL;
    size_t len = 0;
    memcpy(k, "consent/pk/", sizeof k - 32);
    memcpy(k + sizeof k - 32, key->bytes, 32);
    bool enrolled = state_has(e, k, sizeof k, &v, &len); /* enrolled in a trial, now */
    free(v);
    return enrolled;
}

bool exec_read_allowed(exec *e, const pubkey *asker, exec_read_kind kind, const uint8_t *trial,
                       size_t trial_len, const pubkey *participant)
{
    exec_trial t;
    if (exec_query_trial(e, trial, trial_len, &t) != LEDGER_OK) return false;
    exec_authority auth;
    const exec_authority *a = authority_of(e, asker, &auth);
    if (kind == EXEC_READ_GRANT) return a && a->role == ROLE_RESEARCHER;
    if (kind == EXEC_READ_READ_LOG) return a && a->role == ROLE_REGULATOR;
    if (a && a->role == ROLE_REGULATOR) return true;
    if (a && a->role == ROLE_SPONSOR) return trial_sponsor(e, &t, asker);
    uint8_t key[CODEC_KEY_MAX], *v = NULL;
    size_t len = 0;
    if (kind == EXEC_READ_CONSENT) {
        if (!participant) return false;
        if (memcmp(participant->bytes, asker->bytes, 32) == 0)
            return participant_in(e, asker, trial, trial_len);
        if (!a || a->role != ROLE_INVESTIGATOR) return false;
        size_t klen = trial_key(key, "consent/e/", trial, trial_len, participant->bytes, 32);
        if (!state_has(e, key, klen, &v, &len)) return false;
        bool same = len == strlen(a->site.text) && memcmp(v, a->site.text, len) == 0;
        free(v);
        return same;
    }
    if (kind == EXEC_READ_TIMELINE && !a)
        return participant_in(e, asker, trial, trial_len); /* its view is filtered */
    if (!a || a->role != ROLE_INVESTIGATOR) return false;
    size_t klen = trial_key(key, "protocol/s/", trial, trial_len, a->site.text, strlen(a->site.text));
    bool listed = state_has(e, key, klen, &v, &len);
    free(v);
    return listed;
}

/* ---- what a reader sees (issue 19 items 4, 5) ---------------------------------------- */

/* True if every key of tx (signer and co-signers) is or was an authority. */
static bool signed_by_authorities(exec *e, const codec_tx *tx)
{
    exec_authority auth;
    if (!authority_ever(e, &tx->signer, &auth)) return false;
    for (uint32_t k = 0; k < tx->cosig_count; k++)
        if (!authority_ever(e, &tx->cosigs[k].key, &auth)) return false;
    return true;
}

static bool protocol_contract(const codec_tx *tx)
{
    return strcmp(tx->contract.text, "protocol") == 0 || strcmp(tx->contract.text, "outcomes") == 0;
}

bool exec_tx_protocol_level(exec *e, const codec_tx *tx)
{
    return protocol_contract(tx) && signed_by_authorities(e, tx);
}

static bool is_method(const codec_tx *tx, const char *contract, const char *method)
{
    return strcmp(tx->contract.text, contract) == 0 && strcmp(tx->method.text, method) == 0;
}

bool exec_tx_authority_change(const codec_tx *tx) { return is_method(tx, "governance", "authority"); }

/* True for a participant-level tx; *participant is the one it concerns (NULL if its
 * arguments name none that fits). A protocol-contract tx that a key other than a genesis
 * authority signed or co-signed (a refused attempt: only authorities may act there) is
 * about that key, so its pseudonym is never shown as protocol-level. */
static bool participant_level(exec *e, const codec_tx *tx, const pubkey **participant)
{
    *participant = NULL;
    if (protocol_contract(tx)) {
        exec_authority auth;
        if (!authority_ever(e, &tx->signer, &auth)) *participant = &tx->signer;
        for (uint32_t k = 0; !*participant && k < tx->cosig_count; k++)
            if (!authority_ever(e, &tx->cosigs[k].key, &auth)) *participant = &tx->cosigs[k].key;
        return *participant != NULL;
    }
    if (is_method(tx, "consent", "grant") || is_method(tx, "consent", "withdraw")
        || is_method(tx, "consent", "rebind_veto")) {
        *participant = &tx->signer;
        return true;
    }
    if (is_method(tx, "consent", "enrol") || is_method(tx, "data", "anchor")
        || is_method(tx, "consent", "site_withdraw") || is_method(tx, "consent", "rebind_request")
        || is_method(tx, "consent", "rebind_complete")) {
        if (tx->arg_count > 1 && tx->args[1].kind == CODEC_VALUE_BYTES && tx->args[1].len == 32)
            *participant = (const pubkey *)(const void *)tx->args[1].bytes;
        return true;
    }
    return false;
}

/* True for a re-binding tx (consent.rebind_request, rebind_complete) whose new key (argument
 * 3) is key: it is about the new key as well as the old one. */
static bool names_new_key(const codec_tx *tx, const pubkey *key)
{
    return (is_method(tx, "consent", "rebind_request") || is_method(tx, "consent", "rebind_complete"))
           && tx->arg_count > 2 && tx->args[2].kind == CODEC_VALUE_BYTES && tx->args[2].len == 32
           && memcmp(tx->args[2].bytes, key->bytes, 32) == 0;
}

/* True if key is (or was, when it signed) an investigator of site. */
static bool investigator_of(exec *e, const pubkey *key, const char *site)
{
    exec_authority auth;
    const exec_authority *a = authority_ever(e, key, &auth);
    return a && a->role == ROLE_INVESTIGATOR && strcmp(a->site.text, site) == 0;
}

void exec_viewer_of(exec *e, const pubkey *asker, const uint8_t *trial, size_t trial_len,
                    exec_viewer *out)
{
    memset(out, 0, sizeof *out);
    if (!asker) {
        out->kind = EXEC_VIEW_PUBLIC;
        return;
    }
    exec_trial t;
    if (exec_query_trial(e, trial, trial_len, &t) != LEDGER_OK) return; /* NONE */
    exec_authority auth;
    const exec_authority *a = authority_of(e, asker, &auth);
    if (a && (a->role == ROLE_REGULATOR
              || (a->role == ROLE_SPONSOR && trial_sponsor(e, &t, asker)))) {
        out->kind = EXEC_VIEW_ALL;
        return;
    }
    uint8_t key[CODEC_KEY_MAX], *v = NULL;
    size_t len = 0, klen;
    if (a && a->role == ROLE_INVESTIGATOR) {
        klen = trial_key(key, "protocol/s/", trial, trial_len, a->site.text, strlen(a->site.text));
        if (state_has(e, key, klen, &v, &len)) {
            out->kind = EXEC_VIEW_SITE;
            snprintf(out->site, sizeof out->site, "%s", a->site.text);
        }
        free(v);
        return;
    }
    if (a || authority_ever(e, asker, &auth)) return; /* researchers, auditors, revoked: NONE */
    if (participant_in(e, asker, trial, trial_len)) {
        out->kind = EXEC_VIEW_PARTICIPANT;
        out->key = *asker;
    }
}

/* SITE: a participant-level tx of the site's participant, or one its investigators signed. */
static bool site_sees(exec *e, const exec_viewer *v, const uint8_t *trial, size_t trial_len,
                      const codec_tx *tx, const pubkey *participant)
{
    if (investigator_of(e, &tx->signer, v->site)) return true;
    for (uint32_t k = 0; k < tx->cosig_count; k++)
        if (investigator_of(e, &tx->cosigs[k].key, v->site)) return true;
    if (!participant) return false;
    uint8_t key[CODEC_KEY_MAX], *site = NULL;
    size_t len = 0, klen = trial_key(key, "consent/e/", trial, trial_len, participant->bytes, 32);
    if (!state_has(e, key, klen, &site, &len)) return false;
    bool same = len == strlen(v->site) && memcmp(site, v->site, len) == 0;
    free(site);
    return same;
}

bool exec_tx_visible(exec *e, const exec_viewer *v, const uint8_t *trial, size_t trial_len,
                     const codec_tx *tx, const codec_receipt *r)
{
    const pubkey *p = NULL;
    if (exec_tx_authority_change(tx)) /* a consortium fact: everyone with a role in the trial */
        return v->kind == EXEC_VIEW_ALL
               || ((v->kind == EXEC_VIEW_SITE || v->kind == EXEC_VIEW_PARTICIPANT) && r
                   && r->status == RECEIPT_OK);
    bool protocol = exec_tx_protocol_level(e, tx);
    switch (v->kind) {
    case EXEC_VIEW_ALL: return true;
    case EXEC_VIEW_PUBLIC: return protocol && r && r->status == RECEIPT_OK;
    case EXEC_VIEW_SITE:
        return protocol || (participant_level(e, tx, &p) && site_sees(e, v, trial, trial_len, tx, p));
    case EXEC_VIEW_PARTICIPANT:
        return protocol
               || (participant_level(e, tx, &p)
                   && ((p && memcmp(p->bytes, v->key.bytes, 32) == 0)
                       || memcmp(tx->signer.bytes, v->key.bytes, 32) == 0
                       || names_new_key(tx, &v->key)));
    case EXEC_VIEW_NONE: return false;
    }
    return false;
}

uint64_t exec_enrolled(exec *e, const uint8_t *trial, size_t trial_len)
{
    uint8_t key[CODEC_KEY_MAX], *v = NULL;
    size_t len = 0, klen = trial_key(key, "consent/n/", trial, trial_len, NULL, 0);
    if (get_exact(exec_ledger(e), key, klen, &v, &len, 8) != LEDGER_OK) return 0;
    uint64_t n = load64(v);
    free(v);
    return n;
}

/* ---- reads through an access grant ---------------------------------------------------- */

ledger_err exec_grant_info_get(exec *e, const uint8_t *trial, size_t trial_len, uint64_t grant,
                               exec_grant_info *out)
{
    uint8_t key[CODEC_KEY_MAX], n[8], *v = NULL;
    size_t len = 0;
    for (int i = 0; i < 8; i++) n[i] = (uint8_t)(grant >> (56 - 8 * i));
    size_t klen = trial_key(key, "access/g/", trial, trial_len, n, 8);
    ledger_err rc = get_exact(exec_ledger(e), key, klen, &v, &len, 32 + 8 + 8 + 32 + 8);
    if (rc != LEDGER_OK) return rc;
    memcpy(out->researcher.bytes, v, 32);
    out->scope = load64(v + 32);
    out->time_ms = load64(v + 40);
    memcpy(out->list_hash.bytes, v + 48, 32);
    out->count = load64(v + 80);
    free(v);
    return LEDGER_OK;
}

/* The removal verdict for participant's records of scope, at the last committed block:
 * 0 (still eligible), CODEC_GRANT_WITHDRAWN or CODEC_GRANT_RECONSENT. */
static ledger_err consent_now(exec *e, const uint8_t *trial, size_t trial_len,
                              const pubkey *participant, uint64_t scope, uint8_t *verdict)
{
    uint8_t key[CODEC_KEY_MAX], *v = NULL;
    size_t len = 0;
    size_t klen = trial_key(key, "consent/s/", trial, trial_len, participant->bytes, 32);
    ledger_err rc = get_exact(exec_ledger(e), key, klen, &v, &len, 32);
    *verdict = CODEC_GRANT_WITHDRAWN;
    if (rc == LEDGER_ERR_NOT_FOUND) return LEDGER_OK;
    if (rc != LEDGER_OK) return rc;
    uint64_t scopes = load64(v), version = load64(v + 8);
    free(v);
    if ((scopes & scope) == 0) return LEDGER_OK;
    *verdict = 0;
    klen = trial_key(key, "protocol/r/", trial, trial_len, NULL, 0);
    rc = ledger_state_get(exec_ledger(e), key, klen, &v, &len);
    if (rc == LEDGER_ERR_NOT_FOUND) return LEDGER_OK;
    if (rc != LEDGER_OK) return rc;
    for (size_t at = 0; at + 16 <= len; at += 16)
        if (load64(v + at) > version) *verdict = CODEC_GRANT_RECONSENT; /* approved above it */
    free(v);
    return LEDGER_OK;
}

/* Chunk c of grant's list (access/l/), malloc'd. */
static ledger_err grant_chunk(exec *e, const uint8_t *trial, size_t trial_len, uint64_t grant,
                              uint64_t c, uint8_t **v, size_t *len)
{
    uint8_t key[CODEC_KEY_MAX], extra[16];
    for (int i = 0; i < 8; i++) {
        extra[i] = (uint8_t)(grant >> (56 - 8 * i));
        extra[8 + i] = (uint8_t)(c >> (56 - 8 * i));
    }
    size_t klen = trial_key(key, "access/l/", trial, trial_len, extra, 16);
    ledger_err rc = get_exact(exec_ledger(e), key, klen, v, len, 32);
    if (rc == LEDGER_OK && *len % 32 != 0) {
        free(*v);
        return LEDGER_ERR_CORRUPT;
    }
    return rc;
}

/* One record of the list: data/h/ lp(T) hash -> participant:32 scope:8 collected_at:8 size:8 */
static ledger_err grant_item(exec *e, const uint8_t *trial, size_t trial_len,
                             const uint8_t *hash, exec_grant_item *it)
{
    uint8_t key[CODEC_KEY_MAX], *v = NULL;
    size_t len = 0, klen = trial_key(key, "data/h/", trial, trial_len, hash, 32);
    ledger_err rc = get_exact(exec_ledger(e), key, klen, &v, &len, 32 + 24);
    if (rc == LEDGER_ERR_NOT_FOUND) return LEDGER_ERR_CORRUPT; /* a granted record is anchored */
    if (rc != LEDGER_OK) return rc;
    memcpy(it->anchor.bytes, hash, 32);
    memcpy(it->participant.bytes, v, 32);
    it->scope = load64(v + 32);
    it->collected_at = load64(v + 40);
    it->size = load64(v + 48);
    free(v);
    return LEDGER_OK;
}

ledger_err exec_grant_page(exec *e, const uint8_t *trial, size_t trial_len, uint64_t grant,
                           uint64_t from, exec_grant_info *info, exec_grant_item *items,
                           uint32_t cap, uint32_t *count)
{
    *count = 0;
    ledger_err rc = exec_grant_info_get(e, trial, trial_len, grant, info);
    if (rc != LEDGER_OK) return rc;
    if (from > info->count) return LEDGER_ERR_NOT_FOUND;
    uint8_t *chunk = NULL, verdict = 0;
    size_t chunk_len = 0;
    uint64_t chunk_at = UINT64_MAX;
    pubkey last;
    bool have_last = false;
    for (uint64_t i = from; rc == LEDGER_OK && i < info->count && *count < cap; i++) {
        if (i / 64 != chunk_at) {
            free(chunk);
            chunk = NULL;
            chunk_at = i / 64;
            rc = grant_chunk(e, trial, trial_len, grant, chunk_at, &chunk, &chunk_len);
            if (rc == LEDGER_ERR_NOT_FOUND) rc = LEDGER_ERR_CORRUPT;
            if (rc != LEDGER_OK) break;
        }
        if ((i % 64) * 32 + 32 > chunk_len) {
            rc = LEDGER_ERR_CORRUPT;
            break;
        }
        exec_grant_item *it = &items[*count];
        rc = grant_item(e, trial, trial_len, chunk + (i % 64) * 32, it);
        if (rc != LEDGER_OK) break;
        if (!have_last || memcmp(last.bytes, it->participant.bytes, 32) != 0) {
            rc = consent_now(e, trial, trial_len, &it->participant, info->scope, &verdict);
            last = it->participant;
            have_last = true;
        }
        it->removed = verdict;
        (*count)++;
    }
    free(chunk);
    return rc;
}

bool exec_ledger_read_allowed(exec *e, const pubkey *asker)
{
    /* a validator of the set in force at the next height, or of a pending change's set
     * (a validator being added catches up before its boundary) */
    ledger_summary head;
    ledger_head(exec_ledger(e), &head);
    const uint64_t heights[] = {head.height + 1, UINT64_MAX};
    for (uint32_t h = 0; h < 2; h++) {
        const codec_validator *set;
        uint32_t n = exec_validators_at(e, heights[h], &set);
        for (uint32_t i = 0; i < n; i++) {
            if (memcmp(set[i].key.bytes, asker->bytes, 32) == 0) return true;
        }
    }
    exec_authority auth;
    const exec_authority *a = authority_of(e, asker, &auth);
    return a && (a->role == ROLE_REGULATOR || a->role == ROLE_AUDITOR);
}

/* Whether asker is an investigator of the site that enrolled participant in trial. */
static bool investigator_of_participant(exec *e, const exec_authority *a, const uint8_t *trial,
                            size_t trial_len, const uint8_t participant[32])
{
    if (!a || a->role != ROLE_INVESTIGATOR) return false;
    uint8_t key[CODEC_KEY_MAX], *v = NULL;
    size_t len = 0;
    size_t klen = trial_key(key, "consent/e/", trial, trial_len, participant, 32);
    if (!state_has(e, key, klen, &v, &len)) return false;
    bool same = len == strlen(a->site.text) && memcmp(v, a->site.text, len) == 0;
    free(v);
    return same;
}

/* The rules of exec_receipt_read_allowed that need the whole tx. */
static bool tx_reader(exec *e, const pubkey *asker, const exec_authority *a, const codec_tx *tx)
{
    if (memcmp(tx->signer.bytes, asker->bytes, 32) == 0) return true;
    for (uint32_t i = 0; i < tx->cosig_count; i++) {
        if (memcmp(tx->cosigs[i].key.bytes, asker->bytes, 32) == 0) return true;
    }
    const codec_value *trial = &tx->args[0];
    exec_trial t;
    if (tx->arg_count < 1 || trial->kind != CODEC_VALUE_BYTES || trial->len < 1 || trial->len > 32
        || exec_query_trial(e, trial->bytes, trial->len, &t) != LEDGER_OK) {
        return false;
    }
    if (trial_sponsor(e, &t, asker)) return true;
    if (investigator_of_participant(e, a, trial->bytes, trial->len, tx->signer.bytes)) return true;
    const codec_value *part = &tx->args[1];
    return tx->arg_count >= 2 && part->kind == CODEC_VALUE_BYTES && part->len == 32
           && investigator_of_participant(e, a, trial->bytes, trial->len, part->bytes);
}

/* True if key reads nothing any more: a revoked authority's (the node also refuses it
 * first, naming the height), or a participant key re-bound away (consent/x/<key>, issue 23
 * item 2): what it signed before is no longer its to read. */
static bool key_retired(exec *e, const pubkey *key)
{
    exec_authority auth;
    if (exec_authority_of(e, key, &auth) == EXEC_AUTH_REVOKED) return true;
    uint8_t k[sizeof "consent/x/" - 1 + 32], *v = NULL;
    size_t len = 0;
    memcpy(k, "consent/x/", sizeof k - 32);
    memcpy(k + sizeof k - 32, key->bytes, 32);
    bool retired = state_has(e, k, sizeof k, &v, &len);
    free(v);
    return retired;
}

bool exec_receipt_read_allowed(exec *e, const pubkey *asker, const codec_span *entry)
{
    if (exec_ledger_read_allowed(e, asker)) return true; /* validators, regulators, auditor */
    if (key_retired(e, asker)) return false;
    if (codec_entry_is_pruned(entry)) {
        codec_pruned_tx p;
        return codec_pruned_tx_decode(entry->data, entry->len, &p, NULL) == CODEC_OK
               && memcmp(p.signer.bytes, asker->bytes, 32) == 0;
    }
    static _Thread_local codec_tx tx;
    if (codec_tx_decode(entry->data, entry->len, &tx, NULL) != CODEC_OK) return false;
    exec_authority auth;
    return tx_reader(e, asker, authority_of(e, asker, &auth), &tx);
}

/* ---- timeline ------------------------------------------------------------------------ */

static void format_time(uint64_t ms, char *out, size_t cap)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%03uZ", base, (unsigned)(ms % 1000));
}

static void signer_name(exec *e, const pubkey *key, char *out, size_t cap)
{
    exec_authority auth;
    if (authority_ever(e, key, &auth)) { /* its name, even after a revocation */
        snprintf(out, cap, "%s", auth.name.text);
        return;
    }
    char hex[17];
    tcrypto_to_hex(key->bytes, 8, hex);
    snprintf(out, cap, "participant-%s", hex);
}

/* What a person reads beside an event whose hex alone would not say it (issue 23 item 2). */
static const char *event_note(const char *topic)
{
    static const char *const notes[][2] = {
        {"consent.withdrawn_by_site", "withdrawn by site on the participant's documented request"},
        {"consent.rebind_requested", "re-binding to a new key requested; the old key may veto"},
        {"consent.rebind_vetoed", "re-binding vetoed by the old key"},
        {"consent.rebound", "the participant's consent moved to the new key"},
        {"consent.flag.after_rebinding", "a grant made after a re-binding"},
    };
    for (size_t i = 0; i < sizeof notes / sizeof *notes; i++)
        if (strcmp(notes[i][0], topic) == 0) return notes[i][1];
    return NULL;
}

/* Event data after the trial prefix, as hex (at most 96 hex digits, then "..."), and the
 * topic's note, if it has one; an authority change in words. */
static void print_event(FILE *out, const codec_event *ev, size_t skip)
{
    char words[160];
    if (event_authority_words(ev->topic.text, ev->data, ev->len, words, sizeof words)) {
        fprintf(out, "    event %s: %s\n", ev->topic.text, words);
        return;
    }
    const uint8_t *d = ev->data;
    size_t len = ev->len;
    if (skip <= len) {
        d += skip;
        len -= skip;
    }
    bool flag = strstr(ev->topic.text, ".flag.") != NULL;
    fprintf(out, "    %s %s", flag ? "FLAG " : "event", ev->topic.text);
    if (len) fputc(' ', out);
    for (size_t i = 0; i < len && i < 48; i++) fprintf(out, "%02x", d[i]);
    const char *note = event_note(ev->topic.text);
    fprintf(out, "%s%s%s%s\n", len > 48 ? "..." : "", note ? " (" : "", note ? note : "",
            note ? ")" : "");
}

static bool is_trial_tx(const codec_tx *tx, const uint8_t *trial, size_t trial_len)
{
    return tx->arg_count > 0 && tx->args[0].kind == CODEC_VALUE_BYTES
           && tx->args[0].len == trial_len && memcmp(tx->args[0].bytes, trial, trial_len) == 0;
}

static void print_tx(exec *e, FILE *out, const codec_block *b, uint32_t i, const codec_tx *tx,
                     const codec_receipt *r, size_t trial_len)
{
    static const char *status_names[] = {"OK", "REFUSED", "INVALID", "TRAPPED"};
    char when[48], who[48];
    format_time(b->header.batch.time_ms, when, sizeof when);
    signer_name(e, &tx->signer, who, sizeof who);
    fprintf(out, "h%" PRIu64 ".%u %s %s.%s by %s", b->header.batch.height, i, when,
            tx->contract.text, tx->method.text, who);
    for (uint32_t k = 0; k < tx->cosig_count; k++) {
        char co[48];
        signer_name(e, &tx->cosigs[k].key, co, sizeof co);
        fprintf(out, " +%s(%s)", co, codec_meaning_name(tx->cosigs[k].meaning));
    }
    fprintf(out, ": %s", r->status <= RECEIPT_TRAPPED ? status_names[r->status] : "?");
    if (r->status != RECEIPT_OK) fprintf(out, " %u \"%s\"", r->error_code, r->reason);
    fprintf(out, " gas=%" PRIu64 "\n", r->gas_used);
    for (uint32_t k = 0; k < r->event_count; k++) print_event(out, &r->events[k], 1 + trial_len);
}

ledger_err exec_timeline_write(exec *e, const uint8_t *trial, size_t trial_len, FILE *out)
{
    exec_viewer all = {.kind = EXEC_VIEW_ALL};
    return exec_timeline_write_as(e, trial, trial_len, &all, out);
}

/* exec_timeline_write_as's visitor: one text line (and its events) per visible tx. */
typedef struct {
    FILE *out;
    size_t trial_len;
} timeline_text;

static bool timeline_print(void *ctx, exec *e, const codec_block *b, uint32_t i,
                           const codec_tx *tx, const codec_receipt *r)
{
    timeline_text *t = ctx;
    print_tx(e, t->out, b, i, tx, r, t->trial_len);
    return true;
}

ledger_err exec_timeline_write_as(exec *e, const uint8_t *trial, size_t trial_len,
                                  const exec_viewer *viewer, FILE *out)
{
    timeline_text t = {out, trial_len};
    uint64_t next;
    return exec_timeline_scan(e, trial, trial_len, viewer, 1, UINT64_MAX, timeline_print, &t,
                              &next);
}

/* The visible trial txs of block b (decoded) to visit; false if visit stopped or a receipt
 * is corrupt (*rc says which). */
static bool scan_block(exec *e, const codec_block *b, const uint8_t *trial, size_t trial_len,
                       const exec_viewer *viewer, exec_timeline_visit_fn visit, void *ctx,
                       codec_tx *tx, codec_receipt *r, ledger_err *rc)
{
    for (uint32_t i = 0; i < b->tx_count; i++) {
        if (codec_tx_decode(b->txs[i].data, b->txs[i].len, tx, NULL) != CODEC_OK) continue;
        if (!is_trial_tx(tx, trial, trial_len) && !exec_tx_authority_change(tx)) continue;
        if (i >= b->receipt_count
            || codec_receipt_decode(b->receipts[i].data, b->receipts[i].len, r, NULL) != CODEC_OK) {
            *rc = LEDGER_ERR_CORRUPT;
            return false;
        }
        if (exec_tx_visible(e, viewer, trial, trial_len, tx, r) && !visit(ctx, e, b, i, tx, r))
            return false;
    }
    return true;
}

ledger_err exec_timeline_scan(exec *e, const uint8_t *trial, size_t trial_len,
                              const exec_viewer *viewer, uint64_t from_height,
                              uint64_t blocks_max, exec_timeline_visit_fn visit, void *ctx,
                              uint64_t *next_height)
{
    ledger *l = exec_ledger(e);
    ledger_summary head;
    ledger_head(l, &head);
    codec_span *txs = malloc(2 * CODEC_BLOCK_TXS_MAX * sizeof *txs);
    codec_write *writes = malloc(CODEC_WRITES_MAX * sizeof *writes);
    codec_tx *tx = malloc(sizeof *tx);
    codec_receipt *r = malloc(sizeof *r);
    ledger_err rc = txs && writes && tx && r ? LEDGER_OK : LEDGER_ERR_NOMEM;
    uint64_t h = from_height < 1 ? 1 : from_height;
    for (uint64_t scanned = 0; h <= head.height && scanned < blocks_max && rc == LEDGER_OK;
         scanned++) {
        uint8_t *data;
        size_t len;
        rc = ledger_get_block(l, h, &data, &len);
        if (rc != LEDGER_OK) break;
        codec_block b = {.txs = txs, .receipts = txs + CODEC_BLOCK_TXS_MAX, .writes = writes};
        bool whole = true;
        if (codec_block_decode(data, len, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL) != CODEC_OK)
            rc = LEDGER_ERR_CORRUPT;
        else
            whole = scan_block(e, &b, trial, trial_len, viewer, visit, ctx, tx, r, &rc);
        free(data);
        if (!whole) break; /* the visitor stopped inside block h: the next page starts at h */
        h++;
    }
    *next_height = h;
    free(txs);
    free(writes);
    free(tx);
    free(r);
    return rc;
}

ledger_err exec_public_txs(exec *e, const codec_block *b, exec_public_tx *out, uint32_t cap,
                           uint32_t *count)
{
    static _Thread_local codec_tx tx;
    static _Thread_local codec_receipt r;
    exec_viewer pub = {.kind = EXEC_VIEW_PUBLIC};
    *count = 0;
    for (uint32_t i = 0; i < b->tx_count && *count < cap; i++) {
        if (codec_tx_decode(b->txs[i].data, b->txs[i].len, &tx, NULL) != CODEC_OK) continue; /* pruned */
        if (tx.arg_count == 0 || tx.args[0].kind != CODEC_VALUE_BYTES || tx.args[0].len < 1
            || tx.args[0].len > 32)
            continue;
        if (i >= b->receipt_count
            || codec_receipt_decode(b->receipts[i].data, b->receipts[i].len, &r, NULL) != CODEC_OK)
            return LEDGER_ERR_CORRUPT;
        if (!exec_tx_visible(e, &pub, tx.args[0].bytes, tx.args[0].len, &tx, &r)) continue;
        exec_public_tx *p = &out[(*count)++];
        tcrypto_sha256(b->txs[i].data, b->txs[i].len, &p->tx_id);
        p->index = i;
        p->trial_len = (uint8_t)tx.args[0].len;
        memcpy(p->trial, tx.args[0].bytes, tx.args[0].len);
        snprintf(p->method, sizeof p->method, "%s.%s", tx.contract.text, tx.method.text);
    }
    return LEDGER_OK;
}
