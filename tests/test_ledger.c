/*
 * test_ledger.c - the LevelDB block store: append, read, reopen, refusal of
 * bad appends and corrupt stores, and crash safety under kill -9.
 *
 * The corruption tests write into the store's LevelDB directly: a test of the
 * store may reach under it to inject faults; nothing else in trialreg does.
 */
#include <criterion/criterion.h>
#include <leveldb/c.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "merkle.h"
#include "testutil.h"

static char dir[256];
static tu_chain chain;

static void setup(void)
{
    cr_assert_eq(tcrypto_init(), TCRYPTO_OK);
    tu_tempdir(dir, "ledger");
    tu_chain_make(&chain, 1);
}

static void teardown(void)
{
    tu_rmdir(dir);
    free(chain.genesis);
}

TestSuite(ledger, .init = setup, .fini = teardown);

/* Put raw bytes under key prefix+height:8 in the store's LevelDB (closed store). */
static void poke(char prefix, uint64_t height, const void *value, size_t len)
{
    uint8_t key[9] = {(uint8_t)prefix};
    for (int i = 0; i < 8; i++) key[1 + i] = (uint8_t)(height >> (56 - 8 * i));
    char *err = NULL;
    leveldb_options_t *o = leveldb_options_create();
    leveldb_t *db = leveldb_open(o, dir, &err);
    cr_assert_null(err);
    leveldb_writeoptions_t *w = leveldb_writeoptions_create();
    if (value) leveldb_put(db, w, (char *)key, 9, value, len, &err);
    else leveldb_delete(db, w, (char *)key, 9, &err);
    cr_assert_null(err);
    leveldb_writeoptions_destroy(w);
    leveldb_close(db);
    leveldb_options_destroy(o);
}

static ledger_err reopen(ledger_error *err)
{
    ledger *l = NULL;
    ledger_err rc = ledger_open(dir, chain.genesis, chain.genesis_len, LEDGER_OPEN_EXISTING, &l, err);
    ledger_close(l);
    return rc;
}

Test(ledger, appended_blocks_read_back_by_height_and_tx_id)
{
    ledger *l = tu_open(dir, &chain);
    tu_write(l, &chain, 5, 4);
    ledger_summary head;
    ledger_head(l, &head);
    cr_assert_eq(head.height, 5);
    cr_assert_eq(head.log_size, 20);
    static codec_span txs[CODEC_BLOCK_TXS_MAX];
    for (uint64_t h = 1; h <= 5; h++) {
        uint8_t *data, *cert;
        size_t len, cert_len;
        cr_assert_eq(ledger_get_block(l, h, &data, &len), LEDGER_OK);
        cr_assert_eq(ledger_get_result_cert(l, h, &cert, &cert_len), LEDGER_OK);
        codec_block b = {.txs = txs};
        cr_assert_eq(codec_block_decode(data, len, &b, CODEC_BLOCK_TXS_MAX, 0, NULL), CODEC_ERR_COUNT,
                     "writes beyond a zero cap are refused");
        cr_assert_eq(codec_block_decode(data, len, &b, CODEC_BLOCK_TXS_MAX, 100, NULL), CODEC_OK);
        cr_assert_eq(b.header.batch.height, h);
        for (uint32_t i = 0; i < b.tx_count; i++) {
            hash32 id;
            uint64_t at;
            uint32_t index;
            tcrypto_sha256(b.txs[i].data, b.txs[i].len, &id);
            cr_assert_eq(ledger_find_tx(l, &id, &at, &index), LEDGER_OK);
            cr_assert_eq(at, h);
            cr_assert_eq(index, i);
            uint8_t key[42], *value;
            size_t value_len;
            memcpy(key, "sample/tx/", 10);
            memcpy(key + 10, id.bytes, 32);
            cr_assert_eq(ledger_state_get(l, key, sizeof key, &value, &value_len), LEDGER_OK);
            cr_assert_eq(value_len, 8);
            free(value);
        }
        free(data);
        free(cert);
    }
    hash32 unknown = {{0xee}};
    uint64_t at;
    uint32_t index;
    cr_assert_eq(ledger_find_tx(l, &unknown, &at, &index), LEDGER_ERR_NOT_FOUND);
    uint8_t *data;
    size_t len;
    cr_assert_eq(ledger_get_block(l, 6, &data, &len), LEDGER_ERR_NOT_FOUND);
    ledger_close(l);
}

