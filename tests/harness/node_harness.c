/*
 * node_harness.c - the node-level harness (issue 13 item 3; docs/SIMULATION.md, "The
 * node-level harness"). Four real validators (registry/node/node.c with its mempool, executor
 * and LevelDB ledger) in one process over an in-memory network, driven by one seeded
 * scheduler: which node takes a turn, which of a node's queued signature checks ends next
 * (the mempool's scheduled mode: no verifier threads), which queued message a node
 * receives next, which messages are lost, when a client's submit is queued and when it is
 * answered, and at which crash point (before a persist, a send, pbft.newview, a block's
 * execution) a correct node dies, to be opened again on its data directory.
 *
 * The adversary is generated, not scripted: validator B (seeded) is a real node whose
 * sends pass through a mutator (ByzzFuzz-style small steps: a forwarded tx gets a forged
 * signature or nonce, a PREPARE or COMMIT another digest or height, correctly re-signed
 * with B's key, each peer's copy mutated on its own: equivocation) and which votes PREPARE
 * and COMMIT for every PRE-PREPARE it sees; a faulty client colludes with B: it submits
 * to correct nodes batches drawn from what B has seen and forged. Honest clients submit
 * validly signed txs.
 *
 * The checker reads only the history: what clients were told and what each correct node
 * stored (its ledger, read after the run): agreement on every block and its receipts and
 * writes at each height, every stored tx whose signatures do not verify (checked here,
 * independently of the mempool) refused with a signature receipt, and no client told
 * "accepted" for a tx whose signatures do not verify.
 *
 *   node_harness [--seeds N] [--from S] [--expect-violation] [--quiet]
 * Exit 0 when every seed passed (with --expect-violation: when some seed failed).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "config.h"
#include "crypto.h"
#include "executor.h"
#include "ledger.h"
#include "mempool.h"
#include "merkle.h"
#include "node.h"
#include "sample.h"
#include "wire.h"

#define N 4
#define INBOX_MAX 8192
#define KNOWN_MAX 256      /* txs the adversary knows (seen or forged) */
#define SUBMITS_MAX 64     /* client submits in flight */
#define BATCH_MAX 3        /* txs per client submit */
#define ANSWERS_MAX 1024
#define FAULT_TICKS 4000   /* ticks with faults and clients; then a quiet period */
#define QUIET_TICKS 40000  /* at most, for the correct nodes to agree on their height */
#define HONEST_TXS 12

typedef struct {
    uint8_t *data;
    size_t len;
} blob;

/* What the checker finds, by kind (each run reports its first and counts all). */
enum { V_FAILED, V_AGREEMENT, V_FORGED_EXECUTED, V_FORGED_ACCEPTED, V_LOST, V_KINDS };
static const char *const V_NAMES[V_KINDS] = {"failed", "agreement", "forged-executed",
                                             "forged-accepted", "accepted-not-executed"};
/* The crash points node.c offers (node_env.crash). */
static const char *const POINTS[] = {"persist", "send", "newview", "execute"};
#define POINT_COUNT 4

typedef struct harness harness;
typedef struct {
    harness *h;
    uint32_t id;
} link_ctx;

typedef struct {
    uint32_t node;
    mempool_submission *s;
    uint32_t count;
    bool honest;
    codec_span *txs; /* [BATCH_MAX], on the heap: the submission points to it while flights move */
} submit_flight;

struct harness {
    uint64_t seed, rng, now_ms;
    uint32_t byz;
    char dir[256];
    uint8_t *genesis;
    size_t genesis_len;
    hash32 chain;
    sample_keys keys;
    config_node cfg[N];
    link_ctx links[N];
    node *nodes[N];
    bool down[N];
    bool crashing[N]; /* a crash point said stop during its turn */
    uint64_t restart_at[N];
    uint32_t crashes, crash_per_10k;
    blob inbox[N][INBOX_MAX];
    uint32_t inbox_count[N];
    bool faults; /* clients, the adversary's extra sends, crashes, loss */
    blob known[KNOWN_MAX];
    bool known_forged[KNOWN_MAX];
    uint32_t known_count;
    submit_flight flights[SUBMITS_MAX];
    uint32_t flight_count;
    blob answered[ANSWERS_MAX]; /* txs a client was told "accepted" */
    uint32_t answered_count;
    /* honest txs accepted by a correct node that did not crash afterwards: every correct
     * node must execute them (a crash loses what its mempool held, as a real one would) */
    struct {
        hash32 digest;
        uint32_t node;
        bool lost;
    } honest[HONEST_TXS];
    uint32_t honest_count;
    uint32_t crash_points[POINT_COUNT];
    uint64_t honest_sent;
    uint32_t forged_submitted, forged_accepted;
    wire_msg *scratch, *scratch2;
    uint8_t *buf;
    char violation[512];    /* the first violation found */
    uint32_t violations[V_KINDS]; /* how many of each kind */
};

