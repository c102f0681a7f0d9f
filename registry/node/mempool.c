/*
 * mempool.c - txs by digest, and the verifier pool (mempool.h).
 *
 * One mutex guards everything. Forwarded txs are inserted as "checking" and a
 * copy goes on the verifiers' queue; a verifier settles it: verified (and its
 * digest listed for mempool_take_ready) or removed. A client request's txs go on
 * the same queue with the request's job: the API thread waits for their verdicts.
 */
#include "mempool.h"

#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merkle.h"

#define BUCKETS 65536u
#define INBOX_MAX 65536u
#define VERIFIER_NICE 5
#define ADMIT_CHUNK 256u /* digests computed before the lock is taken */
#define SUBMIT_QUEUE_FULL INT_MIN /* a verdict: the verifiers' queue had no room */
#define TX_UNDECODABLE INT_MAX    /* a verdict: the bytes are not a tx */
#define HELD_VERIFIED (INT_MAX - 1) /* a verdict: held already, its signatures checked */
#define VERIFY_WINDOW 16u /* scheduled mode: the checks in flight one step may end (2 verifiers x 8) */

typedef struct entry {
    struct entry *next;
    hash32 digest;
    uint8_t *bytes;
    size_t len;
    bool verified;
    bool checking; /* queued for (or being checked by) a verifier */
} entry;

/* A client request's txs on the verifiers' queue; its API thread waits for done. */
typedef struct {
    pthread_cond_t done;
    uint32_t pending;  /* txs not checked yet */
    int *verdict;      /* per tx: codec_tx_verify_signatures' result */
} submit_job;

/* One tx for the verifiers. A forwarded tx has its own copy of the bytes, so that
 * the entry may be taken (and freed) by the node while it is checked; a submitted
 * one (job set) points into the request, which its thread keeps while it waits. */
typedef struct {
    hash32 digest;
    uint8_t *bytes;
    size_t len;
    submit_job *job;
    uint32_t slot; /* the tx's index in the job */
} check_item;

struct mempool {
    hash32 chain;
    uint32_t capacity, size;
    pthread_mutex_t lock; /* everything below */
    entry *buckets[BUCKETS];
    hash32 inbox[INBOX_MAX]; /* digests submitted by clients, not yet taken */
    uint32_t inbox_head, inbox_count;
    check_item *queue;       /* ring of capacity items */
    uint32_t queue_head, queue_count;
    hash32 *ready;           /* verified good since the last mempool_take_ready */
    uint32_t ready_count;
    pthread_cond_t work_cv;
    bool quit;
    bool paused; /* tests: the verifiers take nothing from the queue (mempool_pause) */
    uint32_t thread_count;
    pthread_t threads[8];
};

static uint32_t bucket_of(const hash32 *d)
{
    uint32_t x;
    memcpy(&x, d->bytes, sizeof x);
    return x & (BUCKETS - 1);
}

static entry **find_slot(mempool *p, const hash32 *d)
{
    entry **at = &p->buckets[bucket_of(d)];
    while (*at && memcmp(&(*at)->digest, d, sizeof *d) != 0)
        at = &(*at)->next;
    return at;
}

static uint8_t *copy_of(const uint8_t *bytes, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (copy)
        memcpy(copy, bytes, len);
    return copy;
}

/* Insert (bytes copied); NULL if present or full. Lock held. */
static entry *insert_locked(mempool *p, const hash32 *d, const uint8_t *bytes, size_t len,
                            bool verified)
{
    entry **at = find_slot(p, d);
    if (*at || p->size >= p->capacity)
        return NULL;
    entry *e = malloc(sizeof *e);
    uint8_t *copy = copy_of(bytes, len);
    if (!e || !copy) {
        free(e);
        free(copy);
        return NULL;
    }
    *e = (entry){NULL, *d, copy, len, verified, false};
    *at = e;
    p->size++;
    return e;
}

