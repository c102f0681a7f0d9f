/*
 * codec.h - canonical msgpack encoding of every structure trialreg hashes,
 * signs, stores or sends. The only module that knows msgpack.
 *
 * Rules (docs/FORMATS.md has the field-by-field tables):
 *   - every structure is a msgpack array with a fixed field order;
 *   - integers use their shortest form (non-negative values as uint forms);
 *   - byte strings are `bin`, text is `str` (valid UTF-8, bounded);
 *   - nil appears only where a table says "or nil".
 * The decoder refuses anything else: wrong type, non-shortest header,
 * lengths or counts beyond the limits below, trailing bytes. Every refusal
 * names the field (and the array index) and the byte offset.
 *
 * Encoding uses msgpack-c's packer into caller-provided buffers; decoding is
 * a strict zero-copy reader (see codec.c for why msgpack-c's unpacker is not
 * used): decoded structures point into the input buffer, which the caller
 * must keep alive and unchanged while it uses them.
 */
#ifndef TRIALREG_CODEC_H
#define TRIALREG_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

/* ---- limits ------------------------------------------------------------ */
#define CODEC_NAME_MAX 32            /* contract, method, topic, site, names */
#define CODEC_ARGS_MAX 16            /* arguments of one tx */
#define CODEC_ARG_BYTES_MAX 1024     /* one bytes argument */
/* Co-signatures on one tx: a validator-set change carries the approvals of 2f+1 current
 * validators (11 of 16), the proof of possession of each new key (5 at most) and the
 * genesis's kind-2 requirement (CODEC_REQUIREMENT_KEYS_MAX keys, the signer one of them). */
#define CODEC_COSIGS_MAX 20
#define CODEC_REQUIREMENT_KEYS_MAX 5 /* keys one governance requirement may ask for */
#define CODEC_TX_MAX (24 * 1024)     /* encoded tx */
#define CODEC_REASON_MAX 160         /* receipt reason text */
#define CODEC_EVENTS_MAX 16          /* events in one receipt */
#define CODEC_EVENT_DATA_MAX 1024    /* one event payload */
#define CODEC_RECEIPT_MAX (24 * 1024)
#define CODEC_VALIDATORS_MAX 16      /* n = 3f+1 <= 16: what PBFT runs (FORMATS.md 2) */
#define CODEC_AUTHORITIES_MAX 256
#define CODEC_CONTRACTS_MAX 16
#define CODEC_BYTECODE_MAX (256 * 1024)
#define CODEC_CHAIN_NAME_MAX 64
#define CODEC_BLOCK_TXS_MAX 4096
#define CODEC_WRITES_MAX 65536       /* state writes in one block */
#define CODEC_KEY_MAX 256            /* state key */
#define CODEC_VALUE_MAX 4096         /* state value */
#define CODEC_BLOCK_MAX (64 * 1024 * 1024)
#define CODEC_PROOF_PATH_MAX 64

/* ---- errors ------------------------------------------------------------ */
typedef enum {
    CODEC_OK = 0,
    CODEC_ERR_TRUNCATED,     /* input ends inside a value */
    CODEC_ERR_TYPE,          /* wrong msgpack type for the field */
    CODEC_ERR_NONCANONICAL,  /* not the shortest encoding */
    CODEC_ERR_RANGE,         /* integer out of the field's range */
    CODEC_ERR_LENGTH,        /* byte/text length outside the field's bounds */
    CODEC_ERR_COUNT,         /* array element count outside the bounds */
    CODEC_ERR_UTF8,          /* text is not valid UTF-8 */
    CODEC_ERR_TRAILING,      /* bytes after the structure */
    CODEC_ERR_ORDER,         /* list must be strictly increasing */
    CODEC_ERR_DUPLICATE,     /* a key that must be unique appears twice */
    CODEC_ERR_OVERFLOW,      /* encoder output buffer too small */
    CODEC_ERR_OLD_GENESIS,   /* a version 1 genesis: `trialctl genesis upgrade` converts it */
    CODEC_ERR_UNKNOWN,       /* a version (rules_version, gas_schedule, nonce_rule) or kind
                              * this build does not know */
} codec_err;

typedef struct {
    codec_err code;
    size_t offset;      /* byte offset in the input */
    const char *field;  /* e.g. "tx.cosigs[].sig" (static string) */
    int64_t index;      /* innermost array index for "[]" in field, or -1 */
} codec_error;

const char *codec_strerror(codec_err err);
/* Render "field[index]: reason at byte N" into buf. Returns buf. */
const char *codec_error_format(const codec_error *err, char *buf, size_t cap);

/* ---- output buffer ------------------------------------------------------- */
/* A caller-owned fixed buffer. Writes past cap set overflow and are dropped. */
typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool overflow;
} codec_buf;

static inline codec_buf codec_buf_make(uint8_t *data, size_t cap)
{
    codec_buf b = {data, 0, cap, false};
    return b;
}

/* ---- values -------------------------------------------------------------- */
typedef enum { CODEC_VALUE_INT = 0, CODEC_VALUE_BYTES = 1 } codec_value_kind;

/* A contract argument: int64 or a byte string (pointing into the input). */
typedef struct {
    codec_value_kind kind;
    int64_t integer;
    const uint8_t *bytes;
    uint32_t len;
} codec_value;

/* A bounded text field, copied and NUL-terminated. */
typedef struct { char text[CODEC_NAME_MAX + 1]; } codec_name;

/* ---- transaction ----------------------------------------------------------
 * tx = [signer, nonce, valid_until, contract, method, args, cosigs, sig]
 * body (what the author signs, tag TX) = [signer, nonce, valid_until, contract, method, args]
 * valid_until (UTC ms): the tx may commit only in a block whose time is before it and at
 * most the chain's valid_for_max_ms before it (executor.h step 5; FORMATS.md 5.1).
 * cosig body (tag COSIG) = [sha256(body), meaning, cosigner key]
 * tx id = SHA-256(whole canonical tx); log leaf data = whole canonical tx.
 */
typedef enum {
    MEANING_AUTHOR = 1,         /* "I authored this record" */
    MEANING_APPROVAL = 2,       /* "I approve" */
    MEANING_REVIEW = 3,         /* "I reviewed" */
    MEANING_WITNESS = 4,        /* "I witnessed the signer's act" (consent) */
    MEANING_RESPONSIBILITY = 5, /* "I take responsibility" */
    MEANING_MAX_ = MEANING_RESPONSIBILITY,
} signature_meaning;

const char *codec_meaning_name(unsigned meaning);

typedef struct {
    pubkey key;
    uint8_t meaning; /* signature_meaning */
    signature sig;
} codec_cosig;

typedef struct {
    pubkey signer;
    uint64_t nonce;
    uint64_t valid_until; /* UTC ms */
    codec_name contract;
    codec_name method;
    uint32_t arg_count;
    codec_value args[CODEC_ARGS_MAX];
    uint32_t cosig_count;
    codec_cosig cosigs[CODEC_COSIGS_MAX];
    signature sig;
    /* Filled by the decoder: the input bytes of body fields 0..4, so the
     * signed body is 0x96 || body_fields without re-encoding. */
    const uint8_t *body_fields;
    size_t body_fields_len;
} codec_tx;

