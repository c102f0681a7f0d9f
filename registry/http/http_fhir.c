/*
 * http_fhir.c - the FHIR R4 read API (docs/FHIR.md "HTTP", docs/HTTP.md): a trial's resources
 * as application/fhir+json, rendered by registry/fhir from what the signing key may read.
 *
 *   GET /fhir/metadata                      the CapabilityStatement (no signature)
 *   GET /fhir/ResearchStudy/{id}            one ResearchStudy
 *   GET /fhir/ResearchStudy/{id}/$export    the whole trial, a Bundle of type collection
 *   GET /fhir/ResearchSubject?study={id}    a searchset Bundle
 *   GET /fhir/Consent?patient={id}          a searchset Bundle
 *
 * Every read but metadata is RFC 9421 signed (http_auth.c, as the other reads) and fed by the
 * client API's EVENTS read as that key, block by block from height 1 (the same role filter,
 * exec_tx_visible, as /v1/events and `trialctl fhir export --url`), so a participant gets its
 * own resources and nobody more than the ledger's rules give. Errors are OperationOutcome.
 * Deliberately simple: no index, each request reads the chain's certified blocks (bench fhir
 * gives the rate), which bounds it to ledgers of modest size; an index is future work.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir.h"
#include "http_internal.h"

#define FHIR_REPLY_MAX (8u << 20)
#define FHIR_TRIALS_MAX 64 /* trials one Consent search follows */
#define FHIR_TYPE "application/fhir+json"
#define FHIR_BASE "urn:trialreg:fhir"

static enum MHD_Result send_fhir(http_api *h, struct MHD_Connection *c, unsigned status, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(doc);
    if (!text) return http_error(h, c, 500, "INTERNAL", "out of memory");
    enum MHD_Result ok = http_send(c, status, FHIR_TYPE, text, strlen(text));
    free(text);
    http_count(h, status);
    return ok;
}

/* An OperationOutcome (R4 issue-type code by HTTP status). */
static enum MHD_Result outcome(http_api *h, struct MHD_Connection *c, unsigned status,
                               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum MHD_Result outcome(http_api *h, struct MHD_Connection *c, unsigned status,
                               const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    const char *code = status == 400 ? "invalid" : status == 401 ? "login" : status == 403 ? "forbidden"
                       : status == 404 ? "not-found" : status == 405 ? "not-supported" : "exception";
    return send_fhir(h, c, status,
                     json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "resourceType", "OperationOutcome",
                               "issue", "severity", "error", "code", code, "diagnostics", why));
}

/* ---- the source: EVENTS as the signer --------------------------------------------------- */

typedef struct {
    uint32_t count;
    uint8_t trial[FHIR_TRIALS_MAX][32];
    size_t len[FHIR_TRIALS_MAX];
    fhir_export *x[FHIR_TRIALS_MAX];
    const uint8_t *only; /* one trial's txs only, or NULL: every trial's (up to the bound) */
    size_t only_len;
} export_set;

static void set_free(export_set *s)
{
    for (uint32_t i = 0; i < s->count; i++) fhir_export_free(s->x[i]);
}

/* The export of the tx's trial (its first argument), created on first sight; NULL to skip. */
static fhir_export *export_of(export_set *s, const codec_span *entry)
{
    static _Thread_local codec_tx tx;
    if (codec_entry_is_pruned(entry) || codec_tx_decode(entry->data, entry->len, &tx, NULL) != CODEC_OK
        || tx.arg_count < 1 || tx.args[0].kind != CODEC_VALUE_BYTES || tx.args[0].len < 1
        || tx.args[0].len > 32)
        return NULL;
    const uint8_t *t = tx.args[0].bytes;
    size_t len = tx.args[0].len;
    if (s->only && (len != s->only_len || memcmp(t, s->only, len) != 0)) return NULL;
    for (uint32_t i = 0; i < s->count; i++)
        if (s->len[i] == len && memcmp(s->trial[i], t, len) == 0) return s->x[i];
    if (s->count == FHIR_TRIALS_MAX) return NULL;
    fhir_options opt = {.base = FHIR_BASE};
    fhir_export *x = fhir_export_new(t, len, &opt);
    if (!x) return NULL;
    memcpy(s->trial[s->count], t, len);
    s->len[s->count] = len;
    s->x[s->count++] = x;
    return x;
}

/* Feed every certified block's txs the asker may see into s. 0, or the HTTP status of the
 * failure (why set). */