static bool quiet;
static const char *program = "node_harness";

static uint64_t next_random(harness *h) /* splitmix64 */
{
    uint64_t z = (h->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t pick(harness *h, uint32_t n) { return (uint32_t)(next_random(h) % n); }
static bool chance(harness *h, uint32_t per_mille) { return pick(h, 1000) < per_mille; }

static void die(const char *what)
{
    fprintf(stderr, "node_harness: %s\n", what);
    exit(2);
}

static uint8_t *copy_bytes(const uint8_t *data, size_t len)
{
    uint8_t *c = malloc(len ? len : 1);
    if (!c)
        die("out of memory");
    memcpy(c, data, len);
    return c;
}

/* The first violation of a run is kept (and printed with its seed). */
static void violate(harness *h, int kind, const char *fmt, ...)
{
    h->violations[kind]++;
    if (h->violation[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->violation, sizeof h->violation, fmt, ap);
    va_end(ap);
}

/* ---- the checker's own signature check (not the mempool's) ---- */

static bool signed_validly(const harness *h, const uint8_t *data, size_t len)
{
    static codec_tx tx;
    codec_error ce;
    return codec_tx_decode(data, len, &tx, &ce) == CODEC_OK &&
           codec_tx_verify_signatures(&tx, &h->chain) == 0;
}

/* ---- the adversary's knowledge ---- */

static void learn(harness *h, const uint8_t *data, size_t len, bool forged)
{
    for (uint32_t i = 0; i < h->known_count; i++)
        if (h->known[i].len == len && memcmp(h->known[i].data, data, len) == 0)
            return;
    uint32_t at = h->known_count < KNOWN_MAX ? h->known_count++ : pick(h, KNOWN_MAX);
    free(h->known[at].data); /* NULL unless a full list replaces one */
    h->known[at] = (blob){copy_bytes(data, len), len};
    h->known_forged[at] = forged;
}

/* A forged copy of a tx: one small step (the author's signature, a co-signature, or the
 * nonce changed without re-signing). Returns its length in out, 0 if it does not decode. */
static size_t forge_tx(harness *h, const uint8_t *data, size_t len, uint8_t *out, size_t cap)
{
    static codec_tx tx;
    codec_error ce;
    if (codec_tx_decode(data, len, &tx, &ce) != CODEC_OK)
        return 0;
    switch (pick(h, 3)) {
    case 0: tx.sig.bytes[pick(h, sizeof tx.sig.bytes)] ^= (uint8_t)(1u << pick(h, 8)); break;
    case 1:
        if (tx.cosig_count > 0) {
            tx.cosigs[0].sig.bytes[pick(h, 64)] ^= 1;
            break;
        }
        /* fall through */
    default: tx.nonce += 1 + pick(h, 3); break;
    }
    codec_buf b = codec_buf_make(out, cap);
    return codec_tx_encode(&tx, &b) == CODEC_OK && !b.overflow ? b.len : 0;
}

/* ---- the network ---- */

static void deliver(harness *h, uint32_t to, const uint8_t *data, size_t len)
{
    if (to >= N || h->inbox_count[to] == INBOX_MAX)
        return;
    h->inbox[to][h->inbox_count[to]++] = (blob){copy_bytes(data, len), len};
}

static void sign_vote_as_byz(harness *h, pbft_msg *m)
{
    uint8_t body[128];
    codec_buf b = codec_buf_make(body, sizeof body);
    const char *tag = m->type == PBFT_MSG_COMMIT ? TCRYPTO_TAG_COMMIT : TCRYPTO_TAG_PREPARE;
    if (m->type == PBFT_MSG_COMMIT)
        codec_commit_body_encode(m->height, m->view, &m->digest, &b);
    else
        codec_pbft_vote_body_encode(m->view, m->height, &m->digest, &b);
    tcrypto_sign(&h->keys.validators[h->byz], tag, &h->chain, b.data, b.len, &m->sig);
}

/* One message of B's (not a bundle), mutated in one small step or not; appended to out. */
static void mutate_one(harness *h, const uint8_t *data, size_t len, codec_buf *out)
{
    static uint8_t forged[PBFT_BATCH_MAX][2048];
    static codec_span txs[PBFT_BATCH_MAX];
    wire_msg *w = h->scratch2;
    codec_error ce;
    if (wire_decode(data, len, w, &ce) != CODEC_OK)
        return;
    if (w->kind == WIRE_TXS && chance(h, 500)) {
        for (uint32_t i = 0; i < w->tx_count; i++) {
            txs[i] = w->txs[i];
            learn(h, w->txs[i].data, w->txs[i].len, false);
        }
        uint32_t k = pick(h, w->tx_count);
        size_t fl = forge_tx(h, w->txs[k].data, w->txs[k].len, forged[k], sizeof forged[k]);
        if (fl > 0) {
            txs[k] = (codec_span){forged[k], fl};
            learn(h, forged[k], fl, true);
        }
        wire_txs_encode(h->byz, txs, w->tx_count, out);
        return;
    }
    if (w->kind == WIRE_PBFT && (w->msg.type == PBFT_MSG_PREPARE ||
                                 w->msg.type == PBFT_MSG_COMMIT) && chance(h, 200)) {
        pbft_msg m = w->msg;
        if (chance(h, 500))
            m.digest.bytes[pick(h, 32)] ^= 1;
        else
            m.height += chance(h, 500) ? 1 : (pbft_height)-1;
        sign_vote_as_byz(h, &m);
        wire_pbft_encode(h->byz, &m, NULL, 0, out);
        return;
    }
    if (chance(h, 30))
        return; /* omitted */
    size_t room = out->cap - out->len;
    if (len <= room) {
        memcpy(out->data + out->len, data, len);
        out->len += len;
    }
}

/* B's message to one peer, through the mutator (a bundle part by part). */
static void byz_send(harness *h, uint32_t peer, const uint8_t *data, size_t len)
{
    static codec_span parts[WIRE_BUNDLE_MAX];
    static uint8_t *part_bufs[WIRE_BUNDLE_MAX];
    wire_msg *w = h->scratch;
    codec_error ce;
    if (wire_decode(data, len, w, &ce) != CODEC_OK)
        return;
    if (w->kind != WIRE_BUNDLE) {
        codec_buf out = codec_buf_make(h->buf, 8u << 20);
        mutate_one(h, data, len, &out);
        if (out.len > 0 && !out.overflow)
            deliver(h, peer, out.data, out.len);
        return;
    }
    uint32_t count = w->part_count, kept = 0;
    codec_span in[WIRE_BUNDLE_MAX];
    memcpy(in, w->parts, count * sizeof *in);
    for (uint32_t i = 0; i < count; i++) {
        size_t cap = in[i].len + 4096;
        part_bufs[kept] = malloc(cap);
        if (!part_bufs[kept])
            die("out of memory");
        codec_buf out = codec_buf_make(part_bufs[kept], cap);
        mutate_one(h, in[i].data, in[i].len, &out);
        if (out.len > 0 && !out.overflow)
            parts[kept] = (codec_span){out.data, out.len}, kept++;
        else
            free(part_bufs[kept]);
    }
    codec_buf out = codec_buf_make(h->buf, 8u << 20);
    if (kept > 0 && wire_bundle_encode(h->byz, parts, kept, &out) == CODEC_OK && !out.overflow)
        deliver(h, peer, out.data, out.len);
    for (uint32_t i = 0; i < kept; i++)
        free(part_bufs[i]);
}

/* What B receives: it learns the txs, and votes PREPARE and COMMIT for every PRE-PREPARE
 * (no checks: a faulty replica helping whatever is proposed to a quorum). */
static void byz_observe(harness *h, const uint8_t *data, size_t len, int depth)
{
    wire_msg *w = depth == 0 ? h->scratch : h->scratch2;
    codec_error ce;
    if (wire_decode(data, len, w, &ce) != CODEC_OK)
        return;
    if (w->kind == WIRE_BUNDLE && depth == 0) {
        codec_span in[WIRE_BUNDLE_MAX];
        uint32_t count = w->part_count;
        memcpy(in, w->parts, count * sizeof *in);
        for (uint32_t i = 0; i < count; i++)
            byz_observe(h, in[i].data, in[i].len, 1);
        return;
    }
    if (w->kind == WIRE_TXS || (w->kind == WIRE_PBFT && w->msg.type == PBFT_MSG_PREPREPARE))
        for (uint32_t i = 0; i < w->tx_count; i++)
            learn(h, w->txs[i].data, w->txs[i].len, !signed_validly(h, w->txs[i].data, w->txs[i].len));
    if (w->kind == WIRE_PBFT && w->msg.type == PBFT_MSG_PREPREPARE && chance(h, 700)) {
        for (int type = PBFT_MSG_PREPARE; type <= PBFT_MSG_COMMIT; type++) {
            pbft_msg m = {.type = (pbft_msg_type)type, .from = h->byz, .view = w->msg.view,
                          .height = w->msg.height, .digest = w->msg.digest};
            if (type != PBFT_MSG_PREPARE && type != PBFT_MSG_COMMIT)
                continue;
            sign_vote_as_byz(h, &m);
            uint8_t out[512];
            codec_buf b = codec_buf_make(out, sizeof out);
            if (wire_pbft_encode(h->byz, &m, NULL, 0, &b) != CODEC_OK || b.overflow)
                continue;
            for (uint32_t p = 0; p < N; p++)
                if (p != h->byz)
                    deliver(h, p, b.data, b.len);
        }
    }
}

static bool net_send(void *ctx, uint32_t peer, const uint8_t *data, size_t len)
{
    link_ctx *l = ctx;
    harness *h = l->h;
    if (peer >= N)
        return false;
    if (h->faults && chance(h, 20))
        return true; /* lost on the way */
    if (l->id == h->byz)
        byz_send(h, peer, data, len);
    else
        deliver(h, peer, data, len);
    return true;
}

static bool net_recv(void *ctx, uint8_t **data, size_t *len)
{
    link_ctx *l = ctx;
    harness *h = l->h;
    uint32_t n = h->inbox_count[l->id];
    if (n == 0)
        return false;
    uint32_t at = pick(h, n); /* any queued message: reordering */
    *data = h->inbox[l->id][at].data;
    *len = h->inbox[l->id][at].len;
    h->inbox[l->id][at] = h->inbox[l->id][--h->inbox_count[l->id]];
    if (l->id == h->byz)
        byz_observe(h, *data, *len, 0);
    return true;
}

static void net_release(void *ctx, uint8_t *data, size_t len)
{
    (void)ctx;
    (void)len;
    free(data);
}

static uint64_t net_now(void *ctx) { return ((link_ctx *)ctx)->h->now_ms; }

/* A correct node's crash points: a crash at most one node at a time (with B, two faulty:
 * safety must still hold, liveness only once it is back). */
static bool net_crash(void *ctx, const char *point)
{
    link_ctx *l = ctx;
    harness *h = l->h;
    if (!h->faults || l->id == h->byz || pick(h, 10000) >= h->crash_per_10k)
        return false;
    for (uint32_t i = 0; i < N; i++)
        if (h->down[i])
            return false;
    h->crashing[l->id] = true;
    for (int k = 0; k < POINT_COUNT; k++)
        h->crash_points[k] += strcmp(point, POINTS[k]) == 0;
    return true;
}

/* ---- nodes ---- */

static void open_node(harness *h, uint32_t i)
{
    node_env env = {&h->links[i], net_send, net_recv, net_release, net_now, net_now, true,
                    net_crash};
    char why[512];
    h->nodes[i] = node_open_env(&h->cfg[i], &env, why, sizeof why);
    if (!h->nodes[i]) {
        fprintf(stderr, "seed %llu: node %u does not open: %s\n", (unsigned long long)h->seed,
                i, why);
        exit(2);
    }
    h->down[i] = false;
}

static void abandon_submits_at(harness *h, uint32_t node_id)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < h->flight_count; i++) {
        submit_flight *f = &h->flights[i];
        if (f->node != node_id) {
            h->flights[kept++] = *f;
            continue;
        }
        mempool_submit_abandon(node_mempool(h->nodes[node_id]), f->s);
        for (uint32_t k = 0; k < f->count; k++)
            free((uint8_t *)f->txs[k].data);
        free(f->txs);
    }
    h->flight_count = kept;
}

static void crash_node(harness *h, uint32_t i)
{
    abandon_submits_at(h, i);
    node_close(h->nodes[i]);
    h->nodes[i] = NULL;
    h->down[i] = true;
    h->restart_at[i] = h->now_ms + 20 + pick(h, 400);
    for (uint32_t k = 0; k < h->honest_count; k++)
        h->honest[k].lost |= h->honest[k].node == i;
    h->crashes++;
    for (uint32_t k = 0; k < h->inbox_count[i]; k++)
        free(h->inbox[i][k].data);
    h->inbox_count[i] = 0; /* what was in its socket buffers */
}

static void open_cluster(harness *h, uint64_t seed)
{
    memset(h, 0, offsetof(harness, scratch));
    h->violation[0] = 0;
    memset(h->violations, 0, sizeof h->violations);
    h->seed = seed;
    h->rng = seed * 0x100000001b3ull;
    h->byz = (uint32_t)(seed % N);
    h->crash_per_10k = seed % 3 == 0 ? 0 : 40;
    h->faults = true;
    h->now_ms = 1800000000000ull; /* a fixed 2027 wall clock: the run does not read the host's */
    snprintf(h->dir, sizeof h->dir, "/tmp/trialreg-harness-XXXXXX");
    if (!mkdtemp(h->dir))
        die("mkdtemp");
    sample_keys_derive(21, N, &h->keys);
    if (sample_genesis(&h->keys, "harness", &h->genesis, &h->genesis_len) != 0)
        die("genesis");
    tcrypto_sha256(h->genesis, h->genesis_len, &h->chain);
    char genesis[300];
    snprintf(genesis, sizeof genesis, "%s/genesis.bin", h->dir);
    FILE *f = fopen(genesis, "wb");
    if (!f || fwrite(h->genesis, 1, h->genesis_len, f) != h->genesis_len)
        die("genesis file");
    fclose(f);
    for (uint32_t i = 0; i < N; i++) {
        config_node *c = &h->cfg[i];
        config_defaults(c);
        c->node = i;
        c->peer_count = N;
        snprintf(c->data_dir, sizeof c->data_dir, "%s/node-%u", h->dir, i);
        snprintf(c->key_file, sizeof c->key_file, "%s/validator-%u.key", h->dir, i);
        snprintf(c->genesis_file, sizeof c->genesis_file, "%s", genesis);
        const char *level = getenv("HARNESS_LOG"); /* debug, info, warn; error by default */
        snprintf(c->log_level, sizeof c->log_level, "%s", level ? level : "error");
        if (tcrypto_write_secret_key(c->key_file, &h->keys.validators[i]) != TCRYPTO_OK)
            die("key file");
        h->links[i] = (link_ctx){h, i};
        open_node(h, i);
    }
}

static void close_cluster(harness *h)
{
    for (uint32_t i = 0; i < N; i++) {
        if (h->nodes[i]) {
            abandon_submits_at(h, i);
            node_close(h->nodes[i]);
            h->nodes[i] = NULL;
        }
        for (uint32_t k = 0; k < h->inbox_count[i]; k++)
            free(h->inbox[i][k].data);
    }
    for (uint32_t i = 0; i < h->known_count; i++)
        free(h->known[i].data);
    for (uint32_t i = 0; i < h->answered_count; i++)
        free(h->answered[i].data);
    free(h->genesis);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", h->dir);
    if (system(cmd) != 0)
        die("rm");
}

/* ---- clients ---- */

static void finish_submit(harness *h, uint32_t at);

static void start_submit(harness *h, uint32_t to, const blob *txs, uint32_t count,
                         bool honest)
{
    if (h->flight_count == SUBMITS_MAX || h->down[to])
        return;
    submit_flight *f = &h->flights[h->flight_count];
    f->node = to;
    f->count = count;
    f->honest = honest;
    f->txs = calloc(BATCH_MAX, sizeof *f->txs);
    if (!f->txs)
        die("out of memory");
    for (uint32_t i = 0; i < count; i++)
        f->txs[i] = (codec_span){copy_bytes(txs[i].data, txs[i].len), txs[i].len};
    f->s = mempool_submit_start(node_mempool(h->nodes[to]), f->txs, count);
    if (!f->s)
        die("mempool_submit_start");
    h->flight_count++;
    /* one whose checks needed none is answered at once: the API thread never let go of the
     * mempool's lock between its two halves */
    if (mempool_submit_checked(f->s))
        finish_submit(h, h->flight_count - 1);
}

/* An honest client: a validly signed tx of the sample mix, to one node (any, B too). */
static void honest_submit(harness *h)
{
    uint8_t bytes[2048];
    codec_buf b = codec_buf_make(bytes, sizeof bytes);
    if (sample_tx(&h->keys, &h->chain, ++h->honest_sent, h->now_ms + SAMPLE_VALID_FOR_MS, &b) != 0)
        die("sample_tx");
    blob tx = {b.data, b.len};
    start_submit(h, pick(h, N), &tx, 1, true);
}

/* A tx the adversary knows: half the time one of the 8 it learned last. */
static uint32_t pick_known(harness *h)
{
    uint32_t recent = h->known_count < 8 ? h->known_count : 8;
    return chance(h, 500) ? h->known_count - 1 - pick(h, recent) : pick(h, h->known_count);
}

/* The faulty client: 1..3 txs the adversary knows (seen or forged), to 1..3 correct nodes
 * (a client may send one request to several nodes). */
static void faulty_submit(harness *h)
{
    if (h->known_count == 0)
        return;
    blob txs[BATCH_MAX];
    uint32_t count = 1 + pick(h, BATCH_MAX);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t k = pick_known(h);
        txs[i] = h->known[k];
        h->forged_submitted += h->known_forged[k];
    }
    uint32_t first = pick(h, N - 1), copies = 1 + pick(h, N - 1);
    for (uint32_t c = 0; c < copies; c++)
        start_submit(h, (h->byz + 1 + (first + c) % (N - 1)) % N, txs, count, false);
}

