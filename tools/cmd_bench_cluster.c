/*
 * cmd_bench_cluster.c - `trialctl bench cluster`: four trialnode processes on
 * loopback, closed-loop clients with pre-signed consent grants (2 signatures:
 * the participant and the site's witness) and data anchors (1: the site), and,
 * in the same run, the bound: Ed25519 verifications per second on all cores
 * (the mean of a measurement just before and one just after the load),
 * divided by the 4 validators (each verifies every tx once) and by the mix's
 * average signatures per tx.
 *
 * Closed loop: at most --clients txs are outstanding; a client submits its
 * next tx once the previous one is seen committed. The clients reach node 0
 * through a gateway of SUBMITTERS threads: each sends the txs of every client
 * free at that moment in one SUBMIT_BATCH request (at most CLIENT_BATCH_TXS).
 * Commits are observed by one watcher polling node 0 for the receipts of every
 * outstanding tx (every 5 ms) in one RECEIPTS request, a signed read (issue 19: one
 * signature by the regulator's key, checked once by the node, for up to 256 tx ids);
 * commit latency = the watcher seeing the receipt - the submit. Only txs whose receipt
 * status is OK count as committed.
 *
 * --ab measures what signing the reads costs: each run measures the load twice, each time
 * on a fresh consortium, once with the watcher's RECEIPTS requests sent unsigned (the A
 * side: its nodes are started with bench_unsigned_reads, config.h, which nothing else sets)
 * and once signed (B, nodes as configured by init), the order alternating between runs; it
 * prints both sides' medians and the cost per run (bound: B costs at most 0.02 of the
 * ratio).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_http.h"
#include "trialreg_client.h"
#include "client_api.h"
#include "codec.h"
#include "commands.h"
#include "crypto.h"
#include "transport.h"
#include "world.h"

#define SUBMITTERS 4
/* bench http (--http-ab): the HTTP API's port of node 0 when txs go through HTTP (0: nng) */
static uint16_t g_http_port;
static bool g_no_events; /* bench http --no-events: B submits over HTTP, follows no stream */
#define PARTICIPANTS 256
#define TX_BYTES 1024
/* The txs are signed before the run: valid for 50 minutes (the chain takes at most 60),
 * longer than any run of this bench. */
#define BENCH_VALID_FOR_MS (50u * 60 * 1000)

static const char USAGE[] =
    "usage: trialctl bench cluster [--dir DIR] [--port P] [--txs N] [--clients C] [--runs R]\n"
    "  Starts 4 validators (trialctl init + cluster up in DIR/run-I, default a new\n"
    "  directory under /tmp, ports P.. (default 7900)), sets up a trial with 256 consented\n"
    "  participants, then runs N (default 8000) pre-signed txs, half consent grants and\n"
    "  half data anchors, with C (default 192, at most 256) closed-loop clients. Prints committed tx/s,\n"
    "  p50/p99 commit latency and the bound measured in the same run, per run and as\n"
    "  medians over R runs (default 3). Commits are seen by polling the outstanding txs'\n"
    "  receipts in signed RECEIPTS requests (the regulator's key).\n"
    "       trialctl bench cluster --ab [--dir DIR] [--port P] [--txs N] [--clients C] [--runs R]\n"
    "  Each run measures twice, each on a fresh consortium: receipt polling unsigned (A;\n"
    "  its nodes run with bench_unsigned_reads) and signed (B); prints both sides' medians\n"
    "  and the cost of signed reads in ratio (bound 0.02).\n"
    "       trialctl bench http [--dir DIR] [--port P] [--txs N] [--clients C] [--runs R]\n"
    "       (= bench cluster --http-ab) Each run measures twice, each on a fresh consortium:\n"
    "  the txs submitted through nng (A) and through node 0's HTTP API (B: POST /v1/txs,\n"
    "  JSON batches, one keep-alive connection per submitter), receipts polled the same\n"
    "  way; B also follows /v1/events and times each tx's first event after its commit.\n"
    "  Prints HTTP / nng committed tx/s (target >= 0.9), both p99s and the events' p99.\n"
    "  --no-events: B follows no /v1/events stream (to see what the stream costs).\n"
    "       trialctl bench cluster --existing DIR --url URL [--txs N] [--clients C]\n"
    "  The same workload once against the running consortium of DIR (a fresh trial,\n"
    "  random nonces) through URL; exit 0 only if every tx\n"
    "  committed with an OK receipt (the fault tests use it as load). --start-when FILE:\n"
    "  after the set-up, wait (up to 120 s) until FILE exists before the load starts (a test\n"
    "  stops a node between the two). --acked FILE: append the id (hex) of every tx seen\n"
    "  committed with an OK receipt.\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the workload ------------------------------------------------------------------ */

typedef struct {
    hash32 chain;
    keypair sponsor, regulator, site[2];
    keypair part[PARTICIPANTS];
    uint64_t valid_until; /* of every tx: the txs are signed before the run */
    const char *url;
    char trial[32]; /* BENCH-<time>: a fresh trial per run, so runs can share a chain */
    uint64_t setup_height; /* the highest block of a set-up receipt (printed) */
} workload;

/* Every tx: a random nonce (trialreg_client.h), so runs and other clients sharing the keys never
 * collide and need no order; valid until w->valid_until. */