static void remove_locked(mempool *p, entry **at)
{
    entry *e = *at;
    *at = e->next;
    p->size--;
    free(e->bytes);
    free(e);
}

/* 0: the signatures verify; < 0 the author's does not, > 0 a co-signature does not
 * (TX_UNDECODABLE: the bytes do not decode). */
static int tx_check(const hash32 *chain, const uint8_t *bytes, size_t len)
{
    static _Thread_local codec_tx tx;
    codec_error ce;
    if (codec_tx_decode(bytes, len, &tx, &ce) != CODEC_OK)
        return TX_UNDECODABLE;
    return codec_tx_verify_signatures(&tx, chain);
}

/* Queue a tx for the verifiers; false if the queue is full. Lock held. */
static bool enqueue_locked(mempool *p, check_item item)
{
    if (p->queue_count == p->capacity)
        return false;
    p->queue[(p->queue_head + p->queue_count++) % p->capacity] = item;
    return true;
}

/* ---- verifiers ------------------------------------------------------------------ */

/* A verifier's verdict on a tx still held and waiting for it. Lock held. */
static void settle_locked(mempool *p, const hash32 *d, bool ok)
{
    entry **at = find_slot(p, d);
    if (!*at || !(*at)->checking)
        return; /* taken meanwhile: the executor verifies it itself */
    if (!ok) {
        remove_locked(p, at); /* a bad signature: never proposed, never prepared */
        return;
    }
    (*at)->checking = false;
    (*at)->verified = true;
    if (p->ready_count < p->capacity)
        p->ready[p->ready_count++] = *d;
}

/* Take the queued item at position `at` (0 = the head; a later one swaps places with the
 * head first: the scheduled mode's choice of which check ends first). Returns true if there
 * is nothing to check: a forwarded tx taken meanwhile (executed: the executor verified it).
 * Lock held. */
static bool take_item_locked(mempool *p, uint32_t at, check_item *out)
{
    check_item *head = &p->queue[p->queue_head];
    if (at > 0) {
        check_item *other = &p->queue[(p->queue_head + at) % p->capacity];
        check_item t = *head;
        *head = *other;
        *other = t;
    }
    *out = *head;
    p->queue_head = (p->queue_head + 1) % p->capacity;
    p->queue_count--;
    entry *e = *find_slot(p, &out->digest);
    return !out->job && (!e || !e->checking);
}

/* A verifier's verdict delivered: a forwarded tx settled (its copy freed), or a client
 * request's slot filled (its waiter woken when it was the last). Lock held. */
static void finish_item_locked(mempool *p, check_item *item, int verdict)
{
    submit_job *job = item->job;
    if (!job) {
        settle_locked(p, &item->digest, verdict == 0);
        free(item->bytes);
        return;
    }
    job->verdict[item->slot] = verdict;
    if (--job->pending == 0 && p->thread_count > 0)
        pthread_cond_signal(&job->done);
}

static void *worker(void *arg)
{
    enum { TAKE = 8 };
    mempool *p = arg;
    check_item items[TAKE];
    int verdict[TAKE];
    bool skip[TAKE];
    (void)prctl(PR_SET_NAME, "tr-verifier"); /* for top and perf; harmless if refused */
    /* below the node's thread: votes should not wait behind bulk signature checks */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), VERIFIER_NICE); /* if allowed */
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->quit && (p->queue_count == 0 || p->paused))
            pthread_cond_wait(&p->work_cv, &p->lock);
        if (p->quit)
            break;
        /* a fair share of the queue, so that every verifier works */
        uint32_t k = p->queue_count / p->thread_count;
        k = k < 1 ? 1 : k > TAKE ? TAKE : k;
        for (uint32_t i = 0; i < k; i++)
            skip[i] = take_item_locked(p, 0, &items[i]);
        pthread_mutex_unlock(&p->lock);
        for (uint32_t i = 0; i < k; i++)
            verdict[i] = skip[i] ? 1 : tx_check(&p->chain, items[i].bytes, items[i].len);
        pthread_mutex_lock(&p->lock);
        for (uint32_t i = 0; i < k; i++)
            finish_item_locked(p, &items[i], verdict[i]);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* ---- API ------------------------------------------------------------------------- */

