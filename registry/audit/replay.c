/*
 * replay.c - re-execution for the audit (replay.h).
 */
#include "replay.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor.h"

struct replay {
    ledger *scratch;
    exec *e;
    codec_span *txs;      /* the replayed block, read back from the scratch ledger */
    codec_span *receipts;
    codec_write *writes;
};

#define WHY(...) (snprintf(why, why_cap, __VA_ARGS__), false)

/* Whether dir is absent or an empty directory. A replay must start from the genesis alone:
 * a ledger left there (an audit that was stopped, another chain's) would either build on
 * stale state or refuse block 1, blaming the audited ledger for the scratch's. */
static bool absent_or_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT;
    bool empty = true;
    for (struct dirent *e; empty && (e = readdir(d)) != NULL;) {
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    }
    closedir(d);
    return empty;
}

int replay_open(const uint8_t *genesis, size_t genesis_len, const char *dir, replay **out,
                char *why, size_t why_cap)
{
    if (!absent_or_empty(dir)) {
        return snprintf(why, why_cap, "the re-execution's scratch directory %s is not empty "
                                      "(or not a directory): remove it first", dir), -1;
    }
    replay *r = calloc(1, sizeof *r);
    if (!r) return snprintf(why, why_cap, "out of memory"), -1;
    r->txs = calloc(CODEC_BLOCK_TXS_MAX, sizeof *r->txs);
    r->receipts = calloc(CODEC_BLOCK_TXS_MAX, sizeof *r->receipts);
    r->writes = calloc(CODEC_WRITES_MAX, sizeof *r->writes);
    ledger_error lerr;
    exec_error eerr;
    exec_options opt = {.verify_signatures = false}; /* the audit verifies them: replay.h */
    if (!r->txs || !r->receipts || !r->writes) {
        snprintf(why, why_cap, "out of memory");
    } else if (ledger_open(dir, genesis, genesis_len, LEDGER_OPEN_SCRATCH, &r->scratch, &lerr)
               != LEDGER_OK) {
        snprintf(why, why_cap, "re-execution ledger in %s: %s", dir, lerr.message);
    } else if (exec_open(r->scratch, &opt, &r->e, &eerr) != EXEC_OK) {
        snprintf(why, why_cap, "re-execution: %s", eerr.message);
    } else {
        *out = r;
        return 0;
    }
    replay_close(r);
    return -1;
}

void replay_close(replay *r)
{
    if (!r) return;
    if (r->e) exec_close(r->e);
    if (r->scratch) ledger_close(r->scratch);
    free(r->txs);
    free(r->receipts);
    free(r->writes);
    free(r);
}

static const char *status_name(uint8_t status)
{
    static const char *names[] = {"OK", "REFUSED", "INVALID", "TRAPPED"};
    return status <= RECEIPT_STATUS_MAX_ ? names[status] : "?";
}

/* Name the first field in which two receipts of one tx differ. */
static bool receipt_diff(const codec_span *ledger_r, const codec_span *replay_r, char *why,
                         size_t why_cap)
{
    static _Thread_local codec_receipt a, b;
    if (codec_receipt_decode(ledger_r->data, ledger_r->len, &a, NULL) != CODEC_OK
        || codec_receipt_decode(replay_r->data, replay_r->len, &b, NULL) != CODEC_OK) {
        return WHY("receipt bytes differ");
    }
    if (a.status != b.status || a.error_code != b.error_code) {
        return WHY("receipt status: the ledger says %s %" PRIu32 ", re-execution gives %s %"
                   PRIu32 " (%s)", status_name(a.status), a.error_code, status_name(b.status),
                   b.error_code, exec_reason(b.status, b.error_code));
    }
    if (strcmp(a.reason, b.reason) != 0) {
        return WHY("receipt reason: the ledger says \"%s\", re-execution gives \"%s\"", a.reason,
                   b.reason);
    }
    if (a.gas_used != b.gas_used) {
        return WHY("receipt gas_used: the ledger says %" PRIu64 ", re-execution gives %" PRIu64,
                   a.gas_used, b.gas_used);
    }
    if (a.event_count != b.event_count) {
        return WHY("receipt events: the ledger has %" PRIu32 ", re-execution gives %" PRIu32,
                   a.event_count, b.event_count);
    }
    for (uint32_t k = 0; k < a.event_count; k++) {
        if (strcmp(a.events[k].topic.text, b.events[k].topic.text) != 0
            || a.events[k].len != b.events[k].len
            || memcmp(a.events[k].data, b.events[k].data, a.events[k].len) != 0) {
            return WHY("receipt event %" PRIu32 " (%s): the ledger's differs from re-execution's (%s)",
                       k, a.events[k].topic.text, b.events[k].topic.text);
        }
    }
    return WHY("receipt encoding differs (same fields)");
}

