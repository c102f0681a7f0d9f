/*
 * fhir.c - a trial's txs as FHIR R4 resources (fhir.h; docs/FHIR.md is the mapping table).
 *
 * Two passes in one: fhir_export_add folds each tx into a small model of the trial (its
 * versions, sites, participants and their grants) and writes the resources that never change
 * once written (Provenance, AuditEvent) at once; fhir_export_bundle renders the model's
 * resources (ResearchStudy, Consent, ... whose status and periods later txs change) at the
 * end. Deliberately simple: the model lives in memory, participants in an open-addressing
 * table, so an export costs O(txs) time and O(participants + grants) memory.
 */
#include "fhir.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "fhir_internal.h"

/* ---- small helpers ------------------------------------------------------------------ */

void fhir_instant(uint64_t ms, char out[32])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03" PRIu64 "Z", base, ms % 1000);
}

json_t *fx_instant(uint64_t ms)
{
    char t[32];
    fhir_instant(ms, t);
    return json_string(t);
}

json_t *fx_hex(const uint8_t *bytes, size_t len)
{
    char h[2 * 64 + 1];
    if (len > 64) len = 64;
    tcrypto_to_hex(bytes, len, h);
    return json_string(h);
}

/* Bytes as text when they are printable ASCII, else "hex:" and their hex (ids and site codes
 * are bytes on the ledger; JSON needs UTF-8). */
json_t *fx_text_of(const uint8_t *bytes, size_t len)
{
    bool printable = len > 0;
    for (size_t i = 0; i < len; i++) printable = printable && bytes[i] >= 0x20 && bytes[i] < 0x7f;
    if (printable) return json_stringn((const char *)bytes, len);
    char h[4 + 2 * CODEC_NAME_MAX + 1] = "hex:";
    tcrypto_to_hex(bytes, len > CODEC_NAME_MAX ? CODEC_NAME_MAX : len, h + 4);
    return json_string(h);
}

/* prefix + the first 20 bytes, in hex, of SHA-256 over the length-prefixed parts. */
void fx_id_hash(char out[FHIR_ID_MAX + 1], const char *prefix, const void *a, size_t alen,
                    const void *b, size_t blen, const void *c, size_t clen)
{
    tcrypto_sha256_state st;
    tcrypto_sha256_init(&st);
    const void *parts[3] = {a, b, c};
    size_t lens[3] = {alen, blen, clen};
    for (int i = 0; i < 3; i++) {
        uint8_t l[4] = {(uint8_t)(lens[i] >> 24), (uint8_t)(lens[i] >> 16), (uint8_t)(lens[i] >> 8),
                        (uint8_t)lens[i]};
        tcrypto_sha256_update(&st, l, 4);
        if (lens[i]) tcrypto_sha256_update(&st, parts[i], lens[i]);
    }
    hash32 h;
    tcrypto_sha256_final(&st, &h);
    char x[41];
    tcrypto_to_hex(h.bytes, 20, x);
    snprintf(out, FHIR_ID_MAX + 1, "%s%s", prefix, x);
}

void fx_id_tx(char out[FHIR_ID_MAX + 1], const char *prefix, const hash32 *tx_id)
{
    char x[41];
    tcrypto_to_hex(tx_id->bytes, 20, x);
    snprintf(out, FHIR_ID_MAX + 1, "%s%s", prefix, x);
}

void fx_be64_put(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8) out[i] = (uint8_t)v;
}

void fhir_study_id(const uint8_t *trial, size_t trial_len, char out[FHIR_ID_MAX + 1])
{
    bool safe = trial_len >= 1 && trial_len <= 32;
    for (size_t i = 0; safe && i < trial_len; i++) {
        uint8_t c = trial[i];
        safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
               || c == '.';
    }
    if (safe) {
        memcpy(out, trial, trial_len);
        out[trial_len] = 0;
    } else {
        fx_id_hash(out, "study-", trial, trial_len, NULL, 0, NULL, 0);
    }
}

void fx_id_version_doc(const fhir_export *x, uint64_t v, char out[FHIR_ID_MAX + 1])
{
    uint8_t vb[8];
    fx_be64_put(vb, v);
    fx_id_hash(out, "protocol-", x->trial, x->trial_len, vb, 8, NULL, 0);
}

void fx_id_form(const fhir_export *x, uint64_t v, const hash32 *form, char out[FHIR_ID_MAX + 1])
{
    uint8_t vb[8];
    fx_be64_put(vb, v);
    fx_id_hash(out, "form-", x->trial, x->trial_len, vb, 8, form->bytes, 32);
}

void fx_id_subject(const fhir_export *x, const pubkey *k, char out[FHIR_ID_MAX + 1])
{
    fx_id_hash(out, "subject-", x->trial, x->trial_len, k->bytes, 32, NULL, 0);
}

void fx_id_group(const fhir_export *x, char out[FHIR_ID_MAX + 1])
{
    fx_id_hash(out, "enrolment-", x->trial, x->trial_len, NULL, 0, NULL, 0);
}