/* Answer a submit whose checks ended: the client records what it was told. */
static void finish_submit(harness *h, uint32_t at)
{
    submit_flight f = h->flights[at];
    h->flights[at] = h->flights[--h->flight_count];
    codec_submit_result res[BATCH_MAX];
    mempool_submit_finish(node_mempool(h->nodes[f.node]), f.s, res);
    for (uint32_t i = 0; i < f.count; i++) {
        if (res[i].status == 0 && f.honest && f.node != h->byz && h->honest_count < HONEST_TXS) {
            merkle_leaf_hash(f.txs[i].data, f.txs[i].len, &h->honest[h->honest_count].digest);
            h->honest[h->honest_count].node = f.node;
            h->honest[h->honest_count++].lost = false;
        }
        if (res[i].status == 0 && h->answered_count < ANSWERS_MAX) {
            h->answered[h->answered_count++] = (blob){(uint8_t *)f.txs[i].data, f.txs[i].len};
            h->forged_accepted += !signed_validly(h, f.txs[i].data, f.txs[i].len);
        } else {
            free((uint8_t *)f.txs[i].data);
        }
    }
    free(f.txs);
}

/* The adversary sends B's TXS with a forged copy of a tx it knows, to one correct node. */
static void forge_and_forward(harness *h)
{
    if (h->known_count == 0)
        return;
    static uint8_t forged[2048], out[4096];
    const blob *src = &h->known[pick_known(h)];
    size_t fl = forge_tx(h, src->data, src->len, forged, sizeof forged);
    if (fl == 0)
        return;
    learn(h, forged, fl, true);
    codec_buf b = codec_buf_make(out, sizeof out);
    codec_span tx = {forged, fl};
    if (wire_txs_encode(h->byz, &tx, 1, &b) != CODEC_OK || b.overflow)
        return;
    for (uint32_t p = 0; p < N; p++) /* to every correct node, each maybe */
        if (p != h->byz && chance(h, 700))
            deliver(h, p, b.data, b.len);
}

