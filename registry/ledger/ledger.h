/*
 * ledger.h - the block store over LevelDB (the only LevelDB user).
 *
 * One database per node. Keys (all integers big-endian, so LevelDB's order is
 * height order):
 *
 *   key                               value
 *   "m/genesis"                       canonical genesis bytes
 *   "m/head"                          head record (below)
 *   'b' height:8                      block record (codec.h "block")
 *   'r' height:8                      result certificate (codec.h)
 *   't' tx_id:32                      height:8 index:4
 *   'n' level:1 index:8               hash:32, perfect subtree of the tx log
 *   's' state key                     state value
 *
 * head record: height:8 | block_hash:32 | state_hash:32 | log_size:8 | receipts_root:32
 *
 * A block and everything it changes (record, tx index, log nodes, state
 * writes, head) go in ONE synchronous WriteBatch: after a crash at any
 * moment the store reopens at the last whole block.
 *
 * State hash (see docs/FORMATS.md): state_hash(0) = chain id,
 *   state_hash(h) = SHA-256("trialreg/v1/state" || state_hash(h-1)
 *                           || SHA-256(canonical writes of block h)).
 * It commits to the ordered history of writes; an auditor recomputes it
 * from the blocks alone.
 */
#ifndef TRIALREG_LEDGER_H
#define TRIALREG_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "crypto.h"
#include "merkle.h"

typedef struct ledger ledger;

typedef enum {
    LEDGER_OK = 0,
    LEDGER_ERR_IO,        /* LevelDB failed (message has its text) */
    LEDGER_ERR_CORRUPT,   /* stored data is inconsistent; height names where */
    LEDGER_ERR_GENESIS,   /* the store belongs to another genesis */
    LEDGER_ERR_NOT_FOUND, /* no such height, tx or key */
    LEDGER_ERR_INVALID,   /* the block given to append is not the next one */
    LEDGER_ERR_NOMEM,
} ledger_err;

typedef struct {
    ledger_err code;
    uint64_t height;    /* the height concerned, 0 if none */
    char message[256];
} ledger_error;

const char *ledger_strerror(ledger_err err);

/* What a replica signs after executing a block (the checkpoint body). */
typedef struct {
    uint64_t height;
    hash32 block_hash;
    hash32 state_hash;
    hash32 receipts_root;
    uint64_t log_size;
} ledger_summary;

#define LEDGER_DIR_MAX 4096
#define LEDGER_NOTE_MAX 640
/* LevelDB table files kept open at most (its table cache; LevelDB's default is 1,000, which
 * alone would take a default process's every descriptor). */
#define LEDGER_TABLE_FILES_OPEN_MAX 64

/* Whether ledger_open may create a new store. */
typedef enum {
    LEDGER_OPEN_EXISTING = 0, /* refuse (NOT_FOUND) when dir holds no ledger: readers */
    LEDGER_OPEN_CREATE = 1,   /* writers: create an empty ledger in a directory holding none of
                                 LevelDB's files; one with data files (MANIFEST, log, tables)
                                 but no CURRENT is refused, never replaced */
    LEDGER_OPEN_SCRATCH = 2,  /* a throw-away ledger (the audit's re-execution): created like
                                 CREATE, but no write is synced, so a crash may lose any of
                                 it; never use it for a ledger that must survive */
} ledger_open_mode;

/*
 * Open the store in dir for the given genesis (creating it if mode says so). An existing store
 * must hold the same genesis bytes. Every stored block is checked on open
 * (decodes canonically, heights follow, hash links, log sizes, the stored log
 * matches the head block's log root): a corrupt store is refused with
 * LEDGER_ERR_CORRUPT naming the first bad height. On success *out is a new
 * handle the caller closes with ledger_close.
 */
ledger_err ledger_open(const char *dir, const uint8_t *genesis, size_t genesis_len,
                       ledger_open_mode mode, ledger **out, ledger_error *err);
void ledger_close(ledger *l);

