/*
 * audit.c - offline ledger verification. The main thread parses blocks and
 * does every cheap check; signature checks are queued in chunks that worker
 * threads verify meanwhile, so an audit costs about what its signatures cost.
 */
#include "audit.h"

#include <assert.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consortium.h"
#include "executor.h"
#include "merkle.h"
#include "replay.h"

enum {
    CHUNK_JOBS = 2048,          /* signatures per chunk handed to the workers */
    CHUNK_ARENA = 1 << 20,      /* message bytes per chunk (grows if needed) */
    CHUNKS_IN_FLIGHT_MAX = 4,
    CLAIM_JOBS = 32,            /* jobs a worker claims at once */
    THREADS_MAX = 64,
};

typedef enum { JOB_TX, JOB_COSIG, JOB_COMMIT, JOB_CHECKPOINT } job_kind;

typedef struct {
    pubkey key;
    signature sig;
    uint32_t msg_offset;
    uint32_t msg_len;
    uint64_t height;
    uint64_t set_from;  /* certificate signatures: the first height of the set that signs */
    int32_t tx_index;   /* -1 for certificate signatures */
    uint16_t detail;    /* cosig number or validator index */
    uint8_t kind;       /* job_kind */
} sig_job;

typedef struct chunk {
    sig_job jobs[CHUNK_JOBS];
    uint32_t count;
    uint32_t claimed;
    uint32_t done;
    uint8_t *arena;
    size_t arena_len;
    size_t arena_cap;
    struct chunk *next;
} chunk;

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t work;
    pthread_cond_t space;
    chunk *head;
    unsigned in_flight;
    bool closing;
    uint64_t verified;
    bool failed;
    audit_failure first;
    bool first_from_replay; /* first is a re-execution difference */
} pool;

/* ---- failures -------------------------------------------------------------- */

/* Within a height, a failure naming a tx is more precise than one about the
 * whole block (a tampered tx also breaks the tx root): it ranks first. */
static uint64_t tx_rank(int64_t tx) { return tx < 0 ? UINT64_MAX : (uint64_t)tx; }

/* Keep the failure with the lowest (height, tx). At the same tx, any other failure goes
 * before a re-execution difference: the replay runs a tx whose signature does not verify
 * as if it did, and differs from its (right) INVALID receipt, but the cause is the
 * signature, which a worker may find only after the replay. Caller holds p->mu. */
static void record_failure_locked(pool *p, uint64_t height, int64_t tx, const char *reason,
                                  bool from_replay)
{
    bool same = p->failed && p->first.height == height && p->first.tx_index == tx;
    if (same && p->first_from_replay && !from_replay) {
        /* replaced below */
    } else if (p->failed && (p->first.height < height
                             || (p->first.height == height
                                 && tx_rank(p->first.tx_index) <= tx_rank(tx)))) {
        return;
    }
    p->failed = true;
    p->first_from_replay = from_replay;
    p->first.height = height;
    p->first.tx_index = tx;
    snprintf(p->first.reason, sizeof p->first.reason, "%s", reason);
}

static void record_failure(pool *p, uint64_t height, int64_t tx, const char *fmt, ...)
{
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&p->mu);
    record_failure_locked(p, height, tx, reason, false);
    pthread_mutex_unlock(&p->mu);
}

/* ---- workers --------------------------------------------------------------- */

static void describe_job(const sig_job *j, char *out, size_t cap)
{
    switch ((job_kind)j->kind) {
    case JOB_TX: snprintf(out, cap, "tx author signature is invalid"); break;
    case JOB_COSIG: snprintf(out, cap, "co-signature %u is invalid", j->detail); break;
    case JOB_COMMIT:
        snprintf(out, cap, "commit certificate signature of validator %u is invalid%s", j->detail,
                 "");
        break;
    case JOB_CHECKPOINT:
        snprintf(out, cap, "result certificate signature of validator %u is invalid",
                 j->detail);
        break;
    }
}

static void verify_range(pool *p, chunk *c, uint32_t from, uint32_t to)
{
    for (uint32_t i = from; i < to; i++) {
        const sig_job *j = &c->jobs[i];
        if (tcrypto_verify_raw(&j->key, c->arena + j->msg_offset, j->msg_len, &j->sig)) continue;
        char what[128], reason[256];
        describe_job(j, what, sizeof what);
        if (j->set_from > 1) { /* a validator-set change: say which set it was checked under */
            snprintf(reason, sizeof reason, "%s under the validator set in force from height "
                     "%llu (a validator removed or replaced there no longer signs)", what,
                     (unsigned long long)j->set_from);
        } else {
            snprintf(reason, sizeof reason, "%s", what);
        }
        pthread_mutex_lock(&p->mu);
        record_failure_locked(p, j->height, j->tx_index, reason, false);
        pthread_mutex_unlock(&p->mu);
    }
}

