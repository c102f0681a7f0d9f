/*
 * ledger.c - block store over LevelDB. The only file that includes LevelDB.
 */
#include "ledger.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <leveldb/c.h>

#define STATE_HASH_TAG "trialreg/v1/state"
#define HEAD_RECORD_LEN (8 + 32 + 32 + 8 + 32)

struct ledger {
    leveldb_t *db;
    leveldb_options_t *options;
    leveldb_filterpolicy_t *bloom;
    leveldb_readoptions_t *read;
    leveldb_writeoptions_t *write_sync;  /* blocks: synced before ledger_append returns */
    leveldb_writeoptions_t *write_lazy;  /* result certificates: peers hold them too */
    uint8_t *genesis_bytes;
    size_t genesis_len;
    codec_genesis genesis;
    hash32 chain_id;
    ledger_summary head;
    merkle_frontier log;
    codec_span *tx_spans;       /* scratch for decoding blocks on open */
    codec_span *receipt_spans;
    codec_write *write_scratch;
    char dir[LEDGER_DIR_MAX];   /* where the store is, for messages */
    char last_error[160];       /* LevelDB's text of the last failed read */
    char open_note[LEDGER_NOTE_MAX]; /* what the open found and recovered from; "" if nothing */
    bool guarded;               /* data files linked into DIR/open-guard during the open */
};

const char *ledger_strerror(ledger_err err)
{
    switch (err) {
    case LEDGER_OK: return "ok";
    case LEDGER_ERR_IO: return "storage error";
    case LEDGER_ERR_CORRUPT: return "ledger is corrupt";
    case LEDGER_ERR_GENESIS: return "ledger belongs to another genesis";
    case LEDGER_ERR_NOT_FOUND: return "not found";
    case LEDGER_ERR_INVALID: return "block is not the valid next block";
    case LEDGER_ERR_NOMEM: return "out of memory";
    }
    return "unknown ledger error";
}

static ledger_err set_error(ledger_error *err, ledger_err code, uint64_t height,
                            const char *fmt, ...)
{
    if (err) {
        err->code = code;
        err->height = height;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ---- keys ----------------------------------------------------------------- */

static void store_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

static uint64_t load_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

typedef struct { uint8_t bytes[1 + 32]; size_t len; } store_key;

static store_key height_key(char prefix, uint64_t height)
{
    store_key k = {.len = 9};
    k.bytes[0] = (uint8_t)prefix;
    store_be64(k.bytes + 1, height);
    return k;
}

static store_key node_key(unsigned level, uint64_t index)
{
    store_key k = {.len = 10};
    k.bytes[0] = 'n';
    k.bytes[1] = (uint8_t)level;
    store_be64(k.bytes + 2, index);
    return k;
}

static store_key tx_key(const hash32 *tx_id)
{
    store_key k = {.len = 33};
    k.bytes[0] = 't';
    memcpy(k.bytes + 1, tx_id->bytes, 32);
    return k;
}

/* ---- raw get -------------------------------------------------------------- */

/* Get a value; NOT_FOUND if absent. *value is malloc'd (leveldb_free == free). */
static ledger_err db_get(ledger *l, const void *key, size_t key_len, uint8_t **value,
                         size_t *value_len)
{
    char *error = NULL;
    char *v = leveldb_get(l->db, l->read, key, key_len, value_len, &error);
    if (error) {
        snprintf(l->last_error, sizeof l->last_error, "%s", error);
        leveldb_free(error);
        return LEDGER_ERR_IO;
    }
    if (!v) return LEDGER_ERR_NOT_FOUND;
    *value = (uint8_t *)v;
    return LEDGER_OK;
}

static ledger_err db_get_fixed(ledger *l, const store_key *k, void *out, size_t want)
{
    uint8_t *v;
    size_t len;
    ledger_err rc = db_get(l, k->bytes, k->len, &v, &len);
    if (rc != LEDGER_OK) return rc;
    if (len != want) rc = LEDGER_ERR_CORRUPT;
    else memcpy(out, v, want);
    leveldb_free(v);
    return rc;
}

/* ---- merkle log source ---------------------------------------------------- */

static int log_get(void *ctx, unsigned level, uint64_t index, hash32 *out)
{
    store_key k = node_key(level, index);
    return db_get_fixed(ctx, &k, out->bytes, 32) == LEDGER_OK ? 0 : 1;
}

void ledger_log_source(ledger *l, merkle_source *out)
{
    out->get = log_get;
    out->ctx = l;
}

/* Rebuild the in-memory frontier for log size from the stored nodes. */
static ledger_err load_frontier(ledger *l, uint64_t size)
{
    memset(&l->log, 0, sizeof l->log);
    l->log.size = size;
    for (unsigned level = 0; level < 64; level++) {
        if (!(size >> level & 1)) continue;
        uint64_t start = size >> (level + 1) << (level + 1);
        store_key k = node_key(level, start >> level);
        if (db_get_fixed(l, &k, l->log.stack[level].bytes, 32) != LEDGER_OK) {
            return LEDGER_ERR_CORRUPT;
        }
    }
    return LEDGER_OK;
}

/* ---- head record ---------------------------------------------------------- */

static void encode_head(const ledger_summary *h, uint8_t out[HEAD_RECORD_LEN])
{
    store_be64(out, h->height);
    memcpy(out + 8, h->block_hash.bytes, 32);
    memcpy(out + 40, h->state_hash.bytes, 32);
    store_be64(out + 72, h->log_size);
    memcpy(out + 80, h->receipts_root.bytes, 32);
}

static void decode_head(const uint8_t in[HEAD_RECORD_LEN], ledger_summary *h)
{
    h->height = load_be64(in);
    memcpy(h->block_hash.bytes, in + 8, 32);
    memcpy(h->state_hash.bytes, in + 40, 32);
    h->log_size = load_be64(in + 72);
    memcpy(h->receipts_root.bytes, in + 80, 32);
}

/* ---- open ----------------------------------------------------------------- */

/* ---- opening: never over existing data -------------------------------------- */

/* What a LevelDB directory holds, from its file names. */
typedef struct {
    bool current;           /* CURRENT: the pointer to the live MANIFEST */
    int data_files;         /* MANIFEST-*, *.log, *.ldb, *.sst: what a new store would lose */
    char first_data[64];    /* the name of one of them, for messages */
} store_files;

static bool has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    return n >= s && strcmp(name + n - s, suffix) == 0;
}

static bool is_data_file(const char *name)
{
    return strncmp(name, "MANIFEST-", 9) == 0 || has_suffix(name, ".log")
           || has_suffix(name, ".ldb") || has_suffix(name, ".sst");
}

/* List dir into *out. Returns 0, or errno (ENOENT: no directory, *out says empty). */
static int list_store(const char *dir, store_files *out)
{
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) return errno;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, "CURRENT") == 0) out->current = true;
        if (!is_data_file(e->d_name)) continue;
        if (out->data_files++ == 0) snprintf(out->first_data, sizeof out->first_data, "%.63s", e->d_name);
    }
    closedir(d);
    return 0;
}

