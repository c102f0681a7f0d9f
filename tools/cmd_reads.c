/*
 * cmd_reads.c - trialctl's reads of issue 19 (docs/FORMATS.md 13.3, 13.9):
 *   trialctl history --url URL --genesis FILE --trial ID        a trial's protocol history,
 *       public (no key), every receipt verified against the genesis;
 *   trialctl access records --url URL --key KEY --genesis FILE --trial ID --grant N
 *       a researcher reads the records its grant gives, page by page, re-checked against
 *       consent by the node, and checks the list hash of the grant;
 *   trialctl access log --url URL --key KEY --genesis FILE --trial ID
 *       a regulator reads the node's log of those reads (each entry's signed query checked).
 * Exit codes: 0 answered (and verified); 1 refused, or something does not verify; 2 usage;
 * 3 unreadable key or genesis; 4 node unreachable or reply malformed.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "httpsig.h"
#include "proof.h"
#include "trialreg_client.h"

#define READS_TIMEOUT_MS 10000
#define PAGES_MAX 100000 /* a bound on every paging loop */

typedef struct {
    const char *url, *key, *genesis, *trial, *grant, *receipts_dir;
    bool json;
} reads_args;

/* --url --key --genesis --trial --grant --receipts-dir --json, each only where allowed. */
static int parse_reads_args(int argc, char **argv, const char *allowed, reads_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *name = argv[i];
        if (strncmp(name, "--", 2) != 0 || !strstr(allowed, name + 2))
            return fprintf(stderr, "error: unexpected argument %s\n", name), -1;
        if (strcmp(name, "--json") == 0) {
            a->json = true;
            continue;
        }
        if (i + 1 >= argc) return fprintf(stderr, "error: %s needs a value\n", name), -1;
        const char *v = argv[++i];
        if (strcmp(name, "--url") == 0) a->url = v;
        else if (strcmp(name, "--key") == 0) a->key = v;
        else if (strcmp(name, "--genesis") == 0) a->genesis = v;
        else if (strcmp(name, "--trial") == 0) a->trial = v;
        else if (strcmp(name, "--grant") == 0) a->grant = v;
        else if (strcmp(name, "--receipts-dir") == 0) a->receipts_dir = v;
        else return fprintf(stderr, "error: unknown option %s\n", name), -1;
    }
    if (!a->url || !a->genesis || !a->trial) return fprintf(stderr, "error: --url, --genesis and --trial are required\n"), -1;
    if (strlen(a->trial) < 1 || strlen(a->trial) > 32) return fprintf(stderr, "error: --trial is 1..32 bytes\n"), -1;
    if (strstr(allowed, "key") && !a->key) return fprintf(stderr, "error: --key is required\n"), -1;
    if (strstr(allowed, "grant") && !a->grant) return fprintf(stderr, "error: --grant is required\n"), -1;
    return util_check_url("--url", a->url);
}

/* The genesis bytes and its chain id; the key if asked. Returns an exit code. */
static int load_inputs(const reads_args *a, uint8_t **genesis, size_t *genesis_len, hash32 *chain,
                       keypair *key)
{
    if (util_read_file(a->genesis, CODEC_GENESIS_MAX, genesis, genesis_len) != 0) return TC_EXIT_INPUT;
    tcrypto_sha256(*genesis, *genesis_len, chain);
    if (!key) return TC_EXIT_OK;
    tcrypto_err rc = tcrypto_read_secret_key(a->key, key);
    if (rc != TCRYPTO_OK) {
        fprintf(stderr, "error: %s: %s\n", a->key, tcrypto_strerror(rc));
        free(*genesis);
        return TC_EXIT_INPUT;
    }
    return TC_EXIT_OK;
}

static void format_ms(uint64_t ms, char *out, size_t cap)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%03uZ", base, (unsigned)(ms % 1000));
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* ---- history ---------------------------------------------------------------------------- */

