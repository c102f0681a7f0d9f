/*
 * client_api.c - the validator's answers to clients (see client_api.h).
 *
 * Deliberately simple: each request encodes its reply body into a buffer malloc'd for that
 * request (the body is nested as bin in the response, so it cannot be written in place),
 * and the executor is behind one mutex (queries are short; the node has two cores).
 */
#include "client_api.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpsig.h"
#include "merkle.h"
#include "proof.h"

#define CAPI_RESPONSE_OVERHEAD 256 /* array + status + reason str + bin header */
#define CAPI_PROOF_MAX (64 * 1024)

struct capi {
    capi_config cfg;
    hash32 chain_id;
    pthread_mutex_t lock;
    /* scratch for block decoding and proofs, used only under lock */
    codec_span *block_txs;
    codec_span *block_receipts;
    codec_write *block_writes;
    uint8_t *proof;
    hash32 *leaves; /* receipt leaf hashes of one block, for the receipt path */
    uint64_t answers[CAPI_ANSWER_KINDS]; /* by status (atomic) */
    /* The public history's index (issue 19 item 5): every protocol-level tx that committed
     * OK, in commit order, over every trial, built incrementally from the blocks each
     * public request finds new (so an unsigned request never rescans the chain under the
     * executor's lock); rebuilt by one scan after a restart. Bounded: a node whose chain
     * holds more answers TOO_LARGE. */
    exec_public_tx *pub;
    uint64_t *pub_height;
    uint32_t pub_count;
    uint64_t pub_scanned;   /* blocks 1..pub_scanned are in the index */
};

#define CAPI_PUBLIC_INDEX_MAX 16384
#define CAPI_PUBLIC_SCAN_BLOCKS 16 /* blocks indexed per hold of the lock */

/* What one request's handler produces. */
typedef struct {
    uint32_t status;
    char reason[CODEC_REASON_MAX + 1];
    codec_buf body;
    /* The key another transport authenticated the request with (capi_handle_as: the HTTP
     * API's RFC 9421 signature), or NULL: then queries and reads carry their own. */
    const pubkey *verified;
} answer;

static uint64_t system_clock_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

capi *capi_open(const capi_config *cfg)
{
    if (!cfg || !cfg->executor || cfg->blocks_max < 1 || cfg->blocks_max > CODEC_BLOCKS_REPLY_MAX)
        return NULL;
    capi *api = calloc(1, sizeof *api);
    if (!api) return NULL;
    api->cfg = *cfg;
    if (!api->cfg.clock) api->cfg.clock = system_clock_ms;
    api->chain_id = *ledger_chain_id(exec_ledger(cfg->executor));
    api->block_txs = calloc(CODEC_BLOCK_TXS_MAX, sizeof *api->block_txs);
    api->block_receipts = calloc(CODEC_BLOCK_TXS_MAX, sizeof *api->block_receipts);
    api->block_writes = calloc(CODEC_WRITES_MAX, sizeof *api->block_writes);
    api->proof = malloc(CAPI_PROOF_MAX);
    api->leaves = calloc(CODEC_BLOCK_TXS_MAX, sizeof *api->leaves);
    api->pub = calloc(CAPI_PUBLIC_INDEX_MAX, sizeof *api->pub);
    api->pub_height = calloc(CAPI_PUBLIC_INDEX_MAX, sizeof *api->pub_height);
    if (!api->block_txs || !api->block_receipts || !api->block_writes || !api->proof
        || !api->leaves || !api->pub || !api->pub_height
        || pthread_mutex_init(&api->lock, NULL) != 0) {
        free(api->pub);
        free(api->pub_height);
        free(api->leaves);
        free(api->block_txs);
        free(api->block_receipts);
        free(api->block_writes);
        free(api->proof);
        free(api);
        return NULL;
    }
    return api;
}

void capi_close(capi *api)
{
    if (!api) return;
    pthread_mutex_destroy(&api->lock);
    free(api->block_txs);
    free(api->block_receipts);
    free(api->block_writes);
    free(api->proof);
    free(api->leaves);
    free(api->pub);
    free(api->pub_height);
    free(api);
}

void capi_exec_lock(capi *api) { pthread_mutex_lock(&api->lock); }
void capi_exec_unlock(capi *api) { pthread_mutex_unlock(&api->lock); }

/* Set a refusal: status plus a specific reason (printf style). Returns false. */
__attribute__((format(printf, 3, 4))) static bool refuse(answer *a, uint32_t status,
                                                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->reason, sizeof a->reason, fmt, ap);
    va_end(ap);
    a->status = status;
    a->body.len = 0;
    return false;
}

static bool body_done(answer *a, codec_err rc)
{
    if (rc == CODEC_ERR_OVERFLOW) return refuse(a, CAPI_TOO_LARGE, "%s", capi_status_reason(CAPI_TOO_LARGE));
    if (rc != CODEC_OK) return refuse(a, CAPI_INTERNAL, "encoding the reply: %s", codec_strerror(rc));
    return true;
}

/* ---- SUBMIT ------------------------------------------------------------------------ */

/* Issue 14 C, layer 1: a tx whose signer holds no role, or whose contract, method or
 * arguments do not exist or fit, is refused here against the last committed state, so
 * that it never reaches consensus (and the ledger); so is one whose valid_until is in the
 * past or too far ahead of the node's clock, or whose (signer, nonce) has committed
 * (exec_check_submit). 0 or the executor's INVALID code. */
static uint32_t admissible(capi *api, const codec_tx *tx, uint64_t now)
{
    capi_exec_lock(api);
    uint32_t code = exec_check_admissible(api->cfg.executor, tx);
    if (!code) code = exec_check_submit(api->cfg.executor, tx, now);
    capi_exec_unlock(api);
    return code;
}

/* Why a tx is refused at submit: the executor's reason, or for valid_until the field, its
 * value and the node's bound. */
static void refuse_inadmissible(const codec_tx *tx, uint32_t code, uint64_t now,
                                codec_submit_result *r)
{
    r->status = CAPI_SUBMIT_REFUSED;
    if (code == EXEC_E_EXPIRED)
        snprintf(r->reason, sizeof r->reason, "tx not accepted: tx.valid_until %" PRIu64
                 " is expired: not after the node's clock %" PRIu64 " (code %u)",
                 tx->valid_until, now, code);
    else if (code == EXEC_E_TOO_FAR)
        snprintf(r->reason, sizeof r->reason, "tx not accepted: tx.valid_until is too far ahead: "
                 "%" PRIu64 " ms after the node's clock, more than valid_for_max_ms + clock "
                 "skew (code %u)", tx->valid_until - now, code);
    else
        snprintf(r->reason, sizeof r->reason, "tx not accepted: %s (code %u)",
                 exec_reason(RECEIPT_INVALID, code), code);
}

/* Decode each tx, refuse the unroutable ones, hand the others to the submit callback together, and say
 * what became of each (in order). */
static void submit_txs(capi *api, const codec_span *txs, uint32_t count,
                       codec_submit_result *results)
{
    static _Thread_local codec_tx tx;
    static _Thread_local codec_span good[CODEC_SUBMIT_BATCH_MAX];
    static _Thread_local uint32_t where_in[CODEC_SUBMIT_BATCH_MAX];
    static _Thread_local codec_submit_result verdicts[CODEC_SUBMIT_BATCH_MAX];
    uint32_t n = 0, code;
    uint64_t now;
    for (uint32_t i = 0; i < count; i++) {
        codec_error err;
        char where[160];
        codec_submit_result *r = &results[i];
        r->status = CAPI_OK;
        r->reason[0] = 0;
        if (codec_tx_decode(txs[i].data, txs[i].len, &tx, &err) != CODEC_OK) {
            r->status = CAPI_BAD_BODY;
            snprintf(r->reason, sizeof r->reason, "tx: %s", codec_error_format(&err, where, sizeof where));
        } else if (!api->cfg.submit) {
            r->status = CAPI_SUBMIT_REFUSED;
            snprintf(r->reason, sizeof r->reason, "this node accepts no txs");
        } else if ((code = admissible(api, &tx, now = api->cfg.clock(api->cfg.clock_ctx))) != 0) {
            refuse_inadmissible(&tx, code, now, r);
        } else {
            good[n] = txs[i];
            where_in[n++] = i;
        }
    }
    if (n == 0)
        return;
    api->cfg.submit(api->cfg.submit_ctx, good, n, verdicts);
    for (uint32_t k = 0; k < n; k++) {
        codec_submit_result *r = &results[where_in[k]];
        if (verdicts[k].status == 0)
            continue;
        r->status = CAPI_SUBMIT_REFUSED;
        snprintf(r->reason, sizeof r->reason, "tx not accepted: %.*s",
                 (int)(sizeof r->reason - 20), verdicts[k].reason);
    }
}

