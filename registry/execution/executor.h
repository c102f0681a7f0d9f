/*
 * executor.h - runs committed batches through the contracts and appends them to the ledger.
 *
 * For each tx of a committed batch, in order:
 *   1. decode (canonical msgpack, codec.h);
 *   2. the author's signature (tag TX) and every co-signature (tag COSIG), all over this
 *      chain's id, so a signature made for another chain never verifies;
 *   3. roles: authorities (sponsor, investigator@site, regulator, researcher: the genesis's,
 *      as governance changed them, exec_authority_of) and participants enrolled on the
 *      ledger (state key consent/pk/<key>); a signer with no role is refused (NO_ROLE), and
 *      so is an auditor (READ_ONLY: it reads, never writes) and a revoked key (KEY_REVOKED,
 *      or COSIGNER_REVOKED for a co-signer; see "Authorities");
 *   4. the route: the contract (named in the genesis, or a newer version deployed by
 *      governance), the method (an exported function taking exactly the tx's arguments)
 *      and the arguments' kinds (int or bytes, from the ABI table contracts_abi generated
 *      from the contracts' source, for a module that is the built-in one of its name);
 *   5. valid_until and the nonce: the tx is valid only if block time < valid_until <=
 *      block time + valid_for_max_ms (EXEC_E_EXPIRED, EXEC_E_TOO_FAR), and only if its
 *      (signer, nonce) is not in the replay set with a valid_until after the block time
 *      (EXEC_E_NONCE_REPLAY). Nonces need no order (clients pick them at random), so a
 *      nonce never used locks nothing, and two devices with one key never collide;
 *   6. the method runs in consent-vm with the host bound to state: the tx's own writes
 *      (buffered in the vm) over the block's overlay (earlier txs of the block) over the
 *      ledger (the last committed block);
 *   7. a receipt: status, typed error code with a readable reason, gas, events.
 * Steps 1-5 failing give RECEIPT_INVALID and consume nothing. A tx refused at step 3 or 4
 * (codes NO_ROLE, NO_CONTRACT, NO_METHOD, BAD_ARGS) is stored in the block PRUNED
 * (codec.h "pruned tx": its leaf hash, id, signer, nonce, contract, method and argument
 * shape, never its arguments, co-signatures or signature), so that nobody can write free
 * bytes into the ledger; its receipt carries one event, EXEC_PRUNED_TOPIC, whose data is
 * SHA-256 of that entry, so that the result certificate binds what the block keeps; a pruned entry in a block given to exec_block (re-execution,
 * catch-up) is re-checked on its route alone and gives the same receipt, or, if that does
 * not refuse it (a block whose server swapped a tx that runs for a pruned entry of the
 * same leaf), fails the block with EXEC_ERR_WITHHELD. From step 5 on (signer, nonce) is
 * consumed: a refused (contract abort) or trapped tx cannot be replayed either. The replay
 * set is keyed by (signer, nonce), not by tx id, so adding or removing co-signatures (a new
 * tx id, the same signed body) still lets at most one variant execute.
 * After the txs, at most EXEC_REPLAY_PRUNE_MAX entries whose valid_until is not after the
 * block time are deleted, oldest first: the set holds the txs of about the last
 * valid_for_max_ms of block time, however long the chain runs. Deleting late is safe: a
 * replay of an expired entry's tx is expired itself (same valid_until, block times only
 * grow) and step 5 refuses it before it reads the set.
 * The block's ordered writes (replay entries, contract writes, prunes, the block clock)
 * then go to ledger_append in one WriteBatch.
 *
 * State keys written by the executor itself (contracts/ABI.md has the contracts' keys):
 *   sys/replay/<signer:32><nonce:8>                  valid_until:8   (the replay set)
 *   sys/expiry/<valid_until:8><signer:32><nonce:8>   empty           (its expiry index)
 *   sys/clock                  effective block time ms:8 (the time the contracts saw)
 *   sys/contract/<name>        version:8 length:8 chunks:8     (governance deploys)
 *   sys/code/<name>/<i:1>      the i-th chunk (<= 4096 bytes) of that module
 *   sys/auth/<key:32>, sys/authn/<role:1>   authority changes (see "Authorities" below)
 *   sys/valset/at/<B:8>        committing height:8, then the canonical valset in force from B
 *   sys/valset/pending         B:8 of a change not yet in force (deleted by the first block >= B)
 * A contract may write only keys starting with "<its name>/" (checked after the call:
 * a foreign write traps the tx), and emit no event whose topic starts with "governance."
 * (those are the executor's own, which verifiers follow: BAD_EVENTS). Contracts read the
 * genesis through virtual read-only keys: "genesis/auth/<key:32>" = role:1 site (absent if
 * the key is no authority; role 0 and no site if it was revoked), "genesis/successor/<key:32>"
 * = the key:32 a rotation replaced it with (absent if none), "genesis/validator/<key:32>" =
 * 1:1 (a key of the validator set in force at the block's height, or of a change not in
 * force yet: committed with its boundary ahead, or earlier in this block), "genesis/anchor_window" =
 * anchor_window_ms:8 and "genesis/rebind_delay" = rebind_delay_ms:8.
 *
 * Block gas: the contract calls of one block use at most exec_options.block_gas_limit
 * gas together (EXEC_BLOCK_GAS_DEFAULT). Each call runs with min(tx gas limit, the block's
 * gas left) and the gas it used is taken from the block's. A call the block's remaining
 * gas cannot cover is refused with EXEC_E_BLOCK_GAS ("block gas limit reached"), status
 * INVALID, nonce NOT consumed (the signer may submit it again, in a later block): the
 * call that runs dry on the block's limit (its receipt keeps the gas it used, which the
 * block spent) and every later call of the block (gas 0; they do not run). Governance
 * deploys run no contract and use no gas. Deterministic: gas depends only on the txs and
 * state, so every replica refuses the same txs.
 *
 * Block time: the contracts see max(batch time, previous effective time + 1 ms), the
 * previous one of block 1 being the genesis's created_ms, so block times are strictly
 * increasing and after the genesis whatever the proposer did (docs/FORMATS.md 5.2).
 *
 * Governance: a tx to contract "governance", method "deploy", args (name, version,
 * chunk...), whose keys meet the genesis's deploy requirement (genesis.governance, kind 3:
 * for each listed role, the signer and the co-signers with meaning approval hold at least
 * count keys of it; the default, sponsor 1 + regulator 1, is version 1's hard-coded rule),
 * deploys a new version (> the current one) of a contract; the module must verify. The
 * names "sys", "genesis" and "governance" are reserved (a contract named "sys" could write
 * the executor's own state: sys/auth/, sys/valset/, sys/replay/).
 *
 * Authorities (issue 23 item 1): a tx to contract "governance", method "authority", args
 * (action:int, role:int, site:bytes, name:bytes, key:bytes32, new_key:bytes) adds (action
 * 1), revokes (2) or rotates (3: key -> new_key, 32 bytes; empty otherwise) the key of a
 * sponsor (1), investigator (2: site required, the site's code), regulator (3) or
 * researcher (4). Signers: the genesis's requirement of kind 1 (GOVERNANCE_AUTHORITIES),
 * counted as for deploys (signer and approval co-signatures); a change whose target is a
 * regulator needs kind 5 (GOVERNANCE_REGULATORS) instead, in which the target's own key
 * never counts. The key added (add) or rotated in (rotate) must co-sign the tx (any
 * meaning: proof of possession). Refused (INVALID, codes 21-25, a reason naming what is
 * wrong, nothing applied, the nonce not consumed): a missing signer or co-signature
 * (AUTH_SIGNERS); a bad action, role, site or name (AUTH_BAD_CHANGE: site and name are
 * 1..32 printable ASCII bytes without spaces on add; on revoke and rotate empty, meaning
 * "as recorded", or equal to the record); adding or rotating to a key that is or was an
 * authority, is a participant or a validator, or is all zero (AUTH_KEY_TAKEN); revoking or
 * rotating a key that is not an active authority of that role (AUTH_UNKNOWN_KEY); a
 * revoke that would leave no regulator, or fewer keys of a role than a governance
 * requirement names (AUTH_TOO_FEW). An applied change writes sys/auth/<key> (below) and
 * takes effect AT its height: a later tx of the same block already sees it. Its receipt
 * carries one event CODEC_AUTHORITY_EVENT_TOPIC per key changed (codec.h; a rotation:
 * revoked then added). A revoked key's later txs are refused: as signer KEY_REVOKED
 * ("key <hex> revoked at height H"; the tx is kept pruned like NO_ROLE), as co-signer
 * COSIGNER_REVOKED (the tx is kept whole); what it signed before stays valid. A key is never used twice: a revoked key
 * cannot be added again or enrolled as a participant ("genesis/auth/<key>" reads role 0).
 * Every role lookup (signers, co-signers, "genesis/auth/", the read checks of
 * exec_query.c, names in the timeline) goes through exec_authority_of.
 *   sys/auth/<key:32>   state:1 (1 active, 2 revoked) role:1 height:8 site_len:1 site
 *                       name_len:1 name [successor:32, a key rotated out]  (overrides the
 *                       genesis for that key; height: the change that wrote it)
 *   sys/authn/<role:1>  count:8, the active authorities of that role (absent: the
 *                       genesis's count)
 *
 * Rules: every limit the executor applies comes from exec_rules_at(height), the rules in
 * force at that height: today the genesis's (no rule-change tx exists yet; when one does,
 * exec_rules_at is the one place that learns it). exec_open fills each zero exec_options
 * field from them, and sizes the VM (cvm_limits) from their vm_* fields.
 *
 * Ownership: the executor borrows the ledger (the caller keeps it open longer than the
 * executor). Receipts returned by exec_last_receipts stay valid until the next
 * exec_block. Not thread safe: one executor per ledger, driven by one thread.
 */