/* A literal reference "Type/id". */
json_t *fx_ref(const char *type, const char *id)
{
    char r[96];
    snprintf(r, sizeof r, "%s/%s", type, id);
    return json_pack("{s:s}", "reference", r);
}

json_t *fx_ref_patient(const pubkey *k)
{
    char h[65];
    tcrypto_to_hex(k->bytes, 32, h);
    return fx_ref("Patient", h);
}

/* A logical reference to a key that holds a role (sponsor, regulator, investigator,
 * researcher): no resource of its own, the key as its identifier. */
json_t *fx_ref_key(const char *type, const pubkey *k, const char *display)
{
    return json_pack("{s:s, s:{s:s, s:o}, s:s}", "type", type, "identifier", "system",
                     FHIR_SYSTEM_KEY, "value", fx_hex(k->bytes, 32), "display", display);
}

json_t *fx_coding(const char *system, const char *code, const char *display)
{
    return json_pack("{s:s, s:s, s:s}", "system", system, "code", code, "display", display);
}

json_t *fx_concept(const char *system, const char *code, const char *display)
{
    return json_pack("{s:[o]}", "coding", fx_coding(system, code, display));
}

json_t *fx_identifier(const char *system, json_t *value)
{
    return json_pack("{s:s, s:o}", "system", system, "value", value);
}

/* ---- participants ------------------------------------------------------------------- */

static uint64_t key_slot(const pubkey *k, uint32_t cap)
{
    uint64_t h = 0;
    for (int i = 0; i < 8; i++) h = h << 8 | k->bytes[i];
    return h & (cap - 1);
}

static bool table_grow(fhir_export *x)
{
    uint32_t cap = x->table_cap ? x->table_cap * 2 : 64;
    fx_participant *t = calloc(cap, sizeof *t);
    if (!t) return false;
    for (uint32_t i = 0; i < x->table_cap; i++) {
        if (!x->table[i].used) continue;
        uint64_t s = key_slot(&x->table[i].key, cap);
        while (t[s].used) s = (s + 1) & (cap - 1);
        t[s] = x->table[i];
    }
    free(x->table);
    x->table = t;
    x->table_cap = cap;
    return true;
}

/* The participant with key k, added if new (NULL: out of memory). */
fx_participant *fx_participant_find(fhir_export *x, const pubkey *k, bool add)
{
    if (x->table_cap) {
        uint64_t s = key_slot(k, x->table_cap);
        while (x->table[s].used) {
            if (memcmp(x->table[s].key.bytes, k->bytes, 32) == 0) return &x->table[s];
            s = (s + 1) & (x->table_cap - 1);
        }
    }
    if (!add) return NULL;
    if ((x->participant_count + 1) * 2 > x->table_cap && !table_grow(x)) return NULL;
    uint64_t s = key_slot(k, x->table_cap);
    while (x->table[s].used) s = (s + 1) & (x->table_cap - 1);
    fx_participant *p = &x->table[s];
    *p = (fx_participant){.used = true, .key = *k, .order = x->participant_count++};
    return p;
}

static bool grow(void **arr, uint32_t *cap, uint32_t need, size_t size)
{
    if (need <= *cap) return true;
    uint32_t c = *cap ? *cap * 2 : 8;
    while (c < need) c *= 2;
    void *a = realloc(*arr, (size_t)c * size);
    if (!a) return false;
    *arr = a;
    *cap = c;
    return true;
}

/* ---- new, free ---------------------------------------------------------------------- */

fhir_export *fhir_export_new(const uint8_t *trial, size_t trial_len, const fhir_options *opt)
{
    if (trial_len < 1 || trial_len > 32) return NULL;
    fhir_export *x = calloc(1, sizeof *x);
    const char *base = opt && opt->base ? opt->base : "urn:trialreg:fhir";
    if (!x || !(x->base = strdup(base))) {
        free(x);
        return NULL;
    }
    memcpy(x->trial, trial, trial_len);
    x->trial_len = trial_len;
    fhir_study_id(trial, trial_len, x->study_id);
    if (opt && opt->has_participant) {
        x->has_participant = true;
        x->participant = opt->participant;
    }
    return x;
}

void fhir_export_free(fhir_export *x)
{
    if (!x) return;
    for (uint32_t i = 0; i < x->table_cap; i++) {
        free(x->table[i].grants);
        free(x->table[i].denials);
    }
    for (uint32_t i = 0; i < x->fixed_count; i++) json_decref(x->fixed[i].resource);
    free(x->table);
    free(x->fixed);
    free(x->versions);
    free(x->base);
    free(x);
}

bool fhir_export_has_study(const fhir_export *x) { return x->registered; }

/* ---- Provenance ------------------------------------------------------------------------ */

static bool arg_bytes(const codec_tx *tx, uint32_t i, uint32_t min, uint32_t max)
{
    return i < tx->arg_count && tx->args[i].kind == CODEC_VALUE_BYTES && tx->args[i].len >= min
           && tx->args[i].len <= max;
}