static bool answer_submit(capi *api, const codec_span *body, answer *a)
{
    codec_submit_result r;
    submit_txs(api, body, 1, &r);
    return r.status == CAPI_OK || refuse(a, r.status, "%s", r.reason);
}

/* Several txs in one request (a gateway pipelining its clients' txs): their signatures are
 * checked together; the reply says what became of each, in order. */
static bool answer_submit_batch(capi *api, const codec_span *body, answer *a)
{
    static _Thread_local codec_span txs[CODEC_SUBMIT_BATCH_MAX];
    static _Thread_local codec_submit_result results[CODEC_SUBMIT_BATCH_MAX];
    uint32_t count = 0;
    codec_error err;
    char where[160];
    if (codec_submit_batch_decode(body->data, body->len, txs, CODEC_SUBMIT_BATCH_MAX, &count,
                                  &err) != CODEC_OK)
        return refuse(a, CAPI_BAD_BODY, "submit batch: %s", codec_error_format(&err, where, sizeof where));
    submit_txs(api, txs, count, results);
    return body_done(a, codec_submit_results_encode(results, count, &a->body));
}

/* ---- a revoked key reads nothing (issue 23) ------------------------------------------ */

/* Under lock: true if asker's key is not revoked, else a refusal naming the height. */
static bool not_revoked_locked(capi *api, const pubkey *asker, answer *a)
{
    exec_authority auth;
    if (exec_authority_of(api->cfg.executor, asker, &auth) != EXEC_AUTH_REVOKED) return true;
    char hex[17];
    tcrypto_to_hex(asker->bytes, 8, hex);
    return refuse(a, CAPI_DENIED, "key %s... (%s %s) was revoked at height %" PRIu64
                  ": it reads nothing from then on", hex, codec_role_name(auth.role),
                  auth.name.text, auth.height);
}

static bool not_revoked(capi *api, const pubkey *asker, answer *a)
{
    capi_exec_lock(api);
    bool ok = not_revoked_locked(api, asker, a);
    capi_exec_unlock(api);
    return ok;
}

/* ---- QUERY ------------------------------------------------------------------------- */

static bool query_signed(capi *api, const codec_query *q, answer *a)
{
    if (a->verified && memcmp(q->asker.bytes, a->verified->bytes, 32) != 0)
        return refuse(a, CAPI_BAD_SIGNATURE, "the query's asker is not the key that signed the request");
    /* the transport checked the signature and its time; a GRANT read still carries its own
     * signed query, since the read log keeps it as the researcher's evidence */
    if (a->verified && q->kind != QUERY_GRANT) return true;
    uint8_t body[512];
    codec_buf b = codec_buf_make(body, sizeof body);
    if (codec_query_body_encode(q, &b) != CODEC_OK)
        return refuse(a, CAPI_BAD_BODY, "query body too large");
    if (!tcrypto_verify(&q->asker, TCRYPTO_TAG_QUERY, &api->chain_id, b.data, b.len, &q->sig))
        return refuse(a, CAPI_BAD_SIGNATURE, "%s", capi_status_reason(CAPI_BAD_SIGNATURE));
    uint64_t now = api->cfg.clock(api->cfg.clock_ctx);
    uint64_t off = now > q->time_ms ? now - q->time_ms : q->time_ms - now;
    if (off > api->cfg.skew_ms)
        return refuse(a, CAPI_STALE, "query time is %" PRIu64 " ms %s the node's clock (allowed %" PRIu64 " ms): replayed or skewed",
                      off, now > q->time_ms ? "behind" : "ahead of", api->cfg.skew_ms);
    return true;
}

/* The big-endian u64 of an 8-byte argument. */
static uint64_t arg_u64(const codec_span *arg)
{
    uint64_t v = 0;
    for (uint32_t i = 0; i < 8; i++) v = v << 8 | arg->data[i];
    return v;
}

/* Check the arguments' shapes for the kind; sets the read kind and participant. */
static bool query_args(const codec_query *q, exec_read_kind *kind, const pubkey **participant,
                       answer *a)
{
    uint32_t want = q->kind == QUERY_CONSENT || q->kind == QUERY_GRANT ? 2 : 1;
    /* consent, grant, read log, timeline page: [, from] */
    bool cursor = (q->kind == QUERY_CONSENT || q->kind == QUERY_GRANT || q->kind == QUERY_READ_LOG
                   || q->kind == QUERY_TIMELINE_PAGE)
                  && q->arg_count == want + 1;
    if (q->arg_count != want && !cursor)
        return refuse(a, CAPI_BAD_BODY, "query kind %u takes %u arguments, got %u", q->kind, want, q->arg_count);
    if (cursor && q->args[want].len != 8)
        return refuse(a, CAPI_BAD_BODY, "the %s cursor must be 8 bytes (big-endian index)",
                      q->kind == QUERY_CONSENT ? "consent history" : q->kind == QUERY_GRANT ? "grant list"
                      : q->kind == QUERY_TIMELINE_PAGE ? "timeline page (a height)" : "read log");
    if (q->kind == QUERY_GRANT && q->args[1].len != 8)
        return refuse(a, CAPI_BAD_BODY, "the grant number must be 8 bytes (big-endian)");
    if (q->args[0].len > 32) return refuse(a, CAPI_BAD_BODY, "trial id longer than 32 bytes");
    *participant = NULL;
    *kind = q->kind == QUERY_TRIAL ? EXEC_READ_TRIAL
          : q->kind == QUERY_TIMELINE || q->kind == QUERY_TIMELINE_PAGE ? EXEC_READ_TIMELINE
          : q->kind == QUERY_GRANT ? EXEC_READ_GRANT
          : q->kind == QUERY_READ_LOG ? EXEC_READ_READ_LOG : EXEC_READ_CONSENT;
    if (q->kind == QUERY_CONSENT) {
        if (q->args[1].len != 32) return refuse(a, CAPI_BAD_BODY, "participant key must be 32 bytes");
        *participant = (const pubkey *)(const void *)q->args[1].data;
    }
    return true;
}

static bool reply_trial(capi *api, const codec_span *trial, answer *a)
{
    exec_trial t;
    if (exec_query_trial(api->cfg.executor, trial->data, trial->len, &t) != LEDGER_OK)
        return refuse(a, CAPI_NOT_FOUND, "no such trial");
    codec_trial_reply r = {t.version, t.approved, t.floor_version, t.floor_time_ms,
                           t.planned, t.registered_ms, t.sponsor};
    return body_done(a, codec_trial_reply_encode(&r, &a->body));
}

/* One page of the history: entries from `from` (the query's optional third argument, 0
 * without it) on, at most CODEC_CONSENT_REPLY_MAX, with the history's total, so that a
 * client always knows whether it holds the whole history and where the next page starts. */