/* LevelDB's write-ahead log (leveldb/db/log_format.h): 32 KiB blocks of physical records
 * [crc32c:4, length:2 little-endian, type:1, payload:length]; type 1 FULL, 2 FIRST,
 * 3 MIDDLE, 4 LAST; fewer than 7 bytes left in a block are zero padding. */
#define WAL_BLOCK_BYTES 32768
#define WAL_HEADER_BYTES 7
#define WAL_TYPE_FULL 1
#define WAL_TYPE_FIRST 2
#define WAL_TYPE_LAST 4

/* The offset at which the log in f (size bytes) ends inside a record, or -1 if it ends on a
 * record boundary. LevelDB's recovery drops such a torn last record without a word (it takes
 * it for a write cut by a crash), so the store opens with its newest blocks missing. The
 * checksums are LevelDB's business (paranoid checks refuse a bad one). */
static long wal_torn_at(FILE *f, long size)
{
    long pos = 0, record_start = 0;
    bool in_fragments = false;
    while (pos < size) {
        long left = WAL_BLOCK_BYTES - pos % WAL_BLOCK_BYTES;
        if (left < WAL_HEADER_BYTES) {
            pos += left;
            continue;
        }
        uint8_t h[WAL_HEADER_BYTES];
        if (size - pos < WAL_HEADER_BYTES || fseek(f, pos, SEEK_SET) != 0
            || fread(h, 1, sizeof h, f) != sizeof h)
            return in_fragments ? record_start : pos;
        long len = h[4] | (long)h[5] << 8;
        if (pos + WAL_HEADER_BYTES + len > size) return in_fragments ? record_start : pos;
        if (h[6] == WAL_TYPE_FULL || h[6] == WAL_TYPE_FIRST) record_start = pos;
        if (h[6] == WAL_TYPE_FIRST) in_fragments = true;
        if (h[6] == WAL_TYPE_FULL || h[6] == WAL_TYPE_LAST) in_fragments = false;
        pos += WAL_HEADER_BYTES + len;
    }
    return in_fragments ? record_start : -1;
}

/* Note (in l->open_note) every write-ahead log of dir that ends inside a record. */
static void note_torn_logs(ledger *l, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!has_suffix(e->d_name, ".log")) continue;
        char path[LEDGER_DIR_MAX + 300];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        struct stat st;
        if (!f) continue;
        long torn = fstat(fileno(f), &st) == 0 ? wal_torn_at(f, (long)st.st_size) : -1;
        fclose(f);
        if (torn < 0) continue;
        snprintf(l->open_note, sizeof l->open_note,
                 "write-ahead log %.64s ends inside a record (%lld of its %lld bytes are whole "
                 "records): LevelDB drops the cut write, so the newest blocks may be missing "
                 "from this store; a validator fetches them back from its peers",
                 e->d_name, (long long)torn, (long long)st.st_size);
    }
    closedir(d);
}

/* ---- the open guard: a refused open deletes nothing -------------------------------------
 * LevelDB's open replays the write-ahead logs into a new table and then deletes them (and,
 * when a compaction starts at once, tables too) before this module has read a single
 * record; a store found damaged after that would have lost files to the open that refused
 * it. So before LevelDB opens an existing store, every data file is hard-linked into
 * DIR/open-guard (LevelDB ignores names it did not make); a refused open links back every
 * file LevelDB removed, and a good open drops the links. Links cost no copy. */