codec_err codec_tx_encode(const codec_tx *tx, codec_buf *out);
/* Encode only the signed body [signer, nonce, valid_until, contract, method, args]. */
codec_err codec_tx_body_encode(const codec_tx *tx, codec_buf *out);
/* The cosig body [body_hash, meaning, cosigner]. */
codec_err codec_cosig_body_encode(const hash32 *body_hash, unsigned meaning,
                                  const pubkey *cosigner, codec_buf *out);
codec_err codec_tx_decode(const uint8_t *data, size_t len, codec_tx *out, codec_error *err);
/*
 * Verify a decoded tx's author signature and every co-signature on this chain
 * (bodies rebuilt from the decoded input, see the layout above). Returns 0 if
 * all are valid, -1 if the author's signature is not, or k + 1 if co-signature
 * k is not. The tx must come from codec_tx_decode (body_fields set).
 */
int codec_tx_verify_signatures(const codec_tx *tx, const hash32 *chain_id);

/* A run of bytes inside a caller's buffer (zero copy). */
typedef struct {
    const uint8_t *data;
    size_t len;
} codec_span;

/* ---- pruned tx (issue 14 C: no free bytes in the ledger) -------------------------
 * pruned = [leaf_hash, tx_id, signer, nonce, valid_until, contract, method, arg_count,
 *           arg_kinds]
 * What a block record keeps, in place of the tx, of a tx refused because its signer holds
 * no role or its contract, method or arguments do not exist or fit (receipt INVALID with
 * code 4, 5, 6 or 7): no argument, no co-signature, no signature. leaf_hash =
 * H(0x00 || tx) is what the tx root and the log commit to, tx_id = H(tx) what its receipt
 * names; arg_count (0..16) and arg_kinds (bit i set: argument i was bytes, else int; below
 * 2^arg_count) are the arguments' shape, enough to re-execute the refusal. A 9-element
 * array, so its first byte (0x99) tells it from a tx (0x98). docs/FORMATS.md 5.10.
 */
typedef struct {
    hash32 leaf;
    hash32 tx_id;
    pubkey signer;
    uint64_t nonce;
    uint64_t valid_until;
    codec_name contract;
    codec_name method;
    uint32_t arg_count;
    uint32_t arg_kinds;
} codec_pruned_tx;

codec_err codec_pruned_tx_encode(const codec_pruned_tx *p, codec_buf *out);
codec_err codec_pruned_tx_decode(const uint8_t *data, size_t len, codec_pruned_tx *out,
                                 codec_error *err);
/* The pruned form of a decoded tx whose canonical bytes are tx_bytes. */
void codec_pruned_tx_of(const codec_tx *tx, const codec_span *tx_bytes, codec_pruned_tx *out);
/* Whether a block's tx entry (a span of a decoded block, known canonical) is pruned. */
bool codec_entry_is_pruned(const codec_span *entry);
/* Leaf hash and tx id of a block's tx entry: computed from a tx's bytes, read from a
 * pruned entry. The entry must be canonical (from codec_block_decode or an encoder). */
void codec_entry_leaf(const codec_span *entry, hash32 *leaf);
void codec_entry_tx_id(const codec_span *entry, hash32 *tx_id);

/* ---- batch header (what PBFT agrees on; its hash is the PBFT digest) --------
 * batch_header = [height, time_ms, tx_root, tx_count]
 */
typedef struct {
    uint64_t height;
    uint64_t time_ms;
    hash32 tx_root;
    uint64_t tx_count;
} codec_batch_header;

/* ---- block header (cumulative fields, derived after commit) ---------------
 * block_header = [batch_header, prev_block_hash, log_size, log_root]
 * block hash = SHA-256(canonical block_header)
 */
typedef struct {
    codec_batch_header batch;
    hash32 prev_hash;
    uint64_t log_size;
    hash32 log_root;
} codec_block_header;

codec_err codec_batch_header_encode(const codec_batch_header *h, codec_buf *out);
codec_err codec_batch_header_decode(const uint8_t *data, size_t len, codec_batch_header *out,
                                    codec_error *err);
codec_err codec_block_header_encode(const codec_block_header *h, codec_buf *out);
codec_err codec_block_header_decode(const uint8_t *data, size_t len, codec_block_header *out,
                                    codec_error *err);
/* SHA-256 of the canonical encodings. */
void codec_batch_hash(const codec_batch_header *h, hash32 *out);
void codec_block_hash(const codec_block_header *h, hash32 *out);

/* ---- receipt ---------------------------------------------------------------
 * receipt = [tx_id, status, error_code, reason, gas_used, events]
 * event   = [topic, data]
 */
typedef enum {
    RECEIPT_OK = 0,        /* method ran and its writes were applied */
    RECEIPT_REFUSED = 1,   /* the contract refused (abort with a reason code) */
    RECEIPT_INVALID = 2,   /* signature, nonce, role or chain check failed */
    RECEIPT_TRAPPED = 3,   /* the VM trapped (gas, overflow, ...) */
    RECEIPT_STATUS_MAX_ = RECEIPT_TRAPPED,
} receipt_status;

typedef struct {
    codec_name topic;
    const uint8_t *data;
    uint32_t len;
} codec_event;

typedef struct {
    hash32 tx_id;
    uint8_t status;
    uint32_t error_code;
    char reason[CODEC_REASON_MAX + 1];
    uint64_t gas_used;
    uint32_t event_count;
    codec_event events[CODEC_EVENTS_MAX];
} codec_receipt;

codec_err codec_receipt_encode(const codec_receipt *r, codec_buf *out);
codec_err codec_receipt_decode(const uint8_t *data, size_t len, codec_receipt *out,
                               codec_error *err);

/* ---- certificates -----------------------------------------------------------
 * validator signature = [validator index, sig]; lists sorted by index, unique.
 * commit_cert = [height, view, batch_hash, sigs]     commit body (tag COMMIT) = [height, view, batch_hash]
 * result_cert = [height, block_hash, state_hash, receipts_root, sigs]
 *                                    checkpoint body (tag CHECKPOINT) = first four fields
 */
typedef struct {
    uint32_t validator;
    signature sig;
} codec_vsig;

typedef struct {
    uint64_t height;
    uint64_t view;
    hash32 batch_hash;
    uint32_t sig_count;
    codec_vsig sigs[CODEC_VALIDATORS_MAX];
} codec_commit_cert;

typedef struct {
    uint64_t height;
    hash32 block_hash;
    hash32 state_hash;
    hash32 receipts_root;
    uint32_t sig_count;
    codec_vsig sigs[CODEC_VALIDATORS_MAX];
} codec_result_cert;

codec_err codec_commit_body_encode(uint64_t height, uint64_t view, const hash32 *batch_hash,
                                   codec_buf *out);
codec_err codec_checkpoint_body_encode(const codec_result_cert *c, codec_buf *out);
codec_err codec_commit_cert_encode(const codec_commit_cert *c, codec_buf *out);
codec_err codec_commit_cert_decode(const uint8_t *data, size_t len, codec_commit_cert *out,
                                   codec_error *err);
codec_err codec_result_cert_encode(const codec_result_cert *c, codec_buf *out);
codec_err codec_result_cert_decode(const uint8_t *data, size_t len, codec_result_cert *out,
                                   codec_error *err);

