/*
 * cmd_client.c - trialctl's signed queries to a running node over the client API
 * (registry/node/client_api.h): `timeline`, `query trial` and `query consent`. Each query
 * is signed by --key for the chain of --genesis with the current time; the node
 * answers by role (docs/ARCHITECTURE.md 3.8 "Reads") and refuses a key without one.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trialreg_client.h"
#include "client_api.h"
#include "commands.h"
#include "transport.h"

#define CLIENT_TIMEOUT_MS 10000

static const char TIMELINE_USAGE[] =
    "usage: trialctl timeline --url URL --key KEY --genesis FILE --trial ID [--json]\n"
    "  Ask the node at URL for the trial's timeline (commit order), as KEY (a secret key\n"
    "  file: the regulator, the sponsor, a site of the trial or an enrolled participant).\n"
    "  What it shows depends on the role: the sponsor and regulators read every tx; a site\n"
    "  the protocol-level txs and its own participants'; a participant the protocol-level\n"
    "  txs and its own. The query is signed for the chain of FILE with the current time.\n"
    "  --json prints {\"trial\", \"lines\": [...]}. (No key: trialctl history.)\n";

static const char QUERY_USAGE[] =
    "usage: trialctl query trial --url URL --key KEY --genesis FILE --trial ID [--json]\n"
    "       trialctl query consent --url URL --key KEY --genesis FILE --trial ID\n"
    "                              --participant HEX|PUBFILE [--json]\n"
    "  trial: the trial's protocol versions, approvals, floor and planned enrolment (its\n"
    "  sponsor, a regulator or an investigator of one of its sites may ask).\n"
    "  consent: a participant's whole consent history in the trial, oldest first (the\n"
    "  participant, an investigator of its enrolling site, the sponsor or a regulator may\n"
    "  ask); read page by page (at most 64 entries a reply), every entry or an error.\n"
    "  Exit 0 answered, 1 refused (reason printed: wrong key, unknown trial), 2 usage,\n"
    "  3 unreadable key or genesis, 4 node unreachable.\n";

typedef struct {
    const char *url, *key, *genesis, *trial, *participant;
    int json;
} query_args;

/* --url --key --genesis --trial [--participant] [--json]; argv[first..] */
static int parse_query_args(int argc, char **argv, int first, bool want_participant,
                            query_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = first; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--json") == 0) { a->json = 1; continue; }
        if (!v) return -1;
        if (strcmp(argv[i], "--url") == 0) a->url = v;
        else if (strcmp(argv[i], "--key") == 0) a->key = v;
        else if (strcmp(argv[i], "--genesis") == 0) a->genesis = v;
        else if (strcmp(argv[i], "--trial") == 0) a->trial = v;
        else if (want_participant && strcmp(argv[i], "--participant") == 0) a->participant = v;
        else return -1;
        i++;
    }
    if (!a->url || !a->key || !a->genesis || !a->trial || strlen(a->trial) == 0 ||
        strlen(a->trial) > 32 || (want_participant && !a->participant))
        return -1;
    return 0;
}

/* Sign and send the query; on success *reply holds the response (tp_free it) and r
 * points into it. Returns an exit code. */
static int ask(const query_args *a, codec_query_kind kind, const codec_span *args,
               uint32_t nargs, uint8_t **reply, size_t *reply_len, codec_client_response *r)
{
    keypair key;
    tcrypto_err krc = tcrypto_read_secret_key(a->key, &key);
    if (krc != TCRYPTO_OK) {
        fprintf(stderr, "trialctl: %s: %s\n", a->key, tcrypto_strerror(krc));
        return TC_EXIT_INPUT;
    }
    uint8_t *genesis = NULL;
    size_t genesis_len = 0;
    if (util_read_file(a->genesis, CODEC_GENESIS_MAX, &genesis, &genesis_len) != 0)
        return TC_EXIT_INPUT;
    hash32 chain;
    tcrypto_sha256(genesis, genesis_len, &chain);
    free(genesis);
    uint8_t req[1024];
    size_t len = client_query_request(&key, &chain, client_now_ms(), kind, args, nargs, req,
                                      sizeof req);
    if (len == 0)
        return TC_EXIT_INTERNAL;
    tp_client *c = NULL;
    char why[1400];
    if (client_open(a->url, &c, why, sizeof why) != 0) {
        fprintf(stderr, "trialctl: %s\n", why);
        return TC_EXIT_USAGE;
    }
    tp_err rc = tp_client_request(c, req, len, CLIENT_TIMEOUT_MS, reply, reply_len);
    tp_client_close(c);
    if (rc != TP_OK) {
        fprintf(stderr, "trialctl: %s: %s\n", a->url, tp_strerror(rc));
        return TC_EXIT_INTERNAL;
    }
    if (codec_client_response_decode(*reply, *reply_len, r, NULL) != CODEC_OK) {
        fprintf(stderr, "trialctl: the node's reply does not decode\n");
        tp_free(*reply, *reply_len);
        return TC_EXIT_INTERNAL;
    }
    if (r->status != CAPI_OK) {
        fprintf(stderr, "trialctl: refused (%u): %s\n", r->status, r->reason);
        tp_free(*reply, *reply_len);
        return TC_EXIT_FAIL;
    }
    return TC_EXIT_OK;
}

