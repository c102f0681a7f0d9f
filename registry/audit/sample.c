/*
 * sample.c - sample ledgers of real signed txs (see sample.h for what is and
 * is not real about them).
 */
#include "sample.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contracts.h"
#include "executor.h"
#include "merkle.h"

enum {
    TX_SLOT = 1024,          /* bytes reserved per encoded tx (they are ~300) */
    RECEIPT_SLOT = 128,
    KEY_SLOT = 48,
    VALUE_SLOT = 16,
    CERT_SLOT = 80 * CODEC_VALIDATORS_MAX + 64,
    SAMPLE_TIME_BASE_MS = 1764000000000ull,
};

static void derive_key(uint64_t seed, const char *label, uint32_t index, keypair *out)
{
    char text[96];
    hash32 h;
    snprintf(text, sizeof text, "trialreg-sample/%llu/%s/%u", (unsigned long long)seed, label,
             index);
    tcrypto_sha256(text, strlen(text), &h);
    tcrypto_keypair_from_seed(h.bytes, out);
}

void sample_keys_derive(uint64_t seed, uint32_t validator_count, sample_keys *out)
{
    memset(out, 0, sizeof *out);
    out->validator_count = validator_count;
    for (uint32_t i = 0; i < validator_count; i++) derive_key(seed, "validator", i, &out->validators[i]);
    derive_key(seed, "sponsor", 0, &out->sponsor);
    derive_key(seed, "investigator", 0, &out->investigators[0]);
    derive_key(seed, "investigator", 1, &out->investigators[1]);
    derive_key(seed, "regulator", 0, &out->regulator);
}

void sample_add_authority(codec_genesis *g, unsigned role, const char *site, const char *name,
                          const keypair *key)
{
    codec_authority *a = &g->authorities[g->authority_count++];
    a->role = (uint8_t)role;
    snprintf(a->site.text, sizeof a->site.text, "%s", site);
    snprintf(a->name.text, sizeof a->name.text, "%s", name);
    a->key = key->public_key;
}

int sample_genesis(const sample_keys *keys, const char *chain_name, uint8_t **out,
                   size_t *out_len)
{
    codec_genesis *g = calloc(1, sizeof *g);
    size_t cap = 64 * 1024;
    for (uint32_t i = 0; i < contracts_builtin_count; i++) cap += contracts_builtin[i].len + 64;
    uint8_t *buf = malloc(cap);
    if (!g || !buf) goto err;
    snprintf(g->chain_name, sizeof g->chain_name, "%s", chain_name);
    g->created_ms = SAMPLE_TIME_BASE_MS;
    codec_rules_default(&g->rules);
    codec_governance_default(g->governance);
    g->validator_count = keys->validator_count;
    for (uint32_t i = 0; i < keys->validator_count; i++) {
        snprintf(g->validators[i].name.text, sizeof g->validators[i].name.text, "validator-%u", i);
        g->validators[i].key = keys->validators[i].public_key;
    }
    sample_add_authority(g, ROLE_SPONSOR, "", "sponsor", &keys->sponsor);
    sample_add_authority(g, ROLE_INVESTIGATOR, "site-a", "investigator-a",
                         &keys->investigators[0]);
    sample_add_authority(g, ROLE_INVESTIGATOR, "site-b", "investigator-b",
                         &keys->investigators[1]);
    sample_add_authority(g, ROLE_REGULATOR, "", "regulator", &keys->regulator);
    /* the built-in contracts, so that the sample txs route (issue 14 C) and the executed
     * sample trial (sample_trial_write) runs */
    for (uint32_t i = 0; i < contracts_builtin_count; i++) {
        const contract_builtin *c = &contracts_builtin[i];
        codec_contract *gc = &g->contracts[g->contract_count++];
        snprintf(gc->name.text, sizeof gc->name.text, "%s", c->name);
        gc->version = 1;
        gc->bytecode = c->bytecode;
        gc->bytecode_len = c->len;
    }
    codec_buf b = codec_buf_make(buf, cap);
    if (codec_genesis_encode(g, &b) != CODEC_OK) goto err;
    free(g);
    *out = buf;
    *out_len = b.len;
    return 0;
err:
    free(g);
    free(buf);
    return -1;
}

/* ---- txs ------------------------------------------------------------------- */

