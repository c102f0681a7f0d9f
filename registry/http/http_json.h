/*
 * http_json.h - txs and receipts as JSON for people and their systems (docs/HTTP.md
 * "JSON"): names, statuses and meanings as words, scopes as words, hashes and keys in hex,
 * every contract event decoded by its topic (registry/execution/events.h). Each returns a
 * new jansson object, or NULL if the bytes do not decode.
 */
#ifndef TRIALREG_HTTP_JSON_H
#define TRIALREG_HTTP_JSON_H

#include <jansson.h>

#include "codec.h"

/* A tx entry of a block: a whole tx, or a pruned one ("pruned": true, its route and shape). */
json_t *http_json_tx(const codec_span *entry);
/* A receipt: status word, code, reason, gas, events with their decoded fields. */
json_t *http_json_receipt(const codec_receipt *r);
/* Scope bits as words: ["main", "follow_up", ...]. */
json_t *http_json_scopes(uint64_t bits);
/* Hex of len bytes. */
json_t *http_json_hex(const uint8_t *bytes, size_t len);

#endif