static const char HISTORY_USAGE[] =
    "usage: trialctl history --url URL --genesis FILE --trial ID [--receipts-dir DIR] [--json]\n"
    "  A trial's protocol history, public by design (no key): registration, amendments with\n"
    "  their changed-outcome flags, approvals, site activations, outcome reports and their\n"
    "  switch flags, in commit order, each with its receipt, which is verified against the\n"
    "  genesis FILE (as verify-receipt does). Nothing participant-level is in it; the\n"
    "  enrolment is shown only when at least 10. --receipts-dir writes each receipt file as\n"
    "  DIR/h<height>.<index>.receipt. Exit 0 every receipt verifies, 1 one does not (named)\n"
    "  or the node refused, 2 usage, 3 unreadable genesis, 4 node unreachable.\n";

/* The outcomes a protocol-level tx states (register, amend: arguments 3 and 4; outcomes
 * report: 2 and 3), each 32-byte hash as hex, into a JSON object or printed. The changed
 * outcomes of an amendment are what a trial registry shows beside its flag. */
static void print_outcomes(const reads_args *a, const codec_span *tx_bytes, json_t *entry)
{
    static codec_tx tx;
    if (codec_tx_decode(tx_bytes->data, tx_bytes->len, &tx, NULL) != CODEC_OK) return;
    uint32_t first;
    if (strcmp(tx.contract.text, "outcomes") == 0 && strcmp(tx.method.text, "report") == 0) first = 1;
    else if (strcmp(tx.contract.text, "protocol") == 0
             && (strcmp(tx.method.text, "register") == 0 || strcmp(tx.method.text, "amend") == 0))
        first = 2;
    else return;
    static const char *const names[2] = {"primary", "secondary"};
    for (uint32_t k = 0; k < 2 && first + k < tx.arg_count; k++) {
        const codec_value *v = &tx.args[first + k];
        if (v->kind != CODEC_VALUE_BYTES || v->len % 32 != 0) continue;
        json_t *list = json_array();
        if (!a->json) printf("    %-9s", names[k]);
        for (uint32_t i = 0; i < v->len / 32; i++) {
            char hex[65];
            tcrypto_to_hex(v->bytes + 32 * i, 32, hex);
            if (a->json) json_array_append_new(list, json_string(hex));
            else printf(" %s", hex);
        }
        if (a->json) json_object_set_new(entry, names[k], list);
        else {
            printf("%s\n", v->len ? "" : " (none)");
            json_decref(list);
        }
    }
}

/* One entry: verified, printed (text or into events_json). Returns 0 or 1 (does not verify). */
static int history_entry(const reads_args *a, const uint8_t *genesis, size_t genesis_len,
                         const codec_public_entry *e, json_t *events_json)
{
    char why[300] = "";
    codec_receipt_reply rr;
    static codec_receipt rc;
    static codec_proof proof;
    codec_block_header h;
    if (!proof_verify_receipt(genesis, genesis_len, e->receipt_reply.data, e->receipt_reply.len,
                              why, sizeof why)
        || codec_receipt_reply_decode(e->receipt_reply.data, e->receipt_reply.len, &rr, NULL) != CODEC_OK
        || codec_receipt_decode(rr.receipt.data, rr.receipt.len, &rc, NULL) != CODEC_OK
        || codec_proof_decode(rr.proof.data, rr.proof.len, &proof, NULL) != CODEC_OK
        || codec_block_header_decode(proof.block.header.data, proof.block.header.len, &h, NULL) != CODEC_OK) {
        fprintf(stderr, "error: %s: its receipt does not verify: %s\n", e->method, why);
        return 1;
    }
    char when[48], tx[65];
    format_ms(h.batch.time_ms, when, sizeof when);
    tcrypto_to_hex(rc.tx_id.bytes, 32, tx);
    if (a->receipts_dir) {
        char path[4200];
        snprintf(path, sizeof path, "%.4000s/h%" PRIu64 ".%u.receipt", a->receipts_dir, rr.height, rr.index);
        if (util_write_file(path, e->receipt_reply.data, e->receipt_reply.len) != 0) return 1;
    }
    json_t *evs = json_array();
    if (!a->json) printf("h%" PRIu64 ".%u %s %s tx %.16s: receipt verified\n", rr.height, rr.index, when, e->method, tx);
    size_t skip = 1 + strlen(a->trial);
    for (uint32_t k = 0; k < rc.event_count; k++) {
        const codec_event *ev = &rc.events[k];
        char data[2 * CODEC_EVENT_DATA_MAX + 1] = "";
        if (ev->len > skip) tcrypto_to_hex(ev->data + skip, ev->len - skip, data);
        bool flag = strstr(ev->topic.text, ".flag.") != NULL;
        if (a->json)
            json_array_append_new(evs, json_pack("{s:s, s:s}", "topic", ev->topic.text, "data", data));
        else
            printf("    %s %s %s\n", flag ? "FLAG " : "event", ev->topic.text, data);
    }
    if (a->json) {
        json_t *entry = json_pack("{s:I, s:i, s:s, s:I, s:s, s:o}", "height", (json_int_t)rr.height,
                                  "index", (int)rr.index, "method", e->method, "time_ms",
                                  (json_int_t)h.batch.time_ms, "tx", tx, "events", evs);
        print_outcomes(a, &proof.tx, entry);
        json_array_append_new(events_json, entry);
    } else {
        json_decref(evs);
        print_outcomes(a, &proof.tx, NULL);
    }
    return 0;
}

