/*
 * http_reads.c - the reads of the HTTP API (docs/HTTP.md "Reads"): each is authenticated by
 * its RFC 9421 signature (http_auth.c) and then asked of the client API as that key
 * (capi_handle_as), so the role rules are the nng client API's, word for word. Replies are
 * JSON with every field decoded, or, with `Accept: application/msgpack`, the client API's
 * own bytes (a receipt file that `trialctl verify-receipt` checks; a blocks reply).
 * A grant's records are read with an HTTP query (FORMATS 13.12): the request's signature
 * fields go to the client API, which verifies and logs them as the researcher's evidence.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "http_internal.h"
#include "http_json.h"

#define READ_REPLY_MAX (8u << 20)

/* The HTTP status for a client API status. */
static unsigned http_status_of(uint32_t capi)
{
    switch (capi) {
    case CAPI_OK: return 200;
    case CAPI_BAD_REQUEST:
    case CAPI_BAD_BODY: return 400;
    case CAPI_BAD_SIGNATURE:
    case CAPI_STALE: return 401;
    case CAPI_DENIED: return 403;
    case CAPI_NOT_FOUND: return 404;
    case CAPI_TOO_LARGE: return 413;
    case CAPI_SUBMIT_REFUSED: return 422;
    }
    return 500;
}

bool http_capi(http_api *h, const pubkey *asker, uint32_t kind, const uint8_t *body, size_t len,
               uint8_t *reply, size_t reply_cap, codec_client_response *resp)
{
    size_t cap = len + 64;
    uint8_t *req = malloc(cap);
    codec_buf b = codec_buf_make(req, cap);
    bool ok = req && codec_client_request_encode(kind, body, len, &b) == CODEC_OK;
    size_t n = ok ? h->cfg.handler(h->cfg.handler_ctx, asker, b.data, b.len, reply, reply_cap) : 0;
    free(req);
    return n > 0 && codec_client_response_decode(reply, n, resp, NULL) == CODEC_OK;
}

static bool wants_msgpack(struct MHD_Connection *c)
{
    const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
    return accept && strstr(accept, "application/msgpack") != NULL;
}

/* One authenticated read: the client API's answer to kind/body asked as the signer. On
 * success returns true with *resp (its body in *reply, which the caller frees); otherwise
 * the HTTP answer is sent and *sent holds its result. */
static bool signer(http_api *h, struct MHD_Connection *c, const http_request *rq, pubkey *key,
                   enum MHD_Result *sent)
{
    http_refusal no;
    if (http_authenticate(h, c, "GET", rq, key, &no)) return true;
    *sent = http_error(h, c, no.status, no.code, "%s", no.reason);
    return false;
}

/* key: the request's authenticated signer, or NULL for a read that needs none. */
static bool ask(http_api *h, struct MHD_Connection *c, const pubkey *key, uint32_t kind,
                const uint8_t *body, size_t len, uint8_t **reply, codec_client_response *resp,
                enum MHD_Result *sent)
{
    *reply = malloc(READ_REPLY_MAX);
    if (!*reply || !http_capi(h, key, kind, body, len, *reply, READ_REPLY_MAX, resp)) {
        free(*reply);
        *reply = NULL;
        *sent = http_error(h, c, 500, "INTERNAL", "the node did not answer the read");
        return false;
    }
    if (resp->status != CAPI_OK) {
        *sent = http_error(h, c, http_status_of(resp->status), capi_status_name(resp->status),
                           "%s", resp->reason);
        free(*reply);
        *reply = NULL;
        return false;
    }
    return true;
}

/* A query as the (already authenticated) signer: its own signature is left empty, since
 * capi_handle_as takes the transport's word for the key. */
static size_t query_bytes(http_api *h, const pubkey *asker, uint32_t kind, const codec_span *args,
                          uint32_t nargs, uint8_t *out, size_t cap)
{
    codec_query q = {.asker = *asker, .time_ms = http_now_ms(h), .kind = kind, .arg_count = nargs};
    for (uint32_t i = 0; i < nargs; i++) q.args[i] = args[i];
    codec_buf b = codec_buf_make(out, cap);
    return codec_query_encode(&q, &b) == CODEC_OK ? b.len : 0;
}

