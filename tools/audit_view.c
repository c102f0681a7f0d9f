/*
 * audit_view.c - the verdict of `trialctl audit` (text and JSON) and its progress bar.
 */
#include "audit_view.h"

#include <jansson.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "crypto.h"

/* ---- the verdict -------------------------------------------------------------------- */

audit_verdict_kind audit_verdict_of(const audit_outcome *o)
{
    if (!o->ok) return AUDIT_VERDICT_FAILED;
    return o->summary.uncertified_from ? AUDIT_VERDICT_UNCERTIFIED_TAIL : AUDIT_VERDICT_OK;
}

uint64_t audit_certified_height_of(const audit_outcome *o)
{
    const audit_summary *s = &o->summary;
    uint64_t h = s->blocks;
    if (!o->ok) h = o->failure.height > 0 ? o->failure.height - 1 : 0;
    if (s->uncertified_from && s->uncertified_from - 1 < h) h = s->uncertified_from - 1;
    return h;
}

int audit_exit_code(const audit_outcome *o, bool allow_tail)
{
    switch (audit_verdict_of(o)) {
    case AUDIT_VERDICT_OK: return TC_EXIT_OK;
    case AUDIT_VERDICT_UNCERTIFIED_TAIL: return allow_tail ? TC_EXIT_OK : TC_EXIT_FAIL;
    case AUDIT_VERDICT_FAILED: break;
    }
    return TC_EXIT_FAIL;
}

/* The certified head's hashes: the whole ledger's head when every block is certified;
 * on a tail, those the result certificate of height H names. false when there are none
 * (H = 0, or a failure). */
static bool certified_head(const audit_outcome *o, hash32 *block_hash, hash32 *state_hash)
{
    audit_verdict_kind v = audit_verdict_of(o);
    if (v == AUDIT_VERDICT_OK && o->summary.blocks > 0) {
        *block_hash = o->summary.head.block_hash;
        *state_hash = o->summary.head.state_hash;
        return true;
    }
    uint64_t h = audit_certified_height_of(o);
    if (v != AUDIT_VERDICT_UNCERTIFIED_TAIL || h == 0 || o->last_cert_height != h) return false;
    static codec_result_cert cert;
    if (codec_result_cert_decode(o->last_cert, o->last_cert_len, &cert, NULL) != CODEC_OK) {
        return false; /* cannot be: the audit decoded and checked this very certificate */
    }
    *block_hash = cert.block_hash;
    *state_hash = cert.state_hash;
    return true;
}

static void print_failure(const audit_failure *f)
{
    if (f->height == 0) printf("audit FAILED: %s\n", f->reason);
    else if (f->tx_index < 0) {
        printf("audit FAILED at height %llu: %s\n", (unsigned long long)f->height, f->reason);
    } else {
        printf("audit FAILED at height %llu, tx %lld: %s\n", (unsigned long long)f->height,
               (long long)f->tx_index, f->reason);
    }
}

static void print_hex_line(const char *label, const hash32 *h)
{
    char hex[65];
    tcrypto_to_hex(h->bytes, 32, hex);
    printf("%s%s\n", label, hex);
}

void audit_print_text(const audit_outcome *o)
{
    const audit_summary *s = &o->summary;
    audit_verdict_kind v = audit_verdict_of(o);
    if (v == AUDIT_VERDICT_FAILED) {
        print_failure(&o->failure);
        return;
    }
    if (v == AUDIT_VERDICT_OK) {
        printf("audit OK: %llu blocks, %llu txs, %llu signatures in %.2f s\n",
               (unsigned long long)s->blocks, (unsigned long long)s->txs,
               (unsigned long long)s->signatures, o->seconds);
        printf("head height %llu, log size %llu\n", (unsigned long long)s->head.height,
               (unsigned long long)s->head.log_size);
        print_hex_line("head block hash ", &s->head.block_hash);
        print_hex_line("state hash      ", &s->head.state_hash);
        if (o->reexecuted)
            printf("re-executed %llu blocks from the genesis: every receipt, state write and "
                   "state hash is the same\n", (unsigned long long)s->reexecuted);
        return;
    }
    /* the wording is shared with tests/independent/verify_export.py */
    uint64_t h = audit_certified_height_of(o), n = s->blocks;
    printf("audit: heights 1..%llu certified and verified; heights %llu..%llu have no result "
           "certificate: NOT verified\n", (unsigned long long)h, (unsigned long long)h + 1,
           (unsigned long long)n);
    printf("read %llu blocks, %llu txs, %llu signatures in %.2f s\n", (unsigned long long)n,
           (unsigned long long)s->txs, (unsigned long long)s->signatures, o->seconds);
    hash32 block_hash, state_hash;
    printf("certified height %llu\n", (unsigned long long)h);
    if (certified_head(o, &block_hash, &state_hash)) {
        print_hex_line("certified block hash ", &block_hash);
        print_hex_line("certified state hash ", &state_hash);
    }
    printf("uncertified head height %llu, log size %llu (its receipts and state writes are "
           "signed by no quorum)\n", (unsigned long long)n, (unsigned long long)s->head.log_size);
    if (o->reexecuted)
        printf("re-executed %llu blocks from the genesis: every receipt, state write and state "
               "hash is the same (the tail's too, though nothing signs it)\n",
               (unsigned long long)s->reexecuted);
}

static json_t *hex_json(const hash32 *h)
{
    char hex[65];
    tcrypto_to_hex(h->bytes, 32, hex);
    return json_string(hex);
}

static json_t *null_or_int(bool present, uint64_t v)
{
    return present ? json_integer((json_int_t)v) : json_null();
}

