/*
 * pbft.c - the PBFT core as a pure state machine (see pbft.h, docs/PBFT.md).
 *
 * Layout: helpers (signing, slots, quorums), normal case (pre-prepare,
 * prepare, commit, delivery), checkpoints, view change, catch-up, timers,
 * public entry points. Every entry point appends to core->ready; nothing
 * here reads a clock, draws a random number, allocates or does I/O.
 */
#include "pbft.h"

#include <assert.h>
#include <string.h>

#include "merkle.h"

#define BODY_MAX 2048

const char *pbft_strerror(pbft_err err)
{
    switch (err) {
    case PBFT_OK: return "ok";
    case PBFT_ERR_MALFORMED: return "malformed message";
    case PBFT_ERR_SIGNATURE: return "bad signature";
    case PBFT_ERR_VIEW: return "wrong view";
    case PBFT_ERR_WATERMARK: return "height outside the watermarks";
    case PBFT_ERR_DIGEST: return "batch does not match its digest";
    case PBFT_ERR_TIME: return "block time refused";
    case PBFT_ERR_CONFLICT: return "conflicting pre-prepare";
    case PBFT_ERR_CERT: return "invalid certificate";
    case PBFT_ERR_NEWVIEW: return "new-view does not follow from its view-changes";
    case PBFT_ERR_DUPLICATE: return "duplicate request";
    case PBFT_ERR_FULL: return "queue full";
    case PBFT_ERR_STALE: return "stale";
    case PBFT_ERR_REQUEST: return "request refused";
    case PBFT_ERR_STATE: return "executed result differs from its result certificate";
    case PBFT_ERR_MEMBER: return "not a validator of the set in force at that height";
    }
    return "unknown error";
}

/* ==== helpers ============================================================= */

static pbft_height low_mark(const pbft_core *c) { return c->durable.stable.height; }
static bool in_window(const pbft_core *c, pbft_height h)
{
    return h > low_mark(c) && h <= low_mark(c) + PBFT_WINDOW;
}
static bool hash_eq(const hash32 *a, const hash32 *b) { return memcmp(a, b, 32) == 0; }

/* ==== validator sets (docs/PBFT.md §14) ==========================================
 * One place answers "which set at height h". The window (low, low + PBFT_WINDOW] is
 * only ever worked in the set of low + 1 (cur_set): heights of a later set are held
 * until the low watermark reaches the boundary - 1, so no view change and no
 * certificate mixes two sets. */

const pbft_valset *pbft_set_at(const pbft_core *c, pbft_height h)
{
    for (uint32_t i = c->set_count; i-- > 1;) {
#if defined(TRIALREG_PBFT_BUG_SET_EARLY)
        /* Deliberately broken build (simulator self-test): the new set one height early. */
        if (c->sets[i].from <= h + 1)
#elif defined(TRIALREG_PBFT_BUG_SET_LATE)
        /* Deliberately broken build: the old set one height late (its removed
         * validators still count at the boundary). */
        if (c->sets[i].from < h)
#else
        if (c->sets[i].from <= h)
#endif
            return &c->sets[i];
    }
    return &c->sets[0];
}

/* The set this replica's window runs in. */
static const pbft_valset *cur_set(const pbft_core *c) { return pbft_set_at(c, low_mark(c) + 1); }

/* A change committed at height h takes effect at a boundary > h + PBFT_WINDOW
 * (pbft_reconfigure), and the host reports it before pbft_executed(h): so every set in
 * force up to last_executed + PBFT_WINDOW + 1 is known. Above that a set may be
 * missing: nothing of those heights is accepted (held messages are checked again when
 * replayed). */
static bool set_known(const pbft_core *c, pbft_height h)
{
    return h <= c->last_executed + PBFT_WINDOW + 1;
}

/* Below the oldest set kept (older ones are dropped, pbft_reconfigure): refused. */
static bool set_dropped(const pbft_core *c, pbft_height h) { return h < c->sets[0].from; }

static bool is_member(const pbft_valset *set) { return set->me != PBFT_NOT_MEMBER; }

static pbft_replica primary_in(const pbft_valset *set, pbft_view view)
{
    return (pbft_replica)(view % set->n);
}

pbft_replica pbft_primary(const pbft_core *core, pbft_view view)
{
    return primary_in(cur_set(core), view);
}

static bool sign_in(const pbft_core *c, const pbft_valset *set, const char *tag,
                    const uint8_t *body, size_t len, signature *out)
{
    assert(is_member(set));
    return c->cfg.signer.sign(c->cfg.signer.ctx, set->from, tag, body, len, out);
}

static bool verify_in(const pbft_core *c, const pbft_valset *set, pbft_replica who,
                      const char *tag, const uint8_t *body, size_t len, const signature *sig)
{
    return who < set->n &&
           c->cfg.signer.verify(c->cfg.signer.ctx, set->from, who, tag, body, len, sig);
}

void pbft_batch_seal(pbft_batch *batch)
{
    assert(batch->count <= PBFT_BATCH_MAX);
    merkle_root_of_leaves(batch->txs, batch->count, &batch->header.tx_root);
    batch->header.tx_count = batch->count;
}

bool pbft_batch_matches(const pbft_batch *batch)
{
    if (batch->count > PBFT_BATCH_MAX || batch->header.tx_count != batch->count)
        return false;
    hash32 root;
    merkle_root_of_leaves(batch->txs, batch->count, &root);
    return hash_eq(&root, &batch->header.tx_root);
}

/* ==== digest index ===========================================================
 * Open addressing with linear probing over an external array of digests;
 * a cell holds entry + 1 (0 = empty); removal shifts back (no tombstones).
 * Digests are SHA-256 outputs, so their first bytes are a fair hash. */

static uint32_t index_home(const hash32 *d)
{
    uint32_t x;
    memcpy(&x, d->bytes, sizeof x);
    return x & (PBFT_INDEX_SIZE - 1);
}

static int index_find(const uint16_t *ix, const hash32 *entries, const hash32 *d)
{
    for (uint32_t i = index_home(d);; i = (i + 1) & (PBFT_INDEX_SIZE - 1)) {
        if (ix[i] == 0)
            return -1;
        if (hash_eq(&entries[ix[i] - 1], d))
            return ix[i] - 1;
    }
}

static void index_insert(uint16_t *ix, const hash32 *d, uint32_t entry)
{
    uint32_t i = index_home(d);
    while (ix[i] != 0)
        i = (i + 1) & (PBFT_INDEX_SIZE - 1);
    ix[i] = (uint16_t)(entry + 1);
}

/* Remove the cell of `entry` (whose digest is d). */
static void index_remove(uint16_t *ix, const hash32 *entries, const hash32 *d, uint32_t entry)
{
    uint32_t i = index_home(d);
    while (ix[i] != entry + 1)
        i = (i + 1) & (PBFT_INDEX_SIZE - 1);
    for (uint32_t j = (i + 1) & (PBFT_INDEX_SIZE - 1); ix[j] != 0;
         j = (j + 1) & (PBFT_INDEX_SIZE - 1)) {
        uint32_t home = index_home(&entries[ix[j] - 1]);
        /* move j into the hole at i unless its home lies cyclically in (i, j] */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            ix[i] = ix[j];
            i = j;
        }
    }
    ix[i] = 0;
}

static void null_batch(pbft_batch *b, pbft_height h)
{
    memset(b, 0, sizeof *b);
    b->header.height = h;
    pbft_batch_seal(b);
}

static void vote_body(pbft_view v, pbft_height h, const hash32 *d, codec_buf *b)
{
    codec_err rc = codec_pbft_vote_body_encode(v, h, d, b);
    assert(rc == CODEC_OK);
    (void)rc;
}

static void commit_body(pbft_view v, pbft_height h, const hash32 *d, codec_buf *b)
{
    codec_err rc = codec_commit_body_encode(h, v, d, b);
    assert(rc == CODEC_OK);
    (void)rc;
}

/* Sign or verify a [view, height, digest] vote with `tag`, in the set of height h. */
static void sign_vote(pbft_core *c, const char *tag, pbft_view v, pbft_height h,
                      const hash32 *d, signature *out)
{
    uint8_t buf[128];
    codec_buf b = codec_buf_make(buf, sizeof buf);
    if (strcmp(tag, TCRYPTO_TAG_COMMIT) == 0)
        commit_body(v, h, d, &b);
    else
        vote_body(v, h, d, &b);
    bool ok = sign_in(c, pbft_set_at(c, h), tag, buf, b.len, out);
    assert(ok);
    (void)ok;
}

static bool verify_vote(const pbft_core *c, pbft_replica who, const char *tag, pbft_view v,
                        pbft_height h, const hash32 *d, const signature *sig)
{
    uint8_t buf[128];
    codec_buf b = codec_buf_make(buf, sizeof buf);
    if (strcmp(tag, TCRYPTO_TAG_COMMIT) == 0)
        commit_body(v, h, d, &b);
    else
        vote_body(v, h, d, &b);
    return verify_in(c, pbft_set_at(c, h), who, tag, buf, b.len, sig);
}

static void checkpoint_fields(const codec_result_cert *cp, codec_buf *b)
{
    codec_err rc = codec_checkpoint_body_encode(cp, b);
    assert(rc == CODEC_OK);
    (void)rc;
}

/* A message to send, from my index in `set`. */
static pbft_out *out_push(pbft_core *c, const pbft_valset *set, pbft_replica to,
                          bool after_persist)
{
    pbft_ready *r = &c->ready;
    if (r->out_count == PBFT_OUT_MAX)
        return NULL; /* dropped: retransmission recovers, as for a lossy link */
    pbft_out *o = &r->out[r->out_count++];
    memset(o, 0, sizeof *o);
    o->to = to;
    o->after_persist = after_persist;
    o->msg.from = set->me;
    return o;
}

static void send_vote(pbft_core *c, pbft_msg_type type, pbft_replica to, pbft_view v,
                      pbft_height h, const hash32 *d, const signature *sig,
                      const pbft_batch *batch)
{
    pbft_out *o = out_push(c, pbft_set_at(c, h), to, true);
    if (!o)
        return;
    o->msg.type = type;
    o->msg.view = v;
    o->msg.height = h;
    o->msg.digest = *d;
    o->msg.sig = *sig;
    o->msg.batch = batch;
}

/* The slot for height h, (re)initialised if it held an older height. */
static pbft_slot *slot_get(pbft_core *c, pbft_height h)
{
    assert(in_window(c, h));
    pbft_slot *s = &c->slots[h % PBFT_WINDOW];
    if (s->height != h) {
        memset(s, 0, sizeof *s);
        s->height = h;
        s->delivered = h <= c->last_delivered;
    }
    return s;
}

static void slot_reset_votes(pbft_slot *s)
{
    s->has_preprepare = s->prepared = s->committed = s->sent_commit = false;
    memset(s->prepare_seen, 0, sizeof s->prepare_seen);
    memset(s->commit_seen, 0, sizeof s->commit_seen);
}

static void mark_persist(pbft_core *c) { c->ready.persist = true; }

/* May I sign (view, height, digest)? Records it durably if so. */
static bool record_signed(pbft_core *c, pbft_view v, pbft_height h, const hash32 *d)
{
    uint32_t i = (uint32_t)(h % PBFT_WINDOW);
    pbft_durable *du = &c->durable;
    if (du->signed_height[i] == h && du->signed_view[i] == v)
        return hash_eq(&du->signed_digest[i], d);
    du->signed_height[i] = h;
    du->signed_view[i] = v;
    du->signed_digest[i] = *d;
    mark_persist(c);
    return true;
}