static void sign_tx(codec_tx *tx, const keypair *author, const hash32 *chain_id)
{
    uint8_t body[CODEC_TX_MAX];
    codec_buf b = codec_buf_make(body, sizeof body);
    codec_tx_body_encode(tx, &b);
    tcrypto_sign(author, TCRYPTO_TAG_TX, chain_id, b.data, b.len, &tx->sig);
}

static void cosign_tx(codec_tx *tx, const keypair *cosigner, unsigned meaning,
                      const hash32 *chain_id)
{
    uint8_t body[CODEC_TX_MAX], cbody[128];
    codec_buf b = codec_buf_make(body, sizeof body);
    codec_tx_body_encode(tx, &b);
    hash32 body_hash;
    tcrypto_sha256(b.data, b.len, &body_hash);
    codec_buf cb = codec_buf_make(cbody, sizeof cbody);
    codec_cosig_body_encode(&body_hash, meaning, &cosigner->public_key, &cb);
    codec_cosig *c = &tx->cosigs[tx->cosig_count++];
    c->key = cosigner->public_key;
    c->meaning = (uint8_t)meaning;
    tcrypto_sign(cosigner, TCRYPTO_TAG_COSIG, chain_id, cb.data, cb.len, &c->sig);
}

static void set_name(codec_name *n, const char *text)
{
    snprintf(n->text, sizeof n->text, "%s", text);
}

int sample_tx(const sample_keys *keys, const hash32 *chain_id, uint64_t index,
              uint64_t valid_until, codec_buf *out)
{
    static const uint8_t trial_id[16] = "TRIAL-0001";
    codec_tx tx;
    memset(&tx, 0, sizeof tx);
    hash32 doc;
    keypair anchored; /* an anchor's participant: args point into it until encoded */
    uint8_t index_be[8];
    for (int k = 0; k < 8; k++) index_be[k] = (uint8_t)(index >> (56 - 8 * k));
    tcrypto_sha256(index_be, sizeof index_be, &doc);
    const keypair *site = &keys->investigators[index % 4 < 2 ? 0 : 1];
    tx.nonce = index;
    tx.valid_until = valid_until;
    tx.args[tx.arg_count++] = (codec_value){.kind = CODEC_VALUE_BYTES, .bytes = trial_id,
                                            .len = sizeof trial_id};
    if (index % 2 == 0) {
        keypair participant;
        derive_key(0, "participant", (uint32_t)(index / 2), &participant);
        tx.signer = participant.public_key;
        set_name(&tx.contract, "consent");
        set_name(&tx.method, "grant");
        tx.args[tx.arg_count++] = (codec_value){.kind = CODEC_VALUE_INT, .integer = 1};
        tx.args[tx.arg_count++] = (codec_value){.kind = CODEC_VALUE_BYTES, .bytes = doc.bytes,
                                                .len = 32};
        tx.args[tx.arg_count++] = (codec_value){.kind = CODEC_VALUE_INT, .integer = 0x1f};
        sign_tx(&tx, &participant, chain_id);
        cosign_tx(&tx, site, MEANING_WITNESS, chain_id);
    } else { /* anchor(T, participant, scope, collected_at, content hash, size) */
        derive_key(0, "participant", (uint32_t)(index / 2), &anchored);
        tx.signer = site->public_key;
        set_name(&tx.contract, "data");
        set_name(&tx.method, "anchor");
        tx.args[tx.arg_count++] = (codec_value){.kind = CODEC_VALUE_BYTES,
                                                .bytes = anchored.public_key.bytes, .len = 32};
        tx.args[tx.arg_count++] = (codec_value){.kind = CODEC_VALUE_INT, .integer = 1};
        tx.args[tx.arg_count++] = (codec_value){
            .kind = CODEC_VALUE_INT, .integer = (int64_t)(SAMPLE_TIME_BASE_MS + index)};
        tx.args[tx.arg_count++] = (codec_value){.kind = CODEC_VALUE_BYTES, .bytes = doc.bytes,
                                                .len = 32};
        tx.args[tx.arg_count++] = (codec_value){.kind = CODEC_VALUE_INT, .integer = 4096};
        sign_tx(&tx, site, chain_id);
    }
    return codec_tx_encode(&tx, out) == CODEC_OK ? 0 : -1;
}

/* ---- blocks ------------------------------------------------------------------ */

