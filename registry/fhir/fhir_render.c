/*
 * fhir_render.c - the model fhir.c built, as R4 resources and a Bundle (fhir.h; the status
 * tables are docs/FHIR.md's).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "fhir_internal.h"

static const struct {
    const char *code, *display, *definition;
} SCOPES[SCOPE_BITS] = {
    {"main", "Main study", "Taking part in the trial's main study (scope bit 1)."},
    {"follow_up", "Follow-up", "Follow-up after the main study (scope bit 2)."},
    {"future_research", "Future research", "Use of the data in future research (scope bit 4)."},
    {"genetic", "Genetic analysis", "Genetic analysis of samples (scope bit 8)."},
    {"data_sharing", "Data sharing", "Sharing of the data with other researchers (scope bit 16)."},
};

json_t *fhir_codesystem_scope(void)
{
    json_t *concepts = json_array();
    for (int b = 0; b < SCOPE_BITS; b++)
        json_array_append_new(concepts, json_pack("{s:s, s:s, s:s}", "code", SCOPES[b].code, "display",
                                                  SCOPES[b].display, "definition",
                                                  SCOPES[b].definition));
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:b, s:s, s:i, s:o}", "resourceType",
        "CodeSystem", "id", "trialreg-consent-scope", "url", FHIR_CS_SCOPE, "version", "1", "name",
        "TrialregConsentScope", "title", "trialreg consent scopes", "status", "active",
        "experimental", 0, "publisher", "trialreg", "description",
        "The independent consent scopes of the trialreg consent contract (contracts/ABI.md "
        "\"Scopes\"): a grant or withdrawal names a set of them.",
        "caseSensitive", 1, "content", "complete", "count", SCOPE_BITS, "concept", concepts);
}

json_t *fhir_codesystem_signature(void)
{
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:b, s:s, s:i, s:[{s:s, s:s, s:s}, "
        "{s:s, s:s, s:s}]}",
        "resourceType", "CodeSystem", "id", "trialreg-signature-type", "url", FHIR_CS_SIGNATURE,
        "version", "1", "name", "TrialregSignatureType", "title", "trialreg signature types",
        "status", "active", "experimental", 0, "publisher", "trialreg", "description",
        "Signature types for Provenance.signature where ASTM E1762 has none.", "caseSensitive", 1,
        "content", "complete", "count", 2, "concept", "code", "regulatory-approval", "display",
        "Regulatory approval", "definition",
        "A regulator's or ethics committee's approval of a protocol version (protocol.approve), "
        "or a co-signature with the meaning approval.",
        "code", "responsibility", "display", "Responsibility", "definition",
        "A co-signature with the meaning responsibility (21 CFR 11.50).");
}

/* ---- the trial --------------------------------------------------------------------- */

static const char *study_status(const fhir_export *x)
{
    bool approved = false, active = false;
    for (uint32_t v = 0; v < x->version_count; v++) approved = approved || x->versions[v].approved_ms;
    for (uint32_t s = 0; s < x->site_count; s++) active = active || x->sites[s].active_since;
    return active ? "active" : approved ? "approved" : "in-review";
}

static json_t *objective(const hash32 *h, const char *kind, const char *display)
{
    char name[96], x[65];
    tcrypto_to_hex(h->bytes, 32, x);
    snprintf(name, sizeof name, "%s outcome %s", kind, x);
    return json_pack("{s:s, s:o}", "name", name, "type",
                     fx_concept("http://terminology.hl7.org/CodeSystem/research-study-objective-type",
                                kind, display));
}

static json_t *site_ref(const fx_site *s)
{
    char display[96], since[32];
    json_t *name = fx_text_of(s->name, s->len);
    if (s->active_since) {
        fhir_instant(s->active_since, since);
        snprintf(display, sizeof display, "site %s, active since %s", json_string_value(name), since);
    } else {
        snprintf(display, sizeof display, "site %s, not activated", json_string_value(name));
    }
    return json_pack("{s:s, s:{s:s, s:o}, s:s}", "type", "Location", "identifier", "system",
                     FHIR_SYSTEM_SITE, "value", name, "display", display);
}