static uint64_t prev_block_time(const pbft_core *c, pbft_height h)
{
    uint64_t t = c->durable.last_block_time_ms;
    for (uint32_t i = 0; i < PBFT_WINDOW; i++) {
        const pbft_slot *s = &c->slots[i];
        if (s->height && s->height < h && s->has_preprepare && s->batch.header.time_ms > t)
            t = s->batch.header.time_ms;
    }
    return t;
}

static bool request_known(const pbft_core *c, const hash32 *d)
{
    return index_find(c->recent_index, c->recent, d) >= 0;
}

static int pending_find(const pbft_core *c, const hash32 *d)
{
    return index_find(c->pending_index, c->pending, d);
}

static void pending_remove(pbft_core *c, uint32_t at)
{
    assert(c->pending_used[at]);
    index_remove(c->pending_index, c->pending, &c->pending[at], at);
    c->pending_used[at] = false;
    c->pending_count--;
    while (c->pending_head < c->pending_tail && !c->pending_used[c->pending_head])
        c->pending_head++;
    if (c->pending_head == c->pending_tail)
        c->pending_head = c->pending_tail = 0;
}

/* Move the live pending entries to the front, in order, and rebuild the index. */
static void pending_compact(pbft_core *c)
{
    uint32_t to = 0;
    memset(c->pending_index, 0, sizeof c->pending_index);
    for (uint32_t i = c->pending_head; i < c->pending_tail; i++) {
        if (!c->pending_used[i])
            continue;
        c->pending[to] = c->pending[i];
        c->pending_view[to] = c->pending_view[i];
        c->pending_height[to] = c->pending_height[i];
        c->pending_used[i] = false;
        c->pending_used[to] = true;
        index_insert(c->pending_index, &c->pending[to], to);
        to++;
    }
    assert(to == c->pending_count);
    c->pending_head = 0;
    c->pending_tail = to;
}

static void recent_add(pbft_core *c, const hash32 *d)
{
    uint32_t k = c->recent_next;
    if (c->recent_count == PBFT_RECENT_MAX)
        index_remove(c->recent_index, c->recent, &c->recent[k], k);
    else
        c->recent_count++;
    c->recent[k] = *d;
    index_insert(c->recent_index, d, k);
    c->recent_next = (k + 1) % PBFT_RECENT_MAX;
}

/* Duplicates within one batch: sort-free, via a small probe table on the stack. */
static bool batch_has_duplicates(const pbft_batch *b)
{
    enum { SIZE = 2 * PBFT_BATCH_MAX };
    uint16_t cell[SIZE] = {0};
    for (uint32_t i = 0; i < b->count; i++) {
        uint32_t x = index_home(&b->txs[i]) & (SIZE - 1);
        for (; cell[x] != 0; x = (x + 1) & (SIZE - 1))
            if (hash_eq(&b->txs[cell[x] - 1], &b->txs[i]))
                return true;
        cell[x] = (uint16_t)(i + 1);
    }
    return false;
}

static uint64_t request_bytes(const pbft_core *c, const hash32 *d)
{
    return c->cfg.request_bytes ? c->cfg.request_bytes(c->cfg.signer.ctx, d) : 0;
}

/* The batch's requests: at most batch_max, distinct, not ordered before, valid for the
 * host, and at most batch_bytes_max bytes together (the genesis's rules at the node:
 * invalid in every state, so refusing is safe whatever else is in flight). */
static bool batch_requests_valid(const pbft_core *c, const pbft_batch *b)
{
    if (b->count > c->cfg.batch_max || batch_has_duplicates(b))
        return false;
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < b->count; i++) {
        if (request_known(c, &b->txs[i]))
            return false;
        if (c->cfg.signer.request_valid &&
            !c->cfg.signer.request_valid(c->cfg.signer.ctx, &b->txs[i]))
            return false;
        bytes += request_bytes(c, &b->txs[i]);
    }
    return c->cfg.batch_bytes_max == 0 || bytes <= c->cfg.batch_bytes_max;
}

/* Mark the pending requests that the pre-prepare (v, b) carries. */
static void mark_in_flight(pbft_core *c, pbft_view v, const pbft_batch *b)
{
    for (uint32_t i = 0; i < b->count; i++) {
        int at = pending_find(c, &b->txs[i]);
        if (at >= 0) {
            c->pending_view[at] = v;
            c->pending_height[at] = b->header.height;
        }
    }
}

/* ==== the view-change timer ===================================================
 * One timer, as Castro and Liskov define it (docs/PBFT.md §8). It runs for one thing
 * this replica waits for: the oldest pending request or, with no request pending, the
 * lowest height whose pre-prepare it accepted and has not delivered. It stops only when
 * that one is delivered (a delivery of anything else does not restart it), and the
 * timeout (view_timeout_ms << backoff) returns to its base only then: it doubles on
 * each view that failed to deliver it, entering a view included. While changing view
 * it is held until 2f+1 replicas ask for that view (pbft_tick). */

/* The lowest height with an accepted pre-prepare not yet delivered (0: none). */
static pbft_height undelivered_height(const pbft_core *c)
{
    pbft_height low = 0;
    for (uint32_t i = 0; i < PBFT_WINDOW; i++) {
        const pbft_slot *s = &c->slots[i];
        if (s->height > c->last_delivered && s->has_preprepare && (!low || s->height < low))
            low = s->height;
    }
    return low;
}

/* If the timer is idle and this replica waits for something, start it for that. */
static void timer_arm(pbft_core *c)
{
    struct pbft_timer *t = &c->timer;
    if (t->running)
        return;
    if (c->pending_count > 0) {
        t->for_request = true;
        t->request = c->pending[c->pending_head];
    } else {
        t->for_request = false;
        t->height = undelivered_height(c);
        if (t->height == 0)
            return;
    }
    t->running = true;
    t->started_ms = c->now_ms;
}

/* After a delivery: if what the timer waits for was delivered, stop it (the timeout
 * returns to its base) and start it again for the next thing, if any. */
static void timer_after_delivery(pbft_core *c)
{
    struct pbft_timer *t = &c->timer;
    if (!t->running)
        return;
    bool done = t->for_request ? request_known(c, &t->request) : t->height <= c->last_delivered;
    if (!done)
        return;
    t->running = false;
    c->backoff = 0;
    if (!c->durable.view_changing)
        timer_arm(c);
}

static bool timer_expired(const pbft_core *c)
{
    uint32_t shift = c->backoff > 10 ? 10 : c->backoff;
    return c->now_ms >= c->timer.started_ms + (c->cfg.view_timeout_ms << shift);
}

/* ==== delivery ============================================================= */

static void forget_requests(pbft_core *c, const pbft_batch *b)
{
    for (uint32_t i = 0; i < b->count; i++) {
        int at = pending_find(c, &b->txs[i]);
        if (at >= 0)
            pending_remove(c, (uint32_t)at);
        if (!request_known(c, &b->txs[i]))
            recent_add(c, &b->txs[i]);
    }
}

/* Hand height last_delivered+1 to the host. */
static void deliver(pbft_core *c, const pbft_batch *b, const codec_commit_cert *cert)
{
    assert(b->header.height == c->last_delivered + 1);
    if (c->ready.committed_count == PBFT_WINDOW)
        return; /* host must drain; retried on the next call */
    pbft_committed *out = &c->ready.committed[c->ready.committed_count++];
    out->batch = *b;
    uint64_t t = b->header.time_ms;
    if (t <= c->durable.last_block_time_ms)
        t = c->durable.last_block_time_ms + 1;
    out->block_time_ms = t;
    out->cert = *cert;
    c->durable.last_block_time_ms = t;
    c->last_delivered++;
    forget_requests(c, b);
    c->progress_ms = c->delivered_ms = c->now_ms;
    /* Nothing to persist: last_block_time_ms is restored from the store, which
     * is authoritative (pbft_restore); the next persist carries it anyway. */
    if (in_window(c, b->header.height))
        slot_get(c, b->header.height)->delivered = true;
    timer_after_delivery(c);
}

static void build_commit_cert(const pbft_core *c, const pbft_slot *s, codec_commit_cert *cert)
{
    const pbft_valset *set = pbft_set_at(c, s->height);
    memset(cert, 0, sizeof *cert);
    cert->height = s->height;
    cert->view = s->view;
    cert->batch_hash = s->digest;
    for (uint32_t i = 0; i < set->n && cert->sig_count < set->quorum; i++) {
        if (s->commit_seen[i] && hash_eq(&s->commit_digest[i], &s->digest)) {
            cert->sigs[cert->sig_count].validator = i;
            cert->sigs[cert->sig_count].sig = s->commit_sig[i];
            cert->sig_count++;
        }
    }
}

static void try_deliver(pbft_core *c)
{
    while (in_window(c, c->last_delivered + 1)) {
        pbft_slot *s = slot_get(c, c->last_delivered + 1);
        if (!s->committed || s->delivered)
            return;
        codec_commit_cert cert;
        build_commit_cert(c, s, &cert);
        pbft_height before = c->last_delivered;
        deliver(c, &s->batch, &cert);
        if (c->last_delivered == before)
            return;
    }
}

/* ==== normal case ============================================================ */

static uint32_t count_matching(const pbft_valset *set, const bool *seen, const hash32 *digests,
                               const hash32 *d, pbft_replica skip)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < set->n; i++)
        if (i != skip && seen[i] && hash_eq(&digests[i], d))
            k++;
    return k;
}

static void save_prepared_cert(pbft_core *c, const pbft_slot *s)
{
    uint32_t i = (uint32_t)(s->height % PBFT_WINDOW);
    pbft_prepared_cert *pc = &c->durable.prepared[i];
    memset(pc, 0, sizeof *pc);
    pc->view = s->view;
    pc->batch = s->batch;
    pc->preprepare_sig = s->preprepare_sig;
    const pbft_valset *set = pbft_set_at(c, s->height);
    pbft_replica primary = primary_in(set, s->view);
    for (uint32_t r = 0; r < set->n && pc->prepare_count < 2 * set->f; r++) {
        if (r != primary && s->prepare_seen[r] && hash_eq(&s->prepare_digest[r], &s->digest)) {
            pc->prepares[pc->prepare_count].validator = r;
            pc->prepares[pc->prepare_count].sig = s->prepare_sig[r];
            pc->prepare_count++;
        }
    }
    c->durable.has_prepared[i] = true;
    mark_persist(c);
}

static void check_committed(pbft_core *c, pbft_slot *s)
{
    if (!s->prepared || s->committed)
        return;
    const pbft_valset *set = pbft_set_at(c, s->height);
    if (count_matching(set, s->commit_seen, s->commit_digest, &s->digest, PBFT_BROADCAST) <
        set->quorum)
        return;
    s->committed = true;
    try_deliver(c);
}

