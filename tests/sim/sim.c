/*
 * sim.c - the deterministic PBFT cluster simulator (see sim.h).
 *
 * Time advances in steps of STEP_MS. In a step: deliver every queued event
 * due (in a seeded order), then tick every live replica. After every call
 * into a core its ready output is processed: persisted (instantly durable),
 * committed batches checked against the invariants and executed, messages
 * sent through the faulty network, fetches served from a peer's store.
 * Deliberately simple: the simulator allocates freely (the core never does).
 */
#include "sim.h"

#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "merkle.h"
#include "pbft.h"

#define STEP_MS 10
#define FAULT_MS 3000
#define LIVENESS_MS 60000
#define MAX_HEIGHT 1024
#define MAX_REQUESTS 4096

/* ==== PRNG: splitmix64 seeding xoshiro256** ================================ */
typedef struct { uint64_t s[4]; } rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}
static void rng_seed(rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}
static uint64_t rng_below(rng *r, uint64_t n) { return n ? rng_next(r) % n : 0; }
static bool rng_chance(rng *r, uint32_t percent) { return rng_below(r, 100) < percent; }

/* ==== messages in flight ===================================================== */
typedef struct {
    int refs;
    pbft_msg msg;
    pbft_batch batch;
    pbft_view_change *vc;
    pbft_new_view *nv;
} blob;

typedef enum { EV_MSG = 1, EV_REQUEST, EV_FETCH, EV_BLOCKS } event_kind;

typedef struct {
    pbft_batch batch;
    codec_commit_cert cert;
    codec_result_cert result; /* height 0: no result certificate held */
    hash32 block_hash, state_hash;
    uint64_t block_time;
} stored_block;

#define FETCH_MAX 16 /* blocks in one fetch reply */
/* A fetch request (EV_FETCH, to the peer) or its reply (EV_BLOCKS, to the
 * requester), travelling through the same faulty network as messages. */
typedef struct {
    uint32_t requester, peer;
    uint64_t lo, hi;
    uint32_t count;
    stored_block blocks[FETCH_MAX];
} fetch_msg;

typedef struct {
    uint64_t time, order;
    event_kind kind;
    uint32_t to;
    blob *b;
    uint64_t request;
    fetch_msg *fetch;
} event;

typedef struct {
    pbft_core core;
    pbft_new_view persisted_nv; /* the NEW-VIEW it issued last (valid if has_persisted_nv;
                                   before `persisted`: sim_alloc does not clear it) */
    pbft_durable persisted;
    bool has_persisted_nv;
    bool crashed, byzantine, slow, silent;
    uint64_t restart_at;
    int64_t skew_ms;
    uint32_t group;
    uint64_t height; /* executed */
    stored_block *store; /* [MAX_HEIGHT + 1] */
    uint64_t request_height[MAX_REQUESTS]; /* height first executed, 0 = not yet */
    pbft_view last_view;
    bool last_changing;
} node;

typedef struct sim sim;
typedef struct {
    sim *s;
    uint32_t id;
} signer_ctx;

struct sim {
    sim_options opt;
    sim_result *res;
    rng r;
    uint64_t now;
    uint32_t n, f;
    node nodes[PBFT_N_MAX];
    signer_ctx ctx[PBFT_N_MAX];
    uint8_t keys[PBFT_N_MAX][32];
    keypair kp[PBFT_N_MAX];
    hash32 chain_id;
    uint64_t mac_key;
    event *heap;
    size_t heap_len, heap_cap;
    uint64_t order;
    /* invariants */
    bool have_digest[MAX_HEIGHT + 1];
    hash32 digest[MAX_HEIGHT + 1];
    hash32 state[MAX_HEIGHT + 1];
    bool have_state[MAX_HEIGHT + 1];
    uint32_t request_count;
    uint64_t request_at[MAX_REQUESTS];
    /* The core orders request digests (merkle_leaf_hash of the 16 request
     * bytes); the simulator is every host's mempool: digest -> request id. */
    hash32 request_leaf[MAX_REQUESTS];
    uint16_t leaf_index[2 * MAX_REQUESTS]; /* id + 1, 0 = empty; linear probing */
    /* faults */
    uint32_t drop_pct, dup_pct, delay_max;
    bool partitioned;
    uint64_t partition_until;
    bool faults_over;
    blob *captured[32];
    uint32_t captured_count;
    bool failed;
    uint32_t bench_fed;
    struct signed_rec { uint64_t view, height; uint32_t node; bool used; hash32 d; } *signed_tab;
};
#define SIGNED_TAB 16384

static void fail(sim *s, const char *fmt, ...)
{
    if (s->failed)
        return;
    s->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->res->violation, sizeof s->res->violation, fmt, ap);
    va_end(ap);
}

static void trace(sim *s, const char *fmt, ...)
{
    if (!s->opt.trace)
        return;
    fprintf(s->opt.trace, "t=%06llu ", (unsigned long long)s->now);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(s->opt.trace, fmt, ap);
    va_end(ap);
    fputc('\n', s->opt.trace);
}

static void hex8(const hash32 *h, char *out) { tcrypto_to_hex(h->bytes, 4, out); }

/* ==== signing: keyed hash stand-in or Ed25519 ================================= */
static void keyed(const sim *s, uint32_t id, const char *tag, const uint8_t *b, size_t len,
                  signature *out)
{
    tcrypto_sha256_state st;
    tcrypto_sha256_init(&st);
    tcrypto_sha256_update(&st, s->keys[id], 32);
    tcrypto_sha256_update(&st, tag, strlen(tag));
    tcrypto_sha256_update(&st, b, len);
    memset(out, 0, sizeof *out);
    tcrypto_sha256_final(&st, (hash32 *)out->bytes);
}