static bool reply_consent(capi *api, const codec_query *q, const pubkey *participant,
                          answer *a)
{
    static _Thread_local exec_consent_entry h[CODEC_CONSENT_REPLY_MAX];
    static _Thread_local codec_consent_reply_entry r[CODEC_CONSENT_REPLY_MAX];
    uint64_t from = 0;
    for (uint32_t i = 0; q->arg_count == 3 && i < 8; i++) from = from << 8 | q->args[2].data[i];
    codec_consent_page page = {0};
    ledger_err rc = exec_query_consent_page(api->cfg.executor, q->args[0].data, q->args[0].len,
                                            participant, from, h, CODEC_CONSENT_REPLY_MAX,
                                            &page.count, &page.total);
    if (rc == LEDGER_ERR_NOT_FOUND && page.total > 0)
        return refuse(a, CAPI_NOT_FOUND, "cursor %" PRIu64 " is past the history's %" PRIu64 " entries", from, page.total);
    if (rc == LEDGER_ERR_NOT_FOUND || (rc == LEDGER_OK && page.total == 0))
        return refuse(a, CAPI_NOT_FOUND, "no consent record of that participant in the trial");
    if (rc != LEDGER_OK) return refuse(a, CAPI_INTERNAL, "consent history: %s", ledger_strerror(rc));
    page.from = from;
    for (uint32_t i = 0; i < page.count; i++) {
        r[i] = (codec_consent_reply_entry){h[i].kind, h[i].time_ms, h[i].scopes, h[i].version,
                                           h[i].form, h[i].witness, h[i].meaning,
                                           h[i].flags, h[i].other};
    }
    return body_done(a, codec_consent_reply_encode(&page, r, &a->body));
}

/* The timeline as the asker's role sees it (exec_tx_visible, issue 19 item 4). */
static bool reply_timeline(capi *api, const codec_span *trial, const pubkey *asker, answer *a)
{
    char *text = NULL;
    size_t len = 0;
    exec_viewer viewer;
    exec_viewer_of(api->cfg.executor, asker, trial->data, trial->len, &viewer);
    FILE *mem = open_memstream(&text, &len);
    if (!mem) return refuse(a, CAPI_INTERNAL, "out of memory");
    ledger_err rc = exec_timeline_write_as(api->cfg.executor, trial->data, trial->len, &viewer, mem);
    fclose(mem);
    bool ok;
    if (rc == LEDGER_ERR_NOT_FOUND) ok = refuse(a, CAPI_NOT_FOUND, "no such trial");
    else if (rc != LEDGER_OK) ok = refuse(a, CAPI_INTERNAL, "timeline: %s", ledger_strerror(rc));
    else if (len > a->body.cap) ok = refuse(a, CAPI_TOO_LARGE, "timeline of %zu bytes exceeds the reply bound", len);
    else {
        memcpy(a->body.data, text, len);
        a->body.len = len;
        ok = true;
    }
    free(text);
    return ok;
}

/* ---- the timeline in pages (issue 20) ----------------------------------------------- */

/* One page being filled (exec_timeline_scan's visitor): the entries, their tx and receipt
 * bytes copied into arena (the block's own bytes are freed as the scan moves on), and where
 * the current block's entries start, so that a page ends only between blocks. */
typedef struct {
    codec_timeline_entry *entries;
    uint32_t count;
    uint8_t *arena;
    size_t used, cap;          /* arena bytes, and the page's byte bound */
    uint64_t block;            /* height of the block being added */
    uint32_t block_first;      /* its first entry */
    size_t block_used;         /* arena bytes before it */
    bool too_large;            /* one block's visible txs exceed the reply */
} page_fill;

/* The name of an authority's key (of the genesis or added by governance, revoked since or
 * not: exec_authority_of); unknown for any other key. */
static void key_name(exec *e, const pubkey *k, codec_key_name *out)
{
    memset(out, 0, sizeof *out);
    exec_authority a;
    int st = exec_authority_of(e, k, &a);
    if (st != EXEC_AUTH_ACTIVE && st != EXEC_AUTH_REVOKED) return;
    out->known = true;
    out->role = a.role;
    out->name = a.name;
}

static bool page_copy(page_fill *p, const codec_span *from, codec_span *to)
{
    if (p->used + from->len > p->cap) return false;
    memcpy(p->arena + p->used, from->data, from->len);
    *to = (codec_span){p->arena + p->used, from->len};
    p->used += from->len;
    return true;
}

static bool page_visit(void *ctx, exec *e, const codec_block *b, uint32_t i, const codec_tx *tx,
                       const codec_receipt *r)
{
    (void)r;
    page_fill *p = ctx;
    uint64_t h = b->header.batch.height;
    if (h != p->block) { /* a new block: the page may end before it */
        if (p->count >= CODEC_TIMELINE_PAGE_SOFT || p->used >= CODEC_TIMELINE_PAGE_BYTES) return false;
        p->block = h;
        p->block_first = p->count;
        p->block_used = p->used;
    }
    codec_timeline_entry *t = &p->entries[p->count];
    t->height = h;
    t->index = i;
    t->time_ms = b->header.batch.time_ms;
    t->name_count = 1 + tx->cosig_count;
    key_name(e, &tx->signer, &t->names[0]);
    for (uint32_t k = 0; k < tx->cosig_count; k++) key_name(e, &tx->cosigs[k].key, &t->names[1 + k]);
    p->used += 64 + 48 * t->name_count; /* the entry's own encoding, about */
    if (p->count >= CODEC_TIMELINE_PAGE_MAX || !page_copy(p, &b->txs[i], &t->tx)
        || !page_copy(p, &b->receipts[i], &t->receipt)) {
        /* the block does not fit: end the page before it, or (the page's first) refuse */
        p->too_large = p->block_first == 0;
        p->count = p->block_first;
        p->used = p->block_used;
        return false;
    }
    p->count++;
    return true;
}

/* One page of the timeline as the asker's role sees it, from the query's height (1 without
 * it): whole blocks, CODEC_TIMELINE_PAGE_SOFT entries or CODEC_TIMELINE_PAGE_BYTES about,
 * CODEC_TIMELINE_PAGE_BLOCKS blocks scanned at most (codec.h). Under lock. */
static bool reply_timeline_page(capi *api, const codec_query *q, answer *a)
{
    exec *e = api->cfg.executor;
    uint64_t from = q->arg_count == 2 ? arg_u64(&q->args[1]) : 1;
    exec_viewer viewer;
    exec_viewer_of(e, &q->asker, q->args[0].data, q->args[0].len, &viewer);
    ledger_summary head;
    ledger_head(exec_ledger(e), &head);
    if (from == 0 || from > head.height + 1)
        return refuse(a, CAPI_NOT_FOUND, "height %" PRIu64 " is not in 1..%" PRIu64 " (head + 1)", from, head.height + 1);
    page_fill p = {.entries = malloc(CODEC_TIMELINE_PAGE_MAX * sizeof *p.entries),
                   .cap = a->body.cap / 2, .arena = malloc(a->body.cap / 2)};
    codec_timeline_page page = {.head_height = head.height};
    bool ok;
    if (!p.entries || !p.arena) {
        ok = refuse(a, CAPI_INTERNAL, "out of memory");
    } else {
        ledger_err rc = exec_timeline_scan(e, q->args[0].data, q->args[0].len, &viewer, from,
                                           CODEC_TIMELINE_PAGE_BLOCKS, page_visit, &p, &page.next_height);
        page.count = p.count;
        if (rc != LEDGER_OK) ok = refuse(a, CAPI_INTERNAL, "timeline: %s", ledger_strerror(rc));
        else if (p.too_large) ok = refuse(a, CAPI_TOO_LARGE, "block %" PRIu64 "'s visible txs exceed the reply bound", p.block);
        else ok = body_done(a, codec_timeline_page_encode(&page, p.entries, &a->body));
    }
    free(p.entries);
    free(p.arena);
    return ok;
}

/* ---- reads through access grants, the read log (issue 19 item 3) --------------------- */