static unsigned scan(http_api *h, const pubkey *asker, export_set *s, char *why, size_t cap)
{
    uint8_t *reply = malloc(FHIR_REPLY_MAX);
    static _Thread_local codec_event_tx txs[CODEC_BLOCK_TXS_MAX];
    unsigned status = reply ? 0 : 500;
    if (!reply) snprintf(why, cap, "out of memory");
    for (uint64_t height = 1; status == 0; height++) {
        uint8_t body[16];
        codec_buf req = codec_buf_make(body, sizeof body);
        codec_events_request_encode(height, &req);
        codec_client_response resp;
        if (!http_capi(h, asker, CLIENT_EVENTS, req.data, req.len, reply, FHIR_REPLY_MAX, &resp)) {
            status = 500, snprintf(why, cap, "the node did not answer the events read");
            break;
        }
        if (resp.status == CAPI_NOT_FOUND) break; /* past the head */
        uint64_t got, time_ms;
        bool certified;
        uint32_t n = 0;
        if (resp.status != CAPI_OK) {
            status = resp.status == CAPI_DENIED ? 403 : 500;
            snprintf(why, cap, "%s: %s", capi_status_name(resp.status), resp.reason);
        } else if (codec_events_reply_decode(resp.body.data, resp.body.len, &got, &certified, txs,
                                             CODEC_BLOCK_TXS_MAX, &n, &time_ms, NULL) != CODEC_OK) {
            status = 500, snprintf(why, cap, "the events reply of height %" PRIu64 " does not decode", height);
        } else if (!certified) {
            break; /* its receipts are not final yet */
        }
        for (uint32_t i = 0; status == 0 && i < n; i++) {
            fhir_export *x = export_of(s, &txs[i].tx);
            fhir_tx t = {height, txs[i].index, time_ms, txs[i].tx, txs[i].receipt};
            if (x && fhir_export_add(x, &t, why, cap) != 0) status = 500;
        }
    }
    free(reply);
    return status;
}

/* ---- the endpoints --------------------------------------------------------------------- */