/* ---- the schedule ---- */

static void node_step(harness *h, uint32_t i)
{
    if (h->down[i]) {
        if (h->now_ms >= h->restart_at[i])
            open_node(h, i);
        return;
    }
    if (node_turn(h->nodes[i]))
        return;
    if (h->crashing[i]) {
        h->crashing[i] = false;
        crash_node(h, i);
    } else if (i != h->byz) { /* B may fail: it is faulty anyway */
        violate(h, V_FAILED, "correct node %u stopped after a failure (its log says why)", i);
    }
}

static void step(harness *h)
{
    uint32_t r = pick(h, 1000);
    if (r < 450) {
        node_step(h, pick(h, N));
    } else if (r < 800) {
        uint32_t i = pick(h, N);
        if (!h->down[i])
            mempool_verify_step(node_mempool(h->nodes[i]), (uint32_t)next_random(h));
    } else if (r < 900) {
        if (h->flight_count > 0) {
            uint32_t at = pick(h, h->flight_count);
            if (mempool_submit_checked(h->flights[at].s))
                finish_submit(h, at);
        }
    } else if (h->faults) {
        if (r < 915 && h->honest_sent < HONEST_TXS)
            honest_submit(h);
        else if (r < 950)
            faulty_submit(h);
        else if (r < 970)
            forge_and_forward(h);
    }
    h->now_ms += 1;
}