static void print_json(json_t *root)
{
    char *out = json_dumps(root, JSON_INDENT(2));
    if (out)
        puts(out);
    free(out);
    json_decref(root);
}

static void print_timeline_json(const char *trial, const uint8_t *text, size_t len)
{
    json_t *lines = json_array();
    const char *p = (const char *)text, *end = p + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        json_array_append_new(lines, json_stringn(p, n));
        p += n + (nl ? 1 : 0);
    }
    print_json(json_pack("{s:s, s:o}", "trial", trial, "lines", lines));
}

int cmd_timeline(int argc, char **argv)
{
    query_args a;
    if (parse_query_args(argc, argv, 1, false, &a) != 0) {
        fputs(TIMELINE_USAGE, stderr);
        return TC_EXIT_USAGE;
    }
    codec_span trial = {(const uint8_t *)a.trial, strlen(a.trial)};
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    codec_client_response r;
    int rc = ask(&a, QUERY_TIMELINE, &trial, 1, &reply, &reply_len, &r);
    if (rc != TC_EXIT_OK)
        return rc;
    if (a.json)
        print_timeline_json(a.trial, r.body.data, r.body.len);
    else
        fwrite(r.body.data, 1, r.body.len, stdout);
    tp_free(reply, reply_len);
    return TC_EXIT_OK;
}

static void hex_of(const uint8_t *p, size_t n, char *out) { tcrypto_to_hex(p, n, out); }

static int show_trial(const query_args *a, const codec_client_response *r)
{
    codec_trial_reply t;
    if (codec_trial_reply_decode(r->body.data, r->body.len, &t, NULL) != CODEC_OK) {
        fprintf(stderr, "trialctl: the trial reply does not decode\n");
        return TC_EXIT_INTERNAL;
    }
    char sponsor[65];
    hex_of(t.sponsor.bytes, 32, sponsor);
    if (a->json) {
        print_json(json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "trial", a->trial,
                             "version", (json_int_t)t.version, "approved", (json_int_t)t.approved,
                             "floor_version", (json_int_t)t.floor_version, "floor_time_ms",
                             (json_int_t)t.floor_time_ms, "planned", (json_int_t)t.planned,
                             "registered_ms", (json_int_t)t.registered_ms, "sponsor", sponsor));
        return TC_EXIT_OK;
    }
    printf("trial %s\n  protocol version %llu, approved up to %llu, re-consent floor v%llu from %llu\n"
           "  planned enrolment %llu, registered at %llu ms\n  sponsor %s\n",
           a->trial, (unsigned long long)t.version, (unsigned long long)t.approved,
           (unsigned long long)t.floor_version, (unsigned long long)t.floor_time_ms,
           (unsigned long long)t.planned, (unsigned long long)t.registered_ms, sponsor);
    return TC_EXIT_OK;
}

/* Prints one consent history entry (a row, or an object appended to all). */
static void show_consent_entry(const query_args *a, const codec_consent_reply_entry *e,
                               json_t *all)
{
    static const char *const kinds[] = {"grant", "withdraw", "site-withdraw", "rebound-from",
                                        "rebound-away"};
    /* what a person reads beside the row (docs/FORMATS.md 13.3) */
    static const char *const notes[] = {"", "", "withdrawn by site on the participant's documented request",
                                        "consent moved here from the old key (re-binding)",
                                        "consent moved to the new key (re-binding)"};
    char form[65], witness[65], other[65];
    hex_of(e->form.bytes, 32, form);
    hex_of(e->witness.bytes, 32, witness);
    hex_of(e->other.bytes, 32, other);
    unsigned k = e->kind >= 1 && e->kind <= 5 ? e->kind - 1u : 1u;
    bool after = (e->flags & 1) != 0;
    if (a->json) {
        json_t *one = json_pack("{s:s, s:I, s:I, s:I, s:s, s:s, s:i}", "kind", kinds[k], "time_ms",
                                (json_int_t)e->time_ms, "scopes", (json_int_t)e->scopes,
                                "version", (json_int_t)e->version, "form", form, "witness",
                                witness, "meaning", (int)e->meaning);
        if (e->kind > 2 || after) {
            json_object_set_new(one, "flags", json_integer(e->flags));
            json_object_set_new(one, "other", json_string(other));
        }
        if (*notes[k]) json_object_set_new(one, "note", json_string(notes[k]));
        if (after) json_object_set_new(one, "after_rebinding", json_true());
        json_array_append_new(all, one);
    } else {
        printf("%-13s %-14llu %-7llu %-7llu %.16s %.16s%s%s%s\n", kinds[k],
               (unsigned long long)e->time_ms, (unsigned long long)e->scopes,
               (unsigned long long)e->version, form, witness, *notes[k] ? "  " : "", notes[k],
               after ? "  (granted after a re-binding)" : "");
    }
}