/* The signature type of the author's signature (by method) and of a co-signature (by its
 * meaning), E1762 where one fits, else the project's CodeSystem. */
static json_t *signature_type(const char *method, bool cosig, unsigned meaning)
{
    if (!cosig) {
        if (strcmp(method, "consent.grant") == 0 || strcmp(method, "consent.withdraw") == 0)
            return fx_coding(FHIR_SYSTEM_E1762, "1.2.840.10065.1.12.1.7", "Consent Signature");
        if (strcmp(method, "protocol.approve") == 0)
            return fx_coding(FHIR_CS_SIGNATURE, "regulatory-approval", "Regulatory approval");
        return fx_coding(FHIR_SYSTEM_E1762, "1.2.840.10065.1.12.1.1", "Author's Signature");
    }
    switch (meaning) {
    case MEANING_WITNESS:
        if (strcmp(method, "consent.grant") == 0)
            return fx_coding(FHIR_SYSTEM_E1762, "1.2.840.10065.1.12.1.11", "Consent Witness Signature");
        return fx_coding(FHIR_SYSTEM_E1762, "1.2.840.10065.1.12.1.8", "Signature Witness Signature");
    case MEANING_AUTHOR: return fx_coding(FHIR_SYSTEM_E1762, "1.2.840.10065.1.12.1.1", "Author's Signature");
    case MEANING_APPROVAL: return fx_coding(FHIR_CS_SIGNATURE, "regulatory-approval", "Regulatory approval");
    case MEANING_REVIEW: return fx_coding(FHIR_SYSTEM_E1762, "1.2.840.10065.1.12.1.13", "Review Signature");
    default: return fx_coding(FHIR_CS_SIGNATURE, "responsibility", "Responsibility");
    }
}

static json_t *signature_json(const char *method, bool cosig, unsigned meaning, uint64_t time_ms,
                         json_t *who, const signature *sig)
{
    char b64[96];
    tcrypto_base64_encode(sig->bytes, 64, b64);
    return json_pack("{s:[o], s:o, s:o, s:s, s:s, s:s}", "type",
                     signature_type(method, cosig, meaning), "when", fx_instant(time_ms), "who", who,
                     "targetFormat",
                     cosig ? "application/vnd.trialreg.cosig-body+msgpack"
                           : "application/vnd.trialreg.tx-body+msgpack",
                     "sigFormat", "application/vnd.trialreg.ed25519-signature", "data", b64);
}

static json_t *agent(const char *code, const char *display, json_t *who)
{
    return json_pack(
        "{s:o, s:o}", "type",
        fx_concept("http://terminology.hl7.org/CodeSystem/provenance-participant-type", code, display),
        "who", who);
}

/* Who a tx's signer is, as a reference, by what the tx does. */
static json_t *signer_ref(const char *method, const pubkey *k)
{
    if (strcmp(method, "consent.grant") == 0 || strcmp(method, "consent.withdraw") == 0)
        return fx_ref_patient(k);
    if (strcmp(method, "protocol.approve") == 0)
        return fx_ref_key("Organization", k, "regulator or ethics committee");
    if (strncmp(method, "protocol.", 9) == 0 || strncmp(method, "outcomes.", 9) == 0)
        return fx_ref_key("Organization", k, "sponsor");
    if (strcmp(method, "access.request") == 0) return fx_ref_key("Practitioner", k, "researcher");
    return fx_ref_key("Practitioner", k, "investigator");
}

static bool add_fixed(fhir_export *x, json_t *resource, bool trial_level, const pubkey *owner)
{
    if (!resource || !grow((void **)&x->fixed, &x->fixed_cap, x->fixed_count + 1, sizeof *x->fixed)) {
        json_decref(resource);
        return false;
    }
    x->fixed[x->fixed_count++] = (fx_fixed){resource, trial_level, owner != NULL, owner ? *owner : (pubkey){{0}}};
    return true;
}