int cmd_history(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--help") == 0) return fputs(HISTORY_USAGE, stdout), TC_EXIT_OK;
    reads_args a;
    if (parse_reads_args(argc, argv, "url genesis trial receipts-dir json", &a) != 0)
        return fputs(HISTORY_USAGE, stderr), TC_EXIT_USAGE;
    uint8_t *genesis = NULL;
    size_t genesis_len = 0;
    hash32 chain;
    int rc = load_inputs(&a, &genesis, &genesis_len, &chain, NULL);
    if (rc != TC_EXIT_OK) return rc;
    static codec_public_entry e[CODEC_PUBLIC_REPLY_MAX];
    json_t *events = json_array();
    codec_public_page page = {0};
    uint64_t from = 0, total = 1;
    for (uint32_t pages = 0; rc == TC_EXIT_OK && from < total && pages < PAGES_MAX; pages++) {
        uint8_t *body = NULL;
        size_t len = 0;
        uint32_t status;
        char why[400];
        int q = client_public(a.url, a.trial, from, READS_TIMEOUT_MS, &body, &len, &status, why, sizeof why);
        if (q != 0) {
            fprintf(stderr, "trialctl: %s: %s\n", a.url, why);
            rc = q == 1 ? TC_EXIT_FAIL : TC_EXIT_INTERNAL;
            break;
        }
        if (codec_public_reply_decode(body, len, &page, e, CODEC_PUBLIC_REPLY_MAX, NULL) != CODEC_OK
            || page.from != from || (page.count == 0 && page.total > from)) {
            fprintf(stderr, "trialctl: the public reply does not decode or came back wrong\n");
            rc = TC_EXIT_INTERNAL;
        }
        if (rc == TC_EXIT_OK && pages == 0 && !a.json)
            printf("# public history of %s (protocol-level events, commit order; receipts "
                   "verified against %s)\n", a.trial, a.genesis);
        for (uint32_t i = 0; rc == TC_EXIT_OK && i < page.count; i++)
            if (history_entry(&a, genesis, genesis_len, &e[i], events) != 0) rc = TC_EXIT_FAIL;
        from += page.count;
        total = page.total;
        free(body);
    }
    if (rc == TC_EXIT_OK && a.json) {
        json_t *root = json_pack("{s:s, s:o, s:o}", "trial", a.trial, "enrolled",
                                 page.has_enrolled ? json_integer((json_int_t)page.enrolled) : json_null(),
                                 "events", events);
        char *out = json_dumps(root, JSON_INDENT(2));
        if (out) puts(out);
        free(out);
        json_decref(root);
    } else {
        json_decref(events);
        if (rc == TC_EXIT_OK && page.has_enrolled) printf("# enrolled: %" PRIu64 "\n", page.enrolled);
        else if (rc == TC_EXIT_OK) printf("# enrolled: not published (fewer than %u)\n", CODEC_PUBLIC_COUNT_MIN);
        if (rc == TC_EXIT_OK) printf("# %" PRIu64 " events, every receipt verified\n", total);
    }
    free(genesis);
    return rc;
}