#ifndef TRIALREG_EXECUTOR_H
#define TRIALREG_EXECUTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "codec.h"
#include "consortium.h"
#include "crypto.h"
#include "ledger.h"

/* Tx-level refusal codes (receipt error_code when status is INVALID or TRAPPED). Contract
 * refusals (status REFUSED) use the codes of contracts/errors.h (101 and up). */
#define EXEC_TX_ERRORS(X)                                                                    \
    X(DECODE, 1, "tx is not canonical msgpack")                                              \
    X(SIGNATURE, 2, "the author's signature does not verify on this chain")                  \
    X(COSIGNATURE, 3, "a co-signature does not verify on this chain")                        \
    X(NO_ROLE, 4, "the signer holds no role (not an authority, not an enrolled participant)") \
    X(NO_CONTRACT, 5, "no contract of that name")                                            \
    X(NO_METHOD, 6, "the contract has no exported method of that name")                      \
    X(BAD_ARGS, 7, "wrong number or kind of arguments for the method")                               \
    X(NONCE_REPLAY, 8, "nonce already used by this signer (replay)")                         \
    X(EXPIRED, 9, "valid_until is not after the block time (expired)")                      \
    X(TRAP, 10, "the contract trapped")                                                      \
    X(OUT_OF_GAS, 11, "the contract ran out of gas")                                         \
    X(FOREIGN_WRITE, 12, "the contract wrote outside its own key prefix")                    \
    X(BAD_EVENTS, 13, "the contract emitted too many or malformed events, or a governance.* topic") \
    X(GOVERNANCE, 14, "deploy needs the keys the genesis's deploy requirement names, a higher version, an unreserved name and a module that verifies") \
    /* 15 is kept reserved: codec_tx_decode refuses such txs first (EXEC_E_DECODE) */ \
    X(DUP_COSIGNER, 15, "a key co-signs twice or co-signs its own tx")                      \
    X(READ_ONLY, 16, "the signer is an auditor: an auditor reads, it signs no tx")          \
    X(TOO_FAR, 17, "valid_until is too far ahead of the block time (more than valid_for_max_ms)")          \
    X(BLOCK_GAS, 18, "block gas limit reached")                                              \
    X(KEY_REVOKED, 19, "key revoked")                                                        \
    X(COSIGNER_REVOKED, 20, "a co-signer's key was revoked")                                 \
    X(AUTH_SIGNERS, 21, "authority change: a required key did not sign")                     \
    X(AUTH_BAD_CHANGE, 22, "authority change malformed")                                     \
    X(AUTH_KEY_TAKEN, 23, "authority change: the key is already used")                       \
    X(AUTH_UNKNOWN_KEY, 24, "authority change: no such authority")                           \
    X(AUTH_TOO_FEW, 25, "authority change: too few keys of the role would be left")                                         \
    /* 26..29 are kept for later governance txs */                                           \
    X(VALSET_RULE, 30, "the new validator set breaks a change rule")                         \
    X(VALSET_APPROVAL, 31, "a validator-set change needs the genesis's kind-2 keys and the approval of 2f+1 current validators") \
    X(VALSET_PENDING, 32, "a validator-set change is pending (its boundary is not reached)") \
    X(VALSET_KEY_IN_USE, 33, "a new validator key is already used by an authority or a participant") \
    X(VALSET_POSSESSION, 34, "a new validator key did not co-sign the change (proof of possession)")