#define GUARD_DIR "open-guard"

typedef void (*guard_step)(const char *dir, const char *guard, const char *name);

/* Call step for every data file in from (dir or its guard). */
static void guard_each(const char *dir, const char *from, guard_step step)
{
    char guard[LEDGER_DIR_MAX + 16];
    snprintf(guard, sizeof guard, "%s/%s", dir, GUARD_DIR);
    DIR *d = opendir(from);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (is_data_file(e->d_name)) step(dir, guard, e->d_name);
    }
    closedir(d);
}

static void guard_path(char *out, size_t cap, const char *where, const char *name)
{
    snprintf(out, cap, "%s/%.255s", where, name);
}

static void guard_link(const char *dir, const char *guard, const char *name)
{
    char from[LEDGER_DIR_MAX + 300], to[LEDGER_DIR_MAX + 300];
    guard_path(from, sizeof from, dir, name);
    guard_path(to, sizeof to, guard, name);
    if (link(from, to) != 0 && errno != EEXIST) { /* best effort: the open is not refused */ }
}

static void guard_unlink(const char *dir, const char *guard, const char *name)
{
    (void)dir;
    char path[LEDGER_DIR_MAX + 300];
    guard_path(path, sizeof path, guard, name);
    unlink(path);
}

static void guard_restore(const char *dir, const char *guard, const char *name)
{
    char from[LEDGER_DIR_MAX + 300], to[LEDGER_DIR_MAX + 300];
    guard_path(from, sizeof from, guard, name);
    guard_path(to, sizeof to, dir, name);
    if (access(to, F_OK) != 0 && link(from, to) != 0) { /* left in the guard directory */ }
}

/* Drop the guard's links (a stale guard of a crashed open first: its files are copies). */
static void guard_drop(const char *dir)
{
    char guard[LEDGER_DIR_MAX + 16];
    snprintf(guard, sizeof guard, "%s/%s", dir, GUARD_DIR);
    guard_each(dir, guard, guard_unlink);
    rmdir(guard);
}

static void guard_set(const char *dir)
{
    char guard[LEDGER_DIR_MAX + 16];
    snprintf(guard, sizeof guard, "%s/%s", dir, GUARD_DIR);
    guard_drop(dir);
    if (mkdir(guard, 0700) == 0) guard_each(dir, dir, guard_link);
}

/* After a refused open: every file LevelDB removed is linked back, then the guard dropped. */
static void guard_undo(const char *dir)
{
    char guard[LEDGER_DIR_MAX + 16];
    snprintf(guard, sizeof guard, "%s/%s", dir, GUARD_DIR);
    guard_each(dir, guard, guard_restore);
    guard_drop(dir);
}

/* Open the LevelDB store of dir. An existing store (its CURRENT file) is opened without
 * create_if_missing. A store is created only in a directory that holds none of LevelDB's
 * data files: with CURRENT lost, LevelDB would otherwise create a new, empty store and
 * delete the old tables and logs as obsolete (issue 14 E). */
static ledger_err open_db(ledger *l, const char *dir, ledger_open_mode mode,
                          ledger_error *err)
{
    store_files files;
    int e = list_store(dir, &files);
    if (e != 0 && e != ENOENT)
        return set_error(err, LEDGER_ERR_IO, 0, "cannot list the ledger directory %s: %s", dir,
                         strerror(e));
    if (!files.current && files.data_files > 0)
        return set_error(err, LEDGER_ERR_IO, 0,
                         "%s/CURRENT is missing, but the directory holds %d LevelDB data "
                         "file(s) (%s, ...): refusing to open it, since a new store would "
                         "delete them; restore CURRENT (one line naming the newest MANIFEST)",
                         dir, files.data_files, files.first_data);
    if (!files.current && mode == LEDGER_OPEN_EXISTING)
        return set_error(err, LEDGER_ERR_NOT_FOUND, 0, "there is no ledger in %s", dir);
    bool create = !files.current;
    if (!create) {
        note_torn_logs(l, dir);
        guard_set(dir);
        l->guarded = true;
    }
    l->options = leveldb_options_create();
    leveldb_options_set_create_if_missing(l->options, create);
    leveldb_options_set_error_if_exists(l->options, create);
    leveldb_options_set_paranoid_checks(l->options, 1);
    /* Table files held open: a bound well inside the descriptors a node keeps in reserve
     * (transport.c leaves TP_FD_RESERVE for the store and the state file). */
    leveldb_options_set_max_open_files(l->options, LEDGER_TABLE_FILES_OPEN_MAX);
    /* Keys looked up and usually absent (tx ids, state keys): a Bloom filter per table
     * answers those without reading blocks. Values are hashes, signatures and canonical
     * msgpack: Snappy does not shrink them, so it is not run. */
    l->bloom = leveldb_filterpolicy_create_bloom(10);
    leveldb_options_set_filter_policy(l->options, l->bloom);
    leveldb_options_set_compression(l->options, leveldb_no_compression);
    l->read = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(l->read, 1);
    l->write_sync = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(l->write_sync, mode != LEDGER_OPEN_SCRATCH);
    l->write_lazy = leveldb_writeoptions_create();
    char *error = NULL;
    l->db = leveldb_open(l->options, dir, &error);
    if (error) {
        set_error(err, LEDGER_ERR_IO, 0, "cannot open ledger %s: %s", dir, error);
        leveldb_free(error);
        return LEDGER_ERR_IO;
    }
    return LEDGER_OK;
}

