/*
 * executor.c - committed batches -> consent-vm -> receipts and ordered state writes ->
 * ledger_append. See executor.h for the rules; contracts/ABI.md for the contracts.
 */
#include "executor.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consortium.h"
#include "contracts.h"
#include "cvm.h"
#include "errors.h"
#include "merkle.h"

#define SYS_REPLAY "sys/replay/" /* <signer:32><nonce:8> -> valid_until:8 */
#define SYS_EXPIRY "sys/expiry/" /* <valid_until:8><signer:32><nonce:8> -> empty */
#define REPLAY_KEY_LEN (sizeof SYS_REPLAY - 1 + 40)
#define EXPIRY_KEY_LEN (sizeof SYS_EXPIRY - 1 + 48)
#define SYS_CLOCK "sys/clock"
#define SYS_CONTRACT "sys/contract/"
#define SYS_CODE "sys/code/"
#define SYS_VALSET_PENDING "sys/valset/pending" /* boundary:8 of the pending change */
#define SYS_VALSET_AT "sys/valset/at/" /* <boundary:8> -> committing height:8, set bytes */
#define G_AUTH "genesis/auth/"
#define G_WINDOW "genesis/anchor_window"
#define G_REBIND "genesis/rebind_delay"
#define G_VALIDATOR "genesis/validator/"
#define SYS_AUTH "sys/auth/"   /* <key:32> -> the authority record (executor.h) */
#define SYS_AUTHN "sys/authn/" /* <role:1> -> count:8 of the role's active authorities */
#define AUTH_KEY_LEN (sizeof SYS_AUTH - 1 + 32)
#define AUTH_RECORD_MAX (1 + 1 + 8 + 2 * (1 + CODEC_NAME_MAX) + 32)
#define G_SUCCESSOR "genesis/successor/"
#define ROLE_REVOKED_ 0xff /* role_of: the key was an authority and is revoked */
#define RECEIPT_SLOT (CODEC_RECEIPT_MAX)
#define DEPLOY_CHUNK 4096u

typedef struct {
    char name[CODEC_NAME_MAX + 1];
    uint64_t version;
    cvm_module *module;
    bool builtin; /* its bytecode is the built-in module of its name: contracts_abi applies */
} exec_contract;

#define NOTED_DEPLOYS_MAX CODEC_CONTRACTS_MAX
#define PRUNED_TX_MAX 256 /* an encoded pruned tx: 8 + 3 x 34 + 9 + 2 x 33 + 1 + 4 < 200 */

/* One state write of the block; owns its key and value (one allocation). */
typedef struct {
    uint8_t *key;
    uint32_t key_len;
    uint8_t *value; /* NULL = delete */
    uint32_t value_len;
} block_write;

/* The block overlay: the latest write per key, sorted by key (points into writes). */
typedef struct {
    const uint8_t *key;
    uint32_t key_len;
    const uint8_t *value;
    uint32_t value_len;
} overlay_entry;

typedef struct {
    pubkey key;
    uint8_t role;
    const codec_name *site;
    const codec_name *name;
} auth_entry;

/*
 * A cache of committed state (the ledger at the last appended block), so that hot keys
 * (trial record, sites, nonces, statuses) are not fetched from LevelDB for every tx.
 * Coherent because the executor is the only writer of state: after each appended block
 * the block's writes are applied to it; after a failed block it is emptied. Absent keys
 * are cached too. Deliberately simple: open addressing, and when it is full it is emptied.
 */
#define CACHE_SLOTS 65536u /* power of two */
#define CACHE_FILL_MAX (CACHE_SLOTS / 2)
typedef struct {
    uint8_t *mem;       /* key then value, one allocation; NULL = empty slot */
    uint32_t key_len;
    uint32_t value_len;
    bool present;       /* false: the key is known to be absent */
    uint64_t hash;
} cache_slot;

typedef struct {
    cache_slot *slots;
    uint32_t used;
} state_cache;

struct exec {
    ledger *l;
    const codec_genesis *genesis;
    hash32 chain_id;
    exec_options opt;
    const bool *preverified; /* exec_block_preverified: per-tx signatures already checked */
    uint32_t tx_index;       /* the tx being admitted */
    uint32_t contract_count;
    exec_contract contracts[CODEC_CONTRACTS_MAX];
    /* names of deploys seen on their way to a block (exec_note_deploy); the node's thread only */
    char noted[NOTED_DEPLOYS_MAX][CODEC_NAME_MAX + 1];
    uint32_t noted_count;
    auth_entry auths[CODEC_AUTHORITIES_MAX];
    uint32_t auth_count;
    uint64_t genesis_role_count[ROLE_MAX_ + 1]; /* the genesis's authorities per role */
    /* the governance.authority events of the tx being executed (a rotation has two) */
    uint8_t auth_event[2][CODEC_AUTHORITY_EVENT_MAX];
    cvm_vm *vm;
    /* per block */
    block_write *writes;
    uint32_t write_count, write_cap;
    overlay_entry *overlay;
    uint32_t overlay_count, overlay_cap;
    uint32_t *latest;          /* hash index: key -> 1 + index of its latest write, 0 empty */
    uint32_t latest_slots;     /* a power of two, at least twice write_count */
    uint8_t *receipt_buf;     /* the block's encoded receipts, back to back */
    size_t receipt_buf_cap;
    codec_span *receipts;
    uint32_t receipt_count;
    codec_span *stored;       /* what the block keeps of each tx (the tx, or pruned) */
    uint8_t *pruned_buf;      /* PRUNED_TX_MAX bytes per tx */
    hash32 pruned_hash;       /* the tx.pruned event's data of the tx being executed */
    uint32_t tx_cap;
    uint64_t time_ms;         /* effective block time */
    uint64_t height;
    /* The last expiry key pruned (sys/expiry/..., committed): later prunes seek from it,
     * past the deleted keys LevelDB still holds as tombstones. Never part of any state. */
    uint8_t prune_after[EXPIRY_KEY_LEN], prune_pending[EXPIRY_KEY_LEN];
    bool prune_after_set, prune_pending_set;
    uint64_t block_gas_left;  /* gas the block's contract calls may still use */
    state_cache cache;
    exec_stats stats;
    /* validator sets: the committed changes (history), and one applied in the block being
     * executed (staged; recorded in the history once the block is appended) */
    consortium_history *hist;
    bool valset_staged;
    uint64_t staged_height, staged_boundary;
    codec_valset staged_set;
    uint8_t valset_event[CODEC_EVENT_DATA_MAX]; /* the event's data while its receipt is encoded */
};

/* ---- reasons ------------------------------------------------------------------------ */

const char *exec_reason(uint8_t status, uint32_t code)
{
    if (status == RECEIPT_OK) return "";
    if (status == RECEIPT_REFUSED) {
        switch (code) {
#define EXEC_X_CASE(name, c, reason) case c: return reason;
            CONTRACT_ERRORS(EXEC_X_CASE)
#undef EXEC_X_CASE
        default: return "the contract refused (unknown code)";
        }
    }
    switch (code) {
#define EXEC_X_CASE(name, c, reason) case c: return reason;
        EXEC_TX_ERRORS(EXEC_X_CASE)
#undef EXEC_X_CASE
    default: return "unknown error";
    }
}

static exec_err fail(exec_error *err, exec_err code, const char *fmt, const char *detail)
{
    if (err) {
        err->code = code;
        snprintf(err->message, sizeof err->message, fmt, detail ? detail : "");
    }
    return code;
}

static void be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t load64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

/* ---- authorities ------------------------------------------------------------------- */

static int auth_cmp(const void *a, const void *b)
{
    return memcmp(((const auth_entry *)a)->key.bytes, ((const auth_entry *)b)->key.bytes, 32);
}

static const auth_entry *auth_find(const exec *e, const uint8_t key[32])
{
    size_t lo = 0, hi = e->auth_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = memcmp(key, e->auths[mid].key.bytes, 32);
        if (c == 0) return &e->auths[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

/* ---- overlay and block writes ----------------------------------------------------- */

static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0) return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* A key's hash for the in-memory indexes (never stored, never compared across nodes):
 * 8 bytes at a time, each mixed in with a multiply and a rotate. */
static uint64_t key_hash(const uint8_t *key, size_t len)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, key + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h = h << 31 | h >> 33;
    }
    uint64_t tail = 0;
    memcpy(&tail, key + i, len - i);
    h = (h ^ tail) * 0xc4ceb9fe1a85ec53ull;
    return h ^ h >> 29;
}

/* The slot of key in the latest-write index: holding its write, or empty. */
static uint32_t *latest_slot(const exec *e, const uint8_t *key, size_t len, uint64_t h)
{
    uint32_t mask = e->latest_slots - 1;
    for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
        uint32_t at = e->latest[i];
        if (at == 0) return &e->latest[i];
        const block_write *w = &e->writes[at - 1];
        if (w->key_len == len && memcmp(w->key, key, len) == 0) return &e->latest[i];
    }
}

/* Index every write of the block afresh in a table of `slots` (a power of two). */
static int latest_rebuild(exec *e, uint32_t slots)
{
    uint32_t *t = calloc(slots, sizeof *t);
    if (!t) return -1;
    free(e->latest);
    e->latest = t;
    e->latest_slots = slots;
    for (uint32_t k = 0; k < e->write_count; k++) {
        const block_write *w = &e->writes[k];
        *latest_slot(e, w->key, w->key_len, key_hash(w->key, w->key_len)) = k + 1;
    }
    return 0;
}