static json_t *research_study(const fhir_export *x)
{
    char group[FHIR_ID_MAX + 1];
    fx_id_group(x, group);
    json_t *ids = json_pack("[{s:s, s:s, s:o}]", "use", "official", "system", FHIR_SYSTEM_TRIAL,
                            "value", fx_text_of(x->trial, x->trial_len));
    for (uint32_t v = 0; v < x->version_count; v++) {
        char text[64];
        snprintf(text, sizeof text, "protocol version %u document (SHA-256)", v + 1);
        json_t *id = json_pack("{s:s, s:{s:s}, s:s, s:o}", "use", "secondary", "type", "text", text,
                               "system", FHIR_SYSTEM_SHA256, "value", fx_hex(x->versions[v].doc.bytes, 32));
        if (x->versions[v].approved_ms)
            json_object_set_new(id, "period", json_pack("{s:o}", "start", fx_instant(x->versions[v].approved_ms)));
        json_array_append_new(ids, id);
    }
    json_t *sites = json_array(), *objectives = json_array();
    for (uint32_t s = 0; s < x->site_count; s++) json_array_append_new(sites, site_ref(&x->sites[s]));
    for (uint32_t i = 0; i < x->primary_count; i++)
        json_array_append_new(objectives, objective(&x->primary[i], "primary", "Primary"));
    for (uint32_t i = 0; i < x->secondary_count; i++)
        json_array_append_new(objectives, objective(&x->secondary[i], "secondary", "Secondary"));
    json_t *r = json_pack("{s:s, s:s, s:o, s:o, s:s, s:[o], s:o, s:{s:o}}", "resourceType",
                          "ResearchStudy", "id", x->study_id, "identifier", ids, "title",
                          fx_text_of(x->trial, x->trial_len), "status", study_status(x), "enrollment",
                          fx_ref("Group", group), "sponsor",
                          fx_ref_key("Organization", &x->sponsor, "sponsor"), "period", "start",
                          fx_instant(x->registered_ms));
    if (json_array_size(sites)) json_object_set_new(r, "site", sites);
    else json_decref(sites);
    if (json_array_size(objectives)) json_object_set_new(r, "objective", objectives);
    else json_decref(objectives);
    return r;
}

static json_t *group(const fhir_export *x)
{
    char id[FHIR_ID_MAX + 1], name[96];
    fx_id_group(x, id);
    json_t *t = fx_text_of(x->trial, x->trial_len);
    snprintf(name, sizeof name, "planned enrolment of %s", json_string_value(t));
    json_decref(t);
    return json_pack("{s:s, s:s, s:s, s:b, s:I, s:s}", "resourceType", "Group", "id", id, "type",
                     "person", "actual", 0, "quantity", (json_int_t)x->planned, "name", name);
}

/* Version v (1-based) is superseded once a later version is approved. */
static bool version_superseded(const fhir_export *x, uint32_t v)
{
    for (uint32_t w = v; w < x->version_count; w++)
        if (x->versions[w].approved_ms) return true;
    return false;
}

static json_t *document(const fhir_export *x, uint32_t v, const char *id, const hash32 *h,
                        const char *kind)
{
    const fx_version *ver = &x->versions[v - 1];
    char title[160], approved[48] = "not approved";
    if (ver->approved_ms) {
        char t[32];
        fhir_instant(ver->approved_ms, t);
        snprintf(approved, sizeof approved, "approved %s", t);
    }
    snprintf(title, sizeof title,
             "%s of protocol version %u (%s); the document is held off the ledger, its SHA-256 is "
             "the identifier",
             kind, v, approved);
    return json_pack("{s:s, s:s, s:[{s:s, s:o}], s:s, s:s, s:{s:s}, s:o, s:s, s:[{s:{s:s}}], s:{s:[o]}}",
                     "resourceType", "DocumentReference", "id", id, "identifier", "system",
                     FHIR_SYSTEM_SHA256, "value", fx_hex(h->bytes, 32), "status",
                     version_superseded(x, v) ? "superseded" : "current", "docStatus",
                     ver->approved_ms ? "final" : "preliminary", "type", "text", kind, "date",
                     fx_instant(ver->created_ms), "description", title, "content", "attachment",
                     "title", title, "context", "related", fx_ref("ResearchStudy", x->study_id));
}