static ledger_err db_write_with(ledger *l, const leveldb_writeoptions_t *how,
                                leveldb_writebatch_t *batch, ledger_error *err, uint64_t height)
{
    char *error = NULL;
    leveldb_write(l->db, how, batch, &error);
    if (error) {
        set_error(err, LEDGER_ERR_IO, height, "write failed: %s", error);
        leveldb_free(error);
        return LEDGER_ERR_IO;
    }
    return LEDGER_OK;
}

static ledger_err db_write(ledger *l, leveldb_writebatch_t *batch, ledger_error *err,
                           uint64_t height)
{
    return db_write_with(l, l->write_sync, batch, err, height);
}

/* Store the genesis in a new ledger, or check it against the stored one. */
static ledger_err bind_genesis(ledger *l, ledger_error *err)
{
    uint8_t *stored;
    size_t len;
    ledger_err rc = db_get(l, "m/genesis", 9, &stored, &len);
    if (rc == LEDGER_OK) {
        bool same = len == l->genesis_len && memcmp(stored, l->genesis_bytes, len) == 0;
        leveldb_free(stored);
        if (!same) {
            return set_error(err, LEDGER_ERR_GENESIS, 0,
                             "the ledger was created for another genesis (chain id differs)");
        }
        return LEDGER_OK;
    }
    if (rc != LEDGER_ERR_NOT_FOUND) {
        return set_error(err, LEDGER_ERR_IO, 0,
                         "the store in %s is damaged (a table or log file is truncated, corrupt "
                         "or missing): LevelDB cannot read its first record, the genesis: %s",
                         l->dir, l->last_error);
    }
    leveldb_writebatch_t *batch = leveldb_writebatch_create();
    leveldb_writebatch_put(batch, "m/genesis", 9, (const char *)l->genesis_bytes,
                           l->genesis_len);
    rc = db_write(l, batch, err, 0);
    leveldb_writebatch_destroy(batch);
    return rc;
}

/* The RFC 9162 root over n encoded items (receipts, or txs). */
static void root_of_spans(const codec_span *items, uint32_t n, hash32 *out)
{
    merkle_frontier f = {0};
    for (uint32_t i = 0; i < n; i++) {
        hash32 leaf;
        merkle_leaf_hash(items[i].data, items[i].len, &leaf);
        merkle_frontier_append(&f, &leaf, NULL, NULL);
    }
    merkle_frontier_root(&f, out);
}

/* The tx root over a block's tx entries (a tx, or a pruned tx keeping its leaf hash). */
static void root_of_tx_entries(const codec_span *txs, uint32_t n, hash32 *out)
{
    merkle_frontier f = {0};
    for (uint32_t i = 0; i < n; i++) {
        hash32 leaf;
        codec_entry_leaf(&txs[i], &leaf);
        merkle_frontier_append(&f, &leaf, NULL, NULL);
    }
    merkle_frontier_root(&f, out);
}

static void compute_receipts_root(const codec_block *b, hash32 *out)
{
    root_of_spans(b->receipts, b->receipt_count, out);
}

/* What the block's certificates say must match what was recomputed from it: the
 * commit certificate names this batch, and a stored result certificate names
 * this block hash, state hash and receipts root. (Signatures are the audit's.) */
static ledger_err check_certified(ledger *l, uint64_t height, const codec_block *block,
                                  const ledger_summary *now, ledger_error *err)
{
    codec_commit_cert cc;
    hash32 batch_hash;
    codec_batch_hash(&block->header.batch, &batch_hash);
    if (codec_commit_cert_decode(block->commit_cert.data, block->commit_cert.len, &cc, NULL) !=
            CODEC_OK ||
        cc.height != height || memcmp(cc.batch_hash.bytes, batch_hash.bytes, 32) != 0)
        return set_error(err, LEDGER_ERR_CORRUPT, height, "commit certificate is not for this batch");
    uint8_t *data;
    size_t len;
    store_key k = height_key('r', height);
    if (db_get(l, k.bytes, k.len, &data, &len) != LEDGER_OK)
        return LEDGER_OK; /* no result certificate (yet) */
    codec_result_cert rc;
    bool ok = codec_result_cert_decode(data, len, &rc, NULL) == CODEC_OK && rc.height == height &&
              memcmp(rc.block_hash.bytes, now->block_hash.bytes, 32) == 0 &&
              memcmp(rc.state_hash.bytes, now->state_hash.bytes, 32) == 0 &&
              memcmp(rc.receipts_root.bytes, now->receipts_root.bytes, 32) == 0;
    leveldb_free(data);
    return ok ? LEDGER_OK
              : set_error(err, LEDGER_ERR_CORRUPT, height,
                          "the block does not match its result certificate");
}