static size_t sign(workload *w, const keypair *k, const char *contract, const char *method,
                   const codec_value *args, uint32_t nargs, const keypair *witness, uint8_t *out)
{
    const keypair *cos[1] = {witness};
    unsigned meaning[1] = {MEANING_WITNESS};
    return client_sign_tx(k, client_random_nonce(), w->valid_until, &w->chain, contract, method,
                          args, nargs, cos, meaning, witness ? 1 : 0, out, TX_BYTES);
}

/* Read DIR/keys/NAME.key. */
static int read_key(const char *dir, const char *name, keypair *out)
{
    char path[8192];
    snprintf(path, sizeof path, "%.4000s/keys/%.100s.key", dir, name);
    if (tcrypto_read_secret_key(path, out) != TCRYPTO_OK) {
        fprintf(stderr, "bench cluster: cannot read %s\n", path);
        return -1;
    }
    return 0;
}

static size_t consent_tx(workload *w, uint32_t p, uint64_t scopes, uint8_t *out)
{
    static hash32 form;
    form = world_hash("consent form v1");
    codec_value args[] = {world_text(w->trial), world_int(1), world_bytes(form.bytes, 32),
                          world_int((int64_t)scopes)};
    return sign(w, &w->part[p], "consent", "grant", args, 4,
                &w->site[p < PARTICIPANTS / 2 ? 0 : 1], out);
}

static size_t anchor_tx(workload *w, uint32_t p, uint64_t record, uint8_t *out)
{
    hash32 h;
    tcrypto_sha256(&record, sizeof record, &h);
    uint32_t s = p < PARTICIPANTS / 2 ? 0 : 1;
    codec_value args[] = {world_text(w->trial), world_bytes(w->part[p].public_key.bytes, 32),
                          world_int(SCOPE_MAIN), world_int((int64_t)client_now_ms()),
                          world_bytes(h.bytes, 32), world_int(4096)};
    return sign(w, &w->site[s], "data", "anchor", args, 6, NULL, out);
}

/* Run one step (txs independent of each other) and require every receipt OK. */
static int step(workload *w, const char *what, uint8_t (*bufs)[TX_BYTES], const size_t *lens,
                uint32_t n)
{
    codec_span *spans = calloc(n, sizeof *spans);
    client_result *res = calloc(n, sizeof *res);
    int rc = spans && res ? 0 : -1;
    for (uint32_t i = 0; i < n && rc == 0; i++)
        spans[i] = (codec_span){bufs[i], lens[i]};
    client_options opt = {w->url, 4, 30000, &w->regulator, &w->chain}; /* reads every receipt */
    if (rc == 0)
        client_run(&opt, spans, n, res);
    for (uint32_t i = 0; i < n && res; i++) {
        if (rc == 0 && res[i].state != CLIENT_TX_DONE) {
            fprintf(stderr, "bench cluster: set-up %s: %s\n", what, res[i].reason);
            rc = -1;
        } else if (rc == 0 && res[i].receipt.status != RECEIPT_OK) {
            fprintf(stderr, "bench cluster: set-up %s refused: %s\n", what, res[i].receipt.reason);
            rc = -1;
        } else if (rc == 0 && res[i].rr.height > w->setup_height) {
            w->setup_height = res[i].rr.height;
        }
        client_result_free(&res[i]);
    }
    if (rc != 0)
        fprintf(stderr, "bench cluster: set-up step '%s' failed\n", what);
    free(spans);
    free(res);
    return rc;
}

/* Register, approve, activate both sites, enrol and consent every participant. */
static int set_up(workload *w)
{
    static uint8_t bufs[PARTICIPANTS][TX_BYTES];
    static size_t lens[PARTICIPANTS];
    static hash32 doc, p1, form;
    doc = world_hash("bench protocol");
    p1 = world_hash("bench primary outcome");
    form = world_hash("consent form v1");
    static const uint8_t sites[] = "\x06site-a\x06site-b";
    codec_value reg[] = {world_text(w->trial), world_bytes(doc.bytes, 32), world_bytes(p1.bytes, 32),
                         world_bytes("", 0), world_int(100000),
                         world_bytes(sites, sizeof sites - 1), world_bytes(form.bytes, 32)};
    lens[0] = sign(w, &w->sponsor, "protocol", "register", reg, 7, NULL, bufs[0]);
    if (step(w, "register", bufs, lens, 1) != 0)
        return -1;
    codec_value ap[] = {world_text(w->trial), world_int(1)};
    lens[0] = sign(w, &w->regulator, "protocol", "approve", ap, 2, NULL, bufs[0]);
    if (step(w, "approve", bufs, lens, 1) != 0)
        return -1;
    codec_value a1[] = {world_text(w->trial), world_text("site-a")};
    codec_value a2[] = {world_text(w->trial), world_text("site-b")};
    lens[0] = sign(w, &w->sponsor, "protocol", "activate", a1, 2, NULL, bufs[0]);
    lens[1] = sign(w, &w->sponsor, "protocol", "activate", a2, 2, NULL, bufs[1]);
    if (step(w, "activate", bufs, lens, 2) != 0)
        return -1;
    /* enrol: every participant in one step (random nonces: no window to respect) */
    for (uint32_t p = 0; p < PARTICIPANTS; p++) {
        codec_value en[] = {world_text(w->trial), world_bytes(w->part[p].public_key.bytes, 32)};
        lens[p] = sign(w, &w->site[p < PARTICIPANTS / 2 ? 0 : 1], "consent", "enrol", en, 2,
                       NULL, bufs[p]);
    }
    if (step(w, "enrol", bufs, lens, PARTICIPANTS) != 0)
        return -1;
    for (uint32_t p = 0; p < PARTICIPANTS; p++)
        lens[p] = consent_tx(w, p, SCOPE_MAIN | SCOPE_FOLLOW_UP, bufs[p]);
    return step(w, "consent", bufs, lens, PARTICIPANTS);
}

