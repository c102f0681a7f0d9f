/*
 * pbft.h - the PBFT core (Castro and Liskov) as a pure state machine.
 *
 * No I/O, no clock, no randomness, no allocation: the host owns a pbft_core
 * (a plain struct, sized by the limits below), feeds it messages
 * (pbft_step), time (pbft_tick), client requests (pbft_propose), execution
 * results (pbft_executed) and fetched blocks (pbft_deliver_block), and after
 * each call reads pbft_ready: state to persist, messages to send (those
 * marked after_persist only once the persist is durable), batches committed
 * in height order, a height range to fetch, and new stable checkpoints.
 * docs/PBFT.md describes the protocol, the formats and every decision.
 *
 * The sequence number is the block height; the digest agreed on is the
 * SHA-256 of the canonical batch header [height, time_ms, tx_root, tx_count]
 * (codec_batch_hash). The 2f+1 COMMIT signatures are the commit certificate
 * (codec_commit_cert), the 2f+1 matching CHECKPOINT signatures the result
 * certificate (codec_result_cert).
 *
 * Requests are ordered BY DIGEST: a request is the RFC 9162 leaf hash of the
 * tx bytes (merkle_leaf_hash), so the batch's tx_root is computed from the
 * digests alone and the host holds the bytes (mempool, block store). The
 * limits are compile-time maxima (n <= 16, 16 heights in flight, 256 requests
 * per batch); the batch size actually used is pbft_config.batch_max.
 */
#ifndef TRIALREG_PBFT_H
#define TRIALREG_PBFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "crypto.h"

/* ---- limits -------------------------------------------------------------- */
/* replicas: n = 4, 7, 10, 13, 16 (docs/PBFT.md §2). One bound with the genesis decoder's,
 * so that every genesis that decodes is one the nodes can run (FORMATS.md 2). */
#define PBFT_N_MAX CODEC_VALIDATORS_MAX
#define PBFT_QUORUM_MAX (2 * ((PBFT_N_MAX - 1) / 3) + 1)
#ifndef PBFT_WINDOW
#define PBFT_WINDOW 16 /* high watermark = low + PBFT_WINDOW */
#endif
#define PBFT_BATCH_MAX 256       /* requests in one batch (cfg.batch_max <= this) */
#define PBFT_PENDING_MAX 4096    /* requests waiting at one replica */
#define PBFT_RECENT_MAX 4096     /* digests of recently committed requests */
#define PBFT_INDEX_SIZE 8192     /* open-addressing index over pending / recent */
#define PBFT_OUT_MAX 256         /* messages in one ready */
#define PBFT_CHECKPOINT_SLOTS (4 * PBFT_WINDOW)
#define PBFT_SETS_MAX 8          /* validator sets known at once (genesis + changes) */
#ifndef PBFT_FUTURE_PER_SENDER
#define PBFT_FUTURE_PER_SENDER (2 * PBFT_WINDOW) /* buffered future-view messages per sender */
#endif

/* ---- ids (distinct names; see docs/PBFT.md on why not structs) ------------ */
typedef uint64_t pbft_view;
typedef uint64_t pbft_height;
typedef uint32_t pbft_replica;
#define PBFT_BROADCAST UINT32_MAX
#define PBFT_NOT_MEMBER (UINT32_MAX - 1) /* this replica has no index in a set */

/* ---- errors ---------------------------------------------------------------- */
typedef enum {
    PBFT_OK = 0,
    PBFT_ERR_MALFORMED,  /* field out of range, bad sender, counts */
    PBFT_ERR_SIGNATURE,  /* a signature does not verify */
    PBFT_ERR_VIEW,       /* message for another view or while changing view */
    PBFT_ERR_WATERMARK,  /* height outside (low, high] */
    PBFT_ERR_DIGEST,     /* batch does not match its header / digest */
    PBFT_ERR_TIME,       /* proposed block time refused */
    PBFT_ERR_CONFLICT,   /* a different pre-prepare for the same view/height */
    PBFT_ERR_CERT,       /* certificate (prepared, stable, commit) invalid */
    PBFT_ERR_NEWVIEW,    /* new-view does not follow from its view-changes */
    PBFT_ERR_DUPLICATE,  /* request already known */
    PBFT_ERR_FULL,       /* a bounded queue is full */
    PBFT_ERR_STALE,      /* already done (old height, old view) */
    PBFT_ERR_REQUEST,    /* request refused by the host's validity check */
    PBFT_ERR_STATE,      /* executed result differs from the certified one */
    PBFT_ERR_MEMBER,     /* sender (or signer) is not a validator of the set in force at
                            that height (a removed validator, an index past n) */
} pbft_err;