typedef enum {
#define EXEC_X_ENUM(name, code, reason) EXEC_E_##name = code,
    EXEC_TX_ERRORS(EXEC_X_ENUM)
#undef EXEC_X_ENUM
} exec_tx_error;

/* The one event of a pruned tx's receipt: data = SHA-256 of the pruned entry the block
 * keeps (codec.h "pruned tx"; FORMATS.md 5.10). */
#define EXEC_PRUNED_TOPIC "tx.pruned"

/* Readable reason of a receipt error code (tx-level or contract); never NULL. */
const char *exec_reason(uint8_t status, uint32_t code);

typedef enum {
    EXEC_OK = 0,
    EXEC_ERR_LEDGER,   /* the store failed or refused the block (message says why) */
    EXEC_ERR_CONTRACT, /* a genesis or deployed contract does not load */
    EXEC_ERR_INVALID,  /* bad arguments (too many txs, ...) */
    EXEC_ERR_NOMEM,
    EXEC_ERR_WITHHELD, /* a pruned tx of the block does not reproduce its refusal: whoever
                        * served the block withheld a tx that runs (tx_index says which) */
} exec_err;

typedef struct {
    exec_err code;
    char message[256];
    uint32_t tx_index; /* EXEC_ERR_WITHHELD: the index of that pruned tx */
} exec_error;