/* ---- state writes -------------------------------------------------------------
 * writes = [[key, value or nil], ...] in execution order; nil = delete.
 */
typedef struct {
    const uint8_t *key;
    uint32_t key_len;
    const uint8_t *value; /* NULL = delete */
    uint32_t value_len;
} codec_write;

/* ---- block record (what the ledger stores and exports) -------------------------
 * block = [block_header, txs, receipts, writes, commit_cert]
 * txs and receipts are arrays of the nested structures. Decoding yields
 * spans into the input (zero copy); decode each span with its own decoder.
 */
typedef struct {
    codec_block_header header;
    uint32_t tx_count;
    codec_span *txs;       /* caller-provided arrays of capacity *_cap */
    uint32_t receipt_count;
    codec_span *receipts;
    uint32_t write_count;
    codec_write *writes;
    codec_span commit_cert;
} codec_block;

/* Encode from parts: already-encoded txs, receipts and commit cert. */
codec_err codec_block_encode(const codec_block_header *h, const codec_span *txs,
                             uint32_t tx_count, const codec_span *receipts,
                             uint32_t receipt_count, const codec_write *writes,
                             uint32_t write_count, const codec_span *commit_cert,
                             codec_buf *out);
/* Decode a block record. out->txs, out->receipts and out->writes must point
 * to arrays of capacity tx_cap, tx_cap and writes_cap. The nested txs,
 * receipts and commit cert are checked for canonical form here too. */
codec_err codec_block_decode(const uint8_t *data, size_t len, codec_block *out,
                             uint32_t tx_cap, uint32_t writes_cap, codec_error *err);
codec_err codec_writes_encode(const codec_write *writes, uint32_t count, codec_buf *out);
/* SHA-256 of the canonical writes array, streamed (no buffer). */
void codec_writes_hash(const codec_write *writes, uint32_t count, hash32 *out);

/* ---- genesis ---------------------------------------------------------------------
 * genesis     = [version=3, chain_name, created_ms, rules, validators, authorities,
 *                contracts, governance]
 * rules       = [rules_version, gas_schedule, tx_gas_limit, block_gas_limit,
 *                vm_memory_bytes, vm_call_depth, vm_writes_max, vm_events_max,
 *                max_batch_txs, block_bytes_max, nonce_rule, valid_for_max_ms,
 *                anchor_window_ms, clock_skew_ms, rebind_delay_ms]
 * validator   = [name, key]
 * authority   = [role, site, name, key]      (site "" when not a site role)
 * contract    = [name, version, bytecode]
 * governance  = [requirement x 5]            kinds 1, 2, 3, 4, 5 in this order
 * requirement = [kind, [[role, count]...]]   roles strictly increasing, 1..4 pairs
 * chain id    = SHA-256(canonical genesis)
 * Version 1 (params = [max_batch_txs, nonce_window, anchor_window_ms, clock_skew_ms], no
 * governance) and version 2 (rules without rebind_delay_ms, governance kinds 1..4) are
 * refused with CODEC_ERR_OLD_GENESIS: `trialctl genesis upgrade` converts them
 * (codec_genesis_decode_old), which makes a new chain (a new chain id).
 * docs/FORMATS.md 5.9 has every bound; the decoder checks them all, naming the field.
 */
typedef enum {
    ROLE_SPONSOR = 1,
    ROLE_INVESTIGATOR = 2, /* a site's investigator; site names the site */
    ROLE_REGULATOR = 3,    /* regulator or ethics committee */
    ROLE_RESEARCHER = 4,
    ROLE_PARTICIPANT = 5,  /* enrolled on the ledger, never in the genesis */
    ROLE_AUDITOR = 6,      /* reads blocks, exports and receipts (issue 19); signs no tx */
    ROLE_MAX_ = ROLE_AUDITOR,
} authority_role;

const char *codec_role_name(unsigned role);
/* Parse a role name ("sponsor", "investigator", "regulator", "researcher", "participant",
 * "auditor"); returns 0 if unknown. */
unsigned codec_role_parse(const char *name);

/* The rules of the chain (genesis.rules): what decides what a block does. Every
 * validator, `audit` and re-execution read them from here (executor.h rules_at). */
#define CODEC_RULES_VERSION 1          /* the only rules_version this build knows */
#define CODEC_GAS_SCHEDULE 1           /* the only gas schedule */
#define CODEC_NONCE_RULE_VALID_UNTIL 1 /* the only nonce rule: txs carry valid_until */
/* Bounds checked at decode (docs/FORMATS.md 5.9). The VM's own hard maxima are in cvm.h
 * (CVM_LIMIT_*_MAX). */
#define CODEC_RULES_GAS_MAX ((uint64_t)INT64_MAX)   /* the VM counts gas in an int64 */
/* The transport's message bound: a node's max_message_bytes defaults to it (config.h), and
 * a PRE-PREPARE carries the batch's tx bytes, so a batch's bytes stay below it with room
 * for the digests, the header, the signature and the bundle headers (64 KiB). */
#define CODEC_MESSAGE_BYTES_DEFAULT (4u << 20)
#define CODEC_RULES_BLOCK_BYTES_MAX (CODEC_MESSAGE_BYTES_DEFAULT - (64u << 10))
#define CODEC_RULES_BLOCK_BYTES_MIN CODEC_TX_MAX      /* one largest tx always fits */
#define CODEC_RULES_VALID_FOR_MIN_MS 60000ull         /* 1 minute */
#define CODEC_RULES_VALID_FOR_MAX_MS 86400000ull      /* 24 hours */
#define CODEC_RULES_ANCHOR_WINDOW_MAX_MS (366ull * 86400000ull) /* a year */
#define CODEC_RULES_CLOCK_SKEW_MAX_MS 60000ull        /* a minute; an hour is absurd */
#define CODEC_RULES_REBIND_DELAY_DEFAULT_MS (72ull * 3600000ull) /* 72 hours */
#define CODEC_RULES_REBIND_DELAY_MAX_MS (90ull * 86400000ull)    /* 90 days */

typedef struct {
    uint32_t rules_version;    /* CODEC_RULES_VERSION */
    uint32_t gas_schedule;     /* CODEC_GAS_SCHEDULE */
    uint64_t tx_gas_limit;     /* gas one tx may use, 1..block_gas_limit */
    uint64_t block_gas_limit;  /* gas one block may use, tx_gas_limit..CODEC_RULES_GAS_MAX */
    uint32_t vm_memory_bytes;  /* the VM's per-call arena (cvm_limits.arena_bytes) */
    uint32_t vm_call_depth;    /* nested calls (cvm_limits.call_depth) */
    uint32_t vm_writes_max;    /* distinct keys one call writes (cvm_limits.writes_max) */
    uint32_t vm_events_max;    /* events of one call (cvm_limits.events_max) */
    uint32_t max_batch_txs;    /* txs in one batch, 1..CODEC_BLOCK_TXS_MAX */
    uint32_t block_bytes_max;  /* sum of a batch's tx bytes */
    uint32_t nonce_rule;       /* CODEC_NONCE_RULE_VALID_UNTIL */
    uint64_t valid_for_max_ms; /* how far after the block time a tx's valid_until may lie */
    uint64_t anchor_window_ms; /* how far before the block time a data anchor may lie */
    uint64_t clock_skew_ms;    /* |proposed block time - a replica's clock| bound */
    uint64_t rebind_delay_ms;  /* a participant's re-binding to a new key waits this long
                                  (block time) after it is recorded, so that the old key
                                  can veto it; 0..CODEC_RULES_REBIND_DELAY_MAX_MS */
} codec_rules;

