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
    bool forged; /* made by the adversary (counted when a correct replica accepts it) */
    bool removed; /* signed by a removed validator for a height past its removal */
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
    uint32_t from; /* the sending node (a twin's messages carry its replica id) */
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
    uint32_t id;           /* replica id: the node's index, or the twin's replica */
    int64_t jump_ms;       /* clock faults: this host's clock minus the true one */
    bool clock_faulty;     /* jumped at some point (the clock-bound check skips it) */
} node;

#define TWINS_MAX 2                 /* faulty replicas run as twins (n >= 7: two) */
#define NODES_MAX (PBFT_N_MAX + TWINS_MAX) /* n replicas, plus their twins */
#define NV_KEPT 8                   /* NEW-VIEWs remembered per node for the checker */
#define SIGN_TIMES 4                /* digests per height with a first-signing time */

typedef struct sim sim;
typedef struct {
    sim *s;
    uint32_t id;
} signer_ctx;

/* The validator sets, as the simulated executor records them (docs/SIMULATION.md
 * "Reconfiguration"): heights >= from are agreed by member[0..n-1] (host = key ids).
 * sets[0] is the genesis (from 0); set k > 0 is committed at height `at`. */
#define SIM_SETS_MAX 4
typedef struct {
    uint64_t from, at;
    uint32_t n;
    uint32_t member[PBFT_N_MAX];
} sim_set;

struct sim {
    sim_options opt;
    sim_result *res;
    rng r;
    uint64_t now;
    uint32_t n, f;
    node nodes[NODES_MAX];
    signer_ctx ctx[NODES_MAX];
    uint8_t keys[NODES_MAX][32]; /* per key id: a replica (twins share it) or a host */
    keypair kp[NODES_MAX];
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
    /* The generated adversary (Twins, ByzzFuzz, clock faults). */
    uint32_t nodes_count;   /* n, or n + 1 with a twin */
    uint32_t twins;         /* twin pairs: the twin of twin_of[i] is node n + i */
    uint32_t twin_of[TWINS_MAX];
    uint64_t epoch_ms;      /* clock mixes: hosts' clocks start here, so -1 h stays > 0 */
    bool fetch_delivery;    /* a fetched block is being delivered (checker (a)) */
    bool script_done;       /* scenario split-newview: the faulty primary has acted */
    pbft_view_change *seen_vc; /* [PBFT_N_MAX]: latest VIEW-CHANGE per sender seen by a
                                  faulty node (ByzzFuzz builds other V sets from them) */
    bool seen_vc_used[PBFT_N_MAX];
    /* History checker: the NEW-VIEWs each correct node accepted ... */
    struct nv_rec {
        bool used;
        uint64_t view, from;
        uint32_t count;
        hash32 d[PBFT_WINDOW];
    } nv_accepted[NODES_MAX][NV_KEPT];
    /* ... the result certificates correct nodes were handed ... */
    bool have_cert[MAX_HEIGHT + 1];
    hash32 cert_block[MAX_HEIGHT + 1], cert_state[MAX_HEIGHT + 1];
    /* ... and when a correct node with a true clock first signed each digest. */
    struct sign_time { bool used; hash32 d; uint64_t at; } first_signed[MAX_HEIGHT + 1][SIGN_TIMES];
    /* Reconfiguration (mix reconfig): the schedule, hosts beyond the genesis set. */
    uint32_t set_count;
    sim_set sets[SIM_SETS_MAX];
    uint32_t hosts;         /* nodes 0..hosts-1 are hosts (validators or followers) */
    uint32_t removed_byz;   /* a removed host that keeps signing (NODES_MAX: none) */
    uint64_t removed_from;  /* ... for heights >= this (its removal boundary) */
    pbft_replica removed_idx; /* ... as its index in the set it was removed from */
    uint64_t primary_crash_at, primary_crash_ms; /* the view-0 primary fails (0: no) */
};
#define SIGNED_TAB 16384

static void trace(sim *s, const char *fmt, ...);

/* A violation: the first is the run's result. The run stops there, unless
 * keep_going, which traces the later ones too (up to 20) and runs on. */
static void fail(sim *s, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->res->violations++;
    s->res->agreement_violated |= strncmp(msg, "agreement", 9) == 0;
    if (s->opt.keep_going && s->res->violations <= 20)
        trace(s, "violation: %s", msg);
    if (s->failed)
        return;
    s->failed = true;
    memcpy(s->res->violation, msg, sizeof s->res->violation);
}

/* Stop the run: a violation was found (and not keep_going). */
static bool stopped(const sim *s) { return s->failed && !s->opt.keep_going; }

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

/* A host signs with its own key whatever set it signs in (a rotated validator is a new
 * host in the simulator). */
static bool sim_sign(void *ctx, uint64_t set_from, const char *tag, const uint8_t *b,
                     size_t len, signature *out)
{
    signer_ctx *c = ctx;
    (void)set_from;
    return sign_as(c->s, c->id, tag, b, len, out);
}

/* The set recorded with boundary `from` (NULL: none). */
static const sim_set *sim_set_from(const sim *s, uint64_t from)
{
    for (uint32_t k = 0; k < s->set_count; k++)
        if (s->sets[k].from == from)
            return &s->sets[k];
    return NULL;
}

/* The set in force at height h: the truth the checker holds certificates to. */
static const sim_set *sim_set_at(const sim *s, uint64_t h)
{
    uint32_t k = s->set_count;
    while (k > 1 && s->sets[k - 1].from > h)
        k--;
    return &s->sets[k - 1];
}

/* Did key id `key` sign this? */
static bool key_verify(sim *s, uint32_t key, const char *tag, const uint8_t *b, size_t len,
                       const signature *sig)
{
    s->res->verifies++;
    if (s->opt.no_signatures)
        return true;
    if (s->opt.ed25519)
        return tcrypto_verify(&s->kp[key].public_key, tag, &s->chain_id, b, len, sig);
    signature want;
    keyed(s, key, tag, b, len, &want);
    return memcmp(&want, sig, sizeof want) == 0;
}