static bool sign_as(sim *s, uint32_t id, const char *tag, const uint8_t *b, size_t len,
                    signature *out)
{
    if (s->opt.no_signatures) {
        memset(out, 0, sizeof *out);
        return true;
    }
    if (!s->opt.ed25519) {
        keyed(s, id, tag, b, len, out);
        return true;
    }
    return tcrypto_sign(&s->kp[id], tag, &s->chain_id, b, len, out) == TCRYPTO_OK;
}

static bool sim_sign(void *ctx, const char *tag, const uint8_t *b, size_t len, signature *out)
{
    signer_ctx *c = ctx;
    return sign_as(c->s, c->id, tag, b, len, out);
}

static bool sim_verify(void *ctx, pbft_replica v, const char *tag, const uint8_t *b, size_t len,
                       const signature *sig)
{
    signer_ctx *c = ctx;
    sim *s = c->s;
    s->res->verifies++;
    if (v >= s->n)
        return false;
    if (s->opt.no_signatures)
        return true;
    if (s->opt.ed25519)
        return tcrypto_verify(&s->kp[v].public_key, tag, &s->chain_id, b, len, sig);
    signature want;
    keyed(s, v, tag, b, len, &want);
    return memcmp(&want, sig, sizeof want) == 0;
}

/* A request is 8 bytes of id and 8 bytes of client MAC. */
static uint64_t request_mac(const sim *s, uint64_t id)
{
    uint64_t x = id ^ s->mac_key;
    return splitmix64(&x);
}

static void request_bytes(const sim *s, uint64_t id, uint8_t out[16])
{
    uint64_t mac = request_mac(s, id);
    memcpy(out, &id, 8);
    memcpy(out + 8, &mac, 8);
}

static uint32_t leaf_home(const hash32 *d)
{
    uint32_t x;
    memcpy(&x, d->bytes, sizeof x);
    return x & (2 * MAX_REQUESTS - 1);
}

/* The digests of requests 0..request_count-1, indexed. */
static void requests_index(sim *s)
{
    memset(s->leaf_index, 0, sizeof s->leaf_index);
    for (uint32_t id = 0; id < s->request_count; id++) {
        uint8_t b[16];
        request_bytes(s, id, b);
        merkle_leaf_hash(b, sizeof b, &s->request_leaf[id]);
        uint32_t i = leaf_home(&s->request_leaf[id]);
        while (s->leaf_index[i])
            i = (i + 1) & (2 * MAX_REQUESTS - 1);
        s->leaf_index[i] = (uint16_t)(id + 1);
    }
}

/* The id of a submitted request with this digest, or -1 (invented). */
static int64_t request_id(const sim *s, const hash32 *d)
{
    for (uint32_t i = leaf_home(d); s->leaf_index[i]; i = (i + 1) & (2 * MAX_REQUESTS - 1))
        if (memcmp(&s->request_leaf[s->leaf_index[i] - 1], d, 32) == 0)
            return s->leaf_index[i] - 1;
    return -1;
}

static bool sim_request_valid(void *ctx, const hash32 *d)
{
    signer_ctx *c = ctx;
    return request_id(c->s, d) >= 0;
}

/* ==== event heap ================================================================ */
static bool ev_less(const event *a, const event *b)
{
    return a->time != b->time ? a->time < b->time : a->order < b->order;
}

static void heap_push(sim *s, event e)
{
    if (s->heap_len == s->heap_cap) {
        s->heap_cap = s->heap_cap ? 2 * s->heap_cap : 1024;
        s->heap = realloc(s->heap, s->heap_cap * sizeof *s->heap);
        assert(s->heap);
    }
    size_t i = s->heap_len++;
    s->heap[i] = e;
    while (i > 0 && ev_less(&s->heap[i], &s->heap[(i - 1) / 2])) {
        event t = s->heap[i];
        s->heap[i] = s->heap[(i - 1) / 2];
        s->heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static event heap_pop(sim *s)
{
    event top = s->heap[0];
    s->heap[0] = s->heap[--s->heap_len];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->heap_len && ev_less(&s->heap[l], &s->heap[m]))
            m = l;
        if (r < s->heap_len && ev_less(&s->heap[r], &s->heap[m]))
            m = r;
        if (m == i)
            break;
        event t = s->heap[i];
        s->heap[i] = s->heap[m];
        s->heap[m] = t;
        i = m;
    }
    return top;
}

static blob *blob_make(const pbft_msg *m)
{
    blob *b = calloc(1, sizeof *b);
    assert(b);
    b->refs = 1; /* the caller's reference */
    b->msg = *m;
    if (m->batch) {
        b->batch = *m->batch;
        b->msg.batch = &b->batch;
    }
    if (m->view_change) {
        b->vc = malloc(sizeof *b->vc);
        assert(b->vc);
        *b->vc = *m->view_change;
        b->msg.view_change = b->vc;
    }
    if (m->new_view) {
        b->nv = malloc(sizeof *b->nv);
        assert(b->nv);
        *b->nv = *m->new_view;
        b->msg.new_view = b->nv;
    }
    return b;
}

static void blob_unref(blob *b)
{
    if (--b->refs > 0)
        return;
    free(b->vc);
    free(b->nv);
    free(b);
}