static void chunk_free(chunk *c)
{
    free(c->arena);
    free(c);
}

/* Unlink a finished chunk. Caller holds p->mu. */
static void retire_locked(pool *p, chunk *c)
{
    chunk **link = &p->head;
    while (*link != c) link = &(*link)->next;
    *link = c->next;
    p->in_flight--;
    p->verified += c->count;
    chunk_free(c);
    pthread_cond_broadcast(&p->space);
}

static chunk *claimable_locked(pool *p)
{
    for (chunk *c = p->head; c; c = c->next) {
        if (c->claimed < c->count) return c;
    }
    return NULL;
}

static void *worker_main(void *arg)
{
    pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        chunk *c = claimable_locked(p);
        if (!c) {
            if (p->closing) break;
            pthread_cond_wait(&p->work, &p->mu);
            continue;
        }
        uint32_t from = c->claimed;
        uint32_t to = from + CLAIM_JOBS < c->count ? from + CLAIM_JOBS : c->count;
        c->claimed = to;
        pthread_mutex_unlock(&p->mu);
        verify_range(p, c, from, to);
        pthread_mutex_lock(&p->mu);
        c->done += to - from;
        if (c->done == c->count) retire_locked(p, c);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void submit(pool *p, chunk *c)
{
    pthread_mutex_lock(&p->mu);
    while (p->in_flight >= CHUNKS_IN_FLIGHT_MAX) pthread_cond_wait(&p->space, &p->mu);
    chunk **link = &p->head;
    while (*link) link = &(*link)->next;
    *link = c;
    p->in_flight++;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
}

/* ---- the auditor (main thread) ----------------------------------------------- */

typedef struct {
    codec_genesis genesis;
    hash32 chain_id;
    codec_span *txs;
    codec_span *receipts;
    codec_write *writes;
    hash32 *leaves;
    hash32 *tx_ids;
    merkle_frontier log;
    ledger_summary head;
    uint64_t prev_time_ms;
    chunk *current;
    pool *pool;
    audit_summary *summary;
    uint64_t height;
    const audit_options *opt;
    replay *replay;     /* opt->reexecute: the re-execution, NULL otherwise */
    consortium_history hist; /* the validator sets and authorities, from the receipts */
    bool hist_ready;
    uint64_t set_from;  /* the set that signs the certificate being queued (its first height) */
} auditor;

static chunk *chunk_new(void)
{
    chunk *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->arena = malloc(CHUNK_ARENA);
    if (!c->arena) {
        free(c);
        return NULL;
    }
    c->arena_cap = CHUNK_ARENA;
    return c;
}

static bool flush_chunk(auditor *a)
{
    if (a->current && a->current->count > 0) {
        a->summary->signatures += a->current->count;
        submit(a->pool, a->current);
        a->current = NULL;
    }
    return true;
}

/* Queue one signature check of tag || chain || body. */
static bool queue_sig(auditor *a, const pubkey *key, const signature *sig, const char *tag,
                      const uint8_t *prefix, size_t prefix_len, const uint8_t *body,
                      size_t body_len, int32_t tx, unsigned kind, unsigned detail)
{
    size_t tag_len = strlen(tag);
    size_t need = tag_len + 32 + prefix_len + body_len;
    if (a->current && (a->current->count == CHUNK_JOBS
                       || a->current->arena_len + need > a->current->arena_cap)) {
        flush_chunk(a);
    }
    if (!a->current && !(a->current = chunk_new())) return false;
    chunk *c = a->current;
    if (need > c->arena_cap) return false; /* bodies are bounded far below 1 MiB */
    uint8_t *m = c->arena + c->arena_len;
    memcpy(m, tag, tag_len);
    memcpy(m + tag_len, a->chain_id.bytes, 32);
    if (prefix_len > 0) memcpy(m + tag_len + 32, prefix, prefix_len);
    if (body_len > 0) memcpy(m + tag_len + 32 + prefix_len, body, body_len);
    sig_job *j = &c->jobs[c->count++];
    *j = (sig_job){.key = *key, .sig = *sig, .msg_offset = (uint32_t)c->arena_len,
                   .msg_len = (uint32_t)need, .height = a->height, .set_from = a->set_from,
                   .tx_index = tx,
                   .detail = (uint16_t)detail, .kind = (uint8_t)kind};
    c->arena_len += need;
    return true;
}

static bool fail_block(auditor *a, int64_t tx, const char *fmt, ...)
{
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    record_failure(a->pool, a->height, tx, "%s", reason);
    return false;
}

/* A pruned tx (codec.h; FORMATS.md 5.10): its leaf hash and id are read from it, and
 * there is no signature to check (its receipt must be a routing refusal: check_receipts). */
static bool check_pruned(auditor *a, uint32_t index, const codec_span *span)
{
    codec_pruned_tx p;
    codec_error cerr;
    char why[160];
    if (codec_pruned_tx_decode(span->data, span->len, &p, &cerr) != CODEC_OK) {
        return fail_block(a, index, "pruned tx does not decode: %s",
                          codec_error_format(&cerr, why, sizeof why));
    }
    a->tx_ids[index] = p.tx_id;
    a->leaves[index] = p.leaf;
    merkle_frontier_append(&a->log, &a->leaves[index], NULL, NULL);
    return true;
}

static bool check_tx(auditor *a, uint32_t index, const codec_span *span)
{
    static _Thread_local codec_tx tx;
    codec_error cerr;
    char why[160];
    if (codec_entry_is_pruned(span)) return check_pruned(a, index, span);
    if (codec_tx_decode(span->data, span->len, &tx, &cerr) != CODEC_OK) {
        return fail_block(a, index, "tx does not decode: %s",
                          codec_error_format(&cerr, why, sizeof why));
    }
    tcrypto_sha256(span->data, span->len, &a->tx_ids[index]);
    merkle_leaf_hash(span->data, span->len, &a->leaves[index]);
    merkle_frontier_append(&a->log, &a->leaves[index], NULL, NULL);
    static const uint8_t body_header = 0x96; /* fixarray of the 6 body fields */
    if (!queue_sig(a, &tx.signer, &tx.sig, TCRYPTO_TAG_TX, &body_header, 1, tx.body_fields,
                   tx.body_fields_len, (int32_t)index, JOB_TX, 0)) {
        return fail_block(a, index, "out of memory");
    }
    if (tx.cosig_count == 0) return true;
    hash32 body_hash;
    tcrypto_sha256_state st;
    tcrypto_sha256_init(&st);
    tcrypto_sha256_update(&st, &body_header, 1);
    tcrypto_sha256_update(&st, tx.body_fields, tx.body_fields_len);
    tcrypto_sha256_final(&st, &body_hash);
    for (uint32_t k = 0; k < tx.cosig_count; k++) {
        uint8_t body[96];
        codec_buf b = codec_buf_make(body, sizeof body);
        codec_cosig_body_encode(&body_hash, tx.cosigs[k].meaning, &tx.cosigs[k].key, &b);
        if (!queue_sig(a, &tx.cosigs[k].key, &tx.cosigs[k].sig, TCRYPTO_TAG_COSIG, NULL, 0,
                       body, b.len, (int32_t)index, JOB_COSIG, k)) {
            return fail_block(a, index, "out of memory");
        }
    }
    return true;
}

/* FORMATS.md 5.10: a pruned tx's receipt is INVALID with code 4..7, 16 or 19 (a signer with
 * no write role: none, an auditor, or a revoked key; a route that does not exist or fit) and
 * has one event,
 * "tx.pruned", whose data is SHA-256 of the pruned entry (the certificate binds it); and a
 * receipt of such a refusal belongs to a pruned entry, never to a whole tx. */
static bool refusal_prunes(const codec_receipt *r)
{
    return r->status == RECEIPT_INVALID
           && ((r->error_code >= EXEC_E_NO_ROLE && r->error_code <= EXEC_E_BAD_ARGS)
               || r->error_code == EXEC_E_READ_ONLY || r->error_code == EXEC_E_KEY_REVOKED);
}

static bool pruned_receipt_fits(const codec_span *entry, const codec_receipt *r)
{
    hash32 h;
    tcrypto_sha256(entry->data, entry->len, &h);
    return refusal_prunes(r) && r->event_count == 1
           && strcmp(r->events[0].topic.text, EXEC_PRUNED_TOPIC) == 0 && r->events[0].len == 32
           && memcmp(r->events[0].data, h.bytes, 32) == 0;
}

/* A governance change in an OK receipt (consortium.h): the history follows it, so that the
 * certificates of later heights are checked against the validator set in force there. */
static bool record_governance(auditor *a, uint32_t index, const codec_span *tx_span,
                              const codec_receipt *r)
{
    bool governance = false;
    for (uint32_t k = 0; k < r->event_count; k++) {
        governance |= strncmp(r->events[k].topic.text, "governance.", 11) == 0;
    }
    if (!governance || r->status != RECEIPT_OK) return true;
    static _Thread_local codec_tx tx;
    if (codec_tx_decode(tx_span->data, tx_span->len, &tx, NULL) != CODEC_OK) return true;
    char why[200];
    if (consortium_history_record(&a->hist, a->height, tx.contract.text, r, why, sizeof why)
        != 0) {
        return fail_block(a, index, "governance change refused: %s", why);
    }
    return true;
}

static bool check_receipts(auditor *a, const codec_block *b, hash32 *receipts_root)
{
    static _Thread_local codec_receipt receipt;
    if (b->receipt_count != b->tx_count) {
        return fail_block(a, -1, "%u receipts for %u txs", b->receipt_count, b->tx_count);
    }
    for (uint32_t i = 0; i < b->receipt_count; i++) {
        codec_error cerr;
        char why[160];
        if (codec_receipt_decode(b->receipts[i].data, b->receipts[i].len, &receipt, &cerr)
            != CODEC_OK) {
            return fail_block(a, i, "receipt does not decode: %s",
                              codec_error_format(&cerr, why, sizeof why));
        }
        if (memcmp(receipt.tx_id.bytes, a->tx_ids[i].bytes, 32) != 0) {
            return fail_block(a, i, "receipt names another tx");
        }
        bool pruned = codec_entry_is_pruned(&b->txs[i]);
        if (pruned && !pruned_receipt_fits(&b->txs[i], &receipt)) {
            return fail_block(a, i, "a pruned tx whose receipt is not a refusal of its signer "
                                    "or route naming it (status %u code %u)",
                              receipt.status, receipt.error_code);
        }
        /* and the other way: such a refusal is always kept pruned, never whole (free bytes) */
        if (!pruned && refusal_prunes(&receipt)) {
            return fail_block(a, i, "a tx refused for its signer or route (code %u) is kept "
                                    "whole: it must be kept pruned (FORMATS 5.10)",
                              receipt.error_code);
        }
        if (!pruned && !record_governance(a, i, &b->txs[i], &receipt)) return false;
        merkle_leaf_hash(b->receipts[i].data, b->receipts[i].len, &a->leaves[i]);
    }
    merkle_root_of_leaves(a->leaves, b->receipt_count, receipts_root);
    return true;
}

/* Check quorum, validator indexes, and queue the signatures of a certificate. */
static bool queue_cert_sigs(auditor *a, const codec_vsig *sigs, uint32_t count,
                            const char *tag, const uint8_t *body, size_t body_len,
                            unsigned kind, const char *what)
{
    consortium c;
    consortium_at(&a->hist, a->height, &c); /* the validators only: it cannot fail */
    a->set_from = kind == JOB_COMMIT || kind == JOB_CHECKPOINT ? c.valset_from : 0;
    if (count < c.quorum) {
        return fail_block(a, -1, "%s has %u signatures, needs %u (the validator set in force "
                                 "from height %llu has %u)", what, count, c.quorum,
                          (unsigned long long)c.valset_from, c.validator_count);
    }
    for (uint32_t i = 0; i < count; i++) {
        if (sigs[i].validator >= c.validator_count) {
            return fail_block(a, -1, "%s names validator %u, not in the set in force from "
                                     "height %llu (%u validators)", what, sigs[i].validator,
                              (unsigned long long)c.valset_from, c.validator_count);
        }
        const pubkey *key = &c.validators[sigs[i].validator].key;
        if (!queue_sig(a, key, &sigs[i].sig, tag, NULL, 0, body, body_len, -1, kind,
                       sigs[i].validator)) {
            return fail_block(a, -1, "out of memory");
        }
    }
    return true;
}

static bool check_commit_cert(auditor *a, const codec_block *b)
{
    static _Thread_local codec_commit_cert cert;
    codec_error cerr;
    char why[160];
    if (codec_commit_cert_decode(b->commit_cert.data, b->commit_cert.len, &cert, &cerr)
        != CODEC_OK) {
        return fail_block(a, -1, "commit certificate: %s",
                          codec_error_format(&cerr, why, sizeof why));
    }
    hash32 batch_hash;
    codec_batch_hash(&b->header.batch, &batch_hash);
    if (cert.height != a->height || memcmp(cert.batch_hash.bytes, batch_hash.bytes, 32) != 0) {
        return fail_block(a, -1, "commit certificate is for another batch");
    }
    uint8_t body[64];
    codec_buf out = codec_buf_make(body, sizeof body);
    codec_commit_body_encode(cert.height, cert.view, &cert.batch_hash, &out);
    return queue_cert_sigs(a, cert.sigs, cert.sig_count, TCRYPTO_TAG_COMMIT, body, out.len,
                           JOB_COMMIT, "commit certificate");
}

static bool check_result_cert(auditor *a, const codec_span *span, const ledger_summary *s)
{
    static _Thread_local codec_result_cert cert;
    if (span->len == 0) {
        if (a->summary->uncertified_from == 0) a->summary->uncertified_from = a->height;
        return true;
    }
    if (a->summary->uncertified_from != 0) {
        a->height = a->summary->uncertified_from;
        return fail_block(a, -1, "result certificate is missing (later blocks have one)");
    }
    codec_error cerr;
    char why[160];
    if (codec_result_cert_decode(span->data, span->len, &cert, &cerr) != CODEC_OK) {
        return fail_block(a, -1, "result certificate: %s",
                          codec_error_format(&cerr, why, sizeof why));
    }
    if (cert.height != a->height) return fail_block(a, -1, "result certificate height differs");
    if (memcmp(cert.block_hash.bytes, s->block_hash.bytes, 32) != 0) {
        return fail_block(a, -1, "result certificate names another block hash");
    }
    if (memcmp(cert.state_hash.bytes, s->state_hash.bytes, 32) != 0) {
        return fail_block(a, -1, "state hash differs from the result certificate");
    }
    if (memcmp(cert.receipts_root.bytes, s->receipts_root.bytes, 32) != 0) {
        return fail_block(a, -1, "receipts root differs from the result certificate");
    }
    uint8_t body[160];
    codec_buf out = codec_buf_make(body, sizeof body);
    codec_checkpoint_body_encode(&cert, &out);
    return queue_cert_sigs(a, cert.sigs, cert.sig_count, TCRYPTO_TAG_CHECKPOINT, body, out.len,
                           JOB_CHECKPOINT, "result certificate");
}

static bool check_header(auditor *a, const codec_block_header *h, uint32_t tx_count)
{
    if (h->batch.height != a->height) {
        return fail_block(a, -1, "block holds height %llu", (unsigned long long)h->batch.height);
    }
    if (memcmp(h->prev_hash.bytes, a->head.block_hash.bytes, 32) != 0) {
        return fail_block(a, -1, "previous block hash does not link");
    }
    if (h->batch.tx_count != tx_count) return fail_block(a, -1, "tx count differs");
    return true;
}

static bool check_block(auditor *a, const codec_span *block, const codec_span *cert)
{
    codec_block b = {.txs = a->txs, .receipts = a->receipts, .writes = a->writes};
    codec_error cerr;
    char why[160];
    if (codec_block_decode(block->data, block->len, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX,
                           &cerr) != CODEC_OK) {
        return fail_block(a, -1, "block does not decode: %s",
                          codec_error_format(&cerr, why, sizeof why));
    }
    if (!check_header(a, &b.header, b.tx_count)) return false;
    for (uint32_t i = 0; i < b.tx_count; i++) {
        if (!check_tx(a, i, &b.txs[i])) return false;
    }
    hash32 root;
    merkle_root_of_leaves(a->leaves, b.tx_count, &root);
    if (memcmp(root.bytes, b.header.batch.tx_root.bytes, 32) != 0) {
        return fail_block(a, -1, "tx root does not match the txs");
    }
    merkle_frontier_root(&a->log, &root);
    if (a->log.size != b.header.log_size || memcmp(root.bytes, b.header.log_root.bytes, 32)) {
        return fail_block(a, -1, "log size or log root does not match the ledger's txs");
    }
    ledger_summary s = {.height = a->height, .log_size = a->log.size};
    if (!check_receipts(a, &b, &s.receipts_root)) return false;
    codec_block_hash(&b.header, &s.block_hash);
    ledger_next_state_hash(&a->head.state_hash, b.writes, b.write_count, &s.state_hash);
    if (!check_commit_cert(a, &b) || !check_result_cert(a, cert, &s)) return false;
    if (a->replay) {
        int64_t tx;
        char differs[200];
        if (!replay_block(a->replay, &b, &s, &tx, differs, sizeof differs)) {
            pthread_mutex_lock(&a->pool->mu);
            char reason[256];
            snprintf(reason, sizeof reason, "re-execution differs: %s", differs);
            record_failure_locked(a->pool, a->height, tx, reason, true);
            pthread_mutex_unlock(&a->pool->mu);
            return false;
        }
        a->summary->reexecuted++;
    }
    a->head = s;
    /* the effective block time (docs/FORMATS.md 5.2): a null batch after a view change
     * proposes time 0, and a re-issued batch keeps its old time */
    a->prev_time_ms = b.header.batch.time_ms > a->prev_time_ms ? b.header.batch.time_ms
                                                              : a->prev_time_ms + 1;
    a->summary->txs += b.tx_count;
    a->summary->blocks++;
    return true;
}

/* ---- driver ---------------------------------------------------------------------- */

static bool auditor_init(auditor *a, const uint8_t *genesis, size_t len, audit_failure *f)
{
    codec_error cerr;
    char why[160];
    if (codec_genesis_decode(genesis, len, &a->genesis, &cerr) != CODEC_OK) {
        snprintf(f->reason, sizeof f->reason, "genesis does not decode: %s",
                 codec_error_format(&cerr, why, sizeof why));
        return false;
    }
    tcrypto_sha256(genesis, len, &a->chain_id);
    if (consortium_history_init(&a->hist, &a->genesis) != 0) {
        snprintf(f->reason, sizeof f->reason, "out of memory");
        return false;
    }
    a->hist_ready = true;
    a->head.state_hash = a->chain_id;
    a->prev_time_ms = a->genesis.created_ms;
    a->txs = calloc(CODEC_BLOCK_TXS_MAX, sizeof *a->txs);
    a->receipts = calloc(CODEC_BLOCK_TXS_MAX, sizeof *a->receipts);
    a->writes = calloc(CODEC_WRITES_MAX, sizeof *a->writes);
    a->leaves = calloc(CODEC_BLOCK_TXS_MAX, sizeof *a->leaves);
    a->tx_ids = calloc(CODEC_BLOCK_TXS_MAX, sizeof *a->tx_ids);
    if (!a->txs || !a->receipts || !a->writes || !a->leaves || !a->tx_ids) {
        snprintf(f->reason, sizeof f->reason, "out of memory");
        return false;
    }
    if (!a->opt->reexecute) return true;
    if (!a->opt->scratch_dir) {
        snprintf(f->reason, sizeof f->reason, "re-execution needs a scratch directory");
        return false;
    }
    return replay_open(genesis, len, a->opt->scratch_dir, &a->replay, f->reason,
                       sizeof f->reason) == 0;
}

static void auditor_free(auditor *a)
{
    free(a->txs);
    free(a->receipts);
    free(a->writes);
    free(a->leaves);
    free(a->tx_ids);
    replay_close(a->replay);
    if (a->hist_ready) consortium_history_free(&a->hist);
    if (a->current) chunk_free(a->current);
}

static unsigned thread_count(unsigned requested)
{
    if (requested == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        requested = n > 0 ? (unsigned)n : 1;
    }
    return requested > THREADS_MAX ? THREADS_MAX : requested;
}

static void report_progress(auditor *a)
{
    audit_progress p = {.blocks = a->summary->blocks, .txs = a->summary->txs,
                        .signatures_queued = a->summary->signatures
                                             + (a->current ? a->current->count : 0)};
    pthread_mutex_lock(&a->pool->mu);
    p.signatures_verified = a->pool->verified;
    pthread_mutex_unlock(&a->pool->mu);
    a->opt->progress(a->opt->progress_ctx, &p);
}

/* Parse every block the source yields; stops at the first failure. */
static void parse_all(auditor *a, const audit_source *src)
{
    for (a->height = 1;; a->height++) {
        codec_span block, cert;
        char why[200] = "";
        int rc = src->next(src->ctx, &block, &cert, why, sizeof why);
        if (rc == 0) break;
        if (rc < 0) {
            fail_block(a, -1, "cannot read the block: %s", why);
            break;
        }
        if (!check_block(a, &block, &cert)) break;
        if (a->opt->progress) report_progress(a);
    }
    flush_chunk(a);
}

bool audit_run(const uint8_t *genesis, size_t genesis_len, const audit_source *src,
               unsigned threads, audit_summary *summary, audit_failure *failure)
{
    audit_options opt = {.threads = threads};
    return audit_run_with(genesis, genesis_len, src, &opt, summary, failure);
}

bool audit_run_with(const uint8_t *genesis, size_t genesis_len, const audit_source *src,
                    const audit_options *opt, audit_summary *summary, audit_failure *failure)
{
    memset(summary, 0, sizeof *summary);
    memset(failure, 0, sizeof *failure);
    failure->tx_index = -1;
    auditor *a = calloc(1, sizeof *a);
    pool p = {.first = {.tx_index = -1}};
    if (a) a->opt = opt;
    if (!a || !auditor_init(a, genesis, genesis_len, failure)) {
        if (!a) snprintf(failure->reason, sizeof failure->reason, "out of memory");
        if (a) auditor_free(a);
        free(a);
        return false;
    }
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.work, NULL);
    pthread_cond_init(&p.space, NULL);
    a->pool = &p;
    a->summary = summary;
    a->opt = opt;
    pthread_t workers[THREADS_MAX];
    unsigned n = thread_count(opt->threads);
    for (unsigned i = 0; i < n; i++) pthread_create(&workers[i], NULL, worker_main, &p);
    parse_all(a, src);
    pthread_mutex_lock(&p.mu);
    p.closing = true;
    pthread_cond_broadcast(&p.work);
    pthread_mutex_unlock(&p.mu);
    for (unsigned i = 0; i < n; i++) pthread_join(workers[i], NULL);
    summary->head = a->head;
    /* every block replayed the same: a store's state rows must be what they leave */
    char why[200];
    if (!p.failed && a->replay && src->store
        && !replay_same_state(a->replay, src->store, why, sizeof why)) {
        p.failed = true;
        p.first = (audit_failure){.height = 0, .tx_index = -1};
        snprintf(p.first.reason, sizeof p.first.reason, "re-execution differs: %s", why);
    }
    if (p.failed) *failure = p.first;
    auditor_free(a);
    free(a);
    pthread_cond_destroy(&p.space);
    pthread_cond_destroy(&p.work);
    pthread_mutex_destroy(&p.mu);
    return !p.failed;
}