mempool *mempool_open(const hash32 *chain, uint32_t threads, uint32_t capacity)
{
    mempool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->chain = *chain;
    p->capacity = capacity;
    p->queue = calloc(capacity, sizeof *p->queue);
    p->ready = calloc(capacity, sizeof *p->ready);
    if (!p->queue || !p->ready || capacity == 0) {
        free(p->queue);
        free(p->ready);
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    if (threads > 8)
        threads = 8;
    for (uint32_t i = 0; i < threads; i++)
        if (pthread_create(&p->threads[p->thread_count], NULL, worker, p) == 0)
            p->thread_count++;
    if (threads > 0 && p->thread_count == 0) {
        mempool_close(p);
        return NULL;
    }
    return p;
}

void mempool_close(mempool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->quit = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->lock);
    for (uint32_t i = 0; i < p->thread_count; i++)
        pthread_join(p->threads[i], NULL);
    for (uint32_t b = 0; b < BUCKETS; b++) {
        for (entry *e = p->buckets[b], *next; e; e = next) {
            next = e->next;
            free(e->bytes);
            free(e);
        }
    }
    for (uint32_t i = 0; i < p->queue_count; i++) { /* a job's bytes are its caller's */
        const check_item *item = &p->queue[(p->queue_head + i) % p->capacity];
        if (!item->job)
            free(item->bytes);
    }
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work_cv);
    free(p->queue);
    free(p->ready);
    free(p);
}

/* Hand a request's txs to the verifiers (they decode and check each); the caller then
 * waits for job->pending to reach 0. Only a tx held and verified already counts as
 * checked (HELD_VERIFIED): one held as checking (a peer's forward) or unverified (a
 * fetched block) is checked here too, since the held copy may yet be dropped as bad while
 * this request waits. Built with TRIALREG_MEMPOOL_BUG_TRUST_HELD, the rule before issue 13
 * bug 2 was fixed: any tx held counts as checked (verdict 0, no check), which the
 * node-level harness must catch (docs/SIMULATION.md). Lock held. */
static void queue_submitted_locked(mempool *p, const codec_span *txs, const hash32 *digests,
                                   uint32_t count, submit_job *job)
{
    for (uint32_t i = 0; i < count; i++) {
        job->verdict[i] = 0;
        const entry *held = *find_slot(p, &digests[i]);
#ifdef TRIALREG_MEMPOOL_BUG_TRUST_HELD
        if (held)
            continue;
#else
        if (held && held->verified) {
            job->verdict[i] = HELD_VERIFIED;
            continue;
        }
#endif
        check_item item = {digests[i], (uint8_t *)txs[i].data, txs[i].len, job, i};
        if (enqueue_locked(p, item))
            job->pending++;
        else
            job->verdict[i] = SUBMIT_QUEUE_FULL;
    }
    if (job->pending)
        pthread_cond_broadcast(&p->work_cv);
}

/* Queue a request's checks and wait for their verdicts (threaded mode). Lock held (the
 * wait releases it). */
static void check_submitted_locked(mempool *p, const codec_span *txs, const hash32 *digests,
                                   uint32_t count, int *verdict)
{
    submit_job job = {.verdict = verdict};
    pthread_cond_init(&job.done, NULL);
    queue_submitted_locked(p, txs, digests, count, &job);
    while (job.pending) {
        if (p->thread_count > 0) {
            pthread_cond_wait(&job.done, &p->lock);
            continue;
        }
        check_item item; /* scheduled mode, called whole: run the queue here, in order */
        bool skip = take_item_locked(p, 0, &item);
        finish_item_locked(p, &item, skip ? 1 : tx_check(&p->chain, item.bytes, item.len));
    }
    pthread_cond_destroy(&job.done);
}