/* Log the read (synced) before answering it: no read is answered without its entry. */
static bool log_read(capi *api, const codec_query *q, const codec_span *evidence, bool http,
                     uint64_t grant, uint64_t from, uint32_t served, uint32_t removed, answer *a)
{
    uint8_t entry[CODEC_READ_LOG_ENTRY_MAX];
    codec_buf eb = codec_buf_make(entry, sizeof entry);
    codec_read_log_entry le = {api->cfg.clock(api->cfg.clock_ctx), grant, from, served, removed,
                               http ? (codec_span){NULL, 0} : *evidence,
                               http ? *evidence : (codec_span){NULL, 0}};
    if (codec_read_log_entry_encode(&le, &eb) != CODEC_OK)
        return refuse(a, CAPI_INTERNAL, "the read log entry does not encode");
    uint64_t seq;
    ledger_error err = {0};
    if (ledger_read_log_append(exec_ledger(api->cfg.executor), q->args[0].data, q->args[0].len,
                               eb.data, eb.len, &seq, &err) != LEDGER_OK)
        return refuse(a, CAPI_INTERNAL, "the read could not be logged, so it is not answered: %s",
                      err.message);
    return true;
}

/* One page of a grant's records, re-checked against consent now, logged, then answered.
 * Under lock. */
static bool reply_grant(capi *api, const codec_query *q, const codec_span *evidence, bool http,
                        answer *a)
{
    static _Thread_local exec_grant_item items[CODEC_GRANT_PAGE_MAX];
    static _Thread_local codec_grant_record rec[CODEC_GRANT_PAGE_MAX];
    static _Thread_local codec_grant_removed rm[CODEC_GRANT_PAGE_MAX];
    uint64_t grant = arg_u64(&q->args[1]), from = q->arg_count == 3 ? arg_u64(&q->args[2]) : 0;
    exec_grant_info info;
    uint32_t n = 0;
    ledger_err rc = exec_grant_info_get(api->cfg.executor, q->args[0].data, q->args[0].len, grant, &info);
    if (rc == LEDGER_ERR_NOT_FOUND) return refuse(a, CAPI_NOT_FOUND, "no grant %" PRIu64 " in the trial", grant);
    if (rc != LEDGER_OK) return refuse(a, CAPI_INTERNAL, "grant: %s", ledger_strerror(rc));
    if (memcmp(info.researcher.bytes, q->asker.bytes, 32) != 0) {
        char hex[17];
        tcrypto_to_hex(q->asker.bytes, 8, hex);
        return refuse(a, CAPI_DENIED, "key %s... may not read grant %" PRIu64 ": it was made to another researcher", hex, grant);
    }
    if (from > info.count)
        return refuse(a, CAPI_NOT_FOUND, "cursor %" PRIu64 " is past the grant's %" PRIu64 " records", from, info.count);
    rc = exec_grant_page(api->cfg.executor, q->args[0].data, q->args[0].len, grant, from, &info,
                         items, CODEC_GRANT_PAGE_MAX, &n);
    if (rc != LEDGER_OK) return refuse(a, CAPI_INTERNAL, "grant records: %s", ledger_strerror(rc));
    codec_grant_page page = {grant, info.scope, info.count, from, info.list_hash, 0, 0};
    for (uint32_t i = 0; i < n; i++) {
        const exec_grant_item *it = &items[i];
        uint32_t index = (uint32_t)(from + i);
        if (it->removed)
            rm[page.removed_count++] = (codec_grant_removed){index, it->anchor, it->removed};
        else
            rec[page.record_count++] = (codec_grant_record){index, it->anchor, it->participant,
                                                            it->scope, it->collected_at, it->size};
    }
    if (!body_done(a, codec_grant_reply_encode(&page, rec, rm, &a->body))) return false;
    return log_read(api, q, evidence, http, grant, from, page.record_count, page.removed_count, a);
}

/* One page of the trial's read log (regulators). Under lock. */
static bool reply_read_log(capi *api, const codec_query *q, answer *a)
{
    ledger *l = exec_ledger(api->cfg.executor);
    uint64_t total = 0, from = q->arg_count == 2 ? arg_u64(&q->args[1]) : 0;
    if (ledger_read_log_count(l, q->args[0].data, q->args[0].len, &total) != LEDGER_OK)
        return refuse(a, CAPI_INTERNAL, "the read log is unreadable");
    if (from > total)
        return refuse(a, CAPI_NOT_FOUND, "cursor %" PRIu64 " is past the read log's %" PRIu64 " entries", from, total);
    codec_span e[CODEC_READ_LOG_REPLY_MAX];
    uint8_t *held[CODEC_READ_LOG_REPLY_MAX];
    uint32_t n = 0;
    bool ok = true;
    size_t used = 64;
    for (; n < CODEC_READ_LOG_REPLY_MAX && from + n < total; n++) {
        size_t len = 0;
        if (ledger_read_log_get(l, q->args[0].data, q->args[0].len, from + n, &held[n], &len) != LEDGER_OK) {
            ok = refuse(a, CAPI_INTERNAL, "read log entry %" PRIu64 " unreadable", from + n);
            break;
        }
        e[n] = (codec_span){held[n], len};
        used += len + 8;
        if (used > a->body.cap) {
            free(held[n]);
            break;
        }
    }
    if (ok) ok = body_done(a, codec_read_log_reply_encode(total, from, e, n, &a->body));
    for (uint32_t i = 0; i < n; i++) free(held[i]);
    return ok;
}

static const char *read_name(exec_read_kind kind)
{
    switch (kind) {
    case EXEC_READ_CONSENT: return "consent record";
    case EXEC_READ_TRIAL: return "trial";
    case EXEC_READ_TIMELINE: return "timeline";
    case EXEC_READ_GRANT: return "grant's records (a researcher's read)";
    case EXEC_READ_READ_LOG: return "read log (a regulator's read)";
    }
    return "?";
}

/* Answer q, whose asker is authenticated (its own signature, the transport's, or an HTTP
 * evidence). evidence: what the read log keeps of a GRANT read (the signed query, or with
 * http the HTTP evidence). */
static bool answer_checked_query(capi *api, const codec_query *q, const codec_span *evidence,
                                 bool http, answer *a)
{
    exec_read_kind kind;
    const pubkey *participant;
    if (!query_args(q, &kind, &participant, a)) return false;
    bool ok;
    capi_exec_lock(api);
    if (!not_revoked_locked(api, &q->asker, a)) {
        ok = false;
    } else if (!exec_read_allowed(api->cfg.executor, &q->asker, kind, q->args[0].data, q->args[0].len,
                           participant)) {
        char hex[17];
        tcrypto_to_hex(q->asker.bytes, 8, hex);
        ok = refuse(a, CAPI_DENIED, "key %s... may not read this %s (no role for it in the trial)",
                    hex, read_name(kind));
    } else if (q->kind == QUERY_TRIAL) {
        ok = reply_trial(api, &q->args[0], a);
    } else if (q->kind == QUERY_CONSENT) {
        ok = reply_consent(api, q, participant, a);
    } else if (q->kind == QUERY_GRANT) {
        ok = reply_grant(api, q, evidence, http, a);
    } else if (q->kind == QUERY_READ_LOG) {
        ok = reply_read_log(api, q, a);
    } else if (q->kind == QUERY_TIMELINE_PAGE) {
        ok = reply_timeline_page(api, q, a);
    } else {
        ok = reply_timeline(api, &q->args[0], &q->asker, a);
    }
    capi_exec_unlock(api);
    return ok;
}

static bool answer_query(capi *api, const codec_span *body, answer *a)
{
    codec_query q;
    codec_error err;
    char where[160];
    if (codec_query_decode(body->data, body->len, &q, &err) != CODEC_OK)
        return refuse(a, CAPI_BAD_BODY, "query: %s", codec_error_format(&err, where, sizeof where));
    return query_signed(api, &q, a) && answer_checked_query(api, &q, body, false, a);
}

/* ---- HTTP_QUERY: a grant read signed with RFC 9421 (issue 20) ------------------------- */

/* The evidence stands for the query's signature: it verifies (RFC 9421, this chain's tag,
 * created within the skew) under the asker's key, and its target asks for exactly the
 * query's page of the grant. */