/* ---- access records --------------------------------------------------------------------- */

static const char RECORDS_USAGE[] =
    "usage: trialctl access records --url URL --key KEY --genesis FILE --trial ID --grant N\n"
    "                               [--json]\n"
    "  The records access grant N gives, read by the researcher it was made to (KEY), page\n"
    "  by page (64 list positions a page): anchor hash, participant pseudonym, scope,\n"
    "  collected-at, size. The node re-checks each participant's consent at read time: a\n"
    "  record whose participant withdrew the scope (or whose consent a re-consent amendment\n"
    "  superseded) since the grant is listed as removed, not served. The list hash of all\n"
    "  positions (served and removed, in order) is checked against the grant's. Every read\n"
    "  is logged by the node (trialctl access log). Exit 0 read and the list hash matches,\n"
    "  1 refused or the list hash does not match, 2 usage, 3 bad key or genesis, 4 node\n"
    "  unreachable or reply malformed.\n";

typedef struct {
    uint8_t *anchors; /* count x 32, by list position */
    bool *seen;
    uint64_t count, served, withdrawn, reconsent;
    hash32 list_hash;
    uint64_t scope;
} grant_read;

/* One page into g (text rows or JSON objects). Returns the positions it covered, or -1. */
static int64_t records_page(const reads_args *a, const uint8_t *body, size_t len, uint64_t from,
                            grant_read *g, json_t *records, json_t *removed)
{
    static codec_grant_record rec[CODEC_GRANT_PAGE_MAX];
    static codec_grant_removed rm[CODEC_GRANT_PAGE_MAX];
    codec_grant_page p;
    if (codec_grant_reply_decode(body, len, &p, rec, rm, CODEC_GRANT_PAGE_MAX, NULL) != CODEC_OK
        || p.from != from || (from > 0 && (p.count != g->count || memcmp(p.list_hash.bytes, g->list_hash.bytes, 32) != 0)))
        return -1;
    if (from == 0) {
        g->count = p.count;
        g->list_hash = p.list_hash;
        g->scope = p.scope;
        g->anchors = calloc(p.count + 1, 32);
        g->seen = calloc(p.count + 1, sizeof *g->seen);
        if (!g->anchors || !g->seen) return -1;
        if (!a->json) printf("%-5s %-64s %-16s %-5s %-14s %s\n", "index", "anchor", "participant", "scope", "collected_at", "size");
    }
    for (uint32_t i = 0; i < p.record_count; i++) {
        const codec_grant_record *r = &rec[i];
        if (g->seen[r->index]) return -1;
        g->seen[r->index] = true;
        memcpy(g->anchors + 32 * (size_t)r->index, r->anchor.bytes, 32);
        char anchor[65], who[65];
        tcrypto_to_hex(r->anchor.bytes, 32, anchor);
        tcrypto_to_hex(r->participant.bytes, 32, who);
        if (a->json)
            json_array_append_new(records, json_pack("{s:i, s:s, s:s, s:I, s:I, s:I}", "index", (int)r->index,
                                                     "anchor", anchor, "participant", who, "scope", (json_int_t)r->scope,
                                                     "collected_at", (json_int_t)r->collected_at, "size", (json_int_t)r->size));
        else
            printf("%-5u %s %.16s %-5" PRIu64 " %-14" PRIu64 " %" PRIu64 "\n", r->index, anchor, who,
                   r->scope, r->collected_at, r->size);
    }
    for (uint32_t i = 0; i < p.removed_count; i++) {
        if (g->seen[rm[i].index]) return -1;
        g->seen[rm[i].index] = true;
        memcpy(g->anchors + 32 * (size_t)rm[i].index, rm[i].anchor.bytes, 32);
        char anchor[65];
        tcrypto_to_hex(rm[i].anchor.bytes, 32, anchor);
        const char *why = rm[i].why == CODEC_GRANT_WITHDRAWN ? "withdrawn" : "re-consent required";
        if (a->json) json_array_append_new(removed, json_pack("{s:i, s:s, s:s}", "index", (int)rm[i].index, "anchor", anchor, "why", why));
        else printf("%-5u %s removed since the grant: %s\n", rm[i].index, anchor, why);
        if (rm[i].why == CODEC_GRANT_WITHDRAWN) g->withdrawn++;
        else g->reconsent++;
    }
    g->served += p.record_count;
    return (int64_t)p.record_count + p.removed_count;
}

