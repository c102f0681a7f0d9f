/*
 * node.c - a validator (node.h): drives the PBFT core with the transport,
 * verifies txs once on a worker pool, executes committed batches, persists
 * the core's durable state before the messages that depend on it.
 */
#define _POSIX_C_SOURCE 200809L
#include "node.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client_api.h"
#include "codec.h"
#include "crypto.h"
#include "executor.h"
#include "ledger.h"
#include "merkle.h"
#include "mempool.h"
#include "pbft.h"
#include "proof.h"
#include "transport.h"
#include "wire.h"

#define RETRANSMIT_MS 200
#define STATUS_EVERY_MS 200
#define FETCH_EVERY_MS 300
#define FETCH_SKEW_MS 30000u         /* a signed FETCH's time against this node's clock */
#define FETCH_REFUSED_LOG_MS 10000u  /* ignored FETCHes: one log line per sender per 10 s */
#define BACKFILL_EVERY_MS 100 /* result certificates missing below the stable height */
#define SEND_QUEUE_MAX 1024
#define WIRE_BUF_MAX (8u << 20)
#define EXEC_QUEUE_MAX 256 /* committed batches waiting for their tx bytes */
#define WAITING_MAX 32      /* PRE-PREPAREs waiting for their txs' signature checks */
#define WAITING_PER_SENDER PBFT_WINDOW /* of them from one sender (its heights in flight) */
#define HELD_MAX (4 * PBFT_WINDOW) /* result certificates ahead of execution */
#define NO_SLOT UINT32_MAX /* a validator this node has no transport link to */
#define ADDRESS_RETRY_MS 5000u /* a key without an address: look in the config again after */

/* ==== logging ============================================================ */

enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
static const char *const LEVELS[] = {"DEBUG", "INFO", "WARN", "ERROR"};

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Timers run on this clock: a step of the wall clock (NTP) fires none of them. */
static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

typedef struct {
    uint8_t *data;
    size_t len;
    uint32_t to; /* a transport slot, or PBFT_BROADCAST: the validators of the sets the
                  * core may still need (broadcast_slots) */
} queued;

struct node {
    config_node cfg;
    int log_level;
    uint8_t *genesis;
    size_t genesis_len;
    hash32 chain;
    keypair key;
    keypair next_key;   /* config next_key_file: signs from a rotation's boundary on */
    bool has_next_key;
    uint32_t n;         /* the genesis's validators (transport slots 0..n-1, by index) */
    pubkey validators[PBFT_N_MAX];
    /* Every validator key of any set this node learnt of, and its transport slot (NO_SLOT:
     * no address yet; looked up again after retry_ms). Genesis keys have their index. */
    uint32_t link_count;
    struct link {
        pubkey key;
        uint32_t slot;
        uint64_t retry_ms;
    } links[TP_PEERS_MAX];
    ledger *ledger;
    exec *exec;
    capi *api;
    tp_server *server;
    tp_net *net;   /* the real peer links (NULL under a harness's node_env) */
    node_env env;  /* peer links and clock: the real ones, or a harness's */
    mempool *pool;
    pbft_core *core;
    wire_msg *in;                /* decode scratch (large) */
    uint8_t *wbuf;               /* encode scratch */
    char state_path[CONFIG_PATH_MAX + 32], status_path[CONFIG_PATH_MAX + 32];
    char nv_path[CONFIG_PATH_MAX + 32]; /* pbft.newview: the NEW-VIEW it issued last */
    uint64_t state_seq;
    bool persist_due;
    bool state_dir_synced; /* data_dir fsynced since pbft.state was first written */
    int state_fd_plus1;    /* pbft.state, kept open once written (issue 14 D); 0: not open */
    uint32_t send_count;
    queued sends[SEND_QUEUE_MAX];
    /* committed batches waiting for execution (in height order) */
    uint32_t exec_count;
    pbft_committed *exec_queue;  /* [EXEC_QUEUE_MAX] */
    uint64_t fetch_sent_ms, status_ms;
    /* result certificates of heights not executed here yet (by height % HELD_MAX) */
    codec_result_cert held[HELD_MAX];
    ledger_summary executed[HELD_MAX]; /* my own results of recent heights (height % HELD_MAX) */
    uint64_t cert_scan, cert_fetch_ms; /* result-certificate backfill (backfill_scan) */
    /* peer messages refused (bad signature, beyond my window) since my last delivery, and
     * when that was (stall_fetch) */
    uint64_t unfollowed, stall_height, stall_ms;
    uint32_t fetch_turn;               /* the peer asked last (send_fetch) */
    /* FETCHes ignored (unsigned, bad signature, stale), per claimed sender: logged at most
     * once per FETCH_REFUSED_LOG_MS each (on_fetch) */
    uint64_t fetch_refused_log_ms[PBFT_N_MAX];
    uint32_t fetch_refused[PBFT_N_MAX];
    /* PRE-PREPAREs waiting for the verifiers to check their txs (a copy of the message) */
    uint32_t waiting_count;
    struct waiting {
        uint8_t *data;
        size_t len;
        uint64_t height;
        uint32_t from;
        hash32 *digests;
        uint32_t count;
    } waiting[WAITING_MAX];
    bool failed;
    bool crashed; /* a harness's crash point said stop (node_env.crash) */
    uint64_t missing_to;  /* the highest height this node asked peers for (fetch_missing) */
    node_metrics metrics; /* updated by this thread */
    uint64_t metrics_view;
    bool metrics_view_known;
    pthread_mutex_t status_mu;
    node_status status;   /* under status_mu: the snapshots node_status_get and */
    node_metrics metrics_snapshot; /* node_metrics_get read */
    void (*on_certified)(void *ctx, uint64_t height); /* node_on_certified */
    void *on_certified_ctx;
};

static double elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void logf_(node *nd, int level, const char *fmt, ...)
{
    if (level < nd->log_level)
        return;
    char ts[32];
    uint64_t ms = wall_ms();
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    char id[16] = "joined"; /* no genesis index: a validator a change added */
    if (nd->cfg.node != CONFIG_NODE_NONE)
        snprintf(id, sizeof id, "%u", nd->cfg.node);
    fprintf(stderr, "%s.%03uZ %-5s node=%s %s\n", ts, (unsigned)(ms % 1000), LEVELS[level], id,
            line);
}

static void hex8(const hash32 *h, char out[17]) { tcrypto_to_hex(h->bytes, 8, out); }

/* A harness's crash point (node_env.crash; never in production): true once the node has
 * crashed, here or earlier in this turn; it then writes and sends nothing more. */
static bool crash_point(node *nd, const char *point)
{
    if (!nd->crashed && nd->env.crash && nd->env.crash(nd->env.ctx, point))
        nd->crashed = nd->failed = true;
    return nd->crashed;
}

/* ==== durable state file ===================================================== */

#define STATE_MAGIC "TRPBFT02"
#define STATE_HEAD 64 /* magic 8, seq 8, len 8, layout 8, sha256 32 */
#define STATE_SLOT (STATE_HEAD + sizeof(pbft_durable))

/* The durable state packed: the struct without its prepared certificates, then
 * each held certificate with only the digests its batch has (a raw struct is
 * 77 KB, almost all of it unused digest slots; packed it is a few KB). */
#define CERT_HEAD offsetof(pbft_prepared_cert, batch.txs)
#define CERT_TAIL offsetof(pbft_prepared_cert, preprepare_sig)
_Static_assert(offsetof(pbft_durable, diverged) ==
                   offsetof(pbft_durable, prepared) + PBFT_WINDOW * sizeof(pbft_prepared_cert),
               "state_pack: diverged must be the field after prepared[], and the last one");
_Static_assert(sizeof(pbft_durable) == offsetof(pbft_durable, diverged) + sizeof(pbft_height),
               "state_pack: no field after diverged");

static size_t state_pack(const pbft_durable *d, uint8_t *out)
{
    size_t at = offsetof(pbft_durable, prepared);
    memcpy(out, d, at);
    for (uint32_t i = 0; i < PBFT_WINDOW; i++) {
        if (!d->has_prepared[i])
            continue;
        const pbft_prepared_cert *c = &d->prepared[i];
        const uint8_t *raw = (const uint8_t *)c;
        memcpy(out + at, raw, CERT_HEAD);
        at += CERT_HEAD;
        memcpy(out + at, c->batch.txs, c->batch.count * sizeof(hash32));
        at += c->batch.count * sizeof(hash32);
        memcpy(out + at, raw + CERT_TAIL, sizeof *c - CERT_TAIL);
        at += sizeof *c - CERT_TAIL;
    }
    memcpy(out + at, &d->diverged, sizeof d->diverged);
    return at + sizeof d->diverged;
}

static bool state_unpack(const uint8_t *in, size_t len, pbft_durable *d)
{
    size_t at = offsetof(pbft_durable, prepared);
    memset(d, 0, sizeof *d);
    if (len < at)
        return false;
    memcpy(d, in, at);
    for (uint32_t i = 0; i < PBFT_WINDOW; i++) {
        if (!d->has_prepared[i])
            continue;
        pbft_prepared_cert *c = &d->prepared[i];
        if (len < at + CERT_HEAD)
            return false;
        memcpy(c, in + at, CERT_HEAD);
        at += CERT_HEAD;
        size_t digests = c->batch.count * sizeof(hash32);
        if (c->batch.count > PBFT_BATCH_MAX || len < at + digests + sizeof *c - CERT_TAIL)
            return false;
        memcpy(c->batch.txs, in + at, digests);
        at += digests;
        memcpy((uint8_t *)c + CERT_TAIL, in + at, sizeof *c - CERT_TAIL);
        at += sizeof *c - CERT_TAIL;
    }
    if (len != at + sizeof d->diverged)
        return false;
    memcpy(&d->diverged, in + at, sizeof d->diverged);
    return true;
}

/* fsync a directory, so that a file just created in it survives a power loss (an
 * fdatasync of the file does not make its name durable). 0 or -1 (errno set). */
static int sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Write the durable state to the next slot and sync it; the first write of a run
 * also syncs the data directory (the file may have just been created). */
static int state_write(node *nd)
{
    static uint8_t buf[STATE_SLOT];
    uint64_t seq = ++nd->state_seq, layout = sizeof(pbft_durable);
    uint64_t len = state_pack(&nd->core->durable, buf + STATE_HEAD);
    memcpy(buf, STATE_MAGIC, 8);
    memcpy(buf + 8, &seq, 8);
    memcpy(buf + 16, &len, 8);
    memcpy(buf + 24, &layout, 8);
    tcrypto_sha256(buf + STATE_HEAD, len, (hash32 *)(buf + 32));
    /* opened once and kept: a vote never waits for a free descriptor (issue 14 D) */
    if (!nd->state_fd_plus1)
        nd->state_fd_plus1 = open(nd->state_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) + 1;
    int fd = nd->state_fd_plus1 - 1;
    if (fd < 0) {
        nd->state_fd_plus1 = 0;
        return -1;
    }
    off_t at = (off_t)((seq % 2) * STATE_SLOT);
    size_t n = STATE_HEAD + len;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = pwrite(fd, buf, n, at) == (ssize_t)n && fdatasync(fd) == 0 ? 0 : -1;
    metrics_observe(&nd->metrics.state_fsync, elapsed_ms(&t0));
    if (rc == 0 && !nd->state_dir_synced) /* the file's directory entry, once per run */
        rc = sync_dir(nd->cfg.data_dir);
    nd->state_dir_synced |= rc == 0;
    return rc;
}