/* ---- receipts -------------------------------------------------------------------------- */

/* A receipt reply (the receipt file) as JSON: where it is, whether certified, the receipt
 * decoded and, when certified, the tx from its inclusion proof. */
static json_t *receipt_reply_json(const uint8_t *data, size_t len)
{
    static _Thread_local codec_receipt_reply rr;
    static _Thread_local codec_receipt r;
    static _Thread_local codec_proof p;
    if (codec_receipt_reply_decode(data, len, &rr, NULL) != CODEC_OK
        || codec_receipt_decode(rr.receipt.data, rr.receipt.len, &r, NULL) != CODEC_OK)
        return NULL;
    json_t *tx = json_null();
    if (rr.proof.len > 0 && codec_proof_decode(rr.proof.data, rr.proof.len, &p, NULL) == CODEC_OK
        && p.kind == PROOF_INCLUSION) {
        json_t *t = http_json_tx(&p.tx);
        if (t) tx = t;
    }
    return json_pack("{s:I, s:I, s:b, s:o, s:o}", "height", (json_int_t)rr.height, "index",
                     (json_int_t)rr.index, "certified", rr.proof.len > 0, "receipt",
                     http_json_receipt(&r), "tx", tx);
}

static enum MHD_Result get_receipt(http_api *h, struct MHD_Connection *c, const http_request *rq,
                                   const char *id_hex)
{
    uint8_t id[32], *reply;
    if (strlen(id_hex) != 64 || !tcrypto_from_hex(id_hex, 64, id, 32))
        return http_error(h, c, 400, "BAD_REQUEST", "a tx id is 64 hex digits");
    codec_client_response resp;
    enum MHD_Result sent;
    pubkey key;
    if (!signer(h, c, rq, &key, &sent) || !ask(h, c, &key, CLIENT_RECEIPT, id, 32, &reply, &resp, &sent))
        return sent;
    if (wants_msgpack(c)) {
        http_count(h, 200);
        sent = http_send(c, 200, "application/msgpack", resp.body.data, resp.body.len);
    } else {
        json_t *doc = receipt_reply_json(resp.body.data, resp.body.len);
        sent = doc ? http_send_json(h, c, 200, doc)
                   : http_error(h, c, 500, "INTERNAL", "the receipt does not decode");
    }
    free(reply);
    return sent;
}

/* ---- blocks ----------------------------------------------------------------------------- */

static bool query_u64(struct MHD_Connection *c, const char *name, uint64_t dflt, uint64_t max,
                      uint64_t *out)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    if (!v) {
        *out = dflt;
        return true;
    }
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (!*v || *end || n > max || v[0] == '-') return false;
    *out = n;
    return true;
}

static json_t *block_json(const codec_block_entry *e)
{
    static _Thread_local codec_span txs[CODEC_BLOCK_TXS_MAX], receipts[CODEC_BLOCK_TXS_MAX];
    static _Thread_local codec_write writes[CODEC_WRITES_MAX];
    static _Thread_local codec_receipt r;
    codec_block b = {.txs = txs, .receipts = receipts, .writes = writes};
    if (codec_block_decode(e->block.data, e->block.len, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX,
                           NULL) != CODEC_OK)
        return NULL;
    hash32 hash;
    codec_block_hash(&b.header, &hash);
    json_t *list = json_array();
    for (uint32_t i = 0; i < b.tx_count; i++) {
        json_t *tx = http_json_tx(&txs[i]);
        json_t *rc = codec_receipt_decode(receipts[i].data, receipts[i].len, &r, NULL) == CODEC_OK
                         ? http_json_receipt(&r) : NULL;
        json_array_append_new(list, json_pack("{s:o, s:o}", "tx", tx ? tx : json_null(),
                                              "receipt", rc ? rc : json_null()));
    }
    return json_pack("{s:I, s:b, s:I, s:o, s:o, s:I, s:o}", "height",
                     (json_int_t)b.header.batch.height, "certified", e->result_cert.len > 0,
                     "time_ms", (json_int_t)b.header.batch.time_ms, "block_hash",
                     http_json_hex(hash.bytes, 32), "prev_hash",
                     http_json_hex(b.header.prev_hash.bytes, 32), "log_size",
                     (json_int_t)b.header.log_size, "txs", list);
}