static void sign_commit_cert(const sample_keys *keys, const hash32 *chain_id,
                             const codec_batch_header *batch, codec_commit_cert *cert)
{
    uint8_t body[96];
    codec_buf b = codec_buf_make(body, sizeof body);
    memset(cert, 0, sizeof *cert);
    cert->height = batch->height;
    cert->view = 0;
    codec_batch_hash(batch, &cert->batch_hash);
    codec_commit_body_encode(cert->height, cert->view, &cert->batch_hash, &b);
    uint32_t quorum = 2 * ((keys->validator_count - 1) / 3) + 1;
    for (uint32_t v = 0; v < quorum; v++) {
        cert->sigs[v].validator = v;
        tcrypto_sign(&keys->validators[v], TCRYPTO_TAG_COMMIT, chain_id, b.data, b.len,
                     &cert->sigs[v].sig);
    }
    cert->sig_count = quorum;
}

/* Receipt and write of tx i (the sample's stand-in for execution). */
static void fake_execute(sample_block *b, uint32_t i, uint8_t *receipt_slot, uint8_t *key_slot,
                         uint8_t *value_slot)
{
    codec_receipt r;
    memset(&r, 0, sizeof r);
    tcrypto_sha256(b->txs[i].data, b->txs[i].len, &r.tx_id);
    r.status = RECEIPT_OK;
    codec_buf rb = codec_buf_make(receipt_slot, RECEIPT_SLOT);
    codec_receipt_encode(&r, &rb);
    b->receipts[i] = (codec_span){receipt_slot, rb.len};
    memcpy(key_slot, "sample/tx/", 10);
    memcpy(key_slot + 10, r.tx_id.bytes, 32);
    for (int k = 0; k < 8; k++) value_slot[k] = (uint8_t)(b->batch.height >> (56 - 8 * k));
    b->writes[i] = (codec_write){key_slot, 42, value_slot, 8};
}

int sample_block_build(const sample_keys *keys, const ledger *l, uint64_t height,
                       uint64_t first_tx, uint32_t tx_count, sample_block *out)
{
    memset(out, 0, sizeof *out);
    size_t per_tx = TX_SLOT + RECEIPT_SLOT + KEY_SLOT + VALUE_SLOT;
    out->arena = malloc(per_tx * tx_count + CERT_SLOT);
    out->txs = calloc(tx_count + 1, sizeof *out->txs);
    out->receipts = calloc(tx_count + 1, sizeof *out->receipts);
    out->writes = calloc(tx_count + 1, sizeof *out->writes);
    if (!out->arena || !out->txs || !out->receipts || !out->writes) {
        sample_block_free(out);
        return -1;
    }
    out->tx_count = tx_count;
    out->batch.height = height;
    const hash32 *chain_id = ledger_chain_id(l);
    out->batch.time_ms = ledger_genesis(l)->created_ms + height * 1000;
    out->batch.tx_count = tx_count;
    uint8_t *p = out->arena;
    hash32 *leaves = calloc(tx_count + 1, sizeof *leaves);
    if (!leaves) return sample_block_free(out), -1;
    for (uint32_t i = 0; i < tx_count; i++, p += TX_SLOT) {
        codec_buf tb = codec_buf_make(p, TX_SLOT);
        if (sample_tx(keys, chain_id, first_tx + i, out->batch.time_ms + SAMPLE_VALID_FOR_MS, &tb)
            != 0) {
            free(leaves);
            return sample_block_free(out), -1;
        }
        out->txs[i] = (codec_span){p, tb.len};
        merkle_leaf_hash(p, tb.len, &leaves[i]);
    }
    merkle_root_of_leaves(leaves, tx_count, &out->batch.tx_root);
    free(leaves);
    for (uint32_t i = 0; i < tx_count; i++, p += RECEIPT_SLOT + KEY_SLOT + VALUE_SLOT) {
        fake_execute(out, i, p, p + RECEIPT_SLOT, p + RECEIPT_SLOT + KEY_SLOT);
    }
    uint8_t *cert_slot = p;
    codec_commit_cert cert;
    sign_commit_cert(keys, chain_id, &out->batch, &cert);
    codec_buf cb = codec_buf_make(cert_slot, CERT_SLOT);
    if (codec_commit_cert_encode(&cert, &cb) != CODEC_OK) return sample_block_free(out), -1;
    out->commit_cert = (codec_span){cert_slot, cb.len};
    return 0;
}

