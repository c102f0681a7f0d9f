/*
 * wire.h - what validators send each other over the transport: PBFT messages
 * (with the tx bytes of a PRE-PREPARE), forwarded client txs, and catch-up
 * fetches. Canonical msgpack like every other structure (docs/FORMATS.md
 * "Validator messages"); the decoder refuses anything non-canonical, out of
 * bounds or trailing, and never trusts a count before checking it.
 *
 * Envelope: wire = [version=1, kind, from, body]
 *   from: the sending validator's index (< PBFT_N_MAX). For PBFT messages it
 *         becomes pbft_msg.from, and the message's own signature authenticates
 *         it; TXS are self-authenticating (tx signatures), BLOCKS are checked by the
 *         certificates they carry, and FETCH carries its own signature by validator
 *         `from` (issue 19: a node answers FETCH only to a validator), so the envelope
 *         is unsigned.
 *
 * kind 1 PBFT, body by type:
 *   PRE-PREPARE [1, view, height, digest, batch_header, [tx digest...], sig, [tx bytes...]]
 *               tx bytes: empty, or exactly one bin per digest, same order
 *   PREPARE     [2, view, height, digest, sig]
 *   COMMIT      [3, view, height, digest, sig]
 *   CHECKPOINT  [4, height, block_hash, state_hash, receipts_root, sig]
 *   VIEW-CHANGE [5, new_view, sender, stable result_cert, [prepared_cert...], sig]
 *               prepared_cert = [view, batch_header, [tx digest...], preprepare_sig,
 *                                [[validator, sig]...]]   (validators strictly increasing)
 *   NEW-VIEW    [6, view, [view-change...], reissued_from, [digest...], [sig...], sig]
 *               each view-change is the whole VIEW-CHANGE body above, type 5 included
 *               (as many signatures as digests)
 * kind 2 TXS      [tx bytes...]                 forwarded client txs (1..WIRE_TXS_MAX)
 * kind 3 FETCH    [from_height, to_height, time_ms, key, sig]  1 <= from <= to
 *                 sig (tag FETCH, this chain) by `key` (bin 32, the requester's validator
 *                 key: of any set, so that a validator a governance change added can
 *                 catch up) over [from, from_height, to_height, time_ms, key]; time_ms is
 *                 the sender's clock. The form without key [from_height, to_height,
 *                 time_ms, sig] (sig by GENESIS validator `from` over [from, from_height,
 *                 to_height, time_ms]) still decodes (fetch_keyed false).
 *                 The old unsigned form [from_height, to_height] still decodes
 *                 (fetch_signed false) so that a node can say why it ignores it.
 * kind 4 BLOCKS   [[block record bin, result_cert bin or nil]...]  (1..WIRE_BLOCKS_MAX)
 * kind 5 BUNDLE   [message bin...]              (2..WIRE_BUNDLE_MAX) several messages
 *                 for one peer in one transport message; each part is a whole wire
 *                 message of kind 1..4 (not decoded here: decode each with wire_decode)
 *
 * Bounds: validators and senders < PBFT_N_MAX, digests per batch <= PBFT_BATCH_MAX,
 * prepared certs <= PBFT_WINDOW with <= PBFT_QUORUM_MAX prepares, view-changes in a
 * NEW-VIEW <= PBFT_QUORUM_MAX, re-issued <= PBFT_WINDOW, each tx <= CODEC_TX_MAX bytes.
 * The nested tx bytes, block records and result certs are returned as spans into
 * the input (zero copy) and are NOT decoded here: the node decodes each with its
 * own decoder (codec_tx_decode, codec_block_decode, codec_result_cert_decode).
 */
#ifndef TRIALREG_WIRE_H
#define TRIALREG_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "pbft.h"