static enum MHD_Result get_blocks(http_api *h, struct MHD_Connection *c, const http_request *rq)
{
    uint64_t from, count;
    if (!query_u64(c, "from", 1, UINT64_MAX, &from) || from == 0
        || !query_u64(c, "count", 16, CODEC_BLOCKS_REPLY_MAX, &count) || count == 0)
        return http_error(h, c, 400, "BAD_REQUEST", "from is a height (>= 1), count 1..%d",
                          CODEC_BLOCKS_REPLY_MAX);
    uint8_t body[32], *reply;
    codec_buf b = codec_buf_make(body, sizeof body);
    codec_blocks_request_encode(from, (uint32_t)count, &b);
    codec_client_response resp;
    enum MHD_Result sent;
    pubkey key;
    if (!signer(h, c, rq, &key, &sent)
        || !ask(h, c, &key, CLIENT_BLOCKS, b.data, b.len, &reply, &resp, &sent))
        return sent;
    static _Thread_local codec_block_entry entries[CODEC_BLOCKS_REPLY_MAX];
    uint32_t n = 0;
    if (wants_msgpack(c)) {
        http_count(h, 200);
        sent = http_send(c, 200, "application/msgpack", resp.body.data, resp.body.len);
    } else if (codec_blocks_reply_decode(resp.body.data, resp.body.len, entries,
                                         CODEC_BLOCKS_REPLY_MAX, &n, NULL) != CODEC_OK) {
        sent = http_error(h, c, 500, "INTERNAL", "the blocks do not decode");
    } else {
        json_t *list = json_array();
        for (uint32_t i = 0; i < n; i++) {
            json_t *one = block_json(&entries[i]);
            json_array_append_new(list, one ? one : json_null());
        }
        sent = http_send_json(h, c, 200, json_pack("{s:I, s:o}", "from", (json_int_t)from,
                                                   "blocks", list));
    }
    free(reply);
    return sent;
}

/* ---- a trial's reads -------------------------------------------------------------------- */

/* ---- the timeline as JSON, in pages (issue 20) ------------------------------------------ */

static json_t *names_json(const codec_timeline_entry *e)
{
    json_t *list = json_array();
    for (uint32_t k = 0; k < e->name_count; k++) {
        const codec_key_name *n = &e->names[k];
        json_array_append_new(list, n->known ? json_pack("{s:s, s:s}", "name", n->name.text, "role",
                                                         codec_role_name(n->role))
                                             : json_null());
    }
    return list;
}

/* One entry: where and when, the tx and its receipt decoded (http_json.c), and the names of
 * the signer and co-signers (genesis authorities; null for a participant's key). */
static json_t *timeline_entry_json(const codec_timeline_entry *e)
{
    static _Thread_local codec_receipt r;
    json_t *tx = http_json_tx(&e->tx);
    json_t *rc = codec_receipt_decode(e->receipt.data, e->receipt.len, &r, NULL) == CODEC_OK
                     ? http_json_receipt(&r) : NULL;
    if (!tx || !rc) {
        json_decref(tx);
        json_decref(rc);
        return NULL;
    }
    return json_pack("{s:I, s:I, s:I, s:o, s:o, s:o}", "height", (json_int_t)e->height, "index",
                     (json_int_t)e->index, "time_ms", (json_int_t)e->time_ms, "tx", tx, "receipt",
                     rc, "names", names_json(e));
}