/* Every zero field is filled by exec_open from the rules in force (exec_rules_at). */
typedef struct {
    bool verify_signatures; /* false only for benchmarks: skips steps 2 (signatures) */
    uint64_t gas_limit;     /* per tx; 0 = the rules' tx_gas_limit */
    uint64_t block_gas_limit; /* per block; 0 = the rules' block_gas_limit */
    uint32_t gas_schedule;    /* 0 = the rules' gas_schedule (1, the only schedule) */
    uint64_t valid_for_max_ms; /* 0 = the rules' valid_for_max_ms */
} exec_options;

#define EXEC_GAS_DEFAULT 1000000u /* the tx_gas_limit of codec_rules_default */
/* The block_gas_limit of codec_rules_default (see "Block gas" above). Chosen from
 * `trialctl bench vm --worst` (docs/BENCHMARKS.md): the worst op measured 2.3 ns/gas on a
 * loaded machine, so a block of it at 2.5 x 10^8 gas takes about 0.55 s, under the 1 s
 * bound; with the tx limit of 10^6 a batch holds up to 250 txs at their limit. */
#define EXEC_BLOCK_GAS_DEFAULT 250000000u
#define EXEC_REPLAY_PRUNE_MAX CODEC_BLOCK_TXS_MAX /* expired replay entries deleted per block */
#define EXEC_DEPLOY_CHUNKS_MAX 14

typedef struct exec exec;

/* ---- validator-set changes (issue 23; consortium.h has the rules) ----------------------
 * governance.validators, one argument: the WHOLE new set, canonical msgpack [[name, key]...]
 * (codec.h "validator sets"). Admitted (else INVALID, nothing consumed, a reason naming
 * what is wrong) when, in this order:
 *   - it decodes and follows the set in force under consortium_valset_check (VALSET_RULE),
 *     and its event fits CODEC_EVENT_DATA_MAX;
 *   - no change is pending: the last one's boundary is <= this height (VALSET_PENDING);
 *   - no new key is an authority's or a participant's (VALSET_KEY_IN_USE);
 *   - the signer and the approval co-signers meet the genesis's kind-2 requirement, AND at
 *     least 2f+1 validators of the set in force co-sign with meaning approval
 *     (VALSET_APPROVAL): two authority keys can never replace the validators;
 *   - every new key co-signs the tx, any meaning (VALSET_POSSESSION).
 * Applied at height h: B = consortium_boundary(h); state sys/valset/pending = B:8 and
 * sys/valset/at/<B:8> = h:8 then the set's canonical bytes; one receipt event
 * "governance.validators", data [B, set]. The first block with height >= B deletes
 * sys/valset/pending (the change is then in force; its sys/valset/at/ entry stays: the
 * history of every set). Runs no contract and uses no gas. */

/* The validator set in force at height (borrowed; valid until the next block): its count,
 * validators in *out. For a height at or beyond a pending change's boundary: the new set. */
uint32_t exec_validators_at(exec *e, uint64_t height, const codec_validator **out);
/* The latest validator-set change the ledger holds: false if none; else its committing
 * height, its boundary and the set (borrowed, as above). The node calls this after each
 * executed block (and after a restart) to tell PBFT of a change. */
bool exec_valset_last_change(exec *e, uint64_t *height, uint64_t *boundary,
                             const codec_valset **set);
/* The executor's consortium history (validator sets from its state; borrowed). */
consortium_history *exec_history(exec *e);

/* The rules in force at height (borrowed from the genesis; valid while the executor is). */
const codec_rules *exec_rules_at(const exec *e, uint64_t height);

/* Opens an executor over l (borrowed). opt NULL: verify signatures, default gas. Loads the
 * genesis contracts and any deployed versions. */
exec_err exec_open(ledger *l, const exec_options *opt, exec **out, exec_error *err);
void exec_close(exec *e);

/*
 * Executes the committed batch (txs are canonical encoded txs, batch->tx_count of them,
 * matching batch->tx_root) and appends the block with commit_cert to the ledger. *out gets
 * the checkpoint summary (height, block hash, state hash, receipts root). On error nothing
 * is appended; the executor must then be closed and reopened (deployed modules may be stale),
 * except after EXEC_ERR_WITHHELD, after which it has reloaded its contracts and goes on.
 */
exec_err exec_block(exec *e, const codec_batch_header *batch, const codec_span *txs,
                    const codec_span *commit_cert, ledger_summary *out, exec_error *err);