/* One Provenance for the tx, naming targets (a new array, stolen). */
static bool provenance(fhir_export *x, const fhir_tx *t, const codec_tx *tx, const hash32 *tx_id,
                       const char *method, json_t *targets, bool trial_level, const pubkey *owner)
{
    char id[FHIR_ID_MAX + 1], where[96];
    fx_id_tx(id, "provenance-", tx_id);
    snprintf(where, sizeof where, "tx %s at height %" PRIu64 ", index %u", method, t->height, t->index);
    json_t *agents = json_array(), *sigs = json_array();
    bool participant_signs = strcmp(method, "consent.grant") == 0 || strcmp(method, "consent.withdraw") == 0;
    bool approval = strcmp(method, "protocol.approve") == 0;
    json_array_append_new(agents, agent(approval ? "verifier" : "author", approval ? "Verifier" : "Author",
                                        signer_ref(method, &tx->signer)));
    json_array_append_new(sigs, signature_json(method, false, 0, t->time_ms,
                                          signer_ref(method, &tx->signer), &tx->sig));
    for (uint32_t i = 0; i < tx->cosig_count; i++) {
        const codec_cosig *c = &tx->cosigs[i];
        const char *who = participant_signs ? "investigator" : "co-signer";
        bool witness = c->meaning == MEANING_WITNESS;
        /* a re-binding's new key co-signs its own re-binding: the participant's signature */
        bool new_key = strcmp(method, "consent.rebind_request") == 0 && arg_bytes(tx, 2, 32, 32)
                       && memcmp(tx->args[2].bytes, c->key.bytes, 32) == 0;
        const char *type = new_key ? "Patient" : "Practitioner";
        if (new_key) who = "participant (new key)";
        json_array_append_new(agents, agent(witness ? "attester" : "verifier",
                                            witness ? "Attester" : "Verifier",
                                            fx_ref_key(type, &c->key, who)));
        json_t *sig = new_key ? signature_json("consent.grant", false, 0, t->time_ms,
                                               fx_ref_key(type, &c->key, who), &c->sig)
                              : signature_json(method, true, c->meaning, t->time_ms,
                                               fx_ref_key(type, &c->key, who), &c->sig);
        if (new_key) /* a co-signature: its target is the co-signature body */
            json_object_set_new(sig, "targetFormat",
                                json_string("application/vnd.trialreg.cosig-body+msgpack"));
        json_array_append_new(sigs, sig);
    }
    json_t *p = json_pack(
        "{s:s, s:s, s:o, s:o, s:o, s:{s:s}, s:o, s:[{s:s, s:{s:o, s:s}}], s:o}", "resourceType",
        "Provenance", "id", id, "target", targets, "occurredDateTime", fx_instant(t->time_ms),
        "recorded", fx_instant(t->time_ms), "activity", "text", method, "agent", agents, "entity",
        "role", "source", "what", "identifier", fx_identifier(FHIR_SYSTEM_TX, fx_hex(tx_id->bytes, 32)),
        "display", where, "signature", sigs);
    return add_fixed(x, p, trial_level, owner);
}

/* ---- AuditEvent ------------------------------------------------------------------------ */

static json_t *detail(const char *type, json_t *value_string)
{
    return json_pack("{s:s, s:o}", "type", type, "valueString", value_string);
}

static json_t *uint_text(uint64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%" PRIu64, v);
    return json_string(s);
}

static json_t *audit_event(const fhir_export *x, const fhir_tx *t, const hash32 *tx_id,
                           const char *code, const char *display, const char *action,
                           json_t *agent_ref, json_t *purpose, json_t *entities)
{
    char id[FHIR_ID_MAX + 1];
    fx_id_tx(id, "audit-", tx_id);
    json_t *ag = json_pack("{s:o, s:b}", "who", agent_ref, "requestor", 1);
    if (purpose) json_object_set_new(ag, "purposeOfUse", json_pack("[{s:O}]", "text", purpose));
    json_t *a = json_pack(
        "{s:s, s:s, s:o, s:s, s:o, s:s, s:[o], s:{s:s, s:{s:o, s:s}}, s:o}", "resourceType",
        "AuditEvent", "id", id, "type",
        fx_coding("http://dicom.nema.org/resources/ontology/DCM", code, display), "action", action,
        "recorded", fx_instant(t->time_ms), "outcome", "0", "agent", ag, "source", "site", "trialreg",
        "observer", "identifier", fx_identifier(FHIR_SYSTEM_TRIAL, fx_text_of(x->trial, x->trial_len)),
        "display", "trialreg ledger", "entity", entities);
    if (a && purpose) json_object_set_new(a, "purposeOfEvent", json_pack("[{s:o}]", "text", purpose));
    else json_decref(purpose);
    return a;
}

static json_t *scope_text(uint64_t bit)
{
    const char *s = event_scope_name(bit);
    return json_string(s ? s : "unknown");
}

/* ---- one tx ------------------------------------------------------------------------- */

typedef struct {
    int n;
    event_field f[EVENT_FIELDS_MAX];
} fx_event;

static void copy_hashes(const codec_value *v, hash32 *out, uint32_t cap, uint32_t *count)
{
    *count = 0;
    for (uint32_t at = 0; at + 32 <= v->len && *count < cap; at += 32)
        memcpy(out[(*count)++].bytes, v->bytes + at, 32);
}

static bool on_version(fhir_export *x, const codec_tx *tx, uint64_t version, uint64_t time_ms,
                       bool reconsent, uint32_t forms_arg)
{
    if (version == 0 || version != (uint64_t)x->version_count + 1) return true; /* not ours to judge */
    if (!grow((void **)&x->versions, &x->version_cap, x->version_count + 1, sizeof *x->versions))
        return false;
    fx_version *v = &x->versions[x->version_count++];
    *v = (fx_version){.reconsent = reconsent, .created_ms = time_ms};
    if (arg_bytes(tx, 1, 32, 32)) memcpy(v->doc.bytes, tx->args[1].bytes, 32);
    if (arg_bytes(tx, forms_arg, 32, 32 * VERSION_FORMS_MAX))
        copy_hashes(&tx->args[forms_arg], v->forms, VERSION_FORMS_MAX, &v->form_count);
    return true;
}