/* ---- the measured phase --------------------------------------------------------------- */

typedef struct {
    workload *w;
    uint32_t n, clients;
    uint8_t (*txs)[TX_BYTES];
    size_t *lens;
    hash32 *ids;
    double *submitted, *committed;
    bool *ok;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    uint32_t next, outstanding, done, refused;
    uint32_t polls; /* RECEIPTS requests the watcher sent (each one signature check, on B) */
    bool stop;
    bool unsigned_polling; /* the A side of --ab: RECEIPTS requests sent without a signature */
    double *event_at;      /* bench http: when each tx's first event arrived on /v1/events */
    char first_refusal[CODEC_REASON_MAX + 32];
} run_state;

/* Mark the txs first..first+count-1 that the node did not accept as refused. */
static void refuse_range(run_state *r, uint32_t first, uint32_t count, const bool *accepted,
                         const codec_submit_result *res)
{
    pthread_mutex_lock(&r->lock);
    for (uint32_t k = 0; k < count; k++) {
        if (accepted && accepted[k])
            continue;
        r->refused++;
        r->outstanding--;
        r->committed[first + k] = -1; /* settled: it will not commit */
        if (!r->first_refusal[0])
            snprintf(r->first_refusal, sizeof r->first_refusal, "tx %u not accepted: %s",
                     first + k, res ? res[k].reason : "no answer from the node");
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->lock);
}

/* A gateway thread: whenever clients are free, submit their next txs together in one
 * SUBMIT_BATCH request (each tx is still one client's: it waits for its own commit). */
static void *submitter(void *arg)
{
    run_state *r = arg;
    tp_client *c = NULL;
    int http_fd = -1;
    char why[256];
    if (!g_http_port && client_open(r->w->url, &c, why, sizeof why) != 0)
        return NULL;
    static _Thread_local codec_span spans[CLIENT_BATCH_TXS];
    static _Thread_local codec_submit_result res[CLIENT_BATCH_TXS];
    static _Thread_local bool accepted[CLIENT_BATCH_TXS];
    static _Thread_local uint8_t body[CLIENT_BATCH_TXS * (TX_BYTES + 8) + 16];
    static _Thread_local uint8_t req[sizeof body + 64];
    for (;;) {
        pthread_mutex_lock(&r->lock);
        while (!r->stop && r->next < r->n && r->outstanding >= r->clients)
            pthread_cond_wait(&r->cv, &r->lock);
        if (r->stop || r->next >= r->n) {
            pthread_mutex_unlock(&r->lock);
            break;
        }
        uint32_t first = r->next, count = 0;
        while (count < CLIENT_BATCH_TXS && r->outstanding + count < r->clients &&
               first + count < r->n)
            count++;
        r->next += count;
        r->outstanding += count;
        double t = now_s();
        for (uint32_t k = 0; k < count; k++)
            r->submitted[first + k] = t;
        pthread_mutex_unlock(&r->lock);
        for (uint32_t k = 0; k < count; k++)
            spans[k] = (codec_span){r->txs[first + k], r->lens[first + k]};
        if (g_http_port) { /* bench http: the same batch as JSON over a keep-alive connection */
            bool sent = bench_http_submit(&http_fd, g_http_port, spans, count, accepted, why,
                                          sizeof why);
            bool all = sent;
            for (uint32_t k = 0; sent && k < count; k++)
                all &= accepted[k];
            if (!all)
                refuse_range(r, first, count, sent ? accepted : NULL, NULL);
            continue;
        }
        codec_buf bb = codec_buf_make(body, sizeof body), rb = codec_buf_make(req, sizeof req);
        uint8_t *reply = NULL;
        size_t reply_len = 0;
        codec_client_response resp;
        uint32_t got = 0;
        bool ok = codec_submit_batch_encode(spans, count, &bb) == CODEC_OK &&
                  codec_client_request_encode(CLIENT_SUBMIT_BATCH, bb.data, bb.len, &rb) ==
                      CODEC_OK &&
                  tp_client_request(c, rb.data, rb.len, 10000, &reply, &reply_len) == TP_OK &&
                  codec_client_response_decode(reply, reply_len, &resp, NULL) == CODEC_OK &&
                  resp.status == CAPI_OK &&
                  codec_submit_results_decode(resp.body.data, resp.body.len, res,
                                              CLIENT_BATCH_TXS, &got, NULL) == CODEC_OK &&
                  got == count;
        for (uint32_t k = 0; k < count; k++)
            accepted[k] = ok && res[k].status == CAPI_OK;
        if (reply)
            tp_free(reply, reply_len);
        bool all = true;
        for (uint32_t k = 0; k < count; k++)
            all &= accepted[k];
        if (!all)
            refuse_range(r, first, count, accepted, ok ? res : NULL);
    }
    if (c)
        tp_client_close(c);
    if (http_fd >= 0)
        close(http_fd);
    return NULL;
}

/* The outstanding txs (handed to a submitter, not settled): at most
 * CODEC_RECEIPTS_BATCH_MAX (--clients is at most 256), their indexes and ids. */