/* ---- export file source ------------------------------------------------------------ */

struct audit_file {
    uint8_t *map;
    size_t len;
    size_t pos;
    codec_export_header header;
    uint64_t read;
};

int audit_file_open(const char *path, audit_file **out, char *why, size_t why_cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return snprintf(why, why_cap, "cannot open %s", path), -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
        close(fd);
        return snprintf(why, why_cap, "%s is not a non-empty regular file", path), -1;
    }
    audit_file *f = calloc(1, sizeof *f);
    if (!f) return close(fd), snprintf(why, why_cap, "out of memory"), -1;
    f->len = (size_t)st.st_size;
    f->map = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (f->map == MAP_FAILED) {
        free(f);
        return snprintf(why, why_cap, "cannot map %s", path), -1;
    }
    codec_error cerr;
    char detail[160];
    if (codec_export_header_decode(f->map, f->len, &f->header, &f->pos, &cerr) != CODEC_OK) {
        snprintf(why, why_cap, "%s is not a trialreg ledger export: %s", path,
                 codec_error_format(&cerr, detail, sizeof detail));
        audit_file_close(f);
        return -1;
    }
    *out = f;
    return 0;
}

static int file_next(void *ctx, codec_span *block, codec_span *cert, char *why, size_t cap)
{
    audit_file *f = ctx;
    if (f->read == f->header.block_count) {
        if (f->pos != f->len) return snprintf(why, cap, "trailing bytes after the last block"), -1;
        return 0;
    }
    if (f->pos == f->len) {
        snprintf(why, cap, "file ends after %llu of %llu blocks", (unsigned long long)f->read,
                 (unsigned long long)f->header.block_count);
        return -1;
    }
    codec_error cerr;
    char detail[160];
    size_t used = 0;
    if (codec_export_entry_decode(f->map + f->pos, f->len - f->pos, block, cert, &used, &cerr)
        != CODEC_OK) {
        cerr.offset += f->pos;
        snprintf(why, cap, "%s", codec_error_format(&cerr, detail, sizeof detail));
        return -1;
    }
    f->pos += used;
    f->read++;
    return 1;
}

