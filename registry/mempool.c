/*
 * mempool.c - txs by digest, and the verifier pool (mempool.h).
 */
#include "mempool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merkle.h"

#define BUCKETS 65536u
#define INBOX_MAX 65536u

typedef struct entry {
    struct entry *next;
    hash32 digest;
    uint8_t *bytes;
    size_t len;
    bool verified;
} entry;

/* One parallel verification job: items [0, count), claimed by index. */
typedef struct {
    const codec_span *txs;
    bool *ok;
    uint32_t count;
    atomic_uint next, done;
} job;

struct mempool {
    hash32 chain;
    uint32_t capacity, size;
    pthread_mutex_t lock;
    entry *buckets[BUCKETS];
    hash32 inbox[INBOX_MAX]; /* digests submitted by clients, not yet taken */
    uint32_t inbox_head, inbox_count;
    /* workers */
    pthread_mutex_t work_lock;
    pthread_cond_t work_cv, done_cv;
    job *current;
    uint32_t active; /* workers inside current */
    uint64_t generation;
    bool quit;
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

/* Insert (bytes copied); false if present or full. Lock held. */
static bool insert_locked(mempool *p, const hash32 *d, const uint8_t *bytes, size_t len,
                          bool verified)
{
    entry **at = find_slot(p, d);
    if (*at || p->size >= p->capacity)
        return false;
    entry *e = malloc(sizeof *e);
    uint8_t *copy = malloc(len ? len : 1);
    if (!e || !copy) {
        free(e);
        free(copy);
        return false;
    }
    memcpy(copy, bytes, len);
    *e = (entry){NULL, *d, copy, len, verified};
    *at = e;
    p->size++;
    return true;
}

static bool tx_valid(const hash32 *chain, const uint8_t *bytes, size_t len)
{
    static _Thread_local codec_tx tx;
    codec_error ce;
    return codec_tx_decode(bytes, len, &tx, &ce) == CODEC_OK &&
           codec_tx_verify_signatures(&tx, chain) == 0;
}

/* ---- workers ---------------------------------------------------------------- */

static void run_job(mempool *p, job *j)
{
    for (;;) {
        uint32_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->count)
            return;
        j->ok[i] = tx_valid(&p->chain, j->txs[i].data, j->txs[i].len);
        atomic_fetch_add(&j->done, 1);
    }
}

static void *worker(void *arg)
{
    mempool *p = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->work_lock);
    for (;;) {
        while (!p->quit && p->generation == seen)
            pthread_cond_wait(&p->work_cv, &p->work_lock);
        if (p->quit)
            break;
        seen = p->generation;
        job *j = p->current;
        if (!j)
            continue; /* finished before this worker woke */
        p->active++;
        pthread_mutex_unlock(&p->work_lock);
        run_job(p, j);
        pthread_mutex_lock(&p->work_lock);
        p->active--;
        pthread_cond_broadcast(&p->done_cv);
    }
    pthread_mutex_unlock(&p->work_lock);
    return NULL;
}

/* Verify txs[0..count) on the workers and this thread. */
static void verify_all(mempool *p, const codec_span *txs, uint32_t count, bool *ok)
{
    job j = {.txs = txs, .ok = ok, .count = count};
    atomic_init(&j.next, 0);
    atomic_init(&j.done, 0);
    bool parallel = count > 1 && p->thread_count > 0;
    if (parallel) {
        pthread_mutex_lock(&p->work_lock);
        p->current = &j;
        p->generation++;
        pthread_cond_broadcast(&p->work_cv);
        pthread_mutex_unlock(&p->work_lock);
    }
    run_job(p, &j);
    if (parallel) {
        pthread_mutex_lock(&p->work_lock);
        /* every item claimed is finished, and no worker still holds j */
        while (atomic_load(&j.done) < count || p->active > 0)
            pthread_cond_wait(&p->done_cv, &p->work_lock);
        p->current = NULL;
        pthread_mutex_unlock(&p->work_lock);
    }
}