static json_t *timeline_json(const codec_span *trial, uint64_t from, const uint8_t *data, size_t len)
{
    codec_timeline_page p;
    codec_timeline_entry *entries = malloc(CODEC_TIMELINE_PAGE_MAX * sizeof *entries);
    if (!entries || codec_timeline_page_decode(data, len, &p, entries, CODEC_TIMELINE_PAGE_MAX, NULL) != CODEC_OK) {
        free(entries);
        return NULL;
    }
    json_t *list = json_array();
    for (uint32_t i = 0; i < p.count && list; i++) {
        json_t *one = timeline_entry_json(&entries[i]);
        if (!one) {
            json_decref(list);
            list = NULL;
        } else {
            json_array_append_new(list, one);
        }
    }
    free(entries);
    if (!list) return NULL;
    return json_pack("{s:s%, s:I, s:I, s:I, s:b, s:o}", "trial", (const char *)trial->data,
                     trial->len, "from", (json_int_t)from, "next_height", (json_int_t)p.next_height,
                     "head_height", (json_int_t)p.head_height, "complete",
                     p.next_height > p.head_height, "entries", list);
}

static bool wants_text(struct MHD_Connection *c)
{
    const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
    return accept && strstr(accept, "text/plain") != NULL;
}

/* ---- a grant's records over HTTP, and the read log (issue 20) --------------------------- */

static json_t *grant_json(const codec_span *trial, const codec_grant_page *p,
                          const codec_grant_record *rec, const codec_grant_removed *rm)
{
    json_t *records = json_array(), *removed = json_array();
    for (uint32_t i = 0; i < p->record_count; i++)
        json_array_append_new(records, json_pack("{s:I, s:o, s:o, s:o, s:I, s:I}", "index",
                                                 (json_int_t)rec[i].index, "anchor",
                                                 http_json_hex(rec[i].anchor.bytes, 32), "participant",
                                                 http_json_hex(rec[i].participant.bytes, 32), "scopes",
                                                 http_json_scopes(rec[i].scope), "collected_at",
                                                 (json_int_t)rec[i].collected_at, "size", (json_int_t)rec[i].size));
    for (uint32_t i = 0; i < p->removed_count; i++)
        json_array_append_new(removed, json_pack("{s:I, s:o, s:s}", "index", (json_int_t)rm[i].index,
                                                 "anchor", http_json_hex(rm[i].anchor.bytes, 32), "why",
                                                 rm[i].why == CODEC_GRANT_WITHDRAWN ? "withdrawn"
                                                                                    : "reconsent_required"));
    uint64_t next = p->from + p->record_count + p->removed_count;
    return json_pack("{s:s%, s:I, s:o, s:I, s:o, s:I, s:I, s:b, s:o, s:o}", "trial",
                     (const char *)trial->data, trial->len, "grant", (json_int_t)p->grant, "scopes",
                     http_json_scopes(p->scope), "count", (json_int_t)p->count, "list_hash",
                     http_json_hex(p->list_hash.bytes, 32), "from", (json_int_t)p->from, "next",
                     (json_int_t)next, "complete", next >= p->count, "records", records, "removed",
                     removed);
}

/* The request as the read log keeps it (FORMATS 13.12): its signature fields, method,
 * target and Host, so that a regulator can rebuild the signature base later. */
static size_t evidence_bytes(struct MHD_Connection *c, const http_request *rq, uint8_t *out,
                             size_t cap)
{
    static _Thread_local codec_http_evidence ev;
    const char *input = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Signature-Input");
    const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Signature");
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    memset(&ev, 0, sizeof ev);
    if (!input || !sig || strlen(input) > CODEC_HTTP_FIELD_MAX || strlen(sig) > CODEC_HTTP_FIELD_MAX
        || strlen(rq->uri) > CODEC_HTTP_TARGET_MAX || (host && strlen(host) > CODEC_HTTP_TARGET_MAX))
        return 0;
    snprintf(ev.signature_input, sizeof ev.signature_input, "%s", input);
    snprintf(ev.signature, sizeof ev.signature, "%s", sig);
    snprintf(ev.method, sizeof ev.method, "GET");
    snprintf(ev.target, sizeof ev.target, "%s", rq->uri);
    snprintf(ev.authority, sizeof ev.authority, "%s", host ? host : "");
    codec_buf b = codec_buf_make(out, cap);
    return codec_http_evidence_encode(&ev, &b) == CODEC_OK ? b.len : 0;
}