void sample_block_free(sample_block *b)
{
    free(b->arena);
    free(b->txs);
    free(b->receipts);
    free(b->writes);
    memset(b, 0, sizeof *b);
}

/* Sign and store the result certificate of block s (validators 1..2f+1,
 * a different set from the commit certificate's). */
static int certify(ledger *l, const sample_keys *keys, const ledger_summary *s, char *why,
                   size_t why_cap)
{
    codec_result_cert cert = {.height = s->height, .block_hash = s->block_hash,
                              .state_hash = s->state_hash, .receipts_root = s->receipts_root};
    uint8_t body[160], out[CERT_SLOT + 160];
    codec_buf bb = codec_buf_make(body, sizeof body);
    codec_checkpoint_body_encode(&cert, &bb);
    uint32_t quorum = 2 * ((keys->validator_count - 1) / 3) + 1;
    for (uint32_t k = 0; k < quorum; k++) {
        uint32_t v = keys->validator_count - quorum + k;
        cert.sigs[k].validator = v;
        tcrypto_sign(&keys->validators[v], TCRYPTO_TAG_CHECKPOINT, ledger_chain_id(l), bb.data,
                     bb.len, &cert.sigs[k].sig);
    }
    cert.sig_count = quorum;
    codec_buf ob = codec_buf_make(out, sizeof out);
    codec_result_cert_encode(&cert, &ob);
    ledger_error err;
    if (ledger_put_result_cert(l, s->height, ob.data, ob.len, &err) != LEDGER_OK) {
        snprintf(why, why_cap, "result certificate at height %llu: %s",
                 (unsigned long long)s->height, err.message);
        return -1;
    }
    return 0;
}

/* Append a built block; certified: also store its result certificate. */
static int append_block(ledger *l, const sample_keys *keys, const sample_block *b, bool certified,
                        char *why, size_t why_cap)
{
    ledger_block_input in = {.batch = b->batch, .txs = b->txs, .receipts = b->receipts,
                             .writes = b->writes, .write_count = b->tx_count,
                             .commit_cert = b->commit_cert};
    ledger_summary s;
    ledger_error err;
    if (ledger_append(l, &in, &s, &err) != LEDGER_OK) {
        snprintf(why, why_cap, "append at height %llu: %s", (unsigned long long)err.height,
                 err.message);
        return -1;
    }
    return certified ? certify(l, keys, &s, why, why_cap) : 0;
}

int sample_block_append(ledger *l, const sample_keys *keys, const sample_block *b, char *why,
                        size_t why_cap)
{
    return append_block(l, keys, b, true, why, why_cap);
}

static bool has_result_cert(ledger *l, uint64_t height)
{
    uint8_t *cert;
    size_t len;
    if (ledger_get_result_cert(l, height, &cert, &len) != LEDGER_OK) return false;
    free(cert);
    return true;
}

/* After a crash the head may lack its result certificate: form it first, as
 * a restarted replica would. An uncertified tail of more blocks (written with
 * sample_write_blocks_tail) is refused: certifying its head alone would leave a gap. */
static int certify_head(ledger *l, const sample_keys *keys, char *why, size_t why_cap)
{
    ledger_summary head;
    ledger_head(l, &head);
    if (head.height == 0 || has_result_cert(l, head.height)) return 0;
    if (head.height > 1 && !has_result_cert(l, head.height - 1)) {
        snprintf(why, why_cap, "the ledger ends in several blocks without a result certificate "
                               "(heights %llu and %llu at least): only more uncertified blocks "
                               "can follow", (unsigned long long)head.height - 1,
                 (unsigned long long)head.height);
        return -1;
    }
    return certify(l, keys, &head, why, why_cap);
}

