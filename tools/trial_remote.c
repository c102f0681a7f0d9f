/*
 * trial_remote.c - `trialctl example-trial --url URL --consortium DIR`: the example trial
 * (examples/trial/scenario.c, unchanged in its steps) against a running consortium made by
 * `trialctl init DIR`, through a remote world backend (world.h world_backend).
 *
 * Keys: the authorities' keys of DIR/keys (sponsor, investigator-site-a, -site-b,
 * regulator, researcher), so the example and the event commands can share a consortium;
 * the participants' keys are derived client-side from the chain id (fresh per consortium).
 * Every tx has a random nonce and a valid_until 10 minutes ahead (trialreg_client.h), so nothing is
 * kept between runs.
 *
 * Each world_commit (a scenario step) is one pipelined set (client_run: several
 * connections, submit all, then poll the receipts) and waits for every certified receipt
 * before the next step, which may depend on it. The enrolment phase is one set of 5.
 *
 * Time: the consortium stamps blocks with its own clock, so scenario times (hours and days
 * apart) cannot be the block times. Each committed step records (scenario time, block
 * time); world_time_at maps a scenario time to the block time of the latest step at or
 * before it (+1 ms when strictly after it), and steps are spaced at least STEP_GAP_MS
 * apart in real time, so every time the scenario derives (a record "collected 30 minutes
 * before", i.e. between two earlier steps) falls between the same blocks as in the
 * in-process run, and the contracts decide exactly as there.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trialreg_client.h"
#include "commands.h"
#include "world.h"

#define STEPS_MAX 256
#define STEP_GAP_MS 4
#define REMOTE_CONNECTIONS 4

typedef struct {
    const char *url;
    uint32_t timeout_ms;
    char key_files[5][4200]; /* sponsor, inv_a, inv_b, regulator, researcher */
    uint32_t steps;
    uint64_t scenario_ms[STEPS_MAX], chain_ms[STEPS_MAX];
    uint64_t genesis_ms;
} remote;

static const char *const KEY_NAMES[5] = {"sponsor", "investigator-site-a", "investigator-site-b",
                                         "regulator", "researcher"};

/* Each tx: a random nonce, valid for CLIENT_VALID_FOR_DEFAULT_MS of the real clock (the
 * consortium's block times), whatever the scenario's clock says. */
static void remote_stamp(void *ctx, world *w, uint64_t *nonce, uint64_t *valid_until)
{
    (void)ctx;
    (void)w;
    *nonce = client_random_nonce();
    *valid_until = client_now_ms() + CLIENT_VALID_FOR_DEFAULT_MS;
}

static uint64_t remote_time_at(void *ctx, const world *w, uint64_t t_ms)
{
    (void)w;
    const remote *r = ctx;
    uint64_t at = r->genesis_ms;
    for (uint32_t i = 0; i < r->steps && r->scenario_ms[i] <= t_ms; i++) {
        at = r->chain_ms[i] + (r->scenario_ms[i] < t_ms ? 1 : 0);
    }
    return at;
}

