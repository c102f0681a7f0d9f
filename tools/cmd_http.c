/*
 * cmd_http.c - `trialctl http-sign`: the RFC 9421 header fields that sign one HTTP request
 * to a validator's HTTP API (registry/base/httpsig.h), for curl and other clients:
 *
 *   trialctl http-sign --genesis G --key K [--method M] [--body FILE] URL > headers
 *   curl -H @headers [--data-binary @FILE] URL
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "httpsig.h"

static const char HTTP_SIGN_USAGE[] =
    "usage: trialctl http-sign --genesis FILE --key FILE [--method M] [--body FILE]\n"
    "                          [--created UNIX_S] URL\n"
    "  Prints the header fields that sign one request to a validator's HTTP API (RFC 9421,\n"
    "  Ed25519; docs/HTTP.md): Signature-Input and Signature, and Content-Digest when a\n"
    "  body is given. They cover the method (default GET, or POST with --body), the path\n"
    "  and the query of URL, and the body's digest; keyid is the key's public half; the tag\n"
    "  binds the genesis's chain. Use them with curl -H @FILE.\n";

/* Split http(s)://authority/path?query into its parts (copied into buf). */
static bool split_url(const char *url, char *buf, size_t cap, httpsig_request *rq)
{
    const char *rest = strstr(url, "://");
    if (!rest || snprintf(buf, cap, "%s", rest + 3) >= (int)cap) return false;
    char *slash = strchr(buf, '/');
    if (!slash) return false;
    memmove(slash + 1, slash, strlen(slash) + 1); /* room for the authority's NUL */
    *slash = '\0';
    rq->authority = buf;
    rq->path = slash + 1;
    char *q = strchr(slash + 1, '?');
    if (q) *q = '\0';
    rq->query = q ? q + 1 : NULL;
    return buf[0] != '\0';
}

static const char *digest_header(void *ctx, const char *name)
{
    return strcmp(name, "content-digest") == 0 ? ctx : NULL;
}

int cmd_http_sign(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, 0, 'h'},         {"genesis", required_argument, 0, 'g'},
        {"key", required_argument, 0, 'k'},    {"method", required_argument, 0, 'm'},
        {"body", required_argument, 0, 'b'},   {"created", required_argument, 0, 'c'},
        {0, 0, 0, 0}};
    const char *genesis = NULL, *key_path = NULL, *method = NULL, *body_path = NULL;
    uint64_t created = (uint64_t)time(NULL);
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        if (c == 'h') return printf("%s", HTTP_SIGN_USAGE), TC_EXIT_OK;
        if (c == 'g') genesis = optarg;
        else if (c == 'k') key_path = optarg;
        else if (c == 'm') method = optarg;
        else if (c == 'b') body_path = optarg;
        else if (c == 'c' && util_parse_u64("--created", optarg, 1, 1ull << 40, &created) == 0) continue;
        else return fprintf(stderr, "%s", HTTP_SIGN_USAGE), TC_EXIT_USAGE;
    }
    if (!genesis || !key_path || optind != argc - 1)
        return fprintf(stderr, "%s", HTTP_SIGN_USAGE), TC_EXIT_USAGE;
    char parts[4096];
    httpsig_request rq = {.method = method ? method : body_path ? "POST" : "GET"};
    if (!split_url(argv[optind], parts, sizeof parts, &rq)) {
        fprintf(stderr, "error: URL must be http(s)://HOST[:PORT]/PATH[?QUERY], got %s\n", argv[optind]);
        return TC_EXIT_USAGE;
    }
    keypair key;
    if (tcrypto_read_secret_key(key_path, &key) != TCRYPTO_OK) {
        fprintf(stderr, "error: cannot read the secret key %s\n", key_path);
        return TC_EXIT_INPUT;
    }
    uint8_t *g = NULL, *body = NULL;
    size_t glen = 0, blen = 0;
    if (util_read_file(genesis, 64u << 20, &g, &glen) != 0) return TC_EXIT_INPUT;
    if (body_path && util_read_file(body_path, 64u << 20, &body, &blen) != 0) {
        free(g);
        return TC_EXIT_INPUT;
    }
    hash32 chain;
    tcrypto_sha256(g, glen, &chain);
    free(g);
    char digest[80] = "", input[600], sig[200];
    if (body_path) {
        httpsig_content_digest(body, blen, digest, sizeof digest);
        rq.header = digest_header;
        rq.ctx = digest;
    }
    free(body);
    if (!httpsig_sign(&rq, body_path != NULL, &key, &chain, (int64_t)created, input,
                      sizeof input, sig, sizeof sig)) {
        fprintf(stderr, "error: the request cannot be signed (a line break in the URL?)\n");
        return TC_EXIT_INPUT;
    }
    printf("Signature-Input: %s\nSignature: %s\n", input, sig);
    if (body_path) printf("Content-Digest: %s\n", digest);
    return TC_EXIT_OK;
}
