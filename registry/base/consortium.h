/*
 * consortium.h - who decides and who acts at a height: the validator set (and so the quorum
 * every certificate needs), the authorities and the rules.
 *
 * The audit, inclusion proofs, receipts and the executor all ask here, and nowhere else.
 * The consortium at a height is a function of the genesis and the governance changes
 * committed before it, kept in a consortium_history:
 *
 *   - validator-set changes (receipt event "governance.validators", data = canonical msgpack
 *     [boundary, [[name, key]...]], codec.h "validator sets"): a change committed at height
 *     h names its boundary B = consortium_boundary(h) = (h / 16 + 2) * 16; heights >= B are
 *     certified by the new set, heights < B by the old one (no height has two sets);
 *   - authority changes (receipt event "governance.authority", data = canonical msgpack
 *     [action, role, site, name, key], action 1 added, 2 revoked; a rotation is revoked then
 *     added in one receipt): they take effect AT the committing height (a tx later in the
 *     same block already sees them).
 *
 * Events count only in the OK receipt of a tx to contract "governance" (a contract may emit
 * any topic; the executor refuses contract events whose topic starts with "governance."
 * too). The executor builds its history from its own state (sys/valset/at/...); an offline
 * verifier (audit, verify-receipt, verify-proof) builds it by recording, in height order,
 * the receipts of the governance txs it has checked. Both end with the same sets, because
 * the same rules (consortium_valset_check) admit a change in both.
 *
 * Validator-set change rules (docs/FORMATS.md 5.12): the new set is the WHOLE set; n is
 * 3f+1 with 1 <= f <= 5 (4, 7, 10, 13, 16); names are 1..32 bytes, names and keys distinct;
 * and it is exactly one of
 *   growth:  the current set, in its order, followed by 3 new validators (n -> n + 3);
 *   shrink:  the current set with exactly 3 validators removed, the others in their order;
 *   replace: n unchanged, 1..f positions (f of the current set) hold a new key (and any
 *            name); every other position unchanged.
 * A new key is one no validator of the current set holds.
 */
#ifndef TRIALREG_CONSORTIUM_H
#define TRIALREG_CONSORTIUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"

#define CONSORTIUM_WINDOW 16u /* heights per PBFT window: the boundary granularity */
#define CONSORTIUM_CHANGES_MAX 65536u /* recorded changes (of each kind) one history holds */
#define CONSORTIUM_AUTHORITIES_MAX 4096u /* authorities in force at one height */
#define CONSORTIUM_VALSET_TOPIC "governance.validators"
#define CONSORTIUM_AUTHORITY_TOPIC "governance.authority"

typedef struct {
    const codec_validator *validators; /* validator i signs as index i */
    uint32_t validator_count;
    uint32_t quorum;                   /* 2f+1 of n = 3f+1 */
    uint64_t valset_from;              /* first height this set certifies (1: the genesis's) */
    const codec_authority *authorities;
    uint32_t authority_count;
    const codec_rules *rules;
} consortium;

/* One validator set and the heights it certifies: boundary .. the next one's boundary - 1. */
typedef struct {
    uint64_t boundary;   /* 1 for the genesis's set */
    uint64_t height;     /* the height that committed the change (0: the genesis) */
    codec_valset set;
} consortium_valset_entry;

typedef struct {
    uint64_t height;     /* the committing height: in force from it on */
    uint8_t action;      /* 1 added, 2 revoked */
    codec_authority authority;
} consortium_authority_change;

/* Owned by its creator (consortium_history_init .. _free); borrows the genesis. Not thread
 * safe: consortium_at keeps the authorities it materialised in the history. */
typedef struct {
    const codec_genesis *genesis;
    consortium_valset_entry *valsets; /* [0] = the genesis's, boundaries increasing */
    uint32_t valset_count, valset_cap;
    consortium_authority_change *auth_changes; /* committing heights non-decreasing */
    uint32_t auth_change_count, auth_change_cap;
    uint64_t last_height;             /* highest height recorded so far */
    codec_authority *scratch;         /* the genesis's authorities with the first */
    uint32_t scratch_count, scratch_cap; /* scratch_changes recorded changes applied */
    uint32_t scratch_changes;
    bool scratch_valid;
} consortium_history;

/* B = (h / 16 + 2) * 16 for a change committed at height h (17 <= B - h <= 32). */
uint64_t consortium_boundary(uint64_t committing_height);
/* f = (n - 1) / 3 and the quorum 2f+1. */
uint32_t consortium_f(uint32_t n);
uint32_t consortium_quorum(uint32_t n);

/* Whether next may follow cur under the rules above. Returns true, or false with a reason
 * naming what is wrong (index, name, count) in why. */
bool consortium_valset_check(const codec_valset *cur, const codec_valset *next, char *why,
                             size_t why_cap);
/* Whether key is one of the set's (its index in *index if so; index may be NULL). */
bool consortium_valset_has(const codec_valset *s, const pubkey *key, uint32_t *index);

/* A history with the genesis's consortium only. Returns 0 or -1 (memory). */
int consortium_history_init(consortium_history *h, const codec_genesis *g);
void consortium_history_free(consortium_history *h);

/* Record the OK receipt r of a tx to `contract` committed at height (heights never go down).
 * Receipts of other contracts, and non-OK receipts, change nothing. A governance event that
 * does not decode or breaks a rule (wrong boundary, a change while one is pending, a set
 * the rules refuse, revoking a key that holds no role, adding one that does) is refused:
 * returns -1 with a reason in why and records nothing of r. Returns 0 otherwise. */
int consortium_history_record(consortium_history *h, uint64_t height, const char *contract,
                              const codec_receipt *r, char *why, size_t why_cap);
/* The same for a validator-set change known from state (the executor's sys/valset/at/):
 * committed at height, in force from boundary. Returns 0 or -1 with a reason. */
int consortium_history_add_valset(consortium_history *h, uint64_t height, uint64_t boundary,
                                  const codec_valset *set, char *why, size_t why_cap);

/* The consortium in force at height (height 0 is the genesis itself). Borrowed from h and
 * its genesis: valid until the next call on h. A height beyond the last recorded one gets
 * the last recorded sets (the pending validator set from its boundary on). Returns 0, or
 * -1 when memory for the authorities ran out (*out then has the validators and rules but
 * the genesis's authorities: a caller that reads authorities must check). */
int consortium_at(consortium_history *h, uint64_t height, consortium *out);
/* The validator set entry in force at height (never NULL). */
const consortium_valset_entry *consortium_valset_at(const consortium_history *h,
                                                    uint64_t height);
/* The latest recorded validator-set change (NULL if none): its boundary may be ahead. */
const consortium_valset_entry *consortium_last_change(const consortium_history *h);

#endif