static void on_register(fhir_export *x, const codec_tx *tx, uint64_t time_ms)
{
    x->registered = true;
    x->registered_ms = time_ms;
    x->sponsor = tx->signer;
    if (arg_bytes(tx, 2, 32, 128)) copy_hashes(&tx->args[2], x->primary, 4, &x->primary_count);
    if (arg_bytes(tx, 3, 0, 512)) copy_hashes(&tx->args[3], x->secondary, 16, &x->secondary_count);
    if (tx->arg_count > 4 && tx->args[4].kind == CODEC_VALUE_INT && tx->args[4].integer > 0)
        x->planned = (uint64_t)tx->args[4].integer;
    if (!arg_bytes(tx, 5, 2, 8 * 33)) return;
    const codec_value *s = &tx->args[5];
    for (uint32_t at = 0; at < s->len && x->site_count < 8;) {
        uint32_t len = s->bytes[at];
        if (len < 1 || len > CODEC_NAME_MAX || at + 1 + len > s->len) break;
        fx_site *site = &x->sites[x->site_count++];
        memcpy(site->name, s->bytes + at + 1, len);
        site->len = len;
        at += 1 + len;
    }
}

static fx_site *site_named(fhir_export *x, const uint8_t *name, uint32_t len)
{
    for (uint32_t i = 0; i < x->site_count; i++)
        if (x->sites[i].len == len && memcmp(x->sites[i].name, name, len) == 0) return &x->sites[i];
    return NULL;
}

/* End every open scope of a participant's latest grant at time t (those in bits). */
static void end_scopes(fx_participant *p, uint64_t bits, uint64_t t)
{
    if (p->grant_count == 0) return;
    fx_grant *g = &p->grants[p->grant_count - 1];
    for (int b = 0; b < SCOPE_BITS; b++)
        if ((bits >> b & 1) && (g->scopes >> b & 1) && g->end_ms[b] == 0) g->end_ms[b] = t;
}

/* A grant replaces the scopes: the site-recorded withdrawals before it stop applying. */
static void end_denials(fx_participant *p, uint64_t t)
{
    for (uint32_t i = 0; i < p->denial_count; i++) {
        fx_grant *d = &p->denials[i];
        for (int b = 0; b < SCOPE_BITS; b++)
            if ((d->scopes >> b & 1) && d->end_ms[b] == 0) d->end_ms[b] = t;
    }
}

static json_t *targets1(const char *type, const char *id)
{
    return json_pack("[o]", fx_ref(type, id));
}

/* The trial-level txs: their model changes and their Provenance. */
static bool on_protocol(fhir_export *x, const fhir_tx *t, const codec_tx *tx, const hash32 *tx_id,
                        const char *method, const fx_event *ev, uint32_t nev, const char (*topics)[33])
{
    json_t *targets = targets1("ResearchStudy", x->study_id);
    char id[FHIR_ID_MAX + 1];
    for (uint32_t i = 0; i < nev; i++) {
        const event_field *f = ev[i].f;
        if (strcmp(topics[i], "protocol.registered") == 0 && ev[i].n == 2) {
            on_register(x, tx, t->time_ms);
            if (!on_version(x, tx, f[1].u, t->time_ms, false, 6)) goto oom;
            fx_id_group(x, id);
            json_array_append_new(targets, fx_ref("Group", id));
        } else if (strcmp(topics[i], "protocol.amended") == 0 && ev[i].n == 3) {
            if (!on_version(x, tx, f[1].u, t->time_ms, f[2].u == 1, 5)) goto oom;
        } else if (strcmp(topics[i], "protocol.approved") == 0 && ev[i].n == 3) {
            if (f[1].u >= 1 && f[1].u <= x->version_count) x->versions[f[1].u - 1].approved_ms = t->time_ms;
        } else if (strcmp(topics[i], "protocol.site_activated") == 0 && ev[i].n == 2) {
            fx_site *s = site_named(x, f[1].bytes, f[1].len);
            if (s) s->active_since = t->time_ms;
            continue;
        } else {
            continue;
        }
        uint64_t v = strcmp(topics[i], "protocol.registered") == 0 ? 1 : f[1].u;
        if (v >= 1 && v <= x->version_count) {
            fx_id_version_doc(x, v, id);
            json_array_append_new(targets, fx_ref("DocumentReference", id));
            for (uint32_t k = 0; k < x->versions[v - 1].form_count; k++) {
                fx_id_form(x, v, &x->versions[v - 1].forms[k], id);
                json_array_append_new(targets, fx_ref("DocumentReference", id));
            }
        }
    }
    return provenance(x, t, tx, tx_id, method, targets, true, NULL);
oom:
    json_decref(targets);
    return false;
}

static bool on_enrolled(fhir_export *x, const fhir_tx *t, const event_field *f)
{
    pubkey k;
    memcpy(k.bytes, f[1].bytes, 32);
    fx_participant *p = fx_participant_find(x, &k, true);
    if (!p) return false;
    p->enrolled_ms = t->time_ms;
    p->site_len = f[2].len <= CODEC_NAME_MAX ? f[2].len : CODEC_NAME_MAX;
    memcpy(p->site, f[2].bytes, p->site_len);
    return true;
}