#define WIRE_VERSION 1
#define WIRE_TXS_MAX PBFT_BATCH_MAX /* txs in one TXS message */
#define WIRE_BLOCKS_MAX 16          /* blocks in one BLOCKS reply */
#define WIRE_BUNDLE_MAX 64          /* messages in one BUNDLE */
#define WIRE_PART_BYTES_MAX (64u << 20) /* a bundled message (the transport bounds it) */

typedef enum {
    WIRE_PBFT = 1,
    WIRE_TXS = 2,
    WIRE_FETCH = 3,
    WIRE_BLOCKS = 4,
    WIRE_BUNDLE = 5,
} wire_kind;

/* A decoded message. Large (about 1 MB, because a NEW-VIEW is): allocate it
 * once and reuse it. msg.batch, msg.view_change and msg.new_view point into
 * this struct; every codec_span points into the decoded input, which must
 * outlive the use of the spans. */
typedef struct {
    wire_kind kind;
    uint32_t from;
    /* WIRE_PBFT */
    pbft_msg msg;
    pbft_batch batch;           /* PRE-PREPARE */
    pbft_view_change vc;        /* VIEW-CHANGE */
    pbft_new_view nv;           /* NEW-VIEW */
    /* WIRE_PBFT PRE-PREPARE (tx bytes, may be 0) and WIRE_TXS */
    uint32_t tx_count;
    codec_span txs[PBFT_BATCH_MAX];
    /* WIRE_FETCH */
    uint64_t fetch_from, fetch_to;
    bool fetch_signed;      /* false: the unsigned form (ignored by nodes) */
    bool fetch_keyed;       /* the signed form naming its key (fetch_key) */
    pubkey fetch_key;
    uint64_t fetch_time_ms; /* signed form only */
    signature fetch_sig;
    /* WIRE_BLOCKS: result.len == 0 when the peer had no result certificate */
    uint32_t block_count;
    codec_span blocks[WIRE_BLOCKS_MAX];
    codec_span results[WIRE_BLOCKS_MAX];
    /* WIRE_BUNDLE */
    uint32_t part_count;
    codec_span parts[WIRE_BUNDLE_MAX];
} wire_msg;

/* Encoders append one whole message to out (check out->overflow or the
 * return value). from is the sender's index. */
codec_err wire_pbft_encode(uint32_t from, const pbft_msg *m, const codec_span *txs,
                           uint32_t tx_count, codec_buf *out);
codec_err wire_txs_encode(uint32_t from, const codec_span *txs, uint32_t count, codec_buf *out);
/* The unsigned FETCH (tests of refusals; nodes send the signed one). */
codec_err wire_fetch_encode(uint32_t from, uint64_t from_height, uint64_t to_height,
                            codec_buf *out);
/* The part of a FETCH validator `from` signs (tag TCRYPTO_TAG_FETCH), and the signed FETCH. */
codec_err wire_fetch_body_encode(uint32_t from, uint64_t from_height, uint64_t to_height,
                                 uint64_t time_ms, codec_buf *out);
codec_err wire_fetch_signed_encode(uint32_t from, uint64_t from_height, uint64_t to_height,
                                   uint64_t time_ms, const signature *sig, codec_buf *out);
/* The keyed FETCH (what nodes send): the part `key` signs, and the message. */
codec_err wire_fetch_keyed_body_encode(uint32_t from, uint64_t from_height, uint64_t to_height,
                                       uint64_t time_ms, const pubkey *key, codec_buf *out);
codec_err wire_fetch_keyed_encode(uint32_t from, uint64_t from_height, uint64_t to_height,
                                  uint64_t time_ms, const pubkey *key, const signature *sig,
                                  codec_buf *out);
codec_err wire_blocks_encode(uint32_t from, const codec_span *blocks, const codec_span *results,
                             uint32_t count, codec_buf *out);
codec_err wire_bundle_encode(uint32_t from, const codec_span *parts, uint32_t count,
                             codec_buf *out);

/* Decode one message; on failure err names the field and byte offset. */
codec_err wire_decode(const uint8_t *data, size_t len, wire_msg *out, codec_error *err);

#endif