static json_t *capability_statement(void)
{
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:{s:s}, s:s, s:[s], s:[{s:s, s:[{s:s, s:[{s:s}], "
        "s:[{s:s, s:s}]}, {s:s, s:[{s:s}], s:[{s:s, s:s, s:s}]}, {s:s, s:[{s:s}], s:[{s:s, s:s, s:s}]}]}]}",
        "resourceType", "CapabilityStatement", "id", "trialreg", "name", "TrialregFhirReadApi", "status",
        "active", "date", "2026-12-06", "kind", "instance", "software", "name", "trialreg",
        "implementation", "description",
        "A trialreg validator: trials, participants and consents read from the ledger by role "
        "(RFC 9421 signed requests; docs/FHIR.md)",
        "fhirVersion", "4.0.1", "format", FHIR_TYPE, "rest", "mode", "server", "resource", "type",
        "ResearchStudy", "interaction", "code", "read", "operation", "name", "export", "definition",
        "urn:trialreg:fhir:OperationDefinition:ResearchStudy-export", "type", "ResearchSubject",
        "interaction", "code", "search-type", "searchParam", "name", "study", "type", "reference",
        "documentation", "the ResearchStudy id (the trial id)", "type", "Consent", "interaction",
        "code", "search-type", "searchParam", "name", "patient", "type", "reference",
        "documentation", "the Patient id (the participant's key, 64 hex)");
}

/* A searchset Bundle of the resources of type whose reference at path (one level, e.g.
 * "study") is ref. */
static json_t *searchset(json_t *resources, const char *type, const char *field, const char *ref,
                         const char *self)
{
    json_t *entries = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(resources, i, r) {
        const char *rt = json_string_value(json_object_get(r, "resourceType"));
        const char *to = json_string_value(json_object_get(json_object_get(r, field), "reference"));
        if (strcmp(rt, type) != 0 || !to || strcmp(to, ref) != 0) continue;
        char url[256];
        snprintf(url, sizeof url, "%s/%s/%s", FHIR_BASE, type, json_string_value(json_object_get(r, "id")));
        json_array_append_new(entries, json_pack("{s:s, s:O, s:{s:s}}", "fullUrl", url, "resource", r,
                                                 "search", "mode", "match"));
    }
    json_t *b = json_pack("{s:s, s:s, s:I, s:[{s:s, s:s}]}", "resourceType", "Bundle", "type",
                          "searchset", "total", (json_int_t)json_array_size(entries), "link",
                          "relation", "self", "url", self);
    if (json_array_size(entries)) json_object_set_new(b, "entry", entries);
    else json_decref(entries);
    return b;
}

/* The trial of a study id: the id itself (ids of trials that are not 1..32 id characters are
 * hashed, docs/FHIR.md, and cannot be read back: not found). */
static bool trial_of(const char *id, size_t len)
{
    if (len < 1 || len > 32) return false;
    char back[FHIR_ID_MAX + 1];
    fhir_study_id((const uint8_t *)id, len, back);
    return strlen(back) == len && memcmp(back, id, len) == 0;
}

static enum MHD_Result study_read(http_api *h, struct MHD_Connection *c, const pubkey *key,
                                  const char *id, size_t len, bool whole)
{
    if (!trial_of(id, len)) return outcome(h, c, 404, "no ResearchStudy %.*s", (int)len, id);
    export_set s = {.only = (const uint8_t *)id, .only_len = len};
    char why[256];
    unsigned st = scan(h, key, &s, why, sizeof why);
    enum MHD_Result sent;
    if (st) sent = outcome(h, c, st, "%s", why);
    else if (s.count == 0 || !fhir_export_has_study(s.x[0]))
        sent = outcome(h, c, 404, "no ResearchStudy %.*s this key may read", (int)len, id);
    else if (whole) sent = send_fhir(h, c, 200, fhir_export_bundle(s.x[0]));
    else {
        json_t *all = fhir_export_resources(s.x[0]), *study = NULL, *r;
        size_t i;
        json_array_foreach(all, i, r)
            if (!study && strcmp(json_string_value(json_object_get(r, "resourceType")), "ResearchStudy") == 0)
                study = json_incref(r);
        json_decref(all);
        sent = send_fhir(h, c, 200, study);
    }
    set_free(&s);
    return sent;
}

/* ?name=Type/id or ?name=id: the id, or NULL. */
static const char *param_id(struct MHD_Connection *c, const char *name, const char *type)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    size_t tl = strlen(type);
    if (v && strncmp(v, type, tl) == 0 && v[tl] == '/') v += tl + 1;
    return v && *v && strlen(v) <= FHIR_ID_MAX ? v : NULL;
}

static enum MHD_Result search(http_api *h, struct MHD_Connection *c, const pubkey *key, bool consent)
{
    const char *id = consent ? param_id(c, "patient", "Patient") : param_id(c, "study", "ResearchStudy");
    if (!id) return outcome(h, c, 400, "%s", consent ? "patient=Patient/{64 hex} is required"
                                                      : "study=ResearchStudy/{id} is required");
    if (!consent && !trial_of(id, strlen(id)))
        return outcome(h, c, 404, "no ResearchStudy %s", id);
    export_set s = {.only = consent ? NULL : (const uint8_t *)id, .only_len = consent ? 0 : strlen(id)};
    char why[256], ref[96], self[192];
    unsigned st = scan(h, key, &s, why, sizeof why);
    if (st) {
        set_free(&s);
        return outcome(h, c, st, "%s", why);
    }
    snprintf(ref, sizeof ref, "%s/%s", consent ? "Patient" : "ResearchStudy", id);
    snprintf(self, sizeof self, "%s/%s?%s=%s", FHIR_BASE, consent ? "Consent" : "ResearchSubject",
             consent ? "patient" : "study", ref);
    json_t *all = json_array();
    for (uint32_t i = 0; i < s.count; i++) {
        json_t *more = fhir_export_resources(s.x[i]);
        json_array_extend(all, more);
        json_decref(more);
    }
    set_free(&s);
    json_t *b = searchset(all, consent ? "Consent" : "ResearchSubject", consent ? "patient" : "study", ref, self);
    json_decref(all);
    return send_fhir(h, c, 200, b);
}

bool http_route_fhir(http_api *h, struct MHD_Connection *c, const char *method, const char *url,
                     http_request *rq, enum MHD_Result *sent)
{
    if (strncmp(url, "/fhir/", 6) != 0) return false;
    const char *path = url + 6;
    if (strcmp(method, "GET") != 0) {
        *sent = outcome(h, c, 405, "%s is not allowed on %s", method, url);
        return true;
    }
    if (strcmp(path, "metadata") == 0) {
        *sent = send_fhir(h, c, 200, capability_statement());
        return true;
    }
    bool study = strncmp(path, "ResearchStudy/", 14) == 0, subjects = strcmp(path, "ResearchSubject") == 0;
    bool consents = strcmp(path, "Consent") == 0;
    if (!study && !subjects && !consents) {
        *sent = outcome(h, c, 404, "no FHIR endpoint %s (GET /fhir/metadata lists them)", url);
        return true;
    }
    pubkey key;
    http_refusal no;
    if (!http_authenticate(h, c, "GET", rq, &key, &no)) {
        *sent = outcome(h, c, no.status, "%s: %s", no.code, no.reason);
        return true;
    }
    if (subjects || consents) {
        *sent = search(h, c, &key, consents);
        return true;
    }
    const char *id = path + 14, *slash = strchr(id, '/');
    size_t len = slash ? (size_t)(slash - id) : strlen(id);
    if (slash && strcmp(slash, "/$export") != 0)
        *sent = outcome(h, c, 404, "no FHIR endpoint %s", url);
    else
        *sent = study_read(h, c, &key, id, len, slash != NULL);
    return true;
}
