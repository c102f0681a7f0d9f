/*
 * random_trial.c - a generated trial (random_trial.h).
 */
#include "random_trial.h"

#include <stdlib.h>
#include <string.h>

#define MINUTE (60ull * 1000)
#define VERSIONS_MAX 8

typedef struct {
    world *w;
    const random_trial_options *o;
    random_trial_counts *counts;
    uint64_t rng;
    keypair *keys;
    uint64_t *scopes;      /* per participant, as the generator believes (the ledger decides) */
    uint32_t version;      /* latest approved */
    uint32_t versions;     /* registered */
    uint8_t (*bufs)[2048];
    codec_span *spans;
    uint32_t n;            /* txs in the block being built */
} gen;

static uint64_t next(gen *g)
{
    /* splitmix64 */
    uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t below(gen *g, uint32_t n) { return (uint32_t)(next(g) % n); }

void random_trial_key(uint64_t seed, uint32_t i, keypair *out)
{
    char label[96];
    snprintf(label, sizeof label, "trialreg-random-trial/%llu/participant/%u", (unsigned long long)seed, i);
    hash32 h;
    tcrypto_sha256(label, strlen(label), &h);
    tcrypto_keypair_from_seed(h.bytes, out);
}

static hash32 form_of(uint32_t v)
{
    char label[48];
    snprintf(label, sizeof label, "random consent form v%u", v);
    return world_hash(label);
}

static void add(gen *g, const keypair *signer, const char *contract, const char *method,
                const codec_value *args, uint32_t nargs, const world_cosig *cos, uint32_t ncos)
{
    size_t len = world_sign(g->w, signer, WORLD_NEXT_NONCE, NULL, contract, method, args, nargs,
                            cos, ncos, g->bufs[g->n], sizeof g->bufs[g->n]);
    if (len == 0) return;
    g->spans[g->n] = (codec_span){g->bufs[g->n], len};
    g->n++;
}

/* Commit the block being built (one minute after the last). */
static int flush(gen *g)
{
    if (g->n == 0) return 0;
    static codec_receipt r[200];
    if (world_commit(g->w, 0, g->spans, g->n, r) != 0) return -1;
    for (uint32_t i = 0; i < g->n; i++) g->counts->ok += r[i].status == RECEIPT_OK;
    g->counts->txs += g->n;
    g->counts->blocks++;
    g->n = 0;
    g->w->now_ms += MINUTE; /* the next block's time: its txs are signed at it */
    return 0;
}

static const codec_value *trial(void)
{
    static codec_value t;
    t = world_text(RANDOM_TRIAL);
    return &t;
}

static void protocol_version(gen *g, bool first)
{
    static hash32 doc, primary, secondary, form;
    char label[48];
    snprintf(label, sizeof label, "random protocol v%u", g->versions + 1);
    doc = world_hash(label);
    primary = world_hash("random primary");
    secondary = world_hash("random secondary");
    form = form_of(g->versions + 1);
    static const uint8_t sites[] = "\x06site-a\x06site-b";
    if (first) {
        codec_value a[] = {*trial(), world_bytes(doc.bytes, 32), world_bytes(primary.bytes, 32),
                           world_bytes(secondary.bytes, 32), world_int(g->o->participants),
                           world_bytes(sites, sizeof sites - 1), world_bytes(form.bytes, 32)};
        add(g, &g->w->sponsor, "protocol", "register", a, 7, NULL, 0);
    } else {
        codec_value a[] = {*trial(), world_bytes(doc.bytes, 32), world_bytes(primary.bytes, 32),
                           world_bytes(secondary.bytes, 32), world_int(below(g, 2)),
                           world_bytes(form.bytes, 32)};
        add(g, &g->w->sponsor, "protocol", "amend", a, 6, NULL, 0);
    }
    g->versions++;
}

static int open_trial(gen *g)
{
    protocol_version(g, true);
    if (flush(g)) return -1;
    codec_value ap[] = {*trial(), world_int(1)};
    add(g, &g->w->regulator, "protocol", "approve", ap, 2, NULL, 0);
    if (flush(g)) return -1;
    g->version = 1;
    codec_value a[] = {*trial(), world_text("site-a")}, b[] = {*trial(), world_text("site-b")};
    add(g, &g->w->sponsor, "protocol", "activate", a, 2, NULL, 0);
    add(g, &g->w->sponsor, "protocol", "activate", b, 2, NULL, 0);
    if (flush(g)) return -1;
    for (uint32_t i = 0; i < g->o->participants; i++) {
        codec_value e[] = {*trial(), world_bytes(g->keys[i].public_key.bytes, 32)};
        add(g, i % 2 ? &g->w->inv_b : &g->w->inv_a, "consent", "enrol", e, 2, NULL, 0);
        if ((g->n == g->o->per_block || i + 1 == g->o->participants) && flush(g)) return -1;
    }
    return 0;
}

/* One random move about participant i (at most one tx per participant per block). */
static void move(gen *g, uint32_t i)
{
    const keypair *site = i % 2 ? &g->w->inv_b : &g->w->inv_a;
    uint32_t roll = below(g, 100);
    static hash32 forms[200], hashes[200];
    if (roll < 40 || g->scopes[i] == 0) {
        forms[g->n] = form_of(g->version);
        uint64_t scopes = 1 + below(g, 31);
        codec_value a[] = {*trial(), world_int(g->version), world_bytes(forms[g->n].bytes, 32),
                           world_int((int64_t)scopes)};
        world_cosig cos = {site, MEANING_WITNESS};
        add(g, &g->keys[i], "consent", "grant", a, 4, &cos, 1);
        g->scopes[i] = scopes;
    } else if (roll < 65) {
        uint64_t bits = roll < 50 ? g->scopes[i] : 1 + below(g, 31); /* all, or some */
        codec_value a[] = {*trial(), world_int((int64_t)bits)};
        add(g, &g->keys[i], "consent", "withdraw", a, 2, NULL, 0);
        g->scopes[i] &= ~bits;
    } else if (roll < 90) {
        uint64_t scope = 1ull << below(g, 5);
        char label[64];
        snprintf(label, sizeof label, "random record %llu", (unsigned long long)next(g));
        hashes[g->n] = world_hash(label);
        codec_value a[] = {*trial(), world_bytes(g->keys[i].public_key.bytes, 32),
                           world_int((int64_t)scope), world_int((int64_t)(g->w->now_ms - 1 - below(g, 1000))),
                           world_bytes(hashes[g->n].bytes, 32), world_int(1 + below(g, 1 << 20))};
        add(g, site, "data", "anchor", a, 6, NULL, 0);
    } else {
        codec_value a[] = {*trial(), world_int(1 << below(g, 5)), world_text("random-purpose")};
        add(g, &g->w->researcher, "access", "request", a, 3, NULL, 0);
    }
}

static int events(gen *g)
{
    uint32_t done = 0;
    while (done < g->o->events) {
        if (below(g, 100) < 3 && g->versions < VERSIONS_MAX) { /* an amendment, approved next block */
            protocol_version(g, false);
            if (flush(g)) return -1;
            codec_value ap[] = {*trial(), world_int(g->versions)};
            add(g, &g->w->regulator, "protocol", "approve", ap, 2, NULL, 0);
            if (flush(g)) return -1;
            g->version = g->versions;
            done += 2;
            continue;
        }
        uint32_t k = g->o->per_block, start = below(g, g->o->participants);
        if (k > g->o->participants) k = g->o->participants;
        if (k > g->o->events - done) k = g->o->events - done;
        for (uint32_t j = 0; j < k; j++) move(g, (start + j) % g->o->participants);
        done += k;
        if (flush(g)) return -1;
    }
    return 0;
}

int random_trial_run(world *w, const random_trial_options *o, random_trial_counts *counts)
{
    if (o->participants < 1 || o->participants > 100000 || o->per_block < 1 || o->per_block > 200)
        return -1;
    gen g = {.w = w, .o = o, .counts = counts, .rng = o->seed};
    *counts = (random_trial_counts){0};
    g.keys = malloc((size_t)o->participants * sizeof *g.keys);
    g.scopes = calloc(o->participants, sizeof *g.scopes);
    g.bufs = malloc(200 * sizeof *g.bufs);
    g.spans = malloc(200 * sizeof *g.spans);
    int rc = g.keys && g.scopes && g.bufs && g.spans ? 0 : -1;
    for (uint32_t i = 0; rc == 0 && i < o->participants; i++) random_trial_key(o->seed, i, &g.keys[i]);
    w->now_ms += MINUTE;
    if (rc == 0) rc = open_trial(&g);
    if (rc == 0) rc = events(&g);
    free(g.keys);
    free(g.scopes);
    free(g.bufs);
    free(g.spans);
    return rc;
}