static uint32_t outstanding_txs(run_state *r, uint32_t *idx, hash32 *ids)
{
    uint32_t k = 0;
    pthread_mutex_lock(&r->lock);
    for (uint32_t i = 0; i < r->next && k < CODEC_RECEIPTS_BATCH_MAX; i++) {
        if (r->committed[i] != 0)
            continue;
        idx[k] = i;
        ids[k++] = r->ids[i];
    }
    pthread_mutex_unlock(&r->lock);
    return k;
}

/* The receipts the node found: mark those txs committed at t. */
static void mark_receipts(run_state *r, const uint32_t *idx, const codec_receipts_entry *e,
                          uint32_t count, double t)
{
    static codec_receipt_reply rr;
    static codec_receipt rc;
    pthread_mutex_lock(&r->lock);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t k = idx[i];
        if (e[i].status != CAPI_OK || r->committed[k] != 0)
            continue;
        bool decoded = codec_receipt_reply_decode(e[i].reply.data, e[i].reply.len, &rr, NULL) ==
                           CODEC_OK &&
                       codec_receipt_decode(rr.receipt.data, rr.receipt.len, &rc, NULL) == CODEC_OK;
        r->ok[k] = decoded && rc.status == RECEIPT_OK;
        if (!r->ok[k] && !r->first_refusal[0])
            snprintf(r->first_refusal, sizeof r->first_refusal, "tx %u: %s", k,
                     decoded ? rc.reason : "its receipt does not decode");
        r->committed[k] = t;
        r->done++;
        r->outstanding--;
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->lock);
}

/* The watcher's polling period. Each RECEIPTS request reads node 0's store under the lock
 * its execution takes, so polling back to back slows the node it watches. A commit is seen
 * up to 5 ms after it happened: latencies are overstated by 2.5 ms on average. */
#define WATCH_EVERY_MS 5

/* One RECEIPTS request for the outstanding txs idx/ids[0..count): signed by the regulator
 * (or bare, on the A side of --ab). Returns the number of answers in e (0 on failure; a
 * refusal of the whole request is kept as the run's first refusal). */
static uint32_t ask_receipts(run_state *r, tp_client *c, const hash32 *ids, uint32_t count,
                             codec_receipts_entry *e, uint8_t **reply, size_t *reply_len)
{
    static uint8_t body[CODEC_READ_BODY_MAX], sreq[CODEC_READ_BODY_MAX + 160],
        req[CODEC_READ_BODY_MAX + 256];
    codec_buf bb = codec_buf_make(body, sizeof body), rb = codec_buf_make(req, sizeof req);
    if (codec_receipts_request_encode(ids, count, &bb) != CODEC_OK)
        return 0;
    size_t len = bb.len;
    if (r->unsigned_polling)
        memcpy(sreq, bb.data, bb.len);
    else
        len = client_signed_read(&r->w->regulator, &r->w->chain, client_now_ms(),
                                 CLIENT_RECEIPTS, bb.data, bb.len, sreq, sizeof sreq);
    codec_client_response resp;
    uint32_t got = 0;
    if (len == 0 || codec_client_request_encode(CLIENT_RECEIPTS, sreq, len, &rb) != CODEC_OK ||
        tp_client_request(c, rb.data, rb.len, 10000, reply, reply_len) != TP_OK ||
        codec_client_response_decode(*reply, *reply_len, &resp, NULL) != CODEC_OK)
        return 0;
    if (resp.status != CAPI_OK) {
        pthread_mutex_lock(&r->lock);
        if (!r->first_refusal[0])
            snprintf(r->first_refusal, sizeof r->first_refusal, "receipts refused (%u): %.120s",
                     resp.status, resp.reason);
        pthread_mutex_unlock(&r->lock);
        return 0;
    }
    if (codec_receipts_reply_decode(resp.body.data, resp.body.len, e, CODEC_RECEIPTS_BATCH_MAX,
                                    &got, NULL) != CODEC_OK || got != count)
        return 0;
    return got;
}

