/*
 * client_api.h - what a validator answers to clients: submit a tx, signed queries, fetch a
 * receipt (with its inclusion proof), fetch blocks. No nng and no msgpack here: requests and
 * replies are codec.h "client API" structures, carried by transport.h's tp_server (pass
 * capi_handle as its handler and the capi as its context).
 *
 * Request kinds (codec_client_kind) and what their reply body holds on status 0:
 *   SUBMIT   body: an encoded tx    -> empty; the tx went to the submit callback
 *   QUERY    body: a signed query   -> TRIAL: trial reply; CONSENT: consent reply;
 *                                      TIMELINE: the timeline text as the asker's role
 *                                      sees it (exec_timeline_write_as, exec_tx_visible);
 *                                      GRANT: grant reply (one page, re-checked against
 *                                      consent now; logged first); READ_LOG: read log reply;
 *                                      TIMELINE_PAGE: timeline page (the TIMELINE's txs,
 *                                      structured, in pages of whole blocks: codec.h)
 *   HTTP_QUERY body: http query (a GRANT query and its RFC 9421 evidence) -> grant reply;
 *                                      the evidence is verified here as the query's
 *                                      signature and logged (read log form 2)
 *   RECEIPT  body: signed read of a tx id (32 bytes) -> receipt reply (receipt +
 *                                      inclusion proof if the block is certified, else nil)
 *   BLOCKS   body: signed read of a blocks request -> blocks reply (at most blocks_max
 *                                      blocks, and no more than fit in the reply; fewer at
 *                                      the head)
 *   SUBMIT_BATCH body: submit batch -> submit results: per tx, in order, accepted (0) or
 *                                      BAD_BODY / SUBMIT_REFUSED with the reason, exactly as
 *                                      that tx alone would have been answered by SUBMIT
 *   RECEIPTS body: signed read of a receipts request (1..CODEC_RECEIPTS_BATCH_MAX tx ids)
 *                                   -> receipts reply: per id, in order, 0 with its receipt
 *                                      reply, or NOT_FOUND / DENIED / TOO_LARGE (did not fit
 *                                      in this reply: ask again) with the reason
 *   PUBLIC   body: public request   -> public reply (UNSIGNED: a trial's protocol-level txs
 *                                      with their receipt files; docs/FORMATS.md 13.9)
 *
 * Queries: the signature (tag TCRYPTO_TAG_QUERY, this chain's id, over the query body) is
 * checked first, then the time (|server clock - time_ms| <= skew_ms, so a captured query
 * cannot be replayed later), then exec_read_allowed (docs/ARCHITECTURE.md 3.8 "Reads").
 * Researchers read only through their grants (GRANT, the grant's own researcher); each
 * answered GRANT page is written to the node's read log (ledger_read_log_append, synced)
 * before the reply, and a regulator reads that log (READ_LOG).
 *
 * Signed reads (issue 19): BLOCKS, RECEIPT and RECEIPTS carry a signed read (codec.h: the
 * asking key, its time, the request kind and the read's body, signed with tag
 * TCRYPTO_TAG_READ over this chain's id), checked like a query: signature (BAD_SIGNATURE),
 * time (STALE), then the role (DENIED): BLOCKS by exec_ledger_read_allowed (a validator, a
 * regulator, the auditor role), each receipt by exec_receipt_read_allowed. A RECEIPTS
 * request costs one signature check whatever the number of ids. A request with the bare
 * body and no signature is DENIED (unless unsigned_reads). A replay within skew_ms reads
 * what the captured request read (its reply went over the same channel): the time bounds
 * how long a captured request is worth anything, as for queries.
 *
 * Threads: capi_handle may be called from several threads at once. The executor is not
 * thread safe, so every executor/ledger access here holds exec_lock; the thread that
 * commits blocks (exec_block) must hold the same lock (capi_exec_lock/unlock).
 */
#ifndef TRIALREG_CLIENT_API_H
#define TRIALREG_CLIENT_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "crypto.h"
#include "executor.h"

/* Response status codes (capi_status, capi_status_reason): codec.h, shared with the client
 * library (registry/client/trialreg_client.h). */

/* Hand a request's txs (each decodes) to consensus, all at once so that their signatures
 * may be checked in parallel: results[i].status 0 if tx i is accepted, else nonzero with the
 * reason. Called concurrently (from capi_handle). */
typedef void (*capi_submit_fn)(void *ctx, const codec_span *txs, uint32_t count,
                               codec_submit_result *results);
/* The server's clock in ms since the epoch (tests inject one). */
typedef uint64_t (*capi_clock_fn)(void *ctx);

typedef struct {
    exec *executor;            /* borrowed; read under the lock */
    capi_submit_fn submit;     /* NULL: SUBMIT is refused */
    void *submit_ctx;
    capi_clock_fn clock;       /* NULL: the system clock */
    void *clock_ctx;
    uint64_t skew_ms;          /* accepted |clock - query time|, e.g. 30000 */
    uint32_t blocks_max;       /* per BLOCKS request, 1..CODEC_BLOCKS_REPLY_MAX */
    bool unsigned_reads;       /* BENCHMARK ONLY (its A side): answer BLOCKS, RECEIPT and
                                  RECEIPTS sent bare, without a signature, to anyone */
} capi_config;

typedef struct capi capi;

/* Returns a new handler state, or NULL (bad config or out of memory). */
capi *capi_open(const capi_config *cfg);
void capi_close(capi *api);
void capi_exec_lock(capi *api);
void capi_exec_unlock(capi *api);

/* tp_handler: decode request, answer it, encode the response into reply (reply_cap bytes).
 * Always answers (garbage gets BAD_REQUEST); returns the reply length. */
size_t capi_handle(void *api, const uint8_t *request, size_t request_len, uint8_t *reply,
                   size_t reply_cap);

/* capi_handle for a transport that authenticated the request itself (the HTTP API: RFC 9421,
 * its created time and its replay cache), verified being the signing key, or NULL (then
 * exactly capi_handle). With a key: a QUERY's asker must be that key, and its own signature
 * and time are not checked; BLOCKS, RECEIPT and RECEIPTS carry the bare read body (not a
 * signed read) and are read as that key; every role rule applies as on capi_handle. */
size_t capi_handle_as(void *api, const pubkey *verified, const uint8_t *request,
                      size_t request_len, uint8_t *reply, size_t reply_cap);

/* Answers given since capi_open, by status (0 ok, then the refusals: codec.h CAPI_STATUSES),
 * for the metrics. Any thread. */
#define CAPI_ANSWER_KINDS 10
void capi_answers_get(capi *api, uint64_t out[CAPI_ANSWER_KINDS]);

#endif