const char *pbft_strerror(pbft_err err);

/* ---- signing interface -------------------------------------------------------
 * sign: sign tag || chain id || body as this replica's validator of the set that
 * begins at height `set_from` (0: the genesis set; else the boundary a
 * pbft_reconfigure call named): a rotated validator signs with its new key from
 * the boundary on. verify: check that validator index `validator` OF THAT SET
 * signed it (the host maps (set_from, index) to a key: the genesis's validators,
 * or the executor's sys/valset/at/<boundary>). The node plugs tcrypto_sign/verify;
 * the simulator may plug a keyed-hash stand-in (see tests/sim). request_valid
 * (optional) lets the host refuse a request digest it would never execute: it does
 * not hold the bytes, or their client signature is bad. */
typedef struct {
    bool (*sign)(void *ctx, uint64_t set_from, const char *tag, const uint8_t *body,
                 size_t len, signature *out);
    bool (*verify)(void *ctx, uint64_t set_from, pbft_replica validator, const char *tag,
                   const uint8_t *body, size_t len, const signature *sig);
    bool (*request_valid)(void *ctx, const hash32 *request);
    void *ctx;
} pbft_signer;

/* ---- batches ------------------------------------------------------------------ */
/* txs[i] is the request digest: merkle_leaf_hash of the tx bytes. */
typedef struct {
    codec_batch_header header; /* tx_root = RFC 9162 root over txs[] */
    uint32_t count;            /* == header.tx_count */
    hash32 txs[PBFT_BATCH_MAX];
} pbft_batch;

/* A prepared certificate: the pre-prepare and 2f prepares from distinct
 * replicas other than the primary of `view`, all for the same digest. */
typedef struct {
    pbft_view view;
    pbft_batch batch;
    signature preprepare_sig;
    uint32_t prepare_count;
    codec_vsig prepares[PBFT_QUORUM_MAX];
} pbft_prepared_cert;

/* ---- messages ------------------------------------------------------------------
 * In-memory form; the transport encodes them. VIEW-CHANGE and NEW-VIEW are
 * large and passed by pointer (valid during the call that takes or returns it). */
typedef enum {
    PBFT_MSG_PREPREPARE = 1,
    PBFT_MSG_PREPARE,
    PBFT_MSG_COMMIT,
    PBFT_MSG_CHECKPOINT,
    PBFT_MSG_VIEW_CHANGE,
    PBFT_MSG_NEW_VIEW,
} pbft_msg_type;

typedef struct {
    pbft_view new_view;
    pbft_replica sender;
    codec_result_cert stable; /* height 0 and no sigs at genesis */
    uint32_t prepared_count;
    pbft_prepared_cert prepared[PBFT_WINDOW];
    signature sig;
} pbft_view_change;

typedef struct {
    pbft_view view;
    uint32_t vc_count;
    pbft_view_change vcs[PBFT_QUORUM_MAX];
    pbft_height reissued_from; /* heights reissued_from+1 .. +reissued_count */
    uint32_t reissued_count;
    hash32 reissued[PBFT_WINDOW]; /* digest of each re-issued batch (null = empty) */
    signature reissued_sig[PBFT_WINDOW]; /* pre-prepare signature of each, new view */
    signature sig;
} pbft_new_view;

typedef struct {
    pbft_msg_type type;
    pbft_replica from;
    pbft_view view;       /* pre-prepare, prepare, commit */
    pbft_height height;   /* all but view-change/new-view */
    hash32 digest;        /* pre-prepare, prepare, commit: batch hash */
    const pbft_batch *batch;           /* pre-prepare */
    hash32 block_hash, state_hash, receipts_root; /* checkpoint */
    const pbft_view_change *view_change;
    const pbft_new_view *new_view;
    signature sig;        /* all but view-change/new-view (signed inside) */
} pbft_msg;