/* The newest intact slot, or false if there is none (a fresh node). */
static bool state_read(node *nd, pbft_durable *out)
{
    static uint8_t buf[STATE_SLOT];
    static pbft_durable d;
    int fd = open(nd->state_path, O_RDONLY);
    if (fd < 0)
        return false;
    bool found = false;
    for (int slot = 0; slot < 2; slot++) {
        ssize_t got = pread(fd, buf, STATE_SLOT, (off_t)(slot * STATE_SLOT));
        if (got < STATE_HEAD)
            continue;
        uint64_t seq, len, layout;
        memcpy(&seq, buf + 8, 8);
        memcpy(&len, buf + 16, 8);
        memcpy(&layout, buf + 24, 8);
        hash32 sum;
        if (memcmp(buf, STATE_MAGIC, 8) != 0 || layout != sizeof(pbft_durable) ||
            len > (uint64_t)got - STATE_HEAD || (found && seq <= nd->state_seq))
            continue;
        tcrypto_sha256(buf + STATE_HEAD, len, &sum);
        if (memcmp(&sum, buf + 32, 32) != 0 || !state_unpack(buf + STATE_HEAD, len, &d))
            continue;
        nd->state_seq = seq;
        *out = d;
        found = true;
    }
    close(fd);
    return found;
}

/* ==== the NEW-VIEW this replica issued (pbft.newview) ===========================
 * A new primary keeps its NEW-VIEW (wire encoding) beside pbft.state, so that after a
 * restart it re-sends it to replicas that missed it (pbft_restore_new_view). Written
 * once per view this replica leads: a temporary file, fdatasync, rename, and an fsync
 * of the directory so the rename itself survives a power loss. */

static int new_view_write(node *nd, const pbft_new_view *nv)
{
    uint8_t *buf = malloc(WIRE_BUF_MAX);
    if (!buf)
        return -1;
    codec_buf b = codec_buf_make(buf, WIRE_BUF_MAX);
    pbft_msg m = {.type = PBFT_MSG_NEW_VIEW, .from = pbft_primary(nd->core, nv->view),
                  .view = nv->view, .new_view = nv};
    char tmp[sizeof nd->nv_path + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", nd->nv_path);
    int rc = -1;
    if (wire_pbft_encode(m.from, &m, NULL, 0, &b) == CODEC_OK && !b.overflow) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            rc = write(fd, buf, b.len) == (ssize_t)b.len && fdatasync(fd) == 0 ? 0 : -1;
            close(fd);
        }
    }
    free(buf);
    if (rc == 0)
        rc = rename(tmp, nd->nv_path) == 0 && sync_dir(nd->cfg.data_dir) == 0 ? 0 : -1;
    return rc;
}

/* After pbft_restore: hand the core the NEW-VIEW it issued, if it still leads that
 * view. A file that does not decode or is refused by the core is ignored (logged):
 * it only costs the replicas that missed it a wait for the next view change. */
static void new_view_restore(node *nd)
{
    FILE *f = fopen(nd->nv_path, "rb");
    if (!f)
        return;
    uint8_t *buf = malloc(WIRE_BUF_MAX);
    size_t len = buf ? fread(buf, 1, WIRE_BUF_MAX, f) : 0;
    fclose(f);
    codec_error ce;
    wire_msg *w = nd->in;
    if (len > 0 && wire_decode(buf, len, w, &ce) == CODEC_OK && w->kind == WIRE_PBFT &&
        w->msg.type == PBFT_MSG_NEW_VIEW) {
        pbft_err e = pbft_restore_new_view(nd->core, &w->nv);
        logf_(nd, e == PBFT_OK ? LOG_INFO : LOG_DEBUG, "own new-view of view %llu: %s",
              (unsigned long long)w->nv.view, e == PBFT_OK ? "restored" : pbft_strerror(e));
    } else {
        logf_(nd, LOG_WARN, "%s does not hold a NEW-VIEW; ignored", nd->nv_path);
    }
    free(buf);
}

/* ==== signing interface for the core ========================================= */

/* The validator set that begins at set_from (the core's numbering: 0 is the genesis's,
 * whose history entry begins at 1), or NULL if the ledger records none there. The
 * executor's history is written by this thread only (exec_block), so reading it here
 * needs no lock. */
static const codec_valset *set_from_history(node *nd, uint64_t set_from)
{
    const consortium_valset_entry *e =
        consortium_valset_at(exec_history(nd->exec), set_from ? set_from : 1);
    if (set_from != 0 && e->boundary != set_from)
        return NULL;
    return &e->set;
}

/* This node's key in set s (its key_file's, or next_key_file's for a rotation), and its
 * index there; NULL if it holds none of the set's keys. */
static const keypair *my_key_in(const node *nd, const codec_valset *s, uint32_t *index)
{
    if (consortium_valset_has(s, &nd->key.public_key, index))
        return &nd->key;
    if (nd->has_next_key && consortium_valset_has(s, &nd->next_key.public_key, index))
        return &nd->next_key;
    return NULL;
}

static bool is_my_key(const node *nd, const pubkey *k)
{
    return memcmp(k, &nd->key.public_key, sizeof *k) == 0 ||
           (nd->has_next_key && memcmp(k, &nd->next_key.public_key, sizeof *k) == 0);
}

/* set_from names the validator set the index refers to (pbft.h): the node signs with its
 * key in that set and checks with the key the set holds at that index (docs/NODE.md
 * "Validator-set changes"). */
static bool core_sign(void *ctx, uint64_t set_from, const char *tag, const uint8_t *body,
                      size_t len, signature *out)
{
    node *nd = ctx;
    const codec_valset *s = set_from_history(nd, set_from);
    const keypair *k = s ? my_key_in(nd, s, NULL) : NULL;
    return k && tcrypto_sign(k, tag, &nd->chain, body, len, out) == TCRYPTO_OK;
}

static bool core_verify(void *ctx, uint64_t set_from, pbft_replica v, const char *tag,
                        const uint8_t *body, size_t len, const signature *sig)
{
    node *nd = ctx;
    const codec_valset *s = set_from_history(nd, set_from);
    return s && v < s->count &&
           tcrypto_verify(&s->validators[v].key, tag, &nd->chain, body, len, sig);
}

/* Issue 14 C, layer 2: a request that is invalid in EVERY state it may be executed in
 * (its contract exists in no genesis or deploy, its method in no version, its arguments
 * fit no version of it: exec_check_route) is refused, whether proposed here or carried
 * by a PRE-PREPARE. Its signer's role is not checked: with several heights in flight an
 * enrolment may land before it, so a lagging correct backup must not refuse a correct
 * primary's batch on state; the node a client submits to checks that (client API).
 * A governance deploy seen here is noted first, so that calls to the contract it brings
 * are not refused before it is executed. Node thread only (as exec_block). */
static bool request_routable(node *nd, const hash32 *d)
{
    static _Thread_local codec_tx tx; /* large: not on the stack */
    codec_span span;
    mempool_lock(nd->pool);
    bool ok = mempool_get_locked(nd->pool, d, &span) &&
              codec_tx_decode(span.data, span.len, &tx, NULL) == CODEC_OK;
    if (ok && strcmp(tx.contract.text, "governance") == 0 && tx.arg_count >= 1 &&
        tx.args[0].kind == CODEC_VALUE_BYTES && tx.args[0].len >= 1 &&
        tx.args[0].len <= CODEC_NAME_MAX) {
        char name[CODEC_NAME_MAX + 1];
        memcpy(name, tx.args[0].bytes, tx.args[0].len);
        name[tx.args[0].len] = '\0';
        if (strlen(name) == tx.args[0].len)
            exec_note_deploy(nd->exec, name);
    }
    uint32_t code = ok ? exec_check_route(nd->exec, &tx) : 0;
    mempool_unlock(nd->pool);
    if (code) {
        char h[17];
        hex8(d, h);
        logf_(nd, LOG_INFO, "request %s refused: %s (code %u)", h,
              exec_reason(RECEIPT_INVALID, code), code);
    }
    return ok && code == 0;
}

/* A request the core may order or prepare: held here with good signatures, and not in
 * my ledger already. The core's own filter remembers the last PBFT_RECENT_MAX committed
 * requests and starts empty after a restart; the ledger's tx index knows every committed
 * tx (issue 14 B: a restarted primary proposed, and backups prepared, txs committed long
 * before). Only txs this node executed count: a lagging backup may prepare a tx that a
 * block it has not executed yet holds (PBFT orders a request twice then, docs/PBFT.md
 * §11.2, and the executor refuses the second as a replay). */
static bool core_request_valid(void *ctx, const hash32 *d)
{
    node *nd = ctx;
    hash32 id;
    uint64_t height;
    uint32_t index;
    return mempool_verified_id(nd->pool, d, &id) &&
           ledger_find_tx(nd->ledger, &id, &height, &index) == LEDGER_ERR_NOT_FOUND &&
           request_routable(nd, d);
}

/* The bytes of a request held in the mempool (0 if none): the core bounds a batch's
 * bytes with it (genesis rules.block_bytes_max). */
static uint64_t core_request_bytes(void *ctx, const hash32 *d)
{
    node *nd = ctx;
    codec_span span = {0};
    mempool_lock(nd->pool);
    bool held = mempool_get_locked(nd->pool, d, &span);
    mempool_unlock(nd->pool);
    return held ? span.len : 0;
}

/* The most txs one batch may hold under the rules: max_batch_txs, and no more txs than
 * the block's gas holds at each tx's limit (block_gas_limit / tx_gas_limit), within what
 * the PBFT core carries (PBFT_BATCH_MAX). */
uint32_t node_batch_max(const codec_rules *rules)
{
    uint64_t by_gas = rules->block_gas_limit / rules->tx_gas_limit;
    uint64_t k = rules->max_batch_txs < by_gas ? rules->max_batch_txs : by_gas;
    return k < PBFT_BATCH_MAX ? (uint32_t)k : PBFT_BATCH_MAX;
}

/* ==== validator links (docs/NODE.md "Validator-set changes") ====================== */

/* Re-read the config file for the "validators" address book and next_key_file: a change
 * may name a key this node has no address for yet, or rotate this node's own key. */
static void reload_config(node *nd)
{
    config_node fresh;
    char why[CONFIG_PATH_MAX + 128];
    if (nd->cfg.path[0] == '\0')
        return; /* a harness's config, never read from a file */
    if (config_load(nd->cfg.path, &fresh, why, sizeof why) != 0) {
        logf_(nd, LOG_WARN, "config re-read refused (keeping the one loaded): %s", why);
        return;
    }
    nd->cfg.address_count = fresh.address_count;
    memcpy(nd->cfg.addresses, fresh.addresses, sizeof fresh.addresses);
    if (!nd->has_next_key && fresh.next_key_file[0]) {
        tcrypto_err ke = tcrypto_read_secret_key(fresh.next_key_file, &nd->next_key);
        nd->has_next_key = ke == TCRYPTO_OK;
        logf_(nd, nd->has_next_key ? LOG_INFO : LOG_WARN, "next_key_file %s: %s",
              fresh.next_key_file, nd->has_next_key ? "loaded" : tcrypto_strerror(ke));
    }
}