static void check_prepared(pbft_core *c, pbft_slot *s)
{
    if (!s->has_preprepare || s->prepared)
        return;
    const pbft_valset *set = pbft_set_at(c, s->height);
    pbft_replica primary = primary_in(set, s->view);
    if (count_matching(set, s->prepare_seen, s->prepare_digest, &s->digest, primary) < 2 * set->f)
        return;
    s->prepared = true;
    save_prepared_cert(c, s);
    if (is_member(set)) { /* a follower signs nothing: it commits on the others' votes */
        signature sig;
        sign_vote(c, TCRYPTO_TAG_COMMIT, s->view, s->height, &s->digest, &sig);
        s->commit_seen[set->me] = true;
        s->commit_sig[set->me] = sig;
        s->commit_digest[set->me] = s->digest;
        s->sent_commit = true;
        send_vote(c, PBFT_MSG_COMMIT, PBFT_BROADCAST, s->view, s->height, &s->digest, &sig, NULL);
    }
    check_committed(c, s);
}

/* Install a pre-prepare for (view, batch) in its slot and, as a backup, prepare it.
 * PREPAREs and COMMITs of this view that arrived before it (each checked on arrival)
 * still count: a backup whose own checks of the batch's txs took longer than the
 * others' then prepares and commits as soon as it accepts it, instead of waiting for
 * retransmissions or fetching the block. Votes of an older view (a batch re-issued
 * by a NEW-VIEW) are dropped. */
static void accept_preprepare(pbft_core *c, pbft_view v, const pbft_batch *b,
                              const hash32 *d, const signature *pp_sig)
{
    pbft_slot *s = slot_get(c, b->header.height);
    if (s->view != v)
        slot_reset_votes(s);
    s->view = v;
    s->has_preprepare = true;
    s->batch = *b;
    s->digest = *d;
    s->preprepare_sig = *pp_sig;
    mark_in_flight(c, v, b);
    const pbft_valset *set = pbft_set_at(c, s->height);
    if (is_member(set) && primary_in(set, v) != set->me) {
        signature sig;
        sign_vote(c, TCRYPTO_TAG_PREPARE, v, s->height, d, &sig);
        s->prepare_seen[set->me] = true;
        s->prepare_sig[set->me] = sig;
        s->prepare_digest[set->me] = *d;
        send_vote(c, PBFT_MSG_PREPARE, PBFT_BROADCAST, v, s->height, d, &sig, NULL);
    }
    check_prepared(c, s);
}

/* A message for a view I have not entered yet (higher, or the one I am
 * changing to): true if it is for the future. */
static bool is_future(const pbft_core *c, pbft_view v)
{
    return v > c->durable.view || (v == c->durable.view && c->durable.view_changing);
}

/* A height just above the high watermark: the sender's stable checkpoint moved
 * before mine (its CHECKPOINTs reached it first). Held, not refused, so that
 * the normal case does not wait for a retransmission (measured on the node:
 * 200 ms stalls under load). */
static bool is_ahead(const pbft_core *c, pbft_height h)
{
    if (h <= low_mark(c) || h > low_mark(c) + 2 * PBFT_WINDOW)
        return false;
#ifndef TRIALREG_PBFT_BUG_NOWAIT
    /* A height of a later set: held until my stable checkpoint reaches its boundary - 1
     * (docs/PBFT.md §14, rule 1). */
    if (pbft_set_at(c, h) != cur_set(c))
        return true;
#endif
    return h > low_mark(c) + PBFT_WINDOW;
}

/* Held for later: a future view, or the current view just above the window. */
static bool to_hold(const pbft_core *c, const pbft_msg *m)
{
    return is_future(c, m->view) || (m->view == c->durable.view && is_ahead(c, m->height));
}

/* Hold a signature-checked future-view message from m->from for replay (m->from <
 * PBFT_N_MAX: pbft_step checked it; its set is the one of its height, and it is checked
 * again under that set when it is replayed). */
static void buffer_future(pbft_core *c, const pbft_msg *m)
{
    uint32_t k = c->future_next[m->from];
    struct pbft_future *f = &c->future[m->from][k];
    c->future_next[m->from] = (k + 1) % PBFT_FUTURE_PER_SENDER;
    f->used = true;
    f->msg = *m;
    f->msg.view_change = NULL;
    f->msg.new_view = NULL;
    f->msg.batch = NULL;
    if (m->batch) {
        f->batch = *m->batch;
        f->msg.batch = &f->batch;
    }
}

static pbft_err on_preprepare(pbft_core *c, const pbft_msg *m);
static pbft_err on_vote(pbft_core *c, const pbft_msg *m);

/* After entering a view: replay what was held for it; drop what is older. */
static void replay_future(pbft_core *c)
{
    for (uint32_t r = 0; r < PBFT_N_MAX; r++) {
        for (uint32_t k = 0; k < PBFT_FUTURE_PER_SENDER; k++) {
            struct pbft_future *f = &c->future[r][k];
            if (!f->used || is_future(c, f->msg.view) ||
                (f->msg.view == c->durable.view && is_ahead(c, f->msg.height)))
                continue; /* still ahead: kept */
            f->used = false;
            if (f->msg.view != c->durable.view)
                continue; /* older than the view entered */
            pbft_msg m = f->msg;
            pbft_batch b;
            if (m.batch) {
                b = f->batch;
                m.batch = &b;
            }
            if (m.type == PBFT_MSG_PREPREPARE)
                (void)on_preprepare(c, &m);
            else
                (void)on_vote(c, &m);
        }
    }
}

/* May a fresh pre-prepare propose block time t (docs/PBFT.md §7)? After the previous
 * block's time prev; not before my wall clock minus the bound (no backdating); not
 * after my clock plus the bound, or, when the chain already runs ahead of my clock (a
 * majority's clocks jumped forward and back), not more than PBFT_WINDOW ms past prev:
 * a correct primary then proposes prev + 1 per height, so the chain moves on at once
 * instead of freezing until real time catches up, and a faulty one can push it ahead
 * by at most PBFT_WINDOW ms a height. */
static bool proposed_time_ok(const pbft_core *c, uint64_t t, uint64_t prev)
{
    uint64_t bound = c->cfg.clock_bound_ms, wall = c->wall_ms;
    uint64_t latest = wall + bound > prev + PBFT_WINDOW ? wall + bound : prev + PBFT_WINDOW;
    return t > prev && t <= latest && t + bound >= wall;
}

pbft_err pbft_check_preprepare(const pbft_core *c, const pbft_msg *m)
{
    const pbft_batch *b = m->batch;
    if (m->type != PBFT_MSG_PREPREPARE || !b || b->header.height != m->height ||
        m->from != primary_in(pbft_set_at(c, m->height), m->view))
        return PBFT_ERR_MALFORMED;
    hash32 d;
    codec_batch_hash(&b->header, &d);
    if (!hash_eq(&d, &m->digest) || !pbft_batch_matches(b))
        return PBFT_ERR_DIGEST;
    if (!verify_vote(c, m->from, TCRYPTO_TAG_PREPREPARE, m->view, m->height, &d, &m->sig))
        return PBFT_ERR_SIGNATURE;
    return PBFT_OK;
}

static pbft_err on_preprepare(pbft_core *c, const pbft_msg *m)
{
    const pbft_batch *b = m->batch;
    if (!b || b->header.height != m->height ||
        m->from != primary_in(pbft_set_at(c, m->height), m->view))
        return PBFT_ERR_MALFORMED;
    if (to_hold(c, m)) {
        pbft_err e = pbft_check_preprepare(c, m);
        if (e == PBFT_OK)
            buffer_future(c, m);
        return e;
    }
    if (m->view != c->durable.view)
        return PBFT_ERR_VIEW;
    if (!in_window(c, m->height) || !set_known(c, m->height))
        return PBFT_ERR_WATERMARK;
    hash32 d;
    codec_batch_hash(&b->header, &d);
    const pbft_slot *known = &c->slots[m->height % PBFT_WINDOW];
    if (known->height == m->height && known->has_preprepare && known->view == m->view &&
        hash_eq(&known->digest, &d))
        return PBFT_ERR_STALE; /* a retransmission of the pre-prepare I accepted */
#ifndef TRIALREG_PBFT_BUG_ENTERVIEW
    if (m->height <= c->reissued_to)
        return PBFT_ERR_CONFLICT; /* the NEW-VIEW of this view decided this height */
#endif
    pbft_err e = pbft_check_preprepare(c, m);
    if (e != PBFT_OK)
        return e;
    pbft_slot *s = slot_get(c, m->height);
    if (s->has_preprepare && s->view == m->view)
        return hash_eq(&s->digest, &d) ? PBFT_ERR_STALE : PBFT_ERR_CONFLICT;
    uint64_t t = b->header.time_ms;
    if (!proposed_time_ok(c, t, prev_block_time(c, m->height)))
        return PBFT_ERR_TIME;
    if (!batch_requests_valid(c, b))
        return PBFT_ERR_REQUEST;
    if (!record_signed(c, m->view, m->height, &d))
        return PBFT_ERR_CONFLICT;
    accept_preprepare(c, m->view, b, &d, &m->sig);
    return PBFT_OK;
}

static pbft_err on_vote(pbft_core *c, const pbft_msg *m)
{
    bool is_commit = m->type == PBFT_MSG_COMMIT;
    if (!is_commit && m->from == primary_in(pbft_set_at(c, m->height), m->view))
        return PBFT_ERR_MALFORMED;
    const char *tag = is_commit ? TCRYPTO_TAG_COMMIT : TCRYPTO_TAG_PREPARE;
    if (to_hold(c, m)) {
        if (!verify_vote(c, m->from, tag, m->view, m->height, &m->digest, &m->sig))
            return PBFT_ERR_SIGNATURE;
        buffer_future(c, m);
        return PBFT_OK;
    }
    if (m->view != c->durable.view)
        return PBFT_ERR_VIEW;
    if (!in_window(c, m->height) || !set_known(c, m->height))
        return PBFT_ERR_WATERMARK;
    /* No signature check for a vote that cannot change anything: a retransmission
     * of one already counted, or one more after the quorum (the slot is prepared,
     * or committed, in this view; its certificate holds the quorum it has). */
    const pbft_slot *known = &c->slots[m->height % PBFT_WINDOW];
    if (known->height == m->height && known->view == m->view &&
        ((is_commit ? known->commit_seen : known->prepare_seen)[m->from] ||
         (is_commit ? known->committed : known->prepared)))
        return PBFT_ERR_STALE;
    if (!verify_vote(c, m->from, tag, m->view, m->height, &m->digest, &m->sig))
        return PBFT_ERR_SIGNATURE;
    pbft_slot *s = slot_get(c, m->height);
    if (s->has_preprepare && s->view != m->view)
        return PBFT_ERR_VIEW;
    if (s->view != m->view)
        slot_reset_votes(s); /* votes of an older view: they count no more */
    s->view = m->view;
    bool *seen = is_commit ? s->commit_seen : s->prepare_seen;
    if (seen[m->from])
        return PBFT_ERR_STALE;
    seen[m->from] = true;
    if (is_commit) {
        s->commit_sig[m->from] = m->sig;
        s->commit_digest[m->from] = m->digest;
        check_committed(c, s);
    } else {
        s->prepare_sig[m->from] = m->sig;
        s->prepare_digest[m->from] = m->digest;
        check_prepared(c, s);
    }
    return PBFT_OK;
}

/* ==== primary: batching =============================================== */

/* Is pending request i carried by a live pre-prepare of the current view? */
static bool request_in_flight(const pbft_core *c, uint32_t i)
{
    pbft_height h = c->pending_height[i];
    if (h == 0 || c->pending_view[i] != c->durable.view || !in_window(c, h))
        return false;
    const pbft_slot *s = &c->slots[h % PBFT_WINDOW];
    return s->height == h && s->has_preprepare && !s->delivered && s->view == c->durable.view;
}

