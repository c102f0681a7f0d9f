/*
 * trialreg_client.h - the client library (libtrialreg-client): the one public header for
 * talking to a trialreg node's client API (registry/node/client_api.h) from C. Submit
 * signed txs and wait for their receipts, many at once; signed queries; fetch a receipt;
 * export the ledger over BLOCKS; sign txs with a random nonce and a valid_until. trialctl,
 * the tests and any C integrator use it (pkg-config trialreg-client).
 *
 * It declares the formats it speaks (codec.h, crypto.h: txs, receipts, keys, the client
 * API statuses); the installed copy of this header has them inlined, so it is the only
 * header an integrator needs. Call tcrypto_init() once before anything else.
 *
 * Pipelining: client_run submits a whole set of txs without one blocking round trip each.
 * It opens up to CLIENT_CONNECTIONS_MAX tp_client connections (one thread each: a tp_client
 * serves one request at a time) and deals the txs out round robin; each thread first
 * submits all of its txs, CLIENT_BATCH_TXS per SUBMIT_BATCH request, then polls RECEIPTS
 * for those still without one (one request, signed once by the options' reader, per
 * CODEC_RECEIPTS_BATCH_MAX open txs; backing off from 5 ms to 100 ms) until each has a
 * certified receipt or the shared deadline passes. So a set of n txs costs about
 * n / (connections x CLIENT_BATCH_TXS) submit round trips plus the commit latency, not n
 * commit latencies. The txs of one set must not depend on each other (they may be ordered
 * in any way; nonces are random and carry no order): a caller with dependent steps runs one
 * set per step.
 *
 * Every wait is bounded by the one deadline (timeout_ms from the call).
 */
#ifndef TRIALREG_CLIENT_H
#define TRIALREG_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "codec.h" /* includes crypto.h */

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version (the CMake project version), e.g. "0.1.0". */
const char *trialreg_client_version(void);

#define CLIENT_CONNECTIONS_MAX 8
#define CLIENT_BATCH_TXS 64 /* txs per SUBMIT_BATCH request */
#define CLIENT_MESSAGE_MAX (8u * 1024 * 1024)
#define CLIENT_TIMEOUT_DEFAULT_MS 30000

/* What became of one tx. */
typedef enum {
    CLIENT_TX_DONE = 0,     /* a certified receipt is in reply (its status may be a refusal) */
    CLIENT_TX_REFUSED,      /* the node refused the SUBMIT (reason says why) */
    CLIENT_TX_TIMEOUT,      /* no (certified) receipt before the deadline; node unreachable? */
    CLIENT_TX_BAD_REPLY,    /* the node's reply does not decode */
} client_tx_state;

typedef struct {
    hash32 tx_id;
    client_tx_state state;
    char reason[CODEC_REASON_MAX + 64];
    uint8_t *reply;          /* the receipt reply body = the receipt file (malloc'd), or NULL */
    size_t reply_len;
    codec_receipt_reply rr;  /* decoded from reply (spans point into it) */
    codec_receipt receipt;   /* decoded rr.receipt */
} client_result;

typedef struct {
    const char *url;
    uint32_t connections;    /* 1..CLIENT_CONNECTIONS_MAX */
    uint32_t timeout_ms;     /* for the whole set */
    /* Receipts are signed reads (issue 19): the key that signs the receipt polling, one
     * that may read every tx's receipt (its signer, a co-signer, the trial's sponsor or
     * site, a regulator, the auditor; trialreg_client.h client_fetch_receipt), and the
     * chain it signs for. NULL reader: unsigned polling, which nodes refuse unless they run
     * with bench_unsigned_reads (the signed-reads benchmark's A side). */
    const keypair *reader;
    const hash32 *chain;
} client_options;

/* Submit txs[0..count) and wait for their receipts; results[i] for txs[i] (the caller frees
 * them with client_result_free). Returns the number of txs that are CLIENT_TX_DONE. */
uint32_t client_run(const client_options *opt, const codec_span *txs, uint32_t count,
                    client_result *results);
void client_result_free(client_result *r);

/* Fetch the receipt reply of tx_id once (no polling), asking as key (a signed read for
 * chain). A receipt is readable by the tx's signer and co-signers, its trial's sponsor, an
 * investigator of its participant's site, a regulator, the auditor role and the validators.
 * Returns 0 with a malloc'd body in *reply, 1 if the node has no such tx (reason in why),
 * 2 if the node refused (why has the status and reason: DENIED, BAD_SIGNATURE, STALE),
 * -1 if the node did not answer (why). */
int client_fetch_receipt(const char *url, const keypair *key, const hash32 *chain,
                         const hash32 *tx_id, uint32_t timeout_ms, uint8_t **reply,
                         size_t *reply_len, char *why, size_t why_cap);