/* The whole history, page by page (each reply says the total and where it starts): every
 * entry is printed, in order, or the command fails; it never prints a cut history. */
static int show_consent(const query_args *a, codec_span *args)
{
    static codec_consent_reply_entry e[CODEC_CONSENT_REPLY_MAX];
    json_t *all = json_array();
    uint64_t next = 0, total = 1;
    uint8_t cursor[8];
    int rc = TC_EXIT_OK;
    for (uint32_t pages = 0; rc == TC_EXIT_OK && next < total; pages++) {
        for (int i = 0; i < 8; i++) cursor[i] = (uint8_t)(next >> (56 - 8 * i));
        args[2] = (codec_span){cursor, 8};
        uint8_t *reply = NULL;
        size_t reply_len = 0;
        codec_client_response r;
        rc = ask(a, QUERY_CONSENT, args, 3, &reply, &reply_len, &r);
        if (rc != TC_EXIT_OK) break;
        codec_consent_page page;
        if (codec_consent_reply_decode(r.body.data, r.body.len, &page, e, CODEC_CONSENT_REPLY_MAX,
                                       NULL) != CODEC_OK) {
            fprintf(stderr, "trialctl: the consent reply does not decode\n");
            rc = TC_EXIT_INTERNAL;
        } else if (page.from != next || (page.count == 0 && page.total > next)
                   || (pages > 0 && page.total != total)) {
            fprintf(stderr, "trialctl: the consent history changed or a page came back "
                            "wrong (asked from %llu, got %u of %llu from %llu)\n",
                    (unsigned long long)next, page.count, (unsigned long long)page.total,
                    (unsigned long long)page.from);
            rc = TC_EXIT_INTERNAL;
        } else {
            if (pages == 0 && !a->json)
                printf("%-13s %-14s %-7s %-7s %-16s %s\n", "kind", "time_ms", "scopes",
                       "version", "form", "witness");
            for (uint32_t i = 0; i < page.count; i++) show_consent_entry(a, &e[i], all);
            next += page.count;
            total = page.total;
        }
        tp_free(reply, reply_len);
    }
    if (rc == TC_EXIT_OK && a->json)
        print_json(json_pack("{s:s, s:s, s:I, s:o}", "trial", a->trial, "participant",
                             a->participant, "entries", (json_int_t)total, "history", all));
    else
        json_decref(all);
    return rc;
}

int cmd_query(int argc, char **argv)
{
    bool consent = argc >= 2 && strcmp(argv[1], "consent") == 0;
    bool trial = argc >= 2 && strcmp(argv[1], "trial") == 0;
    if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
        fputs(QUERY_USAGE, stdout);
        return TC_EXIT_OK;
    }
    query_args a;
    if ((!consent && !trial) || parse_query_args(argc, argv, 2, consent, &a) != 0) {
        fputs(QUERY_USAGE, stderr);
        return TC_EXIT_USAGE;
    }
    codec_span args[3] = {{(const uint8_t *)a.trial, strlen(a.trial)}, {NULL, 0}, {NULL, 0}};
    pubkey participant;
    if (consent) {
        if (!(strlen(a.participant) == 64 &&
              tcrypto_from_hex(a.participant, 64, participant.bytes, 32)) &&
            tcrypto_read_public_key(a.participant, &participant) != TCRYPTO_OK) {
            fprintf(stderr, "trialctl: --participant %s: not 64 hex digits nor a public key "
                            "file\n", a.participant);
            return TC_EXIT_INPUT;
        }
        args[1] = (codec_span){participant.bytes, 32};
    }
    if (consent)
        return show_consent(&a, args);
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    codec_client_response r;
    int rc = ask(&a, QUERY_TRIAL, args, 1, &reply, &reply_len, &r);
    if (rc != TC_EXIT_OK)
        return rc;
    rc = show_trial(&a, &r);
    tp_free(reply, reply_len);
    return rc;
}