static void *watcher(void *arg)
{
    run_state *r = arg;
    tp_client *c = NULL;
    char why[256];
    if (client_open(r->w->url, &c, why, sizeof why) != 0)
        return NULL;
    static uint32_t idx[CODEC_RECEIPTS_BATCH_MAX];
    static hash32 ids[CODEC_RECEIPTS_BATCH_MAX];
    static codec_receipts_entry e[CODEC_RECEIPTS_BATCH_MAX];
    for (;;) {
        pthread_mutex_lock(&r->lock);
        bool stop = r->stop || r->done + r->refused >= r->n;
        pthread_mutex_unlock(&r->lock);
        if (stop)
            break;
        uint32_t count = outstanding_txs(r, idx, ids);
        uint8_t *reply = NULL;
        size_t reply_len = 0;
        r->polls += count > 0; /* read by measure() after the join */
        if (count > 0 && ask_receipts(r, c, ids, count, e, &reply, &reply_len) == count)
            mark_receipts(r, idx, e, count, now_s());
        if (reply)
            tp_free(reply, reply_len);
        struct timespec ts = {0, WATCH_EVERY_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    tp_client_close(c);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    double tps, p50_ms, p99_ms, max_ms, bound, ratio;
    uint32_t ok, failed, refused;
    double events_p99_ms;  /* bench http: /v1/events delivery after commit, p99 */
    uint32_t events;       /* ... over this many txs */
} run_figures;

/* --start-when: the load waits for this file (tests act between set-up and load). */
static const char *g_start_when;
/* --acked: the ids of the txs seen committed with an OK receipt are appended here (hex,
 * one a line): what the clients were told, for a test to look for in every ledger. */
static const char *g_acked;

static void write_acked(const run_state *r)
{
    if (!g_acked)
        return;
    FILE *f = fopen(g_acked, "a");
    if (!f) {
        fprintf(stderr, "bench cluster: %s: %s\n", g_acked, strerror(errno));
        return;
    }
    for (uint32_t i = 0; i < r->n; i++) {
        if (r->committed[i] <= 0 || !r->ok[i])
            continue;
        char hex[65];
        tcrypto_to_hex(r->ids[i].bytes, 32, hex);
        fprintf(f, "%s\n", hex);
    }
    fclose(f);
}

static int wait_for_start(void)
{
    if (!g_start_when)
        return 0;
    for (int i = 0; i < 120 * 200; i++) {
        if (access(g_start_when, F_OK) == 0)
            return 0;
        usleep(5000);
    }
    fprintf(stderr, "bench cluster: %s did not appear within 120 s\n", g_start_when);
    return -1;
}

static void run_state_free(run_state *r)
{
    free(r->txs);
    free(r->lens);
    free(r->ids);
    free(r->submitted);
    free(r->committed);
    free(r->ok);
    free(r->event_at);
}

static int measure(workload *w, uint32_t n, uint32_t clients, bool unsigned_polling,
                   run_figures *out)
{
    run_state r = {.w = w, .n = n, .clients = clients, .unsigned_polling = unsigned_polling};
    r.txs = malloc((size_t)n * TX_BYTES);
    r.lens = calloc(n, sizeof *r.lens);
    r.ids = calloc(n, sizeof *r.ids);
    r.submitted = calloc(n, sizeof(double));
    r.committed = calloc(n, sizeof(double));
    r.ok = calloc(n, sizeof(bool));
    if (!r.txs || !r.lens || !r.ids || !r.submitted || !r.committed || !r.ok) {
        run_state_free(&r);
        return -1;
    }
    uint32_t sigs = 0;
    for (uint32_t i = 0; i < n; i++) {
        /* consents cycle through the participants; anchors alternate between the two
         * sites */
        uint32_t p = (i / 2) % PARTICIPANTS;
        if (i % 2 == 1)
            p = (i / 2) % 2 * (PARTICIPANTS / 2) + (i / 4) % (PARTICIPANTS / 2);
        if (i % 2 == 0) {
            r.lens[i] = consent_tx(w, p, i % 4 == 0 ? SCOPE_MAIN : SCOPE_MAIN | SCOPE_FOLLOW_UP,
                                   r.txs[i]);
            sigs += 2;
        } else {
            r.lens[i] = anchor_tx(w, p, ((uint64_t)client_now_ms() << 20) + i, r.txs[i]);
            sigs += 1;
        }
        tcrypto_sha256(r.txs[i], r.lens[i], &r.ids[i]);
    }
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.cv, NULL);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = cores > 0 ? (unsigned)cores : 1;
    /* every core, the cluster idle; with --start-when the load starts as soon as the file
     * appears (a test acts on the cluster just before): the bound then uses the sample after
     * the load only, and two seconds of every core busy do not delay or disturb the nodes */
    double rate_before = g_start_when ? 0 : util_verify_rate(threads, 2.0);
    if (wait_for_start() != 0) {
        run_state_free(&r);
        return -1;
    }
    bench_events *events = NULL;
    if (g_http_port && !g_no_events && (r.event_at = calloc(n, sizeof(double))))
        events = bench_events_start(g_http_port, &w->regulator, &w->chain, w->setup_height + 1,
                                    r.ids, n, r.event_at);
    if (g_http_port && !g_no_events && !events)
        fprintf(stderr, "bench http: cannot follow /v1/events\n");
    pthread_t sub[SUBMITTERS], wat;
    double t0 = now_s();
    pthread_create(&wat, NULL, watcher, &r);
    for (int i = 0; i < SUBMITTERS; i++)
        pthread_create(&sub[i], NULL, submitter, &r);
    for (;;) {
        pthread_mutex_lock(&r.lock);
        bool finished = r.done + r.refused >= n;
        if (!finished && now_s() > t0 + 120) {
            r.stop = true;
            pthread_cond_broadcast(&r.cv);
            finished = true;
        }
        pthread_mutex_unlock(&r.lock);
        if (finished)
            break;
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&r.lock);
    r.stop = true;
    pthread_cond_broadcast(&r.cv);
    pthread_mutex_unlock(&r.lock);
    for (int i = 0; i < SUBMITTERS; i++)
        pthread_join(sub[i], NULL);
    pthread_join(wat, NULL);
    if (events) { /* the stream's last events arrive a block's certificate after its commit */
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
        bench_events_stop(events);
        double *d = calloc(n, sizeof *d);
        uint32_t m = 0;
        for (uint32_t i = 0; d && i < n; i++)
            if (r.committed[i] > 0 && r.event_at[i] > 0)
                d[m++] = (r.event_at[i] - r.committed[i]) * 1000;
        if (m > 0) {
            qsort(d, m, sizeof *d, cmp_double);
            out->events_p99_ms = d[(m * 99) / 100 < m ? (m * 99) / 100 : m - 1];
        }
        out->events = m;
        printf("  /v1/events: %u of %u txs' events arrived, p99 %.1f ms after the watcher saw the "
               "commit\n", m, n, out->events_p99_ms);
        free(d);
    }
    write_acked(&r);
    double *lat = calloc(n, sizeof *lat), last = t0;
    uint32_t ok = 0, failed = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (r.committed[i] > 0 && r.ok[i]) {
            lat[ok++] = (r.committed[i] - r.submitted[i]) * 1000;
            if (r.committed[i] > last)
                last = r.committed[i];
        } else if (r.committed[i] > 0) {
            failed++;
        }
    }
    qsort(lat, ok, sizeof *lat, cmp_double);
    if (r.first_refusal[0])
        printf("  first refusal: %s\n", r.first_refusal);
    /* the machine's rate around the run: a shared machine's speed drifts by 10-20 %
     * between seconds, so one sample before and one after the load, averaged */
    double rate_after = util_verify_rate(threads, 2.0);
    double rate = rate_before > 0 ? (rate_before + rate_after) / 2 : rate_after;
    out->ok = ok;
    out->failed = failed;
    out->refused = r.refused;
    out->tps = ok / (last - t0);
    out->p50_ms = ok ? lat[ok / 2] : 0;
    out->p99_ms = ok ? lat[(ok * 99) / 100 < ok ? (ok * 99) / 100 : ok - 1] : 0;
    out->max_ms = ok ? lat[ok - 1] : 0;
    out->bound = rate / 4.0 / ((double)sigs / n);
    out->ratio = out->tps / out->bound;
    printf("  watcher: %u RECEIPTS requests, %.0f/s, %s\n", r.polls, r.polls / (last - t0),
           r.unsigned_polling ? "unsigned" : "each signed once and checked once by node 0");
    printf("  verify %.0f/s on all cores (before the load %.0f, after %.0f), %.2f signatures "
           "per tx -> bound %.0f tx/s\n", rate, rate_before, rate_after, (double)sigs / n,
           out->bound);
    free(lat);
    run_state_free(&r);
    return 0;
}