/* The transport slot of the validator with this key: its genesis index, a slot opened for
 * it before, or a new one dialing its address from the config ("validators", re-read once
 * per ADDRESS_RETRY_MS while it has none). NO_SLOT for this node's own keys, a key without
 * an address, or under a harness (which links the genesis validators only). */
static uint32_t peer_slot(node *nd, const pubkey *key)
{
    if (is_my_key(nd, key))
        return NO_SLOT;
    for (uint32_t i = 0; i < nd->n; i++)
        if (memcmp(&nd->validators[i], key, sizeof *key) == 0)
            return i;
    struct link *l = NULL;
    for (uint32_t i = 0; i < nd->link_count && !l; i++)
        if (memcmp(&nd->links[i].key, key, sizeof *key) == 0)
            l = &nd->links[i];
    uint64_t now = nd->env.mono_ms(nd->env.ctx);
    if (l && (l->slot != NO_SLOT || now < l->retry_ms))
        return l->slot;
    if (!l && nd->link_count == TP_PEERS_MAX)
        return NO_SLOT;
    if (!l) {
        l = &nd->links[nd->link_count++];
        *l = (struct link){.key = *key, .slot = NO_SLOT};
    }
    l->retry_ms = now + ADDRESS_RETRY_MS;
    if (!nd->net)
        return NO_SLOT;
    const codec_genesis *g = ledger_genesis(nd->ledger);
    const char *url = config_address_of(&nd->cfg, key, g->validators, g->validator_count);
    if (!url) {
        reload_config(nd);
        url = config_address_of(&nd->cfg, key, g->validators, g->validator_count);
    }
    char hex[17], why[CONFIG_URL_MAX + 128];
    tcrypto_to_hex(key->bytes, 8, hex);
    if (!url) {
        logf_(nd, LOG_WARN, "validator %s has no address in %s (\"validators\"): not sent to; "
              "looked up again in %u s", hex, nd->cfg.path, ADDRESS_RETRY_MS / 1000);
        return NO_SLOT;
    }
    for (uint32_t i = 0; i < nd->n; i++)
        if (i != nd->cfg.node && strcmp(nd->cfg.peers[i], url) == 0)
            return l->slot = i; /* a genesis validator's host under a new key */
    if (tp_add_peer(nd->net, url, &l->slot, why, sizeof why) != TP_OK) {
        l->slot = NO_SLOT;
        logf_(nd, LOG_WARN, "validator %s at %s: %s", hex, url, why);
        return NO_SLOT;
    }
    logf_(nd, LOG_INFO, "validator %s: dialing %s (slot %u)", hex, url, l->slot);
    return l->slot;
}

/* The set entries the core may still need: the one in force at the height after its low
 * watermark, and every later one (a pending change's). */
static const consortium_valset_entry *needed_sets(node *nd, uint32_t *count)
{
    const consortium_history *h = exec_history(nd->exec);
    const consortium_valset_entry *from =
        consortium_valset_at(h, nd->core->durable.stable.height + 1);
    *count = (uint32_t)(h->valsets + h->valset_count - from);
    return from;
}

/* The slots a broadcast goes to: every validator of the sets the core may still need
 * (so a new validator hears everything from the change's commit on, and a removed one
 * nothing once the boundary is stable here), each once. Returns how many. */
static uint32_t broadcast_slots(node *nd, uint32_t *slots)
{
    uint32_t count, k = 0;
    const consortium_valset_entry *e = needed_sets(nd, &count);
    for (uint32_t s = 0; s < count; s++) {
        for (uint32_t i = 0; i < e[s].set.count; i++) {
            uint32_t slot = peer_slot(nd, &e[s].set.validators[i].key);
            bool dup = slot == NO_SLOT;
            for (uint32_t j = 0; j < k && !dup; j++)
                dup = slots[j] == slot;
            if (!dup && k < TP_PEERS_MAX)
                slots[k++] = slot;
        }
    }
    return k;
}

/* The envelope's `from` of what this node sends besides PBFT messages (whose own `from`
 * is their signer's index in the set of their height): its index in the set of its
 * window, else 0. Receivers authenticate by signatures, never by this. */
static uint32_t wire_from(node *nd)
{
    uint32_t index;
    const consortium_valset_entry *e =
        consortium_valset_at(exec_history(nd->exec), nd->core->durable.stable.height + 1);
    return my_key_in(nd, &e->set, &index) ? index : 0;
}

/* ==== sending ================================================================== */

static void queue_send(node *nd, uint32_t to, const uint8_t *data, size_t len)
{
    if (nd->send_count == SEND_QUEUE_MAX) {
        logf_(nd, LOG_WARN, "send queue full: message dropped (retransmission recovers)");
        return;
    }
    uint8_t *copy = malloc(len);
    if (!copy)
        return;
    memcpy(copy, data, len);
    nd->sends[nd->send_count++] = (queued){copy, len, to};
}

static void send_to(node *nd, uint32_t peer, const uint8_t *data, size_t len)
{
    if (crash_point(nd, "send"))
        return;
    if (!nd->env.send(nd->env.ctx, peer, data, len))
        logf_(nd, LOG_DEBUG, "send to %u: not sent", peer);
}

/* Send what is queued: to each peer, its messages in order, several together in
 * one BUNDLE (one transport message) when there are several. */
static void flush_sends(node *nd)
{
    static codec_span parts[WIRE_BUNDLE_MAX];
    static uint32_t targets[TP_PEERS_MAX + SEND_QUEUE_MAX];
    size_t bound = nd->cfg.max_message_bytes - 64; /* room for the bundle's own headers */
    uint32_t target_count = nd->send_count ? broadcast_slots(nd, targets) : 0;
    for (uint32_t i = 0; i < nd->send_count; i++) { /* directed sends: their slot */
        bool dup = nd->sends[i].to == PBFT_BROADCAST;
        for (uint32_t j = 0; j < target_count && !dup; j++)
            dup = targets[j] == nd->sends[i].to;
        if (!dup)
            targets[target_count++] = nd->sends[i].to;
    }
    for (uint32_t t = 0; t < target_count; t++) {
        uint32_t p = targets[t];
        uint32_t count = 0;
        size_t bytes = 0;
        for (uint32_t i = 0; i <= nd->send_count; i++) {
            const queued *q = i < nd->send_count ? &nd->sends[i] : NULL;
            if (q && q->to != PBFT_BROADCAST && q->to != p)
                continue;
            bool full = q && (count == WIRE_BUNDLE_MAX || bytes + q->len + 8 > bound);
            if (count > 0 && (!q || full)) { /* send what is gathered */
                codec_buf b = codec_buf_make(nd->wbuf, WIRE_BUF_MAX);
                if (count == 1)
                    send_to(nd, p, parts[0].data, parts[0].len);
                else if (wire_bundle_encode(wire_from(nd), parts, count, &b) == CODEC_OK)
                    send_to(nd, p, b.data, b.len);
                count = 0;
                bytes = 0;
            }
            if (q) {
                parts[count++] = (codec_span){q->data, q->len};
                bytes += q->len + 8;
            }
        }
    }
    for (uint32_t i = 0; i < nd->send_count; i++)
        free(nd->sends[i].data);
    nd->send_count = 0;
}

/* Encode a core output (with the tx bytes of a PRE-PREPARE) into the queue. */
static void queue_out(node *nd, const pbft_out *o)
{
    static codec_span txs[PBFT_BATCH_MAX];
    uint32_t tx_count = 0;
    mempool_lock(nd->pool);
    if (o->msg.type == PBFT_MSG_PREPREPARE && o->msg.batch) {
        for (uint32_t i = 0; i < o->msg.batch->count; i++) {
            if (!mempool_get_locked(nd->pool, &o->msg.batch->txs[i], &txs[i])) {
                tx_count = 0; /* a re-issued batch I lack bytes for: digests only */
                break;
            }
            tx_count++;
        }
    }
    codec_buf b = codec_buf_make(nd->wbuf, WIRE_BUF_MAX);
    codec_err e = wire_pbft_encode(o->msg.from, &o->msg, txs, tx_count, &b);
    if (tx_count > 0 && (e != CODEC_OK || b.overflow || b.len > nd->cfg.max_message_bytes)) {
        /* too big with the bytes: digests only (the peers hold the txs from TXS forwards) */
        b = codec_buf_make(nd->wbuf, WIRE_BUF_MAX);
        e = wire_pbft_encode(o->msg.from, &o->msg, txs, 0, &b);
    }
    mempool_unlock(nd->pool);
    if (e != CODEC_OK || b.overflow) {
        logf_(nd, LOG_ERROR, "cannot encode a type %d message: %s", (int)o->msg.type,
              codec_strerror(e));
        return;
    }
    uint32_t to = PBFT_BROADCAST; /* the core sends only broadcasts today; a directed one
                                    * names an index in the set of its height */
    if (o->to != PBFT_BROADCAST) {
        const consortium_valset_entry *e = consortium_valset_at(exec_history(nd->exec),
                                                                o->msg.height);
        to = o->to < e->set.count ? peer_slot(nd, &e->set.validators[o->to].key) : NO_SLOT;
        if (to == NO_SLOT)
            return;
    }
    queue_send(nd, to, b.data, b.len);
}

/* ==== execution ================================================================== */

static void store_result_cert(node *nd, const codec_result_cert *rc)
{
    uint8_t buf[8192];
    codec_buf b = codec_buf_make(buf, sizeof buf);
    ledger_error le;
    if (codec_result_cert_encode(rc, &b) != CODEC_OK ||
        ledger_put_result_cert(nd->ledger, rc->height, b.data, b.len, &le) != LEDGER_OK) {
        logf_(nd, LOG_WARN, "result certificate of height %llu not stored",
              (unsigned long long)rc->height);
        return;
    }
    if (nd->on_certified) nd->on_certified(nd->on_certified_ctx, rc->height);
}

void node_on_certified(node *n, void (*fn)(void *ctx, uint64_t height), void *ctx)
{
    n->on_certified = fn;
    n->on_certified_ctx = ctx;
}

static bool my_block_hash(node *nd, uint64_t h, hash32 *out);

/* Whether a result certificate certifies what this node's own execution of its height
 * gave: block hash, state hash and receipts root for a recent height (the ring of my
 * results); for an older one (executed before a restart) the block hash, which is all
 * the stored block gives without re-deriving the state. */
static bool cert_matches_mine(node *nd, const codec_result_cert *rc)
{
    const ledger_summary *mine = &nd->executed[rc->height % HELD_MAX];
    if (mine->height == rc->height)
        return memcmp(&mine->block_hash, &rc->block_hash, 32) == 0 &&
               memcmp(&mine->state_hash, &rc->state_hash, 32) == 0 &&
               memcmp(&mine->receipts_root, &rc->receipts_root, 32) == 0;
    hash32 block;
    capi_exec_lock(nd->api);
    bool ok = my_block_hash(nd, rc->height, &block) && memcmp(&block, &rc->block_hash, 32) == 0;
    capi_exec_unlock(nd->api);
    return ok;
}

/* Store a result certificate of a height executed here only if it certifies my own
 * results (issue 13, bug 3): a receipt proven with a certificate that contradicts the
 * block beside it would be a lie. The core flags the divergence itself. */