static bool on_granted(fhir_export *x, const fhir_tx *t, const codec_tx *tx, const hash32 *tx_id,
                       const event_field *f, json_t *targets)
{
    pubkey k;
    memcpy(k.bytes, f[1].bytes, 32);
    fx_participant *p = fx_participant_find(x, &k, true);
    if (!p || !grow((void **)&p->grants, &p->grant_cap, p->grant_count + 1, sizeof *p->grants))
        return false;
    char id[FHIR_ID_MAX + 1];
    if (p->grant_count) {
        end_scopes(p, 0x1f, t->time_ms);
        p->grants[p->grant_count - 1].superseded = true;
        fx_id_tx(id, "consent-", &p->grants[p->grant_count - 1].tx_id);
        json_array_append_new(targets, fx_ref("Consent", id));
    }
    end_denials(p, t->time_ms);
    fx_grant *g = &p->grants[p->grant_count++];
    *g = (fx_grant){.tx_id = *tx_id, .time_ms = t->time_ms, .version = f[2].u, .scopes = f[3].u & 0x1f};
    if (arg_bytes(tx, 2, 32, 32)) {
        memcpy(g->form.bytes, tx->args[2].bytes, 32);
        g->has_form = true;
    }
    p->scopes = g->scopes;
    p->withdrawn_all_ms = 0;
    fx_id_tx(id, "consent-", tx_id);
    json_array_append_new(targets, fx_ref("Consent", id));
    return true;
}

static void on_withdrawn(fhir_export *x, const fhir_tx *t, const event_field *f, json_t *targets)
{
    pubkey k;
    memcpy(k.bytes, f[1].bytes, 32);
    fx_participant *p = fx_participant_find(x, &k, false);
    if (!p) return;
    end_scopes(p, f[2].u, t->time_ms);
    p->scopes = f[3].u & 0x1f;
    if (p->scopes == 0) p->withdrawn_all_ms = t->time_ms;
    if (p->grant_count) {
        char id[FHIR_ID_MAX + 1];
        fx_id_tx(id, "consent-", &p->grants[p->grant_count - 1].tx_id);
        json_array_append_new(targets, fx_ref("Consent", id));
    }
}

/* consent.withdrawn_by_site (participant, withdrawn, remaining, request, site): the grant's
 * provisions end as for the participant's own withdrawal, and the record is a Consent of
 * its own whose provisions deny the withdrawn scopes (docs/FHIR.md). */
static bool on_site_withdrawn(fhir_export *x, const fhir_tx *t, const codec_tx *tx,
                              const hash32 *tx_id, const event_field *f, json_t *targets)
{
    pubkey k;
    memcpy(k.bytes, f[1].bytes, 32);
    fx_participant *p = fx_participant_find(x, &k, true);
    if (!p || !grow((void **)&p->denials, &p->denial_cap, p->denial_count + 1, sizeof *p->denials))
        return false;
    on_withdrawn(x, t, f, targets);
    fx_grant *d = &p->denials[p->denial_count++];
    *d = (fx_grant){.tx_id = *tx_id, .time_ms = t->time_ms, .scopes = f[2].u & 0x1f,
                    .has_form = true, .by = tx->signer};
    memcpy(d->form.bytes, f[4].bytes, 32);
    if (p->site_len == 0) { /* the enrolment was not in view: the event names the site */
        p->site_len = f[5].len <= CODEC_NAME_MAX ? f[5].len : CODEC_NAME_MAX;
        memcpy(p->site, f[5].bytes, p->site_len);
    }
    char id[FHIR_ID_MAX + 1];
    fx_id_tx(id, "consent-", tx_id);
    json_array_append_new(targets, fx_ref("Consent", id));
    return true;
}

/* consent.rebound (old, new, scopes, version, site): the new key is a participant of the
 * site from now on, holding a Consent of old's scopes (marked after-rebinding), and old's
 * provisions all end: it holds nothing any more. */