static bool sim_verify(void *ctx, uint64_t set_from, pbft_replica v, const char *tag,
                       const uint8_t *b, size_t len, const signature *sig)
{
    signer_ctx *c = ctx;
    sim *s = c->s;
    const sim_set *set = sim_set_from(s, set_from);
    if (!set || v >= set->n)
        return false;
    return key_verify(s, set->member[v], tag, b, len, sig);
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

/* Scenario split-newview: until the faults stop, replicas 2 and 3 get no CHECKPOINT
 * and only replica 0 gets the COMMITs of (view 0, height 2). */
static bool script_drops(const sim *s, uint32_t to, const blob *b)
{
    const pbft_msg *m = &b->msg;
    if (s->opt.scenario != SIM_SCENARIO_SPLIT_NEWVIEW || s->faults_over)
        return false;
    return (m->type == PBFT_MSG_CHECKPOINT && to >= 2) ||
           (m->type == PBFT_MSG_COMMIT && m->view == 0 && m->height == 2 && to != 0);
}

/* Queue b for node `to` through the faulty network, extra_ms later than usual. */
static void net_send_extra(sim *s, uint32_t from, uint32_t to, blob *b, uint64_t extra_ms)
{
    if (script_drops(s, to, b))
        return;
    if (!s->faults_over && s->drop_pct && rng_chance(&s->r, s->drop_pct))
        return;
    uint32_t copies = (!s->faults_over && s->dup_pct && rng_chance(&s->r, s->dup_pct)) ? 2 : 1;
    for (uint32_t c = 0; c < copies; c++) {
        uint64_t delay = 1 + rng_below(&s->r, s->faults_over ? 20 : s->delay_max);
        if (s->nodes[from].slow || s->nodes[to].slow)
            delay += 100 + rng_below(&s->r, 200);
        event e = {s->now + delay + extra_ms, s->order++, EV_MSG, to, b, 0, NULL, from};
        b->refs++;
        heap_push(s, e);
    }
}

static void net_send(sim *s, uint32_t from, uint32_t to, blob *b)
{
    net_send_extra(s, from, to, b, 0);
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
    event e = {s->now + delay, s->order++, kind, to, NULL, 0, fm, from};
    heap_push(s, e);
}

/* ==== the history checker: what each node signed, accepted and executed ========== */
/* Reads only what the nodes put on the wire or handed their host (messages sent,
 * NEW-VIEWs pbft_step accepted, committed batches, result certificates), never a
 * core's internals. */

static bool clock_mix(const sim *s)
{
    return s->opt.mix == SIM_MIX_CLOCK || s->opt.mix == SIM_MIX_NTP_STEP;
}

/* The monotonic clock every host's timers run on: true time (clock faults move only the
 * wall clock, as an NTP step does on a real host). */
static uint64_t mono_clock(const sim *s) { return s->now + s->epoch_ms; }

/* The host (wall) clock of node i: true time, epoch, skew and any jump. */
static uint64_t host_clock(const sim *s, uint32_t i)
{
    const node *nd = &s->nodes[i];
    return (uint64_t)((int64_t)(s->now + s->epoch_ms) + nd->skew_ms + nd->jump_ms);
}

/* Node i entered view nv->view: remember what the NEW-VIEW re-issued. */
static void nv_record(sim *s, uint32_t i, const pbft_new_view *nv)
{
    struct nv_rec *r = &s->nv_accepted[i][nv->view % NV_KEPT];
    r->used = true;
    r->view = nv->view;
    r->from = nv->reissued_from;
    r->count = nv->reissued_count;
    memcpy(r->d, nv->reissued, sizeof r->d);
}

/* The digest that the NEW-VIEW node i accepted for view v re-issues at h, if any. */
static const hash32 *nv_reissued(const sim *s, uint32_t i, uint64_t v, uint64_t h)
{
    const struct nv_rec *r = &s->nv_accepted[i][v % NV_KEPT];
    if (!r->used || r->view != v || h <= r->from || h > r->from + r->count)
        return NULL;
    return &r->d[h - r->from - 1];
}

static const char *msg_kind(pbft_msg_type t)
{
    return t == PBFT_MSG_PREPREPARE ? "PRE-PREPARE" : t == PBFT_MSG_PREPARE ? "PREPARE"
                                                                              : "COMMIT";
}

/* Invariant (a), signing side: in view v a correct replica signs, for a height its
 * NEW-VIEW re-issued, only the re-issued digest. */
static void check_vote_against_nv(sim *s, uint32_t i, const pbft_msg *m)
{
    const hash32 *d = nv_reissued(s, i, m->view, m->height);
    if (!d || memcmp(d, &m->digest, 32) == 0)
        return;
    char a[9], b[9];
    hex8(&m->digest, a);
    hex8(d, b);
    fail(s, "new-view: node %u signed %s %s for view %llu height %llu; the NEW-VIEW it "
            "accepted re-issues %s there", i, msg_kind(m->type), a,
         (unsigned long long)m->view, (unsigned long long)m->height, b);
}

/* Invariant (a), delivery side: a batch delivered with a commit certificate of view v
 * is the one the NEW-VIEW of v re-issued there. Not checked for fetched blocks: a
 * primary that sends two valid NEW-VIEWs (two V sets) can have the others commit the
 * other re-issued batch, which a replica that accepted the first then fetches. */
static void check_delivery_against_nv(sim *s, uint32_t i, uint64_t h, uint64_t view,
                                      const hash32 *digest)
{
    const hash32 *d = nv_reissued(s, i, view, h);
    if (s->fetch_delivery || !d || memcmp(d, digest, 32) == 0)
        return;
    char a[9], b[9];
    hex8(digest, a);
    hex8(d, b);
    fail(s, "new-view: node %u delivered %s at height %llu with a commit certificate of "
            "view %llu; the NEW-VIEW it accepted re-issues %s there",
         i, a, (unsigned long long)h, (unsigned long long)view, b);
}

/* Clock bound: remember when a correct node with a true clock first signed (h, d). */
static void note_sign_time(sim *s, uint32_t i, const pbft_msg *m)
{
    if (!clock_mix(s) || s->nodes[i].clock_faulty || m->height > MAX_HEIGHT ||
        (m->type != PBFT_MSG_PREPREPARE && m->type != PBFT_MSG_PREPARE))
        return;
    struct sign_time *t = s->first_signed[m->height];
    for (uint32_t k = 0; k < SIGN_TIMES; k++) {
        if (t[k].used && memcmp(&t[k].d, &m->digest, 32) == 0)
            return;
        if (!t[k].used) {
            t[k] = (struct sign_time){true, m->digest, s->now};
            return;
        }
    }
}

#define SKEW_MAX_MS 200 /* clock mix: |skew| of every host */

/* A committed block's time lies within clock_bound (plus the skew) of the true time
 * at which the first correct replica with a true clock signed it: a clock fault of
 * up to f replicas neither backdates nor postdates a consent. */
static void check_block_time(sim *s, uint32_t i, const pbft_committed *c, const hash32 *d)
{
    uint64_t h = c->batch.header.height;
    if (!clock_mix(s) || h > MAX_HEIGHT || c->batch.header.time_ms == 0)
        return; /* a null batch takes the previous block's time + 1 */
    const struct sign_time *t = s->first_signed[h];
    for (uint32_t k = 0; k < SIGN_TIMES && t[k].used; k++) {
        if (memcmp(&t[k].d, d, 32) != 0)
            continue;
        int64_t at = (int64_t)(t[k].at + s->epoch_ms), bound = 500 + SKEW_MAX_MS;
        int64_t proposed = (int64_t)c->batch.header.time_ms;
        if ((int64_t)c->block_time_ms < at - bound || proposed > at + bound)
            fail(s, "clock: node %u committed height %llu with block time %lld ms, "
                    "first signed by a true clock at %lld ms",
                 i, (unsigned long long)h, (long long)((int64_t)c->block_time_ms - (int64_t)s->epoch_ms),
                 (long long)t[k].at);
        return;
    }
}

/* Invariant (c): every result certificate a correct node is handed equals every
 * correct node's own execution of that height. */
static void check_result(sim *s, uint64_t h)
{
    if (h > MAX_HEIGHT || !s->have_cert[h])
        return;
    for (uint32_t i = 0; i < s->nodes_count; i++) {
        const node *nd = &s->nodes[i];
        if (nd->byzantine || nd->height < h)
            continue;
        if (memcmp(&nd->store[h].block_hash, &s->cert_block[h], 32) != 0 ||
            memcmp(&nd->store[h].state_hash, &s->cert_state[h], 32) != 0)
            fail(s, "result: height %llu's result certificate differs from node %u's "
                    "execution", (unsigned long long)h, i);
    }
}

static void note_result_cert(sim *s, uint32_t i, const codec_result_cert *cert)
{
    uint64_t h = cert->height;
    if (s->nodes[i].byzantine || h == 0 || h > MAX_HEIGHT)
        return;
    if (s->have_cert[h] && (memcmp(&s->cert_block[h], &cert->block_hash, 32) != 0 ||
                            memcmp(&s->cert_state[h], &cert->state_hash, 32) != 0))
        fail(s, "result: two result certificates for height %llu (node %u)",
             (unsigned long long)h, i);
    s->have_cert[h] = true;
    s->cert_block[h] = cert->block_hash;
    s->cert_state[h] = cert->state_hash;
    check_result(s, h);
}

/* ==== reconfiguration (mix reconfig; docs/SIMULATION.md "Reconfiguration") ========= */

/* The index of key id `key` in set, or PBFT_NOT_MEMBER. */
static pbft_replica index_in(const sim_set *set, uint32_t key)
{
    for (uint32_t i = 0; i < set->n; i++)
        if (set->member[i] == key)
            return i;
    return PBFT_NOT_MEMBER;
}

/* Node i's executor recorded change k (committed at sets[k].at): tell its core. */
static void reconfigure(sim *s, uint32_t i, uint32_t k)
{
    const sim_set *set = &s->sets[k];
    pbft_err e = pbft_reconfigure(&s->nodes[i].core, set->at, set->from, set->n,
                                  index_in(set, s->ctx[i].id));
    if (e != PBFT_OK && !s->nodes[i].byzantine)
        fail(s, "node %u: pbft_reconfigure(at %llu, boundary %llu): %s", i,
             (unsigned long long)set->at, (unsigned long long)set->from, pbft_strerror(e));
}

/* Is this certificate valid under the set in force at height h (the simulator's own
 * record, not a core's): 2f+1 distinct sorted validators of that set, each signature by
 * that validator's key? Not counted in res->verifies. */
static bool cert_valid_at(sim *s, uint64_t h, const codec_vsig *sigs, uint32_t count,
                          const char *tag, const uint8_t *body, size_t len)
{
    const sim_set *set = sim_set_at(s, h);
    if (count < 2 * ((set->n - 1) / 3) + 1 || count > PBFT_N_MAX)
        return false;
    uint64_t verifies = s->res->verifies;
    bool ok = true;
    for (uint32_t k = 0; k < count && ok; k++) {
        uint32_t v = sigs[k].validator;
        ok = v < set->n && (k == 0 || v > sigs[k - 1].validator) &&
             key_verify(s, set->member[v], tag, body, len, &sigs[k].sig);
    }
    s->res->verifies = verifies;
    return ok;
}

/* Every commit certificate a correct node delivers is valid under the set in force at
 * its height (checked only when the schedule changes: otherwise the core's own check is
 * the same one). */
static void check_commit_cert_set(sim *s, uint32_t i, const pbft_committed *c, const hash32 *d)
{
    uint64_t h = c->batch.header.height;
    if (s->set_count < 2)
        return;
    uint8_t buf[128];
    codec_buf b = codec_buf_make(buf, sizeof buf);
    codec_commit_body_encode(h, c->cert.view, d, &b);
    if (c->cert.height != h || !cert_valid_at(s, h, c->cert.sigs, c->cert.sig_count,
                                              TCRYPTO_TAG_COMMIT, buf, b.len))
        fail(s, "set: node %u delivered height %llu with a commit certificate not valid under "
                "the set in force there (boundary %llu, n %u)", i, (unsigned long long)h,
             (unsigned long long)sim_set_at(s, h)->from, sim_set_at(s, h)->n);
}

static void check_result_cert_set(sim *s, uint32_t i, const codec_result_cert *cert)
{
    if (s->set_count < 2)
        return;
    uint8_t buf[256];
    codec_buf b = codec_buf_make(buf, sizeof buf);
    codec_checkpoint_body_encode(cert, &b);
    if (!cert_valid_at(s, cert->height, cert->sigs, cert->sig_count, TCRYPTO_TAG_CHECKPOINT,
                       buf, b.len))
        fail(s, "set: node %u was handed a result certificate of height %llu not valid under "
                "the set in force there (boundary %llu, n %u)", i,
             (unsigned long long)cert->height,
             (unsigned long long)sim_set_at(s, cert->height)->from,
             sim_set_at(s, cert->height)->n);
}

/* Host i is a validator of the last set (liveness is asked of those; a removed host
 * follows, and is held to agreement like every correct one). */
static bool in_final_set(const sim *s, uint32_t i)
{
    return index_in(&s->sets[s->set_count - 1], s->ctx[i].id) != PBFT_NOT_MEMBER;
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
    if (!nd->byzantine) {
        check_delivery_against_nv(s, i, c->batch.header.height, c->cert.view, &d);
        check_block_time(s, i, c, &d);
        check_commit_cert_set(s, i, c, &d);
    }
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
    check_result(s, h);
    char a[9];
    hex8(&d, a);
    trace(s, "node %u commit h=%llu digest=%s txs=%u view=%llu", i, (unsigned long long)h, a,
          c->batch.count, (unsigned long long)c->cert.view);
    if (h > s->res->max_height)
        s->res->max_height = h;
    hash32 receipts;
    tcrypto_sha256(&sb->state_hash, 32, &receipts);
    for (uint32_t k = 1; k < s->set_count; k++) /* the executor records a change at h */
        if (s->sets[k].at == h)
            reconfigure(s, i, k);
    pbft_err e = pbft_executed(&nd->core, h, &sb->block_hash, &sb->state_hash, &receipts);
    /* A byzantine node's executor skips request bookkeeping, so its state
     * hash is wrong: its core refuses to sign it (PBFT_ERR_STATE) once a
     * result certificate for the height is known. A correct node never is. */
    if (e != PBFT_OK && !nd->byzantine)
        fail(s, "node %u: pbft_executed(%llu): %s", i, (unsigned long long)h, pbft_strerror(e));
}

/* ==== sending, with the byzantine behaviours ======================================= */
/* To every node the output is addressed to (a replica id reaches both twins). */
static void deliver_to_all(sim *s, uint32_t from, const pbft_out *o, blob *b)
{
    for (uint32_t to = 0; to < s->nodes_count; to++) {
        uint32_t id = s->nodes[to].id;
        if (id != s->nodes[from].id && (o->to == PBFT_BROADCAST || o->to == id))
            net_send(s, from, to, b);
    }
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
    b->forged = true;
    b->batch.header.time_ms += 1 + rng_below(&s->r, 3);
    if (b->batch.count > 1 && rng_chance(&s->r, 50)) {
        b->batch.count--;
        pbft_batch_seal(&b->batch);
    }
    codec_batch_hash(&b->batch.header, &b->msg.digest);
    resign_vote(s, from, &b->msg);
    trace(s, "node %u equivocates at h=%llu view=%llu", from,
          (unsigned long long)o->msg.height, (unsigned long long)o->msg.view);
    for (uint32_t to = 0; to < s->hosts; to++)
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

/* ==== the generated adversary: Twins ============================================== */
/* A faulty replica k is two honest cores sharing k's key: node k and its twin, node n.
 * For n = 4, the first TWINS_ROUNDS rounds of ROUND_MS (about a view each) and k (0 or
 * 1: the primary of view 0 or 1) are enumerated from the seed, scenario (seed - 1) %
 * TWINS_SCENARIOS. Each enumerated round is one of TWINS_CHOICES partitions of the n + 1
 * nodes: choice 0 connects everyone (both twins talk to all, so every message kind is
 * equivocated naturally); choice c > 0 puts k on side 0, its twin on side 1 and replica
 * j of the other three on side ((c - 1) >> j) & 1. After them (and from the start for
 * n > 4), rounds of SHORT_ROUND_MS are drawn from the seed: no partition, or k and its
 * twin apart and every other replica on one of three sides (so one can be cut off). */
#define ROUND_MS 400
#define SHORT_ROUND_MS 200
#define TWINS_CHOICES 9
#define TWINS_ROUNDS 3
#define TWINS_SCENARIOS (2 * TWINS_CHOICES * TWINS_CHOICES * TWINS_CHOICES)

static uint64_t twins_index(const sim *s) { return (s->opt.seed - 1) % TWINS_SCENARIOS; }

/* Replica k gets a twin, node n + s->twins. */
static void add_twin(sim *s, uint32_t k)
{
    uint32_t t = s->n + s->twins;
    node *tw = &s->nodes[t];
    tw->id = k;
    tw->store = calloc(MAX_HEIGHT + 1, sizeof *tw->store);
    assert(tw->store);
    tw->skew_ms = (int64_t)rng_below(&s->r, 100);
    s->ctx[t].s = s;
    s->ctx[t].id = k;
    s->twin_of[s->twins++] = k;
    s->nodes[k].byzantine = tw->byzantine = true;
    s->nodes_count = t + 1;
}

/* The primary of view 0 or 1 gets a twin; with n >= 7 a second replica too (f >= 2). */
static void setup_twins(sim *s)
{
    uint32_t k = s->n == 4 ? (uint32_t)(twins_index(s) % 2) : (uint32_t)rng_below(&s->r, 2);
    add_twin(s, k);
    if (s->f >= 2)
        add_twin(s, (k + 1 + (uint32_t)rng_below(&s->r, s->n - 1)) % s->n);
}

/* Whether a twins round starts now, and its number. */
static bool twins_round_starts(const sim *s, uint64_t *round)
{
    uint64_t enumerated_ms = s->n == 4 ? TWINS_ROUNDS * ROUND_MS : 0;
    if (s->now < enumerated_ms) {
        *round = s->now / ROUND_MS;
        return s->now % ROUND_MS == 0;
    }
    *round = (s->n == 4 ? TWINS_ROUNDS : 0) + (s->now - enumerated_ms) / SHORT_ROUND_MS;
    return (s->now - enumerated_ms) % SHORT_ROUND_MS == 0;
}

/* This round's partition choice (0 = none). */
static uint32_t twins_choice(sim *s, uint64_t round)
{
    if (s->n != 4 || round >= TWINS_ROUNDS)
        return (uint32_t)rng_below(&s->r, TWINS_CHOICES);
    uint64_t x = twins_index(s) / 2;
    for (uint64_t r = 0; r < round; r++)
        x /= TWINS_CHOICES;
    return (uint32_t)(x % TWINS_CHOICES);
}

/* "round R: partition 01 | 23'" (a primed id is the twin, node n in other lines). */
static void trace_groups(sim *s, uint64_t round)
{
    char buf[96];
    size_t len = 0;
    for (uint32_t side = 0; side < 3; side++) {
        bool empty = true;
        for (uint32_t i = 0; i < s->nodes_count; i++)
            empty &= s->nodes[i].group != side;
        if (side > 0 && !empty && len + 4 < sizeof buf)
            len += (size_t)snprintf(buf + len, sizeof buf - len, " | ");
        for (uint32_t i = 0; i < s->nodes_count && len + 4 < sizeof buf; i++)
            if (s->nodes[i].group == side)
                len += (size_t)snprintf(buf + len, sizeof buf - len, "%u%s", s->nodes[i].id,
                                        i >= s->n ? "'" : "");
    }
    trace(s, "round %llu: partition %s", (unsigned long long)round, buf);
}

static void twins_round(sim *s, uint64_t round)
{
    uint32_t c = twins_choice(s, round);
    s->partitioned = c != 0;
    if (!c) {
        trace(s, "round %llu: no partition", (unsigned long long)round);
        return;
    }
    bool enumerated = s->n == 4 && round < TWINS_ROUNDS;
    s->partition_until = s->now + (enumerated ? ROUND_MS : SHORT_ROUND_MS);
    uint32_t bit = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        if (i == s->twin_of[0])
            continue;
        s->nodes[i].group = enumerated ? ((c - 1) >> bit++) & 1 : (uint32_t)rng_below(&s->r, 3);
    }
    s->nodes[s->twin_of[0]].group = 0;
    s->nodes[s->n].group = 1;
    if (s->twins > 1) /* the second pair apart too */
        s->nodes[s->n + 1].group = (s->nodes[s->twin_of[1]].group + 1 + (uint32_t)rng_below(&s->r, 2)) % 3;
    trace_groups(s, round);
}

/* ==== the generated adversary: ByzzFuzz =========================================== */
/* f faulty replicas run honest cores, and the simulator mutates what they send in
 * small steps, re-signing with their own key (a faulty replica cannot sign as
 * another): votes for other digests and far heights and views, double CHECKPOINTs,
 * VIEW-CHANGEs with forged or stale P sets and checkpoints, fresh PRE-PREPAREs
 * before, during and after a NEW-VIEW, NEW-VIEWs from another valid V set. Each
 * round of ROUND_MS may also partition the network at random. */

static void fuzz_round(sim *s, uint64_t round)
{
    s->partitioned = rng_chance(&s->r, 30);
    if (!s->partitioned)
        return;
    s->partition_until = s->now + ROUND_MS;
    for (uint32_t i = 0; i < s->n; i++)
        s->nodes[i].group = (uint32_t)rng_below(&s->r, 2);
    trace_groups(s, round);
}

static void setup_byzzfuzz(sim *s)
{
    s->nodes[rng_below(&s->r, 2)].byzantine = true; /* primary of view 0 or 1 */
    for (uint32_t k = 1; k < s->f; k++)
        s->nodes[rng_below(&s->r, s->n)].byzantine = true;
    s->drop_pct = 5;
    s->delay_max = 80;
}

/* Send b from `from` to each other replica with probability pct, extra_ms late. */
static void fuzz_send_some(sim *s, uint32_t from, blob *b, uint32_t pct, uint64_t extra_ms)
{
    for (uint32_t to = 0; to < s->hosts; to++)
        if (to != from && rng_chance(&s->r, pct))
            net_send_extra(s, from, to, b, extra_ms);
    s->res->mutations++;
}

static void fuzz_send_msg(sim *s, uint32_t from, const pbft_msg *m, uint32_t pct,
                          uint64_t extra_ms)
{
    blob *b = blob_make(m);
    b->forged = true;
    fuzz_send_some(s, from, b, pct, extra_ms);
    blob_unref(b);
}

static void random_digest(sim *s, hash32 *d)
{
    for (int i = 0; i < 32; i++)
        d->bytes[i] = (uint8_t)rng_next(&s->r);
}

/* A correctly signed vote of m's kind for another digest, or a far height or view. */
static void fuzz_vote(sim *s, uint32_t from, const pbft_msg *orig)
{
    pbft_msg m = *orig;
    uint32_t what = (uint32_t)rng_below(&s->r, 3);
    if (what == 0)
        random_digest(s, &m.digest);
    else if (what == 1)
        m.height += PBFT_WINDOW + rng_below(&s->r, 2 * PBFT_WINDOW);
    else
        m.view += 1 + rng_below(&s->r, 3);
    resign_vote(s, from, &m);
    trace(s, "node %u fuzz: %s view=%llu h=%llu (%s)", from, msg_kind(m.type),
          (unsigned long long)m.view, (unsigned long long)m.height,
          what == 0 ? "other digest" : what == 1 ? "far height" : "far view");
    fuzz_send_msg(s, from, &m, 60, 0);
}

static void sign_checkpoint(sim *s, uint32_t from, pbft_msg *m)
{
    codec_result_cert cp;
    memset(&cp, 0, sizeof cp);
    cp.height = m->height;
    cp.block_hash = m->block_hash;
    cp.state_hash = m->state_hash;
    cp.receipts_root = m->receipts_root;
    uint8_t buf[256];
    codec_buf b = codec_buf_make(buf, sizeof buf);
    codec_err rc = codec_checkpoint_body_encode(&cp, &b);
    assert(rc == CODEC_OK);
    (void)rc;
    sign_as(s, from, TCRYPTO_TAG_CHECKPOINT, buf, b.len, &m->sig);
}

/* A second CHECKPOINT for the same height with another state. */
static void fuzz_checkpoint(sim *s, uint32_t from, const pbft_msg *orig)
{
    pbft_msg m = *orig;
    m.state_hash.bytes[rng_below(&s->r, 32)] ^= 1;
    if (rng_chance(&s->r, 30))
        m.height += 1 + rng_below(&s->r, 3 * PBFT_WINDOW);
    sign_checkpoint(s, from, &m);
    trace(s, "node %u fuzz: CHECKPOINT h=%llu (double)", from, (unsigned long long)m.height);
    fuzz_send_msg(s, from, &m, 60, 0);
}

/* Keep the prepared certificates of src that a view-change on vc's stable
 * checkpoint may carry (heights increasing, in the window, views below new_view). */
static void vc_take_prepared(pbft_view_change *vc, const pbft_view_change *src)
{
    uint32_t k = 0;
    uint64_t prev = vc->stable.height;
    for (uint32_t i = 0; i < src->prepared_count; i++) {
        const pbft_prepared_cert *pc = &src->prepared[i];
        uint64_t h = pc->batch.header.height;
        if (h > prev && h <= vc->stable.height + PBFT_WINDOW && pc->view < vc->new_view) {
            vc->prepared[k++] = *pc;
            prev = h;
        }
    }
    vc->prepared_count = k;
}

/* A seen VIEW-CHANGE other than from `not`, or NULL. */
static const pbft_view_change *seen_other(sim *s, uint32_t not)
{
    uint32_t start = (uint32_t)rng_below(&s->r, s->n);
    for (uint32_t k = 0; k < s->n; k++) {
        uint32_t r = (start + k) % s->n;
        if (r != not && s->seen_vc_used[r])
            return &s->seen_vc[r];
    }
    return NULL;
}

/* A VIEW-CHANGE with a forged or stale P set or checkpoint, or for a far view. */
static void fuzz_view_change(sim *s, uint32_t from, const pbft_msg *orig)
{
    pbft_view_change vc = *orig->view_change;
    const pbft_view_change *other = seen_other(s, from);
    uint32_t what = (uint32_t)rng_below(&s->r, 4);
    static const char *const what_name[] = {"empty P set", "P set of another",
                                            "stale checkpoint", "far view"};
    if (what == 0) {
        vc.prepared_count = 0;
    } else if (what == 1 && other) {
        vc_take_prepared(&vc, other);
    } else if (what == 2 && other && other->stable.height < vc.stable.height) {
        pbft_view_change mine = vc;
        vc.stable = other->stable;
        vc_take_prepared(&vc, rng_chance(&s->r, 50) ? other : &mine);
    } else {
        what = 3;
        vc.new_view += 1 + rng_below(&s->r, 3);
    }
    pbft_view_change_sign(&s->nodes[from].core, &vc); /* the core's own encoding */
    pbft_msg m = *orig;
    m.view_change = &vc;
    trace(s, "node %u fuzz: VIEW-CHANGE %llu (%s)", from, (unsigned long long)vc.new_view,
          what_name[what]);
    fuzz_send_msg(s, from, &m, 70, 0);
}

/* The re-issue a V set implies, as every replica computes it (pbft_reissue), into nv. */
static bool reissue_of(const pbft_view_change *vcs, uint32_t count, pbft_new_view *nv,
                       const pbft_batch **batches)
{
    pbft_height from;
    uint32_t n;
    if (!pbft_reissue(vcs, count, &from, &n, nv->reissued, batches))
        return false;
    nv->reissued_from = from;
    nv->reissued_count = n;
    return true;
}

/* Sign nv's re-issued pre-prepares and body as `from`. */
static void sign_new_view(sim *s, uint32_t from, pbft_new_view *nv)
{
    for (uint32_t i = 0; i < nv->reissued_count; i++) {
        pbft_msg m = {.type = PBFT_MSG_PREPREPARE, .view = nv->view,
                      .height = nv->reissued_from + 1 + i, .digest = nv->reissued[i]};
        resign_vote(s, from, &m);
        nv->reissued_sig[i] = m.sig;
    }
    pbft_new_view_sign(&s->nodes[from].core, nv);
}

/* A NEW-VIEW from another quorum of the valid VIEW-CHANGEs seen for its view. */
static bool other_v_set(sim *s, uint32_t from, const pbft_new_view *orig, pbft_new_view *nv)
{
    *nv = *orig;
    nv->vc_count = 0;
    uint32_t start = (uint32_t)rng_below(&s->r, s->n);
    for (uint32_t k = 0; k < s->n && nv->vc_count < 2 * s->f + 1; k++) {
        uint32_t r = (start + k) % s->n;
        if (r == from && rng_chance(&s->r, 50))
            nv->vcs[nv->vc_count++] = s->nodes[from].core.my_vc;
        else if (r != from && s->seen_vc_used[r] && s->seen_vc[r].new_view == nv->view)
            nv->vcs[nv->vc_count++] = s->seen_vc[r];
    }
    const pbft_batch *batches[PBFT_WINDOW];
    if (nv->vc_count < 2 * s->f + 1 || !reissue_of(nv->vcs, nv->vc_count, nv, batches))
        return false;
    sign_new_view(s, from, nv);
    return true;
}

/* Make b a fresh batch for height h, dated `later` ms after from's clock, and m its
 * PRE-PREPARE for `view`, signed by from. */
static void fresh_sign(sim *s, uint32_t from, uint64_t view, uint64_t h, uint64_t later,
                       pbft_batch *b, pbft_msg *m)
{
    b->header.height = h;
    b->header.time_ms = s->nodes[from].core.now_ms + later;
    pbft_batch_seal(b);
    *m = (pbft_msg){.type = PBFT_MSG_PREPREPARE, .from = s->nodes[from].id, .view = view,
                    .height = h, .batch = b};
    codec_batch_hash(&b->header, &m->digest);
    resign_vote(s, from, m);
}

/* A fresh PRE-PREPARE (and the faulty primary's COMMIT for it) for (view, h): the
 * batch re-issued there with a new time, a request fewer or one pending more. */
static void fresh_preprepare(sim *s, uint32_t from, uint64_t view, uint64_t h,
                             const pbft_batch *base, uint64_t extra_ms)
{
    pbft_batch b;
    if (base)
        b = *base;
    else
        memset(&b, 0, sizeof b);
    const pbft_core *c = &s->nodes[from].core;
    if (b.count > 1 && rng_chance(&s->r, 30))
        b.count--;
    else if (b.count < 8 && c->pending_count && rng_chance(&s->r, 50))
        b.txs[b.count++] = c->pending[rng_below(&s->r, c->pending_count)];
    pbft_msg m;
    fresh_sign(s, from, view, h, 1 + rng_below(&s->r, 3), &b, &m);
    char a[9];
    hex8(&m.digest, a);
    trace(s, "node %u fuzz: fresh PRE-PREPARE view=%llu h=%llu digest=%s +%llu ms", from,
          (unsigned long long)view, (unsigned long long)h, a, (unsigned long long)extra_ms);
    fuzz_send_msg(s, from, &m, 80, extra_ms);
    m.type = PBFT_MSG_COMMIT;
    m.batch = NULL;
    resign_vote(s, from, &m);
    fuzz_send_msg(s, from, &m, 80, extra_ms);
}

/* Around a NEW-VIEW: fresh PRE-PREPAREs before, during or after it, and/or a NEW-VIEW
 * from another V set to some replicas. */
static void fuzz_new_view(sim *s, uint32_t from, const pbft_out *o)
{
    const pbft_new_view *nv = o->msg.new_view;
    const pbft_batch *batches[PBFT_WINDOW];
    pbft_new_view *again = malloc(sizeof *again);
    assert(again);
    *again = *nv;
    reissue_of(nv->vcs, nv->vc_count, again, batches);
    uint32_t when = (uint32_t)rng_below(&s->r, 4); /* before, during, after, none */
    uint64_t nv_extra = when == 0 ? 20 + rng_below(&s->r, 200) : 0;
    uint64_t h = nv->reissued_from + 1 +
                 rng_below(&s->r, nv->reissued_count ? nv->reissued_count : 1);
    uint32_t k = (uint32_t)(h - nv->reissued_from - 1);
    const pbft_batch *base = k < nv->reissued_count ? batches[k] : NULL;
    if (when < 3)
        fresh_preprepare(s, from, nv->view, h, base, when == 2 ? 50 + rng_below(&s->r, 300) : 0);
    pbft_new_view *other = malloc(sizeof *other);
    assert(other);
    bool split = rng_chance(&s->r, 40) && other_v_set(s, from, nv, other);
    for (uint32_t to = 0; to < s->n; to++) {
        if (to == from || (o->to != PBFT_BROADCAST && o->to != to))
            continue;
        pbft_msg m = o->msg;
        m.new_view = split && rng_chance(&s->r, 50) ? other : nv;
        blob *b = blob_make(&m);
        b->forged = m.new_view == other;
        net_send_extra(s, from, to, b, nv_extra);
        blob_unref(b);
    }
    if (split || when < 3)
        s->res->mutations++;
    if (split)
        trace(s, "node %u fuzz: NEW-VIEW %llu from another V set (re-issues %u from %llu)",
              from, (unsigned long long)nv->view, other->reissued_count,
              (unsigned long long)other->reissued_from);
    free(again);
    free(other);
}

/* A faulty node's output under ByzzFuzz: sent, and in small steps mutated. */
static void fuzz_send(sim *s, uint32_t from, const pbft_out *o)
{
    const pbft_msg *m = &o->msg;
    if (m->type == PBFT_MSG_NEW_VIEW) {
        fuzz_new_view(s, from, o);
        return;
    }
    if (m->type == PBFT_MSG_PREPREPARE && rng_chance(&s->r, 30)) {
        equivocate(s, from, o);
        return;
    }
    blob *b = blob_make(m);
    deliver_to_all(s, from, o, b);
    blob_unref(b);
    if (m->type == PBFT_MSG_VIEW_CHANGE && rng_chance(&s->r, 50))
        fuzz_view_change(s, from, m);
    else if (m->type == PBFT_MSG_CHECKPOINT && rng_chance(&s->r, 20))
        fuzz_checkpoint(s, from, m);
    else if (m->type != PBFT_MSG_VIEW_CHANGE && m->type != PBFT_MSG_CHECKPOINT &&
             rng_chance(&s->r, 20))
        fuzz_vote(s, from, m);
}

/* Messages a faulty node receives: ByzzFuzz keeps the VIEW-CHANGEs for other V sets. */
static void observe_step(sim *s, uint32_t i, const pbft_msg *m, pbft_err err)
{
    node *nd = &s->nodes[i];
    if (m->type == PBFT_MSG_NEW_VIEW && err == PBFT_OK && !nd->byzantine)
        nv_record(s, i, m->new_view);
    if (m->type == PBFT_MSG_PREPREPARE && err == PBFT_ERR_TIME)
        s->res->time_refused++;
    if (m->type == PBFT_MSG_VIEW_CHANGE && err == PBFT_OK && nd->byzantine && s->seen_vc &&
        m->from < s->n) {
        s->seen_vc[m->from] = *m->view_change;
        s->seen_vc_used[m->from] = true;
    }
}

/* ==== clock faults ================================================================= */
/* clock: every host's clock is skewed by up to +-SKEW_MAX_MS; up to f replicas (the
 * primary of view 0 among them) jump +-1 h at a random time, half of them back later.
 * ntp-step: every host steps +1 h at 0.8-1 s and back at 1.8-2 s (each at its own
 * moment), as an NTP step on every machine would. */
#define HOUR_MS 3600000LL

static void setup_clocks(sim *s)
{
    s->epoch_ms = 1700000000000ULL;
    for (uint32_t i = 0; i < s->n; i++)
        s->nodes[i].skew_ms = (int64_t)rng_below(&s->r, 2 * SKEW_MAX_MS + 1) - SKEW_MAX_MS;
}

static void jump(sim *s, uint32_t i, int64_t by)
{
    s->nodes[i].jump_ms += by;
    s->nodes[i].clock_faulty = true;
    trace(s, "node %u clock jumps %+lld s", i, (long long)(by / 1000));
}

/* The jumps of this step (the schedule is a pure function of the seed and time). */
static void clock_faults(sim *s)
{
    uint64_t t = s->now;
    if (s->opt.mix == SIM_MIX_NTP_STEP) {
        for (uint32_t i = 0; i < s->n; i++) {
            uint64_t at = 800 + (s->opt.seed * 31 + i * 47) % 200;
            if (t == at - at % STEP_MS)
                jump(s, i, HOUR_MS);
            if (t == at + 1000 - at % STEP_MS)
                jump(s, i, -HOUR_MS);
        }
        return;
    }
    if (t == 0) {
        for (uint32_t k = 0; k < s->f; k++) {
            uint32_t i = k == 0 ? 0 : (uint32_t)rng_below(&s->r, s->n);
            s->nodes[i].clock_faulty = true; /* marked now: its jump comes later */
        }
    }
    for (uint32_t i = 0; i < s->n; i++) {
        node *nd = &s->nodes[i];
        if (!nd->clock_faulty || s->faults_over)
            continue;
        if (nd->jump_ms == 0 && rng_chance(&s->r, 1))
            jump(s, i, rng_chance(&s->r, 50) ? HOUR_MS : -HOUR_MS);
        else if (nd->jump_ms != 0 && rng_chance(&s->r, 1) && rng_chance(&s->r, 50))
            jump(s, i, -nd->jump_ms);
    }
}

/* Per step: the adversary's rounds and clocks. */
static void adversary_faults(sim *s)
{
    if (clock_mix(s))
        clock_faults(s);
    uint64_t round;
    if (s->faults_over)
        return;
    if (s->opt.mix == SIM_MIX_TWINS && twins_round_starts(s, &round))
        twins_round(s, round);
    else if (s->opt.mix == SIM_MIX_BYZZFUZZ && s->now % ROUND_MS == 0)
        fuzz_round(s, s->now / ROUND_MS);
}

/* Scenario split-newview, the faulty primary of view 1 (replica 1): to replicas 2 and
 * 3, a fresh PRE-PREPARE for height 2 (the re-issued batch with a new time) and its
 * COMMIT, then, 50 ms later, its valid NEW-VIEW. */
static void script_new_view(sim *s, uint32_t from, const pbft_out *o)
{
    const pbft_new_view *nv = o->msg.new_view;
    pbft_new_view *again = malloc(sizeof *again);
    assert(again);
    *again = *nv;
    const pbft_batch *batches[PBFT_WINDOW];
    bool ok = reissue_of(nv->vcs, nv->vc_count, again, batches) && !s->script_done;
    if (ok && nv->view == 1 && nv->reissued_count > 0 && batches[0]) {
        s->script_done = true; /* once: its retransmissions go out as they are */
        pbft_batch b = *batches[0];
        pbft_msg m;
        uint64_t h = nv->reissued_from + 1;
        fresh_sign(s, from, nv->view, h, 1, &b, &m);
        char a[9], r[9];
        hex8(&m.digest, a);
        hex8(&nv->reissued[0], r);
        trace(s, "node %u sends 2 and 3 a fresh PRE-PREPARE and COMMIT view=1 h=%llu "
                 "digest=%s, then NEW-VIEW 1 (stable %llu, re-issues %s at %llu)", from,
              (unsigned long long)h, a, (unsigned long long)nv->reissued_from, r,
              (unsigned long long)h);
        for (uint32_t round = 0; round < 2; round++) {
            blob *bl = blob_make(&m);
            net_send(s, from, 2, bl);
            net_send(s, from, 3, bl);
            blob_unref(bl);
            m.type = PBFT_MSG_COMMIT;
            m.batch = NULL;
            resign_vote(s, from, &m);
        }
    }
    blob *b = blob_make(&o->msg);
    for (uint32_t to = 0; to < s->n; to++)
        if (to != from && (o->to == PBFT_BROADCAST || o->to == to))
            net_send_extra(s, from, to, b, ok && nv->view == 1 ? 50 : 0);
    blob_unref(b);
    free(again);
}

/* A node's output under the generated adversary; false: send it the usual way. */
static bool adversary_send(sim *s, uint32_t from, const pbft_out *o)
{
    if (s->opt.scenario == SIM_SCENARIO_SPLIT_NEWVIEW && s->nodes[from].byzantine) {
        if (o->msg.type == PBFT_MSG_NEW_VIEW && !s->faults_over) {
            script_new_view(s, from, o);
        } else {
            blob *b = blob_make(&o->msg);
            deliver_to_all(s, from, o, b);
            blob_unref(b);
        }
        return true;
    }
    if (s->opt.mix == SIM_MIX_TWINS) {
        blob *b = blob_make(&o->msg);
        deliver_to_all(s, from, o, b);
        blob_unref(b);
        return true;
    }
    if ((s->opt.mix == SIM_MIX_BYZZFUZZ || s->opt.mix == SIM_MIX_RECONFIG) &&
        s->nodes[from].byzantine && !s->faults_over) {
        fuzz_send(s, from, o);
        return true;
    }
    return false;
}

static void setup_adversary(sim *s)
{
    s->seen_vc = calloc(PBFT_N_MAX, sizeof *s->seen_vc);
    assert(s->seen_vc);
    if (s->opt.mix == SIM_MIX_TWINS)
        setup_twins(s);
    else if (s->opt.mix == SIM_MIX_BYZZFUZZ)
        setup_byzzfuzz(s);
    else if (clock_mix(s))
        setup_clocks(s);
}

/* Invariant (b): a correct replica never signs two digests for one (view, height)
 * in any message kind (PRE-PREPARE, PREPARE, COMMIT, the pre-prepares re-issued
 * inside its NEW-VIEW), even across crashes and restarts. */
static void check_signed_one(sim *s, uint32_t from, uint64_t view, uint64_t height,
                             const hash32 *d, const char *kind)
{
    uint64_t x = view * 1000003u + height * 7919u + from;
    for (uint32_t probe = 0; probe < SIGNED_TAB; probe++) {
        struct signed_rec *r = &s->signed_tab[(splitmix64(&x)) % SIGNED_TAB];
        if (!r->used) {
            *r = (struct signed_rec){view, height, from, true, *d};
            return;
        }
        if (r->view == view && r->height == height && r->node == from) {
            if (memcmp(&r->d, d, 32) != 0)
                fail(s, "node %u signed two digests for view %llu height %llu (%s)", from,
                     (unsigned long long)view, (unsigned long long)height, kind);
            return;
        }
    }
}

static void check_signed(sim *s, uint32_t from, const pbft_msg *m)
{
    if (m->type == PBFT_MSG_NEW_VIEW) {
        const pbft_new_view *nv = m->new_view;
        nv_record(s, from, nv); /* the primary enters the view it sends */
        for (uint32_t i = 0; i < nv->reissued_count; i++)
            check_signed_one(s, from, nv->view, nv->reissued_from + 1 + i, &nv->reissued[i],
                             "NEW-VIEW re-issue");
        return;
    }
    if (m->type != PBFT_MSG_PREPREPARE && m->type != PBFT_MSG_PREPARE &&
        m->type != PBFT_MSG_COMMIT)
        return;
    check_signed_one(s, from, m->view, m->height, &m->digest, msg_kind(m->type));
    check_vote_against_nv(s, from, m);
    note_sign_time(s, from, m);
}

/* Mix reconfig: the removed host keeps signing anything it can. Copies of what correct
 * nodes send for heights from its removal on (PRE-PREPARE, PREPARE, COMMIT, CHECKPOINT,
 * half of the votes for a random digest) and of their VIEW-CHANGEs of the new set, as its
 * old index, signed with its own key. Every correct node must refuse them. */
static void removed_forges(sim *s, const pbft_msg *orig)
{
    uint32_t host = s->removed_byz;
    if (host == NODES_MAX || s->nodes[host].crashed || !rng_chance(&s->r, 30))
        return;
    pbft_msg m = *orig;
    pbft_view_change vc;
    m.from = s->removed_idx;
    if (m.type == PBFT_MSG_VIEW_CHANGE) {
        if (orig->view_change->stable.height + 1 < s->removed_from)
            return;
        vc = *orig->view_change;
        vc.sender = s->removed_idx;
        pbft_view_change_sign(&s->nodes[host].core, &vc);
        m.view_change = &vc;
    } else if (m.type == PBFT_MSG_CHECKPOINT && m.height >= s->removed_from) {
        sign_checkpoint(s, host, &m);
    } else if (m.type <= PBFT_MSG_COMMIT && m.height >= s->removed_from) {
        if (m.type != PBFT_MSG_PREPREPARE && rng_chance(&s->r, 50))
            random_digest(s, &m.digest);
        resign_vote(s, host, &m);
    } else {
        return;
    }
    blob *b = blob_make(&m);
    b->forged = b->removed = true;
    for (uint32_t to = 0; to < s->hosts; to++)
        if (to != host)
            net_send(s, host, to, b);
    blob_unref(b);
    s->res->mutations++;
}

static void send_out(sim *s, uint32_t from, const pbft_out *o)
{
    node *nd = &s->nodes[from];
    if (!nd->byzantine)
        check_signed(s, from, &o->msg);
    if (!nd->byzantine && s->removed_byz != NODES_MAX && from != s->removed_byz)
        removed_forges(s, &o->msg);
    if (nd->silent)
        return;
    if (adversary_send(s, from, o))
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
        for (uint32_t k = 0; k < r->stable_count; k++) {
            note_result_cert(s, i, &r->stable[k]);
            if (!nd->byzantine)
                check_result_cert_set(s, i, &r->stable[k]);
        }
        if (r->diverged && !nd->byzantine)
            fail(s, "catch-up: node %u's execution of %llu contradicts its result certificate",
                 i, (unsigned long long)r->diverged);
        for (uint32_t k = 0; k < r->out_count; k++)
            send_out(s, i, &r->out[k]);
        uint32_t cc = r->committed_count;
        memcpy(committed, r->committed, cc * sizeof committed[0]);
        uint64_t ff = r->fetch_from, ft = r->fetch_to;
        pbft_ready_clear(&nd->core);
        for (uint32_t k = 0; k < cc && !stopped(s); k++)
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
    uint32_t peer = (uint32_t)rng_below(&s->r, s->hosts);
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
        for (uint32_t k = 0; k < fm->count && !stopped(s); k++) {
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
                /* A faulty requester may refuse (its executor is wrong on purpose: its
                 * core stops executing, and a height past last executed + 17, whose set
                 * it may not know, is refused). */
                if (!s->nodes[fm->peer].byzantine && !nd->byzantine && e != PBFT_ERR_STALE &&
                    e != PBFT_ERR_FULL)
                    fail(s, "catch-up: node %u refuses block %llu from correct node %u: %s", i,
                         (unsigned long long)h, fm->peer, pbft_strerror(e));
                break;
            }
            s->res->fetched_blocks++;
            s->res->result_checked += sb->result.height == h;
            s->fetch_delivery = true;
            drain(s, i);
            s->fetch_delivery = false;
        }
    }
    free(fm);
}