/* The rules trialctl init writes, and genesis upgrade gives a version 1 genesis. */
void codec_rules_default(codec_rules *out);

/* Governance: for each kind of change, the keys it needs (docs/FORMATS.md 5.9 says how
 * they count: the tx's signer and its co-signers with meaning approval, one key each). */
typedef enum {
    GOVERNANCE_AUTHORITIES = 1, /* add, revoke or rotate an authority other than a regulator */
    GOVERNANCE_VALIDATORS = 2,  /* change the validator set (with 2f+1 validators, too) */
    GOVERNANCE_DEPLOY = 3,      /* governance.deploy: a new contract version */
    GOVERNANCE_RULES = 4,       /* change genesis.rules (no tx yet) */
    GOVERNANCE_REGULATORS = 5,  /* add, revoke or rotate a regulator: its requirement names
                                   the regulator role only (a sponsor must not choose its
                                   regulator), and the target's own key does not count */
    GOVERNANCE_KIND_MAX_ = GOVERNANCE_REGULATORS,
} governance_kind;
#define CODEC_REQUIREMENT_ROLES_MAX 4 /* sponsor, investigator, regulator, researcher */

typedef struct {
    uint8_t role;
    uint8_t count; /* 1..CODEC_REQUIREMENT_KEYS_MAX keys of that role */
} codec_role_count;

typedef struct {
    uint32_t role_count;
    codec_role_count roles[CODEC_REQUIREMENT_ROLES_MAX]; /* roles strictly increasing */
} codec_requirement;

const char *codec_governance_kind_name(unsigned kind);
/* The requirements trialctl init writes (and genesis upgrade gives): kinds 1..4 need one
 * sponsor key and one regulator key (the deploy rule of version 1); kind 5 one regulator. */
void codec_governance_default(codec_requirement out[GOVERNANCE_KIND_MAX_]);

typedef struct {
    codec_name name;
    pubkey key;
} codec_validator;

typedef struct {
    uint8_t role;
    codec_name site;
    codec_name name;
    pubkey key;
} codec_authority;

typedef struct {
    codec_name name;
    uint32_t version;
    const uint8_t *bytecode;
    uint32_t bytecode_len;
} codec_contract;

typedef struct {
    char chain_name[CODEC_CHAIN_NAME_MAX + 1];
    uint64_t created_ms;
    codec_rules rules;
    uint32_t validator_count;
    codec_validator validators[CODEC_VALIDATORS_MAX];
    uint32_t authority_count;
    codec_authority authorities[CODEC_AUTHORITIES_MAX];
    uint32_t contract_count;
    codec_contract contracts[CODEC_CONTRACTS_MAX];
    codec_requirement governance[GOVERNANCE_KIND_MAX_]; /* [kind - 1] */
} codec_genesis;

#define CODEC_GENESIS_VERSION 3
#define CODEC_GENESIS_MAX (CODEC_CONTRACTS_MAX * CODEC_BYTECODE_MAX + 64 * 1024)

codec_err codec_genesis_encode(const codec_genesis *g, codec_buf *out);
/* Validators must number n = 3f+1 with 1 <= f <= 5 (4, 7, 10, 13 or 16, what PBFT runs:
 * CODEC_ERR_COUNT at genesis.validators otherwise); rules and governance within their
 * bounds (FORMATS.md 5.9). A version 1 or 2 genesis: CODEC_ERR_OLD_GENESIS. */
codec_err codec_genesis_decode(const uint8_t *data, size_t len, codec_genesis *out,
                               codec_error *err);
/* A version 1 or 2 genesis (for `trialctl genesis upgrade` only). Version 1: its
 * validators, authorities and contracts, codec_rules_default with its max_batch_txs,
 * anchor_window_ms and clock_skew_ms carried over (nonce_window has no successor),
 * codec_governance_default. Version 2: everything it has, rebind_delay_ms the default and
 * governance kind 5 the default. The result is NOT checked against the version 3 bounds:
 * encode it and decode it. */
codec_err codec_genesis_decode_old(const uint8_t *data, size_t len, codec_genesis *out,
                                  codec_error *err);
/* f = (n - 1) / 3 and the quorum 2f+1. */
uint32_t codec_genesis_quorum(const codec_genesis *g);

/* ---- the governance.authority event (issue 23; FORMATS.md 5.11) ---------------------
 * data = [action, role, site, name, key]
 *   action: uint 1 added, 2 revoked (CODEC_AUTHORITY_ADDED, _REVOKED)
 *   role:   uint 1..4 (sponsor, investigator, regulator, researcher)
 *   site:   str 0..32 bytes, non-empty exactly for role 2 (as a genesis authority's)
 *   name:   str 0..32 bytes
 *   key:    bin 32, the key added or revoked
 * One event per key changed; a rotation is `revoked` (the old key) then `added` (the new
 * key, same role, site and name) in one receipt. The authorities at height h are the
 * genesis's and these events of heights <= h applied in order (executor.h "Authorities"). */
#define CODEC_AUTHORITY_EVENT_TOPIC "governance.authority"
#define CODEC_AUTHORITY_EVENT_MAX 128 /* 1 + 1 + 1 + 2 x 33 + 34: below it */
enum { CODEC_AUTHORITY_ADDED = 1, CODEC_AUTHORITY_REVOKED = 2 };

typedef struct {
    uint8_t action;
    uint8_t role;
    codec_name site;
    codec_name name;
    pubkey key;
} codec_authority_change;

codec_err codec_authority_change_encode(const codec_authority_change *c, codec_buf *out);
codec_err codec_authority_change_decode(const uint8_t *data, size_t len,
                                        codec_authority_change *out, codec_error *err);

/* ---- validator sets (governance.validators, issue 23; FORMATS.md 5.12) --------------
 * valset       = [[name, key], ...]      1..CODEC_VALIDATORS_MAX entries; name: str <= 32
 *                                         bytes, key: bin 32; validator i signs as index i
 * valset event = [boundary, valset]      data of the receipt event "governance.validators"
 * Only the shape is checked here (consortium.h checks what makes a set allowed: n, names,
 * duplicates, and how it may follow the set before it). */
typedef struct {
    uint32_t count;
    codec_validator validators[CODEC_VALIDATORS_MAX];
} codec_valset;

codec_err codec_valset_encode(const codec_valset *s, codec_buf *out);
codec_err codec_valset_decode(const uint8_t *data, size_t len, codec_valset *out,
                              codec_error *err);
codec_err codec_valset_event_encode(uint64_t boundary, const codec_valset *s, codec_buf *out);
codec_err codec_valset_event_decode(const uint8_t *data, size_t len, uint64_t *boundary,
                                    codec_valset *out, codec_error *err);