/* Queue b for node `to` through the faulty network. */
static void net_send(sim *s, uint32_t from, uint32_t to, blob *b)
{
    if (!s->faults_over && s->drop_pct && rng_chance(&s->r, s->drop_pct))
        return;
    uint32_t copies = (!s->faults_over && s->dup_pct && rng_chance(&s->r, s->dup_pct)) ? 2 : 1;
    for (uint32_t c = 0; c < copies; c++) {
        uint64_t delay = 1 + rng_below(&s->r, s->faults_over ? 20 : s->delay_max);
        if (s->nodes[from].slow || s->nodes[to].slow)
            delay += 100 + rng_below(&s->r, 200);
        event e = {s->now + delay, s->order++, EV_MSG, to, b, 0, NULL};
        b->refs++;
        heap_push(s, e);
    }
}

static bool reachable(const sim *s, uint32_t a, uint32_t b)
{
    return !s->partitioned || s->nodes[a].group == s->nodes[b].group;
}

/* Queue a fetch request or reply (owned by the event) through the network. */
static void net_fetch(sim *s, event_kind kind, uint32_t from, uint32_t to, fetch_msg *fm)
{
    if (!s->faults_over && s->drop_pct && rng_chance(&s->r, s->drop_pct)) {
        free(fm);
        return;
    }
    uint64_t delay = 1 + rng_below(&s->r, s->faults_over ? 20 : s->delay_max);
    if (s->nodes[from].slow || s->nodes[to].slow)
        delay += 100 + rng_below(&s->r, 200);
    event e = {s->now + delay, s->order++, kind, to, NULL, 0, fm};
    heap_push(s, e);
}

/* ==== execution and invariants ===================================================== */
static void check_batch(sim *s, uint32_t i, const pbft_committed *c, const hash32 *d)
{
    node *nd = &s->nodes[i];
    uint64_t h = c->batch.header.height;
    char a[9], b[9];
    if (h != nd->height + 1)
        fail(s, "node %u committed height %llu after %llu", i, (unsigned long long)h,
             (unsigned long long)nd->height);
    if (h > MAX_HEIGHT) {
        fail(s, "height %llu beyond the simulator's store", (unsigned long long)h);
        return;
    }
    if (nd->byzantine)
        return;
    if (s->have_digest[h] && memcmp(&s->digest[h], d, 32) != 0) {
        hex8(&s->digest[h], a);
        hex8(d, b);
        fail(s, "agreement: height %llu committed as %s and as %s (node %u)",
             (unsigned long long)h, a, b, i);
    }
    s->have_digest[h] = true;
    s->digest[h] = *d;
    for (uint32_t k = 0; k < c->batch.count; k++) {
        int64_t id = request_id(s, &c->batch.txs[k]);
        if (id < 0)
            fail(s, "validity: node %u committed an unsubmitted request at %llu", i,
                 (unsigned long long)h);
        else if (nd->request_height[id])
            s->res->replays++; /* ordered twice after a view change: the executor
                                  skips it, as the nonce check does in the node */
        else
            nd->request_height[id] = h;
    }
}

static void execute(sim *s, uint32_t i, const pbft_committed *c)
{
    node *nd = &s->nodes[i];
    hash32 d;
    codec_batch_hash(&c->batch.header, &d);
    check_batch(s, i, c, &d);
    uint64_t h = c->batch.header.height;
    if (h > MAX_HEIGHT || h != nd->height + 1)
        return;
    stored_block *prev = &nd->store[h - 1], *sb = &nd->store[h];
    sb->batch = c->batch;
    sb->cert = c->cert;
    sb->block_time = c->block_time_ms;
    tcrypto_sha256_state st;
    tcrypto_sha256_init(&st);
    tcrypto_sha256_update(&st, &prev->block_hash, 32);
    tcrypto_sha256_update(&st, &d, 32);
    tcrypto_sha256_update(&st, &c->block_time_ms, 8);
    tcrypto_sha256_final(&st, &sb->block_hash);
    tcrypto_sha256_init(&st);
    tcrypto_sha256_update(&st, &prev->state_hash, 32);
    for (uint32_t k = 0; k < c->batch.count; k++) {
        int64_t id = request_id(s, &c->batch.txs[k]);
        uint8_t b[16];
        if (id >= 0 && nd->request_height[id] == h) {
            request_bytes(s, (uint64_t)id, b);
            tcrypto_sha256_update(&st, b, sizeof b);
        }
    }
    tcrypto_sha256_final(&st, &sb->state_hash);
    if (!nd->byzantine) {
        if (s->have_state[h] && memcmp(&s->state[h], &sb->state_hash, 32) != 0)
            fail(s, "checkpoint: node %u state hash differs at %llu", i, (unsigned long long)h);
        s->have_state[h] = true;
        s->state[h] = sb->state_hash;
    }
    nd->height = h;
    char a[9];
    hex8(&d, a);
    trace(s, "node %u commit h=%llu digest=%s txs=%u view=%llu", i, (unsigned long long)h, a,
          c->batch.count, (unsigned long long)c->cert.view);
    if (h > s->res->max_height)
        s->res->max_height = h;
    hash32 receipts;
    tcrypto_sha256(&sb->state_hash, 32, &receipts);
    pbft_err e = pbft_executed(&nd->core, h, &sb->block_hash, &sb->state_hash, &receipts);
    /* A byzantine node's executor skips request bookkeeping, so its state
     * hash is wrong: its core refuses to sign it (PBFT_ERR_STATE) once a
     * result certificate for the height is known. A correct node never is. */
    if (e != PBFT_OK && !nd->byzantine)
        fail(s, "node %u: pbft_executed(%llu): %s", i, (unsigned long long)h, pbft_strerror(e));
}