static void refuse(codec_submit_result *r, const char *why)
{
    r->status = 1;
    snprintf(r->reason, sizeof r->reason, "%s", why);
}

/* Why a verifier's verdict (non-zero) refuses a submitted tx. */
static const char *verdict_reason(int verdict)
{
    if (verdict == SUBMIT_QUEUE_FULL) return "the node's signature checks are backed up; retry later";
    if (verdict == TX_UNDECODABLE) return "tx does not decode";
    return verdict < 0 ? "the author's signature does not verify on this chain"
                       : "a co-signature does not verify on this chain";
}

/* Keep a tx whose signatures a verifier checked (these bytes, or the same bytes held
 * verified: the digest is their hash) and queue it for the node's thread (unless held
 * already). Lock held. */
static void keep_submitted_locked(mempool *p, const codec_span *tx, const hash32 *d,
                                  codec_submit_result *r)
{
    if (*find_slot(p, d))
        return; /* already held: accepted (idempotent resubmission) */
    if (p->inbox_count == INBOX_MAX || !insert_locked(p, d, tx->data, tx->len, true)) {
        refuse(r, "the node holds too many pending txs; retry later");
        return;
    }
    p->inbox[(p->inbox_head + p->inbox_count++) % INBOX_MAX] = *d;
}

/* Answer each tx of a request from its verdict: refused with the reason, or kept. Lock
 * held. */
static void answer_locked(mempool *p, const codec_span *txs, const hash32 *digests,
                          const int *verdict, uint32_t count, codec_submit_result *res)
{
    for (uint32_t i = 0; i < count; i++) {
        if (verdict[i] != 0 && verdict[i] != HELD_VERIFIED)
            refuse(&res[i], verdict_reason(verdict[i]));
        else
            keep_submitted_locked(p, &txs[i], &digests[i], &res[i]);
    }
}

void mempool_submit(mempool *p, const codec_span *txs, uint32_t count, codec_submit_result *results)
{
    static _Thread_local hash32 digests[CODEC_SUBMIT_BATCH_MAX];
    static _Thread_local int verdict[CODEC_SUBMIT_BATCH_MAX];
    for (uint32_t from = 0; from < count; from += CODEC_SUBMIT_BATCH_MAX) {
        uint32_t n = count - from < CODEC_SUBMIT_BATCH_MAX ? count - from : CODEC_SUBMIT_BATCH_MAX;
        const codec_span *part = txs + from;
        codec_submit_result *res = results + from;
        for (uint32_t i = 0; i < n; i++) {
            res[i].status = 0;
            res[i].reason[0] = 0;
            merkle_leaf_hash(part[i].data, part[i].len, &digests[i]);
        }
        pthread_mutex_lock(&p->lock);
        check_submitted_locked(p, part, digests, n, verdict);
        answer_locked(p, part, digests, verdict, n, res);
        pthread_mutex_unlock(&p->lock);
    }
}

/* ---- scheduled mode (threads = 0): a harness runs each check ------------------------ */

struct mempool_submission {
    submit_job job;
    const codec_span *txs;
    uint32_t count;
    hash32 digests[CODEC_SUBMIT_BATCH_MAX];
    int verdict[CODEC_SUBMIT_BATCH_MAX];
};

mempool_submission *mempool_submit_start(mempool *p, const codec_span *txs, uint32_t count)
{
    if (p->thread_count > 0 || count == 0 || count > CODEC_SUBMIT_BATCH_MAX)
        return NULL;
    mempool_submission *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->txs = txs;
    s->count = count;
    s->job.verdict = s->verdict;
    for (uint32_t i = 0; i < count; i++)
        merkle_leaf_hash(txs[i].data, txs[i].len, &s->digests[i]);
    pthread_mutex_lock(&p->lock);
    queue_submitted_locked(p, txs, s->digests, count, &s->job);
    pthread_mutex_unlock(&p->lock);
    return s;
}

bool mempool_submit_checked(const mempool_submission *s)
{
    return s->job.pending == 0;
}