int access_records(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--help") == 0) return fputs(RECORDS_USAGE, stdout), TC_EXIT_OK;
    reads_args a;
    uint64_t grant = 0;
    if (parse_reads_args(argc, argv, "url key genesis trial grant json", &a) != 0
        || util_parse_u64("--grant", a.grant, 0, UINT64_MAX, &grant) != 0)
        return fputs(RECORDS_USAGE, stderr), TC_EXIT_USAGE;
    uint8_t *genesis = NULL;
    size_t genesis_len = 0;
    hash32 chain;
    keypair key;
    int rc = load_inputs(&a, &genesis, &genesis_len, &chain, &key);
    if (rc != TC_EXIT_OK) return rc;
    free(genesis);
    grant_read g = {0};
    json_t *records = json_array(), *removed = json_array();
    uint8_t gb[8], cb[8];
    put_be64(gb, grant);
    uint64_t from = 0;
    for (uint32_t pages = 0; rc == TC_EXIT_OK && (pages == 0 || from < g.count) && pages < PAGES_MAX; pages++) {
        put_be64(cb, from);
        codec_span args[3] = {{(const uint8_t *)a.trial, strlen(a.trial)}, {gb, 8}, {cb, 8}};
        uint8_t *body = NULL;
        size_t len = 0;
        uint32_t status;
        char why[400];
        int q = client_query(a.url, &key, &chain, QUERY_GRANT, args, 3, READS_TIMEOUT_MS, &body, &len,
                             &status, why, sizeof why);
        if (q != 0) {
            fprintf(stderr, "trialctl: %s\n", why);
            rc = q == 1 ? TC_EXIT_FAIL : TC_EXIT_INTERNAL;
            break;
        }
        int64_t n = records_page(&a, body, len, from, &g, records, removed);
        free(body);
        if (n < 0 || (n == 0 && from < g.count)) {
            fprintf(stderr, "trialctl: a grant page does not decode or came back wrong (from %" PRIu64 ")\n", from);
            rc = TC_EXIT_INTERNAL;
        }
        from += n > 0 ? (uint64_t)n : 0;
    }
    bool match = false;
    if (rc == TC_EXIT_OK) {
        hash32 h;
        tcrypto_sha256(g.anchors, g.count * 32, &h);
        match = memcmp(h.bytes, g.list_hash.bytes, 32) == 0;
        char hex[65];
        tcrypto_to_hex(g.list_hash.bytes, 32, hex);
        if (a.json) {
            json_t *root = json_pack("{s:s, s:I, s:I, s:I, s:s, s:b, s:o, s:o}", "trial", a.trial, "grant",
                                     (json_int_t)grant, "scope", (json_int_t)g.scope, "count",
                                     (json_int_t)g.count, "list_hash", hex, "list_hash_matches", match,
                                     "records", records, "removed", removed);
            records = removed = NULL;
            char *out = json_dumps(root, JSON_INDENT(2));
            if (out) puts(out);
            free(out);
            json_decref(root);
        } else {
            printf("# grant %" PRIu64 " of %s, scope %" PRIu64 ": %" PRIu64 " records committed, %" PRIu64
                   " served, %" PRIu64 " removed since the grant (%" PRIu64 " withdrawn, %" PRIu64
                   " re-consent required)\n# list hash %s %s\n", grant, a.trial, g.scope, g.count,
                   g.served, g.withdrawn + g.reconsent, g.withdrawn, g.reconsent, hex,
                   match ? "matches the grant's (served + removed, in order)" : "DOES NOT MATCH the grant's");
        }
        if (!match) rc = TC_EXIT_FAIL;
    }
    json_decref(records);
    json_decref(removed);
    free(g.anchors);
    free(g.seen);
    return rc;
}

