/*
 * cmd_fhir.c - `trialctl fhir export`: a trial as a FHIR R4 Bundle (registry/fhir/fhir.h,
 * docs/FHIR.md), as one key may see it, and `trialctl fhir codesystem`.
 *
 * The txs come from a source, block by block in commit order: over a node's client API the
 * EVENTS read (kind 8, docs/FORMATS.md 13.10: one block's txs filtered by the asking key's
 * role, with the block's time), or, for whoever holds the ledger itself (a validator, an
 * auditor), a data directory read directly (every tx). Each source is one function that feeds
 * fhir_export_add; another source (a paged timeline read) would be one more.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "random_trial.h"
#include "fhir.h"
#include "ledger.h"
#include "transport.h"
#include "trialreg_client.h"

#define FHIR_TIMEOUT_MS 10000

static const char FHIR_USAGE[] =
    "usage: trialctl fhir export --trial ID --url URL --key KEY --genesis FILE\n"
    "                            [--participant HEX|PUBFILE] [--base URL] [--out FILE]\n"
    "       trialctl fhir export --trial ID --ledger DIR --genesis FILE\n"
    "                            [--participant HEX|PUBFILE] [--base URL] [--out FILE]\n"
    "       trialctl fhir codesystem scope|signature\n"
    "  export: the trial as a FHIR R4 Bundle (type collection; docs/FHIR.md): ResearchStudy,\n"
    "  Group, DocumentReference, Patient, ResearchSubject, Consent, Provenance, AuditEvent and\n"
    "  the project's CodeSystems. With --url, read from the node block by block (the EVENTS\n"
    "  read, signed by KEY for the chain of FILE): exactly the txs KEY may see (the sponsor\n"
    "  and regulators all, a site its own participants', a participant its own), so a\n"
    "  participant's key gets its own resources. With --ledger, read a data directory (every\n"
    "  tx: for validators and auditors). --participant keeps that participant's resources and\n"
    "  the trial's own. --base is the fullUrl base of the entries [urn:trialreg:fhir].\n"
    "  Exit 0 written, 1 the trial or participant is not visible (or unknown), 2 usage,\n"
    "  3 unreadable key, genesis or ledger, 4 node unreachable or internal error.\n"
    "  codesystem: print a CodeSystem the export uses (as shipped in docs/fhir/).\n";

typedef struct {
    const char *trial, *url, *key, *genesis, *ledger, *participant, *base, *out;
} fhir_args;

static int parse_args(int argc, char **argv, fhir_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 2; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return -1;
        if (strcmp(argv[i], "--trial") == 0) a->trial = v;
        else if (strcmp(argv[i], "--url") == 0) a->url = v;
        else if (strcmp(argv[i], "--key") == 0) a->key = v;
        else if (strcmp(argv[i], "--genesis") == 0) a->genesis = v;
        else if (strcmp(argv[i], "--ledger") == 0) a->ledger = v;
        else if (strcmp(argv[i], "--participant") == 0) a->participant = v;
        else if (strcmp(argv[i], "--base") == 0) a->base = v;
        else if (strcmp(argv[i], "--out") == 0) a->out = v;
        else return -1;
    }
    if (!a->trial || strlen(a->trial) < 1 || strlen(a->trial) > 32 || !a->genesis) return -1;
    if (!!a->url == !!a->ledger || (a->url && !a->key) || (a->ledger && a->key)) return -1;
    return 0;
}

/* A participant key: 64 hex characters or a public key file. */
static int participant_key(const char *text, pubkey *out)
{
    if (strlen(text) == 64 && tcrypto_from_hex(text, 64, out->bytes, 32)) return 0;
    tcrypto_err rc = tcrypto_read_public_key(text, out);
    if (rc != TCRYPTO_OK) {
        fprintf(stderr, "trialctl: --participant %s: neither 64 hex characters nor a public key file (%s)\n",
                text, tcrypto_strerror(rc));
        return -1;
    }
    return 0;
}

/* ---- source: EVENTS over the client API ------------------------------------------------ */

/* Ask for block h's visible txs. Returns 0 (reply in *reply, tp_free it; *r into it), 1 past
 * the head, else an exit code. */
