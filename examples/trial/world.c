/*
 * world.c - the in-process consortium of world.h.
 */
#include "world.h"

#include <stdlib.h>
#include <string.h>

#include "contracts.h"
#include "merkle.h"
#include "sample.h"

static void derive(const char *label, uint32_t index, keypair *out)
{
    char text[96];
    hash32 h;
    snprintf(text, sizeof text, "trialreg-example/%s/%u", label, index);
    tcrypto_sha256(text, strlen(text), &h);
    tcrypto_keypair_from_seed(h.bytes, out);
}

hash32 world_hash(const char *label)
{
    hash32 h;
    tcrypto_sha256(label, strlen(label), &h);
    return h;
}

codec_value world_int(int64_t v) { return (codec_value){.kind = CODEC_VALUE_INT, .integer = v}; }
codec_value world_bytes(const void *p, uint32_t len)
{
    return (codec_value){.kind = CODEC_VALUE_BYTES, .bytes = p, .len = len};
}
codec_value world_text(const char *s) { return world_bytes(s, (uint32_t)strlen(s)); }

int world_init(world *w, const char *chain_name) { return world_init_edit(w, chain_name, NULL, NULL); }

int world_init_edit(world *w, const char *chain_name, void (*edit)(codec_genesis *g, void *ctx),
                    void *ctx)
{
    memset(w, 0, sizeof *w);
    for (uint32_t i = 0; i < 4; i++) derive("validator", i, &w->validators[i]);
    derive("sponsor", 0, &w->sponsor);
    derive("investigator", 0, &w->inv_a);
    derive("investigator", 1, &w->inv_b);
    derive("regulator", 0, &w->regulator);
    derive("researcher", 0, &w->researcher);
    for (uint32_t i = 0; i < WORLD_PARTICIPANTS; i++) derive("participant", i, &w->participants[i]);
    codec_genesis *g = calloc(1, sizeof *g);
    size_t cap = 512 * 1024;
    uint8_t *buf = malloc(cap);
    if (!g || !buf) goto err;
    snprintf(g->chain_name, sizeof g->chain_name, "%s", chain_name);
    g->created_ms = WORLD_GENESIS_MS;
    codec_rules_default(&g->rules);
    codec_governance_default(g->governance);
    g->validator_count = 4;
    for (uint32_t i = 0; i < 4; i++) {
        snprintf(g->validators[i].name.text, sizeof g->validators[i].name.text, "validator-%u", i);
        g->validators[i].key = w->validators[i].public_key;
    }
    sample_add_authority(g, ROLE_SPONSOR, "", "sponsor", &w->sponsor);
    sample_add_authority(g, ROLE_INVESTIGATOR, "site-a", "investigator-a", &w->inv_a);
    sample_add_authority(g, ROLE_INVESTIGATOR, "site-b", "investigator-b", &w->inv_b);
    sample_add_authority(g, ROLE_REGULATOR, "", "regulator", &w->regulator);
    sample_add_authority(g, ROLE_RESEARCHER, "", "researcher", &w->researcher);
    for (uint32_t i = 0; i < contracts_builtin_count; i++) {
        codec_contract *c = &g->contracts[g->contract_count++];
        snprintf(c->name.text, sizeof c->name.text, "%s", contracts_builtin[i].name);
        c->version = 1;
        c->bytecode = contracts_builtin[i].bytecode;
        c->bytecode_len = contracts_builtin[i].len;
    }
    if (edit) edit(g, ctx);
    codec_buf b = codec_buf_make(buf, cap);
    if (codec_genesis_encode(g, &b) != CODEC_OK) goto err;
    free(g);
    w->genesis = buf;
    w->genesis_len = b.len;
    w->now_ms = WORLD_GENESIS_MS;
    return 0;
err:
    free(g);
    free(buf);
    return -1;
}

int world_open(world *w, const char *dir, bool verify_signatures)
{
    ledger_error lerr;
    if (ledger_open(dir, w->genesis, w->genesis_len, LEDGER_OPEN_CREATE, &w->l, &lerr)
        != LEDGER_OK) {
        fprintf(stderr, "ledger %s: %s\n", dir, lerr.message);
        return -1;
    }
    exec_options opt = {.verify_signatures = verify_signatures};
    exec_error eerr;
    if (exec_open(w->l, &opt, &w->e, &eerr) != EXEC_OK) {
        fprintf(stderr, "executor: %s\n", eerr.message);
        ledger_close(w->l);
        w->l = NULL;
        return -1;
    }
    w->chain_id = *ledger_chain_id(w->l);
    return 0;
}

void world_close(world *w)
{
    if (w->e) exec_close(w->e);
    if (w->l) ledger_close(w->l);
    free(w->genesis);
    memset(w, 0, sizeof *w);
}