static void keep_result_cert(node *nd, const codec_result_cert *rc)
{
    if (cert_matches_mine(nd, rc)) {
        store_result_cert(nd, rc);
        return;
    }
    logf_(nd, LOG_ERROR, "height %llu: the result certificate does not match my execution "
          "(block hash, state hash or receipts root): not stored", (unsigned long long)rc->height);
}

/* Tell the core of a validator-set change: the one committed at `height` when it is called
 * for that height's execution (before pbft_executed, pbft.h), or every recorded one after
 * a restart (height 0: after pbft_init, before pbft_restore). Re-reads the config first
 * (addresses, next_key_file), then links every validator of the new set. */
static void supply_change(node *nd, const consortium_valset_entry *e)
{
    uint32_t me = PBFT_NOT_MEMBER;
    if (!my_key_in(nd, &e->set, &me))
        me = PBFT_NOT_MEMBER;
    pbft_err pe = pbft_reconfigure(nd->core, e->height, e->boundary, e->set.count, me);
    char role[32];
    if (me == PBFT_NOT_MEMBER)
        snprintf(role, sizeof role, "not a member");
    else
        snprintf(role, sizeof role, "index %u", me);
    logf_(nd, pe == PBFT_OK ? LOG_INFO : LOG_ERROR,
          "validator set of %u from height %llu (committed at %llu), this node %s: %s",
          e->set.count, (unsigned long long)e->boundary, (unsigned long long)e->height, role,
          pe == PBFT_OK ? "scheduled" : pbft_strerror(pe));
    for (uint32_t i = 0; nd->env.mono_ms && i < e->set.count; i++) /* once the links are up */
        peer_slot(nd, &e->set.validators[i].key);
}

static void note_valset_change(node *nd, uint64_t height)
{
    const consortium_history *h = exec_history(nd->exec);
    if (height != 0) {
        const consortium_valset_entry *last = consortium_last_change(h);
        if (last && last->height == height) {
            reload_config(nd);
            supply_change(nd, last);
        }
        return;
    }
    /* After a restart: the sets a running core keeps, the PBFT_SETS_MAX newest (the
     * genesis's is valsets[0]); older ones are replaced by the oldest kept (pbft_rebase). */
    uint32_t base = h->valset_count > PBFT_SETS_MAX ? h->valset_count - PBFT_SETS_MAX : 0;
    if (base > 0) {
        const consortium_valset_entry *e = &h->valsets[base];
        uint32_t me = PBFT_NOT_MEMBER;
        if (!my_key_in(nd, &e->set, &me))
            me = PBFT_NOT_MEMBER;
        pbft_err pe = pbft_rebase(nd->core, e->boundary, e->set.count, me);
        logf_(nd, pe == PBFT_OK ? LOG_INFO : LOG_ERROR,
              "%u validator-set changes recorded: the sets before height %llu are dropped: %s",
              h->valset_count - 1, (unsigned long long)e->boundary, pbft_strerror(pe));
    }
    for (uint32_t i = base + 1; i < h->valset_count; i++)
        supply_change(nd, &h->valsets[i]);
}

/* Execute the first queued batch if every tx's bytes are here. Returns true if
 * it ran (or failed fatally), false if bytes are missing. */
static bool execute_next(node *nd)
{
    if (crash_point(nd, "execute"))
        return true; /* stopped: drain executes nothing more */
    pbft_committed *c = &nd->exec_queue[0];
    uint32_t n = c->batch.count;
    static codec_span spans[PBFT_BATCH_MAX];
    static bool verified[PBFT_BATCH_MAX];
    static uint8_t *owned[PBFT_BATCH_MAX];
    for (uint32_t i = 0; i < n; i++) {
        if (!mempool_take(nd->pool, &c->batch.txs[i], &owned[i], &spans[i].len, &verified[i])) {
            for (uint32_t k = 0; k < i; k++)
                mempool_put_back(nd->pool, &c->batch.txs[k], owned[k], spans[k].len, verified[k]);
            return false;
        }
        spans[i].data = owned[i];
    }
    uint8_t certbuf[8192];
    codec_buf cb = codec_buf_make(certbuf, sizeof certbuf);
    codec_commit_cert_encode(&c->cert, &cb);
    codec_span cert = {cb.data, cb.len};
    ledger_summary sum;
    exec_error err;
    exec_stats before, after;
    capi_exec_lock(nd->api);
    exec_stats_get(nd->exec, &before);
    exec_err rc = exec_block_preverified(nd->exec, &c->batch.header, spans, verified, &cert, &sum,
                                         &err);
    exec_stats_get(nd->exec, &after);
    capi_exec_unlock(nd->api);
    if (rc == EXEC_OK) {
        metrics_observe(&nd->metrics.block_append, (double)(after.append_ns - before.append_ns) / 1e6);
        uint64_t now = nd->env.wall_ms(nd->env.ctx), proposed = c->batch.header.time_ms;
        metrics_observe(&nd->metrics.commit_latency, now > proposed ? (double)(now - proposed) : 0);
    }
    if (rc == EXEC_ERR_WITHHELD && err.tx_index < n) {
        /* A fetched block whose server swapped a tx that runs for a pruned entry of the
         * same leaf (FORMATS.md 5.10): nothing was appended. Keep the other txs, forget
         * that entry, and fetch the height again (the next peer in turn). */
        char d[17];
        hex8(&c->batch.txs[err.tx_index], d);
        logf_(nd, LOG_WARN, "height %llu: %s (tx %s); fetching it again",
              (unsigned long long)c->batch.header.height, err.message, d);
        for (uint32_t i = 0; i < n; i++) {
            if (i == err.tx_index)
                free(owned[i]);
            else
                mempool_put_back(nd->pool, &c->batch.txs[i], owned[i], spans[i].len, verified[i]);
        }
        return false;
    }
    for (uint32_t i = 0; i < n; i++)
        free(owned[i]);
    if (rc != EXEC_OK) {
        logf_(nd, LOG_ERROR, "height %llu not executed: %s; stopping",
              (unsigned long long)c->batch.header.height, err.message);
        nd->failed = true;
        return true;
    }
    char d[17];
    hex8(&sum.state_hash, d);
    logf_(nd, LOG_INFO, "committed height=%llu txs=%u view=%llu state=%s",
          (unsigned long long)sum.height, n, (unsigned long long)c->cert.view, d);
    memmove(&nd->exec_queue[0], &nd->exec_queue[1], --nd->exec_count * sizeof *c);
    nd->executed[sum.height % HELD_MAX] = sum;
    codec_result_cert *held = &nd->held[sum.height % HELD_MAX];
    if (held->height == sum.height) {
        keep_result_cert(nd, held);
        held->height = 0;
    }
    note_valset_change(nd, sum.height);
    pbft_err pe = pbft_executed(nd->core, sum.height, &sum.block_hash, &sum.state_hash,
                                &sum.receipts_root);
    if (pe != PBFT_OK)
        logf_(nd, LOG_ERROR, "height %llu: %s", (unsigned long long)sum.height, pbft_strerror(pe));
    return true;
}

/* The key a FETCH is signed with: the one of this node's keys in the latest set that
 * holds either (a rotated validator asks with its new key once that set is recorded). */
static const keypair *fetch_key(node *nd)
{
    const consortium_history *h = exec_history(nd->exec);
    for (uint32_t i = h->valset_count; i-- > 0;) {
        const keypair *k = my_key_in(nd, &h->valsets[i].set, NULL);
        if (k)
            return k;
    }
    return &nd->key;
}

/* Ask for heights from..to. Blocks (one_peer): the next peer, in turn, whose
 * checkpoints reached from (a correct one holds those blocks), so that one peer
 * serves them and not all; if it does not answer, the next request goes to
 * another. Every peer if none is known to hold them, and for result certificates
 * (a peer may have executed a block without holding its certificate). */
static void send_fetch(node *nd, uint64_t from, uint64_t to, bool one_peer)
{
    uint8_t buf[200], body[96];
    uint64_t now = nd->env.wall_ms(nd->env.ctx);
    signature sig;
    const keypair *key = fetch_key(nd);
    uint32_t me = wire_from(nd);
    codec_buf bb = codec_buf_make(body, sizeof body), b = codec_buf_make(buf, sizeof buf);
    if (wire_fetch_keyed_body_encode(me, from, to, now, &key->public_key, &bb) != CODEC_OK
        || tcrypto_sign(key, TCRYPTO_TAG_FETCH, &nd->chain, bb.data, bb.len, &sig)
               != TCRYPTO_OK
        || wire_fetch_keyed_encode(me, from, to, now, &key->public_key, &sig, &b) != CODEC_OK)
        return;
    /* peer_checkpoint is kept by sender index (PBFT.md 14.5): read as the window's set's */
    const codec_valset *set =
        &consortium_valset_at(exec_history(nd->exec), nd->core->durable.stable.height + 1)->set;
    uint32_t to_peer = PBFT_BROADCAST, n = set->count;
    for (uint32_t k = 1; one_peer && k <= n && to_peer == PBFT_BROADCAST; k++) {
        uint32_t p = (nd->fetch_turn + k) % n;
        if (nd->core->peer_checkpoint[p] >= from &&
            peer_slot(nd, &set->validators[p].key) != NO_SLOT) {
            to_peer = peer_slot(nd, &set->validators[p].key);
            nd->fetch_turn = p;
        }
    }
    queue_send(nd, to_peer, b.data, b.len);
}

/* Blocks this replica lacks: heights the core asks for (f+1 peers are past them),
 * or a committed batch whose tx bytes never came (a batch re-issued after a view
 * change that this replica never saw). */
static void fetch_missing(node *nd, uint64_t from, uint64_t to)
{
    uint64_t now = nd->env.mono_ms(nd->env.ctx);
    if (now < nd->fetch_sent_ms + FETCH_EVERY_MS)
        return;
    nd->fetch_sent_ms = now;
    if (to > nd->missing_to)
        nd->missing_to = to;
    nd->metrics.fetches_sent++;
    send_fetch(nd, from, to, true);
    logf_(nd, LOG_INFO, "fetch heights=%llu..%llu", (unsigned long long)from,
          (unsigned long long)to);
}

static bool waiting_for(const node *nd, uint64_t height)
{
    for (uint32_t i = 0; i < nd->waiting_count; i++)
        if (nd->waiting[i].height == height)
            return true;
    return false;
}

/* Drain the core's output: encode messages, queue committed batches, and
 * execute them if `execute` (a turn sends its votes before it executes). */