static int events_at(tp_client *c, const keypair *key, const hash32 *chain, uint64_t h,
                     uint8_t **reply, size_t *reply_len, codec_client_response *r)
{
    uint8_t body[16], sreq[1024], req[1200];
    codec_buf b = codec_buf_make(body, sizeof body);
    if (codec_events_request_encode(h, &b) != CODEC_OK) return TC_EXIT_INTERNAL;
    size_t slen = client_signed_read(key, chain, client_now_ms(), CLIENT_EVENTS, b.data, b.len,
                                     sreq, sizeof sreq);
    codec_buf q = codec_buf_make(req, sizeof req);
    if (slen == 0 || codec_client_request_encode(CLIENT_EVENTS, sreq, slen, &q) != CODEC_OK)
        return TC_EXIT_INTERNAL;
    tp_err rc = tp_client_request(c, q.data, q.len, FHIR_TIMEOUT_MS, reply, reply_len);
    if (rc != TP_OK) {
        fprintf(stderr, "trialctl: the node did not answer the events read of height %llu: %s\n",
                (unsigned long long)h, tp_strerror(rc));
        return TC_EXIT_INTERNAL;
    }
    if (codec_client_response_decode(*reply, *reply_len, r, NULL) != CODEC_OK) {
        tp_free(*reply, *reply_len);
        fprintf(stderr, "trialctl: the node's reply does not decode\n");
        return TC_EXIT_INTERNAL;
    }
    if (r->status == CAPI_NOT_FOUND) {
        tp_free(*reply, *reply_len);
        return 1;
    }
    if (r->status != CAPI_OK) {
        fprintf(stderr, "trialctl: refused (%s): %s\n", capi_status_name(r->status), r->reason);
        tp_free(*reply, *reply_len);
        return TC_EXIT_FAIL;
    }
    return 0;
}

/* Feed every certified block's visible txs, from height 1 to the head (or the first block
 * without its result certificate), to x. Returns an exit code. */
static int source_events(const fhir_args *a, const hash32 *chain, fhir_export *x)
{
    keypair key;
    tcrypto_err krc = tcrypto_read_secret_key(a->key, &key);
    if (krc != TCRYPTO_OK) {
        fprintf(stderr, "trialctl: %s: %s\n", a->key, tcrypto_strerror(krc));
        return TC_EXIT_INPUT;
    }
    tp_client *c = NULL;
    char why[1400];
    if (client_open(a->url, &c, why, sizeof why) != 0) {
        fprintf(stderr, "trialctl: %s\n", why);
        return TC_EXIT_INTERNAL;
    }
    static codec_event_tx txs[CODEC_BLOCK_TXS_MAX];
    int rc = TC_EXIT_OK;
    bool done = false;
    for (uint64_t h = 1; rc == TC_EXIT_OK && !done; h++) {
        uint8_t *reply = NULL;
        size_t reply_len = 0;
        codec_client_response r;
        int got = events_at(c, &key, chain, h, &reply, &reply_len, &r);
        if (got == 1) break;
        if (got != 0) {
            rc = got;
            break;
        }
        uint64_t height, time_ms;
        bool certified;
        uint32_t n = 0;
        if (codec_events_reply_decode(r.body.data, r.body.len, &height, &certified, txs,
                                      CODEC_BLOCK_TXS_MAX, &n, &time_ms, NULL) != CODEC_OK
            || height != h) {
            fprintf(stderr, "trialctl: the events reply of height %llu does not decode\n",
                    (unsigned long long)h);
            rc = TC_EXIT_INTERNAL;
        } else if (!certified) {
            n = 0, done = true; /* the uncertified tail: its receipts are not final yet */
        }
        for (uint32_t i = 0; rc == TC_EXIT_OK && i < n; i++) {
            fhir_tx t = {h, txs[i].index, time_ms, txs[i].tx, txs[i].receipt};
            if (fhir_export_add(x, &t, why, sizeof why) != 0) {
                fprintf(stderr, "trialctl: %s\n", why);
                rc = TC_EXIT_INTERNAL;
            }
        }
        tp_free(reply, reply_len);
    }
    tp_client_close(c);
    return rc;
}

/* ---- source: a data directory ---------------------------------------------------------- */

/* Every tx of l's blocks to x (NULL: only read and decode them, the benchmark's ledger side);
 * *txs_read counts them. Returns an exit code. */
static int feed_ledger(ledger *l, fhir_export *x, uint64_t *txs_read)
{
    ledger_summary head;
    ledger_head(l, &head);
    codec_span *txs = malloc(2 * CODEC_BLOCK_TXS_MAX * sizeof *txs);
    codec_write *writes = malloc(CODEC_WRITES_MAX * sizeof *writes);
    int rc = txs && writes ? TC_EXIT_OK : TC_EXIT_INTERNAL;
    char why[256];
    for (uint64_t h = 1; rc == TC_EXIT_OK && h <= head.height; h++) {
        uint8_t *data = NULL;
        size_t len = 0;
        codec_block b = {.txs = txs, .receipts = txs + CODEC_BLOCK_TXS_MAX, .writes = writes};
        if (ledger_get_block(l, h, &data, &len) != LEDGER_OK
            || codec_block_decode(data, len, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL) != CODEC_OK) {
            fprintf(stderr, "trialctl: block %llu is unreadable\n", (unsigned long long)h);
            rc = TC_EXIT_INPUT;
        }
        for (uint32_t i = 0; x && rc == TC_EXIT_OK && i < b.tx_count; i++) {
            fhir_tx t = {h, i, b.header.batch.time_ms, b.txs[i], b.receipts[i]};
            if (fhir_export_add(x, &t, why, sizeof why) != 0) {
                fprintf(stderr, "trialctl: %s\n", why);
                rc = TC_EXIT_INTERNAL;
            }
        }
        if (txs_read) *txs_read += b.tx_count;
        free(data);
    }
    free(txs);
    free(writes);
    return rc;
}

