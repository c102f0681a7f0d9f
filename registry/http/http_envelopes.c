/*
 * http_envelopes.c - the e-consent envelope store (docs/HTTP.md "Envelopes"): where the
 * signed parts of a consent meet between the investigator's device and the participant's
 * device without a private key moving. Off the ledger and in memory only: nothing here is
 * written to disk or to the ledger, and an envelope holds only a consent.grant tx body and
 * the two signatures over it (no name, no document, no PHI).
 *
 *   POST /v1/envelopes       signed by the investigator: {"participant": hex key,
 *                            "body": base64 tx body, "ttl_s": optional}; 201 the envelope
 *   GET  /v1/envelopes/{id}  signed by either of its two keys: the envelope
 *   PUT  /v1/envelopes/{id}  signed by either of its two keys: {"sig": hex}, the
 *                            participant's author signature, then the investigator's
 *                            witness co-signature; each checked before it is kept
 *
 * Bounds: an envelope lives ttl_s (at most cfg.envelope_ttl_max_ms, default 15 min) and is
 * then gone (410 while its slot is remembered: one ttl_max, or until the store needs the
 * slot; 404 after); the store holds at most
 * cfg.envelopes_max envelopes and cfg.envelope_bytes_max bytes (503 STORE_FULL beyond); one
 * body is at most a tx (413). A key that is neither of the two gets 403, an unsigned request
 * 401 (http_authenticate).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

#define ENVELOPE_ID_BYTES 16
#define ENVELOPE_OVERHEAD 256 /* what one envelope costs besides its body, counted in bytes */

typedef struct {
    bool used;
    bool gone;              /* expired: its body and signatures wiped, id kept for a 410 */
    uint8_t id[ENVELOPE_ID_BYTES];
    pubkey investigator, participant;
    uint64_t created_ms, expires_ms;
    uint8_t *body;          /* the tx body (0x96 || fields 0..5), canonical */
    size_t body_len;
    bool has_sig, has_witness;
    signature sig;          /* the participant's author signature (tag trialreg/v1/tx) */
    signature witness;      /* the investigator's co-signature, meaning witness */
} envelope;

struct http_envelopes {
    pthread_mutex_t mu;
    uint32_t cap;
    uint64_t bytes;         /* live bodies + overhead, under mu */
    uint32_t live;          /* under mu */
    envelope *slots;
};