static void drain(node *nd, bool execute)
{
    for (int guard = 0; guard < 64 && !nd->failed; guard++) {
        const pbft_ready *r = pbft_ready_get(nd->core);
        bool any = r->out_count || r->committed_count || r->fetch_to || r->stable_count ||
                   r->persist || r->diverged;
        if (!any && !(execute && nd->exec_count && guard == 0))
            return;
        nd->persist_due |= r->persist;
        if (r->new_view && crash_point(nd, "newview"))
            return;
        if (r->new_view && new_view_write(nd, r->new_view) != 0) {
            logf_(nd, LOG_ERROR, "cannot persist %s: %s; stopping", nd->nv_path,
                  strerror(errno));
            nd->failed = true;
            return;
        }
        for (uint32_t i = 0; i < r->out_count; i++)
            queue_out(nd, &r->out[i]);
        for (uint32_t i = 0; i < r->committed_count && !nd->failed; i++) {
            if (nd->exec_count == EXEC_QUEUE_MAX) {
                /* stuck on missing tx bytes for too long: a restart re-syncs from peers */
                logf_(nd, LOG_ERROR, "%u committed batches wait for tx bytes; stopping (restart "
                      "to fetch them from peers)", EXEC_QUEUE_MAX);
                nd->failed = true;
                break;
            }
            nd->exec_queue[nd->exec_count++] = r->committed[i];
        }
        /* not while the next height's PRE-PREPARE waits for this node's own signature
         * checks: then it is behind because it is busy, and a fetched block's txs would
         * be verified twice */
        if (r->fetch_to && !waiting_for(nd, r->fetch_from))
            fetch_missing(nd, r->fetch_from, r->fetch_to);
        ledger_summary head;
        ledger_head(nd->ledger, &head);
        for (uint32_t i = 0; i < r->stable_count; i++) {
            if (r->stable[i].height <= head.height)
                keep_result_cert(nd, &r->stable[i]);
            else
                nd->held[r->stable[i].height % HELD_MAX] = r->stable[i]; /* till executed */
        }
        if (r->diverged)
            logf_(nd, LOG_ERROR, "height %llu: my execution contradicts its result certificate;"
                  " this replica stops voting (re-sync its data directory)",
                  (unsigned long long)r->diverged);
        pbft_ready_clear(nd->core);
        while (execute && nd->exec_count && !nd->failed) {
            if (!execute_next(nd)) {
                uint64_t h = nd->exec_queue[0].batch.header.height;
                fetch_missing(nd, h, h);
                break;
            }
        }
    }
}

/* ==== incoming ===================================================================== */

/* Verified txs the core refused through core_request_valid are in my ledger already (a
 * late forward, or a client's retry of a committed tx): they leave the mempool. */
static void drop_committed(node *nd, const hash32 *digests, const pbft_err *errs, uint32_t k)
{
    for (uint32_t i = 0; i < k; i++)
        if (errs[i] == PBFT_ERR_REQUEST)
            mempool_drop(nd->pool, &digests[i]);
}

/* Txs the verifiers found good since the last turn: pending requests here too,
 * so that any replica can order them after a view change and every backup's
 * view-change timer covers them. */
static void propose_verified(node *nd)
{
    static hash32 good[PBFT_BATCH_MAX];
    static pbft_err errs[PBFT_BATCH_MAX];
    uint32_t k;
    while ((k = mempool_take_ready(nd->pool, good, PBFT_BATCH_MAX)) > 0) {
        pbft_propose_many(nd->core, good, k, errs);
        for (uint32_t i = 0; i < k; i++)
            if (errs[i] == PBFT_ERR_DUPLICATE)
                mempool_drop(nd->pool, &good[i]); /* committed already: a late forward */
        drop_committed(nd, good, errs, k);
        drain(nd, false);
    }
}

/* No tx of these is still waiting for the verifiers. */
static bool checks_done(node *nd, const hash32 *digests, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        if (mempool_state_of(nd->pool, &digests[i]) == MEMPOOL_CHECKING)
            return false;
    return true;
}

/* A PRE-PREPARE's tx bytes: checked against its digests and admitted (the
 * verifiers check their signatures). Returns false if any tx of the batch is
 * still being checked: the core must see the PRE-PREPARE only once each tx is
 * settled (verified, or refused and dropped), or it would refuse a good batch. */
static bool preprepare_settled(node *nd, const wire_msg *w)
{
    bool match = true;
    for (uint32_t i = 0; i < w->tx_count && match; i++) {
        hash32 leaf;
        merkle_leaf_hash(w->txs[i].data, w->txs[i].len, &leaf);
        match = memcmp(&leaf, &w->batch.txs[i], 32) == 0;
    }
    if (match && w->tx_count > 0) /* else the core refuses the batch */
        mempool_admit(nd->pool, w->txs, w->batch.txs, w->tx_count);
    return checks_done(nd, w->batch.txs, w->batch.count);
}

static uint32_t waiting_from(const node *nd, uint32_t sender)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < nd->waiting_count; i++)
        k += nd->waiting[i].from == sender;
    return k;
}

static bool wait_for_checks(node *nd, const uint8_t *data, size_t len, const pbft_msg *m);

/* A PRE-PREPARE signed by the primary of its view, for its batch: the core's own checks
 * (sender, digest, signature), made here before the message may take a waiting slot. */
static bool preprepare_signed(node *nd, const pbft_msg *m)
{
    return pbft_check_preprepare(nd->core, m) == PBFT_OK;
}

/* A tx of these that is not held verified: it failed its signature check (or went away). */
static const hash32 *unverified_tx(node *nd, const hash32 *digests, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        if (mempool_state_of(nd->pool, &digests[i]) != MEMPOOL_VERIFIED)
            return &digests[i];
    return NULL;
}

/* Whether the core sees a PRE-PREPARE now (issue 13, bug 4). One of the current view
 * whose txs are still being checked waits instead, but only once it is known to come
 * from that view's primary (sender and signature checked here, as the core would), and
 * at most WAITING_PER_SENDER of one sender: a byzantine peer cannot fill the waiting
 * list and so have a correct primary's PRE-PREPAREs refused. Another view's goes to the
 * core at once (it refuses an old one and holds a future one after its own checks). */
static bool preprepare_gate(node *nd, const wire_msg *w, const uint8_t *data, size_t len)
{
    const pbft_msg *m = &w->msg;
    if (!m->batch || m->view != nd->core->durable.view || preprepare_settled(nd, w))
        return true;
    if (!preprepare_signed(nd, m)) {
        logf_(nd, LOG_DEBUG, "PRE-PREPARE from %u for height %llu refused: not signed by the "
              "primary of view %llu", m->from, (unsigned long long)m->height,
              (unsigned long long)m->view);
        return false;
    }
    return !wait_for_checks(nd, data, len, m);
}

/* Keep a copy of a PRE-PREPARE (and its digests) until its txs are settled. */
static bool wait_for_checks(node *nd, const uint8_t *data, size_t len, const pbft_msg *m)
{
    if (nd->waiting_count == WAITING_MAX || waiting_from(nd, m->from) == WAITING_PER_SENDER)
        return false; /* full: the core decides now (a refusal is retransmitted) */
    const pbft_batch *b = m->batch;
    uint8_t *copy = malloc(len);
    hash32 *digests = malloc(b->count * sizeof *digests + 1);
    if (!copy || !digests) {
        free(copy);
        free(digests);
        return false;
    }
    memcpy(copy, data, len);
    memcpy(digests, b->txs, b->count * sizeof *digests);
    nd->waiting[nd->waiting_count++] =
        (struct waiting){copy, len, m->height, m->from, digests, b->count};
    return true;
}

static void serve_fetch(node *nd, uint32_t peer, uint64_t from, uint64_t to)
{
    nd->metrics.fetches_served++;
    static codec_span blocks[WIRE_BLOCKS_MAX], results[WIRE_BLOCKS_MAX];
    uint8_t *owned[2 * WIRE_BLOCKS_MAX];
    uint32_t count = 0, owned_count = 0;
    size_t total = 0;
    capi_exec_lock(nd->api);
    for (uint64_t h = from; h <= to && count < WIRE_BLOCKS_MAX; h++) {
        uint8_t *b = NULL, *r = NULL;
        size_t bl = 0, rl = 0;
        if (ledger_get_block(nd->ledger, h, &b, &bl) != LEDGER_OK)
            break;
        if (ledger_get_result_cert(nd->ledger, h, &r, &rl) != LEDGER_OK)
            r = NULL, rl = 0;
        if (count > 0 && total + bl + rl + 1024 > nd->cfg.max_message_bytes / 2) {
            free(b);
            free(r);
            break;
        }
        total += bl + rl;
        owned[owned_count++] = b;
        if (r)
            owned[owned_count++] = r;
        blocks[count] = (codec_span){b, bl};
        results[count] = (codec_span){r, rl};
        count++;
    }
    capi_exec_unlock(nd->api);
    if (count > 0) {
        codec_buf out = codec_buf_make(nd->wbuf, WIRE_BUF_MAX);
        if (wire_blocks_encode(wire_from(nd), blocks, results, count, &out) == CODEC_OK &&
            !out.overflow)
            queue_send(nd, peer, out.data, out.len);
    }
    for (uint32_t i = 0; i < owned_count; i++)
        free(owned[i]);
}

/* Issue 19: blocks go only to a validator, so a FETCH must be signed (tag FETCH, this chain)
 * by the key it names (the keyed form; the older form names a GENESIS validator by index)
 * with a time within FETCH_SKEW_MS of this node's clock, and that key must be a validator
 * of the set in force after this node's last executed height or of a later (pending) one:
 * a validator a change added catches up before its boundary, one removed fetches no more
 * once its boundary is executed here. Else it is ignored, and logged once per
 * FETCH_REFUSED_LOG_MS per claimed sender (a flood of them must not flood the log). Why
 * signed and not TLS-bound: docs/PBFT.md "Catch-up". The BLOCKS reply goes to the
 * configured address of that key, never back to whoever sent the FETCH, so the signature
 * mostly stops a stranger from making a node send its ledger around. *requester: the key. */
static bool fetch_signed_by_validator(node *nd, const wire_msg *w, pubkey *requester,
                                      char *why, size_t cap)
{
    uint8_t body[96];
    codec_buf bb = codec_buf_make(body, sizeof body);
    if (!w->fetch_signed)
        return snprintf(why, cap, "unsigned"), false;
    if (!w->fetch_keyed && w->from >= nd->n)
        return snprintf(why, cap, "it names no key and %u is no genesis index", w->from), false;
    *requester = w->fetch_keyed ? w->fetch_key : nd->validators[w->from];
    codec_err be = w->fetch_keyed ? wire_fetch_keyed_body_encode(w->from, w->fetch_from,
                                                                 w->fetch_to, w->fetch_time_ms,
                                                                 requester, &bb)
                                  : wire_fetch_body_encode(w->from, w->fetch_from, w->fetch_to,
                                                           w->fetch_time_ms, &bb);
    if (be != CODEC_OK || !tcrypto_verify(requester, TCRYPTO_TAG_FETCH, &nd->chain, bb.data,
                                          bb.len, &w->fetch_sig))
        return snprintf(why, cap, "its signature is not its key's"), false;
    const consortium_history *h = exec_history(nd->exec);
    bool member = false;
    for (const consortium_valset_entry *e = consortium_valset_at(h, nd->core->last_executed + 1);
         !member && e < h->valsets + h->valset_count; e++)
        member = consortium_valset_has(&e->set, requester, NULL);
    if (!member)
        return snprintf(why, cap, "its key is no validator of the set in force or a pending "
                        "one"), false;
    uint64_t now = nd->env.wall_ms(nd->env.ctx);
    uint64_t off = now > w->fetch_time_ms ? now - w->fetch_time_ms : w->fetch_time_ms - now;
    if (off > FETCH_SKEW_MS)
        return snprintf(why, cap, "its time is %llu ms off this node's clock (replayed or "
                        "skewed; allowed %u)", (unsigned long long)off, FETCH_SKEW_MS), false;
    return true;
}