/* The oldest pending requests not in flight (arrival order), up to propose_max requests
 * and batch_bytes_max bytes. *full: a bound stopped it (the batch goes out at once). */
static uint32_t collect_batch(const pbft_core *c, pbft_batch *b, bool *full)
{
    uint64_t bytes = 0;
    b->count = 0;
    *full = false;
    for (uint32_t i = c->pending_head; i < c->pending_tail; i++) {
        if (!c->pending_used[i] || request_in_flight(c, i))
            continue;
        uint64_t size = request_bytes(c, &c->pending[i]);
        if (b->count == c->cfg.propose_max ||
            (c->cfg.batch_bytes_max && bytes + size > c->cfg.batch_bytes_max)) {
            *full = true;
            break;
        }
        bytes += size;
        b->txs[b->count++] = c->pending[i];
    }
    return b->count;
}

/* May the primary propose height h now? In the window, and in the set of the window:
 * nothing at or past a boundary until the height before it is my stable checkpoint
 * (docs/PBFT.md §14, rule 1). */
static bool may_propose(const pbft_core *c, pbft_height h)
{
#ifdef TRIALREG_PBFT_BUG_NOWAIT
    return in_window(c, h);
#else
    return in_window(c, h) && pbft_set_at(c, h) == cur_set(c);
#endif
}

static bool propose_one(pbft_core *c, bool force)
{
    while (may_propose(c, c->next_height) &&
           slot_get(c, c->next_height)->has_preprepare &&
           c->slots[c->next_height % PBFT_WINDOW].view == c->durable.view)
        c->next_height++;
    if (!may_propose(c, c->next_height))
        return false;
    pbft_batch *b = &c->scratch_batch;
    memset(&b->header, 0, sizeof b->header);
    bool full;
    uint32_t k = collect_batch(c, b, &full);
    if (k == 0 || (!full && k < c->cfg.propose_max && !force))
        return false;
    uint64_t t = c->wall_ms;
    uint64_t prev = prev_block_time(c, c->next_height);
    if (t <= prev)
        t = prev + 1;
    if (t <= c->last_proposed_time_ms)
        t = c->last_proposed_time_ms + 1;
    b->header.height = c->next_height;
    b->header.time_ms = t;
    pbft_batch_seal(b);
    hash32 d;
    codec_batch_hash(&b->header, &d);
    if (!record_signed(c, c->durable.view, c->next_height, &d))
        return false;
    signature sig;
    sign_vote(c, TCRYPTO_TAG_PREPREPARE, c->durable.view, c->next_height, &d, &sig);
    c->last_proposed_time_ms = t;
    accept_preprepare(c, c->durable.view, b, &d, &sig);
    pbft_slot *s = slot_get(c, c->next_height);
    send_vote(c, PBFT_MSG_PREPREPARE, PBFT_BROADCAST, c->durable.view, s->height, &d, &sig,
              &s->batch);
    c->next_height++;
    c->pending_since_ms = c->now_ms;
    return true;
}

static void try_propose(pbft_core *c)
{
    const pbft_valset *set = cur_set(c);
    if (c->durable.view_changing || !is_member(set) ||
        primary_in(set, c->durable.view) != set->me)
        return;
    if (c->next_height <= c->last_delivered)
        c->next_height = c->last_delivered + 1;
    /* Adaptive batching: with nothing in flight a request goes out at once; while
     * batches are in flight, a partial batch waits up to batch_delay_ms to fill
     * (fewer, larger batches: the PBFT signatures per request shrink). */
    uint32_t in_flight = 0;
    for (uint32_t i = 0; i < PBFT_WINDOW; i++) {
        const pbft_slot *s = &c->slots[i];
        in_flight += s->height && s->has_preprepare && !s->delivered && s->view == c->durable.view;
    }
    bool force = in_flight == 0 || c->now_ms >= c->pending_since_ms + c->cfg.batch_delay_ms;
    for (uint32_t i = 0; i < PBFT_WINDOW; i++)
        if (!propose_one(c, force))
            return;
}

/* ==== checkpoints ============================================================= */

static void garbage_collect(pbft_core *c)
{
    for (uint32_t i = 0; i < PBFT_WINDOW; i++) {
        if (c->slots[i].height && c->slots[i].height <= low_mark(c))
            memset(&c->slots[i], 0, sizeof c->slots[i]);
        if (c->durable.has_prepared[i] &&
            c->durable.prepared[i].batch.header.height <= low_mark(c))
            c->durable.has_prepared[i] = false;
    }
}

static void emit_result_cert(pbft_core *c, const codec_result_cert *cert)
{
    if (c->ready.stable_count < PBFT_WINDOW + 2)
        c->ready.stable[c->ready.stable_count++] = *cert;
}

static void build_view_change(pbft_core *c);
static void send_view_change(pbft_core *c);
static void try_new_view(pbft_core *c);
static void try_propose(pbft_core *c);

/* Move the low watermark to a certified height. `from_new_view`: adopted while entering
 * a view (nothing is replayed or re-sent; enter_view goes on). */
static void move_stable(pbft_core *c, const codec_result_cert *cert, bool from_new_view)
{
    const pbft_valset *before = cur_set(c);
    c->durable.stable = *cert;
    if (c->stable_ahead.height <= cert->height)
        memset(&c->stable_ahead, 0, sizeof c->stable_ahead);
    garbage_collect(c);
    mark_persist(c);
    if (!c->durable.view_changing) {
        replay_future(c); /* what was held above the old high watermark, or in this set */
        if (cur_set(c) != before)
            try_propose(c); /* the boundary opened: the held requests go out at once */
    } else if (cur_set(c) != before && !from_new_view) {
        /* Changing view as my window moves into the next set: my VIEW-CHANGE of the old
         * set counts there no more; one of the new set (its prepared set can only have
         * shrunk: nothing is prepared while changing view), if I am a validator of it. */
        build_view_change(c);
        send_view_change(c);
        try_new_view(c);
    }
}

/* A checkpoint became certified (2f+1 matching). It certifies its block at once, but
 * the low watermark moves to it only if I have delivered it: checkpoints are taken at
 * every height, so a replica a few heights behind the others (its own checks of a
 * batch's txs took longer) would otherwise drop the heights it was finishing and fetch
 * them (measured: a backup fetched half the heights of a loaded cluster). Such a
 * height becomes my stable checkpoint when I have executed it (pbft_executed). */
static void set_stable(pbft_core *c, const codec_result_cert *cert)
{
    emit_result_cert(c, cert);
    if (cert->height <= low_mark(c))
        return; /* a late certificate: certifies, moves nothing */
    if (cert->height <= c->last_delivered)
        move_stable(c, cert, false);
    else if (cert->height > c->stable_ahead.height)
        c->stable_ahead = *cert;
}

/* The certificate of 2f+1 matching checkpoints among v's, if there are that many. */
static bool checkpoint_quorum(const pbft_core *c, const pbft_checkpoint_votes *v,
                              codec_result_cert *cert)
{
    const pbft_valset *set = pbft_set_at(c, v->height);
    for (uint32_t a = 0; a < set->n; a++) {
        if (!v->seen[a])
            continue;
        memset(cert, 0, sizeof *cert);
        cert->height = v->height;
        cert->block_hash = v->block_hash[a];
        cert->state_hash = v->state_hash[a];
        cert->receipts_root = v->receipts_root[a];
        for (uint32_t b = 0; b < set->n; b++) {
            if (v->seen[b] && hash_eq(&v->block_hash[b], &cert->block_hash) &&
                hash_eq(&v->state_hash[b], &cert->state_hash) &&
                hash_eq(&v->receipts_root[b], &cert->receipts_root)) {
                cert->sigs[cert->sig_count].validator = b;
                cert->sigs[cert->sig_count].sig = v->sig[b];
                cert->sig_count++;
            }
        }
        if (cert->sig_count >= set->quorum) {
            cert->sig_count = set->quorum;
            return true;
        }
    }
    return false;
}

static void check_stable(pbft_core *c, pbft_checkpoint_votes *v)
{
    codec_result_cert cert;
    if (checkpoint_quorum(c, v, &cert)) {
        v->certified = true;
        set_stable(c, &cert);
    }
}

/* I executed h: if h was certified before I delivered it, it is my stable checkpoint now. */
static void stable_after_execution(pbft_core *c, pbft_height h)
{
    /* A fetched block's result certificate (checked under the set at h when it was
     * delivered, and just matched against my own execution, certified_results) certifies
     * h exactly as 2f+1 CHECKPOINTs would: handed to the host, and my stable checkpoint.
     * Without this a replica catching up alone (no live CHECKPOINTs: the load stopped)
     * kept its stable checkpoint where it restarted and its fetched heights uncertified. */
    const codec_result_cert *fetched = &c->certified[h % PBFT_WINDOW];
    if (fetched->height == h)
        emit_result_cert(c, fetched);
    if (h <= low_mark(c))
        return;
    codec_result_cert cert;
    const pbft_checkpoint_votes *v = &c->checkpoints[h % PBFT_CHECKPOINT_SLOTS];
    if (fetched->height == h)
        cert = *fetched;
    else if (c->stable_ahead.height == h)
        cert = c->stable_ahead;
    else if (v->height != h || !v->certified || !checkpoint_quorum(c, v, &cert))
        return;
    move_stable(c, &cert, false);
}

/* Votes are kept for heights in (low - WINDOW, low + SLOTS - WINDOW]: those
 * just below the stable checkpoint still get their result certificate when
 * their checkpoints arrive after a higher one's. */
static bool checkpoint_in_range(const pbft_core *c, pbft_height h)
{
    pbft_height low = low_mark(c);
    return h + PBFT_WINDOW > low && h <= low + PBFT_CHECKPOINT_SLOTS - PBFT_WINDOW && h > 0;
}

static pbft_checkpoint_votes *checkpoint_votes(pbft_core *c, pbft_height h)
{
    if (!checkpoint_in_range(c, h))
        return NULL;
    pbft_checkpoint_votes *v = &c->checkpoints[h % PBFT_CHECKPOINT_SLOTS];
    if (v->height != h) {
        memset(v, 0, sizeof *v);
        v->height = h;
    }
    return v;
}

static void record_checkpoint(pbft_core *c, const pbft_msg *m)
{
    if (m->height > c->peer_checkpoint[m->from])
        c->peer_checkpoint[m->from] = m->height;
    pbft_checkpoint_votes *v = checkpoint_votes(c, m->height);
    if (!v || v->seen[m->from] || v->certified)
        return;
    v->seen[m->from] = true;
    v->block_hash[m->from] = m->block_hash;
    v->state_hash[m->from] = m->state_hash;
    v->receipts_root[m->from] = m->receipts_root;
    v->sig[m->from] = m->sig;
    check_stable(c, v);
}

static void checkpoint_cert_of(const pbft_msg *m, codec_result_cert *cp)
{
    memset(cp, 0, sizeof *cp);
    cp->height = m->height;
    cp->block_hash = m->block_hash;
    cp->state_hash = m->state_hash;
    cp->receipts_root = m->receipts_root;
}