/* Write the node's ledger, fetched over BLOCKS signed by key (a validator's, a regulator's
 * or the auditor role's; any other is refused), as an export file (codec.h "ledger export
 * file") for chain_id to out_path (atomically). Each BLOCKS entry carries the block's result
 * certificate when the node has one; the export stops before the first block without one
 * (the node's uncertified tail: its receipts and state writes are signed by no quorum), so
 * it holds heights 1..H of the node's last certified height H, unless include_uncertified
 * (then every block). Returns 0, -1 if the node did not answer (why), -2 on a local I/O or
 * decoding error (why), -3 if the node refused (why has its status and reason: DENIED for
 * a key that may not read blocks, BAD_SIGNATURE, STALE). *counts gets the blocks written
 * and the blocks left out. */
typedef struct {
    uint64_t blocks;    /* written: heights 1..blocks */
    uint64_t left_out;  /* held by the node after them and not written */
} client_export_counts;
int client_export(const char *url, const keypair *key, const hash32 *chain_id,
                  uint32_t timeout_ms, bool include_uncertified, const char *out_path,
                  client_export_counts *counts, char *why, size_t why_cap);

/* Ask for a trial's timeline as key (a signed QUERY with the current time) and write the
 * text to out. Returns 0, 1 if the node refused (why has its reason), -1 if it did not
 * answer (why). */
int client_timeline(const char *url, const keypair *key, const hash32 *chain, const char *trial,
                    uint32_t timeout_ms, FILE *out, char *why, size_t why_cap);

/* A signed tx into out (cap bytes); cosigners[i] signs with meanings[i]. Returns the length,
 * or 0 if it does not encode (too many or too large arguments). */
size_t client_sign_tx(const keypair *signer, uint64_t nonce, uint64_t valid_until,
                      const hash32 *chain, const char *contract, const char *method,
                      const codec_value *args, uint32_t nargs, const keypair *const *cosigners,
                      const unsigned *meanings, uint32_t ncos, uint8_t *out, size_t cap);

/* Nonces (docs/FORMATS.md 5.1): a tx is valid until its valid_until (UTC ms, at most the
 * chain's valid_for_max_ms, 1 h by default, after the block that commits it), and the chain
 * refuses a (signer, nonce) it committed while that is unexpired. So a client keeps no
 * nonce state: each tx gets a random 64-bit nonce (the OS generator; two devices or runs
 * with one key collide with probability about n^2 / 2^65) and valid_until = now +
 * CLIENT_VALID_FOR_DEFAULT_MS. A nonce never used locks nothing. To retry a tx that may
 * have committed, re-send the same bytes (or sign with the same nonce and valid_until):
 * at most one commits. */
#define CLIENT_VALID_FOR_DEFAULT_MS 600000u /* 10 minutes */
uint64_t client_random_nonce(void);

/* A QUERY request (the client API envelope around a query signed by key for chain at
 * time_ms, docs/FORMATS.md "Client API") into out. Returns the length, or 0 if it does not
 * fit or an argument is out of bounds (more than CODEC_QUERY_ARGS_MAX, empty, or longer
 * than CODEC_QUERY_ARG_MAX). */
size_t client_query_request(const keypair *key, const hash32 *chain, uint64_t time_ms,
                            codec_query_kind kind, const codec_span *args, uint32_t arg_count,
                            uint8_t *out, size_t cap);

/* A signed read (the body of a BLOCKS, RECEIPT or RECEIPTS request, docs/FORMATS.md 13.1):
 * the read's own body (a blocks request, a 32-byte tx id, a receipts request) signed by key
 * for chain at time_ms with tag TCRYPTO_TAG_READ, for request kind `kind`, into out.
 * Returns the length, or 0 if it does not fit or len > CODEC_READ_BODY_MAX. */
size_t client_signed_read(const keypair *key, const hash32 *chain, uint64_t time_ms,
                          uint32_t kind, const void *body, size_t len, uint8_t *out, size_t cap);

/* Ask a signed query once, as key for chain with the current time. Returns 0 with the
 * reply body (malloc'd; free it) in *body, 1 if the node refused (*status and why say why:
 * wrong key, unknown trial, ...), -1 if the node did not answer or the query or reply does
 * not encode (why). */
int client_query(const char *url, const keypair *key, const hash32 *chain,
                 codec_query_kind kind, const codec_span *args, uint32_t arg_count,
                 uint32_t timeout_ms, uint8_t **body, size_t *body_len, uint32_t *status,
                 char *why, size_t why_cap);

/* Dial a node's client API; a tls+tcp:// URL uses the CA file named by TRIALREG_TLS_CA.
 * Returns 0, or -1 with why. The connection is a transport.h tp_client (in-tree callers
 * use tp_client_request on it); close it with client_close. */
typedef struct tp_client tp_client;
int client_open(const char *url, tp_client **c, char *why, size_t why_cap);
void client_close(tp_client *c);

/* Milliseconds since the epoch (the system clock). */
uint64_t client_now_ms(void);

/* Ask for one page of a trial's public protocol history (CLIENT_PUBLIC, no key; codec.h
 * "public reply"), entries from `from` on. Returns 0 with the reply body (malloc'd; free it)
 * in *body, 1 if the node refused (*status and why), -1 if it did not answer (why). */
int client_public(const char *url, const char *trial, uint64_t from, uint32_t timeout_ms,
                  uint8_t **body, size_t *body_len, uint32_t *status, char *why, size_t why_cap);

#ifdef __cplusplus
}
#endif

#endif