/* ---- API ------------------------------------------------------------------------- */

mempool *mempool_open(const hash32 *chain, uint32_t threads, uint32_t capacity)
{
    mempool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->chain = *chain;
    p->capacity = capacity;
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->work_lock, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    if (threads > 8)
        threads = 8;
    for (uint32_t i = 0; i < threads; i++)
        if (pthread_create(&p->threads[p->thread_count], NULL, worker, p) == 0)
            p->thread_count++;
    return p;
}

void mempool_close(mempool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->work_lock);
    p->quit = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->work_lock);
    for (uint32_t i = 0; i < p->thread_count; i++)
        pthread_join(p->threads[i], NULL);
    for (uint32_t b = 0; b < BUCKETS; b++) {
        for (entry *e = p->buckets[b], *next; e; e = next) {
            next = e->next;
            free(e->bytes);
            free(e);
        }
    }
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->work_lock);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p);
}

int mempool_submit(mempool *p, const uint8_t *tx, size_t len, char *why, size_t why_cap)
{
    static _Thread_local codec_tx decoded;
    codec_error ce;
    if (codec_tx_decode(tx, len, &decoded, &ce) != CODEC_OK) {
        char where[128];
        snprintf(why, why_cap, "tx does not decode: %s", codec_error_format(&ce, where, sizeof where));
        return 1;
    }
    int bad = codec_tx_verify_signatures(&decoded, &p->chain);
    if (bad != 0) {
        snprintf(why, why_cap, bad < 0 ? "the author's signature does not verify on this chain"
                                       : "a co-signature does not verify on this chain");
        return 1;
    }
    hash32 d;
    merkle_leaf_hash(tx, len, &d);
    int rc = 0;
    pthread_mutex_lock(&p->lock);
    if (*find_slot(p, &d)) {
        /* already held: accepted (idempotent resubmission) */
    } else if (p->inbox_count == INBOX_MAX || !insert_locked(p, &d, tx, len, true)) {
        snprintf(why, why_cap, "the node holds too many pending txs; retry later");
        rc = 1;
    } else {
        p->inbox[(p->inbox_head + p->inbox_count++) % INBOX_MAX] = d;
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
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

uint32_t mempool_admit(mempool *p, const codec_span *txs, uint32_t count, hash32 *added,
                       uint32_t cap)
{
    enum { MAX = 4096 };
    static codec_span fresh[MAX];
    static hash32 digests[MAX];
    static bool ok[MAX];
    uint32_t k = 0;
    pthread_mutex_lock(&p->lock);
    for (uint32_t i = 0; i < count && k < MAX; i++) {
        merkle_leaf_hash(txs[i].data, txs[i].len, &digests[k]);
        if (!*find_slot(p, &digests[k]))
            fresh[k++] = txs[i];
    }
    pthread_mutex_unlock(&p->lock);
    verify_all(p, fresh, k, ok);
    uint32_t n = 0;
    pthread_mutex_lock(&p->lock);
    for (uint32_t i = 0; i < k; i++)
        if (ok[i] && insert_locked(p, &digests[i], fresh[i].data, fresh[i].len, true) && n < cap)
            added[n++] = digests[i];
    pthread_mutex_unlock(&p->lock);
    return n;
}

void mempool_add_unverified(mempool *p, const codec_span *txs, uint32_t count)
{
    pthread_mutex_lock(&p->lock);
    for (uint32_t i = 0; i < count; i++) {
        hash32 d;
        merkle_leaf_hash(txs[i].data, txs[i].len, &d);
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
        *e = (entry){NULL, *digest, bytes, len, verified};
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

void mempool_lock(mempool *p) { pthread_mutex_lock(&p->lock); }
void mempool_unlock(mempool *p) { pthread_mutex_unlock(&p->lock); }

bool mempool_get_locked(mempool *p, const hash32 *digest, codec_span *out)
{
    entry *e = *find_slot(p, digest);
    if (e)
        *out = (codec_span){e->bytes, e->len};
    return e != NULL;
}