/* Check one stored block against its predecessor's summary (structure only). */
static ledger_err check_block(ledger *l, uint64_t height, ledger_summary *prev,
                              ledger_error *err)
{
    uint8_t *data;
    size_t len;
    store_key k = height_key('b', height);
    ledger_err rc = db_get(l, k.bytes, k.len, &data, &len);
    if (rc != LEDGER_OK) return set_error(err, LEDGER_ERR_CORRUPT, height, "block is missing");
    codec_block block = {.txs = l->tx_spans, .receipts = l->receipt_spans,
                         .writes = l->write_scratch};
    codec_error cerr;
    char why[160];
    hash32 tx_root;
    codec_err crc = codec_block_decode(data, len, &block, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX,
                                       &cerr);
    if (crc != CODEC_OK) {
        rc = set_error(err, LEDGER_ERR_CORRUPT, height, "block does not decode: %s",
                       codec_error_format(&cerr, why, sizeof why));
    } else if (block.header.batch.height != height) {
        rc = set_error(err, LEDGER_ERR_CORRUPT, height, "block record holds height %llu",
                       (unsigned long long)block.header.batch.height);
    } else if (memcmp(block.header.prev_hash.bytes, prev->block_hash.bytes, 32) != 0) {
        rc = set_error(err, LEDGER_ERR_CORRUPT, height, "previous block hash does not link");
    } else if (block.header.log_size != prev->log_size + block.tx_count
               || block.header.batch.tx_count != block.tx_count) {
        rc = set_error(err, LEDGER_ERR_CORRUPT, height, "tx count or log size is wrong");
    } else if (root_of_tx_entries(block.txs, block.tx_count, &tx_root),
               memcmp(tx_root.bytes, block.header.batch.tx_root.bytes, 32) != 0) {
        rc = set_error(err, LEDGER_ERR_CORRUPT, height, "txs do not match the tx root");
    } else {
        prev->height = height;
        prev->log_size = block.header.log_size;
        codec_block_hash(&block.header, &prev->block_hash);
        ledger_next_state_hash(&prev->state_hash, block.writes, block.write_count,
                               &prev->state_hash);
        compute_receipts_root(&block, &prev->receipts_root);
        rc = check_certified(l, height, &block, prev, err);
    }
    leveldb_free(data);
    return rc;
}

/* Walk every stored block and compare the result with the head record. */
static ledger_err check_store(ledger *l, ledger_error *err)
{
    uint8_t head_bytes[HEAD_RECORD_LEN];
    store_key head_key = {.bytes = "m/head", .len = 6};
    ledger_err rc = db_get_fixed(l, &head_key, head_bytes, sizeof head_bytes);
    ledger_summary walked = {0};
    walked.state_hash = l->chain_id;
    if (rc == LEDGER_ERR_NOT_FOUND) {
        l->head = walked;
        return LEDGER_OK;
    }
    if (rc != LEDGER_OK) return set_error(err, LEDGER_ERR_CORRUPT, 0, "head record is damaged");
    ledger_summary head;
    decode_head(head_bytes, &head);
    for (uint64_t h = 1; h <= head.height; h++) {
        rc = check_block(l, h, &walked, err);
        if (rc != LEDGER_OK) return rc;
    }
    if (memcmp(walked.block_hash.bytes, head.block_hash.bytes, 32) != 0
        || memcmp(walked.state_hash.bytes, head.state_hash.bytes, 32) != 0
        || memcmp(walked.receipts_root.bytes, head.receipts_root.bytes, 32) != 0
        || walked.log_size != head.log_size) {
        return set_error(err, LEDGER_ERR_CORRUPT, head.height, "head record does not match");
    }
    if (load_frontier(l, head.log_size) != LEDGER_OK) {
        return set_error(err, LEDGER_ERR_CORRUPT, head.height, "tx log nodes are missing");
    }
    l->head = head;
    return LEDGER_OK;
}