Test(ledger, reopen_keeps_head_and_continues_the_log)
{
    ledger *l = tu_open(dir, &chain);
    tu_write(l, &chain, 3, 5);
    ledger_summary before, after;
    ledger_head(l, &before);
    ledger_close(l);
    l = tu_open(dir, &chain);
    ledger_head(l, &after);
    cr_assert_eq(after.height, 3);
    cr_assert_arr_eq(after.block_hash.bytes, before.block_hash.bytes, 32);
    cr_assert_arr_eq(after.state_hash.bytes, before.state_hash.bytes, 32);
    tu_write(l, &chain, 2, 5);
    /* every stored leaf proves into the head's log root */
    ledger_head(l, &after);
    uint8_t *data;
    size_t len;
    cr_assert_eq(ledger_get_block(l, after.height, &data, &len), LEDGER_OK);
    codec_block b = {0};
    cr_assert_eq(codec_block_decode(data, len, &b, CODEC_BLOCK_TXS_MAX, 100, NULL), CODEC_OK);
    merkle_source src;
    ledger_log_source(l, &src);
    for (uint64_t i = 0; i < after.log_size; i++) {
        hash32 path[MERKLE_PROOF_MAX], leaf;
        size_t path_len;
        cr_assert_eq(merkle_inclusion_proof(&src, after.log_size, i, path, &path_len), 0);
        cr_assert_eq(src.get(src.ctx, 0, i, &leaf), 0);
        cr_assert(merkle_inclusion_verify(&leaf, i, after.log_size, path, path_len,
                                          &b.header.log_root));
    }
    free(data);
    ledger_close(l);
}

Test(ledger, a_block_that_is_not_the_next_one_is_refused_and_nothing_is_written)
{
    ledger *l = tu_open(dir, &chain);
    tu_write(l, &chain, 2, 3);
    ledger_summary before, after;
    ledger_head(l, &before);
    sample_block b;
    cr_assert_eq(sample_block_build(&chain.keys, l, 3, 6, 3, &b), 0);
    ledger_block_input in = {.batch = b.batch, .txs = b.txs, .receipts = b.receipts,
                             .writes = b.writes, .write_count = 3, .commit_cert = b.commit_cert};
    ledger_summary s;
    ledger_error err;
    in.batch.height = 5;
    cr_assert_eq(ledger_append(l, &in, &s, &err), LEDGER_ERR_INVALID);
    cr_assert_eq(err.height, 5);
    in.batch = b.batch;
    in.batch.tx_root.bytes[0] ^= 1;
    cr_assert_eq(ledger_append(l, &in, &s, &err), LEDGER_ERR_INVALID);
    cr_assert(strstr(err.message, "tx root") != NULL, "%s", err.message);
    in.batch = b.batch;
    in.commit_cert.len -= 1;
    cr_assert_eq(ledger_append(l, &in, &s, &err), LEDGER_ERR_INVALID);
    cr_assert(strstr(err.message, "commit certificate") != NULL, "%s", err.message);
    ledger_head(l, &after);
    cr_assert_eq(after.height, before.height);
    cr_assert_arr_eq(after.block_hash.bytes, before.block_hash.bytes, 32);
    in.commit_cert = b.commit_cert;
    cr_assert_eq(ledger_append(l, &in, &s, &err), LEDGER_OK, "%s", err.message);
    cr_assert_eq(s.height, 3);
    sample_block_free(&b);
    ledger_close(l);
}

Test(ledger, readers_do_not_create_a_ledger_where_there_is_none)
{
    char missing[300];
    snprintf(missing, sizeof missing, "%s/none", dir);
    ledger *l = NULL;
    ledger_error err;
    cr_assert_eq(ledger_open(missing, chain.genesis, chain.genesis_len, LEDGER_OPEN_EXISTING, &l,
                             &err), LEDGER_ERR_NOT_FOUND);
    cr_assert(strstr(err.message, "no ledger") != NULL, "%s", err.message);
    cr_assert_eq(access(missing, F_OK), -1, "nothing may be created");
}

Test(ledger, a_store_of_another_genesis_is_refused)
{
    ledger *l = tu_open(dir, &chain);
    ledger_close(l);
    tu_chain other;
    tu_chain_make(&other, 2);
    ledger_error err;
    cr_assert_eq(ledger_open(dir, other.genesis, other.genesis_len, LEDGER_OPEN_EXISTING, &l, &err),
                 LEDGER_ERR_GENESIS);
    free(other.genesis);
}