void audit_file_source(audit_file *f, audit_source *out)
{
    *out = (audit_source){.next = file_next, .ctx = f};
}

const hash32 *audit_file_chain_id(const audit_file *f) { return &f->header.chain_id; }
uint64_t audit_file_block_count(const audit_file *f) { return f->header.block_count; }

void audit_file_close(audit_file *f)
{
    if (!f) return;
    munmap(f->map, f->len);
    free(f);
}

/* ---- stored ledger source ------------------------------------------------------------ */

static int ledger_next(void *ctx, codec_span *block, codec_span *cert, char *why, size_t cap)
{
    audit_ledger_cursor *c = ctx;
    audit_ledger_cursor_done(c);
    ledger_summary head;
    ledger_head(c->store, &head);
    if (c->next_height > head.height) return 0;
    size_t block_len, cert_len = 0;
    if (ledger_get_block(c->store, c->next_height, &c->block, &block_len) != LEDGER_OK) {
        return snprintf(why, cap, "block is missing from the store"), -1;
    }
    ledger_err rc = ledger_get_result_cert(c->store, c->next_height, &c->cert, &cert_len);
    if (rc != LEDGER_OK && rc != LEDGER_ERR_NOT_FOUND) {
        return snprintf(why, cap, "result certificate is unreadable"), -1;
    }
    *block = (codec_span){c->block, block_len};
    *cert = (codec_span){c->cert, rc == LEDGER_OK ? cert_len : 0};
    c->next_height++;
    return 1;
}