static uint64_t *nonce_slot(world *w, const keypair *k)
{
    const keypair *all[WORLD_KEYS] = {&w->sponsor, &w->inv_a, &w->inv_b, &w->regulator,
                                      &w->researcher};
    uint32_t n = 5;
    for (uint32_t i = 0; i < WORLD_PARTICIPANTS; i++) all[n++] = &w->participants[i];
    for (uint32_t i = 0; i < n; i++) {
        if (memcmp(all[i]->public_key.bytes, k->public_key.bytes, 32) == 0) return &w->next_nonce[i];
    }
    return &w->next_nonce[WORLD_KEYS - 1];
}

size_t world_sign(world *w, const keypair *signer, uint64_t nonce, const hash32 *chain,
                  const char *contract, const char *method, const codec_value *args,
                  uint32_t nargs, const world_cosig *cos, uint32_t ncos, uint8_t *out,
                  size_t cap)
{
    codec_tx tx;
    memset(&tx, 0, sizeof tx);
    if (!chain) chain = &w->chain_id;
    tx.signer = signer->public_key;
    uint64_t random_nonce = 0;
    tx.valid_until = w->valid_until ? w->valid_until : w->now_ms + WORLD_VALID_FOR_MS;
    if (w->remote) w->remote->stamp(w->remote->ctx, w, &random_nonce, &tx.valid_until);
    if (nonce == WORLD_NEXT_NONCE) nonce = w->remote ? random_nonce : (*nonce_slot(w, signer))++;
    tx.nonce = nonce;
    snprintf(tx.contract.text, sizeof tx.contract.text, "%s", contract);
    snprintf(tx.method.text, sizeof tx.method.text, "%s", method);
    if (nargs > CODEC_ARGS_MAX || ncos > CODEC_COSIGS_MAX) return 0;
    tx.arg_count = nargs;
    if (nargs) memcpy(tx.args, args, nargs * sizeof *args);
    uint8_t body[CODEC_TX_MAX], cbody[160];
    codec_buf b = codec_buf_make(body, sizeof body);
    if (codec_tx_body_encode(&tx, &b) != CODEC_OK) return 0;
    tcrypto_sign(signer, TCRYPTO_TAG_TX, chain, b.data, b.len, &tx.sig);
    hash32 body_hash;
    tcrypto_sha256(b.data, b.len, &body_hash);
    for (uint32_t i = 0; i < ncos; i++) {
        codec_buf cb = codec_buf_make(cbody, sizeof cbody);
        codec_cosig_body_encode(&body_hash, cos[i].meaning, &cos[i].key->public_key, &cb);
        codec_cosig *c = &tx.cosigs[tx.cosig_count++];
        c->key = cos[i].key->public_key;
        c->meaning = (uint8_t)cos[i].meaning;
        tcrypto_sign(cos[i].key, TCRYPTO_TAG_COSIG, chain, cb.data, cb.len, &c->sig);
    }
    codec_buf ob = codec_buf_make(out, cap);
    if (codec_tx_encode(&tx, &ob) != CODEC_OK) return 0;
    return ob.len;
}

int world_commit(world *w, uint64_t advance_ms, const codec_span *txs, uint32_t count,
                 codec_receipt *receipts)
{
    w->now_ms += advance_ms;
    if (w->remote) return w->remote->commit(w->remote->ctx, w, txs, count, receipts);
    ledger_summary s;
    exec_error err;
    if (exec_commit_local(w->e, w->validators, 4, w->now_ms, txs, count, &s, &err) != EXEC_OK) {
        fprintf(stderr, "commit: %s\n", err.message);
        return -1;
    }
    const codec_span *r = exec_last_receipts(w->e);
    for (uint32_t i = 0; receipts && i < count; i++) {
        if (codec_receipt_decode(r[i].data, r[i].len, &receipts[i], NULL) != CODEC_OK) return -1;
    }
    return 0;
}

int world_run(world *w, uint64_t advance_ms, const keypair *signer, const char *contract,
              const char *method, const codec_value *args, uint32_t nargs,
              const world_cosig *cos, uint32_t ncos, codec_receipt *r)
{
    uint8_t buf[CODEC_TX_MAX];
    w->now_ms += advance_ms;
    size_t len = world_sign(w, signer, WORLD_NEXT_NONCE, NULL, contract, method, args, nargs,
                            cos, ncos, buf, sizeof buf);
    if (len == 0) return -1;
    codec_span span = {buf, len};
    return world_commit(w, 0, &span, 1, r);
}

uint64_t world_time_at(const world *w, uint64_t t_ms)
{
    return w->remote ? w->remote->time_at(w->remote->ctx, w, t_ms) : t_ms;
}

int world_timeline(world *w, const char *trial, FILE *out)
{
    if (w->remote) return w->remote->timeline(w->remote->ctx, w, trial, out);
    return exec_timeline_write(w->e, (const uint8_t *)trial, strlen(trial), out) == LEDGER_OK ? 0 : -1;
}