int sample_write_blocks_tail(ledger *l, const sample_keys *keys, uint64_t blocks,
                             uint32_t txs_per_block, uint64_t uncertified, char *why,
                             size_t why_cap)
{
    if (uncertified > blocks) {
        snprintf(why, why_cap, "%llu uncertified blocks of %llu", (unsigned long long)uncertified,
                 (unsigned long long)blocks);
        return -1;
    }
    /* appending only uncertified blocks continues a tail; otherwise certify the head */
    if ((uncertified == 0 || uncertified < blocks) && certify_head(l, keys, why, why_cap) != 0)
        return -1;
    ledger_summary head;
    ledger_head(l, &head);
    for (uint64_t i = 0; i < blocks; i++) {
        sample_block b;
        uint64_t height = head.height + 1 + i;
        uint64_t first_tx = head.log_size + i * txs_per_block;
        if (sample_block_build(keys, l, height, first_tx, txs_per_block, &b)) {
            snprintf(why, why_cap, "out of memory");
            return -1;
        }
        int rc = append_block(l, keys, &b, i < blocks - uncertified, why, why_cap);
        sample_block_free(&b);
        if (rc != 0) return rc;
    }
    return 0;
}

int sample_write_blocks(ledger *l, const sample_keys *keys, uint64_t blocks,
                        uint32_t txs_per_block, char *why, size_t why_cap)
{
    return sample_write_blocks_tail(l, keys, blocks, txs_per_block, 0, why, why_cap);
}

/* ---- an executed sample trial ---------------------------------------------------------- */

enum { TRIAL_TX_SLOT = 1024 };

typedef struct {
    const sample_keys *keys;
    const hash32 *chain_id;
    uint64_t time_ms;     /* the block's time */
    uint64_t nonce;       /* every tx of the sample trial has its own */
    uint8_t *arena;
    codec_span *txs;
    uint32_t count;
} trial_block;

static const uint8_t TRIAL_ID[] = "SAMPLE-TRIAL";
static const uint8_t TRIAL_SITES[] = "\x06site-a\x06site-b";

static codec_value v_bytes(const void *p, size_t len)
{
    return (codec_value){.kind = CODEC_VALUE_BYTES, .bytes = p, .len = (uint32_t)len};
}

static codec_value v_int(int64_t v) { return (codec_value){.kind = CODEC_VALUE_INT, .integer = v}; }

static hash32 label_hash(const char *label, uint64_t n)
{
    char text[64];
    snprintf(text, sizeof text, "%s/%llu", label, (unsigned long long)n);
    hash32 h;
    tcrypto_sha256(text, strlen(text), &h);
    return h;
}

/* Sign a tx of the trial (first argument: the trial id) into the block. */
static int trial_tx(trial_block *b, const keypair *signer, const char *contract,
                    const char *method, const codec_value *args, uint32_t nargs,
                    const keypair *witness)
{
    codec_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.signer = signer->public_key;
    tx.nonce = ++b->nonce;
    tx.valid_until = b->time_ms + SAMPLE_VALID_FOR_MS;
    set_name(&tx.contract, contract);
    set_name(&tx.method, method);
    tx.args[tx.arg_count++] = v_bytes(TRIAL_ID, sizeof TRIAL_ID - 1);
    for (uint32_t i = 0; i < nargs; i++) tx.args[tx.arg_count++] = args[i];
    sign_tx(&tx, signer, b->chain_id);
    if (witness) cosign_tx(&tx, witness, MEANING_WITNESS, b->chain_id);
    uint8_t *slot = b->arena + (size_t)b->count * TRIAL_TX_SLOT;
    codec_buf out = codec_buf_make(slot, TRIAL_TX_SLOT);
    if (codec_tx_encode(&tx, &out) != CODEC_OK) return -1;
    b->txs[b->count++] = (codec_span){slot, out.len};
    return 0;
}

static const keypair *site_of(const sample_keys *keys, uint64_t participant)
{
    return &keys->investigators[participant % 2];
}

/* Block 1: the sponsor registers the trial, the regulator approves version 1, the sponsor
 * activates both sites. */
static int trial_setup(trial_block *b)
{
    hash32 doc = label_hash("protocol", 1), outcome = label_hash("outcome", 1);
    hash32 form = label_hash("consent form", 1);
    codec_value reg[] = {v_bytes(doc.bytes, 32), v_bytes(outcome.bytes, 32), v_bytes("", 0),
                         v_int(1000000), v_bytes(TRIAL_SITES, sizeof TRIAL_SITES - 1),
                         v_bytes(form.bytes, 32)};
    codec_value ap[] = {v_int(1)};
    codec_value a1[] = {v_bytes("site-a", 6)}, a2[] = {v_bytes("site-b", 6)};
    const sample_keys *k = b->keys;
    return trial_tx(b, &k->sponsor, "protocol", "register", reg, 6, NULL)
           | trial_tx(b, &k->regulator, "protocol", "approve", ap, 1, NULL)
           | trial_tx(b, &k->sponsor, "protocol", "activate", a1, 1, NULL)
           | trial_tx(b, &k->sponsor, "protocol", "activate", a2, 1, NULL);
}