static bool http_evidence_check(capi *api, const codec_query *q, const codec_span *http, answer *a)
{
    static _Thread_local codec_http_evidence ev;
    codec_error err;
    char where[160], why[256];
    if (codec_http_evidence_decode(http->data, http->len, &ev, &err) != CODEC_OK)
        return refuse(a, CAPI_BAD_BODY, "http evidence: %s", codec_error_format(&err, where, sizeof where));
    int64_t now_s = (int64_t)(api->cfg.clock(api->cfg.clock_ctx) / 1000);
    pubkey key;
    if (!httpsig_verify_recorded(ev.signature_input, ev.signature, ev.method, ev.target, ev.authority,
                                 &api->chain_id, &now_s, (int64_t)(api->cfg.skew_ms / 1000), &key,
                                 why, sizeof why))
        return refuse(a, strstr(why, "stale") ? CAPI_STALE : CAPI_BAD_SIGNATURE, "HTTP evidence: %s", why);
    if (memcmp(key.bytes, q->asker.bytes, 32) != 0)
        return refuse(a, CAPI_BAD_SIGNATURE, "HTTP evidence: signed by another key than the query's asker");
    if (strcmp(ev.method, "GET") != 0
        || !codec_http_grant_target_matches(ev.target, q->args[0].data, q->args[0].len,
                                            arg_u64(&q->args[1]), q->arg_count == 3 ? arg_u64(&q->args[2]) : 0))
        return refuse(a, CAPI_BAD_SIGNATURE, "HTTP evidence: the signed request (%s %s) is not this page of the grant",
                      ev.method, ev.target);
    return true;
}

static bool answer_http_query(capi *api, const codec_span *body, answer *a)
{
    codec_span query, http;
    codec_query q;
    codec_error err;
    char where[160];
    if (codec_http_query_decode(body->data, body->len, &query, &http, &err) != CODEC_OK
        || codec_query_decode(query.data, query.len, &q, &err) != CODEC_OK)
        return refuse(a, CAPI_BAD_BODY, "http query: %s", codec_error_format(&err, where, sizeof where));
    static const signature none;
    if (q.kind != QUERY_GRANT || q.arg_count < 2 || q.args[1].len != 8
        || (q.arg_count == 3 && q.args[2].len != 8) || memcmp(q.sig.bytes, none.bytes, 64) != 0)
        return refuse(a, CAPI_BAD_BODY, "an http query is a GRANT query (trial, grant, from: 8 bytes each) with a zero sig");
    if (a->verified && memcmp(q.asker.bytes, a->verified->bytes, 32) != 0)
        return refuse(a, CAPI_BAD_SIGNATURE, "the query's asker is not the key that signed the request");
    return http_evidence_check(api, &q, &http, a) && answer_checked_query(api, &q, &http, true, a);
}

/* ---- signed reads (issue 19) ------------------------------------------------------- */

/* Who asks, and the read's own body. */
typedef struct {
    bool is_signed; /* false: a bare body, answered only with cfg.unsigned_reads */
    pubkey asker;
    codec_span body;
} read_request;

static const char *read_kind_name(uint32_t kind)
{
    return kind == CLIENT_BLOCKS    ? "BLOCKS"
           : kind == CLIENT_RECEIPT ? "RECEIPT"
           : kind == CLIENT_EVENTS  ? "EVENTS"
                                    : "RECEIPTS";
}

/* Open a read request: a signed read (codec.h) whose kind is this request's, whose
 * signature (tag READ, this chain, over [asker, time_ms, kind, body]) verifies and whose
 * time is within skew_ms of the node's clock; the same checks, in the same order, as a
 * query's. A bare body (what the request carried before reads were signed: bare(body)
 * says whether it is one) is refused as unsigned, unless the node runs with
 * unsigned_reads (the benchmark's A side). */
static bool read_open(capi *api, uint32_t kind, const codec_span *body,
                      bool (*bare)(const codec_span *), read_request *r, answer *a)
{
    static _Thread_local uint8_t signed_part[CODEC_READ_BODY_MAX + 128];
    codec_signed_read s;
    codec_error err;
    char where[160];
    if (a->verified) { /* the transport authenticated it: the body is the bare read body */
        *r = (read_request){.is_signed = true, .asker = *a->verified, .body = *body};
        return not_revoked(api, &r->asker, a);
    }
    if (codec_signed_read_decode(body->data, body->len, &s, &err) != CODEC_OK) {
        if (!bare(body))
            return refuse(a, CAPI_BAD_BODY, "%s request: %s", read_kind_name(kind),
                          codec_error_format(&err, where, sizeof where));
        if (!api->cfg.unsigned_reads)
            return refuse(a, CAPI_DENIED, "an unsigned %s request: reads are signed by a key "
                          "allowed to read them (trialctl --key)", read_kind_name(kind));
        *r = (read_request){.is_signed = false, .body = *body};
        return true;
    }
    if (s.kind != kind)
        return refuse(a, CAPI_BAD_BODY, "a signed read for request kind %u sent as kind %u",
                      s.kind, kind);
    codec_buf b = codec_buf_make(signed_part, sizeof signed_part);
    if (codec_signed_read_body_encode(&s, &b) != CODEC_OK
        || !tcrypto_verify(&s.asker, TCRYPTO_TAG_READ, &api->chain_id, b.data, b.len, &s.sig))
        return refuse(a, CAPI_BAD_SIGNATURE, "%s request: the signature does not verify on "
                      "this chain", read_kind_name(kind));
    uint64_t now = api->cfg.clock(api->cfg.clock_ctx);
    uint64_t off = now > s.time_ms ? now - s.time_ms : s.time_ms - now;
    if (off > api->cfg.skew_ms)
        return refuse(a, CAPI_STALE, "%s request time is %" PRIu64 " ms %s the node's clock "
                      "(allowed %" PRIu64 " ms): replayed or skewed", read_kind_name(kind), off,
                      now > s.time_ms ? "behind" : "ahead of", api->cfg.skew_ms);
    *r = (read_request){.is_signed = true, .asker = s.asker, .body = s.body};
    return not_revoked(api, &r->asker, a);
}

/* ---- RECEIPT and RECEIPTS ------------------------------------------------------------- */

/* The block last read for a receipt (a batch's ids are often in one block): decoded into
 * the capi's scratch, with its result certificate (NULL: not certified yet) and, once a
 * path was asked for, its receipts' leaf hashes in api->leaves; so used under lock only. */
typedef struct {
    uint64_t height; /* 0: none */
    uint8_t *data;
    codec_block b;
    uint8_t *cert;
    size_t cert_len;
    bool leaves; /* api->leaves holds this block's receipt leaf hashes */
} block_cache;

/* Under lock: the RFC 9162 path of receipt index in the block's receipts root. */
static bool receipt_path(capi *api, block_cache *c, uint32_t index, codec_receipt_reply *r)
{
    const codec_block *b = &c->b;
    for (uint32_t i = 0; !c->leaves && i < b->receipt_count; i++)
        merkle_leaf_hash(b->receipts[i].data, b->receipts[i].len, &api->leaves[i]);
    c->leaves = true;
    merkle_array arr = {api->leaves, b->receipt_count};
    merkle_source src;
    merkle_array_source(&arr, &src);
    size_t len = 0;
    if (merkle_inclusion_proof(&src, b->receipt_count, index, r->receipt_path, &len) != 0
        || len > CODEC_PROOF_PATH_MAX)
        return false;
    r->receipt_path_len = (uint32_t)len;
    return true;
}

static void block_cache_free(block_cache *c)
{
    free(c->data);
    free(c->cert);
    *c = (block_cache){0};
}