/* A state key for a message: its printable prefix, then the length. */
static void key_text(const codec_write *w, char *out, size_t cap)
{
    size_t n = 0;
    while (n < w->key_len && n < 40 && w->key[n] >= 0x20 && w->key[n] < 0x7f) n++;
    snprintf(out, cap, "%.*s... (%" PRIu32 " bytes)", (int)n, (const char *)w->key, w->key_len);
}

static bool write_diff(const codec_write *a, uint32_t na, const codec_write *b, uint32_t nb,
                       char *why, size_t why_cap)
{
    char ka[96], kb[96];
    for (uint32_t i = 0; i < na && i < nb; i++) {
        bool same_key = a[i].key_len == b[i].key_len && memcmp(a[i].key, b[i].key, a[i].key_len) == 0;
        bool same_value = (a[i].value == NULL) == (b[i].value == NULL)
                          && a[i].value_len == b[i].value_len
                          && (!a[i].value || memcmp(a[i].value, b[i].value, a[i].value_len) == 0);
        if (same_key && same_value) continue;
        key_text(&a[i], ka, sizeof ka);
        key_text(&b[i], kb, sizeof kb);
        if (!same_key) return WHY("state write %" PRIu32 ": the ledger writes key %s, re-execution %s", i, ka, kb);
        return WHY("state write %" PRIu32 " (key %s): the ledger's value differs from re-execution's", i, ka);
    }
    if (na != nb) {
        return WHY("state writes: the ledger has %" PRIu32 ", re-execution gives %" PRIu32, na, nb);
    }
    return WHY("state hash differs with the same writes");
}

/* The replayed block as the scratch ledger stored it. */
static bool read_back(replay *r, uint64_t height, uint8_t **data, codec_block *out)
{
    size_t len;
    if (ledger_get_block(r->scratch, height, data, &len) != LEDGER_OK) return false;
    *out = (codec_block){.txs = r->txs, .receipts = r->receipts, .writes = r->writes};
    return codec_block_decode(*data, len, out, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL)
           == CODEC_OK;
}

/* Find the first difference between the audited block b and the replayed one. */
static bool explain(replay *r, const codec_block *b, int64_t *tx, char *why, size_t why_cap)
{
    uint32_t n = exec_last_receipt_count(r->e);
    const codec_span *rs = exec_last_receipts(r->e);
    for (uint32_t i = 0; i < n && i < b->receipt_count; i++) {
        if (rs[i].len == b->receipts[i].len
            && memcmp(rs[i].data, b->receipts[i].data, rs[i].len) == 0) {
            continue;
        }
        *tx = i;
        return receipt_diff(&b->receipts[i], &rs[i], why, why_cap);
    }
    *tx = -1;
    uint8_t *data = NULL;
    codec_block again;
    bool read = read_back(r, b->header.batch.height, &data, &again);
    if (read) {
        for (uint32_t i = 0; i < b->tx_count; i++) {
            if (again.txs[i].len != b->txs[i].len
                || memcmp(again.txs[i].data, b->txs[i].data, b->txs[i].len) != 0) {
                *tx = i;
                free(data);
                return WHY("the ledger keeps this tx %s; re-execution keeps it %s",
                           codec_entry_is_pruned(&b->txs[i]) ? "pruned" : "whole",
                           codec_entry_is_pruned(&again.txs[i]) ? "pruned" : "whole");
            }
        }
        write_diff(b->writes, b->write_count, again.writes, again.write_count, why, why_cap);
    } else {
        snprintf(why, why_cap, "the re-executed block cannot be read back");
    }
    free(data);
    return false;
}