/* The same, for a host that already checked signatures (the node verifies each tx once,
 * when it arrives, on its worker pool): verified[i] true means tx i's author signature and
 * co-signatures were checked with codec_tx_verify_signatures on this chain and hold, so
 * step 2 is skipped for it. verified NULL = check every tx. */
exec_err exec_block_preverified(exec *e, const codec_batch_header *batch, const codec_span *txs,
                                const bool *verified, const codec_span *commit_cert,
                                ledger_summary *out, exec_error *err);
/* Counters for benchmarks: blocks and txs appended, and the wall time spent executing
 * (decode, checks, contracts, receipts, writes) and inside ledger_append (storage,
 * hashing the log, the synchronous write). Never part of any state. */
typedef struct {
    uint64_t blocks;
    uint64_t txs;
    uint64_t execute_ns;
    uint64_t append_ns;
} exec_stats;
void exec_stats_get(const exec *e, exec_stats *out);

/* The ledger the executor was opened on (borrowed). */
ledger *exec_ledger(exec *e);

/* Encoded receipts of the last executed block (valid until the next exec_block). */
uint32_t exec_last_receipt_count(const exec *e);
const codec_span *exec_last_receipts(const exec *e);

/* ---- admission (issue 14 C): the same checks as steps 3-4, before a block -----------
 * exec_check_admissible: against the last committed state, what the node a client
 * submits to refuses: 0, or EXEC_E_NO_ROLE (the signer is no genesis authority and no
 * enrolled participant), NO_CONTRACT, NO_METHOD, BAD_ARGS. Reads state: callers serialize
 * with exec_block (capi's lock).
 * exec_check_route: what is invalid in every state a PRE-PREPARE may be executed in
 * (several heights are in flight, so the signer's role is not checked): the route
 * (step 4) against the contracts loaded, except that any route to a contract named by a
 * deploy noted with exec_note_deploy is accepted (the deploy may land first). Reads only
 * the loaded contracts and the noted names: call it from the thread that runs exec_block.
 * exec_note_deploy: remember that a governance deploy of contract `name` is on its way. */
uint32_t exec_check_admissible(exec *e, const codec_tx *tx);
/* exec_check_submit: what the node refuses at submit about time and replays, against its
 * clock now_ms (the executor reads none): 0, EXEC_E_EXPIRED (valid_until <= now_ms),
 * EXEC_E_TOO_FAR (valid_until > now_ms + valid_for_max_ms + the genesis clock skew), or
 * EXEC_E_NONCE_REPLAY ((signer, nonce) committed with a valid_until after now_ms). Reads
 * state: callers serialize with exec_block. */
uint32_t exec_check_submit(exec *e, const codec_tx *tx, uint64_t now_ms);
uint32_t exec_check_route(const exec *e, const codec_tx *tx);
void exec_note_deploy(exec *e, const char *name);

/* ---- local mode (no consensus): examples, tests, benchmarks ---------------------------
 * Commits txs as the next block at time_ms with a commit certificate and a result
 * certificate signed locally by the first 2f+1 of `validators` (the genesis validators'
 * secret keys, e.g. sample_keys). This stands in for PBFT on one machine; everything it
 * writes audits like a consortium's ledger. */
exec_err exec_commit_local(exec *e, const keypair *validators, uint32_t validator_count,
                           uint64_t time_ms, const codec_span *txs, uint32_t tx_count,
                           ledger_summary *out, exec_error *err);
/* The two halves of exec_commit_local, for tests of what a reader sees between a commit and
 * its result certificate (a consortium stores it a moment later): commit the block with its
 * commit certificate only; then store the result certificate of that block (its summary). */
exec_err exec_commit_local_uncertified(exec *e, const keypair *validators,
                                       uint32_t validator_count, uint64_t time_ms,
                                       const codec_span *txs, uint32_t tx_count,
                                       ledger_summary *out, exec_error *err);
exec_err exec_certify_local(exec *e, const keypair *validators, uint32_t validator_count,
                            const ledger_summary *block, exec_error *err);

/* ---- queries (no consensus: state at the last committed block) --------------------- */

typedef struct {
    uint64_t version;        /* current (latest) protocol version */
    uint64_t approved;       /* highest approved version, 0 if none */
    uint64_t floor_version;  /* consent under an older version does not cover new data */
    uint64_t floor_time_ms;  /* ... collected from this time on */
    uint64_t planned;        /* planned enrolment */
    uint64_t registered_ms;
    pubkey sponsor;
} exec_trial;

typedef struct {
    hash32 doc;
    bool reconsent_required;
    uint64_t approved_ms;    /* 0 if not approved */
    uint64_t created_ms;
    uint32_t primary_count;
    uint32_t secondary_count;
} exec_protocol_version;