/* ==== cluster set-up, faults, requests ============================================ */
static void node_start(sim *s, uint32_t i, bool restore)
{
    node *nd = &s->nodes[i];
    pbft_config cfg = {
        .id = index_in(&s->sets[0], s->ctx[i].id), .n = s->sets[0].n,
        .batch_max = s->opt.batch_max ? s->opt.batch_max : s->set_count > 1 ? 2 : 8,
        .batch_delay_ms = 20, .view_timeout_ms = 300,
        .retransmit_ms = 150, .clock_bound_ms = 500,
        .signer = {sim_sign, sim_verify, sim_request_valid, &s->ctx[i]},
    };
    pbft_err e = pbft_init(&nd->core, &cfg);
    assert(e == PBFT_OK);
    if (restore) /* the schedule from its ledger, before pbft_restore (pbft.h) */
        for (uint32_t k = 1; k < s->set_count; k++)
            if (s->sets[k].at <= nd->height)
                reconfigure(s, i, k);
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
    pbft_tick(&nd->core, mono_clock(s), host_clock(s, i));
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
    for (uint32_t i = 0; i < s->hosts; i++)
        k += s->nodes[i].crashed || s->nodes[i].byzantine;
    return k;
}

static bool mix_has(const sim *s, sim_mix m)
{
    return s->opt.mix == m || s->opt.mix == SIM_MIX_ALL ||
           (s->opt.mix == SIM_MIX_RECONFIG && (m == SIM_MIX_CRASH || m == SIM_MIX_PARTITION));
}

