/*
 * fhir_internal.h - the trial model that fhir.c folds txs into and fhir_render.c renders
 * (not installed, not for other layers).
 */
#ifndef TRIALREG_FHIR_INTERNAL_H
#define TRIALREG_FHIR_INTERNAL_H

#include "fhir.h"

#define SCOPE_BITS 5
#define VERSION_FORMS_MAX 4
#define OUTCOMES_MAX 20

typedef struct {
    hash32 doc;
    bool reconsent;
    uint64_t created_ms, approved_ms; /* approved_ms 0: not approved */
    uint32_t form_count;
    hash32 forms[VERSION_FORMS_MAX];
} fx_version;

typedef struct {
    uint8_t name[CODEC_NAME_MAX];
    uint32_t len;
    uint64_t active_since; /* 0: listed, inactive */
} fx_site;

/* One consent grant: the scopes it gave, each with the time it stopped applying (0: not yet).
 * The same shape holds the consent a re-binding carried to a new key (carried) and a
 * withdrawal the site recorded (in fx_participant.denials: scopes = the ones withdrawn,
 * form = the request's hash, by = the investigator; they end at the next grant). */
typedef struct {
    hash32 tx_id;
    uint64_t time_ms, version;
    hash32 form;
    bool has_form;   /* the form is known (a carried consent names its old key's last form) */
    uint64_t scopes;
    uint64_t end_ms[SCOPE_BITS];
    bool superseded; /* a later grant replaced it */
    bool carried;    /* the consent a re-binding moved to this key */
    bool after_rebinding; /* made by a key that took over rebound_from's consent */
    pubkey rebound_from;
    pubkey by;       /* denials: the investigator who recorded it */
} fx_grant;

typedef struct {
    bool used;
    pubkey key;
    uint8_t site[CODEC_NAME_MAX];
    uint32_t site_len;
    uint64_t enrolled_ms;
    uint64_t scopes;          /* in force now */
    uint64_t withdrawn_all_ms; /* every scope withdrawn (0: not, or granted again) */
    uint32_t grant_count, grant_cap;
    fx_grant *grants;
    uint32_t denial_count, denial_cap;
    fx_grant *denials;        /* withdrawals recorded by the site (issue 23 item 2) */
    uint64_t rebound_away_ms; /* the consent moved to another key at this time (0: not) */
    uint32_t order; /* enrolment order, for a stable Bundle */
} fx_participant;

/* A resource written once (Provenance, AuditEvent), with the participant it is about. */
typedef struct {
    json_t *resource;
    bool trial_level; /* about the trial (protocol txs): every reader of the trial sees it */
    bool has_owner;   /* else about this participant, or (neither) about no one participant */
    pubkey owner;
} fx_fixed;

struct fhir_export {
    uint8_t trial[32];
    size_t trial_len;
    char study_id[FHIR_ID_MAX + 1];
    char *base;
    bool has_participant;
    pubkey participant;
    uint64_t last_height, last_time_ms;
    uint32_t last_index;
    bool seen_any;   /* a tx of any trial (commit order is checked from it on) */
    bool seen_trial; /* an OK tx of this trial */
    /* the trial */
    bool registered;
    uint64_t registered_ms, planned;
    pubkey sponsor;
    uint32_t version_count, version_cap;
    fx_version *versions;
    uint32_t site_count;
    fx_site sites[8];
    uint32_t primary_count, secondary_count;
    hash32 primary[4], secondary[16];
    /* participants */
    uint32_t participant_count, table_cap;
    fx_participant *table;
    /* Provenance and AuditEvent in commit order */
    uint32_t fixed_count, fixed_cap;
    fx_fixed *fixed;
};


/* Helpers shared by fhir.c and fhir_render.c (fhir.c). */
json_t *fx_instant(uint64_t ms);
json_t *fx_hex(const uint8_t *bytes, size_t len);
json_t *fx_text_of(const uint8_t *bytes, size_t len);
void fx_id_hash(char out[FHIR_ID_MAX + 1], const char *prefix, const void *a, size_t alen,
                    const void *b, size_t blen, const void *c, size_t clen);
void fx_id_tx(char out[FHIR_ID_MAX + 1], const char *prefix, const hash32 *tx_id);
void fx_be64_put(uint8_t out[8], uint64_t v);
void fx_id_version_doc(const fhir_export *x, uint64_t v, char out[FHIR_ID_MAX + 1]);
void fx_id_form(const fhir_export *x, uint64_t v, const hash32 *form, char out[FHIR_ID_MAX + 1]);
void fx_id_subject(const fhir_export *x, const pubkey *k, char out[FHIR_ID_MAX + 1]);
void fx_id_group(const fhir_export *x, char out[FHIR_ID_MAX + 1]);
json_t *fx_ref(const char *type, const char *id);
json_t *fx_ref_patient(const pubkey *k);
json_t *fx_ref_key(const char *type, const pubkey *k, const char *display);
json_t *fx_coding(const char *system, const char *code, const char *display);
json_t *fx_concept(const char *system, const char *code, const char *display);
json_t *fx_identifier(const char *system, json_t *value);
fx_participant *fx_participant_find(fhir_export *x, const pubkey *k, bool add);

#endif