static void sleep_until_after(uint64_t chain_ms)
{
    while (client_now_ms() < chain_ms + STEP_GAP_MS) {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* The block time of a receipt's block (from its certified header). */
static uint64_t block_time(const client_result *res)
{
    codec_proof *p = malloc(sizeof *p);
    codec_block_header h;
    uint64_t t = 0;
    if (p && codec_proof_decode(res->rr.proof.data, res->rr.proof.len, p, NULL) == CODEC_OK
        && codec_block_header_decode(p->block.header.data, p->block.header.len, &h, NULL)
               == CODEC_OK) {
        t = h.batch.time_ms;
    }
    free(p);
    return t;
}

static int remote_commit(void *ctx, world *w, const codec_span *txs, uint32_t count,
                         codec_receipt *receipts)
{
    remote *r = ctx;
    if (r->steps == STEPS_MAX) return fprintf(stderr, "error: too many scenario steps\n"), -1;
    if (r->steps > 0) sleep_until_after(r->chain_ms[r->steps - 1]);
    client_result *res = calloc(count, sizeof *res);
    if (!res) return -1;
    /* the receipts are polled as the regulator, who may read every tx's receipt (a signed
     * read; the scenario's txs have many signers) */
    client_options opt = {r->url, REMOTE_CONNECTIONS, r->timeout_ms, &w->regulator, &w->chain_id};
    uint32_t done = client_run(&opt, txs, count, res);
    uint64_t latest = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (res[i].state != CLIENT_TX_DONE) {
            fprintf(stderr, "error: %s: %s\n", r->url, res[i].reason);
            continue;
        }
        uint64_t t = block_time(&res[i]);
        if (t > latest) latest = t;
        if (receipts) {
            receipts[i] = res[i].receipt;
            receipts[i].event_count = 0; /* event data pointed into the freed reply */
        }
    }
    for (uint32_t i = 0; i < count; i++) client_result_free(&res[i]);
    free(res);
    if (done != count) return -1;
    r->scenario_ms[r->steps] = w->now_ms;
    r->chain_ms[r->steps++] = latest;
    return 0;
}

static int remote_timeline(void *ctx, world *w, const char *trial, FILE *out)
{
    remote *r = ctx;
    char why[300];
    int rc = client_timeline(r->url, &w->regulator, &w->chain_id, trial, r->timeout_ms, out, why,
                             sizeof why);
    if (rc != 0) fprintf(stderr, "error: timeline from %s: %s\n", r->url, why);
    return rc == 0 ? 0 : -1;
}

/* Keys, genesis and chain id of the consortium in dir. Returns an exit code. */
static int load_consortium(world *w, remote *r, const char *dir)
{
    memset(w, 0, sizeof *w);
    char path[4300];
    snprintf(path, sizeof path, "%s/genesis.bin", dir);
    if (util_read_file(path, CODEC_GENESIS_MAX, &w->genesis, &w->genesis_len) != 0)
        return TC_EXIT_INPUT;
    codec_genesis *g = malloc(sizeof *g);
    if (!g || codec_genesis_decode(w->genesis, w->genesis_len, g, NULL) != CODEC_OK) {
        fprintf(stderr, "error: %s is not a genesis\n", path);
        free(g);
        return TC_EXIT_INPUT;
    }
    r->genesis_ms = g->created_ms;
    /* the validators' public keys only (the scenario names one, never signs with it) */
    for (uint32_t i = 0; i < 4 && i < g->validator_count; i++)
        w->validators[i].public_key = g->validators[i].key;
    free(g);
    tcrypto_sha256(w->genesis, w->genesis_len, &w->chain_id);
    keypair *auth[5] = {&w->sponsor, &w->inv_a, &w->inv_b, &w->regulator, &w->researcher};
    for (int i = 0; i < 5; i++) {
        snprintf(r->key_files[i], sizeof r->key_files[i], "%.4000s/keys/%s.key", dir, KEY_NAMES[i]);
        tcrypto_err rc = tcrypto_read_secret_key(r->key_files[i], auth[i]);
        if (rc != TCRYPTO_OK) {
            fprintf(stderr, "error: %s: %s\n", r->key_files[i], tcrypto_strerror(rc));
            return TC_EXIT_INPUT;
        }
    }
    char hex[65], label[160];
    tcrypto_to_hex(w->chain_id.bytes, 32, hex);
    for (uint32_t i = 0; i < WORLD_PARTICIPANTS; i++) {
        hash32 seed;
        snprintf(label, sizeof label, "trialreg-example-remote/participant/%s/%u", hex, i);
        tcrypto_sha256(label, strlen(label), &seed);
        tcrypto_keypair_from_seed(seed.bytes, &w->participants[i]);
    }
    w->now_ms = client_now_ms();
    return TC_EXIT_OK;
}

int example_trial_remote(const char *url, const char *dir, uint32_t timeout_ms)
{
    static world w;
    static remote r;
    memset(&r, 0, sizeof r);
    r.url = url;
    r.timeout_ms = timeout_ms;
    int rc = load_consortium(&w, &r, dir);
    if (rc != TC_EXIT_OK) {
        free(w.genesis);
        return rc;
    }
    world_backend backend = {remote_commit, remote_time_at, remote_stamp, remote_timeline, &r};
    w.remote = &backend;
    char *text = NULL;
    size_t text_len = 0;
    FILE *mem = open_memstream(&text, &text_len);
    int ok = mem ? scenario_run(&w, mem) : -1;
    if (mem) fclose(mem);
    world_close(&w);
    if (ok != 0) {
        fprintf(stderr, "error: the scenario did not go as the rules say against %s (see above)\n",
                url);
        free(text);
        return r.steps == 0 ? TC_EXIT_INTERNAL : TC_EXIT_FAIL;
    }
    fwrite(text, 1, text_len, stdout);
    printf("# %u steps committed at %s\n", r.steps, url);
    free(text);
    return TC_EXIT_OK;
}