/* Consent history entry kinds (contracts/ABI.md "consent/h/"). */
enum {
    EXEC_CONSENT_GRANT = 1,
    EXEC_CONSENT_WITHDRAWAL = 2,
    EXEC_CONSENT_SITE_WITHDRAWAL = 3, /* withdrawn by site on the participant's documented request */
    EXEC_CONSENT_REBOUND_FROM = 4,    /* the key took over another key's consent (re-binding) */
    EXEC_CONSENT_REBOUND_AWAY = 5,    /* the consent moved to another key (re-binding) */
};
#define EXEC_CONSENT_FLAG_REBOUND 1u /* flags: the key took over another key by re-binding */

typedef struct {
    uint8_t kind;            /* EXEC_CONSENT_* */
    uint64_t time_ms;
    uint64_t scopes;         /* scopes in force after this entry */
    uint64_t version;        /* protocol version of the consent */
    hash32 form;             /* consent-form hash; the request's hash for kinds 3 and 4;
                              * zero for a withdrawal and kind 5 */
    pubkey witness;          /* co-signing investigator; the recording investigator (3), the
                              * old key (4), the new key (5); zero for a withdrawal */
    uint8_t meaning;         /* the witness signature's meaning (0 for kinds 2-5) */
    uint8_t flags;           /* EXEC_CONSENT_FLAG_REBOUND, else 0 */
    pubkey other;            /* the approving regulator (3), the old key (flag set); else zero */
} exec_consent_entry;

/* Scope bits (contracts/ABI.md). */
enum {
    SCOPE_MAIN = 1,
    SCOPE_FOLLOW_UP = 2,
    SCOPE_FUTURE_RESEARCH = 4,
    SCOPE_GENETIC = 8,
    SCOPE_DATA_SHARING = 16,
};

/* LEDGER_ERR_NOT_FOUND when absent. trial is the id (1..32 bytes). */
ledger_err exec_query_trial(exec *e, const uint8_t *trial, size_t trial_len, exec_trial *out);
ledger_err exec_query_protocol_version(exec *e, const uint8_t *trial, size_t trial_len,
                                       uint64_t version, exec_protocol_version *out);
/* One page of a participant's history, oldest first: entries from, from+1, ... (at most
 * cap) into out, *count of them; *total = entries in the whole history. NOT_FOUND if the
 * participant never consented in the trial, or from > *total. */
ledger_err exec_query_consent_page(exec *e, const uint8_t *trial, size_t trial_len,
                                   const pubkey *participant, uint64_t from,
                                   exec_consent_entry *out, uint32_t cap, uint32_t *count,
                                   uint64_t *total);
/* The history from its first entry: *count = entries in the WHOLE history, of which at most
 * cap are copied (the caller sees *count > cap when it holds only the first cap). */
ledger_err exec_query_consent_history(exec *e, const uint8_t *trial, size_t trial_len,
                                      const pubkey *participant, exec_consent_entry *out,
                                      uint32_t cap, uint32_t *count);
/* Scopes (and version) in force at time t_ms; 0 scopes if none. NOT_FOUND if the
 * participant never consented in the trial. */
ledger_err exec_query_consent_at(exec *e, const uint8_t *trial, size_t trial_len,
                                 const pubkey *participant, uint64_t t_ms, uint64_t *scopes,
                                 uint64_t *version);
/* Who may read what (docs/ARCHITECTURE.md 3.8 "Reads"); the node checks the query's signature (tag
 * TCRYPTO_TAG_QUERY, with a time) and then asks this. Rules:
 *   TRIAL:    the trial's sponsor, any regulator, an investigator of a site listed in the
 *             trial;
 *   TIMELINE: the same, and a participant enrolled in the trial; what each sees of it is
 *             filtered by exec_tx_visible (issue 19 item 4);
 *   CONSENT (of participant): the participant itself (while enrolled), an investigator of the participant's
 *             enrolling site, the trial's sponsor, any regulator;
 *   GRANT:    a researcher (the node then answers only the researcher the grant was made
 *             to: exec_grant_page's info.researcher);
 *   READ_LOG: a regulator.
 * Researchers read nothing else: what they may see is what an access grant names. */
typedef enum {
    EXEC_READ_TRIAL = 1,
    EXEC_READ_TIMELINE = 2,
    EXEC_READ_CONSENT = 3,
    EXEC_READ_GRANT = 4,
    EXEC_READ_READ_LOG = 5,
} exec_read_kind;
bool exec_read_allowed(exec *e, const pubkey *asker, exec_read_kind kind, const uint8_t *trial,
                       size_t trial_len, const pubkey *participant);