static pbft_err on_checkpoint(pbft_core *c, const pbft_msg *m)
{
    if (m->height == 0)
        return PBFT_ERR_MALFORMED;
    const pbft_valset *set = pbft_set_at(c, m->height);
    if (!checkpoint_in_range(c, m->height) && m->height <= low_mark(c))
        return PBFT_ERR_STALE;
    const pbft_checkpoint_votes *v = &c->checkpoints[m->height % PBFT_CHECKPOINT_SLOTS];
    if (v->height == m->height && (v->certified || v->seen[m->from]))
        return PBFT_ERR_STALE;
    codec_result_cert cp;
    checkpoint_cert_of(m, &cp);
    uint8_t buf[256];
    codec_buf b = codec_buf_make(buf, sizeof buf);
    checkpoint_fields(&cp, &b);
    if (!verify_in(c, set, m->from, TCRYPTO_TAG_CHECKPOINT, buf, b.len, &m->sig))
        return PBFT_ERR_SIGNATURE;
    if (!set_known(c, m->height)) {
        /* Its set may not be known yet (checked under the last one known): only a
         * hint of how far the peers are, for catch-up (fetched blocks are checked
         * against their certificates); never a vote. */
        if (m->height > c->peer_checkpoint[m->from])
            c->peer_checkpoint[m->from] = m->height;
        return PBFT_OK;
    }
    record_checkpoint(c, m);
    return PBFT_OK;
}

/* Re-send my latest checkpoint (kept outside the vote table, which the
 * stable checkpoint clears): laggards learn from it how far the others are. */
static void send_own_checkpoint(pbft_core *c)
{
    if (c->my_checkpoint.height == 0)
        return;
    pbft_out *o = out_push(c, pbft_set_at(c, c->my_checkpoint.height), PBFT_BROADCAST, false);
    if (o)
        o->msg = c->my_checkpoint;
}

/* ==== view change =============================================================== */

/* A result certificate, under the set in force at its height. */
static bool verify_stable_cert(const pbft_core *c, const codec_result_cert *cert)
{
    if (cert->height == 0)
        return cert->sig_count == 0;
    const pbft_valset *set = pbft_set_at(c, cert->height);
    if (!set_known(c, cert->height) || set_dropped(c, cert->height) ||
        cert->sig_count < set->quorum ||
        cert->sig_count > PBFT_QUORUM_MAX)
        return false;
    uint8_t buf[256];
    codec_buf b = codec_buf_make(buf, sizeof buf);
    checkpoint_fields(cert, &b);
    for (uint32_t i = 0; i < cert->sig_count; i++) {
        if (cert->sigs[i].validator >= set->n ||
            (i > 0 && cert->sigs[i].validator <= cert->sigs[i - 1].validator))
            return false;
        if (!verify_in(c, set, cert->sigs[i].validator, TCRYPTO_TAG_CHECKPOINT, buf, b.len,
                       &cert->sigs[i].sig))
            return false;
    }
    return true;
}

static bool verify_prepared_cert(const pbft_core *c, const pbft_prepared_cert *pc)
{
    pbft_height h = pc->batch.header.height;
    const pbft_valset *set = pbft_set_at(c, h);
    if (!pbft_batch_matches(&pc->batch) || pc->prepare_count < 2 * set->f ||
        pc->prepare_count > PBFT_QUORUM_MAX || !set_known(c, h))
        return false;
    hash32 d;
    codec_batch_hash(&pc->batch.header, &d);
    pbft_replica primary = primary_in(set, pc->view);
    if (!verify_vote(c, primary, TCRYPTO_TAG_PREPREPARE, pc->view, h, &d, &pc->preprepare_sig))
        return false;
    for (uint32_t i = 0; i < pc->prepare_count; i++) {
        pbft_replica r = pc->prepares[i].validator;
        if (r >= set->n || r == primary || (i > 0 && r <= pc->prepares[i - 1].validator))
            return false;
        if (!verify_vote(c, r, TCRYPTO_TAG_PREPARE, pc->view, h, &d, &pc->prepares[i].sig))
            return false;
    }
    return true;
}

/* SHA-256 of the view-change body (the new-view refers to it). */
static void view_change_body(const pbft_view_change *vc, uint8_t *buf, size_t cap, size_t *len)
{
    codec_pbft_entry e[PBFT_WINDOW];
    for (uint32_t i = 0; i < vc->prepared_count && i < PBFT_WINDOW; i++) {
        e[i].height = vc->prepared[i].batch.header.height;
        e[i].view = vc->prepared[i].view;
        codec_batch_hash(&vc->prepared[i].batch.header, &e[i].batch_hash);
    }
    hash32 sd;
    memset(&sd, 0, sizeof sd);
    if (vc->stable.height > 0) {
        uint8_t cb[256];
        codec_buf b = codec_buf_make(cb, sizeof cb);
        checkpoint_fields(&vc->stable, &b);
        tcrypto_sha256(cb, b.len, &sd);
    }
    codec_buf b = codec_buf_make(buf, cap);
    codec_err rc = codec_pbft_view_change_body_encode(vc->new_view, vc->stable.height, &sd, e,
                                                      vc->prepared_count, &b);
    assert(rc == CODEC_OK);
    (void)rc;
    *len = b.len;
}

/* The set a VIEW-CHANGE runs under: the one of the height after its stable checkpoint
 * (docs/PBFT.md §14, rule 2). */
static const pbft_valset *vc_set_of(const pbft_core *c, const pbft_view_change *vc)
{
#ifdef TRIALREG_PBFT_BUG_VCSET
    /* Deliberately broken build: view changes run by the newest set known. */
    (void)vc;
    return &c->sets[c->set_count - 1];
#else
    return pbft_set_at(c, vc->stable.height + 1);
#endif
}

/* The set a NEW-VIEW runs under: the one after the highest stable checkpoint of its
 * VIEW-CHANGEs (its min-s; rule 3). */
static const pbft_valset *nv_set_of(const pbft_core *c, const pbft_new_view *nv)
{
    pbft_height min_s = 0;
    for (uint32_t i = 0; i < nv->vc_count && i < PBFT_QUORUM_MAX; i++)
        if (nv->vcs[i].stable.height > min_s)
            min_s = nv->vcs[i].stable.height;
    return pbft_set_at(c, min_s + 1);
}

static pbft_err verify_view_change(const pbft_core *c, const pbft_view_change *vc)
{
    if (vc->prepared_count > PBFT_WINDOW)
        return PBFT_ERR_MALFORMED;
    if (!set_known(c, vc->stable.height + 1))
        return PBFT_ERR_WATERMARK; /* its set may not be known to me yet */
    const pbft_valset *set = vc_set_of(c, vc);
    if (vc->sender >= set->n)
        return PBFT_ERR_MEMBER;
    if (!verify_stable_cert(c, &vc->stable))
        return PBFT_ERR_CERT;
    pbft_height prev = vc->stable.height;
    for (uint32_t i = 0; i < vc->prepared_count; i++) {
        const pbft_prepared_cert *pc = &vc->prepared[i];
        pbft_height h = pc->batch.header.height;
        if (h <= prev || h > vc->stable.height + PBFT_WINDOW || pc->view >= vc->new_view)
            return PBFT_ERR_MALFORMED;
        if (pbft_set_at(c, h) != set)
            return PBFT_ERR_CERT; /* prepared in another set than the one it runs under */
        if (!verify_prepared_cert(c, pc))
            return PBFT_ERR_CERT;
        prev = h;
    }
    uint8_t buf[BODY_MAX];
    size_t len;
    view_change_body(vc, buf, sizeof buf, &len);
    if (!verify_in(c, set, vc->sender, TCRYPTO_TAG_VIEWCHANGE, buf, len, &vc->sig))
        return PBFT_ERR_SIGNATURE;
    return PBFT_OK;
}

void pbft_view_change_sign(const pbft_core *c, pbft_view_change *vc)
{
    uint8_t buf[BODY_MAX];
    size_t len;
    view_change_body(vc, buf, sizeof buf, &len);
    bool ok = c->cfg.signer.sign(c->cfg.signer.ctx, vc_set_of(c, vc)->from,
                                 TCRYPTO_TAG_VIEWCHANGE, buf, len, &vc->sig);
    assert(ok);
    (void)ok;
}

/* My VIEW-CHANGE for my view, in the set of my window; a follower (no index in that set)
 * sends none. Records it as held from me. */
static void build_view_change(pbft_core *c)
{
    const pbft_valset *set = cur_set(c);
    if (!is_member(set))
        return;
    pbft_view_change *vc = &c->my_vc;
    memset(vc, 0, sizeof *vc);
    vc->new_view = c->durable.view;
    vc->sender = set->me;
    vc->stable = c->durable.stable;
    for (pbft_height h = low_mark(c) + 1; h <= low_mark(c) + PBFT_WINDOW; h++) {
        uint32_t i = (uint32_t)(h % PBFT_WINDOW);
        if (c->durable.has_prepared[i] && c->durable.prepared[i].batch.header.height == h)
            vc->prepared[vc->prepared_count++] = c->durable.prepared[i];
    }
    pbft_view_change_sign(c, vc);
    c->vcs[set->me] = *vc;
    c->vc_seen[set->me] = true;
    c->vc_set[set->me] = set->from;
}

static void send_view_change(pbft_core *c)
{
    const pbft_valset *set = cur_set(c);
    if (!is_member(set) || c->my_vc.new_view != c->durable.view ||
        vc_set_of(c, &c->my_vc) != set)
        return; /* a follower, or my VIEW-CHANGE is of an earlier set */
    pbft_out *o = out_push(c, set, PBFT_BROADCAST, true);
    if (!o)
        return;
    o->msg.type = PBFT_MSG_VIEW_CHANGE;
    o->msg.view_change = &c->my_vc;
}

static void send_new_view(pbft_core *c, pbft_replica to)
{
    pbft_out *o = out_push(c, nv_set_of(c, &c->my_nv), to, true);
    if (!o)
        return;
    o->msg.type = PBFT_MSG_NEW_VIEW;
    o->msg.view = c->my_nv.view;
    o->msg.new_view = &c->my_nv;
}

/* The re-issued pre-prepares that a set of view-changes implies. */
bool pbft_reissue(const pbft_view_change *vcs, uint32_t count,
                            pbft_height *from, uint32_t *n_out, hash32 *digests,
                            const pbft_batch **batches)
{
    pbft_height min_s = 0, max_s = 0;
    for (uint32_t i = 0; i < count; i++)
        if (vcs[i].stable.height > min_s)
            min_s = vcs[i].stable.height;
    max_s = min_s;
    for (uint32_t i = 0; i < count; i++)
        for (uint32_t j = 0; j < vcs[i].prepared_count; j++)
            if (vcs[i].prepared[j].batch.header.height > max_s)
                max_s = vcs[i].prepared[j].batch.header.height;
    if (max_s - min_s > PBFT_WINDOW)
        return false;
    *from = min_s;
    *n_out = (uint32_t)(max_s - min_s);
    for (pbft_height h = min_s + 1; h <= max_s; h++) {
        const pbft_prepared_cert *best = NULL;
        for (uint32_t i = 0; i < count; i++)
            for (uint32_t j = 0; j < vcs[i].prepared_count; j++) {
                const pbft_prepared_cert *pc = &vcs[i].prepared[j];
                if (pc->batch.header.height == h && (!best || pc->view > best->view))
                    best = pc;
            }
        uint32_t k = (uint32_t)(h - min_s - 1);
        batches[k] = best ? &best->batch : NULL;
        if (best) {
            codec_batch_hash(&best->batch.header, &digests[k]);
        } else {
            pbft_batch nb;
            null_batch(&nb, h);
            codec_batch_hash(&nb.header, &digests[k]);
        }
    }
    return true;
}