/* ---- participants ---------------------------------------------------------------------- */

static bool reconsent_pending(const fhir_export *x, const fx_participant *p)
{
    if (p->scopes == 0 || p->grant_count == 0) return false;
    uint64_t v = p->grants[p->grant_count - 1].version;
    for (uint64_t w = v + 1; w <= x->version_count; w++)
        if (x->versions[w - 1].reconsent && x->versions[w - 1].approved_ms) return true;
    return false;
}

/* docs/FHIR.md "ResearchSubject.status". */
static const char *subject_status(const fx_participant *p)
{
    if (p->rebound_away_ms) return "off-study"; /* the pseudonym moved to a new key */
    if (p->grant_count == 0) return "pending-on-study";
    return p->scopes ? "on-study" : "withdrawn";
}

static json_t *period(uint64_t start, uint64_t end)
{
    json_t *p = json_pack("{s:o}", "start", fx_instant(start));
    if (end) json_object_set_new(p, "end", fx_instant(end));
    return p;
}

static json_t *research_subject(const fhir_export *x, const fx_participant *p)
{
    char id[FHIR_ID_MAX + 1];
    fx_id_subject(x, &p->key, id);
    json_t *r = json_pack("{s:s, s:s, s:s, s:o, s:o}", "resourceType", "ResearchSubject", "id", id,
                          "status", subject_status(p), "study", fx_ref("ResearchStudy", x->study_id),
                          "individual", fx_ref_patient(&p->key));
    if (p->enrolled_ms)
        json_object_set_new(r, "period", period(p->enrolled_ms, p->rebound_away_ms ? p->rebound_away_ms
                                                                 : p->scopes ? 0 : p->withdrawn_all_ms));
    if (p->grant_count) {
        fx_id_tx(id, "consent-", &p->grants[p->grant_count - 1].tx_id);
        json_object_set_new(r, "consent", fx_ref("Consent", id));
    }
    if (reconsent_pending(x, p))
        json_object_set_new(r, "extension", json_pack("[{s:s, s:b}]", "url", FHIR_EXT_RECONSENT,
                                                      "valueBoolean", 1));
    return r;
}

static json_t *patient(const fx_participant *p)
{
    char id[65];
    tcrypto_to_hex(p->key.bytes, 32, id);
    return json_pack("{s:s, s:s, s:[{s:s, s:s, s:s}]}", "resourceType", "Patient", "id", id,
                     "identifier", "use", "official", "system", FHIR_SYSTEM_KEY, "value", id);
}

static json_t *site_org(const fx_participant *p, const char *display)
{
    return json_pack("{s:s, s:{s:s, s:o}, s:s}", "type", "Organization", "identifier", "system",
                     FHIR_SYSTEM_SITE, "value", fx_text_of(p->site, p->site_len), "display", display);
}