static void be64(uint8_t out[8], uint64_t v)
{
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* GET /v1/trials/{T}/grants/{G}/records?from=K: the researcher's RFC 9421 request is the
 * evidence the node verifies and logs (an HTTP query, FORMATS 13.12) before it answers. */
static enum MHD_Result get_grant_records(http_api *h, struct MHD_Connection *c,
                                         const http_request *rq, const codec_span *trial,
                                         uint64_t grant)
{
    uint64_t from;
    if (!query_u64(c, "from", 0, UINT64_MAX, &from))
        return http_error(h, c, 400, "BAD_REQUEST", "from is a position in the grant's list");
    codec_client_response resp;
    enum MHD_Result sent;
    pubkey key;
    if (!signer(h, c, rq, &key, &sent)) return sent;
    uint8_t gb[8], fb[8], qbuf[512], ebuf[CODEC_READ_LOG_ENTRY_MAX], body[CODEC_READ_LOG_ENTRY_MAX + 600], *reply;
    be64(gb, grant);
    be64(fb, from);
    codec_span args[3] = {*trial, {gb, 8}, {fb, 8}};
    codec_span query = {qbuf, query_bytes(h, &key, QUERY_GRANT, args, 3, qbuf, sizeof qbuf)};
    codec_span http = {ebuf, evidence_bytes(c, rq, ebuf, sizeof ebuf)};
    codec_buf b = codec_buf_make(body, sizeof body);
    if (query.len == 0 || http.len == 0 || codec_http_query_encode(&query, &http, &b) != CODEC_OK)
        return http_error(h, c, 400, "BAD_REQUEST", "the request's signature fields or target are too long to log");
    if (!ask(h, c, &key, CLIENT_HTTP_QUERY, b.data, b.len, &reply, &resp, &sent)) return sent;
    static _Thread_local codec_grant_record rec[CODEC_GRANT_PAGE_MAX];
    static _Thread_local codec_grant_removed rm[CODEC_GRANT_PAGE_MAX];
    codec_grant_page p;
    sent = codec_grant_reply_decode(resp.body.data, resp.body.len, &p, rec, rm, CODEC_GRANT_PAGE_MAX, NULL) == CODEC_OK
               ? http_send_json(h, c, 200, grant_json(trial, &p, rec, rm))
               : http_error(h, c, 500, "INTERNAL", "the grant reply does not decode");
    free(reply);
    return sent;
}

/* One read log entry: what was read, and the researcher's evidence (form 1 its signed
 * query, form 2 its HTTP request), decoded, with the entry's bytes in base64 for a verifier
 * (trialctl access log checks both forms). */
static json_t *read_log_entry_json(uint64_t seq, const codec_span *raw)
{
    static _Thread_local codec_http_evidence ev;
    codec_read_log_entry e;
    codec_query q;
    if (codec_read_log_entry_decode(raw->data, raw->len, &e, NULL) != CODEC_OK) return NULL;
    json_t *one = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "seq", (json_int_t)seq, "time_ms",
                            (json_int_t)e.time_ms, "grant", (json_int_t)e.grant, "from",
                            (json_int_t)e.from, "served", (json_int_t)e.served, "removed",
                            (json_int_t)e.removed);
    if (e.http.len > 0 && codec_http_evidence_decode(e.http.data, e.http.len, &ev, NULL) == CODEC_OK) {
        json_object_set_new(one, "form", json_string("http"));
        json_object_set_new(one, "http", json_pack("{s:s, s:s, s:s, s:s, s:s}", "method", ev.method,
                                                   "target", ev.target, "authority", ev.authority,
                                                   "signature_input", ev.signature_input,
                                                   "signature", ev.signature));
    } else if (e.query.len > 0 && codec_query_decode(e.query.data, e.query.len, &q, NULL) == CODEC_OK) {
        json_object_set_new(one, "form", json_string("query"));
        json_object_set_new(one, "researcher", http_json_hex(q.asker.bytes, 32));
    } else {
        json_decref(one);
        return NULL;
    }
    char *b64 = malloc(TCRYPTO_BASE64_LEN(raw->len));
    if (b64) {
        tcrypto_base64_encode(raw->data, raw->len, b64);
        json_object_set_new(one, "entry", json_string(b64));
    }
    free(b64);
    return one;
}