bool replay_block(replay *r, const codec_block *b, const ledger_summary *ledger, int64_t *tx,
                  char *why, size_t why_cap)
{
    *tx = -1;
    ledger_summary mine;
    exec_error err;
    exec_err rc = exec_block(r->e, &b->header.batch, b->txs, &b->commit_cert, &mine, &err);
    if (rc == EXEC_ERR_WITHHELD) {
        *tx = err.tx_index;
        return WHY("re-execution: %s", err.message);
    }
    if (rc != EXEC_OK) return WHY("re-execution failed: %s", err.message);
    if (memcmp(mine.receipts_root.bytes, ledger->receipts_root.bytes, 32) == 0
        && memcmp(mine.state_hash.bytes, ledger->state_hash.bytes, 32) == 0
        && memcmp(mine.block_hash.bytes, ledger->block_hash.bytes, 32) == 0) {
        return true;
    }
    return explain(r, b, tx, why, why_cap);
}

/* A state key for a message, from raw bytes. */
static void row_text(const uint8_t *key, size_t len, char *out, size_t cap)
{
    codec_write w = {.key = key, .key_len = (uint32_t)len};
    key_text(&w, out, cap);
}

/* Whether the values of key in both ledgers are the same bytes. */
static bool same_value(ledger *a, ledger *b, const uint8_t *key, size_t len)
{
    uint8_t *va = NULL, *vb = NULL;
    size_t la = 0, lb = 0;
    bool same = ledger_state_get(a, key, len, &va, &la) == LEDGER_OK
                && ledger_state_get(b, key, len, &vb, &lb) == LEDGER_OK && la == lb
                && (la == 0 || memcmp(va, vb, la) == 0);
    free(va);
    free(vb);
    return same;
}

/* Name the first row in which the two differ (the digests did): key by key. */
static bool first_row_difference(replay *r, ledger *store, char *why, size_t why_cap)
{
    static uint8_t ka[CODEC_KEY_MAX], kb[CODEC_KEY_MAX];
    size_t la = 0, lb = 0;
    char text[96];
    /* both in key order, in step: each round moves past one key of each, or names a row */
    static const uint8_t any[1] = {0}; /* the empty prefix: every state key */
    bool has_a = ledger_state_next(store, any, 0, NULL, 0, ka, sizeof ka, &la) == LEDGER_OK;
    bool has_b = ledger_state_next(r->scratch, any, 0, NULL, 0, kb, sizeof kb, &lb) == LEDGER_OK;
    while (has_a || has_b) {
        int order = !has_a ? 1 : !has_b ? -1 : 0;
        if (has_a && has_b) {
            order = memcmp(ka, kb, la < lb ? la : lb);
            if (order == 0) order = la < lb ? -1 : la > lb ? 1 : 0;
        }
        if (order < 0) {
            row_text(ka, la, text, sizeof text);
            return WHY("state row %s: the store holds it, re-execution leaves none", text);
        }
        if (order > 0) {
            row_text(kb, lb, text, sizeof text);
            return WHY("state row %s: re-execution leaves it, the store does not hold it", text);
        }
        if (!same_value(store, r->scratch, ka, la)) {
            row_text(ka, la, text, sizeof text);
            return WHY("state row %s: the store's value differs from re-execution's", text);
        }
        has_a = ledger_state_next(store, any, 0, ka, la, ka, sizeof ka, &la) == LEDGER_OK;
        has_b = ledger_state_next(r->scratch, any, 0, kb, lb, kb, sizeof kb, &lb) == LEDGER_OK;
    }
    return WHY("the store's state rows cannot be read the same way twice");
}

bool replay_same_state(replay *r, ledger *store, char *why, size_t why_cap)
{
    hash32 a, b;
    uint64_t rows_a, rows_b;
    if (ledger_state_digest(store, &a, &rows_a) != LEDGER_OK
        || ledger_state_digest(r->scratch, &b, &rows_b) != LEDGER_OK) {
        return WHY("the state rows cannot be read");
    }
    if (rows_a == rows_b && memcmp(a.bytes, b.bytes, 32) == 0) return true;
    return first_row_difference(r, store, why, why_cap);
}