/* ---- host inputs/outputs --------------------------------------------------------- */
typedef struct {
    pbft_batch batch;
    uint64_t block_time_ms;  /* max(proposed, previous block time + 1) */
    codec_commit_cert cert;  /* 2f+1 commits; empty for a height fetched without one */
} pbft_committed;

typedef struct {
    pbft_replica to;      /* PBFT_BROADCAST = every other replica */
    bool after_persist;   /* send only once the persist of this ready is durable */
    pbft_msg msg;
} pbft_out;

/* What must survive a crash so a replica never contradicts what it signed. */
typedef struct {
    pbft_view view;
    bool view_changing;
    codec_result_cert stable;
    uint64_t last_block_time_ms;
    pbft_height signed_height[PBFT_WINDOW]; /* per slot: what I signed there */
    pbft_view signed_view[PBFT_WINDOW];
    hash32 signed_digest[PBFT_WINDOW];
    bool has_prepared[PBFT_WINDOW];
    pbft_prepared_cert prepared[PBFT_WINDOW];
    pbft_height diverged;   /* > 0: never sign a checkpoint again (see pbft_executed) */
} pbft_durable;

typedef struct {
    bool persist;                 /* copy core->durable before after_persist sends */
    uint32_t out_count;
    pbft_out out[PBFT_OUT_MAX];
    uint32_t committed_count;
    pbft_committed committed[PBFT_WINDOW];
    pbft_height fetch_from, fetch_to; /* fetch_to > 0: fetch these heights */
    uint32_t stable_count;
    /* New result certificates: checkpoints that became stable, and heights up to
     * PBFT_WINDOW below the stable one whose 2f+1 matching checkpoints arrived late
     * (those certify their block but do not move the low watermark). */
    codec_result_cert stable[PBFT_WINDOW + 2];
    pbft_height diverged;         /* > 0: my execution of this height contradicts its
                                     result certificate; the core stops signing */
    /* Non-NULL: the NEW-VIEW this replica just issued as the new primary. The host
     * keeps it durably with `persist` (before any after_persist send) and hands it to
     * pbft_restore_new_view after a restart, so that a restarted primary re-sends it
     * to the replicas that missed it. Valid until the next call into the core. */
    const pbft_new_view *new_view;
} pbft_ready;

typedef struct {
    pbft_replica id;         /* my index in the genesis set, or PBFT_NOT_MEMBER (a
                              * validator added later starts as a follower) */
    uint32_t n;              /* the genesis set: 3f+1, 4 <= n <= PBFT_N_MAX */
    uint32_t batch_max;      /* requests per batch, 1..PBFT_BATCH_MAX (0 = the max); a
                              * PRE-PREPARE with more is refused (node: from the genesis's
                              * rules, the same at every replica) */
    uint32_t propose_max;    /* requests this replica puts in a batch it proposes,
                              * <= batch_max (0 = batch_max): local tuning, never validity */
    uint64_t batch_bytes_max;/* sum of request_bytes over a batch (0 = no bound): the
                              * primary stops adding requests before it, and a PRE-PREPARE
                              * above it is refused; needs request_bytes */
    /* The size in bytes of a request the host holds (0 if it holds none: request_valid
     * refuses those anyway). Called with signer.ctx. Optional unless batch_bytes_max. */
    uint64_t (*request_bytes)(void *ctx, const hash32 *request);
    uint64_t batch_delay_ms; /* propose a partial batch after this */
    uint64_t view_timeout_ms;/* first view-change timeout; doubles per attempt */
    uint64_t retransmit_ms;
    uint64_t clock_bound_ms; /* |proposed time - my clock| must be <= this */
    pbft_signer signer;
} pbft_config;

/* ---- validator sets (docs/PBFT.md §14) --------------------------------------------
 * Heights from `from` on (until the next set's `from`) are agreed, certified and
 * checked by this set: its n, f, quorum, primary = view mod n, and the keys the host
 * maps (from, index) to. sets[0] is the genesis set (from = 0). */
typedef struct {
    pbft_height from;        /* first height of this set (its boundary; 0 = genesis) */
    uint32_t n, f, quorum;
    pbft_replica me;         /* my index in it, or PBFT_NOT_MEMBER */
} pbft_valset;