/* ---- ledger export file --------------------------------------------------------------
 * file  = header entry*      (a sequence of top-level msgpack values)
 * header = ["trialreg-ledger", 1, chain_id, block_count]
 * entry  = [block, result_cert or nil]
 */
#define CODEC_EXPORT_MAGIC "trialreg-ledger"
typedef struct {
    hash32 chain_id;
    uint64_t block_count;
} codec_export_header;

codec_err codec_export_header_encode(const codec_export_header *h, codec_buf *out);
/* Decode the header at the start of data; *used gets its length. */
codec_err codec_export_header_decode(const uint8_t *data, size_t len, codec_export_header *out,
                                     size_t *used, codec_error *err);
codec_err codec_export_entry_encode(const codec_span *block, const codec_span *result_cert,
                                    codec_buf *out);
/* Decode one entry at the start of data; result_cert->len = 0 when nil. */
codec_err codec_export_entry_decode(const uint8_t *data, size_t len, codec_span *block,
                                    codec_span *result_cert, size_t *used, codec_error *err);

/* ---- proofs --------------------------------------------------------------------------
 * inclusion   = [1, tx, leaf_index, block_header, result_cert, path, changes?]
 *   the tx is leaf leaf_index of the log of size block_header.log_size
 * consistency = [2, old_block_header, old_result_cert, new_block_header,
 *                new_result_cert, path, changes?]
 * changes (FORMATS.md 6.4): present only when not empty: 1..CODEC_CHANGES_MAX bin, each a
 *   receipt reply (13.5, 6 fields) of a governance.validators tx, in height order: the
 *   validator-set changes from the genesis that a verifier needs to know the set in force
 *   at the proof's heights. A proof or receipt of a chain with no change has none (the
 *   files made before changes existed).
 */
#define CODEC_CHANGES_MAX 256

/* Encoding: count spans at list (each an encoded receipt reply), or, with list NULL, raw as
 * a decoder filled it (a decoded file re-encodes to its bytes). Decoding fills raw (the whole
 * array, checked: 1..CODEC_CHANGES_MAX bins), count, and list NULL; codec_changes_get
 * splits it. */
typedef struct {
    uint32_t count;
    const codec_span *list;
    codec_span raw;
} codec_changes;
/* The count spans of a decoded changes field into out (cap >= c->count). */
codec_err codec_changes_get(const codec_changes *c, codec_span *out, uint32_t cap);
typedef enum { PROOF_INCLUSION = 1, PROOF_CONSISTENCY = 2 } proof_kind;

typedef struct {
    codec_span header;      /* encoded block header */
    codec_span result_cert; /* encoded result certificate */
} codec_certified_block;

typedef struct {
    uint8_t kind;
    codec_span tx;            /* inclusion only */
    uint64_t leaf_index;      /* inclusion only */
    codec_certified_block block;     /* inclusion: the block; consistency: the new block */
    codec_certified_block old_block; /* consistency only */
    uint32_t path_len;
    hash32 path[CODEC_PROOF_PATH_MAX];
    codec_changes changes;
} codec_proof;

codec_err codec_proof_encode(const codec_proof *p, codec_buf *out);
codec_err codec_proof_decode(const uint8_t *data, size_t len, codec_proof *out,
                             codec_error *err);

/* ==== PBFT messages ==== */
/* Signed bodies of the consensus messages (docs/PBFT.md has the tables).
 *   pre-prepare body (tag PREPREPARE) = [view, height, batch_hash]
 *   prepare body     (tag PREPARE)    = [view, height, batch_hash]
 *   commit body      (tag COMMIT)     = codec_commit_body_encode above
 *   view-change body (tag VIEWCHANGE) = [new_view, stable_height, stable_digest,
 *                                        [[height, view, batch_hash], ...]]
 *   new-view body    (tag NEWVIEW)    = [view, [[sender, vc_digest], ...],
 *                                        [[height, batch_hash], ...]]
 * stable_digest = SHA-256 of the stable checkpoint body (zeros at height 0);
 * vc_digest = SHA-256 of the sender's view-change body. */
typedef struct {
    uint64_t height;
    uint64_t view;
    hash32 batch_hash;
} codec_pbft_entry;

codec_err codec_pbft_vote_body_encode(uint64_t view, uint64_t height, const hash32 *batch_hash,
                                      codec_buf *out);
codec_err codec_pbft_view_change_body_encode(uint64_t new_view, uint64_t stable_height,
                                             const hash32 *stable_digest,
                                             const codec_pbft_entry *prepared, uint32_t count,
                                             codec_buf *out);
/* For new-view: entries[i].view carries the sender id of view-change i. */
codec_err codec_pbft_new_view_body_encode(uint64_t view, const codec_pbft_entry *vcs,
                                          uint32_t vc_count, const codec_pbft_entry *reissued,
                                          uint32_t reissued_count, codec_buf *out);

/* ==== client API (docs/FORMATS.md "Client API") ====
 * request  = [kind, body]                 kind: codec_client_kind; body: bin
 * response = [status, reason, body]       status: 0 ok, else capi_status (below);
 *                                         reason: str <= CODEC_REASON_MAX; body: bin
 * query    = [asker, time_ms, qkind, [arg, ...], sig]   args: bin, <= CODEC_QUERY_ARGS_MAX
 *            sig (tag QUERY) over the query body [asker, time_ms, qkind, [arg, ...]]
 * receipt reply = [height, index, receipt, proof or nil, commit_cert or nil, receipt_path]
 *                 receipt, proof, commit_cert: bin; receipt_path: array (0..64) of bin 32,
 *                 the RFC 9162 path of the receipt in the block's receipts root.
 *                 It is also the receipt file trialctl writes (docs/FORMATS.md 13.5).
 * blocks request = [from_height, count]
 * blocks reply   = [[block, result_cert or nil], ...]       (bin each)
 * trial reply    = [version, approved, floor_version, floor_time_ms, planned,
 *                   registered_ms, sponsor]
 * consent reply  = [total, from, [[kind, time_ms, scopes, version, form, witness, meaning], ...]]
 *                  one page of a participant's history: entries from..from+n-1 (oldest
 *                  first, n <= CODEC_CONSENT_REPLY_MAX, from + n <= total) of the total; the
 *                  next page starts at from + n, and the history is whole when that is total
 * submit batch   = [tx, ...]                    (bin each, 1..CODEC_SUBMIT_BATCH_MAX)
 * submit results = [[status, reason], ...]      (one per tx of the batch, in order)
 * signed read    = [asker, time_ms, kind, body, sig]   the body of BLOCKS, RECEIPT and
 *                  RECEIPTS requests (issue 19): kind = the request's kind, body = the read's
 *                  own body (a blocks request, a 32-byte tx id, a receipts request);
 *                  sig (tag READ) over [asker, time_ms, kind, body]
 * receipts request = [tx_id, ...]               (bin 32 each, 1..CODEC_RECEIPTS_BATCH_MAX)
 * receipts reply   = [[status, reason, receipt reply or nil], ...]   one per id, in order:
 *                  0 with the receipt reply (bin), NOT_FOUND, DENIED or TOO_LARGE with nil
 * Bodies of requests and replies are nested canonical msgpack carried as bin, so each
 * layer is decoded (and bounded) by its own decoder. */