/* Enrol participant p at its site and record its consent (witnessed); every 8th
 * participant first tries to consent without a witness, which the contract refuses. */
static int trial_enrol(trial_block *b, uint64_t p)
{
    keypair part;
    derive_key(0, "trial-participant", (uint32_t)p, &part);
    hash32 form = label_hash("consent form", 1);
    const keypair *site = site_of(b->keys, p);
    codec_value en[] = {v_bytes(part.public_key.bytes, 32)};
    codec_value gr[] = {v_int(1), v_bytes(form.bytes, 32), v_int(0x1f)};
    int rc = trial_tx(b, site, "consent", "enrol", en, 1, NULL);
    if (p % 8 == 0) rc |= trial_tx(b, &part, "consent", "grant", gr, 3, NULL);
    return rc | trial_tx(b, &part, "consent", "grant", gr, 3, site);
}

/* A data anchor of participant p (consented in an earlier block), collected 1 ms before
 * this block. */
static int trial_anchor(trial_block *b, uint64_t p, uint64_t record)
{
    keypair part;
    derive_key(0, "trial-participant", (uint32_t)p, &part);
    hash32 content = label_hash("record", record);
    codec_value an[] = {v_bytes(part.public_key.bytes, 32), v_int(1),
                        v_int((int64_t)(b->time_ms - 1)), v_bytes(content.bytes, 32),
                        v_int(4096)};
    return trial_tx(b, site_of(b->keys, p), "data", "anchor", an, 5, NULL);
}

int sample_trial_write(ledger *l, const sample_keys *keys, uint64_t blocks,
                       uint32_t txs_per_block, char *why, size_t why_cap)
{
    if (txs_per_block < 8 || txs_per_block > CODEC_BLOCK_TXS_MAX) {
        return snprintf(why, why_cap, "a sample trial block holds 8..%u txs", CODEC_BLOCK_TXS_MAX), -1;
    }
    ledger_summary head;
    ledger_head(l, &head);
    if (head.height != 0) return snprintf(why, why_cap, "the sample trial needs an empty ledger"), -1;
    exec *e = NULL;
    exec_error err = {0};
    exec_options opt = {.verify_signatures = false}; /* the signatures are made here */
    if (exec_open(l, &opt, &e, &err) != EXEC_OK) return snprintf(why, why_cap, "%s", err.message), -1;
    trial_block b = {.keys = keys, .chain_id = ledger_chain_id(l)};
    b.arena = malloc((size_t)txs_per_block * TRIAL_TX_SLOT);
    b.txs = calloc(txs_per_block, sizeof *b.txs);
    int rc = b.arena && b.txs ? 0 : -1;
    if (rc) snprintf(why, why_cap, "out of memory");
    uint64_t enrolled = 0, consented = 0, records = 0;
    for (uint64_t h = 1; h <= blocks && rc == 0; h++) {
        b.count = 0;
        b.time_ms = ledger_genesis(l)->created_ms + h * 1000;
        if (h == 1) {
            rc = trial_setup(&b);
        } else {
            /* a third of the block enrols and consents new participants (3 or 4 txs each),
             * the rest anchors records of those who consented in earlier blocks */
            while (rc == 0 && b.count + 4 <= txs_per_block
                   && (consented == 0 || b.count < txs_per_block / 3)) {
                rc = trial_enrol(&b, enrolled++);
            }
            while (rc == 0 && consented > 0 && b.count < txs_per_block) {
                rc = trial_anchor(&b, records % consented, records);
                records++;
            }
        }
        ledger_summary s;
        if (rc == 0 && exec_commit_local(e, keys->validators, keys->validator_count, b.time_ms,
                                         b.txs, b.count, &s, &err) != EXEC_OK) {
            snprintf(why, why_cap, "block %llu: %s", (unsigned long long)h, err.message);
            rc = -1;
        }
        consented = enrolled;
    }
    free(b.arena);
    free(b.txs);
    exec_close(e);
    return rc;
}