/* ---- core ------------------------------------------------------------------------- */
typedef struct {
    pbft_height height;       /* 0 = free */
    pbft_view view;
    bool has_preprepare, prepared, committed, delivered, sent_commit;
    pbft_batch batch;
    hash32 digest;
    signature preprepare_sig;
    bool prepare_seen[PBFT_N_MAX], commit_seen[PBFT_N_MAX];
    signature prepare_sig[PBFT_N_MAX], commit_sig[PBFT_N_MAX];
    hash32 prepare_digest[PBFT_N_MAX], commit_digest[PBFT_N_MAX];
} pbft_slot;

typedef struct {
    pbft_height height;
    bool certified;           /* its result certificate went to ready.stable */
    bool seen[PBFT_N_MAX];
    hash32 block_hash[PBFT_N_MAX], state_hash[PBFT_N_MAX], receipts_root[PBFT_N_MAX];
    signature sig[PBFT_N_MAX];
} pbft_checkpoint_votes;

typedef struct {
    pbft_config cfg;
    /* The validator sets, by increasing `from` (the host re-supplies them after a
     * restart, before pbft_restore: they are its ledger's, not pbft_durable's). */
    uint32_t set_count;
    pbft_valset sets[PBFT_SETS_MAX];
    pbft_durable durable;       /* view, stable, signed, prepared certs */
    uint64_t now_ms;            /* monotonic: timers */
    uint64_t wall_ms;           /* UTC: proposed block times, the clock bound */
    pbft_height last_delivered; /* committed batches handed to the host */
    pbft_height last_executed;  /* reported back by pbft_executed */
    pbft_height next_height;    /* primary: next height to propose */
    pbft_height reissued_to;    /* heights <= this were decided by the NEW-VIEW of the
                                   current view: a fresh PRE-PREPARE there is refused */
    uint64_t last_proposed_time_ms;
    pbft_slot slots[PBFT_WINDOW];
    pbft_checkpoint_votes checkpoints[PBFT_CHECKPOINT_SLOTS];
    pbft_height peer_checkpoint[PBFT_N_MAX]; /* highest checkpoint height seen per peer */
    codec_result_cert stable_ahead; /* certified above my last delivery: my stable
                                       checkpoint once I have executed it */
    /* Requests waiting, in arrival order: entries [pending_head, pending_tail) of
     * which pending_count are live (pending_used; removal leaves a hole, compacted
     * when the tail reaches the end). Digest, and the (view, height) of the
     * pre-prepare that carries it in this view (so the primary does not propose it
     * twice). The primary batches the oldest first, so the request a replica's
     * view-change timer waits for is not overtaken forever. */
    uint32_t pending_count, pending_head, pending_tail;
    bool pending_used[PBFT_PENDING_MAX];
    hash32 pending[PBFT_PENDING_MAX];
    pbft_view pending_view[PBFT_PENDING_MAX];
    pbft_height pending_height[PBFT_PENDING_MAX];
    uint16_t pending_index[PBFT_INDEX_SIZE]; /* entry + 1, 0 = empty */
    uint64_t pending_since_ms;
    hash32 recent[PBFT_RECENT_MAX];
    uint32_t recent_next, recent_count;
    uint16_t recent_index[PBFT_INDEX_SIZE];
    uint64_t progress_ms;       /* last progress (delivery or new view): retransmission */
    /* The view-change timer (docs/PBFT.md §8): it runs for one thing this replica
     * waits for, the oldest pending request or, with none, the lowest height whose
     * pre-prepare it accepted and has not delivered; it stops only when that one is
     * delivered. While changing view it restarts when 2f+1 replicas ask for the view. */
    struct pbft_timer {
        bool running;
        bool for_request;       /* waits for `request`, else for `height` */
        hash32 request;
        pbft_height height;
        uint64_t started_ms;
    } timer;
    uint32_t backoff;           /* timeout = view_timeout_ms << backoff: failed views
                                   since a request the timer waited for was delivered */
    uint64_t last_retransmit_ms;
    uint64_t fetch_sent_ms;
    uint64_t delivered_ms;      /* last delivery (maybe_fetch) */
    bool vc_seen[PBFT_N_MAX];   /* view-changes held for vcs[] */
    pbft_height vc_set[PBFT_N_MAX]; /* the set (its `from`) each held one runs under */
    pbft_view_change vcs[PBFT_N_MAX];
    pbft_view_change my_vc;
    pbft_new_view my_nv;
    bool nv_sent;
    pbft_msg my_checkpoint;     /* my latest checkpoint, re-sent on retransmit */
    pbft_batch scratch_batch;   /* the primary's batch under construction */
    /* PRE-PREPARE/PREPARE/COMMIT for a view not yet entered, signature
     * checked, held per sender (a ring: the newest replace the oldest) and
     * replayed when that view is entered (docs/PBFT.md §11). */
    struct pbft_future {
        bool used;
        pbft_msg msg;
        pbft_batch batch;
    } future[PBFT_N_MAX][PBFT_FUTURE_PER_SENDER];
    uint32_t future_next[PBFT_N_MAX];
    /* Result certificates of fetched blocks, checked when the host reports
     * its own execution of the height (pbft_executed). */
    codec_result_cert certified[PBFT_WINDOW];
    pbft_ready ready;
} pbft_core;