Test(ledger, a_corrupt_block_is_refused_naming_its_height)
{
    ledger *l = tu_open(dir, &chain);
    tu_write(l, &chain, 6, 2);
    uint8_t *data;
    size_t len;
    cr_assert_eq(ledger_get_block(l, 4, &data, &len), LEDGER_OK);
    ledger_close(l);
    ledger_error err;
    data[len / 2] ^= 0x01;
    poke('b', 4, data, len);
    cr_assert_eq(reopen(&err), LEDGER_ERR_CORRUPT);
    cr_assert_eq(err.height, 4, "reported height %llu: %s", (unsigned long long)err.height,
                 err.message);
    data[len / 2] ^= 0x01;
    poke('b', 4, data, len);
    cr_assert_eq(reopen(&err), LEDGER_OK, "restoring the byte heals it: %s", err.message);
    poke('b', 4, NULL, 0);
    cr_assert_eq(reopen(&err), LEDGER_ERR_CORRUPT);
    cr_assert_eq(err.height, 4);
    cr_assert(strstr(err.message, "missing") != NULL, "%s", err.message);
    free(data);
}

Test(ledger, a_swapped_block_is_refused_at_the_first_bad_height)
{
    ledger *l = tu_open(dir, &chain);
    tu_write(l, &chain, 4, 2);
    uint8_t *b2, *b3;
    size_t l2, l3;
    cr_assert_eq(ledger_get_block(l, 2, &b2, &l2), LEDGER_OK);
    cr_assert_eq(ledger_get_block(l, 3, &b3, &l3), LEDGER_OK);
    ledger_close(l);
    poke('b', 2, b3, l3);
    poke('b', 3, b2, l2);
    ledger_error err;
    cr_assert_eq(reopen(&err), LEDGER_ERR_CORRUPT);
    cr_assert_eq(err.height, 2, "%s", err.message);
    free(b2);
    free(b3);
}

/* ---- crash safety -------------------------------------------------------------- */

/* Child: append one block at a time, reporting each height after append returns. */
static void append_forever(int report_fd)
{
    ledger *l = NULL;
    ledger_error err;
    if (ledger_open(dir, chain.genesis, chain.genesis_len, LEDGER_OPEN_CREATE, &l, &err)) _exit(3);
    char why[300];
    for (;;) {
        if (sample_write_blocks(l, &chain.keys, 1, 3, why, sizeof why) != 0) _exit(4);
        ledger_summary head;
        ledger_head(l, &head);
        if (write(report_fd, &head.height, sizeof head.height) != sizeof head.height) _exit(5);
    }
}

/* Parent: read reports for about ms milliseconds, then kill -9 the child. */
static uint64_t run_and_kill(int ms)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        close(fds[0]);
        append_forever(fds[1]);
    }
    close(fds[1]);
    uint64_t last = 0, h;
    struct pollfd p = {.fd = fds[0], .events = POLLIN};
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (elapsed >= ms) break;
        if (poll(&p, 1, (int)(ms - elapsed)) > 0 && read(fds[0], &h, sizeof h) == sizeof h) last = h;
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFSIGNALED(status), "the child must die by the signal, not exit (%d)", status);
    while (read(fds[0], &h, sizeof h) == sizeof h) last = h; /* reported before death */
    close(fds[0]);
    return last;
}

Test(ledger, kill_9_at_random_points_loses_no_reported_block, .timeout = 300)
{
    unsigned seed = (unsigned)time(NULL);
    srand(seed);
    ledger_close(tu_open(dir, &chain)); /* the store exists before the first kill */
    uint64_t reported_max = 0;
    for (int round = 0; round < 40; round++) {
        uint64_t reported = run_and_kill(5 + rand() % 60);
        if (reported > reported_max) reported_max = reported;
        ledger *l = NULL;
        ledger_error err;
        ledger_err rc = ledger_open(dir, chain.genesis, chain.genesis_len, LEDGER_OPEN_EXISTING,
                                    &l, &err);
        cr_assert_eq(rc, LEDGER_OK, "seed %u round %d: reopen failed at height %llu: %s", seed,
                     round, (unsigned long long)err.height, err.message);
        ledger_summary head;
        ledger_head(l, &head);
        cr_assert_geq(head.height, reported_max, "seed %u round %d: reported %llu, head %llu",
                      seed, round, (unsigned long long)reported_max,
                      (unsigned long long)head.height);
        cr_assert_eq(head.log_size, head.height * 3, "a half-written block would break this");
        audit_ledger_cursor cursor;
        audit_source src;
        audit_summary s;
        audit_failure f;
        audit_ledger_source(&cursor, l, &src);
        cr_assert(audit_run(chain.genesis, chain.genesis_len, &src, 2, &s, &f),
                  "seed %u round %d: audit failed at %llu: %s", seed, round,
                  (unsigned long long)f.height, f.reason);
        cr_assert(s.uncertified_from == 0 || s.uncertified_from == head.height,
                  "only the newest block may lack its result certificate");
        audit_ledger_cursor_done(&cursor);
        ledger_close(l);
    }
    cr_assert_gt(reported_max, 0, "the child must have appended something");
}