#define CODEC_CLIENT_MESSAGE_MAX (8 * 1024 * 1024)
#define CODEC_QUERY_ARGS_MAX 4
#define CODEC_QUERY_ARG_MAX 64
#define CODEC_BLOCKS_REPLY_MAX 64
#define CODEC_CONSENT_REPLY_MAX 64
#define CODEC_SUBMIT_BATCH_MAX 1024
#define CODEC_RECEIPTS_BATCH_MAX 256
#define CODEC_READ_BODY_MAX (CODEC_RECEIPTS_BATCH_MAX * 34 + 16) /* a signed read's body */

typedef enum {
    CLIENT_SUBMIT = 1,  /* body: an encoded tx */
    CLIENT_QUERY = 2,   /* body: a signed query */
    CLIENT_RECEIPT = 3, /* body: a signed read of the tx id (32 bytes) */
    CLIENT_BLOCKS = 4,  /* body: a signed read of a blocks request */
    CLIENT_SUBMIT_BATCH = 5, /* body: a submit batch (several txs, one reply) */
    CLIENT_RECEIPTS = 6, /* body: a signed read of a receipts request (a batch of tx ids) */
    CLIENT_PUBLIC = 7,  /* body: a public request; UNSIGNED: a trial's protocol history */
    CLIENT_EVENTS = 8,  /* body: a signed read of an events request (one block's txs, by role) */
    CLIENT_HTTP_QUERY = 9, /* body: an HTTP query: a GRANT query signed by RFC 9421 (13.12) */
    CLIENT_KIND_MAX_ = CLIENT_HTTP_QUERY,
} codec_client_kind;

typedef enum {
    QUERY_TRIAL = 1,    /* args: trial id */
    QUERY_CONSENT = 2,  /* args: trial id, participant key (32) [, from: u64 big-endian (8)] */
    QUERY_TIMELINE = 3, /* args: trial id; reply body: the timeline text (filtered by role) */
    QUERY_GRANT = 4,    /* args: trial id, grant: u64 BE (8) [, from: u64 BE (8)]; grant reply */
    QUERY_READ_LOG = 5, /* args: trial id [, from: u64 BE (8)]; read log reply (regulators) */
    QUERY_TIMELINE_PAGE = 6, /* args: trial id [, from height: u64 BE (8)]; timeline page */
    QUERY_KIND_MAX_ = QUERY_TIMELINE_PAGE,
} codec_query_kind;

/* Client API response status codes (codec_client_response.status); 0 is success. The node
 * answers with them (registry/node/client_api.h), the client library reads them. */
#define CAPI_STATUSES(X)                                                                 \
    X(OK, 0, "ok")                                                                       \
    X(BAD_REQUEST, 1, "request is not a canonical client API envelope")                  \
    X(BAD_BODY, 2, "request body does not decode for its kind")                          \
    X(BAD_SIGNATURE, 3, "query signature does not verify on this chain")                 \
    X(STALE, 4, "query time is too far from the server's clock (replayed or skewed)")    \
    X(DENIED, 5, "the asking key may not read this (role rules)")                        \
    X(NOT_FOUND, 6, "no such trial, participant, tx or height")                          \
    X(SUBMIT_REFUSED, 7, "the node did not accept the tx")                               \
    X(TOO_LARGE, 8, "the reply would exceed the message bound")                          \
    X(INTERNAL, 9, "the node failed while answering")

typedef enum {
#define CAPI_X_ENUM(name, code, reason) CAPI_##name = code,
    CAPI_STATUSES(CAPI_X_ENUM)
#undef CAPI_X_ENUM
} capi_status;

const char *capi_status_reason(uint32_t status);
/* Its name ("DENIED", ...), or "UNKNOWN". */
const char *capi_status_name(uint32_t status);

typedef struct {
    uint32_t kind;
    codec_span body;
} codec_client_request;

typedef struct {
    uint32_t status;
    char reason[CODEC_REASON_MAX + 1];
    codec_span body;
} codec_client_response;

typedef struct {
    pubkey asker;
    uint64_t time_ms;
    uint32_t kind;
    uint32_t arg_count;
    codec_span args[CODEC_QUERY_ARGS_MAX];
    signature sig;
} codec_query;

typedef struct {
    uint64_t height;
    uint32_t index;
    codec_span receipt;
    codec_span proof; /* len 0: nil */
    codec_span commit_cert; /* len 0: nil (with proof nil: the block is not certified yet) */
    uint32_t receipt_path_len;
    hash32 receipt_path[CODEC_PROOF_PATH_MAX];
    codec_changes changes;  /* field 6, present only when not empty (codec.h "proofs") */
} codec_receipt_reply;

typedef struct {
    codec_span block;
    codec_span result_cert; /* len 0: nil */
} codec_block_entry;

typedef struct {
    uint64_t version, approved, floor_version, floor_time_ms, planned, registered_ms;
    pubkey sponsor;
} codec_trial_reply;

typedef struct {
    uint8_t kind;
    uint64_t time_ms, scopes, version;
    hash32 form;
    pubkey witness;
    uint8_t meaning;
    uint8_t flags;  /* entries of kinds 3-5 and flagged grants carry flags and other */
    pubkey other;   /* (FORMATS.md 13.3); zero otherwise */
} codec_consent_reply_entry;

codec_err codec_client_request_encode(uint32_t kind, const void *body, size_t len, codec_buf *out);
codec_err codec_client_request_decode(const uint8_t *data, size_t len, codec_client_request *out,
                                      codec_error *err);
codec_err codec_client_response_encode(uint32_t status, const char *reason, const void *body,
                                       size_t len, codec_buf *out);
codec_err codec_client_response_decode(const uint8_t *data, size_t len,
                                       codec_client_response *out, codec_error *err);
/* The signed part [asker, time_ms, qkind, args] and the whole query. */
codec_err codec_query_body_encode(const codec_query *q, codec_buf *out);
codec_err codec_query_encode(const codec_query *q, codec_buf *out);
codec_err codec_query_decode(const uint8_t *data, size_t len, codec_query *out, codec_error *err);
codec_err codec_receipt_reply_encode(const codec_receipt_reply *r, codec_buf *out);
codec_err codec_receipt_reply_decode(const uint8_t *data, size_t len, codec_receipt_reply *out,
                                     codec_error *err);
/* What became of one tx of a submit batch: status 0 accepted (reason empty), else a
 * client API status (capi_status) and why. */
typedef struct {
    uint32_t status;
    char reason[CODEC_REASON_MAX + 1];
} codec_submit_result;

codec_err codec_submit_batch_encode(const codec_span *txs, uint32_t count, codec_buf *out);
/* txs has capacity cap (<= CODEC_SUBMIT_BATCH_MAX); *count set; spans point into data. */
codec_err codec_submit_batch_decode(const uint8_t *data, size_t len, codec_span *txs,
                                    uint32_t cap, uint32_t *count, codec_error *err);
codec_err codec_submit_results_encode(const codec_submit_result *results, uint32_t count,
                                      codec_buf *out);
codec_err codec_submit_results_decode(const uint8_t *data, size_t len,
                                      codec_submit_result *results, uint32_t cap,
                                      uint32_t *count, codec_error *err);