static void new_view_body(const pbft_new_view *nv, uint8_t *buf, size_t cap, size_t *len)
{
    codec_pbft_entry vcs[PBFT_QUORUM_MAX], re[PBFT_WINDOW];
    for (uint32_t i = 0; i < nv->vc_count; i++) {
        uint8_t vb[BODY_MAX];
        size_t vlen;
        view_change_body(&nv->vcs[i], vb, sizeof vb, &vlen);
        vcs[i].height = 0;
        vcs[i].view = nv->vcs[i].sender;
        tcrypto_sha256(vb, vlen, &vcs[i].batch_hash);
    }
    for (uint32_t i = 0; i < nv->reissued_count; i++) {
        re[i].height = nv->reissued_from + 1 + i;
        re[i].view = 0;
        re[i].batch_hash = nv->reissued[i];
    }
    codec_buf b = codec_buf_make(buf, cap);
    codec_err rc = codec_pbft_new_view_body_encode(nv->view, vcs, nv->vc_count, re,
                                                   nv->reissued_count, &b);
    assert(rc == CODEC_OK);
    (void)rc;
    *len = b.len;
}

static void enter_view(pbft_core *c, const pbft_new_view *nv);

void pbft_new_view_sign(const pbft_core *c, pbft_new_view *nv)
{
    uint8_t buf[BODY_MAX];
    size_t len;
    new_view_body(nv, buf, sizeof buf, &len);
    bool ok = c->cfg.signer.sign(c->cfg.signer.ctx, nv_set_of(c, nv)->from, TCRYPTO_TAG_NEWVIEW,
                                 buf, len, &nv->sig);
    assert(ok);
    (void)ok;
}

/* New primary: with a quorum of view-changes for my view, issue NEW-VIEW. */
static void try_new_view(pbft_core *c)
{
    pbft_view v = c->durable.view;
    const pbft_valset *set = cur_set(c);
    if (!c->durable.view_changing || !is_member(set) || primary_in(set, v) != set->me)
        return;
    pbft_new_view *nv = &c->my_nv;
    memset(nv, 0, sizeof *nv);
    nv->view = v;
    for (uint32_t r = 0; r < set->n && nv->vc_count < set->quorum; r++)
        if (c->vc_seen[r] && c->vc_set[r] == set->from && c->vcs[r].new_view == v)
            nv->vcs[nv->vc_count++] = c->vcs[r];
    if (nv->vc_count < set->quorum)
        return;
    const pbft_batch *batches[PBFT_WINDOW];
    if (!pbft_reissue(nv->vcs, nv->vc_count, &nv->reissued_from, &nv->reissued_count,
                         nv->reissued, batches))
        return;
    for (uint32_t i = 0; i < nv->reissued_count; i++)
        sign_vote(c, TCRYPTO_TAG_PREPREPARE, v, nv->reissued_from + 1 + i, &nv->reissued[i],
                  &nv->reissued_sig[i]);
    pbft_new_view_sign(c, nv);
    c->nv_sent = true;
    c->ready.new_view = nv; /* the host keeps it: a restart re-sends it (§10) */
    mark_persist(c);
    send_new_view(c, PBFT_BROADCAST);
    enter_view(c, nv);
}

static void start_view_change(pbft_core *c, pbft_view v)
{
    assert(v > c->durable.view || (v == c->durable.view && !c->durable.view_changing));
    c->durable.view = v;
    c->durable.view_changing = true;
    c->progress_ms = c->now_ms;
    c->timer.started_ms = c->now_ms; /* held until 2f+1 ask for v (pbft_tick) */
    if (c->backoff < 16)
        c->backoff++;
    c->nv_sent = false;
    mark_persist(c);
    build_view_change(c); /* none for a follower: it only waits for the NEW-VIEW */
    send_view_change(c);
    try_new_view(c);
}

/* Is the VIEW-CHANGE held from r one of the set of my window? */
static bool vc_counts(const pbft_core *c, const pbft_valset *set, pbft_replica r)
{
    return c->vc_seen[r] && c->vc_set[r] == set->from;
}

/* Join the smallest view above mine that f+1 others of my window's set ask for. */
static void maybe_join(pbft_core *c)
{
    const pbft_valset *set = cur_set(c);
    pbft_view cur = c->durable.view, smallest = 0;
    uint32_t k = 0;
    for (uint32_t r = 0; r < set->n; r++) {
        if (r == set->me || !vc_counts(c, set, r) || c->vcs[r].new_view <= cur)
            continue;
        k++;
        if (!smallest || c->vcs[r].new_view < smallest)
            smallest = c->vcs[r].new_view;
    }
    if (k < set->f + 1)
        return;
    start_view_change(c, smallest);
}

static pbft_err on_view_change(pbft_core *c, const pbft_msg *m)
{
    const pbft_view_change *vc = m->view_change;
    if (!vc || vc->sender != m->from)
        return PBFT_ERR_MALFORMED;
    if (vc->new_view < c->durable.view ||
        (vc->new_view == c->durable.view && !c->durable.view_changing))
        return PBFT_ERR_STALE;
    if (!set_known(c, vc->stable.height + 1))
        return PBFT_ERR_WATERMARK;
    const pbft_valset *set = vc_set_of(c, vc);
    if (set->from < cur_set(c)->from)
        return PBFT_ERR_STALE; /* of a set no longer in force at my window (rule 4) */
    if (c->vc_seen[m->from] && c->vc_set[m->from] >= set->from &&
        c->vcs[m->from].new_view >= vc->new_view)
        return PBFT_ERR_STALE;
    pbft_err e = verify_view_change(c, vc);
    if (e != PBFT_OK)
        return e;
    c->vcs[m->from] = *vc;
    c->vc_seen[m->from] = true;
    c->vc_set[m->from] = set->from;
    /* A VIEW-CHANGE of a later set than my window's carries a result certificate at or
     * past the boundary - 1 (checked under the old set): the boundary has passed while
     * I missed those checkpoints (e.g. their signers restarted, with nothing of their
     * own to re-send). Adopt it, so that my window moves into that set and my
     * VIEW-CHANGEs count there; without it, the replicas ahead and behind waited on each
     * other for ever (simulator, mix reconfig, seed 204). */
    if (set->from > cur_set(c)->from && vc->stable.height > low_mark(c))
        set_stable(c, &vc->stable);
    maybe_join(c);
    try_new_view(c);
    return PBFT_OK;
}

static pbft_err verify_new_view(const pbft_core *c, const pbft_new_view *nv,
                                const pbft_batch **batches)
{
    if (nv->vc_count > PBFT_QUORUM_MAX || nv->reissued_count > PBFT_WINDOW)
        return PBFT_ERR_MALFORMED;
    for (uint32_t i = 0; i < nv->vc_count; i++)
        if (!set_known(c, nv->vcs[i].stable.height + 1))
            return PBFT_ERR_WATERMARK;
    const pbft_valset *set = nv_set_of(c, nv);
    if (nv->vc_count < set->quorum)
        return PBFT_ERR_MALFORMED;
    for (uint32_t i = 0; i < nv->vc_count; i++) {
        if (nv->vcs[i].new_view != nv->view)
            return PBFT_ERR_VIEW;
        if (vc_set_of(c, &nv->vcs[i]) != set)
            return PBFT_ERR_NEWVIEW; /* a VIEW-CHANGE of an earlier set counts for none */
        for (uint32_t j = 0; j < i; j++)
            if (nv->vcs[j].sender == nv->vcs[i].sender)
                return PBFT_ERR_MALFORMED;
        pbft_err e = verify_view_change(c, &nv->vcs[i]);
        if (e != PBFT_OK)
            return e;
    }
    pbft_height from;
    uint32_t count;
    hash32 digests[PBFT_WINDOW];
    if (!pbft_reissue(nv->vcs, nv->vc_count, &from, &count, digests, batches))
        return PBFT_ERR_NEWVIEW;
#ifndef TRIALREG_PBFT_BUG_NEWVIEW
    if (from != nv->reissued_from || count != nv->reissued_count)
        return PBFT_ERR_NEWVIEW;
    for (uint32_t i = 0; i < count; i++)
        if (!hash_eq(&digests[i], &nv->reissued[i]))
            return PBFT_ERR_NEWVIEW;
#else
    /* Deliberately broken build: trusts the primary's re-issued digests. */
    if (from != nv->reissued_from || count != nv->reissued_count)
        return PBFT_ERR_NEWVIEW;
    for (uint32_t i = 0; i < count; i++)
        if (!hash_eq(&digests[i], &nv->reissued[i]))
            batches[i] = NULL; /* becomes a null batch below */
#endif
    pbft_replica primary = primary_in(set, nv->view);
    for (uint32_t i = 0; i < count; i++)
        if (pbft_set_at(c, from + 1 + i) != set ||
            !verify_vote(c, primary, TCRYPTO_TAG_PREPREPARE, nv->view, from + 1 + i,
                         &nv->reissued[i], &nv->reissued_sig[i]))
            return PBFT_ERR_SIGNATURE;
    uint8_t buf[BODY_MAX];
    size_t len;
    new_view_body(nv, buf, sizeof buf, &len);
    if (!verify_in(c, set, primary, TCRYPTO_TAG_NEWVIEW, buf, len, &nv->sig))
        return PBFT_ERR_SIGNATURE;
    return PBFT_OK;
}

static void adopt_stable_from(pbft_core *c, const pbft_new_view *nv)
{
    for (uint32_t i = 0; i < nv->vc_count; i++)
        if (nv->vcs[i].stable.height == nv->reissued_from && nv->reissued_from > low_mark(c)) {
            emit_result_cert(c, &nv->vcs[i].stable); /* the new view starts above it */
            move_stable(c, &nv->vcs[i].stable, true);
        }
}

/* Install the new view: re-issued pre-prepares, clear the rest of the window. */
static void enter_view(pbft_core *c, const pbft_new_view *nv)
{
    const pbft_batch *batches[PBFT_WINDOW];
    hash32 digests[PBFT_WINDOW];
    pbft_height from;
    uint32_t count;
    pbft_reissue(nv->vcs, nv->vc_count, &from, &count, digests, batches);
    c->durable.view = nv->view;
    c->progress_ms = c->now_ms; /* the view-change timer keeps running (§8) */
    mark_persist(c);
#ifdef TRIALREG_PBFT_BUG_ENTERVIEW
    /* Deliberately broken build (simulator self-test): the view is entered before the
     * stable checkpoint is adopted, so adopting it replays held fresh pre-prepares of
     * the new view before the re-issued ones are installed. */
    c->durable.view_changing = false;
#endif
    /* Still changing view here: adopting min-s replays nothing (move_stable). */
    adopt_stable_from(c, nv);
    c->durable.view_changing = false;
    for (uint32_t r = 0; r < PBFT_N_MAX; r++)
        if (c->vc_seen[r] && c->vcs[r].new_view <= nv->view)
            c->vc_seen[r] = false;
    for (uint32_t i = 0; i < PBFT_WINDOW; i++)
        if (c->slots[i].height > nv->reissued_from + nv->reissued_count)
            slot_reset_votes(&c->slots[i]);
    for (uint32_t i = 0; i < nv->reissued_count; i++) {
        pbft_height h = nv->reissued_from + 1 + i;
        if (!in_window(c, h))
            continue;
        pbft_batch nb;
        const pbft_batch *b = batches[i];
        if (!b || !hash_eq(&digests[i], &nv->reissued[i])) {
            null_batch(&nb, h);
            b = &nb;
        }
        hash32 d;
        codec_batch_hash(&b->header, &d);
        if (record_signed(c, nv->view, h, &d))
            accept_preprepare(c, nv->view, b, &d, &nv->reissued_sig[i]);
    }
    c->reissued_to = nv->reissued_from + nv->reissued_count;
    c->next_height = c->reissued_to + 1;
    replay_future(c); /* only now: the re-issued pre-prepares are installed */
    try_propose(c);
}