ledger_err ledger_open(const char *dir, const uint8_t *genesis, size_t genesis_len,
                       ledger_open_mode mode, ledger **out, ledger_error *err)
{
    ledger *l = calloc(1, sizeof *l);
    if (!l) return set_error(err, LEDGER_ERR_NOMEM, 0, "out of memory");
    ledger_err rc = LEDGER_ERR_NOMEM;
    l->genesis_bytes = malloc(genesis_len ? genesis_len : 1);
    l->tx_spans = calloc(CODEC_BLOCK_TXS_MAX, sizeof *l->tx_spans);
    l->receipt_spans = calloc(CODEC_BLOCK_TXS_MAX, sizeof *l->receipt_spans);
    l->write_scratch = calloc(CODEC_WRITES_MAX, sizeof *l->write_scratch);
    if (!l->genesis_bytes || !l->tx_spans || !l->receipt_spans || !l->write_scratch) goto err;
    memcpy(l->genesis_bytes, genesis, genesis_len);
    l->genesis_len = genesis_len;
    codec_error cerr;
    char why[160];
    if (codec_genesis_decode(l->genesis_bytes, genesis_len, &l->genesis, &cerr) != CODEC_OK) {
        rc = set_error(err, LEDGER_ERR_GENESIS, 0, "genesis does not decode: %s",
                       codec_error_format(&cerr, why, sizeof why));
        goto err;
    }
    tcrypto_sha256(genesis, genesis_len, &l->chain_id);
    snprintf(l->dir, sizeof l->dir, "%s", dir);
    if ((rc = open_db(l, dir, mode, err)) != LEDGER_OK) goto err;
    if ((rc = bind_genesis(l, err)) != LEDGER_OK) goto err;
    if ((rc = check_store(l, err)) != LEDGER_OK) goto err;
    if (l->guarded) guard_drop(dir);
    *out = l;
    return LEDGER_OK;
err:
    if (rc == LEDGER_ERR_NOMEM) set_error(err, rc, 0, "out of memory");
    /* LevelDB deletes files only after it opened the store (a failed open, a held LOCK
     * included, removed nothing: then the guard is only dropped) */
    bool opened = l->db != NULL, guarded = l->guarded;
    ledger_close(l); /* LevelDB stops its compactions before the files are put back */
    if (guarded && opened) guard_undo(dir);
    else if (guarded) guard_drop(dir);
    return rc;
}

void ledger_close(ledger *l)
{
    if (!l) return;
    if (l->db) leveldb_close(l->db);
    if (l->options) leveldb_options_destroy(l->options);
    if (l->bloom) leveldb_filterpolicy_destroy(l->bloom);
    if (l->read) leveldb_readoptions_destroy(l->read);
    if (l->write_sync) leveldb_writeoptions_destroy(l->write_sync);
    if (l->write_lazy) leveldb_writeoptions_destroy(l->write_lazy);
    free(l->genesis_bytes);
    free(l->tx_spans);
    free(l->receipt_spans);
    free(l->write_scratch);
    free(l);
}

const hash32 *ledger_chain_id(const ledger *l) { return &l->chain_id; }
const char *ledger_open_note(const ledger *l) { return l->open_note[0] ? l->open_note : NULL; }
const codec_genesis *ledger_genesis(const ledger *l) { return &l->genesis; }
void ledger_head(const ledger *l, ledger_summary *out) { *out = l->head; }

/* ---- append --------------------------------------------------------------- */

void ledger_next_state_hash(const hash32 *prev, const codec_write *writes, uint32_t count,
                            hash32 *out)
{
    hash32 writes_hash;
    codec_writes_hash(writes, count, &writes_hash);
    tcrypto_sha256_state st;
    tcrypto_sha256_init(&st);
    tcrypto_sha256_update(&st, STATE_HASH_TAG, strlen(STATE_HASH_TAG));
    tcrypto_sha256_update(&st, prev->bytes, 32);
    tcrypto_sha256_update(&st, writes_hash.bytes, 32);
    tcrypto_sha256_final(&st, out);
}

static void put_node(void *ctx, unsigned level, uint64_t index, const hash32 *hash)
{
    store_key k = node_key(level, index);
    leveldb_writebatch_put(ctx, (const char *)k.bytes, k.len, (const char *)hash->bytes, 32);
}

/* Check the input against the head; returns the receipts root. */
static ledger_err check_input(const ledger *l, const ledger_block_input *in,
                              hash32 *receipts_root, ledger_error *err)
{
    uint64_t height = in->batch.height;
    if (height != l->head.height + 1) {
        return set_error(err, LEDGER_ERR_INVALID, height, "expected height %llu",
                         (unsigned long long)(l->head.height + 1));
    }
    if (in->batch.tx_count > CODEC_BLOCK_TXS_MAX) {
        return set_error(err, LEDGER_ERR_INVALID, height, "too many txs");
    }
    hash32 *leaves = malloc((in->batch.tx_count + 1) * sizeof *leaves);
    if (!leaves) return set_error(err, LEDGER_ERR_NOMEM, height, "out of memory");
    hash32 root;
    for (uint64_t i = 0; i < in->batch.tx_count; i++) codec_entry_leaf(&in->txs[i], &leaves[i]);
    merkle_root_of_leaves(leaves, in->batch.tx_count, &root);
    for (uint64_t i = 0; i < in->batch.tx_count; i++) {
        merkle_leaf_hash(in->receipts[i].data, in->receipts[i].len, &leaves[i]);
    }
    merkle_root_of_leaves(leaves, in->batch.tx_count, receipts_root);
    free(leaves);
    if (memcmp(root.bytes, in->batch.tx_root.bytes, 32) != 0) {
        return set_error(err, LEDGER_ERR_INVALID, height, "tx root does not match the txs");
    }
    codec_commit_cert cert;
    hash32 batch_hash;
    codec_batch_hash(&in->batch, &batch_hash);
    if (codec_commit_cert_decode(in->commit_cert.data, in->commit_cert.len, &cert, NULL)
            != CODEC_OK
        || cert.height != height || memcmp(cert.batch_hash.bytes, batch_hash.bytes, 32) != 0) {
        return set_error(err, LEDGER_ERR_INVALID, height,
                         "commit certificate is not for this batch");
    }
    return LEDGER_OK;
}