/* ---- one run: consortium up, set-up, measure, down ------------------------------------ */

/* Set up and measure against the running consortium of dir at url, polling receipts
 * unsigned if unsigned_polling (the A side of --ab). */
static int run_workload(const char *dir, const char *url, uint32_t n, uint32_t clients,
                        bool unsigned_polling, run_figures *f)
{
    static workload w;
    memset(&w, 0, sizeof w);
    w.url = url;
    snprintf(w.trial, sizeof w.trial, "BENCH-%llu", (unsigned long long)client_now_ms());
    w.valid_until = client_now_ms() + BENCH_VALID_FOR_MS;
    char path[8192];
    snprintf(path, sizeof path, "%.4000s/genesis.bin", dir);
    uint8_t *g = NULL;
    size_t gl = 0;
    int rc = util_read_file(path, CODEC_GENESIS_MAX, &g, &gl);
    if (rc == 0) {
        tcrypto_sha256(g, gl, &w.chain);
        free(g);
        rc = read_key(dir, "sponsor", &w.sponsor) | read_key(dir, "regulator", &w.regulator) |
             read_key(dir, "investigator-site-a", &w.site[0]) |
             read_key(dir, "investigator-site-b", &w.site[1]);
    }
    for (uint32_t p = 0; p < PARTICIPANTS && rc == 0; p++) {
        uint8_t seed[32];
        tcrypto_sha256_state st;
        tcrypto_sha256_init(&st);
        tcrypto_sha256_update(&st, w.trial, strlen(w.trial));
        tcrypto_sha256_update(&st, &p, sizeof p);
        tcrypto_sha256_final(&st, (hash32 *)seed);
        tcrypto_keypair_from_seed(seed, &w.part[p]);
    }
    double t = now_s();
    if (rc == 0)
        rc = set_up(&w);
    if (rc == 0) {
        printf("  set-up (trial, %d participants enrolled and consented) in %.1f s, up to "
               "height %llu; commits are seen by polling the receipts of the run's own txs "
               "(no block is read)\n", PARTICIPANTS, now_s() - t,
               (unsigned long long)w.setup_height);
        fflush(stdout);
        rc = measure(&w, n, clients, unsigned_polling, f);
    }
    return rc;
}

/* The nodes of the run in progress, stopped if the bench is interrupted (Ctrl-C, kill), so
 * that they do not outlive it and hold the ports the next bench needs. */
static volatile sig_atomic_t g_node_count;
static pid_t g_nodes[4];