void audit_ledger_source(audit_ledger_cursor *cursor, ledger *store, audit_source *out)
{
    *cursor = (audit_ledger_cursor){.store = store, .next_height = 1};
    *out = (audit_source){.next = ledger_next, .ctx = cursor, .store = store};
}

void audit_ledger_cursor_done(audit_ledger_cursor *cursor)
{
    free(cursor->block);
    free(cursor->cert);
    cursor->block = NULL;
    cursor->cert = NULL;
}

/* ---- export ------------------------------------------------------------------------------ */

static int export_entry(ledger *l, FILE *f, uint64_t h, char *why, size_t why_cap)
{
    uint8_t *block = NULL, *cert = NULL;
    size_t block_len, cert_len = 0;
    if (ledger_get_block(l, h, &block, &block_len) != LEDGER_OK) {
        return snprintf(why, why_cap, "block %llu is unreadable", (unsigned long long)h), -1;
    }
    if (ledger_get_result_cert(l, h, &cert, &cert_len) != LEDGER_OK) cert_len = 0;
    size_t cap = block_len + cert_len + 16;
    uint8_t *buf = malloc(cap);
    int rc = -1;
    if (buf) {
        codec_buf b = codec_buf_make(buf, cap);
        codec_span bs = {block, block_len}, cs = {cert, cert_len};
        if (codec_export_entry_encode(&bs, &cs, &b) == CODEC_OK
            && fwrite(b.data, 1, b.len, f) == b.len) {
            rc = 0;
        }
    }
    if (rc != 0) snprintf(why, why_cap, "cannot write block %llu", (unsigned long long)h);
    free(buf);
    free(block);
    free(cert);
    return rc;
}