static pbft_err on_new_view(pbft_core *c, const pbft_msg *m)
{
    const pbft_new_view *nv = m->new_view;
    if (!nv || nv->vc_count > PBFT_QUORUM_MAX)
        return PBFT_ERR_MALFORMED;
    if (nv->view < c->durable.view ||
        (nv->view == c->durable.view && !c->durable.view_changing))
        return PBFT_ERR_STALE;
    for (uint32_t i = 0; i < nv->vc_count; i++)
        if (!set_known(c, nv->vcs[i].stable.height + 1))
            return PBFT_ERR_WATERMARK;
    const pbft_valset *set = nv_set_of(c, nv);
    if (m->from != primary_in(set, nv->view))
        return PBFT_ERR_MALFORMED;
    if (set->from < cur_set(c)->from)
        return PBFT_ERR_STALE; /* run by a set no longer in force at my window (rule 4) */
    const pbft_batch *batches[PBFT_WINDOW];
    pbft_err e = verify_new_view(c, nv, batches);
    if (e != PBFT_OK)
        return e;
    enter_view(c, nv);
    return PBFT_OK;
}

/* ==== catch-up ================================================================ */

pbft_err pbft_verify_commit_cert(const pbft_core *c, const pbft_batch *batch,
                                 const codec_commit_cert *cert)
{
    if (!pbft_batch_matches(batch))
        return PBFT_ERR_DIGEST;
    hash32 d;
    codec_batch_hash(&batch->header, &d);
    if (cert->height != batch->header.height || !hash_eq(&cert->batch_hash, &d))
        return PBFT_ERR_DIGEST;
    if (!set_known(c, cert->height))
        return PBFT_ERR_WATERMARK; /* its set may not be known yet: execute up to it first */
    if (set_dropped(c, cert->height))
        return PBFT_ERR_STALE;
    const pbft_valset *set = pbft_set_at(c, cert->height);
    if (cert->sig_count < set->quorum || cert->sig_count > CODEC_VALIDATORS_MAX)
        return PBFT_ERR_CERT;
    for (uint32_t i = 0; i < cert->sig_count; i++) {
        pbft_replica r = cert->sigs[i].validator;
        if (r >= set->n)
            return PBFT_ERR_MEMBER; /* e.g. a validator removed at or below this height */
        if (i > 0 && r <= cert->sigs[i - 1].validator)
            return PBFT_ERR_CERT;
        if (!verify_vote(c, r, TCRYPTO_TAG_COMMIT, cert->view, cert->height, &d,
                         &cert->sigs[i].sig))
            return PBFT_ERR_SIGNATURE;
    }
    return PBFT_OK;
}

pbft_err pbft_verify_result_cert(const pbft_core *c, const codec_result_cert *cert)
{
    if (cert->height == 0)
        return PBFT_ERR_MALFORMED;
    if (!set_known(c, cert->height))
        return PBFT_ERR_WATERMARK;
    if (set_dropped(c, cert->height))
        return PBFT_ERR_STALE;
    const pbft_valset *set = pbft_set_at(c, cert->height);
    for (uint32_t i = 0; i < cert->sig_count && i < PBFT_QUORUM_MAX; i++)
        if (cert->sigs[i].validator >= set->n)
            return PBFT_ERR_MEMBER;
    return verify_stable_cert(c, cert) ? PBFT_OK : PBFT_ERR_CERT;
}

pbft_err pbft_deliver_block(pbft_core *c, const pbft_batch *batch, const codec_commit_cert *cert,
                            const codec_result_cert *result)
{
    if (batch->header.height != c->last_delivered + 1)
        return PBFT_ERR_STALE;
    pbft_err e = pbft_verify_commit_cert(c, batch, cert);
    if (e != PBFT_OK)
        return e;
    bool has_result = result && result->height != 0;
    if (has_result) {
        if (result->height != batch->header.height)
            return PBFT_ERR_MALFORMED;
        e = pbft_verify_result_cert(c, result);
        if (e != PBFT_OK)
            return e;
    }
    if (c->ready.committed_count == PBFT_WINDOW)
        return PBFT_ERR_FULL; /* drain the ready first */
    if (has_result)
        c->certified[batch->header.height % PBFT_WINDOW] = *result;
    deliver(c, batch, cert);
    try_deliver(c);
    return PBFT_OK;
}

/* After a long stall, the highest height any one peer reports executed. The f+1 rule
 * (below) keeps one byzantine peer from sending this replica after heights nobody has;
 * but when a faulty replica falls silent, the only peer ahead may be a single correct one
 * while the others are as stuck as this one (simulator: twins seed 541, two correct
 * replicas in different view changes, the third one done and idle, so nothing times out).
 * Fetching on one peer's word is safe: every fetched block is checked against its commit
 * certificate. What a lying peer costs is a fetch request per retransmit_ms while stalled. */
static pbft_height single_peer_target(const pbft_core *c)
{
    if (c->now_ms < c->delivered_ms + 4 * c->cfg.retransmit_ms)
        return 0;
    /* Peers' checkpoints are kept by sender index, whatever the set (hints only). */
    pbft_height target = 0;
    for (uint32_t a = 0; a < PBFT_N_MAX; a++)
        if (a != cur_set(c)->me && c->peer_checkpoint[a] > target)
            target = c->peer_checkpoint[a];
    return target;
}

/* Heights f+1 peers have executed (so a correct one holds them) but I have not:
 * fetch them when I am far behind or stalled (see below). */
static void maybe_fetch(pbft_core *c)
{
    if (c->fetch_sent_ms && c->now_ms < c->fetch_sent_ms + c->cfg.retransmit_ms)
        return;
    const pbft_valset *set = cur_set(c);
    pbft_height target = low_mark(c);
    for (uint32_t a = 0; a < set->n; a++) {
        uint32_t at_least = 0;
        for (uint32_t b = 0; b < set->n; b++)
            if (b != set->me && c->peer_checkpoint[b] >= c->peer_checkpoint[a])
                at_least++;
        if (a != set->me && at_least >= set->f + 1 && c->peer_checkpoint[a] > target)
            target = c->peer_checkpoint[a];
    }
    if (target <= c->last_delivered)
        target = single_peer_target(c);
    if (target <= c->last_delivered)
        return;
    /* A replica behind while the normal case still delivers to it is just slower (a
     * loaded machine): fetching would process those heights twice (and make it slower
     * still). It fetches when nothing was delivered for a while, or when it is so far
     * behind (a restart) that the normal case cannot bring it back. */
    if (target < c->last_delivered + 4 * PBFT_WINDOW &&
        c->now_ms < c->delivered_ms + c->cfg.retransmit_ms)
        return;
    c->ready.fetch_from = c->last_delivered + 1;
    c->ready.fetch_to = target;
    c->fetch_sent_ms = c->now_ms;
}

/* ==== timers ================================================================== */

static void retransmit(pbft_core *c)
{
    pbft_view v = c->durable.view;
    if (c->durable.view_changing) {
        send_view_change(c);
    } else {
        if (c->nv_sent && c->my_nv.view == v)
            send_new_view(c, PBFT_BROADCAST);
        /* The normal case is re-sent only when nothing was delivered for a whole
         * interval: under load the retransmissions (a PRE-PREPARE carries its txs)
         * cost more than they help, and a replica that lost messages while the
         * others went on catches up by fetching (§9). */
        bool stalled = c->now_ms >= c->progress_ms + c->cfg.retransmit_ms;
        for (uint32_t i = 0; stalled && i < PBFT_WINDOW; i++) {
            pbft_slot *s = &c->slots[i];
            if (!s->height || !s->has_preprepare || s->view != v)
                continue;
            const pbft_valset *set = pbft_set_at(c, s->height);
            pbft_replica me = set->me;
            if (!is_member(set))
                continue;
            if (primary_in(set, v) == me)
                send_vote(c, PBFT_MSG_PREPREPARE, PBFT_BROADCAST, v, s->height, &s->digest,
                          &s->preprepare_sig, &s->batch);
            else if (s->prepare_seen[me])
                send_vote(c, PBFT_MSG_PREPARE, PBFT_BROADCAST, v, s->height, &s->digest,
                          &s->prepare_sig[me], NULL);
            if (s->sent_commit)
                send_vote(c, PBFT_MSG_COMMIT, PBFT_BROADCAST, v, s->height, &s->digest,
                          &s->commit_sig[me], NULL);
        }
    }
    send_own_checkpoint(c);
}

static uint32_t count_view_changes(const pbft_core *c, pbft_view v)
{
    const pbft_valset *set = cur_set(c);
    uint32_t k = 0;
    for (uint32_t r = 0; r < set->n; r++) /* asking for more agrees v failed */
        k += vc_counts(c, set, r) && c->vcs[r].new_view >= v;
    return k;
}

void pbft_tick(pbft_core *c, uint64_t now_ms, uint64_t wall_ms)
{
    if (now_ms > c->now_ms)
        c->now_ms = now_ms;
    c->wall_ms = wall_ms; /* may step back (NTP): block times stay increasing (§7) */
    /* A follower (no index in the set of its window) never starts a view change: it
     * joins one when f+1 validators ask (maybe_join) and enters on the NEW-VIEW. */
    bool member = is_member(cur_set(c));
    if (c->durable.view_changing) {
        /* Castro-Liskov: the timer for the next view runs only once 2f+1
         * replicas ask for this one, so one replica cannot race ahead alone. */
        if (count_view_changes(c, c->durable.view) < cur_set(c)->quorum)
            c->timer.started_ms = c->now_ms;
        else if (timer_expired(c) && member)
            start_view_change(c, c->durable.view + 1);
    } else {
        timer_arm(c);
        if (!c->timer.running)
            c->progress_ms = c->now_ms; /* idle: nothing to retransmit */
        else if (timer_expired(c) && member)
            start_view_change(c, c->durable.view + 1);
    }
    if (c->now_ms >= c->last_retransmit_ms + c->cfg.retransmit_ms) {
        c->last_retransmit_ms = c->now_ms;
        retransmit(c);
    }
    maybe_fetch(c);
    try_propose(c);
}

/* ==== entry points ============================================================= */

static bool valid_n(uint32_t n) { return n >= 4 && n <= PBFT_N_MAX && (n - 1) % 3 == 0; }

static pbft_valset make_set(pbft_height from, uint32_t n, pbft_replica me)
{
    pbft_valset set = {.from = from, .n = n, .f = (n - 1) / 3, .me = me};
    set.quorum = 2 * set.f + 1;
    return set;
}

