/*
 * http_json.c - txs and receipts as JSON (http_json.h).
 */
#include "http_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "events.h"

json_t *http_json_hex(const uint8_t *bytes, size_t len)
{
    char *hex = malloc(2 * len + 1);
    if (!hex) return NULL;
    tcrypto_to_hex(bytes, len, hex);
    json_t *s = json_string(hex);
    free(hex);
    return s;
}

static json_t *key_json(const pubkey *k) { return http_json_hex(k->bytes, 32); }

static const char *status_word(uint8_t status)
{
    static const char *words[] = {"OK", "REFUSED", "INVALID", "TRAPPED"};
    return status <= RECEIPT_STATUS_MAX_ ? words[status] : "UNKNOWN";
}

json_t *http_json_scopes(uint64_t bits)
{
    json_t *list = json_array();
    for (uint64_t bit = 1; bit <= 16; bit <<= 1) {
        if (bits & bit) json_array_append_new(list, json_string(event_scope_name(bit)));
    }
    return list;
}

/* Text that is printable ASCII stays text; anything else is shown in hex. */
static json_t *text_json(const uint8_t *p, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        if (p[i] < 0x20 || p[i] > 0x7e) return json_pack("{s:o}", "hex", http_json_hex(p, len));
    return json_stringn((const char *)p, len);
}

static json_t *field_json(const event_field *f)
{
    switch (f->kind) {
    case EVENT_FIELD_TEXT: return text_json(f->bytes, f->len);
    case EVENT_FIELD_KEY:
    case EVENT_FIELD_HASH: return http_json_hex(f->bytes, f->len);
    case EVENT_FIELD_FLAG: return json_boolean(f->u != 0);
    case EVENT_FIELD_SCOPES: return http_json_scopes(f->u);
    case EVENT_FIELD_UINT:
    case EVENT_FIELD_TIME: return json_integer((json_int_t)f->u);
    }
    return json_null();
}

/* A governance.authority event (codec.h): its fields, and the change in words. */
static json_t *authority_change_json(const codec_event *e)
{
    codec_authority_change c;
    char words[160];
    if (codec_authority_change_decode(e->data, e->len, &c, NULL) != CODEC_OK
        || !event_authority_words(e->topic.text, e->data, e->len, words, sizeof words))
        return NULL;
    json_t *fields = json_pack("{s:s, s:s, s:s, s:s, s:o}", "action",
                               c.action == CODEC_AUTHORITY_ADDED ? "added" : "revoked", "role",
                               codec_role_name(c.role), "site", c.site.text, "name", c.name.text,
                               "key", http_json_hex(c.key.bytes, 32));
    return json_pack("{s:s, s:b, s:o, s:s}", "topic", e->topic.text, "flag", false, "fields",
                     fields, "words", words);
}

static json_t *event_json(const codec_event *e)
{
    json_t *change = strcmp(e->topic.text, CODEC_AUTHORITY_EVENT_TOPIC) == 0
                         ? authority_change_json(e) : NULL;
    if (change) return change;
    json_t *ev = json_pack("{s:s, s:b}", "topic", e->topic.text, "flag", event_is_flag(e->topic.text));
    event_field f[EVENT_FIELDS_MAX];
    int n = event_decode(e->topic.text, e->data, e->len, f);
    if (n < 0) {
        json_object_set_new(ev, "data", http_json_hex(e->data, e->len));
        return ev;
    }
    json_t *fields = json_object();
    for (int i = 0; i < n; i++) json_object_set_new(fields, f[i].name, field_json(&f[i]));
    json_object_set_new(ev, "fields", fields);
    return ev;
}

json_t *http_json_receipt(const codec_receipt *r)
{
    json_t *events = json_array();
    for (uint32_t i = 0; i < r->event_count; i++) json_array_append_new(events, event_json(&r->events[i]));
    return json_pack("{s:o, s:s, s:I, s:s, s:I, s:o}", "tx_id", http_json_hex(r->tx_id.bytes, 32),
                     "status", status_word(r->status), "error_code", (json_int_t)r->error_code,
                     "reason", r->reason, "gas_used", (json_int_t)r->gas_used, "events", events);
}

static json_t *arg_json(const codec_value *v)
{
    if (v->kind == CODEC_VALUE_INT) return json_integer((json_int_t)v->integer);
    return json_pack("{s:o}", "bytes", text_json(v->bytes, v->len));
}