static bool on_rebound(fhir_export *x, const fhir_tx *t, const hash32 *tx_id, const event_field *f,
                       json_t *targets)
{
    pubkey old_key, new_key;
    memcpy(old_key.bytes, f[1].bytes, 32);
    memcpy(new_key.bytes, f[2].bytes, 32);
    fx_participant *n = fx_participant_find(x, &new_key, true); /* may move the table */
    if (!n) return false;
    n->enrolled_ms = t->time_ms;
    n->site_len = f[5].len <= CODEC_NAME_MAX ? f[5].len : CODEC_NAME_MAX;
    memcpy(n->site, f[5].bytes, n->site_len);
    char h[65], id[FHIR_ID_MAX + 1];
    tcrypto_to_hex(new_key.bytes, 32, h);
    json_array_append_new(targets, fx_ref("Patient", h));
    fx_id_subject(x, &new_key, id);
    json_array_append_new(targets, fx_ref("ResearchSubject", id));
    fx_grant carried = {.tx_id = *tx_id, .time_ms = t->time_ms, .version = f[4].u,
                        .scopes = f[3].u & 0x1f, .carried = true, .after_rebinding = true,
                        .rebound_from = old_key};
    fx_participant *o = fx_participant_find(x, &old_key, false);
    if (o) {
        if (o->grant_count && o->grants[o->grant_count - 1].has_form) {
            carried.form = o->grants[o->grant_count - 1].form;
            carried.has_form = true;
        }
        end_scopes(o, 0x1f, t->time_ms);
        o->scopes = 0;
        o->rebound_away_ms = t->time_ms;
        if (o->grant_count) {
            fx_id_tx(id, "consent-", &o->grants[o->grant_count - 1].tx_id);
            json_array_append_new(targets, fx_ref("Consent", id));
        }
    }
    if (carried.scopes == 0) return true; /* nothing to carry: no Consent */
    if (!grow((void **)&n->grants, &n->grant_cap, n->grant_count + 1, sizeof *n->grants)) return false;
    n->grants[n->grant_count++] = carried;
    n->scopes = carried.scopes;
    fx_id_tx(id, "consent-", tx_id);
    json_array_append_new(targets, fx_ref("Consent", id));
    return true;
}

/* consent.flag.after_rebinding (participant, rebound_from): the grant of the same receipt
 * (its event comes first) is marked. */
static void on_after_rebinding(fhir_export *x, const event_field *f)
{
    pubkey k;
    memcpy(k.bytes, f[1].bytes, 32);
    fx_participant *p = fx_participant_find(x, &k, false);
    if (!p || p->grant_count == 0) return;
    fx_grant *g = &p->grants[p->grant_count - 1];
    g->after_rebinding = true;
    memcpy(g->rebound_from.bytes, f[2].bytes, 32);
}

static json_t *anchor_event(fhir_export *x, const fhir_tx *t, const codec_tx *tx,
                            const hash32 *tx_id, const event_field *f)
{
    pubkey k;
    memcpy(k.bytes, f[1].bytes, 32);
    json_t *size = tx->arg_count > 5 && tx->args[5].kind == CODEC_VALUE_INT
                       ? uint_text((uint64_t)tx->args[5].integer)
                       : json_string("unknown");
    char collected[32];
    fhir_instant(f[4].u, collected);
    json_t *entities = json_pack(
        "[{s:o, s:o, s:o}, {s:{s:o, s:s}, s:o, s:[o, o, o]}]", "what", fx_ref_patient(&k), "type",
        fx_coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person"), "role",
        fx_coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient"), "what",
        "identifier", fx_identifier(FHIR_SYSTEM_SHA256, fx_hex(f[2].bytes, 32)), "display",
        "data record (content SHA-256)", "type",
        fx_coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"),
        "detail", detail("scope", scope_text(f[3].u)), detail("collected-at", json_string(collected)),
        detail("size-bytes", size));
    return audit_event(x, t, tx_id, "110107", "Import", "C",
                       fx_ref_key("Practitioner", &tx->signer, "investigator"), NULL, entities);
}

static json_t *access_event(fhir_export *x, const fhir_tx *t, const codec_tx *tx,
                            const hash32 *tx_id, const event_field *f)
{
    json_t *purpose = arg_bytes(tx, 2, 1, 32) ? fx_text_of(tx->args[2].bytes, tx->args[2].len)
                                              : json_string("unknown");
    json_t *entities = json_pack(
        "[{s:o, s:o, s:[o, o, o, o]}]", "what", fx_ref("ResearchStudy", x->study_id), "type",
        fx_coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"),
        "detail", detail("grant", uint_text(f[1].u)), detail("scope", scope_text(f[2].u)),
        detail("record-count", uint_text(f[3].u)), detail("list-sha256", fx_hex(f[4].bytes, 32)));
    return audit_event(x, t, tx_id, "110106", "Export", "E",
                       fx_ref_key("Practitioner", &tx->signer, "researcher"), purpose, entities);
}

