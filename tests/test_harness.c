/*
 * test_harness.c - issue 13 item 3, first step: several real validators (node.c with its
 * mempool, executor and ledger) in one process over an in-memory network, on a seeded
 * schedule: the scheduler picks which node takes its next turn (node_turn), which queued
 * message a node receives next (reordering) and which are lost, and advances a simulated
 * clock. One seed reproduces the schedule (the verifier pool still runs on its own
 * threads: see docs/NODE.md, "Peer links and clock as an interface").
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "config.h"
#include "crypto.h"
#include "node.h"
#include "sample.h"
#include "testutil.h"

#define NODES 4
#define INBOX_MAX 4096

typedef struct {
    uint8_t *data;
    size_t len;
} packet;

typedef struct harness harness;
typedef struct {
    harness *h;
    uint32_t id;
} net_link;

struct harness {
    uint64_t rng, now_ms;
    uint32_t loss_per_mille;
    packet inbox[NODES][INBOX_MAX];
    uint32_t inbox_count[NODES];
    net_link links[NODES];
    node *nodes[NODES];
};

static uint64_t next_random(harness *h) /* splitmix64 */
{
    uint64_t z = (h->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static bool net_send(void *ctx, uint32_t peer, const uint8_t *data, size_t len)
{
    net_link *l = ctx;
    harness *h = l->h;
    if (peer >= NODES || h->inbox_count[peer] == INBOX_MAX)
        return false;
    if (next_random(h) % 1000 < h->loss_per_mille)
        return true; /* lost on the way */
    uint8_t *copy = malloc(len);
    cr_assert_not_null(copy);
    memcpy(copy, data, len);
    h->inbox[peer][h->inbox_count[peer]++] = (packet){copy, len};
    return true;
}

static bool net_recv(void *ctx, uint8_t **data, size_t *len)
{
    net_link *l = ctx;
    harness *h = l->h;
    uint32_t n = h->inbox_count[l->id];
    if (n == 0)
        return false;
    uint32_t pick = (uint32_t)(next_random(h) % n); /* any queued message: reordering */
    *data = h->inbox[l->id][pick].data;
    *len = h->inbox[l->id][pick].len;
    h->inbox[l->id][pick] = h->inbox[l->id][--h->inbox_count[l->id]];
    return true;
}

static void net_release(void *ctx, uint8_t *data, size_t len)
{
    (void)ctx;
    (void)len;
    free(data);
}

static uint64_t net_now(void *ctx)
{
    return ((net_link *)ctx)->h->now_ms;
}

static char dir[256];
static tu_chain chain;

static void open_nodes(harness *h, uint64_t seed)
{
    memset(h, 0, sizeof *h);
    h->rng = seed;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    h->now_ms = (uint64_t)ts.tv_sec * 1000u;
    tu_tempdir(dir, "harness");
    tu_chain_make(&chain, 21);
    char genesis[300];
    snprintf(genesis, sizeof genesis, "%s/genesis.bin", dir);
    FILE *f = fopen(genesis, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(chain.genesis, 1, chain.genesis_len, f), chain.genesis_len);
    fclose(f);
    for (uint32_t i = 0; i < NODES; i++) {
        config_node c;
        config_defaults(&c);
        c.node = i;
        c.peer_count = NODES;
        snprintf(c.data_dir, sizeof c.data_dir, "%s/node-%u", dir, i);
        snprintf(c.key_file, sizeof c.key_file, "%s/validator-%u.key", dir, i);
        snprintf(c.genesis_file, sizeof c.genesis_file, "%s", genesis);
        snprintf(c.log_level, sizeof c.log_level, "error");
        cr_assert_eq(tcrypto_write_secret_key(c.key_file, &chain.keys.validators[i]), TCRYPTO_OK);
        h->links[i] = (net_link){h, i};
        node_env env = {&h->links[i], net_send, net_recv, net_release, net_now, net_now, false, NULL};
        char why[512];
        h->nodes[i] = node_open_env(&c, &env, why, sizeof why);
        cr_assert_not_null(h->nodes[i], "node %u: %s", i, why);
    }
}

static void close_nodes(harness *h)
{
    for (uint32_t i = 0; i < NODES; i++) {
        node_close(h->nodes[i]);
        for (uint32_t k = 0; k < h->inbox_count[i]; k++)
            free(h->inbox[i][k].data);
    }
    free(chain.genesis);
    tu_rmdir(dir);
}

/* One scheduled step: a node picked by the seed takes a turn; the clock moves 1 ms. */
static void step(harness *h)
{
    uint32_t who = (uint32_t)(next_random(h) % NODES);
    cr_assert(node_turn(h->nodes[who]), "node %u failed", who);
    h->now_ms += 1;
}

Test(harness, four_nodes_commit_a_tx_over_a_lossy_reordering_network, .timeout = 120)
{
    static harness h;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        open_nodes(&h, seed);
        h.loss_per_mille = 20;
        static uint8_t tx_bytes[1024];
        codec_buf b = codec_buf_make(tx_bytes, sizeof tx_bytes);
        hash32 chain_id;
        tcrypto_sha256(chain.genesis, chain.genesis_len, &chain_id);
        cr_assert_eq(sample_tx(&chain.keys, &chain_id, 1, h.now_ms + SAMPLE_VALID_FOR_MS, &b), 0);
        codec_submit_result r;
        node_submit(h.nodes[seed % NODES], &(codec_span){b.data, b.len}, 1, &r);
        cr_assert_eq(r.status, 0, "seed %llu: %s", (unsigned long long)seed, r.reason);
        uint32_t done = 0;
        for (int s = 0; s < 200000 && done < NODES; s++) {
            step(&h);
            done = 0;
            for (uint32_t i = 0; i < NODES; i++)
                done += node_height(h.nodes[i]) >= 1;
        }
        cr_assert_eq(done, NODES, "seed %llu: %u of %u nodes executed height 1",
                     (unsigned long long)seed, done, NODES);
        close_nodes(&h);
    }
}