/* ---- the checker: the history only ---- */

typedef struct {
    ledger *l;
    uint64_t height;
} stored;

/* The tx the adversary knows (seen or forged) whose leaf hash is d, or NULL. */
static const blob *known_by_leaf(const harness *h, const hash32 *d)
{
    for (uint32_t i = 0; i < h->known_count; i++) {
        hash32 leaf;
        merkle_leaf_hash(h->known[i].data, h->known[i].len, &leaf);
        if (memcmp(&leaf, d, 32) == 0)
            return &h->known[i];
    }
    return NULL;
}

static void check_block(harness *h, uint32_t node_id, uint64_t height, const codec_block *b,
                        bool *seen)
{
    static codec_receipt rc;
    for (uint32_t i = 0; i < b->tx_count; i++) {
        hash32 d;
        codec_entry_leaf(&b->txs[i], &d);
        for (uint32_t k = 0; k < h->honest_count; k++)
            seen[k] |= memcmp(&d, &h->honest[k].digest, 32) == 0;
        if (codec_entry_is_pruned(&b->txs[i])) {
            /* Issue 14 C: a tx refused for its signer's role or its route is stored pruned,
             * without its signatures; the executor prunes only past its signature check.
             * The checker judges it by its own copy of the tx, when it knows one. */
            const blob *orig = known_by_leaf(h, &d);
            if (orig && !signed_validly(h, orig->data, orig->len))
                violate(h, V_FORGED_EXECUTED, "node %u executed a tx whose signatures do not "
                        "verify past its signature check (height %llu, tx %u, stored pruned)",
                        node_id, (unsigned long long)height, i);
            continue;
        }
        if (signed_validly(h, b->txs[i].data, b->txs[i].len))
            continue;
        codec_error ce;
        bool refused = i < b->receipt_count &&
                       codec_receipt_decode(b->receipts[i].data, b->receipts[i].len, &rc, &ce) ==
                           CODEC_OK &&
                       rc.status == RECEIPT_INVALID &&
                       (rc.error_code == EXEC_E_SIGNATURE || rc.error_code == EXEC_E_COSIGNATURE ||
                        rc.error_code == EXEC_E_DECODE);
        if (!refused) {
            violate(h, V_FORGED_EXECUTED, "node %u executed a tx whose signatures do not verify past its "
                       "signature check (height %llu, tx %u: receipt status %u code %u)",
                    node_id, (unsigned long long)height, i, rc.status, rc.error_code);
        }
    }
}