/* ==== sending, with the byzantine behaviours ======================================= */
static void deliver_to_all(sim *s, uint32_t from, const pbft_out *o, blob *b)
{
    for (uint32_t to = 0; to < s->n; to++)
        if (to != from && (o->to == PBFT_BROADCAST || o->to == to))
            net_send(s, from, to, b);
}

static void resign_vote(sim *s, uint32_t id, pbft_msg *m)
{
    uint8_t buf[128];
    codec_buf cb = codec_buf_make(buf, sizeof buf);
    const char *tag = m->type == PBFT_MSG_PREPREPARE ? TCRYPTO_TAG_PREPREPARE
                      : m->type == PBFT_MSG_PREPARE  ? TCRYPTO_TAG_PREPARE
                                                     : TCRYPTO_TAG_COMMIT;
    if (m->type == PBFT_MSG_COMMIT)
        codec_commit_body_encode(m->height, m->view, &m->digest, &cb);
    else
        codec_pbft_vote_body_encode(m->view, m->height, &m->digest, &cb);
    sign_as(s, id, tag, buf, cb.len, &m->sig);
}

/* Equivocation: the other half of the replicas gets a different batch. */
static void equivocate(sim *s, uint32_t from, const pbft_out *o)
{
    blob *a = blob_make(&o->msg), *b = blob_make(&o->msg);
    b->batch.header.time_ms += 1 + rng_below(&s->r, 3);
    if (b->batch.count > 1 && rng_chance(&s->r, 50)) {
        b->batch.count--;
        pbft_batch_seal(&b->batch);
    }
    codec_batch_hash(&b->batch.header, &b->msg.digest);
    resign_vote(s, from, &b->msg);
    trace(s, "node %u equivocates at h=%llu view=%llu", from,
          (unsigned long long)o->msg.height, (unsigned long long)o->msg.view);
    for (uint32_t to = 0; to < s->n; to++)
        if (to != from)
            net_send(s, from, to, to % 2 ? a : b);
    blob_unref(a);
    blob_unref(b);
}

/* A forged new-view: every re-issued batch replaced by a null batch. */
static void forge_new_view(sim *s, uint32_t from, const pbft_out *o)
{
    blob *b = blob_make(&o->msg);
    pbft_new_view *nv = b->nv;
    bool changed = false;
    for (uint32_t i = 0; i < nv->reissued_count; i++) {
        pbft_batch nb;
        memset(&nb, 0, sizeof nb);
        nb.header.height = nv->reissued_from + 1 + i;
        pbft_batch_seal(&nb);
        hash32 d;
        codec_batch_hash(&nb.header, &d);
        changed |= memcmp(&d, &nv->reissued[i], 32) != 0;
        nv->reissued[i] = d;
        pbft_msg m = {.type = PBFT_MSG_PREPREPARE, .view = nv->view, .height = nb.header.height,
                      .digest = d};
        resign_vote(s, from, &m);
        nv->reissued_sig[i] = m.sig;
    }
    if (changed) {
        /* Re-sign the body through a scratch core that holds our key. */
        pbft_new_view_sign(&s->nodes[from].core, nv);
        trace(s, "node %u forges new-view %llu", from, (unsigned long long)nv->view);
    }
    deliver_to_all(s, from, o, b);
    blob_unref(b);
}

static void send_garbage(sim *s, uint32_t from)
{
    pbft_msg m;
    memset(&m, 0, sizeof m);
    uint32_t kind = (uint32_t)rng_below(&s->r, 4);
    m.type = (pbft_msg_type)(1 + rng_below(&s->r, 4));
    m.from = from;
    m.view = s->nodes[from].core.durable.view + rng_below(&s->r, 3);
    m.height = s->nodes[from].height + rng_below(&s->r, 4);
    for (int i = 0; i < 32; i++)
        m.digest.bytes[i] = (uint8_t)rng_next(&s->r);
    m.block_hash = m.digest;
    pbft_batch batch;
    memset(&batch, 0, sizeof batch);
    batch.header.height = m.height;
    m.batch = &batch;
    if (kind == 0) { /* forged: claims another sender */
        m.from = (from + 1 + (uint32_t)rng_below(&s->r, s->n - 1)) % s->n;
        resign_vote(s, from, &m);
        m.from = from; /* the network stamps the true sender; forgeries come via sig */
        m.sig.bytes[0] ^= 1;
    } else if (kind == 1 && s->captured_count) { /* stale replay of someone's message */
        blob *old = s->captured[rng_below(&s->r, s->captured_count)];
        m = old->msg;
        m.from = from;
    } else { /* wrong digest, correctly signed by us */
        if (m.type == PBFT_MSG_CHECKPOINT)
            m.type = PBFT_MSG_PREPARE;
        resign_vote(s, from, &m);
    }
    pbft_out o = {.to = PBFT_BROADCAST, .after_persist = false, .msg = m};
    blob *b = blob_make(&m);
    deliver_to_all(s, from, &o, b);
    blob_unref(b);
}

static void capture(sim *s, blob *b)
{
    if (b->msg.view_change || b->msg.new_view)
        return;
    uint32_t at = s->captured_count < 32 ? s->captured_count++ : (uint32_t)rng_below(&s->r, 32);
    if (s->captured[at])
        blob_unref(s->captured[at]);
    b->refs++;
    s->captured[at] = b;
}