/* ---- LevelDB's own files missing or damaged (issue 14 E) -----------------------------
 * The store is built so that it has table files (blocks 1-4, moved from the log to a table
 * by a reopen) and a write-ahead log holding blocks 5-7. Then one file is removed or
 * damaged, and the node's open (LEDGER_OPEN_CREATE) and a reader's (EXISTING) are tried.
 * Whatever the outcome, a refused open must leave every table and log file as it was: an
 * open must never destroy data. */

#define STORED_FILES_MAX 64

typedef struct {
    int count;
    char name[STORED_FILES_MAX][64];
    long long size[STORED_FILES_MAX];
} stored_files;

static bool named_like(const char *name, const char *prefix, const char *suffix)
{
    size_t n = strlen(name), p = strlen(prefix), s = strlen(suffix);
    return n >= p + s && strncmp(name, prefix, p) == 0 && strcmp(name + n - s, suffix) == 0;
}

/* The table and log files of the store, with their sizes. */
static void list_data_files(stored_files *out)
{
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!named_like(e->d_name, "", ".ldb") && !named_like(e->d_name, "", ".sst")
            && !named_like(e->d_name, "", ".log"))
            continue;
        cr_assert_lt(out->count, STORED_FILES_MAX);
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        cr_assert_eq(stat(path, &st), 0);
        snprintf(out->name[out->count], 64, "%.63s", e->d_name);
        out->size[out->count++] = (long long)st.st_size;
    }
    closedir(d);
}

