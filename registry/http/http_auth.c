/*
 * http_auth.c - who signed an HTTP request (RFC 9421, registry/base/httpsig.h), and a
 * bounded cache of the signatures seen within the clock skew, so that a captured request
 * cannot be sent again while its `created` is still fresh.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpsig.h"
#include "http_internal.h"

/* ---- the replay cache ---------------------------------------------------------------------
 * Open addressing over SEEN_SLOTS entries (a signature's first 8 bytes of SHA-256, and when
 * its entry may go: created + skew). A slot is free when empty or expired; a probe run of
 * SEEN_PROBE slots with none free means the cache is full (refused with 503: bounded
 * memory, never an unbounded table). With a 30 s skew it holds about 4,000 signed requests
 * a second. */
#define SEEN_SLOTS (1u << 17)
#define SEEN_PROBE 64

typedef struct {
    uint64_t tag;
    uint64_t until_ms;
} seen_slot;

struct http_seen {
    pthread_mutex_t mu;
    seen_slot slots[SEEN_SLOTS];
};

http_seen *http_seen_new(void)
{
    http_seen *s = calloc(1, sizeof *s);
    if (s) pthread_mutex_init(&s->mu, NULL);
    return s;
}

void http_seen_free(http_seen *s)
{
    if (!s) return;
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static uint64_t seen_tag(const signature *sig)
{
    hash32 h;
    tcrypto_sha256(sig->bytes, 64, &h);
    uint64_t tag;
    memcpy(&tag, h.bytes, 8);
    return tag | 1; /* 0 marks an empty slot */
}

/* 1 new (remembered), 0 seen before, -1 the cache is full. */
static int seen_add(http_seen *s, uint64_t tag, uint64_t now_ms, uint64_t until_ms)
{
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    seen_slot *free_slot = NULL;
    for (uint32_t i = 0; i < SEEN_PROBE; i++) {
        seen_slot *slot = &s->slots[(tag + i) & (SEEN_SLOTS - 1)];
        bool live = slot->tag != 0 && slot->until_ms >= now_ms;
        if (live && slot->tag == tag) {
            rc = 0;
            break;
        }
        if (!live && !free_slot) free_slot = slot;
    }
    if (rc != 0 && free_slot) {
        *free_slot = (seen_slot){tag, until_ms};
        rc = 1;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Forget tag (a lookup scans the whole probe run, so a cleared slot breaks no chain). */
static void seen_remove(http_seen *s, uint64_t tag)
{
    pthread_mutex_lock(&s->mu);
    for (uint32_t i = 0; i < SEEN_PROBE; i++) {
        seen_slot *slot = &s->slots[(tag + i) & (SEEN_SLOTS - 1)];
        if (slot->tag == tag) slot->tag = 0;
    }
    pthread_mutex_unlock(&s->mu);
}

uint32_t http_seen_live(http_api *h, uint64_t now_ms)
{
    uint32_t n = 0;
    pthread_mutex_lock(&h->seen->mu);
    for (uint32_t i = 0; i < SEEN_SLOTS; i++)
        n += h->seen->slots[i].tag != 0 && h->seen->slots[i].until_ms >= now_ms;
    pthread_mutex_unlock(&h->seen->mu);
    return n;
}

/* The signature this thread's request added to the cache (0: none). A request is handled
 * by one thread from its route to its answer (http_api.c on_request), so this is per
 * request. Only a signature whose request was answered 2xx stays remembered: a refused
 * request (403 for a key with no right to it, 404, 503) is forgotten at once, so keys made
 * up by the thousand cannot fill the cache (each costs an entry only while it is being
 * answered), and a replay of a refused request is refused again or, if the ledger changed
 * in between, answered to a key that was allowed to ask. */
static _Thread_local uint64_t pending_tag;

void http_seen_begin(void) { pending_tag = 0; }

void http_seen_settle(http_api *h, unsigned status)
{
    if (pending_tag && (status < 200 || status > 299)) seen_remove(h->seen, pending_tag);
    pending_tag = 0;
}

/* ---- authentication ------------------------------------------------------------------------ */

static const char *lookup_header(void *ctx, const char *name)
{
    return MHD_lookup_connection_value(ctx, MHD_HEADER_KIND, name);
}

bool http_authenticate(http_api *h, struct MHD_Connection *c, const char *method,
                       const http_request *rq, pubkey *key, http_refusal *no)
{
    char path[sizeof rq->uri];
    snprintf(path, sizeof path, "%s", rq->uri);
    char *q = strchr(path, '?');
    if (q) *q++ = '\0';
    httpsig_request view = {.method = method, .path = path, .query = q,
                            .authority = lookup_header(c, "host"), .header = lookup_header,
                            .ctx = c};
    httpsig_input in;
    uint64_t now = http_now_ms(h);
    int64_t skew_s = (int64_t)(h->cfg.skew_ms / 1000);
    no->status = 401;
    snprintf(no->code, sizeof no->code, "BAD_SIGNATURE");
    if (!httpsig_parse(lookup_header(c, "signature-input"), lookup_header(c, "signature"), &in,
                       no->reason, sizeof no->reason)
        || !httpsig_check_profile(&in, &h->cfg.chain_id, (int64_t)(now / 1000), skew_s,
                                  rq->body_len > 0, key, no->reason, sizeof no->reason)) {
        if (strstr(no->reason, "stale")) snprintf(no->code, sizeof no->code, "STALE");
        return false;
    }
    const char *digest = lookup_header(c, "content-digest");
    if (rq->body_len > 0 && (!digest || !httpsig_content_digest_matches(digest, rq->body, rq->body_len))) {
        snprintf(no->reason, sizeof no->reason, "Content-Digest is missing or is not the body's sha-256 (RFC 9530)");
        return false;
    }
    if (!httpsig_verify(&in, &view, key, no->reason, sizeof no->reason)) return false;
    uint64_t tag = seen_tag(&in.sig);
    int fresh = seen_add(h->seen, tag, now, (uint64_t)(in.created + skew_s + 1) * 1000);
    if (fresh == 1) pending_tag = tag;
    if (fresh == 0) {
        snprintf(no->code, sizeof no->code, "REPLAYED");
        snprintf(no->reason, sizeof no->reason, "this signature was used already (a replayed request)");
        return false;
    }
    if (fresh < 0) {
        no->status = 503;
        snprintf(no->code, sizeof no->code, "BUSY");
        snprintf(no->reason, sizeof no->reason, "too many signed requests in the clock skew; retry");
        return false;
    }
    return true;
}