static json_t *read_log_json(const codec_span *trial, const uint8_t *data, size_t len)
{
    static _Thread_local codec_span entries[CODEC_READ_LOG_REPLY_MAX];
    uint64_t total, from;
    uint32_t n;
    if (codec_read_log_reply_decode(data, len, &total, &from, entries, CODEC_READ_LOG_REPLY_MAX, &n,
                                    NULL) != CODEC_OK)
        return NULL;
    json_t *list = json_array();
    for (uint32_t i = 0; i < n; i++) {
        json_t *one = read_log_entry_json(from + i, &entries[i]);
        if (!one) {
            json_decref(list);
            return NULL;
        }
        json_array_append_new(list, one);
    }
    return json_pack("{s:s%, s:I, s:I, s:I, s:o}", "trial", (const char *)trial->data, trial->len,
                     "total", (json_int_t)total, "from", (json_int_t)from, "next",
                     (json_int_t)(from + n), "entries", list);
}

static json_t *trial_json(const codec_span *trial, const codec_trial_reply *t)
{
    return json_pack("{s:s%, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "trial",
                     (const char *)trial->data, trial->len, "version", (json_int_t)t->version,
                     "approved_version", (json_int_t)t->approved, "floor_version",
                     (json_int_t)t->floor_version, "floor_time_ms", (json_int_t)t->floor_time_ms,
                     "planned_enrolment", (json_int_t)t->planned, "registered_ms",
                     (json_int_t)t->registered_ms, "sponsor", http_json_hex(t->sponsor.bytes, 32));
}

static json_t *consent_json(const codec_span *trial, const uint8_t *participant,
                            const codec_consent_page *p, const codec_consent_reply_entry *e)
{
    json_t *list = json_array();
    static const char *const kinds[] = {"grant", "withdrawal", "site_withdrawal", "rebound_from",
                                        "rebound_away"};
    for (uint32_t i = 0; i < p->count; i++) {
        const codec_consent_reply_entry *c = &e[i];
        const char *kind = c->kind >= 1 && c->kind <= 5 ? kinds[c->kind - 1] : "withdrawal";
        json_t *one = json_pack("{s:s, s:I, s:o, s:I}", "kind", kind, "time_ms",
                                (json_int_t)c->time_ms, "scopes_after", http_json_scopes(c->scopes),
                                "version", (json_int_t)c->version);
        if (c->kind == 1) {
            json_object_set_new(one, "form", http_json_hex(c->form.bytes, 32));
            json_object_set_new(one, "witness", http_json_hex(c->witness.bytes, 32));
            json_object_set_new(one, "witness_meaning", json_string(codec_meaning_name(c->meaning)));
        } else if (c->kind == 3) { /* withdrawn by site on the participant's documented request */
            json_object_set_new(one, "request", http_json_hex(c->form.bytes, 32));
            json_object_set_new(one, "recorded_by", http_json_hex(c->witness.bytes, 32));
            json_object_set_new(one, "approved_by", http_json_hex(c->other.bytes, 32));
        } else if (c->kind == 4) {
            json_object_set_new(one, "request", http_json_hex(c->form.bytes, 32));
            json_object_set_new(one, "rebound_from", http_json_hex(c->witness.bytes, 32));
        } else if (c->kind == 5) {
            json_object_set_new(one, "rebound_to", http_json_hex(c->witness.bytes, 32));
        }
        if (c->flags & 1) {
            json_object_set_new(one, "after_rebinding", json_true());
            json_object_set_new(one, "rebound_from", http_json_hex(c->other.bytes, 32));
        }
        json_array_append_new(list, one);
    }
    return json_pack("{s:s%, s:o, s:I, s:I, s:o}", "trial", (const char *)trial->data,
                     trial->len, "participant", http_json_hex(participant, 32), "total",
                     (json_int_t)p->total, "from", (json_int_t)p->from, "entries", list);
}