static json_t *consent(const fhir_export *x, const fx_participant *p, const fx_grant *g)
{
    char id[FHIR_ID_MAX + 1], form[FHIR_ID_MAX + 1], rule[256];
    fx_id_tx(id, "consent-", &g->tx_id);
    fx_id_form(x, g->version, &g->form, form);
    json_t *t = fx_text_of(x->trial, x->trial_len);
    snprintf(rule, sizeof rule,
             "Consent to trial %s under protocol version %" PRIu64
             "%s, as the trialreg consent contract records it (contracts/ABI.md \"consent\")",
             json_string_value(t), g->version,
             g->carried ? ", given under the participant's previous key and moved to this key by a "
                          "re-binding (unchanged: a re-binding grants nothing)"
                        : "");
    json_decref(t);
    json_t *nested = json_array();
    bool open = false;
    for (int b = 0; b < SCOPE_BITS; b++) {
        if (!(g->scopes >> b & 1)) continue;
        open = open || g->end_ms[b] == 0;
        json_array_append_new(
            nested, json_pack("{s:s, s:o, s:[o]}", "type", "permit", "period",
                              period(g->time_ms, g->end_ms[b]), "code",
                              fx_concept(FHIR_CS_SCOPE, SCOPES[b].code, SCOPES[b].display)));
    }
    json_t *org = site_org(p, "enrolling site");
    json_t *c = json_pack(
        "{s:s, s:s, s:s, s:o, s:[o], s:o, s:o, s:[o], s:{s:s}, s:{s:s, s:o}}",
        "resourceType", "Consent", "id", id, "status", open ? "active" : "inactive", "scope",
        fx_concept("http://terminology.hl7.org/CodeSystem/consentscope", "research", "Research"),
        "category", fx_concept("http://loinc.org", "59284-0", "Patient Consent"), "patient",
        fx_ref_patient(&p->key), "dateTime", fx_instant(g->time_ms), "performer",
        fx_ref_patient(&p->key), "policyRule", "text", rule, "provision", "type", "deny",
        "provision", nested);
    if (c && g->has_form) json_object_set_new(c, "sourceReference", fx_ref("DocumentReference", form));
    if (c && p->site_len) json_object_set_new(c, "organization", json_pack("[o]", org));
    else json_decref(org);
    if (c && g->after_rebinding) /* docs/FHIR.md "A participant who lost their key" */
        json_object_set_new(c, "extension", json_pack("[{s:s, s:o}]", "url", FHIR_EXT_REBINDING,
                                                      "valueIdentifier",
                                                      fx_identifier(FHIR_SYSTEM_KEY, fx_hex(g->rebound_from.bytes, 32))));
    return c;
}

/* A withdrawal the enrolling site recorded on the participant's documented request (issue 23
 * item 2): a Consent of its own whose nested provisions deny the withdrawn scopes from its
 * time until the participant's next grant; the site and its investigator are the
 * performers, the request's SHA-256 the identifier, and verification says it was checked
 * against the participant's documented request (the regulator's approval is in the
 * Provenance). */
static json_t *site_withdrawal(const fhir_export *x, const fx_participant *p, const fx_grant *d)
{
    char id[FHIR_ID_MAX + 1], rule[200];
    fx_id_tx(id, "consent-", &d->tx_id);
    json_t *t = fx_text_of(x->trial, x->trial_len);
    snprintf(rule, sizeof rule,
             "Withdrawn by site on the participant's documented request, trial %s, as the trialreg "
             "consent contract records it (contracts/ABI.md \"site_withdraw\")",
             json_string_value(t));
    json_decref(t);
    json_t *nested = json_array();
    bool open = false;
    for (int b = 0; b < SCOPE_BITS; b++) {
        if (!(d->scopes >> b & 1)) continue;
        open = open || d->end_ms[b] == 0;
        json_array_append_new(
            nested, json_pack("{s:s, s:o, s:[o]}", "type", "deny", "period",
                              period(d->time_ms, d->end_ms[b]), "code",
                              fx_concept(FHIR_CS_SCOPE, SCOPES[b].code, SCOPES[b].display)));
    }
    return json_pack(
        "{s:s, s:s, s:s, s:o, s:[o], s:o, s:o, s:[o, o], s:[o], s:[{s:s, s:{s:s}, s:o}], "
        "s:[{s:b, s:o}], s:{s:s}, s:{s:s, s:o}}",
        "resourceType", "Consent", "id", id, "status", open ? "active" : "inactive", "scope",
        fx_concept("http://terminology.hl7.org/CodeSystem/consentscope", "research", "Research"),
        "category", fx_concept("http://loinc.org", "59284-0", "Patient Consent"), "patient",
        fx_ref_patient(&p->key), "dateTime", fx_instant(d->time_ms), "performer",
        site_org(p, "enrolling site: withdrawn by site on the participant's documented request"),
        fx_ref_key("Practitioner", &d->by, "investigator"), "organization",
        site_org(p, "enrolling site"), "identifier", "system", FHIR_SYSTEM_SHA256, "type", "text",
        "the participant's documented withdrawal request, kept at the site (SHA-256)", "value",
        fx_hex(d->form.bytes, 32), "verification", "verified", 1, "verificationDate",
        fx_instant(d->time_ms), "policyRule", "text", rule, "provision", "type", "deny",
        "provision", nested);
}