/* Under lock: block h into the cache. Returns 0 or CAPI_INTERNAL. */
static uint32_t block_cache_load(capi *api, block_cache *c, uint64_t h)
{
    if (c->height == h) return 0;
    block_cache_free(c);
    size_t len = 0;
    if (ledger_get_block(exec_ledger(api->cfg.executor), h, &c->data, &len) != LEDGER_OK)
        return CAPI_INTERNAL;
    c->b = (codec_block){.txs = api->block_txs, .receipts = api->block_receipts,
                         .writes = api->block_writes};
    if (codec_block_decode(c->data, len, &c->b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL)
        != CODEC_OK) {
        block_cache_free(c);
        return CAPI_INTERNAL;
    }
    if (ledger_get_result_cert(exec_ledger(api->cfg.executor), h, &c->cert, &c->cert_len)
        != LEDGER_OK) {
        c->cert = NULL; /* not certified yet: receipts without a proof */
        c->cert_len = 0;
    }
    c->height = h;
    return 0;
}

/* Under lock: the receipt reply of tx id into out, if r may read it. Returns 0, or the
 * status (NOT_FOUND, DENIED, TOO_LARGE, INTERNAL) with the reason in why. */
static uint32_t receipt_one(capi *api, const hash32 *id, const read_request *r, block_cache *c,
                            codec_buf *out, char *why, size_t why_cap)
{
    ledger *l = exec_ledger(api->cfg.executor);
    uint64_t height;
    uint32_t index;
    if (ledger_find_tx(l, id, &height, &index) != LEDGER_OK)
        return snprintf(why, why_cap, "no committed tx with that id"), CAPI_NOT_FOUND;
    if (block_cache_load(api, c, height) != 0 || index >= c->b.receipt_count)
        return snprintf(why, why_cap, "block %" PRIu64 " unreadable", height), CAPI_INTERNAL;
    if (r->is_signed && !exec_receipt_read_allowed(api->cfg.executor, &r->asker, &c->b.txs[index])) {
        char hex[17];
        tcrypto_to_hex(r->asker.bytes, 8, hex);
        snprintf(why, why_cap, "key %s... may not read this receipt (not its signer, a "
                 "co-signer, its trial's sponsor or site, a regulator or the auditor)", hex);
        return CAPI_DENIED;
    }
    static _Thread_local codec_receipt_reply rr;
    memset(&rr, 0, sizeof rr);
    rr.height = height;
    rr.index = index;
    rr.receipt = c->b.receipts[index];
    codec_buf proof = codec_buf_make(api->proof, CAPI_PROOF_MAX);
    char no_proof[200];
    if (c->cert && proof_make_inclusion_in(l, &c->b, index, c->cert, c->cert_len, &proof,
                                           no_proof, sizeof no_proof) == 0) {
        rr.proof = (codec_span){proof.data, proof.len};
        rr.commit_cert = c->b.commit_cert;
    }
    if (!receipt_path(api, c, index, &rr))
        return snprintf(why, why_cap, "receipt path of tx %u does not build", index), CAPI_INTERNAL;
    /* the validator-set changes a verifier with the genesis alone needs (FORMATS 6.4) */
    proof_changes changes = {0};
    if (rr.proof.len && proof_make_changes(l, exec_history(api->cfg.executor), height, &changes,
                                           no_proof, sizeof no_proof) != 0)
        return snprintf(why, why_cap, "the validator-set changes: %.100s", no_proof), CAPI_INTERNAL;
    rr.changes = changes.changes;
    codec_err rc = codec_receipt_reply_encode(&rr, out);
    proof_changes_free(&changes);
    if (rc == CODEC_ERR_OVERFLOW)
        return snprintf(why, why_cap, "%s", capi_status_reason(CAPI_TOO_LARGE)), CAPI_TOO_LARGE;
    if (rc != CODEC_OK)
        return snprintf(why, why_cap, "encoding the receipt: %s", codec_strerror(rc)), CAPI_INTERNAL;
    return 0;
}

/* Under lock: tx id's receipt reply into a->body with no role check: for the public
 * history, whose protocol-level txs are public by design (13.9). */
static bool reply_receipt(capi *api, const hash32 *id, answer *a)
{
    read_request r = {.is_signed = false};
    block_cache c = {0};
    char why[CODEC_REASON_MAX + 1];
    uint32_t st = receipt_one(api, id, &r, &c, &a->body, why, sizeof why);
    block_cache_free(&c);
    return st == 0 || refuse(a, st, "%s", why);
}

static bool bare_tx_id(const codec_span *body) { return body->len == 32; }

static bool answer_receipt(capi *api, const codec_span *body, answer *a)
{
    read_request r;
    if (!read_open(api, CLIENT_RECEIPT, body, bare_tx_id, &r, a)) return false;
    if (r.body.len != 32) return refuse(a, CAPI_BAD_BODY, "a receipt request is a 32-byte tx id");
    hash32 id;
    memcpy(id.bytes, r.body.data, 32);
    block_cache c = {0};
    char why[CODEC_REASON_MAX + 1];
    capi_exec_lock(api);
    uint32_t st = receipt_one(api, &id, &r, &c, &a->body, why, sizeof why);
    block_cache_free(&c);
    capi_exec_unlock(api);
    return st == 0 || refuse(a, st, "%s", why);
}

static bool bare_receipts(const codec_span *body)
{
    static _Thread_local hash32 ids[CODEC_RECEIPTS_BATCH_MAX];
    uint32_t n;
    return codec_receipts_request_decode(body->data, body->len, ids, CODEC_RECEIPTS_BATCH_MAX,
                                         &n, NULL) == CODEC_OK;
}

/* Under lock: each id's answer, the receipt replies written one after another into
 * scratch (cap bytes); an id whose receipt no longer fits is answered TOO_LARGE (the
 * client asks for it again in a later request). */
static void receipts_fill(capi *api, const read_request *r, const hash32 *ids, uint32_t count,
                          codec_receipts_entry *e, uint8_t *scratch, size_t cap)
{
    block_cache c = {0};
    size_t used = 0;
    for (uint32_t i = 0; i < count; i++) {
        codec_buf out = codec_buf_make(scratch + used, cap - used);
        e[i].status = receipt_one(api, &ids[i], r, &c, &out, e[i].reason, sizeof e[i].reason);
        e[i].reply = (codec_span){NULL, 0};
        if (e[i].status == 0) {
            e[i].reply = (codec_span){out.data, out.len};
            e[i].reason[0] = 0;
            used += out.len;
        }
    }
    block_cache_free(&c);
}

/* A batch of receipts under one signature: one signature check for the request, then each
 * id answered on its own (found and readable / not found / denied), in order. */
static bool answer_receipts(capi *api, const codec_span *body, answer *a)
{
    static _Thread_local hash32 ids[CODEC_RECEIPTS_BATCH_MAX];
    static _Thread_local codec_receipts_entry e[CODEC_RECEIPTS_BATCH_MAX];
    read_request r;
    uint32_t count = 0;
    codec_error err;
    char where[160];
    if (!read_open(api, CLIENT_RECEIPTS, body, bare_receipts, &r, a)) return false;
    if (codec_receipts_request_decode(r.body.data, r.body.len, ids, CODEC_RECEIPTS_BATCH_MAX,
                                      &count, &err) != CODEC_OK)
        return refuse(a, CAPI_BAD_BODY, "receipts request: %s", codec_error_format(&err, where, sizeof where));
    size_t overhead = (size_t)count * (CODEC_REASON_MAX + 24) + 16;
    if (a->body.cap <= overhead) return refuse(a, CAPI_TOO_LARGE, "%s", capi_status_reason(CAPI_TOO_LARGE));
    size_t cap = a->body.cap - overhead;
    uint8_t *scratch = malloc(cap);
    if (!scratch) return refuse(a, CAPI_INTERNAL, "out of memory");
    capi_exec_lock(api);
    receipts_fill(api, &r, ids, count, e, scratch, cap);
    capi_exec_unlock(api);
    bool ok = body_done(a, codec_receipts_reply_encode(e, count, &a->body));
    free(scratch);
    return ok;
}

/* ---- BLOCKS ------------------------------------------------------------------------ */

/* Under lock: read blocks from..from+count-1 (stopping at the head or when the next one
 * would not fit in the body), encode them. */