/* Path of the first file of the store named prefix*suffix (asserted to exist). */
static void find_file(const char *prefix, const char *suffix, char *path, size_t cap)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    path[0] = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && !path[0];) {
        if (named_like(e->d_name, prefix, suffix)) snprintf(path, cap, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    cr_assert(path[0], "the store has no %s*%s file", prefix, suffix);
}

static void build_store_with_tables_and_log(void)
{
    ledger *l = tu_open(dir, &chain);
    tu_write(l, &chain, 4, 2);
    ledger_close(l);
    ledger_close(tu_open(dir, &chain)); /* recovery writes the log's blocks into a table */
    l = tu_open(dir, &chain);
    tu_write(l, &chain, 3, 2);
    ledger_close(l);
    char path[600];
    find_file("", ".ldb", path, sizeof path);
    find_file("", ".log", path, sizeof path);
}

static void remove_file(const char *prefix, const char *suffix)
{
    char path[600];
    find_file(prefix, suffix, path, sizeof path);
    cr_assert_eq(unlink(path), 0);
}

static void cut_file(const char *prefix, const char *suffix, long long keep)
{
    char path[600];
    find_file(prefix, suffix, path, sizeof path);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(truncate(path, keep >= 0 ? keep : st.st_size + keep), 0);
}

static void overwrite_file(const char *prefix, const char *suffix, const char *text)
{
    char path[600];
    find_file(prefix, suffix, path, sizeof path);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

/* Every file of before is still there, at least as long as it was. */
static void assert_nothing_destroyed(const stored_files *before, const char *what)
{
    stored_files after;
    list_data_files(&after);
    for (int i = 0; i < before->count; i++) {
        bool found = false;
        for (int j = 0; j < after.count; j++) {
            if (strcmp(before->name[i], after.name[j]) != 0) continue;
            found = true;
            cr_assert_geq(after.size[j], before->size[i], "%s: %s was truncated from %lld to %lld",
                          what, before->name[i], before->size[i], after.size[j]);
        }
        cr_assert(found, "%s: %s was deleted by a refused open", what, before->name[i]);
    }
}

/* Open with mode; a refused open must destroy nothing. Returns the result; on LEDGER_OK the
 * height is in *height and the note (or "") in note. */
static ledger_err open_damaged(ledger_open_mode mode, const char *what, ledger_error *err,
                               uint64_t *height, char *note, size_t note_cap)
{
    stored_files before;
    list_data_files(&before);
    ledger *l = NULL;
    ledger_err rc = ledger_open(dir, chain.genesis, chain.genesis_len, mode, &l, err);
    if (rc != LEDGER_OK) {
        assert_nothing_destroyed(&before, what);
        cr_assert(strstr(err->message, dir) != NULL, "%s: the message names the store: %s", what,
                  err->message);
        return rc;
    }
    ledger_summary head;
    ledger_head(l, &head);
    *height = head.height;
    snprintf(note, note_cap, "%s", ledger_open_note(l) ? ledger_open_note(l) : "");
    ledger_close(l);
    return rc;
}

/* Both modes refuse, destroying nothing; the message holds expect. */
static void assert_refused(const char *what, const char *expect)
{
    ledger_error err;
    uint64_t height = 0;
    char note[LEDGER_NOTE_MAX];
    for (int mode = LEDGER_OPEN_CREATE; mode >= LEDGER_OPEN_EXISTING; mode--) { /* the node's first */
        ledger_err rc = open_damaged((ledger_open_mode)mode, what, &err, &height, note, sizeof note);
        cr_assert_neq(rc, LEDGER_OK, "%s: mode %d opened a store at height %llu", what, mode,
                      (unsigned long long)height);
        if (expect)
            cr_assert(strstr(err.message, expect) != NULL, "%s: %s", what, err.message);
    }
}

Test(ledger, a_missing_CURRENT_is_refused_and_the_store_is_not_replaced)
{
    build_store_with_tables_and_log();
    remove_file("CURRENT", "");
    assert_refused("CURRENT missing", "CURRENT is missing");
    overwrite_file("", ".log", ""); /* nothing about it may matter: still refused */
}

Test(ledger, a_damaged_CURRENT_is_refused)
{
    build_store_with_tables_and_log();
    overwrite_file("CURRENT", "", "MANIFEST-999999\n");
    assert_refused("CURRENT names a missing MANIFEST", NULL);
    overwrite_file("CURRENT", "", "garbage");
    assert_refused("CURRENT garbage", NULL);
}

Test(ledger, a_missing_or_damaged_MANIFEST_is_refused)
{
    build_store_with_tables_and_log();
    cut_file("MANIFEST-", "", 10);
    assert_refused("MANIFEST truncated", NULL);
    remove_file("MANIFEST-", "");
    assert_refused("MANIFEST missing", NULL);
}

Test(ledger, a_missing_or_truncated_table_file_is_refused_naming_the_damage)
{
    build_store_with_tables_and_log();
    cut_file("", ".ldb", 100);
    assert_refused("table truncated", "damaged");
    remove_file("", ".ldb");
    assert_refused("table missing", NULL);
}

Test(ledger, a_truncated_log_opens_with_a_note_that_blocks_may_be_missing)
{
    build_store_with_tables_and_log();
    char log[600];
    find_file("", ".log", log, sizeof log);
    struct stat st;
    cr_assert_eq(stat(log, &st), 0);
    cut_file("", ".log", (long long)st.st_size / 2); /* inside block 6 or 7 */
    ledger_error err;
    uint64_t height = 0;
    char note[LEDGER_NOTE_MAX];
    ledger_err rc = open_damaged(LEDGER_OPEN_CREATE, "log truncated", &err, &height, note,
                                 sizeof note);
    cr_assert_eq(rc, LEDGER_OK, "%s", err.message);
    cr_assert_lt(height, 7, "the cut block cannot be there");
    cr_assert_geq(height, 4, "the tables' blocks are");
    cr_assert(strstr(note, "ends inside a record") != NULL, "no note of the lost write: '%s'", note);
    rc = open_damaged(LEDGER_OPEN_CREATE, "log recovered", &err, &height, note, sizeof note);
    cr_assert_eq(rc, LEDGER_OK, "%s", err.message);
    cr_assert_str_empty(note, "the next open has nothing to say");
}

Test(ledger, a_missing_log_or_LOCK_loses_no_table)
{
    build_store_with_tables_and_log();
    ledger_error err;
    uint64_t height = 0;
    char note[LEDGER_NOTE_MAX];
    remove_file("LOCK", "");
    cr_assert_eq(open_damaged(LEDGER_OPEN_CREATE, "LOCK missing", &err, &height, note, sizeof note),
                 LEDGER_OK, "%s", err.message);
    cr_assert_eq(height, 7);
    overwrite_file("LOCK", "", "garbage");
    cr_assert_eq(open_damaged(LEDGER_OPEN_CREATE, "LOCK garbage", &err, &height, note, sizeof note),
                 LEDGER_OK, "%s", err.message);
    cr_assert_eq(height, 7);
    ledger *l = tu_open(dir, &chain); /* blocks 8-9 in a log of their own */
    tu_write(l, &chain, 2, 2);
    ledger_close(l);
    remove_file("", ".log");
    ledger_err rc = open_damaged(LEDGER_OPEN_CREATE, "log missing", &err, &height, note, sizeof note);
    if (rc == LEDGER_OK) cr_assert_geq(height, 7, "the tables' blocks are still there");
}