void mempool_submit_finish(mempool *p, mempool_submission *s, codec_submit_result *results)
{
    assert(s->job.pending == 0 && "mempool_submit_finish before its checks ended");
    for (uint32_t i = 0; i < s->count; i++) {
        results[i].status = 0;
        results[i].reason[0] = 0;
    }
    pthread_mutex_lock(&p->lock);
    answer_locked(p, s->txs, s->digests, s->verdict, s->count, results);
    pthread_mutex_unlock(&p->lock);
    free(s);
}

void mempool_submit_abandon(mempool *p, mempool_submission *s)
{
    pthread_mutex_lock(&p->lock);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < p->queue_count; i++) {
        check_item item = p->queue[(p->queue_head + i) % p->capacity];
        if (item.job != &s->job)
            p->queue[(p->queue_head + kept++) % p->capacity] = item;
    }
    p->queue_count = kept;
    pthread_mutex_unlock(&p->lock);
    free(s);
}

bool mempool_verify_step(mempool *p, uint32_t pick)
{
    assert(p->thread_count == 0 && "mempool_verify_step: the pool runs its own verifiers");
    pthread_mutex_lock(&p->lock);
    bool any = p->queue_count > 0;
    if (any) {
        uint32_t window = p->queue_count < VERIFY_WINDOW ? p->queue_count : VERIFY_WINDOW;
        check_item item;
        bool skip = take_item_locked(p, pick % window, &item);
        int verdict = skip ? 1 : tx_check(&p->chain, item.bytes, item.len);
        finish_item_locked(p, &item, verdict);
    }
    pthread_mutex_unlock(&p->lock);
    return any;
}

uint32_t mempool_take_inbox(mempool *p, codec_span *txs, uint8_t **owned, hash32 *digests,
                            uint32_t cap)
{
    uint32_t k = 0;
    pthread_mutex_lock(&p->lock);
    while (p->inbox_count > 0 && k < cap) {
        hash32 d = p->inbox[p->inbox_head];
        p->inbox_head = (p->inbox_head + 1) % INBOX_MAX;
        p->inbox_count--;
        entry *e = *find_slot(p, &d);
        if (!e)
            continue; /* executed meanwhile (it came in a pre-prepare first) */
        owned[k] = malloc(e->len ? e->len : 1);
        if (!owned[k])
            break;
        memcpy(owned[k], e->bytes, e->len);
        txs[k] = (codec_span){owned[k], e->len};
        digests[k] = d;
        k++;
    }
    pthread_mutex_unlock(&p->lock);
    return k;
}

uint32_t mempool_admit(mempool *p, const codec_span *txs, const hash32 *known, uint32_t count)
{
    hash32 digests[ADMIT_CHUNK];
    uint32_t queued = 0;
    for (uint32_t from = 0; from < count; from += ADMIT_CHUNK) {
        uint32_t n = count - from < ADMIT_CHUNK ? count - from : ADMIT_CHUNK;
        for (uint32_t i = 0; i < n; i++) {
            if (known)
                digests[i] = known[from + i];
            else
                merkle_leaf_hash(txs[from + i].data, txs[from + i].len, &digests[i]);
        }
        pthread_mutex_lock(&p->lock);
        for (uint32_t i = 0; i < n && p->queue_count < p->capacity; i++) {
            const codec_span *tx = &txs[from + i];
            uint8_t *mine = NULL;
            entry *e = insert_locked(p, &digests[i], tx->data, tx->len, false);
            if (e && !(mine = copy_of(tx->data, tx->len))) {
                remove_locked(p, find_slot(p, &digests[i]));
                continue;
            }
            if (!e)
                continue; /* held already, or full */
            e->checking = true;
            enqueue_locked(p, (check_item){digests[i], mine, tx->len, NULL, 0});
            queued++;
        }
        if (queued)
            pthread_cond_broadcast(&p->work_cv);
        pthread_mutex_unlock(&p->lock);
    }
    return queued;
}