static void on_fetch(node *nd, const wire_msg *w)
{
    char why[120];
    pubkey requester;
    if (fetch_signed_by_validator(nd, w, &requester, why, sizeof why)) {
        uint32_t slot = peer_slot(nd, &requester);
        if (slot != NO_SLOT)
            serve_fetch(nd, slot, w->fetch_from, w->fetch_to);
        return;
    }
    uint64_t now = nd->env.mono_ms(nd->env.ctx);
    nd->fetch_refused[w->from]++;
    if (nd->fetch_refused_log_ms[w->from] != 0
        && now < nd->fetch_refused_log_ms[w->from] + FETCH_REFUSED_LOG_MS)
        return;
    logf_(nd, LOG_WARN, "FETCH claiming to be from validator %u ignored: %s (%u ignored from "
          "it so far; logged at most every %u s)", w->from, why, nd->fetch_refused[w->from],
          FETCH_REFUSED_LOG_MS / 1000);
    nd->fetch_refused_log_ms[w->from] = now ? now : 1;
}

/* The hash of my own block at height h, or false. Ledger lock held by the caller. */
static bool my_block_hash(node *nd, uint64_t h, hash32 *out)
{
    static codec_span txs[CODEC_BLOCK_TXS_MAX], receipts[CODEC_BLOCK_TXS_MAX];
    static codec_write writes[CODEC_WRITES_MAX];
    codec_block b = {.txs = txs, .receipts = receipts, .writes = writes};
    uint8_t *data = NULL;
    size_t len = 0;
    bool ok = ledger_get_block(nd->ledger, h, &data, &len) == LEDGER_OK &&
              codec_block_decode(data, len, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL) ==
                  CODEC_OK;
    if (ok)
        codec_block_hash(&b.header, out);
    free(data);
    return ok;
}

/* Whether 2f+1 validators of the set in force at an executed height signed its result
 * certificate: the core checks it; for a height below the oldest set the core keeps (sets
 * are dropped after more than PBFT_SETS_MAX - 1 changes, pbft_rebase) the recorded set
 * does, as audit does. Without the second check the backfill asked for such a height
 * every BACKFILL_EVERY_MS and never backfilled any height above it. */
static bool executed_cert_valid(node *nd, const codec_result_cert *rc)
{
    pbft_err e = pbft_verify_result_cert(nd->core, rc);
    if (e != PBFT_ERR_STALE)
        return e == PBFT_OK;
    char why[160];
    return proof_check_result_cert(exec_history(nd->exec), &nd->chain, rc, why, sizeof why);
}

/* A result certificate for a block I executed without getting one (its
 * checkpoints completed while I was down or behind): keep it if 2f+1
 * validators signed it and it certifies my block. */
static void backfill_result_cert(node *nd, const codec_result_cert *rc)
{
    hash32 mine;
    capi_exec_lock(nd->api);
    uint8_t *have = NULL;
    size_t have_len = 0;
    bool missing = ledger_get_result_cert(nd->ledger, rc->height, &have, &have_len) != LEDGER_OK;
    free(have);
    if (missing && executed_cert_valid(nd, rc) &&
        my_block_hash(nd, rc->height, &mine) && memcmp(&mine, &rc->block_hash, 32) == 0) {
        store_result_cert(nd, rc);
        logf_(nd, LOG_DEBUG, "result certificate of height %llu backfilled",
              (unsigned long long)rc->height);
    }
    capi_exec_unlock(nd->api);
}

/* Every executed height below the stable checkpoint should hold its result
 * certificate (receipts are proven with it); fetch those that do not. */
static void backfill_scan(node *nd)
{
    uint64_t now = nd->env.mono_ms(nd->env.ctx);
    if (now < nd->cert_fetch_ms + BACKFILL_EVERY_MS)
        return;
    nd->cert_fetch_ms = now;
    ledger_summary head;
    capi_exec_lock(nd->api);
    ledger_head(nd->ledger, &head);
    uint64_t upto = head.height < nd->core->durable.stable.height ? head.height
                                                                   : nd->core->durable.stable.height;
    if (nd->cert_scan == 0)
        nd->cert_scan = 1;
    for (; nd->cert_scan <= upto; nd->cert_scan++) {
        uint8_t *have = NULL;
        size_t have_len = 0;
        bool present = ledger_get_result_cert(nd->ledger, nd->cert_scan, &have, &have_len) ==
                       LEDGER_OK;
        free(have);
        if (!present)
            break;
    }
    capi_exec_unlock(nd->api);
    if (nd->cert_scan > upto)
        return;
    uint64_t to = nd->cert_scan + WIRE_BLOCKS_MAX - 1 < upto ? nd->cert_scan + WIRE_BLOCKS_MAX - 1
                                                             : upto;
    send_fetch(nd, nd->cert_scan, to, false);
}

/* Nothing delivered for FETCH_EVERY_MS while peers' messages are refused: ask every peer
 * for the heights after mine. The core fetches when f+1 peers' CHECKPOINTs (one's, after a
 * long stall) show they are ahead, but it checks a CHECKPOINT under a set it knows: a
 * validator that joins after every genesis validator rotated its key, or one down across
 * such changes, can check none of them, and never learned it was behind (cluster_valset_many
 * stalled there). What comes back is checked block by block against its certificates,
 * under the sets the blocks themselves record; a peer holding nothing newer sends nothing.
 * An idle chain sends no messages to refuse, so it fetches nothing. */
static void stall_fetch(node *nd)
{
    uint64_t now = nd->env.mono_ms(nd->env.ctx), h = nd->core->last_delivered;
    if (h != nd->stall_height || nd->stall_ms == 0) {
        nd->stall_height = h;
        nd->stall_ms = now ? now : 1;
        nd->unfollowed = 0;
        return;
    }
    if (nd->unfollowed == 0 || now < nd->stall_ms + FETCH_EVERY_MS)
        return;
    nd->stall_ms = now ? now : 1;
    nd->unfollowed = 0;
    send_fetch(nd, h + 1, h + WIRE_BLOCKS_MAX, false);
    logf_(nd, LOG_DEBUG, "stalled at %llu while peers' messages are refused: fetch heights "
          "%llu..%llu from every peer", (unsigned long long)h, (unsigned long long)h + 1,
          (unsigned long long)h + WIRE_BLOCKS_MAX);
}

/* One fetched block: keep its tx bytes, and hand it to the core if it is the
 * next height the core waits for; or take its result certificate if I lack it. */
static void on_block(node *nd, const codec_span *block, const codec_span *result)
{
    static codec_span txs[CODEC_BLOCK_TXS_MAX], receipts[CODEC_BLOCK_TXS_MAX];
    static codec_write writes[CODEC_WRITES_MAX];
    static pbft_batch batch;
    codec_block b = {.txs = txs, .receipts = receipts, .writes = writes};
    codec_error ce;
    if (codec_block_decode(block->data, block->len, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX,
                           &ce) != CODEC_OK || b.tx_count > PBFT_BATCH_MAX)
        return;
    codec_commit_cert cert;
    if (codec_commit_cert_decode(b.commit_cert.data, b.commit_cert.len, &cert, &ce) != CODEC_OK)
        return;
    codec_result_cert rc;
    bool has_rc = result->len > 0 &&
                  codec_result_cert_decode(result->data, result->len, &rc, &ce) == CODEC_OK;
    memset(&batch, 0, sizeof batch);
    batch.header = b.header.batch;
    batch.count = b.tx_count;
    for (uint32_t i = 0; i < b.tx_count; i++)
        codec_entry_leaf(&txs[i], &batch.txs[i]); /* a pruned tx keeps its leaf hash */
    uint64_t h = batch.header.height;
    if (has_rc && rc.height == h && h <= nd->core->last_executed) {
        backfill_result_cert(nd, &rc);
        return;
    }
    bool waiting = nd->exec_count && nd->exec_queue[0].batch.header.height == h;
    if (h == nd->core->last_delivered + 1) {
        if (pbft_deliver_block(nd->core, &batch, &cert, has_rc ? &rc : NULL) != PBFT_OK)
            return;
        mempool_add_unverified(nd->pool, txs, b.tx_count);
    } else if (waiting && pbft_verify_commit_cert(nd->core, &batch, &cert) == PBFT_OK) {
        mempool_add_unverified(nd->pool, txs, b.tx_count);
    }
}

#define ALONE (-1) /* on_part: a message that did not come in a bundle */

static void on_part(node *nd, const uint8_t *data, size_t len, int bundle_from);

/* The messages of a BUNDLE, each handled as if it came alone. */
static void on_bundle(node *nd, const wire_msg *w)
{
    codec_span parts[WIRE_BUNDLE_MAX];
    uint32_t count = w->part_count;
    int from = (int)w->from;
    memcpy(parts, w->parts, count * sizeof *parts); /* w is reused for each part */
    for (uint32_t i = 0; i < count; i++) {
        on_part(nd, parts[i].data, parts[i].len, from);
        drain(nd, false);
    }
}

static void on_message(node *nd, const uint8_t *data, size_t len)
{
    on_part(nd, data, len, ALONE);
}

/* A peer message, alone or a part of a bundle from bundle_from (which must not be a
 * bundle itself, and must come from the bundle's sender). */
static void on_part(node *nd, const uint8_t *data, size_t len, int bundle_from)
{
    wire_msg *w = nd->in;
    codec_error ce;
    if (wire_decode(data, len, w, &ce) != CODEC_OK) {
        char why[160];
        logf_(nd, LOG_DEBUG, "refused a peer message: %s", codec_error_format(&ce, why, sizeof why));
        return;
    }
    if (w->from >= PBFT_N_MAX)
        return;
    /* A part's `from` may differ from its bundle's: a validator whose index changes at a
     * boundary sends messages of both sets together. Each part is authenticated by its own
     * signature (or certificates), never by the envelope. */
    if (bundle_from != ALONE && w->kind == WIRE_BUNDLE) {
        logf_(nd, LOG_DEBUG, "refused a bundle inside a bundle from %d", bundle_from);
        return;
    }
    switch (w->kind) {
    case WIRE_BUNDLE: on_bundle(nd, w); break;
    case WIRE_PBFT: {
        if (w->msg.type == PBFT_MSG_PREPREPARE && !preprepare_gate(nd, w, data, len))
            return;
        pbft_err e = pbft_step(nd->core, &w->msg);
        if (e != PBFT_OK && e != PBFT_ERR_STALE)
            logf_(nd, LOG_DEBUG, "type %d from %u refused: %s", (int)w->msg.type, w->from,
                  pbft_strerror(e));
        nd->unfollowed += e == PBFT_ERR_SIGNATURE || e == PBFT_ERR_WATERMARK;
        break;
    }
    case WIRE_TXS: mempool_admit(nd->pool, w->txs, NULL, w->tx_count); break;
    case WIRE_FETCH: on_fetch(nd, w); break;
    case WIRE_BLOCKS:
        for (uint32_t i = 0; i < w->block_count; i++)
            on_block(nd, &w->blocks[i], &w->results[i]);
        break;
    }
}

/* Hand the core the waiting PRE-PREPAREs whose txs are settled now (in arrival
 * order; each is decoded and checked again). One with a tx that failed its signature
 * check is refused outright, not admitted and waited for again: a correct primary
 * proposes only txs it verified, so its sender is faulty. */