/* What the open of l found wrong but recovered from, for the log (a warning), or NULL.
 * Today: a write-ahead log that ends inside a record, whose last write LevelDB drops
 * silently (the newest blocks may then be missing; a validator fetches them back). */
const char *ledger_open_note(const ledger *l);

/* The chain id (SHA-256 of the genesis) and the decoded genesis. */
const hash32 *ledger_chain_id(const ledger *l);
const codec_genesis *ledger_genesis(const ledger *l);

/* The head: height 0 and prev hash zero for an empty ledger. */
void ledger_head(const ledger *l, ledger_summary *out);

/* A committed batch as the executor hands it to the store. */
typedef struct {
    codec_batch_header batch;
    const codec_span *txs;      /* canonical encoded txs, batch.tx_count of them */
    const codec_span *receipts; /* canonical encoded receipts, one per tx */
    const codec_write *writes;
    uint32_t write_count;
    codec_span commit_cert;     /* canonical encoded commit certificate */
} ledger_block_input;

/*
 * Append the next block in one synchronous WriteBatch. Checks that the batch
 * is the next height, that its tx root and count match the txs, that there is
 * one receipt per tx and that the commit certificate is for this batch (its
 * signatures are the caller's job: PBFT checked them). Derives the block
 * header (prev hash, log size, log root) and the state hash, and returns the
 * checkpoint summary in *out. On error nothing is written.
 */
ledger_err ledger_append(ledger *l, const ledger_block_input *in, ledger_summary *out,
                         ledger_error *err);

/* Store the result certificate of a stored block. Not synced on its own: the next
 * ledger_append (synced) or a clean close carries it to disk, so only an operating
 * system crash right after can lose it, and a validator fetches a missing one from
 * its peers (node.c backfill_scan). */
ledger_err ledger_put_result_cert(ledger *l, uint64_t height, const uint8_t *data, size_t len,
                                  ledger_error *err);

/* Read the block record / result certificate at height into a new malloc'd
 * buffer the caller frees with free(). NOT_FOUND if absent. */
ledger_err ledger_get_block(ledger *l, uint64_t height, uint8_t **data, size_t *len);
ledger_err ledger_get_result_cert(ledger *l, uint64_t height, uint8_t **data, size_t *len);

/* Where a tx was committed. */
ledger_err ledger_find_tx(ledger *l, const hash32 *tx_id, uint64_t *height, uint32_t *index);

/* A merkle source over the stored ledger-wide tx log (valid while l is open). */
void ledger_log_source(ledger *l, merkle_source *out);

/* Read a state value into a new malloc'd buffer (caller frees). */
ledger_err ledger_state_get(ledger *l, const uint8_t *key, size_t key_len, uint8_t **value,
                            size_t *value_len);

/* Next state hash from the previous one and the block's writes (pure). */
void ledger_next_state_hash(const hash32 *prev, const codec_write *writes, uint32_t count,
                            hash32 *out);


/* ---- state iteration (used by the executor's host for consent-vm keys()) -------------
 * The smallest state key that starts with prefix and is strictly greater than after
 * (after_len 0: no lower bound). On success copies the key into out (capacity out_cap,
 * at least CODEC_KEY_MAX) and sets *key_len; LEDGER_ERR_NOT_FOUND when there is none.
 * One bounded seek: it never visits more than two stored keys. */
ledger_err ledger_state_next(ledger *l, const uint8_t *prefix, size_t prefix_len,
                             const uint8_t *after, size_t after_len, uint8_t *out,
                             size_t out_cap, size_t *key_len);

/* A digest of every state row in key order, SHA-256 over len(key) u32 BE || key ||
 * len(value) u32 BE || value for each, and how many rows: two stores with the same digest
 * hold the same state. One pass over the rows (the audit's re-execution compares a stored
 * ledger's state with the replay's this way). Never part of any format. */
ledger_err ledger_state_digest(ledger *l, hash32 *out, uint64_t *rows);

#endif