static int source_ledger(const fhir_args *a, const uint8_t *genesis, size_t genesis_len,
                         fhir_export *x)
{
    ledger *l = NULL;
    ledger_error lerr;
    if (ledger_open(a->ledger, genesis, genesis_len, LEDGER_OPEN_EXISTING, &l, &lerr) != LEDGER_OK) {
        fprintf(stderr, "trialctl: %s: no ledger of this genesis can be opened there\n", a->ledger);
        return TC_EXIT_INPUT;
    }
    int rc = feed_ledger(l, x, NULL);
    ledger_close(l);
    return rc;
}

/* ---- the command ----------------------------------------------------------------------- */

static int write_json(json_t *j, const char *out)
{
    char *text = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
    if (!text) return TC_EXIT_INTERNAL;
    int rc = TC_EXIT_OK;
    if (out) {
        size_t n = strlen(text);
        text[n] = '\n';
        rc = util_write_file(out, (const uint8_t *)text, n + 1) == 0 ? TC_EXIT_OK : TC_EXIT_INTERNAL;
    } else {
        puts(text);
    }
    free(text);
    return rc;
}

/* The participant must be in the export, else the key may not see it (or it is unknown). */
static bool participant_seen(json_t *bundle, const pubkey *k)
{
    char hex[65];
    tcrypto_to_hex(k->bytes, 32, hex);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(bundle, "entry"), i, e) {
        json_t *r = json_object_get(e, "resource");
        if (strcmp(json_string_value(json_object_get(r, "resourceType")), "Patient") == 0
            && strcmp(json_string_value(json_object_get(r, "id")), hex) == 0)
            return true;
    }
    return false;
}

static int fhir_export_cmd(int argc, char **argv)
{
    fhir_args a;
    if (parse_args(argc, argv, &a) != 0) {
        fputs(FHIR_USAGE, stderr);
        return TC_EXIT_USAGE;
    }
    fhir_options opt = {.base = a.base};
    if (a.participant) {
        if (participant_key(a.participant, &opt.participant) != 0) return TC_EXIT_INPUT;
        opt.has_participant = true;
    }
    uint8_t *genesis = NULL;
    size_t genesis_len = 0;
    if (util_read_file(a.genesis, CODEC_GENESIS_MAX, &genesis, &genesis_len) != 0) return TC_EXIT_INPUT;
    hash32 chain;
    tcrypto_sha256(genesis, genesis_len, &chain);
    fhir_export *x = fhir_export_new((const uint8_t *)a.trial, strlen(a.trial), &opt);
    int rc = !x ? TC_EXIT_INTERNAL
             : a.url ? source_events(&a, &chain, x)
                     : source_ledger(&a, genesis, genesis_len, x);
    free(genesis);
    json_t *bundle = rc == TC_EXIT_OK ? fhir_export_bundle(x) : NULL;
    if (rc == TC_EXIT_OK && !bundle) rc = TC_EXIT_INTERNAL;
    if (rc == TC_EXIT_OK && !fhir_export_has_study(x)) {
        fprintf(stderr, "trialctl: trial %s: no registration this key may see (unknown trial, or not "
                        "readable by this key)\n", a.trial);
        rc = TC_EXIT_FAIL;
    }
    if (rc == TC_EXIT_OK && opt.has_participant && !participant_seen(bundle, &opt.participant)) {
        fprintf(stderr, "trialctl: participant %s: not enrolled in %s, or not readable by this key\n",
                a.participant, a.trial);
        rc = TC_EXIT_FAIL;
    }
    if (rc == TC_EXIT_OK) rc = write_json(bundle, a.out);
    json_decref(bundle);
    fhir_export_free(x);
    return rc;
}

/* ---- bench fhir ------------------------------------------------------------------------ */

static const char BENCH_USAGE[] =
    "usage: trialctl bench fhir [--participants N] [--events N] [--seed S] [--per-block K]\n"
    "                           [--out FILE]\n"
    "  Generates a trial (examples/trial/random_trial.c: N participants [10000] enrolled,\n"
    "  then random grants, withdrawals, anchors, access requests and amendments [2N], K txs\n"
    "  a block [200]) on an\n"
    "  in-process executor, then measures in the same run: the ledger read rate (every block\n"
    "  read and decoded, txs/s) and the FHIR export rate (the same reads folded into the\n"
    "  mapping and rendered as one Bundle, resources/s). --out writes the Bundle.\n";