static void retry_waiting(node *nd)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < nd->waiting_count; i++) {
        struct waiting w = nd->waiting[i];
        if (!checks_done(nd, w.digests, w.count)) {
            nd->waiting[kept++] = w;
            continue;
        }
        const hash32 *bad = unverified_tx(nd, w.digests, w.count);
        if (bad) {
            char d[17];
            hex8(bad, d);
            logf_(nd, LOG_WARN, "PRE-PREPARE from %u for height %llu refused: its tx %s is not "
                  "held verified (a bad signature, or executed already)",
                  w.from, (unsigned long long)w.height, d);
        } else {
            on_message(nd, w.data, w.len);
        }
        free(w.data);
        free(w.digests);
        drain(nd, false);
    }
    nd->waiting_count = kept;
}

/* Client txs accepted by the API threads since the last call: propose them and
 * forward them to every peer (so any replica can order them after a view change). */
static void take_submitted(node *nd)
{
    static codec_span txs[WIRE_TXS_MAX];
    static hash32 digests[WIRE_TXS_MAX];
    uint8_t *owned[WIRE_TXS_MAX];
    for (;;) {
        uint32_t k = mempool_take_inbox(nd->pool, txs, owned, digests, WIRE_TXS_MAX);
        if (k == 0)
            return;
        static pbft_err errs[WIRE_TXS_MAX];
        pbft_propose_many(nd->core, digests, k, errs);
        /* forward in messages of at most half the message bound */
        size_t budget = nd->cfg.max_message_bytes / 2, bytes = 0;
        for (uint32_t from = 0, i = 0; i <= k; i++) {
            if (i == k || (i > from && bytes + txs[i].len > budget)) {
                codec_buf b = codec_buf_make(nd->wbuf, WIRE_BUF_MAX);
                if (wire_txs_encode(wire_from(nd), txs + from, i - from, &b) == CODEC_OK &&
                    !b.overflow)
                    queue_send(nd, PBFT_BROADCAST, b.data, b.len);
                from = i;
                bytes = 0;
            }
            if (i < k)
                bytes += txs[i].len + 8;
        }
        for (uint32_t i = 0; i < k; i++)
            free(owned[i]);
        drop_committed(nd, digests, errs, k);
        drain(nd, false);
    }
}

/* capi submit callback (API threads): verify once (on the verifiers), keep for the main loop. */
static void submit_txs(void *ctx, const codec_span *txs, uint32_t count,
                       codec_submit_result *results)
{
    node *nd = ctx;
    mempool_submit(nd->pool, txs, count, results);
}

/* ==== status ======================================================================= */

/* The snapshot other threads read (node_status_get): taken with status.json. */
static void take_status(node *nd, const ledger_summary *head)
{
    node_status st = {
        .node = nd->cfg.node,
        .height = head->height,
        .view = nd->core->durable.view,
        .primary = pbft_primary(nd->core, nd->core->durable.view),
        .view_changing = nd->core->durable.view_changing,
        .caught_up = head->height >= nd->missing_to,
        .pending = nd->core->pending_count,
        .committed_txs = head->log_size,
    };
    node_metrics *m = &nd->metrics;
    /* views entered since this process started (the first snapshot may restore a later one) */
    if (nd->metrics_view_known && st.view > nd->metrics_view)
        m->view_changes += st.view - nd->metrics_view;
    if (!nd->metrics_view_known || st.view > nd->metrics_view)
        nd->metrics_view = st.view;
    nd->metrics_view_known = true;
    m->node = st.node;
    m->height = st.height;
    m->committed_txs = st.committed_txs;
    m->view = st.view;
    m->primary = st.primary;
    m->view_changing = st.view_changing;
    m->ready = st.caught_up && !st.view_changing;
    m->pending = st.pending;
    m->verify_queue = mempool_queued(nd->pool);
    m->waiting_preprepares = nd->waiting_count;
    m->peer_connections = nd->net ? tp_peer_connections(nd->net) : 0;
    capi_answers_get(nd->api, m->capi_answers);
    pthread_mutex_lock(&nd->status_mu);
    nd->status = st;
    nd->metrics_snapshot = *m;
    pthread_mutex_unlock(&nd->status_mu);
}

void node_metrics_get(node *n, node_metrics *out)
{
    pthread_mutex_lock(&n->status_mu);
    *out = n->metrics_snapshot;
    pthread_mutex_unlock(&n->status_mu);
}

void node_status_get(node *n, node_status *out)
{
    pthread_mutex_lock(&n->status_mu);
    *out = n->status;
    pthread_mutex_unlock(&n->status_mu);
}

struct capi *node_client_api(node *n) { return n->api; }
const hash32 *node_chain_id(const node *n) { return &n->chain; }

static void write_status(node *nd)
{
    ledger_summary head;
    capi_exec_lock(nd->api);
    ledger_head(nd->ledger, &head);
    capi_exec_unlock(nd->api);
    take_status(nd, &head);
    char state[65], tmp[CONFIG_PATH_MAX + 40];
    tcrypto_to_hex(head.state_hash.bytes, 32, state);
    snprintf(tmp, sizeof tmp, "%s.tmp", nd->status_path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f,
            "{\"node\": %u, \"pid\": %ld, \"height\": %llu, \"view\": %llu, \"primary\": %u, "
            "\"view_changing\": %s, \"state_hash\": \"%s\", \"pending\": %u, \"time_ms\": %llu}\n",
            nd->cfg.node, (long)getpid(), (unsigned long long)head.height,
            (unsigned long long)nd->core->durable.view,
            pbft_primary(nd->core, nd->core->durable.view),
            nd->core->durable.view_changing ? "true" : "false", state,
            nd->core->pending_count, (unsigned long long)wall_ms());
    fclose(f);
    rename(tmp, nd->status_path);
}

/* ==== open / run / close ============================================================ */

static int fail(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return -1;
}