/* ---- the Bundle ------------------------------------------------------------------------ */

static int by_order(const void *a, const void *b)
{
    const fx_participant *p = *(const fx_participant *const *)a, *q = *(const fx_participant *const *)b;
    return p->order < q->order ? -1 : p->order > q->order;
}

static bool wanted(const fhir_export *x, const pubkey *k)
{
    return !x->has_participant || memcmp(k->bytes, x->participant.bytes, 32) == 0;
}

static void add(json_t *arr, json_t *r)
{
    if (r) json_array_append_new(arr, r);
}

static void add_trial(const fhir_export *x, json_t *out)
{
    add(out, research_study(x));
    add(out, group(x));
    for (uint32_t v = 1; v <= x->version_count; v++) {
        char id[FHIR_ID_MAX + 1];
        fx_id_version_doc(x, v, id);
        add(out, document(x, v, id, &x->versions[v - 1].doc, "protocol"));
        for (uint32_t k = 0; k < x->versions[v - 1].form_count; k++) {
            fx_id_form(x, v, &x->versions[v - 1].forms[k], id);
            add(out, document(x, v, id, &x->versions[v - 1].forms[k], "consent form"));
        }
    }
}

json_t *fhir_export_resources(const fhir_export *x)
{
    json_t *out = json_array();
    if (!out) return NULL;
    add(out, fhir_codesystem_scope());
    add(out, fhir_codesystem_signature());
    if (x->registered) add_trial(x, out);
    const fx_participant **ps = malloc(((size_t)x->participant_count + 1) * sizeof *ps);
    if (!ps) {
        json_decref(out);
        return NULL;
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < x->table_cap; i++)
        if (x->table[i].used && wanted(x, &x->table[i].key)) ps[n++] = &x->table[i];
    qsort(ps, n, sizeof *ps, by_order);
    for (uint32_t i = 0; i < n; i++) {
        add(out, patient(ps[i]));
        add(out, research_subject(x, ps[i]));
        for (uint32_t g = 0; g < ps[i]->grant_count; g++) add(out, consent(x, ps[i], &ps[i]->grants[g]));
        for (uint32_t d = 0; d < ps[i]->denial_count; d++)
            add(out, site_withdrawal(x, ps[i], &ps[i]->denials[d]));
    }
    free(ps);
    for (uint32_t i = 0; i < x->fixed_count; i++) {
        const fx_fixed *f = &x->fixed[i];
        if (!x->has_participant || f->trial_level || (f->has_owner && wanted(x, &f->owner)))
            json_array_append(out, f->resource);
    }
    return out;
}

json_t *fhir_export_bundle(const fhir_export *x)
{
    json_t *resources = fhir_export_resources(x);
    if (!resources) return NULL;
    json_t *entries = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(resources, i, r) {
        char url[512];
        snprintf(url, sizeof url, "%s/%s/%s", x->base, json_string_value(json_object_get(r, "resourceType")),
                 json_string_value(json_object_get(r, "id")));
        json_array_append_new(entries, json_pack("{s:s, s:O}", "fullUrl", url, "resource", r));
    }
    json_decref(resources);
    char id[FHIR_ID_MAX + 1];
    fx_id_hash(id, "export-", x->trial, x->trial_len, x->has_participant ? x->participant.bytes : NULL,
               x->has_participant ? 32 : 0, NULL, 0);
    json_t *b = json_pack("{s:s, s:s, s:s, s:o}", "resourceType", "Bundle", "id", id, "type",
                          "collection", "entry", entries);
    if (b && x->seen_trial) json_object_set_new(b, "timestamp", fx_instant(x->last_time_ms));
    return b;
}