static json_t *pruned_json(const codec_span *entry)
{
    codec_pruned_tx p;
    if (codec_pruned_tx_decode(entry->data, entry->len, &p, NULL) != CODEC_OK) return NULL;
    json_t *shape = json_array();
    for (uint32_t i = 0; i < p.arg_count; i++)
        json_array_append_new(shape, json_string(p.arg_kinds >> i & 1 ? "bytes" : "int"));
    return json_pack("{s:o, s:b, s:o, s:I, s:I, s:s, s:s, s:o}", "tx_id",
                     http_json_hex(p.tx_id.bytes, 32), "pruned", 1, "signer", key_json(&p.signer),
                     "nonce", (json_int_t)p.nonce, "valid_until", (json_int_t)p.valid_until,
                     "contract", p.contract.text, "method", p.method.text, "argument_kinds", shape);
}

json_t *http_json_tx(const codec_span *entry)
{
    if (codec_entry_is_pruned(entry)) return pruned_json(entry);
    static _Thread_local codec_tx tx;
    if (codec_tx_decode(entry->data, entry->len, &tx, NULL) != CODEC_OK) return NULL;
    hash32 id;
    tcrypto_sha256(entry->data, entry->len, &id);
    json_t *args = json_array(), *cosigs = json_array();
    for (uint32_t i = 0; i < tx.arg_count; i++) json_array_append_new(args, arg_json(&tx.args[i]));
    for (uint32_t i = 0; i < tx.cosig_count; i++) {
        json_array_append_new(cosigs, json_pack("{s:o, s:s}", "key", key_json(&tx.cosigs[i].key),
                                                "meaning", codec_meaning_name(tx.cosigs[i].meaning)));
    }
    return json_pack("{s:o, s:b, s:o, s:I, s:I, s:s, s:s, s:o, s:o}", "tx_id",
                     http_json_hex(id.bytes, 32), "pruned", 0, "signer", key_json(&tx.signer),
                     "nonce", (json_int_t)tx.nonce, "valid_until", (json_int_t)tx.valid_until,
                     "contract", tx.contract.text, "method", tx.method.text, "args", args,
                     "cosignatures", cosigs);
}

/* ---- submit bodies --------------------------------------------------------------------- */

static bool refuse(http_refusal *no, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool refuse(http_refusal *no, unsigned status, const char *code, const char *fmt, ...)
{
    no->status = status;
    snprintf(no->code, sizeof no->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(no->reason, sizeof no->reason, fmt, ap);
    va_end(ap);
    return false;
}

/* The base64 strings of list (n of them) decoded into *decoded, one span each. */
static bool decode_txs(json_t *list, size_t n, size_t len, codec_span *txs, uint8_t **decoded,
                       http_refusal *no)
{
    *decoded = malloc(len); /* base64 is longer than its bytes: len bounds them all */
    if (!*decoded) return refuse(no, 500, "INTERNAL", "out of memory");
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(list, i);
        const char *b64 = json_string_value(item);
        size_t got = 0;
        if (!b64
            || !tcrypto_base64_decode(b64, json_string_length(item), *decoded + used, len - used,
                                      &got)
            || got == 0)
            return refuse(no, 400, "BAD_BODY", "txs[%zu] is not base64 (RFC 4648, padded)", i);
        txs[i] = (codec_span){*decoded + used, got};
        used += got;
    }
    return true;
}

/* True if the Content-Type value names media type `want` (parameters after ';' allowed). */
static bool media_type_is(const char *type, const char *want)
{
    size_t n = strlen(want);
    return type && strncasecmp(type, want, n) == 0
           && (type[n] == '\0' || type[n] == ';' || type[n] == ' ' || type[n] == '\t');
}

bool http_json_submit_body(const char *type, const uint8_t *body, size_t len, codec_span *txs,
                           uint32_t cap, uint32_t *count, uint8_t **decoded, http_refusal *no)
{
    *count = 0;
    *decoded = NULL;
    if (media_type_is(type, "application/msgpack")) {
        if (len == 0 || cap == 0)
            return refuse(no, 400, "BAD_BODY", "the body is empty: send one canonical tx");
        txs[0] = (codec_span){body, len};
        *count = 1;
        return true;
    }
    if (!media_type_is(type, "application/json"))
        return refuse(no, 415, "UNSUPPORTED_MEDIA_TYPE",
                      "send application/msgpack (one tx) or application/json {\"txs\": [base64, ...]}");
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return refuse(no, 400, "BAD_JSON", "the body is not JSON: %s (line %d)", jerr.text,
                      jerr.line);
    json_t *list = json_object_get(doc, "txs");
    size_t n = json_is_array(list) ? json_array_size(list) : 0;
    bool ok = n > 0 && n <= cap && n <= CODEC_SUBMIT_BATCH_MAX;
    if (!ok)
        refuse(no, 400, "BAD_BODY", "\"txs\" must be an array of 1..%u base64 txs",
               cap < CODEC_SUBMIT_BATCH_MAX ? cap : CODEC_SUBMIT_BATCH_MAX);
    else
        ok = decode_txs(list, n, len, txs, decoded, no);
    json_decref(doc);
    if (ok) *count = (uint32_t)n;
    return ok;
}