/* ---- what a reader sees of a trial's events (issue 19 items 4 and 5) -------------------
 * Protocol-level txs (contracts "protocol" and "outcomes": registration, amendments and
 * their flags, approvals, site activations, outcome reports and switch flags, signed and
 * co-signed by genesis authorities only) concern no participant. Participant-level txs
 * concern one participant: consent.enrol, data.anchor, consent.site_withdraw,
 * consent.rebind_request and consent.rebind_complete (argument 2), consent.grant,
 * consent.withdraw and consent.rebind_veto (the signer), and a protocol or outcomes tx some
 * other key signed or co-signed (refused: that key). Every other tx of a trial
 * (access.request, ...) is neither. "Enrolled" is consent/pk/<key> naming the trial now: a
 * key whose pseudonym was re-bound to another key (issue 23 item 2) is no participant any
 * more. The viewer of a key in a trial:
 *   ALL          the trial's sponsor and any regulator (and a local reader): everything;
 *   SITE         an investigator of a site listed in the trial: protocol-level txs, and
 *                participant-level txs of a participant enrolled at its site or signed or
 *                co-signed by an investigator of its site;
 *   PARTICIPANT  a participant enrolled in the trial: protocol-level txs, and its own
 *                (participant-level txs about it or signed by it, and the re-binding
 *                request and completion naming it as the new key, argument 3);
 *   PUBLIC       anyone, with no key: protocol-level txs that committed OK;
 *   NONE         anyone else: nothing.
 * exec_tx_visible is the one filter every read that returns participant-level events
 * uses (the timeline today; the HTTP events stream and FHIR will call it). */
typedef enum {
    EXEC_VIEW_NONE = 0,
    EXEC_VIEW_ALL,
    EXEC_VIEW_SITE,
    EXEC_VIEW_PARTICIPANT,
    EXEC_VIEW_PUBLIC,
} exec_view_kind;

typedef struct {
    exec_view_kind kind;
    pubkey key;                       /* PARTICIPANT: its key */
    char site[CODEC_NAME_MAX + 1];    /* SITE: its site */
} exec_viewer;

/* The viewer of asker in trial (asker NULL: PUBLIC). */
void exec_viewer_of(exec *e, const pubkey *asker, const uint8_t *trial, size_t trial_len,
                    exec_viewer *out);
/* True if v may see tx (of trial, with receipt r) and its events. */
bool exec_tx_visible(exec *e, const exec_viewer *v, const uint8_t *trial, size_t trial_len,
                     const codec_tx *tx, const codec_receipt *r);
/* governance.authority txs (of no trial) are consortium facts without personal data: the
 * timeline of every trial shows them, in commit order among the trial's txs, to every
 * viewer with a role in the trial (ALL, SITE, PARTICIPANT) when they committed OK, and to
 * ALL refused ones too; PUBLIC and NONE never (exec_tx_visible). */
bool exec_tx_authority_change(const codec_tx *tx);
/* True for a protocol-level tx (see above). */
bool exec_tx_protocol_level(exec *e, const codec_tx *tx);

/* ---- authorities (issue 23 item 1): the one role lookup ------------------------------ */
typedef enum {
    EXEC_AUTH_NONE = 0,    /* no authority (maybe a participant: not looked at here) */
    EXEC_AUTH_ACTIVE = 1,  /* an authority now: of the genesis, or added by governance */
    EXEC_AUTH_REVOKED = 2, /* was an authority; revoked (or rotated out) at height */
} exec_auth_state;

typedef struct {
    exec_auth_state state;
    uint8_t role;      /* ROLE_* (ACTIVE and REVOKED) */
    codec_name site;   /* investigators: the site */
    codec_name name;
    uint64_t height;   /* ACTIVE: the height that added it (0: the genesis); REVOKED: the
                        * height that revoked it */
    bool rotated;      /* REVOKED by a rotation: successor is the key that replaced it */
    pubkey successor;
} exec_authority;

/* The key a rotation (or a chain of them, at most EXEC_SUCCESSION_MAX) made of key, in
 * force now: true and *out, or false if key was never rotated or its last successor is
 * revoked. A trial's sponsor key rotated stays the trial's sponsor through it (the
 * protocol and outcomes contracts follow "genesis/successor/<key>" the same way). */
#define EXEC_SUCCESSION_MAX 8
bool exec_successor_of(exec *e, const pubkey *key, pubkey *out);

/* What key is as an authority at the state the executor sees (inside a block: the block so
 * far; else the last committed block): sys/auth/<key> if present, else the genesis.
 * Returns the state (out filled), or -1 if the store failed. */
int exec_authority_of(exec *e, const pubkey *key, exec_authority *out);

/* True if key has standing in this chain: an active authority (exec_authority_of), or a
 * participant enrolled in some trial now (state consent/pk/<key>: one read; a key re-bound
 * away holds none). The HTTP API serves its event stream to such keys only, so that a key made up
 * for the purpose cannot hold the server's connections or its replay cache. */
bool exec_key_known(exec *e, const pubkey *key);