/* The participant-level txs (consent, data, access). */
static bool on_participant_tx(fhir_export *x, const fhir_tx *t, const codec_tx *tx,
                              const hash32 *tx_id, const char *method, const fx_event *ev,
                              uint32_t nev, const char (*topics)[33])
{
    json_t *targets = json_array();
    bool have_owner = false, ok = true;
    pubkey owner = {0};
    char id[FHIR_ID_MAX + 1];
    for (uint32_t i = 0; ok && i < nev; i++) {
        const event_field *f = ev[i].f;
        const char *topic = topics[i];
        bool about = ev[i].n >= 2 && f[1].kind == EVENT_FIELD_KEY;
        if (about && !have_owner) {
            memcpy(owner.bytes, f[1].bytes, 32);
            have_owner = true;
        }
        if (strcmp(topic, "consent.enrolled") == 0 && ev[i].n == 3) {
            ok = on_enrolled(x, t, f);
            char h[65];
            tcrypto_to_hex(f[1].bytes, 32, h);
            json_array_append_new(targets, fx_ref("Patient", h));
        } else if (strcmp(topic, "consent.granted") == 0 && ev[i].n == 4) {
            ok = on_granted(x, t, tx, tx_id, f, targets);
        } else if (strcmp(topic, "consent.withdrawn") == 0 && ev[i].n == 4) {
            on_withdrawn(x, t, f, targets);
        } else if (strcmp(topic, "consent.withdrawn_by_site") == 0 && ev[i].n == 6) {
            ok = on_site_withdrawn(x, t, tx, tx_id, f, targets);
        } else if (strcmp(topic, "consent.rebound") == 0 && ev[i].n == 6) {
            ok = on_rebound(x, t, tx_id, f, targets);
        } else if (strcmp(topic, "consent.flag.after_rebinding") == 0 && ev[i].n == 3) {
            on_after_rebinding(x, f);
            continue;
        } else if (strcmp(topic, "data.anchored") == 0 && ev[i].n == 5) {
            ok = add_fixed(x, anchor_event(x, t, tx, tx_id, f), false, &owner);
            fx_id_tx(id, "audit-", tx_id);
            json_array_append_new(targets, fx_ref("AuditEvent", id));
            continue;
        } else if (strcmp(topic, "access.granted") == 0 && ev[i].n == 5) {
            ok = add_fixed(x, access_event(x, t, tx, tx_id, f), false, NULL);
            fx_id_tx(id, "audit-", tx_id);
            json_array_append_new(targets, fx_ref("AuditEvent", id));
            continue;
        } else {
            continue;
        }
        if (about) {
            fx_id_subject(x, &owner, id);
            json_array_append_new(targets, fx_ref("ResearchSubject", id));
        }
    }
    if (!ok || json_array_size(targets) == 0) {
        json_decref(targets);
        return ok;
    }
    return provenance(x, t, tx, tx_id, method, targets, false, have_owner ? &owner : NULL);
}

int fhir_export_add(fhir_export *x, const fhir_tx *t, char *why, size_t why_cap)
{
    if (x->seen_any && (t->height < x->last_height
                        || (t->height == x->last_height && t->index <= x->last_index))) {
        snprintf(why, why_cap, "tx at height %" PRIu64 " index %u is not after the last one",
                 t->height, t->index);
        return -1;
    }
    static _Thread_local codec_receipt r;
    static _Thread_local codec_tx tx;
    if (codec_receipt_decode(t->receipt.data, t->receipt.len, &r, NULL) != CODEC_OK) {
        snprintf(why, why_cap, "the receipt at height %" PRIu64 " index %u does not decode", t->height, t->index);
        return -1;
    }
    x->seen_any = true;
    x->last_height = t->height;
    x->last_index = t->index;
    if (codec_entry_is_pruned(&t->entry)) return 0; /* refused before any contract: nothing */
    if (codec_tx_decode(t->entry.data, t->entry.len, &tx, NULL) != CODEC_OK) {
        snprintf(why, why_cap, "the tx at height %" PRIu64 " index %u does not decode", t->height, t->index);
        return -1;
    }
    if (r.status != RECEIPT_OK || tx.arg_count < 1 || tx.args[0].kind != CODEC_VALUE_BYTES
        || tx.args[0].len != x->trial_len || memcmp(tx.args[0].bytes, x->trial, x->trial_len) != 0)
        return 0;
    /* the Bundle's timestamp: the trial's last change, whatever else the source holds */
    x->seen_trial = true;
    if (t->time_ms > x->last_time_ms) x->last_time_ms = t->time_ms;
    hash32 tx_id;
    tcrypto_sha256(t->entry.data, t->entry.len, &tx_id);
    static _Thread_local fx_event ev[CODEC_EVENTS_MAX];
    static _Thread_local char topics[CODEC_EVENTS_MAX][33];
    uint32_t nev = 0;
    for (uint32_t i = 0; i < r.event_count; i++) {
        int n = event_decode(r.events[i].topic.text, r.events[i].data, r.events[i].len, ev[nev].f);
        if (n < 1) continue;
        ev[nev].n = n;
        snprintf(topics[nev++], 33, "%s", r.events[i].topic.text);
    }
    char method[2 * CODEC_NAME_MAX + 2];
    snprintf(method, sizeof method, "%s.%s", tx.contract.text, tx.method.text);
    bool ok = true;
    if (strcmp(tx.contract.text, "protocol") == 0)
        ok = on_protocol(x, t, &tx, &tx_id, method, ev, nev, topics);
    else if (strcmp(tx.contract.text, "consent") == 0 || strcmp(tx.contract.text, "data") == 0
             || strcmp(tx.contract.text, "access") == 0)
        ok = on_participant_tx(x, t, &tx, &tx_id, method, ev, nev, topics);
    /* outcomes: not exported (docs/FHIR.md "Not exported") */
    if (!ok) {
        snprintf(why, why_cap, "out of memory");
        return -1;
    }
    return 0;
}