/* ---- access log ------------------------------------------------------------------------- */

static const char LOG_USAGE[] =
    "usage: trialctl access log --url URL --key KEY --genesis FILE --trial ID [--json]\n"
    "  The node's log of the reads researchers made through their access grants (a\n"
    "  regulator's key): one line per answered `access records` page, with the node's time,\n"
    "  the researcher, the grant, the positions read, how many were served and removed, and\n"
    "  whether the logged evidence verifies: each entry keeps the researcher's signed\n"
    "  request, a signed query (nng) or an RFC 9421 signed HTTP request naming that page.\n"
    "  The log is kept by each node for the reads it answered, outside the ledger: ask\n"
    "  every node. Exit 0, 1 refused or a logged signature does not verify,\n"
    "  2 usage, 3 bad key or genesis, 4 node unreachable.\n";

/* Form 2 (FORMATS 13.12): the researcher's RFC 9421 HTTP request, rebuilt and verified with
 * the keyid's key under this chain's tag (at any time: the log is read later), and its
 * target naming exactly the entry's trial, grant and first position. */
static bool http_evidence_ok(const reads_args *a, const hash32 *chain, const codec_read_log_entry *e,
                             pubkey *who, char *target, size_t cap)
{
    static codec_http_evidence ev;
    char why[256];
    if (codec_http_evidence_decode(e->http.data, e->http.len, &ev, NULL) != CODEC_OK) return false;
    snprintf(target, cap, "%s %s", ev.method, ev.target);
    return httpsig_verify_recorded(ev.signature_input, ev.signature, ev.method, ev.target, ev.authority,
                                   chain, NULL, 0, who, why, sizeof why)
           && strcmp(ev.method, "GET") == 0
           && codec_http_grant_target_matches(ev.target, (const uint8_t *)a->trial, strlen(a->trial),
                                              e->grant, e->from);
}

/* Form 1: the researcher's signed query (13.2), its signature checked. */
static bool query_evidence_ok(const hash32 *chain, const codec_read_log_entry *e, pubkey *who)
{
    codec_query q;
    uint8_t qb[512];
    codec_buf b = codec_buf_make(qb, sizeof qb);
    bool ok = codec_query_decode(e->query.data, e->query.len, &q, NULL) == CODEC_OK
              && codec_query_body_encode(&q, &b) == CODEC_OK
              && tcrypto_verify(&q.asker, TCRYPTO_TAG_QUERY, chain, b.data, b.len, &q.sig);
    *who = q.asker;
    return ok;
}

