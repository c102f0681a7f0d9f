/*
 * consortium.c - the consortium at a height, following recorded governance changes
 * (consortium.h).
 */
#include "consortium.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t consortium_boundary(uint64_t committing_height)
{
    return (committing_height / CONSORTIUM_WINDOW + 2) * CONSORTIUM_WINDOW;
}

uint32_t consortium_f(uint32_t n) { return n ? (n - 1) / 3 : 0; }
uint32_t consortium_quorum(uint32_t n) { return 2 * consortium_f(n) + 1; }

static bool say(char *why, size_t cap, const char *fmt, ...)
{
    if (why && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return false;
}

bool consortium_valset_has(const codec_valset *s, const pubkey *key, uint32_t *index)
{
    for (uint32_t i = 0; i < s->count; i++) {
        if (memcmp(s->validators[i].key.bytes, key->bytes, 32) == 0) {
            if (index) *index = i;
            return true;
        }
    }
    return false;
}

static bool same_validator(const codec_validator *a, const codec_validator *b)
{
    return memcmp(a->key.bytes, b->key.bytes, 32) == 0 && strcmp(a->name.text, b->name.text) == 0;
}

/* n allowed, names non-empty, names and keys distinct. */
static bool valset_wellformed(const codec_valset *s, char *why, size_t cap)
{
    uint32_t n = s->count;
    if (n < 4) return say(why, cap, "%u validators: fewer than 4", n);
    if (n > CODEC_VALIDATORS_MAX || (n - 1) % 3 != 0) {
        return say(why, cap, "n = %u is not allowed (4, 7, 10, 13 or 16)", n);
    }
    for (uint32_t i = 0; i < n; i++) {
        const codec_validator *v = &s->validators[i];
        if (v->name.text[0] == '\0') return say(why, cap, "validator %u has no name", i);
        for (uint32_t k = 0; k < i; k++) {
            if (strcmp(s->validators[k].name.text, v->name.text) == 0) {
                return say(why, cap, "validators %u and %u have the same name %s", k, i,
                           v->name.text);
            }
            if (memcmp(s->validators[k].key.bytes, v->key.bytes, 32) == 0) {
                return say(why, cap, "validators %u and %u have the same key", k, i);
            }
        }
    }
    return true;
}

static bool check_growth(const codec_valset *cur, const codec_valset *next, char *why,
                         size_t cap)
{
    for (uint32_t i = 0; i < cur->count; i++) {
        if (!same_validator(&cur->validators[i], &next->validators[i])) {
            return say(why, cap, "growth must keep the current validators in their order: "
                                 "position %u differs", i);
        }
    }
    for (uint32_t i = cur->count; i < next->count; i++) {
        if (consortium_valset_has(cur, &next->validators[i].key, NULL)) {
            return say(why, cap, "validator %u (%s) is not new: its key is a current "
                                 "validator's", i, next->validators[i].name.text);
        }
    }
    return true;
}

static bool check_shrink(const codec_valset *cur, const codec_valset *next, char *why,
                         size_t cap)
{
    uint32_t k = 0, removed = 0;
    for (uint32_t i = 0; i < cur->count; i++) {
        if (k < next->count && same_validator(&cur->validators[i], &next->validators[k])) k++;
        else removed++;
    }
    if (k != next->count || removed != 3) {
        return say(why, cap, "a shrink must remove exactly 3 validators and keep the others "
                             "unchanged in their order");
    }
    return true;
}

static bool check_replace(const codec_valset *cur, const codec_valset *next, char *why,
                          size_t cap)
{
    uint32_t changed = 0, f = consortium_f(cur->count);
    for (uint32_t i = 0; i < cur->count; i++) {
        const codec_validator *v = &next->validators[i];
        if (same_validator(&cur->validators[i], v)) continue;
        if (consortium_valset_has(cur, &v->key, NULL)) {
            return say(why, cap, "position %u changes but its key is a current validator's "
                                 "(moving validators is not a change the rules allow)", i);
        }
        changed++;
    }
    if (changed == 0) return say(why, cap, "the new set is the current set: nothing changes");
    if (changed > f) {
        return say(why, cap, "%u validators replaced: at most f = %u at once", changed, f);
    }
    return true;
}

bool consortium_valset_check(const codec_valset *cur, const codec_valset *next, char *why,
                             size_t why_cap)
{
    if (!valset_wellformed(next, why, why_cap)) return false;
    if (next->count == cur->count + 3) return check_growth(cur, next, why, why_cap);
    if (next->count + 3 == cur->count) return check_shrink(cur, next, why, why_cap);
    if (next->count == cur->count) return check_replace(cur, next, why, why_cap);
    return say(why, why_cap, "n %u -> %u: grow by 3, shrink by 3 or keep n", cur->count,
               next->count);
}

/* ---- history --------------------------------------------------------------------- */

int consortium_history_init(consortium_history *h, const codec_genesis *g)
{
    memset(h, 0, sizeof *h);
    h->genesis = g;
    h->valsets = malloc(4 * sizeof *h->valsets);
    if (!h->valsets) return -1;
    h->valset_cap = 4;
    h->valset_count = 1;
    consortium_valset_entry *first = &h->valsets[0];
    memset(first, 0, sizeof *first);
    first->boundary = 1;
    first->set.count = g->validator_count;
    memcpy(first->set.validators, g->validators, g->validator_count * sizeof g->validators[0]);
    return 0;
}

void consortium_history_free(consortium_history *h)
{
    free(h->valsets);
    free(h->auth_changes);
    free(h->scratch);
    memset(h, 0, sizeof *h);
}

const consortium_valset_entry *consortium_valset_at(const consortium_history *h,
                                                    uint64_t height)
{
    uint32_t i = h->valset_count;
    while (i > 1 && h->valsets[i - 1].boundary > height) i--;
    return &h->valsets[i - 1];
}

const consortium_valset_entry *consortium_last_change(const consortium_history *h)
{
    return h->valset_count > 1 ? &h->valsets[h->valset_count - 1] : NULL;
}

int consortium_history_add_valset(consortium_history *h, uint64_t height, uint64_t boundary,
                                  const codec_valset *set, char *why, size_t why_cap)
{
    const consortium_valset_entry *last = &h->valsets[h->valset_count - 1];
    if (height < h->last_height) {
        say(why, why_cap, "a change at height %llu recorded after height %llu",
            (unsigned long long)height, (unsigned long long)h->last_height);
        return -1;
    }
    if (boundary != consortium_boundary(height)) {
        say(why, why_cap, "boundary %llu of a change committed at height %llu: must be %llu",
            (unsigned long long)boundary, (unsigned long long)height,
            (unsigned long long)consortium_boundary(height));
        return -1;
    }
    if (last->boundary > height) {
        say(why, why_cap, "a change at height %llu while the change to boundary %llu is "
                          "pending", (unsigned long long)height, (unsigned long long)last->boundary);
        return -1;
    }
    if (!consortium_valset_check(&last->set, set, why, why_cap)) return -1;
    if (h->valset_count == CONSORTIUM_CHANGES_MAX) {
        say(why, why_cap, "more than %u validator-set changes", CONSORTIUM_CHANGES_MAX);
        return -1;
    }
    if (h->valset_count == h->valset_cap) {
        consortium_valset_entry *v = realloc(h->valsets, 2 * h->valset_cap * sizeof *v);
        if (!v) return say(why, why_cap, "out of memory"), -1;
        h->valsets = v;
        h->valset_cap *= 2;
    }
    h->valsets[h->valset_count++] = (consortium_valset_entry){boundary, height, *set};
    h->last_height = height;
    return 0;
}

/* The authority list at height (recomputed into scratch when height or the changes moved). */
static int authority_find(const codec_authority *list, uint32_t count, const pubkey *key)
{
    for (uint32_t i = 0; i < count; i++) {
        if (memcmp(list[i].key.bytes, key->bytes, 32) == 0) return (int)i;
    }
    return -1;
}

static int scratch_reserve(consortium_history *h, uint32_t count)
{
    if (count <= h->scratch_cap) return 0;
    uint32_t cap = h->scratch_cap ? h->scratch_cap : 64;
    while (cap < count) cap *= 2;
    codec_authority *s = realloc(h->scratch, cap * sizeof *s);
    if (!s) return -1;
    h->scratch = s;
    h->scratch_cap = cap;
    return 0;
}

/* Apply one change to the scratch list; -1 if it does not fit the list (with why). */
static int scratch_apply(consortium_history *h, const consortium_authority_change *c,
                         char *why, size_t why_cap)
{
    int at = authority_find(h->scratch, h->scratch_count, &c->authority.key);
    if (c->action == 2) {
        if (at < 0) return say(why, why_cap, "revokes a key that holds no role"), -1;
        memmove(&h->scratch[at], &h->scratch[at + 1],
                (h->scratch_count - (uint32_t)at - 1) * sizeof *h->scratch);
        h->scratch_count--;
        return 0;
    }
    if (at >= 0) return say(why, why_cap, "adds a key that already holds a role"), -1;
    if (h->scratch_count == CONSORTIUM_AUTHORITIES_MAX) {
        return say(why, why_cap, "more than %u authorities", CONSORTIUM_AUTHORITIES_MAX), -1;
    }
    if (scratch_reserve(h, h->scratch_count + 1) != 0) return say(why, why_cap, "out of memory"), -1;
    h->scratch[h->scratch_count++] = c->authority;
    return 0;
}

/* The number of recorded authority changes in force at height (committing heights are
 * non-decreasing: a prefix of the list). */
static uint32_t changes_in_force(const consortium_history *h, uint64_t height)
{
    uint32_t lo = 0, hi = h->auth_change_count;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (h->auth_changes[mid].height <= height) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Materialise the authorities in force at height into scratch: the genesis's with the first
 * changes_in_force(height) changes applied. scratch holds the first scratch_changes changes
 * applied; going forward applies only the new ones, going back rebuilds. Returns 0 or -1
 * (memory; the recorded changes applied cleanly when they were recorded). */
static int authorities_at(consortium_history *h, uint64_t height)
{
    uint32_t k = changes_in_force(h, height);
    if (!h->scratch_valid || h->scratch_changes > k) {
        const codec_genesis *g = h->genesis;
        if (scratch_reserve(h, g->authority_count + 1) != 0) return -1;
        memcpy(h->scratch, g->authorities, g->authority_count * sizeof *h->scratch);
        h->scratch_count = g->authority_count;
        h->scratch_changes = 0;
        h->scratch_valid = true;
    }
    for (; h->scratch_changes < k; h->scratch_changes++) {
        if (scratch_apply(h, &h->auth_changes[h->scratch_changes], NULL, 0) != 0) {
            h->scratch_valid = false;
            return -1;
        }
    }
    return 0;
}

static int record_authority(consortium_history *h, uint64_t height, const codec_event *ev,
                            char *why, size_t why_cap)
{
    consortium_authority_change c = {.height = height};
    codec_error cerr;
    char where[128];
    codec_authority_change ch;
    if (codec_authority_change_decode(ev->data, ev->len, &ch, &cerr) != CODEC_OK) {
        say(why, why_cap, "%s event does not decode: %s", CONSORTIUM_AUTHORITY_TOPIC,
            codec_error_format(&cerr, where, sizeof where));
        return -1;
    }
    c.action = ch.action;
    c.authority = (codec_authority){.role = ch.role, .site = ch.site, .name = ch.name,
                                    .key = ch.key};
    if (c.authority.role == ROLE_PARTICIPANT) {
        return say(why, why_cap, "%s event names the participant role", CONSORTIUM_AUTHORITY_TOPIC), -1;
    }
    /* check it against the list at this height, then keep it */
    if (authorities_at(h, height) != 0) return say(why, why_cap, "out of memory"), -1;
    if (scratch_apply(h, &c, why, why_cap) != 0) {
        h->scratch_valid = false;
        return -1;
    }
    h->scratch_changes = h->auth_change_count + 1; /* scratch now includes c, kept below */
    if (h->auth_change_count == CONSORTIUM_CHANGES_MAX) {
        h->scratch_valid = false;
        return say(why, why_cap, "more than %u authority changes", CONSORTIUM_CHANGES_MAX), -1;
    }
    if (h->auth_change_count == h->auth_change_cap) {
        uint32_t cap = h->auth_change_cap ? 2 * h->auth_change_cap : 16;
        consortium_authority_change *a = realloc(h->auth_changes, cap * sizeof *a);
        if (!a) {
            h->scratch_valid = false;
            return say(why, why_cap, "out of memory"), -1;
        }
        h->auth_changes = a;
        h->auth_change_cap = cap;
    }
    h->auth_changes[h->auth_change_count++] = c;
    return 0;
}

static bool topic_is(const codec_event *ev, const char *topic)
{
    return strcmp(ev->topic.text, topic) == 0;
}

int consortium_history_record(consortium_history *h, uint64_t height, const char *contract,
                              const codec_receipt *r, char *why, size_t why_cap)
{
    if (strcmp(contract, "governance") != 0 || r->status != RECEIPT_OK) return 0;
    if (height < h->last_height) {
        say(why, why_cap, "height %llu recorded after height %llu", (unsigned long long)height,
            (unsigned long long)h->last_height);
        return -1;
    }
    /* a receipt is all or nothing: undo its authority changes if a later event fails */
    uint32_t auth_mark = h->auth_change_count, valset_mark = h->valset_count;
    uint64_t height_mark = h->last_height;
    for (uint32_t i = 0; i < r->event_count; i++) {
        const codec_event *ev = &r->events[i];
        int rc = 0;
        if (topic_is(ev, CONSORTIUM_AUTHORITY_TOPIC)) {
            rc = record_authority(h, height, ev, why, why_cap);
        } else if (topic_is(ev, CONSORTIUM_VALSET_TOPIC)) {
            codec_valset set;
            uint64_t boundary;
            codec_error cerr;
            char where[128];
            if (codec_valset_event_decode(ev->data, ev->len, &boundary, &set, &cerr) != CODEC_OK) {
                say(why, why_cap, "%s event does not decode: %s", CONSORTIUM_VALSET_TOPIC,
                    codec_error_format(&cerr, where, sizeof where));
                rc = -1;
            } else {
                rc = consortium_history_add_valset(h, height, boundary, &set, why, why_cap);
            }
        }
        if (rc != 0) {
            h->auth_change_count = auth_mark;
            h->valset_count = valset_mark;
            h->last_height = height_mark;
            h->scratch_valid = false;
            return -1;
        }
    }
    h->last_height = height;
    return 0;
}

int consortium_at(consortium_history *h, uint64_t height, consortium *out)
{
    const codec_genesis *g = h->genesis;
    const consortium_valset_entry *v = consortium_valset_at(h, height);
    *out = (consortium){
        .validators = v->set.validators,
        .validator_count = v->set.count,
        .quorum = consortium_quorum(v->set.count),
        .valset_from = v->boundary,
        .authorities = g->authorities,
        .authority_count = g->authority_count,
        .rules = &g->rules,
    };
    if (h->auth_change_count == 0) return 0;
    if (authorities_at(h, height) != 0) return -1;
    out->authorities = h->scratch;
    out->authority_count = h->scratch_count;
    return 0;
}