/* Initialise a core (zeroes it; the core never allocates). Returns
 * PBFT_ERR_MALFORMED if n is not 3f+1 within the limits or id >= n. */
pbft_err pbft_init(pbft_core *core, const pbft_config *cfg);
/* The validator set changes at `boundary`: heights >= boundary are agreed,
 * certified and checked by n_new validators, of which this replica is index
 * my_id_new (PBFT_NOT_MEMBER: none). The host calls it when it executes
 * `committed_at`, the height whose block committed the change, BEFORE
 * pbft_executed(committed_at); after a restart, once per recorded change, after
 * pbft_init and before pbft_restore. Refused (nothing changes): PBFT_ERR_MALFORMED
 * if n_new is not 3f+1 within the limits, my_id_new >= n_new, boundary <=
 * committed_at + PBFT_WINDOW (every replica must know the set before any message of
 * its heights can be in its window) or boundary <= the last known set's (unless it
 * is that set again: then PBFT_OK, nothing changes); PBFT_ERR_STALE if this core may
 * already have checked a message of a height >= boundary (boundary <= last executed
 * + PBFT_WINDOW + 1); PBFT_ERR_FULL if PBFT_SETS_MAX sets are still needed. */
pbft_err pbft_reconfigure(pbft_core *core, pbft_height committed_at, pbft_height boundary,
                          uint32_t n_new, pbft_replica my_id_new);
/* After a restart, before the recorded changes are supplied (pbft_reconfigure) and before
 * pbft_restore: the oldest set this replica still keeps begins at `from` (n validators,
 * this replica's index `me`), in place of the genesis set. A running core keeps the
 * PBFT_SETS_MAX newest sets and drops older ones once no height of theirs can be asked
 * about; a host restarted after more changes than that starts from the set a running
 * core would have kept, and heights below `from` are refused as dropped (PBFT_ERR_STALE).
 * PBFT_ERR_MALFORMED if n is not 3f+1 within the limits, me >= n, from is 0, or the core
 * is not fresh from pbft_init. */
pbft_err pbft_rebase(pbft_core *core, pbft_height from, uint32_t n, pbft_replica me);
/* The validator set in force at height h (the last one known at or below it). */
const pbft_valset *pbft_set_at(const pbft_core *core, pbft_height h);
/* Restore after a crash: durable state as last persisted, plus what the
 * host's block store holds (last executed height and its block time). */
pbft_err pbft_restore(pbft_core *core, const pbft_durable *durable, pbft_height last_executed,
                      uint64_t last_block_time_ms);
/* After pbft_restore: the NEW-VIEW this replica issued for its current view (what
 * ready.new_view gave, kept by the host). Checked like a peer's NEW-VIEW; refused
 * with PBFT_ERR_VIEW if it is not this replica's NEW-VIEW of the view it is in. */
pbft_err pbft_restore_new_view(pbft_core *core, const pbft_new_view *nv);
/* The checks of a PRE-PREPARE that depend on no state: from the primary of its view,
 * the batch matches its header and the digest, the primary's signature over it. The
 * host may run them before it holds the message (the node's waiting list); pbft_step
 * runs them again. */
pbft_err pbft_check_preprepare(const pbft_core *core, const pbft_msg *m);
/* Handle one message from a peer. Returns why it was refused (no state change). */
pbft_err pbft_step(pbft_core *core, const pbft_msg *msg);
/* Advance the core's notion of time: now_ms from a monotonic clock (timers, never
 * steps), wall_ms the host's UTC clock in ms (block times and the clock bound; may
 * step either way). */