http_envelopes *http_envelopes_new(uint32_t cap)
{
    http_envelopes *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->cap = cap;
    s->slots = calloc(cap, sizeof *s->slots);
    if (!s->slots) return free(s), NULL;
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

static void wipe(http_envelopes *s, envelope *e)
{
    if (e->body) {
        memset(e->body, 0, e->body_len);
        free(e->body);
        s->bytes -= e->body_len + ENVELOPE_OVERHEAD;
        s->live--;
    }
    e->body = NULL;
    e->body_len = 0;
    e->has_sig = e->has_witness = false;
    memset(&e->sig, 0, sizeof e->sig);
    memset(&e->witness, 0, sizeof e->witness);
}

void http_envelopes_free(http_envelopes *s)
{
    if (!s) return;
    for (uint32_t i = 0; i < s->cap; i++) wipe(s, &s->slots[i]);
    pthread_mutex_destroy(&s->mu);
    free(s->slots);
    free(s);
}

/* Expired envelopes lose their contents now; a gone slot is forgotten one ttl_max later
 * (until then its id answers 410). Called with mu held. */
static void sweep(http_envelopes *s, uint64_t now, uint64_t ttl_max)
{
    for (uint32_t i = 0; i < s->cap; i++) {
        envelope *e = &s->slots[i];
        if (!e->used) continue;
        if (!e->gone && e->expires_ms <= now) {
            wipe(s, e);
            e->gone = true;
        }
        if (e->gone && e->expires_ms + ttl_max <= now) memset(e, 0, sizeof *e);
    }
}

/* ---- JSON ------------------------------------------------------------------------------- */

static json_t *hex_json(const uint8_t *bytes, size_t len)
{
    char hex[2 * 64 + 1];
    tcrypto_to_hex(bytes, len, hex);
    return json_string(hex);
}

static json_t *b64_json(const uint8_t *bytes, size_t len)
{
    char *text = malloc(TCRYPTO_BASE64_LEN(len));
    if (!text) return NULL;
    tcrypto_base64_encode(bytes, len, text);
    json_t *s = json_string(text);
    free(text);
    return s;
}

/* The whole tx once both signatures are in: [signer, ..., args, [[inv, 4, witness]], sig]. */
static json_t *tx_json(const envelope *e)
{
    size_t cap = e->body_len + 256;
    uint8_t *tx = malloc(cap);
    if (!tx) return NULL;
    size_t n = 0;
    tx[n++] = 0x98;
    memcpy(tx + n, e->body + 1, e->body_len - 1);
    n += e->body_len - 1;
    tx[n++] = 0x91; /* cosigs: one */
    tx[n++] = 0x93;
    tx[n++] = 0xc4, tx[n++] = 32;
    memcpy(tx + n, e->investigator.bytes, 32), n += 32;
    tx[n++] = MEANING_WITNESS;
    tx[n++] = 0xc4, tx[n++] = 64;
    memcpy(tx + n, e->witness.bytes, 64), n += 64;
    tx[n++] = 0xc4, tx[n++] = 64;
    memcpy(tx + n, e->sig.bytes, 64), n += 64;
    hash32 id;
    tcrypto_sha256(tx, n, &id);
    json_t *out = json_pack("{s:o, s:o}", "tx", b64_json(tx, n), "tx_id", hex_json(id.bytes, 32));
    free(tx);
    return out;
}

static json_t *envelope_json(const envelope *e)
{
    json_t *doc = json_pack("{s:o, s:o, s:o, s:o, s:I, s:I, s:o, s:o}",
                            "id", hex_json(e->id, ENVELOPE_ID_BYTES),
                            "investigator", hex_json(e->investigator.bytes, 32),
                            "participant", hex_json(e->participant.bytes, 32),
                            "body", b64_json(e->body, e->body_len),
                            "created_at", (json_int_t)e->created_ms,
                            "expires_at", (json_int_t)e->expires_ms,
                            "participant_sig", e->has_sig ? hex_json(e->sig.bytes, 64) : json_null(),
                            "witness_sig", e->has_witness ? hex_json(e->witness.bytes, 64) : json_null());
    json_t *tx = doc && e->has_sig && e->has_witness ? tx_json(e) : NULL;
    if (tx) json_object_update(doc, tx);
    json_decref(tx);
    return doc;
}

/* ---- the body a creator sends ------------------------------------------------------------ */

/* A consent.grant body signed by participant: decoded through a whole tx (no cosigs, a
 * zero signature appended) and re-encoded, so only a canonical body is kept. */
static bool check_body(const uint8_t *body, size_t len, const pubkey *participant, char *why,
                       size_t cap)
{
    if (len < 2 || len > CODEC_TX_MAX - 80 || body[0] != 0x96) {
        snprintf(why, cap, "body is not a tx body (a msgpack array of 6: FORMATS 5.1)");
        return false;
    }
    uint8_t *tx = malloc(len + 80), *again = malloc(len + 16);
    if (!tx || !again) {
        free(tx), free(again);
        snprintf(why, cap, "out of memory");
        return false;
    }
    memcpy(tx, body, len);
    tx[0] = 0x98;
    tx[len] = 0x90;
    tx[len + 1] = 0xc4, tx[len + 2] = 64;
    memset(tx + len + 3, 0, 64);
    static _Thread_local codec_tx t;
    codec_error err;
    bool ok = false;
    codec_buf b = codec_buf_make(again, len + 16);
    if (codec_tx_decode(tx, len + 67, &t, &err) != CODEC_OK)
        snprintf(why, cap, "body does not decode as a tx body: %s", err.field ? err.field : "?");
    else if (codec_tx_body_encode(&t, &b) != CODEC_OK || b.len != len || memcmp(again, body, len) != 0)
        snprintf(why, cap, "body is not canonical msgpack (FORMATS 1)");
    else if (strcmp(t.contract.text, "consent") != 0 || strcmp(t.method.text, "grant") != 0)
        snprintf(why, cap, "an envelope holds a consent.grant body only, not %s.%s",
                 t.contract.text, t.method.text);
    else if (memcmp(t.signer.bytes, participant->bytes, 32) != 0)
        snprintf(why, cap, "the body's signer is not the envelope's participant");
    else
        ok = true;
    free(tx);
    free(again);
    return ok;
}

static bool key_of(json_t *doc, const char *name, uint8_t *out, size_t n)
{
    const char *hex = json_string_value(json_object_get(doc, name));
    return hex && strlen(hex) == 2 * n && tcrypto_from_hex(hex, 2 * n, out, n);
}

/* ---- endpoints -------------------------------------------------------------------------- */

static enum MHD_Result refuse(http_api *h, struct MHD_Connection *c, const http_refusal *no)
{
    return http_error(h, c, no->status, no->code, "%s", no->reason);
}

static enum MHD_Result post_envelope(http_api *h, struct MHD_Connection *c, http_request *rq)
{
    http_refusal no;
    pubkey inv;
    if (!http_authenticate(h, c, "POST", rq, &inv, &no)) return refuse(h, c, &no);
    if (rq->body_len > CODEC_TX_MAX * 2)
        return http_error(h, c, 413, "TOO_LARGE", "an envelope's request is at most %u bytes",
                          (unsigned)CODEC_TX_MAX * 2);
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc || !json_is_object(doc)) {
        json_decref(doc);
        return http_error(h, c, 400, "BAD_JSON", "the body is not a JSON object: %s", jerr.text);
    }
    pubkey part;
    const char *b64 = json_string_value(json_object_get(doc, "body"));
    json_t *ttl_j = json_object_get(doc, "ttl_s");
    uint64_t ttl_max = h->cfg.envelope_ttl_max_ms;
    uint64_t ttl_ms = ttl_max;
    char why[256];
    uint8_t *body = NULL;
    size_t body_len = 0;
    enum MHD_Result r;
    if (!key_of(doc, "participant", part.bytes, 32)) {
        r = http_error(h, c, 400, "BAD_REQUEST", "participant must be a public key in 64 hex");
    } else if (memcmp(part.bytes, inv.bytes, 32) == 0) {
        r = http_error(h, c, 400, "BAD_REQUEST", "the participant's key is the signer's own: a witness cannot witness itself");
    } else if (ttl_j && (!json_is_integer(ttl_j) || json_integer_value(ttl_j) < 1
                         || (uint64_t)json_integer_value(ttl_j) * 1000 > ttl_max)) {
        r = http_error(h, c, 400, "BAD_REQUEST", "ttl_s must be 1..%" PRIu64 " seconds", ttl_max / 1000);
    } else if (!b64 || !(body = malloc(strlen(b64) + 1))
               || !tcrypto_base64_decode(b64, strlen(b64), body, strlen(b64), &body_len)) {
        r = http_error(h, c, 400, "BAD_REQUEST", "body must be the tx body in padded base64");
    } else if (body_len > CODEC_TX_MAX - 80) {
        r = http_error(h, c, 413, "TOO_LARGE", "a tx body is at most %u bytes", (unsigned)CODEC_TX_MAX - 80);
    } else if (!check_body(body, body_len, &part, why, sizeof why)) {
        r = http_error(h, c, 400, "BAD_BODY", "%s", why);
    } else {
        if (ttl_j) ttl_ms = (uint64_t)json_integer_value(ttl_j) * 1000;
        http_envelopes *s = h->envelopes;
        uint64_t now = http_now_ms(h);
        pthread_mutex_lock(&s->mu);
        sweep(s, now, ttl_max);
        envelope *e = NULL;
        for (uint32_t i = 0; i < s->cap && !e; i++)
            if (!s->slots[i].used) e = &s->slots[i];
        for (uint32_t i = 0; i < s->cap && !e; i++) /* else forget an expired one */
            if (s->slots[i].gone) e = &s->slots[i];
        if (!e || s->bytes + body_len + ENVELOPE_OVERHEAD > h->cfg.envelope_bytes_max) {
            pthread_mutex_unlock(&s->mu);
            r = http_error(h, c, 503, "STORE_FULL", "the envelope store is full (%s); retry in a few minutes",
                           e ? "bytes" : "count");
        } else {
            *e = (envelope){.used = true, .investigator = inv, .participant = part,
                            .created_ms = now, .expires_ms = now + ttl_ms, .body = body,
                            .body_len = body_len};
            tcrypto_random(e->id, sizeof e->id);
            body = NULL;
            s->bytes += body_len + ENVELOPE_OVERHEAD;
            s->live++;
            json_t *out = envelope_json(e);
            pthread_mutex_unlock(&s->mu);
            r = http_send_json(h, c, 201, out);
        }
    }
    free(body);
    json_decref(doc);
    return r;
}