static int bench_args(int argc, char **argv, random_trial_options *o, const char **out)
{
    uint64_t v;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc) return -1;
        if (strcmp(argv[i], "--out") == 0) { *out = argv[i + 1]; continue; }
        uint64_t max = strcmp(argv[i], "--seed") == 0 ? UINT64_MAX : 1000000;
        if (util_parse_u64(argv[i], argv[i + 1], 1, max, &v) != 0) return -1;
        if (strcmp(argv[i], "--participants") == 0 && v <= 100000) o->participants = (uint32_t)v;
        else if (strcmp(argv[i], "--events") == 0) o->events = (uint32_t)v;
        else if (strcmp(argv[i], "--seed") == 0) o->seed = v;
        else if (strcmp(argv[i], "--per-block") == 0 && v <= 200) o->per_block = (uint32_t)v;
        else return -1;
    }
    return 0;
}

int cmd_bench_fhir(int argc, char **argv)
{
    random_trial_options o = {.seed = 1, .participants = 10000, .per_block = 200};
    const char *out = NULL;
    bool events_given = false;
    for (int i = 1; i < argc; i++) events_given = events_given || strcmp(argv[i], "--events") == 0;
    if (bench_args(argc, argv, &o, &out) != 0) {
        fputs(BENCH_USAGE, argc == 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return argc == 2 && strcmp(argv[1], "--help") == 0 ? TC_EXIT_OK : TC_EXIT_USAGE;
    }
    if (!events_given) o.events = 2 * o.participants;
    char dir[] = "/tmp/trialreg-bench-fhir-XXXXXX", path[64];
    if (!mkdtemp(dir)) return TC_EXIT_INTERNAL;
    snprintf(path, sizeof path, "%s/ledger", dir);
    static world w;
    random_trial_counts c;
    int rc = TC_EXIT_INTERNAL;
    if (world_init(&w, "trialreg-bench-fhir") != 0 || world_open(&w, path, false) != 0) goto done;
    double t0 = util_now();
    if (random_trial_run(&w, &o, &c) != 0) goto done;
    double t1 = util_now();
    uint64_t read = 0;
    if ((rc = feed_ledger(w.l, NULL, &read)) != TC_EXIT_OK) goto done;
    double t2 = util_now();
    fhir_export *x = fhir_export_new((const uint8_t *)RANDOM_TRIAL, strlen(RANDOM_TRIAL), NULL);
    rc = x ? feed_ledger(w.l, x, NULL) : TC_EXIT_INTERNAL;
    json_t *bundle = rc == TC_EXIT_OK ? fhir_export_bundle(x) : NULL;
    double t3 = util_now();
    if (!bundle) rc = TC_EXIT_INTERNAL;
    size_t resources = bundle ? json_array_size(json_object_get(bundle, "entry")) : 0;
    if (rc == TC_EXIT_OK) {
        printf("bench fhir: %u participants, %u txs (%u OK) in %u blocks, generated in %.1f s\n",
               o.participants, c.txs, c.ok, c.blocks, t1 - t0);
        printf("  ledger read:  %llu txs in %.3f s = %.0f txs/s (blocks read and decoded)\n",
               (unsigned long long)read, t2 - t1, (double)read / (t2 - t1));
        printf("  fhir export:  %zu resources in %.3f s = %.0f resources/s (the same reads, mapped "
               "and rendered; %.0f txs/s)\n",
               resources, t3 - t2, (double)resources / (t3 - t2), (double)read / (t3 - t2));
        if (out) rc = write_json(bundle, out);
    }
    json_decref(bundle);
    fhir_export_free(x);
done:
    world_close(&w);
    free(w.genesis);
    util_remove_tree(dir);
    return rc;
}

int cmd_fhir(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "export") == 0) return fhir_export_cmd(argc, argv);
    if (argc == 3 && strcmp(argv[1], "codesystem") == 0) {
        json_t *cs = strcmp(argv[2], "scope") == 0       ? fhir_codesystem_scope()
                     : strcmp(argv[2], "signature") == 0 ? fhir_codesystem_signature()
                                                         : NULL;
        if (cs) {
            int rc = write_json(cs, NULL);
            json_decref(cs);
            return rc;
        }
    }
    bool help = argc == 2 && strcmp(argv[1], "--help") == 0;
    fputs(FHIR_USAGE, help ? stdout : stderr);
    return help ? TC_EXIT_OK : TC_EXIT_USAGE;
}
