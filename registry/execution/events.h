/*
 * events.h - contract events decoded by their topic (contracts/ABI.md "Events"), for every
 * reader that shows them to people or systems: the HTTP API's JSON, the timeline, FHIR.
 * Pure: no state, no I/O.
 *
 * A contract event's data is lp(T) (one length byte, the trial id) and then the topic's
 * fields, integers 8 bytes big-endian. event_decode returns them as typed fields, the trial
 * first; an unknown topic or data that does not fit its topic's layout gives -1 (show the
 * hex then). The executor's own "tx.pruned" event (SHA-256 of the pruned entry) has no trial.
 */
#ifndef TRIALREG_EVENTS_H
#define TRIALREG_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    EVENT_FIELD_TEXT = 1,   /* bytes: the trial id, a site */
    EVENT_FIELD_KEY = 2,    /* 32 bytes: a participant's pseudonymous key */
    EVENT_FIELD_HASH = 3,   /* 32 bytes: a document, record or list hash */
    EVENT_FIELD_UINT = 4,   /* u: a count, version or number */
    EVENT_FIELD_FLAG = 5,   /* u: 0 or 1 */
    EVENT_FIELD_SCOPES = 6, /* u: scope bits (event_scope_name) */
    EVENT_FIELD_TIME = 7,   /* u: UTC milliseconds */
} event_field_kind;

typedef struct {
    const char *name;
    event_field_kind kind;
    uint64_t u;
    const uint8_t *bytes; /* into the event's data */
    uint32_t len;
} event_field;

#define EVENT_FIELDS_MAX 6

/* Decode data by topic into out (EVENT_FIELDS_MAX). Returns the field count, or -1. */
int event_decode(const char *topic, const uint8_t *data, uint32_t len,
                 event_field out[EVENT_FIELDS_MAX]);

/* The word for scope bit 1, 2, 4, 8 or 16 (main, follow_up, future_research, genetic,
 * data_sharing), or NULL. */
const char *event_scope_name(uint64_t bit);

/* An event of topic CODEC_AUTHORITY_EVENT_TOPIC (codec.h: the executor's, no trial) in
 * words: "added researcher researcher-2 key 1a2b3c4d5e6f7a8b...", "revoked investigator
 * investigator-a at site-a key ...". True and out filled (cap >= 128 holds any), false if
 * it is no such event or its data does not decode. */
bool event_authority_words(const char *topic, const uint8_t *data, uint32_t len, char *out,
                           size_t cap);

/* A topic a regulator's timeline marks FLAG (its name holds ".flag."). */
bool event_is_flag(const char *topic);

#endif