/* Signed reads of the ledger itself (issue 19; the node checks the signature, tag
 * TCRYPTO_TAG_READ, and its time first). Blocks and exports: a validator of the set in
 * force at the next height or of a pending change's set (a validator removed at a boundary
 * reads no more from it), any regulator, the genesis' auditor role. */
bool exec_ledger_read_allowed(exec *e, const pubkey *asker);
/* The receipt of the tx kept as `entry` in its block (a whole tx, or a pruned one, codec.h):
 * its signer and co-signers; the sponsor of its trial (the tx's first argument, where that
 * names a trial); an investigator of the site that enrolled its participant (the signer, or
 * a 32-byte second argument: the participant of consent and data txs); any regulator; the
 * auditor role; and whoever may read blocks (exec_ledger_read_allowed: an export holds every
 * receipt). A pruned tx keeps no arguments and no co-signatures: only its signer, the
 * regulators, the auditor and the validators read its receipt. A revoked authority's key and
 * a participant key re-bound away (consent/x/) read none, not even of the txs they signed. */
bool exec_receipt_read_allowed(exec *e, const pubkey *asker, const codec_span *entry);

/* The trial's timeline in commit order: every tx whose first argument is the trial id, and
 * every authority change (exec_tx_authority_change; its events in words),
 * with its signer, status, reason and events, one line each (text, deterministic).
 * exec_timeline_write shows every tx; exec_timeline_write_as only those viewer may see. */
ledger_err exec_timeline_write(exec *e, const uint8_t *trial, size_t trial_len, FILE *out);
ledger_err exec_timeline_write_as(exec *e, const uint8_t *trial, size_t trial_len,
                                  const exec_viewer *viewer, FILE *out);
/* The same txs, structured and in pages: visit(ctx, e, b, index, tx, receipt) for each tx
 * of trial that viewer may see (exec_tx_visible), in commit order, from block from_height
 * (0 reads as 1), over at most blocks_max blocks. visit returns false to stop; a stop inside
 * a block gives back that block, so *next_height (where the next page starts) is the block
 * being visited when visit stopped, else the block after the last one scanned (head + 1
 * when the scan reached the head). The trial need not exist (no tx is visited). */
typedef bool (*exec_timeline_visit_fn)(void *ctx, exec *e, const codec_block *b, uint32_t index,
                                       const codec_tx *tx, const codec_receipt *r);
ledger_err exec_timeline_scan(exec *e, const uint8_t *trial, size_t trial_len,
                              const exec_viewer *viewer, uint64_t from_height,
                              uint64_t blocks_max, exec_timeline_visit_fn visit, void *ctx,
                              uint64_t *next_height);

/* The protocol-level txs of block b (decoded by the caller) that committed OK (the public
 * history, item 5), in block order: tx ids, index in the block and the trial (first
 * argument) of each, at most cap (CODEC_BLOCK_TXS_MAX is always enough). CORRUPT if a
 * receipt does not decode. */
typedef struct {
    hash32 tx_id;
    uint32_t index;
    uint8_t trial_len;
    uint8_t trial[32];
    char method[2 * CODEC_NAME_MAX + 2]; /* "contract.method" */
} exec_public_tx;
ledger_err exec_public_txs(exec *e, const codec_block *b, exec_public_tx *out, uint32_t cap,
                           uint32_t *count);

/* ---- reads through an access grant (issue 19 item 3) -----------------------------------
 * One page of grant `grant` of trial: the records at list positions from .. from+cap-1,
 * each re-checked against the participant's consent NOW (the last committed block): its
 * current scopes must hold the grant's scope (else removed, CODEC_GRANT_WITHDRAWN) and no
 * re-consent version above the version of that consent may be approved (else removed,
 * CODEC_GRANT_RECONSENT). NOT_FOUND if there is no such grant or from > its count. */
typedef struct {
    pubkey researcher;
    uint64_t scope, time_ms, count;
    hash32 list_hash;
} exec_grant_info;

typedef struct {
    hash32 anchor;
    pubkey participant;
    uint64_t scope, collected_at, size;
    uint8_t removed;                  /* 0 served, else CODEC_GRANT_WITHDRAWN / _RECONSENT */
} exec_grant_item;

ledger_err exec_grant_info_get(exec *e, const uint8_t *trial, size_t trial_len, uint64_t grant,
                               exec_grant_info *out);
ledger_err exec_grant_page(exec *e, const uint8_t *trial, size_t trial_len, uint64_t grant,
                           uint64_t from, exec_grant_info *info, exec_grant_item *items,
                           uint32_t cap, uint32_t *count);
/* Enrolled participants of trial (state consent/n/), 0 if none. */
uint64_t exec_enrolled(exec *e, const uint8_t *trial, size_t trial_len);

#endif
