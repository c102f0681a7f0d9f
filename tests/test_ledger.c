/*
 * test_ledger.c - the LevelDB block store: append, read, reopen, refusal of
 * bad appends and corrupt stores, and crash safety under kill -9.
 *
 * The corruption tests write into the store's LevelDB directly: a test of the
 * store may reach under it to inject faults; nothing else in trialreg does.
 */
#include <criterion/criterion.h>
#include <leveldb/c.h>
#include <poll.h>
#include <signal.h>
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