static enum MHD_Result trial_query(http_api *h, struct MHD_Connection *c, const http_request *rq,
                                   const codec_span *trial, const char *rest)
{
    uint8_t qbuf[1024], participant[32], from_be[8], *reply;
    codec_span args[3] = {*trial};
    uint32_t nargs = 1, kind;
    uint64_t from = 0;
    if (rest[0] == '\0') {
        kind = QUERY_TRIAL;
    } else if (strcmp(rest, "/timeline") == 0 && wants_text(c)) {
        kind = QUERY_TIMELINE;
    } else if (strcmp(rest, "/timeline") == 0 || strcmp(rest, "/read-log") == 0) {
        bool timeline = rest[1] == 't';
        kind = timeline ? QUERY_TIMELINE_PAGE : QUERY_READ_LOG;
        if (!query_u64(c, "from", timeline ? 1 : 0, UINT64_MAX, &from) || (timeline && from == 0))
            return http_error(h, c, 400, "BAD_REQUEST", "from is a %s", timeline ? "height (>= 1)" : "read log position");
        be64(from_be, from);
        args[nargs++] = (codec_span){from_be, 8};
    } else if (strncmp(rest, "/participants/", 14) == 0 && strlen(rest) == 14 + 64 + 8
               && strcmp(rest + 14 + 64, "/consent") == 0
               && tcrypto_from_hex(rest + 14, 64, participant, 32)) {
        kind = QUERY_CONSENT;
        if (!query_u64(c, "from", 0, UINT64_MAX, &from))
            return http_error(h, c, 400, "BAD_REQUEST", "from is an entry number");
        be64(from_be, from);
        args[nargs++] = (codec_span){participant, 32};
        args[nargs++] = (codec_span){from_be, 8};
    } else {
        return http_error(h, c, 404, "NOT_FOUND", "no endpoint %s", rq->uri);
    }
    codec_client_response resp;
    enum MHD_Result sent;
    pubkey key;
    if (!signer(h, c, rq, &key, &sent)) return sent;
    size_t qlen = query_bytes(h, &key, kind, args, nargs, qbuf, sizeof qbuf);
    if (!ask(h, c, &key, CLIENT_QUERY, qbuf, qlen, &reply, &resp, &sent)) return sent;
    static _Thread_local codec_consent_reply_entry entries[CODEC_CONSENT_REPLY_MAX];
    codec_trial_reply t;
    codec_consent_page page;
    json_t *doc = NULL;
    if (kind == QUERY_TIMELINE) {
        http_count(h, 200);
        sent = http_send(c, 200, "text/plain; charset=utf-8", resp.body.data, resp.body.len);
        free(reply);
        return sent;
    }
    if (kind == QUERY_TIMELINE_PAGE) doc = timeline_json(trial, from, resp.body.data, resp.body.len);
    if (kind == QUERY_READ_LOG) doc = read_log_json(trial, resp.body.data, resp.body.len);
    if (kind == QUERY_TRIAL && codec_trial_reply_decode(resp.body.data, resp.body.len, &t, NULL) == CODEC_OK)
        doc = trial_json(trial, &t);
    if (kind == QUERY_CONSENT
        && codec_consent_reply_decode(resp.body.data, resp.body.len, &page, entries,
                                      CODEC_CONSENT_REPLY_MAX, NULL) == CODEC_OK)
        doc = consent_json(trial, participant, &page, entries);
    sent = doc ? http_send_json(h, c, 200, doc) : http_error(h, c, 500, "INTERNAL", "the reply does not decode");
    free(reply);
    return sent;
}

/* The public protocol history (no signature): each event's receipt decoded, the tx from its
 * proof, and the receipt file in base64 for a reader who verifies it. */