/* One entry printed; returns false if its evidence (either form) does not verify. */
static bool log_entry(const reads_args *a, const hash32 *chain, uint64_t seq, const codec_span *raw,
                      json_t *all)
{
    codec_read_log_entry e;
    pubkey who_key = {{0}};
    char target[CODEC_HTTP_TARGET_MAX + 32] = "";
    bool decoded = codec_read_log_entry_decode(raw->data, raw->len, &e, NULL) == CODEC_OK;
    bool http = decoded && e.http.len > 0;
    bool ok = decoded && (http ? http_evidence_ok(a, chain, &e, &who_key, target, sizeof target)
                               : query_evidence_ok(chain, &e, &who_key));
    char when[48] = "?", who[65] = "?";
    if (ok) {
        format_ms(e.time_ms, when, sizeof when);
        tcrypto_to_hex(who_key.bytes, 32, who);
    }
    if (a->json)
        json_array_append_new(all, json_pack("{s:I, s:I, s:s, s:I, s:I, s:i, s:i, s:s, s:b}", "seq", (json_int_t)seq,
                                             "time_ms", (json_int_t)e.time_ms, "researcher", who, "grant",
                                             (json_int_t)e.grant, "from", (json_int_t)e.from, "served",
                                             (int)e.served, "removed", (int)e.removed, "form",
                                             http ? "http" : "query", "signature_ok", ok));
    else if (ok)
        printf("%-5" PRIu64 " %s %.16s grant %-4" PRIu64 " from %-6" PRIu64 " served %-3u removed %-3u %s%s\n",
               seq, when, who, e.grant, e.from, e.served, e.removed,
               http ? "signed over HTTP (RFC 9421) " : "signed query", target);
    else
        printf("%-5" PRIu64 " entry does not decode or its %s does NOT verify%s%s\n", seq,
               http ? "HTTP request's signature (or the page it names)" : "query's signature",
               target[0] ? ": " : "", target);
    return ok;
}

int access_log(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--help") == 0) return fputs(LOG_USAGE, stdout), TC_EXIT_OK;
    reads_args a;
    if (parse_reads_args(argc, argv, "url key genesis trial json", &a) != 0)
        return fputs(LOG_USAGE, stderr), TC_EXIT_USAGE;
    uint8_t *genesis = NULL;
    size_t genesis_len = 0;
    hash32 chain;
    keypair key;
    int rc = load_inputs(&a, &genesis, &genesis_len, &chain, &key);
    if (rc != TC_EXIT_OK) return rc;
    free(genesis);
    json_t *all = json_array();
    uint64_t from = 0, total = 1;
    bool signatures = true;
    static codec_span entries[CODEC_READ_LOG_REPLY_MAX];
    for (uint32_t pages = 0; rc == TC_EXIT_OK && from < total && pages < PAGES_MAX; pages++) {
        uint8_t cb[8];
        put_be64(cb, from);
        codec_span args[2] = {{(const uint8_t *)a.trial, strlen(a.trial)}, {cb, 8}};
        uint8_t *body = NULL;
        size_t len = 0;
        uint32_t status, n = 0;
        char why[400];
        int q = client_query(a.url, &key, &chain, QUERY_READ_LOG, args, 2, READS_TIMEOUT_MS, &body,
                             &len, &status, why, sizeof why);
        if (q != 0) {
            fprintf(stderr, "trialctl: %s\n", why);
            rc = q == 1 ? TC_EXIT_FAIL : TC_EXIT_INTERNAL;
            break;
        }
        uint64_t got_from = 0;
        if (codec_read_log_reply_decode(body, len, &total, &got_from, entries, CODEC_READ_LOG_REPLY_MAX,
                                        &n, NULL) != CODEC_OK
            || got_from != from || (n == 0 && total > from)) {
            fprintf(stderr, "trialctl: the read log reply does not decode or came back wrong\n");
            rc = TC_EXIT_INTERNAL;
        } else {
            if (pages == 0 && !a.json)
                printf("# read log of %s at %s: %" PRIu64 " reads through access grants\n", a.trial, a.url, total);
            for (uint32_t i = 0; i < n; i++) signatures &= log_entry(&a, &chain, from + i, &entries[i], all);
            from += n;
        }
        free(body);
    }
    if (rc == TC_EXIT_OK && a.json) {
        json_t *root = json_pack("{s:s, s:I, s:o}", "trial", a.trial, "reads", (json_int_t)total, "log", all);
        all = NULL;
        char *out = json_dumps(root, JSON_INDENT(2));
        if (out) puts(out);
        free(out);
        json_decref(root);
    }
    json_decref(all);
    if (rc == TC_EXIT_OK && !signatures) rc = TC_EXIT_FAIL;
    return rc;
}