static void check_history(harness *h)
{
    static codec_span txs[2][CODEC_BLOCK_TXS_MAX], receipts[2][CODEC_BLOCK_TXS_MAX];
    static codec_write writes[2][CODEC_WRITES_MAX];
    stored s[N] = {{0}};
    for (uint32_t i = 0; i < N; i++) {
        if (i == h->byz)
            continue;
        char dir[CONFIG_PATH_MAX + 16];
        snprintf(dir, sizeof dir, "%s/ledger", h->cfg[i].data_dir);
        ledger_error le;
        if (ledger_open(dir, h->genesis, h->genesis_len, LEDGER_OPEN_EXISTING, &s[i].l, &le) !=
            LEDGER_OK) {
            violate(h, V_FAILED, "correct node %u's ledger does not open: %s", i, le.message);
            continue;
        }
        ledger_summary head;
        ledger_head(s[i].l, &head);
        s[i].height = head.height;
    }
    uint32_t ref = (h->byz + 1) % N;
    for (uint32_t i = 0; i < N; i++) {
        if (!s[i].l)
            continue;
        bool seen[HONEST_TXS] = {false};
        for (uint64_t ht = 1; ht <= s[i].height; ht++) {
            uint8_t *data = NULL, *rdata = NULL;
            size_t len = 0, rlen = 0;
            codec_block b = {.txs = txs[0], .receipts = receipts[0], .writes = writes[0]};
            codec_block r = {.txs = txs[1], .receipts = receipts[1], .writes = writes[1]};
            if (ledger_get_block(s[i].l, ht, &data, &len) != LEDGER_OK ||
                codec_block_decode(data, len, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL) !=
                    CODEC_OK) {
                violate(h, V_FAILED, "correct node %u's block %llu does not read back", i,
                        (unsigned long long)ht);
                free(data);
                continue;
            }
            check_block(h, i, ht, &b, seen);
            if (i != ref && s[ref].l && ht <= s[ref].height &&
                ledger_get_block(s[ref].l, ht, &rdata, &rlen) == LEDGER_OK &&
                codec_block_decode(rdata, rlen, &r, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL) ==
                    CODEC_OK) {
                hash32 bh, rh, bw, rw;
                codec_block_hash(&b.header, &bh);
                codec_block_hash(&r.header, &rh);
                codec_writes_hash(b.writes, b.write_count, &bw);
                codec_writes_hash(r.writes, r.write_count, &rw);
                bool same = memcmp(&bh, &rh, 32) == 0 && memcmp(&bw, &rw, 32) == 0 &&
                            b.receipt_count == r.receipt_count;
                for (uint32_t k = 0; same && k < b.receipt_count; k++)
                    same = b.receipts[k].len == r.receipts[k].len &&
                           memcmp(b.receipts[k].data, r.receipts[k].data, b.receipts[k].len) == 0;
                if (!same)
                    violate(h, V_AGREEMENT, "correct nodes %u and %u disagree at height %llu (block, "
                               "receipts or writes)", i, ref, (unsigned long long)ht);
            }
            free(data);
            free(rdata);
        }
        for (uint32_t k = 0; k < h->honest_count; k++)
            if (!seen[k] && !h->honest[k].lost)
                violate(h, V_LOST, "correct node %u never executed honest tx %u (accepted by "
                                   "node %u, which did not crash)", i, k, h->honest[k].node);
    }
    for (uint32_t i = 0; i < N; i++)
        if (s[i].l)
            ledger_close(s[i].l);
    for (uint32_t i = 0; i < h->answered_count; i++)
        if (!signed_validly(h, h->answered[i].data, h->answered[i].len))
            violate(h, V_FORGED_ACCEPTED, "a client was told \"accepted\" for a tx whose signatures do not verify "
                       "(answer %u of %u)", i, h->answered_count);
}

