/*
 * fuzz_http_submit.c - libFuzzer target for the body of POST /v1/txs
 * (http_json_submit_body, registry/http/http_json.c): the JSON {"txs": [base64, ...]} that
 * the HTTP server parses itself (libmicrohttpd hands over the raw body).
 *
 * Input: byte 0 picks the Content-Type (0 application/json, 1 application/msgpack,
 * 2 none, 3 text/plain, 4 "application/json; charset=utf-8"; the rest of the byte range
 * folds onto these), the remaining bytes are the body (copied to an exact-size heap
 * buffer, so ASan sees any read past it). Properties (abort otherwise):
 *   1. no crash or sanitizer report on any input;
 *   2. a refusal has status 400, 415 or 500, a code and a reason, and no txs;
 *   3. an accepted msgpack body is one span: the body itself;
 *   4. an accepted JSON body gives 1..CODEC_SUBMIT_BATCH_MAX non-empty spans laid end to end
 *      in the decoded buffer, within the body's length, and the same txs written back as
 *      {"txs": [base64, ...]} parse again to the same bytes (what we accept round-trips).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_json.h"

static const char *const TYPES[] = {"application/json", "application/msgpack", NULL,
                                    "text/plain", "application/json; charset=utf-8"};

static codec_span txs[CODEC_SUBMIT_BATCH_MAX], again[CODEC_SUBMIT_BATCH_MAX];

static void check_refusal(const http_refusal *no, uint32_t count)
{
    if (count != 0) abort();
    if (no->status != 400 && no->status != 415 && no->status != 500) abort();
    if (no->code[0] == '\0' || no->reason[0] == '\0') abort();
}

/* Write the spans back as a JSON body and parse it again: the same bytes must come out. */
static void check_round_trip(uint32_t count)
{
    json_t *list = json_array();
    for (uint32_t i = 0; i < count; i++) {
        char *b64 = malloc(4 * ((txs[i].len + 2) / 3) + 1);
        if (!b64) abort();
        tcrypto_base64_encode(txs[i].data, txs[i].len, b64);
        json_array_append_new(list, json_string(b64));
        free(b64);
    }
    json_t *doc = json_pack("{s:o}", "txs", list);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!text) abort();
    uint32_t n = 0;
    uint8_t *decoded = NULL;
    http_refusal no;
    if (!http_json_submit_body("application/json", (const uint8_t *)text, strlen(text), again,
                               CODEC_SUBMIT_BATCH_MAX, &n, &decoded, &no))
        abort();
    if (n != count) abort();
    for (uint32_t i = 0; i < n; i++)
        if (again[i].len != txs[i].len || memcmp(again[i].data, txs[i].data, txs[i].len) != 0)
            abort();
    free(decoded);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    const char *type = TYPES[data[0] % (sizeof TYPES / sizeof *TYPES)];
    size_t len = size - 1;
    uint8_t *body = malloc(len ? len : 1);
    if (!body) return 0;
    memcpy(body, data + 1, len);
    uint32_t count = 99;
    uint8_t *decoded = NULL;
    http_refusal no;
    memset(&no, 0, sizeof no);
    bool ok = http_json_submit_body(type, body, len, txs, CODEC_SUBMIT_BATCH_MAX, &count,
                                    &decoded, &no);
    if (!ok) {
        check_refusal(&no, count);
    } else if (type && strncmp(type, "application/msgpack", 19) == 0) {
        if (count != 1 || txs[0].data != body || txs[0].len != len || decoded) abort();
    } else {
        if (count == 0 || count > CODEC_SUBMIT_BATCH_MAX || !decoded) abort();
        size_t used = 0;
        for (uint32_t i = 0; i < count; i++) {
            if (txs[i].len == 0 || txs[i].data != decoded + used) abort();
            used += txs[i].len;
        }
        if (used > len) abort();
        check_round_trip(count);
    }
    free(decoded);
    free(body);
    return 0;
}