static json_t *failure_json(const audit_outcome *o)
{
    if (o->ok) return json_null();
    const audit_failure *f = &o->failure;
    return json_pack("{s:o, s:o, s:s}", "height", null_or_int(f->height > 0, f->height), "tx",
                     null_or_int(f->tx_index >= 0, (uint64_t)f->tx_index), "reason", f->reason);
}

void audit_print_json(const audit_outcome *o)
{
    static const char *const names[] = {"ok", "uncertified_tail", "failed"};
    const audit_summary *s = &o->summary;
    audit_verdict_kind v = audit_verdict_of(o);
    uint64_t h = audit_certified_height_of(o);
    bool tail = v == AUDIT_VERDICT_UNCERTIFIED_TAIL;
    json_t *head = json_null(), *chead = json_null();
    if (v != AUDIT_VERDICT_FAILED) {
        head = json_pack("{s:I, s:I, s:o, s:o, s:b}", "height", (json_int_t)s->head.height,
                         "log_size", (json_int_t)s->head.log_size, "block_hash",
                         hex_json(&s->head.block_hash), "state_hash",
                         hex_json(&s->head.state_hash), "certified", !tail);
    }
    hash32 block_hash, state_hash;
    if (certified_head(o, &block_hash, &state_hash)) {
        chead = json_pack("{s:I, s:o, s:o}", "height", (json_int_t)h, "block_hash",
                          hex_json(&block_hash), "state_hash", hex_json(&state_hash));
    }
    json_t *root = json_pack(
        "{s:s, s:I, s:o, s:o, s:I, s:I, s:I, s:f, s:o, s:o, s:o}", "verdict", names[v],
        "certified_height", (json_int_t)h, "uncertified_from",
        null_or_int(tail, s->uncertified_from), "uncertified_to", null_or_int(tail, s->blocks),
        "blocks", (json_int_t)s->blocks, "txs", (json_int_t)s->txs, "signatures",
        (json_int_t)s->signatures, "seconds", o->seconds, "head", head, "certified_head", chead,
        "failure", failure_json(o));
    if (root && o->reexecuted)
        json_object_set_new(root, "reexecuted_blocks", json_integer((json_int_t)s->reexecuted));
    char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) : NULL;
    printf("%s\n", text ? text : "{\"verdict\": \"failed\"}");
    free(text);
    json_decref(root);
}

/* ---- the certificate watch ------------------------------------------------------------ */

static int watch_next(void *ctx, codec_span *block, codec_span *cert, char *why, size_t cap)
{
    audit_cert_watch *w = ctx;
    int rc = w->inner.next(w->inner.ctx, block, cert, why, cap);
    if (rc != 1) return rc;
    w->height++;
    /* a longer certificate fails the audit's decoding (FORMATS: 1..8192 bytes) */
    if (cert->len > 0 && cert->len <= sizeof w->outcome->last_cert) {
        memcpy(w->outcome->last_cert, cert->data, cert->len);
        w->outcome->last_cert_len = cert->len;
        w->outcome->last_cert_height = w->height;
    }
    return 1;
}

void audit_cert_watch_source(audit_cert_watch *w, const audit_source *inner,
                             audit_outcome *outcome, audit_source *out)
{
    *w = (audit_cert_watch){.inner = *inner, .outcome = outcome};
    /* the store passes through: a re-executing audit compares its state rows */
    *out = (audit_source){.next = watch_next, .ctx = w, .store = inner->store};
}

/* ---- the progress bar --------------------------------------------------------------- */

enum { BAR_DELAY_MS = 1000, BAR_PERIOD_MS = 100 };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void audit_bar_init(audit_bar *bar, FILE *out, bool enabled, uint64_t total_blocks)
{
    *bar = (audit_bar){.enabled = enabled && isatty(fileno(out)), .total_blocks = total_blocks,
                       .start = now_s(), .out = out};
}

static void format_eta(double seconds, char *out, size_t cap)
{
    unsigned long s = seconds < 0 ? 0 : (unsigned long)(seconds + 0.5);
    if (s >= 3600) snprintf(out, cap, "%luh%02lum", s / 3600, s / 60 % 60);
    else snprintf(out, cap, "%lu:%02lu", s / 60, s % 60);
}

void audit_bar_update(void *ctx, const audit_progress *p)
{
    audit_bar *bar = ctx;
    if (!bar->enabled) return;
    double now = now_s(), elapsed = now - bar->start;
    if (elapsed * 1000 < BAR_DELAY_MS || (now - bar->last_draw) * 1000 < BAR_PERIOD_MS) return;
    bar->last_draw = now;
    char line[160];
    if (bar->total_blocks > 0) {
        double done = (double)p->blocks / (double)bar->total_blocks;
        char eta[32];
        format_eta(p->blocks ? elapsed * (1 / done - 1) : 0, eta, sizeof eta);
        snprintf(line, sizeof line, "audit: %llu/%llu blocks %3.0f%%, %.0f txs/s, %.0f "
                     "signatures/s, ETA %s", (unsigned long long)p->blocks,
                     (unsigned long long)bar->total_blocks, done * 100,
                     (double)p->txs / elapsed, (double)p->signatures_verified / elapsed, eta);
    } else {
        snprintf(line, sizeof line, "audit: %llu blocks, %.0f txs/s, %.0f signatures/s",
                     (unsigned long long)p->blocks, (double)p->txs / elapsed,
                     (double)p->signatures_verified / elapsed);
    }
    fprintf(bar->out, "\r%s\033[K", line);
    fflush(bar->out);
    bar->drawn = true;
}

void audit_bar_finish(audit_bar *bar)
{
    if (!bar->drawn) return;
    fprintf(bar->out, "\r\033[K");
    fflush(bar->out);
    bar->drawn = false;
}