/* A correct replica never signs two digests for one (view, height), even
 * across crashes and restarts. */
static void check_signed(sim *s, uint32_t from, const pbft_msg *m)
{
    if (m->type != PBFT_MSG_PREPREPARE && m->type != PBFT_MSG_PREPARE)
        return;
    uint64_t x = m->view * 1000003u + m->height * 7919u + from;
    for (uint32_t probe = 0; probe < SIGNED_TAB; probe++) {
        struct signed_rec *r = &s->signed_tab[(splitmix64(&x)) % SIGNED_TAB];
        if (!r->used) {
            *r = (struct signed_rec){m->view, m->height, from, true, m->digest};
            return;
        }
        if (r->view == m->view && r->height == m->height && r->node == from) {
            if (memcmp(&r->d, &m->digest, 32) != 0)
                fail(s, "node %u signed two digests for view %llu height %llu", from,
                     (unsigned long long)m->view, (unsigned long long)m->height);
            return;
        }
    }
}

static void send_out(sim *s, uint32_t from, const pbft_out *o)
{
    node *nd = &s->nodes[from];
    if (!nd->byzantine)
        check_signed(s, from, &o->msg);
    if (nd->silent)
        return;
    bool byz = nd->byzantine && !s->faults_over;
    if (byz && o->msg.type == PBFT_MSG_PREPREPARE && s->opt.mix != SIM_MIX_BYZANTINE &&
        rng_chance(&s->r, 60)) {
        equivocate(s, from, o);
        return;
    }
    if (byz && o->msg.type == PBFT_MSG_NEW_VIEW) {
        forge_new_view(s, from, o);
        return;
    }
    if (byz && rng_chance(&s->r, 20))
        send_garbage(s, from);
    blob *b = blob_make(&o->msg);
    if (!nd->byzantine && rng_chance(&s->r, 5))
        capture(s, b);
    deliver_to_all(s, from, o, b);
    blob_unref(b);
}

static void serve_fetch(sim *s, uint32_t i, uint64_t from, uint64_t to);

/* Process everything node i's core has output, until it has nothing more. */
static void drain(sim *s, uint32_t i)
{
    static pbft_committed committed[PBFT_WINDOW];
    node *nd = &s->nodes[i];
    for (int round = 0; round < 64; round++) {
        const pbft_ready *r = pbft_ready_get(&nd->core);
        if (!r->persist && !r->out_count && !r->committed_count && !r->fetch_to)
            return;
        if (r->persist)
            nd->persisted = nd->core.durable;
        if (r->new_view) {
            nd->persisted_nv = *r->new_view;
            nd->has_persisted_nv = true;
        }
        for (uint32_t k = 0; k < r->stable_count; k++)
            if (r->stable[k].height <= MAX_HEIGHT)
                nd->store[r->stable[k].height].result = r->stable[k];
        if (r->diverged && !nd->byzantine)
            fail(s, "catch-up: node %u's execution of %llu contradicts its result certificate",
                 i, (unsigned long long)r->diverged);
        for (uint32_t k = 0; k < r->out_count; k++)
            send_out(s, i, &r->out[k]);
        uint32_t cc = r->committed_count;
        memcpy(committed, r->committed, cc * sizeof committed[0]);
        uint64_t ff = r->fetch_from, ft = r->fetch_to;
        pbft_ready_clear(&nd->core);
        for (uint32_t k = 0; k < cc && !s->failed; k++)
            execute(s, i, &committed[k]);
        if (ft)
            serve_fetch(s, i, ff, ft);
        if (nd->core.durable.view != nd->last_view ||
            nd->core.durable.view_changing != nd->last_changing) {
            nd->last_view = nd->core.durable.view;
            nd->last_changing = nd->core.durable.view_changing;
            trace(s, "node %u %s view %llu", i, nd->last_changing ? "asks for" : "enters",
                  (unsigned long long)nd->last_view);
            if (nd->last_view > s->res->view_max)
                s->res->view_max = nd->last_view;
        }
    }
}

/* Catch-up: the host asks one peer, through the network, for its blocks with
 * their commit and result certificates (at most FETCH_MAX per request; the
 * core asks again after retransmit_ms if it is still behind). */
static void serve_fetch(sim *s, uint32_t i, uint64_t from, uint64_t to)
{
    uint32_t peer = (uint32_t)rng_below(&s->r, s->n);
    if (peer == i)
        return;
    if (to >= from + FETCH_MAX)
        to = from + FETCH_MAX - 1;
    fetch_msg *fm = calloc(1, sizeof *fm);
    assert(fm);
    fm->requester = i;
    fm->peer = peer;
    fm->lo = from;
    fm->hi = to;
    trace(s, "node %u asks node %u for %llu..%llu", i, peer, (unsigned long long)from,
          (unsigned long long)to);
    net_fetch(s, EV_FETCH, i, peer, fm);
}