/* True if a tx with this id is already indexed (a replayed tx is committed
 * again with a refusing receipt; the index keeps the first commit). */
static bool tx_indexed(ledger *l, const store_key *k)
{
    uint8_t *v;
    size_t len;
    if (db_get(l, k->bytes, k->len, &v, &len) != LEDGER_OK) return false;
    leveldb_free(v);
    return true;
}

/* Put the tx index, log nodes and state writes of the block into batch. */
static void stage_indexes(ledger *l, const ledger_block_input *in, merkle_frontier *log,
                          leveldb_writebatch_t *batch)
{
    for (uint32_t i = 0; i < in->batch.tx_count; i++) {
        hash32 tx_id, leaf;
        codec_entry_tx_id(&in->txs[i], &tx_id);
        store_key k = tx_key(&tx_id);
        codec_entry_leaf(&in->txs[i], &leaf);
        merkle_frontier_append(log, &leaf, put_node, batch);
        if (tx_indexed(l, &k)) continue;
        uint8_t where[12];
        store_be64(where, in->batch.height);
        for (int b = 0; b < 4; b++) where[8 + b] = (uint8_t)(i >> (24 - 8 * b));
        leveldb_writebatch_put(batch, (const char *)k.bytes, k.len, (const char *)where, 12);
    }
    for (uint32_t i = 0; i < in->write_count; i++) {
        const codec_write *w = &in->writes[i];
        uint8_t key[1 + CODEC_KEY_MAX];
        key[0] = 's';
        memcpy(key + 1, w->key, w->key_len);
        if (w->value) {
            leveldb_writebatch_put(batch, (const char *)key, 1 + w->key_len,
                                   (const char *)w->value, w->value_len);
        } else {
            leveldb_writebatch_delete(batch, (const char *)key, 1 + w->key_len);
        }
    }
}

/* Encode the block record into a new malloc'd buffer. */
static ledger_err encode_record(const ledger_block_input *in, const codec_block_header *h,
                                uint8_t **out, size_t *out_len, ledger_error *err)
{
    size_t cap = 1024 + in->commit_cert.len;
    for (uint32_t i = 0; i < in->batch.tx_count; i++) {
        cap += in->txs[i].len + in->receipts[i].len;
    }
    for (uint32_t i = 0; i < in->write_count; i++) {
        cap += 16 + in->writes[i].key_len + in->writes[i].value_len;
    }
    uint8_t *buf = malloc(cap);
    if (!buf) return set_error(err, LEDGER_ERR_NOMEM, h->batch.height, "out of memory");
    codec_buf b = codec_buf_make(buf, cap);
    if (codec_block_encode(h, in->txs, (uint32_t)in->batch.tx_count, in->receipts,
                           (uint32_t)in->batch.tx_count, in->writes, in->write_count,
                           &in->commit_cert, &b) != CODEC_OK) {
        free(buf);
        return set_error(err, LEDGER_ERR_INVALID, h->batch.height, "block too large");
    }
    *out = buf;
    *out_len = b.len;
    return LEDGER_OK;
}

ledger_err ledger_append(ledger *l, const ledger_block_input *in, ledger_summary *out,
                         ledger_error *err)
{
    hash32 receipts_root;
    ledger_err rc = check_input(l, in, &receipts_root, err);
    if (rc != LEDGER_OK) return rc;
    leveldb_writebatch_t *batch = leveldb_writebatch_create();
    merkle_frontier log = l->log;
    stage_indexes(l, in, &log, batch);
    codec_block_header h = {.batch = in->batch, .prev_hash = l->head.block_hash,
                            .log_size = log.size};
    merkle_frontier_root(&log, &h.log_root);
    ledger_summary next = {.height = in->batch.height, .log_size = log.size,
                           .receipts_root = receipts_root};
    codec_block_hash(&h, &next.block_hash);
    ledger_next_state_hash(&l->head.state_hash, in->writes, in->write_count, &next.state_hash);
    uint8_t *record = NULL;
    size_t record_len = 0;
    rc = encode_record(in, &h, &record, &record_len, err);
    if (rc == LEDGER_OK) {
        store_key k = height_key('b', next.height);
        leveldb_writebatch_put(batch, (const char *)k.bytes, k.len, (const char *)record,
                               record_len);
        uint8_t head[HEAD_RECORD_LEN];
        encode_head(&next, head);
        leveldb_writebatch_put(batch, "m/head", 6, (const char *)head, sizeof head);
        rc = db_write(l, batch, err, next.height);
        free(record);
    }
    leveldb_writebatch_destroy(batch);
    if (rc != LEDGER_OK) return rc;
    l->log = log;
    l->head = next;
    *out = next;
    return LEDGER_OK;
}

ledger_err ledger_put_result_cert(ledger *l, uint64_t height, const uint8_t *data, size_t len,
                                  ledger_error *err)
{
    if (height == 0 || height > l->head.height) {
        return set_error(err, LEDGER_ERR_NOT_FOUND, height, "no block at this height");
    }
    store_key k = height_key('r', height);
    leveldb_writebatch_t *batch = leveldb_writebatch_create();
    leveldb_writebatch_put(batch, (const char *)k.bytes, k.len, (const char *)data, len);
    /* Not synced: the next synced block write carries it to disk; if a crash loses it,
     * the node fetches it from its peers again (backfill). */
    ledger_err rc = db_write_with(l, l->write_lazy, batch, err, height);
    leveldb_writebatch_destroy(batch);
    return rc;
}