void pbft_tick(pbft_core *core, uint64_t now_ms, uint64_t wall_ms);
/* A client request by digest (merkle_leaf_hash of its bytes, which the host
 * keeps); de-duplicated against pending and recently committed requests. */
pbft_err pbft_propose(pbft_core *core, const hash32 *request);
/* Several requests that arrived together: as pbft_propose for each (errs[i], if
 * errs is not NULL), but the primary cuts a batch only once all are pending, so
 * they are not split into a batch of the first and one of the rest. Returns how
 * many were added. */
uint32_t pbft_propose_many(pbft_core *core, const hash32 *requests, uint32_t count,
                           pbft_err *errs);
/* The host executed `height` (in order) with these results: sign a checkpoint.
 * If a result certificate is known for `height` (from a fetched block, or the
 * stable checkpoint) and these results differ from it, returns PBFT_ERR_STATE,
 * signs nothing, and sets ready.diverged: the host's state is wrong (bug or
 * corrupted store) and it must not vote with it. */
pbft_err pbft_executed(pbft_core *core, pbft_height height, const hash32 *block_hash,
                       const hash32 *state_hash, const hash32 *receipts_root);
/* A block fetched for catch-up (the next height): refused with PBFT_ERR_WATERMARK while
 * the host's execution lags its delivery by more than PBFT_WINDOW heights (the set of the
 * block's height may not be known yet: execute first). Checked against its commit
 * certificate (under the set in force at its height) and,
 * when the serving peer had one, its result certificate (2f+1 CHECKPOINT
 * signatures over height, block hash, state hash, receipts root; result may be
 * NULL or have height 0 when the peer has none yet). Delivered as committed
 * when it is the next height; the certified result is kept and compared in
 * pbft_executed with the lagging replica's own re-execution. */
pbft_err pbft_deliver_block(pbft_core *core, const pbft_batch *batch,
                            const codec_commit_cert *cert, const codec_result_cert *result);
/* Verify a result certificate (n, quorum and keys of the set in force at its height;
 * PBFT_ERR_WATERMARK if that set may not be known yet: the height is more than
 * PBFT_WINDOW + 1 above the last executed one; PBFT_ERR_STALE if it is below the oldest
 * set kept, PBFT_SETS_MAX; PBFT_ERR_MEMBER if a signer's index is not in that set). */
pbft_err pbft_verify_result_cert(const pbft_core *core, const codec_result_cert *cert);
/* The output of the calls since the last pbft_ready_clear. */
const pbft_ready *pbft_ready_get(const pbft_core *core);
void pbft_ready_clear(pbft_core *core);

/* Helpers shared with the simulator. */
/* Sign nv's body as this core (tests build byzantine new-views with it). */
void pbft_new_view_sign(const pbft_core *core, pbft_new_view *nv);
/* The re-issue a NEW-VIEW's V set implies (docs/PBFT.md §8), as every replica computes
 * it: heights from+1 .. from+n, the digest of each (the prepared batch of the highest view,
 * or the null batch) and, where one exists, a pointer into vcs to its batch (NULL: null).
 * false if the span exceeds the window. */
bool pbft_reissue(const pbft_view_change *vcs, uint32_t count, pbft_height *from, uint32_t *n,
                  hash32 *digests, const pbft_batch **batches);
/* Sign vc's body as this core (vc->sender should be its id; tests and the
 * simulator's byzantine replicas forge view-changes with it). */
void pbft_view_change_sign(const pbft_core *core, pbft_view_change *vc);
/* The primary of `view` for the heights in this replica's window (the set in force at
 * its low watermark + 1): an index in that set. */
pbft_replica pbft_primary(const pbft_core *core, pbft_view view);
/* tx_root and tx_count of the header from the batch's request digests. */
void pbft_batch_seal(pbft_batch *batch);
bool pbft_batch_matches(const pbft_batch *batch);
/* Verify a commit certificate against a batch (n, quorum and keys of the set in force
 * at its height; PBFT_ERR_WATERMARK if that set may not be known yet). */
pbft_err pbft_verify_commit_cert(const pbft_core *core, const pbft_batch *batch,
                                 const codec_commit_cert *cert);

#endif