static void random_faults(sim *s)
{
    if (s->faults_over)
        return;
    if (s->primary_crash_at && s->now == s->primary_crash_at && !s->nodes[0].crashed &&
        crashed_count(s) < s->f) {
        trace(s, "the primary of view 0 fails");
        crash(s, 0, s->primary_crash_ms);
    }
    if (mix_has(s, SIM_MIX_CRASH) && rng_chance(&s->r, 2) && crashed_count(s) < s->f) {
        uint32_t i = (uint32_t)rng_below(&s->r, s->hosts);
        if (!s->nodes[i].crashed && !s->nodes[i].byzantine)
            crash(s, i, 100 + rng_below(&s->r, 1500));
    }
    if (mix_has(s, SIM_MIX_PARTITION) && !s->partitioned && rng_chance(&s->r, 1)) {
        s->partitioned = true;
        s->partition_until = s->now + 200 + rng_below(&s->r, 1200);
        for (uint32_t i = 0; i < s->hosts; i++)
            s->nodes[i].group = (uint32_t)rng_below(&s->r, 2);
        trace(s, "partition");
    }
    if (s->partitioned && s->now >= s->partition_until) {
        s->partitioned = false;
        trace(s, "partition heals");
    }
    adversary_faults(s);
}

static void submit(sim *s, uint64_t id)
{
    for (uint32_t i = 0; i < s->nodes_count; i++) {
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
    if (!nd->crashed && reachable(s, e->from, e->to) && !nd->silent) {
        pbft_err err = pbft_step(&nd->core, &e->b->msg);
        observe_step(s, e->to, &e->b->msg, err);
        if (e->b->removed && err == PBFT_OK && !nd->byzantine) {
            const pbft_msg *m = &e->b->msg;
            uint64_t h = m->view_change ? m->view_change->stable.height + 1 : m->height;
            if (h <= nd->height + PBFT_WINDOW + 1) /* it knows the set of that height */
                fail(s, "removed: node %u accepted a %s of removed host %u (index %u) for "
                        "height %llu", e->to, m->view_change ? "VIEW-CHANGE" : msg_kind(m->type),
                     s->removed_byz, m->from, (unsigned long long)h);
        }
        if (e->b->forged && err == PBFT_OK && !nd->byzantine && e->b->msg.type <= 6)
            s->res->forged_accepted[e->b->msg.type]++;
        drain(s, e->to);
    }
    blob_unref(e->b);
}

/* Clock mix: the chain must go on at the replicas with a true clock. One whose clock
 * stepped back stops its timers until its clock passes the old reading again (the core
 * keeps its clock monotonic): it is counted in clock_stuck, not a liveness failure,
 * unless strict_clock (then every correct replica must commit everything). */
static bool all_committed(const sim *s)
{
    for (uint32_t i = 0; i < s->hosts; i++) {
        const node *nd = &s->nodes[i];
        if (nd->byzantine || (s->opt.mix == SIM_MIX_CLOCK && nd->clock_faulty &&
                               !s->opt.strict_clock) || !in_final_set(s, i))
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
    for (uint32_t i = 0; i < s->nodes_count; i++) {
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
        for (uint32_t i = 0; i < s->hosts; i++)
            if (!s->nodes[i].byzantine && in_final_set(s, i) && !s->nodes[i].request_height[k])
                done = false;
        if (!done)
            submit(s, k);
    }
}

/* ==== runs ========================================================================= */
static const char *const MIX_NAMES[SIM_MIX_LAST] = {
    "clean", "lossy", "partition", "crash", "equivocate", "byzantine", "slow", "all",
    "twins", "byzzfuzz", "clock", "ntp-step", "reconfig"};
static const char *const SCENARIO_NAMES[SIM_SCENARIO_LAST] = {
    "none", "normal", "primary-crash", "equivocate", "partition", "catchup", "catchup-faulty",
    "split-newview"};

const char *sim_mix_name(sim_mix m) { return m < SIM_MIX_LAST ? MIX_NAMES[m] : "?"; }
int sim_mix_parse(const char *name)
{
    for (int i = 0; i < SIM_MIX_LAST; i++)
        if (strcmp(name, MIX_NAMES[i]) == 0)
            return i;
    return -1;
}
const char *sim_scenario_name(sim_scenario sc) { return SCENARIO_NAMES[sc]; }
int sim_scenario_parse(const char *name)
{
    for (int i = 1; i < SIM_SCENARIO_LAST; i++)
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
    if (m >= SIM_MIX_ADVERSARY_FIRST)
        setup_adversary(s);
}

static void setup_scenario(sim *s)
{
    switch (s->opt.scenario) {
    case SIM_SCENARIO_EQUIVOCATE: s->nodes[0].byzantine = true; break;
    case SIM_SCENARIO_SPLIT_NEWVIEW:
        s->nodes[1].byzantine = true;
        trace(s, "script: until 3 s, no CHECKPOINT reaches 2 or 3, and only 0 gets the "
                 "COMMITs of (view 0, height 2)");
        break;
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

/* The boundary of a change committed at height h (the executor's rule). */
static uint64_t boundary_of(uint64_t h) { return (h / PBFT_WINDOW + 2) * PBFT_WINDOW; }

/* Record change k: committed at `at` (at or after the previous boundary: one change
 * pending at a time), n members. */
static sim_set *add_set(sim *s, uint64_t at, uint32_t n, const uint32_t *member)
{
    assert(s->set_count < SIM_SETS_MAX);
    sim_set *set = &s->sets[s->set_count++];
    set->at = at;
    set->from = boundary_of(at);
    set->n = n;
    memcpy(set->member, member, n * sizeof *member);
    return set;
}

/* The host removed by change k (the one of set k - 1 missing from set k), keeps signing. */
static void pick_removed(sim *s, uint32_t k)
{
    const sim_set *before = &s->sets[k - 1], *after = &s->sets[k];
    uint32_t start = (uint32_t)rng_below(&s->r, before->n);
    for (uint32_t j = 0; j < before->n; j++) {
        uint32_t idx = (start + j) % before->n;
        if (index_in(after, before->member[idx]) == PBFT_NOT_MEMBER) {
            s->removed_byz = before->member[idx];
            s->removed_idx = idx;
            s->removed_from = after->from;
            return;
        }
    }
}

/* Mix reconfig, the schedule from the seed (kind = seed % 4): grow 4 -> 7, shrink
 * 7 -> 4, rotate one key (n 4 or 7), or all three in a row (4 -> 7, rotate, -> 4); the
 * first change committed at a random height 2..25, each next one at or after the
 * previous boundary. A rotated or removed validator keeps signing (removed_forges); when
 * validators are added, the primary of view 0 may fail around the change. */
static void plan_reconfig(sim *s)
{
    uint32_t kind = (uint32_t)(s->opt.seed % 4), m[PBFT_N_MAX];
    s->n = kind == 1 ? 7 : kind == 2 && s->opt.n == 7 ? 7 : 4;
    s->sets[0].n = s->n;
    for (uint32_t i = 0; i < PBFT_N_MAX; i++)
        s->sets[0].member[i] = m[i] = i;
    uint64_t at = 2 + rng_below(&s->r, 24);
    if (kind == 0 || kind == 3) {
        add_set(s, at, 7, m); /* grow: hosts 4, 5, 6 join (followers until the boundary) */
        s->hosts = 7;
    }
    if (kind == 1) {
        add_set(s, at, 4, m); /* shrink: hosts 4, 5, 6 leave */
        s->hosts = 7;
        pick_removed(s, 1);
    }
    if (kind == 2 || kind == 3) {
        uint32_t n = s->sets[s->set_count - 1].n, host = kind == 2 ? s->n : 7;
        if (kind == 3)
            at = s->sets[1].from + rng_below(&s->r, 10);
        m[rng_below(&s->r, n)] = host; /* rotate: a new key (host) at one index */
        add_set(s, at, n, m);
        s->hosts = host + 1;
        pick_removed(s, s->set_count - 1);
    }
    if (kind == 3)
        add_set(s, s->sets[2].from + rng_below(&s->r, 10), 4, m); /* shrink to 4 */
    for (uint32_t k = 1; k < s->set_count; k++)
        trace(s, "schedule: change committed at %llu, boundary %llu, n %u%s",
              (unsigned long long)s->sets[k].at, (unsigned long long)s->sets[k].from,
              s->sets[k].n, s->removed_from == s->sets[k].from ? ", its removed host signs on" : "");
    s->f = 1; /* crashes: within the smallest set's f */
    if ((s->opt.seed / 4) % 2) {
        /* The generated adversary too: a validator of every set mutates its own signed
         * messages (ByzzFuzz). It is the one fault of the sets of 4, so no crash then
         * (crashed_count counts it). */
        uint32_t start = (uint32_t)rng_below(&s->r, s->n);
        for (uint32_t j = 0; j < s->n; j++) {
            uint32_t host = (start + j) % s->n, in_all = 1;
            for (uint32_t k = 1; k < s->set_count; k++)
                in_all &= index_in(&s->sets[k], host) != PBFT_NOT_MEMBER;
            if (in_all && host != s->removed_byz) {
                s->nodes[host].byzantine = true;
                trace(s, "schedule: host %u is faulty in every set (ByzzFuzz)", host);
                break;
            }
        }
    }
    if ((kind == 0 || kind == 3) && rng_chance(&s->r, 50)) {
        s->primary_crash_at = (200 + rng_below(&s->r, 1000)) / STEP_MS * STEP_MS;
        s->primary_crash_ms = 800 + rng_below(&s->r, 1000);
    }
}

static void setup(sim *s)
{
    rng_seed(&s->r, s->opt.seed);
    s->signed_tab = calloc(SIGNED_TAB, sizeof *s->signed_tab);
    assert(s->signed_tab);
    s->n = s->opt.n;
    s->f = (s->n - 1) / 3;
    s->hosts = s->n;
    s->removed_byz = NODES_MAX;
    s->set_count = 1;
    s->sets[0].n = s->n;
    for (uint32_t i = 0; i < s->n; i++)
        s->sets[0].member[i] = i;
    if (s->opt.mix == SIM_MIX_RECONFIG && !s->opt.scenario)
        plan_reconfig(s);
    s->mac_key = rng_next(&s->r);
    tcrypto_sha256(&s->opt.seed, sizeof s->opt.seed, &s->chain_id);
    for (uint32_t i = 0; i < s->hosts; i++) {
        for (int k = 0; k < 32; k++)
            s->keys[i][k] = (uint8_t)rng_next(&s->r);
        if (s->opt.ed25519)
            tcrypto_keypair_from_seed(s->keys[i], &s->kp[i]);
        s->ctx[i].s = s;
        s->ctx[i].id = i;
        node *nd = &s->nodes[i];
        nd->id = i;
        nd->store = calloc(MAX_HEIGHT + 1, sizeof *nd->store);
        assert(nd->store);
        nd->skew_ms = (int64_t)rng_below(&s->r, 100);
    }
    s->nodes_count = s->hosts;
    if (s->opt.scenario == SIM_SCENARIO_NONE)
        setup_mix(s);
    else
        setup_scenario(s);
    for (uint32_t i = 0; i < s->nodes_count; i++)
        node_start(s, i, false);
    s->request_count = s->opt.scenario ? 12 : 16 + (uint32_t)rng_below(&s->r, 16);
    if (s->set_count > 1) /* enough heights to pass the boundaries (batches of 2) */
        s->request_count = 60 + 60 * s->set_count + (uint32_t)rng_below(&s->r, 40);
    if (s->opt.bench_requests) {
        s->request_count = s->opt.bench_requests < MAX_REQUESTS ? s->opt.bench_requests
                                                                : MAX_REQUESTS;
        requests_index(s);
        return; /* fed by bench_feed */
    }
    requests_index(s);
    for (uint32_t k = 0; k < s->request_count; k++) {
        event e = {rng_below(&s->r, s->set_count > 1 ? FAULT_MS + 1000 : FAULT_MS), s->order++,
                   EV_REQUEST, 0, NULL, k, NULL, 0};
        if (s->opt.scenario == SIM_SCENARIO_SPLIT_NEWVIEW) /* heights 1 and 2, then more */
            e.time = k == 0 ? 5 : k == 1 ? 40 : 1500 + 100 * k;
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
    for (uint32_t i = 0; i < s->nodes_count; i++)
        free(s->nodes[i].store);
    free(s->seen_vc);
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
    while (s->heap_len && s->heap[0].time <= s->now && !stopped(s)) {
        event e = heap_pop(s);
        handle_event(s, &e);
    }
    if (s->opt.scenario)
        scenario_events(s);
    else
        random_faults(s);
    for (uint32_t i = 0; i < s->nodes_count && !stopped(s); i++) {
        node *nd = &s->nodes[i];
        if (nd->crashed && s->now >= nd->restart_at &&
            (!s->opt.scenario || s->faults_over ||
             s->opt.scenario == SIM_SCENARIO_CATCHUP_FAULTY))
            restart(s, i);
        if (nd->crashed)
            continue;
        pbft_tick(&nd->core, mono_clock(s), host_clock(s, i));
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
    for (uint32_t i = 0; i < NODES_MAX; i++) {
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
    for (s->now = 0; s->now <= FAULT_MS + LIVENESS_MS && !stopped(s); s->now += STEP_MS) {
        step(s);
        if (s->faults_over && all_committed(s))
            break;
    }
    if ((!s->failed || s->opt.keep_going) && !all_committed(s))
        fail(s, "liveness: requests not committed %d ms after faults stopped", LIVENESS_MS);
    for (uint32_t i = 0; i < s->hosts; i++)
        for (uint32_t k = 0; k < s->request_count; k++)
            res->committed_requests += s->nodes[i].request_height[k] && !s->nodes[i].byzantine;
    for (uint32_t i = 0; i < s->hosts; i++)
        res->clock_stuck += s->nodes[i].clock_faulty && s->nodes[i].height < res->max_height;
    res->sim_ms = s->now;
    res->ok = !s->failed;
    trace(s, "end: %s", res->ok ? "ok" : res->violation);
    teardown(s);
}