/* Index of the first overlay entry >= key (count if none). */
static uint32_t overlay_lower(const exec *e, const uint8_t *key, size_t len)
{
    uint32_t lo = 0, hi = e->overlay_count;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (key_cmp(e->overlay[mid].key, e->overlay[mid].key_len, key, len) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static int block_put(exec *e, const uint8_t *key, uint32_t key_len, const uint8_t *value,
                     uint32_t value_len, bool is_delete)
{
    if (e->write_count == e->write_cap) {
        uint32_t cap = e->write_cap ? e->write_cap * 2 : 256;
        block_write *w = realloc(e->writes, cap * sizeof *w);
        if (!w) return -1;
        e->writes = w;
        e->write_cap = cap;
    }
    if (2 * (e->write_count + 1) > e->latest_slots
        && latest_rebuild(e, e->latest_slots ? 2 * e->latest_slots : 1024) != 0) return -1;
    if (e->overlay_count == e->overlay_cap) {
        uint32_t cap = e->overlay_cap ? e->overlay_cap * 2 : 256;
        overlay_entry *o = realloc(e->overlay, cap * sizeof *o);
        if (!o) return -1;
        e->overlay = o;
        e->overlay_cap = cap;
    }
    uint8_t *mem = malloc((size_t)key_len + value_len + 1);
    if (!mem) return -1;
    memcpy(mem, key, key_len);
    if (value_len) memcpy(mem + key_len, value, value_len);
    block_write *w = &e->writes[e->write_count++];
    *w = (block_write){mem, key_len, is_delete ? NULL : mem + key_len, value_len};
    *latest_slot(e, key, key_len, key_hash(key, key_len)) = e->write_count;
    uint32_t i = overlay_lower(e, key, key_len);
    overlay_entry entry = {w->key, key_len, w->value, value_len};
    if (i < e->overlay_count && key_cmp(e->overlay[i].key, e->overlay[i].key_len, key, key_len) == 0) {
        e->overlay[i] = entry;
    } else {
        memmove(&e->overlay[i + 1], &e->overlay[i], (e->overlay_count - i) * sizeof *e->overlay);
        e->overlay[i] = entry;
        e->overlay_count++;
    }
    return 0;
}

/* Undoes the block's writes from index mark on (the nonce record of a tx that the block
 * gas limit refuses after all): the overlay and the latest-write index show the earlier
 * writes again. Rare (once per block at most), so the index is simply rebuilt. */
static void block_pop_to(exec *e, uint32_t mark)
{
    while (e->write_count > mark) {
        block_write *w = &e->writes[--e->write_count];
        const block_write *prev = NULL;
        for (uint32_t k = e->write_count; k-- > 0 && !prev;) {
            const block_write *o = &e->writes[k];
            if (o->key_len == w->key_len && memcmp(o->key, w->key, w->key_len) == 0) prev = o;
        }
        uint32_t i = overlay_lower(e, w->key, w->key_len);
        assert(i < e->overlay_count && e->overlay[i].key == w->key);
        if (prev) {
            e->overlay[i] = (overlay_entry){prev->key, prev->key_len, prev->value, prev->value_len};
        } else {
            memmove(&e->overlay[i], &e->overlay[i + 1],
                    (e->overlay_count - i - 1) * sizeof *e->overlay);
            e->overlay_count--;
        }
        free(w->key);
    }
    memset(e->latest, 0, e->latest_slots * sizeof *e->latest);
    for (uint32_t k = 0; k < e->write_count; k++) {
        const block_write *w = &e->writes[k];
        *latest_slot(e, w->key, w->key_len, key_hash(w->key, w->key_len)) = k + 1;
    }
}

static void block_reset(exec *e)
{
    if (e->write_count) memset(e->latest, 0, e->latest_slots * sizeof *e->latest);
    for (uint32_t i = 0; i < e->write_count; i++) free(e->writes[i].key);
    e->write_count = 0;
    e->overlay_count = 0;
}


/* ---- committed-state cache ---------------------------------------------------------- */


static void cache_clear(state_cache *c)
{
    if (!c->slots) return;
    for (uint32_t i = 0; i < CACHE_SLOTS; i++) {
        free(c->slots[i].mem);
        c->slots[i].mem = NULL;
    }
    c->used = 0;
}

/* The slot holding key, or the empty slot where it would go. */
static cache_slot *cache_slot_for(state_cache *c, const uint8_t *key, size_t len, uint64_t h)
{
    for (uint32_t i = (uint32_t)h & (CACHE_SLOTS - 1);; i = (i + 1) & (CACHE_SLOTS - 1)) {
        cache_slot *s = &c->slots[i];
        if (!s->mem) return s;
        if (s->hash == h && s->key_len == len && memcmp(s->mem, key, len) == 0) return s;
    }
}

static const cache_slot *cache_find(state_cache *c, const uint8_t *key, size_t len, uint64_t h)
{
    if (!c->slots) return NULL;
    cache_slot *s = cache_slot_for(c, key, len, h);
    return s->mem ? s : NULL;
}

/* The replay set's keys are read once (random nonces) and would only push the hot keys
 * out of the cache: never cached. */
static bool cacheable(const uint8_t *key, size_t len)
{
    return !(len >= sizeof SYS_REPLAY - 1 && memcmp(key, SYS_REPLAY, sizeof SYS_REPLAY - 1) == 0)
           && !(len >= sizeof SYS_EXPIRY - 1
                && memcmp(key, SYS_EXPIRY, sizeof SYS_EXPIRY - 1) == 0);
}

/* Record key = value (present) or key absent. Failure to allocate only loses caching. */
static void cache_put(state_cache *c, const uint8_t *key, size_t len, const uint8_t *value,
                      size_t value_len, bool present)
{
    if (!c->slots || !cacheable(key, len)) return;
    uint64_t h = key_hash(key, len);
    cache_slot *s = cache_slot_for(c, key, len, h);
    if (!s->mem && c->used >= CACHE_FILL_MAX) {
        cache_clear(c);
        s = cache_slot_for(c, key, len, h);
    }
    uint8_t *mem = malloc(len + value_len + 1);
    if (!mem) return;
    memcpy(mem, key, len);
    if (value_len) memcpy(mem + len, value, value_len);
    if (!s->mem) c->used++;
    free(s->mem);
    *s = (cache_slot){mem, (uint32_t)len, (uint32_t)value_len, present, h};
}

/* Value of key in the block view (overlay, then ledger). Returns 1 found, 0 absent, -1 on
 * a storage error. *value is malloc'd when *owned, else points into the overlay. */
static int view_get(exec *e, const uint8_t *key, size_t key_len, const uint8_t **value,
                    size_t *value_len, uint8_t **owned)
{
    *owned = NULL;
    uint64_t h = key_hash(key, key_len);
    uint32_t at = e->write_count ? *latest_slot(e, key, key_len, h) : 0;
    if (at) {
        const block_write *w = &e->writes[at - 1];
        if (!w->value) return 0;
        *value = w->value;
        *value_len = w->value_len;
        return 1;
    }
    const cache_slot *hit = cache_find(&e->cache, key, key_len, h);
    if (hit) {
        if (!hit->present) return 0;
        *value = hit->mem + hit->key_len;
        *value_len = hit->value_len;
        return 1;
    }
    uint8_t *v;
    size_t len;
    ledger_err rc = ledger_state_get(e->l, key, key_len, &v, &len);
    if (rc == LEDGER_ERR_NOT_FOUND) {
        cache_put(&e->cache, key, key_len, NULL, 0, false);
        return 0;
    }
    if (rc != LEDGER_OK) return -1;
    cache_put(&e->cache, key, key_len, v, len, true);
    *owned = v;
    *value = v;
    *value_len = len;
    return 1;
}

/* ---- authorities: the one lookup (executor.h "Authorities") ---------------------------- */

static void auth_key(uint8_t k[AUTH_KEY_LEN], const uint8_t key[32])
{
    memcpy(k, SYS_AUTH, sizeof SYS_AUTH - 1);
    memcpy(k + sizeof SYS_AUTH - 1, key, 32);
}

/* sys/auth/<key> = state:1 role:1 height:8 site_len:1 site name_len:1 name, then for a key
 * rotated out its successor:32; returns its length (at most AUTH_RECORD_MAX). */
static size_t auth_record_encode(const exec_authority *a, uint8_t out[AUTH_RECORD_MAX])
{
    size_t site_len = strlen(a->site.text), name_len = strlen(a->name.text), at = 0;
    out[at++] = (uint8_t)a->state;
    out[at++] = a->role;
    be64(out + at, a->height);
    at += 8;
    out[at++] = (uint8_t)site_len;
    memcpy(out + at, a->site.text, site_len);
    at += site_len;
    out[at++] = (uint8_t)name_len;
    memcpy(out + at, a->name.text, name_len);
    at += name_len;
    if (a->rotated) {
        memcpy(out + at, a->successor.bytes, 32);
        at += 32;
    }
    return at;
}

static bool auth_record_decode(const uint8_t *v, size_t len, exec_authority *out)
{
    if (len < 12 || (v[0] != EXEC_AUTH_ACTIVE && v[0] != EXEC_AUTH_REVOKED)) return false;
    size_t site_len = v[10];
    if (site_len > CODEC_NAME_MAX || 12 + site_len > len) return false;
    size_t name_len = v[11 + site_len], end = 12 + site_len + name_len;
    if (name_len > CODEC_NAME_MAX || (end != len && end + 32 != len)) return false;
    out->rotated = end + 32 == len;
    if (out->rotated) memcpy(out->successor.bytes, v + end, 32);
    out->state = (exec_auth_state)v[0];
    out->role = v[1];
    out->height = load64(v + 2);
    memcpy(out->site.text, v + 11, site_len);
    out->site.text[site_len] = '\0';
    memcpy(out->name.text, v + 12 + site_len, name_len);
    out->name.text[name_len] = '\0';
    return true;
}

int exec_authority_of(exec *e, const pubkey *key, exec_authority *out)
{
    memset(out, 0, sizeof *out);
    uint8_t k[AUTH_KEY_LEN];
    auth_key(k, key->bytes);
    const uint8_t *v;
    size_t len;
    uint8_t *owned;
    int rc = view_get(e, k, sizeof k, &v, &len, &owned);
    if (rc < 0) return -1;
    if (rc == 1) {
        bool ok = auth_record_decode(v, len, out); /* only this file writes it */
        free(owned);
        return ok ? (int)out->state : -1;
    }
    const auth_entry *a = auth_find(e, key->bytes);
    if (!a) return EXEC_AUTH_NONE;
    out->state = EXEC_AUTH_ACTIVE;
    out->role = a->role;
    out->site = *a->site;
    out->name = *a->name;
    return EXEC_AUTH_ACTIVE;
}

bool exec_successor_of(exec *e, const pubkey *key, pubkey *out)
{
    exec_authority a;
    pubkey at = *key;
    for (uint32_t i = 0; i < EXEC_SUCCESSION_MAX; i++) {
        if (exec_authority_of(e, &at, &a) != EXEC_AUTH_REVOKED || !a.rotated) break;
        at = a.successor;
        if (exec_authority_of(e, &at, &a) == EXEC_AUTH_ACTIVE) {
            *out = at;
            return true;
        }
    }
    return false;
}

static int auth_put(exec *e, const pubkey *key, const exec_authority *a)
{
    uint8_t k[AUTH_KEY_LEN], v[AUTH_RECORD_MAX];
    auth_key(k, key->bytes);
    size_t len = auth_record_encode(a, v);
    return block_put(e, k, AUTH_KEY_LEN, v, (uint32_t)len, false);
}

/* The active authorities of role (sys/authn/<role>, else the genesis's count): 0 or -1. */
static int auth_count(exec *e, uint8_t role, uint64_t *out)
{
    uint8_t k[sizeof SYS_AUTHN];
    memcpy(k, SYS_AUTHN, sizeof SYS_AUTHN - 1);
    k[sizeof SYS_AUTHN - 1] = role;
    const uint8_t *v;
    size_t len;
    uint8_t *owned;
    int rc = view_get(e, k, sizeof k, &v, &len, &owned);
    if (rc < 0 || (rc == 1 && len != 8)) {
        free(owned);
        return -1;
    }
    *out = rc == 1 ? load64(v) : e->genesis_role_count[role];
    free(owned);
    return 0;
}

static int auth_count_put(exec *e, uint8_t role, uint64_t n)
{
    uint8_t k[sizeof SYS_AUTHN], v[8];
    memcpy(k, SYS_AUTHN, sizeof SYS_AUTHN - 1);
    k[sizeof SYS_AUTHN - 1] = role;
    be64(v, n);
    return block_put(e, k, sizeof k, v, 8, false);
}

/* ---- host ------------------------------------------------------------------------- */

static int copy_out(const uint8_t *v, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    *out_len = len;
    if (len <= cap && len) memcpy(out, v, len);
    return 0;
}

/* The validator sets a key must not hold to take another role: the set in force at the
 * block's height, and a change not yet in force (committed with its boundary ahead, or
 * applied by an earlier tx of this block). sets[1] is NULL when none is pending. */
static void validator_sets(const exec *e, const codec_valset *sets[2])
{
    sets[0] = &consortium_valset_at(e->hist, e->height)->set;
    sets[1] = NULL;
    const consortium_valset_entry *last = consortium_last_change(e->hist);
    if (last && last->boundary > e->height) sets[1] = &last->set;
    if (e->valset_staged) sets[1] = &e->staged_set;
}

/* Whether key is a validator's: of the set in force or of a pending change. */
static bool validator_key(const exec *e, const pubkey *key)
{
    const codec_valset *sets[2];
    validator_sets(e, sets);
    return consortium_valset_has(sets[0], key, NULL)
           || (sets[1] && consortium_valset_has(sets[1], key, NULL));
}

static int host_get(void *ctx, const uint8_t *key, size_t key_len, uint8_t *out, size_t out_cap,
                    size_t *value_len, int *found)
{
    exec *e = ctx;
    *found = 0;
    size_t gl = sizeof G_AUTH - 1;
    if (key_len == gl + 32 && memcmp(key, G_AUTH, gl) == 0) {
        /* role:1 site for an active authority; a revoked key reads role 0 and no site, so
         * that no contract takes it for an investigator and none enrols it (ROLE_TAKEN) */
        exec_authority a;
        int st = exec_authority_of(e, (const pubkey *)(const void *)(key + gl), &a);
        if (st < 0) return -1;
        if (st == EXEC_AUTH_NONE) return 0;
        uint8_t v[1 + CODEC_NAME_MAX];
        size_t site_len = st == EXEC_AUTH_ACTIVE ? strlen(a.site.text) : 0;
        v[0] = st == EXEC_AUTH_ACTIVE ? a.role : 0;
        memcpy(v + 1, a.site.text, site_len);
        *found = 1;
        return copy_out(v, 1 + site_len, out, out_cap, value_len);
    }
    size_t sl = sizeof G_SUCCESSOR - 1;
    if (key_len == sl + 32 && memcmp(key, G_SUCCESSOR, sl) == 0) {
        exec_authority a; /* the key a rotation replaced this one with */
        int st = exec_authority_of(e, (const pubkey *)(const void *)(key + sl), &a);
        if (st < 0) return -1;
        if (st != EXEC_AUTH_REVOKED || !a.rotated) return 0;
        *found = 1;
        return copy_out(a.successor.bytes, 32, out, out_cap, value_len);
    }
    size_t vl = sizeof G_VALIDATOR - 1;
    if (key_len == vl + 32 && memcmp(key, G_VALIDATOR, vl) == 0) {
        if (!validator_key(e, (const pubkey *)(const void *)(key + vl))) return 0;
        static const uint8_t one = 1;
        *found = 1;
        return copy_out(&one, 1, out, out_cap, value_len);
    }
    bool window = key_len == sizeof G_WINDOW - 1 && memcmp(key, G_WINDOW, key_len) == 0;
    if (window || (key_len == sizeof G_REBIND - 1 && memcmp(key, G_REBIND, key_len) == 0)) {
        const codec_rules *rules = exec_rules_at(e, e->height);
        uint8_t v[8];
        be64(v, window ? rules->anchor_window_ms : rules->rebind_delay_ms);
        *found = 1;
        return copy_out(v, 8, out, out_cap, value_len);
    }
    const uint8_t *v;
    size_t len;
    uint8_t *owned;
    int rc = view_get(e, key, key_len, &v, &len, &owned);
    if (rc < 0) return -1;
    if (rc == 1) {
        *found = 1;
        copy_out(v, len, out, out_cap, value_len);
    }
    free(owned);
    return 0;
}

static bool has_prefix(const uint8_t *key, size_t len, const uint8_t *prefix, size_t plen)
{
    return len >= plen && memcmp(key, prefix, plen) == 0;
}

/* Smallest key in the block view with prefix and > after: merges the overlay (whose
 * deletes hide ledger keys) with the ledger. Each step moves `after` forward. */
static int host_next(void *ctx, const uint8_t *prefix, size_t prefix_len, const uint8_t *after,
                     size_t after_len, uint8_t *out, size_t out_cap, size_t *key_len, int *found)
{
    exec *e = ctx;
    uint8_t cur[CODEC_KEY_MAX], lkey[CODEC_KEY_MAX];
    size_t cur_len = after_len;
    *found = 0;
    if (after_len > CODEC_KEY_MAX) return -1;
    if (after_len) memcpy(cur, after, after_len);
    for (uint32_t guard = 0; guard <= e->overlay_count; guard++) {
        size_t llen = 0;
        ledger_err lrc = ledger_state_next(e->l, prefix, prefix_len, cur, cur_len, lkey,
                                           sizeof lkey, &llen);
        if (lrc != LEDGER_OK && lrc != LEDGER_ERR_NOT_FOUND) return -1;
        bool have_l = lrc == LEDGER_OK;
        /* first overlay entry > cur with the prefix */
        const overlay_entry *o = NULL;
        uint32_t i = cur_len ? overlay_lower(e, cur, cur_len) : overlay_lower(e, prefix, prefix_len);
        if (i < e->overlay_count && cur_len
            && key_cmp(e->overlay[i].key, e->overlay[i].key_len, cur, cur_len) == 0) {
            i++;
        }
        while (i < e->overlay_count
               && key_cmp(e->overlay[i].key, e->overlay[i].key_len, prefix, prefix_len) < 0) {
            i++;
        }
        if (i < e->overlay_count
            && has_prefix(e->overlay[i].key, e->overlay[i].key_len, prefix, prefix_len)) {
            o = &e->overlay[i];
        }
        if (o && (!have_l || key_cmp(o->key, o->key_len, lkey, llen) <= 0)) {
            if (o->value) {
                *found = 1;
                return copy_out(o->key, o->key_len, out, out_cap, key_len);
            }
            memcpy(cur, o->key, o->key_len); /* deleted in this block: skip it */
            cur_len = o->key_len;
            continue;
        }
        if (!have_l) return 0;
        *found = 1;
        return copy_out(lkey, llen, out, out_cap, key_len);
    }
    return -1;
}

static int host_sha256(void *ctx, const uint8_t *data, size_t len, uint8_t out[32])
{
    (void)ctx;
    tcrypto_sha256(data, len, (hash32 *)out);
    return 0;
}

/* ---- contracts -------------------------------------------------------------------- */

/* Names no contract may take: a contract writes only keys starting with "<its name>/", and
 * "sys/" is the executor's state (authorities, validator sets, the replay set, deployed
 * code), "genesis/" the contracts' virtual read-only keys, and "governance" the executor's
 * own methods (route() never reaches a module of that name). */
static bool reserved_name(const char *name)
{
    return strcmp(name, "sys") == 0 || strcmp(name, "genesis") == 0
           || strcmp(name, "governance") == 0;
}


static exec_contract *contract_find(exec *e, const char *name)
{
    for (uint32_t i = 0; i < e->contract_count; i++) {
        if (strcmp(e->contracts[i].name, name) == 0) return &e->contracts[i];
    }
    return NULL;
}

static const exec_contract *contract_get(const exec *e, const char *name)
{
    for (uint32_t i = 0; i < e->contract_count; i++) {
        if (strcmp(e->contracts[i].name, name) == 0) return &e->contracts[i];
    }
    return NULL;
}

/* The ABI kinds ('i'/'b' per parameter) of a built-in method, or NULL. */
static const char *abi_kinds(const char *contract, const char *method)
{
    for (uint32_t i = 0; i < contracts_abi_count; i++) {
        const contract_abi_method *m = &contracts_abi[i];
        if (strcmp(m->contract, contract) == 0 && strcmp(m->method, method) == 0) return m->kinds;
    }
    return NULL;
}

/* Arguments' shape of a tx: bit i set when argument i is bytes. */
static uint32_t arg_kinds_of(const codec_tx *tx)
{
    uint32_t kinds = 0;
    for (uint32_t i = 0; i < tx->arg_count; i++) {
        if (tx->args[i].kind == CODEC_VALUE_BYTES) kinds |= 1u << i;
    }
    return kinds;
}

/* Step 4 of executor.h, the route: the contract exists (loaded: genesis or deployed), the
 * method is exported, the arguments fit it (count; kinds where the ABI table describes the
 * module). governance.deploy takes 3..2+EXEC_DEPLOY_CHUNKS_MAX arguments (check_deploy
 * checks the rest). Returns 0 or EXEC_E_NO_CONTRACT, NO_METHOD, BAD_ARGS. */
static uint32_t route(const exec *e, const char *contract, const char *method,
                      uint32_t arg_count, uint32_t arg_kinds)
{
    if (strcmp(contract, "governance") == 0) {
        if (strcmp(method, "authority") == 0) /* action, role, site, name, key, new_key */
            return arg_count == 6 && arg_kinds == 0x3cu ? 0 : EXEC_E_BAD_ARGS;
        if (strcmp(method, "validators") == 0) {
            return arg_count == 1 && (arg_kinds & 1u) ? 0 : EXEC_E_BAD_ARGS;
        }
        if (strcmp(method, "deploy") != 0) return EXEC_E_NO_METHOD;
        if (arg_count < 3 || arg_count > 2 + EXEC_DEPLOY_CHUNKS_MAX) return EXEC_E_BAD_ARGS;
        return 0;
    }
    const exec_contract *c = contract_get(e, contract);
    if (!c) return EXEC_E_NO_CONTRACT;
    int f = cvm_module_find_export(c->module, method);
    cvm_funcinfo info;
    if (f < 0) return EXEC_E_NO_METHOD;
    if (cvm_module_func_info(c->module, (uint32_t)f, &info) != CVM_OK
        || info.nparams != arg_count) {
        return EXEC_E_BAD_ARGS;
    }
    const char *kinds = c->builtin ? abi_kinds(contract, method) : NULL;
    for (uint32_t i = 0; kinds && i < arg_count; i++) {
        bool bytes = (arg_kinds >> i) & 1u;
        if (bytes != (kinds[i] == 'b')) return EXEC_E_BAD_ARGS;
    }
    return 0;
}

static bool noted_deploy(const exec *e, const char *name)
{
    for (uint32_t i = 0; i < e->noted_count; i++) {
        if (strcmp(e->noted[i], name) == 0) return true;
    }
    return false;
}

void exec_note_deploy(exec *e, const char *name)
{
    if (noted_deploy(e, name) || e->noted_count == NOTED_DEPLOYS_MAX) return;
    snprintf(e->noted[e->noted_count++], CODEC_NAME_MAX + 1, "%s", name);
}

uint32_t exec_check_route(const exec *e, const codec_tx *tx)
{
    uint32_t code = route(e, tx->contract.text, tx->method.text, tx->arg_count, arg_kinds_of(tx));
    /* a deploy on its way may bring the contract or a new version of it */
    if (code && noted_deploy(e, tx->contract.text)) return 0;
    return code;
}

/* Whether bytes are exactly the built-in module called name (contracts.h). */
static bool is_builtin(const char *name, const uint8_t *bytes, size_t len)
{
    for (uint32_t i = 0; i < contracts_builtin_count; i++) {
        const contract_builtin *b = &contracts_builtin[i];
        if (strcmp(b->name, name) == 0) return b->len == len && memcmp(b->bytecode, bytes, len) == 0;
    }
    return false;
}

/* Install (or replace) a contract's module (builtin: is_builtin of its bytecode);
 * ownership of module moves to e on success. */
static int contract_install(exec *e, const char *name, uint64_t version, cvm_module *module,
                            bool builtin)
{
    exec_contract *c = contract_find(e, name);
    if (!c) {
        if (e->contract_count == CODEC_CONTRACTS_MAX) return -1;
        c = &e->contracts[e->contract_count++];
        snprintf(c->name, sizeof c->name, "%s", name);
    } else {
        cvm_module_free(c->module);
    }
    c->version = version;
    c->module = module;
    c->builtin = builtin;
    return 0;
}

/* Reassemble a deployed module from its sys/code chunks in the block view (malloc'd). */
static uint8_t *deployed_bytes(exec *e, const char *name, const uint8_t rec[24], size_t *len)
{
    uint64_t total = load64(rec + 8), chunks = load64(rec + 16);
    if (total > CODEC_BYTECODE_MAX || chunks > EXEC_DEPLOY_CHUNKS_MAX) return NULL;
    uint8_t *buf = malloc(total + 1);
    size_t at = 0;
    for (uint64_t i = 0; buf && i < chunks; i++) {
        uint8_t key[CODEC_KEY_MAX];
        int n = snprintf((char *)key, sizeof key, SYS_CODE "%s/", name);
        key[n] = (uint8_t)i;
        const uint8_t *v;
        size_t vlen;
        uint8_t *owned;
        if (view_get(e, key, (size_t)n + 1, &v, &vlen, &owned) != 1 || at + vlen > total) {
            free(owned);
            free(buf);
            return NULL;
        }
        memcpy(buf + at, v, vlen);
        at += vlen;
        free(owned);
    }
    if (buf && at != total) {
        free(buf);
        return NULL;
    }
    *len = at;
    return buf;
}

/* Load the deployed version of name if the ledger holds one newer than the genesis'. */
static exec_err load_deployed(exec *e, const char *name, exec_error *err)
{
    uint8_t key[CODEC_KEY_MAX];
    int n = snprintf((char *)key, sizeof key, SYS_CONTRACT "%s", name);
    const uint8_t *v;
    size_t vlen;
    uint8_t *owned;
    int rc = view_get(e, key, (size_t)n, &v, &vlen, &owned);
    if (rc < 0) return fail(err, EXEC_ERR_LEDGER, "reading deployed contract %s", name);
    if (rc == 0) return EXEC_OK;
    uint8_t rec[24];
    memcpy(rec, v, vlen == 24 ? 24 : 0);
    free(owned);
    size_t len = 0;
    uint8_t *bytes = vlen == 24 ? deployed_bytes(e, name, rec, &len) : NULL;
    cvm_module *m = NULL;
    if (!bytes || cvm_module_load(bytes, len, &m, NULL) != CVM_OK
        || contract_install(e, name, load64(rec), m, is_builtin(name, bytes, len)) != 0) {
        free(bytes);
        cvm_module_free(m);
        return fail(err, EXEC_ERR_CONTRACT, "deployed contract %s does not load", name);
    }
    free(bytes);
    return EXEC_OK;
}

static exec_err load_contracts(exec *e, exec_error *err)
{
    const codec_genesis *g = e->genesis;
    for (uint32_t i = 0; i < g->contract_count; i++) {
        cvm_module *m = NULL;
        cvm_error ce;
        if (reserved_name(g->contracts[i].name.text)) {
            return fail(err, EXEC_ERR_CONTRACT, "genesis contract %s: the name is reserved (the "
                        "executor's own keys and methods)", g->contracts[i].name.text);
        }
        if (cvm_module_load(g->contracts[i].bytecode, g->contracts[i].bytecode_len, &m, &ce)
                != CVM_OK
            || contract_install(e, g->contracts[i].name.text, g->contracts[i].version, m,
                                is_builtin(g->contracts[i].name.text, g->contracts[i].bytecode,
                                           g->contracts[i].bytecode_len)) != 0) {
            cvm_module_free(m);
            return fail(err, EXEC_ERR_CONTRACT, "genesis contract %s does not load",
                        g->contracts[i].name.text);
        }
    }
    /* Deployed versions (of genesis names or new names): walk sys/contract/. */
    uint8_t after[CODEC_KEY_MAX];
    size_t after_len = 0;
    const uint8_t *prefix = (const uint8_t *)SYS_CONTRACT;
    for (uint32_t guard = 0; guard < CODEC_CONTRACTS_MAX * 2; guard++) {
        uint8_t key[CODEC_KEY_MAX];
        size_t klen;
        if (ledger_state_next(e->l, prefix, sizeof SYS_CONTRACT - 1, after, after_len, key,
                              sizeof key, &klen) != LEDGER_OK) {
            break;
        }
        char name[CODEC_NAME_MAX + 1];
        size_t nlen = klen - (sizeof SYS_CONTRACT - 1);
        if (nlen > CODEC_NAME_MAX) break;
        memcpy(name, key + sizeof SYS_CONTRACT - 1, nlen);
        name[nlen] = '\0';
        exec_err rc = load_deployed(e, name, err);
        if (rc != EXEC_OK) return rc;
        memcpy(after, key, klen);
        after_len = klen;
    }
    return EXEC_OK;
}

/* ---- validator sets ------------------------------------------------------------------ */

/* The history of validator sets from state (sys/valset/at/, boundaries increasing), each
 * change re-checked by the same rules that admitted it. */
static exec_err load_valsets(exec *e, exec_error *err)
{
    const uint8_t *prefix = (const uint8_t *)SYS_VALSET_AT;
    const size_t plen = sizeof SYS_VALSET_AT - 1;
    uint8_t after[CODEC_KEY_MAX], key[CODEC_KEY_MAX];
    size_t after_len = 0, klen;
    for (uint32_t n = 0; n < CONSORTIUM_CHANGES_MAX; n++) {
        ledger_err lrc = ledger_state_next(e->l, prefix, plen, after, after_len, key, sizeof key,
                                           &klen);
        if (lrc == LEDGER_ERR_NOT_FOUND) return EXEC_OK;
        if (lrc != LEDGER_OK || klen != plen + 8) {
            return fail(err, EXEC_ERR_LEDGER, "reading %s failed", SYS_VALSET_AT);
        }
        uint8_t *v;
        size_t vlen;
        if (ledger_state_get(e->l, key, klen, &v, &vlen) != LEDGER_OK) {
            return fail(err, EXEC_ERR_LEDGER, "reading %s failed", SYS_VALSET_AT);
        }
        codec_valset set;
        char why[160];
        bool ok = vlen > 8 && codec_valset_decode(v + 8, vlen - 8, &set, NULL) == CODEC_OK
                  && consortium_history_add_valset(e->hist, load64(v), load64(key + plen), &set,
                                                   why, sizeof why) == 0;
        free(v);
        if (!ok) return fail(err, EXEC_ERR_LEDGER, "a stored validator set does not load%s", NULL);
        memcpy(after, key, klen);
        after_len = klen;
    }
    return EXEC_OK;
}

uint32_t exec_validators_at(exec *e, uint64_t height, const codec_validator **out)
{
    const consortium_valset_entry *v = consortium_valset_at(e->hist, height);
    *out = v->set.validators;
    return v->set.count;
}

bool exec_valset_last_change(exec *e, uint64_t *height, uint64_t *boundary,
                             const codec_valset **set)
{
    const consortium_valset_entry *v = consortium_last_change(e->hist);
    if (!v) return false;
    *height = v->height;
    *boundary = v->boundary;
    *set = &v->set;
    return true;
}

consortium_history *exec_history(exec *e) { return e->hist; }

/* ---- rules ------------------------------------------------------------------------- */

const codec_rules *exec_rules_at(const exec *e, uint64_t height)
{
    consortium c;
    consortium_at(e->hist, height, &c); /* the rules are the genesis's whatever it returns */
    return c.rules;
}

/* Every zero option from the rules in force (tests and benchmarks may set their own). */
static void options_from_rules(exec_options *opt, const codec_rules *rules)
{
    if (opt->gas_limit == 0) opt->gas_limit = rules->tx_gas_limit;
    if (opt->block_gas_limit == 0) opt->block_gas_limit = rules->block_gas_limit;
    if (opt->gas_schedule == 0) opt->gas_schedule = rules->gas_schedule;
    if (opt->valid_for_max_ms == 0) opt->valid_for_max_ms = rules->valid_for_max_ms;
}

/* ---- open / close ------------------------------------------------------------------ */

exec_err exec_open(ledger *l, const exec_options *opt, exec **out, exec_error *err)
{
    *out = NULL;
    if (opt && opt->gas_schedule != 0 && opt->gas_schedule != CVM_GAS_SCHEDULE) {
        char why[96];
        snprintf(why, sizeof why, "gas_schedule %u is unknown: this build runs gas schedule %u only",
                 opt->gas_schedule, CVM_GAS_SCHEDULE);
        return fail(err, EXEC_ERR_INVALID, "%s", why);
    }
    exec *e = calloc(1, sizeof *e);
    if (!e) return fail(err, EXEC_ERR_NOMEM, "out of memory%s", NULL);
    e->l = l;
    e->genesis = ledger_genesis(l);
    e->chain_id = *ledger_chain_id(l);
    e->opt = opt ? *opt : (exec_options){.verify_signatures = true};
    e->hist = malloc(sizeof *e->hist);
    if (!e->hist || consortium_history_init(e->hist, e->genesis) != 0) {
        free(e->hist);
        free(e);
        return fail(err, EXEC_ERR_NOMEM, "out of memory%s", NULL);
    }
    const codec_rules *rules = exec_rules_at(e, 0);
    options_from_rules(&e->opt, rules);
    consortium members;
    consortium_at(e->hist, 0, &members);
    for (uint32_t i = 0; i < members.authority_count; i++) {
        const codec_authority *a = &members.authorities[i];
        e->auths[e->auth_count++] = (auth_entry){a->key, a->role, &a->site, &a->name};
        if (a->role <= ROLE_MAX_) e->genesis_role_count[a->role]++;
    }
    qsort(e->auths, e->auth_count, sizeof e->auths[0], auth_cmp);
    cvm_limits limits = cvm_limits_default();
    limits.arena_bytes = rules->vm_memory_bytes;
    limits.call_depth = rules->vm_call_depth;
    limits.writes_max = rules->vm_writes_max;
    limits.events_max = rules->vm_events_max;
    e->vm = cvm_vm_new(&limits);
    e->cache.slots = calloc(CACHE_SLOTS, sizeof *e->cache.slots);
    if (!e->vm || !e->cache.slots) {
        cvm_vm_free(e->vm);
        free(e->cache.slots);
        consortium_history_free(e->hist);
        free(e->hist);
        free(e);
        return fail(err, EXEC_ERR_NOMEM, "out of memory%s", NULL);
    }
    exec_err rc = load_contracts(e, err);
    if (rc == EXEC_OK) rc = load_valsets(e, err);
    if (rc != EXEC_OK) {
        exec_close(e);
        return rc;
    }
    /* The effective time of the last block; an empty ledger's is the genesis's creation
     * time, so block 1 runs at max(its time, created_ms + 1) as verifiers count it
     * (FORMATS.md 5.2). */
    e->time_ms = ledger_genesis(l)->created_ms;
    uint8_t *clock;
    size_t clock_len;
    if (ledger_state_get(l, (const uint8_t *)SYS_CLOCK, sizeof SYS_CLOCK - 1, &clock, &clock_len)
        == LEDGER_OK) {
        if (clock_len == 8) e->time_ms = load64(clock);
        free(clock);
    }
    *out = e;
    return EXEC_OK;
}

void exec_close(exec *e)
{
    if (!e) return;
    block_reset(e);
    for (uint32_t i = 0; i < e->contract_count; i++) cvm_module_free(e->contracts[i].module);
    cvm_vm_free(e->vm);
    cache_clear(&e->cache);
    free(e->cache.slots);
    if (e->hist) consortium_history_free(e->hist);
    free(e->hist);
    free(e->writes);
    free(e->overlay);
    free(e->latest);
    free(e->receipt_buf);
    free(e->receipts);
    free(e->stored);
    free(e->pruned_buf);
    free(e);
}

ledger *exec_ledger(exec *e) { return e->l; }
uint32_t exec_last_receipt_count(const exec *e) { return e->receipt_count; }
const codec_span *exec_last_receipts(const exec *e) { return e->receipts; }

/* ---- one tx -------------------------------------------------------------------------- */

static void set_status(codec_receipt *r, uint8_t status, uint32_t code, const char *detail)
{
    r->status = status;
    r->error_code = code;
    const char *reason = exec_reason(status, code);
    char text[512];
    if (detail && *detail) snprintf(text, sizeof text, "%s: %s", reason, detail);
    else snprintf(text, sizeof text, "%s", reason);
    size_t len = strlen(text);
    if (len > CODEC_REASON_MAX) len = CODEC_REASON_MAX; /* reasons are ASCII: cut anywhere */
    memcpy(r->reason, text, len);
    r->reason[len] = '\0';
}

/* The role key holds now: an authority's (exec_authority_of, *auth filled when not NULL),
 * ROLE_REVOKED_ for a revoked authority, ROLE_PARTICIPANT for a key enrolled on the ledger,
 * else 0. */
static uint8_t role_of(exec *e, const uint8_t key[32], exec_authority *auth)
{
    exec_authority local;
    if (!auth) auth = &local;
    int st = exec_authority_of(e, (const pubkey *)(const void *)key, auth);
    if (st == EXEC_AUTH_ACTIVE) return auth->role;
    if (st == EXEC_AUTH_REVOKED) return ROLE_REVOKED_;
    uint8_t k[sizeof "consent/pk/" - 1 + 32];
    memcpy(k, "consent/pk/", sizeof "consent/pk/" - 1);
    memcpy(k + sizeof "consent/pk/" - 1, key, 32);
    const uint8_t *v;
    size_t len;
    uint8_t *owned;
    int rc = view_get(e, k, sizeof k, &v, &len, &owned);
    free(owned);
    return rc == 1 ? ROLE_PARTICIPANT : 0;
}

/* Step 3 for the signer: no role (NO_ROLE), or a role that writes nothing (READ_ONLY: an
 * auditor reads blocks and exports, it signs no tx). */
static uint32_t signer_refusal(uint8_t role)
{
    if (role == 0) return EXEC_E_NO_ROLE;
    if (role == ROLE_REVOKED_) return EXEC_E_KEY_REVOKED;
    return role == ROLE_AUDITOR ? EXEC_E_READ_ONLY : 0;
}

/* The reason's detail for EXEC_E_KEY_REVOKED: which key, revoked at which height. */
static void revoked_detail(const uint8_t key[32], uint64_t height, char *out, size_t cap)
{
    char hex[17];
    tcrypto_to_hex(key, 8, hex);
    snprintf(out, cap, "key %s... revoked at height %" PRIu64, hex, height);
}

/* Checks the author's and co-signers' signatures over this chain (codes as receipts). */
static uint32_t check_signatures(const exec *e, const codec_tx *tx)
{
    int bad = codec_tx_verify_signatures(tx, &e->chain_id);
    if (bad < 0) return EXEC_E_SIGNATURE;
    return bad > 0 ? EXEC_E_COSIGNATURE : 0;
}

/* A governance.authority change, checked (check_authority): the key that goes (revoke,
 * rotate), the key that comes (add: key; rotate: new_key), and the role, site and name as
 * recorded (revoke, rotate) or given (add). */
typedef struct {
    uint8_t action; /* 1 add, 2 revoke, 3 rotate */
    uint8_t role;
    codec_name site, name;
    pubkey key, new_key;
} auth_plan;

enum { AUTH_ADD = 1, AUTH_REVOKE = 2, AUTH_ROTATE = 3 };

/* What admission learned about a tx (decoded, checked, its replay entry looked up). */
typedef struct {
    codec_tx tx;
    uint8_t role;
    cvm_cosigner cos[CODEC_COSIGS_MAX];
    exec_contract *contract;   /* NULL for governance */
    char deploy_name[CODEC_NAME_MAX + 1];
    uint64_t deploy_version;
    cvm_module *deploy_module; /* owned until installed */
    bool deploy_builtin;
    bool authority;            /* governance.authority: plan says what it changes */
    auth_plan plan;
    bool valset;               /* governance.validators: the new set below */
    codec_valset new_set;
    char detail[CODEC_REASON_MAX]; /* what a governance refusal names */
    uint8_t replay_key[REPLAY_KEY_LEN];
} tx_admission;

/* ---- replay protection: valid_until and the replay set ---------------------------- */

static void replay_key(uint8_t key[REPLAY_KEY_LEN], const uint8_t *signer, uint64_t nonce)
{
    memcpy(key, SYS_REPLAY, sizeof SYS_REPLAY - 1);
    memcpy(key + sizeof SYS_REPLAY - 1, signer, 32);
    be64(key + sizeof SYS_REPLAY - 1 + 32, nonce);
}

static void expiry_key(uint8_t key[EXPIRY_KEY_LEN], uint64_t valid_until, const uint8_t *signer,
                       uint64_t nonce)
{
    memcpy(key, SYS_EXPIRY, sizeof SYS_EXPIRY - 1);
    be64(key + sizeof SYS_EXPIRY - 1, valid_until);
    memcpy(key + sizeof SYS_EXPIRY - 1 + 8, signer, 32);
    be64(key + sizeof SYS_EXPIRY - 1 + 40, nonce);
}

/* valid_until against a time: 0, EXEC_E_EXPIRED (not after it) or EXEC_E_TOO_FAR (more
 * than max_ms after it). */
static uint32_t check_valid_until(uint64_t valid_until, uint64_t time_ms, uint64_t max_ms)
{
    if (valid_until <= time_ms) return EXEC_E_EXPIRED;
    if (valid_until - time_ms > max_ms) return EXEC_E_TOO_FAR;
    return 0;
}

/* The entry of (signer, nonce) in the replay set, as the block view has it: 1 and its
 * valid_until in *until, 0 absent, -1 storage error. */
static int replay_entry(exec *e, const uint8_t key[REPLAY_KEY_LEN], uint64_t *until)
{
    const uint8_t *v;
    size_t len;
    uint8_t *owned;
    int rc = view_get(e, key, REPLAY_KEY_LEN, &v, &len, &owned);
    if (rc == 1) *until = len == 8 ? load64(v) : UINT64_MAX; /* only this file writes it */
    free(owned);
    return rc;
}

/* Step 5: valid_until against the block time, then (signer, nonce) against the replay
 * set: refused if committed with a valid_until still after the block time. An entry that
 * has expired but is not pruned yet counts as absent (the new entry replaces it; its old
 * expiry key is left to prune_replays). Returns 0, an INVALID code, or UINT32_MAX on a
 * storage error. */
static uint32_t check_replay(exec *e, const codec_tx *tx, tx_admission *a)
{
    uint32_t code = check_valid_until(tx->valid_until, e->time_ms, e->opt.valid_for_max_ms);
    if (code) return code;
    replay_key(a->replay_key, tx->signer.bytes, tx->nonce);
    uint64_t until = 0;
    int rc = replay_entry(e, a->replay_key, &until);
    if (rc < 0) return UINT32_MAX;
    return rc == 1 && until > e->time_ms ? EXEC_E_NONCE_REPLAY : 0;
}

/* Records an admitted tx in the replay set and its expiry index. */
static int replay_record(exec *e, const codec_tx *tx, const tx_admission *a)
{
    uint8_t until[8], key[EXPIRY_KEY_LEN];
    be64(until, tx->valid_until);
    if (block_put(e, a->replay_key, REPLAY_KEY_LEN, until, 8, false) != 0) return -1;
    expiry_key(key, tx->valid_until, tx->signer.bytes, tx->nonce);
    return block_put(e, key, EXPIRY_KEY_LEN, NULL, 0, false);
}

/* End of a block: delete at most EXEC_REPLAY_PRUNE_MAX entries whose valid_until is not
 * after the block time, oldest first (the expiry index is sorted by valid_until). Late
 * deletion is safe: a tx whose entry is expired is itself expired (same valid_until, and
 * block times only grow), so step 5 refuses it before it looks at the set. The entry of
 * (signer, nonce) is deleted only if it still has this valid_until (a later tx with that
 * nonce may have replaced the expired entry, in this block or before). Returns 0 or -1
 * (storage, memory). */
static int prune_replays(exec *e)
{
    uint8_t key[CODEC_KEY_MAX], after[EXPIRY_KEY_LEN], rkey[REPLAY_KEY_LEN];
    const size_t plen = sizeof SYS_EXPIRY - 1;
    size_t klen, after_len = e->prune_after_set ? EXPIRY_KEY_LEN : 0;
    memcpy(after, e->prune_after, sizeof after);
    for (uint32_t n = 0; n < EXEC_REPLAY_PRUNE_MAX; n++) {
        ledger_err rc = ledger_state_next(e->l, (const uint8_t *)SYS_EXPIRY, plen, after,
                                          after_len, key, sizeof key, &klen);
        if (rc == LEDGER_ERR_NOT_FOUND) break;
        if (rc != LEDGER_OK || klen != EXPIRY_KEY_LEN) return -1;
        memcpy(after, key, EXPIRY_KEY_LEN);
        after_len = EXPIRY_KEY_LEN;
        uint64_t until = load64(key + plen), current = 0;
        if (until > e->time_ms) break;
        replay_key(rkey, key + plen + 8, load64(key + plen + 40));
        int got = replay_entry(e, rkey, &current);
        if (got < 0) return -1;
        if (block_put(e, key, EXPIRY_KEY_LEN, NULL, 0, true) != 0) return -1;
        if (got == 1 && current == until && block_put(e, rkey, REPLAY_KEY_LEN, NULL, 0, true) != 0)
            return -1;
        memcpy(e->prune_pending, key, EXPIRY_KEY_LEN);
        e->prune_pending_set = true;
    }
    return 0;
}

uint32_t exec_check_submit(exec *e, const codec_tx *tx, uint64_t now_ms)
{
    uint64_t skew = exec_rules_at(e, 0)->clock_skew_ms;
    if (tx->valid_until <= now_ms) return EXEC_E_EXPIRED;
    if (tx->valid_until - now_ms > e->opt.valid_for_max_ms + skew) return EXEC_E_TOO_FAR;
    uint8_t key[REPLAY_KEY_LEN];
    uint64_t until = 0;
    replay_key(key, tx->signer.bytes, tx->nonce);
    return replay_entry(e, key, &until) == 1 && until > now_ms ? EXEC_E_NONCE_REPLAY : 0;
}

static bool valid_name(const uint8_t *p, size_t len)
{
    if (len < 1 || len > CODEC_NAME_MAX) return false;
    for (size_t i = 0; i < len; i++) {
        if (!((p[i] >= 'a' && p[i] <= 'z') || p[i] == '_')) return false;
    }
    return true;
}

/* Whether the tx's signer (signer_role) and its co-signers with meaning approval hold at
 * least the keys of each role the requirement lists (one key counts once: the codec refuses
 * a repeated co-signer and a signer co-signing its own tx). */
static bool requirement_met(const codec_requirement *req, uint8_t signer_role,
                          const cvm_cosigner *cos, uint32_t cosig_count)
{
    for (uint32_t i = 0; i < req->role_count; i++) {
        uint32_t held = signer_role == req->roles[i].role;
        for (uint32_t k = 0; k < cosig_count; k++) {
            held += cos[k].role == req->roles[i].role && cos[k].meaning == MEANING_APPROVAL;
        }
        if (held < req->roles[i].count) return false;
    }
    return true;
}

/* Governance deploy: validated fully before the nonce is consumed. On success *module is
 * the verified module and name/version are set; a refusal may name its cause in detail. */
static uint32_t check_deploy(exec *e, const codec_tx *tx, const cvm_cosigner *cos,
                             uint8_t signer_role, char name[CODEC_NAME_MAX + 1],
                             uint64_t *version, cvm_module **module, bool *builtin,
                             char *detail, size_t detail_cap)
{
    /* method and argument count: route() */
    const codec_requirement *req = &e->genesis->governance[GOVERNANCE_DEPLOY - 1];
    const codec_value *a = tx->args;
    if (!requirement_met(req, signer_role, cos, tx->cosig_count)
        || a[0].kind != CODEC_VALUE_BYTES || !valid_name(a[0].bytes, a[0].len)
        || a[1].kind != CODEC_VALUE_INT || a[1].integer < 1) {
        return EXEC_E_GOVERNANCE;
    }
    memcpy(name, a[0].bytes, a[0].len);
    name[a[0].len] = '\0';
    if (reserved_name(name)) {
        snprintf(detail, detail_cap, "the name %s is reserved", name);
        return EXEC_E_GOVERNANCE;
    }
    exec_contract *c = contract_find(e, name);
    if (c && (uint64_t)a[1].integer <= c->version) return EXEC_E_GOVERNANCE;
    size_t total = 0;
    for (uint32_t i = 2; i < tx->arg_count; i++) {
        if (a[i].kind != CODEC_VALUE_BYTES || a[i].len == 0) return EXEC_E_GOVERNANCE;
        total += a[i].len;
    }
    uint8_t *bytes = malloc(total);
    if (!bytes) return EXEC_E_GOVERNANCE;
    size_t at = 0;
    for (uint32_t i = 2; i < tx->arg_count; i++) {
        memcpy(bytes + at, a[i].bytes, a[i].len);
        at += a[i].len;
    }
    cvm_status st = cvm_module_load(bytes, total, module, NULL);
    *builtin = is_builtin(name, bytes, total);
    free(bytes);
    if (st != CVM_OK) return EXEC_E_GOVERNANCE;
    *version = (uint64_t)a[1].integer;
    return 0;
}

static int apply_deploy(exec *e, const codec_tx *tx, const char *name, uint64_t version,
                        cvm_module *module, bool builtin, codec_receipt *r)
{
    uint8_t key[CODEC_KEY_MAX], rec[24];
    uint64_t total = 0;
    uint32_t chunks = tx->arg_count - 2;
    for (uint32_t i = 0; i < chunks; i++) {
        const codec_value *a = &tx->args[2 + i];
        int n = snprintf((char *)key, sizeof key, SYS_CODE "%s/", name);
        key[n] = (uint8_t)i;
        if (block_put(e, key, (uint32_t)n + 1, a->bytes, a->len, false) != 0) goto err;
        total += a->len;
    }
    be64(rec, version);
    be64(rec + 8, total);
    be64(rec + 16, chunks);
    int n = snprintf((char *)key, sizeof key, SYS_CONTRACT "%s", name);
    if (block_put(e, key, (uint32_t)n, rec, sizeof rec, false) != 0) goto err;
    if (contract_install(e, name, version, module, builtin) != 0) goto err;
    r->event_count = 1;
    snprintf(r->events[0].topic.text, sizeof r->events[0].topic.text, "governance.deployed");
    r->events[0].data = tx->args[0].bytes; /* the contract name */
    r->events[0].len = tx->args[0].len;
    return 0;
err:
    cvm_module_free(module); /* ownership moves to e only on success */
    return -1;
}

/* ---- governance.authority (executor.h "Authorities") ---------------------------------- */

/* A site code or name: printable ASCII without spaces, at most CODEC_NAME_MAX bytes,
 * non-empty when required. */
static bool auth_text(const codec_value *v, bool required, codec_name *out)
{
    if (v->len > CODEC_NAME_MAX || (required && v->len == 0)) return false;
    for (uint32_t i = 0; i < v->len; i++) {
        if (v->bytes[i] < 0x21 || v->bytes[i] > 0x7e) return false;
    }
    memcpy(out->text, v->bytes, v->len);
    out->text[v->len] = '\0';
    return true;
}

/* Whether key may become an authority: 0, AUTH_KEY_TAKEN (d says by whom), or UINT32_MAX
 * (storage). One key, one role, for ever: not an authority now or before, not a
 * participant, not a validator of the set in force, not the all-zero key. */
static uint32_t check_key_free(exec *e, const uint8_t key[32], char *d, size_t cap)
{
    static const uint8_t zero[32];
    char hex[17];
    tcrypto_to_hex(key, 8, hex);
    if (memcmp(key, zero, 32) == 0)
        return snprintf(d, cap, "the all-zero key is nobody's key"), EXEC_E_AUTH_KEY_TAKEN;
    exec_authority a;
    int st = exec_authority_of(e, (const pubkey *)(const void *)key, &a);
    if (st < 0) return UINT32_MAX;
    if (st == EXEC_AUTH_ACTIVE)
        return snprintf(d, cap, "key %s... is already an authority (%s %s)", hex,
                        codec_role_name(a.role), a.name.text), EXEC_E_AUTH_KEY_TAKEN;
    if (st == EXEC_AUTH_REVOKED)
        return snprintf(d, cap, "key %s... was an authority (%s), revoked at height %" PRIu64
                        ": a key is never used again", hex, codec_role_name(a.role), a.height),
               EXEC_E_AUTH_KEY_TAKEN;
    if (role_of(e, key, NULL) == ROLE_PARTICIPANT)
        return snprintf(d, cap, "key %s... is an enrolled participant", hex), EXEC_E_AUTH_KEY_TAKEN;
    /* the consent contract's keys of the lost-key flows (contracts/ABI.md): a participant key
     * re-bound away, and the new key of a pending re-binding, are a participant's too */
    static const char *const held[] = {"consent/x/", "consent/rn/"};
    for (size_t i = 0; i < 2; i++) {
        uint8_t k[sizeof "consent/rn/" - 1 + 32];
        size_t plen = strlen(held[i]);
        memcpy(k, held[i], plen);
        memcpy(k + plen, key, 32);
        const uint8_t *v;
        size_t len;
        uint8_t *owned;
        int rc = view_get(e, k, plen + 32, &v, &len, &owned);
        free(owned);
        if (rc < 0) return UINT32_MAX;
        if (rc == 1)
            return snprintf(d, cap, "key %s... is a participant's (%s)", hex,
                            i == 0 ? "re-bound away" : "a pending re-binding's new key"),
                   EXEC_E_AUTH_KEY_TAKEN;
    }
    /* a validator of the set in force, or of a change not yet in force */
    const codec_valset *sets[2];
    validator_sets(e, sets);
    uint32_t index;
    for (int s = 0; s < 2; s++) {
        if (sets[s] && consortium_valset_has(sets[s], (const pubkey *)(const void *)key, &index))
            return snprintf(d, cap, "key %s... is validator %u (%s)%s", hex, index,
                            sets[s]->validators[index].name.text, s ? " of a pending change" : ""),
                   EXEC_E_AUTH_KEY_TAKEN;
    }
    return 0;
}

/* "sponsor x1 + regulator x1" */
static void requirement_text(const codec_requirement *req, char *out, size_t cap)
{
    size_t at = 0;
    out[0] = '\0';
    for (uint32_t i = 0; i < req->role_count && at < cap; i++) {
        int n = snprintf(out + at, cap - at, "%s%s x%u", i ? " + " : "",
                         codec_role_name(req->roles[i].role), req->roles[i].count);
        if (n < 0) break;
        at += (size_t)n;
    }
}

/* Who signs (executor.h "Authorities"): kind 1, or kind 5 for a regulator target, whose own
 * key never counts there. 0 or AUTH_SIGNERS. */
static uint32_t check_authority_signers(exec *e, const codec_tx *tx, const tx_admission *adm,
                                        char *d, size_t cap)
{
    const auth_plan *p = &adm->plan;
    bool regulator = p->role == ROLE_REGULATOR;
    unsigned kind = regulator ? GOVERNANCE_REGULATORS : GOVERNANCE_AUTHORITIES;
    const codec_requirement *req = &e->genesis->governance[kind - 1];
    uint8_t signer_role = adm->role;
    cvm_cosigner cos[CODEC_COSIGS_MAX];
    memcpy(cos, adm->cos, tx->cosig_count * sizeof cos[0]);
    if (regulator) { /* a regulator's own key never counts for its change */
        if (memcmp(tx->signer.bytes, p->key.bytes, 32) == 0) signer_role = 0;
        for (uint32_t i = 0; i < tx->cosig_count; i++) {
            if (memcmp(cos[i].key, p->key.bytes, 32) == 0) cos[i].role = 0;
        }
    }
    if (requirement_met(req, signer_role, cos, tx->cosig_count)) return 0;
    char need[128];
    requirement_text(req, need, sizeof need);
    snprintf(d, cap, "changing a %s needs %s (kind %u: signer + approvals%s)",
             codec_role_name(p->role), need, kind, regulator ? ", own key not counted" : "");
    return EXEC_E_AUTH_SIGNERS;
}

/* A revoke leaves at least one regulator and, of every role, as many keys as a governance
 * requirement names (else no change of that kind could ever be made). 0, AUTH_TOO_FEW or
 * UINT32_MAX. */
static uint32_t check_enough_left(exec *e, uint8_t role, char *d, size_t cap)
{
    uint64_t have;
    if (auth_count(e, role, &have) != 0) return UINT32_MAX;
    uint64_t need = role == ROLE_REGULATOR ? 1 : 0;
    unsigned kind = 0;
    for (unsigned k = 0; k < GOVERNANCE_KIND_MAX_; k++) {
        const codec_requirement *req = &e->genesis->governance[k];
        for (uint32_t i = 0; i < req->role_count; i++) {
            if (req->roles[i].role == role && req->roles[i].count > need) {
                need = req->roles[i].count;
                kind = k + 1;
            }
        }
    }
    if (have > need) return 0;
    if (kind)
        snprintf(d, cap, "revoking it leaves %" PRIu64 " %s key(s); genesis governance kind %u "
                 "needs %" PRIu64, have ? have - 1 : 0, codec_role_name(role), kind, need);
    else
        snprintf(d, cap, "it is the last regulator");
    return EXEC_E_AUTH_TOO_FEW;
}

/* The target of a revoke or rotate: an active authority of that role (and site and name,
 * when given). Fills p's site and name as recorded. 0, AUTH_UNKNOWN_KEY or UINT32_MAX. */
static uint32_t check_target(exec *e, const codec_value *a, auth_plan *p, char *d, size_t cap)
{
    char hex[17];
    tcrypto_to_hex(p->key.bytes, 8, hex);
    exec_authority cur;
    int st = exec_authority_of(e, &p->key, &cur);
    if (st < 0) return UINT32_MAX;
    if (st == EXEC_AUTH_NONE)
        return snprintf(d, cap, "key %s... is no authority", hex), EXEC_E_AUTH_UNKNOWN_KEY;
    if (st == EXEC_AUTH_REVOKED)
        return snprintf(d, cap, "key %s... was revoked at height %" PRIu64, hex, cur.height),
               EXEC_E_AUTH_UNKNOWN_KEY;
    if (cur.role != p->role)
        return snprintf(d, cap, "key %s... holds the role %s, not %s", hex, codec_role_name(cur.role),
                        codec_role_name(p->role)), EXEC_E_AUTH_UNKNOWN_KEY;
    if (a[2].len && strcmp(p->site.text, cur.site.text) != 0)
        return snprintf(d, cap, "key %s... is at site %s, not %s", hex, cur.site.text,
                        p->site.text), EXEC_E_AUTH_UNKNOWN_KEY;
    if (a[3].len && strcmp(p->name.text, cur.name.text) != 0)
        return snprintf(d, cap, "key %s... is named %s, not %s", hex, cur.name.text,
                        p->name.text), EXEC_E_AUTH_UNKNOWN_KEY;
    p->site = cur.site;
    p->name = cur.name;
    return 0;
}

/* The shape of the change: action, role, key lengths, site and name. 0 or AUTH_BAD_CHANGE. */
static uint32_t check_change_shape(const codec_value *a, auth_plan *p, char *d, size_t cap)
{
    if (a[0].integer < AUTH_ADD || a[0].integer > AUTH_ROTATE)
        return snprintf(d, cap, "action %" PRId64 " is not 1 add, 2 revoke or 3 rotate",
                        a[0].integer), EXEC_E_AUTH_BAD_CHANGE;
    if (a[1].integer < ROLE_SPONSOR || a[1].integer > ROLE_RESEARCHER)
        return snprintf(d, cap, "role %" PRId64 " is not 1 sponsor, 2 investigator, 3 regulator "
                        "or 4 researcher", a[1].integer), EXEC_E_AUTH_BAD_CHANGE;
    p->action = (uint8_t)a[0].integer;
    p->role = (uint8_t)a[1].integer;
    bool add = p->action == AUTH_ADD, investigator = p->role == ROLE_INVESTIGATOR;
    if (a[4].len != 32)
        return snprintf(d, cap, "key is %u bytes, not 32", a[4].len), EXEC_E_AUTH_BAD_CHANGE;
    if (a[5].len != (p->action == AUTH_ROTATE ? 32u : 0u))
        return snprintf(d, cap, "new_key is %u bytes: 32 for a rotation, empty otherwise",
                        a[5].len), EXEC_E_AUTH_BAD_CHANGE;
    memcpy(p->key.bytes, a[4].bytes, 32);
    if (a[5].len) memcpy(p->new_key.bytes, a[5].bytes, 32);
    if (!auth_text(&a[2], add && investigator, &p->site) || (!investigator && a[2].len))
        return snprintf(d, cap, "site: %s", !investigator ? "only an investigator has a site"
                        : add ? "1..32 printable ASCII bytes without spaces (the site's code)"
                              : "empty (as recorded) or the recorded site"),
               EXEC_E_AUTH_BAD_CHANGE;
    if (!auth_text(&a[3], add, &p->name))
        return snprintf(d, cap, "name: %s", add ? "1..32 printable ASCII bytes without spaces"
                                                : "empty (as recorded) or the recorded name"),
               EXEC_E_AUTH_BAD_CHANGE;
    return 0;
}

/* governance.authority, validated fully before the nonce is consumed: the shape, the keys
 * (target, incoming), for a revoke what is left, the signers and the incoming key's
 * co-signature. 0, an INVALID code (adm->detail names what is wrong) or UINT32_MAX (storage). */
static uint32_t check_authority(exec *e, const codec_tx *tx, tx_admission *adm)
{
    const codec_value *a = tx->args; /* kinds: route() */
    auth_plan *p = &adm->plan;
    char *d = adm->detail;
    size_t cap = sizeof adm->detail;
    memset(p, 0, sizeof *p);
    uint32_t code = check_change_shape(a, p, d, cap);
    if (code) return code;
    if (p->action == AUTH_ADD) {
        code = check_key_free(e, p->key.bytes, d, cap);
    } else {
        code = check_target(e, a, p, d, cap);
        if (!code && p->action == AUTH_ROTATE) code = check_key_free(e, p->new_key.bytes, d, cap);
    }
    if (!code && p->action == AUTH_REVOKE) code = check_enough_left(e, p->role, d, cap);
    if (!code) code = check_authority_signers(e, tx, adm, d, cap);
    if (code) return code;
    const pubkey *incoming = p->action == AUTH_ADD      ? &p->key
                             : p->action == AUTH_ROTATE ? &p->new_key : NULL;
    bool signed_by_it = false;
    for (uint32_t i = 0; incoming && i < tx->cosig_count; i++)
        signed_by_it |= memcmp(tx->cosigs[i].key.bytes, incoming->bytes, 32) == 0;
    if (incoming && !signed_by_it) {
        char hex[17];
        tcrypto_to_hex(incoming->bytes, 8, hex);
        snprintf(d, cap, "the key added (%s...) must co-sign (proof of possession)", hex);
        return EXEC_E_AUTH_SIGNERS;
    }
    return 0;
}

/* One governance.authority event (codec.h) as the receipt's event i. */
static int authority_event(exec *e, codec_receipt *r, uint32_t i, uint8_t action,
                           const auth_plan *p, const pubkey *key)
{
    codec_authority_change c = {.action = action, .role = p->role, .site = p->site,
                                .name = p->name, .key = *key};
    codec_buf b = codec_buf_make(e->auth_event[i], sizeof e->auth_event[i]);
    if (codec_authority_change_encode(&c, &b) != CODEC_OK) return -1;
    snprintf(r->events[i].topic.text, sizeof r->events[i].topic.text, "%s",
             CODEC_AUTHORITY_EVENT_TOPIC);
    r->events[i].data = b.data;
    r->events[i].len = (uint32_t)b.len;
    r->event_count = i + 1;
    return 0;
}

/* Applies a checked change at this height: the records, the role's count, the events. */
static int apply_authority(exec *e, const auth_plan *p, codec_receipt *r)
{
    exec_authority rec = {.role = p->role, .site = p->site, .name = p->name, .height = e->height};
    uint32_t ev = 0;
    uint64_t count;
    if (p->action != AUTH_ADD) { /* revoke, rotate: the key goes (rotate: to new_key) */
        rec.state = EXEC_AUTH_REVOKED;
        rec.rotated = p->action == AUTH_ROTATE;
        rec.successor = p->new_key;
        if (auth_put(e, &p->key, &rec) != 0
            || authority_event(e, r, ev++, CODEC_AUTHORITY_REVOKED, p, &p->key) != 0)
            return -1;
    }
    if (p->action != AUTH_REVOKE) { /* add, rotate: a key comes */
        const pubkey *k = p->action == AUTH_ADD ? &p->key : &p->new_key;
        rec.state = EXEC_AUTH_ACTIVE;
        rec.rotated = false;
        if (auth_put(e, k, &rec) != 0
            || authority_event(e, r, ev++, CODEC_AUTHORITY_ADDED, p, k) != 0)
            return -1;
    }
    if (p->action == AUTH_ROTATE) return 0;
    if (auth_count(e, p->role, &count) != 0) return -1;
    return auth_count_put(e, p->role, p->action == AUTH_ADD ? count + 1 : count - 1);
}

/* Whether a change is pending at the block being executed: the last committed change's
 * boundary is ahead, or a tx earlier in this block made one. */
static bool valset_pending(const exec *e, uint64_t *boundary)
{
    const consortium_valset_entry *last = consortium_last_change(e->hist);
    if (e->valset_staged) *boundary = e->staged_boundary;
    else if (last && last->boundary > e->height) *boundary = last->boundary;
    else return false;
    return true;
}

/* The co-signers' approvals by validators of cur (distinct keys: the codec refuses a
 * repeated co-signer). A key that also holds an authority role (a genesis may list one key
 * as both) does not count here: it would count twice, once for the genesis's kind-2
 * requirement and once as a validator, and so a few authority keys could replace the
 * validators (review R3). */
static uint32_t validator_approvals(const codec_tx *tx, const cvm_cosigner *cos,
                                    const codec_valset *cur)
{
    uint32_t count = 0;
    for (uint32_t k = 0; k < tx->cosig_count; k++) {
        count += tx->cosigs[k].meaning == MEANING_APPROVAL && cos[k].role == 0
                 && consortium_valset_has(cur, &tx->cosigs[k].key, NULL);
    }
    return count;
}

/* New keys of next (not in cur): none held by an authority or participant (KEY_IN_USE),
 * each co-signs the tx (POSSESSION). Returns 0 or the code, with a detail. */
static uint32_t check_new_keys(exec *e, const codec_tx *tx, const codec_valset *cur,
                               const codec_valset *next, char *detail, size_t cap)
{
    for (uint32_t i = 0; i < next->count; i++) {
        const codec_validator *v = &next->validators[i];
        if (consortium_valset_has(cur, &v->key, NULL)) continue;
        char why[CODEC_REASON_MAX - 48]; /* room for the validator's index and name below */
        uint32_t code = check_key_free(e, v->key.bytes, why, sizeof why);
        if (code == UINT32_MAX) return code;
        if (code) { /* an authority's (now or before), a participant's, the zero key */
            snprintf(detail, cap, "validator %u (%.16s): %s", i, v->name.text, why);
            return EXEC_E_VALSET_KEY_IN_USE;
        }
    }
    for (uint32_t i = 0; i < next->count; i++) {
        const codec_validator *v = &next->validators[i];
        if (consortium_valset_has(cur, &v->key, NULL)) continue;
        bool signed_it = false;
        for (uint32_t k = 0; k < tx->cosig_count && !signed_it; k++) {
            signed_it = memcmp(tx->cosigs[k].key.bytes, v->key.bytes, 32) == 0;
        }
        if (!signed_it) {
            snprintf(detail, cap, "new validator %u (%s) did not co-sign", i, v->name.text);
            return EXEC_E_VALSET_POSSESSION;
        }
    }
    return 0;
}

/* governance.validators: validated fully before the nonce is consumed (executor.h). */
static uint32_t check_validators(exec *e, const codec_tx *tx, const cvm_cosigner *cos,
                                 uint8_t signer_role, tx_admission *a)
{
    char *detail = a->detail;
    const size_t cap = sizeof a->detail;
    codec_error ce;
    char where[128];
    if (codec_valset_decode(tx->args[0].bytes, tx->args[0].len, &a->new_set, &ce) != CODEC_OK) {
        snprintf(detail, cap, "the set does not decode: %s",
                 codec_error_format(&ce, where, sizeof where));
        return EXEC_E_VALSET_RULE;
    }
    uint64_t pending;
    if (valset_pending(e, &pending)) {
        snprintf(detail, cap, "the change to boundary %llu is pending", (unsigned long long)pending);
        return EXEC_E_VALSET_PENDING;
    }
    const codec_valset *cur = &consortium_valset_at(e->hist, e->height)->set;
    if (!consortium_valset_check(cur, &a->new_set, detail, cap)) return EXEC_E_VALSET_RULE;
    uint8_t probe[CODEC_EVENT_DATA_MAX];
    codec_buf b = codec_buf_make(probe, sizeof probe);
    if (codec_valset_event_encode(UINT64_MAX, &a->new_set, &b) != CODEC_OK) {
        snprintf(detail, cap, "the set's event would pass %u bytes: shorter names",
                 CODEC_EVENT_DATA_MAX);
        return EXEC_E_VALSET_RULE;
    }
    uint32_t code = check_new_keys(e, tx, cur, &a->new_set, detail, cap);
    if (code) return code;
    const codec_requirement *req = &e->genesis->governance[GOVERNANCE_VALIDATORS - 1];
    if (!requirement_met(req, signer_role, cos, tx->cosig_count)) {
        snprintf(detail, cap, "the genesis's kind-2 requirement is not met");
        return EXEC_E_VALSET_APPROVAL;
    }
    uint32_t approvals = validator_approvals(tx, cos, cur), quorum = consortium_quorum(cur->count);
    if (approvals < quorum) {
        snprintf(detail, cap, "%u of the %u current validators approved, 2f+1 = %u needed",
                 approvals, cur->count, quorum);
        return EXEC_E_VALSET_APPROVAL;
    }
    a->valset = true;
    return 0;
}

/* Applies an admitted change: state, the receipt's event, and the staged change (recorded in
 * the history when the block is appended). Returns 0 or -1 (memory). */
static int apply_valset(exec *e, const codec_valset *set, codec_receipt *r)
{
    uint64_t boundary = consortium_boundary(e->height);
    uint8_t key[sizeof SYS_VALSET_AT - 1 + 8], pending[8];
    uint8_t value[8 + CODEC_ARG_BYTES_MAX + 16];
    memcpy(key, SYS_VALSET_AT, sizeof SYS_VALSET_AT - 1);
    be64(key + sizeof SYS_VALSET_AT - 1, boundary);
    be64(value, e->height);
    codec_buf vb = codec_buf_make(value + 8, sizeof value - 8);
    codec_buf eb = codec_buf_make(e->valset_event, sizeof e->valset_event);
    if (codec_valset_encode(set, &vb) != CODEC_OK
        || codec_valset_event_encode(boundary, set, &eb) != CODEC_OK) {
        return -1;
    }
    be64(pending, boundary);
    if (block_put(e, key, sizeof key, value, (uint32_t)(8 + vb.len), false) != 0
        || block_put(e, (const uint8_t *)SYS_VALSET_PENDING, sizeof SYS_VALSET_PENDING - 1,
                     pending, 8, false) != 0) {
        return -1;
    }
    r->event_count = 1;
    snprintf(r->events[0].topic.text, sizeof r->events[0].topic.text, "%s",
             CONSORTIUM_VALSET_TOPIC);
    r->events[0].data = e->valset_event;
    r->events[0].len = eb.len;
    e->valset_staged = true;
    e->staged_height = e->height;
    e->staged_boundary = boundary;
    e->staged_set = *set;
    return 0;
}

/* The first block at or after a pending change's boundary deletes sys/valset/pending: the
 * change is in force. Returns 0 or -1 (storage, memory). */
static int valset_settle(exec *e)
{
    const consortium_valset_entry *last = consortium_last_change(e->hist);
    if (!last || last->boundary > e->height) return 0;
    const uint8_t *v;
    size_t len;
    uint8_t *owned;
    int rc = view_get(e, (const uint8_t *)SYS_VALSET_PENDING, sizeof SYS_VALSET_PENDING - 1, &v,
                      &len, &owned);
    free(owned);
    if (rc <= 0) return rc;
    return block_put(e, (const uint8_t *)SYS_VALSET_PENDING, sizeof SYS_VALSET_PENDING - 1, NULL,
                     0, true);
}

/* Applies a successful call's writes (after the prefix check) and copies its events. */
static uint32_t take_result(exec *e, const exec_contract *c, const cvm_result *res,
                            codec_receipt *r)
{
    size_t plen = strlen(c->name);
    for (uint32_t i = 0; i < res->write_count; i++) {
        const cvm_write *w = &res->writes[i];
        if (w->key_len <= plen || w->key_len > CODEC_KEY_MAX
            || memcmp(w->key, c->name, plen) != 0 || w->key[plen] != '/'
            || w->value_len > CODEC_VALUE_MAX) {
            return EXEC_E_FOREIGN_WRITE;
        }
    }
    if (res->event_count > CODEC_EVENTS_MAX) return EXEC_E_BAD_EVENTS;
    for (uint32_t i = 0; i < res->event_count; i++) {
        const cvm_event *ev = &res->events[i];
        if (ev->topic_len < 1 || ev->topic_len > CODEC_NAME_MAX
            || ev->data_len > CODEC_EVENT_DATA_MAX) {
            return EXEC_E_BAD_EVENTS;
        }
        for (uint32_t k = 0; k < ev->topic_len; k++) {
            if (ev->topic[k] < 0x20 || ev->topic[k] > 0x7e) return EXEC_E_BAD_EVENTS;
        }
        /* governance events are the executor's own: verifiers follow them (consortium.h) */
        if (ev->topic_len >= sizeof "governance." - 1
            && memcmp(ev->topic, "governance.", sizeof "governance." - 1) == 0) {
            return EXEC_E_BAD_EVENTS;
        }
    }
    for (uint32_t i = 0; i < res->write_count; i++) {
        const cvm_write *w = &res->writes[i];
        if (block_put(e, w->key, w->key_len, w->value, w->value_len, w->is_delete) != 0) {
            return UINT32_MAX;
        }
    }
    r->event_count = res->event_count;
    for (uint32_t i = 0; i < res->event_count; i++) {
        const cvm_event *ev = &res->events[i];
        memcpy(r->events[i].topic.text, ev->topic, ev->topic_len);
        r->events[i].topic.text[ev->topic_len] = '\0';
        r->events[i].data = ev->data;
        r->events[i].len = ev->data_len;
    }
    return 0;
}

static void describe_trap(const cvm_result *res, const char *method, char *out, size_t cap)
{
    snprintf(out, cap, "%s in %s (func %u, pc %u)", cvm_strerror(res->status), method,
             res->error.func, res->error.pc);
}


/* Steps 1-5 of executor.h: decode, signatures, roles, contract and method, nonce. Returns
 * 0 when the tx may run, else the INVALID code (r's reason is set; nothing consumed). */
static uint32_t admit_tx(exec *e, const codec_span *span, tx_admission *a, codec_receipt *r)
{
    codec_error ce;
    if (codec_tx_decode(span->data, span->len, &a->tx, &ce) != CODEC_OK) {
        char where[128];
        set_status(r, RECEIPT_INVALID, EXEC_E_DECODE, codec_error_format(&ce, where, sizeof where));
        return EXEC_E_DECODE;
    }
    const codec_tx *tx = &a->tx;
    /* codec_tx_decode already refused repeated co-signers (CODEC_ERR_DUPLICATE) */
    bool checked = e->preverified && e->preverified[e->tx_index];
    uint32_t code = e->opt.verify_signatures && !checked ? check_signatures(e, tx) : 0;
    exec_authority auth;
    a->detail[0] = '\0';
    a->authority = false;
    a->role = code ? 0 : role_of(e, tx->signer.bytes, &auth);
    if (!code) code = signer_refusal(a->role);
    if (code == EXEC_E_KEY_REVOKED)
        revoked_detail(tx->signer.bytes, auth.height, a->detail, sizeof a->detail);
    for (uint32_t i = 0; !code && i < tx->cosig_count; i++) {
        memcpy(a->cos[i].key, tx->cosigs[i].key.bytes, 32);
        a->cos[i].role = role_of(e, tx->cosigs[i].key.bytes, &auth);
        a->cos[i].meaning = tx->cosigs[i].meaning;
        if (a->cos[i].role == ROLE_REVOKED_) { /* a revoked key approves nothing either */
            code = EXEC_E_COSIGNER_REVOKED;
            revoked_detail(tx->cosigs[i].key.bytes, auth.height, a->detail, sizeof a->detail);
        }
    }
    /* Contract, method and arguments before valid_until and the nonce (a tx refused for
     * its route is kept pruned, whatever its valid_until); an INVALID tx consumes nothing. */
    a->contract = NULL;
    a->deploy_module = NULL;
    a->valset = false;
    if (!code) code = route(e, tx->contract.text, tx->method.text, tx->arg_count, arg_kinds_of(tx));
    if (code) {
        /* refused above */
    } else if (strcmp(tx->contract.text, "governance") == 0
               && strcmp(tx->method.text, "authority") == 0) {
        a->authority = true;
        code = check_authority(e, tx, a);
    } else if (strcmp(tx->contract.text, "governance") == 0
               && strcmp(tx->method.text, "validators") == 0) {
        code = check_validators(e, tx, a->cos, a->role, a);
    } else if (strcmp(tx->contract.text, "governance") == 0) {
        code = check_deploy(e, tx, a->cos, a->role, a->deploy_name, &a->deploy_version,
                            &a->deploy_module, &a->deploy_builtin, a->detail, sizeof a->detail);
    } else {
        a->contract = contract_find(e, tx->contract.text);
    }
    if (!code) code = check_replay(e, tx, a);
    if (code) {
        cvm_module_free(a->deploy_module);
        a->deploy_module = NULL;
        if (code != UINT32_MAX) set_status(r, RECEIPT_INVALID, code, a->detail);
    }
    return code;
}

/* Step 6-7: run the admitted method in consent-vm and fill the receipt. The call's gas
 * limit is min(tx gas limit, the block's gas left), and the gas it used is taken from the
 * block's. Returns 0; 1 when it ran out of gas on the block's limit, not its own (the
 * caller refuses it: EXEC_E_BLOCK_GAS); or -1 on an internal error (memory, storage). */
static int run_method(exec *e, const tx_admission *a, codec_receipt *r)
{
    const codec_tx *tx = &a->tx;
    cvm_value args[CODEC_ARGS_MAX];
    for (uint32_t i = 0; i < tx->arg_count; i++) {
        const codec_value *v = &tx->args[i];
        args[i] = v->kind == CODEC_VALUE_INT ? cvm_int(v->integer) : cvm_bytes(v->bytes, v->len);
    }
    cvm_env env = {.caller_role = a->role, .cosigners = a->cos, .cosigner_count = tx->cosig_count,
                   .block_height = (int64_t)e->height, .block_time_ms = (int64_t)e->time_ms};
    memcpy(env.caller, tx->signer.bytes, 32);
    memcpy(env.tx_id, r->tx_id.bytes, 32);
    cvm_host host = {.ctx = e, .state_get = host_get, .state_next = host_next,
                     .sha256 = host_sha256};
    cvm_result res;
    uint64_t limit = e->opt.gas_limit < e->block_gas_left ? e->opt.gas_limit : e->block_gas_left;
    cvm_status st = cvm_call(e->vm, a->contract->module, tx->method.text, args, tx->arg_count,
                             &host, &env, limit, &res);
    r->gas_used = res.gas_used;
    assert(res.gas_used <= e->block_gas_left);
    e->block_gas_left -= res.gas_used;
    if (st == CVM_ERR_OUT_OF_GAS && limit < e->opt.gas_limit) return 1;
    if (st == CVM_OK) {
        uint32_t code = take_result(e, a->contract, &res, r);
        if (code == UINT32_MAX) return -1;
        if (code) set_status(r, RECEIPT_TRAPPED, code, tx->method.text);
        else set_status(r, RECEIPT_OK, 0, NULL);
    } else if (st == CVM_ABORTED) {
        uint32_t abort_code = res.abort_code > 0 && res.abort_code < UINT32_MAX
                                  ? (uint32_t)res.abort_code : 0;
        set_status(r, RECEIPT_REFUSED, abort_code, NULL);
    } else if (st == CVM_ERR_HOST_FAILED) {
        return -1; /* storage failed: not the tx's fault, the block is abandoned */
    } else {
        char detail[CODEC_REASON_MAX];
        describe_trap(&res, tx->method.text, detail, sizeof detail);
        set_status(r, RECEIPT_TRAPPED, st == CVM_ERR_OUT_OF_GAS ? EXEC_E_OUT_OF_GAS : EXEC_E_TRAP,
                   detail);
    }
    return 0;
}

uint32_t exec_check_admissible(exec *e, const codec_tx *tx)
{
    uint32_t code = signer_refusal(role_of(e, tx->signer.bytes, NULL));
    if (code) return code;
    return route(e, tx->contract.text, tx->method.text, tx->arg_count, arg_kinds_of(tx));
}

/* Refusals whose tx the block keeps pruned (codec.h "pruned tx"): the tx never reached a
 * contract, so nothing of it but its route is needed to re-execute the refusal. */
static bool refusal_prunes(const codec_receipt *r)
{
    return r->status == RECEIPT_INVALID
           && (r->error_code == EXEC_E_NO_ROLE || r->error_code == EXEC_E_READ_ONLY
               || r->error_code == EXEC_E_KEY_REVOKED
               || r->error_code == EXEC_E_NO_CONTRACT
               || r->error_code == EXEC_E_NO_METHOD || r->error_code == EXEC_E_BAD_ARGS);
}

/* Re-execution of a pruned tx (a stored or fetched block): the same checks in the same
 * order as admit_tx (its signatures held when it was first executed: a tx is pruned only
 * after them), on its route alone. Returns false if they do not refuse it: then the
 * entry stands for a tx that ran (or would run), whose bytes whoever served the block
 * withheld, and the block cannot be executed from it (EXEC_ERR_WITHHELD). */
/* The receipt of a pruned tx names the entry the block keeps: one event "tx.pruned"
 * whose data is SHA-256 of the entry's canonical bytes, so that the result certificate
 * (receipts root) binds what the ledger kept, which no hash of the tx can (FORMATS 5.10). */
static void bind_pruned(exec *e, const codec_span *entry, codec_receipt *r)
{
    tcrypto_sha256(entry->data, entry->len, &e->pruned_hash);
    r->event_count = 1;
    snprintf(r->events[0].topic.text, sizeof r->events[0].topic.text, "%s", EXEC_PRUNED_TOPIC);
    r->events[0].data = e->pruned_hash.bytes;
    r->events[0].len = 32;
}

static bool exec_pruned(exec *e, const codec_span *span, codec_receipt *r)
{
    codec_pruned_tx p;
    if (codec_pruned_tx_decode(span->data, span->len, &p, NULL) != CODEC_OK) return false;
    r->tx_id = p.tx_id;
    exec_authority auth;
    char detail[CODEC_REASON_MAX] = "";
    uint32_t code = signer_refusal(role_of(e, p.signer.bytes, &auth));
    if (code == EXEC_E_KEY_REVOKED) revoked_detail(p.signer.bytes, auth.height, detail, sizeof detail);
    if (!code) code = route(e, p.contract.text, p.method.text, p.arg_count, p.arg_kinds);
    if (code) set_status(r, RECEIPT_INVALID, code, detail);
    if (code) bind_pruned(e, span, r);
    return code != 0;
}

/* Runs one tx against the block view; fills r, and *stored with what the block keeps of
 * the tx (the tx itself, or its pruned form encoded into pruned_buf, PRUNED_TX_MAX bytes).
 * Returns 0, -1 on an internal error (memory, storage), or -2 for a pruned entry that
 * does not reproduce its refusal (exec_pruned): the block is then abandoned. */
static int exec_tx(exec *e, const codec_span *span, codec_receipt *r, uint8_t *pruned_buf,
                   codec_span *stored)
{
    tx_admission a;
    memset(r, 0, sizeof *r);
    *stored = *span;
    if (codec_entry_is_pruned(span)) return exec_pruned(e, span, r) ? 0 : -2;
    tcrypto_sha256(span->data, span->len, &r->tx_id);
    uint32_t code = admit_tx(e, span, &a, r);
    if (code == UINT32_MAX) return -1; /* storage failed: the block is abandoned */
    if (code != 0) {
        if (refusal_prunes(r)) {
            codec_pruned_tx p;
            codec_pruned_tx_of(&a.tx, span, &p);
            codec_buf b = codec_buf_make(pruned_buf, PRUNED_TX_MAX);
            if (codec_pruned_tx_encode(&p, &b) != CODEC_OK) return -1;
            *stored = (codec_span){b.data, b.len};
            bind_pruned(e, stored, r);
        }
        return 0;
    }
    /* The block's gas is used up: a call is refused before it runs, consuming nothing. */
    if (a.contract && e->block_gas_left == 0) {
        set_status(r, RECEIPT_INVALID, EXEC_E_BLOCK_GAS, NULL);
        return 0;
    }
    /* From here (signer, nonce) is consumed, whatever the contract does (but see
     * BLOCK_GAS: a call that runs dry on the block's gas is undone back to this mark). */
    uint32_t mark = e->write_count;
    if (replay_record(e, &a.tx, &a) != 0) {
        cvm_module_free(a.deploy_module);
        return -1;
    }
    if (a.authority) {
        if (apply_authority(e, &a.plan, r) != 0) return -1;
        set_status(r, RECEIPT_OK, 0, NULL);
        return 0;
    }
    if (a.valset) {
        if (apply_valset(e, &a.new_set, r) != 0) return -1;
        set_status(r, RECEIPT_OK, 0, NULL);
        return 0;
    }
    if (!a.contract) {
        if (apply_deploy(e, &a.tx, a.deploy_name, a.deploy_version, a.deploy_module,
                         a.deploy_builtin, r) != 0) {
            return -1;
        }
        set_status(r, RECEIPT_OK, 0, NULL);
        return 0;
    }
    int rc = run_method(e, &a, r);
    if (rc == 1) { /* ran dry on the block's gas: refused, nonce not consumed */
        block_pop_to(e, mark);
        set_status(r, RECEIPT_INVALID, EXEC_E_BLOCK_GAS, NULL);
        rc = 0;
    }
    return rc;
}

/* ---- blocks ------------------------------------------------------------------------- */

/* Monotonic clock for the statistics only (never seen by contracts or written). */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void exec_stats_get(const exec *e, exec_stats *out) { *out = e->stats; }

static int grow_receipts(exec *e, uint32_t count)
{
    if (count <= e->tx_cap) return 0;
    codec_span *s = realloc(e->receipts, count * sizeof *s);
    if (!s) return -1;
    e->receipts = s;
    codec_span *st = realloc(e->stored, count * sizeof *st);
    if (!st) return -1;
    e->stored = st;
    uint8_t *pb = realloc(e->pruned_buf, (size_t)count * PRUNED_TX_MAX);
    if (!pb) return -1;
    e->pruned_buf = pb;
    e->tx_cap = count;
    return 0;
}

/* Appends an encoded receipt to the block's receipt buffer (offsets fixed up later). */
static int push_receipt(exec *e, const codec_receipt *r, size_t *used, size_t *cap)
{
    uint8_t tmp[CODEC_RECEIPT_MAX];
    codec_buf b = codec_buf_make(tmp, sizeof tmp);
    if (codec_receipt_encode(r, &b) != CODEC_OK) return -1;
    if (*used + b.len > *cap) {
        size_t ncap = (*cap ? *cap * 2 : 65536) + b.len;
        uint8_t *p = realloc(e->receipt_buf, ncap);
        if (!p) return -1;
        e->receipt_buf = p;
        *cap = ncap;
    }
    memcpy(e->receipt_buf + *used, b.data, b.len);
    e->receipts[e->receipt_count++] = (codec_span){NULL, b.len};
    *used += b.len;
    return 0;
}

/* Hands the executed block (receipts, ordered writes) to ledger_append. t0 is when the
 * block's execution began (for the statistics). */
static exec_err append_block(exec *e, const codec_batch_header *batch, const codec_span *txs,
                             const codec_span *commit_cert, uint64_t t0, ledger_summary *out,
                             exec_error *err)
{
    codec_write *writes = malloc((e->write_count + 1) * sizeof *writes);
    if (!writes) return fail(err, EXEC_ERR_NOMEM, "out of memory%s", NULL);
    size_t at = 0;
    for (uint32_t i = 0; i < e->receipt_count; i++) {
        e->receipts[i].data = e->receipt_buf + at;
        at += e->receipts[i].len;
    }
    for (uint32_t i = 0; i < e->write_count; i++) {
        const block_write *w = &e->writes[i];
        writes[i] = (codec_write){w->key, w->key_len, w->value, w->value_len};
    }
    ledger_block_input in = {.batch = *batch, .txs = txs, .receipts = e->receipts,
                             .writes = writes, .write_count = e->write_count,
                             .commit_cert = *commit_cert};
    ledger_error lerr;
    exec_err rc = EXEC_OK;
    uint64_t t1 = now_ns();
    e->stats.execute_ns += t1 - t0;
    if (ledger_append(e->l, &in, out, &lerr) != LEDGER_OK) {
        rc = fail(err, EXEC_ERR_LEDGER, "ledger refused the block: %.200s", lerr.message);
    }
    e->stats.append_ns += now_ns() - t1;
    free(writes);
    return rc;
}

/* After a block that was not appended: the contracts as the ledger has them (a deploy
 * earlier in the block was installed already), so that the executor may go on. */
static exec_err reload_contracts(exec *e, exec_error *err)
{
    for (uint32_t i = 0; i < e->contract_count; i++) cvm_module_free(e->contracts[i].module);
    e->contract_count = 0;
    exec_error ignored;
    return load_contracts(e, &ignored) == EXEC_OK
               ? EXEC_OK
               : fail(err, EXEC_ERR_CONTRACT, "contracts do not reload%s", NULL);
}

exec_err exec_block(exec *e, const codec_batch_header *batch, const codec_span *txs,
                    const codec_span *commit_cert, ledger_summary *out, exec_error *err)
{
    return exec_block_preverified(e, batch, txs, NULL, commit_cert, out, err);
}

exec_err exec_block_preverified(exec *e, const codec_batch_header *batch, const codec_span *txs,
                                const bool *verified, const codec_span *commit_cert,
                                ledger_summary *out, exec_error *err)
{
    if (batch->tx_count > CODEC_BLOCK_TXS_MAX) {
        return fail(err, EXEC_ERR_INVALID, "too many txs in the batch%s", NULL);
    }
    uint32_t n = (uint32_t)batch->tx_count;
    if (grow_receipts(e, n + 1) != 0) return fail(err, EXEC_ERR_NOMEM, "out of memory%s", NULL);
    uint64_t t0 = now_ns();
    uint64_t prev_time = e->time_ms;
    e->height = batch->height;
    e->time_ms = batch->time_ms > prev_time ? batch->time_ms : prev_time + 1;
    block_reset(e);
    e->block_gas_left = e->opt.block_gas_limit;
    e->receipt_count = 0;
    e->valset_staged = false;
    size_t used = 0;
    exec_err rc = EXEC_OK;
    if (valset_settle(e) != 0) {
        rc = fail(err, EXEC_ERR_LEDGER, "settling the validator-set change failed%s", NULL);
    }
    e->preverified = verified;
    for (uint32_t i = 0; i < n && rc == EXEC_OK; i++) {
        codec_receipt r;
        e->tx_index = i;
        int t = exec_tx(e, &txs[i], &r, e->pruned_buf + (size_t)i * PRUNED_TX_MAX, &e->stored[i]);
        if (t == -2) {
            char at[16];
            snprintf(at, sizeof at, "%u", i);
            rc = fail(err, EXEC_ERR_WITHHELD, "tx %s is kept pruned but its refusal does not "
                                              "hold: its bytes were withheld", at);
            if (err) err->tx_index = i;
        } else if (t != 0 || push_receipt(e, &r, &used, &e->receipt_buf_cap) != 0) {
            rc = fail(err, EXEC_ERR_LEDGER, "tx execution failed (memory or storage)%s", NULL);
        }
    }
    uint8_t clock[8];
    be64(clock, e->time_ms);
    e->prune_pending_set = false;
    if (rc == EXEC_OK && prune_replays(e) != 0) {
        rc = fail(err, EXEC_ERR_LEDGER, "pruning the replay set failed (memory or storage)%s",
                  NULL);
    }
    if (rc == EXEC_OK
        && block_put(e, (const uint8_t *)SYS_CLOCK, sizeof SYS_CLOCK - 1, clock, 8, false) != 0) {
        rc = fail(err, EXEC_ERR_NOMEM, "out of memory%s", NULL);
    }
    e->preverified = NULL;
    if (rc == EXEC_OK) rc = append_block(e, batch, e->stored, commit_cert, t0, out, err);
    if (rc == EXEC_OK) {
        for (uint32_t i = 0; i < e->write_count; i++) {
            const block_write *w = &e->writes[i];
            cache_put(&e->cache, w->key, w->key_len, w->value, w->value_len, w->value != NULL);
        }
        e->stats.blocks++;
        e->stats.txs += n;
        char why[160];
        if (e->valset_staged
            && consortium_history_add_valset(e->hist, e->staged_height, e->staged_boundary,
                                             &e->staged_set, why, sizeof why) != 0) {
            rc = fail(err, EXEC_ERR_LEDGER, "recording the validator-set change: %s", why);
        }
        if (e->prune_pending_set) {
            memcpy(e->prune_after, e->prune_pending, sizeof e->prune_after);
            e->prune_after_set = true;
        }
    } else {
        cache_clear(&e->cache);
        e->receipt_count = 0;
    }
    block_reset(e);
    e->valset_staged = false;
    if (rc != EXEC_OK) e->time_ms = prev_time;
    if (rc == EXEC_ERR_WITHHELD && reload_contracts(e, err) != EXEC_OK) rc = EXEC_ERR_CONTRACT;
    return rc;
}