/* The peer answers from its block store (a byzantine peer forges). */
static void answer_fetch(sim *s, fetch_msg *fm)
{
    node *p = &s->nodes[fm->peer];
    if (p->crashed || p->silent || !reachable(s, fm->requester, fm->peer)) {
        free(fm);
        return;
    }
    fm->count = 0;
    for (uint64_t h = fm->lo; h <= fm->hi && h <= p->height && h <= MAX_HEIGHT; h++) {
        stored_block *sb = &fm->blocks[fm->count++];
        *sb = p->store[h];
        if (sb->result.height != h)
            memset(&sb->result, 0, sizeof sb->result);
        if (p->byzantine && !s->faults_over) {
            switch (rng_below(&s->r, 3)) {
            case 0: sb->batch.header.time_ms ^= 1; break;      /* forged block */
            case 1: sb->result.state_hash.bytes[0] ^= 1;       /* forged result */
                    if (!sb->result.height) sb->result.height = h;
                    break;
            default: sb->result.sig_count = s->f; break;        /* short certificate */
            }
        }
    }
    if (!fm->count) {
        free(fm);
        return;
    }
    trace(s, "node %u serves %llu..%llu to node %u", fm->peer, (unsigned long long)fm->lo,
          (unsigned long long)(fm->lo + fm->count - 1), fm->requester);
    net_fetch(s, EV_BLOCKS, fm->peer, fm->requester, fm);
}

/* The requester's core checks both certificates of each block and delivers it. */
static void receive_blocks(sim *s, fetch_msg *fm)
{
    uint32_t i = fm->requester;
    node *nd = &s->nodes[i];
    if (!nd->crashed && reachable(s, fm->peer, i)) {
        for (uint32_t k = 0; k < fm->count && !s->failed; k++) {
            stored_block *sb = &fm->blocks[k];
            uint64_t h = sb->batch.header.height;
            if (h <= nd->core.last_delivered)
                continue; /* the normal case (or an earlier reply) got there first */
            pbft_err e = pbft_deliver_block(&nd->core, &sb->batch, &sb->cert, &sb->result);
            if (e != PBFT_OK) {
                s->res->fetch_refused++;
                if (!s->nodes[fm->peer].byzantine)
                    trace(s, "node %u refuses fetched %llu: %s", i, (unsigned long long)h,
                          pbft_strerror(e));
                if (!s->nodes[fm->peer].byzantine && e != PBFT_ERR_STALE && e != PBFT_ERR_FULL)
                    fail(s, "catch-up: node %u refuses block %llu from correct node %u: %s", i,
                         (unsigned long long)h, fm->peer, pbft_strerror(e));
                break;
            }
            s->res->fetched_blocks++;
            s->res->result_checked += sb->result.height == h;
            drain(s, i);
        }
    }
    free(fm);
}

/* ==== cluster set-up, faults, requests ============================================ */
static void node_start(sim *s, uint32_t i, bool restore)
{
    node *nd = &s->nodes[i];
    pbft_config cfg = {
        .id = i, .n = s->n, .batch_max = s->opt.batch_max ? s->opt.batch_max : 8,
        .batch_delay_ms = 20, .view_timeout_ms = 300,
        .retransmit_ms = 150, .clock_bound_ms = 500,
        .signer = {sim_sign, sim_verify, sim_request_valid, &s->ctx[i]},
    };
    pbft_err e = pbft_init(&nd->core, &cfg);
    assert(e == PBFT_OK);
    if (restore) {
        uint64_t t = nd->store[nd->height].block_time;
        e = pbft_restore(&nd->core, &nd->persisted, nd->height, t);
        if (e != PBFT_OK)
            fail(s, "node %u restore: %s", i, pbft_strerror(e));
        if (nd->has_persisted_nv && nd->persisted_nv.view == nd->persisted.view &&
            !nd->persisted.view_changing) {
            e = pbft_restore_new_view(&nd->core, &nd->persisted_nv);
            if (e != PBFT_OK && !nd->byzantine)
                fail(s, "node %u restores its NEW-VIEW: %s", i, pbft_strerror(e));
        }
    }
    pbft_tick(&nd->core, s->now, s->now + (uint64_t)nd->skew_ms);
}

static void crash(sim *s, uint32_t i, uint64_t down_ms)
{
    node *nd = &s->nodes[i];
    nd->crashed = true;
    nd->restart_at = s->now + down_ms;
    trace(s, "node %u crashes", i);
}

static void restart(sim *s, uint32_t i)
{
    node *nd = &s->nodes[i];
    nd->crashed = false;
    trace(s, "node %u restarts at height %llu", i, (unsigned long long)nd->height);
    node_start(s, i, true);
    drain(s, i);
}

static uint32_t crashed_count(const sim *s)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < s->n; i++)
        k += s->nodes[i].crashed || s->nodes[i].byzantine;
    return k;
}

static bool mix_has(const sim *s, sim_mix m)
{
    return s->opt.mix == m || s->opt.mix == SIM_MIX_ALL;
}

static void random_faults(sim *s)
{
    if (s->faults_over)
        return;
    if (mix_has(s, SIM_MIX_CRASH) && rng_chance(&s->r, 2) && crashed_count(s) < s->f) {
        uint32_t i = (uint32_t)rng_below(&s->r, s->n);
        if (!s->nodes[i].crashed && !s->nodes[i].byzantine)
            crash(s, i, 100 + rng_below(&s->r, 1500));
    }
    if (mix_has(s, SIM_MIX_PARTITION) && !s->partitioned && rng_chance(&s->r, 1)) {
        s->partitioned = true;
        s->partition_until = s->now + 200 + rng_below(&s->r, 1200);
        for (uint32_t i = 0; i < s->n; i++)
            s->nodes[i].group = (uint32_t)rng_below(&s->r, 2);
        trace(s, "partition");
    }
    if (s->partitioned && s->now >= s->partition_until) {
        s->partitioned = false;
        trace(s, "partition heals");
    }
}

