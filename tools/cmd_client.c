/*
 * cmd_client.c - trialctl commands that talk to a running node over the client API
 * (registry/client_api.h). Today: timeline.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "client_api.h"
#include "commands.h"
#include "transport.h"

#define CLIENT_TIMEOUT_MS 10000

static const char TIMELINE_USAGE[] =
    "usage: trialctl timeline --url URL --key KEY --genesis FILE --trial ID [--json]\n"
    "  Ask the node at URL for the trial's timeline (commit order), as KEY (a secret key\n"
    "  file: the regulator, the sponsor or a site of the trial). The query is signed for\n"
    "  the chain of FILE with the current time. --json prints {\"trial\", \"lines\": [...]}.\n";

typedef struct {
    const char *url, *key, *genesis, *trial;
    int json;
} timeline_args;

static int parse_timeline_args(int argc, char **argv, timeline_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--json") == 0) { a->json = 1; continue; }
        if (!v) break;
        if (strcmp(argv[i], "--url") == 0) a->url = v;
        else if (strcmp(argv[i], "--key") == 0) a->key = v;
        else if (strcmp(argv[i], "--genesis") == 0) a->genesis = v;
        else if (strcmp(argv[i], "--trial") == 0) a->trial = v;
        else break;
        i++;
    }
    if (!a->url || !a->key || !a->genesis || !a->trial || strlen(a->trial) == 0
        || strlen(a->trial) > 32) {
        fputs(TIMELINE_USAGE, stderr);
        return -1;
    }
    return 0;
}

static void print_json(const char *trial, const uint8_t *text, size_t len)
{
    json_t *lines = json_array();
    const char *p = (const char *)text, *end = p + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        json_array_append_new(lines, json_stringn(p, n));
        p += n + (nl ? 1 : 0);
    }
    json_t *root = json_pack("{s:s, s:o}", "trial", trial, "lines", lines);
    char *out = json_dumps(root, JSON_INDENT(2));
    if (out) puts(out);
    free(out);
    json_decref(root);
}

/* Send the signed query and print the reply. Returns an exit code. */
static int ask_timeline(const timeline_args *a, const keypair *key, const hash32 *chain)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    codec_span trial = {(const uint8_t *)a->trial, strlen(a->trial)};
    uint8_t req[1024];
    size_t len = capi_query_request(key, chain, now, QUERY_TIMELINE, &trial, 1, req, sizeof req);
    if (len == 0) return TC_EXIT_INTERNAL;
    tp_client *c = NULL;
    char why[300];
    if (client_open(a->url, &c, why, sizeof why) != 0) {
        fprintf(stderr, "trialctl timeline: %s\n", why);
        return TC_EXIT_USAGE;
    }
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    tp_err rc = tp_client_request(c, req, len, CLIENT_TIMEOUT_MS, &reply, &reply_len);
    int exit_code = TC_EXIT_OK;
    codec_client_response r;
    if (rc != TP_OK) {
        fprintf(stderr, "trialctl timeline: %s: %s\n", a->url, tp_strerror(rc));
        exit_code = TC_EXIT_INTERNAL;
    } else if (codec_client_response_decode(reply, reply_len, &r, NULL) != CODEC_OK) {
        fprintf(stderr, "trialctl timeline: the node's reply does not decode\n");
        exit_code = TC_EXIT_INTERNAL;
    } else if (r.status != CAPI_OK) {
        fprintf(stderr, "trialctl timeline: refused (%u): %s\n", r.status, r.reason);
        exit_code = TC_EXIT_FAIL;
    } else if (a->json) {
        print_json(a->trial, r.body.data, r.body.len);
    } else {
        fwrite(r.body.data, 1, r.body.len, stdout);
    }
    tp_free(reply, reply_len);
    tp_client_close(c);
    return exit_code;
}

int cmd_timeline(int argc, char **argv)
{
    timeline_args a;
    if (parse_timeline_args(argc, argv, &a) != 0) return TC_EXIT_USAGE;
    keypair key;
    tcrypto_err krc = tcrypto_read_secret_key(a.key, &key);
    if (krc != TCRYPTO_OK) {
        fprintf(stderr, "trialctl timeline: %s: %s\n", a.key, tcrypto_strerror(krc));
        return TC_EXIT_INPUT;
    }
    uint8_t *genesis = NULL;
    size_t genesis_len = 0;
    if (util_read_file(a.genesis, CODEC_BLOCK_MAX, &genesis, &genesis_len) != 0) return TC_EXIT_INPUT;
    hash32 chain;
    tcrypto_sha256(genesis, genesis_len, &chain);
    free(genesis);
    return ask_timeline(&a, &key, &chain);
}
