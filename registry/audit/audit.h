/*
 * audit.h - offline verification of a whole ledger with the genesis alone.
 *
 * For every block, in height order, the audit checks:
 *   - the record decodes canonically; heights follow 1, 2, ...; block times
 *     strictly increase;
 *   - the previous block hash links; the tx root and count match the txs;
 *     the ledger-wide log (recomputed leaf by leaf) has the header's size
 *     and root;
 *   - one receipt per tx, each naming its tx id; the receipts root;
 *   - the state hash chain recomputed from the block's writes;
 *   - the commit certificate: this height, the batch hash, >= 2f+1 distinct
 *     validators of the set in force at this height (the genesis's until a
 *     governance.validators change's boundary: consortium.h; the OK governance
 *     receipts of every block are followed), every signature valid;
 *   - the result certificate: this height, block hash, state hash and
 *     receipts root, >= 2f+1 valid validator signatures. Only a tail of
 *     blocks may lack one (the newest blocks of a stopped node);
 *   - every tx's author signature and every co-signature.
 * Signatures are verified on `threads` worker threads while the main thread
 * parses the next blocks. The failure reported is the one at the lowest
 * height; within a height, the lowest tx, and a failure naming a tx before
 * one about the whole block (a tampered tx also breaks the tx root); at one
 * tx, a failed check (its signature, say) before a re-execution difference
 * (the replay runs a tx as if its signatures held).
 */
#ifndef TRIALREG_AUDIT_H
#define TRIALREG_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "codec.h"
#include "ledger.h"

/* Yields blocks in height order. Returns 1 with spans valid until the next
 * call (result_cert->len == 0 when there is none), 0 at the end, -1 on an
 * error described in why. */
typedef int (*audit_next_fn)(void *ctx, codec_span *block, codec_span *result_cert,
                             char *why, size_t why_cap);

typedef struct {
    audit_next_fn next;
    void *ctx;
    /* A stored ledger's source (audit_ledger_source) names its store: with reexecute, its
     * state rows, which a node answers queries from, are compared with the replay's once
     * every block matched. NULL for an export (it has no state rows). */
    ledger *store;
} audit_source;

typedef struct {
    uint64_t blocks;
    uint64_t txs;
    uint64_t signatures;        /* signatures verified */
    uint64_t uncertified_from;  /* first height without a result cert, 0 if none */
    uint64_t reexecuted;        /* blocks re-executed and found the same (opt->reexecute) */
    ledger_summary head;        /* recomputed head (block hash, state hash, log) */
} audit_summary;

typedef struct {
    uint64_t height;   /* 0: not about a block */
    int64_t tx_index;  /* -1: not about one tx */
    char reason[256];
} audit_failure;

/*
 * Audit every block src yields against the genesis. threads = 0 means one per
 * online core. Returns true if the whole ledger verifies; otherwise fills
 * *failure with the first failure (lowest height). *summary is filled either
 * way with what was read.
 */
bool audit_run(const uint8_t *genesis, size_t genesis_len, const audit_source *src,
               unsigned threads, audit_summary *summary, audit_failure *failure);

/* What an audit has done so far, for a progress display. */
typedef struct {
    uint64_t blocks;               /* blocks read and checked (signatures may be pending) */
    uint64_t txs;
    uint64_t signatures_queued;
    uint64_t signatures_verified;
} audit_progress;

typedef void (*audit_progress_fn)(void *ctx, const audit_progress *p);

typedef struct {
    unsigned threads;            /* signature workers; 0 = one per online core */
    /* Re-execute every block from the genesis alone (an empty state, the genesis's
     * contracts and rules) and compare each receipt, the writes and the state hash with
     * the ledger's (replay.c). scratch_dir: an absent or empty directory for the replayed
     * ledger (required with reexecute; anything else in it is refused; the caller removes
     * it). */
    bool reexecute;
    const char *scratch_dir;
    audit_progress_fn progress;  /* called on the auditing thread after each block; NULL */
    void *progress_ctx;
} audit_options;

bool audit_run_with(const uint8_t *genesis, size_t genesis_len, const audit_source *src,
                    const audit_options *opt, audit_summary *summary, audit_failure *failure);

/* Write the whole ledger (every block and result certificate) to f in the
 * export file format. Returns 0, or -1 with a message in why. */
int audit_export(ledger *l, FILE *f, char *why, size_t why_cap);
/* The same for heights 1..last only (last <= the head; an export of a ledger's
 * certified blocks: last = audit_certified_height). */
int audit_export_heights(ledger *l, FILE *f, uint64_t last, char *why, size_t why_cap);
/* The last height H such that every block 1..H has a result certificate (0 if block 1
 * has none): the blocks after H are the ledger's uncertified tail. */
uint64_t audit_certified_height(ledger *l);

/* Sources. Each open function returns 0, or -1 with a message in why. */
typedef struct audit_file audit_file;
/* An export file (codec.h "ledger export file"), memory-mapped. The header's
 * chain id must match the genesis given to audit_run (checked there via
 * audit_file_chain_id). */
int audit_file_open(const char *path, audit_file **out, char *why, size_t why_cap);
void audit_file_source(audit_file *f, audit_source *out);
const hash32 *audit_file_chain_id(const audit_file *f);
uint64_t audit_file_block_count(const audit_file *f);
void audit_file_close(audit_file *f);

/* A stored ledger (the handle stays owned by the caller). */
typedef struct {
    ledger *store;
    uint64_t next_height;
    uint8_t *block;
    uint8_t *cert;
} audit_ledger_cursor;
void audit_ledger_source(audit_ledger_cursor *cursor, ledger *store, audit_source *out);
void audit_ledger_cursor_done(audit_ledger_cursor *cursor);

#endif