static enum MHD_Result get_history(http_api *h, struct MHD_Connection *c, const http_request *rq,
                                   const codec_span *trial)
{
    uint64_t from;
    if (!query_u64(c, "from", 0, UINT64_MAX, &from))
        return http_error(h, c, 400, "BAD_REQUEST", "from is an event number");
    uint8_t body[64], *reply;
    codec_buf b = codec_buf_make(body, sizeof body);
    codec_public_request_encode(trial->data, trial->len, from, &b);
    codec_client_response resp;
    enum MHD_Result sent;
    (void)rq;
    if (!ask(h, c, NULL, CLIENT_PUBLIC, b.data, b.len, &reply, &resp, &sent)) return sent;
    static _Thread_local codec_public_entry entries[CODEC_PUBLIC_REPLY_MAX];
    codec_public_page p;
    if (codec_public_reply_decode(resp.body.data, resp.body.len, &p, entries,
                                  CODEC_PUBLIC_REPLY_MAX, NULL) != CODEC_OK) {
        free(reply);
        return http_error(h, c, 500, "INTERNAL", "the public reply does not decode");
    }
    json_t *list = json_array();
    for (uint32_t i = 0; i < p.count; i++) {
        json_t *one = receipt_reply_json(entries[i].receipt_reply.data, entries[i].receipt_reply.len);
        if (!one) continue;
        char *b64 = malloc(TCRYPTO_BASE64_LEN(entries[i].receipt_reply.len));
        if (b64) {
            tcrypto_base64_encode(entries[i].receipt_reply.data, entries[i].receipt_reply.len, b64);
            json_object_set_new(one, "receipt_file", json_string(b64));
        }
        free(b64);
        json_object_set_new(one, "method", json_string(entries[i].method));
        json_array_append_new(list, one);
    }
    free(reply);
    return http_send_json(h, c, 200,
                          json_pack("{s:s%, s:I, s:I, s:o, s:o}", "trial", (const char *)trial->data,
                                    trial->len, "total", (json_int_t)p.total, "from",
                                    (json_int_t)p.from, "enrolled",
                                    p.has_enrolled ? json_integer((json_int_t)p.enrolled) : json_null(),
                                    "events", list));
}

static bool printable(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x21 || s[i] > 0x7e) return false;
    return true;
}

/* ---- routing of the reads --------------------------------------------------------------- */

bool http_route_reads(http_api *h, struct MHD_Connection *c, const char *method, const char *url,
                      http_request *rq, enum MHD_Result *sent)
{
    if (http_route_fhir(h, c, method, url, rq, sent)) return true; /* /fhir/... (http_fhir.c) */
    bool receipts = strncmp(url, "/v1/receipts/", 13) == 0, blocks = strcmp(url, "/v1/blocks") == 0;
    bool trials = strncmp(url, "/v1/trials/", 11) == 0 && url[11] != '\0';
    bool events = strcmp(url, "/v1/events") == 0, export = strcmp(url, "/v1/export") == 0;
    if (!receipts && !blocks && !trials && !events && !export) return false;
    if (strcmp(method, "GET") != 0) {
        *sent = http_error(h, c, 405, "METHOD_NOT_ALLOWED", "%s is not allowed on %s", method, url);
        return true;
    }
    if (events) *sent = http_get_events(h, c, rq);
    else if (export) *sent = http_get_export(h, c, rq);
    else if (receipts) *sent = get_receipt(h, c, rq, url + 13);
    else if (blocks) *sent = get_blocks(h, c, rq);
    else {
        const char *id = url + 11, *slash = strchr(id, '/');
        size_t len = slash ? (size_t)(slash - id) : strlen(id);
        codec_span trial = {(const uint8_t *)id, len};
        if (len == 0 || len > 32 || !printable(id, len)) {
            *sent = http_error(h, c, 400, "BAD_REQUEST", "a trial id in a path is 1..32 printable "
                               "ASCII characters other than '/' (read others over the nng client API)");
        } else if (slash && strcmp(slash, "/history") == 0) {
            *sent = get_history(h, c, rq, &trial);
        } else if (slash && strncmp(slash, "/grants/", 8) == 0) {
            char *end;
            const char *g = slash + 8;
            errno = 0;
            unsigned long long grant = strtoull(g, &end, 10);
            if (g[0] < '0' || g[0] > '9' || errno || strcmp(end, "/records") != 0 || (g[0] == '0' && end != g + 1))
                *sent = http_error(h, c, 404, "NOT_FOUND", "no endpoint %s (a grant's records: /grants/{number}/records)", url);
            else
                *sent = get_grant_records(h, c, rq, &trial, grant);
        } else {
            *sent = trial_query(h, c, rq, &trial, slash ? slash : "");
        }
    }
    return true;
}