static void stop_nodes_and_die(int sig)
{
    for (sig_atomic_t i = 0; i < g_node_count; i++)
        kill(g_nodes[i], SIGTERM);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void watch_nodes(const char *dir)
{
    g_node_count = 0;
    for (uint32_t i = 0; i < 4; i++) {
        long pid = cluster_node_pid(dir, i);
        if (pid > 0)
            g_nodes[g_node_count++] = (pid_t)pid;
    }
}

/* --ab: the nodes answer unsigned receipt reads too (config.h bench_unsigned_reads), so
 * that the A side can poll without signing. The key goes in before the config's last '}'. */
static int allow_unsigned_reads(const char *dir)
{
    for (uint32_t i = 0; i < 4; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%.4000s/node-%u/config.json", dir, i);
        uint8_t *text = NULL;
        size_t len = 0;
        if (util_read_file(path, 1u << 20, &text, &len) != 0)
            return -1;
        size_t end = len;
        while (end > 0 && text[end - 1] != '}')
            end--;
        FILE *f = end > 0 ? fopen(path, "w") : NULL;
        int rc = f && fprintf(f, "%.*s,\n  \"bench_unsigned_reads\": true\n}\n", (int)(end - 1),
                              (const char *)text) > 0 ? 0 : -1;
        if (f && fclose(f) != 0)
            rc = -1;
        free(text);
        if (rc != 0)
            return fprintf(stderr, "bench cluster: cannot rewrite %s\n", path), -1;
    }
    return 0;
}

static int one_run(const char *dir, unsigned port, uint32_t n, uint32_t clients,
                   bool unsigned_polling, bool http, run_figures *f)
{
    char ports[16], url[64];
    snprintf(ports, sizeof ports, "%u", port);
    char *init_argv[] = {"init", "--validators", "4", "--base-port", ports, (char *)dir, NULL};
    if (cmd_init(6, init_argv) != TC_EXIT_OK)
        return -1;
    if (unsigned_polling && allow_unsigned_reads(dir) != 0)
        return -1;
    char *up[] = {"cluster", "up", (char *)dir, NULL};
    char *down[] = {"cluster", "down", (char *)dir, NULL};
    int up_rc = cmd_cluster(3, up);
    watch_nodes(dir); /* the ones that started, even if another did not */
    if (up_rc != TC_EXIT_OK) {
        cmd_cluster(3, down);
        g_node_count = 0;
        return -1;
    }
    snprintf(url, sizeof url, "tcp://127.0.0.1:%u", port + 100);
    g_http_port = http ? (uint16_t)(port + 164) : 0; /* node 0's HTTP API (trialctl init) */
    int rc = run_workload(dir, url, n, clients, unsigned_polling, f);
    g_http_port = 0;
    cmd_cluster(3, down);
    g_node_count = 0;
    return rc;
}

static void print_run(const run_figures *f)
{
    printf("  committed %u ok (%u refused by contracts, %u not accepted): %.0f tx/s, "
           "p50 %.1f ms, p99 %.1f ms, max %.1f ms; bound %.0f tx/s, ratio %.2f\n",
           f->ok, f->failed, f->refused, f->tps, f->p50_ms, f->p99_ms, f->max_ms, f->bound,
           f->ratio);
}

int cmd_bench_cluster(int argc, char **argv)
{
    const char *dir = NULL, *existing = NULL, *url = NULL;
    uint64_t port = 7900, n = 8000, clients = 192, runs = 3;
    bool ab = false, http_ab = false;
    for (int i = 1; i < argc; i += 2) { /* --OPTION VALUE pairs, and the flags --ab, --http-ab */
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (strcmp(argv[i], "--no-events") == 0) {
            g_no_events = true;
            i--;
            continue;
        }
        if (strcmp(argv[i], "--ab") == 0 || strcmp(argv[i], "--http-ab") == 0) {
            ab = true;
            http_ab = strcmp(argv[i], "--http-ab") == 0;
            i--;
            continue;
        }
        if (strcmp(argv[i], "--help") == 0) {
            fputs(USAGE, stdout);
            return TC_EXIT_OK;
        } else if (v && strcmp(argv[i], "--dir") == 0) {
            dir = v;
        } else if (v && strcmp(argv[i], "--existing") == 0) {
            existing = v;
        } else if (v && strcmp(argv[i], "--url") == 0) {
            url = v;
        } else if (v && strcmp(argv[i], "--start-when") == 0) {
            g_start_when = v;
        } else if (v && strcmp(argv[i], "--acked") == 0) {
            g_acked = v;
        } else if (v && strcmp(argv[i], "--port") == 0) {
            bad = util_parse_u64("--port", v, 1024, 60000, &port);
        } else if (v && strcmp(argv[i], "--txs") == 0) {
            bad = util_parse_u64("--txs", v, 100, 1000000, &n);
        } else if (v && strcmp(argv[i], "--clients") == 0) {
            bad = util_parse_u64("--clients", v, 1, 256, &clients);
        } else if (v && strcmp(argv[i], "--runs") == 0) {
            bad = util_parse_u64("--runs", v, 1, 15, &runs);
        } else {
            fputs(USAGE, stderr);
            return TC_EXIT_USAGE;
        }
        if (bad)
            return TC_EXIT_USAGE;
    }
    if (existing || url) {
        /* load for the fault tests: one pass against a running consortium; exit 0 only
         * if every tx committed with an OK receipt */
        if (!existing || !url || ab) {
            fputs(USAGE, stderr);
            return TC_EXIT_USAGE;
        }
        if (util_check_url("--url", url) != 0)
            return TC_EXIT_USAGE;
        char genesis[4200];
        snprintf(genesis, sizeof genesis, "%.4000s/genesis.bin", existing);
        if (access(genesis, R_OK) != 0) {
            fprintf(stderr, "bench cluster: --existing %s: cannot read %s: %s (a directory made "
                    "by trialctl init)\n", existing, genesis, strerror(errno));
            return TC_EXIT_INPUT;
        }
        run_figures f;
        if (run_workload(existing, url, (uint32_t)n, (uint32_t)clients, false, &f) != 0)
            return TC_EXIT_FAIL;
        print_run(&f);
        return f.ok == n ? TC_EXIT_OK : TC_EXIT_FAIL;
    }
    char tmp[] = "/tmp/trialreg-bench-XXXXXX";
    if (dir && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "bench cluster: %s: %s\n", dir, strerror(errno));
        return TC_EXIT_INPUT;
    }
    if (!dir && !(dir = mkdtemp(tmp))) {
        perror("bench cluster: mkdtemp");
        return TC_EXIT_INTERNAL;
    }
    static run_figures f[15][2];
    const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof stop_signals / sizeof *stop_signals; i++) {
        struct sigaction sa = {.sa_handler = stop_nodes_and_die}, old;
        sigemptyset(&sa.sa_mask);
        sigaction(stop_signals[i], NULL, &old);
        if (old.sa_handler != SIG_IGN) /* ignored: a background job of a script, keep it so */
            sigaction(stop_signals[i], &sa, NULL);
    }
    printf("bench cluster: 4 validators on loopback, %llu txs (consent grants and data anchors),"
           " %llu closed-loop clients, %llu runs%s\n", (unsigned long long)n,
           (unsigned long long)clients, (unsigned long long)runs,
           http_ab ? ", each measured with txs submitted through nng (A) and through the HTTP "
                     "API (B: JSON batches, keep-alive)"
           : ab    ? ", each measured with unsigned (A) and signed (B) receipt polling" : "");
    uint32_t sides = ab ? 2 : 1;
    for (uint64_t r = 0; r < runs; r++) {
        char run_dir[8192];
        snprintf(run_dir, sizeof run_dir, "%.4000s/run-%llu", dir, (unsigned long long)r);
        printf("run %llu (%s)\n", (unsigned long long)r + 1, run_dir);
        /* --ab: each side on its own fresh consortium (a second measurement on one
         * consortium runs on a longer ledger and was seen slower whatever it polled), A first
         * in even runs, B first in odd ones. f[r][0]: A (or the only side), [1]: B. */
        for (uint32_t k = 0; k < sides; k++) {
            uint32_t side = !ab ? 0 : (r % 2 == 0) == (k == 0) ? 0 : 1;
            char side_dir[8300];
            snprintf(side_dir, sizeof side_dir, "%s%s", run_dir, !ab ? "" : side == 0 ? "-A" : "-B");
            if (http_ab)
                printf("  side %s: txs submitted through %s\n", side == 0 ? "A" : "B",
                       side == 0 ? "nng (the client API)" : "HTTP (POST /v1/txs)");
            else if (ab)
                printf("  side %s: receipt polling %s\n", side == 0 ? "A" : "B",
                       side == 0 ? "unsigned" : "signed (the regulator's key)");
            fflush(stdout);
            if (one_run(side_dir, (unsigned)(port + r * 10 + k * 5), (uint32_t)n,
                        (uint32_t)clients, ab && !http_ab && side == 0, http_ab && side == 1,
                        &f[r][side]) != 0)
                return TC_EXIT_FAIL;
            if (ab)
                printf("  side %s:", side == 0 ? "A" : "B");
            print_run(&f[r][side]);
        }
    }
    double medians[2][5];
    for (uint32_t side = 0; side < sides; side++) {
        double v[5][15];
        for (uint64_t r = 0; r < runs; r++) {
            v[0][r] = f[r][side].tps;
            v[1][r] = f[r][side].p50_ms;
            v[2][r] = f[r][side].p99_ms;
            v[3][r] = f[r][side].bound;
            v[4][r] = f[r][side].ratio;
        }
        for (int k = 0; k < 5; k++) {
            qsort(v[k], runs, sizeof(double), cmp_double);
            medians[side][k] = v[k][runs / 2];
        }
        printf("median%s: %.0f committed tx/s, p50 %.1f ms, p99 %.1f ms | bound %.0f tx/s | "
               "ratio %.3f (target >= 0.50 with p99 < 200 ms)\n",
               !ab ? "" : http_ab ? (side == 0 ? " A (nng)" : " B (HTTP)")
               : side == 0 ? " A (unsigned polling)" : " B (signed polling)",
               medians[side][0], medians[side][1], medians[side][2], medians[side][3],
               medians[side][4]);
    }
    if (http_ab) {
        double ratio[15], ev[15];
        printf("HTTP / nng committed tx/s per run:");
        for (uint64_t r = 0; r < runs; r++) {
            ratio[r] = f[r][1].tps / f[r][0].tps;
            ev[r] = f[r][1].events_p99_ms;
            printf(" %.3f", ratio[r]);
        }
        qsort(ratio, runs, sizeof(double), cmp_double);
        qsort(ev, runs, sizeof(double), cmp_double);
        printf("\nHTTP / nng: %.3f (median of the runs; target >= 0.90): %s; p99 %.1f ms (nng) "
               "vs %.1f ms (HTTP); /v1/events delivery after commit, p99 %.1f ms (median)\n",
               ratio[runs / 2], ratio[runs / 2] >= 0.9 ? "within" : "BELOW", medians[0][2],
               medians[1][2], ev[runs / 2]);
    } else if (ab) {
        /* per run, both sides against one bound (the mean of the two sides' samples: the
         * machine's speed drifts between the samples, and each side's own sample would add
         * that drift to the difference); then the median over the runs */
        double cost[15];
        printf("cost per run (A tx/s - B tx/s) / the run's mean bound:");
        for (uint64_t r = 0; r < runs; r++) {
            double bound = (f[r][0].bound + f[r][1].bound) / 2;
            cost[r] = (f[r][0].tps - f[r][1].tps) / bound;
            printf(" %.3f", cost[r]);
        }
        qsort(cost, runs, sizeof(double), cmp_double);
        printf("\nsigned reads cost %.3f of the ratio (median of the runs; the side medians' "
               "ratios differ by %.3f; bound <= 0.02): %s\n", cost[runs / 2],
               medians[0][4] - medians[1][4], cost[runs / 2] <= 0.02 ? "within" : "OVER");
    }
    return TC_EXIT_OK;
}
