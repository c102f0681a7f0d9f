/*
 * fhir.h - a trial as HL7 FHIR R4 resources (docs/FHIR.md has the mapping table).
 *
 * A rendering of the ledger, never a second source of truth: the input is the trial's txs as
 * one reader sees them, in commit order (height, index, block time, the tx entry and its
 * receipt: what the client API's EVENTS kind answers block by block, filtered by the asker's
 * role with exec_tx_visible), so who sees what is decided by the ledger's role rules, never
 * here. The output is R4 resources as jansson JSON: ResearchStudy, Group (planned
 * enrolment), DocumentReference (protocol versions and consent forms, by SHA-256), Patient
 * (the pseudonymous key only), ResearchSubject, Consent (one per grant), Provenance (one per
 * tx that changed a resource, with its Ed25519 signatures), AuditEvent (access grants, data
 * anchors) and the project's two CodeSystems (consent scopes, signature types).
 *
 * Use: fhir_export_new, then fhir_export_add for every tx in commit order (txs of other
 * trials, pruned entries and receipts that are not OK change nothing), then
 * fhir_export_bundle. Pure: no I/O, no clock (the Bundle's timestamp is the last block's
 * time), so one ledger gives byte-identical JSON (json_dumps with JSON_SORT_KEYS).
 *
 * Resource ids are at most 64 characters of [A-Za-z0-9-.], derived from the ledger only:
 *   ResearchStudy     the trial id when it is 1..32 such characters, else "study-" H40(T)
 *   Group             "enrolment-" H40(T)
 *   DocumentReference "protocol-" H40(T, v) for version v's document,
 *                     "form-" H40(T, v, form) for a consent form of version v
 *   Patient           the participant's key, 64 hex (the key is per trial, so it is unique)
 *   ResearchSubject   "subject-" H40(T, key)
 *   Consent           "consent-" + the first 20 bytes of the grant tx's id, in hex
 *   Provenance        "provenance-" + the first 20 bytes of the tx id, in hex
 *   AuditEvent        "audit-" + the first 20 bytes of the tx id, in hex
 * where H40(...) is the first 20 bytes (40 hex) of SHA-256 over the length-prefixed parts.
 */
#ifndef TRIALREG_FHIR_H
#define TRIALREG_FHIR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "codec.h"

#define FHIR_ID_MAX 64

/* Canonical URLs and identifier systems (docs/FHIR.md "Systems"). */
#define FHIR_CS_SCOPE "urn:trialreg:fhir:CodeSystem:consent-scope"
#define FHIR_CS_SIGNATURE "urn:trialreg:fhir:CodeSystem:signature-type"
#define FHIR_EXT_RECONSENT "urn:trialreg:fhir:StructureDefinition:reconsent-pending"
#define FHIR_EXT_REBINDING "urn:trialreg:fhir:StructureDefinition:after-rebinding"
#define FHIR_SYSTEM_TRIAL "urn:trialreg:trial"
#define FHIR_SYSTEM_KEY "urn:trialreg:ed25519-key"
#define FHIR_SYSTEM_SHA256 "urn:trialreg:sha256"
#define FHIR_SYSTEM_TX "urn:trialreg:tx"
#define FHIR_SYSTEM_SITE "urn:trialreg:site"
#define FHIR_SYSTEM_E1762 "urn:iso-astm:E1762-95:2013"

/* One tx as a reader sees it: spans into the caller's buffers, used only during the call. */
typedef struct {
    uint64_t height;
    uint32_t index;
    uint64_t time_ms;   /* the block's time (FORMATS.md 13.10 time_ms) */
    codec_span entry;   /* a tx (5.1) or a pruned tx (5.10) */
    codec_span receipt; /* its receipt (5.4) */
} fhir_tx;

typedef struct {
    const char *base;         /* fullUrl base of Bundle entries, e.g. "https://host/fhir" */
    bool has_participant;     /* only this participant's resources and the trial's own */
    pubkey participant;
} fhir_options;

typedef struct fhir_export fhir_export;

/* A new export of trial (1..32 bytes), or NULL (bad length or out of memory). opt is
 * copied (base too). */
fhir_export *fhir_export_new(const uint8_t *trial, size_t trial_len, const fhir_options *opt);
void fhir_export_free(fhir_export *x);

/* Take the next tx in commit order. Returns 0; -1 if the entry or receipt does not decode
 * or the txs come out of commit order (why says which; the export is unchanged then), or
 * when out of memory (the export is then incomplete: free it). */
int fhir_export_add(fhir_export *x, const fhir_tx *t, char *why, size_t why_cap);

/* Whether the trial's registration was seen (an unknown trial, or one the reader may not see,
 * gives an export with no ResearchStudy). */
bool fhir_export_has_study(const fhir_export *x);

/* The Bundle (type collection) of every resource, a new reference; NULL when out of memory.
 * An export with no tx of the trial is an empty, valid Bundle (the CodeSystems only). */
json_t *fhir_export_bundle(const fhir_export *x);

/* The resources of the Bundle as individual objects (a new array), for the read API. */
json_t *fhir_export_resources(const fhir_export *x);

/* The project's CodeSystems, as shipped in docs/fhir/ (new references). */
json_t *fhir_codesystem_scope(void);
json_t *fhir_codesystem_signature(void);

/* The id of the trial's ResearchStudy into out (FHIR_ID_MAX + 1 bytes). */
void fhir_study_id(const uint8_t *trial, size_t trial_len, char out[FHIR_ID_MAX + 1]);

/* UTC milliseconds as a FHIR instant, "2025-11-24T17:00:00.000Z", into out (32 bytes). */
void fhir_instant(uint64_t ms, char out[32]);

#endif