static void submit(sim *s, uint64_t id)
{
    for (uint32_t i = 0; i < s->n; i++) {
        node *nd = &s->nodes[i];
        if (nd->crashed)
            continue;
        pbft_propose(&nd->core, &s->request_leaf[id]);
        drain(s, i);
    }
}

static void handle_event(sim *s, event *e)
{
    if (e->kind == EV_REQUEST) {
        submit(s, e->request);
        return;
    }
    if (e->kind == EV_FETCH) {
        answer_fetch(s, e->fetch);
        return;
    }
    if (e->kind == EV_BLOCKS) {
        receive_blocks(s, e->fetch);
        return;
    }
    node *nd = &s->nodes[e->to];
    uint32_t from = e->b->msg.from;
    if (!nd->crashed && reachable(s, from, e->to) && !nd->silent) {
        pbft_step(&nd->core, &e->b->msg);
        drain(s, e->to);
    }
    blob_unref(e->b);
}

static bool all_committed(const sim *s)
{
    for (uint32_t i = 0; i < s->n; i++) {
        const node *nd = &s->nodes[i];
        if (nd->byzantine)
            continue;
        for (uint32_t k = 0; k < s->request_count; k++)
            if (!nd->request_height[k])
                return false;
    }
    return true;
}

static void stop_faults(sim *s)
{
    s->faults_over = true;
    s->partitioned = false;
    for (uint32_t i = 0; i < s->n; i++) {
        if (s->nodes[i].crashed)
            restart(s, i);
        if (s->nodes[i].byzantine)
            s->nodes[i].silent = true;
        s->nodes[i].slow = false;
    }
    trace(s, "faults stop");
}

/* Clients retransmit requests that are not committed everywhere. */
static void client_retry(sim *s)
{
    for (uint32_t k = 0; k < s->request_count; k++) {
        bool done = true;
        for (uint32_t i = 0; i < s->n; i++)
            if (!s->nodes[i].byzantine && !s->nodes[i].request_height[k])
                done = false;
        if (!done)
            submit(s, k);
    }
}

/* ==== runs ========================================================================= */
static const char *const MIX_NAMES[SIM_MIX_COUNT] = {
    "clean", "lossy", "partition", "crash", "equivocate", "byzantine", "slow", "all"};
static const char *const SCENARIO_NAMES[] = {
    "none", "normal", "primary-crash", "equivocate", "partition", "catchup", "catchup-faulty"};

const char *sim_mix_name(sim_mix m) { return m < SIM_MIX_COUNT ? MIX_NAMES[m] : "?"; }
int sim_mix_parse(const char *name)
{
    for (int i = 0; i < SIM_MIX_COUNT; i++)
        if (strcmp(name, MIX_NAMES[i]) == 0)
            return i;
    return -1;
}
const char *sim_scenario_name(sim_scenario sc) { return SCENARIO_NAMES[sc]; }
int sim_scenario_parse(const char *name)
{
    for (int i = 1; i <= SIM_SCENARIO_CATCHUP_FAULTY; i++)
        if (strcmp(name, SCENARIO_NAMES[i]) == 0)
            return i;
    return -1;
}

static void setup_mix(sim *s)
{
    sim_mix m = s->opt.mix;
    s->delay_max = 20;
    if (m != SIM_MIX_CLEAN) {
        s->drop_pct = m == SIM_MIX_LOSSY || m == SIM_MIX_ALL ? 10 : 3;
        s->dup_pct = 3;
        s->delay_max = m == SIM_MIX_LOSSY || m == SIM_MIX_ALL ? 120 : 60;
    }
    if (m == SIM_MIX_EQUIVOCATE || m == SIM_MIX_ALL)
        s->nodes[rng_below(&s->r, 2)].byzantine = true; /* primary of view 0 or 1 */
    if (m == SIM_MIX_BYZANTINE)
        for (uint32_t k = 0; k < s->f; k++)
            s->nodes[rng_below(&s->r, s->n)].byzantine = true;
    if (m == SIM_MIX_SLOW || m == SIM_MIX_ALL)
        s->nodes[rng_below(&s->r, s->n)].slow = true;
}

static void setup_scenario(sim *s)
{
    switch (s->opt.scenario) {
    case SIM_SCENARIO_EQUIVOCATE: s->nodes[0].byzantine = true; break;
    case SIM_SCENARIO_CATCHUP: crash(s, 3, 2500); break;
    case SIM_SCENARIO_CATCHUP_FAULTY:
        /* Replica 3 is down for the first 1.5-2 s, then catches up while the
         * network still drops, delays, duplicates and reorders. */
        s->drop_pct = 10;
        s->dup_pct = 3;
        s->delay_max = 120;
        crash(s, 3, 1500 + rng_below(&s->r, 500));
        if (s->n >= 7)
            s->nodes[5].byzantine = true;
        break;
    default: break;
    }
}

static void scenario_events(sim *s)
{
    sim_scenario sc = s->opt.scenario;
    if (sc == SIM_SCENARIO_PRIMARY_CRASH && s->now == 500)
        crash(s, 0, 5000);
    if (sc == SIM_SCENARIO_PARTITION && s->now == 300) {
        s->partitioned = true;
        s->partition_until = 1500;
        for (uint32_t i = 0; i < s->n; i++)
            s->nodes[i].group = i < 2;
        trace(s, "partition {0,1} | {2,3}");
    }
    if (sc == SIM_SCENARIO_PARTITION && s->partitioned && s->now >= s->partition_until) {
        s->partitioned = false;
        trace(s, "partition heals");
    }
}

