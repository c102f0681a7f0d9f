/*
 * devserver.c - a TEST-ONLY stand-in for a validator node's client API, so that trialctl's
 * client commands can be tested before (and independently of) the trialnode daemon.
 *
 *   devserver DIR [--data DATADIR] [--url URL] [--tick-ms MS]
 *
 * Loads a consortium written by `trialctl init DIR` (DIR/genesis.bin, every validator key
 * in DIR/keys, the node-0 client URL from DIR/node-0/config.json unless --url), opens a
 * ledger (DATADIR, default DIR/devserver-data) and an executor, and serves the client API
 * (registry/node/client_api.h) on the URL. Each group of txs that arrives together (at most
 * DEV_BATCH_MAX, gathered every --tick-ms, default 2 ms; a longer tick lets a test put
 * several txs in one block) is committed as its own block with
 * exec_commit_local: a commit certificate and a result certificate signed by the first
 * 2f+1 validator keys of DIR/keys, standing in for PBFT. Block time = max(wall clock,
 * previous + 1 ms). A tx already committed or already queued is accepted again without
 * being queued twice. Prints "devserver: serving URL" once it listens; stops cleanly on
 * SIGINT or SIGTERM. DATADIR may hold a ledger already, e.g. one written by `trialctl sample
 * --uncertified N`: BLOCKS then serves its last N blocks without a result certificate, as
 * a node whose checkpoints had not completed would (test_client.sh's export test).
 *
 * Deliberately simple (a test tool): one mutex-protected queue, polled every tick.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>

#include "client_api.h"
#include "config.h"
#include "executor.h"
#include "transport.h"

#define DEV_QUEUE_MAX 4096
#define DEV_BATCH_MAX 256

typedef struct {
    pthread_mutex_t lock;
    uint8_t *txs[DEV_QUEUE_MAX];
    size_t lens[DEV_QUEUE_MAX];
    hash32 ids[DEV_QUEUE_MAX];
    uint32_t count;
    capi *api;
    ledger *l;
} dev_queue;

static volatile sig_atomic_t stopping;
static void on_signal(int sig) { (void)sig; stopping = 1; }

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Queue a copy of one tx (the capi already checked that it decodes). 0 or -1 with why. */
static int submit_one(dev_queue *q, const uint8_t *tx, size_t len, char *why, size_t why_cap)
{
    hash32 id;
    tcrypto_sha256(tx, len, &id);
    uint64_t height;
    uint32_t index;
    capi_exec_lock(q->api);
    bool committed = ledger_find_tx(q->l, &id, &height, &index) == LEDGER_OK;
    capi_exec_unlock(q->api);
    if (committed) return 0;
    int rc = 0;
    pthread_mutex_lock(&q->lock);
    bool queued = false;
    for (uint32_t i = 0; i < q->count && !queued; i++)
        queued = memcmp(q->ids[i].bytes, id.bytes, 32) == 0;
    if (!queued && q->count == DEV_QUEUE_MAX) {
        snprintf(why, why_cap, "the queue is full");
        rc = -1;
    } else if (!queued) {
        uint8_t *copy = malloc(len);
        if (!copy) {
            snprintf(why, why_cap, "out of memory");
            rc = -1;
        } else {
            memcpy(copy, tx, len);
            q->txs[q->count] = copy;
            q->lens[q->count] = len;
            q->ids[q->count++] = id;
        }
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

/* capi_submit_fn */
static void submit(void *ctx, const codec_span *txs, uint32_t count, codec_submit_result *results)
{
    for (uint32_t i = 0; i < count; i++)
        results[i].status = (uint32_t)-submit_one(ctx, txs[i].data, txs[i].len, results[i].reason,
                                                  sizeof results[i].reason);
}

/* Commit what is queued (at most DEV_BATCH_MAX) as one block. Returns 0 or -1. */
static int commit_pending(dev_queue *q, exec *e, const keypair *validators, uint32_t n,
                          uint64_t *last_ms)
{
    static uint8_t *taken[DEV_BATCH_MAX];
    static codec_span spans[DEV_BATCH_MAX];
    pthread_mutex_lock(&q->lock);
    uint32_t k = q->count < DEV_BATCH_MAX ? q->count : DEV_BATCH_MAX;
    for (uint32_t i = 0; i < k; i++) {
        taken[i] = q->txs[i];
        spans[i] = (codec_span){q->txs[i], q->lens[i]};
    }
    /* keep the ids of the taken txs queued until committed: move the rest down after */
    pthread_mutex_unlock(&q->lock);
    if (k == 0) return 0;
    uint64_t t = now_ms();
    if (t <= *last_ms) t = *last_ms + 1;
    ledger_summary s;
    exec_error err;
    capi_exec_lock(q->api);
    exec_err rc = exec_commit_local(e, validators, n, t, spans, k, &s, &err);
    capi_exec_unlock(q->api);
    pthread_mutex_lock(&q->lock);
    memmove(q->txs, q->txs + k, (q->count - k) * sizeof q->txs[0]);
    memmove(q->lens, q->lens + k, (q->count - k) * sizeof q->lens[0]);
    memmove(q->ids, q->ids + k, (q->count - k) * sizeof q->ids[0]);
    q->count -= k;
    pthread_mutex_unlock(&q->lock);
    for (uint32_t i = 0; i < k; i++) free(taken[i]);
    if (rc != EXEC_OK) {
        fprintf(stderr, "devserver: commit failed: %s\n", err.message);
        return -1;
    }
    *last_ms = t;
    return 0;
}

typedef struct {
    const char *dir, *data, *url;
    char data_buf[4200], url_buf[CONFIG_URL_MAX];
    uint8_t *genesis;
    size_t genesis_len;
    keypair validators[CODEC_VALIDATORS_MAX];
    uint32_t n;
    long tick_ms;
} dev_setup;

static int load(dev_setup *d)
{
    char path[4300], why[300];
    snprintf(path, sizeof path, "%s/genesis.bin", d->dir);
    FILE *f = fopen(path, "rb");
    d->genesis = malloc(CODEC_GENESIS_MAX);
    if (!f || !d->genesis) return fprintf(stderr, "devserver: cannot read %s\n", path), -1;
    d->genesis_len = fread(d->genesis, 1, CODEC_GENESIS_MAX, f);
    fclose(f);
    codec_genesis *g = malloc(sizeof *g);
    if (!g || codec_genesis_decode(d->genesis, d->genesis_len, g, NULL) != CODEC_OK) {
        free(g);
        return fprintf(stderr, "devserver: %s does not decode\n", path), -1;
    }
    d->n = g->validator_count;
    free(g);
    for (uint32_t i = 0; i < d->n; i++) {
        snprintf(path, sizeof path, "%s/keys/validator-%u.key", d->dir, i);
        if (tcrypto_read_secret_key(path, &d->validators[i]) != TCRYPTO_OK)
            return fprintf(stderr, "devserver: cannot read %s\n", path), -1;
    }
    if (!d->url) {
        config_node c;
        snprintf(path, sizeof path, "%s/node-0/config.json", d->dir);
        if (config_load(path, &c, why, sizeof why) != 0)
            return fprintf(stderr, "devserver: %s\n", why), -1;
        snprintf(d->url_buf, sizeof d->url_buf, "%s", c.client);
        d->url = d->url_buf;
    }
    if (!d->data) {
        snprintf(d->data_buf, sizeof d->data_buf, "%s/devserver-data", d->dir);
        d->data = d->data_buf;
    }
    return 0;
}

static int serve(dev_setup *d, ledger *l, exec *e)
{
    static dev_queue q;
    pthread_mutex_init(&q.lock, NULL);
    q.l = l;
    capi_config cfg = {.executor = e, .submit = submit, .submit_ctx = &q, .skew_ms = 30000,
                       .blocks_max = CODEC_BLOCKS_REPLY_MAX};
    q.api = capi_open(&cfg);
    tp_server *server = NULL;
    char why[300];
    if (!q.api || tp_server_open(d->url, capi_handle, q.api, 8, CODEC_CLIENT_MESSAGE_MAX, &server,
                                 why, sizeof why) != TP_OK) {
        fprintf(stderr, "devserver: %s\n", q.api ? why : "capi_open failed");
        capi_close(q.api);
        return 1;
    }
    printf("devserver: serving %s\n", d->url);
    fflush(stdout);
    uint64_t last = 0;
    int rc = 0;
    while (!stopping && rc == 0) {
        struct timespec ts = {d->tick_ms / 1000, d->tick_ms % 1000 * 1000000L};
        nanosleep(&ts, NULL);
        rc = commit_pending(&q, e, d->validators, d->n, &last);
    }
    tp_server_close(server);
    capi_close(q.api);
    for (uint32_t i = 0; i < q.count; i++) free(q.txs[i]);
    pthread_mutex_destroy(&q.lock);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    dev_setup d;
    memset(&d, 0, sizeof d);
    d.tick_ms = 2;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) d.data = argv[++i];
        else if (strcmp(argv[i], "--url") == 0 && i + 1 < argc) d.url = argv[++i];
        else if (strcmp(argv[i], "--tick-ms") == 0 && i + 1 < argc) d.tick_ms = atol(argv[++i]);
        else if (argv[i][0] != '-' && !d.dir) d.dir = argv[i];
        else d.dir = NULL, i = argc;
    }
    if (!d.dir || d.tick_ms < 1 || d.tick_ms > 10000)
        return fprintf(stderr,
                       "usage: devserver DIR [--data DATADIR] [--url URL] [--tick-ms MS]\n"),
               2;
    if (tcrypto_init() != TCRYPTO_OK || load(&d) != 0) return free(d.genesis), 3;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    ledger *l = NULL;
    ledger_error lerr;
    exec *e = NULL;
    exec_error eerr;
    int rc = 4;
    if (ledger_open(d.data, d.genesis, d.genesis_len, LEDGER_OPEN_CREATE, &l, &lerr) != LEDGER_OK)
        fprintf(stderr, "devserver: ledger %s: %s\n", d.data, lerr.message);
    else if (exec_open(l, NULL, &e, &eerr) != EXEC_OK)
        fprintf(stderr, "devserver: executor: %s\n", eerr.message);
    else
        rc = serve(&d, l, e);
    exec_close(e);
    if (l) ledger_close(l);
    free(d.genesis);
    return rc;
}