/* Find the envelope {id} for key; NULL with the answer sent otherwise. Returns with mu held
 * when it found one. */
static envelope *find(http_api *h, struct MHD_Connection *c, const char *id_hex, const pubkey *key,
                      enum MHD_Result *sent)
{
    uint8_t id[ENVELOPE_ID_BYTES];
    if (strlen(id_hex) != 2 * ENVELOPE_ID_BYTES || !tcrypto_from_hex(id_hex, 2 * ENVELOPE_ID_BYTES, id, sizeof id)) {
        *sent = http_error(h, c, 404, "NOT_FOUND", "no envelope %s (an id is 32 hex)", id_hex);
        return NULL;
    }
    http_envelopes *s = h->envelopes;
    pthread_mutex_lock(&s->mu);
    sweep(s, http_now_ms(h), h->cfg.envelope_ttl_max_ms);
    envelope *e = NULL;
    for (uint32_t i = 0; i < s->cap && !e; i++)
        if (s->slots[i].used && memcmp(s->slots[i].id, id, sizeof id) == 0) e = &s->slots[i];
    if (e && !e->gone && memcmp(key->bytes, e->investigator.bytes, 32) != 0
        && memcmp(key->bytes, e->participant.bytes, 32) != 0) {
        pthread_mutex_unlock(&s->mu);
        *sent = http_error(h, c, 403, "FORBIDDEN", "this envelope is for two other keys");
        return NULL;
    }
    if (e && e->gone) {
        pthread_mutex_unlock(&s->mu);
        *sent = http_error(h, c, 410, "GONE", "this envelope expired; its contents are deleted");
        return NULL;
    }
    if (!e) {
        pthread_mutex_unlock(&s->mu);
        *sent = http_error(h, c, 404, "NOT_FOUND", "no envelope %s (or it expired long ago)", id_hex);
        return NULL;
    }
    return e;
}