static void setup(sim *s)
{
    rng_seed(&s->r, s->opt.seed);
    s->signed_tab = calloc(SIGNED_TAB, sizeof *s->signed_tab);
    assert(s->signed_tab);
    s->n = s->opt.n;
    s->f = (s->n - 1) / 3;
    s->mac_key = rng_next(&s->r);
    tcrypto_sha256(&s->opt.seed, sizeof s->opt.seed, &s->chain_id);
    for (uint32_t i = 0; i < s->n; i++) {
        for (int k = 0; k < 32; k++)
            s->keys[i][k] = (uint8_t)rng_next(&s->r);
        if (s->opt.ed25519)
            tcrypto_keypair_from_seed(s->keys[i], &s->kp[i]);
        s->ctx[i].s = s;
        s->ctx[i].id = i;
        node *nd = &s->nodes[i];
        nd->store = calloc(MAX_HEIGHT + 1, sizeof *nd->store);
        assert(nd->store);
        nd->skew_ms = (int64_t)rng_below(&s->r, 100);
    }
    if (s->opt.scenario == SIM_SCENARIO_NONE)
        setup_mix(s);
    else
        setup_scenario(s);
    for (uint32_t i = 0; i < s->n; i++)
        node_start(s, i, false);
    s->request_count = s->opt.scenario ? 12 : 16 + (uint32_t)rng_below(&s->r, 16);
    if (s->opt.bench_requests) {
        s->request_count = s->opt.bench_requests < MAX_REQUESTS ? s->opt.bench_requests
                                                                : MAX_REQUESTS;
        requests_index(s);
        return; /* fed by bench_feed */
    }
    requests_index(s);
    for (uint32_t k = 0; k < s->request_count; k++) {
        event e = {rng_below(&s->r, FAULT_MS), s->order++, EV_REQUEST, 0, NULL, k, NULL};
        heap_push(s, e);
    }
}

static void teardown(sim *s)
{
    while (s->heap_len) {
        event e = heap_pop(s);
        if (e.b)
            blob_unref(e.b);
        free(e.fetch);
    }
    free(s->heap);
    free(s->signed_tab);
    for (uint32_t i = 0; i < s->captured_count; i++)
        blob_unref(s->captured[i]);
    for (uint32_t i = 0; i < s->n; i++)
        free(s->nodes[i].store);
}

/* Benchmark clients: keep every replica's pending queue nearly full. */
static void bench_feed(sim *s)
{
    while (s->bench_fed < s->request_count &&
           s->nodes[0].core.pending_count + 16 < PBFT_PENDING_MAX)
        submit(s, s->bench_fed++);
}

static void step(sim *s)
{
    if (s->opt.bench_requests)
        bench_feed(s);
    if (!s->faults_over && s->now >= FAULT_MS)
        stop_faults(s);
    while (s->heap_len && s->heap[0].time <= s->now && !s->failed) {
        event e = heap_pop(s);
        handle_event(s, &e);
    }
    if (s->opt.scenario)
        scenario_events(s);
    else
        random_faults(s);
    for (uint32_t i = 0; i < s->n && !s->failed; i++) {
        node *nd = &s->nodes[i];
        if (nd->crashed && s->now >= nd->restart_at &&
            (!s->opt.scenario || s->faults_over ||
             s->opt.scenario == SIM_SCENARIO_CATCHUP_FAULTY))
            restart(s, i);
        if (nd->crashed)
            continue;
        pbft_tick(&nd->core, s->now, s->now + (uint64_t)nd->skew_ms);
        drain(s, i);
    }
    if (s->faults_over && (s->now - FAULT_MS) % 1000 == 0)
        client_retry(s);
}

/* One sim per thread, reused: the replicas' cores are megabytes each, and
 * fresh zeroed pages for every seed cost more than the seed itself. Everything
 * but the cores is zeroed here; pbft_init zeroes a core when its node starts. */
static sim *sim_alloc(void)
{
    static _Thread_local sim *cached;
    if (!cached) {
        cached = calloc(1, sizeof *cached);
        assert(cached);
        return cached;
    }
    sim *s = cached;
    size_t nodes_at = offsetof(sim, nodes), nodes_end = nodes_at + sizeof s->nodes;
    memset(s, 0, nodes_at);
    memset((char *)s + nodes_end, 0, sizeof *s - nodes_end);
    for (uint32_t i = 0; i < PBFT_N_MAX; i++) {
        node *nd = &s->nodes[i];
        size_t after = offsetof(node, persisted);
        memset((char *)nd + after, 0, sizeof *nd - after);
    }
    return s;
}

void sim_run(const sim_options *opt, sim_result *res)
{
    memset(res, 0, sizeof *res);
    sim *s = sim_alloc();
    s->opt = *opt;
    s->res = res;
    setup(s);
    for (s->now = 0; s->now <= FAULT_MS + LIVENESS_MS && !s->failed; s->now += STEP_MS) {
        step(s);
        if (s->faults_over && all_committed(s))
            break;
    }
    if (!s->failed && !all_committed(s))
        fail(s, "liveness: requests not committed %d ms after faults stopped", LIVENESS_MS);
    for (uint32_t i = 0; i < s->n; i++)
        for (uint32_t k = 0; k < s->request_count; k++)
            res->committed_requests += s->nodes[i].request_height[k] && !s->nodes[i].byzantine;
    res->sim_ms = s->now;
    res->ok = !s->failed;
    trace(s, "end: %s", res->ok ? "ok" : res->violation);
    teardown(s);
}