/* ---- a run ---- */

static bool run_seed(harness *h, uint64_t seed)
{
    open_cluster(h, seed);
    for (uint32_t t = 0; t < FAULT_TICKS && !h->violation[0]; t++)
        step(h);
    /* quiet: no more clients, forgeries, loss or crashes; answer what is in flight */
    h->faults = false;
    uint64_t last_change = 0, prev_sum = 0;
    for (uint32_t t = 0; t < QUIET_TICKS && !h->violation[0]; t++) {
        step(h);
        uint64_t sum = 0, lo = UINT64_MAX, hi = 0;
        for (uint32_t i = 0; i < N; i++) {
            if (i == h->byz || h->down[i])
                continue;
            uint64_t ht = node_height(h->nodes[i]);
            sum += ht;
            lo = ht < lo ? ht : lo;
            hi = ht > hi ? ht : hi;
        }
        if (sum != prev_sum)
            prev_sum = sum, last_change = t;
        if (lo == hi && t > last_change + 3000 && h->flight_count == 0)
            break;
    }
    uint64_t heights[N];
    for (uint32_t i = 0; i < N; i++)
        heights[i] = h->nodes[i] ? node_height(h->nodes[i]) : 0;
    for (uint32_t i = 0; i < N; i++)
        if (h->nodes[i]) {
            abandon_submits_at(h, i);
            node_close(h->nodes[i]);
            h->nodes[i] = NULL;
        }
    if (!h->violation[0])
        check_history(h);
    bool ok = !h->violation[0];
    char kinds[256] = "";
    for (int k = 0; k < V_KINDS; k++)
        if (h->violations[k])
            snprintf(kinds + strlen(kinds), sizeof kinds - strlen(kinds), " %s=%u", V_NAMES[k],
                     h->violations[k]);
    if (!ok)
        printf("FAIL seed=%llu byz=%u: %s\n  all:%s\n  replay: %s --from %llu --seeds 1\n  ",
               (unsigned long long)seed, h->byz, h->violation, kinds, program,
               (unsigned long long)seed);
    if (!ok || !quiet)
        printf("%s seed=%llu byz=%u heights=%llu/%llu/%llu/%llu crashes=%u (persist %u send %u "
               "newview %u execute %u) honest accepted=%u forged submitted=%u accepted=%u\n",
               ok ? "ok" : "run",
               (unsigned long long)seed, h->byz, (unsigned long long)heights[0],
               (unsigned long long)heights[1], (unsigned long long)heights[2],
               (unsigned long long)heights[3], h->crashes, h->crash_points[0],
               h->crash_points[1], h->crash_points[2], h->crash_points[3], h->honest_count,
               h->forged_submitted,
               h->forged_accepted);
    close_cluster(h);
    return ok;
}

int main(int argc, char **argv)
{
    uint64_t seeds = 10, from = 1;
    bool expect_violation = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc)
            seeds = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            from = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--expect-violation") == 0)
            expect_violation = true;
        else if (strcmp(argv[i], "--quiet") == 0)
            quiet = true;
        else {
            fprintf(stderr, "usage: node_harness [--seeds N] [--from S] [--expect-violation] "
                            "[--quiet]\n");
            return 2;
        }
    }
    program = argv[0];
    harness *h = calloc(1, sizeof *h);
    if (!h)
        die("out of memory");
    h->scratch = calloc(1, sizeof *h->scratch);
    h->scratch2 = calloc(1, sizeof *h->scratch2);
    h->buf = malloc(8u << 20);
    if (!h->scratch || !h->scratch2 || !h->buf)
        die("out of memory");
    uint64_t failed = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t s = from; s < from + seeds; s++) {
        failed += !run_seed(h, s);
        if (expect_violation && failed)
            break;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%llu failed (%.2f s)\n", (unsigned long long)failed, secs);
    free(h->scratch);
    free(h->scratch2);
    free(h->buf);
    free(h);
    if (expect_violation)
        return failed ? 0 : 1;
    return failed ? 1 : 0;
}