static enum MHD_Result get_envelope(http_api *h, struct MHD_Connection *c, http_request *rq,
                                    const char *id)
{
    http_refusal no;
    pubkey key;
    if (!http_authenticate(h, c, "GET", rq, &key, &no)) return refuse(h, c, &no);
    enum MHD_Result sent;
    envelope *e = find(h, c, id, &key, &sent);
    if (!e) return sent;
    json_t *out = envelope_json(e);
    pthread_mutex_unlock(&h->envelopes->mu);
    return http_send_json(h, c, 200, out);
}

static enum MHD_Result put_envelope(http_api *h, struct MHD_Connection *c, http_request *rq,
                                    const char *id)
{
    http_refusal no;
    pubkey key;
    if (!http_authenticate(h, c, "PUT", rq, &key, &no)) return refuse(h, c, &no);
    json_t *doc = json_loadb((const char *)rq->body, rq->body_len, JSON_REJECT_DUPLICATES, NULL);
    signature sig;
    if (!doc || !key_of(doc, "sig", sig.bytes, 64)) {
        json_decref(doc);
        return http_error(h, c, 400, "BAD_REQUEST", "the body must be {\"sig\": \"<128 hex>\"}");
    }
    json_decref(doc);
    enum MHD_Result sent;
    envelope *e = find(h, c, id, &key, &sent);
    if (!e) return sent;
    bool participant = memcmp(key.bytes, e->participant.bytes, 32) == 0;
    unsigned status = 200;
    const char *code = NULL, *why = NULL;
    if (participant) {
        if (e->has_sig && memcmp(e->sig.bytes, sig.bytes, 64) != 0)
            status = 409, code = "CONFLICT", why = "the participant has signed this envelope already";
        else if (!tcrypto_verify(&e->participant, TCRYPTO_TAG_TX, &h->cfg.chain_id, e->body, e->body_len, &sig))
            status = 400, code = "BAD_TX_SIGNATURE", why = "not the participant's signature of this body on this chain (tag trialreg/v1/tx)";
        else
            e->sig = sig, e->has_sig = true;
    } else {
        hash32 body_hash;
        tcrypto_sha256(e->body, e->body_len, &body_hash);
        uint8_t cb[128];
        codec_buf b = codec_buf_make(cb, sizeof cb);
        if (!e->has_sig)
            status = 409, code = "CONFLICT", why = "the participant has not signed yet: a witness signs after the act it witnesses";
        else if (e->has_witness && memcmp(e->witness.bytes, sig.bytes, 64) != 0)
            status = 409, code = "CONFLICT", why = "the witness has signed this envelope already";
        else if (codec_cosig_body_encode(&body_hash, MEANING_WITNESS, &e->investigator, &b) != CODEC_OK
                 || !tcrypto_verify(&e->investigator, TCRYPTO_TAG_COSIG, &h->cfg.chain_id, b.data, b.len, &sig))
            status = 400, code = "BAD_TX_SIGNATURE", why = "not the investigator's witness co-signature of this body on this chain (tag trialreg/v1/cosig, meaning 4)";
        else
            e->witness = sig, e->has_witness = true;
    }
    json_t *out = status == 200 ? envelope_json(e) : NULL;
    pthread_mutex_unlock(&h->envelopes->mu);
    if (status != 200) return http_error(h, c, status, code, "%s", why);
    return http_send_json(h, c, 200, out);
}

bool http_route_envelopes(http_api *h, struct MHD_Connection *c, const char *method,
                          const char *url, http_request *rq, enum MHD_Result *sent)
{
    if (strcmp(url, "/v1/envelopes") == 0) {
        if (strcmp(method, "POST") != 0)
            *sent = http_error(h, c, 405, "METHOD_NOT_ALLOWED", "%s is not allowed on %s", method, url);
        else
            *sent = post_envelope(h, c, rq);
        return true;
    }
    if (strncmp(url, "/v1/envelopes/", 14) != 0) return false;
    const char *id = url + 14;
    if (strcmp(method, "GET") == 0) *sent = get_envelope(h, c, rq, id);
    else if (strcmp(method, "PUT") == 0) *sent = put_envelope(h, c, rq, id);
    else *sent = http_error(h, c, 405, "METHOD_NOT_ALLOWED", "%s is not allowed on %s", method, url);
    return true;
}
