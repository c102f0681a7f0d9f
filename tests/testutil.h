/*
 * testutil.h - small helpers shared by the registry test suites.
 */
#ifndef TRIALREG_TESTUTIL_H
#define TRIALREG_TESTUTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "sample.h"

/* Make a fresh temporary directory; path must hold 256 bytes. */
static inline void tu_tempdir(char *path, const char *name)
{
    snprintf(path, 256, "/tmp/trialreg-%s-XXXXXX", name);
    cr_assert_not_null(mkdtemp(path), "mkdtemp failed");
}

static inline void tu_rmdir(const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    cr_assert_eq(system(cmd), 0);
}

/* A sample consortium: keys and genesis (malloc'd). */
typedef struct {
    sample_keys keys;
    uint8_t *genesis;
    size_t genesis_len;
} tu_chain;

static inline void tu_chain_make(tu_chain *c, uint64_t seed)
{
    sample_keys_derive(seed, 4, &c->keys);
    cr_assert_eq(sample_genesis(&c->keys, "test", &c->genesis, &c->genesis_len), 0);
}

static inline ledger *tu_open(const char *dir, const tu_chain *c)
{
    ledger *l = NULL;
    ledger_error err;
    ledger_err rc = ledger_open(dir, c->genesis, c->genesis_len, LEDGER_OPEN_CREATE, &l, &err);
    cr_assert_eq(rc, LEDGER_OK, "ledger_open: %s", err.message);
    return l;
}

static inline void tu_write(ledger *l, const tu_chain *c, uint64_t blocks, uint32_t txs)
{
    char why[300];
    cr_assert_eq(sample_write_blocks(l, &c->keys, blocks, txs, why, sizeof why), 0, "%s", why);
}

#endif