uint64_t audit_certified_height(ledger *l)
{
    ledger_summary head;
    ledger_head(l, &head);
    uint64_t h = 0;
    for (; h < head.height; h++) {
        uint8_t *cert;
        size_t len;
        if (ledger_get_result_cert(l, h + 1, &cert, &len) != LEDGER_OK) break;
        free(cert);
    }
    return h;
}

int audit_export_heights(ledger *l, FILE *f, uint64_t last, char *why, size_t why_cap)
{
    ledger_summary head;
    ledger_head(l, &head);
    if (last > head.height) {
        return snprintf(why, why_cap, "no block at height %llu (head is %llu)",
                        (unsigned long long)last, (unsigned long long)head.height), -1;
    }
    uint8_t header[128];
    codec_buf hb = codec_buf_make(header, sizeof header);
    codec_export_header h = {.chain_id = *ledger_chain_id(l), .block_count = last};
    codec_export_header_encode(&h, &hb);
    if (fwrite(hb.data, 1, hb.len, f) != hb.len) {
        return snprintf(why, why_cap, "cannot write the header"), -1;
    }
    for (uint64_t height = 1; height <= last; height++) {
        if (export_entry(l, f, height, why, why_cap) != 0) return -1;
    }
    return 0;
}

int audit_export(ledger *l, FILE *f, char *why, size_t why_cap)
{
    ledger_summary head;
    ledger_head(l, &head);
    return audit_export_heights(l, f, head.height, why, why_cap);
}