static int read_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    uint8_t *buf = malloc(max);
    size_t n = buf ? fread(buf, 1, max, f) : 0;
    bool more = fgetc(f) != EOF;
    fclose(f);
    if (!buf || more || n == 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

static int open_ledger(node *nd, char *why, size_t cap)
{
    if (read_file(nd->cfg.genesis_file, CODEC_GENESIS_MAX, &nd->genesis, &nd->genesis_len) != 0)
        return fail(why, cap, "genesis %s: cannot read it", nd->cfg.genesis_file);
    tcrypto_sha256(nd->genesis, nd->genesis_len, &nd->chain);
    if (mkdir(nd->cfg.data_dir, 0700) == 0) {
        /* created now: its entry in the parent must be durable before anything in it is */
        char parent[CONFIG_PATH_MAX];
        snprintf(parent, sizeof parent, "%s", nd->cfg.data_dir);
        if (sync_dir(dirname(parent)) != 0)
            return fail(why, cap, "data_dir %s: cannot sync its parent: %s", nd->cfg.data_dir,
                        strerror(errno));
    } else if (errno != EEXIST) {
        return fail(why, cap, "data_dir %s: %s", nd->cfg.data_dir, strerror(errno));
    }
    char dir[CONFIG_PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/ledger", nd->cfg.data_dir);
    ledger_error le;
    ledger_err lr = ledger_open(dir, nd->genesis, nd->genesis_len, LEDGER_OPEN_CREATE,
                                &nd->ledger, &le);
    if (lr == LEDGER_ERR_CORRUPT)
        return fail(why, cap, "ledger %s is corrupt at height %llu: %s", dir,
                    (unsigned long long)le.height, le.message);
    if (lr != LEDGER_OK)
        return fail(why, cap, "ledger %s: %s", dir, le.message);
    if (ledger_open_note(nd->ledger)) logf_(nd, LOG_WARN, "ledger %s: %s", dir, ledger_open_note(nd->ledger));
    const codec_genesis *g = ledger_genesis(nd->ledger);
    if (g->validator_count > PBFT_N_MAX)
        return fail(why, cap, "genesis has %u validators; this build runs at most %d",
                    g->validator_count, PBFT_N_MAX);
    nd->n = g->validator_count;
    for (uint32_t i = 0; i < nd->n; i++)
        nd->validators[i] = g->validators[i].key;
    tcrypto_err ke = tcrypto_read_secret_key(nd->cfg.key_file, &nd->key);
    if (ke != TCRYPTO_OK)
        return fail(why, cap, "key %s: %s", nd->cfg.key_file, tcrypto_strerror(ke));
    if (nd->cfg.next_key_file[0]) {
        ke = tcrypto_read_secret_key(nd->cfg.next_key_file, &nd->next_key);
        if (ke != TCRYPTO_OK)
            return fail(why, cap, "next_key_file %s: %s", nd->cfg.next_key_file,
                        tcrypto_strerror(ke));
        nd->has_next_key = true;
    }
    for (uint32_t i = 0; nd->cfg.node == CONFIG_NODE_NONE && i < nd->n; i++) {
        if (memcmp(&nd->key.public_key, &nd->validators[i], sizeof(pubkey)) == 0) nd->cfg.node = i;
    }
    /* no "node" and a key the genesis does not hold: a validator a governance change adds
     * (trialctl init --join); it follows until a set holding its key is in force */
    if (nd->cfg.node != CONFIG_NODE_NONE && nd->cfg.node >= nd->n)
        return fail(why, cap, "config: node %u does not fit the genesis's %u validators",
                    nd->cfg.node, nd->n);
    if (nd->cfg.peer_count != nd->n)
        return fail(why, cap, "config: %u peers do not fit the genesis's %u validators",
                    nd->cfg.peer_count, nd->n);
    if (nd->cfg.node != CONFIG_NODE_NONE &&
        memcmp(&nd->key.public_key, &nd->validators[nd->cfg.node], sizeof(pubkey)) != 0)
        return fail(why, cap, "key %s is not validator %u of the genesis", nd->cfg.key_file,
                    nd->cfg.node);
    exec_error ee;
    exec_options opt = {.verify_signatures = true};
    if (exec_open(nd->ledger, &opt, &nd->exec, &ee) != EXEC_OK)
        return fail(why, cap, "executor: %s", ee.message);
    return 0;
}

static int open_core(node *nd, char *why, size_t cap)
{
    nd->core = calloc(1, sizeof *nd->core);
    nd->in = calloc(1, sizeof *nd->in);
    nd->wbuf = malloc(WIRE_BUF_MAX);
    nd->exec_queue = calloc(EXEC_QUEUE_MAX, sizeof *nd->exec_queue);
    if (!nd->core || !nd->in || !nd->wbuf || !nd->exec_queue)
        return fail(why, cap, "out of memory");
    if (nd->cfg.batch_max_txs == 0 || nd->cfg.batch_max_txs > PBFT_BATCH_MAX)
        return fail(why, cap, "config batch_max_txs must be 1..%d", PBFT_BATCH_MAX);
    ledger_summary top;
    ledger_head(nd->ledger, &top);
    const codec_rules *rules = exec_rules_at(nd->exec, top.height + 1);
    if (nd->cfg.max_message_bytes < rules->block_bytes_max + (64u << 10))
        return fail(why, cap, "config max_message_bytes (%u) must be at least the genesis's "
                    "rules.block_bytes_max (%u) + 65536: a PRE-PREPARE carries a batch's txs",
                    nd->cfg.max_message_bytes, rules->block_bytes_max);
    pbft_config pc = {
        .id = nd->cfg.node == CONFIG_NODE_NONE ? PBFT_NOT_MEMBER : nd->cfg.node, .n = nd->n, .batch_max = node_batch_max(rules),
        .propose_max = nd->cfg.batch_max_txs, .batch_bytes_max = rules->block_bytes_max,
        .request_bytes = core_request_bytes,
        .batch_delay_ms = nd->cfg.batch_timeout_ms, .view_timeout_ms = nd->cfg.view_timeout_ms,
        .retransmit_ms = RETRANSMIT_MS, .clock_bound_ms = rules->clock_skew_ms,
        .signer = {core_sign, core_verify, core_request_valid, nd},
    };
    if (pbft_init(nd->core, &pc) != PBFT_OK)
        return fail(why, cap, "pbft: configuration refused");
    note_valset_change(nd, 0); /* every recorded change, before pbft_restore (pbft.h) */
    snprintf(nd->state_path, sizeof nd->state_path, "%s/pbft.state", nd->cfg.data_dir);
    snprintf(nd->nv_path, sizeof nd->nv_path, "%s/pbft.newview", nd->cfg.data_dir);
    snprintf(nd->status_path, sizeof nd->status_path, "%s/status.json", nd->cfg.data_dir);
    static pbft_durable saved;
    ledger_summary head;
    ledger_head(nd->ledger, &head);
    nd->executed[head.height % HELD_MAX] = head; /* my results of the last height stored */
    if (state_read(nd, &saved)) {
        uint8_t *v = NULL;
        size_t vl = 0;
        uint64_t t = 0;
        if (ledger_state_get(nd->ledger, (const uint8_t *)"sys/clock", 9, &v, &vl) == LEDGER_OK &&
            vl == 8)
            for (int i = 0; i < 8; i++)
                t = t << 8 | v[i];
        free(v);
        pbft_restore(nd->core, &saved, head.height, t);
        new_view_restore(nd);
        logf_(nd, LOG_INFO, "restored view=%llu stable=%llu height=%llu",
              (unsigned long long)saved.view, (unsigned long long)saved.stable.height,
              (unsigned long long)head.height);
    } else if (head.height > 0) {
        return fail(why, cap, "%s is missing or has no intact copy, but the ledger holds %llu "
                    "blocks: refusing to start without what this replica signed", nd->state_path,
                    (unsigned long long)head.height);
    }
    return 0;
}

/* ---- the real node_env: nng peer links (transport.h) and the wall clock ---- */

static bool real_send(void *ctx, uint32_t peer, const uint8_t *data, size_t len)
{
    tp_err e = tp_send(ctx, peer, data, len);
    return e == TP_OK || e == TP_ERR_FULL; /* full: dropped, retransmission recovers */
}

static bool real_recv(void *ctx, uint8_t **data, size_t *len)
{
    return tp_recv(ctx, 0, data, len) == TP_OK;
}

static void real_release(void *ctx, uint8_t *data, size_t len)
{
    (void)ctx;
    tp_free(data, len);
}

static uint64_t real_wall_ms(void *ctx)
{
    (void)ctx;
    return wall_ms();
}

static uint64_t real_mono_ms(void *ctx)
{
    (void)ctx;
    return mono_ms();
}

/* The peer links: a harness's (env), or nng's. */
static int open_peers(node *nd, const node_env *env, char *why, size_t cap)
{
    if (env) {
        nd->env = *env;
        if (!nd->env.wall_ms || !nd->env.mono_ms) {
            nd->env.wall_ms = real_wall_ms;
            nd->env.mono_ms = real_mono_ms;
        }
        return 0;
    }
    tp_config tc = {.listen_url = nd->cfg.listen, .peer_count = nd->n,
                    .max_message_bytes = nd->cfg.max_message_bytes, .send_queue_messages = 4096,
                    .recv_queue_messages = 8192, .reconnect_min_ms = 20, .reconnect_max_ms = 500};
    for (uint32_t i = 0; i < nd->n; i++)
        tc.peer_urls[i] = i == nd->cfg.node ? NULL : nd->cfg.peers[i];
    /* TLS (config.h): mutual TLS between validators */
    tp_tls tls = {.cert_key_file = nd->cfg.tls_cert_key_file, .ca_file = nd->cfg.tls_ca_file};
    tc.tls = config_uses_tls(&nd->cfg) ? &tls : NULL;
    char tw[CONFIG_PATH_MAX + 256];
    if (tp_open(&tc, &nd->net, tw, sizeof tw) != TP_OK)
        return fail(why, cap, "peer transport: %s", tw);
    nd->env = (node_env){nd->net, real_send, real_recv, real_release, real_wall_ms, real_mono_ms, false, NULL};
    return 0;
}

static int open_network(node *nd, const node_env *env, char *why, size_t cap)
{
    nd->pool = mempool_open(&nd->chain, env && env->scheduled_checks ? 0 : 2, 65536);
    if (!nd->pool)
        return fail(why, cap, "mempool: out of memory");
    capi_config cc = {.executor = nd->exec, .submit = submit_txs, .submit_ctx = nd,
                      .skew_ms = 30000, .blocks_max = 64,
                      .unsigned_reads = nd->cfg.bench_unsigned_reads};
    nd->api = capi_open(&cc);
    if (!nd->api)
        return fail(why, cap, "client API: bad configuration");
    if (open_peers(nd, env, why, cap) != 0)
        return -1;
    if (env)
        return 0; /* a harness submits through node_submit */
    /* the client API presents the node's certificate; a client certificate is optional
     * (clients sign their requests) */
    tp_tls tls = {.cert_key_file = nd->cfg.tls_cert_key_file, .ca_file = nd->cfg.tls_ca_file};
    char tw[CONFIG_PATH_MAX + 256];
    if (tp_server_open_tls(nd->cfg.client, config_uses_tls(&nd->cfg) ? &tls : NULL,
                           capi_handle, nd->api, 16,
                           nd->cfg.max_message_bytes, &nd->server, tw, sizeof tw) != TP_OK)
        return fail(why, cap, "client API: %s", tw);
    return 0;
}

node *node_open(const config_node *cfg, char *why, size_t why_cap)
{
    return node_open_env(cfg, NULL, why, why_cap);
}

uint64_t node_height(node *nd)
{
    ledger_summary head;
    capi_exec_lock(nd->api);
    ledger_head(nd->ledger, &head);
    capi_exec_unlock(nd->api);
    return head.height;
}

struct mempool *node_mempool(node *nd)
{
    return nd->pool;
}

void node_submit(node *nd, const codec_span *txs, uint32_t count, codec_submit_result *results)
{
    mempool_submit(nd->pool, txs, count, results);
}

node *node_open_env(const config_node *cfg, const node_env *env, char *why, size_t why_cap)
{
    node *nd = calloc(1, sizeof *nd);
    if (nd)
        pthread_mutex_init(&nd->status_mu, NULL);
    if (!nd) {
        fail(why, why_cap, "out of memory");
        return NULL;
    }
    nd->cfg = *cfg;
    const char *levels[] = {"debug", "info", "warn", "error"};
    nd->log_level = LOG_INFO;
    for (int i = 0; i < 4; i++)
        if (strcmp(cfg->log_level, levels[i]) == 0)
            nd->log_level = i;
    if (open_ledger(nd, why, why_cap) != 0 || open_core(nd, why, why_cap) != 0 ||
        open_network(nd, env, why, why_cap) != 0) {
        node_close(nd);
        return NULL;
    }
    ledger_summary head;
    ledger_head(nd->ledger, &head);
    if (nd->cfg.bench_unsigned_reads)
        logf_(nd, LOG_WARN, "bench_unsigned_reads is set: the client API answers unsigned "
              "BLOCKS and receipt reads to ANYONE (for the signed-reads benchmark only)");
    logf_(nd, LOG_INFO, "started validators=%u height=%llu listen=%s client=%s", nd->n,
          (unsigned long long)head.height, cfg->listen, cfg->client);
    return nd;
}


/* Persist the core's durable state if it changed, then send what is queued. */
static void send_now(node *nd)
{
    if (nd->crashed || (nd->persist_due && crash_point(nd, "persist")))
        return;
    if (nd->persist_due) {
        if (state_write(nd) != 0) {
            logf_(nd, LOG_ERROR, "cannot persist %s: %s; stopping", nd->state_path,
                  strerror(errno));
            nd->failed = true;
            return;
        }
        nd->persist_due = false;
    }
    flush_sends(nd);
}

#define TURN_MESSAGES 256

/* One turn. The messages that arrived are handled and the votes they produce
 * are sent at once; then the node executes committed batches (votes need not
 * wait for that). Signatures of forwarded txs are checked by the verifiers in
 * the background (mempool.h): the good ones are proposed, and a PRE-PREPARE
 * waits for its txs (retry_waiting). */
bool node_turn(node *nd)
{
    uint8_t *data;
    size_t len;
    take_submitted(nd);
    propose_verified(nd);
    retry_waiting(nd);
    /* Non-blocking receive and a short sleep when idle (real links only: a harness
     * schedules the turns): a receive timeout makes nng 1.5.2's aio expiry thread spin
     * (measured: 60% of a core). */
    bool got = nd->env.recv(nd->env.ctx, &data, &len);
    if (!got && nd->net) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        got = nd->env.recv(nd->env.ctx, &data, &len);
    }
    for (int k = 0; got; k++) {
        on_message(nd, data, len);
        nd->env.release(nd->env.ctx, data, len);
        drain(nd, false);
        if (k + 1 == TURN_MESSAGES)
            break;
        got = nd->env.recv(nd->env.ctx, &data, &len);
    }
    pbft_tick(nd->core, nd->env.mono_ms(nd->env.ctx), nd->env.wall_ms(nd->env.ctx));
    drain(nd, false);
    take_submitted(nd);
    backfill_scan(nd);
    stall_fetch(nd);
    send_now(nd);
    drain(nd, true);
    send_now(nd);
    return !nd->failed;
}

int node_run(node *nd, volatile sig_atomic_t *stop)
{
    pbft_tick(nd->core, nd->env.mono_ms(nd->env.ctx), nd->env.wall_ms(nd->env.ctx));
    while (!*stop && !nd->failed) {
        node_turn(nd);
        uint64_t now = mono_ms();
        if (now >= nd->status_ms + STATUS_EVERY_MS) {
            nd->status_ms = now;
            write_status(nd);
        }
    }
    logf_(nd, nd->failed ? LOG_ERROR : LOG_INFO, "stopping%s", nd->failed ? " after a failure" : "");
    return nd->failed ? 1 : 0;
}

void node_close(node *nd)
{
    if (!nd)
        return;
    if (nd->server)
        tp_server_close(nd->server); /* no API thread runs after this */
    if (nd->net)
        tp_close(nd->net);
    for (uint32_t i = 0; i < nd->send_count; i++)
        free(nd->sends[i].data);
    for (uint32_t i = 0; i < nd->waiting_count; i++) {
        free(nd->waiting[i].data);
        free(nd->waiting[i].digests);
    }
    capi_close(nd->api);
    mempool_close(nd->pool);
    exec_close(nd->exec);
    ledger_close(nd->ledger);
    if (nd->state_fd_plus1)
        close(nd->state_fd_plus1 - 1);
    free(nd->genesis);
    free(nd->core);
    free(nd->in);
    free(nd->wbuf);
    free(nd->exec_queue);
    pthread_mutex_destroy(&nd->status_mu);
    free(nd);
}