codec_err codec_blocks_request_encode(uint64_t from_height, uint32_t count, codec_buf *out);
codec_err codec_blocks_request_decode(const uint8_t *data, size_t len, uint64_t *from_height,
                                      uint32_t *count, codec_error *err);
codec_err codec_blocks_reply_encode(const codec_block_entry *entries, uint32_t count,
                                    codec_buf *out);
/* entries has capacity cap (<= CODEC_BLOCKS_REPLY_MAX); *count set. */
codec_err codec_blocks_reply_decode(const uint8_t *data, size_t len, codec_block_entry *entries,
                                    uint32_t cap, uint32_t *count, codec_error *err);
codec_err codec_trial_reply_encode(const codec_trial_reply *t, codec_buf *out);
codec_err codec_trial_reply_decode(const uint8_t *data, size_t len, codec_trial_reply *out,
                                   codec_error *err);
/* One page of a consent history: entries [from, from + count) of total. */
typedef struct {
    uint64_t total, from;
    uint32_t count;
} codec_consent_page;

codec_err codec_consent_reply_encode(const codec_consent_page *page,
                                     const codec_consent_reply_entry *entries, codec_buf *out);
/* Checks from <= total and from + count <= total. */
codec_err codec_consent_reply_decode(const uint8_t *data, size_t len, codec_consent_page *page,
                                     codec_consent_reply_entry *entries, uint32_t cap,
                                     codec_error *err);

/* ==== reads through access grants, the read log, the public history (issue 19) ====
 * docs/FORMATS.md 13.3 and 13.9 have the tables.
 * grant reply    = [grant, scope, list_hash, count, from, records, removed]
 *   records      = [[index, anchor_hash, participant, scope, collected_at, size], ...]
 *   removed      = [[index, anchor_hash, why], ...]   why: CODEC_GRANT_WITHDRAWN, _RECONSENT
 *   The page covers the grant's list positions from .. from + n - 1, n = len(records) +
 *   len(removed) <= CODEC_GRANT_PAGE_MAX (fewer only at the end of the list); every index
 *   lies in that range. SHA-256 of the anchor hashes of all positions 0..count-1 in index
 *   order (served and removed) is the grant's list_hash.
 * read log entry = [time_ms, grant, from, served, removed, query]   query: bin, the
 *                  researcher's signed query (13.2) as the node received it (form 1), or
 *                  [time_ms, grant, from, served, removed, nil, http]   http: bin, the
 *                  researcher's RFC 9421 HTTP request as evidence (an HTTP evidence, 13.12;
 *                  form 2: the read came over HTTP)
 * read log reply = [total, from, [entry, ...]]   entries: bin each (a read log entry)
 * public request = [trial, from]                 trial: bin 1..32
 * public reply   = [total, from, enrolled or nil, [[method, receipt reply], ...]]
 *                  method: str "contract.method"; receipt reply: bin (13.5, the receipt
 *                  file); enrolled: the trial's enrolment when at least
 *                  CODEC_PUBLIC_COUNT_MIN, else nil */
#define CODEC_GRANT_PAGE_MAX 64
#define CODEC_READ_LOG_REPLY_MAX 32
#define CODEC_READ_LOG_ENTRY_MAX 1024
#define CODEC_PUBLIC_REPLY_MAX 16
#define CODEC_PUBLIC_COUNT_MIN 10 /* smaller counts are never published (re-identification) */

enum { CODEC_GRANT_WITHDRAWN = 1, CODEC_GRANT_RECONSENT = 2 };

typedef struct {
    uint32_t index;          /* position in the grant's list */
    hash32 anchor;           /* the record's content hash */
    pubkey participant;
    uint64_t scope, collected_at, size;
} codec_grant_record;

typedef struct {
    uint32_t index;
    hash32 anchor;
    uint8_t why;             /* CODEC_GRANT_WITHDRAWN or CODEC_GRANT_RECONSENT */
} codec_grant_removed;

typedef struct {
    uint64_t grant, scope, count, from;
    hash32 list_hash;
    uint32_t record_count, removed_count;
} codec_grant_page;

codec_err codec_grant_reply_encode(const codec_grant_page *p, const codec_grant_record *records,
                                   const codec_grant_removed *removed, codec_buf *out);
/* records and removed each have capacity cap (>= CODEC_GRANT_PAGE_MAX is always enough).
 * Checks from <= count, the page's size and that every index lies in the page. */
codec_err codec_grant_reply_decode(const uint8_t *data, size_t len, codec_grant_page *p,
                                   codec_grant_record *records, codec_grant_removed *removed,
                                   uint32_t cap, codec_error *err);

typedef struct {
    uint64_t time_ms;        /* the node's clock when it answered */
    uint64_t grant, from;
    uint32_t served, removed;
    codec_span query;        /* form 1: the signed query (points into the decoded bytes) */
    codec_span http;         /* form 2: the HTTP evidence (13.12); exactly one is non-empty */
} codec_read_log_entry;

codec_err codec_read_log_entry_encode(const codec_read_log_entry *e, codec_buf *out);
codec_err codec_read_log_entry_decode(const uint8_t *data, size_t len, codec_read_log_entry *out,
                                      codec_error *err);
/* entries: encoded read log entries (bin each). */
codec_err codec_read_log_reply_encode(uint64_t total, uint64_t from, const codec_span *entries,
                                      uint32_t count, codec_buf *out);
codec_err codec_read_log_reply_decode(const uint8_t *data, size_t len, uint64_t *total,
                                      uint64_t *from, codec_span *entries, uint32_t cap,
                                      uint32_t *count, codec_error *err);

codec_err codec_public_request_encode(const uint8_t *trial, size_t trial_len, uint64_t from,
                                      codec_buf *out);
codec_err codec_public_request_decode(const uint8_t *data, size_t len, codec_span *trial,
                                      uint64_t *from, codec_error *err);

typedef struct {
    char method[2 * CODEC_NAME_MAX + 2]; /* "contract.method" */
    codec_span receipt_reply;            /* the receipt file (13.5) */
} codec_public_entry;

typedef struct {
    uint64_t total, from;
    bool has_enrolled;
    uint64_t enrolled;
    uint32_t count;
} codec_public_page;

codec_err codec_public_reply_encode(const codec_public_page *p, const codec_public_entry *entries,
                                    codec_buf *out);
codec_err codec_public_reply_decode(const uint8_t *data, size_t len, codec_public_page *p,
                                    codec_public_entry *entries, uint32_t cap, codec_error *err);

/* ---- events (issue 20: the HTTP API's live stream; docs/FORMATS.md 13.10) ----
 * events request = [height]
 * events reply   = [height, certified, [[index, tx, receipt], ...], time_ms]
 *   the txs of block `height` the asking key may see (role rules: executor.h
 *   exec_tx_visible), each with its index in the block, its entry (a tx or a pruned tx) and
 *   its receipt (bin each); certified 1 once the block's result certificate is stored;
 *   time_ms the block's proposed time (5.2; issue 22: FHIR needs each tx's time). */
typedef struct {
    uint32_t index;
    codec_span tx;
    codec_span receipt;
} codec_event_tx;

codec_err codec_events_request_encode(uint64_t height, codec_buf *out);
codec_err codec_events_request_decode(const uint8_t *data, size_t len, uint64_t *height,
                                      codec_error *err);