/* ---- reads ---------------------------------------------------------------- */

ledger_err ledger_get_block(ledger *l, uint64_t height, uint8_t **data, size_t *len)
{
    store_key k = height_key('b', height);
    return db_get(l, k.bytes, k.len, data, len);
}

ledger_err ledger_get_result_cert(ledger *l, uint64_t height, uint8_t **data, size_t *len)
{
    store_key k = height_key('r', height);
    return db_get(l, k.bytes, k.len, data, len);
}

ledger_err ledger_find_tx(ledger *l, const hash32 *tx_id, uint64_t *height, uint32_t *index)
{
    uint8_t where[12];
    store_key k = tx_key(tx_id);
    ledger_err rc = db_get_fixed(l, &k, where, sizeof where);
    if (rc != LEDGER_OK) return rc;
    *height = load_be64(where);
    *index = (uint32_t)where[8] << 24 | (uint32_t)where[9] << 16 | (uint32_t)where[10] << 8
             | where[11];
    return LEDGER_OK;
}

ledger_err ledger_state_get(ledger *l, const uint8_t *key, size_t key_len, uint8_t **value,
                            size_t *value_len)
{
    if (key_len > CODEC_KEY_MAX) return LEDGER_ERR_NOT_FOUND;
    uint8_t k[1 + CODEC_KEY_MAX];
    k[0] = 's';
    memcpy(k + 1, key, key_len);
    return db_get(l, k, 1 + key_len, value, value_len);
}

/* ---- state iteration ------------------------------------------------------------------ */

ledger_err ledger_state_next(ledger *l, const uint8_t *prefix, size_t prefix_len,
                             const uint8_t *after, size_t after_len, uint8_t *out,
                             size_t out_cap, size_t *key_len)
{
    if (prefix_len > CODEC_KEY_MAX || after_len > CODEC_KEY_MAX) return LEDGER_ERR_NOT_FOUND;
    uint8_t seek[2 + CODEC_KEY_MAX];
    size_t seek_len;
    seek[0] = 's';
    /* Start at max(prefix, after): keys below prefix cannot match. */
    bool use_after = after_len > 0
                     && (memcmp(after, prefix, after_len < prefix_len ? after_len : prefix_len) > 0
                         || (memcmp(after, prefix, after_len < prefix_len ? after_len : prefix_len) == 0
                             && after_len >= prefix_len));
    if (use_after) {
        memcpy(seek + 1, after, after_len);
        seek_len = 1 + after_len;
    } else {
        memcpy(seek + 1, prefix, prefix_len);
        seek_len = 1 + prefix_len;
    }
    leveldb_iterator_t *it = leveldb_create_iterator(l->db, l->read);
    leveldb_iter_seek(it, (const char *)seek, seek_len);
    ledger_err rc = LEDGER_ERR_NOT_FOUND;
    for (int visited = 0; visited < 2 && leveldb_iter_valid(it); visited++) {
        size_t klen;
        const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &klen);
        if (klen < 1 + prefix_len || k[0] != 's' || memcmp(k + 1, prefix, prefix_len) != 0) break;
        if (use_after && klen == seek_len && memcmp(k, seek, seek_len) == 0) {
            leveldb_iter_next(it); /* strictly greater than after */
            continue;
        }
        if (klen - 1 > out_cap) {
            rc = LEDGER_ERR_INVALID;
            break;
        }
        memcpy(out, k + 1, klen - 1);
        *key_len = klen - 1;
        rc = LEDGER_OK;
        break;
    }
    leveldb_iter_destroy(it);
    return rc;
}

/* Feed a length (u32 BE) and the bytes it counts to the digest. */
static void digest_field(tcrypto_sha256_state *st, const char *bytes, size_t len)
{
    uint8_t n[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    tcrypto_sha256_update(st, n, 4);
    tcrypto_sha256_update(st, (const uint8_t *)bytes, len);
}

ledger_err ledger_state_digest(ledger *l, hash32 *out, uint64_t *rows)
{
    tcrypto_sha256_state st;
    tcrypto_sha256_init(&st);
    *rows = 0;
    leveldb_iterator_t *it = leveldb_create_iterator(l->db, l->read);
    for (leveldb_iter_seek(it, "s", 1); leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = leveldb_iter_key(it, &klen);
        if (klen < 1 || k[0] != 's') break;
        const char *v = leveldb_iter_value(it, &vlen);
        digest_field(&st, k + 1, klen - 1);
        digest_field(&st, v, vlen);
        (*rows)++;
    }
    char *error = NULL;
    leveldb_iter_get_error(it, &error);
    leveldb_iter_destroy(it);
    tcrypto_sha256_final(&st, out);
    if (error) {
        leveldb_free(error);
        return LEDGER_ERR_IO;
    }
    return LEDGER_OK;
}