static bool reply_blocks(capi *api, uint64_t from, uint32_t count, answer *a)
{
    ledger *l = exec_ledger(api->cfg.executor);
    ledger_summary head;
    ledger_head(l, &head);
    if (from == 0 || from > head.height)
        return refuse(a, CAPI_NOT_FOUND, "no block at height %" PRIu64 " (head is %" PRIu64 ")", from, head.height);
    if (count > api->cfg.blocks_max) count = api->cfg.blocks_max;
    if (count > head.height - from + 1) count = (uint32_t)(head.height - from + 1);
    codec_block_entry e[CODEC_BLOCKS_REPLY_MAX];
    uint8_t *bufs[2 * CODEC_BLOCKS_REPLY_MAX];
    uint32_t n = 0, held = 0;
    size_t total = 16;
    bool ok = true;
    for (; n < count; n++) {
        uint8_t *blk = NULL, *cert = NULL;
        size_t blen = 0, clen = 0;
        if (ledger_get_block(l, from + n, &blk, &blen) != LEDGER_OK) {
            ok = refuse(a, CAPI_INTERNAL, "block %" PRIu64 " unreadable", from + n);
            break;
        }
        if (ledger_get_result_cert(l, from + n, &cert, &clen) != LEDGER_OK) clen = 0;
        bufs[held++] = blk;
        if (cert) bufs[held++] = cert;
        total += blen + clen + 16;
        if (total > a->body.cap) break; /* this one does not fit: send the earlier ones */
        e[n] = (codec_block_entry){{blk, blen}, {cert, clen}};
    }
    if (ok && n == 0) ok = refuse(a, CAPI_TOO_LARGE, "block %" PRIu64 " exceeds the reply bound", from);
    if (ok) ok = body_done(a, codec_blocks_reply_encode(e, n, &a->body));
    for (uint32_t i = 0; i < held; i++) free(bufs[i]);
    return ok;
}

static bool bare_blocks(const codec_span *body)
{
    uint64_t from;
    uint32_t count;
    return codec_blocks_request_decode(body->data, body->len, &from, &count, NULL) == CODEC_OK;
}

/* Blocks (and so exports): signed by a validator, a regulator or the auditor role. */
static bool answer_blocks(capi *api, const codec_span *body, answer *a)
{
    uint64_t from;
    uint32_t count;
    codec_error err;
    char where[160];
    read_request r;
    if (!read_open(api, CLIENT_BLOCKS, body, bare_blocks, &r, a)) return false;
    if (codec_blocks_request_decode(r.body.data, r.body.len, &from, &count, &err) != CODEC_OK)
        return refuse(a, CAPI_BAD_BODY, "blocks request: %s", codec_error_format(&err, where, sizeof where));
    capi_exec_lock(api);
    bool ok;
    if (r.is_signed && !exec_ledger_read_allowed(api->cfg.executor, &r.asker)) {
        char hex[17];
        tcrypto_to_hex(r.asker.bytes, 8, hex);
        ok = refuse(a, CAPI_DENIED, "key %s... may not read blocks or export the ledger: only "
                    "a validator, a regulator or the auditor role may", hex);
    } else {
        ok = reply_blocks(api, from, count, a);
    }
    capi_exec_unlock(api);
    return ok;
}

/* ---- PUBLIC (issue 19 item 5): a trial's protocol history, no key ------------------- */

/* Under lock: add blocks pub_scanned+1 .. to (at most) to the index. */
static bool public_index_blocks(capi *api, uint64_t to, answer *a)
{
    static _Thread_local exec_public_tx found[CODEC_BLOCK_TXS_MAX];
    ledger *l = exec_ledger(api->cfg.executor);
    for (uint64_t h = api->pub_scanned + 1; h <= to; h++) {
        uint8_t *data = NULL;
        size_t len = 0;
        uint32_t n = 0;
        codec_block b = {.txs = api->block_txs, .receipts = api->block_receipts,
                         .writes = api->block_writes};
        ledger_err rc = ledger_get_block(l, h, &data, &len);
        if (rc == LEDGER_OK
            && codec_block_decode(data, len, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL) != CODEC_OK)
            rc = LEDGER_ERR_CORRUPT;
        if (rc == LEDGER_OK) rc = exec_public_txs(api->cfg.executor, &b, found, CODEC_BLOCK_TXS_MAX, &n);
        free(data);
        if (rc != LEDGER_OK) return refuse(a, CAPI_INTERNAL, "block %" PRIu64 ": %s", h, ledger_strerror(rc));
        if (api->pub_count + n > CAPI_PUBLIC_INDEX_MAX)
            return refuse(a, CAPI_TOO_LARGE, "the public history index is full (%u protocol events)", CAPI_PUBLIC_INDEX_MAX);
        for (uint32_t i = 0; i < n; i++) {
            api->pub[api->pub_count] = found[i];
            api->pub_height[api->pub_count++] = h;
        }
        api->pub_scanned = h;
    }
    return true;
}

/* Bring the index up to the head, CAPI_PUBLIC_SCAN_BLOCKS blocks per hold of the lock, so
 * that a node's first public request after a start (one scan of the whole chain) never
 * holds the executor's lock long enough to stall commits. Returns with the lock HELD and
 * the index at the head, or false (lock released) with the refusal in a. */
static bool public_index_update(capi *api, answer *a)
{
    for (;;) {
        capi_exec_lock(api);
        ledger_summary head;
        ledger_head(exec_ledger(api->cfg.executor), &head);
        uint64_t to = head.height - api->pub_scanned > CAPI_PUBLIC_SCAN_BLOCKS
                          ? api->pub_scanned + CAPI_PUBLIC_SCAN_BLOCKS : head.height;
        if (!public_index_blocks(api, to, a)) {
            capi_exec_unlock(api);
            return false;
        }
        if (to == head.height) return true;
        capi_exec_unlock(api);
    }
}

static bool same_trial(const exec_public_tx *p, const codec_span *trial)
{
    return p->trial_len == trial->len && memcmp(p->trial, trial->data, trial->len) == 0;
}

/* Under lock: entries from..from+n of the trial, each with its receipt file, as many as fit
 * (and only certified ones: a page stops before a block without its result certificate). */
static bool reply_public(capi *api, const codec_span *trial, uint64_t from, uint8_t *scratch,
                         size_t scratch_cap, answer *a)
{
    codec_public_entry e[CODEC_PUBLIC_REPLY_MAX];
    codec_public_page page = {0};
    page.from = from;
    for (uint32_t i = 0; i < api->pub_count; i++) page.total += same_trial(&api->pub[i], trial);
    exec_trial t;
    if (exec_query_trial(api->cfg.executor, trial->data, trial->len, &t) != LEDGER_OK)
        return refuse(a, CAPI_NOT_FOUND, "no such trial");
    if (from > page.total)
        return refuse(a, CAPI_NOT_FOUND, "cursor %" PRIu64 " is past the history's %" PRIu64 " events", from, page.total);
    uint64_t enrolled = exec_enrolled(api->cfg.executor, trial->data, trial->len);
    page.has_enrolled = enrolled >= CODEC_PUBLIC_COUNT_MIN;
    page.enrolled = page.has_enrolled ? enrolled : 0;
    size_t used = 0, total_bytes = 64;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < api->pub_count && page.count < CODEC_PUBLIC_REPLY_MAX; i++) {
        if (!same_trial(&api->pub[i], trial) || seen++ < from) continue;
        answer r = {.body = codec_buf_make(scratch + used, scratch_cap - used)};
        if (!reply_receipt(api, &api->pub[i].tx_id, &r)) {
            if (page.count == 0) return refuse(a, r.status, "%s", r.reason);
            break;
        }
        codec_receipt_reply rr;
        if (codec_receipt_reply_decode(r.body.data, r.body.len, &rr, NULL) != CODEC_OK
            || rr.proof.len == 0)
            break; /* not certified yet: the client asks again from here */
        total_bytes += r.body.len + 2 * CODEC_NAME_MAX + 16;
        if (total_bytes > a->body.cap) break;
        snprintf(e[page.count].method, sizeof e[page.count].method, "%s", api->pub[i].method);
        e[page.count++].receipt_reply = (codec_span){r.body.data, r.body.len};
        used += r.body.len;
    }
    return body_done(a, codec_public_reply_encode(&page, e, &a->body));
}