pbft_err pbft_init(pbft_core *c, const pbft_config *cfg)
{
    if (!valid_n(cfg->n) || (cfg->id >= cfg->n && cfg->id != PBFT_NOT_MEMBER) ||
        !cfg->signer.sign || !cfg->signer.verify || cfg->batch_max > PBFT_BATCH_MAX)
        return PBFT_ERR_MALFORMED;
    memset(c, 0, sizeof *c);
    c->cfg = *cfg;
    if (c->cfg.batch_max == 0)
        c->cfg.batch_max = PBFT_BATCH_MAX;
    if (c->cfg.propose_max == 0 || c->cfg.propose_max > c->cfg.batch_max)
        c->cfg.propose_max = c->cfg.batch_max;
    if (c->cfg.batch_bytes_max && !c->cfg.request_bytes)
        return PBFT_ERR_MALFORMED;
    c->sets[0] = make_set(0, cfg->n, cfg->id);
    c->set_count = 1;
    c->next_height = 1;
    return PBFT_OK;
}

/* Drop sets[0] if no height of it can be asked about any more: checkpoint votes are
 * kept from PBFT_WINDOW below the low watermark (checkpoint_in_range). */
static bool drop_oldest_set(pbft_core *c)
{
    if (c->set_count < 2 || c->sets[1].from + PBFT_WINDOW > low_mark(c))
        return false;
    memmove(&c->sets[0], &c->sets[1], (c->set_count - 1) * sizeof c->sets[0]);
    c->set_count--;
    return true;
}

pbft_err pbft_reconfigure(pbft_core *c, pbft_height committed_at, pbft_height boundary,
                          uint32_t n_new, pbft_replica my_id_new)
{
    if (!valid_n(n_new) || (my_id_new >= n_new && my_id_new != PBFT_NOT_MEMBER) ||
        boundary <= committed_at + PBFT_WINDOW)
        return PBFT_ERR_MALFORMED;
    for (uint32_t i = 1; i < c->set_count; i++)
        if (c->sets[i].from == boundary)
            return c->sets[i].n == n_new && c->sets[i].me == my_id_new ? PBFT_OK
                                                                      : PBFT_ERR_MALFORMED;
    if (boundary <= c->sets[c->set_count - 1].from)
        return PBFT_ERR_MALFORMED;
    if (set_known(c, boundary))
        return PBFT_ERR_STALE; /* heights of it may have been checked under the old set */
    if (c->set_count == PBFT_SETS_MAX && !drop_oldest_set(c))
        return PBFT_ERR_FULL;
    c->sets[c->set_count++] = make_set(boundary, n_new, my_id_new);
    return PBFT_OK;
}

pbft_err pbft_rebase(pbft_core *c, pbft_height from, uint32_t n, pbft_replica me)
{
    bool fresh = c->set_count == 1 && c->sets[0].from == 0 && c->last_executed == 0 &&
                 c->durable.stable.height == 0;
    if (!valid_n(n) || (me >= n && me != PBFT_NOT_MEMBER) || from == 0 || !fresh)
        return PBFT_ERR_MALFORMED;
    c->sets[0] = make_set(from, n, me);
    return PBFT_OK;
}

pbft_err pbft_restore(pbft_core *c, const pbft_durable *durable, pbft_height last_executed,
                      uint64_t last_block_time_ms)
{
    /* last_executed may be below the stable checkpoint (adopted from peers
     * before the blocks arrived): the core fetches the gap. */
    c->durable = *durable;
#ifdef TRIALREG_PBFT_BUG_RESTORE
    /* Deliberately broken build (simulator self-test): forget what was signed. */
    memset(c->durable.signed_height, 0, sizeof c->durable.signed_height);
    memset(c->durable.has_prepared, 0, sizeof c->durable.has_prepared);
#endif
    c->last_delivered = c->last_executed = last_executed;
    c->durable.last_block_time_ms = last_block_time_ms; /* the store is authoritative */
    c->next_height = last_executed + 1;
    for (uint32_t i = 0; i < PBFT_WINDOW; i++)
        if (c->durable.has_prepared[i] && !in_window(c, c->durable.prepared[i].batch.header.height))
            c->durable.has_prepared[i] = false;
    if (c->durable.view_changing)
        build_view_change(c);
    return PBFT_OK;
}

pbft_err pbft_restore_new_view(pbft_core *c, const pbft_new_view *nv)
{
    if (nv->vc_count > PBFT_QUORUM_MAX)
        return PBFT_ERR_MALFORMED;
    for (uint32_t i = 0; i < nv->vc_count; i++)
        if (!set_known(c, nv->vcs[i].stable.height + 1))
            return PBFT_ERR_WATERMARK;
    const pbft_valset *set = nv_set_of(c, nv);
    if (nv->view != c->durable.view || c->durable.view_changing || !is_member(set) ||
        primary_in(set, nv->view) != set->me)
        return PBFT_ERR_VIEW;
    const pbft_batch *batches[PBFT_WINDOW];
    pbft_err e = verify_new_view(c, nv, batches);
    if (e != PBFT_OK)
        return e;
    c->my_nv = *nv;
    c->nv_sent = true;
    c->reissued_to = nv->reissued_from + nv->reissued_count;
    if (c->next_height <= c->reissued_to)
        c->next_height = c->reissued_to + 1;
    return PBFT_OK;
}

pbft_err pbft_step(pbft_core *c, const pbft_msg *m)
{
    if (m->from >= PBFT_N_MAX)
        return PBFT_ERR_MALFORMED;
    if (m->type >= PBFT_MSG_PREPREPARE && m->type <= PBFT_MSG_CHECKPOINT) {
        /* A message of a height: its sender must be a validator of that height's set (the
         * last set known, for a height whose set may not be known yet: such a message is
         * only held, and checked again when it is replayed). */
        const pbft_valset *set = pbft_set_at(c, m->height);
        if (m->from >= set->n)
            return PBFT_ERR_MEMBER;
        if (m->from == set->me)
            return PBFT_ERR_MALFORMED;
    }
    switch (m->type) {
    case PBFT_MSG_PREPREPARE: return on_preprepare(c, m);
    case PBFT_MSG_PREPARE:
    case PBFT_MSG_COMMIT: return on_vote(c, m);
    case PBFT_MSG_CHECKPOINT: return on_checkpoint(c, m);
    case PBFT_MSG_VIEW_CHANGE: return on_view_change(c, m);
    case PBFT_MSG_NEW_VIEW: return on_new_view(c, m);
    }
    return PBFT_ERR_MALFORMED;
}

static pbft_err add_pending(pbft_core *c, const hash32 *request)
{
    if (c->cfg.signer.request_valid && !c->cfg.signer.request_valid(c->cfg.signer.ctx, request))
        return PBFT_ERR_REQUEST;
    if (pending_find(c, request) >= 0 || request_known(c, request))
        return PBFT_ERR_DUPLICATE;
    if (c->pending_count == PBFT_PENDING_MAX)
        return PBFT_ERR_FULL;
    if (c->pending_count == 0)
        c->pending_since_ms = c->now_ms;
    if (c->pending_tail == PBFT_PENDING_MAX)
        pending_compact(c);
    uint32_t at = c->pending_tail++;
    c->pending_count++;
    c->pending_used[at] = true;
    c->pending[at] = *request;
    c->pending_view[at] = 0;
    c->pending_height[at] = 0;
    index_insert(c->pending_index, request, at);
    timer_arm(c);
    return PBFT_OK;
}

pbft_err pbft_propose(pbft_core *c, const hash32 *request)
{
    pbft_err e = add_pending(c, request);
    if (e == PBFT_OK)
        try_propose(c);
    return e;
}

uint32_t pbft_propose_many(pbft_core *c, const hash32 *requests, uint32_t count, pbft_err *errs)
{
    uint32_t added = 0;
    for (uint32_t i = 0; i < count; i++) {
        pbft_err e = add_pending(c, &requests[i]);
        added += e == PBFT_OK;
        if (errs)
            errs[i] = e;
    }
    if (added)
        try_propose(c);
    return added;
}

/* The result certificate this replica knows for height h, if any: a fetched block's,
 * its stable checkpoint, one certified above its delivery (stable_ahead), or 2f+1
 * matching CHECKPOINTs in the vote table. Every one is compared with its own execution:
 * a certificate that arrived before delivery must expose a divergence as well as one
 * that arrived with a fetched block (issue 13, bug 3). */
static const codec_result_cert *certified_results(const pbft_core *c, pbft_height h,
                                                  codec_result_cert *scratch)
{
    if (c->certified[h % PBFT_WINDOW].height == h)
        return &c->certified[h % PBFT_WINDOW];
    if (c->durable.stable.height == h)
        return &c->durable.stable;
    if (c->stable_ahead.height == h)
        return &c->stable_ahead;
    const pbft_checkpoint_votes *v = &c->checkpoints[h % PBFT_CHECKPOINT_SLOTS];
    if (v->height == h && v->certified && checkpoint_quorum(c, v, scratch))
        return scratch;
    return NULL;
}

pbft_err pbft_executed(pbft_core *c, pbft_height h, const hash32 *block_hash,
                       const hash32 *state_hash, const hash32 *receipts_root)
{
    if (c->durable.diverged)
        return PBFT_ERR_STATE; /* never vote again with a state known to be wrong */
    if (h != c->last_executed + 1 || h > c->last_delivered)
        return PBFT_ERR_STALE;
    codec_result_cert known_cert;
    const codec_result_cert *known = certified_results(c, h, &known_cert);
    if (known && (!hash_eq(&known->block_hash, block_hash) ||
                  !hash_eq(&known->state_hash, state_hash) ||
                  !hash_eq(&known->receipts_root, receipts_root))) {
        c->durable.diverged = h; /* persisted: a restart must not vote with it either */
        c->ready.diverged = h;
        mark_persist(c);
        return PBFT_ERR_STATE;
    }
    c->last_executed = h;
    const pbft_valset *set = pbft_set_at(c, h);
    if (!is_member(set)) { /* a follower signs no checkpoint */
        stable_after_execution(c, h);
        try_propose(c);
        return PBFT_OK;
    }
    pbft_msg m;
    memset(&m, 0, sizeof m);
    m.type = PBFT_MSG_CHECKPOINT;
    m.from = set->me;
    m.height = h;
    m.block_hash = *block_hash;
    m.state_hash = *state_hash;
    m.receipts_root = *receipts_root;
    codec_result_cert cp;
    checkpoint_cert_of(&m, &cp);
    uint8_t buf[256];
    codec_buf b = codec_buf_make(buf, sizeof buf);
    checkpoint_fields(&cp, &b);
    bool ok = sign_in(c, set, TCRYPTO_TAG_CHECKPOINT, buf, b.len, &m.sig);
    assert(ok);
    (void)ok;
    c->my_checkpoint = m;
    record_checkpoint(c, &m);
    stable_after_execution(c, h);
    send_own_checkpoint(c);
    try_propose(c);
    return PBFT_OK;
}

const pbft_ready *pbft_ready_get(const pbft_core *c) { return &c->ready; }

void pbft_ready_clear(pbft_core *c)
{
    c->ready.persist = false;
    c->ready.out_count = 0;
    c->ready.committed_count = 0;
    c->ready.fetch_from = c->ready.fetch_to = 0;
    c->ready.stable_count = 0;
    c->ready.diverged = 0;
    c->ready.new_view = NULL;
}