codec_err codec_events_reply_encode(uint64_t height, bool certified, const codec_event_tx *txs,
                                    uint32_t count, uint64_t time_ms, codec_buf *out);
/* txs has capacity cap (<= CODEC_BLOCK_TXS_MAX); spans point into data. */
codec_err codec_events_reply_decode(const uint8_t *data, size_t len, uint64_t *height,
                                    bool *certified, codec_event_tx *txs, uint32_t cap,
                                    uint32_t *count, uint64_t *time_ms, codec_error *err);

/* ---- signed reads (issue 19; docs/FORMATS.md 13.1) ---- */
typedef struct {
    pubkey asker;
    uint64_t time_ms;
    uint32_t kind;   /* the client request kind it is for (BLOCKS, RECEIPT, RECEIPTS) */
    codec_span body; /* that kind's read body, 0..CODEC_READ_BODY_MAX bytes */
    signature sig;
} codec_signed_read;

/* The signed part [asker, time_ms, kind, body] and the whole signed read. */
codec_err codec_signed_read_body_encode(const codec_signed_read *s, codec_buf *out);
codec_err codec_signed_read_encode(const codec_signed_read *s, codec_buf *out);
/* out->body points into data. */
codec_err codec_signed_read_decode(const uint8_t *data, size_t len, codec_signed_read *out,
                                   codec_error *err);

codec_err codec_receipts_request_encode(const hash32 *ids, uint32_t count, codec_buf *out);
/* ids has capacity cap (<= CODEC_RECEIPTS_BATCH_MAX); *count set. */
codec_err codec_receipts_request_decode(const uint8_t *data, size_t len, hash32 *ids,
                                        uint32_t cap, uint32_t *count, codec_error *err);

/* One id's answer in a receipts reply: status 0 with its receipt reply (the receipt file),
 * else NOT_FOUND / DENIED / TOO_LARGE with reply.len 0 (nil). */
typedef struct {
    uint32_t status;
    char reason[CODEC_REASON_MAX + 1];
    codec_span reply;
} codec_receipts_entry;

codec_err codec_receipts_reply_encode(const codec_receipts_entry *entries, uint32_t count,
                                      codec_buf *out);
/* entries has capacity cap (<= CODEC_RECEIPTS_BATCH_MAX); replies point into data. */
codec_err codec_receipts_reply_decode(const uint8_t *data, size_t len,
                                      codec_receipts_entry *entries, uint32_t cap,
                                      uint32_t *count, codec_error *err);

/* ---- the timeline in pages (issue 20: the HTTP API's JSON timeline; FORMATS 13.11) ----
 * timeline page reply = [next_height, head_height, [entry, ...]]
 *   entry = [height, index, time_ms, tx, receipt, names]
 *     height, index: where the tx is; time_ms: its block's time; tx, receipt: bin (the
 *     block's entry and its receipt);
 *     names = [name, ...]: the signer, then each co-signer in order: [authority name: str,
 *     role: uint 1..ROLE_MAX_] for an authority (genesis or governance), nil for any other key
 *   The txs of the trial the asker may see (exec_tx_visible), in commit order, from the
 *   query's height on. A page holds whole blocks: it ends at a block boundary once it
 *   holds CODEC_TIMELINE_PAGE_SOFT entries or CODEC_TIMELINE_PAGE_BYTES bytes, or after
 *   CODEC_TIMELINE_PAGE_BLOCKS blocks (so it may hold none); next_height is where the
 *   next page starts, and the timeline is whole when next_height > head_height. */
#define CODEC_TIMELINE_PAGE_SOFT 256
#define CODEC_TIMELINE_PAGE_MAX (CODEC_TIMELINE_PAGE_SOFT + CODEC_BLOCK_TXS_MAX)
#define CODEC_TIMELINE_PAGE_BYTES (1u << 20)
#define CODEC_TIMELINE_PAGE_BLOCKS 4096

typedef struct {
    bool known;              /* an authority, genesis or governance (else nil: name empty, role 0) */
    uint8_t role;
    codec_name name;
} codec_key_name;

typedef struct {
    uint64_t height, time_ms;
    uint32_t index;
    codec_span tx, receipt;
    uint32_t name_count;     /* 1 + the tx's co-signatures (1 for a pruned tx) */
    codec_key_name names[1 + CODEC_COSIGS_MAX];
} codec_timeline_entry;

typedef struct {
    uint64_t next_height, head_height;
    uint32_t count;
} codec_timeline_page;

codec_err codec_timeline_page_encode(const codec_timeline_page *p,
                                     const codec_timeline_entry *entries, codec_buf *out);
/* entries has capacity cap (<= CODEC_TIMELINE_PAGE_MAX); spans point into data. Checks that
 * entries are in commit order and below next_height, and next_height <= head_height + 1. */
codec_err codec_timeline_page_decode(const uint8_t *data, size_t len, codec_timeline_page *p,
                                     codec_timeline_entry *entries, uint32_t cap,
                                     codec_error *err);

/* ---- HTTP evidence (issue 20: a grant read over HTTP; FORMATS 13.12) ----
 * http query    = [query, http]   query: bin, a GRANT query (13.2) whose sig is 64 zero
 *                 bytes; http: bin, an HTTP evidence. The node verifies the evidence as the
 *                 query's signature: RFC 9421 by the asker's key under this chain's tag,
 *                 created within the skew, its target naming the query's trial, grant and
 *                 cursor (codec_http_grant_target); the read log keeps it (form 2).
 * http evidence = [signature_input, signature, method, target, authority]   str each:
 *                 the Signature-Input and Signature field values as received, the method,
 *                 the request target (path and ?query, as sent) and the Host (or ""): what
 *                 rebuilds the RFC 9421 signature base (httpsig.h) for a verifier. */
#define CODEC_HTTP_FIELD_MAX 1024
#define CODEC_HTTP_TARGET_MAX 256

typedef struct {
    char signature_input[CODEC_HTTP_FIELD_MAX + 1];
    char signature[CODEC_HTTP_FIELD_MAX + 1];
    char method[16];
    char target[CODEC_HTTP_TARGET_MAX + 1];
    char authority[CODEC_HTTP_TARGET_MAX + 1];
} codec_http_evidence;

codec_err codec_http_evidence_encode(const codec_http_evidence *e, codec_buf *out);
codec_err codec_http_evidence_decode(const uint8_t *data, size_t len, codec_http_evidence *out,
                                     codec_error *err);
codec_err codec_http_query_encode(const codec_span *query, const codec_span *http, codec_buf *out);
/* query and http point into data. */
codec_err codec_http_query_decode(const uint8_t *data, size_t len, codec_span *query,
                                  codec_span *http, codec_error *err);
/* True if target (an HTTP request target: path and ?query) asks for one page of a grant's
 * records: exactly "/v1/trials/<trial>/grants/<grant>/records?from=<from>" (decimal, no
 * leading zeros; the trial as its bytes), or without "?from=..." when from is 0. */
bool codec_http_grant_target_matches(const char *target, const uint8_t *trial, size_t trial_len,
                                     uint64_t grant, uint64_t from);

#endif /* TRIALREG_CODEC_H (keep last: new sections go above) */