static bool answer_public(capi *api, const codec_span *body, answer *a)
{
    codec_span trial;
    uint64_t from;
    codec_error err;
    char where[160];
    if (codec_public_request_decode(body->data, body->len, &trial, &from, &err) != CODEC_OK)
        return refuse(a, CAPI_BAD_BODY, "public request: %s", codec_error_format(&err, where, sizeof where));
    uint8_t *scratch = malloc(a->body.cap);
    if (!scratch) return refuse(a, CAPI_INTERNAL, "out of memory");
    bool ok = public_index_update(api, a); /* returns holding the lock when ok */
    if (ok) {
        ok = reply_public(api, &trial, from, scratch, a->body.cap, a);
        capi_exec_unlock(api);
    }
    free(scratch);
    return ok;
}

/* ---- EVENTS: one block's txs as the asker may see them (issue 20) ---------------------- */

/* Under lock: whether asker may see entry (with its receipt) of a block: whoever reads blocks
 * sees all; a pruned tx its signer; an authority change that committed OK every key with
 * a role (exec_key_known); a trial's tx by the trial's viewer rules (executor.h
 * exec_tx_visible, the timeline's filter); any other tx of no trial, no one else. */
static bool event_visible(capi *api, const pubkey *asker, const codec_span *entry,
                          const codec_span *receipt)
{
    exec *e = api->cfg.executor;
    if (exec_ledger_read_allowed(e, asker)) return true;
    if (codec_entry_is_pruned(entry)) return exec_receipt_read_allowed(e, asker, entry);
    static _Thread_local codec_tx tx;
    static _Thread_local codec_receipt r;
    if (codec_tx_decode(entry->data, entry->len, &tx, NULL) != CODEC_OK
        || codec_receipt_decode(receipt->data, receipt->len, &r, NULL) != CODEC_OK)
        return false;
    if (exec_tx_authority_change(&tx)) /* a consortium fact: every key with a role */
        return r.status == RECEIPT_OK && exec_key_known(e, asker);
    const codec_value *trial = &tx.args[0];
    if (tx.arg_count < 1 || trial->kind != CODEC_VALUE_BYTES || trial->len < 1 || trial->len > 32)
        return false;
    exec_viewer v;
    exec_viewer_of(e, asker, trial->bytes, trial->len, &v);
    return exec_tx_visible(e, &v, trial->bytes, trial->len, &tx, &r);
}

static bool bare_height(const codec_span *body) { (void)body; return false; }

static bool answer_events(capi *api, const codec_span *body, answer *a)
{
    read_request r;
    if (!read_open(api, CLIENT_EVENTS, body, bare_height, &r, a)) return false;
    uint64_t height;
    codec_error err;
    char where[160];
    if (codec_events_request_decode(r.body.data, r.body.len, &height, &err) != CODEC_OK)
        return refuse(a, CAPI_BAD_BODY, "events request: %s", codec_error_format(&err, where, sizeof where));
    static _Thread_local codec_event_tx txs[CODEC_BLOCK_TXS_MAX];
    uint32_t n = 0;
    block_cache c = {0};
    bool ok;
    capi_exec_lock(api);
    ledger_summary head;
    ledger_head(exec_ledger(api->cfg.executor), &head);
    if (r.is_signed && !exec_ledger_read_allowed(api->cfg.executor, &r.asker)
        && !exec_key_known(api->cfg.executor, &r.asker)) {
        ok = refuse(a, CAPI_DENIED, "events: key %02x%02x%02x%02x... is no authority of the "
                    "genesis and no participant of any trial: it may read no event",
                    r.asker.bytes[0], r.asker.bytes[1], r.asker.bytes[2], r.asker.bytes[3]);
    } else if (height == 0 || height > head.height) {
        ok = refuse(a, CAPI_NOT_FOUND, "no block at height %" PRIu64 " (head is %" PRIu64 ")",
                    height, head.height);
    } else if (block_cache_load(api, &c, height) != 0) {
        ok = refuse(a, CAPI_INTERNAL, "block %" PRIu64 " unreadable", height);
    } else {
        for (uint32_t i = 0; i < c.b.tx_count; i++) {
            if (event_visible(api, &r.asker, &c.b.txs[i], &c.b.receipts[i]))
                txs[n++] = (codec_event_tx){i, c.b.txs[i], c.b.receipts[i]};
        }
        ok = body_done(a, codec_events_reply_encode(height, c.cert != NULL, txs, n,
                                                          c.b.header.batch.time_ms, &a->body));
    }
    block_cache_free(&c);
    capi_exec_unlock(api);
    return ok;
}

/* ---- dispatch ---------------------------------------------------------------------- */

static void answer_request(capi *api, const uint8_t *request, size_t len, answer *a)
{
    codec_client_request req;
    codec_error err;
    char where[160];
    if (codec_client_request_decode(request, len, &req, &err) != CODEC_OK) {
        refuse(a, CAPI_BAD_REQUEST, "request: %s", codec_error_format(&err, where, sizeof where));
        return;
    }
    bool ok = false;
    switch ((codec_client_kind)req.kind) {
    case CLIENT_SUBMIT: ok = answer_submit(api, &req.body, a); break;
    case CLIENT_QUERY: ok = answer_query(api, &req.body, a); break;
    case CLIENT_RECEIPT: ok = answer_receipt(api, &req.body, a); break;
    case CLIENT_BLOCKS: ok = answer_blocks(api, &req.body, a); break;
    case CLIENT_SUBMIT_BATCH: ok = answer_submit_batch(api, &req.body, a); break;
    case CLIENT_RECEIPTS: ok = answer_receipts(api, &req.body, a); break;
    case CLIENT_PUBLIC: ok = answer_public(api, &req.body, a); break;
    case CLIENT_EVENTS: ok = answer_events(api, &req.body, a); break;
    case CLIENT_HTTP_QUERY: ok = answer_http_query(api, &req.body, a); break;
    default: ok = refuse(a, CAPI_BAD_REQUEST, "request kind %u is not served by this node", req.kind); break;
    }
    if (ok) {
        a->status = CAPI_OK;
        snprintf(a->reason, sizeof a->reason, "ok");
    }
}

size_t capi_handle(void *ctx, const uint8_t *request, size_t request_len, uint8_t *reply,
                   size_t reply_cap)
{
    return capi_handle_as(ctx, NULL, request, request_len, reply, reply_cap);
}

size_t capi_handle_as(void *ctx, const pubkey *verified, const uint8_t *request,
                      size_t request_len, uint8_t *reply, size_t reply_cap)
{
    capi *api = ctx;
    if (reply_cap <= CAPI_RESPONSE_OVERHEAD) return 0;
    answer a = {.status = CAPI_INTERNAL, .verified = verified};
    size_t body_cap = reply_cap - CAPI_RESPONSE_OVERHEAD;
    uint8_t *body = malloc(body_cap);
    if (body) {
        a.body = codec_buf_make(body, body_cap);
        answer_request(api, request, request_len, &a);
    } else {
        refuse(&a, CAPI_INTERNAL, "out of memory");
    }
    codec_buf out = codec_buf_make(reply, reply_cap);
    codec_err rc = codec_client_response_encode(a.status, a.reason, body, a.body.len, &out);
    free(body);
    if (a.status < CAPI_ANSWER_KINDS)
        __atomic_fetch_add(&api->answers[a.status], 1, __ATOMIC_RELAXED);
    return rc == CODEC_OK ? out.len : 0;
}

void capi_answers_get(capi *api, uint64_t out[CAPI_ANSWER_KINDS])
{
    for (uint32_t i = 0; i < CAPI_ANSWER_KINDS; i++)
        out[i] = __atomic_load_n(&api->answers[i], __ATOMIC_RELAXED);
}
