/*
 * http_json.h - txs and receipts as JSON for people and their systems (docs/HTTP.md
 * "JSON"): names, statuses and meanings as words, scopes as words, hashes and keys in hex,
 * every contract event decoded by its topic (registry/execution/events.h). Each returns a
 * new jansson object, or NULL if the bytes do not decode.
 */
#ifndef TRIALREG_HTTP_JSON_H
#define TRIALREG_HTTP_JSON_H

#include <jansson.h>
#include <stdbool.h>

#include "codec.h"

/* Why a request was refused (a signature: http_auth.c; a submit body, below): the HTTP
 * status, an error code and a reason. */
typedef struct {
    unsigned status;
    char code[24];
    char reason[256];
} http_refusal;

/* The txs of a submit body (POST /v1/txs), parsed apart from the server so a fuzzer can drive
 * it: type is the Content-Type (NULL if none), body and len the body.
 *   application/msgpack: the body is one tx (its bytes are the node's to check): txs[0]
 *     points into body;
 *   application/json: {"txs": [base64, ...]}, 1..cap padded RFC 4648 strings each decoding
 *     to at least one byte: txs[i] point into *decoded (malloc'd; the caller frees it, on
 *     failure too).
 * True with *count spans; false with the refusal: 415 UNSUPPORTED_MEDIA_TYPE, 400 BAD_JSON
 * or BAD_BODY (naming the bad entry), 500 INTERNAL (out of memory). */
bool http_json_submit_body(const char *type, const uint8_t *body, size_t len, codec_span *txs,
                           uint32_t cap, uint32_t *count, uint8_t **decoded, http_refusal *no);

/* A tx entry of a block: a whole tx, or a pruned one ("pruned": true, its route and shape). */
json_t *http_json_tx(const codec_span *entry);
/* A receipt: status word, code, reason, gas, events with their decoded fields. */
json_t *http_json_receipt(const codec_receipt *r);
/* Scope bits as words: ["main", "follow_up", ...]. */
json_t *http_json_scopes(uint64_t bits);
/* Hex of len bytes. */
json_t *http_json_hex(const uint8_t *bytes, size_t len);

#endif