uint32_t mempool_take_ready(mempool *p, hash32 *out, uint32_t cap)
{
    pthread_mutex_lock(&p->lock);
    uint32_t k = p->ready_count < cap ? p->ready_count : cap;
    memcpy(out, p->ready, k * sizeof *out);
    memmove(p->ready, p->ready + k, (p->ready_count - k) * sizeof *out);
    p->ready_count -= k;
    pthread_mutex_unlock(&p->lock);
    return k;
}

mempool_state mempool_state_of(mempool *p, const hash32 *digest)
{
    pthread_mutex_lock(&p->lock);
    entry *e = *find_slot(p, digest);
    mempool_state st = !e ? MEMPOOL_MISSING
                     : e->checking ? MEMPOOL_CHECKING
                     : e->verified ? MEMPOOL_VERIFIED : MEMPOOL_UNVERIFIED;
    pthread_mutex_unlock(&p->lock);
    return st;
}

void mempool_add_unverified(mempool *p, const codec_span *txs, uint32_t count)
{
    pthread_mutex_lock(&p->lock);
    for (uint32_t i = 0; i < count; i++) {
        hash32 d;
        codec_entry_leaf(&txs[i], &d); /* a fetched block's pruned tx keeps its leaf hash */
        insert_locked(p, &d, txs[i].data, txs[i].len, false);
    }
    pthread_mutex_unlock(&p->lock);
}

bool mempool_verified(mempool *p, const hash32 *digest)
{
    pthread_mutex_lock(&p->lock);
    entry *e = *find_slot(p, digest);
    bool ok = e && e->verified;
    pthread_mutex_unlock(&p->lock);
    return ok;
}

bool mempool_verified_id(mempool *p, const hash32 *digest, hash32 *tx_id)
{
    pthread_mutex_lock(&p->lock);
    entry *e = *find_slot(p, digest);
    bool ok = e && e->verified;
    if (ok)
        tcrypto_sha256(e->bytes, e->len, tx_id);
    pthread_mutex_unlock(&p->lock);
    return ok;
}

bool mempool_take(mempool *p, const hash32 *digest, uint8_t **bytes, size_t *len, bool *verified)
{
    pthread_mutex_lock(&p->lock);
    entry **at = find_slot(p, digest), *e = *at;
    if (e) {
        *at = e->next;
        p->size--;
        *bytes = e->bytes;
        *len = e->len;
        *verified = e->verified;
        free(e);
    }
    pthread_mutex_unlock(&p->lock);
    return e != NULL;
}

void mempool_put_back(mempool *p, const hash32 *digest, uint8_t *bytes, size_t len, bool verified)
{
    pthread_mutex_lock(&p->lock);
    entry **at = find_slot(p, digest);
    entry *e = *at ? NULL : malloc(sizeof *e);
    if (e) {
        *e = (entry){NULL, *digest, bytes, len, verified, false};
        *at = e;
        p->size++;
    } else {
        free(bytes);
    }
    pthread_mutex_unlock(&p->lock);
}

void mempool_drop(mempool *p, const hash32 *digest)
{
    uint8_t *bytes;
    size_t len;
    bool v;
    if (mempool_take(p, digest, &bytes, &len, &v))
        free(bytes);
}

void mempool_pause(mempool *p, bool paused)
{
    pthread_mutex_lock(&p->lock);
    p->paused = paused;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->lock);
}

uint32_t mempool_queued(mempool *p)
{
    pthread_mutex_lock(&p->lock);
    uint32_t n = p->queue_count;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void mempool_lock(mempool *p) { pthread_mutex_lock(&p->lock); }
void mempool_unlock(mempool *p) { pthread_mutex_unlock(&p->lock); }

bool mempool_get_locked(mempool *p, const hash32 *digest, codec_span *out)
{
    entry *e = *find_slot(p, digest);
    if (e)
        *out = (codec_span){e->bytes, e->len};
    return e != NULL;
}
